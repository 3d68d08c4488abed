/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Message semantics shared by every bus implementation: the SEND checks of
 * spec 7.2 step 6 and the layout of a received message slice (spec 6.3).
 */
#ifndef KD_CORE_MSG_H
#define KD_CORE_MSG_H

#include "core/compat.h"
#include "core/item.h"

/*
 * Spec 7.2 step 6, on a message validated by kd_cmd_validate(KD_CMD_MSG).
 * send_flags are the kdbus_cmd_send flags; bloom_size is the bus's.
 * Returns 0 or -errno (EINVAL, EBADMSG, ENOTUNIQ, EMSGSIZE, E2BIG, EMFILE,
 * EFAULT, EDOM, EDESTADDRREQ) in kdbus's precedence: header checks first,
 * then the items in their order, then the item/flag consistency checks.
 * EFAULT here is only the bloom filter size; an unreadable VEC address is
 * reported by the copy function of kd_msg_write(). The items are walked
 * again for that order, so it is not used and may be NULL.
 */
int kd_msg_check(const struct kdbus_msg *msg, const struct kd_items *it,
		 kd_u64 send_flags, kd_u64 bloom_size);

/* Where things go in a received slice. */
struct kd_msg_layout {
	kd_u64 items_end;    /* ALIGN8(sender's msg size): metadata starts here */
	kd_u64 meta_size;    /* metadata bytes (last item unpadded) */
	kd_u64 msg_size;     /* kdbus_msg.size as the receiver sees it */
	kd_u64 payload_off;  /* start of the payload area = ALIGN8(msg_size) */
	kd_u64 payload_size; /* payload area bytes (data, zero-vector and memfd padding) */
	kd_u64 slice_size;   /* whole slice, multiple of 8 */
};

/* Compute the layout of msg (validated) with meta_size bytes of metadata. */
void kd_msg_layout(const struct kdbus_msg *msg, kd_u64 meta_size, struct kd_msg_layout *l);

/*
 * Copies one data vector's bytes to dst. The broker reads them from the
 * packet it received, the kernel module from the sender's memory.
 * Returns 0 or -errno (EFAULT).
 */
typedef int (*kd_copy_fn)(void *ctx, void *dst, kd_u64 address, kd_u64 size);

/*
 * Write the received form of msg into slice (l->slice_size bytes, zeroed
 * padding): header with src_id, items with PAYLOAD_VEC turned into
 * PAYLOAD_OFF, metadata (meta, l->meta_size bytes), payload via copy().
 * Returns 0 or the copy error.
 */
int kd_msg_write(void *slice, const struct kdbus_msg *msg, kd_u64 src_id,
		 const void *meta, const struct kd_msg_layout *l, kd_copy_fn copy,
		 void *copy_ctx);

/*
 * Write a bus notification (spec 8.1) into slice: header, the one item
 * (type, payload of payload_size bytes), then a TIMESTAMP item.
 * kd_msg_notify_size() gives the slice size to allocate.
 */
kd_u64 kd_msg_notify_size(kd_u64 payload_size);
void kd_msg_notify_write(void *slice, kd_u64 dst_id, kd_u64 flags, kd_u64 cookie_reply,
			 kd_u64 item_type, const void *payload, kd_u64 payload_size,
			 const struct kdbus_timestamp *ts);

#endif
