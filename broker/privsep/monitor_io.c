/*
 * monitor_io.c: blocking send and receive of monitor frames over a unix
 * socket, with an absolute deadline and descriptor passing (SCM_RIGHTS).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/privsep/protocol.h"
#include "common/fdpass.h"

/* Waits for events on sock until deadline_ms (0 = none). */
static int
io_wait(int sock, short events, uint64_t deadline_ms)
{
	struct pollfd pfd = { .fd = sock, .events = events };
	uint64_t now;
	int timeout, n;

	for (;;) {
		timeout = -1;
		if (deadline_ms != 0) {
			now = pv_mono_ms();
			if (now >= deadline_ms)
				return PV_ERR_TIMEOUT;
			timeout = deadline_ms - now > 60000
			    ? 60000
			    : (int)(deadline_ms - now);
		}
		n = poll(&pfd, 1, timeout);
		if (n > 0)
			return 0; /* the next call reports errors and EOF */
		if (n < 0 && errno != EINTR)
			return PV_ERR_IO;
	}
}

int
broker_mon_send(
    int sock, const struct mon_msg *m, int fd_pass, uint64_t deadline_ms)
{
	struct pv_buf *b = NULL;
	union pv_fd_cmsg cm;
	uint8_t *p = NULL;
	size_t len = 0, off = 0;
	ssize_t n;
	int r = PV_ERR_INTERNAL;

	if ((fd_pass >= 0) != broker_mon_type_has_fd((int)m->type))
		return PV_ERR_INVALID;
	if ((b = pv_buf_new(MON_HDR_LEN + MON_FRAME_MAX)) == NULL)
		return PV_ERR_ALLOC;
	if ((r = broker_mon_msg_encode(m, b)) != 0)
		goto out;
	/* a copy that iovec may point at (pv_buf hands out const) */
	len = pv_buf_len(b);
	if ((p = malloc(len)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	memcpy(p, pv_buf_ptr(b), len);
	while (off < len) {
		struct iovec iov = {
			.iov_base = p + off,
			.iov_len = len - off,
		};
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

		if (off == 0 && fd_pass >= 0)
			pv_fd_attach(&mh, &cm, fd_pass);
		n = sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((r = io_wait(sock, POLLOUT, deadline_ms)) != 0)
				goto out;
			continue;
		}
		r = n < 0 && (errno == EPIPE || errno == ECONNRESET)
		    ? PV_ERR_CLOSED
		    : PV_ERR_IO;
		goto out;
	}
	r = 0;
out:
	if (p != NULL) {
		pv_secret_wipe(p, len); /* a TOTP code may be inside */
		free(p);
	}
	pv_buf_free(b);
	return r;
}

/*
 * One recvmsg of at most len bytes, never waiting: the bytes read (> 0),
 * 0 when none are there yet, or PV_ERR_CLOSED / PV_ERR_IO.  Descriptors
 * that come with them are collected (pv_fd_take).
 */
static ssize_t
recv_part(int sock, uint8_t *dst, size_t len, int *fd, int *extra)
{
	union pv_fd_cmsg cm;
	ssize_t n;
	int got;

	for (;;) {
		struct iovec iov = { .iov_base = dst, .iov_len = len };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

		pv_fd_expect(&mh, &cm);
		n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n > 0) {
			/* one descriptor a message, however it arrives */
			if (pv_fd_take(&mh, &got))
				*extra = 1;
			if (got >= 0 && *fd == -1)
				*fd = got;
			else if (got >= 0) {
				(void)close(got);
				*extra = 1;
			}
			return n;
		}
		if (n == 0)
			return PV_ERR_CLOSED;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return errno == ECONNRESET ? PV_ERR_CLOSED : PV_ERR_IO;
	}
}

/* Reads exactly len bytes into dst, collecting a passed descriptor. */
static int
read_full(int sock, uint8_t *dst, size_t len, int *fd, int *extra,
    uint64_t deadline_ms)
{
	size_t off = 0;
	ssize_t n;
	int r;

	while (off < len) {
		if ((n = recv_part(sock, dst + off, len - off, fd, extra)) < 0)
			return (int)n;
		if (n == 0) {
			if ((r = io_wait(sock, POLLIN, deadline_ms)) != 0)
				return r;
			continue;
		}
		off += (size_t)n;
	}
	return 0;
}

int
broker_mon_recv(
    int sock, struct mon_msg *out, int *fd_out, uint64_t deadline_ms)
{
	uint8_t *frame = NULL;
	struct pv_buf *hb = NULL;
	uint32_t flen = 0;
	int r = PV_ERR_INTERNAL, fd = -1, extra = 0;

	broker_mon_msg_clear(out);
	if (fd_out != NULL)
		*fd_out = -1;
	if ((frame = malloc(MON_HDR_LEN + MON_FRAME_MAX)) == NULL)
		return PV_ERR_ALLOC;
	if ((r = read_full(
		 sock, frame, MON_HDR_LEN, &fd, &extra, deadline_ms)) != 0)
		goto out;
	if ((hb = pv_buf_from(frame, MON_HDR_LEN)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if (pv_buf_get_u32(hb, &flen) != 0 || flen == 0 ||
	    flen > MON_FRAME_MAX) {
		r = PV_ERR_PROTOCOL;
		goto out;
	}
	if ((r = read_full(sock, frame + MON_HDR_LEN, flen, &fd, &extra,
		 deadline_ms)) != 0)
		goto out;
	if ((r = broker_mon_msg_decode(frame, MON_HDR_LEN + flen, out)) != 0)
		goto out;
	/* a descriptor exactly where one belongs, and only if wanted */
	if (extra || (fd != -1) != broker_mon_type_has_fd((int)out->type) ||
	    (fd != -1 && fd_out == NULL)) {
		r = PV_ERR_PROTOCOL;
		goto out;
	}
	if (fd_out != NULL) {
		*fd_out = fd;
		fd = -1;
	}
	r = 0;
out:
	if (r != 0)
		broker_mon_msg_clear(out);
	if (fd != -1)
		(void)close(fd);
	pv_buf_free(hb);
	if (frame != NULL) {
		pv_secret_wipe(frame,
		    MON_HDR_LEN + (flen <= MON_FRAME_MAX ? (size_t)flen : 0));
		free(frame);
	}
	return r;
}

int
broker_mon_read_some(int sock, struct mon_reader *rd, struct mon_msg *out)
{
	struct pv_buf *hb;
	uint32_t flen = 0;
	size_t want;
	ssize_t n;
	int fd = -1, extra = 0, r;

	if (rd->buf == NULL &&
	    (rd->buf = malloc(MON_HDR_LEN + MON_FRAME_MAX)) == NULL)
		return PV_ERR_ALLOC;
	for (;;) {
		if (rd->have < MON_HDR_LEN)
			want = MON_HDR_LEN - rd->have;
		else {
			if ((hb = pv_buf_from(rd->buf, MON_HDR_LEN)) == NULL)
				return PV_ERR_ALLOC;
			r = pv_buf_get_u32(hb, &flen);
			pv_buf_free(hb);
			if (r != 0 || flen == 0 || flen > MON_FRAME_MAX)
				return PV_ERR_PROTOCOL;
			if (rd->have == MON_HDR_LEN + flen)
				break;
			want = MON_HDR_LEN + flen - rd->have;
		}
		n = recv_part(sock, rd->buf + rd->have, want, &fd, &extra);
		if (n < 0)
			return (int)n;
		if (fd != -1) {
			(void)close(fd);
			return PV_ERR_PROTOCOL;
		}
		if (extra)
			return PV_ERR_PROTOCOL;
		if (n == 0)
			return 0;
		if (rd->have == 0)
			rd->started_ms = pv_mono_ms();
		rd->have += (size_t)n;
	}
	r = broker_mon_msg_decode(rd->buf, rd->have, out);
	/*
	 * The frame's bytes wiped (a TOTP code), and the buffer let go: an
	 * idle session holds none, so thousands of them cost the monitor
	 * no 64 KiB each, nor a forked session process a copy of each.
	 */
	pv_secret_wipe(rd->buf, rd->have);
	free(rd->buf);
	rd->buf = NULL;
	rd->have = 0;
	rd->started_ms = 0;
	if (r != 0)
		return r;
	if (broker_mon_type_has_fd((int)out->type)) {
		broker_mon_msg_clear(out);
		return PV_ERR_PROTOCOL;
	}
	return 1;
}

void
broker_mon_reader_free(struct mon_reader *rd)
{
	/* only a frame half read is there (each whole one was wiped) */
	if (rd->buf != NULL) {
		pv_secret_wipe(rd->buf, rd->have);
		free(rd->buf);
	}
	memset(rd, 0, sizeof(*rd));
}
