/*
 * writer.c: the recording writer the broker feeds every byte to: events
 * buffered in memory, sealed (zstd + AES-256-GCM) and written by wio.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/common.h"
#include "recorder/recorder-int.h"

struct rec_writer {
	int fd;
	int err; /* sticky: the first error, returned by every later call */
	uint8_t dk[REC_KEY_LEN];
	uint8_t prefix[REC_NONCE_PREFIX_LEN];
	uint8_t hh[REC_HASH_LEN];
	uint64_t index;      /* next chunk */
	uint64_t start_mono; /* event times are relative to this */
	uint64_t last_t;     /* never decreases */
	uint64_t first_mono; /* now_ms of the first buffered event */
	uint8_t *plain;      /* REC_WRITER_PLAIN_CAP bytes */
	size_t plen;
	struct rec_wio *io; /* seals, writes and syncs chunks */
	EVP_MD_CTX *fh;     /* SHA-256 of every byte written */
	uint64_t size;      /* of the header; the chunks are counted by io */
	struct rec_totals tot;
};

static int
writer_fail(struct rec_writer *w, int r)
{
	if (w->err == 0)
		w->err = r;
	return w->err;
}

/* The first error of this writer or of its I/O thread. */
static int
writer_err(struct rec_writer *w)
{
	int r;

	if (w->err == 0 && w->io != NULL && (r = rec_wio_error(w->io)) != 0)
		w->err = r;
	return w->err;
}

/* Writes the header, adds it to the running hash, then fdatasync. */
static int
writer_emit(struct rec_writer *w, const void *p, size_t len)
{
	if (pv_write_all(w->fd, p, len) != 0) {
		pv_error("recording: write failed: %s", strerror(errno));
		return writer_fail(w, PV_ERR_IO);
	}
	if (fdatasync(w->fd) != 0) {
		pv_error("recording: fdatasync failed: %s", strerror(errno));
		return writer_fail(w, PV_ERR_IO);
	}
	if (EVP_DigestUpdate(w->fh, p, len) != 1)
		return writer_fail(w, PV_ERR_CRYPTO);
	w->size += len;
	return 0;
}

/* Hands the buffered events to the I/O thread as the next chunk. */
static int
writer_seal(struct rec_writer *w, uint8_t flags, uint64_t now_ms)
{
	uint64_t age;
	unsigned int sync_ms = 0;
	int r;

	if (writer_err(w) != 0)
		return w->err;
	if (w->plen == 0 && !(flags & REC_FLAG_FINAL))
		return 0;
	/* Durable by 1 s after the chunk's first event (format section 6). */
	age = now_ms > w->first_mono ? now_ms - w->first_mono : 0;
	if (!(flags & REC_FLAG_FINAL) && age < REC_CHUNK_SEAL_MS)
		sync_ms = (unsigned int)(REC_CHUNK_SEAL_MS - age);
	if ((r = rec_wio_submit(
		 w->io, &w->plain, w->plen, w->index, flags, sync_ms)) != 0)
		return writer_fail(w, r);
	w->plen = 0;
	w->index++;
	return 0;
}

/* Reserves one event in the buffer and returns where its payload goes. */
static int
writer_event(struct rec_writer *w, uint64_t now_ms, uint8_t type, size_t len,
    uint8_t **payload)
{
	uint64_t t;
	uint8_t *p;
	int r;

	*payload = NULL;
	if (writer_err(w) != 0)
		return w->err;
	if (w->plen + REC_EVENT_HDR_LEN + len > REC_WRITER_PLAIN_CAP &&
	    (r = writer_seal(w, 0, now_ms)) != 0)
		return r;
	t = now_ms > w->start_mono ? now_ms - w->start_mono : 0;
	if (t < w->last_t)
		t = w->last_t;
	w->last_t = t;
	if (w->plen == 0)
		w->first_mono = now_ms;
	p = w->plain + w->plen;
	p[0] = type;
	rec_put_be64(p + 1, t);
	rec_put_be32(p + 9, (uint32_t)len);
	w->plen += REC_EVENT_HDR_LEN + len;
	*payload = p + REC_EVENT_HDR_LEN;
	if (type != REC_EV_END)
		w->tot.events++;
	return 0;
}

/* After an event: seal at 64 KiB or when the chunk's first event is 1 s old. */
static int
writer_check(struct rec_writer *w, uint64_t now_ms)
{
	if (w->plen >= REC_CHUNK_SEAL_BYTES ||
	    (w->plen > 0 && now_ms >= w->first_mono + REC_CHUNK_SEAL_MS))
		return writer_seal(w, 0, now_ms);
	return 0;
}

int
rec_writer_data(struct rec_writer *w, uint64_t now_ms, enum rec_event_type type,
    const void *data, size_t len)
{
	const uint8_t *d = data;
	uint8_t *p;
	size_t n;
	int r;

	if (writer_err(w) != 0)
		return w->err;
	if (type != REC_EV_OUTPUT && type != REC_EV_STDERR &&
	    type != REC_EV_INPUT)
		return PV_ERR_INVALID;
	while (len > 0) {
		n = len > REC_DATA_MAX ? REC_DATA_MAX : len;
		if ((r = writer_event(w, now_ms, (uint8_t)type, n, &p)) != 0)
			return r;
		memcpy(p, d, n);
		if (type == REC_EV_OUTPUT)
			w->tot.output_bytes += n;
		else if (type == REC_EV_STDERR)
			w->tot.stderr_bytes += n;
		else
			w->tot.input_bytes += n;
		d += n;
		len -= n;
		if ((r = writer_check(w, now_ms)) != 0)
			return r;
	}
	return 0;
}

int
rec_writer_resize(
    struct rec_writer *w, uint64_t now_ms, uint16_t cols, uint16_t rows)
{
	uint8_t *p;
	int r;

	if ((r = writer_event(w, now_ms, REC_EV_RESIZE, 4, &p)) != 0)
		return r;
	p[0] = (uint8_t)(cols >> 8);
	p[1] = (uint8_t)cols;
	p[2] = (uint8_t)(rows >> 8);
	p[3] = (uint8_t)rows;
	return writer_check(w, now_ms);
}

static int
writer_bytes_event(struct rec_writer *w, uint64_t now_ms, uint8_t type,
    const void *data, size_t len, size_t min, size_t max)
{
	uint8_t *p;
	int r;

	if (writer_err(w) != 0)
		return w->err;
	if (len < min || len > max)
		return PV_ERR_RANGE;
	if ((r = writer_event(w, now_ms, type, len, &p)) != 0)
		return r;
	if (len > 0)
		memcpy(p, data, len);
	return writer_check(w, now_ms);
}

int
rec_writer_exec(
    struct rec_writer *w, uint64_t now_ms, const void *cmd, size_t len)
{
	const uint8_t *p = cmd;
	size_t n = len > REC_DATA_MAX ? REC_DATA_MAX : len, off;
	int r;

	/* A longer command goes on in EXEC_MORE events (never refused). */
	if (len > REC_EXEC_MAX)
		return PV_ERR_RANGE;
	r = writer_bytes_event(w, now_ms, REC_EV_EXEC, p, n, 0, REC_DATA_MAX);
	for (off = n; r == 0 && off < len; off += n) {
		n = len - off > REC_DATA_MAX ? REC_DATA_MAX : len - off;
		r = writer_bytes_event(
		    w, now_ms, REC_EV_EXEC_MORE, p + off, n, 1, REC_DATA_MAX);
	}
	return r;
}

int
rec_writer_subsystem(struct rec_writer *w, uint64_t now_ms, const char *name)
{
	return writer_bytes_event(w, now_ms, REC_EV_SUBSYSTEM, name,
	    name == NULL ? 0 : strlen(name), 1, REC_SUBSYS_MAX);
}

int
rec_writer_file(struct rec_writer *w, uint64_t now_ms, const struct rec_file *f)
{
	size_t l1 = f->path == NULL ? 0 : strlen(f->path);
	size_t l2 = f->path2 == NULL ? 0 : strlen(f->path2);
	uint8_t *p;
	int r;

	if (writer_err(w) != 0)
		return w->err;
	if (l1 > REC_PATH_MAX || l2 > REC_PATH_MAX || (int)f->op < 1 ||
	    (int)f->op > 255 || (int)f->direction < 0 || (int)f->direction > 2)
		return PV_ERR_RANGE;
	if (f->contents) {
		if ((r = writer_event(w, now_ms, REC_EV_FILE_REF,
			 REC_FILE_REF_LEN, &p)) != 0)
			return r;
		rec_put_be32(p, f->channel);
		rec_put_be64(p + 4, f->file_id);
	}
	if ((r = writer_event(w, now_ms, REC_EV_FILE,
		 2 + 4 + 8 + 32 + 4 + l1 + 4 + l2, &p)) != 0)
		return r;
	p[0] = (uint8_t)f->op;
	p[1] = (uint8_t)f->direction;
	rec_put_be32(p + 2, f->result);
	rec_put_be64(p + 6, f->bytes);
	memcpy(p + 14, f->sha256, 32);
	rec_put_be32(p + 46, (uint32_t)l1);
	if (l1 > 0)
		memcpy(p + 50, f->path, l1);
	rec_put_be32(p + 50 + l1, (uint32_t)l2);
	if (l2 > 0)
		memcpy(p + 54 + l1, f->path2, l2);
	return writer_check(w, now_ms);
}

int
rec_writer_file_data(struct rec_writer *w, uint64_t now_ms,
    const struct rec_file_data *d, const void *data, size_t len)
{
	const uint8_t *src = data;
	uint64_t off = d->offset;
	uint8_t *p;
	size_t n;
	int r;

	if (writer_err(w) != 0)
		return w->err;
	if ((d->direction != REC_DIR_UPLOAD &&
		d->direction != REC_DIR_DOWNLOAD) ||
	    off > UINT64_MAX - len)
		return PV_ERR_RANGE;
	while (len > 0) {
		n = len > REC_DATA_MAX ? REC_DATA_MAX : len;
		if ((r = writer_event(w, now_ms, REC_EV_FILE_DATA,
			 REC_FILE_DATA_HDR + n, &p)) != 0)
			return r;
		rec_put_be32(p, d->channel);
		rec_put_be64(p + 4, d->file_id);
		p[12] = (uint8_t)d->direction;
		rec_put_be64(p + 13, off);
		memcpy(p + REC_FILE_DATA_HDR, src, n);
		src += n;
		off += n;
		len -= n;
		if ((r = writer_check(w, now_ms)) != 0)
			return r;
	}
	return 0;
}

int
rec_writer_exit(struct rec_writer *w, uint64_t now_ms, const struct rec_exit *e)
{
	size_t nl = e->signame == NULL ? 0 : strlen(e->signame);
	uint8_t *p;
	int r;

	if (writer_err(w) != 0)
		return w->err;
	if ((e->kind != REC_EXIT_STATUS && e->kind != REC_EXIT_SIGNAL) ||
	    nl > REC_SIGNAME_MAX ||
	    (e->kind == REC_EXIT_STATUS && (e->value > 255 || nl > 0)))
		return PV_ERR_RANGE;
	if ((r = writer_event(w, now_ms, REC_EV_EXIT, 10 + nl, &p)) != 0)
		return r;
	p[0] = (uint8_t)e->kind;
	rec_put_be32(p + 1, e->value);
	p[5] = e->core_dumped ? 1 : 0;
	rec_put_be32(p + 6, (uint32_t)nl);
	if (nl > 0)
		memcpy(p + 10, e->signame, nl);
	return writer_check(w, now_ms);
}

int
rec_writer_tick(struct rec_writer *w, uint64_t now_ms)
{
	if (writer_err(w) != 0)
		return w->err;
	return writer_check(w, now_ms);
}

int
rec_writer_next_tick_ms(const struct rec_writer *w, uint64_t now_ms)
{
	uint64_t due;

	if (w->err != 0 || w->plen == 0)
		return -1;
	due = w->first_mono + REC_CHUNK_SEAL_MS;
	return due <= now_ms ? 0 : (int)(due - now_ms);
}

uint64_t
rec_writer_chunks(const struct rec_writer *w)
{
	return w->index;
}

int
rec_writer_flush(struct rec_writer *w)
{
	int r;

	if ((r = writer_seal(w, 0, 0)) != 0)
		return r;
	if ((r = rec_wio_drain(w->io)) != 0)
		return writer_fail(w, r);
	return 0;
}

/* The cleartext header: prefix and JSON (format section 2). */
static int
writer_header(const uint8_t dk[REC_KEY_LEN],
    const uint8_t prefix[REC_NONCE_PREFIX_LEN], const struct rec_recipients *rs,
    const struct rec_meta *m, struct pv_buf *hdr)
{
	json_t *root = NULL, *arr = NULL, *o;
	char *js = NULL, *b64 = NULL, hex[2 * REC_NONCE_PREFIX_LEN + 1],
	     when[32];
	uint8_t epk[REC_X25519_LEN], *wrapped = NULL;
	size_t wlen = 0, i, jlen;
	int r = PV_ERR_ALLOC;

	if ((root = json_object()) == NULL || (arr = json_array()) == NULL)
		goto out;
	if ((r = pv_hex_encode(
		 prefix, REC_NONCE_PREFIX_LEN, hex, sizeof(hex))) != 0 ||
	    (r = pv_time_format(m->start_unix_ms / 1000, when, sizeof(when))) !=
		0)
		goto out;
	r = PV_ERR_ALLOC;
	if (json_object_set_new(
		root, "format", json_string("provost-recording")) != 0 ||
	    json_object_set_new(
		root, "version", json_integer(REC_FORMAT_VERSION)) != 0 ||
	    json_object_set_new(root, "session", json_string(m->session_id)) !=
		0) {
		r = PV_ERR_INVALID; /* not UTF-8 */
		goto out;
	}
#define OPT(name, v)                                                \
	if ((v) != NULL &&                                          \
	    json_object_set_new(root, name, json_string(v)) != 0) { \
		r = PV_ERR_INVALID;                                 \
		goto out;                                           \
	}
	OPT("engineer", m->engineer);
	OPT("provider", m->provider);
	OPT("target", m->target);
	OPT("account", m->account);
	OPT("client", m->client);
	OPT("term", m->term);
#undef OPT
	if (json_object_set_new(root, "start", json_string(when)) != 0 ||
	    json_object_set_new(
		root, "start_ms", json_integer(m->start_unix_ms)) != 0 ||
	    json_object_set_new(root, "cols", json_integer(m->cols)) != 0 ||
	    json_object_set_new(root, "rows", json_integer(m->rows)) != 0 ||
	    json_object_set_new(root, "cipher", json_string("AES-256-GCM")) !=
		0 ||
	    json_object_set_new(root, "compression", json_string("zstd")) !=
		0 ||
	    json_object_set_new(root, "nonce_prefix", json_string(hex)) != 0)
		goto out;
	for (i = 0; i < rs->n; i++) {
		const struct rec_recipient *rc = &rs->v[i];

		if ((r = rec_wrap_key(rc, dk, epk, &wrapped, &wlen)) != 0)
			goto out;
		r = PV_ERR_ALLOC;
		if ((o = json_object()) == NULL ||
		    json_array_append_new(arr, o))
			goto out;
		if (json_object_set_new(o, "type",
			json_string(rc->type == REC_KEY_X25519
				? "x25519"
				: "rsa-oaep-sha256")) != 0 ||
		    json_object_set_new(o, "key_id", json_string(rc->key_id)))
			goto out;
		if (rc->type == REC_KEY_X25519) {
			if ((r = pv_b64_encode(epk, sizeof(epk), 0, &b64)) != 0)
				goto out;
			r = PV_ERR_ALLOC;
			if (json_object_set_new(o, "epk", json_string(b64)))
				goto out;
			free(b64);
			b64 = NULL;
		} else if (json_object_set_new(
			       o, "bits", json_integer(rc->bits)) != 0)
			goto out;
		if ((r = pv_b64_encode(wrapped, wlen, 0, &b64)) != 0)
			goto out;
		r = PV_ERR_ALLOC;
		if (json_object_set_new(o, "wrapped", json_string(b64)))
			goto out;
		free(b64);
		b64 = NULL;
		free(wrapped);
		wrapped = NULL;
	}
	if (json_object_set_new(root, "recipients", arr) != 0)
		goto out;
	arr = NULL;
	if ((js = json_dumps(root, JSON_COMPACT)) == NULL)
		goto out;
	jlen = strlen(js);
	if (jlen > REC_JSON_MAX) {
		r = PV_ERR_LIMIT;
		goto out;
	}
	if ((r = pv_buf_put(hdr, REC_MAGIC, REC_MAGIC_LEN)) != 0 ||
	    (r = pv_buf_put_u16(hdr, REC_FORMAT_VERSION)) != 0 ||
	    (r = pv_buf_put_u32(hdr, (uint32_t)jlen)) != 0 ||
	    (r = pv_buf_put(hdr, js, jlen)) != 0)
		goto out;
	r = 0;
out:
	free(js);
	free(b64);
	free(wrapped);
	json_decref(arr);
	json_decref(root);
	return r;
}

int
rec_writer_open_fd(struct rec_writer **out, int fd,
    const struct rec_recipients *rs, const struct rec_meta *meta)
{
	struct rec_writer *w = NULL;
	struct pv_buf *hdr = NULL;
	int r = PV_ERR_INTERNAL;

	*out = NULL;
	if (fd < 0 || rs == NULL || rs->n == 0 || meta == NULL ||
	    meta->session_id == NULL) {
		r = PV_ERR_INVALID;
		goto out;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	w->fd = -1;
	if ((hdr = pv_buf_new(REC_JSON_MAX + REC_PREFIX_LEN)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	w->fd = fd;
	fd = -1;
	w->start_mono = meta->start_mono_ms;
	if ((w->plain = malloc(REC_WRITER_PLAIN_CAP)) == NULL ||
	    (w->fh = EVP_MD_CTX_new()) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if ((r = pv_random_bytes(w->dk, sizeof(w->dk))) != 0 ||
	    (r = pv_random_bytes(w->prefix, sizeof(w->prefix))) != 0)
		goto out;
	if (EVP_DigestInit_ex(w->fh, EVP_sha256(), NULL) != 1) {
		r = PV_ERR_CRYPTO;
		goto out;
	}
	if ((r = writer_header(w->dk, w->prefix, rs, meta, hdr)) != 0)
		goto out;
	if (EVP_Digest(pv_buf_ptr(hdr), pv_buf_len(hdr), w->hh, NULL,
		EVP_sha256(), NULL) != 1) {
		r = PV_ERR_CRYPTO;
		goto out;
	}
	if ((r = writer_emit(w, pv_buf_ptr(hdr), pv_buf_len(hdr))) != 0 ||
	    (r = rec_wio_start(
		 &w->io, w->fd, w->fh, w->dk, w->prefix, w->hh)) != 0)
		goto out;
	PV_WIPE(w->dk); /* the I/O thread's cipher context holds it now */
	*out = w;
	w = NULL;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	pv_buf_free(hdr);
	rec_writer_free(w);
	return r;
}

int
rec_header_write(int fd, const struct rec_recipients *rs,
    const struct rec_meta *meta, struct rec_resume *out)
{
	struct pv_buf *hdr = NULL;
	int r = PV_ERR_INTERNAL;

	memset(out, 0, sizeof(*out));
	if (fd < 0 || rs == NULL || rs->n == 0 || meta == NULL ||
	    meta->session_id == NULL)
		return PV_ERR_INVALID;
	if ((hdr = pv_buf_new(REC_JSON_MAX + REC_PREFIX_LEN)) == NULL)
		return PV_ERR_ALLOC;
	if ((r = pv_random_bytes(out->dk, sizeof(out->dk))) != 0 ||
	    (r = pv_random_bytes(
		 out->nonce_prefix, sizeof(out->nonce_prefix))) != 0 ||
	    (r = writer_header(out->dk, out->nonce_prefix, rs, meta, hdr)) != 0)
		goto out;
	if (EVP_Digest(pv_buf_ptr(hdr), pv_buf_len(hdr), out->header_sha256,
		NULL, EVP_sha256(), NULL) != 1) {
		r = PV_ERR_CRYPTO;
		goto out;
	}
	/* rec_writer_resume_fd syncs it (not here: the monitor's loop) */
	if (pv_write_all(fd, pv_buf_ptr(hdr), pv_buf_len(hdr)) != 0) {
		pv_error("recording: writing the header: %s", strerror(errno));
		r = PV_ERR_IO;
		goto out;
	}
	out->header_len = pv_buf_len(hdr);
	r = 0;
out:
	if (r != 0)
		rec_resume_wipe(out);
	pv_buf_free(hdr);
	return r;
}

void
rec_resume_wipe(struct rec_resume *res)
{
	pv_secret_wipe(res, sizeof(*res));
}

int
rec_writer_resume_fd(struct rec_writer **out, int fd,
    const struct rec_resume *res, uint64_t start_mono_ms)
{
	struct rec_writer *w = NULL;
	int r = PV_ERR_INTERNAL;

	*out = NULL;
	if (fd < 0 || res == NULL || res->header_len < REC_PREFIX_LEN + 2 ||
	    res->header_len > REC_PREFIX_LEN + REC_JSON_MAX) {
		r = PV_ERR_INVALID;
		goto out;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	w->fd = fd;
	fd = -1;
	w->start_mono = start_mono_ms;
	/* the header rec_header_write left: durable before the first chunk */
	if (fdatasync(w->fd) != 0) {
		pv_error("recording: fdatasync failed: %s", strerror(errno));
		r = PV_ERR_IO;
		goto out;
	}
	/* the header is on disk: only chunks follow, each appended */
	w->size = res->header_len;
	memcpy(w->dk, res->dk, sizeof(w->dk));
	memcpy(w->prefix, res->nonce_prefix, sizeof(w->prefix));
	memcpy(w->hh, res->header_sha256, sizeof(w->hh));
	if ((w->plain = malloc(REC_WRITER_PLAIN_CAP)) == NULL ||
	    (w->fh = EVP_MD_CTX_new()) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if (EVP_DigestInit_ex(w->fh, EVP_sha256(), NULL) != 1) {
		r = PV_ERR_CRYPTO;
		goto out;
	}
	if ((r = rec_wio_start(
		 &w->io, w->fd, w->fh, w->dk, w->prefix, w->hh)) != 0)
		goto out;
	PV_WIPE(w->dk);
	*out = w;
	w = NULL;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	rec_writer_free(w);
	return r;
}

int
rec_writer_open(struct rec_writer **out, const char *path,
    const struct rec_recipients *rs, const struct rec_meta *meta)
{
	int fd, r;

	*out = NULL;
	fd = open(
	    path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		r = errno == EEXIST   ? PV_ERR_EXISTS
		    : errno == EACCES ? PV_ERR_PERM
				      : PV_ERR_IO;
		pv_error("recording %s: %s", path, strerror(errno));
		return r;
	}
	if (fchmod(fd, 0600) != 0) {
		close(fd);
		(void)unlink(path);
		return PV_ERR_IO;
	}
	if ((r = rec_writer_open_fd(out, fd, rs, meta)) != 0 ||
	    (r = pv_fsync_parent(path)) != 0) {
		rec_writer_free(*out);
		*out = NULL;
		(void)unlink(path);
		return r;
	}
	return 0;
}

int
rec_writer_close(
    struct rec_writer *w, uint64_t now_ms, uint8_t sha256[32], uint64_t *size)
{
	uint8_t *p;
	uint64_t chunks = 0;
	unsigned int hl = 0;
	int r;

	memset(sha256, 0, 32);
	*size = 0;
	/*
	 * The I/O thread puts the INDEX event before END in the final
	 * chunk (format section 5): room for it, and it is counted.
	 */
	if (w->plen + REC_EVENT_HDR_LEN + 48 + REC_INDEX_EVENT_MAX >
		REC_WRITER_PLAIN_CAP &&
	    (r = writer_seal(w, 0, now_ms)) != 0)
		goto out;
	if ((r = writer_event(w, now_ms, REC_EV_END, 48, &p)) != 0)
		goto out;
	w->tot.events++;
	w->tot.chunks = w->index + 1;
	w->tot.duration_ms = w->last_t;
	rec_put_be64(p, w->tot.events);
	rec_put_be64(p + 8, w->tot.output_bytes);
	rec_put_be64(p + 16, w->tot.stderr_bytes);
	rec_put_be64(p + 24, w->tot.input_bytes);
	rec_put_be64(p + 32, w->tot.chunks);
	rec_put_be64(p + 40, w->tot.duration_ms);
	if ((r = writer_seal(w, REC_FLAG_FINAL, now_ms)) != 0)
		goto out;
	r = rec_wio_stop(w->io, &chunks);
	w->io = NULL;
	if (r != 0)
		goto out;
	if (EVP_DigestFinal_ex(w->fh, sha256, &hl) != 1 || hl != 32) {
		r = PV_ERR_CRYPTO;
		goto out;
	}
	*size = w->size + chunks;
	r = close(w->fd) == 0 ? 0 : PV_ERR_IO;
	w->fd = -1;
out:
	rec_writer_free(w);
	return r;
}

void
rec_writer_free(struct rec_writer *w)
{
	if (w == NULL)
		return;
	(void)rec_wio_stop(w->io, NULL);
	if (w->fd >= 0)
		close(w->fd);
	PV_WIPE(w->dk);
	if (w->plain != NULL)
		pv_secret_free(w->plain, REC_WRITER_PLAIN_CAP);
	EVP_MD_CTX_free(w->fh);
	free(w);
}
