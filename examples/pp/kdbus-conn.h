/* SPDX-License-Identifier: BSD-2-Clause */
/* ping-pong: one kdbus connection through the compat API (HELLO, SEND, RECV, FREE). */
#ifndef PP_KDBUS_CONN_H
#define PP_KDBUS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* bloom parameters of the private bus (sd-bus's default size) */
#define PP_BLOOM_SIZE 64

/** A connection: fd after HELLO and its read-only pool mapping. */
struct pp_kconn {
	int fd;
	uint64_t id;
	const uint8_t *pool;
	size_t pool_size;
	uint64_t dropped;         /* dropped_msgs reported by RECV */
};

/** A received message (or sync reply) held in the pool until released. */
struct pp_kin {
	uint64_t offset;          /* slice to FREE */
	uint64_t src_id, cookie, cookie_reply, flags;
	bool is_call;             /* EXPECT_REPLY set */
	bool is_kernel;           /* a bus notification */
	const void *data;         /* the payload bytes (pool or memfd mapping) */
	size_t len;
	int memfd;                /* received memfd, or -1 */
	void *map;
	size_t maplen;
};

int pp_kconn_open(const char *path, struct pp_kconn *c);
void pp_kconn_close(struct pp_kconn *c);
/*
 * kind: PP_PAYLOAD_VEC (data, len), PP_PAYLOAD_MEMFD (memfd, a sealed memfd of
 * len bytes, sent as it is) or PP_PAYLOAD_MEMFD_FRESH (a new memfd with data).
 */
int pp_kconn_send(struct pp_kconn *c, uint64_t dst, uint64_t msg_flags, uint64_t cookie,
		  uint64_t cookie_reply, uint64_t send_flags, const void *data, size_t len,
		  unsigned kind, int memfd, struct pp_kin *reply);
int pp_kconn_recv(struct pp_kconn *c, struct pp_kin *in);
void pp_kin_release(struct pp_kconn *c, struct pp_kin *in);
int pp_kconn_match_all(struct pp_kconn *c, uint64_t cookie);

#endif
