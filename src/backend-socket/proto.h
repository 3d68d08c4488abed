/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The socket backend's wire protocol between the library and kdbus-broker.
 * See docs/broker-protocol.md for the whole story; in short:
 *
 *  - A connection has two SOCK_SEQPACKET sockets. The *queue socket* is the
 *    one connect()ed to the endpoint file and is the fd the user holds: the
 *    broker writes one notice per queued message into it and nothing else,
 *    so poll(POLLIN) means "a message is queued". The *command socket* is a
 *    socketpair the library makes at open and hands to the broker over the
 *    queue socket (first and only packet the client writes there).
 *  - Every ioctl is a request on the command socket; the broker answers with
 *    a response carrying the same serial. A sync SEND's response is the reply.
 *  - Consumed notices and freed slices are reported through a shared control
 *    page (no syscall); the broker reads them lazily and trusts them only as
 *    far as they can hurt the reporting connection itself.
 *
 * Packets are native-endian: both ends run on the same machine.
 */
#ifndef KD_BACKEND_SOCKET_PROTO_H
#define KD_BACKEND_SOCKET_PROTO_H

#include <stdint.h>

#define KD_PROTO_VERSION 1

/* Largest packet either side sends; SEND payloads above it are fragmented. */
#define KD_PROTO_MAX_PACKET (128 * 1024)
/* Most fds in one packet (16 FDS + 16 memfds + cancel fd). */
#define KD_PROTO_MAX_FDS 33
/* Slots in the control page's free ring. */
#define KD_PROTO_FREE_RING 480

enum {
	/* client -> broker, queue socket, once */
	KD_PROTO_ATTACH = 1,
	/* client -> broker, command socket */
	KD_PROTO_REQ,      /* an ioctl: arg = enum kd_cmd, body = the command */
	KD_PROTO_REQ_CONT, /* next fragment of a fragmented REQ */
	KD_PROTO_FIXUP,    /* write installed fd numbers into a slice */
	KD_PROTO_DROP,     /* one-way: a consumed notice is to be dropped */
	KD_PROTO_FREE,     /* flush the free ring now (ring full) */
	/* broker -> client, command socket */
	KD_PROTO_RESP,
	/* broker -> client, queue socket */
	KD_PROTO_NOTICE_MSG,
	KD_PROTO_NOTICE_LOST,
	/* client -> broker, queue socket, after ATTACH; never read (see client.c) */
	KD_PROTO_TOMBSTONE,
	/* broker -> client, queue socket: a message the broker still holds (activation) */
	KD_PROTO_NOTICE_WAKE,
	/* client -> broker, command socket: take the held message of a WAKE notice;
	 * arg = the notice's seq, body = struct kdbus_cmd_recv (PEEK honoured) */
	KD_PROTO_FETCH,
};

/* Header of every packet. */
struct kd_proto_hdr {
	uint32_t type;   /* KD_PROTO_* */
	uint32_t n_fds;  /* fds attached with SCM_RIGHTS */
	uint64_t serial; /* request serial, echoed by its response */
	uint64_t arg;    /* REQ: enum kd_cmd; REQ_CONT: fragment bytes; FIXUP/DROP: offset */
	int64_t error;   /* RESP: 0 or -errno */
	uint64_t total;  /* REQ: bytes of the whole body over all fragments */
	uint64_t flags;  /* KD_PROTO_F_* */
} __attribute__((__aligned__(8)));

/* REQ flags */
#define KD_PROTO_F_MORE 0x1ull /* fragments follow */
/* SEND body: which attached fds are valid (bit i = i-th fd slot). */

/*
 * Body of a SEND request: struct kdbus_cmd_send (as the user gave it),
 * struct kdbus_msg with its items, then every PAYLOAD_VEC's data with a
 * non-zero address, back to back in item order. fd slots follow the order
 * CANCEL_FD, each PAYLOAD_MEMFD, then the FDS item's fds; a slot whose fd
 * the library could not attach (not open) is absent and its bit clear in
 * kd_proto_send.fd_valid, so the broker reports EBADF at kdbus's point.
 */
struct kd_proto_send {
	uint64_t cmd_size; /* bytes of struct kdbus_cmd_send + items */
	uint64_t msg_size; /* bytes of struct kdbus_msg + items */
	uint64_t fd_valid; /* bitmap of slots present */
	uint64_t data_size;
} __attribute__((__aligned__(8)));

/* Response body of every command: written-back fields and slice. */
struct kd_proto_resp {
	uint64_t cmd_size; /* bytes of the command copy that follows (written back) */
	uint64_t offset;   /* slice published by the command, or ~0 */
	uint64_t seq;      /* RECV by priority: notice seq taken out of order */
	uint64_t fixup;    /* slice has fd slots to fix up (RESP with fds) */
} __attribute__((__aligned__(8)));

/* A queue notice. */
struct kd_proto_notice {
	uint32_t type;   /* KD_PROTO_NOTICE_* */
	uint32_t n_fds;  /* fds attached (memfds first, then FDS) */
	uint64_t seq;    /* notice number on this connection, from 1 */
	uint64_t offset; /* slice */
	uint64_t size;   /* slice size */
	int64_t priority;
	uint64_t fixup;  /* slice has fd slots the reader must fix up */
} __attribute__((__aligned__(8)));

/* FIXUP body: offset in hdr.arg, then n ints (installed fd numbers, -1 = failed). */

/* ATTACH body */
struct kd_proto_attach {
	uint32_t version;
	uint32_t pad;
} __attribute__((__aligned__(8)));

/*
 * Control page, shared read-write between one client and the broker. The
 * broker never trusts it beyond the client's own interest: it only reads
 * indices and offsets, validates each against its own records, and a lie
 * can only lose the liar's messages.
 */
struct kd_proto_ctl {
	uint64_t consumed;  /* client: notices read off the queue socket */
	uint64_t free_head; /* client: next free-ring slot to fill */
	uint64_t free_tail; /* broker: next free-ring slot to read */
	uint64_t lost;      /* broker adds, client exchanges with 0 */
	uint64_t pad[4];
	uint64_t free_ring[KD_PROTO_FREE_RING];
} __attribute__((__aligned__(8)));

#define KD_PROTO_CTL_SIZE 4096
_Static_assert(sizeof(struct kd_proto_ctl) <= KD_PROTO_CTL_SIZE, "control page");

#endif
