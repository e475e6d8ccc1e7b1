/*
 * test_recorder_escape.c: the terminal escape filter against a catalogue
 * of hostile sequences, whole and split at every byte across events.
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

#include "common/common.h"
#include "recorder/recorder.h"

static const struct {
	const char *what;
	const char *in;
	const char *term; /* REC_ESC_TERMINAL output */
	const char *text; /* REC_ESC_TEXT output */
} cases[] = {
	{ "plain text", "hello, world\n", "hello, world\n", "hello, world\n" },
	{ "CRLF", "a\r\nb\r\n", "a\r\nb\r\n", "a\nb\n" },
	{ "lone CR", "50%\r100%\n", "50%\r100%\n", "50%\n100%\n" },
	{ "SGR colour kept", "\x1b[1;31mred\x1b[0m", "\x1b[1;31mred\x1b[0m",
	    "red" },
	{ "cursor moves kept", "\x1b[2J\x1b[H\x1b[10;5H",
	    "\x1b[2J\x1b[H\x1b[10;5H", "" },
	{ "OSC 52 clipboard write (BEL)",
	    "a\x1b]52;c;Y3VybCBldmlsLnNofHNo\x07z", "az", "az" },
	{ "OSC 52 clipboard write (ST)", "a\x1b]52;c;ZWNobyBoaQ==\x1b\\z", "az",
	    "az" },
	{ "OSC 8 hyperlink",
	    "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\", "click",
	    "click" },
	{ "OSC 0 title set", "\x1b]0;pwned\x07ok", "ok", "ok" },
	{ "OSC 2 title set", "\x1b]2;pwned\x1b\\ok", "ok", "ok" },
	{ "title report CSI 21 t", "\x1b[21tX", "X", "X" },
	{ "window ops CSI t", "\x1b[8;100;100tX", "X", "X" },
	{ "device status report", "\x1b[6nX", "X", "X" },
	{ "device attributes", "\x1b[cX\x1b[>cY", "XY", "XY" },
	{ "DECRQM", "\x1b[?2026$pX", "X", "X" },
	{ "DECRQSS via DCS", "\x1bP$qm\x1b\\X", "X", "X" },
	{ "DCS tmux passthrough", "\x1bPtmux;\x1b\x1b]52;c;eA==\x07\x1b\\X",
	    "X", "X" },
	{ "APC", "\x1b_Gf=100;AAAA\x1b\\X", "X", "X" },
	{ "PM", "\x1b^secret\x1b\\X", "X", "X" },
	{ "SOS", "\x1bXsecret\x1b\\X", "X", "X" },
	{ "screen title ESC k", "\x1bkpwned\x1b\\X", "X", "X" },
	{ "DECID", "\x1bZX", "X", "X" },
	{ "raw 8-bit CSI",
	    "\x9b"
	    "6nX",
	    "\xef\xbf\xbd"
	    "6nX",
	    "\xef\xbf\xbd"
	    "6nX" },
	{ "raw 8-bit OSC",
	    "\x9d"
	    "0;t\x07X",
	    "\xef\xbf\xbd"
	    "0;tX",
	    "\xef\xbf\xbd"
	    "0;tX" },
	{ "UTF-8 encoded C1 CSI",
	    "\xc2\x9b"
	    "6nX",
	    "6nX", "6nX" },
	{ "UTF-8 encoded C1 OSC",
	    "\xc2\x9d"
	    "52;c;eA==\xc2\x9cX",
	    "52;c;eA==X", "52;c;eA==X" },
	{ "bidi RLO", "file\xe2\x80\xaetxt.exe", "filetxt.exe", "filetxt.exe" },
	{ "bidi LRE PDF",
	    "\xe2\x80\xaa"
	    "a\xe2\x80\xac",
	    "a", "a" },
	{ "bidi isolates",
	    "\xe2\x81\xa6"
	    "a\xe2\x81\xa9",
	    "a", "a" },
	{ "valid UTF-8 kept", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92" },
	{ "overlong slash", "\xc0\xafX", "\xef\xbf\xbd\xef\xbf\xbdX",
	    "\xef\xbf\xbd\xef\xbf\xbdX" },
	{ "surrogate", "\xed\xa0\x80X", "\xef\xbf\xbdX", "\xef\xbf\xbdX" },
	{ "bell and NUL dropped",
	    "a\x07\x01"
	    "b",
	    "ab", "ab" },
	{ "SO shift-out dropped",
	    "a\x0e"
	    "b\x0f",
	    "ab", "ab" },
	{ "CSI cut by CAN", "\x1b[31\x18X", "X", "X" },
	{ "huge CSI dropped",
	    "\x1b[1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;"
	    "1;1;1;1mX",
	    "X", "X" },
	{ "charset designation", "\x1b(0q\x1b(B", "\x1b(0q\x1b(B", "q" },
	{ "keypad mode", "\x1b=\x1b>", "\x1b=\x1b>", "" },
	{ "printer CSI i", "\x1b[5iX", "X", "X" },
	{ "repeat CSI b", "a\x1b[65535bX", "aX", "aX" },
	{ "cursor style kept", "\x1b[2 qX", "\x1b[2 qX", "X" },
	{ "ESC inside OSC restarts", "\x1b]0;t\x1b[1mX", "\x1b[1mX", "X" },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static char *
run(enum rec_escape_mode mode, const char *in, size_t len, size_t split1,
    size_t split2)
{
	struct rec_escape *f = rec_escape_new(mode);
	struct pv_buf *out = pv_buf_new(0);
	const uint8_t *p = (const uint8_t *)in;
	char *s;

	assert_non_null(f);
	assert_non_null(out);
	assert_int_equal(rec_escape_filter(f, p, split1, out), 0);
	assert_int_equal(
	    rec_escape_filter(f, p + split1, split2 - split1, out), 0);
	assert_int_equal(
	    rec_escape_filter(f, p + split2, len - split2, out), 0);
	assert_int_equal(rec_escape_finish(f, out), 0);
	s = calloc(1, pv_buf_len(out) + 1);
	assert_non_null(s);
	memcpy(s, pv_buf_ptr(out), pv_buf_len(out));
	pv_buf_free(out);
	rec_escape_free(f);
	return s;
}

static void
test_catalogue(void **state)
{
	size_t i, a, b, len;
	char *got;

	(void)state;
	for (i = 0; i < NCASES; i++) {
		len = strlen(cases[i].in);
		got = run(REC_ESC_TERMINAL, cases[i].in, len, 0, 0);
		if (strcmp(got, cases[i].term) != 0)
			fail_msg(
			    "%s (terminal): got \"%s\"", cases[i].what, got);
		free(got);
		got = run(REC_ESC_TEXT, cases[i].in, len, 0, 0);
		if (strcmp(got, cases[i].text) != 0)
			fail_msg("%s (text): got \"%s\"", cases[i].what, got);
		free(got);
		/* The same, split into three events at every pair of points. */
		for (a = 0; a <= len; a++) {
			for (b = a; b <= len; b++) {
				got = run(
				    REC_ESC_TERMINAL, cases[i].in, len, a, b);
				if (strcmp(got, cases[i].term) != 0)
					fail_msg(
					    "%s split at %zu,%zu: got \"%s\"",
					    cases[i].what, a, b, got);
				free(got);
			}
		}
	}
}

/* Valid UTF-8 without C1 controls or bidi overrides. */
static void
check_utf8(const char *s)
{
	const uint8_t *p = (const uint8_t *)s;
	uint32_t cp;
	int n, k;

	while (*p != 0) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		n = *p >= 0xf0 ? 3 : *p >= 0xe0 ? 2 : 1;
		assert_true(*p >= 0xc2 && *p <= 0xf4);
		cp = *p & (0x3f >> n);
		for (k = 1; k <= n; k++) {
			assert_true((p[k] & 0xc0) == 0x80);
			cp = (cp << 6) | (p[k] & 0x3f);
		}
		assert_false(cp >= 0x80 && cp <= 0x9f);
		assert_false(cp >= 0x202a && cp <= 0x202e);
		assert_false(cp >= 0x2066 && cp <= 0x2069);
		p += n + 1;
	}
}

/* Whatever goes in, nothing dangerous comes out (byte-level invariants). */
static void
test_no_dangerous_output(void **state)
{
	uint8_t in[4096];
	char *got;
	size_t i, j;
	uint32_t x = 12345;

	(void)state;
	for (j = 0; j < 200; j++) {
		for (i = 0; i < sizeof(in); i++) {
			x = x * 1103515245 + 12345;
			/* Mostly escape-ish bytes, to reach every state. */
			in[i] =
			    (uint8_t)("\x1b[]P_^X\x07\x9b\xc2\x9d;0123m;tn\\"
				      "\xe2\x80\xae\x81\xa6"[(x >> 16) % 25]);
		}
		got = run(
		    REC_ESC_TERMINAL, (const char *)in, sizeof(in), 1000, 3000);
		for (i = 0; got[i] != '\0'; i++) {
			if (got[i] == '\x1b') {
				/* Only CSI or the few single ESC finals. */
				assert_true(got[i + 1] == '[' ||
				    strchr("78=>DEMc()*+", got[i + 1]) != NULL);
			}
			assert_true(got[i] != '\x07');
		}
		check_utf8(got);
		assert_null(strstr(got, "\x1b]"));
		assert_null(strstr(got, "\x1bP"));
		free(got);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catalogue),
		cmocka_unit_test(test_no_dangerous_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
