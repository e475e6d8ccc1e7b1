/*
 * fuzz_inventory.c: libFuzzer target for the JSON target inventory import
 * (store_target_import) on a fresh in-memory store per input.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/common.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
count_cb(void *ctx, const struct store_target *t)
{
	if (t->naccounts == 0 || t->port == 0 || t->name == NULL)
		__builtin_trap();
	(*(size_t *)ctx)++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const levels[] = { "public", "internal",
		"confidential", "restricted", NULL };
	struct store *st = NULL;
	char err[512];
	size_t count = 0, have = 0;
	int r;

	if (size > 256 * 1024)
		return 0;
	pv_log_set_level(PV_LOG_ERROR);
	if (store_open(":memory:", &st) != 0)
		__builtin_trap();
	r = store_target_import(st, "fuzz", (const char *)data, size,
	    (size & 1) ? levels : NULL, &count, err, sizeof(err));
	if (store_target_list(st, count_cb, &have) != 0)
		__builtin_trap();
	/* All or nothing, and an error always says why. */
	if (r == 0 && have != count)
		__builtin_trap();
	if (r != 0 && (have != 0 || count != 0 || err[0] == '\0'))
		__builtin_trap();
	store_close(st);
	return 0;
}
