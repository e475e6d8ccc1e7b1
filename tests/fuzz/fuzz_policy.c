/*
 * fuzz_policy.c: the policy parser on arbitrary bytes; whatever parses is
 * then decided and explained for a few fixed requests.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_decision(const struct policy_decision *d, int r)
{
	/* The tri-state contract: allow exactly when the outcome is allow. */
	if ((r == PV_ALLOW) != (d->outcome == POLICY_ALLOW))
		abort();
	if (r != PV_ALLOW && d->valid_until != 0)
		abort();
	if (memchr(d->reason, '\0', sizeof(d->reason)) == NULL)
		abort();
	if (d->outcome == POLICY_ALLOW)
		(void)policy_forward_allowed(d, "db.internal", 5432);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const classes[] = { "public", "internal",
		"confidential", "restricted", "secret", NULL };
	static const unsigned int channels[] = { 0, POLICY_CH_SHELL,
		POLICY_CH_SFTP, POLICY_CH_FORWARD };
	struct policy_grant g = { .id = "g",
		.engineer = "alice",
		.target = "db01",
		.account = "root",
		.not_before = 1783296000 - 600,
		.not_after = 1783296000 + 7200,
		.approvals = 1 };
	struct policy_request req = { .engineer = "alice",
		.provider = "acme",
		.clearance = "confidential",
		.target = "db01",
		.account = "root",
		.now = 1783296000 + 43200 };
	struct policy_decision d;
	struct policy *p = NULL;
	struct pv_buf *b = NULL;
	char err[512];
	size_t i, j;
	int r;

	if (policy_load_mem("fuzz.conf", (const char *)data, size, &p, err,
		sizeof(err)) != 0)
		return 0;
	if ((b = pv_buf_new(1024 * 1024)) == NULL)
		goto out;
	(void)policy_summary(p, b);
	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		for (j = 0; j < sizeof(channels) / sizeof(channels[0]); j++) {
			req.classification = classes[i];
			req.channel = channels[j];
			req.grant = (i + j) % 2 ? &g : NULL;
			r = policy_decide(p, &req, &d);
			check_decision(&d, r);
			pv_buf_reset(b);
			if (policy_explain(p, &req, b, &d) != r)
				abort();
		}
	}
out:
	pv_buf_free(b);
	policy_free(p);
	return 0;
}
