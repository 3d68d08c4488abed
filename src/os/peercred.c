/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Peer credentials and fd checks: SO_PEERCRED on Linux; getpeereid() plus
 * LOCAL_PEERCRED (or whatever gives the pid) in the POSIX path.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/epoll.h>
#else
#include <poll.h>
#endif
#if defined(__FreeBSD__)
#include <sys/ucred.h>
#endif

#include "os/os.h"

#if defined(KD_OS_POSIX) || !defined(__linux__)
/* The peer's pid where the platform tells it; 0 otherwise. */
static pid_t peer_pid(int fd)
{
#if defined(LOCAL_PEERCRED) && defined(__FreeBSD__) && defined(cr_pid)
	struct xucred xu;
	socklen_t len = sizeof(xu);

	if (getsockopt(fd, SOL_LOCAL, LOCAL_PEERCRED, &xu, &len) == 0 &&
	    xu.cr_version == XUCRED_VERSION)
		return xu.cr_pid;
	return 0;
#elif defined(LOCAL_PEERPID)
	pid_t pid = 0;
	socklen_t len = sizeof(pid);

	if (getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, &pid, &len) == 0)
		return pid;
	return 0;
#elif defined(SO_PEERCRED)
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0)
		return uc.pid;
	return 0;
#else
	(void)fd;
	return 0;
#endif
}
#endif

int kd_os_peercred(int fd, pid_t *pid, uid_t *uid, gid_t *gid)
{
#if defined(__linux__) && !defined(KD_OS_POSIX)
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	/* An unconnected socket reports no peer rather than failing. */
	if (uc.pid == 0 && uc.uid == (uid_t)-1)
		return -ENOTCONN;
	*pid = uc.pid;
	*uid = uc.uid;
	*gid = uc.gid;
	return 0;
#else
	uid_t u;
	gid_t g;

	if (getpeereid(fd, &u, &g) < 0)
		return -errno;
	/* libbsd's getpeereid() reports an unconnected socket as uid -1. */
	if (u == (uid_t)-1)
		return -ENOTCONN;
	*pid = peer_pid(fd);
	*uid = u;
	*gid = g;
	return 0;
#endif
}

/* Address family of a socket fd, or -errno. */
static int sock_family(int fd)
{
#if defined(SO_DOMAIN)
	int domain = 0;
	socklen_t len = sizeof(domain);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0)
		return -errno;
	return domain;
#else
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	return ss.ss_family;
#endif
}

int kd_os_fd_passable(int fd)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -EBADF;
	/* O_PATH fds to socket inodes are no sockets: sock_family() fails. */
	if (S_ISSOCK(st.st_mode) && sock_family(fd) == AF_UNIX)
		return -EOPNOTSUPP;
	return 0;
}

int kd_os_fd_pollable(int fd)
{
#if defined(__linux__)
	struct epoll_event ev = { .events = EPOLLIN };
	int ep, r = 0;

	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	/* epoll refuses exactly the files without a poll method (regular files, dirs). */
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -errno;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		r = errno == EPERM ? -EINVAL : -errno;
	close(ep);
	return r;
#else
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	if (poll(&p, 1, 0) < 0)
		return -errno;
	return (p.revents & POLLNVAL) ? -EBADF : 0;
#endif
}
