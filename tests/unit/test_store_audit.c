/*
 * test_store_audit.c: the audit chain: every change audited, checkpoints
 * signed, and each kind of tampering (edit, delete, insert, reorder,
 * truncation, forged or deleted checkpoint) detected and the row named.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/store-int.h"
#include "store_test_util.h"

struct fixture {
	struct store *st;
	EVP_PKEY *key;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int i;

	if (f == NULL)
		return -1;
	*state = f;
	if ((f->key = tsu_audit_key()) == NULL ||
	    store_open(tsu_mem(), &f->st) != 0 ||
	    store_set_audit_key(f->st, f->key) != 0)
		return -1;
	/* Rows 1..10, no checkpoint yet. */
	for (i = 0; i < 10; i++) {
		json_t *d = json_pack("{s:i, s:s}", "i", i, "note", "é\"x");

		if (store_audit_append(
			f->st, "admin:t", "test.row", "obj:x", d) != 0)
			return -1;
		json_decref(d);
	}
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->st);
	EVP_PKEY_free(f->key);
	free(f);
	return 0;
}

static void
sql(struct store *st, const char *q)
{
	/* the insider's SQL, through the store's own connection (any engine) */
	if (st_exec(st, q, "test") != 0)
		fail_msg("%s: %s", q, store_errmsg(st));
}

/* The attacker first drops the append-only triggers. */
static void
untrigger(struct store *st)
{
	if (tsu_pg())
		sql(st,
		    "DROP TRIGGER audit_no_update ON audit; DROP TRIGGER "
		    "audit_no_delete ON audit; DROP TRIGGER "
		    "checkpoint_no_update "
		    "ON audit_checkpoints; DROP TRIGGER checkpoint_no_delete "
		    "ON "
		    "audit_checkpoints");
	else
		sql(st,
		    "DROP TRIGGER audit_no_update; DROP TRIGGER "
		    "audit_no_delete; DROP TRIGGER checkpoint_no_update; DROP "
		    "TRIGGER checkpoint_no_delete");
}

static void
expect_bad(struct fixture *f, uint64_t seq, const char *what)
{
	struct store_audit_report rep;

	assert_int_equal(store_audit_verify(f->st, f->key, &rep), PV_ERR_AUTH);
	if (rep.bad_seq != seq || strstr(rep.what, what) == NULL)
		fail_msg("want row %llu \"%s\", got row %llu \"%s\"",
		    (unsigned long long)seq, what,
		    (unsigned long long)rep.bad_seq, rep.what);
}

static void
test_intact(void **state)
{
	struct fixture *f = *state;
	struct store_audit_report rep;
	uint64_t head;

	assert_int_equal(store_audit_verify(f->st, f->key, &rep), 0);
	assert_int_equal(rep.rows, 10);
	assert_int_equal(rep.bad_seq, 0);
	assert_int_equal(store_audit_head(f->st, &head), 0);
	assert_int_equal(head, 10);
	/* Details are canonical JSON: sorted keys, compact. */
	{
		struct st_q *s;

		assert_int_equal(
		    st_prep_once(
			f->st, "SELECT details FROM audit WHERE seq = 1", &s),
		    0);
		assert_int_equal(st_step_row(f->st, s, "test"), 1);
		assert_string_equal(
		    st_col_text(s, 0), "{\"i\":0,\"note\":\"é\\\"x\"}");
		st_free(s);
	}
	/* Outside a transaction st_audit refuses. */
	assert_int_equal(st_audit(f->st, "a", "b", "c", NULL), PV_ERR_INTERNAL);
	{
		json_t *one = json_integer(1);

		assert_int_equal(store_audit_append(f->st, "a", "b", "c", one),
		    PV_ERR_INVALID);
		json_decref(one);
	}
}

static void
test_edit(void **state)
{
	struct fixture *f = *state;

	untrigger(f->st);
	sql(f->st,
	    "UPDATE audit SET details = '{\"i\":99,\"note\":\"x\"}' "
	    "WHERE seq = 5");
	expect_bad(f, 5, "row 5 edited");
}

static void
test_edit_actor(void **state)
{
	struct fixture *f = *state;

	untrigger(f->st);
	sql(f->st, "UPDATE audit SET actor = 'admin:mallory' WHERE seq = 7");
	expect_bad(f, 7, "row 7 edited");
}

static void
test_edit_noncanonical(void **state)
{
	struct fixture *f = *state;

	untrigger(f->st);
	/* Same meaning, different bytes: still an edit. */
	sql(f->st,
	    "UPDATE audit SET details = '{\"note\":\"é\\\"x\", \"i\":2}' "
	    "WHERE seq = 3");
	expect_bad(f, 3, "row 3 edited");
}

static void
test_delete(void **state)
{
	struct fixture *f = *state;

	untrigger(f->st);
	sql(f->st, "DELETE FROM audit WHERE seq = 5");
	expect_bad(f, 5, "row 5 deleted");
}

static void
test_delete_renumbered(void **state)
{
	struct fixture *f = *state;

	untrigger(f->st);
	sql(f->st,
	    "DELETE FROM audit WHERE seq = 5; UPDATE audit SET seq = -seq "
	    "WHERE seq > 5; UPDATE audit SET seq = -seq - 1 WHERE seq < 0");
	expect_bad(f, 5, "deleted");
}

static void
test_insert(void **state)
{
	struct fixture *f = *state;

	untrigger(f->st);
	/* Make room at 5 and insert a forged row linking to row 4. */
	sql(f->st,
	    "UPDATE audit SET seq = -seq WHERE seq >= 5; UPDATE audit "
	    "SET seq = -seq + 1 WHERE seq < 0; INSERT INTO audit SELECT 5, "
	    "ts, 'admin:mallory', 'grant.approve', 'grant:x', '{}', hash, "
	    "hash, 2 FROM audit WHERE seq = 4");
	expect_bad(f, 5, "row 5 inserted");
}

static void
test_insert_consistent(void **state)
{
	struct fixture *f = *state;
	char prev[STORE_HASH_HEX], h[STORE_HASH_HEX];
	struct st_q *s;
	int canon = 0;

	untrigger(f->st);
	sql(f->st,
	    "UPDATE audit SET seq = -seq WHERE seq >= 5; UPDATE audit "
	    "SET seq = -seq + 1 WHERE seq < 0");
	assert_int_equal(
	    st_prep_once(f->st, "SELECT hash FROM audit WHERE seq = 4", &s), 0);
	assert_int_equal(st_step_row(f->st, s, "test"), 1);
	memcpy(prev, st_col_text(s, 0), STORE_HASH_HEX);
	st_free(s);
	/* A forger who computes the row's hash correctly is caught by the
	 * row after it, which still links to row 4. */
	assert_int_equal(
	    st_audit_row_hash(prev, 5, ST_AUDIT_FORM, 1, "admin:mallory",
		"grant.approve", "grant:x", "{}", h, &canon),
	    0);
	assert_true(canon);
	assert_int_equal(st_prep_once(f->st,
			     "INSERT INTO audit VALUES (5, 1, 'admin:mallory', "
			     "'grant.approve', 'grant:x', '{}', ?, ?, 2)",
			     &s),
	    0);
	assert_int_equal(st_bind_text(f->st, s, 1, prev), 0);
	assert_int_equal(st_bind_text(f->st, s, 2, h), 0);
	assert_int_equal(st_step_done(f->st, s, "test"), 0);
	st_free(s);
	expect_bad(f, 5, "row 5 inserted (row 6 links to row 4)");
}

static void
test_reorder(void **state)
{
	struct fixture *f = *state;

	untrigger(f->st);
	sql(f->st,
	    "UPDATE audit SET seq = -5 WHERE seq = 5; UPDATE audit SET "
	    "seq = 5 WHERE seq = 6; UPDATE audit SET seq = 6 WHERE seq = "
	    "-5");
	expect_bad(f, 5, "row 5 reordered");
}

static void
test_checkpoints_and_truncation(void **state)
{
	struct fixture *f = *state;
	struct store_audit_report rep;
	uint64_t at;
	int i;

	/* 10 + 95 rows: row 100 triggers a checkpoint (its record is 101). */
	for (i = 0; i < 95; i++)
		assert_int_equal(
		    store_audit_append(f->st, "t", "test.more", "o", NULL), 0);
	assert_int_equal(store_audit_verify(f->st, f->key, &rep), 0);
	assert_int_equal(rep.checkpoints, 1);
	assert_int_equal(rep.rows, 106);
	assert_int_equal(store_audit_checkpoint(f->st, &at), 0);
	assert_int_equal(at, 106);
	assert_int_equal(store_audit_verify(f->st, f->key, &rep), 0);
	assert_int_equal(rep.checkpoints, 2);
	/* A different key does not verify the signatures. */
	{
		EVP_PKEY *other = tsu_audit_key();

		assert_int_equal(
		    store_audit_verify(f->st, other, &rep), PV_ERR_AUTH);
		assert_non_null(strstr(rep.what, "bad signature"));
		EVP_PKEY_free(other);
	}
	/* Cut the tail back to row 90: the signed checkpoint at 100 shows it. */
	untrigger(f->st);
	sql(f->st, "DELETE FROM audit WHERE seq > 90");
	expect_bad(f, 91, "log truncated: it ends at row 90");
}

/*
 * The insider with the store file but not the audit key: recomputes every
 * hash after an edit, deletes the checkpoints and their rows.
 */
static void
rehash_all(struct store *st)
{
	char prev[STORE_HASH_HEX] = "0000000000000000000000000000000000000000"
				    "000000000000000000000000",
	     h[STORE_HASH_HEX];
	struct st_q *s, *u;
	int canon;

	assert_int_equal(st_prep_once(st,
			     "SELECT seq, ts, actor, action, object, details, "
			     "form FROM audit ORDER BY seq",
			     &s),
	    0);
	assert_int_equal(st_prep_once(st,
			     "UPDATE audit SET prev_hash = ?, hash = ? WHERE "
			     "seq = ?",
			     &u),
	    0);
	while (st_step_row(st, s, "test") == 1) {
		assert_int_equal(
		    st_audit_row_hash(prev, (uint64_t)st_col_i64(s, 0),
			st_col_int(s, 6), st_col_i64(s, 1), st_col_text(s, 2),
			st_col_text(s, 3), st_col_text(s, 4), st_col_text(s, 5),
			h, &canon),
		    0);
		assert_int_equal(st_bind_text(st, u, 1, prev), 0);
		assert_int_equal(st_bind_text(st, u, 2, h), 0);
		assert_int_equal(st_bind_i64(st, u, 3, st_col_i64(s, 0)), 0);
		assert_int_equal(st_step_done(st, u, "test"), 0);
		st_done(u);
		memcpy(prev, h, STORE_HASH_HEX);
	}
	st_free(s);
	st_free(u);
}

static int
anchor_out(void *ctx, const struct store_anchor *a)
{
	char *j = store_anchor_json(a);

	assert_non_null(j);
	fprintf(ctx, "provostd: audit anchor: %s\n", j);
	free(j);
	return 0;
}

static void
test_insider(void **state)
{
	struct fixture *f = *state;
	struct store_audit_report rep;
	char *buf = NULL;
	size_t len = 0;
	char bad[] = "{\"seq\":1}\n";
	uint64_t n;
	FILE *mem, *in;
	int i;

	/* 10 + 240 rows: checkpoints at 100 and 200, published. */
	for (i = 0; i < 240; i++)
		assert_int_equal(
		    store_audit_append(f->st, "t", "test.more", "o", NULL), 0);
	assert_non_null(mem = open_memstream(&buf, &len));
	assert_int_equal(store_audit_anchors(f->st, 0, anchor_out, mem), 0);
	assert_int_equal(fclose(mem), 0);
	assert_non_null(strstr(buf, "\"seq\":100,"));
	assert_non_null(strstr(buf, "\"seq\":200,"));
	assert_non_null(in = fmemopen(buf, len, "r"));
	assert_int_equal(
	    store_audit_verify_anchors(f->st, f->key, "off-host", in, &n, &rep),
	    0);
	assert_int_equal(n, 2);
	fclose(in);
	/* Edit row 50, drop the checkpoints and their rows, rehash. */
	untrigger(f->st);
	sql(f->st,
	    "DELETE FROM "
	    "audit_checkpoints; DELETE FROM audit WHERE action = "
	    "'audit.checkpoint'; UPDATE audit SET seq = -seq WHERE seq > 101; "
	    "UPDATE audit SET seq = -seq - 1 WHERE seq < 0 AND -seq < 201; "
	    "UPDATE audit SET seq = -seq - 2 WHERE seq < 0; "
	    "UPDATE audit SET actor = 'admin:nobody' WHERE seq = 50");
	rehash_all(f->st);
	/* A checkpoint is due every 100 rows: its absence is the tell. */
	expect_bad(f, 100, "checkpoint at row 100 missing");
	/* Cut back below the first checkpoint: the chain alone cannot tell. */
	sql(f->st, "DELETE FROM audit WHERE seq > 60");
	rehash_all(f->st);
	assert_int_equal(store_audit_verify(f->st, f->key, &rep), 0);
	/* The anchors kept off the host can. */
	assert_non_null(in = fmemopen(buf, len, "r"));
	assert_int_equal(
	    store_audit_verify_anchors(f->st, f->key, "off-host", in, &n, &rep),
	    PV_ERR_AUTH);
	assert_non_null(strstr(rep.what, "row 100 is gone"));
	fclose(in);
	/* A line that is no anchor is named. */
	assert_non_null(in = fmemopen(bad, strlen(bad), "r"));
	assert_int_equal(
	    store_audit_verify_anchors(f->st, f->key, "x", in, &n, &rep),
	    PV_ERR_INVALID);
	assert_non_null(strstr(rep.what, "x:1: not an anchor"));
	fclose(in);
	free(buf);
}

static void
test_checkpoint_forged(void **state)
{
	struct fixture *f = *state;
	int i;

	for (i = 0; i < 95; i++)
		assert_int_equal(
		    store_audit_append(f->st, "t", "test.more", "o", NULL), 0);
	untrigger(f->st);
	sql(f->st, "UPDATE audit_checkpoints SET ts = ts + 1");
	expect_bad(f, 100, "checkpoint at row 100 has a bad signature");
}

static void
test_checkpoint_deleted(void **state)
{
	struct fixture *f = *state;
	int i;

	for (i = 0; i < 95; i++)
		assert_int_equal(
		    store_audit_append(f->st, "t", "test.more", "o", NULL), 0);
	untrigger(f->st);
	sql(f->st, "DELETE FROM audit_checkpoints");
	expect_bad(f, 100, "checkpoint at row 100 deleted");
}

static void
test_export(void **state)
{
	struct fixture *f = *state;
	char *buf = NULL, *p;
	size_t len = 0;
	FILE *out;
	int lines = 0;

	assert_non_null(out = open_memstream(&buf, &len));
	assert_int_equal(store_audit_export(f->st, 0, out), 0);
	fclose(out);
	for (p = buf; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	assert_int_equal(lines, 10);
	assert_non_null(strstr(buf, "\"action\":\"test.row\""));
	assert_non_null(strstr(buf, "\"seq\":1,"));
	{
		json_error_t je;
		json_t *j = json_loadb(buf, strcspn(buf, "\n"), 0, &je);

		assert_non_null(j);
		assert_true(json_is_object(json_object_get(j, "details")));
		assert_int_equal(
		    strlen(json_string_value(json_object_get(j, "hash"))), 64);
		json_decref(j);
	}
	free(buf);
	buf = NULL;
	assert_non_null(out = open_memstream(&buf, &len));
	assert_int_equal(
	    store_audit_export(f->st, pv_wall_ms() + 60000, out), 0);
	fclose(out);
	assert_int_equal(len, 0);
	free(buf);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_intact),
		T(test_edit),
		T(test_edit_actor),
		T(test_edit_noncanonical),
		T(test_delete),
		T(test_delete_renumbered),
		T(test_insert),
		T(test_insert_consistent),
		T(test_reorder),
		T(test_checkpoints_and_truncation),
		T(test_insider),
		T(test_checkpoint_forged),
		T(test_checkpoint_deleted),
		T(test_export),
	};
#undef T

	pv_log_init("test_store_audit", PV_LOG_STDERR, PV_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
