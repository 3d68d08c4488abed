/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Command and item validation (spec 2.1-2.3, 3.2, 5.2). The checks run in
 * the order kdbus runs them, because the errno a caller sees for a buffer
 * with several faults is part of the ABI.
 */
#include "core/compat.h"
#include "core/item.h"
#include "core/limits.h"

/* An accepted item type; single-instance items appear at most once. */
struct item_rule {
	kd_u64 type;
	bool multi;
};

/* Every command also accepts one NEGOTIATE item; it is not listed. */
static const struct item_rule rules_bus_make[] = {
	{ KDBUS_ITEM_MAKE_NAME, false },
	{ KDBUS_ITEM_BLOOM_PARAMETER, false },
	{ KDBUS_ITEM_ATTACH_FLAGS_SEND, false },
};
static const struct item_rule rules_endpoint_make[] = {
	{ KDBUS_ITEM_MAKE_NAME, false },
};
static const struct item_rule rules_policy[] = {
	{ KDBUS_ITEM_NAME, true },
	{ KDBUS_ITEM_POLICY_ACCESS, true },
};
static const struct item_rule rules_hello[] = {
	{ KDBUS_ITEM_NAME, false },
	{ KDBUS_ITEM_CREDS, false },
	{ KDBUS_ITEM_PIDS, false },
	{ KDBUS_ITEM_SECLABEL, false },
	{ KDBUS_ITEM_CONN_DESCRIPTION, false },
	{ KDBUS_ITEM_POLICY_ACCESS, true },
};
/* UPDATE: several NAMEs parse; the command refuses more than one (E2BIG). */
static const struct item_rule rules_update[] = {
	{ KDBUS_ITEM_ATTACH_FLAGS_SEND, false },
	{ KDBUS_ITEM_ATTACH_FLAGS_RECV, false },
	{ KDBUS_ITEM_NAME, true },
	{ KDBUS_ITEM_POLICY_ACCESS, true },
};
static const struct item_rule rules_one_name[] = {
	{ KDBUS_ITEM_NAME, false },
};
static const struct item_rule rules_send[] = {
	{ KDBUS_ITEM_CANCEL_FD, false },
};
static const struct item_rule rules_match_add[] = {
	{ KDBUS_ITEM_BLOOM_MASK, true },
	{ KDBUS_ITEM_NAME, true },
	{ KDBUS_ITEM_ID, true },
	{ KDBUS_ITEM_DST_ID, true },
	{ KDBUS_ITEM_NAME_ADD, true },
	{ KDBUS_ITEM_NAME_REMOVE, true },
	{ KDBUS_ITEM_NAME_CHANGE, true },
	{ KDBUS_ITEM_ID_ADD, true },
	{ KDBUS_ITEM_ID_REMOVE, true },
};
static const struct item_rule rules_msg[] = {
	{ KDBUS_ITEM_PAYLOAD_VEC, true },
	{ KDBUS_ITEM_PAYLOAD_MEMFD, true },
	{ KDBUS_ITEM_FDS, false },
	{ KDBUS_ITEM_BLOOM_FILTER, false },
	{ KDBUS_ITEM_DST_NAME, false },
};

struct cmd_desc {
	unsigned long ioctl;
	kd_u64 fixed_size;
	kd_u64 flags;
	const struct item_rule *rules;
	unsigned int n_rules;
};

#define RULES(r) (r), KD_ARRAY_SIZE(r)

/* Spec 3.1 numbers, 4.1 sizes, 2.3 flag sets, 3.2 item lists. */
static const struct cmd_desc cmds[_KD_CMD_MAX] = {
	[KD_CMD_BUS_MAKE] = { KDBUS_CMD_BUS_MAKE, sizeof(struct kdbus_cmd),
			      KDBUS_MAKE_ACCESS_GROUP | KDBUS_MAKE_ACCESS_WORLD,
			      RULES(rules_bus_make) },
	[KD_CMD_ENDPOINT_MAKE] = { KDBUS_CMD_ENDPOINT_MAKE, sizeof(struct kdbus_cmd),
				   KDBUS_MAKE_ACCESS_GROUP | KDBUS_MAKE_ACCESS_WORLD,
				   RULES(rules_endpoint_make) },
	[KD_CMD_ENDPOINT_UPDATE] = { KDBUS_CMD_ENDPOINT_UPDATE, sizeof(struct kdbus_cmd), 0,
				     RULES(rules_policy) },
	[KD_CMD_HELLO] = { KDBUS_CMD_HELLO, sizeof(struct kdbus_cmd_hello),
			   KDBUS_HELLO_ACCEPT_FD | KDBUS_HELLO_ACTIVATOR |
				   KDBUS_HELLO_POLICY_HOLDER | KDBUS_HELLO_MONITOR,
			   RULES(rules_hello) },
	[KD_CMD_UPDATE] = { KDBUS_CMD_UPDATE, sizeof(struct kdbus_cmd), 0, RULES(rules_update) },
	[KD_CMD_BYEBYE] = { KDBUS_CMD_BYEBYE, sizeof(struct kdbus_cmd), 0, NULL, 0 },
	[KD_CMD_FREE] = { KDBUS_CMD_FREE, sizeof(struct kdbus_cmd_free), 0, NULL, 0 },
	[KD_CMD_CONN_INFO] = { KDBUS_CMD_CONN_INFO, sizeof(struct kdbus_cmd_info), 0,
			       RULES(rules_one_name) },
	[KD_CMD_BUS_CREATOR_INFO] = { KDBUS_CMD_BUS_CREATOR_INFO, sizeof(struct kdbus_cmd_info),
				      0, NULL, 0 },
	[KD_CMD_LIST] = { KDBUS_CMD_LIST, sizeof(struct kdbus_cmd_list),
			  KDBUS_LIST_UNIQUE | KDBUS_LIST_NAMES | KDBUS_LIST_ACTIVATORS |
				  KDBUS_LIST_QUEUED,
			  NULL, 0 },
	[KD_CMD_SEND] = { KDBUS_CMD_SEND, sizeof(struct kdbus_cmd_send), KDBUS_SEND_SYNC_REPLY,
			  RULES(rules_send) },
	[KD_CMD_RECV] = { KDBUS_CMD_RECV, sizeof(struct kdbus_cmd_recv),
			  KDBUS_RECV_PEEK | KDBUS_RECV_DROP | KDBUS_RECV_USE_PRIORITY, NULL, 0 },
	[KD_CMD_NAME_ACQUIRE] = { KDBUS_CMD_NAME_ACQUIRE, sizeof(struct kdbus_cmd),
				  KDBUS_NAME_REPLACE_EXISTING | KDBUS_NAME_ALLOW_REPLACEMENT |
					  KDBUS_NAME_QUEUE,
				  RULES(rules_one_name) },
	[KD_CMD_NAME_RELEASE] = { KDBUS_CMD_NAME_RELEASE, sizeof(struct kdbus_cmd), 0,
				  RULES(rules_one_name) },
	[KD_CMD_MATCH_ADD] = { KDBUS_CMD_MATCH_ADD, sizeof(struct kdbus_cmd_match),
			       KDBUS_MATCH_REPLACE, RULES(rules_match_add) },
	[KD_CMD_MATCH_REMOVE] = { KDBUS_CMD_MATCH_REMOVE, sizeof(struct kdbus_cmd_match), 0,
				  NULL, 0 },
	/* No ioctl of its own: reached through SEND's msg_address. */
	[KD_CMD_MSG] = { 0, sizeof(struct kdbus_msg),
			 KDBUS_MSG_EXPECT_REPLY | KDBUS_MSG_NO_AUTO_START | KDBUS_MSG_SIGNAL,
			 RULES(rules_msg) },
};

int kd_cmd_from_ioctl(unsigned long nr)
{
	unsigned int i;

	for (i = 0; i < _KD_CMD_MAX; i++)
		if (i != KD_CMD_MSG && cmds[i].ioctl == nr)
			return (int)i;
	return -ENOTTY;
}

kd_u64 kd_cmd_fixed_size(enum kd_cmd c)
{
	return (unsigned int)c < _KD_CMD_MAX ? cmds[c].fixed_size : 0;
}

kd_u64 kd_cmd_flags(enum kd_cmd c)
{
	return (unsigned int)c < _KD_CMD_MAX ? cmds[c].flags : 0;
}

static const struct item_rule *cmd_rule(enum kd_cmd c, kd_u64 t)
{
	unsigned int i;

	if ((unsigned int)c >= _KD_CMD_MAX)
		return NULL;
	for (i = 0; i < cmds[c].n_rules; i++)
		if (cmds[c].rules[i].type == t)
			return &cmds[c].rules[i];
	return NULL;
}

bool kd_cmd_item_allowed(enum kd_cmd c, kd_u64 t)
{
	if ((unsigned int)c >= _KD_CMD_MAX)
		return false;
	return t == KDBUS_ITEM_NEGOTIATE || cmd_rule(c, t);
}

static bool sysname_char_ok(char ch, kd_u64 i, kd_u64 len)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	    ch == '_')
		return true;
	/* '-' and '.' only inside the name, never first or last. */
	return (ch == '-' || ch == '.') && i > 0 && i + 1 < len;
}

int kd_sysname_validate(const char *s, kd_u64 len_with_nul)
{
	kd_u64 i, len;

	if (len_with_nul < 2)
		return -EINVAL;
	len = len_with_nul - 1;
	/* Exactly one NUL, the last byte: a padded size puts a second one in. */
	for (i = 0; i < len; i++)
		if (s[i] == '\0')
			return -EINVAL;
	if (s[len] != '\0')
		return -EINVAL;
	if (len > KDBUS_SYSNAME_MAX_LEN)
		return -ENAMETOOLONG;
	for (i = 0; i < len; i++)
		if (!sysname_char_ok(s[i], i, len))
			return -EINVAL;
	return 0;
}

int kd_attach_flags_normalize(kd_u64 in, kd_u64 *out)
{
	if (in == (kd_u64)_KDBUS_ATTACH_ANY) {
		*out = _KDBUS_ATTACH_ALL;
		return 0;
	}
	if (in & ~(kd_u64)_KDBUS_ATTACH_ALL)
		return -EINVAL;
	*out = in;
	return 0;
}

/* Non-empty, first NUL is the last byte (kdbus's string rule). */
static bool str_valid(const char *s, kd_u64 size)
{
	kd_u64 i;

	if (size == 0)
		return false;
	for (i = 0; i + 1 < size; i++)
		if (s[i] == '\0')
			return false;
	return s[size - 1] == '\0';
}

/* Spec 5.2: the payload rules of one item, whatever the command. */
int kd_item_validate(const struct kdbus_item *item)
{
	kd_u64 n = item->size - KDBUS_ITEM_HEADER_SIZE;
	kd_u64 words;

	switch (item->type) {
	case KDBUS_ITEM_NEGOTIATE:
		return n % 8 ? -EINVAL : 0;
	case KDBUS_ITEM_PAYLOAD_VEC:
	case KDBUS_ITEM_PAYLOAD_OFF:
		if (n != sizeof(struct kdbus_vec) || item->vec.size == 0)
			return -EINVAL;
		return 0;
	case KDBUS_ITEM_PAYLOAD_MEMFD:
		if (n != sizeof(struct kdbus_memfd) || item->memfd.size == 0)
			return -EINVAL;
		return item->memfd.fd < 0 ? -EBADF : 0;
	case KDBUS_ITEM_FDS:
		return n % sizeof(int) ? -EINVAL : 0;
	case KDBUS_ITEM_CANCEL_FD:
		return n != sizeof(int) ? -EINVAL : 0;
	case KDBUS_ITEM_BLOOM_PARAMETER:
		return n != sizeof(struct kdbus_bloom_parameter) ? -EINVAL : 0;
	case KDBUS_ITEM_BLOOM_FILTER:
		/* The filter size is checked against the bus at SEND. */
		return n < sizeof(struct kdbus_bloom_filter) ? -EINVAL : 0;
	case KDBUS_ITEM_BLOOM_MASK:
		/* Checked against the bus bloom size by MATCH_ADD (EDOM). */
		return 0;
	case KDBUS_ITEM_MAKE_NAME:
	case KDBUS_ITEM_CONN_DESCRIPTION:
		return kd_sysname_validate(item->str, n);
	case KDBUS_ITEM_ATTACH_FLAGS_SEND:
	case KDBUS_ITEM_ATTACH_FLAGS_RECV:
	case KDBUS_ITEM_ID:
	case KDBUS_ITEM_DST_ID:
		return n != sizeof(kd_u64) ? -EINVAL : 0;
	case KDBUS_ITEM_TIMESTAMP:
		return n != sizeof(struct kdbus_timestamp) ? -EINVAL : 0;
	case KDBUS_ITEM_CREDS:
		return n != sizeof(struct kdbus_creds) ? -EINVAL : 0;
	case KDBUS_ITEM_PIDS:
		/* kdbus did not check; anything else would be read past its end. */
		return n != sizeof(struct kdbus_pids) ? -EINVAL : 0;
	case KDBUS_ITEM_AUXGROUPS:
		return n % sizeof(kd_u32) ? -EINVAL : 0;
	case KDBUS_ITEM_NAME:
	case KDBUS_ITEM_DST_NAME:
	case KDBUS_ITEM_PID_COMM:
	case KDBUS_ITEM_TID_COMM:
	case KDBUS_ITEM_EXE:
	case KDBUS_ITEM_CMDLINE:
	case KDBUS_ITEM_CGROUP:
	case KDBUS_ITEM_SECLABEL:
		return str_valid(item->str, n) ? 0 : -EINVAL;
	case KDBUS_ITEM_CAPS:
		if (n < sizeof(kd_u32))
			return -EINVAL;
		/* last_cap, then four sets of (last_cap + 32) / 32 words. */
		words = ((kd_u64)item->caps.last_cap + 32) / 32;
		return n < sizeof(kd_u32) + 4 * words * sizeof(kd_u32) ? -EINVAL : 0;
	case KDBUS_ITEM_AUDIT:
		return n != sizeof(struct kdbus_audit) ? -EINVAL : 0;
	case KDBUS_ITEM_POLICY_ACCESS:
		return n != sizeof(struct kdbus_policy_access) ? -EINVAL : 0;
	case KDBUS_ITEM_NAME_ADD:
	case KDBUS_ITEM_NAME_REMOVE:
	case KDBUS_ITEM_NAME_CHANGE:
		if (n < sizeof(struct kdbus_notify_name_change))
			return -EINVAL;
		n -= sizeof(struct kdbus_notify_name_change);
		/* A rule of exactly 48 bytes has no name; a longer one a string. */
		if (n > 0 && !str_valid(item->name_change.name, n))
			return -EINVAL;
		return 0;
	case KDBUS_ITEM_ID_ADD:
	case KDBUS_ITEM_ID_REMOVE:
		return n != sizeof(struct kdbus_notify_id_change) ? -EINVAL : 0;
	case KDBUS_ITEM_REPLY_TIMEOUT:
	case KDBUS_ITEM_REPLY_DEAD:
		return n != 0 ? -EINVAL : 0;
	default:
		/* Unknown types never get here: no command accepts them. */
		return 0;
	}
}

/* Where a single-instance item of type t is recorded, or NULL. */
static const struct kdbus_item **items_slot(struct kd_items *o, kd_u64 t)
{
	switch (t) {
	case KDBUS_ITEM_NEGOTIATE:
		return &o->negotiate;
	case KDBUS_ITEM_MAKE_NAME:
		return &o->make_name;
	case KDBUS_ITEM_BLOOM_PARAMETER:
		return &o->bloom_parameter;
	case KDBUS_ITEM_ATTACH_FLAGS_SEND:
		return &o->attach_send;
	case KDBUS_ITEM_ATTACH_FLAGS_RECV:
		return &o->attach_recv;
	case KDBUS_ITEM_NAME:
		return &o->name;
	case KDBUS_ITEM_CREDS:
		return &o->creds;
	case KDBUS_ITEM_PIDS:
		return &o->pids;
	case KDBUS_ITEM_SECLABEL:
		return &o->seclabel;
	case KDBUS_ITEM_CONN_DESCRIPTION:
		return &o->description;
	case KDBUS_ITEM_CANCEL_FD:
		return &o->cancel_fd;
	case KDBUS_ITEM_FDS:
		return &o->fds;
	case KDBUS_ITEM_BLOOM_FILTER:
		return &o->bloom_filter;
	case KDBUS_ITEM_DST_NAME:
		return &o->dst_name;
	default:
		return NULL;
	}
}

/* Saturating add: an overflowing sum stays ~0 so kd_msg_check sees it. */
static kd_u64 add_sat(kd_u64 a, kd_u64 b)
{
	return a + b < a ? ~(kd_u64)0 : a + b;
}

/* Record one accepted, valid item; -EINVAL for a second single instance. */
static int items_record(struct kd_items *o, const struct kdbus_item *item, bool multi)
{
	const struct kdbus_item **slot = items_slot(o, item->type);

	if (slot) {
		if (*slot && !multi)
			return -EINVAL;
		if (!*slot)
			*slot = item;
	}

	o->n_items++;
	switch (item->type) {
	case KDBUS_ITEM_NAME:
		o->n_names++;
		break;
	case KDBUS_ITEM_POLICY_ACCESS:
		o->n_policy++;
		break;
	case KDBUS_ITEM_PAYLOAD_VEC:
		o->n_vecs++;
		o->vec_bytes = add_sat(o->vec_bytes, item->vec.size);
		if (item->vec.address)
			o->vec_data_bytes = add_sat(o->vec_data_bytes, item->vec.size);
		break;
	case KDBUS_ITEM_PAYLOAD_MEMFD:
		o->n_memfds++;
		break;
	case KDBUS_ITEM_FDS:
		o->n_fds = (unsigned int)((item->size - KDBUS_ITEM_HEADER_SIZE) / sizeof(int));
		break;
	default:
		break;
	}
	return 0;
}

/* Spec 2.2: walk, whitelist, payload rules and duplicates, item by item. */
static int items_walk(enum kd_cmd c, const kd_u8 *first, kd_u64 n, struct kd_items *o)
{
	const struct item_rule *rule;
	const struct kdbus_item *item;
	kd_u64 pos = 0;
	int r;

	while (pos < n) {
		/* Fewer than 16 bytes left can hold no valid item. */
		if (n - pos < KDBUS_ITEM_HEADER_SIZE)
			return -EINVAL;
		item = (const struct kdbus_item *)(const void *)(first + pos);
		if (item->size < KDBUS_ITEM_HEADER_SIZE || item->size > n - pos)
			return -EINVAL;

		rule = cmd_rule(c, item->type);
		if (!rule && item->type != KDBUS_ITEM_NEGOTIATE)
			return -EINVAL;
		r = kd_item_validate(item);
		if (r < 0)
			return r;
		r = items_record(o, item, rule && rule->multi);
		if (r < 0)
			return r;

		pos += KD_ALIGN8(item->size);
	}

	/* The last item may omit its padding, nothing else may be off. */
	return pos == KD_ALIGN8(n) ? 0 : -EINVAL;
}

/* Spec 2.3: zero the entries of a NEGOTIATE item this command does not accept. */
static void items_negotiate(enum kd_cmd c, kd_u8 *buf, const struct kdbus_item *neg)
{
	kd_u8 *p = buf + ((const kd_u8 *)neg - buf) + KDBUS_ITEM_HEADER_SIZE;
	kd_u64 i, n = (neg->size - KDBUS_ITEM_HEADER_SIZE) / 8;
	kd_u64 t;

	for (i = 0; i < n; i++) {
		memcpy(&t, p + i * 8, sizeof(t));
		if (!kd_cmd_item_allowed(c, t)) {
			t = 0;
			memcpy(p + i * 8, &t, sizeof(t));
		}
	}
}

int kd_cmd_validate(enum kd_cmd c, void *buf, kd_u64 buf_size, bool send_negotiate,
		    struct kd_items *out)
{
	/* size and flags are the first two u64 of every command and of kdbus_msg. */
	kd_u8 *hdr = buf;
	kd_u64 fixed, size, flags;
	int r;

	memset(out, 0, sizeof(*out));
	if ((unsigned int)c >= _KD_CMD_MAX)
		return -EINVAL;
	/* The ABI requires 8-aligned commands; the item walk relies on it. */
	if ((uintptr_t)buf & 7)
		return -EFAULT;
	if (buf_size < sizeof(kd_u64))
		return -EINVAL;

	fixed = cmds[c].fixed_size;
	memcpy(&size, hdr, sizeof(size));
	if (size < fixed)
		return -EINVAL;
	if (size > KDBUS_CMD_MAX_SIZE)
		return -EMSGSIZE;
	if (size != buf_size)
		return -EINVAL;

	memcpy(&flags, hdr + 8, sizeof(flags));
	if (flags & ~(cmds[c].flags | KDBUS_FLAG_NEGOTIATE))
		return -EINVAL;

	r = items_walk(c, (const kd_u8 *)buf + fixed, size - fixed, out);
	if (r < 0)
		return r;

	if (out->negotiate)
		items_negotiate(c, buf, out->negotiate);

	if (c == KD_CMD_MSG) {
		/* Message flags are negotiated only inside a negotiating SEND. */
		if (flags & KDBUS_FLAG_NEGOTIATE) {
			if (!send_negotiate)
				return -EINVAL;
			memcpy(hdr + 8, &cmds[c].flags, sizeof(kd_u64));
		}
		return 0;
	}

	if (flags & KDBUS_FLAG_NEGOTIATE) {
		memcpy(hdr + 8, &cmds[c].flags, sizeof(kd_u64));
		return 1;
	}
	return 0;
}
