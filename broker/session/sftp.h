/*
 * sftp.h: the SFTP v3 and legacy scp trackers that sit between the
 * two legs of a channel: bounded parsers, transfer events, policy refusals.
 */
#ifndef PROVOST_BROKER_SESSION_SFTP_H
#define PROVOST_BROKER_SESSION_SFTP_H

#include <stddef.h>
#include <stdint.h>

/*
 * Limits.  A packet's length field (the bytes after it) may not exceed
 * SFTP_PACKET_MAX (OpenSSH's SFTP_MAX_MSG_LENGTH): a larger one is
 * PV_ERR_PROTOCOL and the relay ends the channel (fail closed).  The
 * relay must be able to hold one whole client request (SFTP_HOLD_MAX
 * bytes) unforwarded while the tracker decides on it (SFTP_NEED).
 */
#define SFTP_PACKET_MAX (256 * 1024)
#define SFTP_HOLD_MAX (SFTP_PACKET_MAX + 4)
#define SFTP_HANDLE_MAX 256   /* draft-02: handles are at most 256 bytes */
#define SFTP_MAX_HANDLES 1024 /* open handles per channel */
#define SFTP_MAX_PENDING 4096 /* requests in flight per channel */
#define SFTP_REPLY_MAX 65536  /* queued refusal replies */
#define SFTP_FIELD_MAX 16384  /* response bytes kept for parsing */

/* Policy bits: the same values as policy.h's POLICY_TRANSFER_*. */
#define SFTP_ALLOW_UPLOAD 0x1   /* engineer -> target */
#define SFTP_ALLOW_DOWNLOAD 0x2 /* target -> engineer */

/* SSH_FXF_* open flags and SSH_FX_* status codes (draft-02). */
#define SFTP_FXF_READ 0x01
#define SFTP_FXF_WRITE 0x02
#define SFTP_FXF_APPEND 0x04
#define SFTP_FXF_CREAT 0x08
#define SFTP_FXF_TRUNC 0x10
#define SFTP_FXF_EXCL 0x20

#define SFTP_FX_OK 0
#define SFTP_FX_EOF 1
#define SFTP_FX_NO_SUCH_FILE 2
#define SFTP_FX_PERMISSION_DENIED 3
#define SFTP_FX_FAILURE 4
#define SFTP_FX_BAD_MESSAGE 5
#define SFTP_FX_NO_CONNECTION 6
#define SFTP_FX_CONNECTION_LOST 7
#define SFTP_FX_OP_UNSUPPORTED 8
/* Not on the wire: a handle still open when the tracker finished. */
#define SFTP_STATUS_UNFINISHED 0xffffffffU

#define SFTP_MSG_UPLOAD_DENIED "provost: uploads are not allowed by policy"
#define SFTP_MSG_DOWNLOAD_DENIED "provost: downloads are not allowed by policy"

enum sftp_op {
	SFTP_OP_OPEN = 1,
	SFTP_OP_CLOSE, /* a directory handle (file handles: summaries) */
	SFTP_OP_READ,  /* summary of a handle's reads, at close */
	SFTP_OP_WRITE, /* summary of a handle's writes, at close */
	SFTP_OP_REMOVE,
	SFTP_OP_RENAME, /* also posix-rename@openssh.com (ext set) */
	SFTP_OP_MKDIR,
	SFTP_OP_RMDIR,
	SFTP_OP_SETSTAT, /* also lsetstat@openssh.com (ext set) */
	SFTP_OP_FSETSTAT,
	SFTP_OP_SYMLINK,  /* path = link path, path2 = target */
	SFTP_OP_READLINK, /* path2 = the answer */
	SFTP_OP_REALPATH, /* path2 = the answer (also expand-path) */
	SFTP_OP_STAT,
	SFTP_OP_LSTAT,
	SFTP_OP_FSTAT,
	SFTP_OP_OPENDIR,
	SFTP_OP_READDIR,  /* summary at close: bytes = names listed */
	SFTP_OP_EXTENDED, /* any other extension: ext = its name */
};

enum sftp_dir {
	SFTP_DIR_NONE = 0,
	SFTP_DIR_UPLOAD = 1,   /* engineer -> target */
	SFTP_DIR_DOWNLOAD = 2, /* target -> engineer */
};

enum sftp_hash_state {
	SFTP_HASH_NONE = 0,       /* not a content summary */
	SFTP_HASH_SEQUENTIAL,     /* sha256 covers bytes [0, bytes) in order */
	SFTP_HASH_NON_SEQUENTIAL, /* gaps, overlaps or a start past 0 */
};

/*
 * One completed operation (or a refusal).  Pointers are valid during the
 * callback only.  file_id numbers the opens of a channel (1, 2, ...) so
 * that content, open and summary events of one file can be joined.
 */
struct sftp_event {
	enum sftp_op op;
	const char *ext;   /* extension name, or NULL */
	const char *path;  /* "" when the operation has none */
	const char *path2; /* rename/symlink/link target, an answer, or NULL */
	enum sftp_dir direction;
	uint64_t file_id;    /* opens, summaries and content; else 0 */
	uint32_t open_flags; /* SFTP_FXF_* for opens and summaries */
	uint64_t bytes;      /* summaries: bytes; readdir: names */
	uint64_t packets;    /* summaries: requests of that kind */
	enum sftp_hash_state hash;
	char sha256[65]; /* hex when hash == SFTP_HASH_SEQUENTIAL, else "" */
	uint32_t status; /* SFTP_FX_* result, or SFTP_STATUS_UNFINISHED */
	const char *message; /* the status message, or "" */
	int refused;         /* 1: provost refused it; never forwarded */
	/*
	 * read/write summaries with record_contents: the content callback
	 * was given this file's data (file_id, direction) as it passed.
	 */
	int contents;
};

/*
 * Callbacks return 0, or a negative PV_ERR_* that the tracker returns to
 * the relay unchanged (a recording failure ends the channel).  content
 * is called only with record_contents, for each piece of file data as it
 * passes: written data when the request passes, read data when the
 * response passes, with the file offset it belongs at.
 */
struct sftp_callbacks {
	int (*event)(void *ctx, const struct sftp_event *ev);
	int (*content)(void *ctx, uint64_t file_id, enum sftp_dir dir,
	    uint64_t offset, const uint8_t *data, size_t len);
	void *ctx;
};

struct sftp_config {
	unsigned int allow; /* SFTP_ALLOW_* */
	int record_contents;
	struct sftp_callbacks cb;
};

/* What the relay does with the head of the client bytes it holds. */
enum sftp_action {
	SFTP_PASS = 0, /* forward the first len bytes unchanged */
	SFTP_NEED,     /* keep them all; call again with more appended */
	SFTP_REFUSE,   /* drop the first len bytes (one request) */
	SFTP_WAIT,     /* keep them; deliver queued replies, then call again */
};

struct sftp_verdict {
	enum sftp_action action;
	size_t len;
};

struct sftp_tracker;

int sftp_tracker_new(struct sftp_tracker **out, const struct sftp_config *cfg);
void sftp_tracker_free(struct sftp_tracker *t);

/*
 * Engineer -> target.  buf holds the client bytes the relay has not yet
 * forwarded or dropped, oldest first; the verdict covers a prefix of it.
 * Bytes given SFTP_PASS are accounted for: the relay must forward exactly
 * them, in order, and present only later bytes next time.  SFTP_NEED is
 * returned only while buf holds less than one request's deciding prefix
 * (at most SFTP_HOLD_MAX bytes).  Returns 0 or a negative PV_ERR_*
 * (PV_ERR_PROTOCOL: end the channel); after an error every call fails.
 */
int sftp_tracker_client_data(struct sftp_tracker *t, const uint8_t *buf,
    size_t len, struct sftp_verdict *v);

/*
 * Target -> engineer: every byte, in any chunking, once each; all are
 * consumed.  Returns 0 or a negative PV_ERR_*.
 */
int sftp_tracker_server_data(
    struct sftp_tracker *t, const uint8_t *buf, size_t len);

/*
 * Replies the tracker made for refused requests (SSH_FXP_STATUS packets).
 * They are handed out only between two target packets, so that they are
 * never spliced into one: the relay writes them to the engineer after all
 * target bytes it gave the tracker, then calls _reply_consumed.
 */
int sftp_tracker_reply(
    struct sftp_tracker *t, const uint8_t **data, size_t *len);
void sftp_tracker_reply_consumed(struct sftp_tracker *t, size_t len);

/* At channel end: summaries of handles still open (SFTP_STATUS_UNFINISHED). */
int sftp_tracker_finish(struct sftp_tracker *t);

/* Counters for tests and the session summary. */
struct sftp_stats {
	uint64_t client_packets, server_packets;
	uint64_t refused;
	uint64_t bytes_uploaded, bytes_downloaded;
	size_t open_handles, pending;
};
void sftp_tracker_stats(const struct sftp_tracker *t, struct sftp_stats *st);

const char *sftp_op_name(enum sftp_op op);
const char *sftp_dir_name(enum sftp_dir d);

/*
 * Legacy scp (scp -O) over exec.  The broker classifies the exec command
 * strictly: "scp [-v] [-r] [-p] [-d] -t|-f [--] PATH" with PATH of plain
 * characters only (no white space or shell syntax), as OpenSSH's scp sends
 * it.  -t runs a sink on the target (upload), -f a source (download).
 */
enum scp_mode {
	SCP_NONE = 0,     /* not scp: an ordinary exec */
	SCP_UPLOAD = 1,   /* scp -t */
	SCP_DOWNLOAD = 2, /* scp -f */
};
/*
 * 0 with *mode SCP_NONE when cmd does not start with "scp ", 0 with the
 * mode and a copy of PATH when it is a well-formed scp invocation, or
 * PV_ERR_INVALID when it starts with scp but is anything else (refuse it).
 */
int scp_classify(const char *cmd, size_t len, enum scp_mode *mode, char **path,
    int *recursive);

/*
 * The scp protocol between the legs (C/D/E/T lines, file data, acks):
 * one SFTP_OP_WRITE (upload) or SFTP_OP_READ (download) summary event per
 * file with its path (directories of -r joined), size, SHA-256 and the
 * sink's acknowledgement; SFTP_OP_MKDIR for each D line.  Never refuses:
 * policy applies to the whole exec (scp_classify).
 */
struct scp_tracker;
int scp_tracker_new(struct scp_tracker **out, enum scp_mode mode,
    const char *path, const struct sftp_config *cfg);
void scp_tracker_free(struct scp_tracker *t);
int scp_tracker_client_data(
    struct scp_tracker *t, const uint8_t *buf, size_t len);
int scp_tracker_server_data(
    struct scp_tracker *t, const uint8_t *buf, size_t len);
int scp_tracker_finish(struct scp_tracker *t);

#endif /* PROVOST_BROKER_SESSION_SFTP_H */
