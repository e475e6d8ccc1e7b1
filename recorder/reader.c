/*
 * reader.c: reads and validates a recording in file order (format section 7),
 * returning every event up to the first bad point with a precise reason.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <zstd.h>

#include "common/common.h"
#include "recorder/recorder-int.h"

struct rec_reader {
	int fd; /* -1 when reading from memory */
	const uint8_t *mem;
	size_t memlen, mempos;
	char *json;
	json_t *hdr;
	uint8_t hh[REC_HASH_LEN];
	uint8_t prefix[REC_NONCE_PREFIX_LEN];
	uint8_t dk[REC_KEY_LEN];
	int unlocked;
	int state; /* 0 reading, 1 complete, <0 failed with this error */
	EVP_CIPHER_CTX *cc;
	ZSTD_DCtx *zd;
	uint8_t *ct;           /* REC_CT_MAX */
	uint8_t *plain;        /* REC_PLAIN_MAX */
	struct pv_buf *events; /* view of the current chunk's events */
	uint64_t index;        /* chunks verified */
	int final;             /* the current chunk is the final one */
	int seen_end;
	uint64_t nevents, nskipped, last_ms;
	uint8_t last_type; /* of the event before (EXEC_MORE follows EXEC) */
	int seen_index;    /* the final chunk's INDEX event */
	int index_read;    /* rec_reader_index was called: no events */
	struct rec_totals tot;
	char *path1, *path2, *signame;
	/* a FILE_REF waiting for its FILE event */
	int ref_set;
	uint32_t ref_channel;
	uint64_t ref_file_id;
	char err[256];
};

static int reader_fail(struct rec_reader *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
reader_fail(struct rec_reader *r, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(r->err, sizeof(r->err), fmt, ap) >= (int)sizeof(r->err))
		r->err[sizeof(r->err) - 1] = '\0';
	va_end(ap);
	r->state = code;
	return code;
}

static int
reader_incomplete(struct rec_reader *r, const char *extra)
{
	char when[32];

	if (rec_format_offset(r->last_ms, when, sizeof(when)) != 0)
		when[0] = '\0';
	if (r->nevents == 0)
		return reader_fail(r, PV_ERR_INCOMPLETE,
		    "incomplete: %llu chunks, no end event; no events%s",
		    (unsigned long long)r->index, extra);
	return reader_fail(r, PV_ERR_INCOMPLETE,
	    "incomplete: %llu chunks, no end event; last event at %s%s",
	    (unsigned long long)r->index, when, extra);
}

/* Reads up to len bytes; returns how many (short only at end of file). */
static int
reader_read(struct rec_reader *r, void *buf, size_t len, size_t *got)
{
	uint8_t *p = buf;
	ssize_t n;

	*got = 0;
	if (r->fd < 0) {
		size_t left = r->memlen - r->mempos;
		size_t take = left < len ? left : len;

		if (take > 0)
			memcpy(p, r->mem + r->mempos, take);
		r->mempos += take;
		*got = take;
		return 0;
	}
	while (*got < len) {
		n = read(r->fd, p + *got, len - *got);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return reader_fail(
			    r, PV_ERR_IO, "read failed: %s", strerror(errno));
		}
		*got += (size_t)n;
	}
	return 0;
}

static const char *
hdr_str(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int
reader_header(struct rec_reader *r)
{
	uint8_t pre[REC_PREFIX_LEN];
	struct pv_buf *b = NULL;
	json_t *rc, *v;
	json_error_t jerr;
	uint16_t version;
	uint32_t jlen;
	size_t got, i;
	const char *s;
	EVP_MD_CTX *md = NULL;
	int ret;

	if ((ret = reader_read(r, pre, sizeof(pre), &got)) != 0)
		return ret;
	if (got < REC_MAGIC_LEN || memcmp(pre, REC_MAGIC, REC_MAGIC_LEN) != 0)
		return reader_fail(
		    r, PV_ERR_INVALID, "not a provost recording (bad magic)");
	if (got < sizeof(pre))
		return reader_fail(r, PV_ERR_INCOMPLETE,
		    "incomplete: the header is cut short");
	if ((b = pv_buf_from(pre + REC_MAGIC_LEN, 6)) == NULL)
		return reader_fail(r, PV_ERR_ALLOC, "out of memory");
	(void)pv_buf_get_u16(b, &version);
	(void)pv_buf_get_u32(b, &jlen);
	pv_buf_free(b);
	if (version != REC_FORMAT_VERSION)
		return reader_fail(r, PV_ERR_UNSUPPORTED,
		    "format version %u is not supported (this reader knows %d)",
		    version, REC_FORMAT_VERSION);
	if (jlen < 2 || jlen > REC_JSON_MAX)
		return reader_fail(r, PV_ERR_INVALID,
		    "header length %u is out of range", jlen);
	if ((r->json = malloc((size_t)jlen + 1)) == NULL)
		return reader_fail(r, PV_ERR_ALLOC, "out of memory");
	if ((ret = reader_read(r, r->json, jlen, &got)) != 0)
		return ret;
	if (got < jlen)
		return reader_fail(r, PV_ERR_INCOMPLETE,
		    "incomplete: the header is cut short");
	r->json[jlen] = '\0';
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, pre, sizeof(pre)) != 1 ||
	    EVP_DigestUpdate(md, r->json, jlen) != 1 ||
	    EVP_DigestFinal_ex(md, r->hh, NULL) != 1) {
		EVP_MD_CTX_free(md);
		return reader_fail(r, PV_ERR_CRYPTO, "SHA-256 failed");
	}
	EVP_MD_CTX_free(md);
	if (memchr(r->json, '\0', jlen) != NULL ||
	    (r->hdr = json_loadb(
		 r->json, jlen, JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
	    !json_is_object(r->hdr))
		return reader_fail(
		    r, PV_ERR_INVALID, "the header is not a JSON object");
	v = json_object_get(r->hdr, "version");
	if ((s = hdr_str(r->hdr, "format")) == NULL ||
	    strcmp(s, "provost-recording") != 0 || !json_is_integer(v) ||
	    json_integer_value(v) != REC_FORMAT_VERSION ||
	    hdr_str(r->hdr, "session") == NULL ||
	    (s = hdr_str(r->hdr, "cipher")) == NULL ||
	    strcmp(s, "AES-256-GCM") != 0 ||
	    (s = hdr_str(r->hdr, "compression")) == NULL ||
	    strcmp(s, "zstd") != 0)
		return reader_fail(r, PV_ERR_INVALID,
		    "the header lacks format, version, session, cipher or "
		    "compression, or names one this reader does not know");
	if ((s = hdr_str(r->hdr, "nonce_prefix")) == NULL || strlen(s) != 8)
		return reader_fail(r, PV_ERR_INVALID, "bad nonce_prefix");
	for (i = 0; i < REC_NONCE_PREFIX_LEN; i++) {
		const char *hex = "0123456789abcdef";
		const char *hi = strchr(hex, s[2 * i]);
		const char *lo = strchr(hex, s[2 * i + 1]);

		if (s[2 * i] == '\0' || s[2 * i + 1] == '\0' || hi == NULL ||
		    lo == NULL)
			return reader_fail(
			    r, PV_ERR_INVALID, "bad nonce_prefix");
		r->prefix[i] = (uint8_t)(((hi - hex) << 4) | (lo - hex));
	}
	rc = json_object_get(r->hdr, "recipients");
	if (!json_is_array(rc) || json_array_size(rc) == 0)
		return reader_fail(
		    r, PV_ERR_INVALID, "the header has no recipients");
	return 0;
}

static int
reader_alloc(struct rec_reader **out)
{
	struct rec_reader *r;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return PV_ERR_ALLOC;
	r->fd = -1;
	*out = r;
	return 0;
}

int
rec_reader_open_mem(struct rec_reader **out, const void *data, size_t len)
{
	struct rec_reader *r;
	int ret;

	if ((ret = reader_alloc(&r)) != 0)
		return ret;
	r->mem = data;
	r->memlen = len;
	(void)reader_header(r);
	*out = r;
	return r->state;
}

int
rec_reader_open(struct rec_reader **out, const char *path)
{
	struct rec_reader *r;
	int ret;

	if ((ret = reader_alloc(&r)) != 0)
		return ret;
	if ((r->fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		(void)reader_fail(r,
		    errno == ENOENT       ? PV_ERR_NOT_FOUND
			: errno == EACCES ? PV_ERR_PERM
					  : PV_ERR_IO,
		    "%s", strerror(errno));
	else
		(void)reader_header(r);
	*out = r;
	return r->state;
}

void
rec_reader_free(struct rec_reader *r)
{
	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->json);
	json_decref(r->hdr);
	PV_WIPE(r->dk);
	EVP_CIPHER_CTX_free(r->cc);
	ZSTD_freeDCtx(r->zd);
	free(r->ct);
	if (r->plain != NULL)
		pv_secret_free(r->plain, REC_PLAIN_MAX);
	pv_buf_free(r->events);
	free(r->path1);
	free(r->path2);
	free(r->signame);
	free(r);
}

const char *
rec_reader_header_json(const struct rec_reader *r)
{
	return r->json == NULL ? "" : r->json;
}

int
rec_reader_header_size(
    const struct rec_reader *r, uint16_t *cols, uint16_t *rows)
{
	json_t *c = json_object_get(r->hdr, "cols");
	json_t *w = json_object_get(r->hdr, "rows");

	*cols = *rows = 0;
	if (!json_is_integer(c) || !json_is_integer(w) ||
	    json_integer_value(c) < 0 || json_integer_value(c) > 65535 ||
	    json_integer_value(w) < 0 || json_integer_value(w) > 65535)
		return PV_ERR_INVALID;
	*cols = (uint16_t)json_integer_value(c);
	*rows = (uint16_t)json_integer_value(w);
	return 0;
}

int64_t
rec_reader_start_ms(const struct rec_reader *r)
{
	json_t *v = json_object_get(r->hdr, "start_ms");

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

const char *
rec_reader_error(const struct rec_reader *r)
{
	return r->err;
}

uint64_t
rec_reader_chunks(const struct rec_reader *r)
{
	return r->index;
}

const struct rec_totals *
rec_reader_totals(const struct rec_reader *r)
{
	return &r->tot;
}

uint64_t
rec_reader_events(const struct rec_reader *r)
{
	return r->nevents;
}

uint64_t
rec_reader_last_ms(const struct rec_reader *r)
{
	return r->last_ms;
}

static int
b64_field(json_t *o, const char *name, uint8_t **out, size_t *len)
{
	const char *s = hdr_str(o, name);

	*out = NULL;
	*len = 0;
	if (s == NULL)
		return PV_ERR_INVALID;
	return pv_b64_decode(s, strlen(s), 0, out, len);
}

int
rec_reader_unlock(struct rec_reader *r, const struct rec_key *k)
{
	json_t *rcs, *o = NULL;
	const char *type, *id;
	uint8_t *epk = NULL, *wrapped = NULL;
	size_t epklen = 0, wlen = 0, i;
	int ret;

	if (r->state != 0)
		return r->state;
	rcs = json_object_get(r->hdr, "recipients");
	for (i = 0; i < json_array_size(rcs); i++) {
		o = json_array_get(rcs, i);
		type = hdr_str(o, "type");
		id = hdr_str(o, "key_id");
		if (type == NULL || id == NULL || strcmp(id, k->key_id) != 0)
			continue;
		if (strcmp(type,
			k->type == REC_KEY_X25519 ? "x25519"
						  : "rsa-oaep-sha256") != 0)
			continue;
		break;
	}
	if (i == json_array_size(rcs))
		return reader_fail(
		    r, PV_ERR_NOT_FOUND, "no recipient matches this key");
	if ((k->type == REC_KEY_X25519 &&
		b64_field(o, "epk", &epk, &epklen) != 0) ||
	    b64_field(o, "wrapped", &wrapped, &wlen) != 0) {
		ret = reader_fail(r, PV_ERR_INVALID,
		    "recipient %zu has a malformed epk or wrapped key", i + 1);
		goto out;
	}
	if (rec_unwrap_key(k, epk, epklen, wrapped, wlen, r->dk) != 0) {
		ret = reader_fail(r, PV_ERR_AUTH,
		    "the key matches recipient %zu but does not unwrap the "
		    "data key: the header is damaged",
		    i + 1);
		goto out;
	}
	if ((r->cc = EVP_CIPHER_CTX_new()) == NULL ||
	    (r->zd = ZSTD_createDCtx()) == NULL ||
	    (r->ct = malloc(REC_CT_MAX)) == NULL ||
	    (r->plain = malloc(REC_PLAIN_MAX)) == NULL) {
		ret = reader_fail(r, PV_ERR_ALLOC, "out of memory");
		goto out;
	}
	if (EVP_DecryptInit_ex(r->cc, EVP_aes_256_gcm(), NULL, r->dk, NULL) !=
	    1) {
		ret = reader_fail(r, PV_ERR_CRYPTO, "AES-256-GCM init failed");
		goto out;
	}
	r->unlocked = 1;
	ret = 0;
out:
	free(epk);
	free(wrapped);
	return ret;
}

/* Reads, authenticates and decompresses the next chunk. */
static int
reader_chunk(struct rec_reader *r)
{
	uint8_t hdr[REC_CHUNK_HDR_LEN], nonce[REC_NONCE_LEN], aad[REC_AAD_LEN];
	uint8_t one, tag[REC_TAG_LEN];
	unsigned long long csize;
	uint32_t ctlen;
	size_t got, mlen, plen, fsize;
	uint64_t n = r->index;
	int ret, k;

	if (r->final) {
		if ((ret = reader_read(r, &one, 1, &got)) != 0)
			return ret;
		if (got != 0)
			return reader_fail(r, PV_ERR_INVALID,
			    "trailing bytes after the final chunk");
		r->state = 1;
		return 0;
	}
	if ((ret = reader_read(r, hdr, sizeof(hdr), &got)) != 0)
		return ret;
	if (got == 0)
		return reader_incomplete(r, "");
	if (got < sizeof(hdr))
		return reader_incomplete(r, " (the next chunk is cut short)");
	if ((hdr[0] & ~REC_FLAG_FINAL) != 0)
		return reader_fail(r, PV_ERR_AUTH,
		    "chunk %llu fails authentication (unknown flags)",
		    (unsigned long long)n);
	ctlen = ((uint32_t)hdr[1] << 24) | ((uint32_t)hdr[2] << 16) |
	    ((uint32_t)hdr[3] << 8) | hdr[4];
	if (ctlen <= REC_TAG_LEN || ctlen > REC_CT_MAX)
		return reader_fail(r, PV_ERR_INVALID,
		    "chunk %llu has an invalid length %u",
		    (unsigned long long)n, ctlen);
	if ((ret = reader_read(r, r->ct, ctlen, &got)) != 0)
		return ret;
	if (got < ctlen)
		return reader_incomplete(r, " (the next chunk is cut short)");
	mlen = ctlen - REC_TAG_LEN;
	memcpy(tag, r->ct + mlen, REC_TAG_LEN);
	rec_chunk_nonce(r->prefix, n, nonce);
	rec_chunk_aad(r->hh, n, hdr[0], aad);
	if (EVP_DecryptInit_ex(r->cc, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_DecryptUpdate(r->cc, NULL, &k, aad, sizeof(aad)) != 1 ||
	    EVP_DecryptUpdate(r->cc, r->ct, &k, r->ct, (int)mlen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(
		r->cc, EVP_CTRL_GCM_SET_TAG, REC_TAG_LEN, tag) != 1 ||
	    EVP_DecryptFinal_ex(r->cc, r->ct + k, &k) != 1)
		return reader_fail(r, PV_ERR_AUTH,
		    "chunk %llu fails authentication", (unsigned long long)n);
	csize = ZSTD_getFrameContentSize(r->ct, mlen);
	fsize = ZSTD_findFrameCompressedSize(r->ct, mlen);
	if (csize == ZSTD_CONTENTSIZE_UNKNOWN ||
	    csize == ZSTD_CONTENTSIZE_ERROR || csize > REC_PLAIN_MAX ||
	    csize == 0 || ZSTD_isError(fsize) || fsize != mlen)
		return reader_fail(r, PV_ERR_INVALID,
		    "chunk %llu is malformed: not one zstd frame of at most "
		    "%d bytes",
		    (unsigned long long)n, REC_PLAIN_MAX);
	plen = ZSTD_decompressDCtx(r->zd, r->plain, REC_PLAIN_MAX, r->ct, mlen);
	if (ZSTD_isError(plen) || plen != csize)
		return reader_fail(r, PV_ERR_INVALID,
		    "chunk %llu is malformed: zstd: %s", (unsigned long long)n,
		    ZSTD_isError(plen) ? ZSTD_getErrorName(plen) : "size");
	pv_buf_free(r->events);
	if ((r->events = pv_buf_from(r->plain, plen)) == NULL)
		return reader_fail(r, PV_ERR_ALLOC, "out of memory");
	r->final = hdr[0] & REC_FLAG_FINAL;
	r->index++;
	return 0;
}

static int
reader_malformed(struct rec_reader *r, const char *what)
{
	return reader_fail(r, PV_ERR_INVALID, "chunk %llu is malformed: %s",
	    (unsigned long long)(r->index - 1), what);
}

static int
get_path(struct pv_buf *b, char **dst)
{
	size_t len;

	free(*dst);
	*dst = NULL;
	if (pv_buf_get_cstring(b, dst, &len) != 0 || len > REC_PATH_MAX)
		return PV_ERR_INVALID;
	return 0;
}

/* Decodes one event's payload; 1 = return it, 0 = skip (extension). */
static int
reader_decode(
    struct rec_reader *r, struct rec_event *ev, const uint8_t *p, size_t len)
{
	struct pv_buf *b = NULL;
	uint8_t u8a, u8b;
	uint16_t cols, rows;
	uint32_t u32;
	size_t nl;
	int ret = 1;

	ev->data = p;
	ev->len = len;
	if (ev->type >= 128 && ev->type != REC_EV_FILE_DATA &&
	    ev->type != REC_EV_FILE_REF && ev->type != REC_EV_EXEC_MORE &&
	    ev->type != REC_EV_INDEX)
		return 0;
	if ((b = pv_buf_from(p, len)) == NULL)
		return reader_fail(r, PV_ERR_ALLOC, "out of memory");
	switch (ev->type) {
	case REC_EV_FILE_DATA:
		if (len <= REC_FILE_DATA_HDR ||
		    len > REC_FILE_DATA_HDR + REC_DATA_MAX ||
		    pv_buf_get_u32(b, &ev->fdata.channel) != 0 ||
		    pv_buf_get_u64(b, &ev->fdata.file_id) != 0 ||
		    pv_buf_get_u8(b, &u8a) != 0 ||
		    pv_buf_get_u64(b, &ev->fdata.offset) != 0 ||
		    (u8a != REC_DIR_UPLOAD && u8a != REC_DIR_DOWNLOAD) ||
		    ev->fdata.offset > UINT64_MAX - (len - REC_FILE_DATA_HDR)) {
			ret = reader_malformed(r, "bad file data event");
			break;
		}
		ev->fdata.direction = (enum rec_file_dir)u8a;
		ev->data = p + REC_FILE_DATA_HDR;
		ev->len = len - REC_FILE_DATA_HDR;
		break;
	case REC_EV_FILE_REF:
		if (len != REC_FILE_REF_LEN ||
		    pv_buf_get_u32(b, &r->ref_channel) != 0 ||
		    pv_buf_get_u64(b, &r->ref_file_id) != 0) {
			ret = reader_malformed(r, "bad file reference event");
			break;
		}
		r->ref_set = 1;
		ret = 0; /* not returned: it goes into the next FILE event */
		break;
	case REC_EV_INDEX: {
		struct rec_index ix;
		const char *why;

		/* checked, not returned: provost-replay grep reads it */
		ret = 0;
		if (!r->final || r->seen_index)
			ret = reader_malformed(r,
			    "an index event outside the final chunk, or two");
		else if (rec_index_parse(p, len, &ix, &why) != 0)
			ret = reader_malformed(r, why);
		r->seen_index = 1;
	} break;
	case REC_EV_OUTPUT:
	case REC_EV_STDERR:
	case REC_EV_INPUT:
	case REC_EV_EXEC:
		if (len > REC_DATA_MAX)
			ret = reader_malformed(r, "data event too long");
		if (ev->type == REC_EV_OUTPUT)
			r->tot.output_bytes += len;
		else if (ev->type == REC_EV_STDERR)
			r->tot.stderr_bytes += len;
		else if (ev->type == REC_EV_INPUT)
			r->tot.input_bytes += len;
		break;
	case REC_EV_EXEC_MORE:
		if (len < 1 || len > REC_DATA_MAX ||
		    (r->last_type != REC_EV_EXEC &&
			r->last_type != REC_EV_EXEC_MORE))
			ret = reader_malformed(
			    r, "exec continuation without an exec before it");
		break;
	case REC_EV_SUBSYSTEM:
		if (len < 1 || len > REC_SUBSYS_MAX)
			ret = reader_malformed(r, "bad subsystem name");
		break;
	case REC_EV_RESIZE:
		if (len != 4 || pv_buf_get_u16(b, &cols) != 0 ||
		    pv_buf_get_u16(b, &rows) != 0)
			ret = reader_malformed(r, "bad resize event");
		else {
			ev->cols = cols;
			ev->rows = rows;
		}
		break;
	case REC_EV_FILE:
		if (pv_buf_get_u8(b, &u8a) != 0 ||
		    pv_buf_get_u8(b, &u8b) != 0 ||
		    pv_buf_get_u32(b, &ev->file.result) != 0 ||
		    pv_buf_get_u64(b, &ev->file.bytes) != 0 ||
		    pv_buf_get(b, ev->file.sha256, 32) != 0 ||
		    get_path(b, &r->path1) != 0 ||
		    get_path(b, &r->path2) != 0 || pv_buf_len(b) != 0 ||
		    u8a == 0 || u8b > 2) {
			ret = reader_malformed(r, "bad file event");
			break;
		}
		ev->file.op = (enum rec_file_op)u8a;
		ev->file.direction = (enum rec_file_dir)u8b;
		ev->file.path = r->path1;
		ev->file.path2 = r->path2;
		if (r->ref_set) {
			ev->file.contents = 1;
			ev->file.channel = r->ref_channel;
			ev->file.file_id = r->ref_file_id;
			r->ref_set = 0;
		}
		break;
	case REC_EV_EXIT:
		free(r->signame);
		r->signame = NULL;
		if (pv_buf_get_u8(b, &u8a) != 0 ||
		    pv_buf_get_u32(b, &u32) != 0 ||
		    pv_buf_get_u8(b, &u8b) != 0 ||
		    pv_buf_get_cstring(b, &r->signame, &nl) != 0 ||
		    pv_buf_len(b) != 0 || nl > REC_SIGNAME_MAX ||
		    (u8a != REC_EXIT_STATUS && u8a != REC_EXIT_SIGNAL) ||
		    u8b > 1) {
			ret = reader_malformed(r, "bad exit event");
			break;
		}
		ev->exit.kind = u8a;
		ev->exit.value = u32;
		ev->exit.core_dumped = u8b;
		ev->exit.signame = r->signame;
		break;
	case REC_EV_END:
		if (len != 48 || pv_buf_get_u64(b, &ev->totals.events) != 0 ||
		    pv_buf_get_u64(b, &ev->totals.output_bytes) != 0 ||
		    pv_buf_get_u64(b, &ev->totals.stderr_bytes) != 0 ||
		    pv_buf_get_u64(b, &ev->totals.input_bytes) != 0 ||
		    pv_buf_get_u64(b, &ev->totals.chunks) != 0 ||
		    pv_buf_get_u64(b, &ev->totals.duration_ms) != 0) {
			ret = reader_malformed(r, "bad end event");
			break;
		}
		if (!r->final || pv_buf_len(r->events) != 0) {
			ret = reader_malformed(
			    r, "end event before the end of the final chunk");
			break;
		}
		if (ev->totals.events != r->nevents + r->nskipped ||
		    ev->totals.output_bytes != r->tot.output_bytes ||
		    ev->totals.stderr_bytes != r->tot.stderr_bytes ||
		    ev->totals.input_bytes != r->tot.input_bytes ||
		    ev->totals.chunks != r->index ||
		    ev->totals.duration_ms != ev->t_ms) {
			ret = reader_malformed(
			    r, "the end event's totals do not match");
			break;
		}
		r->seen_end = 1;
		break;
	default:
		ret = reader_malformed(r, "unknown event type");
		break;
	}
	pv_buf_free(b);
	return ret;
}

int
rec_reader_next(struct rec_reader *r, struct rec_event *ev)
{
	const uint8_t *p;
	uint8_t type;
	uint64_t t;
	size_t len;
	int ret;

	memset(ev, 0, sizeof(*ev));
	for (;;) {
		if (r->state == 1)
			return 0;
		if (r->state < 0)
			return r->state;
		if (!r->unlocked || r->index_read)
			return reader_fail(r, PV_ERR_INTERNAL,
			    r->unlocked ? "the reader read the index"
					: "no key given");
		if (r->events == NULL || pv_buf_len(r->events) == 0) {
			if (r->events != NULL && r->final && !r->seen_end)
				return reader_malformed(
				    r, "the final chunk has no end event");
			if ((ret = reader_chunk(r)) != 0)
				return ret;
			if (r->state == 1)
				return 0;
			if (pv_buf_len(r->events) == 0)
				return reader_malformed(r, "no events");
		}
		if (pv_buf_get_u8(r->events, &type) != 0 ||
		    pv_buf_get_u64(r->events, &t) != 0 ||
		    pv_buf_get_string_direct(r->events, &p, &len) != 0)
			return reader_malformed(r, "an event is cut short");
		if ((type >= 10 && type < 128) || type == 0)
			return reader_malformed(r, "unknown event type");
		if (t < r->last_ms)
			return reader_malformed(r, "time goes backwards");
		if (r->ref_set && type != REC_EV_FILE)
			return reader_malformed(r,
			    "a file reference is not followed by its file "
			    "event");
		if (r->last_type == REC_EV_INDEX && type != REC_EV_END)
			return reader_malformed(
			    r, "the index event is not right before the end");
		ev->type = (enum rec_event_type)type;
		ev->t_ms = t;
		r->last_ms = t;
		ret = reader_decode(r, ev, p, len);
		r->last_type = type;
		if (ret < 0)
			return ret;
		if (ret == 0) {
			r->nskipped++;
			continue;
		}
		if (type != REC_EV_END)
			r->nevents++;
		return 1;
	}
}

/* Reads len bytes at off (without moving), or fewer at the end. */
static int
reader_pread(
    struct rec_reader *r, void *buf, size_t len, uint64_t off, size_t *got)
{
	ssize_t n;

	*got = 0;
	if (r->fd < 0) {
		if (off < r->memlen) {
			*got = r->memlen - off < len ? r->memlen - off : len;
			memcpy(buf, r->mem + off, *got);
		}
		return 0;
	}
	while (*got < len) {
		n = pread(r->fd, (uint8_t *)buf + *got, len - *got,
		    (off_t)(off + *got));
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return reader_fail(
			    r, PV_ERR_IO, "read failed: %s", strerror(errno));
		}
		*got += (size_t)n;
	}
	return 0;
}

/*
 * The final chunk's INDEX event: walks the chunk headers from the end of
 * the header (each chunk's length is in its 5-byte header), then reads
 * the final chunk as reader_chunk reads any chunk (its number in the
 * nonce and AAD, the flags) and its events (INDEX right before END, END
 * last, END's chunk count).
 */
int
rec_reader_index(struct rec_reader *r, struct rec_index *out)
{
	uint8_t hdr[REC_CHUNK_HDR_LEN], type;
	uint64_t off, size, n = 0, t, last = 0;
	const uint8_t *p, *ixp = NULL;
	const char *why;
	struct stat st;
	struct rec_totals tot;
	size_t got, len, ixlen = 0;
	uint32_t ctlen;
	struct pv_buf *b;
	int ret;

	memset(out, 0, sizeof(*out));
	if (r->state != 0)
		return r->state;
	if (!r->unlocked || r->index_read || r->index != 0)
		return reader_fail(r, PV_ERR_INTERNAL,
		    "the index is read from a fresh, unlocked reader");
	r->index_read = 1;
	if (r->fd < 0) {
		off = r->mempos;
		size = r->memlen;
	} else {
		if (fstat(r->fd, &st) != 0 ||
		    (off_t)(off = (uint64_t)lseek(r->fd, 0, SEEK_CUR)) < 0)
			return reader_fail(
			    r, PV_ERR_IO, "read failed: %s", strerror(errno));
		size = (uint64_t)st.st_size;
	}
	for (;; n++) {
		if ((ret = reader_pread(r, hdr, sizeof(hdr), off, &got)) != 0)
			return ret;
		if (got < sizeof(hdr))
			return reader_fail(r, PV_ERR_INCOMPLETE,
			    "incomplete: no final chunk after %llu chunks",
			    (unsigned long long)n);
		ctlen = ((uint32_t)hdr[1] << 24) | ((uint32_t)hdr[2] << 16) |
		    ((uint32_t)hdr[3] << 8) | hdr[4];
		if ((hdr[0] & ~REC_FLAG_FINAL) != 0)
			return reader_fail(r, PV_ERR_AUTH,
			    "chunk %llu fails authentication (unknown flags)",
			    (unsigned long long)n);
		if (ctlen <= REC_TAG_LEN || ctlen > REC_CT_MAX)
			return reader_fail(r, PV_ERR_INVALID,
			    "chunk %llu has an invalid length %u",
			    (unsigned long long)n, ctlen);
		if (size - off < sizeof(hdr) + (uint64_t)ctlen)
			return reader_fail(r, PV_ERR_INCOMPLETE,
			    "incomplete: no final chunk after %llu chunks "
			    "(the next chunk is cut short)",
			    (unsigned long long)n);
		if (hdr[0] & REC_FLAG_FINAL)
			break;
		off += sizeof(hdr) + ctlen;
	}
	if (off + sizeof(hdr) + ctlen != size)
		return reader_fail(
		    r, PV_ERR_INVALID, "trailing bytes after the final chunk");
	if (r->fd < 0)
		r->mempos = (size_t)off;
	else if (lseek(r->fd, (off_t)off, SEEK_SET) < 0)
		return reader_fail(
		    r, PV_ERR_IO, "read failed: %s", strerror(errno));
	r->index = n;
	if ((ret = reader_chunk(r)) != 0)
		return ret;
	/* its events: lengths, times in order, INDEX then END, END last */
	for (;;) {
		if (pv_buf_get_u8(r->events, &type) != 0 ||
		    pv_buf_get_u64(r->events, &t) != 0 ||
		    pv_buf_get_string_direct(r->events, &p, &len) != 0)
			return reader_malformed(r, "an event is cut short");
		if ((type >= 10 && type < 128) || type == 0)
			return reader_malformed(r, "unknown event type");
		if (t < last)
			return reader_malformed(r, "time goes backwards");
		last = t;
		if (ixp != NULL && type != REC_EV_END)
			return reader_malformed(
			    r, "the index event is not right before the end");
		if (type == REC_EV_INDEX) {
			ixp = p;
			ixlen = len;
		}
		if (type == REC_EV_END)
			break;
	}
	if (len != 48 || pv_buf_len(r->events) != 0 ||
	    (b = pv_buf_from(p, len)) == NULL)
		return reader_malformed(
		    r, "the final chunk does not end with its end event");
	ret = pv_buf_get_u64(b, &tot.events) |
	    pv_buf_get_u64(b, &tot.output_bytes) |
	    pv_buf_get_u64(b, &tot.stderr_bytes) |
	    pv_buf_get_u64(b, &tot.input_bytes) |
	    pv_buf_get_u64(b, &tot.chunks);
	pv_buf_free(b);
	if (ret != 0 || tot.chunks != n + 1)
		return reader_malformed(
		    r, "the end event's totals do not match");
	if (ixp == NULL)
		return 1;
	if (rec_index_parse(ixp, ixlen, out, &why) != 0)
		return reader_malformed(r, why);
	return 0;
}

int
rec_reader_fuzz_events(
    const uint8_t *events, size_t len, int final, char *err, size_t errlen)
{
	struct rec_reader *r;
	struct rec_event ev;
	int ret, n = 0;

	if (len > REC_PLAIN_MAX)
		return PV_ERR_LIMIT;
	if ((ret = reader_alloc(&r)) != 0)
		return ret;
	if ((r->plain = malloc(REC_PLAIN_MAX)) == NULL) {
		rec_reader_free(r);
		return PV_ERR_ALLOC;
	}
	if (len > 0)
		memcpy(r->plain, events, len);
	r->unlocked = 1;
	r->final = final;
	r->index = 1;
	if ((r->events = pv_buf_from(r->plain, len)) == NULL) {
		rec_reader_free(r);
		return PV_ERR_ALLOC;
	}
	while ((ret = rec_reader_next(r, &ev)) == 1 && n++ < 1000000)
		;
	if (err != NULL && errlen > 0)
		(void)snprintf(err, errlen, "%s", r->err);
	rec_reader_free(r);
	return ret;
}
