/*
 * test_policy_parse.c: the policy.conf parser: the DESIGN.md example and
 * every keyword load; each fault gives its exact "FILE:LINE: what" line.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"
#include "policy/policy.h"

#define L "Levels public internal confidential restricted\n"

static const char design_example[] =
    "Levels public internal confidential restricted\n"
    "\n"
    "Rule standing-public\n"
    "    Classification public\n"
    "    Approval none                 # standing access\n"
    "    Channels shell exec sftp\n"
    "\n"
    "Rule internal-jit\n"
    "    Classification internal\n"
    "    Approval auto\n"
    "    RequireTicket yes\n"
    "    MaxDuration 8h\n"
    "\n"
    "Rule confidential\n"
    "    Classification confidential\n"
    "    Approval 1 group security\n"
    "    RequireTicket yes\n"
    "    MaxDuration 4h\n"
    "    Channels shell exec\n"
    "\n"
    "Rule restricted\n"
    "    Classification restricted\n"
    "    Clearance restricted           # engineer must hold this\n"
    "    Approval 2 group security      # four eyes\n"
    "    MaxDuration 1h\n"
    "    Hours Mon-Fri 07:00-19:00\n"
    "    Channels shell\n";

static void
test_design_example(void **state)
{
	struct policy *p = NULL;
	struct pv_buf *b;
	char err[512], *text = NULL;

	(void)state;
	assert_int_equal(policy_load_mem("policy.conf", design_example,
			     strlen(design_example), &p, err, sizeof(err)),
	    0);
	assert_string_equal(err, "");
	assert_int_equal(policy_level_count(p), 4);
	assert_int_equal(policy_rule_count(p), 4);
	assert_int_equal(policy_level_rank(p, "public"), 0);
	assert_int_equal(policy_level_rank(p, "restricted"), 3);
	assert_int_equal(policy_level_rank(p, "Restricted"), -1);
	assert_int_equal(policy_level_rank(p, "secret"), -1);
	assert_string_equal(policy_level_name(p, 2), "confidential");
	assert_null(policy_level_name(p, 4));

	assert_non_null(b = pv_buf_new(0));
	assert_int_equal(policy_summary(p, b), 0);
	assert_int_equal(pv_buf_dup_cstring(b, &text), 0);
	assert_string_equal(text,
	    "policy.conf: 4 levels, 4 rules\n"
	    "levels (lowest first): public internal confidential restricted\n"
	    "rule standing-public (line 3): classification public; approval "
	    "none; channels shell exec sftp\n"
	    "rule internal-jit (line 8): classification internal; approval "
	    "auto; ticket; max 8h; channels shell exec sftp scp\n"
	    "rule confidential (line 14): classification confidential; "
	    "approval 1 of group security; ticket; max 4h; channels shell "
	    "exec\n"
	    "rule restricted (line 21): classification restricted; approval 2 "
	    "of group security; max 1h; clearance restricted; hours Mon-Fri "
	    "07:00-19:00 (broker time); channels shell\n");
	free(text);
	pv_buf_free(b);
	policy_free(p);
	policy_free(NULL);
}

/* Every keyword, any case, with comments, quotes and CRLF. */
static void
test_all_keywords(void **state)
{
	static const char in[] =
	    "# policy\r\n"
	    "levels low high\r\n"
	    "RULE everything\n"
	    "  classification low high\n"
	    "  approval 10 GROUP sec-team\n"
	    "  requireticket YES\n"
	    "  maxduration 1h30m\n"
	    "  channels shell exec sftp scp forward remote-forward\n"
	    "  clearance high\n"
	    "  hours Mon,Wed,Fri-Sun 07:00-12:00 13:00-24:00\n"
	    "  hours Tue 00:00-00:01\n"
	    "  tz UTC\n"
	    "  freshmfa yes\n"
	    "  recordfilecontents no\n"
	    "  transfer upload\n"
	    "  forwardto localhost:5432 \"[::1]:22\" *.db:*\n"
	    "  forwardto 10.0.0.1:80\n"
	    "  remoteforwardlisten localhost:8080 \"*:*\"\n"
	    "  provider acme \"big corp\"\n"
	    "  engineer alice b*\n"
	    "  target *\n"
	    "  account root postgres\n"
	    "Rule bare-clearance\n"
	    "  Classification *\n"
	    "  Clearance\n"
	    "  Approval auto\n"
	    "Rule empty-levels-ok\n"
	    "  Classification low\n"
	    "  Approval none\n";
	struct policy *p = NULL;
	char err[512];

	(void)state;
	assert_int_equal(
	    policy_load_mem("k.conf", in, strlen(in), &p, err, sizeof(err)), 0);
	assert_int_equal(policy_rule_count(p), 3);
	assert_int_equal(policy_level_count(p), 2);
	policy_free(p);
}

/* A policy with Levels and no rules is valid and denies everything. */
static void
test_no_rules(void **state)
{
	struct policy *p = NULL;
	struct pv_buf *b;
	char err[512], *text = NULL;

	(void)state;
	assert_int_equal(
	    policy_load_mem("n.conf", L, strlen(L), &p, err, sizeof(err)), 0);
	assert_non_null(b = pv_buf_new(0));
	assert_int_equal(policy_summary(p, b), 0);
	assert_int_equal(pv_buf_dup_cstring(b, &text), 0);
	assert_non_null(strstr(text, "no rules: every request is denied"));
	free(text);
	pv_buf_free(b);
	policy_free(p);
}

#define R(name) "Rule " name "\n"
#define OK_RULE "  Classification public\n  Approval none\n"

static const struct {
	const char *in;
	const char *err; /* exact */
} errors[] = {
	/* 0 */
	{ "",
	    "t.conf: empty policy: no Levels line (it comes first, e.g. "
	    "\"Levels public internal confidential\")" },
	{ "# nothing\n\n",
	    "t.conf: empty policy: no Levels line (it comes "
	    "first, e.g. \"Levels public internal "
	    "confidential\")" },
	{ L "Bogus x\n", "t.conf:2: unknown keyword \"Bogus\"" },
	{ L "Classification public\n",
	    "t.conf:2: Classification outside a Rule block (start one with "
	    "\"Rule NAME\")" },
	{ L "Approval none\n",
	    "t.conf:2: Approval outside a Rule block "
	    "(start one with \"Rule NAME\")" },
	/* 5 */
	{ L "Engineer alice\n",
	    "t.conf:2: Engineer outside a Rule block "
	    "(start one with \"Rule NAME\")" },
	{ L "Hours 07:00-19:00\n",
	    "t.conf:2: Hours outside a Rule block "
	    "(start one with \"Rule NAME\")" },
	{ L R("a") "  Classification secret\n",
	    "t.conf:3: Classification of unknown level \"secret\" (Levels: "
	    "public internal confidential restricted)" },
	{ "Levels a b a\n", "t.conf:1: level \"a\" listed twice" },
	{ L R("a") OK_RULE R("a") OK_RULE,
	    "t.conf:5: duplicate rule name \"a\" (first at line 2)" },
	/* 10 */
	{ L R("a") OK_RULE "Levels x\n",
	    "t.conf:5: Levels must come before the first Rule" },
	{ L "Levels x\n", "t.conf:2: Levels given twice" },
	{ R("a"),
	    "t.conf:1: Rule before Levels (the Levels line comes "
	    "first)" },
	{ L R("a") OK_RULE "  Hours Mon-Fri 7:00-19:00\n",
	    "t.conf:5: bad time range \"7:00-19:00\" (HH:MM-HH:MM, start "
	    "before end, up to 24:00; split a range that crosses midnight "
	    "in two)" },
	{ L R("a") OK_RULE "  Hours Mon-Fri 19:00-07:00\n",
	    "t.conf:5: bad time range \"19:00-07:00\" (HH:MM-HH:MM, start "
	    "before end, up to 24:00; split a range that crosses midnight "
	    "in two)" },
	/* 15 */
	{ L R("a") OK_RULE "  Hours 10:00-10:00\n",
	    "t.conf:5: bad time range \"10:00-10:00\" (HH:MM-HH:MM, start "
	    "before end, up to 24:00; split a range that crosses midnight "
	    "in two)" },
	{ L R("a") OK_RULE "  Hours Mon 07:60-08:00\n",
	    "t.conf:5: bad time range \"07:60-08:00\" (HH:MM-HH:MM, start "
	    "before end, up to 24:00; split a range that crosses midnight "
	    "in two)" },
	{ L R("a") OK_RULE "  Hours Mon 23:00-24:01\n",
	    "t.conf:5: bad time range \"23:00-24:01\" (HH:MM-HH:MM, start "
	    "before end, up to 24:00; split a range that crosses midnight "
	    "in two)" },
	{ L R("a") OK_RULE "  Hours Mon-Fry 07:00-19:00\n",
	    "t.conf:5: bad weekday \"Mon-Fry\" (Sun Mon Tue Wed Thu Fri Sat, "
	    "ranges like Mon-Fri, lists like Mon,Wed or *)" },
	{ L R("a") OK_RULE "  Hours Monday 07:00-19:00\n",
	    "t.conf:5: bad weekday \"Monday\" (Sun Mon Tue Wed Thu Fri Sat, "
	    "ranges like Mon-Fri, lists like Mon,Wed or *)" },
	/* 20 */
	{ L R("a") OK_RULE "  Hours Mon,,Tue 07:00-19:00\n",
	    "t.conf:5: bad weekday \"Mon,,Tue\" (Sun Mon Tue Wed Thu Fri Sat, "
	    "ranges like Mon-Fri, lists like Mon,Wed or *)" },
	{ L R("a") OK_RULE "  Hours Mon-Fri\n",
	    "t.conf:5: Hours needs at least one HH:MM-HH:MM range" },
	{ L R("a") "  Classification public\n  Approval 0 group sec\n",
	    "t.conf:4: approval count must be 1 to 10, not 0" },
	{ L R("a") "  Classification public\n  Approval 11 group sec\n",
	    "t.conf:4: approval count must be 1 to 10, not 11" },
	{ L R("a") "  Classification public\n  Approval -1 group sec\n",
	    "t.conf:4: bad approval count \"-1\"" },
	/* 25 */
	{ L R("a") "  Classification public\n  Approval 2 groups sec\n",
	    "t.conf:4: Approval takes none, auto or \"N group GROUP "
	    "[break-glass]\"" },
	{ L R("a") "  Classification public\n  Approval always\n",
	    "t.conf:4: Approval takes none, auto or \"N group GROUP "
	    "[break-glass]\"" },
	{ L R("a") "  Classification public\n  Approval 2 group se/c\n",
	    "t.conf:4: bad group name \"se/c\"" },
	{ L R("a") "  Classification public\n  Approval 2 group sec glass\n",
	    "t.conf:4: after the group, Approval takes only \"break-glass\", "
	    "not \"glass\"" },
	{ L R("a") "  Classification public\n  Approval 2 group sec "
		   "break-glass x\n",
	    "t.conf:4: Approval takes 1 to 4 arguments, not 5" },
	{ L R("a") "  Approval none\n",
	    "t.conf:2: rule \"a\" has no Classification" },
	{ L R("a") OK_RULE R("b") "  Approval none\n" R("c") OK_RULE,
	    "t.conf:5: rule \"b\" has no Classification" },
	/* 30 */
	{ L R("a") "  Classification public\n",
	    "t.conf:2: rule \"a\" has no Approval (none, auto or N group "
	    "GROUP)" },
	{ L R("a") OK_RULE "  Clearance topsecret\n",
	    "t.conf:5: Clearance of unknown level \"topsecret\" (Levels: "
	    "public internal confidential restricted)" },
	{ L R("a") OK_RULE "  Clearance a b\n",
	    "t.conf:5: Clearance takes 0 to 1 arguments, not 2" },
	{ L R("a") OK_RULE "  Classification internal\n",
	    "t.conf:5: Classification given twice in rule \"a\"" },
	{ L R("a") OK_RULE "  Approval auto\n",
	    "t.conf:5: Approval given twice in rule \"a\"" },
	/* 35 */
	{ L R("a") OK_RULE "  Engineer a\n  Engineer b\n",
	    "t.conf:6: Engineer given twice in rule \"a\"" },
	{ L R("a") OK_RULE "  RequireTicket maybe\n",
	    "t.conf:5: RequireTicket takes yes or no, not \"maybe\"" },
	{ L R("a") OK_RULE "  FreshMFA 1\n",
	    "t.conf:5: FreshMFA takes yes or no, not \"1\"" },
	{ L R("a") OK_RULE "  RecordFileContents\n",
	    "t.conf:5: RecordFileContents takes 1 argument, not 0" },
	{ L R("a") OK_RULE "  MaxDuration 0\n",
	    "t.conf:5: bad MaxDuration \"0\" (a duration above 0 such as 30m, "
	    "8h, 1h30m)" },
	/* 40 */
	{ L R("a") OK_RULE "  MaxDuration 4 hours\n",
	    "t.conf:5: MaxDuration takes 1 argument, not 2" },
	{ L R("a") OK_RULE "  MaxDuration 4x\n",
	    "t.conf:5: bad MaxDuration \"4x\" (a duration above 0 such as "
	    "30m, 8h, 1h30m)" },
	{ L R("a") OK_RULE "  Channels shell x11\n",
	    "t.conf:5: unknown channel \"x11\" (shell exec sftp scp forward "
	    "remote-forward)" },
	{ L R("a") OK_RULE "  Transfer sideways\n",
	    "t.conf:5: Transfer takes upload, download or both, not "
	    "\"sideways\"" },
	{ L R("a") OK_RULE "  Channels shell\n  Transfer upload\n",
	    "t.conf:2: rule \"a\" has Transfer but neither sftp nor scp in "
	    "Channels" },
	/* 45 */
	{ L R("a") OK_RULE "  Channels forward\n",
	    "t.conf:2: rule \"a\" allows forward but has no ForwardTo "
	    "(ForwardTo *:* allows any destination)" },
	{ L R("a") OK_RULE "  ForwardTo db:5432\n",
	    "t.conf:2: rule \"a\" has ForwardTo but no forward channel" },
	{ L R("a") OK_RULE "  Channels forward\n  ForwardTo db\n",
	    "t.conf:6: bad ForwardTo \"db\" (HOST:PORT, [IPV6]:PORT; HOST may "
	    "be a glob, PORT may be *)" },
	{ L R("a") OK_RULE "  Channels forward\n  ForwardTo db:70000\n",
	    "t.conf:6: bad ForwardTo \"db:70000\" (HOST:PORT, [IPV6]:PORT; "
	    "HOST may be a glob, PORT may be *)" },
	{ L R("a") OK_RULE "  Channels forward\n  ForwardTo ::1:22\n",
	    "t.conf:6: bad ForwardTo \"::1:22\" (HOST:PORT, [IPV6]:PORT; HOST "
	    "may be a glob, PORT may be *)" },
	{ L R("a") OK_RULE "  Channels remote-forward\n",
	    "t.conf:2: rule \"a\" allows remote-forward but has no "
	    "RemoteForwardListen (ADDRESS:PORT on the target)" },
	{ L R("a") OK_RULE "  RemoteForwardListen localhost:8080\n",
	    "t.conf:2: rule \"a\" has RemoteForwardListen but no "
	    "remote-forward channel" },
	{ L R("a") OK_RULE
	    "  Channels remote-forward\n  RemoteForwardListen 8080\n",
	    "t.conf:6: bad RemoteForwardListen \"8080\" (HOST:PORT, "
	    "[IPV6]:PORT; HOST may be a glob, PORT may be *)" },
	/* 50 */
	{ L R("a") OK_RULE "  TZ Mars/Olympus_Mons\n",
	    "t.conf:5: unknown time zone \"Mars/Olympus_Mons\" (not in "
	    "/usr/share/zoneinfo)" },
	{ L R("a") OK_RULE "  TZ ../../etc/passwd\n",
	    "t.conf:5: bad time zone name (use an IANA name such as "
	    "Europe/Berlin or UTC)" },
	{ L R("a") OK_RULE "  TZ /etc/localtime\n",
	    "t.conf:5: bad time zone name (use an IANA name such as "
	    "Europe/Berlin or UTC)" },
	{ L R("a") OK_RULE "  TZ Europe/Berlin\n",
	    "t.conf:2: rule \"a\" has TZ but no Hours" },
	{ L R("a") OK_RULE "  TZ Europe\n",
	    "t.conf:5: unknown time zone \"Europe\" (not in "
	    "/usr/share/zoneinfo)" },
	/* 55 */
	{ "Levels a b\nRule x/y\n",
	    "t.conf:2: bad rule name \"x/y\" (1 to 64 letters, digits, . _ "
	    "-)" },
	{ "Levels a *\n",
	    "t.conf:1: bad level name \"*\" (letters, digits, . _ -)" },
	{ "Levels\n", "t.conf:1: Levels takes 1 to 32 arguments, not 0" },
	{ L R("a") OK_RULE "  Provider \"\"\n",
	    "t.conf:5: bad Provider name \"\"" },
	{ L R("a") OK_RULE "  Account\n",
	    "t.conf:5: Account takes at least 1 argument" },
	/* 60 */
	{ L R("a") "  Classification public\x1b[2J\n",
	    "t.conf:3: control character 0x1b" },
	{ L "Rule a b\n", "t.conf:2: Rule takes 1 argument, not 2" },
	{ L R("a") OK_RULE "  Moderated\n",
	    "t.conf:5: Moderated takes 1 argument, not 0" },
	{ L R("a") OK_RULE "  Moderated sec soc\n",
	    "t.conf:5: Moderated takes 1 argument, not 2" },
	/* 65 */
	{ L R("a") OK_RULE "  Moderated sec\n  Moderated soc\n",
	    "t.conf:6: Moderated given twice in rule \"a\"" },
	{ L R("a") OK_RULE "  Moderated \"the soc\"\n",
	    "t.conf:5: bad group name \"the soc\"" },
};

static void
test_errors(void **state)
{
	struct policy *p;
	char err[512];
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		p = (struct policy *)&p; /* must be cleared */
		r = policy_load_mem("t.conf", errors[i].in,
		    strlen(errors[i].in), &p, err, sizeof(err));
		if (r == 0) {
			policy_free(p);
			fail_msg("case %zu: parsed, want %s", i, errors[i].err);
		}
		assert_null(p);
		if (strcmp(err, errors[i].err) != 0)
			fail_msg("case %zu:\n got  %s\n want %s", i, err,
			    errors[i].err);
	}
}

/* A small error buffer cuts the message but never overflows. */
static void
test_short_err_buffer(void **state)
{
	static const char in[] = L "Bogus x\n";
	struct policy *p = NULL;
	char err[8];

	(void)state;
	assert_int_equal(
	    policy_load_mem("t.conf", in, strlen(in), &p, err, sizeof(err)),
	    PV_ERR_CONFIG);
	assert_string_equal(err, "t.conf:");
	assert_int_not_equal(
	    policy_load_mem("t.conf", in, strlen(in), &p, NULL, 0), 0);
	assert_int_equal(
	    policy_load_mem("t.conf", NULL, 0, NULL, err, 8), PV_ERR_INVALID);
}

static void
test_load_file(void **state)
{
	char path[] = "/tmp/test_policy_XXXXXX", err[512], want[600];
	struct policy *p = NULL;
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(
	    pv_write_all(fd, design_example, strlen(design_example)), 0);
	close(fd);
	assert_int_equal(policy_load_file(path, &p, err, sizeof(err)), 0);
	assert_int_equal(policy_rule_count(p), 4);
	policy_free(p);
	unlink(path);
	p = NULL;
	assert_int_not_equal(policy_load_file(path, &p, err, sizeof(err)), 0);
	assert_null(p);
	assert_true(
	    snprintf(want, sizeof(want), "%s: cannot read: ", path) > 0);
	assert_memory_equal(err, want, strlen(want));
	assert_int_not_equal(policy_load_file("/tmp", &p, err, sizeof(err)), 0);
	assert_string_equal(err, "/tmp: cannot read: not a regular file");
}

/* The summary names every term a rule has. */
static void
test_summary_terms(void **state)
{
	static const char in[] =
	    "Levels low high\n"
	    "Rule r\n"
	    "  Provider acme \"big corp\"\n  Engineer alice b*\n"
	    "  Target db?\n  Account root\n"
	    "  Classification high\n  Approval 2 group sec\n"
	    "  Channels sftp forward\n  Transfer upload\n"
	    "  ForwardTo localhost:5432 \"[::1]:*\"\n"
	    "  FreshMFA yes\n  RecordFileContents yes\n  Moderated soc\n"
	    "  Hours Mon 07:00-08:00\n  Hours Tue 09:00-10:00\n  TZ UTC\n";
	struct policy *p = NULL;
	struct pv_buf *b;
	char err[512], *text = NULL;

	(void)state;
	assert_int_equal(
	    policy_load_mem("s.conf", in, strlen(in), &p, err, sizeof(err)), 0);
	assert_non_null(b = pv_buf_new(0));
	assert_int_equal(policy_summary(p, b), 0);
	assert_int_equal(pv_buf_dup_cstring(b, &text), 0);
	assert_string_equal(text,
	    "s.conf: 2 levels, 1 rule\n"
	    "levels (lowest first): low high\n"
	    "rule r (line 2): provider acme,big corp; engineer alice,b*; "
	    "target db?; account root; classification high; approval 2 of "
	    "group sec; hours Mon 07:00-08:00; Tue 09:00-10:00 (UTC); "
	    "channels sftp forward; transfer upload only; forward to "
	    "localhost:5432 [::1]:*; fresh MFA; moderated by soc; file "
	    "contents recorded\n");
	free(text);
	pv_buf_free(b);
	policy_free(p);
}

static void
test_channel_names(void **state)
{
	(void)state;
	assert_int_equal(policy_channel_parse("shell"), POLICY_CH_SHELL);
	assert_int_equal(policy_channel_parse("SFTP"), POLICY_CH_SFTP);
	assert_int_equal(
	    policy_channel_parse("remote-forward"), POLICY_CH_REMOTE_FORWARD);
	assert_int_equal(policy_channel_parse("x11"), 0);
	assert_int_equal(policy_channel_parse(NULL), 0);
	assert_string_equal(policy_channel_name(POLICY_CH_FORWARD), "forward");
	assert_string_equal(policy_channel_name(POLICY_CH_SCP), "scp");
	assert_null(policy_channel_name(POLICY_CH_SHELL | POLICY_CH_EXEC));
	assert_null(policy_channel_name(0));
	assert_string_equal(
	    policy_outcome_name(POLICY_NEEDS_GRANT), "needs-grant");
	assert_string_equal(policy_approval_name(POLICY_APPROVAL_AUTO), "auto");
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_design_example),
		cmocka_unit_test(test_all_keywords),
		cmocka_unit_test(test_no_rules),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_short_err_buffer),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_summary_terms),
		cmocka_unit_test(test_channel_names),
	};

	/* Hours without TZ use the broker's zone: make it fixed. */
	if (setenv("TZ", "UTC", 1) != 0)
		return 1;
	unsetenv("TZDIR");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
