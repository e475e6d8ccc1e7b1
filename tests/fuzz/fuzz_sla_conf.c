/*
 * fuzz_sla_conf.c: libFuzzer target for provost-sla(5) files: any input
 * is loaded or refused with one line NAME:LINE: what; a loaded file has a
 * provider and a priority in every block, merged maintenance windows, and
 * its clocks never count more than the wall clock.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "plugins/sla/sla.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sla_file *f = NULL;
	char err[SLA_ERR_MAX];
	size_t i, j;

	if (size > 64 * 1024)
		return 0;
	err[0] = '\0';
	if (sla_parse("in", (const char *)data, size, &f, err, sizeof(err)) !=
	    0) {
		if (f != NULL || strncmp(err, "in:", 3) != 0 ||
		    strchr(err, '\n') != NULL)
			__builtin_trap();
		return 0;
	}
	for (i = 0; i < f->n; i++) {
		const struct sla *s = &f->v[i];
		int64_t from, to, c;

		if (s->provider == NULL || s->nprio == 0 || s->zone == NULL)
			__builtin_trap();
		for (j = 1; j < s->nwin; j++)
			if (s->win[j].start <= s->win[j - 1].end)
				__builtin_trap();
		if (sla_month(s, "2026-11", &from, &to) != 0)
			__builtin_trap();
		c = sla_clock(s, SLA_CLOCK_BUSINESS, from, to);
		if (c > to - from)
			__builtin_trap();
		c = sla_clock(s, SLA_CLOCK_24X7, from, to);
		if (c < 0 || c > to - from)
			__builtin_trap();
	}
	sla_free(f);
	return 0;
}
