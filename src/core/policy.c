/* SPDX-License-Identifier: BSD-2-Clause */
/* Policy database (spec 9.4): (name, wildcard) entries of access rules. */
#include "core/policy.h"

#define KD_POLICY_BUCKETS 64
#define KD_ITEM_HDR 16

struct kd_policy_access {
	kd_u64 type;   /* KDBUS_POLICY_ACCESS_* */
	kd_u64 access; /* KDBUS_POLICY_SEE/TALK/OWN */
	kd_u64 id;     /* uid or gid, mapped */
};

struct kd_policy_entry {
	struct kd_policy_entry *next; /* bucket chain, or a private list */
	const void *owner;
	kd_u64 hash;
	bool wildcard;
	kd_u64 len; /* key length: the name without ".*" */
	unsigned int n_access;
	struct kd_policy_access *access;
	char *key;
};

struct kd_policy_db {
	struct kd_policy_entry *buckets[KD_POLICY_BUCKETS];
	unsigned int n_entries;
};

static kd_u64 kd_policy_hash(const char *s, kd_u64 len)
{
	kd_u64 h = 0xcbf29ce484222325ULL;
	kd_u64 i;

	for (i = 0; i < len; i++) {
		h ^= (kd_u8)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

struct kd_policy_db *kd_policy_db_new(void)
{
	return kd_zalloc(sizeof(struct kd_policy_db));
}

static void kd_policy_list_free(struct kd_policy_entry *e)
{
	while (e) {
		struct kd_policy_entry *next = e->next;

		kd_free(e);
		e = next;
	}
}

struct kd_policy_db *kd_policy_db_free(struct kd_policy_db *db)
{
	unsigned int i;

	if (!db)
		return NULL;
	for (i = 0; i < KD_POLICY_BUCKETS; i++)
		kd_policy_list_free(db->buckets[i]);
	kd_free(db);
	return NULL;
}

unsigned int kd_policy_db_count(const struct kd_policy_db *db)
{
	return db->n_entries;
}

static struct kd_policy_entry *kd_policy_find(const struct kd_policy_db *db, const char *key,
					      kd_u64 len, bool wildcard)
{
	kd_u64 h = kd_policy_hash(key, len);
	struct kd_policy_entry *e;

	for (e = db->buckets[h % KD_POLICY_BUCKETS]; e; e = e->next)
		if (e->hash == h && e->wildcard == wildcard && e->len == len &&
		    !memcmp(e->key, key, len))
			return e;
	return NULL;
}

static void kd_policy_insert(struct kd_policy_db *db, struct kd_policy_entry *e)
{
	struct kd_policy_entry **b = &db->buckets[e->hash % KD_POLICY_BUCKETS];

	e->next = *b;
	*b = e;
	db->n_entries++;
}

/* Move owner's entries out of the table onto a list. */
static struct kd_policy_entry *kd_policy_detach(struct kd_policy_db *db, const void *owner)
{
	struct kd_policy_entry *list = NULL, **pp, *e;
	unsigned int i;

	for (i = 0; i < KD_POLICY_BUCKETS; i++) {
		pp = &db->buckets[i];
		while ((e = *pp)) {
			if (e->owner != owner) {
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			e->next = list;
			list = e;
			db->n_entries--;
		}
	}
	return list;
}

void kd_policy_remove_owner(struct kd_policy_db *db, const void *owner)
{
	kd_policy_list_free(kd_policy_detach(db, owner));
}

/* POLICY_ACCESS items after it, up to the next NAME. */
static unsigned int kd_policy_count_access(const struct kdbus_item *name, const kd_u8 *end)
{
	const struct kdbus_item *it;
	unsigned int n = 0;

	for (it = KDBUS_ITEM_NEXT(name);
	     (const kd_u8 *)it + KD_ITEM_HDR <= end && it->size >= KD_ITEM_HDR;
	     it = KDBUS_ITEM_NEXT(it)) {
		if (it->type == KDBUS_ITEM_NAME)
			break;
		if (it->type == KDBUS_ITEM_POLICY_ACCESS)
			n++;
	}
	return n;
}

static int kd_policy_entry_new(const struct kdbus_item *it, const kd_u8 *end, const void *owner,
			       bool allow_wildcards, struct kd_policy_entry **out)
{
	kd_u64 n = it->size - KD_ITEM_HDR, len;
	struct kd_policy_entry *e;
	unsigned int n_access;
	bool wildcard;

	if (n == 0 || it->str[n - 1] != '\0' || strlen(it->str) != n - 1 ||
	    !kd_name_is_valid(it->str, true))
		return -EINVAL;
	wildcard = kd_name_is_wildcard(it->str);
	if (wildcard && !allow_wildcards)
		return -EINVAL;
	len = wildcard ? n - 3 : n - 1;

	n_access = kd_policy_count_access(it, end);
	e = kd_zalloc(sizeof(*e) + n_access * sizeof(e->access[0]) + len + 1);
	if (!e)
		return -ENOMEM;
	e->owner = owner;
	e->wildcard = wildcard;
	e->len = len;
	e->access = (struct kd_policy_access *)(void *)(e + 1);
	e->key = (char *)(e->access + n_access);
	memcpy(e->key, it->str, len);
	e->key[len] = '\0';
	e->hash = kd_policy_hash(e->key, len);
	*out = e;
	return 0;
}

static int kd_policy_access_parse(const struct kdbus_item *it, kd_policy_map_fn map, void *ctx,
				  struct kd_policy_access *a)
{
	const struct kdbus_policy_access *pa = &it->policy_access;

	if (it->size - KD_ITEM_HDR != sizeof(*pa))
		return -EINVAL;
	if (pa->access != KDBUS_POLICY_SEE && pa->access != KDBUS_POLICY_TALK &&
	    pa->access != KDBUS_POLICY_OWN)
		return -EINVAL;
	a->access = pa->access;
	a->type = pa->type;
	a->id = 0;
	switch (pa->type) {
	case KDBUS_POLICY_ACCESS_USER:
	case KDBUS_POLICY_ACCESS_GROUP:
		a->id = pa->id;
		return map ? map(ctx, pa->type, pa->id, &a->id) : 0;
	case KDBUS_POLICY_ACCESS_WORLD:
		return 0;
	default:
		return -EINVAL;
	}
}

/* Build the new entries of an upload, in item order, nothing shared yet. */
static int kd_policy_parse(const void *owner, const struct kdbus_item *items, kd_u64 items_size,
			   unsigned int max_names, bool allow_wildcards, kd_policy_map_fn map,
			   void *map_ctx, struct kd_policy_entry **out)
{
	const kd_u8 *end = (const kd_u8 *)items + items_size;
	struct kd_policy_entry *head = NULL, **tail = &head, *cur = NULL;
	const struct kdbus_item *it;
	unsigned int n_names = 0;
	int ret = 0;

	KD_ITEMS_FOREACH(it, items, items_size) {
		if (it->size < KD_ITEM_HDR) {
			ret = -EINVAL;
			break;
		}
		if (it->type == KDBUS_ITEM_NAME) {
			if (max_names && ++n_names > max_names) {
				ret = -E2BIG;
				break;
			}
			ret = kd_policy_entry_new(it, end, owner, allow_wildcards, &cur);
			if (ret < 0)
				break;
			*tail = cur;
			tail = &cur->next;
		} else if (it->type == KDBUS_ITEM_POLICY_ACCESS) {
			if (!cur) {
				ret = -EINVAL;
				break;
			}
			ret = kd_policy_access_parse(it, map, map_ctx,
						     &cur->access[cur->n_access]);
			if (ret < 0)
				break;
			cur->n_access++;
		}
	}
	if (ret < 0) {
		kd_policy_list_free(head);
		return ret;
	}
	*out = head;
	return 0;
}

int kd_policy_set(struct kd_policy_db *db, const void *owner, const struct kdbus_item *items,
		  kd_u64 items_size, unsigned int max_names, bool allow_wildcards,
		  kd_policy_map_fn map, void *map_ctx)
{
	struct kd_policy_entry *fresh, *old, *e;
	int ret;

	ret = kd_policy_parse(owner, items, items_size, max_names, allow_wildcards, map, map_ctx,
			      &fresh);
	if (ret < 0)
		return ret;

	old = kd_policy_detach(db, owner);
	while ((e = fresh)) {
		fresh = e->next;
		if (kd_policy_find(db, e->key, e->len, e->wildcard)) {
			/* undo: drop what we inserted, put the old set back */
			kd_free(e);
			kd_policy_list_free(fresh);
			kd_policy_remove_owner(db, owner);
			while ((e = old)) {
				old = e->next;
				kd_policy_insert(db, e);
			}
			return -EEXIST;
		}
		kd_policy_insert(db, e);
	}
	kd_policy_list_free(old);
	return 0;
}

static bool kd_policy_rule_applies(const struct kd_policy_access *a,
				   const struct kd_policy_creds *c)
{
	unsigned int i;

	switch (a->type) {
	case KDBUS_POLICY_ACCESS_USER:
		return c->euid == a->id;
	case KDBUS_POLICY_ACCESS_GROUP:
		if (c->egid == a->id)
			return true;
		for (i = 0; i < c->n_groups; i++)
			if (c->groups[i] == a->id)
				return true;
		return false;
	case KDBUS_POLICY_ACCESS_WORLD:
		return true;
	default:
		return false;
	}
}

int kd_policy_query(const struct kd_policy_db *db, const struct kd_policy_creds *c,
		    const char *name)
{
	kd_u64 len = strlen(name), dot;
	const struct kd_policy_entry *e;
	int level = -EPERM;
	unsigned int i;

	e = kd_policy_find(db, name, len, false);
	if (!e) {
		/* one level only: a.b.* covers a.b.c, not a.b.c.d */
		for (dot = len; dot > 0 && name[dot - 1] != '.'; dot--)
			;
		if (dot == 0)
			return -EPERM;
		e = kd_policy_find(db, name, dot - 1, true);
		if (!e)
			return -EPERM;
	}
	for (i = 0; i < e->n_access; i++) {
		const struct kd_policy_access *a = &e->access[i];

		if ((int)a->access > level && kd_policy_rule_applies(a, c))
			level = (int)a->access;
	}
	return level;
}

bool kd_policy_check(const struct kd_policy_db *db, const struct kd_policy_creds *c,
		     const char *name, kd_u64 level)
{
	int r = kd_policy_query(db, c, name);

	return r >= 0 && (kd_u64)r >= level;
}

bool kd_policy_check_owner(const struct kd_policy_db *db, const struct kd_policy_creds *c,
			   const struct kd_name_owner *o, kd_u64 level)
{
	const struct kd_name_record *rec;

	KD_NAME_OWNER_FOREACH(rec, o)
		if ((kd_name_record_flags(rec) & KDBUS_NAME_PRIMARY) &&
		    kd_policy_check(db, c, kd_name_record_name(rec), level))
			return true;
	return false;
}
