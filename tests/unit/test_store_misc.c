/*
 * test_store_misc.c: the store's small parts: names, lists, key types
 * (the provostd.conf loader's tests are in test_common_conf.c).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/store-int.h"
#include "store_test_util.h"

static int
approver_count(void *ctx, const struct store_approver *a)
{
	(*(int *)ctx)++;
	if (strcmp(a->name, "sec1") == 0)
		assert_null(a->engineer);
	else
		assert_string_equal(a->engineer, "alice");
	return 0;
}

static int
key_count(void *ctx, const struct store_key *k)
{
	(*(int *)ctx)++;
	assert_string_equal(k->type, "ssh-ed25519");
	assert_string_equal(k->comment, "test-5");
	return 0;
}

static void
test_names_and_small_parts(void **state)
{
	static const struct {
		const char *name;
		int ok;
	} names[] = {
		{ "alice", 1 },
		{ "db-01.prod_x", 1 },
		{ "a", 1 },
		{ "", 0 },
		{ "Alice", 0 },
		{ "al ice", 0 },
		{ "-x", 0 },
		{ ".x", 0 },
		{ "a/b", 0 },
		{ "a@b", 0 },
		{ "a+b", 0 },
		{ "012345678901234567890123456789012345678901234567890123456789"
		  "0123",
		    1 },
		{ "012345678901234567890123456789012345678901234567890123456789"
		  "01234",
		    0 },
	};
	struct store *st;
	char *line = tsu_keyline(5, NULL);
	EVP_PKEY *rsa;
	size_t i;
	int n = 0;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (store_name_valid(names[i].name) != names[i].ok)
			fail_msg("name \"%s\"", names[i].name);
	assert_int_equal(store_name_valid(NULL), 0);
	assert_string_equal(store_auth_name(STORE_AUTH_PAM_TOKEN), "pam-token");
	assert_string_equal(
	    store_grant_state_name(STORE_GRANT_EXPIRED), "expired");
	assert_string_equal(store_grant_state_name(99), "unknown");
	assert_int_equal(store_open(tsu_mem(), &st), 0);
	assert_string_equal(store_errmsg(st), "no details");
	assert_int_equal(tsu_populate(st), 0);
	/* Only Ed25519 signs the audit chain. */
	assert_non_null(
	    rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048));
	assert_int_equal(store_set_audit_key(st, rsa), PV_ERR_INVALID);
	EVP_PKEY_free(rsa);
	assert_int_equal(
	    store_approver_add(st, "admin:t", "sec1", "security", NULL), 0);
	assert_int_equal(
	    store_approver_add(st, "admin:t", "sec2", "security", "alice"), 0);
	assert_int_equal(
	    store_approver_add(st, "admin:t", "sec2", "change", NULL), 0);
	assert_int_equal(
	    store_approver_add(st, "admin:t", "sec2", "change", NULL),
	    PV_ERR_EXISTS);
	assert_int_equal(
	    store_approver_add(st, "admin:t", "sec3", "security", "nobody"),
	    PV_ERR_NOT_FOUND);
	assert_int_equal(store_approver_list(st, approver_count, &n), 0);
	assert_int_equal(n, 3);
	n = 0;
	assert_int_equal(
	    store_engineer_key_add(st, "admin:t", "alice", line, NULL), 0);
	assert_int_equal(
	    store_engineer_key_list(st, "alice", key_count, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_engineer_key_list(st, "nobody", key_count, &n),
	    PV_ERR_NOT_FOUND);
	free(line);
	store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_small_parts),
	};

	pv_log_init("test_store_misc", PV_LOG_STDERR, PV_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
