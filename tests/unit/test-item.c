/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of command and item validation (spec 2.1-2.3, 3.2, 5.2). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "core/item.h"
#include "core/limits.h"

/* One command buffer, 8-aligned, large enough for the 32 KiB limit and more. */
static kd_u64 buf[(KDBUS_CMD_MAX_SIZE + 256) / 8];
static kd_u64 bsize;

static void b_init(enum kd_cmd c)
{
	memset(buf, 0, sizeof(buf));
	bsize = kd_cmd_fixed_size(c);
}

/* Append an item; the command size omits its padding, as the selftests do. */
static struct kdbus_item *b_add(kd_u64 type, const void *data, kd_u64 len)
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

static struct kdbus_item *b_str(kd_u64 type, const char *s)
{
	return b_add(type, s, strlen(s) + 1);
}

static struct kdbus_item *b_u64(kd_u64 type, kd_u64 v)
{
	return b_add(type, &v, sizeof(v));
}

static int b_run_neg(enum kd_cmd c, kd_u64 flags, bool send_negotiate, struct kd_items *it)
{
	buf[0] = bsize;
	buf[1] = flags;
	return kd_cmd_validate(c, buf, bsize, send_negotiate, it);
}

static int b_run(enum kd_cmd c, kd_u64 flags, struct kd_items *it)
{
	return b_run_neg(c, flags, false, it);
}

/* A payload that satisfies the spec 5.2 rule of type t. */
static struct kdbus_item *b_valid(kd_u64 t)
{
	kd_u8 zero[64] = { 0 };

	switch (t) {
	case KDBUS_ITEM_NEGOTIATE:
		return b_u64(t, KDBUS_ITEM_NEGOTIATE);
	case KDBUS_ITEM_PAYLOAD_VEC:
	case KDBUS_ITEM_PAYLOAD_OFF: {
		struct kdbus_vec v = { .size = 8, .address = 0x1000 };
		return b_add(t, &v, sizeof(v));
	}
	case KDBUS_ITEM_PAYLOAD_MEMFD: {
		struct kdbus_memfd m = { .start = 0, .size = 8, .fd = 3 };
		return b_add(t, &m, sizeof(m));
	}
	case KDBUS_ITEM_FDS:
	case KDBUS_ITEM_CANCEL_FD:
		return b_add(t, zero, sizeof(int));
	case KDBUS_ITEM_BLOOM_PARAMETER: {
		struct kdbus_bloom_parameter p = { .size = 64, .n_hash = 1 };
		return b_add(t, &p, sizeof(p));
	}
	case KDBUS_ITEM_BLOOM_FILTER:
		return b_add(t, zero, 16);
	case KDBUS_ITEM_BLOOM_MASK:
	case KDBUS_ITEM_AUXGROUPS:
	case KDBUS_ITEM_AUDIT:
		return b_add(t, zero, 8);
	case KDBUS_ITEM_MAKE_NAME:
	case KDBUS_ITEM_CONN_DESCRIPTION:
		return b_str(t, "0-foo");
	case KDBUS_ITEM_TIMESTAMP:
	case KDBUS_ITEM_PIDS:
	case KDBUS_ITEM_POLICY_ACCESS:
		return b_add(t, zero, 24);
	case KDBUS_ITEM_CREDS:
		return b_add(t, zero, 64);
	case KDBUS_ITEM_CAPS:
		return b_add(t, zero, 4 + 4 * 4);
	case KDBUS_ITEM_NAME_ADD:
	case KDBUS_ITEM_NAME_REMOVE:
	case KDBUS_ITEM_NAME_CHANGE:
		return b_add(t, zero, 32);
	case KDBUS_ITEM_ID_ADD:
	case KDBUS_ITEM_ID_REMOVE:
		return b_add(t, zero, 16);
	case KDBUS_ITEM_REPLY_TIMEOUT:
	case KDBUS_ITEM_REPLY_DEAD:
		return b_add(t, NULL, 0);
	case KDBUS_ITEM_NAME:
	case KDBUS_ITEM_DST_NAME:
	case KDBUS_ITEM_TID_COMM:
	case KDBUS_ITEM_PID_COMM:
	case KDBUS_ITEM_EXE:
	case KDBUS_ITEM_CMDLINE:
	case KDBUS_ITEM_CGROUP:
	case KDBUS_ITEM_SECLABEL:
	case KDBUS_ITEM_OWNED_NAME:
		return b_str(t, "foo.bar");
	default:
		/* ATTACH_FLAGS_*, ID, DST_ID and unknown types. */
		return b_u64(t, 0);
	}
}

static const kd_u64 all_types[] = {
	_KDBUS_ITEM_NULL,
	KDBUS_ITEM_NEGOTIATE,
	KDBUS_ITEM_PAYLOAD_VEC,
	KDBUS_ITEM_PAYLOAD_OFF,
	KDBUS_ITEM_PAYLOAD_MEMFD,
	KDBUS_ITEM_FDS,
	KDBUS_ITEM_CANCEL_FD,
	KDBUS_ITEM_BLOOM_PARAMETER,
	KDBUS_ITEM_BLOOM_FILTER,
	KDBUS_ITEM_BLOOM_MASK,
	KDBUS_ITEM_DST_NAME,
	KDBUS_ITEM_MAKE_NAME,
	KDBUS_ITEM_ATTACH_FLAGS_SEND,
	KDBUS_ITEM_ATTACH_FLAGS_RECV,
	KDBUS_ITEM_ID,
	KDBUS_ITEM_NAME,
	KDBUS_ITEM_DST_ID,
	17,
	KDBUS_ITEM_TIMESTAMP,
	KDBUS_ITEM_CREDS,
	KDBUS_ITEM_PIDS,
	KDBUS_ITEM_AUXGROUPS,
	KDBUS_ITEM_OWNED_NAME,
	KDBUS_ITEM_TID_COMM,
	KDBUS_ITEM_PID_COMM,
	KDBUS_ITEM_EXE,
	KDBUS_ITEM_CMDLINE,
	KDBUS_ITEM_CGROUP,
	KDBUS_ITEM_CAPS,
	KDBUS_ITEM_SECLABEL,
	KDBUS_ITEM_AUDIT,
	KDBUS_ITEM_CONN_DESCRIPTION,
	0x100e,
	KDBUS_ITEM_POLICY_ACCESS,
	0x2001,
	KDBUS_ITEM_NAME_ADD,
	KDBUS_ITEM_NAME_REMOVE,
	KDBUS_ITEM_NAME_CHANGE,
	KDBUS_ITEM_ID_ADD,
	KDBUS_ITEM_ID_REMOVE,
	KDBUS_ITEM_REPLY_TIMEOUT,
	KDBUS_ITEM_REPLY_DEAD,
	0x8007,
	~0ULL,
};

/* Expected item lists of spec 3.2: 0 = refused, 1 = single, 2 = repeatable. */
static int expect_item(enum kd_cmd c, kd_u64 t)
{
	if (t == KDBUS_ITEM_NEGOTIATE)
		return 1;
	switch (c) {
	case KD_CMD_BUS_MAKE:
		return t == KDBUS_ITEM_MAKE_NAME || t == KDBUS_ITEM_BLOOM_PARAMETER ||
		       t == KDBUS_ITEM_ATTACH_FLAGS_SEND;
	case KD_CMD_ENDPOINT_MAKE:
		return t == KDBUS_ITEM_MAKE_NAME;
	case KD_CMD_ENDPOINT_UPDATE:
		return (t == KDBUS_ITEM_NAME || t == KDBUS_ITEM_POLICY_ACCESS) ? 2 : 0;
	case KD_CMD_HELLO:
		if (t == KDBUS_ITEM_POLICY_ACCESS)
			return 2;
		return t == KDBUS_ITEM_NAME || t == KDBUS_ITEM_CREDS || t == KDBUS_ITEM_PIDS ||
		       t == KDBUS_ITEM_SECLABEL || t == KDBUS_ITEM_CONN_DESCRIPTION;
	case KD_CMD_UPDATE:
		if (t == KDBUS_ITEM_NAME || t == KDBUS_ITEM_POLICY_ACCESS)
			return 2;
		return t == KDBUS_ITEM_ATTACH_FLAGS_SEND || t == KDBUS_ITEM_ATTACH_FLAGS_RECV;
	case KD_CMD_CONN_INFO:
	case KD_CMD_NAME_ACQUIRE:
	case KD_CMD_NAME_RELEASE:
		return t == KDBUS_ITEM_NAME;
	case KD_CMD_SEND:
		return t == KDBUS_ITEM_CANCEL_FD;
	case KD_CMD_MATCH_ADD:
		return (t == KDBUS_ITEM_BLOOM_MASK || t == KDBUS_ITEM_NAME || t == KDBUS_ITEM_ID ||
			t == KDBUS_ITEM_DST_ID || t == KDBUS_ITEM_NAME_ADD ||
			t == KDBUS_ITEM_NAME_REMOVE || t == KDBUS_ITEM_NAME_CHANGE ||
			t == KDBUS_ITEM_ID_ADD || t == KDBUS_ITEM_ID_REMOVE) ? 2 : 0;
	case KD_CMD_MSG:
		if (t == KDBUS_ITEM_PAYLOAD_VEC || t == KDBUS_ITEM_PAYLOAD_MEMFD)
			return 2;
		return t == KDBUS_ITEM_FDS || t == KDBUS_ITEM_BLOOM_FILTER ||
		       t == KDBUS_ITEM_DST_NAME;
	default:
		/* BYEBYE, FREE, BUS_CREATOR_INFO, LIST, RECV, MATCH_REMOVE. */
		return 0;
	}
}

static void test_ioctl_map(void **state)
{
	static const struct { unsigned long nr; enum kd_cmd c; } map[] = {
		{ KDBUS_CMD_BUS_MAKE, KD_CMD_BUS_MAKE },
		{ KDBUS_CMD_ENDPOINT_MAKE, KD_CMD_ENDPOINT_MAKE },
		{ KDBUS_CMD_ENDPOINT_UPDATE, KD_CMD_ENDPOINT_UPDATE },
		{ KDBUS_CMD_HELLO, KD_CMD_HELLO },
		{ KDBUS_CMD_UPDATE, KD_CMD_UPDATE },
		{ KDBUS_CMD_BYEBYE, KD_CMD_BYEBYE },
		{ KDBUS_CMD_FREE, KD_CMD_FREE },
		{ KDBUS_CMD_CONN_INFO, KD_CMD_CONN_INFO },
		{ KDBUS_CMD_BUS_CREATOR_INFO, KD_CMD_BUS_CREATOR_INFO },
		{ KDBUS_CMD_LIST, KD_CMD_LIST },
		{ KDBUS_CMD_SEND, KD_CMD_SEND },
		{ KDBUS_CMD_RECV, KD_CMD_RECV },
		{ KDBUS_CMD_NAME_ACQUIRE, KD_CMD_NAME_ACQUIRE },
		{ KDBUS_CMD_NAME_RELEASE, KD_CMD_NAME_RELEASE },
		{ KDBUS_CMD_MATCH_ADD, KD_CMD_MATCH_ADD },
		{ KDBUS_CMD_MATCH_REMOVE, KD_CMD_MATCH_REMOVE },
	};
	unsigned int i;

	/* Every kind but MSG has exactly one ioctl. */
	assert_int_equal(KD_ARRAY_SIZE(map), _KD_CMD_MAX - 1);
	for (i = 0; i < KD_ARRAY_SIZE(map); i++)
		assert_int_equal(kd_cmd_from_ioctl(map[i].nr), map[i].c);

	assert_int_equal(kd_cmd_from_ioctl(0), -ENOTTY);
	assert_int_equal(kd_cmd_from_ioctl(0x95), -ENOTTY);
	assert_int_equal(kd_cmd_from_ioctl(KDBUS_CMD_HELLO + 1), -ENOTTY);
	assert_int_equal(kd_cmd_from_ioctl(KDBUS_CMD_MATCH_REMOVE + 1), -ENOTTY);
	/* The documented-but-wrong numbers of kdbus.xml (spec 3.1). */
	assert_int_equal(kd_cmd_from_ioctl(0x80309584UL), -ENOTTY);
	assert_int_equal(kd_cmd_from_ioctl(0x40209551UL), -ENOTTY);
	assert_int_equal(kd_cmd_from_ioctl(~0UL), -ENOTTY);
}

static void test_fixed_sizes(void **state)
{
	assert_int_equal(kd_cmd_fixed_size(KD_CMD_BUS_MAKE), 24);
	assert_int_equal(kd_cmd_fixed_size(KD_CMD_ENDPOINT_MAKE), 24);
	assert_int_equal(kd_cmd_fixed_size(KD_CMD_ENDPOINT_UPDATE), 24);
	assert_int_equal(kd_cmd_fixed_size(KD_CMD_HELLO), 96);
	assert_int_equal(kd_cmd_fixed_size(KD_CMD_UPDATE), 24);
	assert_int_equal(kd_cmd_fixed_size(KD_CMD_BYEBYE), 24);
	assert_int_equal(kd_cmd_fixed_size(KD_CMD_FREE), 32);
	assert_int_equal(kd_cmd_fixed_size(KD_CMD_CONN_INFO), 56);
	assert_int_equal(kd_cmd_fixed_size(KD_CMD_BUS_CREATOR_INFO), 56);
	assert_int_equal(kd_cmd_fixed_size(KD_CMD_LIST), 40);
	assert_int_equal(kd_cmd_fixed_size(KD_CMD_SEND), 56);
	assert_int_equal(kd_cmd_fixed_size(KD_CMD_RECV), 64);
	assert_int_equal(kd_cmd_fixed_size(KD_CMD_NAME_ACQUIRE), 24);
	assert_int_equal(kd_cmd_fixed_size(KD_CMD_NAME_RELEASE), 24);
	assert_int_equal(kd_cmd_fixed_size(KD_CMD_MATCH_ADD), 32);
	assert_int_equal(kd_cmd_fixed_size(KD_CMD_MATCH_REMOVE), 32);
	assert_int_equal(kd_cmd_fixed_size(KD_CMD_MSG), 64);
	assert_int_equal(kd_cmd_fixed_size(_KD_CMD_MAX), 0);
}

static const kd_u64 expect_flags[_KD_CMD_MAX] = {
	[KD_CMD_BUS_MAKE] = 0x3,     [KD_CMD_ENDPOINT_MAKE] = 0x3, [KD_CMD_HELLO] = 0xf,
	[KD_CMD_RECV] = 0x7,         [KD_CMD_LIST] = 0xf,          [KD_CMD_NAME_ACQUIRE] = 0x7,
	[KD_CMD_MATCH_ADD] = 0x1,    [KD_CMD_SEND] = 0x1,          [KD_CMD_MSG] = 0x7,
};

static void test_flag_sets(void **state)
{
	unsigned int c;

	for (c = 0; c < _KD_CMD_MAX; c++)
		assert_int_equal(kd_cmd_flags(c), expect_flags[c]);
	assert_int_equal(kd_cmd_flags(_KD_CMD_MAX), 0);
}

/* Every flag bit: accepted ones pass, all others are EINVAL (spec 2.1). */
static void test_flag_bits(void **state)
{
	struct kd_items it;
	unsigned int c, bit;

	for (c = 0; c < _KD_CMD_MAX; c++) {
		for (bit = 0; bit < 63; bit++) {
			kd_u64 f = 1ULL << bit;

			b_init(c);
			assert_int_equal(b_run(c, f, &it), (expect_flags[c] & f) ? 0 : -EINVAL);
		}
		b_init(c);
		assert_int_equal(b_run(c, expect_flags[c], &it), 0);
		assert_int_equal(buf[1], expect_flags[c]);
	}
	/* The selftest's HELLO with flag bit 32. */
	b_init(KD_CMD_HELLO);
	assert_int_equal(b_run(KD_CMD_HELLO, 1ULL << 32, &it), -EINVAL);
}

static void test_item_allowed(void **state)
{
	unsigned int c, i;

	for (c = 0; c < _KD_CMD_MAX; c++)
		for (i = 0; i < KD_ARRAY_SIZE(all_types); i++)
			assert_int_equal(kd_cmd_item_allowed(c, all_types[i]),
					 expect_item(c, all_types[i]) != 0);
	assert_false(kd_cmd_item_allowed(_KD_CMD_MAX, KDBUS_ITEM_NEGOTIATE));
}

/* Each command against each item type, once and twice (spec 2.2, 3.2). */
static void test_whitelist_and_duplicates(void **state)
{
	struct kd_items it;
	unsigned int c, i;

	for (c = 0; c < _KD_CMD_MAX; c++) {
		for (i = 0; i < KD_ARRAY_SIZE(all_types); i++) {
			kd_u64 t = all_types[i];
			int e = expect_item(c, t);

			b_init(c);
			b_valid(t);
			assert_int_equal(b_run(c, 0, &it), e ? 0 : -EINVAL);
			if (!e)
				continue;
			assert_int_equal(it.n_items, 1);

			b_valid(t);
			assert_int_equal(b_run(c, 0, &it), e == 2 ? 0 : -EINVAL);
			if (e == 2)
				assert_int_equal(it.n_items, 2);
		}
	}
}

static void test_sizes(void **state)
{
	struct kd_items it;
	kd_u64 mask[8] = { 0 };
	kd_u8 *raw;

	/* Invalid kind. */
	b_init(KD_CMD_BYEBYE);
	assert_int_equal(b_run(_KD_CMD_MAX, 0, &it), -EINVAL);

	/* Fewer than 8 readable bytes: not even a size. */
	b_init(KD_CMD_BYEBYE);
	buf[0] = 24;
	assert_int_equal(kd_cmd_validate(KD_CMD_BYEBYE, buf, 7, false, &it), -EINVAL);

	/* Unaligned buffer (spec 2.1 EFAULT). */
	raw = (kd_u8 *)buf + 4;
	memset(buf, 0, 64);
	memcpy(raw, &(kd_u64){ 24 }, 8);
	assert_int_equal(kd_cmd_validate(KD_CMD_BYEBYE, raw, 24, false, &it), -EFAULT);

	/* size below the fixed struct: HELLO with size 1 as in the selftest. */
	b_init(KD_CMD_HELLO);
	buf[0] = 1;
	assert_int_equal(kd_cmd_validate(KD_CMD_HELLO, buf, 8, false, &it), -EINVAL);
	buf[0] = 95;
	assert_int_equal(kd_cmd_validate(KD_CMD_HELLO, buf, 95, false, &it), -EINVAL);
	buf[0] = 0;
	assert_int_equal(kd_cmd_validate(KD_CMD_HELLO, buf, 96, false, &it), -EINVAL);
	buf[0] = 96;
	assert_int_equal(kd_cmd_validate(KD_CMD_HELLO, buf, 96, false, &it), 0);
	/* Message needs its whole 64-byte header. */
	buf[0] = 63;
	assert_int_equal(kd_cmd_validate(KD_CMD_MSG, buf, 63, false, &it), -EINVAL);

	/* Above 32 KiB: EMSGSIZE before the size/buffer comparison. */
	buf[0] = KDBUS_CMD_MAX_SIZE + 1;
	assert_int_equal(kd_cmd_validate(KD_CMD_BYEBYE, buf, 24, false, &it), -EMSGSIZE);
	assert_int_equal(kd_cmd_validate(KD_CMD_BYEBYE, buf, KDBUS_CMD_MAX_SIZE + 1, false, &it),
			 -EMSGSIZE);
	buf[0] = ~0ULL;
	assert_int_equal(kd_cmd_validate(KD_CMD_BYEBYE, buf, 24, false, &it), -EMSGSIZE);
	/* Too small wins over the size/buffer comparison too. */
	buf[0] = 8;
	assert_int_equal(kd_cmd_validate(KD_CMD_BYEBYE, buf, 4096, false, &it), -EINVAL);

	/* size != what was copied (the race check). */
	buf[0] = 24;
	assert_int_equal(kd_cmd_validate(KD_CMD_BYEBYE, buf, 32, false, &it), -EINVAL);
	buf[0] = 32;
	assert_int_equal(kd_cmd_validate(KD_CMD_BYEBYE, buf, 24, false, &it), -EINVAL);

	/* Exactly 32 KiB is fine: one big bloom mask in MATCH_ADD. */
	b_init(KD_CMD_MATCH_ADD);
	b_add(KDBUS_ITEM_BLOOM_MASK, NULL, KDBUS_CMD_MAX_SIZE - 32 - 16);
	assert_int_equal(bsize, KDBUS_CMD_MAX_SIZE);
	assert_int_equal(b_run(KD_CMD_MATCH_ADD, 0, &it), 0);
	b_init(KD_CMD_MATCH_ADD);
	b_add(KDBUS_ITEM_BLOOM_MASK, NULL, KDBUS_CMD_MAX_SIZE - 32 - 16 + 1);
	assert_int_equal(b_run(KD_CMD_MATCH_ADD, 0, &it), -EMSGSIZE);

	/* A small valid mask for contrast. */
	b_init(KD_CMD_MATCH_ADD);
	b_add(KDBUS_ITEM_BLOOM_MASK, mask, sizeof(mask));
	assert_int_equal(b_run(KD_CMD_MATCH_ADD, 0, &it), 0);
}

/* Spec 2.2: the walk visits whole items and ends exactly at ALIGN8(n). */
static void test_walk(void **state)
{
	struct kd_items it;
	struct kdbus_item *item;
	kd_u64 base = kd_cmd_fixed_size(KD_CMD_NAME_RELEASE);

	/* Last item unpadded ("a.b" = 4 bytes, item 20): fine. */
	b_init(KD_CMD_NAME_RELEASE);
	item = b_str(KDBUS_ITEM_NAME, "a.b");
	assert_int_equal(bsize, base + 20);
	assert_int_equal(b_run(KD_CMD_NAME_RELEASE, 0, &it), 0);
	assert_ptr_equal(it.name, item);
	/* Padding fully or partly included: fine as well. */
	bsize = base + 24;
	assert_int_equal(b_run(KD_CMD_NAME_RELEASE, 0, &it), 0);
	bsize = base + 22;
	assert_int_equal(b_run(KD_CMD_NAME_RELEASE, 0, &it), 0);
	/* Size ending inside the item: overrun. */
	bsize = base + 19;
	assert_int_equal(b_run(KD_CMD_NAME_RELEASE, 0, &it), -EINVAL);
	/* Garbage after the padding: 8 bytes cannot hold an item. */
	bsize = base + 32;
	assert_int_equal(b_run(KD_CMD_NAME_RELEASE, 0, &it), -EINVAL);
	/* 1..15 bytes of tail after an aligned item. */
	bsize = base + 24 + 1;
	assert_int_equal(b_run(KD_CMD_NAME_RELEASE, 0, &it), -EINVAL);
	bsize = base + 24 + 15;
	assert_int_equal(b_run(KD_CMD_NAME_RELEASE, 0, &it), -EINVAL);

	/* Item sizes below the header. */
	b_init(KD_CMD_BYEBYE);
	item = b_add(KDBUS_ITEM_NEGOTIATE, NULL, 8);
	item->size = 0;
	assert_int_equal(b_run(KD_CMD_BYEBYE, 0, &it), -EINVAL);
	item->size = 8;
	assert_int_equal(b_run(KD_CMD_BYEBYE, 0, &it), -EINVAL);
	item->size = 15;
	assert_int_equal(b_run(KD_CMD_BYEBYE, 0, &it), -EINVAL);
	item->size = 16;
	assert_int_equal(b_run(KD_CMD_BYEBYE, 0, &it), -EINVAL); /* 8 bytes left over */
	item->size = 24;
	assert_int_equal(b_run(KD_CMD_BYEBYE, 0, &it), 0);
	/* Larger than the list, also absurdly large (no wrap-around). */
	item->size = 32;
	assert_int_equal(b_run(KD_CMD_BYEBYE, 0, &it), -EINVAL);
	item->size = ~0ULL;
	assert_int_equal(b_run(KD_CMD_BYEBYE, 0, &it), -EINVAL);
	item->size = ~0ULL - 6;
	assert_int_equal(b_run(KD_CMD_BYEBYE, 0, &it), -EINVAL);

	/* A second item written at the unaligned end of the first. */
	b_init(KD_CMD_UPDATE);
	item = b_str(KDBUS_ITEM_NAME, "a.b");
	{
		kd_u64 hdr2[2] = { 24, KDBUS_ITEM_NAME };
		kd_u8 *p = (kd_u8 *)item + 20;

		memcpy(p, hdr2, sizeof(hdr2));
		memcpy(p + 16, "foo.bar", 8);
	}
	bsize = base + 44;
	assert_int_equal(b_run(KD_CMD_UPDATE, 0, &it), -EINVAL);

	/* Two items back to back, both visited. */
	b_init(KD_CMD_UPDATE);
	b_str(KDBUS_ITEM_NAME, "a.b");
	b_str(KDBUS_ITEM_NAME, "c.d.e");
	assert_int_equal(b_run(KD_CMD_UPDATE, 0, &it), 0);
	assert_int_equal(it.n_names, 2);
	assert_int_equal(it.n_items, 2);
	/* A bad second item is found. */
	b_init(KD_CMD_UPDATE);
	b_str(KDBUS_ITEM_NAME, "a.b");
	b_add(KDBUS_ITEM_NAME, "ab", 2);
	assert_int_equal(b_run(KD_CMD_UPDATE, 0, &it), -EINVAL);

	/* A short tail at the very end of the allocation is never read as a header. */
	{
		kd_u64 *heap = malloc(base + 4);

		assert_non_null(heap);
		memset(heap, 0, base + 4);
		heap[0] = base + 4;
		assert_int_equal(kd_cmd_validate(KD_CMD_UPDATE, heap, base + 4, false, &it), -EINVAL);
		free(heap);
	}

	/* No items at all. */
	b_init(KD_CMD_UPDATE);
	assert_int_equal(b_run(KD_CMD_UPDATE, 0, &it), 0);
	assert_int_equal(it.n_items, 0);
}

/* The first faulty item decides; whitelist before payload rules. */
static void test_item_order(void **state)
{
	struct kd_items it;
	struct kdbus_memfd m = { .size = 8, .fd = -1 };

	/* HELLO does not accept MEMFD: EINVAL, not the payload's EBADF. */
	b_init(KD_CMD_HELLO);
	b_add(KDBUS_ITEM_PAYLOAD_MEMFD, &m, sizeof(m));
	assert_int_equal(b_run(KD_CMD_HELLO, 0, &it), -EINVAL);

	/* Bad memfd first, then an unaccepted item: EBADF. */
	b_init(KD_CMD_MSG);
	b_add(KDBUS_ITEM_PAYLOAD_MEMFD, &m, sizeof(m));
	b_str(KDBUS_ITEM_NAME, "a.b");
	assert_int_equal(b_run(KD_CMD_MSG, 0, &it), -EBADF);

	/* Unaccepted item first, then a bad memfd: EINVAL. */
	b_init(KD_CMD_MSG);
	b_str(KDBUS_ITEM_NAME, "a.b");
	b_add(KDBUS_ITEM_PAYLOAD_MEMFD, &m, sizeof(m));
	assert_int_equal(b_run(KD_CMD_MSG, 0, &it), -EINVAL);

	/* Duplicate after a bad payload: payload errno. */
	b_init(KD_CMD_BUS_MAKE);
	b_str(KDBUS_ITEM_MAKE_NAME, "0-foo");
	b_str(KDBUS_ITEM_MAKE_NAME, "0-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	assert_int_equal(b_run(KD_CMD_BUS_MAKE, 0, &it), -ENAMETOOLONG);

	/* Unknown flags before any item. */
	b_init(KD_CMD_MSG);
	b_str(KDBUS_ITEM_NAME, "a.b");
	assert_int_equal(b_run(KD_CMD_MSG, 1ULL << 3, &it), -EINVAL);
	b_init(KD_CMD_MSG);
	b_add(KDBUS_ITEM_PAYLOAD_MEMFD, &m, sizeof(m));
	assert_int_equal(b_run(KD_CMD_MSG, 1ULL << 3, &it), -EINVAL);
}

/* Check one item of type t with payload (p, n) through kd_item_validate. */
static int iv(kd_u64 t, const void *p, kd_u64 n)
{
	static kd_u64 ibuf[64];
	struct kdbus_item *item = (void *)ibuf;

	assert_true(n <= sizeof(ibuf) - 16);
	memset(ibuf, 0, sizeof(ibuf));
	item->size = 16 + n;
	item->type = t;
	if (n && p)
		memcpy(item->data, p, n);
	return kd_item_validate(item);
}

static int iv_str(kd_u64 t, const char *s)
{
	return iv(t, s, strlen(s) + 1);
}

/* Spec 5.2 payload rules, one by one. */
static void test_payload_rules(void **state)
{
	static const kd_u64 strs[] = {
		KDBUS_ITEM_NAME,     KDBUS_ITEM_DST_NAME, KDBUS_ITEM_PID_COMM,
		KDBUS_ITEM_TID_COMM, KDBUS_ITEM_EXE,      KDBUS_ITEM_CMDLINE,
		KDBUS_ITEM_CGROUP,   KDBUS_ITEM_SECLABEL,
	};
	static const struct { kd_u64 t; kd_u64 n; } exact[] = {
		{ KDBUS_ITEM_CANCEL_FD, 4 },        { KDBUS_ITEM_BLOOM_PARAMETER, 16 },
		{ KDBUS_ITEM_ATTACH_FLAGS_SEND, 8 }, { KDBUS_ITEM_ATTACH_FLAGS_RECV, 8 },
		{ KDBUS_ITEM_ID, 8 },               { KDBUS_ITEM_DST_ID, 8 },
		{ KDBUS_ITEM_TIMESTAMP, 24 },       { KDBUS_ITEM_CREDS, 64 },
		{ KDBUS_ITEM_PIDS, 24 },            { KDBUS_ITEM_AUDIT, 8 },
		{ KDBUS_ITEM_POLICY_ACCESS, 24 },   { KDBUS_ITEM_ID_ADD, 16 },
		{ KDBUS_ITEM_ID_REMOVE, 16 },       { KDBUS_ITEM_REPLY_TIMEOUT, 0 },
		{ KDBUS_ITEM_REPLY_DEAD, 0 },
	};
	kd_u8 z[128] = { 0 };
	struct kdbus_vec v = { .size = 1, .address = 0 };
	struct kdbus_memfd m = { .start = 0, .size = 1, .fd = 0 };
	kd_u32 caps[9] = { 0 };
	char nc[64];
	unsigned int i;

	for (i = 0; i < KD_ARRAY_SIZE(exact); i++) {
		assert_int_equal(iv(exact[i].t, z, exact[i].n), 0);
		assert_int_equal(iv(exact[i].t, z, exact[i].n + 1), -EINVAL);
		assert_int_equal(iv(exact[i].t, z, exact[i].n + 8), -EINVAL);
		if (exact[i].n)
			assert_int_equal(iv(exact[i].t, z, exact[i].n - 1), -EINVAL);
	}

	/* NEGOTIATE: multiple of 8, empty allowed. */
	assert_int_equal(iv(KDBUS_ITEM_NEGOTIATE, z, 0), 0);
	assert_int_equal(iv(KDBUS_ITEM_NEGOTIATE, z, 16), 0);
	assert_int_equal(iv(KDBUS_ITEM_NEGOTIATE, z, 12), -EINVAL);

	/* VEC and OFF: exactly 16, size != 0; address 0 is a zero vector. */
	for (i = 0; i < 2; i++) {
		kd_u64 t = i ? KDBUS_ITEM_PAYLOAD_OFF : KDBUS_ITEM_PAYLOAD_VEC;

		v.size = 1;
		assert_int_equal(iv(t, &v, 16), 0);
		assert_int_equal(iv(t, &v, 8), -EINVAL);
		assert_int_equal(iv(t, z, 24), -EINVAL);
		v.size = 0;
		assert_int_equal(iv(t, &v, 16), -EINVAL);
	}

	/* MEMFD: exactly 24, size != 0 (EINVAL) before fd >= 0 (EBADF). */
	m.size = 1;
	m.fd = 0;
	assert_int_equal(iv(KDBUS_ITEM_PAYLOAD_MEMFD, &m, 24), 0);
	assert_int_equal(iv(KDBUS_ITEM_PAYLOAD_MEMFD, &m, 16), -EINVAL);
	m.fd = -1;
	assert_int_equal(iv(KDBUS_ITEM_PAYLOAD_MEMFD, &m, 24), -EBADF);
	m.fd = -100;
	assert_int_equal(iv(KDBUS_ITEM_PAYLOAD_MEMFD, &m, 24), -EBADF);
	m.size = 0;
	assert_int_equal(iv(KDBUS_ITEM_PAYLOAD_MEMFD, &m, 24), -EINVAL);
	m.fd = 3;
	assert_int_equal(iv(KDBUS_ITEM_PAYLOAD_MEMFD, &m, 24), -EINVAL);

	/* FDS multiple of 4; AUXGROUPS multiple of 4. */
	assert_int_equal(iv(KDBUS_ITEM_FDS, z, 0), 0);
	assert_int_equal(iv(KDBUS_ITEM_FDS, z, 12), 0);
	assert_int_equal(iv(KDBUS_ITEM_FDS, z, 6), -EINVAL);
	assert_int_equal(iv(KDBUS_ITEM_AUXGROUPS, z, 4), 0);
	assert_int_equal(iv(KDBUS_ITEM_AUXGROUPS, z, 16), 0);
	assert_int_equal(iv(KDBUS_ITEM_AUXGROUPS, z, 5), -EINVAL);

	/* BLOOM_FILTER at least the generation; BLOOM_MASK anything. */
	assert_int_equal(iv(KDBUS_ITEM_BLOOM_FILTER, z, 8), 0);
	assert_int_equal(iv(KDBUS_ITEM_BLOOM_FILTER, z, 13), 0);
	assert_int_equal(iv(KDBUS_ITEM_BLOOM_FILTER, z, 7), -EINVAL);
	assert_int_equal(iv(KDBUS_ITEM_BLOOM_FILTER, z, 0), -EINVAL);
	assert_int_equal(iv(KDBUS_ITEM_BLOOM_MASK, z, 0), 0);
	assert_int_equal(iv(KDBUS_ITEM_BLOOM_MASK, z, 3), 0);

	/* Plain strings: non-empty, first NUL is the last byte. */
	for (i = 0; i < KD_ARRAY_SIZE(strs); i++) {
		assert_int_equal(iv_str(strs[i], "foo.bar"), 0);
		assert_int_equal(iv(strs[i], "", 1), 0);
		assert_int_equal(iv(strs[i], z, 0), -EINVAL);
		assert_int_equal(iv(strs[i], "abc", 3), -EINVAL);
		assert_int_equal(iv(strs[i], "a\0b", 4), -EINVAL);
		/* Size rounded up to the padding: several NULs. */
		assert_int_equal(iv(strs[i], "foo.bar\0", 8), 0);
		assert_int_equal(iv(strs[i], "a.b\0\0\0\0", 8), -EINVAL);
	}

	/* CAPS: at least last_cap, then four sets of (last_cap + 32) / 32 words. */
	assert_int_equal(iv(KDBUS_ITEM_CAPS, caps, 3), -EINVAL);
	caps[0] = 0;
	assert_int_equal(iv(KDBUS_ITEM_CAPS, caps, 4 + 16), 0);
	assert_int_equal(iv(KDBUS_ITEM_CAPS, caps, 4 + 15), -EINVAL);
	assert_int_equal(iv(KDBUS_ITEM_CAPS, caps, 4), -EINVAL);
	caps[0] = 37;
	assert_int_equal(iv(KDBUS_ITEM_CAPS, caps, 4 + 32), 0);
	assert_int_equal(iv(KDBUS_ITEM_CAPS, caps, 4 + 31), -EINVAL);
	caps[0] = 0xffffffffu;
	assert_int_equal(iv(KDBUS_ITEM_CAPS, caps, 36), -EINVAL);

	/* NAME_ADD/REMOVE/CHANGE: 32 bytes, optionally a terminated name. */
	for (i = 0; i < 3; i++) {
		kd_u64 t = KDBUS_ITEM_NAME_ADD + i;

		memset(nc, 0, sizeof(nc));
		assert_int_equal(iv(t, nc, 32), 0);
		assert_int_equal(iv(t, nc, 31), -EINVAL);
		assert_int_equal(iv(t, nc, 0), -EINVAL);
		memcpy(nc + 32, "a.b", 4);
		assert_int_equal(iv(t, nc, 36), 0);
		assert_int_equal(iv(t, nc, 35), -EINVAL);
		assert_int_equal(iv(t, nc, 40), -EINVAL);
		nc[32] = '\0';
		assert_int_equal(iv(t, nc, 33), 0); /* the empty name "" */
	}

	/* Sysname items go through the sysname rule. */
	assert_int_equal(iv_str(KDBUS_ITEM_MAKE_NAME, "0-foo"), 0);
	assert_int_equal(iv_str(KDBUS_ITEM_CONN_DESCRIPTION, "conn.desc_1"), 0);
	assert_int_equal(iv_str(KDBUS_ITEM_MAKE_NAME, "0-f@o"), -EINVAL);
	assert_int_equal(iv_str(KDBUS_ITEM_CONN_DESCRIPTION, "-foo"), -EINVAL);
	memset(nc, 'x', 64);
	assert_int_equal(iv(KDBUS_ITEM_MAKE_NAME, nc, 64), -EINVAL); /* no NUL */
	nc[63] = '\0';
	assert_int_equal(iv(KDBUS_ITEM_CONN_DESCRIPTION, nc, 64), 0);

	/* Types without a rule pass (the whitelist refuses them). */
	assert_int_equal(iv(_KDBUS_ITEM_NULL, z, 3), 0);
	assert_int_equal(iv(0x100e, z, 0), 0);
	assert_int_equal(iv(KDBUS_ITEM_OWNED_NAME, z, 5), 0);
}

/* The same rules reached through commands, with their errno. */
static void test_payload_rules_in_commands(void **state)
{
	struct kd_items it;
	struct kdbus_memfd m = { .size = 8, .fd = -1 };
	struct kdbus_vec v = { .size = 0, .address = 1 };
	kd_u8 z[64] = { 0 };

	b_init(KD_CMD_MSG);
	b_add(KDBUS_ITEM_PAYLOAD_MEMFD, &m, sizeof(m));
	assert_int_equal(b_run(KD_CMD_MSG, 0, &it), -EBADF);
	b_init(KD_CMD_MSG);
	b_add(KDBUS_ITEM_PAYLOAD_VEC, &v, sizeof(v));
	assert_int_equal(b_run(KD_CMD_MSG, 0, &it), -EINVAL);
	b_init(KD_CMD_MSG);
	b_add(KDBUS_ITEM_FDS, z, 5);
	assert_int_equal(b_run(KD_CMD_MSG, 0, &it), -EINVAL);
	b_init(KD_CMD_MSG);
	b_add(KDBUS_ITEM_BLOOM_FILTER, z, 4);
	assert_int_equal(b_run(KD_CMD_MSG, 0, &it), -EINVAL);
	b_init(KD_CMD_MSG);
	b_add(KDBUS_ITEM_DST_NAME, "a.b\0", 5);
	assert_int_equal(b_run(KD_CMD_MSG, 0, &it), -EINVAL);

	b_init(KD_CMD_SEND);
	b_add(KDBUS_ITEM_CANCEL_FD, z, 8);
	assert_int_equal(b_run(KD_CMD_SEND, 0, &it), -EINVAL);

	b_init(KD_CMD_BUS_MAKE);
	b_add(KDBUS_ITEM_BLOOM_PARAMETER, z, 8);
	assert_int_equal(b_run(KD_CMD_BUS_MAKE, 0, &it), -EINVAL);
	b_init(KD_CMD_BUS_MAKE);
	b_add(KDBUS_ITEM_ATTACH_FLAGS_SEND, z, 4);
	assert_int_equal(b_run(KD_CMD_BUS_MAKE, 0, &it), -EINVAL);
	b_init(KD_CMD_BUS_MAKE);
	b_str(KDBUS_ITEM_MAKE_NAME, "0-bad name");
	assert_int_equal(b_run(KD_CMD_BUS_MAKE, 0, &it), -EINVAL);

	/* The selftest's 63 'X' behind a uid prefix. */
	b_init(KD_CMD_ENDPOINT_MAKE);
	b_str(KDBUS_ITEM_MAKE_NAME,
	      "0-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
	assert_int_equal(b_run(KD_CMD_ENDPOINT_MAKE, 0, &it), -ENAMETOOLONG);

	b_init(KD_CMD_HELLO);
	b_add(KDBUS_ITEM_CREDS, z, 32);
	assert_int_equal(b_run(KD_CMD_HELLO, 0, &it), -EINVAL);
	b_init(KD_CMD_HELLO);
	b_add(KDBUS_ITEM_PIDS, z, 16);
	assert_int_equal(b_run(KD_CMD_HELLO, 0, &it), -EINVAL);
	b_init(KD_CMD_HELLO);
	b_add(KDBUS_ITEM_SECLABEL, "abc", 3);
	assert_int_equal(b_run(KD_CMD_HELLO, 0, &it), -EINVAL);
	b_init(KD_CMD_HELLO);
	b_add(KDBUS_ITEM_POLICY_ACCESS, z, 16);
	assert_int_equal(b_run(KD_CMD_HELLO, 0, &it), -EINVAL);
	b_init(KD_CMD_HELLO);
	b_str(KDBUS_ITEM_CONN_DESCRIPTION, "desc.");
	assert_int_equal(b_run(KD_CMD_HELLO, 0, &it), -EINVAL);

	/* CONN_INFO with a NAME item too small for its string (selftest). */
	b_init(KD_CMD_CONN_INFO);
	b_add(KDBUS_ITEM_NAME, "foo.bar", 3);
	assert_int_equal(b_run(KD_CMD_CONN_INFO, 0, &it), -EINVAL);

	b_init(KD_CMD_MATCH_ADD);
	b_add(KDBUS_ITEM_ID, z, 16);
	assert_int_equal(b_run(KD_CMD_MATCH_ADD, 0, &it), -EINVAL);
	b_init(KD_CMD_MATCH_ADD);
	b_add(KDBUS_ITEM_ID_ADD, z, 8);
	assert_int_equal(b_run(KD_CMD_MATCH_ADD, 0, &it), -EINVAL);
	b_init(KD_CMD_MATCH_ADD);
	b_add(KDBUS_ITEM_NAME_CHANGE, z, 24);
	assert_int_equal(b_run(KD_CMD_MATCH_ADD, 0, &it), -EINVAL);

	b_init(KD_CMD_UPDATE);
	b_add(KDBUS_ITEM_ATTACH_FLAGS_RECV, z, 16);
	assert_int_equal(b_run(KD_CMD_UPDATE, 0, &it), -EINVAL);
	b_init(KD_CMD_LIST);
	b_add(KDBUS_ITEM_NEGOTIATE, z, 4);
	assert_int_equal(b_run(KD_CMD_LIST, 0, &it), -EINVAL);
}

static void test_sysname(void **state)
{
	char s[80];

	assert_int_equal(kd_sysname_validate("a", 2), 0);
	assert_int_equal(kd_sysname_validate("0-foo", 6), 0);
	assert_int_equal(kd_sysname_validate("1000-my.bus_name-2", 19), 0);
	assert_int_equal(kd_sysname_validate("9", 2), 0);
	assert_int_equal(kd_sysname_validate("Az_09", 6), 0);

	/* Empty, no NUL, inner NUL, padded size. */
	assert_int_equal(kd_sysname_validate("", 1), -EINVAL);
	assert_int_equal(kd_sysname_validate("", 0), -EINVAL);
	assert_int_equal(kd_sysname_validate("ab", 2), -EINVAL);
	assert_int_equal(kd_sysname_validate("a\0b", 4), -EINVAL);
	assert_int_equal(kd_sysname_validate("ab\0\0", 4), -EINVAL);

	/* '-' and '.' not first or last; other characters never. */
	assert_int_equal(kd_sysname_validate("-a", 3), -EINVAL);
	assert_int_equal(kd_sysname_validate("a-", 3), -EINVAL);
	assert_int_equal(kd_sysname_validate(".a", 3), -EINVAL);
	assert_int_equal(kd_sysname_validate("a.", 3), -EINVAL);
	assert_int_equal(kd_sysname_validate("-", 2), -EINVAL);
	assert_int_equal(kd_sysname_validate("a-.b", 5), 0);
	assert_int_equal(kd_sysname_validate("0-f@o", 6), -EINVAL);
	assert_int_equal(kd_sysname_validate("a b", 4), -EINVAL);
	assert_int_equal(kd_sysname_validate("a/b", 4), -EINVAL);
	assert_int_equal(kd_sysname_validate("a*", 3), -EINVAL);
	assert_int_equal(kd_sysname_validate("\xc3\xa4", 3), -EINVAL);

	/* 63 characters fine, 64 too long, even with a bad character. */
	memset(s, 'x', sizeof(s));
	s[63] = '\0';
	assert_int_equal(kd_sysname_validate(s, 64), 0);
	s[63] = 'x';
	s[64] = '\0';
	assert_int_equal(kd_sysname_validate(s, 65), -ENAMETOOLONG);
	s[10] = '@';
	assert_int_equal(kd_sysname_validate(s, 65), -ENAMETOOLONG);
	/* ...but the NUL rule comes first. */
	s[10] = '\0';
	assert_int_equal(kd_sysname_validate(s, 65), -EINVAL);
}

static void test_attach_flags(void **state)
{
	kd_u64 out = 7;

	assert_int_equal(kd_attach_flags_normalize(0, &out), 0);
	assert_int_equal(out, 0);
	assert_int_equal(kd_attach_flags_normalize(KDBUS_ATTACH_TIMESTAMP, &out), 0);
	assert_int_equal(out, KDBUS_ATTACH_TIMESTAMP);
	assert_int_equal(kd_attach_flags_normalize(_KDBUS_ATTACH_ALL, &out), 0);
	assert_int_equal(out, 0x3fff);
	out = 0;
	assert_int_equal(kd_attach_flags_normalize(_KDBUS_ATTACH_ANY, &out), 0);
	assert_int_equal(out, 0x3fff);
	assert_int_equal(kd_attach_flags_normalize(_KDBUS_ATTACH_ALL + 1, &out), -EINVAL);
	assert_int_equal(kd_attach_flags_normalize(1ULL << 63, &out), -EINVAL);
	assert_int_equal(kd_attach_flags_normalize(~0ULL - 1, &out), -EINVAL);
}

/* Spec 2.3: flag negotiation per command. */
static void test_negotiate_flags(void **state)
{
	struct kd_items it;
	unsigned int c;

	for (c = 0; c < _KD_CMD_MAX; c++) {
		if (c == KD_CMD_MSG)
			continue;
		b_init(c);
		buf[2] = 0x55; /* return_flags is not ours to touch */
		assert_int_equal(b_run(c, KDBUS_FLAG_NEGOTIATE, &it), 1);
		assert_int_equal(buf[1], expect_flags[c]);
		assert_int_equal(buf[2], 0x55);

		/* Together with accepted flags: same answer. */
		b_init(c);
		assert_int_equal(b_run(c, KDBUS_FLAG_NEGOTIATE | expect_flags[c], &it), 1);
		assert_int_equal(buf[1], expect_flags[c]);

		/* With an unknown flag: EINVAL, flags left alone. */
		b_init(c);
		assert_int_equal(b_run(c, KDBUS_FLAG_NEGOTIATE | (1ULL << 40), &it), -EINVAL);
		assert_int_equal(buf[1], KDBUS_FLAG_NEGOTIATE | (1ULL << 40));

		/* Mandatory items are not required (none are checked at all). */
		b_init(c);
		b_valid(KDBUS_ITEM_NEGOTIATE);
		assert_int_equal(b_run(c, KDBUS_FLAG_NEGOTIATE, &it), 1);
	}

	/* A bad item still fails a negotiating command. */
	b_init(KD_CMD_HELLO);
	b_add(KDBUS_ITEM_CREDS, NULL, 8);
	assert_int_equal(b_run(KD_CMD_HELLO, KDBUS_FLAG_NEGOTIATE, &it), -EINVAL);
	assert_int_equal(buf[1], KDBUS_FLAG_NEGOTIATE);
}

/* Spec 2.3: NEGOTIATE items lose the entries the command does not accept. */
static void test_negotiate_item(void **state)
{
	static const kd_u64 in[] = {
		KDBUS_ITEM_NAME,        KDBUS_ITEM_MAKE_NAME, KDBUS_ITEM_CREDS,
		0x9999,                 KDBUS_ITEM_NEGOTIATE, KDBUS_ITEM_POLICY_ACCESS,
		0,                      KDBUS_ITEM_PIDS,      KDBUS_ITEM_PAYLOAD_VEC,
		KDBUS_ITEM_SECLABEL,    KDBUS_ITEM_CONN_DESCRIPTION, ~0ULL,
	};
	static const kd_u64 want[] = {
		KDBUS_ITEM_NAME,        0, KDBUS_ITEM_CREDS,
		0,                      KDBUS_ITEM_NEGOTIATE, KDBUS_ITEM_POLICY_ACCESS,
		0,                      KDBUS_ITEM_PIDS,      0,
		KDBUS_ITEM_SECLABEL,    KDBUS_ITEM_CONN_DESCRIPTION, 0,
	};
	static const kd_u64 msg_in[] = {
		KDBUS_ITEM_PAYLOAD_VEC,  KDBUS_ITEM_PAYLOAD_OFF, KDBUS_ITEM_PAYLOAD_MEMFD,
		KDBUS_ITEM_FDS,          KDBUS_ITEM_BLOOM_FILTER, KDBUS_ITEM_DST_NAME,
		KDBUS_ITEM_CANCEL_FD,
	};
	static const kd_u64 msg_want[] = {
		KDBUS_ITEM_PAYLOAD_VEC, 0, KDBUS_ITEM_PAYLOAD_MEMFD,
		KDBUS_ITEM_FDS,         KDBUS_ITEM_BLOOM_FILTER, KDBUS_ITEM_DST_NAME, 0,
	};
	struct kd_items it;
	struct kdbus_item *neg;

	/* Without the flag: entries zeroed, the command runs (0). */
	b_init(KD_CMD_HELLO);
	neg = b_add(KDBUS_ITEM_NEGOTIATE, in, sizeof(in));
	assert_int_equal(b_run(KD_CMD_HELLO, KDBUS_HELLO_ACCEPT_FD, &it), 0);
	assert_ptr_equal(it.negotiate, neg);
	assert_memory_equal(neg->data64, want, sizeof(want));
	assert_int_equal(buf[1], KDBUS_HELLO_ACCEPT_FD);

	/* With the flag: zeroed too, and 1. */
	b_init(KD_CMD_HELLO);
	neg = b_add(KDBUS_ITEM_NEGOTIATE, in, sizeof(in));
	assert_int_equal(b_run(KD_CMD_HELLO, KDBUS_FLAG_NEGOTIATE, &it), 1);
	assert_memory_equal(neg->data64, want, sizeof(want));
	assert_int_equal(buf[1], 0xf);

	/* Failed validation leaves the entries alone. */
	b_init(KD_CMD_HELLO);
	neg = b_add(KDBUS_ITEM_NEGOTIATE, in, sizeof(in));
	b_str(KDBUS_ITEM_MAKE_NAME, "0-foo");
	assert_int_equal(b_run(KD_CMD_HELLO, KDBUS_FLAG_NEGOTIATE, &it), -EINVAL);
	assert_memory_equal(neg->data64, in, sizeof(in));

	/* Commands without items keep only NEGOTIATE itself. */
	b_init(KD_CMD_BYEBYE);
	neg = b_add(KDBUS_ITEM_NEGOTIATE, in, sizeof(in));
	assert_int_equal(b_run(KD_CMD_BYEBYE, 0, &it), 0);
	assert_int_equal(neg->data64[4], KDBUS_ITEM_NEGOTIATE);
	assert_int_equal(neg->data64[0] | neg->data64[2] | neg->data64[5] | neg->data64[11], 0);

	/* The message's item list. */
	b_init(KD_CMD_MSG);
	neg = b_add(KDBUS_ITEM_NEGOTIATE, msg_in, sizeof(msg_in));
	assert_int_equal(b_run(KD_CMD_MSG, 0, &it), 0);
	assert_memory_equal(neg->data64, msg_want, sizeof(msg_want));

	/* An empty NEGOTIATE item is fine. */
	b_init(KD_CMD_SEND);
	b_add(KDBUS_ITEM_NEGOTIATE, NULL, 0);
	assert_int_equal(b_run(KD_CMD_SEND, KDBUS_FLAG_NEGOTIATE, &it), 1);
	assert_int_equal(buf[1], KDBUS_SEND_SYNC_REPLY);
}

/* Spec 2.3: message flags are negotiated only inside a negotiating SEND. */
static void test_negotiate_msg(void **state)
{
	struct kd_items it;
	struct kdbus_memfd m = { .size = 8, .fd = -1 };

	b_init(KD_CMD_MSG);
	assert_int_equal(b_run_neg(KD_CMD_MSG, KDBUS_FLAG_NEGOTIATE, false, &it), -EINVAL);
	assert_int_equal(buf[1], KDBUS_FLAG_NEGOTIATE);

	b_init(KD_CMD_MSG);
	assert_int_equal(b_run_neg(KD_CMD_MSG, KDBUS_FLAG_NEGOTIATE | 1, true, &it), 0);
	assert_int_equal(buf[1], 0x7);

	/* SEND negotiates, the message does not: its flags stay. */
	b_init(KD_CMD_MSG);
	assert_int_equal(b_run_neg(KD_CMD_MSG, KDBUS_MSG_SIGNAL, true, &it), 0);
	assert_int_equal(buf[1], KDBUS_MSG_SIGNAL);

	/* Unknown message flags are EINVAL either way. */
	b_init(KD_CMD_MSG);
	assert_int_equal(b_run_neg(KD_CMD_MSG, KDBUS_FLAG_NEGOTIATE | 8, true, &it), -EINVAL);
	assert_int_equal(b_run_neg(KD_CMD_MSG, 8, true, &it), -EINVAL);

	/* Item errors come before the NEGOTIATE-without-SEND error. */
	b_init(KD_CMD_MSG);
	b_add(KDBUS_ITEM_PAYLOAD_MEMFD, &m, sizeof(m));
	assert_int_equal(b_run_neg(KD_CMD_MSG, KDBUS_FLAG_NEGOTIATE, false, &it), -EBADF);
}

/* What kd_items records. */
static void test_items_out(void **state)
{
	struct kd_items it;
	struct kdbus_item *a, *b, *c, *d, *e, *f;
	struct kdbus_vec v;
	struct kdbus_memfd m = { .size = 5, .fd = 1 };
	int fds[3] = { 0, 1, 2 };
	kd_u8 z[64] = { 0 };

	b_init(KD_CMD_BUS_MAKE);
	a = b_str(KDBUS_ITEM_MAKE_NAME, "0-foo");
	b = b_valid(KDBUS_ITEM_BLOOM_PARAMETER);
	c = b_u64(KDBUS_ITEM_ATTACH_FLAGS_SEND, 3);
	d = b_valid(KDBUS_ITEM_NEGOTIATE);
	assert_int_equal(b_run(KD_CMD_BUS_MAKE, 0, &it), 0);
	assert_ptr_equal(it.make_name, a);
	assert_ptr_equal(it.bloom_parameter, b);
	assert_ptr_equal(it.attach_send, c);
	assert_ptr_equal(it.negotiate, d);
	assert_null(it.name);
	assert_int_equal(it.n_items, 4);

	b_init(KD_CMD_HELLO);
	a = b_str(KDBUS_ITEM_NAME, "foo.bar");
	b = b_add(KDBUS_ITEM_CREDS, z, 64);
	c = b_add(KDBUS_ITEM_PIDS, z, 24);
	d = b_str(KDBUS_ITEM_SECLABEL, "label");
	e = b_str(KDBUS_ITEM_CONN_DESCRIPTION, "desc");
	b_add(KDBUS_ITEM_POLICY_ACCESS, z, 24);
	b_add(KDBUS_ITEM_POLICY_ACCESS, z, 24);
	b_add(KDBUS_ITEM_POLICY_ACCESS, z, 24);
	assert_int_equal(b_run(KD_CMD_HELLO, 0, &it), 0);
	assert_ptr_equal(it.name, a);
	assert_ptr_equal(it.creds, b);
	assert_ptr_equal(it.pids, c);
	assert_ptr_equal(it.seclabel, d);
	assert_ptr_equal(it.description, e);
	assert_int_equal(it.n_names, 1);
	assert_int_equal(it.n_policy, 3);
	assert_int_equal(it.n_items, 8);

	b_init(KD_CMD_UPDATE);
	a = b_u64(KDBUS_ITEM_ATTACH_FLAGS_RECV, 1);
	b = b_str(KDBUS_ITEM_NAME, "a.b");
	b_add(KDBUS_ITEM_POLICY_ACCESS, z, 24);
	b_str(KDBUS_ITEM_NAME, "c.d");
	c = b_u64(KDBUS_ITEM_ATTACH_FLAGS_SEND, 2);
	assert_int_equal(b_run(KD_CMD_UPDATE, 0, &it), 0);
	assert_ptr_equal(it.attach_recv, a);
	assert_ptr_equal(it.attach_send, c);
	assert_ptr_equal(it.name, b); /* the first NAME */
	assert_int_equal(it.n_names, 2);
	assert_int_equal(it.n_policy, 1);

	b_init(KD_CMD_SEND);
	a = b_add(KDBUS_ITEM_CANCEL_FD, z, 4);
	assert_int_equal(b_run(KD_CMD_SEND, 0, &it), 0);
	assert_ptr_equal(it.cancel_fd, a);

	/* A message: vec sums with zero vectors, counts, pointers. */
	b_init(KD_CMD_MSG);
	v = (struct kdbus_vec){ .size = 100, .address = 0x1000 };
	b_add(KDBUS_ITEM_PAYLOAD_VEC, &v, sizeof(v));
	v = (struct kdbus_vec){ .size = 7, .address = 0 };
	b_add(KDBUS_ITEM_PAYLOAD_VEC, &v, sizeof(v));
	a = b_add(KDBUS_ITEM_FDS, fds, sizeof(fds));
	b_add(KDBUS_ITEM_PAYLOAD_MEMFD, &m, sizeof(m));
	v = (struct kdbus_vec){ .size = 20, .address = 0x2000 };
	b_add(KDBUS_ITEM_PAYLOAD_VEC, &v, sizeof(v));
	b_add(KDBUS_ITEM_PAYLOAD_MEMFD, &m, sizeof(m));
	b = b_add(KDBUS_ITEM_BLOOM_FILTER, z, 16);
	c = b_str(KDBUS_ITEM_DST_NAME, "foo.bar");
	assert_int_equal(b_run(KD_CMD_MSG, 0, &it), 0);
	assert_ptr_equal(it.fds, a);
	assert_ptr_equal(it.bloom_filter, b);
	assert_ptr_equal(it.dst_name, c);
	assert_int_equal(it.n_vecs, 3);
	assert_int_equal(it.n_memfds, 2);
	assert_int_equal(it.n_fds, 3);
	assert_int_equal(it.vec_bytes, 127);
	assert_int_equal(it.vec_data_bytes, 120);
	assert_int_equal(it.n_items, 8);

	/* Overflowing sums saturate (kd_msg_check reports EMSGSIZE). */
	b_init(KD_CMD_MSG);
	v = (struct kdbus_vec){ .size = ~0ULL - 10, .address = 1 };
	b_add(KDBUS_ITEM_PAYLOAD_VEC, &v, sizeof(v));
	v = (struct kdbus_vec){ .size = 11, .address = 0 };
	b_add(KDBUS_ITEM_PAYLOAD_VEC, &v, sizeof(v));
	assert_int_equal(b_run(KD_CMD_MSG, 0, &it), 0);
	assert_int_equal(it.vec_bytes, ~0ULL);
	assert_int_equal(it.vec_data_bytes, ~0ULL - 10);
	v = (struct kdbus_vec){ .size = 11, .address = 2 };
	b_add(KDBUS_ITEM_PAYLOAD_VEC, &v, sizeof(v));
	assert_int_equal(b_run(KD_CMD_MSG, 0, &it), 0);
	assert_int_equal(it.vec_bytes, ~0ULL);
	assert_int_equal(it.vec_data_bytes, ~0ULL);

	/* An empty FDS item counts no fds; out is reset on every call. */
	b_init(KD_CMD_MSG);
	f = b_add(KDBUS_ITEM_FDS, NULL, 0);
	memset(&it, 0xaa, sizeof(it));
	assert_int_equal(b_run(KD_CMD_MSG, 0, &it), 0);
	assert_ptr_equal(it.fds, f);
	assert_int_equal(it.n_fds, 0);
	assert_int_equal(it.n_vecs, 0);
	assert_null(it.dst_name);
	memset(&it, 0xaa, sizeof(it));
	assert_int_equal(b_run(_KD_CMD_MAX, 0, &it), -EINVAL);
	assert_null(it.fds);
	assert_int_equal(it.n_items, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ioctl_map),
		cmocka_unit_test(test_fixed_sizes),
		cmocka_unit_test(test_flag_sets),
		cmocka_unit_test(test_flag_bits),
		cmocka_unit_test(test_item_allowed),
		cmocka_unit_test(test_whitelist_and_duplicates),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_item_order),
		cmocka_unit_test(test_payload_rules),
		cmocka_unit_test(test_payload_rules_in_commands),
		cmocka_unit_test(test_sysname),
		cmocka_unit_test(test_attach_flags),
		cmocka_unit_test(test_negotiate_flags),
		cmocka_unit_test(test_negotiate_item),
		cmocka_unit_test(test_negotiate_msg),
		cmocka_unit_test(test_items_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
