/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The broker's event loop seam: epoll on Linux, kqueue on FreeBSD, and a
 * poll() array everywhere else (and on Linux with KD_OS_POSIX).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "os/os.h"

#if defined(__linux__) && !defined(KD_OS_POSIX)
#define KD_POLLER_EPOLL 1
#include <sys/epoll.h>
#elif defined(__FreeBSD__) && !defined(KD_OS_POSIX)
#define KD_POLLER_KQUEUE 1
#include <sys/event.h>
#include <sys/time.h>
#else
#define KD_POLLER_POLL 1
#include <poll.h>
#endif

#if defined(KD_POLLER_EPOLL)

struct kd_poller {
	int fd;
};

int kd_poller_new(struct kd_poller **out)
{
	struct kd_poller *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->fd = epoll_create1(EPOLL_CLOEXEC);
	if (p->fd < 0) {
		int r = -errno;

		free(p);
		return r;
	}
	*out = p;
	return 0;
}

struct kd_poller *kd_poller_free(struct kd_poller *p)
{
	if (p) {
		close(p->fd);
		free(p);
	}
	return NULL;
}

static int epoll_ctl_events(struct kd_poller *p, int op, int fd, uint32_t events, void *data)
{
	struct epoll_event ev = { 0 };

	if (events & KD_POLL_IN)
		ev.events |= EPOLLIN | EPOLLRDHUP;
	if (events & KD_POLL_OUT)
		ev.events |= EPOLLOUT;
	ev.data.ptr = data;
	if (epoll_ctl(p->fd, op, fd, &ev) < 0)
		return -errno;
	return 0;
}

int kd_poller_add(struct kd_poller *p, int fd, uint32_t events, void *data)
{
	return epoll_ctl_events(p, EPOLL_CTL_ADD, fd, events, data);
}

int kd_poller_mod(struct kd_poller *p, int fd, uint32_t events, void *data)
{
	return epoll_ctl_events(p, EPOLL_CTL_MOD, fd, events, data);
}

int kd_poller_del(struct kd_poller *p, int fd)
{
	if (epoll_ctl(p->fd, EPOLL_CTL_DEL, fd, NULL) < 0)
		return -errno;
	return 0;
}

int kd_poller_wait(struct kd_poller *p, struct kd_poll_event *ev, int n, int timeout_ms)
{
	struct epoll_event e[64];
	int i, r;

	if (n <= 0)
		return -EINVAL;
	r = epoll_wait(p->fd, e, n < 64 ? n : 64, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < r; i++) {
		ev[i].data = e[i].data.ptr;
		ev[i].events = 0;
		if (e[i].events & EPOLLIN)
			ev[i].events |= KD_POLL_IN;
		if (e[i].events & EPOLLOUT)
			ev[i].events |= KD_POLL_OUT;
		if (e[i].events & (EPOLLHUP | EPOLLRDHUP))
			ev[i].events |= KD_POLL_HUP;
		if (e[i].events & EPOLLERR)
			ev[i].events |= KD_POLL_ERR;
	}
	return r;
}

#elif defined(KD_POLLER_KQUEUE)

struct kd_poller {
	int fd;
};

int kd_poller_new(struct kd_poller **out)
{
	struct kd_poller *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->fd = kqueue();
	if (p->fd < 0 || fcntl(p->fd, F_SETFD, FD_CLOEXEC) < 0) {
		int r = -errno;

		if (p->fd >= 0)
			close(p->fd);
		free(p);
		return r;
	}
	*out = p;
	return 0;
}

struct kd_poller *kd_poller_free(struct kd_poller *p)
{
	if (p) {
		close(p->fd);
		free(p);
	}
	return NULL;
}

/* Both filters always exist; the unwanted one is disabled, so mod needs no state. */
static int kq_set(struct kd_poller *p, int fd, uint32_t events, void *data, bool add)
{
	struct kevent kev[2];
	u_short flags = add ? EV_ADD : 0;

	EV_SET(&kev[0], fd, EVFILT_READ, flags | ((events & KD_POLL_IN) ? EV_ENABLE : EV_DISABLE),
	       0, 0, data);
	EV_SET(&kev[1], fd, EVFILT_WRITE, flags | ((events & KD_POLL_OUT) ? EV_ENABLE : EV_DISABLE),
	       0, 0, data);
	if (kevent(p->fd, kev, 2, NULL, 0, NULL) < 0)
		return -errno;
	return 0;
}

int kd_poller_add(struct kd_poller *p, int fd, uint32_t events, void *data)
{
	return kq_set(p, fd, events, data, true);
}

int kd_poller_mod(struct kd_poller *p, int fd, uint32_t events, void *data)
{
	/* EV_ADD on an existing filter updates its udata and flags. */
	return kq_set(p, fd, events, data, true);
}

int kd_poller_del(struct kd_poller *p, int fd)
{
	struct kevent kev[2];

	EV_SET(&kev[0], fd, EVFILT_READ, EV_DELETE, 0, 0, NULL);
	EV_SET(&kev[1], fd, EVFILT_WRITE, EV_DELETE, 0, 0, NULL);
	if (kevent(p->fd, kev, 2, NULL, 0, NULL) < 0)
		return -errno;
	return 0;
}

int kd_poller_wait(struct kd_poller *p, struct kd_poll_event *ev, int n, int timeout_ms)
{
	struct kevent e[64];
	struct timespec ts, *tsp = NULL;
	int i, r;

	if (n <= 0)
		return -EINVAL;
	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
		tsp = &ts;
	}
	r = kevent(p->fd, NULL, 0, e, n < 64 ? n : 64, tsp);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	/* One event per filter: a readable and writable fd shows up twice. */
	for (i = 0; i < r; i++) {
		ev[i].data = e[i].udata;
		ev[i].events = e[i].filter == EVFILT_READ ? KD_POLL_IN : KD_POLL_OUT;
		if (e[i].flags & EV_EOF)
			ev[i].events |= KD_POLL_HUP;
		if (e[i].flags & EV_ERROR)
			ev[i].events = KD_POLL_ERR;
	}
	return r;
}

#else /* KD_POLLER_POLL */

struct kd_poller {
	struct pollfd *pfd;
	void **data;
	unsigned int n;
	unsigned int cap;
	unsigned int next; /* where the next wait starts reporting, for fairness */
};

int kd_poller_new(struct kd_poller **out)
{
	struct kd_poller *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	*out = p;
	return 0;
}

struct kd_poller *kd_poller_free(struct kd_poller *p)
{
	if (p) {
		free(p->pfd);
		free(p->data);
		free(p);
	}
	return NULL;
}

static int poll_find(const struct kd_poller *p, int fd)
{
	unsigned int i;

	for (i = 0; i < p->n; i++)
		if (p->pfd[i].fd == fd)
			return (int)i;
	return -1;
}

static short poll_events(uint32_t events)
{
	short e = 0;

	if (events & KD_POLL_IN)
		e |= POLLIN;
	if (events & KD_POLL_OUT)
		e |= POLLOUT;
	return e;
}

int kd_poller_add(struct kd_poller *p, int fd, uint32_t events, void *data)
{
	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	if (poll_find(p, fd) >= 0)
		return -EEXIST;
	if (p->n == p->cap) {
		unsigned int cap = p->cap ? p->cap * 2 : 16;
		struct pollfd *pfd = realloc(p->pfd, cap * sizeof(*pfd));
		void **d;

		if (!pfd)
			return -ENOMEM;
		p->pfd = pfd;
		d = realloc(p->data, cap * sizeof(*d));
		if (!d)
			return -ENOMEM;
		p->data = d;
		p->cap = cap;
	}
	p->pfd[p->n] = (struct pollfd){ .fd = fd, .events = poll_events(events) };
	p->data[p->n] = data;
	p->n++;
	return 0;
}

int kd_poller_mod(struct kd_poller *p, int fd, uint32_t events, void *data)
{
	int i = poll_find(p, fd);

	if (i < 0)
		return -ENOENT;
	p->pfd[i].events = poll_events(events);
	p->data[i] = data;
	return 0;
}

int kd_poller_del(struct kd_poller *p, int fd)
{
	int i = poll_find(p, fd);

	if (i < 0)
		return -ENOENT;
	p->n--;
	p->pfd[i] = p->pfd[p->n];
	p->data[i] = p->data[p->n];
	return 0;
}

int kd_poller_wait(struct kd_poller *p, struct kd_poll_event *ev, int n, int timeout_ms)
{
	unsigned int i, k, start;
	int r, out = 0;

	if (n <= 0)
		return -EINVAL;
	r = poll(p->pfd, p->n, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	start = p->n ? p->next % p->n : 0;
	for (k = 0; k < p->n && out < n; k++) {
		short re;

		i = (start + k) % p->n;
		re = p->pfd[i].revents;
		if (!re)
			continue;
		ev[out].data = p->data[i];
		ev[out].events = 0;
		if (re & POLLIN)
			ev[out].events |= KD_POLL_IN;
		if (re & POLLOUT)
			ev[out].events |= KD_POLL_OUT;
		if (re & POLLHUP)
			ev[out].events |= KD_POLL_HUP;
		if (re & (POLLERR | POLLNVAL))
			ev[out].events |= KD_POLL_ERR;
		out++;
	}
	/* Start after the last reported fd next time, so no fd starves. */
	p->next = p->n ? (start + k) % p->n : 0;
	return out;
}

#endif
