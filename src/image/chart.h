/* SPDX-License-Identifier: MIT */
/*
 * Line charts as PNG, for the stock report: one panel per series, each with
 * its level over the past days, a dashed forecast line from today to where
 * the level reaches zero (or the chart's right edge), and the low and
 * critical thresholds as horizontal lines.  Text is drawn with FreeType in
 * one of Debian's fonts; the PNG is written by libpng (image_png_encode).
 */
#ifndef EKTP_IMAGE_CHART_H
#define EKTP_IMAGE_CHART_H

#include <glib.h>

#define CHART_ERROR (chart_error_quark())
GQuark chart_error_quark(void);

typedef enum {
	CHART_ERROR_INVALID, /* no series, no days, a NULL level, a value not finite or too large */
	CHART_ERROR_FONT,    /* none of the fonts the chart knows could be loaded */
} ChartErrorCode;

typedef struct {
	const char *title;    /* "blank-card: Blank PVC card" */
	const char *unit;     /* "card", "roll" …: the y axis label */
	int n;                /* days of history, >= 1 */
	const double *level;  /* the level at the end of each day, oldest first; level[n-1] is today */
	double rate;          /* use per day from today on (the forecast line's slope); <= 0: flat */
	double low, critical; /* threshold lines; < 0: none */
} ChartSeries;

/* Draws N_SERIES panels stacked vertically.  FIRST_DAY is level[0]'s date as
 * days since 1970-01-01 (UTC); FORECAST_DAYS how far right of today the
 * x axis goes.  The image is 1000 pixels wide and 36 + 260 per series high;
 * at most 32 series, 36600 days (of history, or of forecast) and values
 * within +-1e15 are drawn, others refused.  SERIES is borrowed for the call.
 * Returns the PNG (caller unrefs), or NULL with a CHART_ERROR (no series,
 * bad values, no font) or an IMAGE_ERROR (encoding failed). */
GBytes *chart_png(const ChartSeries *series, guint n_series, gint64 first_day, int forecast_days,
		  GError **error);

#endif
