/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ping-pong --clients N (N worker processes per system, each with its own
 * pair; rt/s is the aggregate over the wall time of all of them) and
 * --fanout N (broadcasts to N subscribers, libkdbus only).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "pp.h"

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

void pp_run_clients(struct pp_system *sys, unsigned nsys, struct pp_row *rows)
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

void pp_run_fanout(struct pp_row *rows, struct pp_system *fsys, unsigned nsys)
{
	uint64_t *ns = NULL, iters, budget, warm, n;
	uint64_t sent;
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
				r = pp_fanout_run(size, kind, iters, warm, budget / 1e9, ns, &n, &sent);
				if (r < 0) {
					pp_progress_clear();
					pp_warn("fanout %s: %s", pp_size_str(size, sz), strerror(-r));
					pp_failed = true;
					goto out;
				}
				pp_row_add(&rows[si * nsys + k], &fsys[k], size, ns, n, 0, size);
				/* iterations count broadcasts, not batches */
				rows[si * nsys + k].iterations += sent - n;
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
