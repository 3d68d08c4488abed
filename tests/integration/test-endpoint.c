/* SPDX-License-Identifier: BSD-2-Clause */
/* Conformance: custom endpoints and their policy (kdbus-spec §1.3, §3.2, §9.4). */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct ep {
	int fd;
	char path[4200];
};

static struct kt_conn *conn(struct kt_bus *bus)
{
	struct kt_conn *c = kt_conn_new(bus);

	if (!c)
		fail_msg("HELLO failed: %s", strerror(errno));
	return c;
}

static int ep_make_cmd(int fd, const char *name, uint64_t flags)
{
	struct kt_items it;
	struct kdbus_cmd *cmd;
	int r;

	kt_items_init(&it);
	kt_items_add_str(&it, KDBUS_ITEM_MAKE_NAME, name);
	cmd = kt_cmd_new(sizeof(*cmd), &it);
	cmd->flags = flags;
	r = kdbus_cmd_endpoint_make(fd, cmd);
	free(cmd);
	kt_items_deinit(&it);
	return r;
}

/* Create "<uid>-<suffix>" on the bus; the endpoint owner fd is kept in e. */
static int ep_make(struct kt_bus *bus, struct ep *e, const char *suffix, uint64_t flags)
{
	char name[128];
	int r;

	e->fd = kdbus_open(bus->path, O_RDWR | O_CLOEXEC);
	if (e->fd < 0)
		return -errno;
	snprintf(name, sizeof(name), "%u-%s", (unsigned)geteuid(), suffix);
	r = ep_make_cmd(e->fd, name, flags);
	if (r < 0) {
		kdbus_close(e->fd);
		e->fd = -1;
		return r;
	}
	snprintf(e->path, sizeof(e->path), "%s/%s", bus->dir, name);
	return 0;
}

/* ENDPOINT_UPDATE with one name and its access entries. */
static int ep_update(struct ep *e, const char *name, const struct kdbus_policy_access *acc,
		     size_t n)
{
	struct kt_items it;
	struct kdbus_cmd *cmd;
	size_t i;
	int r;

	kt_items_init(&it);
	if (name)
		kt_items_add_str(&it, KDBUS_ITEM_NAME, name);
	for (i = 0; i < n; i++)
		kt_items_add(&it, KDBUS_ITEM_POLICY_ACCESS, &acc[i], sizeof(acc[i]));
	cmd = kt_cmd_new(sizeof(*cmd), &it);
	r = kdbus_cmd_endpoint_update(e->fd, cmd);
	free(cmd);
	kt_items_deinit(&it);
	return r;
}

static struct kdbus_policy_access world(uint64_t access)
{
	struct kdbus_policy_access a = { .type = KDBUS_POLICY_ACCESS_WORLD, .access = access };

	return a;
}

static void test_endpoint_make(void **state)
{
	struct kt_bus *bus = *state;
	char name[200];
	struct ep e, e2;
	struct stat st;
	int fd;

	fd = kdbus_open(bus->path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	/* sysname rules with the uid prefix (§1.3) */
	snprintf(name, sizeof(name), "%u-%063d", (unsigned)geteuid(), 0);
	assert_ret(ep_make_cmd(fd, name, 0), -ENAMETOOLONG);
	snprintf(name, sizeof(name), "%u-foo", (unsigned)geteuid() + 1);
	assert_ret(ep_make_cmd(fd, name, 0), -EINVAL);
	assert_ret(ep_make_cmd(fd, "foo", 0), -EINVAL);
	snprintf(name, sizeof(name), "%u-fo@o", (unsigned)geteuid());
	assert_ret(ep_make_cmd(fd, name, 0), -EINVAL);
	snprintf(name, sizeof(name), "%u-foo", (unsigned)geteuid());
	assert_ret(ep_make_cmd(fd, name, 1ULL << 2), -EINVAL);
	{
		/* only MAKE_NAME (and NEGOTIATE) are accepted (§1.3 [DOC≠CODE]) */
		struct kt_items it;
		struct kdbus_cmd *cmd;

		kt_items_init(&it);
		kt_items_add_str(&it, KDBUS_ITEM_MAKE_NAME, name);
		kt_items_add_str(&it, KDBUS_ITEM_NAME, "foo.bar.baz");
		cmd = kt_cmd_new(sizeof(*cmd), &it);
		assert_ret(kdbus_cmd_endpoint_make(fd, cmd), -EINVAL);
		free(cmd);
		kt_items_deinit(&it);
		/* negotiation: 0x3 */
		cmd = kt_cmd_new(sizeof(*cmd), NULL);
		cmd->flags = KDBUS_FLAG_NEGOTIATE;
		assert_ret(kdbus_cmd_endpoint_make(fd, cmd), 0);
		assert_int_equal(cmd->flags, KDBUS_MAKE_ACCESS_GROUP | KDBUS_MAKE_ACCESS_WORLD);
		free(cmd);
	}
	kdbus_close(fd);

	assert_ret(ep_make(bus, &e, "foo", KDBUS_MAKE_ACCESS_WORLD), 0);
	assert_int_equal(stat(e.path, &st), 0);
	assert_ret(ep_make(bus, &e2, "foo", 0), -EEXIST);
	/* the endpoint owner fd can only ENDPOINT_UPDATE (§1.4.1) */
	{
		struct kdbus_cmd_hello h = { .size = sizeof(h), .pool_size = KT_POOL_SIZE };

		assert_ret(kdbus_cmd_hello(e.fd, &h), -EBADFD);
	}
	snprintf(name, sizeof(name), "%u-bar", (unsigned)geteuid());
	assert_ret(ep_make_cmd(e.fd, name, 0), -EBADFD);
	assert_ret(ep_update(&e, NULL, NULL, 0), 0);
	/* ENDPOINT_MAKE through a custom endpoint → EPERM */
	fd = kdbus_open(e.path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_ret(ep_make_cmd(fd, name, 0), -EPERM);
	kdbus_close(fd);
	/* closing the owner fd removes the endpoint */
	kdbus_close(e.fd);
	errno = 0;
	assert_int_equal(kdbus_open(e.path, O_RDWR | O_CLOEXEC), -1);
	assert_ret(-errno, -ENOENT);
}

static void test_endpoint_update_errors(void **state)
{
	struct kt_bus *bus = *state;
	struct kdbus_policy_access acc = world(KDBUS_POLICY_SEE);
	struct kt_items it;
	struct kdbus_cmd *cmd;
	struct ep e;

	assert_ret(ep_make(bus, &e, "upd", KDBUS_MAKE_ACCESS_WORLD), 0);
	/* POLICY_ACCESS before NAME */
	assert_ret(ep_update(&e, NULL, &acc, 1), -EINVAL);
	/* the same name twice → EEXIST */
	kt_items_init(&it);
	kt_items_add_str(&it, KDBUS_ITEM_NAME, "foo.bar.baz");
	kt_items_add_str(&it, KDBUS_ITEM_NAME, "foo.bar.baz");
	cmd = kt_cmd_new(sizeof(*cmd), &it);
	assert_ret(kdbus_cmd_endpoint_update(e.fd, cmd), -EEXIST);
	free(cmd);
	kt_items_deinit(&it);
	/* many names and wildcards are fine on endpoints (§3.2) */
	kt_items_init(&it);
	kt_items_add_str(&it, KDBUS_ITEM_NAME, "foo.bar.baz");
	kt_items_add(&it, KDBUS_ITEM_POLICY_ACCESS, &acc, sizeof(acc));
	kt_items_add_str(&it, KDBUS_ITEM_NAME, "foo.bar.*");
	kt_items_add_str(&it, KDBUS_ITEM_NAME, "com.example.a");
	cmd = kt_cmd_new(sizeof(*cmd), &it);
	assert_ret(kdbus_cmd_endpoint_update(e.fd, cmd), 0);
	cmd->flags = 1;
	assert_ret(kdbus_cmd_endpoint_update(e.fd, cmd), -EINVAL);
	free(cmd);
	kt_items_deinit(&it);
	acc.access = 7;
	assert_ret(ep_update(&e, "foo.bar.baz", &acc, 1), -EINVAL);
	assert_ret(ep_update(&e, "foo", NULL, 0), -EINVAL);
	kdbus_close(e.fd);
}

static void expect_notify(struct kt_conn *c, uint64_t type, uint64_t id)
{
	struct kdbus_msg *m = NULL;

	assert_ret(kt_recv_poll(c, 2000, &m), 0);
	kt_assert_msg(m->src_id == KDBUS_SRC_ID_KERNEL && m->items[0].type == type, c, m);
	if (type == KDBUS_ITEM_ID_ADD || type == KDBUS_ITEM_ID_REMOVE)
		kt_assert_msg(m->items[0].id_change.id == id, c, m);
	else
		kt_assert_msg(m->items[0].name_change.new_id.id == id, c, m);
	kt_msg_release(c, m);
}

static void test_endpoint_see(void **state)
{
	struct kt_bus *bus = *state;
	struct kdbus_policy_access acc = world(KDBUS_POLICY_SEE);
	struct kt_conn *a = conn(bus), *r, *r2, *mon;
	struct ep e;

	assert_ret(ep_make(bus, &e, "see", KDBUS_MAKE_ACCESS_WORLD), 0);
	r = kt_hello(e.path, 0, NULL);
	assert_non_null(r);
	assert_ret(kt_match_id(r, 1, KDBUS_ITEM_ID_ADD, KDBUS_MATCH_ID_ANY), 0);
	assert_ret(kt_match_id(r, 1, KDBUS_ITEM_ID_REMOVE, KDBUS_MATCH_ID_ANY), 0);
	assert_ret(kt_match_name(r, 1, KDBUS_ITEM_NAME_ADD, KDBUS_MATCH_ID_ANY, KDBUS_MATCH_ID_ANY,
				 "foo.bar.baz"),
		   0);
	/* no monitors on custom endpoints (§1.3) */
	assert_ret(kt_hello_full(&mon, e.path, KDBUS_HELLO_MONITOR, _KDBUS_ATTACH_ALL,
				 _KDBUS_ATTACH_ALL, KT_POOL_SIZE, NULL),
		   -EOPNOTSUPP);
	/* nobody is Owner there: no activators or policy holders */
	assert_ret(kt_hello_policy(&mon, e.path, KDBUS_HELLO_ACTIVATOR, "foo.bar.act", NULL, 0),
		   -EPERM);
	assert_ret(kt_hello_policy(&mon, e.path, KDBUS_HELLO_POLICY_HOLDER, "foo.bar.ph", NULL, 0),
		   -EPERM);
	/* ID notifications are not filtered */
	r2 = kt_hello(e.path, 0, NULL);
	assert_non_null(r2);
	expect_notify(r, KDBUS_ITEM_ID_ADD, r2->id);
	assert_ret(kt_match_name(r2, 1, KDBUS_ITEM_NAME_ADD, KDBUS_MATCH_ID_ANY,
				 KDBUS_MATCH_ID_ANY, "foo.bar.baz"),
		   0);

	/* a name the endpoint cannot SEE: no NAME_ADD, CONN_INFO fails */
	assert_ret(kt_name_acquire(a, "foo.bar.baz", 0, NULL), 0);
	assert_ret(kt_expect_empty(r), 0);
	assert_ret(kt_expect_empty(r2), 0);
	assert_ret(kt_conn_info(r, 0, "foo.bar.baz", 0, NULL), -ESRCH);
	assert_ret(kt_conn_info(r, 0, "foo.bar.nope", 0, NULL), -ESRCH);
	assert_ret(kt_conn_info(r, a->id, NULL, 0, NULL), -ENXIO);
	assert_ret(kt_conn_info(r, 0x7fffffff, NULL, 0, NULL), -ENXIO);
	{
		struct kt_conn *tmp = r;
		int64_t f = kt_name_flags(tmp, 0, "foo.bar.baz");

		/* LIST skips names it cannot SEE (§3.2 LIST) */
		assert_ret(f, -ENOENT);
	}

	/* grant SEE and re-acquire: both endpoint connections see NAME_ADD */
	assert_ret(ep_update(&e, "foo.bar.baz", &acc, 1), 0);
	assert_ret(kt_name_release(a, "foo.bar.baz"), 0);
	assert_ret(kt_name_acquire(a, "foo.bar.baz", 0, NULL), 0);
	expect_notify(r, KDBUS_ITEM_NAME_ADD, a->id);
	expect_notify(r2, KDBUS_ITEM_NAME_ADD, a->id);
	{
		struct kdbus_info *info;

		assert_ret(kt_conn_info(r, 0, "foo.bar.baz", 0, &info), 0);
		assert_int_equal(info->id, a->id);
		kt_free(r, kt_off(r, info));
		assert_ret(kt_conn_info(r, a->id, NULL, 0, &info), 0);
		kt_free(r, kt_off(r, info));
		assert_true(kt_name_flags(r, a->id, "foo.bar.baz") >= 0);
	}
	kt_conn_free(r2);
	kt_conn_free(r);
	kt_conn_free(a);
	kdbus_close(e.fd);
}

static void test_endpoint_talk_own(void **state)
{
	struct kt_bus *bus = *state;
	struct kdbus_policy_access acc[2];
	struct kt_conn *a = conn(bus), *c, *p;
	struct kdbus_msg *m;
	struct ep e;

	assert_ret(ep_make(bus, &e, "talk", KDBUS_MAKE_ACCESS_WORLD), 0);
	c = kt_hello(e.path, KDBUS_HELLO_ACCEPT_FD, NULL);
	assert_non_null(c);
	/* an empty endpoint policy denies everything (§1.3) */
	assert_ret(kt_name_acquire(c, "com.example.ep", 0, NULL), -EPERM);
	assert_ret(kt_send_simple(c, a->id, 1, 0, 0, 0), -EPERM);
	/* a nameless destination is unreachable from an endpoint */
	acc[0] = world(KDBUS_POLICY_TALK);
	assert_ret(ep_update(&e, "com.example.dst", acc, 1), 0);
	assert_ret(kt_send_simple(c, a->id, 1, 0, 0, 0), -EPERM);
	assert_ret(kt_name_acquire(a, "com.example.dst", 0, NULL), 0);
	assert_ret(kt_send_simple(c, a->id, 2, 0, 0, 0), 0);
	m = NULL;
	assert_ret(kt_recv_poll(a, 2000, &m), 0);
	kt_assert_msg(m->src_id == c->id && m->cookie == 2, a, m);
	kt_msg_release(a, m);
	/* the default endpoint side (Owner) may talk to the endpoint connection */
	assert_ret(kt_send_simple(a, c->id, 3, 0, 0, 0), 0);
	assert_ret(kt_recv_poll(c, 2000, &m), 0);
	kt_assert_msg(m->src_id == a->id, c, m);
	kt_msg_release(c, m);

	/* OWN needs the endpoint grant and (no Owner here) the bus grant (§9.4) */
	acc[0] = world(KDBUS_POLICY_OWN);
	assert_ret(ep_update(&e, "com.example.ep", acc, 1), 0);
	assert_ret(kt_name_acquire(c, "com.example.ep", 0, NULL), -EPERM);
	assert_ret(kt_hello_policy(&p, bus->path, KDBUS_HELLO_POLICY_HOLDER, "com.example.ep", acc,
				   1),
		   0);
	assert_ret(kt_name_acquire(c, "com.example.ep", 0, NULL), 0);
	/* the endpoint grant alone was replaced: talking to com.example.dst is denied again */
	assert_ret(kt_send_simple(c, a->id, 4, 0, 0, 0), -EPERM);
	kt_conn_free(p);
	kt_conn_free(c);
	kt_conn_free(a);
	kdbus_close(e.fd);
}

static void test_endpoint_close(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *c;
	struct ep e;
	short rev;

	assert_ret(ep_make(bus, &e, "gone", KDBUS_MAKE_ACCESS_WORLD), 0);
	c = kt_hello(e.path, 0, NULL);
	assert_non_null(c);
	/* §1.3: closing the endpoint owner fd disconnects its connections */
	kdbus_close(e.fd);
	assert_true(kt_poll(c, 2000, &rev) >= 0);
	assert_true(rev & POLLHUP);
	assert_ret(kt_recv(c, 0, 0, NULL, NULL), -ECONNRESET);
	kt_conn_free(c);
}

static void test_endpoint_accounting(void **state)
{
	struct kt_bus *bus = *state;
	struct kdbus_policy_access acc = world(KDBUS_POLICY_TALK);
	struct kt_conn *r = conn(bus), *a = conn(bus), *c1, *c2;
	struct ep e;
	unsigned int i;

	assert_ret(ep_make(bus, &e, "acct", KDBUS_MAKE_ACCESS_WORLD), 0);
	assert_ret(ep_update(&e, "com.example.r", &acc, 1), 0);
	assert_ret(kt_name_acquire(r, "com.example.r", 0, NULL), 0);
	c1 = kt_hello(e.path, 0, NULL);
	c2 = kt_hello(e.path, 0, NULL);
	assert_non_null(c1);
	assert_non_null(c2);
	/* the default endpoint user fills its share of r's queue */
	for (i = 0; i < KT_MAX_MSGS; i++)
		assert_ret(kt_send_simple(a, r->id, i, 0, 0, 0), 0);
	assert_ret(kt_send_simple(a, r->id, i, 0, 0, 0), -ENOBUFS);
	/* the endpoint's anonymous user has its own (§1.3), shared by its connections */
	for (i = 0; i < KT_MAX_MSGS; i++)
		assert_ret(kt_send_simple(i % 2 ? c1 : c2, r->id, i, 0, 0, 0), 0);
	assert_ret(kt_send_simple(c1, r->id, i, 0, 0, 0), -ENOBUFS);
	assert_ret(kt_send_simple(c2, r->id, i, 0, 0, 0), -ENOBUFS);
	kt_conn_free(c1);
	kt_conn_free(c2);
	kt_conn_free(a);
	kt_conn_free(r);
	kdbus_close(e.fd);
}

static void test_endpoint_unpriv(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_remote u;
	struct ep e1, e2;
	char name[64];

	KT_SKIP_UNLESS_ROOT();
	assert_ret(ep_make(bus, &e1, "apps1", 0), 0);
	assert_ret(ep_make(bus, &e2, "apps2", KDBUS_MAKE_ACCESS_WORLD), 0);
	assert_ret(kt_remote_start(&u, bus->path, KT_UNPRIV_UID, KT_UNPRIV_GID), 0);
	assert_true(u.id != 0);
	/* not the bus owner → EPERM */
	snprintf(name, sizeof(name), "%u-mine", KT_UNPRIV_UID);
	assert_ret(kt_remote(&u, 0, KT_OP_ENDPOINT_MAKE, 0, name), -EPERM);
	/* access flags are file modes: apps1 is the owner's only */
	assert_ret(kt_remote(&u, 0, KT_OP_OPEN, 0, e1.path), -EACCES);
	assert_ret(kt_remote(&u, 0, KT_OP_HELLO_PATH, 0, e2.path), 1);
	assert_int_equal(kt_remote_stop(&u), 0);
	kdbus_close(e1.fd);
	kdbus_close(e2.fd);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		KT_TEST(test_endpoint_make),
		KT_TEST(test_endpoint_update_errors),
		KT_TEST(test_endpoint_see),
		KT_TEST(test_endpoint_talk_own),
		KT_TEST(test_endpoint_close),
		KT_TEST(test_endpoint_accounting),
		KT_TEST(test_endpoint_unpriv),
	};

	return kt_run("endpoint", tests, sizeof(tests) / sizeof(tests[0]));
}
