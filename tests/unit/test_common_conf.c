/*
 * test_common_conf.c: the config tokenizer (quoting, comments, argument
 * counts, case-insensitive keywords, one FILE:LINE error per fault) and
 * the provostd.conf loader on it (every keyword, defaults, reload).
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

/* Collects every line as "Keyword|arg|arg" for comparison. */
struct collect {
	char out[4096];
	int indented_lines;
};

static int
collect_line(
    void *ctx, const struct pv_conf_line *line, char *err, size_t errlen)
{
	struct collect *c = ctx;
	size_t o = strlen(c->out);
	int i, n;

	if (line->nargs > 0 && strcmp(line->args[0], "reject") == 0) {
		(void)snprintf(
		    err, errlen, "value \"%s\" is refused", line->args[0]);
		return PV_ERR_CONFIG;
	}
	n = snprintf(c->out + o, sizeof(c->out) - o, "%s%s", o ? "\n" : "",
	    line->keyword);
	assert_true(n > 0);
	for (i = 0; i < line->nargs; i++) {
		o = strlen(c->out);
		n = snprintf(
		    c->out + o, sizeof(c->out) - o, "|%s", line->args[i]);
		assert_true(n > 0);
	}
	if (line->indented)
		c->indented_lines++;
	return 0;
}

static const struct pv_conf_keyword table[] = {
	{ "Listen", 1, 1, collect_line },
	{ "Channels", 1, -1, collect_line },
	{ "Hours", 1, 2, collect_line },
	{ "Flag", 0, 0, collect_line },
	{ "Rule", 1, 1, collect_line },
	{ NULL, 0, 0, NULL },
};

static const struct {
	const char *in;
	const char *want; /* collected lines, or NULL if an error */
	const char *err;  /* the exact error, when want is NULL */
} cases[] = {
	{ "", "", NULL },
	{ "# only a comment\n\n   \n", "", NULL },
	{ "Listen 0.0.0.0:2222\n", "Listen|0.0.0.0:2222", NULL },
	{ "listen a\nLISTEN b", "listen|a\nLISTEN|b", NULL },
	{ "Channels shell exec  sftp # trailing\n", "Channels|shell|exec|sftp",
	    NULL },
	{ "Channels a#b\n", "Channels|a#b", NULL },
	{ "Rule \"two words\"\n", "Rule|two words", NULL },
	{ "Rule \"a # not a comment\"\n", "Rule|a # not a comment", NULL },
	{ "Rule \"q\\\"q\\\\\"\n", "Rule|q\"q\\", NULL },
	{ "Rule \"\"\n", "Rule|", NULL },
	{ "Rule ab\"c d\"e\n", "Rule|abc de", NULL },
	{ "Flag\r\nListen x\r\n", "Flag\nListen|x", NULL },
	{ "Rule x\n\tHours Mon 1\n", "Rule|x\nHours|Mon|1", NULL },
	{ "Bogus 1\n", NULL, "t.conf:1: unknown keyword \"Bogus\"" },
	{ "Flag\nListen\n", NULL, "t.conf:2: Listen takes 1 argument, not 0" },
	{ "Listen a b\n", NULL, "t.conf:1: Listen takes 1 argument, not 2" },
	{ "Flag x\n", NULL, "t.conf:1: Flag takes 0 arguments, not 1" },
	{ "Hours a b c\n", NULL,
	    "t.conf:1: Hours takes 1 to 2 arguments, not 3" },
	{ "Channels\n", NULL, "t.conf:1: Channels takes at least 1 argument" },
	{ "\n\nRule \"open\n", NULL, "t.conf:3: unterminated quoted string" },
	{ "Rule \"a\\nb\"\n", NULL,
	    "t.conf:1: bad escape in quoted string (only \\\" and \\\\)" },
	{ "Listen a\x01\n", NULL, "t.conf:1: control character 0x01" },
	{ "Listen\x7f\n", NULL, "t.conf:1: control character 0x7f" },
	{ "Flag\nRule reject\n", NULL,
	    "t.conf:2: value \"reject\" is refused" },
	{ "Bad\x1b[31m\n", NULL, "t.conf:1: control character 0x1b" },
};

static void
test_cases(void **state)
{
	char err[PV_CONF_ERR_MAX];
	struct collect c;
	size_t i, len;
	int r;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&c, 0, sizeof(c));
		len = strlen(cases[i].in);
		r = pv_conf_parse_mem(
		    "t.conf", cases[i].in, len, table, &c, err, sizeof(err));
		if (cases[i].want != NULL) {
			if (r != 0)
				fail_msg(
				    "case %zu: unexpected error: %s", i, err);
			assert_string_equal(c.out, cases[i].want);
		} else {
			if (r == 0)
				fail_msg("case %zu: parsed, want error %s", i,
				    cases[i].err);
			assert_string_equal(err, cases[i].err);
		}
	}
}

static void
test_nul_byte(void **state)
{
	static const char in[] = "Listen a\0b\n";
	char err[PV_CONF_ERR_MAX];
	struct collect c;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(pv_conf_parse_mem("t.conf", in, sizeof(in) - 1, table,
			     &c, err, sizeof(err)),
	    PV_ERR_INVALID);
	assert_string_equal(err, "t.conf:1: control character 0x00");
}

static void
test_indent_flag(void **state)
{
	char err[PV_CONF_ERR_MAX];
	struct collect c;
	const char *in = "Rule a\n  Hours x\n\tChannels y\nRule b\n";

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(
	    pv_conf_parse_mem("t", in, strlen(in), table, &c, err, sizeof(err)),
	    0);
	assert_int_equal(c.indented_lines, 2);
}

static void
test_limits(void **state)
{
	char err[PV_CONF_ERR_MAX], *in;
	struct collect c;
	size_t i, o = 0;

	(void)state;
	/* A line over the limit. */
	in = malloc(PV_CONF_MAX_LINE + 20);
	assert_non_null(in);
	memcpy(in, "Listen ", 7);
	memset(in + 7, 'a', PV_CONF_MAX_LINE);
	in[PV_CONF_MAX_LINE + 7] = '\n';
	memset(&c, 0, sizeof(c));
	assert_int_equal(pv_conf_parse_mem("t", in, PV_CONF_MAX_LINE + 8, table,
			     &c, err, sizeof(err)),
	    PV_ERR_LIMIT);
	assert_string_equal(err, "t:1: line longer than 4096 bytes");
	free(in);

	/* Too many arguments. */
	in = malloc(1024);
	assert_non_null(in);
	o = (size_t)snprintf(in, 1024, "Channels");
	for (i = 0; i < PV_CONF_MAX_ARGS + 1; i++)
		o += (size_t)snprintf(in + o, 1024 - o, " c%zu", i);
	assert_int_equal(
	    pv_conf_parse_mem("t", in, o, table, &c, err, sizeof(err)),
	    PV_ERR_INVALID);
	assert_string_equal(err, "t:1: too many arguments");
	free(in);

	/* Exactly the maximum is fine. */
	in = malloc(1024);
	assert_non_null(in);
	o = (size_t)snprintf(in, 1024, "Channels");
	for (i = 0; i < PV_CONF_MAX_ARGS; i++)
		o += (size_t)snprintf(in + o, 1024 - o, " c%zu", i);
	memset(&c, 0, sizeof(c));
	assert_int_equal(
	    pv_conf_parse_mem("t", in, o, table, &c, err, sizeof(err)), 0);
	free(in);
}

static void
test_file(void **state)
{
	char dir[] = "/tmp/pvconfXXXXXX", path[256], err[PV_CONF_ERR_MAX];
	static const char body[] = "Listen x\nNope\n";
	struct collect c;

	(void)state;
	assert_non_null(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/p.conf", dir);
	assert_int_equal(pv_file_write_new(path, 0600, body, strlen(body)), 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(pv_conf_parse_file(path, table, &c, err, sizeof(err)),
	    PV_ERR_CONFIG);
	assert_non_null(strstr(err, "/p.conf:2: unknown keyword \"Nope\""));
	assert_int_equal(unlink(path), 0);
	assert_int_not_equal(
	    pv_conf_parse_file(path, table, &c, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "cannot read: not found"));
	assert_int_not_equal(
	    pv_conf_parse_file(dir, table, &c, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(rmdir(dir), 0);
}

static void
test_yesno(void **state)
{
	int v = -1;

	(void)state;
	assert_int_equal(pv_conf_yesno("yes", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(pv_conf_yesno("No", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(pv_conf_yesno("true", &v), PV_ERR_INVALID);
	assert_int_equal(pv_conf_yesno("", &v), PV_ERR_INVALID);
}

/* --- provostd.conf (common/config.c): every keyword, defaults, errors --- */

static void
test_config(void **state)
{
	static const char good[] = "ListenAddress 127.0.0.1:2222\n"
				   "listenaddress [::1]:2222\n"
				   "StateDirectory /srv/provost\n"
				   "PolicyFile /etc/p.conf\n"
				   "RecordingRecipient /etc/sec.pub\n"
				   "CertificateLifetime 90s\n"
				   "MaxSessions 10\n"
				   "RecordingMinFree 512K\n"
				   "MFAGrace 0\n"
				   "NotifyWatchers no\n"
				   "Plugin /usr/lib/c.so /etc/c.conf\n"
				   "LogLevel debug\n"
				   "RevocationList /srv/provost/revoked.list\n"
				   "RekeyLimit 4M 1h\n"
				   "KexAlgorithms curve25519-sha256,"
				   "sntrup761x25519-sha512@openssh.com\n"
				   "macs hmac-sha2-256-etm@openssh.com\n"
				   "Ciphers -aes*-cbc,3des-?bc\n"
				   "RevokedKeys /srv/provost/revoked.krl\n"
				   "RotationHook net-password /usr/lib/h1\n"
				   "RotationHook api-key /usr/lib/h2\n"
				   "RotationHook unix-password builtin\n"
				   "RotationHookTimeout 2m\n";
	static const struct {
		const char *text;
		const char *err;
	} bad[] = {
		{ "Bogus 1\n", "x.conf:1:" },
		{ "# c\nStateDirectory relative\n",
		    "x.conf:2: StateDirectory "
		    "needs an absolute path" },
		{ "Store mysql://x\n", "x.conf:1:" },
		{ "CertificateLifetime 2x\n", "not a duration" },
		{ "CertificateLifetime 2s\n", "10s..1d" },
		{ "MaxSessions 0\n", "x.conf:1:" },
		{ "RecordingMinFree 1MB\n",
		    "x.conf:1: RecordingMinFree: not a size" },
		{ "RecordingMinFree 1M\nRecordingMinFree 2M\n",
		    "x.conf:2: RecordingMinFree given twice" },
		{ "LogLevel loud\n", "x.conf:1:" },
		{ "NotifyWatchers maybe\n",
		    "x.conf:1: NotifyWatchers: yes or no, not 'maybe'" },
		{ "NotifyWatchers yes\nNotifyWatchers no\n",
		    "x.conf:2: NotifyWatchers given twice" },
		{ "KexAlgorithms a\nKexAlgorithms b\n",
		    "x.conf:2: KexAlgorithms given twice" },
		{ "Ciphers aes256-gcm@openssh.com,\n",
		    "x.conf:1: Ciphers: a comma-separated list" },
		{ "MACs hmac;sha\n",
		    "x.conf:1: MACs: ';' is not part of an algorithm name" },
		{ "KexAlgorithms +\n",
		    "x.conf:1: KexAlgorithms: a comma-separated list" },
		{ "Ciphers ^aes*\n",
		    "x.conf:1: Ciphers: '*' is not part of an algorithm name" },
		{ "MACs -,hmac\n", "x.conf:1: MACs: a comma-separated list" },
		{ "PolicyFile /a\nPolicyFile /b\n",
		    "x.conf:2: PolicyFile given "
		    "twice" },
		{ "RevocationList revoked.list\n", "needs an absolute path" },
		{ "RevocationList /a\nRevocationList /b\n",
		    "x.conf:2: RevocationList given twice" },
		/* provostd(8): LoginGraceTime cannot be turned off */
		{ "LoginGraceTime 0\n",
		    "x.conf:1: LoginGraceTime must be 1s..1h" },
		{ "RevocationList none\nRevocationList /a\n",
		    "x.conf:2: RevocationList given twice" },
		{ "RekeyLimit 4K\n", "x.conf:1: RekeyLimit: DATA is default" },
		{ "RekeyLimit lots\n", "x.conf:1: RekeyLimit: DATA" },
		{ "RekeyLimit 1G 0s\n", "x.conf:1: RekeyLimit: TIME is none" },
		{ "RekeyLimit 1G 1h 1\n", "x.conf:1:" },
		{ "RekeyLimit 1G\nRekeyLimit 2G\n",
		    "x.conf:2: RekeyLimit given twice" },
		{ "RotationHook Net /bin/true\n",
		    "x.conf:1: RotationHook: KIND is [a-z0-9-]" },
		{ "RotationHook -x /bin/true\n",
		    "x.conf:1: RotationHook: KIND is [a-z0-9-]" },
		{ "RotationHook k hook.sh\n",
		    "x.conf:1: RotationHook: PROGRAM needs an absolute path" },
		{ "RotationHook api-key builtin\n",
		    "x.conf:1: RotationHook api-key builtin: only "
		    "unix-password is built in" },
		{ "RotationHook k /a\nRotationHook k /b\n",
		    "x.conf:2: RotationHook k given twice" },
		{ "RotationHook k\n", "x.conf:1:" },
		{ "RotationHookTimeout 0\n",
		    "x.conf:1: RotationHookTimeout: 1s..1h" },
		{ "RotationHookTimeout 2h\n",
		    "x.conf:1: RotationHookTimeout: 1s..1h" },
		{ "RevokedKeys krl\n", "needs an absolute path" },
		{ "RevokedKeys none\nRevokedKeys /a\n",
		    "x.conf:2: RevokedKeys given twice" },
		{ "ExitDirectory exits\n", "needs an absolute path" },
	};
	struct pv_config *c;
	const char *path;
	char err[256];
	size_t i;

	(void)state;
	assert_int_equal(pv_config_new(&c), 0);
	assert_int_equal(pv_config_load_mem(
			     c, "x.conf", good, strlen(good), err, sizeof(err)),
	    0);
	assert_int_equal(c->nlisten, 2);
	assert_string_equal(c->state_dir, "/srv/provost");
	assert_string_equal(c->store, "sqlite:/srv/provost/provost.db");
	assert_int_equal(pv_config_store_path(c, &path), 0);
	assert_string_equal(path, "/srv/provost/provost.db");
	assert_string_equal(c->recording_dir, "/srv/provost/recordings");
	assert_int_equal(c->cert_lifetime, 90);
	assert_int_equal(c->max_sessions, 10);
	assert_true(c->recording_min_free == 512 * 1024);
	assert_int_equal(c->mfa_grace, 0);
	assert_int_equal(c->login_grace, 30);
	assert_int_equal(c->max_auth_tries, 3);
	assert_int_equal(c->nplugins, 1);
	assert_string_equal(c->plugins[0].config, "/etc/c.conf");
	assert_int_equal(c->log_level, PV_LOG_DEBUG);
	assert_string_equal(c->sandbox_user, "provost");
	assert_string_equal(c->revocation_list, "/srv/provost/revoked.list");
	assert_true(c->rekey_data == 4 * 1024 * 1024);
	assert_int_equal(c->rekey_time, 3600);
	assert_string_equal(c->kex_algos,
	    "curve25519-sha256,sntrup761x25519-sha512@openssh.com");
	assert_string_equal(c->macs, "hmac-sha2-256-etm@openssh.com");
	assert_int_equal(c->notify_watchers, 0);
	assert_string_equal(c->ciphers, "-aes*-cbc,3des-?bc");
	assert_null(c->hostkey_algos);
	assert_string_equal(c->revoked_keys, "/srv/provost/revoked.krl");
	assert_string_equal(c->exit_dir, "/srv/provost/exits");
	assert_int_equal(c->nhooks, 3);
	assert_string_equal(c->hooks[1].kind, "api-key");
	assert_string_equal(c->hooks[1].program, "/usr/lib/h2");
	assert_string_equal(c->hooks[2].program, "builtin");
	assert_int_equal(c->hook_timeout, 120);
	pv_config_free(c);
	pv_config_free(NULL);
	/* Not kept unless configured. */
	assert_int_equal(pv_config_new(&c), 0);
	/* MFAGrace is off unless turned on (docs/threat-model.md). */
	assert_int_equal(c->mfa_grace, 0);
	assert_int_equal(
	    pv_config_load_mem(c, "x.conf", "", 0, err, sizeof(err)), 0);
	assert_null(c->revocation_list);
	assert_null(c->revoked_keys);
	assert_int_equal(c->nhooks, 0);
	assert_int_equal(c->hook_timeout, 60);
	assert_true(c->recording_min_free == PV_CONFIG_MIN_FREE_DEFAULT);
	assert_true(c->rekey_data == 0 && c->rekey_time == 0);
	assert_int_equal(c->notify_watchers, 1); /* the engineer is told */
	pv_config_free(c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(pv_config_new(&c), 0);
		assert_int_not_equal(
		    pv_config_load_mem(c, "x.conf", bad[i].text,
			strlen(bad[i].text), err, sizeof(err)),
		    0);
		if (strstr(err, bad[i].err) == NULL)
			fail_msg("case %zu: got \"%s\"", i, err);
		pv_config_free(c);
	}
}

/* A reload takes what may change and names what needs a restart. */
static void
test_config_reload(void **state)
{
	static const char a[] = "ListenAddress 127.0.0.1:2222\n"
				"PolicyFile /etc/a.conf\n"
				"MaxSessions 10\n"
				"Store sqlite:/a.db\n";
	static const char b[] = "ListenAddress 127.0.0.1:2223\n"
				"PolicyFile /etc/b.conf\n"
				"MaxSessions 20\n"
				"RekeyLimit 1G 1h\n"
				"LogLevel warn\n"
				"Store sqlite:/b.db\n";
	struct pv_config *cur, *next;
	char err[256], restart[256];

	(void)state;
	assert_int_equal(pv_config_new(&cur), 0);
	assert_int_equal(pv_config_new(&next), 0);
	assert_int_equal(
	    pv_config_load_mem(cur, "a.conf", a, strlen(a), err, sizeof(err)),
	    0);
	assert_int_equal(
	    pv_config_load_mem(next, "b.conf", b, strlen(b), err, sizeof(err)),
	    0);
	pv_config_reload(cur, next, restart, sizeof(restart));
	/* the default BrokerName follows the port: it changes too */
	assert_string_equal(restart, "ListenAddress, Store, BrokerName");
	assert_string_equal(cur->listen[0], "127.0.0.1:2222");
	assert_string_equal(cur->store, "sqlite:/a.db");
	assert_string_equal(cur->policy_file, "/etc/b.conf");
	assert_string_equal(next->policy_file, "/etc/a.conf");
	assert_int_equal(cur->max_sessions, 20);
	assert_int_equal(cur->rekey_time, 3600);
	assert_int_equal(cur->log_level, PV_LOG_WARN);
	/* the same file again: nothing needs a restart */
	pv_config_reload(cur, cur, restart, sizeof(restart));
	assert_string_equal(restart, "");
	pv_config_free(cur);
	pv_config_free(next);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_indent_flag),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_yesno),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_config_reload),
	};

	return cmocka_run_group_tests_name("common_conf", tests, NULL, NULL);
}
