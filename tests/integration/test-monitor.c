/* SPDX-License-Identifier: BSD-2-Clause */
/* Conformance: monitors (kdbus-spec §8.5, §1.4.4, §8.2). */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <fcntl.h>
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

static struct kt_conn *monitor(struct kt_bus *bus, uint64_t flags)
{
	struct kt_conn *c;
	int r = kt_hello_full(&c, bus->path, KDBUS_HELLO_MONITOR | flags, _KDBUS_ATTACH_ALL,
			      _KDBUS_ATTACH_ALL, KT_POOL_SIZE, NULL);

	if (r < 0)
		fail_msg("monitor HELLO: %s", kt_strerr(r));
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

static void expect_copy(struct kt_conn *mon, uint64_t src, uint64_t dst, uint64_t cookie)
{
	struct kdbus_msg *m = recv1(mon);

	kt_assert_msg(m->src_id == src && m->dst_id == dst && m->cookie == cookie, mon, m);
	kt_msg_release(mon, m);
}

static void test_monitor_kind(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *w = conn(bus), *a = conn(bus), *mon;
	struct kdbus_info *l;
	uint64_t sz;
	uint8_t *p;

	assert_ret(kt_match_id(w, 1, KDBUS_ITEM_ID_ADD, KDBUS_MATCH_ID_ANY), 0);
	assert_ret(kt_match_id(w, 1, KDBUS_ITEM_ID_REMOVE, KDBUS_MATCH_ID_ANY), 0);
	mon = monitor(bus, 0);
	/* invisible: no ID_ADD (§8.2), not listed, not addressable */
	assert_ret(kt_expect_empty(w), 0);
	assert_ret(kt_list(a, KDBUS_LIST_UNIQUE, &l, &sz), 0);
	for (p = (uint8_t *)l; p < (uint8_t *)l + sz;
	     p += KDBUS_ALIGN8(((struct kdbus_info *)(void *)p)->size))
		assert_true(((struct kdbus_info *)(void *)p)->id != mon->id);
	kt_free(a, kt_off(a, l));
	assert_ret(kt_send_simple(a, mon->id, 1, 0, 0, 0), -ENXIO);
	/* §1.4.4 monitor column */
	assert_ret(kt_name_acquire(mon, "foo.bar.baz", 0, NULL), -EOPNOTSUPP);
	assert_ret(kt_name_release(mon, "foo.bar.baz"), -EOPNOTSUPP);
	assert_ret(kt_match_any_signal(mon), -EOPNOTSUPP);
	assert_ret(kt_match_remove(mon, 1), -EOPNOTSUPP);
	assert_ret(kt_send_simple(mon, a->id, 1, 0, 0, 0), -EOPNOTSUPP);
	assert_ret(kt_byebye(mon), -EOPNOTSUPP);
	assert_ret(kt_update_attach(mon, _KDBUS_ATTACH_ALL, _KDBUS_ATTACH_ALL), 0);
	/* a's send to mon was not seen by mon (failed lookup) */
	assert_ret(kt_expect_empty(mon), 0);
	/* leaving: no ID_REMOVE either */
	kt_conn_free(mon);
	assert_ret(kt_expect_empty(w), 0);
	kt_conn_free(a);
	kt_conn_free(w);
}

static void test_monitor_traffic(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus), *mon = monitor(bus, KDBUS_HELLO_ACCEPT_FD), *c;
	struct kdbus_msg *m;
	uint64_t cid;

	/* unicast: both the target and the monitor */
	assert_ret(kt_send_simple(a, b->id, 1, 0, 0, 0), 0);
	expect_copy(mon, a->id, b->id, 1);
	m = recv1(b);
	kt_assert_msg(m->cookie == 1, b, m);
	kt_msg_release(b, m);
	/* broadcasts need no match on the monitor; nobody else matches */
	assert_ret(kt_send_signal(a, KDBUS_DST_ID_BROADCAST, 2, 0, NULL), 0);
	expect_copy(mon, a->id, KDBUS_DST_ID_BROADCAST, 2);
	/* a unicast signal the destination drops (no match) is still seen */
	assert_ret(kt_send_signal(a, b->id, 3, 0, NULL), 0);
	expect_copy(mon, a->id, b->id, 3);
	assert_ret(kt_expect_empty(b), 0);
	/* a call and its reply */
	assert_ret(kt_send_call(a, b->id, 4, 5000 * MS), 0);
	expect_copy(mon, a->id, b->id, 4);
	m = recv1(b);
	kt_msg_release(b, m);
	assert_ret(kt_send_reply(b, a->id, 5, 4), 0);
	m = recv1(mon);
	kt_assert_msg(m->src_id == b->id && m->dst_id == a->id && m->cookie_reply == 4, mon, m);
	kt_msg_release(mon, m);
	m = recv1(a);
	kt_msg_release(a, m);
	/* kernel notifications, without any match */
	c = conn(bus);
	cid = c->id;
	m = recv1(mon);
	kt_assert_msg(m->src_id == 0 && m->items[0].type == KDBUS_ITEM_ID_ADD, mon, m);
	kt_assert_msg(m->items[0].id_change.id == cid, mon, m);
	kt_msg_release(mon, m);
	assert_ret(kt_name_acquire(c, "com.example.mon", 0, NULL), 0);
	m = recv1(mon);
	kt_assert_msg(m->items[0].type == KDBUS_ITEM_NAME_ADD, mon, m);
	kt_assert_msg(!strcmp((const char *)m->items[0].data + 32, "com.example.mon"), mon, m);
	kt_msg_release(mon, m);
	kt_conn_free(c);
	m = recv1(mon);
	kt_assert_msg(m->items[0].type == KDBUS_ITEM_NAME_REMOVE, mon, m);
	kt_msg_release(mon, m);
	m = recv1(mon);
	kt_assert_msg(m->items[0].type == KDBUS_ITEM_ID_REMOVE && m->items[0].id_change.id == cid,
		      mon, m);
	kt_msg_release(mon, m);
	/* reply timeouts go to the caller and to monitors (§8.2) */
	assert_ret(kt_send_call(a, b->id, 6, 100 * MS), 0);
	expect_copy(mon, a->id, b->id, 6);
	m = recv1(mon);
	kt_assert_msg(m->src_id == 0 && m->items[0].type == KDBUS_ITEM_REPLY_TIMEOUT, mon, m);
	kt_assert_msg(m->cookie_reply == 6, mon, m);
	kt_msg_release(mon, m);
	/* invalid messages are never seen */
	{
		struct kdbus_msg *bad = kt_msg_new(b->id, 0, 7);

		bad->payload_type = 0;
		assert_ret(kt_send(a, bad, 0, -1, NULL), -EINVAL);
		kt_msg_free(bad);
	}
	assert_ret(kt_expect_empty(mon), 0);
	kt_conn_free(mon);
	kt_conn_free(a);
	kt_conn_free(b);
}

static void test_monitor_attach(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus), *mon = monitor(bus, 0);
	struct kdbus_msg *m;

	/* copies carry the monitor's own attach_flags_recv (§8.5) */
	assert_ret(kt_update_attach(mon, _KDBUS_ATTACH_ALL, 0), 0);
	assert_ret(kt_send_simple(a, b->id, 1, 0, 0, 0), 0);
	m = recv1(mon);
	kt_assert_msg(kt_msg_count(m, KDBUS_ITEM_TIMESTAMP) == 0, mon, m);
	kt_assert_msg(kt_msg_count(m, KDBUS_ITEM_CREDS) == 0, mon, m);
	kt_msg_release(mon, m);
	assert_ret(kt_update_attach(mon, _KDBUS_ATTACH_ALL,
				    KDBUS_ATTACH_TIMESTAMP | KDBUS_ATTACH_CREDS),
		   0);
	assert_ret(kt_send_simple(a, b->id, 2, 0, 0, 0), 0);
	m = recv1(mon);
	kt_assert_msg(kt_msg_count(m, KDBUS_ITEM_TIMESTAMP) == 1, mon, m);
	kt_assert_msg(kt_msg_count(m, KDBUS_ITEM_CREDS) == 1, mon, m);
	kt_assert_msg(kt_msg_count(m, KDBUS_ITEM_PID_COMM) == 0, mon, m);
	kt_msg_release(mon, m);
	/* b's copy follows b's flags (everything) */
	m = recv1(b);
	kt_assert_msg(kt_msg_count(m, KDBUS_ITEM_PID_COMM) == 1, b, m);
	kt_msg_release(b, m);
	m = recv1(b);
	kt_msg_release(b, m);
	kt_conn_free(mon);
	kt_conn_free(a);
	kt_conn_free(b);
}

static void test_monitor_fds(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus), *mon = monitor(bus, 0);
	struct kdbus_item *item;
	struct kdbus_msg *m;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	m = kt_msg_new(b->id, 0, 1);
	kt_msg_add_fds(m, &fd, 1);
	assert_ret(kt_send(a, m, 0, -1, NULL), 0);
	kt_msg_free(m);
	close(fd);
	/* accepted for a monitor without ACCEPT_FD; its fd slots read -1 (§8.5) */
	m = recv1(mon);
	item = kt_msg_item(m, KDBUS_ITEM_FDS);
	kt_assert_msg(item != NULL && item->fds[0] == -1, mon, m);
	kt_msg_release(mon, m);
	m = recv1(b);
	item = kt_msg_item(m, KDBUS_ITEM_FDS);
	kt_assert_msg(item != NULL && item->fds[0] >= 0, b, m);
	kt_msg_release(b, m);
	kt_conn_free(mon);
	kt_conn_free(a);
	kt_conn_free(b);
}

static void test_monitor_policy(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *r, *mon;
	struct kt_remote u;

	KT_SKIP_UNLESS_ROOT();
	r = conn(bus);
	mon = monitor(bus, 0);
	assert_ret(kt_remote_start(&u, bus->path, KT_UNPRIV_UID, KT_UNPRIV_GID), 0);
	assert_true(u.id != 0);
	/* Owner only */
	assert_ret(kt_remote(&u, 0, KT_OP_HELLO, KDBUS_HELLO_MONITOR, NULL), -EPERM);
	/* a unicast refused by policy is not eavesdropped (§7.3.1) */
	assert_ret(kt_remote(&u, 0, KT_OP_SEND, r->id, NULL), -EPERM);
	/* the remote's HELLO above was a (hidden) failure; only u's ID_ADD from start exists */
	{
		struct kdbus_msg *m;

		while (kt_recv(mon, 0, 0, &m, NULL) == 0) {
			kt_assert_msg(m->src_id == 0, mon, m);
			kt_msg_release(mon, m);
		}
	}
	assert_int_equal(kt_remote_stop(&u), 0);
	kt_conn_free(mon);
	kt_conn_free(r);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		KT_TEST(test_monitor_kind),
		KT_TEST(test_monitor_traffic),
		KT_TEST(test_monitor_attach),
		KT_TEST(test_monitor_fds),
		KT_TEST(test_monitor_policy),
	};

	return kt_run("monitor", tests, sizeof(tests) / sizeof(tests[0]));
}
