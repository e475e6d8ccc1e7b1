/*
 * test_recorder_tamper.c: the reader against damaged recordings: bit flips,
 * swapped, dropped and spliced chunks, truncation, trailing bytes.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"
#include "recorder/recorder.h"
#include "tests/unit/test_recorder_util.h"

#define NCHUNKS 5 /* 5 data chunks of 3 events, then the final chunk */

static struct tr_env env;
static uint8_t *rec, *other;
static size_t reclen, otherlen, offs[16], ooffs[16], nchunks;

static int
setup(void **state)
{
	char path[TR_PATH_MAX];
	int idx[] = { 0 };

	(void)state;
	if (tr_setup(&env) != 0)
		return -1;
	tr_path(&env, "good.pvr", path, sizeof(path));
	if (tr_write_sample(&env, path, idx, 1, NCHUNKS) != 0 ||
	    pv_file_read(path, 1 << 20, &rec, &reclen) != 0)
		return -1;
	tr_path(&env, "other.pvr", path, sizeof(path));
	if (tr_write_sample(&env, path, idx, 1, NCHUNKS) != 0 ||
	    pv_file_read(path, 1 << 20, &other, &otherlen) != 0)
		return -1;
	nchunks = tr_chunk_offsets(rec, reclen, offs, 16);
	if (nchunks != NCHUNKS + 1 ||
	    tr_chunk_offsets(other, otherlen, ooffs, 16) != nchunks)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	free(rec);
	free(other);
	tr_teardown(&env);
	return 0;
}

static size_t
chunk_end(size_t i)
{
	return i + 1 < nchunks ? offs[i + 1] : reclen;
}

static int
read_copy(const uint8_t *d, size_t len, uint64_t *n, char *err, size_t el)
{
	return tr_read_all(&env, d, len, 0, n, err, el);
}

static void
test_intact(void **state)
{
	char err[256];
	uint64_t n;

	(void)state;
	assert_int_equal(read_copy(rec, reclen, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3 * NCHUNKS + 1);
}

/* Flipping any single bit anywhere makes the file fail to verify. */
static void
test_bitflip_everywhere(void **state)
{
	uint8_t *d = malloc(reclen);
	char err[256];
	uint64_t n;
	size_t pos, bit, i;

	(void)state;
	assert_non_null(d);
	for (pos = 0; pos < reclen; pos++) {
		for (bit = 0; bit < 8; bit += 3) {
			memcpy(d, rec, reclen);
			d[pos] ^= (uint8_t)(1u << bit);
			assert_int_not_equal(
			    read_copy(d, reclen, &n, err, sizeof(err)), 0);
			/* Events before the damaged chunk still come out. */
			for (i = 0; i < nchunks && pos >= offs[i]; i++)
				;
			if (i > 0)
				assert_int_equal(n, 3 * (uint64_t)(i - 1));
			else
				assert_int_equal(n, 0);
		}
	}
	free(d);
}

/* Named places: the header JSON, a ciphertext byte, a tag, a length, flags. */
static void
test_bitflip_named(void **state)
{
	static const struct {
		const char *what;
		int chunk; /* -1: header */
		int where; /* 0 flags, 1..4 length, 5+ ct, -1 last byte (tag) */
		const char *want;
	} cases[] = {
		{ "json", -1, 40, NULL },
		{ "ciphertext", 2, 7, "chunk 2 fails authentication" },
		{ "tag", 3, -1, "chunk 3 fails authentication" },
		{ "final flag", 4, 0, "chunk 4 fails authentication" },
		{ "length low byte", 1, 4, NULL },
		{ "length high byte", 1, 1, "chunk 1 has an invalid length" },
	};
	uint8_t *d = malloc(reclen);
	char err[256];
	uint64_t n;
	size_t i, pos;
	int r;

	(void)state;
	assert_non_null(d);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(d, rec, reclen);
		if (cases[i].chunk < 0)
			pos = (size_t)cases[i].where;
		else if (cases[i].where < 0)
			pos = chunk_end((size_t)cases[i].chunk) - 1;
		else
			pos = offs[cases[i].chunk] + (size_t)cases[i].where;
		d[pos] ^= cases[i].where == 1 ? 0x80 : 0x01;
		r = read_copy(d, reclen, &n, err, sizeof(err));
		assert_int_not_equal(r, 0);
		if (cases[i].want != NULL &&
		    strncmp(err, cases[i].want, strlen(cases[i].want)) != 0)
			fail_msg("%s: got \"%s\"", cases[i].what, err);
		if (cases[i].chunk > 0)
			assert_int_equal(n, 3 * (uint64_t)cases[i].chunk);
	}
	free(d);
}

static void
test_swap_drop_splice(void **state)
{
	uint8_t *d = malloc(reclen + otherlen);
	size_t a = offs[1], b = offs[2], c = offs[3], la = b - a, lb = c - b, l;
	char err[256];
	uint64_t n;

	(void)state;
	assert_non_null(d);
	/* Swap chunks 1 and 2. */
	memcpy(d, rec, reclen);
	memcpy(d + a, rec + b, lb);
	memcpy(d + a + lb, rec + a, la);
	assert_int_equal(
	    read_copy(d, reclen, &n, err, sizeof(err)), PV_ERR_AUTH);
	assert_string_equal(err, "chunk 1 fails authentication");
	assert_int_equal(n, 3);
	/* Drop chunk 1. */
	memcpy(d, rec, a);
	memcpy(d + a, rec + b, reclen - b);
	assert_int_equal(
	    read_copy(d, reclen - la, &n, err, sizeof(err)), PV_ERR_AUTH);
	assert_string_equal(err, "chunk 1 fails authentication");
	/* Chunk 2 of another recording (same key, same position) spliced in. */
	l = ooffs[3] - ooffs[2];
	memcpy(d, rec, b);
	memcpy(d + b, other + ooffs[2], l);
	memcpy(d + b + l, rec + c, reclen - c);
	assert_int_equal(read_copy(d, b + l + reclen - c, &n, err, sizeof(err)),
	    PV_ERR_AUTH);
	assert_string_equal(err, "chunk 2 fails authentication");
	assert_int_equal(n, 6);
	/* The other recording's header in front of this one's chunks. */
	memcpy(d, other, ooffs[0]);
	memcpy(d + ooffs[0], rec + offs[0], reclen - offs[0]);
	assert_int_not_equal(
	    read_copy(d, ooffs[0] + reclen - offs[0], &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	/* Trailing bytes after the final chunk. */
	memcpy(d, rec, reclen);
	d[reclen] = 0;
	assert_int_equal(
	    read_copy(d, reclen + 1, &n, err, sizeof(err)), PV_ERR_INVALID);
	assert_string_equal(err, "trailing bytes after the final chunk");
	assert_int_equal(n, 3 * NCHUNKS + 1);
	free(d);
}

/* Cut at every chunk boundary and in the middle of every chunk. */
static void
test_truncation(void **state)
{
	char err[256], want[256];
	uint64_t n;
	size_t i, cut;
	int r;

	(void)state;
	for (i = 0; i < nchunks; i++) {
		/* At the boundary before chunk i: i chunks verify. */
		r = read_copy(rec, offs[i], &n, err, sizeof(err));
		assert_int_equal(r, PV_ERR_INCOMPLETE);
		assert_int_equal(n, 3 * (uint64_t)i);
		if (i == 0)
			snprintf(want, sizeof(want),
			    "incomplete: 0 chunks, no end event; no events");
		else
			snprintf(want, sizeof(want),
			    "incomplete: %zu chunks, no end event; last event "
			    "at 00:00:%02zu",
			    i, i - 1);
		assert_string_equal(err, want);
		/* Anywhere inside chunk i. */
		for (cut = offs[i] + 1; cut < chunk_end(i); cut += 7) {
			r = read_copy(rec, cut, &n, err, sizeof(err));
			assert_int_equal(r, PV_ERR_INCOMPLETE);
			assert_int_equal(n, 3 * (uint64_t)i);
			assert_non_null(strstr(err, "cut short"));
		}
	}
	/* Inside the header. */
	for (cut = 0; cut < offs[0]; cut += 5)
		assert_int_not_equal(
		    read_copy(rec, cut, &n, err, sizeof(err)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intact),
		cmocka_unit_test(test_bitflip_named),
		cmocka_unit_test(test_swap_drop_splice),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_bitflip_everywhere),
	};

	pv_log_init("test_recorder_tamper", PV_LOG_STDERR, PV_LOG_ERROR);
	return cmocka_run_group_tests(tests, setup, teardown);
}
