/*
 * replay_main.c: provost-replay, the security team's tool: info, verify and
 * export here; play and grep in replay_play.c.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/common.h"
#include "recorder/recorder.h"
#include "recorder/replay-int.h"

/* An audit export read whole (provostctl audit export, jsonl). */
#define REPLAY_AUDIT_MAX ((size_t)1 << 30)

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: provost-replay info [--json] FILE...\n"
	    "       provost-replay verify [--key KEY] [--audit EXPORT] "
	    "[--json] "
	    "FILE...\n"
	    "       provost-replay play --key KEY [--speed X] [--idle-limit S] "
	    "[--raw] FILE\n"
	    "       provost-replay export --key KEY --format "
	    "asciicast|text|jsonl FILE\n"
	    "       provost-replay export --key KEY --format html [-o PAGE] "
	    "FILE...\n"
	    "       provost-replay export --key KEY --format commands FILE...\n"
	    "       provost-replay grep --key KEY [--input|--output] [-i] "
	    "[-C N] [-j N] [--json] PATTERN FILE...\n"
	    "       provost-replay files --key KEY FILE\n"
	    "       provost-replay extract --key KEY FILE (--transfer N | "
	    "--path PATH) [-o OUT]\n"
	    "KEY is a recipient private key (PEM X25519 or RSA); --key may be "
	    "repeated.\n");
}

/* Parses the --key options every keyed command shares. */
static int
load_key(struct replay_keys *keys, const char *path)
{
	char err[512];

	if (keys->n == REPLAY_MAX_KEYS) {
		fprintf(stderr, "provost-replay: too many keys\n");
		return -1;
	}
	if (rec_key_load(&keys->k[keys->n], path, err, sizeof(err)) != 0) {
		fprintf(stderr, "provost-replay: %s\n", err);
		return -1;
	}
	keys->n++;
	return 0;
}

/* info --json: the header as stored, under the file's name. */
static int
info_json(struct replay_json_array *arr, const char *path, struct rec_reader *r,
    const char *error)
{
	json_t *h = NULL;

	if (error == NULL &&
	    (h = json_loads(rec_reader_header_json(r), 0, NULL)) == NULL)
		error = "the header is not JSON";
	if (h != NULL)
		return replay_json_array_put(
		    arr, json_pack("{s:s, s:o}", "file", path, "header", h));
	return replay_json_array_put(
	    arr, json_pack("{s:s, s:s}", "file", path, "error", error));
}

static int
cmd_info(int argc, char **argv)
{
	struct replay_json_array arr;
	struct rec_reader *r;
	json_t *h, *v, *rc;
	const char *key;
	size_t i;
	int json = 0, rcode = 0, a;

	for (a = 1; a < argc && argv[a][0] == '-'; a++) {
		if (strcmp(argv[a], "--json") == 0)
			json = 1;
		else {
			usage(stderr);
			return 2;
		}
	}
	if (a >= argc) {
		usage(stderr);
		return 2;
	}
	if (json)
		replay_json_array_begin(&arr, stdout);
	for (; a < argc; a++) {
		if (rec_reader_open(&r, argv[a]) != 0) {
			if (json)
				(void)info_json(
				    &arr, argv[a], r, rec_reader_error(r));
			else
				fprintf(stderr, "%s: %s\n", argv[a],
				    rec_reader_error(r));
			rec_reader_free(r);
			rcode = 1;
			continue;
		}
		if (json) {
			if (info_json(&arr, argv[a], r, NULL) != 0)
				rcode = 1;
			rec_reader_free(r);
			continue;
		}
		h = json_loads(rec_reader_header_json(r), 0, NULL);
		printf("file: %s\n", argv[a]);
		json_object_foreach(h, key, v)
		{
			char *s;

			if (strcmp(key, "recipients") == 0)
				continue;
			s = json_is_string(v) ? NULL
					      : json_dumps(v, JSON_ENCODE_ANY);
			/* Header strings may hold anything: escape them. */
			if (json_is_string(v)) {
				char esc[PV_LOG_LINE_MAX];

				(void)pv_log_escape(
				    esc, sizeof(esc), json_string_value(v));
				printf("%s: %s\n", key, esc);
			} else
				printf("%s: %s\n", key, s != NULL ? s : "?");
			free(s);
		}
		rc = json_object_get(h, "recipients");
		for (i = 0; i < json_array_size(rc); i++) {
			json_t *o = json_array_get(rc, i);
			const char *t =
			    json_string_value(json_object_get(o, "type"));
			const char *id =
			    json_string_value(json_object_get(o, "key_id"));
			char et[64], eid[128];

			(void)pv_log_escape(et, sizeof(et), t ? t : "?");
			(void)pv_log_escape(eid, sizeof(eid), id ? id : "?");
			printf("recipient: %s %s\n", et, eid);
		}
		json_decref(h);
		rec_reader_free(r);
		if (a + 1 < argc)
			printf("\n");
	}
	if (json)
		replay_json_array_end(&arr);
	return rcode;
}

static void
verify_json(struct replay_json_array *arr, const char *path, int ok,
    const char *error, struct rec_reader *r, const char *sha, int audit,
    const char *audit_msg)
{
	json_t *o = json_object();

	if (o == NULL)
		return;
	json_object_set_new(o, "file", json_string(path));
	json_object_set_new(o, "ok", json_boolean(ok));
	if (error != NULL)
		json_object_set_new(o, "error", json_string(error));
	if (r != NULL) {
		json_object_set_new(o, "events",
		    json_integer((json_int_t)rec_reader_events(r)));
		json_object_set_new(o, "chunks",
		    json_integer((json_int_t)rec_reader_chunks(r)));
		json_object_set_new(o, "last_event_ms",
		    json_integer((json_int_t)rec_reader_last_ms(r)));
		json_object_set_new(o, "output_bytes",
		    json_integer(
			(json_int_t)rec_reader_totals(r)->output_bytes));
		json_object_set_new(o, "stderr_bytes",
		    json_integer(
			(json_int_t)rec_reader_totals(r)->stderr_bytes));
		json_object_set_new(o, "input_bytes",
		    json_integer(
			(json_int_t)rec_reader_totals(r)->input_bytes));
	}
	if (sha != NULL && sha[0] != '\0')
		json_object_set_new(o, "sha256", json_string(sha));
	if (audit >= 0) {
		json_object_set_new(o, "audit_ok", json_boolean(audit > 0));
		json_object_set_new(o, "audit", json_string(audit_msg));
	}
	(void)replay_json_array_put(arr, o);
}

/* The --audit EXPORT index; NULL with one line on stderr if unreadable. */
static struct rec_audit_index *
load_audit(const char *path)
{
	struct rec_audit_index *ix = NULL;
	uint8_t *text = NULL;
	size_t len = 0;
	char err[512];
	int r;

	if ((r = pv_file_read(path, REPLAY_AUDIT_MAX, &text, &len)) != 0) {
		fprintf(stderr, "provost-replay: %s: cannot read: %s\n", path,
		    pv_err_str(r));
		return NULL;
	}
	if (rec_audit_index_load(
		&ix, path, (const char *)text, len, err, sizeof(err)) != 0) {
		fprintf(stderr, "provost-replay: %s\n", err);
		ix = NULL;
	}
	free(text);
	return ix;
}

/*
 * One file: authentic and complete (with keys), and the recording the
 * audit chain holds (with --audit).  0 when all it was asked holds.
 */
static int
verify_one(const char *path, const struct replay_keys *keys,
    const struct rec_audit_index *ix, int json, struct replay_json_array *arr)
{
	struct rec_reader *r = NULL;
	struct rec_event ev;
	char when[32], err[512], sha[65] = "", amsg[1024] = "", line[1024];
	int ret = 0, opened = 0, arc = -1, ok;

	if (keys->n > 0) {
		if ((ret = replay_open(path, keys, &r, err, sizeof(err))) ==
		    0) {
			opened = 1;
			while ((ret = rec_reader_next(r, &ev)) == 1)
				;
			if (ret != 0)
				(void)snprintf(err, sizeof(err),
				    "%s (%llu events before it verify)",
				    rec_reader_error(r),
				    (unsigned long long)rec_reader_events(r));
		}
		(void)pv_file_sha256(path, sha);
	}
	if (ix != NULL) {
		arc = rec_audit_check(ix, path, NULL, amsg, sizeof(amsg));
		if (arc < 0)
			arc = 0;
	}
	/* 2: the header matches and the session has not ended yet */
	ok = ret == 0 && arc != 0;
	if (json) {
		verify_json(arr, path, ok,
		    ret != 0       ? err
			: arc == 0 ? amsg
				   : NULL,
		    opened ? r : NULL, sha, arc < 0 ? -1 : arc != 0, amsg);
	} else if (ok) {
		line[0] = '\0';
		if (opened) {
			(void)rec_format_offset(
			    rec_reader_last_ms(r), when, sizeof(when));
			(void)snprintf(line, sizeof(line),
			    "complete and authentic, %llu events in %llu "
			    "chunks, %s, sha256 %s",
			    (unsigned long long)rec_reader_events(r),
			    (unsigned long long)rec_reader_chunks(r), when,
			    sha);
		}
		printf("%s: OK: %s%s%s\n", path, line,
		    line[0] && amsg[0] ? "; " : "", amsg);
	} else {
		printf("%s: FAILED: %s%s%s\n", path, ret != 0 ? err : "",
		    ret != 0 && arc == 0 ? "; and " : "", arc == 0 ? amsg : "");
	}
	rec_reader_free(r);
	return ok ? 0 : 1;
}

static int
cmd_verify(int argc, char **argv, const struct replay_keys *keys)
{
	struct replay_json_array arr;
	struct rec_audit_index *ix = NULL;
	const char *audit = NULL;
	int a, bad = 0, json = 0, nfiles = 0;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--json") == 0)
			json = 1;
		else if (strcmp(argv[a], "--audit") == 0 && a + 1 < argc)
			audit = argv[++a];
		else if (strncmp(argv[a], "--audit=", 8) == 0)
			audit = argv[a] + 8;
		else if (argv[a][0] == '-' && argv[a][1] != '\0') {
			fprintf(stderr,
			    "provost-replay: verify: unknown "
			    "option %s\n",
			    argv[a]);
			return 2;
		} else
			nfiles++;
	}
	if (nfiles == 0 || (keys->n == 0 && audit == NULL)) {
		if (nfiles > 0)
			fprintf(stderr,
			    "provost-replay: verify needs --key KEY "
			    "or --audit EXPORT\n");
		else
			usage(stderr);
		return 2;
	}
	if (audit != NULL && (ix = load_audit(audit)) == NULL)
		return 2;
	if (json)
		replay_json_array_begin(&arr, stdout);
	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--json") == 0 ||
		    strncmp(argv[a], "--audit=", 8) == 0)
			continue;
		if (strcmp(argv[a], "--audit") == 0) {
			a++;
			continue;
		}
		bad |= verify_one(argv[a], keys, ix, json, &arr);
	}
	if (json)
		replay_json_array_end(&arr);
	rec_audit_index_free(ix);
	return bad;
}

static const char *
event_name(enum rec_event_type t)
{
	static const char *const names[] = { "?", "output", "stderr", "input",
		"resize", "exec", "subsystem", "file", "exit", "end" };

	if (t == REC_EV_FILE_DATA)
		return "file_data";
	if (t == REC_EV_EXEC_MORE)
		return "exec_more";
	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

static json_t *
bytes_json(const uint8_t *d, size_t len, const char **key)
{
	json_t *s = json_stringn((const char *)d, len);
	char *b64;

	*key = "data";
	if (s != NULL || len == 0)
		return s != NULL ? s : json_string("");
	*key = "data_b64";
	if (pv_b64_encode(d, len, 0, &b64) != 0)
		return NULL;
	s = json_string(b64);
	free(b64);
	return s;
}

static json_t *
event_jsonl(const struct rec_event *ev)
{
	json_t *o = json_object();
	const char *key;
	char hex[65];

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "t", json_real((double)ev->t_ms / 1000.0));
	json_object_set_new(o, "type", json_string(event_name(ev->type)));
	switch (ev->type) {
	case REC_EV_OUTPUT:
	case REC_EV_STDERR:
	case REC_EV_INPUT:
	case REC_EV_EXEC:
	case REC_EV_EXEC_MORE:
	case REC_EV_SUBSYSTEM: {
		json_t *d = bytes_json(ev->data, ev->len, &key);

		json_object_set_new(o, key, d);
	} break;
	case REC_EV_RESIZE:
		json_object_set_new(o, "cols", json_integer(ev->cols));
		json_object_set_new(o, "rows", json_integer(ev->rows));
		break;
	case REC_EV_FILE:
		json_object_set_new(o, "op", json_integer(ev->file.op));
		json_object_set_new(
		    o, "direction", json_integer(ev->file.direction));
		json_object_set_new(o, "result", json_integer(ev->file.result));
		json_object_set_new(
		    o, "bytes", json_integer((json_int_t)ev->file.bytes));
		(void)pv_hex_encode(ev->file.sha256, 32, hex, sizeof(hex));
		json_object_set_new(o, "sha256", json_string(hex));
		json_object_set_new(o, "path",
		    bytes_json((const uint8_t *)ev->file.path,
			strlen(ev->file.path), &key));
		if (ev->file.path2[0] != '\0')
			json_object_set_new(o, "path2",
			    bytes_json((const uint8_t *)ev->file.path2,
				strlen(ev->file.path2), &key));
		if (ev->file.contents) {
			json_object_set_new(
			    o, "channel", json_integer(ev->file.channel));
			json_object_set_new(o, "file_id",
			    json_integer((json_int_t)ev->file.file_id));
		}
		break;
	case REC_EV_FILE_DATA:
		/* Where content lies; the bytes are for extract, not jsonl. */
		json_object_set_new(
		    o, "channel", json_integer(ev->fdata.channel));
		json_object_set_new(
		    o, "file_id", json_integer((json_int_t)ev->fdata.file_id));
		json_object_set_new(
		    o, "direction", json_integer(ev->fdata.direction));
		json_object_set_new(
		    o, "offset", json_integer((json_int_t)ev->fdata.offset));
		json_object_set_new(
		    o, "len", json_integer((json_int_t)ev->len));
		break;
	case REC_EV_FILE_REF: /* folded into the FILE event by the reader */
	case REC_EV_INDEX:    /* checked and skipped by the reader */
		break;
	case REC_EV_EXIT:
		if (ev->exit.kind == REC_EXIT_STATUS)
			json_object_set_new(
			    o, "status", json_integer(ev->exit.value));
		else {
			json_object_set_new(
			    o, "signal", json_integer(ev->exit.value));
			json_object_set_new(o, "signame",
			    bytes_json((const uint8_t *)ev->exit.signame,
				strlen(ev->exit.signame), &key));
			json_object_set_new(o, "core_dumped",
			    json_boolean(ev->exit.core_dumped));
		}
		break;
	case REC_EV_END:
		json_object_set_new(
		    o, "events", json_integer((json_int_t)ev->totals.events));
		json_object_set_new(o, "output_bytes",
		    json_integer((json_int_t)ev->totals.output_bytes));
		json_object_set_new(o, "stderr_bytes",
		    json_integer((json_int_t)ev->totals.stderr_bytes));
		json_object_set_new(o, "input_bytes",
		    json_integer((json_int_t)ev->totals.input_bytes));
		json_object_set_new(
		    o, "chunks", json_integer((json_int_t)ev->totals.chunks));
		break;
	}
	return o;
}

static int
cmd_export(int argc, char **argv, const struct replay_keys *keys)
{
	struct rec_reader *r = NULL;
	struct rec_escape *eo = NULL, *ei = NULL;
	struct pv_buf *tmp = NULL;
	struct rec_event ev;
	const char *format = NULL, *page = NULL;
	int ret, a, rc = 1, fmt;

	for (a = 1; a + 1 < argc; a += 2) {
		if (strcmp(argv[a], "--format") == 0)
			format = argv[a + 1];
		else if (strcmp(argv[a], "-o") == 0)
			page = argv[a + 1];
		else
			break;
	}
	if (format == NULL || a >= argc) {
		usage(stderr);
		return 2;
	}
	fmt = strcmp(format, "asciicast") == 0 ? 0
	    : strcmp(format, "text") == 0      ? 1
	    : strcmp(format, "jsonl") == 0     ? 2
	    : strcmp(format, "html") == 0      ? 3
	    : strcmp(format, "commands") == 0  ? 4
					       : -1;
	if (fmt < 0) {
		fprintf(stderr, "provost-replay: unknown format %s\n", format);
		return 2;
	}
	if (fmt == 3)
		return replay_cmd_html(argc - a, argv + a, page, keys);
	if (page != NULL) {
		fprintf(stderr, "provost-replay: -o is for --format html\n");
		return 2;
	}
	if (fmt == 4)
		return replay_cmd_commands(argc - a, argv + a, keys);
	if (a + 1 != argc) {
		fprintf(stderr, "provost-replay: --format %s takes one FILE\n",
		    format);
		return 2;
	}
	if (replay_open_report(argv[a], keys, &r) != 0)
		return 1;
	eo = rec_escape_new(fmt == 1 ? REC_ESC_TEXT : REC_ESC_TERMINAL);
	ei = rec_escape_new(REC_ESC_TERMINAL);
	if (eo == NULL || ei == NULL || (tmp = pv_buf_new(0)) == NULL)
		goto out;
	if (fmt == 0 && replay_cast_header(stdout, r) != 0)
		goto out;
	if (fmt == 2) {
		json_t *h = json_loads(rec_reader_header_json(r), 0, NULL);

		json_object_set_new(h, "type", json_string("header"));
		if (replay_put_json_line(stdout, h) != 0)
			goto out;
	}
	while ((ret = rec_reader_next(r, &ev)) == 1) {
		double t = (double)ev.t_ms / 1000.0;
		int e = 0;

		if (fmt == 2) {
			e = replay_put_json_line(stdout, event_jsonl(&ev));
		} else if (ev.type == REC_EV_OUTPUT ||
		    ev.type == REC_EV_STDERR) {
			if (fmt == 0)
				e = replay_cast_event(stdout, eo, tmp, t, "o",
				    ev.data, ev.len, 0);
			else {
				pv_buf_reset(tmp);
				e = rec_escape_filter(eo, ev.data, ev.len, tmp);
				if (e == 0 && pv_buf_len(tmp) > 0)
					e = pv_write_all(1, pv_buf_ptr(tmp),
					    pv_buf_len(tmp));
			}
		} else if (ev.type == REC_EV_RESIZE && fmt == 0) {
			char sz[32];

			(void)snprintf(sz, sizeof(sz), "%ux%u",
			    (unsigned)ev.cols, (unsigned)ev.rows);
			e = replay_cast_event(stdout, ei, tmp, t, "r",
			    (const uint8_t *)sz, strlen(sz), 0);
		} else if (ev.type == REC_EV_INPUT && fmt == 0)
			e = replay_cast_event(
			    stdout, ei, tmp, t, "i", ev.data, ev.len, 0);
		if (e != 0) {
			fprintf(stderr, "provost-replay: export: %s\n",
			    pv_err_str(e));
			goto out;
		}
	}
	if (fmt == 1) {
		pv_buf_reset(tmp);
		if (rec_escape_finish(eo, tmp) == 0 && pv_buf_len(tmp) > 0)
			(void)pv_write_all(1, pv_buf_ptr(tmp), pv_buf_len(tmp));
	}
	replay_report(argv[a], r, ret);
	rc = ret == 0 ? 0 : 1;
out:
	fflush(stdout);
	pv_buf_free(tmp);
	rec_escape_free(eo);
	rec_escape_free(ei);
	rec_reader_free(r);
	return rc;
}

static const char *
file_op_name(enum rec_file_op op)
{
	switch (op) {
	case REC_FILE_GET:
		return "get";
	case REC_FILE_PUT:
		return "put";
	case REC_FILE_REMOVE:
		return "remove";
	case REC_FILE_RENAME:
		return "rename";
	case REC_FILE_MKDIR:
		return "mkdir";
	case REC_FILE_RMDIR:
		return "rmdir";
	case REC_FILE_SETSTAT:
		return "setstat";
	case REC_FILE_SYMLINK:
		return "symlink";
	case REC_FILE_LIST:
		return "list";
	case REC_FILE_OTHER:
		break;
	}
	return "other";
}

/* A path for a terminal: control bytes, backslash and tab as \xNN. */
static void
put_path(FILE *f, const char *p)
{
	for (; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7f || c == '\\')
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

/*
 * The transfers of a recording, one a line, tab-separated: time (s),
 * op, direction, bytes, sha256 (or -), result (SSH_FX_* code), path and
 * for rename/symlink/scp the second path.
 */
static int
cmd_files(int argc, char **argv, const struct replay_keys *keys)
{
	static const char *const dirs[] = { "none", "upload", "download" };
	struct rec_reader *r = NULL;
	struct rec_event ev;
	static const uint8_t zero[32];
	char hex[65];
	int ret;

	if (argc != 2) {
		usage(stderr);
		return 2;
	}
	if (replay_open_report(argv[1], keys, &r) != 0)
		return 1;
	while ((ret = rec_reader_next(r, &ev)) == 1) {
		if (ev.type != REC_EV_FILE)
			continue;
		if (memcmp(ev.file.sha256, zero, 32) == 0)
			(void)snprintf(hex, sizeof(hex), "-");
		else
			(void)pv_hex_encode(
			    ev.file.sha256, 32, hex, sizeof(hex));
		printf("%.3f\t%s\t%s\t%llu\t%s\t%u\t", (double)ev.t_ms / 1000.0,
		    file_op_name(ev.file.op),
		    (unsigned)ev.file.direction < 3 ? dirs[ev.file.direction]
						    : "?",
		    (unsigned long long)ev.file.bytes, hex, ev.file.result);
		put_path(stdout, ev.file.path);
		if (ev.file.path2[0] != '\0') {
			fputc('\t', stdout);
			put_path(stdout, ev.file.path2);
		}
		fputc('\n', stdout);
	}
	fflush(stdout);
	replay_report(argv[1], r, ret);
	rec_reader_free(r);
	return ret == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct replay_keys keys = { .n = 0 };
	const char *cmd;
	char **sub;
	int i, n = 0, rc;

	pv_log_init("provost-replay", PV_LOG_STDERR, PV_LOG_WARN);
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	cmd = argv[1];
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
	}
	/* Take --key KEY out of the arguments; the rest go to the command. */
	if ((sub = calloc((size_t)argc, sizeof(*sub))) == NULL)
		return 1;
	sub[n++] = argv[1];
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--key") == 0 && i + 1 < argc) {
			if (load_key(&keys, argv[++i]) != 0) {
				rc = 2;
				goto out;
			}
		} else if (strncmp(argv[i], "--key=", 6) == 0) {
			if (load_key(&keys, argv[i] + 6) != 0) {
				rc = 2;
				goto out;
			}
		} else
			sub[n++] = argv[i];
	}
	if (strcmp(cmd, "info") == 0) {
		rc = cmd_info(n, sub);
		goto out;
	}
	if (strcmp(cmd, "verify") != 0 && strcmp(cmd, "play") != 0 &&
	    strcmp(cmd, "export") != 0 && strcmp(cmd, "grep") != 0 &&
	    strcmp(cmd, "files") != 0 && strcmp(cmd, "extract") != 0) {
		fprintf(stderr, "provost-replay: unknown command %s\n", cmd);
		usage(stderr);
		rc = 2;
		goto out;
	}
	if (keys.n == 0 && strcmp(cmd, "verify") != 0) {
		fprintf(stderr, "provost-replay: %s needs --key KEY\n", cmd);
		rc = 2;
		goto out;
	}
	if (strcmp(cmd, "verify") == 0)
		rc = cmd_verify(n, sub, &keys);
	else if (strcmp(cmd, "export") == 0)
		rc = cmd_export(n, sub, &keys);
	else if (strcmp(cmd, "play") == 0)
		rc = replay_cmd_play(n, sub, &keys);
	else if (strcmp(cmd, "files") == 0)
		rc = cmd_files(n, sub, &keys);
	else if (strcmp(cmd, "extract") == 0)
		rc = replay_cmd_extract(n, sub, &keys);
	else
		rc = replay_cmd_grep(n, sub, &keys);
out:
	for (i = 0; i < (int)keys.n; i++)
		rec_key_free(keys.k[i]);
	free(sub);
	return rc;
}
