/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Socket-backend specifics of the registry: messages the broker keeps
 * movable between an activator and its implementer ("held" entries, WAKE
 * notices, KD_PROTO_FETCH; docs/broker-protocol.md, "Activators"). Written
 * against the compat API like every conformance test; the assertions are
 * kdbus semantics, plus the one documented deviation (a stale wake-up).
 */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "util.h"

#define NAME "org.example.held"
#define MS 1000000ull

static struct kt_conn *conn(struct kt_bus *bus)
{
	struct kt_conn *c = kt_conn_new(bus);

	if (!c)
		fail_msg("HELLO failed");
	return c;
}

static struct kt_conn *activator(struct kt_bus *bus, uint64_t flags)
{
	struct kdbus_policy_access acc[2] = {
		{ .type = KDBUS_POLICY_ACCESS_USER, .access = KDBUS_POLICY_OWN, .id = geteuid() },
		{ .type = KDBUS_POLICY_ACCESS_WORLD, .access = KDBUS_POLICY_TALK },
	};
	struct kt_conn *c;
	int r = kt_hello_policy(&c, bus->path, KDBUS_HELLO_ACTIVATOR | flags, NAME, acc, 2);

	if (r < 0)
		fail_msg("activator HELLO: %s", kt_strerr(r));
	return c;
}

static int by_name(struct kt_conn *c, uint64_t cookie, uint64_t flags, int64_t prio)
{
	struct kdbus_msg *m = kt_msg_new(KDBUS_DST_ID_NAME, flags, cookie);
	int r;

	if (flags & KDBUS_MSG_EXPECT_REPLY)
		m->timeout_ns = kt_now(CLOCK_MONOTONIC) + 5000 * MS;
	m->priority = prio;
	kt_msg_add_dst_name(m, NAME);
	kt_msg_add_vec(m, &cookie, sizeof(cookie));
	r = kt_send(c, m, 0, -1, NULL);
	kt_msg_free(m);
	return r;
}

static uint64_t recv_cookie(struct kt_conn *c, uint64_t flags, uint64_t *src)
{
	struct kdbus_msg *m = NULL;
	uint64_t cookie;

	assert_ret(kt_recv(c, flags, 0, &m, NULL), 0);
	cookie = m->cookie;
	if (src)
		*src = m->src_id;
	kt_msg_release(c, m);
	return cookie;
}

/* poll() is readable exactly while the activator has something queued. */
static void test_held_activator_poll(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *act = activator(bus, 0);
	uint64_t src;

	assert_int_equal(kt_poll(act, 0, NULL), 0);
	assert_ret(by_name(a, 1, 0, 0), 0);
	assert_ret(by_name(a, 2, 0, 0), 0);
	assert_int_equal(kt_poll(act, 2000, NULL), 1);
	/* PEEK leaves it queued (and readable), RECV takes the oldest */
	assert_int_equal(recv_cookie(act, KDBUS_RECV_PEEK, NULL), 1);
	assert_int_equal(kt_poll(act, 0, NULL), 1);
	assert_int_equal(recv_cookie(act, 0, &src), 1);
	assert_int_equal(src, a->id);
	assert_int_equal(kt_poll(act, 0, NULL), 1);
	assert_int_equal(recv_cookie(act, 0, NULL), 2);
	assert_int_equal(kt_poll(act, 0, NULL), 0);
	assert_ret(kt_expect_empty(act), 0);
	kt_conn_free(act);
	kt_conn_free(a);
}

/* A hand-over leaves a stale wake-up on the activator: one RECV clears it. */
static void test_held_stale_wake(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *act = activator(bus, 0), *impl = conn(bus);
	struct kdbus_cmd_recv rc;

	assert_ret(by_name(a, 7, 0, 0), 0);
	assert_int_equal(kt_poll(act, 2000, NULL), 1);
	/* the activator peeked (as a starter does) before the service took over */
	assert_int_equal(recv_cookie(act, KDBUS_RECV_PEEK, NULL), 7);
	assert_ret(kt_name_acquire(impl, NAME, 0, NULL), 0);
	assert_int_equal(recv_cookie(impl, 0, NULL), 7);
	/* documented deviation: readable until the next RECV, which finds nothing */
	assert_ret(kt_recv(act, 0, 0, NULL, &rc), -EAGAIN);
	assert_int_equal(rc.dropped_msgs, 0);
	assert_int_equal(kt_poll(act, 0, NULL), 0);
	kt_conn_free(impl);
	kt_conn_free(act);
	kt_conn_free(a);
}

/* On the implementer, held and ordinary messages keep their FIFO order. */
static void test_held_fifo_and_priority(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *act = activator(bus, 0), *impl = conn(bus);
	struct kdbus_msg *m;

	assert_ret(kt_name_acquire(impl, NAME, 0, NULL), 0);
	assert_ret(kt_send_simple(a, impl->id, 1, 0, 0, 0), 0);
	assert_ret(by_name(a, 2, 0, 0), 0);
	assert_ret(kt_send_simple(a, impl->id, 3, 0, 0, 0), 0);
	assert_ret(by_name(a, 4, 0, -5), 0);
	assert_ret(kt_send_simple(a, impl->id, 5, 0, 0, 0), 0);
	/* USE_PRIORITY takes the held one (-5) out of order... */
	assert_ret(kt_recv(impl, KDBUS_RECV_USE_PRIORITY, -1, &m, NULL), 0);
	kt_assert_msg(m->cookie == 4, impl, m);
	kt_msg_release(impl, m);
	/* ...and the rest comes in order, its WAKE skipped */
	assert_int_equal(recv_cookie(impl, 0, NULL), 1);
	assert_int_equal(recv_cookie(impl, 0, NULL), 2);
	assert_int_equal(recv_cookie(impl, 0, NULL), 3);
	assert_int_equal(recv_cookie(impl, 0, NULL), 5);
	assert_ret(kt_expect_empty(impl), 0);
	assert_int_equal(kt_poll(impl, 0, NULL), 0);
	kt_conn_free(impl);
	kt_conn_free(act);
	kt_conn_free(a);
}

/* DROP of a held call answers the caller; fds travel with a moved message. */
static void test_held_drop_and_fds(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *act = activator(bus, KDBUS_HELLO_ACCEPT_FD), *impl;
	struct kdbus_msg *m;
	struct kdbus_item *it;
	int p[2], fd;
	char ch = 0;

	impl = kt_hello(bus->path, KDBUS_HELLO_ACCEPT_FD, NULL);
	assert_non_null(impl);
	assert_ret(by_name(a, 0x31, KDBUS_MSG_EXPECT_REPLY, 0), 0);
	assert_ret(kt_recv(act, KDBUS_RECV_DROP, 0, NULL, NULL), 0);
	assert_ret(kt_recv_poll(a, 2000, &m), 0);
	kt_assert_msg(m->src_id == 0 && m->items[0].type == KDBUS_ITEM_REPLY_DEAD, a, m);
	kt_assert_msg(m->cookie_reply == 0x31, a, m);
	kt_msg_release(a, m);

	assert_int_equal(pipe(p), 0);
	m = kt_msg_new(KDBUS_DST_ID_NAME, 0, 0x32);
	kt_msg_add_dst_name(m, NAME);
	kt_msg_add_fds(m, &p[0], 1);
	assert_ret(kt_send(a, m, 0, -1, NULL), 0);
	kt_msg_free(m);
	close(p[0]);
	assert_ret(kt_name_acquire(impl, NAME, 0, NULL), 0);
	assert_ret(kt_recv_poll(impl, 2000, &m), 0);
	kt_assert_msg(m->cookie == 0x32, impl, m);
	it = kt_msg_item(m, KDBUS_ITEM_FDS);
	kt_assert_msg(it && it->size == 16 + sizeof(int) && it->fds[0] >= 0, impl, m);
	fd = it->fds[0];
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(read(fd, &ch, 1), 1);
	assert_int_equal(ch, 'x');
	kt_msg_release(impl, m);
	close(p[1]);
	kt_conn_free(impl);
	kt_conn_free(act);
	kt_conn_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		KT_TEST(test_held_activator_poll),
		KT_TEST(test_held_stale_wake),
		KT_TEST(test_held_fifo_and_priority),
		KT_TEST(test_held_drop_and_fds),
	};

	return kt_run("broker-registry", tests, sizeof(tests) / sizeof(tests[0]));
}
