/*
 * fuzz_conf.c: the config tokenizer on arbitrary bytes, with a table that
 * exercises argument counts and a handler that reads every argument.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
touch_args(void *ctx, const struct pv_conf_line *line, char *err, size_t errlen)
{
	size_t *total = ctx;
	uint64_t secs;
	int i, yes;

	for (i = 0; i < line->nargs; i++) {
		*total += strlen(line->args[i]);
		(void)pv_duration_parse(line->args[i], &secs);
		(void)pv_size_parse(line->args[i], &secs);
		(void)pv_conf_yesno(line->args[i], &yes);
	}
	if (line->nargs > 0 && strcmp(line->args[0], "fail") == 0) {
		(void)snprintf(err, errlen, "handler refused");
		return PV_ERR_CONFIG;
	}
	return 0;
}

static const struct pv_conf_keyword table[] = {
	{ "ListenAddress", 1, 1, touch_args },
	{ "Rule", 1, 1, touch_args },
	{ "Channels", 1, -1, touch_args },
	{ "Hours", 1, 3, touch_args },
	{ "Flag", 0, 0, touch_args },
	{ "Plugin", 1, 2, NULL },
	{ NULL, 0, 0, NULL },
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[PV_CONF_ERR_MAX];
	size_t total = 0;

	(void)pv_conf_parse_mem("fuzz.conf", (const char *)data, size, table,
	    &total, err, sizeof(err));
	return 0;
}
