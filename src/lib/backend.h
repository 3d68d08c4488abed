/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A backend is a table of operations chosen once per handle at open time;
 * nothing above this line knows which one runs.
 */
#ifndef KD_LIB_BACKEND_H
#define KD_LIB_BACKEND_H

#include <stddef.h>
#include <sys/types.h>

struct kd_handle;

struct kd_backend_ops {
	const char *name;
	/* 0 or -errno */
	int (*ioctl)(struct kd_handle *h, unsigned long cmd, void *arg);
	/* the mapping, or NULL with -errno in *err */
	void *(*mmap)(struct kd_handle *h, void *addr, size_t len, int prot, int flags, off_t off,
		      int *err);
	/* release what the backend keeps beside the fd (the fd itself is the caller's) */
	void (*destroy)(struct kd_handle *h);
};

struct kd_handle {
	int fd;
	int refs;
	const struct kd_backend_ops *ops;
	void *priv;
};

/* Open path with a backend; on success *out is a new handle whose fd is set. */
int kd_socket_open(const char *path, int flags, struct kd_handle **out);
int kd_kmod_open(const char *path, int flags, struct kd_handle **out);

/* The socket backend's default root. Written into buf (size bytes). */
void kd_socket_default_root(char *buf, size_t size);

#endif
