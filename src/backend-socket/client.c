/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, dup3, asprintf, memfd and SCM ancillary data */
#endif
/*
 * The socket backend, client side: the library half of the broker protocol
 * (see proto.h and docs/broker-protocol.md). Commands become requests on the
 * command socket; RECV and FREE are served locally from the queue socket and
 * the control page, which is what keeps a round trip down to the two
 * wake-ups a broker needs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend-socket/proto.h"
#include "core/compat.h"
#include "core/item.h"
#include "core/limits.h"
#include "lib/backend.h"
#include "os/os.h"

#ifndef KDBUS_BROKER_PATH
#define KDBUS_BROKER_PATH "/usr/libexec/kdbus-broker"
#endif

#define KS_MAX_IOV 512
#define KS_RX_SIZE (sizeof(struct kd_proto_hdr) + sizeof(struct kd_proto_resp) + KDBUS_CMD_MAX_SIZE + 64)

enum ks_state { KS_CONTROL, KS_BUS_OWNER, KS_ENDPOINT, KS_CONN, KS_EP_OWNER, KS_DEAD };

/* A set of u64 (published slice offsets; seqs to skip): open addressing. */
struct ks_set {
	uint64_t *v; /* 0 = empty, 1 = deleted; values are stored + 2 */
	size_t cap, n, used;
};

struct ks_waiter {
	struct ks_waiter *next;
	uint64_t serial;
	bool done;
	int error;
	struct kd_proto_resp resp;
	void *cmd;          /* where to write the command copy back */
	uint64_t cmd_cap;
	int fds[KD_PROTO_MAX_FDS];
	unsigned int n_fds;
};

struct ks {
	enum ks_state state;
	char *root;
	int cfd;
	int qfd; /* the user's fd */
	int life_fd; /* bus owner: EOF when the broker is gone */
	pthread_mutex_t lock; /* send order, waiter list, sets */
	pthread_cond_t cond;
	pthread_mutex_t rlock; /* one RECV at a time */
	uint64_t serial;
	bool reading;
	int broken;
	struct ks_waiter *waiters;
	uint8_t *rx;
	/* connection */
	uint64_t id, hello_flags, pool_size;
	int pool_fd;
	struct kd_proto_ctl *ctl;
	uint64_t free_head;
	struct ks_set published; /* offsets the broker has published to us */
	struct ks_set peeked;    /* offsets only PEEK showed us: the broker still holds them */
	struct ks_set skip;
};

/* ---- small set ---- */

static int set_grow(struct ks_set *s)
{
	size_t cap = s->cap ? s->cap * 2 : 64, i, j;
	uint64_t *v = calloc(cap, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (i = 0; i < s->cap; i++) {
		if (s->v[i] < 2)
			continue;
		for (j = (s->v[i] * 0x9e3779b97f4a7c15ull) & (cap - 1); v[j]; j = (j + 1) & (cap - 1))
			;
		v[j] = s->v[i];
	}
	free(s->v);
	s->v = v;
	s->cap = cap;
	s->used = s->n;
	return 0;
}

static int set_add(struct ks_set *s, uint64_t x)
{
	size_t i;

	x += 2;
	if ((s->used + 1) * 2 > s->cap && set_grow(s) < 0)
		return -ENOMEM;
	for (i = (x * 0x9e3779b97f4a7c15ull) & (s->cap - 1); s->v[i] >= 2; i = (i + 1) & (s->cap - 1))
		if (s->v[i] == x)
			return 0;
	if (s->v[i] == 0)
		s->used++;
	s->v[i] = x;
	s->n++;
	return 0;
}

static bool set_del(struct ks_set *s, uint64_t x)
{
	size_t i;

	if (!s->cap)
		return false;
	x += 2;
	for (i = (x * 0x9e3779b97f4a7c15ull) & (s->cap - 1); s->v[i]; i = (i + 1) & (s->cap - 1)) {
		if (s->v[i] == x) {
			s->v[i] = 1;
			s->n--;
			return true;
		}
	}
	return false;
}

static void close_fds(int *fds, unsigned int n)
{
	while (n--)
		if (fds[n] >= 0)
			close(fds[n]);
}

/* ---- roots ---- */

void kd_socket_default_root(char *buf, size_t size)
{
	const char *x = getenv("XDG_RUNTIME_DIR");

	if (x && *x)
		snprintf(buf, size, "%s/kdbus", x);
	else if (geteuid() == 0)
		snprintf(buf, size, "/run/kdbus");
	else
		snprintf(buf, size, "/tmp/kdbus-%u", (unsigned int)geteuid());
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	char *p;

	if (strlen(path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	strcpy(tmp, path);
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* ---- packets ---- */

static int sendv(int fd, struct iovec *iov, int n, const int *fds, unsigned int n_fds)
{
	int r = kd_os_send_fds(fd, iov, n, fds, n_fds, 0);

	/* The broker's end is gone: to the caller that is a reset connection. */
	return r == -EPIPE || r == -ECONNREFUSED ? -ECONNRESET : r;
}

/* ---- request / response ---- */

static void wake_all(struct ks *s, int err)
{
	struct ks_waiter *w;

	for (w = s->waiters; w; w = w->next) {
		if (!w->done) {
			w->done = true;
			w->error = err;
		}
	}
	pthread_cond_broadcast(&s->cond);
}

/* Read one response and hand it to its waiter. Called unlocked by the reader. */
static int read_response(struct ks *s)
{
	struct iovec iov = { s->rx, KS_RX_SIZE };
	struct kd_proto_hdr *h = (struct kd_proto_hdr *)s->rx;
	struct kd_proto_resp *resp = (struct kd_proto_resp *)(h + 1);
	int fds[KD_PROTO_MAX_FDS], mflags;
	unsigned int n_fds;
	struct ks_waiter *w;
	ssize_t n;

	n = kd_os_recv_fds(s->cfd, &iov, 1, fds, KD_PROTO_MAX_FDS, &n_fds, 0, &mflags);
	if (n <= 0)
		return -ECONNRESET;
	pthread_mutex_lock(&s->lock);
	if ((size_t)n < sizeof(*h) + sizeof(*resp) || h->type != KD_PROTO_RESP ||
	    resp->cmd_size > (uint64_t)n - sizeof(*h) - sizeof(*resp)) {
		pthread_mutex_unlock(&s->lock);
		close_fds(fds, n_fds);
		return -EPROTO;
	}
	for (w = s->waiters; w; w = w->next)
		if (w->serial == h->serial && !w->done)
			break;
	if (!w) {
		/* Nobody waits (an abandoned call): do not leak what it carried. */
		pthread_mutex_unlock(&s->lock);
		close_fds(fds, n_fds);
		return 0;
	}
	w->error = (int)h->error;
	w->resp = *resp;
	if (w->cmd && resp->cmd_size && resp->cmd_size <= w->cmd_cap)
		memcpy(w->cmd, resp + 1, resp->cmd_size);
	memcpy(w->fds, fds, n_fds * sizeof(int));
	w->n_fds = n_fds;
	w->done = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* Wait for w (registered, request sent); called with s->lock held. */
static void wait_locked(struct ks *s, struct ks_waiter *w)
{
	struct ks_waiter **pp;
	int r;

	while (!w->done) {
		if (s->broken) {
			w->done = true;
			w->error = s->broken;
			break;
		}
		if (s->reading) {
			pthread_cond_wait(&s->cond, &s->lock);
			continue;
		}
		s->reading = true;
		pthread_mutex_unlock(&s->lock);
		r = read_response(s);
		pthread_mutex_lock(&s->lock);
		s->reading = false;
		if (r < 0) {
			s->broken = -ECONNRESET;
			wake_all(s, -ECONNRESET);
		}
		pthread_cond_broadcast(&s->cond);
	}
	for (pp = &s->waiters; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
}

/*
 * Send a request made of iov (after our header) and wait for its response.
 * Bodies larger than one packet go out in fragments.
 */
static int request(struct ks *s, uint32_t type, uint64_t arg, struct iovec *body, int n_body,
		   const int *fds, unsigned int n_fds, struct ks_waiter *w)
{
	struct kd_proto_hdr hdr = { .type = type, .arg = arg, .n_fds = n_fds };
	struct iovec iov[KS_MAX_IOV + 1];
	uint64_t total = 0, room;
	int i, k, cur = 0, r = 0;
	size_t cur_off = 0;
	bool first = true;

	for (i = 0; i < n_body; i++)
		total += body[i].iov_len;
	pthread_mutex_lock(&s->lock);
	if (s->broken) {
		pthread_mutex_unlock(&s->lock);
		return s->broken;
	}
	hdr.serial = ++s->serial;
	hdr.total = total;
	w->serial = hdr.serial;
	w->done = false;
	w->next = s->waiters;
	s->waiters = w;

	/* Emit packets of at most KD_PROTO_MAX_PACKET bytes and KS_MAX_IOV vectors. */
	do {
		room = KD_PROTO_MAX_PACKET - sizeof(hdr);
		iov[0].iov_base = &hdr;
		iov[0].iov_len = sizeof(hdr);
		k = 1;
		while (cur < n_body && room && k <= KS_MAX_IOV) {
			size_t len = body[cur].iov_len - cur_off;

			if (len > room)
				len = room;
			iov[k].iov_base = (uint8_t *)body[cur].iov_base + cur_off;
			iov[k].iov_len = len;
			k++;
			room -= len;
			cur_off += len;
			if (cur_off == body[cur].iov_len) {
				cur++;
				cur_off = 0;
			}
		}
		while (cur < n_body && body[cur].iov_len == 0)
			cur++;
		hdr.flags = cur < n_body ? KD_PROTO_F_MORE : 0;
		if (!first) {
			hdr.type = KD_PROTO_REQ_CONT;
			hdr.n_fds = 0;
		}
		r = sendv(s->cfd, iov, k, first ? fds : NULL, first ? n_fds : 0);
		if (r < 0 && !first) {
			/* Tell the broker to drop the half-sent request; it answers with r. */
			struct kd_proto_hdr ab = hdr;

			ab.type = KD_PROTO_REQ_CONT;
			ab.n_fds = 0;
			ab.flags = 0;
			ab.error = r;
			iov[0].iov_base = &ab;
			iov[0].iov_len = sizeof(ab);
			if (sendv(s->cfd, iov, 1, NULL, 0) < 0)
				break;
			r = 0;
			goto wait;
		}
		if (r < 0)
			break;
		first = false;
	} while (cur < n_body);

	if (r < 0) {
		struct ks_waiter **pp;

		for (pp = &s->waiters; *pp; pp = &(*pp)->next) {
			if (*pp == w) {
				*pp = w->next;
				break;
			}
		}
		if (r == -ECONNRESET)
			s->broken = r;
		pthread_mutex_unlock(&s->lock);
		return r;
	}
wait:
	wait_locked(s, w);
	pthread_mutex_unlock(&s->lock);
	return w->error;
}

/* A plain command: send size bytes of cmd, write the broker's copy back. */
static int simple_cmd(struct ks *s, enum kd_cmd kind, void *cmd, uint64_t size, struct ks_waiter *w)
{
	struct iovec iov = { cmd, size };

	w->cmd = cmd;
	w->cmd_cap = size;
	return request(s, KD_PROTO_REQ, kind, &iov, 1, NULL, 0, w);
}

/* ---- control page ---- */

static void publish(struct ks *s, uint64_t off)
{
	pthread_mutex_lock(&s->lock);
	(void)set_del(&s->peeked, off);
	(void)set_add(&s->published, off);
	pthread_mutex_unlock(&s->lock);
}

static void publish_peek(struct ks *s, uint64_t off)
{
	pthread_mutex_lock(&s->lock);
	(void)set_add(&s->peeked, off);
	pthread_mutex_unlock(&s->lock);
}

static void consumed(struct ks *s, uint64_t seq)
{
	__atomic_store_n(&s->ctl->consumed, seq, __ATOMIC_RELEASE);
}

static int free_slice(struct ks *s, uint64_t off)
{
	struct ks_waiter w = { 0 };
	uint64_t tail;
	bool known;
	int r;

	if (off == s->pool_size)
		return 0;
	pthread_mutex_lock(&s->lock);
	/* A peeked slice is still queued: only our own reference goes. */
	if (set_del(&s->peeked, off)) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	known = set_del(&s->published, off);
	pthread_mutex_unlock(&s->lock);
	if (!known)
		return -ENXIO;
	for (;;) {
		pthread_mutex_lock(&s->lock);
		tail = __atomic_load_n(&s->ctl->free_tail, __ATOMIC_ACQUIRE);
		if (s->free_head - tail < KD_PROTO_FREE_RING) {
			s->ctl->free_ring[s->free_head % KD_PROTO_FREE_RING] = off;
			__atomic_store_n(&s->ctl->free_head, ++s->free_head, __ATOMIC_RELEASE);
			pthread_mutex_unlock(&s->lock);
			return 0;
		}
		pthread_mutex_unlock(&s->lock);
		/* Ring full: have the broker drain it now. */
		r = request(s, KD_PROTO_FREE, 0, NULL, 0, NULL, 0, &w);
		if (r < 0)
			return r;
	}
}

/* ---- RECV ---- */

static int fixup(struct ks *s, uint64_t off, int *fds, unsigned int n)
{
	struct ks_waiter w = { 0 };
	struct iovec iov = { fds, n * sizeof(int) };

	return request(s, KD_PROTO_FIXUP, off, &iov, 1, NULL, 0, &w);
}

static int recv_notice(struct ks *s, struct kd_proto_notice *n, int *fds, unsigned int *n_fds,
		       bool *trunc, int flags)
{
	struct iovec iov = { n, sizeof(*n) };
	int mflags;
	ssize_t r;

	r = kd_os_recv_fds(s->qfd, &iov, 1, fds, KD_PROTO_MAX_FDS, n_fds, flags | MSG_DONTWAIT,
			   &mflags);
	if (r < 0)
		return r == -EAGAIN ? -EAGAIN : -ECONNRESET;
	if (r == 0)
		return -ECONNRESET;
	*trunc = mflags & MSG_CTRUNC;
	if ((size_t)r != sizeof(*n) || (mflags & MSG_TRUNC)) {
		close_fds(fds, *n_fds);
		return -EPROTO;
	}
	return 0;
}

/* Install received fds into the slice; missing ones read -1. */
static uint64_t install(struct ks *s, const struct kd_proto_notice *n, uint64_t off, int *fds,
			unsigned int got, bool trunc)
{
	int all[KD_PROTO_MAX_FDS];
	unsigned int i, want = n->n_fds;
	uint64_t rf = 0;

	if (want > KD_PROTO_MAX_FDS)
		want = KD_PROTO_MAX_FDS;
	for (i = 0; i < want; i++)
		all[i] = i < got ? fds[i] : -1;
	if (got < want || trunc)
		rf |= KDBUS_RECV_RETURN_INCOMPLETE_FDS;
	if (fixup(s, off, all, want) < 0) {
		close_fds(fds, got);
		rf |= KDBUS_RECV_RETURN_INCOMPLETE_FDS;
	}
	return rf;
}

/*
 * A WAKE notice stands for a message the broker keeps movable between an
 * activator and its implementer (docs/broker-protocol.md, "Activators").
 */
/* A message the broker handed over in a response: install its fds, publish it. */
static void served_done(struct ks *s, struct kdbus_cmd_recv *user, uint64_t off,
			struct ks_waiter *w)
{
	if (w->resp.fixup)
		user->msg.return_flags |= install(s, &(struct kd_proto_notice){ .n_fds = w->n_fds },
						  off, w->fds, w->n_fds, false);
	else
		close_fds(w->fds, w->n_fds);
	publish(s, off);
}

static int fetch_held(struct ks *s, uint64_t seq, const struct kdbus_cmd_recv *cmd,
		      struct kdbus_cmd_recv *user, bool peek)
{
	struct kdbus_cmd_recv c = *cmd;
	struct iovec iov = { &c, sizeof(c) };
	struct ks_waiter w = { 0 };
	int r;

	if (!peek)
		consumed(s, seq);
	w.cmd = &c;
	w.cmd_cap = sizeof(c);
	r = request(s, KD_PROTO_FETCH, seq, &iov, 1, NULL, 0, &w);
	if (r < 0) {
		close_fds(w.fds, w.n_fds);
		return r;
	}
	user->msg = c.msg;
	if (peek) {
		close_fds(w.fds, w.n_fds);
		publish_peek(s, c.msg.offset);
		return 0;
	}
	served_done(s, user, c.msg.offset, &w);
	return 0;
}

static int do_recv(struct ks *s, struct kdbus_cmd_recv *user)
{
	struct kdbus_cmd_recv cmd;
	struct kd_items it;
	struct kd_proto_notice n;
	int fds[KD_PROTO_MAX_FDS];
	unsigned int n_fds;
	uint64_t dropped = 0, size;
	bool trunc, peek, drop;
	int r;

	size = user->size;
	if (size < sizeof(cmd))
		return -EINVAL;
	if (size > KDBUS_CMD_MAX_SIZE)
		return -EMSGSIZE;
	if (size != sizeof(cmd)) {
		/* Items: validate a copy (only NEGOTIATE can be acceptable). */
		uint8_t *buf = malloc(size);

		if (!buf)
			return -ENOMEM;
		memcpy(buf, user, size);
		r = kd_cmd_validate(KD_CMD_RECV, buf, size, false, &it);
		if (r >= 0)
			memcpy(user, buf, size);
		free(buf);
		if (r != 0)
			return r < 0 ? r : 0;
	} else {
		memcpy(&cmd, user, sizeof(cmd));
		r = kd_cmd_validate(KD_CMD_RECV, &cmd, size, false, &it);
		if (r == 1) {
			user->flags = cmd.flags;
			return 0;
		}
		if (r < 0)
			return r;
	}
	memcpy(&cmd, user, sizeof(cmd));
	if ((cmd.flags & KDBUS_RECV_DROP) && (cmd.flags & KDBUS_RECV_USE_PRIORITY))
		return -EINVAL;
	user->return_flags = 0;
	user->dropped_msgs = 0;
	user->msg.offset = s->pool_size;
	user->msg.msg_size = 0;
	user->msg.return_flags = 0;

	if (cmd.flags & KDBUS_RECV_USE_PRIORITY) {
		struct ks_waiter w = { 0 };

		r = simple_cmd(s, KD_CMD_RECV, &cmd, sizeof(cmd), &w);
		if (r < 0)
			return r;
		pthread_mutex_lock(&s->lock);
		if (w.resp.seq)
			(void)set_add(&s->skip, w.resp.seq);
		pthread_mutex_unlock(&s->lock);
		user->msg = cmd.msg;
		served_done(s, user, cmd.msg.offset, &w);
		return 0;
	}

	peek = cmd.flags & KDBUS_RECV_PEEK;
	drop = cmd.flags & KDBUS_RECV_DROP;
	pthread_mutex_lock(&s->rlock);
	for (;;) {
		bool skip;

		r = recv_notice(s, &n, fds, &n_fds, &trunc, peek ? MSG_PEEK : 0);
		if (r < 0)
			break;
		pthread_mutex_lock(&s->lock);
		skip = set_del(&s->skip, n.seq);
		pthread_mutex_unlock(&s->lock);
		if (n.type == KD_PROTO_NOTICE_LOST || skip) {
			/* Not a message for this call: take it off the socket for real. */
			close_fds(fds, n_fds);
			if (peek) {
				r = recv_notice(s, &n, fds, &n_fds, &trunc, 0);
				if (r < 0)
					break;
				close_fds(fds, n_fds);
			}
			consumed(s, n.seq);
			if (n.type == KD_PROTO_NOTICE_LOST)
				dropped += __atomic_exchange_n(&s->ctl->lost, 0, __ATOMIC_ACQ_REL);
			continue;
		}
		if (n.type == KD_PROTO_NOTICE_WAKE && !drop) {
			/* The broker still holds this one (activation): fetch it. */
			close_fds(fds, n_fds);
			r = fetch_held(s, n.seq, &cmd, user, peek);
			if (r == -ESTALE) {
				/* Moved to another owner of its name meanwhile. */
				if (peek) {
					r = recv_notice(s, &n, fds, &n_fds, &trunc, 0);
					if (r < 0)
						break;
					close_fds(fds, n_fds);
				}
				consumed(s, n.seq);
				continue;
			}
			break;
		}
		if (peek) {
			/* Documented kdbus semantics: PEEK installs no fds. */
			close_fds(fds, n_fds);
			publish_peek(s, n.offset);
			user->msg.offset = n.offset;
			user->msg.msg_size = n.size;
			break;
		}
		if (drop) {
			struct ks_waiter w = { 0 };

			close_fds(fds, n_fds);
			r = request(s, KD_PROTO_DROP, n.seq, NULL, 0, NULL, 0, &w);
			consumed(s, n.seq);
			break;
		}
		consumed(s, n.seq);
		if (n.fixup)
			user->msg.return_flags = install(s, &n, n.offset, fds, n_fds, trunc);
		else
			close_fds(fds, n_fds);
		publish(s, n.offset);
		user->msg.offset = n.offset;
		user->msg.msg_size = n.size;
		break;
	}
	/* kdbus reports (and resets) the lost count with every RECV that succeeds or finds nothing. */
	if (r == 0 || r == -EAGAIN)
		dropped += __atomic_exchange_n(&s->ctl->lost, 0, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&s->rlock);
	if (dropped) {
		user->dropped_msgs = dropped;
		user->return_flags |= KDBUS_RECV_RETURN_DROPPED_MSGS;
	}
	if (r == -ECONNRESET) {
		pthread_mutex_lock(&s->lock);
		s->broken = -ECONNRESET;
		pthread_mutex_unlock(&s->lock);
	}
	return r;
}

/* ---- SEND ---- */

static bool fd_open(int fd)
{
	return fd >= 0 && fcntl(fd, F_GETFD) >= 0;
}

static int do_send(struct ks *s, struct kdbus_cmd_send *user)
{
	uint64_t csize, msize, pad = 0;
	struct iovec iov[2 + 4 + KDBUS_CMD_MAX_SIZE / 32];
	struct kd_proto_send ps = { 0 };
	struct ks_waiter w = { 0 };
	struct kd_items cit, mit;
	struct kdbus_cmd_send back;
	struct kdbus_msg *umsg;
	const struct kdbus_item *it;
	int fds[KD_PROTO_MAX_FDS];
	unsigned int n_fds = 0, slot = 0;
	uint8_t *cbuf = NULL, *mbuf = NULL;
	int n_iov = 0, r;

	csize = user->size;
	if (csize < sizeof(*user))
		return -EINVAL;
	if (csize > KDBUS_CMD_MAX_SIZE)
		return -EMSGSIZE;
	cbuf = malloc(KD_ALIGN8(csize));
	if (!cbuf)
		return -ENOMEM;
	memcpy(cbuf, user, csize);
	r = kd_cmd_validate(KD_CMD_SEND, cbuf, csize, false, &cit);
	if (r == 1) {
		/* Negotiation: the command's flags, and the message's if given. */
		user->flags = ((struct kdbus_cmd_send *)cbuf)->flags;
		if (cit.negotiate)
			memcpy(user, cbuf, csize);
		umsg = (struct kdbus_msg *)(uintptr_t)user->msg_address;
		if (umsg && !((uintptr_t)umsg & 7))
			umsg->flags = kd_cmd_flags(KD_CMD_MSG);
		r = 0;
		goto out;
	}
	if (r < 0)
		goto out;
	umsg = (struct kdbus_msg *)(uintptr_t)((struct kdbus_cmd_send *)cbuf)->msg_address;
	if (!umsg || ((uintptr_t)umsg & 7)) {
		r = -EFAULT;
		goto out;
	}
	msize = umsg->size;
	if (msize < sizeof(*umsg)) {
		r = -EINVAL;
		goto out;
	}
	if (msize > KDBUS_CMD_MAX_SIZE) {
		r = -EMSGSIZE;
		goto out;
	}
	mbuf = malloc(KD_ALIGN8(msize));
	if (!mbuf) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(mbuf, umsg, msize);
	r = kd_cmd_validate(KD_CMD_MSG, mbuf, msize, false, &mit);
	if (r < 0)
		goto out;

	/* fd slots: CANCEL_FD, memfds, FDS; only open fds travel. */
	if (cit.cancel_fd) {
		if (fd_open(cit.cancel_fd->data32[0])) {
			fds[n_fds++] = cit.cancel_fd->data32[0];
			ps.fd_valid |= 1ull << slot;
		}
		slot++;
	}
	iov[n_iov++] = (struct iovec){ &ps, sizeof(ps) };
	iov[n_iov++] = (struct iovec){ cbuf, KD_ALIGN8(csize) };
	iov[n_iov++] = (struct iovec){ mbuf, KD_ALIGN8(msize) };
	memset(cbuf + csize, 0, KD_ALIGN8(csize) - csize);
	memset(mbuf + msize, 0, KD_ALIGN8(msize) - msize);
	KD_ITEMS_FOREACH(it, ((struct kdbus_msg *)mbuf)->items, msize - sizeof(*umsg)) {
		if (it->type == KDBUS_ITEM_PAYLOAD_MEMFD && slot < KD_PROTO_MAX_FDS) {
			if (fd_open(it->memfd.fd)) {
				fds[n_fds++] = it->memfd.fd;
				ps.fd_valid |= 1ull << slot;
			}
			slot++;
		} else if (it->type == KDBUS_ITEM_PAYLOAD_VEC && it->vec.address) {
			iov[n_iov++] = (struct iovec){ (void *)(uintptr_t)it->vec.address, it->vec.size };
			ps.data_size += it->vec.size;
		}
	}
	if (mit.fds) {
		unsigned int k;

		for (k = 0; k < mit.n_fds && slot < KD_PROTO_MAX_FDS; k++, slot++) {
			if (fd_open(mit.fds->fds[k])) {
				fds[n_fds++] = mit.fds->fds[k];
				ps.fd_valid |= 1ull << slot;
			}
		}
	}
	if (slot > KD_PROTO_MAX_FDS || ps.data_size > KDBUS_MSG_MAX_PAYLOAD_VEC_SIZE + pad) {
		/* Over kdbus's own limits: let the broker say which errno. */
		ps.data_size = 0;
		n_iov = 3;
		n_fds = 0;
		ps.fd_valid = 0;
		r = -EMSGSIZE;
		if (slot > KD_PROTO_MAX_FDS)
			r = mit.n_memfds > KDBUS_MSG_MAX_MEMFD_ITEMS ? -E2BIG : -EMFILE;
		goto out;
	}
	ps.cmd_size = csize;
	ps.msg_size = msize;
	w.cmd = &back;
	w.cmd_cap = sizeof(back);
	memset(&back, 0, sizeof(back));
	r = request(s, KD_PROTO_REQ, KD_CMD_SEND, iov, n_iov, fds, n_fds, &w);
	if (r < 0)
		goto out;
	user->return_flags = 0;
	user->reply = back.reply;
	if (w.resp.offset != ~0ull) {
		if (w.resp.fixup)
			user->reply.return_flags |= install(s, &(struct kd_proto_notice){ .n_fds = w.n_fds },
							    w.resp.offset, w.fds, w.n_fds, false);
		else
			close_fds(w.fds, w.n_fds);
		publish(s, w.resp.offset);
	} else {
		close_fds(w.fds, w.n_fds);
	}
out:
	free(cbuf);
	free(mbuf);
	return r;
}

/* ---- BUS_MAKE: start a broker ---- */

static int spawn_broker(struct ks *s, int sock, int life)
{
	const char *path = getenv("KDBUS_BROKER");
	char fdarg[16];
	pid_t pid;
	int st;

	if (!path || !*path)
		path = KDBUS_BROKER_PATH;
	if (access(path, X_OK) < 0)
		return -errno;
	snprintf(fdarg, sizeof(fdarg), "3");
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* Double fork: the broker is nobody's child to reap. */
		sigset_t none;

		if (fork() != 0)
			_exit(0);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();
		/* fd 3: the bus socket; fd 4: held until exit so the creator can wait for us. */
		if (dup2(sock, 10) < 0 || dup2(life, 11) < 0 || dup2(10, 3) < 0 || dup2(11, 4) < 0)
			_exit(127);
		/* Nothing of the creator's but these may live on in the bus. */
		closefrom(5);
		execl(path, "kdbus-broker", "--creator-fd", fdarg, "--root", s->root, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return 0;
}

static int bus_make(struct ks *s, struct kd_handle *h, struct kdbus_cmd *user)
{
	struct ks_waiter w = { 0 };
	struct kd_items it;
	uint64_t size = user->size;
	uint8_t *buf;
	int sp[2], life[2], r, saved_cfd, fl;

	if (size < sizeof(*user))
		return -EINVAL;
	if (size > KDBUS_CMD_MAX_SIZE)
		return -EMSGSIZE;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, user, size);
	/* Fail what we can here, before starting a process. */
	r = kd_cmd_validate(KD_CMD_BUS_MAKE, buf, size, false, &it);
	if (r == 1) {
		memcpy(user, buf, size);
		free(buf);
		return 0;
	}
	free(buf);
	if (r < 0)
		return r;
	r = mkdir_p(s->root, 0755);
	if (r < 0)
		return r;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return -errno;
	if (pipe2(life, O_CLOEXEC) < 0) {
		r = -errno;
		close(sp[0]);
		close(sp[1]);
		return r;
	}
	r = spawn_broker(s, sp[1], life[1]);
	close(sp[1]);
	close(life[1]);
	if (r < 0) {
		close(sp[0]);
		close(life[0]);
		return r;
	}
	saved_cfd = s->cfd;
	s->cfd = sp[0];
	r = simple_cmd(s, KD_CMD_BUS_MAKE, user, size, &w);
	s->cfd = saved_cfd;
	s->broken = 0;
	if (r == -ECONNRESET)
		r = -EIO; /* the broker could not start */
	if (r < 0) {
		close(sp[0]);
		close(life[0]);
		return r;
	}
	/* The user's fd becomes the broker's lifeline: closing it ends the bus. */
	fl = fcntl(h->fd, F_GETFD);
	r = dup3(sp[0], h->fd, fl >= 0 && (fl & FD_CLOEXEC) ? O_CLOEXEC : 0);
	close(sp[0]);
	if (r < 0) {
		close(life[0]);
		return -errno;
	}
	s->life_fd = life[0];
	s->state = KS_BUS_OWNER;
	return 0;
}

/* ---- HELLO ---- */

static int hello(struct ks *s, struct kdbus_cmd_hello *user)
{
	struct ks_waiter w = { 0 };
	uint64_t size = user->size;
	bool negotiate = user->flags & KDBUS_FLAG_NEGOTIATE;
	void *ctl;
	int r;

	if (size < sizeof(*user))
		return -EINVAL;
	if (size > KDBUS_CMD_MAX_SIZE)
		return -EMSGSIZE;
	r = simple_cmd(s, KD_CMD_HELLO, user, size, &w);
	if (r < 0 || negotiate) {
		close_fds(w.fds, w.n_fds);
		return r;
	}
	if (w.n_fds != 2) {
		close_fds(w.fds, w.n_fds);
		return -EPROTO;
	}
	ctl = mmap(NULL, KD_PROTO_CTL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, w.fds[1], 0);
	close(w.fds[1]);
	if (ctl == MAP_FAILED) {
		close(w.fds[0]);
		return -ENOMEM;
	}
	s->ctl = ctl;
	s->pool_fd = w.fds[0];
	s->pool_size = user->pool_size;
	s->id = user->id;
	s->hello_flags = user->flags;
	s->free_head = __atomic_load_n(&s->ctl->free_head, __ATOMIC_ACQUIRE);
	publish(s, user->offset);
	s->state = KS_CONN;
	return 0;
}

/* ---- dispatch ---- */

static int sock_ioctl(struct kd_handle *h, unsigned long nr, void *arg)
{
	struct ks *s = h->priv;
	struct ks_waiter w = { 0 };
	int kind = kd_cmd_from_ioctl(nr), r;
	bool negotiate;
	uint64_t size;

	if (kind < 0)
		return kind;
	switch (s->state) {
	case KS_CONTROL:
		if (kind != KD_CMD_BUS_MAKE)
			return -EBADFD;
		break;
	case KS_BUS_OWNER:
		return -EBADFD;
	case KS_ENDPOINT:
		if (kind != KD_CMD_HELLO && kind != KD_CMD_ENDPOINT_MAKE)
			return -EBADFD;
		break;
	case KS_EP_OWNER:
		if (kind != KD_CMD_ENDPOINT_UPDATE)
			return -EBADFD;
		break;
	case KS_CONN:
		if (kind == KD_CMD_BUS_MAKE || kind == KD_CMD_HELLO || kind == KD_CMD_ENDPOINT_MAKE ||
		    kind == KD_CMD_ENDPOINT_UPDATE)
			return -EBADFD;
		if (s->broken)
			return -ECONNRESET;
		break;
	case KS_DEAD:
		return -ECONNRESET;
	}
	if (!arg || ((uintptr_t)arg & 7))
		return -EFAULT;

	switch (kind) {
	case KD_CMD_BUS_MAKE:
		return bus_make(s, h, arg);
	case KD_CMD_HELLO:
		return hello(s, arg);
	case KD_CMD_SEND:
		return do_send(s, arg);
	case KD_CMD_RECV:
		if (s->hello_flags & KDBUS_HELLO_POLICY_HOLDER)
			return -EOPNOTSUPP;
		return do_recv(s, arg);
	case KD_CMD_FREE: {
		struct kdbus_cmd_free f;
		struct kd_items it;

		if (s->hello_flags & KDBUS_HELLO_POLICY_HOLDER)
			return -EOPNOTSUPP;
		size = ((struct kdbus_cmd_free *)arg)->size;
		if (size != sizeof(f)) {
			if (size < sizeof(f))
				return -EINVAL;
			return simple_cmd(s, KD_CMD_FREE, arg, KD_MIN(size, (uint64_t)KDBUS_CMD_MAX_SIZE + 1), &w);
		}
		memcpy(&f, arg, sizeof(f));
		r = kd_cmd_validate(KD_CMD_FREE, &f, sizeof(f), false, &it);
		if (r == 1) {
			((struct kdbus_cmd_free *)arg)->flags = f.flags;
			return 0;
		}
		if (r < 0)
			return r;
		((struct kdbus_cmd_free *)arg)->return_flags = 0;
		return free_slice(s, f.offset);
	}
	default:
		break;
	}
	size = *(uint64_t *)arg;
	if (size < kd_cmd_fixed_size(kind))
		return -EINVAL;
	if (size > KDBUS_CMD_MAX_SIZE)
		return -EMSGSIZE;
	negotiate = ((struct kdbus_cmd *)arg)->flags & KDBUS_FLAG_NEGOTIATE;
	r = simple_cmd(s, kind, arg, size, &w);
	close_fds(w.fds, w.n_fds);
	if (r < 0 || negotiate)
		return r;
	if (w.resp.offset != ~0ull)
		publish(s, w.resp.offset);
	if (kind == KD_CMD_BYEBYE)
		s->state = KS_DEAD;
	else if (kind == KD_CMD_ENDPOINT_MAKE)
		s->state = KS_EP_OWNER;
	return 0;
}

static void *sock_mmap(struct kd_handle *h, void *addr, size_t len, int prot, int flags, off_t off,
		       int *err)
{
	struct ks *s = h->priv;
	void *p;

	if (s->state != KS_CONN && s->state != KS_DEAD) {
		*err = -EBADFD;
		return NULL;
	}
	if (s->pool_fd < 0) {
		*err = -EBADFD;
		return NULL;
	}
	/* The pool is the broker's to write; kdbus refuses writable maps, private ones too. */
	if (prot & PROT_WRITE) {
		*err = -EPERM;
		return NULL;
	}
	if (off < 0 || len > s->pool_size || (uint64_t)off > s->pool_size - len) {
		*err = -EFAULT;
		return NULL;
	}
	p = mmap(addr, len, prot, flags, s->pool_fd, off);
	if (p == MAP_FAILED) {
		*err = -errno;
		return NULL;
	}
	return p;
}

static void sock_destroy(struct kd_handle *h)
{
	struct ks *s = h->priv;

	if (!s)
		return;
	if (s->state == KS_EP_OWNER && s->cfd >= 0) {
		/*
		 * kdbus removes an endpoint when its owner fd is closed: wait
		 * (bounded, the fd may live on elsewhere) until the broker has,
		 * which it shows by closing its end of our command socket.
		 */
		struct pollfd p = { .fd = s->cfd, .events = POLLIN };

		while (poll(&p, 1, 2000) < 0 && errno == EINTR)
			;
	}
	if (s->cfd >= 0)
		close(s->cfd);
	if (s->life_fd >= 0) {
		/*
		 * kdbus destroys a bus when its owner fd is closed; the broker
		 * does it asynchronously, so wait until it has (bounded, in case
		 * another process still holds the fd and the bus lives on).
		 */
		struct pollfd p = { .fd = s->life_fd, .events = POLLIN };

		while (poll(&p, 1, 2000) < 0 && errno == EINTR)
			;
		close(s->life_fd);
	}
	if (s->pool_fd >= 0)
		close(s->pool_fd);
	if (s->ctl)
		munmap(s->ctl, KD_PROTO_CTL_SIZE);
	free(s->published.v);
	free(s->peeked.v);
	free(s->skip.v);
	free(s->rx);
	free(s->root);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->rlock);
	pthread_cond_destroy(&s->cond);
	free(s);
	h->priv = NULL;
}

static const struct kd_backend_ops sock_ops = {
	.name = "socket",
	.ioctl = sock_ioctl,
	.mmap = sock_mmap,
	.destroy = sock_destroy,
};

static int open_control(struct ks *s, const char *path, int flags)
{
	const char *slash = strrchr(path, '/');
	int sp[2], fd;

	s->root = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
	if (!s->root)
		return -ENOMEM;
	if (!*s->root) {
		free(s->root);
		s->root = strdup("/");
		if (!s->root)
			return -ENOMEM;
	}
	/* The control file exists so that paths look as on kdbusfs. */
	if (mkdir_p(s->root, 0755) == 0) {
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
		if (fd >= 0)
			close(fd);
	}
	/* A real fd for the user; a broker takes it over at BUS_MAKE. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | ((flags & O_CLOEXEC) ? SOCK_CLOEXEC : 0), 0, sp) < 0)
		return -errno;
	close(sp[1]);
	s->state = KS_CONTROL;
	return sp[0];
}

static int open_endpoint(struct ks *s, const char *path, int flags)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct kd_proto_hdr hdr = { .type = KD_PROTO_ATTACH, .n_fds = 1 };
	struct kd_proto_attach at = { .version = KD_PROTO_VERSION };
	struct iovec iov[2] = { { &hdr, sizeof(hdr) }, { &at, sizeof(at) } };
	int fd, sp[2], r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | ((flags & O_CLOEXEC) ? SOCK_CLOEXEC : 0), 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = errno == ECONNREFUSED ? -ESHUTDOWN : -errno;
		close(fd);
		return r;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	{
		/*
		 * Room for a whole 2 MiB SEND in flight, so a large message goes
		 * out without waiting for the broker after every fragment (the
		 * kernel caps it at net.core.wmem_max; best effort).
		 */
		int sz = 4 * 1024 * 1024;

		(void)setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	r = sendv(fd, iov, 2, &sp[1], 1);
	if (r == 0) {
		/*
		 * A packet the broker never reads: when it drops us, an unread
		 * packet makes the kernel flag our socket ECONNRESET, so poll()
		 * reports POLLERR|POLLHUP as kdbus does.
		 */
		hdr.type = KD_PROTO_TOMBSTONE;
		hdr.n_fds = 0;
		r = sendv(fd, iov, 1, NULL, 0);
	}
	close(sp[1]);
	if (r < 0) {
		close(sp[0]);
		close(fd);
		return r == -ECONNRESET ? -ESHUTDOWN : r;
	}
	s->cfd = sp[0];
	s->state = KS_ENDPOINT;
	return fd;
}

int kd_socket_open(const char *path, int flags, struct kd_handle **out)
{
	const char *base = strrchr(path, '/');
	struct kd_handle *h;
	struct ks *s;
	int fd;

	base = base ? base + 1 : path;
	h = calloc(1, sizeof(*h));
	s = calloc(1, sizeof(*s));
	if (!h || !s) {
		free(h);
		free(s);
		return -ENOMEM;
	}
	s->cfd = -1;
	s->life_fd = -1;
	s->pool_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->rlock, NULL);
	pthread_cond_init(&s->cond, NULL);
	h->priv = s;
	h->ops = &sock_ops;
	s->rx = malloc(KS_RX_SIZE);
	if (!s->rx) {
		fd = -ENOMEM;
	} else if (!strcmp(base, "control")) {
		fd = open_control(s, path, flags);
	} else {
		struct stat st;

		/* Endpoints are sockets; anything else here is not a bus. */
		if (stat(path, &st) < 0)
			fd = -errno;
		else if (!S_ISSOCK(st.st_mode))
			fd = -ENOTTY;
		else
			fd = open_endpoint(s, path, flags);
	}
	if (fd < 0) {
		sock_destroy(h);
		free(h);
		return fd;
	}
	h->fd = fd;
	s->qfd = fd;
	*out = h;
	return fd;
}
