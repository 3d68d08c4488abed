/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of SEND checks (spec 7.2 step 6) and slice layout (6.3, 8.1). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/item.h"
#include "core/limits.h"
#include "core/msg.h"

#define MIB (1024ULL * 1024ULL)

/* The message under construction, 8-aligned. */
static kd_u64 buf[(KDBUS_CMD_MAX_SIZE + 256) / 8];
static kd_u64 bsize;
static struct kdbus_msg *const m = (struct kdbus_msg *)(void *)buf;

/* A unicast D-Bus message to connection 5 unless changed. */
static void m_init(kd_u64 flags, kd_u64 dst_id, kd_u64 timeout_ns)
{
	memset(buf, 0, sizeof(buf));
	bsize = sizeof(struct kdbus_msg);
	m->flags = flags;
	m->priority = -3;
	m->dst_id = dst_id;
	m->payload_type = KDBUS_PAYLOAD_DBUS;
	m->cookie = 99;
	m->timeout_ns = timeout_ns;
}

static struct kdbus_item *m_add(kd_u64 type, const void *data, kd_u64 len)
{
	kd_u64 off = KD_ALIGN8(bsize);
	struct kdbus_item *item = (void *)((kd_u8 *)buf + off);

	assert_true(off + 16 + len <= sizeof(buf));
	item->size = KDBUS_ITEM_HEADER_SIZE + len;
	item->type = type;
	if (len && data)
		memcpy(item->data, data, len);
	bsize = off + KDBUS_ITEM_HEADER_SIZE + len;
	return item;
}

static void m_vec(kd_u64 address, kd_u64 size)
{
	struct kdbus_vec v = { .size = size, .address = address };

	m_add(KDBUS_ITEM_PAYLOAD_VEC, &v, sizeof(v));
}

static void m_memfd(kd_u64 start, kd_u64 size, int fd)
{
	struct kdbus_memfd mf = { .start = start, .size = size, .fd = fd };

	m_add(KDBUS_ITEM_PAYLOAD_MEMFD, &mf, sizeof(mf));
}

static void m_memfds(unsigned int n)
{
	while (n--)
		m_memfd(0, 8, 3);
}

static void m_fds(unsigned int n)
{
	int fds[32] = { 0 };

	assert_true(n <= 32);
	m_add(KDBUS_ITEM_FDS, fds, n * sizeof(int));
}

/* A bloom filter with `bytes` of filter data after the generation. */
static void m_bloom(kd_u64 bytes)
{
	kd_u8 z[8 + 128] = { 0 };

	assert_true(bytes <= 128);
	m_add(KDBUS_ITEM_BLOOM_FILTER, z, 8 + bytes);
}

static void m_dst_name(const char *s)
{
	m_add(KDBUS_ITEM_DST_NAME, s, strlen(s) + 1);
}

/* Validate as SEND would (must pass), then run the step 6 checks. */
static int m_check(kd_u64 send_flags, kd_u64 bloom_size)
{
	struct kd_items it;
	int r;

	m->size = bsize;
	assert_int_equal(kd_cmd_validate(KD_CMD_MSG, buf, bsize, false, &it), 0);
	r = kd_msg_check(m, &it, send_flags, bloom_size);
	/* The item summary is not needed: same answer without it. */
	assert_int_equal(kd_msg_check(m, NULL, send_flags, bloom_size), r);
	return r;
}

#define BCAST KDBUS_DST_ID_BROADCAST
#define SIG KDBUS_MSG_SIGNAL
#define CALL KDBUS_MSG_EXPECT_REPLY

static void test_check_valid(void **state)
{
	/* Plain unicast, call, reply, sync call, by name, signal, broadcast. */
	m_init(0, 5, 0);
	assert_int_equal(m_check(0, 64), 0);
	m_init(CALL, 5, 1000);
	assert_int_equal(m_check(0, 64), 0);
	assert_int_equal(m_check(KDBUS_SEND_SYNC_REPLY, 64), 0);
	m_init(0, 5, 77); /* cookie_reply */
	assert_int_equal(m_check(0, 64), 0);
	m_init(CALL | KDBUS_MSG_NO_AUTO_START, KDBUS_DST_ID_NAME, 1);
	m_dst_name("org.example.Foo");
	assert_int_equal(m_check(0, 64), 0);
	m_init(SIG, 5, 0);
	m_bloom(64);
	assert_int_equal(m_check(0, 64), 0);
	m_init(SIG, BCAST, 0);
	m_bloom(8);
	m_vec(0x1000, 10);
	m_memfd(0, 100, 4);
	assert_int_equal(m_check(0, 8), 0);
	/* Any non-zero payload type is accepted. */
	m_init(0, 5, 0);
	m->payload_type = 1;
	assert_int_equal(m_check(0, 64), 0);
}

/* The header checks and their precedence. */
static void test_check_header(void **state)
{
	/* payload_type 0 first of all. */
	m_init(0, 5, 0);
	m->payload_type = KDBUS_PAYLOAD_KERNEL;
	assert_int_equal(m_check(0, 64), -EINVAL);
	m_init(0, BCAST, 5);
	m->payload_type = KDBUS_PAYLOAD_KERNEL;
	assert_int_equal(m_check(0, 64), -EINVAL);

	/* Broadcasts: SIGNAL required, then no timeout/cookie_reply. */
	m_init(0, BCAST, 0);
	assert_int_equal(m_check(0, 64), -EBADMSG);
	m_init(0, BCAST, 5);
	assert_int_equal(m_check(0, 64), -EBADMSG);
	m_init(SIG, BCAST, 5);
	m_bloom(64);
	assert_int_equal(m_check(0, 64), -ENOTUNIQ);
	m_init(SIG | CALL, BCAST, 5);
	assert_int_equal(m_check(0, 64), -ENOTUNIQ);
	/* A broadcast "call" without timeout gets past the broadcast checks. */
	m_init(SIG | CALL, BCAST, 0);
	assert_int_equal(m_check(0, 64), -EINVAL);

	/* Calls: timeout required, then not a signal. */
	m_init(CALL, 5, 0);
	assert_int_equal(m_check(0, 64), -EINVAL);
	m_init(CALL | SIG, 5, 0);
	assert_int_equal(m_check(0, 64), -EINVAL);
	m_init(CALL | SIG, 5, 1);
	m_bloom(64);
	assert_int_equal(m_check(0, 64), -ENOTUNIQ);
	m_init(CALL | SIG, 5, 1);
	assert_int_equal(m_check(KDBUS_SEND_SYNC_REPLY, 64), -ENOTUNIQ);

	/* Non-calls: no SYNC_REPLY, and a reply is not a signal. */
	m_init(0, 5, 0);
	assert_int_equal(m_check(KDBUS_SEND_SYNC_REPLY, 64), -EINVAL);
	m_init(SIG, 5, 7);
	m_bloom(64);
	assert_int_equal(m_check(0, 64), -EINVAL);
	m_init(SIG, 5, 7);
	assert_int_equal(m_check(KDBUS_SEND_SYNC_REPLY, 64), -EINVAL);

	/* Header errors come before item errors. */
	m_init(0, 5, 0);
	m->payload_type = 0;
	m_fds(17);
	assert_int_equal(m_check(0, 64), -EINVAL);
	m_init(0, BCAST, 0);
	m_memfds(17);
	assert_int_equal(m_check(0, 64), -EBADMSG);
}

/* Item checks, each errno and their order. */
static void test_check_items(void **state)
{
	/* VEC sum: 2 MiB is the limit, zero vectors count, wrap-around too. */
	m_init(0, 5, 0);
	m_vec(0x1000, MIB);
	m_vec(0x2000, MIB);
	assert_int_equal(m_check(0, 64), 0);
	m_vec(0, 1);
	assert_int_equal(m_check(0, 64), -EMSGSIZE);
	m_init(0, 5, 0);
	m_vec(0, 2 * MIB + 1);
	assert_int_equal(m_check(0, 64), -EMSGSIZE);
	m_init(0, 5, 0);
	m_vec(0x1000, 8);
	m_vec(0x1000, ~0ULL - 3);
	assert_int_equal(m_check(0, 64), -EMSGSIZE);

	/* Memfds: 16 allowed, the 17th is E2BIG; start + size must not wrap. */
	m_init(0, 5, 0);
	m_memfds(16);
	assert_int_equal(m_check(0, 64), 0);
	m_memfds(1);
	assert_int_equal(m_check(0, 64), -E2BIG);
	m_init(0, 5, 0);
	m_memfd(~0ULL, 1, 3);
	assert_int_equal(m_check(0, 64), -EMSGSIZE);
	m_init(0, 5, 0);
	m_memfd(~0ULL - 1, 1, 3);
	assert_int_equal(m_check(0, 64), 0);
	/* On the 17th memfd the wrap check comes first. */
	m_init(0, 5, 0);
	m_memfds(16);
	m_memfd(~0ULL, 1, 3);
	assert_int_equal(m_check(0, 64), -EMSGSIZE);

	/* FDS: 16 allowed, 17 EMFILE. */
	m_init(0, 5, 0);
	m_fds(16);
	assert_int_equal(m_check(0, 64), 0);
	m_init(0, 5, 0);
	m_fds(17);
	assert_int_equal(m_check(0, 64), -EMFILE);

	/* Item order decides (selftest: 17 fds + memfds EMFILE, 17 memfds E2BIG). */
	m_init(0, 5, 0);
	m_fds(17);
	m_memfds(17);
	assert_int_equal(m_check(0, 64), -EMFILE);
	m_init(0, 5, 0);
	m_memfds(17);
	m_fds(17);
	assert_int_equal(m_check(0, 64), -E2BIG);
	m_init(0, 5, 0);
	m_vec(0, 3 * MIB);
	m_memfds(17);
	assert_int_equal(m_check(0, 64), -EMSGSIZE);
	m_init(0, 5, 0);
	m_memfds(17);
	m_vec(0, 3 * MIB);
	assert_int_equal(m_check(0, 64), -E2BIG);

	/* Bloom filter: data a multiple of 8 (EFAULT), equal to the bus's (EDOM). */
	m_init(SIG, 5, 0);
	m_bloom(60);
	assert_int_equal(m_check(0, 64), -EFAULT);
	m_init(SIG, 5, 0);
	m_bloom(4);
	assert_int_equal(m_check(0, 64), -EFAULT);
	m_init(SIG, 5, 0);
	m_bloom(56);
	assert_int_equal(m_check(0, 64), -EDOM);
	m_init(SIG, 5, 0);
	m_bloom(0);
	assert_int_equal(m_check(0, 64), -EDOM);
	m_init(SIG, 5, 0);
	m_bloom(72);
	assert_int_equal(m_check(0, 64), -EDOM);
	assert_int_equal(m_check(0, 72), 0);

	/* DST_NAME: a valid name, and never on a broadcast. */
	static const char *const bad[] = {
		"foo", "foo.", ".foo", "foo..bar", "1foo.bar", "foo.1bar", "foo.b@r",
		"foo.bar.*", "foo bar.x", "",
	};
	unsigned int i;

	for (i = 0; i < KD_ARRAY_SIZE(bad); i++) {
		m_init(0, KDBUS_DST_ID_NAME, 0);
		m_dst_name(bad[i]);
		assert_int_equal(m_check(0, 64), -EINVAL);
	}
	m_init(0, KDBUS_DST_ID_NAME, 0);
	m_dst_name("a-b.c_d.e1");
	assert_int_equal(m_check(0, 64), 0);
	/* Name length: 255 fine, 256 not. */
	{
		char n[260];

		memset(n, 'a', sizeof(n));
		n[1] = '.';
		n[255] = '\0';
		m_init(0, KDBUS_DST_ID_NAME, 0);
		m_dst_name(n);
		assert_int_equal(m_check(0, 64), 0);
		n[255] = 'a';
		n[256] = '\0';
		m_init(0, KDBUS_DST_ID_NAME, 0);
		m_dst_name(n);
		assert_int_equal(m_check(0, 64), -EINVAL);
	}
	m_init(SIG, BCAST, 0);
	m_dst_name("foo.bar");
	m_bloom(64);
	assert_int_equal(m_check(0, 64), -EBADMSG);
	m_init(SIG, BCAST, 0);
	m_dst_name("foo");
	m_bloom(64);
	assert_int_equal(m_check(0, 64), -EINVAL);
	/* DST_NAME with an id is allowed here (owner check comes later). */
	m_init(0, 5, 0);
	m_dst_name("foo.bar");
	assert_int_equal(m_check(0, 64), 0);

	/* A NEGOTIATE item on a real send: EINVAL where it stands. */
	m_init(0, 5, 0);
	m_add(KDBUS_ITEM_NEGOTIATE, NULL, 0);
	assert_int_equal(m_check(0, 64), -EINVAL);
	m_init(0, 5, 0);
	m_fds(17);
	m_add(KDBUS_ITEM_NEGOTIATE, NULL, 0);
	assert_int_equal(m_check(0, 64), -EMFILE);
	m_init(0, 5, 0);
	m_add(KDBUS_ITEM_NEGOTIATE, NULL, 0);
	m_fds(17);
	assert_int_equal(m_check(0, 64), -EINVAL);
}

/* The consistency checks after the items, and their order. */
static void test_check_final(void **state)
{
	m_init(SIG, 5, 0);
	assert_int_equal(m_check(0, 64), -EBADMSG);
	m_init(0, 5, 0);
	m_bloom(64);
	assert_int_equal(m_check(0, 64), -EBADMSG);

	m_init(0, KDBUS_DST_ID_NAME, 0);
	assert_int_equal(m_check(0, 64), -EDESTADDRREQ);
	m_init(SIG, KDBUS_DST_ID_NAME, 0);
	assert_int_equal(m_check(0, 64), -EBADMSG);
	m_init(SIG, KDBUS_DST_ID_NAME, 0);
	m_bloom(64);
	assert_int_equal(m_check(0, 64), -EDESTADDRREQ);

	m_init(SIG, BCAST, 0);
	m_bloom(64);
	m_fds(1);
	assert_int_equal(m_check(0, 64), -ENOTUNIQ);
	m_init(SIG, BCAST, 0);
	m_bloom(64);
	m_fds(0);
	assert_int_equal(m_check(0, 64), -ENOTUNIQ);
	m_init(SIG, BCAST, 0);
	m_fds(1);
	assert_int_equal(m_check(0, 64), -EBADMSG);
	/* Memfds are payload, fine on broadcasts. */
	m_init(SIG, BCAST, 0);
	m_bloom(64);
	m_memfds(16);
	assert_int_equal(m_check(0, 64), 0);
}

/* Sources of data vectors for the copy callback. */
struct src {
	kd_u64 address;
	const char *data;
	kd_u64 size;
};

struct copy_ctx {
	const struct src *srcs;
	unsigned int n_srcs;
	unsigned int calls;
	unsigned int fail_at; /* 1-based call that fails, 0 = none */
};

static int copy_fn(void *ctx, void *dst, kd_u64 address, kd_u64 size)
{
	struct copy_ctx *c = ctx;
	unsigned int i;

	c->calls++;
	if (c->calls == c->fail_at)
		return -EFAULT;
	for (i = 0; i < c->n_srcs; i++) {
		if (c->srcs[i].address == address) {
			assert_int_equal(size, c->srcs[i].size);
			memcpy(dst, c->srcs[i].data, size);
			return 0;
		}
	}
	fail_msg("copy of unknown address %llx", (unsigned long long)address);
	return -EFAULT;
}

static kd_u64 slice[1024];

static const struct kdbus_item *slice_item(kd_u64 off)
{
	return (const struct kdbus_item *)(const void *)((kd_u8 *)slice + off);
}

static void assert_zero(kd_u64 from, kd_u64 to)
{
	kd_u64 i;

	for (i = from; i < to; i++)
		if (((kd_u8 *)slice)[i] != 0)
			fail_msg("byte %llu not zero", (unsigned long long)i);
}

static const struct src layout_srcs[] = {
	{ 0x1000, "Hello, World!", 13 },
	{ 0x2000, "01234567", 8 },
	{ 0x3000, "xyz", 3 },
};

/*
 * The mixed message of the layout tests:
 *   64 VEC 0x1000/13, 96 zero VEC 5, 128 MEMFD size 10, 168 VEC 0x2000/8,
 *   200 VEC 0x3000/3, 232 FDS {7, 8}, 256 DST_NAME "a.b" (20, unpadded).
 */
static void build_mixed(void)
{
	int fds[2] = { 7, 8 };

	m_init(KDBUS_MSG_EXPECT_REPLY, 12, 5000);
	m_vec(0x1000, 13);
	m_vec(0, 5);
	m_memfd(4, 10, 3);
	m_vec(0x2000, 8);
	m_vec(0x3000, 3);
	m_add(KDBUS_ITEM_FDS, fds, sizeof(fds));
	m_dst_name("a.b");
	m->size = bsize;
	assert_int_equal(bsize, 276);
}

static void check_off(kd_u64 at, kd_u64 size, kd_u64 offset)
{
	const struct kdbus_item *item = slice_item(at);

	assert_int_equal(item->size, 32);
	assert_int_equal(item->type, KDBUS_ITEM_PAYLOAD_OFF);
	assert_int_equal(item->vec.size, size);
	assert_int_equal(item->vec.offset, offset);
	assert_int_equal(kd_item_validate(item), 0);
}

/* Header and items of the mixed message; po = payload offset. */
static void check_mixed(kd_u64 msg_size, kd_u64 po)
{
	const struct kdbus_msg *r = (const struct kdbus_msg *)(const void *)slice;
	const struct kdbus_item *item;

	assert_int_equal(r->size, msg_size);
	assert_int_equal(r->flags, KDBUS_MSG_EXPECT_REPLY);
	assert_int_equal(r->priority, -3);
	assert_int_equal(r->dst_id, 12);
	assert_int_equal(r->src_id, 42);
	assert_int_equal(r->payload_type, KDBUS_PAYLOAD_DBUS);
	assert_int_equal(r->cookie, 99);
	assert_int_equal(r->timeout_ns, 5000);

	/* Data vectors back to back; zero vectors ~0 and size % 8 bytes. */
	check_off(64, 13, po);
	check_off(96, 5, ~0ULL);
	item = slice_item(128);
	assert_int_equal(item->size, 40);
	assert_int_equal(item->type, KDBUS_ITEM_PAYLOAD_MEMFD);
	assert_int_equal(item->memfd.start, 4);
	assert_int_equal(item->memfd.size, 10);
	assert_int_equal(item->memfd.fd, 3);
	check_off(168, 8, po + 13 + 5 + 2);
	check_off(200, 3, po + 13 + 5 + 2 + 8);
	item = slice_item(232);
	assert_int_equal(item->size, 24);
	assert_int_equal(item->type, KDBUS_ITEM_FDS);
	assert_int_equal(item->fds[0], 7);
	assert_int_equal(item->fds[1], 8);
	item = slice_item(256);
	assert_int_equal(item->size, 20);
	assert_int_equal(item->type, KDBUS_ITEM_DST_NAME);
	assert_string_equal(item->str, "a.b");
	assert_zero(276, 280);

	/* Payload area. */
	assert_memory_equal((kd_u8 *)slice + po, "Hello, World!", 13);
	assert_zero(po + 13, po + 13 + 5 + 2);
	assert_memory_equal((kd_u8 *)slice + po + 20, "01234567", 8);
	assert_memory_equal((kd_u8 *)slice + po + 28, "xyz", 3);
}

static void test_layout_mixed(void **state)
{
	struct copy_ctx cc = { layout_srcs, KD_ARRAY_SIZE(layout_srcs), 0, 0 };
	struct kd_msg_layout l;

	build_mixed();

	/* Without metadata: msg.size is the sender's, payload at ALIGN8. */
	kd_msg_layout(m, 0, &l);
	assert_int_equal(l.items_end, 280);
	assert_int_equal(l.meta_size, 0);
	assert_int_equal(l.msg_size, 276);
	assert_int_equal(l.payload_off, 280);
	assert_int_equal(l.payload_size, 13 + 5 + 2 + 8 + 3);
	assert_int_equal(l.slice_size, 312);

	memset(slice, 0xaa, sizeof(slice));
	assert_int_equal(kd_msg_write(slice, m, 42, NULL, &l, copy_fn, &cc), 0);
	assert_int_equal(cc.calls, 3);
	check_mixed(276, 280);
	assert_zero(311, 312);
	/* Nothing written past the slice. */
	assert_int_equal(((kd_u8 *)slice)[312], 0xaa);

	/* The sender's message is untouched. */
	assert_int_equal(m->items[0].type, KDBUS_ITEM_PAYLOAD_VEC);
	assert_int_equal(m->items[0].vec.address, 0x1000);
	assert_int_equal(m->size, 276);
	assert_int_equal(m->src_id, 0);
}

static void test_layout_meta(void **state)
{
	struct copy_ctx cc = { layout_srcs, KD_ARRAY_SIZE(layout_srcs), 0, 0 };
	struct kd_msg_layout l;
	kd_u8 meta[44];
	unsigned int i;

	for (i = 0; i < sizeof(meta); i++)
		meta[i] = (kd_u8)(i + 1);
	build_mixed();

	/* Metadata after ALIGN8(sender size); msg.size covers it unpadded. */
	kd_msg_layout(m, sizeof(meta), &l);
	assert_int_equal(l.items_end, 280);
	assert_int_equal(l.meta_size, 44);
	assert_int_equal(l.msg_size, 324);
	assert_int_equal(l.payload_off, 328);
	assert_int_equal(l.payload_size, 31);
	assert_int_equal(l.slice_size, 360);

	memset(slice, 0xaa, sizeof(slice));
	assert_int_equal(kd_msg_write(slice, m, 42, meta, &l, copy_fn, &cc), 0);
	check_mixed(324, 328);
	assert_memory_equal((kd_u8 *)slice + 280, meta, sizeof(meta));
	assert_zero(324, 328);
	assert_zero(359, 360);
	assert_int_equal(((kd_u8 *)slice)[360], 0xaa);
}

static void test_layout_copy_error(void **state)
{
	struct copy_ctx cc = { layout_srcs, KD_ARRAY_SIZE(layout_srcs), 0, 2 };
	struct kd_msg_layout l;

	build_mixed();
	kd_msg_layout(m, 0, &l);
	assert_int_equal(kd_msg_write(slice, m, 42, NULL, &l, copy_fn, &cc), -EFAULT);
	assert_int_equal(cc.calls, 2);
}

static void test_layout_simple(void **state)
{
	struct copy_ctx cc = { layout_srcs, KD_ARRAY_SIZE(layout_srcs), 0, 0 };
	const struct kdbus_msg *r = (const struct kdbus_msg *)(const void *)slice;
	struct kd_msg_layout l;
	kd_u8 meta[40];

	/* No items, no metadata: just the header. */
	m_init(0, 5, 0);
	m->size = bsize;
	kd_msg_layout(m, 0, &l);
	assert_int_equal(l.items_end, 64);
	assert_int_equal(l.msg_size, 64);
	assert_int_equal(l.payload_off, 64);
	assert_int_equal(l.payload_size, 0);
	assert_int_equal(l.slice_size, 64);
	memset(slice, 0xaa, sizeof(slice));
	assert_int_equal(kd_msg_write(slice, m, 7, NULL, &l, copy_fn, &cc), 0);
	assert_int_equal(r->src_id, 7);
	assert_int_equal(r->size, 64);
	assert_int_equal(((kd_u8 *)slice)[64], 0xaa);
	assert_int_equal(cc.calls, 0);

	/* Header plus one 40-byte metadata item. */
	memset(meta, 0x11, sizeof(meta));
	kd_msg_layout(m, sizeof(meta), &l);
	assert_int_equal(l.msg_size, 104);
	assert_int_equal(l.slice_size, 104);
	assert_int_equal(kd_msg_write(slice, m, 7, meta, &l, copy_fn, &cc), 0);
	assert_memory_equal((kd_u8 *)slice + 64, meta, sizeof(meta));

	/* 8-multiple zero vector and memfd: no payload bytes. */
	m_init(0, 5, 0);
	m_vec(0, 16);
	m_memfd(0, 16, 3);
	m->size = bsize;
	assert_int_equal(bsize, 64 + 32 + 40);
	kd_msg_layout(m, 0, &l);
	assert_int_equal(l.payload_size, 0);
	assert_int_equal(l.slice_size, 136);
	memset(slice, 0xaa, sizeof(slice));
	assert_int_equal(kd_msg_write(slice, m, 7, NULL, &l, copy_fn, &cc), 0);
	check_off(64, 16, ~0ULL);
	assert_int_equal(((kd_u8 *)slice)[136], 0xaa);

	/* Odd memfd size after data: padding of size % 8 (here 7) follows it. */
	m_init(0, 5, 0);
	m_vec(0x3000, 3);
	m_memfd(0, 15, 3);
	m_vec(0x1000, 13);
	m->size = bsize;
	kd_msg_layout(m, 0, &l);
	assert_int_equal(l.payload_off, 168);
	assert_int_equal(l.payload_size, 3 + 7 + 13);
	assert_int_equal(l.slice_size, 168 + 24);
	memset(slice, 0xaa, sizeof(slice));
	cc.calls = 0;
	assert_int_equal(kd_msg_write(slice, m, 7, NULL, &l, copy_fn, &cc), 0);
	check_off(64, 3, 168);
	check_off(136, 13, 178);
	assert_memory_equal((kd_u8 *)slice + 168, "xyz", 3);
	assert_zero(171, 178);
	assert_memory_equal((kd_u8 *)slice + 178, "Hello, World!", 13);
	assert_zero(191, 192);
}

static void test_notify(void **state)
{
	const struct kdbus_timestamp ts = { .seqnum = 11, .monotonic_ns = 22, .realtime_ns = 33 };
	const struct kdbus_msg *r = (const struct kdbus_msg *)(const void *)slice;
	struct kdbus_notify_id_change id = { .id = 42, .flags = KDBUS_HELLO_ACCEPT_FD };
	kd_u8 nc[48];
	const struct kdbus_item *item;

	assert_int_equal(kd_msg_notify_size(0), 120);
	assert_int_equal(kd_msg_notify_size(16), 136);
	assert_int_equal(kd_msg_notify_size(36), 160);
	assert_int_equal(kd_msg_notify_size(40), 160);

	/* ID_ADD: broadcast signal, item 32, TIMESTAMP at 96. */
	memset(slice, 0xaa, sizeof(slice));
	kd_msg_notify_write(slice, KDBUS_DST_ID_BROADCAST, KDBUS_MSG_SIGNAL, 0, KDBUS_ITEM_ID_ADD,
			    &id, sizeof(id), &ts);
	assert_int_equal(r->size, 136);
	assert_int_equal(r->flags, KDBUS_MSG_SIGNAL);
	assert_int_equal(r->priority, 0);
	assert_int_equal(r->dst_id, KDBUS_DST_ID_BROADCAST);
	assert_int_equal(r->src_id, KDBUS_SRC_ID_KERNEL);
	assert_int_equal(r->payload_type, KDBUS_PAYLOAD_KERNEL);
	assert_int_equal(r->cookie, 0);
	assert_int_equal(r->cookie_reply, 0);
	item = slice_item(64);
	assert_int_equal(item->size, 32);
	assert_int_equal(item->type, KDBUS_ITEM_ID_ADD);
	assert_int_equal(item->id_change.id, 42);
	assert_int_equal(item->id_change.flags, KDBUS_HELLO_ACCEPT_FD);
	assert_int_equal(kd_item_validate(item), 0);
	item = slice_item(96);
	assert_int_equal(item->size, 40);
	assert_int_equal(item->type, KDBUS_ITEM_TIMESTAMP);
	assert_int_equal(item->timestamp.seqnum, 11);
	assert_int_equal(item->timestamp.monotonic_ns, 22);
	assert_int_equal(item->timestamp.realtime_ns, 33);
	assert_int_equal(kd_item_validate(item), 0);
	assert_int_equal(((kd_u8 *)slice)[136], 0xaa);

	/* NAME_CHANGE "a.b": item 52, padded to 56, padding zeroed. */
	memset(nc, 0, sizeof(nc));
	memcpy(nc, &(kd_u64){ 5 }, 8);
	memcpy(nc + 8, &(kd_u64){ KDBUS_NAME_PRIMARY }, 8);
	memcpy(nc + 16, &(kd_u64){ 6 }, 8);
	memcpy(nc + 32, "a.b", 4);
	memset(slice, 0xaa, sizeof(slice));
	kd_msg_notify_write(slice, KDBUS_DST_ID_BROADCAST, KDBUS_MSG_SIGNAL, 0,
			    KDBUS_ITEM_NAME_CHANGE, nc, 36, &ts);
	assert_int_equal(r->size, 160);
	item = slice_item(64);
	assert_int_equal(item->size, 52);
	assert_int_equal(item->type, KDBUS_ITEM_NAME_CHANGE);
	assert_int_equal(item->name_change.old_id.id, 5);
	assert_int_equal(item->name_change.old_id.flags, KDBUS_NAME_PRIMARY);
	assert_int_equal(item->name_change.new_id.id, 6);
	assert_string_equal(item->name_change.name, "a.b");
	assert_int_equal(kd_item_validate(item), 0);
	assert_zero(116, 120);
	item = slice_item(120);
	assert_int_equal(item->type, KDBUS_ITEM_TIMESTAMP);
	assert_int_equal(item->timestamp.seqnum, 11);
	assert_int_equal(((kd_u8 *)slice)[160], 0xaa);

	/* REPLY_TIMEOUT: unicast to the caller, cookie_reply, empty item. */
	memset(slice, 0xaa, sizeof(slice));
	kd_msg_notify_write(slice, 9, 0, 77, KDBUS_ITEM_REPLY_TIMEOUT, NULL, 0, &ts);
	assert_int_equal(r->size, 120);
	assert_int_equal(r->flags, 0);
	assert_int_equal(r->dst_id, 9);
	assert_int_equal(r->src_id, 0);
	assert_int_equal(r->payload_type, 0);
	assert_int_equal(r->cookie_reply, 77);
	item = slice_item(64);
	assert_int_equal(item->size, 16);
	assert_int_equal(item->type, KDBUS_ITEM_REPLY_TIMEOUT);
	assert_int_equal(kd_item_validate(item), 0);
	item = slice_item(80);
	assert_int_equal(item->size, 40);
	assert_int_equal(item->type, KDBUS_ITEM_TIMESTAMP);
	assert_int_equal(item->timestamp.realtime_ns, 33);
	assert_int_equal(((kd_u8 *)slice)[120], 0xaa);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_valid),
		cmocka_unit_test(test_check_header),
		cmocka_unit_test(test_check_items),
		cmocka_unit_test(test_check_final),
		cmocka_unit_test(test_layout_mixed),
		cmocka_unit_test(test_layout_meta),
		cmocka_unit_test(test_layout_copy_error),
		cmocka_unit_test(test_layout_simple),
		cmocka_unit_test(test_notify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
