/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Conformance tests, part 1: bus creation, connections, messages, pools,
 * fds, metadata, replies, quotas and the generic command rules. Section
 * numbers (§) refer to kdbus-spec.md.
 */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MS 1000000ULL

static struct kt_conn *conn(struct kt_bus *bus)
{
	struct kt_conn *c = kt_conn_new(bus);

	if (!c)
		fail_msg("HELLO on %s failed: %s", bus->path, strerror(errno));
	return c;
}

static struct kt_conn *conn_attach(struct kt_bus *bus, uint64_t flags, uint64_t send,
				   uint64_t recv, size_t pool)
{
	struct kt_conn *c;
	int r = kt_hello_full(&c, bus->path, flags, send, recv, pool, NULL);

	if (r < 0)
		fail_msg("HELLO on %s failed: %s", bus->path, kt_strerr(r));
	return c;
}

/* Receive one message within 2 s or fail. */
static struct kdbus_msg *recv1(struct kt_conn *c)
{
	struct kdbus_msg *m = NULL;
	int r = kt_recv_poll(c, 2000, &m);

	if (r < 0)
		fail_msg("expected a message on conn %llu: %s", (unsigned long long)c->id,
			 kt_strerr(r));
	return m;
}

static pid_t kt_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void assert_my_creds(const struct kdbus_creds *cr)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	assert_int_equal(getresuid(&ru, &eu, &su), 0);
	assert_int_equal(getresgid(&rg, &eg, &sg), 0);
	assert_int_equal(cr->uid, ru);
	assert_int_equal(cr->euid, eu);
	assert_int_equal(cr->suid, su);
	assert_int_equal(cr->fsuid, eu);
	assert_int_equal(cr->gid, rg);
	assert_int_equal(cr->egid, eg);
	assert_int_equal(cr->sgid, sg);
	assert_int_equal(cr->fsgid, eg);
}

static void read_comm(char *buf, size_t cap)
{
	char *nl;

	assert_true(kt_read_file("/proc/self/comm", buf, cap) > 0);
	nl = strchr(buf, '\n');
	if (nl)
		*nl = 0;
}

/* ------------------------------------------------------------- bus-make */

static void test_bus_make(void **state)
{
	struct kt_bus *bus = *state;
	char path[4200], name[128], rnd[64], longname[128];
	unsigned uid = (unsigned)geteuid();
	struct stat st;
	int fd1, fd2;

	(void)bus;
	snprintf(path, sizeof(path), "%s/control", kt_root());
	fd1 = kdbus_open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd1 >= 0);
	fd2 = kdbus_open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd2 >= 0);

	/* §1.2 name rules */
	kt_random_name("nouid-", rnd, sizeof(rnd));
	assert_ret(kt_make_bus_cmd(fd1, rnd, 0, 64, 1, 0), -EINVAL);
	snprintf(name, sizeof(name), "%u-bla@foo", uid);
	assert_ret(kt_make_bus_cmd(fd1, name, 0, 64, 1, 0), -EINVAL);
	snprintf(name, sizeof(name), "%u-blafoo-", uid);
	assert_ret(kt_make_bus_cmd(fd1, name, 0, 64, 1, 0), -EINVAL);
	snprintf(name, sizeof(name), "%u-x", uid + 1);
	assert_ret(kt_make_bus_cmd(fd1, name, 0, 64, 1, 0), -EINVAL);
	snprintf(longname, sizeof(longname), "%u-%0*d", uid, 63, 0);
	assert_true(strlen(longname) > 63);
	assert_ret(kt_make_bus_cmd(fd1, longname, 0, 64, 1, 0), -ENAMETOOLONG);
	/* §3.2 BUS_MAKE: mandatory items, bloom parameters, flags, attach mask */
	assert_ret(kt_make_bus_cmd(fd1, NULL, 0, 64, 1, 0), -EINVAL);
	kt_random_name("ok-", rnd, sizeof(rnd));
	snprintf(name, sizeof(name), "%u-%s-1", uid, rnd);
	assert_ret(kt_make_bus_cmd(fd1, name, 0, 0, 1, 0), -EINVAL);
	assert_ret(kt_make_bus_cmd(fd1, name, 0, 7, 1, 0), -EINVAL);
	assert_ret(kt_make_bus_cmd(fd1, name, 0, 4104, 1, 0), -EINVAL);
	assert_ret(kt_make_bus_cmd(fd1, name, 0, 60, 1, 0), -EINVAL);
	assert_ret(kt_make_bus_cmd(fd1, name, 0, 64, 0, 0), -EINVAL);
	assert_ret(kt_make_bus_cmd(fd1, name, 1ULL << 2, 64, 1, 0), -EINVAL);
	assert_ret(kt_make_bus_cmd(fd1, name, 0, 64, 1, 1ULL << 14), -EINVAL);
	{
		/* no bloom parameter at all */
		struct kt_items it;
		struct kdbus_cmd *cmd;

		kt_items_init(&it);
		kt_items_add_str(&it, KDBUS_ITEM_MAKE_NAME, name);
		cmd = kt_cmd_new(sizeof(*cmd), &it);
		assert_ret(kdbus_cmd_bus_make(fd1, cmd), -EINVAL);
		free(cmd);
		/* duplicate single-instance item (§2.2) */
		kt_items_add_str(&it, KDBUS_ITEM_MAKE_NAME, name);
		{
			struct kdbus_bloom_parameter bp = { 64, 1 };

			kt_items_add(&it, KDBUS_ITEM_BLOOM_PARAMETER, &bp, sizeof(bp));
		}
		cmd = kt_cmd_new(sizeof(*cmd), &it);
		assert_ret(kdbus_cmd_bus_make(fd1, cmd), -EINVAL);
		free(cmd);
		kt_items_deinit(&it);
	}
	/* failed attempts left the fd usable; bloom 4096 is the maximum */
	assert_ret(kt_make_bus_cmd(fd1, name, KDBUS_MAKE_ACCESS_WORLD, 4096, 1, 0), 0);
	assert_ret(kt_make_bus_cmd(fd2, name, 0, 64, 1, 0), -EEXIST);
	snprintf(path, sizeof(path), "%s/%s/bus", kt_root(), name);
	assert_int_equal(stat(path, &st), 0);
	/* §1.2: one fd creates at most one bus */
	snprintf(name, sizeof(name), "%u-%s-2", uid, rnd);
	assert_ret(kt_make_bus_cmd(fd1, name, 0, 64, 1, 0), -EBADFD);
	assert_ret(kt_make_bus_cmd(fd2, name, 0, 64, 1, 0), 0);

	/* the bus ends with its owner fd (§1.2) */
	assert_int_equal(kdbus_close(fd1), 0);
	snprintf(name, sizeof(name), "%u-%s-1", uid, rnd);
	snprintf(path, sizeof(path), "%s/%s/bus", kt_root(), name);
	errno = 0;
	assert_int_equal(kdbus_open(path, O_RDWR | O_CLOEXEC), -1);
	assert_ret(-errno, -ENOENT);
	/* and its name can be reused */
	fd1 = kdbus_open(strcat(strcpy(path, kt_root()), "/control"), O_RDWR | O_CLOEXEC);
	assert_true(fd1 >= 0);
	assert_ret(kt_make_bus_cmd(fd1, name, 0, 64, 1, 0), 0);
	kdbus_close(fd1);
	kdbus_close(fd2);
}

static void test_bus_make_negotiate(void **state)
{
	char path[4200], name[128], rnd[64];
	struct kt_items it;
	struct kdbus_cmd *cmd;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/control", kt_root());
	fd = kdbus_open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	kt_items_init(&it);
	cmd = kt_cmd_new(sizeof(*cmd), &it);
	cmd->flags = KDBUS_FLAG_NEGOTIATE;
	/* §2.3: mandatory items are not needed while negotiating; BUS_MAKE accepts 0x3 */
	assert_ret(kdbus_cmd_bus_make(fd, cmd), 0);
	assert_int_equal(cmd->flags, KDBUS_MAKE_ACCESS_GROUP | KDBUS_MAKE_ACCESS_WORLD);
	free(cmd);
	kt_items_deinit(&it);
	/* nothing was executed: the fd can still create a bus */
	snprintf(name, sizeof(name), "%u-%s", (unsigned)geteuid(),
		 kt_random_name("neg-", rnd, sizeof(rnd)));
	assert_ret(kt_make_bus_cmd(fd, name, 0, 64, 1, 0), 0);
	kdbus_close(fd);
}

static void test_bus_creator_info(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus);
	struct kdbus_info *info;
	struct kdbus_item *item;
	char comm[64], exe[4096];
	ssize_t l;

	assert_ret(kt_bus_creator_info(a, _KDBUS_ATTACH_ALL, &info), 0);
	assert_int_equal(info->flags, KDBUS_MAKE_ACCESS_WORLD);
	/* §3.2: MAKE_NAME first, then creator metadata */
	item = info->items;
	assert_int_equal(item->type, KDBUS_ITEM_MAKE_NAME);
	assert_string_equal(item->str, bus->name);
	item = kt_info_item(info, KDBUS_ITEM_CREDS);
	assert_non_null(item);
	assert_my_creds(&item->creds);
	item = kt_info_item(info, KDBUS_ITEM_PIDS);
	assert_non_null(item);
	assert_int_equal(item->pids.pid, getpid());
	assert_int_equal(item->pids.tid, kt_gettid());
	assert_int_equal(item->pids.ppid, getppid());
	read_comm(comm, sizeof(comm));
	item = kt_info_item(info, KDBUS_ITEM_PID_COMM);
	assert_non_null(item);
	assert_string_equal(item->str, comm);
	l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(l > 0);
	exe[l] = 0;
	item = kt_info_item(info, KDBUS_ITEM_EXE);
	assert_non_null(item);
	assert_string_equal(item->str, exe);
	/* never: names, description, timestamp */
	assert_int_equal(kt_info_count(info, KDBUS_ITEM_OWNED_NAME), 0);
	assert_int_equal(kt_info_count(info, KDBUS_ITEM_CONN_DESCRIPTION), 0);
	assert_int_equal(kt_info_count(info, KDBUS_ITEM_TIMESTAMP), 0);
	assert_ret(kt_free(a, kt_off(a, info)), 0);

	/* only requested items */
	assert_ret(kt_bus_creator_info(a, KDBUS_ATTACH_PIDS, &info), 0);
	assert_int_equal(kt_info_count(info, KDBUS_ITEM_CREDS), 0);
	assert_int_equal(kt_info_count(info, KDBUS_ITEM_PIDS), 1);
	assert_int_equal(kt_info_count(info, KDBUS_ITEM_MAKE_NAME), 1);
	assert_ret(kt_free(a, kt_off(a, info)), 0);

	assert_ret(kt_bus_creator_info(a, 1ULL << 14, &info), -EINVAL);
	{
		struct kt_items it;
		struct kdbus_cmd_info *cmd;

		kt_items_init(&it);
		kt_items_add_str(&it, KDBUS_ITEM_NAME, "com.example.a");
		cmd = kt_cmd_new(sizeof(*cmd), &it);
		assert_ret(kdbus_cmd_bus_creator_info(a->fd, cmd), -EINVAL);
		free(cmd);
		kt_items_deinit(&it);
	}
	kt_conn_free(a);
}

static void test_bus_creator_info_mask(void **state)
{
	struct kt_bus other;
	struct kt_conn *a;
	struct kdbus_info *info;

	(void)state;
	/* §1.2 owner metadata mask: only CREDS may be revealed */
	assert_ret(kt_bus_make(&other, KDBUS_MAKE_ACCESS_WORLD, KDBUS_ATTACH_CREDS), 0);
	a = kt_hello(other.path, 0, NULL);
	assert_non_null(a);
	assert_ret(kt_bus_creator_info(a, _KDBUS_ATTACH_ALL, &info), 0);
	assert_int_equal(kt_info_count(info, KDBUS_ITEM_CREDS), 1);
	assert_int_equal(kt_info_count(info, KDBUS_ITEM_PIDS), 0);
	assert_int_equal(kt_info_count(info, KDBUS_ITEM_PID_COMM), 0);
	assert_int_equal(kt_info_count(info, KDBUS_ITEM_EXE), 0);
	assert_int_equal(kt_info_count(info, KDBUS_ITEM_MAKE_NAME), 1);
	kt_free(a, kt_off(a, info));
	kt_conn_free(a);
	kt_bus_destroy(&other);
}

/* ---------------------------------------------------------------- hello */

static int hello_raw(const char *path, int fd, uint64_t flags, uint64_t pool,
		     const struct kt_items *it, struct kdbus_cmd_hello **out)
{
	struct kdbus_cmd_hello *h = kt_cmd_new(sizeof(*h), it);
	int r;

	(void)path;
	h->flags = flags;
	h->attach_flags_send = _KDBUS_ATTACH_ALL;
	h->attach_flags_recv = _KDBUS_ATTACH_ALL;
	h->pool_size = pool;
	r = kdbus_cmd_hello(fd, h);
	if (out)
		*out = h;
	else
		free(h);
	return r;
}

static void test_hello(void **state)
{
	struct kt_bus *bus = *state;
	struct kdbus_cmd_hello *h;
	struct kt_items it;
	struct kdbus_item *item;
	uint64_t buf[32];
	uint8_t *pool;
	int fd, fd2;

	fd = kdbus_open(bus->path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);

	/* §2.1: misaligned command → EFAULT */
	memset(buf, 0, sizeof(buf));
	h = (struct kdbus_cmd_hello *)(void *)((uint8_t *)buf + 1);
	{
		struct kdbus_cmd_hello tmp = { .size = sizeof(tmp), .pool_size = KT_POOL_SIZE };

		memcpy(h, &tmp, sizeof(tmp));
	}
	assert_ret(kdbus_cmd_hello(fd, h), -EFAULT);
	errno = 0;
	assert_int_equal(kdbus_ioctl(fd, KDBUS_CMD_HELLO, h), -1);
	assert_int_equal(errno, EFAULT);

	/* size below the struct */
	h = kt_cmd_new(sizeof(*h), NULL);
	h->size = 1;
	h->pool_size = KT_POOL_SIZE;
	assert_ret(kdbus_cmd_hello(fd, h), -EINVAL);
	free(h);

	/* unknown flag, bad pool sizes (§3.2 HELLO) */
	assert_ret(hello_raw(bus->path, fd, 1ULL << 32, KT_POOL_SIZE, NULL, NULL), -EINVAL);
	assert_ret(hello_raw(bus->path, fd, 0, 0, NULL, NULL), -EINVAL);
	assert_ret(hello_raw(bus->path, fd, 0, 4097, NULL, NULL), -EINVAL);

	/* unknown attach bits */
	h = kt_cmd_new(sizeof(*h), NULL);
	h->pool_size = KT_POOL_SIZE;
	h->attach_flags_send = 1ULL << 14;
	assert_ret(kdbus_cmd_hello(fd, h), -EINVAL);
	h->attach_flags_send = 0;
	h->attach_flags_recv = 1ULL << 20;
	assert_ret(kdbus_cmd_hello(fd, h), -EINVAL);
	free(h);

	/* kinds: activator needs a name, at most one special kind, names only for them */
	assert_ret(hello_raw(bus->path, fd, KDBUS_HELLO_ACTIVATOR, KT_POOL_SIZE, NULL, NULL),
		   -EINVAL);
	kt_items_init(&it);
	kt_items_add_str(&it, KDBUS_ITEM_NAME, "foo.test.hello");
	assert_ret(hello_raw(bus->path, fd, KDBUS_HELLO_MONITOR | KDBUS_HELLO_ACTIVATOR,
			     KT_POOL_SIZE, &it, NULL),
		   -EINVAL);
	assert_ret(hello_raw(bus->path, fd, 0, KT_POOL_SIZE, &it, NULL), -EINVAL);
	assert_ret(hello_raw(bus->path, fd, KDBUS_HELLO_MONITOR, KT_POOL_SIZE, &it, NULL),
		   -EINVAL);
	kt_items_deinit(&it);

	/* description: sysname rules, 63 chars max */
	kt_items_init(&it);
	{
		char d[80];

		memset(d, 'a', 64);
		d[64] = 0;
		kt_items_add_str(&it, KDBUS_ITEM_CONN_DESCRIPTION, d);
	}
	assert_ret(hello_raw(bus->path, fd, 0, KT_POOL_SIZE, &it, NULL), -ENAMETOOLONG);
	kt_items_deinit(&it);
	kt_items_init(&it);
	kt_items_add_str(&it, KDBUS_ITEM_CONN_DESCRIPTION, "-bad");
	assert_ret(hello_raw(bus->path, fd, 0, KT_POOL_SIZE, &it, NULL), -EINVAL);
	kt_items_deinit(&it);

	/* an item HELLO does not accept */
	kt_items_init(&it);
	kt_items_add(&it, KDBUS_ITEM_BLOOM_MASK, buf, 64);
	assert_ret(hello_raw(bus->path, fd, 0, KT_POOL_SIZE, &it, NULL), -EINVAL);
	kt_items_deinit(&it);

	/* success; _KDBUS_ATTACH_ANY is accepted as input */
	h = kt_cmd_new(sizeof(*h), NULL);
	h->flags = KDBUS_HELLO_ACCEPT_FD;
	h->attach_flags_send = _KDBUS_ATTACH_ANY;
	h->attach_flags_recv = _KDBUS_ATTACH_ANY;
	h->pool_size = KT_POOL_SIZE;
	h->return_flags = 0xdead;
	assert_ret(kdbus_cmd_hello(fd, h), 0);
	assert_int_equal(h->return_flags, 0);
	assert_int_equal(h->bus_flags, KDBUS_MAKE_ACCESS_WORLD);
	assert_true(h->id != 0);
	assert_true(h->id != KDBUS_DST_ID_BROADCAST);
	/* id128: random UUID, version 4, DCE variant (§1.2) */
	assert_int_equal(h->id128[6] >> 4, 4);
	assert_int_equal(h->id128[8] >> 6, 2);
	/* the HELLO slice holds exactly one BLOOM_PARAMETER item (§3.2) */
	assert_int_equal(h->items_size, 32);
	assert_true(h->offset + h->items_size <= KT_POOL_SIZE);
	pool = kdbus_mmap(NULL, KT_POOL_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(pool != MAP_FAILED);
	item = (struct kdbus_item *)(void *)(pool + h->offset);
	assert_int_equal(item->size, 32);
	assert_int_equal(item->type, KDBUS_ITEM_BLOOM_PARAMETER);
	assert_int_equal(item->bloom_parameter.size, KT_BLOOM_SIZE);
	assert_int_equal(item->bloom_parameter.n_hash, KT_BLOOM_N_HASH);
	{
		struct kdbus_cmd_free f = { .size = sizeof(f), .offset = h->offset };

		assert_ret(kdbus_cmd_free(fd, &f), 0);
		assert_ret(kdbus_cmd_free(fd, &f), -ENXIO);
	}

	/* §1.4.1: the fd is a connection now */
	assert_ret(hello_raw(bus->path, fd, 0, KT_POOL_SIZE, NULL, NULL), -EBADFD);

	/* a second connection: same bus id128, a larger id (§1.1) */
	fd2 = kdbus_open(bus->path, O_RDWR | O_CLOEXEC);
	assert_true(fd2 >= 0);
	{
		struct kdbus_cmd_hello *h2;

		assert_ret(hello_raw(bus->path, fd2, 0, KT_POOL_SIZE, NULL, &h2), 0);
		assert_true(h2->id > h->id);
		assert_memory_equal(h2->id128, h->id128, 16);
		free(h2);
	}
	kdbus_munmap(pool, KT_POOL_SIZE);
	free(h);
	kdbus_close(fd2);
	kdbus_close(fd);
}

static void test_hello_negotiate(void **state)
{
	struct kt_bus *bus = *state;
	struct kdbus_cmd_hello *h;
	struct kt_items it;
	struct kdbus_item *neg;
	uint64_t types[4] = { KDBUS_ITEM_NAME, KDBUS_ITEM_BLOOM_MASK, KDBUS_ITEM_CONN_DESCRIPTION,
			      KDBUS_ITEM_DST_NAME };
	int fd = kdbus_open(bus->path, O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	kt_items_init(&it);
	kt_items_add(&it, KDBUS_ITEM_NEGOTIATE, types, sizeof(types));
	h = kt_cmd_new(sizeof(*h), &it);
	h->flags = KDBUS_FLAG_NEGOTIATE | KDBUS_HELLO_ACCEPT_FD;
	/* §2.3: not executed, flags rewritten, unsupported item types zeroed */
	assert_ret(kdbus_cmd_hello(fd, h), 0);
	assert_int_equal(h->flags, 0xf);
	neg = h->items;
	assert_int_equal(neg->data64[0], KDBUS_ITEM_NAME);
	assert_int_equal(neg->data64[1], 0);
	assert_int_equal(neg->data64[2], KDBUS_ITEM_CONN_DESCRIPTION);
	assert_int_equal(neg->data64[3], 0);
	free(h);
	kt_items_deinit(&it);
	/* the fd is still unused */
	assert_ret(hello_raw(bus->path, fd, 0, KT_POOL_SIZE, NULL, NULL), 0);
	kdbus_close(fd);
}

/* --------------------------------------------------------------- byebye */

static void test_byebye(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	struct kdbus_msg *m;
	struct kdbus_cmd cmd = { .size = sizeof(cmd) };
	short rev;
	void *p;

	assert_ret(kt_send_simple(a, b->id, 1, 0, 0, 0), 0);
	/* §3.2 BYEBYE: queue not empty → EBUSY, nothing changes */
	assert_ret(kt_byebye(b), -EBUSY);
	m = recv1(b);
	assert_int_equal(m->cookie, 1);
	kt_msg_release(b, m);

	cmd.flags = 1;
	assert_ret(kdbus_cmd_byebye(b->fd, &cmd), -EINVAL);
	cmd.flags = KDBUS_FLAG_NEGOTIATE;
	assert_ret(kdbus_cmd_byebye(b->fd, &cmd), 0);
	assert_int_equal(cmd.flags, 0);
	/* negotiation did not disconnect */
	assert_ret(kt_send_simple(a, b->id, 2, 0, 0, 0), 0);
	m = recv1(b);
	kt_msg_release(b, m);

	assert_ret(kt_byebye(b), 0);
	/* §1.4.1: every ioctl on a disconnected connection → ECONNRESET */
	assert_ret(kt_byebye(b), -ECONNRESET);
	assert_ret(kt_recv(b, 0, 0, NULL, NULL), -ECONNRESET);
	assert_ret(kt_send_simple(b, a->id, 3, 0, 0, 0), -ECONNRESET);
	assert_ret(kt_conn_info(b, a->id, NULL, 0, NULL), -ECONNRESET);
	assert_ret(kt_name_acquire(b, "foo.bar.baz", 0, NULL), -ECONNRESET);
	assert_ret(kt_free(b, 0), -ECONNRESET);
	assert_true(kt_poll(b, 0, &rev) >= 0);
	assert_true(rev & POLLHUP);
	assert_true(rev & POLLERR);
	/* b is gone from the bus */
	assert_ret(kt_send_simple(a, b->id, 4, 0, 0, 0), -ENXIO);
	assert_ret(kt_conn_info(a, b->id, NULL, 0, NULL), -ENXIO);
	/* §1.4.5: the pool stays mappable until the fd is closed */
	p = kdbus_mmap(NULL, KT_POOL_SIZE, PROT_READ, MAP_SHARED, b->fd, 0);
	assert_true(p != MAP_FAILED);
	kdbus_munmap(p, KT_POOL_SIZE);
	kt_conn_free(a);
	kt_conn_free(b);
}

static void test_bus_teardown_disconnects(void **state)
{
	struct kt_bus other;
	struct kt_conn *a;
	char path[4096];
	short rev;

	(void)state;
	assert_ret(kt_bus_make(&other, KDBUS_MAKE_ACCESS_WORLD, _KDBUS_ATTACH_ALL), 0);
	a = kt_hello(other.path, 0, NULL);
	assert_non_null(a);
	snprintf(path, sizeof(path), "%s", other.path);
	kt_bus_destroy(&other);
	/* §1.2: closing the owner fd disconnects every connection */
	assert_true(kt_poll(a, 2000, &rev) >= 0);
	assert_true(rev & POLLHUP);
	assert_ret(kt_recv(a, 0, 0, NULL, NULL), -ECONNRESET);
	assert_ret(kt_send_simple(a, a->id, 1, 0, 0, 0), -ECONNRESET);
	errno = 0;
	assert_int_equal(kdbus_open(path, O_RDWR | O_CLOEXEC), -1);
	assert_ret(-errno, -ENOENT);
	kt_conn_free(a);
}

/* -------------------------------------------------------- message-basic */

static void test_message_basic(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	const char d1[3] = { 'a', 'b', 'c' };
	const char d3[13] = "0123456789ab";
	struct kdbus_cmd_recv rc;
	struct kdbus_msg *m, *r;
	struct kdbus_item *it1, *it2, *it3;
	uint64_t off1;
	uint8_t payload[64];

	m = kt_msg_new(b->id, 0, 0x1234);
	m->priority = 7;
	kt_msg_add_vec(m, d1, sizeof(d1));
	kt_msg_add_vec(m, NULL, 5); /* zero vector: padding */
	kt_msg_add_vec(m, d3, sizeof(d3));
	assert_ret(kt_send(a, m, 0, -1, NULL), 0);
	kt_msg_free(m);

	assert_true(kt_poll(b, 2000, NULL) == 1);
	assert_ret(kt_recv(b, 0, 0, &r, &rc), 0);
	assert_ret(kt_msg_check(b, r, rc.msg.msg_size), 0);
	kt_assert_msg(r->src_id == a->id, b, r);
	kt_assert_msg(r->dst_id == b->id, b, r);
	kt_assert_msg(r->cookie == 0x1234, b, r);
	kt_assert_msg(r->priority == 7, b, r);
	kt_assert_msg(r->flags == 0, b, r);
	kt_assert_msg(r->payload_type == KDBUS_PAYLOAD_DBUS, b, r);
	kt_assert_msg(r->cookie_reply == 0, b, r);
	assert_int_equal(rc.return_flags, 0);
	assert_int_equal(rc.dropped_msgs, 0);
	assert_int_equal(rc.msg.return_flags, 0);
	/* §6.3: the sender's items come first, in order, VEC → PAYLOAD_OFF */
	it1 = r->items;
	it2 = KDBUS_ITEM_NEXT(it1);
	it3 = KDBUS_ITEM_NEXT(it2);
	kt_assert_msg(it1->type == KDBUS_ITEM_PAYLOAD_OFF && it1->size == 32, b, r);
	kt_assert_msg(it2->type == KDBUS_ITEM_PAYLOAD_OFF && it2->size == 32, b, r);
	kt_assert_msg(it3->type == KDBUS_ITEM_PAYLOAD_OFF && it3->size == 32, b, r);
	/* offsets are message-relative; the payload area starts after the items */
	off1 = KDBUS_ALIGN8(r->size);
	kt_assert_msg(it1->vec.offset == off1 && it1->vec.size == 3, b, r);
	kt_assert_msg(it2->vec.offset == ~0ULL && it2->vec.size == 5, b, r);
	/* a zero vector materialises size % 8 zero bytes to keep the alignment */
	kt_assert_msg(it3->vec.offset == off1 + 3 + 5 && it3->vec.size == 13, b, r);
	assert_memory_equal((uint8_t *)r + off1, d1, 3);
	assert_memory_equal((uint8_t *)r + off1 + 3, "\0\0\0\0\0", 5);
	assert_memory_equal((uint8_t *)r + off1 + 8, d3, 13);
	/* the slice is the whole message, padded to 8 */
	assert_int_equal(rc.msg.msg_size, KDBUS_ALIGN8(off1 + 3 + 5 + 13));
	assert_int_equal(kt_msg_payload(b, r, payload, sizeof(payload)), 21);
	assert_memory_equal(payload + 8, d3, 13);
	assert_ret(kt_free(b, rc.msg.offset), 0);
	assert_ret(kt_expect_empty(b), 0);

	/* explicit src_id equal to the sender is fine, someone else's is not (§7.2 5) */
	m = kt_msg_new(b->id, 0, 2);
	m->src_id = a->id;
	kt_msg_add_vec(m, d1, 3);
	assert_ret(kt_send(a, m, 0, -1, NULL), 0);
	m->src_id = b->id;
	assert_ret(kt_send(a, m, 0, -1, NULL), -EINVAL);
	m->src_id = 0;
	/* payload_type 0 is reserved for the bus */
	m->payload_type = 0;
	assert_ret(kt_send(a, m, 0, -1, NULL), -EINVAL);
	m->payload_type = 0x1;
	assert_ret(kt_send(a, m, 0, -1, NULL), 0);
	m->payload_type = KDBUS_PAYLOAD_DBUS;
	/* unknown destination */
	m->dst_id = 0x7fffffffffff;
	assert_ret(kt_send(a, m, 0, -1, NULL), -ENXIO);
	/* dst 0 needs DST_NAME */
	m->dst_id = KDBUS_DST_ID_NAME;
	assert_ret(kt_send(a, m, 0, -1, NULL), -EDESTADDRREQ);
	kt_msg_free(m);

	m = recv1(b);
	kt_assert_msg(m->cookie == 2 && m->src_id == a->id, b, m);
	kt_msg_release(b, m);
	m = recv1(b);
	kt_assert_msg(m->cookie == 2 && m->payload_type == 1, b, m);
	kt_msg_release(b, m);
	assert_ret(kt_expect_empty(b), 0);

	/* sending to oneself is allowed (§7.1) */
	assert_ret(kt_send_simple(a, a->id, 77, 0, 0, 0), 0);
	m = recv1(a);
	kt_assert_msg(m->src_id == a->id && m->dst_id == a->id && m->cookie == 77, a, m);
	kt_msg_release(a, m);

	kt_conn_free(a);
	kt_conn_free(b);
}

static void test_message_errors(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	uint8_t bloom[KT_BLOOM_SIZE] = { 0 };
	uint64_t x = 1;
	struct kdbus_msg *m;

	/* EXPECT_REPLY needs a timeout (§7.2 6) */
	assert_ret(kt_send_simple(a, b->id, 1, KDBUS_MSG_EXPECT_REPLY, 0, 0), -EINVAL);
	/* a reply to a call that was never made */
	assert_ret(kt_send_reply(a, b->id, 2, 0xdeadbeef), -EBADSLT);
	/* unknown message flag */
	assert_ret(kt_send_simple(a, b->id, 3, 1ULL << 3, 0, 0), -EINVAL);

	/* broadcast without SIGNAL → EBADMSG */
	m = kt_msg_new(KDBUS_DST_ID_BROADCAST, 0, 4);
	kt_msg_add_bloom(m, 0, bloom, sizeof(bloom));
	assert_ret(kt_send(a, m, 0, -1, NULL), -EBADMSG);
	/* broadcast call → ENOTUNIQ */
	m->flags = KDBUS_MSG_SIGNAL | KDBUS_MSG_EXPECT_REPLY;
	m->timeout_ns = kt_now(CLOCK_MONOTONIC) + 1000 * MS;
	assert_ret(kt_send(a, m, 0, -1, NULL), -ENOTUNIQ);
	/* broadcast carrying a reply cookie → ENOTUNIQ */
	m->flags = KDBUS_MSG_SIGNAL;
	m->cookie_reply = 5;
	assert_ret(kt_send(a, m, 0, -1, NULL), -ENOTUNIQ);
	m->cookie_reply = 0;
	assert_ret(kt_send(a, m, 0, -1, NULL), 0);
	kt_msg_free(m);

	/* unicast signal with a timeout and EXPECT_REPLY → ENOTUNIQ */
	m = kt_msg_new(b->id, KDBUS_MSG_SIGNAL | KDBUS_MSG_EXPECT_REPLY, 6);
	m->timeout_ns = kt_now(CLOCK_MONOTONIC) + 1000 * MS;
	kt_msg_add_bloom(m, 0, bloom, sizeof(bloom));
	assert_ret(kt_send(a, m, 0, -1, NULL), -ENOTUNIQ);
	/* a signal that is a reply → EINVAL */
	m->flags = KDBUS_MSG_SIGNAL;
	m->cookie_reply = 9;
	assert_ret(kt_send(a, m, 0, -1, NULL), -EINVAL);
	kt_msg_free(m);

	/* SIGNAL xor BLOOM_FILTER → EBADMSG */
	m = kt_msg_new(b->id, KDBUS_MSG_SIGNAL, 7);
	kt_msg_add_vec(m, &x, sizeof(x));
	assert_ret(kt_send(a, m, 0, -1, NULL), -EBADMSG);
	kt_msg_free(m);
	m = kt_msg_new(b->id, 0, 7);
	kt_msg_add_bloom(m, 0, bloom, sizeof(bloom));
	assert_ret(kt_send(a, m, 0, -1, NULL), -EBADMSG);
	kt_msg_free(m);
	/* bloom size must be the bus's (§9.5) */
	m = kt_msg_new(b->id, KDBUS_MSG_SIGNAL, 8);
	kt_msg_add_bloom(m, 0, bloom, 32);
	assert_ret(kt_send(a, m, 0, -1, NULL), -EDOM);
	kt_msg_free(m);

	/* SYNC_REPLY without EXPECT_REPLY */
	m = kt_msg_new(b->id, 0, 9);
	kt_msg_add_vec(m, &x, sizeof(x));
	assert_ret(kt_send(a, m, KDBUS_SEND_SYNC_REPLY, -1, NULL), -EINVAL);
	/* unknown SEND flag */
	assert_ret(kt_send(a, m, 1ULL << 1, -1, NULL), -EINVAL);
	kt_msg_free(m);

	/* items: a zero-sized VEC, an item SEND does not accept, a NEGOTIATE item */
	m = kt_msg_new(b->id, 0, 10);
	kt_msg_add_vec(m, &x, 0);
	assert_ret(kt_send(a, m, 0, -1, NULL), -EINVAL);
	kt_msg_free(m);
	m = kt_msg_new(b->id, 0, 10);
	kt_msg_append(m, KDBUS_ITEM_NAME, "foo.bar", 8);
	assert_ret(kt_send(a, m, 0, -1, NULL), -EINVAL);
	kt_msg_free(m);
	m = kt_msg_new(b->id, 0, 10);
	kt_msg_append(m, KDBUS_ITEM_NEGOTIATE, &x, sizeof(x));
	assert_ret(kt_send(a, m, 0, -1, NULL), -EINVAL);
	kt_msg_free(m);
	/* two DST_NAME items: duplicates are EINVAL (§2.2) */
	m = kt_msg_new(KDBUS_DST_ID_NAME, 0, 10);
	kt_msg_add_dst_name(m, "foo.bar.baz");
	kt_msg_add_dst_name(m, "foo.bar.baz");
	assert_ret(kt_send(a, m, 0, -1, NULL), -EINVAL);
	kt_msg_free(m);
	/* invalid DST_NAME */
	m = kt_msg_new(KDBUS_DST_ID_NAME, 0, 10);
	kt_msg_add_dst_name(m, "foo");
	assert_ret(kt_send(a, m, 0, -1, NULL), -EINVAL);
	kt_msg_free(m);
	/* an item whose size runs past the message */
	m = kt_msg_new(b->id, 0, 10);
	kt_msg_add_vec(m, &x, sizeof(x))->size = 64;
	assert_ret(kt_send(a, m, 0, -1, NULL), -EINVAL);
	kt_msg_free(m);
	/* message header too small / too large / misaligned (§2.1) */
	m = kt_msg_new(b->id, 0, 11);
	m->size = 32;
	assert_ret(kt_send(a, m, 0, -1, NULL), -EINVAL);
	m->size = KT_CMD_MAX_SIZE + 8;
	assert_ret(kt_send(a, m, 0, -1, NULL), -EMSGSIZE);
	kt_msg_free(m);
	{
		uint64_t raw[16] = { 0 };
		uint8_t *um = (uint8_t *)raw + 4;
		struct kdbus_msg tmp = { .size = sizeof(tmp), .dst_id = b->id,
					 .payload_type = KDBUS_PAYLOAD_DBUS };
		struct kdbus_cmd_send s = { .size = sizeof(s), .msg_address = (uintptr_t)um };

		memcpy(um, &tmp, sizeof(tmp));
		assert_ret(kdbus_cmd_send(a->fd, &s), -EFAULT);
		s.msg_address = 0;
		assert_ret(kdbus_cmd_send(a->fd, &s), -EFAULT);
	}
	/* VEC payload above 2 MiB (§10.1) */
	{
		uint8_t *big = calloc(1, KT_MAX_VEC_SIZE + 16);

		assert_non_null(big);
		m = kt_msg_new(b->id, 0, 12);
		kt_msg_add_vec(m, big, KT_MAX_VEC_SIZE / 2);
		kt_msg_add_vec(m, big, KT_MAX_VEC_SIZE / 2 + 8);
		assert_ret(kt_send(a, m, 0, -1, NULL), -EMSGSIZE);
		kt_msg_free(m);
		/* exactly 2 MiB is fine */
		m = kt_msg_new(b->id, 0, 13);
		kt_msg_add_vec(m, big, KT_MAX_VEC_SIZE);
		assert_ret(kt_send(a, m, 0, -1, NULL), 0);
		kt_msg_free(m);
		free(big);
	}
	/* a VEC pointing at unmapped memory → EFAULT */
	{
		void *hole = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		assert_true(hole != MAP_FAILED);
		munmap(hole, 4096);
		m = kt_msg_new(b->id, 0, 14);
		kt_msg_add_vec(m, hole, 64);
		assert_ret(kt_send(a, m, 0, -1, NULL), -EFAULT);
		kt_msg_free(m);
	}

	/* only the 2 MiB message reached b (the broadcast had no matching receiver) */
	m = recv1(b);
	kt_assert_msg(m->cookie == 13, b, m);
	kt_msg_release(b, m);
	assert_ret(kt_expect_empty(b), 0);
	kt_conn_free(a);
	kt_conn_free(b);
}

static void test_message_order(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	struct kdbus_item *ts;
	uint64_t seq = 0;
	unsigned int i;

	for (i = 1; i <= 32; i++)
		assert_ret(kt_send_simple(a, b->id, i, 0, (int64_t)(i % 5) - 2, 0), 0);
	/* without USE_PRIORITY the oldest message comes first (§7.4) */
	for (i = 1; i <= 32; i++) {
		struct kdbus_msg *m = recv1(b);

		kt_assert_msg(m->cookie == i, b, m);
		ts = kt_msg_item(m, KDBUS_ITEM_TIMESTAMP);
		kt_assert_msg(ts != NULL, b, m);
		/* a per-bus sequence number per SEND (§1.2) */
		kt_assert_msg(ts->timestamp.seqnum > seq, b, m);
		seq = ts->timestamp.seqnum;
		kt_assert_msg(ts->timestamp.monotonic_ns <= kt_now(CLOCK_MONOTONIC), b, m);
		kt_msg_release(b, m);
	}
	assert_ret(kt_expect_empty(b), 0);
	kt_conn_free(a);
	kt_conn_free(b);
}

/* --------------------------------------------------------- message-prio */

static void test_message_prio(void **state)
{
	static const int64_t prios[] = { 25, -600, 10, -35, -100, 20, -15, -800, -150, 10, -800,
					 -10 };
	static const struct {
		int64_t want;
		int64_t got;
		int err;
	} steps[] = {
		{ -200, -800, 0 }, { -100, -800, 0 }, { -400, -600, 0 },
		{ -400, 0, -EAGAIN }, { 10, -150, 0 }, { 10, -100, 0 },
	};
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	struct kdbus_msg *m;
	uint64_t seen_cookies = 0;
	unsigned int i;

	for (i = 0; i < sizeof(prios) / sizeof(prios[0]); i++)
		assert_ret(kt_send_simple(a, b->id, i + 1, 0, prios[i], 0), 0);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int r = kt_recv(b, KDBUS_RECV_USE_PRIORITY, steps[i].want, &m, NULL);

		if (r != steps[i].err)
			fail_msg("step %u: RECV priority %lld returned %s, expected %s", i,
				 (long long)steps[i].want, kt_strerr(r), kt_strerr(steps[i].err));
		if (r == 0) {
			kt_assert_msg(m->priority == steps[i].got, b, m);
			seen_cookies |= 1ULL << m->cookie;
			kt_msg_release(b, m);
		}
	}
	/* the two -800 messages come out FIFO: cookies 8 then 11 */
	assert_true(seen_cookies & (1ULL << 8));
	assert_true(seen_cookies & (1ULL << 11));
	/* plain RECV still takes the oldest remaining one: 25 (cookie 1) */
	m = recv1(b);
	kt_assert_msg(m->cookie == 1 && m->priority == 25, b, m);
	kt_msg_release(b, m);
	/* then cookie 3 (10), 4 (-35), 6 (20), 7 (-15), 10 (10), 12 (-10) */
	{
		static const uint64_t rest[] = { 3, 4, 6, 7, 10, 12 };

		for (i = 0; i < 6; i++) {
			m = recv1(b);
			kt_assert_msg(m->cookie == rest[i], b, m);
			kt_msg_release(b, m);
		}
	}
	assert_ret(kt_expect_empty(b), 0);
	kt_conn_free(a);
	kt_conn_free(b);
}

/* ------------------------------------------------------------ PEEK/DROP */

static void test_recv_peek_drop(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	struct kdbus_cmd_recv rc;
	struct kdbus_msg *m, *m2;
	short rev;

	/* empty queue: EAGAIN, offset = pool_size, size 0 (§7.4) */
	memset(&rc, 0xff, sizeof(rc));
	assert_ret(kt_recv(b, 0, 0, &m, &rc), -EAGAIN);
	assert_int_equal(rc.msg.offset, b->pool_size);
	assert_int_equal(rc.msg.msg_size, 0);
	assert_int_equal(rc.dropped_msgs, 0);
	assert_int_equal(rc.return_flags, 0);
	assert_int_equal(kt_poll(b, 0, &rev), 0);
	assert_true(rev == 0);
	assert_ret(kt_recv(b, 1ULL << 3, 0, NULL, NULL), -EINVAL);
	assert_ret(kt_recv(b, KDBUS_RECV_DROP | KDBUS_RECV_USE_PRIORITY, 0, NULL, NULL), -EINVAL);

	assert_ret(kt_send_simple(a, b->id, 1, 0, 0, 0), 0);
	assert_ret(kt_send_simple(a, b->id, 2, 0, 0, 0), 0);
	assert_ret(kt_send_simple(a, b->id, 3, 0, 0, 0), 0);
	/* POLLIN while something is queued, POLLOUT always (§1.4.1) */
	assert_int_equal(kt_poll(b, 1000, &rev), 1);
	{
		struct pollfd pfd = { .fd = b->fd, .events = POLLIN | POLLOUT };

		assert_int_equal(poll(&pfd, 1, 0), 1);
		assert_true(pfd.revents & POLLOUT);
		assert_true(pfd.revents & POLLIN);
	}

	/* PEEK publishes without dequeuing, twice the same message */
	assert_ret(kt_recv(b, KDBUS_RECV_PEEK, 0, &m, NULL), 0);
	kt_assert_msg(m->cookie == 1, b, m);
	assert_ret(kt_recv(b, KDBUS_RECV_PEEK, 0, &m2, NULL), 0);
	kt_assert_msg(m2->cookie == 1, b, m2);
	/* FREE after PEEK succeeds (§12 item 8) */
	assert_ret(kt_free(b, kt_off(b, m)), 0);
	if (m2 != m)
		assert_ret(kt_free(b, kt_off(b, m2)), 0);

	/* DROP discards the oldest */
	assert_ret(kt_recv(b, KDBUS_RECV_DROP, 0, &m, &rc), 0);
	m = recv1(b);
	kt_assert_msg(m->cookie == 2, b, m);
	kt_msg_release(b, m);
	m = recv1(b);
	kt_assert_msg(m->cookie == 3, b, m);
	kt_msg_release(b, m);
	assert_ret(kt_expect_empty(b), 0);
	assert_int_equal(kt_poll(b, 0, NULL), 0);

	/* dropping a call answers it with REPLY_DEAD (§7.4) */
	assert_ret(kt_send_call(a, b->id, 0x99, 5000 * MS), 0);
	assert_ret(kt_recv(b, KDBUS_RECV_DROP, 0, NULL, NULL), 0);
	m = recv1(a);
	kt_assert_msg(m->src_id == KDBUS_SRC_ID_KERNEL, a, m);
	kt_assert_msg(m->payload_type == KDBUS_PAYLOAD_KERNEL, a, m);
	kt_assert_msg(m->cookie_reply == 0x99, a, m);
	kt_assert_msg(m->items[0].type == KDBUS_ITEM_REPLY_DEAD, a, m);
	kt_msg_release(a, m);
	/* and the tracker is gone */
	assert_ret(kt_send_reply(b, a->id, 1, 0x99), -EBADSLT);
	kt_conn_free(a);
	kt_conn_free(b);
}

/* ----------------------------------------------------------------- free */

static void test_cmd_free(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	struct kdbus_cmd_free f = { .size = sizeof(f) };
	struct kdbus_info *l1, *l2;
	struct kdbus_msg *m;
	uint64_t sz;

	/* §3.2 FREE: nothing at offset 0 (the HELLO slice was freed) */
	assert_ret(kt_free(a, 0), -ENXIO);
	assert_ret(kt_free(a, KT_POOL_SIZE + 1), -ENXIO);
	/* pool_size is the "nothing" offset: a no-op */
	assert_ret(kt_free(a, KT_POOL_SIZE), 0);
	f.flags = 1;
	assert_ret(kdbus_cmd_free(a->fd, &f), -EINVAL);

	assert_ret(kt_send_simple(a, b->id, 1, 0, 0, 0), 0);
	m = recv1(b);
	/* an offset inside a slice is not a slice */
	assert_ret(kt_free(b, kt_off(b, m) + 8), -ENXIO);
	assert_ret(kt_free(b, kt_off(b, m)), 0);
	assert_ret(kt_free(b, kt_off(b, m)), -ENXIO);

	/* unfreed LIST slices do not break later LISTs */
	assert_ret(kt_list(a, KDBUS_LIST_UNIQUE, &l1, &sz), 0);
	assert_ret(kt_list(a, KDBUS_LIST_UNIQUE, &l2, &sz), 0);
	assert_true(l1 != l2);
	assert_ret(kt_free(a, kt_off(a, l2)), 0);
	assert_ret(kt_free(a, kt_off(a, l1)), 0);
	kt_conn_free(a);
	kt_conn_free(b);
}

/* ----------------------------------------------------------- fd-passing */

static int send_fds(struct kt_conn *from, uint64_t dst, uint64_t cookie, const int *fds,
		    size_t n)
{
	struct kdbus_msg *m = kt_msg_new(dst, 0, cookie);
	int r;

	kt_msg_add_vec(m, &cookie, sizeof(cookie));
	if (n)
		kt_msg_add_fds(m, fds, n);
	r = kt_send(from, m, 0, -1, NULL);
	kt_msg_free(m);
	return r;
}

static int send_memfd(struct kt_conn *from, uint64_t dst, uint64_t cookie, int fd,
		      uint64_t start, uint64_t size)
{
	struct kdbus_msg *m = kt_msg_new(dst, 0, cookie);
	int r;

	kt_msg_add_memfd(m, fd, start, size);
	r = kt_send(from, m, 0, -1, NULL);
	kt_msg_free(m);
	return r;
}

static void test_fd_passing(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	struct kt_conn *c = conn_attach(bus, 0, _KDBUS_ATTACH_ALL, _KDBUS_ATTACH_ALL, KT_POOL_SIZE);
	struct kdbus_item *item;
	struct kdbus_msg *m;
	char rbuf[16];
	int p[2], fd, sp[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_ret(send_fds(a, b->id, 1, &p[0], 1), 0);
	/* the bus holds its own reference (§8.6) */
	close(p[0]);
	assert_int_equal(write(p[1], "kdbus", 5), 5);
	m = recv1(b);
	item = kt_msg_item(m, KDBUS_ITEM_FDS);
	kt_assert_msg(item != NULL && item->size == KDBUS_ITEM_HEADER_SIZE + sizeof(int), b, m);
	fd = item->fds[0];
	kt_assert_msg(fd >= 0, b, m);
	/* installed O_CLOEXEC (§6.3) */
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(read(fd, rbuf, sizeof(rbuf)), 5);
	assert_memory_equal(rbuf, "kdbus", 5);
	close(p[1]);
	assert_int_equal(read(fd, rbuf, sizeof(rbuf)), 0);
	kt_msg_release(b, m); /* closes fd */

	/* receivers without ACCEPT_FD refuse fds (§1.4.4) */
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_ret(send_fds(a, c->id, 2, &p[0], 1), -ECOMM);
	/* a closed fd number */
	close(p[0]);
	close(p[1]);
	assert_ret(send_fds(a, b->id, 3, &p[0], 1), -EBADF);
	{
		int neg = -1;

		assert_ret(send_fds(a, b->id, 3, &neg, 1), -EBADF);
	}
	/* AF_UNIX sockets and kdbus fds are refused (§8.6) */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	assert_ret(send_fds(a, b->id, 4, &sp[0], 1), -EOPNOTSUPP);
	close(sp[0]);
	close(sp[1]);
	assert_ret(send_fds(a, b->id, 5, &a->fd, 1), -EOPNOTSUPP);
	assert_ret(send_fds(a, b->id, 5, &b->fd, 1), -EOPNOTSUPP);
	/* O_PATH fds are fine */
	fd = open("/", O_PATH | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_ret(send_fds(a, b->id, 6, &fd, 1), 0);
	close(fd);
	m = recv1(b);
	kt_assert_msg(m->cookie == 6, b, m);
	item = kt_msg_item(m, KDBUS_ITEM_FDS);
	kt_assert_msg(item != NULL && item->fds[0] >= 0, b, m);
	kt_msg_release(b, m);

	/* broadcasts cannot carry fds */
	{
		uint8_t bloom[KT_BLOOM_SIZE] = { 0 };

		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		m = kt_msg_new(KDBUS_DST_ID_BROADCAST, KDBUS_MSG_SIGNAL, 7);
		kt_msg_add_bloom(m, 0, bloom, sizeof(bloom));
		kt_msg_add_fds(m, &p[0], 1);
		assert_ret(kt_send(a, m, 0, -1, NULL), -ENOTUNIQ);
		kt_msg_free(m);
		/* but memfds are fine */
		fd = kt_memfd_new("x", 1, true);
		assert_true(fd >= 0);
		m = kt_msg_new(KDBUS_DST_ID_BROADCAST, KDBUS_MSG_SIGNAL, 7);
		kt_msg_add_bloom(m, 0, bloom, sizeof(bloom));
		kt_msg_add_memfd(m, fd, 0, 1);
		assert_ret(kt_send(a, m, 0, -1, NULL), 0);
		kt_msg_free(m);
		close(fd);
		close(p[0]);
		close(p[1]);
	}
	assert_ret(kt_expect_empty(b), 0);
	assert_ret(kt_expect_empty(c), 0);
	kt_conn_free(a);
	kt_conn_free(b);
	kt_conn_free(c);
}

static void test_fd_limits(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	int fds[KT_MAX_FDS + 1], memfds[KT_MAX_MEMFDS + 1];
	struct kdbus_item *item;
	struct kdbus_msg *m;
	unsigned int i;

	for (i = 0; i < KT_MAX_FDS + 1; i++) {
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		assert_true(fds[i] >= 0);
	}
	/* 17 fds → EMFILE (§10.1) */
	assert_ret(send_fds(a, b->id, 1, fds, KT_MAX_FDS + 1), -EMFILE);
	assert_ret(kt_expect_empty(b), 0);
	/* 16 arrive intact */
	assert_ret(send_fds(a, b->id, 2, fds, KT_MAX_FDS), 0);
	m = recv1(b);
	item = kt_msg_item(m, KDBUS_ITEM_FDS);
	kt_assert_msg(item && item->size == KDBUS_ITEM_HEADER_SIZE + KT_MAX_FDS * sizeof(int), b, m);
	for (i = 0; i < KT_MAX_FDS; i++) {
		struct stat s1, s2;

		kt_assert_msg(item->fds[i] >= 0, b, m);
		assert_int_equal(fstat(item->fds[i], &s1), 0);
		assert_int_equal(fstat(fds[i], &s2), 0);
		assert_int_equal(s1.st_rdev, s2.st_rdev);
	}
	kt_assert_msg(m->cookie == 2, b, m);
	kt_msg_release(b, m);

	/* 17 memfds → E2BIG; 16 are fine */
	for (i = 0; i < KT_MAX_MEMFDS + 1; i++) {
		memfds[i] = kt_memfd_new(&i, sizeof(i), true);
		assert_true(memfds[i] >= 0);
	}
	m = kt_msg_new(b->id, 0, 3);
	for (i = 0; i < KT_MAX_MEMFDS + 1; i++)
		kt_msg_add_memfd(m, memfds[i], 0, sizeof(i));
	assert_ret(kt_send(a, m, 0, -1, NULL), -E2BIG);
	kt_msg_free(m);
	m = kt_msg_new(b->id, 0, 4);
	for (i = 0; i < KT_MAX_MEMFDS; i++)
		kt_msg_add_memfd(m, memfds[i], 0, sizeof(i));
	/* memfds do not count against the 16 fds */
	kt_msg_add_fds(m, fds, KT_MAX_FDS);
	assert_ret(kt_send(a, m, 0, -1, NULL), 0);
	kt_msg_free(m);
	m = recv1(b);
	kt_assert_msg(m->cookie == 4, b, m);
	kt_assert_msg(kt_msg_count(m, KDBUS_ITEM_PAYLOAD_MEMFD) == KT_MAX_MEMFDS, b, m);
	{
		uint32_t v[KT_MAX_MEMFDS];

		assert_int_equal(kt_msg_payload(b, m, v, sizeof(v)), sizeof(v));
		for (i = 0; i < KT_MAX_MEMFDS; i++)
			assert_int_equal(v[i], i);
	}
	kt_msg_release(b, m);

	/* 16 fds in flight to one receiver from one user: the next 16 → EMFILE (§8.6) */
	assert_ret(send_fds(a, b->id, 5, fds, KT_MAX_FDS), 0);
	assert_ret(send_fds(a, b->id, 6, fds, 1), -EMFILE);
	m = recv1(b);
	kt_assert_msg(m->cookie == 5, b, m);
	kt_msg_release(b, m);
	assert_ret(send_fds(a, b->id, 7, fds, 1), 0);
	m = recv1(b);
	kt_msg_release(b, m);

	for (i = 0; i < KT_MAX_FDS + 1; i++)
		close(fds[i]);
	for (i = 0; i < KT_MAX_MEMFDS + 1; i++)
		close(memfds[i]);
	kt_conn_free(a);
	kt_conn_free(b);
}

static void test_memfd(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus);
	struct kt_conn *c = conn_attach(bus, 0, _KDBUS_ATTACH_ALL, _KDBUS_ATTACH_ALL, KT_POOL_SIZE);
	uint8_t data[4096], got[4096];
	struct kdbus_item *item;
	struct kdbus_msg *m;
	struct stat st;
	int fd, p[2], seals;
	unsigned int i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	/* unsealed → ETXTBSY; partly sealed → ETXTBSY (§7.2 7) */
	fd = kt_memfd_new(data, sizeof(data), false);
	assert_true(fd >= 0);
	assert_ret(send_memfd(a, c->id, 1, fd, 0, sizeof(data)), -ETXTBSY);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE), 0);
	assert_ret(send_memfd(a, c->id, 1, fd, 0, sizeof(data)), -ETXTBSY);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL), 0);
	/* sealed: beyond the file → EFAULT; size 0 → EINVAL */
	assert_ret(send_memfd(a, c->id, 1, fd, 1, sizeof(data)), -EFAULT);
	assert_ret(send_memfd(a, c->id, 1, fd, 0, 0), -EINVAL);
	/* to a receiver without ACCEPT_FD: memfds are payload, not fds (§8.6) */
	assert_ret(send_memfd(a, c->id, 2, fd, 100, 1000), 0);
	close(fd);
	m = recv1(c);
	kt_assert_msg(m->cookie == 2, c, m);
	item = kt_msg_item(m, KDBUS_ITEM_PAYLOAD_MEMFD);
	kt_assert_msg(item != NULL && item->memfd.fd >= 0, c, m);
	kt_assert_msg(item->memfd.start == 100 && item->memfd.size == 1000, c, m);
	assert_true(fcntl(item->memfd.fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fstat(item->memfd.fd, &st), 0);
	assert_int_equal(st.st_size, sizeof(data));
	seals = fcntl(item->memfd.fd, F_GET_SEALS);
	assert_true(seals >= 0);
	assert_int_equal(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL),
			 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	assert_int_equal(pread(item->memfd.fd, got, sizeof(got), 0), sizeof(data));
	assert_memory_equal(got, data, sizeof(data));
	kt_msg_release(c, m);

	/* not a memfd → EMEDIUMTYPE; bad fd → EBADF */
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_ret(send_memfd(a, c->id, 3, p[0], 0, 1), -EMEDIUMTYPE);
	close(p[0]);
	close(p[1]);
	assert_ret(send_memfd(a, c->id, 3, -1, 0, 1), -EBADF);
	assert_ret(send_memfd(a, c->id, 3, p[0], 0, 1), -EBADF);
	assert_ret(kt_expect_empty(c), 0);
	kt_conn_free(a);
	kt_conn_free(c);
}

static void test_fd_peek_no_install(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	struct kdbus_msg *m;
	int p[2], before, after;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_ret(send_fds(a, b->id, 1, p, 2), 0);
	close(p[0]);
	close(p[1]);
	before = kt_count_open_fds();
	/* §7.4: PEEK does not install fds (documented semantics) */
	assert_ret(kt_recv(b, KDBUS_RECV_PEEK, 0, &m, NULL), 0);
	after = kt_count_open_fds();
	assert_int_equal(before, after);
	assert_ret(kt_free(b, kt_off(b, m)), 0);
	m = recv1(b);
	assert_int_equal(kt_count_open_fds(), before + 2);
	kt_msg_release(b, m);
	assert_int_equal(kt_count_open_fds(), before);
	kt_conn_free(a);
	kt_conn_free(b);
}

static void test_unpadded_msg_size(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	struct kdbus_msg *m;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	/* §2.2: the enclosing size may omit the last item's padding */
	m = kt_msg_new(b->id, 0, 1);
	kt_msg_add_fds(m, &fd, 1);
	m->size -= 4;
	assert_int_equal(m->size % 8, 4);
	assert_ret(kt_send(a, m, 0, -1, NULL), 0);
	/* but not more than the padding */
	m->size -= 4;
	assert_ret(kt_send(a, m, 0, -1, NULL), -EINVAL);
	kt_msg_free(m);
	close(fd);
	m = recv1(b);
	kt_assert_msg(kt_msg_count(m, KDBUS_ITEM_FDS) == 1, b, m);
	kt_msg_release(b, m);
	kt_conn_free(a);
	kt_conn_free(b);
}

/* ------------------------------------------------------------ conn-info */

static void check_item_order(struct kdbus_item *first, size_t bytes)
{
	static const uint64_t order[] = {
		KDBUS_ITEM_CREDS,   KDBUS_ITEM_PIDS,	   KDBUS_ITEM_AUXGROUPS,
		KDBUS_ITEM_TID_COMM, KDBUS_ITEM_PID_COMM,   KDBUS_ITEM_EXE,
		KDBUS_ITEM_CMDLINE, KDBUS_ITEM_CGROUP,	   KDBUS_ITEM_CAPS,
		KDBUS_ITEM_SECLABEL, KDBUS_ITEM_AUDIT,	   KDBUS_ITEM_OWNED_NAME,
		KDBUS_ITEM_CONN_DESCRIPTION, KDBUS_ITEM_TIMESTAMP,
	};
	uint8_t *end = (uint8_t *)first + bytes;
	struct kdbus_item *item;
	unsigned int pos = 0;

	/* §9.7 order of metadata items */
	for (item = first; (uint8_t *)item + KDBUS_ITEM_HEADER_SIZE <= end &&
			   item->size >= KDBUS_ITEM_HEADER_SIZE;
	     item = KDBUS_ITEM_NEXT(item)) {
		unsigned int j;

		if (item->type < _KDBUS_ITEM_ATTACH_BASE || item->type > KDBUS_ITEM_CONN_DESCRIPTION)
			continue;
		for (j = 0; j < sizeof(order) / sizeof(order[0]) && order[j] != item->type; j++)
			;
		if (j < pos)
			fail_msg("metadata item %s out of order", kt_item_name(item->type));
		pos = j;
	}
}

static void test_conn_info(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	struct kdbus_info *info;
	struct kdbus_item *item;
	char comm[64], exe[4096], cmdline[4096];
	ssize_t l;
	uint64_t id;

	assert_ret(kt_conn_info(b, a->id, NULL,
				KDBUS_ATTACH_NAMES | KDBUS_ATTACH_CREDS | KDBUS_ATTACH_PIDS |
					KDBUS_ATTACH_CONN_DESCRIPTION,
				&info),
		   0);
	assert_int_equal(info->id, a->id);
	assert_int_equal(info->flags, KDBUS_HELLO_ACCEPT_FD);
	assert_int_equal(kt_info_count(info, KDBUS_ITEM_OWNED_NAME), 0);
	assert_int_equal(kt_info_count(info, KDBUS_ITEM_CREDS), 1);
	assert_my_creds(&kt_info_item(info, KDBUS_ITEM_CREDS)->creds);
	item = kt_info_item(info, KDBUS_ITEM_PIDS);
	assert_non_null(item);
	assert_int_equal(item->pids.pid, getpid());
	assert_int_equal(item->pids.tid, kt_gettid());
	assert_int_equal(item->pids.ppid, getppid());
	item = kt_info_item(info, KDBUS_ITEM_CONN_DESCRIPTION);
	assert_non_null(item);
	assert_string_equal(item->str, "kt-conn");
	assert_int_equal(kt_info_count(info, KDBUS_ITEM_CAPS), 0);
	assert_int_equal(kt_info_count(info, KDBUS_ITEM_PID_COMM), 0);
	assert_ret(kt_free(b, kt_off(b, info)), 0);

	/* everything: never a TIMESTAMP, comm/exe/cmdline of the HELLO task */
	assert_ret(kt_conn_info(b, a->id, NULL, _KDBUS_ATTACH_ALL, &info), 0);
	assert_int_equal(kt_info_count(info, KDBUS_ITEM_TIMESTAMP), 0);
	check_item_order(info->items, info->size - sizeof(*info));
	read_comm(comm, sizeof(comm));
	item = kt_info_item(info, KDBUS_ITEM_PID_COMM);
	assert_non_null(item);
	assert_string_equal(item->str, comm);
	item = kt_info_item(info, KDBUS_ITEM_TID_COMM);
	assert_non_null(item);
	assert_string_equal(item->str, comm);
	l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(l > 0);
	exe[l] = 0;
	item = kt_info_item(info, KDBUS_ITEM_EXE);
	assert_non_null(item);
	assert_string_equal(item->str, exe);
	assert_true(kt_read_file("/proc/self/cmdline", cmdline, sizeof(cmdline)) > 0);
	item = kt_info_item(info, KDBUS_ITEM_CMDLINE);
	assert_non_null(item);
	/* argv[0] at least (§9.7: the final code delivers only argv[0]) */
	assert_string_equal(item->str, cmdline);
	{
		gid_t groups[256];
		int n = getgroups(256, groups), i;

		item = kt_info_item(info, KDBUS_ITEM_AUXGROUPS);
		assert_non_null(item);
		assert_int_equal((item->size - KDBUS_ITEM_HEADER_SIZE) / 8, n);
		for (i = 0; i < n; i++)
			assert_int_equal(item->data64[i], groups[i]);
	}
	item = kt_info_item(info, KDBUS_ITEM_CAPS);
	if (item) {
		/* last_cap then four sets of u32 words, sized by last_cap (§9.7) */
		uint32_t words = (item->caps.last_cap + 32) / 32;

		assert_true(item->size >= KDBUS_ITEM_HEADER_SIZE + 4 + 4 * words * 4);
	}
	assert_ret(kt_free(b, kt_off(b, info)), 0);

	/* names show up, lookup by name works */
	assert_ret(kt_name_acquire(a, "com.example.a", 0, NULL), 0);
	assert_ret(kt_conn_info(b, 0, "com.example.a", KDBUS_ATTACH_NAMES, &info), 0);
	assert_int_equal(info->id, a->id);
	item = kt_info_item(info, KDBUS_ITEM_OWNED_NAME);
	assert_non_null(item);
	assert_string_equal(item->name.name, "com.example.a");
	assert_int_equal(item->name.flags & KDBUS_NAME_PRIMARY, KDBUS_NAME_PRIMARY);
	assert_ret(kt_free(b, kt_off(b, info)), 0);
	assert_ret(kt_name_acquire(a, "com.example.b", 0, NULL), 0);
	assert_ret(kt_conn_info(b, a->id, NULL, KDBUS_ATTACH_NAMES, &info), 0);
	assert_int_equal(kt_info_count(info, KDBUS_ITEM_OWNED_NAME), 2);
	assert_ret(kt_free(b, kt_off(b, info)), 0);
	/* name and a different id → ESRCH (§3.2) */
	assert_ret(kt_conn_info(b, b->id, "com.example.a", 0, NULL), -ESRCH);
	assert_ret(kt_conn_info(b, 0, "com.example.nope", 0, NULL), -ESRCH);
	assert_ret(kt_conn_info(b, 0x7ffffffffff, NULL, 0, NULL), -ENXIO);
	assert_ret(kt_conn_info(b, 0, NULL, 0, NULL), -EINVAL);
	assert_ret(kt_conn_info(b, a->id, NULL, 1ULL << 14, NULL), -EINVAL);
	{
		/* a NAME item whose size is too small for its string */
		struct kt_items it;
		struct kdbus_cmd_info *cmd;

		kt_items_init(&it);
		kt_items_add_str(&it, KDBUS_ITEM_NAME, "com.example.a")->size =
			KDBUS_ITEM_HEADER_SIZE + 4;
		cmd = kt_cmd_new(sizeof(*cmd), &it);
		cmd->size = sizeof(*cmd) + KDBUS_ITEM_HEADER_SIZE + 4;
		assert_ret(kdbus_cmd_conn_info(b->fd, cmd), -EINVAL);
		free(cmd);
		kt_items_deinit(&it);
		/* flags are not accepted */
		cmd = kt_cmd_new(sizeof(*cmd), NULL);
		cmd->id = a->id;
		cmd->flags = 1;
		assert_ret(kdbus_cmd_conn_info(b->fd, cmd), -EINVAL);
		free(cmd);
	}

	/* the result is masked by the target's attach_flags_send (§9.7) */
	assert_ret(kt_update_attach(a, 0, _KDBUS_ATTACH_ALL), 0);
	assert_ret(kt_conn_info(b, a->id, NULL, _KDBUS_ATTACH_ALL, &info), 0);
	assert_int_equal(info->size, sizeof(*info));
	assert_ret(kt_free(b, kt_off(b, info)), 0);
	assert_ret(kt_update_attach(a, KDBUS_ATTACH_CREDS, _KDBUS_ATTACH_ALL), 0);
	assert_ret(kt_conn_info(b, a->id, NULL, _KDBUS_ATTACH_ALL, &info), 0);
	assert_int_equal(kt_info_count(info, KDBUS_ITEM_CREDS), 1);
	assert_int_equal(kt_info_count(info, KDBUS_ITEM_PIDS), 0);
	assert_int_equal(kt_info_count(info, KDBUS_ITEM_OWNED_NAME), 0);
	id = info->id;
	assert_int_equal(id, a->id);
	assert_ret(kt_free(b, kt_off(b, info)), 0);
	kt_conn_free(a);
	kt_conn_free(b);
}

static int child_conn_info(struct kt_proc *self, void *arg)
{
	const struct kt_bus *bus = arg;
	struct kdbus_info *info;
	struct kdbus_item *item;
	struct kt_conn *c;
	uint64_t target;

	KT_CHILD_CHECK(kt_proc_get(self, &target, 5000) == 0);
	KT_CHILD_CHECK(kt_drop_privileges(KT_UNPRIV_UID, KT_UNPRIV_GID) == 0);
	c = kt_conn_new(bus);
	KT_CHILD_CHECK(c != NULL);
	KT_CHILD_CHECK(kt_proc_put(self, c->id) == 0);
	/* the target's metadata is the HELLO-time data, not the caller's */
	KT_CHILD_CHECK(kt_conn_info(c, target, NULL, _KDBUS_ATTACH_ALL, &info) == 0);
	item = kt_info_item(info, KDBUS_ITEM_CREDS);
	KT_CHILD_CHECK(item != NULL);
	KT_CHILD_CHECK(item->creds.uid == 0 && item->creds.euid == 0 && item->creds.gid == 0);
	item = kt_info_item(info, KDBUS_ITEM_PIDS);
	KT_CHILD_CHECK(item != NULL && item->pids.pid == (uint64_t)getppid());
	KT_CHILD_CHECK(kt_info_count(info, KDBUS_ITEM_CREDS) == 1);
	KT_CHILD_CHECK(kt_info_count(info, KDBUS_ITEM_PIDS) == 1);
	KT_CHILD_CHECK(kt_free(c, kt_off(c, info)) == 0);
	/* wait until the parent has looked at us */
	KT_CHILD_CHECK(kt_proc_get(self, &target, 5000) == 0);
	kt_conn_free(c);
	return 0;
}

static void test_conn_info_other_process(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a;
	struct kdbus_info *info;
	struct kdbus_item *item;
	struct kt_proc p;
	uint64_t cid;

	KT_SKIP_UNLESS_ROOT();
	a = conn(bus);
	assert_ret(kt_proc_start(&p, child_conn_info, bus), 0);
	assert_ret(kt_proc_put(&p, a->id), 0);
	assert_ret(kt_proc_get(&p, &cid, 5000), 0);
	assert_ret(kt_conn_info(a, cid, NULL, _KDBUS_ATTACH_ALL, &info), 0);
	item = kt_info_item(info, KDBUS_ITEM_CREDS);
	assert_non_null(item);
	assert_int_equal(item->creds.uid, KT_UNPRIV_UID);
	assert_int_equal(item->creds.euid, KT_UNPRIV_UID);
	assert_int_equal(item->creds.suid, KT_UNPRIV_UID);
	assert_int_equal(item->creds.fsuid, KT_UNPRIV_UID);
	assert_int_equal(item->creds.gid, KT_UNPRIV_GID);
	assert_int_equal(item->creds.egid, KT_UNPRIV_GID);
	item = kt_info_item(info, KDBUS_ITEM_PIDS);
	assert_non_null(item);
	assert_int_equal(item->pids.pid, p.pid);
	assert_int_equal(item->pids.tid, p.pid);
	assert_int_equal(item->pids.ppid, getpid());
	item = kt_info_item(info, KDBUS_ITEM_AUXGROUPS);
	if (item)
		assert_int_equal(item->size, KDBUS_ITEM_HEADER_SIZE);
	kt_free(a, kt_off(a, info));
	assert_ret(kt_proc_put(&p, 1), 0);
	assert_int_equal(kt_proc_wait(&p), 0);
	kt_conn_free(a);
}

/* --------------------------------------------------------------- update */

static void test_update(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	struct kdbus_msg *m;
	struct kdbus_item *item;
	struct kt_items it;
	struct kdbus_cmd *cmd;

	/* with everything requested: TIMESTAMP, CREDS, PIDS, comm */
	assert_ret(kt_send_simple(a, b->id, 1, 0, 0, 0), 0);
	m = recv1(b);
	kt_assert_msg(kt_msg_count(m, KDBUS_ITEM_TIMESTAMP) == 1, b, m);
	item = kt_msg_item(m, KDBUS_ITEM_CREDS);
	kt_assert_msg(item != NULL, b, m);
	assert_my_creds(&item->creds);
	item = kt_msg_item(m, KDBUS_ITEM_PIDS);
	kt_assert_msg(item != NULL && item->pids.pid == (uint64_t)getpid(), b, m);
	kt_assert_msg(item->pids.tid == (uint64_t)kt_gettid(), b, m);
	kt_assert_msg(kt_msg_count(m, KDBUS_ITEM_PID_COMM) == 1, b, m);
	item = kt_msg_item(m, KDBUS_ITEM_CONN_DESCRIPTION);
	kt_assert_msg(item != NULL && !strcmp(item->str, "kt-conn"), b, m);
	check_item_order(m->items, m->size - sizeof(*m));
	kt_msg_release(b, m);

	/* §3.2 UPDATE: everything but TIMESTAMP */
	assert_ret(kt_update_attach(b, _KDBUS_ATTACH_ALL, _KDBUS_ATTACH_ALL & ~KDBUS_ATTACH_TIMESTAMP),
		   0);
	assert_ret(kt_send_simple(a, b->id, 2, 0, 0, 0), 0);
	m = recv1(b);
	kt_assert_msg(kt_msg_count(m, KDBUS_ITEM_TIMESTAMP) == 0, b, m);
	kt_assert_msg(kt_msg_count(m, KDBUS_ITEM_CREDS) == 1, b, m);
	kt_msg_release(b, m);

	/* only the timestamp */
	assert_ret(kt_update_attach(b, _KDBUS_ATTACH_ALL, KDBUS_ATTACH_TIMESTAMP), 0);
	assert_ret(kt_send_simple(a, b->id, 3, 0, 0, 0), 0);
	m = recv1(b);
	kt_assert_msg(kt_msg_count(m, KDBUS_ITEM_TIMESTAMP) == 1, b, m);
	kt_assert_msg(kt_msg_count(m, KDBUS_ITEM_CREDS) == 0, b, m);
	kt_assert_msg(kt_msg_count(m, KDBUS_ITEM_PIDS) == 0, b, m);
	kt_msg_release(b, m);

	/* nothing: the header size is the sender's (§6.3) */
	assert_ret(kt_update_attach(b, _KDBUS_ATTACH_ALL, 0), 0);
	assert_ret(kt_send_simple(a, b->id, 4, 0, 0, 0), 0);
	m = recv1(b);
	kt_assert_msg(m->size == sizeof(*m) + KDBUS_ITEM_SIZE(sizeof(struct kdbus_vec)), b, m);
	kt_msg_release(b, m);

	/* the sender's mask does not hide the implicit items (§9.7) */
	assert_ret(kt_update_attach(b, _KDBUS_ATTACH_ALL, _KDBUS_ATTACH_ALL), 0);
	assert_ret(kt_update_attach(a, 0, _KDBUS_ATTACH_ALL), 0);
	assert_ret(kt_send_simple(a, b->id, 5, 0, 0, 0), 0);
	m = recv1(b);
	kt_assert_msg(kt_msg_count(m, KDBUS_ITEM_TIMESTAMP) == 1, b, m);
	kt_assert_msg(kt_msg_count(m, KDBUS_ITEM_CREDS) == 1, b, m);
	kt_assert_msg(kt_msg_count(m, KDBUS_ITEM_PIDS) == 1, b, m);
	kt_assert_msg(kt_msg_count(m, KDBUS_ITEM_CONN_DESCRIPTION) == 1, b, m);
	kt_msg_release(b, m);

	/* invalid: unknown attach bits, flags, items for policy holders only */
	assert_ret(kt_update_attach(b, _KDBUS_ATTACH_ALL + 1, _KDBUS_ATTACH_ALL), -EINVAL);
	assert_ret(kt_update_attach(b, _KDBUS_ATTACH_ALL, _KDBUS_ATTACH_ALL + 1), -EINVAL);
	kt_items_init(&it);
	cmd = kt_cmd_new(sizeof(*cmd), &it);
	cmd->flags = 1;
	assert_ret(kdbus_cmd_update(b->fd, cmd), -EINVAL);
	free(cmd);
	kt_items_add_str(&it, KDBUS_ITEM_NAME, "com.example.x");
	cmd = kt_cmd_new(sizeof(*cmd), &it);
	assert_ret(kdbus_cmd_update(b->fd, cmd), -EOPNOTSUPP);
	free(cmd);
	kt_items_deinit(&it);
	/* a failed UPDATE changed nothing: b still gets everything */
	assert_ret(kt_send_simple(a, b->id, 6, 0, 0, 0), 0);
	m = recv1(b);
	kt_assert_msg(kt_msg_count(m, KDBUS_ITEM_TIMESTAMP) == 1, b, m);
	kt_msg_release(b, m);
	kt_conn_free(a);
	kt_conn_free(b);
}

/* -------------------------------------------------------- writable-pool */

static void test_writable_pool(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus);
	void *p;

	/* §6.1 */
	errno = 0;
	p = kdbus_mmap(NULL, KT_POOL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, a->fd, 0);
	assert_true(p == MAP_FAILED);
	assert_ret(-errno, -EPERM);
	errno = 0;
	p = kdbus_mmap(NULL, KT_POOL_SIZE, PROT_WRITE, MAP_PRIVATE, a->fd, 0);
	assert_true(p == MAP_FAILED);
	assert_ret(-errno, -EPERM);
	errno = 0;
	p = kdbus_mmap(NULL, KT_POOL_SIZE + 4096, PROT_READ, MAP_SHARED, a->fd, 0);
	assert_true(p == MAP_FAILED);
	assert_ret(-errno, -EFAULT);
	p = kdbus_mmap(NULL, KT_POOL_SIZE, PROT_READ, MAP_SHARED, a->fd, 0);
	assert_true(p != MAP_FAILED);
	/* can never become writable */
	errno = 0;
	assert_int_equal(mprotect(p, KT_POOL_SIZE, PROT_READ | PROT_WRITE), -1);
	assert_ret(-errno, -EACCES);
	/* a part of the pool can be mapped */
	assert_int_equal(kdbus_munmap(p, KT_POOL_SIZE), 0);
	p = kdbus_mmap(NULL, 4096, PROT_READ, MAP_SHARED, a->fd, 4096);
	assert_true(p != MAP_FAILED);
	assert_int_equal(kdbus_munmap(p, 4096), 0);
	kt_conn_free(a);
}

/* ----------------------------------------------------------- sync-reply */

struct replier {
	const struct kt_bus *bus;
	int mode;
};

enum {
	REPLY_OK,	/* reply properly */
	REPLY_NEVER,	/* read the call, reply only after being told; report the errno */
	REPLY_DIE_READ, /* read the call, then exit */
	REPLY_DIE_UNREAD, /* wait for the call, exit without reading */
	REPLY_BYEBYE,	/* read the call, BYEBYE */
	REPLY_DROP,	/* DROP the call */
	REPLY_EMPTY,	/* report whether the queue stays empty */
	REPLY_WITH_FD,	/* reply carrying an fd; report the errno */
};

static int child_replier(struct kt_proc *self, void *arg)
{
	const struct replier *rp = arg;
	struct kdbus_msg *m;
	struct kt_conn *c;
	uint64_t caller, v;
	int r;

	c = kt_conn_new(rp->bus);
	KT_CHILD_CHECK(c != NULL);
	KT_CHILD_CHECK(kt_proc_put(self, c->id) == 0);
	KT_CHILD_CHECK(kt_proc_get(self, &caller, 5000) == 0);
	if (rp->mode == REPLY_EMPTY) {
		KT_CHILD_CHECK(kt_proc_get(self, &v, 10000) == 0);
		r = kt_recv(c, 0, 0, NULL, NULL);
		kt_proc_put(self, (uint64_t)(int64_t)r);
		return 0;
	}
	KT_CHILD_CHECK(kt_poll(c, 10000, NULL) == 1);
	if (rp->mode == REPLY_DIE_UNREAD)
		_exit(0);
	if (rp->mode == REPLY_DROP) {
		KT_CHILD_CHECK(kt_recv(c, KDBUS_RECV_DROP, 0, NULL, NULL) == 0);
		KT_CHILD_CHECK(kt_proc_get(self, &v, 10000) == 0);
		return 0;
	}
	KT_CHILD_CHECK(kt_recv(c, 0, 0, &m, NULL) == 0);
	KT_CHILD_CHECK(m->src_id == caller);
	KT_CHILD_CHECK(m->flags & KDBUS_MSG_EXPECT_REPLY);
	KT_CHILD_CHECK(m->timeout_ns != 0);
	switch (rp->mode) {
	case REPLY_OK:
		/* a reply to the wrong cookie → EBADSLT (§7.5.3) */
		KT_CHILD_CHECK(kt_send_reply(c, caller, 1, m->cookie + 1) == -EBADSLT);
		KT_CHILD_CHECK(kt_send_reply(c, caller, 0xcafe, m->cookie) == 0);
		/* a tracker allows exactly one reply */
		KT_CHILD_CHECK(kt_send_reply(c, caller, 0xcafe, m->cookie) == -EBADSLT);
		break;
	case REPLY_NEVER:
		KT_CHILD_CHECK(kt_proc_get(self, &v, 10000) == 0);
		r = kt_send_reply(c, caller, 0xcafe, m->cookie);
		KT_CHILD_CHECK(kt_proc_put(self, (uint64_t)(int64_t)r) == 0);
		kt_msg_release(c, m);
		/* a restarted call must not have been sent twice */
		r = kt_recv(c, 0, 0, NULL, NULL);
		KT_CHILD_CHECK(kt_proc_put(self, (uint64_t)(int64_t)r) == 0);
		kt_conn_free(c);
		return 0;
	case REPLY_WITH_FD: {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		struct kdbus_msg *rm = kt_msg_new(caller, 0, 0xcafe);

		rm->cookie_reply = m->cookie;
		kt_msg_add_fds(rm, &fd, 1);
		r = kt_send(c, rm, 0, -1, NULL);
		kt_msg_free(rm);
		close(fd);
		KT_CHILD_CHECK(kt_proc_put(self, (uint64_t)(int64_t)r) == 0);
		break;
	}
	case REPLY_DIE_READ:
		_exit(0);
	case REPLY_BYEBYE:
		kt_msg_release(c, m);
		KT_CHILD_CHECK(kt_byebye(c) == 0);
		KT_CHILD_CHECK(kt_proc_get(self, &v, 10000) == 0);
		return 0;
	}
	kt_msg_release(c, m);
	KT_CHILD_CHECK(kt_proc_get(self, &v, 10000) == 0);
	kt_conn_free(c);
	return 0;
}

static uint64_t start_replier(struct kt_proc *p, struct replier *rp, struct kt_conn *a)
{
	uint64_t cid;

	assert_ret(kt_proc_start(p, child_replier, rp), 0);
	assert_ret(kt_proc_get(p, &cid, 5000), 0);
	assert_ret(kt_proc_put(p, a->id), 0);
	return cid;
}

static void test_sync_reply(void **state)
{
	struct kt_bus *bus = *state;
	struct replier rp = { bus, REPLY_OK };
	struct kt_conn *a = conn(bus);
	struct kdbus_msg *reply;
	struct kt_proc p;
	uint64_t cid, v;

	cid = start_replier(&p, &rp, a);
	assert_ret(kt_send_sync(a, cid, 0x5151, 5000 * MS, -1, &reply), 0);
	/* §7.5.2: the reply is in our pool, not in our queue */
	kt_assert_msg(reply->src_id == cid, a, reply);
	kt_assert_msg(reply->dst_id == a->id, a, reply);
	kt_assert_msg(reply->cookie == 0xcafe, a, reply);
	kt_assert_msg(reply->cookie_reply == 0x5151, a, reply);
	kt_assert_msg(reply->payload_type == KDBUS_PAYLOAD_DBUS, a, reply);
	assert_int_equal(kt_msg_payload(a, reply, &v, sizeof(v)), 8);
	assert_int_equal(v, 0xcafe);
	assert_ret(kt_free(a, kt_off(a, reply)), 0);
	assert_ret(kt_expect_empty(a), 0);
	assert_ret(kt_proc_put(&p, 1), 0);
	assert_int_equal(kt_proc_wait(&p), 0);
	kt_conn_free(a);
}

static void test_sync_timeout(void **state)
{
	struct kt_bus *bus = *state;
	struct replier rp = { bus, REPLY_NEVER };
	struct kt_conn *a = conn(bus);
	struct kt_proc p;
	uint64_t cid, t0, v;

	cid = start_replier(&p, &rp, a);
	t0 = kt_now(CLOCK_MONOTONIC);
	assert_ret(kt_send_sync(a, cid, 0x77, 200 * MS, -1, NULL), -ETIMEDOUT);
	assert_true(kt_now(CLOCK_MONOTONIC) - t0 >= 200 * MS);
	assert_true(kt_now(CLOCK_MONOTONIC) - t0 < 5000 * MS);
	/* the tracker is gone: a late reply → EBADSLT */
	assert_ret(kt_proc_put(&p, 1), 0);
	assert_ret(kt_proc_get(&p, &v, 5000), 0);
	assert_ret((int64_t)v, -EBADSLT);
	assert_ret(kt_proc_get(&p, &v, 5000), 0);
	assert_ret((int64_t)v, -EAGAIN);
	assert_int_equal(kt_proc_wait(&p), 0);
	/* no stray notification */
	assert_ret(kt_expect_empty(a), 0);
	kt_conn_free(a);
}

static void test_sync_past_deadline(void **state)
{
	struct kt_bus *bus = *state;
	struct replier rp = { bus, REPLY_EMPTY };
	struct kt_conn *a = conn(bus);
	struct kdbus_msg *m;
	struct kt_proc p;
	uint64_t cid, v = 0;

	cid = start_replier(&p, &rp, a);
	m = kt_msg_new(cid, KDBUS_MSG_EXPECT_REPLY, 1);
	m->timeout_ns = 1; /* long past */
	kt_msg_add_vec(m, &v, sizeof(v));
	/* §7.5.2 step 2: nothing is sent */
	assert_ret(kt_send(a, m, KDBUS_SEND_SYNC_REPLY, -1, NULL), -ETIMEDOUT);
	kt_msg_free(m);
	assert_ret(kt_proc_put(&p, 1), 0);
	assert_ret(kt_proc_get(&p, &v, 5000), 0);
	assert_ret((int64_t)v, -EAGAIN);
	assert_int_equal(kt_proc_wait(&p), 0);
	kt_conn_free(a);
}

static int child_write_eventfd(struct kt_proc *self, void *arg)
{
	int efd = *(int *)arg;
	uint64_t one = 1;

	usleep(150 * 1000);
	KT_CHILD_CHECK(write(efd, &one, sizeof(one)) == sizeof(one));
	(void)self;
	return 0;
}

static void test_sync_cancel(void **state)
{
	struct kt_bus *bus = *state;
	struct replier rp = { bus, REPLY_NEVER };
	struct kt_conn *a = conn(bus);
	struct kt_proc p, w;
	uint64_t cid, one = 1, t0, v;
	int efd;

	cid = start_replier(&p, &rp, a);
	efd = eventfd(0, EFD_CLOEXEC);
	assert_true(efd >= 0);
	/* the cancel fd becomes readable while we wait → ECANCELED (§7.5.2) */
	assert_ret(kt_proc_start(&w, child_write_eventfd, &efd), 0);
	t0 = kt_now(CLOCK_MONOTONIC);
	assert_ret(kt_send_sync(a, cid, 0x88, 5000 * MS, efd, NULL), -ECANCELED);
	assert_true(kt_now(CLOCK_MONOTONIC) - t0 >= 100 * MS);
	assert_true(kt_now(CLOCK_MONOTONIC) - t0 < 4000 * MS);
	assert_int_equal(kt_proc_wait(&w), 0);
	/* an already readable cancel fd */
	assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
	assert_ret(kt_send_sync(a, cid, 0x89, 5000 * MS, efd, NULL), -ECANCELED);
	close(efd);
	/* a bad cancel fd → EBADF (§7.2 4) */
	assert_ret(kt_send_sync(a, cid, 0x8a, 5000 * MS, efd, NULL), -EBADF);
	assert_ret(kt_proc_put(&p, 1), 0);
	assert_ret(kt_proc_get(&p, &v, 5000), 0);
	/* the cancelled call's tracker is gone too */
	assert_ret((int64_t)v, -EBADSLT);
	assert_ret(kt_proc_get(&p, &v, 5000), 0);
	/* the second, pre-cancelled call was still queued (§7.5.2 step 3) */
	assert_ret((int64_t)v, 0);
	assert_int_equal(kt_proc_wait(&p), 0);
	kt_conn_free(a);
}

static void test_sync_cancel_unused(void **state)
{
	struct kt_bus *bus = *state;
	struct replier rp = { bus, REPLY_OK };
	struct kt_conn *a = conn(bus);
	struct kdbus_msg *reply;
	struct kt_proc p;
	uint64_t cid;
	int efd = eventfd(0, EFD_CLOEXEC);

	assert_true(efd >= 0);
	cid = start_replier(&p, &rp, a);
	/* an unsignalled cancel fd does not disturb the call */
	assert_ret(kt_send_sync(a, cid, 0x5152, 5000 * MS, efd, &reply), 0);
	kt_assert_msg(reply->cookie_reply == 0x5152, a, reply);
	assert_ret(kt_free(a, kt_off(a, reply)), 0);
	assert_ret(kt_proc_put(&p, 1), 0);
	assert_int_equal(kt_proc_wait(&p), 0);
	close(efd);
	kt_conn_free(a);
}

static void nop_handler(int sig)
{
	(void)sig;
}

static int child_signal_parent(struct kt_proc *self, void *arg)
{
	(void)self;
	(void)arg;
	usleep(80 * 1000);
	KT_CHILD_CHECK(kill(getppid(), SIGUSR1) == 0);
	return 0;
}

static void test_sync_interrupted(void **state)
{
	struct kt_bus *bus = *state;
	struct replier rp = { bus, REPLY_NEVER };
	struct sigaction sa = { .sa_handler = nop_handler, .sa_flags = SA_RESTART }, old;
	struct kt_conn *a = conn(bus);
	struct kt_proc p, s;
	uint64_t cid, v, t0;

	cid = start_replier(&p, &rp, a);
	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	assert_ret(kt_proc_start(&s, child_signal_parent, NULL), 0);
	/* §7.5.2: a signal with SA_RESTART resumes the same call, same deadline */
	t0 = kt_now(CLOCK_MONOTONIC);
	assert_ret(kt_send_sync(a, cid, 0x99, 400 * MS, -1, NULL), -ETIMEDOUT);
	assert_true(kt_now(CLOCK_MONOTONIC) - t0 < 2000 * MS);
	assert_int_equal(kt_proc_wait(&s), 0);
	sigaction(SIGUSR1, &old, NULL);
	assert_ret(kt_proc_put(&p, 1), 0);
	assert_ret(kt_proc_get(&p, &v, 5000), 0);
	assert_ret((int64_t)v, -EBADSLT);
	/* and the callee did not get it twice */
	assert_ret(kt_proc_get(&p, &v, 5000), 0);
	assert_ret((int64_t)v, -EAGAIN);
	assert_int_equal(kt_proc_wait(&p), 0);
	kt_conn_free(a);
}

static void *thread_byebye(void *arg)
{
	struct kt_conn *a = arg;

	usleep(150 * 1000);
	return (void *)(intptr_t)kt_byebye(a);
}

static void test_sync_caller_byebye(void **state)
{
	struct kt_bus *bus = *state;
	struct replier rp = { bus, REPLY_NEVER };
	struct kt_conn *a = conn(bus);
	struct kt_proc p;
	pthread_t t;
	void *ret;
	uint64_t cid;

	cid = start_replier(&p, &rp, a);
	assert_int_equal(pthread_create(&t, NULL, thread_byebye, a), 0);
	/* §7.5.2: our own connection going away ends the wait with ECONNRESET */
	assert_ret(kt_send_sync(a, cid, 0x98, 5000 * MS, -1, NULL), -ECONNRESET);
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_ret((intptr_t)ret, 0);
	kt_proc_kill(&p);
	kt_conn_free(a);
}

static void test_sync_reply_fd_refused(void **state)
{
	struct kt_bus *bus = *state;
	struct replier rp = { bus, REPLY_WITH_FD };
	/* a caller that does not accept fds */
	struct kt_conn *a = conn_attach(bus, 0, _KDBUS_ATTACH_ALL, _KDBUS_ATTACH_ALL, KT_POOL_SIZE);
	struct kt_proc p;
	uint64_t cid, v;

	cid = start_replier(&p, &rp, a);
	/* §7.5.3: the replier gets ECOMM, the sync caller EREMOTEIO */
	assert_ret(kt_send_sync(a, cid, 0x97, 5000 * MS, -1, NULL), -EREMOTEIO);
	assert_ret(kt_proc_get(&p, &v, 5000), 0);
	assert_ret((int64_t)v, -ECOMM);
	assert_ret(kt_proc_put(&p, 1), 0);
	assert_int_equal(kt_proc_wait(&p), 0);
	kt_conn_free(a);
}

static void test_sync_call_fd_refused(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus);
	struct kt_conn *c = conn_attach(bus, 0, _KDBUS_ATTACH_ALL, _KDBUS_ATTACH_ALL, KT_POOL_SIZE);
	struct kdbus_msg *m;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	/* a sync call carrying fds to a receiver without ACCEPT_FD → ECOMM (§7.2 10) */
	m = kt_msg_new(c->id, KDBUS_MSG_EXPECT_REPLY, 1);
	m->timeout_ns = kt_now(CLOCK_MONOTONIC) + 5000 * MS;
	kt_msg_add_fds(m, &fd, 1);
	assert_ret(kt_send(a, m, KDBUS_SEND_SYNC_REPLY, -1, NULL), -ECOMM);
	kt_msg_free(m);
	close(fd);
	assert_ret(kt_expect_empty(c), 0);
	kt_conn_free(a);
	kt_conn_free(c);
}

static void sync_epipe(struct kt_bus *bus, int mode)
{
	struct replier rp = { bus, mode };
	struct kt_conn *a = conn(bus);
	struct kdbus_msg *m;
	struct kt_proc p;
	uint64_t cid;

	cid = start_replier(&p, &rp, a);
	/* §7.5.2: the replier goes away or drops the call → EPIPE */
	assert_ret(kt_send_sync(a, cid, 0x66, 10000 * MS, -1, NULL), -EPIPE);
	if (mode == REPLY_BYEBYE || mode == REPLY_DROP)
		assert_ret(kt_proc_put(&p, 1), 0);
	assert_int_equal(kt_proc_wait(&p), 0);
	/* the only thing allowed in our queue is the quirk's stray REPLY_DEAD (§7.5.4) */
	while (kt_recv(a, 0, 0, &m, NULL) == 0) {
		kt_assert_msg(m->items[0].type == KDBUS_ITEM_REPLY_DEAD && m->cookie_reply == 0x66,
			      a, m);
		kt_msg_release(a, m);
	}
	kt_conn_free(a);
}

static void test_sync_replier_dies(void **state)
{
	sync_epipe(*state, REPLY_DIE_READ);
}

static void test_sync_replier_dies_unread(void **state)
{
	sync_epipe(*state, REPLY_DIE_UNREAD);
}

static void test_sync_replier_byebye(void **state)
{
	sync_epipe(*state, REPLY_BYEBYE);
}

static void test_sync_replier_drops(void **state)
{
	sync_epipe(*state, REPLY_DROP);
}

/* -------------------------------------------------------------- timeout */

static void assert_reply_notification(struct kt_conn *c, struct kdbus_msg *m, uint64_t type,
				      uint64_t cookie)
{
	/* §8.1 */
	kt_assert_msg(m->src_id == KDBUS_SRC_ID_KERNEL, c, m);
	kt_assert_msg(m->dst_id == c->id, c, m);
	kt_assert_msg(m->payload_type == KDBUS_PAYLOAD_KERNEL, c, m);
	kt_assert_msg(m->flags == 0, c, m);
	kt_assert_msg(m->priority == 0, c, m);
	kt_assert_msg(m->cookie == 0, c, m);
	kt_assert_msg(m->cookie_reply == cookie, c, m);
	kt_assert_msg(m->items[0].type == type && m->items[0].size == KDBUS_ITEM_HEADER_SIZE, c, m);
	kt_assert_msg(kt_msg_count(m, KDBUS_ITEM_TIMESTAMP) == 1, c, m);
	kt_assert_msg(kt_msg_count(m, KDBUS_ITEM_CREDS) == 0, c, m);
}

static void test_timeout(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	struct kdbus_msg *m;
	uint64_t t0 = kt_now(CLOCK_MONOTONIC);
	unsigned int i;

	for (i = 0; i < 4; i++)
		assert_ret(kt_send_call(a, b->id, 100 + i, (i + 1) * 100 * MS), 0);
	/* §7.5.4: one REPLY_TIMEOUT per call, in deadline order */
	for (i = 0; i < 4; i++) {
		m = recv1(a);
		assert_reply_notification(a, m, KDBUS_ITEM_REPLY_TIMEOUT, 100 + i);
		assert_true(kt_now(CLOCK_MONOTONIC) - t0 >= (i + 1) * 100 * MS);
		kt_msg_release(a, m);
	}
	assert_ret(kt_expect_empty(a), 0);
	/* the calls are still in b's queue; replies are refused now */
	for (i = 0; i < 4; i++) {
		m = recv1(b);
		kt_assert_msg(m->cookie == 100 + i, b, m);
		assert_ret(kt_send_reply(b, a->id, 1, m->cookie), -EBADSLT);
		kt_msg_release(b, m);
	}
	kt_conn_free(a);
	kt_conn_free(b);
}

static void test_reply_async(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	struct kdbus_msg *m;

	assert_ret(kt_send_call(a, b->id, 0x42, 5000 * MS), 0);
	m = recv1(b);
	kt_assert_msg(m->flags == KDBUS_MSG_EXPECT_REPLY && m->cookie == 0x42, b, m);
	kt_msg_release(b, m);
	assert_ret(kt_send_reply(b, a->id, 0x43, 0x42), 0);
	m = recv1(a);
	kt_assert_msg(m->src_id == b->id && m->cookie == 0x43 && m->cookie_reply == 0x42, a, m);
	kt_assert_msg(m->flags == 0, a, m);
	kt_msg_release(a, m);
	/* consumed; and no timeout notification follows */
	assert_ret(kt_send_reply(b, a->id, 0x44, 0x42), -EBADSLT);
	kt_conn_free(a);
	kt_conn_free(b);
}

/* ----------------------------------------------------------- REPLY_DEAD */

static void reply_dead(struct kt_bus *bus, bool read_first)
{
	struct kt_conn *a = conn(bus), *b = conn(bus);
	struct kdbus_msg *m;
	unsigned int n = 0;

	assert_ret(kt_send_call(a, b->id, 0x31, 10000 * MS), 0);
	if (read_first) {
		m = recv1(b);
		kt_msg_release(b, m);
	}
	b = kt_conn_free(b);
	/* §7.5.4: REPLY_DEAD with the cookie; duplicates are a tolerated quirk */
	m = recv1(a);
	assert_reply_notification(a, m, KDBUS_ITEM_REPLY_DEAD, 0x31);
	kt_msg_release(a, m);
	while (kt_recv(a, 0, 0, &m, NULL) == 0) {
		assert_reply_notification(a, m, KDBUS_ITEM_REPLY_DEAD, 0x31);
		kt_msg_release(a, m);
		n++;
	}
	assert_true(n <= 1);
	kt_conn_free(a);
}

static void test_reply_dead_unread(void **state)
{
	reply_dead(*state, false);
}

static void test_reply_dead_read(void **state)
{
	reply_dead(*state, true);
}

/* --------------------------------------------------------------- quotas */

static void test_message_quota(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *a2 = conn(bus), *b = conn(bus);
	struct kdbus_msg *m;
	unsigned int i;

	/* §10.2: 256 queued messages per (sender user, receiver) */
	for (i = 0; i < KT_MAX_MSGS; i++)
		assert_ret(kt_send_simple(a, b->id, i + 1, 0, 0, 0), 0);
	assert_ret(kt_send_simple(a, b->id, 999, 0, 0, 0), -ENOBUFS);
	/* the same user on another connection shares the budget */
	assert_ret(kt_send_simple(a2, b->id, 999, 0, 0, 0), -ENOBUFS);
	/* the sender's own queue is unaffected */
	assert_ret(kt_send_simple(b, a->id, 1, 0, 0, 0), 0);
	for (i = 0; i < KT_MAX_MSGS; i++) {
		m = recv1(b);
		kt_assert_msg(m->cookie == i + 1, b, m);
		kt_msg_release(b, m);
	}
	assert_ret(kt_expect_empty(b), 0);
	for (i = 0; i < KT_MAX_MSGS; i++)
		assert_ret(kt_send_simple(a2, b->id, i + 1, 0, 0, 0), 0);
	assert_ret(kt_send_simple(a, b->id, 999, 0, 0, 0), -ENOBUFS);
	kt_conn_free(a);
	kt_conn_free(a2);
	kt_conn_free(b);
}

static int child_quota_receiver(struct kt_proc *self, void *arg)
{
	const struct kt_bus *bus = arg;
	struct kt_conn *r, *r2;
	struct kdbus_msg *m;
	uint64_t v, n = 0;
	int ret;

	KT_CHILD_CHECK(kt_drop_privileges(KT_UNPRIV_UID, KT_UNPRIV_GID) == 0);
	r = kt_conn_new(bus);
	KT_CHILD_CHECK(r != NULL);
	r2 = kt_conn_new(bus);
	KT_CHILD_CHECK(r2 != NULL);
	KT_CHILD_CHECK(kt_proc_put(self, r->id) == 0);
	/* the parent (root) filled r's queue */
	KT_CHILD_CHECK(kt_proc_get(self, &v, 10000) == 0);
	/* another user (us) still has its own budget */
	ret = kt_send_simple(r2, r->id, 4242, 0, 0, 0);
	KT_CHILD_CHECK(kt_proc_put(self, (uint64_t)(int64_t)ret) == 0);
	while ((ret = kt_recv(r, 0, 0, &m, NULL)) == 0) {
		n++;
		kt_msg_release(r, m);
	}
	KT_CHILD_CHECK(ret == -EAGAIN);
	KT_CHILD_CHECK(kt_proc_put(self, n) == 0);
	kt_conn_free(r);
	kt_conn_free(r2);
	return 0;
}

static void test_message_quota_per_user(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a, *a2;
	struct kt_proc p;
	uint64_t rid, v;
	unsigned int i;

	KT_SKIP_UNLESS_ROOT();
	a = conn(bus);
	a2 = conn(bus);
	assert_ret(kt_proc_start(&p, child_quota_receiver, bus), 0);
	assert_ret(kt_proc_get(&p, &rid, 5000), 0);
	for (i = 0; i < KT_MAX_MSGS; i++)
		assert_ret(kt_send_simple(a, rid, i + 1, 0, 0, 0), 0);
	assert_ret(kt_send_simple(a, rid, 999, 0, 0, 0), -ENOBUFS);
	assert_ret(kt_send_simple(a2, rid, 999, 0, 0, 0), -ENOBUFS);
	assert_ret(kt_proc_put(&p, 1), 0);
	assert_ret(kt_proc_get(&p, &v, 5000), 0);
	assert_ret((int64_t)v, 0);
	assert_ret(kt_proc_get(&p, &v, 10000), 0);
	assert_int_equal(v, KT_MAX_MSGS + 1);
	assert_int_equal(kt_proc_wait(&p), 0);
	kt_conn_free(a);
	kt_conn_free(a2);
}

static int send_vec(struct kt_conn *from, uint64_t dst, uint64_t cookie, const void *p,
		    size_t len)
{
	struct kdbus_msg *m = kt_msg_new(dst, 0, cookie);
	int r;

	kt_msg_add_vec(m, p, len);
	r = kt_send(from, m, 0, -1, NULL);
	kt_msg_free(m);
	return r;
}

static void test_pool_quota(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus);
	/* a 64 KiB pool, no metadata: slices are exactly header + item + payload */
	struct kt_conn *c = conn_attach(bus, 0, _KDBUS_ATTACH_ALL, 0, 65536);
	static uint8_t data[8000];
	struct kdbus_msg *m;

	/* §10.2: one user may take a third of the free half: 8096 fits, then no more */
	assert_ret(send_vec(a, c->id, 1, data, sizeof(data)), 0);
	assert_ret(send_vec(a, c->id, 2, data, sizeof(data)), -ENOBUFS);
	/* a small message still fits in the user's share */
	assert_ret(send_vec(a, c->id, 3, data, 100), 0);
	m = recv1(c);
	kt_assert_msg(m->cookie == 1, c, m);
	kt_msg_release(c, m);
	m = recv1(c);
	kt_assert_msg(m->cookie == 3, c, m);
	kt_msg_release(c, m);
	kt_conn_free(a);
	kt_conn_free(c);
}

static void test_pool_exfull(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus);
	struct kt_conn *c = conn_attach(bus, 0, _KDBUS_ATTACH_ALL, 0, 65536);
	static uint8_t data[8000];
	struct kdbus_cmd_recv rc;
	struct kdbus_msg *m;
	int n = 0, r;

	/* received-but-unfreed slices hold pool space though not quota (§6.2) */
	for (;;) {
		r = send_vec(a, c->id, (uint64_t)n + 1, data, sizeof(data));
		if (r < 0)
			break;
		assert_ret(kt_recv(c, 0, 0, &m, &rc), 0);
		assert_int_equal(rc.msg.msg_size, 64 + 32 + 8000);
		n++;
		if (n > 100)
			break;
	}
	assert_ret(r, -EXFULL);
	/* 8 slices of 8096 bytes fit into 65536 */
	assert_int_equal(n, 8);
	kt_conn_free(a);
	kt_conn_free(c);
}

static void test_pending_replies_quota(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	unsigned int i;

	/* §10.1: 128 pending calls per sender → EMLINK */
	for (i = 0; i < KT_MAX_PENDING; i++)
		assert_ret(kt_send_call(a, b->id, i + 1, 10000 * MS), 0);
	assert_ret(kt_send_call(a, b->id, 999, 10000 * MS), -EMLINK);
	/* a plain message is still fine */
	assert_ret(kt_send_simple(a, b->id, 1000, 0, 0, 0), 0);
	kt_conn_free(a);
	kt_conn_free(b);
}

/* ------------------------------------------------------- generic errors */

static void test_generic_errors(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus);
	uint64_t raw[64];
	struct kdbus_cmd_free *f;
	struct kdbus_cmd_info *info;
	struct kdbus_cmd_match *match;
	void *big;

	/* misaligned → EFAULT (§2.1) */
	memset(raw, 0, sizeof(raw));
	f = (struct kdbus_cmd_free *)(void *)((uint8_t *)raw + 4);
	{
		struct kdbus_cmd_free tmp = { .size = sizeof(tmp), .offset = KT_POOL_SIZE };

		memcpy(f, &tmp, sizeof(tmp));
	}
	assert_ret(kdbus_cmd_free(a->fd, f), -EFAULT);
	errno = 0;
	assert_int_equal(kdbus_ioctl(a->fd, KDBUS_CMD_FREE, f), -1);
	assert_int_equal(errno, EFAULT);
	assert_ret(kdbus_cmd_free(a->fd, NULL), -EFAULT);

	/* size < struct → EINVAL */
	memset(raw, 0, sizeof(raw));
	f = (struct kdbus_cmd_free *)(void *)raw;
	f->size = 16;
	f->offset = KT_POOL_SIZE;
	assert_ret(kdbus_cmd_free(a->fd, f), -EINVAL);
	info = (struct kdbus_cmd_info *)(void *)raw;
	memset(raw, 0, sizeof(raw));
	info->size = 8;
	info->id = a->id;
	assert_ret(kdbus_cmd_conn_info(a->fd, info), -EINVAL);

	/* size > 32 KiB → EMSGSIZE */
	big = calloc(1, KT_CMD_MAX_SIZE + 64);
	assert_non_null(big);
	info = big;
	info->size = KT_CMD_MAX_SIZE + 8;
	info->id = a->id;
	assert_ret(kdbus_cmd_conn_info(a->fd, info), -EMSGSIZE);
	match = big;
	memset(big, 0, KT_CMD_MAX_SIZE + 64);
	match->size = KT_CMD_MAX_SIZE + 8;
	assert_ret(kdbus_cmd_match_add(a->fd, match), -EMSGSIZE);
	free(big);

	/* unknown flags → EINVAL */
	memset(raw, 0, sizeof(raw));
	info = (struct kdbus_cmd_info *)(void *)raw;
	info->size = sizeof(*info);
	info->id = a->id;
	info->flags = 1ULL << 40;
	assert_ret(kdbus_cmd_conn_info(a->fd, info), -EINVAL);
	assert_ret(kt_list(a, 1ULL << 4, (struct kdbus_info **)&big, raw), -EINVAL);
	assert_ret(kt_name_acquire(a, "foo.bar.baz", 1ULL << 3, NULL), -EINVAL);
	{
		struct kdbus_cmd_match m = { .size = sizeof(m), .flags = 2 };

		assert_ret(kdbus_cmd_match_add(a->fd, &m), -EINVAL);
		m.flags = 1;
		assert_ret(kdbus_cmd_match_remove(a->fd, &m), -EINVAL);
	}

	/* items: unknown for the command, too short, overrunning, type 0 */
	{
		struct kt_items it;
		struct kdbus_cmd_info *ci;

		kt_items_init(&it);
		kt_items_add(&it, KDBUS_ITEM_BLOOM_MASK, raw, 64);
		ci = kt_cmd_new(sizeof(*ci), &it);
		ci->id = a->id;
		assert_ret(kdbus_cmd_conn_info(a->fd, ci), -EINVAL);
		free(ci);
		kt_items_deinit(&it);

		kt_items_init(&it);
		kt_items_add_u64(&it, KDBUS_ITEM_ID, 1)->size = 8;
		ci = kt_cmd_new(sizeof(*ci), &it);
		ci->id = a->id;
		assert_ret(kdbus_cmd_conn_info(a->fd, ci), -EINVAL);
		free(ci);
		kt_items_deinit(&it);

		kt_items_init(&it);
		kt_items_add_str(&it, KDBUS_ITEM_NAME, "com.example.a")->size = 200;
		ci = kt_cmd_new(sizeof(*ci), &it);
		assert_ret(kdbus_cmd_conn_info(a->fd, ci), -EINVAL);
		free(ci);
		kt_items_deinit(&it);

		kt_items_init(&it);
		kt_items_add_u64(&it, 0, 0);
		ci = kt_cmd_new(sizeof(*ci), &it);
		ci->id = a->id;
		assert_ret(kdbus_cmd_conn_info(a->fd, ci), -EINVAL);
		free(ci);
		kt_items_deinit(&it);

		/* FREE takes no items */
		kt_items_init(&it);
		kt_items_add_u64(&it, KDBUS_ITEM_ID, 1);
		f = kt_cmd_new(sizeof(*f), &it);
		f->offset = KT_POOL_SIZE;
		assert_ret(kdbus_cmd_free(a->fd, f), -EINVAL);
		free(f);
		kt_items_deinit(&it);
	}

	/* unknown ioctl → ENOTTY */
	{
		struct kdbus_cmd c = { .size = sizeof(c) };

		errno = 0;
		assert_int_equal(kdbus_ioctl(a->fd, _IOW(KDBUS_IOCTL_MAGIC, 0x55, struct kdbus_cmd), &c),
				 -1);
		assert_int_equal(errno, ENOTTY);
		errno = 0;
		assert_int_equal(kdbus_ioctl(a->fd, _IOW('x', 0x00, struct kdbus_cmd), &c), -1);
		assert_int_equal(errno, ENOTTY);
		errno = 0;
		assert_int_equal(kdbus_ioctl(bus->control_fd,
					     _IOW(KDBUS_IOCTL_MAGIC, 0x55, struct kdbus_cmd), &c),
				 -1);
		assert_int_equal(errno, ENOTTY);
	}
	kt_conn_free(a);
}

static void test_wrong_handle(void **state)
{
	struct kt_bus *bus = *state;
	char path[4200], name[128], rnd[64];
	struct kdbus_cmd_recv rc = { .size = sizeof(rc) };
	struct kdbus_cmd_send sc = { .size = sizeof(sc) };
	struct kt_conn *a = conn(bus);
	int ctl, ep;
	void *p;

	/* §1.4.1: known ioctls on the wrong handle → EBADFD */
	snprintf(path, sizeof(path), "%s/control", kt_root());
	ctl = kdbus_open(path, O_RDWR | O_CLOEXEC);
	assert_true(ctl >= 0);
	assert_ret(kdbus_cmd_send(ctl, &sc), -EBADFD);
	assert_ret(kdbus_cmd_recv(ctl, &rc), -EBADFD);
	assert_ret(hello_raw(NULL, ctl, 0, KT_POOL_SIZE, NULL, NULL), -EBADFD);
	/* mmap on a non-connection handle → EBADFD (§6.1) */
	errno = 0;
	p = kdbus_mmap(NULL, 4096, PROT_READ, MAP_SHARED, ctl, 0);
	assert_true(p == MAP_FAILED);
	assert_ret(-errno, -EBADFD);
	/* after BUS_MAKE nothing else works on it */
	snprintf(name, sizeof(name), "%u-%s", (unsigned)geteuid(),
		 kt_random_name("wh-", rnd, sizeof(rnd)));
	assert_ret(kt_make_bus_cmd(ctl, name, 0, 64, 1, 0), 0);
	assert_ret(kt_make_bus_cmd(ctl, name, 0, 64, 1, 0), -EBADFD);
	assert_ret(hello_raw(NULL, ctl, 0, KT_POOL_SIZE, NULL, NULL), -EBADFD);
	assert_ret(kdbus_cmd_recv(ctl, &rc), -EBADFD);
	kdbus_close(ctl);

	/* an endpoint fd before HELLO */
	ep = kdbus_open(bus->path, O_RDWR | O_CLOEXEC);
	assert_true(ep >= 0);
	assert_ret(kdbus_cmd_send(ep, &sc), -EBADFD);
	assert_ret(kdbus_cmd_recv(ep, &rc), -EBADFD);
	assert_ret(kt_make_bus_cmd(ep, name, 0, 64, 1, 0), -EBADFD);
	errno = 0;
	p = kdbus_mmap(NULL, 4096, PROT_READ, MAP_SHARED, ep, 0);
	assert_true(p == MAP_FAILED);
	assert_ret(-errno, -EBADFD);
	kdbus_close(ep);

	/* a connection cannot BUS_MAKE or ENDPOINT_MAKE */
	assert_ret(kt_make_bus_cmd(a->fd, name, 0, 64, 1, 0), -EBADFD);
	{
		struct kt_items it;
		struct kdbus_cmd *cmd;

		kt_items_init(&it);
		snprintf(name, sizeof(name), "%u-ep", (unsigned)geteuid());
		kt_items_add_str(&it, KDBUS_ITEM_MAKE_NAME, name);
		cmd = kt_cmd_new(sizeof(*cmd), &it);
		assert_ret(kdbus_cmd_endpoint_make(a->fd, cmd), -EBADFD);
		free(cmd);
		kt_items_deinit(&it);
	}
	kt_conn_free(a);
}

static void test_negotiation(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	struct kdbus_cmd c = { .size = sizeof(c) };
	struct kdbus_cmd_recv rc = { .size = sizeof(rc) };
	struct kdbus_cmd_list lc = { .size = sizeof(lc) };
	struct kdbus_cmd_free fc = { .size = sizeof(fc) };
	struct kdbus_cmd_match mc = { .size = sizeof(mc) };
	struct kdbus_cmd_info ic = { .size = sizeof(ic) };
	struct kdbus_cmd_send sc = { .size = sizeof(sc) };
	struct kdbus_msg *m;

	/* §2.3 negotiated flag sets */
	rc.flags = KDBUS_FLAG_NEGOTIATE;
	assert_ret(kdbus_cmd_recv(a->fd, &rc), 0);
	assert_int_equal(rc.flags, 0x7);
	lc.flags = KDBUS_FLAG_NEGOTIATE;
	assert_ret(kdbus_cmd_list(a->fd, &lc), 0);
	assert_int_equal(lc.flags, 0xf);
	fc.flags = KDBUS_FLAG_NEGOTIATE;
	assert_ret(kdbus_cmd_free(a->fd, &fc), 0);
	assert_int_equal(fc.flags, 0);
	mc.flags = KDBUS_FLAG_NEGOTIATE;
	assert_ret(kdbus_cmd_match_add(a->fd, &mc), 0);
	assert_int_equal(mc.flags, 0x1);
	mc.flags = KDBUS_FLAG_NEGOTIATE;
	assert_ret(kdbus_cmd_match_remove(a->fd, &mc), 0);
	assert_int_equal(mc.flags, 0);
	ic.flags = KDBUS_FLAG_NEGOTIATE;
	assert_ret(kdbus_cmd_conn_info(a->fd, &ic), 0);
	assert_int_equal(ic.flags, 0);
	ic.flags = KDBUS_FLAG_NEGOTIATE;
	assert_ret(kdbus_cmd_bus_creator_info(a->fd, &ic), 0);
	assert_int_equal(ic.flags, 0);
	c.flags = KDBUS_FLAG_NEGOTIATE;
	assert_ret(kdbus_cmd_name_acquire(a->fd, &c), 0);
	assert_int_equal(c.flags, 0x7);
	c.flags = KDBUS_FLAG_NEGOTIATE;
	assert_ret(kdbus_cmd_name_release(a->fd, &c), 0);
	assert_int_equal(c.flags, 0);
	c.flags = KDBUS_FLAG_NEGOTIATE;
	assert_ret(kdbus_cmd_update(a->fd, &c), 0);
	assert_int_equal(c.flags, 0);
	sc.flags = KDBUS_FLAG_NEGOTIATE;
	assert_ret(kdbus_cmd_send(a->fd, &sc), 0);
	assert_int_equal(sc.flags, 0x1);

	/* SEND with a message: its flags are negotiated too, nothing is sent */
	m = kt_msg_new(b->id, KDBUS_FLAG_NEGOTIATE, 1);
	kt_msg_add_vec(m, &sc, 8);
	sc.flags = KDBUS_FLAG_NEGOTIATE;
	sc.msg_address = (uintptr_t)m;
	assert_ret(kdbus_cmd_send(a->fd, &sc), 0);
	assert_int_equal(sc.flags, 0x1);
	assert_int_equal(m->flags, 0x7);
	/* NEGOTIATE on the message only → EINVAL */
	m->flags = KDBUS_FLAG_NEGOTIATE;
	assert_ret(kt_send(a, m, 0, -1, NULL), -EINVAL);
	kt_msg_free(m);
	assert_ret(kt_expect_empty(b), 0);

	/* a NEGOTIATE item zeroes unsupported types, with or without the flag */
	{
		uint64_t types[3] = { KDBUS_ITEM_NAME, KDBUS_ITEM_ID, KDBUS_ITEM_CREDS };
		struct kt_items it;
		struct kdbus_cmd_info *ci;
		struct kdbus_item *neg;

		kt_items_init(&it);
		kt_items_add(&it, KDBUS_ITEM_NEGOTIATE, types, sizeof(types));
		ci = kt_cmd_new(sizeof(*ci), &it);
		ci->id = a->id;
		assert_ret(kdbus_cmd_conn_info(a->fd, ci), 0);
		neg = (struct kdbus_item *)(void *)((uint8_t *)ci + sizeof(*ci));
		assert_int_equal(neg->data64[0], KDBUS_ITEM_NAME);
		assert_int_equal(neg->data64[1], 0);
		assert_int_equal(neg->data64[2], 0);
		/* the command was executed */
		assert_true(ci->offset < a->pool_size);
		assert_ret(kt_free(a, ci->offset), 0);
		free(ci);
		kt_items_deinit(&it);
	}
	/* return_flags are zeroed on entry */
	ic.flags = 0;
	ic.id = a->id;
	ic.return_flags = 0xdead;
	assert_ret(kdbus_cmd_conn_info(a->fd, &ic), 0);
	assert_int_equal(ic.return_flags, 0);
	assert_ret(kt_free(a, ic.offset), 0);
	kt_conn_free(a);
	kt_conn_free(b);
}

static void test_poll(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *a = conn(bus), *b = conn(bus);
	struct kdbus_msg *m;
	short rev;

	/* §1.4.1: POLLOUT always, POLLIN exactly while a message is queued */
	assert_int_equal(kt_poll(b, 0, &rev), 0);
	{
		struct pollfd p = { .fd = b->fd, .events = POLLIN | POLLOUT };

		assert_int_equal(poll(&p, 1, 0), 1);
		assert_true(p.revents & POLLOUT);
		assert_false(p.revents & POLLIN);
	}
	assert_ret(kt_send_simple(a, b->id, 1, 0, 0, 0), 0);
	assert_int_equal(kt_poll(b, 2000, &rev), 1);
	m = recv1(b);
	kt_msg_release(b, m);
	assert_int_equal(kt_poll(b, 0, &rev), 0);
	kt_conn_free(a);
	kt_conn_free(b);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		KT_TEST(test_bus_make),
		KT_TEST(test_bus_make_negotiate),
		KT_TEST(test_bus_creator_info),
		KT_TEST(test_bus_creator_info_mask),
		KT_TEST(test_hello),
		KT_TEST(test_hello_negotiate),
		KT_TEST(test_byebye),
		KT_TEST(test_bus_teardown_disconnects),
		KT_TEST(test_message_basic),
		KT_TEST(test_message_errors),
		KT_TEST(test_message_order),
		KT_TEST(test_message_prio),
		KT_TEST(test_recv_peek_drop),
		KT_TEST(test_cmd_free),
		KT_TEST(test_fd_passing),
		KT_TEST(test_fd_limits),
		KT_TEST(test_memfd),
		KT_TEST(test_fd_peek_no_install),
		KT_TEST(test_unpadded_msg_size),
		KT_TEST(test_conn_info),
		KT_TEST(test_conn_info_other_process),
		KT_TEST(test_update),
		KT_TEST(test_writable_pool),
		KT_TEST(test_sync_reply),
		KT_TEST(test_sync_timeout),
		KT_TEST(test_sync_past_deadline),
		KT_TEST(test_sync_cancel),
		KT_TEST(test_sync_cancel_unused),
		KT_TEST(test_sync_interrupted),
		KT_TEST(test_sync_caller_byebye),
		KT_TEST(test_sync_reply_fd_refused),
		KT_TEST(test_sync_call_fd_refused),
		KT_TEST(test_sync_replier_dies),
		KT_TEST(test_sync_replier_dies_unread),
		KT_TEST(test_sync_replier_byebye),
		KT_TEST(test_sync_replier_drops),
		KT_TEST(test_timeout),
		KT_TEST(test_reply_async),
		KT_TEST(test_reply_dead_unread),
		KT_TEST(test_reply_dead_read),
		KT_TEST(test_message_quota),
		KT_TEST(test_message_quota_per_user),
		KT_TEST(test_pool_quota),
		KT_TEST(test_pool_exfull),
		KT_TEST(test_pending_replies_quota),
		KT_TEST(test_generic_errors),
		KT_TEST(test_wrong_handle),
		KT_TEST(test_negotiation),
		KT_TEST(test_poll),
	};

	return kt_run("conformance", tests, sizeof(tests) / sizeof(tests[0]));
}
