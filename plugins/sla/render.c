/*
 * render.c: an SLA month as Markdown (the monthly service review), CSV
 * and JSON (dashboards) or one self-contained HTML page, and every
 * provider side by side.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/common.h"
#include "plugins/sla/sla.h"

static const char *const metric_names[SLA_NMETRICS] = { "MTTA", "MTTR",
	"engage" };

int
sla_format_parse(const char *s, enum sla_format *out)
{
	static const char *const names[] = { "md", "csv", "json", "html" };
	int i;

	for (i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum sla_format)i;
			return 0;
		}
	return -1;
}

const char *
sla_dur(int64_t secs, char *buf, size_t len)
{
	if (secs < 0 || pv_duration_format((uint64_t)secs, buf, len) != 0)
		(void)snprintf(buf, len, "?");
	return buf;
}

/* 1/1000 % as "99.861%" or "5%" (trailing zeros dropped). */
static const char *
pct(uint32_t m, char *buf, size_t len)
{
	char f[8];
	int n;

	(void)snprintf(f, sizeof(f), "%03u", m % 1000);
	for (n = 2; n >= 0 && f[n] == '0'; n--)
		f[n] = '\0';
	(void)snprintf(buf, len, "%u%s%s%%", m / 1000, f[0] ? "." : "", f);
	return buf;
}

static const char *
money(const struct sla *s, uint64_t cents, char *buf, size_t len)
{
	(void)snprintf(buf, len, "%" PRIu64 ".%02u%s%s", cents / 100,
	    (unsigned int)(cents % 100), s->currency[0] ? " " : "",
	    s->currency);
	return buf;
}

static const char *
stat_cell(const struct sla_stats *st, int p90, char *buf, size_t len)
{
	if (st->n == 0)
		return "-";
	return sla_dur(p90 ? st->p90 : st->mean, buf, len);
}

static const char *
when(int64_t t, char *buf, size_t len)
{
	if (pv_time_format(t, buf, len) != 0)
		(void)snprintf(buf, len, "%" PRId64, t);
	return buf;
}

/* Text for HTML: & < > " ' escaped. */
static void
h(FILE *out, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&#39;", out);
			break;
		default:
			fputc(*s, out);
		}
	}
}

static json_t *
result_json(const struct sla_result *r)
{
	const struct sla *s = r->sla;
	json_t *o, *pr, *br;
	size_t i;
	int m;

	o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "provider",
	    s->provider, "sla", s->id, "month", r->month, "time_zone", s->zone,
	    "from", (json_int_t)r->from, "to", (json_int_t)r->to, "incidents",
	    (json_int_t)r->incidents, "unknown_priority",
	    (json_int_t)r->unknown_priority);
	pr = json_array();
	br = json_array();
	if (o == NULL || pr == NULL || br == NULL) {
		json_decref(o);
		json_decref(pr);
		json_decref(br);
		return NULL;
	}
	for (i = 0; i < s->nprio; i++) {
		const struct sla_prio_result *p = &r->p[i];
		json_t *po = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}",
		    "priority", s->prio[i].name, "clock",
		    s->prio[i].clock == SLA_CLOCK_24X7 ? "24x7" : "business",
		    "incidents", (json_int_t)p->incidents, "resolved",
		    (json_int_t)p->resolved, "open", (json_int_t)p->open,
		    "breaches", (json_int_t)p->breaches);

		for (m = 0; po != NULL && m < SLA_NMETRICS; m++) {
			json_t *mo = json_pack("{s:I, s:I}", "measured",
			    (json_int_t)p->m[m].n, "pending",
			    (json_int_t)p->m[m].pending);

			if (mo == NULL)
				break;
			if (s->prio[i].target[m] != 0)
				json_object_set_new(mo, "target_s",
				    json_integer(s->prio[i].target[m]));
			if (p->m[m].n > 0) {
				json_object_set_new(
				    mo, "mean_s", json_integer(p->m[m].mean));
				json_object_set_new(
				    mo, "p90_s", json_integer(p->m[m].p90));
			}
			json_object_set_new(po, metric_names[m], mo);
		}
		json_array_append_new(pr, po);
	}
	for (i = 0; i < r->nb; i++) {
		const struct sla_breach *b = &r->b[i];

		json_array_append_new(br,
		    json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:b, s:I}", "id",
			b->id, "priority", s->prio[b->prio].name, "metric",
			metric_names[b->metric], "target_s",
			(json_int_t)s->prio[b->prio].target[b->metric],
			"measured_s", (json_int_t)b->measured, "over_s",
			(json_int_t)(b->measured -
			    s->prio[b->prio].target[b->metric]),
			"open", b->open, "credit_mpct",
			(json_int_t)b->credit_mpct));
	}
	json_object_set_new(o, "priorities", pr);
	json_object_set_new(o, "breaches", br);
	json_object_set_new(o, "availability",
	    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "targets",
		(json_int_t)r->ntargets, "period_s", (json_int_t)r->period,
		"outage_s", (json_int_t)r->outage, "mpct",
		(json_int_t)r->avail_mpct, "objective_mpct",
		(json_int_t)s->avail_mpct, "credit_mpct",
		(json_int_t)r->avail_credit_mpct));
	json_object_set_new(o, "credit",
	    json_pack("{s:I, s:I, s:I, s:I, s:I, s:s, s:I}", "breaches_mpct",
		(json_int_t)r->breach_credit_mpct, "availability_mpct",
		(json_int_t)r->avail_credit_mpct, "total_mpct",
		(json_int_t)r->credit_mpct, "cap_mpct", (json_int_t)s->cap_mpct,
		"threshold_s", (json_int_t)s->threshold, "currency",
		s->currency, "cents", (json_int_t)r->credit_cents));
	return o;
}

static void
md(const struct sla_result *r, FILE *out)
{
	const struct sla *s = r->sla;
	char a[32], b[32], c[32], d[32], e[32], f[32];
	size_t i;

	fprintf(out, "# SLA report: %s, %s\n\n", s->provider, r->month);
	fprintf(out,
	    "SLA %s, time zone %s, from %s to %s (maintenance "
	    "excluded from every clock).\n\n",
	    s->id, s->zone, when(r->from, a, sizeof(a)),
	    when(r->to, b, sizeof(b)));
	fprintf(out,
	    "| priority | clock | incidents | resolved | MTTA mean "
	    "| MTTA p90 | MTTR mean | MTTR p90 | engage mean | "
	    "engage p90 | breaches |\n");
	fprintf(out, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
	for (i = 0; i < s->nprio; i++) {
		const struct sla_prio_result *p = &r->p[i];

		fprintf(out,
		    "| %s | %s | %zu | %zu | %s | %s | %s | %s | %s | %s | "
		    "%zu |\n",
		    s->prio[i].name,
		    s->prio[i].clock == SLA_CLOCK_24X7 ? "24x7" : "business",
		    p->incidents, p->resolved,
		    stat_cell(&p->m[SLA_MTTA], 0, a, sizeof(a)),
		    stat_cell(&p->m[SLA_MTTA], 1, b, sizeof(b)),
		    stat_cell(&p->m[SLA_MTTR], 0, c, sizeof(c)),
		    stat_cell(&p->m[SLA_MTTR], 1, d, sizeof(d)),
		    stat_cell(&p->m[SLA_ENGAGE], 0, e, sizeof(e)),
		    stat_cell(&p->m[SLA_ENGAGE], 1, f, sizeof(f)), p->breaches);
	}
	if (r->unknown_priority > 0)
		fprintf(out,
		    "\n%zu incident(s) of a priority the SLA does not "
		    "name are not counted.\n",
		    r->unknown_priority);
	fprintf(out, "\n## Breaches\n\n");
	if (r->nb == 0)
		fprintf(out, "None.\n");
	else {
		fprintf(out,
		    "| incident | priority | metric | target | "
		    "measured | over by | credit |\n");
		fprintf(out, "|---|---|---|--:|--:|--:|--:|\n");
	}
	for (i = 0; i < r->nb; i++) {
		const struct sla_breach *bb = &r->b[i];
		int64_t t = s->prio[bb->prio].target[bb->metric];

		fprintf(out, "| %s | %s | %s | %s | %s%s | %s | %s%s |\n",
		    bb->id, s->prio[bb->prio].name, metric_names[bb->metric],
		    sla_dur(t, a, sizeof(a)),
		    sla_dur(bb->measured, b, sizeof(b)),
		    bb->open ? " (open)" : "",
		    sla_dur(bb->measured - t, c, sizeof(c)),
		    pct(bb->credit_mpct, d, sizeof(d)),
		    bb->credit_mpct == 0 && s->prio[bb->prio].credit_mpct != 0
			? " (within the threshold)"
			: "");
	}
	fprintf(out, "\n## Availability\n\n");
	if (r->ntargets == 0)
		fprintf(out, "No target in scope.\n");
	else
		fprintf(out,
		    "%s over %zu target(s): %s down of %s each outside "
		    "maintenance (from imported outages)%s%s%s.\n",
		    pct(r->avail_mpct, a, sizeof(a)), r->ntargets,
		    sla_dur(r->outage, b, sizeof(b)),
		    sla_dur(r->period, c, sizeof(c)),
		    s->avail_mpct ? "; objective " : "",
		    s->avail_mpct ? pct(s->avail_mpct, d, sizeof(d)) : "",
		    s->avail_mpct == 0                   ? ""
			: r->avail_mpct >= s->avail_mpct ? ", met"
							 : ", missed");
	fprintf(out, "\n## Service credit\n\n");
	fprintf(out,
	    "Breaches %s, availability %s: %s owed (cap %s; a deviation up "
	    "to %s earns nothing)",
	    pct(r->breach_credit_mpct, a, sizeof(a)),
	    pct(r->avail_credit_mpct, b, sizeof(b)),
	    pct(r->credit_mpct, c, sizeof(c)), pct(s->cap_mpct, d, sizeof(d)),
	    sla_dur(s->threshold, e, sizeof(e)));
	if (s->fee_cents != 0)
		fprintf(out, " = %s of the monthly fee of %s",
		    money(s, r->credit_cents, a, sizeof(a)),
		    money(s, s->fee_cents, b, sizeof(b)));
	fprintf(out, ".\n");
}

static void
csv(const struct sla_result *r, FILE *out)
{
	const struct sla *s = r->sla;
	size_t i, k;
	int m;

	fprintf(out,
	    "provider,month,priority,incidents,resolved,mtta_mean_s,mtta_p90_"
	    "s,mttr_mean_s,mttr_p90_s,engage_mean_s,engage_p90_s,breaches,"
	    "breach_ids,availability_pct,credit_pct\n");
	for (i = 0; i < s->nprio; i++) {
		const struct sla_prio_result *p = &r->p[i];
		const char *sep = "";

		fprintf(out, "%s,%s,%s,%zu,%zu", s->provider, r->month,
		    s->prio[i].name, p->incidents, p->resolved);
		for (m = 0; m < SLA_NMETRICS; m++) {
			if (p->m[m].n == 0)
				fprintf(out, ",,");
			else
				fprintf(out, ",%" PRId64 ",%" PRId64,
				    p->m[m].mean, p->m[m].p90);
		}
		fprintf(out, ",%zu,\"", p->breaches);
		for (k = 0; k < r->nb; k++)
			if (r->b[k].prio == i) {
				fprintf(out, "%s%s:%s", sep, r->b[k].id,
				    metric_names[r->b[k].metric]);
				sep = " ";
			}
		fprintf(out, "\",,\n");
	}
	fprintf(out, "%s,%s,all,%zu,,,,,,,,%zu,,%u.%03u,%u.%03u\n", s->provider,
	    r->month, r->incidents, r->nb, r->avail_mpct / 1000,
	    r->avail_mpct % 1000, r->credit_mpct / 1000, r->credit_mpct % 1000);
}

static void
html_head(FILE *out, const char *title)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
	      "charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-"
	      "Policy\" content=\"default-src 'none'; style-src "
	      "'unsafe-inline'\">\n<title>",
	    out);
	h(out, title);
	fputs("</title>\n<style>body{font-family:sans-serif;margin:2em}"
	      "table{border-collapse:collapse}td,th{border:1px solid #999;"
	      "padding:.2em .6em;text-align:right}td:first-child,th:first-"
	      "child{text-align:left}.bad{color:#a00}</style>\n</head><body>"
	      "\n",
	    out);
}

static void
html(const struct sla_result *r, FILE *out)
{
	const struct sla *s = r->sla;
	char t[160], a[32], b[32], c[32], d[32];
	size_t i;
	int m;

	(void)snprintf(
	    t, sizeof(t), "SLA report: %s, %s", s->provider, r->month);
	html_head(out, t);
	fputs("<h1>", out);
	h(out, t);
	fputs("</h1>\n<p>SLA ", out);
	h(out, s->id);
	fputs(", time zone ", out);
	h(out, s->zone);
	fputs(" (maintenance excluded from every clock)</p>\n<table><tr>"
	      "<th>priority</th><th>incidents</th><th>resolved</th>",
	    out);
	for (m = 0; m < SLA_NMETRICS; m++)
		fprintf(out, "<th>%s mean</th><th>%s p90</th>", metric_names[m],
		    metric_names[m]);
	fputs("<th>breaches</th></tr>\n", out);
	for (i = 0; i < s->nprio; i++) {
		const struct sla_prio_result *p = &r->p[i];

		fputs("<tr><td>", out);
		h(out, s->prio[i].name);
		fprintf(out, "</td><td>%zu</td><td>%zu</td>", p->incidents,
		    p->resolved);
		for (m = 0; m < SLA_NMETRICS; m++)
			fprintf(out, "<td>%s</td><td>%s</td>",
			    stat_cell(&p->m[m], 0, a, sizeof(a)),
			    stat_cell(&p->m[m], 1, b, sizeof(b)));
		fprintf(out, "<td%s>%zu</td></tr>\n",
		    p->breaches ? " class=\"bad\"" : "", p->breaches);
	}
	fputs("</table>\n<h2>Breaches</h2>\n", out);
	if (r->nb == 0)
		fputs("<p>None.</p>\n", out);
	else
		fputs("<table><tr><th>incident</th><th>priority</th><th>metric"
		      "</th><th>target</th><th>measured</th><th>over by</th>"
		      "<th>credit</th></tr>\n",
		    out);
	for (i = 0; i < r->nb; i++) {
		const struct sla_breach *bb = &r->b[i];
		int64_t tt = s->prio[bb->prio].target[bb->metric];

		fputs("<tr><td>", out);
		h(out, bb->id);
		fputs("</td><td>", out);
		h(out, s->prio[bb->prio].name);
		fprintf(out,
		    "</td><td>%s</td><td>%s</td><td>%s%s</td><td>%s</td>"
		    "<td>%s</td></tr>\n",
		    metric_names[bb->metric], sla_dur(tt, a, sizeof(a)),
		    sla_dur(bb->measured, b, sizeof(b)),
		    bb->open ? " (open)" : "",
		    sla_dur(bb->measured - tt, c, sizeof(c)),
		    pct(bb->credit_mpct, d, sizeof(d)));
	}
	if (r->nb > 0)
		fputs("</table>\n", out);
	fprintf(out,
	    "<h2>Availability</h2>\n<p>%s over %zu target(s), %s down "
	    "outside maintenance (from imported outages)</p>\n",
	    pct(r->avail_mpct, a, sizeof(a)), r->ntargets,
	    sla_dur(r->outage, b, sizeof(b)));
	fprintf(out,
	    "<h2>Service credit</h2>\n<p>breaches %s, availability %s: "
	    "<strong>%s</strong> owed (cap %s)",
	    pct(r->breach_credit_mpct, a, sizeof(a)),
	    pct(r->avail_credit_mpct, b, sizeof(b)),
	    pct(r->credit_mpct, c, sizeof(c)), pct(s->cap_mpct, d, sizeof(d)));
	if (s->fee_cents != 0) {
		fputs(" = ", out);
		h(out, money(s, r->credit_cents, a, sizeof(a)));
	}
	fputs("</p>\n</body></html>\n", out);
}

int
sla_render(const struct sla_result *r, enum sla_format f, FILE *out)
{
	json_t *j;
	int rc;

	switch (f) {
	case SLA_FMT_MD:
		md(r, out);
		break;
	case SLA_FMT_CSV:
		csv(r, out);
		break;
	case SLA_FMT_HTML:
		html(r, out);
		break;
	case SLA_FMT_JSON:
		if ((j = result_json(r)) == NULL)
			return -1;
		rc = json_dumpf(j, out, JSON_INDENT(2) | JSON_SORT_KEYS);
		json_decref(j);
		if (rc != 0)
			return -1;
		fputc('\n', out);
		break;
	}
	return ferror(out) ? -1 : 0;
}

/* The mean of a metric over every priority (seconds), or -1. */
static int64_t
all_mean(const struct sla_result *r, int m)
{
	int64_t sum = 0;
	size_t n = 0, i;

	for (i = 0; i < r->sla->nprio; i++) {
		sum += r->p[i].m[m].mean * (int64_t)r->p[i].m[m].n;
		n += r->p[i].m[m].n;
	}
	return n == 0 ? -1 : (sum + (int64_t)n / 2) / (int64_t)n;
}

int
sla_render_providers(const struct sla_result *r, size_t n,
    const char *const *without, size_t nwithout, const char *month,
    enum sla_format f, FILE *out)
{
	char a[32], b[32], c[32], d[32], e[32], t[96];
	json_t *arr;
	size_t i;
	int m;

	if (f == SLA_FMT_JSON) {
		if ((arr = json_array()) == NULL)
			return -1;
		for (i = 0; i < n; i++)
			json_array_append_new(arr, result_json(&r[i]));
		for (i = 0; i < nwithout; i++)
			json_array_append_new(arr,
			    json_pack("{s:s, s:s, s:n}", "provider", without[i],
				"month", month, "sla"));
		m = json_dumpf(arr, out, JSON_INDENT(2) | JSON_SORT_KEYS);
		json_decref(arr);
		fputc('\n', out);
		return m != 0 || ferror(out) ? -1 : 0;
	}
	if (f == SLA_FMT_CSV)
		fprintf(out,
		    "provider,month,sla,incidents,breaches,mtta_mean_"
		    "s,mttr_mean_s,engage_mean_s,availability_pct,"
		    "credit_pct\n");
	else if (f == SLA_FMT_MD)
		fprintf(out,
		    "# Providers, %s\n\n| provider | SLA | incidents | "
		    "breaches | MTTA mean | MTTR mean | engage mean | "
		    "availability | credit |\n|---|---|--:|--:|--:|--:|--:|"
		    "--:|--:|\n",
		    month);
	else {
		(void)snprintf(t, sizeof(t), "Providers, %s", month);
		html_head(out, t);
		fputs("<h1>", out);
		h(out, t);
		fputs("</h1>\n<table><tr><th>provider</th><th>SLA</th><th>"
		      "incidents</th><th>breaches</th><th>MTTA mean</th><th>"
		      "MTTR mean</th><th>engage mean</th><th>availability</th>"
		      "<th>credit</th></tr>\n",
		    out);
	}
	for (i = 0; i < n; i++) {
		const struct sla_result *x = &r[i];
		int64_t mv[SLA_NMETRICS];

		for (m = 0; m < SLA_NMETRICS; m++)
			mv[m] = all_mean(x, m);
		if (f == SLA_FMT_CSV) {
			fprintf(out, "%s,%s,%s,%zu,%zu", x->sla->provider,
			    month, x->sla->id, x->incidents, x->nb);
			for (m = 0; m < SLA_NMETRICS; m++) {
				if (mv[m] < 0)
					fputc(',', out);
				else
					fprintf(out, ",%" PRId64, mv[m]);
			}
			fprintf(out, ",%u.%03u,%u.%03u\n", x->avail_mpct / 1000,
			    x->avail_mpct % 1000, x->credit_mpct / 1000,
			    x->credit_mpct % 1000);
			continue;
		}
		(void)snprintf(a, sizeof(a), "-");
		(void)snprintf(b, sizeof(b), "-");
		(void)snprintf(c, sizeof(c), "-");
		if (mv[0] >= 0)
			(void)sla_dur(mv[0], a, sizeof(a));
		if (mv[1] >= 0)
			(void)sla_dur(mv[1], b, sizeof(b));
		if (mv[2] >= 0)
			(void)sla_dur(mv[2], c, sizeof(c));
		if (f == SLA_FMT_MD) {
			fprintf(out,
			    "| %s | %s | %zu | %zu | %s | %s | %s | %s | %s "
			    "|\n",
			    x->sla->provider, x->sla->id, x->incidents, x->nb,
			    a, b, c, pct(x->avail_mpct, d, sizeof(d)),
			    pct(x->credit_mpct, e, sizeof(e)));
			continue;
		}
		fputs("<tr><td>", out);
		h(out, x->sla->provider);
		fputs("</td><td>", out);
		h(out, x->sla->id);
		fprintf(out,
		    "</td><td>%zu</td><td>%zu</td><td>%s</td><td>%s</td>"
		    "<td>%s</td><td>%s</td><td>%s</td></tr>\n",
		    x->incidents, x->nb, a, b, c,
		    pct(x->avail_mpct, d, sizeof(d)),
		    pct(x->credit_mpct, e, sizeof(e)));
	}
	for (i = 0; i < nwithout; i++) {
		if (f == SLA_FMT_CSV)
			fprintf(out, "%s,%s,,,,,,,,\n", without[i], month);
		else if (f == SLA_FMT_MD)
			fprintf(
			    out, "| %s | (none) | | | | | | | |\n", without[i]);
		else {
			fputs("<tr><td>", out);
			h(out, without[i]);
			fputs("</td><td>(none)</td><td></td><td></td><td></td>"
			      "<td></td><td></td><td></td><td></td></tr>\n",
			    out);
		}
	}
	if (f == SLA_FMT_HTML)
		fputs("</table>\n</body></html>\n", out);
	return ferror(out) ? -1 : 0;
}
