/*
 * host_store.c: the store behind a plugin's host->query, answered in the
 * plugin host's own process over its own connection (opened on first
 * use, read only by what store_query asks).
 */
#include "config.h"

#include <stdio.h>
#include <time.h>

#include "plugins/plugins.h"
#include "store/store.h"

int
plugin_host_store_query(const void *ctx, const char *what, char **json_out,
    char *err, size_t errlen)
{
	static struct store *st;
	const char *db = ctx;
	int r;

	if (st == NULL && (r = store_open(db, &st)) != 0) {
		(void)snprintf(err, errlen, "store %s: %s", db, pv_err_str(r));
		return r;
	}
	return store_query(
	    st, what, (int64_t)time(NULL), json_out, err, errlen);
}
