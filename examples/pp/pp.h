/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ping-pong: shared declarations of the benchmark's parts.
 *
 * A "system" is one transport under test (libkdbus with a payload kind and a
 * mode, a raw socketpair, a D-Bus broker with an sd-bus client, ...). Each
 * system opens "pairs": a server process forked for the purpose and a client
 * connection in the calling process. The measurement loop in ping-pong.c only
 * calls pp_system.rtt(); everything transport-specific lives in one file each.
 */
#ifndef PP_PP_H
#define PP_PP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <sys/types.h>

#define PP_MAX_SIZES 32
#define PP_KIB ((size_t)1024)
#define PP_MIB ((size_t)1024 * 1024)
/* kdbus refuses more than 2 MiB of PAYLOAD_VEC data per message (spec 10.1). */
#define PP_VEC_MAX (2 * PP_MIB)
/*
 * auto payload: memfd above this size. sd-bus switches above 512 KiB. Measured
 * here (socket backend, 2 vCPUs, all on CPU 0, 3 runs, docs/performance.md):
 * new data in a fresh memfd (memfd-fresh) was about 2x slower than a vec at
 * every size from 16 KiB to 2 MiB (1 MiB: 1793 vs 1090 us, 2 MiB: 4092 vs
 * 2464 us); data already in a sealed memfd (memfd) overtakes vec near 256 KiB
 * (226 vs 236 us; 1 MiB: 692 us). A program producing new data is the common
 * case, so vec is used as long as kdbus allows it (2 MiB), memfd above.
 */
#define PP_MEMFD_THRESHOLD_DEFAULT PP_VEC_MAX

/*
 * memfd: a sealed memfd prepared once per size before timing (content: the
 * pattern of PP_MEMFD_SEQ) is sent by every round trip and echoed back by the
 * server, i.e. data that already lives in a sealed memfd (zero copy).
 * memfd-fresh: a new memfd created, filled and sealed per message on both
 * sides, i.e. what an application pays when it produces new data.
 */
enum pp_payload {
	PP_PAYLOAD_VEC = 1 << 0,
	PP_PAYLOAD_MEMFD = 1 << 1,
	PP_PAYLOAD_AUTO = 1 << 2,
	PP_PAYLOAD_MEMFD_FRESH = 1 << 3,
};

/* the stamp (first word) of every prepared memfd; message stamps never get there */
#define PP_MEMFD_SEQ 0x3f70702d6d656d66ULL

enum pp_mode {
	PP_MODE_SYNC = 1 << 0,
	PP_MODE_ASYNC = 1 << 1,
};

enum pp_sys_id {
	PP_SYS_LIBKDBUS = 1 << 0,
	PP_SYS_SOCKETPAIR = 1 << 1,
	PP_SYS_MEMFD_SOCKET = 1 << 2,
	PP_SYS_DBUS_DAEMON = 1 << 3,
	PP_SYS_DBUS_BROKER = 1 << 4,
};

/** Command-line options, filled once by main(). */
struct pp_opts {
	size_t sizes[PP_MAX_SIZES];
	unsigned n_sizes;
	unsigned payloads;        /* enum pp_payload bits */
	unsigned modes;           /* enum pp_mode bits */
	unsigned systems;         /* enum pp_sys_id bits */
	uint64_t iterations;      /* per size; 0 = default by size */
	double time_budget;       /* seconds per size; 0 = none */
	bool time_given;          /* --time was given */
	uint64_t warmup;          /* UINT64_MAX = 10% (at least 10) */
	bool verify;
	size_t memfd_threshold;   /* auto: memfd above this size */
	size_t pool_size;         /* kdbus pool per connection */
	bool pinned;
	int cpu_client, cpu_server;
	unsigned runs;
	unsigned fanout;          /* subscribers; 0 = off */
	unsigned clients;         /* pairs at once; 1 = plain ping-pong */
	const char *backend;      /* NULL: library default */
	bool json, csv;
	const char *plot;
	bool progress;
	bool quiet;
};

extern struct pp_opts pp_opts;

/** Counters a server reports when its pair closes. */
struct pp_counts {
	uint64_t requests;        /* requests received */
	uint64_t verified;        /* requests whose every byte was checked */
	uint64_t failures;        /* bad stamp or pattern */
};

/** A forked helper process with its control pipes. */
struct pp_child {
	pid_t pid;
	int ctl;                  /* parent's write end; closing it asks the child to stop */
	int st;                   /* parent's read end of the child's status pipe */
};

struct pp_pair;
struct pp_system;

struct pp_system_ops {
	/* Fork a server and connect a client to it. 0 or -errno. */
	int (*open)(struct pp_system *sys, struct pp_pair **pairp);
	/* One round trip of size bytes stamped seq. 0 or -errno. */
	int (*rtt)(struct pp_pair *pair, size_t size, uint64_t seq);
	/* Stop the server and add its counters. */
	void (*close)(struct pp_pair *pair, struct pp_counts *server);
	/* Whether size can be carried at all. */
	bool (*supports)(const struct pp_system *sys, size_t size);
	/* Optional: true when a row would repeat another system or make no sense (skipped quietly). */
	bool (*not_applicable)(const struct pp_system *sys, size_t size);
	/* Payload label for a row of this size ("vec", "memfd", "inline", "ay"). */
	const char *(*payload_name)(const struct pp_system *sys, size_t size);
};

/* ops shared by the socketpair and sd-bus baselines */
bool pp_supports_all(const struct pp_system *sys, size_t size);
bool pp_baseline_not_applicable(const struct pp_system *sys, size_t size);

/** One transport configuration under test; rows are (system, size). */
struct pp_system {
	const char *name;         /* "libkdbus", "socketpair", "dbus-daemon", "dbus-broker" */
	const char *backend;      /* "socket", "kmod", "af_unix", "sd-bus" */
	const char *mode;         /* "sync", "async" */
	unsigned payload;         /* enum pp_payload, one bit */
	bool baseline;            /* not ours: ratios are printed against it */
	const struct pp_system_ops *ops;
	void *ctx;                /* shared by the systems of one bus/daemon */
	struct pp_pair *pair;     /* open pair of the single-client run */
	uint64_t seq;             /* next stamp */
};

/* ---- util.c */
uint64_t pp_now_ns(void);
int pp_parse_size(const char *s, size_t *out);
const char *pp_size_str(size_t size, char buf[static 24]);
void pp_fd_register(int fd);
void pp_fd_unregister(int fd);
int pp_spawn(struct pp_child *c, int (*fn)(void *arg, int ctl, int st), void *arg);
int pp_child_stop(struct pp_child *c, struct pp_counts *counts);
int pp_read_full(int fd, void *buf, size_t len);
int pp_write_full(int fd, const void *buf, size_t len);
int pp_cpu_set(int cpu);
void pp_cpu_save(void);
int pp_cpu_restore(void);
int pp_cpu_broker(void);
void pp_exec_prepare(void);
void pp_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void pp_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Note a skipped system or size (stderr, and the JSON "skipped" list). */
void pp_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *pp_tmpdir(void);
void pp_tmpdir_cleanup(void);

/* ---- payload.c: pattern, stamps, memfds */
void pp_fill(void *buf, size_t size, uint64_t seq, int dir, bool full);
int pp_check(const void *buf, size_t len, size_t pos, uint64_t seq, int dir, bool full);
uint64_t pp_touch(const void *buf, size_t len);
int pp_memfd_new(const void *src, size_t size);
int pp_memfd_map(int fd, size_t start, size_t size, const void **datap, void **mapp, size_t *maplenp);
void *pp_buf_new(size_t size);
void pp_buf_free(void *buf, size_t size);
/* Prepared memfds: one per --sizes entry, made by main() before any process is forked. */
int pp_memfd_prepare(void);
int pp_memfd_prepared(size_t size);
/* With --verify: whether fd is the prepared memfd of size (the echo was zero copy). */
int pp_memfd_same(int fd, size_t size);
const char *pp_payload_str(unsigned payload);

/*
 * The receive rule, the same for every system and payload: each receiver
 * (server for requests, client for replies) reads every payload byte it
 * received exactly once, in the application: with --verify by comparing it
 * with the expected pattern, otherwise by summing it. Prepared memfds carry
 * a fixed pattern, checked (or summed and compared) the same way; their
 * per-message identity is the transport's (cookie, header, D-Bus serial).
 */

/** Server side of every transport: counts and the reply buffer of --verify. */
struct pp_srv {
	struct pp_counts counts;
	void *buf;
	size_t buf_size;
};
/* Read a request; prepared: a prepared memfd (*seqp is then PP_MEMFD_SEQ). */
int pp_srv_request(struct pp_srv *srv, const void *data, size_t len, bool prepared, uint64_t *seqp);
/* With --verify: a buffer holding the reply pattern; else NULL (echo the request). */
void *pp_srv_reply_buf(struct pp_srv *srv, size_t size, uint64_t seq);
uint64_t pp_stamp(const void *data, size_t len);
/* Client side: fill a request, read and check a reply (counted in pp_client_counts). */
void pp_client_fill(void *buf, size_t size, uint64_t seq);
int pp_reply_check(const void *data, size_t len, size_t expect, uint64_t seq, bool prepared);
/* Count a reply check failure found by the transport (wrong memfd, cookie). */
void pp_reply_fail(void);
extern struct pp_counts pp_client_counts;

/* ---- systems */
int pp_sock_add(struct pp_system *out, unsigned max);
int pp_kdbus_add(struct pp_system *out, unsigned max);
int pp_sdbus_add(struct pp_system *out, unsigned max, unsigned which);
void pp_kdbus_teardown(void);
int pp_kdbus_setup(void);
const char *pp_kdbus_bus_path(void);
const char *pp_kdbus_backend(void);
void pp_sdbus_teardown(void);
/* Fan-out: n_subs subscribers; samples are ns per broadcast delivered to all of them. */
int pp_fanout_open(unsigned n_subs);
int pp_fanout_run(size_t size, unsigned kind, uint64_t iters, uint64_t warm, double budget,
		  uint64_t *ns, uint64_t *np, uint64_t *sentp);
void pp_fanout_close(struct pp_counts *server);
unsigned pp_kdbus_kind(unsigned payload, size_t size);
const struct pp_system_ops *pp_kdbus_fanout_ops(void);

/* ---- stats and output */
#define PP_MAX_RUNS 64

struct pp_row {
	const struct pp_system *sys;
	const char *payload;      /* label of the payload actually used */
	const char *mode;
	size_t size;
	uint64_t iterations;      /* measured round trips (deliveries: broadcasts), all runs */
	unsigned runs;
	double median_us[PP_MAX_RUNS], p99_us[PP_MAX_RUNS], rate[PP_MAX_RUNS];
	double bytes_per_unit;    /* payload bytes moved per counted unit (2*size per round trip) */
	double agg_median_us, agg_p99_us;
	double rt_per_s, mb_per_s;
};

struct pp_report_extra {
	struct pp_counts client, server;
	uint64_t round_trips;     /* warm-up included */
	const char *skipped[256];
	unsigned n_skipped;
};

void pp_stats(uint64_t *ns, uint64_t n, double *median_us, double *p99_us, double *mean_us);
double pp_median_d(double *v, unsigned n);
void pp_row_finish(struct pp_row *row);
const struct pp_row *pp_row_ours(const struct pp_row *rows, unsigned n, const struct pp_row *base);
void pp_report_table(const struct pp_row *rows, unsigned n, FILE *f);
void pp_report_json(const struct pp_row *rows, unsigned n, const struct pp_report_extra *x, FILE *f);
void pp_report_csv(const struct pp_row *rows, unsigned n, FILE *f);
int pp_plot_svg(const char *path, const struct pp_row *rows, unsigned n);

/* ---- run.c, run-many.c: measuring */
extern volatile sig_atomic_t pp_interrupted;
extern struct pp_report_extra pp_extra;
extern bool pp_failed;
void pp_budget(size_t size, uint64_t *iters, uint64_t *budget_ns, uint64_t *warm);
void pp_progress(const char *label, uint64_t i, uint64_t total);
void pp_progress_clear(void);
int pp_measure(struct pp_system *sys, struct pp_pair *pair, size_t size, bool warmup,
	       const char *label, uint64_t **nsp, uint64_t *capp, uint64_t *np);
void pp_row_add(struct pp_row *row, const struct pp_system *sys, size_t size, uint64_t *ns,
		uint64_t n, double rate, double bytes_per_unit);
void pp_label(char *buf, size_t len, unsigned run, const struct pp_system *sys, size_t size);
void pp_run_single(struct pp_system *sys, unsigned nsys, struct pp_row *rows);
void pp_run_clients(struct pp_system *sys, unsigned nsys, struct pp_row *rows);
void pp_run_fanout(struct pp_row *rows, struct pp_system *fsys, unsigned nsys);

#endif
