/*
 * test_store_exit.c: what a provider's exit reads from the store: the
 * serials and keys a KRL revokes, exposures, and the exit plan.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/store-int.h"
#include "store_test_util.h"

#define MAX_SEEN 16

struct seen {
	uint64_t serial[MAX_SEEN];
	size_t nserial;
	uint8_t key_seed[MAX_SEEN];
	size_t nkey;
};

static int
seen_serial(void *ctx, uint64_t serial)
{
	struct seen *s = ctx;

	if (s->nserial == MAX_SEEN)
		return PV_ERR_LIMIT;
	s->serial[s->nserial++] = serial;
	return 0;
}

static int
seen_key(void *ctx, const uint8_t *blob, size_t len)
{
	struct seen *s = ctx;

	if (s->nkey == MAX_SEEN || len != 51)
		return PV_ERR_LIMIT;
	s->key_seed[s->nkey++] = blob[19]; /* tsu_keyline's seed */
	return 0;
}

static uint64_t
cert(struct store *st, const char *engineer, int token)
{
	uint64_t sn = 0;

	assert_int_equal(
	    store_credential_record(st, "broker",
		token ? STORE_CRED_TOKEN : STORE_CRED_CERT, "provost:s:x",
		"root", engineer, "db01", NULL, 100, 220, &sn),
	    0);
	return sn;
}

static void
key(struct store *st, const char *engineer, uint8_t seed)
{
	char *line = tsu_keyline(seed, NULL);

	assert_non_null(line);
	assert_int_equal(
	    store_engineer_key_add(st, "admin:t", engineer, line, NULL), 0);
	free(line);
}

/*
 * With a provider: every certificate (never a token) and key of its
 * engineers; without: those of ended engineers and revoked certificates.
 */
static void
test_krl_scope(void **state)
{
	struct store *st;
	struct seen s;
	uint64_t a1, a2, b1, c1, c2;

	(void)state;
	assert_int_equal(store_open(":memory:", &st), 0);
	assert_int_equal(tsu_populate(st), 0);
	assert_int_equal(store_provider_add(st, "admin:t", "other", 0, 0), 0);
	assert_int_equal(
	    store_engineer_add(st, "admin:t", "carol", "other", NULL), 0);
	key(st, "alice", 1);
	key(st, "bob", 2);
	key(st, "carol", 3);
	a1 = cert(st, "alice", 0);
	(void)cert(st, "alice", 1); /* a token: never in a KRL */
	b1 = cert(st, "bob", 0);
	c1 = cert(st, "carol", 0);
	c2 = cert(st, "carol", 0);

	memset(&s, 0, sizeof(s));
	assert_int_equal(
	    store_krl_list(st, "acme", seen_serial, seen_key, &s), 0);
	assert_int_equal(s.nserial, 2);
	assert_int_equal(s.serial[0], a1);
	assert_int_equal(s.serial[1], b1);
	assert_int_equal(s.nkey, 2);
	assert_int_equal(s.key_seed[0], 1);
	assert_int_equal(s.key_seed[1], 2);
	assert_int_equal(store_krl_list(st, "nope", seen_serial, seen_key, &s),
	    PV_ERR_NOT_FOUND);

	/* Nothing ended yet: an empty list. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(
	    store_krl_list(st, NULL, seen_serial, seen_key, &s), 0);
	assert_int_equal(s.nserial + s.nkey, 0);
	/* One certificate of carol revoked on its own: that one only. */
	assert_int_equal(store_credential_revoke(st, "admin:t", c2, 150), 0);
	assert_int_equal(
	    store_krl_list(st, NULL, seen_serial, seen_key, &s), 0);
	assert_int_equal(s.nserial, 1);
	assert_int_equal(s.serial[0], c2);
	assert_int_equal(s.nkey, 0);
	/* The provider revoked: all of acme's, keys too (revoked by now). */
	assert_int_equal(
	    store_provider_revoke(st, "admin:t", "acme", "exit"), 0);
	a2 = cert(st, "alice", 0); /* minted after: still covered */
	memset(&s, 0, sizeof(s));
	assert_int_equal(
	    store_krl_list(st, NULL, seen_serial, seen_key, &s), 0);
	assert_int_equal(s.nserial, 4);
	assert_int_equal(s.serial[0], a1);
	assert_int_equal(s.serial[1], b1);
	assert_int_equal(s.serial[2], c2);
	assert_int_equal(s.serial[3], a2);
	assert_int_equal(s.nkey, 2);
	/* carol disabled: hers join, c1 among them. */
	assert_int_equal(
	    store_engineer_disable(st, "admin:t", "carol", "left"), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(
	    store_krl_list(st, NULL, seen_serial, seen_key, &s), 0);
	assert_int_equal(s.nserial, 5);
	assert_int_equal(s.serial[2], c1);
	assert_int_equal(s.nkey, 3);
	/* A callback's error stops the walk and is returned. */
	memset(&s, 0, sizeof(s));
	s.nserial = MAX_SEEN;
	assert_int_equal(
	    store_krl_list(st, NULL, seen_serial, seen_key, &s), PV_ERR_LIMIT);
	store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_krl_scope),
	};

	return cmocka_run_group_tests_name("store_exit", tests, NULL, NULL);
}
