/*
 * test_broker_sftp.c: the SFTP tracker on byte-level packet tables: each
 * op, status mapping, policy refusals, every split point, malformed input.
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

static const char data1[] = "hello, ";
static const char data2[] = "world\n";

static void
sha_hex(const void *d, size_t n, char out[65])
{
	uint8_t dg[32];
	unsigned int dl = 0;

	assert_int_equal(EVP_Digest(d, n, dg, &dl, EVP_sha256(), NULL), 1);
	assert_int_equal(pv_hex_encode(dg, 32, out, 65), 0);
}

/* A whole session in lock-step order: each step one packet, one side. */
#define MAXSTEPS 64
struct step {
	int server;
	struct pv_buf *p;
};
static struct step steps[MAXSTEPS];
static size_t nsteps;

static void
C(struct pv_buf *p)
{
	assert_true(nsteps < MAXSTEPS);
	steps[nsteps++] = (struct step){ 0, p };
}

static void
S(struct pv_buf *p)
{
	assert_true(nsteps < MAXSTEPS);
	steps[nsteps++] = (struct step){ 1, p };
}

static void
script(void)
{
	C(pk(1, "u", 3));
	S(pk(2, "uss", 3, "posix-rename@openssh.com", "1"));
	/* upload: open, two writes, close */
	C(pk(3, "usuu", 10, "/up", SFTP_FXF_WRITE | SFTP_FXF_CREAT, 0));
	S(pk(102, "ub", 10, 4, H1));
	C(pk(6, "ubqb", 11, 4, H1, 0, (unsigned int)strlen(data1), data1));
	C(pk(6, "ubqb", 12, 4, H1, (unsigned int)strlen(data1),
	    (unsigned int)strlen(data2), data2));
	S(pk(101, "uuss", 11, 0, "ok", ""));
	S(pk(101, "uuss", 12, 0, "ok", ""));
	C(pk(4, "ub", 13, 4, H1));
	S(pk(101, "uuss", 13, 0, "Success", ""));
	/* download: open, two reads, EOF, close */
	C(pk(3, "usuu", 20, "/down", SFTP_FXF_READ, 0));
	S(pk(102, "ub", 20, 4, H2));
	C(pk(5, "ubqu", 21, 4, H2, 0, 10));
	C(pk(5, "ubqu", 22, 4, H2, 10, 10));
	C(pk(5, "ubqu", 23, 4, H2, 16, 10));
	S(pk(103, "ub", 21, 10, rdata));
	S(pk(103, "ub", 22, 6, rdata + 10));
	S(pk(101, "uuss", 23, 1, "End of file", ""));
	C(pk(4, "ub", 24, 4, H2));
	S(pk(101, "uuss", 24, 0, "Success", ""));
	/* metadata operations */
	C(pk(13, "us", 30, "/rm"));
	S(pk(101, "uuss", 30, 2, "No such file", ""));
	C(pk(18, "uss", 31, "/a", "/b"));
	S(pk(101, "uuss", 31, 0, "Success", ""));
	C(pk(14, "usu", 32, "/d", 0));
	S(pk(101, "uuss", 32, 0, "Success", ""));
	C(pk(15, "us", 33, "/d"));
	S(pk(101, "uuss", 33, 3, "Permission denied", ""));
	C(pk(9, "usuu", 34, "/f", 4, 0644));
	S(pk(101, "uuss", 34, 0, "Success", ""));
	C(pk(20, "uss", 35, "/target", "/link"));
	S(pk(101, "uuss", 35, 0, "Success", ""));
	C(pk(19, "us", 36, "/link"));
	S(pk(104, "uussu", 36, 1, "/target", "", 0));
	C(pk(16, "us", 37, "."));
	S(pk(104, "uussu", 37, 1, "/home/x", "", 0));
	C(pk(17, "us", 38, "/f"));
	S(pk(105, "uu", 38, 0));
	C(pk(7, "us", 39, "/f"));
	S(pk(105, "uu", 39, 0));
	/* directory listing */
	C(pk(11, "us", 40, "/dir"));
	S(pk(102, "ub", 40, 4, H3));
	C(pk(12, "ub", 41, 4, H3));
	S(pk(104, "uussussu", 41, 2, "a", "-rw a", 0, "b", "-rw b", 0));
	C(pk(12, "ub", 42, 4, H3));
	S(pk(101, "uuss", 42, 1, "End of file", ""));
	C(pk(4, "ub", 43, 4, H3));
	S(pk(101, "uuss", 43, 0, "Success", ""));
	/* extensions */
	C(pk(200, "usss", 50, "posix-rename@openssh.com", "/x", "/y"));
	S(pk(101, "uuss", 50, 0, "Success", ""));
	C(pk(200, "uss", 51, "statvfs@openssh.com", "/"));
	S(pk(201, "uq", 51, 4096));
}

static const struct {
	const char *path, *path2;
	uint64_t bytes;
	enum sftp_op op;
	uint32_t status;
} script_events[] = {
	{ "/up", "", 0, SFTP_OP_OPEN, 0 },
	{ "/up", "", 13, SFTP_OP_WRITE, 0 },
	{ "/down", "", 0, SFTP_OP_OPEN, 0 },
	{ "/down", "", 16, SFTP_OP_READ, 0 },
	{ "/rm", "", 0, SFTP_OP_REMOVE, 2 },
	{ "/a", "/b", 0, SFTP_OP_RENAME, 0 },
	{ "/d", "", 0, SFTP_OP_MKDIR, 0 },
	{ "/d", "", 0, SFTP_OP_RMDIR, 3 },
	{ "/f", "", 0, SFTP_OP_SETSTAT, 0 },
	{ "/link", "/target", 0, SFTP_OP_SYMLINK, 0 },
	{ "/link", "/target", 0, SFTP_OP_READLINK, 0 },
	{ ".", "/home/x", 0, SFTP_OP_REALPATH, 0 },
	{ "/f", "", 0, SFTP_OP_STAT, 0 },
	{ "/f", "", 0, SFTP_OP_LSTAT, 0 },
	{ "/dir", "", 0, SFTP_OP_OPENDIR, 0 },
	{ "/dir", "", 2, SFTP_OP_READDIR, 0 },
	{ "/x", "/y", 0, SFTP_OP_RENAME, 0 },
	{ "/", "", 0, SFTP_OP_EXTENDED, 0 },
};

static void
check_script_events(struct harness *h)
{
	char up[65], down[65];
	size_t i, n = sizeof(script_events) / sizeof(script_events[0]);

	sha_hex("hello, world\n", 13, up);
	sha_hex(rdata, 16, down);
	assert_int_equal(h->err, 0);
	assert_int_equal(h->nev, (int)n);
	for (i = 0; i < n; i++) {
		assert_int_equal(h->ev[i].op, script_events[i].op);
		assert_string_equal(h->ev[i].path, script_events[i].path);
		assert_string_equal(h->ev[i].path2, script_events[i].path2);
		assert_int_equal(h->ev[i].status, script_events[i].status);
		assert_int_equal(h->ev[i].bytes, script_events[i].bytes);
		assert_false(h->ev[i].refused);
	}
	assert_string_equal(h->ev[1].sha, up);
	assert_int_equal(h->ev[1].dir, SFTP_DIR_UPLOAD);
	assert_int_equal(h->ev[1].hash, SFTP_HASH_SEQUENTIAL);
	assert_string_equal(h->ev[3].sha, down);
	assert_int_equal(h->ev[3].dir, SFTP_DIR_DOWNLOAD);
	assert_int_equal(h->ev[1].file_id, 1);
	assert_int_equal(h->ev[3].file_id, 2);
	assert_string_equal(h->ev[16].ext, "posix-rename@openssh.com");
	assert_string_equal(h->ev[17].ext, "statvfs@openssh.com");
}

static void
script_free(void)
{
	size_t i;

	for (i = 0; i < nsteps; i++)
		pv_buf_free(steps[i].p);
	nsteps = 0;
}

/*
 * Runs the script feeding each packet in chunks of chunk bytes, except
 * packet split_step, cut once at split_at.  Checks events and that the
 * client bytes reached the server unchanged.
 */
static void
run_script(size_t chunk, size_t split_step, size_t split_at, int contents,
    struct harness *h)
{
	struct pv_buf *all = pv_buf_new(0);
	size_t i, off, n, len;
	const uint8_t *p;

	h_init(h, SFTP_ALLOW_UPLOAD | SFTP_ALLOW_DOWNLOAD, contents);
	for (i = 0; i < nsteps; i++) {
		p = pv_buf_ptr(steps[i].p);
		len = pv_buf_len(steps[i].p);
		if (!steps[i].server)
			assert_int_equal(pv_buf_put(all, p, len), 0);
		for (off = 0; off < len; off += n) {
			n = i == split_step ? (off == 0 ? split_at : len - off)
					    : chunk;
			if (n > len - off)
				n = len - off;
			if (steps[i].server)
				assert_int_equal(h_server(h, p + off, n), 0);
			else
				assert_int_equal(h_client(h, p + off, n), 0);
		}
	}
	check_script_events(h);
	assert_int_equal(pv_buf_len(h->to_server), pv_buf_len(all));
	assert_memory_equal(
	    pv_buf_ptr(h->to_server), pv_buf_ptr(all), pv_buf_len(all));
	assert_int_equal(pv_buf_len(h->to_client), 0);
	pv_buf_free(all);
}

static void
test_script_every_split(void **state)
{
	struct harness h;
	size_t i, k;

	(void)state;
	script();
	for (i = 0; i < nsteps; i++) {
		for (k = 1; k < pv_buf_len(steps[i].p); k++) {
			run_script(SIZE_MAX, i, k, 0, &h);
			h_done(&h);
		}
	}
	script_free();
}

static void
test_script_byte_by_byte(void **state)
{
	struct harness h;

	(void)state;
	script();
	run_script(1, SIZE_MAX, 0, 1, &h);
	/* Contents: 13 written bytes then 16 read, with their offsets. */
	{
		struct pv_buf *b = h.content;
		uint64_t off, total = 0;
		const uint8_t *p;
		size_t n;

		while (pv_buf_len(b) > 0) {
			assert_int_equal(pv_buf_get_u64(b, &off), 0);
			assert_int_equal(
			    pv_buf_get_string_direct(b, &p, &n), 0);
			if (total < 13)
				assert_memory_equal(
				    p, "hello, world\n" + off, n);
			else
				assert_memory_equal(p, rdata + off, n);
			total += n;
		}
		assert_int_equal(total, 13 + 16);
	}
	h_done(&h);
	script_free();
}

/* ---- policy ---- */

static const struct {
	const char *name;
	unsigned int allow;
	uint8_t type;
	const char *fmt;
	uint32_t a; /* open flags, when the request has them */
	int refused;
	const char *msg;
} policy_cases[] = {
	{ "open write, download only", SFTP_ALLOW_DOWNLOAD, 3, "suu",
	    SFTP_FXF_WRITE | SFTP_FXF_CREAT | SFTP_FXF_TRUNC, 1,
	    SFTP_MSG_UPLOAD_DENIED },
	{ "open append, download only", SFTP_ALLOW_DOWNLOAD, 3, "suu",
	    SFTP_FXF_WRITE | SFTP_FXF_APPEND, 1, SFTP_MSG_UPLOAD_DENIED },
	{ "open creat without write", SFTP_ALLOW_DOWNLOAD, 3, "suu",
	    SFTP_FXF_READ | SFTP_FXF_CREAT, 1, SFTP_MSG_UPLOAD_DENIED },
	{ "open read, download only", SFTP_ALLOW_DOWNLOAD, 3, "suu",
	    SFTP_FXF_READ, 0, NULL },
	{ "open read, upload only", SFTP_ALLOW_UPLOAD, 3, "suu", SFTP_FXF_READ,
	    1, SFTP_MSG_DOWNLOAD_DENIED },
	{ "open no flags reads, upload only", SFTP_ALLOW_UPLOAD, 3, "suu", 0, 1,
	    SFTP_MSG_DOWNLOAD_DENIED },
	{ "open write, upload only", SFTP_ALLOW_UPLOAD, 3, "suu",
	    SFTP_FXF_WRITE | SFTP_FXF_CREAT, 0, NULL },
	{ "open rw, upload only", SFTP_ALLOW_UPLOAD, 3, "suu",
	    SFTP_FXF_READ | SFTP_FXF_WRITE, 1, SFTP_MSG_DOWNLOAD_DENIED },
	{ "remove, download only", SFTP_ALLOW_DOWNLOAD, 13, "s", 0, 1,
	    SFTP_MSG_UPLOAD_DENIED },
	{ "mkdir, download only", SFTP_ALLOW_DOWNLOAD, 14, "su", 0, 1,
	    SFTP_MSG_UPLOAD_DENIED },
	{ "rmdir, download only", SFTP_ALLOW_DOWNLOAD, 15, "s", 0, 1,
	    SFTP_MSG_UPLOAD_DENIED },
	{ "setstat, download only", SFTP_ALLOW_DOWNLOAD, 9, "su", 0, 1,
	    SFTP_MSG_UPLOAD_DENIED },
	{ "stat, nothing allowed", 0, 17, "s", 0, 0, NULL },
	{ "opendir, nothing allowed", 0, 11, "s", 0, 0, NULL },
	{ "realpath, nothing allowed", 0, 16, "s", 0, 0, NULL },
	{ "remove, upload only", SFTP_ALLOW_UPLOAD, 13, "s", 0, 0, NULL },
};

static void
test_policy_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(policy_cases) / sizeof(policy_cases[0]); i++) {
		struct harness h;
		struct pv_buf *init = pk(1, "u", 3), *req, *want;

		print_message("policy: %s\n", policy_cases[i].name);
		if (strcmp(policy_cases[i].fmt, "suu") == 0)
			req = pk(policy_cases[i].type, "usuu", 7, "/p/f",
			    policy_cases[i].a, 0);
		else if (strcmp(policy_cases[i].fmt, "su") == 0)
			req = pk(policy_cases[i].type, "usu", 7, "/p/f", 0);
		else
			req = pk(policy_cases[i].type, "us", 7, "/p/f");
		h_init(&h, policy_cases[i].allow, 0);
		assert_int_equal(
		    h_client(&h, pv_buf_ptr(init), pv_buf_len(init)), 0);
		assert_int_equal(
		    h_client(&h, pv_buf_ptr(req), pv_buf_len(req)), 0);
		if (policy_cases[i].refused) {
			assert_int_equal(
			    pv_buf_len(h.to_server), pv_buf_len(init));
			want = pk(101, "uuss", 7, SFTP_FX_PERMISSION_DENIED,
			    policy_cases[i].msg, "");
			assert_int_equal(
			    pv_buf_len(h.to_client), pv_buf_len(want));
			assert_memory_equal(pv_buf_ptr(h.to_client),
			    pv_buf_ptr(want), pv_buf_len(want));
			pv_buf_free(want);
			assert_int_equal(h.nev, 1);
			assert_true(h.ev[0].refused);
			assert_string_equal(h.ev[0].path, "/p/f");
		} else {
			assert_int_equal(pv_buf_len(h.to_server),
			    pv_buf_len(init) + pv_buf_len(req));
			assert_int_equal(pv_buf_len(h.to_client), 0);
			assert_int_equal(h.nev, 0);
		}
		pv_buf_free(init);
		pv_buf_free(req);
		h_done(&h);
	}
}

static const struct {
	const char *ext;
	unsigned int allow;
	int refused;
} ext_cases[] = {
	{ "posix-rename@openssh.com", SFTP_ALLOW_DOWNLOAD, 1 },
	{ "hardlink@openssh.com", SFTP_ALLOW_DOWNLOAD, 1 },
	{ "lsetstat@openssh.com", SFTP_ALLOW_DOWNLOAD, 1 },
	{ "posix-rename@openssh.com", SFTP_ALLOW_UPLOAD, 0 },
	{ "statvfs@openssh.com", 0, 0 },
	{ "expand-path@openssh.com", 0, 0 },
	{ "home-directory", 0, 0 },
	{ "limits@openssh.com", 0, 0 },
	{ "x-unknown@example.com", SFTP_ALLOW_UPLOAD, 1 },
	{ "x-unknown@example.com", SFTP_ALLOW_DOWNLOAD, 1 },
	{ "x-unknown@example.com", SFTP_ALLOW_UPLOAD | SFTP_ALLOW_DOWNLOAD, 0 },
};

/* Extensions: modifying ones need upload, unknown ones need both. */
static void
test_extensions_policy(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ext_cases) / sizeof(ext_cases[0]); i++) {
		struct harness h;
		struct pv_buf *init = pk(1, "u", 3), *req;

		print_message(
		    "ext: %s %u\n", ext_cases[i].ext, ext_cases[i].allow);
		req = pk(200, "usss", 7, ext_cases[i].ext, "/p/f", "/p/g");
		h_init(&h, ext_cases[i].allow, 0);
		assert_int_equal(
		    h_client(&h, pv_buf_ptr(init), pv_buf_len(init)), 0);
		assert_int_equal(
		    h_client(&h, pv_buf_ptr(req), pv_buf_len(req)), 0);
		assert_int_equal(
		    pv_buf_len(h.to_client) > 0, ext_cases[i].refused);
		assert_int_equal(h.nev, ext_cases[i].refused);
		if (ext_cases[i].refused) {
			assert_true(h.ev[0].refused);
			assert_int_equal(
			    h.ev[0].status, SFTP_FX_PERMISSION_DENIED);
			assert_string_equal(h.ev[0].ext, ext_cases[i].ext);
		}
		pv_buf_free(init);
		pv_buf_free(req);
		h_done(&h);
	}
}

/* Every status code of a STATUS reply reaches the event unchanged. */
static const struct {
	uint8_t type;
	enum sftp_op op;
	int two_paths;
} status_ops[] = {
	{ 3, SFTP_OP_OPEN, 0 },
	{ 11, SFTP_OP_OPENDIR, 0 },
	{ 13, SFTP_OP_REMOVE, 0 },
	{ 14, SFTP_OP_MKDIR, 0 },
	{ 15, SFTP_OP_RMDIR, 0 },
	{ 9, SFTP_OP_SETSTAT, 0 },
	{ 17, SFTP_OP_STAT, 0 },
	{ 7, SFTP_OP_LSTAT, 0 },
	{ 16, SFTP_OP_REALPATH, 0 },
	{ 19, SFTP_OP_READLINK, 0 },
	{ 18, SFTP_OP_RENAME, 1 },
	{ 20, SFTP_OP_SYMLINK, 1 },
};

static void
test_status_mapping(void **state)
{
	size_t i;
	uint32_t code;
	char msg[16];

	(void)state;
	for (i = 0; i < sizeof(status_ops) / sizeof(status_ops[0]); i++) {
		for (code = 0; code <= 8; code++) {
			struct harness h;
			struct pv_buf *c = pv_buf_new(0), *sv = pv_buf_new(0);

			snprintf(msg, sizeof(msg), "m%u", code);
			h_init(&h, SFTP_ALLOW_UPLOAD | SFTP_ALLOW_DOWNLOAD, 0);
			app(c, pk(1, "u", 3));
			app(sv, pk(2, "u", 3));
			if (status_ops[i].two_paths)
				app(c,
				    pk(status_ops[i].type, "uss", 9, "/a",
					"/b"));
			else if (status_ops[i].type == 3)
				app(c,
				    pk(3, "usuu", 9, "/a", SFTP_FXF_READ, 0));
			else if (status_ops[i].type == 9 ||
			    status_ops[i].type == 14)
				app(c,
				    pk(status_ops[i].type, "usu", 9, "/a", 0));
			else
				app(c, pk(status_ops[i].type, "us", 9, "/a"));
			app(sv, pk(101, "uuss", 9, code, msg, "en"));
			assert_int_equal(
			    h_client(&h, pv_buf_ptr(c), pv_buf_len(c)), 0);
			assert_int_equal(
			    h_server(&h, pv_buf_ptr(sv), pv_buf_len(sv)), 0);
			assert_int_equal(h.nev, 1);
			assert_int_equal(h.ev[0].op, status_ops[i].op);
			assert_int_equal(h.ev[0].status, code);
			assert_string_equal(h.ev[0].msg, msg);
			assert_false(h.ev[0].refused);
			h_done(&h);
			pv_buf_free(c);
			pv_buf_free(sv);
		}
	}
}

/* A refused request's reply waits until the target is between packets. */
static void
test_refusal_waits_for_boundary(void **state)
{
	struct harness h;
	struct pv_buf *c = pv_buf_new(0), *s = pv_buf_new(0);
	size_t half;

	(void)state;
	h_init(&h, SFTP_ALLOW_DOWNLOAD, 0);
	app(c, pk(1, "u", 3));
	app(c, pk(3, "usuu", 5, "/f", SFTP_FXF_READ, 0));
	app(s, pk(2, "u", 3));
	app(s, pk(102, "ub", 5, 4, H1));
	assert_int_equal(h_client(&h, pv_buf_ptr(c), pv_buf_len(c)), 0);
	half = pv_buf_len(s) - 3;
	assert_int_equal(h_server(&h, pv_buf_ptr(s), half), 0);
	pv_buf_reset(c);
	app(c, pk(13, "us", 6, "/f"));
	assert_int_equal(h_client(&h, pv_buf_ptr(c), pv_buf_len(c)), 0);
	assert_int_equal(pv_buf_len(h.to_client), 0); /* mid-packet */
	assert_int_equal(
	    h_server(&h, pv_buf_ptr(s) + half, pv_buf_len(s) - half), 0);
	assert_true(pv_buf_len(h.to_client) > 0);
	h_done(&h);
	pv_buf_free(c);
	pv_buf_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_script_every_split),
		cmocka_unit_test(test_script_byte_by_byte),
		cmocka_unit_test(test_policy_table),
		cmocka_unit_test(test_extensions_policy),
		cmocka_unit_test(test_status_mapping),
		cmocka_unit_test(test_refusal_waits_for_boundary),
	};

	pv_log_init("test_broker_sftp", PV_LOG_STDERR, PV_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
