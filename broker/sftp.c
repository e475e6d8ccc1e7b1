/*
 * sftp.c: the SFTP v3 tracker between the legs of a channel: bounded,
 * incremental parsing of both directions, policy refusals, transfer events.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "broker/broker-sftp.h"
#include "common/common.h"
#include "policy/policy.h"

_Static_assert(SFTP_ALLOW_UPLOAD == POLICY_TRANSFER_UPLOAD, "policy bits");
_Static_assert(SFTP_ALLOW_DOWNLOAD == POLICY_TRANSFER_DOWNLOAD, "policy bits");

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

static const char *const op_names[] = {
	[SFTP_OP_OPEN] = "open",
	[SFTP_OP_CLOSE] = "close",
	[SFTP_OP_READ] = "read",
	[SFTP_OP_WRITE] = "write",
	[SFTP_OP_REMOVE] = "remove",
	[SFTP_OP_RENAME] = "rename",
	[SFTP_OP_MKDIR] = "mkdir",
	[SFTP_OP_RMDIR] = "rmdir",
	[SFTP_OP_SETSTAT] = "setstat",
	[SFTP_OP_FSETSTAT] = "fsetstat",
	[SFTP_OP_SYMLINK] = "symlink",
	[SFTP_OP_READLINK] = "readlink",
	[SFTP_OP_REALPATH] = "realpath",
	[SFTP_OP_STAT] = "stat",
	[SFTP_OP_LSTAT] = "lstat",
	[SFTP_OP_FSTAT] = "fstat",
	[SFTP_OP_OPENDIR] = "opendir",
	[SFTP_OP_READDIR] = "readdir",
	[SFTP_OP_EXTENDED] = "extended",
};

const char *
sftp_op_name(enum sftp_op op)
{
	if ((size_t)op >= sizeof(op_names) / sizeof(op_names[0]) ||
	    op_names[op] == NULL)
		return "unknown";
	return op_names[op];
}

const char *
sftp_dir_name(enum sftp_dir d)
{
	switch (d) {
	case SFTP_DIR_UPLOAD:
		return "upload";
	case SFTP_DIR_DOWNLOAD:
		return "download";
	default:
		return "none";
	}
}

static uint32_t
get_u32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* ---- flows and handles ---- */

static int
flow_feed(struct flow *f, uint64_t off, const uint8_t *data, size_t n)
{
	f->bytes += n;
	if (f->nonseq || n == 0)
		return 0;
	if (off != f->next) {
		f->nonseq = 1; /* out of order, overlapping or a gap */
		return 0;
	}
	if (f->md == NULL) {
		if ((f->md = EVP_MD_CTX_new()) == NULL)
			return PV_ERR_ALLOC;
		if (EVP_DigestInit_ex(f->md, EVP_sha256(), NULL) != 1)
			return PV_ERR_CRYPTO;
	}
	if (EVP_DigestUpdate(f->md, data, n) != 1)
		return PV_ERR_CRYPTO;
	f->next += n;
	return 0;
}

static int
flow_final(struct flow *f, struct sftp_event *ev)
{
	uint8_t dg[32];
	unsigned int dlen = 0;

	ev->bytes = f->bytes;
	ev->packets = f->packets;
	if (f->nonseq) {
		ev->hash = SFTP_HASH_NON_SEQUENTIAL;
		return 0;
	}
	ev->hash = SFTP_HASH_SEQUENTIAL;
	if (f->md == NULL) {
		if (EVP_Digest("", 0, dg, &dlen, EVP_sha256(), NULL) != 1)
			return PV_ERR_CRYPTO;
	} else if (EVP_DigestFinal_ex(f->md, dg, &dlen) != 1)
		return PV_ERR_CRYPTO;
	return pv_hex_encode(dg, sizeof(dg), ev->sha256, sizeof(ev->sha256));
}

static void
handle_free(struct handle *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->r.md);
	EVP_MD_CTX_free(h->w.md);
	free(h->path);
	free(h);
}

static void
handle_unref(struct handle *h)
{
	if (h != NULL && --h->refs == 0 && h->closed)
		handle_free(h);
}

static struct handle *
handle_find(struct sftp_tracker *t, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < t->nhandles; i++)
		if (t->handles[i]->hlen == len &&
		    memcmp(t->handles[i]->h, p, len) == 0)
			return t->handles[i];
	return NULL;
}

/* Takes h out of the table; frees it when no request refers to it. */
static void
handle_drop(struct sftp_tracker *t, struct handle *h)
{
	size_t i;

	for (i = 0; i < t->nhandles; i++) {
		if (t->handles[i] == h) {
			t->handles[i] = t->handles[--t->nhandles];
			break;
		}
	}
	h->closed = 1;
	if (h->refs == 0)
		handle_free(h);
}

static int
emit(struct sftp_tracker *t, struct sftp_event *ev)
{
	if (ev->path == NULL)
		ev->path = "";
	if (ev->message == NULL)
		ev->message = "";
	if (t->cfg.cb.event == NULL)
		return 0;
	return t->cfg.cb.event(t->cfg.cb.ctx, ev);
}

/* The summaries of a handle being closed with status/msg. */
static int
handle_summaries(
    struct sftp_tracker *t, struct handle *h, uint32_t status, const char *msg)
{
	struct sftp_event ev;
	int r;

	if (h->is_dir) {
		ev = (struct sftp_event){ .op = SFTP_OP_READDIR,
			.path = h->path,
			.bytes = h->names,
			.status = status,
			.message = msg };
		return emit(t, &ev);
	}
	if ((h->pflags & SFTP_FXF_WRITE) || h->w.bytes > 0) {
		ev = (struct sftp_event){ .op = SFTP_OP_WRITE,
			.path = h->path,
			.direction = SFTP_DIR_UPLOAD,
			.file_id = h->file_id,
			.open_flags = h->pflags,
			.status = h->wfail != 0 && status == SFTP_FX_OK
			    ? h->wfail
			    : status,
			.message = msg };
		if ((r = flow_final(&h->w, &ev)) != 0 ||
		    (r = emit(t, &ev)) != 0)
			return r;
	}
	if ((h->pflags & SFTP_FXF_READ) || !(h->pflags & SFTP_FXF_WRITE) ||
	    h->r.bytes > 0) {
		ev = (struct sftp_event){ .op = SFTP_OP_READ,
			.path = h->path,
			.direction = SFTP_DIR_DOWNLOAD,
			.file_id = h->file_id,
			.open_flags = h->pflags,
			.status = status,
			.message = msg };
		if ((r = flow_final(&h->r, &ev)) != 0 ||
		    (r = emit(t, &ev)) != 0)
			return r;
	}
	return 0;
}

/* ---- requests in flight ---- */

static struct req *
req_find(struct sftp_tracker *t, uint32_t id)
{
	size_t i;

	for (i = 0; i < t->nreqs; i++)
		if (t->reqs[i].id == id)
			return &t->reqs[i];
	return NULL;
}

static void
req_clear(struct req *q)
{
	free(q->path);
	free(q->path2);
	free(q->extname);
	handle_unref(q->h);
	*q = (struct req){ 0 };
}

static void
req_remove(struct sftp_tracker *t, struct req *q)
{
	size_t i = (size_t)(q - t->reqs);

	if (q->op == SFTP_OP_OPEN || q->op == SFTP_OP_OPENDIR)
		t->opening--;
	req_clear(q);
	if (i != t->nreqs - 1)
		t->reqs[i] = t->reqs[t->nreqs - 1];
	t->nreqs--;
}

/* Adds q (taking its strings and handle reference) to the table. */
static int
req_add(struct sftp_tracker *t, struct req *q)
{
	struct req *n;
	size_t cap;

	if (req_find(t, q->id) != NULL) {
		pv_warn("sftp: request id %u reused while in flight", q->id);
		return PV_ERR_PROTOCOL;
	}
	if (t->nreqs >= SFTP_MAX_PENDING) {
		pv_warn(
		    "sftp: more than %d requests in flight", SFTP_MAX_PENDING);
		return PV_ERR_PROTOCOL;
	}
	if (t->nreqs == t->reqcap) {
		cap = t->reqcap == 0 ? 64 : t->reqcap * 2;
		if ((n = reallocarray(t->reqs, cap, sizeof(*n))) == NULL)
			return PV_ERR_ALLOC;
		t->reqs = n;
		t->reqcap = cap;
	}
	if (q->op == SFTP_OP_OPEN || q->op == SFTP_OP_OPENDIR)
		t->opening++;
	t->reqs[t->nreqs++] = *q;
	*q = (struct req){ 0 };
	return 0;
}

/* ---- client direction ---- */

/* Queues an SSH_FXP_STATUS for id and reports the refusal. */
static int
refuse(struct sftp_tracker *t, struct req *q, uint32_t code, const char *msg)
{
	struct sftp_event ev = { .op = q->op,
		.ext = q->ext,
		.path = q->path,
		.path2 = q->path2,
		.open_flags = q->pflags,
		.status = code,
		.message = msg,
		.refused = 1 };
	size_t mlen = strlen(msg);
	int r;

	if (q->h != NULL && ev.path == NULL)
		ev.path = q->h->path;
	if (q->op == SFTP_OP_OPEN)
		ev.direction = (q->pflags & SFTP_FXF_WRITE) ? SFTP_DIR_UPLOAD
							    : SFTP_DIR_DOWNLOAD;
	if ((r = pv_buf_put_u32(
		 t->reply, (uint32_t)(1 + 4 + 4 + 4 + mlen + 4))) != 0 ||
	    (r = pv_buf_put_u8(t->reply, FXP_STATUS)) != 0 ||
	    (r = pv_buf_put_u32(t->reply, q->id)) != 0 ||
	    (r = pv_buf_put_u32(t->reply, code)) != 0 ||
	    (r = pv_buf_put_string(t->reply, msg, mlen)) != 0 ||
	    (r = pv_buf_put_string(t->reply, "", 0)) != 0)
		return r;
	t->st.refused++;
	pv_info("sftp: refused %s %.200s: %s", sftp_op_name(q->op),
	    ev.path != NULL ? ev.path : "", msg);
	return emit(t, &ev);
}

static int
get_path(struct pv_buf *b, char **out)
{
	size_t len;

	if (pv_buf_get_cstring(b, out, &len) != 0)
		return PV_ERR_PROTOCOL;
	return 0;
}

static int
get_handle(
    struct sftp_tracker *t, struct pv_buf *b, struct req *q, int *unknown)
{
	const uint8_t *p;
	size_t len;

	if (pv_buf_get_string_direct(b, &p, &len) != 0 || len > SFTP_HANDLE_MAX)
		return PV_ERR_PROTOCOL;
	if ((q->h = handle_find(t, p, len)) == NULL)
		*unknown = 1;
	else
		q->h->refs++;
	return 0;
}

/* The extension requests OpenSSH's sftp-server advertises. */
struct ext_def {
	const char *name;
	enum sftp_op op;
	int modifies;
	int args; /* 'p' path, 'P' two paths, 'h' handle, 'c' copy-data, 0 */
	unsigned int resp;
};
static const struct ext_def ext_defs[] = {
	{ "posix-rename@openssh.com", SFTP_OP_RENAME, 1, 'P', R_STATUS },
	{ "hardlink@openssh.com", SFTP_OP_EXTENDED, 1, 'P', R_STATUS },
	{ "lsetstat@openssh.com", SFTP_OP_SETSTAT, 1, 'p', R_STATUS },
	{ "copy-data", SFTP_OP_EXTENDED, 1, 'c', R_STATUS },
	{ "statvfs@openssh.com", SFTP_OP_EXTENDED, 0, 'p',
	    R_STATUS | R_EXTREPLY },
	{ "fstatvfs@openssh.com", SFTP_OP_EXTENDED, 0, 'h',
	    R_STATUS | R_EXTREPLY },
	{ "fsync@openssh.com", SFTP_OP_EXTENDED, 0, 'h', R_STATUS },
	{ "limits@openssh.com", SFTP_OP_EXTENDED, 0, 0, R_STATUS | R_EXTREPLY },
	{ "expand-path@openssh.com", SFTP_OP_REALPATH, 0, 'p',
	    R_STATUS | R_NAME },
	{ "home-directory", SFTP_OP_REALPATH, 0, 'p', R_STATUS | R_NAME },
	{ "users-groups-by-id@openssh.com", SFTP_OP_EXTENDED, 0, 0,
	    R_STATUS | R_EXTREPLY },
};

/*
 * Parses one whole request (or a WRITE's prefix) from b into q and says
 * whether it needs upload (*need & 1) or download (*need & 2) permission.
 */
static int
parse_request(struct sftp_tracker *t, uint8_t type, struct pv_buf *b,
    struct req *q, unsigned int *need, int *unknown)
{
	const struct ext_def *e = NULL;
	const uint8_t *p;
	struct req tmp = { 0 };
	size_t i, len;
	uint64_t u64;
	int r = PV_ERR_PROTOCOL;

	*need = 0;
	q->resp = R_STATUS;
	if (pv_buf_get_u32(b, &q->id) != 0)
		return PV_ERR_PROTOCOL;
	switch (type) {
	case FXP_OPEN:
		q->op = SFTP_OP_OPEN;
		q->resp |= R_HANDLE;
		if ((r = get_path(b, &q->path)) != 0 ||
		    pv_buf_get_u32(b, &q->pflags) != 0)
			return PV_ERR_PROTOCOL;
		/* OpenSSH opens O_RDONLY unless WRITE is set. */
		if (q->pflags &
		    (SFTP_FXF_WRITE | SFTP_FXF_APPEND | SFTP_FXF_CREAT |
			SFTP_FXF_TRUNC | SFTP_FXF_EXCL))
			*need |= SFTP_ALLOW_UPLOAD;
		if ((q->pflags & SFTP_FXF_READ) ||
		    !(q->pflags & SFTP_FXF_WRITE))
			*need |= SFTP_ALLOW_DOWNLOAD;
		return 0;
	case FXP_OPENDIR:
		q->op = SFTP_OP_OPENDIR;
		q->resp |= R_HANDLE;
		return get_path(b, &q->path);
	case FXP_CLOSE:
	case FXP_FSTAT:
	case FXP_READDIR:
	case FXP_FSETSTAT:
		q->op = type == FXP_CLOSE ? SFTP_OP_CLOSE
		    : type == FXP_FSTAT   ? SFTP_OP_FSTAT
		    : type == FXP_READDIR ? SFTP_OP_READDIR
					  : SFTP_OP_FSETSTAT;
		q->resp |= type == FXP_FSTAT ? R_ATTRS
		    : type == FXP_READDIR    ? R_NAME
					     : 0;
		if (type == FXP_FSETSTAT)
			*need |= SFTP_ALLOW_UPLOAD;
		return get_handle(t, b, q, unknown);
	case FXP_READ:
	case FXP_WRITE:
		q->op = type == FXP_READ ? SFTP_OP_READ : SFTP_OP_WRITE;
		if ((r = get_handle(t, b, q, unknown)) != 0 ||
		    pv_buf_get_u64(b, &q->offset) != 0)
			return PV_ERR_PROTOCOL;
		if (type == FXP_READ) {
			q->resp |= R_DATA;
			*need |= SFTP_ALLOW_DOWNLOAD;
			if (pv_buf_get_u32(b, &q->len) != 0)
				return PV_ERR_PROTOCOL;
		} else
			*need |= SFTP_ALLOW_UPLOAD;
		return 0;
	case FXP_LSTAT:
	case FXP_STAT:
	case FXP_REALPATH:
	case FXP_READLINK:
		q->op = type == FXP_LSTAT  ? SFTP_OP_LSTAT
		    : type == FXP_STAT     ? SFTP_OP_STAT
		    : type == FXP_REALPATH ? SFTP_OP_REALPATH
					   : SFTP_OP_READLINK;
		q->resp |=
		    (type == FXP_LSTAT || type == FXP_STAT) ? R_ATTRS : R_NAME;
		return get_path(b, &q->path);
	case FXP_SETSTAT:
	case FXP_REMOVE:
	case FXP_MKDIR:
	case FXP_RMDIR:
		q->op = type == FXP_SETSTAT ? SFTP_OP_SETSTAT
		    : type == FXP_REMOVE    ? SFTP_OP_REMOVE
		    : type == FXP_MKDIR     ? SFTP_OP_MKDIR
					    : SFTP_OP_RMDIR;
		*need |= SFTP_ALLOW_UPLOAD;
		return get_path(b, &q->path);
	case FXP_RENAME:
		q->op = SFTP_OP_RENAME;
		*need |= SFTP_ALLOW_UPLOAD;
		if ((r = get_path(b, &q->path)) != 0)
			return r;
		return get_path(b, &q->path2);
	case FXP_SYMLINK:
		/* OpenSSH sends (target, link path), the reverse of draft-02. */
		q->op = SFTP_OP_SYMLINK;
		*need |= SFTP_ALLOW_UPLOAD;
		if ((r = get_path(b, &q->path2)) != 0)
			return r;
		return get_path(b, &q->path);
	case FXP_EXTENDED:
		break;
	default:
		pv_warn("sftp: unexpected client packet type %u", type);
		return PV_ERR_PROTOCOL;
	}
	if (pv_buf_get_string_direct(b, &p, &len) != 0)
		return PV_ERR_PROTOCOL;
	for (i = 0; i < sizeof(ext_defs) / sizeof(ext_defs[0]); i++)
		if (strlen(ext_defs[i].name) == len &&
		    memcmp(ext_defs[i].name, p, len) == 0)
			e = &ext_defs[i];
	q->op = SFTP_OP_EXTENDED;
	if (e == NULL) {
		/* Unknown: it may modify or read anything. */
		if ((q->extname = malloc(len + 1)) == NULL)
			return PV_ERR_ALLOC;
		memcpy(q->extname, p, len);
		q->extname[len] = '\0';
		if (memchr(p, '\0', len) != NULL)
			return PV_ERR_PROTOCOL;
		q->ext = q->extname;
		q->resp |= R_EXTREPLY | R_NAME | R_HANDLE | R_DATA | R_ATTRS;
		*need = SFTP_ALLOW_UPLOAD | SFTP_ALLOW_DOWNLOAD;
		return 0;
	}
	q->op = e->op;
	q->ext = e->name;
	q->resp = e->resp;
	if (e->modifies)
		*need |= SFTP_ALLOW_UPLOAD;
	switch (e->args) {
	case 'p':
		return get_path(b, &q->path);
	case 'P':
		if ((r = get_path(b, &q->path)) != 0)
			return r;
		return get_path(b, &q->path2);
	case 'h':
		return get_handle(t, b, q, unknown);
	case 'c':
		/* read handle, offset, length, write handle, offset */
		if ((r = get_handle(t, b, &tmp, unknown)) != 0 ||
		    pv_buf_get_u64(b, &u64) != 0 ||
		    pv_buf_get_u64(b, &u64) != 0 ||
		    (r = get_handle(t, b, q, unknown)) != 0 ||
		    pv_buf_get_u64(b, &q->offset) != 0)
			r = PV_ERR_PROTOCOL;
		else if (tmp.h != NULL && q->h != NULL) {
			if ((q->path = strdup(q->h->path)) == NULL ||
			    (q->path2 = strdup(tmp.h->path)) == NULL)
				r = PV_ERR_ALLOC;
			/* Content copied inside the target is not seen. */
			q->h->w.nonseq = 1;
		}
		handle_unref(tmp.h);
		return r;
	default:
		return 0;
	}
}

/* Decides on a whole request, or a WRITE prefix, at the head of buf. */
static int
client_request(struct sftp_tracker *t, const uint8_t *buf, size_t len,
    struct sftp_verdict *v)
{
	struct pv_buf *b = NULL;
	struct req q = { 0 };
	uint32_t plen, hlen, dlen, ver;
	size_t want;
	unsigned int need = 0;
	uint8_t type;
	int unknown = 0, r = PV_ERR_PROTOCOL;

	v->action = SFTP_NEED;
	v->len = 0;
	if (pv_buf_len(t->reply) > SFTP_REPLY_MAX - 1024) {
		v->action = SFTP_WAIT;
		return 0;
	}
	if (len < 5)
		return 0;
	plen = get_u32(buf);
	type = buf[4];
	if (plen < 1 || plen > SFTP_PACKET_MAX) {
		pv_warn("sftp: client packet length %u out of range", plen);
		return PV_ERR_PROTOCOL;
	}
	if (!t->init_seen) {
		if (type != FXP_INIT || plen < 5) {
			pv_warn("sftp: the client did not start with INIT");
			return PV_ERR_PROTOCOL;
		}
		if (len < 4 + (size_t)plen)
			return 0;
		ver = get_u32(buf + 5);
		pv_debug("sftp: client version %u", ver);
		t->init_seen = 1;
		t->st.client_packets++;
		v->action = SFTP_PASS;
		v->len = 4 + (size_t)plen;
		return 0;
	}
	want = 4 + (size_t)plen;
	if (type == FXP_WRITE) {
		/* type id handle: the handle's length says how far to look */
		if (plen < 1 + 4 + 4)
			return PV_ERR_PROTOCOL;
		if (len < 4 + 1 + 4 + 4)
			return 0;
		hlen = get_u32(buf + 9);
		if (hlen > SFTP_HANDLE_MAX || plen < 1 + 4 + 4 + hlen + 8 + 4)
			return PV_ERR_PROTOCOL;
		want = 4 + 1 + 4 + 4 + hlen + 8 + 4;
		if (len < want)
			return 0;
		dlen = get_u32(buf + want - 4);
		if ((size_t)dlen != 4 + (size_t)plen - want) {
			pv_warn("sftp: WRITE data length does not match");
			return PV_ERR_PROTOCOL;
		}
	} else if (len < want)
		return 0;
	if ((b = pv_buf_from(buf + 5, want - 5)) == NULL)
		return PV_ERR_ALLOC;
	if ((r = parse_request(t, type, b, &q, &need, &unknown)) != 0)
		goto out;
	if ((need & ~t->cfg.allow) != 0 || unknown ||
	    ((q.op == SFTP_OP_OPEN || q.op == SFTP_OP_OPENDIR) &&
		t->nhandles + t->opening >= SFTP_MAX_HANDLES)) {
		if (len < 4 + (size_t)plen) /* drop only a whole request */
			goto out;
		if (unknown)
			r = refuse(
			    t, &q, SFTP_FX_FAILURE, "provost: unknown handle");
		else if (need & ~t->cfg.allow & SFTP_ALLOW_UPLOAD)
			r = refuse(t, &q, SFTP_FX_PERMISSION_DENIED,
			    SFTP_MSG_UPLOAD_DENIED);
		else if (need & ~t->cfg.allow)
			r = refuse(t, &q, SFTP_FX_PERMISSION_DENIED,
			    SFTP_MSG_DOWNLOAD_DENIED);
		else
			r = refuse(t, &q, SFTP_FX_FAILURE,
			    "provost: too many open handles");
		if (r == 0) {
			v->action = SFTP_REFUSE;
			v->len = 4 + (size_t)plen;
			t->st.client_packets++;
		}
		goto out;
	}
	if (type == FXP_WRITE) {
		q.h->w.packets++;
		t->c_off = q.offset;
		t->c_left = 4 + (size_t)plen - want;
		if (t->c_left > 0) {
			t->c_h = q.h;
			t->c_h->refs++;
		}
	} else if (type == FXP_READ)
		q.h->r.packets++;
	if ((r = req_add(t, &q)) != 0)
		goto out;
	t->st.client_packets++;
	v->action = SFTP_PASS;
	v->len = want;
	r = 0;
out:
	req_clear(&q);
	pv_buf_free(b);
	return r;
}

/* Passes WRITE payload bytes, hashing them. */
static int
client_payload(struct sftp_tracker *t, const uint8_t *buf, size_t len,
    struct sftp_verdict *v)
{
	size_t n = len < t->c_left ? len : t->c_left;
	struct handle *h = t->c_h;
	int r;

	if ((r = flow_feed(&h->w, t->c_off, buf, n)) != 0)
		return r;
	if (t->cfg.record_contents && t->cfg.cb.content != NULL &&
	    (r = t->cfg.cb.content(t->cfg.cb.ctx, h->file_id, SFTP_DIR_UPLOAD,
		 t->c_off, buf, n)) != 0)
		return r;
	t->st.bytes_uploaded += n;
	t->c_off += n;
	t->c_left -= n;
	if (t->c_left == 0) {
		t->c_h = NULL;
		handle_unref(h);
	}
	v->action = SFTP_PASS;
	v->len = n;
	return 0;
}

int
sftp_tracker_client_data(struct sftp_tracker *t, const uint8_t *buf, size_t len,
    struct sftp_verdict *v)
{
	int r;

	v->action = SFTP_NEED;
	v->len = 0;
	if (t->failed != 0)
		return t->failed;
	if (len == 0)
		return 0;
	if (t->c_left > 0)
		r = client_payload(t, buf, len, v);
	else
		r = client_request(t, buf, len, v);
	if (r != 0) {
		v->action = SFTP_NEED;
		v->len = 0;
		t->failed = r;
	}
	return r;
}

/* ---- server direction ---- */

static int
server_fields(struct sftp_tracker *t, struct req *q, struct pv_buf *b)
{
	struct sftp_event ev = { .op = q->op,
		.ext = q->ext,
		.path = q->path,
		.path2 = q->path2,
		.open_flags = q->pflags };
	struct handle *h = NULL;
	const uint8_t *p;
	char msg[256] = "", *name = NULL;
	size_t len;
	uint32_t count;
	int r = PV_ERR_PROTOCOL;

	if (q->h != NULL && q->path == NULL)
		ev.path = q->h->path;
	switch (t->s_type) {
	case FXP_STATUS:
		if (pv_buf_get_u32(b, &ev.status) != 0)
			goto out;
		/* The message is optional; keep 255 bytes, stop at a NUL. */
		if (pv_buf_get_string_direct(b, &p, &len) == 0) {
			len = len < sizeof(msg) - 1 ? len : sizeof(msg) - 1;
			memcpy(msg, p, len);
			msg[len] = '\0';
		}
		ev.message = msg;
		if (q->op == SFTP_OP_CLOSE && q->h != NULL && !q->h->closed) {
			r = handle_summaries(t, q->h, ev.status, msg);
			handle_drop(t, q->h);
			goto out;
		}
		if (q->op == SFTP_OP_WRITE && q->h != NULL) {
			if (ev.status != SFTP_FX_OK && q->h->wfail == 0)
				q->h->wfail = ev.status;
			r = 0;
			goto out;
		}
		if (q->op == SFTP_OP_READ || q->op == SFTP_OP_READDIR) {
			r = 0; /* EOF or an error: part of the summary */
			goto out;
		}
		break;
	case FXP_HANDLE:
		if (pv_buf_get_string_direct(b, &p, &len) != 0 ||
		    len > SFTP_HANDLE_MAX || handle_find(t, p, len) != NULL) {
			pv_warn("sftp: bad or duplicate handle from target");
			goto out;
		}
		if (t->nhandles >= SFTP_MAX_HANDLES ||
		    (h = calloc(1, sizeof(*h))) == NULL) {
			r = PV_ERR_ALLOC;
			goto out;
		}
		memcpy(h->h, p, len);
		h->hlen = len;
		h->pflags = q->pflags;
		h->is_dir = q->op == SFTP_OP_OPENDIR;
		if (!h->is_dir)
			h->file_id = ++t->next_file_id;
		h->path = q->path;
		q->path = NULL;
		t->handles[t->nhandles++] = h;
		ev.path = h->path;
		ev.file_id = h->file_id;
		ev.direction = h->is_dir           ? SFTP_DIR_NONE
		    : (h->pflags & SFTP_FXF_WRITE) ? SFTP_DIR_UPLOAD
						   : SFTP_DIR_DOWNLOAD;
		break;
	case FXP_NAME:
		if (pv_buf_get_u32(b, &count) != 0)
			goto out;
		if (q->op == SFTP_OP_READDIR) {
			if (q->h != NULL)
				q->h->names += count;
			r = 0;
			goto out;
		}
		if (count != 1 || pv_buf_get_cstring(b, &name, &len) != 0) {
			pv_warn("sftp: a NAME answer without one name");
			goto out;
		}
		ev.path2 = name;
		break;
	case FXP_ATTRS:
	case FXP_EXTENDED_REPLY:
		break;
	default:
		goto out;
	}
	r = emit(t, &ev);
out:
	free(name);
	return r;
}

static int
response_type_bit(uint8_t type)
{
	switch (type) {
	case FXP_STATUS:
		return R_STATUS;
	case FXP_HANDLE:
		return R_HANDLE;
	case FXP_DATA:
		return R_DATA;
	case FXP_NAME:
		return R_NAME;
	case FXP_ATTRS:
		return R_ATTRS;
	case FXP_EXTENDED_REPLY:
		return R_EXTREPLY;
	default:
		return 0;
	}
}

/* The header (length, type, id) is complete. */
static int
server_header(struct sftp_tracker *t)
{
	uint32_t plen = get_u32(t->s_hdr);
	struct req *q;

	t->s_type = t->s_hdr[4];
	t->s_id = get_u32(t->s_hdr + 5);
	if (plen < 5 || plen > SFTP_PACKET_MAX) {
		pv_warn("sftp: target packet length %u out of range", plen);
		return PV_ERR_PROTOCOL;
	}
	t->s_rem = plen - 5;
	t->s_got = 0;
	t->st.server_packets++;
	if (!t->version_seen) {
		if (t->s_type != FXP_VERSION || t->s_id != 3) {
			pv_warn("sftp: target did not answer with version 3");
			return PV_ERR_PROTOCOL;
		}
		t->version_seen = 1;
		t->s_skip = t->s_rem; /* extension names: not needed */
		t->s_want = 0;
		return 0;
	}
	if (t->s_type == FXP_VERSION) {
		pv_warn("sftp: a second VERSION from the target");
		return PV_ERR_PROTOCOL;
	}
	if ((q = req_find(t, t->s_id)) == NULL) {
		pv_warn("sftp: target answered unknown request id %u", t->s_id);
		return PV_ERR_PROTOCOL;
	}
	if ((response_type_bit(t->s_type) & q->resp) == 0) {
		pv_warn("sftp: target answered %s with type %u",
		    sftp_op_name(q->op), t->s_type);
		return PV_ERR_PROTOCOL;
	}
	if (t->s_type == FXP_DATA) {
		if (t->s_rem < 4)
			return PV_ERR_PROTOCOL;
		t->s_want = 4;
		t->s_skip = 0;
	} else {
		t->s_want =
		    t->s_rem < SFTP_FIELD_MAX ? t->s_rem : SFTP_FIELD_MAX;
		t->s_skip = t->s_rem - t->s_want;
	}
	return 0;
}

/* The fields are collected: act on them. */
static int
server_body(struct sftp_tracker *t)
{
	struct pv_buf *b = NULL;
	struct req *q;
	uint32_t dlen;
	int r;

	if (t->s_type == FXP_VERSION)
		return 0;
	if ((q = req_find(t, t->s_id)) == NULL)
		return PV_ERR_INTERNAL; /* checked with the header */
	if (t->s_type == FXP_DATA) {
		dlen = get_u32(t->s_fld);
		if (dlen != t->s_rem - 4 || dlen > q->len || q->h == NULL) {
			pv_warn("sftp: DATA does not match its READ");
			return PV_ERR_PROTOCOL;
		}
		t->s_stream = dlen;
		t->s_off = q->offset;
		t->s_h = q->h;
		t->s_h->refs++;
		req_remove(t, q);
		return 0;
	}
	if ((b = pv_buf_from(t->s_fld, t->s_got)) == NULL)
		return PV_ERR_ALLOC;
	r = server_fields(t, q, b);
	pv_buf_free(b);
	req_remove(t, q);
	return r;
}

static int
server_data(struct sftp_tracker *t, const uint8_t *buf, size_t len)
{
	size_t n;
	struct handle *h;
	int r;

	while (len > 0) {
		switch (t->s_state) {
		case S_HDR:
			n = sizeof(t->s_hdr) - t->s_hgot;
			n = n < len ? n : len;
			memcpy(t->s_hdr + t->s_hgot, buf, n);
			t->s_hgot += n;
			if (t->s_hgot >= 4 &&
			    (get_u32(t->s_hdr) < 5 ||
				get_u32(t->s_hdr) > SFTP_PACKET_MAX)) {
				pv_warn("sftp: target packet length %u out of "
					"range",
				    get_u32(t->s_hdr));
				return PV_ERR_PROTOCOL;
			}
			if (t->s_hgot < sizeof(t->s_hdr))
				return 0;
			t->s_hgot = 0;
			if ((r = server_header(t)) != 0)
				return r;
			t->s_state = S_FIELDS;
			break;
		case S_FIELDS:
			n = t->s_want - t->s_got;
			n = n < len ? n : len;
			memcpy(t->s_fld + t->s_got, buf, n);
			t->s_got += n;
			break;
		case S_DATA:
			n = t->s_stream < len ? t->s_stream : len;
			h = t->s_h;
			if ((r = flow_feed(&h->r, t->s_off, buf, n)) != 0)
				return r;
			if (t->cfg.record_contents &&
			    t->cfg.cb.content != NULL &&
			    (r = t->cfg.cb.content(t->cfg.cb.ctx, h->file_id,
				 SFTP_DIR_DOWNLOAD, t->s_off, buf, n)) != 0)
				return r;
			t->st.bytes_downloaded += n;
			t->s_off += n;
			t->s_stream -= (uint32_t)n;
			break;
		case S_SKIP:
			n = t->s_skip < len ? t->s_skip : len;
			t->s_skip -= n;
			break;
		default:
			return PV_ERR_INTERNAL;
		}
		buf += n;
		len -= n;
		/* Advance through every state that is already complete. */
		if (t->s_state == S_FIELDS && t->s_got == t->s_want) {
			if ((r = server_body(t)) != 0)
				return r;
			t->s_state = t->s_h != NULL ? S_DATA : S_SKIP;
		}
		if (t->s_state == S_DATA && t->s_stream == 0) {
			handle_unref(t->s_h);
			t->s_h = NULL;
			t->s_state = S_SKIP;
		}
		if (t->s_state == S_SKIP && t->s_skip == 0)
			t->s_state = S_HDR;
	}
	return 0;
}

int
sftp_tracker_server_data(struct sftp_tracker *t, const uint8_t *buf, size_t len)
{
	int r;

	if (t->failed != 0)
		return t->failed;
	if ((r = server_data(t, buf, len)) != 0)
		t->failed = r;
	return r;
}

int
sftp_tracker_reply(struct sftp_tracker *t, const uint8_t **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	if (t->s_state != S_HDR || t->s_hgot != 0)
		return 0;
	*data = pv_buf_ptr(t->reply);
	*len = pv_buf_len(t->reply);
	return 0;
}

void
sftp_tracker_reply_consumed(struct sftp_tracker *t, size_t len)
{
	if (len > pv_buf_len(t->reply))
		len = pv_buf_len(t->reply);
	(void)pv_buf_consume(t->reply, len);
}

int
sftp_tracker_finish(struct sftp_tracker *t)
{
	int r;

	if (t->failed != 0 && t->failed != PV_ERR_PROTOCOL)
		return t->failed;
	while (t->nhandles > 0) {
		r = handle_summaries(t, t->handles[0], SFTP_STATUS_UNFINISHED,
		    "provost: channel ended before close");
		handle_drop(t, t->handles[0]);
		if (r != 0)
			return r;
	}
	return 0;
}

void
sftp_tracker_stats(const struct sftp_tracker *t, struct sftp_stats *st)
{
	*st = t->st;
	st->open_handles = t->nhandles;
	st->pending = t->nreqs;
}

int
sftp_tracker_new(struct sftp_tracker **out, const struct sftp_config *cfg)
{
	struct sftp_tracker *t = NULL;
	int r = PV_ERR_ALLOC;

	*out = NULL;
	if (cfg == NULL ||
	    (cfg->allow &
		~(unsigned int)(SFTP_ALLOW_UPLOAD | SFTP_ALLOW_DOWNLOAD)) != 0)
		return PV_ERR_INVALID;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->s_fld = malloc(SFTP_FIELD_MAX)) == NULL ||
	    (t->handles = calloc(SFTP_MAX_HANDLES, sizeof(*t->handles))) ==
		NULL ||
	    (t->reply = pv_buf_new(SFTP_REPLY_MAX)) == NULL)
		goto out;
	t->cfg = *cfg;
	*out = t;
	t = NULL;
	r = 0;
out:
	sftp_tracker_free(t);
	return r;
}

void
sftp_tracker_free(struct sftp_tracker *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nreqs; i++)
		req_clear(&t->reqs[i]);
	free(t->reqs);
	handle_unref(t->c_h);
	handle_unref(t->s_h);
	for (i = 0; i < t->nhandles; i++) {
		t->handles[i]->closed = 1;
		if (t->handles[i]->refs == 0)
			handle_free(t->handles[i]);
	}
	free(t->handles);
	free(t->s_fld);
	pv_buf_free(t->reply);
	free(t);
}
