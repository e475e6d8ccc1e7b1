/*
 * wio.c: the writer's I/O thread: sealed chunks queue in a few slots and
 * one thread writes and fdatasyncs them in order, so the event loop never waits on the disk.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/common.h"
#include "recorder/recorder-int.h"

struct rec_wio {
	int fd;
	EVP_MD_CTX *fh; /* running SHA-256 of the file, updated in order */
	uint64_t size;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work;          /* a slot was filled, or stop */
	pthread_cond_t done;          /* a slot was written, or an error */
	uint8_t *slot[REC_WIO_SLOTS]; /* grown to the largest chunk held */
	size_t cap[REC_WIO_SLOTS];
	size_t len[REC_WIO_SLOTS];
	uint64_t head; /* slots filled */
	uint64_t tail; /* slots written */
	int stop;
	int err; /* first error; sticky */
};

/*
 * Writes every queued chunk, then one fdatasync for all of them (group
 * commit): each chunk is still synced before it counts as written, and a
 * burst costs one disk flush instead of one per chunk.
 */
static void *
wio_main(void *arg)
{
	struct rec_wio *q = arg;
	uint64_t t, h;
	size_t i;
	int r;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (q->tail == q->head && !q->stop)
			pthread_cond_wait(&q->work, &q->mu);
		if (q->tail == q->head || q->err != 0)
			break;
		t = q->tail;
		h = q->head;
		pthread_mutex_unlock(&q->mu);
		r = 0;
		for (; t < h && r == 0; t++) {
			i = (size_t)(t % REC_WIO_SLOTS);
			if (pv_write_all(q->fd, q->slot[i], q->len[i]) != 0) {
				pv_error("recording: write failed: %s",
				    strerror(errno));
				r = PV_ERR_IO;
			} else if (EVP_DigestUpdate(
				       q->fh, q->slot[i], q->len[i]) != 1)
				r = PV_ERR_CRYPTO;
			else
				q->size += q->len[i];
		}
		if (r == 0 && fdatasync(q->fd) != 0) {
			pv_error(
			    "recording: fdatasync failed: %s", strerror(errno));
			r = PV_ERR_IO;
		}
		pthread_mutex_lock(&q->mu);
		if (r != 0) {
			q->err = r;
			pthread_cond_broadcast(&q->done);
			break;
		}
		q->tail = h;
		pthread_cond_broadcast(&q->done);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int
rec_wio_start(struct rec_wio **out, int fd, EVP_MD_CTX *fh)
{
	struct rec_wio *q;
	size_t i;

	*out = NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return PV_ERR_ALLOC;
	q->fd = fd;
	q->fh = fh;
	if (pthread_mutex_init(&q->mu, NULL) != 0)
		goto fail;
	if (pthread_cond_init(&q->work, NULL) != 0) {
		pthread_mutex_destroy(&q->mu);
		goto fail;
	}
	if (pthread_cond_init(&q->done, NULL) != 0) {
		pthread_cond_destroy(&q->work);
		pthread_mutex_destroy(&q->mu);
		goto fail;
	}
	if (pthread_create(&q->thread, NULL, wio_main, q) != 0) {
		pthread_cond_destroy(&q->done);
		pthread_cond_destroy(&q->work);
		pthread_mutex_destroy(&q->mu);
		goto fail;
	}
	*out = q;
	return 0;
fail:
	for (i = 0; i < REC_WIO_SLOTS; i++)
		free(q->slot[i]);
	free(q);
	return PV_ERR_ALLOC;
}

int
rec_wio_error(struct rec_wio *q)
{
	return __atomic_load_n(&q->err, __ATOMIC_ACQUIRE);
}

int
rec_wio_submit(struct rec_wio *q, const uint8_t *data, size_t len)
{
	size_t i;
	uint8_t *p;
	int r;

	pthread_mutex_lock(&q->mu);
	while (q->head - q->tail == REC_WIO_SLOTS && q->err == 0)
		pthread_cond_wait(&q->done, &q->mu);
	if ((r = q->err) != 0)
		goto out;
	/* The I/O thread never touches a free slot: grow it unlocked. */
	i = (size_t)(q->head % REC_WIO_SLOTS);
	pthread_mutex_unlock(&q->mu);
	if (q->cap[i] < len) {
		if ((p = realloc(q->slot[i], len)) == NULL)
			return PV_ERR_ALLOC;
		q->slot[i] = p;
		q->cap[i] = len;
	}
	memcpy(q->slot[i], data, len);
	pthread_mutex_lock(&q->mu);
	if ((r = q->err) != 0)
		goto out;
	q->len[i] = len;
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
	while (q->tail != q->head && q->err == 0)
		pthread_cond_wait(&q->done, &q->mu);
	r = q->err;
	pthread_mutex_unlock(&q->mu);
	return r;
}

int
rec_wio_stop(struct rec_wio *q, uint64_t *size)
{
	size_t i;
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
	r = q->err;
	if (size != NULL)
		*size = q->size;
	pthread_cond_destroy(&q->done);
	pthread_cond_destroy(&q->work);
	pthread_mutex_destroy(&q->mu);
	for (i = 0; i < REC_WIO_SLOTS; i++)
		free(q->slot[i]);
	free(q);
	return r;
}
