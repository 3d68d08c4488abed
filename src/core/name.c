/* SPDX-License-Identifier: BSD-2-Clause */
/* Name registry (spec 9.1-9.3): entries, owner queues, activators, events. */
#include "core/name.h"
#include "core/limits.h"

#define KD_NAME_STORED (KDBUS_NAME_ALLOW_REPLACEMENT | KDBUS_NAME_QUEUE)
#define KD_NAME_MIN_BUCKETS 64

struct kd_name_entry;

struct kd_name_record {
	struct kd_name_owner *owner;
	struct kd_name_entry *entry;
	kd_u64 flags;
	struct kd_name_record *o_prev, *o_next; /* owner's list */
	struct kd_name_record *q_prev, *q_next; /* entry's queue */
	bool queued;                            /* linked in the entry's queue */
};

struct kd_name_entry {
	struct kd_name_entry *h_next;
	kd_u64 hash;
	kd_u64 name_id;
	struct kd_name_record *activator;
	struct kd_name_record *q_head; /* primary owner */
	struct kd_name_record *q_tail;
	kd_u64 len;
	char name[];
};

struct kd_name_registry {
	struct kd_name_entry **buckets;
	kd_u64 n_buckets; /* power of two */
	unsigned int n_entries;
	kd_u64 name_seq;
	kd_name_event_fn fn;
	void *ctx;
};

static bool kd_name_char_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
}

static bool kd_name_char_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool kd_name_is_valid(const char *name, bool allow_wildcard)
{
	bool elem_start = true, dot = false;
	const char *p;

	for (p = name; *p; p++) {
		if (p - name >= KDBUS_NAME_MAX_LEN)
			return false;
		if (*p == '.') {
			if (elem_start)
				return false;
			dot = true;
			elem_start = true;
			continue;
		}
		if (kd_name_char_alpha(*p) || (!elem_start && kd_name_char_digit(*p))) {
			elem_start = false;
			continue;
		}
		/* "*" only as a whole final element */
		if (allow_wildcard && *p == '*' && elem_start && dot && p[1] == '\0') {
			elem_start = false;
			continue;
		}
		return false;
	}
	return dot && !elem_start;
}

bool kd_name_is_wildcard(const char *name)
{
	kd_u64 len = strlen(name);

	return len >= 2 && name[len - 2] == '.' && name[len - 1] == '*';
}

/* FNV-1a: cheap, and fine for names the bus owner cannot be flooded with. */
static kd_u64 kd_name_hash(const char *s, kd_u64 len)
{
	kd_u64 h = 0xcbf29ce484222325ULL;
	kd_u64 i;

	for (i = 0; i < len; i++) {
		h ^= (kd_u8)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

struct kd_name_registry *kd_name_registry_new(kd_name_event_fn fn, void *ctx)
{
	struct kd_name_registry *r;

	r = kd_zalloc(sizeof(*r));
	if (!r)
		return NULL;
	r->buckets = kd_zalloc(KD_NAME_MIN_BUCKETS * sizeof(*r->buckets));
	if (!r->buckets) {
		kd_free(r);
		return NULL;
	}
	r->n_buckets = KD_NAME_MIN_BUCKETS;
	r->fn = fn;
	r->ctx = ctx;
	return r;
}

struct kd_name_registry *kd_name_registry_free(struct kd_name_registry *r)
{
	kd_u64 i;

	if (!r)
		return NULL;
	/* entries left behind mean owners were not released; free what we own */
	for (i = 0; i < r->n_buckets; i++) {
		while (r->buckets[i]) {
			struct kd_name_entry *e = r->buckets[i];

			r->buckets[i] = e->h_next;
			kd_free(e);
		}
	}
	kd_free(r->buckets);
	kd_free(r);
	return NULL;
}

unsigned int kd_name_registry_count(const struct kd_name_registry *r)
{
	return r->n_entries;
}

void kd_name_owner_init(struct kd_name_owner *o, kd_u64 id)
{
	memset(o, 0, sizeof(*o));
	o->id = id;
}

bool kd_name_owner_is_empty(const struct kd_name_owner *o)
{
	return o->n_records == 0;
}

static struct kd_name_entry *kd_name_find(const struct kd_name_registry *r, const char *name)
{
	kd_u64 len = strlen(name);
	kd_u64 h = kd_name_hash(name, len);
	struct kd_name_entry *e;

	for (e = r->buckets[h & (r->n_buckets - 1)]; e; e = e->h_next)
		if (e->hash == h && e->len == len && !memcmp(e->name, name, len))
			return e;
	return NULL;
}

/* Double the table when it gets crowded; failure just keeps longer chains. */
static void kd_name_grow(struct kd_name_registry *r)
{
	struct kd_name_entry **nb;
	kd_u64 i, n = r->n_buckets * 2;

	nb = kd_zalloc(n * sizeof(*nb));
	if (!nb)
		return;
	for (i = 0; i < r->n_buckets; i++) {
		while (r->buckets[i]) {
			struct kd_name_entry *e = r->buckets[i];

			r->buckets[i] = e->h_next;
			e->h_next = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	kd_free(r->buckets);
	r->buckets = nb;
	r->n_buckets = n;
}

static struct kd_name_entry *kd_name_entry_new(struct kd_name_registry *r, const char *name)
{
	kd_u64 len = strlen(name);
	struct kd_name_entry *e;
	kd_u64 b;

	if (r->n_entries >= r->n_buckets)
		kd_name_grow(r);
	e = kd_zalloc(sizeof(*e) + len + 1);
	if (!e)
		return NULL;
	memcpy(e->name, name, len + 1);
	e->len = len;
	e->hash = kd_name_hash(name, len);
	e->name_id = ++r->name_seq;
	b = e->hash & (r->n_buckets - 1);
	e->h_next = r->buckets[b];
	r->buckets[b] = e;
	r->n_entries++;
	return e;
}

static bool kd_name_entry_is_used(const struct kd_name_entry *e)
{
	return e->q_head || e->activator;
}

/* Take an unused entry out of the table; the caller frees it. */
static void kd_name_entry_unlink(struct kd_name_registry *r, struct kd_name_entry *e)
{
	struct kd_name_entry **pp = &r->buckets[e->hash & (r->n_buckets - 1)];

	while (*pp != e)
		pp = &(*pp)->h_next;
	*pp = e->h_next;
	r->n_entries--;
}

static struct kd_name_record *kd_name_record_find(const struct kd_name_owner *o,
						  const struct kd_name_entry *e)
{
	struct kd_name_record *rec;

	/* walk the owner's list: bounded by its 256-record limit */
	for (rec = o->head; rec; rec = rec->o_next)
		if (rec->entry == e)
			return rec;
	return NULL;
}

static struct kd_name_record *kd_name_record_new(struct kd_name_owner *o, struct kd_name_entry *e)
{
	struct kd_name_record *rec;

	rec = kd_zalloc(sizeof(*rec));
	if (!rec)
		return NULL;
	rec->owner = o;
	rec->entry = e;
	rec->o_prev = o->tail;
	if (o->tail)
		o->tail->o_next = rec;
	else
		o->head = rec;
	o->tail = rec;
	o->n_records++;
	return rec;
}

static void kd_name_record_unlink_owner(struct kd_name_record *rec)
{
	struct kd_name_owner *o = rec->owner;

	if (rec->o_prev)
		rec->o_prev->o_next = rec->o_next;
	else
		o->head = rec->o_next;
	if (rec->o_next)
		rec->o_next->o_prev = rec->o_prev;
	else
		o->tail = rec->o_prev;
	rec->o_prev = rec->o_next = NULL;
	o->n_records--;
}

static void kd_name_queue_unlink(struct kd_name_record *rec)
{
	struct kd_name_entry *e = rec->entry;

	if (!rec->queued)
		return;
	if (rec->q_prev)
		rec->q_prev->q_next = rec->q_next;
	else
		e->q_head = rec->q_next;
	if (rec->q_next)
		rec->q_next->q_prev = rec->q_prev;
	else
		e->q_tail = rec->q_prev;
	rec->q_prev = rec->q_next = NULL;
	rec->queued = false;
}

static void kd_name_queue_push_head(struct kd_name_record *rec)
{
	struct kd_name_entry *e = rec->entry;

	rec->q_prev = NULL;
	rec->q_next = e->q_head;
	if (e->q_head)
		e->q_head->q_prev = rec;
	else
		e->q_tail = rec;
	e->q_head = rec;
	rec->queued = true;
}

static void kd_name_queue_push_tail(struct kd_name_record *rec)
{
	struct kd_name_entry *e = rec->entry;

	rec->q_next = NULL;
	rec->q_prev = e->q_tail;
	if (e->q_tail)
		e->q_tail->q_next = rec;
	else
		e->q_head = rec;
	e->q_tail = rec;
	rec->queued = true;
}

static void kd_name_side(struct kdbus_notify_id_change *side, const struct kd_name_owner *o,
			 kd_u64 flags)
{
	side->id = o ? o->id : 0;
	side->flags = o ? flags : 0;
}

static void kd_name_emit(struct kd_name_registry *r, kd_u64 type, const struct kd_name_entry *e,
			 struct kd_name_owner *old_o, kd_u64 old_flags, struct kd_name_owner *new_o,
			 kd_u64 new_flags)
{
	struct kd_name_event ev;

	if (!r->fn)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.name = e->name;
	ev.name_id = e->name_id;
	ev.old_owner = old_o;
	ev.new_owner = new_o;
	kd_name_side(&ev.change.old_id, old_o, old_flags);
	kd_name_side(&ev.change.new_id, new_o, new_flags);
	r->fn(r->ctx, &ev);
}

/* Free an unused record and entry after the events naming them were sent. */
static void kd_name_cleanup(struct kd_name_registry *r, struct kd_name_record *rec,
			    struct kd_name_entry *e)
{
	kd_free(rec);
	if (e && !kd_name_entry_is_used(e)) {
		kd_name_entry_unlink(r, e);
		kd_free(e);
	}
}

/* Spec 9.2 step 4: decide R's fate; returns 0 or -EEXIST. */
static int kd_name_update(struct kd_name_registry *r, struct kd_name_record *rec, kd_u64 flags,
			  kd_u64 *return_flags)
{
	struct kd_name_entry *e = rec->entry;
	struct kd_name_record *p = e->q_head, *a = e->activator;
	kd_u64 acquired = 0, old_flags;

	rec->flags = flags & KD_NAME_STORED;

	if (!p) {
		kd_name_queue_push_head(rec);
		rec->flags |= KDBUS_NAME_PRIMARY;
		acquired = KDBUS_NAME_ACQUIRED;
		if (a) {
			old_flags = a->flags;
			a->flags = (a->flags & ~KDBUS_NAME_PRIMARY) | KDBUS_NAME_IN_QUEUE;
			kd_name_emit(r, KD_NAME_EVENT_MOVE, e, a->owner, a->flags, rec->owner,
				     rec->flags);
			kd_name_emit(r, KDBUS_ITEM_NAME_CHANGE, e, a->owner, old_flags, rec->owner,
				     rec->flags);
		} else {
			kd_name_emit(r, KDBUS_ITEM_NAME_ADD, e, NULL, 0, rec->owner, rec->flags);
		}
	} else if (p == rec) {
		rec->flags |= KDBUS_NAME_PRIMARY;
	} else if ((p->flags & KDBUS_NAME_ALLOW_REPLACEMENT) &&
		   (flags & KDBUS_NAME_REPLACE_EXISTING)) {
		kd_name_queue_unlink(rec);
		kd_name_queue_push_head(rec);
		rec->flags |= KDBUS_NAME_PRIMARY;
		acquired = KDBUS_NAME_ACQUIRED;
		old_flags = p->flags;
		if (p->flags & KDBUS_NAME_QUEUE) {
			/* right behind the new head: position 2 */
			p->flags = (p->flags & ~KDBUS_NAME_PRIMARY) | KDBUS_NAME_IN_QUEUE;
			kd_name_emit(r, KDBUS_ITEM_NAME_CHANGE, e, p->owner, old_flags, rec->owner,
				     rec->flags);
		} else {
			kd_name_queue_unlink(p);
			kd_name_record_unlink_owner(p);
			kd_name_emit(r, KDBUS_ITEM_NAME_CHANGE, e, p->owner, old_flags, rec->owner,
				     rec->flags);
			kd_free(p);
		}
	} else if (flags & KDBUS_NAME_QUEUE) {
		rec->flags |= KDBUS_NAME_IN_QUEUE;
		if (!rec->queued) {
			kd_name_queue_push_tail(rec);
			acquired = KDBUS_NAME_ACQUIRED;
		}
	} else if (rec->queued) {
		/* leaving the queue is a success that owns nothing */
		kd_name_queue_unlink(rec);
		kd_name_record_unlink_owner(rec);
		*return_flags = rec->flags;
		kd_free(rec);
		return 0;
	} else {
		*return_flags = rec->flags;
		return -EEXIST;
	}

	*return_flags = rec->flags | acquired;
	return 0;
}

int kd_name_acquire(struct kd_name_registry *r, struct kd_name_owner *o, const char *name,
		    kd_u64 flags, kd_u64 *return_flags)
{
	struct kd_name_record *rec = NULL;
	struct kd_name_entry *e;
	bool new_entry = false;
	kd_u64 rf = 0;
	int ret;

	if (!kd_name_is_valid(name, false))
		return -EINVAL;

	e = kd_name_find(r, name);
	if (e) {
		rec = kd_name_record_find(o, e);
		if (rec && rec == e->activator)
			return -EALREADY; /* activators cannot own; EUCLEAN is not portable */
	}
	if (!rec && o->n_records >= KDBUS_CONN_MAX_NAMES)
		return -E2BIG;
	if (!e) {
		e = kd_name_entry_new(r, name);
		if (!e)
			return -ENOMEM;
		new_entry = true;
	}
	if (!rec) {
		rec = kd_name_record_new(o, e);
		if (!rec) {
			if (new_entry)
				kd_name_cleanup(r, NULL, e);
			return -ENOMEM;
		}
	}

	ret = kd_name_update(r, rec, flags, &rf);
	if (ret < 0) {
		/* only a fresh record can fail: the entry has another owner */
		kd_name_record_unlink_owner(rec);
		kd_free(rec);
	}
	if (return_flags)
		*return_flags = rf;
	return ret;
}

/* Spec 9.2 release of one record, explicit or at disconnect. */
static void kd_name_release_record(struct kd_name_registry *r, struct kd_name_record *rec)
{
	struct kd_name_entry *e = rec->entry;
	struct kd_name_record *p = e->q_head, *next;
	bool effective;

	effective = rec == p || (!p && rec == e->activator);
	kd_name_queue_unlink(rec);
	if (rec == e->activator)
		e->activator = NULL;
	kd_name_record_unlink_owner(rec);

	if (effective) {
		next = e->q_head ? e->q_head : e->activator;
		if (next) {
			next->flags = (next->flags & ~KDBUS_NAME_IN_QUEUE) | KDBUS_NAME_PRIMARY;
			if (next == e->activator)
				kd_name_emit(r, KD_NAME_EVENT_MOVE, e, rec->owner, rec->flags,
					     next->owner, next->flags);
			kd_name_emit(r, KDBUS_ITEM_NAME_CHANGE, e, rec->owner, rec->flags,
				     next->owner, next->flags);
		} else {
			/* take the entry out first so callbacks see the final state */
			kd_name_entry_unlink(r, e);
			kd_name_emit(r, KDBUS_ITEM_NAME_REMOVE, e, rec->owner, rec->flags, NULL, 0);
			kd_free(rec);
			kd_free(e);
			return;
		}
	}
	kd_name_cleanup(r, rec, e);
}

int kd_name_release(struct kd_name_registry *r, struct kd_name_owner *o, const char *name)
{
	struct kd_name_record *rec;
	struct kd_name_entry *e;

	e = kd_name_find(r, name);
	if (!e)
		return -ESRCH;
	rec = kd_name_record_find(o, e);
	if (!rec)
		return -EADDRINUSE;
	kd_name_release_record(r, rec);
	return 0;
}

void kd_name_release_all(struct kd_name_registry *r, struct kd_name_owner *o)
{
	while (o->head)
		kd_name_release_record(r, o->head);
}

int kd_name_activator_add(struct kd_name_registry *r, struct kd_name_owner *o, const char *name,
			  kd_u64 *return_flags)
{
	struct kd_name_record *rec;
	struct kd_name_entry *e;
	bool new_entry = false;

	if (!kd_name_is_valid(name, false))
		return -EINVAL;
	e = kd_name_find(r, name);
	if (e && e->activator)
		return -EEXIST;
	if (e && kd_name_record_find(o, e))
		return -EALREADY;
	if (o->n_records >= KDBUS_CONN_MAX_NAMES)
		return -E2BIG;
	if (!e) {
		e = kd_name_entry_new(r, name);
		if (!e)
			return -ENOMEM;
		new_entry = true;
	}
	rec = kd_name_record_new(o, e);
	if (!rec) {
		if (new_entry)
			kd_name_cleanup(r, NULL, e);
		return -ENOMEM;
	}

	e->activator = rec;
	rec->flags = KDBUS_NAME_ACTIVATOR;
	if (e->q_head) {
		rec->flags |= KDBUS_NAME_IN_QUEUE;
	} else {
		rec->flags |= KDBUS_NAME_PRIMARY;
		kd_name_emit(r, KDBUS_ITEM_NAME_ADD, e, NULL, 0, o, rec->flags);
	}
	if (return_flags)
		*return_flags = rec->flags | KDBUS_NAME_ACQUIRED;
	return 0;
}

int kd_name_lookup(const struct kd_name_registry *r, const char *name, struct kd_name_info *out)
{
	const struct kd_name_entry *e = kd_name_find(r, name);
	const struct kd_name_record *eff;

	if (!e)
		return -ESRCH;
	eff = e->q_head ? e->q_head : e->activator;
	if (out) {
		out->owner = eff->owner;
		out->activator = e->activator ? e->activator->owner : NULL;
		out->flags = eff->flags;
		out->name_id = e->name_id;
	}
	return 0;
}

bool kd_name_is_primary(const struct kd_name_registry *r, const struct kd_name_owner *o,
			const char *name)
{
	const struct kd_name_entry *e;

	if (o->n_records == 0)
		return false;
	e = kd_name_find(r, name);
	return e && e->q_head && e->q_head->owner == o;
}

const struct kd_name_record *kd_name_owner_first(const struct kd_name_owner *o)
{
	return o->head;
}

const struct kd_name_record *kd_name_record_next(const struct kd_name_record *rec)
{
	return rec->o_next;
}

const char *kd_name_record_name(const struct kd_name_record *rec)
{
	return rec->entry->name;
}

kd_u64 kd_name_record_flags(const struct kd_name_record *rec)
{
	return rec->flags;
}

kd_u64 kd_name_record_name_id(const struct kd_name_record *rec)
{
	return rec->entry->name_id;
}

bool kd_name_list_wants(kd_u64 record_flags, kd_u64 list_flags)
{
	if (record_flags & KDBUS_NAME_ACTIVATOR)
		return list_flags & KDBUS_LIST_ACTIVATORS;
	if (record_flags & KDBUS_NAME_IN_QUEUE)
		return list_flags & KDBUS_LIST_QUEUED;
	return list_flags & KDBUS_LIST_NAMES;
}
