/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Command and item validation (spec 2.1-2.3, 3.2, 5.2). Everything a bus
 * checks before it looks at the meaning of a command lives here, so the
 * broker and the kernel module reject the same inputs with the same errno.
 */
#ifndef KD_CORE_ITEM_H
#define KD_CORE_ITEM_H

#include "core/compat.h"

/* Command kinds; KD_CMD_MSG is the struct kdbus_msg that SEND points to. */
enum kd_cmd {
	KD_CMD_BUS_MAKE,
	KD_CMD_ENDPOINT_MAKE,
	KD_CMD_ENDPOINT_UPDATE,
	KD_CMD_HELLO,
	KD_CMD_UPDATE,
	KD_CMD_BYEBYE,
	KD_CMD_FREE,
	KD_CMD_CONN_INFO,
	KD_CMD_BUS_CREATOR_INFO,
	KD_CMD_LIST,
	KD_CMD_SEND,
	KD_CMD_RECV,
	KD_CMD_NAME_ACQUIRE,
	KD_CMD_NAME_RELEASE,
	KD_CMD_MATCH_ADD,
	KD_CMD_MATCH_REMOVE,
	KD_CMD_MSG,
	_KD_CMD_MAX,
};

/* Command kind of an ioctl number, or -ENOTTY. */
int kd_cmd_from_ioctl(unsigned long nr);
/* Size of the fixed part of a command struct (where items start). */
kd_u64 kd_cmd_fixed_size(enum kd_cmd c);
/* Flags a command accepts, without KDBUS_FLAG_NEGOTIATE (spec 2.3 table). */
kd_u64 kd_cmd_flags(enum kd_cmd c);
/* Whether a command accepts item type t (NEGOTIATE is accepted by all). */
bool kd_cmd_item_allowed(enum kd_cmd c, kd_u64 t);

/* What kd_cmd_validate() found; pointers point into the validated buffer. */
struct kd_items {
	const struct kdbus_item *negotiate;
	const struct kdbus_item *make_name;
	const struct kdbus_item *bloom_parameter;
	const struct kdbus_item *attach_send;
	const struct kdbus_item *attach_recv;
	const struct kdbus_item *name; /* first NAME item */
	const struct kdbus_item *creds;
	const struct kdbus_item *pids;
	const struct kdbus_item *seclabel;
	const struct kdbus_item *description;
	const struct kdbus_item *cancel_fd;
	const struct kdbus_item *fds;
	const struct kdbus_item *bloom_filter;
	const struct kdbus_item *dst_name;
	unsigned int n_names;   /* NAME items */
	unsigned int n_policy;  /* POLICY_ACCESS items */
	unsigned int n_vecs;    /* PAYLOAD_VEC items */
	unsigned int n_memfds;  /* PAYLOAD_MEMFD items */
	unsigned int n_fds;     /* fds in the FDS item */
	unsigned int n_items;   /* all items */
	kd_u64 vec_bytes;       /* sum of VEC sizes, data and zero vectors */
	kd_u64 vec_data_bytes;  /* sum of VEC sizes with a non-zero address */
	/* Both sums saturate at ~0 on overflow; kd_msg_check() makes that EMSGSIZE. */
};

/*
 * Validate a command that has been copied into buf (buf_size bytes readable,
 * 8-aligned or EFAULT; the command's own size field is checked against it).
 * Checks, in kdbus's order: size >= fixed size (EINVAL), size <=
 * KDBUS_CMD_MAX_SIZE (EMSGSIZE), size == buf_size (EINVAL), unknown flags
 * (EINVAL); then item by item, the first faulty item deciding: header inside
 * the list with size >= 16 (EINVAL), type accepted by the command (EINVAL),
 * per-type payload rules (kd_item_validate), a second single-instance item
 * (EINVAL); finally the walk must end at ALIGN8(items size) (EINVAL).
 * Mandatory items are not checked (the command does that, not when
 * negotiating); return_flags is not touched (the caller zeroes it).
 *
 * Single-instance items: NEGOTIATE everywhere; BUS_MAKE: MAKE_NAME,
 * BLOOM_PARAMETER, ATTACH_FLAGS_SEND; ENDPOINT_MAKE: MAKE_NAME; HELLO: NAME,
 * CREDS, PIDS, SECLABEL, CONN_DESCRIPTION; UPDATE: ATTACH_FLAGS_SEND/RECV;
 * CONN_INFO, NAME_ACQUIRE, NAME_RELEASE: NAME; SEND: CANCEL_FD; MSG: FDS,
 * BLOOM_FILTER, DST_NAME. Repeatable: NAME and POLICY_ACCESS in UPDATE and
 * ENDPOINT_UPDATE (UPDATE refuses a second NAME itself, E2BIG), POLICY_ACCESS
 * in HELLO, every MATCH_ADD rule item, PAYLOAD_VEC and PAYLOAD_MEMFD.
 *
 * Negotiation: a NEGOTIATE item has its unsupported entries zeroed in buf;
 * with KDBUS_FLAG_NEGOTIATE the accepted flags are written to the command's
 * flags field and 1 is returned (do not execute). For KD_CMD_MSG, 1 is never
 * returned; a message carrying KDBUS_FLAG_NEGOTIATE gets its flags replaced
 * by 0x7 when the SEND command negotiates too (send_negotiate), and is EINVAL
 * otherwise (after the item checks); without the flag its flags stay as sent.
 *
 * out is zeroed first. Returns 0 (execute), 1 (negotiated, copy buf back and
 * stop) or -errno.
 */
int kd_cmd_validate(enum kd_cmd c, void *buf, kd_u64 buf_size, bool send_negotiate,
		    struct kd_items *out);

/*
 * Spec 5.2 payload rules of one item whose size (>= 16) and payload are
 * readable: 0, -EINVAL, -EBADF (MEMFD fd < 0) or -ENAMETOOLONG (sysnames).
 * Strings need a non-empty payload whose first NUL is its last byte. PIDS
 * must be exactly 24 bytes (kdbus did not check). Unknown types pass.
 */
int kd_item_validate(const struct kdbus_item *item);

/*
 * Sysname rule (bus, endpoint, description); s holds len_with_nul bytes.
 * Checked in this order: at least one character and exactly one NUL, the
 * last byte (EINVAL); at most 63 characters (ENAMETOOLONG); characters
 * [A-Za-z0-9_], '-' and '.' not first or last (EINVAL).
 */
int kd_sysname_validate(const char *s, kd_u64 len_with_nul);

/* Validate attach flags; _KDBUS_ATTACH_ANY becomes _KDBUS_ATTACH_ALL. */
int kd_attach_flags_normalize(kd_u64 in, kd_u64 *out);

#endif
