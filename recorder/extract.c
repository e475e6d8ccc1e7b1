/*
 * extract.c: rebuilds one transferred file from a recording's FILE_DATA
 * events and checks it against the transfer's FILE event (size, SHA-256).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/common.h"
#include "recorder/recorder.h"

/* pwrite takes an off_t: content past this offset is refused. */
#define EXTRACT_OFFSET_MAX ((uint64_t)INT64_MAX)

struct rec_extract {
	int fd;
	uint32_t channel;
	uint64_t file_id;
	enum rec_file_dir direction;
	uint64_t bytes;     /* the FILE event's byte count */
	uint8_t sha256[32]; /* and its hash; all zero = none */
	int has_hash;
	EVP_MD_CTX *md;
	uint64_t next;        /* content is contiguous from 0 up to here */
	int in_order;         /* every piece started at next */
	uint64_t got, pieces; /* content bytes and events taken */
	uint64_t end;         /* the highest offset + length written */
};

int
rec_extract_new(struct rec_extract **out, const struct rec_file *f, int fd)
{
	static const uint8_t zero[32];
	struct rec_extract *x;

	*out = NULL;
	if (!f->contents || fd < 0)
		return PV_ERR_INVALID;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return PV_ERR_ALLOC;
	x->fd = fd;
	x->channel = f->channel;
	x->file_id = f->file_id;
	x->direction = f->direction;
	x->bytes = f->bytes;
	memcpy(x->sha256, f->sha256, sizeof(x->sha256));
	x->has_hash = CRYPTO_memcmp(f->sha256, zero, sizeof(zero)) != 0;
	x->in_order = 1;
	if ((x->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(x->md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(x->md);
		free(x);
		return PV_ERR_CRYPTO;
	}
	*out = x;
	return 0;
}

void
rec_extract_free(struct rec_extract *x)
{
	if (x == NULL)
		return;
	EVP_MD_CTX_free(x->md);
	free(x);
}

static int
extract_write(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	ssize_t w;

	while (len > 0) {
		w = pwrite(fd, p, len, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return PV_ERR_IO;
		p += w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int
rec_extract_data(struct rec_extract *x, const struct rec_event *ev)
{
	const struct rec_file_data *d = &ev->fdata;
	int r;

	if (ev->type != REC_EV_FILE_DATA || d->channel != x->channel ||
	    d->file_id != x->file_id || d->direction != x->direction)
		return 0;
	if (d->offset > EXTRACT_OFFSET_MAX - ev->len)
		return PV_ERR_RANGE;
	if (d->offset != x->next)
		x->in_order = 0;
	if (x->in_order) {
		if (EVP_DigestUpdate(x->md, ev->data, ev->len) != 1)
			return PV_ERR_CRYPTO;
		x->next += ev->len;
	}
	if ((r = extract_write(x->fd, ev->data, ev->len, d->offset)) != 0)
		return r;
	x->got += ev->len;
	x->pieces++;
	if (d->offset + ev->len > x->end)
		x->end = d->offset + ev->len;
	return 0;
}

int
rec_extract_finish(struct rec_extract *x, char *msg, size_t msglen)
{
	uint8_t dg[32];
	char want[65], have[65];
	unsigned int dlen = 0;

	msg[0] = '\0';
	if (!x->has_hash) {
		(void)snprintf(msg, msglen,
		    "%llu bytes of content in %llu pieces written at their "
		    "offsets; NOT verified: the transfer has no recorded "
		    "SHA-256 (non-sequential or unfinished)",
		    (unsigned long long)x->got, (unsigned long long)x->pieces);
		return REC_EXTRACT_UNVERIFIED;
	}
	if (x->got == 0 && x->bytes > 0) {
		(void)snprintf(msg, msglen,
		    "content missing: the transfer moved %llu bytes but none "
		    "were recorded",
		    (unsigned long long)x->bytes);
		return REC_EXTRACT_MISMATCH;
	}
	if (!x->in_order) {
		(void)snprintf(msg, msglen,
		    "content does not match: the recorded pieces are not "
		    "contiguous from offset 0");
		return REC_EXTRACT_MISMATCH;
	}
	if (x->next != x->bytes) {
		(void)snprintf(msg, msglen,
		    "content missing: %llu of the transfer's %llu bytes were "
		    "recorded",
		    (unsigned long long)x->next, (unsigned long long)x->bytes);
		return REC_EXTRACT_MISMATCH;
	}
	if (EVP_DigestFinal_ex(x->md, dg, &dlen) != 1 || dlen != sizeof(dg))
		return PV_ERR_CRYPTO;
	if (CRYPTO_memcmp(dg, x->sha256, sizeof(dg)) != 0) {
		(void)pv_hex_encode(dg, sizeof(dg), have, sizeof(have));
		(void)pv_hex_encode(x->sha256, sizeof(dg), want, sizeof(want));
		(void)snprintf(msg, msglen,
		    "content does not match: SHA-256 %s, the transfer event "
		    "says %s",
		    have, want);
		return REC_EXTRACT_MISMATCH;
	}
	(void)pv_hex_encode(dg, sizeof(dg), have, sizeof(have));
	(void)snprintf(msg, msglen, "%llu bytes, SHA-256 %s verified",
	    (unsigned long long)x->bytes, have);
	return REC_EXTRACT_OK;
}
