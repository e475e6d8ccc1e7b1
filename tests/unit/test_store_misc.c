/*
 * test_store_misc.c: the provostd.conf loader (every keyword, defaults,
 * FILE:LINE errors) and the store's small parts: names, lists, key types.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/store-int.h"
#include "store_test_util.h"

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
	assert_null(c->ciphers);
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

static int
approver_count(void *ctx, const struct store_approver *a)
{
	(*(int *)ctx)++;
	if (strcmp(a->name, "sec1") == 0)
		assert_null(a->engineer);
	else
		assert_string_equal(a->engineer, "alice");
	return 0;
}

static int
key_count(void *ctx, const struct store_key *k)
{
	(*(int *)ctx)++;
	assert_string_equal(k->type, "ssh-ed25519");
	assert_string_equal(k->comment, "test-5");
	return 0;
}

static void
test_names_and_small_parts(void **state)
{
	static const struct {
		const char *name;
		int ok;
	} names[] = {
		{ "alice", 1 },
		{ "db-01.prod_x", 1 },
		{ "a", 1 },
		{ "", 0 },
		{ "Alice", 0 },
		{ "al ice", 0 },
		{ "-x", 0 },
		{ ".x", 0 },
		{ "a/b", 0 },
		{ "a@b", 0 },
		{ "a+b", 0 },
		{ "012345678901234567890123456789012345678901234567890123456789"
		  "0123",
		    1 },
		{ "012345678901234567890123456789012345678901234567890123456789"
		  "01234",
		    0 },
	};
	struct store *st;
	char *line = tsu_keyline(5, NULL);
	EVP_PKEY *rsa;
	size_t i;
	int n = 0;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (store_name_valid(names[i].name) != names[i].ok)
			fail_msg("name \"%s\"", names[i].name);
	assert_int_equal(store_name_valid(NULL), 0);
	assert_string_equal(store_auth_name(STORE_AUTH_PAM_TOKEN), "pam-token");
	assert_string_equal(
	    store_grant_state_name(STORE_GRANT_EXPIRED), "expired");
	assert_string_equal(store_grant_state_name(99), "unknown");
	assert_int_equal(store_open(tsu_mem(), &st), 0);
	assert_string_equal(store_errmsg(st), "no details");
	assert_int_equal(tsu_populate(st), 0);
	/* Only Ed25519 signs the audit chain. */
	assert_non_null(
	    rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048));
	assert_int_equal(store_set_audit_key(st, rsa), PV_ERR_INVALID);
	EVP_PKEY_free(rsa);
	assert_int_equal(
	    store_approver_add(st, "admin:t", "sec1", "security", NULL), 0);
	assert_int_equal(
	    store_approver_add(st, "admin:t", "sec2", "security", "alice"), 0);
	assert_int_equal(
	    store_approver_add(st, "admin:t", "sec2", "change", NULL), 0);
	assert_int_equal(
	    store_approver_add(st, "admin:t", "sec2", "change", NULL),
	    PV_ERR_EXISTS);
	assert_int_equal(
	    store_approver_add(st, "admin:t", "sec3", "security", "nobody"),
	    PV_ERR_NOT_FOUND);
	assert_int_equal(store_approver_list(st, approver_count, &n), 0);
	assert_int_equal(n, 3);
	n = 0;
	assert_int_equal(
	    store_engineer_key_add(st, "admin:t", "alice", line, NULL), 0);
	assert_int_equal(
	    store_engineer_key_list(st, "alice", key_count, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_engineer_key_list(st, "nobody", key_count, &n),
	    PV_ERR_NOT_FOUND);
	free(line);
	store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_config_reload),
		cmocka_unit_test(test_names_and_small_parts),
	};

	pv_log_init("test_store_misc", PV_LOG_STDERR, PV_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
