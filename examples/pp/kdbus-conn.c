/* SPDX-License-Identifier: BSD-2-Clause */
/* ping-pong: one kdbus connection through the compat API (HELLO, SEND, RECV, FREE). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <kdbus/compat.h>

#include "kdbus-conn.h"
#include "pp.h"

/* A call's deadline: long enough never to fire in a benchmark. */
#define PP_CALL_TIMEOUT_NS (30ULL * 1000000000ULL)

int pp_kconn_open(const char *path, struct pp_kconn *c)
{
	struct kdbus_cmd_hello hello;
	struct kdbus_cmd_free fr;
	void *pool;
	int r;

	memset(c, 0, sizeof(*c));
	c->fd = kdbus_open(path, O_RDWR | O_CLOEXEC);
	if (c->fd < 0)
		return -errno;
	memset(&hello, 0, sizeof(hello));
	hello.size = sizeof(hello);
	hello.flags = KDBUS_HELLO_ACCEPT_FD;
	hello.pool_size = pp_opts.pool_size;
	r = kdbus_cmd_hello(c->fd, &hello);
	if (r < 0)
		goto fail;
	c->id = hello.id;
	c->pool_size = hello.pool_size;
	pool = kdbus_mmap(NULL, c->pool_size, PROT_READ, MAP_SHARED, c->fd, 0);
	if (pool == MAP_FAILED) {
		r = -errno;
		goto fail;
	}
	c->pool = pool;
	/* the HELLO slice holds the bloom parameters, which we chose ourselves */
	memset(&fr, 0, sizeof(fr));
	fr.size = sizeof(fr);
	fr.offset = hello.offset;
	r = kdbus_cmd_free(c->fd, &fr);
	if (r < 0)
		goto fail;
	return 0;

fail:
	pp_kconn_close(c);
	return r;
}

void pp_kconn_close(struct pp_kconn *c)
{
	if (c->pool)
		kdbus_munmap((void *)c->pool, c->pool_size);
	if (c->fd >= 0)
		kdbus_close(c->fd);
	c->pool = NULL;
	c->fd = -1;
}

static uint64_t pp_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Parse the message at offset; on error the slice is already released. */
static int pp_kin_parse(struct pp_kconn *c, uint64_t offset, struct pp_kin *in)
{
	const struct kdbus_msg *m;
	const struct kdbus_item *it;
	const uint8_t *end;
	unsigned parts = 0;
	int r = 0;

	memset(in, 0, sizeof(*in));
	in->offset = offset;
	in->memfd = -1;
	if (offset > c->pool_size || c->pool_size - offset < sizeof(*m)) {
		r = -EBADMSG;
		goto fail;
	}
	m = (const struct kdbus_msg *)(c->pool + offset);
	if (m->size < sizeof(*m) || m->size > c->pool_size - offset) {
		r = -EBADMSG;
		goto fail;
	}
	in->src_id = m->src_id;
	in->cookie = m->cookie;
	in->flags = m->flags;
	in->is_call = m->flags & KDBUS_MSG_EXPECT_REPLY;
	in->is_kernel = m->payload_type == KDBUS_PAYLOAD_KERNEL;
	in->cookie_reply = in->is_call ? 0 : m->cookie_reply;
	end = (const uint8_t *)m + m->size;
	for (it = m->items; (const uint8_t *)it + KDBUS_ITEM_HEADER_SIZE <= end;
	     it = KDBUS_ITEM_NEXT(it)) {
		if (it->size < KDBUS_ITEM_HEADER_SIZE || it->size > (uint64_t)(end - (const uint8_t *)it)) {
			r = -EBADMSG;
			break;
		}
		switch (it->type) {
		case KDBUS_ITEM_PAYLOAD_OFF:
			if (it->vec.offset == ~0ULL || it->vec.offset > c->pool_size - offset ||
			    it->vec.size > c->pool_size - offset - it->vec.offset) {
				r = -EBADMSG;
				break;
			}
			parts++;
			in->data = (const uint8_t *)m + it->vec.offset;
			in->len = it->vec.size;
			break;
		case KDBUS_ITEM_PAYLOAD_MEMFD:
			parts++;
			if (in->memfd >= 0)
				close(in->memfd);
			in->memfd = it->memfd.fd;
			in->len = it->memfd.size;
			if (in->memfd >= 0)
				r = pp_memfd_map(in->memfd, it->memfd.start, it->memfd.size, &in->data,
						 &in->map, &in->maplen);
			else
				r = -EBADF;
			break;
		case KDBUS_ITEM_FDS:
			for (uint64_t i = 0; i < (it->size - KDBUS_ITEM_HEADER_SIZE) / sizeof(int); i++)
				if (it->fds[i] >= 0)
					close(it->fds[i]);
			break;
		default:
			break;
		}
		if (r < 0)
			break;
	}
	/* one request = one payload part; anything else is not what we sent */
	if (r == 0 && parts > 1)
		r = -EBADMSG;
	if (r == 0)
		return 0;
fail:
	pp_kin_release(c, in);
	return r;
}

void pp_kin_release(struct pp_kconn *c, struct pp_kin *in)
{
	struct kdbus_cmd_free fr;

	if (in->map)
		munmap(in->map, in->maplen);
	if (in->memfd >= 0)
		close(in->memfd);
	in->map = NULL;
	in->memfd = -1;
	memset(&fr, 0, sizeof(fr));
	fr.size = sizeof(fr);
	fr.offset = in->offset;
	kdbus_cmd_free(c->fd, &fr);
}

int pp_kconn_send(struct pp_kconn *c, uint64_t dst, uint64_t msg_flags, uint64_t cookie,
		  uint64_t cookie_reply, uint64_t send_flags, const void *data, size_t len,
		  unsigned kind, int memfd, struct pp_kin *reply)
{
	uint64_t buf[(sizeof(struct kdbus_msg) + 64 + KDBUS_ITEM_HEADER_SIZE + 8 + PP_BLOOM_SIZE) / 8];
	struct kdbus_msg *m = (struct kdbus_msg *)buf;
	struct kdbus_cmd_send cmd;
	struct kdbus_item *it;
	int fresh = -1, r;

	memset(buf, 0, sizeof(buf));
	m->flags = msg_flags;
	m->dst_id = dst;
	m->payload_type = KDBUS_PAYLOAD_DBUS;
	m->cookie = cookie;
	if (msg_flags & KDBUS_MSG_EXPECT_REPLY)
		m->timeout_ns = pp_mono_ns() + PP_CALL_TIMEOUT_NS;
	else
		m->cookie_reply = cookie_reply;
	it = m->items;
	if (kind == PP_PAYLOAD_MEMFD || kind == PP_PAYLOAD_MEMFD_FRESH) {
		if (kind == PP_PAYLOAD_MEMFD_FRESH) {
			fresh = memfd = pp_memfd_new(data, len);
			if (memfd < 0)
				return memfd;
		}
		it->type = KDBUS_ITEM_PAYLOAD_MEMFD;
		it->size = KDBUS_ITEM_HEADER_SIZE + sizeof(struct kdbus_memfd);
		it->memfd.start = 0;
		it->memfd.size = len;
		it->memfd.fd = memfd;
	} else {
		it->type = KDBUS_ITEM_PAYLOAD_VEC;
		it->size = KDBUS_ITEM_HEADER_SIZE + sizeof(struct kdbus_vec);
		it->vec.size = len;
		it->vec.address = (uintptr_t)data;
	}
	it = KDBUS_ITEM_NEXT(it);
	if (msg_flags & KDBUS_MSG_SIGNAL) {
		/* all-zero masks match any filter; set one bit so the filter is not empty */
		it->type = KDBUS_ITEM_BLOOM_FILTER;
		it->size = KDBUS_ITEM_HEADER_SIZE + sizeof(struct kdbus_bloom_filter) + PP_BLOOM_SIZE;
		it->bloom_filter.generation = 0;
		it->bloom_filter.data[0] = 1;
		it = KDBUS_ITEM_NEXT(it);
	}
	m->size = (uint64_t)((uint8_t *)it - (uint8_t *)m);

	memset(&cmd, 0, sizeof(cmd));
	cmd.size = sizeof(cmd);
	cmd.flags = send_flags;
	cmd.msg_address = (uintptr_t)m;
	r = kdbus_cmd_send(c->fd, &cmd);
	if (fresh >= 0)
		close(fresh);
	if (r < 0)
		return r;
	if (send_flags & KDBUS_SEND_SYNC_REPLY)
		return pp_kin_parse(c, cmd.reply.offset, reply);
	return 0;
}

int pp_kconn_recv(struct pp_kconn *c, struct pp_kin *in)
{
	struct kdbus_cmd_recv cmd;
	int r;

	memset(&cmd, 0, sizeof(cmd));
	cmd.size = sizeof(cmd);
	r = kdbus_cmd_recv(c->fd, &cmd);
	if (cmd.return_flags & KDBUS_RECV_RETURN_DROPPED_MSGS)
		c->dropped += cmd.dropped_msgs;
	if (r < 0)
		return r;
	return pp_kin_parse(c, cmd.msg.offset, in);
}

int pp_kconn_match_all(struct pp_kconn *c, uint64_t cookie)
{
	uint64_t buf[(sizeof(struct kdbus_cmd_match) + KDBUS_ITEM_HEADER_SIZE + PP_BLOOM_SIZE) / 8];
	struct kdbus_cmd_match *cmd = (struct kdbus_cmd_match *)buf;
	struct kdbus_item *it = cmd->items;

	memset(buf, 0, sizeof(buf));
	/* an all-zero bloom mask matches every filter (spec 9.5) */
	it->type = KDBUS_ITEM_BLOOM_MASK;
	it->size = KDBUS_ITEM_HEADER_SIZE + PP_BLOOM_SIZE;
	cmd->size = sizeof(*cmd) + it->size;
	cmd->cookie = cookie;
	return kdbus_cmd_match_add(c->fd, cmd);
}
