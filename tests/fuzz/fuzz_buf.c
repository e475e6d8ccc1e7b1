/*
 * fuzz_buf.c: reading SSH-style fields from untrusted bytes with the
 * bounded buffer; the first byte chooses the sequence of reads.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "common/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pv_buf *b, *copy;
	const uint8_t *p;
	uint8_t op = 0, u8, *s;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	char *cs;
	size_t len;
	int steps = 0;

	if ((b = pv_buf_from(data, size)) == NULL)
		return 0;
	if ((copy = pv_buf_new(4096)) == NULL) {
		pv_buf_free(b);
		return 0;
	}
	while (pv_buf_len(b) > 0 && steps++ < 1000) {
		if (pv_buf_get_u8(b, &op) != 0)
			break;
		switch (op % 7) {
		case 0:
			if (pv_buf_get_u16(b, &u16) == 0)
				(void)pv_buf_put_u16(copy, u16);
			break;
		case 1:
			if (pv_buf_get_u32(b, &u32) == 0)
				(void)pv_buf_put_u32(copy, u32);
			break;
		case 2:
			if (pv_buf_get_u64(b, &u64) == 0)
				(void)pv_buf_put_u64(copy, u64);
			break;
		case 3:
			if (pv_buf_get_string(b, &s, &len) == 0) {
				(void)pv_buf_put_string(copy, s, len);
				free(s);
			}
			break;
		case 4:
			if (pv_buf_get_cstring(b, &cs, &len) == 0) {
				(void)pv_buf_put_cstring(copy, cs);
				free(cs);
			}
			break;
		case 5:
			(void)pv_buf_get_string_direct(b, &p, &len);
			break;
		default:
			if (pv_buf_get_u8(b, &u8) == 0)
				(void)pv_buf_consume(
				    copy, u8 % (pv_buf_len(copy) + 1));
			break;
		}
	}
	if (pv_buf_dup_cstring(copy, &cs) == 0)
		free(cs);
	pv_buf_free(copy);
	pv_buf_free(b);
	return 0;
}
