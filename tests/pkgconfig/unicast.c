/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A unicast exchange between two connections on a private bus, through the
 * compat API only. Built outside the tree with nothing but
 * `pkg-config --cflags --libs kdbus`, so it proves the installed headers,
 * library and broker are enough on their own.
 *
 * Environment: KDBUS_ROOT (a private root), KDBUS_BROKER (for a DESTDIR
 * install, whose broker is not at its configured path).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <kdbus/kdbus.h>
#include <kdbus/compat.h>

#define POOL_SIZE (16UL * 4096UL)

struct conn {
	int fd;
	uint64_t id;
	const uint8_t *pool;
};

static int fail(const char *what, int err)
{
	fprintf(stderr, "unicast: %s: %s\n", what, strerror(err));
	return 1;
}

static struct kdbus_item *item_put(struct kdbus_item *item, uint64_t type,
				   const void *data, size_t len)
{
	item->size = KDBUS_ITEM_HEADER_SIZE + len;
	item->type = type;
	memcpy(item->data, data, len);
	return (struct kdbus_item *)((uint8_t *)item + KDBUS_ALIGN8(item->size));
}

static int bus_make(int ctl, const char *name)
{
	uint64_t buf[64] = { 0 };
	struct kdbus_cmd *cmd = (struct kdbus_cmd *)buf;
	struct kdbus_bloom_parameter bloom = { .size = 64, .n_hash = 1 };
	struct kdbus_item *item = cmd->items;

	item = item_put(item, KDBUS_ITEM_BLOOM_PARAMETER, &bloom, sizeof(bloom));
	item = item_put(item, KDBUS_ITEM_MAKE_NAME, name, strlen(name) + 1);
	cmd->size = (uint64_t)((uint8_t *)item - (uint8_t *)cmd);
	/* the raw ioctl convention here; the cmd wrappers are used below */
	return kdbus_ioctl(ctl, KDBUS_CMD_BUS_MAKE, cmd) < 0 ? -errno : 0;
}

static int conn_hello(struct conn *c, const char *bus_path)
{
	struct kdbus_cmd_hello hello = { 0 };
	struct kdbus_cmd_free cmd_free = { 0 };
	void *map;
	int r;

	c->fd = kdbus_open(bus_path, O_RDWR | O_CLOEXEC);
	if (c->fd < 0)
		return -errno;
	hello.size = sizeof(hello);
	hello.flags = KDBUS_HELLO_ACCEPT_FD;
	hello.pool_size = POOL_SIZE;
	r = kdbus_cmd_hello(c->fd, &hello);
	if (r < 0)
		return r;
	if (hello.id == 0 || hello.items_size == 0)
		return -EPROTO;
	c->id = hello.id;

	map = kdbus_mmap(NULL, POOL_SIZE, PROT_READ, MAP_SHARED, c->fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	c->pool = map;

	/* HELLO returns the bloom parameters in a slice the caller frees */
	cmd_free.size = sizeof(cmd_free);
	cmd_free.offset = hello.offset;
	return kdbus_cmd_free(c->fd, &cmd_free);
}

/* A call (cookie_reply 0: EXPECT_REPLY, 5 s deadline) or its reply. */
static int conn_send(struct conn *from, uint64_t dst, uint64_t cookie,
		     uint64_t cookie_reply, const char *text)
{
	struct timespec now;
	uint64_t buf[32] = { 0 };
	struct kdbus_msg *msg = (struct kdbus_msg *)buf;
	struct kdbus_cmd_send send = { 0 };
	struct kdbus_vec vec = {
		.size = strlen(text) + 1,
		.address = (uintptr_t)text,
	};
	struct kdbus_item *item;

	msg->dst_id = dst;
	msg->src_id = from->id;
	msg->payload_type = KDBUS_PAYLOAD_DBUS;
	msg->cookie = cookie;
	if (cookie_reply) {
		/* a reply needs the caller's reply tracker (spec 7.5.3) */
		msg->cookie_reply = cookie_reply;
	} else {
		clock_gettime(CLOCK_MONOTONIC, &now);
		msg->flags = KDBUS_MSG_EXPECT_REPLY;
		msg->timeout_ns = (uint64_t)now.tv_sec * 1000000000ULL +
				  (uint64_t)now.tv_nsec + 5000000000ULL;
	}
	item = item_put(msg->items, KDBUS_ITEM_PAYLOAD_VEC, &vec, sizeof(vec));
	msg->size = (uint64_t)((uint8_t *)item - (uint8_t *)msg);

	send.size = sizeof(send);
	send.msg_address = (uintptr_t)msg;
	return kdbus_cmd_send(from->fd, &send);
}

/* Wait for POLLIN, receive one message, check sender, cookies and text. */
static int conn_expect(struct conn *to, uint64_t src, uint64_t cookie,
		       uint64_t cookie_reply, const char *text)
{
	struct pollfd pfd = { .fd = to->fd, .events = POLLIN };
	struct kdbus_cmd_recv recv = { 0 };
	struct kdbus_cmd_free cmd_free = { 0 };
	const struct kdbus_msg *msg;
	const struct kdbus_item *item;
	const char *got = NULL;
	int r;

	r = poll(&pfd, 1, 10000);
	if (r < 0)
		return -errno;
	if (r == 0 || !(pfd.revents & POLLIN))
		return -ETIMEDOUT;

	recv.size = sizeof(recv);
	r = kdbus_cmd_recv(to->fd, &recv);
	if (r < 0)
		return r;
	if (recv.msg.offset + recv.msg.msg_size > POOL_SIZE)
		return -EPROTO;

	msg = (const struct kdbus_msg *)(to->pool + recv.msg.offset);
	if (msg->src_id != src || msg->dst_id != to->id || msg->cookie != cookie ||
	    msg->payload_type != KDBUS_PAYLOAD_DBUS)
		return -EBADMSG;
	if (cookie_reply ? (msg->flags != 0 || msg->cookie_reply != cookie_reply)
			 : (msg->flags != KDBUS_MSG_EXPECT_REPLY || msg->timeout_ns == 0))
		return -EBADMSG;

	for (item = msg->items;
	     (const uint8_t *)item < (const uint8_t *)msg + msg->size;
	     item = (const struct kdbus_item *)((const uint8_t *)item + KDBUS_ALIGN8(item->size))) {
		if (item->type != KDBUS_ITEM_PAYLOAD_OFF)
			continue;
		/* PAYLOAD_OFF offsets are relative to the message (spec 6.3) */
		if (item->vec.offset + item->vec.size > recv.msg.msg_size)
			return -EPROTO;
		if (item->vec.size == strlen(text) + 1)
			got = (const char *)msg + item->vec.offset;
	}
	if (!got || strcmp(got, text) != 0)
		return -EBADMSG;

	cmd_free.size = sizeof(cmd_free);
	cmd_free.offset = recv.msg.offset;
	return kdbus_cmd_free(to->fd, &cmd_free);
}

static int wait_gone(const char *bus_path)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 10 * 1000 * 1000 };
	int i, fd;

	/* the socket broker tears down after the owner fd closes: allow it 5 s */
	for (i = 0; i < 500; i++) {
		fd = kdbus_open(bus_path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return 0;
		kdbus_close(fd);
		nanosleep(&ts, NULL);
	}
	return -EEXIST;
}

int main(void)
{
	struct conn a = { .fd = -1 }, b = { .fd = -1 };
	char name[64], path[4096];
	const char *root = kdbus_root();
	int ctl, r;

	if (!root || !*root)
		return fail("kdbus_root", EINVAL);
	snprintf(name, sizeof(name), "%u-pkgconfig-%ld", (unsigned)geteuid(), (long)getpid());

	snprintf(path, sizeof(path), "%s/control", root);
	ctl = kdbus_open(path, O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return fail(path, errno);
	r = bus_make(ctl, name);
	if (r < 0)
		return fail("BUS_MAKE", -r);

	snprintf(path, sizeof(path), "%s/%s/bus", root, name);
	r = conn_hello(&a, path);
	if (r < 0)
		return fail("HELLO a", -r);
	r = conn_hello(&b, path);
	if (r < 0)
		return fail("HELLO b", -r);
	if (a.id == b.id)
		return fail("HELLO ids", EPROTO);

	r = conn_send(&a, b.id, 1, 0, "ping");
	if (r < 0)
		return fail("SEND a->b", -r);
	r = conn_expect(&b, a.id, 1, 0, "ping");
	if (r < 0)
		return fail("RECV b", -r);

	r = conn_send(&b, a.id, 2, 1, "pong");
	if (r < 0)
		return fail("SEND b->a", -r);
	r = conn_expect(&a, b.id, 2, 1, "pong");
	if (r < 0)
		return fail("RECV a", -r);

	kdbus_munmap((void *)a.pool, POOL_SIZE);
	kdbus_munmap((void *)b.pool, POOL_SIZE);
	kdbus_close(a.fd);
	kdbus_close(b.fd);
	kdbus_close(ctl);
	/* closing the owner fd ends the bus (spec 1.2) */
	r = wait_gone(path);
	if (r < 0)
		return fail("bus still there after closing its owner fd", -r);

	printf("unicast: ok (bus %s, ids %llu -> %llu)\n", name,
	       (unsigned long long)a.id, (unsigned long long)b.id);
	return 0;
}
