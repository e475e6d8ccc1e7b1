/*
 * fuzz_pvt_token.c: pvt1 token parsing and verifying with a fixed key: the
 * input as a token, and as a payload signed with that key (past the check).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "pvt/pvt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fixed Ed25519 seed: the fuzzer needs a key, not a secret. */
static const uint8_t fuzz_seed[32] = { 0x70, 0x72, 0x6f, 0x76, 0x6f, 0x73, 0x74,
	0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x74, 0x6f, 0x6b, 0x65, 0x6e, 0x2d,
	0x6b, 0x65, 0x79, 0x2d, 0x73, 0x65, 0x65, 0x64, 0x2d, 0x30, 0x30, 0x30,
	0x31 };

static EVP_PKEY *
fuzz_key(void)
{
	static EVP_PKEY *key;

	if (key == NULL)
		key = EVP_PKEY_new_raw_private_key(
		    EVP_PKEY_ED25519, NULL, fuzz_seed, sizeof(fuzz_seed));
	if (key == NULL)
		abort();
	return key;
}

static void
check_token(const char *tok, size_t len)
{
	struct pvt_expect want = {
		.account = "postgres",
		.target = "db01",
		.now = 1795800000,
		.skew = 60,
	};
	struct pvt_claims c;
	enum pvt_reason why;
	int r;

	r = pvt_verify(tok, len, fuzz_key(), &want, &c, &why);
	if (r == PV_ALLOW &&
	    (strcmp(c.account, "postgres") != 0 ||
		strcmp(c.target, "db01") != 0 || c.not_after <= c.not_before))
		abort();
	if (r != PV_ALLOW && r != PV_DENY)
		abort();
	(void)pvt_reason_str(why);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pvt_claims c;
	struct pv_buf *b;
	uint8_t sig[PVT_SIG_LEN];
	char *p64 = NULL, *s64 = NULL, tok[PVT_TOKEN_MAX * 2];
	size_t n;

	check_token((const char *)data, size);
	if (size > PVT_PAYLOAD_MAX)
		return 0;
	/* A decoded payload encodes back to the same bytes. */
	if (pvt_payload_decode(data, size, &c) == 0) {
		if ((b = pv_buf_new(PVT_PAYLOAD_MAX)) == NULL)
			abort();
		if (pvt_payload_encode(&c, b) != 0 || pv_buf_len(b) != size ||
		    memcmp(pv_buf_ptr(b), data, size) != 0)
			abort();
		pv_buf_free(b);
	}
	/* The input as a payload, signed: reaches every later check. */
	if (pv_b64_encode(data, size, 1, &p64) != 0)
		return 0;
	n = strlen(PVT_PREFIX) + strlen(p64);
	if (n + 1 + 86 < sizeof(tok)) {
		memcpy(tok, PVT_PREFIX, strlen(PVT_PREFIX));
		memcpy(tok + strlen(PVT_PREFIX), p64, strlen(p64));
		if (pv_ed25519_sign(fuzz_key(), tok, n, sig) == 0 &&
		    pv_b64_encode(sig, sizeof(sig), 1, &s64) == 0) {
			tok[n] = '.';
			memcpy(tok + n + 1, s64, strlen(s64));
			check_token(tok, n + 1 + strlen(s64));
		}
	}
	free(p64);
	free(s64);
	return 0;
}
