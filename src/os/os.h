/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The portability seam. Everything Linux-specific that the broker and the
 * socket backend need is behind these calls; each has a POSIX/FreeBSD path
 * (selected by KD_OS_POSIX or by the platform). Returns: 0 / fd / count, or
 * a negative errno.
 */
#ifndef KD_OS_OS_H
#define KD_OS_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct kd_meta;

/* ---- anonymous shared memory (memfd.c) ---- */

/* A sealable anonymous shared memory file of size bytes, O_CLOEXEC. */
int kd_os_shm_new(const char *name, uint64_t size);
/*
 * Seal a pool: its size can no longer change and no new writable mapping
 * can be made (mappings made before stay writable). Linux: SHRINK|GROW|
 * FUTURE_WRITE. POSIX: best effort (Capsicum rights on FreeBSD).
 */
int kd_os_pool_seal(int fd);
/*
 * Seal a shared page both sides keep writing (the control page): its size
 * can no longer change, so a peer cannot make our mapping fault.
 */
int kd_os_shm_seal_size(int fd);
/* A second fd for the same pool that can only be read and mapped read-only. */
int kd_os_pool_ro_fd(int fd);
/*
 * Check a PAYLOAD_MEMFD fd as kdbus does: not a memfd/shm → -EMEDIUMTYPE,
 * missing SHRINK|GROW|WRITE|SEAL seal → -ETXTBSY, start+size beyond the
 * file → -EFAULT, bad fd → -EBADF.
 */
int kd_os_memfd_check(int fd, uint64_t start, uint64_t size);
/* Create a memfd of size bytes holding data, sealed as kdbus requires. */
int kd_os_memfd_sealed(const char *name, const void *data, uint64_t size);

/* ---- peers (peercred.c) ---- */

/* Credentials of the peer of a connected UNIX socket, from the kernel. */
int kd_os_peercred(int fd, pid_t *pid, uid_t *uid, gid_t *gid);
/*
 * Whether fd may travel in KDBUS_ITEM_FDS: -EBADF if not open, -EOPNOTSUPP
 * for UNIX sockets (reference cycles), 0 otherwise (O_PATH fds are fine).
 */
int kd_os_fd_passable(int fd);
/* Whether fd can be polled (CANCEL_FD rule): 0, -EBADF or -EINVAL. */
int kd_os_fd_pollable(int fd);

/* ---- packets with fds (sock.c) ---- */

struct iovec;
#define KD_OS_MAX_FDS 64
/* sendmsg() with fds as SCM_RIGHTS; EINTR retried; 0 or -errno. */
int kd_os_send_fds(int fd, const struct iovec *iov, int n_iov, const int *fds, unsigned int n_fds,
		   int flags);
/*
 * recvmsg() taking up to max_fds fds (close-on-exec, sender's order; any
 * beyond are closed). Returns the byte count (0 = EOF) or -errno; msg_flags
 * carries MSG_TRUNC / MSG_CTRUNC.
 */
ssize_t kd_os_recv_fds(int fd, struct iovec *iov, int n_iov, int *fds, unsigned int max_fds,
		       unsigned int *n_fds, int flags, int *msg_flags);

/* ---- event loop (poller.c): epoll on Linux, kqueue on BSD, poll() fallback ---- */

struct kd_poller;
struct kd_poll_event {
	void *data;
	uint32_t events; /* KD_POLL_* */
};
#define KD_POLL_IN 0x1u
#define KD_POLL_OUT 0x2u
#define KD_POLL_HUP 0x4u
#define KD_POLL_ERR 0x8u

int kd_poller_new(struct kd_poller **out);
struct kd_poller *kd_poller_free(struct kd_poller *p);
int kd_poller_add(struct kd_poller *p, int fd, uint32_t events, void *data);
int kd_poller_mod(struct kd_poller *p, int fd, uint32_t events, void *data);
int kd_poller_del(struct kd_poller *p, int fd);
/* Wait up to timeout_ms (-1 forever); returns the number of events. */
int kd_poller_wait(struct kd_poller *p, struct kd_poll_event *ev, int n, int timeout_ms);

/* ---- process metadata (proc.c) ---- */

/*
 * Collect the metadata of process pid (thread tid, 0 = pid) that mask asks
 * for, from the kernel (/proc on Linux, sysctl/procstat on FreeBSD). What
 * cannot be collected is left out of out->mask. Returns 0 or -errno.
 */
int kd_os_proc_meta(pid_t pid, pid_t tid, uint64_t mask, struct kd_meta *out);

/* Monotonic and real time in ns. */
uint64_t kd_os_now_mono(void);
uint64_t kd_os_now_real(void);

#endif
