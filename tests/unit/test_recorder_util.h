/*
 * test_recorder_util.h: shared helpers for the recorder tests: a temp dir
 * with X25519 and RSA key pairs, sample recordings, reading back.
 */
#ifndef PROVOST_TEST_RECORDER_UTIL_H
#define PROVOST_TEST_RECORDER_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define TR_PATH_MAX 256

struct tr_env {
	char dir[TR_PATH_MAX];
	char pub[4][TR_PATH_MAX]; /* 0, 1: X25519; 2: RSA 3072; 3: X25519 */
	char priv[4][TR_PATH_MAX];
	char rsa2048_pub[TR_PATH_MAX];
};

int tr_setup(struct tr_env *e);
void tr_teardown(struct tr_env *e);
/* dir/name into out. */
void tr_path(const struct tr_env *e, const char *name, char *out, size_t len);
/*
 * Writes a complete recording to path for the recipient key indexes given:
 * nchunks chunks of 3 OUTPUT events each (t = 1000 * chunk + i), then END
 * in its own final chunk.
 */
int tr_write_sample(const struct tr_env *e, const char *path,
    const int *recipients, size_t nrecipients, int nchunks);
/*
 * Reads data with private key index k; returns the reader's last result
 * (0 = complete), the number of events returned and the error text.
 */
int tr_read_all(const struct tr_env *e, const uint8_t *data, size_t len, int k,
    uint64_t *nevents, char *err, size_t errlen);
/* Byte offsets of each chunk's start in a recording, and how many. */
size_t tr_chunk_offsets(
    const uint8_t *data, size_t len, size_t *offs, size_t max);

#endif /* PROVOST_TEST_RECORDER_UTIL_H */
