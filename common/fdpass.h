/*
 * fdpass.h: one descriptor passed over a unix socket (SCM_RIGHTS), the
 * same way everywhere provost passes one: the monitor and its session
 * processes, the control socket's watchers, the plugin host.
 */
#ifndef PROVOST_FDPASS_H
#define PROVOST_FDPASS_H

#include <sys/socket.h>

/* Room for two: a second descriptor is seen (and closed), not cut off. */
union pv_fd_cmsg {
	struct cmsghdr h;
	char buf[CMSG_SPACE(2 * sizeof(int))];
};

/* Sets mh's control data to carry fd (cm must live until sendmsg). */
void pv_fd_attach(struct msghdr *mh, union pv_fd_cmsg *cm, int fd);
/* Sets mh's control data to receive into cm. */
void pv_fd_expect(struct msghdr *mh, union pv_fd_cmsg *cm);
/*
 * After recvmsg: *fd the first descriptor passed (-1: none).  Every other
 * one is closed; returns 1 if there was anything besides one descriptor
 * (a second, other control data, control data cut short), else 0.
 */
int pv_fd_take(struct msghdr *mh, int *fd);

#endif /* PROVOST_FDPASS_H */
