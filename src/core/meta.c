/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Metadata items (spec 9.7). One walker both sizes and writes the items, so
 * the two can never disagree about order, presence or padding.
 */
#include "core/meta.h"

struct meta_out {
	kd_u8 *dst; /* NULL: only measure */
	kd_u64 pos; /* end of the last item, unpadded */
};

/* Start a new item at the next 8-byte boundary; returns its payload. */
static void *meta_item(struct meta_out *o, kd_u64 type, kd_u64 payload)
{
	struct kdbus_item *it;
	kd_u64 start = KD_ALIGN8(o->pos);

	o->pos = start + KDBUS_ITEM_HEADER_SIZE + payload;
	if (!o->dst)
		return NULL;
	it = (struct kdbus_item *)(void *)(o->dst + start);
	it->size = KDBUS_ITEM_HEADER_SIZE + payload;
	it->type = type;
	return it->data;
}

static void meta_bytes(struct meta_out *o, kd_u64 type, const void *src, kd_u64 len)
{
	void *p = meta_item(o, type, len);

	if (p && len)
		memcpy(p, src, len);
}

static void meta_string(struct meta_out *o, kd_u64 type, const char *s)
{
	meta_bytes(o, type, s, strlen(s) + 1);
}

/* Whether process item bit is wanted and was collected. */
static bool meta_has(const struct kd_meta *m, kd_u64 mask, kd_u64 bit)
{
	return m && (mask & m->mask & bit);
}

static void meta_walk(struct meta_out *o, const struct kd_meta *m, kd_u64 mask,
		      const struct kd_meta_name *names, unsigned int n_names,
		      const struct kdbus_timestamp *ts)
{
	unsigned int i;
	kd_u64 *groups;

	if (meta_has(m, mask, KDBUS_ATTACH_CREDS))
		meta_bytes(o, KDBUS_ITEM_CREDS, &m->creds, sizeof(m->creds));
	if (meta_has(m, mask, KDBUS_ATTACH_PIDS))
		meta_bytes(o, KDBUS_ITEM_PIDS, &m->pids, sizeof(m->pids));
	if (meta_has(m, mask, KDBUS_ATTACH_AUXGROUPS)) {
		groups = meta_item(o, KDBUS_ITEM_AUXGROUPS, (kd_u64)m->n_auxgroups * 8);
		if (groups && m->n_auxgroups)
			memcpy(groups, m->auxgroups, (kd_u64)m->n_auxgroups * 8);
	}
	if (meta_has(m, mask, KDBUS_ATTACH_TID_COMM) && m->tid_comm)
		meta_string(o, KDBUS_ITEM_TID_COMM, m->tid_comm);
	if (meta_has(m, mask, KDBUS_ATTACH_PID_COMM) && m->pid_comm)
		meta_string(o, KDBUS_ITEM_PID_COMM, m->pid_comm);
	if (meta_has(m, mask, KDBUS_ATTACH_EXE) && m->exe)
		meta_string(o, KDBUS_ITEM_EXE, m->exe);
	if (meta_has(m, mask, KDBUS_ATTACH_CMDLINE) && m->cmdline && m->cmdline_size)
		meta_bytes(o, KDBUS_ITEM_CMDLINE, m->cmdline, m->cmdline_size);
	if (meta_has(m, mask, KDBUS_ATTACH_CGROUP) && m->cgroup)
		meta_string(o, KDBUS_ITEM_CGROUP, m->cgroup);
	if (meta_has(m, mask, KDBUS_ATTACH_CAPS) && m->caps && m->caps_size)
		meta_bytes(o, KDBUS_ITEM_CAPS, m->caps, m->caps_size);
	if (meta_has(m, mask, KDBUS_ATTACH_SECLABEL) && m->seclabel)
		meta_string(o, KDBUS_ITEM_SECLABEL, m->seclabel);
	if (meta_has(m, mask, KDBUS_ATTACH_AUDIT))
		meta_bytes(o, KDBUS_ITEM_AUDIT, &m->audit, sizeof(m->audit));

	if ((mask & KDBUS_ATTACH_NAMES) && names) {
		for (i = 0; i < n_names; i++) {
			kd_u64 len = strlen(names[i].name) + 1;
			struct kdbus_name *n = meta_item(o, KDBUS_ITEM_OWNED_NAME,
							 sizeof(*n) + len);

			if (n) {
				n->flags = names[i].flags;
				memcpy(n->name, names[i].name, len);
			}
		}
	}

	if (meta_has(m, mask, KDBUS_ATTACH_CONN_DESCRIPTION) && m->description)
		meta_string(o, KDBUS_ITEM_CONN_DESCRIPTION, m->description);
	if ((mask & KDBUS_ATTACH_TIMESTAMP) && ts)
		meta_bytes(o, KDBUS_ITEM_TIMESTAMP, ts, sizeof(*ts));
}

kd_u64 kd_meta_size(const struct kd_meta *m, kd_u64 mask, const struct kd_meta_name *names,
		    unsigned int n_names, const struct kdbus_timestamp *ts)
{
	struct meta_out o = { NULL, 0 };

	meta_walk(&o, m, mask, names, n_names, ts);
	return o.pos;
}

void kd_meta_write(void *dst, const struct kd_meta *m, kd_u64 mask,
		   const struct kd_meta_name *names, unsigned int n_names,
		   const struct kdbus_timestamp *ts)
{
	struct meta_out o = { dst, 0 };

	/* Padding between items and after the last must read as zeros. */
	memset(dst, 0, KD_ALIGN8(kd_meta_size(m, mask, names, n_names, ts)));
	meta_walk(&o, m, mask, names, n_names, ts);
}

void kd_meta_clear(struct kd_meta *m)
{
	if (!m)
		return;
	kd_free(m->auxgroups);
	kd_free(m->tid_comm);
	kd_free(m->pid_comm);
	kd_free(m->exe);
	kd_free(m->cmdline);
	kd_free(m->caps);
	kd_free(m->cgroup);
	kd_free(m->seclabel);
	kd_free(m->description);
	memset(m, 0, sizeof(*m));
}
