/* SPDX-License-Identifier: BSD-2-Clause */
/* Match database (spec 9.6; behaviours test-match). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "core/match.h"
#include "core/limits.h"

#define BLOOM 64
#define ANY KDBUS_MATCH_ID_ANY
#define BCAST KDBUS_DST_ID_BROADCAST

/* An item list under construction. */
struct items {
	kd_u64 words[1024];
	kd_u64 size;
};

static struct kdbus_item *item_add(struct items *b, kd_u64 type, kd_u64 payload)
{
	struct kdbus_item *it = (struct kdbus_item *)(void *)((char *)b->words + b->size);

	assert_true(b->size + KD_ALIGN8(16 + payload) <= sizeof(b->words));
	memset(it, 0, KD_ALIGN8(16 + payload));
	it->size = 16 + payload;
	it->type = type;
	b->size += KD_ALIGN8(16 + payload);
	return it;
}

static void add_u64(struct items *b, kd_u64 type, kd_u64 v)
{
	item_add(b, type, 8)->id = v;
}

static void add_str(struct items *b, kd_u64 type, const char *s)
{
	memcpy(item_add(b, type, strlen(s) + 1)->str, s, strlen(s) + 1);
}

static void add_name_change(struct items *b, kd_u64 type, kd_u64 old_id, kd_u64 new_id,
			    const char *name)
{
	kd_u64 n = name ? strlen(name) + 1 : 0;
	struct kdbus_item *it = item_add(b, type, 32 + n);

	it->name_change.old_id.id = old_id;
	it->name_change.new_id.id = new_id;
	/* rule flags are ignored */
	it->name_change.old_id.flags = 0x1234;
	if (name)
		memcpy(it->name_change.name, name, n);
}

static void add_id_change(struct items *b, kd_u64 type, kd_u64 id)
{
	struct kdbus_item *it = item_add(b, type, 16);

	it->id_change.id = id;
	it->id_change.flags = 0x99;
}

static void add_bloom(struct items *b, const kd_u8 *masks, kd_u64 size)
{
	memcpy(item_add(b, KDBUS_ITEM_BLOOM_MASK, size)->data, masks, size);
}

static int add(struct kd_match_db *db, kd_u64 cookie, kd_u64 flags, const struct items *b)
{
	return kd_match_add(db, cookie, flags, (const struct kdbus_item *)(const void *)b->words,
			    b->size);
}

/* A signal with a filter, sent by src to dst. */
struct sig {
	kd_u64 generation;
	kd_u8 data[BLOOM];
};

static const char *owned_name;

static bool owns(void *ctx, const char *name)
{
	return owned_name && !strcmp(name, owned_name);
}

static bool msg(const struct kd_match_db *db, kd_u64 src, kd_u64 dst, const struct sig *s)
{
	struct kd_match_msg m = {
		.src_id = src,
		.dst_id = dst,
		.bloom = (const struct kdbus_bloom_filter *)(const void *)s,
		.src_owns_name = owns,
	};

	return kd_match_test_msg(db, &m);
}

static bool notify(const struct kd_match_db *db, kd_u64 type, kd_u64 id, kd_u64 old_id,
		   kd_u64 new_id, const char *name)
{
	struct kd_match_notify n = {
		.type = type, .id = id, .old_id = old_id, .new_id = new_id, .name = name,
	};

	return kd_match_test_notify(db, &n);
}

static int setup(void **state)
{
	*state = kd_match_db_new(BLOOM);
	assert_non_null(*state);
	owned_name = NULL;
	return 0;
}

static int teardown(void **state)
{
	assert_null(kd_match_db_free(*state));
	return 0;
}

static void test_empty_db(void **state)
{
	struct kd_match_db *db = *state;
	struct sig s = { 0 };

	assert_int_equal(kd_match_db_count(db), 0);
	assert_false(msg(db, 1, BCAST, &s));
	assert_false(notify(db, KDBUS_ITEM_ID_ADD, 5, 0, 0, NULL));
	assert_int_equal(kd_match_remove(db, 0), -EBADSLT);
	assert_null(kd_match_db_free(NULL));
}

/* An entry without rules matches every signal and every notification. */
static void test_empty_entry(void **state)
{
	struct kd_match_db *db = *state;
	struct items b = { .size = 0 };
	struct sig s = { 0 };

	assert_int_equal(add(db, 1, 0, &b), 0);
	assert_int_equal(kd_match_db_count(db), 1);
	assert_true(msg(db, 7, BCAST, &s));
	assert_true(msg(db, 7, 3, NULL));
	assert_true(notify(db, KDBUS_ITEM_ID_REMOVE, 9, 0, 0, NULL));
	assert_true(notify(db, KDBUS_ITEM_NAME_CHANGE, 0, 1, 2, "a.b"));
	/* NEGOTIATE items are no rules */
	assert_int_equal(kd_match_remove(db, 1), 0);
	item_add(&b, KDBUS_ITEM_NEGOTIATE, 8);
	assert_int_equal(add(db, 1, 0, &b), 0);
	assert_true(msg(db, 7, BCAST, &s));
}

static void test_id_rules(void **state)
{
	struct kd_match_db *db = *state;
	struct items b = { .size = 0 };
	struct sig s = { 0 };

	add_u64(&b, KDBUS_ITEM_ID, 5);
	assert_int_equal(add(db, 1, 0, &b), 0);
	assert_true(msg(db, 5, BCAST, &s));
	assert_false(msg(db, 6, BCAST, &s));
	/* user rules never match notifications */
	assert_false(notify(db, KDBUS_ITEM_ID_ADD, 5, 0, 0, NULL));

	b.size = 0;
	add_u64(&b, KDBUS_ITEM_ID, ANY);
	add_u64(&b, KDBUS_ITEM_DST_ID, 42);
	assert_int_equal(add(db, 2, KDBUS_MATCH_REPLACE, &b), 0);
	/* unicast signal to us (id 42) from anyone; broadcast only from 5 */
	assert_true(msg(db, 6, 42, &s));
	assert_false(msg(db, 6, BCAST, &s));
	assert_true(msg(db, 5, BCAST, &s));

	b.size = 0;
	add_u64(&b, KDBUS_ITEM_DST_ID, 43);
	assert_int_equal(add(db, 3, 0, &b), 0);
	assert_true(msg(db, 6, 43, &s));
	assert_false(msg(db, 6, 44, &s));
	/* DST_BROADCAST is the same value as ANY: such a rule matches everything */
	b.size = 0;
	add_u64(&b, KDBUS_ITEM_DST_ID, BCAST);
	assert_int_equal(add(db, 4, 0, &b), 0);
	assert_true(msg(db, 6, 44, &s));

	/* bad payload sizes */
	b.size = 0;
	item_add(&b, KDBUS_ITEM_ID, 16);
	assert_int_equal(add(db, 5, 0, &b), -EINVAL);
	b.size = 0;
	item_add(&b, KDBUS_ITEM_DST_ID, 4);
	assert_int_equal(add(db, 5, 0, &b), -EINVAL);
	assert_int_equal(kd_match_db_count(db), 4);
}

/* All rules of an entry must match (AND). */
static void test_and_or(void **state)
{
	struct kd_match_db *db = *state;
	struct items b = { .size = 0 };
	struct sig s = { 0 };

	add_u64(&b, KDBUS_ITEM_ID, 5);
	add_u64(&b, KDBUS_ITEM_ID, 6);
	assert_int_equal(add(db, 1, 0, &b), 0);
	assert_false(msg(db, 5, BCAST, &s));
	assert_false(msg(db, 6, BCAST, &s));
	b.size = 0;
	add_u64(&b, KDBUS_ITEM_ID, 6);
	assert_int_equal(add(db, 2, 0, &b), 0);
	assert_true(msg(db, 6, BCAST, &s));
	/* a rule of each kind in one entry can never match anything */
	b.size = 0;
	add_u64(&b, KDBUS_ITEM_ID, ANY);
	add_id_change(&b, KDBUS_ITEM_ID_ADD, ANY);
	assert_int_equal(add(db, 3, 0, &b), 0);
	assert_false(msg(db, 7, BCAST, &s));
	assert_false(notify(db, KDBUS_ITEM_ID_ADD, 7, 0, 0, NULL));
}

static void test_name_rule(void **state)
{
	struct kd_match_db *db = *state;
	struct items b = { .size = 0 };
	struct kd_match_msg m = { .src_id = 1, .dst_id = BCAST };
	struct sig s = { 0 };

	add_str(&b, KDBUS_ITEM_NAME, "foo.bar");
	assert_int_equal(add(db, 1, 0, &b), 0);
	assert_false(msg(db, 1, BCAST, &s));
	owned_name = "foo.baz";
	assert_false(msg(db, 1, BCAST, &s));
	owned_name = "foo.bar";
	assert_true(msg(db, 1, BCAST, &s));
	/* no callback: the sender owns nothing */
	assert_false(kd_match_test_msg(db, &m));
	assert_false(notify(db, KDBUS_ITEM_NAME_ADD, 0, 0, 1, "foo.bar"));

	b.size = 0;
	add_str(&b, KDBUS_ITEM_NAME, "foo");
	assert_int_equal(add(db, 2, 0, &b), -EINVAL);
	b.size = 0;
	add_str(&b, KDBUS_ITEM_NAME, "foo.bar.*");
	assert_int_equal(add(db, 2, 0, &b), -EINVAL);
	b.size = 0;
	add_str(&b, KDBUS_ITEM_NAME, ".foo.bar");
	assert_int_equal(add(db, 2, 0, &b), -EINVAL);
	/* an error in a later item rejects the whole entry */
	b.size = 0;
	add_u64(&b, KDBUS_ITEM_ID, 1);
	add_str(&b, KDBUS_ITEM_NAME, "1foo.bar");
	assert_int_equal(add(db, 2, 0, &b), -EINVAL);
	assert_int_equal(kd_match_db_count(db), 1);
}

/* behaviours test-match match_bloom; spec 9.5 mask-subset rule and generations */
static void test_bloom(void **state)
{
	struct kd_match_db *db = *state;
	struct items b = { .size = 0 };
	kd_u8 masks[2 * BLOOM] = { 0 };
	struct sig s = { 0 };

	masks[0] = 0x55;
	masks[63] = 0x80;
	masks[BLOOM + 1] = 0xaa;
	masks[BLOOM + 9] = 0x02;
	add_bloom(&b, masks, sizeof(masks));
	assert_int_equal(add(db, 0xbeef, 0, &b), 0);

	assert_false(msg(db, 2, BCAST, &s));
	s.data[0] = 0x55;
	s.data[63] = 0x80;
	assert_true(msg(db, 2, BCAST, &s));
	s.data[0] = 0xff;
	s.data[8] = 0xff;
	s.data[63] = 0xff;
	assert_true(msg(db, 2, BCAST, &s));
	s.generation = 1;
	assert_false(msg(db, 2, BCAST, &s));
	s.data[1] = 0xaa;
	s.data[9] = 0x02;
	assert_true(msg(db, 2, BCAST, &s));
	/* later generations use the last mask */
	s.generation = 7;
	assert_true(msg(db, 2, BCAST, &s));
	s.data[9] = 0;
	assert_false(msg(db, 2, BCAST, &s));
	/* no filter, no bloom match; bloom rules never match notifications */
	assert_false(msg(db, 2, BCAST, NULL));
	assert_false(notify(db, KDBUS_ITEM_ID_ADD, 2, 0, 0, NULL));
}

/* Mask size must be a non-zero multiple of the bus bloom size (EDOM). */
static void test_bloom_edom(void **state)
{
	struct kd_match_db *db = *state;
	struct items b = { .size = 0 };
	kd_u8 masks[3 * BLOOM] = { 0 };
	struct sig s = { 0 };

	add_bloom(&b, masks, 0);
	assert_int_equal(add(db, 1, 0, &b), -EDOM);
	b.size = 0;
	add_bloom(&b, masks, BLOOM / 2);
	assert_int_equal(add(db, 1, 0, &b), -EDOM);
	b.size = 0;
	add_bloom(&b, masks, BLOOM + 8);
	assert_int_equal(add(db, 1, 0, &b), -EDOM);
	assert_int_equal(kd_match_db_count(db), 0);
	b.size = 0;
	add_bloom(&b, masks, 3 * BLOOM);
	assert_int_equal(add(db, 1, 0, &b), 0);
	/* an all-zero mask matches every filter */
	assert_true(msg(db, 2, BCAST, &s));
}

/* behaviours test-match id_add / id_remove */
static void test_id_notifications(void **state)
{
	struct kd_match_db *db = *state;
	struct items b = { .size = 0 };
	struct sig s = { 0 };

	add_id_change(&b, KDBUS_ITEM_ID_ADD, ANY);
	assert_int_equal(add(db, 0xdeafbeefdeaddeadULL, 0, &b), 0);
	assert_true(notify(db, KDBUS_ITEM_ID_ADD, 77, 0, 0, NULL));
	assert_false(notify(db, KDBUS_ITEM_ID_REMOVE, 77, 0, 0, NULL));
	assert_false(msg(db, 77, BCAST, &s));

	b.size = 0;
	add_id_change(&b, KDBUS_ITEM_ID_REMOVE, 78);
	assert_int_equal(add(db, 2, 0, &b), 0);
	assert_true(notify(db, KDBUS_ITEM_ID_REMOVE, 78, 0, 0, NULL));
	assert_false(notify(db, KDBUS_ITEM_ID_REMOVE, 79, 0, 0, NULL));

	b.size = 0;
	item_add(&b, KDBUS_ITEM_ID_ADD, 8);
	assert_int_equal(add(db, 3, 0, &b), -EINVAL);
}

/* behaviours test-match name_add / name_remove / name_change */
static void test_name_notifications(void **state)
{
	struct kd_match_db *db = *state;
	struct items b = { .size = 0 };

	add_name_change(&b, KDBUS_ITEM_NAME_ADD, ANY, ANY, "foo.bla.blaz");
	assert_int_equal(add(db, 1, 0, &b), 0);
	assert_true(notify(db, KDBUS_ITEM_NAME_ADD, 0, 0, 5, "foo.bla.blaz"));
	assert_false(notify(db, KDBUS_ITEM_NAME_ADD, 0, 0, 5, "foo.bla.blazz"));
	assert_false(notify(db, KDBUS_ITEM_NAME_REMOVE, 0, 5, 0, "foo.bla.blaz"));
	assert_false(notify(db, KDBUS_ITEM_NAME_CHANGE, 0, 5, 6, "foo.bla.blaz"));

	b.size = 0;
	add_name_change(&b, KDBUS_ITEM_NAME_REMOVE, 5, ANY, "foo.bla.blaz");
	assert_int_equal(add(db, 2, 0, &b), 0);
	assert_true(notify(db, KDBUS_ITEM_NAME_REMOVE, 0, 5, 0, "foo.bla.blaz"));
	assert_false(notify(db, KDBUS_ITEM_NAME_REMOVE, 0, 6, 0, "foo.bla.blaz"));

	b.size = 0;
	add_name_change(&b, KDBUS_ITEM_NAME_CHANGE, ANY, 6, NULL);
	assert_int_equal(add(db, 3, 0, &b), 0);
	/* 48-byte item: any name */
	assert_true(notify(db, KDBUS_ITEM_NAME_CHANGE, 0, 5, 6, "foo.bla.blaz"));
	assert_true(notify(db, KDBUS_ITEM_NAME_CHANGE, 0, 9, 6, "x.y"));
	assert_false(notify(db, KDBUS_ITEM_NAME_CHANGE, 0, 5, 7, "x.y"));
	assert_false(notify(db, KDBUS_ITEM_NAME_ADD, 0, 0, 6, "x.y"));

	/* a zero-filled rule only matches old = new = 0 */
	assert_int_equal(kd_match_remove(db, 1), 0);
	b.size = 0;
	add_name_change(&b, KDBUS_ITEM_NAME_ADD, 0, 0, NULL);
	assert_int_equal(add(db, 4, 0, &b), 0);
	assert_false(notify(db, KDBUS_ITEM_NAME_ADD, 0, 0, 5, "a.b"));
	assert_true(notify(db, KDBUS_ITEM_NAME_ADD, 0, 0, 0, "a.b"));

	/* too short, or a name tail that is not one terminated string */
	b.size = 0;
	item_add(&b, KDBUS_ITEM_NAME_ADD, 24);
	assert_int_equal(add(db, 5, 0, &b), -EINVAL);
	b.size = 0;
	memcpy(item_add(&b, KDBUS_ITEM_NAME_ADD, 32 + 3)->name_change.name, "a.b", 3);
	assert_int_equal(add(db, 5, 0, &b), -EINVAL);
	b.size = 0;
	memcpy(item_add(&b, KDBUS_ITEM_NAME_ADD, 32 + 4)->name_change.name, "a\0b", 4);
	assert_int_equal(add(db, 5, 0, &b), -EINVAL);
	assert_int_equal(kd_match_db_count(db), 3);
}

static void test_bad_item_type(void **state)
{
	struct kd_match_db *db = *state;
	struct items b = { .size = 0 };

	add_str(&b, KDBUS_ITEM_DST_NAME, "foo.bar");
	assert_int_equal(add(db, 1, 0, &b), -EINVAL);
	b.size = 0;
	add_u64(&b, KDBUS_ITEM_ATTACH_FLAGS_SEND, 0);
	assert_int_equal(add(db, 1, 0, &b), -EINVAL);
	assert_int_equal(kd_match_db_count(db), 0);
}

/* behaviours test-match match_replace; MATCH_REMOVE */
static void test_replace_remove(void **state)
{
	struct kd_match_db *db = *state;
	struct items b = { .size = 0 };
	kd_u8 masks[BLOOM] = { 0 };

	add_id_change(&b, KDBUS_ITEM_ID_ADD, ANY);
	assert_int_equal(add(db, 7, 0, &b), 0);
	assert_int_equal(add(db, 7, 0, &b), 0);
	assert_int_equal(add(db, 8, 0, &b), 0);
	assert_int_equal(kd_match_db_count(db), 3);

	b.size = 0;
	add_id_change(&b, KDBUS_ITEM_ID_REMOVE, ANY);
	assert_int_equal(add(db, 7, KDBUS_MATCH_REPLACE, &b), 0);
	assert_int_equal(kd_match_db_count(db), 2);
	assert_true(notify(db, KDBUS_ITEM_ID_REMOVE, 1, 0, 0, NULL));
	assert_true(notify(db, KDBUS_ITEM_ID_ADD, 1, 0, 0, NULL)); /* cookie 8 */
	assert_int_equal(kd_match_remove(db, 8), 0);
	assert_false(notify(db, KDBUS_ITEM_ID_ADD, 1, 0, 0, NULL));
	assert_int_equal(kd_match_remove(db, 8), -EBADSLT);

	/* a failing REPLACE leaves the old entries in place */
	b.size = 0;
	add_bloom(&b, masks, 8);
	assert_int_equal(add(db, 7, KDBUS_MATCH_REPLACE, &b), -EDOM);
	assert_true(notify(db, KDBUS_ITEM_ID_REMOVE, 1, 0, 0, NULL));

	/* REPLACE with an unused cookie just adds */
	b.size = 0;
	assert_int_equal(add(db, 9, KDBUS_MATCH_REPLACE, &b), 0);
	assert_int_equal(kd_match_db_count(db), 2);
	assert_int_equal(kd_match_remove(db, 7), 0);
	assert_int_equal(kd_match_remove(db, 9), 0);
	assert_int_equal(kd_match_db_count(db), 0);
}

/* 256 entries; the limit is checked after the REPLACE removal (EMFILE). */
static void test_limit(void **state)
{
	struct kd_match_db *db = *state;
	struct items b = { .size = 0 };
	unsigned int i;

	add_u64(&b, KDBUS_ITEM_ID, 1);
	for (i = 0; i < KDBUS_MATCH_MAX; i++)
		assert_int_equal(add(db, i, 0, &b), 0);
	assert_int_equal(kd_match_db_count(db), KDBUS_MATCH_MAX);
	assert_int_equal(add(db, 1000, 0, &b), -EMFILE);
	assert_int_equal(add(db, 1000, KDBUS_MATCH_REPLACE, &b), -EMFILE);
	assert_int_equal(add(db, 5, 0, &b), -EMFILE);
	assert_int_equal(add(db, 5, KDBUS_MATCH_REPLACE, &b), 0);
	assert_int_equal(kd_match_db_count(db), KDBUS_MATCH_MAX);
	assert_int_equal(kd_match_remove(db, 0), 0);
	assert_int_equal(add(db, 1000, 0, &b), 0);
	assert_int_equal(add(db, 1001, 0, &b), -EMFILE);
}

/* A database made with bloom size 0 rejects every mask (EDOM). */
static void test_bloom_size_zero_db(void **state)
{
	struct kd_match_db *db = kd_match_db_new(0);
	struct items b = { .size = 0 };
	kd_u8 masks[8] = { 0 };

	assert_non_null(db);
	add_bloom(&b, masks, 8);
	assert_int_equal(add(db, 1, 0, &b), -EDOM);
	assert_null(kd_match_db_free(db));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty_db, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_id_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_and_or, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bloom, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bloom_edom, setup, teardown),
		cmocka_unit_test_setup_teardown(test_id_notifications, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_notifications, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_item_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
		cmocka_unit_test(test_bloom_size_zero_db),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
