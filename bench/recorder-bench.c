/*
 * recorder-bench.c: the measuring half of bench/recorder: feeds a file to
 * the writer as a relay would (16 KiB reads), reads a recording back, or
 * compresses a file the way the writer does (zstd alone, the floor).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "common/common.h"
#include "recorder/recorder-int.h"
#include "recorder/recorder.h"

#define BENCH_READ 16384

static double
cpu_user(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
}

static double
cpu_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* CPU of the calling thread only (the relay thread's share). */
static double
cpu_thread(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/*
 * Touches every page of the input once before the clock starts.  The first
 * user-mode pass over pages that read(2) filled can cost far more than the
 * copy itself (seen: 160 MB/s under a shadow-paging hypervisor), which a
 * relay feeding from one reused 16 KiB buffer never pays.
 */
volatile uint8_t bench_sink;

static void
bench_prefault(const uint8_t *p, size_t len)
{
	uint8_t x = 0;
	size_t i;

	for (i = 0; i < len; i += 64)
		x ^= p[i];
	bench_sink = x;
}

/*
 * PV_BENCH_RATE=MB/s paces the feed as a session would (0: flat out).
 * Returns the CPU the pacing itself took, which is not the recorder's.
 */
static double
bench_pace(uint64_t t0, size_t off, double rate)
{
	uint64_t due;
	double c;

	if (rate <= 0)
		return 0;
	due = t0 + (uint64_t)((double)off / (rate * 1e3));
	if (pv_mono_ms() >= due)
		return 0;
	c = cpu_thread();
	while (pv_mono_ms() < due)
		usleep(1000);
	return cpu_thread() - c;
}

static int
bench_write(const char *in, const char *pub, const char *out)
{
	struct rec_recipients *rs = NULL;
	struct rec_writer *w = NULL;
	uint8_t *data, sha[32];
	size_t len, off, n;
	uint64_t size, t0, t1;
	double c0, c1, u0, u1, m0, m1, rate = 0, s0, s1, stall = 0, pace = 0;
	const char *rs_env = getenv("PV_BENCH_RATE");
	char err[256];
	struct rec_meta m = {
		.session_id = "00000000-0000-4000-8000-000000000000",
		.cols = 80,
		.rows = 24,
	};

	if (pv_file_read(in, 4UL << 30, &data, &len) != 0 ||
	    rec_recipients_load(&rs, &pub, 1, err, sizeof(err)) != 0) {
		fprintf(
		    stderr, "recorder-bench: cannot load %s or %s\n", in, pub);
		return 1;
	}
	if (rs_env != NULL) {
		char *end;

		rate = strtod(rs_env, &end);
		if (end == rs_env || *end != '\0' || rate < 0) {
			fprintf(stderr, "recorder-bench: bad PV_BENCH_RATE\n");
			return 1;
		}
	}
	bench_prefault(data, len);
	m.start_unix_ms = pv_wall_ms();
	m.start_mono_ms = pv_mono_ms();
	/*
	 * Opening (key wrapping, the header's fdatasync, the directory's
	 * fsync) is a per-session cost, not a per-byte one: not counted.
	 */
	if (rec_writer_open(&w, out, rs, &m) != 0)
		return 1;
	c0 = cpu_now();
	u0 = cpu_user();
	m0 = cpu_thread();
	t0 = pv_mono_ms();
	for (off = 0; off < len; off += n) {
		n = len - off < BENCH_READ ? len - off : BENCH_READ;
		pace += bench_pace(t0, off, rate);
		s0 = now_us();
		if (rec_writer_data(
			w, pv_mono_ms(), REC_EV_OUTPUT, data + off, n) != 0)
			return 1;
		if ((s1 = now_us() - s0) > stall)
			stall = s1;
	}
	if (rec_writer_close(w, pv_mono_ms(), sha, &size) != 0)
		return 1;
	t1 = pv_mono_ms();
	c1 = cpu_now();
	u1 = cpu_user();
	m1 = cpu_thread();
	printf("{\"bytes\":%zu,\"out_bytes\":%llu,\"wall_s\":%.3f,"
	       "\"cpu_s\":%.3f,\"user_s\":%.3f,\"caller_cpu_s\":%.3f,"
	       "\"max_append_us\":%.0f}\n",
	    len, (unsigned long long)size, (double)(t1 - t0) / 1000.0,
	    c1 - c0 - pace, u1 - u0, m1 - m0 - pace, stall);
	free(data);
	rec_recipients_free(rs);
	return 0;
}

static int
bench_read(const char *file, const char *keypath)
{
	struct rec_reader *r = NULL;
	struct rec_key *k = NULL;
	struct rec_event ev;
	uint64_t bytes = 0, t0, t1;
	double c0, c1;
	char err[256];
	int ret;

	if (rec_key_load(&k, keypath, err, sizeof(err)) != 0)
		return 1;
	c0 = cpu_now();
	t0 = pv_mono_ms();
	if (rec_reader_open(&r, file) != 0 || rec_reader_unlock(r, k) != 0)
		return 1;
	while ((ret = rec_reader_next(r, &ev)) == 1)
		bytes += ev.len;
	t1 = pv_mono_ms();
	c1 = cpu_now();
	if (ret != 0) {
		fprintf(stderr, "recorder-bench: %s\n", rec_reader_error(r));
		return 1;
	}
	printf("{\"bytes\":%llu,\"wall_s\":%.3f,\"cpu_s\":%.3f}\n",
	    (unsigned long long)bytes, (double)(t1 - t0) / 1000.0, c1 - c0);
	rec_reader_free(r);
	rec_key_free(k);
	return 0;
}

/*
 * zstd alone, with the writer's parameters, on 64 KiB pieces (the size the
 * writer seals at): what compression by itself costs on this machine now.
 */
static int
bench_zstd(const char *in)
{
	ZSTD_CCtx *z = NULL;
	uint8_t *data = NULL, *out = NULL;
	size_t len, off, n, r, cap = ZSTD_compressBound(REC_CHUNK_SEAL_BYTES);
	uint64_t total = 0;
	double c0, c1;
	int ret = 1;

	if (pv_file_read(in, 4UL << 30, &data, &len) != 0 ||
	    (out = malloc(cap)) == NULL || (z = ZSTD_createCCtx()) == NULL ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(
		z, ZSTD_c_compressionLevel, REC_ZSTD_LEVEL)) ||
	    ZSTD_isError(
		ZSTD_CCtx_setParameter(z, ZSTD_c_hashLog, REC_ZSTD_HASHLOG))) {
		fprintf(
		    stderr, "recorder-bench: cannot set up zstd on %s\n", in);
		goto out;
	}
	bench_prefault(data, len);
	c0 = cpu_thread();
	for (off = 0; off < len; off += n) {
		n = len - off < REC_CHUNK_SEAL_BYTES ? len - off
						     : REC_CHUNK_SEAL_BYTES;
		r = ZSTD_compress2(z, out, cap, data + off, n);
		if (ZSTD_isError(r)) {
			fprintf(stderr, "recorder-bench: zstd: %s\n",
			    ZSTD_getErrorName(r));
			goto out;
		}
		total += r;
	}
	c1 = cpu_thread();
	printf("{\"bytes\":%zu,\"out_bytes\":%llu,\"cpu_s\":%.3f}\n", len,
	    (unsigned long long)total, c1 - c0);
	ret = 0;
out:
	ZSTD_freeCCtx(z);
	free(out);
	free(data);
	return ret;
}

int
main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "write") == 0)
		return bench_write(argv[2], argv[3], argv[4]);
	if (argc == 4 && strcmp(argv[1], "read") == 0)
		return bench_read(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "zstd") == 0)
		return bench_zstd(argv[2]);
	fprintf(stderr,
	    "usage: recorder-bench write INPUT PUB OUT | read "
	    "FILE KEY | zstd INPUT\n");
	return 2;
}
