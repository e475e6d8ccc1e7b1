/*
 * test_common_buf.c: the bounded buffer: round trips, limits, truncated
 * and hostile lengths, embedded NULs, wiping views.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"

static void
test_roundtrip(void **state)
{
	struct pv_buf *b = pv_buf_new(0);
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	char *s;
	size_t len;

	(void)state;
	assert_non_null(b);
	assert_int_equal(pv_buf_put_u8(b, 0xab), 0);
	assert_int_equal(pv_buf_put_u16(b, 0x1234), 0);
	assert_int_equal(pv_buf_put_u32(b, 0xdeadbeef), 0);
	assert_int_equal(pv_buf_put_u64(b, 0x0102030405060708ULL), 0);
	assert_int_equal(pv_buf_put_cstring(b, "hello"), 0);
	assert_int_equal(pv_buf_len(b), 1 + 2 + 4 + 8 + 4 + 5);
	/* Big-endian on the wire, as SSH. */
	assert_memory_equal(pv_buf_ptr(b), "\xab\x12\x34\xde\xad\xbe\xef", 7);

	assert_int_equal(pv_buf_get_u8(b, &u8), 0);
	assert_int_equal(u8, 0xab);
	assert_int_equal(pv_buf_get_u16(b, &u16), 0);
	assert_int_equal(u16, 0x1234);
	assert_int_equal(pv_buf_get_u32(b, &u32), 0);
	assert_int_equal(u32, 0xdeadbeef);
	assert_int_equal(pv_buf_get_u64(b, &u64), 0);
	assert_true(u64 == 0x0102030405060708ULL);
	assert_int_equal(pv_buf_get_cstring(b, &s, &len), 0);
	assert_string_equal(s, "hello");
	assert_int_equal(len, 5);
	free(s);
	assert_int_equal(pv_buf_len(b), 0);
	assert_int_equal(pv_buf_get_u8(b, &u8), PV_ERR_INCOMPLETE);
	pv_buf_free(b);
}

static void
test_limit(void **state)
{
	struct pv_buf *b = pv_buf_new(10);
	uint8_t x[11] = { 0 };

	(void)state;
	assert_int_equal(pv_buf_put(b, x, 10), 0);
	assert_int_equal(pv_buf_put_u8(b, 1), PV_ERR_LIMIT);
	assert_int_equal(pv_buf_len(b), 10);
	/* Space freed by reading can be reused. */
	assert_int_equal(pv_buf_consume(b, 4), 0);
	assert_int_equal(pv_buf_put(b, x, 4), 0);
	assert_int_equal(pv_buf_put(b, x, 1), PV_ERR_LIMIT);
	assert_int_equal(pv_buf_consume(b, 11), PV_ERR_INCOMPLETE);
	pv_buf_free(b);

	b = pv_buf_new(0);
	assert_int_equal(pv_buf_put(b, x, SIZE_MAX), PV_ERR_LIMIT);
	pv_buf_free(b);
}

static void
test_growth_keeps_content(void **state)
{
	struct pv_buf *b = pv_buf_new(0);
	uint32_t i, v;

	(void)state;
	for (i = 0; i < 100000; i++)
		assert_int_equal(pv_buf_put_u32(b, i), 0);
	for (i = 0; i < 50000; i++) {
		assert_int_equal(pv_buf_get_u32(b, &v), 0);
		assert_int_equal(v, i);
	}
	for (i = 100000; i < 150000; i++)
		assert_int_equal(pv_buf_put_u32(b, i), 0);
	for (i = 50000; i < 150000; i++) {
		assert_int_equal(pv_buf_get_u32(b, &v), 0);
		assert_int_equal(v, i);
	}
	assert_int_equal(pv_buf_len(b), 0);
	pv_buf_free(b);
}

/* Each case: wire bytes and what pv_buf_get_cstring must say. */
static const struct {
	const char *name;
	const char *wire;
	size_t wirelen;
	int want;
} cstring_cases[] = {
	{ "ok",
	    "\0\0\0\x03"
	    "abc",
	    7, 0 },
	{ "empty", "\0\0\0\0", 4, 0 },
	{ "short length", "\0\0\0", 3, PV_ERR_INCOMPLETE },
	{ "length past end",
	    "\0\0\0\x04"
	    "abc",
	    7, PV_ERR_INCOMPLETE },
	{ "huge length",
	    "\xff\xff\xff\xff"
	    "abc",
	    7, PV_ERR_INCOMPLETE },
	{ "embedded NUL",
	    "\0\0\0\x03"
	    "a\0c",
	    7, PV_ERR_INVALID },
	{ "trailing NUL",
	    "\0\0\0\x03"
	    "ab\0",
	    7, PV_ERR_INVALID },
};

static void
test_cstring_table(void **state)
{
	size_t i, len;
	char *s;
	int r;

	(void)state;
	for (i = 0; i < sizeof(cstring_cases) / sizeof(cstring_cases[0]); i++) {
		struct pv_buf *b = pv_buf_from(
		    cstring_cases[i].wire, cstring_cases[i].wirelen);

		assert_non_null(b);
		r = pv_buf_get_cstring(b, &s, &len);
		if (r != cstring_cases[i].want)
			fail_msg("case %s: got %d want %d",
			    cstring_cases[i].name, r, cstring_cases[i].want);
		if (r == 0)
			free(s);
		else {
			assert_null(s);
			/* A refused read consumes nothing. */
			assert_int_equal(
			    pv_buf_len(b), cstring_cases[i].wirelen);
		}
		pv_buf_free(b);
	}
}

static void
test_readonly_view(void **state)
{
	static const uint8_t data[] = { 0, 0, 0, 2, 'h', 'i', 9 };
	struct pv_buf *b = pv_buf_from(data, sizeof(data));
	const uint8_t *p;
	uint8_t *dst;
	size_t len;
	uint8_t v;

	(void)state;
	assert_int_equal(pv_buf_get_string_direct(b, &p, &len), 0);
	assert_int_equal(len, 2);
	assert_memory_equal(p, "hi", 2);
	assert_ptr_equal(p, data + 4);
	assert_int_equal(pv_buf_put_u8(b, 1), PV_ERR_INTERNAL);
	assert_int_equal(pv_buf_reserve(b, 1, &dst), PV_ERR_INTERNAL);
	assert_int_equal(pv_buf_get_u8(b, &v), 0);
	assert_int_equal(v, 9);
	pv_buf_free(b);
	pv_buf_free(NULL);
}

static void
test_putf_and_dup(void **state)
{
	struct pv_buf *b = pv_buf_new(0);
	char big[1000], *s;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(pv_buf_putf(b, "%s=%d;", "n", 42), 0);
	assert_int_equal(pv_buf_putf(b, "%s", big), 0);
	assert_int_equal(pv_buf_len(b), 5 + 999);
	assert_int_equal(pv_buf_dup_cstring(b, &s), 0);
	assert_memory_equal(s, "n=42;xxx", 8);
	assert_int_equal(strlen(s), 1004);
	free(s);
	assert_int_equal(pv_buf_put_u8(b, 0), 0);
	assert_int_equal(pv_buf_dup_cstring(b, &s), PV_ERR_INVALID);
	assert_null(s);
	assert_int_equal(pv_buf_consume_end(b, 1), 0);
	assert_int_equal(pv_buf_consume_end(b, 5000), PV_ERR_INCOMPLETE);
	pv_buf_reset(b);
	assert_int_equal(pv_buf_len(b), 0);
	pv_buf_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_growth_keeps_content),
		cmocka_unit_test(test_cstring_table),
		cmocka_unit_test(test_readonly_view),
		cmocka_unit_test(test_putf_and_dup),
	};

	return cmocka_run_group_tests_name("common_buf", tests, NULL, NULL);
}
