/*
 * replay-int.h: what provost-replay's files share: opening a recording with
 * one of several keys, and its subcommands.
 */
#ifndef PROVOST_REPLAY_INT_H
#define PROVOST_REPLAY_INT_H

#include <stddef.h>
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

int replay_cmd_play(int argc, char **argv, const struct replay_keys *keys);
int replay_cmd_grep(int argc, char **argv, const struct replay_keys *keys);
int replay_cmd_extract(int argc, char **argv, const struct replay_keys *keys);

#endif /* PROVOST_REPLAY_INT_H */
