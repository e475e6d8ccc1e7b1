/*
 * copy.c: provostctl store copy: every row of a SQLite store into an
 * empty store (PostgreSQL, for several brokers), in one transaction.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "store/store-int.h"

/* Parents before children (foreign keys); the id column an engine counts. */
static const struct {
	const char *table, *id;
} copy_tables[] = {
	{ "providers", "id" },
	{ "engineers", "id" },
	{ "engineer_keys", "id" },
	{ "totp", NULL },
	{ "approvers", "id" },
	{ "approver_groups", NULL },
	{ "targets", "id" },
	{ "target_accounts", NULL },
	{ "grants", NULL },
	{ "grant_approvals", NULL },
	{ "sessions", NULL },
	{ "credentials", "serial" },
	{ "exposures", "id" },
	{ "audit", NULL },
	{ "audit_checkpoints", NULL },
	{ "exits", NULL },
	{ "exit_items", NULL },
	{ "target_admin", NULL },
	{ "target_baselines", "id" },
	{ "incidents", NULL },
	{ "outages", "id" },
};

static int
copy_bind(struct store *to, struct st_q *in, struct st_q *s, int i)
{
	const void *b;
	size_t len = 0;

	switch (st_col_type(s, i)) {
	case ST_T_NULL:
		return st_bind_null(to, in, i + 1);
	case ST_T_INT:
		return st_bind_i64(to, in, i + 1, st_col_i64(s, i));
	case ST_T_BLOB:
		b = st_col_blob(s, i, &len);
		return st_bind_blob(to, in, i + 1, b ? b : "", len);
	case ST_T_TEXT:
		return st_bind_text(to, in, i + 1, st_col_text(s, i));
	default:
		return st_fail(to, PV_ERR_UNSUPPORTED,
		    "store copy: a real number in the store");
	}
}

static int
copy_table(
    struct store *from, struct store *to, const char *table, uint64_t *rows)
{
	char sql[1024];
	struct st_q *s = NULL, *in = NULL;
	size_t o;
	int n, i, cols, r;

	/* insertion order: what module SQL ordering by rowid relies on */
	n = snprintf(
	    sql, sizeof(sql), "SELECT * FROM %s ORDER BY rowid", table);
	if (n < 0 || (size_t)n >= sizeof(sql))
		return PV_ERR_INTERNAL;
	if ((r = st_prep_once(from, sql, &s)) != 0)
		return r;
	while ((r = st_step_row(from, s, "store copy")) == 1) {
		if (in == NULL) {
			cols = st_col_count(s);
			n = snprintf(
			    sql, sizeof(sql), "INSERT INTO %s VALUES (", table);
			if (n < 0 || (size_t)n >= sizeof(sql)) {
				r = PV_ERR_INTERNAL;
				goto out;
			}
			o = (size_t)n;
			for (i = 0; i < cols; i++) {
				n = snprintf(sql + o, sizeof(sql) - o, "%s?%d",
				    i ? "," : "", i + 1);
				if (n < 0 || (size_t)n >= sizeof(sql) - o) {
					r = PV_ERR_LIMIT;
					goto out;
				}
				o += (size_t)n;
			}
			if (o + 2 > sizeof(sql)) {
				r = PV_ERR_LIMIT;
				goto out;
			}
			memcpy(sql + o, ")", 2);
			if ((r = st_prep_once(to, sql, &in)) != 0)
				goto out;
		}
		st_done(in);
		for (i = 0; i < st_col_count(s); i++)
			if ((r = copy_bind(to, in, s, i)) != 0)
				goto out;
		if ((r = st_step_done(to, in, table)) != 0)
			goto out;
		(*rows)++;
	}
out:
	st_free(in);
	st_free(s);
	return r < 0 ? r : 0;
}

/* An identity column goes on after the highest id copied. */
static int
copy_identity(struct store *to, const char *table, const char *col)
{
	char sql[512];
	int n;

	if (strcmp(to->eng->name, "postgresql") != 0)
		return 0;
	n = snprintf(sql, sizeof(sql),
	    "SELECT setval(pg_get_serial_sequence('%s', '%s'), "
	    "coalesce(max(%s), 0) + 1, false) FROM %s",
	    table, col, col, table);
	if (n < 0 || (size_t)n >= sizeof(sql))
		return PV_ERR_INTERNAL;
	return st_exec(to, sql, "store copy: identity");
}

int
store_copy(struct store *from, struct store *to, uint64_t *rows)
{
	uint64_t head = 0;
	size_t i;
	int r;

	*rows = 0;
	if (strcmp(from->eng->name, "sqlite") != 0)
		return st_fail(to, PV_ERR_UNSUPPORTED,
		    "store copy: the source must be a SQLite store");
	if ((r = store_audit_head(to, &head)) != 0)
		return r;
	if (head != 0)
		return st_fail(to, PV_ERR_EXISTS,
		    "store copy: the destination has %llu audit rows: it "
		    "must be empty",
		    (unsigned long long)head);
	if ((r = st_begin(from, 0)) != 0)
		return st_fail(to, r, "%s", store_errmsg(from));
	if ((r = st_begin(to, 1)) != 0)
		goto out0;
	for (i = 0; i < sizeof(copy_tables) / sizeof(copy_tables[0]); i++) {
		if ((r = copy_table(from, to, copy_tables[i].table, rows)) != 0)
			goto out;
		if (copy_tables[i].id != NULL &&
		    (r = copy_identity(
			 to, copy_tables[i].table, copy_tables[i].id)) != 0)
			goto out;
	}
	r = st_commit(to);
	st_rollback(from);
	return r;
out:
	st_rollback(to);
out0:
	if (to->err[0] == '\0' && from->err[0] != '\0')
		(void)st_fail(to, r, "%s", from->err);
	st_rollback(from);
	return r;
}
