/*
 * sftp_client.c: the engineer's side of the SFTP tracker: requests parsed
 * whole, decided against the policy, refused with a STATUS, or passed.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "broker/session/sftp-int.h"
#include "common/common.h"

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
	return sftp_emit(t, &ev);
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
	if ((q->h = sftp_handle_find(t, p, len)) == NULL)
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
		if (get_path(b, &q->path) != 0 ||
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
		if (get_handle(t, b, q, unknown) != 0 ||
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
		r = 0;
		if (get_handle(t, b, &tmp, unknown) != 0 ||
		    pv_buf_get_u64(b, &u64) != 0 ||
		    pv_buf_get_u64(b, &u64) != 0 ||
		    get_handle(t, b, q, unknown) != 0 ||
		    pv_buf_get_u64(b, &q->offset) != 0)
			r = PV_ERR_PROTOCOL;
		else if (tmp.h != NULL && q->h != NULL) {
			if ((q->path = strdup(
				 q->h->path != NULL ? q->h->path : "")) ==
				NULL ||
			    (q->path2 = strdup(
				 tmp.h->path != NULL ? tmp.h->path : "")) ==
				NULL)
				r = PV_ERR_ALLOC;
			/* Content copied inside the target is not seen. */
			q->h->w.nonseq = 1;
		}
		sftp_handle_unref(tmp.h);
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
	plen = sftp_get_u32(buf);
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
		ver = sftp_get_u32(buf + 5);
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
		hlen = sftp_get_u32(buf + 9);
		if (hlen > SFTP_HANDLE_MAX || plen < 1 + 4 + 4 + hlen + 8 + 4)
			return PV_ERR_PROTOCOL;
		want = 4 + 1 + 4 + 4 + hlen + 8 + 4;
		if (len < want)
			return 0;
		dlen = sftp_get_u32(buf + want - 4);
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
	if ((r = sftp_req_add(t, &q)) != 0)
		goto out;
	t->st.client_packets++;
	v->action = SFTP_PASS;
	v->len = want;
	r = 0;
out:
	sftp_req_clear(&q);
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

	if ((r = sftp_flow_feed(&h->w, t->c_off, buf, n)) != 0)
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
		sftp_handle_unref(h);
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
