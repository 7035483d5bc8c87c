/* SPDX-License-Identifier: MIT */
/*
 * Fingerprint image quality, our own blockwise index "ektp-fp-blockwise"
 * version 1: a documented, explainable 0-100 score for the enrollment
 * workstation's accept/retake decision.  It is NOT NFIQ 2 (ISO/IEC 29794-4)
 * and its numbers are not comparable with NFIQ 2's; a certified scorer can be
 * added beside it under its own algorithm name.
 *
 * The image (grey, about 500 ppi, where a ridge period is ~9 px) is cut into
 * 16x16 blocks; an incomplete last row or column of blocks is ignored.
 *
 *   foreground   a block whose grey-level standard deviation is at least
 *                FG_MIN_STD (16 levels): ridges make contrast, the bare
 *                platen (even a noisy sensor's) does not; segmentation by
 *                block variance as in Bazen & Gerez, ProRISC 2001.
 *   coverage     foreground blocks / all blocks.
 *   contrast     per foreground block min(1, std / 60): 60 levels is the
 *                standard deviation of a sinusoidal ridge pattern 170 levels
 *                deep; averaged over the foreground.
 *   coherence    per foreground block (l1 - l2) / (l1 + l2), l1 >= l2 the
 *                eigenvalues of the gradient structure tensor summed over the
 *                block's Sobel gradients (Kass & Witkin, CVGIP 1987; Bazen &
 *                Gerez, TPAMI 2002): 1 for straight parallel ridges, about
 *                0.1 for noise; averaged over the foreground.
 *
 * score = round(100 * sqrt(C * K * H)), where
 *   C = min(1, coverage / 0.45)  a print filling 45 % of the window counts as
 *                                complete (a flat finger on a 0.8" x 1"
 *                                window covers about half of it);
 *   K = mean contrast;
 *   H = clamp((mean coherence - 0.25) / 0.70, 0, 1): noise stays under 0.25,
 *       a clean print's blocks average 0.95 (minutiae, the core and
 *       curvature keep it under 1).
 * The product makes each factor a veto: no ridges, no contrast or no ridge
 * flow each give a low score (noise has contrast and may cover the window
 * but has no ridge flow); the square root keeps one middling factor from
 * sinking a print, e.g. half the expected area alone gives 71.  A blank
 * image has no foreground and scores 0.
 */
#include "quality/quality.h"

#include <math.h>

enum { BLOCK = 16, MIN_BLOCKS = 3 };

#define FG_MIN_STD 16.0
#define CONTRAST_FULL_STD 60.0
#define COVERAGE_FULL 0.45
#define COHERENCE_FLOOR 0.25
#define COHERENCE_SPAN 0.70

typedef struct {
	double std;
	double coherence;
} BlockStats;

static double
clamp01(double v)
{
	return v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
}

static int
px(const HalImage *img, int x, int y)
{
	return img->pixels[(size_t)y * img->width + x];
}

static double
block_std(const HalImage *img, int x0, int y0)
{
	double sum = 0, sum2 = 0;
	for (int y = y0; y < y0 + BLOCK; y++)
		for (int x = x0; x < x0 + BLOCK; x++) {
			double v = px(img, x, y);
			sum += v;
			sum2 += v * v;
		}
	double n = BLOCK * BLOCK, mean = sum / n;
	return sqrt(fmax(0.0, sum2 / n - mean * mean));
}

/* (l1 - l2) / (l1 + l2) of the structure tensor of the block's Sobel
 * gradients; pixels on the image border have no gradient and are skipped. */
static double
block_coherence(const HalImage *img, int x0, int y0)
{
	double gxx = 0, gyy = 0, gxy = 0;
	for (int y = MAX(y0, 1); y < MIN(y0 + BLOCK, img->height - 1); y++)
		for (int x = MAX(x0, 1); x < MIN(x0 + BLOCK, img->width - 1); x++) {
			double gx = (px(img, x + 1, y - 1) + 2 * px(img, x + 1, y) +
				     px(img, x + 1, y + 1)) -
				    (px(img, x - 1, y - 1) + 2 * px(img, x - 1, y) +
				     px(img, x - 1, y + 1));
			double gy = (px(img, x - 1, y + 1) + 2 * px(img, x, y + 1) +
				     px(img, x + 1, y + 1)) -
				    (px(img, x - 1, y - 1) + 2 * px(img, x, y - 1) +
				     px(img, x + 1, y - 1));
			gxx += gx * gx;
			gyy += gy * gy;
			gxy += gx * gy;
		}
	double trace = gxx + gyy;
	if (trace <= 0)
		return 0.0;
	/* l1 - l2 = sqrt((gxx - gyy)^2 + 4 gxy^2), l1 + l2 = trace */
	return sqrt((gxx - gyy) * (gxx - gyy) + 4 * gxy * gxy) / trace;
}

static BlockStats
measure_block(const HalImage *img, int bx, int by)
{
	BlockStats s = { .std = block_std(img, bx * BLOCK, by * BLOCK) };
	if (s.std >= FG_MIN_STD)
		s.coherence = block_coherence(img, bx * BLOCK, by * BLOCK);
	return s;
}

static int
combine(double coverage, double contrast, double coherence)
{
	double c = fmin(1.0, coverage / COVERAGE_FULL);
	double h = clamp01((coherence - COHERENCE_FLOOR) / COHERENCE_SPAN);
	return (int)lround(100.0 * sqrt(c * contrast * h));
}

int
quality_fingerprint(const HalImage *img, QualityFingerprint *out)
{
	if (!img || !out || !img->pixels || img->channels != 1 || img->width < MIN_BLOCKS * BLOCK ||
	    img->height < MIN_BLOCKS * BLOCK)
		return -1;

	int nbx = img->width / BLOCK, nby = img->height / BLOCK, fg = 0;
	double contrast = 0, coherence = 0;
	for (int by = 0; by < nby; by++)
		for (int bx = 0; bx < nbx; bx++) {
			BlockStats s = measure_block(img, bx, by);
			if (s.std < FG_MIN_STD)
				continue;
			fg++;
			contrast += fmin(1.0, s.std / CONTRAST_FULL_STD);
			coherence += s.coherence;
		}

	*out = (QualityFingerprint){
		.algorithm = "ektp-fp-blockwise",
		.version = "1",
		.coverage = (double)fg / (nbx * nby),
		.contrast = fg ? contrast / fg : 0.0,
		.coherence = fg ? coherence / fg : 0.0,
	};
	out->score = combine(out->coverage, out->contrast, out->coherence);
	return 0;
}
