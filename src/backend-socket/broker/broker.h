/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kdbus-broker: one process per bus, single-threaded and event driven.
 * Every client-visible decision (validation, routing, quotas, errnos) is
 * made here or in src/core; clients are never trusted.
 */
#ifndef KB_BROKER_H
#define KB_BROKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/compat.h"
#include "core/item.h"
#include "core/meta.h"
#include "core/name.h"
#include "core/limits.h"
#include "backend-socket/proto.h"

struct kd_pool;
struct kd_poller;
struct kb_conn;
struct kb_bus;
struct kb_ep;
struct kb_reg;
struct kd_match_db;

/* Intrusive doubly linked list. */
struct kb_list {
	struct kb_list *prev, *next;
};
#define KB_LIST_INIT(l) { &(l), &(l) }
static inline void kb_list_init(struct kb_list *l) { l->prev = l->next = l; }
static inline bool kb_list_empty(const struct kb_list *l) { return l->next == l; }
static inline void kb_list_add_tail(struct kb_list *l, struct kb_list *n)
{
	n->prev = l->prev;
	n->next = l;
	l->prev->next = n;
	l->prev = n;
}
static inline void kb_list_del(struct kb_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}
#define kb_list_entry(p, type, member) kd_container_of(p, type, member)
#define kb_list_for_each_safe(pos, tmp, head) \
	for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); (pos) = (tmp), (tmp) = (pos)->next)

/* What an epoll registration points at. */
enum kb_src_kind {
	KB_SRC_CREATOR, KB_SRC_LISTEN, KB_SRC_QUEUE, KB_SRC_CMD, KB_SRC_CANCEL,
	KB_SRC_EP_LISTEN, /* obj: struct kb_ep (registry) */
};
struct kb_src {
	enum kb_src_kind kind;
	int fd;
	void *obj;
};

/* Per-(receiver, sending user) quota usage (spec 10.2). */
struct kb_quota {
	uint64_t key; /* uid + 1, or 0 for the kernel user */
	uint64_t bytes;
	uint32_t msgs;
	uint32_t fds;
};

enum kb_entry_kind { KB_ENTRY_MSG, KB_ENTRY_LOST };

/* A queued message (or a lost-message wake-up) of one receiver. */
struct kb_entry {
	struct kb_list link; /* in conn->queue */
	enum kb_entry_kind kind;
	uint64_t seq;      /* notice seq once pushed, 0 before */
	bool taken;        /* taken out of order (RECV by priority) */
	uint64_t off, size;
	int64_t priority;
	int *fds;          /* memfds then FDS, owned */
	unsigned int n_fds;
	unsigned int n_memfds;
	unsigned int n_fds_quota; /* FDS fds charged to the sender's quota */
	uint64_t fixup;    /* non-zero: the reader must install fds (FIXUP) */
	uint64_t quota_key;
	uint64_t src_id;
	uint64_t cookie;
	bool expect_reply;
	uint64_t name_id;  /* sent by name (activation moves) */
	bool held;         /* pushed as a WAKE notice; data stays here, movable (activator.c) */
};

/* A reply tracker, owned by the caller (spec 7.5.1). */
struct kb_reply {
	struct kb_list link;   /* in caller->replies */
	struct kb_conn *caller;
	uint64_t replier_id;
	uint64_t cookie;
	uint64_t deadline_ns;
	uint64_t name_id;
	bool sync;
	bool dead;             /* freed; memory kept until the event batch ends */
	uint64_t serial;       /* sync: the pending SEND request */
	struct kb_src cancel;  /* sync: CANCEL_FD, fd -1 if none */
};

enum kb_conn_state { KB_CONN_NEW, KB_CONN_CONNECTED, KB_CONN_EP_OWNER, KB_CONN_DEAD };

/* One client: a connection, or an endpoint fd not yet set up. */
struct kb_conn {
	struct kb_bus *bus;
	struct kb_list link; /* bus->conns */
	struct kb_src qsrc, csrc;
	enum kb_conn_state state;
	uint64_t id;
	uint64_t hello_flags;
	uint64_t attach_send, attach_recv;
	bool owner;         /* Owner privilege (spec 1.4.3) */
	pid_t pid;
	uid_t uid;
	gid_t gid;
	struct kd_meta meta; /* collected at HELLO */
	char *description;
	/* pool */
	int pool_fd;
	uint8_t *pool_map;
	uint64_t pool_size;
	struct kd_pool *pool;
	int ctl_fd;
	struct kd_proto_ctl *ctl;
	/* registry (registry.c) */
	struct kb_ep *ep;           /* custom endpoint it came through; NULL: default */
	struct kd_name_owner names; /* well-known names */
	struct kd_match_db *match;  /* ordinary connections only */
	/* queue */
	struct kb_list queue;   /* pushed to the queue socket, in seq order */
	struct kb_list pending; /* not pushed yet (socket full) */
	uint64_t n_queued;
	uint64_t free_tail;
	uint64_t push_seq;     /* last notice seq pushed */
	uint64_t consumed_seen;
	bool out_blocked;      /* queue socket full, waiting for POLLOUT */
	struct kb_quota *quota;
	unsigned int n_quota, cap_quota;
	/* replies we wait for */
	struct kb_list replies;
	unsigned int n_replies;
	/* request reassembly */
	uint8_t *rbuf;
	uint64_t rbuf_len, rbuf_total, rbuf_serial, rbuf_arg;
	int rfds[KD_PROTO_MAX_FDS];
	unsigned int n_rfds;
};

struct kb_bus {
	char *root;
	char *name;
	char *dir;
	char *bus_path;
	struct kb_src creator, listen;
	uint64_t flags;
	uint64_t attach_owner;
	uint64_t bloom_size, bloom_n_hash;
	uint8_t id128[16];
	uid_t creator_uid;
	struct kd_meta creator_meta;
	uint64_t id;
	uint64_t next_id;
	uint64_t seqnum;
	struct kd_poller *poller;
	struct kb_list conns;
	/* freed during an event batch; released after it, as events may still point here */
	struct kb_list graveyard;
	struct kb_list reply_graveyard;
	struct kb_conn **by_id; /* open-addressed by id */
	uint64_t by_id_cap, by_id_n;
	bool quit;
	int n_trackers;
	struct kb_reg *reg; /* names, policy, endpoints: registry.c */
};

/* bus.c */
int kb_bus_make(struct kb_bus *bus, int creator_fd, const char *root);
/* A listening endpoint socket at path with the access mode of the MAKE flags. */
int kb_listen(const char *path, mode_t mode);
void kb_bus_destroy(struct kb_bus *bus);
struct kb_conn *kb_bus_find(struct kb_bus *bus, uint64_t id);
int kb_bus_index(struct kb_bus *bus, struct kb_conn *c);
void kb_bus_unindex(struct kb_bus *bus, struct kb_conn *c);
void kb_bus_accept(struct kb_bus *bus);
int kb_bus_next_timeout(struct kb_bus *bus);
void kb_bus_timers(struct kb_bus *bus);

/* conn.c */
struct kb_conn *kb_conn_new(struct kb_bus *bus, int qfd);
void kb_conn_disconnect(struct kb_conn *c);
void kb_conn_free(struct kb_conn *c);
void kb_bus_reap(struct kb_bus *bus);
void kb_conn_on_queue(struct kb_conn *c, uint32_t events);
void kb_conn_on_cmd(struct kb_conn *c, uint32_t events);
void kb_conn_sync(struct kb_conn *c);
int kb_conn_respond_ex(struct kb_conn *c, uint64_t serial, int err, const struct kd_proto_resp *resp,
		       const void *cmd, const int *fds, unsigned int n_fds);
int kb_conn_respond(struct kb_conn *c, uint64_t serial, int err, const void *cmd, uint64_t cmd_size,
		    uint64_t offset, const int *fds, unsigned int n_fds, uint64_t fixup);
int kb_conn_enqueue(struct kb_conn *c, struct kb_entry *e);
void kb_conn_push(struct kb_conn *c);
void kb_conn_lost(struct kb_conn *c);
struct kb_entry *kb_entry_free(struct kb_conn *c, struct kb_entry *e, bool release_slice);
int kb_conn_pool_alloc(struct kb_conn *c, uint64_t size, bool accounted, uint64_t *off);
int kb_conn_quota(struct kb_conn *dst, uint64_t key, uint64_t size, unsigned int n_fds);
void kb_conn_quota_charge(struct kb_conn *dst, uint64_t key, uint64_t size, unsigned int n_fds,
			  int sign);
int kb_conn_hello(struct kb_conn *c, uint64_t serial, struct kdbus_cmd_hello *cmd,
		  const struct kd_items *it);
int kb_conn_info(struct kb_conn *c, uint64_t serial, enum kd_cmd kind, struct kdbus_cmd_info *cmd,
		 const struct kd_items *it);
int kb_conn_list(struct kb_conn *c, uint64_t serial, struct kdbus_cmd_list *cmd);
int kb_conn_update(struct kb_conn *c, struct kdbus_cmd *cmd, const struct kd_items *it);
int kb_conn_recv_prio(struct kb_conn *c, uint64_t serial, struct kdbus_cmd_recv *cmd);
int kb_conn_drop(struct kb_conn *c, uint64_t seq);
int kb_conn_bus_cmd(struct kb_conn *c, uint64_t serial, enum kd_cmd kind, uint8_t *body,
		    const struct kd_items *it);
int kb_conn_fixup(struct kb_conn *c, uint64_t off, const int *fds, unsigned int n);
bool kb_conn_is_ordinary(const struct kb_conn *c);

/* send.c */
int kb_send(struct kb_conn *c, uint64_t serial, uint8_t *body, uint64_t size, int *fds,
	    unsigned int n_fds);
void kb_reply_free(struct kb_reply *r);
void kb_reply_dead_for(struct kb_conn *replier, uint64_t caller_id, uint64_t cookie);
void kb_replies_on_disconnect(struct kb_conn *c);
void kb_reply_timeout(struct kb_reply *r);
void kb_reply_cancel(struct kb_reply *r);
void kb_notify_reply(struct kb_conn *caller, uint64_t cookie, uint64_t type);

/* registry.c: names, matches, policy, monitors, endpoints */
struct kb_tx;
int kb_reg_resolve(struct kb_bus *bus, const char *name, const struct kdbus_msg *msg,
		   struct kb_conn **out, uint64_t *name_id);
int kb_policy_talk(struct kb_conn *from, struct kb_conn *to);
bool kb_match_msg(struct kb_conn *dst, struct kb_conn *src, const struct kdbus_msg *msg,
		  const struct kd_items *it);
void kb_monitors_eavesdrop(struct kb_tx *tx);
void kb_monitors_notify(struct kb_bus *bus, const void *slice, uint64_t size);
void kb_notify_id(struct kb_bus *bus, uint64_t type, uint64_t id, uint64_t flags);
void kb_reg_bus_destroy(struct kb_bus *bus);
/* HELLO: name syntax and endpoint kind, before the Owner checks */
int kb_reg_hello_check(struct kb_conn *c, uint64_t kind, const struct kd_items *it);
/* HELLO with c->id set: policy upload, activator checks, match database */
int kb_reg_hello(struct kb_conn *c, struct kdbus_cmd_hello *cmd, const struct kd_items *it);
void kb_reg_hello_undo(struct kb_conn *c);
/* after ID_ADD: the activator takes its name */
void kb_reg_connected(struct kb_conn *c, const struct kd_items *it);
/* UPDATE of a policy holder's policy (validated attach flags are conn.c's) */
int kb_reg_update(struct kb_conn *c, struct kdbus_cmd *cmd, const struct kd_items *it);
/* disconnect, after unlinking from the bus and before the queue is dropped */
void kb_reg_disconnect(struct kb_conn *c);
int kb_reg_info_target(struct kb_conn *c, uint64_t id, const char *name, struct kb_conn **out);
/* quota user of c's messages (spec 10.2): uid + 1, or its custom endpoint's own */
uint64_t kb_reg_quota_key(const struct kb_conn *c);
/* OWNED_NAME metadata of c; valid until the next call */
const struct kd_meta_name *kb_reg_meta_names(struct kb_conn *c, unsigned int *n);
/* endpoint.c */
void kb_ep_accept(struct kb_ep *ep);
/* activator.c */
bool kb_reg_hold(struct kb_conn *c, const struct kb_entry *e);
int kb_conn_fetch(struct kb_conn *c, uint64_t serial, uint64_t seq, const uint8_t *body,
		  uint64_t len);
/* send.c, for monitors */
struct kb_conn *kb_tx_src(struct kb_tx *tx);
int kb_tx_deliver(struct kb_tx *tx, struct kb_conn *dst);

#endif
