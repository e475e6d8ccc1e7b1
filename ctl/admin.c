/*
 * admin.c: provostctl's inventory commands: providers, engineers (keys,
 * TOTP enrolment, disable), approvers and targets (add, import, list).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <liboath/oath.h>
#ifdef HAVE_QRENCODE
#include <qrencode.h>
#endif

#include "ctl/ctl.h"

int
ctl_cmd_provider_add(struct ctl *c, int argc, char **argv)
{
	const char *start = NULL, *end = NULL;
	const struct ctl_opt opts[] = {
		{ "contract-start", 1, &start, NULL },
		{ "contract-end", 1, &end, NULL },
		{ NULL, 0, NULL, NULL },
	};
	int64_t s = 0, e = 0, now = pv_wall_ms() / 1000;
	int r;
	PARSE("provider", "add", opts);

	if (argc - first != 1)
		return ctl_usage(cmd, "one provider name please");
	if ((start != NULL && ctl_parse_time(start, now, &s) != 0) ||
	    (end != NULL && ctl_parse_time(end, now, &e) != 0))
		return ctl_usage(cmd, "contract dates: YYYY-MM-DD or RFC 3339");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_provider_add(c->st, c->actor, argv[first], s, e)) != 0)
		return STORE_FAIL(r);
	if (!c->json)
		printf("provider %s added\n", argv[first]);
	else
		return ctl_print_json(
		    json_pack("{s:s}", "provider", argv[first]));
	return 0;
}

/* Lists collect JSON into an array through this context. */
struct list_ctx {
	struct ctl *c;
	json_t *arr;
	int n;
};

static int
provider_cb(void *ctx, const struct store_provider *p)
{
	struct list_ctx *l = ctx;
	char a[32];

	l->n++;
	if (l->arr != NULL)
		return json_array_append_new(l->arr, store_provider_json(p)) !=
		    0;
	printf("%-20s %-8s %-10d %s\n", p->name,
	    p->revoked_at ? "revoked" : store_provider_status_name(p->status),
	    p->engineers, ctl_time(p->contract_end, a, sizeof(a)));
	return 0;
}

int
ctl_cmd_provider_list(struct ctl *c, int argc, char **argv)
{
	struct list_ctx l = { .c = c };
	int r;
	PARSE("provider", "list", NULL);

	if (argc != first)
		return ctl_usage(cmd, "no arguments please");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if (c->json && (l.arr = json_array()) == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	if (!c->json)
		printf("%-20s %-8s %-10s %s\n", "NAME", "STATUS", "ENGINEERS",
		    "CONTRACT-END");
	if ((r = store_provider_list(c->st, provider_cb, &l)) != 0) {
		json_decref(l.arr);
		return STORE_FAIL(r);
	}
	return c->json ? ctl_print_json(l.arr) : 0;
}

int
ctl_cmd_provider_show(struct ctl *c, int argc, char **argv)
{
	struct store_provider *p;
	char a[32], b[32];
	int r;
	PARSE("provider", "show", NULL);

	if (argc - first != 1)
		return ctl_usage(cmd, "one provider name please");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_provider_get(c->st, argv[first], &p)) != 0)
		return STORE_FAIL(r);
	if (c->json)
		rc = ctl_print_json(store_provider_json(p));
	else {
		printf("name:           %s\n", p->name);
		printf("status:         %s%s\n",
		    store_provider_status_name(p->status),
		    p->revoked_at ? " (revoked)" : "");
		printf("contract:       %s .. %s\n",
		    ctl_time(p->contract_start, a, sizeof(a)),
		    ctl_time(p->contract_end, b, sizeof(b)));
		printf("engineers:      %d\n", p->engineers);
		printf("created:        %s\n",
		    ctl_time(p->created_at, a, sizeof(a)));
	}
	store_provider_free(p);
	return rc;
}

/* A clearance or classification must be a level of the policy, if any. */
static int
check_level(struct ctl *c, const char *what, const char *level)
{
	int rc;

	if ((rc = ctl_load_policy(c, 0)) != 0)
		return rc;
	if (c->pol != NULL && policy_level_rank(c->pol, level) < 0)
		return ctl_fail(PV_ERR_INVALID, "%s %s is not a level of %s",
		    what, level, c->cfg->policy_file);
	return 0;
}

int
ctl_cmd_engineer_add(struct ctl *c, int argc, char **argv)
{
	const char *provider = NULL, *clearance = NULL;
	const struct ctl_opt opts[] = {
		{ "provider", 1, &provider, NULL },
		{ "clearance", 1, &clearance, NULL },
		{ NULL, 0, NULL, NULL },
	};
	int r;
	PARSE("engineer", "add", opts);

	if (argc - first != 1 || provider == NULL)
		return ctl_usage(cmd, "LOGIN and --provider are required");
	if (clearance != NULL &&
	    (rc = check_level(c, "clearance", clearance)) != 0)
		return rc;
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_engineer_add(
		 c->st, c->actor, argv[first], provider, clearance)) != 0)
		return STORE_FAIL(r);
	if (c->json)
		return ctl_print_json(json_pack("{s:s, s:s, s:s?}", "login",
		    argv[first], "provider", provider, "clearance", clearance));
	printf("engineer %s added (provider %s)\n", argv[first], provider);
	return 0;
}

static int
engineer_cb(void *ctx, const struct store_engineer *e)
{
	struct list_ctx *l = ctx;

	l->n++;
	if (l->arr != NULL)
		return json_array_append_new(l->arr, store_engineer_json(e)) !=
		    0;
	printf("%-20s %-16s %-14s %-4d %-4s %s\n", e->login, e->provider,
	    e->clearance ? e->clearance : "-", e->keys,
	    e->has_totp ? "yes" : "no",
	    e->disabled_at            ? "disabled"
		: e->provider_blocked ? "provider-blocked"
				      : "active");
	return 0;
}

int
ctl_cmd_engineer_list(struct ctl *c, int argc, char **argv)
{
	const char *provider = NULL;
	const struct ctl_opt opts[] = {
		{ "provider", 1, &provider, NULL },
		{ NULL, 0, NULL, NULL },
	};
	struct list_ctx l = { .c = c };
	int r;
	PARSE("engineer", "list", opts);

	if (argc != first)
		return ctl_usage(cmd, "no arguments please");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if (c->json && (l.arr = json_array()) == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	if (!c->json)
		printf("%-20s %-16s %-14s %-4s %-4s %s\n", "LOGIN", "PROVIDER",
		    "CLEARANCE", "KEYS", "TOTP", "STATE");
	if ((r = store_engineer_list(c->st, provider, engineer_cb, &l)) != 0) {
		json_decref(l.arr);
		return STORE_FAIL(r);
	}
	return c->json ? ctl_print_json(l.arr) : 0;
}

static int
key_cb(void *ctx, const struct store_key *k)
{
	json_t *arr = ctx;

	return json_array_append_new(arr,
		   json_pack("{s:s, s:s, s:s?, s:I}", "type", k->type,
		       "fingerprint", k->fingerprint, "comment", k->comment,
		       "added_at", (json_int_t)k->added_at)) != 0;
}

int
ctl_cmd_engineer_show(struct ctl *c, int argc, char **argv)
{
	struct store_engineer *e;
	json_t *j, *keys;
	char a[32];
	size_t i;
	uint32_t fails = 0;
	int64_t locked = 0;
	int r;
	PARSE("engineer", "show", NULL);

	if (argc - first != 1)
		return ctl_usage(cmd, "one login please");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_engineer_get_by_login(c->st, argv[first], &e)) != 0)
		return STORE_FAIL(r);
	j = store_engineer_json(e);
	keys = json_array();
	store_engineer_free(e);
	if (j == NULL || keys == NULL ||
	    (r = store_engineer_key_list(c->st, argv[first], key_cb, keys)) !=
		0) {
		json_decref(j);
		json_decref(keys);
		return STORE_FAIL(r ? r : PV_ERR_ALLOC);
	}
	if ((r = store_engineer_lock_state(
		 c->st, argv[first], &fails, &locked)) != 0) {
		json_decref(j);
		json_decref(keys);
		return STORE_FAIL(r);
	}
	json_object_set_new(j, "wrong_codes", json_integer((json_int_t)fails));
	json_object_set_new(j, "locked_until",
	    locked == STORE_LOCK_FOREVER ? json_string("until unlocked")
		: locked > (int64_t)time(NULL)
		? json_integer((json_int_t)locked)
		: json_null());
	if (c->json) {
		json_object_set_new(j, "public_keys", keys);
		return ctl_print_json(j);
	}
	printf(
	    "login:      %s\n", json_string_value(json_object_get(j, "login")));
	printf("provider:   %s\n",
	    json_string_value(json_object_get(j, "provider")));
	printf("clearance:  %s\n",
	    json_is_string(json_object_get(j, "clearance"))
		? json_string_value(json_object_get(j, "clearance"))
		: "-");
	printf("state:      %s\n",
	    json_integer_value(json_object_get(j, "disabled_at")) ? "disabled"
		: json_is_true(json_object_get(j, "provider_blocked"))
		? "provider-blocked"
		: "active");
	printf("totp:       %s\n",
	    json_is_true(json_object_get(j, "totp")) ? "enrolled" : "none");
	if (locked == STORE_LOCK_FOREVER)
		printf("locked:     until an admin unlocks (%u wrong codes)\n",
		    fails);
	else if (locked > (int64_t)time(NULL))
		printf("locked:     until %s (%u wrong codes)\n",
		    ctl_time(locked, a, sizeof(a)), fails);
	else if (fails > 0)
		printf("locked:     no (%u wrong codes in a row)\n", fails);
	printf("created:    %s\n",
	    ctl_time(json_integer_value(json_object_get(j, "created_at")), a,
		sizeof(a)));
	for (i = 0; i < json_array_size(keys); i++)
		printf("key:        %s %s\n",
		    json_string_value(
			json_object_get(json_array_get(keys, i), "type")),
		    json_string_value(json_object_get(
			json_array_get(keys, i), "fingerprint")));
	json_decref(j);
	json_decref(keys);
	return 0;
}

/*
 * Who signs in with a key and a code: engineers and approvers share
 * these commands, which differ only in the store calls and the names.
 */
struct who {
	const char *noun;  /* "login", "name": the JSON field */
	const char *label; /* otpauth label prefix */
	int (*key_add)(struct store *st, const char *actor, const char *name,
	    const char *line, char **fingerprint);
	int (*totp_set)(struct store *st, const char *actor, const char *name,
	    const uint8_t *secret, size_t len);
};
static const struct who who_engineer = {
	.noun = "login",
	.label = "provost:",
	.key_add = store_engineer_key_add,
	.totp_set = store_totp_set,
};
static const struct who who_approver = {
	.noun = "name",
	.label = "provost:approver.",
	.key_add = store_approver_key_add,
	.totp_set = store_approver_totp_set,
};

static int
key_add(struct ctl *c, const struct ctl_cmd *cmd, const struct who *w,
    const char *name, const char *file)
{
	char *line = NULL, *fp = NULL;
	int r, rc;

	(void)cmd;
	if ((r = ctl_read_line_file(file, &line)) != 0)
		return ctl_fail(r, "%s: %s", file,
		    r == PV_ERR_INVALID ? "not a single public key line"
					: pv_err_str(r));
	if ((rc = ctl_open_store(c)) != 0)
		goto out;
	if ((r = w->key_add(c->st, c->actor, name, line, &fp)) != 0) {
		rc = STORE_FAIL(r);
		goto out;
	}
	if (c->json)
		rc = ctl_print_json(
		    json_pack("{s:s, s:s}", w->noun, name, "fingerprint", fp));
	else
		printf("key %s added for %s\n", fp, name);
out:
	free(line);
	free(fp);
	return rc;
}

int
ctl_cmd_engineer_key_add(struct ctl *c, int argc, char **argv)
{
	PARSE("engineer", "key add", NULL);

	if (argc - first != 2)
		return ctl_usage(cmd, "LOGIN and FILE.pub please");
	return key_add(c, cmd, &who_engineer, argv[first], argv[first + 1]);
}

int
ctl_cmd_approver_key_add(struct ctl *c, int argc, char **argv)
{
	PARSE("approver", "key add", NULL);

	if (argc - first != 2)
		return ctl_usage(cmd, "NAME and FILE.pub please");
	return key_add(c, cmd, &who_approver, argv[first], argv[first + 1]);
}

int
ctl_cmd_approver_key_list(struct ctl *c, int argc, char **argv)
{
	json_t *keys;
	size_t i;
	int r;
	PARSE("approver", "key list", NULL);

	if (argc - first != 1)
		return ctl_usage(cmd, "one approver name please");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((keys = json_array()) == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	if ((r = store_approver_key_list(c->st, argv[first], key_cb, keys)) !=
	    0) {
		json_decref(keys);
		return STORE_FAIL(r);
	}
	if (c->json)
		return ctl_print_json(keys);
	for (i = 0; i < json_array_size(keys); i++) {
		json_t *k = json_array_get(keys, i);
		const char *cm =
		    json_string_value(json_object_get(k, "comment"));

		printf("%s %s%s%s\n",
		    json_string_value(json_object_get(k, "type")),
		    json_string_value(json_object_get(k, "fingerprint")),
		    cm ? " " : "", cm ? cm : "");
	}
	json_decref(keys);
	return 0;
}

int
ctl_cmd_approver_key_remove(struct ctl *c, int argc, char **argv)
{
	int r;
	PARSE("approver", "key remove", NULL);

	if (argc - first != 2)
		return ctl_usage(cmd, "NAME and the key's SHA256:... please");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_approver_key_remove(
		 c->st, c->actor, argv[first], argv[first + 1])) != 0)
		return STORE_FAIL(r);
	printf("key %s of %s removed\n", argv[first + 1], argv[first]);
	return 0;
}

#ifdef HAVE_QRENCODE
/* Two modules per character cell with half blocks, quiet zone of 2. */
static void
print_qr(const char *text)
{
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	int x, y, w;

	if (q == NULL)
		return;
	w = q->width;
	for (y = -2; y < w + 2; y += 2) {
		for (x = -2; x < w + 2; x++) {
			int top = y >= 0 && y < w && x >= 0 && x < w &&
			    (q->data[y * w + x] & 1);
			int bot = y + 1 >= 0 && y + 1 < w && x >= 0 && x < w &&
			    (q->data[(y + 1) * w + x] & 1);

			/* Dark modules print as spaces on a light field. */
			fputs(top && bot ? " "
				: top    ? "\xe2\x96\x84"
				: bot    ? "\xe2\x96\x80"
					 : "\xe2\x96\x88",
			    stdout);
		}
		fputc('\n', stdout);
	}
	QRcode_free(q);
}
#endif

static int
totp_enrol(struct ctl *c, const struct who *w, const char *name, int qr)
{
	uint8_t secret[STORE_TOTP_SECRET_LEN];
	char path[4096], *b32 = NULL, *uri = NULL;
	size_t b32len = 0;
	int r, rc;

	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = ctl_state_path(c, "totp.key", path, sizeof(path))) != 0 ||
	    (r = store_totp_key_load(c->st, path)) != 0)
		return ctl_fail(r, "%s", store_errmsg(c->st));
	if ((r = pv_random_bytes(secret, sizeof(secret))) != 0)
		return ctl_fail(r, "no randomness");
	if (oath_base32_encode((const char *)secret, sizeof(secret), &b32,
		&b32len) != OATH_OK) {
		PV_WIPE(secret);
		return ctl_fail(PV_ERR_INTERNAL, "base32 encoding failed");
	}
	if ((r = w->totp_set(c->st, c->actor, name, secret, sizeof(secret))) !=
	    0) {
		rc = STORE_FAIL(r);
		goto out;
	}
	if (asprintf(&uri,
		"otpauth://totp/%s%s?secret=%s&issuer=provost&"
		"algorithm=SHA1&digits=6&period=%d",
		w->label, name, b32, STORE_TOTP_STEP) < 0) {
		uri = NULL;
		rc = ctl_fail(PV_ERR_ALLOC, "out of memory");
		goto out;
	}
	if (c->json) {
		rc = ctl_print_json(
		    json_pack("{s:s, s:s}", w->noun, name, "uri", uri));
		goto out;
	}
	printf("%s\n", uri);
#ifdef HAVE_QRENCODE
	if (qr || isatty(STDOUT_FILENO))
		print_qr(uri);
#else
	if (qr)
		fprintf(stderr,
		    "provostctl: built without libqrencode: no QR "
		    "code\n");
#endif
	fprintf(stderr,
	    "provostctl: TOTP enrolled for %s; this secret is not shown "
	    "again\n",
	    name);
	rc = 0;
out:
	PV_WIPE(secret);
	if (b32 != NULL)
		pv_secret_freestr(b32);
	if (uri != NULL)
		pv_secret_freestr(uri);
	return rc;
}

int
ctl_cmd_engineer_totp(struct ctl *c, int argc, char **argv)
{
	int qr = 0;
	const struct ctl_opt opts[] = {
		{ "qr", 0, NULL, &qr },
		{ NULL, 0, NULL, NULL },
	};
	PARSE("engineer", "totp", opts);

	if (argc - first != 1)
		return ctl_usage(cmd, "one login please");
	return totp_enrol(c, &who_engineer, argv[first], qr);
}

int
ctl_cmd_approver_unlock(struct ctl *c, int argc, char **argv)
{
	const char *why = NULL;
	const struct ctl_opt opts[] = {
		{ "reason", 1, &why, NULL },
		{ NULL, 0, NULL, NULL },
	};
	int r;
	PARSE("approver", "unlock", opts);

	if (argc - first != 1)
		return ctl_usage(cmd, "one approver name please");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_approver_unlock(c->st, c->actor, argv[first], why)) != 0)
		return STORE_FAIL(r);
	printf("approver %s unlocked\n", argv[first]);
	return 0;
}

int
ctl_cmd_approver_totp(struct ctl *c, int argc, char **argv)
{
	int qr = 0;
	const struct ctl_opt opts[] = {
		{ "qr", 0, NULL, &qr },
		{ NULL, 0, NULL, NULL },
	};
	PARSE("approver", "totp", opts);

	if (argc - first != 1)
		return ctl_usage(cmd, "one approver name please");
	return totp_enrol(c, &who_approver, argv[first], qr);
}

int
ctl_cmd_engineer_disable(struct ctl *c, int argc, char **argv)
{
	const char *why = NULL;
	const struct ctl_opt opts[] = {
		{ "reason", 1, &why, NULL },
		{ NULL, 0, NULL, NULL },
	};
	int r;
	PARSE("engineer", "disable", opts);

	if (argc - first != 1)
		return ctl_usage(cmd, "one login please");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_engineer_disable(c->st, c->actor, argv[first], why)) !=
	    0)
		return STORE_FAIL(r);
	if ((rc = ctl_revlist_refresh(c)) != 0)
		return rc;
	if (!c->json)
		printf("engineer %s disabled\n", argv[first]);
	else
		return ctl_print_json(json_pack(
		    "{s:s, s:s}", "login", argv[first], "state", "disabled"));
	return 0;
}

int
ctl_cmd_engineer_unlock(struct ctl *c, int argc, char **argv)
{
	const char *why = NULL;
	const struct ctl_opt opts[] = {
		{ "reason", 1, &why, NULL },
		{ NULL, 0, NULL, NULL },
	};
	int r;
	PARSE("engineer", "unlock", opts);

	if (argc - first != 1)
		return ctl_usage(cmd, "one login please");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_engineer_unlock(c->st, c->actor, argv[first], why)) != 0)
		return STORE_FAIL(r);
	if (!c->json)
		printf("engineer %s unlocked: wrong codes forgotten\n",
		    argv[first]);
	else
		return ctl_print_json(json_pack(
		    "{s:s, s:s}", "login", argv[first], "state", "unlocked"));
	return 0;
}

int
ctl_cmd_approver_add(struct ctl *c, int argc, char **argv)
{
	const char *group = NULL, *eng = NULL;
	struct store_engineer *e = NULL;
	int other = 0;
	const struct ctl_opt opts[] = {
		{ "group", 1, &group, NULL },
		{ "engineer", 1, &eng, NULL },
		{ "not-engineer", 0, NULL, &other },
		{ NULL, 0, NULL, NULL },
	};
	int r;
	PARSE("approver", "add", opts);

	if (argc - first != 1 || group == NULL)
		return ctl_usage(cmd, "NAME and --group are required");
	if (eng != NULL && other)
		return ctl_usage(
		    cmd, "--engineer and --not-engineer contradict each other");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	/*
	 * An approver named like an engineer: the same person (who must never
	 * approve their own requests) or another?  The admin says which.
	 */
	if (eng == NULL && !other &&
	    store_engineer_get_by_login(c->st, argv[first], &e) == 0) {
		store_engineer_free(e);
		return ctl_fail(PV_ERR_INVALID,
		    "%s is also an engineer's login: say --engineer %s if "
		    "they are the same person (they will never approve "
		    "their own requests), or --not-engineer if not",
		    argv[first], argv[first]);
	}
	if ((r = store_approver_add(
		 c->st, c->actor, argv[first], group, eng)) != 0)
		return STORE_FAIL(r);
	if (c->json)
		return ctl_print_json(json_pack("{s:s, s:s, s:s?}", "name",
		    argv[first], "group", group, "engineer", eng));
	printf("approver %s added to group %s\n", argv[first], group);
	return 0;
}

static int
approver_cb(void *ctx, const struct store_approver *a)
{
	struct list_ctx *l = ctx;

	if (l->arr != NULL)
		return json_array_append_new(l->arr,
			   json_pack("{s:s, s:s, s:s?}", "name", a->name,
			       "group", a->group, "engineer", a->engineer)) !=
		    0;
	printf("%-20s %-16s %s\n", a->name, a->group,
	    a->engineer ? a->engineer : "-");
	return 0;
}

int
ctl_cmd_approver_list(struct ctl *c, int argc, char **argv)
{
	struct list_ctx l = { .c = c };
	int r;
	PARSE("approver", "list", NULL);

	if (argc != first)
		return ctl_usage(cmd, "no arguments please");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if (c->json && (l.arr = json_array()) == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	if (!c->json)
		printf("%-20s %-16s %s\n", "NAME", "GROUP", "ENGINEER");
	if ((r = store_approver_list(c->st, approver_cb, &l)) != 0) {
		json_decref(l.arr);
		return STORE_FAIL(r);
	}
	return c->json ? ctl_print_json(l.arr) : 0;
}
