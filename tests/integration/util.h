/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Conformance test harness. Written against the compat API only
 * (kdbus/compat.h + kdbus/kdbus.h), so the same tests run on every backend.
 * Helpers return 0 or a negative errno; pointers into pools are returned
 * through out-parameters.
 */
#ifndef KT_UTIL_H
#define KT_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <setjmp.h>
#include <sys/types.h>
#include <unistd.h>
#include <cmocka.h>

#include <kdbus/kdbus.h>
#include <kdbus/compat.h>

/* Limits from kdbus-spec 10.1, restated: the tests must not depend on src/. */
#define KT_POOL_SIZE (16UL * 1024 * 1024)
#define KT_CMD_MAX_SIZE (32 * 1024)
#define KT_MAX_FDS 16
#define KT_MAX_MEMFDS 16
#define KT_MAX_MSGS 256
#define KT_MAX_NAMES 256
#define KT_MAX_MATCHES 256
#define KT_MAX_PENDING 128
#define KT_MAX_VEC_SIZE (2 * 1024 * 1024)
#define KT_BLOOM_SIZE 64
#define KT_BLOOM_N_HASH 1
#define KT_UNPRIV_UID 65534
#define KT_UNPRIV_GID 65534
#define KT_TEST_TIMEOUT_S 60
#define KT_MSG_CAP (64 * 1024)

/* One bus per test: the bus owner fd stays open for the test's lifetime. */
struct kt_bus {
	int control_fd;
	char name[128]; /* "<uid>-test-<random>" */
	char dir[2048]; /* <root>/<name> */
	char path[4096]; /* <root>/<name>/bus */
};

/* A connection with its pool mapped read-only. */
struct kt_conn {
	int fd;
	uint64_t id;
	uint64_t flags; /* HELLO flags */
	uint64_t bus_flags;
	uint8_t id128[16];
	uint8_t *buf;
	size_t pool_size;
	struct kdbus_bloom_parameter bloom;
};

/* A growable, 8-aligned list of items for any command. */
struct kt_items {
	uint8_t *buf;
	size_t size;
	size_t cap;
};

/* A forked process talking to its parent over two pipes. */
struct kt_proc {
	pid_t pid;
	int rd; /* in the parent: from the child; in the child: from the parent */
	int wr; /* in the parent: to the child; in the child: to the parent */
};

/* ---- environment and buses */
int kt_env_init(void);
void kt_env_cleanup(void);
const char *kt_root(void);
bool kt_is_root(void);
int kt_bus_make(struct kt_bus *bus, uint64_t flags, uint64_t owner_mask);
void kt_bus_destroy(struct kt_bus *bus);
/* cmocka per-test setup/teardown: *state is a struct kt_bus *. */
int kt_setup_bus(void **state);
int kt_teardown_bus(void **state);
int kt_make_bus_cmd(int control_fd, const char *name, uint64_t flags, uint64_t bloom_size,
		    uint64_t n_hash, uint64_t owner_mask);
char *kt_random_name(const char *prefix, char *buf, size_t len);

/* ---- items */
void kt_items_init(struct kt_items *it);
void kt_items_deinit(struct kt_items *it);
struct kdbus_item *kt_items_add(struct kt_items *it, uint64_t type, const void *data, size_t len);
struct kdbus_item *kt_items_add_str(struct kt_items *it, uint64_t type, const char *s);
struct kdbus_item *kt_items_add_u64(struct kt_items *it, uint64_t type, uint64_t v);
struct kdbus_item *kt_items_add_access(struct kt_items *it, uint64_t type, uint64_t access,
				       uint64_t id);
/* Allocate a zeroed command of fixed size `fixed` followed by the items. */
void *kt_cmd_new(size_t fixed, const struct kt_items *it);

/* ---- connections */
int kt_hello_full(struct kt_conn **out, const char *path, uint64_t flags, uint64_t attach_send,
		  uint64_t attach_recv, size_t pool_size, const struct kt_items *it);
struct kt_conn *kt_hello(const char *path, uint64_t flags, const struct kt_items *it);
struct kt_conn *kt_conn_new(const struct kt_bus *bus);
struct kt_conn *kt_conn_free(struct kt_conn *c);
int kt_update_attach(struct kt_conn *c, uint64_t send, uint64_t recv);
int kt_byebye(struct kt_conn *c);
int kt_hello_policy(struct kt_conn **out, const char *path, uint64_t flags, const char *name,
		    const struct kdbus_policy_access *acc, size_t n_acc);
int kt_update_policy(struct kt_conn *c, const char *name, const struct kdbus_policy_access *acc,
		     size_t n_acc);

/* ---- messages */
struct kdbus_msg *kt_msg_new(uint64_t dst_id, uint64_t flags, uint64_t cookie);
struct kdbus_item *kt_msg_append(struct kdbus_msg *m, uint64_t type, const void *data, size_t len);
struct kdbus_item *kt_msg_add_vec(struct kdbus_msg *m, const void *p, size_t len);
struct kdbus_item *kt_msg_add_memfd(struct kdbus_msg *m, int fd, uint64_t start, uint64_t size);
struct kdbus_item *kt_msg_add_fds(struct kdbus_msg *m, const int *fds, size_t n);
struct kdbus_item *kt_msg_add_bloom(struct kdbus_msg *m, uint64_t generation, const void *data,
				    size_t size);
struct kdbus_item *kt_msg_add_dst_name(struct kdbus_msg *m, const char *name);
void kt_msg_free(struct kdbus_msg *m);

int kt_send(struct kt_conn *c, struct kdbus_msg *m, uint64_t send_flags, int cancel_fd,
	    struct kdbus_msg_info *reply);
/* A plain unicast with one 8-byte VEC holding the cookie. */
int kt_send_simple(struct kt_conn *c, uint64_t dst_id, uint64_t cookie, uint64_t flags,
		   int64_t priority, uint64_t timeout_or_reply);
/* A method call with a relative timeout in ns (absolute deadline computed here). */
int kt_send_call(struct kt_conn *c, uint64_t dst_id, uint64_t cookie, uint64_t timeout_ns);
int kt_send_sync(struct kt_conn *c, uint64_t dst_id, uint64_t cookie, uint64_t timeout_ns,
		 int cancel_fd, struct kdbus_msg **reply);
int kt_send_reply(struct kt_conn *c, uint64_t dst_id, uint64_t cookie, uint64_t cookie_reply);
/* A signal with a bloom filter of the bus size; data may be NULL (all zeros). */
int kt_send_signal(struct kt_conn *c, uint64_t dst_id, uint64_t cookie, uint64_t generation,
		   const void *bloom);

int kt_recv(struct kt_conn *c, uint64_t flags, int64_t priority, struct kdbus_msg **msg,
	    struct kdbus_cmd_recv *out);
/* poll() for POLLIN up to timeout_ms, then RECV; -ETIMEDOUT if nothing came. */
int kt_recv_poll(struct kt_conn *c, int timeout_ms, struct kdbus_msg **msg);
int kt_free(struct kt_conn *c, uint64_t offset);
uint64_t kt_off(const struct kt_conn *c, const void *p);
/* FREE a received message (closing any fds it installed). */
void kt_msg_release(struct kt_conn *c, struct kdbus_msg *msg);
/* 1 if POLLIN within timeout_ms, 0 if not, -errno on error; revents optional. */
int kt_poll(struct kt_conn *c, int timeout_ms, short *revents);
/* Expect the queue to be empty: RECV returns -EAGAIN. */
int kt_expect_empty(struct kt_conn *c);

/* ---- item lookup in received records */
struct kdbus_item *kt_find_item(struct kdbus_item *first, size_t bytes, uint64_t type,
				unsigned int nth);
unsigned int kt_count_items(struct kdbus_item *first, size_t bytes, uint64_t type);
struct kdbus_item *kt_msg_item(struct kdbus_msg *m, uint64_t type);
unsigned int kt_msg_count(struct kdbus_msg *m, uint64_t type);
struct kdbus_item *kt_info_item(struct kdbus_info *info, uint64_t type);
unsigned int kt_info_count(struct kdbus_info *info, uint64_t type);
/* Copy the payload byte stream (PAYLOAD_OFF items) into buf; returns the length or -errno. */
ssize_t kt_msg_payload(const struct kt_conn *c, struct kdbus_msg *m, void *buf, size_t cap);
/* Check structural sanity: items inside msg->size, sizes >= 16. 0 or -EBADMSG. */
int kt_msg_check(const struct kt_conn *c, const struct kdbus_msg *m, uint64_t slice_size);
void kt_msg_dump(const struct kt_conn *c, const struct kdbus_msg *m);
const char *kt_item_name(uint64_t type);

/* Assert that fails with a dump of the message. */
#define kt_assert_msg(cond, conn, msg)                                                   \
	do {                                                                             \
		if (!(cond)) {                                                           \
			kt_msg_dump((conn), (msg));                                      \
			fail_msg("%s:%d: assertion '%s' failed (message dumped above)", \
				 __FILE__, __LINE__, #cond);                             \
		}                                                                        \
	} while (0)

/* Assert a 0/-errno result, printing both errno names on mismatch. */
#define assert_ret(expr, expected)                                                       \
	do {                                                                             \
		long long kt_r_ = (long long)(expr), kt_e_ = (long long)(expected);      \
		if (kt_r_ != kt_e_)                                                      \
			fail_msg("%s:%d: %s returned %lld (%s), expected %lld (%s)",     \
				 __FILE__, __LINE__, #expr, kt_r_, kt_strerr(kt_r_),     \
				 kt_e_, kt_strerr(kt_e_));                               \
	} while (0)
const char *kt_strerr(long long r);

/* ---- info, names, matches */
int kt_conn_info(struct kt_conn *c, uint64_t id, const char *name, uint64_t attach,
		 struct kdbus_info **info);
int kt_bus_creator_info(struct kt_conn *c, uint64_t attach, struct kdbus_info **info);
int kt_list(struct kt_conn *c, uint64_t flags, struct kdbus_info **first, uint64_t *size);
/* Search a LIST result for (id, name): returns the name flags or -ENOENT. */
int64_t kt_list_find(struct kdbus_info *first, uint64_t size, uint64_t id, const char *name);
/* LIST NAMES|QUEUED|ACTIVATORS and find (id, name) flags; -ENOENT if absent. */
int64_t kt_name_flags(struct kt_conn *c, uint64_t id, const char *name);
int kt_name_acquire(struct kt_conn *c, const char *name, uint64_t flags, uint64_t *ret_flags);
int kt_name_release(struct kt_conn *c, const char *name);
int kt_match_add(struct kt_conn *c, uint64_t cookie, uint64_t flags, const struct kt_items *it);
int kt_match_remove(struct kt_conn *c, uint64_t cookie);
int kt_match_id(struct kt_conn *c, uint64_t cookie, uint64_t type, uint64_t id);
int kt_match_name(struct kt_conn *c, uint64_t cookie, uint64_t type, uint64_t old_id,
		  uint64_t new_id, const char *name);
/* One entry with a single ID=ANY rule: every user signal, no notifications. */
int kt_match_any_signal(struct kt_conn *c);
int kt_match_bloom(struct kt_conn *c, uint64_t cookie, const void *masks, size_t size);

/* ---- misc */
int kt_memfd_new(const void *data, size_t size, bool seal);
uint64_t kt_now(clockid_t clk);
int kt_count_open_fds(void);
int kt_drop_privileges(uid_t uid, gid_t gid);
int kt_read_file(const char *path, char *buf, size_t cap);

/* ---- processes */
/* In a child: close every fd but stdio and the two given. */
void kt_close_other_fds(int keep1, int keep2);
int kt_proc_start(struct kt_proc *p, int (*fn)(struct kt_proc *self, void *arg), void *arg);
int kt_proc_put(struct kt_proc *p, uint64_t v);
/* -ETIMEDOUT on timeout, -EPIPE if the other side went away. */
int kt_proc_get(struct kt_proc *p, uint64_t *v, int timeout_ms);
/* Wait for the child: its exit status, or 128 + signal. */
int kt_proc_wait(struct kt_proc *p);
void kt_proc_kill(struct kt_proc *p);

/* In a child: report a failed check on stderr and return a non-zero status. */
#define KT_CHILD_CHECK(cond)                                                        \
	do {                                                                        \
		if (!(cond)) {                                                      \
			fprintf(stderr, "child %d: %s:%d: check '%s' failed\n",    \
				(int)getpid(), __FILE__, __LINE__, #cond);          \
			return 1;                                                   \
		}                                                                   \
	} while (0)

/*
 * A remote connection owner: a forked child (optionally as another uid) that
 * runs kdbus operations on request, so tests can act as several users. The
 * child keeps up to 8 connections, index 0 made at start on `path`.
 */
struct kt_remote {
	struct kt_proc proc;
	uint64_t id; /* id of connection 0, or 0 if its HELLO failed */
	int64_t hello_err;
};

enum {
	KT_OP_HELLO = 1, /* arg: flags, str: NAME item (activator/holder) → conn index */
	KT_OP_HELLO_PATH, /* arg: flags, str: endpoint path → conn index */
	KT_OP_ID,	  /* → the connection id */
	KT_OP_ACQUIRE,	  /* arg: flags, str: name → 0/-errno */
	KT_OP_RELEASE,	  /* str: name */
	KT_OP_SEND,	  /* arg: dst id, cookie 0xbeef */
	KT_OP_SEND_NAME,  /* str: name, cookie 0xbeef */
	KT_OP_SIGNAL,	  /* arg: dst id (or broadcast), zero bloom, cookie 0x5167 */
	KT_OP_CALL,	  /* arg: dst id, EXPECT_REPLY, 5 s, cookie 0xca11 */
	KT_OP_BCAST_CALL, /* broadcast SIGNAL|EXPECT_REPLY */
	KT_OP_RECV,	  /* arg: timeout ms → src_id of the message or -errno */
	KT_OP_LAST,	  /* arg: 0 cookie, 1 first item type, 2 notify new/id, 3 dst_id,
			     4 notify old id, 5 dropped_msgs → value */
	KT_OP_REPLY,	  /* arg: dst id → reply to the last received cookie */
	KT_OP_MATCH_ANY,  /* ID=ANY rule (user signals) */
	KT_OP_MATCH_NOTIFY, /* ID_ADD, ID_REMOVE, NAME_ADD/REMOVE/CHANGE rules, all ANY */
	KT_OP_CONN_INFO,  /* arg: id, str: optional name → 0/-errno */
	KT_OP_LIST_HAS,	  /* str: name → 1 listed, 0 not, -errno */
	KT_OP_CLOSE,	  /* free the connection */
	KT_OP_ENDPOINT_MAKE, /* str: endpoint name (on a new fd of the start path) */
	KT_OP_OPEN,	  /* str: path → 0/-errno of kdbus_open */
	KT_OP_UPDATE_ATTACH, /* arg: recv flags (send = all) */
	KT_OP_EXIT,
};

int kt_remote_start(struct kt_remote *r, const char *path, uid_t uid, gid_t gid);
int64_t kt_remote(struct kt_remote *r, unsigned int conn, unsigned int op, uint64_t arg,
		  const char *str);
/* Ask the child to exit; its exit status (0 = fine). */
int kt_remote_stop(struct kt_remote *r);

/* Run all tests with the bus setup; the main of every test file. */
int kt_run(const char *group, const struct CMUnitTest *tests, size_t n);
#define KT_TEST(f) cmocka_unit_test_setup_teardown(f, kt_setup_bus, kt_teardown_bus)
#define KT_SKIP_UNLESS_ROOT()                                                    \
	do {                                                                         \
		if (!kt_is_root()) {                                                 \
			print_message("needs root (setuid to another uid); skipped\n"); \
			skip();                                                      \
		}                                                                    \
	} while (0)

#endif
