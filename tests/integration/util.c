/* SPDX-License-Identifier: BSD-2-Clause */
/* Conformance test harness: buses, connections, messages, processes. */
#define _GNU_SOURCE
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char kt_tmp_root[PATH_MAX];
static pid_t kt_children[64];

/* ------------------------------------------------------------------ env */

const char *kt_root(void)
{
	const char *r = getenv("KDBUS_ROOT");

	return r ? r : kdbus_root();
}

bool kt_is_root(void)
{
	return geteuid() == 0;
}

int kt_env_init(void)
{
	if (getenv("KDBUS_ROOT"))
		return 0;
	snprintf(kt_tmp_root, sizeof(kt_tmp_root), "/tmp/kdbus-test-XXXXXX");
	if (!mkdtemp(kt_tmp_root))
		return -errno;
	/* unprivileged children (uid 65534) must be able to reach the bus */
	if (chmod(kt_tmp_root, 0755) < 0)
		return -errno;
	if (setenv("KDBUS_ROOT", kt_tmp_root, 1) < 0)
		return -errno;
	return 0;
}

static int kt_rm_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

void kt_env_cleanup(void)
{
	if (!kt_tmp_root[0])
		return;
	nftw(kt_tmp_root, kt_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	kt_tmp_root[0] = 0;
}

char *kt_random_name(const char *prefix, char *buf, size_t len)
{
	unsigned char r[12];
	char s[sizeof(r) + 1];
	size_t i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		memset(r, (int)getpid(), sizeof(r));
	for (i = 0; i < sizeof(r); i++)
		s[i] = (char)('a' + r[i] % 26);
	s[sizeof(r)] = 0;
	snprintf(buf, len, "%s%s", prefix, s);
	return buf;
}

int kt_make_bus_cmd(int control_fd, const char *name, uint64_t flags, uint64_t bloom_size,
		    uint64_t n_hash, uint64_t owner_mask)
{
	struct kdbus_bloom_parameter bp = { .size = bloom_size, .n_hash = n_hash };
	struct kt_items it;
	struct kdbus_cmd *cmd;
	int r;

	kt_items_init(&it);
	kt_items_add(&it, KDBUS_ITEM_BLOOM_PARAMETER, &bp, sizeof(bp));
	kt_items_add_u64(&it, KDBUS_ITEM_ATTACH_FLAGS_SEND, owner_mask);
	if (name)
		kt_items_add_str(&it, KDBUS_ITEM_MAKE_NAME, name);
	cmd = kt_cmd_new(sizeof(*cmd), &it);
	cmd->flags = flags;
	r = kdbus_cmd_bus_make(control_fd, cmd);
	free(cmd);
	kt_items_deinit(&it);
	return r;
}

int kt_bus_make(struct kt_bus *bus, uint64_t flags, uint64_t owner_mask)
{
	char path[PATH_MAX], rnd[64];
	int r;

	memset(bus, 0, sizeof(*bus));
	snprintf(path, sizeof(path), "%s/control", kt_root());
	bus->control_fd = kdbus_open(path, O_RDWR | O_CLOEXEC);
	if (bus->control_fd < 0)
		return -errno;
	kt_random_name("test-", rnd, sizeof(rnd));
	snprintf(bus->name, sizeof(bus->name), "%u-%s", (unsigned)geteuid(), rnd);
	r = kt_make_bus_cmd(bus->control_fd, bus->name, flags, KT_BLOOM_SIZE, KT_BLOOM_N_HASH,
			    owner_mask);
	if (r < 0) {
		kdbus_close(bus->control_fd);
		bus->control_fd = -1;
		return r;
	}
	snprintf(bus->dir, sizeof(bus->dir), "%.1900s/%s", kt_root(), bus->name);
	snprintf(bus->path, sizeof(bus->path), "%s/bus", bus->dir);
	return 0;
}

void kt_bus_destroy(struct kt_bus *bus)
{
	if (bus && bus->control_fd >= 0) {
		kdbus_close(bus->control_fd);
		bus->control_fd = -1;
	}
}

static void kt_alarm(int sig)
{
	(void)sig;
	/* cmocka longjmps out of a failing test; a hung ioctl thus fails one test only */
	fail_msg("test timed out after %d s (blocked in a kdbus call?)", KT_TEST_TIMEOUT_S);
}

int kt_setup_bus(void **state)
{
	struct sigaction sa = { .sa_handler = kt_alarm, .sa_flags = SA_NODEFER };
	struct kt_bus *bus;
	int r;

	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	bus = calloc(1, sizeof(*bus));
	if (!bus)
		return -1;
	r = kt_bus_make(bus, KDBUS_MAKE_ACCESS_WORLD, _KDBUS_ATTACH_ALL);
	if (r < 0) {
		print_error("setup: cannot create a bus under %s: %s\n", kt_root(), strerror(-r));
		free(bus);
		return -1;
	}
	*state = bus;
	alarm(KT_TEST_TIMEOUT_S);
	return 0;
}

int kt_teardown_bus(void **state)
{
	struct kt_bus *bus = *state;
	size_t i;

	alarm(0);
	for (i = 0; i < sizeof(kt_children) / sizeof(kt_children[0]); i++) {
		if (kt_children[i] > 0) {
			kill(kt_children[i], SIGKILL);
			waitpid(kt_children[i], NULL, 0);
			kt_children[i] = 0;
		}
	}
	kt_bus_destroy(bus);
	free(bus);
	*state = NULL;
	return 0;
}

int kt_run(const char *group, const struct CMUnitTest *tests, size_t n)
{
	int r;

	r = kt_env_init();
	if (r < 0) {
		fprintf(stderr, "cannot set up KDBUS_ROOT: %s\n", strerror(-r));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	/* KT_FILTER=test_sync* runs a subset */
	if (getenv("KT_FILTER"))
		cmocka_set_test_filter(getenv("KT_FILTER"));
	r = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
	kt_env_cleanup();
	return r;
}

/* ---------------------------------------------------------------- items */

void kt_items_init(struct kt_items *it)
{
	memset(it, 0, sizeof(*it));
}

void kt_items_deinit(struct kt_items *it)
{
	free(it->buf);
	memset(it, 0, sizeof(*it));
}

struct kdbus_item *kt_items_add(struct kt_items *it, uint64_t type, const void *data, size_t len)
{
	size_t need = KDBUS_ALIGN8(it->size) + KDBUS_ITEM_SIZE(len);
	struct kdbus_item *item;

	if (need > it->cap) {
		size_t cap = it->cap ? it->cap : 256;
		uint8_t *p;

		while (cap < need)
			cap *= 2;
		p = realloc(it->buf, cap);
		assert_non_null(p);
		memset(p + it->cap, 0, cap - it->cap);
		it->buf = p;
		it->cap = cap;
	}
	item = (struct kdbus_item *)(void *)(it->buf + KDBUS_ALIGN8(it->size));
	memset(item, 0, KDBUS_ITEM_SIZE(len));
	item->size = KDBUS_ITEM_HEADER_SIZE + len;
	item->type = type;
	if (data && len)
		memcpy(item->data, data, len);
	it->size = need;
	return item;
}

struct kdbus_item *kt_items_add_str(struct kt_items *it, uint64_t type, const char *s)
{
	return kt_items_add(it, type, s, strlen(s) + 1);
}

struct kdbus_item *kt_items_add_u64(struct kt_items *it, uint64_t type, uint64_t v)
{
	return kt_items_add(it, type, &v, sizeof(v));
}

struct kdbus_item *kt_items_add_access(struct kt_items *it, uint64_t type, uint64_t access,
				       uint64_t id)
{
	struct kdbus_policy_access a = { .type = type, .access = access, .id = id };

	return kt_items_add(it, KDBUS_ITEM_POLICY_ACCESS, &a, sizeof(a));
}

void *kt_cmd_new(size_t fixed, const struct kt_items *it)
{
	size_t isz = it ? it->size : 0;
	uint8_t *p = calloc(1, KDBUS_ALIGN8(fixed) + isz + 8);

	assert_non_null(p);
	if (isz)
		memcpy(p + fixed, it->buf, isz);
	*(uint64_t *)(void *)p = fixed + isz;
	return p;
}

/* ---------------------------------------------------------- connections */

int kt_hello_full(struct kt_conn **out, const char *path, uint64_t flags, uint64_t attach_send,
		  uint64_t attach_recv, size_t pool_size, const struct kt_items *it)
{
	struct kdbus_cmd_hello *h;
	struct kdbus_cmd_free f = { .size = sizeof(f) };
	struct kt_conn *c;
	int fd, r;

	*out = NULL;
	fd = kdbus_open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	h = kt_cmd_new(sizeof(*h), it);
	h->flags = flags;
	h->attach_flags_send = attach_send;
	h->attach_flags_recv = attach_recv;
	h->pool_size = pool_size;
	r = kdbus_cmd_hello(fd, h);
	if (r < 0) {
		free(h);
		kdbus_close(fd);
		return r;
	}
	c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->fd = fd;
	c->id = h->id;
	c->flags = flags;
	c->bus_flags = h->bus_flags;
	c->pool_size = pool_size;
	memcpy(c->id128, h->id128, sizeof(c->id128));
	c->buf = kdbus_mmap(NULL, pool_size, PROT_READ, MAP_SHARED, fd, 0);
	if (c->buf == MAP_FAILED) {
		r = -errno;
		free(h);
		kdbus_close(fd);
		free(c);
		return r;
	}
	if (h->items_size >= KDBUS_ITEM_SIZE(sizeof(struct kdbus_bloom_parameter)) &&
	    h->offset + h->items_size <= pool_size) {
		struct kdbus_item *bi = (struct kdbus_item *)(void *)(c->buf + h->offset);

		if (bi->type == KDBUS_ITEM_BLOOM_PARAMETER)
			c->bloom = bi->bloom_parameter;
	}
	f.offset = h->offset;
	/* policy holders cannot FREE (spec 1.4.4 quirk): ignore the error there */
	kdbus_cmd_free(fd, &f);
	free(h);
	*out = c;
	return 0;
}

struct kt_conn *kt_hello(const char *path, uint64_t flags, const struct kt_items *it)
{
	struct kt_conn *c;
	int r;

	r = kt_hello_full(&c, path, flags, _KDBUS_ATTACH_ALL, _KDBUS_ATTACH_ALL, KT_POOL_SIZE, it);
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	return c;
}

struct kt_conn *kt_conn_new(const struct kt_bus *bus)
{
	struct kt_items it;
	struct kt_conn *c;

	kt_items_init(&it);
	kt_items_add_str(&it, KDBUS_ITEM_CONN_DESCRIPTION, "kt-conn");
	c = kt_hello(bus->path, KDBUS_HELLO_ACCEPT_FD, &it);
	kt_items_deinit(&it);
	return c;
}

struct kt_conn *kt_conn_free(struct kt_conn *c)
{
	if (!c)
		return NULL;
	if (c->buf && c->buf != MAP_FAILED)
		kdbus_munmap(c->buf, c->pool_size);
	if (c->fd >= 0)
		kdbus_close(c->fd);
	free(c);
	return NULL;
}

int kt_update_attach(struct kt_conn *c, uint64_t send, uint64_t recv)
{
	struct kt_items it;
	struct kdbus_cmd *cmd;
	int r;

	kt_items_init(&it);
	kt_items_add_u64(&it, KDBUS_ITEM_ATTACH_FLAGS_SEND, send);
	kt_items_add_u64(&it, KDBUS_ITEM_ATTACH_FLAGS_RECV, recv);
	cmd = kt_cmd_new(sizeof(*cmd), &it);
	r = kdbus_cmd_update(c->fd, cmd);
	free(cmd);
	kt_items_deinit(&it);
	return r;
}

int kt_byebye(struct kt_conn *c)
{
	struct kdbus_cmd cmd = { .size = sizeof(cmd) };

	return kdbus_cmd_byebye(c->fd, &cmd);
}

static void kt_add_policy(struct kt_items *it, const char *name,
			  const struct kdbus_policy_access *acc, size_t n_acc)
{
	size_t i;

	kt_items_add_str(it, KDBUS_ITEM_NAME, name);
	for (i = 0; i < n_acc; i++)
		kt_items_add(it, KDBUS_ITEM_POLICY_ACCESS, &acc[i], sizeof(acc[i]));
}

int kt_hello_policy(struct kt_conn **out, const char *path, uint64_t flags, const char *name,
		    const struct kdbus_policy_access *acc, size_t n_acc)
{
	struct kt_items it;
	int r;

	kt_items_init(&it);
	kt_add_policy(&it, name, acc, n_acc);
	r = kt_hello_full(out, path, flags, _KDBUS_ATTACH_ALL, _KDBUS_ATTACH_ALL, KT_POOL_SIZE,
			  &it);
	kt_items_deinit(&it);
	return r;
}

int kt_update_policy(struct kt_conn *c, const char *name, const struct kdbus_policy_access *acc,
		     size_t n_acc)
{
	struct kt_items it;
	struct kdbus_cmd *cmd;
	int r;

	kt_items_init(&it);
	kt_add_policy(&it, name, acc, n_acc);
	cmd = kt_cmd_new(sizeof(*cmd), &it);
	r = kdbus_cmd_update(c->fd, cmd);
	free(cmd);
	kt_items_deinit(&it);
	return r;
}

/* ------------------------------------------------------------- messages */

struct kdbus_msg *kt_msg_new(uint64_t dst_id, uint64_t flags, uint64_t cookie)
{
	struct kdbus_msg *m = aligned_alloc(8, KT_MSG_CAP);

	assert_non_null(m);
	memset(m, 0, KT_MSG_CAP);
	m->size = sizeof(*m);
	m->flags = flags;
	m->dst_id = dst_id;
	m->payload_type = KDBUS_PAYLOAD_DBUS;
	m->cookie = cookie;
	return m;
}

void kt_msg_free(struct kdbus_msg *m)
{
	free(m);
}

struct kdbus_item *kt_msg_append(struct kdbus_msg *m, uint64_t type, const void *data, size_t len)
{
	size_t off = KDBUS_ALIGN8(m->size);
	struct kdbus_item *item;

	assert_true(off + KDBUS_ITEM_SIZE(len) <= KT_MSG_CAP);
	item = (struct kdbus_item *)(void *)((uint8_t *)m + off);
	memset(item, 0, KDBUS_ITEM_SIZE(len));
	item->size = KDBUS_ITEM_HEADER_SIZE + len;
	item->type = type;
	if (data && len)
		memcpy(item->data, data, len);
	m->size = off + KDBUS_ITEM_SIZE(len);
	return item;
}

struct kdbus_item *kt_msg_add_vec(struct kdbus_msg *m, const void *p, size_t len)
{
	struct kdbus_vec v = { .size = len, .address = (uintptr_t)p };

	return kt_msg_append(m, KDBUS_ITEM_PAYLOAD_VEC, &v, sizeof(v));
}

struct kdbus_item *kt_msg_add_memfd(struct kdbus_msg *m, int fd, uint64_t start, uint64_t size)
{
	struct kdbus_memfd mf = { .start = start, .size = size, .fd = fd };

	return kt_msg_append(m, KDBUS_ITEM_PAYLOAD_MEMFD, &mf, sizeof(mf));
}

struct kdbus_item *kt_msg_add_fds(struct kdbus_msg *m, const int *fds, size_t n)
{
	return kt_msg_append(m, KDBUS_ITEM_FDS, fds, n * sizeof(int));
}

struct kdbus_item *kt_msg_add_bloom(struct kdbus_msg *m, uint64_t generation, const void *data,
				    size_t size)
{
	struct kdbus_item *item = kt_msg_append(m, KDBUS_ITEM_BLOOM_FILTER, NULL,
						sizeof(struct kdbus_bloom_filter) + size);

	item->bloom_filter.generation = generation;
	if (data)
		memcpy(item->bloom_filter.data, data, size);
	return item;
}

struct kdbus_item *kt_msg_add_dst_name(struct kdbus_msg *m, const char *name)
{
	return kt_msg_append(m, KDBUS_ITEM_DST_NAME, name, strlen(name) + 1);
}

int kt_send(struct kt_conn *c, struct kdbus_msg *m, uint64_t send_flags, int cancel_fd,
	    struct kdbus_msg_info *reply)
{
	struct {
		struct kdbus_cmd_send cmd;
		uint64_t item[sizeof(struct kdbus_item) / 8]; /* room for the whole union */
	} s;
	int r;

	memset(&s, 0, sizeof(s));
	s.cmd.size = sizeof(s.cmd);
	s.cmd.flags = send_flags;
	s.cmd.msg_address = (uintptr_t)m;
	if (cancel_fd >= 0) {
		/* through the trailing words: the zero-length items[] upsets -Warray-bounds */
		struct kdbus_item *it = (struct kdbus_item *)(void *)s.item;

		it->size = KDBUS_ITEM_HEADER_SIZE + sizeof(int);
		it->type = KDBUS_ITEM_CANCEL_FD;
		memcpy(it->data, &cancel_fd, sizeof(int));
		s.cmd.size += KDBUS_ITEM_SIZE(sizeof(int));
	}
	r = kdbus_cmd_send(c->fd, &s.cmd);
	if (reply)
		*reply = s.cmd.reply;
	return r;
}

int kt_send_simple(struct kt_conn *c, uint64_t dst_id, uint64_t cookie, uint64_t flags,
		   int64_t priority, uint64_t timeout_or_reply)
{
	struct kdbus_msg *m = kt_msg_new(dst_id, flags, cookie);
	uint64_t payload = cookie;
	int r;

	m->priority = priority;
	m->timeout_ns = timeout_or_reply;
	kt_msg_add_vec(m, &payload, sizeof(payload));
	r = kt_send(c, m, 0, -1, NULL);
	kt_msg_free(m);
	return r;
}

int kt_send_call(struct kt_conn *c, uint64_t dst_id, uint64_t cookie, uint64_t timeout_ns)
{
	return kt_send_simple(c, dst_id, cookie, KDBUS_MSG_EXPECT_REPLY, 0,
			      kt_now(CLOCK_MONOTONIC) + timeout_ns);
}

int kt_send_sync(struct kt_conn *c, uint64_t dst_id, uint64_t cookie, uint64_t timeout_ns,
		 int cancel_fd, struct kdbus_msg **reply)
{
	struct kdbus_msg *m = kt_msg_new(dst_id, KDBUS_MSG_EXPECT_REPLY, cookie);
	struct kdbus_msg_info info = { 0 };
	uint64_t payload = cookie;
	int r;

	m->timeout_ns = kt_now(CLOCK_MONOTONIC) + timeout_ns;
	kt_msg_add_vec(m, &payload, sizeof(payload));
	r = kt_send(c, m, KDBUS_SEND_SYNC_REPLY, cancel_fd, &info);
	kt_msg_free(m);
	if (reply)
		*reply = r < 0 ? NULL : (struct kdbus_msg *)(void *)(c->buf + info.offset);
	return r;
}

int kt_send_reply(struct kt_conn *c, uint64_t dst_id, uint64_t cookie, uint64_t cookie_reply)
{
	return kt_send_simple(c, dst_id, cookie, 0, 0, cookie_reply);
}

int kt_send_signal(struct kt_conn *c, uint64_t dst_id, uint64_t cookie, uint64_t generation,
		   const void *bloom)
{
	struct kdbus_msg *m = kt_msg_new(dst_id, KDBUS_MSG_SIGNAL, cookie);
	uint64_t payload = cookie;
	size_t bsz = c->bloom.size ? c->bloom.size : KT_BLOOM_SIZE;
	int r;

	kt_msg_add_bloom(m, generation, bloom, bsz);
	kt_msg_add_vec(m, &payload, sizeof(payload));
	r = kt_send(c, m, 0, -1, NULL);
	kt_msg_free(m);
	return r;
}

int kt_recv(struct kt_conn *c, uint64_t flags, int64_t priority, struct kdbus_msg **msg,
	    struct kdbus_cmd_recv *out)
{
	struct kdbus_cmd_recv cmd = { .size = sizeof(cmd), .flags = flags, .priority = priority };
	int r;

	r = kdbus_cmd_recv(c->fd, &cmd);
	if (out)
		*out = cmd;
	if (msg)
		*msg = r < 0 ? NULL : (struct kdbus_msg *)(void *)(c->buf + cmd.msg.offset);
	/* DROP publishes nothing */
	if (r == 0 && !(flags & KDBUS_RECV_DROP) &&
	    (cmd.msg.offset >= c->pool_size || cmd.msg.msg_size < sizeof(struct kdbus_msg)))
		return -EBADMSG;
	return r;
}

int kt_poll(struct kt_conn *c, int timeout_ms, short *revents)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (revents)
		*revents = r ? p.revents : 0;
	return r > 0 && (p.revents & POLLIN);
}

int kt_recv_poll(struct kt_conn *c, int timeout_ms, struct kdbus_msg **msg)
{
	uint64_t end = kt_now(CLOCK_MONOTONIC) + (uint64_t)timeout_ms * 1000000ULL;

	for (;;) {
		uint64_t now = kt_now(CLOCK_MONOTONIC);
		int r;

		if (now >= end)
			return -ETIMEDOUT;
		r = kt_poll(c, (int)((end - now) / 1000000ULL) + 1, NULL);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		r = kt_recv(c, 0, 0, msg, NULL);
		if (r != -EAGAIN)
			return r;
	}
}

int kt_free(struct kt_conn *c, uint64_t offset)
{
	struct kdbus_cmd_free f = { .size = sizeof(f), .offset = offset };

	return kdbus_cmd_free(c->fd, &f);
}

uint64_t kt_off(const struct kt_conn *c, const void *p)
{
	return (uint64_t)((const uint8_t *)p - c->buf);
}

void kt_msg_release(struct kt_conn *c, struct kdbus_msg *msg)
{
	struct kdbus_item *item;
	size_t end;

	if (!msg)
		return;
	end = msg->size;
	for (item = msg->items; (uint8_t *)item + KDBUS_ITEM_HEADER_SIZE <= (uint8_t *)msg + end &&
				item->size >= KDBUS_ITEM_HEADER_SIZE;
	     item = KDBUS_ITEM_NEXT(item)) {
		if (item->type == KDBUS_ITEM_FDS) {
			size_t i, n = (item->size - KDBUS_ITEM_HEADER_SIZE) / sizeof(int);

			for (i = 0; i < n; i++)
				if (item->fds[i] >= 0)
					close(item->fds[i]);
		} else if (item->type == KDBUS_ITEM_PAYLOAD_MEMFD && item->memfd.fd >= 0) {
			close(item->memfd.fd);
		}
	}
	kt_free(c, kt_off(c, msg));
}

int kt_expect_empty(struct kt_conn *c)
{
	struct kdbus_msg *m;
	int r = kt_recv(c, 0, 0, &m, NULL);

	if (r == -EAGAIN)
		return 0;
	if (r == 0) {
		fprintf(stderr, "expected an empty queue, got:\n");
		kt_msg_dump(c, m);
		kt_msg_release(c, m);
		return -EEXIST;
	}
	return r;
}

/* --------------------------------------------------------------- lookup */

struct kdbus_item *kt_find_item(struct kdbus_item *first, size_t bytes, uint64_t type,
				unsigned int nth)
{
	uint8_t *end = (uint8_t *)first + bytes;
	struct kdbus_item *item;

	for (item = first; (uint8_t *)item + KDBUS_ITEM_HEADER_SIZE <= end &&
			   item->size >= KDBUS_ITEM_HEADER_SIZE && (uint8_t *)item + item->size <= end;
	     item = KDBUS_ITEM_NEXT(item))
		if (item->type == type && nth-- == 0)
			return item;
	return NULL;
}

unsigned int kt_count_items(struct kdbus_item *first, size_t bytes, uint64_t type)
{
	unsigned int n = 0;

	while (kt_find_item(first, bytes, type, n))
		n++;
	return n;
}

struct kdbus_item *kt_msg_item(struct kdbus_msg *m, uint64_t type)
{
	return kt_find_item(m->items, m->size - sizeof(*m), type, 0);
}

unsigned int kt_msg_count(struct kdbus_msg *m, uint64_t type)
{
	return kt_count_items(m->items, m->size - sizeof(*m), type);
}

struct kdbus_item *kt_info_item(struct kdbus_info *info, uint64_t type)
{
	return kt_find_item(info->items, info->size - sizeof(*info), type, 0);
}

unsigned int kt_info_count(struct kdbus_info *info, uint64_t type)
{
	return kt_count_items(info->items, info->size - sizeof(*info), type);
}

ssize_t kt_msg_payload(const struct kt_conn *c, struct kdbus_msg *m, void *buf, size_t cap)
{
	uint8_t *end = (uint8_t *)m + m->size;
	struct kdbus_item *item;
	size_t n = 0;

	(void)c;
	for (item = m->items; (uint8_t *)item + KDBUS_ITEM_HEADER_SIZE <= end &&
			      item->size >= KDBUS_ITEM_HEADER_SIZE;
	     item = KDBUS_ITEM_NEXT(item)) {
		if (item->type == KDBUS_ITEM_PAYLOAD_OFF) {
			if (n + item->vec.size > cap)
				return -ENOBUFS;
			if (item->vec.offset == ~0ULL)
				memset((uint8_t *)buf + n, 0, item->vec.size);
			else
				memcpy((uint8_t *)buf + n, (uint8_t *)m + item->vec.offset,
				       item->vec.size);
			n += item->vec.size;
		} else if (item->type == KDBUS_ITEM_PAYLOAD_MEMFD) {
			ssize_t l;

			if (n + item->memfd.size > cap)
				return -ENOBUFS;
			l = pread(item->memfd.fd, (uint8_t *)buf + n, item->memfd.size,
				  (off_t)item->memfd.start);
			if (l != (ssize_t)item->memfd.size)
				return l < 0 ? -errno : -EIO;
			n += item->memfd.size;
		}
	}
	return (ssize_t)n;
}

int kt_msg_check(const struct kt_conn *c, const struct kdbus_msg *m, uint64_t slice_size)
{
	const uint8_t *base = (const uint8_t *)m;
	const struct kdbus_item *item;
	uint64_t pos = sizeof(*m), last_end = sizeof(*m);

	if (m->size < sizeof(*m) || m->size > slice_size)
		return -EBADMSG;
	if (kt_off(c, m) + slice_size > c->pool_size)
		return -EBADMSG;
	while (KDBUS_ALIGN8(pos) + KDBUS_ITEM_HEADER_SIZE <= m->size) {
		pos = KDBUS_ALIGN8(pos);
		item = (const struct kdbus_item *)(const void *)(base + pos);
		if (item->size < KDBUS_ITEM_HEADER_SIZE || pos + item->size > m->size)
			return -EBADMSG;
		if (item->type == KDBUS_ITEM_PAYLOAD_OFF && item->vec.offset != ~0ULL &&
		    (item->vec.offset < KDBUS_ALIGN8(m->size) ||
		     item->vec.offset + item->vec.size > slice_size))
			return -EBADMSG;
		pos += item->size;
		last_end = pos;
	}
	/* the header size may leave out the last item's padding, nothing more */
	if (m->size - last_end >= 8)
		return -EBADMSG;
	return 0;
}

const char *kt_item_name(uint64_t type)
{
	switch (type) {
#define N(x) \
	case x:  \
		return #x
		N(KDBUS_ITEM_NEGOTIATE);
		N(KDBUS_ITEM_PAYLOAD_VEC);
		N(KDBUS_ITEM_PAYLOAD_OFF);
		N(KDBUS_ITEM_PAYLOAD_MEMFD);
		N(KDBUS_ITEM_FDS);
		N(KDBUS_ITEM_CANCEL_FD);
		N(KDBUS_ITEM_BLOOM_PARAMETER);
		N(KDBUS_ITEM_BLOOM_FILTER);
		N(KDBUS_ITEM_BLOOM_MASK);
		N(KDBUS_ITEM_DST_NAME);
		N(KDBUS_ITEM_MAKE_NAME);
		N(KDBUS_ITEM_ATTACH_FLAGS_SEND);
		N(KDBUS_ITEM_ATTACH_FLAGS_RECV);
		N(KDBUS_ITEM_ID);
		N(KDBUS_ITEM_NAME);
		N(KDBUS_ITEM_DST_ID);
		N(KDBUS_ITEM_TIMESTAMP);
		N(KDBUS_ITEM_CREDS);
		N(KDBUS_ITEM_PIDS);
		N(KDBUS_ITEM_AUXGROUPS);
		N(KDBUS_ITEM_OWNED_NAME);
		N(KDBUS_ITEM_TID_COMM);
		N(KDBUS_ITEM_PID_COMM);
		N(KDBUS_ITEM_EXE);
		N(KDBUS_ITEM_CMDLINE);
		N(KDBUS_ITEM_CGROUP);
		N(KDBUS_ITEM_CAPS);
		N(KDBUS_ITEM_SECLABEL);
		N(KDBUS_ITEM_AUDIT);
		N(KDBUS_ITEM_CONN_DESCRIPTION);
		N(KDBUS_ITEM_POLICY_ACCESS);
		N(KDBUS_ITEM_NAME_ADD);
		N(KDBUS_ITEM_NAME_REMOVE);
		N(KDBUS_ITEM_NAME_CHANGE);
		N(KDBUS_ITEM_ID_ADD);
		N(KDBUS_ITEM_ID_REMOVE);
		N(KDBUS_ITEM_REPLY_TIMEOUT);
		N(KDBUS_ITEM_REPLY_DEAD);
#undef N
	default:
		return "UNKNOWN";
	}
}

void kt_msg_dump(const struct kt_conn *c, const struct kdbus_msg *m)
{
	const uint8_t *end;
	const struct kdbus_item *item;

	if (!m) {
		fprintf(stderr, "  (no message)\n");
		return;
	}
	fprintf(stderr,
		"  msg @%" PRIu64 ": size %llu flags 0x%llx prio %lld dst %llu src %llu "
		"payload_type 0x%llx cookie %llu timeout/reply %llu\n",
		c ? kt_off(c, m) : 0, (unsigned long long)m->size, (unsigned long long)m->flags,
		(long long)m->priority, (unsigned long long)m->dst_id,
		(unsigned long long)m->src_id, (unsigned long long)m->payload_type,
		(unsigned long long)m->cookie, (unsigned long long)m->timeout_ns);
	if (m->size > KT_MSG_CAP * 8)
		return;
	end = (const uint8_t *)m + m->size;
	for (item = m->items; (const uint8_t *)item + KDBUS_ITEM_HEADER_SIZE <= end &&
			      item->size >= KDBUS_ITEM_HEADER_SIZE;
	     item = KDBUS_ITEM_NEXT(item)) {
		fprintf(stderr, "    item %s (0x%llx) size %llu", kt_item_name(item->type),
			(unsigned long long)item->type, (unsigned long long)item->size);
		switch (item->type) {
		case KDBUS_ITEM_PAYLOAD_OFF:
		case KDBUS_ITEM_PAYLOAD_VEC:
			fprintf(stderr, " vec.size %llu offset 0x%llx",
				(unsigned long long)item->vec.size,
				(unsigned long long)item->vec.offset);
			break;
		case KDBUS_ITEM_PAYLOAD_MEMFD:
			fprintf(stderr, " fd %d start %llu size %llu", item->memfd.fd,
				(unsigned long long)item->memfd.start,
				(unsigned long long)item->memfd.size);
			break;
		case KDBUS_ITEM_FDS: {
			size_t i, n = (item->size - KDBUS_ITEM_HEADER_SIZE) / sizeof(int);

			fprintf(stderr, " fds");
			for (i = 0; i < n; i++)
				fprintf(stderr, " %d", item->fds[i]);
			break;
		}
		case KDBUS_ITEM_DST_NAME:
		case KDBUS_ITEM_NAME:
		case KDBUS_ITEM_TID_COMM:
		case KDBUS_ITEM_PID_COMM:
		case KDBUS_ITEM_EXE:
		case KDBUS_ITEM_CMDLINE:
		case KDBUS_ITEM_CGROUP:
		case KDBUS_ITEM_SECLABEL:
		case KDBUS_ITEM_CONN_DESCRIPTION:
		case KDBUS_ITEM_MAKE_NAME:
			if (item->size > KDBUS_ITEM_HEADER_SIZE)
				fprintf(stderr, " '%.*s'",
					(int)(item->size - KDBUS_ITEM_HEADER_SIZE), item->str);
			break;
		case KDBUS_ITEM_OWNED_NAME:
			fprintf(stderr, " flags 0x%llx '%s'", (unsigned long long)item->name.flags,
				item->name.name);
			break;
		case KDBUS_ITEM_CREDS:
			fprintf(stderr, " uid %llu euid %llu gid %llu",
				(unsigned long long)item->creds.uid,
				(unsigned long long)item->creds.euid,
				(unsigned long long)item->creds.gid);
			break;
		case KDBUS_ITEM_PIDS:
			fprintf(stderr, " pid %llu tid %llu ppid %llu",
				(unsigned long long)item->pids.pid,
				(unsigned long long)item->pids.tid,
				(unsigned long long)item->pids.ppid);
			break;
		case KDBUS_ITEM_TIMESTAMP:
			fprintf(stderr, " seq %llu mono %llu",
				(unsigned long long)item->timestamp.seqnum,
				(unsigned long long)item->timestamp.monotonic_ns);
			break;
		case KDBUS_ITEM_ID_ADD:
		case KDBUS_ITEM_ID_REMOVE:
			fprintf(stderr, " id %llu flags 0x%llx",
				(unsigned long long)item->id_change.id,
				(unsigned long long)item->id_change.flags);
			break;
		case KDBUS_ITEM_NAME_ADD:
		case KDBUS_ITEM_NAME_REMOVE:
		case KDBUS_ITEM_NAME_CHANGE:
			fprintf(stderr, " old %llu/0x%llx new %llu/0x%llx '%s'",
				(unsigned long long)item->name_change.old_id.id,
				(unsigned long long)item->name_change.old_id.flags,
				(unsigned long long)item->name_change.new_id.id,
				(unsigned long long)item->name_change.new_id.flags,
				item->size > 48 ? item->name_change.name : "");
			break;
		case KDBUS_ITEM_BLOOM_FILTER:
			fprintf(stderr, " generation %llu",
				(unsigned long long)item->bloom_filter.generation);
			break;
		default:
			break;
		}
		fprintf(stderr, "\n");
	}
}

/* ------------------------------------------------- info, names, matches */

int kt_conn_info(struct kt_conn *c, uint64_t id, const char *name, uint64_t attach,
		 struct kdbus_info **info)
{
	struct kt_items it;
	struct kdbus_cmd_info *cmd;
	int r;

	kt_items_init(&it);
	if (name)
		kt_items_add_str(&it, KDBUS_ITEM_NAME, name);
	cmd = kt_cmd_new(sizeof(*cmd), &it);
	cmd->id = id;
	cmd->attach_flags = attach;
	r = kdbus_cmd_conn_info(c->fd, cmd);
	if (info)
		*info = r < 0 ? NULL : (struct kdbus_info *)(void *)(c->buf + cmd->offset);
	if (r == 0 && (cmd->offset >= c->pool_size ||
		       ((struct kdbus_info *)(void *)(c->buf + cmd->offset))->size != cmd->info_size))
		r = -EBADMSG;
	free(cmd);
	kt_items_deinit(&it);
	return r;
}

int kt_bus_creator_info(struct kt_conn *c, uint64_t attach, struct kdbus_info **info)
{
	struct kdbus_cmd_info cmd = { .size = sizeof(cmd), .attach_flags = attach };
	int r;

	r = kdbus_cmd_bus_creator_info(c->fd, &cmd);
	if (info)
		*info = r < 0 ? NULL : (struct kdbus_info *)(void *)(c->buf + cmd.offset);
	if (r == 0 && (cmd.offset >= c->pool_size ||
		       ((struct kdbus_info *)(void *)(c->buf + cmd.offset))->size != cmd.info_size))
		r = -EBADMSG;
	return r;
}

int kt_list(struct kt_conn *c, uint64_t flags, struct kdbus_info **first, uint64_t *size)
{
	struct kdbus_cmd_list cmd = { .size = sizeof(cmd), .flags = flags };
	int r;

	r = kdbus_cmd_list(c->fd, &cmd);
	if (r < 0)
		return r;
	*first = (struct kdbus_info *)(void *)(c->buf + cmd.offset);
	*size = cmd.list_size;
	return 0;
}

int64_t kt_list_find(struct kdbus_info *first, uint64_t size, uint64_t id, const char *name)
{
	uint8_t *p = (uint8_t *)first, *end = p + size;

	while (p + sizeof(struct kdbus_info) <= end) {
		struct kdbus_info *info = (struct kdbus_info *)(void *)p;
		struct kdbus_item *item;
		unsigned int i = 0;

		if (info->size < sizeof(*info))
			break;
		while ((item = kt_find_item(info->items, info->size - sizeof(*info),
					    KDBUS_ITEM_OWNED_NAME, i++)))
			if ((id == 0 || info->id == id) && !strcmp(item->name.name, name))
				return (int64_t)item->name.flags;
		p += KDBUS_ALIGN8(info->size);
	}
	return -ENOENT;
}

int64_t kt_name_flags(struct kt_conn *c, uint64_t id, const char *name)
{
	struct kdbus_info *first;
	uint64_t size;
	int64_t r;

	r = kt_list(c, KDBUS_LIST_NAMES | KDBUS_LIST_QUEUED | KDBUS_LIST_ACTIVATORS, &first, &size);
	if (r < 0)
		return r;
	r = kt_list_find(first, size, id, name);
	kt_free(c, kt_off(c, first));
	return r;
}

int kt_name_acquire(struct kt_conn *c, const char *name, uint64_t flags, uint64_t *ret_flags)
{
	struct kt_items it;
	struct kdbus_cmd *cmd;
	int r;

	kt_items_init(&it);
	kt_items_add_str(&it, KDBUS_ITEM_NAME, name);
	cmd = kt_cmd_new(sizeof(*cmd), &it);
	cmd->flags = flags;
	r = kdbus_cmd_name_acquire(c->fd, cmd);
	if (ret_flags)
		*ret_flags = cmd->return_flags;
	free(cmd);
	kt_items_deinit(&it);
	return r;
}

int kt_name_release(struct kt_conn *c, const char *name)
{
	struct kt_items it;
	struct kdbus_cmd *cmd;
	int r;

	kt_items_init(&it);
	kt_items_add_str(&it, KDBUS_ITEM_NAME, name);
	cmd = kt_cmd_new(sizeof(*cmd), &it);
	r = kdbus_cmd_name_release(c->fd, cmd);
	free(cmd);
	kt_items_deinit(&it);
	return r;
}

int kt_match_add(struct kt_conn *c, uint64_t cookie, uint64_t flags, const struct kt_items *it)
{
	struct kdbus_cmd_match *cmd = kt_cmd_new(sizeof(*cmd), it);
	int r;

	cmd->cookie = cookie;
	cmd->flags = flags;
	r = kdbus_cmd_match_add(c->fd, cmd);
	free(cmd);
	return r;
}

int kt_match_remove(struct kt_conn *c, uint64_t cookie)
{
	struct kdbus_cmd_match cmd = { .size = sizeof(cmd), .cookie = cookie };

	return kdbus_cmd_match_remove(c->fd, &cmd);
}

int kt_match_id(struct kt_conn *c, uint64_t cookie, uint64_t type, uint64_t id)
{
	struct kdbus_notify_id_change ic = { .id = id };
	struct kt_items it;
	int r;

	kt_items_init(&it);
	kt_items_add(&it, type, &ic, sizeof(ic));
	r = kt_match_add(c, cookie, 0, &it);
	kt_items_deinit(&it);
	return r;
}

int kt_match_name(struct kt_conn *c, uint64_t cookie, uint64_t type, uint64_t old_id,
		  uint64_t new_id, const char *name)
{
	size_t nl = name ? strlen(name) + 1 : 0;
	struct kdbus_notify_name_change *nc;
	struct kt_items it;
	struct kdbus_item *item;
	int r;

	kt_items_init(&it);
	item = kt_items_add(&it, type, NULL, sizeof(*nc) + nl);
	nc = &item->name_change;
	nc->old_id.id = old_id;
	nc->new_id.id = new_id;
	if (name)
		memcpy(nc->name, name, nl);
	r = kt_match_add(c, cookie, 0, &it);
	kt_items_deinit(&it);
	return r;
}

int kt_match_any_signal(struct kt_conn *c)
{
	struct kt_items it;
	int r;

	kt_items_init(&it);
	kt_items_add_u64(&it, KDBUS_ITEM_ID, KDBUS_MATCH_ID_ANY);
	r = kt_match_add(c, 0xa11a11, 0, &it);
	kt_items_deinit(&it);
	return r;
}

int kt_match_bloom(struct kt_conn *c, uint64_t cookie, const void *masks, size_t size)
{
	struct kt_items it;
	int r;

	kt_items_init(&it);
	kt_items_add(&it, KDBUS_ITEM_BLOOM_MASK, masks, size);
	r = kt_match_add(c, cookie, 0, &it);
	kt_items_deinit(&it);
	return r;
}

/* ----------------------------------------------------------------- misc */

const char *kt_strerr(long long r)
{
	static const struct {
		int e;
		const char *n;
	} names[] = {
#define E(x) { x, #x }
		E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO), E(E2BIG), E(EBADF),
		E(EAGAIN), E(ENOMEM), E(EACCES), E(EFAULT), E(EBUSY), E(EEXIST), E(EINVAL),
		E(EMFILE), E(ENOTTY), E(ETXTBSY), E(EPIPE), E(EDOM), E(ENAMETOOLONG), E(ENOSYS),
		E(EBADSLT), E(EBADFD), E(EBADMSG), E(EMLINK), E(ENOTUNIQ), E(EDESTADDRREQ),
		E(EMSGSIZE), E(EOPNOTSUPP), E(EADDRINUSE), E(EADDRNOTAVAIL), E(ECONNRESET),
		E(ENOBUFS), E(ESHUTDOWN), E(ETIMEDOUT), E(ECANCELED), E(EMEDIUMTYPE), E(EREMCHG),
		E(ECOMM), E(EREMOTEIO), E(EXFULL), E(EPROTO), E(ENOTCONN), E(ECONNREFUSED),
#undef E
	};
	size_t i;

	if (r == 0)
		return "success";
	if (r > 0)
		return "positive";
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == -r)
			return names[i].n;
	return "unknown errno";
}

int kt_memfd_new(const void *data, size_t size, bool seal)
{
	int fd = memfd_create("kt-memfd", MFD_ALLOW_SEALING | MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (size && (data ? write(fd, data, size) != (ssize_t)size : ftruncate(fd, (off_t)size) < 0)) {
		close(fd);
		return -EIO;
	}
	if (seal && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

uint64_t kt_now(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int kt_count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

int kt_drop_privileges(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return -errno;
	/* keep /proc/self readable by the bus after the credential change */
	prctl(PR_SET_DUMPABLE, 1);
	return 0;
}

int kt_read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return (int)n;
}

/* ------------------------------------------------------------ processes */

void kt_close_other_fds(int keep1, int keep2)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int fds[1024];
	size_t n = 0, i;

	if (!d)
		return;
	while ((de = readdir(d)) && n < sizeof(fds) / sizeof(fds[0])) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] != '.' && fd > 2 && fd != keep1 && fd != keep2 && fd != dirfd(d))
			fds[n++] = fd;
	}
	closedir(d);
	for (i = 0; i < n; i++)
		close(fds[i]);
}

int kt_proc_start(struct kt_proc *p, int (*fn)(struct kt_proc *self, void *arg), void *arg)
{
	int p2c[2], c2p[2];
	size_t i;
	pid_t pid;

	if (pipe2(p2c, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(c2p, O_CLOEXEC) < 0) {
		close(p2c[0]);
		close(p2c[1]);
		return -errno;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct kt_proc self = { .pid = 0, .rd = p2c[0], .wr = c2p[1] };
		int status;

		close(p2c[1]);
		close(c2p[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* cmocka's handlers would longjmp into a copy of the test runner */
		signal(SIGALRM, SIG_DFL);
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		signal(SIGILL, SIG_DFL);
		signal(SIGFPE, SIG_DFL);
		signal(SIGSYS, SIG_DFL);
		for (i = 0; i < sizeof(kt_children) / sizeof(kt_children[0]); i++)
			kt_children[i] = 0;
		alarm(KT_TEST_TIMEOUT_S);
		status = fn(&self, arg);
		fflush(stderr);
		_exit(status);
	}
	close(p2c[0]);
	close(c2p[1]);
	p->pid = pid;
	p->rd = c2p[0];
	p->wr = p2c[1];
	for (i = 0; i < sizeof(kt_children) / sizeof(kt_children[0]); i++) {
		if (kt_children[i] <= 0) {
			kt_children[i] = pid;
			break;
		}
	}
	return 0;
}

int kt_proc_put(struct kt_proc *p, uint64_t v)
{
	return write(p->wr, &v, sizeof(v)) == (ssize_t)sizeof(v) ? 0 : -EPIPE;
}

int kt_proc_get(struct kt_proc *p, uint64_t *v, int timeout_ms)
{
	struct pollfd pfd = { .fd = p->rd, .events = POLLIN };
	ssize_t n;
	int r;

	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	n = read(p->rd, v, sizeof(*v));
	return n == (ssize_t)sizeof(*v) ? 0 : -EPIPE;
}

static void kt_proc_forget(pid_t pid)
{
	size_t i;

	for (i = 0; i < sizeof(kt_children) / sizeof(kt_children[0]); i++)
		if (kt_children[i] == pid)
			kt_children[i] = 0;
}

int kt_proc_wait(struct kt_proc *p)
{
	int status;
	pid_t r;

	if (p->wr >= 0)
		close(p->wr);
	p->wr = -1;
	do
		r = waitpid(p->pid, &status, 0);
	while (r < 0 && errno == EINTR);
	if (p->rd >= 0)
		close(p->rd);
	p->rd = -1;
	kt_proc_forget(p->pid);
	if (r < 0)
		return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

void kt_proc_kill(struct kt_proc *p)
{
	if (p->pid > 0)
		kill(p->pid, SIGKILL);
	kt_proc_wait(p);
}

/* --------------------------------------------------------------- remote */

struct kt_remote_req {
	uint32_t op;
	uint32_t conn;
	uint64_t arg;
	uint32_t len;
	uint32_t pad;
};

struct kt_remote_child {
	const char *path;
	uid_t uid;
	gid_t gid;
};

struct kt_remote_state {
	struct kt_conn *c[8];
	uint64_t last[6];
};

static int64_t kt_remote_hello(struct kt_remote_state *st, const char *path, uint64_t flags,
			       const char *name)
{
	struct kt_items it;
	struct kt_conn *c;
	unsigned int i;
	int r;

	for (i = 0; i < 8 && st->c[i]; i++)
		;
	if (i == 8)
		return -ENOSPC;
	kt_items_init(&it);
	if (name && name[0])
		kt_items_add_str(&it, KDBUS_ITEM_NAME, name);
	r = kt_hello_full(&c, path, flags, _KDBUS_ATTACH_ALL, _KDBUS_ATTACH_ALL, KT_POOL_SIZE, &it);
	kt_items_deinit(&it);
	if (r < 0)
		return r;
	st->c[i] = c;
	return i;
}

static int64_t kt_remote_do(struct kt_remote_state *st, const char *path,
			    const struct kt_remote_req *q, const char *str)
{
	struct kt_conn *c = q->conn < 8 ? st->c[q->conn] : NULL;
	struct kdbus_cmd_recv rc;
	struct kdbus_msg *m;
	int64_t r;

	switch (q->op) {
	case KT_OP_HELLO:
		return kt_remote_hello(st, path, q->arg, str);
	case KT_OP_HELLO_PATH:
		return kt_remote_hello(st, str, q->arg, NULL);
	case KT_OP_OPEN: {
		int fd = kdbus_open(str, O_RDWR | O_CLOEXEC);

		if (fd < 0)
			return -errno;
		kdbus_close(fd);
		return 0;
	}
	case KT_OP_ENDPOINT_MAKE: {
		struct kt_items it;
		struct kdbus_cmd *cmd;
		int fd = kdbus_open(path, O_RDWR | O_CLOEXEC);

		if (fd < 0)
			return -errno;
		kt_items_init(&it);
		kt_items_add_str(&it, KDBUS_ITEM_MAKE_NAME, str);
		cmd = kt_cmd_new(sizeof(*cmd), &it);
		r = kdbus_cmd_endpoint_make(fd, cmd);
		free(cmd);
		kt_items_deinit(&it);
		kdbus_close(fd);
		return r;
	}
	case KT_OP_EXIT:
		return 0;
	default:
		break;
	}
	if (!c)
		return -EBADSLT;
	switch (q->op) {
	case KT_OP_ID:
		return (int64_t)c->id;
	case KT_OP_ACQUIRE:
		return kt_name_acquire(c, str, q->arg, NULL);
	case KT_OP_RELEASE:
		return kt_name_release(c, str);
	case KT_OP_SEND:
		return kt_send_simple(c, q->arg, 0xbeef, 0, 0, 0);
	case KT_OP_SEND_NAME: {
		uint64_t x = 0xbeef;

		m = kt_msg_new(KDBUS_DST_ID_NAME, 0, 0xbeef);
		kt_msg_add_dst_name(m, str);
		kt_msg_add_vec(m, &x, sizeof(x));
		r = kt_send(c, m, 0, -1, NULL);
		kt_msg_free(m);
		return r;
	}
	case KT_OP_SIGNAL:
		return kt_send_signal(c, q->arg, 0x5167, 0, NULL);
	case KT_OP_CALL:
		return kt_send_call(c, q->arg, 0xca11, 5000000000ULL);
	case KT_OP_BCAST_CALL: {
		uint8_t bloom[KT_BLOOM_SIZE] = { 0 };

		m = kt_msg_new(KDBUS_DST_ID_BROADCAST, KDBUS_MSG_SIGNAL | KDBUS_MSG_EXPECT_REPLY, 1);
		m->timeout_ns = kt_now(CLOCK_MONOTONIC) + 5000000000ULL;
		kt_msg_add_bloom(m, 0, bloom, sizeof(bloom));
		r = kt_send(c, m, 0, -1, NULL);
		kt_msg_free(m);
		return r;
	}
	case KT_OP_RECV:
		memset(st->last, 0, sizeof(st->last));
		if (q->arg) {
			r = kt_poll(c, (int)q->arg, NULL);
			if (r < 0)
				return r;
		}
		r = kt_recv(c, 0, 0, &m, &rc);
		st->last[5] = rc.dropped_msgs;
		if (r < 0)
			return r;
		st->last[0] = m->cookie;
		st->last[1] = m->items[0].type;
		st->last[3] = m->dst_id;
		if (m->size > sizeof(*m) + 16) {
			switch (m->items[0].type) {
			case KDBUS_ITEM_ID_ADD:
			case KDBUS_ITEM_ID_REMOVE:
				st->last[2] = m->items[0].id_change.id;
				break;
			case KDBUS_ITEM_NAME_ADD:
			case KDBUS_ITEM_NAME_REMOVE:
			case KDBUS_ITEM_NAME_CHANGE:
				st->last[2] = m->items[0].name_change.new_id.id;
				st->last[4] = m->items[0].name_change.old_id.id;
				break;
			default:
				break;
			}
		}
		r = (int64_t)m->src_id;
		kt_msg_release(c, m);
		return r;
	case KT_OP_LAST:
		return q->arg < 6 ? (int64_t)st->last[q->arg] : -EINVAL;
	case KT_OP_REPLY:
		return kt_send_reply(c, q->arg, 0x4e91, st->last[0]);
	case KT_OP_MATCH_ANY:
		return kt_match_any_signal(c);
	case KT_OP_MATCH_NOTIFY:
		if ((r = kt_match_id(c, 0x70, KDBUS_ITEM_ID_ADD, KDBUS_MATCH_ID_ANY)) < 0 ||
		    (r = kt_match_id(c, 0x70, KDBUS_ITEM_ID_REMOVE, KDBUS_MATCH_ID_ANY)) < 0 ||
		    (r = kt_match_name(c, 0x70, KDBUS_ITEM_NAME_ADD, KDBUS_MATCH_ID_ANY,
				       KDBUS_MATCH_ID_ANY, NULL)) < 0 ||
		    (r = kt_match_name(c, 0x70, KDBUS_ITEM_NAME_REMOVE, KDBUS_MATCH_ID_ANY,
				       KDBUS_MATCH_ID_ANY, NULL)) < 0)
			return r;
		return kt_match_name(c, 0x70, KDBUS_ITEM_NAME_CHANGE, KDBUS_MATCH_ID_ANY,
				     KDBUS_MATCH_ID_ANY, NULL);
	case KT_OP_CONN_INFO: {
		struct kdbus_info *info;

		r = kt_conn_info(c, q->arg, str && str[0] ? str : NULL, _KDBUS_ATTACH_ALL, &info);
		if (r == 0)
			kt_free(c, kt_off(c, info));
		return r;
	}
	case KT_OP_LIST_HAS: {
		int64_t f = kt_name_flags(c, 0, str);

		return f >= 0 ? 1 : f == -ENOENT ? 0 : f;
	}
	case KT_OP_UPDATE_ATTACH:
		return kt_update_attach(c, _KDBUS_ATTACH_ALL, q->arg);
	case KT_OP_CLOSE:
		st->c[q->conn] = kt_conn_free(c);
		return 0;
	default:
		return -ENOTTY;
	}
}

static int kt_remote_main(struct kt_proc *self, void *arg)
{
	const struct kt_remote_child *rc = arg;
	struct kt_remote_state st;
	struct kt_remote_req q;
	char str[4096];
	int64_t r;

	memset(&st, 0, sizeof(st));
	/* inherited connection fds would keep the parent's connections alive (§1.4.5) */
	kt_close_other_fds(self->rd, self->wr);
	if (rc->uid != (uid_t)-1 && kt_drop_privileges(rc->uid, rc->gid) < 0) {
		kt_proc_put(self, (uint64_t)(int64_t)-EPERM);
		return 1;
	}
	r = kt_remote_hello(&st, rc->path, KDBUS_HELLO_ACCEPT_FD, NULL);
	kt_proc_put(self, (uint64_t)(r < 0 ? r : (int64_t)st.c[0]->id));
	for (;;) {
		if (read(self->rd, &q, sizeof(q)) != (ssize_t)sizeof(q))
			return 0;
		if (q.len >= sizeof(str) || (q.len && read(self->rd, str, q.len) != (ssize_t)q.len))
			return 2;
		str[q.len] = 0;
		r = kt_remote_do(&st, rc->path, &q, str);
		if (kt_proc_put(self, (uint64_t)r) < 0)
			return 3;
		if (q.op == KT_OP_EXIT)
			return 0;
	}
}

int kt_remote_start(struct kt_remote *r, const char *path, uid_t uid, gid_t gid)
{
	struct kt_remote_child rc = { .path = path, .uid = uid, .gid = gid };
	uint64_t v;
	int ret;

	memset(r, 0, sizeof(*r));
	/* the child gets a copy of rc at fork time */
	ret = kt_proc_start(&r->proc, kt_remote_main, &rc);
	if (ret < 0)
		return ret;
	ret = kt_proc_get(&r->proc, &v, 10000);
	if (ret < 0)
		return ret;
	if ((int64_t)v < 0) {
		r->hello_err = (int64_t)v;
		r->id = 0;
	} else {
		r->id = v;
	}
	return 0;
}

int64_t kt_remote(struct kt_remote *r, unsigned int conn, unsigned int op, uint64_t arg,
		  const char *str)
{
	struct kt_remote_req q = { .op = op, .conn = conn, .arg = arg };
	uint64_t v;
	int ret;

	q.len = str ? (uint32_t)strlen(str) : 0;
	if (write(r->proc.wr, &q, sizeof(q)) != (ssize_t)sizeof(q))
		return -EPIPE;
	if (q.len && write(r->proc.wr, str, q.len) != (ssize_t)q.len)
		return -EPIPE;
	ret = kt_proc_get(&r->proc, &v, 20000);
	if (ret < 0)
		fail_msg("remote child %d did not answer op %u: %s", (int)r->proc.pid, op,
			 kt_strerr(ret));
	return (int64_t)v;
}

int kt_remote_stop(struct kt_remote *r)
{
	struct kt_remote_req q = { .op = KT_OP_EXIT };
	uint64_t v;

	if (write(r->proc.wr, &q, sizeof(q)) == (ssize_t)sizeof(q))
		kt_proc_get(&r->proc, &v, 5000);
	return kt_proc_wait(&r->proc);
}
