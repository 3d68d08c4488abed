/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4 */
#endif
/*
 * Custom endpoints (spec 1.3, 3.2 ENDPOINT_MAKE/UPDATE): a listening socket
 * <busdir>/<uid>-<name> next to the default "bus" one, a policy database
 * that denies everything until the owner fills it, and a lifetime tied to
 * the endpoint-owner handle: its hang-up removes the file and disconnects
 * every connection made through it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend-socket/broker/reg.h"
#include "os/os.h"

static struct kb_ep *ep_find(struct kb_reg *reg, const char *name)
{
	struct kb_list *p, *t;

	kb_list_for_each_safe(p, t, &reg->endpoints) {
		struct kb_ep *ep = kb_list_entry(p, struct kb_ep, link);

		if (!strcmp(ep->name, name))
			return ep;
	}
	return NULL;
}

static struct kb_ep *ep_free(struct kb_ep *ep)
{
	if (!ep)
		return NULL;
	if (ep->listen.fd >= 0) {
		(void)kd_poller_del(ep->bus->poller, ep->listen.fd);
		close(ep->listen.fd);
		(void)unlink(ep->path);
	}
	kd_policy_db_free(ep->policy);
	free(ep->name);
	free(ep->path);
	free(ep);
	return NULL;
}

int kb_ep_make(struct kb_conn *c, struct kdbus_cmd *cmd, const struct kd_items *it)
{
	struct kb_reg *reg = kb_reg_get(c->bus);
	char prefix[32];
	mode_t mode = 0600;
	struct kb_ep *ep;
	int r;

	if (!reg)
		return -ENOMEM;
	/* Owner on the default endpoint only (spec 3.2). */
	if (c->ep || !kb_reg_is_owner(c))
		return -EPERM;
	if (!it->make_name)
		return -EINVAL;
	snprintf(prefix, sizeof(prefix), "%u-", (unsigned int)c->uid);
	if (strncmp(it->make_name->str, prefix, strlen(prefix)) != 0 ||
	    !strcmp(it->make_name->str, "bus"))
		return -EINVAL;
	if (ep_find(reg, it->make_name->str))
		return -EEXIST;

	ep = calloc(1, sizeof(*ep));
	if (!ep)
		return -ENOMEM;
	ep->bus = c->bus;
	ep->listen = (struct kb_src){ KB_SRC_EP_LISTEN, -1, ep };
	ep->name = strdup(it->make_name->str);
	ep->policy = kd_policy_db_new();
	if (!ep->name || !ep->policy || asprintf(&ep->path, "%s/%s", c->bus->dir, ep->name) < 0) {
		ep->path = NULL;
		ep_free(ep);
		return -ENOMEM;
	}
	if (cmd->flags & KDBUS_MAKE_ACCESS_GROUP)
		mode |= 0060;
	if (cmd->flags & KDBUS_MAKE_ACCESS_WORLD)
		mode |= 0066;
	r = kb_listen(ep->path, mode);
	if (r < 0) {
		ep_free(ep);
		return r;
	}
	ep->listen.fd = r;
	r = kd_poller_add(c->bus->poller, ep->listen.fd, KD_POLL_IN, &ep->listen);
	if (r < 0) {
		ep_free(ep);
		return r;
	}
	ep->owner = c;
	/* Above every uid + 1 key; never reused within the bus. */
	ep->quota_key = (1ull << 33) + ++reg->ep_serial;
	kb_list_add_tail(&reg->endpoints, &ep->link);
	c->state = KB_CONN_EP_OWNER;
	cmd->return_flags = 0;
	return 0;
}

int kb_ep_update(struct kb_conn *c, struct kdbus_cmd *cmd, const struct kd_items *it)
{
	struct kb_reg *reg = c->bus->reg;
	struct kb_list *p, *t;

	if (!reg)
		return -EBADFD;
	kb_list_for_each_safe(p, t, &reg->endpoints) {
		struct kb_ep *ep = kb_list_entry(p, struct kb_ep, link);

		if (ep->owner != c)
			continue;
		cmd->return_flags = 0;
		/* Any number of names, wildcards too; the whole set is replaced atomically. */
		return kd_policy_set(ep->policy, ep, cmd->items,
				     cmd->size - offsetof(struct kdbus_cmd, items), 0, true, NULL, NULL);
	}
	return -EBADFD;
}

void kb_ep_accept(struct kb_ep *ep)
{
	struct kb_conn *c;
	int fd;

	for (;;) {
		fd = accept4(ep->listen.fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		c = kb_conn_new(ep->bus, fd);
		if (!c)
			close(fd);
		else
			c->ep = ep;
	}
}

/* Tear an endpoint down: no new opens, every connection through it is cut. */
static void ep_remove(struct kb_reg *reg, struct kb_ep *ep)
{
	struct kb_list *p, *t;

	kb_list_del(&ep->link);
	if (ep->listen.fd >= 0) {
		(void)kd_poller_del(ep->bus->poller, ep->listen.fd);
		close(ep->listen.fd);
		(void)unlink(ep->path);
		ep->listen.fd = -1;
	}
	kb_list_for_each_safe(p, t, &ep->bus->conns) {
		struct kb_conn *c = kb_list_entry(p, struct kb_conn, link);

		if (c->ep != ep)
			continue;
		kb_conn_disconnect(c);
		c->ep = NULL;
		/* Freed at the end of the batch; at bus teardown (no listener) the caller frees. */
		if (ep->bus->listen.fd >= 0)
			kb_conn_free(c);
	}
	ep_free(ep);
}

void kb_ep_owner_gone(struct kb_conn *c)
{
	struct kb_reg *reg = c->bus->reg;
	struct kb_list *p, *t;

	if (!reg)
		return;
	kb_list_for_each_safe(p, t, &reg->endpoints) {
		struct kb_ep *ep = kb_list_entry(p, struct kb_ep, link);

		if (ep->owner == c)
			ep_remove(reg, ep);
	}
}

void kb_ep_free_all(struct kb_reg *reg)
{
	struct kb_list *p, *t;

	kb_list_for_each_safe(p, t, &reg->endpoints) {
		struct kb_ep *ep = kb_list_entry(p, struct kb_ep, link);

		kb_list_del(&ep->link);
		ep_free(ep);
	}
}
