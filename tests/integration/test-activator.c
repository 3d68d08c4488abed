/* SPDX-License-Identifier: BSD-2-Clause */
/* Conformance: activators (kdbus-spec §9.3, §9.2 hand-over, §7.5.5, §1.4.4). */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NAME "foo.test.activator"
#define MS 1000000ULL

static struct kt_conn *conn(struct kt_bus *bus)
{
	struct kt_conn *c = kt_conn_new(bus);

	if (!c)
		fail_msg("HELLO failed: %s", strerror(errno));
	return c;
}

static struct kt_conn *activator(struct kt_bus *bus, const char *name, bool world_talk)
{
	struct kdbus_policy_access acc[2] = {
		{ .type = KDBUS_POLICY_ACCESS_USER, .access = KDBUS_POLICY_OWN, .id = geteuid() },
		{ .type = KDBUS_POLICY_ACCESS_WORLD, .access = KDBUS_POLICY_TALK },
	};
	struct kt_conn *c;
	int r = kt_hello_policy(&c, bus->path, KDBUS_HELLO_ACTIVATOR, name, acc,
				world_talk ? 2 : 1);

	if (r < 0)
		fail_msg("activator HELLO for %s: %s", name, kt_strerr(r));
	return c;
}

static int send_by_name(struct kt_conn *c, const char *name, uint64_t cookie, uint64_t flags,
			uint64_t timeout_ns)
{
	struct kdbus_msg *m = kt_msg_new(KDBUS_DST_ID_NAME, flags, cookie);
	int r;

	if (timeout_ns)
		m->timeout_ns = kt_now(CLOCK_MONOTONIC) + timeout_ns;
	kt_msg_add_dst_name(m, name);
	kt_msg_add_vec(m, &cookie, sizeof(cookie));
	r = kt_send(c, m, 0, -1, NULL);
	kt_msg_free(m);
	return r;
}

static int watch(struct kt_conn *w)
{
	int r;

	if ((r = kt_match_id(w, 1, KDBUS_ITEM_ID_ADD, KDBUS_MATCH_ID_ANY)) < 0 ||
	    (r = kt_match_id(w, 1, KDBUS_ITEM_ID_REMOVE, KDBUS_MATCH_ID_ANY)) < 0 ||
	    (r = kt_match_name(w, 1, KDBUS_ITEM_NAME_ADD, KDBUS_MATCH_ID_ANY, KDBUS_MATCH_ID_ANY,
			       NULL)) < 0 ||
	    (r = kt_match_name(w, 1, KDBUS_ITEM_NAME_REMOVE, KDBUS_MATCH_ID_ANY,
			       KDBUS_MATCH_ID_ANY, NULL)) < 0)
		return r;
	return kt_match_name(w, 1, KDBUS_ITEM_NAME_CHANGE, KDBUS_MATCH_ID_ANY, KDBUS_MATCH_ID_ANY,
			     NULL);
}

static void expect_notify(struct kt_conn *w, uint64_t type, uint64_t old_id, uint64_t new_id,
			  uint64_t new_flags_req)
{
	struct kdbus_msg *m = NULL;
	struct kdbus_item *it;

	assert_ret(kt_recv_poll(w, 2000, &m), 0);
	it = &m->items[0];
	kt_assert_msg(m->src_id == KDBUS_SRC_ID_KERNEL && it->type == type, w, m);
	if (type == KDBUS_ITEM_ID_ADD || type == KDBUS_ITEM_ID_REMOVE) {
		kt_assert_msg(it->id_change.id == new_id, w, m);
		kt_assert_msg(it->id_change.flags == new_flags_req, w, m);
	} else {
		kt_assert_msg(it->name_change.old_id.id == old_id, w, m);
		kt_assert_msg(it->name_change.new_id.id == new_id, w, m);
		kt_assert_msg((it->name_change.new_id.flags & new_flags_req) == new_flags_req, w, m);
	}
	kt_msg_release(w, m);
}

static void test_activator_basic(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *w = conn(bus), *a = conn(bus), *act, *impl, *x;
	struct kdbus_info *info;
	struct kdbus_msg *m;
	uint64_t rf;

	assert_ret(watch(w), 0);
	act = activator(bus, NAME, true);
	/* §8.2: ID_ADD (flags = ACTIVATOR) then NAME_ADD */
	expect_notify(w, KDBUS_ITEM_ID_ADD, 0, act->id, KDBUS_HELLO_ACTIVATOR);
	expect_notify(w, KDBUS_ITEM_NAME_ADD, 0, act->id, KDBUS_NAME_ACTIVATOR | KDBUS_NAME_PRIMARY);
	/* listed as an activator, not as a name */
	{
		struct kdbus_info *l;
		uint64_t sz;
		int64_t f;

		assert_ret(kt_list(a, KDBUS_LIST_ACTIVATORS, &l, &sz), 0);
		f = kt_list_find(l, sz, act->id, NAME);
		assert_true(f >= 0);
		assert_int_equal(f & (KDBUS_NAME_ACTIVATOR | KDBUS_NAME_PRIMARY),
				 KDBUS_NAME_ACTIVATOR | KDBUS_NAME_PRIMARY);
		kt_free(a, kt_off(a, l));
		assert_ret(kt_list(a, KDBUS_LIST_NAMES, &l, &sz), 0);
		assert_true(kt_list_find(l, sz, act->id, NAME) < 0);
		kt_free(a, kt_off(a, l));
	}
	/* CONN_INFO by name resolves to the activator */
	assert_ret(kt_conn_info(a, 0, NAME, 0, &info), 0);
	assert_int_equal(info->id, act->id);
	assert_int_equal(info->flags, KDBUS_HELLO_ACTIVATOR);
	kt_free(a, kt_off(a, info));
	/* a second activator, a wildcard activator */
	assert_ret(kt_hello_policy(&x, bus->path, KDBUS_HELLO_ACTIVATOR, NAME, NULL, 0), -EEXIST);
	assert_ret(kt_hello_policy(&x, bus->path, KDBUS_HELLO_ACTIVATOR, "foo.test.*", NULL, 0),
		   -EINVAL);

	/* §1.4.4 activator column */
	assert_ret(kt_send_simple(act, a->id, 1, 0, 0, 0), -EOPNOTSUPP);
	assert_ret(kt_name_acquire(act, "foo.test.other", 0, NULL), -EOPNOTSUPP);
	assert_ret(kt_match_any_signal(act), -EOPNOTSUPP);
	assert_ret(kt_byebye(act), -EOPNOTSUPP);
	assert_ret(kt_update_attach(act, 0, _KDBUS_ATTACH_ALL), -EOPNOTSUPP);
	{
		struct kt_items it;
		struct kdbus_cmd *cmd;

		kt_items_init(&it);
		kt_items_add_u64(&it, KDBUS_ITEM_ATTACH_FLAGS_RECV, KDBUS_ATTACH_TIMESTAMP);
		cmd = kt_cmd_new(sizeof(*cmd), &it);
		assert_ret(kdbus_cmd_update(act->fd, cmd), 0);
		free(cmd);
		kt_items_deinit(&it);
	}
	/* never addressable by id; NO_AUTO_START refuses it (§7.2 9) */
	assert_ret(kt_send_simple(a, act->id, 1, 0, 0, 0), -ENXIO);
	assert_ret(send_by_name(a, NAME, 2, KDBUS_MSG_NO_AUTO_START, 0), -EADDRNOTAVAIL);
	assert_int_equal(kt_poll(act, 0, NULL), 0);

	/* a message by name wakes the activator */
	assert_ret(send_by_name(a, NAME, 3, 0, 0), 0);
	assert_int_equal(kt_poll(act, 2000, NULL), 1);
	assert_ret(kt_recv(act, KDBUS_RECV_PEEK, 0, &m, NULL), 0);
	kt_assert_msg(m->src_id == a->id && m->cookie == 3, act, m);
	assert_ret(kt_free(act, kt_off(act, m)), 0);

	/* the implementer takes over without REPLACE_EXISTING (§9.2) */
	impl = conn(bus);
	expect_notify(w, KDBUS_ITEM_ID_ADD, 0, impl->id, KDBUS_HELLO_ACCEPT_FD);
	assert_ret(kt_name_acquire(impl, NAME, 0, &rf), 0);
	assert_int_equal(rf, KDBUS_NAME_PRIMARY | KDBUS_NAME_ACQUIRED);
	expect_notify(w, KDBUS_ITEM_NAME_CHANGE, act->id, impl->id, KDBUS_NAME_PRIMARY);
	assert_true(kt_name_flags(a, act->id, NAME) & KDBUS_NAME_IN_QUEUE);
	/* the queued message moved, with its original sender */
	assert_ret(kt_recv_poll(impl, 2000, &m), 0);
	kt_assert_msg(m->src_id == a->id && m->cookie == 3, impl, m);
	kt_msg_release(impl, m);
	assert_ret(kt_expect_empty(act), 0);
	/* by name now goes to impl; NO_AUTO_START is fine */
	assert_ret(send_by_name(a, NAME, 4, KDBUS_MSG_NO_AUTO_START, 0), 0);
	assert_ret(kt_recv_poll(impl, 2000, &m), 0);
	kt_assert_msg(m->cookie == 4, impl, m);
	kt_msg_release(impl, m);

	/* releasing hands it back to the activator */
	assert_ret(kt_name_release(impl, NAME), 0);
	expect_notify(w, KDBUS_ITEM_NAME_CHANGE, impl->id, act->id, KDBUS_NAME_ACTIVATOR);
	assert_ret(send_by_name(a, NAME, 5, 0, 0), 0);
	assert_ret(kt_recv_poll(act, 2000, &m), 0);
	kt_assert_msg(m->cookie == 5, act, m);
	kt_msg_release(act, m);
	kt_conn_free(impl);
	kt_conn_free(act);
	kt_conn_free(a);
	kt_conn_free(w);
}

static void test_activator_existing_owner(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *w = conn(bus), *o = conn(bus), *act;
	uint64_t oid = o->id;

	assert_ret(kt_name_acquire(o, NAME, 0, NULL), 0);
	assert_ret(watch(w), 0);
	/* a name with an owner: the activator queues silently (§9.3) */
	act = activator(bus, NAME, true);
	expect_notify(w, KDBUS_ITEM_ID_ADD, 0, act->id, KDBUS_HELLO_ACTIVATOR);
	assert_ret(kt_expect_empty(w), 0);
	assert_true(kt_name_flags(w, act->id, NAME) & KDBUS_NAME_IN_QUEUE);
	/* the owner leaving makes the activator the owner: a change, not a removal */
	kt_conn_free(o);
	expect_notify(w, KDBUS_ITEM_NAME_CHANGE, oid, act->id, KDBUS_NAME_ACTIVATOR);
	expect_notify(w, KDBUS_ITEM_ID_REMOVE, 0, oid, KDBUS_HELLO_ACCEPT_FD);
	kt_conn_free(act);
	kt_conn_free(w);
}

static void test_activator_call_retarget(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *act = activator(bus, NAME, true), *impl = conn(bus);
	struct kdbus_msg *m;

	/* §7.5.5: a call queued on the activator is answered by the implementer */
	assert_ret(send_by_name(a, NAME, 0x71, KDBUS_MSG_EXPECT_REPLY, 5000 * MS), 0);
	assert_ret(kt_name_acquire(impl, NAME, 0, NULL), 0);
	assert_ret(kt_recv_poll(impl, 2000, &m), 0);
	kt_assert_msg(m->cookie == 0x71 && (m->flags & KDBUS_MSG_EXPECT_REPLY), impl, m);
	kt_msg_release(impl, m);
	assert_ret(kt_send_reply(impl, a->id, 0x72, 0x71), 0);
	assert_ret(kt_recv_poll(a, 2000, &m), 0);
	kt_assert_msg(m->src_id == impl->id && m->cookie_reply == 0x71, a, m);
	kt_msg_release(a, m);
	kt_conn_free(impl);
	kt_conn_free(act);
	kt_conn_free(a);
}

static void test_activator_disconnect(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *w = conn(bus), *act;
	struct kdbus_msg *m;
	uint64_t aid;

	act = activator(bus, NAME, true);
	aid = act->id;
	assert_ret(watch(w), 0);
	assert_ret(send_by_name(a, NAME, 0x81, KDBUS_MSG_EXPECT_REPLY, 10000 * MS), 0);
	/* §9.3: its queued calls die with it */
	kt_conn_free(act);
	assert_ret(kt_recv_poll(a, 2000, &m), 0);
	kt_assert_msg(m->src_id == 0 && m->items[0].type == KDBUS_ITEM_REPLY_DEAD, a, m);
	kt_assert_msg(m->cookie_reply == 0x81, a, m);
	kt_msg_release(a, m);
	expect_notify(w, KDBUS_ITEM_NAME_REMOVE, aid, 0, 0);
	expect_notify(w, KDBUS_ITEM_ID_REMOVE, 0, aid, KDBUS_HELLO_ACTIVATOR);
	assert_ret(send_by_name(a, NAME, 0x82, 0, 0), -ESRCH);
	kt_conn_free(a);
	kt_conn_free(w);
}

static void test_activator_quota(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *act = activator(bus, NAME, true);
	unsigned int i;

	/* normal quotas apply to the activator's queue (§9.3) */
	for (i = 0; i < KT_MAX_MSGS; i++)
		assert_ret(send_by_name(a, NAME, i + 1, 0, 0), 0);
	assert_ret(send_by_name(a, NAME, 999, 0, 0), -ENOBUFS);
	kt_conn_free(act);
	kt_conn_free(a);
}

static void test_activator_move_back(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *act = activator(bus, NAME, true), *impl = conn(bus);
	struct kdbus_msg *m;

	assert_ret(kt_name_acquire(impl, NAME, 0, NULL), 0);
	assert_ret(send_by_name(a, NAME, 1, 0, 0), 0);
	assert_ret(send_by_name(a, NAME, 2, 0, 0), 0);
	/* messages by id stay with impl */
	assert_ret(kt_send_simple(a, impl->id, 3, 0, 0, 0), 0);
	/* §9.2: messages addressed to the name move back to the activator */
	assert_ret(kt_name_release(impl, NAME), 0);
	assert_ret(kt_recv_poll(act, 2000, &m), 0);
	kt_assert_msg(m->cookie == 1 && m->src_id == a->id, act, m);
	kt_msg_release(act, m);
	assert_ret(kt_recv_poll(act, 2000, &m), 0);
	kt_assert_msg(m->cookie == 2 && m->src_id == a->id, act, m);
	kt_msg_release(act, m);
	assert_ret(kt_expect_empty(act), 0);
	assert_ret(kt_recv_poll(impl, 2000, &m), 0);
	kt_assert_msg(m->cookie == 3, impl, m);
	kt_msg_release(impl, m);
	assert_ret(kt_expect_empty(impl), 0);
	kt_conn_free(impl);
	kt_conn_free(act);
	kt_conn_free(a);
}

static void test_activator_broadcast(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *act = activator(bus, NAME, true);
	struct kdbus_cmd_recv rc;

	/* activators never receive broadcasts, and nothing is counted lost (§7.3.3) */
	assert_ret(kt_send_signal(a, KDBUS_DST_ID_BROADCAST, 1, 0, NULL), 0);
	assert_ret(kt_recv(act, 0, 0, NULL, &rc), -EAGAIN);
	assert_int_equal(rc.dropped_msgs, 0);
	kt_conn_free(act);
	kt_conn_free(a);
}

static void test_activator_priv(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *act, *svc;
	struct kt_remote u;
	struct kdbus_msg *m;

	KT_SKIP_UNLESS_ROOT();
	/* OWN and TALK for root only (no WORLD TALK) */
	act = activator(bus, "foo.priv.activator", false);
	assert_ret(kt_remote_start(&u, bus->path, KT_UNPRIV_UID, KT_UNPRIV_GID), 0);
	assert_true(u.id != 0);
	assert_ret(kt_remote(&u, 0, KT_OP_SEND, act->id, NULL), -ENXIO);
	assert_ret(kt_remote(&u, 0, KT_OP_SEND_NAME, 0, "foo.priv.activator"), -EPERM);
	assert_int_equal(kt_poll(act, 100, NULL), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_ACQUIRE, 0, "foo.priv.activator"), -EPERM);
	/* the activator's policy entry is a bus policy entry: a holder cannot also hold it */
	{
		struct kt_conn *x;

		assert_ret(kt_hello_policy(&x, bus->path, KDBUS_HELLO_POLICY_HOLDER,
					   "foo.priv.activator", NULL, 0),
			   -EEXIST);
	}
	svc = kt_conn_new(bus);
	assert_non_null(svc);
	assert_ret(send_by_name(svc, "foo.priv.activator", 9, 0, 0), 0);
	assert_int_equal(kt_poll(act, 2000, NULL), 1);
	assert_ret(kt_name_acquire(svc, "foo.priv.activator", 0, NULL), 0);
	assert_ret(kt_recv_poll(svc, 2000, &m), 0);
	kt_assert_msg(m->cookie == 9, svc, m);
	kt_msg_release(svc, m);
	assert_ret(kt_remote(&u, 0, KT_OP_SEND_NAME, 0, "foo.priv.activator"), -EPERM);
	/* the activator gone, its policy is gone: still refused, but now by default */
	act = kt_conn_free(act);
	assert_ret(kt_remote(&u, 0, KT_OP_SEND_NAME, 0, "foo.priv.activator"), -EPERM);
	/* an activator granting WORLD TALK opens the name to others */
	kt_conn_free(svc);
	act = activator(bus, "foo.priv.activator", true);
	assert_ret(kt_remote(&u, 0, KT_OP_SEND_NAME, 0, "foo.priv.activator"), 0);
	assert_int_equal(kt_poll(act, 2000, NULL), 1);
	assert_ret(kt_remote(&u, 0, KT_OP_ACQUIRE, 0, "foo.priv.activator"), -EPERM);
	assert_int_equal(kt_remote_stop(&u), 0);
	kt_conn_free(act);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		KT_TEST(test_activator_basic),
		KT_TEST(test_activator_existing_owner),
		KT_TEST(test_activator_call_retarget),
		KT_TEST(test_activator_disconnect),
		KT_TEST(test_activator_quota),
		KT_TEST(test_activator_move_back),
		KT_TEST(test_activator_broadcast),
		KT_TEST(test_activator_priv),
	};

	return kt_run("activator", tests, sizeof(tests) / sizeof(tests[0]));
}
