/*
 * test_recorder_util.c: key pairs in a temp dir, sample recordings and a
 * read-everything helper shared by the recorder's unit tests.
 */
#include "config.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/common.h"
#include "recorder/recorder.h"
#include "tests/unit/test_recorder_util.h"

void
tr_path(const struct tr_env *e, const char *name, char *out, size_t len)
{
	if (snprintf(out, len, "%s/%s", e->dir, name) >= (int)len)
		abort();
}

static int
tr_save(EVP_PKEY *k, const char *priv, const char *pub)
{
	FILE *f;
	int ok = 1;

	if (priv != NULL) {
		if ((f = fopen(priv, "w")) == NULL)
			return -1;
		ok &= PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
		ok &= fclose(f) == 0;
	}
	if ((f = fopen(pub, "w")) == NULL)
		return -1;
	ok &= PEM_write_PUBKEY(f, k);
	ok &= fclose(f) == 0;
	return ok ? 0 : -1;
}

int
tr_setup(struct tr_env *e)
{
	static const char *names[4] = { "a", "b", "rsa", "c" };
	EVP_PKEY *k;
	char n[64];
	int i;

	memset(e, 0, sizeof(*e));
	if (snprintf(e->dir, sizeof(e->dir), "%s/pvrec.XXXXXX",
		getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp") >=
	    (int)sizeof(e->dir))
		return -1;
	if (mkdtemp(e->dir) == NULL)
		return -1;
	for (i = 0; i < 4; i++) {
		snprintf(n, sizeof(n), "%s.pem", names[i]);
		tr_path(e, n, e->priv[i], sizeof(e->priv[i]));
		snprintf(n, sizeof(n), "%s.pub", names[i]);
		tr_path(e, n, e->pub[i], sizeof(e->pub[i]));
		k = i == 2 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072)
			   : EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
		if (k == NULL || tr_save(k, e->priv[i], e->pub[i]) != 0)
			return -1;
		EVP_PKEY_free(k);
	}
	tr_path(e, "rsa2048.pub", e->rsa2048_pub, sizeof(e->rsa2048_pub));
	if ((k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)) == NULL ||
	    tr_save(k, NULL, e->rsa2048_pub) != 0)
		return -1;
	EVP_PKEY_free(k);
	return 0;
}

static int
tr_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	(void)remove(path);
	return 0;
}

void
tr_teardown(struct tr_env *e)
{
	if (e->dir[0] == '\0' || getenv("PV_KEEP_TMP") != NULL)
		return;
	(void)nftw(e->dir, tr_rm, 8, FTW_DEPTH | FTW_PHYS);
}

int
tr_write_sample(const struct tr_env *e, const char *path, const int *recipients,
    size_t nrecipients, int nchunks)
{
	struct rec_recipients *rs = NULL;
	struct rec_writer *w = NULL;
	const char *paths[4];
	struct rec_meta m = {
		.session_id = "11111111-2222-4333-8444-555555555555",
		.engineer = "alice",
		.target = "db01",
		.account = "postgres",
		.term = "xterm",
		.cols = 80,
		.rows = 24,
		.start_unix_ms = 1764276349000LL,
		.start_mono_ms = 5000,
	};
	uint8_t h[32];
	uint64_t size;
	char line[64];
	size_t i;
	int c, j, r;

	for (i = 0; i < nrecipients; i++)
		paths[i] = e->pub[recipients[i]];
	if ((r = rec_recipients_load(&rs, paths, nrecipients, NULL, 0)) != 0)
		return r;
	if ((r = rec_writer_open(&w, path, rs, &m)) != 0)
		goto out;
	for (c = 0; c < nchunks; c++) {
		for (j = 0; j < 3; j++) {
			snprintf(
			    line, sizeof(line), "chunk %d line %d\r\n", c, j);
			if ((r = rec_writer_data(w,
				 5000 + 1000 * (uint64_t)c + j, REC_EV_OUTPUT,
				 line, strlen(line))) != 0)
				goto out;
		}
		if ((r = rec_writer_flush(w)) != 0)
			goto out;
	}
	r = rec_writer_close(w, 5000 + 1000 * (uint64_t)nchunks, h, &size);
	w = NULL;
out:
	rec_writer_free(w);
	rec_recipients_free(rs);
	return r;
}

int
tr_read_all(const struct tr_env *e, const uint8_t *data, size_t len, int k,
    uint64_t *nevents, char *err, size_t errlen)
{
	struct rec_reader *r = NULL;
	struct rec_key *key = NULL;
	struct rec_event ev;
	int ret;

	*nevents = 0;
	err[0] = '\0';
	if ((ret = rec_key_load(&key, e->priv[k], err, errlen)) != 0)
		return ret;
	if ((ret = rec_reader_open_mem(&r, data, len)) != 0 ||
	    (ret = rec_reader_unlock(r, key)) != 0)
		goto out;
	while ((ret = rec_reader_next(r, &ev)) == 1)
		(*nevents)++;
out:
	if (r != NULL && ret != 0)
		snprintf(err, errlen, "%s", rec_reader_error(r));
	rec_reader_free(r);
	rec_key_free(key);
	return ret;
}

size_t
tr_chunk_offsets(const uint8_t *d, size_t len, size_t *offs, size_t max)
{
	size_t off, n = 0;
	uint32_t jl, cl;

	if (len < 14)
		return 0;
	jl = ((uint32_t)d[10] << 24) | ((uint32_t)d[11] << 16) |
	    ((uint32_t)d[12] << 8) | d[13];
	off = 14 + (size_t)jl;
	while (off + 5 <= len && n < max) {
		offs[n++] = off;
		cl = ((uint32_t)d[off + 1] << 24) |
		    ((uint32_t)d[off + 2] << 16) | ((uint32_t)d[off + 3] << 8) |
		    d[off + 4];
		off += 5 + (size_t)cl;
	}
	return n;
}
