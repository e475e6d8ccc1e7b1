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

#include "broker/broker-sftp.h"
#include "common/common.h"

#define MAXEV 64

struct rec_ev {
	enum sftp_op op;
	char path[128], path2[128], ext[64], sha[65], msg[96];
	enum sftp_dir dir;
	uint64_t bytes, file_id;
	enum sftp_hash_state hash;
	uint32_t status;
	int refused;
};

struct harness {
	struct sftp_tracker *t;
	struct rec_ev ev[MAXEV];
	int nev;
	struct pv_buf *to_server, *to_client, *content;
	uint8_t held[SFTP_HOLD_MAX + 256];
	size_t hlen;
	int err;
};

static int
h_event(void *ctx, const struct sftp_event *e)
{
	struct harness *h = ctx;
	struct rec_ev *r;

	assert_true(h->nev < MAXEV);
	r = &h->ev[h->nev++];
	*r = (struct rec_ev){ .op = e->op,
		.dir = e->direction,
		.bytes = e->bytes,
		.file_id = e->file_id,
		.hash = e->hash,
		.status = e->status,
		.refused = e->refused };
	snprintf(r->path, sizeof(r->path), "%s", e->path);
	snprintf(
	    r->path2, sizeof(r->path2), "%s", e->path2 != NULL ? e->path2 : "");
	snprintf(r->ext, sizeof(r->ext), "%s", e->ext != NULL ? e->ext : "");
	snprintf(r->sha, sizeof(r->sha), "%s", e->sha256);
	snprintf(r->msg, sizeof(r->msg), "%s", e->message);
	return 0;
}

static int
h_content(void *ctx, uint64_t file_id, enum sftp_dir dir, uint64_t off,
    const uint8_t *d, size_t len)
{
	struct harness *h = ctx;

	(void)file_id;
	(void)dir;
	/* Contents are kept in the order given; tests check offsets. */
	assert_int_equal(pv_buf_put_u64(h->content, off), 0);
	assert_int_equal(pv_buf_put_string(h->content, d, len), 0);
	return 0;
}

static void
h_init(struct harness *h, unsigned int allow, int contents)
{
	struct sftp_config cfg = { .allow = allow,
		.record_contents = contents,
		.cb = { .event = h_event, .content = h_content, .ctx = h } };

	memset(h, 0, sizeof(*h));
	assert_int_equal(sftp_tracker_new(&h->t, &cfg), 0);
	assert_non_null(h->to_server = pv_buf_new(0));
	assert_non_null(h->to_client = pv_buf_new(0));
	assert_non_null(h->content = pv_buf_new(0));
}

static void
h_done(struct harness *h)
{
	sftp_tracker_free(h->t);
	pv_buf_free(h->to_server);
	pv_buf_free(h->to_client);
	pv_buf_free(h->content);
}

static void
h_replies(struct harness *h)
{
	const uint8_t *p;
	size_t n;

	assert_int_equal(sftp_tracker_reply(h->t, &p, &n), 0);
	if (n > 0) {
		assert_int_equal(pv_buf_put(h->to_client, p, n), 0);
		sftp_tracker_reply_consumed(h->t, n);
	}
}

/* The relay's part for the client direction, as the broker would do it. */
static int
h_client(struct harness *h, const uint8_t *d, size_t len)
{
	struct sftp_verdict v;
	int r;

	assert_true(h->hlen + len <= sizeof(h->held));
	memcpy(h->held + h->hlen, d, len);
	h->hlen += len;
	while (h->hlen > 0) {
		if ((r = sftp_tracker_client_data(
			 h->t, h->held, h->hlen, &v)) != 0)
			return h->err = r;
		if (v.action == SFTP_NEED)
			break;
		if (v.action == SFTP_WAIT) {
			h_replies(h);
			continue;
		}
		assert_true(v.len > 0 && v.len <= h->hlen);
		if (v.action == SFTP_PASS)
			assert_int_equal(
			    pv_buf_put(h->to_server, h->held, v.len), 0);
		memmove(h->held, h->held + v.len, h->hlen - v.len);
		h->hlen -= v.len;
		h_replies(h);
	}
	return 0;
}

static int
h_server(struct harness *h, const uint8_t *d, size_t len)
{
	int r;

	if ((r = sftp_tracker_server_data(h->t, d, len)) != 0)
		return h->err = r;
	h_replies(h);
	return 0;
}

/* ---- packet builders ---- */

static struct pv_buf *
pk(uint8_t type, const char *fmt, ...)
{
	struct pv_buf *body = pv_buf_new(0), *out = pv_buf_new(0);
	const char *s;
	va_list ap;

	assert_non_null(body);
	assert_non_null(out);
	assert_int_equal(pv_buf_put_u8(body, type), 0);
	va_start(ap, fmt);
	for (; *fmt != '\0'; fmt++) {
		switch (*fmt) {
		case 'u':
			assert_int_equal(
			    pv_buf_put_u32(body, va_arg(ap, unsigned int)), 0);
			break;
		case 'q':
			/* small offsets: passed as unsigned int */
			assert_int_equal(
			    pv_buf_put_u64(body, va_arg(ap, unsigned int)), 0);
			break;
		case 's':
			s = va_arg(ap, const char *);
			assert_int_equal(pv_buf_put_cstring(body, s), 0);
			break;
		case 'b': /* a byte string: length then pointer */
		{
			size_t n = va_arg(ap, unsigned int);

			s = va_arg(ap, const char *);
			assert_int_equal(pv_buf_put_string(body, s, n), 0);
			break;
		}
		default:
			fail();
		}
	}
	va_end(ap);
	assert_int_equal(pv_buf_put_u32(out, (uint32_t)pv_buf_len(body)), 0);
	assert_int_equal(
	    pv_buf_put(out, pv_buf_ptr(body), pv_buf_len(body)), 0);
	pv_buf_free(body);
	return out;
}

static void
app(struct pv_buf *dst, struct pv_buf *p)
{
	assert_int_equal(pv_buf_put(dst, pv_buf_ptr(p), pv_buf_len(p)), 0);
	pv_buf_free(p);
}

#define H1 "\x00\x00\x00\x01"
#define H2 "\x00\x00\x00\x02"
#define H3 "\x00\x00\x00\x03"

static const char data1[] = "hello, ";
static const char data2[] = "world\n";
static const char rdata[] = "0123456789abcdef";

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_script_every_split),
		cmocka_unit_test(test_script_byte_by_byte),
		cmocka_unit_test(test_policy_table),
		cmocka_unit_test(test_extensions_policy),
		cmocka_unit_test(test_refusal_waits_for_boundary),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_protocol_mismatches),
		cmocka_unit_test(test_bad_handle_refused),
		cmocka_unit_test(test_nonsequential_and_finish),
	};

	pv_log_init("test_broker_sftp", PV_LOG_STDERR, PV_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
