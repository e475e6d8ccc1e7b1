/*
 * krl.c: OpenSSH key revocation lists (PROTOCOL.krl, format version 1):
 * certificate serials of one CA and plain public keys, for sshd RevokedKeys.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/common.h"

#define KRL_MAGIC 0x5353484b524c0a00ULL /* "SSHKRL\n\0" */
#define KRL_FORMAT_VERSION 1
#define KRL_SECTION_CERTIFICATES 1
#define KRL_SECTION_EXPLICIT_KEY 2
#define KRL_CERT_SERIAL_LIST 0x20
#define KRL_CERT_SERIAL_RANGE 0x21
#define KRL_CERT_SERIAL_BITMAP 0x22
/* A run this long costs less as one range (16 bytes) than as a list. */
#define KRL_RANGE_MIN 3
/* ... and than as part of a bitmap (a bit each). */
#define KRL_RANGE_LONG 256
/* Serials this close share a bitmap (at most 8 bytes of gap each). */
#define KRL_BITMAP_GAP 64
/* sshd's limit on a bitmap: an mpint of at most 16384 bits. */
#define KRL_BITMAP_BITS 16384

struct krl_blob {
	uint8_t *data;
	size_t len;
};

struct pv_krl {
	uint64_t *serials;
	size_t nserials, serials_cap;
	struct krl_blob *keys;
	size_t nkeys, keys_cap;
};

struct pv_krl *
pv_krl_new(void)
{
	return calloc(1, sizeof(struct pv_krl));
}

void
pv_krl_free(struct pv_krl *k)
{
	size_t i;

	if (k == NULL)
		return;
	for (i = 0; i < k->nkeys; i++)
		free(k->keys[i].data);
	free(k->keys);
	free(k->serials);
	free(k);
}

int
pv_krl_add_serial(struct pv_krl *k, uint64_t serial)
{
	uint64_t *n;
	size_t cap;

	/* sshd ignores serial 0 (a CA that sets none); a KRL may not hold it */
	if (serial == 0)
		return PV_ERR_RANGE;
	if (k->nserials == k->serials_cap) {
		cap = k->serials_cap == 0 ? 64 : k->serials_cap * 2;
		if ((n = reallocarray(k->serials, cap, sizeof(*n))) == NULL)
			return PV_ERR_ALLOC;
		k->serials = n;
		k->serials_cap = cap;
	}
	k->serials[k->nserials++] = serial;
	return 0;
}

int
pv_krl_add_key(struct pv_krl *k, const uint8_t *blob, size_t len)
{
	struct krl_blob *n;
	size_t cap;

	if (len == 0 || len > PV_KRL_KEY_MAX)
		return PV_ERR_RANGE;
	if (k->nkeys == k->keys_cap) {
		cap = k->keys_cap == 0 ? 16 : k->keys_cap * 2;
		if ((n = reallocarray(k->keys, cap, sizeof(*n))) == NULL)
			return PV_ERR_ALLOC;
		k->keys = n;
		k->keys_cap = cap;
	}
	if ((k->keys[k->nkeys].data = malloc(len)) == NULL)
		return PV_ERR_ALLOC;
	memcpy(k->keys[k->nkeys].data, blob, len);
	k->keys[k->nkeys++].len = len;
	return 0;
}

static int
serial_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
blob_cmp(const void *a, const void *b)
{
	const struct krl_blob *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->data, y->data, n);

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* Sorts and drops duplicates, so the file is the same for the same set. */
static void
krl_normalise(struct pv_krl *k)
{
	size_t i, o;

	if (k->nserials > 1) {
		qsort(k->serials, k->nserials, sizeof(*k->serials), serial_cmp);
		for (i = 1, o = 1; i < k->nserials; i++)
			if (k->serials[i] != k->serials[o - 1])
				k->serials[o++] = k->serials[i];
		k->nserials = o;
	}
	if (k->nkeys > 1) {
		qsort(k->keys, k->nkeys, sizeof(*k->keys), blob_cmp);
		for (i = 1, o = 1; i < k->nkeys; i++) {
			if (blob_cmp(&k->keys[i], &k->keys[o - 1]) == 0)
				free(k->keys[i].data);
			else
				k->keys[o++] = k->keys[i];
		}
		k->nkeys = o;
	}
}

size_t
pv_krl_serials(struct pv_krl *k)
{
	krl_normalise(k);
	return k->nserials;
}

size_t
pv_krl_keys(struct pv_krl *k)
{
	krl_normalise(k);
	return k->nkeys;
}

static int
krl_put_range(struct pv_buf *b, uint64_t lo, uint64_t hi)
{
	int r;

	if ((r = pv_buf_put_u8(b, KRL_CERT_SERIAL_RANGE)) != 0 ||
	    (r = pv_buf_put_u32(b, 16)) != 0 ||
	    (r = pv_buf_put_u64(b, lo)) != 0)
		return r;
	return pv_buf_put_u64(b, hi);
}

/* Bytes a bitmap subsection of span bits takes. */
static uint64_t
krl_bitmap_cost(uint64_t span)
{
	return 1 + 4 + 8 + 4 + 1 + (span + 7) / 8;
}

/*
 * The certificate section's body.  Serials are walked as runs of
 * consecutive numbers: a long run is a range; nearby short runs make a
 * cluster, written as a bitmap when that is smaller than listing it (sshd
 * takes bitmaps of at most KRL_BITMAP_BITS bits); what is left goes into
 * one list.
 */
static int
krl_cert_section(
    const struct pv_krl *k, const uint8_t *ca, size_t calen, struct pv_buf *b)
{
	struct pv_buf *list = NULL;
	uint8_t bits[KRL_BITMAP_BITS / 8 + 1];
	const uint64_t *sn = k->serials;
	size_t i, j, e, n = k->nserials, nb, bit;
	uint64_t span;
	int r;

	if ((list = pv_buf_new(PV_BUF_DEFAULT_MAX)) == NULL)
		return PV_ERR_ALLOC;
	if ((r = pv_buf_put_string(b, ca, calen)) != 0 ||
	    (r = pv_buf_put_string(b, NULL, 0)) != 0) /* reserved */
		goto out;
	for (i = 0; i < n; i = j) {
		/* j: past the run at i; e: past the cluster at i */
		for (j = i + 1; j < n && sn[j] == sn[j - 1] + 1; j++)
			;
		if (j - i >= KRL_RANGE_LONG) {
			if ((r = krl_put_range(b, sn[i], sn[j - 1])) != 0)
				goto out;
			continue;
		}
		for (e = j; e < n && sn[e] - sn[e - 1] <= KRL_BITMAP_GAP &&
		     sn[e] - sn[i] < KRL_BITMAP_BITS;
		     e++) {
			/* a long run ahead starts its own range */
			size_t f;

			for (f = e + 1; f < n && sn[f] == sn[f - 1] + 1 &&
			     f - e < KRL_RANGE_LONG;
			     f++)
				;
			if (f - e >= KRL_RANGE_LONG)
				break;
		}
		span = sn[e - 1] - sn[i] + 1;
		if (e == j && j - i >= KRL_RANGE_MIN) {
			if ((r = krl_put_range(b, sn[i], sn[j - 1])) != 0)
				goto out;
		} else if (e - i >= KRL_RANGE_MIN &&
		    krl_bitmap_cost(span) < 8 * (e - i)) {
			/* big-endian: bit N (serial sn[i] + N) is in byte
			 * nb - 1 - N / 8; the top byte is never zero */
			nb = (size_t)((span - 1) / 8 + 1);
			memset(bits, 0, nb);
			for (j = i; j < e; j++) {
				bit = (size_t)(sn[j] - sn[i]);
				bits[nb - 1 - bit / 8] |=
				    (uint8_t)(1U << (bit % 8));
			}
			if ((r = pv_buf_put_u8(b, KRL_CERT_SERIAL_BITMAP)) !=
				0 ||
			    (r = pv_buf_put_u32(b,
				 (uint32_t)(8 + 4 + nb + (bits[0] >= 0x80)))) !=
				0 ||
			    (r = pv_buf_put_u64(b, sn[i])) != 0 ||
			    (r = pv_buf_put_u32(
				 b, (uint32_t)(nb + (bits[0] >= 0x80)))) != 0 ||
			    (bits[0] >= 0x80 &&
				(r = pv_buf_put_u8(b, 0)) != 0) ||
			    (r = pv_buf_put(b, bits, nb)) != 0)
				goto out;
		} else {
			for (j = i; j < e; j++)
				if ((r = pv_buf_put_u64(list, sn[j])) != 0)
					goto out;
		}
		j = e;
	}
	if (pv_buf_len(list) > 0 &&
	    ((r = pv_buf_put_u8(b, KRL_CERT_SERIAL_LIST)) != 0 ||
		(r = pv_buf_put_string(
		     b, pv_buf_ptr(list), pv_buf_len(list))) != 0))
		goto out;
	r = 0;
out:
	pv_buf_free(list);
	return r;
}

int
pv_krl_write(struct pv_krl *k, const uint8_t *ca, size_t calen,
    uint64_t version, uint64_t date, const char *comment, struct pv_buf *out)
{
	struct pv_buf *sect = NULL;
	size_t i;
	int r;

	if (ca == NULL || calen == 0)
		return PV_ERR_INVALID;
	krl_normalise(k);
	if ((sect = pv_buf_new(PV_BUF_DEFAULT_MAX)) == NULL)
		return PV_ERR_ALLOC;
	if ((r = pv_buf_put_u64(out, KRL_MAGIC)) != 0 ||
	    (r = pv_buf_put_u32(out, KRL_FORMAT_VERSION)) != 0 ||
	    (r = pv_buf_put_u64(out, version)) != 0 ||
	    (r = pv_buf_put_u64(out, date)) != 0 ||
	    (r = pv_buf_put_u64(out, 0)) != 0 ||          /* flags */
	    (r = pv_buf_put_string(out, NULL, 0)) != 0 || /* reserved */
	    (r = pv_buf_put_cstring(out, comment != NULL ? comment : "")) != 0)
		goto out;
	if (k->nserials > 0) {
		if ((r = krl_cert_section(k, ca, calen, sect)) != 0 ||
		    (r = pv_buf_put_u8(out, KRL_SECTION_CERTIFICATES)) != 0 ||
		    (r = pv_buf_put_string(
			 out, pv_buf_ptr(sect), pv_buf_len(sect))) != 0)
			goto out;
		pv_buf_reset(sect);
	}
	if (k->nkeys > 0) {
		for (i = 0; i < k->nkeys; i++)
			if ((r = pv_buf_put_string(
				 sect, k->keys[i].data, k->keys[i].len)) != 0)
				goto out;
		if ((r = pv_buf_put_u8(out, KRL_SECTION_EXPLICIT_KEY)) != 0 ||
		    (r = pv_buf_put_string(
			 out, pv_buf_ptr(sect), pv_buf_len(sect))) != 0)
			goto out;
	}
	r = 0;
out:
	pv_buf_free(sect);
	return r;
}
