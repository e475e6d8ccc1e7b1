/*
 * plugin.c: the contract plugin (provost-contract(5)).  Its config is the
 * contracts file; every access outside the provider's contract is refused
 * with the clause named, a provider without a contract is refused, and in
 * a contract's notice period the security team is warned in provostd's
 * log once a day per provider.  "provostctl report contract [--provider
 * P]" prints the terms in force and what was refused under them, and
 * "provostctl exit due" is asked for the exit of every provider whose
 * contract has ended.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "plugins/contract/contract.h"
#include "plugins/provost_plugin.h"

#define WARNED_MAX 64

struct state {
	const struct provost_plugin_host *host;
	struct contracts *c;
	char why[CONTRACT_ERR_MAX];
	/* notice warnings given: provider and the day (unix days) */
	struct {
		char provider[65];
		long day;
	} warned[WARNED_MAX];
	size_t nwarned;
	/* the notice hook's answer for the access check_access last allowed */
	char banner[200];
};

static int
c_init(const struct provost_plugin_host *host, const char *config, void **state,
    const char **errstr)
{
	static char err[CONTRACT_ERR_MAX];
	struct state *s;

	if (config == NULL) {
		*errstr = "the config must name the contracts file";
		return PROVOST_PLUGIN_ERROR;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		*errstr = "out of memory";
		return PROVOST_PLUGIN_ERROR;
	}
	if (contracts_load(config, &s->c, err, sizeof(err)) != 0) {
		free(s);
		*errstr = err;
		return PROVOST_PLUGIN_ERROR;
	}
	s->host = host;
	*state = s;
	return 1;
}

/*
 * Every audit row of action, page by page through the host's store
 * queries ("action ACTION SEQ", 1000 rows a page), handed to each(ctx,
 * row) until it returns non-zero.  0, or -1 when the store cannot say
 * (s->why says why).
 */
static int
c_action_rows(struct state *s, const char *action,
    int (*each)(void *ctx, json_t *row), void *ctx)
{
	char q[128], *page = NULL;
	const char *e = NULL;
	unsigned long long cursor = 0;
	json_t *arr, *row;
	size_t i, n;
	int stop = 0;

	if (s->host == NULL || s->host->version < 0x10001 ||
	    s->host->query == NULL) {
		(void)snprintf(s->why, sizeof(s->why),
		    "contract: the audit needs store queries, which this "
		    "provost does not offer");
		return -1;
	}
	do {
		(void)snprintf(q, sizeof(q), "action %s %llu", action, cursor);
		if (s->host->query(s->host->ctx, q, &page, &e) != 1 ||
		    (arr = json_loads(page, 0, NULL)) == NULL ||
		    !json_is_array(arr)) {
			(void)snprintf(s->why, sizeof(s->why),
			    "contract: %s rows cannot be read: %s", action,
			    e != NULL ? e : "a bad answer");
			free(page);
			return -1;
		}
		free(page);
		page = NULL;
		n = json_array_size(arr);
		json_array_foreach(arr, i, row)
		{
			cursor = (unsigned long long)json_integer_value(
			    json_object_get(row, "seq"));
			if (!stop)
				stop = each(ctx, row);
		}
		json_decref(arr);
	} while (n == 1000 && !stop);
	return 0;
}

struct warned {
	char object[80];
	long day;
	int found;
};

static int
warned_row(void *ctx, json_t *row)
{
	struct warned *w = ctx;
	const char *o = json_string_value(json_object_get(row, "object"));

	w->found = o != NULL && strcmp(o, w->object) == 0 &&
	    json_integer_value(json_object_get(row, "ts_ms")) / 86400000 ==
		w->day;
	return w->found;
}

/*
 * Did the audit chain already warn of provider's notice period on UTC day
 * (a plugin host of provostd's or provostctl's, this one before a restart
 * or another broker's)?  1 yes, 0 no or cannot tell (then warned again:
 * a second warning is better than none).
 */
static int
c_warned_in_chain(struct state *s, const char *provider, long day)
{
	struct warned w = { .day = day };

	(void)snprintf(w.object, sizeof(w.object), "provider:%.64s", provider);
	if (c_action_rows(s, "plugin.contract.notice", warned_row, &w) != 0)
		return 0;
	return w.found;
}

/* The notice period: one warning a day per provider in provostd's log. */
static void
c_notice(struct state *s, const struct provost_access *a, int days)
{
	char msg[256];
	long day = (long)(a->now / 86400);
	size_t i;
	int seen;

	for (i = 0; i < s->nwarned; i++) {
		if (strcmp(s->warned[i].provider, a->provider) == 0) {
			if (s->warned[i].day == day)
				return;
			break;
		}
	}
	seen = c_warned_in_chain(s, a->provider, day);
	if (i == s->nwarned) {
		if (s->nwarned == WARNED_MAX)
			i = 0;
		else
			s->nwarned++;
	}
	(void)snprintf(s->warned[i].provider, sizeof(s->warned[i].provider),
	    "%s", a->provider);
	s->warned[i].day = day;
	if (seen)
		return;
	(void)snprintf(msg, sizeof(msg),
	    "contract: provider %s is in its notice period: %s", a->provider,
	    s->banner);
	if (s->host != NULL && s->host->log != NULL)
		s->host->log(s->host->ctx, 1, msg);
	/* the security team's record: once a day per provider, too */
	if (s->host != NULL && s->host->version >= 0x10001 &&
	    s->host->audit != NULL) {
		char object[80];
		const char *e = NULL;
		json_t *j = json_pack("{s:s, s:i, s:s}", "provider",
		    a->provider, "days_left", days, "notice", s->banner);
		char *details = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

		(void)snprintf(
		    object, sizeof(object), "provider:%.64s", a->provider);
		if (details == NULL ||
		    s->host->audit(s->host->ctx, "plugin.contract.notice",
			object, details, &e) != 1) {
			(void)snprintf(msg, sizeof(msg),
			    "contract: the notice for %s was not audited: %s",
			    a->provider, e != NULL ? e : "out of memory");
			if (s->host->log != NULL)
				s->host->log(s->host->ctx, 0, msg);
			/* not remembered: the next access tries again */
			s->warned[i].day = -1;
		}
		free(details);
		json_decref(j);
	}
}

/*
 * The target's region, asked of the store (provostctl target set
 * --region): 0 with *region NULL when it has none, -1 when the store
 * cannot say (the access is then refused).
 */
static int
c_region(struct state *s, const char *target, char *region, size_t len,
    const char **have)
{
	char q[128], *out = NULL;
	const char *e = NULL, *r;
	json_t *arr = NULL;
	int rc = -1;

	*have = NULL;
	if (s->host == NULL || s->host->version < 0x10001 ||
	    s->host->query == NULL) {
		(void)snprintf(s->why, sizeof(s->why),
		    "contract: Regions needs store queries, which this provost "
		    "does not offer");
		return -1;
	}
	(void)snprintf(q, sizeof(q), "target %s", target);
	if (s->host->query(s->host->ctx, q, &out, &e) != 1 ||
	    (arr = json_loads(out, 0, NULL)) == NULL || !json_is_array(arr)) {
		(void)snprintf(s->why, sizeof(s->why),
		    "contract: the region of %.64s cannot be read: %s", target,
		    e != NULL ? e : "a bad answer");
		goto out;
	}
	r = json_string_value(
	    json_object_get(json_array_get(arr, 0), "region"));
	if (r != NULL) {
		(void)snprintf(region, len, "%s", r);
		*have = region;
	}
	rc = 0;
out:
	json_decref(arr);
	free(out);
	return rc;
}

static int
c_check(void *state, const struct provost_access *a, const char **errstr)
{
	struct state *s = state;
	struct contract_ask q = {
		.provider = a->provider,
		.target = a->target,
		.classification = a->classification,
		.account = a->account,
		.now = a->now,
		/* the monitor's word, from 1.3 on */
		.source = s->host != NULL && s->host->version >= 0x10003
		    ? a->source
		    : NULL,
	};
	char region[80];
	int notice, r;

	if (contracts_wants_region(s->c, a->provider) &&
	    c_region(s, a->target, region, sizeof(region), &q.region) != 0) {
		*errstr = s->why;
		return PROVOST_PLUGIN_ERROR;
	}
	s->banner[0] = '\0';
	r = contracts_check(s->c, &q, s->why, sizeof(s->why), &notice);
	if (r == 1) {
		if (notice >= 0 &&
		    contracts_banner(s->c, a->provider, notice, s->banner,
			sizeof(s->banner)) == 0)
			c_notice(s, a, notice);
		return PROVOST_PLUGIN_ALLOW;
	}
	*errstr = s->why;
	return r == 0 ? PROVOST_PLUGIN_DENY : PROVOST_PLUGIN_ERROR;
}

#define REFUSALS_SHOWN 50
#define DENY_PREFIX "plugin contract denies: contract "

struct refusals {
	char want[160]; /* "...contract ID (": the rows that name it */
	unsigned long long total;
	json_t *shown; /* the last REFUSALS_SHOWN */
};

static int
refusal_row(void *ctx, json_t *row)
{
	struct refusals *x = ctx;
	const char *why = json_string_value(
	    json_object_get(json_object_get(row, "details"), "reason"));

	if (why == NULL || strstr(why, x->want) == NULL)
		return 0;
	x->total++;
	if (json_array_size(x->shown) == REFUSALS_SHOWN)
		(void)json_array_remove(x->shown, 0);
	(void)json_array_append(x->shown, row);
	return 0;
}

/*
 * The refusals the audit chain holds under contract id (plugin.deny rows
 * whose reason names it), read page by page through the host's store
 * queries: the count, and the last REFUSALS_SHOWN of them.  0, or -1
 * when the store cannot say (the report then fails: it would be wrong).
 */
static int
c_refusals(struct state *s, FILE *out, const char *id)
{
	struct refusals x = { .total = 0 };
	json_t *row;
	size_t i;

	if ((x.shown = json_array()) == NULL)
		return -1;
	(void)snprintf(x.want, sizeof(x.want), DENY_PREFIX "%s (", id);
	if (c_action_rows(s, "plugin.deny", refusal_row, &x) != 0) {
		json_decref(x.shown);
		return -1;
	}
	fprintf(out, "refused under it: %llu%s\n", x.total,
	    x.total > REFUSALS_SHOWN ? " (the last 50 below)" : "");
	json_array_foreach(x.shown, i, row)
	{
		json_t *d = json_object_get(row, "details");
		const char *why =
		    json_string_value(json_object_get(d, "reason"));
		const char *obj =
		    json_string_value(json_object_get(row, "object"));
		time_t t =
		    (time_t)(json_integer_value(json_object_get(row, "ts_ms")) /
			1000);
		char tm[32];
		struct tm g;

		if (gmtime_r(&t, &g) == NULL ||
		    strftime(tm, sizeof(tm), "%Y-%m-%dT%H:%M:%SZ", &g) == 0)
			(void)snprintf(tm, sizeof(tm), "?");
		/* after "... contract ID ": "(FILE:LINE, Clause): what" */
		fprintf(out, "  %s %s %s %s@%s: %s\n", tm,
		    obj != NULL && strncmp(obj, "engineer:", 9) == 0 ? obj + 9
								     : "?",
		    json_string_value(json_object_get(d, "what")) != NULL
			? json_string_value(json_object_get(d, "what"))
			: "?",
		    json_string_value(json_object_get(d, "account")) != NULL
			? json_string_value(json_object_get(d, "account"))
			: "?",
		    json_string_value(json_object_get(d, "target")) != NULL
			? json_string_value(json_object_get(d, "target"))
			: "?",
		    strstr(why, x.want) + strlen(x.want) - 1);
	}
	json_decref(x.shown);
	return 0;
}

static int
c_refusals_cb(void *ctx, FILE *out, const char *id)
{
	return c_refusals(ctx, out, id);
}

/* "contract" or "contract --provider P". */
static int
c_report(void *state, FILE *out, const char *what, const char **errstr)
{
	struct state *s = state;
	const char *p = NULL;

	s->why[0] = '\0';
	if (strcmp(what, "contract") == 0)
		p = NULL;
	else if (strncmp(what, "contract --provider ", 20) == 0 &&
	    what[20] != '\0' && strchr(what + 20, ' ') == NULL)
		p = what + 20;
	else if (strncmp(what, "contract", 8) == 0 &&
	    (what[8] == ' ' || what[8] == '\0')) {
		*errstr = "usage: report contract [--provider P]";
		return PROVOST_PLUGIN_ERROR;
	} else
		return 0;
	if (contracts_print(s->c, p, out, c_refusals_cb, s) != 0) {
		if (s->why[0] == '\0')
			(void)snprintf(s->why, sizeof(s->why),
			    "no contract for provider %s", p != NULL ? p : "?");
		*errstr = s->why;
		return PROVOST_PLUGIN_ERROR;
	}
	return 1;
}

static int
c_ended(void *ctx, const char *provider, const char *why)
{
	struct state *s = ctx;

	return s->host->request_exit(s->host->ctx, provider, why) == 1 ? 0 : 1;
}

/* exit due: an exit for each provider whose contract has ended. */
static int
c_event(void *state, const struct provost_event *ev, const char **errstr)
{
	struct state *s = state;

	if (ev->kind != PROVOST_EVENT_EXIT_DUE)
		return 1;
	switch (contracts_ended(s->c, ev->time, c_ended, s)) {
	case 0:
		return 1;
	case -1:
		*errstr = "a contract's local time cannot be read";
		return PROVOST_PLUGIN_ERROR;
	default:
		*errstr = "an exit request could not be sent";
		return PROVOST_PLUGIN_ERROR;
	}
}

/* Right after c_check allowed the same access: its banner, if any. */
static const char *
c_banner(void *state, const struct provost_access *a)
{
	struct state *s = state;

	(void)a;
	return s->banner[0] != '\0' ? s->banner : NULL;
}

static void
c_fini(void *state)
{
	struct state *s = state;

	contracts_free(s->c);
	free(s);
}

static const struct provost_plugin contract_ops = {
	.type = PROVOST_PLUGIN_TYPE,
	.version = PROVOST_PLUGIN_VERSION,
	.name = "contract",
	.init = c_init,
	.check_access = c_check,
	.on_event = c_event,
	.report = c_report,
	.fini = c_fini,
	.notice = c_banner,
};

__attribute__((visibility("default"))) const struct provost_plugin *
provost_plugin_v1(void);

__attribute__((visibility("default"))) const struct provost_plugin *
provost_plugin_v1(void)
{
	return &contract_ops;
}
