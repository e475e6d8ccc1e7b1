/*
 * fuzz_exposures.c: libFuzzer target for provostctl exposure import (CSV
 * and JSON lines, store_exposure_import) on an in-memory store per input.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/common.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
count_cb(void *ctx, const struct store_exposure *x)
{
	if (x->kind == NULL || x->reference == NULL ||
	    (x->target == NULL) == (x->system == NULL))
		__builtin_trap();
	(*(size_t *)ctx)++;
	return 0;
}

/* acme with alice, globex, target db01: what the seeds name. */
static void
populate(struct store *st)
{
	static const char *const accts[] = { "root" };
	const struct store_target_spec t = {
		.name = "db01",
		.host = "127.0.0.1",
		.classification = "public",
		.hostkey =
		    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBkcXcw36hvS82k2"
		    "hyLfxokKwwy8k6xzAdYYn0UmqiDO",
		.naccounts = 1,
		.accounts = accts,
	};

	if (store_provider_add(st, "fuzz", "acme", 0, 0) != 0 ||
	    store_provider_add(st, "fuzz", "globex", 0, 0) != 0 ||
	    store_engineer_add(st, "fuzz", "alice", "acme", NULL) != 0 ||
	    store_target_add(st, "fuzz", &t) != 0)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store *st = NULL;
	char err[512];
	size_t added = 0, present = 0, have = 0, again = 0, p2 = 0;
	int r;

	if (size > 256 * 1024)
		return 0;
	pv_log_set_level(PV_LOG_ERROR);
	if (store_open(":memory:", &st) != 0)
		__builtin_trap();
	populate(st);
	r = store_exposure_import(st, "fuzz", "in", (const char *)data, size,
	    100, &added, &present, err, sizeof(err));
	if (store_exposure_list(st, NULL, count_cb, &have) != 0)
		__builtin_trap();
	/* All or nothing; an error names the file and line. */
	if (r == 0 && (have != added || added + present == 0))
		__builtin_trap();
	if (r != 0 && (have != 0 || added != 0 || strncmp(err, "in:", 3) != 0))
		__builtin_trap();
	/* Idempotent: the same file again adds nothing. */
	if (r == 0 &&
	    (store_exposure_import(st, "fuzz", "in", (const char *)data, size,
		 200, &again, &p2, err, sizeof(err)) != 0 ||
		again != 0 || p2 != added + present))
		__builtin_trap();
	store_close(st);
	return 0;
}
