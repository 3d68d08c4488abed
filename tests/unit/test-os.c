/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the OS seam (src/os): shm/memfd seals, fd rules, poller, process metadata. */
#ifdef HAVE_CONFIG_H
#include "config.h" /* KD_OS_POSIX: which paths of src/os are built */
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/eventfd.h>
#include <sys/prctl.h>
#endif

#include "core/meta.h"
#include "os/os.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

static const char *self_argv0;

static int tmpfile_fd(void)
{
	char path[] = "/tmp/kd-test-os-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	return fd;
}

static int closed_fd(void)
{
	int fd = dup(0);

	assert_true(fd >= 0);
	close(fd);
	return fd;
}

/* ---- memfd.c ---- */

static void test_shm_pool(void **state)
{
	struct stat st;
	char *rw, *ro;
	int fd;

	fd = kd_os_shm_new("kdbus-test-pool", 8192);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 8192);

	rw = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(rw != MAP_FAILED);
	assert_int_equal(kd_os_pool_seal(fd), 0);
	/* The mapping made before the seal stays writable. */
	memcpy(rw, "hello", 6);
	ro = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(ro != MAP_FAILED);
	assert_string_equal(ro, "hello");

#if defined(__linux__) && !defined(KD_OS_POSIX)
	assert_int_equal(fcntl(fd, F_GET_SEALS),
			 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE);
	/* No new writable mapping, no resize. */
	assert_true(mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);
	assert_int_equal(errno, EPERM);
	assert_int_equal(ftruncate(fd, 4096), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(ftruncate(fd, 16384), -1);
	assert_int_equal(errno, EPERM);
	/* Not a payload memfd: FUTURE_WRITE is not WRITE, and SEAL is missing. */
	assert_int_equal(kd_os_memfd_check(fd, 0, 8), -ETXTBSY);
#endif
	munmap(ro, 8192);
	munmap(rw, 8192);
	close(fd);

	assert_int_equal(kd_os_pool_seal(closed_fd()), -EBADF);
}

static void test_memfd_sealed(void **state)
{
	static const char data[] = "0123456789abcdefghij";
	char buf[sizeof(data)];
	struct stat st;
	int fd;

	fd = kd_os_memfd_sealed("kdbus-test-payload", data, sizeof(data));
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, sizeof(data));
	assert_int_equal(pread(fd, buf, sizeof(buf), 0), sizeof(buf));
	assert_memory_equal(buf, data, sizeof(data));

	assert_int_equal(kd_os_memfd_check(fd, 0, sizeof(data)), 0);
	assert_int_equal(kd_os_memfd_check(fd, 10, sizeof(data) - 10), 0);
	assert_int_equal(kd_os_memfd_check(fd, 10, sizeof(data) - 9), -EFAULT);
	assert_int_equal(kd_os_memfd_check(fd, ~0ULL, 2), -EFAULT);
	assert_int_equal(kd_os_memfd_check(fd, sizeof(data) + 1, 0), -EFAULT);

#if defined(__linux__) && !defined(KD_OS_POSIX)
	assert_int_equal(fcntl(fd, F_GET_SEALS),
			 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	/* Sealed for real: no writes, no writable maps, no new seals. */
	assert_int_equal(pwrite(fd, "x", 1, 0), -1);
	assert_int_equal(errno, EPERM);
	assert_true(mmap(NULL, 4096, PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), -1);
#endif
	close(fd);

	/* Empty payloads are allowed to exist (the size > 0 rule is the caller's). */
	fd = kd_os_memfd_sealed(NULL, NULL, 0);
	assert_true(fd >= 0);
	assert_int_equal(kd_os_memfd_check(fd, 0, 0), 0);
	assert_int_equal(kd_os_memfd_check(fd, 0, 1), -EFAULT);
	close(fd);
}

static void test_memfd_check_errors(void **state)
{
	int p[2], fd;

	assert_int_equal(kd_os_memfd_check(-1, 0, 1), -EBADF);
	assert_int_equal(kd_os_memfd_check(closed_fd(), 0, 1), -EBADF);

	assert_int_equal(pipe(p), 0);
	assert_int_equal(kd_os_memfd_check(p[0], 0, 1), -EMEDIUMTYPE);
	close(p[0]);
	close(p[1]);

#ifdef __linux__
	/* A regular file on a disk filesystem is not shmem. */
	fd = tmpfile_fd();
	assert_int_equal(ftruncate(fd, 64), 0);
	if (fcntl(fd, F_GET_SEALS) < 0)
		assert_int_equal(kd_os_memfd_check(fd, 0, 1), -EMEDIUMTYPE);
	close(fd);

	/* A sealable memfd without seals, then with only some of them. */
	fd = memfd_create("kd-unsealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 64), 0);
	assert_int_equal(kd_os_memfd_check(fd, 0, 64), -ETXTBSY);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE), 0);
	assert_int_equal(kd_os_memfd_check(fd, 0, 64), -ETXTBSY);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL), 0);
	assert_int_equal(kd_os_memfd_check(fd, 0, 64), 0);
	close(fd);

	/* O_PATH fds cannot be used for data. */
	fd = open("/tmp", O_PATH | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(kd_os_memfd_check(fd, 0, 1), -EBADF);
	close(fd);
#else
	(void)fd;
	(void)tmpfile_fd;
#endif
}

/* ---- peercred.c ---- */

static void test_peercred(void **state)
{
	pid_t pid = -1;
	uid_t uid = 12345;
	gid_t gid = 12345;
	int sp[2], fd;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(kd_os_peercred(sp[0], &pid, &uid, &gid), 0);
	assert_int_equal(uid, geteuid());
	assert_int_equal(gid, getegid());
#if defined(__linux__) || defined(__FreeBSD__)
	assert_int_equal(pid, getpid());
#endif
	close(sp[0]);
	close(sp[1]);

	assert_true(kd_os_peercred(closed_fd(), &pid, &uid, &gid) < 0);
	/* Not connected: no peer. */
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_true(kd_os_peercred(fd, &pid, &uid, &gid) < 0);
	close(fd);
	/* Not a socket. */
	fd = tmpfile_fd();
	assert_true(kd_os_peercred(fd, &pid, &uid, &gid) < 0);
	close(fd);
}

static void test_fd_passable(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int p[2], sp[2], fd, s;

	assert_int_equal(kd_os_fd_passable(-1), -EBADF);
	assert_int_equal(kd_os_fd_passable(closed_fd()), -EBADF);

	assert_int_equal(pipe(p), 0);
	assert_int_equal(kd_os_fd_passable(p[0]), 0);
	assert_int_equal(kd_os_fd_passable(p[1]), 0);
	close(p[0]);
	close(p[1]);

	fd = tmpfile_fd();
	assert_int_equal(kd_os_fd_passable(fd), 0);
	close(fd);

	/* UNIX sockets of any type are refused (reference cycles). */
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	assert_int_equal(kd_os_fd_passable(sp[0]), -EOPNOTSUPP);
	close(sp[0]);
	close(sp[1]);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sp), 0);
	assert_int_equal(kd_os_fd_passable(sp[1]), -EOPNOTSUPP);
	close(sp[0]);
	close(sp[1]);

	/* Other sockets travel. */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		assert_int_equal(kd_os_fd_passable(fd), 0);
		close(fd);
	}

#ifdef __linux__
	/* An O_PATH fd to a bound socket's inode is no socket: allowed. */
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/tmp/kd-test-os-%ld.sock", (long)getpid());
	unlink(sun.sun_path);
	assert_int_equal(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
	fd = open(sun.sun_path, O_PATH | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(kd_os_fd_passable(fd), 0);
	close(fd);
	unlink(sun.sun_path);
	close(s);
#else
	(void)sun;
	(void)s;
#endif
}

static void test_fd_pollable(void **state)
{
	int p[2], fd;

	assert_int_equal(kd_os_fd_pollable(-1), -EBADF);
	assert_int_equal(kd_os_fd_pollable(closed_fd()), -EBADF);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(kd_os_fd_pollable(p[0]), 0);
	assert_int_equal(kd_os_fd_pollable(p[1]), 0);
	close(p[0]);
	close(p[1]);
#ifdef __linux__
	fd = eventfd(0, EFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(kd_os_fd_pollable(fd), 0);
	close(fd);
	/* Regular files have no poll method. */
	fd = tmpfile_fd();
	assert_int_equal(kd_os_fd_pollable(fd), -EINVAL);
	close(fd);
	fd = open("/tmp", O_PATH | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(kd_os_fd_pollable(fd), -EBADF);
	close(fd);
#else
	(void)fd;
#endif
}

/* ---- poller.c ---- */

static void test_poller(void **state)
{
	struct kd_poller *p = NULL;
	struct kd_poll_event ev[4];
	int sp[2], tag_a = 1, tag_b = 2, n, i;
	uint32_t seen;

	assert_int_equal(kd_poller_new(&p), 0);
	assert_non_null(p);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);

	assert_int_equal(kd_poller_add(p, sp[0], KD_POLL_IN, &tag_a), 0);
	assert_int_equal(kd_poller_add(p, sp[0], KD_POLL_IN, &tag_a), -EEXIST);
	assert_int_equal(kd_poller_mod(p, sp[1], KD_POLL_IN, &tag_b), -ENOENT);
	assert_int_equal(kd_poller_del(p, sp[1]), -ENOENT);
	assert_int_equal(kd_poller_wait(p, ev, 0, 0), -EINVAL);
	assert_int_equal(kd_poller_wait(p, ev, 4, 0), 0);

	assert_int_equal(write(sp[1], "x", 1), 1);
	n = kd_poller_wait(p, ev, 4, 1000);
	assert_int_equal(n, 1);
	assert_ptr_equal(ev[0].data, &tag_a);
	assert_int_equal(ev[0].events, KD_POLL_IN);

	/* OUT as well, with new data: both conditions reported for tag_b. */
	assert_int_equal(kd_poller_mod(p, sp[0], KD_POLL_IN | KD_POLL_OUT, &tag_b), 0);
	n = kd_poller_wait(p, ev, 4, 1000);
	assert_true(n >= 1);
	seen = 0;
	for (i = 0; i < n; i++) {
		assert_ptr_equal(ev[i].data, &tag_b);
		seen |= ev[i].events;
	}
	assert_int_equal(seen, KD_POLL_IN | KD_POLL_OUT);

	/* Removed: nothing reported even though data is pending. */
	assert_int_equal(kd_poller_del(p, sp[0]), 0);
	assert_int_equal(kd_poller_wait(p, ev, 4, 0), 0);

	/* Peer gone: HUP. */
	assert_int_equal(kd_poller_add(p, sp[0], KD_POLL_IN, &tag_a), 0);
	close(sp[1]);
	n = kd_poller_wait(p, ev, 4, 1000);
	assert_true(n >= 1);
	assert_ptr_equal(ev[0].data, &tag_a);
	assert_true(ev[0].events & KD_POLL_HUP);

	close(sp[0]);
	assert_null(kd_poller_free(p));
	assert_null(kd_poller_free(NULL));
}

/* Many fds, few event slots: every ready fd is reported within a few waits. */
static void test_poller_fair(void **state)
{
	struct kd_poller *p = NULL;
	struct kd_poll_event ev[2];
	int sp[8][2], tags[8], i, round, n;
	unsigned int seen = 0;

	assert_int_equal(kd_poller_new(&p), 0);
	for (i = 0; i < 8; i++) {
		tags[i] = i;
		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp[i]), 0);
		assert_int_equal(kd_poller_add(p, sp[i][0], KD_POLL_IN, &tags[i]), 0);
		assert_int_equal(write(sp[i][1], "x", 1), 1);
	}
	/* Level triggered: nothing is consumed, so fairness must come from the poller. */
	for (round = 0; round < 8; round++) {
		n = kd_poller_wait(p, ev, 2, 1000);
		assert_true(n >= 1 && n <= 2);
		for (i = 0; i < n; i++)
			seen |= 1u << *(int *)ev[i].data;
	}
	assert_int_equal(seen, 0xff);
	for (i = 0; i < 8; i++) {
		close(sp[i][0]);
		close(sp[i][1]);
	}
	kd_poller_free(p);
}

/* ---- proc.c ---- */

#ifdef __linux__
static char *slurp(const char *path, size_t *len)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = 0;
	if (len)
		*len = (size_t)n;
	return buf;
}
#endif

static void test_proc_self(void **state)
{
	struct kd_meta m;
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	gid_t groups[256];
	int ngroups, i;

	memset(&m, 0, sizeof(m));
	assert_int_equal(kd_os_proc_meta(getpid(), 0, _KDBUS_ATTACH_ALL, &m), 0);

	assert_true(m.mask & KDBUS_ATTACH_CREDS);
	assert_int_equal(getresuid(&ru, &eu, &su), 0);
	assert_int_equal(getresgid(&rg, &eg, &sg), 0);
	assert_int_equal(m.creds.uid, ru);
	assert_int_equal(m.creds.euid, eu);
	assert_int_equal(m.creds.suid, su);
	assert_int_equal(m.creds.gid, rg);
	assert_int_equal(m.creds.egid, eg);
	assert_int_equal(m.creds.sgid, sg);

	assert_true(m.mask & KDBUS_ATTACH_PIDS);
	assert_int_equal(m.pids.pid, getpid());
	assert_int_equal(m.pids.ppid, getppid());
	assert_int_equal(m.pids.tid, getpid());

	ngroups = getgroups(256, groups);
	assert_true(ngroups >= 0);
	assert_true(m.mask & KDBUS_ATTACH_AUXGROUPS);
	assert_int_equal(m.n_auxgroups, ngroups);
	for (i = 0; i < ngroups; i++)
		assert_int_equal(m.auxgroups[i], groups[i]);

#ifdef __linux__
	{
		char comm[17] = { 0 }, exe[4096], *s;
		ssize_t n;
		size_t len;

		assert_int_equal(prctl(PR_GET_NAME, comm), 0);
		assert_true(m.mask & KDBUS_ATTACH_PID_COMM);
		assert_string_equal(m.pid_comm, comm);
		assert_true(m.mask & KDBUS_ATTACH_TID_COMM);
		assert_string_equal(m.tid_comm, comm);

		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		assert_true(n > 0);
		exe[n] = 0;
		assert_true(m.mask & KDBUS_ATTACH_EXE);
		assert_string_equal(m.exe, exe);

		/* Every argv string, NUL separated, final NUL counted. */
		s = slurp("/proc/self/cmdline", &len);
		assert_non_null(s);
		assert_true(m.mask & KDBUS_ATTACH_CMDLINE);
		assert_int_equal(m.cmdline_size, len);
		assert_memory_equal(m.cmdline, s, len);
		assert_string_equal(m.cmdline, self_argv0);
		assert_int_equal(m.cmdline[m.cmdline_size - 1], 0);

		s = slurp("/proc/self/cgroup", NULL);
		if (s && (strncmp(s, "0::", 3) == 0 || strstr(s, "\n0::"))) {
			char *line = strncmp(s, "0::", 3) == 0 ? s : strstr(s, "\n0::") + 1;

			assert_true(m.mask & KDBUS_ATTACH_CGROUP);
			assert_memory_equal(m.cgroup, line + 3, strlen(m.cgroup));
			assert_true(line[3 + strlen(m.cgroup)] == '\n' ||
				    line[3 + strlen(m.cgroup)] == 0);
		} else {
			assert_false(m.mask & KDBUS_ATTACH_CGROUP);
		}

		s = slurp("/proc/sys/kernel/cap_last_cap", NULL);
		if (s) {
			unsigned int last = (unsigned int)strtoul(s, NULL, 10);
			unsigned int words = (last + 32) / 32;

			assert_true(m.mask & KDBUS_ATTACH_CAPS);
			assert_int_equal(m.caps[0], last);
			assert_int_equal(m.caps_size, 4 + 16 * words);
			/* No set has bits above last_cap; bounding has bit 0 (CHOWN) normally. */
			for (i = 0; i < 4; i++) {
				uint32_t top = m.caps[1 + i * words + words - 1];

				if ((last + 1) % 32)
					assert_int_equal(top >> ((last + 1) % 32), 0);
			}
		}

		s = slurp("/proc/self/attr/current", &len);
		if (!s || len == 0 || (len == 1 && s[0] == '\n'))
			assert_false(m.mask & KDBUS_ATTACH_SECLABEL);
		else
			assert_true(m.mask & KDBUS_ATTACH_SECLABEL);

		s = slurp("/proc/self/loginuid", NULL);
		if (!s || strtoull(s, NULL, 10) == 4294967295ULL) {
			assert_false(m.mask & KDBUS_ATTACH_AUDIT);
		} else {
			assert_true(m.mask & KDBUS_ATTACH_AUDIT);
			assert_int_equal(m.audit.loginuid, strtoull(s, NULL, 10));
		}
	}
#endif
	kd_meta_clear(&m);

	/* Only what is asked for is collected. */
	memset(&m, 0, sizeof(m));
	assert_int_equal(kd_os_proc_meta(getpid(), 0, KDBUS_ATTACH_PIDS, &m), 0);
	assert_int_equal(m.mask, KDBUS_ATTACH_PIDS);
	assert_null(m.exe);
	assert_null(m.auxgroups);
	kd_meta_clear(&m);
}

struct thread_arg {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pid_t tid;
	bool done;
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;

	pthread_mutex_lock(&a->lock);
	a->tid = gettid();
	pthread_cond_broadcast(&a->cond);
	while (!a->done)
		pthread_cond_wait(&a->cond, &a->lock);
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

static void test_proc_thread(void **state)
{
	struct thread_arg a = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false };
	struct kd_meta m;
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, thread_main, &a), 0);
	pthread_mutex_lock(&a.lock);
	while (!a.tid)
		pthread_cond_wait(&a.cond, &a.lock);
	pthread_mutex_unlock(&a.lock);
	assert_int_equal(pthread_setname_np(t, "kd-worker"), 0);

	memset(&m, 0, sizeof(m));
	assert_int_equal(kd_os_proc_meta(getpid(), a.tid,
					 KDBUS_ATTACH_PIDS | KDBUS_ATTACH_TID_COMM |
						 KDBUS_ATTACH_PID_COMM, &m), 0);
	assert_int_equal(m.pids.pid, getpid());
	assert_int_equal(m.pids.tid, a.tid);
	assert_string_equal(m.tid_comm, "kd-worker");
	assert_string_not_equal(m.pid_comm, "kd-worker");
	kd_meta_clear(&m);

	pthread_mutex_lock(&a.lock);
	a.done = true;
	pthread_cond_broadcast(&a.cond);
	pthread_mutex_unlock(&a.lock);
	pthread_join(t, NULL);
}

static void test_proc_errors(void **state)
{
	struct kd_meta m;

	memset(&m, 0, sizeof(m));
	assert_int_equal(kd_os_proc_meta(0, 0, _KDBUS_ATTACH_ALL, &m), -EINVAL);
	assert_int_equal(kd_os_proc_meta(getpid(), -1, _KDBUS_ATTACH_ALL, &m), -EINVAL);
	assert_int_equal(kd_os_proc_meta(0x7ffffff0, 0, _KDBUS_ATTACH_ALL, &m), -ESRCH);
	/* A tid outside the process. */
	assert_int_equal(kd_os_proc_meta(getpid(), getppid(), _KDBUS_ATTACH_ALL, &m), -ESRCH);
	assert_int_equal(m.mask, 0);
}

static void test_clocks(void **state)
{
	uint64_t a = kd_os_now_mono(), b = kd_os_now_mono();
	uint64_t r = kd_os_now_real();

	assert_true(b >= a);
	/* After 2020-01-01. */
	assert_true(r > 1577836800ULL * 1000000000ULL);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shm_pool),
		cmocka_unit_test(test_memfd_sealed),
		cmocka_unit_test(test_memfd_check_errors),
		cmocka_unit_test(test_peercred),
		cmocka_unit_test(test_fd_passable),
		cmocka_unit_test(test_fd_pollable),
		cmocka_unit_test(test_poller),
		cmocka_unit_test(test_poller_fair),
		cmocka_unit_test(test_proc_self),
		cmocka_unit_test(test_proc_thread),
		cmocka_unit_test(test_proc_errors),
		cmocka_unit_test(test_clocks),
	};

	(void)argc;
	self_argv0 = argv[0];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
