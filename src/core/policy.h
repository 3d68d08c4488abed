/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Policy database (spec 9.4): the bus database (filled by policy holders and
 * activators) and one per custom endpoint (filled by ENDPOINT_UPDATE).
 *
 * Ownership and lifetime
 * ----------------------
 * - struct kd_policy_db: created with kd_policy_db_new(), freed with
 *   kd_policy_db_free() together with every entry still in it.
 * - Entries are grouped by an opaque owner key (const void *: the policy
 *   holder or activator connection, or the endpoint). The database never
 *   dereferences it; kd_policy_remove_owner() must be called when the owner
 *   goes away (disconnect removes its grants immediately).
 * - kd_policy_set() copies what it keeps; the item buffer may be freed after.
 * - No locking, no I/O: the caller serialises writers against readers.
 *
 * The OWN/TALK/SEE rules of the table in spec 9.4 (custom endpoint first,
 * Owner bypass, same-uid TALK) are the caller's; this module answers "what
 * level does this database grant these credentials for this name".
 */
#ifndef KD_CORE_POLICY_H
#define KD_CORE_POLICY_H

#include "core/compat.h"
#include "core/name.h"

struct kd_policy_db;

/* Credentials a lookup is made for (ids already in the bus's id space). */
struct kd_policy_creds {
	kd_u64 euid;
	kd_u64 egid;
	const kd_u64 *groups; /* supplementary groups */
	unsigned int n_groups;
};

/*
 * Maps the id of a USER (type KDBUS_POLICY_ACCESS_USER) or GROUP access
 * rule from the uploader's namespace into the bus's: 0 and *out, or -EINVAL
 * if unmappable. NULL means ids are used as given.
 */
typedef int (*kd_policy_map_fn)(void *ctx, kd_u64 type, kd_u64 id, kd_u64 *out);

/* An empty database (grants nothing); NULL on allocation failure. */
struct kd_policy_db *kd_policy_db_new(void);
/* Destroy with all entries; accepts NULL; returns NULL. */
struct kd_policy_db *kd_policy_db_free(struct kd_policy_db *db);
/* Number of entries ((name, wildcard) keys) in the database. */
unsigned int kd_policy_db_count(const struct kd_policy_db *db);

/*
 * Replace all entries of owner with the groups in items (items_size bytes,
 * validated by kd_cmd_validate): each KDBUS_ITEM_NAME starts an entry, the
 * KDBUS_ITEM_POLICY_ACCESS items after it are its rules; other item types
 * are skipped, so a whole HELLO or UPDATE item list may be passed.
 * max_names: limit of NAME items (0 = none), allow_wildcards: accept "a.b.*".
 * Errors, with owner's previous entries intact: -E2BIG (more NAMEs than
 * max_names), -EINVAL (invalid name, wildcard not allowed, access before any
 * NAME, bad type or access level, id unmappable), -EEXIST ((name, wildcard)
 * already present under any owner, including twice in this upload),
 * -ENOMEM. Without any NAME item the owner's entries are simply removed.
 */
int kd_policy_set(struct kd_policy_db *db, const void *owner, const struct kdbus_item *items,
		  kd_u64 items_size, unsigned int max_names, bool allow_wildcards,
		  kd_policy_map_fn map, void *map_ctx);

/* Remove every entry of owner (disconnect of a holder/activator). */
void kd_policy_remove_owner(struct kd_policy_db *db, const void *owner);

/*
 * Highest level (KDBUS_POLICY_SEE < TALK < OWN) the entry for name grants c:
 * the exact entry, else the wildcard entry of name minus its last element.
 * Rules: USER if c->euid == id, GROUP if c->egid or a supplementary group
 * == id, WORLD always. Returns the level, or -EPERM (no entry, no rule).
 */
int kd_policy_query(const struct kd_policy_db *db, const struct kd_policy_creds *c,
		    const char *name);

/* Whether the database grants at least level for name. */
bool kd_policy_check(const struct kd_policy_db *db, const struct kd_policy_creds *c,
		     const char *name, kd_u64 level);

/*
 * TALK/SEE towards a connection: whether the database grants at least level
 * for any name o currently holds as PRIMARY (a nameless o gets false).
 */
bool kd_policy_check_owner(const struct kd_policy_db *db, const struct kd_policy_creds *c,
			   const struct kd_name_owner *o, kd_u64 level);

#endif
