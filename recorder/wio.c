/*
 * wio.c: the writer's I/O thread: filled event buffers queue in a few slots
 * and one thread compresses, encrypts and writes them in order; another syncs.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zstd.h>

#include "common/common.h"
#include "recorder/recorder-int.h"

struct rec_wio {
	int fd;
	EVP_MD_CTX *fh; /* running SHA-256 of the file, updated in order */
	uint64_t size;
	/* Used by the sealing thread only (set up before it starts). */
	ZSTD_CCtx *zc;
	EVP_CIPHER_CTX *cc; /* AES-256-GCM keyed with the data key */
	uint8_t prefix[REC_NONCE_PREFIX_LEN];
	uint8_t hh[REC_HASH_LEN];
	uint8_t *out; /* one sealed chunk: header, ciphertext, tag */
	size_t outcap;
	/*
	 * The search index, built here (not on the caller's relay thread)
	 * from every chunk's events; gave_up: it failed (out of memory),
	 * the recording goes on with a saturated index.
	 */
	struct rec_tindex *ix;
	int ix_gave_up;
	pthread_t thread; /* seals and writes */
	pthread_t syncer; /* fdatasyncs what was written */
	int nthreads;
	/*
	 * Threads that run: a new thread registers itself with the kernel
	 * (rseq, set_robust_list) before its function runs, and a session
	 * process's sandbox, entered once the recording is open, refuses
	 * both; rec_wio_start returns only once both threads run.
	 */
	int started;
	pthread_mutex_t mu;
	pthread_cond_t work; /* a slot was filled, or stop */
	pthread_cond_t sync; /* something to sync, or stop */
	pthread_cond_t done; /* a slot was written or synced, or an error */
	/* Plaintext event buffers, REC_WRITER_PLAIN_CAP bytes each. */
	uint8_t *slot[REC_WIO_SLOTS];
	size_t len[REC_WIO_SLOTS];
	uint64_t index[REC_WIO_SLOTS];
	uint8_t flags[REC_WIO_SLOTS];
	uint64_t due[REC_WIO_SLOTS]; /* pv_mono_ms() to be synced by */
	uint64_t head;               /* slots filled */
	uint64_t tail;   /* slots written (the slot is free again) */
	uint64_t synced; /* chunks written and fdatasynced */
	uint64_t wbytes; /* chunk bytes written */
	uint64_t sbytes; /* chunk bytes written when the last sync began */
	uint64_t
	    sync_by;  /* earliest due of chunks written since a sync began */
	int sync_now; /* a drain waits, or the final chunk is written */
	int stop;
	int written_all; /* the sealing thread has stopped */
	int err;         /* first error; sticky */
};

/*
 * True when three 1 KiB samples (start, middle, end) each use nearly every
 * byte value, as random or already-compressed bytes do (text uses < 100):
 * zstd would only find nothing to compress.  A mix is compressed.
 */
static int
wio_incompressible(const uint8_t *p, size_t len)
{
	const size_t sample = 1024;
	uint8_t seen[256];
	size_t s, k, distinct;

	if (len < 4 * sample)
		return 0;
	for (s = 0; s < 3; s++) {
		const uint8_t *b = p + (len - sample) * s / 2;

		memset(seen, 0, sizeof(seen));
		distinct = 0;
		for (k = 0; k < sample; k++) {
			distinct += !seen[b[k]];
			seen[b[k]] = 1;
		}
		if (distinct < REC_RAW_DISTINCT_MIN)
			return 0;
	}
	return 1;
}

/* Encrypts len bytes of src to *p and advances *p (GCM: out = in length). */
static int
wio_enc(EVP_CIPHER_CTX *cc, uint8_t **p, const uint8_t *src, size_t len)
{
	int n;

	if (EVP_EncryptUpdate(cc, *p, &n, src, (int)len) != 1 ||
	    (size_t)n != len)
		return PV_ERR_CRYPTO;
	*p += len;
	return 0;
}

/*
 * Encrypts one zstd frame of raw blocks (RFC 8878 3.1.1) straight from the
 * slot to ct: magic, a descriptor with Single_Segment and a 4-byte content
 * size, then blocks of at most 128 KiB, each with a 3-byte header
 * (Last_Block, type 0 = raw, size).  Any zstd decoder reads it; storing
 * costs neither a match search nor a copy.
 */
static int
wio_enc_raw(EVP_CIPHER_CTX *cc, uint8_t *ct, const uint8_t *src, size_t len,
    size_t *clen)
{
	uint8_t h[9] = { 0x28, 0xb5, 0x2f, 0xfd,
		0xa0 /* FCS_Field_Size 4, Single_Segment, no checksum */ },
		bh[3], *p = ct;
	uint32_t v;
	size_t n;
	int r;

	h[5] = (uint8_t)len;
	h[6] = (uint8_t)(len >> 8);
	h[7] = (uint8_t)(len >> 16);
	h[8] = (uint8_t)(len >> 24);
	if ((r = wio_enc(cc, &p, h, sizeof(h))) != 0)
		return r;
	do {
		n = len > REC_ZSTD_BLOCK_MAX ? REC_ZSTD_BLOCK_MAX : len;
		v = (uint32_t)(n << 3) | (n == len ? 1u : 0u);
		bh[0] = (uint8_t)v;
		bh[1] = (uint8_t)(v >> 8);
		bh[2] = (uint8_t)(v >> 16);
		if ((r = wio_enc(cc, &p, bh, sizeof(bh))) != 0 ||
		    (r = wio_enc(cc, &p, src, n)) != 0)
			return r;
		src += n;
		len -= n;
	} while (len > 0);
	*clen = (size_t)(p - ct);
	return 0;
}

/* Compresses and encrypts one slot into q->out. */
static int
wio_seal(struct rec_wio *q, size_t i, size_t *outlen)
{
	uint8_t nonce[REC_NONCE_LEN], aad[REC_AAD_LEN], *ct, *p;
	size_t clen;
	int n, r;

	*outlen = 0;
	ct = q->out + REC_CHUNK_HDR_LEN;
	rec_chunk_nonce(q->prefix, q->index[i], nonce);
	rec_chunk_aad(q->hh, q->index[i], q->flags[i], aad);
	if (EVP_EncryptInit_ex(q->cc, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_EncryptUpdate(q->cc, NULL, &n, aad, sizeof(aad)) != 1)
		return PV_ERR_CRYPTO;
	if (wio_incompressible(q->slot[i], q->len[i])) {
		if ((r = wio_enc_raw(
			 q->cc, ct, q->slot[i], q->len[i], &clen)) != 0)
			return r;
	} else {
		clen = ZSTD_compress2(q->zc, ct,
		    q->outcap - REC_CHUNK_HDR_LEN - REC_TAG_LEN, q->slot[i],
		    q->len[i]);
		if (ZSTD_isError(clen)) {
			pv_error(
			    "recording: zstd: %s", ZSTD_getErrorName(clen));
			return PV_ERR_INTERNAL;
		}
		p = ct;
		if ((r = wio_enc(q->cc, &p, ct, clen)) != 0)
			return r;
	}
	if (EVP_EncryptFinal_ex(q->cc, ct + clen, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(
		q->cc, EVP_CTRL_GCM_GET_TAG, REC_TAG_LEN, ct + clen) != 1)
		return PV_ERR_CRYPTO;
	q->out[0] = q->flags[i];
	rec_put_be32(q->out + 1, (uint32_t)(clen + REC_TAG_LEN));
	*outlen = REC_CHUNK_HDR_LEN + clen + REC_TAG_LEN;
	return 0;
}

/*
 * Indexes slot i's events; in the final chunk, puts the INDEX event
 * right before END (the writer left room for it and counted it).
 */
static int
wio_index(struct rec_wio *q, size_t i)
{
	const size_t endlen = REC_EVENT_HDR_LEN + 48;
	uint8_t *p = q->slot[i], *e;
	size_t len = q->len[i], n;

	if (!q->ix_gave_up && rec_tindex_events(&q->ix, p, len) != 0) {
		rec_tindex_free(q->ix);
		q->ix = NULL;
		q->ix_gave_up = 1;
	}
	if (!(q->flags[i] & REC_FLAG_FINAL))
		return 0;
	if (len < endlen || p[len - endlen] != REC_EV_END ||
	    len + REC_INDEX_EVENT_MAX > REC_WRITER_PLAIN_CAP)
		return PV_ERR_INTERNAL;
	e = p + len - endlen;
	memmove(e + REC_EVENT_HDR_LEN + REC_INDEX_EVENT_MAX, e, endlen);
	n = rec_tindex_payload(q->ix, q->ix_gave_up, e + REC_EVENT_HDR_LEN);
	memmove(e + REC_EVENT_HDR_LEN + n,
	    e + REC_EVENT_HDR_LEN + REC_INDEX_EVENT_MAX, endlen);
	/* the END event's time, which follows */
	memcpy(e + 1, e + REC_EVENT_HDR_LEN + n + 1, 8);
	e[0] = REC_EV_INDEX;
	rec_put_be32(e + 9, (uint32_t)n);
	q->len[i] = len + REC_EVENT_HDR_LEN + n;
	rec_tindex_free(q->ix);
	q->ix = NULL;
	return 0;
}

/* Seals and writes queued chunks in order, as soon as they come. */
static void *
wio_main(void *arg)
{
	struct rec_wio *q = arg;
	size_t i, n;
	int r = 0, wake;

	pthread_mutex_lock(&q->mu);
	q->started++;
	pthread_cond_broadcast(&q->done);
	for (;;) {
		while (q->tail == q->head && !q->stop && q->err == 0)
			pthread_cond_wait(&q->work, &q->mu);
		if (q->err != 0 || q->tail == q->head)
			break;
		/* The caller never touches slots tail..head-1. */
		i = (size_t)(q->tail % REC_WIO_SLOTS);
		pthread_mutex_unlock(&q->mu);
		if ((r = wio_index(q, i)) != 0 ||
		    (r = wio_seal(q, i, &n)) != 0) {
			/* reported below */
		} else if (pv_write_all(q->fd, q->out, n) != 0) {
			pv_error(
			    "recording: write failed: %s", strerror(errno));
			r = PV_ERR_IO;
		} else if (EVP_DigestUpdate(q->fh, q->out, n) != 1)
			r = PV_ERR_CRYPTO;
		else
			q->size += n;
		pthread_mutex_lock(&q->mu);
		if (r != 0) {
			if (q->err == 0)
				q->err = r;
			break;
		}
		/*
		 * Wake the syncer only when its wait changes: nothing was
		 * unsynced, an earlier deadline, FINAL, or the byte cap.
		 */
		q->wbytes += n;
		wake = q->synced == q->tail || q->due[i] < q->sync_by ||
		    (q->flags[i] & REC_FLAG_FINAL) ||
		    q->wbytes - q->sbytes >= REC_WIO_SYNC_BYTES;
		if (q->due[i] < q->sync_by)
			q->sync_by = q->due[i];
		if (q->flags[i] & REC_FLAG_FINAL)
			q->sync_now = 1;
		q->tail++; /* the slot is free; the chunk is in the file */
		if (wake)
			pthread_cond_signal(&q->sync);
		pthread_cond_broadcast(&q->done);
	}
	q->written_all = 1;
	pthread_cond_signal(&q->sync);
	pthread_cond_broadcast(&q->done);
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/*
 * Group commit: fdatasyncs everything written so far when the oldest
 * unsynced chunk's deadline comes (1 s after its first event), when
 * REC_WIO_SYNC_BYTES are unsynced, at the final chunk, when a drain
 * waits, and at the end.  Writing goes on meanwhile, so a slow disk
 * flush never holds up sealing; a bulk stream costs a few flushes a
 * second instead of one per chunk (each costs CPU for the block layer
 * and the device kick whatever its size), and nothing older than 1 s is
 * left unsynced.
 */
static void *
wio_sync_main(void *arg)
{
	struct rec_wio *q = arg;
	struct timespec ts;
	uint64_t w;
	int r;

	pthread_mutex_lock(&q->mu);
	q->started++;
	pthread_cond_broadcast(&q->done);
	for (;;) {
		while (q->err == 0 &&
		    !(q->written_all && q->synced == q->tail) &&
		    !(q->synced < q->tail &&
			(q->sync_now || q->written_all ||
			    q->wbytes - q->sbytes >= REC_WIO_SYNC_BYTES ||
			    pv_mono_ms() >= q->sync_by))) {
			if (q->synced == q->tail) {
				pthread_cond_wait(&q->sync, &q->mu);
				continue;
			}
			ts.tv_sec = (time_t)(q->sync_by / 1000);
			ts.tv_nsec = (long)(q->sync_by % 1000) * 1000000L;
			(void)pthread_cond_timedwait(&q->sync, &q->mu, &ts);
		}
		if (q->err != 0 || q->synced == q->tail)
			break;
		w = q->tail;
		q->sbytes = q->wbytes;
		q->sync_by = UINT64_MAX; /* for chunks written from now on */
		pthread_mutex_unlock(&q->mu);
		r = 0;
		if (fdatasync(q->fd) != 0) {
			pv_error(
			    "recording: fdatasync failed: %s", strerror(errno));
			r = PV_ERR_IO;
		}
		pthread_mutex_lock(&q->mu);
		if (r != 0) {
			if (q->err == 0)
				q->err = r;
			pthread_cond_signal(&q->work);
			break;
		}
		q->synced = w;
		if (q->synced == q->head)
			q->sync_now = 0;
		pthread_cond_broadcast(&q->done);
	}
	pthread_cond_broadcast(&q->done);
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

static void
wio_free(struct rec_wio *q)
{
	size_t i;

	for (i = 0; i < REC_WIO_SLOTS; i++) {
		if (q->slot[i] != NULL)
			pv_secret_free(q->slot[i], REC_WRITER_PLAIN_CAP);
	}
	if (q->out != NULL)
		pv_secret_free(q->out, q->outcap);
	ZSTD_freeCCtx(q->zc);
	EVP_CIPHER_CTX_free(q->cc);
	rec_tindex_free(q->ix);
	PV_WIPE(q->prefix);
	free(q);
}

int
rec_wio_start(struct rec_wio **out, int fd, EVP_MD_CTX *fh,
    const uint8_t dk[REC_KEY_LEN], const uint8_t prefix[REC_NONCE_PREFIX_LEN],
    const uint8_t hh[REC_HASH_LEN])
{
	struct rec_wio *q;
	pthread_condattr_t ca;
	int r = PV_ERR_ALLOC;

	*out = NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return PV_ERR_ALLOC;
	q->fd = fd;
	q->fh = fh;
	q->sync_by = UINT64_MAX;
	memcpy(q->prefix, prefix, sizeof(q->prefix));
	memcpy(q->hh, hh, sizeof(q->hh));
	q->outcap = REC_CHUNK_HDR_LEN +
	    ZSTD_compressBound(REC_WRITER_PLAIN_CAP) + REC_TAG_LEN;
	if ((q->out = malloc(q->outcap)) == NULL ||
	    (q->zc = ZSTD_createCCtx()) == NULL ||
	    (q->cc = EVP_CIPHER_CTX_new()) == NULL)
		goto fail;
	if (ZSTD_isError(ZSTD_CCtx_setParameter(
		q->zc, ZSTD_c_compressionLevel, REC_ZSTD_LEVEL)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(
		q->zc, ZSTD_c_hashLog, REC_ZSTD_HASHLOG)) ||
	    ZSTD_isError(
		ZSTD_CCtx_setParameter(q->zc, ZSTD_c_contentSizeFlag, 1))) {
		r = PV_ERR_INTERNAL;
		goto fail;
	}
	if (EVP_EncryptInit_ex(q->cc, EVP_aes_256_gcm(), NULL, dk, NULL) != 1) {
		r = PV_ERR_CRYPTO;
		goto fail;
	}
	if (pthread_mutex_init(&q->mu, NULL) != 0)
		goto fail;
	if (pthread_condattr_init(&ca) != 0) {
		pthread_mutex_destroy(&q->mu);
		goto fail;
	}
	if (pthread_cond_init(&q->work, NULL) != 0) {
		pthread_condattr_destroy(&ca);
		pthread_mutex_destroy(&q->mu);
		goto fail;
	}
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&q->sync, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		pthread_cond_destroy(&q->work);
		pthread_mutex_destroy(&q->mu);
		goto fail;
	}
	pthread_condattr_destroy(&ca);
	if (pthread_cond_init(&q->done, NULL) != 0) {
		pthread_cond_destroy(&q->sync);
		pthread_cond_destroy(&q->work);
		pthread_mutex_destroy(&q->mu);
		goto fail;
	}
	if (pthread_create(&q->thread, NULL, wio_main, q) != 0) {
		pthread_cond_destroy(&q->done);
		pthread_cond_destroy(&q->sync);
		pthread_cond_destroy(&q->work);
		pthread_mutex_destroy(&q->mu);
		goto fail;
	}
	q->nthreads = 1;
	if (pthread_create(&q->syncer, NULL, wio_sync_main, q) != 0) {
		(void)rec_wio_stop(q, NULL);
		return PV_ERR_ALLOC;
	}
	q->nthreads = 2;
	pthread_mutex_lock(&q->mu);
	while (q->started < 2)
		pthread_cond_wait(&q->done, &q->mu);
	pthread_mutex_unlock(&q->mu);
	*out = q;
	return 0;
fail:
	wio_free(q);
	return r;
}

int
rec_wio_error(struct rec_wio *q)
{
	return __atomic_load_n(&q->err, __ATOMIC_ACQUIRE);
}

int
rec_wio_submit(struct rec_wio *q, uint8_t **buf, size_t len, uint64_t index,
    uint8_t flags, unsigned int sync_ms)
{
	uint8_t *spare;
	size_t i;
	int r;

	pthread_mutex_lock(&q->mu);
	while (q->head - q->tail == REC_WIO_SLOTS && q->err == 0)
		pthread_cond_wait(&q->done, &q->mu);
	if ((r = q->err) != 0)
		goto out;
	/* The I/O thread never touches a free slot: swap buffers unlocked. */
	i = (size_t)(q->head % REC_WIO_SLOTS);
	pthread_mutex_unlock(&q->mu);
	spare = q->slot[i];
	if (spare == NULL && (spare = malloc(REC_WRITER_PLAIN_CAP)) == NULL)
		return PV_ERR_ALLOC;
	q->slot[i] = *buf;
	*buf = spare;
	q->len[i] = len;
	q->index[i] = index;
	q->flags[i] = flags;
	q->due[i] = pv_mono_ms() + sync_ms;
	pthread_mutex_lock(&q->mu);
	if ((r = q->err) != 0)
		goto out;
	q->head++;
	pthread_cond_signal(&q->work);
out:
	pthread_mutex_unlock(&q->mu);
	return r;
}

int
rec_wio_drain(struct rec_wio *q)
{
	int r;

	pthread_mutex_lock(&q->mu);
	if (q->synced != q->head) {
		q->sync_now = 1;
		pthread_cond_signal(&q->sync);
	}
	while (q->synced != q->head && q->err == 0)
		pthread_cond_wait(&q->done, &q->mu);
	r = q->err;
	pthread_mutex_unlock(&q->mu);
	return r;
}

int
rec_wio_stop(struct rec_wio *q, uint64_t *size)
{
	int r;

	if (size != NULL)
		*size = 0;
	if (q == NULL)
		return 0;
	/* What is queued is still written: an abandoned file keeps it. */
	pthread_mutex_lock(&q->mu);
	q->stop = 1;
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->thread, NULL);
	if (q->nthreads > 1)
		pthread_join(q->syncer, NULL);
	r = q->err;
	if (size != NULL)
		*size = q->size;
	pthread_cond_destroy(&q->done);
	pthread_cond_destroy(&q->sync);
	pthread_cond_destroy(&q->work);
	pthread_mutex_destroy(&q->mu);
	wio_free(q);
	return r;
}
