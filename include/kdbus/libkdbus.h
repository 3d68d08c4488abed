/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file libkdbus.h
 * @brief The front API: buses, connections, messages, calls, names, matches.
 *
 * Built only on the compat API (kdbus/compat.h), so it works on every
 * backend. Conventions, everywhere below:
 *
 * - Functions return 0 (or a count) on success and a negative errno on
 *   failure; invalid arguments give -EINVAL. Nothing aborts or prints.
 * - Objects are created by `_new()` into an out-pointer and reference
 *   counted with `_ref()` / `_unref()`. `_unref()` accepts NULL and returns
 *   NULL, so `x = kdbus_x_unref(x);` both releases and clears.
 * - An fd handed to the library belongs to it from then on (dup() first if
 *   you need to keep one). Pointers returned by getters are borrowed: they
 *   stay valid until the object they came from is released.
 * - A connection may be used from several threads at once; a message or a
 *   match builder by one thread at a time.
 *
 * Spec references (§) point into docs/kdbus-spec.md.
 */
#ifndef KDBUS_LIBKDBUS_H
#define KDBUS_LIBKDBUS_H

#include <stddef.h>
#include <stdint.h>
#include <kdbus/kdbus.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef KDBUS_EXPORT
/** Marks a symbol exported from libkdbus.so (built with -fvisibility=hidden). */
#define KDBUS_EXPORT __attribute__((visibility("default")))
#endif

/** Call timeout used when kdbus_conn_call() or kdbus_message_set_expect_reply() get 0. */
#define KDBUS_TIMEOUT_DEFAULT_USEC (25ULL * 1000ULL * 1000ULL)
/** Timeout meaning "wait forever" (kdbus_conn_wait(), calls). */
#define KDBUS_TIMEOUT_INFINITE UINT64_MAX
/** Pool size of connections made by kdbus_conn_new() (the sd-bus value, §11). */
#define KDBUS_CONN_POOL_SIZE (16ULL * 1024ULL * 1024ULL)
/** Bloom filter size in bytes of buses made by kdbus_bus_new() (sd-bus default, §1.2). */
#define KDBUS_BUS_BLOOM_SIZE 64
/** Number of bloom hash functions of buses made by kdbus_bus_new(). */
#define KDBUS_BUS_BLOOM_N_HASH 8

struct kdbus_bus;
struct kdbus_conn;
struct kdbus_message;
struct kdbus_match;

/* ======================================================================= */
/** @name Buses
 * A private bus, alive as long as its struct kdbus_bus is. @{ */

/**
 * Create a bus (KDBUS_CMD_BUS_MAKE on `<kdbus_root()>/control`) with the
 * default bloom parameters.
 * @param busp  out: the new bus, owned by the caller (release with kdbus_bus_unref())
 * @param name  bus name; the `<euid>-` prefix kdbus requires is added unless
 *              already present (so "test" becomes e.g. "1000-test")
 * @param flags KDBUS_MAKE_ACCESS_GROUP / KDBUS_MAKE_ACCESS_WORLD, or 0
 * @return 0, -EINVAL, -EEXIST (name taken), -ENAMETOOLONG, -EMFILE, or the
 *         errno of opening the control file.
 */
KDBUS_EXPORT int kdbus_bus_new(struct kdbus_bus **busp, const char *name, uint64_t flags);

/**
 * As kdbus_bus_new() with explicit bloom parameters (§9.5).
 * @param busp         out: the new bus, owned by the caller
 * @param name         bus name, as for kdbus_bus_new()
 * @param flags        KDBUS_MAKE_ACCESS_GROUP / KDBUS_MAKE_ACCESS_WORLD, or 0
 * @param bloom_size   filter size in bytes: 8..4096, a multiple of 8
 * @param bloom_n_hash number of hash functions, >= 1
 */
KDBUS_EXPORT int kdbus_bus_new_with_bloom(struct kdbus_bus **busp, const char *name, uint64_t flags,
					  uint64_t bloom_size, uint64_t bloom_n_hash);

/** Take a reference. @return bus (NULL stays NULL). */
KDBUS_EXPORT struct kdbus_bus *kdbus_bus_ref(struct kdbus_bus *bus);

/**
 * Drop a reference; the last one closes the owner fd, which ends the bus and
 * disconnects every connection on it.
 * @return NULL.
 */
KDBUS_EXPORT struct kdbus_bus *kdbus_bus_unref(struct kdbus_bus *bus);

/** The full bus name ("<euid>-name"). @return a string owned by bus. */
KDBUS_EXPORT const char *kdbus_bus_get_name(struct kdbus_bus *bus);

/** Path of the bus's default endpoint, for kdbus_conn_new(). @return a string owned by bus. */
KDBUS_EXPORT const char *kdbus_bus_get_path(struct kdbus_bus *bus);

/** @} */

/* ======================================================================= */
/** @name Connections
 * A connection owns its fd and its read-only pool mapping. @{ */

/**
 * Connect to a bus (open + KDBUS_CMD_HELLO + mmap of the pool).
 * Metadata attach flags start at 0 (see kdbus_conn_set_attach_flags()).
 * @param connp       out: the new connection, owned by the caller
 * @param path        an endpoint file (kdbus_bus_get_path()), or NULL for the
 *                    default bus: $KDBUS_BUS_PATH, else `<kdbus_root()>/<euid>-user/bus`
 * @param flags       KDBUS_HELLO_ACCEPT_FD and/or KDBUS_HELLO_MONITOR (activators
 *                    and policy holders need the compat API)
 * @param description connection description (sysname rules, §5.2), or NULL; copied
 * @return 0, -EINVAL, -ENOENT (no such bus), -EPERM, or the HELLO errno.
 */
KDBUS_EXPORT int kdbus_conn_new(struct kdbus_conn **connp, const char *path, uint64_t flags,
				const char *description);

/** Take a reference. @return conn (NULL stays NULL). */
KDBUS_EXPORT struct kdbus_conn *kdbus_conn_ref(struct kdbus_conn *conn);

/**
 * Drop a reference; the last one unmaps the pool and closes the fd, which
 * disconnects. Received messages hold a reference of their own.
 * @return NULL.
 */
KDBUS_EXPORT struct kdbus_conn *kdbus_conn_unref(struct kdbus_conn *conn);

/**
 * The connection fd, for an event loop: it polls readable (POLLIN) when a
 * message is queued or messages were lost. Owned by conn: do not close it.
 * @return the fd, or -EINVAL for NULL.
 */
KDBUS_EXPORT int kdbus_conn_get_fd(struct kdbus_conn *conn);

/** The unique id the bus gave this connection (D-Bus ":1.<id>"). @return the id, 0 for NULL. */
KDBUS_EXPORT uint64_t kdbus_conn_get_id(struct kdbus_conn *conn);

/** The bus's 128-bit id from HELLO. @return 16 bytes owned by conn, NULL for NULL. */
KDBUS_EXPORT const uint8_t *kdbus_conn_get_id128(struct kdbus_conn *conn);

/** The bus flags (KDBUS_MAKE_ACCESS_*) from HELLO. @return the flags, 0 for NULL. */
KDBUS_EXPORT uint64_t kdbus_conn_get_bus_flags(struct kdbus_conn *conn);

/**
 * The bus bloom parameters from the HELLO slice.
 * @param conn   the connection
 * @param size   out (may be NULL): filter size in bytes
 * @param n_hash out (may be NULL): number of hash functions
 * @return 0 or -EINVAL.
 */
KDBUS_EXPORT int kdbus_conn_get_bloom(struct kdbus_conn *conn, uint64_t *size, uint64_t *n_hash);

/**
 * Messages lost (never delivered to this connection, §8.4) as reported by
 * all receives so far. Compare two values to learn how many were lost between.
 * @return the count, 0 for NULL.
 */
KDBUS_EXPORT uint64_t kdbus_conn_get_dropped(struct kdbus_conn *conn);

/**
 * Change the metadata this connection lets receivers see (send) and wants on
 * received messages (recv): KDBUS_ATTACH_* masks (KDBUS_CMD_UPDATE, §9.7).
 * @return 0, -EINVAL (unknown bits) or the UPDATE errno.
 */
KDBUS_EXPORT int kdbus_conn_set_attach_flags(struct kdbus_conn *conn, uint64_t send, uint64_t recv);

/**
 * Send msg without waiting (KDBUS_CMD_SEND). Assigns the next cookie of conn
 * unless one was set with kdbus_message_set_cookie(). If msg expects a reply
 * it arrives later through kdbus_conn_recv() with its cookie_reply set.
 * @param conn the sending connection
 * @param msg a message built with kdbus_message_new(); the caller keeps it
 * @return 0, -EINVAL, or the SEND errno (§7.2: -ENXIO, -ESRCH, -EPERM, -ECOMM,
 *         -ENOBUFS, -EXFULL, ...).
 */
KDBUS_EXPORT int kdbus_conn_send(struct kdbus_conn *conn, struct kdbus_message *msg);

/**
 * Call a method synchronously: send msg as a call (EXPECT_REPLY for this send only)
 * and block until the reply (KDBUS_SEND_SYNC_REPLY, §7.5.2).
 * @param conn         the calling connection
 * @param msg          the call; still the caller's, unchanged but for its cookie
 * @param timeout_usec relative timeout; 0 = KDBUS_TIMEOUT_DEFAULT_USEC
 * @param replyp out: the reply, owned by the caller (kdbus_message_unref())
 * @return 0, -EINVAL, -ETIMEDOUT, -EPIPE (peer dropped the call or died),
 *         -EREMOTEIO (reply could not be delivered), or a SEND errno.
 */
KDBUS_EXPORT int kdbus_conn_call(struct kdbus_conn *conn, struct kdbus_message *msg,
				 uint64_t timeout_usec, struct kdbus_message **replyp);

/**
 * As kdbus_conn_call(), abandoned with -ECANCELED when cancel_fd polls
 * readable (KDBUS_ITEM_CANCEL_FD). cancel_fd stays the caller's; -1 = none.
 */
KDBUS_EXPORT int kdbus_conn_call_with_cancel_fd(struct kdbus_conn *conn, struct kdbus_message *msg,
						uint64_t timeout_usec, int cancel_fd,
						struct kdbus_message **replyp);

/**
 * Take the next queued message without blocking (KDBUS_CMD_RECV). Its pool
 * slice is released (KDBUS_CMD_FREE) when the message is released.
 * @param conn the receiving connection (the message keeps a reference)
 * @param msgp out: the message, owned by the caller
 * @return 0, -EAGAIN (queue empty), -EBADMSG (malformed slice, dropped), or the
 *         RECV errno (-ECONNRESET once disconnected).
 */
KDBUS_EXPORT int kdbus_conn_recv(struct kdbus_conn *conn, struct kdbus_message **msgp);

/**
 * Wait until a message can be received.
 * @param conn         the connection
 * @param timeout_usec relative timeout; KDBUS_TIMEOUT_INFINITE waits forever
 * @return 1 readable, 0 timed out, -ECONNRESET disconnected, -EINTR, -EBADF, -EINVAL.
 */
KDBUS_EXPORT int kdbus_conn_wait(struct kdbus_conn *conn, uint64_t timeout_usec);

/**
 * Reply to a received call: addresses reply to call's sender, sets its
 * cookie_reply to call's cookie and clears EXPECT_REPLY, then sends it.
 * @return 0, -EINVAL, -EBADSLT (no call to answer, e.g. timed out), or a SEND errno.
 */
KDBUS_EXPORT int kdbus_conn_reply(struct kdbus_conn *conn, struct kdbus_message *call,
				  struct kdbus_message *reply);

/**
 * Acquire a well-known name (KDBUS_CMD_NAME_ACQUIRE, §9.2).
 * @param conn      the connection to own it
 * @param name      a well-known name (§5.3), copied
 * @param flags     KDBUS_NAME_REPLACE_EXISTING | KDBUS_NAME_ALLOW_REPLACEMENT | KDBUS_NAME_QUEUE
 * @param ret_flags out (may be NULL): KDBUS_NAME_PRIMARY or KDBUS_NAME_IN_QUEUE,
 *                  plus KDBUS_NAME_ACQUIRED if this call changed ownership
 * @return 0, -EINVAL, -EEXIST (taken), -EPERM (policy), -E2BIG (too many names).
 */
KDBUS_EXPORT int kdbus_conn_acquire_name(struct kdbus_conn *conn, const char *name, uint64_t flags,
					 uint64_t *ret_flags);

/**
 * Release a name or leave its queue (KDBUS_CMD_NAME_RELEASE).
 * @return 0, -EINVAL, -ESRCH (nobody has it), -EADDRINUSE (not ours).
 */
KDBUS_EXPORT int kdbus_conn_release_name(struct kdbus_conn *conn, const char *name);

/**
 * Install the rules of match as one match entry (KDBUS_CMD_MATCH_ADD, §9.6):
 * the entry matches a message when all its rules do.
 * @param conn   the connection whose queue the entry filters
 * @param match  the rules; still the caller's (may be reused or released)
 * @param cookie the caller's id of the entry, for kdbus_conn_remove_match()
 * @param flags  KDBUS_MATCH_REPLACE to replace the entries with this cookie, or 0
 * @return 0, -EINVAL, -EDOM (bloom size), -EMFILE (too many entries).
 */
KDBUS_EXPORT int kdbus_conn_add_match(struct kdbus_conn *conn, struct kdbus_match *match,
				      uint64_t cookie, uint64_t flags);

/** Remove all match entries with cookie. @return 0, -EINVAL or -EBADSLT (none). */
KDBUS_EXPORT int kdbus_conn_remove_match(struct kdbus_conn *conn, uint64_t cookie);

/** @} */

/* ======================================================================= */
/** @name Messages
 * One type for messages being built and messages received. Built messages
 * are reusable: each send re-reads every field. @{ */

/**
 * Start a message from conn (which gives the bloom parameters for signals;
 * no reference is kept). Defaults: destination unset (set one before
 * sending), payload type KDBUS_PAYLOAD_DBUS, priority 0, no flags.
 * @param msgp out: the message, owned by the caller
 * @param conn the connection it will be sent on
 * @return 0, -EINVAL or -ENOMEM.
 */
KDBUS_EXPORT int kdbus_message_new(struct kdbus_message **msgp, struct kdbus_conn *conn);

/** Take a reference. @return msg (NULL stays NULL). */
KDBUS_EXPORT struct kdbus_message *kdbus_message_ref(struct kdbus_message *msg);

/**
 * Drop a reference; the last one closes the fds and memfds the message still
 * owns and, for a received message, frees its pool slice.
 * @return NULL.
 */
KDBUS_EXPORT struct kdbus_message *kdbus_message_unref(struct kdbus_message *msg);

/** Address a connection id, or KDBUS_DST_ID_BROADCAST for a broadcast. @return 0 or -EINVAL. */
KDBUS_EXPORT int kdbus_message_set_destination_id(struct kdbus_message *msg, uint64_t id);

/**
 * Address a well-known name (KDBUS_ITEM_DST_NAME; destination id becomes 0
 * unless set afterwards, which then also checks that id owns the name).
 * @param msg  the message being built
 * @param name copied; NULL removes the name
 * @return 0, -EINVAL or -ENOMEM.
 */
KDBUS_EXPORT int kdbus_message_set_destination_name(struct kdbus_message *msg, const char *name);

/**
 * Set KDBUS_MSG_* flags (replacing the previous ones). A message with
 * KDBUS_MSG_SIGNAL always carries a bloom filter (all zero unless filled).
 * @return 0 or -EINVAL.
 */
KDBUS_EXPORT int kdbus_message_set_flags(struct kdbus_message *msg, uint64_t flags);

/**
 * Make msg a call: sets KDBUS_MSG_EXPECT_REPLY; the deadline is computed at
 * each send as now + timeout_usec (0 = KDBUS_TIMEOUT_DEFAULT_USEC).
 * @return 0 or -EINVAL.
 */
KDBUS_EXPORT int kdbus_message_set_expect_reply(struct kdbus_message *msg, uint64_t timeout_usec);

/** Set the priority (lower = more urgent, §7.4). @return 0 or -EINVAL. */
KDBUS_EXPORT int kdbus_message_set_priority(struct kdbus_message *msg, int64_t priority);

/** Fix the cookie instead of taking the connection's next one (0 = automatic). @return 0 or -EINVAL. */
KDBUS_EXPORT int kdbus_message_set_cookie(struct kdbus_message *msg, uint64_t cookie);

/** Set the payload type (must be non-zero, e.g. KDBUS_PAYLOAD_DBUS). @return 0 or -EINVAL. */
KDBUS_EXPORT int kdbus_message_set_payload_type(struct kdbus_message *msg, uint64_t type);

/**
 * Append size bytes, copied now (a PAYLOAD_VEC part).
 * @return 0, -EINVAL (size 0, or a received msg) or -ENOMEM.
 */
KDBUS_EXPORT int kdbus_message_append(struct kdbus_message *msg, const void *data, size_t size);

/**
 * Append size bytes without copying: data stays the caller's and must stay
 * valid and unchanged until msg is released or no longer sent.
 * @return 0, -EINVAL or -ENOMEM.
 */
KDBUS_EXPORT int kdbus_message_append_borrowed(struct kdbus_message *msg, const void *data,
					       size_t size);

/** Append size zero bytes (a zero vector; costs no payload copy). @return 0, -EINVAL or -ENOMEM. */
KDBUS_EXPORT int kdbus_message_append_zeros(struct kdbus_message *msg, size_t size);

/**
 * Append bytes [start, start + size) of a sealed memfd (see kdbus_memfd_new()).
 * @param msg   the message being built
 * @param start offset of the first byte in the file
 * @param size  number of bytes, > 0
 * @param fd taken over by msg, also on failure
 * @return 0, -EINVAL or -ENOMEM.
 */
KDBUS_EXPORT int kdbus_message_append_memfd(struct kdbus_message *msg, int fd, uint64_t start,
					    uint64_t size);

/**
 * Attach an fd (KDBUS_ITEM_FDS; receivers need KDBUS_HELLO_ACCEPT_FD, at
 * most 16 per message, not in broadcasts).
 * @param msg the message being built
 * @param fd taken over by msg, also on failure
 * @return 0, -EINVAL or -ENOMEM.
 */
KDBUS_EXPORT int kdbus_message_append_fd(struct kdbus_message *msg, int fd);

/**
 * Add "key:value" (or key alone when value is NULL) to the signal's bloom
 * filter with the sd-bus hash (§9.5), e.g. ("member", "Changed").
 * @return 0, -EINVAL or -ENOMEM.
 */
KDBUS_EXPORT int kdbus_message_add_bloom(struct kdbus_message *msg, const char *key,
					 const char *value);

/**
 * The bloom filter words, for the kdbus/bloom.h helpers; allocated (zeroed)
 * on first use.
 * @param msg  the message being built
 * @param data out: bloom size / 8 words owned by msg
 * @param size out (may be NULL): size in bytes
 * @return 0, -EINVAL or -ENOMEM.
 */
KDBUS_EXPORT int kdbus_message_get_bloom(struct kdbus_message *msg, uint64_t **data,
					 uint64_t *size);

/** Sender id; 0 (KDBUS_SRC_ID_KERNEL) for bus notifications, our id on built messages after send. */
KDBUS_EXPORT uint64_t kdbus_message_get_source(struct kdbus_message *msg);
/** Destination id (a connection id, 0 = by name, KDBUS_DST_ID_BROADCAST). */
KDBUS_EXPORT uint64_t kdbus_message_get_destination(struct kdbus_message *msg);
/** Destination name, or NULL. @return a string owned by msg. */
KDBUS_EXPORT const char *kdbus_message_get_destination_name(struct kdbus_message *msg);
/** KDBUS_MSG_* flags. */
KDBUS_EXPORT uint64_t kdbus_message_get_flags(struct kdbus_message *msg);
/** Priority. */
KDBUS_EXPORT int64_t kdbus_message_get_priority(struct kdbus_message *msg);
/** Cookie (of a built message: the one its last send used). */
KDBUS_EXPORT uint64_t kdbus_message_get_cookie(struct kdbus_message *msg);
/** Cookie of the call this message answers (replies, REPLY_TIMEOUT/DEAD), else 0. */
KDBUS_EXPORT uint64_t kdbus_message_get_cookie_reply(struct kdbus_message *msg);
/** Payload type (KDBUS_PAYLOAD_KERNEL for bus notifications). */
KDBUS_EXPORT uint64_t kdbus_message_get_payload_type(struct kdbus_message *msg);
/** KDBUS_RECV_RETURN_INCOMPLETE_FDS if some fds could not be installed, else 0. */
KDBUS_EXPORT uint64_t kdbus_message_get_return_flags(struct kdbus_message *msg);

/** Number of payload parts (data, zero and memfd parts in order). @return count, 0 for NULL. */
KDBUS_EXPORT size_t kdbus_message_get_n_parts(struct kdbus_message *msg);

/**
 * One payload part as bytes. Received data lives in the pool; zero parts and
 * memfd parts are mapped read-only on first access.
 * @param msg   the message
 * @param index part number, below kdbus_message_get_n_parts()
 * @param data out: size bytes owned by msg, valid until it is released
 * @param size out: bytes in the part
 * @return 0, -EINVAL (no such part) or the mmap errno.
 */
KDBUS_EXPORT int kdbus_message_get_part(struct kdbus_message *msg, size_t index, const void **data,
					size_t *size);

/** Total payload bytes over all parts. */
KDBUS_EXPORT uint64_t kdbus_message_get_payload_size(struct kdbus_message *msg);

/**
 * Copy payload bytes [offset, offset + size) into buf, across parts.
 * @return bytes copied (less than size at the end of the payload), or -errno.
 */
KDBUS_EXPORT long kdbus_message_read(struct kdbus_message *msg, uint64_t offset, void *buf,
				     size_t size);

/** Number of fds carried (KDBUS_ITEM_FDS). */
KDBUS_EXPORT size_t kdbus_message_get_n_fds(struct kdbus_message *msg);

/**
 * Fd number index, still owned by msg (-1 if it could not be installed).
 * @return the fd, -1, or -EINVAL.
 */
KDBUS_EXPORT int kdbus_message_get_fd(struct kdbus_message *msg, size_t index);

/**
 * Take fd number index out of msg: the caller owns it and must close it;
 * msg keeps -1 in its place.
 * @return the fd, -1 (none there) or -EINVAL.
 */
KDBUS_EXPORT int kdbus_message_steal_fd(struct kdbus_message *msg, size_t index);

/**
 * Find an item of a received message by type: metadata (KDBUS_ITEM_CREDS,
 * _PIDS, _TIMESTAMP, _OWNED_NAME, ...) or notifications (KDBUS_ITEM_ID_ADD,
 * _NAME_CHANGE, _REPLY_TIMEOUT, ...). Pass the previous result as after to
 * find the next one of the same type.
 * @return an item in the pool owned by msg, or NULL (none, or a built msg).
 */
KDBUS_EXPORT const struct kdbus_item *kdbus_message_find_item(struct kdbus_message *msg,
							      uint64_t type,
							      const struct kdbus_item *after);

/** @} */

/* ======================================================================= */
/** @name Match rules
 * A builder for one match entry; install it with kdbus_conn_add_match().
 * Notification rules (ID_*, NAME_*) match only that notification type, so
 * an entry holds either message rules or one notification rule. @{ */

/**
 * Start an empty rule set (which would match every signal and notification).
 * @param conn gives the bloom parameters; no reference is kept
 * @param matchp out: the builder, owned by the caller
 * @return 0, -EINVAL or -ENOMEM.
 */
KDBUS_EXPORT int kdbus_match_new(struct kdbus_match **matchp, struct kdbus_conn *conn);

/** Take a reference. @return match (NULL stays NULL). */
KDBUS_EXPORT struct kdbus_match *kdbus_match_ref(struct kdbus_match *match);

/** Drop a reference. @return NULL. */
KDBUS_EXPORT struct kdbus_match *kdbus_match_unref(struct kdbus_match *match);

/** Only messages from connection id (KDBUS_ITEM_ID). @return 0, -EINVAL or -ENOMEM. */
KDBUS_EXPORT int kdbus_match_add_sender_id(struct kdbus_match *match, uint64_t id);

/** Only messages whose sender owns name (KDBUS_ITEM_NAME). @return 0, -EINVAL or -ENOMEM. */
KDBUS_EXPORT int kdbus_match_add_sender_name(struct kdbus_match *match, const char *name);

/**
 * Only messages sent to id (KDBUS_ITEM_DST_ID), e.g. KDBUS_DST_ID_BROADCAST
 * for broadcasts only. @return 0, -EINVAL or -ENOMEM.
 */
KDBUS_EXPORT int kdbus_match_add_destination_id(struct kdbus_match *match, uint64_t id);

/**
 * Only signals whose bloom filter holds "key:value" (or key when value is
 * NULL); the terms of one builder share one mask (KDBUS_ITEM_BLOOM_MASK).
 * @return 0, -EINVAL or -ENOMEM.
 */
KDBUS_EXPORT int kdbus_match_add_bloom(struct kdbus_match *match, const char *key,
				       const char *value);

/**
 * The bloom mask words, for the kdbus/bloom.h helpers; allocated on first
 * use, and from then on sent with the rule.
 * @return 0, -EINVAL or -ENOMEM.
 */
KDBUS_EXPORT int kdbus_match_get_bloom(struct kdbus_match *match, uint64_t **data, uint64_t *size);

/**
 * Match KDBUS_ITEM_ID_ADD or KDBUS_ITEM_ID_REMOVE notifications about id
 * (KDBUS_MATCH_ID_ANY for all). @return 0, -EINVAL or -ENOMEM.
 */
KDBUS_EXPORT int kdbus_match_add_id_change(struct kdbus_match *match, uint64_t type, uint64_t id);

/**
 * Match KDBUS_ITEM_NAME_ADD, _NAME_REMOVE or _NAME_CHANGE notifications.
 * @param match  the builder
 * @param type   KDBUS_ITEM_NAME_ADD, KDBUS_ITEM_NAME_REMOVE or KDBUS_ITEM_NAME_CHANGE
 * @param old_id previous owner, 0 = none, KDBUS_MATCH_ID_ANY = any
 * @param new_id new owner, likewise
 * @param name   the name, or NULL for every name
 * @return 0, -EINVAL or -ENOMEM.
 */
KDBUS_EXPORT int kdbus_match_add_name_change(struct kdbus_match *match, uint64_t type,
					     uint64_t old_id, uint64_t new_id, const char *name);

/** @} */

/* ======================================================================= */
/** @name Sealed memfds
 * Payload that travels by reference, not by copy. @{ */

/**
 * Create a memfd holding a copy of size bytes, sealed as kdbus requires
 * (§8.6), for kdbus_message_append_memfd().
 * @param fdp  out: the fd, owned by the caller
 * @param data the bytes to copy in
 * @param size number of bytes, > 0
 * @return 0, -EINVAL (size 0) or the errno of creating it.
 */
KDBUS_EXPORT int kdbus_memfd_new(int *fdp, const void *data, size_t size);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* KDBUS_LIBKDBUS_H */
