/*
 * buf.c: the bounded byte buffer through which untrusted bytes are parsed
 * and messages are built (OpenSSH's sshbuf, smaller).  Freed contents are
 * wiped; growth copies into fresh memory and wipes the old.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/common.h"

#define PV_BUF_MIN_ALLOC 256

struct pv_buf {
	uint8_t *d;        /* storage */
	const uint8_t *cd; /* read view: d, or foreign data */
	size_t off;        /* first unread byte */
	size_t size;       /* bytes stored, read or not */
	size_t alloc;
	size_t max;
	int readonly;
};

struct pv_buf *
pv_buf_new(size_t max)
{
	struct pv_buf *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->max = max == 0 ? PV_BUF_DEFAULT_MAX : max;
	return b;
}

struct pv_buf *
pv_buf_from(const void *data, size_t len)
{
	struct pv_buf *b;

	if (data == NULL && len != 0)
		return NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->cd = data;
	b->size = len;
	b->max = len;
	b->readonly = 1;
	return b;
}

void
pv_buf_free(struct pv_buf *b)
{
	if (b == NULL)
		return;
	if (b->d != NULL) {
		OPENSSL_cleanse(b->d, b->alloc);
		free(b->d);
	}
	free(b);
}

void
pv_buf_reset(struct pv_buf *b)
{
	if (b->readonly) {
		b->off = b->size;
		return;
	}
	if (b->d != NULL)
		OPENSSL_cleanse(b->d, b->size);
	b->off = b->size = 0;
}

size_t
pv_buf_len(const struct pv_buf *b)
{
	return b->size - b->off;
}

const uint8_t *
pv_buf_ptr(const struct pv_buf *b)
{
	const uint8_t *p = b->readonly ? b->cd : b->d;

	return p == NULL ? (const uint8_t *)"" : p + b->off;
}

/* Moves unread bytes to the front once most of the storage is consumed. */
static void
buf_pack(struct pv_buf *b)
{
	size_t n = b->size - b->off;

	if (b->off == 0)
		return;
	memmove(b->d, b->d + b->off, n);
	OPENSSL_cleanse(b->d + n, b->size - n);
	b->size = n;
	b->off = 0;
}

int
pv_buf_reserve(struct pv_buf *b, size_t len, uint8_t **dst)
{
	size_t need, nalloc;
	uint8_t *nd;

	*dst = NULL;
	if (b->readonly)
		return PV_ERR_INTERNAL;
	if (len > b->max || pv_buf_len(b) > b->max - len)
		return PV_ERR_LIMIT;
	if (b->off > 0 && b->size + len > b->alloc)
		buf_pack(b);
	need = b->size + len;
	if (need > b->alloc) {
		nalloc =
		    b->alloc < PV_BUF_MIN_ALLOC ? PV_BUF_MIN_ALLOC : b->alloc;
		while (nalloc < need)
			nalloc = nalloc > SIZE_MAX / 2 ? need : nalloc * 2;
		if (nalloc > b->max)
			nalloc = need > b->max ? need : b->max;
		if ((nd = malloc(nalloc)) == NULL)
			return PV_ERR_ALLOC;
		if (b->d != NULL) {
			memcpy(nd, b->d, b->size);
			OPENSSL_cleanse(b->d, b->alloc);
			free(b->d);
		}
		b->d = nd;
		b->alloc = nalloc;
	}
	*dst = b->d + b->size;
	b->size += len;
	return 0;
}

int
pv_buf_put(struct pv_buf *b, const void *data, size_t len)
{
	uint8_t *p;
	int r;

	if (len == 0)
		return 0;
	if ((r = pv_buf_reserve(b, len, &p)) != 0)
		return r;
	memcpy(p, data, len);
	return 0;
}

int
pv_buf_put_u8(struct pv_buf *b, uint8_t v)
{
	return pv_buf_put(b, &v, 1);
}

int
pv_buf_put_u16(struct pv_buf *b, uint16_t v)
{
	uint8_t p[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	return pv_buf_put(b, p, sizeof(p));
}

int
pv_buf_put_u32(struct pv_buf *b, uint32_t v)
{
	uint8_t p[4];
	int i;

	for (i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
	return pv_buf_put(b, p, sizeof(p));
}

int
pv_buf_put_u64(struct pv_buf *b, uint64_t v)
{
	uint8_t p[8];
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
	return pv_buf_put(b, p, sizeof(p));
}

int
pv_buf_put_string(struct pv_buf *b, const void *data, size_t len)
{
	int r;

	if (len > UINT32_MAX)
		return PV_ERR_RANGE;
	if ((r = pv_buf_put_u32(b, (uint32_t)len)) != 0)
		return r;
	return pv_buf_put(b, data, len);
}

int
pv_buf_put_cstring(struct pv_buf *b, const char *s)
{
	return pv_buf_put_string(b, s, s == NULL ? 0 : strlen(s));
}

int
pv_buf_putf(struct pv_buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256], *big = NULL;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return PV_ERR_INVALID;
	if ((size_t)n < sizeof(small))
		return pv_buf_put(b, small, (size_t)n);
	if ((big = malloc((size_t)n + 1)) == NULL)
		return PV_ERR_ALLOC;
	va_start(ap, fmt);
	r = vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	r = r == n ? pv_buf_put(b, big, (size_t)n) : PV_ERR_INTERNAL;
	free(big);
	return r;
}

int
pv_buf_consume(struct pv_buf *b, size_t len)
{
	if (len > pv_buf_len(b))
		return PV_ERR_INCOMPLETE;
	b->off += len;
	if (b->off == b->size && !b->readonly)
		b->off = b->size = 0;
	return 0;
}

int
pv_buf_consume_end(struct pv_buf *b, size_t len)
{
	if (len > pv_buf_len(b))
		return PV_ERR_INCOMPLETE;
	b->size -= len;
	if (!b->readonly)
		OPENSSL_cleanse(b->d + b->size, len);
	return 0;
}

int
pv_buf_get(struct pv_buf *b, void *out, size_t len)
{
	if (len > pv_buf_len(b))
		return PV_ERR_INCOMPLETE;
	if (len > 0 && out != NULL)
		memcpy(out, pv_buf_ptr(b), len);
	return pv_buf_consume(b, len);
}

int
pv_buf_get_u8(struct pv_buf *b, uint8_t *v)
{
	return pv_buf_get(b, v, 1);
}

int
pv_buf_get_u16(struct pv_buf *b, uint16_t *v)
{
	uint8_t p[2];
	int r;

	if ((r = pv_buf_get(b, p, sizeof(p))) != 0)
		return r;
	*v = (uint16_t)((p[0] << 8) | p[1]);
	return 0;
}

int
pv_buf_get_u32(struct pv_buf *b, uint32_t *v)
{
	uint8_t p[4];
	int r;

	if ((r = pv_buf_get(b, p, sizeof(p))) != 0)
		return r;
	*v = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | (uint32_t)p[3];
	return 0;
}

int
pv_buf_get_u64(struct pv_buf *b, uint64_t *v)
{
	uint8_t p[8];
	uint64_t x = 0;
	int i, r;

	if ((r = pv_buf_get(b, p, sizeof(p))) != 0)
		return r;
	for (i = 0; i < 8; i++)
		x = (x << 8) | p[i];
	*v = x;
	return 0;
}

int
pv_buf_get_string_direct(struct pv_buf *b, const uint8_t **p, size_t *len)
{
	const uint8_t *q = pv_buf_ptr(b);
	uint32_t n;

	*p = NULL;
	*len = 0;
	if (pv_buf_len(b) < 4)
		return PV_ERR_INCOMPLETE;
	n = ((uint32_t)q[0] << 24) | ((uint32_t)q[1] << 16) |
	    ((uint32_t)q[2] << 8) | (uint32_t)q[3];
	if (n > pv_buf_len(b) - 4)
		return PV_ERR_INCOMPLETE;
	*p = q + 4;
	*len = n;
	b->off += 4 + (size_t)n; /* not consume(): *p must stay valid */
	return 0;
}

int
pv_buf_get_string(struct pv_buf *b, uint8_t **out, size_t *len)
{
	const uint8_t *p;
	size_t n;
	int r;

	*out = NULL;
	*len = 0;
	if ((r = pv_buf_get_string_direct(b, &p, &n)) != 0)
		return r;
	if ((*out = malloc(n + 1)) == NULL)
		return PV_ERR_ALLOC;
	if (n > 0)
		memcpy(*out, p, n);
	(*out)[n] = '\0';
	*len = n;
	return 0;
}

int
pv_buf_get_cstring(struct pv_buf *b, char **out, size_t *len)
{
	const uint8_t *p;
	size_t n, save = b->off;
	int r;

	*out = NULL;
	if (len != NULL)
		*len = 0;
	if ((r = pv_buf_get_string_direct(b, &p, &n)) != 0)
		return r;
	if (n > 0 && memchr(p, '\0', n) != NULL) {
		b->off = save;
		return PV_ERR_INVALID;
	}
	if ((*out = malloc(n + 1)) == NULL) {
		b->off = save;
		return PV_ERR_ALLOC;
	}
	if (n > 0)
		memcpy(*out, p, n);
	(*out)[n] = '\0';
	if (len != NULL)
		*len = n;
	return 0;
}

int
pv_buf_dup_cstring(const struct pv_buf *b, char **out)
{
	size_t n = pv_buf_len(b);

	*out = NULL;
	if (n > 0 && memchr(pv_buf_ptr(b), '\0', n) != NULL)
		return PV_ERR_INVALID;
	if ((*out = malloc(n + 1)) == NULL)
		return PV_ERR_ALLOC;
	if (n > 0)
		memcpy(*out, pv_buf_ptr(b), n);
	(*out)[n] = '\0';
	return 0;
}
