/* SPDX-License-Identifier: BSD-2-Clause */
/* ping-pong: statistics and the table, JSON and CSV reports. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "pp.h"

static int pp_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int pp_cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void pp_stats(uint64_t *ns, uint64_t n, double *median_us, double *p99_us, double *mean_us)
{
	long double sum = 0;
	uint64_t k;

	if (!n) {
		*median_us = *p99_us = *mean_us = 0;
		return;
	}
	qsort(ns, n, sizeof(*ns), pp_cmp_u64);
	for (uint64_t i = 0; i < n; i++)
		sum += ns[i];
	*median_us = (n % 2 ? (double)ns[n / 2] : ((double)ns[n / 2 - 1] + (double)ns[n / 2]) / 2) / 1e3;
	/* nearest-rank p99 */
	k = (n * 99 + 99) / 100;
	*p99_us = (double)ns[(k ? k : 1) - 1] / 1e3;
	*mean_us = (double)(sum / n) / 1e3;
}

double pp_median_d(double *v, unsigned n)
{
	double t[64];

	if (!n)
		return 0;
	if (n > 64)
		n = 64;
	memcpy(t, v, n * sizeof(*t));
	qsort(t, n, sizeof(*t), pp_cmp_d);
	return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

void pp_row_finish(struct pp_row *row)
{
	if (!row->runs)
		return;
	row->agg_median_us = pp_median_d(row->median_us, row->runs);
	row->agg_p99_us = pp_median_d(row->p99_us, row->runs);
	row->rt_per_s = pp_median_d(row->rate, row->runs);
	row->mb_per_s = row->rt_per_s * row->bytes_per_unit / 1e6;
}

/* inline payloads of the baselines compare with our vec; memfds with the same memfd mode */
static const char *pp_payload_class(const char *payload)
{
	if (!strcmp(payload, "inline") || !strcmp(payload, "ay"))
		return "vec";
	return payload;
}

const struct pp_row *pp_row_ours(const struct pp_row *rows, unsigned n, const struct pp_row *base)
{
	const struct pp_row *best = NULL;
	int best_score = -1;

	/* prefer our row of the same payload kind, then the same mode, then any of ours */
	for (unsigned i = 0; i < n; i++) {
		int score;

		if (!rows[i].runs || rows[i].sys->baseline || rows[i].size != base->size)
			continue;
		score = 2 * !strcmp(pp_payload_class(rows[i].payload), pp_payload_class(base->payload)) +
			!strcmp(rows[i].mode, base->mode);
		if (score > best_score) {
			best = &rows[i];
			best_score = score;
		}
	}
	return best;
}

static double pp_ratio(const struct pp_row *rows, unsigned n, const struct pp_row *r)
{
	const struct pp_row *o;

	if (!r->runs || !r->sys->baseline)
		return 0;
	o = pp_row_ours(rows, n, r);
	if (!o || r->agg_median_us <= 0)
		return 0;
	return o->agg_median_us / r->agg_median_us;
}

void pp_report_table(const struct pp_row *rows, unsigned n, FILE *f)
{
	char sz[24], ratio[24];
	size_t last = 0;
	unsigned measured = 0;

	for (unsigned i = 0; i < n; i++)
		measured += rows[i].runs > 0;
	if (!measured) {
		fprintf(f, "no results\n");
		return;
	}

	fprintf(f, "%-11s %-8s %-11s %-9s %6s %9s %11s %11s %12s %10s %10s\n", "system", "backend",
		"payload", "mode", "size", "iters", "median_us", "p99_us", "rt/s", "MB/s",
		"kdbus/x");
	for (unsigned i = 0; i < n; i++) {
		const struct pp_row *r = &rows[i];
		double q;

		if (!r->runs)
			continue;
		if (last && r->size != last)
			fputc('\n', f);
		last = r->size;
		q = pp_ratio(rows, n, r);
		if (q > 0)
			snprintf(ratio, sizeof(ratio), "%.2fx", q);
		else
			snprintf(ratio, sizeof(ratio), "-");
		fprintf(f, "%-11s %-8s %-11s %-9s %6s %9llu %11.2f %11.2f %12.0f %10.1f %10s\n",
			r->sys->name, r->sys->backend, r->payload, r->mode, pp_size_str(r->size, sz),
			(unsigned long long)r->iterations, r->agg_median_us, r->agg_p99_us,
			r->rt_per_s, r->mb_per_s, ratio);
	}
	fprintf(f, "\nkdbus/x = libkdbus median round trip / that baseline's (below 1: libkdbus is faster);\n"
		   "libkdbus row: same payload kind (vec for inline/ay) and mode if measured, else the closest.\n");
}

static void pp_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

void pp_report_json(const struct pp_row *rows, unsigned n, const struct pp_report_extra *x, FILE *f)
{
	struct utsname u;
	bool first = true;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	double load[1];

	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	fprintf(f, "{\n  \"host\": {\"cpus_online\": %ld, \"pinned\": %s, ", ncpu,
		pp_opts.pinned ? "true" : "false");
	if (pp_opts.pinned) {
		fprintf(f, "\"client_cpu\": %d, \"server_cpu\": %d, ", pp_opts.cpu_client,
			pp_opts.cpu_server);
		if (pp_opts.cpu_client == pp_opts.cpu_server)
			fprintf(f, "\"broker_cpu\": %d, ", pp_opts.cpu_client);
		else
			fprintf(f, "\"broker_cpu\": null, ");
	} else {
		fprintf(f, "\"client_cpu\": null, \"server_cpu\": null, \"broker_cpu\": null, ");
	}
	/* a busy host explains odd figures: say how busy it was */
	if (getloadavg(load, 1) == 1)
		fprintf(f, "\"loadavg_1m\": %.2f, ", load[0]);
	fprintf(f, "\"kernel\": ");
	pp_json_str(f, u.release);
	fprintf(f, ", \"machine\": ");
	pp_json_str(f, u.machine);
	fprintf(f, "},\n");
	fprintf(f, "  \"config\": {\"runs\": %u, \"clients\": %u, \"fanout\": %u, \"verify\": %s, "
		   "\"memfd_threshold\": %zu, \"pool_size\": %zu, \"time_budget_s\": %g},\n",
		pp_opts.runs, pp_opts.clients, pp_opts.fanout, pp_opts.verify ? "true" : "false",
		pp_opts.memfd_threshold, pp_opts.pool_size, pp_opts.time_budget);
	fprintf(f, "  \"results\": [");
	for (unsigned i = 0; i < n; i++) {
		const struct pp_row *r = &rows[i];

		if (!r->runs)
			continue;
		fprintf(f, "%s\n    {\"system\": ", first ? "" : ",");
		first = false;
		pp_json_str(f, r->sys->name);
		fprintf(f, ", \"backend\": ");
		pp_json_str(f, r->sys->backend);
		fprintf(f, ", \"payload\": ");
		pp_json_str(f, r->payload);
		fprintf(f, ", \"mode\": ");
		pp_json_str(f, r->mode);
		fprintf(f, ", \"size\": %zu, \"iterations\": %llu, \"median_us\": %.3f, "
			   "\"p99_us\": %.3f, \"rt_per_s\": %.1f, \"mb_per_s\": %.2f, \"run_median_us\": [",
			r->size, (unsigned long long)r->iterations, r->agg_median_us, r->agg_p99_us,
			r->rt_per_s, r->mb_per_s);
		/* each run's median: the spread says how much to trust the figure */
		for (unsigned k = 0; k < r->runs; k++)
			fprintf(f, "%s%.3f", k ? ", " : "", r->median_us[k]);
		fprintf(f, "]}");
	}
	fprintf(f, "\n  ],\n  \"ratios\": [");
	first = true;
	for (unsigned i = 0; i < n; i++) {
		const struct pp_row *r = &rows[i], *o;
		double q = pp_ratio(rows, n, r);

		if (q <= 0)
			continue;
		o = pp_row_ours(rows, n, r);
		fprintf(f, "%s\n    {\"size\": %zu, \"libkdbus_payload\": ", first ? "" : ",", r->size);
		first = false;
		pp_json_str(f, o->payload);
		fprintf(f, ", \"libkdbus_mode\": ");
		pp_json_str(f, o->mode);
		fprintf(f, ", \"baseline\": ");
		pp_json_str(f, r->sys->name);
		fprintf(f, ", \"baseline_payload\": ");
		pp_json_str(f, r->payload);
		fprintf(f, ", \"rtt_ratio\": %.4f, \"throughput_ratio\": %.4f}", q,
			r->mb_per_s > 0 ? o->mb_per_s / r->mb_per_s : 0.0);
	}
	fprintf(f, "\n  ],\n  \"verify\": {\"enabled\": %s, \"round_trips\": %llu, "
		   "\"requests_checked\": %llu, \"replies_checked\": %llu, \"failures\": %llu},\n",
		pp_opts.verify ? "true" : "false", (unsigned long long)x->round_trips,
		(unsigned long long)x->server.verified, (unsigned long long)x->client.verified,
		(unsigned long long)(x->server.failures + x->client.failures));
	fprintf(f, "  \"skipped\": [");
	for (unsigned i = 0; i < x->n_skipped; i++) {
		fprintf(f, "%s\n    ", i ? "," : "");
		pp_json_str(f, x->skipped[i]);
	}
	fprintf(f, "%s]\n}\n", x->n_skipped ? "\n  " : "");
}

void pp_report_csv(const struct pp_row *rows, unsigned n, FILE *f)
{
	fprintf(f, "system,backend,payload,mode,size,iterations,median_us,p99_us,rt_per_s,mb_per_s,"
		   "kdbus_rtt_ratio\n");
	for (unsigned i = 0; i < n; i++) {
		const struct pp_row *r = &rows[i];
		double q = pp_ratio(rows, n, r);

		if (!r->runs)
			continue;
		fprintf(f, "%s,%s,%s,%s,%zu,%llu,%.3f,%.3f,%.1f,%.2f,", r->sys->name, r->sys->backend,
			r->payload, r->mode, r->size, (unsigned long long)r->iterations,
			r->agg_median_us, r->agg_p99_us, r->rt_per_s, r->mb_per_s);
		if (q > 0)
			fprintf(f, "%.4f", q);
		fputc('\n', f);
	}
}
