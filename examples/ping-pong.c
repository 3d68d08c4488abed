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
#include <sys/mman.h>
#include <unistd.h>

#include "pp/pp.h"

#define PP_MAX_SYSTEMS 32
#define PP_DEFAULT_CAP_S 5.0

struct pp_opts pp_opts;
static volatile sig_atomic_t pp_interrupted;
static struct pp_report_extra pp_extra;
static bool pp_failed;
static bool pp_progress_shown;

static void pp_usage(FILE *f)
{
	fputs("Usage: ping-pong [OPTIONS]\n"
	      "Round trips of N-byte messages between two processes on a private libkdbus bus.\n\n"
	      "  --sizes LIST          sizes (K/M suffixes), default 8,256,4K,64K,1M,16M\n"
	      "  --payload LIST        vec, memfd, auto (default auto: memfd above --memfd-threshold)\n"
	      "  --mode LIST           sync (SEND with SYNC_REPLY), async (SEND+poll+RECV); default sync\n"
	      "  --iterations N        measured round trips per size (default 20000 up to 4K,\n"
	      "                        10000 up to 64K, 1000 up to 1M, 100 above; capped at 5 s)\n"
	      "  --time SEC            time budget per size and system (with --iterations: first wins)\n"
	      "  --warmup N            unmeasured round trips first (default 10%, at least 10)\n"
	      "  --runs N              repeat everything N times interleaved; report median of runs\n"
	      "  --verify              fill payloads with a pattern, check every byte both ways\n"
	      "  --memfd-threshold SZ  auto payload: memfd above SZ (default 2M, the vec limit:\n"
	      "                        a fresh memfd per message measured slower than vec below)\n"
	      "  --pool-size SZ        kdbus pool per connection (default 16M)\n"
	      "  --cpu A,B             pin client to CPU A and server to CPU B (brokers to A if A==B)\n"
	      "  --backend NAME        libkdbus backend: socket or kmod (sets KDBUS_BACKEND)\n"
	      "  --compare             also run the baselines: socketpair (inline, memfd),\n"
	      "                        dbus-daemon and dbus-broker with sd-bus (when installed)\n"
	      "  --systems LIST        exactly these: libkdbus,socketpair,memfd,dbus-daemon,dbus-broker\n"
	      "  --clients N           N client/server pairs at once; rt/s is the aggregate\n"
	      "  --fanout N            one broadcast to N subscribers; rt/s = deliveries/s\n"
	      "  --json | --csv        machine-readable output on stdout instead of the table\n"
	      "  --plot FILE.svg       draw round trip and throughput against size\n"
	      "  --no-progress         no progress line on stderr\n"
	      "  -h, --help            this text\n",
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
	static const char *const pay_names[] = { "vec", "memfd", "auto" };
	static const unsigned pay_bits[] = { PP_PAYLOAD_VEC, PP_PAYLOAD_MEMFD, PP_PAYLOAD_AUTO };
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
			if (pp_parse_bits(optarg, pay_names, pay_bits, 3, &pp_opts.payloads) < 0)
				pp_die("bad --payload '%s' (vec, memfd, auto)", optarg);
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

static uint64_t pp_default_iters(size_t size)
{
	if (size <= 4 * PP_KIB)
		return 20000;
	if (size <= 64 * PP_KIB)
		return 10000;
	if (size <= PP_MIB)
		return 1000;
	return 100;
}

/* Iterations and time budget (ns, 0 = none) for one size. */
static void pp_budget(size_t size, uint64_t *iters, uint64_t *budget_ns, uint64_t *warm)
{
	double t = pp_opts.time_given ? pp_opts.time_budget
				      : (pp_opts.iterations ? 0 : PP_DEFAULT_CAP_S);

	if (pp_opts.iterations)
		*iters = pp_opts.iterations;
	else if (pp_opts.time_given)
		*iters = UINT64_MAX;
	else
		*iters = pp_default_iters(size);
	*budget_ns = (uint64_t)(t * 1e9);
	if (pp_opts.warmup != UINT64_MAX)
		*warm = pp_opts.warmup;
	else
		*warm = (*iters == UINT64_MAX ? pp_default_iters(size) : *iters) / 10 < 10
				? 10
				: (*iters == UINT64_MAX ? pp_default_iters(size) : *iters) / 10;
}

static void pp_progress(const char *label, uint64_t i, uint64_t total)
{
	if (!pp_opts.progress)
		return;
	if (total == UINT64_MAX)
		fprintf(stderr, "\r\033[K%s  %llu", label, (unsigned long long)i);
	else
		fprintf(stderr, "\r\033[K%s  %llu/%llu", label, (unsigned long long)i,
			(unsigned long long)total);
	pp_progress_shown = true;
}

static void pp_progress_clear(void)
{
	if (pp_progress_shown)
		fputs("\r\033[K", stderr);
	pp_progress_shown = false;
}

/*
 * Warm up, then time round trips one by one into *nsp (grown as needed).
 * Returns 0 or the first round trip's error.
 */
static int pp_measure(struct pp_system *sys, struct pp_pair *pair, size_t size, bool warmup,
		      const char *label, uint64_t **nsp, uint64_t *capp, uint64_t *np)
{
	uint64_t iters, budget, warm, start, last, i;
	int r;

	pp_budget(size, &iters, &budget, &warm);
	*np = 0;
	for (i = 0; warmup && i < warm; i++) {
		r = sys->ops->rtt(pair, size, sys->seq++);
		pp_extra.round_trips++;
		if (r < 0)
			return r;
		if (pp_interrupted)
			return -EINTR;
	}
	start = last = pp_now_ns();
	for (i = 0; i < iters; i++) {
		uint64_t t0, t1;

		if (i >= *capp) {
			uint64_t cap = *capp ? *capp * 2 : 4096;
			uint64_t *n = realloc(*nsp, cap * sizeof(*n));

			if (!n)
				return -ENOMEM;
			*nsp = n;
			*capp = cap;
		}
		t0 = pp_now_ns();
		r = sys->ops->rtt(pair, size, sys->seq++);
		t1 = pp_now_ns();
		pp_extra.round_trips++;
		if (r < 0)
			return r;
		(*nsp)[i] = t1 - t0;
		*np = i + 1;
		if (pp_interrupted)
			return -EINTR;
		if (budget && t1 - start >= budget)
			break;
		if (label && t1 - last > 100000000ULL) {
			pp_progress(label, i + 1, iters);
			last = t1;
		}
	}
	return 0;
}

void pp_skip(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		return;
	if (!pp_opts.json)
		pp_warn("skipped: %s", s);
	if (pp_extra.n_skipped < 256)
		pp_extra.skipped[pp_extra.n_skipped++] = s;
	else
		free(s);
}

static void pp_row_add(struct pp_row *row, const struct pp_system *sys, size_t size,
		       uint64_t *ns, uint64_t n, double rate, double bytes_per_unit)
{
	double median, p99, mean;

	pp_stats(ns, n, &median, &p99, &mean);
	row->sys = sys;
	row->payload = sys->ops ? sys->ops->payload_name(sys, size) : "vec";
	row->mode = sys->mode;
	row->size = size;
	row->iterations += n;
	row->median_us[row->runs] = median;
	row->p99_us[row->runs] = p99;
	row->rate[row->runs] = rate > 0 ? rate : (mean > 0 ? 1e6 / mean : 0);
	row->bytes_per_unit = bytes_per_unit;
	row->runs++;
}

static void pp_label(char *buf, size_t len, unsigned run, const struct pp_system *sys,
		     size_t size)
{
	char sz[24];

	snprintf(buf, len, "run %u/%u  %s  %s %s %s", run + 1, pp_opts.runs,
		 pp_size_str(size, sz), sys->name,
		 sys->ops ? sys->ops->payload_name(sys, size) : "", sys->mode);
}

/* One client per system, all systems interleaved per size. */
static void pp_run_single(struct pp_system *sys, unsigned nsys, struct pp_row *rows)
{
	uint64_t *ns = NULL, cap = 0, n;
	char label[160], sz[24];
	int r;

	for (unsigned k = 0; k < nsys; k++) {
		r = sys[k].ops->open(&sys[k], &sys[k].pair);
		if (r < 0) {
			pp_skip("%s (%s %s): cannot start: %s", sys[k].name,
				sys[k].ops->payload_name(&sys[k], pp_opts.sizes[0]), sys[k].mode,
				strerror(-r));
			sys[k].pair = NULL;
			if (!sys[k].baseline)
				pp_failed = true;
		}
	}
	for (unsigned run = 0; run < pp_opts.runs && !pp_interrupted; run++) {
		for (unsigned si = 0; si < pp_opts.n_sizes && !pp_interrupted; si++) {
			size_t size = pp_opts.sizes[si];

			for (unsigned k = 0; k < nsys && !pp_interrupted; k++) {
				struct pp_system *s = &sys[k];

				if (!s->pair || (s->ops->not_applicable && s->ops->not_applicable(s, size)))
					continue;
				if (!s->ops->supports(s, size)) {
					if (run == 0)
						pp_skip("%s %s %s %s: size not supported by this transport",
							s->name, s->ops->payload_name(s, size), s->mode,
							pp_size_str(size, sz));
					continue;
				}
				pp_label(label, sizeof(label), run, s, size);
				r = pp_measure(s, s->pair, size, true, label, &ns, &cap, &n);
				if (r < 0) {
					pp_progress_clear();
					if (r != -EINTR)
						pp_warn("%s %s %s %s: round trip failed: %s", s->name,
							s->ops->payload_name(s, size), s->mode,
							pp_size_str(size, sz), strerror(-r));
					s->ops->close(s->pair, &pp_extra.server);
					s->pair = NULL;
					pp_failed = true;
					continue;
				}
				pp_row_add(&rows[si * nsys + k], s, size, ns, n, 0, 2.0 * size);
			}
		}
	}
	pp_progress_clear();
	for (unsigned k = 0; k < nsys; k++) {
		if (sys[k].pair)
			sys[k].ops->close(sys[k].pair, &pp_extra.server);
		sys[k].pair = NULL;
	}
	free(ns);
}

/* ---- --clients N: N worker processes per system, each with its own pair. */

struct pp_slot {
	uint64_t n;
	int64_t err;
	uint64_t round_trips;
	struct pp_counts client, server;
	uint64_t ns[];
};

struct pp_worker_arg {
	struct pp_system *sys;
	struct pp_slot *slot;
	uint64_t cap;
};

struct pp_cmd {
	uint32_t op;              /* 1 = warm up, 2 = measure */
	uint32_t si;
};

static int pp_worker(void *arg, int ctl, int st)
{
	struct pp_worker_arg *a = arg;
	struct pp_system *sys = a->sys;
	struct pp_pair *pair = NULL;
	struct pp_counts zero = { 0 };
	uint64_t *ns = NULL, cap = 0;
	struct pp_cmd cmd;
	int r;

	if (pp_opts.pinned)
		pp_cpu_set(pp_opts.cpu_client);
	pp_opts.progress = false;
	memset(&pp_client_counts, 0, sizeof(pp_client_counts));
	r = sys->ops->open(sys, &pair);
	a->slot->err = r;
	while (pp_read_full(ctl, &cmd, sizeof(cmd)) == 0) {
		size_t size = pp_opts.sizes[cmd.si];
		uint64_t iters, budget, warm, n = 0;
		char c = cmd.op == 1 ? 'r' : 'd';

		if (r == 0 && cmd.op == 1) {
			pp_budget(size, &iters, &budget, &warm);
			for (uint64_t i = 0; i < warm && r == 0; i++, a->slot->round_trips++)
				r = sys->ops->rtt(pair, size, sys->seq++);
		} else if (r == 0 && cmd.op == 2) {
			pp_extra.round_trips = 0;
			/* warmed up by op 1, while the other clients warmed up too */
			r = pp_measure(sys, pair, size, false, NULL, &ns, &cap, &n);
			a->slot->round_trips += pp_extra.round_trips;
			if (n > a->cap)
				n = a->cap;
			memcpy(a->slot->ns, ns, n * sizeof(*ns));
		}
		a->slot->n = n;
		a->slot->err = r;
		if (pp_write_full(st, &c, 1) < 0)
			break;
	}
	if (pair)
		sys->ops->close(pair, &a->slot->server);
	a->slot->client = pp_client_counts;
	free(ns);
	pp_write_full(st, &zero, sizeof(zero));
	return 0;
}

static int pp_workers_cmd(struct pp_child *w, unsigned nw, uint32_t op, uint32_t si)
{
	struct pp_cmd cmd = { op, si };
	char c;
	int r = 0;

	for (unsigned i = 0; i < nw; i++)
		if (pp_write_full(w[i].ctl, &cmd, sizeof(cmd)) < 0)
			r = -EPIPE;
	for (unsigned i = 0; i < nw; i++)
		if (pp_read_full(w[i].st, &c, 1) < 0)
			r = -EPIPE;
	return r;
}

static void pp_run_clients(struct pp_system *sys, unsigned nsys, struct pp_row *rows)
{
	unsigned nw = pp_opts.clients;
	uint64_t cap = 0, iters, budget, warm, *all;
	struct pp_child *w;
	struct pp_worker_arg a;
	size_t slot_size, map_size;
	uint8_t *map;
	char label[160];

	for (unsigned si = 0; si < pp_opts.n_sizes; si++) {
		pp_budget(pp_opts.sizes[si], &iters, &budget, &warm);
		if (iters > cap)
			cap = iters;
	}
	if (cap > (1u << 22))
		cap = 1u << 22;
	slot_size = (sizeof(struct pp_slot) + cap * sizeof(uint64_t) + 4095) & ~(size_t)4095;
	map_size = slot_size * nw * nsys;
	map = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	w = calloc((size_t)nw * nsys, sizeof(*w));
	all = malloc(cap * nw * sizeof(*all));
	if (map == MAP_FAILED || !w || !all)
		pp_die("out of memory for %u clients", nw);
	for (unsigned k = 0; k < nsys; k++) {
		for (unsigned i = 0; i < nw; i++) {
			struct pp_slot *slot = (struct pp_slot *)(map + slot_size * (k * nw + i));

			a = (struct pp_worker_arg){ .sys = &sys[k], .slot = slot, .cap = cap };
			if (pp_spawn(&w[k * nw + i], pp_worker, &a) < 0)
				pp_die("fork: %s", strerror(errno));
		}
	}
	for (unsigned run = 0; run < pp_opts.runs && !pp_interrupted; run++) {
		for (unsigned si = 0; si < pp_opts.n_sizes && !pp_interrupted; si++) {
			size_t size = pp_opts.sizes[si];

			for (unsigned k = 0; k < nsys && !pp_interrupted; k++) {
				struct pp_child *wk = &w[k * nw];
				uint64_t t0, t1, total = 0;
				int err = 0;

				if (!sys[k].ops->supports(&sys[k], size) || sys[k].pair == (void *)1 ||
				    (sys[k].ops->not_applicable && sys[k].ops->not_applicable(&sys[k], size)))
					continue;
				pp_label(label, sizeof(label), run, &sys[k], size);
				pp_progress(label, 0, nw);
				if (pp_workers_cmd(wk, nw, 1, si) < 0)
					err = -EPIPE;
				t0 = pp_now_ns();
				if (!err && pp_workers_cmd(wk, nw, 2, si) < 0)
					err = -EPIPE;
				t1 = pp_now_ns();
				for (unsigned i = 0; i < nw && !err; i++) {
					struct pp_slot *slot =
						(struct pp_slot *)(map + slot_size * (k * nw + i));

					if (slot->err < 0)
						err = (int)slot->err;
					memcpy(all + total, slot->ns, slot->n * sizeof(*all));
					total += slot->n;
				}
				if (err < 0) {
					pp_progress_clear();
					pp_warn("%s %s %s with %u clients failed: %s", sys[k].name,
						sys[k].ops->payload_name(&sys[k], size), sys[k].mode, nw,
						strerror(-err));
					/* mark the system dead; its workers are stopped at the end */
					sys[k].pair = (void *)1;
					if (!sys[k].baseline)
						pp_failed = true;
					continue;
				}
				pp_row_add(&rows[si * nsys + k], &sys[k], size, all, total,
					   (double)total * 1e9 / (double)(t1 - t0), 2.0 * size);
			}
		}
	}
	pp_progress_clear();
	for (unsigned k = 0; k < nsys; k++) {
		for (unsigned i = 0; i < nw; i++) {
			struct pp_slot *slot = (struct pp_slot *)(map + slot_size * (k * nw + i));

			pp_child_stop(&w[k * nw + i], NULL);
			pp_extra.round_trips += slot->round_trips;
			pp_extra.client.requests += slot->client.requests;
			pp_extra.client.verified += slot->client.verified;
			pp_extra.client.failures += slot->client.failures;
			pp_extra.server.requests += slot->server.requests;
			pp_extra.server.verified += slot->server.verified;
			pp_extra.server.failures += slot->server.failures;
			if (slot->err < 0 && !sys[k].baseline)
				pp_failed = true;
		}
		sys[k].pair = NULL;
	}
	munmap(map, map_size);
	free(w);
	free(all);
}

/* ---- --fanout N */

static void pp_run_fanout(struct pp_row *rows, struct pp_system *fsys, unsigned nsys)
{
	uint64_t *ns = NULL, iters, budget, warm, n;
	unsigned batch;
	char label[160], sz[24];
	int r;

	r = pp_fanout_open(pp_opts.fanout);
	if (r < 0) {
		pp_failed = true;
		return;
	}
	for (unsigned run = 0; run < pp_opts.runs && !pp_interrupted; run++) {
		for (unsigned si = 0; si < pp_opts.n_sizes && !pp_interrupted; si++) {
			size_t size = pp_opts.sizes[si];

			for (unsigned k = 0; k < nsys; k++) {
				unsigned kind = pp_kdbus_kind(fsys[k].payload, size);

				if (fsys[k].payload == PP_PAYLOAD_AUTO && (pp_opts.payloads & kind))
					continue;
				if (kind == PP_PAYLOAD_VEC && size > PP_VEC_MAX) {
					if (run == 0)
						pp_skip("libkdbus vec broadcast %s: above the 2 MiB vec limit",
							pp_size_str(size, sz));
					continue;
				}
				pp_budget(size, &iters, &budget, &warm);
				free(ns);
				ns = calloc(iters == UINT64_MAX ? (1u << 20) : iters, sizeof(*ns));
				if (!ns)
					pp_die("out of memory");
				pp_label(label, sizeof(label), run, &fsys[k], size);
				pp_progress(label, 0, 0);
				r = pp_fanout_run(size, kind, iters, warm, budget / 1e9, ns, &n, &batch);
				if (r < 0) {
					pp_progress_clear();
					pp_warn("fanout %s: %s", pp_size_str(size, sz), strerror(-r));
					pp_failed = true;
					goto out;
				}
				pp_row_add(&rows[si * nsys + k], &fsys[k], size, ns, n, 0, size);
				rows[si * nsys + k].iterations += n * (uint64_t)(batch - 1);
				/* a sample is one broadcast reaching all subscribers */
				rows[si * nsys + k].rate[rows[si * nsys + k].runs - 1] *= pp_opts.fanout;
			}
		}
	}
out:
	pp_progress_clear();
	pp_fanout_close(&pp_extra.server);
	free(ns);
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

	if (pp_opts.fanout) {
		static const unsigned kinds[] = { PP_PAYLOAD_AUTO, PP_PAYLOAD_VEC, PP_PAYLOAD_MEMFD };

		r = pp_kdbus_setup();
		if (r < 0)
			pp_die("libkdbus: cannot make a bus: %s", strerror(-r));
		for (unsigned k = 0; k < 3; k++)
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
