/* SPDX-License-Identifier: MIT */
/*
 * The small helpers the synthetic-image generators (synth_face.c,
 * synth_iris.c, synth_finger.c) share: a splitmix64 random stream
 * (S. Vigna's public-domain generator; one SynthRng per stream, never
 * global, so every picture is deterministic from its seed), uniform and
 * cheap normal draws from it, and the clamping and edge-coverage arithmetic
 * used to anti-alias shapes, and a round pen for strokes (lashes, ink).
 * Header only: all static inline.
 */
#ifndef EKTP_DRIVERS_SIM_SYNTH_RNG_H
#define EKTP_DRIVERS_SIM_SYNTH_RNG_H

#include <glib.h>
#include <math.h>

typedef struct {
	guint64 s;
} SynthRng;

/* splitmix64's output function: a good 64-bit mix of Z. */
static inline guint64
synth_mix64(guint64 z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static inline guint64
synth_rng_next(SynthRng *r)
{
	return synth_mix64(r->s += 0x9E3779B97F4A7C15ull);
}

/* Uniform in [0, 1). */
static inline double
synth_rng_unit(SynthRng *r)
{
	return (double)(synth_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform in [LO, HI). */
static inline double
synth_rng_range(SynthRng *r, double lo, double hi)
{
	return lo + (hi - lo) * synth_rng_unit(r);
}

/* Roughly standard normal, cheaply: the sum of four 16-bit uniforms from one
 * draw (Irwin-Hall), centred and scaled to unit variance (tails end at
 * +-3.46).  Plenty for sensor noise, and a third of the cost of
 * Box-Muller. */
static inline double
synth_rng_noise(SynthRng *r)
{
	guint64 z = synth_rng_next(r);
	double sum = (double)(z & 0xFFFF) + (double)((z >> 16) & 0xFFFF) +
		     (double)((z >> 32) & 0xFFFF) + (double)(z >> 48);
	return (sum / 65536.0 - 2.0) * 1.7320508075688772;
}

static inline double
synth_clamp01(double v)
{
	return v < 0.0 ? 0.0 : (v > 1.0 ? 1.0 : v);
}

/* Share of a pixel inside an edge at signed distance D (negative = inside),
 * the edge being a linear ramp W pixels wide. */
static inline double
synth_cover(double d, double w)
{
	return synth_clamp01(0.5 - d / w);
}

/* Max-combines the coverage of a round pen of WIDTH at (X, Y) into COV
 * (borrowed, W x H). */
static inline void
synth_stamp(float *cov, int w, int h, double x, double y, double width)
{
	double rad = width / 2.0;
	int x0 = (int)floor(x - rad - 1), x1 = (int)ceil(x + rad + 1);
	int y0 = (int)floor(y - rad - 1), y1 = (int)ceil(y + rad + 1);
	for (int yy = MAX(y0, 0); yy <= MIN(y1, h - 1); yy++)
		for (int xx = MAX(x0, 0); xx <= MIN(x1, w - 1); xx++) {
			double a = synth_cover(hypot(xx - x, yy - y) - rad, 1.0);
			float *p = &cov[yy * w + xx];
			if (a > *p)
				*p = (float)a;
		}
}

#endif
