/* SPDX-License-Identifier: BSD-2-Clause */
/* Name syntax and registry (spec 5.3, 9.1-9.3; behaviours test-names/test-activator). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/name.h"
#include "core/limits.h"

#define PRIMARY KDBUS_NAME_PRIMARY
#define IN_QUEUE KDBUS_NAME_IN_QUEUE
#define ACQUIRED KDBUS_NAME_ACQUIRED
#define ACTIVATOR KDBUS_NAME_ACTIVATOR
#define QUEUE KDBUS_NAME_QUEUE
#define ALLOW KDBUS_NAME_ALLOW_REPLACEMENT
#define REPLACE KDBUS_NAME_REPLACE_EXISTING

struct ev {
	kd_u64 type;
	char name[KDBUS_NAME_MAX_LEN + 1];
	kd_u64 name_id;
	struct kd_name_owner *old_o, *new_o;
	struct kdbus_notify_name_change c;
	int lookup_ret;           /* kd_name_lookup() from inside the callback */
	struct kd_name_owner *lookup_owner;
};

struct fx {
	struct kd_name_registry *r;
	struct kd_name_owner c[4];
	struct ev ev[600];
	unsigned int n_ev;
};

static void record(void *ctx, const struct kd_name_event *e)
{
	struct fx *f = ctx;
	struct kd_name_info info;
	struct ev *out;

	assert_true(f->n_ev < KD_ARRAY_SIZE(f->ev));
	out = &f->ev[f->n_ev++];
	out->type = e->type;
	snprintf(out->name, sizeof(out->name), "%s", e->name);
	out->name_id = e->name_id;
	out->old_o = e->old_owner;
	out->new_o = e->new_owner;
	out->c = e->change;
	out->lookup_ret = kd_name_lookup(f->r, e->name, &info);
	out->lookup_owner = out->lookup_ret == 0 ? info.owner : NULL;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	unsigned int i;

	assert_non_null(f);
	f->r = kd_name_registry_new(record, f);
	assert_non_null(f->r);
	for (i = 0; i < 4; i++)
		kd_name_owner_init(&f->c[i], 100 + i);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	unsigned int i;

	for (i = 0; i < 4; i++) {
		kd_name_release_all(f->r, &f->c[i]);
		assert_true(kd_name_owner_is_empty(&f->c[i]));
	}
	assert_int_equal(kd_name_registry_count(f->r), 0);
	assert_null(kd_name_registry_free(f->r));
	free(f);
	return 0;
}

/* Flags of o's record for name, or ~0 if it has none. */
static kd_u64 rec_flags(const struct kd_name_owner *o, const char *name)
{
	const struct kd_name_record *rec;

	KD_NAME_OWNER_FOREACH(rec, o)
		if (!strcmp(kd_name_record_name(rec), name))
			return kd_name_record_flags(rec);
	return ~0ULL;
}

static void check_ev(const struct ev *e, kd_u64 type, const char *name,
		     const struct kd_name_owner *old_o, kd_u64 old_flags,
		     const struct kd_name_owner *new_o, kd_u64 new_flags)
{
	assert_int_equal(e->type, type);
	assert_string_equal(e->name, name);
	assert_ptr_equal(e->old_o, old_o);
	assert_ptr_equal(e->new_o, new_o);
	assert_int_equal(e->c.old_id.id, old_o ? old_o->id : 0);
	assert_int_equal(e->c.old_id.flags, old_flags);
	assert_int_equal(e->c.new_id.id, new_o ? new_o->id : 0);
	assert_int_equal(e->c.new_id.flags, new_flags);
}

static void test_name_syntax(void **state)
{
	static const char *valid[] = {
		"foo.bar", "foo.bar.xxx", "a.b", "_a.-b", "Foo-9.bar_8", "a1.b2.c3", "com.example.a",
	};
	static const char *invalid[] = {
		"", "foo", ".bla.blaz", "foo.", "foo..bar", "1foo.bar", "foo.1bar", "foo.b@r",
		"foo.bar baz", "foo.b\xc3\xa4r", "*", ".*", "foo.b*", "foo.*.bar", "foo.**", "foo/bar.x",
	};
	char longname[KDBUS_NAME_MAX_LEN + 2];
	unsigned int i;

	for (i = 0; i < KD_ARRAY_SIZE(valid); i++) {
		assert_true(kd_name_is_valid(valid[i], false));
		assert_true(kd_name_is_valid(valid[i], true));
		assert_false(kd_name_is_wildcard(valid[i]));
	}
	for (i = 0; i < KD_ARRAY_SIZE(invalid); i++) {
		assert_false(kd_name_is_valid(invalid[i], false));
		assert_false(kd_name_is_valid(invalid[i], true));
	}
	/* wildcard only where allowed, only as a whole final element */
	assert_false(kd_name_is_valid("foo.bla.bl.*", false));
	assert_true(kd_name_is_valid("foo.bla.bl.*", true));
	assert_true(kd_name_is_valid("foo.*", true));
	assert_true(kd_name_is_wildcard("foo.bla.bl.*"));
	assert_false(kd_name_is_valid(".example.*", true));
	assert_false(kd_name_is_valid("example", true));

	/* 255 characters is the maximum */
	memset(longname, 'a', sizeof(longname));
	longname[1] = '.';
	longname[KDBUS_NAME_MAX_LEN] = '\0';
	assert_true(kd_name_is_valid(longname, false));
	longname[KDBUS_NAME_MAX_LEN] = 'a';
	longname[KDBUS_NAME_MAX_LEN + 1] = '\0';
	assert_false(kd_name_is_valid(longname, false));
}

/* behaviours test-names name_basic */
static void test_acquire_release_basic(void **state)
{
	struct fx *f = *state;
	struct kd_name_info info;
	kd_u64 rf = 0, id;

	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.bar.xxx", 0, &rf), 0);
	assert_int_equal(rf, PRIMARY | ACQUIRED);
	assert_int_equal(f->n_ev, 1);
	check_ev(&f->ev[0], KDBUS_ITEM_NAME_ADD, "foo.bar.xxx", NULL, 0, &f->c[1], PRIMARY);
	/* the callback already sees the new owner */
	assert_int_equal(f->ev[0].lookup_ret, 0);
	assert_ptr_equal(f->ev[0].lookup_owner, &f->c[1]);

	assert_int_equal(kd_name_acquire(f->r, &f->c[0], ".bla.blaz", 0, &rf), -EINVAL);
	assert_int_equal(kd_name_acquire(f->r, &f->c[0], "foo", 0, &rf), -EINVAL);
	assert_int_equal(kd_name_acquire(f->r, &f->c[0], "foo.bla.bl.*", 0, &rf), -EINVAL);

	assert_int_equal(kd_name_acquire(f->r, &f->c[0], "foo.bla.blaz", 0, &rf), 0);
	assert_int_equal(rf, PRIMARY | ACQUIRED);
	assert_int_equal(rec_flags(&f->c[0], "foo.bla.blaz"), PRIMARY);
	assert_int_equal(kd_name_lookup(f->r, "foo.bla.blaz", &info), 0);
	assert_ptr_equal(info.owner, &f->c[0]);
	assert_null(info.activator);
	assert_int_equal(info.flags, PRIMARY);
	assert_int_equal(info.name_id, f->ev[1].name_id);
	assert_true(kd_name_is_primary(f->r, &f->c[0], "foo.bla.blaz"));
	assert_false(kd_name_is_primary(f->r, &f->c[1], "foo.bla.blaz"));
	assert_int_equal(kd_name_registry_count(f->r), 2);
	id = info.name_id;

	f->n_ev = 0;
	assert_int_equal(kd_name_release(f->r, &f->c[0], "foo.bla.blaz"), 0);
	assert_int_equal(f->n_ev, 1);
	check_ev(&f->ev[0], KDBUS_ITEM_NAME_REMOVE, "foo.bla.blaz", &f->c[0], PRIMARY, NULL, 0);
	assert_int_equal(f->ev[0].name_id, id);
	assert_int_equal(f->ev[0].lookup_ret, -ESRCH);
	assert_int_equal(rec_flags(&f->c[0], "foo.bla.blaz"), ~0ULL);
	assert_int_equal(kd_name_lookup(f->r, "foo.bla.blaz", NULL), -ESRCH);
	assert_false(kd_name_is_primary(f->r, &f->c[0], "foo.bla.blaz"));

	assert_int_equal(kd_name_release(f->r, &f->c[0], "foo.bla.blaz"), -ESRCH);
	assert_int_equal(kd_name_release(f->r, &f->c[0], "foo.bar.xxx"), -EADDRINUSE);
	assert_int_equal(kd_name_release(f->r, &f->c[0], ".bla.blaz"), -ESRCH);
	assert_int_equal(kd_name_release(f->r, &f->c[0], "foo"), -ESRCH);
	assert_int_equal(kd_name_release(f->r, &f->c[0], "foo.bla.bl.*"), -ESRCH);
	assert_int_equal(f->n_ev, 1);

	/* a re-created entry gets a new name_id */
	assert_int_equal(kd_name_acquire(f->r, &f->c[0], "foo.bla.blaz", 0, &rf), 0);
	assert_int_equal(kd_name_lookup(f->r, "foo.bla.blaz", &info), 0);
	assert_true(info.name_id > id);
}

/* behaviours test-names name_conflict */
static void test_conflict(void **state)
{
	struct fx *f = *state;
	kd_u64 rf = 0;

	assert_int_equal(kd_name_acquire(f->r, &f->c[0], "foo.bar", 0, &rf), 0);
	f->n_ev = 0;
	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.bar", 0, &rf), -EEXIST);
	assert_int_equal(rf, 0);
	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.bar", ALLOW, &rf), -EEXIST);
	assert_int_equal(rf, ALLOW);
	/* REPLACE_EXISTING needs the primary's ALLOW_REPLACEMENT */
	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.bar", REPLACE, &rf), -EEXIST);
	assert_int_equal(f->n_ev, 0);
	assert_true(kd_name_owner_is_empty(&f->c[1]));
	assert_int_equal(rec_flags(&f->c[0], "foo.bar"), PRIMARY);

	/* state bits in a request are not stored */
	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.masked",
					 QUEUE | PRIMARY | IN_QUEUE | ACTIVATOR | ACQUIRED, &rf), 0);
	assert_int_equal(rf, QUEUE | PRIMARY | ACQUIRED);
	assert_int_equal(rec_flags(&f->c[1], "foo.masked"), QUEUE | PRIMARY);
	/* an activator record is refused for a name the connection already holds */
	assert_int_equal(kd_name_activator_add(f->r, &f->c[1], "foo.masked", &rf), -EALREADY);
	assert_int_equal(rec_flags(&f->c[1], "foo.masked"), QUEUE | PRIMARY);
	assert_int_equal(f->c[1].n_records, 1);
}

/* Re-acquiring an owned name succeeds without ACQUIRED and updates stored flags. */
static void test_reacquire_primary(void **state)
{
	struct fx *f = *state;
	kd_u64 rf = 0;

	assert_int_equal(kd_name_acquire(f->r, &f->c[0], "foo.bar", QUEUE, &rf), 0);
	assert_int_equal(rf, QUEUE | PRIMARY | ACQUIRED);
	f->n_ev = 0;
	assert_int_equal(kd_name_acquire(f->r, &f->c[0], "foo.bar", ALLOW, &rf), 0);
	assert_int_equal(rf, ALLOW | PRIMARY);
	assert_int_equal(rec_flags(&f->c[0], "foo.bar"), ALLOW | PRIMARY);
	assert_int_equal(f->c[0].n_records, 1);
	assert_int_equal(f->n_ev, 0);
	/* now replaceable */
	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.bar", REPLACE, &rf), 0);
	assert_int_equal(rf, PRIMARY | ACQUIRED);
}

/* behaviours test-names name_queue, test-match name_change */
static void test_queue(void **state)
{
	struct fx *f = *state;
	kd_u64 rf = 0;

	assert_int_equal(kd_name_acquire(f->r, &f->c[0], "foo.bar", 0, &rf), 0);
	f->n_ev = 0;
	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.bar", QUEUE, &rf), 0);
	assert_int_equal(rf, QUEUE | IN_QUEUE | ACQUIRED);
	assert_int_equal(kd_name_acquire(f->r, &f->c[2], "foo.bar", QUEUE | ALLOW, &rf), 0);
	assert_int_equal(rf, QUEUE | ALLOW | IN_QUEUE | ACQUIRED);
	assert_int_equal(f->n_ev, 0);
	assert_int_equal(rec_flags(&f->c[0], "foo.bar"), PRIMARY);
	assert_int_equal(rec_flags(&f->c[1], "foo.bar"), QUEUE | IN_QUEUE);
	assert_false(kd_name_is_primary(f->r, &f->c[1], "foo.bar"));

	/* queueing again keeps the position and does not report ACQUIRED */
	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.bar", QUEUE | ALLOW, &rf), 0);
	assert_int_equal(rf, QUEUE | ALLOW | IN_QUEUE);
	assert_int_equal(f->c[1].n_records, 1);

	assert_int_equal(kd_name_release(f->r, &f->c[0], "foo.bar"), 0);
	assert_int_equal(f->n_ev, 1);
	check_ev(&f->ev[0], KDBUS_ITEM_NAME_CHANGE, "foo.bar", &f->c[0], PRIMARY, &f->c[1],
		 QUEUE | ALLOW | PRIMARY);
	assert_ptr_equal(f->ev[0].lookup_owner, &f->c[1]);
	assert_int_equal(rec_flags(&f->c[1], "foo.bar"), QUEUE | ALLOW | PRIMARY);
	assert_int_equal(rec_flags(&f->c[2], "foo.bar"), QUEUE | ALLOW | IN_QUEUE);

	/* releasing a queued record is silent */
	f->n_ev = 0;
	assert_int_equal(kd_name_release(f->r, &f->c[2], "foo.bar"), 0);
	assert_int_equal(f->n_ev, 0);
	assert_int_equal(rec_flags(&f->c[2], "foo.bar"), ~0ULL);
	assert_int_equal(kd_name_release(f->r, &f->c[2], "foo.bar"), -EADDRINUSE);
}

/* A queued owner acquiring without QUEUE leaves the queue, successfully. */
static void test_queue_leave(void **state)
{
	struct fx *f = *state;
	kd_u64 rf = 0;

	assert_int_equal(kd_name_acquire(f->r, &f->c[0], "foo.bar", 0, &rf), 0);
	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.bar", QUEUE, &rf), 0);
	f->n_ev = 0;
	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.bar", ALLOW, &rf), 0);
	assert_int_equal(rf, ALLOW);
	assert_int_equal(rec_flags(&f->c[1], "foo.bar"), ~0ULL);
	assert_true(kd_name_owner_is_empty(&f->c[1]));
	assert_int_equal(f->n_ev, 0);
	/* the owner is unaffected; releasing it now removes the name */
	assert_int_equal(kd_name_release(f->r, &f->c[0], "foo.bar"), 0);
	assert_int_equal(f->n_ev, 1);
	assert_int_equal(f->ev[0].type, KDBUS_ITEM_NAME_REMOVE);
}

/* behaviours test-names name_takeover */
static void test_takeover(void **state)
{
	struct fx *f = *state;
	kd_u64 rf = 0;

	assert_int_equal(kd_name_acquire(f->r, &f->c[0], "foo.bar", ALLOW, &rf), 0);
	assert_int_equal(rec_flags(&f->c[0], "foo.bar"), ALLOW | PRIMARY);
	f->n_ev = 0;
	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.bar", REPLACE, &rf), 0);
	assert_int_equal(rf, PRIMARY | ACQUIRED);
	assert_int_equal(f->n_ev, 1);
	check_ev(&f->ev[0], KDBUS_ITEM_NAME_CHANGE, "foo.bar", &f->c[0], ALLOW | PRIMARY,
		 &f->c[1], PRIMARY);
	assert_ptr_equal(f->ev[0].lookup_owner, &f->c[1]);
	/* without QUEUE the old primary is dropped */
	assert_int_equal(rec_flags(&f->c[0], "foo.bar"), ~0ULL);
	assert_true(kd_name_owner_is_empty(&f->c[0]));
	assert_true(kd_name_is_primary(f->r, &f->c[1], "foo.bar"));
}

/* Replacement jumps the queue; an old primary with QUEUE ends at position 2. */
static void test_takeover_requeue(void **state)
{
	struct fx *f = *state;
	kd_u64 rf = 0;

	assert_int_equal(kd_name_acquire(f->r, &f->c[0], "foo.bar", ALLOW | QUEUE, &rf), 0);
	assert_int_equal(kd_name_acquire(f->r, &f->c[2], "foo.bar", QUEUE, &rf), 0);
	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.bar", QUEUE, &rf), 0);
	f->n_ev = 0;
	/* c1 is queued behind c2 but replaces c0 */
	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.bar", REPLACE | QUEUE, &rf), 0);
	assert_int_equal(rf, QUEUE | PRIMARY | ACQUIRED);
	assert_int_equal(f->n_ev, 1);
	check_ev(&f->ev[0], KDBUS_ITEM_NAME_CHANGE, "foo.bar", &f->c[0], ALLOW | QUEUE | PRIMARY,
		 &f->c[1], QUEUE | PRIMARY);
	assert_int_equal(rec_flags(&f->c[0], "foo.bar"), ALLOW | QUEUE | IN_QUEUE);
	assert_int_equal(rec_flags(&f->c[2], "foo.bar"), QUEUE | IN_QUEUE);

	/* queue is now c1, c0, c2 */
	f->n_ev = 0;
	assert_int_equal(kd_name_release(f->r, &f->c[1], "foo.bar"), 0);
	check_ev(&f->ev[0], KDBUS_ITEM_NAME_CHANGE, "foo.bar", &f->c[1], QUEUE | PRIMARY, &f->c[0],
		 ALLOW | QUEUE | PRIMARY);
	assert_int_equal(kd_name_release(f->r, &f->c[0], "foo.bar"), 0);
	check_ev(&f->ev[1], KDBUS_ITEM_NAME_CHANGE, "foo.bar", &f->c[0], ALLOW | QUEUE | PRIMARY,
		 &f->c[2], QUEUE | PRIMARY);
	assert_int_equal(kd_name_release(f->r, &f->c[2], "foo.bar"), 0);
	check_ev(&f->ev[2], KDBUS_ITEM_NAME_REMOVE, "foo.bar", &f->c[2], QUEUE | PRIMARY, NULL, 0);
	assert_int_equal(f->n_ev, 3);
	assert_int_equal(kd_name_registry_count(f->r), 0);
}

/* REPLACE_EXISTING against a non-replaceable primary falls back to QUEUE. */
static void test_replace_denied_queues(void **state)
{
	struct fx *f = *state;
	kd_u64 rf = 0;

	assert_int_equal(kd_name_acquire(f->r, &f->c[0], "foo.bar", 0, &rf), 0);
	f->n_ev = 0;
	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.bar", REPLACE | QUEUE, &rf), 0);
	assert_int_equal(rf, QUEUE | IN_QUEUE | ACQUIRED);
	assert_int_equal(f->n_ev, 0);
	assert_int_equal(rec_flags(&f->c[0], "foo.bar"), PRIMARY);
}

/* 256 records per connection, owned and queued alike (spec 9.1). */
static void test_limit(void **state)
{
	struct fx *f = *state;
	char name[32];
	kd_u64 rf = 0;
	unsigned int i;

	assert_int_equal(kd_name_acquire(f->r, &f->c[0], "foo.queued", 0, &rf), 0);
	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.queued", QUEUE, &rf), 0);
	for (i = 1; i < KDBUS_CONN_MAX_NAMES; i++) {
		snprintf(name, sizeof(name), "foo.n%u", i);
		assert_int_equal(kd_name_acquire(f->r, &f->c[1], name, 0, &rf), 0);
	}
	assert_int_equal(f->c[1].n_records, KDBUS_CONN_MAX_NAMES);
	f->n_ev = 0;
	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.toomany", 0, &rf), -E2BIG);
	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.toomany", QUEUE, &rf), -E2BIG);
	assert_int_equal(f->n_ev, 0);
	assert_int_equal(kd_name_lookup(f->r, "foo.toomany", NULL), -ESRCH);
	/* existing records are not new: re-acquire and re-queue still work */
	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.n1", ALLOW, &rf), 0);
	assert_int_equal(rf, ALLOW | PRIMARY);
	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.queued", QUEUE, &rf), 0);
	assert_int_equal(rf, QUEUE | IN_QUEUE);
	assert_int_equal(kd_name_activator_add(f->r, &f->c[1], "foo.act", &rf), -E2BIG);
	/* freeing one slot allows one more */
	assert_int_equal(kd_name_release(f->r, &f->c[1], "foo.n1"), 0);
	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.toomany", 0, &rf), 0);
	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.n1", 0, &rf), -E2BIG);
	assert_int_equal(kd_name_registry_count(f->r), KDBUS_CONN_MAX_NAMES);
}

/* behaviours test-activator; spec 9.3 */
static void test_activator(void **state)
{
	struct fx *f = *state;
	struct kd_name_owner *a = &f->c[3], *c = &f->c[0];
	struct kd_name_info info;
	kd_u64 rf = 0, id;

	assert_int_equal(kd_name_activator_add(f->r, a, "foo.test.*", &rf), -EINVAL);
	assert_int_equal(kd_name_activator_add(f->r, a, "foo", &rf), -EINVAL);
	assert_int_equal(kd_name_activator_add(f->r, a, "foo.test.activator", &rf), 0);
	assert_int_equal(rf, ACTIVATOR | PRIMARY | ACQUIRED);
	assert_int_equal(f->n_ev, 1);
	check_ev(&f->ev[0], KDBUS_ITEM_NAME_ADD, "foo.test.activator", NULL, 0, a,
		 ACTIVATOR | PRIMARY);
	assert_int_equal(kd_name_lookup(f->r, "foo.test.activator", &info), 0);
	assert_ptr_equal(info.owner, a);
	assert_ptr_equal(info.activator, a);
	assert_int_equal(info.flags, ACTIVATOR | PRIMARY);
	id = info.name_id;
	/* an activator is not a primary owner for NAME match rules */
	assert_false(kd_name_is_primary(f->r, a, "foo.test.activator"));
	assert_int_equal(kd_name_activator_add(f->r, &f->c[2], "foo.test.activator", &rf), -EEXIST);
	assert_int_equal(kd_name_activator_add(f->r, a, "foo.test.activator", &rf), -EEXIST);
	assert_int_equal(kd_name_acquire(f->r, a, "foo.test.activator", 0, &rf), -EALREADY);

	/* the implementer takes over without REPLACE_EXISTING; messages move first */
	f->n_ev = 0;
	assert_int_equal(kd_name_acquire(f->r, c, "foo.test.activator", 0, &rf), 0);
	assert_int_equal(rf, PRIMARY | ACQUIRED);
	assert_int_equal(f->n_ev, 2);
	assert_int_equal(f->ev[0].type, KD_NAME_EVENT_MOVE);
	assert_ptr_equal(f->ev[0].old_o, a);
	assert_ptr_equal(f->ev[0].new_o, c);
	assert_int_equal(f->ev[0].name_id, id);
	assert_ptr_equal(f->ev[0].lookup_owner, c);
	check_ev(&f->ev[1], KDBUS_ITEM_NAME_CHANGE, "foo.test.activator", a, ACTIVATOR | PRIMARY, c,
		 PRIMARY);
	assert_int_equal(rec_flags(a, "foo.test.activator"), ACTIVATOR | IN_QUEUE);
	assert_int_equal(kd_name_lookup(f->r, "foo.test.activator", &info), 0);
	assert_ptr_equal(info.owner, c);
	assert_ptr_equal(info.activator, a);
	assert_int_equal(info.flags, PRIMARY);
	assert_int_equal(info.name_id, id);

	/* release hands the name (and messages) back to the activator */
	f->n_ev = 0;
	assert_int_equal(kd_name_release(f->r, c, "foo.test.activator"), 0);
	assert_int_equal(f->n_ev, 2);
	assert_int_equal(f->ev[0].type, KD_NAME_EVENT_MOVE);
	assert_ptr_equal(f->ev[0].old_o, c);
	assert_ptr_equal(f->ev[0].new_o, a);
	assert_int_equal(f->ev[0].name_id, id);
	check_ev(&f->ev[1], KDBUS_ITEM_NAME_CHANGE, "foo.test.activator", c, PRIMARY, a,
		 ACTIVATOR | PRIMARY);
	assert_int_equal(rec_flags(a, "foo.test.activator"), ACTIVATOR | PRIMARY);

	/* the activator leaving while effective owner removes the name */
	f->n_ev = 0;
	kd_name_release_all(f->r, a);
	assert_int_equal(f->n_ev, 1);
	check_ev(&f->ev[0], KDBUS_ITEM_NAME_REMOVE, "foo.test.activator", a, ACTIVATOR | PRIMARY,
		 NULL, 0);
	assert_int_equal(kd_name_lookup(f->r, "foo.test.activator", NULL), -ESRCH);
}

/* Queued owners come before the activator; the activator leaving silently. */
static void test_activator_queue(void **state)
{
	struct fx *f = *state;
	struct kd_name_owner *a = &f->c[3];
	struct kd_name_info info;
	kd_u64 rf = 0;

	assert_int_equal(kd_name_acquire(f->r, &f->c[0], "foo.svc", 0, &rf), 0);
	f->n_ev = 0;
	/* an activator for an owned name is queued silently */
	assert_int_equal(kd_name_activator_add(f->r, a, "foo.svc", &rf), 0);
	assert_int_equal(rf, ACTIVATOR | IN_QUEUE | ACQUIRED);
	assert_int_equal(f->n_ev, 0);
	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.svc", QUEUE, &rf), 0);

	/* the queued owner is the successor, not the activator: no move */
	assert_int_equal(kd_name_release(f->r, &f->c[0], "foo.svc"), 0);
	assert_int_equal(f->n_ev, 1);
	check_ev(&f->ev[0], KDBUS_ITEM_NAME_CHANGE, "foo.svc", &f->c[0], PRIMARY, &f->c[1],
		 QUEUE | PRIMARY);
	assert_int_equal(rec_flags(a, "foo.svc"), ACTIVATOR | IN_QUEUE);

	/* an activator that is not the effective owner leaves silently */
	f->n_ev = 0;
	kd_name_release_all(f->r, a);
	assert_int_equal(f->n_ev, 0);
	assert_int_equal(kd_name_lookup(f->r, "foo.svc", &info), 0);
	assert_null(info.activator);
	assert_ptr_equal(info.owner, &f->c[1]);

	/* and then the last owner leaving removes it, no hand-back */
	assert_int_equal(kd_name_release(f->r, &f->c[1], "foo.svc"), 0);
	assert_int_equal(f->n_ev, 1);
	assert_int_equal(f->ev[0].type, KDBUS_ITEM_NAME_REMOVE);
}

/* Disconnect: every record released in acquisition order, events in order. */
static void test_release_all(void **state)
{
	struct fx *f = *state;
	struct kd_name_owner *a = &f->c[3];
	kd_u64 rf = 0;

	assert_int_equal(kd_name_activator_add(f->r, a, "foo.act", &rf), 0);
	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.two", 0, &rf), 0);
	assert_int_equal(kd_name_acquire(f->r, &f->c[0], "foo.one", 0, &rf), 0);
	assert_int_equal(kd_name_acquire(f->r, &f->c[0], "foo.two", QUEUE, &rf), 0);
	assert_int_equal(kd_name_acquire(f->r, &f->c[0], "foo.act", 0, &rf), 0);
	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.one", QUEUE, &rf), 0);
	assert_int_equal(kd_name_acquire(f->r, &f->c[0], "foo.three", 0, &rf), 0);
	assert_int_equal(f->c[0].n_records, 4);

	f->n_ev = 0;
	kd_name_release_all(f->r, &f->c[0]);
	assert_true(kd_name_owner_is_empty(&f->c[0]));
	assert_null(kd_name_owner_first(&f->c[0]));
	assert_int_equal(f->n_ev, 4);
	check_ev(&f->ev[0], KDBUS_ITEM_NAME_CHANGE, "foo.one", &f->c[0], PRIMARY, &f->c[1],
		 QUEUE | PRIMARY);
	/* foo.two: c0 was only queued, silent */
	assert_int_equal(f->ev[1].type, KD_NAME_EVENT_MOVE);
	assert_ptr_equal(f->ev[1].old_o, &f->c[0]);
	assert_ptr_equal(f->ev[1].new_o, a);
	check_ev(&f->ev[2], KDBUS_ITEM_NAME_CHANGE, "foo.act", &f->c[0], PRIMARY, a,
		 ACTIVATOR | PRIMARY);
	check_ev(&f->ev[3], KDBUS_ITEM_NAME_REMOVE, "foo.three", &f->c[0], PRIMARY, NULL, 0);
	assert_int_equal(rec_flags(&f->c[1], "foo.two"), PRIMARY);
	assert_int_equal(kd_name_registry_count(f->r), 3);
	/* idempotent */
	kd_name_release_all(f->r, &f->c[0]);
	assert_int_equal(f->n_ev, 4);
}

/* Iteration for LIST: acquisition order, flags, name ids, list filter. */
static void test_iterate_list(void **state)
{
	struct fx *f = *state;
	const struct kd_name_record *rec;
	const char *expect[] = { "foo.a", "foo.b", "foo.c" };
	const kd_u64 flags[] = { PRIMARY | ALLOW, QUEUE | IN_QUEUE, ACTIVATOR | IN_QUEUE };
	struct kd_name_info info;
	unsigned int i = 0;
	kd_u64 rf;

	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.b", 0, &rf), 0);
	assert_int_equal(kd_name_acquire(f->r, &f->c[1], "foo.c", 0, &rf), 0);
	assert_int_equal(kd_name_acquire(f->r, &f->c[0], "foo.a", ALLOW, &rf), 0);
	assert_int_equal(kd_name_acquire(f->r, &f->c[0], "foo.b", QUEUE, &rf), 0);
	assert_int_equal(kd_name_activator_add(f->r, &f->c[0], "foo.c", &rf), 0);

	KD_NAME_OWNER_FOREACH(rec, &f->c[0]) {
		assert_true(i < 3);
		assert_string_equal(kd_name_record_name(rec), expect[i]);
		assert_int_equal(kd_name_record_flags(rec), flags[i]);
		assert_int_equal(kd_name_lookup(f->r, expect[i], &info), 0);
		assert_int_equal(kd_name_record_name_id(rec), info.name_id);
		i++;
	}
	assert_int_equal(i, 3);

	assert_true(kd_name_list_wants(PRIMARY, KDBUS_LIST_NAMES));
	assert_false(kd_name_list_wants(PRIMARY, KDBUS_LIST_QUEUED | KDBUS_LIST_ACTIVATORS));
	assert_true(kd_name_list_wants(QUEUE | IN_QUEUE, KDBUS_LIST_QUEUED));
	assert_false(kd_name_list_wants(QUEUE | IN_QUEUE, KDBUS_LIST_NAMES | KDBUS_LIST_UNIQUE));
	assert_true(kd_name_list_wants(ACTIVATOR | PRIMARY, KDBUS_LIST_ACTIVATORS));
	assert_false(kd_name_list_wants(ACTIVATOR | PRIMARY, KDBUS_LIST_NAMES));
	assert_false(kd_name_list_wants(ACTIVATOR | IN_QUEUE, KDBUS_LIST_QUEUED));
}

/* Many names force table growth; every one stays reachable. */
static void test_many_names(void **state)
{
	struct fx *f = *state;
	struct kd_name_owner o[8];
	char name[32];
	kd_u64 rf;
	unsigned int i, j;

	for (i = 0; i < 8; i++) {
		kd_name_owner_init(&o[i], 1000 + i);
		for (j = 0; j < 200; j++) {
			snprintf(name, sizeof(name), "org.n%u.x%u", i, j);
			assert_int_equal(kd_name_acquire(f->r, &o[i], name, 0, &rf), 0);
			assert_int_equal(f->n_ev, 1);
			f->n_ev = 0;
		}
	}
	assert_int_equal(kd_name_registry_count(f->r), 1600);
	for (i = 0; i < 8; i++)
		for (j = 0; j < 200; j++) {
			snprintf(name, sizeof(name), "org.n%u.x%u", i, j);
			assert_true(kd_name_is_primary(f->r, &o[i], name));
		}
	for (i = 0; i < 8; i++) {
		kd_name_release_all(f->r, &o[i]);
		assert_int_equal(f->n_ev, 200);
		f->n_ev = 0;
	}
	assert_int_equal(kd_name_registry_count(f->r), 0);
}

static void test_no_callback(void **state)
{
	struct kd_name_registry *r = kd_name_registry_new(NULL, NULL);
	struct kd_name_owner o;
	kd_u64 rf;

	assert_non_null(r);
	kd_name_owner_init(&o, 7);
	assert_int_equal(kd_name_acquire(r, &o, "foo.bar", 0, NULL), 0);
	assert_int_equal(kd_name_acquire(r, &o, "foo.baz", 0, &rf), 0);
	kd_name_release_all(r, &o);
	assert_null(kd_name_registry_free(r));
	assert_null(kd_name_registry_free(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_syntax),
		cmocka_unit_test_setup_teardown(test_acquire_release_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reacquire_primary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_leave, setup, teardown),
		cmocka_unit_test_setup_teardown(test_takeover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_takeover_requeue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_denied_queues, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_activator, setup, teardown),
		cmocka_unit_test_setup_teardown(test_activator_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iterate_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_names, setup, teardown),
		cmocka_unit_test(test_no_callback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
