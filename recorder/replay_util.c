/*
 * replay_util.c: what provost-replay's commands share: opening a recording
 * with one of several keys, JSON output, asciicast lines, a file's SHA-256.
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

int
replay_open(const char *path, const struct replay_keys *keys,
    struct rec_reader **out, char *err, size_t errlen)
{
	struct rec_reader *r = NULL;
	size_t i;
	int ret;

	*out = NULL;
	if ((ret = rec_reader_open(&r, path)) != 0) {
		(void)snprintf(err, errlen, "%s", rec_reader_error(r));
		rec_reader_free(r);
		return ret;
	}
	ret = PV_ERR_NOT_FOUND;
	for (i = 0; i < keys->n; i++) {
		if ((ret = rec_reader_unlock(r, keys->k[i])) !=
		    PV_ERR_NOT_FOUND)
			break;
		/* Try the next key on a fresh reader. */
		rec_reader_free(r);
		if ((ret = rec_reader_open(&r, path)) != 0)
			break;
		ret = PV_ERR_NOT_FOUND;
	}
	if (ret != 0) {
		(void)snprintf(err, errlen, "%s",
		    ret == PV_ERR_NOT_FOUND ? "no recipient matches this key"
					    : rec_reader_error(r));
		rec_reader_free(r);
		return ret;
	}
	*out = r;
	return 0;
}

int
replay_open_report(
    const char *path, const struct replay_keys *keys, struct rec_reader **out)
{
	char err[512];
	int r;

	if ((r = replay_open(path, keys, out, err, sizeof(err))) != 0)
		fprintf(stderr, "%s: %s\n", path, err);
	return r;
}

void
replay_report(const char *path, struct rec_reader *r, int ret)
{
	if (ret < 0)
		fprintf(stderr, "%s: %s\n", path, rec_reader_error(r));
}

void
replay_json_array_begin(struct replay_json_array *a, FILE *f)
{
	a->f = f;
	a->n = 0;
	(void)fputc('[', f);
}

int
replay_json_array_put(struct replay_json_array *a, json_t *o)
{
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	int r = 0;

	json_decref(o);
	if (s == NULL)
		return PV_ERR_ALLOC;
	if (fprintf(a->f, "%s\n%s", a->n > 0 ? "," : "", s) < 0)
		r = PV_ERR_IO;
	a->n++;
	free(s);
	return r;
}

void
replay_json_array_end(struct replay_json_array *a)
{
	(void)fputs(a->n > 0 ? "\n]\n" : "]\n", a->f);
}

int
replay_put_json_line(FILE *f, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
	int r = 0;

	json_decref(o);
	if (s == NULL)
		return PV_ERR_ALLOC;
	if (fprintf(f, "%s\n", s) < 0)
		r = PV_ERR_IO;
	free(s);
	return r;
}

/* One filtered event as an asciicast v2 line [time, code, text]. */
int
replay_cast_event(FILE *f, struct rec_escape *esc, struct pv_buf *tmp, double t,
    const char *code, const uint8_t *d, size_t len, int finish)
{
	json_t *a;
	int r;

	pv_buf_reset(tmp);
	if (esc == NULL) /* text of our own making */
		r = pv_buf_put(tmp, d, len);
	else if ((r = rec_escape_filter(esc, d, len, tmp)) == 0 && finish)
		r = rec_escape_finish(esc, tmp);
	if (r != 0)
		return r;
	if (pv_buf_len(tmp) == 0)
		return 0;
	if ((a = json_array()) == NULL)
		return PV_ERR_ALLOC;
	json_array_append_new(a, json_real(t));
	json_array_append_new(a, json_string(code));
	json_array_append_new(
	    a, json_stringn((const char *)pv_buf_ptr(tmp), pv_buf_len(tmp)));
	return replay_put_json_line(f, a);
}

int
replay_cast_header(FILE *f, struct rec_reader *r)
{
	json_t *h = json_loads(rec_reader_header_json(r), 0, NULL), *o, *env;
	uint16_t cols, rows;
	const char *term, *who, *tgt;
	char title[256];

	if (rec_reader_header_size(r, &cols, &rows) != 0 || cols == 0 ||
	    rows == 0) {
		cols = 80;
		rows = 24;
	}
	if ((o = json_object()) == NULL || (env = json_object()) == NULL) {
		json_decref(h);
		json_decref(o);
		return PV_ERR_ALLOC;
	}
	json_object_set_new(o, "version", json_integer(2));
	json_object_set_new(o, "width", json_integer(cols));
	json_object_set_new(o, "height", json_integer(rows));
	json_object_set_new(
	    o, "timestamp", json_integer(rec_reader_start_ms(r) / 1000));
	term = json_string_value(json_object_get(h, "term"));
	json_object_set_new(env, "TERM", json_string(term ? term : "xterm"));
	json_object_set_new(env, "SHELL", json_string("/bin/sh"));
	json_object_set_new(o, "env", env);
	who = json_string_value(json_object_get(h, "engineer"));
	tgt = json_string_value(json_object_get(h, "target"));
	if (snprintf(title, sizeof(title), "provost session %s (%s@%s)",
		json_string_value(json_object_get(h, "session")),
		who ? who : "?", tgt ? tgt : "?") < (int)sizeof(title))
		json_object_set_new(o, "title", json_string(title));
	json_decref(h);
	return replay_put_json_line(f, o);
}

/*
 * JSON inside <script type="application/json">: '<', '>' and '&' only occur
 * inside strings, where \u003c and friends mean the same; so "</script>"
 * and "<!--" cannot appear and the block ends where the page says.
 * U+2028 and U+2029 go too, for any parser that takes JSON as script.
 */
int
replay_json_html(FILE *f, const char *s)
{
	const char *p;

	for (p = s; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '<' || c == '>' || c == '&') {
			if (fprintf(f, "\\u%04x", c) < 0)
				return PV_ERR_IO;
		} else if (c == 0xe2 && (unsigned char)p[1] == 0x80 &&
		    ((unsigned char)p[2] == 0xa8 ||
			(unsigned char)p[2] == 0xa9)) {
			if (fprintf(f, "\\u%04x",
				(unsigned char)p[2] == 0xa8 ? 0x2028 : 0x2029) <
			    0)
				return PV_ERR_IO;
			p += 2;
		} else if (fputc(c, f) == EOF)
			return PV_ERR_IO;
	}
	return 0;
}
