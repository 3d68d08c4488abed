/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The front API end to end. Links only libkdbus and includes only public
 * headers, proving the exported ABI is enough. Each test gets a fresh bus.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nftw */
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <kdbus/bloom.h>
#include <kdbus/compat.h>
#include <kdbus/libkdbus.h>

static char tmp_root[64];

struct env {
	struct kdbus_bus *bus;
	const char *path;
};

static int setup(void **state)
{
	static unsigned int n;
	struct env *e = calloc(1, sizeof(*e));
	char name[64];

	if (!e)
		return -1;
	snprintf(name, sizeof(name), "api-%d-%u", (int)getpid(), n++);
	if (kdbus_bus_new(&e->bus, name, 0) < 0) {
		free(e);
		return -1;
	}
	e->path = kdbus_bus_get_path(e->bus);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	kdbus_bus_unref(e->bus);
	free(e);
	return 0;
}

static struct kdbus_conn *conn_new(void **state, uint64_t flags)
{
	struct env *e = *state;
	struct kdbus_conn *c = NULL;

	assert_int_equal(kdbus_conn_new(&c, e->path, flags, NULL), 0);
	assert_non_null(c);
	return c;
}

/* A message to dst carrying text (copied). */
static struct kdbus_message *msg_new(struct kdbus_conn *from, uint64_t dst, const char *text)
{
	struct kdbus_message *m = NULL;

	assert_int_equal(kdbus_message_new(&m, from), 0);
	assert_int_equal(kdbus_message_set_destination_id(m, dst), 0);
	if (text)
		assert_int_equal(kdbus_message_append(m, text, strlen(text)), 0);
	return m;
}

static struct kdbus_message *recv_one(struct kdbus_conn *c)
{
	struct kdbus_message *m = NULL;

	assert_int_equal(kdbus_conn_wait(c, 5 * 1000 * 1000), 1);
	assert_int_equal(kdbus_conn_recv(c, &m), 0);
	assert_non_null(m);
	return m;
}

static void assert_payload(struct kdbus_message *m, const void *expect, size_t len)
{
	char buf[256];

	assert_true(len <= sizeof(buf));
	assert_int_equal(kdbus_message_get_payload_size(m), len);
	assert_int_equal(kdbus_message_read(m, 0, buf, sizeof(buf)), (long)len);
	assert_memory_equal(buf, expect, len);
}

static void assert_empty(struct kdbus_conn *c)
{
	struct kdbus_message *m = NULL;

	assert_int_equal(kdbus_conn_recv(c, &m), -EAGAIN);
	assert_null(m);
}

/* ---- argument checks and object basics ---- */

static void test_args(void **state)
{
	struct kdbus_bus *bus = NULL;
	struct kdbus_conn *c = NULL;
	struct kdbus_message *m = NULL;
	struct kdbus_match *match = NULL;
	int fd = -1;

	assert_int_equal(kdbus_bus_new(NULL, "x", 0), -EINVAL);
	assert_int_equal(kdbus_bus_new(&bus, NULL, 0), -EINVAL);
	assert_int_equal(kdbus_bus_new(&bus, "", 0), -EINVAL);
	assert_int_equal(kdbus_bus_new(&bus, "x", 1ULL << 5), -EINVAL);
	assert_int_equal(kdbus_bus_new_with_bloom(&bus, "x", 0, 12, 1), -EINVAL);
	assert_int_equal(kdbus_bus_new_with_bloom(&bus, "x", 0, 64, 0), -EINVAL);
	assert_null(bus);
	assert_int_equal(kdbus_conn_new(NULL, NULL, 0, NULL), -EINVAL);
	assert_int_equal(kdbus_conn_new(&c, "/x", KDBUS_HELLO_ACTIVATOR, NULL), -EINVAL);
	assert_int_equal(kdbus_conn_new(&c, "/x", 0, ""), -EINVAL);
	assert_null(c);
	assert_int_equal(kdbus_message_new(&m, NULL), -EINVAL);
	assert_int_equal(kdbus_match_new(&match, NULL), -EINVAL);
	assert_int_equal(kdbus_memfd_new(&fd, "x", 0), -EINVAL);
	assert_int_equal(kdbus_conn_get_fd(NULL), -EINVAL);
	assert_int_equal(kdbus_conn_send(NULL, NULL), -EINVAL);
	assert_int_equal(kdbus_conn_recv(NULL, &m), -EINVAL);
	assert_int_equal(kdbus_conn_wait(NULL, 0), -EINVAL);
	assert_int_equal(kdbus_message_set_flags(NULL, 0), -EINVAL);
	assert_int_equal(kdbus_message_get_fd(NULL, 0), -EINVAL);
	assert_null(kdbus_bus_unref(NULL));
	assert_null(kdbus_conn_unref(NULL));
	assert_null(kdbus_message_unref(NULL));
	assert_null(kdbus_match_unref(NULL));
	assert_null(kdbus_message_find_item(NULL, KDBUS_ITEM_CREDS, NULL));

	/* A connection is needed for messages and matches; reject bad values on them. */
	c = conn_new(state, 0);
	assert_int_equal(kdbus_message_new(&m, c), 0);
	assert_int_equal(kdbus_message_set_flags(m, 1ULL << 10), -EINVAL);
	assert_int_equal(kdbus_message_set_payload_type(m, KDBUS_PAYLOAD_KERNEL), -EINVAL);
	assert_int_equal(kdbus_message_append(m, "x", 0), -EINVAL);
	assert_int_equal(kdbus_message_append_fd(m, -1), -EINVAL);
	assert_int_equal(kdbus_message_set_destination_name(m, ""), -EINVAL);
	/* No destination yet: nothing to send to. */
	assert_int_equal(kdbus_conn_send(c, m), -EINVAL);
	assert_int_equal(kdbus_match_new(&match, c), 0);
	assert_int_equal(kdbus_match_add_id_change(match, KDBUS_ITEM_NAME_ADD, 1), -EINVAL);
	assert_int_equal(kdbus_match_add_name_change(match, KDBUS_ITEM_ID_ADD, 1, 1, NULL), -EINVAL);
	assert_int_equal(kdbus_conn_add_match(c, match, 1, 1ULL << 4), -EINVAL);
	assert_int_equal(kdbus_conn_acquire_name(c, "org.example.A", 1ULL << 6, NULL), -EINVAL);
	assert_int_equal(kdbus_conn_set_attach_flags(c, 1ULL << 40, 0), -EINVAL);
	assert_null(kdbus_match_unref(match));
	assert_null(kdbus_message_unref(m));
	assert_null(kdbus_conn_unref(c));
}

static void test_bus(void **state)
{
	struct env *e = *state;
	struct kdbus_bus *dup = NULL, *again = NULL;
	struct kdbus_conn *c = NULL;
	const char *name = kdbus_bus_get_name(e->bus);
	const char *path = kdbus_bus_get_path(e->bus);
	char prefix[32], expect[4096];
	uint64_t size, n_hash;
	int i, r;

	snprintf(prefix, sizeof(prefix), "%u-", (unsigned int)geteuid());
	assert_int_equal(strncmp(name, prefix, strlen(prefix)), 0);
	snprintf(expect, sizeof(expect), "%s/%s/bus", kdbus_root(), name);
	assert_string_equal(path, expect);

	/* The prefixed name is the same bus: taken. */
	assert_int_equal(kdbus_bus_new(&dup, name, 0), -EEXIST);
	assert_int_equal(kdbus_bus_new(&dup, name + strlen(prefix), 0), -EEXIST);
	assert_null(dup);

	assert_int_equal(kdbus_bus_new_with_bloom(&again, "api-bloom", KDBUS_MAKE_ACCESS_WORLD, 128, 3),
			 0);
	assert_int_equal(kdbus_conn_new(&c, kdbus_bus_get_path(again), 0, "bloomy"), 0);
	assert_int_equal(kdbus_conn_get_bloom(c, &size, &n_hash), 0);
	assert_int_equal(size, 128);
	assert_int_equal(n_hash, 3);
	assert_int_equal(kdbus_conn_get_bus_flags(c), KDBUS_MAKE_ACCESS_WORLD);
	kdbus_conn_unref(c);

	/*
	 * Releasing the bus ends it: its endpoint goes away. A broker may take a
	 * moment to tear down, refusing connections meanwhile.
	 */
	snprintf(expect, sizeof(expect), "%s", kdbus_bus_get_path(again));
	assert_null(kdbus_bus_unref(again));
	c = NULL;
	for (i = 0; i < 500; i++) {
		r = kdbus_conn_new(&c, expect, 0, NULL);
		if (r != -ESHUTDOWN && r != -ECONNRESET && r != -ECONNREFUSED)
			break;
		usleep(10 * 1000);
	}
	assert_int_equal(r, -ENOENT);
	assert_null(c);
}

static void test_conn(void **state)
{
	struct kdbus_conn *a = conn_new(state, 0), *b = conn_new(state, KDBUS_HELLO_ACCEPT_FD);
	uint64_t size = 0, n_hash = 0;
	static const uint8_t zero[16];

	assert_true(kdbus_conn_get_id(a) != 0);
	assert_true(kdbus_conn_get_id(b) != 0);
	assert_true(kdbus_conn_get_id(a) != kdbus_conn_get_id(b));
	assert_int_equal(kdbus_conn_get_bloom(a, &size, &n_hash), 0);
	assert_int_equal(size, KDBUS_BUS_BLOOM_SIZE);
	assert_int_equal(n_hash, KDBUS_BUS_BLOOM_N_HASH);
	assert_int_equal(kdbus_conn_get_bus_flags(a), 0);
	assert_memory_equal(kdbus_conn_get_id128(a), kdbus_conn_get_id128(b), 16);
	assert_memory_not_equal(kdbus_conn_get_id128(a), zero, 16);
	assert_true(kdbus_conn_get_fd(a) >= 0);
	assert_int_equal(kdbus_conn_get_dropped(a), 0);

	/* A reference keeps the connection usable after the creator's unref. */
	assert_ptr_equal(kdbus_conn_ref(a), a);
	assert_null(kdbus_conn_unref(a));
	assert_int_equal(kdbus_conn_wait(a, 0), 0);
	kdbus_conn_unref(a);
	kdbus_conn_unref(b);
}

/* The bus going away disconnects its connections (spec 1.4.1). */
static void test_disconnect(void **state)
{
	struct kdbus_bus *bus = NULL;
	struct kdbus_conn *a = NULL, *b = NULL;
	struct kdbus_message *m, *r = NULL;

	assert_int_equal(kdbus_bus_new(&bus, "api-gone", 0), 0);
	assert_int_equal(kdbus_conn_new(&a, kdbus_bus_get_path(bus), 0, NULL), 0);
	assert_int_equal(kdbus_conn_new(&b, kdbus_bus_get_path(bus), 0, NULL), 0);
	m = msg_new(a, kdbus_conn_get_id(b), "late");
	assert_null(kdbus_bus_unref(bus));

	assert_int_equal(kdbus_conn_wait(a, 5 * 1000 * 1000), -ECONNRESET);
	assert_int_equal(kdbus_conn_send(a, m), -ECONNRESET);
	assert_int_equal(kdbus_conn_recv(b, &r), -ECONNRESET);
	assert_null(r);
	kdbus_message_unref(m);
	kdbus_conn_unref(a);
	kdbus_conn_unref(b);
}

/* ---- unicast ---- */

static void test_unicast(void **state)
{
	struct kdbus_conn *a = conn_new(state, 0), *b = conn_new(state, 0);
	static const char borrowed[] = "-borrowed-";
	static const char expect[] = "hello-borrowed-\0\0\0\0\0memfd-data";
	struct kdbus_message *m, *r;
	uint64_t first_cookie, second_cookie;
	const void *data;
	size_t size, i, off = 0;
	int fd = -1;

	m = msg_new(a, kdbus_conn_get_id(b), "hello");
	assert_int_equal(kdbus_message_append_borrowed(m, borrowed, strlen(borrowed)), 0);
	assert_int_equal(kdbus_message_append_zeros(m, 5), 0);
	assert_int_equal(kdbus_memfd_new(&fd, "memfd-data", 10), 0);
	assert_int_equal(kdbus_message_append_memfd(m, fd, 0, 10), 0);
	assert_int_equal(kdbus_message_set_priority(m, -3), 0);
	/* The builder reads back what it holds. */
	assert_payload(m, expect, sizeof(expect) - 1);

	assert_int_equal(kdbus_conn_send(a, m), 0);
	first_cookie = kdbus_message_get_cookie(m);
	assert_true(first_cookie != 0);
	assert_int_equal(kdbus_message_get_source(m), kdbus_conn_get_id(a));

	r = recv_one(b);
	assert_int_equal(kdbus_message_get_source(r), kdbus_conn_get_id(a));
	assert_int_equal(kdbus_message_get_destination(r), kdbus_conn_get_id(b));
	assert_int_equal(kdbus_message_get_cookie(r), first_cookie);
	assert_int_equal(kdbus_message_get_cookie_reply(r), 0);
	assert_int_equal(kdbus_message_get_priority(r), -3);
	assert_int_equal(kdbus_message_get_flags(r), 0);
	assert_int_equal(kdbus_message_get_payload_type(r), KDBUS_PAYLOAD_DBUS);
	assert_int_equal(kdbus_message_get_n_fds(r), 0);
	assert_payload(r, expect, sizeof(expect) - 1);
	/* Parts, walked one by one, are the same byte stream. */
	for (i = 0; i < kdbus_message_get_n_parts(r); i++) {
		assert_int_equal(kdbus_message_get_part(r, i, &data, &size), 0);
		assert_true(off + size <= sizeof(expect) - 1);
		assert_memory_equal(data, expect + off, size);
		off += size;
	}
	assert_int_equal(off, sizeof(expect) - 1);
	assert_int_equal(kdbus_message_get_part(r, i, &data, &size), -EINVAL);
	/* Partial reads across part boundaries. */
	{
		char buf[8];

		assert_int_equal(kdbus_message_read(r, 3, buf, 5), 5);
		assert_memory_equal(buf, "lo-bo", 5);
		assert_int_equal(kdbus_message_read(r, sizeof(expect) - 3, buf, 8), 2);
		assert_memory_equal(buf, "ta", 2);
	}
	/* Received messages are read-only. */
	assert_int_equal(kdbus_message_append(r, "x", 1), -EINVAL);
	assert_int_equal(kdbus_conn_send(b, r), -EINVAL);
	kdbus_message_unref(r);
	assert_empty(b);

	/* Each send of a reused message takes a new cookie, unless one is fixed. */
	assert_int_equal(kdbus_conn_send(a, m), 0);
	second_cookie = kdbus_message_get_cookie(m);
	assert_true(second_cookie != 0 && second_cookie != first_cookie);
	assert_int_equal(kdbus_message_set_cookie(m, 4242), 0);
	assert_int_equal(kdbus_conn_send(a, m), 0);
	r = recv_one(b);
	assert_int_equal(kdbus_message_get_cookie(r), second_cookie);
	kdbus_message_unref(r);
	r = recv_one(b);
	assert_int_equal(kdbus_message_get_cookie(r), 4242);
	kdbus_message_unref(r);
	assert_empty(b);

	/* Nobody there. */
	kdbus_message_unref(m);
	m = msg_new(a, 0x7fffffffULL, "x");
	assert_int_equal(kdbus_conn_send(a, m), -ENXIO);
	kdbus_message_unref(m);
	kdbus_conn_unref(a);
	kdbus_conn_unref(b);
}

static void test_wait(void **state)
{
	struct kdbus_conn *a = conn_new(state, 0), *b = conn_new(state, 0);
	struct kdbus_message *m = msg_new(a, kdbus_conn_get_id(b), "ping");
	struct pollfd p = { .fd = kdbus_conn_get_fd(b), .events = POLLIN };

	assert_int_equal(kdbus_conn_wait(b, 10 * 1000), 0);
	assert_int_equal(poll(&p, 1, 0), 0);
	assert_int_equal(kdbus_conn_send(a, m), 0);
	assert_int_equal(kdbus_conn_wait(b, KDBUS_TIMEOUT_INFINITE), 1);
	assert_int_equal(poll(&p, 1, 0), 1);
	kdbus_message_unref(recv_one(b));
	assert_int_equal(kdbus_conn_wait(b, 0), 0);
	kdbus_message_unref(m);
	kdbus_conn_unref(a);
	kdbus_conn_unref(b);
}

/* ---- calls ---- */

/* Answers one call with its payload reversed, then returns. */
static void *echo_thread(void *arg)
{
	struct kdbus_conn *c = arg;
	struct kdbus_message *call = NULL, *reply = NULL;
	char buf[64], rev[64];
	long n, i;
	intptr_t r;

	r = kdbus_conn_wait(c, 5 * 1000 * 1000);
	if (r == 1)
		r = kdbus_conn_recv(c, &call);
	if (r < 0)
		return (void *)r;
	n = kdbus_message_read(call, 0, buf, sizeof(buf));
	for (i = 0; i < n; i++)
		rev[i] = buf[n - 1 - i];
	r = kdbus_message_new(&reply, c);
	if (r >= 0 && n > 0)
		r = kdbus_message_append(reply, rev, (size_t)n);
	if (r >= 0)
		r = kdbus_conn_reply(c, call, reply);
	kdbus_message_unref(reply);
	kdbus_message_unref(call);
	return (void *)r;
}

static void test_call(void **state)
{
	struct kdbus_conn *a = conn_new(state, 0), *s = conn_new(state, 0);
	struct kdbus_message *m, *reply = NULL;
	pthread_t t;
	void *ret;

	m = msg_new(a, kdbus_conn_get_id(s), "abc");
	assert_int_equal(pthread_create(&t, NULL, echo_thread, s), 0);
	assert_int_equal(kdbus_conn_call(a, m, 5 * 1000 * 1000, &reply), 0);
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_int_equal((intptr_t)ret, 0);
	assert_non_null(reply);
	assert_int_equal(kdbus_message_get_source(reply), kdbus_conn_get_id(s));
	assert_int_equal(kdbus_message_get_cookie_reply(reply), kdbus_message_get_cookie(m));
	assert_int_equal(kdbus_message_get_flags(reply) & KDBUS_MSG_EXPECT_REPLY, 0);
	assert_payload(reply, "cba", 3);
	/* The call flag was for that send only. */
	assert_int_equal(kdbus_message_get_flags(m), 0);
	kdbus_message_unref(reply);
	reply = NULL;

	/* Nobody answers: the deadline passes. */
	assert_int_equal(kdbus_conn_call(a, m, 50 * 1000, &reply), -ETIMEDOUT);
	assert_null(reply);

	/* A readable cancel fd abandons the call. */
	{
		int p[2];

		assert_int_equal(pipe(p), 0);
		assert_int_equal(write(p[1], "x", 1), 1);
		assert_int_equal(kdbus_conn_call_with_cancel_fd(a, m, 5 * 1000 * 1000, p[0], &reply),
				 -ECANCELED);
		assert_null(reply);
		close(p[0]);
		close(p[1]);
	}
	kdbus_message_unref(m);
	kdbus_conn_unref(a);
	kdbus_conn_unref(s);
}

static void test_async_call(void **state)
{
	struct kdbus_conn *a = conn_new(state, 0), *s = conn_new(state, 0);
	struct kdbus_message *m = msg_new(a, kdbus_conn_get_id(s), "q"), *call, *reply, *r;

	assert_int_equal(kdbus_message_set_expect_reply(m, 5 * 1000 * 1000), 0);
	assert_int_equal(kdbus_conn_send(a, m), 0);
	call = recv_one(s);
	assert_true(kdbus_message_get_flags(call) & KDBUS_MSG_EXPECT_REPLY);
	assert_int_equal(kdbus_message_get_cookie(call), kdbus_message_get_cookie(m));

	reply = msg_new(s, 0, "answer");
	assert_int_equal(kdbus_conn_reply(s, call, reply), 0);
	assert_int_equal(kdbus_message_get_destination(reply), kdbus_conn_get_id(a));
	/* One call, one reply: a second one has nothing to answer. */
	assert_int_equal(kdbus_conn_reply(s, call, reply), -EBADSLT);
	r = recv_one(a);
	assert_int_equal(kdbus_message_get_cookie_reply(r), kdbus_message_get_cookie(m));
	assert_int_equal(kdbus_message_get_source(r), kdbus_conn_get_id(s));
	assert_payload(r, "answer", 6);
	kdbus_message_unref(r);
	/* Only received messages can be answered. */
	assert_int_equal(kdbus_conn_reply(s, m, reply), -EINVAL);

	kdbus_message_unref(reply);
	kdbus_message_unref(call);
	kdbus_message_unref(m);
	kdbus_conn_unref(a);
	kdbus_conn_unref(s);
}

/* ---- fds ---- */

static void test_fds(void **state)
{
	struct kdbus_conn *a = conn_new(state, 0), *b = conn_new(state, KDBUS_HELLO_ACCEPT_FD);
	struct kdbus_message *m, *r;
	char c = 0;
	int p[2], fd;

	assert_int_equal(pipe(p), 0);
	m = msg_new(a, kdbus_conn_get_id(b), "fd");
	assert_int_equal(kdbus_message_append_fd(m, p[0]), 0); /* the message owns p[0] now */
	assert_int_equal(kdbus_message_get_n_fds(m), 1);
	assert_int_equal(kdbus_conn_send(a, m), 0);

	r = recv_one(b);
	assert_int_equal(kdbus_message_get_n_fds(r), 1);
	assert_true(kdbus_message_get_fd(r, 0) >= 0);
	assert_int_equal(kdbus_message_get_fd(r, 1), -EINVAL);
	fd = kdbus_message_steal_fd(r, 0);
	assert_true(fd >= 0);
	assert_int_equal(kdbus_message_get_fd(r, 0), -1);
	kdbus_message_unref(r);
	/* The stolen fd outlives the message. */
	assert_int_equal(write(p[1], "z", 1), 1);
	assert_int_equal(read(fd, &c, 1), 1);
	assert_int_equal(c, 'z');
	close(fd);

	/* a did not say ACCEPT_FD. */
	assert_int_equal(kdbus_message_set_destination_id(m, kdbus_conn_get_id(a)), 0);
	assert_int_equal(kdbus_conn_send(b, m), -ECOMM);
	close(p[1]);
	kdbus_message_unref(m);
	kdbus_conn_unref(a);
	kdbus_conn_unref(b);
}

/* ---- names ---- */

static void test_names(void **state)
{
	struct kdbus_conn *a = conn_new(state, 0), *b = conn_new(state, 0), *c = conn_new(state, 0);
	struct kdbus_message *m, *r;
	uint64_t f = 0;

	assert_int_equal(kdbus_conn_acquire_name(a, "org.example.Api", 0, &f), 0);
	assert_int_equal(f, KDBUS_NAME_PRIMARY | KDBUS_NAME_ACQUIRED);
	assert_int_equal(kdbus_conn_acquire_name(a, "org.example.Api", 0, &f), 0);
	assert_int_equal(f, KDBUS_NAME_PRIMARY);
	assert_int_equal(kdbus_conn_acquire_name(b, "org.example.Api", 0, &f), -EEXIST);
	assert_int_equal(kdbus_conn_acquire_name(b, "org.example.Api", KDBUS_NAME_QUEUE, &f), 0);
	assert_int_equal(f, KDBUS_NAME_QUEUE | KDBUS_NAME_IN_QUEUE | KDBUS_NAME_ACQUIRED);
	assert_int_equal(kdbus_conn_acquire_name(a, "invalid", 0, NULL), -EINVAL);

	/* By name, to the primary owner. */
	m = msg_new(c, 0, "to-name");
	assert_int_equal(kdbus_message_set_destination_name(m, "org.example.Api"), 0);
	assert_int_equal(kdbus_message_get_destination(m), KDBUS_DST_ID_NAME);
	assert_int_equal(kdbus_conn_send(c, m), 0);
	r = recv_one(a);
	assert_string_equal(kdbus_message_get_destination_name(r), "org.example.Api");
	assert_payload(r, "to-name", 7);
	kdbus_message_unref(r);

	/* c has no part in it; a's release hands the name to b. */
	assert_int_equal(kdbus_conn_release_name(c, "org.example.Api"), -EADDRINUSE);
	assert_int_equal(kdbus_conn_release_name(a, "org.example.Api"), 0);
	assert_int_equal(kdbus_conn_send(c, m), 0);
	kdbus_message_unref(recv_one(b));
	assert_empty(a);
	assert_int_equal(kdbus_conn_release_name(b, "org.example.Api"), 0);
	assert_int_equal(kdbus_conn_release_name(b, "org.example.Api"), -ESRCH);
	assert_int_equal(kdbus_conn_send(c, m), -ESRCH);

	kdbus_message_unref(m);
	kdbus_conn_unref(a);
	kdbus_conn_unref(b);
	kdbus_conn_unref(c);
}

/* ---- broadcasts, matches, notifications ---- */

static struct kdbus_message *signal_new(struct kdbus_conn *from, const char *member)
{
	struct kdbus_message *m = msg_new(from, KDBUS_DST_ID_BROADCAST, member);

	assert_int_equal(kdbus_message_set_flags(m, KDBUS_MSG_SIGNAL), 0);
	assert_int_equal(kdbus_message_add_bloom(m, "member", member), 0);
	return m;
}

static void test_broadcast(void **state)
{
	struct kdbus_conn *s = conn_new(state, 0), *x = conn_new(state, 0), *y = conn_new(state, 0);
	struct kdbus_match *mx, *my;
	struct kdbus_message *sig, *r;

	assert_int_equal(kdbus_match_new(&mx, x), 0);
	assert_int_equal(kdbus_match_add_bloom(mx, "member", "Tick"), 0);
	assert_int_equal(kdbus_match_add_destination_id(mx, KDBUS_DST_ID_BROADCAST), 0);
	assert_int_equal(kdbus_conn_add_match(x, mx, 7, 0), 0);
	assert_int_equal(kdbus_match_new(&my, y), 0);
	assert_int_equal(kdbus_match_add_bloom(my, "member", "Other"), 0);
	assert_int_equal(kdbus_match_add_sender_id(my, kdbus_conn_get_id(s)), 0);
	assert_int_equal(kdbus_conn_add_match(y, my, 7, 0), 0);

	sig = signal_new(s, "Tick");
	assert_int_equal(kdbus_conn_send(s, sig), 0);
	r = recv_one(x);
	assert_int_equal(kdbus_message_get_source(r), kdbus_conn_get_id(s));
	assert_int_equal(kdbus_message_get_destination(r), KDBUS_DST_ID_BROADCAST);
	assert_true(kdbus_message_get_flags(r) & KDBUS_MSG_SIGNAL);
	assert_payload(r, "Tick", 4);
	kdbus_message_unref(r);
	assert_int_equal(kdbus_conn_wait(y, 50 * 1000), 0);
	assert_empty(s); /* the sender has no match */

	/* y's mask asks for "Other" from s. */
	kdbus_message_unref(sig);
	sig = signal_new(s, "Other");
	assert_int_equal(kdbus_conn_send(s, sig), 0);
	kdbus_message_unref(recv_one(y));
	assert_int_equal(kdbus_conn_wait(x, 50 * 1000), 0);

	/* Removing the entry stops delivery. */
	assert_int_equal(kdbus_conn_remove_match(x, 7), 0);
	assert_int_equal(kdbus_conn_remove_match(x, 7), -EBADSLT);
	kdbus_message_unref(sig);
	sig = signal_new(s, "Tick");
	assert_int_equal(kdbus_conn_send(s, sig), 0);
	assert_int_equal(kdbus_conn_wait(x, 50 * 1000), 0);

	/* A signal without SIGNAL is refused as a broadcast. */
	assert_int_equal(kdbus_message_set_flags(sig, 0), 0);
	assert_int_equal(kdbus_conn_send(s, sig), -EBADMSG);

	kdbus_message_unref(sig);
	kdbus_match_unref(mx);
	kdbus_match_unref(my);
	kdbus_conn_unref(s);
	kdbus_conn_unref(x);
	kdbus_conn_unref(y);
}

/* Raw filter access works with the kdbus/bloom.h helpers. */
static void test_bloom_prefix(void **state)
{
	struct kdbus_conn *s = conn_new(state, 0), *x = conn_new(state, 0);
	struct kdbus_message *sig = msg_new(s, KDBUS_DST_ID_BROADCAST, "p"), *r;
	struct kdbus_match *m;
	uint64_t *data, size, n_hash;

	assert_int_equal(kdbus_conn_get_bloom(s, &size, &n_hash), 0);
	assert_int_equal(kdbus_match_new(&m, x), 0);
	assert_int_equal(kdbus_match_add_bloom(m, "path-slash-prefix", "/org/example"), 0);
	assert_int_equal(kdbus_match_add_sender_id(m, kdbus_conn_get_id(s)), 0);
	assert_int_equal(kdbus_conn_add_match(x, m, 1, 0), 0);

	assert_int_equal(kdbus_message_set_flags(sig, KDBUS_MSG_SIGNAL), 0);
	assert_int_equal(kdbus_message_get_bloom(sig, &data, NULL), 0);
	assert_int_equal(kdbus_bloom_add_prefixes(data, size, (unsigned int)n_hash,
						  "path-slash-prefix", "/org/other/x", '/'),
			 0);
	assert_int_equal(kdbus_conn_send(s, sig), 0);
	assert_int_equal(kdbus_conn_wait(x, 50 * 1000), 0);

	assert_int_equal(kdbus_bloom_add_prefixes(data, size, (unsigned int)n_hash,
						  "path-slash-prefix", "/org/example/obj", '/'),
			 0);
	assert_int_equal(kdbus_conn_send(s, sig), 0);
	r = recv_one(x);
	assert_int_equal(kdbus_message_get_cookie(r), kdbus_message_get_cookie(sig));
	kdbus_message_unref(r);

	kdbus_match_unref(m);
	kdbus_message_unref(sig);
	kdbus_conn_unref(s);
	kdbus_conn_unref(x);
}

/* A subscriber that does not read loses broadcasts, and is told how many. */
static void test_dropped(void **state)
{
	struct kdbus_conn *s = conn_new(state, 0), *x = conn_new(state, 0);
	struct kdbus_message *sig = msg_new(s, KDBUS_DST_ID_BROADCAST, "flood"), *r;
	struct kdbus_match *m;
	uint64_t got = 0, i;

	assert_int_equal(kdbus_match_new(&m, x), 0);
	assert_int_equal(kdbus_match_add_sender_id(m, kdbus_conn_get_id(s)), 0);
	assert_int_equal(kdbus_conn_add_match(x, m, 1, 0), 0);
	assert_int_equal(kdbus_message_set_flags(sig, KDBUS_MSG_SIGNAL), 0);
	/* More than the 256 messages one user may queue (spec 10.2). */
	for (i = 0; i < 300; i++)
		assert_int_equal(kdbus_conn_send(s, sig), 0);
	while (kdbus_conn_recv(x, &r) == 0) {
		got++;
		kdbus_message_unref(r);
	}
	assert_int_equal(kdbus_conn_recv(x, &r), -EAGAIN);
	assert_true(got > 0 && got < 300);
	assert_int_equal(kdbus_conn_get_dropped(x), 300 - got);

	kdbus_match_unref(m);
	kdbus_message_unref(sig);
	kdbus_conn_unref(s);
	kdbus_conn_unref(x);
}

static void test_notifications(void **state)
{
	struct kdbus_conn *x = conn_new(state, 0), *n;
	const struct kdbus_item *item;
	struct kdbus_match *m;
	struct kdbus_message *r;

	assert_int_equal(kdbus_match_new(&m, x), 0);
	assert_int_equal(kdbus_match_add_id_change(m, KDBUS_ITEM_ID_ADD, KDBUS_MATCH_ID_ANY), 0);
	assert_int_equal(kdbus_conn_add_match(x, m, 1, 0), 0);
	kdbus_match_unref(m);
	assert_int_equal(kdbus_match_new(&m, x), 0);
	assert_int_equal(kdbus_match_add_name_change(m, KDBUS_ITEM_NAME_ADD, KDBUS_MATCH_ID_ANY,
						     KDBUS_MATCH_ID_ANY, "org.example.Note"),
			 0);
	assert_int_equal(kdbus_conn_add_match(x, m, 2, 0), 0);
	kdbus_match_unref(m);

	n = conn_new(state, 0);
	r = recv_one(x);
	assert_int_equal(kdbus_message_get_source(r), KDBUS_SRC_ID_KERNEL);
	assert_int_equal(kdbus_message_get_payload_type(r), KDBUS_PAYLOAD_KERNEL);
	item = kdbus_message_find_item(r, KDBUS_ITEM_ID_ADD, NULL);
	assert_non_null(item);
	assert_int_equal(item->id_change.id, kdbus_conn_get_id(n));
	assert_null(kdbus_message_find_item(r, KDBUS_ITEM_ID_ADD, item));
	kdbus_message_unref(r);

	assert_int_equal(kdbus_conn_acquire_name(n, "org.example.Other", 0, NULL), 0);
	assert_int_equal(kdbus_conn_acquire_name(n, "org.example.Note", 0, NULL), 0);
	r = recv_one(x);
	item = kdbus_message_find_item(r, KDBUS_ITEM_NAME_ADD, NULL);
	assert_non_null(item);
	assert_int_equal(item->name_change.old_id.id, 0);
	assert_int_equal(item->name_change.new_id.id, kdbus_conn_get_id(n));
	assert_string_equal(item->name_change.name, "org.example.Note");
	kdbus_message_unref(r);
	assert_empty(x);

	kdbus_conn_unref(n);
	kdbus_conn_unref(x);
}

/* ---- metadata ---- */

static void test_metadata(void **state)
{
	struct kdbus_conn *a = conn_new(state, 0), *b = conn_new(state, 0);
	struct kdbus_message *m = msg_new(a, kdbus_conn_get_id(b), "meta"), *r;
	const struct kdbus_item *item;

	/* Nothing asked for, nothing attached. */
	assert_int_equal(kdbus_conn_send(a, m), 0);
	r = recv_one(b);
	assert_null(kdbus_message_find_item(r, KDBUS_ITEM_CREDS, NULL));
	kdbus_message_unref(r);

	assert_int_equal(kdbus_conn_set_attach_flags(b, 0, KDBUS_ATTACH_CREDS | KDBUS_ATTACH_TIMESTAMP),
			 0);
	assert_int_equal(kdbus_conn_send(a, m), 0);
	r = recv_one(b);
	item = kdbus_message_find_item(r, KDBUS_ITEM_CREDS, NULL);
	assert_non_null(item);
	assert_int_equal(item->creds.uid, getuid());
	assert_int_equal(item->creds.euid, geteuid());
	assert_null(kdbus_message_find_item(r, KDBUS_ITEM_CREDS, item));
	item = kdbus_message_find_item(r, KDBUS_ITEM_TIMESTAMP, NULL);
	assert_non_null(item);
	assert_true(item->timestamp.monotonic_ns > 0);
	assert_payload(r, "meta", 4);
	kdbus_message_unref(r);

	kdbus_message_unref(m);
	kdbus_conn_unref(a);
	kdbus_conn_unref(b);
}

static void test_memfd(void **state)
{
	char buf[8] = { 0 };
	int fd = -1;

	assert_int_equal(kdbus_memfd_new(&fd, "sealed", 6), 0);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, sizeof(buf), 0), 6);
	assert_memory_equal(buf, "sealed", 6);
	/*
	 * Sealed: nobody may change it under a receiver. The portable POSIX build
	 * (--enable-posix-os) uses plain shm objects, which can never be sealed
	 * (their seals read exactly F_SEAL_SEAL); anything sealable must be sealed.
	 */
	if (fcntl(fd, F_GET_SEALS) != F_SEAL_SEAL) {
		assert_int_equal(pwrite(fd, "x", 1, 0), -1);
		assert_int_equal(errno, EPERM);
	}
	close(fd);
}

static int rm_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	remove(path);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unicast, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broadcast, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bloom_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notifications, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metadata, setup, teardown),
		cmocka_unit_test(test_memfd),
	};
	int r;

	/* A private root, unless the caller chose one (e.g. the kernel's). */
	if (!getenv("KDBUS_ROOT")) {
		snprintf(tmp_root, sizeof(tmp_root), "/tmp/kdbus-api-XXXXXX");
		if (!mkdtemp(tmp_root) || setenv("KDBUS_ROOT", tmp_root, 1) < 0) {
			perror("test-api: private KDBUS_ROOT");
			return 1;
		}
	}
	r = cmocka_run_group_tests(tests, NULL, NULL);
	if (tmp_root[0])
		nftw(tmp_root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return r;
}
