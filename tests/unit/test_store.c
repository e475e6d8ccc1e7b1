/*
 * test_store.c: the store's schema and records: migrations, pragmas,
 * constraints, providers, engineers, keys, TOTP, targets, sessions, credentials.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <liboath/oath.h>

#include "store/db_sqlite.h"
#include "store/store-int.h"
#include "store_test_util.h"

static char tmpdir[256];

static int
setup_dir(void **state)
{
	(void)state;
	return tsu_tmpdir(tmpdir, sizeof(tmpdir));
}

static int
teardown_dir(void **state)
{
	(void)state;
	tsu_rmdir(tmpdir);
	return 0;
}

static void
path_in(char *buf, size_t len, const char *name)
{
	assert_true(snprintf(buf, len, "%s/%s", tmpdir, name) > 0);
}

static int
pragma_int(struct store *st, const char *sql)
{
	sqlite3_stmt *s;
	int v;

	assert_int_equal(
	    sqlite3_prepare_v2(st_sqlite_db(st), sql, -1, &s, NULL), 0);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

static void
test_open_migrate(void **state)
{
	char path[512];
	struct store *st;
	int v;

	(void)state;
	path_in(path, sizeof(path), "m.db");
	assert_int_equal(store_open(path, &st), 0);
	assert_int_equal(store_schema_version(st, &v), 0);
	assert_int_equal(v, STORE_SCHEMA_VERSION);
	assert_int_equal(pragma_int(st, "PRAGMA foreign_keys"), 1);
	assert_int_equal(pragma_int(st, "PRAGMA synchronous"), 2); /* FULL */
	store_close(st);
	/* Reopening does not migrate again. */
	assert_int_equal(store_open(path, &st), 0);
	assert_int_equal(store_schema_version(st, &v), 0);
	assert_int_equal(v, STORE_SCHEMA_VERSION);
	{
		sqlite3_stmt *s;

		assert_int_equal(sqlite3_prepare_v2(st_sqlite_db(st),
				     "PRAGMA journal_mode", -1, &s, NULL),
		    0);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		assert_string_equal(sqlite3_column_text(s, 0), "wal");
		sqlite3_finalize(s);
	}
	/* A schema from the future is refused, not downgraded. */
	assert_int_equal(sqlite3_exec(st_sqlite_db(st),
			     "PRAGMA user_version = 99", NULL, NULL, NULL),
	    0);
	store_close(st);
	assert_int_equal(store_open(path, &st), PV_ERR_UNSUPPORTED);
	assert_null(st);
	store_close(NULL);
}

static void
test_constraints(void **state)
{
	struct store *st;

	(void)state;
	assert_int_equal(store_open(tsu_mem(), &st), 0);
	assert_int_equal(tsu_populate(st), 0);
	/* Foreign keys hold even for raw SQL. */
	assert_int_not_equal(sqlite3_exec(st_sqlite_db(st),
				 "INSERT INTO engineers(login, provider_id, "
				 "created_at) VALUES ('x', 999, 0)",
				 NULL, NULL, NULL),
	    SQLITE_OK);
	/* The audit log refuses UPDATE and DELETE. */
	assert_int_not_equal(
	    sqlite3_exec(st_sqlite_db(st),
		"UPDATE audit SET actor = 'x' WHERE seq = 1", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(st_sqlite_db(st), "DELETE FROM audit",
				 NULL, NULL, NULL),
	    SQLITE_OK);
	/* Checks on values. */
	assert_int_not_equal(
	    sqlite3_exec(st_sqlite_db(st), "UPDATE targets SET port = 70000",
		NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_not_equal(
	    sqlite3_exec(st_sqlite_db(st),
		"UPDATE providers SET status = 'gone'", NULL, NULL, NULL),
	    SQLITE_OK);
	store_close(st);
}

static int
count_provider(void *ctx, const struct store_provider *p)
{
	(*(int *)ctx)++;
	assert_non_null(p->name);
	return 0;
}

static void
test_providers(void **state)
{
	struct store_provider *p;
	struct store *st;
	int n = 0;

	(void)state;
	assert_int_equal(store_open(tsu_mem(), &st), 0);
	assert_int_equal(
	    store_provider_add(st, "admin:t", "acme", 1000, 2000), 0);
	assert_int_equal(
	    store_provider_add(st, "admin:t", "acme", 0, 0), PV_ERR_EXISTS);
	assert_non_null(strstr(store_errmsg(st), "acme"));
	assert_int_equal(store_provider_add(st, "admin:t", "Bad Name", 0, 0),
	    PV_ERR_INVALID);
	assert_int_equal(store_provider_add(st, "admin:t", "late", 2000, 1000),
	    PV_ERR_INVALID);
	assert_int_equal(store_provider_add(st, "admin:t", "beta", 0, 0), 0);
	assert_int_equal(store_provider_get(st, "acme", &p), 0);
	assert_string_equal(p->name, "acme");
	assert_int_equal(p->contract_start, 1000);
	assert_int_equal(p->contract_end, 2000);
	assert_int_equal(p->status, STORE_PROVIDER_ACTIVE);
	store_provider_free(p);
	assert_int_equal(store_provider_get(st, "nope", &p), PV_ERR_NOT_FOUND);
	assert_null(p);
	assert_int_equal(store_provider_list(st, count_provider, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_provider_set_status(
			     st, "admin:t", "acme", STORE_PROVIDER_EXITING),
	    0);
	assert_int_equal(store_provider_get(st, "acme", &p), 0);
	assert_int_equal(p->status, STORE_PROVIDER_EXITING);
	assert_string_equal(store_provider_status_name(p->status), "exiting");
	store_provider_free(p);
	store_provider_free(NULL);
	store_close(st);
}

static int
count_eng(void *ctx, const struct store_engineer *e)
{
	(*(int *)ctx)++;
	(void)e;
	return 0;
}

static void
test_engineers_and_keys(void **state)
{
	struct store_engineer *e;
	struct store *st;
	uint8_t blob[51], other[51];
	char *line = tsu_keyline(7, blob), *line2 = tsu_keyline(8, other);
	char *fp = NULL;
	int n = 0;

	(void)state;
	assert_int_equal(store_open(tsu_mem(), &st), 0);
	assert_int_equal(tsu_populate(st), 0);
	assert_int_equal(
	    store_engineer_add(st, "admin:t", "carol", "nope", NULL),
	    PV_ERR_NOT_FOUND);
	assert_int_equal(
	    store_engineer_add(st, "admin:t", "alice", "acme", NULL),
	    PV_ERR_EXISTS);
	assert_int_equal(
	    store_engineer_add(st, "admin:t", "Al ice", "acme", NULL),
	    PV_ERR_INVALID);
	assert_int_equal(store_engineer_get_by_login(st, "alice", &e), 0);
	assert_string_equal(e->provider, "acme");
	assert_string_equal(e->clearance, "confidential");
	assert_int_equal(e->disabled_at, 0);
	assert_int_equal(e->keys, 0);
	store_engineer_free(e);
	assert_int_equal(store_engineer_list(st, "acme", count_eng, &n), 0);
	assert_int_equal(n, 2);

	assert_int_equal(
	    store_engineer_key_add(st, "admin:t", "alice", line, &fp), 0);
	assert_non_null(fp);
	assert_true(strncmp(fp, "SHA256:", 7) == 0);
	assert_int_equal(strlen(fp), 7 + 43);
	free(fp);
	assert_int_equal(
	    store_engineer_key_add(st, "admin:t", "alice", line, NULL),
	    PV_ERR_EXISTS);
	assert_int_equal(store_engineer_key_add(
			     st, "admin:t", "alice", "ssh-ed25519 AAAA", NULL),
	    PV_ERR_INVALID);
	assert_int_equal(store_engineer_key_add(st, "admin:t", "alice",
			     "ssh-dss AAAAB3NzaC1kc3M= x", NULL),
	    PV_ERR_UNSUPPORTED);
	assert_int_equal(
	    store_engineer_key_match(st, "alice", blob, 51), PV_ALLOW);
	assert_int_equal(
	    store_engineer_key_match(st, "alice", other, 51), PV_DENY);
	assert_int_equal(
	    store_engineer_key_match(st, "bob", blob, 51), PV_DENY);
	assert_int_equal(
	    store_engineer_key_match(st, "alice", blob, 0), PV_DENY);
	assert_int_equal(
	    store_engineer_key_add(st, "admin:t", "bob", line2, NULL), 0);
	assert_int_equal(
	    store_engineer_disable(st, "admin:t", "alice", "t"), 0);
	assert_int_equal(
	    store_engineer_key_match(st, "alice", blob, 51), PV_DENY);
	assert_int_equal(store_engineer_get_by_login(st, "alice", &e), 0);
	assert_true(e->disabled_at > 0);
	store_engineer_free(e);
	/* Revoking bob revokes his key too. */
	assert_int_equal(
	    store_engineer_key_match(st, "bob", other, 51), PV_ALLOW);
	assert_int_equal(store_engineer_revoke(st, "admin:t", "bob", "t"), 0);
	assert_int_equal(
	    store_engineer_key_match(st, "bob", other, 51), PV_DENY);
	assert_int_equal(store_engineer_revoke(st, "admin:t", "nobody", NULL),
	    PV_ERR_NOT_FOUND);
	free(line);
	free(line2);
	store_close(st);
}

static void
totp_code(const uint8_t *secret, size_t len, int64_t t, char code[7])
{
	assert_int_equal(oath_totp_generate((const char *)secret, len,
			     (time_t)t, 30, 0, 6, code),
	    OATH_OK);
}

/* A code that is not the one for t (valid digits, wrong value). */
static void
wrong_code(const uint8_t *secret, int64_t t, char code[7])
{
	totp_code(secret, 20, t, code);
	code[0] = code[0] == '9' ? '0' : (char)(code[0] + 1);
}

/*
 * Approvers' keys and codes (schema 7) go through the engineers' code
 * with their own tables: an engineer's key or code is not an approver's
 * of the same name, a secret sealed for one does not open as the other,
 * a code is good once, wrong ones lock.
 */
static int
count_key(void *ctx, const struct store_key *k)
{
	(*(int *)ctx)++;
	(void)k;
	return 0;
}

static void
test_approver_keys_and_totp(void **state)
{
	uint8_t secret[STORE_TOTP_SECRET_LEN], esecret[STORE_TOTP_SECRET_LEN];
	uint8_t blob[51], eblob[51];
	char *line = tsu_keyline(21, blob), *eline = tsu_keyline(22, eblob);
	char keyp[512], dbp[512], code[7], *fp = NULL;
	int64_t now = 1800000000;
	struct store *st;
	int n = 0, i;

	(void)state;
	memset(secret, 0x5a, sizeof(secret));
	memset(esecret, 0x6b, sizeof(esecret));
	path_in(keyp, sizeof(keyp), "appr.key");
	path_in(dbp, sizeof(dbp), "appr.db");
	assert_int_equal(store_totp_key_create(keyp), 0);
	assert_int_equal(store_open(dbp, &st), 0);
	assert_int_equal(tsu_populate(st), 0);
	assert_int_equal(store_totp_key_load(st, keyp), 0);
	/* an engineer alice and an approver alice: two people */
	assert_int_equal(
	    store_approver_add(st, "admin:t", "alice", "security", NULL), 0);
	assert_int_equal(
	    store_approver_key_add(st, "admin:t", "alice", line, &fp), 0);
	assert_true(strncmp(fp, "SHA256:", 7) == 0);
	assert_int_equal(
	    store_approver_key_add(st, "admin:t", "alice", line, NULL),
	    PV_ERR_EXISTS);
	assert_int_equal(
	    store_approver_key_add(st, "admin:t", "nobody", line, NULL),
	    PV_ERR_NOT_FOUND);
	assert_int_equal(
	    store_engineer_key_add(st, "admin:t", "alice", eline, NULL), 0);
	assert_int_equal(
	    store_approver_key_match(st, "alice", blob, 51), PV_ALLOW);
	assert_int_equal(
	    store_approver_key_match(st, "alice", eblob, 51), PV_DENY);
	assert_int_equal(
	    store_engineer_key_match(st, "alice", blob, 51), PV_DENY);
	assert_int_equal(
	    store_approver_key_list(st, "alice", count_key, &n), 0);
	assert_int_equal(n, 1);
	/* codes: the approver's, never the engineer's of that name */
	assert_int_equal(
	    store_approver_totp_set(st, "admin:t", "alice", secret, 20), 0);
	assert_int_equal(
	    store_totp_set(st, "admin:t", "alice", esecret, 20), 0);
	totp_code(esecret, 20, now, code);
	assert_int_equal(
	    store_approver_totp_check(st, "alice", code, now), PV_DENY);
	totp_code(secret, 20, now, code);
	assert_int_equal(store_totp_check(st, "alice", code, now), PV_DENY);
	assert_int_equal(
	    store_approver_totp_check(st, "alice", code, now), PV_ALLOW);
	/* once only */
	assert_int_equal(
	    store_approver_totp_check(st, "alice", code, now), PV_DENY);
	/* moved into the engineers' table, a sealed secret does not open */
	assert_int_equal(
	    sqlite3_exec(st_sqlite_db(st),
		"UPDATE totp SET sealed = (SELECT sealed FROM approver_totp), "
		"last_step = 0",
		NULL, NULL, NULL),
	    SQLITE_OK);
	totp_code(secret, 20, now + 60, code);
	assert_true(store_totp_check(st, "alice", code, now + 60) != PV_ALLOW);
	/* wrong codes lock the approver as they lock engineers */
	for (i = 0; i < STORE_LOCK_AFTER; i++) {
		wrong_code(secret, now + 120, code);
		assert_int_equal(
		    store_approver_totp_check(st, "alice", code, now + 120),
		    PV_DENY);
	}
	totp_code(secret, 20, now + 150, code);
	assert_int_equal(
	    store_approver_totp_check(st, "alice", code, now + 150), PV_DENY);
	/* an admin ends the lock */
	assert_int_equal(
	    store_approver_unlock(st, "admin:t", "alice", "phone back"), 0);
	assert_int_equal(store_approver_unlock(st, "admin:t", "nobody", NULL),
	    PV_ERR_NOT_FOUND);
	totp_code(secret, 20, now + 180, code);
	assert_int_equal(
	    store_approver_totp_check(st, "alice", code, now + 180), PV_ALLOW);
	/* a removed key no longer signs in */
	assert_int_equal(
	    store_approver_key_remove(st, "admin:t", "alice", fp), 0);
	assert_int_equal(store_approver_key_remove(st, "admin:t", "alice", fp),
	    PV_ERR_NOT_FOUND);
	assert_int_equal(
	    store_approver_key_match(st, "alice", blob, 51), PV_DENY);
	free(fp);
	free(line);
	free(eline);
	store_close(st);
}

/* Wrong codes lock the engineer out, longer each time, then for good. */
static void
test_totp_lockout(void **state)
{
	uint8_t secret[STORE_TOTP_SECRET_LEN];
	char keyp[512], dbp[512], code[7];
	struct store *st;
	int64_t now = 1800000000, until;
	uint32_t fails;
	int i;

	(void)state;
	memset(secret, 0x3c, sizeof(secret));
	path_in(keyp, sizeof(keyp), "lock.key");
	path_in(dbp, sizeof(dbp), "lock.db");
	assert_int_equal(store_totp_key_create(keyp), 0);
	assert_int_equal(store_open(dbp, &st), 0);
	assert_int_equal(tsu_populate(st), 0);
	assert_int_equal(store_totp_key_load(st, keyp), 0);
	assert_int_equal(store_totp_set(st, "admin:t", "alice", secret, 20), 0);
	for (i = 1; i < STORE_LOCK_AFTER; i++) {
		wrong_code(secret, now, code);
		assert_int_equal(
		    store_totp_check(st, "alice", code, now), PV_DENY);
	}
	assert_int_equal(
	    store_engineer_lock_state(st, "alice", &fails, &until), 0);
	assert_int_equal(fails, STORE_LOCK_AFTER - 1);
	assert_int_equal(until, 0);
	wrong_code(secret, now, code);
	assert_int_equal(store_totp_check(st, "alice", code, now), PV_DENY);
	assert_int_equal(
	    store_engineer_lock_state(st, "alice", &fails, &until), 0);
	assert_int_equal(until, now + 60);
	/* While locked the right code is not even checked, and counts. */
	totp_code(secret, 20, now + 30, code);
	assert_int_equal(
	    store_totp_check(st, "alice", code, now + 30), PV_DENY);
	assert_int_equal(
	    store_engineer_lock_state(st, "alice", &fails, &until), 0);
	assert_int_equal(fails, STORE_LOCK_AFTER + 1);
	assert_int_equal(until, now + 30 + 120);
	/* Past the lock, a good code clears the count. */
	totp_code(secret, 20, now + 300, code);
	assert_int_equal(
	    store_totp_check(st, "alice", code, now + 300), PV_ALLOW);
	assert_int_equal(
	    store_engineer_lock_state(st, "alice", &fails, &until), 0);
	assert_int_equal(fails, 0);
	assert_int_equal(until, 0);
	/* STORE_LOCK_HARD in a row: until an admin unlocks. */
	for (i = 0; i < STORE_LOCK_HARD; i++) {
		wrong_code(secret, now + 400, code);
		assert_int_equal(
		    store_totp_check(st, "alice", code, now + 400), PV_DENY);
	}
	assert_int_equal(
	    store_engineer_lock_state(st, "alice", &fails, &until), 0);
	assert_int_equal(until, STORE_LOCK_FOREVER);
	totp_code(secret, 20, now + 86400, code);
	assert_int_equal(
	    store_totp_check(st, "alice", code, now + 86400), PV_DENY);
	assert_int_equal(store_engineer_unlock(st, "admin:t", "nobody", NULL),
	    PV_ERR_NOT_FOUND);
	assert_int_equal(
	    store_engineer_unlock(st, "admin:t", "alice", "called her"), 0);
	totp_code(secret, 20, now + 86430, code);
	assert_int_equal(
	    store_totp_check(st, "alice", code, now + 86430), PV_ALLOW);
	/* Each lock and the unlock are in the audit chain. */
	{
		sqlite3_stmt *s;

		assert_int_equal(
		    sqlite3_prepare_v2(st_sqlite_db(st),
			"SELECT count(*) FROM audit WHERE action = "
			"'engineer.locked'",
			-1, &s, NULL),
		    0);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		assert_true(sqlite3_column_int(s, 0) >= 2);
		sqlite3_finalize(s);
		assert_int_equal(
		    sqlite3_prepare_v2(st_sqlite_db(st),
			"SELECT count(*) FROM audit WHERE action = "
			"'engineer.unlock'",
			-1, &s, NULL),
		    0);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(s, 0), 1);
		sqlite3_finalize(s);
	}
	store_close(st);
	PV_WIPE(secret);
}

static void
test_totp(void **state)
{
	uint8_t secret[STORE_TOTP_SECRET_LEN];
	char keyp[512], dbp[512], code[7], prev[7];
	struct store *st;
	int64_t now = 1800000000;

	(void)state;
	memset(secret, 0x5a, sizeof(secret));
	path_in(keyp, sizeof(keyp), "totp.key");
	path_in(dbp, sizeof(dbp), "t.db");
	assert_int_equal(store_totp_key_create(keyp), 0);
	assert_int_equal(store_totp_key_create(keyp), PV_ERR_EXISTS);
	assert_int_equal(store_open(dbp, &st), 0);
	assert_int_equal(tsu_populate(st), 0);
	assert_int_equal(
	    store_totp_set(st, "admin:t", "alice", secret, 20), PV_ERR_CONFIG);
	assert_int_equal(chmod(keyp, 0640), 0);
	assert_int_equal(store_totp_key_load(st, keyp), PV_ERR_PERM);
	assert_int_equal(chmod(keyp, 0600), 0);
	assert_int_equal(store_totp_key_load(st, keyp), 0);
	assert_int_equal(
	    store_totp_set(st, "admin:t", "alice", secret, 8), PV_ERR_INVALID);
	assert_int_equal(store_totp_set(st, "admin:t", "nobody", secret, 20),
	    PV_ERR_NOT_FOUND);
	assert_int_equal(store_totp_set(st, "admin:t", "alice", secret, 20), 0);
	/* Never stored in the clear. */
	{
		sqlite3_stmt *s;

		assert_int_equal(sqlite3_prepare_v2(st_sqlite_db(st),
				     "SELECT sealed FROM totp", -1, &s, NULL),
		    0);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		assert_int_equal(sqlite3_column_bytes(s, 0), 12 + 20 + 16);
		assert_null(memmem(sqlite3_column_blob(s, 0), 48, secret, 8));
		sqlite3_finalize(s);
	}
	totp_code(secret, 20, now, code);
	assert_int_equal(store_totp_check(st, "alice", "12345", now), PV_DENY);
	assert_int_equal(store_totp_check(st, "alice", "12a456", now), PV_DENY);
	assert_int_equal(store_totp_check(st, "bob", code, now), PV_DENY);
	assert_int_equal(store_totp_check(st, "alice", code, now), PV_ALLOW);
	/* Used once only. */
	assert_int_equal(store_totp_check(st, "alice", code, now), PV_DENY);
	/* The previous step's code is older than the one used. */
	totp_code(secret, 20, now - 30, prev);
	assert_int_equal(store_totp_check(st, "alice", prev, now), PV_DENY);
	/* Drift of one step ahead is accepted, two is not. */
	totp_code(secret, 20, now + 30, code);
	assert_int_equal(store_totp_check(st, "alice", code, now), PV_ALLOW);
	totp_code(secret, 20, now + 120, code);
	assert_int_equal(
	    store_totp_check(st, "alice", code, now + 30), PV_DENY);
	/* Across a restart, the used step stays used. */
	totp_code(secret, 20, now + 60, code);
	assert_int_equal(
	    store_totp_check(st, "alice", code, now + 60), PV_ALLOW);
	store_close(st);
	assert_int_equal(store_open(dbp, &st), 0);
	assert_int_equal(store_totp_key_load(st, keyp), 0);
	assert_int_equal(
	    store_totp_check(st, "alice", code, now + 60), PV_DENY);
	/* A damaged sealed secret fails closed. */
	assert_int_equal(
	    sqlite3_exec(st_sqlite_db(st),
		"UPDATE totp SET sealed = zeroblob(48)", NULL, NULL, NULL),
	    0);
	totp_code(secret, 20, now + 300, code);
	assert_int_equal(
	    store_totp_check(st, "alice", code, now + 300), PV_ERR_AUTH);
	store_close(st);
	PV_WIPE(secret);
}

static void
test_targets(void **state)
{
	static const char *const bad_accts[] = { "ok", "ok" };
	static const char *const star[] = { "*" };
	struct store_target_spec t = { 0 };
	struct store_target *tg;
	struct store *st;
	char *hk = tsu_keyline(9, NULL);

	(void)state;
	assert_int_equal(store_open(tsu_mem(), &st), 0);
	assert_int_equal(tsu_populate(st), 0);
	assert_int_equal(store_target_get(st, "db01", &tg), 0);
	assert_string_equal(tg->host, "127.0.0.1");
	assert_int_equal(tg->port, 2200);
	assert_int_equal(tg->naccounts, 2);
	assert_true(store_target_has_account(tg, "postgres"));
	assert_false(store_target_has_account(tg, "admin"));
	assert_int_equal(tg->auth, STORE_AUTH_CERT);
	/* The pinned key is "TYPE BASE64" without the comment. */
	assert_null(strchr(strchr(tg->hostkey, ' ') + 1, ' '));
	store_target_free(tg);
	store_target_free(NULL);
	t = (struct store_target_spec){ .name = "web1",
		.host = "web1.example",
		.classification = "public",
		.hostkey = hk,
		.naccounts = 2,
		.accounts = bad_accts };
	assert_int_equal(store_target_add(st, "admin:t", &t), PV_ERR_INVALID);
	assert_non_null(strstr(store_errmsg(st), "accounts"));
	t.accounts = star;
	t.naccounts = 1;
	assert_int_equal(store_target_add(st, "admin:t", &t), PV_ERR_INVALID);
	t.accounts = bad_accts;
	t.hostkey = "ssh-ed25519 garbage";
	assert_int_equal(store_target_add(st, "admin:t", &t), PV_ERR_INVALID);
	assert_non_null(strstr(store_errmsg(st), "hostkey"));
	t.hostkey = hk;
	t.host = "bad host";
	assert_int_equal(store_target_add(st, "admin:t", &t), PV_ERR_INVALID);
	t.host = "web1.example";
	t.port = 70000;
	assert_int_equal(store_target_add(st, "admin:t", &t), PV_ERR_INVALID);
	t.port = 0;
	t.naccounts = 1;
	t.auth = STORE_AUTH_PAM_TOKEN;
	assert_int_equal(store_target_add(st, "admin:t", &t), 0);
	assert_int_equal(store_target_add(st, "admin:t", &t), PV_ERR_EXISTS);
	assert_int_equal(store_target_get(st, "web1", &tg), 0);
	assert_int_equal(tg->port, 22);
	assert_int_equal(tg->auth, STORE_AUTH_PAM_TOKEN);
	store_target_free(tg);
	assert_int_equal(store_target_get(st, "nope", &tg), PV_ERR_NOT_FOUND);
	free(hk);
	store_close(st);
}

/* Import cases: JSON template with %s for a host key, expected error. */
static const struct import_case {
	const char *json;
	const char *err; /* NULL: succeeds */
	size_t count;
} import_cases[] = {
	{ "[{\"name\":\"a1\",\"host\":\"10.0.0.1\",\"classification\":"
	  "\"internal\",\"accounts\":[\"root\"],\"hostkey\":\"%s\"},"
	  "{\"name\":\"a2\",\"host\":\"h2\",\"port\":2222,\"classification\":"
	  "\"public\",\"accounts\":[\"a\",\"b\"],\"hostkey\":\"%s\","
	  "\"auth\":\"pam-token\"}]",
	    NULL, 2 },
	{ "{\"targets\":[{\"name\":\"a3\",\"host\":\"h\",\"classification\":"
	  "\"public\",\"accounts\":[\"x\"],\"hostkey\":\"%s\"}]}",
	    NULL, 1 },
	{ "[]", NULL, 0 },
	{ "[{\"name\":\"b1\",\"host\":\"h\",\"classification\":\"public\","
	  "\"accounts\":[\"x\"],\"hostkey\":\"%s\"},{\"name\":\"b2\",\"host\":"
	  "\"h\",\"port\":0,\"classification\":\"public\",\"accounts\":[\"x\"],"
	  "\"hostkey\":\"%s\"}]",
	    "entry 1: port: must be 1..65535", 0 },
	{ "[{\"name\":\"b1\",\"host\":\"h\",\"classification\":\"public\","
	  "\"accounts\":[\"x\"],\"hostkey\":\"%s\",\"owner\":\"x\"}]",
	    "entry 0: owner: unknown field", 0 },
	{ "[{\"host\":\"h\",\"classification\":\"public\",\"accounts\":[\"x\"],"
	  "\"hostkey\":\"%s\"}]",
	    "entry 0: name: missing", 0 },
	{ "[{\"name\":\"b1\",\"host\":\"h\",\"classification\":\"secret\","
	  "\"accounts\":[\"x\"],\"hostkey\":\"%s\"}]",
	    "entry 0: classification: not a level of the policy", 0 },
	{ "[{\"name\":\"b1\",\"host\":\"h\",\"classification\":\"public\","
	  "\"accounts\":[],\"hostkey\":\"%s\"}]",
	    "entry 0: accounts: must be an array of 1-64 names", 0 },
	{ "[{\"name\":\"b1\",\"host\":\"h\",\"classification\":\"public\","
	  "\"accounts\":[1],\"hostkey\":\"%s\"}]",
	    "entry 0: accounts: must be an array of strings", 0 },
	{ "[{\"name\":\"b1\",\"host\":\"h\",\"classification\":\"public\","
	  "\"accounts\":[\"x\"],\"hostkey\":\"ssh-rsa AAAA\"}]",
	    "entry 0: hostkey: not an OpenSSH public key line", 0 },
	{ "[{\"name\":\"db01\",\"host\":\"h\",\"classification\":\"public\","
	  "\"accounts\":[\"x\"],\"hostkey\":\"%s\"}]",
	    "entry 0: name: target already exists", 0 },
	{ "[{\"name\":\"c1\",\"host\":\"h\",\"classification\":\"public\","
	  "\"accounts\":[\"x\"],\"hostkey\":\"%s\"},{\"name\":\"c1\",\"host\":"
	  "\"h\",\"classification\":\"public\",\"accounts\":[\"x\"],"
	  "\"hostkey\":\"%s\"}]",
	    "entry 1: name: target already exists", 0 },
	{ "[{\"name\":\"b1\",\"name\":\"b2\"}]", "duplicate", 0 },
	{ "[1]", "entry 0: not an object", 0 },
	{ "{\"x\":[]}", "expected an array", 0 },
	{ "[{\"name\":\"b1\",\"host\":\"h\",\"classification\":\"public\","
	  "\"accounts\":[\"x\"],\"hostkey\":\"%s\",\"auth\":\"password\"}]",
	    "entry 0: auth: must be", 0 },
	{ "[{\"name\":\"b\\u0000x\",\"host\":\"h\",\"classification\":"
	  "\"public\",\"accounts\":[\"x\"],\"hostkey\":\"%s\"}]",
	    "is not allowed", 0 },
};

static int
count_target(void *ctx, const struct store_target *t)
{
	(void)t;
	(*(int *)ctx)++;
	return 0;
}

static void
test_import(void **state)
{
	static const char *const levels[] = { "public", "internal",
		"confidential", NULL };
	char *hk = tsu_keyline(3, NULL), *json = NULL, err[256];
	struct store *st;
	size_t i, count;
	int r, before, after;

	(void)state;
	assert_int_equal(store_open(tsu_mem(), &st), 0);
	assert_int_equal(tsu_populate(st), 0);
	for (i = 0; i < sizeof(import_cases) / sizeof(import_cases[0]); i++) {
		const struct import_case *c = &import_cases[i];

		before = after = 0;
		assert_int_equal(
		    store_target_list(st, count_target, &before), 0);
		assert_non_null(json = tsu_subst(c->json, hk));
		r = store_target_import(st, "admin:t", json, strlen(json),
		    levels, &count, err, sizeof(err));
		assert_int_equal(
		    store_target_list(st, count_target, &after), 0);
		if (c->err == NULL) {
			if (r != 0)
				fail_msg("case %zu: %s", i, err);
			assert_int_equal(count, c->count);
			assert_int_equal(after, before + (int)c->count);
		} else {
			assert_true(r == PV_ERR_INVALID || r == PV_ERR_EXISTS);
			if (strstr(err, c->err) == NULL)
				fail_msg("case %zu: got \"%s\"", i, err);
			assert_int_equal(after, before); /* all or nothing */
			assert_int_equal(count, 0);
		}
		free(json);
		json = NULL;
	}
	assert_int_equal(store_target_import(st, "admin:t", "[{", 2, NULL,
			     &count, err, sizeof(err)),
	    PV_ERR_INVALID);
	assert_non_null(strstr(err, "line 1"));
	free(hk);
	store_close(st);
}

static int
sess_count(void *ctx, const struct store_session *s)
{
	(void)s;
	(*(int *)ctx)++;
	return 0;
}

static void
test_sessions(void **state)
{
	struct store_session_info in = { .engineer = "alice",
		.target = "db01",
		.account = "postgres",
		.client_addr = "192.0.2.1",
		.recording_path = "/r/x.pvr" };
	struct store_session_end end = { .bytes_in = 10,
		.bytes_out = 20,
		.recording_sha256 = "ab",
		.recording_size = 99,
		.reason = "exit 0" };
	char id[PV_UUID_LEN + 1], id2[PV_UUID_LEN + 1], id3[PV_UUID_LEN + 1];
	struct store_session *s;
	struct store *st;
	int n = 0;

	(void)state;
	assert_int_equal(store_open(tsu_mem(), &st), 0);
	assert_int_equal(tsu_populate(st), 0);
	assert_int_equal(store_session_open(st, &in, 100, id), 0);
	assert_true(pv_uuid_valid(id));
	assert_int_equal(store_session_open(st, &in, 101, id2), 0);
	in.target = "nope";
	assert_int_equal(
	    store_session_open(st, &in, 101, id3), PV_ERR_NOT_FOUND);
	assert_int_equal(store_session_list(st, 1, sess_count, &n), 0);
	assert_int_equal(n, 2);
	if (store_session_close(st, id, &end, 200) != 0)
		fail_msg("%s", store_errmsg(st));
	assert_int_equal(
	    store_session_close(st, id, &end, 200), PV_ERR_NOT_FOUND);
	assert_int_equal(store_session_get(st, id, &s), 0);
	assert_int_equal(s->state, STORE_SESSION_CLOSED);
	assert_int_equal(s->bytes_out, 20);
	assert_int_equal(s->recording_size, 99);
	assert_string_equal(s->end_reason, "exit 0");
	assert_int_equal(s->ended_at, 200);
	store_session_free(s);
	assert_int_equal(store_session_mark_aborted_open(st, "a", 300, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_session_get(st, id2, &s), 0);
	assert_int_equal(s->state, STORE_SESSION_ABORTED);
	store_session_free(s);
	n = 0;
	assert_int_equal(store_session_list(st, 1, sess_count, &n), 0);
	assert_int_equal(n, 0);
	store_close(st);
}

static int
cred_count(void *ctx, const struct store_credential *c)
{
	(*(int *)ctx)++;
	assert_string_equal(c->engineer, "alice");
	return 0;
}

struct revs {
	int n;
	char last[128];
};

static int
rev_cb(void *ctx, const struct store_revocation *r)
{
	struct revs *v = ctx;

	v->n++;
	assert_true(snprintf(v->last, sizeof(v->last), "%s %s%s%s", r->action,
			r->object, r->reason != NULL ? ": " : "",
			r->reason != NULL ? r->reason : "") > 0);
	return 0;
}

static void
test_credentials_and_revocations(void **state)
{
	struct revs v = { 0 };
	uint64_t sn1, sn2, cursor;
	struct store *st;
	int n = 0;

	(void)state;
	assert_int_equal(store_open(tsu_mem(), &st), 0);
	assert_int_equal(tsu_populate(st), 0);
	assert_int_equal(store_audit_head(st, &cursor), 0);
	assert_true(cursor > 0);
	assert_int_equal(store_credential_record(st, "broker", STORE_CRED_CERT,
			     "provost:s:alice", "postgres", "alice", "db01",
			     NULL, 100, 220, &sn1),
	    0);
	assert_int_equal(store_credential_record(st, "broker", STORE_CRED_TOKEN,
			     "provost:t:alice", "root", "alice", "db01", NULL,
			     100, 220, &sn2),
	    0);
	assert_int_equal(sn2, sn1 + 1);
	assert_int_equal(store_credential_record(st, "broker", STORE_CRED_CERT,
			     "k", "*", "alice", NULL, NULL, 100, 220, &sn2),
	    PV_ERR_INVALID);
	assert_int_equal(store_credential_record(st, "broker", STORE_CRED_CERT,
			     "k", "root", "alice", NULL, NULL, 220, 100, &sn2),
	    PV_ERR_INVALID);
	assert_int_equal(store_credential_list(st, "acme", cred_count, &n), 0);
	assert_int_equal(n, 2);
	{
		struct store_exposure_spec x = { .provider = "acme",
			.engineer = "alice",
			.target = "db01",
			.account = "postgres",
			.kind = "db-password",
			.reference = "vault:db01/postgres",
			.note = "shown in ticket" };
		int added = -1;

		assert_int_equal(
		    store_exposure_add(st, "admin:t", &x, 100, &added), 0);
		assert_int_equal(added, 1);
		x.reference = "";
		assert_int_equal(
		    store_exposure_add(st, "admin:t", &x, 100, NULL),
		    PV_ERR_INVALID);
	}
	/* Nothing revoked yet. */
	assert_int_equal(store_revoked_since(st, &cursor, rev_cb, &v), 0);
	assert_int_equal(v.n, 0);
	assert_int_equal(store_credential_revoke(st, "admin:t", sn1, 150), 0);
	assert_int_equal(
	    store_credential_revoke(st, "admin:t", sn1, 150), PV_ERR_NOT_FOUND);
	assert_int_equal(store_revoked_since(st, &cursor, rev_cb, &v), 0);
	assert_int_equal(v.n, 1);
	assert_non_null(strstr(v.last, "credential.revoke credential:"));
	assert_int_equal(
	    store_engineer_revoke(st, "admin:t", "alice", "end"), 0);
	assert_int_equal(store_revoked_since(st, &cursor, rev_cb, &v), 0);
	assert_int_equal(v.n, 2);
	assert_string_equal(v.last, "engineer.revoke engineer:alice: end");
	assert_int_equal(store_revoked_since(st, &cursor, rev_cb, &v), 0);
	assert_int_equal(v.n, 2);
	assert_int_equal(
	    store_provider_revoke(st, "admin:t", "acme", "exit"), 0);
	assert_int_equal(store_revoked_since(st, &cursor, rev_cb, &v), 0);
	assert_string_equal(v.last, "provider.revoke provider:acme: exit");
	store_close(st);
}

/* Two connections: a writer holding the lock makes the other wait. */
static void
test_concurrency(void **state)
{
	struct store_audit_report rep;
	struct store *st, *st2;
	char path[512];
	int p[2], status, i;
	uint64_t t0;
	pid_t pid;
	char c;

	(void)state;
	path_in(path, sizeof(path), "c.db");
	assert_int_equal(store_open(path, &st), 0);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (store_open(path, &st2) != 0 ||
		    sqlite3_exec(st_sqlite_db(st2), "BEGIN IMMEDIATE", NULL,
			NULL, NULL) != 0)
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		usleep(400 * 1000);
		if (sqlite3_exec(
			st_sqlite_db(st2), "COMMIT", NULL, NULL, NULL) != 0)
			_exit(1);
		for (i = 0; i < 150; i++)
			if (store_audit_append(
				st2, "child", "test.child", "x", NULL) != 0)
				_exit(2);
		store_close(st2);
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	t0 = pv_mono_ms();
	/* Waits on busy_timeout instead of failing with SQLITE_BUSY. */
	assert_int_equal(store_provider_add(st, "admin:t", "acme", 0, 0), 0);
	assert_true(pv_mono_ms() - t0 >= 300);
	for (i = 0; i < 150; i++)
		assert_int_equal(
		    store_audit_append(st, "parent", "test.parent", "x", NULL),
		    0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Interleaved appends from two connections still form one chain. */
	assert_int_equal(store_audit_verify(st, NULL, &rep), 0);
	assert_int_equal(rep.rows, 301);
	store_close(st);
}

/*
 * Group commit: transactions in a batch are savepoints; another connection
 * sees none of them until the one commit; a failed one leaves the others;
 * a batch never ended keeps nothing.
 */
static void
test_batch(void **state)
{
	struct store_audit_report rep;
	struct store *st, *st2;
	uint64_t h0, h;
	char path[512];
	int i;

	(void)state;
	path_in(path, sizeof(path), "b.db");
	assert_int_equal(store_open(path, &st), 0);
	assert_int_equal(store_open(path, &st2), 0);
	assert_int_equal(store_batch_end(st), PV_ERR_INTERNAL);
	assert_int_equal(store_audit_head(st2, &h0), 0);

	assert_int_equal(store_batch_begin(st), 0);
	assert_int_equal(store_batch_begin(st), PV_ERR_INTERNAL);
	assert_int_equal(store_provider_add(st, "admin:t", "acme", 0, 0), 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(
		    store_audit_append(st, "t", "test.batch", "x", NULL), 0);
	/* a duplicate fails alone; the batch goes on */
	assert_int_not_equal(
	    store_provider_add(st, "admin:t", "acme", 0, 0), 0);
	assert_int_equal(
	    store_audit_append(st, "t", "test.batch", "y", NULL), 0);
	assert_int_equal(store_audit_head(st2, &h), 0);
	assert_int_equal(h, h0); /* nothing visible before the commit */
	assert_int_equal(store_batch_end(st), 0);
	assert_int_equal(store_audit_head(st2, &h), 0);
	assert_int_equal(h, h0 + 7); /* provider.add, five, then y */
	assert_int_not_equal(
	    store_provider_add(st2, "admin:t", "acme", 0, 0), 0);

	/* outside a batch, transactions commit on their own again */
	assert_int_equal(
	    store_audit_append(st, "t", "test.after", "z", NULL), 0);
	assert_int_equal(store_audit_head(st2, &h), 0);
	assert_int_equal(h, h0 + 8);

	/* closed inside a batch: nothing of it is kept */
	assert_int_equal(store_batch_begin(st), 0);
	assert_int_equal(
	    store_audit_append(st, "t", "test.lost", "x", NULL), 0);
	store_close(st);
	assert_int_equal(store_audit_head(st2, &h), 0);
	assert_int_equal(h, h0 + 8);
	assert_int_equal(store_audit_verify(st2, NULL, &rep), 0);
	assert_int_equal(rep.rows, h0 + 8);
	store_close(st2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_migrate),
		cmocka_unit_test(test_constraints),
		cmocka_unit_test(test_providers),
		cmocka_unit_test(test_engineers_and_keys),
		cmocka_unit_test(test_totp),
		cmocka_unit_test(test_totp_lockout),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_import),
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_credentials_and_revocations),
		cmocka_unit_test(test_concurrency),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_approver_keys_and_totp),
	};

	pv_log_init("test_store", PV_LOG_STDERR, PV_LOG_ERROR);
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
