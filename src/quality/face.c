/* SPDX-License-Identifier: MIT */
/*
 * Face photo quality, "ektp-face-basic" version 1: the checks of a portrait
 * that need no face detector (ICAO 9303 / ISO/IEC 19794-5 scene and
 * photographic requirements), combined into a 0-100 score.  Whether the
 * background has the colour the card needs (red for odd birth years, blue
 * for even, orange for WNA) is for the caller to decide from BACKGROUND; this
 * module only measures.
 *
 * Measures:
 *  - aspect = width / height (0.75 for 3:4); size_ok = at least 480x640.
 *  - background: the border strips are the top band (1/20 of the height)
 *    and the left and right bands (1/20 of the width) down to 60 % of the
 *    height: below that the shoulders may reach the edges.  The colour is
 *    the per-channel median over those pixels (a head that strays into a
 *    strip stays a minority), reported as 0xRRGGBB.
 *  - background_uniformity = 1 - D / 16, clamped to 0..1, where D is the
 *    mean absolute deviation of the strip pixels from that median, averaged
 *    over the three channels: sensor noise, shadows, a lighting gradient or
 *    a patterned backdrop all raise D; 16 levels (1/16 of the range) counts
 *    as not uniform at all.
 *  - exposure: the mean luma (Rec. 601: 0.299 R + 0.587 G + 0.114 B) of the
 *    centre region (the middle 40 % of width and height, where the face is)
 *    over 255.
 *
 * Score = 100 * F_size * F_aspect * uniformity * sqrt(F_exp), rounded:
 *  - F_size = 1 when size_ok, else the smaller of width/480 and height/640;
 *  - F_aspect = 1 for height/width within 1.25-1.34 (19794-5), falling
 *    linearly to 0 at 0.1 beyond either end of the width/height range;
 *  - F_exp = F_level * F_clip * F_head.  Faces range from light to dark
 *    skin, so the level alone only catches a clearly wrong exposure:
 *    F_level = 1 for an exposure within 0.25-0.85, falling linearly to 0 at
 *    0.05 and 1.0.  Over-exposure shows as clipping: F_clip = 1 - 3 c, c the
 *    share of centre pixels with a channel at 255 (or all at 0).
 *    Under-exposure shows as a missing bright end: F_head = (h - 0.3) / 0.3,
 *    h the 99th percentile over the whole image of each pixel's largest
 *    channel, over 255 (the backdrop, the eyes' whites or a collar should
 *    reach 0.6).  All clamped to 0..1.
 */
#include "quality/quality.h"
#include "quality/qutil.h"

#include <glib.h>
#include <math.h>
#include <string.h>

#define FACE_MIN_SIDE 16

/* Whether pixel (X, Y) belongs to the border strips of the header. */
static gboolean
in_strips(int x, int y, int w, int h)
{
	int top = MAX(2, h / 20), side = MAX(2, w / 20);
	if (y < top)
		return TRUE;
	return y < (h * 3) / 5 && (x < side || x >= w - side);
}

int
quality_face(const HalImage *img, QualityFace *out)
{
	if (!img || !out || !img->pixels || img->channels != 3 || img->width < FACE_MIN_SIDE ||
	    img->height < FACE_MIN_SIDE)
		return -1;
	int w = img->width, h = img->height;
	memset(out, 0, sizeof *out);
	out->algorithm = "ektp-face-basic";
	out->version = "1";
	out->aspect = (double)w / h;
	out->size_ok = w >= 480 && h >= 640;

	/* Background colour: per-channel medians over the strips. */
	guint hist[3][256];
	memset(hist, 0, sizeof hist);
	guint n = 0;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			if (!in_strips(x, y, w, h))
				continue;
			const uint8_t *p = img->pixels + ((gsize)y * w + x) * 3;
			for (int c = 0; c < 3; c++)
				hist[c][p[c]]++;
			n++;
		}
	int med[3];
	double dev = 0.0;
	for (int c = 0; c < 3; c++) {
		med[c] = qutil_hist_median(hist[c], n);
		double sum = 0.0;
		for (int v = 0; v < 256; v++)
			sum += (double)hist[c][v] * fabs((double)(v - med[c]));
		dev += sum / n / 3.0;
	}
	out->background = ((guint32)med[0] << 16) | ((guint32)med[1] << 8) | (guint32)med[2];
	out->background_uniformity = qutil_clamp01(1.0 - dev / 16.0);

	/* Exposure and clipping over the centre. */
	int x0 = (w * 3) / 10, x1 = (w * 7) / 10, y0 = (h * 3) / 10, y1 = (h * 7) / 10;
	double luma = 0.0;
	guint64 count = 0, clipped = 0;
	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++) {
			const uint8_t *p = img->pixels + ((gsize)y * w + x) * 3;
			luma += 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
			if (p[0] == 255 || p[1] == 255 || p[2] == 255 || (p[0] | p[1] | p[2]) == 0)
				clipped++;
			count++;
		}
	out->exposure = count ? luma / count / 255.0 : 0.0;
	double clip = count ? (double)clipped / count : 1.0;

	/* The bright end: 99th percentile of each pixel's largest channel. */
	guint top[256] = { 0 };
	gsize npx = (gsize)w * h;
	for (gsize i = 0; i < npx; i++) {
		const uint8_t *p = img->pixels + i * 3;
		top[MAX(p[0], MAX(p[1], p[2]))]++;
	}
	gsize acc = 0;
	int head = 255;
	for (int v = 255; v >= 0; v--) {
		acc += top[v];
		if (acc * 100 >= npx) {
			head = v;
			break;
		}
	}

	double e = out->exposure;
	double f_exp = e < 0.25 ? qutil_clamp01((e - 0.05) / 0.20)
		       : e > 0.85 ? qutil_clamp01((1.0 - e) / 0.15)
				  : 1.0;
	f_exp *= qutil_clamp01(1.0 - 3.0 * clip);
	f_exp *= qutil_clamp01((head / 255.0 - 0.3) / 0.3);
	double lo = 1.0 / 1.34, hi = 1.0 / 1.25;
	double f_aspect = out->aspect < lo ? qutil_clamp01(1.0 - (lo - out->aspect) / 0.1)
			  : out->aspect > hi ? qutil_clamp01(1.0 - (out->aspect - hi) / 0.1)
					     : 1.0;
	double f_size = out->size_ok ? 1.0 : MIN((double)w / 480.0, (double)h / 640.0);
	double s = 100.0 * MIN(f_size, 1.0) * f_aspect * out->background_uniformity * sqrt(f_exp);
	out->score = (int)CLAMP(lround(s), 0, 100);
	return 0;
}
