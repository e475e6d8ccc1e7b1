/*
 * replay-int.h: what provost-replay's files share: opening a recording with
 * one of several keys, and its subcommands.
 */
#ifndef PROVOST_REPLAY_INT_H
#define PROVOST_REPLAY_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "recorder/recorder.h"

#define REPLAY_MAX_KEYS 8

struct replay_keys {
	struct rec_key *k[REPLAY_MAX_KEYS];
	size_t n;
};

/* Opens path and unlocks it with the first key that matches; prints why not. */
int replay_open(const char *path, const struct replay_keys *keys,
    struct rec_reader **out, char *err, size_t errlen);
/* The same, printing "path: why" to stderr on failure. */
int replay_open_report(
    const char *path, const struct replay_keys *keys, struct rec_reader **out);
/* Prints the reader's stop reason for path to stderr (nothing if complete). */
void replay_report(const char *path, struct rec_reader *r, int ret);

/*
 * --json of a command over several things (info, verify, grep): one JSON
 * array, written as it goes with an object a line, "[]" when empty.
 */
struct replay_json_array {
	FILE *f;
	size_t n;
};
void replay_json_array_begin(struct replay_json_array *a, FILE *f);
/* Appends o (taking it); PV_ERR_* if it cannot be written. */
int replay_json_array_put(struct replay_json_array *a, json_t *o);
void replay_json_array_end(struct replay_json_array *a);

/* One JSON object on a line of f (takes o). */
int replay_put_json_line(FILE *f, json_t *o);
/* asciicast v2: the header line of r, and one event through esc (NULL:
 * the bytes are our own, not the recording's). */
int replay_cast_header(FILE *f, struct rec_reader *r);
int replay_cast_event(FILE *f, struct rec_escape *esc, struct pv_buf *tmp,
    double t, const char *code, const uint8_t *d, size_t len, int finish);

/*
 * Reads a whole recording into one JSON object: file, the header's who and
 * where, ok/error/events/chunks/totals/sha256 (the verify result), end,
 * commands ([{t, kind typed|exec, command, exit_status?}]), files
 * (transfers) and, with page, lines ([[t_ms, text]] of output) and cast
 * (asciicast v2 text).  A file that cannot be opened or unlocked gives
 * {file, ok: false, error}.  PV_ERR_* only when memory runs out.
 */
int replay_scan(
    const char *path, const struct replay_keys *keys, int page, json_t **out);
/*
 * The same fed event by event (the reader's, or a fuzzer's): into sess go
 * commands, files and, with page, lines; with cast, the asciicast events
 * after the header the caller wrote.  _end flushes what is pending.
 */
struct replay_scan;
int replay_scan_new(
    struct replay_scan **out, json_t *sess, int page, FILE *cast);
int replay_scan_event(struct replay_scan *s, const struct rec_event *ev);
int replay_scan_end(struct replay_scan *s, uint64_t last_ms);
void replay_scan_free(struct replay_scan *s);
/* JSON text as it may stand inside <script type="application/json">. */
int replay_json_html(FILE *f, const char *json);

/* The player inlined into the page (recorder/player-assets.sh). */
extern const char replay_player_version[];
extern const unsigned char replay_player_js[];
extern const size_t replay_player_js_len;
extern const unsigned char replay_player_css[];
extern const size_t replay_player_css_len;
extern const unsigned char replay_page_js[];
extern const size_t replay_page_js_len;
extern const unsigned char replay_page_css[];
extern const size_t replay_page_css_len;

int replay_cmd_play(int argc, char **argv, const struct replay_keys *keys);
/* export --format html (page NULL: standard output) and --format commands. */
int replay_cmd_html(
    int nfiles, char **files, const char *page, const struct replay_keys *keys);
int replay_cmd_commands(
    int nfiles, char **files, const struct replay_keys *keys);
int replay_cmd_grep(int argc, char **argv, const struct replay_keys *keys);
int replay_cmd_extract(int argc, char **argv, const struct replay_keys *keys);

#endif /* PROVOST_REPLAY_INT_H */
