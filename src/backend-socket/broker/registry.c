/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, dup3, asprintf, memfd and SCM ancillary data */
#endif
/*
 * The bus databases as the broker sees them: well-known names, match
 * rules, policy, monitors and bus notifications (spec 7.3, 8, 9). send.c
 * and conn.c reach them only through the kb_reg_/kb_match_/kb_policy_/
 * kb_monitors_ calls; endpoints and activation live in endpoint.c and
 * activator.c. The decisions themselves are src/core's.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "backend-socket/broker/reg.h"
#include "core/msg.h"
#include "core/pool.h"
#include "os/os.h"

/* ---- the bus databases ---- */

static void name_event(void *ctx, const struct kd_name_event *ev);

struct kb_reg *kb_reg_get(struct kb_bus *bus)
{
	struct kb_reg *reg = bus->reg;

	if (reg)
		return reg;
	reg = calloc(1, sizeof(*reg));
	if (!reg)
		return NULL;
	kb_list_init(&reg->endpoints);
	reg->names = kd_name_registry_new(name_event, bus);
	reg->policy = kd_policy_db_new();
	if (!reg->names || !reg->policy) {
		kd_name_registry_free(reg->names);
		kd_policy_db_free(reg->policy);
		free(reg);
		return NULL;
	}
	bus->reg = reg;
	return reg;
}

void kb_reg_bus_destroy(struct kb_bus *bus)
{
	struct kb_reg *reg = bus->reg;

	if (!reg)
		return;
	kb_ep_free_all(reg);
	kd_name_registry_free(reg->names);
	kd_policy_db_free(reg->policy);
	free(reg->activators);
	free(reg);
	bus->reg = NULL;
}

/* ---- credentials and the SEE/TALK/OWN checks of spec 9.4 ---- */

void kb_reg_creds(const struct kb_conn *c, struct kd_policy_creds *cr)
{
	cr->euid = c->uid;
	cr->egid = c->gid;
	if (c->meta.mask & KDBUS_ATTACH_AUXGROUPS) {
		cr->groups = c->meta.auxgroups;
		cr->n_groups = c->meta.n_auxgroups;
	} else {
		cr->groups = NULL;
		cr->n_groups = 0;
	}
}

bool kb_reg_is_owner(const struct kb_conn *c)
{
	struct kd_meta m = { 0 };
	uint64_t words;
	bool cap = false;

	if (c->ep)
		return false; /* nobody is Owner on a custom endpoint */
	if (c->uid == c->bus->creator_uid)
		return true;
	/* CAP_IPC_OWNER (15) in the effective set: last_cap, inh[w], prm[w], eff[w], bnd[w] */
	if (kd_os_proc_meta(c->pid, 0, KDBUS_ATTACH_CAPS, &m) == 0 &&
	    (m.mask & KDBUS_ATTACH_CAPS) && m.caps_size >= 4) {
		words = (m.caps_size - 4) / 16;
		if (words > 0)
			cap = m.caps[1 + 2 * words] & (1u << 15);
	}
	kd_meta_clear(&m);
	return cap;
}

bool kb_reg_see_name(const struct kb_conn *c, const char *name)
{
	struct kd_policy_creds cr;

	if (!c->ep)
		return true;
	kb_reg_creds(c, &cr);
	return kd_policy_check(c->ep->policy, &cr, name, KDBUS_POLICY_SEE);
}

bool kb_reg_see_conn(const struct kb_conn *c, const struct kb_conn *d)
{
	struct kd_policy_creds cr;

	if (!c->ep)
		return true;
	kb_reg_creds(c, &cr);
	return kd_policy_check_owner(c->ep->policy, &cr, &d->names, KDBUS_POLICY_SEE);
}

int kb_policy_talk(struct kb_conn *from, struct kb_conn *to)
{
	struct kb_reg *reg = kb_reg_get(from->bus);
	struct kd_policy_creds cr;

	kb_reg_creds(from, &cr);
	/* A custom endpoint's own database comes first; a nameless peer is unreachable there. */
	if (from->ep && !kd_policy_check_owner(from->ep->policy, &cr, &to->names, KDBUS_POLICY_TALK))
		return -EPERM;
	if (from->owner || from->uid == to->uid)
		return 0;
	if (reg && kd_policy_check_owner(reg->policy, &cr, &to->names, KDBUS_POLICY_TALK))
		return 0;
	return -EPERM;
}

static bool may_own(struct kb_conn *c, struct kb_reg *reg, const char *name)
{
	struct kd_policy_creds cr;

	kb_reg_creds(c, &cr);
	if (c->ep && !kd_policy_check(c->ep->policy, &cr, name, KDBUS_POLICY_OWN))
		return false;
	return c->owner || kd_policy_check(reg->policy, &cr, name, KDBUS_POLICY_OWN);
}

/* ---- name resolution and metadata ---- */

int kb_reg_resolve(struct kb_bus *bus, const char *name, const struct kdbus_msg *msg,
		   struct kb_conn **out, uint64_t *name_id)
{
	struct kb_reg *reg = kb_reg_get(bus);
	struct kd_name_info info;
	struct kb_conn *dst;

	if (!reg)
		return -ENOMEM;
	if (kd_name_lookup(reg->names, name, &info) < 0)
		return -ESRCH;
	dst = kb_conn_of_owner(info.owner);
	if (msg->dst_id != KDBUS_DST_ID_NAME && msg->dst_id != dst->id)
		return -EREMCHG;
	if ((msg->flags & KDBUS_MSG_NO_AUTO_START) && (info.flags & KDBUS_NAME_ACTIVATOR))
		return -EADDRNOTAVAIL;
	*out = dst;
	*name_id = info.name_id;
	return 0;
}

uint64_t kb_reg_quota_key(const struct kb_conn *c)
{
	return c->ep ? c->ep->quota_key : (uint64_t)c->uid + 1;
}

const struct kd_meta_name *kb_reg_meta_names(struct kb_conn *c, unsigned int *n)
{
	/* Single-threaded broker: one table, valid until the next call. */
	static struct kd_meta_name tab[KDBUS_CONN_MAX_NAMES];
	const struct kd_name_record *rec;
	unsigned int i = 0;

	KD_NAME_OWNER_FOREACH(rec, &c->names) {
		if (!(kd_name_record_flags(rec) & KDBUS_NAME_PRIMARY) || i >= KD_ARRAY_SIZE(tab))
			continue;
		tab[i].name = kd_name_record_name(rec);
		tab[i].flags = kd_name_record_flags(rec);
		i++;
	}
	*n = i;
	return i ? tab : NULL;
}

int kb_reg_info_target(struct kb_conn *c, uint64_t id, const char *name, struct kb_conn **out)
{
	struct kb_reg *reg = kb_reg_get(c->bus);
	struct kd_name_info info;
	struct kb_conn *t;

	if (!reg)
		return -ENOMEM;
	if (name) {
		/* Spec 3.2 CONN_INFO: no owner, not visible, or another id: all ESRCH. */
		if (kd_name_lookup(reg->names, name, &info) < 0 || !kb_reg_see_name(c, name))
			return -ESRCH;
		t = kb_conn_of_owner(info.owner);
		if (id != 0 && id != t->id)
			return -ESRCH;
		*out = t;
		return 0;
	}
	if (id == 0)
		return -EINVAL;
	t = kb_bus_find(c->bus, id);
	if (!t || !kb_reg_see_conn(c, t))
		return -ENXIO;
	*out = t;
	return 0;
}

/* ---- matches ---- */

static bool src_owns_name(void *ctx, const char *name)
{
	struct kb_conn *src = ctx;

	return src->bus->reg && kd_name_is_primary(src->bus->reg->names, &src->names, name);
}

bool kb_match_msg(struct kb_conn *dst, struct kb_conn *src, const struct kdbus_msg *msg,
		  const struct kd_items *it)
{
	struct kd_match_msg m = {
		.src_id = src->id,
		.dst_id = msg->dst_id,
		.bloom = it->bloom_filter ? &it->bloom_filter->bloom_filter : NULL,
		.src_owns_name = src_owns_name,
		.ctx = src,
	};

	return dst->match && kd_match_test_msg(dst->match, &m);
}

/* ---- kernel messages ---- */

/* Queue a copy of a kernel message under the kernel user (spec 8.3). */
static int queue_kernel(struct kb_conn *c, const void *slice, uint64_t size)
{
	struct kb_entry *e;
	uint64_t off;
	int r;

	if (c->state != KB_CONN_CONNECTED || !c->pool)
		return -ECONNRESET;
	kb_conn_sync(c);
	r = kb_conn_quota(c, 0, size, 0);
	if (r < 0)
		return r;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	r = kb_conn_pool_alloc(c, size, true, &off);
	if (r < 0) {
		free(e);
		return r;
	}
	memcpy(c->pool_map + off, slice, size);
	e->kind = KB_ENTRY_MSG;
	e->off = off;
	e->size = size;
	e->quota_key = 0;
	kb_conn_quota_charge(c, 0, size, 0, +1);
	return kb_conn_enqueue(c, e);
}

void kb_monitors_notify(struct kb_bus *bus, const void *slice, uint64_t size)
{
	struct kb_list *p, *t;

	kb_list_for_each_safe(p, t, &bus->conns) {
		struct kb_conn *m = kb_list_entry(p, struct kb_conn, link);

		if (m->state != KB_CONN_CONNECTED || !(m->hello_flags & KDBUS_HELLO_MONITOR))
			continue;
		if (queue_kernel(m, slice, size) < 0)
			kb_conn_lost(m);
	}
}

void kb_monitors_eavesdrop(struct kb_tx *tx)
{
	struct kb_bus *bus = kb_tx_src(tx)->bus;
	struct kb_list *p, *t;

	kb_list_for_each_safe(p, t, &bus->conns) {
		struct kb_conn *m = kb_list_entry(p, struct kb_conn, link);

		if (m->state != KB_CONN_CONNECTED || !(m->hello_flags & KDBUS_HELLO_MONITOR))
			continue;
		if (kb_tx_deliver(tx, m) < 0)
			kb_conn_lost(m);
	}
}

/*
 * One bus notification (spec 8.1/8.2): monitors first, then every ordinary
 * connection whose rules match (and, for names, that may SEE the name).
 * Failures only count as lost messages.
 */
static void notify_broadcast(struct kb_bus *bus, uint64_t type, const void *payload,
			     uint64_t payload_size, const struct kd_match_notify *n,
			     const char *see_name)
{
	uint64_t buf[(KDBUS_NAME_MAX_LEN + 512) / 8];
	struct kdbus_timestamp ts = {
		.seqnum = ++bus->seqnum,
		.monotonic_ns = kd_os_now_mono(),
		.realtime_ns = kd_os_now_real(),
	};
	uint64_t size = kd_msg_notify_size(payload_size);
	struct kb_list *p, *t;

	if (size > sizeof(buf))
		return;
	memset(buf, 0, size);
	kd_msg_notify_write(buf, KDBUS_DST_ID_BROADCAST, KDBUS_MSG_SIGNAL, 0, type, payload,
			    payload_size, &ts);
	kb_monitors_notify(bus, buf, size);
	kb_list_for_each_safe(p, t, &bus->conns) {
		struct kb_conn *c = kb_list_entry(p, struct kb_conn, link);

		if (!kb_conn_is_ordinary(c) || !c->match || !kd_match_test_notify(c->match, n))
			continue;
		if (see_name && !kb_reg_see_name(c, see_name))
			continue;
		if (queue_kernel(c, buf, size) < 0)
			kb_conn_lost(c);
	}
}

void kb_notify_id(struct kb_bus *bus, uint64_t type, uint64_t id, uint64_t flags)
{
	struct kdbus_notify_id_change ch = { .id = id, .flags = flags };
	struct kd_match_notify n = { .type = type, .id = id };

	notify_broadcast(bus, type, &ch, sizeof(ch), &n, NULL);
}

static void name_event(void *ctx, const struct kd_name_event *ev)
{
	struct kb_bus *bus = ctx;
	uint64_t buf[(sizeof(struct kdbus_notify_name_change) + KDBUS_NAME_MAX_LEN + 8) / 8];
	struct kdbus_notify_name_change *nc = (void *)buf;
	uint64_t len = strlen(ev->name) + 1;
	struct kd_match_notify n = {
		.type = ev->type,
		.old_id = ev->change.old_id.id,
		.new_id = ev->change.new_id.id,
		.name = ev->name,
	};

	if (ev->type == KD_NAME_EVENT_MOVE) {
		kb_act_move(kb_conn_of_owner(ev->old_owner), kb_conn_of_owner(ev->new_owner),
			    ev->name_id);
		return;
	}
	if (sizeof(*nc) + len > sizeof(buf))
		return;
	*nc = ev->change;
	memcpy(nc->name, ev->name, len);
	notify_broadcast(bus, ev->type, nc, sizeof(*nc) + len, &n, ev->name);
}

/* ---- HELLO, UPDATE and disconnect of the special kinds ---- */

int kb_reg_hello_check(struct kb_conn *c, uint64_t kind, const struct kd_items *it)
{
	/* Spec 3.2 HELLO order: the name (wildcards pass here), then the endpoint kind. */
	if (it->name && !kd_name_is_valid(it->name->str, true))
		return -EINVAL;
	if ((kind & KDBUS_HELLO_MONITOR) && c->ep)
		return -EOPNOTSUPP;
	return 0;
}

int kb_reg_hello(struct kb_conn *c, struct kdbus_cmd_hello *cmd, const struct kd_items *it)
{
	struct kb_reg *reg = kb_reg_get(c->bus);
	bool act = cmd->flags & KDBUS_HELLO_ACTIVATOR;
	bool ph = cmd->flags & KDBUS_HELLO_POLICY_HOLDER;
	int r;

	if (!reg)
		return -ENOMEM;
	kd_name_owner_init(&c->names, c->id);
	if (act) {
		struct kd_name_info info;

		if (kd_name_is_wildcard(it->name->str))
			return -EINVAL;
		if (kd_name_lookup(reg->names, it->name->str, &info) == 0 && info.activator)
			return -EEXIST;
	}
	if (act || ph) {
		/* One NAME and its access rules; taken from the whole HELLO item list. */
		r = kd_policy_set(reg->policy, c, cmd->items,
				  cmd->size - offsetof(struct kdbus_cmd_hello, items), 1, ph, NULL,
				  NULL);
		if (r < 0)
			return r;
		if (act) {
			r = kb_act_add(reg, c);
			if (r < 0) {
				kd_policy_remove_owner(reg->policy, c);
				return r;
			}
		}
		return 0;
	}
	if (!(cmd->flags & KDBUS_HELLO_MONITOR)) {
		c->match = kd_match_db_new(c->bus->bloom_size);
		if (!c->match)
			return -ENOMEM;
	}
	return 0;
}

void kb_reg_hello_undo(struct kb_conn *c)
{
	struct kb_reg *reg = c->bus->reg;

	if (reg) {
		kd_policy_remove_owner(reg->policy, c);
		kb_act_remove(reg, c);
	}
	c->match = kd_match_db_free(c->match);
}

void kb_reg_connected(struct kb_conn *c, const struct kd_items *it)
{
	struct kb_reg *reg = c->bus->reg;

	/* After ID_ADD (spec 8.2): the activator takes its name, maybe with NAME_ADD. */
	if (reg && (c->hello_flags & KDBUS_HELLO_ACTIVATOR) && it->name)
		(void)kd_name_activator_add(reg->names, &c->names, it->name->str, NULL);
}

int kb_reg_update(struct kb_conn *c, struct kdbus_cmd *cmd, const struct kd_items *it)
{
	struct kb_reg *reg = kb_reg_get(c->bus);

	if (!(c->hello_flags & KDBUS_HELLO_POLICY_HOLDER) || (!it->n_names && !it->n_policy))
		return 0;
	if (!reg)
		return -ENOMEM;
	/* Atomic replacement of this holder's entries; wildcards allowed (spec 3.2 UPDATE). */
	return kd_policy_set(reg->policy, c, cmd->items, cmd->size - offsetof(struct kdbus_cmd, items),
			     1, true, NULL, NULL);
}

void kb_reg_disconnect(struct kb_conn *c)
{
	struct kb_reg *reg = c->bus->reg;

	if (!reg)
		return;
	kb_ep_owner_gone(c);
	/* Spec 1.4.5: policy first, then the names (hand-overs move our messages away). */
	kd_policy_remove_owner(reg->policy, c);
	kb_act_remove(reg, c);
	if (c->id)
		kd_name_release_all(reg->names, &c->names);
	c->match = kd_match_db_free(c->match);
}

/* ---- commands ---- */

/* Respond with the command copy even on failure: return_flags travel back (spec 2.1). */
static int respond_cmd(struct kb_conn *c, uint64_t serial, int err, void *cmd, uint64_t size)
{
	int r = kb_conn_respond(c, serial, err, cmd, size, ~0ull, NULL, 0, 0);

	return r < 0 ? r : 1;
}

static int name_acquire(struct kb_conn *c, struct kb_reg *reg, uint64_t serial,
			struct kdbus_cmd *cmd, const struct kd_items *it)
{
	uint64_t rf = 0;
	int r;

	cmd->return_flags = 0;
	if (!it->name || !kd_name_is_valid(it->name->str, false))
		return -EINVAL;
	/* OWN before anything else, so existence is not revealed (spec 3.2). */
	if (!may_own(c, reg, it->name->str))
		return -EPERM;
	r = kd_name_acquire(reg->names, &c->names, it->name->str, cmd->flags, &rf);
	cmd->return_flags = rf;
	return respond_cmd(c, serial, r, cmd, cmd->size);
}

static int name_release(struct kb_conn *c, struct kb_reg *reg, struct kdbus_cmd *cmd,
			const struct kd_items *it)
{
	cmd->return_flags = 0;
	if (!it->name)
		return -EINVAL;
	return kd_name_release(reg->names, &c->names, it->name->str);
}

static int match_add(struct kb_conn *c, struct kdbus_cmd_match *cmd)
{
	cmd->return_flags = 0;
	if (!c->match)
		return -EOPNOTSUPP;
	return kd_match_add(c->match, cmd->cookie, cmd->flags, cmd->items,
			    cmd->size - offsetof(struct kdbus_cmd_match, items));
}

static int match_remove(struct kb_conn *c, struct kdbus_cmd_match *cmd)
{
	cmd->return_flags = 0;
	if (!c->match)
		return -EOPNOTSUPP;
	return kd_match_remove(c->match, cmd->cookie);
}

int kb_conn_bus_cmd(struct kb_conn *c, uint64_t serial, enum kd_cmd kind, uint8_t *body,
		    const struct kd_items *it)
{
	struct kb_reg *reg = kb_reg_get(c->bus);

	if (!reg)
		return -ENOMEM;
	switch (kind) {
	case KD_CMD_ENDPOINT_MAKE:
		return kb_ep_make(c, (struct kdbus_cmd *)body, it);
	case KD_CMD_ENDPOINT_UPDATE:
		return kb_ep_update(c, (struct kdbus_cmd *)body, it);
	case KD_CMD_NAME_ACQUIRE:
		return name_acquire(c, reg, serial, (struct kdbus_cmd *)body, it);
	case KD_CMD_NAME_RELEASE:
		return name_release(c, reg, (struct kdbus_cmd *)body, it);
	case KD_CMD_MATCH_ADD:
		return match_add(c, (struct kdbus_cmd_match *)body);
	case KD_CMD_MATCH_REMOVE:
		return match_remove(c, (struct kdbus_cmd_match *)body);
	default:
		return -ENOTTY;
	}
}

/* ---- LIST (spec 3.2) ---- */

static uint64_t list_record_size(const char *name)
{
	return sizeof(struct kdbus_info) +
	       (name ? KD_ALIGN8(16 + sizeof(struct kdbus_name) + strlen(name) + 1) : 0);
}

/* Walk the records LIST emits; write them at dst unless dst is NULL. Returns the size. */
static uint64_t list_walk(struct kb_conn *c, uint64_t flags, uint8_t *dst)
{
	uint64_t total = 0, sz;
	struct kb_list *p, *t;

	kb_list_for_each_safe(p, t, &c->bus->conns) {
		struct kb_conn *o = kb_list_entry(p, struct kb_conn, link);
		const struct kd_name_record *rec;
		bool any = false;

		if (o->state != KB_CONN_CONNECTED || (o->hello_flags & KDBUS_HELLO_MONITOR))
			continue;
		KD_NAME_OWNER_FOREACH(rec, &o->names) {
			const char *name = kd_name_record_name(rec);
			uint64_t rf = kd_name_record_flags(rec);

			if (!kd_name_list_wants(rf, flags) || !kb_reg_see_name(c, name))
				continue;
			any = true;
			sz = list_record_size(name);
			if (dst) {
				struct kdbus_info *info = (void *)(dst + total);
				struct kdbus_item *item = info->items;
				uint64_t len = strlen(name) + 1;

				info->size = sz;
				info->id = o->id;
				info->flags = o->hello_flags;
				item->size = 16 + sizeof(struct kdbus_name) + len;
				item->type = KDBUS_ITEM_OWNED_NAME;
				item->name.flags = rf;
				memcpy(item->name.name, name, len);
			}
			total += sz;
		}
		if (!any && (flags & KDBUS_LIST_UNIQUE)) {
			sz = list_record_size(NULL);
			if (dst) {
				struct kdbus_info *info = (void *)(dst + total);

				info->size = sz;
				info->id = o->id;
				info->flags = o->hello_flags;
			}
			total += sz;
		}
	}
	return total;
}

int kb_conn_list(struct kb_conn *c, uint64_t serial, struct kdbus_cmd_list *cmd)
{
	uint64_t off = c->pool_size, size;
	int r;

	if (!kb_reg_get(c->bus))
		return -ENOMEM;
	size = list_walk(c, cmd->flags, NULL);
	if (size) {
		r = kb_conn_pool_alloc(c, size, false, &off);
		if (r < 0)
			return r;
		memset(c->pool_map + off, 0, size);
		list_walk(c, cmd->flags, c->pool_map + off);
		(void)kd_pool_publish(c->pool, off);
		kd_pool_release_kernel(c->pool, off);
	}
	cmd->return_flags = 0;
	cmd->offset = off;
	cmd->list_size = size;
	r = kb_conn_respond(c, serial, 0, cmd, cmd->size, size ? off : ~0ull, NULL, 0, 0);
	return r < 0 ? r : 1;
}
