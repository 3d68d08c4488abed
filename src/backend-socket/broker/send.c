/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, dup3, asprintf, memfd and SCM ancillary data */
#endif
/*
 * KDBUS_CMD_SEND (spec 7.2-7.5): validation, destination, delivery into the
 * receiver's pool, reply trackers, sync calls and bus notifications.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend-socket/broker/broker.h"
#include "core/msg.h"
#include "core/pool.h"
#include "os/os.h"

/* Metadata a receiver gets whatever the sender's attach_flags_send (spec 9.7). */
#define KB_IMPLICIT_META                                                           \
	(KDBUS_ATTACH_TIMESTAMP | KDBUS_ATTACH_CREDS | KDBUS_ATTACH_PIDS |            \
	 KDBUS_ATTACH_AUXGROUPS | KDBUS_ATTACH_NAMES | KDBUS_ATTACH_CONN_DESCRIPTION)

/* One SEND being processed. */
struct kb_tx {
	struct kb_conn *src;
	struct kdbus_cmd_send *cmd;
	struct kdbus_msg *msg;
	struct kd_items it;
	const uint8_t *data;
	uint64_t data_size;
	int *memfds; /* n = it.n_memfds */
	int *fds;    /* n = it.n_fds */
	struct kdbus_timestamp ts;
	bool have_ts;
	uint64_t name_id;
};

struct kb_copy {
	const uint8_t *p;
	uint64_t left;
};

static int copy_data(void *ctx, void *dst, uint64_t address, uint64_t size)
{
	struct kb_copy *c = ctx;

	(void)address;
	if (size > c->left)
		return -EFAULT;
	memcpy(dst, c->p, size);
	c->p += size;
	c->left -= size;
	return 0;
}

static const struct kdbus_timestamp *tx_ts(struct kb_tx *tx)
{
	if (!tx->have_ts) {
		tx->ts.seqnum = ++tx->src->bus->seqnum;
		tx->ts.monotonic_ns = kd_os_now_mono();
		tx->ts.realtime_ns = kd_os_now_real();
		tx->have_ts = true;
	}
	return &tx->ts;
}

static void fds_to_minus_one(struct kdbus_msg *m)
{
	struct kdbus_item *it;
	uint64_t pos, k;

	for (pos = sizeof(*m); pos + 16 <= m->size; pos += KD_ALIGN8(it->size)) {
		it = (struct kdbus_item *)((uint8_t *)m + pos);
		if (it->type == KDBUS_ITEM_PAYLOAD_MEMFD)
			it->memfd.fd = -1;
		else if (it->type == KDBUS_ITEM_FDS)
			for (k = 0; k < (it->size - 16) / sizeof(int); k++)
				it->fds[k] = -1;
	}
}

static int dup_all(const int *src, unsigned int n, int *dst)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		dst[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 3);
		if (dst[i] < 0) {
			int r = -errno;

			while (i--)
				close(dst[i]);
			return r;
		}
	}
	return 0;
}

/*
 * Write tx's message into dst's pool. On success off_out and size_out describe the
 * slice (accounted, kernel-referenced) and *fds_out holds dups of the fds the
 * receiver gets (memfds first, then FDS unless the receiver refuses them).
 */
static int build(struct kb_tx *tx, struct kb_conn *dst, bool with_fds, uint64_t *off_out,
		 uint64_t *size_out, int **fds_out, unsigned int *n_fds_out)
{
	uint64_t mask, msize, off;
	uint8_t meta_buf[4096], *meta = meta_buf;
	struct kd_msg_layout l;
	struct kb_copy cp = { tx->data, tx->data_size };
	struct kd_meta *sm = &tx->src->meta;
	const struct kd_meta_name *names;
	unsigned int n = 0, n_names;
	int *fds = NULL, r;

	mask = dst->attach_recv & (tx->src->attach_send | KB_IMPLICIT_META | _KDBUS_ATTACH_ALL);
	mask &= sm->mask | KDBUS_ATTACH_TIMESTAMP | KDBUS_ATTACH_NAMES;
	names = kb_reg_meta_names(tx->src, &n_names);
	msize = mask ? kd_meta_size(sm, mask, names, n_names, tx_ts(tx)) : 0;
	if (msize > sizeof(meta_buf)) {
		meta = malloc(KD_ALIGN8(msize));
		if (!meta)
			return -ENOMEM;
	}
	if (msize) {
		memset(meta, 0, KD_ALIGN8(msize));
		kd_meta_write(meta, sm, mask, names, n_names, tx_ts(tx));
	}
	kd_msg_layout(tx->msg, msize, &l);
	r = kb_conn_pool_alloc(dst, l.slice_size, true, &off);
	if (r < 0)
		goto out;
	r = kd_msg_write(dst->pool_map + off, tx->msg, tx->src->id, meta, &l, copy_data, &cp);
	if (r < 0) {
		kd_pool_release_kernel(dst->pool, off);
		goto out;
	}
	fds_to_minus_one((struct kdbus_msg *)(dst->pool_map + off));

	n = tx->it.n_memfds + (with_fds ? tx->it.n_fds : 0);
	if (n) {
		fds = malloc(n * sizeof(int));
		r = fds ? dup_all(tx->memfds, tx->it.n_memfds, fds) : -ENOMEM;
		if (r >= 0 && with_fds) {
			r = dup_all(tx->fds, tx->it.n_fds, fds + tx->it.n_memfds);
			if (r < 0) {
				unsigned int i;

				for (i = 0; i < tx->it.n_memfds; i++)
					close(fds[i]);
			}
		}
		if (r < 0) {
			free(fds);
			fds = NULL;
			kd_pool_release_kernel(dst->pool, off);
			goto out;
		}
	}
	*off_out = off;
	*size_out = l.slice_size;
	*fds_out = fds;
	*n_fds_out = n;
	r = 0;
out:
	if (meta != meta_buf)
		free(meta);
	return r;
}

/* Queue tx into dst (spec 7.2 step 10). */
static int deliver(struct kb_tx *tx, struct kb_conn *dst)
{
	bool mon = dst->hello_flags & KDBUS_HELLO_MONITOR;
	bool accept = dst->hello_flags & KDBUS_HELLO_ACCEPT_FD;
	uint64_t key = kb_reg_quota_key(tx->src), off, size;
	struct kb_entry *e;
	unsigned int n_fds;
	int *fds, r;

	if (dst->state != KB_CONN_CONNECTED)
		return -ECONNRESET;
	if (tx->it.n_fds && !accept && !mon)
		return -ECOMM;
	kb_conn_sync(dst);
	{
		struct kd_msg_layout l;
		uint64_t est;

		/* Quota on the data size; metadata is small and the bus's own. */
		kd_msg_layout(tx->msg, 0, &l);
		est = l.slice_size;
		r = kb_conn_quota(dst, key, est, accept ? tx->it.n_fds : 0);
		if (r < 0)
			return r;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	r = build(tx, dst, accept, &off, &size, &fds, &n_fds);
	if (r < 0) {
		free(e);
		return r;
	}
	e->kind = KB_ENTRY_MSG;
	e->off = off;
	e->size = size;
	e->priority = tx->msg->priority;
	e->fds = fds;
	e->n_fds = n_fds;
	e->n_memfds = tx->it.n_memfds;
	e->n_fds_quota = accept ? tx->it.n_fds : 0;
	e->fixup = n_fds ? 1 : 0;
	e->quota_key = key;
	e->src_id = tx->src->id;
	e->cookie = tx->msg->cookie;
	e->expect_reply = tx->msg->flags & KDBUS_MSG_EXPECT_REPLY;
	e->name_id = tx->name_id;
	kb_conn_quota_charge(dst, key, size, e->n_fds_quota, +1);
	return kb_conn_enqueue(dst, e);
}

/* Monitors (registry.c) get their copies through these. */
struct kb_conn *kb_tx_src(struct kb_tx *tx)
{
	return tx->src;
}

int kb_tx_deliver(struct kb_tx *tx, struct kb_conn *dst)
{
	return deliver(tx, dst);
}

/* ---- reply trackers ---- */

static struct kb_reply *reply_find(struct kb_conn *caller, uint64_t replier, uint64_t cookie)
{
	struct kb_list *p, *t;

	kb_list_for_each_safe(p, t, &caller->replies) {
		struct kb_reply *r = kb_list_entry(p, struct kb_reply, link);

		if (r->cookie == cookie && r->replier_id == replier)
			return r;
	}
	return NULL;
}

void kb_reply_free(struct kb_reply *r)
{
	if (!r)
		return;
	kb_list_del(&r->link);
	r->caller->n_replies--;
	r->caller->bus->n_trackers--;
	if (r->cancel.fd >= 0) {
		(void)kd_poller_del(r->caller->bus->poller, r->cancel.fd);
		close(r->cancel.fd);
		r->cancel.fd = -1;
	}
	r->dead = true;
	kb_list_add_tail(&r->caller->bus->reply_graveyard, &r->link);
}

/* A sync caller's SEND ends with err (no reply). */
static void sync_fail(struct kb_reply *r, int err)
{
	(void)kb_conn_respond(r->caller, r->serial, err, NULL, 0, ~0ull, NULL, 0, 0);
	kb_reply_free(r);
}

void kb_notify_reply(struct kb_conn *caller, uint64_t cookie, uint64_t type)
{
	struct kdbus_timestamp ts = {
		.seqnum = ++caller->bus->seqnum,
		.monotonic_ns = kd_os_now_mono(),
		.realtime_ns = kd_os_now_real(),
	};
	uint64_t size = kd_msg_notify_size(0), off;
	struct kb_entry *e;

	if (caller->state != KB_CONN_CONNECTED)
		return;
	kb_conn_sync(caller);
	/* Not counted as lost if it cannot be queued (spec 8.4). */
	if (kb_conn_quota(caller, 0, size, 0) < 0)
		return;
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	if (kb_conn_pool_alloc(caller, size, true, &off) < 0) {
		free(e);
		return;
	}
	memset(caller->pool_map + off, 0, size);
	kd_msg_notify_write(caller->pool_map + off, caller->id, 0, cookie, type, NULL, 0, &ts);
	e->kind = KB_ENTRY_MSG;
	e->off = off;
	e->size = size;
	e->quota_key = 0;
	kb_conn_quota_charge(caller, 0, size, 0, +1);
	kb_conn_enqueue(caller, e);
	kb_monitors_notify(caller->bus, caller->pool_map + off, size);
}

void kb_reply_timeout(struct kb_reply *r)
{
	if (r->sync) {
		sync_fail(r, -ETIMEDOUT);
		return;
	}
	kb_notify_reply(r->caller, r->cookie, KDBUS_ITEM_REPLY_TIMEOUT);
	kb_reply_free(r);
}

void kb_reply_cancel(struct kb_reply *r)
{
	sync_fail(r, -ECANCELED);
}

/* replier will never answer caller's call cookie (it died or dropped it). */
void kb_reply_dead_for(struct kb_conn *replier, uint64_t caller_id, uint64_t cookie)
{
	struct kb_conn *caller = kb_bus_find(replier->bus, caller_id);
	struct kb_reply *r;

	if (!caller)
		return;
	r = reply_find(caller, replier->id, cookie);
	if (!r)
		return;
	if (r->sync) {
		sync_fail(r, -EPIPE);
		return;
	}
	kb_notify_reply(caller, cookie, KDBUS_ITEM_REPLY_DEAD);
	kb_reply_free(r);
}

void kb_replies_on_disconnect(struct kb_conn *c)
{
	struct kb_list *p, *t, *q, *u;

	/* Our own trackers go silently. */
	kb_list_for_each_safe(p, t, &c->replies)
		kb_reply_free(kb_list_entry(p, struct kb_reply, link));
	if (!c->id)
		return;
	/* Everybody still waiting for us: sync callers get EPIPE, async REPLY_DEAD. */
	kb_list_for_each_safe(q, u, &c->bus->conns) {
		struct kb_conn *o = kb_list_entry(q, struct kb_conn, link);

		if (o == c)
			continue;
		kb_list_for_each_safe(p, t, &o->replies) {
			struct kb_reply *r = kb_list_entry(p, struct kb_reply, link);

			if (r->replier_id != c->id)
				continue;
			if (r->sync) {
				sync_fail(r, -EPIPE);
			} else {
				kb_notify_reply(o, r->cookie, KDBUS_ITEM_REPLY_DEAD);
				kb_reply_free(r);
			}
		}
	}
}

static int reply_new(struct kb_tx *tx, struct kb_conn *dst, bool sync, uint64_t serial,
		     struct kb_reply **out)
{
	struct kb_reply *r;

	if (tx->src->n_replies >= KDBUS_CONN_MAX_REQUESTS_PENDING)
		return -EMLINK;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->caller = tx->src;
	r->replier_id = dst->id;
	r->cookie = tx->msg->cookie;
	r->deadline_ns = tx->msg->timeout_ns;
	r->name_id = tx->name_id;
	r->sync = sync;
	r->serial = serial;
	r->cancel = (struct kb_src){ KB_SRC_CANCEL, -1, r };
	kb_list_init(&r->link);
	*out = r;
	return 0;
}

static void reply_link(struct kb_reply *r)
{
	kb_list_add_tail(&r->caller->replies, &r->link);
	r->caller->n_replies++;
	r->caller->bus->n_trackers++;
}

/* ---- the pipeline ---- */

static int resolve(struct kb_tx *tx, struct kb_conn **out)
{
	struct kb_conn *dst;
	int r;

	if (tx->it.dst_name) {
		r = kb_reg_resolve(tx->src->bus, tx->it.dst_name->str, tx->msg, &dst, &tx->name_id);
		if (r < 0)
			return r;
		*out = dst;
		return 0;
	}
	dst = kb_bus_find(tx->src->bus, tx->msg->dst_id);
	if (!dst || !kb_conn_is_ordinary(dst))
		return -ENXIO;
	*out = dst;
	return 0;
}

static int do_unicast(struct kb_tx *tx, uint64_t serial, int *cancel_fd, bool sync)
{
	struct kb_reply *rep = NULL;
	struct kb_conn *dst;
	int r;

	if (sync && tx->msg->timeout_ns <= kd_os_now_mono())
		return -ETIMEDOUT;
	r = resolve(tx, &dst);
	if (r < 0)
		return r;
	if (tx->msg->flags & KDBUS_MSG_SIGNAL) {
		/* Unicast signals: filtered by the receiver, silently (spec 7.3.2). */
		kb_monitors_eavesdrop(tx);
		if (kb_match_msg(dst, tx->src, tx->msg, &tx->it) && kb_policy_talk(dst, tx->src) == 0)
			(void)deliver(tx, dst);
		return 0;
	}
	r = kb_policy_talk(tx->src, dst);
	if (r < 0)
		return r;
	if (tx->msg->flags & KDBUS_MSG_EXPECT_REPLY) {
		r = reply_new(tx, dst, sync, serial, &rep);
		if (r < 0)
			return r;
	}
	kb_monitors_eavesdrop(tx);
	r = deliver(tx, dst);
	if (r < 0) {
		free(rep);
		return r;
	}
	if (rep) {
		if (sync && *cancel_fd >= 0 &&
		    kd_poller_add(tx->src->bus->poller, *cancel_fd, KD_POLL_IN, &rep->cancel) == 0) {
			/* The tracker owns the cancel fd from here on. */
			rep->cancel.fd = *cancel_fd;
			*cancel_fd = -1;
		}
		reply_link(rep);
	}
	return sync ? 1 : 0;
}

static int do_reply(struct kb_tx *tx)
{
	struct kb_conn *dst;
	struct kb_reply *rep;
	uint64_t off, size;
	unsigned int n_fds;
	int *fds, r;

	r = resolve(tx, &dst);
	if (r < 0)
		return r;
	rep = reply_find(dst, tx->src->id, tx->msg->cookie_reply);
	if (!rep)
		return -EBADSLT;
	kb_monitors_eavesdrop(tx);
	if (!rep->sync) {
		kb_reply_free(rep);
		return deliver(tx, dst);
	}
	/* The caller waits in SEND: hand the reply straight to it (spec 7.5.3). */
	if (tx->it.n_fds && !(dst->hello_flags & KDBUS_HELLO_ACCEPT_FD)) {
		sync_fail(rep, -EREMOTEIO);
		return -ECOMM;
	}
	kb_conn_sync(dst);
	r = build(tx, dst, true, &off, &size, &fds, &n_fds);
	if (r < 0) {
		sync_fail(rep, r);
		return r;
	}
	(void)kd_pool_publish(dst->pool, off);
	kd_pool_release_kernel(dst->pool, off);
	{
		struct kdbus_cmd_send out = { 0 };
		struct kd_proto_resp resp = {
			.cmd_size = sizeof(out), .offset = off, .fixup = n_fds ? 1 : 0,
		};

		out.size = sizeof(out);
		out.reply.offset = off;
		out.reply.msg_size = size;
		r = kb_conn_respond_ex(dst, rep->serial, 0, &resp, &out, fds, n_fds);
	}
	while (n_fds--)
		close(fds[n_fds]);
	free(fds);
	kb_reply_free(rep);
	/* A caller that stopped listening cannot take it (spec: ECONNRESET to the replier). */
	return r < 0 ? -ECONNRESET : 0;
}

static int do_broadcast(struct kb_tx *tx)
{
	struct kb_list *p, *t;

	kb_monitors_eavesdrop(tx);
	kb_list_for_each_safe(p, t, &tx->src->bus->conns) {
		struct kb_conn *c = kb_list_entry(p, struct kb_conn, link);

		if (!kb_conn_is_ordinary(c))
			continue;
		if (!kb_match_msg(c, tx->src, tx->msg, &tx->it) || kb_policy_talk(c, tx->src) < 0)
			continue;
		if (deliver(tx, c) < 0)
			kb_conn_lost(c);
	}
	return 0;
}

int kb_send(struct kb_conn *c, uint64_t serial, uint8_t *body, uint64_t size, int *fds,
	    unsigned int n_fds)
{
	struct kd_proto_send *ps = (struct kd_proto_send *)body;
	struct kd_items cit;
	struct kb_tx tx = { .src = c };
	unsigned int slot = 0, i, n_slots;
	int slots[KD_PROTO_MAX_FDS], cancel_fd = -1, r;
	uint64_t pos;

	for (i = 0; i < KD_PROTO_MAX_FDS; i++)
		slots[i] = -1;
	if (size < sizeof(*ps) || ps->cmd_size > size || ps->msg_size > size) {
		r = -EINVAL;
		goto out;
	}
	pos = sizeof(*ps);
	if (KD_ALIGN8(ps->cmd_size) > size - pos) {
		r = -EINVAL;
		goto out;
	}
	tx.cmd = (struct kdbus_cmd_send *)(body + pos);
	r = kd_cmd_validate(KD_CMD_SEND, tx.cmd, ps->cmd_size, false, &cit);
	if (r == 1) {
		r = kb_conn_respond(c, serial, 0, tx.cmd, ps->cmd_size, ~0ull, NULL, 0, 0);
		r = 1;
		goto out;
	}
	if (r < 0)
		goto out;
	pos += KD_ALIGN8(ps->cmd_size);
	if (KD_ALIGN8(ps->msg_size) > size - pos || ps->data_size != size - pos - KD_ALIGN8(ps->msg_size)) {
		r = -EINVAL;
		goto out;
	}
	tx.msg = (struct kdbus_msg *)(body + pos);
	r = kd_cmd_validate(KD_CMD_MSG, tx.msg, ps->msg_size, false, &tx.it);
	if (r < 0)
		goto out;
	pos += KD_ALIGN8(ps->msg_size);
	tx.data = body + pos;
	tx.data_size = ps->data_size;

	/* Map the attached fds back onto their slots (absent = not open at the sender). */
	n_slots = (cit.cancel_fd ? 1 : 0) + tx.it.n_memfds + tx.it.n_fds;
	if (n_slots > KD_PROTO_MAX_FDS || (unsigned int)__builtin_popcountll(ps->fd_valid) != n_fds ||
	    (n_slots < 64 && (ps->fd_valid >> n_slots))) {
		r = -EINVAL;
		goto out;
	}
	for (i = 0; i < n_slots; i++)
		if (ps->fd_valid & (1ull << i))
			slots[i] = fds[slot++];
	n_fds = 0; /* now owned by slots[] */

	if (cit.cancel_fd) {
		cancel_fd = slots[0];
		if (cancel_fd < 0) {
			r = -EBADF;
			goto out;
		}
		r = kd_os_fd_pollable(cancel_fd);
		if (r < 0)
			goto out;
	}
	if (tx.msg->src_id != 0 && tx.msg->src_id != c->id) {
		r = -EINVAL;
		goto out;
	}
	tx.msg->src_id = c->id;
	r = kd_msg_check(tx.msg, &tx.it, tx.cmd->flags, c->bus->bloom_size);
	if (r < 0)
		goto out;
	if (tx.it.vec_data_bytes != tx.data_size) {
		r = -EINVAL;
		goto out;
	}
	/* Import (spec 7.2 step 7). */
	tx.memfds = slots + (cit.cancel_fd ? 1 : 0);
	tx.fds = tx.memfds + tx.it.n_memfds;
	{
		const struct kdbus_item *it;
		unsigned int m = 0;

		KD_ITEMS_FOREACH(it, tx.msg->items, tx.msg->size - sizeof(*tx.msg)) {
			if (it->type != KDBUS_ITEM_PAYLOAD_MEMFD)
				continue;
			r = tx.memfds[m] < 0 ? -EBADF :
			    kd_os_memfd_check(tx.memfds[m], it->memfd.start, it->memfd.size);
			if (r < 0)
				goto out;
			m++;
		}
	}
	for (i = 0; i < tx.it.n_fds; i++) {
		r = tx.fds[i] < 0 ? -EBADF : kd_os_fd_passable(tx.fds[i]);
		if (r < 0)
			goto out;
	}

	if (tx.msg->dst_id == KDBUS_DST_ID_BROADCAST)
		r = do_broadcast(&tx);
	else if (tx.cmd->flags & KDBUS_SEND_SYNC_REPLY) {
		r = do_unicast(&tx, serial, &cancel_fd, true);
		if (cit.cancel_fd)
			slots[0] = cancel_fd;
	} else if ((tx.msg->flags & KDBUS_MSG_EXPECT_REPLY) || tx.msg->cookie_reply == 0) {
		int none = -1;

		r = do_unicast(&tx, serial, &none, false);
	}
	else
		r = do_reply(&tx);
out:
	for (i = 0; i < KD_PROTO_MAX_FDS; i++)
		if (slots[i] >= 0)
			close(slots[i]);
	while (n_fds--)
		close(fds[n_fds]);
	if (r == 0) {
		struct kdbus_cmd_send *cs = tx.cmd;

		cs->return_flags = 0;
		cs->reply.offset = c->pool_size;
		cs->reply.msg_size = 0;
		cs->reply.return_flags = 0;
		(void)kb_conn_respond(c, serial, 0, cs, sizeof(*cs), ~0ull, NULL, 0, 0);
		return 1;
	}
	return r;
}
