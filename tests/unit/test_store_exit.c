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

#include "store/db_sqlite.h"
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
	assert_int_equal(store_open(tsu_mem(), &st), 0);
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

/* Every exposure listed, as "source provider account@place kind ref". */
struct xs {
	char line[16][160];
	size_t n;
};

static int
xs_cb(void *ctx, const struct store_exposure *x)
{
	struct xs *l = ctx;

	if (l->n == 16)
		return PV_ERR_LIMIT;
	(void)snprintf(l->line[l->n++], sizeof(l->line[0]),
	    "%s %s %s@%s %s %s %s %lld", x->source, x->provider,
	    x->account ? x->account : "-", x->target ? x->target : x->system,
	    x->kind, x->reference, x->engineer ? x->engineer : "-",
	    (long long)x->sessions);
	return 0;
}

static size_t
xs_count(struct store *st, const char *provider)
{
	struct xs l = { .n = 0 };

	assert_int_equal(store_exposure_list(st, provider, xs_cb, &l), 0);
	return l.n;
}

static void
exit_populate(struct store *st)
{
	assert_int_equal(tsu_populate(st), 0);
	assert_int_equal(store_provider_add(st, "admin:t", "other", 0, 0), 0);
	assert_int_equal(
	    store_engineer_add(st, "admin:t", "carol", "other", NULL), 0);
}

static void
test_exposure_add(void **state)
{
	struct store_exposure_spec x = { .provider = "acme",
		.engineer = "alice",
		.target = "db01",
		.account = "root",
		.kind = "unix-password",
		.reference = "vault:db01/root" };
	static const struct {
		const char *field, *value, *why;
	} bad[] = {
		{ "provider", "Acme", "provider:" },
		{ "kind", "Unix", "kind:" },
		{ "kind", "-x", "kind:" },
		{ "reference", "", "reference:" },
		{ "reference", "a\tb", "reference:" },
		{ "account", "a b", "account:" },
		{ "system", "fw01", "exactly one of target and system" },
		{ "note", "x\n", "note:" },
	};
	struct store_exposure_spec y;
	struct store *st;
	uint64_t h1, h2;
	size_t i;
	int added = -1;

	(void)state;
	assert_int_equal(store_open(tsu_mem(), &st), 0);
	exit_populate(st);
	assert_int_equal(store_exposure_add(st, "admin:t", &x, 100, &added), 0);
	assert_int_equal(added, 1);
	/* The same again: nothing added, nothing audited. */
	assert_int_equal(store_audit_head(st, &h1), 0);
	assert_int_equal(store_exposure_add(st, "admin:t", &x, 101, &added), 0);
	assert_int_equal(added, 0);
	assert_int_equal(store_audit_head(st, &h2), 0);
	assert_int_equal(h1, h2);
	/* Another account is another exposure. */
	x.account = "postgres";
	assert_int_equal(store_exposure_add(st, "admin:t", &x, 102, &added), 0);
	assert_int_equal(added, 1);
	assert_int_equal(xs_count(st, "acme"), 2);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		y = x;
		if (strcmp(bad[i].field, "provider") == 0)
			y.provider = bad[i].value;
		else if (strcmp(bad[i].field, "kind") == 0)
			y.kind = bad[i].value;
		else if (strcmp(bad[i].field, "reference") == 0)
			y.reference = bad[i].value;
		else if (strcmp(bad[i].field, "account") == 0)
			y.account = bad[i].value;
		else if (strcmp(bad[i].field, "system") == 0)
			y.system = bad[i].value;
		else
			y.note = bad[i].value;
		assert_int_equal(
		    store_exposure_add(st, "admin:t", &y, 103, NULL),
		    PV_ERR_INVALID);
		if (strstr(store_errmsg(st), bad[i].why) == NULL)
			fail_msg("%s: %s", bad[i].field, store_errmsg(st));
	}
	/* carol is not acme's; nope is no target. */
	y = x;
	y.engineer = "carol";
	assert_int_equal(
	    store_exposure_add(st, "admin:t", &y, 103, NULL), PV_ERR_INVALID);
	assert_non_null(strstr(store_errmsg(st), "not of provider acme"));
	y = x;
	y.target = "nope";
	assert_int_equal(
	    store_exposure_add(st, "admin:t", &y, 103, NULL), PV_ERR_NOT_FOUND);
	assert_int_equal(xs_count(st, NULL), 2);
	assert_int_equal(xs_count(st, "other"), 0);
	store_close(st);
}

static const struct {
	const char *text;
	const char *err; /* NULL: imports */
	size_t added, present;
} imports[] = {
	{ "provider,target,account,kind,reference\n"
	  "acme,db01,root,unix-password,vault:db01/root\n"
	  "acme,db01,postgres,db-password,\"vault:db01/pg, \"\"main\"\"\"\n",
	    NULL, 2, 0 },
	{ "\xef\xbb\xbfprovider,system,kind,reference\r\nacme,bom,k,r\r\n",
	    NULL, 1, 0 },
	{ "# again, CRLF, another column order\r\n"
	  "kind,reference,provider,account,target\r\n"
	  "unix-password,vault:db01/root,acme,root,db01\r\n",
	    NULL, 0, 1 },
	{ "{\"provider\":\"acme\",\"system\":\"fw01\",\"account\":\"admin\","
	  "\"kind\":\"net-password\",\"reference\":\"r\",\"note\":null}\n"
	  "\n"
	  "{\"provider\":\"acme\",\"engineer\":\"bob\",\"system\":\"aws:1\","
	  "\"kind\":\"api-key\",\"reference\":\"r\"}\n",
	    NULL, 2, 0 },
	/* The first bad row is named; the good ones before are not kept. */
	{ "provider,system,kind,reference\nacme,s1,k,r\nacme,s2,k\n",
	    "f:3: 3 fields, the header has 4", 0, 0 },
	{ "provider,system,kind,reference\nacme,s1,k,r\nacme,s2,k,\"r\n",
	    "f:3: unterminated quote", 0, 0 },
	{ "provider,system,kind,reference\nacme,s\"1,k,r\n",
	    "f:2: field 2: a quote inside an unquoted field", 0, 0 },
	{ "provider,system,kind,reference\nacme,\"s\"x,k,r\n",
	    "f:2: field 2: text after the closing quote", 0, 0 },
	{ "provider,system,kind,reference,colour\n",
	    "f:1: header: unknown column \"colour\"", 0, 0 },
	{ "provider,system,kind,kind\n", "f:1: header: column kind twice", 0,
	    0 },
	{ "provider,account,kind,reference\n",
	    "f:1: header: provider, kind, reference and target or system", 0,
	    0 },
	{ "provider,system,kind,reference\nacme,s1,k,r\nnope,s1,k,r\n",
	    "f:3: provider nope: not found", 0, 0 },
	{ "provider,target,kind,reference\nacme,db01,k,r\nacme,db02,k,r\n",
	    "f:3: target db02: not found", 0, 0 },
	{ "provider,engineer,system,kind,reference\nacme,carol,s,k,r\n",
	    "f:2: engineer carol: not of provider acme", 0, 0 },
	{ "provider,target,system,kind,reference\nacme,db01,s,k,r\n",
	    "f:2: exactly one of target and system", 0, 0 },
	{ "{\"provider\":\"acme\",\"system\":\"s\",\"kind\":\"k\","
	  "\"reference\":\"r\"}\n{\"provider\":\"acme\",\"colour\":\"r\"}\n",
	    "f:2: unknown field \"colour\"", 0, 0 },
	{ "{\"provider\":\"acme\",\"system\":1,\"kind\":\"k\"}\n",
	    "f:1: system: must be a string", 0, 0 },
	{ "{\"provider\":\"acme\",\"provider\":\"acme\"}\n", "f:1: column", 0,
	    0 },
	{ "{\"provider\":\"acme\",\n", "f:1: column", 0, 0 },
	{ "[1]\n", "f:1: header: unknown column", 0, 0 },
	{ "# only a comment\n\n", "f:2: no exposures", 0, 0 },
	{ "", "f:1: no exposures", 0, 0 },
};

static void
test_exposure_import(void **state)
{
	struct store *st;
	char err[512];
	size_t i, added, present, have = 0;
	uint64_t h1, h2;
	int r;

	(void)state;
	assert_int_equal(store_open(tsu_mem(), &st), 0);
	exit_populate(st);
	for (i = 0; i < sizeof(imports) / sizeof(imports[0]); i++) {
		assert_int_equal(store_audit_head(st, &h1), 0);
		r = store_exposure_import(st, "admin:t", "f", imports[i].text,
		    strlen(imports[i].text), 100, &added, &present, err,
		    sizeof(err));
		assert_int_equal(store_audit_head(st, &h2), 0);
		if (imports[i].err == NULL) {
			if (r != 0)
				fail_msg("case %zu: %s", i, err);
			assert_int_equal(added, imports[i].added);
			assert_int_equal(present, imports[i].present);
			assert_int_equal(h2, h1 + 1); /* exposure.import */
			have += added;
		} else {
			assert_int_equal(r, PV_ERR_INVALID);
			if (strstr(err, imports[i].err) != err)
				fail_msg("case %zu: \"%s\", want \"%s\"", i,
				    err, imports[i].err);
			assert_int_equal(added + present, 0);
			assert_int_equal(h2, h1);
		}
		assert_int_equal(xs_count(st, NULL), have);
	}
	/* A NUL byte anywhere refuses the file. */
	r = store_exposure_import(st, "admin:t", "f",
	    "provider,system,kind,reference\nacme,s,k,r\0\n", 44, 100, &added,
	    &present, err, sizeof(err));
	assert_int_equal(r, PV_ERR_INVALID);
	assert_string_equal(err, "f:1: a NUL byte in the file");
	store_close(st);
}

/* Every target account acme's engineers had a session as is an exposure. */
static void
test_exposure_sessions(void **state)
{
	struct store_session_info in = { .engineer = "alice",
		.target = "db01",
		.account = "postgres",
		.rule = "r",
		.client_addr = "192.0.2.1" };
	char id[PV_UUID_LEN + 1];
	struct store *st;
	struct xs l = { .n = 0 };

	(void)state;
	assert_int_equal(store_open(tsu_mem(), &st), 0);
	exit_populate(st);
	assert_int_equal(store_session_open(st, &in, 100, id), 0);
	assert_int_equal(store_session_open(st, &in, 200, id), 0);
	in.engineer = "bob";
	in.account = "root";
	assert_int_equal(store_session_open(st, &in, 300, id), 0);
	in.engineer = "carol";
	assert_int_equal(store_session_open(st, &in, 400, id), 0);
	assert_int_equal(store_exposure_list(st, "acme", xs_cb, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(
	    l.line[0], "session acme postgres@db01 account sessions alice 2");
	assert_string_equal(
	    l.line[1], "session acme root@db01 account sessions bob 1");
	assert_int_equal(xs_count(st, "other"), 1);
	assert_int_equal(xs_count(st, NULL), 3);
	assert_int_equal(
	    store_exposure_list(st, "nope", xs_cb, &l), PV_ERR_NOT_FOUND);
	store_close(st);
}

/* A schema 2 store (before exposures had a kind) migrates with its rows. */
static void
test_migrate_v2(void **state)
{
	char dir[256], path[300];
	struct store *st;
	struct xs l = { .n = 0 };
	int v;

	(void)state;
	assert_int_equal(tsu_tmpdir(dir, sizeof(dir)), 0);
	assert_true(snprintf(path, sizeof(path), "%s/v2.db", dir) > 0);
	assert_int_equal(store_open(path, &st), 0);
	assert_int_equal(tsu_populate(st), 0);
	/* Back to schema 2 exactly, with an exposure of its time. */
	assert_int_equal(sqlite3_exec(st_sqlite_db(st),
			     "DROP TABLE mfa_grace;"
			     "DROP TABLE session_kills;"
			     "DROP TABLE broker_leases;"
			     "DROP INDEX sessions_broker;"
			     "ALTER TABLE sessions DROP COLUMN broker;"
			     "DROP TABLE approver_keys;"
			     "DROP TABLE approver_totp;"
			     "ALTER TABLE approvers DROP COLUMN auth_failures;"
			     "ALTER TABLE approvers DROP COLUMN locked_until;"
			     "ALTER TABLE grant_approvals DROP COLUMN "
			     "authenticated;"
			     "ALTER TABLE grant_approvals DROP COLUMN "
			     "client_addr;"
			     "ALTER TABLE grants DROP COLUMN break_glass;"
			     "DROP TABLE incidents;"
			     "DROP TABLE outages;"
			     "DROP INDEX grants_ticket;"
			     "DROP INDEX sessions_grant;"
			     "ALTER TABLE targets DROP COLUMN region;"
			     "DROP TABLE target_baselines;"
			     "DROP TABLE target_admin;"
			     "DROP TABLE exit_items;"
			     "DROP TABLE exits;"
			     "DROP INDEX exposures_provider;"
			     "DROP INDEX sessions_engineer;"
			     "ALTER TABLE exposures DROP COLUMN kind;"
			     "ALTER TABLE exposures DROP COLUMN account;"
			     "ALTER TABLE exposures DROP COLUMN system;"
			     "INSERT INTO exposures(provider_id, target_id, "
			     "secret_ref, exposed_at) VALUES (1, 1, "
			     "'vault:old', 50);"
			     "PRAGMA user_version = 2;",
			     NULL, NULL, NULL),
	    SQLITE_OK);
	store_close(st);
	assert_int_equal(store_open(path, &st), 0);
	assert_int_equal(store_schema_version(st, &v), 0);
	assert_int_equal(v, STORE_SCHEMA_VERSION);
	assert_int_equal(store_exposure_list(st, "acme", xs_cb, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(
	    l.line[0], "recorded acme -@db01 secret vault:old - 0");
	store_close(st);
	tsu_rmdir(dir);
}

static int
count_items(void *ctx, const struct store_exit_item *i)
{
	(void)i;
	(*(int *)ctx)++;
	return 0;
}

/*
 * The exit's record: begun once (the provider exiting, its engineers
 * refused), an item started twice counts two attempts and stays
 * unfinished until done, finishing makes the provider exited, and the
 * legal hold is lifted and restored, each audited.
 */
static void
test_exit_record(void **state)
{
	struct store *st;
	struct store_exit *x = NULL, *y = NULL;
	struct store_exit_item *it = NULL;
	struct store_engineer *e = NULL;
	struct store_provider *p = NULL;
	struct store_audit_report rep;
	int created, n = 0;

	(void)state;
	assert_int_equal(store_open(tsu_mem(), &st), 0);
	assert_int_equal(tsu_populate(st), 0);
	assert_int_equal(store_exit_get(st, "acme", &x), PV_ERR_NOT_FOUND);
	assert_int_equal(
	    store_exit_begin(st, "admin:t", "nope", 0, 10, &x, &created),
	    PV_ERR_NOT_FOUND);
	assert_int_equal(
	    store_exit_begin(st, "admin:t", "acme", 99, 10, &x, &created), 0);
	assert_int_equal(created, 1);
	assert_int_equal(x->contract_end, 99);
	assert_int_equal(x->legal_hold, 1);
	/* begun again: the same exit */
	assert_int_equal(
	    store_exit_begin(st, "admin:t", "acme", 0, 20, &y, &created), 0);
	assert_int_equal(created, 0);
	assert_string_equal(x->id, y->id);
	store_exit_free(y);
	assert_int_equal(store_provider_get(st, "acme", &p), 0);
	assert_int_equal(p->status, STORE_PROVIDER_EXITING);
	store_provider_free(p);
	assert_int_equal(store_engineer_get_by_login(st, "alice", &e), 0);
	assert_true(e->provider_blocked);
	store_engineer_free(e);
	assert_int_equal(store_exit_of_engineer(st, "alice"), 1);

	assert_int_equal(store_exit_item_get(st, x->id, "rotate", "k", &it), 0);
	assert_null(it);
	assert_int_equal(store_exit_item_set(st, "admin:t", x->id, "rotate",
			     "k", STORE_EXIT_STARTED, NULL, 30),
	    0);
	assert_int_equal(store_exit_item_set(st, "admin:t", x->id, "rotate",
			     "k", STORE_EXIT_STARTED, NULL, 31),
	    0);
	assert_int_equal(store_exit_item_get(st, x->id, "rotate", "k", &it), 0);
	assert_int_equal(it->state, STORE_EXIT_STARTED);
	assert_int_equal(it->attempts, 2);
	store_exit_item_free(it);
	assert_int_equal(
	    store_exit_item_set(st, "admin:t", x->id, "rotate", "k",
		STORE_EXIT_DONE, json_pack("{s:s}", "fingerprint", "f1"), 32),
	    0);
	assert_int_equal(store_exit_item_get(st, x->id, "rotate", "k", &it), 0);
	assert_int_equal(it->state, STORE_EXIT_DONE);
	assert_int_equal(it->attempts, 2);
	assert_string_equal(it->detail, "{\"fingerprint\":\"f1\"}");
	store_exit_item_free(it);
	assert_int_equal(store_exit_item_set(st, "admin:t", x->id, "sweep", "t",
			     STORE_EXIT_UNRESOLVED, NULL, 33),
	    0);
	assert_int_equal(
	    store_exit_item_list(st, x->id, NULL, count_items, &n), 0);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(
	    store_exit_item_list(st, x->id, "sweep", count_items, &n), 0);
	assert_int_equal(n, 1);

	assert_int_equal(
	    store_exit_finish(st, "admin:t", x->id, "/b", "abc", 40), 0);
	assert_int_equal(
	    store_exit_finish(st, "admin:t", "no-such", "/b", "abc", 40),
	    PV_ERR_NOT_FOUND);
	assert_int_equal(store_provider_get(st, "acme", &p), 0);
	assert_int_equal(p->status, STORE_PROVIDER_EXITED);
	store_provider_free(p);
	assert_int_equal(
	    store_exit_hold(st, "admin:t", "acme", 0, "settled"), 0);
	store_exit_free(x);
	assert_int_equal(store_exit_get(st, "acme", &x), 0);
	assert_int_equal(x->finished_at, 40);
	assert_int_equal(x->legal_hold, 0);
	assert_string_equal(x->bundle, "/b");
	store_exit_free(x);
	assert_int_equal(
	    store_exit_hold(st, "admin:t", "globex", 0, "x"), PV_ERR_NOT_FOUND);
	assert_int_equal(store_exit_of_engineer(st, "nobody"), 0);
	assert_int_equal(store_audit_verify(st, NULL, &rep), 0);
	store_close(st);
}

/* What the built-in unix-password rotation reads back from a target. */
static void
test_shadow_parse(void **state)
{
	static const struct {
		const char *text;
		const char *field; /* NULL: refused */
		const char *method, *result, *err;
	} cases[] = {
		{ "H\t$y$j9T$abc$def\nM\t6\n", "$y$j9T$abc$def", "6", "",
		    NULL },
		{ "H\t!$6$s$h\nM\ty\nM\t6\nS\tset\n", "!$6$s$h", "y", "set",
		    NULL },
		{ "M\ty\nH\t*\n", "*", "y", "", NULL },
		{ "H\t\nS\tsame", "", "", "same", NULL },
		{ "", NULL, NULL, NULL, "the account is not in the shadow" },
		{ "M\ty\n", NULL, NULL, NULL, "not in the shadow file" },
		{ "H\ta\nH\tb\n", NULL, NULL, NULL,
		    "line 2: the account twice" },
		{ "H\ta:b\n", NULL, NULL, NULL, "line 1: a character" },
		{ "H\ta b\n", NULL, NULL, NULL, "line 1: a character" },
		{ "H\ta\nM\t5\n", NULL, NULL, NULL, "line 2: a method" },
		{ "H\ta\nS\tdone\n", NULL, NULL, NULL, "line 2: a result" },
		{ "H\ta\nS\tset\nS\tset\n", NULL, NULL, NULL,
		    "line 3: a result" },
		{ "H\ta\n\n", NULL, NULL, NULL, "line 2: not KIND<TAB>VALUE" },
		{ "X\ta\n", NULL, NULL, NULL, "line 1: unknown kind" },
		{ "Ha\n", NULL, NULL, NULL, "line 1: not KIND" },
	};
	struct store_shadow_look l;
	char err[256], longf[STORE_SHADOW_FIELD_MAX + 8];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = store_shadow_parse(
		    cases[i].text, strlen(cases[i].text), &l, err, sizeof(err));

		if (cases[i].field == NULL) {
			assert_int_not_equal(r, 0);
			assert_non_null(strstr(err, cases[i].err));
			continue;
		}
		assert_int_equal(r, 0);
		assert_string_equal(l.field, cases[i].field);
		assert_string_equal(l.method, cases[i].method);
		assert_string_equal(l.result, cases[i].result);
	}
	/* one byte over the field's limit */
	memset(longf, 'a', sizeof(longf));
	longf[0] = 'H';
	longf[1] = '\t';
	assert_int_not_equal(
	    store_shadow_parse(
		longf, STORE_SHADOW_FIELD_MAX + 3, &l, err, sizeof(err)),
	    0);
	assert_non_null(strstr(err, "longer than"));
	assert_int_equal(store_shadow_parse(longf, STORE_SHADOW_FIELD_MAX + 2,
			     &l, err, sizeof(err)),
	    0);
	assert_string_equal(store_shadow_method("!$y$x"), "y");
	assert_string_equal(store_shadow_method("$6$x"), "6");
	assert_null(store_shadow_method("$5$x"));
	assert_null(store_shadow_method("*"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_krl_scope),
		cmocka_unit_test(test_exposure_add),
		cmocka_unit_test(test_exposure_import),
		cmocka_unit_test(test_exposure_sessions),
		cmocka_unit_test(test_migrate_v2),
		cmocka_unit_test(test_exit_record),
		cmocka_unit_test(test_shadow_parse),
	};

	return cmocka_run_group_tests_name("store_exit", tests, NULL, NULL);
}
