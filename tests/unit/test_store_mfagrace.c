/*
 * test_store_mfagrace.c: MFAGrace in the store (schema 8): the binding
 * (engineer, key, address), the window, and two handles on one store.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store_test_util.h"

#define T0 1800000000LL

struct fx {
	struct store *st;
	uint8_t k1[51], k2[51];
};

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char *l1, *l2;

	assert_non_null(f);
	assert_int_equal(store_open(tsu_mem(), &f->st), 0);
	assert_int_equal(tsu_populate(f->st), 0);
	l1 = tsu_keyline(1, f->k1);
	l2 = tsu_keyline(2, f->k2);
	assert_non_null(l1);
	assert_non_null(l2);
	free(l1);
	free(l2);
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->st);
	free(f);
	return 0;
}

static int
recent(struct fx *f, const char *who, const uint8_t *k, const char *addr,
    int64_t now, uint64_t grace)
{
	return store_mfa_grace_recent(f->st, who, k, 51, addr, now, grace);
}

/* Each part of the binding, and the window's edges, one line each. */
static void
test_binding(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *who, *addr;
		int64_t at;
		uint64_t grace;
		int key2;
		int want;
	} cases[] = {
		{ "alice", "192.0.2.1", T0 + 10, 600, 0, PV_ALLOW },
		{ "alice", "192.0.2.1", T0, 600, 0, PV_ALLOW },
		{ "alice", "192.0.2.1", T0 + 599, 600, 0, PV_ALLOW },
		/* the window is open below grace, shut at it */
		{ "alice", "192.0.2.1", T0 + 600, 600, 0, PV_DENY },
		{ "alice", "192.0.2.1", T0 + 9000, 600, 0, PV_DENY },
		/* another address, another key, another engineer */
		{ "alice", "192.0.2.2", T0 + 10, 600, 0, PV_DENY },
		{ "alice", "192.0.2.10", T0 + 10, 600, 0, PV_DENY },
		{ "alice", "192.0.2.1", T0 + 10, 600, 1, PV_DENY },
		{ "bob", "192.0.2.1", T0 + 10, 600, 0, PV_DENY },
		{ "nobody", "192.0.2.1", T0 + 10, 600, 0, PV_DENY },
		/* a clock set back: a code from the future is no grace */
		{ "alice", "192.0.2.1", T0 - 1, 600, 0, PV_DENY },
		/* MFAGrace off, or past its 1d bound */
		{ "alice", "192.0.2.1", T0 + 10, 0, 0, PV_DENY },
		{ "alice", "192.0.2.1", T0 + 10, STORE_MFA_GRACE_MAX + 1, 0,
		    PV_DENY },
		{ "alice", "", T0 + 10, 600, 0, PV_DENY },
	};
	size_t i;

	/* nothing noted yet */
	assert_int_equal(
	    recent(f, "alice", f->k1, "192.0.2.1", T0 + 10, 600), PV_DENY);
	assert_int_equal(
	    store_mfa_grace_note(f->st, "alice", f->k1, 51, "192.0.2.1", T0),
	    0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = recent(f, cases[i].who, cases[i].key2 ? f->k2 : f->k1,
		    cases[i].addr, cases[i].at, cases[i].grace);

		if (r != cases[i].want)
			fail_msg("case %zu: %s from %s key%d at T0%+lld: %d, "
				 "want %d",
			    i, cases[i].who, cases[i].addr, cases[i].key2 + 1,
			    (long long)(cases[i].at - T0), r, cases[i].want);
	}
}

/* A later code moves the window; refusals to note change nothing. */
static void
test_note(void **state)
{
	struct fx *f = *state;

	assert_int_equal(
	    store_mfa_grace_note(f->st, "alice", f->k1, 51, "192.0.2.1", T0),
	    0);
	assert_int_equal(store_mfa_grace_note(
			     f->st, "alice", f->k1, 51, "192.0.2.1", T0 + 1000),
	    0);
	assert_int_equal(
	    recent(f, "alice", f->k1, "192.0.2.1", T0 + 1100, 600), PV_ALLOW);
	/* the same key from a second address: two rows, both in force */
	assert_int_equal(store_mfa_grace_note(f->st, "alice", f->k1, 51,
			     "2001:db8::1", T0 + 1000),
	    0);
	assert_int_equal(
	    recent(f, "alice", f->k1, "192.0.2.1", T0 + 1100, 600), PV_ALLOW);
	assert_int_equal(
	    recent(f, "alice", f->k1, "2001:db8::1", T0 + 1100, 600), PV_ALLOW);
	/* no engineer, no key, no address: refused, nothing noted */
	assert_int_equal(
	    store_mfa_grace_note(f->st, "nobody", f->k1, 51, "192.0.2.9", T0),
	    PV_ERR_NOT_FOUND);
	assert_int_equal(
	    store_mfa_grace_note(f->st, "alice", f->k1, 0, "192.0.2.9", T0),
	    PV_ERR_INVALID);
	assert_int_equal(
	    store_mfa_grace_note(f->st, "alice", f->k1, 51, "", T0),
	    PV_ERR_INVALID);
	assert_int_equal(
	    recent(f, "alice", f->k1, "192.0.2.9", T0 + 10, 600), PV_DENY);
	/* a row past the 1d bound is pruned when the engineer notes again */
	assert_int_equal(
	    recent(f, "alice", f->k1, "192.0.2.1",
		T0 + 1000 + STORE_MFA_GRACE_MAX - 1, STORE_MFA_GRACE_MAX),
	    PV_ALLOW);
	assert_int_equal(store_mfa_grace_note(f->st, "alice", f->k2, 51,
			     "192.0.2.1", T0 + 1000 + STORE_MFA_GRACE_MAX + 1),
	    0);
	assert_int_equal(
	    recent(f, "alice", f->k1, "192.0.2.1",
		T0 + 1000 + STORE_MFA_GRACE_MAX - 1, STORE_MFA_GRACE_MAX),
	    PV_DENY);
	assert_int_equal(recent(f, "alice", f->k2, "192.0.2.1",
			     T0 + 1000 + STORE_MFA_GRACE_MAX + 2, 600),
	    PV_ALLOW);
}

/*
 * Two handles on one store, as two brokers: a code accepted through one
 * is honoured through the other, with the same binding.
 */
static void
test_two_handles(void **state)
{
	struct store *a = NULL, *b = NULL;
	char dir[256], path[300];
	const char *where;
	uint8_t k[51];
	char *l = tsu_keyline(1, k);

	(void)state;
	free(l);
	dir[0] = '\0';
	if (tsu_pg())
		where = tsu_mem();
	else {
		assert_int_equal(tsu_tmpdir(dir, sizeof(dir)), 0);
		assert_true(snprintf(path, sizeof(path), "%s/p.db", dir) > 0);
		where = path;
	}
	assert_int_equal(store_open(where, &a), 0);
	assert_int_equal(tsu_populate(a), 0);
	assert_int_equal(store_open(where, &b), 0);
	assert_int_equal(
	    store_mfa_grace_recent(b, "alice", k, 51, "192.0.2.1", T0, 600),
	    PV_DENY);
	assert_int_equal(
	    store_mfa_grace_note(a, "alice", k, 51, "192.0.2.1", T0), 0);
	assert_int_equal(store_mfa_grace_recent(
			     b, "alice", k, 51, "192.0.2.1", T0 + 30, 600),
	    PV_ALLOW);
	assert_int_equal(store_mfa_grace_recent(
			     b, "alice", k, 51, "192.0.2.2", T0 + 30, 600),
	    PV_DENY);
	assert_int_equal(
	    store_mfa_grace_recent(b, "bob", k, 51, "192.0.2.1", T0 + 30, 600),
	    PV_DENY);
	store_close(a);
	store_close(b);
	if (dir[0] != '\0')
		tsu_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_binding, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
		    test_note, fx_setup, fx_teardown),
		cmocka_unit_test(test_two_handles),
	};

	pv_log_init("test_store_mfagrace", PV_LOG_STDERR, PV_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
