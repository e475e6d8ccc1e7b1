/*
 * sftp-int.h: the SFTP tracker's internals shared by sftp.c (tables, the
 * target direction) and sftp_client.c (the engineer direction, policy).
 */
#ifndef PROVOST_BROKER_SESSION_SFTP_INT_H
#define PROVOST_BROKER_SESSION_SFTP_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "broker/session/sftp.h"

struct pv_buf;

/* Packet types (draft-ietf-secsh-filexfer-02). */
enum {
	FXP_INIT = 1,
	FXP_VERSION = 2,
	FXP_OPEN = 3,
	FXP_CLOSE = 4,
	FXP_READ = 5,
	FXP_WRITE = 6,
	FXP_LSTAT = 7,
	FXP_FSTAT = 8,
	FXP_SETSTAT = 9,
	FXP_FSETSTAT = 10,
	FXP_OPENDIR = 11,
	FXP_READDIR = 12,
	FXP_REMOVE = 13,
	FXP_MKDIR = 14,
	FXP_RMDIR = 15,
	FXP_REALPATH = 16,
	FXP_STAT = 17,
	FXP_RENAME = 18,
	FXP_READLINK = 19,
	FXP_SYMLINK = 20,
	FXP_STATUS = 101,
	FXP_HANDLE = 102,
	FXP_DATA = 103,
	FXP_NAME = 104,
	FXP_ATTRS = 105,
	FXP_EXTENDED = 200,
	FXP_EXTENDED_REPLY = 201,
};

/* Which responses each request may get (bits of R_*). */
#define R_STATUS 0x01
#define R_HANDLE 0x02
#define R_DATA 0x04
#define R_NAME 0x08
#define R_ATTRS 0x10
#define R_EXTREPLY 0x20

/* Content seen in one direction of one handle. */
struct flow {
	EVP_MD_CTX *md;
	uint64_t next; /* the offset hashing has reached */
	uint64_t bytes, packets;
	int nonseq;
};

struct handle {
	uint8_t h[SFTP_HANDLE_MAX];
	size_t hlen;
	char *path;
	uint32_t pflags;
	int is_dir;
	int closed; /* no longer in the table; freed when refs == 0 */
	unsigned int refs;
	uint64_t file_id, names;
	uint32_t wfail; /* first failed write's status, else 0 */
	struct flow r, w;
};

struct req {
	uint32_t id;
	enum sftp_op op;
	const char *ext;   /* static string */
	unsigned int resp; /* R_* allowed */
	char *path, *path2;
	char *extname; /* an unknown extension's name */
	uint32_t pflags;
	struct handle *h;
	uint64_t offset;
	uint32_t len;
};

enum s_state { S_HDR = 0, S_FIELDS, S_DATA, S_SKIP };

struct sftp_tracker {
	struct sftp_config cfg;
	int failed;
	int init_seen, version_seen;
	uint64_t next_file_id;
	/* client direction: the WRITE payload being passed */
	size_t c_left;
	struct handle *c_h;
	uint64_t c_off;
	/* server direction */
	enum s_state s_state;
	uint8_t s_hdr[9];
	size_t s_hgot;
	uint32_t s_rem; /* body bytes after the header */
	uint8_t s_type;
	uint32_t s_id;
	uint8_t *s_fld;
	size_t s_want, s_got, s_skip;
	uint32_t s_stream;
	struct handle *s_h; /* the handle a DATA answer belongs to */
	uint64_t s_off;
	/* tables */
	struct handle **handles;
	size_t nhandles;
	size_t opening; /* OPEN/OPENDIR requests in flight */
	struct req *reqs;
	size_t nreqs, reqcap;
	struct pv_buf *reply;
	struct sftp_stats st;
};

static inline uint32_t
sftp_get_u32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* sftp.c */
int sftp_flow_feed(struct flow *f, uint64_t off, const uint8_t *data, size_t n);
void sftp_handle_unref(struct handle *h);
struct handle *sftp_handle_find(
    struct sftp_tracker *t, const uint8_t *p, size_t len);
int sftp_emit(struct sftp_tracker *t, struct sftp_event *ev);
int sftp_req_add(struct sftp_tracker *t, struct req *q);
void sftp_req_clear(struct req *q);

#endif /* PROVOST_BROKER_SESSION_SFTP_INT_H */
