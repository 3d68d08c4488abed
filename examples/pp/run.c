/* SPDX-License-Identifier: BSD-2-Clause */
/* ping-pong: the measurement loop, progress line, rows, and the one-client run. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp.h"

#define PP_DEFAULT_CAP_S 5.0

volatile sig_atomic_t pp_interrupted;
struct pp_report_extra pp_extra;
bool pp_failed;
static bool pp_progress_shown;

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
void pp_budget(size_t size, uint64_t *iters, uint64_t *budget_ns, uint64_t *warm)
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
	if (pp_opts.warmup != UINT64_MAX) {
		*warm = pp_opts.warmup;
	} else {
		/* 10% of the round trips, at least 10 (as in baselines.md) */
		uint64_t base = *iters == UINT64_MAX ? pp_default_iters(size) : *iters;

		*warm = base / 10 < 10 ? 10 : base / 10;
	}
}

void pp_progress(const char *label, uint64_t i, uint64_t total)
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

void pp_progress_clear(void)
{
	if (pp_progress_shown)
		fputs("\r\033[K", stderr);
	pp_progress_shown = false;
}

/*
 * Warm up, then time round trips one by one into *nsp (grown as needed).
 * Returns 0 or the first round trip's error.
 */
int pp_measure(struct pp_system *sys, struct pp_pair *pair, size_t size, bool warmup,
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

void pp_row_add(struct pp_row *row, const struct pp_system *sys, size_t size,
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

void pp_label(char *buf, size_t len, unsigned run, const struct pp_system *sys,
		     size_t size)
{
	char sz[24];

	snprintf(buf, len, "run %u/%u  %s  %s %s %s", run + 1, pp_opts.runs,
		 pp_size_str(size, sz), sys->name,
		 sys->ops ? sys->ops->payload_name(sys, size) : "", sys->mode);
}

/* One client per system, all systems interleaved per size. */
void pp_run_single(struct pp_system *sys, unsigned nsys, struct pp_row *rows)
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
