/* SPDX-License-Identifier: BSD-2-Clause */
/* Policy database (spec 9.4; behaviours test-policy, test-policy-priv at db level). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "core/policy.h"

#define SEE KDBUS_POLICY_SEE
#define TALK KDBUS_POLICY_TALK
#define OWN KDBUS_POLICY_OWN
#define USER KDBUS_POLICY_ACCESS_USER
#define GROUP KDBUS_POLICY_ACCESS_GROUP
#define WORLD KDBUS_POLICY_ACCESS_WORLD

struct items {
	kd_u64 words[512];
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

static void add_name(struct items *b, const char *s)
{
	memcpy(item_add(b, KDBUS_ITEM_NAME, strlen(s) + 1)->str, s, strlen(s) + 1);
}

static void add_access(struct items *b, kd_u64 type, kd_u64 access, kd_u64 id)
{
	struct kdbus_item *it = item_add(b, KDBUS_ITEM_POLICY_ACCESS, 24);

	it->policy_access.type = type;
	it->policy_access.access = access;
	it->policy_access.id = id;
}

static int set_ex(struct kd_policy_db *db, const void *owner, const struct items *b,
		  unsigned int max, bool wild)
{
	return kd_policy_set(db, owner, (const struct kdbus_item *)(const void *)b->words, b->size,
			     max, wild, NULL, NULL);
}

static int set(struct kd_policy_db *db, const void *owner, const struct items *b)
{
	return set_ex(db, owner, b, 0, true);
}

/* One name, no access items (what a policy holder HELLO may carry). */
static int set1(struct kd_policy_db *db, const void *owner, const char *name)
{
	struct items b = { .size = 0 };

	add_name(&b, name);
	return set_ex(db, owner, &b, 1, true);
}

static const struct kd_policy_creds nobody = { .euid = 65534, .egid = 65534 };

static int setup(void **state)
{
	*state = kd_policy_db_new();
	assert_non_null(*state);
	return 0;
}

static int teardown(void **state)
{
	assert_null(kd_policy_db_free(*state));
	return 0;
}

static void test_empty_db(void **state)
{
	struct kd_policy_db *db = *state;

	/* a fresh (endpoint) database denies everything */
	assert_int_equal(kd_policy_query(db, &nobody, "com.example.a"), -EPERM);
	assert_false(kd_policy_check(db, &nobody, "com.example.a", SEE));
	assert_int_equal(kd_policy_db_count(db), 0);
	assert_null(kd_policy_db_free(NULL));
}

/* behaviours test-policy kdbus_test_policy */
static void test_holder_scenario(void **state)
{
	struct kd_policy_db *db = *state;
	int a = 0, b = 0;

	assert_int_equal(set1(db, &a, ".example.a"), -EINVAL);
	assert_int_equal(set1(db, &a, "example"), -EINVAL);
	assert_int_equal(set1(db, &a, "com.example.a"), 0);
	assert_int_equal(set1(db, &b, "com.example.b"), 0);
	assert_int_equal(kd_policy_db_count(db), 2);
	/* an entry without access items grants nothing */
	assert_int_equal(kd_policy_query(db, &nobody, "com.example.a"), -EPERM);

	/* the same exact name under two holders */
	assert_int_equal(set1(db, &b, "com.example.a"), -EEXIST);
	/* b's previous set was restored */
	assert_int_equal(kd_policy_db_count(db), 2);
	assert_int_equal(set1(db, &b, "com.example.b"), 0);

	/* exact and wildcard keys for the same prefix coexist */
	assert_int_equal(set1(db, &b, "com.example.a.*"), 0);
	assert_int_equal(kd_policy_db_count(db), 2);
	/* a wildcard held by one cannot be taken by another */
	assert_int_equal(set1(db, &a, "com.example.a.*"), -EEXIST);

	/* an upload replaces the holder's whole set */
	assert_int_equal(set1(db, &a, "com.example.*"), 0);
	assert_int_equal(set1(db, &b, "com.example.a"), 0);
	assert_int_equal(kd_policy_db_count(db), 2);

	assert_int_equal(set1(db, &a, ".example.*"), -EINVAL);
	assert_int_equal(set1(db, &a, "example"), -EINVAL);
	assert_int_equal(kd_policy_db_count(db), 2);
}

/* Failure at any step leaves the owner's previous set in place. */
static void test_atomic_restore(void **state)
{
	struct kd_policy_db *db = *state;
	struct items u = { .size = 0 };
	int a = 0, b = 0;

	add_name(&u, "x.a");
	add_access(&u, WORLD, TALK, 0);
	assert_int_equal(set(db, &a, &u), 0);
	assert_int_equal(set1(db, &b, "x.b"), 0);

	/* EEXIST after a first new entry was inserted */
	u.size = 0;
	add_name(&u, "x.new");
	add_access(&u, WORLD, OWN, 0);
	add_name(&u, "x.b");
	assert_int_equal(set(db, &a, &u), -EEXIST);
	assert_int_equal(kd_policy_query(db, &nobody, "x.a"), TALK);
	assert_int_equal(kd_policy_query(db, &nobody, "x.new"), -EPERM);
	assert_int_equal(kd_policy_db_count(db), 2);

	/* the same key twice in one upload */
	u.size = 0;
	add_name(&u, "x.c");
	add_name(&u, "x.c");
	assert_int_equal(set(db, &a, &u), -EEXIST);
	assert_int_equal(kd_policy_query(db, &nobody, "x.a"), TALK);

	/* an owner may re-upload its own keys */
	u.size = 0;
	add_name(&u, "x.a");
	add_access(&u, WORLD, SEE, 0);
	assert_int_equal(set(db, &a, &u), 0);
	assert_int_equal(kd_policy_query(db, &nobody, "x.a"), SEE);

	/* an upload without names drops the owner's entries */
	u.size = 0;
	assert_int_equal(set(db, &a, &u), 0);
	assert_int_equal(kd_policy_query(db, &nobody, "x.a"), -EPERM);
	assert_int_equal(kd_policy_db_count(db), 1);
}

static void test_parse_errors(void **state)
{
	struct kd_policy_db *db = *state;
	struct items u = { .size = 0 };
	int a = 0;

	add_name(&u, "x.keep");
	add_access(&u, WORLD, OWN, 0);
	assert_int_equal(set(db, &a, &u), 0);

	u.size = 0;
	add_access(&u, WORLD, OWN, 0);
	add_name(&u, "x.y");
	assert_int_equal(set(db, &a, &u), -EINVAL);

	u.size = 0;
	add_name(&u, "x.y");
	add_access(&u, 0, OWN, 0);
	assert_int_equal(set(db, &a, &u), -EINVAL);
	u.size = 0;
	add_name(&u, "x.y");
	add_access(&u, 4, OWN, 0);
	assert_int_equal(set(db, &a, &u), -EINVAL);
	u.size = 0;
	add_name(&u, "x.y");
	add_access(&u, USER, 3, 0);
	assert_int_equal(set(db, &a, &u), -EINVAL);

	/* wildcards refused for activators */
	u.size = 0;
	add_name(&u, "x.y.*");
	assert_int_equal(set_ex(db, &a, &u, 1, false), -EINVAL);

	/* one NAME per holder/activator upload */
	u.size = 0;
	add_name(&u, "x.y");
	add_name(&u, "x.z");
	assert_int_equal(set_ex(db, &a, &u, 1, true), -E2BIG);
	assert_int_equal(set_ex(db, &a, &u, 2, true), 0);
	assert_int_equal(kd_policy_db_count(db), 2);
	assert_int_equal(kd_policy_query(db, &nobody, "x.keep"), -EPERM);

	/* E2BIG is decided before the name is looked at */
	u.size = 0;
	add_name(&u, "x.y");
	add_name(&u, "invalid");
	assert_int_equal(set_ex(db, &a, &u, 1, true), -E2BIG);
	assert_int_equal(set_ex(db, &a, &u, 0, true), -EINVAL);
	assert_int_equal(kd_policy_db_count(db), 2);
}

/* Other item types of a HELLO/UPDATE list are skipped. */
static void test_foreign_items(void **state)
{
	struct kd_policy_db *db = *state;
	struct items u = { .size = 0 };
	int a = 0;

	item_add(&u, KDBUS_ITEM_CREDS, 64);
	add_name(&u, "x.y");
	item_add(&u, KDBUS_ITEM_ATTACH_FLAGS_RECV, 8);
	add_access(&u, WORLD, TALK, 0);
	item_add(&u, KDBUS_ITEM_NEGOTIATE, 8);
	add_access(&u, USER, OWN, 65534);
	assert_int_equal(set_ex(db, &a, &u, 1, false), 0);
	assert_int_equal(kd_policy_query(db, &nobody, "x.y"), OWN);
}

/* behaviours test-policy-priv: USER, GROUP, WORLD; max level; OWN implies TALK. */
static void test_levels(void **state)
{
	struct kd_policy_db *db = *state;
	struct items u = { .size = 0 };
	const kd_u64 groups[] = { 10, 20, 30 };
	struct kd_policy_creds c = { .euid = 1000, .egid = 1000 };
	int a = 0;

	add_name(&u, "p.user");
	add_access(&u, USER, TALK, 999);
	add_access(&u, USER, OWN, 1000);
	add_access(&u, USER, SEE, 1001);
	add_name(&u, "p.group");
	add_access(&u, GROUP, TALK, 1000);
	add_access(&u, GROUP, OWN, 20);
	add_name(&u, "p.world");
	add_access(&u, WORLD, SEE, 12345);
	add_access(&u, USER, TALK, 1000);
	add_name(&u, "p.low");
	add_access(&u, USER, SEE, 1000);
	add_access(&u, WORLD, TALK, 0);
	assert_int_equal(set(db, &a, &u), 0);

	assert_int_equal(kd_policy_query(db, &c, "p.user"), OWN);
	c.euid = 999;
	assert_int_equal(kd_policy_query(db, &c, "p.user"), TALK);
	c.euid = 5;
	assert_int_equal(kd_policy_query(db, &c, "p.user"), -EPERM);

	/* GROUP: egid, or a supplementary group */
	assert_int_equal(kd_policy_query(db, &c, "p.group"), TALK);
	c.groups = groups;
	c.n_groups = 3;
	assert_int_equal(kd_policy_query(db, &c, "p.group"), OWN);
	c.egid = 7;
	assert_int_equal(kd_policy_query(db, &c, "p.group"), OWN);
	c.n_groups = 1;
	assert_int_equal(kd_policy_query(db, &c, "p.group"), -EPERM);

	/* WORLD ignores the id; highest matching rule wins */
	assert_int_equal(kd_policy_query(db, &nobody, "p.world"), SEE);
	c.euid = 1000;
	assert_int_equal(kd_policy_query(db, &c, "p.world"), TALK);
	assert_int_equal(kd_policy_query(db, &c, "p.low"), TALK);

	/* checks are "level >= required" */
	assert_true(kd_policy_check(db, &c, "p.user", SEE));
	assert_true(kd_policy_check(db, &c, "p.user", TALK));
	assert_true(kd_policy_check(db, &c, "p.user", OWN));
	assert_true(kd_policy_check(db, &c, "p.low", TALK));
	assert_false(kd_policy_check(db, &c, "p.low", OWN));
	assert_false(kd_policy_check(db, &c, "p.none", SEE));
}

/* Exact entry first, then the one-level wildcard. */
static void test_wildcard_lookup(void **state)
{
	struct kd_policy_db *db = *state;
	struct items u = { .size = 0 };
	int a = 0, b = 0;

	add_name(&u, "foo.bar.*");
	add_access(&u, WORLD, OWN, 0);
	assert_int_equal(set(db, &a, &u), 0);

	assert_int_equal(kd_policy_query(db, &nobody, "foo.bar.baz"), OWN);
	assert_int_equal(kd_policy_query(db, &nobody, "foo.bar.baz.qux"), -EPERM);
	assert_int_equal(kd_policy_query(db, &nobody, "foo.bar"), -EPERM);
	assert_int_equal(kd_policy_query(db, &nobody, "foo.barx.baz"), -EPERM);
	assert_int_equal(kd_policy_query(db, &nobody, "nodot"), -EPERM);

	/* an exact entry shadows the wildcard, even when it grants less */
	u.size = 0;
	add_name(&u, "foo.bar.baz");
	add_access(&u, WORLD, SEE, 0);
	assert_int_equal(set(db, &b, &u), 0);
	assert_int_equal(kd_policy_query(db, &nobody, "foo.bar.baz"), SEE);
	assert_int_equal(kd_policy_query(db, &nobody, "foo.bar.other"), OWN);
	assert_int_equal(set1(db, &b, "foo.bar.baz"), 0);
	assert_int_equal(kd_policy_query(db, &nobody, "foo.bar.baz"), -EPERM);

	/* "foo.bar" exact is a different key from "foo.bar.*" */
	u.size = 0;
	add_name(&u, "foo.bar");
	add_access(&u, WORLD, TALK, 0);
	assert_int_equal(set(db, &b, &u), 0);
	assert_int_equal(kd_policy_query(db, &nobody, "foo.bar"), TALK);
	assert_int_equal(kd_policy_query(db, &nobody, "foo.bar.baz"), OWN);
}

/* A holder disconnecting revokes its grants immediately. */
static void test_remove_owner(void **state)
{
	struct kd_policy_db *db = *state;
	struct items u = { .size = 0 };
	int a = 0, b = 0;

	add_name(&u, "r.a");
	add_access(&u, WORLD, TALK, 0);
	add_name(&u, "r.a.*");
	add_access(&u, WORLD, TALK, 0);
	assert_int_equal(set(db, &a, &u), 0);
	assert_int_equal(set1(db, &b, "r.b"), 0);
	assert_int_equal(kd_policy_db_count(db), 3);
	kd_policy_remove_owner(db, &a);
	assert_int_equal(kd_policy_db_count(db), 1);
	assert_int_equal(kd_policy_query(db, &nobody, "r.a"), -EPERM);
	assert_int_equal(kd_policy_query(db, &nobody, "r.a.x"), -EPERM);
	kd_policy_remove_owner(db, &a);
	/* the name is free for another owner now */
	assert_int_equal(set1(db, &b, "r.a"), 0);
}

static int map_plus_1000(void *ctx, kd_u64 type, kd_u64 id, kd_u64 *out)
{
	int *calls = ctx;

	(*calls)++;
	assert_true(type == USER || type == GROUP);
	if (id == 666)
		return -EINVAL;
	*out = id + 1000;
	return 0;
}

/* USER/GROUP ids are mapped from the uploader's namespace. */
static void test_id_mapping(void **state)
{
	struct kd_policy_db *db = *state;
	struct items u = { .size = 0 };
	struct kd_policy_creds c = { .euid = 5, .egid = 5 };
	int a = 0, calls = 0;

	add_name(&u, "m.a");
	add_access(&u, USER, OWN, 5);
	add_access(&u, GROUP, TALK, 6);
	add_access(&u, WORLD, SEE, 666);
	assert_int_equal(kd_policy_set(db, &a, (const struct kdbus_item *)(void *)u.words, u.size,
				       0, true, map_plus_1000, &calls), 0);
	assert_int_equal(calls, 2);
	assert_int_equal(kd_policy_query(db, &c, "m.a"), SEE);
	c.euid = 1005;
	assert_int_equal(kd_policy_query(db, &c, "m.a"), OWN);
	c.euid = 5;
	c.egid = 1006;
	assert_int_equal(kd_policy_query(db, &c, "m.a"), TALK);

	u.size = 0;
	add_name(&u, "m.b");
	add_access(&u, USER, OWN, 666);
	assert_int_equal(kd_policy_set(db, &a, (const struct kdbus_item *)(void *)u.words, u.size,
				       0, true, map_plus_1000, &calls), -EINVAL);
	assert_int_equal(kd_policy_query(db, &c, "m.a"), TALK);
}

/* TALK to a connection: any name it owns as primary. */
static void test_check_owner(void **state)
{
	struct kd_policy_db *db = *state;
	struct kd_name_registry *r = kd_name_registry_new(NULL, NULL);
	struct kd_name_owner d, e;
	struct items u = { .size = 0 };
	kd_u64 rf;
	int a = 0;

	assert_non_null(r);
	kd_name_owner_init(&d, 1);
	kd_name_owner_init(&e, 2);
	add_name(&u, "t.open");
	add_access(&u, WORLD, TALK, 0);
	add_name(&u, "t.seen");
	add_access(&u, WORLD, SEE, 0);
	assert_int_equal(set(db, &a, &u), 0);

	/* a nameless connection is not reachable through the db */
	assert_false(kd_policy_check_owner(db, &nobody, &d, SEE));
	assert_int_equal(kd_name_acquire(r, &d, "t.closed", 0, &rf), 0);
	assert_int_equal(kd_name_acquire(r, &d, "t.seen", 0, &rf), 0);
	assert_false(kd_policy_check_owner(db, &nobody, &d, TALK));
	assert_true(kd_policy_check_owner(db, &nobody, &d, SEE));

	/* queued for a name is not owning it */
	assert_int_equal(kd_name_acquire(r, &e, "t.open", 0, &rf), 0);
	assert_int_equal(kd_name_acquire(r, &d, "t.open", KDBUS_NAME_QUEUE, &rf), 0);
	assert_false(kd_policy_check_owner(db, &nobody, &d, TALK));
	kd_name_release_all(r, &e);
	assert_true(kd_policy_check_owner(db, &nobody, &d, TALK));
	assert_false(kd_policy_check_owner(db, &nobody, &d, OWN));

	/* the grant goes with the holder */
	kd_policy_remove_owner(db, &a);
	assert_false(kd_policy_check_owner(db, &nobody, &d, SEE));

	kd_name_release_all(r, &d);
	assert_null(kd_name_registry_free(r));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty_db, setup, teardown),
		cmocka_unit_test_setup_teardown(test_holder_scenario, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_items, setup, teardown),
		cmocka_unit_test_setup_teardown(test_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wildcard_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_id_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_owner, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
