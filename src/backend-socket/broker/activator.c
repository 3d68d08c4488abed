/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Activation (spec 9.3, 7.5.5): messages sent by name to an activator, or
 * to the implementer of a name that has one, must be movable between the
 * two when the name changes hands. A notice pushed into a receiver's queue
 * socket cannot be taken back, so such entries are "held": the receiver gets
 * a WAKE notice in their place (poll() turns readable, FIFO order is kept)
 * while the slice, fds and bookkeeping stay in the broker, where a name
 * hand-over can still move them. The reader fetches a held entry with
 * KD_PROTO_FETCH when it meets its WAKE notice. See docs/broker-protocol.md,
 * "Activators".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend-socket/broker/reg.h"
#include "core/pool.h"

int kb_act_add(struct kb_reg *reg, struct kb_conn *c)
{
	if (reg->n_activators == reg->cap_activators) {
		unsigned int cap = reg->cap_activators ? reg->cap_activators * 2 : 8;
		struct kb_conn **v = realloc(reg->activators, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		reg->activators = v;
		reg->cap_activators = cap;
	}
	reg->activators[reg->n_activators++] = c;
	return 0;
}

void kb_act_remove(struct kb_reg *reg, struct kb_conn *c)
{
	unsigned int i;

	for (i = 0; i < reg->n_activators; i++) {
		if (reg->activators[i] == c) {
			reg->activators[i] = reg->activators[--reg->n_activators];
			return;
		}
	}
}

/* Whether the name tagged name_id currently has an activator. */
static bool name_has_activator(struct kb_reg *reg, uint64_t name_id)
{
	const struct kd_name_record *rec;
	unsigned int i;

	for (i = 0; i < reg->n_activators; i++) {
		rec = kd_name_owner_first(&reg->activators[i]->names);
		if (rec && kd_name_record_name_id(rec) == name_id)
			return true;
	}
	return false;
}

bool kb_reg_hold(struct kb_conn *c, const struct kb_entry *e)
{
	struct kb_reg *reg = c->bus->reg;

	if (e->kind != KB_ENTRY_MSG)
		return false;
	if (c->hello_flags & KDBUS_HELLO_ACTIVATOR)
		return true;
	/* An implementer's by-name messages may have to go back to the activator. */
	return reg && e->name_id && kb_conn_is_ordinary(c) && name_has_activator(reg, e->name_id);
}

/* Move e (already unlinked from `from`) into to's queue; on error nothing changed. */
static int move_one(struct kb_conn *from, struct kb_conn *to, struct kb_entry *e)
{
	uint64_t off;
	int r;

	if (to->state != KB_CONN_CONNECTED || !to->pool)
		return -ECONNRESET;
	if (e->n_fds > e->n_memfds && !(to->hello_flags & KDBUS_HELLO_ACCEPT_FD))
		return -ECOMM;
	kb_conn_sync(to);
	r = kb_conn_quota(to, e->quota_key, e->size, e->n_fds_quota);
	if (r < 0)
		return r;
	r = kb_conn_pool_alloc(to, e->size, true, &off);
	if (r < 0)
		return r;
	/* The slice moves as written for the first receiver, as kdbus copies it. */
	memcpy(to->pool_map + off, from->pool_map + e->off, e->size);
	kb_conn_quota_charge(from, e->quota_key, e->size, e->n_fds_quota, -1);
	kd_pool_release_kernel(from->pool, e->off);
	if (from->n_queued)
		from->n_queued--;
	e->off = off;
	e->seq = 0;
	e->held = false;
	kb_conn_quota_charge(to, e->quota_key, e->size, e->n_fds_quota, +1);
	return kb_conn_enqueue(to, e);
}

static void collect(struct kb_list *src, struct kb_list *dst, uint64_t name_id, bool pushed)
{
	struct kb_list *p, *t;

	kb_list_for_each_safe(p, t, src) {
		struct kb_entry *e = kb_list_entry(p, struct kb_entry, link);

		/* Pushed entries can move only if held: their notice is just a WAKE. */
		if (e->kind != KB_ENTRY_MSG || e->taken || e->name_id != name_id ||
		    (pushed && !e->held))
			continue;
		kb_list_del(&e->link);
		kb_list_add_tail(dst, &e->link);
	}
}

void kb_act_move(struct kb_conn *from, struct kb_conn *to, uint64_t name_id)
{
	struct kb_list moved = KB_LIST_INIT(moved), *p, *t, *q, *u;

	if (!from || !to || !from->pool)
		return;
	kb_conn_sync(from);
	collect(&from->queue, &moved, name_id, true);
	collect(&from->pending, &moved, name_id, false);
	kb_list_for_each_safe(p, t, &moved) {
		struct kb_entry *e = kb_list_entry(p, struct kb_entry, link);

		kb_list_del(&e->link);
		if (move_one(from, to, e) == 0)
			continue;
		/* Spec 8.4: what does not fit the new queue is destroyed and counted there. */
		if (e->expect_reply)
			kb_reply_dead_for(from, e->src_id, e->cookie);
		kb_entry_free(from, e, true);
		kb_conn_lost(to);
	}
	/* Trackers waiting for a reply from `from` for this name now wait for `to` (spec 7.5.5). */
	kb_list_for_each_safe(q, u, &from->bus->conns) {
		struct kb_conn *o = kb_list_entry(q, struct kb_conn, link);

		kb_list_for_each_safe(p, t, &o->replies) {
			struct kb_reply *r = kb_list_entry(p, struct kb_reply, link);

			if (r->replier_id == from->id && r->name_id == name_id)
				r->replier_id = to->id;
		}
	}
}

int kb_conn_fetch(struct kb_conn *c, uint64_t serial, uint64_t seq, const uint8_t *body,
		  uint64_t len)
{
	struct kdbus_cmd_recv cmd;
	struct kd_proto_resp resp = { .cmd_size = sizeof(cmd) };
	struct kb_entry *e = NULL;
	struct kb_list *p, *t;
	int r;

	if (len != sizeof(cmd) || c->state != KB_CONN_CONNECTED)
		return -EINVAL;
	memcpy(&cmd, body, sizeof(cmd));
	kb_conn_sync(c);
	kb_list_for_each_safe(p, t, &c->queue) {
		struct kb_entry *x = kb_list_entry(p, struct kb_entry, link);

		if (x->seq == seq && x->held && x->kind == KB_ENTRY_MSG && !x->taken) {
			e = x;
			break;
		}
	}
	if (!e)
		return -ESTALE; /* moved away by a name hand-over: the WAKE was stale */
	cmd.msg.offset = e->off;
	cmd.msg.msg_size = e->size;
	cmd.msg.return_flags = 0;
	resp.offset = e->off;
	if (cmd.flags & KDBUS_RECV_PEEK) {
		/* Stays queued and movable; the reader keeps a local reference, no fds. */
		r = kb_conn_respond_ex(c, serial, 0, &resp, &cmd, NULL, 0);
		return r < 0 ? r : 1;
	}
	(void)kd_pool_publish(c->pool, e->off);
	resp.fixup = e->fixup;
	kb_conn_quota_charge(c, e->quota_key, e->size, e->n_fds_quota, -1);
	kd_pool_release_kernel(c->pool, e->off);
	e->taken = true;
	kb_list_del(&e->link);
	r = kb_conn_respond_ex(c, serial, 0, &resp, &cmd, e->fds, e->n_fds);
	kb_entry_free(c, e, false);
	return r < 0 ? r : 1;
}
