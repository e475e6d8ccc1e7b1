/*
 * replay_scan.c: one pass over a recording for the replay page and the
 * SIEM: its metadata, verify result, commands typed, transfers and lines.
 */
#include "config.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "common/common.h"
#include "recorder/recorder.h"
#include "recorder/replay-int.h"

/* A line longer than this is cut (and marked) for the page. */
#define SCAN_LINE_MAX 4096
/* An exec command is kept up to this many bytes (the format allows 1 MiB). */
#define SCAN_EXEC_MAX 65536
/*
 * The page's search covers this many output lines of a session (each
 * costs ~300 bytes of memory here); grep covers all of them.
 */
#define SCAN_LINES_MAX 1000000

/* Where the bytes of a line recorded at t begin (as grep keeps them). */
struct scan_span {
	size_t off;
	uint64_t t;
};

struct scan_line {
	struct pv_buf *cur;
	uint64_t t0; /* when the line's first byte was recorded */
	int started;
	int cut;
	int secret;              /* typed at a password prompt */
	struct scan_span *spans; /* in order of off */
	size_t nspans, spancap;
};

struct replay_scan {
	json_t *sess;                     /* not owned */
	json_t *commands, *files, *lines; /* lines: NULL = not wanted */
	FILE *cast;                       /* not owned; NULL = no cast */
	struct rec_escape *esc_out, *esc_in, *cast_esc;
	struct scan_line out, in;
	struct pv_buf *tmp, *exec;
	uint64_t exec_t;
	int exec_open;
	json_t *last_exec; /* the exec command an EXIT belongs to */
	uint64_t enter_t;  /* when the typed line being ended was entered */
	regex_t prompt;    /* a password prompt: what is typed after it */
	int prompt_ok;
};

/*
 * The output line a typed line starts after, when it asks for a secret
 * ("[sudo] password for alice: ", "Enter passphrase for key ...: "): such a
 * line is not echoed and is not shown on the page or sent to a SIEM.
 */
#define SCAN_SECRET_PROMPT                                                     \
	"(password|passphrase|passcode|(^|[^[:alpha:]])pin)[^:]*:[[:space:]]*" \
	"$"
#define SCAN_SECRET_TEXT "(typed at a password prompt: not shown)"

static const char *const scan_header_keys[] = { "session", "engineer",
	"provider", "target", "account", "client", "start", "term" };

/* A path or name as valid UTF-8 for JSON: else bytes >= 0x80 as \xNN. */
static json_t *
scan_string(const char *s, size_t len)
{
	json_t *j = json_stringn(s, len);
	struct pv_buf *b;
	size_t i;

	if (j != NULL || (b = pv_buf_new(0)) == NULL)
		return j;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 0x80 || c == '\\' || c == 0)
			? pv_buf_putf(b, "\\x%02x", c) != 0
			: pv_buf_put_u8(b, c) != 0)
			break;
	}
	if (i == len)
		j = json_stringn((const char *)pv_buf_ptr(b), pv_buf_len(b));
	pv_buf_free(b);
	return j;
}

static int
scan_line_init(struct scan_line *l)
{
	return (l->cur = pv_buf_new(0)) != NULL ? 0 : PV_ERR_ALLOC;
}

static void
scan_line_clear(struct scan_line *l)
{
	pv_buf_reset(l->cur);
	l->started = 0;
	l->cut = 0;
	l->secret = 0;
	l->nspans = 0;
}

static int
scan_span_add(struct scan_line *l, uint64_t t)
{
	struct scan_span *n;
	size_t cap;

	if (l->nspans > 0 && l->spans[l->nspans - 1].t == t)
		return 0;
	if (l->nspans == l->spancap) {
		cap = l->spancap ? l->spancap * 2 : 8;
		if ((n = reallocarray(l->spans, cap, sizeof(*n))) == NULL)
			return PV_ERR_ALLOC;
		l->spans = n;
		l->spancap = cap;
	}
	l->spans[l->nspans++] =
	    (struct scan_span){ .off = pv_buf_len(l->cur), .t = t };
	return 0;
}

/* UTF-16 code units (JavaScript's string offsets) in n bytes of UTF-8. */
static size_t
scan_u16(const uint8_t *p, size_t n)
{
	size_t i, u = 0;

	for (i = 0; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			u += p[i] >= 0xf0 ? 2 : 1;
	}
	return u;
}

/*
 * When the parts of the line were recorded, for a search hit's time:
 * [offset, t_ms, ...] with offsets in UTF-16 units from the trimmed start
 * (lead bytes skipped), or NULL when the whole line came at once.
 */
static json_t *
scan_line_spans(const struct scan_line *l, size_t lead)
{
	const uint8_t *p = pv_buf_ptr(l->cur);
	json_t *a;
	size_t i;

	if (l->nspans < 2 || (a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < l->nspans; i++) {
		size_t off = l->spans[i].off > lead
		    ? scan_u16(p + lead, l->spans[i].off - lead)
		    : 0;

		json_array_append_new(a, json_integer((json_int_t)off));
		json_array_append_new(
		    a, json_integer((json_int_t)l->spans[i].t));
	}
	return a;
}

/*
 * The line as a JSON string, trimmed of spaces at both ends (how many bytes
 * went at the start into *lead); NULL if empty.
 */
static json_t *
scan_line_text(struct scan_line *l, size_t *lead)
{
	const char *p;
	size_t n;

	/* A line that was cut says so with an ellipsis. */
	if (l->cut && pv_buf_put(l->cur, "\xe2\x80\xa6", 3) != 0)
		return NULL;
	p = (const char *)pv_buf_ptr(l->cur);
	n = pv_buf_len(l->cur);
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	*lead = (size_t)(p - (const char *)pv_buf_ptr(l->cur));
	return n > 0 ? json_stringn(p, n) : NULL;
}

/*
 * Feeds filtered text (valid UTF-8): a newline ends the line (emit), a
 * backspace erases a character; the rest is kept up to SCAN_LINE_MAX bytes
 * (cut at a character boundary).
 */
static int
scan_line_feed(struct replay_scan *s, struct scan_line *l, const uint8_t *d,
    size_t len, uint64_t t,
    int (*emit)(struct replay_scan *, struct scan_line *))
{
	size_t i = 0, j, n, room;
	int r;

	while (i < len) {
		if (d[i] == '\n') {
			if ((r = emit(s, l)) != 0)
				return r;
			scan_line_clear(l);
			i++;
			continue;
		}
		if (d[i] == '\b') {
			n = pv_buf_len(l->cur);
			while (
			    n > 0 && (pv_buf_ptr(l->cur)[n - 1] & 0xc0) == 0x80)
				n--;
			if (n > 0)
				n--;
			(void)pv_buf_consume_end(
			    l->cur, pv_buf_len(l->cur) - n);
			/* erased bytes take their times with them */
			while (
			    l->nspans > 0 && l->spans[l->nspans - 1].off >= n)
				l->nspans--;
			i++;
			continue;
		}
		for (j = i; j < len && d[j] != '\n' && d[j] != '\b'; j++)
			;
		if (!l->started) {
			l->started = 1;
			l->t0 = t;
		}
		room = SCAN_LINE_MAX - pv_buf_len(l->cur);
		n = j - i;
		if (n > room) {
			n = room;
			while (n > 0 && (d[i + n] & 0xc0) == 0x80)
				n--;
			l->cut = 1;
		}
		if (n > 0 &&
		    ((r = scan_span_add(l, t)) != 0 ||
			(r = pv_buf_put(l->cur, d + i, n)) != 0))
			return r;
		i = j;
	}
	return 0;
}

static int
emit_output(struct replay_scan *s, struct scan_line *l)
{
	size_t lead = 0;
	json_t *text, *a, *sp;

	if (s->lines == NULL) /* only followed, for the prompts */
		return 0;
	if (json_array_size(s->lines) >= SCAN_LINES_MAX) {
		json_object_set_new(s->sess, "lines_cut", json_true());
		return 0;
	}
	if ((text = scan_line_text(l, &lead)) == NULL)
		return 0;
	sp = scan_line_spans(l, lead);
	if ((a = sp != NULL
		    ? json_pack("[I,o,o]", (json_int_t)l->t0, text, sp)
		    : json_pack("[I,o]", (json_int_t)l->t0, text)) == NULL)
		return PV_ERR_ALLOC;
	return json_array_append_new(s->lines, a) == 0 ? 0 : PV_ERR_ALLOC;
}

static int
add_command(struct replay_scan *s, uint64_t t, const char *kind, json_t *text)
{
	json_t *o;

	if ((o = json_pack("{s:I,s:s,s:o}", "t", (json_int_t)t, "kind", kind,
		 "command", text)) == NULL)
		return PV_ERR_ALLOC;
	if (json_array_append_new(s->commands, o) != 0)
		return PV_ERR_ALLOC;
	s->last_exec = strcmp(kind, "exec") == 0 ? o : NULL;
	return 0;
}

/* A typed line ends: the command's time is when Enter was pressed. */
static int
emit_typed(struct replay_scan *s, struct scan_line *l)
{
	size_t lead = 0;
	json_t *text = scan_line_text(l, &lead);
	int r;

	if (text == NULL)
		return 0;
	if (!l->secret)
		return add_command(s, s->enter_t, "typed", text);
	json_decref(text);
	if ((text = json_string(SCAN_SECRET_TEXT)) == NULL)
		return PV_ERR_ALLOC;
	if ((r = add_command(s, s->enter_t, "typed", text)) != 0)
		return r;
	return json_object_set_new(json_array_get(s->commands,
				       json_array_size(s->commands) - 1),
		   "secret", json_true()) == 0
	    ? 0
	    : PV_ERR_ALLOC;
}

static int
scan_output(
    struct replay_scan *s, const uint8_t *d, size_t len, uint64_t t, int finish)
{
	int r;

	pv_buf_reset(s->tmp);
	if ((r = rec_escape_filter(s->esc_out, d, len, s->tmp)) != 0 ||
	    (finish && (r = rec_escape_finish(s->esc_out, s->tmp)) != 0))
		return r;
	if ((r = scan_line_feed(s, &s->out, pv_buf_ptr(s->tmp),
		 pv_buf_len(s->tmp), t, emit_output)) != 0)
		return r;
	if (finish && s->out.started)
		r = emit_output(s, &s->out);
	return r;
}

/* Does the output line shown last (unfinished) ask for a secret? */
static int
scan_secret_prompt(struct replay_scan *s)
{
	size_t n = pv_buf_len(s->out.cur);
	char *line;
	int m;

	if (!s->prompt_ok || n == 0 || (line = malloc(n + 1)) == NULL)
		return 0;
	memcpy(line, pv_buf_ptr(s->out.cur), n);
	line[n] = '\0';
	m = regexec(&s->prompt, line, 0, NULL, 0) == 0;
	free(line);
	return m;
}

/*
 * Typed input, line by line: Enter (CR or LF) ends a command, ^C drops the
 * line, ^U clears it; escape sequences (arrows, bracketed paste) go.
 */
static int
scan_input(struct replay_scan *s, const uint8_t *d, size_t len, uint64_t t)
{
	size_t i = 0, j;
	int r;

	while (i < len) {
		for (j = i; j < len && d[j] != '\r' && d[j] != '\n' &&
		     d[j] != 0x03 && d[j] != 0x15;
		     j++)
			;
		if (!s->in.started)
			s->in.secret = scan_secret_prompt(s);
		pv_buf_reset(s->tmp);
		if ((r = rec_escape_filter(s->esc_in, d + i, j - i, s->tmp)) !=
			0 ||
		    (r = scan_line_feed(s, &s->in, pv_buf_ptr(s->tmp),
			 pv_buf_len(s->tmp), t, emit_typed)) != 0)
			return r;
		if (j == len)
			break;
		if (d[j] == '\r' || d[j] == '\n') {
			s->enter_t = t;
			if ((r = emit_typed(s, &s->in)) != 0)
				return r;
		}
		scan_line_clear(&s->in);
		i = j + 1;
	}
	return 0;
}

/* An exec command is its EXEC event and the EXEC_MORE pieces after it. */
static int
scan_exec_done(struct replay_scan *s)
{
	struct rec_escape *e;
	json_t *text;
	int r;

	if (!s->exec_open)
		return 0;
	s->exec_open = 0;
	/* The broker marks a shell with an empty exec: not a command. */
	if (pv_buf_len(s->exec) == 0)
		return 0;
	if ((e = rec_escape_new(REC_ESC_TEXT)) == NULL)
		return PV_ERR_ALLOC;
	pv_buf_reset(s->tmp);
	r = rec_escape_filter(
	    e, pv_buf_ptr(s->exec), pv_buf_len(s->exec), s->tmp);
	if (r == 0)
		r = rec_escape_finish(e, s->tmp);
	rec_escape_free(e);
	if (r != 0)
		return r;
	if ((text = json_stringn(
		 (const char *)pv_buf_ptr(s->tmp), pv_buf_len(s->tmp))) == NULL)
		return PV_ERR_ALLOC;
	return add_command(s, s->exec_t, "exec", text);
}

static int
scan_exec(struct replay_scan *s, const struct rec_event *ev)
{
	size_t n = ev->len;
	int r;

	if (ev->type == REC_EV_EXEC) {
		if ((r = scan_exec_done(s)) != 0)
			return r;
		pv_buf_reset(s->exec);
		s->exec_t = ev->t_ms;
		s->exec_open = 1;
	}
	if (pv_buf_len(s->exec) + n > SCAN_EXEC_MAX)
		n = SCAN_EXEC_MAX - pv_buf_len(s->exec);
	return pv_buf_put(s->exec, ev->data, n);
}

static const char *
scan_op_name(enum rec_file_op op)
{
	static const char *const names[] = { "other", "get", "put", "remove",
		"rename", "mkdir", "rmdir", "setstat", "symlink", "list" };

	return (unsigned)op < sizeof(names) / sizeof(names[0]) ? names[op]
							       : "other";
}

static int
scan_file(struct replay_scan *s, const struct rec_event *ev)
{
	static const char *const dirs[] = { "none", "upload", "download" };
	static const uint8_t zero[32];
	char hex[65] = "";
	json_t *o;

	if (memcmp(ev->file.sha256, zero, 32) != 0)
		(void)pv_hex_encode(ev->file.sha256, 32, hex, sizeof(hex));
	o = json_pack("{s:I,s:s,s:s,s:I,s:s,s:I,s:o}", "t",
	    (json_int_t)ev->t_ms, "op", scan_op_name(ev->file.op), "direction",
	    (unsigned)ev->file.direction < 3 ? dirs[ev->file.direction] : "?",
	    "bytes", (json_int_t)ev->file.bytes, "sha256", hex, "result",
	    (json_int_t)ev->file.result, "path",
	    scan_string(ev->file.path, strlen(ev->file.path)));
	if (o == NULL)
		return PV_ERR_ALLOC;
	if (ev->file.path2 != NULL && ev->file.path2[0] != '\0')
		json_object_set_new(o, "path2",
		    scan_string(ev->file.path2, strlen(ev->file.path2)));
	return json_array_append_new(s->files, o) == 0 ? 0 : PV_ERR_ALLOC;
}

/* The exit goes to the exec command it ends, else to the session. */
static void
scan_exit(struct replay_scan *s, const struct rec_event *ev)
{
	json_t *to = s->last_exec != NULL ? s->last_exec : s->sess;

	if (ev->exit.kind == REC_EXIT_STATUS)
		json_object_set_new(
		    to, "exit_status", json_integer(ev->exit.value));
	else
		json_object_set_new(to, "exit_signal",
		    scan_string(
			ev->exit.signame != NULL ? ev->exit.signame : "",
			ev->exit.signame != NULL ? strlen(ev->exit.signame)
						 : 0));
	s->last_exec = NULL;
}

/* The header's who/where/when, verbatim strings (the page neutralises). */
static void
scan_header(json_t *sess, struct rec_reader *r)
{
	json_t *h = json_loads(rec_reader_header_json(r), 0, NULL), *v;
	uint16_t cols = 0, rows = 0;
	size_t i;

	for (i = 0; i < sizeof(scan_header_keys) / sizeof(scan_header_keys[0]);
	     i++) {
		v = json_object_get(h, scan_header_keys[i]);
		if (json_is_string(v))
			json_object_set(sess, scan_header_keys[i], v);
	}
	json_decref(h);
	json_object_set_new(
	    sess, "start_ms", json_integer((json_int_t)rec_reader_start_ms(r)));
	(void)rec_reader_header_size(r, &cols, &rows);
	json_object_set_new(sess, "cols", json_integer(cols));
	json_object_set_new(sess, "rows", json_integer(rows));
}

static void
scan_verify(json_t *sess, const char *path, struct rec_reader *r, int ret)
{
	const struct rec_totals *tt = rec_reader_totals(r);
	uint64_t last = rec_reader_last_ms(r);
	int64_t start = rec_reader_start_ms(r);
	char sha[65], end[32];
	struct stat st;

	json_object_set_new(sess, "ok", json_boolean(ret == 0));
	if (ret != 0)
		json_object_set_new(
		    sess, "error", json_string(rec_reader_error(r)));
	json_object_set_new(
	    sess, "events", json_integer((json_int_t)rec_reader_events(r)));
	json_object_set_new(
	    sess, "chunks", json_integer((json_int_t)rec_reader_chunks(r)));
	json_object_set_new(
	    sess, "duration_ms", json_integer((json_int_t)last));
	json_object_set_new(
	    sess, "output_bytes", json_integer((json_int_t)tt->output_bytes));
	json_object_set_new(
	    sess, "stderr_bytes", json_integer((json_int_t)tt->stderr_bytes));
	json_object_set_new(
	    sess, "input_bytes", json_integer((json_int_t)tt->input_bytes));
	if (pv_time_format((start + (int64_t)last) / 1000, end, sizeof(end)) ==
	    0)
		json_object_set_new(sess, "end", json_string(end));
	if (pv_file_sha256(path, sha) == 0)
		json_object_set_new(sess, "sha256", json_string(sha));
	if (stat(path, &st) == 0)
		json_object_set_new(
		    sess, "file_bytes", json_integer((json_int_t)st.st_size));
}

void
replay_scan_free(struct replay_scan *s)
{
	if (s == NULL)
		return;
	rec_escape_free(s->esc_out);
	rec_escape_free(s->esc_in);
	rec_escape_free(s->cast_esc);
	pv_buf_free(s->out.cur);
	pv_buf_free(s->in.cur);
	free(s->out.spans);
	free(s->in.spans);
	pv_buf_free(s->tmp);
	pv_buf_free(s->exec);
	json_decref(s->commands);
	json_decref(s->files);
	json_decref(s->lines);
	if (s->prompt_ok)
		regfree(&s->prompt);
	free(s);
}

int
replay_scan_new(struct replay_scan **out, json_t *sess, int page, FILE *cast)
{
	struct replay_scan *s;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return PV_ERR_ALLOC;
	s->sess = sess;
	s->cast = cast;
	/* without it a typed secret would be shown: fail closed */
	if (regcomp(&s->prompt, SCAN_SECRET_PROMPT,
		REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0) {
		free(s);
		return PV_ERR_ALLOC;
	}
	s->prompt_ok = 1;
	s->commands = json_array();
	s->files = json_array();
	s->lines = page ? json_array() : NULL;
	if (s->commands == NULL || s->files == NULL ||
	    (page && s->lines == NULL) ||
	    json_object_set(sess, "commands", s->commands) != 0 ||
	    json_object_set(sess, "files", s->files) != 0 ||
	    (page && json_object_set(sess, "lines", s->lines) != 0) ||
	    (s->esc_out = rec_escape_new(REC_ESC_TEXT)) == NULL ||
	    (s->esc_in = rec_escape_new(REC_ESC_TEXT)) == NULL ||
	    (cast != NULL &&
		(s->cast_esc = rec_escape_new(REC_ESC_TERMINAL)) == NULL) ||
	    scan_line_init(&s->out) != 0 || scan_line_init(&s->in) != 0 ||
	    (s->tmp = pv_buf_new(0)) == NULL ||
	    (s->exec = pv_buf_new(0)) == NULL) {
		replay_scan_free(s);
		return PV_ERR_ALLOC;
	}
	*out = s;
	return 0;
}

int
replay_scan_event(struct replay_scan *s, const struct rec_event *ev)
{
	double t = (double)ev->t_ms / 1000.0;
	char sz[32];
	int e;

	if (s->exec_open && ev->type != REC_EV_EXEC_MORE &&
	    (e = scan_exec_done(s)) != 0)
		return e;
	switch (ev->type) {
	case REC_EV_OUTPUT:
	case REC_EV_STDERR:
		if ((e = scan_output(s, ev->data, ev->len, ev->t_ms, 0)) != 0 ||
		    s->cast == NULL)
			return e;
		return replay_cast_event(
		    s->cast, s->cast_esc, s->tmp, t, "o", ev->data, ev->len, 0);
	case REC_EV_RESIZE:
		if (s->cast == NULL)
			return 0;
		(void)snprintf(sz, sizeof(sz), "%ux%u", (unsigned)ev->cols,
		    (unsigned)ev->rows);
		return replay_cast_event(s->cast, NULL, s->tmp, t, "r",
		    (const uint8_t *)sz, strlen(sz), 0);
	case REC_EV_INPUT:
		return scan_input(s, ev->data, ev->len, ev->t_ms);
	case REC_EV_EXEC:
	case REC_EV_EXEC_MORE:
		return scan_exec(s, ev);
	case REC_EV_FILE:
		return scan_file(s, ev);
	case REC_EV_EXIT:
		scan_exit(s, ev);
		return 0;
	default:
		return 0;
	}
}

int
replay_scan_end(struct replay_scan *s, uint64_t last_ms)
{
	int r;

	if ((r = scan_exec_done(s)) != 0 ||
	    (r = scan_output(s, NULL, 0, last_ms, 1)) != 0)
		return r;
	if (s->in.started) {
		/* typed but never entered: shown, at the end */
		s->enter_t = last_ms;
		if ((r = emit_typed(s, &s->in)) != 0)
			return r;
		scan_line_clear(&s->in);
	}
	return 0;
}

int
replay_scan(
    const char *path, const struct replay_keys *keys, int page, json_t **out)
{
	struct replay_scan *s = NULL;
	struct rec_reader *r = NULL;
	struct rec_event ev;
	json_t *sess;
	char err[512];
	FILE *cast = NULL;
	char *cast_text = NULL;
	size_t cast_len = 0;
	int ret = 0, rc = PV_ERR_ALLOC;

	*out = NULL;
	if ((sess = json_pack("{s:s}", "file", path)) == NULL)
		return PV_ERR_ALLOC;
	if (replay_open(path, keys, &r, err, sizeof(err)) != 0) {
		json_object_set_new(sess, "ok", json_false());
		json_object_set_new(sess, "error", json_string(err));
		*out = sess;
		return 0;
	}
	scan_header(sess, r);
	if (page &&
	    ((cast = open_memstream(&cast_text, &cast_len)) == NULL ||
		replay_cast_header(cast, r) != 0))
		goto out;
	if ((rc = replay_scan_new(&s, sess, page, cast)) != 0)
		goto out;
	while ((ret = rec_reader_next(r, &ev)) == 1) {
		if ((rc = replay_scan_event(s, &ev)) != 0)
			goto out;
	}
	if ((rc = replay_scan_end(s, rec_reader_last_ms(r))) != 0)
		goto out;
	scan_verify(sess, path, r, ret);
	rc = PV_ERR_ALLOC;
	if (cast != NULL) {
		if (fclose(cast) != 0)
			goto out;
		cast = NULL;
		json_object_set_new(
		    sess, "cast", json_stringn(cast_text, cast_len));
	}
	*out = sess;
	sess = NULL;
	rc = 0;
out:
	replay_scan_free(s);
	if (cast != NULL)
		(void)fclose(cast);
	free(cast_text);
	json_decref(sess);
	rec_reader_free(r);
	return rc;
}

/*
 * export --format commands: one JSON object a line per command typed or
 * executed, with the session's who and where, for a SIEM.
 */
int
replay_cmd_commands(int nfiles, char **files, const struct replay_keys *keys)
{
	static const char *const who[] = { "session", "engineer", "provider",
		"target", "account", "client" };
	json_t *sess, *c, *o;
	size_t i, k;
	int f, rc = 0;

	for (f = 0; f < nfiles; f++) {
		if (replay_scan(files[f], keys, 0, &sess) != 0) {
			fprintf(stderr, "provost-replay: %s: out of memory\n",
			    files[f]);
			return 1;
		}
		json_array_foreach(json_object_get(sess, "commands"), i, c)
		{
			json_int_t t =
			    json_integer_value(json_object_get(c, "t"));
			json_int_t start = json_integer_value(
			    json_object_get(sess, "start_ms"));
			char when[40];
			int64_t at = (int64_t)(start + t);

			if (pv_time_format(at / 1000, when, sizeof(when)) != 0)
				when[0] = '\0';
			/* 2026-11-27T20:45:49.123Z */
			if (strlen(when) == 20)
				(void)snprintf(when + 19, sizeof(when) - 19,
				    ".%03dZ", (int)(at % 1000));
			o = json_pack(
			    "{s:s,s:s}", "time", when, "file", files[f]);
			if (o == NULL)
				break;
			json_object_set_new(o, "t_ms", json_integer(t));
			for (k = 0; k < sizeof(who) / sizeof(who[0]); k++) {
				json_t *v = json_object_get(sess, who[k]);

				if (v != NULL)
					json_object_set(o, who[k], v);
			}
			json_object_set(o, "kind", json_object_get(c, "kind"));
			json_object_set(
			    o, "command", json_object_get(c, "command"));
			if (json_object_get(c, "exit_status") != NULL)
				json_object_set(o, "exit_status",
				    json_object_get(c, "exit_status"));
			if (json_object_get(c, "secret") != NULL)
				json_object_set(
				    o, "secret", json_object_get(c, "secret"));
			if (json_object_get(c, "exit_signal") != NULL)
				json_object_set(o, "exit_signal",
				    json_object_get(c, "exit_signal"));
			if (replay_put_json_line(stdout, o) != 0)
				rc = 1;
		}
		if (!json_is_true(json_object_get(sess, "ok"))) {
			fprintf(stderr, "%s: %s\n", files[f],
			    json_string_value(json_object_get(sess, "error")));
			rc = 1;
		}
		json_decref(sess);
	}
	fflush(stdout);
	return rc;
}
