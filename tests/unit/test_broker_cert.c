/*
 * test_broker_cert.c: certificates parsed back field by field (the wire
 * layout of PROTOCOL.certkeys), the CA signature verified, refusals.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "broker/broker.h"

#define SID "0c97775d-9d61-4767-91bc-f8d1cc02d65a"

static EVP_PKEY *
gen_key(void)
{
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);

	assert_non_null(c);
	assert_int_equal(EVP_PKEY_keygen_init(c), 1);
	assert_int_equal(EVP_PKEY_keygen(c, &k), 1);
	EVP_PKEY_CTX_free(c);
	return k;
}

static void
get_str(struct pv_buf *b, const char *want)
{
	char *s = NULL;

	assert_int_equal(pv_buf_get_cstring(b, &s, NULL), 0);
	assert_string_equal(s, want);
	free(s);
}

static void
check_cert(EVP_PKEY *ca, const uint8_t *blob, size_t len,
    const struct broker_cert_req *req)
{
	struct pv_buf *b = pv_buf_from(blob, len), *sub;
	const uint8_t *p, *sig;
	size_t plen, siglen, signed_len;
	uint64_t u64;
	uint32_t u32;
	EVP_MD_CTX *md;
	EVP_PKEY *capub;
	uint8_t raw[32];
	size_t rawlen = sizeof(raw);

	get_str(b, BROKER_CERT_TYPE);
	assert_int_equal(pv_buf_get_string_direct(b, &p, &plen), 0);
	assert_int_equal(plen, BROKER_CERT_NONCE_LEN);
	assert_int_equal(pv_buf_get_string_direct(b, &p, &plen), 0);
	assert_int_equal(plen, 32);
	assert_memory_equal(p, req->pubkey, 32);
	assert_int_equal(pv_buf_get_u64(b, &u64), 0);
	assert_int_equal(u64, req->serial);
	assert_int_equal(pv_buf_get_u32(b, &u32), 0);
	assert_int_equal(u32, 1); /* user */
	get_str(b, "provost:" SID ":alice");
	/* Principals: exactly one. */
	assert_int_equal(pv_buf_get_string_direct(b, &p, &plen), 0);
	sub = pv_buf_from(p, plen);
	get_str(sub, req->principal);
	assert_int_equal(pv_buf_len(sub), 0);
	pv_buf_free(sub);
	assert_int_equal(pv_buf_get_u64(b, &u64), 0);
	assert_int_equal(u64, (uint64_t)req->now - 30);
	assert_int_equal(pv_buf_get_u64(b, &u64), 0);
	assert_int_equal(u64, (uint64_t)req->now + req->lifetime);
	/* Critical options: source-address only. */
	assert_int_equal(pv_buf_get_string_direct(b, &p, &plen), 0);
	sub = pv_buf_from(p, plen);
	get_str(sub, "source-address");
	assert_int_equal(pv_buf_get_string_direct(sub, &p, &plen), 0);
	assert_int_equal(pv_buf_len(sub), 0);
	pv_buf_free(sub);
	sub = pv_buf_from(p, plen);
	get_str(sub, req->source_address);
	pv_buf_free(sub);
	/* Extensions: permit-pty (empty data) or nothing. */
	assert_int_equal(pv_buf_get_string_direct(b, &p, &plen), 0);
	sub = pv_buf_from(p, plen);
	if (req->permit_pty) {
		get_str(sub, "permit-pty");
		assert_int_equal(pv_buf_get_string_direct(sub, &p, &plen), 0);
		assert_int_equal(plen, 0);
	}
	assert_int_equal(pv_buf_len(sub), 0);
	pv_buf_free(sub);
	assert_int_equal(pv_buf_get_string_direct(b, &p, &plen), 0);
	assert_int_equal(plen, 0); /* reserved */
	/* The signature key is the CA. */
	assert_int_equal(pv_buf_get_string_direct(b, &p, &plen), 0);
	assert_int_equal(broker_ed25519_from_blob(p, plen, raw), 0);
	{
		uint8_t want[32];

		assert_int_equal(
		    EVP_PKEY_get_raw_public_key(ca, want, &rawlen), 1);
		assert_memory_equal(raw, want, 32);
	}
	signed_len = len - pv_buf_len(b);
	assert_int_equal(pv_buf_get_string_direct(b, &p, &plen), 0);
	assert_int_equal(pv_buf_len(b), 0);
	pv_buf_free(b);
	b = pv_buf_from(p, plen);
	get_str(b, "ssh-ed25519");
	assert_int_equal(pv_buf_get_string_direct(b, &sig, &siglen), 0);
	assert_int_equal(siglen, 64);
	capub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32);
	assert_non_null(capub);
	md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, NULL, NULL, capub), 1);
	assert_int_equal(
	    EVP_DigestVerify(md, sig, siglen, blob, signed_len), 1);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(capub);
	pv_buf_free(b);
}

static void
test_cert_fields(void **state)
{
	EVP_PKEY *ca = gen_key(), *eph = gen_key();
	uint8_t pub[32];
	size_t publen = sizeof(pub);
	struct pv_buf *out = pv_buf_new(65536);
	int pty;

	(void)state;
	assert_int_equal(EVP_PKEY_get_raw_public_key(eph, pub, &publen), 1);
	for (pty = 0; pty <= 1; pty++) {
		struct broker_cert_req req = {
			.pubkey = pub,
			.serial = 77 + (uint64_t)pty,
			.session_id = SID,
			.engineer = "alice",
			.principal = "postgres",
			.now = 1800000000,
			.lifetime = 120,
			.source_address = "10.0.0.5/32",
			.permit_pty = pty,
		};

		pv_buf_reset(out);
		assert_int_equal(broker_cert_mint(ca, &req, out), 0);
		check_cert(ca, pv_buf_ptr(out), pv_buf_len(out), &req);
	}
	pv_buf_free(out);
	EVP_PKEY_free(ca);
	EVP_PKEY_free(eph);
}

static void
test_cert_refusals(void **state)
{
	static const char *bad_principals[] = { "", "*", "a*", "r?ot", "a,b",
		"[ab]", "!x", "Root", "a b", NULL };
	static const char *bad_sources[] = { "", ",", "1.2.3.4,", "a b",
		"1.2.3.4;rm", NULL };
	EVP_PKEY *ca = gen_key();
	uint8_t pub[32] = { 1 };
	struct pv_buf *out = pv_buf_new(65536);
	struct broker_cert_req req = {
		.pubkey = pub,
		.serial = 1,
		.session_id = SID,
		.engineer = "alice",
		.principal = "postgres",
		.now = 1800000000,
		.lifetime = 120,
		.source_address = "10.0.0.5/32",
	};
	struct broker_cert_req bad;
	int i;

	(void)state;
	pv_log_set_level(PV_LOG_ERROR + 0);
	for (i = 0; bad_principals[i] != NULL; i++) {
		bad = req;
		bad.principal = bad_principals[i];
		assert_int_equal(
		    broker_cert_mint(ca, &bad, out), PV_ERR_INVALID);
	}
	bad = req;
	bad.principal = NULL;
	assert_int_equal(broker_cert_mint(ca, &bad, out), PV_ERR_INVALID);
	for (i = 0; bad_sources[i] != NULL; i++) {
		bad = req;
		bad.source_address = bad_sources[i];
		assert_int_equal(
		    broker_cert_mint(ca, &bad, out), PV_ERR_INVALID);
	}
	bad = req;
	bad.lifetime = 0;
	assert_int_equal(broker_cert_mint(ca, &bad, out), PV_ERR_INVALID);
	bad = req;
	bad.session_id = "not-a-uuid";
	assert_int_equal(broker_cert_mint(ca, &bad, out), PV_ERR_INVALID);
	bad = req;
	bad.engineer = "Alice";
	assert_int_equal(broker_cert_mint(ca, &bad, out), PV_ERR_INVALID);
	/* Nothing was appended by any refused request. */
	assert_int_equal(pv_buf_len(out), 0);
	pv_buf_free(out);
	EVP_PKEY_free(ca);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cert_fields),
		cmocka_unit_test(test_cert_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
