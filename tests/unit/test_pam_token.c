/*
 * test_pam_token.c: the pvt1 token (issue, verify: one table line per way
 * a token can be wrong), the payload codec and the nonce replay cache.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "pvt/pvt.h"

#define SID "0b6f1c2e-3d4a-4b5c-8d6e-7f8091a2b3c4"
#define GID "1c2d3e4f-5a6b-4c7d-9e8f-a0b1c2d3e4f5"

struct keys {
	EVP_PKEY *key, *other;
	int64_t now;
};

enum mutation {
	M_NONE = 0,
	M_OTHER_KEY,
	M_FLIP_SIG,
	M_FLIP_PAYLOAD,
	M_CUT_SIG,
	M_CUT_PAYLOAD,
	M_CUT_ONE,
	M_CUT_TWO,
	M_OVERSIZE,
	M_BAD_B64,
	M_PAD,
	M_VERSION,
	M_FAKE_PASSWORD,
	M_EMPTY,
	M_NUL,
	M_EXTRA_DOT,
	M_TRAILING_BYTE,
	M_BAD_NAME,
	M_LONG_LIFE,
	M_ZERO_SESSION,
};

static const struct {
	const char *name;
	int64_t nb_off; /* not_before = now + nb_off */
	uint64_t life;
	const char *account; /* what the verifier expects */
	const char *target;
	enum mutation m;
	int want;
	enum pvt_reason why;
} cases[] = {
	{ "valid", 0, 120, "postgres", "db01", M_NONE, PV_ALLOW, PVT_OK },
	{ "expired but within skew", -150, 120, "postgres", "db01", M_NONE,
	    PV_ALLOW, PVT_OK },
	{ "expired", -1000, 120, "postgres", "db01", M_NONE, PV_DENY,
	    PVT_E_EXPIRED },
	{ "expired at skew edge", -180, 120, "postgres", "db01", M_NONE,
	    PV_DENY, PVT_E_EXPIRED },
	{ "not yet valid", 1000, 120, "postgres", "db01", M_NONE, PV_DENY,
	    PVT_E_NOT_YET },
	{ "early within skew", 60, 120, "postgres", "db01", M_NONE, PV_ALLOW,
	    PVT_OK },
	{ "early past skew", 61, 120, "postgres", "db01", M_NONE, PV_DENY,
	    PVT_E_NOT_YET },
	{ "wrong account", 0, 120, "root", "db01", M_NONE, PV_DENY,
	    PVT_E_ACCOUNT },
	{ "wrong target", 0, 120, "postgres", "db02", M_NONE, PV_DENY,
	    PVT_E_TARGET },
	{ "signed by another key", 0, 120, "postgres", "db01", M_OTHER_KEY,
	    PV_DENY, PVT_E_SIGNATURE },
	{ "bad signature", 0, 120, "postgres", "db01", M_FLIP_SIG, PV_DENY,
	    PVT_E_SIGNATURE },
	{ "payload edited", 0, 120, "postgres", "db01", M_FLIP_PAYLOAD, PV_DENY,
	    PVT_E_SIGNATURE },
	{ "truncated: no signature", 0, 120, "postgres", "db01", M_CUT_SIG,
	    PV_DENY, PVT_E_FORMAT },
	{ "truncated in payload", 0, 120, "postgres", "db01", M_CUT_PAYLOAD,
	    PV_DENY, PVT_E_FORMAT },
	{ "truncated by one", 0, 120, "postgres", "db01", M_CUT_ONE, PV_DENY,
	    PVT_E_BASE64 },
	{ "truncated by two", 0, 120, "postgres", "db01", M_CUT_TWO, PV_DENY,
	    PVT_E_FORMAT },
	{ "oversize", 0, 120, "postgres", "db01", M_OVERSIZE, PV_DENY,
	    PVT_E_TOO_LONG },
	{ "bad base64", 0, 120, "postgres", "db01", M_BAD_B64, PV_DENY,
	    PVT_E_BASE64 },
	{ "padded base64", 0, 120, "postgres", "db01", M_PAD, PV_DENY,
	    PVT_E_BASE64 },
	{ "wrong version prefix", 0, 120, "postgres", "db01", M_VERSION,
	    PV_DENY, PVT_E_VERSION },
	{ "sshd invalid-user password", 0, 120, "postgres", "db01",
	    M_FAKE_PASSWORD, PV_DENY, PVT_E_FORMAT },
	{ "empty", 0, 120, "postgres", "db01", M_EMPTY, PV_DENY, PVT_E_FORMAT },
	{ "NUL inside", 0, 120, "postgres", "db01", M_NUL, PV_DENY,
	    PVT_E_BASE64 },
	{ "three dots", 0, 120, "postgres", "db01", M_EXTRA_DOT, PV_DENY,
	    PVT_E_FORMAT },
	{ "signed payload with trailing byte", 0, 120, "postgres", "db01",
	    M_TRAILING_BYTE, PV_DENY, PVT_E_PAYLOAD },
	{ "signed payload with bad name", 0, 120, "postgres", "db01",
	    M_BAD_NAME, PV_DENY, PVT_E_PAYLOAD },
	{ "signed payload with lifetime over max", 0, 120, "postgres", "db01",
	    M_LONG_LIFE, PV_DENY, PVT_E_PAYLOAD },
	{ "signed payload with zero session", 0, 120, "postgres", "db01",
	    M_ZERO_SESSION, PV_DENY, PVT_E_PAYLOAD },
};

static int
setup(void **state)
{
	struct keys *k = calloc(1, sizeof(*k));

	assert_non_null(k);
	assert_int_equal(pv_sshkey_generate_ed25519(&k->key), 0);
	assert_int_equal(pv_sshkey_generate_ed25519(&k->other), 0);
	k->now = (int64_t)time(NULL);
	*state = k;
	return 0;
}

static int
teardown(void **state)
{
	struct keys *k = *state;

	EVP_PKEY_free(k->key);
	EVP_PKEY_free(k->other);
	free(k);
	return 0;
}

/* "pvt1." b64(payload) "." b64(sig): a token from raw payload bytes. */
static char *
sign_raw(EVP_PKEY *key, const uint8_t *p, size_t len)
{
	uint8_t sig[PVT_SIG_LEN];
	char *p64 = NULL, *s64 = NULL, *tok;
	size_t n;

	assert_int_equal(pv_b64_encode(p, len, 1, &p64), 0);
	n = strlen(PVT_PREFIX) + strlen(p64) + 1 + 86 + 1;
	tok = malloc(n);
	assert_non_null(tok);
	assert_true(snprintf(tok, n, "%s%s", PVT_PREFIX, p64) > 0);
	assert_int_equal(pv_ed25519_sign(key, tok, strlen(tok), sig), 0);
	assert_int_equal(pv_b64_encode(sig, sizeof(sig), 1, &s64), 0);
	assert_true(
	    snprintf(tok + strlen(tok), n - strlen(tok), ".%s", s64) > 0);
	free(p64);
	free(s64);
	return tok;
}

static char *
make_token(const struct keys *k, size_t i, size_t *len)
{
	struct pvt_claims c;
	struct pv_buf *b;
	char *tok = NULL, *big;
	size_t n, life_off;

	assert_int_equal(
	    pvt_claims_init(&c, "alice", "postgres", "db01", SID, GID, 42,
		k->now + cases[i].nb_off, (uint32_t)cases[i].life),
	    0);
	if (cases[i].m >= M_TRAILING_BYTE) {
		b = pv_buf_new(1024);
		assert_non_null(b);
		assert_int_equal(pvt_payload_encode(&c, b), 0);
		n = pv_buf_len(b);
		big = calloc(1, n + 1);
		assert_non_null(big);
		memcpy(big, pv_buf_ptr(b), n);
		life_off = 1 + strlen("postgres") + 1 + strlen("db01") + 1 +
		    strlen("alice") + 8;
		if (cases[i].m == M_TRAILING_BYTE)
			n++;
		else if (cases[i].m == M_BAD_NAME)
			big[1] = '/'; /* "/ostgres" */
		else if (cases[i].m == M_LONG_LIFE)
			big[life_off + 2] = 0x0e, big[life_off + 3] = 0x11;
		else if (cases[i].m == M_ZERO_SESSION)
			memset(big + n - 32, 0, 16);
		tok = sign_raw(k->key, (uint8_t *)big, n);
		free(big);
		pv_buf_free(b);
		*len = strlen(tok);
		return tok;
	}
	assert_int_equal(
	    pvt_issue(cases[i].m == M_OTHER_KEY ? k->other : k->key, &c, &tok),
	    0);
	n = strlen(tok);
	switch (cases[i].m) {
	case M_FLIP_SIG:
		tok[n - 20] = tok[n - 20] == 'A' ? 'B' : 'A';
		break;
	case M_FLIP_PAYLOAD:
		tok[10] = tok[10] == 'A' ? 'B' : 'A';
		break;
	case M_CUT_SIG:
		n = (size_t)(strrchr(tok, '.') - tok) + 1;
		break;
	case M_CUT_PAYLOAD:
		n = 20;
		break;
	case M_CUT_ONE:
		n -= 1;
		break;
	case M_CUT_TWO:
		n -= 2;
		break;
	case M_OVERSIZE:
		big = calloc(1, PVT_TOKEN_MAX + 2);
		assert_non_null(big);
		memcpy(big, tok, n);
		memset(big + n, 'A', PVT_TOKEN_MAX + 1 - n);
		free(tok);
		tok = big;
		n = PVT_TOKEN_MAX + 1;
		break;
	case M_BAD_B64:
		tok[8] = '*';
		break;
	case M_PAD:
		big = calloc(1, n + 3);
		assert_non_null(big);
		assert_int_equal(snprintf(big, n + 3, "%s==", tok), (int)n + 2);
		free(tok);
		tok = big;
		n += 2;
		break;
	case M_VERSION:
		tok[3] = '2';
		break;
	case M_FAKE_PASSWORD:
		n = strlen("\b\n\r\177INCORRECT");
		memcpy(tok, "\b\n\r\177INCORRECT", n);
		break;
	case M_EMPTY:
		n = 0;
		break;
	case M_NUL:
		tok[12] = '\0';
		break;
	case M_EXTRA_DOT:
		big = calloc(1, n + 3);
		assert_non_null(big);
		assert_int_equal(snprintf(big, n + 3, "%s.x", tok), (int)n + 2);
		free(tok);
		tok = big;
		n += 2;
		break;
	default:
		break;
	}
	*len = n;
	return tok;
}

static void
test_verify_table(void **state)
{
	const struct keys *k = *state;
	struct pvt_claims out;
	enum pvt_reason why;
	size_t i, len;
	char *tok;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pvt_expect want = {
			.account = cases[i].account,
			.target = cases[i].target,
			.now = k->now,
			.skew = 60,
		};

		tok = make_token(k, i, &len);
		r = pvt_verify(tok, len, k->key, &want, &out, &why);
		if (r != cases[i].want || why != cases[i].why)
			fail_msg("case \"%s\": got %d (%s), want %d (%s)",
			    cases[i].name, r, pvt_reason_str(why),
			    cases[i].want, pvt_reason_str(cases[i].why));
		if (r == PV_ALLOW) {
			assert_string_equal(out.engineer, "alice");
			assert_string_equal(out.session_id, SID);
			assert_string_equal(out.grant_id, GID);
			assert_int_equal(out.serial, 42);
		} else {
			assert_string_equal(out.account, ""); /* wiped */
		}
		free(tok);
	}
}

static void
test_payload_roundtrip(void **state)
{
	const struct keys *k = *state;
	struct pvt_claims a, b;
	struct pv_buf *buf = pv_buf_new(PVT_PAYLOAD_MAX);
	char longname[PVT_NAME_MAX + 1], longacct[PVT_ACCOUNT_MAX + 1];

	memset(longname, 'n', PVT_NAME_MAX);
	longname[PVT_NAME_MAX] = '\0';
	memset(longacct, 'a', PVT_ACCOUNT_MAX);
	longacct[PVT_ACCOUNT_MAX] = '\0';
	assert_non_null(buf);
	/* The largest token still fits the limits. */
	assert_int_equal(pvt_claims_init(&a, longname, longacct, longname, SID,
			     NULL, UINT64_MAX, k->now, PVT_LIFETIME_MAX),
	    0);
	assert_int_equal(pvt_payload_encode(&a, buf), 0);
	assert_true(pv_buf_len(buf) <= PVT_PAYLOAD_MAX);
	assert_int_equal(
	    pvt_payload_decode(pv_buf_ptr(buf), pv_buf_len(buf), &b), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_string_equal(b.grant_id, "");
	{
		char *tok = NULL;

		assert_int_equal(pvt_issue(k->key, &a, &tok), 0);
		assert_true(strlen(tok) <= PVT_TOKEN_MAX);
		pv_secret_freestr(tok);
	}
	/* Every shorter prefix of the payload is refused. */
	while (pv_buf_len(buf) > 0) {
		assert_int_equal(pv_buf_consume_end(buf, 1), 0);
		assert_int_not_equal(
		    pvt_payload_decode(pv_buf_ptr(buf), pv_buf_len(buf), &b),
		    0);
	}
	pv_buf_free(buf);
}

static void
test_claims_init_checks(void **state)
{
	const struct keys *k = *state;
	struct pvt_claims c, d;

	assert_int_equal(pvt_claims_init(&c, "alice", "postgres", "db01", SID,
			     "", 1, k->now, 120),
	    0);
	assert_int_equal(pvt_claims_init(&d, "alice", "postgres", "db01", SID,
			     "", 1, k->now, 120),
	    0);
	assert_memory_not_equal(c.nonce, d.nonce, PVT_NONCE_LEN);
	assert_int_equal(c.not_after - c.not_before, 120);
	assert_int_not_equal(pvt_claims_init(&c, "al ice", "postgres", "db01",
				 SID, NULL, 1, k->now, 120),
	    0);
	assert_int_not_equal(pvt_claims_init(&c, "alice", "-rf", "db01", SID,
				 NULL, 1, k->now, 120),
	    0);
	assert_int_not_equal(pvt_claims_init(&c, "alice", "postgres", "db/01",
				 SID, NULL, 1, k->now, 120),
	    0);
	assert_int_not_equal(pvt_claims_init(&c, "alice", "postgres", "db01",
				 "not-a-uuid", NULL, 1, k->now, 120),
	    0);
	assert_int_not_equal(pvt_claims_init(&c, "alice", "postgres", "db01",
				 SID, "x", 1, k->now, 120),
	    0);
	assert_int_equal(pvt_claims_init(&c, "alice", "postgres", "db01", SID,
			     NULL, 1, k->now, 0),
	    PV_ERR_RANGE);
	assert_int_equal(pvt_claims_init(&c, "alice", "postgres", "db01", SID,
			     NULL, 1, k->now, PVT_LIFETIME_MAX + 1),
	    PV_ERR_RANGE);
	assert_string_equal(c.account, ""); /* cleared on failure */
}

static void
test_reason_strings(void **state)
{
	int i;

	(void)state;
	for (i = PVT_OK; i <= PVT_E_KEY; i++)
		assert_string_not_equal(
		    pvt_reason_str((enum pvt_reason)i), "unknown reason");
	assert_string_equal(
	    pvt_reason_str((enum pvt_reason)999), "unknown reason");
}

static void
test_missing_key_file(void **state)
{
	EVP_PKEY *pub = (EVP_PKEY *)1;

	(void)state;
	assert_int_equal(pv_sshkey_load_public("/nonexistent/token.pub", &pub),
	    PV_ERR_NOT_FOUND);
	assert_null(pub);
}

static void
test_nonce_cache(void **state)
{
	const struct keys *k = *state;
	char dir[] = "/tmp/pvt-nonce.XXXXXX", path[128], sub[160];
	uint8_t n1[PVT_NONCE_LEN], n2[PVT_NONCE_LEN];
	enum pvt_reason why;
	struct stat st;
	char hex[2 * PVT_NONCE_LEN + 1];

	assert_non_null(mkdtemp(dir));
	assert_true(snprintf(sub, sizeof(sub), "%s/cache", dir) > 0);
	memset(n1, 0x11, sizeof(n1));
	memset(n2, 0x22, sizeof(n2));
	/* The directory is created 0700 on first use. */
	assert_int_equal(
	    pvt_nonce_claim(sub, n1, k->now + 120, k->now, &why), PV_ALLOW);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(pvt_nonce_seen(sub, n1), PV_ALLOW);
	assert_int_equal(pvt_nonce_seen(sub, n2), PV_DENY);
	/* Replay. */
	assert_int_equal(
	    pvt_nonce_claim(sub, n1, k->now + 120, k->now, &why), PV_DENY);
	assert_int_equal(why, PVT_E_REPLAY);
	/* An entry long expired is pruned by the next claim. */
	assert_int_equal(
	    pvt_nonce_claim(sub, n2, k->now - 10000, k->now - 10100, &why),
	    PV_ALLOW);
	assert_int_equal(pv_hex_encode(n2, sizeof(n2), hex, sizeof(hex)), 0);
	assert_true(snprintf(path, sizeof(path), "%s/%s", sub, hex) > 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal((int64_t)st.st_mtime, k->now - 10000);
	memset(n1, 0x33, sizeof(n1));
	assert_int_equal(
	    pvt_nonce_claim(sub, n1, k->now + 120, k->now, &why), PV_ALLOW);
	assert_int_not_equal(stat(path, &st), 0);
	assert_int_equal(pvt_nonce_seen(sub, n2), PV_DENY);
	/* A cache others may write to is refused. */
	assert_int_equal(chmod(sub, 0777), 0);
	memset(n1, 0x44, sizeof(n1));
	assert_int_equal(
	    pvt_nonce_claim(sub, n1, k->now + 120, k->now, &why), PV_ERR_PERM);
	assert_int_equal(why, PVT_E_CACHE);
	assert_int_equal(pvt_nonce_seen(sub, n1), PV_ERR_PERM);
	assert_true(snprintf(path, sizeof(path), "rm -rf '%s'", dir) > 0);
	assert_int_equal(system(path), 0);
}

static void
test_revlist_seq_guard(void **state)
{
	char dir[] = "/tmp/pvt-seq.XXXXXX", path[128];
	uint64_t seen = 1;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(pvt_revlist_seq_check(dir, 5, &seen), PV_ALLOW);
	assert_int_equal(seen, 0); /* nothing seen before */
	assert_int_equal(pvt_revlist_seq_check(dir, 5, &seen), PV_ALLOW);
	assert_int_equal(seen, 5);
	assert_int_equal(pvt_revlist_seq_check(dir, 4, &seen), PV_DENY);
	assert_int_equal(seen, 5);
	assert_int_equal(pvt_revlist_seq_check(dir, 9, &seen), PV_ALLOW);
	assert_int_equal(pvt_revlist_seq_check(dir, 5, &seen), PV_DENY);
	assert_int_equal(seen, 9);
	/* A damaged record refuses until someone deletes it. */
	assert_true(snprintf(path, sizeof(path), "%s/revlist.seq", dir) > 0);
	assert_non_null(f = fopen(path, "w"));
	assert_true(fputs("nine\n", f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(pvt_revlist_seq_check(dir, 10, &seen), PV_ERR_INVALID);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(pvt_revlist_seq_check(dir, 1, &seen), PV_ALLOW);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify_table),
		cmocka_unit_test(test_payload_roundtrip),
		cmocka_unit_test(test_claims_init_checks),
		cmocka_unit_test(test_reason_strings),
		cmocka_unit_test(test_missing_key_file),
		cmocka_unit_test(test_nonce_cache),
		cmocka_unit_test(test_revlist_seq_guard),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
