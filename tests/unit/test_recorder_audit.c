/*
 * test_recorder_audit.c: a header made apart from the chunks' writer (the
 * monitor's), and recordings checked against audit export rows.
 */
#include "config.h"

#include <fcntl.h>
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

#define SID_A "0b7c3a52-6a4e-4f0e-9a57-3d2f1c0e8b11"
#define SID_B "1c8d4b63-7b5f-4a1f-8b68-4e3a2d1f9c22"

static struct tr_env env;

static int
setup(void **state)
{
	(void)state;
	return tr_setup(&env);
}

static int
teardown(void **state)
{
	(void)state;
	tr_teardown(&env);
	return 0;
}

/*
 * A recording as provostd makes one: the header by rec_header_write on
 * one descriptor, the chunks by a resumed writer on another; its hashes.
 */
static void
write_split(const char *path, const char *sid, uint8_t hh[32], uint8_t sha[32],
    uint64_t *size)
{
	struct rec_recipients *rs = NULL;
	struct rec_writer *w = NULL;
	struct rec_resume res;
	const char *paths[1] = { env.pub[0] };
	char err[256];
	uint8_t part[32];
	int fd, fd2;
	struct rec_meta m = {
		.session_id = sid,
		.engineer = "alice",
		.target = "db01",
		.account = "postgres",
		.start_unix_ms = 1764276349123LL,
	};

	assert_int_equal(
	    rec_recipients_load(&rs, paths, 1, err, sizeof(err)), 0);
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(rec_header_write(fd, rs, &m, &res), 0);
	memcpy(hh, res.header_sha256, 32);
	assert_true(res.header_len > 14);
	fd2 = dup(fd);
	assert_true(fd2 >= 0);
	assert_int_equal(rec_writer_resume_fd(&w, fd2, &res, 5000), 0);
	rec_resume_wipe(&res);
	assert_int_equal(res.header_len, 0);
	assert_int_equal(
	    rec_writer_data(w, 5001, REC_EV_OUTPUT, "hello\r\n", 7), 0);
	assert_int_equal(rec_writer_data(w, 5002, REC_EV_INPUT, "ls\r", 3), 0);
	assert_int_equal(rec_writer_close(w, 5003, part, size), 0);
	close(fd);
	rec_recipients_free(rs);
	{
		struct rec_file_hash fh;

		assert_int_equal(
		    rec_file_hashes(path, &fh, err, sizeof(err)), 0);
		assert_memory_equal(fh.header_sha256, hh, 32);
		assert_int_equal(fh.size, *size);
		assert_string_equal(fh.session, sid);
		memcpy(sha, fh.sha256, 32);
	}
}

/* The split recording reads back complete with the recipient's key. */
static void
test_split_roundtrip(void **state)
{
	char path[TR_PATH_MAX], err[256];
	uint8_t hh[32], sha[32], *d = NULL;
	uint64_t size, n = 0;
	size_t len;

	(void)state;
	tr_path(&env, "split.pvr", path, sizeof(path));
	write_split(path, SID_A, hh, sha, &size);
	assert_int_equal(pv_file_read(path, 1 << 20, &d, &len), 0);
	assert_int_equal(len, size);
	assert_int_equal(tr_read_all(&env, d, len, 0, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3); /* two and END */
	/* another recipient's key cannot read it */
	assert_int_not_equal(
	    tr_read_all(&env, d, len, 1, &n, err, sizeof(err)), 0);
	free(d);
}

/* An export's lines, as provostctl audit export writes them. */
static char *
export_of(const char *sid, const char *hh, const char *sha, uint64_t size)
{
	char *s = NULL;

	assert_true(
	    asprintf(&s,
		"{\"seq\":1,\"action\":\"config.reload\",\"object\":"
		"\"broker\",\"details\":{}}\n"
		"{\"seq\":7,\"action\":\"session.open\",\"object\":"
		"\"session:%s\",\"details\":{\"recording\":\"/r/%s.pvr\","
		"\"recording_header_sha256\":\"%s\"}}\n"
		"{\"seq\":9,\"action\":\"session.close\",\"object\":"
		"\"session:%s\",\"details\":{\"recording_sha256\":\"%s\","
		"\"recording_size\":%llu}}\n",
		sid, sid, hh, sid, sha, (unsigned long long)size) > 0);
	return s;
}

static void
test_check(void **state)
{
	char pa[TR_PATH_MAX], pb[TR_PATH_MAX], hex[65], shex[65], msg[1024],
	    err[256];
	uint8_t hh[32], sha[32], hhb[32], shab[32];
	uint64_t size, sizeb;
	struct rec_audit_index *ix = NULL;
	char *text;

	(void)state;
	tr_path(&env, SID_A ".pvr", pa, sizeof(pa));
	tr_path(&env, "b.pvr", pb, sizeof(pb));
	write_split(pa, SID_A, hh, sha, &size);
	write_split(pb, SID_B, hhb, shab, &sizeb);
	assert_int_equal(pv_hex_encode(hh, 32, hex, sizeof(hex)), 0);
	assert_int_equal(pv_hex_encode(sha, 32, shex, sizeof(shex)), 0);
	text = export_of(SID_A, hex, shex, size);
	assert_int_equal(rec_audit_index_load(&ix, "x.jsonl", text,
			     strlen(text), err, sizeof(err)),
	    0);
	free(text);
	assert_int_equal(rec_audit_index_count(ix), 1);
	assert_int_equal(rec_audit_check(ix, pa, NULL, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "matches the audit chain"));
	/* B's recording named as A's (by its name, or by the caller) */
	assert_int_equal(rec_audit_check(ix, pb, SID_A, msg, sizeof(msg)), 0);
	assert_non_null(strstr(msg, "the header names session " SID_B));
	/* B's recording for B: the chain never opened B */
	assert_int_equal(rec_audit_check(ix, pb, NULL, msg, sizeof(msg)), 0);
	assert_non_null(strstr(msg, "no session.open of session " SID_B));
	rec_audit_index_free(ix);

	/* another header recorded at open: named */
	hex[0] = hex[0] == '0' ? '1' : '0';
	text = export_of(SID_A, hex, shex, size);
	assert_int_equal(rec_audit_index_load(&ix, "x.jsonl", text,
			     strlen(text), err, sizeof(err)),
	    0);
	free(text);
	assert_int_equal(rec_audit_check(ix, pa, NULL, msg, sizeof(msg)), 0);
	assert_non_null(strstr(msg, "the header was rewritten"));
	rec_audit_index_free(ix);

	/* a live session (no end row yet): the header alone, and it says so */
	assert_int_equal(pv_hex_encode(hh, 32, hex, sizeof(hex)), 0);
	assert_true(asprintf(&text,
			"{\"seq\":7,\"action\":\"session.open\",\"object\":"
			"\"session:%s\",\"details\":{"
			"\"recording_header_sha256\":\"%s\"}}\n",
			SID_A, hex) > 0);
	assert_int_equal(rec_audit_index_load(&ix, "x.jsonl", text,
			     strlen(text), err, sizeof(err)),
	    0);
	free(text);
	assert_int_equal(rec_audit_check(ix, pa, NULL, msg, sizeof(msg)), 2);
	assert_non_null(strstr(msg, "the session has not ended"));
	rec_audit_index_free(ix);

	/* the file cut short: named at the end row */
	text = export_of(SID_A, hex, shex, size);
	assert_int_equal(rec_audit_index_load(&ix, "x.jsonl", text,
			     strlen(text), err, sizeof(err)),
	    0);
	free(text);
	assert_int_equal(truncate(pa, (off_t)size - 1), 0);
	assert_int_equal(rec_audit_check(ix, pa, NULL, msg, sizeof(msg)), 0);
	assert_non_null(strstr(msg, "cut short, changed or replaced"));
	/* cut inside the header: still named, not an error */
	assert_int_equal(truncate(pa, 20), 0);
	assert_int_equal(rec_audit_check(ix, pa, NULL, msg, sizeof(msg)), 0);
	assert_non_null(strstr(msg, "header is cut short"));
	rec_audit_index_free(ix);
}

/* Malformed exports: refused with NAME:LINE and why. */
static void
test_index_errors(void **state)
{
	static const struct {
		const char *text;
		const char *err; /* NULL: accepted */
	} cases[] = {
		{ "", NULL },
		{ "\n\n", NULL },
		{ "{\"seq\":1,\"action\":\"grant.approve\",\"object\":\"g\","
		  "\"details\":{}}\n",
		    NULL },
		{ "not json\n", "e:1: not JSON" },
		{ "[1,2]\n", "e:1: not a JSON object" },
		{ "{\"seq\":0,\"action\":\"a\",\"object\":\"o\"}\n",
		    "e:1: not an audit row" },
		{ "{\"seq\":1,\"action\":\"a\"}\n", "e:1: not an audit row" },
		{ "\n{\"seq\":2,\"action\":\"session.open\",\"object\":"
		  "\"session:nope\",\"details\":{}}\n",
		    "e:2: a session row whose object is not session:UUID" },
		{ "{\"seq\":2,\"action\":\"session.open\",\"object\":"
		  "\"session:" SID_A "\"}\n",
		    "e:1: a session row without details" },
		{ "{\"seq\":2,\"action\":\"session.open\",\"object\":"
		  "\"session:" SID_A "\",\"details\":{\"recording\":5}}\n",
		    "e:1: a recording path that is not a string" },
		{ "{\"seq\":2,\"action\":\"session.open\",\"object\":"
		  "\"session:" SID_A "\",\"details\":{"
		  "\"recording_header_sha256\":\"ABC\"}}\n",
		    "e:1: recording_header_sha256 is not 64 hex digits" },
		{ "{\"seq\":2,\"action\":\"session.open\",\"object\":"
		  "\"session:" SID_A "\",\"details\":{}}\n"
		  "{\"seq\":3,\"action\":\"session.open\",\"object\":"
		  "\"session:" SID_A "\",\"details\":{}}\n",
		    "e:2: a second session.open" },
		{ "{\"seq\":2,\"action\":\"session.close\",\"object\":"
		  "\"session:" SID_A
		  "\",\"details\":{\"recording_size\":-1}}\n",
		    "e:1: recording_size is not a number of bytes" },
		{ "{\"seq\":2,\"action\":\"session.abort\",\"object\":"
		  "\"session:" SID_A "\",\"details\":{}}\n"
		  "{\"seq\":3,\"action\":\"session.close\",\"object\":"
		  "\"session:" SID_A "\",\"details\":{}}\n",
		    "e:2: a second end" },
		{ "{\"seq\":2,\"seq\":3,\"action\":\"a\",\"object\":\"o\"}\n",
		    "e:1: not JSON" },
	};
	struct rec_audit_index *ix;
	char err[256];
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ix = NULL;
		r = rec_audit_index_load(&ix, "e", cases[i].text,
		    strlen(cases[i].text), err, sizeof(err));
		if (cases[i].err == NULL) {
			assert_int_equal(r, 0);
			assert_non_null(ix);
		} else {
			if (r == 0 ||
			    strncmp(err, cases[i].err, strlen(cases[i].err)) !=
				0)
				fail_msg("case %zu: %d %s", i, r, err);
			assert_null(ix);
		}
		rec_audit_index_free(ix);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_roundtrip),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_index_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
