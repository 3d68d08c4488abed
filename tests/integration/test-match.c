/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Conformance: match database, bloom filters, broadcasts and kernel
 * notifications (kdbus-spec §7.3, §8.1-8.4, §9.5, §9.6).
 */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#define MS 1000000ULL

static struct kt_conn *conn(struct kt_bus *bus)
{
	struct kt_conn *c = kt_conn_new(bus);

	if (!c)
		fail_msg("HELLO failed: %s", strerror(errno));
	return c;
}

static struct kdbus_msg *recv1(struct kt_conn *c)
{
	struct kdbus_msg *m = NULL;
	int r = kt_recv_poll(c, 2000, &m);

	if (r < 0)
		fail_msg("expected a message on conn %llu: %s", (unsigned long long)c->id,
			 kt_strerr(r));
	return m;
}

/* §8.1: the shape of every broadcast kernel notification. */
static void assert_notify(struct kt_conn *c, struct kdbus_msg *m, uint64_t type)
{
	kt_assert_msg(m->src_id == KDBUS_SRC_ID_KERNEL, c, m);
	kt_assert_msg(m->dst_id == KDBUS_DST_ID_BROADCAST, c, m);
	kt_assert_msg(m->flags == KDBUS_MSG_SIGNAL, c, m);
	kt_assert_msg(m->payload_type == KDBUS_PAYLOAD_KERNEL, c, m);
	kt_assert_msg(m->cookie == 0 && m->cookie_reply == 0 && m->priority == 0, c, m);
	kt_assert_msg(m->items[0].type == type, c, m);
	/* nothing but the notification and a timestamp */
	kt_assert_msg(kt_msg_count(m, KDBUS_ITEM_TIMESTAMP) == 1, c, m);
	kt_assert_msg(kt_count_items(m->items, m->size - sizeof(*m), KDBUS_ITEM_CREDS) == 0, c, m);
	kt_assert_msg(KDBUS_ITEM_NEXT(&m->items[0])->type == KDBUS_ITEM_TIMESTAMP, c, m);
}

static void expect_id(struct kt_conn *c, uint64_t type, uint64_t id, uint64_t flags)
{
	struct kdbus_msg *m = recv1(c);

	assert_notify(c, m, type);
	kt_assert_msg(m->items[0].size == KDBUS_ITEM_HEADER_SIZE + 16, c, m);
	kt_assert_msg(m->items[0].id_change.id == id, c, m);
	kt_assert_msg(m->items[0].id_change.flags == flags, c, m);
	kt_msg_release(c, m);
}

/*
 * NAME_* with exact ids (§8.1). The new owner is primary by definition; of the
 * old owner only the stored request bits are fixed by the spec.
 */
static void expect_name(struct kt_conn *c, uint64_t type, uint64_t old_id, uint64_t old_flags,
			uint64_t new_id, uint64_t new_flags, const char *name)
{
	const uint64_t mask = KDBUS_NAME_ALLOW_REPLACEMENT | KDBUS_NAME_QUEUE | KDBUS_NAME_PRIMARY |
			      KDBUS_NAME_ACTIVATOR;
	const uint64_t stored = KDBUS_NAME_ALLOW_REPLACEMENT | KDBUS_NAME_QUEUE;
	struct kdbus_msg *m = recv1(c);
	struct kdbus_notify_name_change *nc = &m->items[0].name_change;

	assert_notify(c, m, type);
	kt_assert_msg(m->items[0].size == KDBUS_ITEM_HEADER_SIZE + 32 + strlen(name) + 1, c, m);
	kt_assert_msg(!strcmp(nc->name, name), c, m);
	kt_assert_msg(nc->old_id.id == old_id, c, m);
	kt_assert_msg(nc->new_id.id == new_id, c, m);
	kt_assert_msg((nc->old_id.flags & stored) == (old_flags & stored), c, m);
	kt_assert_msg((nc->new_id.flags & mask) == new_flags, c, m);
	kt_msg_release(c, m);
}

static void test_match_id_add(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b, *c;

	assert_ret(kt_match_id(a, 0xdeafbeefdeaddead, KDBUS_ITEM_ID_ADD, KDBUS_MATCH_ID_ANY), 0);
	b = conn(bus);
	/* flags are the new connection's HELLO flags (§8.1) */
	expect_id(a, KDBUS_ITEM_ID_ADD, b->id, KDBUS_HELLO_ACCEPT_FD);
	c = kt_hello(bus->path, 0, NULL);
	assert_non_null(c);
	expect_id(a, KDBUS_ITEM_ID_ADD, c->id, 0);
	/* ID_ADD rules do not match removals */
	kt_conn_free(b);
	kt_conn_free(c);
	assert_ret(kt_expect_empty(a), 0);
	kt_conn_free(a);
}

static void test_match_id_remove(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus), *c = conn(bus);
	uint64_t bid = b->id;

	assert_ret(kt_match_id(a, 1, KDBUS_ITEM_ID_REMOVE, bid), 0);
	/* another id → no match */
	kt_conn_free(c);
	kt_conn_free(b);
	expect_id(a, KDBUS_ITEM_ID_REMOVE, bid, KDBUS_HELLO_ACCEPT_FD);
	assert_ret(kt_expect_empty(a), 0);
	/* BYEBYE is a removal too */
	b = conn(bus);
	assert_ret(kt_match_id(a, 2, KDBUS_ITEM_ID_REMOVE, b->id), 0);
	assert_ret(kt_byebye(b), 0);
	expect_id(a, KDBUS_ITEM_ID_REMOVE, b->id, KDBUS_HELLO_ACCEPT_FD);
	kt_conn_free(b);
	kt_conn_free(a);
}

static void test_match_replace(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b;
	struct kdbus_notify_id_change ic = { .id = KDBUS_MATCH_ID_ANY };
	struct kt_items it;
	uint64_t bid;

	assert_ret(kt_match_id(a, 0x77, KDBUS_ITEM_ID_ADD, KDBUS_MATCH_ID_ANY), 0);
	kt_items_init(&it);
	kt_items_add(&it, KDBUS_ITEM_ID_REMOVE, &ic, sizeof(ic));
	/* §9.6 REPLACE: same cookie entries go first */
	assert_ret(kt_match_add(a, 0x77, KDBUS_MATCH_REPLACE, &it), 0);
	kt_items_deinit(&it);
	b = conn(bus);
	bid = b->id;
	kt_conn_free(b);
	expect_id(a, KDBUS_ITEM_ID_REMOVE, bid, KDBUS_HELLO_ACCEPT_FD);
	assert_ret(kt_expect_empty(a), 0);
	kt_conn_free(a);
}

static void test_match_remove(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b;
	struct kdbus_cmd_match *cmd;
	struct kt_items it;

	/* two entries under one cookie: REMOVE drops both */
	assert_ret(kt_match_id(a, 5, KDBUS_ITEM_ID_ADD, KDBUS_MATCH_ID_ANY), 0);
	assert_ret(kt_match_id(a, 5, KDBUS_ITEM_ID_REMOVE, KDBUS_MATCH_ID_ANY), 0);
	assert_ret(kt_match_remove(a, 5), 0);
	assert_ret(kt_match_remove(a, 5), -EBADSLT);
	assert_ret(kt_match_remove(a, 6), -EBADSLT);
	b = conn(bus);
	kt_conn_free(b);
	assert_ret(kt_expect_empty(a), 0);
	/* MATCH_REMOVE takes no items */
	assert_ret(kt_match_id(a, 7, KDBUS_ITEM_ID_ADD, KDBUS_MATCH_ID_ANY), 0);
	kt_items_init(&it);
	kt_items_add_u64(&it, KDBUS_ITEM_ID, 1);
	cmd = kt_cmd_new(sizeof(*cmd), &it);
	cmd->cookie = 7;
	assert_ret(kdbus_cmd_match_remove(a->fd, cmd), -EINVAL);
	free(cmd);
	kt_items_deinit(&it);
	/* the failed remove left the entry alone */
	b = conn(bus);
	expect_id(a, KDBUS_ITEM_ID_ADD, b->id, KDBUS_HELLO_ACCEPT_FD);
	kt_conn_free(b);
	kt_conn_free(a);
}

static void test_match_name_add(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);

	assert_ret(kt_match_name(a, 1, KDBUS_ITEM_NAME_ADD, KDBUS_MATCH_ID_ANY, KDBUS_MATCH_ID_ANY,
				 "foo.bla.blaz"),
		   0);
	/* other names do not match */
	assert_ret(kt_name_acquire(b, "foo.bla.other", 0, NULL), 0);
	/* the acquirer itself gets it when it matches (§8.2) */
	assert_ret(kt_name_acquire(a, "foo.bla.blaz", 0, NULL), 0);
	expect_name(a, KDBUS_ITEM_NAME_ADD, 0, 0, a->id, KDBUS_NAME_PRIMARY, "foo.bla.blaz");
	/* queueing generates nothing */
	assert_ret(kt_name_acquire(b, "foo.bla.blaz", KDBUS_NAME_QUEUE, NULL), 0);
	assert_ret(kt_expect_empty(a), 0);
	kt_conn_free(a);
	kt_conn_free(b);
}

static void test_match_name_remove(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	uint64_t bid = b->id;

	assert_ret(kt_match_name(a, 1, KDBUS_ITEM_NAME_REMOVE, KDBUS_MATCH_ID_ANY,
				 KDBUS_MATCH_ID_ANY, "foo.bla.blaz"),
		   0);
	assert_ret(kt_name_acquire(a, "foo.bla.blaz", KDBUS_NAME_ALLOW_REPLACEMENT, NULL), 0);
	assert_ret(kt_expect_empty(a), 0);
	assert_ret(kt_name_release(a, "foo.bla.blaz"), 0);
	expect_name(a, KDBUS_ITEM_NAME_REMOVE, a->id,
		    KDBUS_NAME_PRIMARY | KDBUS_NAME_ALLOW_REPLACEMENT, 0, 0, "foo.bla.blaz");
	/* disconnecting releases the name */
	assert_ret(kt_name_acquire(b, "foo.bla.blaz", 0, NULL), 0);
	kt_conn_free(b);
	expect_name(a, KDBUS_ITEM_NAME_REMOVE, bid, KDBUS_NAME_PRIMARY, 0, 0, "foo.bla.blaz");
	assert_ret(kt_expect_empty(a), 0);
	kt_conn_free(a);
}

static void test_match_name_change(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus), *c = conn(bus);
	uint64_t rf;

	assert_ret(kt_match_name(a, 1, KDBUS_ITEM_NAME_CHANGE, KDBUS_MATCH_ID_ANY,
				 KDBUS_MATCH_ID_ANY, "foo.bla.blaz"),
		   0);
	assert_ret(kt_name_acquire(a, "foo.bla.blaz", 0, NULL), 0);
	assert_ret(kt_name_acquire(b, "foo.bla.blaz", KDBUS_NAME_QUEUE, &rf), 0);
	assert_true(rf & KDBUS_NAME_IN_QUEUE);
	assert_ret(kt_expect_empty(a), 0);
	assert_ret(kt_name_release(a, "foo.bla.blaz"), 0);
	expect_name(a, KDBUS_ITEM_NAME_CHANGE, a->id, KDBUS_NAME_PRIMARY, b->id,
		    KDBUS_NAME_PRIMARY | KDBUS_NAME_QUEUE, "foo.bla.blaz");
	/* a takeover is a change as well */
	assert_ret(kt_name_acquire(b, "foo.bla.blaz", KDBUS_NAME_ALLOW_REPLACEMENT, NULL), 0);
	assert_ret(kt_name_acquire(c, "foo.bla.blaz", KDBUS_NAME_REPLACE_EXISTING, NULL), 0);
	expect_name(a, KDBUS_ITEM_NAME_CHANGE, b->id,
		    KDBUS_NAME_PRIMARY | KDBUS_NAME_ALLOW_REPLACEMENT, c->id, KDBUS_NAME_PRIMARY,
		    "foo.bla.blaz");
	assert_ret(kt_expect_empty(a), 0);
	kt_conn_free(a);
	kt_conn_free(b);
	kt_conn_free(c);
}

static void test_match_name_rules(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus), *c = conn(bus);

	/* no name (48-byte item) = any name; old/new ids must match or be ANY (§9.6) */
	assert_ret(kt_match_name(a, 1, KDBUS_ITEM_NAME_ADD, KDBUS_MATCH_ID_ANY, b->id, NULL), 0);
	/* zero-filled: only old = new = 0, which never happens */
	assert_ret(kt_match_name(a, 2, KDBUS_ITEM_NAME_ADD, 0, 0, NULL), 0);
	assert_ret(kt_name_acquire(c, "com.example.c", 0, NULL), 0);
	assert_ret(kt_expect_empty(a), 0);
	assert_ret(kt_name_acquire(b, "com.example.b1", 0, NULL), 0);
	expect_name(a, KDBUS_ITEM_NAME_ADD, 0, 0, b->id, KDBUS_NAME_PRIMARY, "com.example.b1");
	assert_ret(kt_name_acquire(b, "com.example.b2", 0, NULL), 0);
	expect_name(a, KDBUS_ITEM_NAME_ADD, 0, 0, b->id, KDBUS_NAME_PRIMARY, "com.example.b2");
	/* old = 0 explicitly, new ANY */
	assert_ret(kt_match_name(a, 3, KDBUS_ITEM_NAME_ADD, 0, KDBUS_MATCH_ID_ANY, "com.example.c2"),
		   0);
	assert_ret(kt_name_acquire(c, "com.example.c2", 0, NULL), 0);
	expect_name(a, KDBUS_ITEM_NAME_ADD, 0, 0, c->id, KDBUS_NAME_PRIMARY, "com.example.c2");
	/* a NAME_ADD rule never matches NAME_REMOVE */
	assert_ret(kt_name_release(b, "com.example.b1"), 0);
	assert_ret(kt_expect_empty(a), 0);
	kt_conn_free(a);
	kt_conn_free(b);
	kt_conn_free(c);
}

static void test_match_notification_order(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *c;
	struct kt_items it;
	struct kdbus_msg *m;
	uint64_t cid, seq = 0;
	unsigned int i;
	static const uint64_t want[] = { KDBUS_ITEM_ID_ADD,	 KDBUS_ITEM_NAME_ADD,
					 KDBUS_ITEM_NAME_ADD,	 KDBUS_ITEM_NAME_REMOVE,
					 KDBUS_ITEM_NAME_REMOVE, KDBUS_ITEM_REPLY_DEAD,
					 KDBUS_ITEM_ID_REMOVE };

	/* an entry without rules matches every notification (§9.6) */
	kt_items_init(&it);
	assert_ret(kt_match_add(a, 1, 0, &it), 0);
	kt_items_deinit(&it);
	c = conn(bus);
	cid = c->id;
	assert_ret(kt_name_acquire(c, "com.example.o1", 0, NULL), 0);
	assert_ret(kt_name_acquire(c, "com.example.o2", 0, NULL), 0);
	assert_ret(kt_send_call(a, cid, 0x51, 10000 * MS), 0);
	assert_ret(kt_recv_poll(c, 2000, &m), 0);
	kt_msg_release(c, m);
	/* §8.2 disconnect order: NAME_* per name, REPLY_DEAD, ID_REMOVE */
	kt_conn_free(c);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct kdbus_item *ts;

		m = recv1(a);
		kt_assert_msg(m->items[0].type == want[i], a, m);
		if (want[i] == KDBUS_ITEM_REPLY_DEAD)
			kt_assert_msg(m->cookie_reply == 0x51 && m->dst_id == a->id, a, m);
		else if (want[i] == KDBUS_ITEM_ID_ADD || want[i] == KDBUS_ITEM_ID_REMOVE)
			kt_assert_msg(m->items[0].id_change.id == cid, a, m);
		else
			kt_assert_msg(m->items[0].name_change.old_id.id == cid ||
					      m->items[0].name_change.new_id.id == cid,
				      a, m);
		/* each notification gets its own sequence number */
		ts = kt_msg_item(m, KDBUS_ITEM_TIMESTAMP);
		kt_assert_msg(ts != NULL && ts->timestamp.seqnum > seq, a, m);
		seq = ts->timestamp.seqnum;
		kt_msg_release(a, m);
	}
	assert_ret(kt_expect_empty(a), 0);
	kt_conn_free(a);
}

static void fill(uint8_t *mask, unsigned int byte, uint8_t v)
{
	mask[byte] |= v;
}

static int send_bloom(struct kt_conn *c, uint64_t cookie, uint64_t generation,
		      const uint8_t *filter)
{
	return kt_send_signal(c, KDBUS_DST_ID_BROADCAST, cookie, generation, filter);
}

static void expect_signal(struct kt_conn *c, uint64_t src, uint64_t cookie)
{
	struct kdbus_msg *m = recv1(c);

	kt_assert_msg(m->cookie == cookie && m->src_id == src, c, m);
	kt_assert_msg(m->flags == KDBUS_MSG_SIGNAL, c, m);
	kt_msg_release(c, m);
}

static void test_match_bloom(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	uint8_t mask[2 * KT_BLOOM_SIZE] = { 0 }, filter[KT_BLOOM_SIZE] = { 0 };
	struct kdbus_item *item;
	struct kdbus_msg *m;

	assert_int_equal(a->bloom.size, KT_BLOOM_SIZE);
	/* generation 0 mask, generation 1 mask (§9.5) */
	fill(mask, 0, 0x55);
	fill(mask, 63, 0x80);
	fill(mask, KT_BLOOM_SIZE + 1, 0xaa);
	fill(mask, KT_BLOOM_SIZE + 9, 0x02);
	assert_ret(kt_match_bloom(a, 0xf00f, mask, sizeof(mask)), 0);

	/* all-zero filter: the mask bits are not in it */
	assert_ret(send_bloom(b, 1, 0, filter), 0);
	assert_ret(kt_expect_empty(a), 0);
	/* exactly the mask */
	memcpy(filter, mask, KT_BLOOM_SIZE);
	assert_ret(send_bloom(b, 2, 0, filter), 0);
	m = recv1(a);
	kt_assert_msg(m->cookie == 2 && m->dst_id == KDBUS_DST_ID_BROADCAST, a, m);
	/* the filter travels verbatim (§6.3) */
	item = kt_msg_item(m, KDBUS_ITEM_BLOOM_FILTER);
	kt_assert_msg(item && item->size == KDBUS_ITEM_HEADER_SIZE + 8 + KT_BLOOM_SIZE, a, m);
	kt_assert_msg(item->bloom_filter.generation == 0, a, m);
	kt_assert_msg(!memcmp(item->bloom_filter.data, filter, KT_BLOOM_SIZE), a, m);
	kt_msg_release(a, m);
	/* a broader filter still matches */
	filter[0] = 0xff;
	filter[8] = 0xff;
	filter[63] = 0xff;
	assert_ret(send_bloom(b, 3, 0, filter), 0);
	expect_signal(a, b->id, 3);
	/* generation 1 uses the second mask */
	assert_ret(send_bloom(b, 4, 1, filter), 0);
	assert_ret(kt_expect_empty(a), 0);
	filter[1] |= 0xaa;
	filter[9] |= 0x02;
	assert_ret(send_bloom(b, 5, 1, filter), 0);
	expect_signal(a, b->id, 5);
	/* generations beyond the last mask use the last one */
	assert_ret(send_bloom(b, 6, 17, filter), 0);
	expect_signal(a, b->id, 6);
	memset(filter, 0, sizeof(filter));
	memcpy(filter, mask, KT_BLOOM_SIZE);
	assert_ret(send_bloom(b, 7, 17, filter), 0);
	assert_ret(kt_expect_empty(a), 0);

	/* mask sizes: a non-zero multiple of the bloom size (§3.2) */
	assert_ret(kt_match_bloom(a, 1, mask, KT_BLOOM_SIZE + 8), -EDOM);
	assert_ret(kt_match_bloom(a, 1, mask, 8), -EDOM);
	assert_ret(kt_match_bloom(a, 1, mask, 0), -EDOM);
	kt_conn_free(a);
	kt_conn_free(b);
}

static void test_match_zero_mask(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	uint8_t mask[KT_BLOOM_SIZE] = { 0 }, filter[KT_BLOOM_SIZE] = { 0 };

	/* an all-zero mask matches every filter */
	assert_ret(kt_match_bloom(a, 1, mask, sizeof(mask)), 0);
	assert_ret(send_bloom(b, 1, 0, filter), 0);
	expect_signal(a, b->id, 1);
	memset(filter, 0xff, sizeof(filter));
	assert_ret(send_bloom(b, 2, 3, filter), 0);
	expect_signal(a, b->id, 2);
	kt_conn_free(a);
	kt_conn_free(b);
}

static void test_broadcast(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus), *c = conn(bus);
	struct kdbus_cmd_recv rc;
	struct kdbus_msg *m;

	assert_ret(kt_match_any_signal(a), 0);
	assert_ret(kt_match_any_signal(b), 0);
	/* §7.3.3: every matching ordinary connection, the sender included */
	assert_ret(kt_send_signal(a, KDBUS_DST_ID_BROADCAST, 0x11, 0, NULL), 0);
	expect_signal(a, a->id, 0x11);
	m = recv1(b);
	kt_assert_msg(m->cookie == 0x11 && m->dst_id == KDBUS_DST_ID_BROADCAST, b, m);
	kt_msg_release(b, m);
	/* c has no match */
	assert_ret(kt_expect_empty(c), 0);
	/* nor do broadcasts bump anyone's lost counter */
	assert_ret(kt_recv(c, 0, 0, NULL, &rc), -EAGAIN);
	assert_int_equal(rc.dropped_msgs, 0);
	/* ID rules: only that sender */
	{
		struct kt_items it;

		kt_items_init(&it);
		kt_items_add_u64(&it, KDBUS_ITEM_ID, b->id);
		assert_ret(kt_match_add(c, 9, 0, &it), 0);
		kt_items_deinit(&it);
	}
	assert_ret(kt_send_signal(a, KDBUS_DST_ID_BROADCAST, 0x12, 0, NULL), 0);
	assert_ret(kt_send_signal(b, KDBUS_DST_ID_BROADCAST, 0x13, 0, NULL), 0);
	expect_signal(c, b->id, 0x13);
	assert_ret(kt_expect_empty(c), 0);
	kt_conn_free(a);
	kt_conn_free(b);
	kt_conn_free(c);
}

static void test_unicast_signal(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	struct kdbus_cmd_recv rc;
	struct kt_items it;

	/* §7.3.2: without a match the destination drops it silently, uncounted */
	assert_ret(kt_send_signal(a, b->id, 1, 0, NULL), 0);
	assert_ret(kt_recv(b, 0, 0, NULL, &rc), -EAGAIN);
	assert_int_equal(rc.dropped_msgs, 0);
	assert_int_equal(rc.return_flags, 0);
	/* but lookup errors do reach the sender */
	assert_ret(kt_send_signal(a, 0x7fffffffff, 1, 0, NULL), -ENXIO);
	/*
	 * DST_ID rules (§9.6): another id matches neither a unicast signal to b
	 * nor a broadcast; b's own id matches only the unicast signal. (A rule of
	 * ~0 is KDBUS_MATCH_ID_ANY and would match both.)
	 */
	kt_items_init(&it);
	kt_items_add_u64(&it, KDBUS_ITEM_DST_ID, a->id);
	assert_ret(kt_match_add(b, 1, 0, &it), 0);
	kt_items_deinit(&it);
	assert_ret(kt_send_signal(a, b->id, 2, 0, NULL), 0);
	assert_ret(kt_send_signal(a, KDBUS_DST_ID_BROADCAST, 3, 0, NULL), 0);
	assert_ret(kt_expect_empty(b), 0);
	kt_items_init(&it);
	kt_items_add_u64(&it, KDBUS_ITEM_DST_ID, b->id);
	assert_ret(kt_match_add(b, 2, 0, &it), 0);
	kt_items_deinit(&it);
	assert_ret(kt_send_signal(a, KDBUS_DST_ID_BROADCAST, 5, 0, NULL), 0);
	assert_ret(kt_expect_empty(b), 0);
	assert_ret(kt_send_signal(a, b->id, 4, 0, NULL), 0);
	{
		struct kdbus_msg *m = recv1(b);

		kt_assert_msg(m->cookie == 4 && m->dst_id == b->id, b, m);
		kt_assert_msg(m->flags == KDBUS_MSG_SIGNAL, b, m);
		kt_msg_release(b, m);
	}
	kt_conn_free(a);
	kt_conn_free(b);
}

static void test_match_sender_name(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus), *c = conn(bus);
	struct kt_items it;

	kt_items_init(&it);
	kt_items_add_str(&it, KDBUS_ITEM_NAME, "com.example.sig");
	assert_ret(kt_match_add(a, 1, 0, &it), 0);
	kt_items_deinit(&it);
	/* §9.6 NAME rule: the sender owns the name as primary */
	assert_ret(kt_send_signal(b, KDBUS_DST_ID_BROADCAST, 1, 0, NULL), 0);
	assert_ret(kt_expect_empty(a), 0);
	assert_ret(kt_name_acquire(b, "com.example.sig", 0, NULL), 0);
	assert_ret(kt_name_acquire(c, "com.example.sig", KDBUS_NAME_QUEUE, NULL), 0);
	assert_ret(kt_send_signal(b, KDBUS_DST_ID_BROADCAST, 2, 0, NULL), 0);
	expect_signal(a, b->id, 2);
	/* queued is not enough */
	assert_ret(kt_send_signal(c, KDBUS_DST_ID_BROADCAST, 3, 0, NULL), 0);
	assert_ret(kt_expect_empty(a), 0);
	/* an entry ANDs its rules: name and an id that does not fit */
	kt_items_init(&it);
	kt_items_add_str(&it, KDBUS_ITEM_NAME, "com.example.sig");
	kt_items_add_u64(&it, KDBUS_ITEM_ID, c->id);
	assert_ret(kt_match_add(a, 1, KDBUS_MATCH_REPLACE, &it), 0);
	kt_items_deinit(&it);
	assert_ret(kt_send_signal(b, KDBUS_DST_ID_BROADCAST, 4, 0, NULL), 0);
	assert_ret(kt_expect_empty(a), 0);
	/* invalid names in rules */
	kt_items_init(&it);
	kt_items_add_str(&it, KDBUS_ITEM_NAME, "nodots");
	assert_ret(kt_match_add(a, 2, 0, &it), -EINVAL);
	kt_items_deinit(&it);
	kt_conn_free(a);
	kt_conn_free(b);
	kt_conn_free(c);
}

static void test_match_limit(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus);
	unsigned int i;

	/* §10.1: 256 entries → EMFILE */
	for (i = 0; i < KT_MAX_MATCHES; i++)
		assert_ret(kt_match_id(a, i + 1, KDBUS_ITEM_ID_ADD, KDBUS_MATCH_ID_ANY), 0);
	assert_ret(kt_match_id(a, 1000, KDBUS_ITEM_ID_ADD, KDBUS_MATCH_ID_ANY), -EMFILE);
	/* REPLACE checks the limit after removal */
	{
		struct kdbus_notify_id_change ic = { .id = KDBUS_MATCH_ID_ANY };
		struct kt_items it;

		kt_items_init(&it);
		kt_items_add(&it, KDBUS_ITEM_ID_REMOVE, &ic, sizeof(ic));
		assert_ret(kt_match_add(a, 1, KDBUS_MATCH_REPLACE, &it), 0);
		kt_items_deinit(&it);
	}
	assert_ret(kt_match_remove(a, 2), 0);
	assert_ret(kt_match_id(a, 1000, KDBUS_ITEM_ID_ADD, KDBUS_MATCH_ID_ANY), 0);
	kt_conn_free(a);
}

static void test_dropped_msgs(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *d;
	static uint8_t data[12000];
	struct kdbus_cmd_recv rc;
	struct kdbus_msg *m;
	uint8_t bloom[KT_BLOOM_SIZE] = { 0 };
	short rev;
	unsigned int i;
	int r;

	r = kt_hello_full(&d, bus->path, 0, _KDBUS_ATTACH_ALL, 0, 65536, NULL);
	assert_ret(r, 0);
	assert_ret(kt_match_any_signal(d), 0);
	/* §8.4: broadcasts that do not fit are lost and counted; the sender gets 0 */
	for (i = 0; i < 3; i++) {
		m = kt_msg_new(KDBUS_DST_ID_BROADCAST, KDBUS_MSG_SIGNAL, i + 1);
		kt_msg_add_bloom(m, 0, bloom, sizeof(bloom));
		kt_msg_add_vec(m, data, 8000);
		assert_ret(kt_send(a, m, 0, -1, NULL), 0);
		kt_msg_free(m);
	}
	assert_ret(kt_recv(d, 0, 0, &m, &rc), 0);
	kt_assert_msg(m->cookie == 1, d, m);
	assert_int_equal(rc.dropped_msgs, 2);
	assert_int_equal(rc.return_flags, KDBUS_RECV_RETURN_DROPPED_MSGS);
	kt_msg_release(d, m);
	/* reset by the read */
	assert_ret(kt_recv(d, 0, 0, NULL, &rc), -EAGAIN);
	assert_int_equal(rc.dropped_msgs, 0);
	assert_int_equal(rc.return_flags, 0);

	/* a lost message alone makes the fd readable and is reported with EAGAIN */
	m = kt_msg_new(KDBUS_DST_ID_BROADCAST, KDBUS_MSG_SIGNAL, 9);
	kt_msg_add_bloom(m, 0, bloom, sizeof(bloom));
	kt_msg_add_vec(m, data, sizeof(data));
	assert_ret(kt_send(a, m, 0, -1, NULL), 0);
	kt_msg_free(m);
	assert_int_equal(kt_poll(d, 2000, &rev), 1);
	assert_ret(kt_recv(d, 0, 0, NULL, &rc), -EAGAIN);
	assert_int_equal(rc.dropped_msgs, 1);
	assert_int_equal(rc.return_flags, KDBUS_RECV_RETURN_DROPPED_MSGS);
	assert_int_equal(kt_poll(d, 0, &rev), 0);
	assert_ret(kt_recv(d, 0, 0, NULL, &rc), -EAGAIN);
	assert_int_equal(rc.dropped_msgs, 0);
	kt_conn_free(a);
	kt_conn_free(d);
}

static void test_notify_kernel_quota(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *r = conn(bus), *a = conn(bus), *x;
	struct kdbus_cmd_recv rc;
	struct kdbus_msg *m;
	unsigned int i, n;

	assert_ret(kt_match_id(r, 1, KDBUS_ITEM_ID_ADD, KDBUS_MATCH_ID_ANY), 0);
	assert_ret(kt_match_id(r, 2, KDBUS_ITEM_ID_REMOVE, KDBUS_MATCH_ID_ANY), 0);
	/* 256 notifications fill the kernel user's budget (§8.3) */
	for (i = 0; i < KT_MAX_MSGS / 2; i++) {
		x = kt_hello(bus->path, 0, NULL);
		assert_non_null(x);
		kt_conn_free(x);
	}
	/* user traffic has its own budget */
	assert_ret(kt_send_simple(a, r->id, 0x55, 0, 0, 0), 0);
	/* three more notifications are lost */
	x = kt_hello(bus->path, 0, NULL);
	assert_non_null(x);
	kt_conn_free(x);
	x = kt_hello(bus->path, 0, NULL);
	assert_non_null(x);
	assert_ret(kt_recv(r, 0, 0, &m, &rc), 0);
	assert_int_equal(rc.return_flags, KDBUS_RECV_RETURN_DROPPED_MSGS);
	assert_int_equal(rc.dropped_msgs, 3);
	kt_msg_release(r, m);
	n = 1;
	while (kt_recv(r, 0, 0, &m, NULL) == 0) {
		n++;
		kt_msg_release(r, m);
	}
	assert_int_equal(n, KT_MAX_MSGS + 1);
	kt_conn_free(x);
	kt_conn_free(a);
	kt_conn_free(r);
}

static void test_match_errors(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus);
	struct kt_items it;

	/* an item MATCH_ADD does not accept */
	kt_items_init(&it);
	kt_items_add_u64(&it, KDBUS_ITEM_ATTACH_FLAGS_SEND, 0);
	assert_ret(kt_match_add(a, 1, 0, &it), -EINVAL);
	kt_items_deinit(&it);
	/* ID items are exactly 8 bytes, ID_ADD exactly 16 */
	kt_items_init(&it);
	kt_items_add(&it, KDBUS_ITEM_ID, "\0\0\0\0", 4);
	assert_ret(kt_match_add(a, 1, 0, &it), -EINVAL);
	kt_items_deinit(&it);
	kt_items_init(&it);
	kt_items_add(&it, KDBUS_ITEM_ID_ADD, "\0\0\0\0\0\0\0\0", 8);
	assert_ret(kt_match_add(a, 1, 0, &it), -EINVAL);
	kt_items_deinit(&it);
	kt_conn_free(a);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		KT_TEST(test_match_id_add),
		KT_TEST(test_match_id_remove),
		KT_TEST(test_match_replace),
		KT_TEST(test_match_remove),
		KT_TEST(test_match_name_add),
		KT_TEST(test_match_name_remove),
		KT_TEST(test_match_name_change),
		KT_TEST(test_match_name_rules),
		KT_TEST(test_match_notification_order),
		KT_TEST(test_match_bloom),
		KT_TEST(test_match_zero_mask),
		KT_TEST(test_broadcast),
		KT_TEST(test_unicast_signal),
		KT_TEST(test_match_sender_name),
		KT_TEST(test_match_limit),
		KT_TEST(test_dropped_msgs),
		KT_TEST(test_notify_kernel_quota),
		KT_TEST(test_match_errors),
	};

	return kt_run("match", tests, sizeof(tests) / sizeof(tests[0]));
}
