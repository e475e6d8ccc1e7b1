/*
 * fuzz_b64.c: the strict base64 decoders; whatever decodes must encode
 * back to exactly the input (canonical form only).
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
	uint8_t *dec;
	size_t declen;
	char *enc;
	int url;

	for (url = 0; url <= 1; url++) {
		if (pv_b64_decode(
			(const char *)data, size, url, &dec, &declen) != 0)
			continue;
		if (pv_b64_encode(dec, declen, url, &enc) != 0)
			abort();
		if (strlen(enc) != size || memcmp(enc, data, size) != 0)
			abort();
		free(enc);
		free(dec);
	}
	return 0;
}
