/*
 * targets.c: provostctl target add, import (a CMDB's JSON inventory),
 * list, show and set (the region).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl/ctl.h"

#define IMPORT_MAX (64UL * 1024 * 1024)

/* The policy's levels as a NULL-terminated list, or NULL without one. */
static const char **
policy_levels(struct ctl *c)
{
	const char **lv;
	size_t i, n;

	if (c->pol == NULL)
		return NULL;
	n = policy_level_count(c->pol);
	if ((lv = calloc(n + 1, sizeof(*lv))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		lv[i] = policy_level_name(c->pol, i);
	return lv;
}

int
ctl_cmd_target_add(struct ctl *c, int argc, char **argv)
{
	const char *host = NULL, *port = NULL, *cls = NULL, *accts = NULL,
		   *hkfile = NULL, *auth = NULL, *region = NULL;
	const struct ctl_opt opts[] = {
		{ "host", 1, &host, NULL },
		{ "port", 1, &port, NULL },
		{ "classification", 1, &cls, NULL },
		{ "accounts", 1, &accts, NULL },
		{ "hostkey", 1, &hkfile, NULL },
		{ "auth", 1, &auth, NULL },
		{ "region", 1, &region, NULL },
		{ NULL, 0, NULL, NULL },
	};
	const char *list[STORE_ACCOUNTS_MAX];
	struct store_target_spec t = { 0 };
	char *acc = NULL, *hk = NULL, *tok, *save = NULL;
	uint32_t p = 22;
	int r;
	PARSE("target", "add", opts);

	if (argc - first != 1 || host == NULL || cls == NULL || accts == NULL ||
	    hkfile == NULL)
		return ctl_usage(cmd,
		    "NAME, --host, --classification, --accounts and --hostkey "
		    "are required");
	if (port != NULL && pv_parse_u32(port, 1, 65535, &p) != 0)
		return ctl_usage(cmd, "--port must be 1..65535");
	t.auth = STORE_AUTH_CERT;
	if (auth != NULL) {
		if (strcmp(auth, "pam-token") == 0)
			t.auth = STORE_AUTH_PAM_TOKEN;
		else if (strcmp(auth, "cert") != 0)
			return ctl_usage(cmd, "--auth is cert or pam-token");
	}
	if ((rc = ctl_load_policy(c, 0)) != 0)
		return rc;
	if (c->pol != NULL && policy_level_rank(c->pol, cls) < 0)
		return ctl_fail(PV_ERR_INVALID,
		    "classification %s is not a level of %s", cls,
		    c->cfg->policy_file);
	if ((r = ctl_read_line_file(hkfile, &hk)) != 0)
		return ctl_fail(r, "%s: %s", hkfile,
		    r == PV_ERR_INVALID ? "not a single public key line"
					: pv_err_str(r));
	if ((acc = strdup(accts)) == NULL) {
		rc = ctl_fail(PV_ERR_ALLOC, "out of memory");
		goto out;
	}
	for (tok = strtok_r(acc, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (t.naccounts == STORE_ACCOUNTS_MAX) {
			rc = ctl_usage(cmd, "too many accounts");
			goto out;
		}
		list[t.naccounts++] = tok;
	}
	t.name = argv[first];
	t.host = host;
	t.port = p;
	t.classification = cls;
	t.hostkey = hk;
	t.accounts = list;
	t.region = region;
	if ((rc = ctl_open_store(c)) != 0)
		goto out;
	if ((r = store_target_add(c->st, c->actor, &t)) != 0) {
		rc = ctl_fail(r, "target %s: %s", t.name, store_errmsg(c->st));
		goto out;
	}
	if (c->json)
		rc = ctl_print_json(json_pack("{s:s}", "target", t.name));
	else
		printf("target %s added (%s:%u, %s)\n", t.name, host,
		    (unsigned int)p, cls);
out:
	free(acc);
	free(hk);
	return rc;
}

int
ctl_cmd_target_import(struct ctl *c, int argc, char **argv)
{
	const char **levels = NULL;
	uint8_t *data = NULL;
	char err[512];
	size_t len = 0, n = 0;
	int r;
	PARSE("target", "import", NULL);

	if (argc - first != 1)
		return ctl_usage(cmd, "one FILE.json please");
	if ((rc = ctl_load_policy(c, 0)) != 0)
		return rc;
	if (c->pol != NULL && (levels = policy_levels(c)) == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	if ((r = pv_file_read(argv[first], IMPORT_MAX, &data, &len)) != 0) {
		rc = ctl_fail(r, "%s: %s", argv[first], pv_err_str(r));
		goto out;
	}
	if ((rc = ctl_open_store(c)) != 0)
		goto out;
	if ((r = store_target_import(c->st, c->actor, (const char *)data, len,
		 levels, &n, err, sizeof(err))) != 0) {
		rc = ctl_fail(r, "%s: %s (nothing imported)", argv[first], err);
		goto out;
	}
	if (c->json)
		rc = ctl_print_json(
		    json_pack("{s:I}", "imported", (json_int_t)n));
	else
		printf("%zu targets imported\n", n);
out:
	free(levels);
	free(data);
	return rc;
}

struct tlist {
	json_t *arr;
};

static int
target_cb(void *ctx, const struct store_target *t)
{
	struct tlist *l = ctx;
	size_t i;

	if (l->arr != NULL)
		return json_array_append_new(l->arr, store_target_json(t)) != 0;
	printf("%-20s %-24s %-5u %-14s %-12s %-9s ", t->name, t->host, t->port,
	    t->classification, t->region ? t->region : "-",
	    store_auth_name(t->auth));
	for (i = 0; i < t->naccounts; i++)
		printf("%s%s", i ? "," : "", t->accounts[i]);
	printf("\n");
	return 0;
}

int
ctl_cmd_target_list(struct ctl *c, int argc, char **argv)
{
	struct tlist l = { NULL };
	int r;
	PARSE("target", "list", NULL);

	if (argc != first)
		return ctl_usage(cmd, "no arguments please");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if (c->json && (l.arr = json_array()) == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	if (!c->json)
		printf("%-20s %-24s %-5s %-14s %-12s %-9s %s\n", "NAME", "HOST",
		    "PORT", "CLASS", "REGION", "AUTH", "ACCOUNTS");
	if ((r = store_target_list(c->st, target_cb, &l)) != 0) {
		json_decref(l.arr);
		return ctl_fail(r, "%s", store_errmsg(c->st));
	}
	return c->json ? ctl_print_json(l.arr) : 0;
}

int
ctl_cmd_target_show(struct ctl *c, int argc, char **argv)
{
	struct store_target *t;
	char fp[PV_SSHKEY_FP_MAX];
	size_t i;
	int r;
	PARSE("target", "show", NULL);

	if (argc - first != 1)
		return ctl_usage(cmd, "one target name please");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_target_get(c->st, argv[first], &t)) != 0)
		return ctl_fail(r, "%s", store_errmsg(c->st));
	if (c->json) {
		rc = ctl_print_json(store_target_json(t));
		store_target_free(t);
		return rc;
	}
	if (pv_sshkey_fingerprint_line(t->hostkey, fp, sizeof(fp)) != 0)
		(void)snprintf(fp, sizeof(fp), "?");
	printf("name:           %s\n", t->name);
	printf("address:        %s port %u\n", t->host, t->port);
	printf("classification: %s\n", t->classification);
	printf("region:         %s\n", t->region ? t->region : "-");
	printf("auth:           %s\n", store_auth_name(t->auth));
	printf("host key:       %s\n", fp);
	printf("accounts:       ");
	for (i = 0; i < t->naccounts; i++)
		printf("%s%s", i ? "," : "", t->accounts[i]);
	printf("\n");
	store_target_free(t);
	return 0;
}

/* target admin NAME --account A [--root DIR]: provost's own connection. */
int
ctl_cmd_target_admin(struct ctl *c, int argc, char **argv)
{
	const char *account = NULL, *root = "/", *krl = NULL;
	const struct ctl_opt opts[] = {
		{ "account", 1, &account, NULL },
		{ "root", 1, &root, NULL },
		{ "krl", 1, &krl, NULL },
		{ NULL, 0, NULL, NULL },
	};
	int r;
	PARSE("target", "admin", opts);

	if (argc - first != 1 || account == NULL)
		return ctl_usage(cmd, "NAME and --account are required");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_target_admin_set(
		 c->st, c->actor, argv[first], account, root, krl)) != 0)
		return STORE_FAIL(r);
	if (c->json)
		return ctl_print_json(json_pack("{s:s, s:s, s:s}", "target",
		    argv[first], "account", account, "root", root));
	printf("target %s: provost connects as %s, root %s\n", argv[first],
	    account, root);
	return 0;
}

/* target baseline NAME: what the exit's sweep will compare with. */
int
ctl_cmd_target_baseline(struct ctl *c, int argc, char **argv)
{
	const struct ctl_opt opts[] = {
		{ NULL, 0, NULL, NULL },
	};
	char err[512], rec[4200], *text = NULL;
	json_t *state = NULL, *v;
	size_t len = 0;
	int r;
	PARSE("target", "baseline", opts);

	if (argc - first != 1)
		return ctl_usage(cmd, "one target NAME");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	(void)snprintf(rec, sizeof(rec), "%s/admin", c->cfg->recording_dir);
	if (mkdir(rec, 0700) != 0 && errno != EEXIST)
		return ctl_fail(PV_ERR_IO, "%s: %s", rec, strerror(errno));
	(void)snprintf(rec, sizeof(rec), "%s/admin/baseline-%s-%lld.pvr",
	    c->cfg->recording_dir, argv[first],
	    (long long)(pv_wall_ms() / 1000));
	if ((r = ctl_remote_look(c, argv[first], "baseline", rec, &text, &len,
		 &state, err, sizeof(err))) != 0)
		return ctl_fail(r, "target %s: %s", argv[first], err);
	r = store_baseline_put(
	    c->st, c->actor, argv[first], text, len, rec, pv_wall_ms() / 1000);
	free(text);
	if (r != 0) {
		json_decref(state);
		return STORE_FAIL(r);
	}
	v = json_pack("{s:s, s:I, s:I, s:I, s:s}", "target", argv[first],
	    "files",
	    (json_int_t)json_object_size(json_object_get(state, "files")),
	    "accounts",
	    (json_int_t)json_object_size(json_object_get(state, "users")),
	    "keyed_accounts",
	    (json_int_t)json_object_size(json_object_get(state, "keys")),
	    "recording", rec);
	json_decref(state);
	if (c->json)
		return ctl_print_json(v);
	printf("target %s: baseline of %lld files, %lld accounts (%lld with "
	       "keys); recorded to %s\n",
	    argv[first],
	    (long long)json_integer_value(json_object_get(v, "files")),
	    (long long)json_integer_value(json_object_get(v, "accounts")),
	    (long long)json_integer_value(json_object_get(v, "keyed_accounts")),
	    rec);
	json_decref(v);
	return 0;
}

int
ctl_cmd_target_set(struct ctl *c, int argc, char **argv)
{
	const char *region = NULL;
	int none = 0, r;
	const struct ctl_opt opts[] = {
		{ "region", 1, &region, NULL },
		{ "no-region", 0, NULL, &none },
		{ NULL, 0, NULL, NULL },
	};
	PARSE("target", "set", opts);

	if (argc - first != 1 || (region == NULL) == (none == 0))
		return ctl_usage(
		    cmd, "NAME and one of --region R or --no-region please");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_target_set_region(
		 c->st, c->actor, argv[first], region)) != 0)
		return ctl_fail(
		    r, "target %s: %s", argv[first], store_errmsg(c->st));
	if (c->json)
		return ctl_print_json(json_pack(
		    "{s:s, s:s?}", "target", argv[first], "region", region));
	printf("target %s: region %s\n", argv[first],
	    region != NULL ? region : "cleared");
	return 0;
}
