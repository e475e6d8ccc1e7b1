/*
 * exit_bundle.c: the end of a provider's exit: the verify step, the
 * evidence bundle (audit chain and the provider's slice of it, sessions,
 * recordings, KRL, rotation results, sealed secrets, the provider's
 * erasure certificate, a SHA-256 manifest), and the exit certificate
 * signed with the audit key as OpenSSH signs (namespace provost-exit),
 * which `ssh-keygen -Y verify` and `provostctl exit verify` check.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "ctl/exit-int.h"
#include "pvt/pvt.h"
#include "recorder/recorder.h"

#define EXIT_NS "provost-exit"
#define EXIT_SIGNER "provost-audit"
#define EXIT_FORMAT "provost-exit-certificate/1"
#define MANIFEST "manifest.sha256"
/* Uploads named in the certificate itself (all are in transfers.jsonl). */
#define EXIT_UPLOADS_LISTED 200

static int item_json(void *ctx, const struct store_exit_item *i);

int
exit_bundle_dir(struct exit_run *x)
{
	const char *d = x->c->cfg->exit_dir;
	char sub[4200];

	if (mkdir(d, 0700) != 0 && errno != EEXIST)
		return ctl_fail(PV_ERR_IO, "%s: %s", d, strerror(errno));
	if ((size_t)snprintf(x->dir, sizeof(x->dir), "%s/%s-%s", d, x->provider,
		x->x->id) >= sizeof(x->dir))
		return ctl_fail(PV_ERR_RANGE, "%s: path too long", d);
	if (mkdir(x->dir, 0700) != 0 && errno != EEXIST)
		return ctl_fail(PV_ERR_IO, "%s: %s", x->dir, strerror(errno));
	if ((size_t)snprintf(sub, sizeof(sub), "%s/recordings", x->dir) >=
		sizeof(sub) ||
	    (mkdir(sub, 0700) != 0 && errno != EEXIST))
		return ctl_fail(PV_ERR_IO, "%s: %s", sub, strerror(errno));
	return 0;
}

/* Copies src to dst (0600), or links it when both are on one file system. */
static int
copy_file(const char *src, const char *dst)
{
	char buf[65536];
	ssize_t n;
	int in, out, r = PV_ERR_IO;

	(void)unlink(dst);
	if (link(src, dst) == 0)
		return 0;
	if ((in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return PV_ERR_IO;
	if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) <
	    0) {
		close(in);
		return PV_ERR_IO;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (pv_write_all(out, buf, (size_t)n) != 0)
			goto out;
	if (n == 0 && fsync(out) == 0)
		r = 0;
out:
	close(in);
	if (close(out) != 0)
		r = PV_ERR_IO;
	return r;
}

int
exit_erasure(struct exit_run *x, const char *path)
{
	char dst[4200], sha[65];
	int r;

	if ((r = pv_file_sha256(path, sha)) != 0)
		return ctl_fail(
		    r, "%s: cannot read the erasure certificate", path);
	(void)snprintf(dst, sizeof(dst), "%s/erasure-certificate", x->dir);
	if ((r = copy_file(path, dst)) != 0)
		return ctl_fail(r, "%s: %s", dst, strerror(errno));
	return exit_item_put(x, "evidence", "erasure-certificate",
	    STORE_EXIT_DONE,
	    json_pack("{s:s, s:s}", "from", path, "sha256", sha));
}

/* A key blob as a public key file for ssh-keygen -Q. */
struct keyfiles {
	char dir[4200];
	size_t n;
	int err;
};

static int
kf_serial(void *ctx, uint64_t serial)
{
	(void)ctx;
	(void)serial;
	return 0;
}

static int
kf_key(void *ctx, const uint8_t *blob, size_t len)
{
	struct keyfiles *k = ctx;
	char path[4300], *b64 = NULL;
	uint32_t tl;
	FILE *f;

	if (len < 4)
		return 0;
	tl = (uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 |
	    (uint32_t)blob[2] << 8 | blob[3];
	if (tl > len - 4 || pv_b64_encode(blob, len, 0, &b64) != 0) {
		k->err = 1;
		return -1;
	}
	(void)snprintf(path, sizeof(path), "%s/%zu.pub", k->dir, k->n++);
	if ((f = fopen(path, "we")) == NULL) {
		free(b64);
		k->err = 1;
		return -1;
	}
	fprintf(f, "%.*s %s\n", (int)tl, (const char *)blob + 4, b64);
	free(b64);
	if (fclose(f) != 0) {
		k->err = 1;
		return -1;
	}
	return 0;
}

/* ssh-keygen -Q -f KRL for each of the provider's keys: all REVOKED. */
static int
verify_keys(struct exit_run *x, const char *krl, char *why, size_t whylen)
{
	struct keyfiles k = { .n = 0 };
	char cmd[9000];
	size_t i;
	int st, revoked = 0;
	FILE *p;
	char line[4400];

	(void)snprintf(k.dir, sizeof(k.dir), "%s/.keys", x->dir);
	(void)mkdir(k.dir, 0700);
	if (store_krl_list(x->c->st, x->provider, kf_serial, kf_key, &k) != 0 ||
	    k.err) {
		(void)snprintf(why, whylen, "cannot list the provider's keys");
		return -1;
	}
	if (k.n == 0) {
		(void)rmdir(k.dir);
		return 0;
	}
	/* paths are ours: the exit directory, an id, numbers */
	(void)snprintf(cmd, sizeof(cmd),
	    "cd '%s' && ssh-keygen -Q -f '%s' *.pub 2>&1", k.dir, krl);
	if ((p = popen(cmd, "re")) == NULL) {
		(void)snprintf(why, whylen, "cannot run ssh-keygen -Q");
		return -1;
	}
	while (fgets(line, sizeof(line), p) != NULL)
		if (strstr(line, ": REVOKED") != NULL)
			revoked++;
	st = pclose(p);
	for (i = 0; i < k.n; i++) {
		(void)snprintf(line, sizeof(line), "%s/%zu.pub", k.dir, i);
		(void)unlink(line);
	}
	(void)rmdir(k.dir);
	if ((size_t)revoked != k.n) {
		(void)snprintf(why, whylen,
		    "ssh-keygen -Q: %d of %zu keys revoked by %.300s (status "
		    "%d)",
		    revoked, k.n, krl, st);
		return -1;
	}
	return (int)k.n;
}

struct verify_ctx {
	struct exit_run *x;
	const char *step;
	int rc;
};

static int
verify_rotated(struct verify_ctx *v, json_t *it)
{
	struct store_hook_answer a;
	json_t *d = json_object_get(it, "detail"), *req;
	const char *hook = json_string_value(json_object_get(d, "hook"));
	const char *ri = json_string_value(json_object_get(it, "item"));
	char item[700], why[400];
	int r;

	if (strcmp(json_string_value(json_object_get(it, "state")), "done") !=
		0 ||
	    hook == NULL || ri == NULL)
		return 0;
	(void)snprintf(item, sizeof(item), "rotated:%s", ri);
	if ((r = exit_item_done(v->x, v->step, item)) != 0) {
		if (r < 0)
			v->rc = ctl_fail(
			    PV_ERR_STORE, "%s", store_errmsg(v->x->c->st));
		return r < 0;
	}
	req = json_pack("{s:s, s:s, s:s, s:s, s:O?, s:O?}", "action", "verify",
	    "exit", v->x->x->id, "provider", v->x->provider, "item", ri,
	    "fingerprint", json_object_get(d, "fingerprint"), "exposure",
	    json_object_get(d, "exposure"));
	if (req == NULL) {
		v->rc = ctl_fail(PV_ERR_ALLOC, "out of memory");
		return 1;
	}
	if (strcmp(hook, "builtin") == 0) {
		json_decref(req);
		if (exit_unixpw_verify(
			v->x, v->step, ri, d, why, sizeof(why)) == 1)
			v->rc = exit_item_put(v->x, v->step, item,
			    STORE_EXIT_DONE,
			    json_pack("{s:s, s:s}", "result",
				"the shadow entry read back is the one set, "
				"not the old one",
				"checked_with", "the admin connection"));
		else
			v->rc = exit_unresolved(v->x, v->step, item, why);
		return v->rc != 0;
	}
	r = exit_hook_run(v->x, hook, "verify", req, &a, why, sizeof(why));
	json_decref(req);
	if (r == 0 && a.status == STORE_HOOK_OK)
		v->rc = exit_item_put(v->x, v->step, item, STORE_EXIT_DONE,
		    json_pack("{s:s, s:s?}", "result",
			"the old secret no longer works", "message",
			a.message));
	else {
		if (r == 0)
			(void)snprintf(why, sizeof(why), "the hook says %s: %s",
			    store_hook_status_name(a.status),
			    a.message != NULL ? a.message : "no message");
		v->rc = exit_unresolved(v->x, v->step, item, why);
	}
	if (r == 0)
		store_hook_answer_clear(&a);
	return v->rc != 0;
}

static int
verify_engineer(void *ctx, const struct store_engineer *e)
{
	struct verify_ctx *v = ctx;
	char item[128], why[256];

	(void)snprintf(item, sizeof(item), "engineer:%s", e->login);
	if (e->disabled_at != 0 && e->keys == 0 && !e->has_totp &&
	    e->provider_blocked)
		v->rc = exit_item_put(v->x, v->step, item, STORE_EXIT_DONE,
		    json_pack("{s:s}", "result",
			"disabled, no key, no TOTP: the broker refuses her"));
	else {
		(void)snprintf(why, sizeof(why), "still %s%s%s at the broker",
		    e->disabled_at == 0 ? "enabled " : "",
		    e->keys > 0 ? "with a key " : "",
		    e->has_totp ? "with TOTP" : "");
		v->rc = exit_unresolved(v->x, v->step, item, why);
	}
	return v->rc != 0;
}

static int
verify_grant(void *ctx, const struct store_grant *g)
{
	int *n = ctx;

	(*n)++;
	(void)g;
	return 0;
}

/* The provider's PAM tokens: (engineer, serial). */
static int
token_of(void *ctx, const struct store_credential *cr)
{
	if (cr->kind != STORE_CRED_TOKEN)
		return 0;
	return json_array_append_new(ctx,
		   json_pack("{s:s, s:I}", "engineer", cr->engineer, "serial",
		       (json_int_t)cr->serial)) != 0;
}

/*
 * Every PAM token of the provider is refused by the revocation list
 * pam_provost targets read (RevocationList, checked as pam_provost
 * checks it: the list's signature, then the token's claims).
 */
static int
verify_tokens(struct exit_run *x, const char *step)
{
	struct pvt_revlist *rl = NULL;
	struct pvt_claims cl;
	enum pvt_reason why;
	EVP_PKEY *key = NULL;
	json_t *toks = json_array(), *t;
	char kp[4096], err[256], msg[512];
	size_t i, bad = 0;
	int r;

	if (toks == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	if ((r = store_credential_list(
		 x->c->st, x->provider, token_of, toks)) != 0) {
		json_decref(toks);
		return r > 0 ? ctl_fail(PV_ERR_ALLOC, "out of memory")
			     : XFAIL(r);
	}
	if (json_array_size(toks) == 0) {
		json_decref(toks);
		return 0;
	}
	if (x->c->cfg->revocation_list == NULL) {
		json_decref(toks);
		return exit_unresolved(x, step, "pam-tokens",
		    "the provider had PAM tokens and RevocationList is not "
		    "set: "
		    "nothing tells pam_provost targets");
	}
	if (ctl_state_path(x->c, "token_ed25519", kp, sizeof(kp)) != 0 ||
	    pv_sshkey_load_private(kp, &key) != 0 ||
	    pvt_revlist_load(
		x->c->cfg->revocation_list, key, &rl, err, sizeof(err)) != 0) {
		(void)snprintf(msg, sizeof(msg), "%.200s: %.250s",
		    x->c->cfg->revocation_list, key == NULL ? kp : err);
		EVP_PKEY_free(key);
		json_decref(toks);
		return exit_unresolved(x, step, "pam-tokens", msg);
	}
	for (i = 0; (t = json_array_get(toks, i)) != NULL; i++) {
		memset(&cl, 0, sizeof(cl));
		(void)snprintf(cl.engineer, sizeof(cl.engineer), "%s",
		    json_string_value(json_object_get(t, "engineer")));
		cl.serial =
		    (uint64_t)json_integer_value(json_object_get(t, "serial"));
		if (pvt_revlist_check(rl, &cl, &why) == PV_ALLOW)
			bad++;
	}
	pvt_revlist_free(rl);
	EVP_PKEY_free(key);
	if (bad > 0) {
		(void)snprintf(msg, sizeof(msg),
		    "%zu of %zu tokens are not in %.300s", bad,
		    json_array_size(toks), x->c->cfg->revocation_list);
		r = exit_unresolved(x, step, "pam-tokens", msg);
	} else
		r = exit_item_put(x, step, "pam-tokens", STORE_EXIT_DONE,
		    json_pack("{s:I, s:s}", "revoked",
			(json_int_t)json_array_size(toks), "list",
			x->c->cfg->revocation_list));
	json_decref(toks);
	return r;
}

/* The provider's latest certificate on each target: target -> cert. */
static int
cert_of(void *ctx, const struct store_credential *cr)
{
	json_t *prev, *c;
	char acct[128];

	if (cr->kind != STORE_CRED_CERT || cr->target == NULL ||
	    cr->session_id == NULL || cr->principals == NULL)
		return 0;
	prev = json_object_get(ctx, cr->target);
	if (prev != NULL &&
	    json_integer_value(json_object_get(prev, "serial")) >
		(json_int_t)cr->serial)
		return 0;
	(void)snprintf(acct, sizeof(acct), "%s", cr->principals);
	acct[strcspn(acct, ",")] = '\0';
	c = json_pack("{s:I, s:s, s:s, s:s, s:I}", "serial",
	    (json_int_t)cr->serial, "session", cr->session_id, "engineer",
	    cr->engineer, "account", acct, "issued_at",
	    (json_int_t)cr->issued_at);
	return c == NULL || json_object_set_new(ctx, cr->target, c) != 0;
}

/*
 * At each target the provider touched, a certificate with the serial and
 * key id of the last one provost minted there for the provider (over a
 * fresh key: the first one's key never left the broker) must be refused
 * by sshd, and the same certificate with provost's own serial 0 taken:
 * the serial alone decides, so the refusal is the KRL's.  A target that
 * takes the old serial, or that cannot be asked, is unresolved.
 */
static int
verify_certs(struct exit_run *x, const char *step)
{
	json_t *certs = json_object(), *cert, *v;
	const char *t, *acct;
	char item[300], why[900], err[512];
	int r = 0, ok, old;

	if (certs == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	if ((r = store_credential_list(
		 x->c->st, x->provider, cert_of, certs)) != 0) {
		json_decref(certs);
		return r > 0 ? ctl_fail(PV_ERR_ALLOC, "out of memory")
			     : XFAIL(r);
	}
	json_object_foreach(x->targets, t, v)
	{
		(void)snprintf(item, sizeof(item), "certificate:%s", t);
		if ((cert = json_object_get(certs, t)) == NULL) {
			r = exit_item_put(x, step, item, STORE_EXIT_DONE,
			    json_pack("{s:s}", "result",
				"provost minted no certificate for the "
				"provider there"));
			if (r != 0)
				break;
			continue;
		}
		acct = json_string_value(json_object_get(cert, "account"));
		if (ctl_remote_probe(x->c, t, acct, 0, NULL, "provost-admin",
			"exit verify: control", &ok, err, sizeof(err)) != 0 ||
		    !ok) {
			(void)snprintf(why, sizeof(why),
			    "cannot tell whether sshd refuses the provider's "
			    "certificates: %s",
			    err[0] != '\0'
				? err
				: "it refused provost's own certificate too");
			r = exit_unresolved(x, step, item, why);
		} else if (ctl_remote_probe(x->c, t, acct,
			       (uint64_t)json_integer_value(
				   json_object_get(cert, "serial")),
			       json_string_value(
				   json_object_get(cert, "session")),
			       json_string_value(
				   json_object_get(cert, "engineer")),
			       "exit verify: a certificate of the provider",
			       &old, err, sizeof(err)) != 0) {
			(void)snprintf(why, sizeof(why),
			    "the provider's certificate could not be tried: "
			    "%s",
			    err);
			r = exit_unresolved(x, step, item, why);
		} else if (old) {
			(void)snprintf(why, sizeof(why),
			    "sshd accepted a certificate with serial %lld "
			    "(%s's, minted before the exit): the KRL is not "
			    "in force there",
			    (long long)json_integer_value(
				json_object_get(cert, "serial")),
			    json_string_value(
				json_object_get(cert, "engineer")));
			r = exit_unresolved(x, step, item, why);
		} else
			r = exit_item_put(x, step, item, STORE_EXIT_DONE,
			    json_pack("{s:O, s:s, s:s}", "certificate", cert,
				"result",
				"refused by sshd; the same certificate with "
				"serial 0 was accepted",
				"checked_with", "ssh"));
		if (r != 0)
			break;
	}
	json_decref(certs);
	return r;
}

/* verify (and reverify): every old credential must fail. */
static int
verify_under(struct exit_run *x, const char *step)
{
	struct verify_ctx v = { .x = x, .step = step };
	const char *login;
	char why[512], krl[4200];
	json_t *val, *rot;
	int r, n = 0, live = 0;
	size_t i;

	json_object_foreach(x->logins, login, val)
	{
		struct store_engineer *e = NULL;

		if ((r = store_engineer_get_by_login(x->c->st, login, &e)) != 0)
			return XFAIL(r);
		(void)verify_engineer(&v, e);
		store_engineer_free(e);
		if (v.rc != 0)
			return v.rc;
	}
	json_object_foreach(x->logins, login, val)
	{
		(void)val;
		if ((r = store_grant_list(x->c->st, login, STORE_GRANTS_CURRENT,
			 pv_wall_ms() / 1000, verify_grant, &n)) != 0)
			return XFAIL(r);
	}
	if ((r = n == 0 ? exit_item_put(x, step, "grants", STORE_EXIT_DONE,
			      json_pack("{s:i}", "current", 0))
			: exit_unresolved(x, step, "grants",
			      "a grant is still pending or active")) != 0)
		return r;
	for (i = 0; (val = json_array_get(x->sessions, i)) != NULL; i++) {
		struct store_session *s = NULL;

		if (store_session_get(x->c->st,
			json_string_value(json_object_get(val, "id")),
			&s) == 0) {
			live += s->state == STORE_SESSION_OPEN;
			store_session_free(s);
		}
	}
	if ((r = live == 0
		    ? exit_item_put(x, step, "sessions", STORE_EXIT_DONE,
			  json_pack("{s:i}", "live", 0))
		    : exit_unresolved(x, step, "sessions",
			  "a session of the provider is still live")) != 0)
		return r;
	/* The keys through stock ssh-keygen, against the KRL targets read. */
	if (x->c->cfg->revoked_keys != NULL)
		(void)snprintf(krl, sizeof(krl), "%s", x->c->cfg->revoked_keys);
	else
		(void)snprintf(krl, sizeof(krl), "%s/revoked_keys.krl", x->dir);
	if ((n = verify_keys(x, krl, why, sizeof(why))) < 0)
		r = exit_unresolved(x, step, "krl-keys", why);
	else
		r = exit_item_put(x, step, "krl-keys", STORE_EXIT_DONE,
		    json_pack("{s:i, s:s, s:s}", "revoked", n, "krl", krl,
			"checked_with", "ssh-keygen -Q"));
	if (r != 0)
		return r;
	if ((r = verify_tokens(x, step)) != 0 ||
	    (r = verify_certs(x, step)) != 0)
		return r;
	/* the rotated items first: the walk holds a transaction */
	if ((rot = json_array()) == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	if ((r = store_exit_item_list(
		 x->c->st, x->x->id, "rotate", item_json, rot)) != 0) {
		json_decref(rot);
		return r > 0 ? ctl_fail(PV_ERR_ALLOC, "out of memory")
			     : XFAIL(r);
	}
	for (i = 0; (val = json_array_get(rot, i)) != NULL; i++)
		if (verify_rotated(&v, val) != 0)
			break;
	json_decref(rot);
	return v.rc;
}

int
exit_step_verify(struct exit_run *x)
{
	int r;

	if ((r = exit_item_done(x, "verify", "grants")) != 0)
		return r < 0 ? XFAIL(PV_ERR_STORE) : 0;
	return verify_under(x, "verify");
}

int
exit_step_reverify(struct exit_run *x)
{
	char step[64];

	/* each run its own step, appended to the record */
	(void)snprintf(step, sizeof(step), "reverify-%lld",
	    (long long)(pv_wall_ms() / 1000));
	return verify_under(x, step);
}

/* The files of the bundle, sorted, relative to dir. */
static int
list_files(const char *dir, const char *rel, json_t *out)
{
	char path[8800], sub[4400];
	struct dirent **ents = NULL;
	struct stat sb;
	int n, i, r = 0;

	(void)snprintf(
	    path, sizeof(path), "%s%s%s", dir, rel[0] ? "/" : "", rel);
	if ((n = scandir(path, &ents, NULL, alphasort)) < 0)
		return PV_ERR_IO;
	for (i = 0; i < n; i++) {
		const char *nm = ents[i]->d_name;

		if (r != 0 || nm[0] == '.')
			goto next;
		(void)snprintf(
		    sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", nm);
		(void)snprintf(path, sizeof(path), "%s/%s", dir, sub);
		if (lstat(path, &sb) != 0) {
			r = PV_ERR_IO;
			goto next;
		}
		if (S_ISDIR(sb.st_mode))
			r = list_files(dir, sub, out);
		else if (!S_ISREG(sb.st_mode))
			r = PV_ERR_INVALID; /* no links, devices in a bundle */
		else if (json_array_append_new(out, json_string(sub)) != 0)
			r = PV_ERR_ALLOC;
next:
		free(ents[i]);
	}
	free(ents);
	return r;
}

/* Not part of the manifest: the manifest itself and what signs it. */
static int
outside_manifest(const char *rel)
{
	return strcmp(rel, MANIFEST) == 0 ||
	    strncmp(rel, "certificate.", 12) == 0 ||
	    strcmp(rel, "allowed_signers") == 0;
}

static int
write_json_lines(const char *path, json_t *arr)
{
	FILE *f;
	json_t *v;
	size_t i;
	int r = 0;

	if ((f = fopen(path, "wex")) == NULL &&
	    (errno != EEXIST || unlink(path) != 0 ||
		(f = fopen(path, "wex")) == NULL))
		return PV_ERR_IO;
	for (i = 0; (v = json_array_get(arr, i)) != NULL; i++)
		if (json_dumpf(v, f, JSON_COMPACT | JSON_SORT_KEYS) != 0 ||
		    fputc('\n', f) == EOF)
			r = PV_ERR_IO;
	if (fclose(f) != 0)
		r = PV_ERR_IO;
	return r;
}

static int
item_json(void *ctx, const struct store_exit_item *i)
{
	json_t *d = json_loads(i->detail, 0, NULL);

	return json_array_append_new(ctx,
		   json_pack("{s:s, s:s, s:s, s:o, s:I, s:i}", "step", i->step,
		       "item", i->item, "state",
		       store_exit_state_name(i->state), "detail",
		       d != NULL ? d : json_object(), "updated_at",
		       (json_int_t)i->updated_at, "attempts", i->attempts)) !=
	    0;
}

/*
 * A "transfer" row of a session (relay_xfer.c: "channel=N op=OP
 * direction=D path=P bytes=B sha256=H status=S", the path possibly with
 * spaces) as {session, ts_ms, direction, path, bytes, sha256}.
 */
static json_t *
transfer_row(json_t *row)
{
	const char *d = json_string_value(
	    json_object_get(json_object_get(row, "details"), "detail"));
	const char *o = json_string_value(json_object_get(row, "object"));
	const char *dir, *path, *bytes, *sha, *status;
	char *pcopy;
	json_t *t;

	if (d == NULL || o == NULL || strncmp(o, "session:", 8) != 0 ||
	    (dir = strstr(d, " direction=")) == NULL ||
	    (path = strstr(dir, " path=")) == NULL ||
	    (status = strstr(path, " status=")) == NULL)
		return NULL;
	/* the last " bytes=" before the status: a path may hold the text */
	for (bytes = NULL, sha = path;
	     (sha = strstr(sha + 1, " bytes=")) != NULL && sha < status;)
		bytes = sha;
	if (bytes == NULL || (sha = strstr(bytes, " sha256=")) == NULL ||
	    sha > status)
		return NULL;
	if ((pcopy = strndup(path + 6, (size_t)(bytes - path - 6))) == NULL)
		return NULL;
	t = json_pack("{s:s, s:I, s:s%, s:s, s:I, s:s%}", "session", o + 8,
	    "ts_ms", json_integer_value(json_object_get(row, "ts_ms")),
	    "direction", dir + 11, (size_t)(strcspn(dir + 11, " ")), "path",
	    pcopy, "bytes", (json_int_t)strtoll(bytes + 7, NULL, 10), "sha256",
	    sha + 8, (size_t)(status - sha - 8));
	free(pcopy);
	return t;
}

/*
 * The provider's rows of the chain: those naming the provider, its
 * engineers, sessions or exit, or an engineer of it in their details.
 */
static int
audit_slice(struct exit_run *x, const char *all, const char *out, size_t *n,
    json_t *transfers)
{
	FILE *in, *f;
	char *line = NULL, obj[200];
	size_t cap = 0;
	json_t *row, *ids;
	const char *o, *eng, *login, *act;
	json_t *s, *v;
	size_t i;
	int r = 0, keep;

	*n = 0;
	if ((ids = json_object()) == NULL)
		return PV_ERR_ALLOC;
	(void)snprintf(obj, sizeof(obj), "provider:%s", x->provider);
	(void)json_object_set_new(ids, obj, json_true());
	(void)snprintf(obj, sizeof(obj), "exit:%s", x->x->id);
	(void)json_object_set_new(ids, obj, json_true());
	json_object_foreach(x->logins, login, v)
	{
		(void)snprintf(obj, sizeof(obj), "engineer:%s", login);
		(void)json_object_set_new(ids, obj, json_true());
	}
	for (i = 0; (s = json_array_get(x->sessions, i)) != NULL; i++) {
		(void)snprintf(obj, sizeof(obj), "session:%s",
		    json_string_value(json_object_get(s, "id")));
		(void)json_object_set_new(ids, obj, json_true());
	}
	if ((in = fopen(all, "re")) == NULL) {
		json_decref(ids);
		return PV_ERR_IO;
	}
	if ((f = fopen(out, "wex")) == NULL) {
		fclose(in);
		json_decref(ids);
		return PV_ERR_IO;
	}
	while (r == 0 && getline(&line, &cap, in) > 0) {
		if ((row = json_loads(line, 0, NULL)) == NULL) {
			r = PV_ERR_INVALID;
			break;
		}
		o = json_string_value(json_object_get(row, "object"));
		eng = json_string_value(json_object_get(
		    json_object_get(row, "details"), "engineer"));
		keep = (o != NULL && json_object_get(ids, o) != NULL) ||
		    (eng != NULL && json_object_get(x->logins, eng) != NULL);
		/* also a grant of one of them: its request row names her */
		if (keep) {
			if (o != NULL && strncmp(o, "grant:", 6) == 0)
				(void)json_object_set_new(ids, o, json_true());
			if (fputs(line, f) == EOF)
				r = PV_ERR_IO;
			(*n)++;
			act = json_string_value(json_object_get(row, "action"));
			if (act != NULL && strcmp(act, "transfer") == 0) {
				json_t *t = transfer_row(row);

				if (t != NULL &&
				    json_array_append_new(transfers, t) != 0)
					r = PV_ERR_ALLOC;
			}
		}
		json_decref(row);
	}
	free(line);
	fclose(in);
	if (fclose(f) != 0)
		r = PV_ERR_IO;
	json_decref(ids);
	return r;
}

/* The evidence: every file, then the manifest of their hashes. */
static int
write_evidence(struct exit_run *x, json_t *cert)
{
	char path[8800], rel[8800], sha[65], err[300], head[65];
	json_t *files, *items, *s, *recs, *xfers, *ups;
	size_t nup = 0;
	const char *rp, *id;
	uint64_t rows = 0;
	size_t i, nslice = 0, nrec = 0, nmissing = 0;
	FILE *f;
	int r;

	/* the whole chain as it stands, so that the slice can be checked */
	(void)snprintf(path, sizeof(path), "%s/audit.jsonl", x->dir);
	(void)unlink(path);
	if ((f = fopen(path, "wex")) == NULL)
		return ctl_fail(PV_ERR_IO, "%s: %s", path, strerror(errno));
	r = store_audit_export(x->c->st, 0, f);
	if (fclose(f) != 0 && r == 0)
		r = PV_ERR_IO;
	if (r != 0)
		return ctl_fail(r, "%s: %s", path, store_errmsg(x->c->st));
	if ((f = fopen(path, "re")) == NULL)
		return ctl_fail(PV_ERR_IO, "%s: %s", path, strerror(errno));
	r = store_audit_export_check(
	    f, "audit.jsonl", &rows, head, err, sizeof(err));
	fclose(f);
	if (r != 0)
		return ctl_fail(PV_ERR_AUTH, "the audit chain: %s", err);
	(void)snprintf(rel, sizeof(rel), "%s/audit-provider.jsonl", x->dir);
	(void)unlink(rel);
	if ((xfers = json_array()) == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	if ((r = audit_slice(x, path, rel, &nslice, xfers)) != 0) {
		json_decref(xfers);
		return ctl_fail(r, "%s: %s", rel, pv_err_str(r));
	}
	/* the files the provider moved, uploads first for the reader */
	(void)snprintf(path, sizeof(path), "%s/transfers.jsonl", x->dir);
	(void)unlink(path);
	r = write_json_lines(path, xfers);
	if ((ups = json_array()) == NULL) {
		json_decref(xfers);
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	}
	for (i = 0; (s = json_array_get(xfers, i)) != NULL; i++)
		if (strcmp(json_string_value(json_object_get(s, "direction")),
			"upload") == 0 &&
		    ++nup <= EXIT_UPLOADS_LISTED)
			(void)json_array_append(ups, s);
	(void)json_object_set_new(cert, "transfers",
	    json_pack("{s:i, s:i, s:o}", "all", (int)json_array_size(xfers),
		"uploads", (int)nup, "uploads_listed", ups));
	json_decref(xfers);
	if (r != 0)
		return ctl_fail(r, "%s: %s", path, strerror(errno));
	/* sessions, and their recordings (still sealed to the client) */
	(void)snprintf(path, sizeof(path), "%s/recordings", x->dir);
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return ctl_fail(PV_ERR_IO, "%s: %s", path, strerror(errno));
	for (i = 0; (s = json_array_get(x->sessions, i)) != NULL; i++) {
		rp = json_string_value(json_object_get(s, "recording_path"));
		id = json_string_value(json_object_get(s, "id"));
		if (rp == NULL || id == NULL)
			continue;
		(void)snprintf(rel, sizeof(rel), "recordings/%.64s.pvrec", id);
		(void)snprintf(path, sizeof(path), "%s/recordings/%.64s.pvrec",
		    x->dir, id);
		if (copy_file(rp, path) != 0) {
			nmissing++;
			continue;
		}
		nrec++;
		(void)json_object_set_new(s, "bundle_path", json_string(rel));
	}
	(void)snprintf(path, sizeof(path), "%s/sessions.jsonl", x->dir);
	(void)unlink(path);
	if ((r = write_json_lines(path, x->sessions)) != 0)
		return ctl_fail(r, "%s: %s", path, strerror(errno));
	if (x->c->cfg->revocation_list != NULL) {
		(void)snprintf(path, sizeof(path), "%s/revocations", x->dir);
		(void)copy_file(x->c->cfg->revocation_list, path);
	}
	if ((items = json_array()) == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	if ((r = store_exit_item_list(
		 x->c->st, x->x->id, NULL, item_json, items)) != 0) {
		json_decref(items);
		return r > 0 ? ctl_fail(PV_ERR_ALLOC, "out of memory")
			     : XFAIL(r);
	}
	(void)snprintf(path, sizeof(path), "%s/exit-items.jsonl", x->dir);
	(void)unlink(path);
	r = write_json_lines(path, items);
	if (r == 0)
		(void)json_object_set_new(cert, "items", items);
	else
		json_decref(items);
	if (r != 0)
		return ctl_fail(r, "%s: %s", path, strerror(errno));
	/* the manifest: sha256sum's format, so that `sha256sum -c` works */
	if ((files = json_array()) == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	if ((r = list_files(x->dir, "", files)) != 0) {
		json_decref(files);
		return ctl_fail(r, "%s: %s", x->dir, pv_err_str(r));
	}
	(void)snprintf(path, sizeof(path), "%s/%s", x->dir, MANIFEST);
	(void)unlink(path);
	if ((f = fopen(path, "wex")) == NULL) {
		json_decref(files);
		return ctl_fail(PV_ERR_IO, "%s: %s", path, strerror(errno));
	}
	for (i = 0; (s = json_array_get(files, i)) != NULL; i++) {
		if (outside_manifest(json_string_value(s)))
			continue;
		(void)snprintf(
		    rel, sizeof(rel), "%s/%s", x->dir, json_string_value(s));
		if ((r = pv_file_sha256(rel, sha)) != 0)
			break;
		fprintf(f, "%s  %s\n", sha, json_string_value(s));
	}
	if (fclose(f) != 0 && r == 0)
		r = PV_ERR_IO;
	json_decref(files);
	if (r != 0)
		return ctl_fail(r, "%s: %s", path, pv_err_str(r));
	if ((r = pv_file_sha256(path, sha)) != 0)
		return ctl_fail(r, "%s: %s", path, pv_err_str(r));
	recs = json_pack(
	    "{s:i, s:i}", "copied", (int)nrec, "missing", (int)nmissing);
	if (json_object_set_new(cert, "manifest",
		json_pack("{s:s, s:s}", "file", MANIFEST, "sha256", sha)) !=
		0 ||
	    json_object_set_new(cert, "audit",
		json_pack("{s:I, s:s, s:I}", "rows", (json_int_t)rows,
		    "head_hash", head, "provider_rows", (json_int_t)nslice)) !=
		0 ||
	    json_object_set_new(cert, "recordings", recs) != 0)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	return exit_item_put(x, "evidence", "bundle", STORE_EXIT_DONE,
	    json_pack("{s:s, s:s, s:I, s:i, s:i}", "dir", x->dir,
		"manifest_sha256", sha, "audit_rows", (json_int_t)rows,
		"recordings", (int)nrec, "recordings_missing", (int)nmissing));
}

static const char *
tstr(int64_t t, char *buf, size_t len)
{
	return ctl_time(t, buf, len);
}

/* certificate.md: what the JSON says, for people. */
static int
write_markdown(const char *path, json_t *cert)
{
	json_t *steps = json_object_get(cert, "steps"), *v, *it;
	const char *k;
	char tm[40];
	size_t i, nu = 0;
	FILE *f;

	(void)unlink(path);
	if ((f = fopen(path, "wex")) == NULL)
		return PV_ERR_IO;
	fprintf(f, "# Exit certificate: provider %s\n\n",
	    json_string_value(json_object_get(cert, "provider")));
	fprintf(f, "- Exit: %s\n",
	    json_string_value(json_object_get(cert, "exit")));
	fprintf(f, "- Contract end: %s\n",
	    tstr(json_integer_value(json_object_get(cert, "contract_end")), tm,
		sizeof(tm)));
	fprintf(f, "- Started: %s by %s\n",
	    tstr(json_integer_value(json_object_get(cert, "started_at")), tm,
		sizeof(tm)),
	    json_string_value(json_object_get(cert, "started_by")));
	fprintf(f, "- Signed: %s\n",
	    tstr(json_integer_value(json_object_get(cert, "signed_at")), tm,
		sizeof(tm)));
	fprintf(f, "- Manifest SHA-256: %s\n",
	    json_string_value(
		json_object_get(json_object_get(cert, "manifest"), "sha256")));
	fprintf(f, "- Audit chain: %lld rows, head %s\n\n",
	    (long long)json_integer_value(
		json_object_get(json_object_get(cert, "audit"), "rows")),
	    json_string_value(
		json_object_get(json_object_get(cert, "audit"), "head_hash")));
	fprintf(f, "| step | done | unresolved |\n|---|---:|---:|\n");
	json_object_foreach(steps, k, v)
	{
		fprintf(f, "| %s | %lld | %lld |\n", k,
		    (long long)json_integer_value(json_object_get(v, "done")),
		    (long long)json_integer_value(
			json_object_get(v, "unresolved")));
	}
	v = json_object_get(cert, "transfers");
	fprintf(f,
	    "\n## Files the provider uploaded\n\n%lld upload%s (every "
	    "transfer in transfers.jsonl)%s\n\n",
	    (long long)json_integer_value(json_object_get(v, "uploads")),
	    json_integer_value(json_object_get(v, "uploads")) == 1 ? "" : "s",
	    json_integer_value(json_object_get(v, "uploads")) >
		    EXIT_UPLOADS_LISTED
		? "; the first ones:"
		: "");
	for (i = 0; (it = json_array_get(
			 json_object_get(v, "uploads_listed"), i)) != NULL;
	     i++)
		fprintf(f, "- `%s` sha256 %s, session %s\n",
		    json_string_value(json_object_get(it, "path")),
		    json_string_value(json_object_get(it, "sha256")),
		    json_string_value(json_object_get(it, "session")));
	fprintf(f, "\n## Unresolved: to be done by hand\n\n");
	for (i = 0;
	     (it = json_array_get(json_object_get(cert, "items"), i)) != NULL;
	     i++) {
		if (strcmp(json_string_value(json_object_get(it, "state")),
			"unresolved") != 0)
			continue;
		nu++;
		fprintf(f, "- %s %s: %s\n",
		    json_string_value(json_object_get(it, "step")),
		    json_string_value(json_object_get(it, "item")),
		    json_string_value(
			json_object_get(json_object_get(it, "detail"), "why")));
	}
	if (nu == 0)
		fprintf(f, "None.\n");
	fprintf(f,
	    "\nCheck: `ssh-keygen -Y verify -f allowed_signers -I %s -n %s "
	    "-s certificate.json.sig < certificate.json`, then `sha256sum "
	    "-c %s`, or `provostctl exit verify certificate.json DIR`.\n",
	    EXIT_SIGNER, EXIT_NS, MANIFEST);
	return fclose(f) == 0 ? 0 : PV_ERR_IO;
}

static int
write_text(const char *path, const char *text)
{
	(void)unlink(path);
	return pv_file_write_new(path, 0600, text, strlen(text));
}

/* certificate.json, signed; allowed_signers; certificate.md. */
static int
write_certificate(struct exit_run *x, json_t *cert, char sha[65])
{
	EVP_PKEY *key = NULL;
	char path[4400], kp[4096], *text = NULL, *sig = NULL, *pub = NULL,
				   *signers = NULL;
	int r;

	if ((r = ctl_state_path(x->c, "audit_ed25519", kp, sizeof(kp))) != 0 ||
	    (r = pv_sshkey_load_private(kp, &key)) != 0)
		return ctl_fail(PV_ERR_CONFIG, "%s: %s", kp, pv_err_str(r));
	if ((r = pv_sshkey_public_line(key, NULL, &pub)) != 0 ||
	    json_object_set_new(cert, "signer", json_string(pub)) != 0 ||
	    (text = json_dumps(cert, JSON_INDENT(2) | JSON_SORT_KEYS)) ==
		NULL ||
	    (r = pv_sshsig_sign(key, EXIT_NS, text, strlen(text), &sig)) != 0 ||
	    asprintf(&signers, "%s namespaces=\"%s\" %s\n", EXIT_SIGNER,
		EXIT_NS, pub) < 0) {
		signers = NULL;
		r = ctl_fail(r != 0 ? r : PV_ERR_ALLOC,
		    "signing the certificate: %s",
		    pv_err_str(r != 0 ? r : PV_ERR_ALLOC));
		goto out;
	}
	(void)snprintf(path, sizeof(path), "%s/certificate.json", x->dir);
	if ((r = write_text(path, text)) != 0 ||
	    (r = pv_file_sha256(path, sha)) != 0)
		goto io;
	(void)snprintf(path, sizeof(path), "%s/certificate.json.sig", x->dir);
	if ((r = write_text(path, sig)) != 0)
		goto io;
	(void)snprintf(path, sizeof(path), "%s/allowed_signers", x->dir);
	if ((r = write_text(path, signers)) != 0)
		goto io;
	(void)snprintf(path, sizeof(path), "%s/certificate.md", x->dir);
	if ((r = write_markdown(path, cert)) != 0)
		goto io;
	r = 0;
	goto out;
io:
	r = ctl_fail(r, "%s: %s", path, strerror(errno));
out:
	EVP_PKEY_free(key);
	free(text);
	free(sig);
	free(pub);
	free(signers);
	return r;
}

/* DIR.tar beside DIR, with stock tar. */
static int
write_tar(struct exit_run *x)
{
	char tar[4400], base[4200], *slash;
	pid_t pid;
	int st;

	(void)snprintf(base, sizeof(base), "%s", x->dir);
	slash = strrchr(base, '/');
	(void)snprintf(tar, sizeof(tar), "%s.tar", x->dir);
	(void)unlink(tar);
	if (slash == NULL)
		return PV_ERR_INTERNAL;
	*slash = '\0';
	if ((pid = fork()) < 0)
		return PV_ERR_IO;
	if (pid == 0) {
		execlp("tar", "tar", "-C", base, "--sort=name", "-cf", tar,
		    slash + 1, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : PV_ERR_IO;
}

int
exit_finish(struct exit_run *x)
{
	uint64_t t0 = pv_mono_ms();
	json_t *cert;
	char sha[65];
	int r;

	if (!x->c->json) {
		printf("%-13s ", "evidence");
		(void)fflush(stdout);
	}
	cert = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:I}", "format",
	    EXIT_FORMAT, "provider", x->provider, "exit", x->x->id,
	    "contract_end", (json_int_t)x->x->contract_end, "started_at",
	    (json_int_t)x->x->started_at, "started_by", x->x->started_by,
	    "signed_at", (json_int_t)(pv_wall_ms() / 1000));
	if (cert == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	if ((r = write_evidence(x, cert)) != 0 ||
	    (r = exit_count(x, "evidence")) != 0)
		goto out;
	(void)json_object_set_new(json_object_get(x->steps, "evidence"), "ms",
	    json_integer((json_int_t)(pv_mono_ms() - t0)));
	if (json_object_set(cert, "steps", x->steps) != 0) {
		r = ctl_fail(PV_ERR_ALLOC, "out of memory");
		goto out;
	}
	if (!x->c->json)
		printf("%s (%llu ms)\n%-13s ", x->dir,
		    (unsigned long long)(pv_mono_ms() - t0), "certificate");
	t0 = pv_mono_ms();
	if ((r = write_certificate(x, cert, sha)) != 0)
		goto out;
	if (write_tar(x) != 0) {
		r = ctl_fail(PV_ERR_IO, "%s.tar: tar failed", x->dir);
		goto out;
	}
	if ((r = store_exit_finish(x->c->st, x->c->actor, x->x->id, x->dir, sha,
		 pv_wall_ms() / 1000)) != 0) {
		r = XFAIL(r);
		goto out;
	}
	x->x->finished_at = pv_wall_ms() / 1000;
	free(x->x->bundle);
	x->x->bundle = strdup(x->dir);
	if (!x->c->json)
		printf("%s/certificate.md (sha256 of certificate.json %s; %llu "
		       "ms)\n",
		    x->dir, sha, (unsigned long long)(pv_mono_ms() - t0));
out:
	json_decref(cert);
	return r;
}

static int
print_item(void *ctx, const struct store_exit_item *i)
{
	return item_json(ctx, i);
}

int
exit_print_json(struct exit_run *x)
{
	json_t *items = json_array();
	int r;

	if (items == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	if ((r = store_exit_item_list(
		 x->c->st, x->x->id, NULL, print_item, items)) != 0) {
		json_decref(items);
		return XFAIL(r);
	}
	return ctl_print_json(json_pack("{s:s, s:s, s:I, s:I, s:s?, s:s?, "
					"s:b, s:O?, s:o}",
	    "provider", x->provider, "exit", x->x->id, "started_at",
	    (json_int_t)x->x->started_at, "finished_at",
	    (json_int_t)x->x->finished_at, "bundle", x->x->bundle,
	    "certificate_sha256", x->x->certificate_sha256, "legal_hold",
	    x->x->legal_hold, "steps", x->steps, "items", items));
}

/* exit verify CERT BUNDLE: the signature, every hash, the audit chain. */
static int verify_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int
verify_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "provostctl: exit verify: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return CTL_EXIT_TAMPERED;
}

int
ctl_cmd_exit_verify(struct ctl *c, int argc, char **argv)
{
	const char *signer = NULL;
	const struct ctl_opt opts[] = {
		{ "signer", 1, &signer, NULL },
		{ NULL, 0, NULL, NULL },
	};
	uint8_t *text = NULL, *sig = NULL, *blob = NULL;
	size_t tlen, slen, blen, nfiles = 0;
	char path[4400], sha[65], want[65], file[4300], err[300], head[65];
	char *line = NULL, kp[4096], fp[128] = "";
	EVP_PKEY *key = NULL, *sk = NULL;
	struct pv_buf *kb = NULL;
	json_t *cert = NULL, *listed = NULL, *all = NULL, *v;
	const char *dir;
	uint64_t rows;
	size_t cap = 0, i;
	FILE *f = NULL;
	PARSE("exit", "verify", opts);

	if (argc - first != 2)
		return ctl_usage(cmd, "CERT and BUNDLE please");
	dir = argv[first + 1];
	(void)snprintf(path, sizeof(path), "%s.sig", argv[first]);
	if (pv_file_read(argv[first], 1 << 24, &text, &tlen) != 0)
		return ctl_fail(PV_ERR_IO, "%s: cannot read", argv[first]);
	if (pv_file_read(path, 1 << 16, &sig, &slen) != 0) {
		rc = ctl_fail(PV_ERR_IO, "%s: cannot read", path);
		goto out;
	}
	if (pv_sshsig_verify((const char *)sig, slen, EXIT_NS, text, tlen,
		&blob, &blen) != 0) {
		rc = verify_fail(
		    "%s: the signature does not verify", argv[first]);
		goto out;
	}
	/* The signer must be the audit key: given, or this broker's. */
	if (signer != NULL)
		rc = pv_sshkey_load_public(signer, &key);
	else if ((rc = ctl_state_path(c, "audit_ed25519", kp, sizeof(kp))) ==
	    0) {
		rc = pv_sshkey_load_private(kp, &sk);
		key = sk;
		sk = NULL;
	}
	if (rc != 0) {
		rc = ctl_fail(PV_ERR_CONFIG,
		    "no audit key to check the signer with (--signer FILE)");
		goto out;
	}
	if ((kb = pv_buf_new(4096)) == NULL ||
	    pv_sshkey_public_blob(key, kb) != 0 || pv_buf_len(kb) != blen ||
	    memcmp(pv_buf_ptr(kb), blob, blen) != 0) {
		rc = verify_fail("%s: signed by another key than %s",
		    argv[first], signer != NULL ? signer : "the audit key");
		goto out;
	}
	(void)pv_sshkey_fingerprint(key, fp, sizeof(fp));
	if ((cert = json_loadb((const char *)text, tlen, 0, NULL)) == NULL ||
	    json_string_value(json_object_get(
		json_object_get(cert, "manifest"), "sha256")) == NULL) {
		rc = verify_fail("%s: not an exit certificate", argv[first]);
		goto out;
	}
	/* the manifest, then each file in it, then nothing else */
	(void)snprintf(path, sizeof(path), "%s/%s", dir, MANIFEST);
	if (pv_file_sha256(path, sha) != 0 ||
	    strcmp(sha,
		json_string_value(json_object_get(
		    json_object_get(cert, "manifest"), "sha256"))) != 0) {
		rc = verify_fail("%s: does not match the certificate", path);
		goto out;
	}
	if ((listed = json_object()) == NULL || (all = json_array()) == NULL ||
	    (f = fopen(path, "re")) == NULL) {
		rc = ctl_fail(PV_ERR_IO, "%s: cannot read", path);
		goto out;
	}
	while (getline(&line, &cap, f) > 0) {
		if (strlen(line) < 67 || line[64] != ' ' || line[65] != ' ' ||
		    strstr(line, "..") != NULL || line[66] == '/') {
			rc = verify_fail("%s: a malformed line", path);
			goto out;
		}
		line[strcspn(line, "\n")] = '\0';
		memcpy(want, line, 64);
		want[64] = '\0';
		(void)snprintf(file, sizeof(file), "%s/%s", dir, line + 66);
		if (pv_file_sha256(file, sha) != 0) {
			rc = verify_fail("%s: missing", line + 66);
			goto out;
		}
		if (strcmp(sha, want) != 0) {
			rc = verify_fail(
			    "%s: changed (its SHA-256 is not the manifest's)",
			    line + 66);
			goto out;
		}
		(void)json_object_set_new(listed, line + 66, json_true());
		nfiles++;
	}
	if (list_files(dir, "", all) != 0) {
		rc = ctl_fail(PV_ERR_IO, "%s: cannot list", dir);
		goto out;
	}
	for (i = 0; (v = json_array_get(all, i)) != NULL; i++)
		if (!outside_manifest(json_string_value(v)) &&
		    json_object_get(listed, json_string_value(v)) == NULL) {
			rc = verify_fail(
			    "%s: not in the manifest", json_string_value(v));
			goto out;
		}
	/* the chain recomputed, ending where the certificate says */
	fclose(f);
	(void)snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	if ((f = fopen(path, "re")) == NULL ||
	    store_audit_export_check(
		f, "audit.jsonl", &rows, head, err, sizeof(err)) != 0) {
		rc = verify_fail("%s", f == NULL ? path : err);
		goto out;
	}
	if (json_string_value(json_object_get(
		json_object_get(cert, "audit"), "head_hash")) == NULL ||
	    strcmp(head,
		json_string_value(json_object_get(
		    json_object_get(cert, "audit"), "head_hash"))) != 0) {
		rc = verify_fail(
		    "audit.jsonl: its last row is not the certificate's head");
		goto out;
	}
	if (c->json)
		rc = ctl_print_json(json_pack("{s:b, s:s, s:I, s:I}", "ok", 1,
		    "signer", fp, "files", (json_int_t)nfiles, "audit_rows",
		    (json_int_t)rows));
	else {
		printf("exit certificate of %s: signature good (%s)\n",
		    json_string_value(json_object_get(cert, "provider")), fp);
		printf("bundle %s: %zu files match the manifest, audit chain "
		       "of %llu rows intact to the certificate's head\n",
		    dir, nfiles, (unsigned long long)rows);
		rc = 0;
	}
out:
	if (f != NULL)
		fclose(f);
	free(line);
	free(text);
	free(sig);
	free(blob);
	EVP_PKEY_free(key);
	EVP_PKEY_free(sk);
	pv_buf_free(kb);
	json_decref(cert);
	json_decref(listed);
	json_decref(all);
	return rc;
}

/* exit hold PROVIDER --lift|--restore --reason R: the legal hold. */
int
ctl_cmd_exit_hold(struct ctl *c, int argc, char **argv)
{
	const char *reason = NULL;
	int lift = 0, restore = 0, r;
	const struct ctl_opt opts[] = {
		{ "lift", 0, NULL, &lift },
		{ "restore", 0, NULL, &restore },
		{ "reason", 1, &reason, NULL },
		{ NULL, 0, NULL, NULL },
	};
	PARSE("exit", "hold", opts);

	if (argc - first != 1 || lift == restore)
		return ctl_usage(
		    cmd, "a provider and one of --lift, --restore");
	if (reason == NULL)
		return ctl_usage(cmd, "--reason is required");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_exit_hold(
		 c->st, c->actor, argv[first], restore, reason)) != 0)
		return STORE_FAIL(r);
	printf("provider %s: legal hold %s\n", argv[first],
	    restore ? "in force" : "lifted");
	return 0;
}

/*
 * exit secrets BUNDLE --key KEY: the new secrets the rotation hooks set,
 * opened with a recipient's private key (what provost-replay export
 * --format text does for one), one "ITEM: SECRET" line each.
 */
int
ctl_cmd_exit_secrets(struct ctl *c, int argc, char **argv)
{
	const char *keyfile = NULL;
	const struct ctl_opt opts[] = {
		{ "key", 1, &keyfile, NULL },
		{ NULL, 0, NULL, NULL },
	};
	struct rec_key *k = NULL;
	struct dirent **ents = NULL;
	char dir[4200], path[8400], err[256];
	int n, i, bad = 0, shown = 0;
	PARSE("exit", "secrets", opts);

	if (argc - first != 1 || keyfile == NULL)
		return ctl_usage(cmd, "BUNDLE and --key KEY please");
	if (rec_key_load(&k, keyfile, err, sizeof(err)) != 0)
		return ctl_fail(PV_ERR_CONFIG, "%s: %s", keyfile, err);
	(void)snprintf(dir, sizeof(dir), "%s/secrets", argv[first]);
	if ((n = scandir(dir, &ents, NULL, alphasort)) < 0) {
		rec_key_free(k);
		return ctl_fail(
		    PV_ERR_NOT_FOUND, "%s: no sealed secrets there", dir);
	}
	for (i = 0; i < n; i++) {
		struct rec_reader *r = NULL;
		struct rec_event ev;
		json_t *h = NULL;
		const char *nm = ents[i]->d_name;
		int rr;

		if (nm[0] == '.' || strstr(nm, ".pvrec") == NULL)
			goto next;
		(void)snprintf(path, sizeof(path), "%s/%s", dir, nm);
		if (rec_reader_open(&r, path) != 0 ||
		    rec_reader_unlock(r, k) != 0) {
			fprintf(stderr, "provostctl: %s: %s\n", path,
			    r != NULL ? rec_reader_error(r) : "cannot open");
			bad = 1;
			rec_reader_free(r);
			goto next;
		}
		h = json_loads(rec_reader_header_json(r), 0, NULL);
		printf("%s: ",
		    json_string_value(json_object_get(h, "target")) != NULL
			? json_string_value(json_object_get(h, "target"))
			: nm);
		while ((rr = rec_reader_next(r, &ev)) == 1)
			if (ev.type == REC_EV_OUTPUT)
				(void)fwrite(ev.data, 1, ev.len, stdout);
		printf("\n");
		if (rr != 0) {
			fprintf(stderr, "provostctl: %s: %s\n", path,
			    rec_reader_error(r));
			bad = 1;
		}
		shown++;
		json_decref(h);
		rec_reader_free(r);
next:
		free(ents[i]);
	}
	free(ents);
	rec_key_free(k);
	if (shown > 0)
		fprintf(stderr,
		    "provostctl: %d secret%s above in clear: keep this "
		    "terminal private\n",
		    shown, shown == 1 ? "" : "s");
	return bad ? CTL_EXIT_TAMPERED : 0;
}
