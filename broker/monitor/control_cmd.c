/*
 * control_cmd.c: the control socket's line protocol: one JSON request per
 * connection (list, show, kill, nudge, watch), one JSON answer, peer
 * checked; a watch keeps the connection (control_watch.c).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "broker/monitor/monitor.h"
#include "broker/monitor/control-int.h"

static json_t *
cmd_session_json(const struct ctl_child *k, int64_t now_ms)
{
	int64_t idle = (now_ms - k->active_ms) / 1000;

	return json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, "
			 "s:I, s:b}",
	    "id", k->id, "pid", (json_int_t)k->pid, "engineer", k->engineer,
	    "target", k->target, "account", k->account, "classification",
	    k->classification, "client", k->addr, "start", (json_int_t)k->start,
	    "bytes_in", (json_int_t)k->bytes_in, "bytes_out",
	    (json_int_t)k->bytes_out, "idle", (json_int_t)(idle < 0 ? 0 : idle),
	    "ending", k->ending);
}

static json_t *cmd_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static json_t *
cmd_error(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static json_t *
cmd_list(struct broker_ctl *c)
{
	json_t *a = json_array(), *o;
	int64_t now = pv_wall_ms();
	size_t i, pre = 0;

	if (a == NULL)
		return NULL;
	for (i = 0; i < c->nkids; i++) {
		if (!c->kids[i].authenticated || c->kids[i].id[0] == '\0') {
			pre++;
			continue;
		}
		if ((o = cmd_session_json(&c->kids[i], now)) == NULL ||
		    json_array_append_new(a, o) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return json_pack("{s:b, s:o, s:I, s:b}", "ok", 1, "sessions", a,
	    "unauthenticated", (json_int_t)pre, "store_stale", c->stale);
}

static struct ctl_child *
cmd_find(struct broker_ctl *c, json_t *req, json_t **err)
{
	const char *id = json_string_value(json_object_get(req, "id"));
	struct ctl_child *k;
	int amb;

	*err = NULL;
	if (id == NULL) {
		*err = cmd_error("\"id\" missing");
		return NULL;
	}
	if ((k = broker_ctl_find(c, id, &amb)) == NULL)
		*err = amb
		    ? cmd_error("session %.40s: ambiguous prefix", id)
		    : cmd_error("session %.40s: no such live session", id);
	return k;
}

/* What the engineer will read: printable ASCII, bounded. */
static void
cmd_clean_reason(const char *in, char *out, size_t outlen)
{
	size_t i, n = 0;

	for (i = 0;
	     in[i] != '\0' && n + 1 < outlen && n < BROKER_CTL_REASON_MAX; i++)
		out[n++] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
	out[n] = '\0';
}

/*
 * Who acts: the peer's user; root may say for whom it runs (sudo), which
 * is recorded beside it, never instead of it.
 */
static void
cmd_acting(json_t *req, const char *peer, char *out, size_t len)
{
	const char *claim = json_string_value(json_object_get(req, "actor"));
	size_t i;

	(void)snprintf(out, len, "%s", peer);
	if (claim == NULL || strcmp(claim, peer) == 0 ||
	    strcmp(peer, "admin:root") != 0 || strlen(claim) > 64)
		return;
	for (i = 0; claim[i] != '\0'; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyz0123456789:._-",
			claim[i]) == NULL)
			return;
	(void)snprintf(out, len, "%.64s(via %.64s)", claim, peer);
}

static json_t *
cmd_kill(struct broker_ctl *c, json_t *req, const char *peer)
{
	const char *why = json_string_value(json_object_get(req, "reason"));
	char reason[BROKER_CTL_REASON_MAX + 1], msg[160], actor[160];
	struct ctl_child *k;
	json_t *err;
	int n;

	if ((k = cmd_find(c, req, &err)) == NULL)
		return err;
	cmd_acting(req, peer, actor, sizeof(actor));
	cmd_clean_reason(
	    why != NULL && why[0] != '\0' ? why : "no reason given", reason,
	    sizeof(reason));
	n = snprintf(msg, sizeof(msg),
	    "session killed by the security team: %s", reason);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return cmd_error("reason too long");
	if (broker_ctl_end(c, k, "session.kill", actor, msg) != 0)
		return cmd_error("session %s: its process did not take the "
				 "message",
		    k->id);
	return json_pack("{s:b, s:s, s:I}", "ok", 1, "killed", k->id, "pid",
	    (json_int_t)k->pid);
}

static json_t *
cmd_dispatch(struct broker_ctl *c, json_t *req, const char *actor)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	struct ctl_child *k;
	json_t *err;

	if (!json_is_object(req) || cmd == NULL)
		return cmd_error("a request is {\"cmd\": ...}");
	if (strcmp(cmd, "list") == 0)
		return cmd_list(c);
	if (strcmp(cmd, "show") == 0) {
		if ((k = cmd_find(c, req, &err)) == NULL)
			return err;
		return json_pack("{s:b, s:o}", "ok", 1, "session",
		    cmd_session_json(k, pv_wall_ms()));
	}
	if (strcmp(cmd, "kill") == 0)
		return cmd_kill(c, req, actor);
	if (strcmp(cmd, "nudge") == 0) {
		/* A revocation was just written: every session checks now. */
		broker_ctl_nudge(c);
		return json_pack("{s:b}", "ok", 1);
	}
	return cmd_error("unknown command %.32s", cmd);
}

static void
cmd_actor(uid_t uid, char *out, size_t len)
{
	struct passwd pwbuf, *pw = NULL;
	char buf[4096];

	if (getpwuid_r(uid, &pwbuf, buf, sizeof(buf), &pw) == 0 && pw != NULL)
		(void)snprintf(out, len, "admin:%s", pw->pw_name);
	else
		(void)snprintf(out, len, "admin:uid%u", (unsigned int)uid);
}

/* Reads one line (no NUL, at most BROKER_CTL_LINE_MAX); PV_ERR_* else. */
static int
cmd_read_line(int fd, char *buf, size_t len, size_t *got)
{
	ssize_t n;

	*got = 0;
	while (*got < len) {
		n = read(fd, buf + *got, len - *got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? PV_ERR_TIMEOUT : PV_ERR_IO;
		if (n == 0)
			return PV_ERR_INCOMPLETE;
		if (memchr(buf + *got, '\n', (size_t)n) != NULL) {
			*got += (size_t)n;
			return 0;
		}
		*got += (size_t)n;
	}
	return PV_ERR_LIMIT;
}

void
broker_ctl_serve(struct broker_ctl *c, int lfd)
{
	struct timeval tv = { .tv_sec = 2 };
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	char buf[BROKER_CTL_LINE_MAX], actor[128], *nl;
	json_t *req = NULL, *ans = NULL;
	json_error_t jerr;
	size_t got;
	char *out;
	int fd, r;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) != 0 ||
	    crlen != sizeof(cr)) {
		close(fd);
		return;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	cmd_actor(cr.uid, actor, sizeof(actor));
	/* The line is read first, so that the answer is not a reset. */
	r = cmd_read_line(fd, buf, sizeof(buf), &got);
	if (cr.uid != 0 && cr.uid != geteuid()) {
		pv_warn("control socket: refused pid %ld uid %u", (long)cr.pid,
		    (unsigned int)cr.uid);
		ans = cmd_error("permission denied");
		goto answer;
	}
	if (r != 0) {
		ans = cmd_error("%s",
		    r == PV_ERR_LIMIT ? "request too long" : "no request line");
		goto answer;
	}
	nl = memchr(buf, '\n', got);
	if ((req = json_loadb(buf, (size_t)(nl - buf), JSON_REJECT_DUPLICATES,
		 &jerr)) == NULL) {
		ans = cmd_error("malformed request: %s", jerr.text);
		goto answer;
	}
	if (json_is_object(req) &&
	    json_is_string(json_object_get(req, "cmd")) &&
	    strcmp(json_string_value(json_object_get(req, "cmd")), "watch") ==
		0) {
		char who[160], err[256];

		const char *code =
		    json_string_value(json_object_get(req, "code"));

		/* Answered and kept: the watcher's socket from now on. */
		cmd_acting(req, actor, who, sizeof(who));
		r = broker_ctl_watch_as(c, fd, who, (long)cr.pid,
		    (unsigned int)cr.uid,
		    json_string_value(json_object_get(req, "id")),
		    json_string_value(json_object_get(req, "follow")),
		    json_string_value(json_object_get(req, "approver")), code,
		    err, sizeof(err));
		/*
		 * The code is spent or wrong, but never left behind: wiped
		 * in jansson's own copy (its string is ours until decref).
		 */
		if (code != NULL) {
			char *own;

			memcpy(&own, &code, sizeof(own));
			OPENSSL_cleanse(own, strlen(own));
		}
		OPENSSL_cleanse(buf, sizeof(buf));
		if (r == 0) {
			json_decref(req);
			return;
		}
		ans = cmd_error("%s", err);
		goto answer;
	}
	ans = cmd_dispatch(c, req, actor);
	pv_verbose("control socket: %s: %s", actor,
	    json_string_value(json_object_get(req, "cmd")) != NULL
		? json_string_value(json_object_get(req, "cmd"))
		: "?");
answer:
	if (ans == NULL)
		ans = cmd_error("out of memory");
	if (ans != NULL &&
	    (out = json_dumps(ans, JSON_COMPACT | JSON_SORT_KEYS)) != NULL) {
		if (pv_write_all(fd, out, strlen(out)) == 0)
			(void)pv_write_all(fd, "\n", 1);
		free(out);
	}
	json_decref(ans);
	json_decref(req);
	/* What was sent past the line is read, so close sends no reset. */
	(void)shutdown(fd, SHUT_WR);
	for (got = 0; got < 64 * 1024; got += (size_t)r)
		if ((r = (int)recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) <= 0)
			break;
	close(fd);
}
