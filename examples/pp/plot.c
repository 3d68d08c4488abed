/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ping-pong --plot: a self-contained SVG with two log-log charts, median round
 * trip (µs) and throughput (MB/s) against payload size, one line per system.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pp.h"

#define PP_W 520.0  /* one chart */
#define PP_H 380.0
#define PP_ML 70.0  /* margins */
#define PP_MR 20.0
#define PP_MT 40.0
#define PP_MB 50.0
#define PP_LEGEND 22.0

static const char *const pp_colors[] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
					 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf" };

struct pp_axes {
	double x0, x1;            /* log2 of the size range */
	double y0, y1;            /* log10 of the value range, whole decades */
	double ox, oy;            /* chart origin in the picture */
};

static double pp_value(const struct pp_row *r, int which)
{
	return which == 0 ? r->agg_median_us : r->mb_per_s;
}

static double pp_px(const struct pp_axes *a, double size)
{
	double span = a->x1 > a->x0 ? a->x1 - a->x0 : 1;

	return a->ox + PP_ML + (log2(size) - a->x0) / span * (PP_W - PP_ML - PP_MR);
}

static double pp_py(const struct pp_axes *a, double v)
{
	return a->oy + PP_MT + (a->y1 - log10(v)) / (a->y1 - a->y0) * (PP_H - PP_MT - PP_MB);
}

static void pp_series_label(const struct pp_system *s, char *buf, size_t len)
{
	const char *pay = s->payload != PP_PAYLOAD_VEC ? pp_payload_str(s->payload)
			  : !strcmp(s->name, "libkdbus") ? "vec"
			  : !strcmp(s->name, "socketpair") ? "inline" : "ay";

	if (!strcmp(s->name, "libkdbus"))
		snprintf(buf, len, "libkdbus/%s %s %s", s->backend, pay, s->mode);
	else
		snprintf(buf, len, "%s %s", s->name, pay);
}

static void pp_chart(FILE *f, const struct pp_row *rows, unsigned n, int which, double ox,
		     const struct pp_system **series, unsigned ns)
{
	struct pp_axes a = { .x0 = INFINITY, .x1 = -INFINITY, .y0 = INFINITY, .y1 = -INFINITY,
			     .ox = ox, .oy = 0 };
	size_t sizes[PP_MAX_SIZES];
	unsigned nsz = 0;
	char sz[24];

	for (unsigned i = 0; i < n; i++) {
		double v = pp_value(&rows[i], which);

		if (!rows[i].runs || v <= 0)
			continue;
		a.x0 = fmin(a.x0, log2((double)rows[i].size));
		a.x1 = fmax(a.x1, log2((double)rows[i].size));
		a.y0 = fmin(a.y0, floor(log10(v)));
		a.y1 = fmax(a.y1, ceil(log10(v)));
	}
	if (!isfinite(a.x0))
		return;
	if (a.y1 <= a.y0)
		a.y1 = a.y0 + 1;
	fprintf(f, "<g font-family=\"sans-serif\" font-size=\"11\">\n");
	fprintf(f, "<text x=\"%.1f\" y=\"22\" font-size=\"14\" font-weight=\"bold\">%s</text>\n",
		ox + PP_ML, which == 0 ? "median round trip (µs, log)" : "throughput 2×size/mean RTT (MB/s, log)");
	fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#444\"/>\n",
		ox + PP_ML, PP_MT, PP_W - PP_ML - PP_MR, PP_H - PP_MT - PP_MB);
	for (double d = a.y0; d <= a.y1 + 1e-9; d++) {
		double y = pp_py(&a, pow(10, d));

		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
			ox + PP_ML, y, ox + PP_W - PP_MR, y);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
			ox + PP_ML - 6, y + 4, pow(10, d));
	}
	for (unsigned i = 0; i < n; i++) {
		bool seen = false;

		if (!rows[i].runs)
			continue;
		for (unsigned j = 0; j < nsz; j++)
			seen |= sizes[j] == rows[i].size;
		if (seen || nsz == PP_MAX_SIZES)
			continue;
		sizes[nsz++] = rows[i].size;
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
			pp_px(&a, (double)rows[i].size), PP_MT, pp_px(&a, (double)rows[i].size),
			PP_H - PP_MB);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
			pp_px(&a, (double)rows[i].size), PP_H - PP_MB + 16,
			pp_size_str(rows[i].size, sz));
	}
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">payload size (bytes, log)</text>\n",
		ox + (PP_ML + PP_W - PP_MR) / 2, PP_H - 12);
	for (unsigned s = 0; s < ns; s++) {
		const char *col = pp_colors[s % 10];
		bool first = true;

		fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", col,
			series[s]->baseline ? " stroke-dasharray=\"5,3\"" : "");
		for (unsigned i = 0; i < n; i++) {
			double v = pp_value(&rows[i], which);

			if (rows[i].sys != series[s] || !rows[i].runs || v <= 0)
				continue;
			fprintf(f, "%s%.1f,%.1f", first ? "" : " ", pp_px(&a, (double)rows[i].size),
				pp_py(&a, v));
			first = false;
		}
		fprintf(f, "\"/>\n");
		for (unsigned i = 0; i < n; i++) {
			double v = pp_value(&rows[i], which);

			if (rows[i].sys != series[s] || !rows[i].runs || v <= 0)
				continue;
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>%.3g</title></circle>\n",
				pp_px(&a, (double)rows[i].size), pp_py(&a, v), col, v);
		}
	}
	fprintf(f, "</g>\n");
}

int pp_plot_svg(const char *path, const struct pp_row *rows, unsigned n)
{
	const struct pp_system *series[64];
	unsigned ns = 0;
	double height;
	FILE *f;

	for (unsigned i = 0; i < n; i++) {
		bool seen = false;

		if (!rows[i].runs)
			continue;
		for (unsigned s = 0; s < ns; s++)
			seen |= series[s] == rows[i].sys;
		if (!seen && ns < 64)
			series[ns++] = rows[i].sys;
	}
	f = fopen(path, "w");
	if (!f)
		return -1;
	height = PP_H + 20 + PP_LEGEND * ns;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
		   "viewBox=\"0 0 %.0f %.0f\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
		2 * PP_W, height, 2 * PP_W, height);
	pp_chart(f, rows, n, 0, 0, series, ns);
	pp_chart(f, rows, n, 1, PP_W, series, ns);
	fprintf(f, "<g font-family=\"sans-serif\" font-size=\"12\">\n");
	for (unsigned s = 0; s < ns; s++) {
		char label[128];
		double y = PP_H + 20 + PP_LEGEND * s;

		pp_series_label(series[s], label, sizeof(label));
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			   "stroke-width=\"2\"%s/>\n",
			PP_ML, y - 4, PP_ML + 30, y - 4, pp_colors[s % 10],
			series[s]->baseline ? " stroke-dasharray=\"5,3\"" : "");
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", PP_ML + 38, y, label);
	}
	fprintf(f, "</g>\n</svg>\n");
	return fclose(f) == 0 ? 0 : -1;
}
