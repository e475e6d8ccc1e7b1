/*
 * fuzz_cert.c: certificate requests built from fuzzed principal, source
 * address and engineer; whatever is signed must hold exactly that one valid
 * principal.  Also feeds raw bytes to the Ed25519 key blob parser.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "broker/broker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
field(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memcpy(s, *p, n);
	s[n] = '\0';
	*p += n + (nl ? 1 : 0);
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t seed[32] = { 7, 7, 7 };
	uint8_t pub[BROKER_ED25519_LEN] = { 1 };
	const uint8_t *p = data, *end = data + size, *s;
	struct pv_buf *out, *b, *sub;
	char *principal, *source, *engineer, *got = NULL;
	size_t slen;
	EVP_PKEY *ca;

	(void)broker_ed25519_from_blob(data, size, pub);
	if (size > 4096)
		return 0;
	principal = field(&p, end);
	source = field(&p, end);
	engineer = field(&p, end);
	ca = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	out = pv_buf_new(65536);
	if (ca == NULL || out == NULL)
		abort();
	struct broker_cert_req req = {
		.pubkey = pub,
		.serial = size,
		.session_id = "0c97775d-9d61-4767-91bc-f8d1cc02d65a",
		.engineer = engineer,
		.principal = principal,
		.now = 1800000000,
		.lifetime = 120,
		.source_address = source,
		.permit_pty = size & 1,
	};
	pv_log_set_level(PV_LOG_ERROR);
	if (broker_cert_mint(ca, &req, out) == 0) {
		if (!broker_principal_valid(principal))
			abort();
		/* Skip type, nonce, key, serial, type, key id: principals. */
		b = pv_buf_from(pv_buf_ptr(out), pv_buf_len(out));
		if (b == NULL || pv_buf_get_string_direct(b, &s, &slen) != 0 ||
		    pv_buf_get_string_direct(b, &s, &slen) != 0 ||
		    pv_buf_get_string_direct(b, &s, &slen) != 0 ||
		    pv_buf_consume(b, 12) != 0 ||
		    pv_buf_get_string_direct(b, &s, &slen) != 0 ||
		    pv_buf_get_string_direct(b, &s, &slen) != 0)
			abort();
		sub = pv_buf_from(s, slen);
		if (sub == NULL || pv_buf_get_cstring(sub, &got, NULL) != 0 ||
		    strcmp(got, principal) != 0 || pv_buf_len(sub) != 0)
			abort();
		free(got);
		pv_buf_free(sub);
		pv_buf_free(b);
	} else if (pv_buf_len(out) != 0) {
		abort(); /* a refusal leaves nothing behind */
	}
	pv_buf_free(out);
	EVP_PKEY_free(ca);
	free(principal);
	free(source);
	free(engineer);
	return 0;
}
