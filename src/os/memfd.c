/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Anonymous shared memory: memfd_create + seals on Linux, shm_open(SHM_ANON)
 * on FreeBSD, shm_open + shm_unlink of a random name with KD_OS_POSIX.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __FreeBSD__
#include <sys/capsicum.h>
#endif

#include "os/os.h"

#if defined(__linux__) && !defined(KD_OS_POSIX)
#define KD_OS_MEMFD 1
#endif

/* Seals kdbus requires on PAYLOAD_MEMFD (spec 8.6); values are Linux's. */
#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_GET_SEALS 1034
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#define KD_MEMFD_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)

#if !defined(KD_OS_MEMFD) && !defined(__FreeBSD__)
/* A fresh shm object that no other process can open by name. */
static int shm_anon_open(const char *name)
{
	char path[64];
	unsigned int i;
	int fd;

	(void)name;
	for (i = 0; i < 16; i++) {
		snprintf(path, sizeof(path), "/kdbus-%ld-%08x%08x", (long)getpid(), arc4random(),
			 arc4random());
		fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			shm_unlink(path);
			return fd;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}
#endif

int kd_os_shm_new(const char *name, uint64_t size)
{
	int fd, r;

	if (size > (uint64_t)INT64_MAX)
		return -EINVAL;
	if (!name)
		name = "kdbus";
#if defined(KD_OS_MEMFD)
	{
		char buf[250];

		/* memfd names are limited to 249 bytes; this one is only for /proc. */
		snprintf(buf, sizeof(buf), "%s", name);
		fd = memfd_create(buf, MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd < 0)
			return -errno;
	}
#elif defined(__FreeBSD__)
	(void)name;
	fd = shm_open(SHM_ANON, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
#else
	fd = shm_anon_open(name);
	if (fd < 0)
		return fd;
#endif
	if (ftruncate(fd, (off_t)size) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int kd_os_pool_seal(int fd)
{
#if defined(KD_OS_MEMFD)
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE) < 0)
		return -errno;
	return 0;
#elif defined(__FreeBSD__)
	cap_rights_t rights;

	/* Read and map read-only from now on, for every copy of this fd. */
	cap_rights_init(&rights, CAP_READ, CAP_MMAP_R, CAP_FSTAT, CAP_SEEK);
	if (cap_rights_limit(fd, &rights) < 0 && errno != ENOSYS)
		return -errno;
	return 0;
#else
	struct stat st;

	/* No seals on plain shm objects; the library refuses PROT_WRITE itself. */
	if (fstat(fd, &st) < 0)
		return -errno;
	return 0;
#endif
}

int kd_os_pool_ro_fd(int fd)
{
	int ro;
#if defined(__linux__)
	char path[64];

	/* A new open file description, read-only: no writable shared map, ever. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	if (ro < 0)
		return -errno;
	return ro;
#elif defined(__FreeBSD__)
	cap_rights_t rights;

	ro = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (ro < 0)
		return -errno;
	cap_rights_init(&rights, CAP_READ, CAP_MMAP_R, CAP_FSTAT, CAP_SEEK);
	if (cap_rights_limit(ro, &rights) < 0 && errno != ENOSYS) {
		int r = -errno;

		close(ro);
		return r;
	}
	return ro;
#else
	/* Best effort: the library refuses PROT_WRITE itself. */
	ro = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return ro < 0 ? -errno : ro;
#endif
}

int kd_os_shm_seal_size(int fd)
{
#if defined(KD_OS_MEMFD)
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return -errno;
	return 0;
#else
	/* No seals: the broker must survive a peer that resizes (see docs). */
	(void)fd;
	return 0;
#endif
}

int kd_os_memfd_check(int fd, uint64_t start, uint64_t size)
{
	struct stat st;
	int seals;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -EBADF;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0) {
		if (errno == EBADF)
			return -EBADF;
#if defined(__linux__)
		/* Not shmem: Linux answers F_GET_SEALS on every shmem file. */
		return -EMEDIUMTYPE;
#else
		/* Without seal support any shm object is accepted, best effort. */
		if (!S_ISREG(st.st_mode))
			return -EMEDIUMTYPE;
		seals = KD_MEMFD_SEALS;
#endif
	}
#if !defined(KD_OS_MEMFD)
	/* Our own unsealable shm objects report only F_SEAL_SEAL. */
	if (seals == F_SEAL_SEAL)
		seals = KD_MEMFD_SEALS;
#endif
	if ((seals & KD_MEMFD_SEALS) != KD_MEMFD_SEALS)
		return -ETXTBSY;
	if (start + size < start || start + size > (uint64_t)st.st_size)
		return -EFAULT;
	return 0;
}

int kd_os_memfd_sealed(const char *name, const void *data, uint64_t size)
{
	const char *p = data;
	uint64_t done = 0;
	ssize_t n;
	int fd, r;

	fd = kd_os_shm_new(name, 0);
	if (fd < 0)
		return fd;
	/* write(), not a mapping: F_SEAL_WRITE fails while writable maps exist. */
	while (done < size) {
		n = pwrite(fd, p + done, size - done, (off_t)done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto fail;
		}
		done += (uint64_t)n;
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		r = -errno;
		goto fail;
	}
#if defined(KD_OS_MEMFD)
	if (fcntl(fd, F_ADD_SEALS, KD_MEMFD_SEALS) < 0) {
		r = -errno;
		goto fail;
	}
#endif
	return fd;

fail:
	close(fd);
	return r;
}
