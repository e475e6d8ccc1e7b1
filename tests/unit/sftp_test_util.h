/*
 * sftp_test_util.h: the SFTP unit tests' relay harness (the broker's part
 * played in memory) and a packet builder; included by each test file.
 */
#ifndef PROVOST_SFTP_TEST_UTIL_H
#define PROVOST_SFTP_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "broker/session/sftp.h"
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
	int total; /* events, also past MAXEV */
	int waits; /* SFTP_WAIT with no reply deliverable */
};

static int
h_event(void *ctx, const struct sftp_event *e)
{
	struct harness *h = ctx;
	struct rec_ev *r;

	if (h->total++ >= MAXEV)
		return 0; /* counted only */
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
	if (len > 0)
		memcpy(h->held + h->hlen, d, len);
	h->hlen += len;
	while (h->hlen > 0) {
		if ((r = sftp_tracker_client_data(
			 h->t, h->held, h->hlen, &v)) != 0)
			return h->err = r;
		if (v.action == SFTP_NEED)
			break;
		if (v.action == SFTP_WAIT) {
			size_t before = pv_buf_len(h->to_client);

			h_replies(h);
			if (pv_buf_len(h->to_client) == before) {
				h->waits++; /* the target is mid-packet */
				break;
			}
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

static const char rdata[] = "0123456789abcdef";

#endif /* PROVOST_SFTP_TEST_UTIL_H */
