/* SPDX-License-Identifier: BSD-2-Clause */
/* ping-pong: clocks, sizes, child processes, CPU placement, temp files. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pp.h"

#define PP_MAX_FDS 512

/* fds only the parent may hold: children close them so that EOF/HUP reaches the right peer. */
static int pp_fds[PP_MAX_FDS];
static unsigned pp_n_fds;
static cpu_set_t pp_cpu_orig;
static char pp_tmp[64];

uint64_t pp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void pp_die(const char *fmt, ...)
{
	va_list ap;

	fputs("ping-pong: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void pp_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("ping-pong: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int pp_parse_size(const char *s, size_t *out)
{
	unsigned long long v, mul = 1;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': mul = 1024; end++; break;
	case 'm': case 'M': mul = 1024 * 1024; end++; break;
	case 'g': case 'G': mul = 1024 * 1024 * 1024; end++; break;
	default: break;
	}
	if ((*end == 'i' || *end == 'I') && mul > 1)
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end || v == 0 || v > SIZE_MAX / mul)
		return -EINVAL;
	*out = (size_t)(v * mul);
	return 0;
}

const char *pp_size_str(size_t size, char buf[static 24])
{
	if (size >= PP_MIB && size % PP_MIB == 0)
		snprintf(buf, 24, "%zuM", size / PP_MIB);
	else if (size >= PP_KIB && size % PP_KIB == 0)
		snprintf(buf, 24, "%zuK", size / PP_KIB);
	else
		snprintf(buf, 24, "%zu", size);
	return buf;
}

void pp_fd_register(int fd)
{
	if (fd < 0)
		return;
	if (pp_n_fds == PP_MAX_FDS)
		pp_die("too many open connections");
	pp_fds[pp_n_fds++] = fd;
}

void pp_fd_unregister(int fd)
{
	for (unsigned i = 0; i < pp_n_fds; i++) {
		if (pp_fds[i] == fd) {
			pp_fds[i] = pp_fds[--pp_n_fds];
			return;
		}
	}
}

/* In a fresh child: drop the parent's connections and die with the parent. */
static void pp_child_init(int sig)
{
	for (unsigned i = 0; i < pp_n_fds; i++)
		close(pp_fds[i]);
	pp_n_fds = 0;
	prctl(PR_SET_PDEATHSIG, sig);
}

int pp_read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int pp_write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int pp_spawn(struct pp_child *c, int (*fn)(void *arg, int ctl, int st), void *arg)
{
	int ctl[2], st[2];
	pid_t pid;

	if (pipe2(ctl, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(st, O_CLOEXEC) < 0) {
		close(ctl[0]);
		close(ctl[1]);
		return -errno;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int r = -errno;

		close(ctl[0]);
		close(ctl[1]);
		close(st[0]);
		close(st[1]);
		return r;
	}
	if (pid == 0) {
		int r;

		close(ctl[1]);
		close(st[0]);
		pp_child_init(SIGKILL);
		if (pp_opts.pinned && pp_cpu_set(pp_opts.cpu_server) < 0)
			_exit(2);
		r = fn(arg, ctl[0], st[1]);
		_exit(r < 0 ? 1 : 0);
	}
	close(ctl[0]);
	close(st[1]);
	c->pid = pid;
	c->ctl = ctl[1];
	c->st = st[0];
	pp_fd_register(c->ctl);
	pp_fd_register(c->st);
	return 0;
}

int pp_child_stop(struct pp_child *c, struct pp_counts *counts)
{
	struct pp_counts got = { 0 };
	int status, r;

	if (c->pid <= 0)
		return 0;
	pp_fd_unregister(c->ctl);
	close(c->ctl);
	r = pp_read_full(c->st, &got, sizeof(got));
	pp_fd_unregister(c->st);
	close(c->st);
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	c->pid = 0;
	if (counts) {
		counts->requests += got.requests;
		counts->verified += got.verified;
		counts->failures += got.failures;
	}
	if (r < 0)
		return r;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -ECHILD;
	return 0;
}

int pp_cpu_set(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		return -errno;
	return 0;
}

void pp_cpu_save(void)
{
	if (sched_getaffinity(0, sizeof(pp_cpu_orig), &pp_cpu_orig) < 0)
		CPU_ZERO(&pp_cpu_orig);
}

int pp_cpu_restore(void)
{
	if (CPU_COUNT(&pp_cpu_orig) == 0)
		return 0;
	if (sched_setaffinity(0, sizeof(pp_cpu_orig), &pp_cpu_orig) < 0)
		return -errno;
	return 0;
}

/* Brokers share the CPU when client and server do (as in baselines.md), else float. */
int pp_cpu_broker(void)
{
	if (pp_opts.pinned && pp_opts.cpu_client == pp_opts.cpu_server)
		return pp_cpu_set(pp_opts.cpu_client);
	return pp_cpu_restore();
}

void pp_exec_prepare(void)
{
	pp_child_init(SIGTERM);
	pp_cpu_broker();
}

const char *pp_tmpdir(void)
{
	if (!pp_tmp[0]) {
		snprintf(pp_tmp, sizeof(pp_tmp), "/tmp/ping-pong-%d-XXXXXX", (int)getpid());
		if (!mkdtemp(pp_tmp))
			pp_die("mkdtemp: %s", strerror(errno));
	}
	return pp_tmp;
}

void pp_tmpdir_cleanup(void)
{
	struct dirent *de;
	DIR *d;

	if (!pp_tmp[0])
		return;
	d = opendir(pp_tmp);
	if (d) {
		while ((de = readdir(d))) {
			char path[PATH_MAX];

			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			snprintf(path, sizeof(path), "%s/%s", pp_tmp, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(pp_tmp);
	pp_tmp[0] = 0;
}

bool pp_supports_all(const struct pp_system *sys, size_t size)
{
	return true;
}

/* the memfd baselines matter for large payloads; small ones only when memfd was asked for */
bool pp_baseline_not_applicable(const struct pp_system *sys, size_t size)
{
	return sys->payload == PP_PAYLOAD_MEMFD && size < 64 * PP_KIB &&
	       !(pp_opts.payloads & PP_PAYLOAD_MEMFD);
}
