/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by the quality measures' sources (face.c, iris.c):
 * clamping a figure to 0..1 and the median of a 256-bin histogram of 8-bit
 * values.  Private to src/quality; header only, all static inline.
 */
#ifndef EKTP_QUALITY_QUTIL_H
#define EKTP_QUALITY_QUTIL_H

#include <glib.h>

static inline double
qutil_clamp01(double v)
{
	return v < 0.0 ? 0.0 : (v > 1.0 ? 1.0 : v);
}

/* Median of the N values counted in HIST[256]: the smallest value at or
 * below which at least half of them lie (255 if the counts fall short). */
static inline int
qutil_hist_median(const guint *hist, guint n)
{
	guint acc = 0;
	for (int v = 0; v < 256; v++) {
		acc += hist[v];
		if (2 * acc >= n)
			return v;
	}
	return 255;
}

#endif
