/*
 * leases.c: brokers sharing one store: each holds a lease under its name,
 * a dead one's live session rows are aborted by the others once its lease
 * has expired, and kills asked of a session another broker owns.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "store/store-int.h"

void
store_lease_free(struct store_lease *l)
{
	if (l == NULL)
		return;
	free(l->name);
	free(l->holder);
	free(l->host);
	free(l);
}

int
store_lease_get(struct store *st, const char *name, struct store_lease **out)
{
	struct store_lease *l = NULL;
	struct st_q *s;
	int r;

	*out = NULL;
	if ((r = st_prep(st,
		 "SELECT name, holder, host, pid, taken_ms, renewed_ms, "
		 "expires_ms FROM broker_leases WHERE name = ?",
		 &s)) != 0)
		return r;
	if ((r = st_bind_text(st, s, 1, name)) != 0 ||
	    (r = st_step_row(st, s, "lease get")) < 0)
		goto out;
	if (r == 0) {
		r = st_fail(st, PV_ERR_NOT_FOUND, "broker %s: no lease", name);
		goto out;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    st_col_dup(s, 0, &l->name) != 0 ||
	    st_col_dup(s, 1, &l->holder) != 0 ||
	    st_col_dup(s, 2, &l->host) != 0) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	l->pid = st_col_i64(s, 3);
	l->taken_ms = st_col_i64(s, 4);
	l->renewed_ms = st_col_i64(s, 5);
	l->expires_ms = st_col_i64(s, 6);
	*out = l;
	l = NULL;
	r = 0;
out:
	store_lease_free(l);
	st_done(s);
	return r;
}

static int
lease_args_ok(
    struct store *st, const char *name, const char *holder, int64_t duration_ms)
{
	if (name == NULL || !store_name_valid(name))
		return st_fail(st, PV_ERR_INVALID,
		    "broker name: 1-64 of [a-z0-9._-] expected");
	if (holder == NULL || holder[0] == '\0' ||
	    strlen(holder) > STORE_NAME_MAX)
		return st_fail(st, PV_ERR_INVALID, "lease: no holder");
	if (duration_ms < 1000 || duration_ms > 86400 * 1000LL)
		return st_fail(
		    st, PV_ERR_RANGE, "lease: duration out of range");
	return 0;
}

int
store_lease_take(struct store *st, const struct store_lease_req *req,
    int64_t now_ms, int force)
{
	static const char ups[] =
	    "INSERT INTO broker_leases(name, holder, host, pid, taken_ms, "
	    "renewed_ms, expires_ms) VALUES (?1,?2,?3,?4,?5,?5,?6) ON "
	    "CONFLICT(name) DO UPDATE SET holder = ?2, host = ?3, pid = ?4, "
	    "taken_ms = ?5, renewed_ms = ?5, expires_ms = ?6";
	struct store_lease *old = NULL;
	struct st_q *s = NULL;
	char obj[128];
	int r;

	if ((r = lease_args_ok(st, req->name, req->holder, req->duration_ms)) !=
	    0)
		return r;
	if (req->host == NULL || strlen(req->host) > 255)
		return st_fail(st, PV_ERR_INVALID, "lease: no host name");
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = store_lease_get(st, req->name, &old)) != 0 &&
	    r != PV_ERR_NOT_FOUND)
		goto out;
	if (old != NULL && strcmp(old->holder, req->holder) != 0 &&
	    old->expires_ms > now_ms && !force) {
		r = st_fail(st, PV_ERR_EXISTS,
		    "broker %s: the name is held by provostd %lld on %s for "
		    "%lld ms more",
		    req->name, (long long)old->pid, old->host,
		    (long long)(old->expires_ms - now_ms));
		goto out;
	}
	if ((r = st_prep(st, ups, &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, req->name)) != 0 ||
	    (r = st_bind_text(st, s, 2, req->holder)) != 0 ||
	    (r = st_bind_text(st, s, 3, req->host)) != 0 ||
	    (r = st_bind_i64(st, s, 4, req->pid)) != 0 ||
	    (r = st_bind_i64(st, s, 5, now_ms)) != 0 ||
	    (r = st_bind_i64(st, s, 6, now_ms + req->duration_ms)) != 0 ||
	    (r = st_step_done(st, s, "lease take")) != 0)
		goto out;
	st_done(s);
	s = NULL;
	if ((r = st_object(obj, sizeof(obj), "broker", req->name)) != 0 ||
	    (r = st_audit(st, "broker", "broker.lease", obj,
		 json_pack("{s:s, s:I, s:I, s:s?, s:I, s:b}", "host", req->host,
		     "pid", (json_int_t)req->pid, "duration_ms",
		     (json_int_t)req->duration_ms, "previous_host",
		     old != NULL ? old->host : NULL, "previous_pid",
		     (json_int_t)(old != NULL ? old->pid : 0), "taken_over",
		     old != NULL && old->expires_ms > now_ms &&
			 strcmp(old->holder, req->holder) != 0))) != 0)
		goto out;
	store_lease_free(old);
	return st_commit(st);
out:
	store_lease_free(old);
	st_done(s);
	st_rollback(st);
	return r;
}

int
store_lease_renew(struct store *st, const char *name, const char *holder,
    int64_t pid, int64_t now_ms, int64_t duration_ms)
{
	struct st_q *s = NULL;
	int r;

	if ((r = lease_args_ok(st, name, holder, duration_ms)) != 0)
		return r;
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = st_prep(st,
		 "UPDATE broker_leases SET renewed_ms = ?3, expires_ms = ?4, "
		 "pid = ?5 WHERE name = ?1 AND holder = ?2",
		 &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, name)) != 0 ||
	    (r = st_bind_text(st, s, 2, holder)) != 0 ||
	    (r = st_bind_i64(st, s, 3, now_ms)) != 0 ||
	    (r = st_bind_i64(st, s, 4, now_ms + duration_ms)) != 0 ||
	    (r = st_bind_i64(st, s, 5, pid)) != 0 ||
	    (r = st_step_done(st, s, "lease renew")) != 0)
		goto out;
	if (st_changes(st) != 1) {
		r = st_fail(st, PV_ERR_NOT_FOUND,
		    "broker %s: the lease was taken by another provostd", name);
		goto out;
	}
	st_done(s);
	return st_commit(st);
out:
	st_done(s);
	st_rollback(st);
	return r;
}

int
store_lease_others(struct store *st, const char *self, int64_t now_ms, int *n)
{
	struct st_q *s;
	int r;

	*n = 0;
	if ((r = st_prep(st,
		 "SELECT count(*) FROM broker_leases WHERE name <> ?1 AND "
		 "expires_ms > ?2",
		 &s)) != 0)
		return r;
	if ((r = st_bind_text(st, s, 1, self)) == 0 &&
	    (r = st_bind_i64(st, s, 2, now_ms)) == 0 &&
	    (r = st_step_row(st, s, "lease others")) == 1) {
		*n = (int)st_col_i64(s, 0);
		r = 0;
	}
	st_done(s);
	return r < 0 ? r : 0;
}

/* The pending kill of a session that ended is done (inside a transaction). */
int
st_session_kill_done(struct store *st, const char *id, int64_t now)
{
	struct st_q *s;
	int r;

	if ((r = st_prep(st,
		 "UPDATE session_kills SET done_at = ?2 WHERE session_id = ?1 "
		 "AND done_at IS NULL",
		 &s)) != 0)
		return r;
	if ((r = st_bind_text(st, s, 1, id)) == 0 &&
	    (r = st_bind_i64(st, s, 2, now)) == 0)
		r = st_step_done(st, s, "session kill done");
	st_done(s);
	return r;
}

struct reap_row {
	char id[PV_UUID_LEN + 1];
	char broker[STORE_NAME_MAX + 1];
	char *recording;
	int64_t expired_ms;
};

static void
reap_rows_free(struct reap_row *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].recording);
	free(v);
}

/*
 * The open rows of brokers (not self) whose lease expired at or before
 * now_ms, read inside the caller's write transaction.
 */
static int
reap_collect(struct store *st, const char *self, int64_t now_ms,
    struct reap_row **out, size_t *nout)
{
	struct reap_row *v = NULL, *nv;
	const char *id, *b;
	size_t n = 0, cap = 0;
	struct st_q *s = NULL;
	int r;

	*out = NULL;
	*nout = 0;
	if ((r = st_prep_once(st,
		 "SELECT s.id, s.broker, s.recording_path, l.expires_ms FROM "
		 "sessions s JOIN broker_leases l ON l.name = s.broker WHERE "
		 "s.state = 'open' AND l.expires_ms <= ?1 AND l.name <> ?2 "
		 "ORDER BY s.started_at, s.id",
		 &s)) != 0)
		return r;
	if ((r = st_bind_i64(st, s, 1, now_ms)) != 0 ||
	    (r = st_bind_text(st, s, 2, self)) != 0)
		goto out;
	while ((r = st_step_row(st, s, "lease reap")) == 1) {
		id = st_col_text(s, 0);
		b = st_col_text(s, 1);
		if (id == NULL || strlen(id) != PV_UUID_LEN || b == NULL ||
		    strlen(b) > STORE_NAME_MAX)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				r = PV_ERR_ALLOC;
				goto out;
			}
			v = nv;
		}
		memset(&v[n], 0, sizeof(v[n]));
		memcpy(v[n].id, id, PV_UUID_LEN + 1);
		memcpy(v[n].broker, b, strlen(b) + 1);
		v[n].expired_ms = st_col_i64(s, 3);
		if (st_col_dup(s, 2, &v[n].recording) != 0) {
			r = PV_ERR_ALLOC;
			goto out;
		}
		n++;
	}
	if (r < 0)
		goto out;
	*out = v;
	*nout = n;
	v = NULL;
	n = 0;
	r = 0;
out:
	reap_rows_free(v, n);
	st_free(s);
	return r;
}

/*
 * Another broker's live rows, once its lease has expired: each aborted
 * and audited on its own (session.aborted, actor broker:SELF).  In one
 * write transaction, and only rows still open: two brokers that race to
 * it abort each row once.
 */
int
store_lease_reap(struct store *st, const char *self, int64_t now_ms, int *count)
{
	struct reap_row *v = NULL;
	struct st_q *s = NULL;
	char obj[128], actor[80], why[256];
	size_t n = 0, i;
	int r, done = 0;

	if (count != NULL)
		*count = 0;
	if (self == NULL || !store_name_valid(self))
		return st_fail(st, PV_ERR_INVALID, "broker name: not valid");
	/* Most seconds there is nothing to do: a read, no write lock. */
	if ((r = st_prep(st,
		 "SELECT count(*) FROM sessions s JOIN broker_leases l ON "
		 "l.name = s.broker WHERE s.state = 'open' AND l.expires_ms <= "
		 "?1 AND l.name <> ?2",
		 &s)) != 0)
		return r;
	if ((r = st_bind_i64(st, s, 1, now_ms)) == 0 &&
	    (r = st_bind_text(st, s, 2, self)) == 0 &&
	    (r = st_step_row(st, s, "lease reap")) == 1)
		r = st_col_i64(s, 0) > 0;
	st_done(s);
	s = NULL;
	if (r <= 0)
		return r;
	(void)snprintf(actor, sizeof(actor), "broker:%s", self);
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = reap_collect(st, self, now_ms, &v, &n)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		(void)snprintf(why, sizeof(why),
		    "broker %s lost its lease: its lease expired and it did "
		    "not renew it",
		    v[i].broker);
		if ((r = st_prep(st,
			 "UPDATE sessions SET state = 'aborted', ended_at = "
			 "?2, "
			 "end_reason = ?3 WHERE id = ?1 AND state = 'open'",
			 &s)) != 0 ||
		    (r = st_bind_text(st, s, 1, v[i].id)) != 0 ||
		    (r = st_bind_i64(st, s, 2, now_ms / 1000)) != 0 ||
		    (r = st_bind_text(st, s, 3, why)) != 0 ||
		    (r = st_step_done(st, s, "lease reap")) != 0)
			goto out;
		st_done(s);
		s = NULL;
		if (st_changes(st) != 1)
			continue;
		if ((r = st_session_kill_done(st, v[i].id, now_ms / 1000)) !=
			0 ||
		    (r = st_object(obj, sizeof(obj), "session", v[i].id)) !=
			0 ||
		    (r = st_audit(st, actor, "session.aborted", obj,
			 json_pack("{s:s, s:s, s:I, s:s?, s:s}", "reason", why,
			     "broker", v[i].broker, "lease_expired_ms",
			     (json_int_t)v[i].expired_ms, "recording",
			     v[i].recording, "recording_state",
			     "incomplete"))) != 0)
			goto out;
		done++;
	}
	if ((r = st_commit(st)) != 0)
		goto free;
	if (count != NULL)
		*count = done;
	goto free;
out:
	st_done(s);
	st_rollback(st);
free:
	reap_rows_free(v, n);
	return r;
}

int
store_session_kill_request(struct store *st, const char *actor, const char *id,
    const char *reason, int64_t now, char **owner)
{
	static const char ins[] =
	    "INSERT INTO session_kills(session_id, requested_by, reason, "
	    "requested_at) VALUES (?1,?2,?3,?4) ON CONFLICT(session_id) DO "
	    "UPDATE SET requested_by = ?2, reason = ?3, requested_at = ?4, "
	    "done_at = NULL";
	struct st_q *s = NULL;
	char obj[128], *b = NULL;
	int r;

	*owner = NULL;
	if (id == NULL || !pv_uuid_valid(id))
		return st_fail(st, PV_ERR_INVALID, "session id: not a UUID");
	if (actor == NULL || reason == NULL || strlen(reason) > STORE_TEXT_MAX)
		return st_fail(st, PV_ERR_INVALID, "session kill: no reason");
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = st_prep(st, "SELECT state, broker FROM sessions WHERE id = ?",
		 &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, id)) != 0 ||
	    (r = st_step_row(st, s, "session kill")) < 0)
		goto out;
	if (r == 0) {
		r = st_fail(st, PV_ERR_NOT_FOUND, "session %s: not found", id);
		goto out;
	}
	if (st_col_text(s, 0) == NULL ||
	    strcmp(st_col_text(s, 0), "open") != 0) {
		r = st_fail(st, PV_ERR_NOT_FOUND, "session %s: not open", id);
		goto out;
	}
	if (st_col_dup(s, 1, &b) != 0) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	st_done(s);
	s = NULL;
	if ((r = st_prep(st, ins, &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, id)) != 0 ||
	    (r = st_bind_text(st, s, 2, actor)) != 0 ||
	    (r = st_bind_text(st, s, 3, reason)) != 0 ||
	    (r = st_bind_i64(st, s, 4, now)) != 0 ||
	    (r = st_step_done(st, s, "session kill")) != 0)
		goto out;
	st_done(s);
	s = NULL;
	/*
	 * session.kill is among the revocations every broker's monitor reads
	 * once a second: the owner ends the session from it.
	 */
	if ((r = st_object(obj, sizeof(obj), "session", id)) != 0 ||
	    (r = st_audit(st, actor, "session.kill", obj,
		 json_pack("{s:s, s:s?, s:b}", "reason", reason, "broker", b,
		     "pending", 1))) != 0)
		goto out;
	if ((r = st_commit(st)) != 0)
		goto fail;
	*owner = b;
	return 0;
out:
	st_done(s);
	st_rollback(st);
fail:
	free(b);
	return r;
}
