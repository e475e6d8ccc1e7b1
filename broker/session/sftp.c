/*
 * sftp.c: the SFTP v3 tracker's tables (handles, requests in flight), the
 * target's side (incremental, bounded) and the summaries of each handle.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "broker/session/sftp-int.h"
#include "common/common.h"
#include "policy/policy.h"

_Static_assert(SFTP_ALLOW_UPLOAD == POLICY_TRANSFER_UPLOAD, "policy bits");
_Static_assert(SFTP_ALLOW_DOWNLOAD == POLICY_TRANSFER_DOWNLOAD, "policy bits");

static const char *const op_names[] = {
	[SFTP_OP_OPEN] = "open",
	[SFTP_OP_CLOSE] = "close",
	[SFTP_OP_READ] = "read",
	[SFTP_OP_WRITE] = "write",
	[SFTP_OP_REMOVE] = "remove",
	[SFTP_OP_RENAME] = "rename",
	[SFTP_OP_MKDIR] = "mkdir",
	[SFTP_OP_RMDIR] = "rmdir",
	[SFTP_OP_SETSTAT] = "setstat",
	[SFTP_OP_FSETSTAT] = "fsetstat",
	[SFTP_OP_SYMLINK] = "symlink",
	[SFTP_OP_READLINK] = "readlink",
	[SFTP_OP_REALPATH] = "realpath",
	[SFTP_OP_STAT] = "stat",
	[SFTP_OP_LSTAT] = "lstat",
	[SFTP_OP_FSTAT] = "fstat",
	[SFTP_OP_OPENDIR] = "opendir",
	[SFTP_OP_READDIR] = "readdir",
	[SFTP_OP_EXTENDED] = "extended",
};

const char *
sftp_op_name(enum sftp_op op)
{
	if ((size_t)op >= sizeof(op_names) / sizeof(op_names[0]) ||
	    op_names[op] == NULL)
		return "unknown";
	return op_names[op];
}

const char *
sftp_dir_name(enum sftp_dir d)
{
	switch (d) {
	case SFTP_DIR_UPLOAD:
		return "upload";
	case SFTP_DIR_DOWNLOAD:
		return "download";
	default:
		return "none";
	}
}
/* ---- flows and handles ---- */

int
sftp_flow_feed(struct flow *f, uint64_t off, const uint8_t *data, size_t n)
{
	f->bytes += n;
	if (f->nonseq || n == 0)
		return 0;
	if (off != f->next) {
		f->nonseq = 1; /* out of order, overlapping or a gap */
		return 0;
	}
	if (f->md == NULL) {
		if ((f->md = EVP_MD_CTX_new()) == NULL)
			return PV_ERR_ALLOC;
		if (EVP_DigestInit_ex(f->md, EVP_sha256(), NULL) != 1)
			return PV_ERR_CRYPTO;
	}
	if (EVP_DigestUpdate(f->md, data, n) != 1)
		return PV_ERR_CRYPTO;
	f->next += n;
	return 0;
}

static int
flow_final(struct flow *f, struct sftp_event *ev)
{
	uint8_t dg[32];
	unsigned int dlen = 0;

	ev->bytes = f->bytes;
	ev->packets = f->packets;
	if (f->nonseq) {
		ev->hash = SFTP_HASH_NON_SEQUENTIAL;
		return 0;
	}
	ev->hash = SFTP_HASH_SEQUENTIAL;
	if (f->md == NULL) {
		if (EVP_Digest("", 0, dg, &dlen, EVP_sha256(), NULL) != 1)
			return PV_ERR_CRYPTO;
	} else if (EVP_DigestFinal_ex(f->md, dg, &dlen) != 1)
		return PV_ERR_CRYPTO;
	return pv_hex_encode(dg, sizeof(dg), ev->sha256, sizeof(ev->sha256));
}

static void
handle_free(struct handle *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->r.md);
	EVP_MD_CTX_free(h->w.md);
	free(h->path);
	free(h);
}

void
sftp_handle_unref(struct handle *h)
{
	if (h != NULL && --h->refs == 0 && h->closed)
		handle_free(h);
}

struct handle *
sftp_handle_find(struct sftp_tracker *t, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < t->nhandles; i++)
		if (t->handles[i]->hlen == len &&
		    memcmp(t->handles[i]->h, p, len) == 0)
			return t->handles[i];
	return NULL;
}

/* Takes h out of the table; frees it when no request refers to it. */
static void
handle_drop(struct sftp_tracker *t, struct handle *h)
{
	size_t i;

	for (i = 0; i < t->nhandles; i++) {
		if (t->handles[i] == h) {
			t->handles[i] = t->handles[--t->nhandles];
			break;
		}
	}
	h->closed = 1;
	if (h->refs == 0)
		handle_free(h);
}

int
sftp_emit(struct sftp_tracker *t, struct sftp_event *ev)
{
	if (ev->path == NULL)
		ev->path = "";
	if (ev->message == NULL)
		ev->message = "";
	if (t->cfg.cb.event == NULL)
		return 0;
	return t->cfg.cb.event(t->cfg.cb.ctx, ev);
}

/* The summaries of a handle being closed with status/msg. */
static int
handle_summaries(
    struct sftp_tracker *t, struct handle *h, uint32_t status, const char *msg)
{
	struct sftp_event ev;
	int r;

	if (h->is_dir) {
		ev = (struct sftp_event){ .op = SFTP_OP_READDIR,
			.path = h->path,
			.bytes = h->names,
			.status = status,
			.message = msg };
		return sftp_emit(t, &ev);
	}
	if ((h->pflags & SFTP_FXF_WRITE) || h->w.bytes > 0) {
		ev = (struct sftp_event){ .op = SFTP_OP_WRITE,
			.path = h->path,
			.direction = SFTP_DIR_UPLOAD,
			.file_id = h->file_id,
			.open_flags = h->pflags,
			.status = h->wfail != 0 && status == SFTP_FX_OK
			    ? h->wfail
			    : status,
			.message = msg,
			.contents = t->cfg.record_contents };
		if ((r = flow_final(&h->w, &ev)) != 0 ||
		    (r = sftp_emit(t, &ev)) != 0)
			return r;
	}
	if ((h->pflags & SFTP_FXF_READ) || !(h->pflags & SFTP_FXF_WRITE) ||
	    h->r.bytes > 0) {
		ev = (struct sftp_event){ .op = SFTP_OP_READ,
			.path = h->path,
			.direction = SFTP_DIR_DOWNLOAD,
			.file_id = h->file_id,
			.open_flags = h->pflags,
			.status = status,
			.message = msg,
			.contents = t->cfg.record_contents };
		if ((r = flow_final(&h->r, &ev)) != 0 ||
		    (r = sftp_emit(t, &ev)) != 0)
			return r;
	}
	return 0;
}

/* ---- requests in flight ---- */

static struct req *
req_find(struct sftp_tracker *t, uint32_t id)
{
	size_t i;

	for (i = 0; i < t->nreqs; i++)
		if (t->reqs[i].id == id)
			return &t->reqs[i];
	return NULL;
}

void
sftp_req_clear(struct req *q)
{
	free(q->path);
	free(q->path2);
	free(q->extname);
	sftp_handle_unref(q->h);
	*q = (struct req){ 0 };
}

static void
req_remove(struct sftp_tracker *t, struct req *q)
{
	size_t i = (size_t)(q - t->reqs);

	if (q->op == SFTP_OP_OPEN || q->op == SFTP_OP_OPENDIR)
		t->opening--;
	sftp_req_clear(q);
	if (i != t->nreqs - 1)
		t->reqs[i] = t->reqs[t->nreqs - 1];
	t->nreqs--;
}

/* Adds q (taking its strings and handle reference) to the table. */
int
sftp_req_add(struct sftp_tracker *t, struct req *q)
{
	struct req *n;
	size_t cap;

	if (req_find(t, q->id) != NULL) {
		pv_warn("sftp: request id %u reused while in flight", q->id);
		return PV_ERR_PROTOCOL;
	}
	if (t->nreqs >= SFTP_MAX_PENDING) {
		pv_warn(
		    "sftp: more than %d requests in flight", SFTP_MAX_PENDING);
		return PV_ERR_PROTOCOL;
	}
	if (t->nreqs == t->reqcap) {
		cap = t->reqcap == 0 ? 64 : t->reqcap * 2;
		if ((n = reallocarray(t->reqs, cap, sizeof(*n))) == NULL)
			return PV_ERR_ALLOC;
		t->reqs = n;
		t->reqcap = cap;
	}
	if (q->op == SFTP_OP_OPEN || q->op == SFTP_OP_OPENDIR)
		t->opening++;
	t->reqs[t->nreqs++] = *q;
	*q = (struct req){ 0 };
	return 0;
}
/* ---- server direction ---- */

static int
server_fields(struct sftp_tracker *t, struct req *q, struct pv_buf *b)
{
	struct sftp_event ev = { .op = q->op,
		.ext = q->ext,
		.path = q->path,
		.path2 = q->path2,
		.open_flags = q->pflags };
	struct handle *h = NULL;
	const uint8_t *p;
	char msg[256] = "", *name = NULL;
	size_t len;
	uint32_t count;
	int r = PV_ERR_PROTOCOL;

	if (q->h != NULL && q->path == NULL)
		ev.path = q->h->path;
	switch (t->s_type) {
	case FXP_STATUS:
		if (pv_buf_get_u32(b, &ev.status) != 0)
			goto out;
		/* The message is optional; keep 255 bytes, stop at a NUL. */
		if (pv_buf_get_string_direct(b, &p, &len) == 0) {
			len = len < sizeof(msg) - 1 ? len : sizeof(msg) - 1;
			memcpy(msg, p, len);
			msg[len] = '\0';
		}
		ev.message = msg;
		if (q->op == SFTP_OP_CLOSE && q->h != NULL && !q->h->closed) {
			r = handle_summaries(t, q->h, ev.status, msg);
			handle_drop(t, q->h);
			goto out;
		}
		if (q->op == SFTP_OP_WRITE && q->h != NULL) {
			if (ev.status != SFTP_FX_OK && q->h->wfail == 0)
				q->h->wfail = ev.status;
			r = 0;
			goto out;
		}
		if (q->op == SFTP_OP_READ || q->op == SFTP_OP_READDIR) {
			r = 0; /* EOF or an error: part of the summary */
			goto out;
		}
		break;
	case FXP_HANDLE:
		if (pv_buf_get_string_direct(b, &p, &len) != 0 ||
		    len > SFTP_HANDLE_MAX ||
		    sftp_handle_find(t, p, len) != NULL) {
			pv_warn("sftp: bad or duplicate handle from target");
			goto out;
		}
		if (t->nhandles >= SFTP_MAX_HANDLES) {
			/* only an unknown extension's handle can get here */
			pv_warn("sftp: more than %d open handles",
			    SFTP_MAX_HANDLES);
			r = PV_ERR_LIMIT;
			goto out;
		}
		if ((h = calloc(1, sizeof(*h))) == NULL) {
			r = PV_ERR_ALLOC;
			goto out;
		}
		memcpy(h->h, p, len);
		h->hlen = len;
		h->pflags = q->pflags;
		h->is_dir = q->op == SFTP_OP_OPENDIR;
		if (!h->is_dir)
			h->file_id = ++t->next_file_id;
		h->path = q->path;
		q->path = NULL;
		t->handles[t->nhandles++] = h;
		ev.path = h->path;
		ev.file_id = h->file_id;
		ev.direction = h->is_dir           ? SFTP_DIR_NONE
		    : (h->pflags & SFTP_FXF_WRITE) ? SFTP_DIR_UPLOAD
						   : SFTP_DIR_DOWNLOAD;
		break;
	case FXP_NAME:
		if (pv_buf_get_u32(b, &count) != 0)
			goto out;
		if (q->op == SFTP_OP_READDIR) {
			if (q->h != NULL)
				q->h->names += count;
			r = 0;
			goto out;
		}
		if (count != 1 || pv_buf_get_cstring(b, &name, &len) != 0) {
			pv_warn("sftp: a NAME answer without one name");
			goto out;
		}
		ev.path2 = name;
		break;
	case FXP_ATTRS:
	case FXP_EXTENDED_REPLY:
		break;
	default:
		goto out;
	}
	r = sftp_emit(t, &ev);
out:
	free(name);
	return r;
}

static int
response_type_bit(uint8_t type)
{
	switch (type) {
	case FXP_STATUS:
		return R_STATUS;
	case FXP_HANDLE:
		return R_HANDLE;
	case FXP_DATA:
		return R_DATA;
	case FXP_NAME:
		return R_NAME;
	case FXP_ATTRS:
		return R_ATTRS;
	case FXP_EXTENDED_REPLY:
		return R_EXTREPLY;
	default:
		return 0;
	}
}

/* The header (length, type, id) is complete. */
static int
server_header(struct sftp_tracker *t)
{
	uint32_t plen = sftp_get_u32(t->s_hdr);
	struct req *q;

	t->s_type = t->s_hdr[4];
	t->s_id = sftp_get_u32(t->s_hdr + 5);
	if (plen < 5 || plen > SFTP_PACKET_MAX) {
		pv_warn("sftp: target packet length %u out of range", plen);
		return PV_ERR_PROTOCOL;
	}
	t->s_rem = plen - 5;
	t->s_got = 0;
	t->st.server_packets++;
	if (!t->version_seen) {
		if (t->s_type != FXP_VERSION || t->s_id != 3) {
			pv_warn("sftp: target did not answer with version 3");
			return PV_ERR_PROTOCOL;
		}
		t->version_seen = 1;
		t->s_skip = t->s_rem; /* extension names: not needed */
		t->s_want = 0;
		return 0;
	}
	if (t->s_type == FXP_VERSION) {
		pv_warn("sftp: a second VERSION from the target");
		return PV_ERR_PROTOCOL;
	}
	if ((q = req_find(t, t->s_id)) == NULL) {
		pv_warn("sftp: target answered unknown request id %u", t->s_id);
		return PV_ERR_PROTOCOL;
	}
	if ((response_type_bit(t->s_type) & q->resp) == 0) {
		pv_warn("sftp: target answered %s with type %u",
		    sftp_op_name(q->op), t->s_type);
		return PV_ERR_PROTOCOL;
	}
	if (t->s_type == FXP_DATA) {
		if (t->s_rem < 4)
			return PV_ERR_PROTOCOL;
		t->s_want = 4;
		t->s_skip = 0;
	} else {
		t->s_want =
		    t->s_rem < SFTP_FIELD_MAX ? t->s_rem : SFTP_FIELD_MAX;
		t->s_skip = t->s_rem - t->s_want;
	}
	return 0;
}

/* The fields are collected: act on them. */
static int
server_body(struct sftp_tracker *t)
{
	struct pv_buf *b = NULL;
	struct req *q;
	uint32_t dlen;
	int r;

	if (t->s_type == FXP_VERSION)
		return 0;
	if ((q = req_find(t, t->s_id)) == NULL)
		return PV_ERR_INTERNAL; /* checked with the header */
	if (t->s_type == FXP_DATA) {
		dlen = sftp_get_u32(t->s_fld);
		if (dlen != t->s_rem - 4 || dlen > q->len || q->h == NULL) {
			pv_warn("sftp: DATA does not match its READ");
			return PV_ERR_PROTOCOL;
		}
		t->s_stream = dlen;
		t->s_off = q->offset;
		t->s_h = q->h;
		t->s_h->refs++;
		req_remove(t, q);
		return 0;
	}
	if ((b = pv_buf_from(t->s_fld, t->s_got)) == NULL)
		return PV_ERR_ALLOC;
	r = server_fields(t, q, b);
	pv_buf_free(b);
	req_remove(t, q);
	return r;
}

static int
server_data(struct sftp_tracker *t, const uint8_t *buf, size_t len)
{
	size_t n;
	struct handle *h;
	int r;

	while (len > 0) {
		switch (t->s_state) {
		case S_HDR:
			n = sizeof(t->s_hdr) - t->s_hgot;
			n = n < len ? n : len;
			memcpy(t->s_hdr + t->s_hgot, buf, n);
			t->s_hgot += n;
			if (t->s_hgot >= 4 &&
			    (sftp_get_u32(t->s_hdr) < 5 ||
				sftp_get_u32(t->s_hdr) > SFTP_PACKET_MAX)) {
				pv_warn("sftp: target packet length %u out of "
					"range",
				    sftp_get_u32(t->s_hdr));
				return PV_ERR_PROTOCOL;
			}
			if (t->s_hgot < sizeof(t->s_hdr))
				return 0;
			t->s_hgot = 0;
			if ((r = server_header(t)) != 0)
				return r;
			t->s_state = S_FIELDS;
			break;
		case S_FIELDS:
			n = t->s_want - t->s_got;
			n = n < len ? n : len;
			memcpy(t->s_fld + t->s_got, buf, n);
			t->s_got += n;
			break;
		case S_DATA:
			n = t->s_stream < len ? t->s_stream : len;
			h = t->s_h;
			if ((r = sftp_flow_feed(&h->r, t->s_off, buf, n)) != 0)
				return r;
			if (t->cfg.record_contents &&
			    t->cfg.cb.content != NULL &&
			    (r = t->cfg.cb.content(t->cfg.cb.ctx, h->file_id,
				 SFTP_DIR_DOWNLOAD, t->s_off, buf, n)) != 0)
				return r;
			t->st.bytes_downloaded += n;
			t->s_off += n;
			t->s_stream -= (uint32_t)n;
			break;
		case S_SKIP:
			n = t->s_skip < len ? t->s_skip : len;
			t->s_skip -= n;
			break;
		default:
			return PV_ERR_INTERNAL;
		}
		buf += n;
		len -= n;
		/* Advance through every state that is already complete. */
		if (t->s_state == S_FIELDS && t->s_got == t->s_want) {
			if ((r = server_body(t)) != 0)
				return r;
			t->s_state = t->s_h != NULL ? S_DATA : S_SKIP;
		}
		if (t->s_state == S_DATA && t->s_stream == 0) {
			sftp_handle_unref(t->s_h);
			t->s_h = NULL;
			t->s_state = S_SKIP;
		}
		if (t->s_state == S_SKIP && t->s_skip == 0)
			t->s_state = S_HDR;
	}
	return 0;
}

int
sftp_tracker_server_data(struct sftp_tracker *t, const uint8_t *buf, size_t len)
{
	int r;

	if (t->failed != 0)
		return t->failed;
	if ((r = server_data(t, buf, len)) != 0)
		t->failed = r;
	return r;
}

int
sftp_tracker_reply(struct sftp_tracker *t, const uint8_t **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	if (t->s_state != S_HDR || t->s_hgot != 0)
		return 0;
	*data = pv_buf_ptr(t->reply);
	*len = pv_buf_len(t->reply);
	return 0;
}

void
sftp_tracker_reply_consumed(struct sftp_tracker *t, size_t len)
{
	if (len > pv_buf_len(t->reply))
		len = pv_buf_len(t->reply);
	(void)pv_buf_consume(t->reply, len);
}

int
sftp_tracker_finish(struct sftp_tracker *t)
{
	int r;

	if (t->failed != 0 && t->failed != PV_ERR_PROTOCOL)
		return t->failed;
	while (t->nhandles > 0) {
		r = handle_summaries(t, t->handles[0], SFTP_STATUS_UNFINISHED,
		    "provost: channel ended before close");
		handle_drop(t, t->handles[0]);
		if (r != 0)
			return r;
	}
	return 0;
}

void
sftp_tracker_stats(const struct sftp_tracker *t, struct sftp_stats *st)
{
	*st = t->st;
	st->open_handles = t->nhandles;
	st->pending = t->nreqs;
}

int
sftp_tracker_new(struct sftp_tracker **out, const struct sftp_config *cfg)
{
	struct sftp_tracker *t = NULL;
	int r = PV_ERR_ALLOC;

	*out = NULL;
	if (cfg == NULL ||
	    (cfg->allow &
		~(unsigned int)(SFTP_ALLOW_UPLOAD | SFTP_ALLOW_DOWNLOAD)) != 0)
		return PV_ERR_INVALID;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->s_fld = malloc(SFTP_FIELD_MAX)) == NULL ||
	    (t->handles = calloc(SFTP_MAX_HANDLES, sizeof(struct handle *))) ==
		NULL ||
	    (t->reply = pv_buf_new(SFTP_REPLY_MAX)) == NULL)
		goto out;
	t->cfg = *cfg;
	*out = t;
	t = NULL;
	r = 0;
out:
	sftp_tracker_free(t);
	return r;
}

void
sftp_tracker_free(struct sftp_tracker *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nreqs; i++)
		sftp_req_clear(&t->reqs[i]);
	free(t->reqs);
	sftp_handle_unref(t->c_h);
	sftp_handle_unref(t->s_h);
	for (i = 0; i < t->nhandles; i++) {
		t->handles[i]->closed = 1;
		if (t->handles[i]->refs == 0)
			handle_free(t->handles[i]);
	}
	free(t->handles);
	free(t->s_fld);
	pv_buf_free(t->reply);
	free(t);
}
