/*
 * approvers.c: approvers prove who they are (schema 7): their own SSH
 * keys and TOTP, done by keys.c and totp.c from the approvers' tables.
 */
#include "config.h"

#include <string.h>

#include "common/common.h"
#include "store/store-int.h"

static int
approver_id(struct store *st, const char *name, int64_t *id)
{
	struct st_q *s;
	int r;

	*id = 0;
	if (!store_name_valid(name))
		return st_fail(st, PV_ERR_INVALID, "approver: bad name");
	if ((r = st_prep(st, "SELECT id FROM approvers WHERE name = ?1", &s)) !=
	    0)
		return r;
	if ((r = st_bind_text(st, s, 1, name)) != 0 ||
	    (r = st_step_row(st, s, "approver")) < 0)
		goto out;
	if (r == 0) {
		r = st_fail(
		    st, PV_ERR_NOT_FOUND, "approver %s: not found", name);
		goto out;
	}
	*id = st_col_i64(s, 0);
	r = 0;
out:
	st_done(s);
	return r;
}

const struct st_principal st_approver_principal = {
	.kind = "approver",
	.id = approver_id,
	.key_ins = "INSERT INTO approver_keys(approver_id, type, blob, "
		   "fingerprint, comment, added_at) VALUES (?,?,?,?,?,?)",
	.key_list = "SELECT id, type, fingerprint, comment, added_at FROM "
		    "approver_keys WHERE approver_id = ?1 AND revoked_at IS "
		    "NULL ORDER BY id",
	.key_match = "SELECT k.blob FROM approver_keys k JOIN approvers a ON "
		     "a.id = k.approver_id WHERE a.name = ?1 AND "
		     "k.fingerprint = ?2 AND k.revoked_at IS NULL AND "
		     "a.disabled_at IS NULL",
	.key_revoke = "UPDATE approver_keys SET revoked_at = ?3 WHERE "
		      "approver_id = ?1 AND fingerprint = ?2 AND revoked_at "
		      "IS NULL",
	.totp_set = "INSERT INTO approver_totp(approver_id, sealed, "
		    "enrolled_at) VALUES (?1,?2,?3) ON CONFLICT(approver_id) "
		    "DO UPDATE SET sealed = excluded.sealed, enrolled_at = "
		    "excluded.enrolled_at, last_step = 0, revoked_at = NULL",
	.totp_get = "SELECT t.approver_id, t.sealed, t.last_step, "
		    "a.auth_failures, a.locked_until FROM approver_totp t "
		    "JOIN approvers a ON a.id = t.approver_id WHERE a.name = "
		    "?1 AND t.revoked_at IS NULL AND a.disabled_at IS NULL",
	.totp_step = "UPDATE approver_totp SET last_step = ?1 WHERE "
		     "approver_id = ?2 AND last_step < ?1",
	.fails_set = "UPDATE approvers SET auth_failures = ?2, locked_until "
		     "= CASE WHEN ?3 < 0 THEN 0 WHEN locked_until > ?3 THEN "
		     "locked_until ELSE ?3 END WHERE id = ?1",
	/* not the engineers': a sealed secret does not move between them */
	.seal_aad = "provost-totp-approver-v1",
};

int
store_approver_key_add(struct store *st, const char *actor, const char *name,
    const char *line, char **fingerprint)
{
	return st_key_add(
	    st, &st_approver_principal, actor, name, line, fingerprint);
}

int
store_approver_key_list(
    struct store *st, const char *name, store_key_cb cb, void *ctx)
{
	return st_key_list(st, &st_approver_principal, name, cb, ctx);
}

int
store_approver_key_remove(struct store *st, const char *actor, const char *name,
    const char *fingerprint)
{
	return st_key_revoke(
	    st, &st_approver_principal, actor, name, fingerprint);
}

int
store_approver_key_match(
    struct store *st, const char *name, const uint8_t *blob, size_t len)
{
	if (!store_name_valid(name))
		return PV_DENY;
	return st_key_match(st, &st_approver_principal, name, blob, len);
}

int
store_approver_totp_set(struct store *st, const char *actor, const char *name,
    const uint8_t *secret, size_t len)
{
	return st_totp_set(
	    st, &st_approver_principal, actor, name, secret, len);
}

int
store_approver_totp_check(
    struct store *st, const char *name, const char *code, int64_t now)
{
	if (!store_name_valid(name))
		return PV_DENY;
	return st_totp_check(st, &st_approver_principal, name, code, now);
}

int
store_approver_in_group(struct store *st, const char *name, const char *group)
{
	struct st_q *s;
	int r;

	if (!store_name_valid(name) || !store_name_valid(group))
		return PV_DENY;
	if ((r = st_prep(st,
		 "SELECT 1 FROM approvers a JOIN approver_groups g ON "
		 "g.approver_id = a.id WHERE a.name = ?1 AND g.grp = ?2 AND "
		 "a.disabled_at IS NULL",
		 &s)) != 0)
		return r;
	if ((r = st_bind_text(st, s, 1, name)) == 0 &&
	    (r = st_bind_text(st, s, 2, group)) == 0)
		r = st_step_row(st, s, "approver group");
	st_done(s);
	return r < 0 ? r : r == 1 ? PV_ALLOW : PV_DENY;
}

int
store_approver_unlock(
    struct store *st, const char *actor, const char *name, const char *why)
{
	struct st_q *s = NULL;
	char obj[128];
	int64_t id;
	int r;

	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = approver_id(st, name, &id)) != 0 ||
	    (r = st_prep(st, st_approver_principal.fails_set, &s)) != 0 ||
	    (r = st_bind_i64(st, s, 1, id)) != 0 ||
	    (r = st_bind_i64(st, s, 2, 0)) != 0 ||
	    (r = st_bind_i64(st, s, 3, -1)) != 0 ||
	    (r = st_step_done(st, s, "approver unlock")) != 0)
		goto out;
	st_done(s);
	s = NULL;
	if ((r = st_object(obj, sizeof(obj), "approver", name)) != 0 ||
	    (r = st_audit(st, actor, "approver.unlock", obj,
		 json_pack("{s:s?}", "reason", why))) != 0)
		goto out;
	return st_commit(st);
out:
	st_done(s);
	st_rollback(st);
	return r;
}
