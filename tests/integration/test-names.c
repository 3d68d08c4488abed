/* SPDX-License-Identifier: BSD-2-Clause */
/* Conformance: the name registry (kdbus-spec §9.1, §9.2, §3.2 NAME_*, LIST). */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct kt_conn *conn(struct kt_bus *bus)
{
	struct kt_conn *c = kt_conn_new(bus);

	if (!c)
		fail_msg("HELLO failed: %s", strerror(errno));
	return c;
}

/* Assert the exact owner-record flags of (id, name), or absence (want < 0). */
static void assert_name(struct kt_conn *c, uint64_t id, const char *name, int64_t want)
{
	int64_t got = kt_name_flags(c, id, name);

	if (got != want)
		fail_msg("name '%s' of conn %llu: flags %lld, expected %lld", name,
			 (unsigned long long)id, (long long)got, (long long)want);
}

static void test_name_basic(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	static const char *const invalid[] = {
		".bla.blaz", "foo", "foo.bla.bl.*", "foo..bar", "foo.bar.", "1foo.bar",
		"foo.1bar", "foo.b@r", "", "foo.bar.*",
	};
	char longname[300];
	uint64_t rf;
	unsigned int i;

	assert_ret(kt_name_acquire(b, "foo.bar.xxx", 0, NULL), 0);
	/* §5.3 name syntax */
	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		int r = kt_name_acquire(a, invalid[i], 0, NULL);

		if (r != -EINVAL)
			fail_msg("acquire '%s': %s, expected EINVAL", invalid[i], kt_strerr(r));
	}
	memset(longname, 'a', sizeof(longname));
	longname[0] = 'x';
	longname[1] = '.';
	longname[256] = 0;
	assert_ret(kt_name_acquire(a, longname, 0, NULL), -EINVAL);
	longname[255] = 0; /* exactly 255 characters */
	assert_ret(kt_name_acquire(a, longname, 0, NULL), 0);
	assert_ret(kt_name_release(a, longname), 0);
	/* '-' and '_' are allowed (§12 item 20) */
	assert_ret(kt_name_acquire(a, "foo-bar.b_az", 0, NULL), 0);
	assert_ret(kt_name_release(a, "foo-bar.b_az"), 0);

	/* acquire: PRIMARY|ACQUIRED (§3.2) */
	assert_ret(kt_name_acquire(a, "foo.bla.blaz", 0, &rf), 0);
	assert_int_equal(rf, KDBUS_NAME_PRIMARY | KDBUS_NAME_ACQUIRED);
	assert_name(a, a->id, "foo.bla.blaz", KDBUS_NAME_PRIMARY);
	/* again: fine, but not ACQUIRED */
	assert_ret(kt_name_acquire(a, "foo.bla.blaz", 0, &rf), 0);
	assert_int_equal(rf, KDBUS_NAME_PRIMARY);
	/* the stored flags are replaced on every acquire */
	assert_ret(kt_name_acquire(a, "foo.bla.blaz", KDBUS_NAME_ALLOW_REPLACEMENT, &rf), 0);
	assert_int_equal(rf, KDBUS_NAME_PRIMARY | KDBUS_NAME_ALLOW_REPLACEMENT);
	assert_name(a, a->id, "foo.bla.blaz", KDBUS_NAME_PRIMARY | KDBUS_NAME_ALLOW_REPLACEMENT);

	assert_ret(kt_name_release(a, "foo.bla.blaz"), 0);
	assert_name(a, 0, "foo.bla.blaz", -ENOENT);
	assert_ret(kt_name_release(a, "foo.bla.blaz"), -ESRCH);
	/* someone else's name → EADDRINUSE */
	assert_ret(kt_name_release(a, "foo.bar.xxx"), -EADDRINUSE);
	/* invalid names are unknown names */
	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]) - 1; i++) {
		int r;

		if (!invalid[i][0])
			continue;
		r = kt_name_release(a, invalid[i]);
		if (r != -ESRCH)
			fail_msg("release '%s': %s, expected ESRCH", invalid[i], kt_strerr(r));
	}
	/* NAME is mandatory; flags outside 0x7 → EINVAL */
	{
		struct kdbus_cmd cmd = { .size = sizeof(cmd) };

		assert_ret(kdbus_cmd_name_acquire(a->fd, &cmd), -EINVAL);
		assert_ret(kdbus_cmd_name_release(a->fd, &cmd), -EINVAL);
	}
	assert_ret(kt_name_acquire(a, "foo.bar.yyy", KDBUS_NAME_IN_QUEUE, NULL), -EINVAL);
	kt_conn_free(a);
	kt_conn_free(b);
}

static void test_name_conflict(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	uint64_t rf = 0x1234;

	assert_ret(kt_name_acquire(a, "foo.bla.blaz", 0, NULL), 0);
	assert_ret(kt_name_acquire(b, "foo.bla.blaz", 0, &rf), -EEXIST);
	/* REPLACE_EXISTING does not help if the owner does not allow it */
	assert_ret(kt_name_acquire(b, "foo.bla.blaz", KDBUS_NAME_REPLACE_EXISTING, NULL), -EEXIST);
	assert_name(a, a->id, "foo.bla.blaz", KDBUS_NAME_PRIMARY);
	assert_name(a, b->id, "foo.bla.blaz", -ENOENT);
	kt_conn_free(a);
	kt_conn_free(b);
}

static void test_name_queue(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus), *c = conn(bus);
	uint64_t rf;

	assert_ret(kt_name_acquire(a, "foo.bla.blaz", 0, NULL), 0);
	assert_ret(kt_name_acquire(b, "foo.bla.blaz", KDBUS_NAME_QUEUE, &rf), 0);
	assert_int_equal(rf, KDBUS_NAME_QUEUE | KDBUS_NAME_IN_QUEUE | KDBUS_NAME_ACQUIRED);
	assert_name(a, a->id, "foo.bla.blaz", KDBUS_NAME_PRIMARY);
	assert_name(a, b->id, "foo.bla.blaz", KDBUS_NAME_QUEUE | KDBUS_NAME_IN_QUEUE);
	/* already queued: keeps its place, no ACQUIRED */
	assert_ret(kt_name_acquire(b, "foo.bla.blaz", KDBUS_NAME_QUEUE, &rf), 0);
	assert_int_equal(rf, KDBUS_NAME_QUEUE | KDBUS_NAME_IN_QUEUE);
	assert_ret(kt_name_acquire(c, "foo.bla.blaz", KDBUS_NAME_QUEUE, NULL), 0);

	/* LIST QUEUED only shows the queued ones, NAMES only the primary (§3.2 LIST) */
	{
		struct kdbus_info *l;
		uint64_t sz;

		assert_ret(kt_list(a, KDBUS_LIST_QUEUED, &l, &sz), 0);
		assert_true(kt_list_find(l, sz, b->id, "foo.bla.blaz") >= 0);
		assert_true(kt_list_find(l, sz, a->id, "foo.bla.blaz") < 0);
		kt_free(a, kt_off(a, l));
		assert_ret(kt_list(a, KDBUS_LIST_NAMES, &l, &sz), 0);
		assert_true(kt_list_find(l, sz, a->id, "foo.bla.blaz") >= 0);
		assert_true(kt_list_find(l, sz, b->id, "foo.bla.blaz") < 0);
		kt_free(a, kt_off(a, l));
	}

	/* the head of the queue takes over */
	assert_ret(kt_name_release(a, "foo.bla.blaz"), 0);
	assert_name(a, b->id, "foo.bla.blaz", KDBUS_NAME_QUEUE | KDBUS_NAME_PRIMARY);
	assert_name(a, c->id, "foo.bla.blaz", KDBUS_NAME_QUEUE | KDBUS_NAME_IN_QUEUE);
	/* releasing a queue position */
	assert_ret(kt_name_release(c, "foo.bla.blaz"), 0);
	assert_name(a, c->id, "foo.bla.blaz", -ENOENT);
	/* a queued owner acquiring without QUEUE leaves the queue (§9.2) */
	assert_ret(kt_name_acquire(c, "foo.bla.blaz", KDBUS_NAME_QUEUE, NULL), 0);
	assert_ret(kt_name_acquire(c, "foo.bla.blaz", 0, &rf), 0);
	assert_int_equal(rf, 0);
	assert_name(a, c->id, "foo.bla.blaz", -ENOENT);
	/* disconnecting the primary hands the name on */
	assert_ret(kt_name_acquire(c, "foo.bla.blaz", KDBUS_NAME_QUEUE, NULL), 0);
	b = kt_conn_free(b);
	assert_name(a, c->id, "foo.bla.blaz", KDBUS_NAME_QUEUE | KDBUS_NAME_PRIMARY);
	kt_conn_free(a);
	kt_conn_free(c);
}

static void test_name_takeover(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus), *c = conn(bus);
	uint64_t rf;

	assert_ret(kt_name_acquire(a, "foo.bla.blaz", KDBUS_NAME_ALLOW_REPLACEMENT, &rf), 0);
	assert_int_equal(rf, KDBUS_NAME_ALLOW_REPLACEMENT | KDBUS_NAME_PRIMARY | KDBUS_NAME_ACQUIRED);
	assert_name(a, a->id, "foo.bla.blaz", KDBUS_NAME_ALLOW_REPLACEMENT | KDBUS_NAME_PRIMARY);
	assert_ret(kt_name_acquire(b, "foo.bla.blaz", KDBUS_NAME_REPLACE_EXISTING, &rf), 0);
	assert_int_equal(rf, KDBUS_NAME_PRIMARY | KDBUS_NAME_ACQUIRED);
	assert_name(a, b->id, "foo.bla.blaz", KDBUS_NAME_PRIMARY);
	/* a did not ask to QUEUE: its record is gone */
	assert_name(a, a->id, "foo.bla.blaz", -ENOENT);
	assert_ret(kt_name_release(a, "foo.bla.blaz"), -EADDRINUSE);
	assert_ret(kt_name_release(b, "foo.bla.blaz"), 0);

	/* with QUEUE the replaced owner stays queued, at position 2 */
	assert_ret(kt_name_acquire(a, "foo.bla.blaz",
				   KDBUS_NAME_ALLOW_REPLACEMENT | KDBUS_NAME_QUEUE, NULL),
		   0);
	assert_ret(kt_name_acquire(c, "foo.bla.blaz", KDBUS_NAME_QUEUE, NULL), 0);
	assert_ret(kt_name_acquire(b, "foo.bla.blaz", KDBUS_NAME_REPLACE_EXISTING, &rf), 0);
	assert_int_equal(rf, KDBUS_NAME_PRIMARY | KDBUS_NAME_ACQUIRED);
	assert_name(a, a->id, "foo.bla.blaz",
		    KDBUS_NAME_ALLOW_REPLACEMENT | KDBUS_NAME_QUEUE | KDBUS_NAME_IN_QUEUE);
	assert_name(a, c->id, "foo.bla.blaz", KDBUS_NAME_QUEUE | KDBUS_NAME_IN_QUEUE);
	/* b leaves: a (position 2) is next, not c */
	assert_ret(kt_name_release(b, "foo.bla.blaz"), 0);
	assert_name(a, a->id, "foo.bla.blaz",
		    KDBUS_NAME_ALLOW_REPLACEMENT | KDBUS_NAME_QUEUE | KDBUS_NAME_PRIMARY);
	kt_conn_free(a);
	kt_conn_free(b);
	kt_conn_free(c);
}

static void test_name_limit(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus);
	char name[64];
	unsigned int i;

	/* §10.1: 256 names (owned + queued) per connection → E2BIG */
	for (i = 0; i < KT_MAX_NAMES; i++) {
		snprintf(name, sizeof(name), "com.example.n%u", i);
		assert_ret(kt_name_acquire(a, name, 0, NULL), 0);
	}
	assert_ret(kt_name_acquire(a, "com.example.toomany", 0, NULL), -E2BIG);
	/* re-acquiring an owned one is not a new record */
	assert_ret(kt_name_acquire(a, "com.example.n0", 0, NULL), 0);
	assert_ret(kt_name_release(a, "com.example.n0"), 0);
	assert_ret(kt_name_acquire(a, "com.example.toomany", 0, NULL), 0);
	kt_conn_free(a);
}

static void test_list(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	struct kdbus_cmd_list lc = { .size = sizeof(lc) };
	struct kdbus_info *l, *info;
	uint8_t *p, *end;
	uint64_t sz;
	bool seen_a = false, seen_b = false;

	/* nothing requested: empty, offset = pool_size (§2.4) */
	assert_ret(kdbus_cmd_list(a->fd, &lc), 0);
	assert_int_equal(lc.offset, a->pool_size);
	assert_int_equal(lc.list_size, 0);
	assert_ret(kt_free(a, lc.offset), 0);

	assert_ret(kt_name_acquire(b, "com.example.listed", 0, NULL), 0);
	assert_ret(kt_list(a, KDBUS_LIST_UNIQUE | KDBUS_LIST_NAMES, &l, &sz), 0);
	p = (uint8_t *)l;
	end = p + sz;
	while (p < end) {
		info = (struct kdbus_info *)(void *)p;
		assert_true(info->size >= sizeof(*info));
		if (info->id == a->id) {
			/* nothing owned: a bare record with the HELLO flags */
			assert_int_equal(info->size, sizeof(*info));
			assert_int_equal(info->flags, KDBUS_HELLO_ACCEPT_FD);
			seen_a = true;
		}
		if (info->id == b->id) {
			struct kdbus_item *item = kt_info_item(info, KDBUS_ITEM_OWNED_NAME);

			assert_non_null(item);
			assert_string_equal(item->name.name, "com.example.listed");
			assert_int_equal(item->name.flags, KDBUS_NAME_PRIMARY);
			assert_int_equal(info->flags, KDBUS_HELLO_ACCEPT_FD);
			seen_b = true;
		}
		p += KDBUS_ALIGN8(info->size);
	}
	assert_true(p == end);
	assert_true(seen_a && seen_b);
	assert_ret(kt_free(a, kt_off(a, l)), 0);
	/* unknown flags, items */
	assert_ret(kt_list(a, 1ULL << 4, &l, &sz), -EINVAL);
	kt_conn_free(a);
	kt_conn_free(b);
}

static void test_name_by_dst_name(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	struct kdbus_msg *m, *r;
	uint64_t x = 5;

	assert_ret(kt_name_acquire(b, "com.example.dst", 0, NULL), 0);
	/* unicast by name (§7.1, §7.2 9) */
	m = kt_msg_new(KDBUS_DST_ID_NAME, 0, 1);
	kt_msg_add_dst_name(m, "com.example.dst");
	kt_msg_add_vec(m, &x, sizeof(x));
	assert_ret(kt_send(a, m, 0, -1, NULL), 0);
	/* by id plus name: the name must belong to that id */
	m->dst_id = b->id;
	m->cookie = 2;
	assert_ret(kt_send(a, m, 0, -1, NULL), 0);
	m->dst_id = a->id;
	assert_ret(kt_send(a, m, 0, -1, NULL), -EREMCHG);
	kt_msg_free(m);
	/* unknown name → ESRCH */
	m = kt_msg_new(KDBUS_DST_ID_NAME, 0, 3);
	kt_msg_add_dst_name(m, "com.example.nobody");
	assert_ret(kt_send(a, m, 0, -1, NULL), -ESRCH);
	kt_msg_free(m);

	r = NULL;
	assert_ret(kt_recv_poll(b, 2000, &r), 0);
	kt_assert_msg(r->cookie == 1 && r->dst_id == KDBUS_DST_ID_NAME && r->src_id == a->id, b, r);
	/* DST_NAME is kept in the received copy (§6.3) */
	{
		struct kdbus_item *item = kt_msg_item(r, KDBUS_ITEM_DST_NAME);

		kt_assert_msg(item != NULL && !strcmp(item->str, "com.example.dst"), b, r);
	}
	/* OWNED_NAME metadata of the sender: none */
	kt_assert_msg(kt_msg_count(r, KDBUS_ITEM_OWNED_NAME) == 0, b, r);
	kt_msg_release(b, r);
	assert_ret(kt_recv_poll(b, 2000, &r), 0);
	kt_assert_msg(r->cookie == 2 && r->dst_id == b->id, b, r);
	kt_msg_release(b, r);

	/* the sender's names appear as OWNED_NAME metadata */
	assert_ret(kt_name_acquire(a, "com.example.sender", 0, NULL), 0);
	assert_ret(kt_send_simple(a, b->id, 4, 0, 0, 0), 0);
	assert_ret(kt_recv_poll(b, 2000, &r), 0);
	{
		struct kdbus_item *item = kt_msg_item(r, KDBUS_ITEM_OWNED_NAME);

		kt_assert_msg(item != NULL && !strcmp(item->name.name, "com.example.sender"), b, r);
		kt_assert_msg(item->name.flags == KDBUS_NAME_PRIMARY, b, r);
	}
	kt_msg_release(b, r);
	kt_conn_free(a);
	kt_conn_free(b);
}

static void test_name_queued_messages_stay(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus), *c = conn(bus);
	struct kdbus_msg *m, *r;
	uint64_t x = 1;

	/* a message addressed by name stays with the connection it was queued on */
	assert_ret(kt_name_acquire(b, "com.example.q", 0, NULL), 0);
	assert_ret(kt_name_acquire(c, "com.example.q", KDBUS_NAME_QUEUE, NULL), 0);
	m = kt_msg_new(KDBUS_DST_ID_NAME, 0, 7);
	kt_msg_add_dst_name(m, "com.example.q");
	kt_msg_add_vec(m, &x, sizeof(x));
	assert_ret(kt_send(a, m, 0, -1, NULL), 0);
	assert_ret(kt_name_release(b, "com.example.q"), 0);
	assert_ret(kt_send(a, m, 0, -1, NULL), 0);
	kt_msg_free(m);
	assert_ret(kt_recv_poll(b, 2000, &r), 0);
	kt_assert_msg(r->cookie == 7, b, r);
	kt_msg_release(b, r);
	assert_ret(kt_recv_poll(c, 2000, &r), 0);
	kt_assert_msg(r->cookie == 7, c, r);
	kt_msg_release(c, r);
	assert_ret(kt_expect_empty(b), 0);
	assert_ret(kt_expect_empty(c), 0);
	kt_conn_free(a);
	kt_conn_free(b);
	kt_conn_free(c);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		KT_TEST(test_name_basic),
		KT_TEST(test_name_conflict),
		KT_TEST(test_name_queue),
		KT_TEST(test_name_takeover),
		KT_TEST(test_name_limit),
		KT_TEST(test_list),
		KT_TEST(test_name_by_dst_name),
		KT_TEST(test_name_queued_messages_stay),
	};

	return kt_run("names", tests, sizeof(tests) / sizeof(tests[0]));
}
