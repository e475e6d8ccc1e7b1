/*
 * plugin.c: the sla plugin (provost-sla(5)).  Its config is the SLA
 * file; it refuses nothing (check_access is absent) and makes two
 * reports from the store's incidents, targets and outages:
 * "provostctl report sla --provider P --month YYYY-MM [--format F]" and
 * "provostctl report providers --month YYYY-MM [--format F]".
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "plugins/provost_plugin.h"
#include "plugins/sla/sla.h"

#define ARGS_MAX 8

struct state {
	const struct provost_plugin_host *host;
	struct sla_file *f;
	char why[SLA_ERR_MAX];
};

static int
s_init(const struct provost_plugin_host *host, const char *config, void **state,
    const char **errstr)
{
	static char err[SLA_ERR_MAX];
	struct state *s;

	if (config == NULL) {
		*errstr = "the config must name the SLA file";
		return PROVOST_PLUGIN_ERROR;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		*errstr = "out of memory";
		return PROVOST_PLUGIN_ERROR;
	}
	if (sla_load(config, &s->f, err, sizeof(err)) != 0) {
		free(s);
		*errstr = err;
		return PROVOST_PLUGIN_ERROR;
	}
	s->host = host;
	*state = s;
	return 1;
}

static int
ask(struct state *s, const char *q, char **out)
{
	const char *e = NULL;

	*out = NULL;
	if (s->host == NULL || s->host->version < 0x10001 ||
	    s->host->query == NULL) {
		(void)snprintf(s->why, sizeof(s->why),
		    "this provost offers no store queries");
		return -1;
	}
	if (s->host->query(s->host->ctx, q, out, &e) != 1) {
		(void)snprintf(s->why, sizeof(s->why), "query %s: %s", q,
		    e != NULL ? e : "failed");
		return -1;
	}
	return 0;
}

/* One provider's month from the store. */
static int
month_of(struct state *s, const struct sla *sla, const char *month,
    struct sla_result *r)
{
	char q[160], *inc = NULL, *tg = NULL, *ou = NULL;
	int64_t from, to;
	int rc = -1;

	if (sla_month(sla, month, &from, &to) != 0) {
		(void)snprintf(
		    s->why, sizeof(s->why), "--month: YYYY-MM please");
		return -1;
	}
	(void)snprintf(q, sizeof(q), "incidents %s %lld %lld", sla->provider,
	    (long long)from, (long long)to);
	if (ask(s, q, &inc) != 0 || ask(s, "targets", &tg) != 0)
		goto out;
	(void)snprintf(
	    q, sizeof(q), "outages %lld %lld", (long long)from, (long long)to);
	if (ask(s, q, &ou) != 0)
		goto out;
	if (sla_compute(sla, month, (int64_t)time(NULL), inc, tg, ou, r, s->why,
		sizeof(s->why)) != 0)
		goto out;
	rc = 0;
out:
	free(inc);
	free(tg);
	free(ou);
	return rc;
}

static int
report_providers(
    struct state *s, FILE *out, const char *month, enum sla_format fmt)
{
	struct sla_result *r = NULL;
	const char **without = NULL;
	size_t i, nw = 0, nr = 0;
	char *pj = NULL;
	json_t *arr = NULL, *p;
	int rc = -1;

	if ((r = calloc(s->f->n + 1, sizeof(*r))) == NULL)
		goto out;
	for (i = 0; i < s->f->n; i++, nr++)
		if (month_of(s, &s->f->v[i], month, &r[i]) != 0)
			goto out;
	/* the providers in the store that have no SLA, named as such */
	if (ask(s, "providers", &pj) != 0)
		goto out;
	if ((arr = json_loads(pj, 0, NULL)) == NULL || !json_is_array(arr) ||
	    (without = calloc(json_array_size(arr) + 1, sizeof(*without))) ==
		NULL) {
		(void)snprintf(s->why, sizeof(s->why), "providers: bad answer");
		goto out;
	}
	json_array_foreach(arr, i, p)
	{
		const char *name =
		    json_string_value(json_object_get(p, "name"));

		if (name != NULL && sla_find(s->f, name) == NULL)
			without[nw++] = name;
	}
	if (sla_render_providers(r, nr, without, nw, month, fmt, out) != 0) {
		(void)snprintf(s->why, sizeof(s->why), "writing the report");
		goto out;
	}
	rc = 0;
out:
	for (i = 0; r != NULL && i < nr; i++)
		sla_result_clear(&r[i]);
	free(r);
	free(without);
	json_decref(arr);
	free(pj);
	return rc;
}

static int
s_report(void *state, FILE *out, const char *what, const char **errstr)
{
	struct state *s = state;
	const char *provider = NULL, *month = NULL, *format = "md";
	char buf[512], *w[ARGS_MAX], *save = NULL, *t;
	enum sla_format fmt;
	struct sla_result r;
	const struct sla *sla;
	size_t n = 0, i;
	int kind;

	if (strncmp(what, "sla", 3) == 0 && (what[3] == ' ' || !what[3]))
		kind = 0;
	else if (strncmp(what, "providers", 9) == 0 &&
	    (what[9] == ' ' || !what[9]))
		kind = 1;
	else
		return 0;
	*errstr = s->why;
	(void)snprintf(s->why, sizeof(s->why), "%s",
	    kind == 0 ? "usage: report sla --provider P --month YYYY-MM "
			"[--format md|csv|json|html]"
		      : "usage: report providers --month YYYY-MM [--format "
			"md|csv|json|html]");
	if (strlen(what) >= sizeof(buf))
		return PROVOST_PLUGIN_ERROR;
	memcpy(buf, what, strlen(what) + 1);
	for (t = strtok_r(buf, " ", &save); t != NULL;
	     t = strtok_r(NULL, " ", &save)) {
		if (n == ARGS_MAX)
			return PROVOST_PLUGIN_ERROR;
		w[n++] = t;
	}
	for (i = 1; i < n; i += 2) {
		if (i + 1 >= n)
			return PROVOST_PLUGIN_ERROR;
		if (kind == 0 && strcmp(w[i], "--provider") == 0)
			provider = w[i + 1];
		else if (strcmp(w[i], "--month") == 0)
			month = w[i + 1];
		else if (strcmp(w[i], "--format") == 0)
			format = w[i + 1];
		else
			return PROVOST_PLUGIN_ERROR;
	}
	if (month == NULL || (kind == 0 && provider == NULL) ||
	    sla_format_parse(format, &fmt) != 0)
		return PROVOST_PLUGIN_ERROR;
	if (kind == 1)
		return report_providers(s, out, month, fmt) == 0
		    ? 1
		    : PROVOST_PLUGIN_ERROR;
	if ((sla = sla_find(s->f, provider)) == NULL) {
		(void)snprintf(s->why, sizeof(s->why),
		    "no SLA for provider %s in %s", provider, s->f->name);
		return PROVOST_PLUGIN_ERROR;
	}
	if (month_of(s, sla, month, &r) != 0)
		return PROVOST_PLUGIN_ERROR;
	i = (size_t)sla_render(&r, fmt, out);
	sla_result_clear(&r);
	if (i != 0) {
		(void)snprintf(s->why, sizeof(s->why), "writing the report");
		return PROVOST_PLUGIN_ERROR;
	}
	return 1;
}

static void
s_fini(void *state)
{
	struct state *s = state;

	sla_free(s->f);
	free(s);
}

static const struct provost_plugin sla_ops = {
	.type = PROVOST_PLUGIN_TYPE,
	.version = PROVOST_PLUGIN_VERSION,
	.name = "sla",
	.init = s_init,
	.report = s_report,
	.fini = s_fini,
};

__attribute__((visibility("default"))) const struct provost_plugin *
provost_plugin_v1(void);

__attribute__((visibility("default"))) const struct provost_plugin *
provost_plugin_v1(void)
{
	return &sla_ops;
}
