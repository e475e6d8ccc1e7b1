/*
 * sftp_scp.c: legacy scp (scp -O) between the legs of an exec channel: a
 * strict classifier of "scp -t|-f PATH" and a lock-step protocol tracker.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "broker/session/sftp.h"
#include "common/common.h"

#define SCP_LINE_MAX 4096
#define SCP_DEPTH_MAX 64

/* Characters a PATH may hold: no white space, quotes or shell syntax. */
static int
scp_path_char(unsigned char c, int glob)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	if (strchr("._/~+,=:@%-", c) != NULL && c != '\0')
		return 1;
	return glob && c != '\0' && strchr("*?[]", c) != NULL;
}

int
scp_classify(const char *cmd, size_t len, enum scp_mode *mode, char **path,
    int *recursive)
{
	enum scp_mode m = SCP_NONE;
	size_t i = 0, j, start;
	int seen_dd = 0;

	*mode = SCP_NONE;
	*path = NULL;
	*recursive = 0;
	if (len < 4 || memcmp(cmd, "scp ", 4) != 0)
		return len == 3 && memcmp(cmd, "scp", 3) == 0 ? PV_ERR_INVALID
							      : 0;
	i = 4;
	/* Flags exactly as OpenSSH's scp builds them: one per word. */
	for (;;) {
		if (i + 2 > len || cmd[i] != '-')
			return PV_ERR_INVALID;
		if (i + 3 <= len && cmd[i + 2] == ' ') {
			switch (cmd[i + 1]) {
			case 'v':
			case 'p':
			case 'd':
				break;
			case 'r':
				*recursive = 1;
				break;
			case 't':
			case 'f':
				if (m != SCP_NONE)
					return PV_ERR_INVALID;
				m = cmd[i + 1] == 't' ? SCP_UPLOAD
						      : SCP_DOWNLOAD;
				break;
			case '-':
				seen_dd = 1;
				break;
			default:
				return PV_ERR_INVALID;
			}
			i += 3;
			if (seen_dd)
				break;
			if (i < len && cmd[i] != '-')
				break;
			continue;
		}
		return PV_ERR_INVALID;
	}
	if (m == SCP_NONE || i >= len)
		return PV_ERR_INVALID;
	start = i;
	if (cmd[start] == '-' && !seen_dd)
		return PV_ERR_INVALID;
	for (j = start; j < len; j++)
		if (!scp_path_char((unsigned char)cmd[j], m == SCP_DOWNLOAD) ||
		    (cmd[j] == '~' && j != start))
			return PV_ERR_INVALID;
	if ((*path = strndup(cmd + start, len - start)) == NULL)
		return PV_ERR_ALLOC;
	*mode = m;
	return 0;
}

enum src_state { SRC_AWAIT = 0, SRC_LINE, SRC_DATA, SRC_DATA_END };
enum await_kind { AW_START = 0, AW_C, AW_D, AW_E, AW_T, AW_DATA };

struct scp_tracker {
	struct sftp_config cfg;
	enum scp_mode mode;
	char *target;
	int failed;
	/* the source (the side sending files) */
	enum src_state src;
	enum await_kind await;
	char line[SCP_LINE_MAX];
	size_t llen;
	int end_err; /* the source reported an error after the data */
	char end_msg[256];
	/* the file being sent */
	char *dirs[SCP_DEPTH_MAX];
	size_t depth;
	char *name, *pending_dir;
	uint64_t size, left, off, file_id;
	EVP_MD_CTX *md;
	/* the sink's acknowledgements */
	int in_ack; /* inside an error line */
	uint8_t ack_code;
	char ack[256];
	size_t alen;
};

static char *
scp_join(struct scp_tracker *t, const char *name)
{
	struct pv_buf *b;
	char *s = NULL;
	size_t i;

	if ((b = pv_buf_new(SCP_LINE_MAX * 2)) == NULL)
		return NULL;
	for (i = 0; i < t->depth; i++)
		if (pv_buf_putf(b, "%s/", t->dirs[i]) != 0)
			goto out;
	if (pv_buf_putf(b, "%s", name) != 0 || pv_buf_dup_cstring(b, &s) != 0)
		s = NULL;
out:
	pv_buf_free(b);
	return s;
}

static int
scp_emit(struct scp_tracker *t, enum sftp_op op, const char *path,
    uint64_t bytes, int hashed, uint32_t status, const char *msg)
{
	struct sftp_event ev = { .op = op,
		.ext = "scp",
		.path = path,
		.path2 = t->target,
		.file_id = op == SFTP_OP_MKDIR ? 0 : t->file_id,
		.bytes = bytes,
		.status = status,
		.message = msg };
	uint8_t dg[32];
	unsigned int dlen = 0;
	int r;

	if (op != SFTP_OP_MKDIR)
		ev.direction =
		    t->mode == SCP_UPLOAD ? SFTP_DIR_UPLOAD : SFTP_DIR_DOWNLOAD;
	/* A file whose data was passed (not one the sink refused at C). */
	ev.contents = t->cfg.record_contents && op != SFTP_OP_MKDIR &&
	    (hashed || status == SFTP_STATUS_UNFINISHED);
	if (hashed) {
		ev.hash = SFTP_HASH_SEQUENTIAL;
		if (EVP_DigestFinal_ex(t->md, dg, &dlen) != 1)
			return PV_ERR_CRYPTO;
		if ((r = pv_hex_encode(
			 dg, sizeof(dg), ev.sha256, sizeof(ev.sha256))) != 0)
			return r;
	}
	if (t->cfg.cb.event == NULL)
		return 0;
	return t->cfg.cb.event(t->cfg.cb.ctx, &ev);
}

/* "C0644 123 name" / "D0755 0 name": mode, size, one path component. */
static int
scp_parse_cd(struct scp_tracker *t, char **name, uint64_t *size)
{
	char *sp1, *sp2;
	size_t i;

	*name = NULL;
	if (t->llen < 8 || t->line[5] != ' ')
		return PV_ERR_PROTOCOL;
	for (i = 1; i < 5; i++)
		if (t->line[i] < '0' || t->line[i] > '7')
			return PV_ERR_PROTOCOL;
	sp1 = t->line + 5;
	if ((sp2 = strchr(sp1 + 1, ' ')) == NULL)
		return PV_ERR_PROTOCOL;
	*sp2 = '\0';
	if (pv_parse_u64(sp1 + 1, 0, INT64_MAX, size) != 0)
		return PV_ERR_PROTOCOL;
	sp2++;
	if (*sp2 == '\0' || strchr(sp2, '/') != NULL || strcmp(sp2, ".") == 0 ||
	    strcmp(sp2, "..") == 0)
		return PV_ERR_PROTOCOL;
	if ((*name = strdup(sp2)) == NULL)
		return PV_ERR_ALLOC;
	return 0;
}

/* A whole line from the source (without its newline). */
static int
scp_src_line(struct scp_tracker *t)
{
	uint64_t size;
	char *name = NULL;
	int r;

	switch (t->line[0]) {
	case '\1':
	case '\2':
		/* An error the source reports; no acknowledgement follows. */
		return scp_emit(t,
		    t->mode == SCP_UPLOAD ? SFTP_OP_WRITE : SFTP_OP_READ, "", 0,
		    0, SFTP_FX_FAILURE, t->line + 1);
	case 'C':
		if ((r = scp_parse_cd(t, &name, &size)) != 0)
			return r;
		free(t->name);
		t->name = scp_join(t, name);
		free(name);
		if (t->name == NULL)
			return PV_ERR_ALLOC;
		t->size = size;
		t->await = AW_C;
		break;
	case 'D':
		if ((r = scp_parse_cd(t, &name, &size)) != 0)
			return r;
		if (t->depth >= SCP_DEPTH_MAX) {
			free(name);
			return PV_ERR_PROTOCOL;
		}
		free(t->pending_dir);
		t->pending_dir = name;
		t->await = AW_D;
		break;
	case 'E':
		if (t->llen != 1 || t->depth == 0)
			return PV_ERR_PROTOCOL;
		t->await = AW_E;
		break;
	case 'T':
		if (t->llen < 8 ||
		    strspn(t->line + 1, "0123456789 ") != t->llen - 1)
			return PV_ERR_PROTOCOL;
		t->await = AW_T;
		break;
	default:
		return PV_ERR_PROTOCOL;
	}
	t->src = SRC_AWAIT;
	return 0;
}

static int
scp_source(struct scp_tracker *t, const uint8_t *buf, size_t len)
{
	size_t n;
	int r;

	while (len > 0) {
		switch (t->src) {
		case SRC_AWAIT:
			pv_warn("scp: the source sent before its answer");
			return PV_ERR_PROTOCOL;
		case SRC_LINE:
		case SRC_DATA_END:
			if (t->src == SRC_DATA_END && t->llen == 0 &&
			    buf[0] == '\0') {
				t->end_err = 0;
				t->src = SRC_AWAIT;
				t->await = AW_DATA;
				n = 1;
				break;
			}
			if (buf[0] == '\n') {
				t->line[t->llen] = '\0';
				n = 1;
				if (strlen(t->line) != t->llen)
					return PV_ERR_PROTOCOL;
				if (t->src == SRC_DATA_END) {
					if (t->line[0] != '\1' &&
					    t->line[0] != '\2')
						return PV_ERR_PROTOCOL;
					t->end_err = 1;
					if (snprintf(t->end_msg,
						sizeof(t->end_msg), "%s",
						t->line + 1) < 0)
						return PV_ERR_INTERNAL;
					t->src = SRC_AWAIT;
					t->await = AW_DATA;
				} else if ((r = scp_src_line(t)) != 0)
					return r;
				t->llen = 0;
				break;
			}
			if (t->llen >= SCP_LINE_MAX - 1)
				return PV_ERR_PROTOCOL;
			t->line[t->llen++] = (char)buf[0];
			n = 1;
			break;
		case SRC_DATA:
			n = t->left < len ? (size_t)t->left : len;
			if (EVP_DigestUpdate(t->md, buf, n) != 1)
				return PV_ERR_CRYPTO;
			if (t->cfg.record_contents &&
			    t->cfg.cb.content != NULL &&
			    (r = t->cfg.cb.content(t->cfg.cb.ctx, t->file_id,
				 t->mode == SCP_UPLOAD ? SFTP_DIR_UPLOAD
						       : SFTP_DIR_DOWNLOAD,
				 t->off, buf, n)) != 0)
				return r;
			t->off += n;
			t->left -= n;
			if (t->left == 0)
				t->src = SRC_DATA_END;
			break;
		default:
			return PV_ERR_INTERNAL;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

/* The sink answered the unit the source waits on: 0 ok, else 1/2. */
static int
scp_answer(struct scp_tracker *t, uint8_t code, const char *msg)
{
	enum sftp_op fop = t->mode == SCP_UPLOAD ? SFTP_OP_WRITE : SFTP_OP_READ;
	int r = 0;

	if (t->src != SRC_AWAIT) {
		pv_warn("scp: an answer nobody waited for");
		return PV_ERR_PROTOCOL;
	}
	t->src = SRC_LINE;
	switch (t->await) {
	case AW_C:
		if (code != 0)
			return scp_emit(
			    t, fop, t->name, 0, 0, SFTP_FX_FAILURE, msg);
		t->file_id++;
		t->left = t->size;
		t->off = 0;
		if (t->md == NULL && (t->md = EVP_MD_CTX_new()) == NULL)
			return PV_ERR_ALLOC;
		if (EVP_DigestInit_ex(t->md, EVP_sha256(), NULL) != 1)
			return PV_ERR_CRYPTO;
		t->src = t->size == 0 ? SRC_DATA_END : SRC_DATA;
		break;
	case AW_D:
		if (code == 0) {
			char *full = scp_join(t, t->pending_dir);

			if (full == NULL)
				return PV_ERR_ALLOC;
			r = scp_emit(
			    t, SFTP_OP_MKDIR, full, 0, 0, SFTP_FX_OK, "");
			free(full);
			t->dirs[t->depth++] = t->pending_dir;
			t->pending_dir = NULL;
		}
		break;
	case AW_E:
		if (t->depth > 0)
			free(t->dirs[--t->depth]);
		break;
	case AW_DATA:
		r = scp_emit(t, fop, t->name, t->off, 1,
		    t->end_err      ? SFTP_FX_FAILURE
			: code != 0 ? SFTP_FX_FAILURE
				    : SFTP_FX_OK,
		    t->end_err ? t->end_msg : msg);
		break;
	default:
		break;
	}
	return r;
}

static int
scp_sink(struct scp_tracker *t, const uint8_t *buf, size_t len)
{
	size_t i;
	int r;

	for (i = 0; i < len; i++) {
		if (!t->in_ack) {
			if (buf[i] == '\0') {
				if ((r = scp_answer(t, 0, "")) != 0)
					return r;
				continue;
			}
			if (buf[i] != '\1' && buf[i] != '\2')
				return PV_ERR_PROTOCOL;
			t->in_ack = 1;
			t->ack_code = buf[i];
			t->alen = 0;
			continue;
		}
		if (buf[i] == '\n') {
			t->ack[t->alen] = '\0';
			t->in_ack = 0;
			if ((r = scp_answer(t, t->ack_code, t->ack)) != 0)
				return r;
			continue;
		}
		if (buf[i] == '\0')
			return PV_ERR_PROTOCOL;
		if (t->alen < sizeof(t->ack) - 1)
			t->ack[t->alen++] = (char)buf[i];
	}
	return 0;
}

int
scp_tracker_client_data(struct scp_tracker *t, const uint8_t *buf, size_t len)
{
	if (t->failed == 0)
		t->failed = t->mode == SCP_UPLOAD ? scp_source(t, buf, len)
						  : scp_sink(t, buf, len);
	return t->failed;
}

int
scp_tracker_server_data(struct scp_tracker *t, const uint8_t *buf, size_t len)
{
	if (t->failed == 0)
		t->failed = t->mode == SCP_UPLOAD ? scp_sink(t, buf, len)
						  : scp_source(t, buf, len);
	return t->failed;
}

int
scp_tracker_finish(struct scp_tracker *t)
{
	enum sftp_op fop = t->mode == SCP_UPLOAD ? SFTP_OP_WRITE : SFTP_OP_READ;

	/* A file cut short (or never acknowledged) is still reported. */
	if (t->src == SRC_DATA || t->src == SRC_DATA_END ||
	    (t->src == SRC_AWAIT && t->await == AW_DATA)) {
		t->src = SRC_LINE;
		return scp_emit(t, fop, t->name, t->off, 0,
		    SFTP_STATUS_UNFINISHED, "provost: channel ended mid-file");
	}
	return 0;
}

int
scp_tracker_new(struct scp_tracker **out, enum scp_mode mode, const char *path,
    const struct sftp_config *cfg)
{
	struct scp_tracker *t;

	*out = NULL;
	if ((mode != SCP_UPLOAD && mode != SCP_DOWNLOAD) || path == NULL ||
	    cfg == NULL)
		return PV_ERR_INVALID;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return PV_ERR_ALLOC;
	if ((t->target = strdup(path)) == NULL) {
		free(t);
		return PV_ERR_ALLOC;
	}
	t->cfg = *cfg;
	t->mode = mode;
	t->src = SRC_AWAIT;
	t->await = AW_START;
	*out = t;
	return 0;
}

void
scp_tracker_free(struct scp_tracker *t)
{
	if (t == NULL)
		return;
	while (t->depth > 0)
		free(t->dirs[--t->depth]);
	free(t->pending_dir);
	free(t->name);
	free(t->target);
	EVP_MD_CTX_free(t->md);
	free(t);
}
