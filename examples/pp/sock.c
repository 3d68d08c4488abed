/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ping-pong baselines without a bus: socketpair(AF_UNIX, SOCK_SEQPACKET).
 *
 * "inline": the payload travels in packets (a u64 size header in front of the
 * first one; messages larger than one packet are split), two kernel copies
 * per direction: the floor for any socket design.
 * "memfd": the prepared sealed memfd of the size passed with SCM_RIGHTS and
 * echoed back by the server (zero copy; each receiver maps it and reads every
 * byte); "memfd-fresh": a fresh sealed memfd per message on both sides
 * (created, filled with pwrite, sealed, mapped and read by the receiver).
 * Together: the bare cost of what a kdbus memfd payload does, without a bus.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pp.h"

enum { PP_SOCK_INLINE, PP_SOCK_MEMFD, PP_SOCK_MEMFD_FRESH };

/* what travels with a memfd: its size and the round trip's stamp */
struct pp_sock_mhdr {
	uint64_t size;
	uint64_t seq;
};

struct pp_pair {
	struct pp_child child;
	int kind;
	int fd;
	size_t packet;            /* largest packet the socket takes */
	void *sbuf, *rbuf;
	size_t buf_size;
};

struct pp_sock_srv {
	int kind;
	int fd;
	size_t packet;
	size_t buf_size;
};

static size_t pp_max_size(void)
{
	size_t m = 8;

	for (unsigned i = 0; i < pp_opts.n_sizes; i++)
		if (pp_opts.sizes[i] > m)
			m = pp_opts.sizes[i];
	return m;
}

static size_t pp_sock_tune(int fd)
{
	int v = 4 * 1024 * 1024;
	socklen_t l = sizeof(v);
	size_t packet;

	/* best effort: capped by net.core.wmem_max/rmem_max */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &l) < 0 || v < 65536)
		v = 65536;
	packet = (size_t)v / 2;
	if (packet > 4 * PP_MIB)
		packet = 4 * PP_MIB;
	return packet & ~(size_t)4095;
}

/* Send size bytes of data as one message: header + first part, then further packets. */
static int pp_sock_send_inline(int fd, size_t packet, const void *data, size_t size)
{
	uint64_t hdr = size;
	size_t first = size < packet - 8 ? size : packet - 8, done;
	struct iovec iov[2] = { { &hdr, 8 }, { (void *)data, first } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };

	if (sendmsg(fd, &m, MSG_NOSIGNAL) < 0)
		return -errno;
	for (done = first; done < size;) {
		size_t n = size - done < packet ? size - done : packet;

		if (send(fd, (const uint8_t *)data + done, n, MSG_NOSIGNAL) < 0)
			return -errno;
		done += n;
	}
	return 0;
}

/* Receive one message into buf; 0 and *sizep, -EPIPE at EOF. */
static int pp_sock_recv_inline(int fd, void *buf, size_t buf_size, size_t *sizep)
{
	uint64_t hdr = 0;
	struct iovec iov[2] = { { &hdr, 8 }, { buf, buf_size } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;
	size_t got;

	n = recvmsg(fd, &m, 0);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -EPIPE;
	if (n < 8 || hdr > buf_size || (m.msg_flags & MSG_TRUNC))
		return -EBADMSG;
	for (got = (size_t)n - 8; got < hdr;) {
		n = recv(fd, (uint8_t *)buf + got, hdr - got, 0);
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		got += (size_t)n;
	}
	*sizep = hdr;
	return 0;
}

static int pp_sock_send_memfd(int fd, int memfd, size_t size, uint64_t seq)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} c;
	struct pp_sock_mhdr hdr = { size, seq };
	struct iovec iov = { &hdr, sizeof(hdr) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b,
			    .msg_controllen = sizeof(c.b) };

	memset(&c, 0, sizeof(c));
	c.h.cmsg_level = SOL_SOCKET;
	c.h.cmsg_type = SCM_RIGHTS;
	c.h.cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(&c.h), &memfd, sizeof(int));
	if (sendmsg(fd, &m, MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

static int pp_sock_recv_memfd(int fd, int *memfdp, size_t *sizep, uint64_t *seqp)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} c;
	struct pp_sock_mhdr hdr = { 0, 0 };
	struct iovec iov = { &hdr, sizeof(hdr) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b,
			    .msg_controllen = sizeof(c.b) };
	struct cmsghdr *h;
	ssize_t n;

	n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -EPIPE;
	h = CMSG_FIRSTHDR(&m);
	if (n != sizeof(hdr) || !h || h->cmsg_type != SCM_RIGHTS ||
	    h->cmsg_len != CMSG_LEN(sizeof(int)))
		return -EBADMSG;
	memcpy(memfdp, CMSG_DATA(h), sizeof(int));
	*sizep = hdr.size;
	*seqp = hdr.seq;
	return 0;
}

static int pp_sock_serve(void *arg, int ctl, int st)
{
	struct pp_sock_srv *a = arg;
	struct pp_srv srv = { 0 };
	void *buf = NULL;
	int r = 0;

	if (a->kind == PP_SOCK_INLINE) {
		buf = pp_buf_new(a->buf_size);
		if (!buf)
			return -ENOMEM;
	}
	for (;;) {
		const void *data, *reply;
		void *map = NULL;
		size_t size, maplen = 0;
		uint64_t seq, hseq;
		int memfd = -1, out;

		if (a->kind == PP_SOCK_INLINE) {
			r = pp_sock_recv_inline(a->fd, buf, a->buf_size, &size);
			if (r < 0)
				break;
			r = pp_srv_request(&srv, buf, size, false, &seq);
			if (r < 0)
				break;
			reply = pp_srv_reply_buf(&srv, size, seq);
			r = pp_sock_send_inline(a->fd, a->packet, reply ? reply : buf, size);
			if (r < 0)
				break;
			continue;
		}
		r = pp_sock_recv_memfd(a->fd, &memfd, &size, &hseq);
		if (r < 0)
			break;
		r = pp_memfd_map(memfd, 0, size, &data, &map, &maplen);
		if (r == 0)
			r = pp_srv_request(&srv, data, size, a->kind == PP_SOCK_MEMFD, &seq);
		if (r == 0 && a->kind == PP_SOCK_MEMFD) {
			/* echo: the same sealed memfd goes back, nothing is copied */
			r = pp_sock_send_memfd(a->fd, memfd, size, hseq);
		} else if (r == 0) {
			reply = pp_srv_reply_buf(&srv, size, seq);
			out = r = pp_memfd_new(reply ? reply : data, size);
			if (out >= 0) {
				r = pp_sock_send_memfd(a->fd, out, size, hseq);
				close(out);
			}
		}
		if (map)
			munmap(map, maplen);
		close(memfd);
		if (r < 0)
			break;
	}
	pp_write_full(st, &srv.counts, sizeof(srv.counts));
	return r == -EPIPE || r == -ECONNRESET ? 0 : r;
}

static int pp_sock_open(struct pp_system *sys, struct pp_pair **pairp)
{
	struct pp_sock_srv a;
	struct pp_pair *p;
	int sv[2], r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->kind = sys->payload == PP_PAYLOAD_MEMFD	  ? PP_SOCK_MEMFD
		  : sys->payload == PP_PAYLOAD_MEMFD_FRESH ? PP_SOCK_MEMFD_FRESH
							   : PP_SOCK_INLINE;
	p->buf_size = pp_max_size();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		free(p);
		return -errno;
	}
	p->packet = pp_sock_tune(sv[0]);
	pp_sock_tune(sv[1]);
	a = (struct pp_sock_srv){ .kind = p->kind, .fd = sv[1], .packet = p->packet,
				  .buf_size = p->buf_size };
	pp_fd_register(sv[0]);
	r = pp_spawn(&p->child, pp_sock_serve, &a);
	close(sv[1]);
	if (r < 0) {
		pp_fd_unregister(sv[0]);
		close(sv[0]);
		free(p);
		return r;
	}
	p->fd = sv[0];
	p->sbuf = pp_buf_new(p->buf_size);
	p->rbuf = pp_buf_new(p->buf_size);
	if (!p->sbuf || !p->rbuf)
		return -ENOMEM;
	pp_fill(p->sbuf, p->buf_size, 0, 0, true);
	*pairp = p;
	return 0;
}

static int pp_sock_rtt(struct pp_pair *p, size_t size, uint64_t seq)
{
	const void *data;
	void *map;
	size_t got, maplen;
	uint64_t rseq;
	int r, memfd;

	if (p->kind != PP_SOCK_MEMFD)
		pp_client_fill(p->sbuf, size, seq);
	if (p->kind == PP_SOCK_INLINE) {
		r = pp_sock_send_inline(p->fd, p->packet, p->sbuf, size);
		if (r < 0)
			return r;
		r = pp_sock_recv_inline(p->fd, p->rbuf, p->buf_size, &got);
		if (r < 0)
			return r;
		return pp_reply_check(p->rbuf, got, size, seq, false);
	}
	if (p->kind == PP_SOCK_MEMFD) {
		r = pp_sock_send_memfd(p->fd, pp_memfd_prepared(size), size, seq);
	} else {
		memfd = pp_memfd_new(p->sbuf, size);
		if (memfd < 0)
			return memfd;
		r = pp_sock_send_memfd(p->fd, memfd, size, seq);
		close(memfd);
	}
	if (r < 0)
		return r;
	r = pp_sock_recv_memfd(p->fd, &memfd, &got, &rseq);
	if (r < 0)
		return r;
	if (rseq != seq || (pp_opts.verify && p->kind == PP_SOCK_MEMFD && pp_memfd_same(memfd, size) < 0)) {
		pp_reply_fail();
		close(memfd);
		return -EBADMSG;
	}
	r = pp_memfd_map(memfd, 0, got, &data, &map, &maplen);
	close(memfd);
	if (r < 0)
		return r;
	r = pp_reply_check(data, got, size, seq, p->kind == PP_SOCK_MEMFD);
	munmap(map, maplen);
	return r;
}

static void pp_sock_close(struct pp_pair *p, struct pp_counts *server)
{
	/* EOF on the socket ends the server; then its counters arrive */
	pp_fd_unregister(p->fd);
	close(p->fd);
	if (pp_child_stop(&p->child, server) < 0)
		pp_warn("socketpair server exited with an error");
	pp_buf_free(p->sbuf, p->buf_size);
	pp_buf_free(p->rbuf, p->buf_size);
	free(p);
}

static const char *pp_sock_payload_name(const struct pp_system *sys, size_t size)
{
	return sys->payload == PP_PAYLOAD_VEC ? "inline" : pp_payload_str(sys->payload);
}

static const struct pp_system_ops pp_sock_ops = {
	.open = pp_sock_open,
	.rtt = pp_sock_rtt,
	.close = pp_sock_close,
	.supports = pp_supports_all,
	.not_applicable = pp_baseline_not_applicable,
	.payload_name = pp_sock_payload_name,
};

int pp_sock_add(struct pp_system *out, unsigned max)
{
	unsigned n = 0;

	if ((pp_opts.systems & PP_SYS_SOCKETPAIR) && n < max)
		out[n++] = (struct pp_system){ .name = "socketpair", .backend = "af_unix",
					       .mode = "sync", .payload = PP_PAYLOAD_VEC,
					       .baseline = true, .ops = &pp_sock_ops };
	if ((pp_opts.systems & PP_SYS_MEMFD_SOCKET) && n < max)
		out[n++] = (struct pp_system){ .name = "socketpair", .backend = "af_unix",
					       .mode = "sync", .payload = PP_PAYLOAD_MEMFD,
					       .baseline = true, .ops = &pp_sock_ops };
	if ((pp_opts.systems & PP_SYS_MEMFD_SOCKET) && (pp_opts.payloads & PP_PAYLOAD_MEMFD_FRESH) &&
	    n < max)
		out[n++] = (struct pp_system){ .name = "socketpair", .backend = "af_unix",
					       .mode = "sync", .payload = PP_PAYLOAD_MEMFD_FRESH,
					       .baseline = true, .ops = &pp_sock_ops };
	return (int)n;
}
