/*
 * secret.c: wiping and constant-time comparison for keys, TOTP seeds,
 * data keys and PAM replies.  Every secret is freed through these.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/common.h"

void
pv_secret_wipe(void *p, size_t len)
{
	if (p != NULL && len > 0)
		OPENSSL_cleanse(p, len);
}

void
pv_secret_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, len);
	free(p);
}

void
pv_secret_freestr(char *s)
{
	if (s == NULL)
		return;
	pv_secret_free(s, strlen(s));
}

int
pv_secret_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}
