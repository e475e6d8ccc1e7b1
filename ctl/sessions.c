/*
 * sessions.c: provostctl session list/show/kill over provostd's control
 * socket (the store's rows when the daemon is down), and the revoke nudge.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "recorder/recorder.h"

#define CTL_ANSWER_MAX (4 * 1024 * 1024)

/*
 * One request, one answer.  PV_ERR_CLOSED if no daemon listens (no socket,
 * refused); the answer's "ok": false is returned as PV_ERR_DENIED with
 * its error in *ans.
 */
int
ctl_control_call(struct ctl *c, json_t *req, json_t **ans)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	const char *path = c->cfg->control_socket;
	char *line = NULL, *buf = NULL;
	size_t len = 0, cap = 0;
	json_error_t jerr;
	ssize_t n;
	int fd = -1, r = PV_ERR_INTERNAL;

	*ans = NULL;
	if (strlen(path) >= sizeof(sun.sun_path))
		return PV_ERR_RANGE;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return PV_ERR_IO;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		r = (errno == ENOENT || errno == ECONNREFUSED) ? PV_ERR_CLOSED
		    : errno == EACCES                          ? PV_ERR_PERM
							       : PV_ERR_IO;
		goto out;
	}
	if ((line = json_dumps(req, JSON_COMPACT)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if (pv_write_all(fd, line, strlen(line)) != 0 ||
	    pv_write_all(fd, "\n", 1) != 0) {
		r = PV_ERR_IO;
		goto out;
	}
	for (;;) {
		if (len == cap) {
			char *nb;

			if (cap >= CTL_ANSWER_MAX) {
				r = PV_ERR_LIMIT;
				goto out;
			}
			cap = cap ? cap * 2 : 4096;
			if ((nb = realloc(buf, cap)) == NULL) {
				r = PV_ERR_ALLOC;
				goto out;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = PV_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if ((*ans = json_loadb(buf, len, 0, &jerr)) == NULL ||
	    !json_is_object(*ans)) {
		r = PV_ERR_PROTOCOL;
		goto out;
	}
	r = json_is_true(json_object_get(*ans, "ok")) ? 0 : PV_ERR_DENIED;
out:
	if (r != 0 && r != PV_ERR_DENIED) {
		json_decref(*ans);
		*ans = NULL;
	}
	free(line);
	free(buf);
	if (fd >= 0)
		close(fd);
	return r;
}

static const char *
ans_error(json_t *ans)
{
	const char *e = json_string_value(json_object_get(ans, "error"));

	return e != NULL ? e : "refused";
}

static int
call_fail(struct ctl *c, int r, json_t *ans)
{
	if (r == PV_ERR_CLOSED)
		return ctl_fail(r,
		    "provostd is not running (no control socket "
		    "at %s)",
		    c->cfg->control_socket);
	if (r == PV_ERR_PERM)
		return ctl_fail(r,
		    "control socket %s: permission denied (root or provostd's "
		    "user only)",
		    c->cfg->control_socket);
	if (r == PV_ERR_DENIED)
		return ctl_fail(
		    json_is_object(ans) && strstr(ans_error(ans), "no such")
			? PV_ERR_NOT_FOUND
			: PV_ERR_DENIED,
		    "provostd: %s", ans_error(ans));
	return ctl_fail(
	    r, "control socket %s: %s", c->cfg->control_socket, pv_err_str(r));
}

void
ctl_control_nudge(struct ctl *c)
{
	json_t *req = json_pack("{s:s}", "cmd", "nudge"), *ans = NULL;

	if (req != NULL && ctl_control_call(c, req, &ans) == 0)
		pv_debug("provostd nudged");
	json_decref(req);
	json_decref(ans);
}

static const char *
fmt_bytes(uint64_t v, char *buf, size_t len)
{
	if (v < 10 * 1024)
		(void)snprintf(buf, len, "%llu", (unsigned long long)v);
	else if (v < 10ULL * 1024 * 1024)
		(void)snprintf(buf, len, "%lluK", (unsigned long long)v / 1024);
	else
		(void)snprintf(
		    buf, len, "%lluM", (unsigned long long)v / (1024 * 1024));
	return buf;
}

static void
print_live(json_t *s)
{
	char t[64], bi[32], bo[32];
	json_int_t idle = json_integer_value(json_object_get(s, "idle"));

	printf("%s  %-12s %s@%s  %s  in %s out %s  idle %llds  pid %lld%s\n",
	    json_string_value(json_object_get(s, "id")),
	    json_string_value(json_object_get(s, "engineer")),
	    json_string_value(json_object_get(s, "account")),
	    json_string_value(json_object_get(s, "target")),
	    ctl_time(
		json_integer_value(json_object_get(s, "start")), t, sizeof(t)),
	    fmt_bytes(
		(uint64_t)json_integer_value(json_object_get(s, "bytes_in")),
		bi, sizeof(bi)),
	    fmt_bytes(
		(uint64_t)json_integer_value(json_object_get(s, "bytes_out")),
		bo, sizeof(bo)),
	    (long long)idle,
	    (long long)json_integer_value(json_object_get(s, "pid")),
	    json_is_true(json_object_get(s, "ending")) ? "  (ending)" : "");
}

static int
store_row_cb(void *ctx, const struct store_session *s)
{
	json_t *a = ctx, *o;

	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s?}", "id",
	    s->id, "engineer", s->engineer, "target", s->target, "account",
	    s->account, "client", s->client_addr ? s->client_addr : "", "start",
	    (json_int_t)s->started_at, "bytes_in", (json_int_t)s->bytes_in,
	    "bytes_out", (json_int_t)s->bytes_out, "broker", s->broker);
	return o == NULL || json_array_append_new(a, o) != 0 ? PV_ERR_ALLOC : 0;
}

static int
list_from_store(struct ctl *c)
{
	json_t *a = json_array();
	size_t i;
	char t[64];
	int r;

	if (a == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	if ((r = ctl_open_store(c)) != 0) {
		json_decref(a);
		return r;
	}
	if ((r = store_session_list(c->st, 1, store_row_cb, a)) != 0) {
		json_decref(a);
		return ctl_fail(r, "sessions: %s", store_errmsg(c->st));
	}
	/* The same keys as provostd's answer; what only it knows is null. */
	if (c->json)
		return ctl_print_json(
		    json_pack("{s:s, s:o, s:n, s:n}", "source", "store",
			"sessions", a, "unauthenticated", "store_stale"));
	for (i = 0; i < json_array_size(a); i++) {
		json_t *s = json_array_get(a, i);

		printf("%s  %-12s %s@%s  %s  (store row: open)\n",
		    json_string_value(json_object_get(s, "id")),
		    json_string_value(json_object_get(s, "engineer")),
		    json_string_value(json_object_get(s, "account")),
		    json_string_value(json_object_get(s, "target")),
		    ctl_time(json_integer_value(json_object_get(s, "start")), t,
			sizeof(t)));
	}
	json_decref(a);
	return CTL_EXIT_OK;
}

int
ctl_cmd_session_list(struct ctl *c, int argc, char **argv)
{
	const struct ctl_cmd *cmd = ctl_cmd_find("session", "list");
	int live = 0, first, r;
	const struct ctl_opt opts[] = {
		{ "live", 0, NULL, &live },
		{ NULL, 0, NULL, NULL },
	};
	json_t *req, *ans = NULL, *a;
	json_int_t pre;
	size_t i;

	if ((r = ctl_parse(c, cmd, argc, argv, opts, &first)) != 0)
		return r < 0 ? CTL_EXIT_OK : r;
	if (first != argc)
		return ctl_usage(cmd, "no arguments expected");
	if ((req = json_pack("{s:s}", "cmd", "list")) == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	r = ctl_control_call(c, req, &ans);
	json_decref(req);
	if (r == PV_ERR_CLOSED && !live) {
		fprintf(stderr,
		    "provostctl: provostd is not running (no control socket at "
		    "%s); showing the store's open session rows\n",
		    c->cfg->control_socket);
		return list_from_store(c);
	}
	if (r != 0) {
		r = call_fail(c, r, ans);
		json_decref(ans);
		return r;
	}
	/*
	 * provostctl(8): the one list that is an object, because provostd
	 * says more than its sessions; exactly these keys, whatever else the
	 * daemon's answer holds.
	 */
	if (c->json) {
		a = json_pack("{s:s, s:O?, s:O?, s:O?}", "source", "provostd",
		    "sessions", json_object_get(ans, "sessions"),
		    "unauthenticated", json_object_get(ans, "unauthenticated"),
		    "store_stale", json_object_get(ans, "store_stale"));
		json_decref(ans);
		return ctl_print_json(a);
	}
	a = json_object_get(ans, "sessions");
	for (i = 0; i < json_array_size(a); i++)
		print_live(json_array_get(a, i));
	/* Always, as provostctl(8) promises: 0 is an answer too. */
	pre = json_integer_value(json_object_get(ans, "unauthenticated"));
	printf("(%lld connection%s not yet authenticated)\n", (long long)pre,
	    pre == 1 ? "" : "s");
	if (json_is_true(json_object_get(ans, "store_stale")))
		printf(
		    "(the store cannot be read: new sessions are refused)\n");
	json_decref(ans);
	return CTL_EXIT_OK;
}

int
ctl_cmd_session_show(struct ctl *c, int argc, char **argv)
{
	const struct ctl_cmd *cmd = ctl_cmd_find("session", "show");
	json_t *req, *ans = NULL, *s;
	struct store_session *row = NULL;
	char t[64];
	int first, r;

	if ((r = ctl_parse(c, cmd, argc, argv, NULL, &first)) != 0)
		return r < 0 ? CTL_EXIT_OK : r;
	if (argc - first != 1)
		return ctl_usage(cmd, "one session ID expected");
	req = json_pack("{s:s, s:s}", "cmd", "show", "id", argv[first]);
	if (req == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	r = ctl_control_call(c, req, &ans);
	json_decref(req);
	if (r == 0) {
		s = json_incref(json_object_get(ans, "session"));
		json_decref(ans);
		if (c->json) {
			(void)json_object_set_new(
			    s, "source", json_string("provostd"));
			return ctl_print_json(s);
		}
		print_live(s);
		json_decref(s);
		return CTL_EXIT_OK;
	}
	json_decref(ans);
	/* Not live (or no daemon): the store's row, if there is one. */
	if ((r = ctl_open_store(c)) != 0)
		return r;
	if ((r = store_session_get(c->st, argv[first], &row)) != 0)
		return ctl_fail(r, "session %s: %s", argv[first],
		    r == PV_ERR_NOT_FOUND ? "not found" : store_errmsg(c->st));
	if (c->json) {
		r = ctl_print_json(json_pack(
		    "{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, "
		    "s:s?}",
		    "source", "store", "id", row->id, "engineer", row->engineer,
		    "target", row->target, "account", row->account, "state",
		    row->state == STORE_SESSION_OPEN         ? "open"
			: row->state == STORE_SESSION_CLOSED ? "closed"
							     : "aborted",
		    "start", (json_int_t)row->started_at, "end",
		    (json_int_t)row->ended_at, "bytes_in",
		    (json_int_t)row->bytes_in, "bytes_out",
		    (json_int_t)row->bytes_out, "end_reason",
		    row->end_reason ? row->end_reason : "", "broker",
		    row->broker));
	} else {
		printf("%s  %s %s@%s  started %s  in %llu out %llu  %s%s\n",
		    row->id, row->engineer, row->account, row->target,
		    ctl_time(row->started_at, t, sizeof(t)),
		    (unsigned long long)row->bytes_in,
		    (unsigned long long)row->bytes_out,
		    row->state == STORE_SESSION_OPEN ? "open (not live)"
						     : "ended: ",
		    row->end_reason ? row->end_reason : "");
		r = CTL_EXIT_OK;
	}
	store_session_free(row);
	return r;
}

/*
 * A kill of a session another broker sharing the store owns: a pending
 * kill in the store, which the owner's monitor reads with the
 * revocations once a second.  Waited for up to KILL_WAIT_MS.
 */
#define KILL_WAIT_MS 5000

static int
kill_pending(struct ctl *c, const char *id, const char *reason, int down)
{
	struct store_session *row = NULL;
	char *owner = NULL;
	uint64_t until;
	int r, ended = 0;

	if ((r = ctl_open_store(c)) != 0)
		return r;
	if ((r = store_session_kill_request(c->st, c->actor, id, reason,
		 (int64_t)time(NULL), &owner)) != 0)
		return r != PV_ERR_NOT_FOUND
		    ? ctl_fail(r, "%s", store_errmsg(c->st))
		    : down ? ctl_fail(PV_ERR_CLOSED,
				 "provostd is not running (no control socket "
				 "at %s), and session %s is not open in the "
				 "store",
				 c->cfg->control_socket, id)
			   : ctl_fail(r,
				 "session %s: no such live session (at this "
				 "or another broker)",
				 id);
	until = pv_mono_ms() + KILL_WAIT_MS;
	while (!ended && pv_mono_ms() < until) {
		(void)usleep(50 * 1000);
		if (store_session_get(c->st, id, &row) == 0 &&
		    row->state != STORE_SESSION_OPEN)
			ended = 1;
		store_session_free(row);
		row = NULL;
	}
	if (c->json)
		r = ctl_print_json(
		    json_pack("{s:s, s:s?, s:b}", ended ? "killed" : "pending",
			id, "broker", owner, "ended", ended));
	else if (ended) {
		printf("session %s killed (by broker %s)\n", id,
		    owner != NULL ? owner : "unknown");
		r = CTL_EXIT_OK;
	} else
		r = ctl_fail(PV_ERR_TIMEOUT,
		    "session %s: kill pending at broker %s; not ended within "
		    "%d s",
		    id, owner != NULL ? owner : "unknown", KILL_WAIT_MS / 1000);
	free(owner);
	return r;
}

int
ctl_cmd_session_kill(struct ctl *c, int argc, char **argv)
{
	const struct ctl_cmd *cmd = ctl_cmd_find("session", "kill");
	const char *reason = NULL;
	const struct ctl_opt opts[] = {
		{ "reason", 1, &reason, NULL },
		{ NULL, 0, NULL, NULL },
	};
	json_t *req, *ans = NULL;
	int first, r;

	if ((r = ctl_parse(c, cmd, argc, argv, opts, &first)) != 0)
		return r < 0 ? CTL_EXIT_OK : r;
	if (argc - first != 1)
		return ctl_usage(cmd, "one session ID expected");
	req = json_pack("{s:s, s:s, s:s, s:s}", "cmd", "kill", "id",
	    argv[first], "reason", reason != NULL ? reason : "no reason given",
	    "actor", c->actor);
	if (req == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	r = ctl_control_call(c, req, &ans);
	json_decref(req);
	/* not a session of this provostd: maybe of another on the store */
	if (r == PV_ERR_CLOSED ||
	    (r == PV_ERR_DENIED && strstr(ans_error(ans), "no such") != NULL)) {
		json_decref(ans);
		return kill_pending(c, argv[first],
		    reason != NULL ? reason : "no reason given",
		    r == PV_ERR_CLOSED);
	}
	if (r != 0) {
		r = call_fail(c, r, ans);
		json_decref(ans);
		return r;
	}
	if (c->json) {
		/* What was done, as every command's object; no "ok". */
		r = ctl_print_json(json_pack("{s:O?, s:O?}", "killed",
		    json_object_get(ans, "killed"), "pid",
		    json_object_get(ans, "pid")));
		json_decref(ans);
		return r;
	}
	printf("session %s killed\n",
	    json_string_value(json_object_get(ans, "killed")));
	json_decref(ans);
	return CTL_EXIT_OK;
}

/*
 * session verify ID: the audit chain is checked first (as audit verify),
 * then the session's recording against what the chain recorded of it:
 * the header hash at session.open, the file hash and size at its end.
 */
int
ctl_cmd_session_verify(struct ctl *c, int argc, char **argv)
{
	const char *file = NULL;
	const struct ctl_opt opts[] = {
		{ "recording", 1, &file, NULL },
		{ NULL, 0, NULL, NULL },
	};
	const struct ctl_cmd *cmd = ctl_cmd_find("session", "verify");
	struct store_audit_report rep;
	struct rec_audit_index *ix = NULL;
	const struct rec_audit_ref *ref;
	char path[4096], msg[1024], err[512];
	const char *id, *rec;
	EVP_PKEY *pub = NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *mf = NULL;
	int first, r, rc;

	if ((r = ctl_parse(c, cmd, argc, argv, opts, &first)) != 0)
		return r < 0 ? CTL_EXIT_OK : r;
	if (argc - first != 1 || !pv_uuid_valid(argv[first]))
		return ctl_usage(cmd, "one session ID (a UUID) expected");
	id = argv[first];
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = ctl_state_path(c, "audit_ed25519.pub", path, sizeof(path))) !=
		0 ||
	    (r = pv_sshkey_load_public(path, &pub)) != 0)
		return ctl_fail(PV_ERR_CONFIG, "%s: %s", path, pv_err_str(r));
	r = store_audit_verify(c->st, pub, &rep);
	EVP_PKEY_free(pub);
	if (r == PV_ERR_AUTH)
		return ctl_fail(r,
		    "audit: TAMPERED: %s (no recording is checked against a "
		    "broken chain)",
		    rep.what);
	if (r != 0)
		return ctl_fail(r, "%s", store_errmsg(c->st));
	/* the chain's own rows, as audit export writes them */
	if ((mf = open_memstream(&text, &len)) == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	r = store_audit_export(c->st, 0, mf);
	if (fclose(mf) != 0 && r == 0)
		r = PV_ERR_IO;
	if (r != 0) {
		free(text);
		return ctl_fail(r, "%s", store_errmsg(c->st));
	}
	r = rec_audit_index_load(&ix, "audit", text, len, err, sizeof(err));
	free(text);
	if (r != 0)
		return ctl_fail(r, "%s", err);
	if ((ref = rec_audit_index_find(ix, id)) == NULL ||
	    ref->open_seq == 0) {
		rec_audit_index_free(ix);
		return ctl_fail(PV_ERR_NOT_FOUND,
		    "session %s: no session.open in the audit chain", id);
	}
	(void)snprintf(
	    path, sizeof(path), "%s", file != NULL ? file : ref->path);
	rec = path;
	if (rec[0] == '\0') {
		rec_audit_index_free(ix);
		return ctl_fail(PV_ERR_NOT_FOUND,
		    "session %s: the audit chain names no recording (give "
		    "--recording FILE)",
		    id);
	}
	r = rec_audit_check(ix, rec, id, msg, sizeof(msg));
	rec_audit_index_free(ix);
	if (c->json)
		rc = ctl_print_json(json_pack("{s:s, s:s, s:b, s:s}", "session",
		    id, "recording", rec, "ok", r > 0, "what", msg));
	else if (r > 0)
		printf("session %s: recording %s: OK: %s\n", id, rec, msg);
	else
		printf("session %s: recording %s: FAILED: %s\n", id, rec, msg);
	if (r < 0)
		return ctl_exit_code(r);
	return r > 0 ? rc : CTL_EXIT_TAMPERED;
}
