/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, dup3, asprintf, memfd and SCM ancillary data */
#endif
/*
 * The bus: BUS_MAKE from the creator, the bus directory and endpoint
 * socket, the id table and the timers of reply trackers.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend-socket/broker/broker.h"
#include "core/item.h"
#include "os/os.h"

static int read_request(int fd, uint8_t *buf, size_t size, struct kd_proto_hdr *hdr,
			uint64_t *body_size)
{
	struct iovec iov[2] = { { hdr, sizeof(*hdr) }, { buf, size } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;

	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < (ssize_t)sizeof(*hdr) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		return -EPROTO;
	*body_size = (uint64_t)n - sizeof(*hdr);
	return 0;
}

static int respond_raw(int fd, uint64_t serial, int err, const void *cmd, uint64_t cmd_size)
{
	struct kd_proto_hdr hdr = { .type = KD_PROTO_RESP, .serial = serial, .error = err };
	struct kd_proto_resp resp = { .cmd_size = cmd_size, .offset = ~0ull };
	struct iovec iov[3] = { { &hdr, sizeof(hdr) }, { &resp, sizeof(resp) },
				{ (void *)cmd, cmd_size } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 3 };

	return sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static void random_id128(uint8_t id[16])
{
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, id, 16) : -1;

	if (fd >= 0)
		close(fd);
	if (n != 16) {
		uint64_t t = kd_os_now_mono() ^ ((uint64_t)getpid() << 32);

		memcpy(id, &t, 8);
		t = kd_os_now_real() * 0x9e3779b97f4a7c15ull;
		memcpy(id + 8, &t, 8);
	}
	/* version 4, DCE variant */
	id[6] = (id[6] & 0x0f) | 0x40;
	id[8] = (id[8] & 0x3f) | 0x80;
}

/* A leftover bus directory whose broker died is reclaimed; a live one is EEXIST. */
static int claim_dir(const char *dir, const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (strlen(sock) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (r == 0)
		return -EEXIST;
	/* Nobody listens: a stale directory. Reclaim what we know lives in it. */
	(void)unlink(sock);
	return 0;
}

/* Live buses of uid under root (spec 10.1: at most KDBUS_USER_MAX_BUSES). */
static unsigned int count_buses(const char *root, uid_t uid)
{
	char prefix[32], sock[PATH_MAX];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	unsigned int n = 0;
	struct dirent *de;
	DIR *d;
	int fd;

	snprintf(prefix, sizeof(prefix), "%u-", (unsigned int)uid);
	d = opendir(root);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		if (snprintf(sock, sizeof(sock), "%s/%s/bus", root, de->d_name) >=
		    (int)sizeof(sa.sun_path))
			continue;
		strcpy(sa.sun_path, sock);
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		/* Only a broker that answers counts; dead directories are reclaimed. */
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			n++;
		close(fd);
	}
	closedir(d);
	return n;
}

int kb_listen(const char *path, mode_t mode)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	/* bind() never replaces: a stale file of a dead broker or endpoint is ours to remove. */
	if (r < 0 && errno == EADDRINUSE && unlink(path) == 0)
		r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (r < 0 || chmod(path, mode) < 0 || listen(fd, 128) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int bus_setup(struct kb_bus *bus, struct kdbus_cmd *cmd, const struct kd_items *it)
{
	const struct kdbus_bloom_parameter *bp;
	char prefix[32];
	uint64_t attach = 0;
	mode_t dmode = 0700, smode = 0600;
	int r;

	/* Mandatory items: EINVAL (kdbus; the man page's EBADMSG is wrong). */
	if (!it->make_name || !it->bloom_parameter)
		return -EINVAL;
	bp = &it->bloom_parameter->bloom_parameter;
	if (bp->size < 8 || bp->size > KDBUS_BUS_BLOOM_MAX_SIZE || bp->size % 8 || bp->n_hash < 1)
		return -EINVAL;
	if (it->attach_send) {
		r = kd_attach_flags_normalize(it->attach_send->data64[0], &attach);
		if (r < 0)
			return r;
	}
	snprintf(prefix, sizeof(prefix), "%u-", (unsigned int)bus->creator_uid);
	if (strncmp(it->make_name->str, prefix, strlen(prefix)) != 0)
		return -EINVAL;

	bus->flags = cmd->flags;
	bus->attach_owner = attach;
	bus->bloom_size = bp->size;
	bus->bloom_n_hash = bp->n_hash;
	bus->name = strdup(it->make_name->str);
	if (!bus->name ||
	    asprintf(&bus->dir, "%s/%s", bus->root, bus->name) < 0 ||
	    asprintf(&bus->bus_path, "%s/bus", bus->dir) < 0)
		return -ENOMEM;

	if (cmd->flags & KDBUS_MAKE_ACCESS_GROUP) {
		dmode |= 0050;
		smode |= 0060;
	}
	if (cmd->flags & KDBUS_MAKE_ACCESS_WORLD) {
		dmode |= 0055;
		smode |= 0066;
	}
	if (count_buses(bus->root, bus->creator_uid) >= KDBUS_USER_MAX_BUSES)
		return -EMFILE;
	r = claim_dir(bus->dir, bus->bus_path);
	if (r < 0)
		return r;
	(void)chmod(bus->dir, dmode);
	r = kb_listen(bus->bus_path, smode);
	if (r < 0) {
		(void)rmdir(bus->dir);
		return r;
	}
	bus->listen.fd = r;
	return 0;
}

int kb_bus_make(struct kb_bus *bus, int creator_fd, const char *root)
{
	static uint8_t buf[KDBUS_CMD_MAX_SIZE + 8] __attribute__((aligned(8)));
	struct kd_proto_hdr hdr;
	struct kd_items it;
	uint64_t size;
	pid_t pid;
	gid_t gid;
	int r;

	memset(bus, 0, sizeof(*bus));
	kb_list_init(&bus->conns);
	kb_list_init(&bus->graveyard);
	kb_list_init(&bus->reply_graveyard);
	bus->creator = (struct kb_src){ KB_SRC_CREATOR, creator_fd, bus };
	bus->listen = (struct kb_src){ KB_SRC_LISTEN, -1, bus };
	bus->root = strdup(root);
	bus->id = 1;
	bus->next_id = 2;
	if (!bus->root)
		return -ENOMEM;

	r = read_request(creator_fd, buf, sizeof(buf), &hdr, &size);
	if (r < 0)
		return r;
	if (hdr.type != KD_PROTO_REQ || hdr.arg != KD_CMD_BUS_MAKE)
		return -EPROTO;

	r = kd_os_peercred(creator_fd, &pid, &bus->creator_uid, &gid);
	if (r >= 0) {
		r = kd_cmd_validate(KD_CMD_BUS_MAKE, buf, size, false, &it);
		if (r == 1) {
			respond_raw(creator_fd, hdr.serial, 0, buf, size);
			return -ECANCELED;
		}
	}
	if (r >= 0)
		r = bus_setup(bus, (struct kdbus_cmd *)buf, &it);
	if (r >= 0) {
		random_id128(bus->id128);
		(void)kd_os_proc_meta(pid, 0, _KDBUS_ATTACH_ALL, &bus->creator_meta);
		r = kd_poller_new(&bus->poller);
	}
	if (r >= 0)
		r = kd_poller_add(bus->poller, creator_fd, KD_POLL_IN, &bus->creator);
	if (r >= 0)
		r = kd_poller_add(bus->poller, bus->listen.fd, KD_POLL_IN, &bus->listen);
	if (r < 0) {
		respond_raw(creator_fd, hdr.serial, r, buf, size);
		kb_bus_destroy(bus);
		return r;
	}
	((struct kdbus_cmd *)buf)->return_flags = 0;
	return respond_raw(creator_fd, hdr.serial, 0, buf, size);
}

void kb_bus_destroy(struct kb_bus *bus)
{
	struct kb_list *p, *t;

	/* Unlink first: new opens must fail while we tear down. */
	if (bus->listen.fd >= 0) {
		(void)unlink(bus->bus_path);
		close(bus->listen.fd);
		bus->listen.fd = -1;
	}
	kb_list_for_each_safe(p, t, &bus->conns)
		kb_conn_disconnect(kb_list_entry(p, struct kb_conn, link));
	kb_list_for_each_safe(p, t, &bus->conns)
		kb_conn_free(kb_list_entry(p, struct kb_conn, link));
	kb_bus_reap(bus);
	kb_reg_bus_destroy(bus); /* removes custom endpoint files too */
	if (bus->dir)
		(void)rmdir(bus->dir);
	bus->poller = kd_poller_free(bus->poller);
	kd_meta_clear(&bus->creator_meta);
	free(bus->by_id);
	free(bus->name);
	free(bus->dir);
	free(bus->bus_path);
	free(bus->root);
	memset(bus, 0, sizeof(*bus));
	bus->listen.fd = -1;
}

void kb_bus_accept(struct kb_bus *bus)
{
	int fd;

	for (;;) {
		fd = accept4(bus->listen.fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		if (!kb_conn_new(bus, fd))
			close(fd);
	}
}

/* ---- id table: open addressing, linear probing, backward-shift delete ---- */

static uint64_t slot_of(uint64_t id, uint64_t cap)
{
	return (id * 0x9e3779b97f4a7c15ull) & (cap - 1);
}

struct kb_conn *kb_bus_find(struct kb_bus *bus, uint64_t id)
{
	uint64_t i;

	if (!bus->by_id_cap || id == 0)
		return NULL;
	for (i = slot_of(id, bus->by_id_cap); bus->by_id[i]; i = (i + 1) & (bus->by_id_cap - 1))
		if (bus->by_id[i]->id == id)
			return bus->by_id[i];
	return NULL;
}

static void insert_slot(struct kb_conn **tab, uint64_t cap, struct kb_conn *c)
{
	uint64_t i;

	for (i = slot_of(c->id, cap); tab[i]; i = (i + 1) & (cap - 1))
		;
	tab[i] = c;
}

int kb_bus_index(struct kb_bus *bus, struct kb_conn *c)
{
	if ((bus->by_id_n + 1) * 2 > bus->by_id_cap) {
		uint64_t cap = bus->by_id_cap ? bus->by_id_cap * 2 : 64, i;
		struct kb_conn **tab = calloc(cap, sizeof(*tab));

		if (!tab)
			return -ENOMEM;
		for (i = 0; i < bus->by_id_cap; i++)
			if (bus->by_id[i])
				insert_slot(tab, cap, bus->by_id[i]);
		free(bus->by_id);
		bus->by_id = tab;
		bus->by_id_cap = cap;
	}
	insert_slot(bus->by_id, bus->by_id_cap, c);
	bus->by_id_n++;
	return 0;
}

void kb_bus_unindex(struct kb_bus *bus, struct kb_conn *c)
{
	uint64_t mask = bus->by_id_cap - 1, i, j, k;

	if (!bus->by_id_cap)
		return;
	for (i = slot_of(c->id, bus->by_id_cap); bus->by_id[i]; i = (i + 1) & mask)
		if (bus->by_id[i] == c)
			break;
	if (!bus->by_id[i])
		return;
	bus->by_id[i] = NULL;
	bus->by_id_n--;
	/* Shift back entries that probed past the hole. */
	for (j = (i + 1) & mask; bus->by_id[j]; j = (j + 1) & mask) {
		k = slot_of(bus->by_id[j]->id, bus->by_id_cap);
		if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
			bus->by_id[i] = bus->by_id[j];
			bus->by_id[j] = NULL;
			i = j;
		}
	}
}

/* ---- timers: deadlines of reply trackers ---- */

int kb_bus_next_timeout(struct kb_bus *bus)
{
	uint64_t now, min = UINT64_MAX;
	struct kb_list *p, *q, *t, *u;

	if (!bus->n_trackers)
		return -1;
	kb_list_for_each_safe(p, t, &bus->conns) {
		struct kb_conn *c = kb_list_entry(p, struct kb_conn, link);

		kb_list_for_each_safe(q, u, &c->replies) {
			struct kb_reply *r = kb_list_entry(q, struct kb_reply, link);

			if (r->deadline_ns < min)
				min = r->deadline_ns;
		}
	}
	if (min == UINT64_MAX)
		return -1;
	now = kd_os_now_mono();
	if (min <= now)
		return 0;
	/* Round up so we never wake just before the deadline. */
	return (int)KD_MIN((min - now + 999999) / 1000000, (uint64_t)60000);
}

void kb_bus_timers(struct kb_bus *bus)
{
	struct kb_list *p, *q, *t, *u;
	uint64_t now;

	if (!bus->n_trackers)
		return;
	now = kd_os_now_mono();
	kb_list_for_each_safe(p, t, &bus->conns) {
		struct kb_conn *c = kb_list_entry(p, struct kb_conn, link);

		kb_list_for_each_safe(q, u, &c->replies) {
			struct kb_reply *r = kb_list_entry(q, struct kb_reply, link);

			if (r->deadline_ns <= now)
				kb_reply_timeout(r);
		}
	}
}
