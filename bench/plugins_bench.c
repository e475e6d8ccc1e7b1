/*
 * plugins_bench.c: bench/plugins' driver: what the plugin layer costs a
 * decision.  store_decide over a store of 100 engineers and 100 targets
 * (on TMPDIR's disk), without plugins, then asking a plugin host with
 * provost_plugin(3)'s example (a change freeze: one failed fopen a check)
 * and with the contract plugin (a contract with scope, days and hours):
 * decisions per second and each one's ratio to no plugins, in one run.
 * Usage: plugins_bench EXAMPLE.so CONTRACT.so
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "plugins/plugins.h"
#include "policy/policy.h"
#include "store/store.h"

#define ENGINEERS 100
#define TARGETS 100
#define RUN_MS 2000

static const char policy_text[] = "Levels public internal\n"
				  "Rule open\n    Classification public\n"
				  "    Approval none\n";

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "plugins_bench: %s: %s\n", what, why);
	exit(1);
}

static double
rate(struct store *st, const struct policy *pol, struct plugin_host *h)
{
	struct store_decision sd;
	char eng[32], tgt[32];
	uint64_t t0 = pv_mono_ms(), n = 0;

	while (pv_mono_ms() - t0 < RUN_MS) {
		(void)snprintf(
		    eng, sizeof(eng), "eng%03d", (int)(n % ENGINEERS));
		(void)snprintf(tgt, sizeof(tgt), "t%03d", (int)(n % TARGETS));
		struct store_decide_req q = {
			.engineer = eng,
			.target = tgt,
			.account = "root",
			.channel = 0x01,
			.now = pv_wall_ms() / 1000,
			.veto = h != NULL ? plugin_host_veto : NULL,
			.veto_ctx = h,
		};
		if (store_decide(st, pol, &q, &sd) != PV_ALLOW)
			die("a decision", sd.reason);
		store_decision_clear(&sd);
		n++;
	}
	return (double)n * 1000.0 / (double)(pv_mono_ms() - t0);
}

static struct plugin_host *
host(const char *so, const char *config)
{
	const struct plugin_host_opts o = { .timeout_ms = 2000 };
	const struct plugin_spec spec = { so, config };
	struct plugin_host *h = NULL;
	char err[512];

	if (plugin_host_start(&spec, 1, &o, &h, err, sizeof(err)) != 0)
		die(so, err);
	return h;
}

int
main(int argc, char **argv)
{
	static const char *const accts[] = { "root" };
	static const char hk[] =
	    "ssh-ed25519 "
	    "AAAAC3NzaC1lZDI1NTE5AAAAIEJCQkJCQkJCQkJCQkJCQkJ"
	    "CQkJCQkJCQkJCQkJCQkJC";
	const char *tmp = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	char dir[4096], db[4200], cf[4200], fz[4200], name[32], err[256];
	struct store *st = NULL;
	struct policy *pol = NULL;
	struct plugin_host *h;
	double base, ex, ct;
	FILE *f;
	int i;

	if (argc != 3)
		die("usage", "plugins_bench EXAMPLE.so CONTRACT.so");
	pv_log_init("plugins_bench", PV_LOG_STDERR, PV_LOG_ERROR);
	(void)snprintf(dir, sizeof(dir), "%s/pv-plugins-bench.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", dir);
	(void)snprintf(db, sizeof(db), "%s/provost.db", dir);
	(void)snprintf(cf, sizeof(cf), "%s/contracts.conf", dir);
	(void)snprintf(fz, sizeof(fz), "%s/freeze", dir);
	if (store_open(db, &st) != 0 ||
	    store_provider_add(st, "admin:b", "acme", 0, 0) != 0)
		die("store", "cannot set up");
	for (i = 0; i < ENGINEERS; i++) {
		(void)snprintf(name, sizeof(name), "eng%03d", i);
		if (store_engineer_add(st, "admin:b", name, "acme", NULL) != 0)
			die("engineer", store_errmsg(st));
	}
	for (i = 0; i < TARGETS; i++) {
		(void)snprintf(name, sizeof(name), "t%03d", i);
		struct store_target_spec t = { .name = name,
			.host = "127.0.0.1",
			.port = 22,
			.classification = "public",
			.hostkey = hk,
			.naccounts = 1,
			.accounts = accts };
		if (store_target_add(st, "admin:b", &t) != 0)
			die("target", store_errmsg(st));
	}
	if (policy_load_mem("b.conf", policy_text, sizeof(policy_text) - 1,
		&pol, err, sizeof(err)) != 0)
		die("policy", err);
	if ((f = fopen(cf, "w")) == NULL)
		die(cf, "cannot write");
	fprintf(f,
	    "Contract acme-msa\n  Provider acme\n  Start 2020-01-01\n"
	    "  End 2199-12-31\n  Notice 30d\n  TimeZone UTC\n"
	    "  Days *\n  Hours 00:00-24:00\n  Targets t* db*\n"
	    "  Classifications public internal\n"
	    "  Exclude account postgres@db*\n");
	(void)fclose(f);
	base = rate(st, pol, NULL);
	h = host(argv[1], fz);
	ex = rate(st, pol, h);
	plugin_host_free(h);
	h = host(argv[2], cf);
	ct = rate(st, pol, h);
	plugin_host_free(h);
	printf("%-32s %14s %8s\n", "decisions (store_decide)", "per second",
	    "ratio");
	printf("%-32s %14.0f %8.2f\n", "no plugins", base, 1.0);
	printf(
	    "%-32s %14.0f %8.2f\n", "example plugin (freeze)", ex, ex / base);
	printf("%-32s %14.0f %8.2f\n", "contract plugin", ct, ct / base);
	printf("{\"bench\":\"plugins\",\"decisions_per_s\":{\"none\":%.0f,"
	       "\"example\":%.0f,\"contract\":%.0f},\"ratio\":{\"example\":"
	       "%.3f,\"contract\":%.3f}}\n",
	    base, ex, ct, ex / base, ct / base);
	store_close(st);
	policy_free(pol);
	(void)unlink(db);
	(void)unlink(cf);
	(void)rmdir(dir);
	return 0;
}
