/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ping-pong --fanout N: one broadcast delivered to N subscribers.
 *
 * Each subscriber adds a match (an all-zero bloom mask: every broadcast) and
 * receives; the sender broadcasts a batch of messages, the last one flagged,
 * and every subscriber acknowledges the flagged one with a small unicast.
 * A sample is the batch time divided by the batch length: the time for one
 * broadcast to reach all N subscribers. Batches keep the queues below the
 * kdbus quota (spec 10.2) so nothing is dropped; a drop counts as a failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kdbus/compat.h>

#include "kdbus-conn.h"
#include "pp.h"

#define PP_FAN_LAST (1ULL << 63)
/* the broadcast carries the prepared memfd of its size (the stamp travels in the cookie) */
#define PP_FAN_PREPARED (1ULL << 62)
#define PP_FAN_MAX_BATCH 32

struct pp_fan {
	struct pp_kconn conn;
	struct pp_child subs[256];
	unsigned n;
	uint64_t seq;
	void *buf;
	size_t buf_size;
};

static struct pp_fan pp_fan = { .conn = { .fd = -1 } };

struct pp_fan_sub {
	const char *path;
	uint64_t sender;
};

static int pp_fan_subscriber(void *arg, int ctl, int st)
{
	struct pp_fan_sub *a = arg;
	struct pp_srv srv = { 0 };
	struct pp_kconn c;
	uint64_t cookie = 0;
	int64_t status;
	int r;

	r = pp_kconn_open(a->path, &c);
	if (r == 0) {
		r = pp_kconn_match_all(&c, 1);
		if (r < 0)
			pp_kconn_close(&c);
	}
	status = r;
	pp_write_full(st, &status, sizeof(status));
	while (r >= 0) {
		struct pollfd pfd[2] = { { c.fd, POLLIN, 0 }, { ctl, POLLIN, 0 } };
		struct pp_kin in;
		uint64_t seq, stamp;

		r = pp_kconn_recv(&c, &in);
		if (c.dropped) {
			pp_warn("subscriber %llu lost %llu broadcasts", (unsigned long long)c.id,
				(unsigned long long)c.dropped);
			srv.counts.failures += c.dropped;
			c.dropped = 0;
		}
		if (r == -EAGAIN) {
			if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
				r = -errno;
				break;
			}
			r = pfd[1].revents ? -ESHUTDOWN : 0;
			continue;
		}
		if (r < 0)
			break;
		if (in.is_kernel || !(in.flags & KDBUS_MSG_SIGNAL)) {
			pp_kin_release(&c, &in);
			continue;
		}
		stamp = in.cookie - 1;
		r = pp_srv_request(&srv, in.data, in.len, stamp & PP_FAN_PREPARED, &seq);
		if (r < 0)
			pp_warn("subscriber: broadcast %llu failed the payload check",
				(unsigned long long)stamp);
		else if (stamp & PP_FAN_LAST)
			r = pp_kconn_send(&c, a->sender, 0, ++cookie, 0, 0, &stamp, sizeof(stamp),
					  PP_PAYLOAD_VEC, -1, NULL);
		pp_kin_release(&c, &in);
	}
	if (status == 0)
		pp_kconn_close(&c);
	pp_write_full(st, &srv.counts, sizeof(srv.counts));
	return r == -ESHUTDOWN ? 0 : r;
}

int pp_fanout_open(unsigned n_subs)
{
	struct pp_fan_sub a;
	int r;

	r = pp_kconn_open(pp_kdbus_bus_path(), &pp_fan.conn);
	if (r < 0) {
		pp_warn("fanout: HELLO on %s: %s", pp_kdbus_bus_path(), strerror(-r));
		return r;
	}
	pp_fd_register(pp_fan.conn.fd);
	a = (struct pp_fan_sub){ .path = pp_kdbus_bus_path(), .sender = pp_fan.conn.id };
	for (pp_fan.n = 0; pp_fan.n < n_subs; pp_fan.n++) {
		int64_t status = -EPIPE;

		r = pp_spawn(&pp_fan.subs[pp_fan.n], pp_fan_subscriber, &a);
		if (r < 0)
			break;
		pp_read_full(pp_fan.subs[pp_fan.n].st, &status, sizeof(status));
		if (status < 0) {
			r = (int)status;
			pp_warn("fanout: subscriber setup failed: %s (errno %d)%s", strerror(-r), -r,
				r == -ENOTTY || r == -EOPNOTSUPP || r == -ENOSYS
					? "; KDBUS_CMD_MATCH_ADD is not implemented by this backend"
					: "");
			pp_fan.n++;
			break;
		}
	}
	if (r < 0) {
		pp_fanout_close(NULL);
		return r;
	}
	pp_fan.buf_size = 8;
	for (unsigned i = 0; i < pp_opts.n_sizes; i++)
		if (pp_opts.sizes[i] > pp_fan.buf_size)
			pp_fan.buf_size = pp_opts.sizes[i];
	pp_fan.buf = pp_buf_new(pp_fan.buf_size);
	if (!pp_fan.buf) {
		pp_fanout_close(NULL);
		return -ENOMEM;
	}
	pp_fill(pp_fan.buf, pp_fan.buf_size, 0, 0, true);
	return 0;
}

void pp_fanout_close(struct pp_counts *server)
{
	if (pp_fan.conn.fd >= 0) {
		pp_fd_unregister(pp_fan.conn.fd);
		pp_kconn_close(&pp_fan.conn);
	}
	for (unsigned i = 0; i < pp_fan.n; i++)
		pp_child_stop(&pp_fan.subs[i], server);
	pp_fan.n = 0;
	pp_buf_free(pp_fan.buf, pp_fan.buf_size);
	pp_fan.buf = NULL;
}

/* Wait until every subscriber acknowledged stamp. */
static int pp_fan_acks(uint64_t stamp)
{
	unsigned got = 0;

	while (got < pp_fan.n) {
		struct pollfd pfd = { pp_fan.conn.fd, POLLIN, 0 };
		struct pp_kin in;
		int r;

		r = pp_kconn_recv(&pp_fan.conn, &in);
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
		if (!in.is_kernel && in.len == 8 && pp_stamp(in.data, 8) == stamp)
			got++;
		pp_kin_release(&pp_fan.conn, &in);
	}
	return 0;
}

static int pp_fan_batch(size_t size, unsigned kind, unsigned batch)
{
	uint64_t stamp = 0;
	int r;

	for (unsigned b = 0; b < batch; b++) {
		int memfd = -1;

		stamp = pp_fan.seq++ & ~(PP_FAN_LAST | PP_FAN_PREPARED);
		if (b == batch - 1)
			stamp |= PP_FAN_LAST;
		if (kind == PP_PAYLOAD_MEMFD) {
			stamp |= PP_FAN_PREPARED;
			memfd = pp_memfd_prepared(size);
		} else {
			pp_client_fill(pp_fan.buf, size, stamp);
		}
		r = pp_kconn_send(&pp_fan.conn, KDBUS_DST_ID_BROADCAST, KDBUS_MSG_SIGNAL, stamp + 1, 0,
				  0, pp_fan.buf, size, kind, memfd, NULL);
		if (r < 0)
			return r;
	}
	return pp_fan_acks(stamp);
}

int pp_fanout_run(size_t size, unsigned kind, uint64_t iters, uint64_t warm, double budget,
		  uint64_t *ns, uint64_t *np, uint64_t *sentp)
{
	uint64_t start, left, cap = iters == UINT64_MAX ? (1u << 20) : iters;
	unsigned batch = PP_FAN_MAX_BATCH;
	int r;

	/* at most 1/8 of a pool in flight per subscriber: well inside the per-user quota */
	if (kind == PP_PAYLOAD_VEC) {
		size_t fit = pp_opts.pool_size / 8 / (size + 4096);

		batch = fit < 1 ? 1 : fit < PP_FAN_MAX_BATCH ? (unsigned)fit : PP_FAN_MAX_BATCH;
	}
	*np = 0;
	*sentp = 0;
	for (left = warm; left; left -= left < batch ? left : batch) {
		r = pp_fan_batch(size, kind, left < batch ? (unsigned)left : batch);
		if (r < 0)
			return r;
	}
	start = pp_now_ns();
	/* exactly iters broadcasts: the last batch may be shorter */
	for (left = iters; left && *np < cap;) {
		unsigned b = left < batch ? (unsigned)left : batch;
		uint64_t t0 = pp_now_ns(), t1;

		r = pp_fan_batch(size, kind, b);
		t1 = pp_now_ns();
		if (r < 0)
			return r;
		ns[(*np)++] = (t1 - t0) / b;
		*sentp += b;
		if (iters != UINT64_MAX)
			left -= b;
		if (budget > 0 && (double)(t1 - start) >= budget * 1e9)
			break;
	}
	return 0;
}

static bool pp_fan_supports(const struct pp_system *sys, size_t size)
{
	return pp_kdbus_kind(sys->payload, size) != PP_PAYLOAD_VEC || size <= PP_VEC_MAX;
}

static const char *pp_fan_payload_name(const struct pp_system *sys, size_t size)
{
	return pp_payload_str(pp_kdbus_kind(sys->payload, size));
}

static const struct pp_system_ops pp_fan_ops = {
	.supports = pp_fan_supports,
	.payload_name = pp_fan_payload_name,
};

const struct pp_system_ops *pp_kdbus_fanout_ops(void)
{
	return &pp_fan_ops;
}
