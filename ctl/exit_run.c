/*
 * exit_run.c: provostctl provider exit NAME: the run (DESIGN.md "Exit at
 * contract end").  Steps in order: freeze, end-sessions, krl, rotate,
 * sweep, verify, evidence, certificate.  Each item is recorded in the
 * store as it finishes (store_exit_item_set), so that --resume after a
 * crash continues where the run stopped and never repeats a finished
 * item; an item that changes something outside the store (a rotation)
 * is recorded 'started' before, and a resumed run repeats it with the
 * same idempotency key, which the hook must honour.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ctl/ctl.h"
#include "ctl/exit-int.h"
#include "plugins/plugins.h"
#include "recorder/recorder.h"

/* Counts per step, for the terminal and the certificate. */
static json_t *
step_counts(struct exit_run *x, const char *step)
{
	json_t *s = json_object_get(x->steps, step);

	if (s == NULL) {
		s = json_pack("{s:i, s:i}", "done", 0, "unresolved", 0);
		if (s == NULL || json_object_set_new(x->steps, step, s) != 0)
			return NULL;
	}
	return s;
}

int
exit_item_done(struct exit_run *x, const char *step, const char *item)
{
	struct store_exit_item *i = NULL;
	int done;

	if (store_exit_item_get(x->c->st, x->x->id, step, item, &i) != 0)
		return -1;
	done = i != NULL && i->state != STORE_EXIT_STARTED;
	store_exit_item_free(i);
	return done;
}

int
exit_item_put(struct exit_run *x, const char *step, const char *item,
    enum store_exit_state state, json_t *detail)
{
	int r;

	if (detail == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	if ((r = store_exit_item_set(x->c->st, x->c->actor, x->x->id, step,
		 item, state, detail, pv_wall_ms() / 1000)) != 0)
		return XFAIL(r);
	return 0;
}

int
exit_unresolved(
    struct exit_run *x, const char *step, const char *item, const char *why)
{
	return exit_item_put(x, step, item, STORE_EXIT_UNRESOLVED,
	    json_pack("{s:s}", "why", why));
}

/* Every engineer of the provider, and the sessions and targets of them. */
static int
collect_engineer(void *ctx, const struct store_engineer *e)
{
	struct exit_run *x = ctx;

	return json_object_set_new(x->logins, e->login, json_true()) != 0;
}

static int
collect_session(void *ctx, const struct store_session *s)
{
	struct exit_run *x = ctx;
	json_t *j;

	if (json_object_get(x->logins, s->engineer) == NULL)
		return 0;
	if ((j = store_session_json(s)) == NULL ||
	    json_object_set_new(j, "state",
		json_string(s->state == STORE_SESSION_OPEN ? "open"
			: s->state == STORE_SESSION_CLOSED ? "closed"
							   : "aborted")) != 0 ||
	    (s->recording_path != NULL &&
		json_object_set_new(j, "recording_path",
		    json_string(s->recording_path)) != 0) ||
	    json_array_append_new(x->sessions, j) != 0 ||
	    json_object_set_new(x->targets, s->target, json_true()) != 0)
		return 1;
	return 0;
}

static int
collect(struct exit_run *x)
{
	int r;

	if ((x->logins = json_object()) == NULL ||
	    (x->sessions = json_array()) == NULL ||
	    (x->targets = json_object()) == NULL ||
	    (x->steps = json_object()) == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	if ((r = store_engineer_list(
		 x->c->st, x->provider, collect_engineer, x)) != 0 ||
	    (r = store_session_list(x->c->st, 0, collect_session, x)) != 0)
		return r > 0 ? ctl_fail(PV_ERR_ALLOC, "out of memory")
			     : XFAIL(r);
	return 0;
}

/* freeze: no new requests, grants, logins, tokens; pending denied. */
static int
step_freeze(struct exit_run *x)
{
	int r;

	if ((r = exit_item_done(x, "freeze", "access")) != 0)
		return r < 0 ? XFAIL(PV_ERR_STORE) : 0;
	/* grants (pending and active), credentials, keys, TOTP, logins */
	if ((r = store_provider_revoke(
		 x->c->st, x->c->actor, x->provider, "provider exit")) != 0)
		return XFAIL(r);
	ctl_control_nudge(x->c);
	return exit_item_put(x, "freeze", "access", STORE_EXIT_DONE,
	    json_pack("{s:i, s:s}", "engineers",
		(int)json_object_size(x->logins), "reason", "provider exit"));
}

static int
session_open(struct exit_run *x, const char *id)
{
	struct store_session *s = NULL;
	int open;

	if (store_session_get(x->c->st, id, &s) != 0)
		return -1;
	open = s->state == STORE_SESSION_OPEN;
	store_session_free(s);
	return open;
}

/* end-sessions: every live session of the provider, through provostd. */
static int
step_end_sessions(struct exit_run *x)
{
	json_t *s, *req, *ans;
	const char *id;
	char item[64];
	size_t i;
	int r, k, open;

	for (i = 0; (s = json_array_get(x->sessions, i)) != NULL; i++) {
		if (!json_is_string(json_object_get(s, "state")) ||
		    strcmp(json_string_value(json_object_get(s, "state")),
			"open") != 0)
			continue;
		id = json_string_value(json_object_get(s, "id"));
		(void)snprintf(item, sizeof(item), "session:%s", id);
		if ((r = exit_item_done(x, "end-sessions", item)) != 0) {
			if (r < 0)
				return XFAIL(PV_ERR_STORE);
			continue;
		}
		req = json_pack("{s:s, s:s, s:s, s:s}", "cmd", "kill", "id", id,
		    "reason", "provider exit", "actor", x->c->actor);
		ans = NULL;
		r = req != NULL ? ctl_control_call(x->c, req, &ans)
				: PV_ERR_ALLOC;
		json_decref(req);
		json_decref(ans);
		if (r == PV_ERR_CLOSED) {
			/* provostd marks it aborted at its next start */
			if ((r = exit_item_put(x, "end-sessions", item,
				 STORE_EXIT_DONE,
				 json_pack("{s:s}", "ended",
				     "provostd not running: aborted at its "
				     "next start"))) != 0)
				return r;
			continue;
		}
		/* killed now, or ended already (no such live session) */
		for (k = 0; (open = session_open(x, id)) == 1 && k < 100; k++)
			(void)poll(NULL, 0, 100);
		if (open < 0)
			return XFAIL(PV_ERR_STORE);
		if ((r = open
			    ? exit_unresolved(x, "end-sessions", item,
				  "still live 10 s after the kill")
			    : exit_item_put(x, "end-sessions", item,
				  STORE_EXIT_DONE,
				  json_pack("{s:s}", "ended", "killed"))) != 0)
			return r;
	}
	return 0;
}

/*
 * The KRL of every ended engineer to the file the target's sshd reads
 * (target admin --krl), over provost's own connection, atomically; the
 * hash it reports back must be the file's.
 */
static const char krl_push_head[] = "set -u\n"
				    "R=${1%/}; P=$2\n"
				    "t=\"$R$P.provost.$$\"\n"
				    "base64 -d > \"$t\" <<'EOK'\n";
static const char krl_push_tail[] =
    "EOK\n"
    "chmod 644 \"$t\" && mv \"$t\" \"$R$P\" && printf 'P\\t%s\\n' "
    "\"$(sha256sum < \"$R$P\" | cut -c1-64)\"\n";

static int
krl_push(struct exit_run *x, const char *t, const char *item, const char *file)
{
	char *krl = NULL, *acct = NULL, *root = NULL, *script = NULL,
	     *b64 = NULL, *out = NULL, arg[2200], rec[4400], err[512], sha[65],
	     want[70];
	uint8_t *data = NULL;
	size_t len = 0, olen = 0;
	int r;

	if (store_target_krl_get(x->c->st, t, &krl) != 0 || krl == NULL) {
		free(krl);
		return exit_unresolved(x, "krl", item,
		    "not pushed: no --krl for this target (provostctl target "
		    "admin): install the KRL where its sshd's RevokedKeys "
		    "points");
	}
	if (store_target_admin_get(x->c->st, t, &acct, &root) != 0 ||
	    pv_file_read(file, 1 << 24, &data, &len) != 0 ||
	    pv_b64_encode(data, len, 0, &b64) != 0 ||
	    pv_file_sha256(file, sha) != 0) {
		r = exit_unresolved(
		    x, "krl", item, "not pushed: the KRL could not be read");
		goto out;
	}
	if (asprintf(&script, "%s%s\n%s", krl_push_head, b64, krl_push_tail) <
	    0) {
		script = NULL;
		r = ctl_fail(PV_ERR_ALLOC, "out of memory");
		goto out;
	}
	(void)snprintf(arg, sizeof(arg), "%s %s", root, krl);
	(void)snprintf(
	    rec, sizeof(rec), "%s/recordings/krl-%.200s.pvrec", x->dir, t);
	(void)snprintf(want, sizeof(want), "P\t%s\n", sha);
	if (ctl_remote_run(x->c, t, "exit krl push", script, arg, rec, &out,
		&olen, err, sizeof(err)) != 0) {
		char why[700];

		(void)snprintf(why, sizeof(why), "not pushed: %s", err);
		r = exit_unresolved(x, "krl", item, why);
	} else if (olen != strlen(want) || memcmp(out, want, olen) != 0)
		r = exit_unresolved(x, "krl", item,
		    "pushed, but the target's file is not the KRL sent");
	else
		r = exit_item_put(x, "krl", item, STORE_EXIT_DONE,
		    json_pack("{s:s, s:s}", "path", krl, "sha256", sha));
out:
	free(krl);
	free(acct);
	free(root);
	free(script);
	free(b64);
	free(out);
	free(data);
	return r;
}

/* krl: the provider's KRL into the bundle, RevokedKeys, RevocationList. */
static int
step_krl(struct exit_run *x)
{
	char path[4200];
	const char *t;
	json_t *v;
	size_t serials, keys;
	int r;

	if ((r = exit_item_done(x, "krl", "bundle")) == 0) {
		(void)snprintf(
		    path, sizeof(path), "%s/revoked_keys.krl", x->dir);
		if ((r = ctl_krl_export(
			 x->c, x->provider, path, &serials, &keys)) != 0 ||
		    (r = exit_item_put(x, "krl", "bundle", STORE_EXIT_DONE,
			 json_pack("{s:I, s:I}", "serials", (json_int_t)serials,
			     "keys", (json_int_t)keys))) != 0)
			return r;
	} else if (r < 0)
		return XFAIL(PV_ERR_STORE);
	if ((r = exit_item_done(x, "krl", "RevokedKeys")) == 0) {
		if (x->c->cfg->revoked_keys == NULL)
			r = exit_unresolved(x, "krl", "RevokedKeys",
			    "RevokedKeys is not set in provostd.conf: no KRL "
			    "was written for the targets' sshd");
		else if ((r = ctl_krl_export(x->c, NULL,
			      x->c->cfg->revoked_keys, &serials, &keys)) == 0)
			r = exit_item_put(x, "krl", "RevokedKeys",
			    STORE_EXIT_DONE,
			    json_pack("{s:s, s:I, s:I}", "path",
				x->c->cfg->revoked_keys, "serials",
				(json_int_t)serials, "keys", (json_int_t)keys));
		if (r != 0)
			return r;
	} else if (r < 0)
		return XFAIL(PV_ERR_STORE);
	if ((r = exit_item_done(x, "krl", "RevocationList")) == 0) {
		if (x->c->cfg->revocation_list == NULL)
			r = exit_unresolved(x, "krl", "RevocationList",
			    "RevocationList is not set in provostd.conf: "
			    "pam_provost targets were not told");
		else if ((r = ctl_revlist_refresh(x->c)) == 0)
			r = exit_item_put(x, "krl", "RevocationList",
			    STORE_EXIT_DONE,
			    json_pack(
				"{s:s}", "path", x->c->cfg->revocation_list));
		if (r != 0)
			return r;
	} else if (r < 0)
		return XFAIL(PV_ERR_STORE);
	/* Every ended engineer's, for the targets' own RevokedKeys. */
	(void)snprintf(path, sizeof(path), "%s/revoked_keys-all.krl", x->dir);
	if ((r = ctl_krl_export(x->c, NULL, path, &serials, &keys)) != 0)
		return r;
	json_object_foreach(x->targets, t, v)
	{
		char item[300];

		(void)v;
		(void)snprintf(item, sizeof(item), "push:%s", t);
		if ((r = exit_item_done(x, "krl", item)) < 0)
			return XFAIL(PV_ERR_STORE);
		if (r == 0 && (r = krl_push(x, t, item, path)) != 0)
			return r;
	}
	return 0;
}

/* The hook for kind, or NULL. */
static const char *
hook_for(const struct exit_run *x, const char *kind)
{
	size_t i;

	for (i = 0; i < x->c->cfg->nhooks; i++)
		if (strcmp(x->c->cfg->hooks[i].kind, kind) == 0)
			return x->c->cfg->hooks[i].program;
	return NULL;
}

/*
 * Runs program with argv[1] action, req on stdin; its stdout (at most
 * STORE_HOOK_ANSWER_MAX) parsed as the answer.  A hook that exits non-zero,
 * writes too much or runs past the timeout is killed (with its process
 * group) and fails, with why.
 */
int
exit_hook_run(struct exit_run *x, const char *program, const char *action,
    json_t *req, struct store_hook_answer *ans, char *why, size_t whylen)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, st = 0, r = -1;
	char *text = NULL, buf[STORE_HOOK_ANSWER_MAX + 1];
	uint64_t deadline = pv_mono_ms() + x->c->cfg->hook_timeout * 1000;
	size_t len = 0;
	struct pollfd pfd;
	pid_t pid = -1;
	ssize_t n;

	why[0] = '\0';
	if ((text = json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS)) == NULL ||
	    pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
		(void)snprintf(why, whylen, "cannot start the hook: %s",
		    text == NULL ? "out of memory" : strerror(errno));
		goto out;
	}
	if ((pid = fork()) < 0) {
		(void)snprintf(
		    why, whylen, "cannot start the hook: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		(void)setpgid(0, 0);
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(127);
		execl(program, program, action, (char *)NULL);
		_exit(127);
	}
	(void)setpgid(pid, pid);
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	(void)signal(SIGPIPE, SIG_IGN);
	/* The request is small: the pipe takes it before the hook reads. */
	if (pv_write_all(in[1], text, strlen(text)) != 0 ||
	    pv_write_all(in[1], "\n", 1) != 0)
		(void)snprintf(
		    why, whylen, "the hook did not read its request");
	close(in[1]);
	in[1] = -1;
	pfd.fd = out[0];
	pfd.events = POLLIN;
	for (;;) {
		uint64_t now = pv_mono_ms();
		int pr;

		if (now >= deadline) {
			(void)snprintf(why, whylen,
			    "the hook ran past RotationHookTimeout (%llus): "
			    "killed",
			    (unsigned long long)x->c->cfg->hook_timeout);
			break;
		}
		pr = poll(&pfd, 1, (int)(deadline - now));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue;
		n = read(out[0], buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf)) {
			(void)snprintf(why, whylen,
			    "the hook's answer is longer than %d bytes",
			    STORE_HOOK_ANSWER_MAX);
			break;
		}
	}
	if (why[0] != '\0')
		(void)kill(-pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (why[0] != '\0')
		goto out;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		(void)snprintf(why, whylen, "the hook %s %d",
		    WIFEXITED(st) ? "exited with status"
				  : "was killed by signal",
		    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		goto out;
	}
	/* trailing whitespace is no part of the object */
	while (len > 0 &&
	    (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
		buf[len - 1] == ' '))
		len--;
	if (store_hook_answer_parse(buf, len, strcmp(action, "verify") == 0,
		ans, why, whylen) != 0) {
		char tmp[300];

		(void)snprintf(tmp, sizeof(tmp), "bad answer: %s", why);
		(void)snprintf(why, whylen, "%s", tmp);
		goto out;
	}
	r = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	if (in[0] >= 0)
		close(in[0]);
	if (in[1] >= 0)
		close(in[1]);
	if (out[0] >= 0)
		close(out[0]);
	if (out[1] >= 0)
		close(out[1]);
	free(text);
	return r;
}

/* The new secret, sealed to the RecordingRecipient keys as a recording. */
int
exit_seal_secret(struct exit_run *x, const char *item, size_t n,
    const uint8_t *secret, size_t len, char *rel, size_t rellen)
{
	struct rec_writer *w = NULL;
	struct rec_meta m = { 0 };
	char path[4400];
	uint8_t sha[32];
	uint64_t size;
	int r;

	(void)snprintf(rel, rellen, "secrets/%zu.pvrec", n);
	(void)snprintf(path, sizeof(path), "%s/secrets", x->dir);
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return PV_ERR_IO;
	(void)snprintf(path, sizeof(path), "%s/%s", x->dir, rel);
	/* a half-written one from a run that died here */
	(void)unlink(path);
	m.session_id = x->x->id;
	m.provider = x->provider;
	m.target = item;
	m.start_unix_ms = pv_wall_ms();
	m.start_mono_ms = pv_mono_ms();
	if ((r = rec_writer_open(&w, path, x->recipients, &m)) != 0)
		return r;
	if ((r = rec_writer_data(
		 w, pv_mono_ms(), REC_EV_OUTPUT, secret, len)) != 0) {
		rec_writer_free(w);
		return r;
	}
	return rec_writer_close(w, pv_mono_ms(), sha, &size);
}

/* The exposures first (the store's walk holds a transaction). */
static int
rot_collect(void *ctx, const struct store_exposure *e)
{
	char item[600], where[512];
	json_t *j = ctl_exposure_json(e);

	if (e->id != 0)
		(void)snprintf(
		    item, sizeof(item), "exposure:%lld", (long long)e->id);
	else
		(void)snprintf(item, sizeof(item), "account:%s",
		    ctl_exposure_where(e, where, sizeof(where)));
	if (j == NULL ||
	    json_array_append_new(
		ctx, json_pack("{s:s, s:o}", "item", item, "exposure", j)) != 0)
		return 1;
	return 0;
}

static int
rotate_one(struct exit_run *x, const char *item, json_t *exp, size_t n)
{
	struct store_exit_item *prev = NULL;
	struct store_hook_answer a;
	const char *kind = json_string_value(json_object_get(exp, "kind"));
	const char *prog = hook_for(x, kind);
	char key[700], why[400], rel[64] = "";
	json_t *req, *d;
	int r, attempt;

	if ((r = store_exit_item_get(
		 x->c->st, x->x->id, "rotate", item, &prev)) != 0)
		return XFAIL(r);
	if (prev != NULL && prev->state != STORE_EXIT_STARTED) {
		store_exit_item_free(prev);
		return 0;
	}
	attempt = prev != NULL ? prev->attempts + 1 : 1;
	if (prog != NULL && strcmp(prog, "builtin") == 0) {
		json_t *pd = prev != NULL && prev->detail != NULL
		    ? json_loads(prev->detail, 0, NULL)
		    : NULL;

		store_exit_item_free(prev);
		r = exit_unixpw_rotate(x, item, exp, n, attempt, pd);
		json_decref(pd);
		return r;
	}
	store_exit_item_free(prev);
	if (prog == NULL) {
		(void)snprintf(why, sizeof(why),
		    "no RotationHook for kind %s: rotate it by hand", kind);
		return exit_unresolved(x, "rotate", item, why);
	}
	if (x->recipients == NULL)
		return exit_unresolved(x, "rotate", item,
		    "no RecordingRecipient to seal a new secret to: not run");
	/* Recorded before the hook changes anything. */
	(void)snprintf(key, sizeof(key), "%s/%s", x->x->id, item);
	if ((r = exit_item_put(x, "rotate", item, STORE_EXIT_STARTED,
		 json_pack("{s:s, s:s, s:i}", "hook", prog, "idempotency_key",
		     key, "attempt", attempt))) != 0)
		return r;
	req = json_pack("{s:s, s:s, s:s, s:s, s:i, s:O}", "action", "rotate",
	    "exit", x->x->id, "provider", x->provider, "idempotency_key", key,
	    "attempt", attempt, "exposure", exp);
	if (req == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	r = exit_hook_run(x, prog, "rotate", req, &a, why, sizeof(why));
	json_decref(req);
	if (r != 0)
		return exit_unresolved(x, "rotate", item, why);
	if (a.status != STORE_HOOK_ROTATED) {
		(void)snprintf(why, sizeof(why), "the hook failed: %s",
		    a.message != NULL ? a.message : "no message");
		store_hook_answer_clear(&a);
		return exit_unresolved(x, "rotate", item, why);
	}
	if (a.secret != NULL &&
	    (r = exit_seal_secret(
		 x, item, n, a.secret, a.secret_len, rel, sizeof(rel))) != 0) {
		store_hook_answer_clear(&a);
		(void)snprintf(why, sizeof(why),
		    "rotated, but the new secret could not be sealed (%s): "
		    "it is lost; rotate again",
		    pv_err_str(r));
		return exit_unresolved(x, "rotate", item, why);
	}
	d = json_pack("{s:s, s:s, s:s?, s:s?, s:i, s:O}", "hook", prog,
	    "fingerprint", a.fingerprint, "message", a.message, "sealed",
	    rel[0] != '\0' ? rel : NULL, "attempt", attempt, "exposure", exp);
	store_hook_answer_clear(&a);
	return exit_item_put(x, "rotate", item, STORE_EXIT_DONE, d);
}

/* rotate: every exposure through its kind's hook. */
static int
step_rotate(struct exit_run *x)
{
	json_t *all, *e;
	char err[256];
	size_t i;
	int r;

	if (x->c->cfg->nrecipients > 0 &&
	    rec_recipients_load(&x->recipients,
		(const char *const *)x->c->cfg->recipients,
		x->c->cfg->nrecipients, err, sizeof(err)) != 0)
		return ctl_fail(PV_ERR_CONFIG, "RecordingRecipient: %s", err);
	if ((all = json_array()) == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	if ((r = store_exposure_list(
		 x->c->st, x->provider, rot_collect, all)) != 0) {
		json_decref(all);
		return r > 0 ? ctl_fail(PV_ERR_ALLOC, "out of memory")
			     : XFAIL(r);
	}
	r = 0;
	for (i = 0; r == 0 && (e = json_array_get(all, i)) != NULL; i++)
		r = rotate_one(x, json_string_value(json_object_get(e, "item")),
		    json_object_get(e, "exposure"), i + 1);
	json_decref(all);
	return r;
}

static int
step_run(struct exit_run *x, const char *name, int (*fn)(struct exit_run *))
{
	uint64_t t0 = pv_mono_ms();
	int r;

	if (!x->c->json) {
		printf("%-13s ", name);
		(void)fflush(stdout);
	}
	if ((r = fn(x)) != 0) {
		if (!x->c->json)
			printf("stopped\n");
		return r;
	}
	if ((r = exit_count(x, name)) != 0)
		return r;
	/* how long this run's part of the step took */
	(void)json_object_set_new(json_object_get(x->steps, name), "ms",
	    json_integer((json_int_t)(pv_mono_ms() - t0)));
	if (!x->c->json) {
		json_t *s = json_object_get(x->steps, name);

		printf("%lld done, %lld unresolved (%lld ms)\n",
		    (long long)json_integer_value(json_object_get(s, "done")),
		    (long long)json_integer_value(
			json_object_get(s, "unresolved")),
		    (long long)json_integer_value(json_object_get(s, "ms")));
		(void)fflush(stdout);
	}
	return 0;
}

static int
count_item(void *ctx, const struct store_exit_item *i)
{
	json_t *s = step_counts(ctx, i->step);
	const char *k = i->state == STORE_EXIT_DONE ? "done" : "unresolved";

	if (s == NULL ||
	    json_object_set_new(s, k,
		json_integer(json_integer_value(json_object_get(s, k)) + 1)) !=
		0)
		return 1;
	return 0;
}

int
exit_count(struct exit_run *x, const char *step)
{
	int r;

	if (step_counts(x, step) == NULL ||
	    json_object_set_new(x->steps, step,
		json_pack("{s:i, s:i}", "done", 0, "unresolved", 0)) != 0)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	if ((r = store_exit_item_list(
		 x->c->st, x->x->id, step, count_item, x)) != 0)
		return r > 0 ? ctl_fail(PV_ERR_ALLOC, "out of memory")
			     : XFAIL(r);
	return 0;
}

static void
exit_run_free(struct exit_run *x)
{
	json_decref(x->logins);
	json_decref(x->sessions);
	json_decref(x->targets);
	json_decref(x->steps);
	rec_recipients_free(x->recipients);
	store_exit_free(x->x);
}

int
ctl_exit_run(struct ctl *c, const struct ctl_exit_opts *o)
{
	struct exit_run x = { .c = c, .provider = o->provider };
	struct store_provider *p = NULL;
	char tm[40];
	int r, created = 0;

	if ((r = store_exit_get(c->st, o->provider, &x.x)) != 0 &&
	    r != PV_ERR_NOT_FOUND)
		return STORE_FAIL(r);
	if (x.x != NULL && x.x->finished_at != 0 && !o->reverify) {
		if (!c->json)
			printf("provider %s: exit %s finished at %s; its "
			       "certificate: %s/certificate.md\n",
			    o->provider, x.x->id,
			    ctl_time(x.x->finished_at, tm, sizeof(tm)),
			    x.x->bundle);
		r = c->json ? exit_print_json(&x) : 0;
		store_exit_free(x.x);
		return r;
	}
	if (o->reverify) {
		if (x.x == NULL || x.x->finished_at == 0) {
			store_exit_free(x.x);
			return ctl_fail(PV_ERR_INVALID,
			    "provider %s: no finished exit to verify again",
			    o->provider);
		}
	} else if (x.x != NULL && !o->resume) {
		r = ctl_fail(PV_ERR_EXISTS,
		    "provider %s: exit %s was started at %s and did not "
		    "finish; --resume continues it",
		    o->provider, x.x->id,
		    ctl_time(x.x->started_at, tm, sizeof(tm)));
		store_exit_free(x.x);
		return r;
	} else if (x.x == NULL && o->resume) {
		return ctl_fail(PV_ERR_NOT_FOUND,
		    "provider %s: no exit to resume", o->provider);
	}
	if (x.x == NULL) {
		if ((r = store_provider_get(c->st, o->provider, &p)) != 0)
			return STORE_FAIL(r);
		r = store_exit_begin(c->st, c->actor, o->provider,
		    o->contract_end != 0 ? o->contract_end : p->contract_end,
		    pv_wall_ms() / 1000, &x.x, &created);
		store_provider_free(p);
		if (r != 0)
			return STORE_FAIL(r);
	}
	if ((r = exit_bundle_dir(&x)) != 0 || (r = collect(&x)) != 0)
		goto out;
	if (!c->json)
		printf("provider %s: exit %s %s\n", o->provider, x.x->id,
		    o->reverify   ? "verified again"
			: created ? "started"
				  : "resumed");
	(void)fflush(stdout);
	if (o->reverify) {
		r = step_run(&x, "reverify", exit_step_reverify);
		goto out;
	}
	if ((o->erasure != NULL && (r = exit_erasure(&x, o->erasure)) != 0) ||
	    (r = step_run(&x, "freeze", step_freeze)) != 0 ||
	    (r = step_run(&x, "end-sessions", step_end_sessions)) != 0 ||
	    (r = step_run(&x, "krl", step_krl)) != 0 ||
	    (r = step_run(&x, "rotate", step_rotate)) != 0 ||
	    (r = step_run(&x, "sweep", exit_step_sweep)) != 0 ||
	    (r = step_run(&x, "verify", exit_step_verify)) != 0 ||
	    (r = exit_finish(&x)) != 0)
		goto out;
	r = c->json ? exit_print_json(&x) : 0;
out:
	exit_run_free(&x);
	return r;
}

/* How long the plugins may take to say whose exit is due. */
#define EXIT_DUE_PLUGIN_MS 10000

struct due_ctx {
	json_t *names;
	int64_t now;
	int auto_exit;
};

static int
due_provider(void *ctx, const struct store_provider *p)
{
	struct due_ctx *d = ctx;

	return json_array_append_new(d->names,
		   json_pack("{s:s, s:I, s:s}", "name", p->name, "end",
		       (json_int_t)p->contract_end, "status",
		       store_provider_status_name(p->status))) != 0;
}

static int
last_reverify(void *ctx, const struct store_exit_item *i)
{
	int64_t *t = ctx;

	if (strncmp(i->step, "reverify-", 9) == 0 && i->updated_at > *t)
		*t = i->updated_at;
	return 0;
}

/*
 * The plugins' word (the contract plugin's contract files): each provider
 * a plugin asks an exit for is due today, whatever its --contract-end
 * says; its reason goes with it.  1 when a plugin could not be asked or
 * named no such provider.
 */
static int
due_plugins(struct ctl *c, struct due_ctx *d)
{
	char err[512];
	json_t *ask, *p = NULL;
	size_t i, j;
	int bad = 0;

	if (c->cfg->nplugins == 0)
		return 0;
	if ((c->exit_asks = json_array()) == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory") != 0;
	if (ctl_plugins(c) != 0)
		return 1; /* said */
	if (plugin_host_due(c->plugins, d->now, EXIT_DUE_PLUGIN_MS, err,
		sizeof(err)) != 0) {
		(void)ctl_fail(PV_ERR_IO, "exit due: the plugins: %s", err);
		bad = 1;
	}
	json_array_foreach(c->exit_asks, i, ask)
	{
		const char *name =
		    json_string_value(json_object_get(ask, "provider"));

		json_array_foreach(d->names, j, p)
		{
			if (strcmp(
				json_string_value(json_object_get(p, "name")),
				name) == 0)
				break;
		}
		if (p == NULL || j == json_array_size(d->names)) {
			(void)ctl_fail(PV_ERR_NOT_FOUND,
			    "exit due: plugin %s asks for the exit of %s, "
			    "not a provider",
			    json_string_value(json_object_get(ask, "plugin")),
			    name);
			bad = 1;
			continue;
		}
		(void)json_object_set_new(p, "end", json_integer(d->now));
		(void)json_object_set(p, "why", ask);
	}
	json_decref(c->exit_asks);
	c->exit_asks = NULL;
	return bad;
}

/* The plugin's reason an exit is due, in the audit chain and said. */
static int
due_why(struct ctl *c, const char *name, json_t *why)
{
	const char *plugin = json_string_value(json_object_get(why, "plugin"));
	const char *reason = json_string_value(json_object_get(why, "reason"));
	char obj[160];
	json_t *j;
	int r;

	printf("provider %s: plugin %s: %s\n", name, plugin, reason);
	(void)snprintf(obj, sizeof(obj), "provider:%s", name);
	if ((j = json_pack("{s:s, s:s}", "plugin", plugin, "reason", reason)) ==
	    NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	r = store_audit_append(c->st, c->actor, "exit.due", obj, j);
	json_decref(j);
	return r != 0 ? STORE_FAIL(r) : 0;
}

/*
 * exit due: run by provost-exit.timer.  A provider whose contract has
 * ended (its --contract-end, or a plugin's contract file) gets its exit
 * (ExitOnContractEnd yes) or a warning; an exit left unfinished is
 * resumed; a finished one is verified again once a week.
 */
int
ctl_cmd_exit_due(struct ctl *c, int argc, char **argv)
{
	const struct ctl_opt opts[] = {
		{ NULL, 0, NULL, NULL },
	};
	struct due_ctx d = { .now = pv_wall_ms() / 1000 };
	struct ctl_exit_opts o = { .provider = NULL };
	struct store_exit *x = NULL;
	const char *name;
	char tm[40];
	json_t *p;
	size_t i;
	int r, bad = 0;
	PARSE("exit", "due", opts);

	if (argc - first != 0)
		return ctl_usage(cmd, "no arguments");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((d.names = json_array()) == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	if ((r = store_provider_list(c->st, due_provider, &d)) != 0) {
		json_decref(d.names);
		return r > 0 ? ctl_fail(PV_ERR_ALLOC, "out of memory")
			     : STORE_FAIL(r);
	}
	bad = due_plugins(c, &d);
	for (i = 0; (p = json_array_get(d.names, i)) != NULL; i++) {
		int64_t end = json_integer_value(json_object_get(p, "end"));
		json_t *why = json_object_get(p, "why");
		int64_t rv = 0;

		name = json_string_value(json_object_get(p, "name"));
		memset(&o, 0, sizeof(o));
		o.provider = name;
		r = store_exit_get(c->st, name, &x);
		if (r != 0 && r != PV_ERR_NOT_FOUND) {
			json_decref(d.names);
			return STORE_FAIL(r);
		}
		if (x == NULL && (end == 0 || end > d.now))
			continue;
		if (x == NULL && why != NULL &&
		    (r = due_why(c, name, why)) != 0) {
			json_decref(d.names);
			return r;
		}
		if (x == NULL && why != NULL && !c->cfg->exit_on_contract_end) {
			printf("provider %s: ExitOnContractEnd is no: run "
			       "provostctl provider exit %s\n",
			    name, name);
			continue;
		}
		if (x == NULL && !c->cfg->exit_on_contract_end) {
			printf("provider %s: contract ended %s; "
			       "ExitOnContractEnd is no: run provostctl "
			       "provider exit %s\n",
			    name, ctl_time(end, tm, sizeof(tm)), name);
			continue;
		}
		if (x != NULL && x->finished_at != 0) {
			(void)store_exit_item_list(
			    c->st, x->id, NULL, last_reverify, &rv);
			if ((rv != 0 ? rv : x->finished_at) + 7 * 86400 >
			    d.now) {
				store_exit_free(x);
				x = NULL;
				continue;
			}
			o.reverify = 1;
		} else if (x != NULL)
			o.resume = 1;
		store_exit_free(x);
		x = NULL;
		if (ctl_exit_run(c, &o) != 0)
			bad = 1;
	}
	json_decref(d.names);
	return bad ? CTL_EXIT_FAIL : 0;
}
