/*
 * fuzz_menu.c: libFuzzer target for the engineer's menu (broker_menu_run)
 * and the approver's (broker_menu_approver_run): the command line sent
 * after "ssh alice@bastion" or "ssh sam@bastion", split as sh would and
 * run against an in-memory store (one provider, engineer, approver and
 * target, a pending grant, a policy with a standing and a grant rule).
 * Whatever the line, each answers with an exit status of 0, 1 or 2 and
 * some text.  The approvers' live commands (broker_menu_approver_live:
 * watch, moderate, end) run against stand-ins for the control side that
 * check what reaches them: a name the split made, a reason without NUL.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/monitor/monitor.h"
#include "common/common.h"
#include "policy/policy.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
live_watch(void *ctx, const char *approver, const char *addr, pid_t apid,
    const char *asid, const char *id, char *err, size_t errlen)
{
	if (strcmp(approver, "sam") != 0 || id == NULL)
		__builtin_trap();
	(void)snprintf(err, errlen, "no such live session");
	return strcmp(id, "s1") == 0 ? 0 : PV_ERR_NOT_FOUND;
}

static int
live_end(void *ctx, const char *approver, const char *addr, const char *id,
    const char *reason, char *err, size_t errlen)
{
	if (strcmp(approver, "sam") != 0 || id == NULL || reason == NULL ||
	    reason[0] == '\0')
		__builtin_trap();
	(void)snprintf(err, errlen, "you do not moderate it");
	return strcmp(id, "s1") == 0 ? 0 : PV_ERR_DENIED;
}

static const char policy_text[] = "Levels public internal\n"
				  "Rule open\n    Classification public\n"
				  "    Approval none\n"
				  "Rule jit\n    Classification internal\n"
				  "    Approval auto\n    MaxDuration 8h\n";

static int
populate(struct store *st)
{
	static const char *const accts[] = { "postgres", "root" };
	static const char hk[] =
	    "ssh-ed25519 "
	    "AAAAC3NzaC1lZDI1NTE5AAAAIEJCQkJCQkJCQkJCQkJCQkJ"
	    "CQkJCQkJCQkJCQkJCQkJC";
	struct store_target_spec t = {
		.name = "db01",
		.host = "127.0.0.1",
		.port = 22,
		.classification = "internal",
		.hostkey = hk,
		.naccounts = 2,
		.accounts = accts,
	};

	const struct policy_decision d = {
		.outcome = POLICY_NEEDS_GRANT,
		.rule = "grp",
		.approval = POLICY_APPROVAL_GROUP,
		.approvals_needed = 1,
		.approval_group = "soc",
	};
	const struct store_grant_req req = {
		.engineer = "alice",
		.target = "db01",
		.account = "root",
		.duration = 3600,
	};

	return store_provider_add(st, "admin:f", "acme", 0, 0) != 0 ||
		store_engineer_add(st, "admin:f", "alice", "acme", NULL) != 0 ||
		store_target_add(st, "admin:f", &t) != 0 ||
		store_approver_add(st, "admin:f", "sam", "soc", NULL) != 0 ||
		store_grant_request(
		    st, "engineer:alice", &req, &d, 1800000000LL, NULL) != 0
	    ? -1
	    : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy *pol;
	struct store *st = NULL;
	struct pv_buf *out = NULL;
	char *line, err[256];
	int rc;

	if (size > 64 * 1024)
		return 0;
	pv_log_set_level(PV_LOG_ERROR);
	if (pol == NULL &&
	    policy_load_mem("f.conf", policy_text, sizeof(policy_text) - 1,
		&pol, err, sizeof(err)) != 0)
		__builtin_trap();
	if ((line = malloc(size + 1)) == NULL)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	if (store_open(":memory:", &st) != 0 || populate(st) != 0 ||
	    (out = pv_buf_new(PV_BUF_DEFAULT_MAX)) == NULL)
		__builtin_trap();
	const struct broker_menu_ctx mc = { .st = st, .pol = pol };
	rc = broker_menu_run(&mc, "alice", line, 1800000000LL, out);
	if (rc < 0 || rc > 2 || pv_buf_len(out) == 0)
		__builtin_trap();
	pv_buf_reset(out);
	rc = broker_menu_approver_run(
	    &mc, "sam", "192.0.2.1", NULL, line, 1800000000LL, out);
	if (rc < 0 || rc > 2 || pv_buf_len(out) == 0)
		__builtin_trap();
	pv_buf_reset(out);
	const struct broker_menu_live lv = {
		.watch = live_watch,
		.end = live_end,
	};
	rc = broker_menu_approver_live(
	    &lv, "sam", "192.0.2.1", 1, "s0", line, out);
	if (rc != BROKER_MENU_NOT_LIVE &&
	    (rc < 0 || rc > 2 || (rc != 0 && pv_buf_len(out) == 0)))
		__builtin_trap();
	pv_buf_free(out);
	store_close(st);
	free(line);
	return 0;
}
