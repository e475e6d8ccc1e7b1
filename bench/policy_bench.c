/*
 * policy_bench.c: decisions per second of policy_decide with a generated
 * 1,000-rule policy whose deciding rule is last, against the 4-rule example.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "policy/policy.h"

#define BENCH_MS 400
#define BENCH_ROUNDS 3 /* the best round counts: the host is shared */

static const char example[] =
    "Levels public internal confidential restricted\n"
    "Rule standing-public\n Classification public\n Approval none\n"
    " Channels shell exec sftp\n"
    "Rule internal-jit\n Classification internal\n Approval auto\n"
    " RequireTicket yes\n MaxDuration 8h\n"
    "Rule confidential\n Classification confidential\n"
    " Approval 1 group security\n RequireTicket yes\n MaxDuration 4h\n"
    " Channels shell exec\n"
    "Rule restricted\n Classification restricted\n Clearance restricted\n"
    " Approval 2 group security\n MaxDuration 1h\n"
    " Hours Mon-Fri 07:00-19:00\n Channels shell\n";

/*
 * nrules - 1 rules of the target's classification whose selectors miss
 * the request (by engineer, by target glob, by provider and account), a
 * tenth of them with Hours, then the rule that decides.
 */
static int
gen_policy(int nrules, struct pv_buf *b)
{
	int i, r = 0;

	r |= pv_buf_putf(b, "Levels public internal confidential restricted\n");
	for (i = 0; i < nrules - 1; i++) {
		r |= pv_buf_putf(
		    b, "Rule r%d\n Classification confidential\n", i);
		switch (i % 3) {
		case 0:
			r |=
			    pv_buf_putf(b, " Engineer eng-%d eng-%d-b\n", i, i);
			break;
		case 1:
			r |= pv_buf_putf(b, " Target host-%d-* db-%d\n", i, i);
			break;
		default:
			r |= pv_buf_putf(
			    b, " Provider prov-%d\n Account acct-%d\n", i, i);
			break;
		}
		r |=
		    pv_buf_putf(b, " Approval %d group sec-%d\n", 1 + i % 3, i);
		if (i % 10 == 0)
			r |= pv_buf_putf(b, " Hours Mon-Fri 07:00-19:00\n");
	}
	r |= pv_buf_putf(b,
	    "Rule deciding\n Classification confidential\n Provider acme\n"
	    " Approval 1 group security\n RequireTicket yes\n MaxDuration 4h\n"
	    " Channels shell exec\n Hours * 00:00-24:00\n TZ Europe/Berlin\n");
	return r;
}

/* Decisions per second for req over about BENCH_MS. */
static double
run1(const struct policy *p, const struct policy_request *req, int want,
    unsigned long *total)
{
	struct policy_decision d;
	uint64_t start = pv_mono_ms(), now;
	unsigned long n = 0, i;

	do {
		for (i = 0; i < 1000; i++) {
			if (policy_decide(p, req, &d) != want) {
				fprintf(stderr,
				    "policy_bench: unexpected "
				    "decision: %s\n",
				    d.reason);
				exit(1);
			}
		}
		n += 1000;
		now = pv_mono_ms();
	} while (now - start < BENCH_MS);
	*total = n;
	return (double)n * 1000.0 / (double)(now - start);
}

static double
run(const struct policy *p, const struct policy_request *req, int want,
    unsigned long *total)
{
	double best = 0, rate;
	unsigned long n;
	int i;

	*total = 0;
	for (i = 0; i < BENCH_ROUNDS; i++) {
		rate = run1(p, req, want, &n);
		*total += n;
		if (rate > best)
			best = rate;
	}
	return best;
}

int
main(int argc, char **argv)
{
	struct policy_grant g = { .id = "g-1",
		.engineer = "alice",
		.target = "db01",
		.account = "root",
		.not_before = 1783296000,
		.not_after = 1783296000 + 3600,
		.approvals = 1 };
	struct policy_request req = { .engineer = "alice",
		.provider = "acme",
		.clearance = "confidential",
		.target = "db01",
		.classification = "confidential",
		.account = "root",
		.channel = POLICY_CH_SHELL,
		.now = 1783296000 + 600,
		.grant = &g };
	struct policy *big = NULL, *small = NULL;
	struct pv_buf *b = NULL;
	unsigned long n_small, n_big, n_deny;
	double small_rate, big_rate, deny_rate, load_ms;
	uint32_t nrules32 = 1000;
	int nrules;
	uint64_t t0;
	char err[512];

	if (argc > 1 && pv_parse_u32(argv[1], 2, 100000, &nrules32) != 0) {
		fprintf(stderr, "usage: policy_bench [RULES]\n");
		return 2;
	}
	nrules = (int)nrules32;
	if ((b = pv_buf_new(0)) == NULL || gen_policy(nrules, b) != 0) {
		fprintf(stderr, "policy_bench: cannot generate the policy\n");
		return 1;
	}
	if (policy_load_mem("example", example, strlen(example), &small, err,
		sizeof(err)) != 0) {
		fprintf(stderr, "policy_bench: %s\n", err);
		return 1;
	}
	t0 = pv_mono_ms();
	if (policy_load_mem("generated", (const char *)pv_buf_ptr(b),
		pv_buf_len(b), &big, err, sizeof(err)) != 0) {
		fprintf(stderr, "policy_bench: %s\n", err);
		return 1;
	}
	load_ms = (double)(pv_mono_ms() - t0);

	small_rate = run(small, &req, PV_ALLOW, &n_small);
	big_rate = run(big, &req, PV_ALLOW, &n_big);
	/* No rule at all: every rule is tried, then the default deny. */
	req.provider = "initech";
	deny_rate = run(big, &req, PV_DENY, &n_deny);

	printf("%-44s %14s %10s\n", "case", "decisions/s", "us/decision");
	printf("%-44s %14.0f %10.3f\n", "baseline: DESIGN example, 4 rules",
	    small_rate, 1e6 / small_rate);
	printf("%-44s %14.0f %10.3f\n", "1000 rules, deciding rule last",
	    big_rate, 1e6 / big_rate);
	printf("%-44s %14.0f %10.3f\n", "1000 rules, no rule (default deny)",
	    deny_rate, 1e6 / deny_rate);
	printf("load of the %d-rule policy: %.0f ms (%zu bytes)\n", nrules,
	    load_ms, pv_buf_len(b));
	printf("{\"bench\":\"policy\",\"rules\":%d,"
	       "\"baseline_rules\":4,\"baseline_decisions_per_s\":%.0f,"
	       "\"decisions_per_s\":%.0f,\"default_deny_decisions_per_s\":%.0f,"
	       "\"ratio_to_baseline\":%.4f,\"load_ms\":%.0f,"
	       "\"iterations\":[%lu,%lu,%lu]}\n",
	    nrules, small_rate, big_rate, deny_rate, big_rate / small_rate,
	    load_ms, n_small, n_big, n_deny);
	policy_free(small);
	policy_free(big);
	pv_buf_free(b);
	return 0;
}
