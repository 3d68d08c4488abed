/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ping-pong over libkdbus, through the compat API only (what a ported kdbus
 * program does): a private bus <uid>-pingpong-<pid> made on <root>/control,
 * a server connection in a forked process and a client connection here.
 *
 * sync:  SEND with KDBUS_SEND_SYNC_REPLY, the reply comes back in cmd.reply.
 * async: SEND with EXPECT_REPLY, then poll() and RECV the reply.
 * The server RECVs, reads the request, replies with cookie_reply set: a vec
 * request gets a vec reply pointing at the request bytes in its pool (or at
 * the --verify pattern); a memfd request gets the very memfd it carried
 * (echo, zero copy); a memfd-fresh request a fresh sealed memfd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <kdbus/compat.h>

#include "pp.h"
#include "kdbus-conn.h"

struct pp_kdbus_bus {
	int control;
	char name[64];
	char path[4096];
	char backend[8];
};

static struct pp_kdbus_bus pp_bus = { .control = -1 };

struct pp_pair {
	struct pp_child child;
	struct pp_kconn conn;
	uint64_t server_id;
	unsigned payload;         /* PP_PAYLOAD_*, AUTO resolved per size */
	bool async;
	void *sbuf;
	size_t buf_size;
};

struct pp_kdbus_srv {
	const char *path;
	unsigned payload;         /* PP_PAYLOAD_*, AUTO resolved per size */
};

static size_t pp_max_size(void)
{
	size_t m = 8;

	for (unsigned i = 0; i < pp_opts.n_sizes; i++)
		if (pp_opts.sizes[i] > m)
			m = pp_opts.sizes[i];
	return m;
}

unsigned pp_kdbus_kind(unsigned payload, size_t size)
{
	if (payload == PP_PAYLOAD_AUTO)
		return size > pp_opts.memfd_threshold || size > PP_VEC_MAX ? PP_PAYLOAD_MEMFD
									 : PP_PAYLOAD_VEC;
	return payload;
}

/* Whether a message of size arrived as kind says it must. */
static bool pp_kdbus_arrived_as(const struct pp_kin *in, unsigned kind)
{
	return (in->memfd >= 0) == (kind != PP_PAYLOAD_VEC);
}

/* Server: answer every call until the parent closes ctl. */
static int pp_kdbus_serve(void *arg, int ctl, int st)
{
	struct pp_kdbus_srv *a = arg;
	struct pp_srv srv = { 0 };
	struct pp_kconn c;
	uint64_t cookie = 0;
	int r;

	r = pp_kconn_open(a->path, &c);
	if (r < 0) {
		uint64_t zero = 0;

		pp_warn("server: HELLO on %s: %s", a->path, strerror(-r));
		pp_write_full(st, &zero, sizeof(zero));
		pp_write_full(st, &srv.counts, sizeof(srv.counts));
		return r;
	}
	r = pp_write_full(st, &c.id, sizeof(c.id));
	while (r >= 0) {
		struct pollfd pfd[2] = { { c.fd, POLLIN, 0 }, { ctl, POLLIN, 0 } };
		struct pp_kin in;
		uint64_t seq;
		const void *reply;
		unsigned kind;

		r = pp_kconn_recv(&c, &in);
		if (r == -EAGAIN) {
			if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
				r = -errno;
				break;
			}
			if (pfd[1].revents) {
				r = 0;
				break;
			}
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		if (!in.is_call) {
			pp_kin_release(&c, &in);
			continue;
		}
		kind = pp_kdbus_kind(a->payload, in.len);
		r = pp_kdbus_arrived_as(&in, kind) ? 0 : -EBADMSG;
		if (r < 0)
			srv.counts.failures++;
		else
			r = pp_srv_request(&srv, in.data, in.len, kind == PP_PAYLOAD_MEMFD, &seq);
		if (r < 0) {
			pp_warn("server: request %llu failed the payload check",
				(unsigned long long)in.cookie);
			pp_kin_release(&c, &in);
			break;
		}
		/* a prepared memfd goes back as it came: the data is never copied */
		reply = kind == PP_PAYLOAD_MEMFD ? NULL : pp_srv_reply_buf(&srv, in.len, seq);
		r = pp_kconn_send(&c, in.src_id, 0, ++cookie, in.cookie, 0, reply ? reply : in.data,
				  in.len, kind, in.memfd, NULL);
		if (r < 0)
			pp_warn("server: reply SEND: %s", strerror(-r));
		pp_kin_release(&c, &in);
	}
	pp_kconn_close(&c);
	pp_write_full(st, &srv.counts, sizeof(srv.counts));
	return r;
}

static int pp_kdbus_open(struct pp_system *sys, struct pp_pair **pairp)
{
	struct pp_kdbus_srv a = { .path = pp_bus.path, .payload = sys->payload };
	struct pp_pair *p;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->payload = sys->payload;
	p->async = !strcmp(sys->mode, "async");
	p->conn.fd = -1;
	r = pp_spawn(&p->child, pp_kdbus_serve, &a);
	if (r < 0)
		goto fail;
	r = pp_read_full(p->child.st, &p->server_id, sizeof(p->server_id));
	if (r < 0 || p->server_id == 0) {
		r = r < 0 ? r : -ECONNREFUSED;
		goto fail;
	}
	r = pp_kconn_open(pp_bus.path, &p->conn);
	if (r < 0) {
		pp_warn("libkdbus: client HELLO on %s: %s", pp_bus.path, strerror(-r));
		goto fail;
	}
	pp_fd_register(p->conn.fd);
	p->buf_size = pp_max_size();
	p->sbuf = pp_buf_new(p->buf_size);
	if (!p->sbuf) {
		r = -ENOMEM;
		goto fail;
	}
	pp_fill(p->sbuf, p->buf_size, 0, 0, true);
	*pairp = p;
	return 0;

fail:
	if (p->conn.fd >= 0) {
		pp_fd_unregister(p->conn.fd);
		pp_kconn_close(&p->conn);
	}
	pp_child_stop(&p->child, NULL);
	free(p);
	return r;
}

static int pp_kdbus_rtt(struct pp_pair *p, size_t size, uint64_t seq)
{
	unsigned kind = pp_kdbus_kind(p->payload, size);
	uint64_t cookie = seq + 1;
	struct pp_kin in;
	int r, memfd = -1;

	if (kind == PP_PAYLOAD_MEMFD)
		memfd = pp_memfd_prepared(size);
	else
		pp_client_fill(p->sbuf, size, seq);
	r = pp_kconn_send(&p->conn, p->server_id, KDBUS_MSG_EXPECT_REPLY, cookie, 0,
			  p->async ? 0 : KDBUS_SEND_SYNC_REPLY, p->sbuf, size, kind, memfd, &in);
	if (r < 0)
		return r;
	if (p->async) {
		for (;;) {
			struct pollfd pfd = { p->conn.fd, POLLIN, 0 };

			r = pp_kconn_recv(&p->conn, &in);
			if (r == -EAGAIN) {
				r = poll(&pfd, 1, 30000);
				if (r == 0)
					return -ETIMEDOUT;
				if (r < 0 && errno != EINTR)
					return -errno;
				continue;
			}
			if (r < 0)
				return r;
			if (in.cookie_reply == cookie)
				break;
			/* not our reply (a notification): drop it */
			pp_kin_release(&p->conn, &in);
		}
	}
	if (in.cookie_reply != cookie || !pp_kdbus_arrived_as(&in, kind) ||
	    (pp_opts.verify && kind == PP_PAYLOAD_MEMFD && pp_memfd_same(in.memfd, size) < 0)) {
		pp_reply_fail();
		r = -EBADMSG;
	} else {
		r = pp_reply_check(in.data, in.len, size, seq, kind == PP_PAYLOAD_MEMFD);
	}
	pp_kin_release(&p->conn, &in);
	return r;
}

static void pp_kdbus_close(struct pp_pair *p, struct pp_counts *server)
{
	pp_fd_unregister(p->conn.fd);
	pp_kconn_close(&p->conn);
	if (pp_child_stop(&p->child, server) < 0)
		pp_warn("libkdbus server exited with an error");
	pp_buf_free(p->sbuf, p->buf_size);
	free(p);
}

static bool pp_kdbus_supports(const struct pp_system *sys, size_t size)
{
	return pp_kdbus_kind(sys->payload, size) != PP_PAYLOAD_VEC || size <= PP_VEC_MAX;
}

/* auto next to an explicit vec/memfd system would measure the same thing twice */
static bool pp_kdbus_not_applicable(const struct pp_system *sys, size_t size)
{
	return sys->payload == PP_PAYLOAD_AUTO && (pp_opts.payloads & pp_kdbus_kind(sys->payload, size));
}

static const char *pp_kdbus_payload_name(const struct pp_system *sys, size_t size)
{
	return pp_payload_str(pp_kdbus_kind(sys->payload, size));
}

static const struct pp_system_ops pp_kdbus_ops = {
	.open = pp_kdbus_open,
	.rtt = pp_kdbus_rtt,
	.close = pp_kdbus_close,
	.supports = pp_kdbus_supports,
	.not_applicable = pp_kdbus_not_applicable,
	.payload_name = pp_kdbus_payload_name,
};

const char *pp_kdbus_bus_path(void)
{
	return pp_bus.path;
}

const char *pp_kdbus_backend(void)
{
	return pp_bus.backend;
}

/* Make the private bus; the socket backend's broker is forked here and inherits our CPU mask. */
int pp_kdbus_setup(void)
{
	uint64_t buf[64];
	struct kdbus_cmd *cmd = (struct kdbus_cmd *)buf;
	struct kdbus_item *it;
	const char *root;
	char control[4096];
	size_t nlen;
	int r;

	if (pp_bus.control >= 0)
		return 0;
	if (pp_opts.backend && setenv("KDBUS_BACKEND", pp_opts.backend, 1) < 0)
		return -errno;
	root = kdbus_root();
	if (!root)
		return -ENOENT;
	snprintf(pp_bus.backend, sizeof(pp_bus.backend), "%s",
		 pp_opts.backend ? pp_opts.backend
				 : (!strncmp(root, "/sys/fs/kdbus", 13) ? "kmod" : "socket"));
	snprintf(control, sizeof(control), "%s/control", root);
	snprintf(pp_bus.name, sizeof(pp_bus.name), "%u-pingpong-%d", (unsigned)geteuid(),
		 (int)getpid());
	snprintf(pp_bus.path, sizeof(pp_bus.path), "%s/%s/bus", root, pp_bus.name);

	memset(buf, 0, sizeof(buf));
	it = cmd->items;
	it->type = KDBUS_ITEM_BLOOM_PARAMETER;
	it->size = KDBUS_ITEM_HEADER_SIZE + sizeof(struct kdbus_bloom_parameter);
	it->bloom_parameter.size = PP_BLOOM_SIZE;
	it->bloom_parameter.n_hash = 8;
	it = KDBUS_ITEM_NEXT(it);
	nlen = strlen(pp_bus.name) + 1;
	it->type = KDBUS_ITEM_MAKE_NAME;
	it->size = KDBUS_ITEM_HEADER_SIZE + nlen;
	memcpy(it->str, pp_bus.name, nlen);
	it = KDBUS_ITEM_NEXT(it);
	cmd->size = (uint64_t)((uint8_t *)it - (uint8_t *)cmd);

	pp_bus.control = kdbus_open(control, O_RDWR | O_CLOEXEC);
	if (pp_bus.control < 0) {
		r = -errno;
		pp_warn("libkdbus: open %s: %s", control, strerror(-r));
		return r;
	}
	pp_cpu_broker();
	r = kdbus_cmd_bus_make(pp_bus.control, cmd);
	if (pp_opts.pinned)
		pp_cpu_set(pp_opts.cpu_client);
	else
		pp_cpu_restore();
	if (r < 0) {
		pp_warn("libkdbus: BUS_MAKE %s: %s", pp_bus.name, strerror(-r));
		kdbus_close(pp_bus.control);
		pp_bus.control = -1;
		return r;
	}
	pp_fd_register(pp_bus.control);
	return 0;
}

void pp_kdbus_teardown(void)
{
	if (pp_bus.control < 0)
		return;
	pp_fd_unregister(pp_bus.control);
	kdbus_close(pp_bus.control);
	pp_bus.control = -1;
}

int pp_kdbus_add(struct pp_system *out, unsigned max)
{
	static const unsigned kinds[] = { PP_PAYLOAD_AUTO, PP_PAYLOAD_VEC, PP_PAYLOAD_MEMFD,
					  PP_PAYLOAD_MEMFD_FRESH };
	static const char *const modes[] = { "sync", "async" };
	unsigned n = 0;
	int r;

	r = pp_kdbus_setup();
	if (r < 0)
		return r;
	for (unsigned k = 0; k < 4; k++) {
		if (!(pp_opts.payloads & kinds[k]))
			continue;
		for (unsigned m = 0; m < 2; m++) {
			if (!(pp_opts.modes & (1U << m)) || n == max)
				continue;
			out[n++] = (struct pp_system){ .name = "libkdbus", .backend = pp_bus.backend,
						       .mode = modes[m], .payload = kinds[k],
						       .ops = &pp_kdbus_ops };
		}
	}
	return (int)n;
}
