/*
 * test_pam_revlist.c: the signed revocation list: build, sign, parse back,
 * refuse what is revoked, and refuse any list that is not exactly right.
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
#define SID2 "9b6f1c2e-3d4a-4b5c-8d6e-7f8091a2b3c4"
#define GID "1c2d3e4f-5a6b-4c7d-9e8f-a0b1c2d3e4f5"

struct keys {
	EVP_PKEY *key, *other;
	char *list;
	size_t len;
};

static int
setup(void **state)
{
	struct keys *k = calloc(1, sizeof(*k));
	struct pvt_revlist *rl;

	assert_non_null(k);
	assert_int_equal(pv_sshkey_generate_ed25519(&k->key), 0);
	assert_int_equal(pv_sshkey_generate_ed25519(&k->other), 0);
	assert_non_null(rl = pvt_revlist_new());
	/* Out of order and with a duplicate: signing sorts and merges. */
	assert_int_equal(pvt_revlist_add_serial(rl, 99), 0);
	assert_int_equal(pvt_revlist_add(rl, PVT_REV_ENGINEER, "mallory"), 0);
	assert_int_equal(pvt_revlist_add(rl, PVT_REV_ENGINEER, "eve"), 0);
	assert_int_equal(pvt_revlist_add(rl, PVT_REV_ENGINEER, "mallory"), 0);
	assert_int_equal(pvt_revlist_add(rl, PVT_REV_ACCOUNT, "oracle"), 0);
	assert_int_equal(pvt_revlist_add(rl, PVT_REV_SESSION, SID2), 0);
	assert_int_equal(pvt_revlist_add(rl, PVT_REV_GRANT, GID), 0);
	assert_int_equal(pvt_revlist_add(rl, PVT_REV_SERIAL, "7"), 0);
	assert_int_equal(pvt_revlist_add(rl, PVT_REV_SERIAL, "7"), 0);
	assert_int_not_equal(pvt_revlist_add(rl, PVT_REV_ENGINEER, "a b"), 0);
	assert_int_not_equal(pvt_revlist_add(rl, PVT_REV_SESSION, "x"), 0);
	assert_int_not_equal(pvt_revlist_add(rl, PVT_REV_SERIAL, "-1"), 0);
	assert_int_equal(
	    pvt_revlist_sign(rl, k->key, 1795800000, 12, &k->list, &k->len), 0);
	assert_int_equal(pvt_revlist_count(rl, PVT_REV_ENGINEER), 2);
	assert_int_equal(pvt_revlist_count(rl, PVT_REV_SERIAL), 2);
	pvt_revlist_free(rl);
	*state = k;
	return 0;
}

static int
teardown(void **state)
{
	struct keys *k = *state;

	EVP_PKEY_free(k->key);
	EVP_PKEY_free(k->other);
	free(k->list);
	free(k);
	return 0;
}

static void
test_canonical_text(void **state)
{
	const struct keys *k = *state;
	const char *want = "pvr1\n"
			   "issued-at 1795800000\n"
			   "sequence 12\n"
			   "engineer eve\n"
			   "engineer mallory\n"
			   "account oracle\n"
			   "session " SID2 "\n"
			   "grant " GID "\n"
			   "serial 7\n"
			   "serial 99\n"
			   "sig ";

	assert_int_equal(strncmp(k->list, want, strlen(want)), 0);
	assert_int_equal(k->len, strlen(want) + 86 + 1);
	assert_int_equal(k->list[k->len - 1], '\n');
}

static void
claims(struct pvt_claims *c, const char *eng, const char *acct, const char *sid,
    const char *gid, uint64_t serial)
{
	assert_int_equal(pvt_claims_init(c, eng, acct, "db01", sid, gid, serial,
			     (int64_t)time(NULL), 120),
	    0);
}

static void
test_check(void **state)
{
	const struct keys *k = *state;
	static const struct {
		const char *eng, *acct, *sid, *gid;
		uint64_t serial;
		int want;
		enum pvt_reason why;
	} t[] = {
		{ "alice", "postgres", SID, GID, 1, PV_DENY,
		    PVT_E_REVOKED_GRANT },
		{ "alice", "postgres", SID, NULL, 1, PV_ALLOW, PVT_OK },
		{ "mallory", "postgres", SID, NULL, 1, PV_DENY,
		    PVT_E_REVOKED_ENGINEER },
		{ "eve", "postgres", SID, NULL, 1, PV_DENY,
		    PVT_E_REVOKED_ENGINEER },
		{ "alice", "oracle", SID, NULL, 1, PV_DENY,
		    PVT_E_REVOKED_ACCOUNT },
		{ "alice", "postgres", SID2, NULL, 1, PV_DENY,
		    PVT_E_REVOKED_SESSION },
		{ "alice", "postgres", SID, NULL, 7, PV_DENY,
		    PVT_E_REVOKED_SERIAL },
		{ "alice", "postgres", SID, NULL, 99, PV_DENY,
		    PVT_E_REVOKED_SERIAL },
		{ "alice", "postgres", SID, NULL, 8, PV_ALLOW, PVT_OK },
		{ "mallor", "postgres", SID, NULL, 8, PV_ALLOW, PVT_OK },
	};
	struct pvt_revlist *rl = NULL;
	struct pvt_claims c;
	enum pvt_reason why;
	char err[128];
	size_t i;

	assert_int_equal(pvt_revlist_parse((const uint8_t *)k->list, k->len,
			     k->key, &rl, err, sizeof(err)),
	    0);
	assert_int_equal(pvt_revlist_sequence(rl), 12);
	assert_int_equal(pvt_revlist_issued_at(rl), 1795800000);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		claims(
		    &c, t[i].eng, t[i].acct, t[i].sid, t[i].gid, t[i].serial);
		if (pvt_revlist_check(rl, &c, &why) != t[i].want ||
		    why != t[i].why)
			fail_msg("case %zu: got %s", i, pvt_reason_str(why));
	}
	pvt_revlist_free(rl);
}

/* Signs text (which must end in '\n') as the exporter would. */
static char *
sign_text(EVP_PKEY *key, const char *text)
{
	uint8_t sig[PVT_SIG_LEN];
	char *s64 = NULL, *out;
	size_t n = strlen(text) + 4 + 86 + 2;

	assert_int_equal(pv_ed25519_sign(key, text, strlen(text), sig), 0);
	assert_int_equal(pv_b64_encode(sig, sizeof(sig), 1, &s64), 0);
	out = malloc(n);
	assert_non_null(out);
	assert_true(snprintf(out, n, "%ssig %s\n", text, s64) > 0);
	free(s64);
	return out;
}

static void
test_refused(void **state)
{
	const struct keys *k = *state;
	static const struct {
		const char *name;
		const char *text; /* signed with the key; NULL = see below */
		const char *err;  /* start of the error line */
	} t[] = {
		{ "unknown keyword", "pvr1\nissued-at 5\nsequence 1\nhost x\n",
		    "line 4: unknown keyword" },
		{ "out of order",
		    "pvr1\nissued-at 5\nsequence 1\nengineer b\n"
		    "engineer a\n",
		    "line 5: entries out of canonical order" },
		{ "duplicate",
		    "pvr1\nissued-at 5\nsequence 1\nserial 3\n"
		    "serial 3\n",
		    "line 5: entries out of canonical order" },
		{ "kinds out of order",
		    "pvr1\nissued-at 5\nsequence 1\n"
		    "account a\nengineer b\n",
		    "line 5: entries out of canonical order" },
		{ "wrong magic", "pvr2\nissued-at 5\nsequence 1\n",
		    "line 1: not a provost" },
		{ "no sequence", "pvr1\nissued-at 5\n",
		    "line 2: header incomplete" },
		{ "bad time", "pvr1\nissued-at -5\nsequence 1\n",
		    "line 2: expected issued-at" },
		{ "bad uuid", "pvr1\nissued-at 5\nsequence 1\nsession x\n",
		    "line 4: bad value" },
		{ "CR line end", "pvr1\r\nissued-at 5\nsequence 1\n",
		    "line 1: not a provost" },
		{ "leading zero", "pvr1\nissued-at 5\nsequence 01\n",
		    "line 3: expected sequence" },
		{ "empty value", "pvr1\nissued-at 5\nsequence 1\nserial \n",
		    "line 4: malformed line" },
	};
	struct pvt_revlist *rl = (struct pvt_revlist *)1;
	char err[128], *s;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		s = sign_text(k->key, t[i].text);
		assert_int_not_equal(pvt_revlist_parse((uint8_t *)s, strlen(s),
					 k->key, &rl, err, sizeof(err)),
		    0);
		assert_null(rl);
		if (strncmp(err, t[i].err, strlen(t[i].err)) != 0)
			fail_msg("%s: error \"%s\"", t[i].name, err);
		free(s);
	}
}

static void
test_tampered(void **state)
{
	const struct keys *k = *state;
	struct pvt_revlist *rl = NULL;
	char err[128], *copy = malloc(k->len + 1);
	size_t i;

	assert_non_null(copy);
	/* Signed by another key. */
	assert_int_equal(pvt_revlist_parse((uint8_t *)k->list, k->len, k->other,
			     &rl, err, sizeof(err)),
	    PV_ERR_AUTH);
	assert_string_equal(err, "signature does not verify");
	/* Any single byte changed anywhere. */
	for (i = 0; i < k->len; i++) {
		memcpy(copy, k->list, k->len);
		copy[i] ^= 0x01;
		assert_int_not_equal(pvt_revlist_parse((uint8_t *)copy, k->len,
					 k->key, &rl, err, sizeof(err)),
		    0);
		assert_null(rl);
	}
	/* Every truncation. */
	for (i = 0; i < k->len; i++)
		assert_int_not_equal(pvt_revlist_parse((uint8_t *)k->list, i,
					 k->key, &rl, err, sizeof(err)),
		    0);
	/* A line removed (the revoked engineer mallory) and nothing else. */
	{
		const char *p = strstr(k->list, "engineer mallory\n");
		size_t off = (size_t)(p - k->list),
		       n = strlen("engineer mallory\n");

		memcpy(copy, k->list, off);
		memcpy(copy + off, p + n, k->len - off - n);
		assert_int_equal(pvt_revlist_parse((uint8_t *)copy, k->len - n,
				     k->key, &rl, err, sizeof(err)),
		    PV_ERR_AUTH);
	}
	free(copy);
}

static void
test_load(void **state)
{
	const struct keys *k = *state;
	struct pvt_revlist *rl = NULL;
	char path[] = "/tmp/pvt-revlist.XXXXXX", err[128];
	struct stat st;
	int fd;

	assert_int_equal(pvt_revlist_load("/nonexistent/revoked.list", k->key,
			     &rl, err, sizeof(err)),
	    PV_ERR_NOT_FOUND);
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(pv_write_all(fd, "old\n", 4), 0);
	close(fd);
	/* Replaced in place, readable by the PAM stack of any service. */
	assert_int_equal(pvt_revlist_write_file(path, k->list, k->len), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(st.st_size, k->len);
	assert_int_equal(
	    pvt_revlist_load(path, k->key, &rl, err, sizeof(err)), 0);
	assert_int_equal(
	    pvt_revlist_write_file("/nonexistent/dir/list", k->list, k->len),
	    PV_ERR_IO);
	assert_int_equal(pvt_revlist_count(rl, PVT_REV_GRANT), 1);
	pvt_revlist_free(rl);
	unlink(path);
	pvt_revlist_free(NULL);
}

static void
test_empty_list(void **state)
{
	const struct keys *k = *state;
	struct pvt_revlist *rl = pvt_revlist_new(), *back = NULL;
	struct pvt_claims c;
	enum pvt_reason why;
	char *s = NULL, err[64];
	size_t len = 0;

	assert_non_null(rl);
	assert_int_equal(pvt_revlist_sign(rl, k->key, 5, 0, &s, &len), 0);
	assert_int_equal(pvt_revlist_parse((uint8_t *)s, len, k->key, &back,
			     err, sizeof(err)),
	    0);
	claims(&c, "alice", "postgres", SID, NULL, 0);
	assert_int_equal(pvt_revlist_check(back, &c, &why), PV_ALLOW);
	pvt_revlist_free(rl);
	pvt_revlist_free(back);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical_text),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_empty_list),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
