/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, dup3, asprintf, memfd and SCM ancillary data */
#endif
/*
 * The kernel-module backend: the kernel implements kdbus, so every call is
 * passed straight through. Kept as a handle type so that kdbus_close() and
 * the fd table treat both backends alike.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/backend.h"

static int kmod_ioctl(struct kd_handle *h, unsigned long cmd, void *arg)
{
	return ioctl(h->fd, cmd, arg) < 0 ? -errno : 0;
}

static void *kmod_mmap(struct kd_handle *h, void *addr, size_t len, int prot, int flags, off_t off,
		       int *err)
{
	void *p = mmap(addr, len, prot, flags, h->fd, off);

	if (p == MAP_FAILED) {
		*err = -errno;
		return NULL;
	}
	return p;
}

static void kmod_destroy(struct kd_handle *h)
{
	(void)h;
}

static const struct kd_backend_ops kmod_ops = {
	.name = "kmod",
	.ioctl = kmod_ioctl,
	.mmap = kmod_mmap,
	.destroy = kmod_destroy,
};

int kd_kmod_open(const char *path, int flags, struct kd_handle **out)
{
	struct kd_handle *h = calloc(1, sizeof(*h));
	int fd;

	if (!h)
		return -ENOMEM;
	fd = open(path, flags);
	if (fd < 0) {
		int r = -errno;

		free(h);
		return r;
	}
	h->fd = fd;
	h->ops = &kmod_ops;
	*out = h;
	return fd;
}
