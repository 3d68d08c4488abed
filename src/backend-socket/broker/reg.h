/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Private to registry.c, endpoint.c and activator.c: the bus databases the
 * broker keeps next to its connections (spec 9). Everything else reaches
 * them through the prototypes in broker.h.
 */
#ifndef KB_REG_H
#define KB_REG_H

#include "backend-socket/broker/broker.h"
#include "core/match.h"
#include "core/name.h"
#include "core/policy.h"

/* A custom endpoint (spec 1.3): a listening socket and its own policy. */
struct kb_ep {
	struct kb_list link; /* reg->endpoints */
	struct kb_bus *bus;
	struct kb_conn *owner; /* the endpoint-owner handle; its hang-up removes us */
	char *name;
	char *path;
	struct kb_src listen;
	struct kd_policy_db *policy; /* empty: denies everything */
	uint64_t quota_key;          /* the endpoint's anonymous accounting user (spec 1.3) */
};

struct kb_reg {
	struct kd_name_registry *names;
	struct kd_policy_db *policy; /* the bus database */
	struct kb_list endpoints;
	struct kb_conn **activators; /* every activator connection, one name each */
	unsigned int n_activators, cap_activators;
	uint64_t ep_serial;
};

/* The bus's databases, created on first use; NULL only on ENOMEM. */
struct kb_reg *kb_reg_get(struct kb_bus *bus);

/* The connection embedding a registry handle. */
static inline struct kb_conn *kb_conn_of_owner(struct kd_name_owner *o)
{
	return o ? kd_container_of(o, struct kb_conn, names) : NULL;
}

/* Credentials a connection is checked with (spec 9.4). */
void kb_reg_creds(const struct kb_conn *c, struct kd_policy_creds *cr);
/* SEE(C, N) and SEE(C, D) of spec 9.4. */
bool kb_reg_see_name(const struct kb_conn *c, const char *name);
bool kb_reg_see_conn(const struct kb_conn *c, const struct kb_conn *d);
/* Owner privilege of an opener that has not said HELLO yet (spec 1.4.3). */
bool kb_reg_is_owner(const struct kb_conn *c);

/* endpoint.c */
int kb_ep_make(struct kb_conn *c, struct kdbus_cmd *cmd, const struct kd_items *it);
int kb_ep_update(struct kb_conn *c, struct kdbus_cmd *cmd, const struct kd_items *it);
/* c is going away: if it owns an endpoint, remove the endpoint and its connections. */
void kb_ep_owner_gone(struct kb_conn *c);
void kb_ep_free_all(struct kb_reg *reg);

/* activator.c */
/* Registry MOVE event: entries and trackers tagged name_id go from -> to. */
void kb_act_move(struct kb_conn *from, struct kb_conn *to, uint64_t name_id);
int kb_act_add(struct kb_reg *reg, struct kb_conn *c);
void kb_act_remove(struct kb_reg *reg, struct kb_conn *c);

#endif
