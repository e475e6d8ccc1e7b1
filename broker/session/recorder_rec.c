/*
 * recorder_rec.c: the recorder hook backed by recorder/'s rec_writer:
 * one encrypted .pvr per session under RecordingDirectory/YYYY/MM/.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "broker/session/session.h"
#include "recorder/recorder.h"
#include "store/store.h"

struct rr {
	const struct pv_config *conf;
	struct rec_recipients *rs;
	broker_rec_opener opener; /* privilege separation: the monitor opens */
	void *opener_arg;
};

struct rr_rec {
	struct rec_writer *w;
};

static void
rr_meta(const struct broker_rec_info *info, struct rec_meta *meta)
{
	*meta = (struct rec_meta){
		.session_id = info->session_id,
		.engineer = info->engineer,
		.provider = info->provider,
		.target = info->target,
		.account = info->account,
		.client = info->client_addr,
		.term = info->term,
		.cols = info->cols,
		.rows = info->rows,
		.start_unix_ms = pv_wall_ms(),
		.start_mono_ms = pv_mono_ms(),
	};
}

/*
 * The file comes from the monitor (SCM_RIGHTS) with its header already
 * written (the monitor made it); we only append the chunks.
 */
static int
rr_open_fd(struct rr *r, const struct broker_rec_info *info, void **out,
    char *path, size_t pathlen)
{
	struct rr_rec *rec;
	struct rec_resume res;
	int fd = -1, e;

	if ((e = r->opener(r->opener_arg, info, path, pathlen, &fd, &res)) !=
	    0) {
		pv_error("the monitor did not open the recording: %s",
		    pv_err_str(e));
		return e;
	}
	if ((rec = calloc(1, sizeof(*rec))) == NULL) {
		rec_resume_wipe(&res);
		(void)close(fd);
		return PV_ERR_ALLOC;
	}
	/* rec_writer_resume_fd owns fd from here, also on error */
	e = rec_writer_resume_fd(&rec->w, fd, &res, pv_mono_ms());
	rec_resume_wipe(&res);
	if (e != 0) {
		pv_error(
		    "%s: cannot write the recording: %s", path, pv_err_str(e));
		free(rec);
		return e;
	}
	*out = rec;
	return 0;
}

static int
rr_open(void *ctx, const struct broker_rec_info *info, void **out, char *path,
    size_t pathlen)
{
	struct rr *r = ctx;
	struct rr_rec *rec;
	struct rec_meta meta;
	int e;

	*out = NULL;
	if (r->opener != NULL)
		return rr_open_fd(r, info, out, path, pathlen);
	if ((e = broker_recorder_rec_path(
		 r->conf, info->session_id, path, pathlen)) != 0)
		return e;
	if ((rec = calloc(1, sizeof(*rec))) == NULL)
		return PV_ERR_ALLOC;
	rr_meta(info, &meta);
	if ((e = rec_writer_open(&rec->w, path, r->rs, &meta)) != 0) {
		pv_error(
		    "%s: cannot open the recording: %s", path, pv_err_str(e));
		free(rec);
		return e;
	}
	*out = rec;
	return 0;
}

/* Signal names as OpenSSH sends them, to numbers for the EXIT event. */
static uint32_t
signal_number(const char *name)
{
	static const struct {
		const char *name;
		uint32_t num;
	} sigs[] = { { "HUP", 1 }, { "INT", 2 }, { "QUIT", 3 }, { "ILL", 4 },
		{ "ABRT", 6 }, { "FPE", 8 }, { "KILL", 9 }, { "USR1", 10 },
		{ "SEGV", 11 }, { "USR2", 12 }, { "PIPE", 13 }, { "ALRM", 14 },
		{ "TERM", 15 } };
	size_t i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (strcmp(sigs[i].name, name) == 0)
			return sigs[i].num;
	}
	return 0;
}

static int
rr_event(void *recp, enum broker_rec_kind kind, uint32_t channel,
    const void *data, size_t len)
{
	struct rr_rec *rec = recp;
	const uint8_t *p = data;
	uint64_t now = pv_mono_ms();
	char name[32];
	uint32_t cols, rows;

	switch (kind) {
	case BROKER_REC_INPUT:
		return rec_writer_data(rec->w, now, REC_EV_INPUT, data, len);
	case BROKER_REC_OUTPUT:
		return rec_writer_data(rec->w, now, REC_EV_OUTPUT, data, len);
	case BROKER_REC_STDERR:
		return rec_writer_data(rec->w, now, REC_EV_STDERR, data, len);
	case BROKER_REC_RESIZE:
		if (len != 8)
			return PV_ERR_INVALID;
		cols = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3];
		rows = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
		    (uint32_t)p[6] << 8 | p[7];
		return rec_writer_resize(rec->w, now,
		    (uint16_t)(cols > 65535 ? 65535 : cols),
		    (uint16_t)(rows > 65535 ? 65535 : rows));
	case BROKER_REC_EXEC:
		return rec_writer_exec(rec->w, now, data, len);
	case BROKER_REC_SUBSYSTEM:
		if (len == 0 || len >= sizeof(name))
			return PV_ERR_INVALID;
		memcpy(name, data, len);
		name[len] = '\0';
		return rec_writer_subsystem(rec->w, now, name);
	case BROKER_REC_EXIT:
		if (len != 4)
			return PV_ERR_INVALID;
		return rec_writer_exit(rec->w, now,
		    &(struct rec_exit){
			.kind = REC_EXIT_STATUS,
			.value = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
			    (uint32_t)p[2] << 8 | p[3],
		    });
	case BROKER_REC_EXIT_SIGNAL:
		if (len == 0 || len >= sizeof(name))
			return PV_ERR_INVALID;
		memcpy(name, data, len);
		name[len] = '\0';
		return rec_writer_exit(rec->w, now,
		    &(struct rec_exit){
			.kind = REC_EXIT_SIGNAL,
			.value = signal_number(name),
			.signame = name,
		    });
	}
	return PV_ERR_INVALID;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * File events: transfers (read/write summaries), changes, listings and
 * refusals.  Lookups (open, stat, realpath, readlink, ...) are not kept.
 */
static int
rr_file(void *recp, uint32_t channel, const struct sftp_event *ev)
{
	struct rr_rec *rec = recp;
	struct rec_file f = {
		.direction = (enum rec_file_dir)ev->direction,
		.result = ev->status,
		.bytes = ev->bytes,
		.path = ev->path != NULL ? ev->path : "",
		.path2 = ev->path2,
		.contents = ev->contents && ev->file_id != 0 &&
		    (ev->op == SFTP_OP_READ || ev->op == SFTP_OP_WRITE),
		.channel = channel,
		.file_id = ev->file_id,
	};
	size_t i;
	int hi, lo;

	switch (ev->op) {
	case SFTP_OP_READ:
		f.op = REC_FILE_GET;
		break;
	case SFTP_OP_WRITE:
		f.op = REC_FILE_PUT;
		break;
	case SFTP_OP_REMOVE:
		f.op = REC_FILE_REMOVE;
		break;
	case SFTP_OP_RENAME:
		f.op = REC_FILE_RENAME;
		break;
	case SFTP_OP_MKDIR:
		f.op = REC_FILE_MKDIR;
		break;
	case SFTP_OP_RMDIR:
		f.op = REC_FILE_RMDIR;
		break;
	case SFTP_OP_SETSTAT:
	case SFTP_OP_FSETSTAT:
		f.op = REC_FILE_SETSTAT;
		break;
	case SFTP_OP_SYMLINK:
		f.op = REC_FILE_SYMLINK;
		break;
	case SFTP_OP_READDIR:
		f.op = REC_FILE_LIST;
		break;
	case SFTP_OP_OPEN:
		if (!ev->refused)
			return 0;
		f.op = ev->direction == SFTP_DIR_UPLOAD ? REC_FILE_PUT
							: REC_FILE_GET;
		break;
	case SFTP_OP_EXTENDED:
		if (ev->ext != NULL &&
		    (strcmp(ev->ext, "direct-tcpip") == 0 ||
			strcmp(ev->ext, "forwarded-tcpip") == 0)) {
			f.op = REC_FILE_OTHER; /* a forward: bytes each way */
			break;
		}
		if (!ev->refused)
			return 0;
		f.op = REC_FILE_OTHER;
		break;
	default:
		if (!ev->refused)
			return 0;
		f.op = REC_FILE_OTHER;
		break;
	}
	if (ev->refused && f.result == SFTP_FX_OK)
		f.result = SFTP_FX_PERMISSION_DENIED;
	if (ev->hash == SFTP_HASH_SEQUENTIAL && strlen(ev->sha256) == 64) {
		for (i = 0; i < 32; i++) {
			hi = hexval(ev->sha256[2 * i]);
			lo = hexval(ev->sha256[2 * i + 1]);
			if (hi < 0 || lo < 0)
				return PV_ERR_INTERNAL;
			f.sha256[i] = (uint8_t)(hi << 4 | lo);
		}
	}
	return rec_writer_file(rec->w, pv_mono_ms(), &f);
}

static int
rr_content(void *recp, uint32_t channel, uint64_t file_id, unsigned int dir,
    uint64_t offset, const uint8_t *data, size_t len)
{
	struct rr_rec *rec = recp;
	struct rec_file_data d = {
		.channel = channel,
		.file_id = file_id,
		.direction = (enum rec_file_dir)dir,
		.offset = offset,
	};

	if (len == 0)
		return 0;
	return rec_writer_file_data(rec->w, pv_mono_ms(), &d, data, len);
}

static int
rr_tick(void *recp, int *next_ms)
{
	struct rr_rec *rec = recp;
	uint64_t now = pv_mono_ms();
	int r;

	r = rec_writer_tick(rec->w, now);
	*next_ms = rec_writer_next_tick_ms(rec->w, now);
	return r;
}

static int
rr_close(void *recp, int aborted, char *hex, size_t hexlen, uint64_t *size)
{
	struct rr_rec *rec = recp;
	uint8_t sha[32];
	int r;

	if (hex != NULL && hexlen > 0)
		hex[0] = '\0';
	*size = 0;
	if (rec == NULL)
		return 0;
	/* rec_writer_close frees the writer, whatever it returns. */
	r = rec_writer_close(rec->w, pv_mono_ms(), sha, size);
	if (r == 0 && hex != NULL)
		r = pv_hex_encode(sha, sizeof(sha), hex, hexlen);
	free(rec);
	return r;
}

static void
rr_free(void *ctx)
{
	struct rr *r = ctx;

	if (r == NULL)
		return;
	rec_recipients_free(r->rs);
	free(r);
}

static const struct broker_recorder_ops rr_ops = {
	.name = "pvr",
	.open = rr_open,
	.event = rr_event,
	.file = rr_file,
	.content = rr_content,
	.tick = rr_tick,
	.close = rr_close,
	.free = rr_free,
};

int
broker_recorder_rec_new(
    const struct pv_config *conf, struct broker_recorder *out)
{
	struct rr *r;
	char err[512];
	int e;

	memset(out, 0, sizeof(*out));
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return PV_ERR_ALLOC;
	r->conf = conf;
	if ((e = rec_recipients_load(&r->rs,
		 (const char *const *)conf->recipients, conf->nrecipients, err,
		 sizeof(err))) != 0) {
		pv_error("RecordingRecipient: %s", err);
		free(r);
		return e;
	}
	out->ops = &rr_ops;
	out->ctx = r;
	return 0;
}

void
broker_recorder_rec_set_opener(
    struct broker_recorder *rec, broker_rec_opener fn, void *arg)
{
	struct rr *r = rec->ctx;

	if (rec->ops != &rr_ops || r == NULL)
		return;
	r->opener = fn;
	r->opener_arg = arg;
}
