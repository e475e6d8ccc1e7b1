/*
 * test_broker_sftp_scp.c: the strict scp exec classifier (a table) and the
 * scp protocol tracker on byte streams, whole and one byte at a time.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/session/sftp.h"
#include "common/common.h"

#define SCP_LINE_MAX_TEST 5000 /* over sftp_scp.c's line cap */

static const struct {
	const char *cmd;
	int r;
	enum scp_mode mode;
	const char *path;
	int recursive;
} classify_cases[] = {
	{ "ls -l", 0, SCP_NONE, NULL, 0 },
	{ "scpx -t /tmp", 0, SCP_NONE, NULL, 0 },
	{ "scp -t /tmp/x", 0, SCP_UPLOAD, "/tmp/x", 0 },
	{ "scp -f /tmp/x", 0, SCP_DOWNLOAD, "/tmp/x", 0 },
	{ "scp -v -r -p -d -t /tmp/", 0, SCP_UPLOAD, "/tmp/", 1 },
	{ "scp -r -f ~/dir", 0, SCP_DOWNLOAD, "~/dir", 1 },
	{ "scp -t -- -odd", 0, SCP_UPLOAD, "-odd", 0 },
	{ "scp -f /tmp/*.log", 0, SCP_DOWNLOAD, "/tmp/*.log", 0 },
	{ "scp", PV_ERR_INVALID, SCP_NONE, NULL, 0 },
	{ "scp -t", PV_ERR_INVALID, SCP_NONE, NULL, 0 },
	{ "scp /tmp/x", PV_ERR_INVALID, SCP_NONE, NULL, 0 },
	{ "scp -t -f /x", PV_ERR_INVALID, SCP_NONE, NULL, 0 },
	{ "scp -x -t /x", PV_ERR_INVALID, SCP_NONE, NULL, 0 },
	{ "scp -tr /x", PV_ERR_INVALID, SCP_NONE, NULL, 0 },
	{ "scp -t /x; rm -rf /", PV_ERR_INVALID, SCP_NONE, NULL, 0 },
	{ "scp -t /x && id", PV_ERR_INVALID, SCP_NONE, NULL, 0 },
	{ "scp -t $(id)", PV_ERR_INVALID, SCP_NONE, NULL, 0 },
	{ "scp -t `id`", PV_ERR_INVALID, SCP_NONE, NULL, 0 },
	{ "scp -t /a|b", PV_ERR_INVALID, SCP_NONE, NULL, 0 },
	{ "scp -t 'x'", PV_ERR_INVALID, SCP_NONE, NULL, 0 },
	{ "scp -t /a b", PV_ERR_INVALID, SCP_NONE, NULL, 0 },
	{ "scp -t /x\n", PV_ERR_INVALID, SCP_NONE, NULL, 0 },
	{ "scp -t /x*", PV_ERR_INVALID, SCP_NONE, NULL, 0 }, /* glob: -f only */
	{ "scp -t -odd", PV_ERR_INVALID, SCP_NONE, NULL, 0 },
	{ "scp -f /a/~b", PV_ERR_INVALID, SCP_NONE, NULL, 0 },
	{ "scp  -t /x", PV_ERR_INVALID, SCP_NONE, NULL, 0 },
};

static void
test_classify(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(classify_cases) / sizeof(classify_cases[0]);
	     i++) {
		enum scp_mode mode;
		char *path;
		int rec, r;

		print_message("classify: %s\n", classify_cases[i].cmd);
		r = scp_classify(classify_cases[i].cmd,
		    strlen(classify_cases[i].cmd), &mode, &path, &rec);
		assert_int_equal(r, classify_cases[i].r);
		assert_int_equal(mode, classify_cases[i].mode);
		if (classify_cases[i].path == NULL)
			assert_null(path);
		else {
			assert_non_null(path);
			assert_string_equal(path, classify_cases[i].path);
			assert_int_equal(rec, classify_cases[i].recursive);
		}
		free(path);
	}
}

struct evs {
	int n;
	enum sftp_op op[8];
	char path[8][64];
	uint64_t bytes[8];
	uint32_t status[8];
	char sha[8][65];
};

static int
on_event(void *ctx, const struct sftp_event *e)
{
	struct evs *v = ctx;

	assert_true(v->n < 8);
	v->op[v->n] = e->op;
	snprintf(v->path[v->n], sizeof(v->path[0]), "%s", e->path);
	v->bytes[v->n] = e->bytes;
	v->status[v->n] = e->status;
	snprintf(v->sha[v->n], sizeof(v->sha[0]), "%s", e->sha256);
	v->n++;
	return 0;
}

/* One step of a lock-step exchange: which side sends what. */
struct xstep {
	int source; /* 1: the side sending files */
	const char *bytes;
	size_t len;
};

#define X(src, s)                     \
	{                             \
		src, s, sizeof(s) - 1 \
	}

/* sha256("hello\n") */
#define HELLO_SHA \
	"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"

static const struct xstep upload[] = {
	X(0, "\0"),
	X(1, "D0755 0 dir\n"),
	X(0, "\0"),
	X(1, "T1700000000 0 1700000000 0\n"),
	X(0, "\0"),
	X(1, "C0644 6 hello.txt\n"),
	X(0, "\0"),
	X(1, "hello\n\0"),
	X(0, "\0"),
	X(1, "C0600 3 locked\n"),
	X(0, "\1scp: locked: Permission denied\n"),
	X(1, "C0644 0 empty\n"),
	X(0, "\0"),
	X(1, "\0"),
	X(0, "\0"),
	X(1, "E\n"),
	X(0, "\0"),
};

static void
run(enum scp_mode mode, size_t chunk, struct evs *v)
{
	struct sftp_config cfg = { .cb = { .event = on_event, .ctx = v } };
	struct scp_tracker *t;
	size_t i, off, n;
	int r;

	memset(v, 0, sizeof(*v));
	assert_int_equal(scp_tracker_new(&t, mode, "/dst", &cfg), 0);
	for (i = 0; i < sizeof(upload) / sizeof(upload[0]); i++) {
		/* upload: the client is the source; download: the target */
		int client = (mode == SCP_UPLOAD) == (upload[i].source == 1);

		for (off = 0; off < upload[i].len; off += n) {
			n = upload[i].len - off < chunk ? upload[i].len - off
							: chunk;
			r = client
			    ? scp_tracker_client_data(
				  t, (const uint8_t *)upload[i].bytes + off, n)
			    : scp_tracker_server_data(
				  t, (const uint8_t *)upload[i].bytes + off, n);
			assert_int_equal(r, 0);
		}
	}
	assert_int_equal(scp_tracker_finish(t), 0);
	scp_tracker_free(t);
}

static void
test_stream(void **state)
{
	static const enum scp_mode modes[] = { SCP_UPLOAD, SCP_DOWNLOAD };
	enum sftp_op fop;
	struct evs v;
	size_t m, chunk;

	(void)state;
	for (m = 0; m < 2; m++) {
		fop = modes[m] == SCP_UPLOAD ? SFTP_OP_WRITE : SFTP_OP_READ;
		for (chunk = 1; chunk <= 64; chunk *= 4) {
			run(modes[m], chunk, &v);
			assert_int_equal(v.n, 4);
			assert_int_equal(v.op[0], SFTP_OP_MKDIR);
			assert_string_equal(v.path[0], "dir");
			assert_int_equal(v.op[1], fop);
			assert_string_equal(v.path[1], "dir/hello.txt");
			assert_int_equal(v.bytes[1], 6);
			assert_int_equal(v.status[1], 0);
			assert_string_equal(v.sha[1], HELLO_SHA);
			assert_int_equal(v.op[2], fop);
			assert_string_equal(v.path[2], "dir/locked");
			assert_int_equal(v.status[2], SFTP_FX_FAILURE);
			assert_string_equal(v.path[3], "dir/empty");
			assert_int_equal(v.bytes[3], 0);
		}
	}
}

static const struct {
	const char *name;
	const char *src; /* after the sink's first ack */
	size_t len;
} bad_cases[] = {
	{ "unknown line", "X0644 1 a\n", 10 },
	{ "slash in name", "C0644 1 a/b\n", 12 },
	{ "dot dot", "D0755 0 ..\n", 11 },
	{ "bad mode", "C0944 1 a\n", 10 },
	{ "signed size", "C0644 -1 a\n", 11 },
	{ "E at top", "E\n", 2 },
	{ "NUL in a line", "C0644 1 a\0b\n", 12 },
};

static void
test_bad_streams(void **state)
{
	struct sftp_config cfg = { 0 };
	struct scp_tracker *t;
	uint8_t big[SCP_LINE_MAX_TEST];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		print_message("bad: %s\n", bad_cases[i].name);
		assert_int_equal(
		    scp_tracker_new(&t, SCP_UPLOAD, "/d", &cfg), 0);
		assert_int_equal(
		    scp_tracker_server_data(t, (const uint8_t *)"\0", 1), 0);
		assert_int_equal(
		    scp_tracker_client_data(
			t, (const uint8_t *)bad_cases[i].src, bad_cases[i].len),
		    PV_ERR_PROTOCOL);
		scp_tracker_free(t);
	}
	/* the source may not send before it is answered */
	assert_int_equal(scp_tracker_new(&t, SCP_UPLOAD, "/d", &cfg), 0);
	assert_int_equal(scp_tracker_client_data(t, (const uint8_t *)"C", 1),
	    PV_ERR_PROTOCOL);
	scp_tracker_free(t);
	/* an over-long line */
	memset(big, 'a', sizeof(big));
	big[0] = 'C';
	assert_int_equal(scp_tracker_new(&t, SCP_UPLOAD, "/d", &cfg), 0);
	assert_int_equal(
	    scp_tracker_server_data(t, (const uint8_t *)"\0", 1), 0);
	assert_int_equal(
	    scp_tracker_client_data(t, big, sizeof(big)), PV_ERR_PROTOCOL);
	scp_tracker_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_bad_streams),
	};

	pv_log_init("test_broker_sftp_scp", PV_LOG_STDERR, PV_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
