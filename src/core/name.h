/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Well-known names (spec 5.3) and the bus name registry (spec 9.1-9.3).
 *
 * Pure bookkeeping: no I/O, no locking, no policy. The caller (broker bus
 * object or kernel module bus) serialises every call on one registry.
 *
 * Ownership and lifetime
 * ----------------------
 * - struct kd_name_registry: one per bus, created by kd_name_registry_new(),
 *   destroyed by kd_name_registry_free() once every owner has been released
 *   (kd_name_release_all() on each connection first).
 * - struct kd_name_owner: embedded by the caller in its connection object
 *   (intrusive handle; the registry never allocates or frees connections).
 *   kd_name_owner_init() before first use; kd_name_release_all() at
 *   disconnect (in spec 1.4.5 order: after unlinking from the bus, before
 *   the queue is dropped), after which kd_name_owner_is_empty() is true and
 *   the memory is the caller's again. Recover the connection from a handle
 *   (e.g. in the event callback) with kd_container_of().
 * - Records (struct kd_name_record, opaque) and entries are allocated and
 *   freed by the registry. A record pointer obtained by iteration is valid
 *   until the next mutating call on the registry.
 *
 * Events
 * ------
 * Every mutating call reports what it caused, synchronously and in the order
 * kdbus produces it, through the callback given at creation: NAME_ADD /
 * NAME_REMOVE / NAME_CHANGE notifications (spec 8.1, 9.2) and "move the
 * messages and reply trackers tagged with name_id from one owner to another"
 * (activator hand-over, spec 9.3). A move always precedes the NAME_CHANGE of
 * the same step. When the callback runs, the registry is already in its final
 * state for that step, so read-only calls (lookup, iteration) are allowed
 * inside it; mutating calls are not.
 */
#ifndef KD_CORE_NAME_H
#define KD_CORE_NAME_H

#include "core/compat.h"

/*
 * Spec 5.3: two or more '.'-separated non-empty elements of [A-Za-z0-9_-],
 * no element starting with a digit, at most KDBUS_NAME_MAX_LEN chars. With
 * allow_wildcard a final element of exactly "*" is accepted ("foo.bar.*").
 */
bool kd_name_is_valid(const char *name, bool allow_wildcard);
/* Whether name (syntactically valid with wildcards) ends in ".*". */
bool kd_name_is_wildcard(const char *name);

struct kd_name_registry;
struct kd_name_record;

/* Per-connection handle; embed it, treat every field as private. */
struct kd_name_owner {
	kd_u64 id;                   /* connection id, reported in events */
	struct kd_name_record *head; /* records in acquisition order */
	struct kd_name_record *tail;
	unsigned int n_records;      /* owned + queued + activator, <= 256 */
};

/* Event types besides KDBUS_ITEM_NAME_ADD / _REMOVE / _CHANGE. */
#define KD_NAME_EVENT_MOVE 0

/* One event; pointers are valid during the callback only. */
struct kd_name_event {
	/* KDBUS_ITEM_NAME_ADD, _REMOVE, _CHANGE, or KD_NAME_EVENT_MOVE */
	kd_u64 type;
	const char *name;
	kd_u64 name_id;
	/* NULL on the absent side (ADD: old, REMOVE: new); MOVE: from, to */
	struct kd_name_owner *old_owner;
	struct kd_name_owner *new_owner;
	/*
	 * The notification payload: {id, name flags} of each side, {0, 0} for
	 * the absent one. Old flags are the record's flags before the change
	 * (they still carry PRIMARY), new flags after it.
	 */
	struct kdbus_notify_name_change change;
};

/* Event sink; ctx is the pointer given to kd_name_registry_new(). */
typedef void (*kd_name_event_fn)(void *ctx, const struct kd_name_event *ev);

/* A registry reporting to fn (may be NULL); NULL on allocation failure. */
struct kd_name_registry *kd_name_registry_new(kd_name_event_fn fn, void *ctx);
/* Destroy; accepts NULL; returns NULL. All owners must be released before. */
struct kd_name_registry *kd_name_registry_free(struct kd_name_registry *r);
/* Number of name entries (names with an owner, a queue or an activator). */
unsigned int kd_name_registry_count(const struct kd_name_registry *r);

/* Prepare an embedded handle for connection id. */
void kd_name_owner_init(struct kd_name_owner *o, kd_u64 id);
/* Whether the handle holds no records (true after kd_name_release_all()). */
bool kd_name_owner_is_empty(const struct kd_name_owner *o);

/*
 * NAME_ACQUIRE (spec 9.2) for o, after the caller has checked the OWN policy.
 * flags: KDBUS_NAME_REPLACE_EXISTING | ALLOW_REPLACEMENT | QUEUE (others are
 * ignored). Never refuses for policy reasons. return_flags may be NULL.
 * Returns 0 with *return_flags = the record's flags after the call plus
 * KDBUS_NAME_ACQUIRED if it became primary or was newly queued (a queued
 * record dropped because QUEUE was not requested again returns its stored
 * flags only). Errors: -EINVAL (invalid name or wildcard), -EEXIST (taken,
 * not replaceable, no QUEUE; *return_flags = the stored request flags, as
 * kdbus reports them), -E2BIG (o has 256 records), -EALREADY (o is this name's
 * activator), -ENOMEM. Nothing changes on error.
 */
int kd_name_acquire(struct kd_name_registry *r, struct kd_name_owner *o, const char *name,
		    kd_u64 flags, kd_u64 *return_flags);

/*
 * NAME_RELEASE: drop o's ownership or queue position (or activator record).
 * Returns 0, -ESRCH (no entry for name, including invalid names) or
 * -EADDRINUSE (entry exists, o has no record for it).
 */
int kd_name_release(struct kd_name_registry *r, struct kd_name_owner *o, const char *name);

/* Disconnect: release every record of o in acquisition order. Never fails. */
void kd_name_release_all(struct kd_name_registry *r, struct kd_name_owner *o);

/*
 * Make o the activator of name (HELLO of an activator, spec 9.3), after the
 * caller's Owner/policy checks. The record gets ACTIVATOR|PRIMARY (NAME_ADD
 * is reported) when the name had no owner, else ACTIVATOR|IN_QUEUE silently.
 * Returns 0 with *return_flags (may be NULL) = flags | ACQUIRED, or -EINVAL
 * (invalid or wildcard name), -EEXIST (name has an activator), -EALREADY (o
 * already has a record for name), -E2BIG, -ENOMEM.
 */
int kd_name_activator_add(struct kd_name_registry *r, struct kd_name_owner *o, const char *name,
			  kd_u64 *return_flags);

/* What a lookup found. */
struct kd_name_info {
	struct kd_name_owner *owner;     /* effective owner: primary, else activator */
	struct kd_name_owner *activator; /* NULL if the name has none */
	kd_u64 flags;                    /* owner's record flags (ACTIVATOR if it is one) */
	kd_u64 name_id;                  /* tag messages sent by name with this */
};

/* Look name up: 0 and *out, or -ESRCH (not registered). out may be NULL. */
int kd_name_lookup(const struct kd_name_registry *r, const char *name,
		   struct kd_name_info *out);
/* Whether o is name's primary owner (not an activator): match NAME rules. */
bool kd_name_is_primary(const struct kd_name_registry *r, const struct kd_name_owner *o,
			const char *name);

/*
 * Iteration over o's records in acquisition order (LIST, OWNED_NAME metadata,
 * TALK policy). Flags are the stored request flags plus PRIMARY or IN_QUEUE,
 * plus ACTIVATOR for an activator record.
 */
const struct kd_name_record *kd_name_owner_first(const struct kd_name_owner *o);
const struct kd_name_record *kd_name_record_next(const struct kd_name_record *rec);
const char *kd_name_record_name(const struct kd_name_record *rec);
kd_u64 kd_name_record_flags(const struct kd_name_record *rec);
kd_u64 kd_name_record_name_id(const struct kd_name_record *rec);

#define KD_NAME_OWNER_FOREACH(rec, o) \
	for ((rec) = kd_name_owner_first(o); (rec); (rec) = kd_name_record_next(rec))

/*
 * LIST (spec 3.2): whether a record with these flags is emitted for the
 * KDBUS_LIST_* flags requested: activator records with ACTIVATORS, queued
 * ones with QUEUED, primary ones with NAMES.
 */
bool kd_name_list_wants(kd_u64 record_flags, kd_u64 list_flags);

#endif
