/*
 * identity.c: providers, engineers and approvers: who may ask for access
 * and who may grant it, with revocation that reaches grants and credentials.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "store/store-int.h"

static const char *const provider_status_names[] = {
	[STORE_PROVIDER_ACTIVE] = "active",
	[STORE_PROVIDER_EXITING] = "exiting",
	[STORE_PROVIDER_EXITED] = "exited",
};

const char *
store_provider_status_name(enum store_provider_status s)
{
	if ((unsigned int)s > STORE_PROVIDER_EXITED)
		return "unknown";
	return provider_status_names[s];
}

static enum store_provider_status
provider_status_parse(const char *s)
{
	if (s != NULL && strcmp(s, "exiting") == 0)
		return STORE_PROVIDER_EXITING;
	if (s != NULL && strcmp(s, "exited") == 0)
		return STORE_PROVIDER_EXITED;
	return STORE_PROVIDER_ACTIVE;
}

int
store_provider_add(struct store *st, const char *actor, const char *name,
    int64_t contract_start, int64_t contract_end)
{
	static const char sql[] = "INSERT INTO providers(name, contract_start, "
				  "contract_end, created_at) VALUES (?,?,?,?)";
	struct st_q *s = NULL;
	char obj[128];
	int r;

	if (!store_name_valid(name))
		return st_fail(st, PV_ERR_INVALID,
		    "provider name must be 1-64 of [a-z0-9._-]");
	if (contract_start < 0 || contract_end < 0 ||
	    (contract_end != 0 && contract_end <= contract_start))
		return st_fail(st, PV_ERR_INVALID,
		    "contract end must come after its start");
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = st_prep(st, sql, &s)) != 0)
		goto out;
	if ((r = st_bind_text(st, s, 1, name)) != 0 ||
	    (contract_start &&
		(r = st_bind_i64(st, s, 2, contract_start)) != 0) ||
	    (contract_end && (r = st_bind_i64(st, s, 3, contract_end)) != 0) ||
	    (r = st_bind_i64(st, s, 4, pv_wall_ms() / 1000)) != 0)
		goto out;
	if ((r = st_step_done(st, s, "provider add")) != 0) {
		if (r == PV_ERR_EXISTS)
			r = st_fail(st, r, "provider %s already exists", name);
		goto out;
	}
	st_done(s);
	s = NULL;
	if ((r = st_object(obj, sizeof(obj), "provider", name)) != 0 ||
	    (r = st_audit(st, actor, "provider.add", obj,
		 json_pack("{s:I, s:I}", "contract_start",
		     (json_int_t)contract_start, "contract_end",
		     (json_int_t)contract_end))) != 0)
		goto out;
	return st_commit(st);
out:
	st_done(s);
	st_rollback(st);
	return r;
}

#define PROVIDER_COLS                                                   \
	"p.id, p.name, p.status, coalesce(p.contract_start, 0), "       \
	"coalesce(p.contract_end, 0), p.created_at, "                   \
	"coalesce(p.revoked_at, 0), (SELECT count(*) FROM engineers e " \
	"WHERE e.provider_id = p.id)"

static int
provider_from_row(struct st_q *s, struct store_provider **out)
{
	struct store_provider *p;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return PV_ERR_ALLOC;
	p->id = st_col_i64(s, 0);
	if (st_col_dup(s, 1, &p->name) != 0) {
		store_provider_free(p);
		return PV_ERR_ALLOC;
	}
	p->status = provider_status_parse(st_col_text(s, 2));
	p->contract_start = st_col_i64(s, 3);
	p->contract_end = st_col_i64(s, 4);
	p->created_at = st_col_i64(s, 5);
	p->revoked_at = st_col_i64(s, 6);
	p->engineers = st_col_int(s, 7);
	*out = p;
	return 0;
}

int
store_provider_get(
    struct store *st, const char *name, struct store_provider **out)
{
	struct st_q *s;
	int r;

	*out = NULL;
	if ((r = st_prep(st,
		 "SELECT " PROVIDER_COLS " FROM providers p WHERE p.name = ?",
		 &s)) != 0)
		return r;
	if ((r = st_bind_text(st, s, 1, name)) != 0 ||
	    (r = st_step_row(st, s, "provider get")) < 0)
		goto out;
	if (r == 0) {
		r = st_fail(st, PV_ERR_NOT_FOUND, "provider %s: not found",
		    name ? name : "");
		goto out;
	}
	r = provider_from_row(s, out);
out:
	st_done(s);
	return r;
}

int
store_provider_list(struct store *st, store_provider_cb cb, void *ctx)
{
	struct store_provider *p = NULL;
	struct st_q *s;
	int r;

	if ((r = st_prep_once(st,
		 "SELECT " PROVIDER_COLS " FROM providers p ORDER BY p.name",
		 &s)) != 0)
		return r;
	while ((r = st_step_row(st, s, "provider list")) == 1) {
		if ((r = provider_from_row(s, &p)) != 0)
			break;
		r = cb(ctx, p);
		store_provider_free(p);
		if (r != 0) {
			r = 0;
			break;
		}
	}
	st_free(s);
	return r < 0 ? r : 0;
}

void
store_provider_free(struct store_provider *p)
{
	if (p == NULL)
		return;
	free(p->name);
	free(p);
}

/* Runs one UPDATE with a single text parameter and a time; counts rows. */
static int
st_update(struct store *st, const char *sql, int64_t t, int64_t id,
    const char *text, int *changed)
{
	struct st_q *s;
	int r;

	if (changed != NULL)
		*changed = 0;
	if ((r = st_prep(st, sql, &s)) != 0)
		return r;
	if ((r = st_bind_i64(st, s, 1, t)) == 0 &&
	    (r = st_bind_i64(st, s, 2, id)) == 0 &&
	    (text == NULL || (r = st_bind_text(st, s, 3, text)) == 0) &&
	    (r = st_step_done(st, s, "update")) == 0 && changed != NULL)
		*changed = st_changes(st);
	st_done(s);
	return r;
}

int
store_provider_set_status(struct store *st, const char *actor, const char *name,
    enum store_provider_status status)
{
	char obj[128];
	int64_t id;
	int r, n;

	if ((unsigned int)status > STORE_PROVIDER_EXITED)
		return st_fail(st, PV_ERR_INVALID, "unknown provider status");
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = st_provider_id(st, name, &id)) != 0 ||
	    (r = st_update(st,
		 "UPDATE providers SET status = ?3 WHERE ?1 = ?1 AND id = ?2",
		 0, id, store_provider_status_name(status), &n)) != 0 ||
	    (r = st_object(obj, sizeof(obj), "provider", name)) != 0 ||
	    (r = st_audit(st, actor, "provider.status", obj,
		 json_pack("{s:s}", "status",
		     store_provider_status_name(status)))) != 0)
		goto out;
	return st_commit(st);
out:
	st_rollback(st);
	return r;
}

/*
 * Revokes every pending or active grant, live credential, key and TOTP
 * enrolment of the engineers selected by "WHERE <col> = id".
 */
static int
revoke_engineers_access(struct store *st, int64_t now, int by_provider,
    int64_t id, const char *actor, json_t *details)
{
	static const char g_eng[] =
	    "UPDATE grants SET state = 'revoked', revoked_at = ?1, "
	    "revoked_by = ?3 WHERE state IN ('pending', 'active') AND "
	    "engineer_id = ?2";
	static const char g_prov[] =
	    "UPDATE grants SET state = 'revoked', revoked_at = ?1, "
	    "revoked_by = ?3 WHERE state IN ('pending', 'active') AND "
	    "engineer_id IN (SELECT id FROM engineers WHERE provider_id = ?2)";
	static const char c_eng[] =
	    "UPDATE credentials SET revoked_at = ?1 WHERE revoked_at IS NULL "
	    "AND valid_before > ?1 AND engineer_id = ?2";
	static const char c_prov[] =
	    "UPDATE credentials SET revoked_at = ?1 WHERE revoked_at IS NULL "
	    "AND valid_before > ?1 AND engineer_id IN (SELECT id FROM "
	    "engineers WHERE provider_id = ?2)";
	static const char k_eng[] =
	    "UPDATE engineer_keys SET revoked_at = ?1 WHERE revoked_at IS NULL "
	    "AND engineer_id = ?2";
	static const char k_prov[] =
	    "UPDATE engineer_keys SET revoked_at = ?1 WHERE revoked_at IS NULL "
	    "AND engineer_id IN (SELECT id FROM engineers WHERE provider_id = "
	    "?2)";
	static const char t_eng[] =
	    "UPDATE totp SET revoked_at = ?1 WHERE revoked_at IS NULL AND "
	    "engineer_id = ?2";
	static const char t_prov[] =
	    "UPDATE totp SET revoked_at = ?1 WHERE revoked_at IS NULL AND "
	    "engineer_id IN (SELECT id FROM engineers WHERE provider_id = ?2)";
	static const char d_eng[] =
	    "UPDATE engineers SET disabled_at = ?1 WHERE disabled_at IS NULL "
	    "AND id = ?2";
	static const char d_prov[] =
	    "UPDATE engineers SET disabled_at = ?1 WHERE disabled_at IS NULL "
	    "AND provider_id = ?2";
	int r, g = 0, c = 0, k = 0, t = 0, d = 0;

	if ((r = st_update(
		 st, by_provider ? g_prov : g_eng, now, id, actor, &g)) != 0 ||
	    (r = st_update(
		 st, by_provider ? c_prov : c_eng, now, id, NULL, &c)) != 0 ||
	    (r = st_update(
		 st, by_provider ? k_prov : k_eng, now, id, NULL, &k)) != 0 ||
	    (r = st_update(
		 st, by_provider ? t_prov : t_eng, now, id, NULL, &t)) != 0 ||
	    (r = st_update(
		 st, by_provider ? d_prov : d_eng, now, id, NULL, &d)) != 0)
		return r;
	if (details != NULL &&
	    (json_object_set_new(details, "grants", json_integer(g)) != 0 ||
		json_object_set_new(details, "credentials", json_integer(c)) !=
		    0 ||
		json_object_set_new(details, "keys", json_integer(k)) != 0 ||
		json_object_set_new(details, "totp", json_integer(t)) != 0 ||
		json_object_set_new(details, "engineers", json_integer(d)) !=
		    0))
		return PV_ERR_ALLOC;
	return 0;
}

int
store_provider_revoke(
    struct store *st, const char *actor, const char *name, const char *why)
{
	int64_t id, now = pv_wall_ms() / 1000;
	json_t *d = NULL;
	char obj[128];
	int r;

	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = st_provider_id(st, name, &id)) != 0)
		goto out;
	if ((r = st_update(st,
		 "UPDATE providers SET revoked_at = ?1 WHERE id = ?2 AND "
		 "revoked_at IS NULL",
		 now, id, NULL, NULL)) != 0)
		goto out;
	if ((d = json_pack("{s:s?}", "reason", why)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if ((r = revoke_engineers_access(st, now, 1, id, actor, d)) != 0)
		goto out;
	if ((r = st_object(obj, sizeof(obj), "provider", name)) != 0)
		goto out;
	r = st_audit(st, actor, "provider.revoke", obj, d);
	d = NULL;
	if (r != 0)
		goto out;
	return st_commit(st);
out:
	json_decref(d);
	st_rollback(st);
	return r;
}

int
store_engineer_add(struct store *st, const char *actor, const char *login,
    const char *provider, const char *clearance)
{
	static const char sql[] = "INSERT INTO engineers(login, provider_id, "
				  "clearance, created_at) VALUES (?,?,?,?)";
	struct st_q *s = NULL;
	int64_t pid;
	char obj[128];
	int r;

	if (!store_name_valid(login))
		return st_fail(st, PV_ERR_INVALID,
		    "engineer login must be 1-64 of [a-z0-9._-]");
	if (clearance != NULL && !store_name_valid(clearance))
		return st_fail(
		    st, PV_ERR_INVALID, "clearance: not a level name");
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = st_provider_id(st, provider, &pid)) != 0 ||
	    (r = st_prep(st, sql, &s)) != 0)
		goto out;
	if ((r = st_bind_text(st, s, 1, login)) != 0 ||
	    (r = st_bind_i64(st, s, 2, pid)) != 0 ||
	    (r = st_bind_text(st, s, 3, clearance)) != 0 ||
	    (r = st_bind_i64(st, s, 4, pv_wall_ms() / 1000)) != 0)
		goto out;
	if ((r = st_step_done(st, s, "engineer add")) != 0) {
		if (r == PV_ERR_EXISTS)
			r = st_fail(st, r, "engineer %s already exists", login);
		goto out;
	}
	st_done(s);
	s = NULL;
	if ((r = st_object(obj, sizeof(obj), "engineer", login)) != 0 ||
	    (r = st_audit(st, actor, "engineer.add", obj,
		 json_pack("{s:s, s:s?}", "provider", provider, "clearance",
		     clearance))) != 0)
		goto out;
	return st_commit(st);
out:
	st_done(s);
	st_rollback(st);
	return r;
}

#define ENGINEER_COLS                                                       \
	"e.id, e.login, p.name, e.clearance, e.created_at, "                \
	"coalesce(e.disabled_at, 0), (p.revoked_at IS NOT NULL OR "         \
	"p.status IN ('exiting', 'exited')), EXISTS(SELECT 1 FROM totp t "  \
	"WHERE "                                                            \
	"t.engineer_id = e.id AND t.revoked_at IS NULL), (SELECT count(*) " \
	"FROM engineer_keys k WHERE k.engineer_id = e.id AND "              \
	"k.revoked_at IS NULL)"

static int
engineer_from_row(struct st_q *s, struct store_engineer **out)
{
	struct store_engineer *e;

	*out = NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return PV_ERR_ALLOC;
	e->id = st_col_i64(s, 0);
	if (st_col_dup(s, 1, &e->login) != 0 ||
	    st_col_dup(s, 2, &e->provider) != 0 ||
	    st_col_dup(s, 3, &e->clearance) != 0) {
		store_engineer_free(e);
		return PV_ERR_ALLOC;
	}
	e->created_at = st_col_i64(s, 4);
	e->disabled_at = st_col_i64(s, 5);
	e->provider_blocked = st_col_int(s, 6);
	e->has_totp = st_col_int(s, 7);
	e->keys = st_col_int(s, 8);
	*out = e;
	return 0;
}

int
store_engineer_get_by_login(
    struct store *st, const char *login, struct store_engineer **out)
{
	struct st_q *s;
	int r;

	*out = NULL;
	if ((r = st_prep(st,
		 "SELECT " ENGINEER_COLS " FROM engineers e JOIN providers p "
		 "ON p.id = e.provider_id WHERE e.login = ?",
		 &s)) != 0)
		return r;
	if ((r = st_bind_text(st, s, 1, login)) != 0 ||
	    (r = st_step_row(st, s, "engineer get")) < 0)
		goto out;
	if (r == 0) {
		r = st_fail(st, PV_ERR_NOT_FOUND, "engineer %s: not found",
		    login ? login : "");
		goto out;
	}
	r = engineer_from_row(s, out);
out:
	st_done(s);
	return r;
}

int
store_engineer_list(
    struct store *st, const char *provider, store_engineer_cb cb, void *ctx)
{
	struct store_engineer *e = NULL;
	struct st_q *s;
	int r;

	if ((r = st_prep_once(st,
		 "SELECT " ENGINEER_COLS " FROM engineers e JOIN providers p "
		 "ON p.id = e.provider_id WHERE CAST(?1 AS TEXT) IS NULL OR "
		 "p.name = ?1 "
		 "ORDER BY e.login",
		 &s)) != 0)
		return r;
	if ((r = st_bind_text(st, s, 1, provider)) != 0)
		goto out;
	while ((r = st_step_row(st, s, "engineer list")) == 1) {
		if ((r = engineer_from_row(s, &e)) != 0)
			break;
		r = cb(ctx, e);
		store_engineer_free(e);
		if (r != 0) {
			r = 0;
			break;
		}
	}
out:
	st_free(s);
	return r < 0 ? r : 0;
}

void
store_engineer_free(struct store_engineer *e)
{
	if (e == NULL)
		return;
	free(e->login);
	free(e->provider);
	free(e->clearance);
	free(e);
}

static int
engineer_block(struct store *st, const char *actor, const char *login,
    const char *why, int full)
{
	int64_t id, now = pv_wall_ms() / 1000;
	json_t *d = NULL;
	char obj[128];
	int r, n = 0;

	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = st_engineer_id(st, login, &id)) != 0)
		goto out;
	if ((d = json_pack("{s:s?}", "reason", why)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if (full)
		r = revoke_engineers_access(st, now, 0, id, actor, d);
	else
		r = st_update(st,
		    "UPDATE engineers SET disabled_at = ?1 WHERE id = ?2 AND "
		    "disabled_at IS NULL",
		    now, id, NULL, &n);
	if (r != 0)
		goto out;
	if ((r = st_object(obj, sizeof(obj), "engineer", login)) != 0)
		goto out;
	r = st_audit(
	    st, actor, full ? "engineer.revoke" : "engineer.disable", obj, d);
	d = NULL;
	if (r != 0)
		goto out;
	return st_commit(st);
out:
	json_decref(d);
	st_rollback(st);
	return r;
}

int
store_engineer_disable(
    struct store *st, const char *actor, const char *login, const char *why)
{
	return engineer_block(st, actor, login, why, 0);
}

int
store_engineer_revoke(
    struct store *st, const char *actor, const char *login, const char *why)
{
	return engineer_block(st, actor, login, why, 1);
}

int
store_engineer_lock_state(struct store *st, const char *login,
    uint32_t *failures, int64_t *locked_until)
{
	struct st_q *s = NULL;
	int r;

	*failures = 0;
	*locked_until = 0;
	if ((r = st_begin(st, 0)) != 0)
		return r;
	if ((r = st_prep(st,
		 "SELECT auth_failures, locked_until FROM engineers WHERE "
		 "login = ?",
		 &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, login)) != 0 ||
	    (r = st_step_row(st, s, "engineer lock")) < 0)
		goto out;
	if (r == 0) {
		r = st_fail(st, PV_ERR_NOT_FOUND, "no engineer %s", login);
		goto out;
	}
	*failures = (uint32_t)st_col_i64(s, 0);
	*locked_until = st_col_i64(s, 1);
	r = 0;
out:
	st_done(s);
	st_rollback(st);
	return r;
}

int
store_engineer_unlock(
    struct store *st, const char *actor, const char *login, const char *why)
{
	char obj[128];
	int r, n;

	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = st_update(st,
		 "UPDATE engineers SET auth_failures = 0, locked_until = ?1 "
		 "WHERE login = ?3",
		 0, 0, login, &n)) != 0)
		goto out;
	if (n != 1) {
		r = st_fail(st, PV_ERR_NOT_FOUND, "no engineer %s", login);
		goto out;
	}
	if ((r = st_object(obj, sizeof(obj), "engineer", login)) != 0 ||
	    (r = st_audit(st, actor, "engineer.unlock", obj,
		 json_pack("{s:s?}", "reason", why))) != 0)
		goto out;
	return st_commit(st);
out:
	st_rollback(st);
	return r;
}

int
store_approver_add(struct store *st, const char *actor, const char *name,
    const char *group, const char *engineer)
{
	static const char ins[] =
	    "INSERT INTO approvers(name, engineer_id, "
	    "created_at) VALUES (?,?,?) ON CONFLICT(name) "
	    "DO NOTHING";
	static const char upd[] =
	    "UPDATE approvers SET engineer_id = ?2 "
	    "WHERE name = ?1 AND CAST(?2 AS BIGINT) IS NOT NULL";
	static const char grp[] = "INSERT INTO approver_groups(approver_id, "
				  "grp) SELECT id, ?2 FROM approvers WHERE "
				  "name = ?1";
	struct st_q *s = NULL;
	int64_t eid = 0;
	char obj[128];
	int r;

	if (!store_name_valid(name) || !store_name_valid(group))
		return st_fail(st, PV_ERR_INVALID,
		    "approver and group names must be 1-64 of [a-z0-9._-]");
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if (engineer != NULL && (r = st_engineer_id(st, engineer, &eid)) != 0)
		goto out;
	if ((r = st_prep(st, ins, &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, name)) != 0 ||
	    (eid != 0 && (r = st_bind_i64(st, s, 2, eid)) != 0) ||
	    (r = st_bind_i64(st, s, 3, pv_wall_ms() / 1000)) != 0 ||
	    (r = st_step_done(st, s, "approver add")) != 0)
		goto out;
	st_done(s);
	if ((r = st_prep(st, upd, &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, name)) != 0 ||
	    (eid != 0 && (r = st_bind_i64(st, s, 2, eid)) != 0) ||
	    (r = st_step_done(st, s, "approver add")) != 0)
		goto out;
	st_done(s);
	if ((r = st_prep(st, grp, &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, name)) != 0 ||
	    (r = st_bind_text(st, s, 2, group)) != 0)
		goto out;
	if ((r = st_step_done(st, s, "approver add")) != 0) {
		if (r == PV_ERR_EXISTS)
			r = st_fail(st, r, "approver %s is already in group %s",
			    name, group);
		goto out;
	}
	st_done(s);
	s = NULL;
	if ((r = st_object(obj, sizeof(obj), "approver", name)) != 0 ||
	    (r = st_audit(st, actor, "approver.add", obj,
		 json_pack("{s:s, s:s?}", "group", group, "engineer",
		     engineer))) != 0)
		goto out;
	return st_commit(st);
out:
	st_done(s);
	st_rollback(st);
	return r;
}

int
store_approver_list(struct store *st, store_approver_cb cb, void *ctx)
{
	struct store_approver a;
	struct st_q *s;
	int r;

	if ((r = st_prep_once(st,
		 "SELECT a.name, g.grp, e.login FROM approvers a JOIN "
		 "approver_groups g ON g.approver_id = a.id LEFT JOIN "
		 "engineers "
		 "e ON e.id = a.engineer_id ORDER BY a.name, g.grp",
		 &s)) != 0)
		return r;
	while ((r = st_step_row(st, s, "approver list")) == 1) {
		a = (struct store_approver){
			.name = st_col_text(s, 0),
			.group = st_col_text(s, 1),
			.engineer = st_col_text(s, 2),
		};
		if (cb(ctx, &a) != 0) {
			r = 0;
			break;
		}
	}
	st_free(s);
	return r < 0 ? r : 0;
}
