/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The broker survives any client: raw clients speak the wire protocol
 * (src/backend-socket/proto.h) with garbage, truncated, oversized and
 * half-valid packets, and a well-behaved connection on the same bus must keep
 * working throughout. Socket backend only; seeded, so failures reproduce.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend-socket/proto.h"
#include "core/item.h"
#include "util.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic per seed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

struct raw {
	int qfd, cfd;
};

static int raw_open(const char *path, struct raw *r)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct kd_proto_hdr hdr = { .type = KD_PROTO_ATTACH, .n_fds = 1 };
	struct kd_proto_attach at = { .version = KD_PROTO_VERSION };
	struct iovec iov[2] = { { &hdr, sizeof(hdr) }, { &at, sizeof(at) } };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	int sp[2];

	strcpy(sa.sun_path, path);
	r->qfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (r->qfd < 0 || connect(r->qfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return -errno;
	memset(&cm, 0, sizeof(cm));
	cm.h.cmsg_level = SOL_SOCKET;
	cm.h.cmsg_type = SCM_RIGHTS;
	cm.h.cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(&cm.h), &sp[1], sizeof(int));
	if (sendmsg(r->qfd, &mh, MSG_NOSIGNAL) < 0)
		return -errno;
	close(sp[1]);
	r->cfd = sp[0];
	return 0;
}

static void raw_close(struct raw *r)
{
	close(r->qfd);
	close(r->cfd);
}

/* Send one packet; with_fd attaches a pipe end (fds the broker must not leak). */
static void raw_send(struct raw *r, const void *buf, size_t len, bool with_fd)
{
	struct iovec iov = { (void *)buf, len };
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int p[2] = { -1, -1 };

	if (with_fd && pipe2(p, O_CLOEXEC) == 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.b;
		mh.msg_controllen = sizeof(cm.b);
		cm.h.cmsg_level = SOL_SOCKET;
		cm.h.cmsg_type = SCM_RIGHTS;
		cm.h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&cm.h), &p[0], sizeof(int));
	}
	(void)sendmsg(r->cfd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (p[0] >= 0) {
		close(p[0]);
		close(p[1]);
	}
}

/* Drain whatever the broker answered, without blocking. */
static void raw_drain(struct raw *r)
{
	char buf[65536];
	int n;

	do
		n = (int)recv(r->cfd, buf, sizeof(buf), MSG_DONTWAIT);
	while (n > 0);
}

/* The bus still serves a well-behaved connection: a message to itself. */
static void assert_alive(struct kt_conn *good, uint64_t cookie)
{
	struct kdbus_msg *m;

	assert_ret(kt_send_simple(good, good->id, cookie, 0, 0, 0), 0);
	assert_ret(kt_recv(good, 0, 0, &m, NULL), 0);
	assert_int_equal(m->cookie, cookie);
	kt_msg_release(good, m);
}

static void fill_packet(uint8_t *buf, size_t *len, bool valid_header)
{
	struct kd_proto_hdr *h = (struct kd_proto_hdr *)buf;
	size_t i, n = rnd() % 600;

	if (rnd() % 8 == 0)
		n = rnd() % (KD_PROTO_MAX_PACKET - sizeof(*h));
	for (i = 0; i < sizeof(*h) + n; i++)
		buf[i] = (uint8_t)rnd();
	if (valid_header) {
		h->type = (uint32_t)(rnd() % (KD_PROTO_TOMBSTONE + 3));
		h->n_fds = 0;
		h->arg = rnd() % (_KD_CMD_MAX + 2);
		h->flags = rnd() % 3 == 0 ? KD_PROTO_F_MORE : 0;
		h->total = rnd() % 4 == 0 ? rnd() : sizeof(*h) + n + rnd() % 4096;
		h->error = 0;
		if (n >= 8 && rnd() % 2) {
			/* a plausible command: its size field says what was sent, or nearly */
			uint64_t sz = n - (rnd() % 3 == 0 ? rnd() % 16 : 0);

			memcpy(buf + sizeof(*h), &sz, sizeof(sz));
		}
	}
	*len = sizeof(*h) + n;
	if (rnd() % 16 == 0)
		*len = rnd() % sizeof(*h); /* truncated header */
}

static void test_garbage_before_hello(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *good = kt_conn_new(bus);
	static uint8_t buf[KD_PROTO_MAX_PACKET];
	struct raw r;
	size_t len;
	int i, k;

	assert_non_null(good);
	rng_state = 0x9e3779b97f4a7c15ull;
	for (k = 0; k < 40; k++) {
		assert_int_equal(raw_open(bus->path, &r), 0);
		for (i = 0; i < 50; i++) {
			fill_packet(buf, &len, rnd() % 4 != 0);
			raw_send(&r, buf, len, rnd() % 10 == 0);
		}
		raw_drain(&r);
		raw_close(&r);
		assert_alive(good, 1000 + (uint64_t)k);
	}
	kt_conn_free(good);
}

static void test_garbage_after_hello(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *good = kt_conn_new(bus);
	static uint8_t buf[KD_PROTO_MAX_PACKET];
	struct kd_proto_hdr *h = (struct kd_proto_hdr *)buf;
	struct kdbus_cmd_hello *hello = (struct kdbus_cmd_hello *)(buf + sizeof(*h));
	struct raw r;
	size_t len;
	int i, k;

	assert_non_null(good);
	rng_state = 0x123456789abcdefull;
	for (k = 0; k < 40; k++) {
		assert_int_equal(raw_open(bus->path, &r), 0);
		/* a real HELLO first, so the garbage reaches the connected state's code */
		memset(buf, 0, sizeof(*h) + sizeof(*hello));
		h->type = KD_PROTO_REQ;
		h->serial = 1;
		h->arg = KD_CMD_HELLO;
		h->total = sizeof(*hello);
		hello->size = sizeof(*hello);
		hello->pool_size = 1 << 20;
		raw_send(&r, buf, sizeof(*h) + sizeof(*hello), false);
		for (i = 0; i < 50; i++) {
			fill_packet(buf, &len, true);
			if (rnd() % 2) {
				h->type = KD_PROTO_REQ;
				h->arg = KD_CMD_SEND;
				h->flags = 0;
			}
			raw_send(&r, buf, len, rnd() % 10 == 0);
		}
		raw_drain(&r);
		raw_close(&r);
		assert_alive(good, 2000 + (uint64_t)k);
	}
	kt_conn_free(good);
}

/* A client that stops reading: the broker must not block on it. */
static void test_reader_that_never_reads(void **state)
{
	struct kt_bus *bus = *state;
	struct kt_conn *good = kt_conn_new(bus);
	struct kt_conn *lazy = kt_conn_new(bus);
	int i, r, sent = 0;

	assert_non_null(good);
	assert_non_null(lazy);
	/* fill lazy's queue far beyond its socket buffer, until the quota says no */
	for (i = 0; i < 4000; i++) {
		r = kt_send_simple(good, lazy->id, (uint64_t)i + 1, 0, 0, 0);
		if (r < 0) {
			assert_ret(r, -ENOBUFS);
			break;
		}
		sent++;
	}
	assert_true(sent >= 200);
	assert_alive(good, 77);
	/* everything queued is still there, in order */
	for (i = 0; i < sent; i++) {
		struct kdbus_msg *m;

		assert_ret(kt_recv(lazy, 0, 0, &m, NULL), 0);
		assert_int_equal(m->cookie, (uint64_t)i + 1);
		kt_msg_release(lazy, m);
	}
	assert_ret(kt_recv(lazy, 0, 0, NULL, NULL), -EAGAIN);
	kt_conn_free(lazy);
	kt_conn_free(good);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		KT_TEST(test_garbage_before_hello),
		KT_TEST(test_garbage_after_hello),
		KT_TEST(test_reader_that_never_reads),
	};

	/* the socket backend's own protocol: nothing to test on the kernel module */
	if (getenv("KDBUS_BACKEND") && !strcmp(getenv("KDBUS_BACKEND"), "kmod"))
		return 77;
	return kt_run("broker-robust", tests, sizeof(tests) / sizeof(tests[0]));
}
