/*
 * incidents.c: the client's ticketing export (incidents) and target
 * outages, imported all or nothing for the sla plugin's reports.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "store/store-int.h"

/* col equals the parameter, NULL equal to NULL (SQLite's IS, portably) */
#define SAME(col, p) "(" col " = " p " OR (" col " IS NULL AND " p " IS NULL))"

enum icol {
	IC_ID = 0,
	IC_PROVIDER,
	IC_PRIORITY,
	IC_OPENED,
	IC_ACKNOWLEDGED,
	IC_RESOLVED,
	IC_SERVICE,
	NICOL
};
static const char *const icol_names[NICOL] = { "id", "provider", "priority",
	"opened", "acknowledged", "resolved", "service" };

enum ocol { OC_TARGET = 0, OC_START, OC_END, OC_NOTE, NOCOL };
static const char *const ocol_names[NOCOL] = { "target", "start", "end",
	"note" };

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
num(const char *s, size_t n, int *out)
{
	size_t i;
	int v = 0;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
store_time_parse(const char *s, int64_t *out)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };
	int y, mo, d, h, mi, se = 0, oh = 0, om = 0, sign = 0;
	size_t n, i;
	const char *z;

	*out = 0;
	if (s == NULL || (n = strlen(s)) == 0 || n > 32)
		return -1;
	for (i = 0; i < n && isdigit((unsigned char)s[i]); i++)
		;
	if (i == n) { /* unix seconds */
		if (n > 11)
			return -1;
		*out = (int64_t)strtoll(s, NULL, 10);
		return *out >= 946684800 && *out < 7258118400LL ? 0 : -1;
	}
	/* YYYY-MM-DD[T ]HH:MM[:SS][Z|+HH:MM|-HH:MM] */
	if (n < 16 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != ' ') || s[13] != ':' ||
	    num(s, 4, &y) != 0 || num(s + 5, 2, &mo) != 0 ||
	    num(s + 8, 2, &d) != 0 || num(s + 11, 2, &h) != 0 ||
	    num(s + 14, 2, &mi) != 0)
		return -1;
	z = s + 16;
	if (*z == ':') {
		if (num(z + 1, 2, &se) != 0 || se > 59)
			return -1;
		z += 3;
	}
	if (*z == 'Z' && z[1] == '\0')
		;
	else if ((*z == '+' || *z == '-') && strlen(z) == 6 && z[3] == ':' &&
	    num(z + 1, 2, &oh) == 0 && num(z + 4, 2, &om) == 0 && oh <= 14 &&
	    om <= 59)
		sign = *z == '+' ? 1 : -1;
	else if (*z != '\0')
		return -1;
	if (y < 2000 || y > 2199 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] || h > 23 || mi > 59)
		return -1;
	if (mo == 2 && d == 29 &&
	    !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	*out = days_from_civil(y, (unsigned int)mo, (unsigned int)d) * 86400 +
	    h * 3600 + mi * 60 + se - sign * (oh * 3600 + om * 60);
	return 0;
}

/* 1..max of [A-Za-z0-9] and extra. */
static int
word_ok(const char *s, size_t max, const char *extra)
{
	size_t i, n;

	if (s == NULL || (n = strlen(s)) == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr(extra, s[i]) == NULL)
			return 0;
	return 1;
}

static const char *
i_header(const int *seen)
{
	if (!seen[IC_ID] || !seen[IC_PROVIDER] || !seen[IC_PRIORITY] ||
	    !seen[IC_OPENED])
		return "id, provider, priority and opened are needed";
	return NULL;
}

struct irow {
	int64_t opened, acked, resolved;
};

static const char *
i_times(const struct st_imp_row *row, struct irow *t)
{
	*t = (struct irow){ 0 };
	if (store_time_parse(row->v[IC_OPENED], &t->opened) != 0)
		return "opened: a time is needed (2026-11-03T09:15:00Z, an "
		       "offset or unix seconds)";
	if (row->v[IC_ACKNOWLEDGED] != NULL &&
	    store_time_parse(row->v[IC_ACKNOWLEDGED], &t->acked) != 0)
		return "acknowledged: not a time";
	if (row->v[IC_RESOLVED] != NULL &&
	    store_time_parse(row->v[IC_RESOLVED], &t->resolved) != 0)
		return "resolved: not a time";
	if (t->acked != 0 && t->acked < t->opened)
		return "acknowledged before it was opened";
	if (t->resolved != 0 && t->resolved < t->opened)
		return "resolved before it was opened";
	return NULL;
}

static const char *
i_row(void *ctx, const struct st_imp_row *row)
{
	struct irow t;
	const char *why;

	(void)ctx;
	/* no leading '-': a spreadsheet reads "-A1" in a CSV as a formula */
	if (!word_ok(row->v[IC_ID], STORE_INCIDENT_ID_MAX, "._:/-") ||
	    row->v[IC_ID][0] == '-')
		return "id: 1-64 of letters, digits and . _ : / - (not first)";
	if (!store_name_valid(row->v[IC_PROVIDER]))
		return "provider: not a valid name";
	if (!word_ok(row->v[IC_PRIORITY], 16, "_-"))
		return "priority: 1-16 of letters, digits, _ and -";
	if ((why = i_times(row, &t)) != NULL)
		return why;
	if (row->v[IC_SERVICE] != NULL &&
	    !word_ok(row->v[IC_SERVICE], 128, "._:/@-"))
		return "service: 1-128 of letters, digits and . _ : / @ -";
	return NULL;
}

static int
bind_opt(struct store *st, struct st_q *s, int i, int64_t v)
{
	return v != 0 ? st_bind_i64(st, s, i, v) : 0;
}

/* 1 added, 2 updated, 0 already so, < 0 error. */
static int
incident_put(struct store *st, const struct st_imp_row *row, int64_t now)
{
	struct st_q *s = NULL;
	struct irow t;
	int64_t pid;
	int r, found;

	(void)i_times(row, &t);
	if ((r = st_provider_id(st, row->v[IC_PROVIDER], &pid)) != 0)
		return r;
	if ((r = st_prep(st,
		 "SELECT provider_id = ?2 AND priority = ?3 AND opened_at = ?4 "
		 "AND " SAME("acked_at", "?5") " AND " SAME(
		     "resolved_at", "?6") " AND " SAME("service",
		     "?7") " "
			   "FROM incidents WHERE id = ?1",
		 &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, row->v[IC_ID])) != 0 ||
	    (r = st_bind_i64(st, s, 2, pid)) != 0 ||
	    (r = st_bind_text(st, s, 3, row->v[IC_PRIORITY])) != 0 ||
	    (r = st_bind_i64(st, s, 4, t.opened)) != 0 ||
	    (r = bind_opt(st, s, 5, t.acked)) != 0 ||
	    (r = bind_opt(st, s, 6, t.resolved)) != 0 ||
	    (r = st_bind_text(st, s, 7, row->v[IC_SERVICE])) != 0 ||
	    (r = st_step_row(st, s, "incident find")) < 0)
		goto out;
	found = r;
	if (found == 1 && st_col_int(s, 0) == 1) {
		r = 0;
		goto out;
	}
	st_done(s);
	s = NULL;
	if ((r = st_prep(st,
		 "INSERT INTO incidents(id, provider_id, priority, opened_at, "
		 "acked_at, resolved_at, service, imported_at, updated_at) "
		 "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?8) ON CONFLICT(id) DO "
		 "UPDATE SET provider_id = ?2, priority = ?3, opened_at = ?4, "
		 "acked_at = ?5, resolved_at = ?6, service = ?7, updated_at = "
		 "?8",
		 &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, row->v[IC_ID])) != 0 ||
	    (r = st_bind_i64(st, s, 2, pid)) != 0 ||
	    (r = st_bind_text(st, s, 3, row->v[IC_PRIORITY])) != 0 ||
	    (r = st_bind_i64(st, s, 4, t.opened)) != 0 ||
	    (r = bind_opt(st, s, 5, t.acked)) != 0 ||
	    (r = bind_opt(st, s, 6, t.resolved)) != 0 ||
	    (r = st_bind_text(st, s, 7, row->v[IC_SERVICE])) != 0 ||
	    (r = st_bind_i64(st, s, 8, now)) != 0 ||
	    (r = st_step_done(st, s, "incident put")) != 0)
		goto out;
	r = found == 1 ? 2 : 1;
out:
	st_done(s);
	return r;
}

static const char *
o_header(const int *seen)
{
	if (!seen[OC_TARGET] || !seen[OC_START] || !seen[OC_END])
		return "target, start and end are needed";
	return NULL;
}

static const char *
o_row(void *ctx, const struct st_imp_row *row)
{
	int64_t a, b;

	(void)ctx;
	if (!store_name_valid(row->v[OC_TARGET]))
		return "target: not a valid name";
	if (store_time_parse(row->v[OC_START], &a) != 0)
		return "start: a time is needed";
	if (store_time_parse(row->v[OC_END], &b) != 0)
		return "end: a time is needed";
	if (b <= a)
		return "end: not after start";
	if (row->v[OC_NOTE] != NULL && strlen(row->v[OC_NOTE]) > 256)
		return "note: at most 256 characters";
	return NULL;
}

/* 1 added, 2 updated, 0 already so, < 0 error. */
static int
outage_put(struct store *st, const struct st_imp_row *row, int64_t now)
{
	struct st_q *s = NULL;
	int64_t tid, a, b;
	int r, found;

	(void)store_time_parse(row->v[OC_START], &a);
	(void)store_time_parse(row->v[OC_END], &b);
	if ((r = st_target_id(st, row->v[OC_TARGET], &tid)) != 0)
		return r;
	if ((r = st_prep(st,
		 "SELECT ended_at = ?3 AND " SAME(
		     "note", "?4") " FROM outages WHERE "
				   "target_id = ?1 AND started_at = ?2",
		 &s)) != 0 ||
	    (r = st_bind_i64(st, s, 1, tid)) != 0 ||
	    (r = st_bind_i64(st, s, 2, a)) != 0 ||
	    (r = st_bind_i64(st, s, 3, b)) != 0 ||
	    (r = st_bind_text(st, s, 4, row->v[OC_NOTE])) != 0 ||
	    (r = st_step_row(st, s, "outage find")) < 0)
		goto out;
	found = r;
	if (found == 1 && st_col_int(s, 0) == 1) {
		r = 0;
		goto out;
	}
	st_done(s);
	s = NULL;
	if ((r = st_prep(st,
		 "INSERT INTO outages(target_id, started_at, ended_at, note, "
		 "imported_at) VALUES (?1,?2,?3,?4,?5) ON "
		 "CONFLICT(target_id, started_at) DO UPDATE SET ended_at = ?3, "
		 "note = ?4",
		 &s)) != 0 ||
	    (r = st_bind_i64(st, s, 1, tid)) != 0 ||
	    (r = st_bind_i64(st, s, 2, a)) != 0 ||
	    (r = st_bind_i64(st, s, 3, b)) != 0 ||
	    (r = st_bind_text(st, s, 4, row->v[OC_NOTE])) != 0 ||
	    (r = st_bind_i64(st, s, 5, now)) != 0 ||
	    (r = st_step_done(st, s, "outage put")) != 0)
		goto out;
	r = found == 1 ? 2 : 1;
out:
	st_done(s);
	return r;
}

/* An incident's key: its id. */
static int
i_key(const struct st_imp_row *row, char *buf, size_t len)
{
	return snprintf(buf, len, "%s", row->v[IC_ID]) < 0 ? -1 : 0;
}

/* An outage's: its target and start (as a time, however written). */
static int
o_key(const struct st_imp_row *row, char *buf, size_t len)
{
	int64_t a = 0;

	(void)store_time_parse(row->v[OC_START], &a);
	return snprintf(buf, len, "%s %lld", row->v[OC_TARGET], (long long)a) <
		0
	    ? -1
	    : 0;
}

struct keyed {
	char key[96];
	size_t line;
};

static int
keyed_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c != 0 ? c : (x->line < y->line ? -1 : x->line > y->line);
}

/*
 * One row per key in a file: the same incident twice would make a second
 * import of the file change what the first stored.
 */
static int
dup_check(
    struct st_imp *m, int (*key)(const struct st_imp_row *, char *, size_t))
{
	struct keyed *k;
	size_t i;
	int r = 0;

	if (m->n < 2)
		return 0;
	if ((k = calloc(m->n, sizeof(*k))) == NULL)
		return PV_ERR_ALLOC;
	for (i = 0; i < m->n; i++) {
		k[i].line = m->rows[i].line;
		if (key(&m->rows[i], k[i].key, sizeof(k[i].key)) != 0) {
			r = PV_ERR_INTERNAL;
			goto out;
		}
	}
	qsort(k, m->n, sizeof(*k), keyed_cmp);
	for (i = 1; i < m->n; i++)
		if (strcmp(k[i].key, k[i - 1].key) == 0) {
			r = st_imp_fail(m, k[i].line,
			    "%s given twice (line %zu)",
			    key == i_key ? "incident" : "outage",
			    k[i - 1].line);
			break;
		}
out:
	free(k);
	return r;
}

static int
import(struct store *st, const char *actor, struct st_imp *m, const char *data,
    size_t len, int64_t now,
    int (*put)(struct store *, const struct st_imp_row *, int64_t),
    int (*key)(const struct st_imp_row *, char *, size_t), const char *action,
    struct store_import_counts *cnt)
{
	struct store_import_counts c = { 0 };
	char obj[128];
	size_t i;
	int r;

	*cnt = c;
	if (m->errlen > 0)
		m->err[0] = '\0';
	if ((r = st_imp_parse(m, data, len)) != 0 ||
	    (r = dup_check(m, key)) != 0) {
		if (r == PV_ERR_ALLOC && m->errlen > 0)
			(void)snprintf(
			    m->err, m->errlen, "%s: out of memory", m->name);
		goto out0;
	}
	if ((r = st_begin(st, 1)) != 0) {
		(void)snprintf(
		    m->err, m->errlen, "%s: %s", m->name, store_errmsg(st));
		goto out0;
	}
	for (i = 0; i < m->n; i++) {
		if ((r = put(st, &m->rows[i], now)) < 0) {
			(void)st_imp_fail(
			    m, m->rows[i].line, "%s", store_errmsg(st));
			if (r == PV_ERR_NOT_FOUND)
				r = PV_ERR_INVALID;
			goto out;
		}
		if (r == 1)
			c.added++;
		else if (r == 2)
			c.updated++;
		else
			c.present++;
	}
	if ((r = st_object(obj, sizeof(obj), "file", m->name)) != 0)
		r = st_object(obj, sizeof(obj), "file", "(long name)");
	if (r != 0 ||
	    (r = st_audit(st, actor, action, obj,
		 json_pack("{s:I, s:I, s:I}", "added", (json_int_t)c.added,
		     "updated", (json_int_t)c.updated, "present",
		     (json_int_t)c.present))) != 0) {
		(void)snprintf(
		    m->err, m->errlen, "%s: %s", m->name, store_errmsg(st));
		goto out;
	}
	if ((r = st_commit(st)) != 0) {
		(void)snprintf(
		    m->err, m->errlen, "%s: %s", m->name, store_errmsg(st));
		goto out0;
	}
	*cnt = c;
	goto out0;
out:
	st_rollback(st);
out0:
	st_imp_free(m);
	return r;
}

int
store_incident_import(struct store *st, const char *actor, const char *name,
    const char *data, size_t len, int64_t now, struct store_import_counts *c,
    char *err, size_t errlen)
{
	struct st_imp m = {
		.name = name,
		.what = "incidents",
		.colnames = icol_names,
		.ncolnames = NICOL,
		.max_rows = STORE_INCIDENT_IMPORT_MAX,
		.integers = 1,
		.header_check = i_header,
		.row_check = i_row,
		.err = err,
		.errlen = errlen,
	};

	return import(st, actor, &m, data, len, now, incident_put, i_key,
	    "incident.import", c);
}

int
store_outage_import(struct store *st, const char *actor, const char *name,
    const char *data, size_t len, int64_t now, struct store_import_counts *c,
    char *err, size_t errlen)
{
	struct st_imp m = {
		.name = name,
		.what = "outages",
		.colnames = ocol_names,
		.ncolnames = NOCOL,
		.max_rows = STORE_INCIDENT_IMPORT_MAX,
		.integers = 1,
		.header_check = o_header,
		.row_check = o_row,
		.err = err,
		.errlen = errlen,
	};

	return import(st, actor, &m, data, len, now, outage_put, o_key,
	    "outage.import", c);
}

int
store_incident_query(struct store *st, const char *provider, int64_t from,
    int64_t to, json_t *arr)
{
	struct st_q *s = NULL;
	int r;

	/*
	 * Time to engage: the first session of one of the provider's
	 * engineers under a grant whose ticket is the incident's id.
	 */
	if ((r = st_prep_once(st,
		 "SELECT i.id, i.priority, i.opened_at, i.acked_at, "
		 "i.resolved_at, i.service, (SELECT min(s.started_at) FROM "
		 "grants g JOIN engineers e ON e.id = g.engineer_id JOIN "
		 "sessions s ON s.grant_id = g.id WHERE g.ticket = i.id AND "
		 "e.provider_id = i.provider_id), (SELECT count(*) FROM grants "
		 "g JOIN engineers e ON e.id = g.engineer_id WHERE g.ticket = "
		 "i.id AND e.provider_id = i.provider_id) FROM incidents i "
		 "JOIN providers p ON p.id = i.provider_id WHERE p.name = ?1 "
		 "AND i.opened_at >= ?2 AND i.opened_at < ?3 ORDER BY "
		 "i.opened_at, i.id",
		 &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, provider)) != 0 ||
	    (r = st_bind_i64(st, s, 2, from)) != 0 ||
	    (r = st_bind_i64(st, s, 3, to)) != 0)
		goto out;
	while ((r = st_step_row(st, s, "incident list")) == 1) {
		json_t *o = json_pack("{s:s, s:s, s:I}", "id",
		    st_col_text(s, 0), "priority", st_col_text(s, 1), "opened",
		    (json_int_t)st_col_i64(s, 2));
		int k;

		if (o == NULL) {
			r = PV_ERR_ALLOC;
			goto out;
		}
		for (k = 3; k <= 6; k++) {
			static const char *const key[] = { "acknowledged",
				"resolved", NULL, "engaged" };

			if (k == 5 || st_col_is_null(s, k))
				continue;
			json_object_set_new(
			    o, key[k - 3], json_integer(st_col_i64(s, k)));
		}
		if (st_col_text(s, 5) != NULL)
			json_object_set_new(
			    o, "service", json_string(st_col_text(s, 5)));
		json_object_set_new(
		    o, "grants", json_integer(st_col_i64(s, 7)));
		if (json_array_append_new(arr, o) != 0) {
			r = PV_ERR_ALLOC;
			goto out;
		}
	}
out:
	st_free(s); /* st_prep_once's own */
	return r < 0 ? r : 0;
}

/*
 * The outages provost saw itself: target.unreachable rows (written by
 * the monitor for the target it decided a session for) on the same target
 * with no channel started there between them (a channel.start row: the
 * target was reached) make a run, down from the first to the last
 * failure, to the second.  Never more: provost does not probe, so a
 * lone failure, or the time after the last one, is not known to be down.
 */
/* A run of failures, in ms, as an outage in seconds if it lasted one. */
static int
run_add(json_t *arr, json_t *run)
{
	int64_t a = json_integer_value(json_object_get(run, "start")) / 1000;
	int64_t b = json_integer_value(json_object_get(run, "end")) / 1000;
	const char *t = json_string_value(json_object_get(run, "target"));

	if (b <= a)
		return 0;
	return json_array_append_new(arr,
		   json_pack("{s:s, s:s, s:I, s:I}", "target", t, "source",
		       "observed", "start", (json_int_t)a, "end",
		       (json_int_t)b)) == 0
	    ? 0
	    : PV_ERR_ALLOC;
}

static int
observed_outages(struct store *st, int64_t from, int64_t to, json_t *arr)
{
	struct st_q *s = NULL, *ok = NULL;
	json_t *runs = json_object(), *run;
	const char *k;
	int r;

	if (runs == NULL)
		return PV_ERR_ALLOC;
	if ((r = st_prep_once(st,
		 "SELECT ts, details FROM audit WHERE action = "
		 "'target.unreachable' AND ts >= ?1 AND ts < ?2 ORDER BY seq",
		 &s)) != 0 ||
	    (r = st_bind_i64(st, s, 1, from * 1000)) != 0 ||
	    (r = st_bind_i64(st, s, 2, to * 1000)) != 0 ||
	    (r = st_prep_once(st,
		 "SELECT count(*) FROM audit a JOIN sessions x ON a.object = "
		 "'session:' || x.id JOIN targets t ON t.id = x.target_id "
		 "WHERE a.action = 'channel.start' AND t.name = ?1 AND a.ts > "
		 "?2 AND a.ts < ?3",
		 &ok)) != 0)
		goto out;
	while ((r = st_step_row(st, s, "unreachable rows")) == 1) {
		int64_t ts = st_col_i64(s, 0), last; /* ms */
		json_t *d = json_loads(st_col_text(s, 1), 0, NULL);
		const char *det =
		    json_string_value(json_object_get(d, "detail"));
		char name[128];
		size_t n;

		if (det == NULL || strncmp(det, "target=", 7) != 0 ||
		    (n = strcspn(det + 7, " ")) == 0 || n >= sizeof(name)) {
			json_decref(d);
			continue;
		}
		memcpy(name, det + 7, n);
		name[n] = '\0';
		json_decref(d);
		run = json_object_get(runs, name);
		if (run != NULL) {
			/* a channel started in between ends the run */
			last = json_integer_value(json_object_get(run, "end"));
			st_done(ok);
			if ((r = st_bind_text(st, ok, 1, name)) != 0 ||
			    (r = st_bind_i64(st, ok, 2, last)) != 0 ||
			    (r = st_bind_i64(st, ok, 3, ts)) != 0 ||
			    (r = st_step_row(st, ok, "sessions between")) < 0)
				goto out;
			if (r == 1 && st_col_i64(ok, 0) == 0) {
				(void)json_object_set_new(
				    run, "end", json_integer(ts));
				continue;
			}
			if ((r = run_add(arr, run)) != 0)
				goto out;
		}
		if ((run = json_pack("{s:s, s:s, s:I, s:I}", "target", name,
			 "source", "observed", "start", (json_int_t)ts, "end",
			 (json_int_t)ts)) == NULL ||
		    json_object_set_new(runs, name, run) != 0) {
			r = PV_ERR_ALLOC;
			goto out;
		}
	}
	if (r < 0)
		goto out;
	r = 0;
	json_object_foreach(runs, k, run)
	{
		if ((r = run_add(arr, run)) != 0)
			break;
	}
out:
	st_free(s);
	st_free(ok);
	json_decref(runs);
	return r < 0 ? r : 0;
}

int
store_outage_query(struct store *st, int64_t from, int64_t to, json_t *arr)
{
	struct st_q *s = NULL;
	int r;

	if ((r = st_prep_once(st,
		 "SELECT t.name, t.region, o.started_at, o.ended_at FROM "
		 "outages o JOIN targets t ON t.id = o.target_id WHERE "
		 "o.ended_at > ?1 AND o.started_at < ?2 ORDER BY o.started_at",
		 &s)) != 0 ||
	    (r = st_bind_i64(st, s, 1, from)) != 0 ||
	    (r = st_bind_i64(st, s, 2, to)) != 0)
		goto out;
	while ((r = st_step_row(st, s, "outage list")) == 1) {
		if (json_array_append_new(arr,
			json_pack("{s:s, s:s?, s:s, s:I, s:I}", "target",
			    st_col_text(s, 0), "region", st_col_text(s, 1),
			    "source", "imported", "start",
			    (json_int_t)st_col_i64(s, 2), "end",
			    (json_int_t)st_col_i64(s, 3))) != 0) {
			r = PV_ERR_ALLOC;
			goto out;
		}
	}
	if (r == 0)
		r = observed_outages(st, from, to, arr);
out:
	st_free(s); /* st_prep_once's own */
	return r < 0 ? r : 0;
}
