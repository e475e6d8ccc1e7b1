/*
 * fuzz_pvt_revlist.c: the revocation list reader with a fixed key: the
 * input as a whole list, and as a list body signed with that key.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "pvt/pvt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fuzz_seed[32] = { 0x70, 0x72, 0x6f, 0x76, 0x6f, 0x73, 0x74,
	0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x72, 0x65, 0x76, 0x6c, 0x69, 0x73,
	0x74, 0x2d, 0x6b, 0x65, 0x79, 0x2d, 0x73, 0x65, 0x65, 0x64, 0x2d, 0x30,
	0x31 };

#define FUZZ_SID "0b6f1c2e-3d4a-4b5c-8d6e-7f8091a2b3c4"

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
check_list(const uint8_t *data, size_t size)
{
	struct pvt_revlist *rl = NULL;
	struct pvt_claims c;
	enum pvt_reason why;
	char err[256], *again = NULL;
	size_t len = 0;

	if (pvt_revlist_parse(data, size, fuzz_key(), &rl, err, sizeof(err)) !=
	    0) {
		if (rl != NULL || strlen(err) == 0)
			abort();
		return;
	}
	if (pvt_claims_init(&c, "alice", "postgres", "db01", FUZZ_SID, NULL, 7,
		1795800000, 120) != 0)
		abort();
	(void)pvt_revlist_check(rl, &c, &why);
	/* A list that parsed is canonical: signing it again gives it back. */
	if (pvt_revlist_sign(rl, fuzz_key(), pvt_revlist_issued_at(rl),
		pvt_revlist_sequence(rl), &again, &len) != 0 ||
	    len != size || memcmp(again, data, size) != 0)
		abort();
	free(again);
	pvt_revlist_free(rl);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t sig[PVT_SIG_LEN];
	struct pv_buf *b;
	char *s64 = NULL;

	check_list(data, size);
	if (size == 0 || size > 64 * 1024 || data[size - 1] != '\n')
		return 0;
	if (pv_ed25519_sign(fuzz_key(), data, size, sig) != 0 ||
	    pv_b64_encode(sig, sizeof(sig), 1, &s64) != 0)
		return 0;
	if ((b = pv_buf_new(0)) == NULL)
		abort();
	if (pv_buf_put(b, data, size) != 0 || pv_buf_putf(b, "sig %s\n", s64))
		abort();
	check_list(pv_buf_ptr(b), pv_buf_len(b));
	pv_buf_free(b);
	free(s64);
	return 0;
}
