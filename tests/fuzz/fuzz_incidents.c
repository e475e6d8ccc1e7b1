/*
 * fuzz_incidents.c: libFuzzer target for provostctl incidents import (CSV
 * and JSON lines, store_incident_import) on an in-memory store per input:
 * all or nothing, an error names the file and line, idempotent by id.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
count(struct store *st)
{
	char *out = NULL, err[256];
	size_t n = 0;
	const char *p;

	if (store_query(st, "incidents acme 0 9000000000", 0, &out, err,
		sizeof(err)) != 0)
		__builtin_trap();
	for (p = out; (p = strstr(p, "\"id\":")) != NULL; p++)
		n++;
	free(out);
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store *st = NULL;
	struct store_import_counts c, c2;
	char err[512];
	int r;

	if (size > 256 * 1024)
		return 0;
	pv_log_set_level(PV_LOG_ERROR);
	if (store_open(":memory:", &st) != 0 ||
	    store_provider_add(st, "fuzz", "acme", 0, 0) != 0)
		__builtin_trap();
	r = store_incident_import(st, "fuzz", "in", (const char *)data, size,
	    100, &c, err, sizeof(err));
	if (r == 0 && c.added + c.updated + c.present == 0)
		__builtin_trap();
	if (r != 0 &&
	    (c.added != 0 || strncmp(err, "in:", 3) != 0 || count(st) != 0))
		__builtin_trap();
	/* the same file again: nothing added or changed */
	if (r == 0 &&
	    (store_incident_import(st, "fuzz", "in", (const char *)data, size,
		 200, &c2, err, sizeof(err)) != 0 ||
		c2.added != 0 || c2.updated != 0 ||
		c2.present != c.added + c.updated + c.present))
		__builtin_trap();
	store_close(st);
	return 0;
}
