/*
 * exit.c: provostctl provider exit NAME --dry-run: the plan of a
 * provider's exit (DESIGN.md "Exit at contract end"), read-only.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

#define NO_HOOK "no rotation hook (no RotationHook line for its kind)"

/*
 * The plan is built as one JSON object (printed as is with --json) and
 * rendered as text from it, so both say the same.
 */
struct plan {
	struct ctl *c;
	json_t *root;
	json_t *engineers; /* login -> engineer object */
	json_t *sweep;     /* target name -> true */
	json_t *unresolved;
	int64_t now;
	int err;
};

/* e[k] += 1 */
static int
bump(struct plan *p, json_t *e, const char *k)
{
	if (json_object_set_new(e, k,
		json_integer(json_integer_value(json_object_get(e, k)) + 1)) !=
	    0) {
		p->err = PV_ERR_ALLOC;
		return 1;
	}
	return 0;
}

static json_t *
eng_of(struct plan *p, const char *login)
{
	return login != NULL ? json_object_get(p->engineers, login) : NULL;
}

static int
plan_engineer(void *ctx, const struct store_engineer *e)
{
	struct plan *p = ctx;
	json_t *o = json_pack("{s:s, s:b, s:i, s:b, s:[], s:[], s:[], s:[], "
			      "s:i, s:i, s:{}, s:i}",
	    "login", e->login, "disabled", e->disabled_at != 0, "keys", e->keys,
	    "totp", e->has_totp, "grants", "requests", "serials", "tokens",
	    "sessions", 0, "live_sessions", 0, "targets",
	    "unexpired_credentials", 0);

	if (o == NULL || json_object_set_new(p->engineers, e->login, o) != 0) {
		p->err = PV_ERR_ALLOC;
		return 1;
	}
	return 0;
}

static int
plan_grant(void *ctx, const struct store_grant *g)
{
	struct plan *p = ctx;
	json_t *e = eng_of(p, g->engineer), *o;
	int pending = g->state == STORE_GRANT_PENDING;

	if (e == NULL ||
	    (g->state != STORE_GRANT_PENDING && g->state != STORE_GRANT_ACTIVE))
		return 0;
	o = json_pack("{s:s, s:s, s:s, s:s?, s:I, s:I}", "id", g->id, "target",
	    g->target, "account", g->account, "ticket", g->ticket,
	    pending ? "requested_at" : "not_after",
	    (json_int_t)(pending ? g->requested_at : g->not_after), "approvals",
	    (json_int_t)g->approvals);
	if (o == NULL ||
	    json_array_append_new(
		json_object_get(e, pending ? "requests" : "grants"), o) != 0) {
		p->err = PV_ERR_ALLOC;
		return 1;
	}
	return 0;
}

static int
plan_cred(void *ctx, const struct store_credential *cr)
{
	struct plan *p = ctx;
	json_t *e = eng_of(p, cr->engineer);
	const char *k = cr->kind == STORE_CRED_TOKEN ? "tokens" : "serials";

	if (e == NULL)
		return 0;
	if (json_array_append_new(json_object_get(e, k),
		json_integer((json_int_t)cr->serial)) != 0) {
		p->err = PV_ERR_ALLOC;
		return 1;
	}
	if (cr->revoked_at == 0 && cr->valid_before > p->now)
		return bump(p, e, "unexpired_credentials");
	return 0;
}

static int
plan_session(void *ctx, const struct store_session *s)
{
	struct plan *p = ctx;
	json_t *e = eng_of(p, s->engineer), *accts;

	if (e == NULL)
		return 0;
	if (bump(p, e, "sessions") != 0 ||
	    (s->state == STORE_SESSION_OPEN &&
		bump(p, e, "live_sessions") != 0))
		return 1;
	if ((accts = json_object_get(
		 json_object_get(e, "targets"), s->target)) == NULL) {
		if ((accts = json_object()) == NULL ||
		    json_object_set_new(
			json_object_get(e, "targets"), s->target, accts) != 0) {
			p->err = PV_ERR_ALLOC;
			return 1;
		}
	}
	if (json_object_set_new(accts, s->account, json_true()) != 0 ||
	    json_object_set_new(p->sweep, s->target, json_true()) != 0) {
		p->err = PV_ERR_ALLOC;
		return 1;
	}
	return 0;
}

static int
unresolved(struct plan *p, const char *item, const char *why)
{
	if (json_array_append_new(p->unresolved,
		json_pack("{s:s, s:s}", "item", item, "why", why)) != 0) {
		p->err = PV_ERR_ALLOC;
		return 1;
	}
	return 0;
}

static const char *
plan_hook(const struct plan *p, const char *kind)
{
	size_t i;

	for (i = 0; i < p->c->cfg->nhooks; i++)
		if (strcmp(p->c->cfg->hooks[i].kind, kind) == 0)
			return p->c->cfg->hooks[i].program;
	return NULL;
}

static int
plan_exposure(void *ctx, const struct store_exposure *x)
{
	struct plan *p = ctx;
	const char *hook = plan_hook(p, x->kind);
	char where[512], item[1600];
	json_t *j;

	if ((j = ctl_exposure_json(x)) == NULL ||
	    json_object_set_new(j, "rotation",
		hook != NULL ? json_string(hook) : json_null()) != 0 ||
	    json_object_set_new(j, "unresolved",
		hook != NULL ? json_null() : json_string(NO_HOOK)) != 0 ||
	    json_array_append_new(json_object_get(p->root, "exposures"), j) !=
		0) {
		p->err = PV_ERR_ALLOC;
		return 1;
	}
	if (x->target != NULL &&
	    json_object_set_new(p->sweep, x->target, json_true()) != 0) {
		p->err = PV_ERR_ALLOC;
		return 1;
	}
	if (hook != NULL)
		return 0;
	(void)snprintf(item, sizeof(item), "exposure %s %s %s",
	    ctl_exposure_where(x, where, sizeof(where)), x->kind, x->reference);
	return unresolved(p, item, NO_HOOK);
}

static int
krl_count_serial(void *ctx, uint64_t serial)
{
	(void)serial;
	((size_t *)ctx)[0]++;
	return 0;
}

static int
krl_count_key(void *ctx, const uint8_t *blob, size_t len)
{
	(void)blob;
	(void)len;
	((size_t *)ctx)[1]++;
	return 0;
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A set (object of keys) as a sorted array of its keys. */
static json_t *
set_array(json_t *set)
{
	const char **k;
	const char *key;
	json_t *arr, *v;
	size_t n = 0, i;

	if ((arr = json_array()) == NULL)
		return NULL;
	if (json_object_size(set) == 0)
		return arr;
	if ((k = calloc(json_object_size(set), sizeof(*k))) == NULL) {
		json_decref(arr);
		return NULL;
	}
	json_object_foreach(set, key, v)
	{
		(void)v;
		k[n++] = key;
	}
	qsort(k, n, sizeof(*k), key_cmp);
	for (i = 0; i < n; i++)
		if (json_array_append_new(arr, json_string(k[i])) != 0) {
			json_decref(arr);
			arr = NULL;
			break;
		}
	free(k);
	return arr;
}

/* 0 if the sweep can look at t, else why not. */
static int
plan_sweepable(struct ctl *c, const char *t, char *why, size_t len)
{
	char *acct = NULL, *root = NULL, *text = NULL;
	int64_t at;

	if (store_target_admin_get(c->st, t, &acct, &root) != 0) {
		(void)snprintf(why, len,
		    "no admin account: provostctl target admin %s", t);
		return -1;
	}
	free(acct);
	free(root);
	if (store_baseline_get(c->st, t, &text, &at) != 0) {
		(void)snprintf(why, len,
		    "no baseline to compare with: provostctl target baseline "
		    "%s",
		    t);
		return -1;
	}
	free(text);
	return 0;
}

/* The steps with their counts, and what cannot be done automatically. */
static int
plan_steps(struct plan *p, struct ctl *c, size_t krl[2])
{
	json_t *engs = json_object_get(p->root, "engineers"), *e, *sw;
	size_t i, n_eng = 0, n_req = 0, n_grant = 0, n_live = 0, n_sess = 0;
	size_t n_tok = 0, n_unexp = 0;
	const char *t;
	char item[300], why[300];

	for (i = 0; (e = json_array_get(engs, i)) != NULL; i++) {
		if (!json_is_true(json_object_get(e, "disabled")))
			n_eng++;
		n_req += json_array_size(json_object_get(e, "requests"));
		n_grant += json_array_size(json_object_get(e, "grants"));
		n_live += (size_t)json_integer_value(
		    json_object_get(e, "live_sessions"));
		n_sess +=
		    (size_t)json_integer_value(json_object_get(e, "sessions"));
		n_tok += json_array_size(json_object_get(e, "tokens"));
		n_unexp += (size_t)json_integer_value(
		    json_object_get(e, "unexpired_credentials"));
	}
	sw = json_object_get(p->root, "sweep");
	if (json_object_set_new(p->root, "steps",
		json_pack("[{s:s, s:i, s:i, s:i, s:i}, {s:s, s:i}, "
			  "{s:s, s:i, s:i, s:s?}, {s:s, s:i}, {s:s, s:i}, "
			  "{s:s, s:i, s:i}, {s:s, s:i}, {s:s}]",
		    "step", "freeze", "engineers", (int)n_eng,
		    "pending_requests", (int)n_req, "active_grants",
		    (int)n_grant, "unexpired_credentials", (int)n_unexp, "step",
		    "end-sessions", "live_sessions", (int)n_live, "step", "krl",
		    "serials", (int)krl[0], "keys", (int)krl[1],
		    "revocation_list", c->cfg->revocation_list, "step",
		    "rotate", "exposures",
		    (int)json_array_size(json_object_get(p->root, "exposures")),
		    "step", "sweep", "targets", (int)json_array_size(sw),
		    "step", "verify", "serials", (int)krl[0], "tokens",
		    (int)n_tok, "step", "evidence", "sessions", (int)n_sess,
		    "step", "certificate")) != 0)
		return PV_ERR_ALLOC;
	for (i = 0; (e = json_array_get(sw, i)) != NULL; i++) {
		t = json_string_value(e);
		(void)snprintf(item, sizeof(item), "sweep %s", t);
		if (plan_sweepable(c, t, why, sizeof(why)) != 0 &&
		    unresolved(p, item, why) != 0)
			return PV_ERR_ALLOC;
		(void)snprintf(item, sizeof(item), "krl push %s", t);
		if (unresolved(p, item,
			"the KRL is not pushed to targets yet: install the "
			"krl export file where its sshd RevokedKeys points") !=
		    0)
			return PV_ERR_ALLOC;
	}
	if (n_tok > 0 && c->cfg->revocation_list == NULL &&
	    unresolved(p, "pam revocation list",
		"RevocationList is not set: run revocations export for the "
		"pam-token targets") != 0)
		return PV_ERR_ALLOC;
	return p->err;
}

static const char *
serial_ranges(json_t *arr, char *buf, size_t len)
{
	size_t i, j, o = 0, n = json_array_size(arr);
	json_int_t a, b;
	int w;

	buf[0] = '\0';
	for (i = 0; i < n; i = j) {
		a = json_integer_value(json_array_get(arr, i));
		for (j = i + 1; j < n &&
		     json_integer_value(json_array_get(arr, j)) ==
			 json_integer_value(json_array_get(arr, j - 1)) + 1;
		     j++)
			;
		b = json_integer_value(json_array_get(arr, j - 1));
		w = a == b ? snprintf(buf + o, len - o, "%s%lld", o ? "," : "",
				 (long long)a)
			   : snprintf(buf + o, len - o, "%s%lld-%lld",
				 o ? "," : "", (long long)a, (long long)b);
		if (w < 0 || (size_t)w >= len - o) {
			/* too many to show: the count says it */
			(void)snprintf(buf, len, "(%zu)", n);
			return buf;
		}
		o += (size_t)w;
	}
	return n == 0 ? "-" : buf;
}

static const char *
join(json_t *arr, char *buf, size_t len)
{
	size_t i, o = 0;
	json_t *v;
	int w;

	buf[0] = '\0';
	for (i = 0; (v = json_array_get(arr, i)) != NULL; i++) {
		w = snprintf(buf + o, len - o, "%s%s", o ? ", " : "",
		    json_string_value(v));
		if (w < 0 || (size_t)w >= len - o)
			break;
		o += (size_t)w;
	}
	return o == 0 ? "-" : buf;
}

static void
plan_print(const struct plan *p)
{
	json_t *r = p->root, *e, *g, *v, *t;
	char buf[4096], tm[32];
	const char *key;
	size_t i, j;

	printf("exit plan for provider %s (dry run: nothing was changed)\n",
	    json_string_value(json_object_get(r, "provider")));
	printf("  status %s, contract end %s, engineers %zu, targets "
	       "touched %zu\n",
	    json_string_value(json_object_get(r, "status")),
	    ctl_time(json_integer_value(json_object_get(r, "contract_end")), tm,
		sizeof(tm)),
	    json_array_size(json_object_get(r, "engineers")),
	    json_array_size(json_object_get(r, "sweep")));
	for (i = 0;
	     (e = json_array_get(json_object_get(r, "engineers"), i)) != NULL;
	     i++) {
		printf("engineer %s (%s, %lld key%s, TOTP %s)\n",
		    json_string_value(json_object_get(e, "login")),
		    json_is_true(json_object_get(e, "disabled")) ? "disabled"
								 : "enabled",
		    (long long)json_integer_value(json_object_get(e, "keys")),
		    json_integer_value(json_object_get(e, "keys")) == 1 ? ""
									: "s",
		    json_is_true(json_object_get(e, "totp")) ? "enrolled"
							     : "none");
		for (j = 0; (g = json_array_get(
				 json_object_get(e, "grants"), j)) != NULL;
		     j++)
			printf("  grant     %s %s@%s active until %s\n",
			    json_string_value(json_object_get(g, "id")),
			    json_string_value(json_object_get(g, "account")),
			    json_string_value(json_object_get(g, "target")),
			    ctl_time(json_integer_value(
					 json_object_get(g, "not_after")),
				tm, sizeof(tm)));
		for (j = 0; (g = json_array_get(
				 json_object_get(e, "requests"), j)) != NULL;
		     j++)
			printf("  request   %s %s@%s pending since %s\n",
			    json_string_value(json_object_get(g, "id")),
			    json_string_value(json_object_get(g, "account")),
			    json_string_value(json_object_get(g, "target")),
			    ctl_time(json_integer_value(
					 json_object_get(g, "requested_at")),
				tm, sizeof(tm)));
		printf("  serials   %zu certificate%s: %s\n",
		    json_array_size(json_object_get(e, "serials")),
		    json_array_size(json_object_get(e, "serials")) == 1 ? ""
									: "s",
		    serial_ranges(
			json_object_get(e, "serials"), buf, sizeof(buf)));
		printf("  tokens    %zu PAM token%s: %s\n",
		    json_array_size(json_object_get(e, "tokens")),
		    json_array_size(json_object_get(e, "tokens")) == 1 ? ""
								       : "s",
		    serial_ranges(
			json_object_get(e, "tokens"), buf, sizeof(buf)));
		printf("  sessions  %lld (%lld live)\n",
		    (long long)json_integer_value(
			json_object_get(e, "sessions")),
		    (long long)json_integer_value(
			json_object_get(e, "live_sessions")));
		t = json_object_get(e, "targets");
		json_object_foreach(t, key, v)
		{
			printf("  target    %s as %s\n", key,
			    join(v, buf, sizeof(buf)));
		}
	}
	printf("steps\n");
	for (i = 0;
	     (g = json_array_get(json_object_get(r, "steps"), i)) != NULL;
	     i++) {
		printf("  %zu %-13s", i + 1,
		    json_string_value(json_object_get(g, "step")));
		json_object_foreach(g, key, v)
		{
			if (strcmp(key, "step") == 0)
				continue;
			if (json_is_string(v))
				printf(" %s %s", key, json_string_value(v));
			else if (json_is_null(v))
				printf(" %s not-set", key);
			else
				printf(" %s %lld", key,
				    (long long)json_integer_value(v));
		}
		printf("\n");
	}
	printf("exposures\n");
	for (i = 0;
	     (g = json_array_get(json_object_get(r, "exposures"), i)) != NULL;
	     i++)
		printf("  %s %s%s%s %s %s: %s\n",
		    json_string_value(json_object_get(g, "source")),
		    json_string_value(json_object_get(g, "account"))
			? json_string_value(json_object_get(g, "account"))
			: "",
		    json_string_value(json_object_get(g, "account")) ? "@" : "",
		    json_string_value(json_object_get(g, "target"))
			? json_string_value(json_object_get(g, "target"))
			: json_string_value(json_object_get(g, "system")),
		    json_string_value(json_object_get(g, "kind")),
		    json_string_value(json_object_get(g, "reference")),
		    json_string_value(json_object_get(g, "unresolved")));
	printf("sweep targets: %s\n",
	    join(json_object_get(r, "sweep"), buf, sizeof(buf)));
	printf("cannot be done automatically (%zu)\n",
	    json_array_size(json_object_get(r, "unresolved")));
	for (i = 0;
	     (g = json_array_get(json_object_get(r, "unresolved"), i)) != NULL;
	     i++)
		printf("  %s: %s\n",
		    json_string_value(json_object_get(g, "item")),
		    json_string_value(json_object_get(g, "why")));
}

/* root.engineers: the engineers in login order, their target sets as
 * sorted arrays. */
static int
engineers_sorted(struct plan *p)
{
	json_t *arr, *logins, *l, *e, *tset, *t, *tobj;
	const char *tn;
	size_t i;
	int r = PV_ERR_ALLOC;

	if ((arr = json_array()) == NULL)
		return PV_ERR_ALLOC;
	if (json_object_set_new(p->root, "engineers", arr) != 0 ||
	    (logins = set_array(p->engineers)) == NULL)
		return PV_ERR_ALLOC;
	for (i = 0; (l = json_array_get(logins, i)) != NULL; i++) {
		e = json_object_get(p->engineers, json_string_value(l));
		tset = json_object_get(e, "targets");
		if ((tobj = json_object()) == NULL)
			goto out;
		json_object_foreach(tset, tn, t)
		{
			if (json_object_set_new(tobj, tn, set_array(t)) != 0) {
				json_decref(tobj);
				goto out;
			}
		}
		if (json_object_set_new(e, "targets", tobj) != 0 ||
		    json_array_append(arr, e) != 0)
			goto out;
	}
	r = 0;
out:
	json_decref(logins);
	return r;
}

static int
plan_build(struct ctl *c, const char *name, struct plan *p)
{
	struct store_provider *pr = NULL;
	size_t krl[2] = { 0, 0 };
	json_t *e, *sw;
	const char *login;
	int r;

	if ((r = store_provider_get(c->st, name, &pr)) != 0)
		return STORE_FAIL(r);
	p->root =
	    json_pack("{s:s, s:s, s:b, s:I, s:I, s:b, s:[], s:[]}", "provider",
		pr->name, "status", store_provider_status_name(pr->status),
		"revoked", pr->revoked_at != 0, "contract_end",
		(json_int_t)pr->contract_end, "generated_at",
		(json_int_t)p->now, "dry_run", 1, "exposures", "unresolved");
	store_provider_free(pr);
	if (p->root == NULL || (p->engineers = json_object()) == NULL ||
	    (p->sweep = json_object()) == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	p->unresolved = json_object_get(p->root, "unresolved");
	if ((r = store_engineer_list(c->st, name, plan_engineer, p)) != 0 ||
	    p->err != 0)
		goto fail;
	json_object_foreach(p->engineers, login, e)
	{
		if ((r = store_grant_list(c->st, login, STORE_GRANTS_CURRENT,
			 p->now, plan_grant, p)) != 0 ||
		    p->err != 0)
			goto fail;
	}
	if ((r = store_credential_list(c->st, name, plan_cred, p)) != 0 ||
	    p->err != 0 ||
	    (r = store_session_list(c->st, 0, plan_session, p)) != 0 ||
	    p->err != 0 ||
	    (r = store_exposure_list(c->st, name, plan_exposure, p)) != 0 ||
	    p->err != 0 ||
	    (r = store_krl_list(
		 c->st, name, krl_count_serial, krl_count_key, krl)) != 0)
		goto fail;
	/* Sets become sorted arrays; engineers in login order. */
	if ((r = engineers_sorted(p)) != 0)
		return ctl_fail(r, "out of memory");
	if ((sw = set_array(p->sweep)) == NULL ||
	    json_object_set_new(p->root, "sweep", sw) != 0 ||
	    json_object_set_new(p->root, "krl",
		json_pack("{s:I, s:I}", "serials", (json_int_t)krl[0], "keys",
		    (json_int_t)krl[1])) != 0 ||
	    plan_steps(p, c, krl) != 0)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	return 0;
fail:
	if (p->err != 0)
		return ctl_fail(p->err, "out of memory");
	return STORE_FAIL(r);
}

int
ctl_cmd_provider_exit(struct ctl *c, int argc, char **argv)
{
	const char *contract_end = NULL, *erasure = NULL;
	int dry = 0, resume = 0, reverify = 0;
	const struct ctl_opt opts[] = {
		{ "dry-run", 0, NULL, &dry },
		{ "resume", 0, NULL, &resume },
		{ "reverify", 0, NULL, &reverify },
		{ "contract-end", 1, &contract_end, NULL },
		{ "erasure-certificate", 1, &erasure, NULL },
		{ NULL, 0, NULL, NULL },
	};
	struct plan p = { .now = pv_wall_ms() / 1000, .c = NULL };
	struct ctl_exit_opts o = { .provider = NULL };
	PARSE("provider", "exit", opts);

	if (argc - first != 1)
		return ctl_usage(cmd, "one provider name please");
	if (!store_name_valid(argv[first]))
		return ctl_usage(cmd, "not a valid provider name");
	if (dry && (resume || reverify || erasure != NULL))
		return ctl_usage(cmd,
		    "--dry-run changes nothing: it takes no "
		    "--resume, --reverify or "
		    "--erasure-certificate");
	if (resume && reverify)
		return ctl_usage(cmd, "--resume or --reverify, not both");
	if (contract_end != NULL &&
	    ctl_parse_time(contract_end, p.now, &o.contract_end) != 0)
		return ctl_usage(cmd, "--contract-end: not a time");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if (!dry) {
		o.provider = argv[first];
		o.erasure = erasure;
		o.resume = resume;
		o.reverify = reverify;
		return ctl_exit_run(c, &o);
	}
	p.c = c;
	rc = plan_build(c, argv[first], &p);
	json_decref(p.engineers);
	json_decref(p.sweep);
	if (rc != 0) {
		json_decref(p.root);
		return rc;
	}
	if (c->json)
		return ctl_print_json(p.root);
	plan_print(&p);
	json_decref(p.root);
	return 0;
}
