/*
 * exposures.c: static secrets a provider was shown, recorded one by one or
 * imported (CSV, JSON lines), and those its sessions imply, for the exit.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "store/store-int.h"

#define SYSTEM_MAX 255
#define ACCOUNT_MAX 128

enum col {
	COL_PROVIDER = 0,
	COL_ENGINEER,
	COL_TARGET,
	COL_SYSTEM,
	COL_ACCOUNT,
	COL_KIND,
	COL_REFERENCE,
	COL_NOTE,
	NCOL
};
static const char *const col_names[NCOL] = { "provider", "engineer", "target",
	"system", "account", "kind", "reference", "note" };

/* len bytes of [!-~] (spaces too if sp), 1..max. */
static int
text_ok(const char *s, size_t max, int sp)
{
	size_t i, n;

	if (s == NULL || (n = strlen(s)) == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c > 0x7e || c < 0x20 || (c == ' ' && !sp))
			return 0;
	}
	return 1;
}

static int
kind_ok(const char *s)
{
	size_t i, n;

	if (s == NULL || (n = strlen(s)) == 0 || n > STORE_KIND_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= '0' && s[i] <= '9') || (s[i] == '-' && i > 0)))
			return 0;
	return 1;
}

const char *
store_exposure_check(const struct store_exposure_spec *e)
{
	if (!store_name_valid(e->provider))
		return "provider: not a valid name";
	if (e->engineer != NULL && !store_name_valid(e->engineer))
		return "engineer: not a valid login";
	if ((e->target == NULL) == (e->system == NULL))
		return "exactly one of target and system is needed";
	if (e->target != NULL && !store_name_valid(e->target))
		return "target: not a valid name";
	if (e->system != NULL && !text_ok(e->system, SYSTEM_MAX, 0))
		return "system: 1-255 printable characters, no spaces";
	if (e->account != NULL && !text_ok(e->account, ACCOUNT_MAX, 0))
		return "account: 1-128 printable characters, no spaces";
	if (!kind_ok(e->kind))
		return "kind: 1-32 of [a-z0-9-] is needed";
	if (!text_ok(e->reference, STORE_TEXT_MAX, 1))
		return "reference: 1-1024 printable characters are needed";
	if (e->note != NULL && !text_ok(e->note, STORE_TEXT_MAX, 1))
		return "note: at most 1024 printable characters";
	return NULL;
}

/*
 * Inside the caller's transaction: records e unless the same exposure is
 * there (*added 0); audits exposure.add when audit is set.
 */
static int
exposure_insert(struct store *st, const char *actor,
    const struct store_exposure_spec *e, int64_t now, int audit, int *added)
{
	struct st_q *s = NULL;
	int64_t pid, eid = 0, epid = 0, tid = 0, xid;
	char obj[64];
	int r;

	*added = 0;
	if ((r = st_provider_id(st, e->provider, &pid)) != 0 ||
	    (e->target != NULL && (r = st_target_id(st, e->target, &tid)) != 0))
		return r;
	if (e->engineer != NULL) {
		if ((r = st_prep(st,
			 "SELECT id, provider_id FROM engineers WHERE login = "
			 "?",
			 &s)) != 0 ||
		    (r = st_bind_text(st, s, 1, e->engineer)) != 0 ||
		    (r = st_step_row(st, s, "exposure engineer")) < 0)
			goto out;
		if (r == 1) {
			eid = st_col_i64(s, 0);
			epid = st_col_i64(s, 1);
		}
		st_done(s);
		s = NULL;
		if (eid == 0)
			return st_fail(st, PV_ERR_NOT_FOUND,
			    "engineer %s: not found", e->engineer);
		if (epid != pid)
			return st_fail(st, PV_ERR_INVALID,
			    "engineer %s: not of provider %s", e->engineer,
			    e->provider);
	}
	if ((r = st_prep(st,
		 "SELECT id FROM exposures WHERE provider_id = ?1 AND "
		 "coalesce(target_id, 0) = ?2 AND coalesce(system, '') = ?3 "
		 "AND coalesce(account, '') = ?4 AND kind = ?5 AND secret_ref "
		 "= ?6",
		 &s)) != 0 ||
	    (r = st_bind_i64(st, s, 1, pid)) != 0 ||
	    (r = st_bind_i64(st, s, 2, tid)) != 0 ||
	    (r = st_bind_text(st, s, 3, e->system ? e->system : "")) != 0 ||
	    (r = st_bind_text(st, s, 4, e->account ? e->account : "")) != 0 ||
	    (r = st_bind_text(st, s, 5, e->kind)) != 0 ||
	    (r = st_bind_text(st, s, 6, e->reference)) != 0 ||
	    (r = st_step_row(st, s, "exposure find")) < 0)
		goto out;
	st_done(s);
	s = NULL;
	if (r == 1)
		return 0;
	if ((r = st_prep(st,
		 "INSERT INTO exposures(provider_id, engineer_id, target_id, "
		 "system, account, kind, secret_ref, note, exposed_at) VALUES "
		 "(?,?,?,?,?,?,?,?,?)",
		 &s)) != 0 ||
	    (r = st_bind_i64(st, s, 1, pid)) != 0 ||
	    (eid != 0 && (r = st_bind_i64(st, s, 2, eid)) != 0) ||
	    (tid != 0 && (r = st_bind_i64(st, s, 3, tid)) != 0) ||
	    (r = st_bind_text(st, s, 4, e->system)) != 0 ||
	    (r = st_bind_text(st, s, 5, e->account)) != 0 ||
	    (r = st_bind_text(st, s, 6, e->kind)) != 0 ||
	    (r = st_bind_text(st, s, 7, e->reference)) != 0 ||
	    (r = st_bind_text(st, s, 8, e->note)) != 0 ||
	    (r = st_bind_i64(st, s, 9, now)) != 0 ||
	    (r = st_step_done(st, s, "exposure add")) != 0)
		goto out;
	st_done(s);
	s = NULL;
	if ((r = st_last_id(st, &xid)) != 0)
		return r;
	*added = 1;
	if (!audit)
		return 0;
	if (snprintf(obj, sizeof(obj), "exposure:%lld", (long long)xid) < 0)
		return PV_ERR_INTERNAL;
	return st_audit(st, actor, "exposure.add", obj,
	    json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:s, s:s, s:s?}",
		"provider", e->provider, "engineer", e->engineer, "target",
		e->target, "system", e->system, "account", e->account, "kind",
		e->kind, "reference", e->reference, "note", e->note));
out:
	st_done(s);
	return r;
}

int
store_exposure_add(struct store *st, const char *actor,
    const struct store_exposure_spec *e, int64_t now, int *added)
{
	const char *why;
	int r, a = 0;

	if (added != NULL)
		*added = 0;
	if ((why = store_exposure_check(e)) != NULL)
		return st_fail(st, PV_ERR_INVALID, "exposure: %s", why);
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = exposure_insert(st, actor, e, now, 1, &a)) != 0) {
		st_rollback(st);
		return r;
	}
	if ((r = st_commit(st)) != 0)
		return r;
	if (added != NULL)
		*added = a;
	return 0;
}

static void
row_spec(const struct st_imp_row *row, struct store_exposure_spec *e)
{
	*e = (struct store_exposure_spec){
		.provider = row->v[COL_PROVIDER],
		.engineer = row->v[COL_ENGINEER],
		.target = row->v[COL_TARGET],
		.system = row->v[COL_SYSTEM],
		.account = row->v[COL_ACCOUNT],
		.kind = row->v[COL_KIND],
		.reference = row->v[COL_REFERENCE],
		.note = row->v[COL_NOTE],
	};
}

static const char *
header_check(const int *seen)
{
	if (!seen[COL_PROVIDER] || !seen[COL_KIND] || !seen[COL_REFERENCE] ||
	    (!seen[COL_TARGET] && !seen[COL_SYSTEM]))
		return "provider, kind, reference and target or system are "
		       "needed";
	return NULL;
}

static const char *
row_check(void *ctx, const struct st_imp_row *row)
{
	struct store_exposure_spec e;

	(void)ctx;
	row_spec(row, &e);
	return store_exposure_check(&e);
}

int
store_exposure_import(struct store *st, const char *actor, const char *name,
    const char *data, size_t len, int64_t now, size_t *added, size_t *present,
    char *err, size_t errlen)
{
	struct st_imp m = {
		.name = name,
		.what = "exposures",
		.colnames = col_names,
		.ncolnames = NCOL,
		.max_rows = STORE_EXPOSURE_IMPORT_MAX,
		.header_check = header_check,
		.row_check = row_check,
		.err = err,
		.errlen = errlen,
	};
	struct store_exposure_spec e;
	size_t i, na = 0, np = 0;
	char obj[128];
	int r, a;

	*added = *present = 0;
	if (errlen > 0)
		err[0] = '\0';
	if ((r = st_imp_parse(&m, data, len)) != 0) {
		if (r == PV_ERR_ALLOC && errlen > 0)
			(void)snprintf(err, errlen, "%s: out of memory", name);
		goto out0;
	}
	if ((r = st_begin(st, 1)) != 0) {
		(void)snprintf(err, errlen, "%s: %s", name, store_errmsg(st));
		goto out0;
	}
	for (i = 0; i < m.n; i++) {
		row_spec(&m.rows[i], &e);
		if ((r = exposure_insert(st, actor, &e, now, 0, &a)) != 0) {
			(void)st_imp_fail(
			    &m, m.rows[i].line, "%s", store_errmsg(st));
			if (r == PV_ERR_NOT_FOUND || r == PV_ERR_INVALID)
				r = PV_ERR_INVALID;
			goto out;
		}
		if (a)
			na++;
		else
			np++;
	}
	if ((r = st_object(obj, sizeof(obj), "file", name)) != 0)
		r = st_object(obj, sizeof(obj), "file", "(long name)");
	if (r != 0 ||
	    (r = st_audit(st, actor, "exposure.import", obj,
		 json_pack("{s:I, s:I}", "added", (json_int_t)na, "present",
		     (json_int_t)np))) != 0) {
		(void)snprintf(err, errlen, "%s: %s", name, store_errmsg(st));
		goto out;
	}
	if ((r = st_commit(st)) != 0) {
		(void)snprintf(err, errlen, "%s: %s", name, store_errmsg(st));
		goto out0;
	}
	*added = na;
	*present = np;
	goto out0;
out:
	st_rollback(st);
out0:
	st_imp_free(&m);
	return r;
}

int
store_exposure_list(
    struct store *st, const char *provider, store_exposure_cb cb, void *ctx)
{
	struct store_exposure x;
	struct st_q *s = NULL;
	int64_t pid;
	int r;

	if ((r = st_begin(st, 0)) != 0)
		return r;
	if (provider != NULL && (r = st_provider_id(st, provider, &pid)) != 0)
		goto out;
	if ((r = st_prep_once(st,
		 "SELECT x.id, p.name, e.login, t.name, x.system, x.account, "
		 "x.kind, x.secret_ref, x.note, x.exposed_at, "
		 "coalesce(x.rotated_at, 0) FROM exposures x JOIN providers p "
		 "ON p.id = x.provider_id LEFT JOIN engineers e ON e.id = "
		 "x.engineer_id LEFT JOIN targets t ON t.id = x.target_id "
		 "WHERE CAST(?1 AS TEXT) IS NULL OR p.name = ?1 ORDER BY "
		 "p.name, x.id",
		 &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, provider)) != 0)
		goto out;
	while ((r = st_step_row(st, s, "exposure list")) == 1) {
		x = (struct store_exposure){
			.id = st_col_i64(s, 0),
			.source = "recorded",
			.provider = st_col_text(s, 1),
			.engineer = st_col_text(s, 2),
			.target = st_col_text(s, 3),
			.system = st_col_text(s, 4),
			.account = st_col_text(s, 5),
			.kind = st_col_text(s, 6),
			.reference = st_col_text(s, 7),
			.note = st_col_text(s, 8),
			.exposed_at = st_col_i64(s, 9),
			.last_at = st_col_i64(s, 9),
			.rotated_at = st_col_i64(s, 10),
		};
		if ((r = cb(ctx, &x)) != 0)
			goto out;
	}
	if (r < 0)
		goto out;
	st_free(s);
	s = NULL;
	/* Every target account the provider's engineers had a session as. */
	if ((r = st_prep_once(st,
		 "SELECT p.name, t.name, s.account, group_concat(DISTINCT "
		 "e.login), min(s.started_at), max(s.started_at), count(*) "
		 "FROM sessions s JOIN engineers e ON e.id = s.engineer_id "
		 "JOIN providers p ON p.id = e.provider_id JOIN targets t ON "
		 "t.id = s.target_id WHERE CAST(?1 AS TEXT) IS NULL OR p.name "
		 "= ?1 GROUP BY "
		 "p.id, t.id, s.account ORDER BY p.name, t.name, s.account",
		 &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, provider)) != 0)
		goto out;
	while ((r = st_step_row(st, s, "exposure sessions")) == 1) {
		x = (struct store_exposure){
			.source = "session",
			.provider = st_col_text(s, 0),
			.engineer = st_col_text(s, 3),
			.target = st_col_text(s, 1),
			.account = st_col_text(s, 2),
			.kind = "account",
			.reference = "sessions",
			.exposed_at = st_col_i64(s, 4),
			.last_at = st_col_i64(s, 5),
			.sessions = st_col_i64(s, 6),
		};
		if ((r = cb(ctx, &x)) != 0)
			goto out;
	}
out:
	st_free(s);
	st_rollback(st);
	return r < 0 ? r : 0;
}
