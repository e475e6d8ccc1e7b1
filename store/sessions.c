/*
 * sessions.c: session rows (open, close, crash recovery), the record of
 * every credential issued, and the static secrets a provider was shown.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "store/store-int.h"

int
store_session_open(struct store *st, const struct store_session_info *in,
    int64_t now, char id[PV_UUID_LEN + 1])
{
	static const char ins[] =
	    "INSERT INTO sessions(id, engineer_id, target_id, account, "
	    "grant_id, rule, client_addr, started_at, state, recording_path, "
	    "broker) VALUES (?,?,?,?,?,?,?,?,'open',?,?)";
	struct st_q *s = NULL;
	int64_t eid, tid;
	char obj[128];
	int r;

	id[0] = '\0';
	if (in->id != NULL) {
		if (!pv_uuid_valid(in->id))
			return st_fail(
			    st, PV_ERR_INVALID, "session id: not a UUID");
		memcpy(id, in->id, PV_UUID_LEN + 1);
	} else if ((r = pv_uuid_new(id)) != 0)
		return r;
	if (in->account == NULL || in->account[0] == '\0')
		return st_fail(st, PV_ERR_INVALID, "session: no account");
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = st_engineer_id(st, in->engineer, &eid)) != 0 ||
	    (r = st_target_id(st, in->target, &tid)) != 0 ||
	    (r = st_prep(st, ins, &s)) != 0)
		goto out;
	if ((r = st_bind_text(st, s, 1, id)) != 0 ||
	    (r = st_bind_i64(st, s, 2, eid)) != 0 ||
	    (r = st_bind_i64(st, s, 3, tid)) != 0 ||
	    (r = st_bind_text(st, s, 4, in->account)) != 0 ||
	    (r = st_bind_text(st, s, 5, in->grant_id)) != 0 ||
	    (r = st_bind_text(st, s, 6, in->rule)) != 0 ||
	    (r = st_bind_text(st, s, 7, in->client_addr)) != 0 ||
	    (r = st_bind_i64(st, s, 8, now)) != 0 ||
	    (r = st_bind_text(st, s, 9, in->recording_path)) != 0 ||
	    (r = st_bind_text(st, s, 10, in->broker)) != 0 ||
	    (r = st_step_done(st, s, "session open")) != 0)
		goto out;
	st_done(s);
	s = NULL;
	if ((r = st_object(obj, sizeof(obj), "session", id)) != 0 ||
	    (r = st_audit(st, "broker", "session.open", obj,
		 json_pack(
		     "{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?}",
		     "engineer", in->engineer, "target", in->target, "account",
		     in->account, "grant", in->grant_id, "rule", in->rule,
		     "client", in->client_addr, "recording", in->recording_path,
		     "recording_header_sha256", in->recording_header_sha256,
		     "broker", in->broker))) != 0)
		goto out;
	if ((r = st_commit(st)) != 0)
		id[0] = '\0';
	return r;
out:
	id[0] = '\0';
	st_done(s);
	st_rollback(st);
	return r;
}

int
store_session_close(struct store *st, const char *id,
    const struct store_session_end *end, int64_t now)
{
	static const char upd[] =
	    "UPDATE sessions SET state = ?2, ended_at = ?3, bytes_in = ?4, "
	    "bytes_out = ?5, recording_sha256 = ?6, recording_size = ?7, "
	    "end_reason = ?8 WHERE id = ?1 AND state = 'open'";
	struct st_q *s = NULL;
	char obj[128];
	int r;

	if (id == NULL || !pv_uuid_valid(id))
		return st_fail(st, PV_ERR_INVALID, "session id: not a UUID");
	if (end->bytes_in > INT64_MAX || end->bytes_out > INT64_MAX ||
	    end->recording_size > INT64_MAX)
		return st_fail(st, PV_ERR_RANGE, "session counters too large");
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = st_prep(st, upd, &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, id)) != 0 ||
	    (r = st_bind_text(st, s, 2, end->aborted ? "aborted" : "closed")) !=
		0 ||
	    (r = st_bind_i64(st, s, 3, now)) != 0 ||
	    (r = st_bind_i64(st, s, 4, (int64_t)end->bytes_in)) != 0 ||
	    (r = st_bind_i64(st, s, 5, (int64_t)end->bytes_out)) != 0 ||
	    (r = st_bind_text(st, s, 6, end->recording_sha256)) != 0 ||
	    (r = st_bind_i64(st, s, 7, (int64_t)end->recording_size)) != 0 ||
	    (r = st_bind_text(st, s, 8, end->reason)) != 0 ||
	    (r = st_step_done(st, s, "session close")) != 0)
		goto out;
	if (st_changes(st) != 1) {
		r = st_fail(st, PV_ERR_NOT_FOUND, "session %s: not open", id);
		goto out;
	}
	st_done(s);
	s = NULL;
	if ((r = st_session_kill_done(st, id, now)) != 0 ||
	    (r = st_object(obj, sizeof(obj), "session", id)) != 0 ||
	    (r = st_audit(st, "broker",
		 end->aborted ? "session.abort" : "session.close", obj,
		 json_pack("{s:I, s:I, s:s?, s:I, s:s?}", "bytes_in",
		     (json_int_t)end->bytes_in, "bytes_out",
		     (json_int_t)end->bytes_out, "recording_sha256",
		     end->recording_sha256, "recording_size",
		     (json_int_t)end->recording_size, "reason",
		     end->reason))) != 0)
		goto out;
	return st_commit(st);
out:
	st_done(s);
	st_rollback(st);
	return r;
}

#define SESSION_COLS                                                       \
	"s.id, e.login, t.name, s.account, s.grant_id, s.client_addr, "    \
	"s.recording_path, s.recording_sha256, s.end_reason, s.state, "    \
	"s.started_at, coalesce(s.ended_at, 0), s.bytes_in, s.bytes_out, " \
	"coalesce(s.recording_size, 0), s.broker"
#define SESSION_FROM                                                      \
	" FROM sessions s JOIN engineers e ON e.id = s.engineer_id JOIN " \
	"targets t ON t.id = s.target_id"

static int
session_from_row(struct st_q *s, struct store_session **out)
{
	struct store_session *x;
	const char *id = st_col_text(s, 0), *state = st_col_text(s, 9);

	*out = NULL;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return PV_ERR_ALLOC;
	if (id == NULL || strlen(id) >= sizeof(x->id)) {
		free(x);
		return PV_ERR_STORE;
	}
	memcpy(x->id, id, strlen(id) + 1);
	if (st_col_dup(s, 1, &x->engineer) != 0 ||
	    st_col_dup(s, 2, &x->target) != 0 ||
	    st_col_dup(s, 3, &x->account) != 0 ||
	    st_col_dup(s, 4, &x->grant_id) != 0 ||
	    st_col_dup(s, 5, &x->client_addr) != 0 ||
	    st_col_dup(s, 6, &x->recording_path) != 0 ||
	    st_col_dup(s, 7, &x->recording_sha256) != 0 ||
	    st_col_dup(s, 8, &x->end_reason) != 0 ||
	    st_col_dup(s, 15, &x->broker) != 0) {
		store_session_free(x);
		return PV_ERR_ALLOC;
	}
	x->state = state == NULL           ? STORE_SESSION_ABORTED
	    : strcmp(state, "open") == 0   ? STORE_SESSION_OPEN
	    : strcmp(state, "closed") == 0 ? STORE_SESSION_CLOSED
					   : STORE_SESSION_ABORTED;
	x->started_at = st_col_i64(s, 10);
	x->ended_at = st_col_i64(s, 11);
	x->bytes_in = (uint64_t)st_col_i64(s, 12);
	x->bytes_out = (uint64_t)st_col_i64(s, 13);
	x->recording_size = (uint64_t)st_col_i64(s, 14);
	*out = x;
	return 0;
}

void
store_session_free(struct store_session *s)
{
	if (s == NULL)
		return;
	free(s->engineer);
	free(s->target);
	free(s->account);
	free(s->grant_id);
	free(s->client_addr);
	free(s->recording_path);
	free(s->recording_sha256);
	free(s->end_reason);
	free(s->broker);
	free(s);
}

int
store_session_get(struct store *st, const char *id, struct store_session **out)
{
	struct st_q *s;
	int r;

	*out = NULL;
	if ((r = st_prep(st,
		 "SELECT " SESSION_COLS SESSION_FROM " WHERE s.id = ?", &s)) !=
	    0)
		return r;
	if ((r = st_bind_text(st, s, 1, id)) != 0 ||
	    (r = st_step_row(st, s, "session get")) < 0)
		goto out;
	if (r == 0) {
		r = st_fail(st, PV_ERR_NOT_FOUND, "session %s: not found",
		    id ? id : "");
		goto out;
	}
	r = session_from_row(s, out);
out:
	st_done(s);
	return r;
}

int
store_session_list(
    struct store *st, int open_only, store_session_cb cb, void *ctx)
{
	struct store_session *x = NULL;
	struct st_q *s;
	int r;

	if ((r = st_prep_once(st,
		 "SELECT " SESSION_COLS SESSION_FROM
		 " WHERE ?1 = 0 OR s.state = 'open' ORDER BY s.started_at, "
		 "s.id",
		 &s)) != 0)
		return r;
	if ((r = st_bind_i64(st, s, 1, open_only != 0)) != 0)
		goto out;
	while ((r = st_step_row(st, s, "session list")) == 1) {
		if ((r = session_from_row(s, &x)) != 0)
			break;
		r = cb(ctx, x);
		store_session_free(x);
		if (r != 0) {
			r = 0;
			break;
		}
	}
out:
	st_free(s);
	return r < 0 ? r : 0;
}

int
store_session_mark_aborted_open(
    struct store *st, const char *broker, int64_t now, int *count)
{
	struct st_q *s = NULL;
	int r, n;

	if (count != NULL)
		*count = 0;
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = st_prep(st,
		 "UPDATE sessions SET state = 'aborted', ended_at = ?, "
		 "end_reason = 'broker restarted: session left open' WHERE "
		 "state = 'open' AND (broker IS NULL OR broker = ?2)",
		 &s)) != 0 ||
	    (r = st_bind_i64(st, s, 1, now)) != 0 ||
	    (r = st_bind_text(st, s, 2, broker)) != 0 ||
	    (r = st_step_done(st, s, "session recovery")) != 0)
		goto out;
	n = st_changes(st);
	st_done(s);
	s = NULL;
	if (n > 0 &&
	    (r = st_audit(st, "broker", "session.recover", "session:*",
		 json_pack("{s:i, s:s?}", "aborted", n, "broker", broker))) !=
		0)
		goto out;
	if ((r = st_commit(st)) != 0)
		return r;
	if (count != NULL)
		*count = n;
	return 0;
out:
	st_done(s);
	st_rollback(st);
	return r;
}

int
store_credential_record(struct store *st, const char *actor,
    enum store_cred_kind kind, const char *key_id, const char *principals,
    const char *engineer, const char *target, const char *session_id,
    int64_t valid_after, int64_t valid_before, uint64_t *serial)
{
	static const char ins[] =
	    "INSERT INTO credentials(kind, key_id, principals, valid_after, "
	    "valid_before, engineer_id, target_id, session_id, issued_at) "
	    "VALUES (?,?,?,?,?,?,?,?,?)";
	struct st_q *s = NULL;
	int64_t eid, tid = 0;
	uint64_t sn;
	int64_t rowid = 0;
	char obj[64];
	int r;

	*serial = 0;
	if (key_id == NULL || key_id[0] == '\0' || principals == NULL ||
	    principals[0] == '\0' || strchr(principals, '*') != NULL ||
	    strchr(principals, '?') != NULL)
		return st_fail(st, PV_ERR_INVALID,
		    "credential: key id and an exact principal are required");
	if (valid_before <= valid_after)
		return st_fail(
		    st, PV_ERR_INVALID, "credential: empty validity");
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = st_engineer_id(st, engineer, &eid)) != 0 ||
	    (target != NULL && (r = st_target_id(st, target, &tid)) != 0) ||
	    (r = st_prep(st, ins, &s)) != 0)
		goto out;
	if ((r = st_bind_text(
		 st, s, 1, kind == STORE_CRED_TOKEN ? "token" : "cert")) != 0 ||
	    (r = st_bind_text(st, s, 2, key_id)) != 0 ||
	    (r = st_bind_text(st, s, 3, principals)) != 0 ||
	    (r = st_bind_i64(st, s, 4, valid_after)) != 0 ||
	    (r = st_bind_i64(st, s, 5, valid_before)) != 0 ||
	    (r = st_bind_i64(st, s, 6, eid)) != 0 ||
	    (tid != 0 && (r = st_bind_i64(st, s, 7, tid)) != 0) ||
	    (r = st_bind_text(st, s, 8, session_id)) != 0 ||
	    (r = st_bind_i64(st, s, 9, pv_wall_ms() / 1000)) != 0 ||
	    (r = st_step_done(st, s, "credential record")) != 0)
		goto out;
	if ((r = st_last_id(st, &rowid)) != 0)
		goto out;
	sn = (uint64_t)rowid;
	st_done(s);
	s = NULL;
	if (snprintf(obj, sizeof(obj), "credential:%llu",
		(unsigned long long)sn) < 0) {
		r = PV_ERR_INTERNAL;
		goto out;
	}
	if ((r = st_audit(st, actor, "credential.issue", obj,
		 json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:I, s:I}", "kind",
		     kind == STORE_CRED_TOKEN ? "token" : "cert", "key_id",
		     key_id, "principals", principals, "engineer", engineer,
		     "target", target, "session", session_id, "valid_after",
		     (json_int_t)valid_after, "valid_before",
		     (json_int_t)valid_before))) != 0)
		goto out;
	if ((r = st_commit(st)) != 0)
		return r;
	*serial = sn;
	return 0;
out:
	st_done(s);
	st_rollback(st);
	return r;
}

int
store_credential_revoke(
    struct store *st, const char *actor, uint64_t serial, int64_t now)
{
	struct st_q *s = NULL;
	char obj[64];
	int r;

	if (serial == 0 || serial > INT64_MAX)
		return st_fail(
		    st, PV_ERR_RANGE, "credential serial out of range");
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = st_prep(st,
		 "UPDATE credentials SET revoked_at = ? WHERE serial = ? AND "
		 "revoked_at IS NULL",
		 &s)) != 0 ||
	    (r = st_bind_i64(st, s, 1, now)) != 0 ||
	    (r = st_bind_i64(st, s, 2, (int64_t)serial)) != 0 ||
	    (r = st_step_done(st, s, "credential revoke")) != 0)
		goto out;
	if (st_changes(st) != 1) {
		r = st_fail(st, PV_ERR_NOT_FOUND,
		    "credential %llu: not found or already revoked",
		    (unsigned long long)serial);
		goto out;
	}
	st_done(s);
	s = NULL;
	if (snprintf(obj, sizeof(obj), "credential:%llu",
		(unsigned long long)serial) < 0) {
		r = PV_ERR_INTERNAL;
		goto out;
	}
	if ((r = st_audit(st, actor, "credential.revoke", obj, NULL)) != 0)
		goto out;
	return st_commit(st);
out:
	st_done(s);
	st_rollback(st);
	return r;
}

int
store_credential_list(
    struct store *st, const char *provider, store_credential_cb cb, void *ctx)
{
	struct store_credential c;
	struct st_q *s;
	int r;

	if ((r = st_prep_once(st,
		 "SELECT c.serial, c.kind, c.key_id, c.principals, e.login, "
		 "t.name, c.session_id, c.valid_after, c.valid_before, "
		 "c.issued_at, coalesce(c.revoked_at, 0) FROM credentials c "
		 "JOIN engineers e ON e.id = c.engineer_id JOIN providers p ON "
		 "p.id = e.provider_id LEFT JOIN targets t ON t.id = "
		 "c.target_id "
		 "WHERE CAST(?1 AS TEXT) IS NULL OR p.name = ?1 ORDER BY "
		 "c.serial",
		 &s)) != 0)
		return r;
	if ((r = st_bind_text(st, s, 1, provider)) != 0)
		goto out;
	while ((r = st_step_row(st, s, "credential list")) == 1) {
		c = (struct store_credential){
			.serial = (uint64_t)st_col_i64(s, 0),
			.kind =
			    strcmp(st_col_text(s, 1) ? st_col_text(s, 1) : "",
				"token") == 0
			    ? STORE_CRED_TOKEN
			    : STORE_CRED_CERT,
			.key_id = st_col_text(s, 2),
			.principals = st_col_text(s, 3),
			.engineer = st_col_text(s, 4),
			.target = st_col_text(s, 5),
			.session_id = st_col_text(s, 6),
			.valid_after = st_col_i64(s, 7),
			.valid_before = st_col_i64(s, 8),
			.issued_at = st_col_i64(s, 9),
			.revoked_at = st_col_i64(s, 10),
		};
		if (cb(ctx, &c) != 0) {
			r = 0;
			break;
		}
	}
out:
	st_free(s);
	return r < 0 ? r : 0;
}

int
store_recent_sources(
    struct store *st, int64_t since, store_source_cb cb, void *ctx)
{
	struct st_q *s = NULL;
	const char *addr;
	int r;

	if ((r = st_begin(st, 0)) != 0)
		return r;
	if ((r = st_prep(st,
		 "SELECT client_addr, max(started_at) FROM sessions WHERE "
		 "started_at >= ? AND client_addr IS NOT NULL GROUP BY "
		 "client_addr",
		 &s)) != 0 ||
	    (r = st_bind_i64(st, s, 1, since)) != 0)
		goto out;
	while ((r = st_step_row(st, s, "recent sources")) == 1) {
		if ((addr = st_col_text(s, 0)) == NULL)
			continue;
		if ((r = cb(ctx, addr, st_col_i64(s, 1))) != 0)
			goto out;
	}
out:
	st_done(s);
	st_rollback(st);
	return r < 0 ? r : 0;
}
