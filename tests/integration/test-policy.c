/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Conformance: policy holders and the bus policy database (kdbus-spec §9.4,
 * §1.4.3, §1.4.4). Cases needing another uid fork a child that drops to
 * 65534 and are skipped when not running as root.
 */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define UNPRIV KT_UNPRIV_UID
#define OTHER_UID 65000

static struct kt_conn *conn(struct kt_bus *bus)
{
	struct kt_conn *c = kt_conn_new(bus);

	if (!c)
		fail_msg("HELLO failed: %s", strerror(errno));
	return c;
}

static struct kt_conn *holder(struct kt_bus *bus, const char *name,
			      const struct kdbus_policy_access *acc, size_t n)
{
	struct kt_conn *c;
	int r = kt_hello_policy(&c, bus->path, KDBUS_HELLO_POLICY_HOLDER, name, acc, n);

	if (r < 0)
		fail_msg("policy holder HELLO for %s: %s", name, kt_strerr(r));
	return c;
}

static struct kdbus_policy_access pa(uint64_t type, uint64_t access, uint64_t id)
{
	struct kdbus_policy_access a = { .type = type, .access = access, .id = id };

	return a;
}

static void test_policy_holder_names(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a, *b, *c, *x;

	/* §9.4 upload format: valid names (wildcards allowed) */
	assert_ret(kt_hello_policy(&x, bus->path, KDBUS_HELLO_POLICY_HOLDER, ".example.a", NULL, 0),
		   -EINVAL);
	assert_ret(kt_hello_policy(&x, bus->path, KDBUS_HELLO_POLICY_HOLDER, "example", NULL, 0),
		   -EINVAL);
	a = holder(bus, "com.example.a", NULL, 0);
	b = holder(bus, "com.example.b", NULL, 0);
	/* the same exact name under two owners → EEXIST, old set kept */
	assert_ret(kt_update_policy(b, "com.example.a", NULL, 0), -EEXIST);
	assert_ret(kt_hello_policy(&x, bus->path, KDBUS_HELLO_POLICY_HOLDER, "com.example.b", NULL,
				   0),
		   -EEXIST);
	/* exact and wildcard keys are different */
	assert_ret(kt_update_policy(b, "com.example.a.*", NULL, 0), 0);
	/* b's update replaced its whole set: com.example.b is free again */
	c = holder(bus, "com.example.b", NULL, 0);
	assert_ret(kt_update_policy(c, "com.example.a.*", NULL, 0), -EEXIST);
	/* a moves to a wildcard; now c can take com.example.a */
	assert_ret(kt_update_policy(a, "com.example.*", NULL, 0), 0);
	assert_ret(kt_update_policy(c, "com.example.a", NULL, 0), 0);
	/* invalid names */
	assert_ret(kt_update_policy(a, ".example.*", NULL, 0), -EINVAL);
	assert_ret(kt_update_policy(a, "example", NULL, 0), -EINVAL);
	/* a policy holder and an activator cannot share a name */
	assert_ret(kt_hello_policy(&x, bus->path, KDBUS_HELLO_ACTIVATOR, "com.example.a", NULL, 0),
		   -EEXIST);
	/* after a holder disconnects its names are free */
	c = kt_conn_free(c);
	x = holder(bus, "com.example.a", NULL, 0);
	kt_conn_free(x);
	kt_conn_free(a);
	kt_conn_free(b);
}

static void test_policy_upload_errors(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = holder(bus, "com.example.a", NULL, 0);
	struct kdbus_policy_access acc;
	struct kt_items it;
	struct kdbus_cmd *cmd;

	/* POLICY_ACCESS before any NAME → EINVAL */
	kt_items_init(&it);
	kt_items_add_access(&it, KDBUS_POLICY_ACCESS_WORLD, KDBUS_POLICY_SEE, 0);
	kt_items_add_str(&it, KDBUS_ITEM_NAME, "com.example.a");
	cmd = kt_cmd_new(sizeof(*cmd), &it);
	assert_ret(kdbus_cmd_update(a->fd, cmd), -EINVAL);
	free(cmd);
	kt_items_deinit(&it);
	/* two names via UPDATE → E2BIG */
	kt_items_init(&it);
	kt_items_add_str(&it, KDBUS_ITEM_NAME, "com.example.a");
	kt_items_add_str(&it, KDBUS_ITEM_NAME, "com.example.c");
	cmd = kt_cmd_new(sizeof(*cmd), &it);
	assert_ret(kdbus_cmd_update(a->fd, cmd), -E2BIG);
	free(cmd);
	kt_items_deinit(&it);
	/* invalid type / access values */
	acc = pa(0, KDBUS_POLICY_SEE, 0);
	assert_ret(kt_update_policy(a, "com.example.a", &acc, 1), -EINVAL);
	acc = pa(4, KDBUS_POLICY_SEE, 0);
	assert_ret(kt_update_policy(a, "com.example.a", &acc, 1), -EINVAL);
	acc = pa(KDBUS_POLICY_ACCESS_WORLD, 3, 0);
	assert_ret(kt_update_policy(a, "com.example.a", &acc, 1), -EINVAL);
	acc = pa(KDBUS_POLICY_ACCESS_USER, KDBUS_POLICY_OWN, 0);
	assert_ret(kt_update_policy(a, "com.example.a", &acc, 1), 0);
	/* the holder's set is still intact: another holder cannot take it */
	{
		struct kt_conn *x;

		assert_ret(kt_hello_policy(&x, bus->path, KDBUS_HELLO_POLICY_HOLDER,
					   "com.example.a", NULL, 0),
			   -EEXIST);
	}
	kt_conn_free(a);
}

static void test_policy_holder_kind(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *p = holder(bus, "com.example.p", NULL, 0), *a = conn(bus);
	struct kdbus_cmd_recv rc = { .size = sizeof(rc) };
	struct kdbus_cmd_free fc = { .size = sizeof(fc), .offset = KT_POOL_SIZE };
	struct kdbus_info *info;
	struct kdbus_msg *m;

	/* §1.4.4 policy holder column */
	assert_ret(kt_send_simple(p, a->id, 1, 0, 0, 0), -EOPNOTSUPP);
	assert_ret(kdbus_cmd_recv(p->fd, &rc), -EOPNOTSUPP);
	assert_ret(kdbus_cmd_free(p->fd, &fc), -EOPNOTSUPP);
	assert_ret(kt_name_acquire(p, "com.example.p", 0, NULL), -EOPNOTSUPP);
	assert_ret(kt_name_release(p, "com.example.p"), -EOPNOTSUPP);
	assert_ret(kt_match_any_signal(p), -EOPNOTSUPP);
	assert_ret(kt_match_remove(p, 1), -EOPNOTSUPP);
	assert_ret(kt_byebye(p), -EOPNOTSUPP);
	assert_ret(kt_update_attach(p, 0, 0), -EOPNOTSUPP);
	/* not addressable by id */
	assert_ret(kt_send_simple(a, p->id, 1, 0, 0, 0), -ENXIO);
	/* but visible to CONN_INFO (flags = HELLO flags) */
	assert_ret(kt_conn_info(a, p->id, NULL, 0, &info), 0);
	assert_int_equal(info->flags, KDBUS_HELLO_POLICY_HOLDER);
	kt_free(a, kt_off(a, info));
	/* and broadcasts never reach it; a itself gets its own */
	assert_ret(kt_match_any_signal(a), 0);
	assert_ret(kt_send_signal(a, KDBUS_DST_ID_BROADCAST, 5, 0, NULL), 0);
	assert_ret(kt_recv_poll(a, 2000, &m), 0);
	kt_assert_msg(m->cookie == 5, a, m);
	kt_msg_release(a, m);
	kt_conn_free(p);
	kt_conn_free(a);
}

static void test_policy_priv_special_kinds(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_remote u;

	KT_SKIP_UNLESS_ROOT();
	assert_ret(kt_remote_start(&u, bus->path, UNPRIV, UNPRIV), 0);
	assert_true(u.id != 0);
	/* §1.4.4: special kinds require Owner */
	assert_ret(kt_remote(&u, 0, KT_OP_HELLO, KDBUS_HELLO_POLICY_HOLDER, "com.example.u"),
		   -EPERM);
	assert_ret(kt_remote(&u, 0, KT_OP_HELLO, KDBUS_HELLO_ACTIVATOR, "com.example.u"), -EPERM);
	assert_ret(kt_remote(&u, 0, KT_OP_HELLO, KDBUS_HELLO_MONITOR, NULL), -EPERM);
	/* ordinary HELLO works (the bus is world-accessible) */
	assert_ret(kt_remote(&u, 0, KT_OP_HELLO, 0, NULL), 1);
	assert_int_equal(kt_remote_stop(&u), 0);
}

static void test_policy_priv_before_upload(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *r = conn(bus);
	struct kt_remote u, v;
	struct kdbus_msg *m;

	KT_SKIP_UNLESS_ROOT();
	assert_ret(kt_remote_start(&u, bus->path, UNPRIV, UNPRIV), 0);
	assert_ret(kt_remote_start(&v, bus->path, OTHER_UID, OTHER_UID), 0);
	assert_true(u.id != 0 && v.id != 0);

	/* empty policy: no names for non-Owners, the Owner can always own */
	assert_ret(kt_remote(&u, 0, KT_OP_ACQUIRE, 0, "com.example.x"), -EPERM);
	assert_ret(kt_name_acquire(r, "com.example.x", 0, NULL), 0);
	/* no TALK to another uid */
	assert_ret(kt_remote(&u, 0, KT_OP_SEND, r->id, NULL), -EPERM);
	assert_ret(kt_remote(&u, 0, KT_OP_SEND_NAME, 0, "com.example.x"), -EPERM);
	assert_ret(kt_remote(&u, 0, KT_OP_SEND, v.id, NULL), -EPERM);
	assert_ret(kt_remote(&u, 0, KT_OP_BCAST_CALL, 0, NULL), -ENOTUNIQ);
	/* the Owner may talk to anyone */
	assert_ret(kt_send_simple(r, u.id, 3, 0, 0, 0), 0);
	assert_int_equal(kt_remote(&u, 0, KT_OP_RECV, 2000, NULL), r->id);

	/* broadcasts: TALK(receiver → sender) with the receiver's credentials */
	assert_ret(kt_match_any_signal(r), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_MATCH_ANY, 0, NULL), 0);
	assert_ret(kt_remote(&v, 0, KT_OP_MATCH_ANY, 0, NULL), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_SIGNAL, KDBUS_DST_ID_BROADCAST, NULL), 0);
	assert_ret(kt_recv_poll(r, 2000, &m), 0);
	kt_assert_msg(m->src_id == u.id && m->cookie == 0x5167, r, m);
	kt_msg_release(r, m);
	/* u gets its own broadcast; v (another uid) does not */
	assert_int_equal(kt_remote(&u, 0, KT_OP_RECV, 2000, NULL), u.id);
	assert_ret(kt_remote(&v, 0, KT_OP_RECV, 300, NULL), -EAGAIN);
	/* root's broadcast does not reach u (u may not talk to root) */
	assert_ret(kt_send_signal(r, KDBUS_DST_ID_BROADCAST, 9, 0, NULL), 0);
	assert_ret(kt_recv_poll(r, 2000, &m), 0);
	kt_msg_release(r, m);
	assert_ret(kt_remote(&u, 0, KT_OP_RECV, 300, NULL), -EAGAIN);
	assert_ret(kt_remote(&v, 0, KT_OP_RECV, 300, NULL), -EAGAIN);

	/* same uid: unicast and broadcast work without policy */
	assert_ret(kt_remote(&u, 0, KT_OP_HELLO, 0, NULL), 1);
	assert_ret(kt_remote(&u, 1, KT_OP_MATCH_ANY, 0, NULL), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_SIGNAL, KDBUS_DST_ID_BROADCAST, NULL), 0);
	assert_int_equal(kt_remote(&u, 1, KT_OP_RECV, 2000, NULL), u.id);
	assert_int_equal(kt_remote(&u, 0, KT_OP_RECV, 2000, NULL), u.id);
	assert_ret(kt_remote(&u, 1, KT_OP_SEND, u.id, NULL), 0);
	assert_int_equal(kt_remote(&u, 0, KT_OP_RECV, 2000, NULL),
			 kt_remote(&u, 1, KT_OP_ID, 0, NULL));
	/* root got u's broadcast again */
	assert_ret(kt_recv_poll(r, 2000, &m), 0);
	kt_assert_msg(m->src_id == u.id, r, m);
	kt_msg_release(r, m);
	assert_ret(kt_expect_empty(r), 0);

	assert_int_equal(kt_remote_stop(&u), 0);
	assert_int_equal(kt_remote_stop(&v), 0);
	kt_conn_free(r);
}

static void test_policy_priv_own(void **state)
{
	struct kt_bus *bus = *state;
	struct kdbus_policy_access acc[3];
	struct kt_conn *p;
	struct kt_remote u;
	const char *n = "com.example.own";

	KT_SKIP_UNLESS_ROOT();
	assert_ret(kt_remote_start(&u, bus->path, UNPRIV, UNPRIV), 0);
	assert_true(u.id != 0);
	assert_ret(kt_remote(&u, 0, KT_OP_ACQUIRE, 0, n), -EPERM);
	/* a non-Owner cannot upload policy */
	assert_ret(kt_remote(&u, 0, KT_OP_HELLO, KDBUS_HELLO_POLICY_HOLDER, n), -EPERM);

	acc[0] = pa(KDBUS_POLICY_ACCESS_WORLD, KDBUS_POLICY_OWN, 0);
	p = holder(bus, n, acc, 1);
	assert_ret(kt_remote(&u, 0, KT_OP_ACQUIRE, 0, n), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_RELEASE, 0, n), 0);

	acc[0] = pa(KDBUS_POLICY_ACCESS_GROUP, KDBUS_POLICY_OWN, UNPRIV);
	assert_ret(kt_update_policy(p, n, acc, 1), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_ACQUIRE, 0, n), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_RELEASE, 0, n), 0);
	acc[0] = pa(KDBUS_POLICY_ACCESS_GROUP, KDBUS_POLICY_OWN, 12345);
	assert_ret(kt_update_policy(p, n, acc, 1), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_ACQUIRE, 0, n), -EPERM);

	acc[0] = pa(KDBUS_POLICY_ACCESS_USER, KDBUS_POLICY_OWN, UNPRIV);
	assert_ret(kt_update_policy(p, n, acc, 1), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_ACQUIRE, 0, n), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_RELEASE, 0, n), 0);
	acc[0] = pa(KDBUS_POLICY_ACCESS_USER, KDBUS_POLICY_OWN, 12345);
	assert_ret(kt_update_policy(p, n, acc, 1), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_ACQUIRE, 0, n), -EPERM);

	/* SEE and TALK do not imply OWN */
	acc[0] = pa(KDBUS_POLICY_ACCESS_WORLD, KDBUS_POLICY_SEE, 0);
	acc[1] = pa(KDBUS_POLICY_ACCESS_WORLD, KDBUS_POLICY_TALK, 0);
	assert_ret(kt_update_policy(p, n, acc, 2), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_ACQUIRE, 0, n), -EPERM);

	/* the matching rule may be anywhere in the list */
	acc[0] = pa(KDBUS_POLICY_ACCESS_USER, KDBUS_POLICY_OWN, 12345);
	acc[1] = pa(KDBUS_POLICY_ACCESS_USER, KDBUS_POLICY_OWN, UNPRIV);
	acc[2] = pa(KDBUS_POLICY_ACCESS_GROUP, KDBUS_POLICY_TALK, 12345);
	assert_ret(kt_update_policy(p, n, acc, 3), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_ACQUIRE, 0, n), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_RELEASE, 0, n), 0);

	/* wildcards cover exactly one more element */
	acc[0] = pa(KDBUS_POLICY_ACCESS_WORLD, KDBUS_POLICY_OWN, 0);
	assert_ret(kt_update_policy(p, "foo.bar.*", acc, 1), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_ACQUIRE, 0, n), -EPERM);
	assert_ret(kt_remote(&u, 0, KT_OP_ACQUIRE, 0, "foo.bar.baz"), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_ACQUIRE, 0, "foo.bar.baz.qux"), -EPERM);
	assert_ret(kt_remote(&u, 0, KT_OP_ACQUIRE, 0, "foo.bar"), -EPERM);
	/* an exact entry wins over the wildcard */
	{
		struct kt_conn *q = holder(bus, "foo.bar.exact", NULL, 0);

		assert_ret(kt_remote(&u, 0, KT_OP_ACQUIRE, 0, "foo.bar.exact"), -EPERM);
		kt_conn_free(q);
		assert_ret(kt_remote(&u, 0, KT_OP_ACQUIRE, 0, "foo.bar.exact"), 0);
	}
	/* a holder disconnecting revokes its grants; owned names stay owned */
	p = kt_conn_free(p);
	assert_ret(kt_remote(&u, 0, KT_OP_ACQUIRE, 0, "foo.bar.other"), -EPERM);
	assert_int_equal(kt_remote_stop(&u), 0);
}

static void test_policy_priv_talk(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *r = conn(bus), *p;
	struct kdbus_policy_access acc;
	struct kt_remote u;
	struct kdbus_msg *m;
	const char *n = "com.example.talk";

	KT_SKIP_UNLESS_ROOT();
	assert_ret(kt_remote_start(&u, bus->path, UNPRIV, UNPRIV), 0);
	assert_true(u.id != 0);
	assert_ret(kt_name_acquire(r, n, 0, NULL), 0);
	assert_ret(kt_name_acquire(r, "com.example.second", 0, NULL), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_SEND, r->id, NULL), -EPERM);
	assert_ret(kt_remote(&u, 0, KT_OP_SEND_NAME, 0, n), -EPERM);
	/* a grant on one of r's names opens r, by id and by any name (§9.4) */
	acc = pa(KDBUS_POLICY_ACCESS_WORLD, KDBUS_POLICY_TALK, 0);
	p = holder(bus, n, &acc, 1);
	assert_ret(kt_remote(&u, 0, KT_OP_SEND, r->id, NULL), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_SEND_NAME, 0, n), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_SEND_NAME, 0, "com.example.second"), 0);
	for (int i = 0; i < 3; i++) {
		assert_ret(kt_recv_poll(r, 2000, &m), 0);
		kt_assert_msg(m->src_id == u.id && m->cookie == 0xbeef, r, m);
		kt_msg_release(r, m);
	}
	/* USER and GROUP rules */
	acc = pa(KDBUS_POLICY_ACCESS_USER, KDBUS_POLICY_TALK, UNPRIV);
	assert_ret(kt_update_policy(p, n, &acc, 1), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_SEND, r->id, NULL), 0);
	acc = pa(KDBUS_POLICY_ACCESS_USER, KDBUS_POLICY_TALK, 12345);
	assert_ret(kt_update_policy(p, n, &acc, 1), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_SEND, r->id, NULL), -EPERM);
	acc = pa(KDBUS_POLICY_ACCESS_GROUP, KDBUS_POLICY_TALK, UNPRIV);
	assert_ret(kt_update_policy(p, n, &acc, 1), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_SEND, r->id, NULL), 0);
	/* OWN implies TALK; SEE does not */
	acc = pa(KDBUS_POLICY_ACCESS_WORLD, KDBUS_POLICY_OWN, 0);
	assert_ret(kt_update_policy(p, n, &acc, 1), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_SEND, r->id, NULL), 0);
	acc = pa(KDBUS_POLICY_ACCESS_WORLD, KDBUS_POLICY_SEE, 0);
	assert_ret(kt_update_policy(p, n, &acc, 1), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_SEND, r->id, NULL), -EPERM);
	/* an empty rule set revokes immediately */
	acc = pa(KDBUS_POLICY_ACCESS_WORLD, KDBUS_POLICY_TALK, 0);
	assert_ret(kt_update_policy(p, n, &acc, 1), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_SEND, r->id, NULL), 0);
	assert_ret(kt_update_policy(p, n, NULL, 0), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_SEND, r->id, NULL), -EPERM);
	/* as does the holder going away */
	assert_ret(kt_update_policy(p, n, &acc, 1), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_SEND, r->id, NULL), 0);
	p = kt_conn_free(p);
	assert_ret(kt_remote(&u, 0, KT_OP_SEND, r->id, NULL), -EPERM);
	/* a grant on a name r does not own does not help */
	p = holder(bus, "com.example.elsewhere", &acc, 1);
	assert_ret(kt_remote(&u, 0, KT_OP_SEND, r->id, NULL), -EPERM);
	/* wildcard grants */
	assert_ret(kt_update_policy(p, "com.example.*", &acc, 1), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_SEND, r->id, NULL), 0);
	kt_conn_free(p);
	while (kt_recv(r, 0, 0, &m, NULL) == 0)
		kt_msg_release(r, m);
	assert_int_equal(kt_remote_stop(&u), 0);
	kt_conn_free(r);
}

static void test_policy_priv_broadcast(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *r = conn(bus), *p;
	struct kdbus_policy_access acc;
	struct kt_remote u;
	struct kdbus_msg *m;

	KT_SKIP_UNLESS_ROOT();
	assert_ret(kt_remote_start(&u, bus->path, UNPRIV, UNPRIV), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_MATCH_ANY, 0, NULL), 0);
	assert_ret(kt_name_acquire(r, "com.example.bc", 0, NULL), 0);
	assert_ret(kt_send_signal(r, KDBUS_DST_ID_BROADCAST, 1, 0, NULL), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_RECV, 300, NULL), -EAGAIN);
	/* the sender's name now grants u TALK: u receives (§7.3.3) */
	acc = pa(KDBUS_POLICY_ACCESS_WORLD, KDBUS_POLICY_TALK, 0);
	p = holder(bus, "com.example.bc", &acc, 1);
	assert_ret(kt_send_signal(r, KDBUS_DST_ID_BROADCAST, 2, 0, NULL), 0);
	assert_int_equal(kt_remote(&u, 0, KT_OP_RECV, 2000, NULL), r->id);
	assert_int_equal(kt_remote(&u, 0, KT_OP_LAST, 0, NULL), 2);
	/* a unicast signal follows the same rule */
	assert_ret(kt_send_signal(r, u.id, 3, 0, NULL), 0);
	assert_int_equal(kt_remote(&u, 0, KT_OP_RECV, 2000, NULL), r->id);
	assert_int_equal(kt_remote(&u, 0, KT_OP_LAST, 0, NULL), 3);
	kt_conn_free(p);
	assert_ret(kt_send_signal(r, u.id, 4, 0, NULL), 0);
	assert_ret(kt_remote(&u, 0, KT_OP_RECV, 300, NULL), -EAGAIN);
	assert_int_equal(kt_remote_stop(&u), 0);
	(void)m;
	kt_conn_free(r);
}

static void test_policy_reply_not_checked(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *r = conn(bus);
	struct kt_remote u;
	struct kdbus_msg *m;

	KT_SKIP_UNLESS_ROOT();
	assert_ret(kt_remote_start(&u, bus->path, UNPRIV, UNPRIV), 0);
	/* u cannot talk to r, but may answer r's call (§7.5.1) */
	assert_ret(kt_send_call(r, u.id, 0x600d, 5000000000ULL), 0);
	assert_int_equal(kt_remote(&u, 0, KT_OP_RECV, 2000, NULL), r->id);
	assert_ret(kt_remote(&u, 0, KT_OP_SEND, r->id, NULL), -EPERM);
	assert_ret(kt_remote(&u, 0, KT_OP_REPLY, r->id, NULL), 0);
	assert_ret(kt_recv_poll(r, 2000, &m), 0);
	kt_assert_msg(m->src_id == u.id && m->cookie_reply == 0x600d, r, m);
	kt_msg_release(r, m);
	/* only once */
	assert_ret(kt_remote(&u, 0, KT_OP_REPLY, r->id, NULL), -EBADSLT);
	assert_int_equal(kt_remote_stop(&u), 0);
	kt_conn_free(r);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		KT_TEST(test_policy_holder_names),
		KT_TEST(test_policy_upload_errors),
		KT_TEST(test_policy_holder_kind),
		KT_TEST(test_policy_priv_special_kinds),
		KT_TEST(test_policy_priv_before_upload),
		KT_TEST(test_policy_priv_own),
		KT_TEST(test_policy_priv_talk),
		KT_TEST(test_policy_priv_broadcast),
		KT_TEST(test_policy_reply_not_checked),
	};

	return kt_run("policy", tests, sizeof(tests) / sizeof(tests[0]));
}
