/*
 * test_common_misc.c: strict numbers, durations, ids, encodings, secrets,
 * log escaping, files and error strings.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"

static const struct {
	const char *in;
	int want;
	uint64_t val;
} u64_cases[] = {
	{ "0", 0, 0 },
	{ "42", 0, 42 },
	{ "007", 0, 7 },
	{ "18446744073709551615", 0, UINT64_MAX },
	{ "18446744073709551616", PV_ERR_RANGE, 0 },
	{ "99999999999999999999999", PV_ERR_RANGE, 0 },
	{ "", PV_ERR_INVALID, 0 },
	{ " 1", PV_ERR_INVALID, 0 },
	{ "1 ", PV_ERR_INVALID, 0 },
	{ "+1", PV_ERR_INVALID, 0 },
	{ "-1", PV_ERR_INVALID, 0 },
	{ "0x10", PV_ERR_INVALID, 0 },
	{ "1e3", PV_ERR_INVALID, 0 },
	{ "12a", PV_ERR_INVALID, 0 },
};

static void
test_parse_u64(void **state)
{
	uint64_t v;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(u64_cases) / sizeof(u64_cases[0]); i++) {
		v = 12345;
		r = pv_parse_u64(u64_cases[i].in, 0, UINT64_MAX, &v);
		if (r != u64_cases[i].want)
			fail_msg("\"%s\": got %d want %d", u64_cases[i].in, r,
			    u64_cases[i].want);
		if (r == 0)
			assert_true(v == u64_cases[i].val);
		else
			assert_true(v == 12345); /* untouched on error */
	}
	assert_int_equal(pv_parse_u64(NULL, 0, 1, &v), PV_ERR_INVALID);
	assert_int_equal(pv_parse_u64("5", 1, 4, &v), PV_ERR_RANGE);
	assert_int_equal(pv_parse_u64("0", 1, 4, &v), PV_ERR_RANGE);
}

static void
test_parse_u32_i64(void **state)
{
	uint32_t u;
	int64_t i;

	(void)state;
	assert_int_equal(pv_parse_u32("65535", 1, 65535, &u), 0);
	assert_int_equal(u, 65535);
	assert_int_equal(pv_parse_u32("65536", 1, 65535, &u), PV_ERR_RANGE);
	assert_int_equal(
	    pv_parse_u32("4294967296", 0, UINT32_MAX, &u), PV_ERR_RANGE);
	assert_int_equal(
	    pv_parse_i64("-9223372036854775808", INT64_MIN, INT64_MAX, &i), 0);
	assert_true(i == INT64_MIN);
	assert_int_equal(
	    pv_parse_i64("9223372036854775807", INT64_MIN, INT64_MAX, &i), 0);
	assert_true(i == INT64_MAX);
	assert_int_equal(
	    pv_parse_i64("9223372036854775808", INT64_MIN, INT64_MAX, &i),
	    PV_ERR_RANGE);
	assert_int_equal(
	    pv_parse_i64("-9223372036854775809", INT64_MIN, INT64_MAX, &i),
	    PV_ERR_RANGE);
	assert_int_equal(
	    pv_parse_i64("-", INT64_MIN, INT64_MAX, &i), PV_ERR_INVALID);
	assert_int_equal(
	    pv_parse_i64("--1", INT64_MIN, INT64_MAX, &i), PV_ERR_INVALID);
	assert_int_equal(pv_parse_i64("-5", -10, 10, &i), 0);
	assert_true(i == -5);
	assert_int_equal(pv_parse_i64("-11", -10, 10, &i), PV_ERR_RANGE);
}

static const struct {
	const char *in;
	int want;
	uint64_t secs;
	const char *fmt;
} dur_cases[] = {
	{ "0", 0, 0, "0s" },
	{ "90", 0, 90, "1m30s" },
	{ "90s", 0, 90, "1m30s" },
	{ "2m", 0, 120, "2m" },
	{ "4h", 0, 14400, "4h" },
	{ "1d", 0, 86400, "1d" },
	{ "1w", 0, 604800, "1w" },
	{ "1h30m", 0, 5400, "1h30m" },
	{ "1H30M", 0, 5400, "1h30m" },
	{ "30m1h", 0, 5400, "1h30m" },
	{ "2w3d4h5m6s", 0, 2 * 604800 + 3 * 86400 + 4 * 3600 + 5 * 60 + 6,
	    "2w3d4h5m6s" },
	{ "3660d", 0, 3660ULL * 86400, "522w6d" },
	{ "3661d", PV_ERR_RANGE, 0, NULL },
	{ "99999999999999999999s", PV_ERR_RANGE, 0, NULL },
	{ "", PV_ERR_INVALID, 0, NULL },
	{ "m", PV_ERR_INVALID, 0, NULL },
	{ "1x", PV_ERR_INVALID, 0, NULL },
	{ "1 h", PV_ERR_INVALID, 0, NULL },
	{ "-1h", PV_ERR_INVALID, 0, NULL },
	{ "1hh", PV_ERR_INVALID, 0, NULL },
	{ "1.5h", PV_ERR_INVALID, 0, NULL },
	{ "h1", PV_ERR_INVALID, 0, NULL },
};

static void
test_durations(void **state)
{
	char fmt[64];
	uint64_t s;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(dur_cases) / sizeof(dur_cases[0]); i++) {
		r = pv_duration_parse(dur_cases[i].in, &s);
		if (r != dur_cases[i].want)
			fail_msg("\"%s\": got %d want %d", dur_cases[i].in, r,
			    dur_cases[i].want);
		if (r != 0)
			continue;
		assert_true(s == dur_cases[i].secs);
		assert_int_equal(pv_duration_format(s, fmt, sizeof(fmt)), 0);
		assert_string_equal(fmt, dur_cases[i].fmt);
	}
	assert_int_equal(pv_duration_format(5400, fmt, 3), PV_ERR_LIMIT);
	assert_int_equal(pv_duration_format(5400, fmt, 0), PV_ERR_LIMIT);
}

static const struct {
	const char *in;
	int want;
	uint64_t bytes;
} size_cases[] = {
	{ "0", 0, 0 },
	{ "512", 0, 512 },
	{ "1K", 0, 1024 },
	{ "64m", 0, 64ULL << 20 },
	{ "64M", 0, 64ULL << 20 },
	{ "2g", 0, 2ULL << 30 },
	{ "1024T", 0, 1ULL << 50 },
	{ "1025T", PV_ERR_RANGE, 0 },
	{ "99999999999999999999", PV_ERR_RANGE, 0 },
	{ "999999999999999999999K", PV_ERR_RANGE, 0 },
	{ "", PV_ERR_INVALID, 0 },
	{ "M", PV_ERR_INVALID, 0 },
	{ "1MB", PV_ERR_INVALID, 0 },
	{ "1 M", PV_ERR_INVALID, 0 },
	{ "-1M", PV_ERR_INVALID, 0 },
	{ "1.5G", PV_ERR_INVALID, 0 },
	{ "1P", PV_ERR_INVALID, 0 },
	{ "M1", PV_ERR_INVALID, 0 },
};

static void
test_sizes(void **state)
{
	uint64_t b;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(size_cases) / sizeof(size_cases[0]); i++) {
		b = 7;
		r = pv_size_parse(size_cases[i].in, &b);
		if (r != size_cases[i].want)
			fail_msg("\"%s\": got %d want %d", size_cases[i].in, r,
			    size_cases[i].want);
		assert_true(b == (r == 0 ? size_cases[i].bytes : 7));
	}
	assert_int_equal(pv_size_parse(NULL, &b), PV_ERR_INVALID);
}

static void
test_uuid(void **state)
{
	char a[PV_UUID_LEN + 1], b[PV_UUID_LEN + 1];
	int i;

	(void)state;
	for (i = 0; i < 100; i++) {
		assert_int_equal(pv_uuid_new(a), 0);
		assert_int_equal(pv_uuid_new(b), 0);
		assert_true(pv_uuid_valid(a));
		assert_string_not_equal(a, b);
	}
	assert_true(pv_uuid_valid("0f8fad5b-d9cb-469f-a165-70867728950e"));
	assert_false(pv_uuid_valid("0F8FAD5B-D9CB-469F-A165-70867728950E"));
	assert_false(pv_uuid_valid("0f8fad5b-d9cb-169f-a165-70867728950e"));
	assert_false(pv_uuid_valid("0f8fad5b-d9cb-469f-c165-70867728950e"));
	assert_false(pv_uuid_valid("0f8fad5bd9cb469fa16570867728950e"));
	assert_false(pv_uuid_valid("0f8fad5b-d9cb-469f-a165-70867728950e0"));
	assert_false(pv_uuid_valid("../../../../etc/passwd"));
	assert_false(pv_uuid_valid(NULL));
}

static const struct {
	const char *raw;
	const char *std;
	const char *url;
} b64_cases[] = {
	{ "", "", "" },
	{ "f", "Zg==", "Zg" },
	{ "fo", "Zm8=", "Zm8" },
	{ "foo", "Zm9v", "Zm9v" },
	{ "foob", "Zm9vYg==", "Zm9vYg" },
	{ "\xfb\xff\xfe", "+//+", "-__-" },
};

static void
test_b64(void **state)
{
	uint8_t *d;
	size_t i, n;
	char *e;

	(void)state;
	for (i = 0; i < sizeof(b64_cases) / sizeof(b64_cases[0]); i++) {
		size_t rl = strlen(b64_cases[i].raw);

		assert_int_equal(pv_b64_encode(b64_cases[i].raw, rl, 0, &e), 0);
		assert_string_equal(e, b64_cases[i].std);
		free(e);
		assert_int_equal(pv_b64_encode(b64_cases[i].raw, rl, 1, &e), 0);
		assert_string_equal(e, b64_cases[i].url);
		free(e);
		assert_int_equal(pv_b64_decode(b64_cases[i].std,
				     strlen(b64_cases[i].std), 0, &d, &n),
		    0);
		assert_int_equal(n, rl);
		assert_memory_equal(d, b64_cases[i].raw, rl);
		free(d);
		assert_int_equal(pv_b64_decode(b64_cases[i].url,
				     strlen(b64_cases[i].url), 1, &d, &n),
		    0);
		assert_int_equal(n, rl);
		free(d);
	}
	/* Refused: wrong alphabet, bad padding, non-canonical bits, spaces. */
	assert_int_equal(pv_b64_decode("Zg=", 3, 0, &d, &n), PV_ERR_INVALID);
	assert_int_equal(pv_b64_decode("Zh==", 4, 0, &d, &n), PV_ERR_INVALID);
	assert_int_equal(pv_b64_decode("Zg==", 4, 1, &d, &n), PV_ERR_INVALID);
	assert_int_equal(pv_b64_decode("-__-", 4, 0, &d, &n), PV_ERR_INVALID);
	assert_int_equal(pv_b64_decode("+//+", 4, 1, &d, &n), PV_ERR_INVALID);
	assert_int_equal(pv_b64_decode("Zm9 v", 5, 1, &d, &n), PV_ERR_INVALID);
	assert_int_equal(pv_b64_decode("Z", 1, 1, &d, &n), PV_ERR_INVALID);
	assert_int_equal(pv_b64_decode("Z===", 4, 0, &d, &n), PV_ERR_INVALID);
	assert_null(d);
}

static void
test_hex(void **state)
{
	char out[9];

	(void)state;
	assert_int_equal(
	    pv_hex_encode("\x00\xab\xff\x10", 4, out, sizeof(out)), 0);
	assert_string_equal(out, "00abff10");
	assert_int_equal(
	    pv_hex_encode("\x00\xab\xff\x10\x01", 5, out, sizeof(out)),
	    PV_ERR_LIMIT);
}

static void
test_secret(void **state)
{
	uint8_t key[32];
	char *s;
	size_t i;

	(void)state;
	memset(key, 0xaa, sizeof(key));
	PV_WIPE(key);
	for (i = 0; i < sizeof(key); i++)
		assert_int_equal(key[i], 0);
	assert_true(pv_secret_equal("abc", "abc", 3));
	assert_false(pv_secret_equal("abc", "abd", 3));
	s = strdup("seed");
	assert_non_null(s);
	pv_secret_freestr(s);
	pv_secret_freestr(NULL);
	pv_secret_free(NULL, 10);
}

static char last_line[PV_LOG_LINE_MAX];
static enum pv_log_level last_level;

static void
sink(void *ctx, enum pv_log_level level, const char *line)
{
	(void)ctx;
	last_level = level;
	(void)snprintf(last_line, sizeof(last_line), "%s", line);
}

static void
test_log(void **state)
{
	enum pv_log_level l;
	char esc[8];

	(void)state;
	pv_log_set_sink(sink, NULL);
	pv_log_set_level(PV_LOG_INFO);
	pv_info("login %s from %s", "alice\nFAKE: root ok", "127.0.0.1");
	assert_string_equal(
	    last_line, "login alice\\x0aFAKE: root ok from 127.0.0.1");
	assert_int_equal(last_level, PV_LOG_INFO);
	last_line[0] = '\0';
	pv_debug("hidden");
	assert_string_equal(last_line, "");
	pv_error("a\\b\x1b[2J");
	assert_string_equal(last_line, "a\\\\b\\x1b[2J");
	pv_log_set_sink(NULL, NULL);

	assert_int_equal(
	    pv_log_escape(esc, sizeof(esc), "\x01\x02"), PV_ERR_LIMIT);
	assert_string_equal(esc, "\\x01");
	assert_int_equal(pv_log_level_parse("DEBUG", &l), 0);
	assert_int_equal(l, PV_LOG_DEBUG);
	assert_int_equal(pv_log_level_parse("loud", &l), PV_ERR_INVALID);
	/* every name the docs and the error message list */
	assert_int_equal(pv_log_level_parse("warn", &l), 0);
	assert_int_equal(l, PV_LOG_WARN);
	assert_int_equal(pv_log_level_parse("warning", &l), 0);
	assert_int_equal(l, PV_LOG_WARN);
	assert_int_equal(pv_log_level_parse("error", &l), 0);
	assert_int_equal(pv_log_level_parse("info", &l), 0);
	assert_int_equal(pv_log_level_parse("verbose", &l), 0);
	assert_string_equal(pv_log_level_name(PV_LOG_WARN), "warning");
}

static void
test_files(void **state)
{
	char dir[] = "/tmp/pvfileXXXXXX", path[256];
	struct stat st;
	uint8_t *d;
	size_t n;
	mode_t old;

	(void)state;
	assert_non_null(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/secret", dir);
	old = umask(0);
	assert_int_equal(pv_file_write_new(path, 0600, "k3y", 3), 0);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(pv_file_write_new(path, 0600, "x", 1), PV_ERR_EXISTS);
	assert_int_equal(pv_file_read(path, 100, &d, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(d, "k3y", 3);
	free(d);
	assert_int_equal(pv_file_read(path, 2, &d, &n), PV_ERR_LIMIT);
	assert_null(d);
	/* O_NOFOLLOW: a symlink in place of a new file is refused. */
	(void)snprintf(path, sizeof(path), "%s/link", dir);
	assert_int_equal(symlink("/tmp/provost-nonexistent-target", path), 0);
	assert_int_not_equal(pv_file_write_new(path, 0600, "x", 1), 0);
	assert_int_equal(access("/tmp/provost-nonexistent-target", F_OK), -1);
	assert_int_equal(unlink(path), 0);
	/* Replace: the new contents and mode, a link replaced, not followed */
	(void)snprintf(path, sizeof(path), "%s/secret", dir);
	assert_int_equal(pv_file_replace(path, 0644, "new", 3), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(pv_file_read(path, 100, &d, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(d, "new", 3);
	free(d);
	assert_int_equal(unlink(path), 0);
	(void)snprintf(path, sizeof(path), "%s/link", dir);
	assert_int_equal(symlink("/tmp/provost-nonexistent-target", path), 0);
	assert_int_equal(pv_file_replace(path, 0644, "x", 1), 0);
	assert_int_equal(access("/tmp/provost-nonexistent-target", F_OK), -1);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(unlink(path), 0);
	(void)snprintf(path, sizeof(path), "%s/nodir/x", dir);
	assert_int_equal(pv_file_replace(path, 0644, "x", 1), PV_ERR_IO);
	assert_int_equal(rmdir(dir), 0);
}

/*
 * pv_path_trusted, as a writer of a RecordingDirectory's parent would
 * try it: a parent another user owns, or a group or others can write
 * (not sticky), is refused naming it; a sticky one (/tmp) holding ours is
 * accepted, holding another user's is not; a link is followed to where
 * it leads.
 */
static void
test_path_trusted(void **state)
{
	static const struct {
		const char *sub; /* under the temp dir */
		int r;
		const char *why; /* in err, after the temp dir */
	} cases[] = {
		{ "/ok/rec", 0, NULL },
		{ "/ok/missing/rec", 0, NULL },
		{ "/gw/rec", PV_ERR_PERM, "/gw is writable by group" },
		{ "/ww/rec", PV_ERR_PERM, "/ww is writable by others" },
		{ "/sticky/mine/rec", 0, NULL },
		{ "/sticky/missing", 0, NULL },
		{ "/sticky", PV_ERR_PERM, "/sticky is writable by group" },
		{ "/sticky/theirs/rec", PV_ERR_PERM,
		    "/sticky/theirs is owned by uid 65534 in sticky" },
		{ "/other/rec", PV_ERR_PERM, "/other is owned by uid 65534" },
		{ "/file/rec", PV_ERR_PERM, "/file is not a directory" },
		{ "/link/rec", PV_ERR_PERM, "/gw is writable by group" },
		{ "/oklink/rec", 0, NULL },
	};
	char dir[] = "/tmp/pvpathXXXXXX", p[512], err[600];
	size_t i;
	int fd;

	(void)state;
	if (geteuid() != 0)
		skip(); /* the other user's directories need chown */
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
#define MK(sub, mode)                                           \
	do {                                                    \
		(void)snprintf(p, sizeof(p), "%s%s", dir, sub); \
		assert_int_equal(mkdir(p, 0700), 0);            \
		assert_int_equal(chmod(p, mode), 0);            \
	} while (0)
	MK("/ok", 0755);
	MK("/gw", 0775);
	MK("/ww", 0757);
	MK("/sticky", 01777);
	MK("/sticky/mine", 0700);
	MK("/sticky/theirs", 0755);
	assert_int_equal(chown(p, 65534, 65534), 0);
	MK("/other", 0755);
	assert_int_equal(chown(p, 65534, 65534), 0);
#undef MK
	(void)snprintf(p, sizeof(p), "%s/file", dir);
	assert_true((fd = open(p, O_CREAT | O_WRONLY, 0600)) >= 0);
	(void)close(fd);
	(void)snprintf(p, sizeof(p), "%s/link", dir);
	assert_int_equal(symlink("gw", p), 0);
	(void)snprintf(p, sizeof(p), "%s/oklink", dir);
	assert_int_equal(symlink("ok", p), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char want[512];

		(void)snprintf(p, sizeof(p), "%s%s", dir, cases[i].sub);
		err[0] = 'x';
		if (pv_path_trusted(p, geteuid(), err, sizeof(err)) !=
		    cases[i].r)
			fail_msg("%s: %s", cases[i].sub, err);
		if (cases[i].why == NULL) {
			assert_string_equal(err, "");
			continue;
		}
		(void)snprintf(want, sizeof(want), "%s%s", dir, cases[i].why);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg(
			    "%s: \"%s\", not \"%s\"", cases[i].sub, err, want);
	}
	assert_int_equal(
	    pv_path_trusted("rel/rec", 0, err, sizeof(err)), PV_ERR_INVALID);
	(void)snprintf(p, sizeof(p), "rm -rf %s", dir);
	assert_int_equal(system(p), 0);
}

static void
test_err_and_time(void **state)
{
	char t[32];
	int r;

	(void)state;
	for (r = 0; r >= PV_ERR_MIN_; r--)
		assert_string_not_equal(pv_err_str(r), "unknown error");
	assert_string_equal(pv_err_str(PV_ERR_MIN_ - 1), "unknown error");
	assert_string_equal(pv_err_str(PV_ERR_AUTH), "authentication failed");
	assert_int_equal(pv_time_format(0, t, sizeof(t)), 0);
	assert_string_equal(t, "1970-01-01T00:00:00Z");
	assert_int_equal(pv_time_format(1795812349, t, sizeof(t)), 0);
	assert_string_equal(t, "2026-11-27T20:45:49Z");
	assert_int_equal(pv_time_format(0, t, 5), PV_ERR_LIMIT);
	assert_true(pv_mono_ms() > 0);
	assert_true(pv_wall_ms() > 1700000000000LL);
}

/* The KRL's bytes for a small set, laid out as PROTOCOL.krl says. */
static void
test_krl(void **state)
{
	static const uint8_t ca[] = { 0, 0, 0, 1, 'c' };
	static const uint8_t k1[] = { 0, 0, 0, 1, 'b' }, k2[] = { 1, 2 };
	/* header: magic, format 1, version 7, date 1000, flags 0, "", "x" */
	static const uint8_t want_head[] = { 'S', 'S', 'H', 'K', 'R', 'L', '\n',
		0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 3,
		0xe8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 'x' };
	/*
	 * section 1: CA, reserved; {1,2,4,5,6,9} as a bitmap from 1 (bits
	 * 0,1,3,4,5,8: 0x013b); 200000..200299 as a range; 100000 alone in
	 * the list at the end
	 */
	static const uint8_t want_certs[] = { 1, 0, 0, 0, 0x42, 0, 0, 0, 5, 0,
		0, 0, 1, 'c', 0, 0, 0, 0, 0x22, 0, 0, 0, 14, 0, 0, 0, 0, 0, 0,
		0, 1, 0, 0, 0, 2, 0x01, 0x3b, 0x21, 0, 0, 0, 16, 0, 0, 0, 0, 0,
		0x03, 0x0d, 0x40, 0, 0, 0, 0, 0, 0x03, 0x0e, 0x6b, 0x20, 0, 0,
		0, 8, 0, 0, 0, 0, 0, 0x01, 0x86, 0xa0 };
	/* section 2: the keys sorted, each once */
	static const uint8_t want_keys[] = { 2, 0, 0, 0, 15, 0, 0, 0, 5, 0, 0,
		0, 1, 'b', 0, 0, 0, 2, 1, 2 };
	static const uint64_t serials[] = { 9, 5, 1, 4, 2, 6, 9, 100000 };
	struct pv_krl *k;
	struct pv_buf *b;
	const uint8_t *p;
	size_t i;

	(void)state;
	assert_non_null(k = pv_krl_new());
	assert_non_null(b = pv_buf_new(4096));
	for (i = 0; i < sizeof(serials) / sizeof(serials[0]); i++)
		assert_int_equal(pv_krl_add_serial(k, serials[i]), 0);
	for (i = 200299; i >= 200000; i--)
		assert_int_equal(pv_krl_add_serial(k, i), 0);
	assert_int_equal(pv_krl_add_serial(k, 0), PV_ERR_RANGE);
	assert_int_equal(pv_krl_add_key(k, k2, sizeof(k2)), 0);
	assert_int_equal(pv_krl_add_key(k, k1, sizeof(k1)), 0);
	assert_int_equal(pv_krl_add_key(k, k2, sizeof(k2)), 0);
	assert_int_equal(pv_krl_add_key(k, k1, 0), PV_ERR_RANGE);
	assert_int_equal(pv_krl_serials(k), 307);
	assert_int_equal(pv_krl_keys(k), 2);
	assert_int_equal(
	    pv_krl_write(k, NULL, 0, 7, 1000, "x", b), PV_ERR_INVALID);
	assert_int_equal(pv_krl_write(k, ca, sizeof(ca), 7, 1000, "x", b), 0);
	assert_int_equal(pv_buf_len(b),
	    sizeof(want_head) + sizeof(want_certs) + sizeof(want_keys));
	p = pv_buf_ptr(b);
	assert_memory_equal(p, want_head, sizeof(want_head));
	p += sizeof(want_head);
	assert_memory_equal(p, want_certs, sizeof(want_certs));
	p += sizeof(want_certs);
	assert_memory_equal(p, want_keys, sizeof(want_keys));
	pv_krl_free(k);
	/* Empty: the header alone. */
	assert_non_null(k = pv_krl_new());
	pv_buf_reset(b);
	assert_int_equal(pv_krl_write(k, ca, sizeof(ca), 7, 1000, "x", b), 0);
	assert_int_equal(pv_buf_len(b), sizeof(want_head));
	pv_krl_free(k);
	pv_krl_free(NULL);
	pv_buf_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_u32_i64),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_secret),
		cmocka_unit_test(test_log),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_path_trusted),
		cmocka_unit_test(test_err_and_time),
		cmocka_unit_test(test_krl),
	};

	return cmocka_run_group_tests_name("common_misc", tests, NULL, NULL);
}
