/*
 * store_bench.c: bench/store's driver: grant checks and whole decisions
 * (store_decide: the rows, the policy, the best grant, as the broker asks
 * at every channel) per second against a store of 10,000 engineers and
 * 100,000 grants, and audit appends per
 * second (each its own durable transaction), each against a baseline of
 * the same engine in the same run: one prepared indexed lookup, one raw
 * INSERT a transaction.  The store is a temp SQLite file, or the empty
 * PostgreSQL database given as argv[1] (postgresql://...).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/common.h"
#include "policy/policy.h"
#include "store/store-int.h"

#define ENGINEERS 10000
#define TARGETS 1000
#define GRANTS 100000
#define CHECK_MS 2000
#define APPEND_MS 3000
#define WRITERS 4
#define WRITER_ROWS 500

static void
die(const char *what, struct store *st)
{
	fprintf(stderr, "store_bench: %s: %s\n", what,
	    st ? store_errmsg(st) : "failed");
	exit(1);
}

static void
exec_sql(struct store *st, const char *sql)
{
	if (st_exec(st, sql, "bench") != 0)
		die(sql, st);
}

/* A prepared statement, or the run ends. */
static struct st_q *
prep(struct store *st, const char *sql)
{
	struct st_q *q = NULL;

	if (st_prep_once(st, sql, &q) != 0)
		die("prepare", st);
	return q;
}

static void
step(struct store *st, struct st_q *q, const char *what)
{
	if (st_step_done(st, q, what) != 0)
		die(what, st);
	st_done(q);
}

/* Bulk rows in one transaction: setup, not measured. */
static void
populate(struct store *st, int64_t now)
{
	struct st_q *s;
	char name[64], id[PV_UUID_LEN + 1];
	int i;

	if (st_begin(st, 1) != 0)
		die("begin", st);
	exec_sql(st,
	    "INSERT INTO providers(name, created_at) VALUES "
	    "('acme', 0)");
	s = prep(st,
	    "INSERT INTO engineers(login, provider_id, created_at) VALUES "
	    "(?, 1, 0)");
	for (i = 0; i < ENGINEERS; i++) {
		(void)snprintf(name, sizeof(name), "eng%05d", i);
		if (st_bind_text(st, s, 1, name) != 0)
			die("bind", st);
		step(st, s, "engineer");
	}
	st_free(s);
	s = prep(st,
	    "INSERT INTO targets(name, host, port, hostkey, "
	    "classification, created_at) VALUES (?, '127.0.0.1', 22, "
	    "'ssh-ed25519 AAAA', 'confidential', 0)");
	for (i = 0; i < TARGETS; i++) {
		(void)snprintf(name, sizeof(name), "tgt%04d", i);
		if (st_bind_text(st, s, 1, name) != 0)
			die("bind", st);
		step(st, s, "target");
	}
	st_free(s);
	exec_sql(st,
	    "INSERT INTO target_accounts SELECT id, 'root' FROM "
	    "targets");
	exec_sql(st,
	    "INSERT INTO target_accounts SELECT id, "
	    "'postgres' FROM targets");
	/* 10 grants per engineer: a mix of active, expired, pending, revoked. */
	s = prep(st,
	    "INSERT INTO grants(id, engineer_id, target_id, account, rule, "
	    "approval, approvals_needed, approval_group, requested_by, "
	    "requested_at, duration, state, not_before, not_after) VALUES "
	    "(?1, ?2, ?3, ?4, 'confidential', 'group', 1, 'security', "
	    "'bench', ?5, 3600, ?6, ?7, ?8)");
	for (i = 0; i < GRANTS; i++) {
		static const char *const states[] = { "active", "expired",
			"pending", "revoked" };
		const char *state = states[i % 4];
		int pending = i % 4 == 2, r;

		if (pv_uuid_new(id) != 0)
			die("uuid", st);
		r = st_bind_text(st, s, 1, id) |
		    st_bind_i64(st, s, 2, 1 + i % ENGINEERS) |
		    st_bind_i64(
			st, s, 3, 1 + (i / ENGINEERS * 97 + i) % TARGETS) |
		    st_bind_text(st, s, 4, i % 3 ? "root" : "postgres") |
		    st_bind_i64(st, s, 5, now - 600) |
		    st_bind_text(st, s, 6, state);
		if (pending)
			r |= st_bind_null(st, s, 7) | st_bind_null(st, s, 8);
		else
			r |= st_bind_i64(st, s, 7, now - 600) |
			    st_bind_i64(
				st, s, 8, i % 4 == 1 ? now - 60 : now + 3000);
		if (r != 0)
			die("bind", st);
		step(st, s, "grant");
	}
	st_free(s);
	if (st_commit(st) != 0)
		die("commit", st);
	exec_sql(st, "ANALYZE");
}

/* Grant checks: the store's best grant for a random connection. */
static double
bench_checks(struct store *st, int64_t now, uint64_t *found)
{
	char eng[32], tgt[32];
	struct store_grant *g;
	uint64_t t0 = pv_mono_ms(), n = 0;
	uint32_t x = 12345;
	int r;

	*found = 0;
	while (pv_mono_ms() - t0 < CHECK_MS) {
		uint32_t i;

		x = x * 1103515245 + 12345;
		i = (x >> 4) % GRANTS;
		if (x & 0x4) {
			/* A connection some grant was made for. */
			(void)snprintf(
			    eng, sizeof(eng), "eng%05u", i % ENGINEERS);
			(void)snprintf(tgt, sizeof(tgt), "tgt%04u",
			    (i / ENGINEERS * 97 + i) % TARGETS);
		} else {
			(void)snprintf(
			    eng, sizeof(eng), "eng%05u", (x >> 8) % ENGINEERS);
			(void)snprintf(
			    tgt, sizeof(tgt), "tgt%04u", (x >> 3) % TARGETS);
		}
		r = store_grant_best_for(st, eng, tgt,
		    (x & 0x4) ? (i % 3 ? "root" : "postgres")
			      : ((x & 1) ? "root" : "postgres"),
		    now, &g);
		if (r == 0) {
			(*found)++;
			store_grant_free(g);
		} else if (r != PV_ERR_NOT_FOUND)
			die("best_for", st);
		n++;
	}
	return (double)n * 1000.0 / (double)(pv_mono_ms() - t0);
}

/*
 * Whole decisions: store_decide for a random engineer, target and
 * account, a shell, under a rule that needs a grant (Approval auto: an
 * active one allows): the rows, the policy's evaluation, the best grant.
 * *allowed: how many said yes (about a quarter: the active grants).
 */
static double
bench_decisions(struct store *st, int64_t now, uint64_t *allowed)
{
	static const char text[] = "Levels public internal confidential\n"
				   "Rule confidential\n"
				   "    Classification confidential\n"
				   "    Approval auto\n"
				   "    Channels shell exec\n";
	struct policy *pol = NULL;
	struct store_decide_req req;
	struct store_decision sd;
	char eng[32], tgt[32], err[256];
	uint64_t t0, n = 0;
	uint32_t x = 54321;
	int r;

	if (policy_load_mem("bench.policy", text, sizeof(text) - 1, &pol, err,
		sizeof(err)) != 0) {
		fprintf(stderr, "store_bench: policy: %s\n", err);
		exit(1);
	}
	*allowed = 0;
	t0 = pv_mono_ms();
	while (pv_mono_ms() - t0 < CHECK_MS) {
		uint32_t i;

		x = x * 1103515245 + 12345;
		i = (x >> 4) % GRANTS;
		/* half of them a connection some grant was made for */
		(void)snprintf(eng, sizeof(eng), "eng%05u",
		    (x & 0x4) ? i % ENGINEERS : (x >> 8) % ENGINEERS);
		(void)snprintf(tgt, sizeof(tgt), "tgt%04u",
		    (x & 0x4) ? (i / ENGINEERS * 97 + i) % TARGETS
			      : (x >> 3) % TARGETS);
		memset(&req, 0, sizeof(req));
		req.engineer = eng;
		req.target = tgt;
		req.account = (x & 0x4) ? (i % 3 ? "root" : "postgres")
					: ((x & 1) ? "root" : "postgres");
		req.channel = POLICY_CH_SHELL;
		req.now = now;
		r = store_decide(st, pol, &req, &sd);
		if (r == PV_ALLOW)
			(*allowed)++;
		else if (r != PV_DENY)
			die("decide", st);
		store_decision_clear(&sd);
		n++;
	}
	policy_free(pol);
	return (double)n * 1000.0 / (double)(pv_mono_ms() - t0);
}

/* Baseline: one indexed lookup by login with a prepared statement. */
static double
bench_lookup(struct store *st)
{
	char eng[32];
	struct st_q *s;
	uint64_t t0 = pv_mono_ms(), n = 0;
	uint32_t x = 12345;

	s = prep(st, "SELECT id FROM engineers WHERE login = ?");
	while (pv_mono_ms() - t0 < CHECK_MS) {
		x = x * 1103515245 + 12345;
		(void)snprintf(
		    eng, sizeof(eng), "eng%05u", (x >> 8) % ENGINEERS);
		if (st_bind_text(st, s, 1, eng) != 0 ||
		    st_step_row(st, s, "lookup") != 1)
			die("lookup", st);
		st_done(s);
		n++;
	}
	st_free(s);
	return (double)n * 1000.0 / (double)(pv_mono_ms() - t0);
}

/* Audit appends, each its own durable transaction. */
static uint64_t
round_appends(struct store *st, uint64_t ms, uint64_t *elapsed)
{
	uint64_t t0 = pv_mono_ms(), n = 0;
	json_t *d;

	while (pv_mono_ms() - t0 < ms) {
		d = json_pack(
		    "{s:s, s:I}", "engineer", "eng00001", "n", (json_int_t)n);
		if (store_audit_append(
			st, "bench", "bench.append", "grant:x", d) != 0)
			die("append", st);
		json_decref(d);
		n++;
	}
	*elapsed += pv_mono_ms() - t0;
	return n;
}

/* Baseline: a raw INSERT of a similar row per committed transaction. */
static uint64_t
round_raw(struct store *st, struct st_q *s, uint64_t ms, uint64_t *elapsed)
{
	uint64_t t0 = pv_mono_ms(), n = 0;

	while (pv_mono_ms() - t0 < ms) {
		if (st_begin(st, 1) != 0 ||
		    st_bind_i64(st, s, 1, pv_wall_ms()) != 0)
			die("raw begin", st);
		step(st, s, "raw insert");
		if (st_commit(st) != 0)
			die("raw commit", st);
		n++;
	}
	*elapsed += pv_mono_ms() - t0;
	return n;
}

/* Alternating rounds, so that disk noise hits both alike. */
static void
bench_appends(struct store *st, double *appends, double *raw, uint64_t *rows)
{
	uint64_t na = 0, nr = 0, ta = 0, tr = 0;
	struct st_q *s;
	int i;

	exec_sql(st,
	    "CREATE TABLE raw(ts BIGINT, actor TEXT, action TEXT, "
	    "object TEXT, details TEXT, prev_hash TEXT, hash TEXT)");
	s = prep(st,
	    "INSERT INTO raw(ts, actor, action, object, details, prev_hash, "
	    "hash) VALUES (?, 'bench', 'bench.append', 'grant:x', "
	    "'{\"engineer\":\"eng00001\",\"n\":1}', "
	    "'0000000000000000000000000000000000000000000000000000000000000"
	    "000', "
	    "'0000000000000000000000000000000000000000000000000000000000000"
	    "000')");
	for (i = 0; i < 6; i++) {
		nr += round_raw(st, s, APPEND_MS / 6, &tr);
		na += round_appends(st, APPEND_MS / 6, &ta);
	}
	st_free(s);
	*rows = na;
	*appends = (double)na * 1000.0 / (double)(ta ? ta : 1);
	*raw = (double)nr * 1000.0 / (double)(tr ? tr : 1);
}

/*
 * WRITERS processes at once (as brokers sharing the store), each with its
 * own connection appending WRITER_ROWS audit rows; then the chain is
 * verified whole.  Rows a second over all of them.
 */
static double
bench_writers(const char *where, EVP_PKEY *key, struct store_audit_report *rep)
{
	struct store *st = NULL;
	pid_t pids[WRITERS];
	uint64_t t0 = pv_mono_ms(), t;
	int i, status, bad = 0;

	for (i = 0; i < WRITERS; i++) {
		if ((pids[i] = fork()) < 0)
			die("fork", NULL);
		if (pids[i] == 0) {
			int k;

			if (store_open(where, &st) != 0 ||
			    store_set_audit_key(st, key) != 0)
				_exit(1);
			for (k = 0; k < WRITER_ROWS; k++) {
				json_t *d = json_pack(
				    "{s:i, s:i}", "writer", i, "n", k);

				if (store_audit_append(st, "bench",
					"bench.writer", "grant:x", d) != 0)
					_exit(1);
				json_decref(d);
			}
			store_close(st);
			_exit(0);
		}
	}
	for (i = 0; i < WRITERS; i++)
		if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			bad = 1;
	t = pv_mono_ms() - t0;
	if (bad)
		die("a writer failed", NULL);
	if (store_open(where, &st) != 0)
		die("open", st);
	if (store_audit_verify(st, key, rep) != 0) {
		fprintf(stderr, "store_bench: the chain does not verify: %s\n",
		    rep->what);
		exit(1);
	}
	store_close(st);
	return (double)(WRITERS * WRITER_ROWS) * 1000.0 / (double)(t ? t : 1);
}

int
main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR"), *where;
	char dir[512] = "", path[600];
	struct store *st = NULL;
	int64_t now = pv_wall_ms() / 1000;
	double checks, decisions, lookups, appends, raw, writers;
	struct store_audit_report vrep = { 0 };
	uint64_t found, allowed, rows, t0;
	EVP_PKEY *key;
	int pg = argc > 1;

	pv_log_init("store_bench", PV_LOG_STDERR, PV_LOG_ERROR);
	if (pg)
		where = argv[1];
	else if (snprintf(dir, sizeof(dir), "%s/provost-bench.XXXXXX",
		     tmp ? tmp : "/tmp") < 0 ||
	    mkdtemp(dir) == NULL ||
	    snprintf(path, sizeof(path), "%s/bench.db", dir) < 0)
		die("temp dir", NULL);
	else
		where = path;
	if (store_open(where, &st) != 0)
		die("open", st);
	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL ||
	    store_set_audit_key(st, key) != 0)
		die("audit key", st);
	t0 = pv_mono_ms();
	populate(st, now);
	fprintf(stderr,
	    "store_bench: %s: %d engineers, %d targets, %d grants in "
	    "%.1f s\n",
	    pg ? "postgresql" : "sqlite", ENGINEERS, TARGETS, GRANTS,
	    (double)(pv_mono_ms() - t0) / 1000.0);
	checks = bench_checks(st, now, &found);
	decisions = bench_decisions(st, now, &allowed);
	lookups = bench_lookup(st);
	bench_appends(st, &appends, &raw, &rows);
	store_close(st);
	writers = bench_writers(where, key, &vrep);
	EVP_PKEY_free(key);
	fprintf(stderr,
	    "store_bench: %d writers x %d rows at once: %.0f rows/s; the "
	    "chain of %llu rows verifies\n",
	    WRITERS, WRITER_ROWS, writers, (unsigned long long)vrep.rows);
	if (dir[0] != '\0') {
		(void)snprintf(path, sizeof(path), "rm -rf '%s'", dir);
		if (system(path) != 0)
			fprintf(
			    stderr, "store_bench: could not remove %s\n", dir);
	}
	printf("{\"engine\":\"%s\",\"engineers\":%d,\"targets\":%d,"
	       "\"grants\":%d,\"grant_checks_per_s\":%.0f,"
	       "\"grant_checks_found\":%llu,\"baseline_lookups_per_s\":%.0f,"
	       "\"grant_check_ratio\":%.3f,\"decisions_per_s\":%.0f,"
	       "\"decisions_allowed\":%llu,\"decision_ratio\":%.3f,"
	       "\"audit_appends_per_s\":%.0f,"
	       "\"audit_rows\":%llu,\"baseline_raw_commits_per_s\":%.0f,"
	       "\"audit_append_ratio\":%.3f,\"writers\":%d,"
	       "\"writer_rows\":%d,\"writers_rows_per_s\":%.0f,"
	       "\"chain_rows_verified\":%llu}\n",
	    pg ? "postgresql" : "sqlite", ENGINEERS, TARGETS, GRANTS, checks,
	    (unsigned long long)found, lookups, checks / lookups, decisions,
	    (unsigned long long)allowed, decisions / lookups, appends,
	    (unsigned long long)rows, raw, appends / raw, WRITERS, WRITER_ROWS,
	    writers, (unsigned long long)vrep.rows);
	return 0;
}
