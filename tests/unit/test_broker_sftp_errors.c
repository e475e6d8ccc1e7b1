/*
 * test_broker_sftp_errors.c: the SFTP tracker fails closed on malformed
 * or mismatched input; hashes of out-of-order reads; handles left open.
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
#include <openssl/evp.h>

#include "broker/session/sftp.h"
#include "common/common.h"

#include "tests/unit/sftp_test_util.h"

/* ---- malformed input: fail closed ---- */

static void
test_errors(void **state)
{
	struct harness h;
	struct pv_buf *p;
	uint8_t big[9] = { 0x00, 0x04, 0x00, 0x01, 3 };
	struct sftp_verdict v;

	(void)state;
	/* not starting with INIT */
	h_init(&h, 3, 0);
	p = pk(17, "us", 1, "/");
	assert_int_equal(
	    h_client(&h, pv_buf_ptr(p), pv_buf_len(p)), PV_ERR_PROTOCOL);
	pv_buf_free(p);
	/* sticky */
	assert_int_equal(sftp_tracker_client_data(h.t, big, sizeof(big), &v),
	    PV_ERR_PROTOCOL);
	h_done(&h);

	/* oversize, both sides; unknown types; truncated bodies */
	{
		static const struct {
			int server;
			uint8_t type;
			const char *fmt;
		} bad[] = {
			{ 0, 99, "u" },  /* unknown client type */
			{ 0, 102, "u" }, /* a response from the client */
			{ 0, 3, "us" },  /* OPEN without pflags */
			{ 0, 18, "us" }, /* RENAME with one path */
			{ 1, 150, "u" }, /* unknown server type */
			{ 1, 101, "" },  /* no id */
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			struct pv_buf *init = pk(1, "u", 3),
				      *ver = pk(2, "u", 3);

			h_init(&h, 3, 0);
			assert_int_equal(
			    h_client(&h, pv_buf_ptr(init), pv_buf_len(init)),
			    0);
			assert_int_equal(
			    h_server(&h, pv_buf_ptr(ver), pv_buf_len(ver)), 0);
			if (strcmp(bad[i].fmt, "us") == 0)
				p = pk(bad[i].type, "us", 1, "/x");
			else if (strcmp(bad[i].fmt, "u") == 0)
				p = pk(bad[i].type, "u", 1);
			else
				p = pk(bad[i].type, "");
			if (bad[i].server)
				assert_int_equal(
				    h_server(&h, pv_buf_ptr(p), pv_buf_len(p)),
				    PV_ERR_PROTOCOL);
			else
				assert_int_equal(
				    h_client(&h, pv_buf_ptr(p), pv_buf_len(p)),
				    PV_ERR_PROTOCOL);
			pv_buf_free(p);
			pv_buf_free(init);
			pv_buf_free(ver);
			h_done(&h);
		}
	}
	/* a length over the cap is refused from its first 4 bytes */
	h_init(&h, 3, 0);
	p = pk(1, "u", 3);
	assert_int_equal(h_client(&h, pv_buf_ptr(p), pv_buf_len(p)), 0);
	pv_buf_free(p);
	big[0] = 0;
	big[1] = 0x04;
	big[2] = 0x00;
	big[3] = 0x01; /* 256 KiB + 1 */
	assert_int_equal(h_client(&h, big, sizeof(big)), PV_ERR_PROTOCOL);
	h_done(&h);
	h_init(&h, 3, 0);
	assert_int_equal(h_server(&h, big, sizeof(big)), PV_ERR_PROTOCOL);
	h_done(&h);
}

static void
test_protocol_mismatches(void **state)
{
	static const struct {
		const char *name;
		int step; /* which response to send */
	} cases[] = {
		{ "response to an unknown id", 0 },
		{ "HANDLE answering REMOVE", 1 },
		{ "DATA longer than asked", 2 },
		{ "a request id reused in flight", 3 },
		{ "a duplicate handle", 4 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct harness h;
		struct pv_buf *c = pv_buf_new(0), *s = pv_buf_new(0);
		int rc, rs;

		print_message("mismatch: %s\n", cases[i].name);
		h_init(&h, 3, 0);
		app(c, pk(1, "u", 3));
		app(s, pk(2, "u", 3));
		app(c, pk(3, "usuu", 5, "/f", SFTP_FXF_READ, 0));
		app(s, pk(102, "ub", 5, 4, H1));
		switch (cases[i].step) {
		case 0:
			app(s, pk(101, "uuss", 77, 0, "", ""));
			break;
		case 1:
			app(c, pk(13, "us", 6, "/f"));
			app(s, pk(102, "ub", 6, 4, H2));
			break;
		case 2:
			app(c, pk(5, "ubqu", 6, 4, H1, 0, 4));
			app(s, pk(103, "ub", 6, 5, "12345"));
			break;
		case 3:
			app(c, pk(17, "us", 6, "/a"));
			app(c, pk(17, "us", 6, "/b"));
			break;
		case 4:
			app(c, pk(3, "usuu", 6, "/g", SFTP_FXF_READ, 0));
			app(s, pk(102, "ub", 6, 4, H1));
			break;
		}
		/* the open and its handle first, then the case */
		{
			size_t c0 = 9 + 4 + 1 + 4 + 4 + 2 + 4 + 4;
			size_t s0 = 9 + 4 + 1 + 4 + 4 + 4;

			rc = h_client(&h, pv_buf_ptr(c), c0);
			rs = h_server(&h, pv_buf_ptr(s), s0);
			assert_int_equal(rc, 0);
			assert_int_equal(rs, 0);
			rc = h_client(
			    &h, pv_buf_ptr(c) + c0, pv_buf_len(c) - c0);
			rs = rc == 0 ? h_server(&h, pv_buf_ptr(s) + s0,
					   pv_buf_len(s) - s0)
				     : 0;
		}
		assert_true(rc == PV_ERR_PROTOCOL || rs == PV_ERR_PROTOCOL);
		h_done(&h);
		pv_buf_free(c);
		pv_buf_free(s);
	}
}

static void
test_bad_handle_refused(void **state)
{
	struct harness h;
	struct pv_buf *c = pv_buf_new(0), *want;

	(void)state;
	h_init(&h, 3, 0);
	app(c, pk(1, "u", 3));
	app(c, pk(6, "ubqb", 9, 4, "zzzz", 0, 3, "abc"));
	assert_int_equal(h_client(&h, pv_buf_ptr(c), pv_buf_len(c)), 0);
	want =
	    pk(101, "uuss", 9, SFTP_FX_FAILURE, "provost: unknown handle", "");
	assert_int_equal(pv_buf_len(h.to_client), pv_buf_len(want));
	assert_memory_equal(
	    pv_buf_ptr(h.to_client), pv_buf_ptr(want), pv_buf_len(want));
	assert_int_equal(pv_buf_len(h.to_server), 9); /* INIT only */
	assert_int_equal(h.nev, 1);
	assert_int_equal(h.ev[0].op, SFTP_OP_WRITE);
	pv_buf_free(want);
	pv_buf_free(c);
	h_done(&h);
}

/* Out-of-order reads are counted but the hash is marked non-sequential. */
static void
test_nonsequential_and_finish(void **state)
{
	struct harness h;
	struct pv_buf *c = pv_buf_new(0), *s = pv_buf_new(0);
	struct sftp_stats st;

	(void)state;
	h_init(&h, 3, 0);
	app(c, pk(1, "u", 3));
	app(s, pk(2, "u", 3));
	app(c, pk(3, "usuu", 5, "/f", SFTP_FXF_READ, 0));
	app(s, pk(102, "ub", 5, 4, H1));
	app(c, pk(3, "usuu", 8, "/g", SFTP_FXF_WRITE, 0));
	app(s, pk(102, "ub", 8, 4, H2));
	assert_int_equal(h_client(&h, pv_buf_ptr(c), pv_buf_len(c)), 0);
	assert_int_equal(h_server(&h, pv_buf_ptr(s), pv_buf_len(s)), 0);
	pv_buf_reset(c);
	pv_buf_reset(s);
	app(c, pk(5, "ubqu", 6, 4, H1, 8, 8));
	app(c, pk(5, "ubqu", 7, 4, H1, 0, 8));
	app(s, pk(103, "ub", 6, 8, rdata + 8));
	app(s, pk(103, "ub", 7, 8, rdata));
	assert_int_equal(h_client(&h, pv_buf_ptr(c), pv_buf_len(c)), 0);
	assert_int_equal(h_server(&h, pv_buf_ptr(s), pv_buf_len(s)), 0);
	sftp_tracker_stats(h.t, &st);
	assert_int_equal(st.open_handles, 2);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.bytes_downloaded, 16);
	assert_int_equal(sftp_tracker_finish(h.t), 0);
	assert_int_equal(h.nev, 4); /* two opens, two summaries */
	assert_int_equal(h.ev[2].op, SFTP_OP_READ);
	assert_int_equal(h.ev[2].hash, SFTP_HASH_NON_SEQUENTIAL);
	assert_string_equal(h.ev[2].sha, "");
	assert_int_equal(h.ev[2].bytes, 16);
	assert_int_equal(h.ev[2].status, SFTP_STATUS_UNFINISHED);
	assert_int_equal(h.ev[3].op, SFTP_OP_WRITE);
	assert_int_equal(h.ev[3].bytes, 0);
	h_done(&h);
	pv_buf_free(c);
	pv_buf_free(s);
}

/*
 * Refusals pile up while the target is mid-packet: past SFTP_REPLY_MAX the
 * tracker says SFTP_WAIT; once the target's packet ends, all replies go.
 */
static void
test_reply_queue_wait(void **state)
{
	struct harness h;
	struct pv_buf *init = pk(1, "u", 3), *ver = pk(2, "u", 3), *req, *rep;
	uint32_t i, n = 2000;

	(void)state;
	h_init(&h, SFTP_ALLOW_DOWNLOAD, 0);
	assert_int_equal(h_client(&h, pv_buf_ptr(init), pv_buf_len(init)), 0);
	assert_int_equal(h_server(&h, pv_buf_ptr(ver), 3), 0);
	rep = pk(101, "uuss", 0, SFTP_FX_PERMISSION_DENIED,
	    SFTP_MSG_UPLOAD_DENIED, "");
	for (i = 0; i < n; i++) {
		req = pk(13, "us", 100 + i, "/f");
		assert_int_equal(
		    h_client(&h, pv_buf_ptr(req), pv_buf_len(req)), 0);
		pv_buf_free(req);
	}
	assert_true(h.waits > 0);
	assert_true(h.hlen > 0);
	assert_int_equal(pv_buf_len(h.to_client), 0);
	assert_int_equal(
	    h_server(&h, pv_buf_ptr(ver) + 3, pv_buf_len(ver) - 3), 0);
	while (h.hlen > 0) {
		size_t held = h.hlen;

		assert_int_equal(h_client(&h, NULL, 0), 0);
		h_replies(&h);
		assert_true(h.hlen < held || h.hlen == 0);
	}
	h_replies(&h);
	assert_int_equal(pv_buf_len(h.to_client), (size_t)n * pv_buf_len(rep));
	assert_int_equal(h.total, (int)n);
	assert_int_equal(pv_buf_len(h.to_server), pv_buf_len(init));
	pv_buf_free(rep);
	pv_buf_free(init);
	pv_buf_free(ver);
	h_done(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_protocol_mismatches),
		cmocka_unit_test(test_bad_handle_refused),
		cmocka_unit_test(test_nonsequential_and_finish),
		cmocka_unit_test(test_reply_queue_wait),
	};

	pv_log_init("test_broker_sftp_errors", PV_LOG_STDERR, PV_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
