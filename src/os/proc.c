/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Process metadata (spec 9.7) from the kernel: /proc on Linux, sysctl
 * kern.proc on FreeBSD. Items that cannot be read are left out of the mask.
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
#include <time.h>
#include <unistd.h>
#if defined(__FreeBSD__)
#include <sys/param.h>
#include <sys/sysctl.h>
#include <sys/user.h>
#endif

#include "core/meta.h"
#include "os/os.h"

uint64_t kd_os_now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t kd_os_now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#if defined(__linux__)

/* Whole file into a NUL-terminated buffer (the NUL is not counted in *len). */
static int read_all(const char *path, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap), *nb;
	ssize_t r;
	int fd, err;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		err = -errno;
		free(buf);
		return err;
	}
	for (;;) {
		if (n + 1 >= cap) {
			nb = realloc(buf, cap * 2);
			if (!nb) {
				err = -ENOMEM;
				goto fail;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;

fail:
	close(fd);
	free(buf);
	return err;
}

/* One line file (comm, attr/current) without trailing newlines/NULs; NULL if empty. */
static char *read_line(const char *path)
{
	char *buf;
	size_t len;

	if (read_all(path, &buf, &len) < 0)
		return NULL;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == 0))
		buf[--len] = 0;
	if (len == 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Value of "Key:\t..." in a status file, or NULL. */
static const char *status_field(const char *status, const char *key)
{
	size_t klen = strlen(key);
	const char *p = status;

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == ':') {
			p += klen + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			return p;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

/* Up to max numbers of one status line in base; returns how many. */
static unsigned int parse_list(const char *p, int base, uint64_t *v, unsigned int max)
{
	unsigned int n = 0;
	char *end;

	while (p && n < max) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\n' || *p == 0)
			break;
		errno = 0;
		v[n] = strtoull(p, &end, base);
		if (end == p || errno)
			break;
		n++;
		p = end;
	}
	return n;
}

static bool status_ids(const char *status, const char *key, uint64_t ids[4])
{
	return parse_list(status_field(status, key), 10, ids, 4) == 4;
}

static bool status_u64(const char *status, const char *key, int base, uint64_t *v)
{
	return parse_list(status_field(status, key), base, v, 1) == 1;
}

static void meta_creds(struct kd_meta *out, const char *status)
{
	uint64_t u[4], g[4];

	if (!status_ids(status, "Uid", u) || !status_ids(status, "Gid", g))
		return;
	out->creds = (struct kdbus_creds){ u[0], u[1], u[2], u[3], g[0], g[1], g[2], g[3] };
	out->mask |= KDBUS_ATTACH_CREDS;
}

static void meta_pids(struct kd_meta *out, const char *status, pid_t tid)
{
	uint64_t tgid, ppid;

	if (!status_u64(status, "Tgid", 10, &tgid) || !status_u64(status, "PPid", 10, &ppid))
		return;
	out->pids = (struct kdbus_pids){ tgid, (uint64_t)tid, ppid };
	out->mask |= KDBUS_ATTACH_PIDS;
}

static void meta_groups(struct kd_meta *out, const char *status)
{
	const char *p = status_field(status, "Groups");
	const char *q;
	unsigned int n = 0;
	uint64_t *g;

	if (!p)
		return;
	/* Count first: the list has no length field. */
	for (q = p; *q && *q != '\n'; q++)
		if ((q == p || q[-1] == ' ' || q[-1] == '\t') && *q != ' ' && *q != '\t')
			n++;
	g = malloc((n ? n : 1) * sizeof(*g));
	if (!g)
		return;
	out->auxgroups = g;
	out->n_auxgroups = parse_list(p, 10, g, n);
	out->mask |= KDBUS_ATTACH_AUXGROUPS;
}

static void meta_caps(struct kd_meta *out, const char *status)
{
	static const char *const keys[4] = { "CapInh", "CapPrm", "CapEff", "CapBnd" };
	uint64_t sets[4], last;
	unsigned int i, w, words;
	char *s;
	uint32_t *caps;

	s = read_line("/proc/sys/kernel/cap_last_cap");
	if (!s)
		return;
	last = strtoull(s, NULL, 10);
	free(s);
	if (last > 63)
		return;
	for (i = 0; i < 4; i++)
		if (!status_u64(status, keys[i], 16, &sets[i]))
			return;

	words = ((unsigned int)last + 32) / 32;
	caps = calloc(1 + 4 * words, sizeof(*caps));
	if (!caps)
		return;
	caps[0] = (uint32_t)last;
	for (i = 0; i < 4; i++) {
		/* Bits above last_cap are cleared (spec 9.7). */
		if (last < 63)
			sets[i] &= (1ULL << (last + 1)) - 1;
		for (w = 0; w < words; w++)
			caps[1 + i * words + w] = (uint32_t)(sets[i] >> (32 * w));
	}
	out->caps = caps;
	out->caps_size = (1 + 4 * words) * sizeof(*caps);
	out->mask |= KDBUS_ATTACH_CAPS;
}

static void meta_exe(struct kd_meta *out, const char *dir)
{
	char path[96];
	size_t cap = 256;
	ssize_t r;
	char *buf = NULL, *nb;

	snprintf(path, sizeof(path), "%s/exe", dir);
	for (;;) {
		nb = realloc(buf, cap);
		if (!nb)
			break;
		buf = nb;
		r = readlink(path, buf, cap);
		if (r < 0)
			break;
		if ((size_t)r < cap) {
			buf[r] = 0;
			out->exe = buf;
			out->mask |= KDBUS_ATTACH_EXE;
			return;
		}
		/* Possibly truncated: try again with more room. */
		if (cap >= 65536)
			break;
		cap *= 2;
	}
	free(buf);
}

static void meta_cmdline(struct kd_meta *out, const char *dir)
{
	char path[96];
	char *buf;
	size_t len;

	snprintf(path, sizeof(path), "%s/cmdline", dir);
	if (read_all(path, &buf, &len) < 0)
		return;
	/* Kernel threads and zombies have none. */
	if (len == 0) {
		free(buf);
		return;
	}
	/* read_all() left a NUL after the data: keep it if the last string lacks one. */
	out->cmdline = buf;
	out->cmdline_size = buf[len - 1] == 0 ? len : len + 1;
	out->mask |= KDBUS_ATTACH_CMDLINE;
}

static void meta_cgroup(struct kd_meta *out, const char *dir)
{
	char path[96];
	char *buf, *p, *next;
	size_t len;

	snprintf(path, sizeof(path), "%s/cgroup", dir);
	if (read_all(path, &buf, &len) < 0)
		return;
	/* The unified hierarchy's line: "0::<path>". */
	for (p = buf; p && *p; p = next) {
		next = strchr(p, '\n');
		if (next)
			next++;
		if (strncmp(p, "0::", 3))
			continue;
		p += 3;
		len = next ? (size_t)(next - 1 - p) : strlen(p);
		memmove(buf, p, len);
		buf[len] = 0;
		out->cgroup = buf;
		out->mask |= KDBUS_ATTACH_CGROUP;
		return;
	}
	free(buf);
}

static void meta_audit(struct kd_meta *out, const char *dir)
{
	char path[96];
	char *s;
	uint64_t loginuid, sessionid;

	snprintf(path, sizeof(path), "%s/loginuid", dir);
	s = read_line(path);
	if (!s)
		return;
	loginuid = strtoull(s, NULL, 10);
	free(s);
	snprintf(path, sizeof(path), "%s/sessionid", dir);
	s = read_line(path);
	if (!s)
		return;
	sessionid = strtoull(s, NULL, 10);
	free(s);
	/* Never logged in (daemons, containers): no audit identity to report. */
	if (loginuid == 4294967295ULL)
		return;
	out->audit.loginuid = (uint32_t)loginuid;
	out->audit.sessionid = (uint32_t)sessionid;
	out->mask |= KDBUS_ATTACH_AUDIT;
}

/* Read path into *field and set bit if it has content. */
static void meta_line(struct kd_meta *out, char **field, uint64_t bit, const char *path)
{
	char *s = read_line(path);

	if (s) {
		*field = s;
		out->mask |= bit;
	}
}

int kd_os_proc_meta(pid_t pid, pid_t tid, uint64_t mask, struct kd_meta *out)
{
	char dir[64], tdir[96], path[128];
	char *status = NULL;
	size_t len;
	int r;

	if (pid <= 0 || tid < 0)
		return -EINVAL;
	if (tid == 0)
		tid = pid;
	snprintf(dir, sizeof(dir), "/proc/%ld", (long)pid);
	snprintf(tdir, sizeof(tdir), "%s/task/%ld", dir, (long)tid);

	/* Credentials are per thread, so the thread's status; it also proves tid is pid's. */
	snprintf(path, sizeof(path), "%s/status", tdir);
	r = read_all(path, &status, &len);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;

	if (mask & KDBUS_ATTACH_CREDS)
		meta_creds(out, status);
	if (mask & KDBUS_ATTACH_PIDS)
		meta_pids(out, status, tid);
	if (mask & KDBUS_ATTACH_AUXGROUPS)
		meta_groups(out, status);
	if (mask & KDBUS_ATTACH_TID_COMM) {
		snprintf(path, sizeof(path), "%s/comm", tdir);
		meta_line(out, &out->tid_comm, KDBUS_ATTACH_TID_COMM, path);
	}
	if (mask & KDBUS_ATTACH_PID_COMM) {
		snprintf(path, sizeof(path), "%s/comm", dir);
		meta_line(out, &out->pid_comm, KDBUS_ATTACH_PID_COMM, path);
	}
	if (mask & KDBUS_ATTACH_EXE)
		meta_exe(out, dir);
	if (mask & KDBUS_ATTACH_CMDLINE)
		meta_cmdline(out, dir);
	if (mask & KDBUS_ATTACH_CGROUP)
		meta_cgroup(out, dir);
	if (mask & KDBUS_ATTACH_CAPS)
		meta_caps(out, status);
	if (mask & KDBUS_ATTACH_SECLABEL) {
		snprintf(path, sizeof(path), "%s/attr/current", tdir);
		meta_line(out, &out->seclabel, KDBUS_ATTACH_SECLABEL, path);
	}
	if (mask & KDBUS_ATTACH_AUDIT)
		meta_audit(out, dir);

	free(status);
	return 0;
}

#elif defined(__FreeBSD__)

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	if (p)
		memcpy(p, s, n);
	return p;
}

/* The basics kinfo_proc carries; the rest needs privileges or procstat. */
int kd_os_proc_meta(pid_t pid, pid_t tid, uint64_t mask, struct kd_meta *out)
{
	int mib[4] = { CTL_KERN, KERN_PROC, KERN_PROC_PID, pid };
	struct kinfo_proc kp;
	size_t len = sizeof(kp);
	int i;

	if (pid <= 0 || tid < 0)
		return -EINVAL;
	if (sysctl(mib, 4, &kp, &len, NULL, 0) < 0)
		return -errno;
	if (len == 0)
		return -ESRCH;

	if (mask & KDBUS_ATTACH_CREDS) {
		out->creds = (struct kdbus_creds){ kp.ki_ruid, kp.ki_uid, kp.ki_svuid, kp.ki_uid,
						   kp.ki_rgid, kp.ki_groups[0], kp.ki_svgid,
						   kp.ki_groups[0] };
		out->mask |= KDBUS_ATTACH_CREDS;
	}
	if (mask & KDBUS_ATTACH_PIDS) {
		out->pids = (struct kdbus_pids){ kp.ki_pid, tid ? tid : kp.ki_tid, kp.ki_ppid };
		out->mask |= KDBUS_ATTACH_PIDS;
	}
	if ((mask & KDBUS_ATTACH_AUXGROUPS) && kp.ki_ngroups > 0) {
		out->auxgroups = malloc(kp.ki_ngroups * sizeof(uint64_t));
		if (out->auxgroups) {
			for (i = 0; i < kp.ki_ngroups; i++)
				out->auxgroups[i] = kp.ki_groups[i];
			out->n_auxgroups = kp.ki_ngroups;
			out->mask |= KDBUS_ATTACH_AUXGROUPS;
		}
	}
	if (mask & KDBUS_ATTACH_PID_COMM) {
		out->pid_comm = dup_str(kp.ki_comm);
		if (out->pid_comm)
			out->mask |= KDBUS_ATTACH_PID_COMM;
	}
	if (mask & KDBUS_ATTACH_TID_COMM) {
		out->tid_comm = dup_str(kp.ki_tdname[0] ? kp.ki_tdname : kp.ki_comm);
		if (out->tid_comm)
			out->mask |= KDBUS_ATTACH_TID_COMM;
	}
	return 0;
}

#else

int kd_os_proc_meta(pid_t pid, pid_t tid, uint64_t mask, struct kd_meta *out)
{
	/* Nothing portable to read: the caller still has the socket credentials. */
	(void)mask;
	(void)out;
	if (pid <= 0 || tid < 0)
		return -EINVAL;
	return 0;
}

#endif
