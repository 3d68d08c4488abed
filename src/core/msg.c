/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * SEND checks (spec 7.2 step 6) and the received-slice layout (spec 6.3,
 * 8.1). Both bus implementations produce byte-identical slices from here.
 */
#include "core/compat.h"
#include "core/item.h"
#include "core/limits.h"
#include "core/msg.h"
#include "core/name.h"

#define MSG_HDR_SIZE ((kd_u64)sizeof(struct kdbus_msg))

int kd_msg_check(const struct kdbus_msg *msg, const struct kd_items *it,
		 kd_u64 send_flags, kd_u64 bloom_size)
{
	const struct kdbus_item *item;
	bool bcast = msg->dst_id == KDBUS_DST_ID_BROADCAST;
	bool signal = msg->flags & KDBUS_MSG_SIGNAL;
	bool has_fds = false, has_bloom = false, has_dst = false;
	kd_u64 vec = 0, n_memfds = 0, n;

	if (msg->payload_type == KDBUS_PAYLOAD_KERNEL)
		return -EINVAL;

	if (bcast) {
		if (!signal)
			return -EBADMSG;
		/* Covers cookie_reply too: it shares the union. */
		if (msg->timeout_ns)
			return -ENOTUNIQ;
	}

	if (msg->flags & KDBUS_MSG_EXPECT_REPLY) {
		if (!msg->timeout_ns)
			return -EINVAL;
		if (signal)
			return -ENOTUNIQ;
	} else {
		if (send_flags & KDBUS_SEND_SYNC_REPLY)
			return -EINVAL;
		if (msg->cookie_reply && signal)
			return -EINVAL;
	}

	/* Items in their order, so the first offending item decides. */
	KD_ITEMS_FOREACH(item, msg->items, msg->size - MSG_HDR_SIZE) {
		switch (item->type) {
		case KDBUS_ITEM_PAYLOAD_VEC:
			if (vec + item->vec.size < vec)
				return -EMSGSIZE;
			vec += item->vec.size;
			if (vec > KDBUS_MSG_MAX_PAYLOAD_VEC_SIZE)
				return -EMSGSIZE;
			/* Address accessibility (EFAULT) is the copier's to report. */
			break;
		case KDBUS_ITEM_PAYLOAD_MEMFD:
			if (item->memfd.start + item->memfd.size < item->memfd.start)
				return -EMSGSIZE;
			if (n_memfds >= KDBUS_MSG_MAX_MEMFD_ITEMS)
				return -E2BIG;
			n_memfds++;
			break;
		case KDBUS_ITEM_FDS:
			has_fds = true;
			n = (item->size - KDBUS_ITEM_HEADER_SIZE) / sizeof(int);
			if (n > KDBUS_CONN_MAX_FDS_PER_USER)
				return -EMFILE;
			break;
		case KDBUS_ITEM_BLOOM_FILTER:
			has_bloom = true;
			n = item->size - KDBUS_ITEM_HEADER_SIZE - sizeof(struct kdbus_bloom_filter);
			if (n % 8)
				return -EFAULT;
			if (n != bloom_size)
				return -EDOM;
			break;
		case KDBUS_ITEM_DST_NAME:
			has_dst = true;
			if (!kd_name_is_valid(item->str, false))
				return -EINVAL;
			if (bcast)
				return -EBADMSG;
			break;
		default:
			/* E.g. a NEGOTIATE item on a message that is really sent. */
			return -EINVAL;
		}
	}

	if (signal != has_bloom)
		return -EBADMSG;
	if (msg->dst_id == KDBUS_DST_ID_NAME && !has_dst)
		return -EDESTADDRREQ;
	if (bcast && has_fds)
		return -ENOTUNIQ;
	return 0;
}

/* Bytes an item puts in the payload area (spec 6.3). */
static kd_u64 item_payload_bytes(const struct kdbus_item *item)
{
	switch (item->type) {
	case KDBUS_ITEM_PAYLOAD_VEC:
		/* Zero vectors keep the stream's alignment modulo 8. */
		return item->vec.address ? item->vec.size : item->vec.size % 8;
	case KDBUS_ITEM_PAYLOAD_MEMFD:
		return item->memfd.size % 8;
	default:
		return 0;
	}
}

void kd_msg_layout(const struct kdbus_msg *msg, kd_u64 meta_size, struct kd_msg_layout *l)
{
	const struct kdbus_item *item;
	kd_u64 payload = 0;

	KD_ITEMS_FOREACH(item, msg->items, msg->size - MSG_HDR_SIZE)
		payload += item_payload_bytes(item);

	l->items_end = KD_ALIGN8(msg->size);
	l->meta_size = meta_size;
	/* Without metadata the receiver sees the sender's size unchanged. */
	l->msg_size = meta_size ? l->items_end + meta_size : msg->size;
	l->payload_off = KD_ALIGN8(l->msg_size);
	l->payload_size = payload;
	l->slice_size = KD_ALIGN8(l->payload_off + payload);
}

int kd_msg_write(void *slice, const struct kdbus_msg *msg, kd_u64 src_id,
		 const void *meta, const struct kd_msg_layout *l, kd_copy_fn copy,
		 void *copy_ctx)
{
	kd_u8 *s = slice;
	struct kdbus_msg *m = slice;
	struct kdbus_item *item;
	kd_u64 pos, n;
	int r;

	memcpy(s, msg, msg->size);
	memset(s + msg->size, 0, l->items_end - msg->size);
	m->size = l->msg_size;
	m->src_id = src_id;

	if (l->meta_size)
		memcpy(s + l->items_end, meta, l->meta_size);
	pos = l->items_end + l->meta_size;
	memset(s + pos, 0, l->payload_off - pos);

	pos = l->payload_off;
	KD_ITEMS_FOREACH(item, m->items, msg->size - MSG_HDR_SIZE) {
		n = item_payload_bytes(item);
		if (item->type == KDBUS_ITEM_PAYLOAD_VEC) {
			if (item->vec.address) {
				r = copy(copy_ctx, s + pos, item->vec.address, n);
				if (r < 0)
					return r;
				/* Offsets are relative to the message start, not the pool. */
				item->vec.offset = pos;
			} else {
				memset(s + pos, 0, n);
				item->vec.offset = ~(kd_u64)0;
			}
			item->type = KDBUS_ITEM_PAYLOAD_OFF;
		} else if (n) {
			memset(s + pos, 0, n);
		}
		pos += n;
	}
	memset(s + pos, 0, l->slice_size - pos);
	return 0;
}

/* Notification item, padded, then the TIMESTAMP item (spec 8.1). */
kd_u64 kd_msg_notify_size(kd_u64 payload_size)
{
	return MSG_HDR_SIZE + KD_ALIGN8(KDBUS_ITEM_HEADER_SIZE + payload_size) +
	       KDBUS_ITEM_HEADER_SIZE + sizeof(struct kdbus_timestamp);
}

void kd_msg_notify_write(void *slice, kd_u64 dst_id, kd_u64 flags, kd_u64 cookie_reply,
			 kd_u64 item_type, const void *payload, kd_u64 payload_size,
			 const struct kdbus_timestamp *ts)
{
	kd_u64 size = kd_msg_notify_size(payload_size);
	struct kdbus_msg *m = slice;
	struct kdbus_item *item;

	/* src_id, payload_type, priority and cookie stay 0: it is the bus speaking. */
	memset(slice, 0, size);
	m->size = size;
	m->flags = flags;
	m->dst_id = dst_id;
	m->cookie_reply = cookie_reply;

	item = m->items;
	item->size = KDBUS_ITEM_HEADER_SIZE + payload_size;
	item->type = item_type;
	if (payload_size)
		memcpy(item->data, payload, payload_size);

	item = KDBUS_ITEM_NEXT(item);
	item->size = KDBUS_ITEM_HEADER_SIZE + sizeof(struct kdbus_timestamp);
	item->type = KDBUS_ITEM_TIMESTAMP;
	if (ts)
		item->timestamp = *ts;
}
