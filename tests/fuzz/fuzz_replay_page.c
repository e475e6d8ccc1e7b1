/*
 * fuzz_replay_page.c: the replay page's data (commands, output lines, cast)
 * from arbitrary events, as provost-replay export --format html builds it.
 * What goes into the page's data block must hold no '<', '>' or '&' (so
 * no "</script>" or "<!--"), and the commands and lines shown outside the
 * player no ESC, BEL, C1 control or bidi override.
 *
 * Input: records of u8 kind, u8 length, that many bytes; the kind picks
 * the event (output, input, exec, exec continued, stderr, exit, file,
 * resize) and its high bits how far the clock moves.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/common.h"
#include "recorder/recorder.h"
#include "recorder/replay-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* No ESC, BEL, U+0080..U+009F, U+202A..U+202E or U+2066..U+2069. */
static void
check_shown(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (*p == 0x1b || *p == 0x07)
			abort();
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			abort();
		if (p[0] == 0xe2 && p[1] == 0x80 && p[2] >= 0xaa &&
		    p[2] <= 0xae)
			abort();
		if (p[0] == 0xe2 && p[1] == 0x81 && p[2] >= 0xa6 &&
		    p[2] <= 0xa9)
			abort();
	}
}

static void
check(json_t *sess)
{
	json_t *v, *l, *back;
	size_t i;
	char *js, *page = NULL;
	size_t len = 0;
	FILE *f;

	v = json_object_get(sess, "commands");
	for (i = 0; i < json_array_size(v); i++)
		check_shown(json_string_value(
		    json_object_get(json_array_get(v, i), "command")));
	l = json_object_get(sess, "lines");
	for (i = 0; i < json_array_size(l); i++)
		check_shown(
		    json_string_value(json_array_get(json_array_get(l, i), 1)));
	if ((js = json_dumps(sess, JSON_COMPACT)) == NULL)
		abort();
	if ((f = open_memstream(&page, &len)) == NULL)
		abort();
	if (replay_json_html(f, js) != 0 || fclose(f) != 0)
		abort();
	if (memchr(page, '<', len) != NULL || memchr(page, '>', len) != NULL ||
	    memchr(page, '&', len) != NULL)
		abort();
	/* and it is still the same JSON */
	if ((back = json_loadb(page, len, 0, NULL)) == NULL ||
	    !json_equal(back, sess))
		abort();
	json_decref(back);
	free(js);
	free(page);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct replay_scan *s = NULL;
	struct rec_event ev;
	json_t *sess = json_object();
	char *cast_text = NULL;
	size_t cast_len = 0, i = 0, n;
	FILE *cast = open_memstream(&cast_text, &cast_len);
	uint64_t t = 0;
	char path[256];

	if (sess == NULL || cast == NULL ||
	    replay_scan_new(&s, sess, 1, cast) != 0)
		abort();
	while (i + 2 <= size) {
		uint8_t kind = data[i];

		n = data[i + 1];
		i += 2;
		if (n > size - i)
			n = size - i;
		t += kind >> 3;
		memset(&ev, 0, sizeof(ev));
		ev.t_ms = t;
		ev.data = data + i;
		ev.len = n;
		switch (kind & 7) {
		case 0:
			ev.type = REC_EV_OUTPUT;
			break;
		case 1:
			ev.type = REC_EV_INPUT;
			break;
		case 2:
			ev.type = REC_EV_EXEC;
			break;
		case 3:
			ev.type = REC_EV_EXEC_MORE;
			break;
		case 4:
			ev.type = REC_EV_STDERR;
			break;
		case 5:
			ev.type = REC_EV_EXIT;
			ev.exit.kind =
			    n & 1 ? REC_EXIT_SIGNAL : REC_EXIT_STATUS;
			ev.exit.value = n;
			ev.exit.signame = "TERM";
			break;
		case 6:
			ev.type = REC_EV_FILE;
			(void)snprintf(path, sizeof(path), "%.*s", (int)n,
			    (const char *)data + i);
			ev.file.op = REC_FILE_PUT;
			ev.file.path = path;
			ev.file.path2 = "";
			break;
		default:
			ev.type = REC_EV_RESIZE;
			ev.cols = (uint16_t)n;
			ev.rows = 24;
			break;
		}
		if (replay_scan_event(s, &ev) != 0)
			abort();
		i += n;
	}
	if (replay_scan_end(s, t) != 0)
		abort();
	replay_scan_free(s);
	if (fclose(cast) != 0)
		abort();
	json_object_set_new(sess, "cast", json_stringn(cast_text, cast_len));
	check(sess);
	json_decref(sess);
	free(cast_text);
	return 0;
}
