/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, dup3, asprintf, memfd and SCM ancillary data */
#endif
/*
 * The bus databases as the broker sees them: well-known names, match
 * rules, policy, monitors and custom endpoints. send.c and conn.c reach
 * them only through the kb_reg_/kb_match_/kb_policy_/kb_monitors_ calls.
 */
#include <errno.h>
#include <string.h>

#include "backend-socket/broker/broker.h"

int kb_reg_resolve(struct kb_bus *bus, const char *name, const struct kdbus_msg *msg,
		   struct kb_conn **out, uint64_t *name_id)
{
	/* No name has an owner yet: this bus has no registry commands enabled. */
	return -ESRCH;
}

int kb_policy_talk(struct kb_conn *from, struct kb_conn *to)
{
	/* Spec 9.4 with an empty bus policy: Owner, or the same uid. */
	if (from->owner || from->uid == to->uid)
		return 0;
	return -EPERM;
}

bool kb_match_msg(struct kb_conn *dst, struct kb_conn *src, const struct kdbus_msg *msg,
		  const struct kd_items *it)
{
	return false;
}

void kb_monitors_eavesdrop(struct kb_tx *tx)
{
}

void kb_monitors_notify(struct kb_bus *bus, const void *slice, uint64_t size)
{
}

void kb_notify_id(struct kb_bus *bus, uint64_t type, uint64_t id, uint64_t flags)
{
}

int kb_conn_bus_cmd(struct kb_conn *c, uint64_t serial, enum kd_cmd kind, uint8_t *body,
		    const struct kd_items *it)
{
	return -EOPNOTSUPP;
}
