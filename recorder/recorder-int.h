/*
 * recorder-int.h: format constants and the key-wrapping helpers shared by
 * the writer and the reader; not for use outside recorder/.
 */
#ifndef PROVOST_RECORDER_INT_H
#define PROVOST_RECORDER_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "recorder/recorder.h"

#define REC_MAGIC "\x89PVR\r\n\x1a\n"
#define REC_MAGIC_LEN 8
#define REC_PREFIX_LEN 14 /* magic, u16 version, u32 json_len */
#define REC_JSON_MAX (1024 * 1024)
#define REC_KEY_LEN 32
#define REC_TAG_LEN 16
#define REC_NONCE_LEN 12
#define REC_NONCE_PREFIX_LEN 4
#define REC_HASH_LEN 32
#define REC_AAD_LEN (REC_HASH_LEN + 8 + 1)
#define REC_CHUNK_HDR_LEN 5
#define REC_CT_MAX (1024 * 1024 + REC_TAG_LEN)
#define REC_PLAIN_MAX 262144
#define REC_EVENT_HDR_LEN 13
/*
 * The writer seals at 64 KiB, so its buffer needs room for 64 KiB plus
 * one more event (data events are split at 64 KiB; FILE is < 9 KiB).
 */
#define REC_WRITER_PLAIN_CAP (2 * 65536 + 16384)
#define REC_DATA_MAX 65536
/* An exec command, in EXEC and EXEC_MORE events (SSH packets are smaller). */
#define REC_EXEC_MAX (1024 * 1024)
/* FILE_DATA: u32 channel, u64 file_id, u8 direction, u64 offset, data */
#define REC_FILE_DATA_HDR 21
#define REC_FILE_REF_LEN 12 /* u32 channel, u64 file_id */
#define REC_SUBSYS_MAX 256
#define REC_PATH_MAX 4096
#define REC_SIGNAME_MAX 32
#define REC_FLAG_FINAL 0x01
#define REC_X25519_LEN 32
#define REC_X25519_WRAPPED_LEN (REC_KEY_LEN + REC_TAG_LEN)
#define REC_RSA_MIN_BITS 3072
#define REC_WRAP_INFO "provost-recording v1 x25519 wrap"
#define REC_WRAP_AAD "provost-recording v1 wrap"

enum rec_key_type {
	REC_KEY_X25519 = 1,
	REC_KEY_RSA = 2,
};

/* One public recipient, as loaded. */
struct rec_recipient {
	enum rec_key_type type;
	EVP_PKEY *pkey;
	char key_id[2 * REC_HASH_LEN + 1];
	int bits;
};

struct rec_recipients {
	struct rec_recipient *v;
	size_t n;
};

struct rec_key {
	enum rec_key_type type;
	EVP_PKEY *pkey;
	char key_id[2 * REC_HASH_LEN + 1];
};

/* Sets type, key id and bits from a public (or private) key; checks sizes. */
int rec_pkey_describe(EVP_PKEY *pkey, enum rec_key_type *type,
    char key_id[2 * REC_HASH_LEN + 1], int *bits);
/* Wraps dk to one recipient: epk (x25519 only, else zeroed) and wrapped. */
int rec_wrap_key(const struct rec_recipient *rc, const uint8_t dk[REC_KEY_LEN],
    uint8_t epk[REC_X25519_LEN], uint8_t **wrapped, size_t *wrapped_len);
int rec_unwrap_key(const struct rec_key *k, const uint8_t *epk, size_t epk_len,
    const uint8_t *wrapped, size_t wrapped_len, uint8_t dk[REC_KEY_LEN]);

/*
 * The writer's I/O thread (wio.c): filled event buffers are queued in
 * REC_WIO_SLOTS slots; one thread compresses, encrypts, writes and
 * fdatasyncs them in order, so the caller's thread only copies bytes.
 * Errors are sticky and reported by every later call.
 */
#define REC_WIO_SLOTS 8
/*
 * Unsynced chunk bytes that make the sync thread flush before the 1 s
 * deadline.  Each fdatasync costs about the same CPU whatever it flushes
 * (block layer, device kick): syncing every 8 chunks cost 7% of a core at
 * 100 MB/s, every 4 MiB well under 1%.
 */
#define REC_WIO_SYNC_BYTES (4u << 20)
/* Fast enough for 100 MB/s in a few % of a core; text still shrinks >3x. */
#define REC_ZSTD_LEVEL 1
/*
 * A 4K-entry hash table (16 KiB) instead of level 1's 8K for 64 KiB
 * chunks: stays in L1 and is cleared faster per frame; 5% less CPU on
 * terminal text for the same ratio (measured: 0.133 vs 0.134).
 */
#define REC_ZSTD_HASHLOG 12
/*
 * Chunks whose three 1 KiB samples each hold at least this many distinct
 * byte values (random 1 KiB: ~251; text: < 100) are stored as raw zstd
 * blocks without searching for matches.
 */
#define REC_RAW_DISTINCT_MIN 230
#define REC_ZSTD_BLOCK_MAX 131072
/*
 * The search index (index.c).  64 KiB of bitmap, 2 bit positions per
 * trigram taken from one 64-bit multiplicative hash.  Saturated (and no
 * longer updated) once a third of its bits are set (about 110,000
 * distinct trigrams), where an absent trigram is a false hit 1 time in 9
 * and a 4-trigram literal (`rm -rf`) about 1 in 6,500; random bytes get
 * there within about 700 KB and cost no index CPU after.  Terminal text
 * stays well below: a session's distinct lower-cased trigrams number in
 * the tens of thousands.
 */
#define REC_INDEX_KIND_TRIGRAM 1
#define REC_INDEX_VERSION 1
#define REC_INDEX_HDR_LEN 12 /* kind, version, hashes, flags, bits, set */
#define REC_INDEX_FLAG_SATURATED 0x01
#define REC_INDEX_BITS_LOG 19 /* 524288 bits = 64 KiB */
#define REC_INDEX_BITS (1u << REC_INDEX_BITS_LOG)
#define REC_INDEX_HASHES 2
#define REC_INDEX_SATURATED (REC_INDEX_BITS / 3)
/*
 * Past this many bytes of text events the writer stops indexing and says
 * SATURATED: the index costs the recorder about 2.5 ns a byte of text,
 * more than zstd, and a recording this large is read in full anyway.
 */
#define REC_INDEX_TEXT_MAX (32u * 1024 * 1024)
#define REC_INDEX_BITS_MIN_LOG 10
#define REC_INDEX_BITS_MAX_LOG 22
#define REC_INDEX_MULT 0x9e3779b97f4a7c15ull
/* The INDEX event the writer makes, header and payload at most. */
#define REC_INDEX_EVENT_MAX \
	(REC_EVENT_HDR_LEN + REC_INDEX_HDR_LEN + REC_INDEX_BITS / 8)
/*
 * The writer's side, run on the I/O thread: fed every chunk's events in
 * order (the final chunk's END included, which ends both streams).
 */
struct rec_tindex;
void rec_tindex_free(struct rec_tindex *ix);
/* *ix is made on first use (NULL until a data event comes). */
int rec_tindex_events(struct rec_tindex **ix, const uint8_t *ev, size_t len);
/*
 * The INDEX payload (at most REC_INDEX_HDR_LEN + REC_INDEX_BITS / 8);
 * gave_up: saturated (the index could not be kept).
 */
size_t rec_tindex_payload(
    const struct rec_tindex *ix, int gave_up, uint8_t *out);
/* Checks an INDEX payload; 0 with out set, or PV_ERR_INVALID and why. */
int rec_index_parse(
    const uint8_t *p, size_t len, struct rec_index *out, const char **why);

struct rec_wio;
int rec_wio_start(struct rec_wio **out, int fd, EVP_MD_CTX *fh,
    const uint8_t dk[REC_KEY_LEN], const uint8_t prefix[REC_NONCE_PREFIX_LEN],
    const uint8_t hh[REC_HASH_LEN]);
/*
 * Queues *buf (len bytes of events, REC_WRITER_PLAIN_CAP allocated) as chunk
 * index with flags, and replaces *buf by an empty buffer of the same size
 * (no copy); waits while the queue is full.  The chunk is fdatasynced
 * within sync_ms (sooner when REC_WIO_SYNC_BYTES are unsynced, at FINAL
 * and on drain).
 */
int rec_wio_submit(struct rec_wio *q, uint8_t **buf, size_t len, uint64_t index,
    uint8_t flags, unsigned int sync_ms);
/* Waits until everything queued is written and synced. */
int rec_wio_drain(struct rec_wio *q);
int rec_wio_error(struct rec_wio *q);
/* Writes what is queued, stops the thread, frees; returns bytes written. */
int rec_wio_stop(struct rec_wio *q, uint64_t *size);

/*
 * For the fuzz target and tests only: reads events as if they were the
 * authentic plaintext of chunk 0 (final or not), so the event decoder is
 * reached without forging a tag; the reader's error text into err (may
 * be NULL).
 */
int rec_reader_fuzz_events(
    const uint8_t *events, size_t len, int final, char *err, size_t errlen);

/* The chunk nonce and AAD (docs/recording-format.md section 4). */
void rec_chunk_nonce(const uint8_t prefix[REC_NONCE_PREFIX_LEN], uint64_t index,
    uint8_t nonce[REC_NONCE_LEN]);
void rec_chunk_aad(const uint8_t hh[REC_HASH_LEN], uint64_t index,
    uint8_t flags, uint8_t aad[REC_AAD_LEN]);

static inline void
rec_put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static inline void
rec_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif /* PROVOST_RECORDER_INT_H */
