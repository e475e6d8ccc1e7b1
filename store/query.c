/*
 * query.c: the read-only questions a plugin may ask of the store
 * (provost_plugin(3), host->query), answered as one JSON array.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store-int.h"

static int
add(json_t *arr, json_t *o)
{
	return o == NULL || json_array_append_new(arr, o) != 0 ? PV_ERR_ALLOC
							       : 0;
}

static int
q_provider(void *ctx, const struct store_provider *p)
{
	return add(ctx, store_provider_json(p));
}

static int
q_engineer(void *ctx, const struct store_engineer *e)
{
	return add(ctx, store_engineer_json(e));
}

static int
q_target(void *ctx, const struct store_target *t)
{
	return add(ctx, store_target_json(t));
}

static int
q_grant(void *ctx, const struct store_grant *g)
{
	return add(ctx, store_grant_json(g));
}

static int
q_session(void *ctx, const struct store_session *s)
{
	return add(ctx, store_session_json(s));
}

static int
q_audit(void *ctx, const struct store_audit_row *r)
{
	json_t *d = r->details != NULL ? json_loads(r->details, 0, NULL) : NULL;

	return add(ctx,
	    json_pack("{s:I, s:I, s:s?, s:s?, s:s?, s:o?}", "seq",
		(json_int_t)r->seq, "ts_ms", (json_int_t)r->ts_ms, "actor",
		r->actor, "action", r->action, "object", r->object, "details",
		d));
}

/* "N" in [0, 2^62): a time for a query; -1 if not. */
static int64_t
qnum(const char *s)
{
	unsigned long long v;
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || errno != 0 || v >= (1ULL << 62))
		return -1;
	return (int64_t)v;
}

/* The words of a query after its first, at most n; how many. */
static size_t
qwords(char *s, char **w, size_t n)
{
	size_t k = 0;
	char *save = NULL, *t;

	for (t = strtok_r(s, " ", &save); t != NULL;
	     t = strtok_r(NULL, " ", &save)) {
		if (k == n)
			return n + 1;
		w[k++] = t;
	}
	return k;
}

/*
 * "incidents PROVIDER FROM TO", "outages FROM TO", "target NAME" (added
 * for the sla and contract plugins).
 */
static int
q_more(
    struct store *st, const char *what, json_t *arr, char *err, size_t errlen)
{
	char buf[256], *w[4];
	size_t n;
	struct store_target *t = NULL;
	int r;

	if (strlen(what) >= sizeof(buf))
		goto usage;
	memcpy(buf, what, strlen(what) + 1);
	n = qwords(buf, w, 4);
	if (n == 4 && strcmp(w[0], "incidents") == 0 && qnum(w[2]) >= 0 &&
	    qnum(w[3]) >= 0)
		return store_incident_query(
		    st, w[1], qnum(w[2]), qnum(w[3]), arr);
	if (n == 3 && strcmp(w[0], "outages") == 0 && qnum(w[1]) >= 0 &&
	    qnum(w[2]) >= 0)
		return store_outage_query(st, qnum(w[1]), qnum(w[2]), arr);
	/* "action ACTION SEQ": the rows of one action after SEQ */
	if (n == 3 && strcmp(w[0], "action") == 0 && qnum(w[2]) >= 0 &&
	    strlen(w[1]) <= 64) {
		uint64_t cursor = (uint64_t)qnum(w[2]);

		return store_audit_action_since(
		    st, w[1], &cursor, q_audit, arr);
	}
	if (n == 2 && strcmp(w[0], "target") == 0) {
		r = store_target_get(st, w[1], &t);
		if (r == PV_ERR_NOT_FOUND)
			return 0; /* an empty array */
		if (r == 0)
			r = add(arr, store_target_json(t));
		store_target_free(t);
		return r;
	}
usage:
	(void)snprintf(err, errlen,
	    "unknown query \"%.40s\" (providers, engineers, targets, "
	    "target NAME, grants, sessions, audit SEQ, action ACTION SEQ, "
	    "incidents PROVIDER "
	    "FROM TO, outages FROM TO)",
	    what);
	return PV_ERR_INVALID;
}

int
store_query(struct store *st, const char *what, int64_t now, char **out,
    char *err, size_t errlen)
{
	json_t *arr = json_array();
	unsigned long long after;
	uint64_t cursor;
	char *end;
	int r;

	*out = NULL;
	if (arr == NULL)
		return PV_ERR_ALLOC;
	if (strcmp(what, "providers") == 0)
		r = store_provider_list(st, q_provider, arr);
	else if (strcmp(what, "engineers") == 0)
		r = store_engineer_list(st, NULL, q_engineer, arr);
	else if (strcmp(what, "targets") == 0)
		r = store_target_list(st, q_target, arr);
	else if (strcmp(what, "grants") == 0)
		r = store_grant_list(st, NULL, 0, now, q_grant, arr);
	else if (strcmp(what, "sessions") == 0)
		r = store_session_list(st, 0, q_session, arr);
	else if (strncmp(what, "audit ", 6) == 0) {
		errno = 0;
		after = strtoull(what + 6, &end, 10);
		if (what[6] < '0' || what[6] > '9' || *end != '\0' ||
		    errno != 0) {
			(void)snprintf(err, errlen, "audit: SEQ, a number");
			json_decref(arr);
			return PV_ERR_INVALID;
		}
		cursor = (uint64_t)after;
		r = store_audit_since(st, &cursor, q_audit, arr);
	} else if ((r = q_more(st, what, arr, err, errlen)) == PV_ERR_INVALID) {
		json_decref(arr);
		return r;
	}
	if (r != 0) {
		(void)snprintf(err, errlen, "%s", store_errmsg(st));
		json_decref(arr);
		return r;
	}
	*out = json_dumps(arr, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(arr);
	return *out != NULL ? 0 : PV_ERR_ALLOC;
}
