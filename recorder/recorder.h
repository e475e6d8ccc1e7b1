/*
 * recorder.h: encrypted, crash-safe session recordings (docs/recording-format.md):
 * recipients, the writer the broker feeds every byte to, the reader, the escape filter.
 */
#ifndef PROVOST_RECORDER_H
#define PROVOST_RECORDER_H

#include <stddef.h>
#include <stdint.h>

struct pv_buf;

/* The format version this code writes and reads (docs/recording-format.md). */
#define REC_FORMAT_VERSION 1

/* Event numbers are frozen on disk: never renumber, only append. */
enum rec_event_type {
	REC_EV_OUTPUT = 1,
	REC_EV_STDERR = 2,
	REC_EV_INPUT = 3,
	REC_EV_RESIZE = 4,
	REC_EV_EXEC = 5,
	REC_EV_SUBSYSTEM = 6,
	REC_EV_FILE = 7,
	REC_EV_EXIT = 8,
	REC_EV_END = 9,
	/*
	 * Extensions (128..255; version-1 readers that predate them skip
	 * them).  FILE_DATA: a piece of a transferred file's content
	 * (RecordFileContents yes).  FILE_REF (never returned by the reader)
	 * names the content stream the FILE event right after it summarises;
	 * the reader puts it into that event's rec_file.
	 */
	REC_EV_FILE_DATA = 128,
	REC_EV_FILE_REF = 129,
	/*
	 * EXEC_MORE: the next piece of a command longer than one EXEC event
	 * holds (65536 bytes); right after the EXEC or the EXEC_MORE before it.
	 */
	REC_EV_EXEC_MORE = 130,
	/*
	 * INDEX (never returned by the reader, which checks it): the search
	 * index of the recording, a trigram Bloom filter over the lines grep
	 * matches; in the final chunk, right before END.
	 */
	REC_EV_INDEX = 131,
};

enum rec_file_op {
	REC_FILE_GET = 1,
	REC_FILE_PUT = 2,
	REC_FILE_REMOVE = 3,
	REC_FILE_RENAME = 4,
	REC_FILE_MKDIR = 5,
	REC_FILE_RMDIR = 6,
	REC_FILE_SETSTAT = 7,
	REC_FILE_SYMLINK = 8,
	REC_FILE_LIST = 9,
	REC_FILE_OTHER = 255,
};

enum rec_file_dir {
	REC_DIR_NONE = 0,
	REC_DIR_UPLOAD = 1,   /* engineer -> target */
	REC_DIR_DOWNLOAD = 2, /* target -> engineer */
};

/* File-transfer metadata: one per completed operation. */
struct rec_file {
	enum rec_file_op op;
	enum rec_file_dir direction;
	uint32_t result;    /* 0 ok, else SSH_FX_* code */
	uint64_t bytes;     /* bytes transferred */
	uint8_t sha256[32]; /* all zero = not computed */
	const char *path;
	const char *path2; /* rename/symlink target, else NULL */
	/*
	 * contents: the file's data was recorded as FILE_DATA events of
	 * (channel, file_id, direction); else 0 and the two are unused.
	 */
	int contents;
	uint32_t channel;
	uint64_t file_id;
};

/* Where a FILE_DATA event's bytes belong (event data = the bytes). */
struct rec_file_data {
	uint32_t channel; /* the SSH channel of the session */
	uint64_t file_id; /* numbers the files of that channel from 1 */
	enum rec_file_dir direction;
	uint64_t offset; /* file offset of the first byte */
};

#define REC_EXIT_STATUS 1
#define REC_EXIT_SIGNAL 2
struct rec_exit {
	int kind;            /* REC_EXIT_STATUS or REC_EXIT_SIGNAL */
	uint32_t value;      /* exit status or signal number */
	int core_dumped;     /* 0 or 1 */
	const char *signame; /* "TERM" (no "SIG"), or NULL */
};

struct rec_totals {
	uint64_t events; /* events before END */
	uint64_t output_bytes;
	uint64_t stderr_bytes;
	uint64_t input_bytes;
	uint64_t chunks; /* including the final chunk */
	uint64_t duration_ms;
};

/*
 * Recipients: public keys (PEM SubjectPublicKeyInfo, X25519 or RSA >= 3072
 * bits) loaded once, shared read-only by any number of writers.
 */
struct rec_recipients;
int rec_recipients_load(struct rec_recipients **out, const char *const *paths,
    size_t npaths, char *err, size_t errlen);
size_t rec_recipients_count(const struct rec_recipients *rs);
void rec_recipients_free(struct rec_recipients *rs);

/* Session metadata written into the cleartext header. */
struct rec_meta {
	const char *session_id; /* required */
	const char *engineer, *provider, *target, *account, *client;
	const char *term;
	uint16_t cols, rows;
	int64_t start_unix_ms; /* wall clock */
	/* pv_mono_ms() at start: event times are relative to it. */
	uint64_t start_mono_ms;
};

/*
 * The writer.  Every function returns 0 or a negative PV_ERR_*; after the
 * first error the writer is failed and every later call returns that
 * error again (the caller ends the session: fail closed).  now_ms is
 * pv_mono_ms().  Appends only copy into memory; a sealed chunk's buffer
 * is handed (not copied) to the writer's I/O thread, which compresses,
 * encrypts, writes and fdatasyncs chunks in order (at most 8 queued; a
 * full queue waits).  An I/O error is
 * returned by the next call.  A writer is used by one thread at a time;
 * a recipient set may be shared by any number of writers and threads.
 */
struct rec_writer;
#define REC_CHUNK_SEAL_BYTES 65536
#define REC_CHUNK_SEAL_MS 1000

/* Creates path (0600, O_EXCL|O_NOFOLLOW), writes the header, fsyncs the directory. */
int rec_writer_open(struct rec_writer **out, const char *path,
    const struct rec_recipients *rs, const struct rec_meta *meta);
/* The same on an fd opened elsewhere (the monitor); takes ownership of fd. */
int rec_writer_open_fd(struct rec_writer **out, int fd,
    const struct rec_recipients *rs, const struct rec_meta *meta);

/*
 * The header made apart from the writer of the chunks (provostd's
 * monitor makes it, the session process writes the chunks): a fresh data
 * key and nonce prefix, the header written to fd (not synced:
 * rec_writer_resume_fd syncs it before the first chunk).  out
 * holds what the chunks' writer needs (the data key: a secret, wipe it
 * with rec_resume_wipe) and the header's SHA-256 and length.
 */
struct rec_resume {
	uint8_t dk[32];
	uint8_t nonce_prefix[4];
	uint8_t header_sha256[32];
	uint64_t header_len;
};
int rec_header_write(int fd, const struct rec_recipients *rs,
    const struct rec_meta *meta, struct rec_resume *out);
void rec_resume_wipe(struct rec_resume *res);
/*
 * Writes the chunks after a header rec_header_write put on fd (which this
 * takes, also on error); event times are relative to start_mono_ms.  Its
 * rec_writer_close gives the SHA-256 of the bytes it wrote (the chunks,
 * not the header) and the size of the whole file.
 */
int rec_writer_resume_fd(struct rec_writer **out, int fd,
    const struct rec_resume *res, uint64_t start_mono_ms);

/* type is REC_EV_OUTPUT, REC_EV_STDERR or REC_EV_INPUT. */
int rec_writer_data(struct rec_writer *w, uint64_t now_ms,
    enum rec_event_type type, const void *data, size_t len);
int rec_writer_resize(
    struct rec_writer *w, uint64_t now_ms, uint16_t cols, uint16_t rows);
int rec_writer_exec(
    struct rec_writer *w, uint64_t now_ms, const void *cmd, size_t len);
int rec_writer_subsystem(
    struct rec_writer *w, uint64_t now_ms, const char *name);
/* With f->contents, a FILE_REF event goes right before the FILE event. */
int rec_writer_file(
    struct rec_writer *w, uint64_t now_ms, const struct rec_file *f);
/* File content: split into FILE_DATA events of at most 65536 bytes. */
int rec_writer_file_data(struct rec_writer *w, uint64_t now_ms,
    const struct rec_file_data *d, const void *data, size_t len);
int rec_writer_exit(
    struct rec_writer *w, uint64_t now_ms, const struct rec_exit *e);
/* Seals the buffered chunk if its first event is >= 1 s old. */
int rec_writer_tick(struct rec_writer *w, uint64_t now_ms);
/* Milliseconds until tick has work (-1: nothing buffered), for poll(). */
int rec_writer_next_tick_ms(const struct rec_writer *w, uint64_t now_ms);
/* Seals whatever is buffered now and waits until it is on disk (fdatasync). */
int rec_writer_flush(struct rec_writer *w);
/* Chunks sealed so far (written by the I/O thread soon after). */
uint64_t rec_writer_chunks(const struct rec_writer *w);
/*
 * Writes END and the final chunk, fdatasyncs and closes the file; returns
 * the SHA-256 of the whole file and its size.  Frees w (also on error).
 */
int rec_writer_close(
    struct rec_writer *w, uint64_t now_ms, uint8_t sha256[32], uint64_t *size);
/* Frees without sealing (the file stays incomplete); wipes the data key. */
void rec_writer_free(struct rec_writer *w);

/* A recipient private key for reading (PEM, X25519 or RSA). */
struct rec_key;
int rec_key_load(
    struct rec_key **out, const char *path, char *err, size_t errlen);
int rec_key_from_x25519_raw(struct rec_key **out, const uint8_t priv[32]);
void rec_key_free(struct rec_key *k);

/* One event as read; pointers valid until the next rec_reader_next(). */
struct rec_event {
	enum rec_event_type type; /* or an extension type 128..255 */
	uint64_t t_ms;
	const uint8_t *data; /* OUTPUT/STDERR/INPUT/EXEC/SUBSYSTEM payload,
				FILE_DATA content */
	size_t len;
	struct rec_file_data fdata; /* FILE_DATA */
	uint16_t cols, rows;        /* RESIZE */
	struct rec_file file;       /* FILE (paths NUL-terminated copies) */
	struct rec_exit exit;       /* EXIT */
	struct rec_totals totals;   /* END */
};

/*
 * The reader validates everything in file order.  rec_reader_next returns
 * 1 with an event, 0 at the authentic end, or a negative PV_ERR_* at the
 * first bad point, with the exact reason in rec_reader_error().
 */
struct rec_reader;
/* On failure *out is still set, so rec_reader_error() can say why: free it. */
int rec_reader_open(struct rec_reader **out, const char *path);
/* Reads from memory (not copied; must outlive the reader). */
int rec_reader_open_mem(struct rec_reader **out, const void *data, size_t len);
void rec_reader_free(struct rec_reader *r);
/* The header JSON text (NUL-terminated) and its parsed fields. */
const char *rec_reader_header_json(const struct rec_reader *r);
int rec_reader_header_size(
    const struct rec_reader *r, uint16_t *cols, uint16_t *rows);
int64_t rec_reader_start_ms(const struct rec_reader *r);
/* Finds this key among the recipients and unwraps the data key. */
int rec_reader_unlock(struct rec_reader *r, const struct rec_key *k);
int rec_reader_next(struct rec_reader *r, struct rec_event *ev);
const char *rec_reader_error(const struct rec_reader *r);
/* Counts so far (chunks verified, events returned, last event time). */
uint64_t rec_reader_chunks(const struct rec_reader *r);
uint64_t rec_reader_events(const struct rec_reader *r);
/* The byte totals of the events read so far (output, stderr, input). */
const struct rec_totals *rec_reader_totals(const struct rec_reader *r);
uint64_t rec_reader_last_ms(const struct rec_reader *r);

/*
 * Recordings against the audit chain (audit_ref.c).  An index of what the
 * session rows of `provostctl audit export` (jsonl) say: session.open's
 * recording path and header hash, session.close's or session.abort's file
 * hash and size.  Other rows are skipped; a line that is not an audit row,
 * a session row with a malformed member, or a session opened or ended
 * twice is refused with "NAME:LINE: why" in err.
 */
struct rec_audit_ref {
	char session[37];
	char path[4096];            /* "" if the row names none */
	char header_sha256[64 + 1]; /* "" if the row holds none */
	uint64_t open_seq, end_seq; /* 0: no such row */
	int aborted;                /* the end is session.abort */
	char sha256[64 + 1];        /* "" if the end row holds none */
	uint64_t size;
	/* the end is session.aborted: its broker's lease expired (no hash) */
	int lost;
	char lost_broker[65];
};
struct rec_audit_index;
int rec_audit_index_load(struct rec_audit_index **out, const char *name,
    const char *text, size_t len, char *err, size_t errlen);
const struct rec_audit_ref *rec_audit_index_find(
    const struct rec_audit_index *ix, const char *session);
size_t rec_audit_index_count(const struct rec_audit_index *ix);
void rec_audit_index_free(struct rec_audit_index *ix);

/* A recording file's hashes, read without a key. */
struct rec_file_hash {
	uint8_t header_sha256[32]; /* HH: of the header bytes */
	uint8_t sha256[32];        /* of the whole file */
	uint64_t header_len, size;
	char session[37]; /* the header's session, "" if none */
};
int rec_file_hashes(
    const char *path, struct rec_file_hash *out, char *err, size_t errlen);
/* The same of an open file (read with pread from offset 0). */
int rec_fd_hashes(int fd, struct rec_file_hash *out, char *err, size_t errlen);
/*
 * Checks the recording at path against the index: it must be the
 * recording of session expect (NULL: the session its name ID.pvr says, else
 * its header's), its header must hash to what session.open recorded and
 * the whole file to what the session's end recorded.  1 it matches; 2 the
 * header matches and the session has no end row yet; 0 it does not (msg
 * names what differs); < 0 it could not be read (msg says why).
 */
int rec_audit_check(const struct rec_audit_index *ix, const char *path,
    const char *expect, char *msg, size_t msglen);

/* "HH:MM:SS" (hours may exceed 24) of a relative time in ms. */
int rec_format_offset(uint64_t ms, char *buf, size_t buflen);

/*
 * Rebuilding one transferred file (provost-replay extract) from the
 * FILE_DATA events of the FILE event f (f->contents set): content is
 * written into fd at its offsets; finish checks it against f: contiguous
 * from offset 0, f->bytes long, f->sha256.  rec_extract_data ignores
 * events of other transfers; it and _new return 0 or a negative PV_ERR_*.
 * finish returns a REC_EXTRACT_* verdict (or a negative PV_ERR_*) with
 * one line saying why in msg.
 */
#define REC_EXTRACT_OK 0         /* byte count and SHA-256 match */
#define REC_EXTRACT_UNVERIFIED 1 /* written; the event has no hash */
#define REC_EXTRACT_MISMATCH 2   /* missing, out of order or wrong hash */
struct rec_extract;
int rec_extract_new(struct rec_extract **out, const struct rec_file *f, int fd);
int rec_extract_data(struct rec_extract *x, const struct rec_event *ev);
int rec_extract_finish(struct rec_extract *x, char *msg, size_t msglen);
void rec_extract_free(struct rec_extract *x);

/*
 * The search index (index.c, docs/recording-format.md section 5): a Bloom
 * filter of the ASCII-lower-cased trigrams of every line provost-replay
 * grep matches against (each stream's text after the escape filter, lines
 * split at newlines, backspaces applied), so that a literal with a trigram
 * absent from it cannot occur in the recording.  A saturated index (too
 * full to help) has no bitmap and may match anything.
 */
struct rec_index {
	int saturated;
	unsigned int hashes;   /* bit positions per trigram */
	uint32_t bits;         /* bitmap size, a power of two */
	uint32_t set;          /* bits set */
	const uint8_t *bitmap; /* bits / 8 bytes; NULL when saturated */
};
/*
 * The index from the final chunk, reached by walking the chunk headers:
 * only the final chunk is decrypted and decompressed (its index in the
 * nonce and AAD, its FINAL flag, its END event's chunk count and the end
 * of the file are checked; the chunks before it are not read).  0 with
 * *out set; 1 when the final chunk has no index (an older recording); a
 * negative PV_ERR_* (PV_ERR_INCOMPLETE: no final chunk) with
 * rec_reader_error() saying why.  Call it on an unlocked reader instead
 * of rec_reader_next (the reader reads no events after it); out->bitmap
 * lives as long as the reader.
 */
int rec_reader_index(struct rec_reader *r, struct rec_index *out);
/*
 * May a line hold s (len bytes)?  0 when one of its trigrams is absent
 * (ASCII letters compared lower-cased); 1 otherwise, and always when the
 * index is saturated or s is shorter than 3 bytes.  skip_high: ignore
 * trigrams with a byte >= 0x80 (for a case-insensitive regex).
 */
int rec_index_may_match(
    const struct rec_index *ix, const uint8_t *s, size_t len, int skip_high);

/*
 * The terminal escape filter: keeps text and harmless CSI sequences
 * (REC_ESC_TERMINAL) or only text (REC_ESC_TEXT), drops OSC (52, 8,
 * titles), DCS, APC, PM, SOS, reports, C1 controls and bidi overrides,
 * replaces invalid UTF-8 with U+FFFD; state carries across calls.
 */
enum rec_escape_mode {
	REC_ESC_TERMINAL = 0,
	REC_ESC_TEXT = 1,
};
struct rec_escape;
struct rec_escape *rec_escape_new(enum rec_escape_mode mode);
void rec_escape_free(struct rec_escape *f);
int rec_escape_filter(
    struct rec_escape *f, const uint8_t *in, size_t len, struct pv_buf *out);
/* Ends the stream: an unfinished UTF-8 sequence becomes U+FFFD. */
int rec_escape_finish(struct rec_escape *f, struct pv_buf *out);

#endif /* PROVOST_RECORDER_H */
