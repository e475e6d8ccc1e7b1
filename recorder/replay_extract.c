/*
 * replay_extract.c: provost-replay extract: one transferred file rebuilt
 * from a recording's file content and checked against its transfer event.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "recorder/recorder.h"
#include "recorder/replay-int.h"

/* Exit codes (docs/provost-replay.1). */
#define XR_OK 0
#define XR_FAIL 1
#define XR_USAGE 2
#define XR_UNVERIFIED 3

struct xr_pick {
	uint64_t index; /* 1-based among FILE events, as `files` lists them */
	struct rec_file f;
	char *path;
	int found;
};

static int
is_transfer(const struct rec_file *f)
{
	return f->op == REC_FILE_GET || f->op == REC_FILE_PUT;
}

/* Pass 1: the FILE event asked for, by number or by path. */
static int
xr_find(const char *file, const struct replay_keys *keys, uint64_t want,
    const char *path, struct xr_pick *pick)
{
	struct rec_reader *r = NULL;
	struct rec_event ev;
	uint64_t n = 0, matches = 0;
	int ret;

	if (replay_open_report(file, keys, &r) != 0)
		return XR_FAIL;
	while ((ret = rec_reader_next(r, &ev)) == 1) {
		if (ev.type != REC_EV_FILE)
			continue;
		n++;
		if (want != 0 ? n != want
			      : (!is_transfer(&ev.file) ||
				    strcmp(ev.file.path, path) != 0))
			continue;
		if (++matches > 1) {
			if (matches == 2)
				fprintf(stderr,
				    "provost-replay: %s: several transfers "
				    "of this path: %llu",
				    file, (unsigned long long)pick->index);
			fprintf(stderr, " %llu", (unsigned long long)n);
			continue;
		}
		pick->index = n;
		pick->f = ev.file;
		if ((pick->path = strdup(ev.file.path)) == NULL) {
			rec_reader_free(r);
			return XR_FAIL;
		}
		pick->f.path = pick->path;
		pick->f.path2 = NULL;
		pick->found = 1;
		if (want != 0)
			break;
	}
	if (matches > 1) {
		fprintf(stderr, "; choose one with --transfer N\n");
		rec_reader_free(r);
		return XR_FAIL;
	}
	/* A recording cut short still yields what came before the damage. */
	if (ret < 0)
		replay_report(file, r, ret);
	rec_reader_free(r);
	if (!pick->found) {
		if (want != 0)
			fprintf(stderr,
			    "provost-replay: %s: no transfer %llu (the "
			    "recording has %llu file events)\n",
			    file, (unsigned long long)want,
			    (unsigned long long)n);
		else
			fprintf(stderr,
			    "provost-replay: %s: no get or put of that "
			    "path\n",
			    file);
		return XR_FAIL;
	}
	return XR_OK;
}

/* Pass 2: the content events up to the picked FILE event. */
static int
xr_collect(const char *file, const struct replay_keys *keys,
    const struct xr_pick *pick, struct rec_extract *x)
{
	struct rec_reader *r = NULL;
	struct rec_event ev;
	uint64_t n = 0;
	int ret, e;

	if (replay_open_report(file, keys, &r) != 0)
		return XR_FAIL;
	while ((ret = rec_reader_next(r, &ev)) == 1) {
		if (ev.type == REC_EV_FILE && ++n == pick->index)
			break;
		if (ev.type != REC_EV_FILE_DATA)
			continue;
		if ((e = rec_extract_data(x, &ev)) != 0) {
			fprintf(stderr, "provost-replay: %s: extract: %s\n",
			    file, pv_err_str(e));
			rec_reader_free(r);
			return XR_FAIL;
		}
	}
	if (ret != 1) {
		replay_report(file, r, ret);
		rec_reader_free(r);
		return XR_FAIL;
	}
	rec_reader_free(r);
	return XR_OK;
}

static int
xr_copy_out(int fd)
{
	uint8_t buf[65536];
	ssize_t n;

	if (lseek(fd, 0, SEEK_SET) != 0)
		return PV_ERR_IO;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return PV_ERR_IO;
		if (n == 0)
			return 0;
		if (pv_write_all(1, buf, (size_t)n) != 0)
			return PV_ERR_IO;
	}
}

static void
xr_usage(void)
{
	fprintf(stderr,
	    "usage: provost-replay extract --key KEY FILE "
	    "(--transfer N | --path PATH) [-o OUT]\n");
}

/*
 * provost-replay extract FILE (--transfer N | --path PATH) [-o OUT]:
 * N counts the FILE events as `provost-replay files` lists them (1 = the
 * first line).  Without -o the content goes to standard output, once it
 * has been verified.
 */
int
replay_cmd_extract(int argc, char **argv, const struct replay_keys *keys)
{
	struct xr_pick pick = { .found = 0 };
	struct rec_extract *x = NULL;
	const char *file = NULL, *path = NULL, *out = NULL;
	uint64_t want = 0;
	char msg[512];
	FILE *tmp = NULL;
	int a, fd = -1, rc = XR_FAIL, v, e;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--transfer") == 0 && a + 1 < argc) {
			if (pv_parse_u64(argv[++a], 1, UINT64_MAX, &want) !=
			    0) {
				fprintf(stderr,
				    "provost-replay: --transfer: not a "
				    "number from 1: %s\n",
				    argv[a]);
				return XR_USAGE;
			}
		} else if (strcmp(argv[a], "--path") == 0 && a + 1 < argc)
			path = argv[++a];
		else if (strcmp(argv[a], "-o") == 0 && a + 1 < argc)
			out = argv[++a];
		else if (argv[a][0] == '-' || file != NULL) {
			xr_usage();
			return XR_USAGE;
		} else
			file = argv[a];
	}
	if (file == NULL || (want == 0) == (path == NULL)) {
		xr_usage();
		return XR_USAGE;
	}
	if (out == NULL && isatty(1)) {
		fprintf(stderr,
		    "provost-replay: not writing file content to "
		    "a terminal: give -o OUT\n");
		return XR_USAGE;
	}
	if ((rc = xr_find(file, keys, want, path, &pick)) != XR_OK)
		goto out;
	rc = XR_FAIL;
	if (!is_transfer(&pick.f)) {
		fprintf(stderr,
		    "provost-replay: %s: transfer %llu is not a get or put\n",
		    file, (unsigned long long)pick.index);
		goto out;
	}
	if (!pick.f.contents) {
		fprintf(stderr,
		    "provost-replay: %s: transfer %llu (%s): its contents were "
		    "not recorded (RecordFileContents no); the recording "
		    "keeps its size and SHA-256 only\n",
		    file, (unsigned long long)pick.index, pick.path);
		goto out;
	}
	if (out != NULL) {
		fd = open(out,
		    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			fprintf(stderr, "provost-replay: %s: %s\n", out,
			    strerror(errno));
			goto out;
		}
	} else if ((tmp = tmpfile()) == NULL || (fd = fileno(tmp)) < 0) {
		fprintf(stderr, "provost-replay: temporary file: %s\n",
		    strerror(errno));
		goto out;
	}
	if ((e = rec_extract_new(&x, &pick.f, fd)) != 0) {
		fprintf(stderr, "provost-replay: extract: %s\n", pv_err_str(e));
		goto out;
	}
	if (xr_collect(file, keys, &pick, x) != XR_OK)
		goto out;
	if ((v = rec_extract_finish(x, msg, sizeof(msg))) < 0) {
		fprintf(stderr, "provost-replay: extract: %s\n", pv_err_str(v));
		goto out;
	}
	fprintf(stderr, "provost-replay: %s: transfer %llu (%s): %s\n", file,
	    (unsigned long long)pick.index, pick.path, msg);
	if (v == REC_EXTRACT_MISMATCH)
		goto out;
	if (out != NULL && fsync(fd) != 0) {
		fprintf(
		    stderr, "provost-replay: %s: %s\n", out, strerror(errno));
		goto out;
	}
	if (out == NULL && xr_copy_out(fd) != 0) {
		fprintf(stderr,
		    "provost-replay: writing standard output: "
		    "%s\n",
		    strerror(errno));
		goto out;
	}
	rc = v == REC_EXTRACT_OK ? XR_OK : XR_UNVERIFIED;
out:
	rec_extract_free(x);
	if (tmp != NULL)
		(void)fclose(tmp);
	else if (fd >= 0)
		(void)close(fd);
	/* Never leave a file that failed its check behind. */
	if (out != NULL && fd >= 0 && rc == XR_FAIL)
		(void)unlink(out);
	free(pick.path);
	return rc;
}
