/*
 * fuzz_rec_escape.c: the terminal escape filter on arbitrary bytes, split
 * into two events; what comes out must hold no OSC, DCS or C1 control.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "recorder/recorder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == 0x1b && i + 1 < n &&
		    (p[i + 1] == ']' || p[i + 1] == 'P' || p[i + 1] == '_' ||
			p[i + 1] == '^' || p[i + 1] == 'X'))
			abort();
		if (p[i] == 0x07 || p[i] == 0)
			abort();
		/* U+0080..U+009F encoded, or a bare C1 byte after ASCII. */
		if (p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f)
			abort();
		if (p[i] >= 0x80 && p[i] <= 0xbf && (i == 0 || p[i - 1] < 0x80))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec_escape *f;
	struct pv_buf *out;
	size_t split;

	if (size < 2)
		return 0;
	split = data[1] % (size - 1);
	if ((f = rec_escape_new(
		 data[0] & 1 ? REC_ESC_TEXT : REC_ESC_TERMINAL)) == NULL ||
	    (out = pv_buf_new(0)) == NULL)
		abort();
	data += 2;
	size -= 2;
	if (rec_escape_filter(f, data, split, out) != 0 ||
	    rec_escape_filter(f, data + split, size - split, out) != 0 ||
	    rec_escape_finish(f, out) != 0)
		abort();
	check(pv_buf_ptr(out), pv_buf_len(out));
	pv_buf_free(out);
	rec_escape_free(f);
	return 0;
}
