/*
 * exit_sweep.c: the exit's sweep.  Each target the provider touched is
 * looked at over provost's own admin connection (recorded into the
 * bundle) and compared with its baseline; every difference is a finding,
 * with the provider's session that was live when it changed.  With
 * ExitSweep quarantine, added key lines are moved to a quarantine file,
 * added accounts locked and expired, added files under cron, systemd,
 * sudoers, profile.d, pam.d moved aside with their hashes, and every line
 * with a key of the provider's engineers removed (kept aside too), also
 * one the baseline had; never deleted.
 * The target is looked at again, in the same connection as the quarantine:
 * what is gone is done, what is left is
 * unresolved.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ctl/ctl.h"
#include "ctl/exit-int.h"

static const char quarantine_head[] =
    "set -u\n"
    "R=${1%/}\n"
    "Q=$R/var/lib/provost-quarantine/$2\n"
    "mkdir -p \"$Q\" && chmod 700 \"$Q\" || exit 3\n"
    "qkey() {\n"
    "  found=missing\n"
    "  for k in \"$R$2/.ssh/authorized_keys\" \"$R$2/.ssh/authorized_keys2\"; "
    "do\n"
    "    [ -f \"$k\" ] || continue\n"
    "    t=\"$k.provost.$$\"; : > \"$t\"\n"
    "    while IFS= read -r line || [ -n \"$line\" ]; do\n"
    "      if [ \"$(printf '%s' \"$line\" | sha256sum | cut -c1-64)\" = "
    "\"$3\" ]; then\n"
    "        printf '%s\\n' \"$line\" >> \"$Q/authorized_keys.$1\"; "
    "found=done\n"
    "      else printf '%s\\n' \"$line\" >> \"$t\"; fi\n"
    "    done < \"$k\"\n"
    "    chmod --reference=\"$k\" \"$t\"; chown --reference=\"$k\" \"$t\" "
    "2>/dev/null\n"
    "    mv \"$t\" \"$k\"\n"
    "  done\n"
    "  if [ $found = missing ] && [ -f \"$Q/authorized_keys.$1\" ]; then\n"
    "    while IFS= read -r line; do\n"
    "      [ \"$(printf '%s' \"$line\" | sha256sum | cut -c1-64)\" = \"$3\" ] "
    "&& found=done\n"
    "    done < \"$Q/authorized_keys.$1\"\n"
    "  fi\n"
    "  printf 'Q\\tkey\\t%s:%s\\t%s\\n' \"$1\" \"$3\" \"$found\"\n"
    "}\n"
    "qlock() {\n"
    "  if [ -z \"$R\" ]; then\n"
    "    usermod -L -e 1 \"$1\" >/dev/null 2>&1 && r=done || r=failed\n"
    "  else\n"
    "    s=\"$R/etc/shadow\"; t=\"$s.provost.$$\"\n"
    "    awk -F: -v OFS=: -v u=\"$1\" '$1 == u { if ($2 !~ /^!/) $2 = \"!\" "
    "$2; $8 = 1 } { print }' \"$s\" > \"$t\" && chmod --reference=\"$s\" "
    "\"$t\" && mv \"$t\" \"$s\" && r=done || r=failed\n"
    "  fi\n"
    "  printf 'Q\\tlock\\t%s\\t%s\\n' \"$1\" \"$r\"\n"
    "}\n"
    "qfile() {\n"
    "  if [ -e \"$R$1\" ] || [ -L \"$R$1\" ]; then\n"
    "    mkdir -p \"$Q/files$(dirname \"$1\")\" && h=$(sha256sum < \"$R$1\" | "
    "cut -c1-64) && mv \"$R$1\" \"$Q/files$1\" && r=\"done $h\" || "
    "r=failed\n"
    "  elif [ -f \"$Q/files$1\" ]; then r=\"done $(sha256sum < \"$Q/files$1\" "
    "| cut -c1-64)\"\n"
    "  else r=missing; fi\n"
    "  printf 'Q\\tfile\\t%s\\t%s\\n' \"$1\" \"$r\"\n"
    "}\n";

/* Added files that are moved aside (never passwd, shadow, keys files). */
static int
movable(const char *path)
{
	static const char *const dirs[] = { "/etc/cron.", "/etc/cron.d/",
		"/var/spool/cron/", "/etc/systemd/system/", "/etc/sudoers.d/",
		"/etc/profile.d/", "/etc/pam.d/", "/etc/ssh/sshd_config.d/" };
	size_t i;

	if (strcmp(path, "/etc/ld.so.preload") == 0 ||
	    strcmp(path, "/etc/rc.local") == 0)
		return 1;
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (strncmp(path, dirs[i], strlen(dirs[i])) == 0)
			return 1;
	return 0;
}

/*
 * The provider's sessions on target live at t (unix seconds; both ends
 * count, so at a second's resolution two may be named), or NULL.
 */
static json_t *
live_at(struct exit_run *x, const char *target, json_int_t t)
{
	json_t *s, *ids = NULL;
	size_t i;

	for (i = 0; (s = json_array_get(x->sessions, i)) != NULL; i++) {
		json_int_t a = json_integer_value(json_object_get(s, "start"));
		json_int_t b = json_integer_value(json_object_get(s, "end"));

		if (strcmp(json_string_value(json_object_get(s, "target")),
			target) != 0 ||
		    t < a || (b != 0 && t > b))
			continue;
		if (ids == NULL && (ids = json_array()) == NULL)
			return NULL;
		(void)json_array_append(ids, json_object_get(s, "id"));
	}
	return ids;
}

/* The provider's keys, as the sweep names them: SHA-256 of the base64. */
static int
pk_serial(void *ctx, uint64_t serial)
{
	(void)ctx;
	(void)serial;
	return 0;
}

static int
pk_key(void *ctx, const uint8_t *blob, size_t len)
{
	char *b64 = NULL, hex[65];
	uint8_t md[32];
	unsigned int mdlen = 0;
	int r = -1;

	if (pv_b64_encode(blob, len, 0, &b64) == 0 &&
	    EVP_Digest(b64, strlen(b64), md, &mdlen, EVP_sha256(), NULL) == 1 &&
	    pv_hex_encode(md, sizeof(md), hex, sizeof(hex)) == 0 &&
	    json_object_set_new(ctx, hex, json_true()) == 0)
		r = 0;
	free(b64);
	return r;
}

/*
 * Every line on the target with a key of the provider's engineers, also
 * one that was in the baseline (the client gave it): a finding to remove.
 */
static int
provider_keys(struct exit_run *x, json_t *now, json_t *findings)
{
	json_t *mine = json_object(), *lines, *b, *f, *keys;
	const char *u, *lh;
	char where[200];
	size_t i;
	int r = 0, dup;

	if (mine == NULL)
		return PV_ERR_ALLOC;
	if ((r = store_krl_list(
		 x->c->st, x->provider, pk_serial, pk_key, mine)) != 0) {
		json_decref(mine);
		return r;
	}
	keys = json_object_get(now, "keys");
	json_object_foreach(json_object_get(now, "blobs"), u, lines)
	{
		json_object_foreach(lines, lh, b)
		{
			if (json_object_get(mine, json_string_value(b)) == NULL)
				continue;
			(void)snprintf(where, sizeof(where), "%s:%s", u, lh);
			for (dup = 0, i = 0;
			     (f = json_array_get(findings, i)) != NULL; i++)
				dup |= strcmp(json_string_value(
						  json_object_get(f, "where")),
					   where) == 0;
			if (dup)
				continue;
			if (json_array_append_new(findings,
				json_pack("{s:s, s:s, s:s, s:s?}", "kind",
				    "provider-key", "what",
				    "a key of the provider's engineers",
				    "where", where, "detail",
				    json_string_value(json_object_get(
					json_object_get(keys, u), lh)))) != 0) {
				json_decref(mine);
				return PV_ERR_ALLOC;
			}
		}
	}
	json_decref(mine);
	return 0;
}

/* A finding's item name. */
static void
finding_item(const char *target, json_t *f, char *buf, size_t len)
{
	(void)snprintf(buf, len, "finding:%s:%s:%s", target,
	    json_string_value(json_object_get(f, "kind")),
	    json_string_value(json_object_get(f, "where")));
}

/* The quarantine script for findings; NULL if nothing is to be done. */
static char *
quarantine_script(json_t *findings, json_t *state)
{
	struct pv_buf *b = pv_buf_new(PV_BUF_DEFAULT_MAX);
	const char *kind, *where, *home;
	char user[80], *colon, *out = NULL;
	size_t i, n = 0;
	json_t *f;

	if (b == NULL ||
	    pv_buf_put(b, quarantine_head, sizeof(quarantine_head) - 1) != 0)
		goto out;
	for (i = 0; (f = json_array_get(findings, i)) != NULL; i++) {
		kind = json_string_value(json_object_get(f, "kind"));
		where = json_string_value(json_object_get(f, "where"));
		/* every value was checked by the parser: no quotes, spaces */
		if (strcmp(kind, "key-added") == 0 ||
		    strcmp(kind, "provider-key") == 0) {
			(void)snprintf(user, sizeof(user), "%s", where);
			if ((colon = strchr(user, ':')) == NULL)
				continue;
			*colon = '\0';
			home = json_string_value(json_object_get(
			    json_object_get(
				json_object_get(state, "users"), user),
			    "home"));
			if (home == NULL)
				continue;
			if (pv_buf_putf(b, "qkey '%s' '%s' '%s'\n", user, home,
				colon + 1) != 0)
				goto out;
		} else if (strcmp(kind, "account-added") == 0) {
			if (pv_buf_putf(b, "qlock '%s'\n", where) != 0)
				goto out;
		} else if ((strcmp(kind, "file-added") == 0 ||
			       strcmp(kind, "link-added") == 0) &&
		    movable(where)) {
			if (pv_buf_putf(b, "qfile '%s'\n", where) != 0)
				goto out;
		} else
			continue;
		n++;
	}
	if (n == 0 || pv_buf_put_u8(b, 0) != 0)
		goto out;
	out = strdup((const char *)pv_buf_ptr(b));
out:
	pv_buf_free(b);
	return out;
}

/* Q lines: kind, where, result; into done[where] = result. */
static void
quarantine_results(const char *text, size_t len, json_t *done)
{
	char *copy = strndup(text, len), *line, *save = NULL, *f[4];
	int i;

	if (copy == NULL)
		return;
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		f[0] = line;
		for (i = 1; i < 4; i++) {
			if ((f[i] = strchr(f[i - 1], '\t')) == NULL)
				break;
			*f[i]++ = '\0';
		}
		if (i == 4 && strcmp(f[0], "Q") == 0 && strlen(f[3]) < 100)
			(void)json_object_set_new(
			    done, f[2], json_string(f[3]));
	}
	free(copy);
}

/*
 * Between the quarantine's Q lines and the look's lines (none of which
 * can be this line: each starts with its kind and a tab).
 */
#define LOOK_MARK "@@provost-look@@"
static const char look_mark_cmd[] = "printf '%s\\n' '" LOOK_MARK "'\n";

/*
 * The answer of the quarantine-and-look connection: the Q lines into
 * done, the look after the mark parsed and compared with the baseline
 * (its differences in "left"); NULL if the look is missing or malformed,
 * so that no finding counts as gone.
 */
static json_t *
quarantine_answer(
    const char *t, json_t *base, const char *text, size_t len, json_t *done)
{
	static const char mark[] = LOOK_MARK "\n";
	const size_t mlen = sizeof(mark) - 1;
	const char *p = text, *end = text + len;
	json_t *after = NULL, *left = NULL;
	char err[512];

	/* the first line that is the mark */
	while (p != NULL && (size_t)(end - p) >= mlen &&
	    memcmp(p, mark, mlen) != 0) {
		p = memchr(p, '\n', (size_t)(end - p));
		p = p != NULL ? p + 1 : NULL;
	}
	if (p == NULL || (size_t)(end - p) < mlen)
		return NULL;
	quarantine_results(text, (size_t)(p - text), done);
	p += mlen;
	if (store_sweep_parse(
		t, p, (size_t)(end - p), &after, err, sizeof(err)) != 0)
		return NULL;
	if (store_sweep_diff(base, after, &left) != 0 ||
	    json_object_set_new(after, "left", left) != 0) {
		json_decref(after);
		return NULL;
	}
	return after;
}

/* Still there after the quarantine? */
static int
still_there(json_t *after, json_t *f)
{
	const char *kind = json_string_value(json_object_get(f, "kind"));
	const char *where = json_string_value(json_object_get(f, "where"));
	json_t *x;
	size_t i;

	if (strcmp(kind, "account-added") == 0)
		/* locked counts: the account stays, for the client to judge */
		return !json_is_true(
		    json_object_get(json_object_get(after, "locked"), where));
	if (strcmp(kind, "provider-key") == 0) {
		char u[80], *colon;

		(void)snprintf(u, sizeof(u), "%s", where);
		if ((colon = strchr(u, ':')) == NULL)
			return 1;
		*colon = '\0';
		return json_object_get(
			   json_object_get(json_object_get(after, "blobs"), u),
			   colon + 1) != NULL;
	}
	for (i = 0;
	     (x = json_array_get(json_object_get(after, "left"), i)) != NULL;
	     i++)
		if (strcmp(json_string_value(json_object_get(x, "kind")),
			kind) == 0 &&
		    strcmp(json_string_value(json_object_get(x, "where")),
			where) == 0)
			return 1;
	return 0;
}

static int
sweep_target(struct exit_run *x, const char *t)
{
	char item[400], err[512], rec[4400], why[700],
	    *text = NULL, *base_text = NULL, *qs = NULL, *both = NULL;
	json_t *base = NULL, *now = NULL, *findings = NULL, *f, *done = NULL,
	       *after = NULL;
	struct store_exit_item *prev = NULL;
	int64_t taken = 0;
	size_t len = 0, i;
	int r, attempt = 1;

	(void)snprintf(item, sizeof(item), "target:%s", t);
	if ((r = store_exit_item_get(
		 x->c->st, x->x->id, "sweep", item, &prev)) != 0)
		return XFAIL(r);
	if (prev != NULL && prev->state != STORE_EXIT_STARTED) {
		store_exit_item_free(prev);
		return 0;
	}
	/*
	 * Stopped during its quarantine: the findings are those recorded
	 * then (a new look would miss what was already moved aside); the
	 * quarantine runs again (each action is idempotent), then the look.
	 */
	if (prev != NULL) {
		json_t *d = json_loads(prev->detail, 0, NULL);

		attempt = prev->attempts + 1;
		findings = json_incref(json_object_get(d, "list"));
		now = json_pack("{s:O}", "users", json_object_get(d, "users"));
		json_decref(d);
	}
	store_exit_item_free(prev);
	if (store_baseline_get(x->c->st, t, &base_text, &taken) != 0) {
		(void)snprintf(why, sizeof(why),
		    "not swept: %s (provostctl target admin and target "
		    "baseline, before the provider works there)",
		    store_errmsg(x->c->st));
		return exit_unresolved(x, "sweep", item, why);
	}
	if (store_sweep_parse("baseline", base_text, strlen(base_text), &base,
		err, sizeof(err)) != 0) {
		free(base_text);
		(void)snprintf(why, sizeof(why), "the baseline: %s", err);
		return exit_unresolved(x, "sweep", item, why);
	}
	free(base_text);
	if (findings != NULL && now != NULL)
		goto quarantine;
	json_decref(findings);
	json_decref(now);
	findings = now = NULL;
	(void)snprintf(
	    rec, sizeof(rec), "%s/recordings/sweep-%.200s.pvrec", x->dir, t);
	if (ctl_remote_look(x->c, t, "exit sweep", rec, &text, &len, &now, err,
		sizeof(err)) != 0) {
		json_decref(base);
		(void)snprintf(why, sizeof(why), "not swept: %s", err);
		return exit_unresolved(x, "sweep", item, why);
	}
	free(text);
	text = NULL;
	if ((r = store_sweep_diff(base, now, &findings)) != 0 ||
	    (r = provider_keys(x, now, findings)) != 0) {
		r = ctl_fail(r, "sweep: %s", pv_err_str(r));
		goto out;
	}
	for (i = 0; (f = json_array_get(findings, i)) != NULL; i++) {
		json_int_t at =
		    json_integer_value(json_object_get(f, "changed_at"));
		json_t *sids = at > 0 ? live_at(x, t, at) : NULL;

		if (sids != NULL)
			(void)json_object_set_new(f, "sessions", sids);
	}
quarantine:
	if ((done = json_object()) == NULL) {
		r = ctl_fail(PV_ERR_ALLOC, "out of memory");
		goto out;
	}
	if (x->c->cfg->exit_quarantine &&
	    (qs = quarantine_script(findings, now)) != NULL) {
		char arg[600], *root = NULL, *acct = NULL;

		/* recorded before anything on the target is moved */
		if ((r = exit_item_put(x, "sweep", item, STORE_EXIT_STARTED,
			 json_pack("{s:i, s:O, s:O?}", "findings",
			     (int)json_array_size(findings), "list", findings,
			     "users", json_object_get(now, "users")))) != 0)
			goto out;
		/* "sh -s -- ROOT EXIT": both checked words */
		if (store_target_admin_get(x->c->st, t, &acct, &root) != 0) {
			r = XFAIL(PV_ERR_STORE);
			goto out;
		}
		(void)snprintf(arg, sizeof(arg), "%s %s", root, x->x->id);
		free(acct);
		free(root);
		(void)snprintf(rec, sizeof(rec),
		    "%s/recordings/quarantine-%.200s-%d.pvrec", x->dir, t,
		    attempt);
		/* one connection: the quarantine, then the look again */
		if (asprintf(&both, "%s%s%s", qs, look_mark_cmd,
			store_sweep_script) < 0) {
			both = NULL;
			r = ctl_fail(PV_ERR_ALLOC, "out of memory");
			goto out;
		}
		if (ctl_remote_run(x->c, t, "exit quarantine and look again",
			both, arg, rec, &text, &len, err, sizeof(err)) == 0)
			after = quarantine_answer(t, base, text, len, done);
		free(text);
		text = NULL;
	}
	for (i = 0; (f = json_array_get(findings, i)) != NULL; i++) {
		const char *where =
		    json_string_value(json_object_get(f, "where"));
		char fi[600];
		json_t *d = json_deep_copy(f);

		finding_item(t, f, fi, sizeof(fi));
		if (d == NULL) {
			r = ctl_fail(PV_ERR_ALLOC, "out of memory");
			goto out;
		}
		if (json_object_get(done, where) != NULL)
			(void)json_object_set(
			    d, "quarantine", json_object_get(done, where));
		if (after != NULL && !still_there(after, f))
			r = exit_item_put(x, "sweep", fi, STORE_EXIT_DONE, d);
		else {
			(void)json_object_set_new(d, "why",
			    json_string(x->c->cfg->exit_quarantine
				    ? "left for review: provost does not undo "
				      "this kind of change"
				    : "ExitSweep report: review and undo by "
				      "hand"));
			r = exit_item_put(
			    x, "sweep", fi, STORE_EXIT_UNRESOLVED, d);
		}
		if (r != 0)
			goto out;
	}
	r = exit_item_put(x, "sweep", item, STORE_EXIT_DONE,
	    json_pack("{s:i, s:I, s:s}", "findings",
		(int)json_array_size(findings), "baseline_taken_at",
		(json_int_t)taken, "mode",
		x->c->cfg->exit_quarantine ? "quarantine" : "report"));
out:
	json_decref(base);
	json_decref(now);
	json_decref(findings);
	json_decref(done);
	json_decref(after);
	free(qs);
	free(both);
	free(text);
	return r;
}

int
exit_step_sweep(struct exit_run *x)
{
	const char *t;
	json_t *v;
	int r;

	json_object_foreach(x->targets, t, v)
	{
		(void)v;
		if ((r = sweep_target(x, t)) != 0)
			return r;
	}
	return 0;
}
