/*
 * sla.h: the sla plugin's file (provost-sla(5)) and its arithmetic, pure:
 * parse a file of Sla blocks, then turn a month's incidents, targets and
 * outages (the JSON the store's queries answer) into the figures of a
 * service review.  Kept apart from the plugin glue (plugin.c) so that the
 * unit tests and the fuzz target call it directly.
 */
#ifndef PROVOST_PLUGINS_SLA_H
#define PROVOST_PLUGINS_SLA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SLA_ERR_MAX 512
#define SLA_FILE_MAX (1024 * 1024)
#define SLA_PRIORITIES_MAX 16
#define SLA_WINDOWS_MAX 1000
#define SLA_BANDS_MAX 16
#define SLA_PATTERNS_MAX 64

enum sla_metric { SLA_MTTA = 0, SLA_MTTR, SLA_ENGAGE, SLA_NMETRICS };
enum sla_clock { SLA_CLOCK_24X7 = 0, SLA_CLOCK_BUSINESS };

struct sla_priority {
	char *name;
	int64_t target[SLA_NMETRICS]; /* seconds; 0: no target */
	enum sla_clock clock;
	uint32_t credit_mpct; /* credit a breach earns, 1/1000 % */
	unsigned int line;
};

struct sla_window {
	int64_t start, end; /* unix seconds, [start, end) */
};

struct sla_band {
	uint32_t below_mpct; /* availability under this earns credit_mpct */
	uint32_t credit_mpct;
};

struct sla {
	char *id;
	unsigned int line;
	char *provider;
	char *zone;        /* "UTC" or Area/City */
	unsigned int days; /* business days, bit 0 Sunday; 0: none set */
	int from, to;      /* business hours, minutes of the day */
	struct sla_priority prio[SLA_PRIORITIES_MAX];
	size_t nprio;
	struct sla_window *win; /* sorted, merged */
	size_t nwin;
	uint32_t avail_mpct; /* the availability objective; 0: none */
	char *targets[SLA_PATTERNS_MAX];
	size_t ntargets; /* 0: every target */
	struct sla_band band[SLA_BANDS_MAX];
	size_t nbands;
	int64_t threshold;  /* a deviation up to this earns no credit */
	uint32_t cap_mpct;  /* 100000 unless CreditCap */
	uint64_t fee_cents; /* MonthlyFee; 0: none */
	char currency[8];
};

struct sla_file {
	char *name;
	struct sla *v;
	size_t n;
};

/* 0, or -1 with "NAME:LINE: what" in err. */
int sla_parse(const char *name, const char *text, size_t len,
    struct sla_file **out, char *err, size_t errlen);
int sla_load(const char *path, struct sla_file **out, char *err, size_t errlen);
void sla_free(struct sla_file *f);
const struct sla *sla_find(const struct sla_file *f, const char *provider);

/*
 * Seconds of [t0, t1) on the clock (24x7, or the business hours in the
 * SLA's zone) outside every maintenance window.  -1: the zone cannot be
 * read.
 */
int64_t sla_clock(
    const struct sla *s, enum sla_clock c, int64_t t0, int64_t t1);
/* YYYY-MM-DDTHH:MM[:SS][Z]: in zone unless Z.  0 or -1. */
int sla_time_parse(const char *zone, const char *s, int64_t *out);
/* The month "YYYY-MM" in the SLA's zone as [from, to). */
int sla_month(
    const struct sla *s, const char *month, int64_t *from, int64_t *to);

/* One deviation from a target. */
struct sla_breach {
	char id[65];
	size_t prio;
	enum sla_metric metric;
	int64_t measured; /* seconds on the clock */
	int open;         /* still open at the month's end */
	uint32_t credit_mpct;
};

struct sla_stats {
	size_t n;       /* measured */
	int64_t mean;   /* seconds, rounded to the nearest */
	int64_t p90;    /* nearest rank */
	size_t pending; /* not measured: no ack/resolution/session yet */
};

struct sla_prio_result {
	size_t incidents, resolved, open;
	struct sla_stats m[SLA_NMETRICS];
	size_t breaches;
};

struct sla_result {
	const struct sla *sla;
	char month[8];
	int64_t from, to;
	int64_t until; /* to, or now in a month not yet over */
	struct sla_prio_result p[SLA_PRIORITIES_MAX];
	size_t incidents;
	size_t unknown_priority; /* incidents of a priority not in the SLA */
	struct sla_breach *b;
	size_t nb;
	/* availability */
	size_t ntargets;
	int64_t period;      /* seconds of the month outside maintenance */
	int64_t outage;      /* target-seconds down outside maintenance */
	uint32_t avail_mpct; /* 1/1000 %, floor; 100000 without targets */
	uint32_t avail_credit_mpct;
	uint32_t breach_credit_mpct;
	uint32_t credit_mpct; /* total, capped */
	uint64_t credit_cents;
};

/*
 * The month's figures from the JSON the store answers: incidents (the
 * "incidents P FROM TO" query), targets ("targets") and outages
 * ("outages FROM TO"), as of now: an incident still open is measured to
 * the month's end or now, whichever is first, and so is availability.
 * 0, or -1 with err.
 */
int sla_compute(const struct sla *s, const char *month, int64_t now,
    const char *incidents_json, const char *targets_json,
    const char *outages_json, struct sla_result *out, char *err, size_t errlen);
void sla_result_clear(struct sla_result *r);

enum sla_format { SLA_FMT_MD = 0, SLA_FMT_CSV, SLA_FMT_JSON, SLA_FMT_HTML };
int sla_format_parse(const char *s, enum sla_format *out);
/* The report of one provider's month. */
int sla_render(const struct sla_result *r, enum sla_format f, FILE *out);
/* Every provider's month side by side (the lead integrator's table). */
int sla_render_providers(const struct sla_result *r, size_t n,
    const char *const *without, size_t nwithout, const char *month,
    enum sla_format f, FILE *out);

/* "4h05m" style, into buf. */
const char *sla_dur(int64_t secs, char *buf, size_t len);

#endif /* PROVOST_PLUGINS_SLA_H */
