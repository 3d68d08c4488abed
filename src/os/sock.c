/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Packets with fds over UNIX sockets (SCM_RIGHTS), the one framing the
 * library and the broker share. Portable POSIX; fds keep the sender's order.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "os/os.h"

#ifndef MSG_CMSG_CLOEXEC
#define MSG_CMSG_CLOEXEC 0 /* fds are marked close-on-exec one by one below */
#endif

union kd_cmsg {
	struct cmsghdr h;
	char buf[CMSG_SPACE(sizeof(int) * KD_OS_MAX_FDS)];
};

int kd_os_send_fds(int fd, const struct iovec *iov, int n_iov, const int *fds, unsigned int n_fds,
		   int flags)
{
	union kd_cmsg cm;
	struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = n_iov };
	ssize_t r;

	if (n_fds > KD_OS_MAX_FDS)
		return -EINVAL;
	if (n_fds) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		cm.h.cmsg_level = SOL_SOCKET;
		cm.h.cmsg_type = SCM_RIGHTS;
		cm.h.cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(&cm.h), fds, sizeof(int) * n_fds);
	}
	do
		r = sendmsg(fd, &mh, flags | MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

ssize_t kd_os_recv_fds(int fd, struct iovec *iov, int n_iov, int *fds, unsigned int max_fds,
		       unsigned int *n_fds, int flags, int *msg_flags)
{
	union kd_cmsg cm;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = n_iov, .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *c;
	unsigned int n = 0, k, i;
	ssize_t r;

	do
		r = recvmsg(fd, &mh, flags | MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (unsigned int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (i = 0; i < k; i++) {
			int x;

			memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			/* more than the caller can take: do not leak what arrived */
			if (n < max_fds)
				fds[n++] = x;
			else
				close(x);
		}
	}
	*n_fds = n;
	*msg_flags = mh.msg_flags;
	return r;
}
