/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The front API (kdbus/libkdbus.h), written only against the compat API so
 * that every backend gets it unchanged: everything that touches the bus goes
 * through kdbus_open(), the kdbus_cmd_ wrappers, kdbus_mmap() and kdbus_close().
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <kdbus/bloom.h>
#include <kdbus/compat.h>
#include <kdbus/libkdbus.h>
#include "os/os.h"

#define LK_NAME_MAX 255 /* KDBUS_NAME_MAX_LEN, spec 10.1 */

/* ---- small helpers ---- */

static void lk_ref(unsigned long *n)
{
	__atomic_add_fetch(n, 1, __ATOMIC_RELAXED);
}

/* True when the last reference went away. */
static bool lk_unref(unsigned long *n)
{
	return __atomic_sub_fetch(n, 1, __ATOMIC_ACQ_REL) == 0;
}

static int lk_close(int fd)
{
	if (fd >= 0)
		close(fd);
	return -1;
}

/* "a" + "b" + "c" in fresh memory, or NULL. */
static char *lk_strcat3(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *s = malloc(la + lb + lc + 1);

	if (!s)
		return NULL;
	memcpy(s, a, la);
	memcpy(s + la, b, lb);
	memcpy(s + la + lb, c, lc + 1);
	return s;
}

/*
 * Write an item at *pos and move *pos past its padding. String items get
 * size 16 + strlen + 1 exactly: padding in size would add NULs (spec 5.2).
 * The buffer must be zeroed so that padding is zero.
 */
static void lk_item_put(uint8_t **pos, uint64_t type, const void *a, size_t la, const void *b,
			size_t lb)
{
	/* Raw bytes, not struct kdbus_item: its 80-byte union overhangs small buffers. */
	uint64_t hdr[2] = { KDBUS_ITEM_HEADER_SIZE + la + lb, type };

	memcpy(*pos, hdr, sizeof(hdr));
	if (la)
		memcpy(*pos + sizeof(hdr), a, la);
	if (lb)
		memcpy(*pos + sizeof(hdr) + la, b, lb);
	*pos += KDBUS_ITEM_SIZE(la + lb);
}

static int lk_name_check(const char *name)
{
	size_t len;

	if (!name)
		return -EINVAL;
	len = strlen(name);
	return (len == 0 || len > LK_NAME_MAX) ? -EINVAL : 0;
}

static uint64_t lk_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Absolute CLOCK_MONOTONIC deadline, saturated so a kernel ktime cannot overflow. */
static uint64_t lk_deadline_ns(uint64_t timeout_usec)
{
	uint64_t now = lk_now_ns(), max = (uint64_t)INT64_MAX;

	if (!timeout_usec)
		timeout_usec = KDBUS_TIMEOUT_DEFAULT_USEC;
	if (timeout_usec >= (max - now) / 1000)
		return max;
	return now + timeout_usec * 1000;
}

/* ---- buses ---- */

struct kdbus_bus {
	unsigned long n_ref;
	int fd;
	char *name;
	char *path;
};

_Static_assert(sizeof(struct kdbus_bloom_parameter) == 16, "bloom parameter payload");

KDBUS_EXPORT int kdbus_bus_new_with_bloom(struct kdbus_bus **busp, const char *name, uint64_t flags,
					  uint64_t bloom_size, uint64_t bloom_n_hash)
{
	struct kdbus_bloom_parameter bloom = { .size = bloom_size, .n_hash = bloom_n_hash };
	char prefix[32], *control = NULL;
	struct kdbus_bus *bus;
	const char *root;
	struct kdbus_cmd *cmd;
	uint8_t *pos;
	size_t size;
	int r;

	if (!busp || !name || !*name ||
	    (flags & ~(uint64_t)(KDBUS_MAKE_ACCESS_GROUP | KDBUS_MAKE_ACCESS_WORLD)) ||
	    bloom_size > 4096 || bloom_n_hash < 1 || bloom_n_hash > 64 ||
	    kdbus_bloom_validate(bloom_size, (unsigned int)bloom_n_hash) < 0)
		return -EINVAL;
	root = kdbus_root();
	if (!root)
		return -ENOENT;

	bus = calloc(1, sizeof(*bus));
	if (!bus)
		return -ENOMEM;
	bus->n_ref = 1;
	bus->fd = -1;

	/* kdbus demands "<euid>-" in front of every bus name (spec 1.2). */
	snprintf(prefix, sizeof(prefix), "%u-", (unsigned int)geteuid());
	bus->name = lk_strcat3(strncmp(name, prefix, strlen(prefix)) ? prefix : "", name, "");
	if (!bus->name) {
		r = -ENOMEM;
		goto fail;
	}
	bus->path = malloc(strlen(root) + strlen(bus->name) + 6);
	control = lk_strcat3(root, "/", "control");
	if (!bus->path || !control) {
		r = -ENOMEM;
		goto fail;
	}
	sprintf(bus->path, "%s/%s/bus", root, bus->name);

	size = sizeof(*cmd) + KDBUS_ITEM_SIZE(strlen(bus->name) + 1) + KDBUS_ITEM_SIZE(sizeof(bloom));
	cmd = calloc(1, size);
	if (!cmd) {
		r = -ENOMEM;
		goto fail;
	}
	cmd->size = size;
	cmd->flags = flags;
	pos = (uint8_t *)cmd->items;
	lk_item_put(&pos, KDBUS_ITEM_MAKE_NAME, bus->name, strlen(bus->name) + 1, NULL, 0);
	lk_item_put(&pos, KDBUS_ITEM_BLOOM_PARAMETER, &bloom, sizeof(bloom), NULL, 0);

	bus->fd = kdbus_open(control, O_RDWR | O_CLOEXEC);
	r = bus->fd < 0 ? -errno : kdbus_cmd_bus_make(bus->fd, cmd);
	free(cmd);
	if (r < 0)
		goto fail;
	free(control);
	*busp = bus;
	return 0;

fail:
	free(control);
	kdbus_bus_unref(bus);
	return r;
}

KDBUS_EXPORT int kdbus_bus_new(struct kdbus_bus **busp, const char *name, uint64_t flags)
{
	return kdbus_bus_new_with_bloom(busp, name, flags, KDBUS_BUS_BLOOM_SIZE,
					KDBUS_BUS_BLOOM_N_HASH);
}

KDBUS_EXPORT struct kdbus_bus *kdbus_bus_ref(struct kdbus_bus *bus)
{
	if (bus)
		lk_ref(&bus->n_ref);
	return bus;
}

KDBUS_EXPORT struct kdbus_bus *kdbus_bus_unref(struct kdbus_bus *bus)
{
	if (!bus || !lk_unref(&bus->n_ref))
		return NULL;
	if (bus->fd >= 0)
		kdbus_close(bus->fd);
	free(bus->name);
	free(bus->path);
	free(bus);
	return NULL;
}

KDBUS_EXPORT const char *kdbus_bus_get_name(struct kdbus_bus *bus)
{
	return bus ? bus->name : NULL;
}

KDBUS_EXPORT const char *kdbus_bus_get_path(struct kdbus_bus *bus)
{
	return bus ? bus->path : NULL;
}

/* ---- connections ---- */

struct kdbus_conn {
	unsigned long n_ref;
	int fd;
	const uint8_t *pool; /* read-only mapping of the whole pool */
	uint64_t pool_size;
	uint64_t id;
	uint64_t bus_flags;
	uint8_t id128[16];
	uint64_t bloom_size;
	uint64_t bloom_n_hash;
	uint64_t cookie;  /* last cookie handed out (atomic) */
	uint64_t dropped; /* sum of dropped_msgs seen by RECV (atomic) */
};

static int lk_conn_free_slice(struct kdbus_conn *conn, uint64_t offset)
{
	struct kdbus_cmd_free cmd = { .size = sizeof(cmd), .offset = offset };

	return kdbus_cmd_free(conn->fd, &cmd);
}

/* Read the bloom parameters out of the HELLO slice, then release it. */
static int lk_conn_parse_hello(struct kdbus_conn *conn, uint64_t offset, uint64_t size)
{
	const struct kdbus_item *item;
	uint64_t pos;
	int r = -EBADMSG;

	if (offset > conn->pool_size || size > conn->pool_size - offset || offset % 8)
		return -EBADMSG;
	for (pos = 0; pos < size && size - pos >= KDBUS_ITEM_HEADER_SIZE;) {
		item = (const struct kdbus_item *)(const void *)(conn->pool + offset + pos);
		if (item->size < KDBUS_ITEM_HEADER_SIZE || item->size > size - pos)
			break;
		if (item->type == KDBUS_ITEM_BLOOM_PARAMETER &&
		    item->size == KDBUS_ITEM_HEADER_SIZE + sizeof(struct kdbus_bloom_parameter)) {
			conn->bloom_size = item->bloom_parameter.size;
			conn->bloom_n_hash = item->bloom_parameter.n_hash;
			r = 0;
		}
		pos += KDBUS_ALIGN8(item->size);
	}
	lk_conn_free_slice(conn, offset);
	return r;
}

KDBUS_EXPORT int kdbus_conn_new(struct kdbus_conn **connp, const char *path, uint64_t flags,
				const char *description)
{
	struct kdbus_cmd_hello *hello = NULL;
	char *def = NULL, uid[32];
	struct kdbus_conn *conn;
	void *pool;
	size_t size;
	int r;

	if (!connp || (flags & ~(uint64_t)(KDBUS_HELLO_ACCEPT_FD | KDBUS_HELLO_MONITOR)))
		return -EINVAL;
	if (description && (!*description || strlen(description) > LK_NAME_MAX))
		return -EINVAL;

	if (!path)
		path = getenv("KDBUS_BUS_PATH");
	if (!path) {
		const char *root = kdbus_root();

		if (!root)
			return -ENOENT;
		snprintf(uid, sizeof(uid), "/%u-user/bus", (unsigned int)geteuid());
		def = lk_strcat3(root, uid, "");
		if (!def)
			return -ENOMEM;
		path = def;
	}

	conn = calloc(1, sizeof(*conn));
	if (!conn) {
		free(def);
		return -ENOMEM;
	}
	conn->n_ref = 1;
	conn->pool_size = KDBUS_CONN_POOL_SIZE;
	conn->fd = kdbus_open(path, O_RDWR | O_CLOEXEC);
	free(def);
	if (conn->fd < 0) {
		r = -errno;
		goto fail;
	}

	size = sizeof(*hello) + (description ? KDBUS_ITEM_SIZE(strlen(description) + 1) : 0);
	hello = calloc(1, size);
	if (!hello) {
		r = -ENOMEM;
		goto fail;
	}
	hello->size = size;
	hello->flags = flags;
	hello->pool_size = conn->pool_size;
	if (description) {
		uint8_t *pos = (uint8_t *)hello->items;

		lk_item_put(&pos, KDBUS_ITEM_CONN_DESCRIPTION, description, strlen(description) + 1,
			    NULL, 0);
	}
	r = kdbus_cmd_hello(conn->fd, hello);
	if (r < 0)
		goto fail;
	conn->id = hello->id;
	conn->bus_flags = hello->bus_flags;
	memcpy(conn->id128, hello->id128, sizeof(conn->id128));

	pool = kdbus_mmap(NULL, conn->pool_size, PROT_READ, MAP_SHARED, conn->fd, 0);
	if (pool == MAP_FAILED) {
		r = -errno;
		goto fail;
	}
	conn->pool = pool;
	r = lk_conn_parse_hello(conn, hello->offset, hello->items_size);
	if (r < 0)
		goto fail;
	free(hello);
	*connp = conn;
	return 0;

fail:
	free(hello);
	kdbus_conn_unref(conn);
	return r;
}

KDBUS_EXPORT struct kdbus_conn *kdbus_conn_ref(struct kdbus_conn *conn)
{
	if (conn)
		lk_ref(&conn->n_ref);
	return conn;
}

KDBUS_EXPORT struct kdbus_conn *kdbus_conn_unref(struct kdbus_conn *conn)
{
	if (!conn || !lk_unref(&conn->n_ref))
		return NULL;
	if (conn->pool)
		kdbus_munmap((void *)conn->pool, conn->pool_size);
	if (conn->fd >= 0)
		kdbus_close(conn->fd);
	free(conn);
	return NULL;
}

KDBUS_EXPORT int kdbus_conn_get_fd(struct kdbus_conn *conn)
{
	return conn ? conn->fd : -EINVAL;
}

KDBUS_EXPORT uint64_t kdbus_conn_get_id(struct kdbus_conn *conn)
{
	return conn ? conn->id : 0;
}

KDBUS_EXPORT const uint8_t *kdbus_conn_get_id128(struct kdbus_conn *conn)
{
	return conn ? conn->id128 : NULL;
}

KDBUS_EXPORT uint64_t kdbus_conn_get_bus_flags(struct kdbus_conn *conn)
{
	return conn ? conn->bus_flags : 0;
}

KDBUS_EXPORT int kdbus_conn_get_bloom(struct kdbus_conn *conn, uint64_t *size, uint64_t *n_hash)
{
	if (!conn)
		return -EINVAL;
	if (size)
		*size = conn->bloom_size;
	if (n_hash)
		*n_hash = conn->bloom_n_hash;
	return 0;
}

KDBUS_EXPORT uint64_t kdbus_conn_get_dropped(struct kdbus_conn *conn)
{
	return conn ? __atomic_load_n(&conn->dropped, __ATOMIC_RELAXED) : 0;
}

KDBUS_EXPORT int kdbus_conn_set_attach_flags(struct kdbus_conn *conn, uint64_t send, uint64_t recv)
{
	union {
		struct kdbus_cmd cmd;
		uint64_t raw[(sizeof(struct kdbus_cmd) + 2 * KDBUS_ITEM_SIZE(8)) / 8];
	} u;
	uint8_t *pos = (uint8_t *)u.cmd.items;

	if (!conn || (send & ~(uint64_t)_KDBUS_ATTACH_ALL) || (recv & ~(uint64_t)_KDBUS_ATTACH_ALL))
		return -EINVAL;
	memset(&u, 0, sizeof(u));
	u.cmd.size = sizeof(u);
	lk_item_put(&pos, KDBUS_ITEM_ATTACH_FLAGS_SEND, &send, sizeof(send), NULL, 0);
	lk_item_put(&pos, KDBUS_ITEM_ATTACH_FLAGS_RECV, &recv, sizeof(recv), NULL, 0);
	return kdbus_cmd_update(conn->fd, &u.cmd);
}

/* ---- messages ---- */

enum {
	LK_PART_COPY,   /* bytes in msg->buf at off */
	LK_PART_PTR,    /* bytes at data: borrowed from the caller, or in the pool */
	LK_PART_ZERO,   /* size zero bytes */
	LK_PART_MEMFD,  /* [off, off + size) of memfd */
};

struct lk_part {
	unsigned int kind;
	int memfd;          /* LK_PART_MEMFD: owned by the message */
	uint64_t size;
	uint64_t off;       /* COPY: offset in buf; MEMFD: start */
	const void *data;   /* PTR */
	void *map;          /* ZERO/MEMFD: mapping made on first access */
	size_t map_size;
};

struct kdbus_message {
	unsigned long n_ref;

	/* received messages: the slice and the connection whose pool holds it */
	struct kdbus_conn *conn;
	const struct kdbus_msg *kmsg;
	uint64_t kmsg_size; /* validated size of header + items */
	uint64_t slice;
	uint64_t return_flags;

	uint64_t flags;
	uint64_t dst_id;
	uint64_t src_id;
	uint64_t cookie;
	uint64_t cookie_reply;
	uint64_t payload_type;
	uint64_t timeout_usec;
	int64_t priority;
	bool cookie_fixed;
	bool dst_set;
	char *dst_name;

	struct lk_part *parts;
	size_t n_parts;
	uint8_t *buf; /* copied payload bytes */
	size_t buf_size;
	int *fds;
	size_t n_fds;
	uint64_t *bloom;
	uint64_t bloom_size;
	uint64_t bloom_n_hash;

	void *wire; /* the kdbus_msg of the last send, kept for reuse */
	size_t wire_cap;
};

static struct kdbus_message *lk_message_alloc(void)
{
	struct kdbus_message *msg = calloc(1, sizeof(*msg));

	if (!msg)
		return NULL;
	msg->n_ref = 1;
	msg->payload_type = KDBUS_PAYLOAD_DBUS;
	return msg;
}

KDBUS_EXPORT int kdbus_message_new(struct kdbus_message **msgp, struct kdbus_conn *conn)
{
	struct kdbus_message *msg;

	if (!msgp || !conn)
		return -EINVAL;
	msg = lk_message_alloc();
	if (!msg)
		return -ENOMEM;
	msg->bloom_size = conn->bloom_size;
	msg->bloom_n_hash = conn->bloom_n_hash;
	*msgp = msg;
	return 0;
}

KDBUS_EXPORT struct kdbus_message *kdbus_message_ref(struct kdbus_message *msg)
{
	if (msg)
		lk_ref(&msg->n_ref);
	return msg;
}

KDBUS_EXPORT struct kdbus_message *kdbus_message_unref(struct kdbus_message *msg)
{
	size_t i;

	if (!msg || !lk_unref(&msg->n_ref))
		return NULL;
	for (i = 0; i < msg->n_parts; i++) {
		struct lk_part *p = &msg->parts[i];

		if (p->map)
			munmap(p->map, p->map_size);
		if (p->kind == LK_PART_MEMFD)
			lk_close(p->memfd);
	}
	for (i = 0; i < msg->n_fds; i++)
		lk_close(msg->fds[i]);
	if (msg->conn) {
		lk_conn_free_slice(msg->conn, msg->slice);
		kdbus_conn_unref(msg->conn);
	}
	free(msg->parts);
	free(msg->buf);
	free(msg->fds);
	free(msg->bloom);
	free(msg->dst_name);
	free(msg->wire);
	free(msg);
	return NULL;
}

/* Setters only apply to messages being built. */
static bool lk_built(struct kdbus_message *msg)
{
	return msg && !msg->conn;
}

KDBUS_EXPORT int kdbus_message_set_destination_id(struct kdbus_message *msg, uint64_t id)
{
	if (!lk_built(msg))
		return -EINVAL;
	msg->dst_id = id;
	msg->dst_set = true;
	return 0;
}

KDBUS_EXPORT int kdbus_message_set_destination_name(struct kdbus_message *msg, const char *name)
{
	char *copy = NULL;

	if (!lk_built(msg) || (name && lk_name_check(name) < 0))
		return -EINVAL;
	if (name) {
		copy = strdup(name);
		if (!copy)
			return -ENOMEM;
		msg->dst_id = KDBUS_DST_ID_NAME;
		msg->dst_set = true;
	}
	free(msg->dst_name);
	msg->dst_name = copy;
	return 0;
}

KDBUS_EXPORT int kdbus_message_set_flags(struct kdbus_message *msg, uint64_t flags)
{
	if (!lk_built(msg) ||
	    (flags & ~(uint64_t)(KDBUS_MSG_EXPECT_REPLY | KDBUS_MSG_NO_AUTO_START | KDBUS_MSG_SIGNAL)))
		return -EINVAL;
	msg->flags = flags;
	return 0;
}

KDBUS_EXPORT int kdbus_message_set_expect_reply(struct kdbus_message *msg, uint64_t timeout_usec)
{
	if (!lk_built(msg))
		return -EINVAL;
	msg->flags |= KDBUS_MSG_EXPECT_REPLY;
	msg->timeout_usec = timeout_usec;
	return 0;
}

KDBUS_EXPORT int kdbus_message_set_priority(struct kdbus_message *msg, int64_t priority)
{
	if (!lk_built(msg))
		return -EINVAL;
	msg->priority = priority;
	return 0;
}

KDBUS_EXPORT int kdbus_message_set_cookie(struct kdbus_message *msg, uint64_t cookie)
{
	if (!lk_built(msg))
		return -EINVAL;
	msg->cookie = cookie;
	msg->cookie_fixed = cookie != 0;
	return 0;
}

KDBUS_EXPORT int kdbus_message_set_payload_type(struct kdbus_message *msg, uint64_t type)
{
	if (!lk_built(msg) || type == KDBUS_PAYLOAD_KERNEL)
		return -EINVAL;
	msg->payload_type = type;
	return 0;
}

static struct lk_part *lk_message_add_part(struct kdbus_message *msg, unsigned int kind,
					   uint64_t size)
{
	struct lk_part *parts = realloc(msg->parts, (msg->n_parts + 1) * sizeof(*parts));

	if (!parts)
		return NULL;
	msg->parts = parts;
	parts += msg->n_parts++;
	memset(parts, 0, sizeof(*parts));
	parts->kind = kind;
	parts->size = size;
	parts->memfd = -1;
	return parts;
}

KDBUS_EXPORT int kdbus_message_append(struct kdbus_message *msg, const void *data, size_t size)
{
	struct lk_part *part;
	uint8_t *buf;

	if (!lk_built(msg) || !data || !size || size > SIZE_MAX - msg->buf_size)
		return -EINVAL;
	/* Parts keep offsets, not pointers, so buf may move. */
	buf = realloc(msg->buf, msg->buf_size + size);
	if (!buf)
		return -ENOMEM;
	msg->buf = buf;
	part = lk_message_add_part(msg, LK_PART_COPY, size);
	if (!part)
		return -ENOMEM;
	memcpy(buf + msg->buf_size, data, size);
	part->off = msg->buf_size;
	msg->buf_size += size;
	return 0;
}

KDBUS_EXPORT int kdbus_message_append_borrowed(struct kdbus_message *msg, const void *data,
					       size_t size)
{
	struct lk_part *part;

	if (!lk_built(msg) || !data || !size)
		return -EINVAL;
	part = lk_message_add_part(msg, LK_PART_PTR, size);
	if (!part)
		return -ENOMEM;
	part->data = data;
	return 0;
}

KDBUS_EXPORT int kdbus_message_append_zeros(struct kdbus_message *msg, size_t size)
{
	if (!lk_built(msg) || !size)
		return -EINVAL;
	return lk_message_add_part(msg, LK_PART_ZERO, size) ? 0 : -ENOMEM;
}

KDBUS_EXPORT int kdbus_message_append_memfd(struct kdbus_message *msg, int fd, uint64_t start,
					    uint64_t size)
{
	struct lk_part *part;

	if (!lk_built(msg) || fd < 0 || !size || start > UINT64_MAX - size) {
		lk_close(fd);
		return -EINVAL;
	}
	part = lk_message_add_part(msg, LK_PART_MEMFD, size);
	if (!part) {
		lk_close(fd);
		return -ENOMEM;
	}
	part->memfd = fd;
	part->off = start;
	return 0;
}

KDBUS_EXPORT int kdbus_message_append_fd(struct kdbus_message *msg, int fd)
{
	int *fds;

	if (!lk_built(msg) || fd < 0) {
		lk_close(fd);
		return -EINVAL;
	}
	fds = realloc(msg->fds, (msg->n_fds + 1) * sizeof(*fds));
	if (!fds) {
		lk_close(fd);
		return -ENOMEM;
	}
	msg->fds = fds;
	msg->fds[msg->n_fds++] = fd;
	return 0;
}

KDBUS_EXPORT int kdbus_message_get_bloom(struct kdbus_message *msg, uint64_t **data,
					 uint64_t *size)
{
	if (!lk_built(msg) || !data || !msg->bloom_size)
		return -EINVAL;
	if (!msg->bloom) {
		msg->bloom = calloc(1, msg->bloom_size);
		if (!msg->bloom)
			return -ENOMEM;
	}
	*data = msg->bloom;
	if (size)
		*size = msg->bloom_size;
	return 0;
}

static int lk_bloom_add(uint64_t *data, uint64_t size, uint64_t n_hash, const char *key,
			const char *value)
{
	if (value)
		return kdbus_bloom_add_pair(data, size, (unsigned int)n_hash, key, value);
	return kdbus_bloom_add_string(data, size, (unsigned int)n_hash, key);
}

KDBUS_EXPORT int kdbus_message_add_bloom(struct kdbus_message *msg, const char *key,
					 const char *value)
{
	uint64_t *data;
	int r;

	if (!key)
		return -EINVAL;
	r = kdbus_message_get_bloom(msg, &data, NULL);
	if (r < 0)
		return r;
	return lk_bloom_add(data, msg->bloom_size, msg->bloom_n_hash, key, value);
}

KDBUS_EXPORT uint64_t kdbus_message_get_source(struct kdbus_message *msg)
{
	return msg ? msg->src_id : 0;
}

KDBUS_EXPORT uint64_t kdbus_message_get_destination(struct kdbus_message *msg)
{
	return msg ? msg->dst_id : 0;
}

KDBUS_EXPORT const char *kdbus_message_get_destination_name(struct kdbus_message *msg)
{
	return msg ? msg->dst_name : NULL;
}

KDBUS_EXPORT uint64_t kdbus_message_get_flags(struct kdbus_message *msg)
{
	return msg ? msg->flags : 0;
}

KDBUS_EXPORT int64_t kdbus_message_get_priority(struct kdbus_message *msg)
{
	return msg ? msg->priority : 0;
}

KDBUS_EXPORT uint64_t kdbus_message_get_cookie(struct kdbus_message *msg)
{
	return msg ? msg->cookie : 0;
}

KDBUS_EXPORT uint64_t kdbus_message_get_cookie_reply(struct kdbus_message *msg)
{
	return msg ? msg->cookie_reply : 0;
}

KDBUS_EXPORT uint64_t kdbus_message_get_payload_type(struct kdbus_message *msg)
{
	return msg ? msg->payload_type : 0;
}

KDBUS_EXPORT uint64_t kdbus_message_get_return_flags(struct kdbus_message *msg)
{
	return msg ? msg->return_flags : 0;
}

KDBUS_EXPORT size_t kdbus_message_get_n_parts(struct kdbus_message *msg)
{
	return msg ? msg->n_parts : 0;
}

KDBUS_EXPORT int kdbus_message_get_part(struct kdbus_message *msg, size_t index, const void **data,
					size_t *size)
{
	struct lk_part *p;

	if (!msg || index >= msg->n_parts || !data || !size)
		return -EINVAL;
	p = &msg->parts[index];
	if (p->size > SIZE_MAX / 2)
		return -EFBIG;
	switch (p->kind) {
	case LK_PART_COPY:
		*data = msg->buf + p->off;
		break;
	case LK_PART_PTR:
		*data = p->data;
		break;
	case LK_PART_ZERO:
		/* Anonymous pages read as zeros and cost nothing until touched. */
		if (!p->map) {
			void *m = mmap(NULL, p->size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (m == MAP_FAILED)
				return -errno;
			p->map = m;
			p->map_size = p->size;
		}
		*data = p->map;
		break;
	case LK_PART_MEMFD: {
		uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
		uint64_t base = p->off & ~(page - 1);

		if (!p->map) {
			void *m;

			if (p->off - base > SIZE_MAX / 2 - p->size)
				return -EFBIG;
			m = mmap(NULL, p->off - base + p->size, PROT_READ, MAP_SHARED, p->memfd,
				 (off_t)base);
			if (m == MAP_FAILED)
				return -errno;
			p->map = m;
			p->map_size = p->off - base + p->size;
		}
		*data = (const uint8_t *)p->map + (p->off - base);
		break;
	}
	default:
		return -EINVAL;
	}
	*size = p->size;
	return 0;
}

KDBUS_EXPORT uint64_t kdbus_message_get_payload_size(struct kdbus_message *msg)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; msg && i < msg->n_parts; i++)
		sum += msg->parts[i].size;
	return sum;
}

KDBUS_EXPORT long kdbus_message_read(struct kdbus_message *msg, uint64_t offset, void *buf,
				     size_t size)
{
	uint8_t *out = buf;
	size_t done = 0, i;

	if (!msg || (!buf && size) || size > LONG_MAX)
		return -EINVAL;
	for (i = 0; i < msg->n_parts && done < size; i++) {
		struct lk_part *p = &msg->parts[i];
		const void *data;
		size_t psize, n;
		int r;

		if (offset >= p->size) {
			offset -= p->size;
			continue;
		}
		n = (size_t)(p->size - offset) < size - done ? (size_t)(p->size - offset)
							     : size - done;
		if (p->kind == LK_PART_ZERO) {
			memset(out + done, 0, n);
		} else {
			r = kdbus_message_get_part(msg, i, &data, &psize);
			if (r < 0)
				return r;
			memcpy(out + done, (const uint8_t *)data + offset, n);
		}
		done += n;
		offset = 0;
	}
	return (long)done;
}

KDBUS_EXPORT size_t kdbus_message_get_n_fds(struct kdbus_message *msg)
{
	return msg ? msg->n_fds : 0;
}

KDBUS_EXPORT int kdbus_message_get_fd(struct kdbus_message *msg, size_t index)
{
	if (!msg || index >= msg->n_fds)
		return -EINVAL;
	return msg->fds[index];
}

KDBUS_EXPORT int kdbus_message_steal_fd(struct kdbus_message *msg, size_t index)
{
	int fd;

	if (!msg || index >= msg->n_fds)
		return -EINVAL;
	fd = msg->fds[index];
	msg->fds[index] = -1;
	return fd;
}

/* The item at pos of a received message, or NULL past the end or if malformed. */
static const struct kdbus_item *lk_message_item_at(struct kdbus_message *msg, uint64_t pos)
{
	const struct kdbus_item *item;

	if (pos >= msg->kmsg_size || msg->kmsg_size - pos < KDBUS_ITEM_HEADER_SIZE)
		return NULL;
	item = (const struct kdbus_item *)(const void *)((const uint8_t *)msg->kmsg + pos);
	if (item->size < KDBUS_ITEM_HEADER_SIZE || item->size > msg->kmsg_size - pos)
		return NULL;
	return item;
}

KDBUS_EXPORT const struct kdbus_item *kdbus_message_find_item(struct kdbus_message *msg,
							      uint64_t type,
							      const struct kdbus_item *after)
{
	const struct kdbus_item *item;
	uint64_t pos = sizeof(struct kdbus_msg);

	if (!msg || !msg->kmsg)
		return NULL;
	if (after) {
		uintptr_t a = (uintptr_t)after, b = (uintptr_t)msg->kmsg;

		if (a < b + pos || a >= b + msg->kmsg_size)
			return NULL;
		pos = a - b + KDBUS_ALIGN8(after->size);
	}
	while ((item = lk_message_item_at(msg, pos))) {
		if (item->type == type)
			return item;
		pos += KDBUS_ALIGN8(item->size);
	}
	return NULL;
}

/*
 * Wrap a slice of conn's pool (RECV or sync reply) in a message. The message
 * owns the slice from here on, also on failure, so fds it carries get closed
 * and the slice freed by the final unref.
 */
static int lk_message_parse(struct kdbus_conn *conn, const struct kdbus_msg_info *info,
			    struct kdbus_message **msgp)
{
	const struct kdbus_item *item;
	const struct kdbus_msg *k;
	struct kdbus_message *msg;
	uint64_t pos, len, slice = info->msg_size;
	int r = -EBADMSG;

	msg = lk_message_alloc();
	if (!msg) {
		lk_conn_free_slice(conn, info->offset);
		return -ENOMEM;
	}
	msg->conn = kdbus_conn_ref(conn);
	msg->slice = info->offset;
	msg->return_flags = info->return_flags;
	if (info->offset > conn->pool_size || slice > conn->pool_size - info->offset ||
	    info->offset % 8 || slice < sizeof(*k))
		goto fail;

	k = (const struct kdbus_msg *)(const void *)(conn->pool + info->offset);
	msg->kmsg = k;
	msg->kmsg_size = k->size;
	if (msg->kmsg_size < sizeof(*k) || msg->kmsg_size > slice)
		goto fail;
	msg->flags = k->flags;
	msg->priority = k->priority;
	msg->dst_id = k->dst_id;
	msg->src_id = k->src_id;
	msg->payload_type = k->payload_type;
	msg->cookie = k->cookie;
	msg->cookie_reply = (k->flags & KDBUS_MSG_EXPECT_REPLY) ? 0 : k->cookie_reply;

	for (pos = sizeof(*k); pos < msg->kmsg_size; pos += KDBUS_ALIGN8(item->size)) {
		item = lk_message_item_at(msg, pos);
		if (!item)
			goto fail;
		len = item->size - KDBUS_ITEM_HEADER_SIZE;
		switch (item->type) {
		case KDBUS_ITEM_PAYLOAD_OFF: {
			struct lk_part *p;

			if (len != sizeof(struct kdbus_vec))
				goto fail;
			if (item->vec.offset == ~0ULL) {
				p = lk_message_add_part(msg, LK_PART_ZERO, item->vec.size);
			} else {
				/* Data must lie inside our own slice. */
				if (item->vec.offset > slice || item->vec.size > slice - item->vec.offset)
					goto fail;
				p = lk_message_add_part(msg, LK_PART_PTR, item->vec.size);
				if (p)
					p->data = (const uint8_t *)k + item->vec.offset;
			}
			if (!p) {
				r = -ENOMEM;
				goto fail;
			}
			break;
		}
		case KDBUS_ITEM_PAYLOAD_MEMFD: {
			struct lk_part *p;

			if (len != sizeof(struct kdbus_memfd))
				goto fail;
			p = lk_message_add_part(msg, LK_PART_MEMFD, item->memfd.size);
			if (!p) {
				lk_close(item->memfd.fd);
				r = -ENOMEM;
				goto fail;
			}
			p->memfd = item->memfd.fd;
			p->off = item->memfd.start;
			break;
		}
		case KDBUS_ITEM_FDS: {
			size_t n = len / sizeof(int), i;
			int *fds;

			if (len % sizeof(int))
				goto fail;
			if (!n)
				break;
			fds = realloc(msg->fds, (msg->n_fds + n) * sizeof(int));
			if (!fds) {
				for (i = 0; i < n; i++)
					lk_close(item->fds[i]);
				r = -ENOMEM;
				goto fail;
			}
			msg->fds = fds;
			for (i = 0; i < n; i++)
				msg->fds[msg->n_fds++] = item->fds[i];
			break;
		}
		case KDBUS_ITEM_DST_NAME:
			if (!len || item->str[len - 1] != '\0')
				goto fail;
			free(msg->dst_name);
			msg->dst_name = strdup(item->str);
			if (!msg->dst_name) {
				r = -ENOMEM;
				goto fail;
			}
			break;
		default:
			break;
		}
	}
	*msgp = msg;
	return 0;

fail:
	kdbus_message_unref(msg);
	return r;
}

/* Lay msg out as a struct kdbus_msg in msg->wire. */
static int lk_message_build(struct kdbus_message *msg, struct kdbus_msg **out)
{
	struct kdbus_msg *k;
	uint8_t *pos;
	size_t size = sizeof(*k), i;

	if (!msg->dst_set)
		return -EINVAL;
	if ((msg->flags & KDBUS_MSG_SIGNAL) && !msg->bloom) {
		uint64_t *unused;
		int r = kdbus_message_get_bloom(msg, &unused, NULL);

		if (r < 0)
			return r;
	}
	for (i = 0; i < msg->n_parts; i++)
		size += KDBUS_ITEM_SIZE(msg->parts[i].kind == LK_PART_MEMFD ? sizeof(struct kdbus_memfd)
									   : sizeof(struct kdbus_vec));
	if (msg->n_fds)
		size += KDBUS_ITEM_SIZE(msg->n_fds * sizeof(int));
	if (msg->bloom)
		size += KDBUS_ITEM_SIZE(sizeof(struct kdbus_bloom_filter) + msg->bloom_size);
	if (msg->dst_name)
		size += KDBUS_ITEM_SIZE(strlen(msg->dst_name) + 1);

	if (size > msg->wire_cap) {
		void *w = realloc(msg->wire, size);

		if (!w)
			return -ENOMEM;
		msg->wire = w;
		msg->wire_cap = size;
	}
	memset(msg->wire, 0, size);
	k = msg->wire;
	k->size = size;
	k->flags = msg->flags;
	k->priority = msg->priority;
	k->dst_id = msg->dst_id;
	k->payload_type = msg->payload_type;
	k->cookie = msg->cookie;
	if (msg->flags & KDBUS_MSG_EXPECT_REPLY)
		k->timeout_ns = lk_deadline_ns(msg->timeout_usec);
	else
		k->cookie_reply = msg->cookie_reply;

	pos = (uint8_t *)k->items;
	for (i = 0; i < msg->n_parts; i++) {
		struct lk_part *p = &msg->parts[i];
		struct kdbus_vec vec = { .size = p->size };
		struct kdbus_memfd memfd = { .start = p->off, .size = p->size, .fd = p->memfd };

		if (p->kind == LK_PART_MEMFD) {
			lk_item_put(&pos, KDBUS_ITEM_PAYLOAD_MEMFD, &memfd, sizeof(memfd), NULL, 0);
			continue;
		}
		if (p->kind == LK_PART_COPY)
			vec.address = (uintptr_t)(msg->buf + p->off);
		else if (p->kind == LK_PART_PTR)
			vec.address = (uintptr_t)p->data;
		lk_item_put(&pos, KDBUS_ITEM_PAYLOAD_VEC, &vec, sizeof(vec), NULL, 0);
	}
	if (msg->n_fds)
		lk_item_put(&pos, KDBUS_ITEM_FDS, msg->fds, msg->n_fds * sizeof(int), NULL, 0);
	if (msg->bloom) {
		struct kdbus_bloom_filter hdr = { .generation = 0 };

		lk_item_put(&pos, KDBUS_ITEM_BLOOM_FILTER, &hdr, sizeof(hdr), msg->bloom,
			    msg->bloom_size);
	}
	if (msg->dst_name)
		lk_item_put(&pos, KDBUS_ITEM_DST_NAME, msg->dst_name, strlen(msg->dst_name) + 1,
			    NULL, 0);
	*out = k;
	return 0;
}

/* SEND with optional SYNC_REPLY and CANCEL_FD; reply gets the reply slice. */
static int lk_send(struct kdbus_conn *conn, struct kdbus_message *msg, uint64_t send_flags,
		   int cancel_fd, struct kdbus_msg_info *reply)
{
	struct {
		struct kdbus_cmd_send cmd;
		uint64_t item_size;
		uint64_t item_type;
		int32_t fd;
		uint32_t pad;
	} s;
	struct kdbus_msg *k;
	uint64_t cookie = msg->cookie;
	int r;

	if (!msg->cookie_fixed)
		cookie = __atomic_add_fetch(&conn->cookie, 1, __ATOMIC_RELAXED);
	msg->cookie = cookie;
	r = lk_message_build(msg, &k);
	if (r < 0)
		return r;

	memset(&s, 0, sizeof(s));
	s.cmd.size = sizeof(s.cmd);
	s.cmd.flags = send_flags;
	s.cmd.msg_address = (uintptr_t)k;
	if (cancel_fd >= 0) {
		s.cmd.size = sizeof(s);
		s.item_size = KDBUS_ITEM_HEADER_SIZE + sizeof(s.fd);
		s.item_type = KDBUS_ITEM_CANCEL_FD;
		s.fd = cancel_fd;
	}
	r = kdbus_cmd_send(conn->fd, &s.cmd);
	if (r < 0)
		return r;
	msg->src_id = conn->id;
	if (reply)
		*reply = s.cmd.reply;
	return 0;
}

KDBUS_EXPORT int kdbus_conn_send(struct kdbus_conn *conn, struct kdbus_message *msg)
{
	if (!conn || !lk_built(msg))
		return -EINVAL;
	return lk_send(conn, msg, 0, -1, NULL);
}

KDBUS_EXPORT int kdbus_conn_call_with_cancel_fd(struct kdbus_conn *conn, struct kdbus_message *msg,
						uint64_t timeout_usec, int cancel_fd,
						struct kdbus_message **replyp)
{
	struct kdbus_msg_info info;
	uint64_t flags, timeout;
	int r;

	if (!conn || !lk_built(msg) || !replyp || (msg->flags & KDBUS_MSG_SIGNAL))
		return -EINVAL;
	/* The message is the caller's: make it a call for this send only. */
	flags = msg->flags;
	timeout = msg->timeout_usec;
	msg->flags |= KDBUS_MSG_EXPECT_REPLY;
	msg->timeout_usec = timeout_usec;
	r = lk_send(conn, msg, KDBUS_SEND_SYNC_REPLY, cancel_fd, &info);
	msg->flags = flags;
	msg->timeout_usec = timeout;
	if (r < 0)
		return r;
	return lk_message_parse(conn, &info, replyp);
}

KDBUS_EXPORT int kdbus_conn_call(struct kdbus_conn *conn, struct kdbus_message *msg,
				 uint64_t timeout_usec, struct kdbus_message **replyp)
{
	return kdbus_conn_call_with_cancel_fd(conn, msg, timeout_usec, -1, replyp);
}

KDBUS_EXPORT int kdbus_conn_recv(struct kdbus_conn *conn, struct kdbus_message **msgp)
{
	struct kdbus_cmd_recv cmd = { .size = sizeof(cmd) };
	int r;

	if (!conn || !msgp)
		return -EINVAL;
	r = kdbus_cmd_recv(conn->fd, &cmd);
	/* Losses are reported on success and on EAGAIN alike (spec 7.4). */
	if (cmd.return_flags & KDBUS_RECV_RETURN_DROPPED_MSGS)
		__atomic_add_fetch(&conn->dropped, cmd.dropped_msgs, __ATOMIC_RELAXED);
	if (r < 0)
		return r;
	return lk_message_parse(conn, &cmd.msg, msgp);
}

KDBUS_EXPORT int kdbus_conn_wait(struct kdbus_conn *conn, uint64_t timeout_usec)
{
	struct pollfd p;
	int ms, r;

	if (!conn)
		return -EINVAL;
	if (timeout_usec == KDBUS_TIMEOUT_INFINITE)
		ms = -1;
	else if (timeout_usec / 1000 >= INT_MAX)
		ms = INT_MAX;
	else
		ms = (int)((timeout_usec + 999) / 1000);
	p.fd = conn->fd;
	p.events = POLLIN;
	p.revents = 0;
	r = poll(&p, 1, ms);
	if (r < 0)
		return -errno;
	if (r == 0)
		return 0;
	if (p.revents & POLLNVAL)
		return -EBADF;
	/* Once disconnected every command fails, queued messages included (spec 1.4.1). */
	if (p.revents & (POLLERR | POLLHUP))
		return -ECONNRESET;
	return 1;
}

KDBUS_EXPORT int kdbus_conn_reply(struct kdbus_conn *conn, struct kdbus_message *call,
				  struct kdbus_message *reply)
{
	if (!conn || !call || !call->conn || !lk_built(reply))
		return -EINVAL;
	/* A reply goes back by id; a DST_NAME would add an ownership check. */
	free(reply->dst_name);
	reply->dst_name = NULL;
	reply->dst_id = call->src_id;
	reply->dst_set = true;
	reply->cookie_reply = call->cookie;
	reply->flags &= ~(uint64_t)(KDBUS_MSG_EXPECT_REPLY | KDBUS_MSG_SIGNAL);
	return lk_send(conn, reply, 0, -1, NULL);
}

/* ---- names ---- */

union lk_name_cmd {
	struct kdbus_cmd cmd;
	uint64_t raw[(sizeof(struct kdbus_cmd) + KDBUS_ITEM_SIZE(LK_NAME_MAX + 1)) / 8];
};

static void lk_name_cmd_init(union lk_name_cmd *u, const char *name, uint64_t flags)
{
	uint8_t *pos = (uint8_t *)u->cmd.items;

	memset(u, 0, sizeof(*u));
	lk_item_put(&pos, KDBUS_ITEM_NAME, name, strlen(name) + 1, NULL, 0);
	u->cmd.size = (uint64_t)(pos - (uint8_t *)u);
	u->cmd.flags = flags;
}

KDBUS_EXPORT int kdbus_conn_acquire_name(struct kdbus_conn *conn, const char *name, uint64_t flags,
					 uint64_t *ret_flags)
{
	union lk_name_cmd u;
	int r;

	if (!conn || lk_name_check(name) < 0 ||
	    (flags & ~(uint64_t)(KDBUS_NAME_REPLACE_EXISTING | KDBUS_NAME_ALLOW_REPLACEMENT |
				 KDBUS_NAME_QUEUE)))
		return -EINVAL;
	lk_name_cmd_init(&u, name, flags);
	r = kdbus_cmd_name_acquire(conn->fd, &u.cmd);
	if (r >= 0 && ret_flags)
		*ret_flags = u.cmd.return_flags;
	return r;
}

KDBUS_EXPORT int kdbus_conn_release_name(struct kdbus_conn *conn, const char *name)
{
	union lk_name_cmd u;

	if (!conn || lk_name_check(name) < 0)
		return -EINVAL;
	lk_name_cmd_init(&u, name, 0);
	return kdbus_cmd_name_release(conn->fd, &u.cmd);
}

/* ---- match rules ---- */

struct kdbus_match {
	unsigned long n_ref;
	uint8_t *items; /* serialized rule items, zero-padded */
	size_t items_size;
	uint64_t *bloom; /* one mask (generation 0 and up) */
	uint64_t bloom_size;
	uint64_t bloom_n_hash;
};

KDBUS_EXPORT int kdbus_match_new(struct kdbus_match **matchp, struct kdbus_conn *conn)
{
	struct kdbus_match *m;

	if (!matchp || !conn)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->n_ref = 1;
	m->bloom_size = conn->bloom_size;
	m->bloom_n_hash = conn->bloom_n_hash;
	*matchp = m;
	return 0;
}

KDBUS_EXPORT struct kdbus_match *kdbus_match_ref(struct kdbus_match *match)
{
	if (match)
		lk_ref(&match->n_ref);
	return match;
}

KDBUS_EXPORT struct kdbus_match *kdbus_match_unref(struct kdbus_match *match)
{
	if (!match || !lk_unref(&match->n_ref))
		return NULL;
	free(match->items);
	free(match->bloom);
	free(match);
	return NULL;
}

static int lk_match_put(struct kdbus_match *m, uint64_t type, const void *a, size_t la,
			const void *b, size_t lb)
{
	size_t add = KDBUS_ITEM_SIZE(la + lb);
	uint8_t *items = realloc(m->items, m->items_size + add), *pos;

	if (!items)
		return -ENOMEM;
	m->items = items;
	pos = items + m->items_size;
	memset(pos, 0, add);
	lk_item_put(&pos, type, a, la, b, lb);
	m->items_size += add;
	return 0;
}

KDBUS_EXPORT int kdbus_match_add_sender_id(struct kdbus_match *match, uint64_t id)
{
	if (!match)
		return -EINVAL;
	return lk_match_put(match, KDBUS_ITEM_ID, &id, sizeof(id), NULL, 0);
}

KDBUS_EXPORT int kdbus_match_add_sender_name(struct kdbus_match *match, const char *name)
{
	if (!match || lk_name_check(name) < 0)
		return -EINVAL;
	return lk_match_put(match, KDBUS_ITEM_NAME, name, strlen(name) + 1, NULL, 0);
}

KDBUS_EXPORT int kdbus_match_add_destination_id(struct kdbus_match *match, uint64_t id)
{
	if (!match)
		return -EINVAL;
	return lk_match_put(match, KDBUS_ITEM_DST_ID, &id, sizeof(id), NULL, 0);
}

KDBUS_EXPORT int kdbus_match_get_bloom(struct kdbus_match *match, uint64_t **data, uint64_t *size)
{
	if (!match || !data || !match->bloom_size)
		return -EINVAL;
	if (!match->bloom) {
		match->bloom = calloc(1, match->bloom_size);
		if (!match->bloom)
			return -ENOMEM;
	}
	*data = match->bloom;
	if (size)
		*size = match->bloom_size;
	return 0;
}

KDBUS_EXPORT int kdbus_match_add_bloom(struct kdbus_match *match, const char *key,
				       const char *value)
{
	uint64_t *data;
	int r;

	if (!key)
		return -EINVAL;
	r = kdbus_match_get_bloom(match, &data, NULL);
	if (r < 0)
		return r;
	return lk_bloom_add(data, match->bloom_size, match->bloom_n_hash, key, value);
}

KDBUS_EXPORT int kdbus_match_add_id_change(struct kdbus_match *match, uint64_t type, uint64_t id)
{
	struct kdbus_notify_id_change c = { .id = id };

	if (!match || (type != KDBUS_ITEM_ID_ADD && type != KDBUS_ITEM_ID_REMOVE))
		return -EINVAL;
	return lk_match_put(match, type, &c, sizeof(c), NULL, 0);
}

KDBUS_EXPORT int kdbus_match_add_name_change(struct kdbus_match *match, uint64_t type,
					     uint64_t old_id, uint64_t new_id, const char *name)
{
	struct kdbus_notify_name_change c;

	if (!match || (name && lk_name_check(name) < 0) ||
	    (type != KDBUS_ITEM_NAME_ADD && type != KDBUS_ITEM_NAME_REMOVE &&
	     type != KDBUS_ITEM_NAME_CHANGE))
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	c.old_id.id = old_id;
	c.new_id.id = new_id;
	/* A rule without a name is exactly 48 bytes (spec 9.6). */
	return lk_match_put(match, type, &c, sizeof(c), name, name ? strlen(name) + 1 : 0);
}

KDBUS_EXPORT int kdbus_conn_add_match(struct kdbus_conn *conn, struct kdbus_match *match,
				      uint64_t cookie, uint64_t flags)
{
	struct kdbus_cmd_match *cmd;
	uint8_t *pos;
	size_t size;
	int r;

	if (!conn || !match || (flags & ~(uint64_t)KDBUS_MATCH_REPLACE))
		return -EINVAL;
	size = sizeof(*cmd) + match->items_size;
	if (match->bloom)
		size += KDBUS_ITEM_SIZE(match->bloom_size);
	cmd = calloc(1, size);
	if (!cmd)
		return -ENOMEM;
	cmd->size = size;
	cmd->flags = flags;
	cmd->cookie = cookie;
	pos = (uint8_t *)cmd->items;
	if (match->items_size)
		memcpy(pos, match->items, match->items_size);
	pos += match->items_size;
	if (match->bloom)
		lk_item_put(&pos, KDBUS_ITEM_BLOOM_MASK, match->bloom, match->bloom_size, NULL, 0);
	r = kdbus_cmd_match_add(conn->fd, cmd);
	free(cmd);
	return r;
}

KDBUS_EXPORT int kdbus_conn_remove_match(struct kdbus_conn *conn, uint64_t cookie)
{
	struct kdbus_cmd_match cmd = { .size = sizeof(cmd), .cookie = cookie };

	if (!conn)
		return -EINVAL;
	return kdbus_cmd_match_remove(conn->fd, &cmd);
}

/* ---- sealed memfds ---- */

KDBUS_EXPORT int kdbus_memfd_new(int *fdp, const void *data, size_t size)
{
	int fd;

	if (!fdp || !data || !size)
		return -EINVAL;
	fd = kd_os_memfd_sealed("kdbus-payload", data, size);
	if (fd < 0)
		return fd;
	*fdp = fd;
	return 0;
}
