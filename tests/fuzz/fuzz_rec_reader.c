/*
 * fuzz_rec_reader.c: the recording reader on untrusted files.  A fixed test
 * key is compiled in so inputs get past unwrapping into chunks and events.
 *
 * Seeds in corpus/fuzz_rec_reader/ are small recordings made by provost-rec
 * for this key's public half (printf the DER prefix 302e020100300506032b656e
 * 04220420 and the bytes below | openssl pkey -inform DER, then -pubout).
 * An input starting with 'E' or 'F' is instead a chunk's plaintext (event
 * list; 'F' = final chunk) fed straight to the event decoder; seeds
 * events-*.bin.  File content events of a recording also go through
 * rec_extract (into /dev/null), checked at each FILE event with content;
 * seed filedata.pvr.  Every recording's search index is then read the
 * fast way (rec_reader_index: the final chunk alone) and probed.
 */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/common.h"
#include "recorder/recorder-int.h"
#include "recorder/recorder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A test key only: never a real recipient. */
static const uint8_t fuzz_key[32] = { 0x70, 0x72, 0x6f, 0x76, 0x6f, 0x73, 0x74,
	0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x74, 0x65, 0x73, 0x74, 0x2d, 0x6b,
	0x65, 0x79, 0x2d, 0x6e, 0x6f, 0x74, 0x2d, 0x73, 0x65, 0x63, 0x72, 0x65,
	0x74 };

/*
 * Extracts the stream of the first content event seen, claiming a hash,
 * and checks it at the next FILE event with content; then starts over.
 */
static void
fuzz_extract(struct rec_extract **x, const struct rec_event *ev, int fd,
    char *msg, size_t msglen)
{
	struct rec_file f = { .contents = 1, .bytes = 3, .sha256 = { 1 } };
	int v;

	if (ev->type == REC_EV_FILE_DATA && *x == NULL) {
		f.channel = ev->fdata.channel;
		f.file_id = ev->fdata.file_id;
		f.direction = ev->fdata.direction;
		if (rec_extract_new(x, &f, fd) != 0)
			abort();
	}
	if (*x == NULL)
		return;
	if (ev->type == REC_EV_FILE_DATA)
		(void)rec_extract_data(*x, ev);
	else if (ev->type == REC_EV_FILE && ev->file.contents) {
		v = rec_extract_finish(*x, msg, msglen);
		if (v >= 0 && msg[0] == '\0')
			abort(); /* every verdict says why */
		rec_extract_free(*x);
		*x = NULL;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec_reader *r = NULL;
	struct rec_key *k = NULL;
	struct rec_event ev;
	struct rec_extract *x = NULL;
	uint16_t cols, rows;
	char when[32], msg[512];
	int ret, n = 0, null_fd;

	if (size > 0 && (data[0] == 'E' || data[0] == 'F')) {
		(void)rec_reader_fuzz_events(
		    data + 1, size - 1, data[0] == 'F', NULL, 0);
		return 0;
	}
	if (rec_key_from_x25519_raw(&k, fuzz_key) != 0)
		abort();
	if ((null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
		abort();
	if (rec_reader_open_mem(&r, data, size) == 0) {
		(void)rec_reader_header_size(r, &cols, &rows);
		(void)rec_reader_start_ms(r);
		if (rec_reader_unlock(r, k) == 0) {
			while ((ret = rec_reader_next(r, &ev)) == 1 &&
			    n++ < 100000) {
				if (ev.len > 0 && ev.data == NULL)
					abort();
				if (ev.type == REC_EV_FILE &&
				    (ev.file.path == NULL ||
					ev.file.path2 == NULL))
					abort();
				fuzz_extract(
				    &x, &ev, null_fd, msg, sizeof(msg));
			}
			if (ret < 0 && rec_reader_error(r)[0] == '\0')
				abort(); /* every failure says why */
		}
	}
	/* the search index, read from the final chunk alone, and probed */
	rec_reader_free(r);
	r = NULL;
	if (rec_reader_open_mem(&r, data, size) == 0 &&
	    rec_reader_unlock(r, k) == 0) {
		struct rec_index ix;

		ret = rec_reader_index(r, &ix);
		if (ret < 0 && rec_reader_error(r)[0] == '\0')
			abort();
		if (ret == 0) {
			if (!ix.saturated && ix.bitmap == NULL)
				abort();
			(void)rec_index_may_match(
			    &ix, (const uint8_t *)"rm -rf", 6, 0);
			(void)rec_index_may_match(&ix, data, size, 1);
		}
	}
	(void)rec_format_offset(rec_reader_last_ms(r), when, sizeof(when));
	rec_extract_free(x);
	(void)close(null_fd);
	rec_reader_free(r);
	rec_key_free(k);
	return 0;
}
