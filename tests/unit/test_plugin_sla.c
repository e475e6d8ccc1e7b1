/*
 * test_plugin_sla.c: the sla plugin's figures for a hand-computed month
 * (21 incidents across priorities, a maintenance window, both month
 * boundaries, business hours over a weekend, an open incident, sessions
 * under tickets, overlapping outages), the incident import's all or
 * nothing and idempotence on a real SQLite store, and malformed SLA
 * files refused with NAME:LINE.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugins/sla/sla.h"
#include "store/store.h"
#include "store_test_util.h"

/*
 * Provider acme.  Nov 2026: Sun 1, Mon 2, Fri 6, Sat 7, Mon 9, Wed 11,
 * Fri 13, Sat 14, Sun 15, Mon 16, Tue 17, Wed 18, Fri 20, Mon 23, Thu 26,
 * Mon 30; 30 days = 2,592,000 s.
 */
static const char sla_conf[] =
    "# acme's SLA\n"
    "Sla acme-2026\n"
    "    Provider acme\n"
    "    BusinessHours Mon-Fri 08:00-18:00\n"
    "    Priority P1 Acknowledge 15m Resolve 4h Engage 30m Clock 24x7 "
    "Credit 5%\n"
    "    Priority P2 Acknowledge 1h Resolve 8h Engage 2h Clock business "
    "Credit 2%\n"
    "    Priority P3 Acknowledge 4h Resolve 3d Clock business Credit 1%\n"
    "    Maintenance 2026-11-14T22:00 2026-11-15T02:00\n"
    "    Availability 99.9%\n"
    "    Targets db*\n"
    "    Credit availability 99.9% 5%\n"
    "    Credit availability 99% 10%\n"
    "    CreditThreshold 10m\n"
    "    CreditCap 25%\n"
    "    MonthlyFee 20000 EUR\n";

static const char incidents_csv[] =
    "id,provider,priority,opened,acknowledged,resolved,service\n"
    /* October: not November's */
    "P1-00,acme,P1,2026-10-31T23:30:00Z,2026-10-31T23:35:00Z,"
    "2026-11-01T01:00:00Z,db\n"
    "P1-01,acme,P1,2026-11-03T10:00:00Z,2026-11-03T10:05:00Z,"
    "2026-11-03T12:00:00Z,db\n"
    "P1-02,acme,P1,2026-11-05T02:00:00Z,2026-11-05T02:14:00Z,"
    "2026-11-05T05:30:00Z,db\n"
    "P1-03,acme,P1,2026-11-10T20:00:00Z,2026-11-10T20:20:00Z,"
    "2026-11-10T23:00:00Z,web\n"
    "P1-04,acme,P1,2026-11-14T21:00:00Z,2026-11-14T21:10:00Z,"
    "2026-11-15T03:00:00Z,db\n"
    "P1-05,acme,P1,2026-11-20T08:00:00Z,2026-11-20T08:40:00Z,"
    "2026-11-20T13:00:00Z,db\n"
    "P1-06,acme,P1,2026-11-30T23:00:00Z,2026-11-30T23:05:00Z,"
    "2026-12-01T01:00:00Z,db\n"
    /* December: not November's */
    "P1-07,acme,P1,2026-12-01T00:30:00Z,,,\n"
    "P2-00,acme,P2,2026-10-30T09:00:00Z,2026-10-30T09:30:00Z,"
    "2026-10-30T12:00:00Z,\n"
    "P2-01,acme,P2,2026-11-02T17:30:00Z,2026-11-03T08:20:00Z,"
    "2026-11-03T15:00:00Z,\n"
    "P2-02,acme,P2,2026-11-06T16:00:00Z,2026-11-06T16:30:00Z,"
    "2026-11-09T12:00:00Z,\n"
    "P2-03,acme,P2,2026-11-07T10:00:00Z,2026-11-09T08:45:00Z,"
    "2026-11-09T15:00:00Z,\n"
    "P2-04,acme,P2,2026-11-11T09:00:00Z,2026-11-11T09:30:00Z,"
    "2026-11-12T09:00:00Z,\n"
    "P2-05,acme,P2,2026-11-17T10:00:00Z,2026-11-17T10:15:00Z,"
    "2026-11-17T14:00:00Z,\n"
    "P2-06,acme,P2,2026-11-26T14:00:00Z,2026-11-26T14:20:00Z,,\n"
    "P3-01,acme,P3,2026-11-02T09:00:00Z,2026-11-02T11:00:00Z,"
    "2026-11-04T17:00:00Z,\n"
    "P3-02,acme,P3,2026-11-18T12:00:00Z,2026-11-19T09:00:00Z,"
    "2026-11-19T17:00:00Z,\n"
    "P3-03,acme,P3,2026-11-13T17:00:00Z,2026-11-13T17:30:00Z,"
    "2026-11-16T09:00:00Z,\n"
    "P3-04,acme,P3,2026-11-23T08:00:00Z,2026-11-23T08:05:00Z,"
    "2026-11-23T10:00:00Z,\n"
    "P4-01,acme,P4,2026-11-24T10:00:00Z,,,\n"
    "G-1,globex,P1,2026-11-04T10:00:00Z,2026-11-04T11:00:00Z,"
    "2026-11-04T20:00:00Z,\n";

static const char outages_csv[] =
    "target,start,end,note\n"
    "db01,2026-11-14T23:00:00Z,2026-11-15T01:00:00Z,inside maintenance\n"
    "db01,2026-11-20T10:00:00Z,2026-11-20T11:00:00Z,disk\n"
    "db02,2026-11-21T12:00:00Z,2026-11-21T12:30:00Z,\n"
    "db02,2026-11-21T12:15:00Z,2026-11-21T12:45:00Z,overlaps\n"
    "db02,2026-11-30T23:00:00Z,2026-12-01T01:00:00Z,the month's end\n"
    "web01,2026-11-10T00:00:00Z,2026-11-10T10:00:00Z,out of scope\n";

static int64_t
t(const char *s)
{
	int64_t v = 0;

	assert_int_equal(store_time_parse(s, &v), 0);
	return v;
}

static void
grant_session(struct store *st, const char *engineer, const char *ticket,
    const char *when)
{
	const struct policy_decision rule = {
		.outcome = POLICY_NEEDS_GRANT,
		.rule = "jit",
		.approval = POLICY_APPROVAL_AUTO,
		.require_ticket = 1,
		.max_duration = 8 * 3600,
	};
	const struct store_grant_req req = {
		.engineer = engineer,
		.target = "db01",
		.account = "postgres",
		.duration = 3600,
		.ticket = ticket,
		.reason = "incident",
	};
	struct store_session_info in = {
		.engineer = engineer,
		.target = "db01",
		.account = "postgres",
		.rule = "jit",
		.client_addr = "192.0.2.1",
	};
	struct store_grant *g = NULL;
	char id[PV_UUID_LEN + 1];

	assert_int_equal(
	    store_grant_request(st, "test", &req, &rule, t(when) - 60, &g), 0);
	in.grant_id = g->id;
	assert_int_equal(store_session_open(st, &in, t(when), id), 0);
	store_grant_free(g);
}

static void
add_target(struct store *st, const char *name, uint8_t seed)
{
	static const char *const accts[] = { "postgres" };
	char *hk = tsu_keyline(seed, NULL);
	struct store_target_spec ts = {
		.name = name,
		.host = "127.0.0.1",
		.classification = "confidential",
		.hostkey = hk,
		.naccounts = 1,
		.accounts = accts,
	};

	assert_int_equal(store_target_add(st, "test", &ts), 0);
	free(hk);
}

static struct store *
month_store(void)
{
	struct store_import_counts c;
	struct store *st;
	char err[512];

	assert_int_equal(store_open(":memory:", &st), 0);
	assert_int_equal(tsu_populate(st), 0); /* acme, alice, bob, db01 */
	assert_int_equal(store_provider_add(st, "test", "globex", 0, 0), 0);
	assert_int_equal(
	    store_engineer_add(st, "test", "gus", "globex", NULL), 0);
	add_target(st, "db02", 0x43);
	add_target(st, "web01", 0x44);
	assert_int_equal(
	    store_incident_import(st, "test", "inc.csv", incidents_csv,
		strlen(incidents_csv), 1000, &c, err, sizeof(err)),
	    0);
	assert_int_equal(c.added, 21);
	assert_int_equal(store_outage_import(st, "test", "out.csv", outages_csv,
			     strlen(outages_csv), 1000, &c, err, sizeof(err)),
	    0);
	assert_int_equal(c.added, 6);
	/* first sessions under each ticket (time to engage) */
	grant_session(st, "alice", "P1-01", "2026-11-03T10:20:00Z");
	grant_session(st, "bob", "P1-01", "2026-11-03T11:00:00Z"); /* later */
	grant_session(st, "alice", "P1-02", "2026-11-05T02:30:00Z");
	grant_session(st, "alice", "P1-03", "2026-11-10T20:25:00Z");
	grant_session(st, "alice", "P1-04", "2026-11-14T21:30:00Z");
	grant_session(st, "bob", "P1-05", "2026-11-20T08:30:00Z");
	grant_session(st, "alice", "P1-06", "2026-11-30T23:20:00Z");
	grant_session(st, "alice", "P2-01", "2026-11-03T08:10:00Z");
	grant_session(st, "alice", "P2-02", "2026-11-09T09:00:00Z");
	grant_session(st, "alice", "P2-03", "2026-11-09T08:30:00Z");
	grant_session(st, "alice", "P2-04", "2026-11-11T10:00:00Z");
	/* another provider's engineer under acme's ticket: not acme's */
	grant_session(st, "gus", "P2-05", "2026-11-17T10:05:00Z");
	grant_session(st, "alice", "P2-06", "2026-11-26T15:00:00Z");
	grant_session(st, "alice", "P3-01", "2026-11-02T09:15:00Z");
	return st;
}

/* The store's answers for the month, then the arithmetic. */
static void
compute(struct store *st, const struct sla *s, struct sla_result *r)
{
	char q[128], err[256], *inc = NULL, *tg = NULL, *ou = NULL;
	int64_t from, to;

	assert_int_equal(sla_month(s, "2026-11", &from, &to), 0);
	assert_int_equal(from, t("2026-11-01T00:00:00Z"));
	assert_int_equal(to, t("2026-12-01T00:00:00Z"));
	(void)snprintf(q, sizeof(q), "incidents acme %lld %lld",
	    (long long)from, (long long)to);
	assert_int_equal(store_query(st, q, 0, &inc, err, sizeof(err)), 0);
	assert_int_equal(
	    store_query(st, "targets", 0, &tg, err, sizeof(err)), 0);
	(void)snprintf(
	    q, sizeof(q), "outages %lld %lld", (long long)from, (long long)to);
	assert_int_equal(store_query(st, q, 0, &ou, err, sizeof(err)), 0);
	assert_int_equal(sla_compute(s, "2026-11", t("2026-12-05T00:00:00Z"),
			     inc, tg, ou, r, err, sizeof(err)),
	    0);
	free(inc);
	free(tg);
	free(ou);
}

static void
stat_is(const struct sla_stats *st, size_t n, int64_t mean, int64_t p90,
    size_t pending)
{
	assert_int_equal(st->n, n);
	if (n > 0) {
		assert_int_equal(st->mean, mean);
		assert_int_equal(st->p90, p90);
	}
	assert_int_equal(st->pending, pending);
}

static void
breach_is(const struct sla_breach *b, const char *id, size_t prio,
    enum sla_metric m, int64_t measured, int open, uint32_t credit)
{
	assert_string_equal(b->id, id);
	assert_int_equal(b->prio, prio);
	assert_int_equal(b->metric, m);
	assert_int_equal(b->measured, measured);
	assert_int_equal(b->open, open);
	assert_int_equal(b->credit_mpct, credit);
}

static void
test_month(void **state)
{
	struct sla_file *f = NULL;
	struct sla_result r;
	struct store *st;
	char err[SLA_ERR_MAX];

	(void)state;
	assert_int_equal(sla_parse("sla.conf", sla_conf, strlen(sla_conf), &f,
			     err, sizeof(err)),
	    0);
	st = month_store();
	compute(st, sla_find(f, "acme"), &r);

	/*
	 * 17 of acme's 20 incidents were opened in November (P1-00, P2-00
	 * in October, P1-07 in December); P4-01's priority is not in the
	 * SLA; G-1 is globex's.
	 */
	assert_int_equal(r.incidents, 17);
	assert_int_equal(r.unknown_priority, 1);

	/*
	 * P1, 24x7 (Acknowledge 15m, Resolve 4h, Engage 30m).
	 * MTTA 5m 14m 20m 10m 40m 5m = 300+840+1200+600+2400+300 = 5640 s,
	 *   mean 5640/6 = 940 s; p90 = the ceil(0.9*6) = 6th smallest = 2400.
	 * MTTR 2h 3h30m 3h 2h 5h 2h = 63000 s, mean 10500; p90 18000.
	 *   P1-04 ran 21:00-03:00 (6 h) across the 22:00-02:00 window: 2 h.
	 *   P1-06 was opened Nov 30 23:00 and resolved Dec 1 01:00: 2 h,
	 *   November's.
	 * Engage 20m 30m 25m 30m 30m 20m = 9300 s, mean 1550; p90 1800
	 *   (P1-01's first session of two; 30m is the target, not over).
	 */
	assert_int_equal(r.p[0].incidents, 6);
	assert_int_equal(r.p[0].resolved, 6);
	stat_is(&r.p[0].m[SLA_MTTA], 6, 940, 2400, 0);
	stat_is(&r.p[0].m[SLA_MTTR], 6, 10500, 18000, 0);
	stat_is(&r.p[0].m[SLA_ENGAGE], 6, 1550, 1800, 0);
	assert_int_equal(r.p[0].breaches, 3);

	/*
	 * P2, business hours Mon-Fri 08:00-18:00 (1h, 8h, 2h).
	 * P2-01 Mon 17:30 -> Tue 08:20: 30m + 20m = 50m; resolved Tue 15:00:
	 *   30m + 7h = 7h30m; engaged Tue 08:10: 40m.
	 * P2-02 Fri 16:00: ack 30m; resolved Mon 12:00: 2h + 4h = 6h;
	 *   engaged Mon 09:00: 2h + 1h = 3h (over 2h by 1h: 2%).
	 * P2-03 Sat 10:00 (clock from Mon 08:00): ack 45m, resolved 7h,
	 *   engaged 30m.
	 * P2-04 Wed 09:00: ack 30m; resolved Thu 09:00: 9h + 1h = 10h (over
	 *   8h by 2h: 2%); engaged 1h.
	 * P2-05: ack 15m, resolved 4h, no session of acme's (globex's gus
	 *   under its ticket does not count): engage pending.
	 * P2-06 Thu 26 14:00: ack 20m, engaged 1h, open at the month's end:
	 *   Thu 4h + Fri 10h + Mon 30 10h = 24h (over by 16h: 2%).
	 * MTTA 50+30+45+30+15+20 = 190m = 11400 s, mean 1900, p90 3000.
	 * MTTR 27000+21600+25200+36000+14400 = 124200, mean 24840, p90
	 *   (ceil(4.5) = 5th) 36000; one pending.
	 * Engage 2400+10800+1800+3600+3600 = 22200, mean 4440, p90 10800.
	 */
	assert_int_equal(r.p[1].incidents, 6);
	assert_int_equal(r.p[1].resolved, 5);
	assert_int_equal(r.p[1].open, 1);
	stat_is(&r.p[1].m[SLA_MTTA], 6, 1900, 3000, 0);
	stat_is(&r.p[1].m[SLA_MTTR], 5, 24840, 36000, 1);
	stat_is(&r.p[1].m[SLA_ENGAGE], 5, 4440, 10800, 1);
	assert_int_equal(r.p[1].breaches, 3);

	/*
	 * P3, business hours (4h, 3d, no engage target).
	 * MTTA 2h 7h 30m 5m = 7200+25200+1800+300 = 34500, mean 8625, p90
	 *   25200 (P3-02 Wed 12:00 -> Thu 09:00: 6h + 1h, over 4h: 1%).
	 * MTTR 28h 15h 2h 2h = 169200, mean 42300, p90 100800 (P3-01 Mon
	 *   09:00 -> Wed 17:00: 9h + 10h + 9h; P3-03 Fri 17:00 -> Mon
	 *   09:00: 1h + 1h, the weekend and its window not counted).
	 * Engage: P3-01's 15m only; three without a session.
	 */
	assert_int_equal(r.p[2].incidents, 4);
	stat_is(&r.p[2].m[SLA_MTTA], 4, 8625, 25200, 0);
	stat_is(&r.p[2].m[SLA_MTTR], 4, 42300, 100800, 0);
	stat_is(&r.p[2].m[SLA_ENGAGE], 1, 900, 900, 3);
	assert_int_equal(r.p[2].breaches, 1);

	/*
	 * Breaches in the order the incidents were opened.  CreditThreshold
	 * 10m: P1-03's acknowledgement 5m late earns nothing.
	 */
	assert_int_equal(r.nb, 7);
	breach_is(&r.b[0], "P2-02", 1, SLA_ENGAGE, 10800, 0, 2000);
	breach_is(&r.b[1], "P1-03", 0, SLA_MTTA, 1200, 0, 0);
	breach_is(&r.b[2], "P2-04", 1, SLA_MTTR, 36000, 0, 2000);
	breach_is(&r.b[3], "P3-02", 2, SLA_MTTA, 25200, 0, 1000);
	breach_is(&r.b[4], "P1-05", 0, SLA_MTTA, 2400, 0, 5000);
	breach_is(&r.b[5], "P1-05", 0, SLA_MTTR, 18000, 0, 5000);
	breach_is(&r.b[6], "P2-06", 1, SLA_MTTR, 86400, 1, 2000);

	/*
	 * Availability of db01 and db02 (Targets db*; web01 is out of
	 * scope): the month less the 4 h window = 2592000 - 14400 = 2577600
	 * s each.  Down: db01 23:00-01:00 inside the window 0, db01 1h 3600,
	 * db02 12:00-12:30 and 12:15-12:45 merged 2700, db02 Nov 30 23:00 -
	 * Dec 1 01:00 clipped 3600: 9900.  100000 * (5155200 - 9900) /
	 * 5155200 = 99807.96 -> 99.807% (floor), under 99.9%: 5%.
	 */
	assert_int_equal(r.ntargets, 2);
	assert_int_equal(r.period, 2577600);
	assert_int_equal(r.outage, 9900);
	assert_int_equal(r.avail_mpct, 99807);
	assert_int_equal(r.avail_credit_mpct, 5000);

	/*
	 * Credit: breaches 2+0+2+1+5+5+2 = 17%, availability 5%: 22% (under
	 * the 25% cap) of 20000 EUR = 4400.00 EUR.
	 */
	assert_int_equal(r.breach_credit_mpct, 17000);
	assert_int_equal(r.credit_mpct, 22000);
	assert_int_equal(r.credit_cents, 440000);
	sla_result_clear(&r);
	store_close(st);
	sla_free(f);
}

/* The renderers carry the same figures. */
static void
test_render(void **state)
{
	struct sla_file *f = NULL;
	struct sla_result r;
	struct store *st;
	char err[SLA_ERR_MAX], *buf = NULL;
	size_t len = 0;
	FILE *out;

	(void)state;
	assert_int_equal(sla_parse("sla.conf", sla_conf, strlen(sla_conf), &f,
			     err, sizeof(err)),
	    0);
	st = month_store();
	compute(st, sla_find(f, "acme"), &r);
	assert_non_null(out = open_memstream(&buf, &len));
	assert_int_equal(sla_render(&r, SLA_FMT_MD, out), 0);
	assert_int_equal(fclose(out), 0);
	assert_non_null(strstr(buf,
	    "| P1 | 24x7 | 6 | 6 | 15m40s | 40m | 2h55m | 5h | 25m50s | 30m "
	    "| 3 |"));
	assert_non_null(strstr(buf,
	    "| P1-03 | P1 | MTTA | 15m | 20m | 5m | "
	    "0% (within the threshold) |"));
	assert_non_null(strstr(buf, "| P2-06 | P2 | MTTR | 8h | 1d (open) |"));
	assert_non_null(strstr(buf, "99.807% over 2 target(s)"));
	assert_non_null(strstr(buf, "22% owed"));
	assert_non_null(strstr(buf, "4400.00 EUR"));
	free(buf);
	buf = NULL;
	assert_non_null(out = open_memstream(&buf, &len));
	assert_int_equal(sla_render(&r, SLA_FMT_CSV, out), 0);
	assert_int_equal(fclose(out), 0);
	assert_non_null(strstr(buf,
	    "acme,2026-11,P2,6,5,1900,3000,24840,36000,4440,10800,3,"
	    "\"P2-02:engage P2-04:MTTR P2-06:MTTR\",,\n"));
	assert_non_null(strstr(buf,
	    "acme,2026-11,all,17,,,,,,,,7,,99.807,"
	    "22.000\n"));
	free(buf);
	buf = NULL;
	assert_non_null(out = open_memstream(&buf, &len));
	assert_int_equal(sla_render(&r, SLA_FMT_HTML, out), 0);
	assert_int_equal(fclose(out), 0);
	/* one page, nothing fetched */
	assert_non_null(strstr(buf, "default-src 'none'"));
	assert_null(strstr(buf, "http:"));
	assert_null(strstr(buf, "https:"));
	assert_null(strstr(buf, "src="));
	assert_null(strstr(buf, "<script"));
	free(buf);
	sla_result_clear(&r);
	store_close(st);
	sla_free(f);
}

/* A maintenance window is excluded from business hours too. */
static void
test_clock(void **state)
{
	static const char conf[] =
	    "Sla x\n Provider acme\n TimeZone Europe/Berlin\n"
	    " BusinessHours Mon-Fri 09:00-17:00\n"
	    " Priority P1 Resolve 4h Clock business\n"
	    " Maintenance 2026-11-03T10:00 2026-11-03T11:00\n";
	struct sla_file *f = NULL;
	const struct sla *s;
	char err[SLA_ERR_MAX];

	(void)state;
	assert_int_equal(
	    sla_parse("c", conf, strlen(conf), &f, err, sizeof(err)), 0);
	s = &f->v[0];
	/* Berlin is UTC+1 in November: 09:00 local is 08:00Z */
	assert_int_equal(s->win[0].start, t("2026-11-03T09:00:00Z"));
	/* Mon 2 16:00Z (17:00 local, closing) to Tue 3 12:00Z (13:00):
	 * Tue 09:00-13:00 local = 4h less the 1h window = 3h */
	assert_int_equal(
	    sla_clock(s, SLA_CLOCK_BUSINESS, t("2026-11-02T16:00:00Z"),
		t("2026-11-03T12:00:00Z")),
	    3 * 3600);
	/* the whole weekend: nothing */
	assert_int_equal(
	    sla_clock(s, SLA_CLOCK_BUSINESS, t("2026-11-07T00:00:00Z"),
		t("2026-11-09T00:00:00Z")),
	    0);
	assert_int_equal(sla_clock(s, SLA_CLOCK_24X7, t("2026-11-03T09:30:00Z"),
			     t("2026-11-03T10:30:00Z")),
	    1800);
	sla_free(f);
}

/* All or nothing, FILE:LINE, idempotent, an update counted as such. */
static void
test_import(void **state)
{
	static const struct {
		const char *in;
		const char *err;
	} bad[] = {
		{ "id,provider,priority,opened\nA,acme,P1,2026-11-01T00:00Z\n"
		  "B,acme,P1,2026-13-01T00:00Z\n",
		    "f:3: opened: a time is needed" },
		{ "id,provider,priority,opened\nA,nobody,P1,2026-11-01T00:"
		  "00Z\n",
		    "f:2: provider nobody" },
		{ "id,provider,opened\nA,acme,2026-11-01T00:00Z\n",
		    "f:1: header: id, provider, priority and opened" },
		{ "id,provider,priority,opened,resolved\n"
		  "A,acme,P1,2026-11-02T00:00Z,2026-11-01T00:00Z\n",
		    "f:2: resolved before it was opened" },
		{ "{\"id\":\"A\",\"provider\":\"acme\",\"priority\":\"P1\","
		  "\"opened\":\"2026-11-01T00:00Z\"}\n{\"id\":\"B\"}\n",
		    "f:2: provider: not a valid name" },
		{ "{\"id\":\"A b\",\"provider\":\"acme\",\"priority\":\"P1\","
		  "\"opened\":1793491200}\n",
		    "f:1: id: 1-64" },
		{ "provider,id,priority,opened\nacme,-A1,P1,1793491200\n",
		    "f:2: id: 1-64" },
		{ "id,provider,priority,opened,colour\n",
		    "f:1: header: "
		    "unknown column" },
	};
	static const char good[] =
	    "{\"id\":\"A\",\"provider\":\"acme\",\"priority\":\"P1\","
	    "\"opened\":1793491200,\"resolved\":\"2026-11-01T02:00:00+01:00\"}"
	    "\n";
	static const char changed[] =
	    "id,provider,priority,opened,resolved\n"
	    "A,acme,P1,2026-11-01T00:00:00Z,2026-11-01T03:00:00Z\n"
	    "B,acme,P2,2026-11-01T00:00:00Z,\n";
	struct store_import_counts c;
	struct store *st;
	char err[512], *out = NULL;
	size_t i;

	(void)state;
	assert_int_equal(store_open(":memory:", &st), 0);
	assert_int_equal(tsu_populate(st), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
		    store_incident_import(st, "t", "f", bad[i].in,
			strlen(bad[i].in), 1, &c, err, sizeof(err)),
		    PV_ERR_INVALID);
		if (strstr(err, bad[i].err) == NULL)
			fail_msg("case %zu: %s", i, err);
		assert_int_equal(c.added, 0);
	}
	/* nothing of the good first rows was kept */
	assert_int_equal(store_query(st, "incidents acme 0 4000000000", 0, &out,
			     err, sizeof(err)),
	    0);
	assert_string_equal(out, "[]");
	free(out);
	assert_int_equal(store_incident_import(st, "t", "f", good, strlen(good),
			     1, &c, err, sizeof(err)),
	    0);
	assert_int_equal(c.added, 1);
	assert_int_equal(store_incident_import(st, "t", "f", good, strlen(good),
			     2, &c, err, sizeof(err)),
	    0);
	assert_int_equal(c.added + c.updated, 0);
	assert_int_equal(c.present, 1);
	/* the export again, A resolved later, B new */
	assert_int_equal(store_incident_import(st, "t", "f", changed,
			     strlen(changed), 3, &c, err, sizeof(err)),
	    0);
	assert_int_equal(c.added, 1);
	assert_int_equal(c.updated, 1);
	assert_int_equal(store_query(st, "incidents acme 0 4000000000", 0, &out,
			     err, sizeof(err)),
	    0);
	/* 1793491200 = 2026-11-01T00:00Z; +01:00 02:00 = 01:00Z, now 03:00 */
	assert_non_null(strstr(out, "\"resolved\":1793502000"));
	free(out);
	store_close(st);
}

/* Every malformed line is refused with its file and line. */
static void
test_conf_errors(void **state)
{
	static const struct {
		const char *in;
		const char *err;
	} bad[] = {
		{ "Provider acme\n", "c:1: Provider outside an Sla block" },
		{ "Sla a\n Provider acme\n Priority P1 Resolve 4x\n",
		    "c:3: Resolve: a duration" },
		{ "Sla a\n Provider acme\n Priority P1 Resolve 4h\n Colour "
		  "red\n",
		    "c:4: unknown keyword Colour" },
		{ "Sla a\n Provider acme\n Priority P1 Resolve 4h\n"
		  " Priority P1 Resolve 5h\n",
		    "c:4: priority P1 given twice (line 3)" },
		{ "Sla a\n Provider acme\n Priority P1 Clock business\n",
		    "c:3: Clock business needs a BusinessHours line" },
		{ "Sla a\n Provider acme\n Priority P1 Resolve 4h\n"
		  " Maintenance 2026-11-15T03:00 2026-11-15T01:00\n",
		    "c:4: Maintenance: the end is not after the start" },
		{ "Sla a\n Provider acme\n Priority P1 Resolve 4h\n"
		  " Maintenance 2026-11-31T03:00 2026-12-01T01:00\n",
		    "c:4: Maintenance: a time" },
		{ "Sla a\n Provider acme\n TimeZone Mars/Olympus\n",
		    "c:3: TimeZone" },
		{ "Sla a\n Provider acme\n Priority P1 Resolve 4h\n Credit "
		  "availability 99.9 5%\n",
		    "c:4: Credit availability: two percentages" },
		{ "Sla a\n Provider acme\n Priority P1 Resolve 4h Credit "
		  "101%\n",
		    "c:3: Credit: a percentage" },
		{ "Sla a\n Priority P1 Resolve 4h\n",
		    "c:1: sla a: Provider is missing" },
		{ "Sla a\n Provider acme\n Priority P1 Resolve 4h\nSla b\n"
		  " Provider acme\n",
		    "c:5: provider acme has an SLA already" },
		{ "Sla a\n Provider acme\n BusinessHours Mon-Fri 18:00-08:00\n",
		    "c:3: BusinessHours" },
		{ "Sla a\n Provider acme\n Priority P1 Resolve 4h\n CreditCap "
		  "5%\n CreditCap 6%\n",
		    "c:5: CreditCap given twice (line 4)" },
		{ "Sla a\n Provider acme\n Priority P1 Resolve 4h\n MonthlyFee "
		  "12.345\n",
		    "c:4: MonthlyFee" },
		{ "", "c:1: no Sla block" },
		{ "Sla a\n Provider acme\n Priority P1 Resolve\n",
		    "c:3: Priority P1: KEY VALUE pairs" },
	};
	struct sla_file *f;
	char err[SLA_ERR_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = NULL;
		err[0] = '\0';
		assert_int_equal(sla_parse("c", bad[i].in, strlen(bad[i].in),
				     &f, err, sizeof(err)),
		    -1);
		assert_null(f);
		if (strncmp(err, bad[i].err, strlen(bad[i].err)) != 0)
			fail_msg("case %zu: got \"%s\"", i, err);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_month),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_import),
		cmocka_unit_test(test_conf_errors),
	};

	pv_log_set_level(PV_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
