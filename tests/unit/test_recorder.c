/*
 * test_recorder.c: the recorder's writer and reader: format version against
 * the doc, round trip of every event, recipients, chunking, file handling.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/common.h"
#include "recorder/recorder.h"
#include "tests/unit/test_recorder_util.h"

static struct tr_env env;

static const struct rec_meta meta = {
	.session_id = "0b7c3a52-6a4e-4f0e-9a57-3d2f1c0e8b11",
	.engineer = "alice",
	.provider = "netco",
	.target = "db01",
	.account = "postgres",
	.client = "192.0.2.7",
	.term = "xterm-256color",
	.cols = 120,
	.rows = 40,
	.start_unix_ms = 1764276349123LL,
	.start_mono_ms = 100000,
};

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

static struct rec_recipients *
load_rcpts(const int *idx, size_t n)
{
	struct rec_recipients *rs = NULL;
	const char *paths[4];
	char err[256];
	size_t i;

	for (i = 0; i < n; i++)
		paths[i] = env.pub[idx[i]];
	assert_int_equal(
	    rec_recipients_load(&rs, paths, n, err, sizeof(err)), 0);
	return rs;
}

static void
slurp(const char *path, uint8_t **d, size_t *len)
{
	assert_int_equal(pv_file_read(path, 64 * 1024 * 1024, d, len), 0);
}

/* The doc states "Format version: **N**"; the code must write N. */
static void
test_format_version(void **state)
{
	uint8_t *doc, *rec;
	size_t dlen, rlen;
	const char *p;
	char path[TR_PATH_MAX], docpath[1024], *text, *end;
	int docver, bin;
	json_t *j;
	int idx[] = { 0 };

	(void)state;
	/* make check exports top_srcdir (Makefile.am AM_TESTS_ENVIRONMENT). */
	assert_non_null(getenv("top_srcdir"));
	assert_true(
	    snprintf(docpath, sizeof(docpath), "%s/docs/recording-format.md",
		getenv("top_srcdir")) < (int)sizeof(docpath));
	slurp(docpath, &doc, &dlen);
	text = calloc(1, dlen + 1);
	assert_non_null(text);
	memcpy(text, doc, dlen);
	p = strstr(text, "Format version: **");
	assert_non_null(p);
	docver = (int)strtol(p + strlen("Format version: **"), &end, 10);
	assert_memory_equal(end, "**", 2);
	assert_int_equal(docver, REC_FORMAT_VERSION);
	tr_path(&env, "version.pvr", path, sizeof(path));
	assert_int_equal(tr_write_sample(&env, path, idx, 1, 1), 0);
	slurp(path, &rec, &rlen);
	assert_memory_equal(rec, "\x89PVR\r\n\x1a\n", 8);
	bin = (rec[8] << 8) | rec[9];
	assert_int_equal(bin, docver);
	j = json_loadb(
	    (const char *)rec + 14, rlen - 14, JSON_DISABLE_EOF_CHECK, NULL);
	assert_non_null(j);
	assert_int_equal(
	    json_integer_value(json_object_get(j, "version")), docver);
	json_decref(j);
	free(doc);
	free(text);
	free(rec);
	unlink(path);
}

static void
test_roundtrip(void **state)
{
	int idx[] = { 0 };
	struct rec_recipients *rs = load_rcpts(idx, 1);
	struct rec_writer *w;
	struct rec_reader *r;
	struct rec_key *k;
	struct rec_event ev;
	struct rec_file f = {
		.op = REC_FILE_PUT,
		.direction = REC_DIR_UPLOAD,
		.result = 0,
		.bytes = 12345,
		.path = "/etc/motd",
	};
	struct rec_file f2 = {
		.op = REC_FILE_RENAME,
		.direction = REC_DIR_NONE,
		.result = 4,
		.path = "/tmp/a",
		.path2 = "/tmp/b",
	};
	struct rec_exit ex = {
		.kind = REC_EXIT_SIGNAL, .value = 15, .signame = "TERM"
	};
	uint8_t h[32], fh[32], *data, *big;
	uint64_t size;
	size_t len, i, bigseen = 0;
	char path[TR_PATH_MAX], err[256];
	uint16_t c, rr;
	struct stat st;
	int n = 0;

	(void)state;
	memset(f.sha256, 0xab, 32);
	big = malloc(200000);
	assert_non_null(big);
	for (i = 0; i < 200000; i++)
		big[i] = (uint8_t)(i * 7);
	tr_path(&env, "rt.pvr", path, sizeof(path));
	assert_int_equal(rec_writer_open(&w, path, rs, &meta), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(rec_writer_exec(w, 100010, "uptime", 6), 0);
	assert_int_equal(rec_writer_resize(w, 100020, 132, 43), 0);
	assert_int_equal(
	    rec_writer_data(w, 100030, REC_EV_INPUT, "ls\r", 3), 0);
	assert_int_equal(
	    rec_writer_data(w, 100040, REC_EV_OUTPUT, "a\0b\r\n", 5), 0);
	assert_int_equal(
	    rec_writer_data(w, 100050, REC_EV_STDERR, "oops\n", 5), 0);
	assert_int_equal(rec_writer_subsystem(w, 100060, "sftp"), 0);
	assert_int_equal(rec_writer_file(w, 100070, &f), 0);
	assert_int_equal(rec_writer_file(w, 100075, &f2), 0);
	/* Time going backwards is clamped, never written decreasing. */
	assert_int_equal(
	    rec_writer_data(w, 100000, REC_EV_OUTPUT, big, 200000), 0);
	assert_int_equal(rec_writer_exit(w, 100090, &ex), 0);
	/* Invalid arguments are refused without failing the writer. */
	assert_int_equal(
	    rec_writer_data(w, 100090, REC_EV_RESIZE, "x", 1), PV_ERR_INVALID);
	assert_int_equal(rec_writer_subsystem(w, 100090, ""), PV_ERR_RANGE);
	assert_int_equal(rec_writer_close(w, 101000, h, &size), 0);

	slurp(path, &data, &len);
	assert_int_equal(len, size);
	assert_int_equal(
	    EVP_Digest(data, len, fh, NULL, EVP_sha256(), NULL), 1);
	assert_memory_equal(h, fh, 32);

	assert_int_equal(rec_key_load(&k, env.priv[0], err, sizeof(err)), 0);
	assert_int_equal(rec_reader_open(&r, path), 0);
	assert_non_null(
	    strstr(rec_reader_header_json(r), "\"engineer\":\"alice\""));
	assert_int_equal(rec_reader_header_size(r, &c, &rr), 0);
	assert_int_equal(c, 120);
	assert_int_equal(rr, 40);
	assert_true(rec_reader_start_ms(r) == 1764276349123LL);
	assert_int_equal(rec_reader_unlock(r, k), 0);
	while (rec_reader_next(r, &ev) == 1) {
		switch (n++) {
		case 0:
			assert_int_equal(ev.type, REC_EV_EXEC);
			assert_int_equal(ev.t_ms, 10);
			assert_int_equal(ev.len, 6);
			assert_memory_equal(ev.data, "uptime", 6);
			break;
		case 1:
			assert_int_equal(ev.type, REC_EV_RESIZE);
			assert_int_equal(ev.cols, 132);
			assert_int_equal(ev.rows, 43);
			break;
		case 2:
			assert_int_equal(ev.type, REC_EV_INPUT);
			assert_memory_equal(ev.data, "ls\r", 3);
			break;
		case 3:
			assert_int_equal(ev.type, REC_EV_OUTPUT);
			assert_int_equal(ev.len, 5);
			assert_memory_equal(ev.data, "a\0b\r\n", 5);
			break;
		case 4:
			assert_int_equal(ev.type, REC_EV_STDERR);
			assert_int_equal(ev.t_ms, 50);
			break;
		case 5:
			assert_int_equal(ev.type, REC_EV_SUBSYSTEM);
			assert_memory_equal(ev.data, "sftp", 4);
			break;
		case 6:
			assert_int_equal(ev.type, REC_EV_FILE);
			assert_int_equal(ev.file.op, REC_FILE_PUT);
			assert_int_equal(ev.file.direction, REC_DIR_UPLOAD);
			assert_int_equal(ev.file.bytes, 12345);
			assert_string_equal(ev.file.path, "/etc/motd");
			assert_string_equal(ev.file.path2, "");
			assert_int_equal(ev.file.sha256[31], 0xab);
			break;
		case 7:
			assert_int_equal(ev.file.op, REC_FILE_RENAME);
			assert_int_equal(ev.file.result, 4);
			assert_string_equal(ev.file.path2, "/tmp/b");
			break;
		case 8:
		case 9:
		case 10:
			/* 200000 bytes split into events of at most 64 KiB. */
			assert_int_equal(ev.type, REC_EV_OUTPUT);
			assert_int_equal(ev.t_ms, 75);
			assert_int_equal(ev.len, 65536);
			assert_memory_equal(ev.data, big + bigseen, ev.len);
			bigseen += ev.len;
			break;
		case 11:
			assert_int_equal(ev.len, 200000 - 3 * 65536);
			assert_memory_equal(ev.data, big + bigseen, ev.len);
			break;
		case 12:
			assert_int_equal(ev.type, REC_EV_EXIT);
			assert_int_equal(ev.exit.kind, REC_EXIT_SIGNAL);
			assert_int_equal(ev.exit.value, 15);
			assert_string_equal(ev.exit.signame, "TERM");
			break;
		case 13:
			assert_int_equal(ev.type, REC_EV_END);
			assert_int_equal(ev.t_ms, 1000);
			/* 13 returned, and the INDEX event (skipped) */
			assert_int_equal(ev.totals.events, 14);
			assert_int_equal(ev.totals.input_bytes, 3);
			assert_int_equal(ev.totals.output_bytes, 200005);
			assert_int_equal(ev.totals.stderr_bytes, 5);
			assert_int_equal(ev.totals.duration_ms, 1000);
			assert_int_equal(
			    ev.totals.chunks, rec_reader_chunks(r));
			break;
		default:
			fail_msg("too many events");
		}
	}
	assert_int_equal(n, 14);
	assert_int_equal(rec_reader_next(r, &ev), 0);
	assert_string_equal(rec_reader_error(r), "");
	rec_reader_free(r);
	rec_key_free(k);
	rec_recipients_free(rs);
	free(data);
	free(big);
	unlink(path);
}

static void
test_recipients(void **state)
{
	int idx[] = { 0, 2 };
	char path[TR_PATH_MAX], err[256];
	struct rec_recipients *rs = NULL;
	const char *bad[2];
	uint8_t *d;
	size_t len;
	uint64_t n;

	(void)state;
	tr_path(&env, "multi.pvr", path, sizeof(path));
	assert_int_equal(tr_write_sample(&env, path, idx, 2, 2), 0);
	slurp(path, &d, &len);
	/* Each recipient's key opens it (X25519 and RSA-OAEP) ... */
	assert_int_equal(tr_read_all(&env, d, len, 0, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 7);
	assert_int_equal(tr_read_all(&env, d, len, 2, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 7);
	/* ... and a third does not. */
	assert_int_equal(tr_read_all(&env, d, len, 1, &n, err, sizeof(err)),
	    PV_ERR_NOT_FOUND);
	assert_string_equal(err, "no recipient matches this key");
	assert_int_equal(n, 0);
	free(d);
	unlink(path);

	/* Load errors name the file and the reason. */
	bad[0] = env.rsa2048_pub;
	assert_int_not_equal(
	    rec_recipients_load(&rs, bad, 1, err, sizeof(err)), 0);
	assert_null(rs);
	assert_non_null(strstr(err, "3072"));
	bad[0] = env.priv[0]; /* a private key is not a recipient */
	assert_int_equal(
	    rec_recipients_load(&rs, bad, 1, err, sizeof(err)), PV_ERR_INVALID);
	bad[0] = "/nonexistent/key.pub";
	assert_int_not_equal(
	    rec_recipients_load(&rs, bad, 1, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "/nonexistent/key.pub"));
	bad[0] = bad[1] = env.pub[0];
	assert_int_equal(
	    rec_recipients_load(&rs, bad, 2, err, sizeof(err)), PV_ERR_EXISTS);
	assert_int_equal(
	    rec_recipients_load(&rs, bad, 0, err, sizeof(err)), PV_ERR_INVALID);
}

/* Chunks are sealed at 64 KiB, at 1 s by append or tick, and on flush. */
static void
test_chunking(void **state)
{
	int idx[] = { 0 };
	struct rec_recipients *rs = load_rcpts(idx, 1);
	struct rec_writer *w;
	char path[TR_PATH_MAX], err[256], buf[4096];
	uint8_t *d;
	size_t len, offs[64];
	uint64_t n;
	int i;

	(void)state;
	memset(buf, 'x', sizeof(buf));
	tr_path(&env, "chunks.pvr", path, sizeof(path));
	assert_int_equal(rec_writer_open(&w, path, rs, &meta), 0);
	assert_int_equal(rec_writer_next_tick_ms(w, 100000), -1);
	/* 15 x 4 KiB + headers stays under 64 KiB: nothing sealed yet. */
	for (i = 0; i < 15; i++)
		assert_int_equal(
		    rec_writer_data(w, 100000, REC_EV_OUTPUT, buf, sizeof(buf)),
		    0);
	assert_int_equal(rec_writer_chunks(w), 0);
	/* The 16th crosses 64 KiB: chunk 0 is sealed. */
	assert_int_equal(
	    rec_writer_data(w, 100000, REC_EV_OUTPUT, buf, sizeof(buf)), 0);
	assert_int_equal(rec_writer_chunks(w), 1);
	/* One small event, then the tick before and after 1 s. */
	assert_int_equal(rec_writer_data(w, 100500, REC_EV_INPUT, "q", 1), 0);
	assert_int_equal(rec_writer_next_tick_ms(w, 100600), 900);
	assert_int_equal(rec_writer_tick(w, 101499), 0);
	assert_int_equal(rec_writer_chunks(w), 1);
	assert_int_equal(rec_writer_tick(w, 101500), 0);
	assert_int_equal(rec_writer_chunks(w), 2);
	assert_int_equal(rec_writer_next_tick_ms(w, 101500), -1);
	/* An append 1 s after the chunk's first event seals it too. */
	assert_int_equal(rec_writer_data(w, 102000, REC_EV_INPUT, "a", 1), 0);
	assert_int_equal(rec_writer_data(w, 103000, REC_EV_INPUT, "b", 1), 0);
	assert_int_equal(rec_writer_chunks(w), 3);
	/* Flush with nothing buffered only waits for the disk. */
	assert_int_equal(rec_writer_flush(w), 0);
	assert_int_equal(rec_writer_chunks(w), 3);
	slurp(path, &d, &len);
	assert_int_equal(tr_chunk_offsets(d, len, offs, 64), 3);
	/* What is on disk reads back as incomplete, every event there. */
	assert_int_equal(tr_read_all(&env, d, len, 0, &n, err, sizeof(err)),
	    PV_ERR_INCOMPLETE);
	assert_int_equal(n, 19);
	assert_string_equal(
	    err, "incomplete: 3 chunks, no end event; last event at 00:00:03");
	free(d);
	rec_writer_free(w);
	rec_recipients_free(rs);
	unlink(path);
}

/*
 * Random bytes are stored as raw zstd blocks (no match search) and read
 * back intact; text and a chunk half random, half text are still
 * compressed.
 */
static void
test_incompressible(void **state)
{
	int idx[] = { 0 };
	struct rec_recipients *rs = load_rcpts(idx, 1);
	struct rec_writer *w;
	struct rec_reader *r;
	struct rec_key *k;
	struct rec_event ev;
	char path[TR_PATH_MAX], err[256];
	uint8_t *in, *got, sha[32];
	const size_t part = 262144, n = 3 * part;
	size_t off = 0, i;
	uint64_t size;
	int ret;

	(void)state;
	in = malloc(n);
	got = malloc(n);
	assert_non_null(in);
	assert_non_null(got);
	/* random | text | 64 KiB pieces of 32 KiB random + 32 KiB text */
	assert_int_equal(pv_random_bytes(in, part), 0);
	for (i = 0; i < part; i++)
		in[part + i] = (uint8_t)("usr/share/doc/\n"[i % 15]);
	for (i = 0; i < part; i += 65536) {
		assert_int_equal(pv_random_bytes(in + 2 * part + i, 32768), 0);
		memset(in + 2 * part + i + 32768, 'a' + (int)(i >> 16), 32768);
	}
	tr_path(&env, "raw.pvr", path, sizeof(path));
	assert_int_equal(rec_writer_open(&w, path, rs, &meta), 0);
	for (i = 0; i < n; i += 16384)
		assert_int_equal(rec_writer_data(w, meta.start_mono_ms,
				     REC_EV_OUTPUT, in + i, 16384),
		    0);
	assert_int_equal(
	    rec_writer_close(w, meta.start_mono_ms, sha, &size), 0);
	/*
	 * random stored (+ overhead), text and the mixed part shrunk; the
	 * search index of the random text (up to 64 KiB) comes on top
	 */
	assert_true(size > part);
	assert_true(size < part + part / 2 + 4096 + 65536 + 32);
	assert_int_equal(rec_key_load(&k, env.priv[0], err, sizeof(err)), 0);
	assert_int_equal(rec_reader_open(&r, path), 0);
	assert_int_equal(rec_reader_unlock(r, k), 0);
	while ((ret = rec_reader_next(r, &ev)) == 1) {
		if (ev.type != REC_EV_OUTPUT)
			continue;
		assert_true(off + ev.len <= n);
		memcpy(got + off, ev.data, ev.len);
		off += ev.len;
	}
	assert_int_equal(ret, 0);
	assert_int_equal(off, n);
	assert_memory_equal(got, in, n);
	rec_reader_free(r);
	rec_key_free(k);
	free(in);
	free(got);
	rec_recipients_free(rs);
	unlink(path);
}

/*
 * A command longer than one event holds (sshd takes up to its 256 KiB
 * packet) is recorded whole: EXEC with the first 65536 bytes, EXEC_MORE
 * pieces right after it; past REC_EXEC_MAX it is refused.
 */
static void
test_long_exec(void **state)
{
	int idx[] = { 0 };
	struct rec_recipients *rs = load_rcpts(idx, 1);
	struct rec_writer *w;
	struct rec_reader *r;
	struct rec_key *k;
	struct rec_event ev;
	char path[TR_PATH_MAX], err[256];
	const size_t n = 200000;
	uint8_t *cmd, *got, sha[32];
	size_t off = 0, i, pieces = 0;
	uint64_t size;
	int ret;

	(void)state;
	cmd = malloc(n);
	got = malloc(n);
	assert_non_null(cmd);
	assert_non_null(got);
	for (i = 0; i < n; i++)
		cmd[i] = (uint8_t)("echo abcdefgh; "[i % 15]);
	tr_path(&env, "longexec.pvr", path, sizeof(path));
	assert_int_equal(rec_writer_open(&w, path, rs, &meta), 0);
	assert_int_equal(rec_writer_exec(w, meta.start_mono_ms, cmd, n), 0);
	assert_int_equal(
	    rec_writer_exec(w, meta.start_mono_ms, cmd, 1024 * 1024 + 1),
	    PV_ERR_RANGE);
	assert_int_equal(
	    rec_writer_data(w, meta.start_mono_ms + 1, REC_EV_OUTPUT, "ok", 2),
	    0);
	assert_int_equal(
	    rec_writer_close(w, meta.start_mono_ms + 2, sha, &size), 0);
	assert_int_equal(rec_key_load(&k, env.priv[0], err, sizeof(err)), 0);
	assert_int_equal(rec_reader_open(&r, path), 0);
	assert_int_equal(rec_reader_unlock(r, k), 0);
	while ((ret = rec_reader_next(r, &ev)) == 1) {
		if (ev.type != REC_EV_EXEC && ev.type != REC_EV_EXEC_MORE)
			continue;
		assert_int_equal(
		    ev.type, pieces == 0 ? REC_EV_EXEC : REC_EV_EXEC_MORE);
		assert_true(ev.len <= 65536 && off + ev.len <= n);
		memcpy(got + off, ev.data, ev.len);
		off += ev.len;
		pieces++;
	}
	assert_int_equal(ret, 0);
	assert_int_equal(pieces, 4);
	assert_int_equal(off, n);
	assert_memory_equal(got, cmd, n);
	rec_reader_free(r);
	rec_key_free(k);
	free(cmd);
	free(got);
	rec_recipients_free(rs);
	unlink(path);
}

static void
test_files(void **state)
{
	int idx[] = { 0 };
	struct rec_recipients *rs = load_rcpts(idx, 1);
	struct rec_writer *w;
	char path[TR_PATH_MAX], link[TR_PATH_MAX], err[256];
	uint8_t h[32], *d;
	uint64_t size, n;
	size_t len;
	int fd, full;

	(void)state;
	tr_path(&env, "exists.pvr", path, sizeof(path));
	assert_int_equal(pv_file_write_new(path, 0600, "x", 1), 0);
	assert_int_equal(rec_writer_open(&w, path, rs, &meta), PV_ERR_EXISTS);
	assert_null(w);
	tr_path(&env, "link.pvr", link, sizeof(link));
	assert_int_equal(symlink("/nonexistent-target", link), 0);
	assert_int_not_equal(rec_writer_open(&w, link, rs, &meta), 0);
	assert_int_equal(access("/nonexistent-target", F_OK), -1);
	unlink(path);
	unlink(link);

	/* From an fd opened elsewhere (the monitor's way). */
	tr_path(&env, "fd.pvr", path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(rec_writer_open_fd(&w, fd, rs, &meta), 0);
	assert_int_equal(rec_writer_data(w, 100001, REC_EV_OUTPUT, "hi", 2), 0);
	assert_int_equal(rec_writer_close(w, 100002, h, &size), 0);
	slurp(path, &d, &len);
	assert_int_equal(len, size);
	assert_int_equal(tr_read_all(&env, d, len, 0, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	free(d);
	unlink(path);

	/* A write error is returned, and again on every later call. */
	tr_path(&env, "full.pvr", path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(rec_writer_open_fd(&w, fd, rs, &meta), 0);
	full = open("/dev/full", O_WRONLY);
	if (full >= 0) {
		assert_int_equal(dup2(full, fd), fd);
		close(full);
		assert_int_equal(
		    rec_writer_data(w, 100001, REC_EV_OUTPUT, "hi", 2), 0);
		assert_int_equal(rec_writer_flush(w), PV_ERR_IO);
		assert_int_equal(
		    rec_writer_data(w, 100001, REC_EV_OUTPUT, "hi", 2),
		    PV_ERR_IO);
		assert_int_equal(rec_writer_tick(w, 200000), PV_ERR_IO);
		assert_int_equal(
		    rec_writer_close(w, 100002, h, &size), PV_ERR_IO);
	} else
		rec_writer_free(w);
	unlink(path);
	rec_recipients_free(rs);
}

/* One recipient set shared by several live writers (the monitor's way). */
static void
test_shared_recipients(void **state)
{
	int idx[] = { 0, 3 };
	struct rec_recipients *rs = load_rcpts(idx, 2);
	struct rec_writer *w[3];
	char path[3][TR_PATH_MAX], name[32], err[256], line[32];
	uint8_t h[32], *d[3];
	size_t len[3], i, j;
	uint64_t size, n;

	(void)state;
	assert_int_equal(rec_recipients_count(rs), 2);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "shared%zu.pvr", i);
		tr_path(&env, name, path[i], sizeof(path[i]));
		assert_int_equal(rec_writer_open(&w[i], path[i], rs, &meta), 0);
	}
	for (j = 0; j < 50; j++) {
		for (i = 0; i < 3; i++) {
			snprintf(line, sizeof(line), "w%zu line %zu\n", i, j);
			assert_int_equal(rec_writer_data(w[i], 100000 + j,
					     REC_EV_OUTPUT, line, strlen(line)),
			    0);
		}
	}
	for (i = 0; i < 3; i++) {
		assert_int_equal(rec_writer_close(w[i], 100100, h, &size), 0);
		slurp(path[i], &d[i], &len[i]);
		assert_int_equal(
		    tr_read_all(&env, d[i], len[i], 0, &n, err, sizeof(err)),
		    0);
		assert_int_equal(n, 51);
		assert_int_equal(
		    tr_read_all(&env, d[i], len[i], 3, &n, err, sizeof(err)),
		    0);
	}
	/* Each file has its own data key and nonce prefix. */
	assert_memory_not_equal(
	    d[0] + 14, d[1] + 14, len[0] < len[1] ? len[0] - 14 : len[1] - 14);
	for (i = 0; i < 3; i++) {
		free(d[i]);
		unlink(path[i]);
	}
	rec_recipients_free(rs);
}

/* Reader keys: encrypted PEM is refused without a prompt; small RSA too. */
static void
test_reader_keys(void **state)
{
	struct rec_key *k = NULL;
	char path[TR_PATH_MAX], err[256];
	EVP_PKEY *pk;
	FILE *f;

	(void)state;
	tr_path(&env, "enc.pem", path, sizeof(path));
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	assert_non_null(pk);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, pk, EVP_aes_256_cbc(),
			     (const unsigned char *)"secret", 6, NULL, NULL),
	    1);
	fclose(f);
	EVP_PKEY_free(pk);
	assert_int_equal(
	    rec_key_load(&k, path, err, sizeof(err)), PV_ERR_INVALID);
	assert_null(k);
	assert_non_null(strstr(err, "unencrypted"));
	unlink(path);

	tr_path(&env, "rsa2048.pem", path, sizeof(path));
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_non_null(pk);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(
	    PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	EVP_PKEY_free(pk);
	assert_int_not_equal(rec_key_load(&k, path, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "3072"));
	unlink(path);

	assert_int_not_equal(rec_key_load(&k, env.pub[0], err, sizeof(err)), 0);
	assert_int_equal(rec_key_load(&k, env.priv[2], err, sizeof(err)), 0);
	rec_key_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_version),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_recipients),
		cmocka_unit_test(test_chunking),
		cmocka_unit_test(test_incompressible),
		cmocka_unit_test(test_long_exec),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_shared_recipients),
		cmocka_unit_test(test_reader_keys),
	};

	pv_log_init("test_recorder", PV_LOG_STDERR, PV_LOG_ERROR);
	return cmocka_run_group_tests(tests, setup, teardown);
}
