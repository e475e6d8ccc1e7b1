/*
 * fdpass.c: one descriptor passed over a unix socket (SCM_RIGHTS).
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "common/fdpass.h"

void
pv_fd_attach(struct msghdr *mh, union pv_fd_cmsg *cm, int fd)
{
	struct cmsghdr *c;

	memset(cm, 0, sizeof(*cm));
	mh->msg_control = cm->buf;
	mh->msg_controllen = CMSG_SPACE(sizeof(int));
	c = CMSG_FIRSTHDR(mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
}

void
pv_fd_expect(struct msghdr *mh, union pv_fd_cmsg *cm)
{
	memset(cm, 0, sizeof(*cm));
	mh->msg_control = cm->buf;
	mh->msg_controllen = sizeof(cm->buf);
}

int
pv_fd_take(struct msghdr *mh, int *fd)
{
	struct cmsghdr *c;
	size_t i, nfd;
	int got, extra = (mh->msg_flags & MSG_CTRUNC) != 0;

	*fd = -1;
	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0)) {
			extra = 1;
			continue;
		}
		nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfd; i++) {
			memcpy(
			    &got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*fd == -1)
				*fd = got;
			else {
				(void)close(got);
				extra = 1;
			}
		}
	}
	return extra;
}
