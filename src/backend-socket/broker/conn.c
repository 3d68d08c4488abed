/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, dup3, asprintf, memfd and SCM ancillary data */
#endif
/*
 * Connections: the two sockets, request reassembly and dispatch, the queue
 * and its notices, the pool, quotas, and the commands that only concern the
 * calling connection (HELLO, UPDATE, BYEBYE, CONN_INFO, BUS_CREATOR_INFO,
 * LIST, RECV by priority).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend-socket/broker/broker.h"
#include "core/msg.h"
#include "core/pool.h"
#include "os/os.h"

#define KB_PAGE_SIZE 4096u

/* One buffer for every unfragmented request: the broker is single-threaded. */
static uint8_t rx_buf[KD_PROTO_MAX_PACKET] __attribute__((aligned(8)));

static void close_fds(int *fds, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

bool kb_conn_is_ordinary(const struct kb_conn *c)
{
	return c->state == KB_CONN_CONNECTED &&
	       !(c->hello_flags &
		 (KDBUS_HELLO_ACTIVATOR | KDBUS_HELLO_POLICY_HOLDER | KDBUS_HELLO_MONITOR));
}

struct kb_conn *kb_conn_new(struct kb_bus *bus, int qfd)
{
	struct kb_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->bus = bus;
	c->qsrc = (struct kb_src){ KB_SRC_QUEUE, qfd, c };
	c->csrc = (struct kb_src){ KB_SRC_CMD, -1, c };
	c->pool_fd = -1;
	c->ctl_fd = -1;
	kb_list_init(&c->queue);
	kb_list_init(&c->pending);
	kb_list_init(&c->replies);
	if (kd_os_peercred(qfd, &c->pid, &c->uid, &c->gid) < 0 ||
	    kd_poller_add(bus->poller, qfd, KD_POLL_IN, &c->qsrc) < 0) {
		free(c);
		return NULL;
	}
	kb_list_add_tail(&bus->conns, &c->link);
	return c;
}

void kb_conn_free(struct kb_conn *c)
{
	if (c->state != KB_CONN_DEAD)
		kb_conn_disconnect(c);
	/* Later events of this batch may still name c: it dies at kb_bus_reap(). */
	kb_list_del(&c->link);
	kb_list_add_tail(&c->bus->graveyard, &c->link);
}

void kb_bus_reap(struct kb_bus *bus)
{
	struct kb_list *p, *t;

	kb_list_for_each_safe(p, t, &bus->graveyard) {
		struct kb_conn *c = kb_list_entry(p, struct kb_conn, link);

		kb_list_del(&c->link);
		kd_meta_clear(&c->meta);
		free(c->description);
		free(c->quota);
		free(c->rbuf);
		free(c);
	}
	kb_list_for_each_safe(p, t, &bus->reply_graveyard) {
		kb_list_del(p);
		free(kb_list_entry(p, struct kb_reply, link));
	}
}

/* ---- responses and notices ---- */

int kb_conn_respond_ex(struct kb_conn *c, uint64_t serial, int err, const struct kd_proto_resp *resp,
		       const void *cmd, const int *fds, unsigned int n_fds)
{
	struct kd_proto_hdr hdr = {
		.type = KD_PROTO_RESP, .serial = serial, .error = err, .n_fds = n_fds,
	};
	struct iovec iov[3] = { { &hdr, sizeof(hdr) }, { (void *)resp, sizeof(*resp) },
				{ (void *)cmd, resp->cmd_size } };

	if (c->csrc.fd < 0)
		return -ECONNRESET;
	/* Responses are small; a client that stops reading them only hurts itself. */
	return kd_os_send_fds(c->csrc.fd, iov, resp->cmd_size ? 3 : 2, fds, n_fds, MSG_DONTWAIT);
}

int kb_conn_respond(struct kb_conn *c, uint64_t serial, int err, const void *cmd, uint64_t cmd_size,
		    uint64_t offset, const int *fds, unsigned int n_fds, uint64_t fixup)
{
	struct kd_proto_resp resp = { .cmd_size = cmd_size, .offset = offset, .fixup = fixup };

	return kb_conn_respond_ex(c, serial, err, &resp, cmd, fds, n_fds);
}

static int push_one(struct kb_conn *c, struct kb_entry *e)
{
	struct kd_proto_notice n = {
		.type = e->held ? KD_PROTO_NOTICE_WAKE :
			e->kind == KB_ENTRY_LOST ? KD_PROTO_NOTICE_LOST : KD_PROTO_NOTICE_MSG,
		.n_fds = e->held ? 0 : e->n_fds,
		.seq = c->push_seq + 1,
		.offset = e->off,
		.size = e->size,
		.priority = e->priority,
		.fixup = e->fixup,
	};
	struct iovec iov = { &n, sizeof(n) };
	int r;

	r = kd_os_send_fds(c->qsrc.fd, &iov, 1, e->fds, e->held ? 0 : e->n_fds, MSG_DONTWAIT);
	if (r < 0)
		return r;
	e->seq = ++c->push_seq;
	if (e->held)
		return 0; /* still movable: the reader fetches it (activator.c) */
	/* The fds now live in the socket; the reader installs them. */
	close_fds(e->fds, e->n_fds);
	free(e->fds);
	e->fds = NULL;
	e->n_fds = 0;
	return 0;
}

void kb_conn_push(struct kb_conn *c)
{
	struct kb_list *p, *t;
	int r;

	if (c->out_blocked || c->state == KB_CONN_DEAD)
		return;
	kb_list_for_each_safe(p, t, &c->pending) {
		struct kb_entry *e = kb_list_entry(p, struct kb_entry, link);

		r = push_one(c, e);
		if (r == -EAGAIN || r == -ENOBUFS) {
			/* Socket full: the rest waits in the broker until POLLOUT. */
			c->out_blocked = true;
			(void)kd_poller_mod(c->bus->poller, c->qsrc.fd, KD_POLL_OUT, &c->qsrc);
			return;
		}
		kb_list_del(&e->link);
		if (r < 0) {
			/* The reader is gone; disconnect will notice. */
			kb_entry_free(c, e, true);
			continue;
		}
		kb_list_add_tail(&c->queue, &e->link);
	}
}

int kb_conn_enqueue(struct kb_conn *c, struct kb_entry *e)
{
	e->held = kb_reg_hold(c, e);
	kb_list_add_tail(&c->pending, &e->link);
	c->n_queued++;
	kb_conn_push(c);
	return 0;
}

void kb_conn_lost(struct kb_conn *c)
{
	struct kb_entry *e;

	if (!c->ctl || c->state != KB_CONN_CONNECTED)
		return;
	/* A wake-up notice only on 0 -> 1; the reader takes the count with it. */
	if (__atomic_fetch_add(&c->ctl->lost, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	e->kind = KB_ENTRY_LOST;
	e->off = c->pool_size;
	kb_list_add_tail(&c->pending, &e->link);
	kb_conn_push(c);
}

/* ---- quotas (spec 10.2) ---- */

static struct kb_quota *quota_get(struct kb_conn *c, uint64_t key, bool create)
{
	unsigned int i;

	for (i = 0; i < c->n_quota; i++)
		if (c->quota[i].key == key)
			return &c->quota[i];
	if (!create)
		return NULL;
	if (c->n_quota == c->cap_quota) {
		unsigned int cap = c->cap_quota ? c->cap_quota * 2 : 4;
		struct kb_quota *q = realloc(c->quota, cap * sizeof(*q));

		if (!q)
			return NULL;
		c->quota = q;
		c->cap_quota = cap;
	}
	c->quota[c->n_quota] = (struct kb_quota){ .key = key };
	return &c->quota[c->n_quota++];
}

int kb_conn_quota(struct kb_conn *dst, uint64_t key, uint64_t size, unsigned int n_fds)
{
	struct kb_quota *q = quota_get(dst, key, false);
	uint64_t half = dst->pool_size / 2, total, allowed, used = q ? q->bytes : 0;

	total = kd_pool_accounted(dst->pool);
	if (half < total)
		return -ENOBUFS;
	allowed = (half - total + used) / 3;
	if (used > allowed || allowed - used < size)
		return -ENOBUFS;
	if (q && q->msgs >= KDBUS_CONN_MAX_MSGS)
		return -ENOBUFS;
	if ((q ? q->fds : 0) + n_fds > KDBUS_CONN_MAX_FDS_PER_USER)
		return -EMFILE;
	return 0;
}

void kb_conn_quota_charge(struct kb_conn *dst, uint64_t key, uint64_t size, unsigned int n_fds,
			  int sign)
{
	struct kb_quota *q = quota_get(dst, key, sign > 0);

	if (!q)
		return;
	if (sign > 0) {
		q->bytes += size;
		q->msgs++;
		q->fds += n_fds;
	} else {
		q->bytes -= KD_MIN(q->bytes, size);
		q->msgs -= q->msgs ? 1 : 0;
		q->fds -= KD_MIN(q->fds, n_fds);
	}
}

struct kb_entry *kb_entry_free(struct kb_conn *c, struct kb_entry *e, bool release_slice)
{
	if (!e)
		return NULL;
	if (e->kind == KB_ENTRY_MSG && !e->taken) {
		kb_conn_quota_charge(c, e->quota_key, e->size, e->n_fds_quota, -1);
		if (release_slice && c->pool)
			kd_pool_release_kernel(c->pool, e->off);
	}
	if (e->kind == KB_ENTRY_MSG && c->n_queued)
		c->n_queued--;
	close_fds(e->fds, e->n_fds);
	free(e->fds);
	free(e);
	return NULL;
}

/* ---- the control page: consumed notices and freed slices ---- */

void kb_conn_sync(struct kb_conn *c)
{
	struct kd_proto_ctl *ctl = c->ctl;
	uint64_t head, consumed, n;
	struct kb_list *p, *t;

	if (!ctl)
		return;
	/* head before consumed: every FREE in the ring is for a consumed slice. */
	head = __atomic_load_n(&ctl->free_head, __ATOMIC_ACQUIRE);
	consumed = __atomic_load_n(&ctl->consumed, __ATOMIC_ACQUIRE);
	if (consumed > c->push_seq)
		consumed = c->push_seq;
	if (consumed > c->consumed_seen) {
		kb_list_for_each_safe(p, t, &c->queue) {
			struct kb_entry *e = kb_list_entry(p, struct kb_entry, link);

			if (e->seq > consumed)
				break;
			if (e->held)
				continue; /* its WAKE was read; the message is fetched separately */
			kb_list_del(&e->link);
			/* Read off the socket: the slice is the reader's now. */
			if (e->kind == KB_ENTRY_MSG && !e->taken)
				(void)kd_pool_publish(c->pool, e->off);
			kb_entry_free(c, e, true);
		}
		c->consumed_seen = consumed;
	}
	n = head - c->free_tail;
	if (n > KD_PROTO_FREE_RING)
		n = KD_PROTO_FREE_RING; /* a confused client loses only its own slices */
	while (n--) {
		uint64_t off = __atomic_load_n(&ctl->free_ring[c->free_tail % KD_PROTO_FREE_RING],
					       __ATOMIC_RELAXED);

		(void)kd_pool_release_user(c->pool, off);
		c->free_tail++;
	}
	c->free_tail = head > c->free_tail ? c->free_tail : head;
	__atomic_store_n(&ctl->free_tail, c->free_tail, __ATOMIC_RELEASE);
}

int kb_conn_pool_alloc(struct kb_conn *c, uint64_t size, bool accounted, uint64_t *off)
{
	kb_conn_sync(c);
	return kd_pool_alloc(c->pool, size, accounted, off);
}

/* ---- disconnect ---- */

void kb_conn_disconnect(struct kb_conn *c)
{
	struct kb_list *p, *t;
	bool was_conn = c->state == KB_CONN_CONNECTED;

	if (c->state == KB_CONN_DEAD)
		return;
	if (was_conn)
		kb_conn_sync(c);
	c->state = KB_CONN_DEAD;
	if (was_conn)
		kb_bus_unindex(c->bus, c);
	/* Policy, names (maybe moving our messages to an activator), matches, endpoint. */
	kb_reg_disconnect(c);

	/* Calls queued on us that expect a reply: their callers learn we died. */
	kb_list_for_each_safe(p, t, &c->queue) {
		struct kb_entry *e = kb_list_entry(p, struct kb_entry, link);

		kb_list_del(&e->link);
		if (e->kind == KB_ENTRY_MSG && !e->taken && e->expect_reply)
			kb_reply_dead_for(c, e->src_id, e->cookie);
		kb_entry_free(c, e, false);
	}
	kb_list_for_each_safe(p, t, &c->pending) {
		struct kb_entry *e = kb_list_entry(p, struct kb_entry, link);

		kb_list_del(&e->link);
		if (e->kind == KB_ENTRY_MSG && e->expect_reply)
			kb_reply_dead_for(c, e->src_id, e->cookie);
		kb_entry_free(c, e, false);
	}
	kb_replies_on_disconnect(c);

	if (c->qsrc.fd >= 0) {
		(void)kd_poller_del(c->bus->poller, c->qsrc.fd);
		close(c->qsrc.fd);
		c->qsrc.fd = -1;
	}
	if (c->csrc.fd >= 0) {
		(void)kd_poller_del(c->bus->poller, c->csrc.fd);
		close(c->csrc.fd);
		c->csrc.fd = -1;
	}
	close_fds(c->rfds, c->n_rfds);
	c->n_rfds = 0;
	if (c->pool_map)
		munmap(c->pool_map, c->pool_size);
	c->pool_map = NULL;
	c->pool = kd_pool_free(c->pool);
	if (c->ctl)
		munmap(c->ctl, KD_PROTO_CTL_SIZE);
	c->ctl = NULL;

	if (was_conn && !(c->hello_flags & KDBUS_HELLO_MONITOR))
		kb_notify_id(c->bus, KDBUS_ITEM_ID_REMOVE, c->id, c->hello_flags);
}

/* ---- HELLO ---- */

static bool has_cap(const struct kd_meta *m, unsigned int cap)
{
	uint64_t words, eff;

	if (!(m->mask & KDBUS_ATTACH_CAPS) || m->caps_size < 4)
		return false;
	words = (m->caps_size - 4) / 4 / 4;
	eff = 1 + 2 * words; /* caps[] = last_cap, inh[w], prm[w], eff[w], bnd[w] */
	if (cap / 32 >= words)
		return false;
	return m->caps[eff + cap / 32] & (1u << (cap % 32));
}

/* Connections of c's accounting user (spec 10.1: at most KDBUS_USER_MAX_CONN). */
static unsigned int user_conns(const struct kb_conn *c)
{
	struct kb_list *p, *t;
	unsigned int n = 0;

	kb_list_for_each_safe(p, t, &c->bus->conns) {
		const struct kb_conn *o = kb_list_entry(p, struct kb_conn, link);

		/* A custom endpoint is one anonymous user whatever the uids. */
		if (o != c && o->state == KB_CONN_CONNECTED && o->ep == c->ep &&
		    (c->ep || o->uid == c->uid))
			n++;
	}
	return n;
}


/* A new shared memory object of size bytes, mapped read-write here. */
static int shm_map(const char *name, uint64_t size, int *fd, void **map)
{
	int r = kd_os_shm_new(name, size);

	if (r < 0)
		return r;
	*fd = r;
	*map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (*map == MAP_FAILED) {
		*map = NULL;
		return -errno;
	}
	return 0;
}

static int make_pool(struct kb_conn *c, uint64_t size)
{
	char name[96];
	void *map;
	int r;

	snprintf(name, sizeof(name), "kdbus-conn:%s", c->description ? c->description : "");
	r = shm_map(name, size, &c->pool_fd, &map);
	if (r < 0)
		return r;
	c->pool_map = map;
	c->pool_size = size;
	r = kd_os_pool_seal(c->pool_fd);
	if (r < 0)
		return r;
	/* We keep our mapping; the client gets an fd that can only be read. */
	r = kd_os_pool_ro_fd(c->pool_fd);
	if (r < 0)
		return r;
	close(c->pool_fd);
	c->pool_fd = r;
	c->pool = kd_pool_new(size);
	if (!c->pool)
		return -ENOMEM;

	r = shm_map("kdbus-ctl", KD_PROTO_CTL_SIZE, &c->ctl_fd, &map);
	if (r < 0)
		return r;
	c->ctl = map;
	return kd_os_shm_seal_size(c->ctl_fd);
}

static void hello_fail(struct kb_conn *c)
{
	if (c->pool_fd >= 0)
		close(c->pool_fd);
	if (c->ctl_fd >= 0)
		close(c->ctl_fd);
	c->pool_fd = c->ctl_fd = -1;
	if (c->pool_map)
		munmap(c->pool_map, c->pool_size);
	if (c->ctl)
		munmap(c->ctl, KD_PROTO_CTL_SIZE);
	c->pool_map = NULL;
	c->ctl = NULL;
	c->pool = kd_pool_free(c->pool);
	kd_meta_clear(&c->meta);
	free(c->description);
	c->description = NULL;
}

int kb_conn_hello(struct kb_conn *c, uint64_t serial, struct kdbus_cmd_hello *cmd,
		  const struct kd_items *it)
{
	const uint64_t special =
		KDBUS_HELLO_ACTIVATOR | KDBUS_HELLO_POLICY_HOLDER | KDBUS_HELLO_MONITOR;
	struct kdbus_item *item;
	uint64_t kind = cmd->flags & special, send, recv, off;
	int fds[2], r;

	if (cmd->pool_size == 0 || cmd->pool_size % KB_PAGE_SIZE)
		return -EINVAL;
	if (kind & (kind - 1))
		return -EINVAL;
	if (it->name && !(kind & (KDBUS_HELLO_ACTIVATOR | KDBUS_HELLO_POLICY_HOLDER)))
		return -EINVAL;
	if ((kind & (KDBUS_HELLO_ACTIVATOR | KDBUS_HELLO_POLICY_HOLDER)) && !it->name)
		return -EINVAL;
	r = kb_reg_hello_check(c, kind, it);
	if (r < 0)
		return r;

	r = kd_os_proc_meta(c->pid, 0, _KDBUS_ATTACH_ALL, &c->meta);
	if (r < 0)
		return r;
	/* Owner: the bus creator's euid, or CAP_IPC_OWNER (15). */
	c->owner = !c->ep && (c->uid == c->bus->creator_uid || has_cap(&c->meta, 15));
	if (kind && !c->owner) {
		kd_meta_clear(&c->meta);
		return -EPERM;
	}
	if ((it->creds || it->pids || it->seclabel) && !c->owner) {
		kd_meta_clear(&c->meta);
		return -EPERM;
	}
	r = kd_attach_flags_normalize(cmd->attach_flags_send, &send);
	if (r >= 0)
		r = kd_attach_flags_normalize(cmd->attach_flags_recv, &recv);
	if (r >= 0 && user_conns(c) >= KDBUS_USER_MAX_CONN)
		r = -EMFILE;
	if (r < 0) {
		kd_meta_clear(&c->meta);
		return r;
	}
	if (it->description) {
		c->description = strdup(it->description->str);
		if (!c->description) {
			kd_meta_clear(&c->meta);
			return -ENOMEM;
		}
	}
	/* Faked metadata replaces what we collected (Owner only, checked above). */
	if (it->creds) {
		c->meta.creds = it->creds->creds;
		c->meta.mask |= KDBUS_ATTACH_CREDS;
	}
	if (it->pids) {
		c->meta.pids = it->pids->pids;
		c->meta.mask |= KDBUS_ATTACH_PIDS;
	}
	if (it->seclabel) {
		free(c->meta.seclabel);
		c->meta.seclabel = strdup(it->seclabel->str);
		if (c->meta.seclabel)
			c->meta.mask |= KDBUS_ATTACH_SECLABEL;
	}
	if (c->description) {
		free(c->meta.description);
		c->meta.description = strdup(c->description);
		if (c->meta.description)
			c->meta.mask |= KDBUS_ATTACH_CONN_DESCRIPTION;
	}

	r = make_pool(c, cmd->pool_size);
	if (r >= 0)
		r = kd_pool_alloc(c->pool, 32, false, &off);
	if (r < 0) {
		hello_fail(c);
		return r;
	}
	item = (struct kdbus_item *)(c->pool_map + off);
	item->size = 32;
	item->type = KDBUS_ITEM_BLOOM_PARAMETER;
	item->bloom_parameter.size = c->bus->bloom_size;
	item->bloom_parameter.n_hash = c->bus->bloom_n_hash;
	(void)kd_pool_publish(c->pool, off);
	kd_pool_release_kernel(c->pool, off);

	c->id = c->bus->next_id++;
	c->hello_flags = cmd->flags;
	c->attach_send = send;
	c->attach_recv = recv;
	r = kb_reg_hello(c, cmd, it);
	if (r >= 0) {
		r = kb_bus_index(c->bus, c);
		if (r < 0)
			kb_reg_hello_undo(c);
	}
	if (r < 0) {
		hello_fail(c);
		return r;
	}
	c->state = KB_CONN_CONNECTED;

	cmd->return_flags = 0;
	cmd->bus_flags = c->bus->flags;
	cmd->id = c->id;
	cmd->offset = off;
	cmd->items_size = 32;
	memcpy(cmd->id128, c->bus->id128, 16);
	/* kdbus queues ID_ADD (and an activator's NAME_ADD) before HELLO returns. */
	if (!(kind & KDBUS_HELLO_MONITOR))
		kb_notify_id(c->bus, KDBUS_ITEM_ID_ADD, c->id, c->hello_flags);
	kb_reg_connected(c, it);
	fds[0] = c->pool_fd;
	fds[1] = c->ctl_fd;
	r = kb_conn_respond(c, serial, 0, cmd, cmd->size, ~0ull, fds, 2, 0);
	close(c->pool_fd);
	close(c->ctl_fd);
	c->pool_fd = c->ctl_fd = -1;
	if (r < 0)
		kb_conn_disconnect(c);
	return 1; /* responded */
}

/* ---- CONN_INFO, BUS_CREATOR_INFO ---- */

static int write_info(struct kb_conn *c, uint64_t id, uint64_t flags, const char *make_name,
		      const struct kd_meta *m, const struct kd_meta_name *names,
		      unsigned int n_names, uint64_t mask, uint64_t *off_out, uint64_t *size_out)
{
	uint64_t msize = kd_meta_size(m, mask, names, n_names, NULL), size, off, name_len = 0;
	struct kdbus_info *info;
	struct kdbus_item *item;
	int r;

	size = sizeof(*info);
	if (make_name) {
		name_len = strlen(make_name) + 1;
		size += KD_ALIGN8(16 + name_len);
	}
	size += msize;
	r = kb_conn_pool_alloc(c, size, false, &off);
	if (r < 0)
		return r;
	info = (struct kdbus_info *)(c->pool_map + off);
	memset(info, 0, KD_ALIGN8(size));
	info->size = size;
	info->id = id;
	info->flags = flags;
	item = info->items;
	if (make_name) {
		item->size = 16 + name_len;
		item->type = KDBUS_ITEM_MAKE_NAME;
		memcpy(item->str, make_name, name_len);
		item = KDBUS_ITEM_NEXT(item);
	}
	kd_meta_write(item, m, mask, names, n_names, NULL);
	(void)kd_pool_publish(c->pool, off);
	kd_pool_release_kernel(c->pool, off);
	*off_out = off;
	*size_out = size;
	return 0;
}

int kb_conn_info(struct kb_conn *c, uint64_t serial, enum kd_cmd kind, struct kdbus_cmd_info *cmd,
		 const struct kd_items *it)
{
	struct kb_conn *t;
	uint64_t mask, off, size;
	int r;

	r = kd_attach_flags_normalize(cmd->attach_flags, &mask);
	if (r < 0)
		return r;
	if (kind == KD_CMD_BUS_CREATOR_INFO) {
		if (it->name)
			return -EINVAL;
		mask &= c->bus->attach_owner & c->bus->creator_meta.mask;
		mask &= ~(uint64_t)(KDBUS_ATTACH_NAMES | KDBUS_ATTACH_CONN_DESCRIPTION |
				    KDBUS_ATTACH_TIMESTAMP);
		r = write_info(c, c->bus->id, c->bus->flags, c->bus->name, &c->bus->creator_meta,
			       NULL, 0, mask, &off, &size);
	} else {
		const struct kd_meta_name *names;
		unsigned int n_names;

		r = kb_reg_info_target(c, cmd->id, it->name ? it->name->str : NULL, &t);
		if (r < 0)
			return r;
		mask &= t->attach_send & (t->meta.mask | KDBUS_ATTACH_NAMES);
		mask &= ~(uint64_t)KDBUS_ATTACH_TIMESTAMP;
		names = kb_reg_meta_names(t, &n_names);
		r = write_info(c, t->id, t->hello_flags, NULL, &t->meta, names, n_names, mask, &off,
			       &size);
	}
	if (r < 0)
		return r;
	cmd->return_flags = 0;
	cmd->offset = off;
	cmd->info_size = size;
	r = kb_conn_respond(c, serial, 0, cmd, cmd->size, off, NULL, 0, 0);
	return r < 0 ? r : 1;
}

/* ---- UPDATE ---- */

int kb_conn_update(struct kb_conn *c, struct kdbus_cmd *cmd, const struct kd_items *it)
{
	uint64_t send = c->attach_send, recv = c->attach_recv;
	bool ph = c->hello_flags & KDBUS_HELLO_POLICY_HOLDER;
	bool act = c->hello_flags & KDBUS_HELLO_ACTIVATOR;
	int r;

	/* Validate everything before changing anything. */
	if (it->attach_send && (ph || act))
		return -EOPNOTSUPP;
	if (it->attach_recv && ph)
		return -EOPNOTSUPP;
	if ((it->n_names || it->n_policy) && !ph)
		return -EOPNOTSUPP;
	if (it->attach_send) {
		r = kd_attach_flags_normalize(it->attach_send->data64[0], &send);
		if (r < 0)
			return r;
	}
	if (it->attach_recv) {
		r = kd_attach_flags_normalize(it->attach_recv->data64[0], &recv);
		if (r < 0)
			return r;
	}
	r = kb_reg_update(c, cmd, it); /* a policy holder's new set, atomically */
	if (r < 0)
		return r;
	c->attach_send = send;
	c->attach_recv = recv;
	cmd->return_flags = 0;
	return 0;
}

/* ---- RECV by priority, DROP, FIXUP ---- */

static void publish_taken(struct kb_conn *c, struct kb_entry *e)
{
	(void)kd_pool_publish(c->pool, e->off);
	kb_conn_quota_charge(c, e->quota_key, e->size, e->n_fds_quota, -1);
	kd_pool_release_kernel(c->pool, e->off);
	e->taken = true;
}

int kb_conn_recv_prio(struct kb_conn *c, uint64_t serial, struct kdbus_cmd_recv *cmd)
{
	struct kd_proto_resp resp = { .cmd_size = cmd->size };
	struct kb_entry *best = NULL;
	struct kb_list *p, *t;
	int r;

	kb_conn_sync(c);
	/* Lowest priority value wins; FIFO among equals, pushed ones first. */
	kb_list_for_each_safe(p, t, &c->queue) {
		struct kb_entry *e = kb_list_entry(p, struct kb_entry, link);

		if (e->kind == KB_ENTRY_MSG && !e->taken && (!best || e->priority < best->priority))
			best = e;
	}
	kb_list_for_each_safe(p, t, &c->pending) {
		struct kb_entry *e = kb_list_entry(p, struct kb_entry, link);

		if (e->kind == KB_ENTRY_MSG && (!best || e->priority < best->priority))
			best = e;
	}
	if (!best || best->priority > cmd->priority)
		return -EAGAIN;

	cmd->msg.offset = best->off;
	cmd->msg.msg_size = best->size;
	cmd->msg.return_flags = 0;
	resp.offset = best->off;
	resp.fixup = best->fixup;
	publish_taken(c, best);
	if (best->seq && !best->held) {
		/* Its notice stays in the socket; the reader skips it by seq. */
		resp.seq = best->seq;
		r = kb_conn_respond_ex(c, serial, 0, &resp, cmd, NULL, 0);
	} else {
		resp.seq = best->seq; /* a held entry's WAKE notice is skipped likewise */
		kb_list_del(&best->link);
		r = kb_conn_respond_ex(c, serial, 0, &resp, cmd, best->fds, best->n_fds);
		kb_entry_free(c, best, false);
	}
	return r < 0 ? r : 1;
}

int kb_conn_drop(struct kb_conn *c, uint64_t seq)
{
	struct kb_list *p, *t;

	kb_conn_sync(c);
	kb_list_for_each_safe(p, t, &c->queue) {
		struct kb_entry *e = kb_list_entry(p, struct kb_entry, link);

		if (e->seq != seq)
			continue;
		kb_list_del(&e->link);
		if (e->kind == KB_ENTRY_MSG && !e->taken && e->expect_reply)
			kb_reply_dead_for(c, e->src_id, e->cookie);
		kb_entry_free(c, e, true);
		return 0;
	}
	return 0;
}

int kb_conn_fixup(struct kb_conn *c, uint64_t off, const int *fds, unsigned int n)
{
	uint64_t slice, pos;
	struct kdbus_msg *m;
	struct kdbus_item *it;
	unsigned int i = 0, k;

	kb_conn_sync(c);
	slice = kd_pool_slice_size(c->pool, off);
	if (!slice || slice < sizeof(*m))
		return -ENXIO;
	m = (struct kdbus_msg *)(c->pool_map + off);
	if (m->size > slice || m->size < sizeof(*m))
		return -EINVAL;
	/* We wrote this slice and the client cannot: its items are sound. */
	for (pos = sizeof(*m); pos + 16 <= m->size; pos += KD_ALIGN8(it->size)) {
		it = (struct kdbus_item *)((uint8_t *)m + pos);
		if (it->size < 16 || pos + it->size > m->size)
			break;
		if (it->type == KDBUS_ITEM_PAYLOAD_MEMFD) {
			if (i >= n)
				return -EINVAL;
			it->memfd.fd = fds[i++];
		}
	}
	for (pos = sizeof(*m); pos + 16 <= m->size; pos += KD_ALIGN8(it->size)) {
		it = (struct kdbus_item *)((uint8_t *)m + pos);
		if (it->size < 16 || pos + it->size > m->size)
			break;
		if (it->type == KDBUS_ITEM_FDS) {
			for (k = 0; k < (it->size - 16) / sizeof(int); k++) {
				if (i >= n)
					return -EINVAL;
				it->fds[k] = fds[i++];
			}
		}
	}
	return i == n ? 0 : -EINVAL;
}

/* ---- request dispatch ---- */

static int kind_allows(struct kb_conn *c, enum kd_cmd kind)
{
	bool act = c->hello_flags & KDBUS_HELLO_ACTIVATOR;
	bool ph = c->hello_flags & KDBUS_HELLO_POLICY_HOLDER;
	bool mon = c->hello_flags & KDBUS_HELLO_MONITOR;

	switch (kind) {
	case KD_CMD_SEND:
	case KD_CMD_NAME_ACQUIRE:
	case KD_CMD_NAME_RELEASE:
	case KD_CMD_MATCH_ADD:
	case KD_CMD_MATCH_REMOVE:
	case KD_CMD_BYEBYE:
		return act || ph || mon ? -EOPNOTSUPP : 0;
	case KD_CMD_RECV:
	case KD_CMD_FREE:
		return ph ? -EOPNOTSUPP : 0;
	default:
		return 0;
	}
}

static int byebye(struct kb_conn *c, uint64_t serial, struct kdbus_cmd *cmd)
{
	kb_conn_sync(c);
	if (!kb_list_empty(&c->pending))
		return -EBUSY;
	if (!kb_list_empty(&c->queue)) {
		struct kb_list *p, *t;

		kb_list_for_each_safe(p, t, &c->queue) {
			struct kb_entry *e = kb_list_entry(p, struct kb_entry, link);

			if (e->kind == KB_ENTRY_MSG && !e->taken)
				return -EBUSY;
		}
	}
	cmd->return_flags = 0;
	/* Hang up the queue socket first: when BYEBYE returns, poll() already says so. */
	(void)kd_poller_del(c->bus->poller, c->qsrc.fd);
	close(c->qsrc.fd);
	c->qsrc.fd = -1;
	(void)kb_conn_respond(c, serial, 0, cmd, cmd->size, ~0ull, NULL, 0, 0);
	kb_conn_disconnect(c);
	return 1;
}

/* Returns 1 if it responded itself, 0 for "respond with the command", -errno. */
static int execute(struct kb_conn *c, uint64_t serial, enum kd_cmd kind, uint8_t *body,
		   uint64_t size, int *fds, unsigned int n_fds)
{
	struct kd_items it;
	int r;

	if (c->state == KB_CONN_DEAD)
		return -ECONNRESET;
	if (kind >= _KD_CMD_MAX || kind == KD_CMD_MSG)
		return -ENOTTY;
	if (c->state == KB_CONN_NEW) {
		if (kind != KD_CMD_HELLO && kind != KD_CMD_ENDPOINT_MAKE)
			return -EBADFD;
	} else if (c->state == KB_CONN_CONNECTED) {
		if (kind == KD_CMD_HELLO || kind == KD_CMD_ENDPOINT_MAKE ||
		    kind == KD_CMD_BUS_MAKE || kind == KD_CMD_ENDPOINT_UPDATE)
			return -EBADFD;
		r = kind_allows(c, kind);
		if (r < 0)
			return r;
	} else if (kind != KD_CMD_ENDPOINT_UPDATE) {
		return -EBADFD;
	}
	if (kind == KD_CMD_SEND)
		return kb_send(c, serial, body, size, fds, n_fds);
	if (kind == KD_CMD_BUS_MAKE)
		return -EBADFD;

	r = kd_cmd_validate(kind, body, size, false, &it);
	if (r == 1)
		return 0;
	if (r < 0)
		return r;
	switch (kind) {
	case KD_CMD_HELLO:
		return kb_conn_hello(c, serial, (struct kdbus_cmd_hello *)body, &it);
	case KD_CMD_UPDATE:
		return kb_conn_update(c, (struct kdbus_cmd *)body, &it);
	case KD_CMD_BYEBYE:
		return byebye(c, serial, (struct kdbus_cmd *)body);
	case KD_CMD_CONN_INFO:
	case KD_CMD_BUS_CREATOR_INFO:
		return kb_conn_info(c, serial, kind, (struct kdbus_cmd_info *)body, &it);
	case KD_CMD_LIST:
		return kb_conn_list(c, serial, (struct kdbus_cmd_list *)body);
	case KD_CMD_RECV:
		if (!(((struct kdbus_cmd_recv *)body)->flags & KDBUS_RECV_USE_PRIORITY))
			return -EINVAL; /* the library serves the others from the socket */
		return kb_conn_recv_prio(c, serial, (struct kdbus_cmd_recv *)body);
	case KD_CMD_FREE:
		kb_conn_sync(c);
		return kd_pool_release_user(c->pool, ((struct kdbus_cmd_free *)body)->offset);
	case KD_CMD_ENDPOINT_MAKE:
	case KD_CMD_ENDPOINT_UPDATE:
	case KD_CMD_NAME_ACQUIRE:
	case KD_CMD_NAME_RELEASE:
	case KD_CMD_MATCH_ADD:
	case KD_CMD_MATCH_REMOVE:
		return kb_conn_bus_cmd(c, serial, kind, body, &it);
	default:
		return -ENOTTY;
	}
}

static void request(struct kb_conn *c, uint64_t serial, uint64_t kind, uint8_t *body,
		    uint64_t size, int *fds, unsigned int n_fds)
{
	int r;

	r = execute(c, serial, (enum kd_cmd)kind, body, size, fds, n_fds);
	/* SEND owns the fds; everything else has no use for them. */
	if (kind != KD_CMD_SEND)
		close_fds(fds, n_fds);
	if (r == 1 || c->state == KB_CONN_DEAD)
		return;
	if (r < 0)
		(void)kb_conn_respond(c, serial, r, NULL, 0, ~0ull, NULL, 0, 0);
	else
		(void)kb_conn_respond(c, serial, 0, body, kind == KD_CMD_SEND ? 0 : size, ~0ull,
				      NULL, 0, 0);
}

static void reset_rbuf(struct kb_conn *c)
{
	free(c->rbuf);
	c->rbuf = NULL;
	c->rbuf_len = c->rbuf_total = 0;
	close_fds(c->rfds, c->n_rfds);
	c->n_rfds = 0;
}

/* Fragments of one request read per wake-up: a 2 MiB SEND is 17 of them. */
#define KB_MAX_FRAGS 32

/* The largest request body: a SEND with a full message and 2 MiB of data. */
#define KB_MAX_BODY (sizeof(struct kd_proto_send) + 2 * KDBUS_CMD_MAX_SIZE + \
		     KDBUS_MSG_MAX_PAYLOAD_VEC_SIZE + 64)

static void packet(struct kb_conn *c, struct kd_proto_hdr *h, uint8_t *body, uint64_t len,
		   int *fds, unsigned int n_fds)
{
	switch (h->type) {
	case KD_PROTO_REQ:
		if (c->rbuf || !(h->flags & KD_PROTO_F_MORE)) {
			if (c->rbuf)
				break; /* a new request inside a fragmented one: protocol error */
			request(c, h->serial, h->arg, body, len, fds, n_fds);
			return;
		}
		if (h->total > KB_MAX_BODY || h->total < len || n_fds > KD_PROTO_MAX_FDS)
			break;
		c->rbuf = malloc(h->total ? h->total : 1);
		if (!c->rbuf)
			break;
		memcpy(c->rbuf, body, len);
		c->rbuf_len = len;
		c->rbuf_total = h->total;
		c->rbuf_serial = h->serial;
		c->rbuf_arg = h->arg;
		memcpy(c->rfds, fds, n_fds * sizeof(int));
		c->n_rfds = n_fds;
		return;
	case KD_PROTO_REQ_CONT:
		if (!c->rbuf || n_fds || h->serial != c->rbuf_serial)
			break;
		if (h->error) {
			/* The sender hit a fault in its own buffers mid-message. */
			(void)kb_conn_respond(c, h->serial, h->error < 0 && h->error > -4096 ?
					      (int)h->error : -EFAULT, NULL, 0, ~0ull, NULL, 0, 0);
			reset_rbuf(c);
			return;
		}
		if (len > c->rbuf_total - c->rbuf_len)
			break;
		memcpy(c->rbuf + c->rbuf_len, body, len);
		c->rbuf_len += len;
		if (c->rbuf_len == c->rbuf_total) {
			uint8_t *b = c->rbuf;
			unsigned int n = c->n_rfds;
			int tmp[KD_PROTO_MAX_FDS];

			memcpy(tmp, c->rfds, n * sizeof(int));
			c->rbuf = NULL;
			c->n_rfds = 0;
			request(c, c->rbuf_serial, c->rbuf_arg, b, c->rbuf_total, tmp, n);
			free(b);
			if (c->state != KB_CONN_DEAD)
				c->rbuf_len = c->rbuf_total = 0;
		}
		return;
	case KD_PROTO_FIXUP: {
		int r = -EINVAL;

		if (len % sizeof(int) == 0 && len / sizeof(int) <= KD_PROTO_MAX_FDS && !n_fds &&
		    c->state == KB_CONN_CONNECTED)
			r = kb_conn_fixup(c, h->arg, (const int *)body, len / sizeof(int));
		(void)kb_conn_respond(c, h->serial, r, NULL, 0, ~0ull, NULL, 0, 0);
		return;
	}
	case KD_PROTO_DROP:
		if (n_fds || c->state != KB_CONN_CONNECTED)
			break;
		(void)kb_conn_drop(c, h->arg);
		(void)kb_conn_respond(c, h->serial, 0, NULL, 0, ~0ull, NULL, 0, 0);
		return;
	case KD_PROTO_FETCH: {
		int r = -EINVAL;

		/* The held message behind a WAKE notice (activator.c). */
		if (!n_fds && c->state == KB_CONN_CONNECTED)
			r = kb_conn_fetch(c, h->serial, h->arg, body, len);
		if (r != 1)
			(void)kb_conn_respond(c, h->serial, r, NULL, 0, ~0ull, NULL, 0, 0);
		return;
	}
	case KD_PROTO_FREE:
		if (n_fds)
			break;
		kb_conn_sync(c);
		return;
	default:
		break;
	}
	/* Anything else is a client breaking the protocol: it loses its connection. */
	close_fds(fds, n_fds);
	kb_conn_disconnect(c);
}

static ssize_t recv_packet(int fd, void *buf, size_t size, int *fds, unsigned int *n_fds,
			   int *flags)
{
	struct iovec iov = { buf, size };

	return kd_os_recv_fds(fd, &iov, 1, fds, KD_PROTO_MAX_FDS, n_fds, MSG_DONTWAIT, flags);
}

void kb_conn_on_cmd(struct kb_conn *c, uint32_t events)
{
	int fds[KD_PROTO_MAX_FDS], flags;
	unsigned int n_fds, budget = 1, frags = 0;
	struct kd_proto_hdr *h;
	ssize_t n;

	/*
	 * One packet per wake-up: the poller is level-triggered and reports us
	 * again if more is waiting, which spares the read that would only say
	 * EAGAIN (a syscall per message on the round-trip path) and keeps one
	 * busy client from starving the others.
	 */
	while (budget-- && c->state != KB_CONN_DEAD && c->csrc.fd >= 0) {
		n = recv_packet(c->csrc.fd, rx_buf, sizeof(rx_buf), fds, &n_fds, &flags);
		if (n == -EAGAIN)
			return;
		if (n <= 0 || (flags & (MSG_TRUNC | MSG_CTRUNC)) ||
		    n < (ssize_t)sizeof(struct kd_proto_hdr)) {
			if (n > 0)
				close_fds(fds, n_fds);
			kb_conn_disconnect(c);
			kb_conn_free(c);
			return;
		}
		h = (struct kd_proto_hdr *)rx_buf;
		if (h->n_fds != n_fds) {
			close_fds(fds, n_fds);
			kb_conn_disconnect(c);
			kb_conn_free(c);
			return;
		}
		packet(c, h, rx_buf + sizeof(*h), (uint64_t)n - sizeof(*h), fds, n_fds);
		if (c->state == KB_CONN_DEAD) {
			kb_conn_free(c);
			return;
		}
		/* Mid-way through a fragmented request: take the rest while it is there. */
		if (c->rbuf && !budget && frags++ < KB_MAX_FRAGS)
			budget = 1;
	}
}

static void attach(struct kb_conn *c)
{
	int fds[KD_PROTO_MAX_FDS], flags;
	unsigned int n_fds;
	struct kd_proto_hdr *h;
	ssize_t n;

	n = recv_packet(c->qsrc.fd, rx_buf, sizeof(rx_buf), fds, &n_fds, &flags);
	if (n == -EAGAIN)
		return;
	h = (struct kd_proto_hdr *)rx_buf;
	if (n < (ssize_t)(sizeof(*h) + sizeof(struct kd_proto_attach)) || h->type != KD_PROTO_ATTACH ||
	    n_fds != 1 || c->csrc.fd >= 0) {
		if (n > 0)
			close_fds(fds, n_fds);
		kb_conn_disconnect(c);
		kb_conn_free(c);
		return;
	}
	c->csrc.fd = fds[0];
	(void)fcntl(c->csrc.fd, F_SETFL, O_NONBLOCK);
	/* From now on only hang-ups matter here; the tombstone behind ATTACH stays unread. */
	if (kd_poller_mod(c->bus->poller, c->qsrc.fd, 0, &c->qsrc) < 0 ||
	    kd_poller_add(c->bus->poller, c->csrc.fd, KD_POLL_IN, &c->csrc) < 0) {
		kb_conn_disconnect(c);
		kb_conn_free(c);
	}
}

void kb_conn_on_queue(struct kb_conn *c, uint32_t events)
{
	if (events & (KD_POLL_HUP | KD_POLL_ERR)) {
		kb_conn_disconnect(c);
		kb_conn_free(c);
		return;
	}
	if ((events & KD_POLL_IN) && c->csrc.fd < 0) {
		attach(c);
		return;
	}
	if (events & KD_POLL_IN) {
		/* Only ATTACH may be written here; more is a protocol breach. */
		kb_conn_disconnect(c);
		kb_conn_free(c);
		return;
	}
	if (events & KD_POLL_OUT) {
		c->out_blocked = false;
		(void)kd_poller_mod(c->bus->poller, c->qsrc.fd, 0, &c->qsrc);
		kb_conn_push(c);
	}
}
