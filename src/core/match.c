/* SPDX-License-Identifier: BSD-2-Clause */
/* Match database (spec 9.6): entries of AND-ed rules, OR-ed together. */
#include "core/match.h"
#include "core/bloom.h"
#include "core/limits.h"
#include "core/name.h"

#define KD_ITEM_HDR 16

struct kd_match_rule {
	kd_u64 type;
	kd_u64 a;       /* ID/DST_ID/ID_ADD/ID_REMOVE id; NAME_* old id */
	kd_u64 b;       /* NAME_* new id */
	kd_u64 size;    /* BLOOM_MASK bytes */
	void *data;     /* BLOOM_MASK masks, NAME / NAME_* name (NULL: any name) */
};

struct kd_match_entry {
	struct kd_match_entry *prev, *next;
	kd_u64 cookie;
	unsigned int n_rules;
	struct kd_match_rule rules[];
};

struct kd_match_db {
	struct kd_match_entry *head, *tail;
	unsigned int n_entries;
	kd_u64 bloom_size;
};

struct kd_match_db *kd_match_db_new(kd_u64 bloom_size)
{
	struct kd_match_db *db = kd_zalloc(sizeof(*db));

	if (db)
		db->bloom_size = bloom_size;
	return db;
}

static struct kd_match_entry *kd_match_entry_free(struct kd_match_entry *e)
{
	unsigned int i;

	if (!e)
		return NULL;
	for (i = 0; i < e->n_rules; i++)
		kd_free(e->rules[i].data);
	kd_free(e);
	return NULL;
}

static void kd_match_unlink(struct kd_match_db *db, struct kd_match_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		db->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		db->tail = e->prev;
	db->n_entries--;
}

struct kd_match_db *kd_match_db_free(struct kd_match_db *db)
{
	if (!db)
		return NULL;
	while (db->head) {
		struct kd_match_entry *e = db->head;

		kd_match_unlink(db, e);
		kd_match_entry_free(e);
	}
	kd_free(db);
	return NULL;
}

unsigned int kd_match_db_count(const struct kd_match_db *db)
{
	return db->n_entries;
}

static void *kd_match_dup(const void *p, kd_u64 n)
{
	void *d = kd_malloc(n);

	if (d)
		memcpy(d, p, n);
	return d;
}

/* A string payload of n bytes ends in its only terminating NUL. */
static bool kd_match_str_ok(const char *s, kd_u64 n)
{
	return n > 0 && s[n - 1] == '\0' && strlen(s) == n - 1;
}

/* Turn one item into a rule; errors in kdbus's per-item order. */
static int kd_match_rule_parse(const struct kd_match_db *db, const struct kdbus_item *it,
			       struct kd_match_rule *r)
{
	kd_u64 n = it->size - KD_ITEM_HDR;

	r->type = it->type;
	switch (it->type) {
	case KDBUS_ITEM_BLOOM_MASK:
		if (db->bloom_size == 0 || n < db->bloom_size || n % db->bloom_size)
			return -EDOM;
		r->size = n;
		r->data = kd_match_dup(it->data, n);
		return r->data ? 0 : -ENOMEM;
	case KDBUS_ITEM_NAME:
		if (!kd_match_str_ok(it->str, n) || !kd_name_is_valid(it->str, false))
			return -EINVAL;
		r->data = kd_match_dup(it->str, n);
		return r->data ? 0 : -ENOMEM;
	case KDBUS_ITEM_ID:
	case KDBUS_ITEM_DST_ID:
		if (n != sizeof(kd_u64))
			return -EINVAL;
		r->a = it->id;
		return 0;
	case KDBUS_ITEM_NAME_ADD:
	case KDBUS_ITEM_NAME_REMOVE:
	case KDBUS_ITEM_NAME_CHANGE: {
		kd_u64 fixed = sizeof(struct kdbus_notify_name_change);

		if (n < fixed)
			return -EINVAL;
		r->a = it->name_change.old_id.id;
		r->b = it->name_change.new_id.id;
		/* exactly 48 bytes of item: a rule for any name */
		if (n == fixed)
			return 0;
		if (!kd_match_str_ok(it->name_change.name, n - fixed))
			return -EINVAL;
		r->data = kd_match_dup(it->name_change.name, n - fixed);
		return r->data ? 0 : -ENOMEM;
	}
	case KDBUS_ITEM_ID_ADD:
	case KDBUS_ITEM_ID_REMOVE:
		if (n != sizeof(struct kdbus_notify_id_change))
			return -EINVAL;
		r->a = it->id_change.id;
		return 0;
	default:
		return -EINVAL;
	}
}

int kd_match_add(struct kd_match_db *db, kd_u64 cookie, kd_u64 flags,
		 const struct kdbus_item *items, kd_u64 items_size)
{
	const struct kdbus_item *it;
	struct kd_match_entry *e, *cur, *next;
	unsigned int n = 0;
	int ret;

	KD_ITEMS_FOREACH(it, items, items_size) {
		if (it->size < KD_ITEM_HDR)
			return -EINVAL;
		if (it->type != KDBUS_ITEM_NEGOTIATE)
			n++;
	}

	e = kd_zalloc(sizeof(*e) + n * sizeof(e->rules[0]));
	if (!e)
		return -ENOMEM;
	e->cookie = cookie;
	KD_ITEMS_FOREACH(it, items, items_size) {
		if (it->type == KDBUS_ITEM_NEGOTIATE)
			continue;
		ret = kd_match_rule_parse(db, it, &e->rules[e->n_rules]);
		/* count the rule even on error: it may hold an allocation */
		e->n_rules++;
		if (ret < 0) {
			kd_match_entry_free(e);
			return ret;
		}
	}

	if (flags & KDBUS_MATCH_REPLACE) {
		for (cur = db->head; cur; cur = next) {
			next = cur->next;
			if (cur->cookie == cookie) {
				kd_match_unlink(db, cur);
				kd_match_entry_free(cur);
			}
		}
	}
	if (db->n_entries >= KDBUS_MATCH_MAX) {
		kd_match_entry_free(e);
		return -EMFILE;
	}

	e->prev = db->tail;
	if (db->tail)
		db->tail->next = e;
	else
		db->head = e;
	db->tail = e;
	db->n_entries++;
	return 0;
}

int kd_match_remove(struct kd_match_db *db, kd_u64 cookie)
{
	struct kd_match_entry *cur, *next;
	bool found = false;

	for (cur = db->head; cur; cur = next) {
		next = cur->next;
		if (cur->cookie == cookie) {
			kd_match_unlink(db, cur);
			kd_match_entry_free(cur);
			found = true;
		}
	}
	return found ? 0 : -EBADSLT;
}

static bool kd_match_id(kd_u64 rule, kd_u64 id)
{
	return rule == KDBUS_MATCH_ID_ANY || rule == id;
}

static bool kd_match_rule_msg(const struct kd_match_db *db, const struct kd_match_rule *r,
			      const struct kd_match_msg *m)
{
	switch (r->type) {
	case KDBUS_ITEM_BLOOM_MASK:
		return m->bloom && kd_bloom_match((const kd_u64 *)(const void *)m->bloom->data,
						  m->bloom->generation,
						  db->bloom_size, r->data, r->size);
	case KDBUS_ITEM_ID:
		return kd_match_id(r->a, m->src_id);
	case KDBUS_ITEM_DST_ID:
		return kd_match_id(r->a, m->dst_id);
	case KDBUS_ITEM_NAME:
		return m->src_owns_name && m->src_owns_name(m->ctx, r->data);
	default:
		return false;
	}
}

static bool kd_match_streq(const char *a, const char *b)
{
	kd_u64 la = strlen(a);

	return la == strlen(b) && !memcmp(a, b, la);
}

static bool kd_match_rule_notify(const struct kd_match_rule *r, const struct kd_match_notify *n)
{
	if (r->type != n->type)
		return false;
	switch (r->type) {
	case KDBUS_ITEM_ID_ADD:
	case KDBUS_ITEM_ID_REMOVE:
		return kd_match_id(r->a, n->id);
	case KDBUS_ITEM_NAME_ADD:
	case KDBUS_ITEM_NAME_REMOVE:
	case KDBUS_ITEM_NAME_CHANGE:
		if (!kd_match_id(r->a, n->old_id) || !kd_match_id(r->b, n->new_id))
			return false;
		if (!r->data)
			return true;
		return n->name && kd_match_streq(r->data, n->name);
	default:
		return false;
	}
}

bool kd_match_test_msg(const struct kd_match_db *db, const struct kd_match_msg *m)
{
	const struct kd_match_entry *e;
	unsigned int i;

	for (e = db->head; e; e = e->next) {
		for (i = 0; i < e->n_rules; i++)
			if (!kd_match_rule_msg(db, &e->rules[i], m))
				break;
		if (i == e->n_rules)
			return true;
	}
	return false;
}

bool kd_match_test_notify(const struct kd_match_db *db, const struct kd_match_notify *n)
{
	const struct kd_match_entry *e;
	unsigned int i;

	for (e = db->head; e; e = e->next) {
		for (i = 0; i < e->n_rules; i++)
			if (!kd_match_rule_notify(&e->rules[i], n))
				break;
		if (i == e->n_rules)
			return true;
	}
	return false;
}
