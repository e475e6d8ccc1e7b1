/*
 * targets.c: the servers engineers reach (host, port, classification,
 * pinned host key, accounts) and the strict all-or-nothing JSON import.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "store/store-int.h"

#define HOST_MAX 253
#define IMPORT_MAX_ENTRIES 100000

const char *
store_auth_name(enum store_auth a)
{
	return a == STORE_AUTH_PAM_TOKEN ? "pam-token" : "cert";
}

static int
host_valid(const char *h)
{
	size_t i, n;

	if (h == NULL || (n = strlen(h)) == 0 || n > HOST_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = h[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '.' || c == '-' ||
			c == ':' || c == '_'))
			return 0;
	}
	return h[0] != '-';
}

/* POSIX portable user names, as targets' accounts. */
static int
account_valid(const char *a)
{
	size_t i, n;

	if (a == NULL || (n = strlen(a)) == 0 || n > 32)
		return 0;
	for (i = 0; i < n; i++) {
		char c = a[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '.' || c == '_' ||
			(c == '-' && i > 0)))
			return 0;
	}
	return strcmp(a, "*") != 0;
}

/* One spec checked; the field at fault goes into *field. */
static int
spec_check(const struct store_target_spec *t, const char *const *levels,
    const char **field, const char **what)
{
	char *type = NULL, *comment = NULL;
	uint8_t *blob = NULL;
	size_t blen, i, j;
	int r;

	*field = NULL;
	*what = NULL;
	if (!store_name_valid(t->name)) {
		*field = "name";
		*what = "must be 1-64 of [a-z0-9._-]";
		return PV_ERR_INVALID;
	}
	if (!host_valid(t->host)) {
		*field = "host";
		*what = "not a host name or address";
		return PV_ERR_INVALID;
	}
	if (t->port > 65535) {
		*field = "port";
		*what = "must be 1..65535";
		return PV_ERR_INVALID;
	}
	if (!store_name_valid(t->classification)) {
		*field = "classification";
		*what = "not a level name";
		return PV_ERR_INVALID;
	}
	if (levels != NULL) {
		for (i = 0; levels[i] != NULL; i++)
			if (strcmp(levels[i], t->classification) == 0)
				break;
		if (levels[i] == NULL) {
			*field = "classification";
			*what = "not a level of the policy";
			return PV_ERR_INVALID;
		}
	}
	if (t->naccounts == 0 || t->naccounts > STORE_ACCOUNTS_MAX) {
		*field = "accounts";
		*what = "must list 1-64 accounts";
		return PV_ERR_INVALID;
	}
	for (i = 0; i < t->naccounts; i++) {
		const char *a = t->accounts[i];

		if (a == NULL || !account_valid(a)) {
			*field = "accounts";
			*what = "not a valid account name";
			return PV_ERR_INVALID;
		}
		for (j = 0; j < i; j++)
			if (t->accounts[j] == NULL ||
			    strcmp(a, t->accounts[j]) == 0) {
				*field = "accounts";
				*what = "account listed twice";
				return PV_ERR_INVALID;
			}
	}
	r = st_pubkey_parse(t->hostkey, &type, &blob, &blen, &comment);
	free(type);
	free(blob);
	free(comment);
	if (r != 0) {
		*field = "hostkey";
		*what = "not an OpenSSH public key line";
		return PV_ERR_INVALID;
	}
	if (t->region != NULL && !store_name_valid(t->region)) {
		*field = "region";
		*what = "must be 1-64 of [a-z0-9._-]";
		return PV_ERR_INVALID;
	}
	if ((unsigned int)t->auth > STORE_AUTH_PAM_TOKEN) {
		*field = "auth";
		*what = "must be cert or pam-token";
		return PV_ERR_INVALID;
	}
	return 0;
}

/* Inserts inside the caller's transaction. */
static int
target_insert(
    struct store *st, const char *actor, const struct store_target_spec *t)
{
	static const char ins[] = "INSERT INTO targets(name, host, port, "
				  "classification, hostkey, auth, created_at, "
				  "region) VALUES (?,?,?,?,?,?,?,?)";
	static const char acc[] = "INSERT INTO target_accounts(target_id, "
				  "account) VALUES (?,?)";
	char *type = NULL, *comment = NULL, *keyline = NULL, *b64 = NULL;
	char obj[128];
	uint8_t *blob = NULL;
	struct st_q *s = NULL;
	json_t *accounts = NULL;
	size_t blen, i;
	int64_t tid;
	int r;

	/* Pin only "TYPE BASE64": a comment is not part of the key. */
	if ((r = st_pubkey_parse(t->hostkey, &type, &blob, &blen, &comment)) !=
	    0)
		goto out;
	if ((r = pv_b64_encode(blob, blen, 0, &b64)) != 0)
		goto out;
	if (asprintf(&keyline, "%s %s", type, b64) < 0) {
		keyline = NULL;
		r = PV_ERR_ALLOC;
		goto out;
	}
	if ((r = st_prep(st, ins, &s)) != 0)
		goto out;
	if ((r = st_bind_text(st, s, 1, t->name)) != 0 ||
	    (r = st_bind_text(st, s, 2, t->host)) != 0 ||
	    (r = st_bind_i64(st, s, 3, t->port ? t->port : 22)) != 0 ||
	    (r = st_bind_text(st, s, 4, t->classification)) != 0 ||
	    (r = st_bind_text(st, s, 5, keyline)) != 0 ||
	    (r = st_bind_text(st, s, 6, store_auth_name(t->auth))) != 0 ||
	    (r = st_bind_i64(st, s, 7, pv_wall_ms() / 1000)) != 0 ||
	    (r = st_bind_text(st, s, 8, t->region)) != 0)
		goto out;
	if ((r = st_step_done(st, s, "target add")) != 0) {
		if (r == PV_ERR_EXISTS)
			r = st_fail(st, r, "target %s already exists", t->name);
		goto out;
	}
	if ((r = st_last_id(st, &tid)) != 0)
		goto out;
	st_done(s);
	s = NULL;
	if ((accounts = json_array()) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < t->naccounts; i++) {
		if ((r = st_prep(st, acc, &s)) != 0 ||
		    (r = st_bind_i64(st, s, 1, tid)) != 0 ||
		    (r = st_bind_text(st, s, 2, t->accounts[i])) != 0 ||
		    (r = st_step_done(st, s, "target account")) != 0)
			goto out;
		st_done(s);
		s = NULL;
		if (json_array_append_new(
			accounts, json_string(t->accounts[i])) != 0) {
			r = PV_ERR_ALLOC;
			goto out;
		}
	}
	if ((r = st_object(obj, sizeof(obj), "target", t->name)) != 0)
		goto out;
	r = st_audit(st, actor, "target.add", obj,
	    json_pack("{s:s, s:i, s:s, s:s, s:s, s:o, s:s?}", "host", t->host,
		"port", (int)(t->port ? t->port : 22), "classification",
		t->classification, "hostkey", keyline, "auth",
		store_auth_name(t->auth), "accounts", accounts, "region",
		t->region));
	accounts = NULL;
out:
	json_decref(accounts);
	st_done(s);
	free(type);
	free(blob);
	free(comment);
	free(b64);
	free(keyline);
	return r;
}

int
store_target_add(
    struct store *st, const char *actor, const struct store_target_spec *t)
{
	const char *field, *what;
	int r;

	if ((r = spec_check(t, NULL, &field, &what)) != 0)
		return st_fail(st, r, "%s: %s", field, what);
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = target_insert(st, actor, t)) != 0) {
		st_rollback(st);
		return r;
	}
	return st_commit(st);
}

static int
target_from_row(struct store *st, struct st_q *s, struct store_target **out)
{
	struct store_target *t;
	struct st_q *a = NULL;
	char **acc;
	int r;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return PV_ERR_ALLOC;
	t->id = st_col_i64(s, 0);
	t->port = (unsigned int)st_col_int(s, 3);
	t->auth = strcmp(st_col_text(s, 6) ? st_col_text(s, 6) : "", "cert")
	    ? STORE_AUTH_PAM_TOKEN
	    : STORE_AUTH_CERT;
	t->created_at = st_col_i64(s, 7);
	if (st_col_dup(s, 1, &t->name) != 0 ||
	    st_col_dup(s, 2, &t->host) != 0 ||
	    st_col_dup(s, 4, &t->classification) != 0 ||
	    st_col_dup(s, 5, &t->hostkey) != 0 ||
	    st_col_dup(s, 8, &t->region) != 0) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if ((r = st_prep(st,
		 "SELECT account FROM target_accounts WHERE target_id = ? "
		 "ORDER BY rowid",
		 &a)) != 0 ||
	    (r = st_bind_i64(st, a, 1, t->id)) != 0)
		goto out;
	while ((r = st_step_row(st, a, "target accounts")) == 1) {
		if (t->naccounts >= STORE_ACCOUNTS_MAX ||
		    (acc = reallocarray(t->accounts, t->naccounts + 1,
			 sizeof(*acc))) == NULL) {
			r = PV_ERR_ALLOC;
			goto out;
		}
		t->accounts = acc;
		if (st_col_dup(a, 0, &t->accounts[t->naccounts]) != 0) {
			r = PV_ERR_ALLOC;
			goto out;
		}
		t->naccounts++;
	}
	if (r < 0)
		goto out;
	*out = t;
	t = NULL;
	r = 0;
out:
	st_done(a);
	store_target_free(t);
	return r;
}

#define TARGET_COLS                                                         \
	"id, name, host, port, classification, hostkey, auth, created_at, " \
	"region"

int
store_target_get(struct store *st, const char *name, struct store_target **out)
{
	struct st_q *s = NULL;
	int r;

	*out = NULL;
	if ((r = st_prep_once(st,
		 "SELECT " TARGET_COLS " FROM targets WHERE name = ?", &s)) !=
	    0)
		return r;
	if ((r = st_bind_text(st, s, 1, name)) != 0 ||
	    (r = st_step_row(st, s, "target get")) < 0)
		goto out;
	if (r == 0) {
		r = st_fail(st, PV_ERR_NOT_FOUND, "target %s: not found",
		    name ? name : "");
		goto out;
	}
	r = target_from_row(st, s, out);
out:
	st_free(s);
	return r;
}

int
store_target_list(struct store *st, store_target_cb cb, void *ctx)
{
	struct store_target *t = NULL;
	struct st_q *s;
	int r;

	if ((r = st_prep_once(st,
		 "SELECT " TARGET_COLS " FROM targets ORDER BY name", &s)) != 0)
		return r;
	while ((r = st_step_row(st, s, "target list")) == 1) {
		if ((r = target_from_row(st, s, &t)) != 0)
			break;
		r = cb(ctx, t);
		store_target_free(t);
		if (r != 0) {
			r = 0;
			break;
		}
	}
	st_free(s);
	return r < 0 ? r : 0;
}

int
store_target_has_account(const struct store_target *t, const char *acct)
{
	size_t i;

	if (t == NULL || acct == NULL)
		return 0;
	for (i = 0; i < t->naccounts; i++)
		if (strcmp(t->accounts[i], acct) == 0)
			return 1;
	return 0;
}

void
store_target_free(struct store_target *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->naccounts; i++)
		free(t->accounts[i]);
	free(t->accounts);
	free(t->name);
	free(t->host);
	free(t->classification);
	free(t->hostkey);
	free(t->region);
	free(t);
}

static int
import_err(
    char *err, size_t errlen, size_t idx, const char *field, const char *what)
{
	int n;

	if (field != NULL)
		n = snprintf(
		    err, errlen, "entry %zu: %s: %s", idx, field, what);
	else
		n = snprintf(err, errlen, "entry %zu: %s", idx, what);
	if (n < 0 && errlen > 0)
		err[0] = '\0';
	return PV_ERR_INVALID;
}

/* One JSON entry into a spec (pointers into the JSON). */
static int
import_entry(json_t *e, size_t idx, const char **acc,
    struct store_target_spec *t, char *err, size_t errlen)
{
	static const char *const known[] = { "name", "host", "port",
		"classification", "accounts", "hostkey", "auth", "region",
		NULL };
	const char *key, *field, *what;
	json_t *v;
	size_t i;

	*t = (struct store_target_spec){ .accounts = acc };
	if (!json_is_object(e))
		return import_err(err, errlen, idx, NULL, "not an object");
	json_object_foreach(e, key, v)
	{
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (known[i] == NULL)
			return import_err(
			    err, errlen, idx, key, "unknown field");
	}
#define STRFIELD(f, dst)                                                   \
	do {                                                               \
		v = json_object_get(e, f);                                 \
		if (!json_is_string(v) ||                                  \
		    strlen(json_string_value(v)) != json_string_length(v)) \
			return import_err(err, errlen, idx, f,             \
			    v ? "must be a string" : "missing");           \
		dst = json_string_value(v);                                \
	} while (0)
	STRFIELD("name", t->name);
	STRFIELD("host", t->host);
	STRFIELD("classification", t->classification);
	STRFIELD("hostkey", t->hostkey);
#undef STRFIELD
	if ((v = json_object_get(e, "port")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 65535)
			return import_err(
			    err, errlen, idx, "port", "must be 1..65535");
		t->port = (unsigned int)json_integer_value(v);
	}
	if ((v = json_object_get(e, "region")) != NULL) {
		if (!json_is_string(v) ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return import_err(
			    err, errlen, idx, "region", "must be a string");
		t->region = json_string_value(v);
	}
	if ((v = json_object_get(e, "auth")) != NULL) {
		if (json_is_string(v) &&
		    strcmp(json_string_value(v), "cert") == 0)
			t->auth = STORE_AUTH_CERT;
		else if (json_is_string(v) &&
		    strcmp(json_string_value(v), "pam-token") == 0)
			t->auth = STORE_AUTH_PAM_TOKEN;
		else
			return import_err(err, errlen, idx, "auth",
			    "must be \"cert\" or \"pam-token\"");
	}
	v = json_object_get(e, "accounts");
	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > STORE_ACCOUNTS_MAX)
		return import_err(err, errlen, idx, "accounts",
		    "must be an array of 1-64 names");
	for (i = 0; i < json_array_size(v); i++) {
		json_t *a = json_array_get(v, i);

		if (!json_is_string(a) ||
		    strlen(json_string_value(a)) != json_string_length(a))
			return import_err(err, errlen, idx, "accounts",
			    "must be an array of strings");
		acc[i] = json_string_value(a);
	}
	t->naccounts = json_array_size(v);
	(void)field;
	(void)what;
	return 0;
}

int
store_target_import(struct store *st, const char *actor, const char *json,
    size_t len, const char *const *levels, size_t *count, char *err,
    size_t errlen)
{
	const char *acc[STORE_ACCOUNTS_MAX] = { NULL };
	struct store_target_spec t;
	const char *field, *what;
	json_error_t je;
	json_t *root = NULL, *arr;
	size_t i;
	int r;

	if (count != NULL)
		*count = 0;
	if (errlen > 0)
		err[0] = '\0';
	if ((root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL) {
		if (snprintf(err, errlen, "line %d column %d: %s", je.line,
			je.column, je.text) < 0 &&
		    errlen > 0)
			err[0] = '\0';
		return PV_ERR_INVALID;
	}
	arr = root;
	if (json_is_object(root)) {
		if (json_object_size(root) != 1 ||
		    (arr = json_object_get(root, "targets")) == NULL) {
			r = PV_ERR_INVALID;
			if (snprintf(err, errlen,
				"expected an array or {\"targets\": [...]}") <
			    0)
				err[0] = '\0';
			goto out0;
		}
	}
	if (!json_is_array(arr) || json_array_size(arr) > IMPORT_MAX_ENTRIES) {
		r = PV_ERR_INVALID;
		if (snprintf(err, errlen,
			"expected an array of at most %d targets",
			IMPORT_MAX_ENTRIES) < 0)
			err[0] = '\0';
		goto out0;
	}
	/* Validate everything first, then write in one transaction. */
	for (i = 0; i < json_array_size(arr); i++) {
		json_t *e = json_array_get(arr, i);

		if ((r = import_entry(e, i, acc, &t, err, errlen)) != 0)
			goto out0;
		if (spec_check(&t, levels, &field, &what) != 0) {
			(void)import_err(err, errlen, i, field, what);
			r = PV_ERR_INVALID;
			goto out0;
		}
	}
	if ((r = st_begin(st, 1)) != 0)
		goto out0;
	for (i = 0; i < json_array_size(arr); i++) {
		if ((r = import_entry(
			 json_array_get(arr, i), i, acc, &t, err, errlen)) != 0)
			goto out;
		if ((r = target_insert(st, actor, &t)) != 0) {
			(void)import_err(err, errlen, i,
			    r == PV_ERR_EXISTS ? "name" : NULL,
			    r == PV_ERR_EXISTS ? "target already exists"
					       : store_errmsg(st));
			goto out;
		}
	}
	if ((r = st_audit(st, actor, "target.import", "target:*",
		 json_pack(
		     "{s:I}", "count", (json_int_t)json_array_size(arr)))) != 0)
		goto out;
	if ((r = st_commit(st)) != 0)
		goto out0;
	if (count != NULL)
		*count = json_array_size(arr);
	goto out0;
out:
	st_rollback(st);
out0:
	json_decref(root);
	if (r != 0 && err != NULL && errlen > 0)
		(void)st_fail(st, r, "%s", err);
	return r;
}

int
store_target_set_region(
    struct store *st, const char *actor, const char *name, const char *region)
{
	struct st_q *s = NULL;
	char obj[128];
	int64_t tid;
	int r;

	if (region != NULL && !store_name_valid(region))
		return st_fail(
		    st, PV_ERR_INVALID, "region: must be 1-64 of [a-z0-9._-]");
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = st_target_id(st, name, &tid)) != 0)
		goto out;
	if ((r = st_prep(
		 st, "UPDATE targets SET region = ? WHERE id = ?", &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, region)) != 0 ||
	    (r = st_bind_i64(st, s, 2, tid)) != 0 ||
	    (r = st_step_done(st, s, "target set")) != 0)
		goto out;
	st_done(s);
	s = NULL;
	if ((r = st_object(obj, sizeof(obj), "target", name)) != 0 ||
	    (r = st_audit(st, actor, "target.set", obj,
		 json_pack("{s:s?}", "region", region))) != 0)
		goto out;
	return st_commit(st);
out:
	st_done(s);
	st_rollback(st);
	return r;
}
