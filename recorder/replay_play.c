/*
 * replay_play.c: provost-replay play (real-time playback with pause and
 * quit keys) and grep (lines typed or shown, with time offsets and context).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/common.h"
#include "recorder/recorder.h"
#include "recorder/replay-int.h"

#define LINE_MAX_BYTES 65536
#define CONTEXT_MAX 100

/* Waits ms, watching the keyboard: 1 = quit, 0 = go on. */
static int
play_wait(int tty, uint64_t ms, int *paused)
{
	uint64_t deadline = pv_mono_ms() + ms, now;
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	unsigned char c;
	int timeout, n;

	for (;;) {
		now = pv_mono_ms();
		if (!*paused && now >= deadline)
			return 0;
		if (!tty) {
			struct timespec ts = {
				.tv_sec = (time_t)((deadline - now) / 1000),
				.tv_nsec =
				    (long)((deadline - now) % 1000) * 1000000L,
			};

			(void)nanosleep(&ts, NULL);
			continue;
		}
		timeout = *paused ? -1 : (int)(deadline - now);
		n = poll(&p, 1, timeout);
		if (n < 0 && errno != EINTR)
			return 1;
		if (n <= 0)
			continue;
		if (read(STDIN_FILENO, &c, 1) != 1)
			return 1;
		if (c == 'q' || c == 'Q' || c == 3)
			return 1;
		if (c == ' ') {
			if (*paused)
				deadline = pv_mono_ms() +
				    (deadline > now ? deadline - now : 0);
			*paused = !*paused;
		}
	}
}

int
replay_cmd_play(int argc, char **argv, const struct replay_keys *keys)
{
	struct rec_reader *r = NULL;
	struct rec_escape *esc = NULL;
	struct pv_buf *out = NULL;
	struct rec_event ev;
	struct termios saved, raw;
	double speed = 1.0, idle = 0.0;
	const char *path = NULL;
	uint64_t prev = 0, delay;
	int rawout = 0, tty = 0, paused = 0, ret = 0, rc = 1, a;
	char *end;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--raw") == 0)
			rawout = 1;
		else if ((strcmp(argv[a], "--speed") == 0 ||
			     strcmp(argv[a], "--idle-limit") == 0) &&
		    a + 1 < argc) {
			double v = strtod(argv[a + 1], &end);

			if (*end != '\0' || !(v > 0.0) || v > 1000000.0) {
				fprintf(stderr, "provost-replay: bad %s %s\n",
				    argv[a], argv[a + 1]);
				return 2;
			}
			if (argv[a][2] == 's')
				speed = v;
			else
				idle = v;
			a++;
		} else if (path == NULL && argv[a][0] != '-')
			path = argv[a];
		else {
			fprintf(stderr, "provost-replay: play: unexpected %s\n",
			    argv[a]);
			return 2;
		}
	}
	if (path == NULL) {
		fprintf(stderr, "provost-replay: play needs a FILE\n");
		return 2;
	}
	if (replay_open_report(path, keys, &r) != 0)
		return 1;
	if ((esc = rec_escape_new(REC_ESC_TERMINAL)) == NULL ||
	    (out = pv_buf_new(0)) == NULL)
		goto out;
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
			tty = 1;
	}
	while ((ret = rec_reader_next(r, &ev)) == 1) {
		if (ev.type != REC_EV_OUTPUT && ev.type != REC_EV_STDERR)
			continue;
		delay = (uint64_t)((double)(ev.t_ms - prev) / speed);
		if (idle > 0.0 && (double)delay > idle * 1000.0)
			delay = (uint64_t)(idle * 1000.0);
		prev = ev.t_ms;
		if (delay > 0 && play_wait(tty, delay, &paused)) {
			ret = 0;
			break;
		}
		if (rawout) {
			(void)pv_write_all(STDOUT_FILENO, ev.data, ev.len);
			continue;
		}
		pv_buf_reset(out);
		if (rec_escape_filter(esc, ev.data, ev.len, out) != 0)
			goto out;
		(void)pv_write_all(
		    STDOUT_FILENO, pv_buf_ptr(out), pv_buf_len(out));
	}
	pv_buf_reset(out);
	if (!rawout && rec_escape_finish(esc, out) == 0)
		(void)pv_write_all(
		    STDOUT_FILENO, pv_buf_ptr(out), pv_buf_len(out));
	if (tty)
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	tty = 0;
	replay_report(path, r, ret);
	rc = ret == 0 ? 0 : 1;
out:
	if (tty)
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	pv_buf_free(out);
	rec_escape_free(esc);
	rec_reader_free(r);
	return rc;
}

/*
 * grep: each stream becomes lines; a line remembers when each of its bytes
 * was recorded, so that a match is stamped with the time of its own first
 * byte (a command typed after a prompt, a word written after a pause), not
 * with the time the line began.
 */
struct grep_line {
	char *s;
	uint64_t t;  /* when its first byte was recorded */
	uint64_t no; /* line number in this stream */
};

/* The bytes of the current line from off on came in an event at t. */
struct grep_span {
	size_t off;
	uint64_t t;
};

struct grep_stream {
	const char *name; /* "output" or "input" */
	struct rec_escape *esc;
	struct pv_buf *cur;
	struct grep_span *spans; /* in order of off; at most one per byte */
	size_t nspans, spancap;
	int cur_started;
	uint64_t lineno;
	struct grep_line ring[CONTEXT_MAX]; /* the lines before */
	size_t nring;
	uint64_t after; /* context lines still to print */
	uint64_t last_printed;
	int printed_any;
};

struct grep_ctx {
	const char *file;
	regex_t re;
	/*
	 * A pattern with no ERE operator is a literal: searched with memmem
	 * (-i: on an ASCII-lowered copy, as REG_ICASE folds in the C
	 * locale), the same leftmost match regexec finds, at a fraction of
	 * its cost per line.  NULL: regexec.
	 */
	char *lit;
	size_t litlen;
	int icase;
	char line[LINE_MAX_BYTES + 1];  /* the line being matched, with NUL */
	char lower[LINE_MAX_BYTES + 1]; /* -i: its ASCII-lowered copy */
	size_t context;
	int json;
	/*
	 * The search index: literals every matching line holds (the whole
	 * pattern when it is a literal; runs of a regex that any match must
	 * contain), each at least 3 bytes; a file whose index lacks a
	 * trigram of one of them is skipped unread.  None: every file is
	 * read (also with --no-index).
	 */
	char **req;
	size_t nreq;
	int req_skip_high; /* -i regex: trigrams with bytes >= 0x80 unsure */
	int no_index;
	struct replay_json_array arr;
	uint64_t matches;
	struct pv_buf *tmp;
};

static void
grep_print(struct grep_ctx *g, struct grep_stream *s, const char *line,
    uint64_t t, uint64_t no, int match)
{
	char when[32];
	char sep = match ? ':' : '-';
	json_t *o;

	(void)rec_format_offset(t, when, sizeof(when));
	if (g->json) {
		if ((o = json_object()) == NULL)
			return;
		json_object_set_new(o, "file", json_string(g->file));
		json_object_set_new(o, "t_ms", json_integer((json_int_t)t));
		json_object_set_new(o, "offset", json_string(when));
		json_object_set_new(o, "stream", json_string(s->name));
		json_object_set_new(o, "match", json_boolean(match));
		json_object_set_new(o, "line", json_string(line));
		(void)replay_json_array_put(&g->arr, o);
		s->last_printed = no;
		s->printed_any = 1;
		return;
	}
	if (g->context > 0 && s->printed_any && no > s->last_printed + 1)
		printf("--\n");
	printf("%s%c%s%c%s%c%s\n", g->file, sep, when, sep, s->name, sep, line);
	s->last_printed = no;
	s->printed_any = 1;
}

/* When the byte at off of the current line was recorded (t_end: none). */
static uint64_t
grep_byte_time(const struct grep_stream *s, size_t off, uint64_t t_end)
{
	size_t lo = 0, hi = s->nspans, mid;

	if (s->nspans == 0)
		return t_end;
	/* the last span that starts at or before off */
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (s->spans[mid].off <= off)
			lo = mid;
		else
			hi = mid;
	}
	return s->spans[lo].t;
}

/*
 * Literals that every match of the ERE p must contain, for the index: the
 * runs of ordinary characters at the top level (outside any group or
 * bracket) not made optional by a quantifier after them.  A top-level
 * alternation (|) means none.  Conservative by construction: an escape
 * that may be a GNU operator (\w, \b, \<, \1...), a bracket, a group, an
 * anchor or '.' ends a run; '*', '?' and '{' take the character before
 * them off it; '+' keeps it but ends the run.  Only runs of 3 bytes or
 * more are kept (a trigram index says nothing about shorter ones).
 */
static int
grep_add_req(struct grep_ctx *g, const char *run, size_t len)
{
	char **n;

	if (len < 3)
		return 0;
	if ((n = reallocarray(g->req, g->nreq + 1, sizeof(*n))) == NULL)
		return PV_ERR_ALLOC;
	g->req = n;
	if ((g->req[g->nreq] = strndup(run, len)) == NULL)
		return PV_ERR_ALLOC;
	g->nreq++;
	return 0;
}

static int
grep_required(struct grep_ctx *g, const char *p)
{
	size_t i = 0, len = strlen(p), rl = 0, j;
	int depth = 0, last_lit = 0, r;
	char *run;

	if ((run = malloc(len + 1)) == NULL)
		return PV_ERR_ALLOC;
#define END_RUN()                                        \
	do {                                             \
		if ((r = grep_add_req(g, run, rl)) != 0) \
			goto out;                        \
		rl = 0;                                  \
	} while (0)
	for (i = 0; i < len; i++) {
		char c = p[i];

		if (c == '\\') {
			if (i + 1 >= len)
				goto none;
			c = p[++i];
			if (depth == 0 &&
			    strchr("\\.[]()*+?{}|^$", c) != NULL) {
				run[rl++] = c;
				last_lit = 1;
			} else {
				END_RUN();
				last_lit = 0;
			}
			continue;
		}
		if (c == '[') {
			/* ']' first (or after '^') is a member; [: :] etc. */
			j = i + 1;
			if (j < len && p[j] == '^')
				j++;
			if (j < len && p[j] == ']')
				j++;
			for (; j < len && p[j] != ']'; j++)
				if (p[j] == '[' && j + 1 < len &&
				    strchr(":.=", p[j + 1]) != NULL) {
					const char *e = strstr(p + j + 2,
					    p[j + 1] == ':'       ? ":]"
						: p[j + 1] == '.' ? ".]"
								  : "=]");

					if (e == NULL)
						goto none;
					j = (size_t)(e - p) + 1;
				}
			if (j >= len)
				goto none;
			i = j;
			END_RUN();
			last_lit = 0;
			continue;
		}
		if (c == '(' || c == ')') {
			depth += c == '(' ? 1 : -1;
			if (depth < 0)
				goto none;
			END_RUN();
			last_lit = 0;
			continue;
		}
		if (depth > 0)
			continue;
		if (c == '|')
			goto none; /* a top-level alternation */
		if (c == '*' || c == '?' || c == '{') {
			if (last_lit && rl > 0)
				rl--;
			END_RUN();
			last_lit = 0;
			if (c == '{')
				while (i + 1 < len && p[i + 1] != '}')
					i++;
			continue;
		}
		if (c == '+') {
			END_RUN();
			last_lit = 0;
			continue;
		}
		if (c == '.' || c == '^' || c == '$' || c == '}') {
			END_RUN();
			last_lit = 0;
			continue;
		}
		run[rl++] = c;
		last_lit = 1;
	}
	END_RUN();
#undef END_RUN
	r = 0;
	goto out;
none:
	/* no literal: drop what was found, every file is read */
	for (i = 0; i < g->nreq; i++)
		free(g->req[i]);
	g->nreq = 0;
	r = 0;
out:
	free(run);
	return r;
}

/*
 * Is PATTERN free of ERE operators (so a literal)?  Anything that may be
 * one, a backslash included, leaves it to regexec.
 */
static int
grep_is_literal(const char *pattern)
{
	return pattern[strcspn(pattern, "\\.[]()*+?{}|^$")] == '\0';
}

static void
grep_lower(char *dst, const char *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = src[i] >= 'A' && src[i] <= 'Z' ? (char)(src[i] + 32)
							: src[i];
}

/* Where the pattern first matches line (len bytes, no NUL), or -1. */
static long
grep_match(struct grep_ctx *g, const char *line, size_t len)
{
	regmatch_t m[1];
	const char *p;

	if (g->lit == NULL)
		return regexec(&g->re, line, 1, m, 0) == 0
		    ? (m[0].rm_so >= 0 ? (long)m[0].rm_so : 0)
		    : -1;
	if (g->icase) {
		grep_lower(g->lower, line, len);
		line = g->lower;
	}
	p = memmem(line, len, g->lit, g->litlen);
	return p != NULL ? (long)(p - line) : -1;
}

/* The line ends (by a newline in an event at t_end, or its length). */
static int
grep_line_done(struct grep_ctx *g, struct grep_stream *s, uint64_t t_end)
{
	size_t i, len = pv_buf_len(s->cur);
	uint64_t no = ++s->lineno, t_line, t_match;
	char *keep;
	long at;

	/* the escape filter drops NUL: a line holds none */
	if (len > LINE_MAX_BYTES)
		return PV_ERR_INTERNAL;
	memcpy(g->line, pv_buf_ptr(s->cur), len);
	g->line[len] = '\0';
	t_line = grep_byte_time(s, 0, t_end);
	if ((at = grep_match(g, g->line, len)) >= 0) {
		t_match = grep_byte_time(s, (size_t)at, t_end);
		for (i = 0; i < s->nring; i++) {
			if (s->ring[i].no > s->last_printed || !s->printed_any)
				grep_print(g, s, s->ring[i].s, s->ring[i].t,
				    s->ring[i].no, 0);
		}
		grep_print(g, s, g->line, t_match, no, 1);
		g->matches++;
		s->after = g->context;
	} else if (s->after > 0) {
		grep_print(g, s, g->line, t_line, no, 0);
		s->after--;
	}
	pv_buf_reset(s->cur);
	s->nspans = 0;
	s->cur_started = 0;
	if (g->context == 0)
		return 0;
	/* only context keeps lines: a copy for the ring */
	if ((keep = strdup(g->line)) == NULL)
		return PV_ERR_ALLOC;
	if (s->nring == g->context) {
		free(s->ring[0].s);
		memmove(
		    s->ring, s->ring + 1, (s->nring - 1) * sizeof(s->ring[0]));
		s->nring--;
	}
	s->ring[s->nring++] =
	    (struct grep_line){ .s = keep, .t = t_line, .no = no };
	return 0;
}

/* The bytes put next (from the line's current end) came at t. */
static int
grep_span_add(struct grep_stream *s, uint64_t t)
{
	struct grep_span *n;
	size_t cap;

	if (s->nspans > 0 && s->spans[s->nspans - 1].t == t)
		return 0;
	if (s->nspans == s->spancap) {
		cap = s->spancap ? s->spancap * 2 : 16;
		if ((n = reallocarray(s->spans, cap, sizeof(*n))) == NULL)
			return PV_ERR_ALLOC;
		s->spans = n;
		s->spancap = cap;
	}
	s->spans[s->nspans++] =
	    (struct grep_span){ .off = pv_buf_len(s->cur), .t = t };
	return 0;
}

/* Feeds filtered text: newline ends a line, backspace erases a character. */
static int
grep_feed(struct grep_ctx *g, struct grep_stream *s, const uint8_t *d,
    size_t len, uint64_t t)
{
	size_t i = 0, j, n, room;
	const uint8_t *nl;
	int r;

	while (i < len) {
		if (d[i] == '\n' || pv_buf_len(s->cur) >= LINE_MAX_BYTES) {
			if ((r = grep_line_done(g, s, t)) != 0)
				return r;
			if (d[i] == '\n')
				i++;
			continue;
		}
		if (d[i] == '\b') {
			n = pv_buf_len(s->cur);
			while (
			    n > 0 && (pv_buf_ptr(s->cur)[n - 1] & 0xc0) == 0x80)
				n--;
			if (n > 0)
				n--;
			(void)pv_buf_consume_end(
			    s->cur, pv_buf_len(s->cur) - n);
			/* erased bytes take their times with them */
			while (
			    s->nspans > 0 && s->spans[s->nspans - 1].off >= n)
				s->nspans--;
			i++;
			continue;
		}
		s->cur_started = 1;
		/* A run up to the next newline or backspace goes in at once. */
		room = LINE_MAX_BYTES - pv_buf_len(s->cur);
		j = len - i < room ? len : i + room;
		if ((nl = memchr(d + i, '\n', j - i)) != NULL)
			j = (size_t)(nl - d);
		if ((nl = memchr(d + i, '\b', j - i)) != NULL)
			j = (size_t)(nl - d);
		if ((r = grep_span_add(s, t)) != 0 ||
		    (r = pv_buf_put(s->cur, d + i, j - i)) != 0)
			return r;
		i = j;
	}
	return 0;
}

static int
grep_event(struct grep_ctx *g, struct grep_stream *s, const uint8_t *d,
    size_t len, uint64_t t, int finish)
{
	int r;

	pv_buf_reset(g->tmp);
	if ((r = rec_escape_filter(s->esc, d, len, g->tmp)) != 0 ||
	    (finish && (r = rec_escape_finish(s->esc, g->tmp)) != 0))
		return r;
	if ((r = grep_feed(g, s, pv_buf_ptr(g->tmp), pv_buf_len(g->tmp), t)) !=
	    0)
		return r;
	if (finish && s->cur_started)
		return grep_line_done(g, s, t);
	return 0;
}

static void
grep_stream_clear(struct grep_stream *s)
{
	size_t i;

	for (i = 0; i < s->nring; i++)
		free(s->ring[i].s);
	rec_escape_free(s->esc);
	pv_buf_free(s->cur);
	free(s->spans);
	memset(s, 0, sizeof(*s));
}

/*
 * Can the file be skipped?  1 when its index (final chunk only) lacks a
 * trigram of a required literal; 0 to read it in full (no index, a
 * saturated one, no final chunk, any error: the full read reports it).
 */
static int
grep_index_skips(
    struct grep_ctx *g, const char *path, const struct replay_keys *keys)
{
	struct rec_reader *r = NULL;
	struct rec_index ix;
	char err[512];
	int skip = 0;
	size_t i;

	if (replay_open(path, keys, &r, err, sizeof(err)) != 0) {
		rec_reader_free(r);
		return 0;
	}
	if (rec_reader_index(r, &ix) == 0 && !ix.saturated)
		for (i = 0; i < g->nreq && !skip; i++)
			skip = !rec_index_may_match(&ix,
			    (const uint8_t *)g->req[i], strlen(g->req[i]),
			    g->req_skip_high);
	rec_reader_free(r);
	return skip;
}

static int
grep_file(struct grep_ctx *g, const char *path, const struct replay_keys *keys,
    int want_in, int want_out)
{
	if (g->nreq > 0 && !g->no_index && grep_index_skips(g, path, keys))
		return 0;
	struct grep_stream so = { .name = "output" }, si = { .name = "input" };
	struct rec_reader *r = NULL;
	struct rec_event ev;
	int ret, rc = -1, exec_open = 0;

	g->file = path;
	if ((so.esc = rec_escape_new(REC_ESC_TEXT)) == NULL ||
	    (si.esc = rec_escape_new(REC_ESC_TEXT)) == NULL ||
	    (so.cur = pv_buf_new(LINE_MAX_BYTES * 2)) == NULL ||
	    (si.cur = pv_buf_new(LINE_MAX_BYTES * 2)) == NULL)
		goto out;
	if (replay_open_report(path, keys, &r) != 0)
		goto out;
	while ((ret = rec_reader_next(r, &ev)) == 1) {
		/* an exec command is one line, over its EXEC_MORE pieces */
		if (exec_open && ev.type != REC_EV_EXEC_MORE) {
			exec_open = 0;
			if (grep_event(g, &si, NULL, 0, ev.t_ms, 1) != 0)
				goto out;
		}
		if (want_out &&
		    (ev.type == REC_EV_OUTPUT || ev.type == REC_EV_STDERR))
			ret = grep_event(g, &so, ev.data, ev.len, ev.t_ms, 0);
		else if (want_in && ev.type == REC_EV_INPUT)
			ret = grep_event(g, &si, ev.data, ev.len, ev.t_ms, 0);
		else if (want_in &&
		    (ev.type == REC_EV_EXEC || ev.type == REC_EV_EXEC_MORE)) {
			if (ev.type == REC_EV_EXEC &&
			    grep_event(g, &si, NULL, 0, ev.t_ms, 1) != 0)
				goto out;
			exec_open = 1;
			ret = grep_event(g, &si, ev.data, ev.len, ev.t_ms, 0);
		} else
			continue;
		if (ret != 0)
			goto out;
	}
	if (grep_event(g, &so, NULL, 0, rec_reader_last_ms(r), 1) != 0 ||
	    grep_event(g, &si, NULL, 0, rec_reader_last_ms(r), 1) != 0)
		goto out;
	replay_report(path, r, ret);
	rc = ret == 0 ? 0 : -1;
out:
	grep_stream_clear(&so);
	grep_stream_clear(&si);
	rec_reader_free(r);
	return rc;
}

/*
 * -j N: files searched by N processes at once, each file's lines printed
 * in the order of the files as one process prints them.  A job is a child
 * writing its stdout and stderr into pipes that the parent drains in file
 * order (so a job ahead of the one being printed waits once its pipe is
 * full: memory stays bounded, nothing is written to disk).
 */
#define GREP_JOBS_MAX 64
#define GREP_PIPE_SIZE (1024 * 1024)

struct grep_job {
	pid_t pid;
	int out, err; /* the read ends; -1: EOF */
};

struct grep_want {
	const struct replay_keys *keys;
	int in, out;
};

static void __attribute__((noreturn)) grep_child(struct grep_ctx *g,
    const char *path, const struct grep_want *w, int out, int err)
{
	int rc;

	if (dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
		_exit(2);
	(void)close(out);
	(void)close(err);
	/* every object after a comma: the parent drops the first one's */
	if (g->json)
		g->arr.n = 1;
	g->matches = 0;
	g->no_index = 1; /* the parent read the index */
	rc = grep_file(g, path, w->keys, w->in, w->out);
	(void)fflush(stdout);
	(void)fflush(stderr);
	_exit(rc != 0 ? 2 : g->matches > 0 ? 0 : 1);
}

static int
grep_job_start(struct grep_ctx *g, const char *path, const struct grep_want *w,
    struct grep_job *j)
{
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 };

	if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0)
		goto fail;
	(void)fcntl(po[0], F_SETPIPE_SZ, GREP_PIPE_SIZE);
	(void)fflush(stdout);
	(void)fflush(stderr);
	if ((j->pid = fork()) < 0)
		goto fail;
	if (j->pid == 0) {
		(void)close(po[0]);
		(void)close(pe[0]);
		grep_child(g, path, w, po[1], pe[1]);
	}
	(void)close(po[1]);
	(void)close(pe[1]);
	j->out = po[0];
	j->err = pe[0];
	return 0;
fail:
	fprintf(
	    stderr, "provost-replay: grep: %s: %s\n", path, strerror(errno));
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			(void)close(po[i]);
		if (pe[i] >= 0)
			(void)close(pe[i]);
	}
	return -1;
}

/* Prints job j's output as it comes, then its status: 0, 1 or 2. */
static int
grep_job_finish(struct grep_ctx *g, struct grep_job *j)
{
	struct pollfd p[2];
	char buf[65536];
	ssize_t n;
	int st, first = 1, i;

	while (j->out >= 0 || j->err >= 0) {
		p[0] = (struct pollfd){ .fd = j->out, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = j->err, .events = POLLIN };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		for (i = 0; i < 2; i++) {
			int *fd = i == 0 ? &j->out : &j->err;
			const char *b = buf;

			if (*fd < 0 || p[i].revents == 0)
				continue;
			n = read(*fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				(void)close(*fd);
				*fd = -1;
				continue;
			}
			if (i == 1) {
				(void)fwrite(buf, 1, (size_t)n, stderr);
				continue;
			}
			/* --json: the array's first object has no comma */
			if (g->json && first && g->arr.n == 0 &&
			    buf[0] == ',') {
				b++;
				n--;
			}
			if (g->json && first)
				g->arr.n++;
			first = 0;
			(void)fwrite(b, 1, (size_t)n, stdout);
		}
	}
	for (i = 0; i < 2; i++)
		if ((i == 0 ? j->out : j->err) >= 0)
			(void)close(i == 0 ? j->out : j->err);
	while (waitpid(j->pid, &st, 0) < 0)
		if (errno != EINTR)
			return 2;
	return WIFEXITED(st) && WEXITSTATUS(st) <= 1 ? WEXITSTATUS(st) : 2;
}

/*
 * The files, jobs at a time; *err set when one could not be searched.
 * The index is read here, before a job is started: a file it rules out
 * costs no process (a fork and two pipes cost more than reading it).
 */
#define JOB_FAILED 0
#define JOB_RUNS 1
#define JOB_SKIPPED 2
static void
grep_jobs(struct grep_ctx *g, char **files, int n, const struct grep_want *w,
    int jobs, int *err)
{
	struct grep_job q[GREP_JOBS_MAX];
	int next = 0, emit = 0, rc;
	char st[GREP_JOBS_MAX] = { 0 };

	while (emit < n) {
		for (; next < n && next - emit < jobs; next++) {
			if (g->nreq > 0 && !g->no_index &&
			    grep_index_skips(g, files[next], w->keys))
				st[next % jobs] = JOB_SKIPPED;
			else
				st[next % jobs] = grep_job_start(g, files[next],
						      w, &q[next % jobs]) == 0
				    ? JOB_RUNS
				    : JOB_FAILED;
		}
		rc = st[emit % jobs] == JOB_SKIPPED ? 1
		    : st[emit % jobs] == JOB_RUNS
		    ? grep_job_finish(g, &q[emit % jobs])
		    : 2;
		if (rc == 0)
			g->matches++;
		else if (rc != 1)
			*err = 1;
		emit++;
	}
}

int
replay_cmd_grep(int argc, char **argv, const struct replay_keys *keys)
{
	struct grep_ctx g = { .context = 0 };
	int want_in = 0, want_out = 0, icase = 0, a, err = 0;
	const char *pattern = NULL;
	uint32_t c, jobs = 0;
	long cpus;

	for (a = 1; a < argc && argv[a][0] == '-'; a++) {
		if (strcmp(argv[a], "--input") == 0)
			want_in = 1;
		else if (strcmp(argv[a], "--output") == 0)
			want_out = 1;
		else if (strcmp(argv[a], "-i") == 0)
			icase = 1;
		else if (strcmp(argv[a], "--json") == 0)
			g.json = 1;
		else if (strcmp(argv[a], "--no-index") == 0)
			g.no_index = 1;
		else if (strcmp(argv[a], "-C") == 0 && a + 1 < argc &&
		    pv_parse_u32(argv[a + 1], 0, CONTEXT_MAX, &c) == 0) {
			g.context = c;
			a++;
		} else if (strcmp(argv[a], "-j") == 0 && a + 1 < argc &&
		    pv_parse_u32(argv[a + 1], 1, GREP_JOBS_MAX, &jobs) == 0) {
			a++;
		} else if (strcmp(argv[a], "--") == 0) {
			a++;
			break;
		} else {
			fprintf(stderr, "provost-replay: grep: bad option %s\n",
			    argv[a]);
			return 2;
		}
	}
	if (a + 1 >= argc) {
		fprintf(stderr, "provost-replay: grep needs PATTERN FILE...\n");
		return 2;
	}
	if (!want_in && !want_out)
		want_in = want_out = 1;
	pattern = argv[a++];
	if (regcomp(&g.re, pattern, REG_EXTENDED | (icase ? REG_ICASE : 0)) !=
	    0) {
		fprintf(stderr, "provost-replay: bad pattern %s\n", pattern);
		return 2;
	}
	g.icase = icase;
	if ((g.tmp = pv_buf_new(0)) == NULL ||
	    (grep_is_literal(pattern) && (g.lit = strdup(pattern)) == NULL)) {
		fprintf(stderr, "provost-replay: grep: out of memory\n");
		err = 1;
		goto out;
	}
	if (g.lit != NULL) {
		g.litlen = strlen(g.lit);
		if (icase)
			grep_lower(g.lit, g.lit, g.litlen);
	}
	/* the index compares lower-cased ASCII, so -i needs nothing more */
	if ((g.lit != NULL ? grep_add_req(&g, g.lit, g.litlen)
			   : grep_required(&g, pattern)) != 0) {
		fprintf(stderr, "provost-replay: grep: out of memory\n");
		err = 1;
		goto out;
	}
	g.req_skip_high = g.lit == NULL && icase;
	/* by default as many jobs as processors (at most 8) */
	if (jobs == 0) {
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		jobs = cpus < 1 ? 1 : cpus > 8 ? 8 : (uint32_t)cpus;
	}
	if (g.json)
		replay_json_array_begin(&g.arr, stdout);
	if (jobs > 1 && argc - a > 1) {
		const struct grep_want w = {
			.keys = keys,
			.in = want_in,
			.out = want_out,
		};

		grep_jobs(&g, argv + a, argc - a, &w, (int)jobs, &err);
	} else
		for (; a < argc; a++) {
			if (grep_file(&g, argv[a], keys, want_in, want_out) !=
			    0)
				err = 1;
		}
	if (g.json)
		replay_json_array_end(&g.arr);
	fflush(stdout);
out:
	for (size_t i = 0; i < g.nreq; i++)
		free(g.req[i]);
	free(g.req);
	pv_buf_free(g.tmp);
	free(g.lit);
	regfree(&g.re);
	return err ? 2 : g.matches > 0 ? 0 : 1;
}
