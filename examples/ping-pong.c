/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ping-pong: the libkdbus headline benchmark.
 *
 * A client sends N bytes to a server on a private bus, the server checks them
 * and replies with N bytes; repeated, timed per round trip. --compare runs the
 * baselines in the same run, interleaved (for each run, for each size, every
 * system in turn): a raw socketpair, a sealed memfd over a socket, and
 * dbus-daemon / dbus-broker with an sd-bus client. See --help.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pp/pp.h"

#define PP_MAX_SYSTEMS 32

struct pp_opts pp_opts;

static void pp_usage(FILE *f)
{
	fputs("Usage: ping-pong [OPTIONS]\n"
	      "Round trips of N-byte messages between two processes on a private libkdbus bus.\n\n"
	      "  --sizes LIST          sizes (K/M suffixes), default 8,256,4K,64K,1M,16M\n"
	      "  --payload LIST        vec, memfd, memfd-fresh, auto (default auto: vec up to\n"
	      "                        --memfd-threshold, memfd above)\n"
	      "                        memfd: one sealed memfd per size, made and filled before\n"
	      "                        timing, is sent by every round trip and the server replies\n"
	      "                        with the memfd it received (echo, zero copy): data that\n"
	      "                        already lives in a sealed memfd\n"
	      "                        memfd-fresh: a new memfd is created, filled and sealed for\n"
	      "                        every message on both sides: what new data costs\n"
	      "  --mode LIST           sync (SEND with SYNC_REPLY), async (SEND+poll+RECV); default sync\n"
	      "  --iterations N        measured round trips per size (default 20000 up to 4K,\n"
	      "                        10000 up to 64K, 1000 up to 1M, 100 above; capped at 5 s)\n"
	      "  --time SEC            time budget per size and system (with --iterations: first wins)\n"
	      "  --warmup N            unmeasured round trips first (default 10%, at least 10)\n"
	      "  --runs N              repeat everything N times interleaved; report median of runs\n"
	      "  --verify              fill payloads with a pattern, compare every byte both ways\n"
	      "                        (and that an echoed memfd is the file that was sent)\n"
	      "  --memfd-threshold SZ  auto payload: memfd above SZ (default 2M, the vec limit)\n"
	      "  --pool-size SZ        kdbus pool per connection (default 16M)\n"
	      "  --cpu A,B             pin client to CPU A and server to CPU B (brokers to A if A==B)\n"
	      "  --backend NAME        libkdbus backend: socket or kmod (sets KDBUS_BACKEND)\n"
	      "  --compare             also run the baselines: socketpair (inline, memfd),\n"
	      "                        dbus-daemon and dbus-broker with sd-bus (when installed;\n"
	      "                        'ay' and a memfd as 'h'); memfd-fresh rows of the memfd\n"
	      "                        baselines too when --payload has memfd-fresh\n"
	      "  --systems LIST        exactly these: libkdbus,socketpair,memfd,dbus-daemon,dbus-broker\n"
	      "  --clients N           N client/server pairs at once; rt/s is the aggregate\n"
	      "  --fanout N            one broadcast to N subscribers; rt/s = deliveries/s\n"
	      "  --json | --csv        machine-readable output on stdout instead of the table\n"
	      "  --plot FILE.svg       draw round trip and throughput against size\n"
	      "  --no-progress         no progress line on stderr\n"
	      "  -h, --help            this text\n"
	      "\nSame rules for every system, ours and the baselines:\n"
	      "  - every receiver (server: request, client: reply) reads every payload byte it\n"
	      "    received exactly once, in the application: compared with the pattern\n"
	      "    (--verify) or summed (a 64-bit checksum, compared for prepared memfds);\n"
	      "  - a received memfd is mapped read-only (MAP_POPULATE), read, unmapped and\n"
	      "    closed per message; socketpair memfd and sd-bus 'h' rows follow --payload's\n"
	      "    memfd / memfd-fresh rules exactly (sd-bus: fstat for the size);\n"
	      "  - vec/inline/ay payloads: the sender stamps (or with --verify fills) a\n"
	      "    pre-faulted buffer; the server echoes what it received (--verify: a pattern).\n",
	      f);
}

static int pp_parse_bits(const char *arg, const char *const *names, const unsigned *bits,
			 unsigned n, unsigned *out)
{
	char *copy = strdup(arg), *save = NULL, *tok;
	unsigned v = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned i;

		for (i = 0; i < n && strcmp(tok, names[i]); i++)
			;
		if (i == n) {
			free(copy);
			return -EINVAL;
		}
		v |= bits[i];
	}
	free(copy);
	if (!v)
		return -EINVAL;
	*out = v;
	return 0;
}

static void pp_parse_sizes(const char *arg)
{
	char *copy = strdup(arg), *save = NULL, *tok;

	pp_opts.n_sizes = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (pp_opts.n_sizes == PP_MAX_SIZES)
			pp_die("too many sizes (at most %d)", PP_MAX_SIZES);
		if (pp_parse_size(tok, &pp_opts.sizes[pp_opts.n_sizes]) < 0)
			pp_die("bad size '%s'", tok);
		pp_opts.n_sizes++;
	}
	free(copy);
	if (!pp_opts.n_sizes)
		pp_die("--sizes needs at least one size");
}

static uint64_t pp_parse_u64(const char *arg, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-')
		pp_die("bad %s '%s'", what, arg);
	return v;
}

static void pp_parse_args(int argc, char **argv)
{
	enum { O_SIZES = 256, O_PAYLOAD, O_MODE, O_ITER, O_TIME, O_WARMUP, O_RUNS, O_VERIFY,
	       O_THRESH, O_POOL, O_CPU, O_BACKEND, O_COMPARE, O_SYSTEMS, O_CLIENTS, O_FANOUT,
	       O_JSON, O_CSV, O_PLOT, O_NOPROG };
	static const struct option lo[] = {
		{ "sizes", required_argument, NULL, O_SIZES },
		{ "payload", required_argument, NULL, O_PAYLOAD },
		{ "mode", required_argument, NULL, O_MODE },
		{ "iterations", required_argument, NULL, O_ITER },
		{ "time", required_argument, NULL, O_TIME },
		{ "warmup", required_argument, NULL, O_WARMUP },
		{ "runs", required_argument, NULL, O_RUNS },
		{ "verify", no_argument, NULL, O_VERIFY },
		{ "memfd-threshold", required_argument, NULL, O_THRESH },
		{ "pool-size", required_argument, NULL, O_POOL },
		{ "cpu", required_argument, NULL, O_CPU },
		{ "backend", required_argument, NULL, O_BACKEND },
		{ "compare", no_argument, NULL, O_COMPARE },
		{ "systems", required_argument, NULL, O_SYSTEMS },
		{ "clients", required_argument, NULL, O_CLIENTS },
		{ "fanout", required_argument, NULL, O_FANOUT },
		{ "json", no_argument, NULL, O_JSON },
		{ "csv", no_argument, NULL, O_CSV },
		{ "plot", required_argument, NULL, O_PLOT },
		{ "no-progress", no_argument, NULL, O_NOPROG },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static const char *const pay_names[] = { "vec", "memfd", "auto", "memfd-fresh" };
	static const unsigned pay_bits[] = { PP_PAYLOAD_VEC, PP_PAYLOAD_MEMFD, PP_PAYLOAD_AUTO,
					     PP_PAYLOAD_MEMFD_FRESH };
	static const char *const mode_names[] = { "sync", "async" };
	static const unsigned mode_bits[] = { PP_MODE_SYNC, PP_MODE_ASYNC };
	static const char *const sys_names[] = { "libkdbus", "socketpair", "memfd", "dbus-daemon",
						 "dbus-broker" };
	static const unsigned sys_bits[] = { PP_SYS_LIBKDBUS, PP_SYS_SOCKETPAIR,
					     PP_SYS_MEMFD_SOCKET, PP_SYS_DBUS_DAEMON,
					     PP_SYS_DBUS_BROKER };
	bool systems_given = false, compare = false;
	int c, a, b;
	char *end;

	pp_parse_sizes("8,256,4K,64K,1M,16M");
	pp_opts.payloads = PP_PAYLOAD_AUTO;
	pp_opts.modes = PP_MODE_SYNC;
	pp_opts.systems = PP_SYS_LIBKDBUS;
	pp_opts.warmup = UINT64_MAX;
	pp_opts.memfd_threshold = PP_MEMFD_THRESHOLD_DEFAULT;
	pp_opts.pool_size = 16 * PP_MIB;
	pp_opts.runs = 1;
	pp_opts.clients = 1;
	pp_opts.progress = isatty(2);

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_SIZES:
			pp_parse_sizes(optarg);
			break;
		case O_PAYLOAD:
			if (pp_parse_bits(optarg, pay_names, pay_bits, 4, &pp_opts.payloads) < 0)
				pp_die("bad --payload '%s' (vec, memfd, memfd-fresh, auto)", optarg);
			break;
		case O_MODE:
			if (pp_parse_bits(optarg, mode_names, mode_bits, 2, &pp_opts.modes) < 0)
				pp_die("bad --mode '%s' (sync, async)", optarg);
			break;
		case O_ITER:
			pp_opts.iterations = pp_parse_u64(optarg, "--iterations");
			if (!pp_opts.iterations)
				pp_die("--iterations must be at least 1");
			break;
		case O_TIME:
			pp_opts.time_budget = strtod(optarg, &end);
			if (*end || !(pp_opts.time_budget > 0))
				pp_die("bad --time '%s'", optarg);
			pp_opts.time_given = true;
			break;
		case O_WARMUP:
			pp_opts.warmup = pp_parse_u64(optarg, "--warmup");
			break;
		case O_RUNS:
			pp_opts.runs = (unsigned)pp_parse_u64(optarg, "--runs");
			if (!pp_opts.runs || pp_opts.runs > PP_MAX_RUNS)
				pp_die("--runs must be 1..%d", PP_MAX_RUNS);
			break;
		case O_VERIFY:
			pp_opts.verify = true;
			break;
		case O_THRESH:
			if (pp_parse_size(optarg, &pp_opts.memfd_threshold) < 0)
				pp_die("bad --memfd-threshold '%s'", optarg);
			break;
		case O_POOL:
			if (pp_parse_size(optarg, &pp_opts.pool_size) < 0 || pp_opts.pool_size % 4096)
				pp_die("bad --pool-size '%s' (a multiple of 4K)", optarg);
			break;
		case O_CPU:
			if (sscanf(optarg, "%d,%d%c", &a, &b, (char[1]){ 0 }) != 2 || a < 0 || b < 0 ||
			    a >= CPU_SETSIZE || b >= CPU_SETSIZE)
				pp_die("bad --cpu '%s' (A,B)", optarg);
			pp_opts.pinned = true;
			pp_opts.cpu_client = a;
			pp_opts.cpu_server = b;
			break;
		case O_BACKEND:
			if (strcmp(optarg, "socket") && strcmp(optarg, "kmod"))
				pp_die("bad --backend '%s' (socket, kmod)", optarg);
			pp_opts.backend = optarg;
			break;
		case O_COMPARE:
			compare = true;
			break;
		case O_SYSTEMS:
			if (pp_parse_bits(optarg, sys_names, sys_bits, 5, &pp_opts.systems) < 0)
				pp_die("bad --systems '%s'", optarg);
			systems_given = true;
			break;
		case O_CLIENTS:
			pp_opts.clients = (unsigned)pp_parse_u64(optarg, "--clients");
			if (!pp_opts.clients || pp_opts.clients > 64)
				pp_die("--clients must be 1..64");
			break;
		case O_FANOUT:
			pp_opts.fanout = (unsigned)pp_parse_u64(optarg, "--fanout");
			if (!pp_opts.fanout || pp_opts.fanout > 256)
				pp_die("--fanout must be 1..256");
			break;
		case O_JSON:
			pp_opts.json = true;
			break;
		case O_CSV:
			pp_opts.csv = true;
			break;
		case O_PLOT:
			pp_opts.plot = optarg;
			break;
		case O_NOPROG:
			pp_opts.progress = false;
			break;
		case 'h':
			pp_usage(stdout);
			exit(0);
		default:
			pp_usage(stderr);
			exit(2);
		}
	}
	if (optind < argc)
		pp_die("unexpected argument '%s'", argv[optind]);
	if (pp_opts.json && pp_opts.csv)
		pp_die("--json and --csv are exclusive");
	if (compare && !systems_given)
		pp_opts.systems |= PP_SYS_SOCKETPAIR | PP_SYS_MEMFD_SOCKET | PP_SYS_DBUS_DAEMON |
				   PP_SYS_DBUS_BROKER;
	if (pp_opts.fanout && pp_opts.clients > 1)
		pp_die("--fanout and --clients are exclusive");
}

static void pp_on_signal(int sig)
{
	pp_interrupted = 1;
}

static void pp_cleanup(void)
{
	pp_sdbus_teardown();
	pp_kdbus_teardown();
	pp_tmpdir_cleanup();
}

int main(int argc, char **argv)
{
	static struct pp_system sys[PP_MAX_SYSTEMS];
	struct sigaction sa = { .sa_handler = pp_on_signal };
	struct pp_row *rows;
	unsigned nsys = 0, nrows;
	cpu_set_t orig;
	int r;

	pp_parse_args(argc, argv);
	pp_cpu_save();
	if (pp_opts.pinned) {
		if (sched_getaffinity(0, sizeof(orig), &orig) < 0 ||
		    !CPU_ISSET(pp_opts.cpu_client, &orig) || !CPU_ISSET(pp_opts.cpu_server, &orig))
			pp_die("--cpu %d,%d: CPU not available to this process", pp_opts.cpu_client,
			       pp_opts.cpu_server);
	}
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	atexit(pp_cleanup);
	/* before any server is forked: they check what they receive against these */
	r = pp_memfd_prepare();
	if (r < 0)
		pp_die("cannot prepare the sealed memfds: %s", strerror(-r));

	if (pp_opts.fanout) {
		static const unsigned kinds[] = { PP_PAYLOAD_AUTO, PP_PAYLOAD_VEC, PP_PAYLOAD_MEMFD,
						  PP_PAYLOAD_MEMFD_FRESH };

		r = pp_kdbus_setup();
		if (r < 0)
			pp_die("libkdbus: cannot make a bus: %s", strerror(-r));
		for (unsigned k = 0; k < 4; k++)
			if (pp_opts.payloads & kinds[k])
				sys[nsys++] = (struct pp_system){ .name = "libkdbus",
								  .backend = pp_kdbus_backend(),
								  .mode = "broadcast",
								  .payload = kinds[k],
								  .ops = pp_kdbus_fanout_ops() };
	} else {
		if (pp_opts.systems & PP_SYS_LIBKDBUS) {
			r = pp_kdbus_add(sys, PP_MAX_SYSTEMS);
			if (r < 0) {
				pp_skip("libkdbus: cannot make a bus: %s", strerror(-r));
				pp_failed = true;
			} else {
				nsys += (unsigned)r;
			}
		}
		nsys += (unsigned)pp_sock_add(sys + nsys, PP_MAX_SYSTEMS - nsys);
		r = pp_sdbus_add(sys + nsys, PP_MAX_SYSTEMS - nsys, pp_opts.systems);
		if (r > 0)
			nsys += (unsigned)r;
	}
	if (pp_opts.pinned && (r = pp_cpu_set(pp_opts.cpu_client)) < 0)
		pp_die("sched_setaffinity: %s", strerror(-r));

	nrows = pp_opts.n_sizes * (nsys ? nsys : 1);
	rows = calloc(nrows, sizeof(*rows));
	if (!rows)
		pp_die("out of memory");
	if (pp_opts.fanout)
		pp_run_fanout(rows, sys, nsys);
	else if (pp_opts.clients > 1)
		pp_run_clients(sys, nsys, rows);
	else
		pp_run_single(sys, nsys, rows);
	for (unsigned i = 0; i < nrows; i++)
		pp_row_finish(&rows[i]);

	pp_extra.client.requests += pp_client_counts.requests;
	pp_extra.client.verified += pp_client_counts.verified;
	pp_extra.client.failures += pp_client_counts.failures;
	if (pp_opts.json)
		pp_report_json(rows, nrows, &pp_extra, stdout);
	else if (pp_opts.csv)
		pp_report_csv(rows, nrows, stdout);
	else
		pp_report_table(rows, nrows, stdout);
	if (pp_opts.plot && pp_plot_svg(pp_opts.plot, rows, nrows) < 0)
		pp_warn("cannot write %s: %s", pp_opts.plot, strerror(errno));
	if (pp_extra.client.failures || pp_extra.server.failures) {
		pp_warn("payload check failures: %llu in replies, %llu in requests",
			(unsigned long long)pp_extra.client.failures,
			(unsigned long long)pp_extra.server.failures);
		pp_failed = true;
	}
	free(rows);
	if (pp_interrupted)
		return 130;
	return pp_failed ? 1 : 0;
}

