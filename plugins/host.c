/*
 * host.c: plugins run in a plugin-host process, never in the caller's.
 *
 * provostd's monitor (and provostctl, for what it decides itself) forks
 * one host at start; the host loads every Plugin line's object and then
 * answers over a SOCK_SEQPACKET pair, one JSON object a message:
 *
 *   -> {"op":"check","seq":N,"access":{...}}   <- {"seq":N,"v":1|0,"reason":R}
 *   -> {"op":"event","event":{...}}            (no answer)
 *   -> {"op":"report","seq":N,"what":W} + fd   <- {"seq":N,"v":1|0|-1,"error":E}
 *   -> {"op":"due","seq":N,"time":T}          <- {"seq":N,"v":1}
 *   <- {"op":"exit","plugin":NAME,"provider":P,"reason":R}
 *                                   (a plugin asks for an exit)
 *
 * A host that does not answer a check within the time limit, or whose
 * socket closes (a crash), means deny: it is killed and reaped, and the
 * next question starts a new one (at most one start a second).  A plugin
 * can therefore take down only the host, never a session or the monitor.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "common/common.h"
#include "common/fdpass.h"
#include "plugins/plugins.h"
#include "store/store.h"

#define HOST_MSG_MAX 65536
#define HOST_START_MS 10000
#define HOST_RESTART_MS 1000

struct host_spec {
	char *path;
	char *config;
};

struct plugin_host {
	struct host_spec *specs;
	size_t nspecs;
	unsigned int timeout_ms;
	pid_t owner; /* the process that started the host */
	pid_t pid;   /* the host, or -1 */
	int fd;
	uint64_t seq;
	uint64_t last_start_ms;
	int start_failed; /* the last start failed: retried a second on */
	unsigned int nplugins;
	struct plugin_host_opts o;
	char last_failure[256];
};

/* ---- the host process ---- */

static int host_fd = -1;
static const struct plugin_host_opts *host_opts;

static void
host_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (level < PV_LOG_ERROR || level > PV_LOG_DEBUG)
		level = PV_LOG_INFO;
	pv_log((enum pv_log_level)level, "plugin: %s", msg);
}

static int
host_send_json(int fd, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	ssize_t w;
	int r = PV_ERR_IO;

	json_decref(o);
	if (s == NULL)
		return PV_ERR_ALLOC;
	if (strlen(s) < HOST_MSG_MAX) {
		do
			w = send(fd, s, strlen(s), MSG_NOSIGNAL);
		while (w < 0 && errno == EINTR);
		r = w == (ssize_t)strlen(s) ? 0 : PV_ERR_IO;
	}
	free(s);
	return r;
}

static int
host_request_exit(void *ctx, const char *provider, const char *reason)
{
	if (provider == NULL)
		return -1;
	return host_send_json(host_fd,
		   json_pack("{s:s, s:s, s:s, s:s}", "op", "exit", "plugin",
		       plugin_name_of(ctx), "provider", provider, "reason",
		       reason != NULL ? reason : "")) == 0
	    ? 1
	    : -1;
}

/* "plugin.NAME..." in letters, digits, . _ -: a plugin's own actions. */
static int
action_valid(const char *a)
{
	size_t i, n = strlen(a);

	if (strncmp(a, "plugin.", 7) != 0 || n > 64 || n < 8)
		return 0;
	for (i = 0; i < n; i++) {
		if (!((a[i] >= 'a' && a[i] <= 'z') ||
			(a[i] >= '0' && a[i] <= '9') || a[i] == '.' ||
			a[i] == '_' || a[i] == '-'))
			return 0;
	}
	return 1;
}

/* Queued for the caller, which appends it (it holds the audit key). */
static int
host_audit(void *ctx, const char *action, const char *object,
    const char *details, const char **errstr)
{
	json_t *d = NULL;

	if (action == NULL || !action_valid(action)) {
		*errstr = "the action must be plugin.NAME (a-z 0-9 . _ -)";
		return -1;
	}
	if (details != NULL &&
	    ((d = json_loads(details, 0, NULL)) == NULL ||
		!json_is_object(d))) {
		json_decref(d);
		*errstr = "details must be a JSON object";
		return -1;
	}
	if (host_send_json(host_fd,
		json_pack("{s:s, s:s, s:s, s:s?, s:o?}", "op", "audit",
		    "plugin", plugin_name_of(ctx), "action", action, "object",
		    object, "details", d)) != 0) {
		*errstr = "the audit row could not be queued";
		return -1;
	}
	return 1;
}

static int
host_query(void *ctx, const char *what, char **out, const char **errstr)
{
	static char err[256];

	(void)ctx;
	*out = NULL;
	if (host_opts == NULL || host_opts->query == NULL) {
		*errstr = "no store to ask";
		return -1;
	}
	if (what == NULL ||
	    host_opts->query(
		host_opts->query_ctx, what, out, err, sizeof(err)) != 0) {
		*errstr = what == NULL ? "no question" : err;
		return -1;
	}
	return 1;
}

static const char *
jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void
host_check(struct plugin_set *set, json_t *req)
{
	json_t *a = json_object_get(req, "access");
	char reason[512];
	struct provost_access acc = {
		.engineer = jstr(a, "engineer"),
		.provider = jstr(a, "provider"),
		.target = jstr(a, "target"),
		.classification = jstr(a, "classification"),
		.account = jstr(a, "account"),
		.channel = jstr(a, "channel"),
		.grant_id = jstr(a, "grant_id"),
		.now = (int64_t)json_integer_value(json_object_get(a, "now")),
		.source = jstr(a, "source"),
	};
	int v = plugin_set_check_access(set, &acc, reason, sizeof(reason));

	(void)host_send_json(host_fd,
	    json_pack("{s:I, s:i, s:s}", "seq",
		json_integer_value(json_object_get(req, "seq")), "v",
		v == PV_ALLOW ? 1 : 0, "reason", reason));
}

static void
host_event(struct plugin_set *set, json_t *req)
{
	json_t *e = json_object_get(req, "event");
	struct provost_event ev = {
		.kind = (enum provost_event_kind)json_integer_value(
		    json_object_get(e, "kind")),
		.time = (int64_t)json_integer_value(json_object_get(e, "time")),
		.provider = jstr(e, "provider"),
		.engineer = jstr(e, "engineer"),
		.target = jstr(e, "target"),
		.object_id = jstr(e, "object_id"),
		.details_json = jstr(e, "details"),
	};

	(void)plugin_set_event(set, &ev, NULL, 0);
}

/*
 * exit due: the plugins' request_exit calls go out before the answer, on
 * the same ordered socket, so the caller has them all when it comes.
 */
static void
host_due(struct plugin_set *set, json_t *req)
{
	struct provost_event ev = {
		.kind = PROVOST_EVENT_EXIT_DUE,
		.time =
		    (int64_t)json_integer_value(json_object_get(req, "time")),
	};

	char err[512] = "";
	int v = plugin_set_event(set, &ev, err, sizeof(err)) == 0 ? 1 : -1;

	(void)host_send_json(host_fd,
	    json_pack("{s:I, s:i, s:s}", "seq",
		json_integer_value(json_object_get(req, "seq")), "v", v,
		"error", err));
}

static void
host_report(struct plugin_set *set, json_t *req, int fd)
{
	char err[512] = "";
	FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
	int v = -1;

	if (out == NULL) {
		(void)snprintf(err, sizeof(err), "no output: %s",
		    fd < 0 ? "none passed" : strerror(errno));
		if (fd >= 0)
			close(fd);
	} else {
		v = plugin_set_report(set, out,
		    jstr(req, "what") != NULL ? jstr(req, "what") : "", err,
		    sizeof(err));
		if (fclose(out) != 0 && v == 1) {
			v = -1;
			(void)snprintf(err, sizeof(err),
			    "writing the report: %s", strerror(errno));
		}
	}
	(void)host_send_json(host_fd,
	    json_pack("{s:I, s:i, s:s}", "seq",
		json_integer_value(json_object_get(req, "seq")), "v", v,
		"error", err));
}

/* One message and the descriptor that came with it (or -1). */
static ssize_t
host_recv(int fd, char *buf, size_t len, int *passed)
{
	union pv_fd_cmsg cm;
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	*passed = -1;
	pv_fd_expect(&mh, &cm);
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return n;
	/* one descriptor or none; anything else is not the host's peer */
	if (pv_fd_take(&mh, passed) != 0 || (mh.msg_flags & MSG_TRUNC) != 0) {
		if (*passed >= 0)
			(void)close(*passed);
		*passed = -1;
		return -1;
	}
	return n;
}

static void __attribute__((noreturn)) host_main(const struct host_spec *specs,
    size_t n, int fd, const struct plugin_host_opts *o)
{
	static const struct provost_plugin_host api = {
		.version = PROVOST_PLUGIN_VERSION,
		.ctx = NULL,
		.log = host_log,
		.request_exit = host_request_exit,
		.audit = host_audit,
		.query = host_query,
	};
	struct plugin_set *set;
	char err[512], *buf;
	json_t *req;
	ssize_t got;
	size_t i;
	int passed;

	host_fd = fd;
	host_opts = o;
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	(void)signal(SIGPIPE, SIG_IGN);
	(void)signal(SIGCHLD, SIG_DFL);
	(void)signal(SIGHUP, SIG_IGN);
	(void)signal(SIGTERM, SIG_DFL);
	(void)signal(SIGINT, SIG_IGN);
	if ((buf = malloc(HOST_MSG_MAX)) == NULL ||
	    (set = plugin_set_new(&api)) == NULL)
		_exit(1);
	for (i = 0; i < n; i++) {
		if (plugin_set_load(set, specs[i].path, specs[i].config, err,
			sizeof(err)) != 0) {
			(void)host_send_json(
			    fd, json_pack("{s:b, s:s}", "ok", 0, "error", err));
			_exit(1);
		}
	}
	if (host_send_json(
		fd, json_pack("{s:b, s:i}", "ok", 1, "plugins", (int)n)) != 0)
		_exit(1);
	for (;;) {
		if ((got = host_recv(fd, buf, HOST_MSG_MAX - 1, &passed)) <= 0)
			break;
		buf[got] = '\0';
		if ((req = json_loads(buf, 0, NULL)) == NULL) {
			if (passed >= 0)
				close(passed);
			continue;
		}
		const char *op = jstr(req, "op");

		if (op != NULL && strcmp(op, "check") == 0)
			host_check(set, req);
		else if (op != NULL && strcmp(op, "event") == 0)
			host_event(set, req);
		else if (op != NULL && strcmp(op, "due") == 0)
			host_due(set, req);
		else if (op != NULL && strcmp(op, "report") == 0) {
			host_report(set, req, passed);
			passed = -1;
		}
		if (passed >= 0)
			close(passed);
		json_decref(req);
	}
	plugin_set_free(set);
	_exit(0);
}

/* ---- the caller's side ---- */

static void
host_kill(struct plugin_host *h, const char *why)
{
	int status;

	if (h->pid > 0) {
		(void)kill(h->pid, SIGKILL);
		/* provostd's SIGCHLD handler may reap it first: ECHILD */
		while (waitpid(h->pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	h->pid = -1;
	(void)snprintf(h->last_failure, sizeof(h->last_failure), "%s", why);
}

/* A plugin's audit row, appended by the caller (actor plugin:NAME). */
static void
host_audit_row(struct plugin_host *h, json_t *o)
{
	json_t *d = json_object_get(o, "details");
	char *details = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;

	if (jstr(o, "plugin") == NULL || jstr(o, "action") == NULL ||
	    !action_valid(jstr(o, "action")))
		pv_error("plugin host: a malformed audit row was dropped");
	else if (h->o.audit == NULL ||
	    h->o.audit(h->o.audit_ctx, jstr(o, "plugin"), jstr(o, "action"),
		jstr(o, "object"), details) != 0)
		pv_error("plugin %.64s: audit row %.64s not appended",
		    jstr(o, "plugin"), jstr(o, "action"));
	free(details);
}

/* Waits for one message of the host (ms: the time limit). */
static json_t *
host_wait(struct plugin_host *h, unsigned int ms, const char **why)
{
	uint64_t until = pv_mono_ms() + ms;
	struct pollfd p = { .fd = h->fd, .events = POLLIN };
	char *buf;
	json_t *o = NULL;
	ssize_t n;

	if ((buf = malloc(HOST_MSG_MAX)) == NULL) {
		*why = "out of memory";
		return NULL;
	}
	for (;;) {
		uint64_t now = pv_mono_ms();
		int r;

		/* polled once even when no time is left (ms 0: a drain) */
		r = poll(&p, 1, now < until ? (int)(until - now) : 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			*why = "did not answer in time";
			break;
		}
		do
			n = recv(h->fd, buf, HOST_MSG_MAX - 1, MSG_DONTWAIT);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n <= 0) {
			*why = "ended (a plugin crashed or exited)";
			break;
		}
		buf[n] = '\0';
		if ((o = json_loads(buf, 0, NULL)) == NULL) {
			*why = "sent a malformed answer";
			break;
		}
		if (jstr(o, "op") != NULL &&
		    strcmp(jstr(o, "op"), "audit") == 0) {
			host_audit_row(h, o);
			json_decref(o);
			o = NULL;
			continue;
		}
		/*
		 * A plugin's request for an exit: the caller's (exit due), or
		 * logged for the admin.
		 */
		if (jstr(o, "op") != NULL &&
		    strcmp(jstr(o, "op"), "exit") == 0) {
			if (h->o.exit != NULL && jstr(o, "plugin") != NULL &&
			    jstr(o, "provider") != NULL)
				h->o.exit(h->o.exit_ctx, jstr(o, "plugin"),
				    jstr(o, "provider"),
				    jstr(o, "reason") ? jstr(o, "reason") : "");
			else
				pv_warn("plugin %.64s asks for the exit of "
					"provider %.64s: %.200s (provostctl "
					"exit due starts it)",
				    jstr(o, "plugin") ? jstr(o, "plugin") : "?",
				    jstr(o, "provider") ? jstr(o, "provider")
							: "?",
				    jstr(o, "reason") ? jstr(o, "reason") : "");
			json_decref(o);
			o = NULL;
			continue;
		}
		break;
	}
	free(buf);
	return o;
}

static int
host_spawn(struct plugin_host *h, char *err, size_t errlen)
{
	const char *why = NULL;
	json_t *hello;
	int sv[2];

	h->last_start_ms = pv_mono_ms();
	h->start_failed = 1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		(void)snprintf(err, errlen, "plugin host: socketpair: %s",
		    strerror(errno));
		return PV_ERR_IO;
	}
	if ((h->pid = fork()) < 0) {
		(void)snprintf(
		    err, errlen, "plugin host: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return PV_ERR_IO;
	}
	if (h->pid == 0) {
		/* Nothing of the caller's but the socket and stdio. */
		if (h->o.scrub != NULL)
			h->o.scrub(h->o.scrub_ctx);
		if (dup2(sv[1], 3) != 3)
			_exit(1);
		(void)close_range(4, ~0U, 0);
		host_main(h->specs, h->nspecs, 3, &h->o);
	}
	close(sv[1]);
	h->fd = sv[0];
	hello = host_wait(h, HOST_START_MS, &why);
	if (hello == NULL || !json_is_true(json_object_get(hello, "ok"))) {
		(void)snprintf(err, errlen, "%s",
		    hello != NULL && jstr(hello, "error") != NULL
			? jstr(hello, "error")
			: why != NULL ? why
				      : "the plugin host failed");
		json_decref(hello);
		host_kill(h, err);
		h->start_failed = 1;
		return PV_ERR_CONFIG;
	}
	h->start_failed = 0;
	h->nplugins =
	    (unsigned int)json_integer_value(json_object_get(hello, "plugins"));
	json_decref(hello);
	h->last_failure[0] = '\0';
	return 0;
}

int
plugin_host_start(const struct plugin_spec *specs, size_t n,
    const struct plugin_host_opts *o, struct plugin_host **out, char *err,
    size_t errlen)
{
	struct plugin_host *h;
	size_t i;
	int r;

	*out = NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (n > 0 && (h->specs = calloc(n, sizeof(*h->specs))) == NULL)) {
		free(h);
		(void)snprintf(err, errlen, "out of memory");
		return PV_ERR_ALLOC;
	}
	h->fd = -1;
	h->pid = -1;
	h->owner = getpid();
	h->timeout_ms = o->timeout_ms;
	h->o = *o;
	for (i = 0; i < n; i++) {
		h->specs[i].path = strdup(specs[i].path);
		h->specs[i].config =
		    specs[i].config != NULL ? strdup(specs[i].config) : NULL;
		h->nspecs++;
		if (h->specs[i].path == NULL ||
		    (specs[i].config != NULL && h->specs[i].config == NULL)) {
			plugin_host_free(h);
			(void)snprintf(err, errlen, "out of memory");
			return PV_ERR_ALLOC;
		}
	}
	if ((r = host_spawn(h, err, errlen)) != 0) {
		plugin_host_free(h);
		return r;
	}
	*out = h;
	return 0;
}

void
plugin_host_free(struct plugin_host *h)
{
	size_t i;

	if (h == NULL)
		return;
	if (getpid() == h->owner)
		host_kill(h, "stopped");
	else if (h->fd >= 0)
		close(h->fd); /* a forked child: the host is not its own */
	for (i = 0; i < h->nspecs; i++) {
		free(h->specs[i].path);
		free(h->specs[i].config);
	}
	free(h->specs);
	free(h);
}

/* A live host to ask, or why there is none (the answer is then deny). */
static int
host_ready(struct plugin_host *h, char *why, size_t whylen)
{
	char err[512];

	if (h->fd >= 0)
		return 1;
	if (h->start_failed &&
	    pv_mono_ms() - h->last_start_ms < HOST_RESTART_MS) {
		(void)snprintf(why, whylen, "%s", h->last_failure);
		return 0;
	}
	if (host_spawn(h, err, sizeof(err)) != 0) {
		pv_error("plugin host: cannot restart: %s", err);
		(void)snprintf(why, whylen, "%s", err);
		return 0;
	}
	pv_warn("plugin host restarted (pid %ld)", (long)h->pid);
	return 1;
}

/* Sends req (consumed), with fd when >= 0; 0 or PV_ERR_IO (host killed). */
static int
host_send(struct plugin_host *h, json_t *req, int fd)
{
	char *s = json_dumps(req, JSON_COMPACT);
	union pv_fd_cmsg cm;
	struct iovec iov;
	struct msghdr mh = { 0 };
	ssize_t w;

	json_decref(req);
	if (s == NULL || strlen(s) >= HOST_MSG_MAX) {
		free(s);
		return PV_ERR_LIMIT;
	}
	iov.iov_base = s;
	iov.iov_len = strlen(s);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd >= 0)
		pv_fd_attach(&mh, &cm, fd);
	do
		w = sendmsg(h->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (w < 0 && errno == EINTR);
	free(s);
	if (w != (ssize_t)iov.iov_len) {
		host_kill(h,
		    w < 0 && errno == EAGAIN ? "the plugin host is not reading"
					     : "the plugin host ended");
		return PV_ERR_IO;
	}
	return 0;
}

/* The answer to seq, or NULL (the host was killed; h->last_failure). */
static json_t *
host_answer(struct plugin_host *h, uint64_t seq, unsigned int ms)
{
	uint64_t until = pv_mono_ms() + ms, now;
	const char *why = NULL;
	json_t *o;
	char msg[256];

	/* one deadline, however many stale answers come first */
	while ((now = pv_mono_ms()) < until &&
	    (o = host_wait(h, (unsigned int)(until - now), &why)) != NULL) {
		if ((uint64_t)json_integer_value(json_object_get(o, "seq")) ==
		    seq)
			return o;
		json_decref(o); /* an answer to a question given up on */
	}
	(void)snprintf(msg, sizeof(msg), "the plugin host %s",
	    why != NULL ? why : "did not answer in time");
	pv_error("%s (pid %ld): killed; every decision is denied until it "
		 "is back",
	    msg, (long)h->pid);
	host_kill(h, msg);
	return NULL;
}

int
plugin_host_check(struct plugin_host *h, const struct provost_access *a,
    char *reason, size_t reasonlen)
{
	json_t *req, *ans;
	uint64_t seq;
	int v;

	if (reasonlen > 0)
		reason[0] = '\0';
	if (h == NULL)
		return PV_ALLOW;
	if (!host_ready(h, reason, reasonlen))
		goto deny;
	seq = ++h->seq;
	req = json_pack("{s:s, s:I, s:{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, "
			"s:s?, s:I, s:s?}}",
	    "op", "check", "seq", (json_int_t)seq, "access", "engineer",
	    a->engineer, "provider", a->provider, "target", a->target,
	    "classification", a->classification, "account", a->account,
	    "channel", a->channel, "grant_id", a->grant_id, "now",
	    (json_int_t)a->now, "source", a->source);
	if (req == NULL || host_send(h, req, -1) != 0 ||
	    (ans = host_answer(h, seq, h->timeout_ms)) == NULL) {
		(void)snprintf(reason, reasonlen, "%s", h->last_failure);
		goto deny;
	}
	v = (int)json_integer_value(json_object_get(ans, "v"));
	if (v != 1)
		(void)snprintf(reason, reasonlen, "%s",
		    jstr(ans, "reason") != NULL && jstr(ans, "reason")[0]
			? jstr(ans, "reason")
			: "a plugin denies");
	else if (jstr(ans, "reason") != NULL) {
		/* the notice: printable again here, the host is not trusted */
		const char *t = jstr(ans, "reason");
		size_t o = 0;

		for (; *t != '\0' && o + 1 < reasonlen; t++)
			reason[o++] = *t >= 0x20 && *t < 0x7f ? *t : '?';
		if (reasonlen > 0)
			reason[o] = '\0';
	}
	json_decref(ans);
	return v == 1 ? PV_ALLOW : PV_DENY;
deny:
	if (reasonlen > 0 && reason[0] == '\0')
		(void)snprintf(reason, reasonlen, "the plugin host failed");
	/* "plugins: " says where a refusal without a plugin's name came from */
	if (strncmp(reason, "plugin ", 7) != 0) {
		char tmp[512];

		(void)snprintf(
		    tmp, sizeof(tmp), "plugins failed (deny): %s", reason);
		(void)snprintf(reason, reasonlen, "%s", tmp);
	}
	return PV_DENY;
}

void
plugin_host_event(struct plugin_host *h, const struct provost_event *ev)
{
	char why[256];
	json_t *req;

	if (h == NULL || !host_ready(h, why, sizeof(why)))
		return;
	req = json_pack("{s:s, s:{s:i, s:I, s:s?, s:s?, s:s?, s:s?, s:s?}}",
	    "op", "event", "event", "kind", (int)ev->kind, "time",
	    (json_int_t)ev->time, "provider", ev->provider, "engineer",
	    ev->engineer, "target", ev->target, "object_id", ev->object_id,
	    "details", ev->details_json);
	if (req != NULL)
		(void)host_send(h, req, -1);
}

/*
 * One question that waits for its answer: req (taken) with fd (or -1)
 * sent, the answer's "v" in *v and its "error" in err.  0, or
 * PV_ERR_UNSUPPORTED / PV_ERR_IO with err when the host cannot answer.
 */
static int
host_ask(struct plugin_host *h, json_t *req, int fd, unsigned int timeout_ms,
    int *v, char *err, size_t errlen)
{
	json_t *ans;
	uint64_t seq;

	if (!host_ready(h, err, errlen)) {
		json_decref(req);
		return PV_ERR_UNSUPPORTED;
	}
	seq = ++h->seq;
	if (req != NULL &&
	    json_object_set_new(req, "seq", json_integer((json_int_t)seq)) !=
		0) {
		json_decref(req);
		req = NULL;
	}
	/* host_send takes req */
	if (req == NULL || host_send(h, req, fd) != 0 ||
	    (ans = host_answer(h, seq, timeout_ms)) == NULL) {
		(void)snprintf(err, errlen, "%s", h->last_failure);
		return PV_ERR_IO;
	}
	*v = (int)json_integer_value(json_object_get(ans, "v"));
	(void)snprintf(err, errlen, "%s",
	    jstr(ans, "error") != NULL ? jstr(ans, "error") : "");
	json_decref(ans);
	return 0;
}

int
plugin_host_report(struct plugin_host *h, const char *what, int outfd,
    unsigned int timeout_ms, char *err, size_t errlen)
{
	int v = -1, r;

	r = host_ask(h, json_pack("{s:s, s:s}", "op", "report", "what", what),
	    outfd, timeout_ms, &v, err, errlen);
	if (r != 0)
		return r;
	return v == 1 ? 0 : v == 0 ? PV_ERR_NOT_FOUND : PV_ERR_IO;
}

int
plugin_host_due(struct plugin_host *h, int64_t now, unsigned int timeout_ms,
    char *err, size_t errlen)
{
	int v = -1, r;

	r = host_ask(h,
	    json_pack("{s:s, s:I}", "op", "due", "time", (json_int_t)now), -1,
	    timeout_ms, &v, err, errlen);
	if (r != 0)
		return r;
	return v == 1 ? 0 : PV_ERR_IO;
}

unsigned int
plugin_host_count(const struct plugin_host *h)
{
	return h != NULL ? h->nplugins : 0;
}

int
plugin_host_veto(
    void *ctx, const struct store_veto *v, char *reason, size_t reasonlen)
{
	const struct provost_access a = {
		.engineer = v->engineer,
		.provider = v->provider,
		.target = v->target,
		.classification = v->classification,
		.account = v->account,
		.channel = v->what,
		.grant_id = v->grant_id,
		.now = v->now,
		.source = v->source,
	};

	return plugin_host_check(ctx, &a, reason, reasonlen);
}

int
plugin_host_start_config(const struct pv_config *c,
    const struct plugin_host_opts *o, struct plugin_host **out, char *err,
    size_t errlen)
{
	struct plugin_spec specs[PV_CONFIG_MAX_PLUGINS];
	size_t i;

	*out = NULL;
	if (c->nplugins == 0)
		return 0;
	for (i = 0; i < c->nplugins && i < PV_CONFIG_MAX_PLUGINS; i++) {
		specs[i].path = c->plugins[i].path;
		specs[i].config = c->plugins[i].config;
	}
	return plugin_host_start(specs, i, o, out, err, errlen);
}

void
plugin_host_poll(struct plugin_host *h)
{
	const char *why = NULL;
	json_t *o;

	if (h == NULL || h->fd < 0)
		return;
	/* unsolicited messages are handled inside; an answer is not due */
	while ((o = host_wait(h, 0, &why)) != NULL)
		json_decref(o);
	if (why != NULL && strcmp(why, "did not answer in time") != 0) {
		pv_error(
		    "the plugin host %s (pid %ld): killed", why, (long)h->pid);
		host_kill(h, why);
	}
}
