/*
 * fuzz_duration.c: durations and strict numbers; a parsed duration must
 * format and parse back to the same value.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, fmt[64];
	uint64_t secs, again, u;
	int64_t i;

	if (size > 256 || (s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (pv_duration_parse(s, &secs) == 0) {
		if (pv_duration_format(secs, fmt, sizeof(fmt)) != 0 ||
		    pv_duration_parse(fmt, &again) != 0 || again != secs)
			abort();
	}
	(void)pv_parse_u64(s, 0, UINT64_MAX, &u);
	(void)pv_parse_i64(s, INT64_MIN, INT64_MAX, &i);
	free(s);
	return 0;
}
