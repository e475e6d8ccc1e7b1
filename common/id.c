/*
 * id.c: random ids.  Session and grant ids are UUIDv4 drawn from the
 * OpenSSL RNG, written in lower case; pv_uuid_valid accepts only that form.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "common/common.h"

int
pv_random_bytes(void *buf, size_t len)
{
	if (len > (size_t)INT32_MAX)
		return PV_ERR_RANGE;
	if (RAND_bytes(buf, (int)len) != 1) {
		pv_error("RAND_bytes failed");
		return PV_ERR_CRYPTO;
	}
	return 0;
}

int
pv_uuid_new(char out[PV_UUID_LEN + 1])
{
	uint8_t u[16];
	int n, r;

	out[0] = '\0';
	if ((r = pv_random_bytes(u, sizeof(u))) != 0)
		return r;
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4 */
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	n = snprintf(out, PV_UUID_LEN + 1,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
	    u[11], u[12], u[13], u[14], u[15]);
	return n == PV_UUID_LEN ? 0 : PV_ERR_INTERNAL;
}

int
pv_uuid_valid(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != PV_UUID_LEN)
		return 0;
	for (i = 0; i < PV_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!((s[i] >= '0' && s[i] <= '9') ||
			       (s[i] >= 'a' && s[i] <= 'f'))) {
			return 0;
		}
	}
	return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

int
pv_name_valid(const char *s)
{
	size_t i, n;

	if (s == NULL || (n = strlen(s)) == 0 || n > PV_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return s[0] != '.' && s[0] != '-';
}
