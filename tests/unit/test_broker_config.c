/*
 * test_broker_config.c: provostd.conf: every default, every keyword typed,
 * and one "FILE:LINE: what" error per bad line, in a table.
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

#include "broker/broker.h"

static void
test_config_defaults(void **state)
{
	struct broker_config *c = NULL;
	char err[256];

	(void)state;
	assert_int_equal(
	    broker_config_load_mem("t", "", 0, &c, err, sizeof(err)), 0);
	assert_int_equal(c->nlisten, 1);
	assert_string_equal(c->listen[0].host, "0.0.0.0");
	assert_int_equal(c->listen[0].port, 2222);
	assert_string_equal(c->state_dir, "/var/lib/provost");
	assert_string_equal(c->store, "sqlite:/var/lib/provost/provost.db");
	assert_string_equal(c->policy_file, "/etc/provost/policy.conf");
	assert_string_equal(c->recording_dir, "/var/lib/provost/recordings");
	assert_int_equal(c->nrecipients, 1);
	assert_string_equal(
	    c->recipients[0], "/etc/provost/recipients/security.pub");
	assert_int_equal(c->cert_lifetime, 120);
	assert_string_equal(c->control_socket, "/run/provost/control.sock");
	assert_string_equal(c->sandbox_user, "provost");
	assert_int_equal(c->max_sessions, 500);
	assert_int_equal(c->login_grace, 30);
	assert_int_equal(c->max_auth_tries, 3);
	assert_int_equal(c->mfa_grace, 600);
	assert_int_equal(c->nplugins, 0);
	assert_int_equal(c->log_level, PV_LOG_INFO);
	broker_config_free(c);
	broker_config_free(NULL);
}

static void
test_config_full(void **state)
{
	static const char conf[] = "# every keyword\n"
				   "ListenAddress 127.0.0.1:2200\n"
				   "listenaddress [::1]:2201\n"
				   "ListenAddress localhost\n"
				   "StateDirectory /tmp/s\n"
				   "Store sqlite:/tmp/s/p.db\n"
				   "PolicyFile /tmp/p.conf\n"
				   "RecordingDirectory /tmp/r\n"
				   "RecordingRecipient /tmp/a.pub\n"
				   "RecordingRecipient \"/tmp/b c.pub\"\n"
				   "CertificateLifetime 5m\n"
				   "ControlSocket /tmp/c.sock\n"
				   "SandboxUser nobody\n"
				   "MaxSessions 7\n"
				   "LoginGraceTime 0\n"
				   "MaxAuthTries 6\n"
				   "MFAGrace 0\n"
				   "Plugin /p/contract.so /p/contract.conf\n"
				   "Plugin /p/sla.so\n"
				   "LOGLEVEL debug\n";
	struct broker_config *c = NULL;
	char err[256], *dump = NULL;
	size_t dumplen = 0;
	FILE *fp;

	(void)state;
	assert_int_equal(broker_config_load_mem(
			     "t", conf, sizeof(conf) - 1, &c, err, sizeof(err)),
	    0);
	assert_int_equal(c->nlisten, 3);
	assert_string_equal(c->listen[1].host, "::1");
	assert_int_equal(c->listen[1].port, 2201);
	assert_string_equal(c->listen[2].host, "localhost");
	assert_int_equal(c->listen[2].port, 2222);
	assert_int_equal(c->nrecipients, 2);
	assert_string_equal(c->recipients[1], "/tmp/b c.pub");
	assert_int_equal(c->cert_lifetime, 300);
	assert_int_equal(c->max_sessions, 7);
	assert_int_equal(c->login_grace, 0);
	assert_int_equal(c->max_auth_tries, 6);
	assert_int_equal(c->mfa_grace, 0);
	assert_int_equal(c->nplugins, 2);
	assert_string_equal(c->plugins[0].config, "/p/contract.conf");
	assert_null(c->plugins[1].config);
	assert_int_equal(c->log_level, PV_LOG_DEBUG);
	fp = open_memstream(&dump, &dumplen);
	assert_non_null(fp);
	assert_int_equal(broker_config_dump(c, fp), 0);
	fclose(fp);
	assert_non_null(strstr(dump, "ListenAddress [::1]:2201\n"));
	assert_non_null(strstr(dump, "CertificateLifetime 5m\n"));
	assert_non_null(strstr(dump, "LogLevel debug\n"));
	free(dump);
	broker_config_free(c);
}

struct bad_case {
	const char *conf;
	const char *err; /* the whole error line */
};

static const struct bad_case bad[] = {
	{ "Port 22\n", "t:1: unknown keyword" },
	{ "\nListenAddress\n", "t:2:" },
	{ "ListenAddress 1.2.3.4:0\n", "t:1: ListenAddress: \"1.2.3.4:0\"" },
	{ "ListenAddress 1.2.3.4:65536\n", "t:1: ListenAddress" },
	{ "ListenAddress ::1\n", "t:1: ListenAddress" },
	{ "ListenAddress [::1\n", "t:1: ListenAddress" },
	{ "ListenAddress :22\n", "t:1: ListenAddress" },
	{ "Store mysql://x\n", "t:1: Store" },
	{ "CertificateLifetime 2\n", "t:1: CertificateLifetime" },
	{ "CertificateLifetime 2x\n", "t:1: CertificateLifetime" },
	{ "CertificateLifetime 2d\n", "t:1: CertificateLifetime" },
	{ "MaxSessions 0\n", "t:1: MaxSessions" },
	{ "MaxSessions -1\n", "t:1: MaxSessions" },
	{ "MaxAuthTries 101\n", "t:1: MaxAuthTries" },
	{ "LogLevel loud\n", "t:1: LogLevel" },
	{ "MFAGrace 2d\n", "t:1: MFAGrace" },
	{ "StateDirectory \"\"\n", "t:1: empty value" },
	{ "StateDirectory /a\nStateDirectory /b\n",
	    "t:2: StateDirectory given" },
	{ "StateDirectory /a /b\n", "t:1:" },
	{ "Plugin a b c\n", "t:1:" },
};

static void
test_config_errors(void **state)
{
	struct broker_config *c = NULL;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = (struct broker_config *)&c;
		if (broker_config_load_mem("t", bad[i].conf,
			strlen(bad[i].conf), &c, err, sizeof(err)) == 0)
			fail_msg("case %zu accepted: %s", i, bad[i].conf);
		assert_null(c);
		if (strncmp(err, bad[i].err, strlen(bad[i].err)) != 0)
			fail_msg("case %zu: error \"%s\", want \"%s...\"", i,
			    err, bad[i].err);
		assert_null(strchr(err, '\n'));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_full),
		cmocka_unit_test(test_config_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
