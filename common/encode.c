/*
 * encode.c: hex and base64 (standard, or URL-safe without padding).  The
 * decoder is strict: an alphabet byte or it fails, canonical trailing bits.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/common.h"

#define PV_B64_MAX_IN (16UL * 1024 * 1024)

int
pv_hex_encode(const void *data, size_t len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = data;
	size_t i;

	if (outlen == 0 || len > (outlen - 1) / 2)
		return PV_ERR_LIMIT;
	for (i = 0; i < len; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 0xf];
	}
	out[2 * len] = '\0';
	return 0;
}

static const char b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
pv_b64_encode(const void *data, size_t len, int url, char **out)
{
	const char *al = url ? b64_url : b64_std;
	const uint8_t *p = data;
	size_t i, o = 0, olen;
	char *s;

	*out = NULL;
	if (len > PV_B64_MAX_IN)
		return PV_ERR_LIMIT;
	olen = (len + 2) / 3 * 4;
	if ((s = malloc(olen + 1)) == NULL)
		return PV_ERR_ALLOC;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = ((uint32_t)p[i] << 16) |
		    ((uint32_t)p[i + 1] << 8) | p[i + 2];
		s[o++] = al[(v >> 18) & 63];
		s[o++] = al[(v >> 12) & 63];
		s[o++] = al[(v >> 6) & 63];
		s[o++] = al[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		s[o++] = al[(v >> 18) & 63];
		s[o++] = al[(v >> 12) & 63];
		if (i + 1 < len)
			s[o++] = al[(v >> 6) & 63];
		else if (!url)
			s[o++] = '=';
		if (!url)
			s[o++] = '=';
	}
	s[o] = '\0';
	*out = s;
	return 0;
}

static int
b64_value(char c, int url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

int
pv_b64_decode(
    const char *s, size_t slen, int url, uint8_t **out, size_t *outlen)
{
	uint8_t *d = NULL;
	size_t i, o = 0, n = slen, rem;
	uint32_t acc = 0;
	int v, r = PV_ERR_INVALID;

	*out = NULL;
	*outlen = 0;
	if (slen > PV_B64_MAX_IN)
		return PV_ERR_LIMIT;
	if (!url) {
		/* Standard: padded to a multiple of 4, at most two '='. */
		if (slen % 4 != 0)
			return PV_ERR_INVALID;
		if (n > 0 && s[n - 1] == '=')
			n--;
		if (n > 0 && s[n - 1] == '=')
			n--;
	}
	rem = n % 4;
	if (rem == 1)
		return PV_ERR_INVALID;
	if ((d = malloc(n / 4 * 3 + 3)) == NULL)
		return PV_ERR_ALLOC;
	for (i = 0; i < n; i++) {
		if ((v = b64_value(s[i], url)) < 0)
			goto out;
		acc = (acc << 6) | (uint32_t)v;
		if (i % 4 == 3) {
			d[o++] = (uint8_t)(acc >> 16);
			d[o++] = (uint8_t)(acc >> 8);
			d[o++] = (uint8_t)acc;
			acc = 0;
		}
	}
	if (rem == 2) {
		if (acc & 0xf)
			goto out; /* non-canonical trailing bits */
		d[o++] = (uint8_t)(acc >> 4);
	} else if (rem == 3) {
		if (acc & 0x3)
			goto out;
		d[o++] = (uint8_t)(acc >> 10);
		d[o++] = (uint8_t)(acc >> 2);
	}
	*out = d;
	*outlen = o;
	d = NULL;
	r = 0;
out:
	free(d);
	return r;
}
