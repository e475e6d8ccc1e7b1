/*
 * test_recorder_index.c: the search index sealed in each recording: built
 * across events and chunks, per stream, case-blind, saturating; the INDEX
 * event checked strictly; no false negative on randomized sessions.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"
#include "recorder/recorder-int.h"
#include "recorder/recorder.h"
#include "tests/unit/test_recorder_util.h"

static struct tr_env env;
static struct rec_recipients *rs;
static struct rec_key *key;

static const struct rec_meta meta = {
	.session_id = "6f1d8a0e-3c2b-4e5f-8a9b-0c1d2e3f4a5b",
	.engineer = "alice",
	.start_unix_ms = 1764276349123LL,
	.start_mono_ms = 5000,
};

static int
setup(void **state)
{
	const char *paths[1];
	char err[256];

	(void)state;
	if (tr_setup(&env) != 0)
		return -1;
	paths[0] = env.pub[0];
	if (rec_recipients_load(&rs, paths, 1, err, sizeof(err)) != 0 ||
	    rec_key_load(&key, env.priv[0], err, sizeof(err)) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rec_recipients_free(rs);
	rec_key_free(key);
	tr_teardown(&env);
	return 0;
}

static struct rec_writer *
wopen(const char *name, char *path)
{
	struct rec_writer *w;

	tr_path(&env, name, path, TR_PATH_MAX);
	(void)unlink(path);
	assert_int_equal(rec_writer_open(&w, path, rs, &meta), 0);
	return w;
}

static void
wclose(struct rec_writer *w)
{
	uint8_t sha[32];
	uint64_t size;

	assert_int_equal(
	    rec_writer_close(w, meta.start_mono_ms, sha, &size), 0);
}

static void
put(struct rec_writer *w, enum rec_event_type t, const char *s)
{
	assert_int_equal(
	    rec_writer_data(w, meta.start_mono_ms, t, s, strlen(s)), 0);
}

/* The recording's index (the reader kept in *r for the bitmap). */
static int
index_of(const char *path, struct rec_reader **r, struct rec_index *ix)
{
	assert_int_equal(rec_reader_open(r, path), 0);
	assert_int_equal(rec_reader_unlock(*r, key), 0);
	return rec_reader_index(*r, ix);
}

static int
may(const struct rec_index *ix, const char *s)
{
	return rec_index_may_match(ix, (const uint8_t *)s, strlen(s), 0);
}

/* It also reads in full as complete and authentic. */
static void
verify_all(const char *path)
{
	struct rec_reader *r;
	struct rec_event ev;
	int ret;

	assert_int_equal(rec_reader_open(&r, path), 0);
	assert_int_equal(rec_reader_unlock(r, key), 0);
	while ((ret = rec_reader_next(r, &ev)) == 1)
		;
	if (ret != 0)
		fail_msg("%s: %s", path, rec_reader_error(r));
	rec_reader_free(r);
}

static void
test_boundaries_and_streams(void **state)
{
	struct rec_writer *w;
	struct rec_reader *r;
	struct rec_index ix;
	char path[TR_PATH_MAX];

	(void)state;
	w = wopen("bound.pvr", path);
	put(w, REC_EV_OUTPUT, "the secr");
	assert_int_equal(rec_writer_flush(w), 0); /* a chunk ends here */
	put(w, REC_EV_STDERR,
	    "etword is \033[1mhere\033[0m\r\nnext line tailfoo");
	put(w, REC_EV_INPUT, "barhead ls -l /var/l");
	put(w, REC_EV_INPUT, "ib/pgsql\r");
	assert_int_equal(
	    rec_writer_exec(w, meta.start_mono_ms, "find / -name passwd", 19),
	    0);
	assert_true(rec_writer_chunks(w) >= 1);
	wclose(w);
	verify_all(path);
	assert_int_equal(index_of(path, &r, &ix), 0);
	assert_false(ix.saturated);
	assert_int_equal(ix.hashes, 2);
	/* across events, a sealed chunk, OUTPUT then STDERR, SGR dropped */
	assert_int_equal(may(&ix, "secretword"), 1);
	assert_int_equal(may(&ix, "word is here"), 1);
	assert_int_equal(may(&ix, "/var/lib/pgsql"), 1);
	assert_int_equal(may(&ix, "-name passwd"), 1);
	/* what grep never sees: across streams, lines, exec and escapes */
	assert_int_equal(may(&ix, "tailfoobar"), 0);
	assert_int_equal(may(&ix, "herenext"), 0);
	assert_int_equal(may(&ix, "pgsqlfind"), 0);
	assert_int_equal(may(&ix, "[1mhere"), 0);
	assert_int_equal(may(&ix, "nowhere at all"), 0);
	/* shorter than a trigram: the index cannot say */
	assert_int_equal(may(&ix, "zq"), 1);
	/* a small session's index is folded to a small bitmap */
	assert_true(ix.bits < REC_INDEX_BITS);
	assert_true(ix.set <= ix.bits / 4);
	rec_reader_free(r);
}

static void
test_case(void **state)
{
	struct rec_writer *w;
	struct rec_reader *r;
	struct rec_index ix;
	char path[TR_PATH_MAX];

	(void)state;
	w = wopen("case.pvr", path);
	put(w, REC_EV_OUTPUT, "Password: HeLLo-World \303\251T\303\211\n");
	wclose(w);
	assert_int_equal(index_of(path, &r, &ix), 0);
	assert_int_equal(may(&ix, "hello-world"), 1);
	assert_int_equal(may(&ix, "HELLO-WORLD"), 1);
	assert_int_equal(may(&ix, "HeLLo-WoRlD"), 1);
	assert_int_equal(may(&ix, "\303\251T\303\211"), 1);
	/* only ASCII is folded: a non-ASCII letter is compared as bytes */
	assert_int_equal(may(&ix, "\303\251t\303\251"), 0);
	assert_int_equal(rec_index_may_match(
			     &ix, (const uint8_t *)"\303\251t\303\251", 6, 1),
	    1);
	rec_reader_free(r);
}

static void
test_backspace(void **state)
{
	struct rec_writer *w;
	struct rec_reader *r;
	struct rec_index ix;
	char path[TR_PATH_MAX], *big;

	(void)state;
	w = wopen("bs.pvr", path);
	put(w, REC_EV_INPUT, "rm -rx\177f /old\r");
	put(w, REC_EV_OUTPUT, "caf\303\251\bx done\n");
	wclose(w);
	assert_int_equal(index_of(path, &r, &ix), 0);
	assert_int_equal(may(&ix, "rm -rf /old"), 1);
	assert_int_equal(may(&ix, "cafx done"), 1);
	rec_reader_free(r);

	/* backspaces past the bytes kept of a long line: gives up */
	big = malloc(2000);
	assert_non_null(big);
	memset(big, 'x', 1000);
	memset(big + 1000, '\b', 300);
	memcpy(big + 1300, "yz\n", 4);
	w = wopen("bs2.pvr", path);
	put(w, REC_EV_OUTPUT, big);
	wclose(w);
	free(big);
	verify_all(path);
	assert_int_equal(index_of(path, &r, &ix), 0);
	assert_true(ix.saturated);
	assert_null(ix.bitmap);
	assert_int_equal(may(&ix, "xxyz"), 1);
	rec_reader_free(r);
}

static void
test_saturation(void **state)
{
	struct rec_writer *w;
	struct rec_reader *r;
	struct rec_index ix;
	char path[TR_PATH_MAX];
	uint8_t *rnd;
	size_t i, n = 1024 * 1024;
	struct stat sb;

	(void)state;
	rnd = malloc(n);
	assert_non_null(rnd);
	assert_int_equal(pv_random_bytes(rnd, n), 0);
	w = wopen("rnd.pvr", path);
	for (i = 0; i < n; i += 32768)
		assert_int_equal(rec_writer_data(w, meta.start_mono_ms,
				     REC_EV_OUTPUT, rnd + i, 32768),
		    0);
	wclose(w);
	free(rnd);
	verify_all(path);
	assert_int_equal(index_of(path, &r, &ix), 0);
	if (!ix.saturated)
		fail_msg("%u of %u bits set", ix.set, ix.bits);
	assert_null(ix.bitmap);
	assert_int_equal(may(&ix, "anything"), 1);
	rec_reader_free(r);
	/* no bitmap in the file: random bytes stored raw, a little more */
	assert_int_equal(stat(path, &sb), 0);
	assert_true((size_t)sb.st_size < n + n / 50);
}

/*
 * Text that would never fill the bitmap (one line, over and over) still
 * stops being indexed past REC_INDEX_TEXT_MAX bytes: the recorder's CPU
 * for a large `cat` is bounded; below it the index stays.
 */
static void
test_text_cap(void **state)
{
	static const size_t sizes[] = { REC_INDEX_TEXT_MAX - 65536,
		REC_INDEX_TEXT_MAX + 65536 };
	struct rec_writer *w;
	struct rec_reader *r;
	struct rec_index ix;
	char path[TR_PATH_MAX], *line;
	size_t i, k, n = 65536;

	(void)state;
	line = malloc(n);
	assert_non_null(line);
	for (i = 0; i < n; i++)
		line[i] = "the same text\n"[i % 14];
	for (k = 0; k < 2; k++) {
		w = wopen("cap.pvr", path);
		for (i = 0; i < sizes[k]; i += n)
			assert_int_equal(rec_writer_data(w, meta.start_mono_ms,
					     REC_EV_OUTPUT, line, n),
			    0);
		wclose(w);
		assert_int_equal(index_of(path, &r, &ix), 0);
		if (k == 0) {
			assert_false(ix.saturated);
			assert_int_equal(may(&ix, "same text"), 1);
			assert_int_equal(may(&ix, "other"), 0);
		} else {
			assert_true(ix.saturated);
			assert_int_equal(may(&ix, "other"), 1);
		}
		rec_reader_free(r);
	}
	free(line);
}

static void
test_no_text(void **state)
{
	struct rec_writer *w;
	struct rec_reader *r;
	struct rec_index ix;
	struct rec_exit ex = { .kind = REC_EXIT_STATUS, .value = 0 };
	char path[TR_PATH_MAX];

	(void)state;
	w = wopen("notext.pvr", path);
	assert_int_equal(rec_writer_resize(w, meta.start_mono_ms, 80, 24), 0);
	assert_int_equal(rec_writer_exit(w, meta.start_mono_ms, &ex), 0);
	wclose(w);
	verify_all(path);
	assert_int_equal(index_of(path, &r, &ix), 0);
	assert_false(ix.saturated);
	assert_int_equal(ix.set, 0);
	assert_int_equal(may(&ix, "abc"), 0);
	rec_reader_free(r);
}

/*
 * Malformed INDEX events, in a chunk's plaintext given to the event
 * decoder (as if authentic): each refused with one clear reason.
 */
struct evbuf {
	uint8_t b[8192];
	size_t len;
	uint64_t n, out;
};

static void
ev_put(struct evbuf *e, uint8_t type, const void *p, size_t len)
{
	assert_true(e->len + 13 + len <= sizeof(e->b));
	e->b[e->len] = type;
	rec_put_be64(e->b + e->len + 1, 7);
	rec_put_be32(e->b + e->len + 9, (uint32_t)len);
	if (len > 0)
		memcpy(e->b + e->len + 13, p, len);
	e->len += 13 + len;
	if (type != REC_EV_END)
		e->n++;
	if (type == REC_EV_OUTPUT)
		e->out += len;
}

static void
ev_end(struct evbuf *e)
{
	uint8_t t[48] = { 0 };

	rec_put_be64(t, e->n);
	rec_put_be64(t + 8, e->out);
	rec_put_be64(t + 32, 1); /* chunks */
	rec_put_be64(t + 40, 7); /* duration = END's t */
	ev_put(e, REC_EV_END, t, sizeof(t));
}

/* An index payload: kind, version, hashes, flags, bits, set, bitmap. */
static size_t
ix_make(uint8_t *p, uint8_t kind, uint8_t ver, uint8_t hashes, uint8_t flags,
    uint32_t bits, uint32_t set, size_t maplen, uint8_t fill)
{
	p[0] = kind;
	p[1] = ver;
	p[2] = hashes;
	p[3] = flags;
	rec_put_be32(p + 4, bits);
	rec_put_be32(p + 8, set);
	memset(p + 12, fill, maplen);
	return 12 + maplen;
}

static void
test_malformed(void **state)
{
	static const struct {
		size_t maplen;
		const char *want; /* NULL: accepted */
		uint32_t bits, set;
		uint8_t kind, ver, hashes, flags, fill;
	} t[] = {
		{ 128, NULL, 1024, 0, 1, 1, 2, 0, 0 },
		{ 128, NULL, 1024, 1024, 1, 1, 2, 0, 0xff },
		{ 0, NULL, 4096, 3, 1, 1, 1, 1, 0 },
		{ 128, "unknown kind or version", 1024, 0, 2, 1, 2, 0, 0 },
		{ 128, "unknown kind or version", 1024, 0, 1, 2, 2, 0, 0 },
		{ 128, "out of range", 1024, 0, 1, 1, 0, 0, 0 },
		{ 128, "out of range", 1024, 0, 1, 1, 3, 0, 0 },
		{ 125, "out of range", 1000, 0, 1, 1, 2, 0, 0 },
		{ 64, "out of range", 512, 0, 1, 1, 2, 0, 0 },
		{ 0, "out of range", 1u << 23, 0, 1, 1, 2, 0, 0 },
		{ 128, "out of range", 1024, 0, 1, 1, 2, 2, 0 },
		{ 128, "out of range", 1024, 1025, 1, 1, 2, 0, 0xff },
		{ 128, "saturated index has a bitmap", 1024, 0, 1, 1, 2, 1, 0 },
		{ 127, "not bits / 8", 1024, 0, 1, 1, 2, 0, 0 },
		{ 129, "not bits / 8", 1024, 0, 1, 1, 2, 0, 0 },
		{ 128, "does not hold the bits", 1024, 5, 1, 1, 2, 0, 0 },
		{ 128, "does not hold the bits", 1024, 0, 1, 1, 2, 0, 1 },
	};
	struct evbuf e;
	uint8_t p[1024];
	char err[256];
	size_t i, n;
	int ret;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&e, 0, sizeof(e));
		n = ix_make(p, t[i].kind, t[i].ver, t[i].hashes, t[i].flags,
		    t[i].bits, t[i].set, t[i].maplen, t[i].fill);
		ev_put(&e, REC_EV_OUTPUT, "hi", 2);
		ev_put(&e, REC_EV_INDEX, p, n);
		ev_end(&e);
		ret = rec_reader_fuzz_events(e.b, e.len, 1, err, sizeof(err));
		if (t[i].want == NULL) {
			if (ret != 0)
				fail_msg("case %zu refused: %s", i, err);
			continue;
		}
		assert_int_equal(ret, PV_ERR_INVALID);
		if (strstr(err, t[i].want) == NULL ||
		    strncmp(err, "chunk 0 is malformed: bad index event", 37) !=
			0)
			fail_msg(
			    "case %zu: \"%s\", not \"%s\"", i, err, t[i].want);
	}
	/* short of its header */
	memset(&e, 0, sizeof(e));
	ev_put(&e, REC_EV_INDEX, p, 11);
	ev_end(&e);
	assert_int_equal(
	    rec_reader_fuzz_events(e.b, e.len, 1, err, sizeof(err)),
	    PV_ERR_INVALID);
	assert_non_null(strstr(err, "shorter than its header"));
	/* where it stands: the final chunk, right before END, once */
	n = ix_make(p, 1, 1, 2, 0, 1024, 0, 128, 0);
	memset(&e, 0, sizeof(e));
	ev_put(&e, REC_EV_INDEX, p, n);
	ev_put(&e, REC_EV_OUTPUT, "hi", 2);
	assert_int_equal(
	    rec_reader_fuzz_events(e.b, e.len, 0, err, sizeof(err)),
	    PV_ERR_INVALID);
	assert_non_null(strstr(err, "outside the final chunk"));
	memset(&e, 0, sizeof(e));
	ev_put(&e, REC_EV_INDEX, p, n);
	ev_put(&e, REC_EV_OUTPUT, "hi", 2);
	ev_end(&e);
	assert_int_equal(
	    rec_reader_fuzz_events(e.b, e.len, 1, err, sizeof(err)),
	    PV_ERR_INVALID);
	assert_non_null(strstr(err, "not right before the end"));
	memset(&e, 0, sizeof(e));
	ev_put(&e, REC_EV_INDEX, p, n);
	ev_put(&e, REC_EV_INDEX, p, n);
	ev_end(&e);
	assert_int_equal(
	    rec_reader_fuzz_events(e.b, e.len, 1, err, sizeof(err)),
	    PV_ERR_INVALID);
}

/*
 * The fast path keeps the reader's checks: a flipped byte in the final
 * chunk, the final chunk cut or followed by bytes, no final chunk.
 */
static void
test_fast_path_checks(void **state)
{
	struct rec_writer *w;
	struct rec_reader *r;
	struct rec_index ix;
	char path[TR_PATH_MAX], bad[TR_PATH_MAX];
	uint8_t *d;
	size_t len, offs[16], nch;
	FILE *f;

	(void)state;
	w = wopen("fast.pvr", path);
	put(w, REC_EV_OUTPUT, "first chunk\n");
	assert_int_equal(rec_writer_flush(w), 0);
	put(w, REC_EV_OUTPUT, "second chunk\n");
	wclose(w);
	assert_int_equal(pv_file_read(path, 1 << 20, &d, &len), 0);
	nch = tr_chunk_offsets(d, len, offs, 16);
	assert_int_equal(nch, 2);
	tr_path(&env, "fast-bad.pvr", bad, sizeof(bad));
	/* a byte of the final chunk's ciphertext */
	d[offs[1] + 9] ^= 1;
	assert_int_equal(pv_file_write_new(bad, 0600, d, len), 0);
	assert_int_equal(index_of(bad, &r, &ix), PV_ERR_AUTH);
	assert_non_null(strstr(rec_reader_error(r), "chunk 1 fails auth"));
	rec_reader_free(r);
	d[offs[1] + 9] ^= 1;
	/* the final flag moved to chunk 0: its AAD no longer matches */
	d[offs[0]] |= 1;
	(void)unlink(bad);
	assert_int_equal(pv_file_write_new(bad, 0600, d, len), 0);
	assert_int_equal(index_of(bad, &r, &ix), PV_ERR_INVALID);
	rec_reader_free(r);
	d[offs[0]] &= 0xfe;
	/* cut short, and trailing bytes */
	(void)unlink(bad);
	assert_int_equal(pv_file_write_new(bad, 0600, d, len - 1), 0);
	assert_int_equal(index_of(bad, &r, &ix), PV_ERR_INCOMPLETE);
	rec_reader_free(r);
	(void)unlink(bad);
	assert_int_equal(pv_file_write_new(bad, 0600, d, offs[1]), 0);
	assert_int_equal(index_of(bad, &r, &ix), PV_ERR_INCOMPLETE);
	assert_non_null(strstr(rec_reader_error(r), "no final chunk"));
	rec_reader_free(r);
	(void)unlink(bad);
	assert_non_null(f = fopen(bad, "w"));
	assert_int_equal(fwrite(d, 1, len, f), len);
	assert_int_equal(fputc('x', f), 'x');
	assert_int_equal(fclose(f), 0);
	assert_int_equal(index_of(bad, &r, &ix), PV_ERR_INVALID);
	assert_non_null(strstr(rec_reader_error(r), "trailing bytes"));
	rec_reader_free(r);
	free(d);
	/* the reader reads no events once it read the index */
	assert_int_equal(index_of(path, &r, &ix), 0);
	{
		struct rec_event ev;

		assert_true(rec_reader_next(r, &ev) < 0);
	}
	rec_reader_free(r);
}

/*
 * No false negative: the lines provost-replay grep forms (an independent
 * copy of its rules: the escape filter per stream, newline ends a line,
 * backspace erases a character, lines cut at 64 KiB, an exec command a
 * line of its own) of randomized sessions written in random pieces and
 * chunks; every substring of 3 to 16 bytes of a line, in either case,
 * must pass the index.
 */
#define ORACLE_LINE_MAX 65536

struct oracle {
	struct rec_escape *esc[2];
	struct pv_buf *cur[2];
	char **lines;
	size_t n, cap;
};

static void
oracle_done(struct oracle *o, int s)
{
	size_t len = pv_buf_len(o->cur[s]);

	if (o->n == o->cap) {
		o->cap = o->cap ? 2 * o->cap : 64;
		o->lines = reallocarray(o->lines, o->cap, sizeof(char *));
		assert_non_null(o->lines);
	}
	o->lines[o->n] = malloc(len + 1);
	assert_non_null(o->lines[o->n]);
	memcpy(o->lines[o->n], pv_buf_ptr(o->cur[s]), len);
	o->lines[o->n++][len] = '\0';
	pv_buf_reset(o->cur[s]);
}

static void
oracle_feed(struct oracle *o, int s, const uint8_t *d, size_t len, int fin)
{
	struct pv_buf *t = pv_buf_new(0);
	const uint8_t *p;
	size_t i, n;

	assert_non_null(t);
	assert_int_equal(rec_escape_filter(o->esc[s], d, len, t), 0);
	if (fin)
		assert_int_equal(rec_escape_finish(o->esc[s], t), 0);
	p = pv_buf_ptr(t);
	for (i = 0; i < pv_buf_len(t); i++) {
		if (p[i] == '\n' || pv_buf_len(o->cur[s]) >= ORACLE_LINE_MAX) {
			oracle_done(o, s);
			if (p[i] == '\n')
				continue;
		}
		if (p[i] == '\b') {
			n = pv_buf_len(o->cur[s]);
			while (n > 0 &&
			    (pv_buf_ptr(o->cur[s])[n - 1] & 0xc0) == 0x80)
				n--;
			if (n > 0)
				n--;
			(void)pv_buf_consume_end(
			    o->cur[s], pv_buf_len(o->cur[s]) - n);
			continue;
		}
		assert_int_equal(pv_buf_put_u8(o->cur[s], p[i]), 0);
	}
	if (fin && pv_buf_len(o->cur[s]) > 0)
		oracle_done(o, s);
	else if (fin)
		pv_buf_reset(o->cur[s]);
	pv_buf_free(t);
}

static void
oracle_read(const char *path, struct oracle *o)
{
	struct rec_reader *r;
	struct rec_event ev;
	int ret, exec_open = 0, s;

	assert_int_equal(rec_reader_open(&r, path), 0);
	assert_int_equal(rec_reader_unlock(r, key), 0);
	while ((ret = rec_reader_next(r, &ev)) == 1) {
		if (exec_open && ev.type != REC_EV_EXEC_MORE) {
			exec_open = 0;
			oracle_feed(o, 1, NULL, 0, 1);
		}
		if (ev.type == REC_EV_OUTPUT || ev.type == REC_EV_STDERR)
			oracle_feed(o, 0, ev.data, ev.len, 0);
		else if (ev.type == REC_EV_INPUT)
			oracle_feed(o, 1, ev.data, ev.len, 0);
		else if (ev.type == REC_EV_EXEC ||
		    ev.type == REC_EV_EXEC_MORE) {
			if (ev.type == REC_EV_EXEC)
				oracle_feed(o, 1, NULL, 0, 1);
			exec_open = 1;
			oracle_feed(o, 1, ev.data, ev.len, 0);
		}
	}
	assert_int_equal(ret, 0);
	for (s = 0; s < 2; s++)
		oracle_feed(o, s, NULL, 0, 1);
	rec_reader_free(r);
}

static uint64_t rng;

static uint32_t
rnd(uint32_t n)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng >> 33) % n;
}

/* A piece of terminal traffic: words, escapes, controls, UTF-8, junk. */
static size_t
gen_piece(uint8_t *p, size_t max)
{
	static const char *const bits[] = { "rm -rf ", "/var/lib/pgsql",
		"Password", "SELECT * FROM users;", "\033[1;31m", "\033[0m",
		"\033]0;title\007", "\033]52;c;aGk=\033\\", "\r\n", "\n", "\r",
		"\b", "\177", "\t", "caf\303\251 ", "\344\270\255\346\226\207",
		"\377", "\303", "\033", "\033[", "ls -l ", "sudo ", "DROP ",
		"export KEY=abc ", "\342\200\256", "\033(B", "x", "Y" };
	size_t len = 0, k, n = 1 + rnd(40);

	while (n-- > 0) {
		if (rnd(4) == 0) {
			/* random letters, digits and punctuation */
			k = 1 + rnd(12);
			while (k-- > 0 && len < max)
				p[len++] = (uint8_t)(0x21 + rnd(94));
			continue;
		}
		const char *b = bits[rnd(sizeof(bits) / sizeof(bits[0]))];

		k = strlen(b);
		if (len + k > max)
			break;
		memcpy(p + len, b, k);
		len += k;
	}
	return len;
}

static void
test_no_false_negative(void **state)
{
	struct rec_writer *w;
	struct rec_reader *r;
	struct rec_index ix;
	struct oracle o;
	char path[TR_PATH_MAX], sub[17];
	uint8_t piece[4096];
	uint64_t checked = 0;
	size_t i, j, n, len, at, k;
	int seed, s;

	(void)state;
	for (seed = 1; seed <= 24; seed++) {
		rng = (uint64_t)seed * 0x9e3779b97f4a7c15ull;
		w = wopen("rand.pvr", path);
		n = 50 + rnd(400);
		for (i = 0; i < n; i++) {
			len = gen_piece(piece, sizeof(piece));
			switch (rnd(8)) {
			case 0:
				assert_int_equal(
				    rec_writer_exec(
					w, meta.start_mono_ms, piece, len),
				    0);
				break;
			case 1:
			case 2:
				assert_int_equal(
				    rec_writer_data(w, meta.start_mono_ms,
					REC_EV_INPUT, piece, len),
				    0);
				break;
			default:
				assert_int_equal(
				    rec_writer_data(w, meta.start_mono_ms,
					rnd(5) ? REC_EV_OUTPUT : REC_EV_STDERR,
					piece, len),
				    0);
			}
			if (rnd(10) == 0) /* a chunk boundary here */
				assert_int_equal(rec_writer_flush(w), 0);
		}
		wclose(w);
		memset(&o, 0, sizeof(o));
		for (s = 0; s < 2; s++) {
			assert_non_null(
			    o.esc[s] = rec_escape_new(REC_ESC_TEXT));
			assert_non_null(o.cur[s] = pv_buf_new(0));
		}
		oracle_read(path, &o);
		assert_int_equal(index_of(path, &r, &ix), 0);
		if (ix.saturated)
			fail_msg("seed %d: the index saturated", seed);
		for (i = 0; i < o.n; i++) {
			len = strlen(o.lines[i]);
			for (k = 0; len >= 3 && k < 8; k++) {
				n = 3 + rnd(14);
				if (n > len)
					n = len;
				at = rnd((uint32_t)(len - n + 1));
				memcpy(sub, o.lines[i] + at, n);
				sub[n] = '\0';
				if (rec_index_may_match(
					&ix, (const uint8_t *)sub, n, 0) != 1)
					fail_msg("seed %d: \"%s\" (from line "
						 "\"%s\") is not in the index",
					    seed, sub, o.lines[i]);
				for (j = 0; j < n; j++) /* other case */
					if (sub[j] >= 'a' && sub[j] <= 'z')
						sub[j] = (char)(sub[j] - 32);
				assert_int_equal(
				    rec_index_may_match(
					&ix, (const uint8_t *)sub, n, 0),
				    1);
				checked++;
			}
			free(o.lines[i]);
		}
		free(o.lines);
		for (s = 0; s < 2; s++) {
			rec_escape_free(o.esc[s]);
			pv_buf_free(o.cur[s]);
		}
		rec_reader_free(r);
	}
	print_message(
	    "%llu substrings of lines found\n", (unsigned long long)checked);
	assert_true(checked > 10000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boundaries_and_streams),
		cmocka_unit_test(test_case),
		cmocka_unit_test(test_backspace),
		cmocka_unit_test(test_saturation),
		cmocka_unit_test(test_text_cap),
		cmocka_unit_test(test_no_text),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_fast_path_checks),
		cmocka_unit_test(test_no_false_negative),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
