/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, dup3, asprintf, memfd and SCM ancillary data */
#endif
/*
 * The compat API: fd-keyed entry points with Linux kdbus semantics.
 *
 * The one piece of process-wide state in the library lives here: the table
 * from fd to handle. The compat API is keyed by fd by definition, so the
 * library has to find its per-fd state from the number alone.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <kdbus/compat.h>

#include "lib/backend.h"

#define KDBUS_EXPORT __attribute__((visibility("default")))
#define KD_KMOD_ROOT "/sys/fs/kdbus"

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kd_handle **table;
static size_t table_size;

static struct kd_handle *handle_get(int fd)
{
	struct kd_handle *h = NULL;

	if (fd < 0)
		return NULL;
	pthread_mutex_lock(&table_lock);
	if ((size_t)fd < table_size && table[fd]) {
		h = table[fd];
		h->refs++;
	}
	pthread_mutex_unlock(&table_lock);
	return h;
}

static void handle_put(struct kd_handle *h)
{
	bool last;

	if (!h)
		return;
	pthread_mutex_lock(&table_lock);
	last = --h->refs == 0;
	pthread_mutex_unlock(&table_lock);
	if (last) {
		h->ops->destroy(h);
		free(h);
	}
}

static int handle_add(struct kd_handle *h)
{
	struct kd_handle *old = NULL;

	pthread_mutex_lock(&table_lock);
	if ((size_t)h->fd >= table_size) {
		size_t n = table_size ? table_size : 64;
		struct kd_handle **t;

		while (n <= (size_t)h->fd)
			n *= 2;
		t = realloc(table, n * sizeof(*t));
		if (!t) {
			pthread_mutex_unlock(&table_lock);
			return -ENOMEM;
		}
		memset(t + table_size, 0, (n - table_size) * sizeof(*t));
		table = t;
		table_size = n;
	}
	/* A stale entry: the user close()d the fd without kdbus_close(). */
	old = table[h->fd];
	table[h->fd] = h;
	h->refs = 1;
	pthread_mutex_unlock(&table_lock);
	if (old)
		handle_put(old);
	return 0;
}

static struct kd_handle *handle_remove(int fd)
{
	struct kd_handle *h = NULL;

	pthread_mutex_lock(&table_lock);
	if (fd >= 0 && (size_t)fd < table_size) {
		h = table[fd];
		table[fd] = NULL;
	}
	pthread_mutex_unlock(&table_lock);
	return h;
}

enum kd_backend_choice { KD_BACKEND_AUTO, KD_BACKEND_SOCKET, KD_BACKEND_KMOD, KD_BACKEND_BAD };

static enum kd_backend_choice backend_choice(void)
{
	const char *e = getenv("KDBUS_BACKEND");

	if (!e || !*e || !strcmp(e, "auto"))
		return KD_BACKEND_AUTO;
	if (!strcmp(e, "socket"))
		return KD_BACKEND_SOCKET;
	if (!strcmp(e, "kmod"))
		return KD_BACKEND_KMOD;
	return KD_BACKEND_BAD;
}

static bool kmod_present(void)
{
	return access(KD_KMOD_ROOT "/control", F_OK) == 0;
}

KDBUS_EXPORT const char *kdbus_root(void)
{
	static __thread char buf[PATH_MAX];
	const char *e = getenv("KDBUS_ROOT");
	enum kd_backend_choice b = backend_choice();

	if (e && *e)
		return e;
	if (b == KD_BACKEND_KMOD || (b == KD_BACKEND_AUTO && kmod_present()))
		return KD_KMOD_ROOT;
	kd_socket_default_root(buf, sizeof(buf));
	return buf;
}

/* Whether path lies on a kdbusfs mount (its directory, since the file may be a socket). */
static bool on_kdbusfs(const char *path)
{
	char dir[PATH_MAX];
	struct statfs sf;
	char *slash;

	if (strlen(path) >= sizeof(dir))
		return false;
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = '\0';
	else if (slash)
		dir[1] = '\0';
	else
		strcpy(dir, ".");
	return statfs(dir, &sf) == 0 && (unsigned long)sf.f_type == KDBUS_SUPER_MAGIC;
}

KDBUS_EXPORT int kdbus_open(const char *path, int flags)
{
	enum kd_backend_choice b = backend_choice();
	struct kd_handle *h = NULL;
	bool kmod;
	int r;

	if (!path) {
		errno = EINVAL;
		return -1;
	}
	if (b == KD_BACKEND_BAD) {
		errno = EINVAL;
		return -1;
	}
	kmod = on_kdbusfs(path);
	/* A path on the wrong side of an explicit choice is refused, never rerouted. */
	if ((b == KD_BACKEND_SOCKET && kmod) || (b == KD_BACKEND_KMOD && !kmod)) {
		errno = EOPNOTSUPP;
		return -1;
	}
	r = kmod ? kd_kmod_open(path, flags, &h) : kd_socket_open(path, flags, &h);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	r = handle_add(h);
	if (r < 0) {
		close(h->fd);
		h->ops->destroy(h);
		free(h);
		errno = -r;
		return -1;
	}
	return h->fd;
}

KDBUS_EXPORT int kdbus_ioctl(int fd, unsigned long cmd, void *arg)
{
	struct kd_handle *h = handle_get(fd);
	int r;

	if (!h)
		return ioctl(fd, cmd, arg); /* a raw kdbusfs fd, or not ours at all */
	r = h->ops->ioctl(h, cmd, arg);
	handle_put(h);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return 0;
}

KDBUS_EXPORT void *kdbus_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct kd_handle *h = handle_get(fd);
	void *p;
	int err = 0;

	if (!h)
		return mmap(addr, len, prot, flags, fd, off);
	p = h->ops->mmap(h, addr, len, prot, flags, off, &err);
	handle_put(h);
	if (!p) {
		errno = -err;
		return MAP_FAILED;
	}
	return p;
}

KDBUS_EXPORT int kdbus_munmap(void *addr, size_t len)
{
	return munmap(addr, len);
}

KDBUS_EXPORT int kdbus_close(int fd)
{
	struct kd_handle *h = handle_remove(fd);
	int r = close(fd);

	handle_put(h);
	return r;
}

static int cmd_call(int fd, unsigned long cmd, void *arg)
{
	return kdbus_ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

KDBUS_EXPORT int kdbus_cmd_bus_make(int fd, struct kdbus_cmd *cmd)
{
	return cmd_call(fd, KDBUS_CMD_BUS_MAKE, cmd);
}

KDBUS_EXPORT int kdbus_cmd_endpoint_make(int fd, struct kdbus_cmd *cmd)
{
	return cmd_call(fd, KDBUS_CMD_ENDPOINT_MAKE, cmd);
}

KDBUS_EXPORT int kdbus_cmd_endpoint_update(int fd, struct kdbus_cmd *cmd)
{
	return cmd_call(fd, KDBUS_CMD_ENDPOINT_UPDATE, cmd);
}

KDBUS_EXPORT int kdbus_cmd_hello(int fd, struct kdbus_cmd_hello *cmd)
{
	return cmd_call(fd, KDBUS_CMD_HELLO, cmd);
}

KDBUS_EXPORT int kdbus_cmd_update(int fd, struct kdbus_cmd *cmd)
{
	return cmd_call(fd, KDBUS_CMD_UPDATE, cmd);
}

KDBUS_EXPORT int kdbus_cmd_byebye(int fd, struct kdbus_cmd *cmd)
{
	return cmd_call(fd, KDBUS_CMD_BYEBYE, cmd);
}

KDBUS_EXPORT int kdbus_cmd_free(int fd, struct kdbus_cmd_free *cmd)
{
	return cmd_call(fd, KDBUS_CMD_FREE, cmd);
}

KDBUS_EXPORT int kdbus_cmd_conn_info(int fd, struct kdbus_cmd_info *cmd)
{
	return cmd_call(fd, KDBUS_CMD_CONN_INFO, cmd);
}

KDBUS_EXPORT int kdbus_cmd_bus_creator_info(int fd, struct kdbus_cmd_info *cmd)
{
	return cmd_call(fd, KDBUS_CMD_BUS_CREATOR_INFO, cmd);
}

KDBUS_EXPORT int kdbus_cmd_list(int fd, struct kdbus_cmd_list *cmd)
{
	return cmd_call(fd, KDBUS_CMD_LIST, cmd);
}

KDBUS_EXPORT int kdbus_cmd_send(int fd, struct kdbus_cmd_send *cmd)
{
	return cmd_call(fd, KDBUS_CMD_SEND, cmd);
}

KDBUS_EXPORT int kdbus_cmd_recv(int fd, struct kdbus_cmd_recv *cmd)
{
	return cmd_call(fd, KDBUS_CMD_RECV, cmd);
}

KDBUS_EXPORT int kdbus_cmd_name_acquire(int fd, struct kdbus_cmd *cmd)
{
	return cmd_call(fd, KDBUS_CMD_NAME_ACQUIRE, cmd);
}

KDBUS_EXPORT int kdbus_cmd_name_release(int fd, struct kdbus_cmd *cmd)
{
	return cmd_call(fd, KDBUS_CMD_NAME_RELEASE, cmd);
}

KDBUS_EXPORT int kdbus_cmd_match_add(int fd, struct kdbus_cmd_match *cmd)
{
	return cmd_call(fd, KDBUS_CMD_MATCH_ADD, cmd);
}

KDBUS_EXPORT int kdbus_cmd_match_remove(int fd, struct kdbus_cmd_match *cmd)
{
	return cmd_call(fd, KDBUS_CMD_MATCH_REMOVE, cmd);
}
