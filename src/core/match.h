/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Per-connection match database (spec 9.6): MATCH_ADD / MATCH_REMOVE and the
 * decision whether a broadcast or unicast signal, or a bus notification,
 * is delivered to the connection.
 *
 * Ownership and lifetime
 * ----------------------
 * - One struct kd_match_db per ordinary connection, created at HELLO with the
 *   bus bloom size, freed at disconnect (kd_match_db_free()). Monitors,
 *   activators and policy holders have none (their MATCH_* is EOPNOTSUPP).
 * - kd_match_add() copies everything it keeps out of the items; the caller's
 *   command buffer may be freed right after.
 * - No locking, no I/O: the caller serialises calls on one database. The
 *   evaluation functions only read.
 */
#ifndef KD_CORE_MATCH_H
#define KD_CORE_MATCH_H

#include "core/compat.h"

struct kd_match_db;

/* An empty database for a bus with bloom_size-byte filters; NULL on ENOMEM. */
struct kd_match_db *kd_match_db_new(kd_u64 bloom_size);
/* Destroy with all entries; accepts NULL; returns NULL. */
struct kd_match_db *kd_match_db_free(struct kd_match_db *db);
/* Number of entries (at most KDBUS_MATCH_MAX). */
unsigned int kd_match_db_count(const struct kd_match_db *db);

/*
 * MATCH_ADD: one entry with cookie, one rule per item of the list validated
 * by kd_cmd_validate(KD_CMD_MATCH_ADD) (items, items_size bytes). flags:
 * KDBUS_MATCH_REPLACE removes the entries with the same cookie first.
 * Errors, nothing changed: -EDOM (BLOOM_MASK payload not a non-zero multiple
 * of the bloom size), -EINVAL (NAME not a valid well-known name, or an item
 * type/size MATCH_ADD does not take), -EMFILE (256 entries after the
 * REPLACE removal), -ENOMEM.
 */
int kd_match_add(struct kd_match_db *db, kd_u64 cookie, kd_u64 flags,
		 const struct kdbus_item *items, kd_u64 items_size);

/* MATCH_REMOVE: drop every entry with cookie; 0 or -EBADSLT (none). */
int kd_match_remove(struct kd_match_db *db, kd_u64 cookie);

/* A user message (signal) as the match rules see it. */
struct kd_match_msg {
	kd_u64 src_id; /* sender connection id */
	kd_u64 dst_id; /* KDBUS_DST_ID_BROADCAST or the receiver's id */
	/* the message's filter (bloom_size data bytes), NULL: bloom rules fail */
	const struct kdbus_bloom_filter *bloom;
	/*
	 * NAME rules: whether the sender owns name as primary, e.g. through
	 * kd_name_is_primary(). NULL: NAME rules fail.
	 */
	bool (*src_owns_name)(void *ctx, const char *name);
	void *ctx;
};

/* Whether any entry matches a user message (notification rules fail). */
bool kd_match_test_msg(const struct kd_match_db *db, const struct kd_match_msg *m);

/* A bus notification (spec 8.1) as the match rules see it. */
struct kd_match_notify {
	kd_u64 type;      /* KDBUS_ITEM_ID_ADD/REMOVE or KDBUS_ITEM_NAME_ADD/REMOVE/CHANGE */
	kd_u64 id;        /* ID_*: the connection added or removed */
	kd_u64 old_id;    /* NAME_*: previous owner, 0 if none */
	kd_u64 new_id;    /* NAME_*: new owner, 0 if none */
	const char *name; /* NAME_*: the name */
};

/* Whether any entry matches a notification (user-message rules fail). */
bool kd_match_test_notify(const struct kd_match_db *db, const struct kd_match_notify *n);

#endif
