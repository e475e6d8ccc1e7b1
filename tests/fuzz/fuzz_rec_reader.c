/*
 * fuzz_rec_reader.c: the recording reader on untrusted files.  A fixed test
 * key is compiled in so inputs get past unwrapping into chunks and events.
 *
 * Seeds in corpus/fuzz_rec_reader/ are small recordings made by provost-rec
 * for this key's public half (printf the DER prefix 302e020100300506032b656e
 * 04220420 and the bytes below | openssl pkey -inform DER, then -pubout).
 * An input starting with 'E' or 'F' is instead a chunk's plaintext (event
 * list; 'F' = final chunk) fed straight to the event decoder; seeds
 * events-*.bin.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "common/common.h"
#include "recorder/recorder-int.h"
#include "recorder/recorder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A test key only: never a real recipient. */
static const uint8_t fuzz_key[32] = { 0x70, 0x72, 0x6f, 0x76, 0x6f, 0x73, 0x74,
	0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x74, 0x65, 0x73, 0x74, 0x2d, 0x6b,
	0x65, 0x79, 0x2d, 0x6e, 0x6f, 0x74, 0x2d, 0x73, 0x65, 0x63, 0x72, 0x65,
	0x74 };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec_reader *r = NULL;
	struct rec_key *k = NULL;
	struct rec_event ev;
	uint16_t cols, rows;
	char when[32];
	int ret, n = 0;

	if (size > 0 && (data[0] == 'E' || data[0] == 'F')) {
		(void)rec_reader_fuzz_events(
		    data + 1, size - 1, data[0] == 'F');
		return 0;
	}
	if (rec_key_from_x25519_raw(&k, fuzz_key) != 0)
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
			}
			if (ret < 0 && rec_reader_error(r)[0] == '\0')
				abort(); /* every failure says why */
		}
	}
	(void)rec_format_offset(rec_reader_last_ms(r), when, sizeof(when));
	rec_reader_free(r);
	rec_key_free(k);
	return 0;
}
