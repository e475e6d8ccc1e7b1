/*
 * policy-int.h: the parsed policy as the parser builds it and the
 * evaluator reads it; shared by the files of policy/ only.
 */
#ifndef PROVOST_POLICY_INT_H
#define PROVOST_POLICY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "policy/policy.h"

#define POLICY_MAX_LEVELS 32    /* one Levels line; the tokenizer's limit */
#define POLICY_MAX_RULES 100000 /* far above any real policy */
#define POLICY_NAME_MAX 64      /* rule, level and group names */
#define POLICY_APPROVALS_MAX 10
#define POLICY_WEEK_MINUTES (7 * 1440)

/* One selector name: matched exactly, as a prefix ("db*") or as a glob. */
enum policy_pat_kind {
	POLICY_PAT_EXACT = 0,
	POLICY_PAT_PREFIX, /* only one '*', at the end */
	POLICY_PAT_GLOB,   /* fnmatch(3) */
};

struct policy_pat {
	const char *s;
	size_t len; /* of s, or of the prefix */
	enum policy_pat_kind kind;
};

/* A selector: names or patterns; any = no selector or a bare "*". */
struct policy_names {
	int any;
	size_t n;
	struct policy_pat *v;
};

/*
 * A time zone reduced to its UTC offsets: from at[i] (unix seconds) on,
 * the offset is off[i] seconds east of UTC.  at[0] is INT64_MIN.  Built at
 * load time from the C library (see tz.c), read without it afterwards.
 */
struct policy_zone {
	const char *name; /* NULL: the broker's local zone at load time */
	size_t n;
	int64_t *at;
	int32_t *off;
};

/* Bits for keywords seen in a rule, to refuse repeats. */
enum {
	RK_CLASSIFICATION = 1 << 0,
	RK_APPROVAL = 1 << 1,
	RK_TICKET = 1 << 2,
	RK_MAXDURATION = 1 << 3,
	RK_CHANNELS = 1 << 4,
	RK_CLEARANCE = 1 << 5,
	RK_TZ = 1 << 6,
	RK_FRESHMFA = 1 << 7,
	RK_RECORDFILES = 1 << 8,
	RK_TRANSFER = 1 << 9,
	RK_PROVIDER = 1 << 10,
	RK_ENGINEER = 1 << 11,
	RK_TARGET = 1 << 12,
	RK_ACCOUNT = 1 << 13,
	RK_HOURS = 1 << 14,
	RK_FORWARDTO = 1 << 15,
	RK_REMOTELISTEN = 1 << 16,
	RK_MODERATED = 1 << 17,
};

struct policy_rule {
	const char *name;
	unsigned int lineno;
	unsigned int seen;    /* RK_* */
	uint64_t classes;     /* bit r: level of rank r matches */
	int clearance;        /* rank required; -1 none */
	int clearance_target; /* "Clearance" alone: at least the target's level */
	enum policy_approval approval;
	int approvals_needed;
	int approval_break_glass; /* provostctl --as approvals count */
	const char *group;
	int require_ticket;
	uint64_t max_duration;
	unsigned int channels;
	int fresh_mfa;
	int record_file_contents;
	unsigned int transfer;
	struct policy_forward *forward_to;
	size_t nforward_to;
	struct policy_forward *remote_listen; /* RemoteForwardListen */
	size_t nremote_listen;
	const char *moderated; /* Moderated GROUP: NULL if not */
	struct policy_names provider, engineer, target, account;
	uint8_t
	    *hours; /* POLICY_WEEK_MINUTES bits (Sunday first); NULL = any */
	int hours_always;               /* every minute of the week is open */
	const char *hours_text;         /* as written, for explain */
	const char *tz_name;            /* the TZ keyword, NULL = local */
	const struct policy_zone *zone; /* resolved when hours != NULL */
};

/*
 * What policy_decide reads first for each rule, packed so that rules that
 * cannot select a request are passed over without touching their names:
 * the classification mask and, per selector of exact names only, a 64-bit
 * Bloom filter of those names (0: no filter; the full match decides).
 */
#define POLICY_SEL_PROVIDER 0
#define POLICY_SEL_ENGINEER 1
#define POLICY_SEL_TARGET 2
#define POLICY_SEL_ACCOUNT 3
struct policy_key {
	uint64_t classes;
	uint64_t bloom[4];
};

struct policy {
	const char *name; /* the file name, for messages */
	const char *levels[POLICY_MAX_LEVELS];
	size_t nlevels;
	int have_levels;
	struct policy_rule *rules;
	size_t nrules, caprules;
	struct policy_key *keys; /* nrules, built once parsing is done */
	struct policy_zone **zones;
	size_t nzones;
	/* Every string the policy holds, freed together. */
	char **strs;
	size_t nstrs, capstrs;
};

/* parse.c */
int policy_intern(struct policy *p, const char *s, size_t len, char **out);

/* tz.c: valid IANA zone name, and the zone table (shared by name). */
int policy_tz_name_valid(const char *name, char *err, size_t errlen);
int policy_zone_get(struct policy *p, const char *name,
    const struct policy_zone **out, char *err, size_t errlen);
void policy_zone_free(struct policy_zone *z);
int32_t policy_zone_offset(const struct policy_zone *z, int64_t t);

/* hours.c */
int policy_hours_parse(struct policy *p, struct policy_rule *rule,
    const struct pv_conf_line *l, char *err, size_t errlen);
int policy_week_minute(const struct policy_zone *z, int64_t t, int64_t *local);
int policy_hours_allow(const struct policy_rule *rule, int64_t t);
int64_t policy_hours_end(const struct policy_rule *rule, int64_t t);

/* decide.c: the matching core, also used by explain. */
int policy_rule_selects(const struct policy *p, const struct policy_rule *r,
    const struct policy_request *req, int rank, char *why, size_t whylen);
int policy_index_build(struct policy *p);
int policy_class_rank(const struct policy *p, const char *classification);
const struct policy_rule *policy_rule_by_name(
    const struct policy *p, const char *name);

#endif /* PROVOST_POLICY_INT_H */
