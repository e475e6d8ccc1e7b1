/*
 * standalone.c: a main() for fuzz targets in builds without libFuzzer.
 * It feeds each file named on the command line to the target once, so
 * that make check replays the seed corpus (under ASan in that build).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_INPUT_MAX (8UL * 1024 * 1024)

int
main(int argc, char **argv)
{
	uint8_t *data;
	size_t len;
	int i, r;

	for (i = 1; i < argc; i++) {
		if ((r = pv_file_read(argv[i], FUZZ_INPUT_MAX, &data, &len)) !=
		    0) {
			fprintf(stderr, "%s: %s\n", argv[i], pv_err_str(r));
			return 1;
		}
		(void)LLVMFuzzerTestOneInput(data, len);
		free(data);
	}
	return 0;
}
