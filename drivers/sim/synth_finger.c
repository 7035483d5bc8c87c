/* SPDX-License-Identifier: MIT */
/*
 * The fingerprint simulator's picture: a synthetic 400x500, 500 ppi grey
 * print whose minutiae are known because the ridges are drawn from them.
 * Tests use it as ground truth for the quality measure and, later, for the
 * minutiae extractor.
 *
 * Algorithm: the phase model of K. G. Larkin and P. A. Fletcher, "A coherent
 * framework for fingerprint analysis: are fingerprints holograms?", Optics
 * Express 15(14), 2007.  Ridges are cos(psi) with psi = psi_c + psi_s:
 *
 *   psi_c  the continuous phase, k * F(x, y) + phi0, where k = 2 pi / period
 *          (8.4 to 9.9 px by finger, i.e. about 0.46 mm at 500 ppi) and F is
 *          a distance: from a centre inside the print, slightly stretched,
 *          for a concentric whorl; from a centre far below it, minus a
 *          Gaussian "tent" that lifts the middle ridges, for an arch.
 *          Three low-frequency waves (wavelength 140-300 px) added to F bend
 *          the flow a little.  F has no folds, so psi_c is smooth and
 *          single-valued and adds no minutia of its own.
 *   psi_s  the spiral phase, the sum over minutiae of p * atan2(y-yn, x-xn)
 *          with polarity p = +1 or -1 drawn at random.  Each term adds
 *          exactly one ridge on one side of its point: one ridge ending or
 *          one bifurcation.  30 to 42 points are drawn by rejection
 *          sampling: at least 22 px apart, inside 82 % of the outline (a
 *          superellipse sized by digit) and 30 px or more from a whorl's
 *          centre.
 *
 * Reading a minutia off the model.  Let g be the gradient of the phase
 * without the minutia's own term (psi_b) at its point, and a = atan2(g).  On
 * the ridge line through the point the phase is psi0 - pi/2 on the side of
 * direction p * (g_y, -g_x) (the side with one ridge more) and psi0 + pi/2
 * on the other, where psi0 = psi_b + p * a.  Ridges (dark) are at phase 0
 * mod 2 pi, so psi0 = +pi/2 makes the line a ridge on the "more" side and a
 * valley beyond: a ridge ending; psi0 = -pi/2 makes it a valley between two
 * branches on the "more" side and the stem ridge on the other: a
 * bifurcation.  Each minutia is moved along g (at most a quarter period) until
 * psi0 is exactly the nearer of the two, so every one is a clean ending or
 * bifurcation; the type is sin(psi0) > 0 ? ending : bifurcation.  Following
 * ISO/IEC 19794-2, the angle points along the ridge flow towards the side with
 * the extra ridge (into the ridge body for an ending, between the branches for
 * a bifurcation), counter-clockwise from +x as seen on the image (y down).
 *
 * Grey level: 242 on the platen; inside the print's outline (a superellipse
 * with a 6 px soft edge) 242 - 230 * (0.07 + 0.85 * (1 + cos psi) / 2), so
 * valleys are ~226 and ridge centres ~30: dark ridges on a light background.
 *
 * QUALITY below 1 damages the clean print with severity s = 1 - quality,
 * the way a dry or worn finger and a dirty platen do: ridge depth times
 * 1 - 0.8 s, round(12 s) dropout patches where the skin did not touch, dry
 * breaks along the ridges (a 5 px value noise), Gaussian blur of sigma 1.6 s
 * px, a lighter print (+25 s grey levels) and sensor noise of 12 s grey
 * levels.  At quality 1 there is no damage at all.  The ridges and minutiae
 * depend only on SEED and POSITION; the damage uses a separate random
 * stream, so every quality of one seed shares its ground truth.  All
 * randomness is splitmix64 (S. Vigna's public-domain generator) seeded from
 * seed, position and a stream number: no global state.
 */
#include "drivers/sim/synth.h"
#include "drivers/sim/synth_rng.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

enum {
	FP_WIDTH = 400,
	FP_HEIGHT = 500,
	FP_PPI = 500,
	N_WAVES = 3,
	MIN_MINUTIAE = 30,
	MAX_MINUTIAE = 42,
	MAX_PATCHES = 12,
	SNAP_ROUNDS = 4,
};

#define PAPER 242.0        /* grey of the platen, outside the print */
#define INK_SPAN 230.0     /* grey levels per unit of darkness */
#define VALLEY_DARK 0.07   /* darkness of a valley inside the print */
#define RIDGE_DARK 0.85    /* extra darkness at a ridge's centre */
#define EDGE_PX 6.0        /* width of the print's soft edge */
#define MINUTIA_GAP 22.0   /* minimum distance between minutiae when placed */
#define MINUTIA_RHO 0.82   /* minutiae lie inside this share of the outline */
#define CORE_GAP 30.0      /* and this far from a whorl's centre */

enum { STREAM_SHAPE = 1, STREAM_DAMAGE = 2, STREAM_BREAKS = 3 };

typedef struct {
	double amp;    /* px added to the distance F */
	double kx, ky; /* rad/px */
	double phase;
} Wave;

typedef struct {
	double cx, cy, a, b; /* outline: superellipse centre and half axes */
	double ox, oy;       /* centre of the flow distance F */
	double stretch;      /* whorl ellipticity (1 = circles) */
	double cos_t, sin_t; /* orientation of the stretch */
	gboolean whorl;
	double tent_h, tent_x, tent_y, tent_sx, tent_sy; /* an arch's rise */
	double k, phase0; /* 2 pi / ridge period; phase offset */
	Wave waves[N_WAVES];
} Finger;

typedef struct {
	double x, y;
	int polarity; /* +1 or -1 */
} Spiral;

typedef struct {
	double x, y, r;
} Patch;

typedef struct {
	double severity;
	double depth; /* multiplier of the ridge depth */
	double blur_sigma, noise_sd, lift;
	Patch patches[MAX_PATCHES];
	int n_patches;
	uint64_t breaks_key;
} Damage;

/* ---- randomness: splitmix64 (synth_rng.h) ---- */

static uint64_t
stream_seed(guint32 seed, int position, uint64_t stream)
{
	return synth_mix64(((uint64_t)seed << 32) ^ ((uint64_t)position << 8) ^ stream);
}

/* ---- small maths ---- */

static double
smoothstep(double lo, double hi, double v)
{
	double t = synth_clamp01((v - lo) / (hi - lo));
	return t * t * (3.0 - 2.0 * t);
}

/* Angle in (-pi, pi]. */
static double
wrap_angle(double a)
{
	return atan2(sin(a), cos(a));
}

/* ---- the finger: outline and continuous phase ---- */

/* Below 1 inside the outline, 1 on it. */
static double
outline_rho(const Finger *f, double x, double y)
{
	const double n = 2.4;
	double u = fabs(x - f->cx) / f->a, v = fabs(y - f->cy) / f->b;
	return pow(pow(u, n) + pow(v, n), 1.0 / n);
}

/* 0 outside the print, 1 inside, a soft edge EDGE_PX wide. */
static double
outline_mask(const Finger *f, double x, double y)
{
	double inside_px = (1.0 - outline_rho(f, x, y)) * fmin(f->a, f->b);
	return smoothstep(0.0, EDGE_PX, inside_px);
}

/* F: the distance whose level lines are the ridges of the continuous flow. */
static double
flow_distance(const Finger *f, double x, double y)
{
	double dx = x - f->ox, dy = y - f->oy;
	double u = dx * f->cos_t + dy * f->sin_t;
	double v = -dx * f->sin_t + dy * f->cos_t;
	double d = sqrt(u * u * f->stretch + v * v / f->stretch);
	if (f->tent_h > 0) {
		double tx = (x - f->tent_x) / f->tent_sx, ty = (y - f->tent_y) / f->tent_sy;
		d -= f->tent_h * exp(-0.5 * (tx * tx + ty * ty));
	}
	for (int i = 0; i < N_WAVES; i++) {
		const Wave *w = &f->waves[i];
		d += w->amp * sin(w->kx * x + w->ky * y + w->phase);
	}
	return d;
}

static double
continuous_phase(const Finger *f, double x, double y)
{
	return f->k * flow_distance(f, x, y) + f->phase0;
}

/* Size and ridge period of each digit: thumb, index, middle, ring, little. */
static const struct {
	double a, b, period;
} digit_shape[5] = {
	{ 172, 226, 9.6 }, { 160, 220, 9.0 }, { 162, 225, 9.2 }, { 155, 218, 9.0 }, { 145, 205, 8.7 },
};

static void
finger_init(Finger *f, SynthRng *rng, int position)
{
	int digit = (position - 1) % 5;
	double hand = position <= 5 ? 1.0 : -1.0; /* mirror the slant on the left hand */

	f->a = digit_shape[digit].a + synth_rng_range(rng, -6, 6);
	f->b = digit_shape[digit].b + synth_rng_range(rng, -6, 6);
	f->cx = FP_WIDTH / 2.0 + synth_rng_range(rng, -8, 8);
	f->cy = FP_HEIGHT / 2.0 + synth_rng_range(rng, -6, 6);
	f->k = 2.0 * G_PI / (digit_shape[digit].period + synth_rng_range(rng, -0.3, 0.3));
	f->phase0 = synth_rng_range(rng, 0, 2.0 * G_PI);
	f->whorl = synth_rng_unit(rng) < 0.6;
	f->tent_h = 0;
	if (f->whorl) {
		f->ox = f->cx + hand * synth_rng_range(rng, -25, 25);
		f->oy = f->cy - synth_rng_range(rng, 10, 50);
		f->stretch = synth_rng_range(rng, 0.88, 1.14);
	} else {
		f->ox = f->cx + hand * synth_rng_range(rng, 60, 200);
		f->oy = f->cy + synth_rng_range(rng, 420, 650);
		f->stretch = 1.0;
		f->tent_x = f->cx + synth_rng_range(rng, -30, 30);
		f->tent_y = f->cy + synth_rng_range(rng, 0, 80);
		f->tent_sx = synth_rng_range(rng, 50, 80);
		f->tent_sy = synth_rng_range(rng, 120, 180);
		/* slope at most 0.22, as the waves: h / (sx sqrt(e)) */
		f->tent_h = synth_rng_range(rng, 0.1, 0.22) * f->tent_sx * sqrt(G_E);
	}
	double tilt = synth_rng_range(rng, 0, G_PI);
	f->cos_t = cos(tilt);
	f->sin_t = sin(tilt);
	for (int i = 0; i < N_WAVES; i++) {
		double wavelength = synth_rng_range(rng, 140, 300);
		double dir = synth_rng_range(rng, 0, 2.0 * G_PI);
		/* amp * 2 pi / wavelength <= 0.07: the period changes by at most ~20 % */
		f->waves[i].amp = synth_rng_range(rng, 0.3, 1.0) * 0.07 * wavelength / (2.0 * G_PI);
		f->waves[i].kx = 2.0 * G_PI / wavelength * cos(dir);
		f->waves[i].ky = 2.0 * G_PI / wavelength * sin(dir);
		f->waves[i].phase = synth_rng_range(rng, 0, 2.0 * G_PI);
	}
}

/* ---- minutiae: spiral phases ---- */

static gboolean
spiral_fits(const Finger *f, const Spiral *sp, int n, double x, double y)
{
	if (outline_rho(f, x, y) > MINUTIA_RHO)
		return FALSE;
	if (f->whorl && hypot(x - f->ox, y - f->oy) < CORE_GAP)
		return FALSE;
	for (int i = 0; i < n; i++)
		if (hypot(x - sp[i].x, y - sp[i].y) < MINUTIA_GAP)
			return FALSE;
	return TRUE;
}

/* Rejection sampling inside the outline; returns how many were placed. */
static int
place_spirals(const Finger *f, SynthRng *rng, Spiral *sp)
{
	int want = MIN_MINUTIAE + (int)(synth_rng_unit(rng) * (MAX_MINUTIAE - MIN_MINUTIAE + 1));
	int n = 0;
	for (int tries = 0; tries < 20000 && n < want; tries++) {
		double x = synth_rng_range(rng, f->cx - f->a, f->cx + f->a);
		double y = synth_rng_range(rng, f->cy - f->b, f->cy + f->b);
		int polarity = synth_rng_unit(rng) < 0.5 ? 1 : -1;
		if (!spiral_fits(f, sp, n, x, y))
			continue;
		sp[n++] = (Spiral){ .x = x, .y = y, .polarity = polarity };
	}
	return n;
}

/* The phase at (X, Y) without spiral SKIP (-1: with all), and its gradient. */
static double
background_phase(const Finger *f, const Spiral *sp, int n, int skip, double x, double y,
		 double *gx, double *gy)
{
	const double h = 0.25;
	double psi = continuous_phase(f, x, y);
	*gx = (continuous_phase(f, x + h, y) - continuous_phase(f, x - h, y)) / (2 * h);
	*gy = (continuous_phase(f, x, y + h) - continuous_phase(f, x, y - h)) / (2 * h);
	for (int j = 0; j < n; j++) {
		if (j == skip)
			continue;
		double dx = x - sp[j].x, dy = y - sp[j].y, r2 = dx * dx + dy * dy;
		psi += sp[j].polarity * atan2(dy, dx);
		*gx += sp[j].polarity * -dy / r2;
		*gy += sp[j].polarity * dx / r2;
	}
	return psi;
}

/* psi0 of the file comment, wrapped to (-pi, pi]; G receives the gradient. */
static double
minutia_phase(const Finger *f, const Spiral *sp, int n, int i, double *gx, double *gy)
{
	double psi = background_phase(f, sp, n, i, sp[i].x, sp[i].y, gx, gy);
	return wrap_angle(psi + sp[i].polarity * atan2(*gy, *gx));
}

/* Moves each minutia across the ridges until psi0 = +-pi/2 (see top). */
static void
snap_spirals(const Finger *f, Spiral *sp, int n)
{
	for (int round = 0; round < SNAP_ROUNDS; round++) {
		for (int i = 0; i < n; i++) {
			double gx, gy;
			double psi0 = minutia_phase(f, sp, n, i, &gx, &gy);
			double target = sin(psi0) >= 0 ? G_PI / 2 : -G_PI / 2;
			double g2 = gx * gx + gy * gy;
			double step = wrap_angle(target - psi0) / g2;
			sp[i].x += step * gx;
			sp[i].y += step * gy;
		}
	}
}

/* OUT is zeroed first so that its padding, too, is the same on every run. */
static void
describe_minutia(const Finger *f, const Spiral *sp, int n, int i, SynthMinutia *out)
{
	double gx, gy;
	double psi0 = minutia_phase(f, sp, n, i, &gx, &gy);
	/* towards the side with the extra ridge, in image coordinates (y down) */
	double dx = sp[i].polarity * gy, dy = sp[i].polarity * -gx;
	double angle = atan2(-dy, dx);
	if (angle < 0)
		angle += 2.0 * G_PI;
	memset(out, 0, sizeof *out);
	out->x = sp[i].x;
	out->y = sp[i].y;
	out->angle = angle;
	out->type = sin(psi0) > 0 ? SYNTH_RIDGE_ENDING : SYNTH_BIFURCATION;
}

/* (1 + cos psi) / 2: 1 on a ridge's centre line, 0 in a valley's.  The spiral
 * terms are multiplied in as complex numbers dx + i p dy, whose argument is
 * p atan2(dy, dx), and the product is normalised once at the end: no atan2
 * per pixel, and 42 factors under 650 px stay far inside a double's range. */
static double
ridge_field(const Finger *f, const Spiral *sp, int n, double x, double y)
{
	double psi_c = continuous_phase(f, x, y);
	double re = cos(psi_c), im = sin(psi_c);
	for (int j = 0; j < n; j++) {
		double dx = x - sp[j].x, dy = (y - sp[j].y) * sp[j].polarity;
		double t = re * dx - im * dy;
		im = re * dy + im * dx;
		re = t;
	}
	double mod = hypot(re, im);
	return mod > 0 ? 0.5 + 0.5 * re / mod : 0.5;
}

/* ---- damage ---- */

static void
damage_init(Damage *d, SynthRng *rng, const Finger *f, guint32 seed, int position, double quality)
{
	double s = 1.0 - quality;
	d->severity = s;
	d->depth = 1.0 - 0.8 * s;
	d->blur_sigma = 1.6 * s;
	d->noise_sd = 12.0 * s;
	d->lift = 25.0 * s;
	d->n_patches = (int)lround(MAX_PATCHES * s);
	for (int i = 0; i < d->n_patches; i++) {
		double t = synth_rng_range(rng, 0, 2.0 * G_PI), r = sqrt(synth_rng_unit(rng)) * 0.9;
		d->patches[i] = (Patch){
			.x = f->cx + r * f->a * cos(t),
			.y = f->cy + r * f->b * sin(t),
			.r = synth_rng_range(rng, 12, 36) * (0.5 + s),
		};
	}
	d->breaks_key = stream_seed(seed, position, STREAM_BREAKS);
}

/* Value noise in [0, 1) on a lattice of CELL px, smoothly interpolated. */
static double
lattice_noise(uint64_t key, double x, double y, double cell)
{
	double gx = x / cell, gy = y / cell;
	int64_t ix = (int64_t)floor(gx), iy = (int64_t)floor(gy);
	double tx = smoothstep(0, 1, gx - ix), ty = smoothstep(0, 1, gy - iy);
	double c[2][2];
	for (int j = 0; j < 2; j++)
		for (int i = 0; i < 2; i++) {
			uint64_t h = synth_mix64(key ^ synth_mix64((uint64_t)(ix + i) * 73856093u ^
								   (uint64_t)(iy + j) * 19349663u));
			c[j][i] = (double)(h >> 11) * 0x1.0p-53;
		}
	double top = c[0][0] + (c[0][1] - c[0][0]) * tx;
	double bottom = c[1][0] + (c[1][1] - c[1][0]) * tx;
	return top + (bottom - top) * ty;
}

/* How much of the ridge depth survives at (X, Y): 1 when undamaged. */
static double
damage_factor(const Damage *d, double x, double y)
{
	double keep = d->depth;
	for (int i = 0; i < d->n_patches; i++) {
		const Patch *p = &d->patches[i];
		keep *= smoothstep(p->r - 8.0, p->r + 8.0, hypot(x - p->x, y - p->y));
	}
	if (d->severity > 0) {
		double dry = smoothstep(0.45, 0.75, lattice_noise(d->breaks_key, x, y, 5.0));
		keep *= 1.0 - 0.9 * d->severity * dry;
	}
	return keep;
}

/* Separable Gaussian blur of a W x H float buffer, edges clamped. */
static void
gaussian_blur(float *buf, int w, int h, double sigma)
{
	int radius = (int)ceil(3.0 * sigma);
	double *kernel = g_new(double, 2 * radius + 1);
	double sum = 0;
	for (int i = -radius; i <= radius; i++)
		sum += kernel[i + radius] = exp(-0.5 * i * i / (sigma * sigma));
	for (int i = 0; i <= 2 * radius; i++)
		kernel[i] /= sum;

	float *tmp = g_new(float, (gsize)w * h);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			double acc = 0;
			for (int i = -radius; i <= radius; i++)
				acc += kernel[i + radius] * buf[y * w + CLAMP(x + i, 0, w - 1)];
			tmp[y * w + x] = (float)acc;
		}
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			double acc = 0;
			for (int i = -radius; i <= radius; i++)
				acc += kernel[i + radius] * tmp[CLAMP(y + i, 0, h - 1) * w + x];
			buf[y * w + x] = (float)acc;
		}
	g_free(tmp);
	g_free(kernel);
}

/* ---- drawing ---- */

/* Darkness 0 (platen) to ~0.92 (ridge centre) of every pixel. */
static void
draw_darkness(const Finger *f, const Spiral *sp, int n, const Damage *d, float *dark)
{
	for (int y = 0; y < FP_HEIGHT; y++)
		for (int x = 0; x < FP_WIDTH; x++) {
			double m = outline_mask(f, x, y), v = 0;
			if (m > 0) {
				double ridge = ridge_field(f, sp, n, x, y);
				v = m * (VALLEY_DARK + RIDGE_DARK * ridge * damage_factor(d, x, y));
			}
			dark[y * FP_WIDTH + x] = (float)v;
		}
}

static void
darkness_to_grey(const float *dark, const Damage *d, SynthRng *rng, uint8_t *pixels)
{
	for (int i = 0; i < FP_WIDTH * FP_HEIGHT; i++) {
		double v = PAPER + d->lift - INK_SPAN * dark[i];
		if (d->noise_sd > 0)
			v += d->noise_sd * synth_rng_noise(rng);
		pixels[i] = (uint8_t)lround(CLAMP(v, 0.0, 255.0));
	}
}

int
synth_fingerprint(guint32 seed, int position, double quality, HalImage *out, GArray *minutiae)
{
	if (!out || position < 1 || position > 10 || !(quality >= 0.0 && quality <= 1.0))
		return -1;
	if (minutiae && g_array_get_element_size(minutiae) != sizeof(SynthMinutia))
		return -1;

	SynthRng shape_rng = { stream_seed(seed, position, STREAM_SHAPE) };
	SynthRng damage_rng = { stream_seed(seed, position, STREAM_DAMAGE) };
	Finger f;
	Spiral sp[MAX_MINUTIAE];
	Damage d;

	finger_init(&f, &shape_rng, position);
	int n = place_spirals(&f, &shape_rng, sp);
	snap_spirals(&f, sp, n);
	damage_init(&d, &damage_rng, &f, seed, position, quality);

	float *dark = g_new(float, FP_WIDTH * FP_HEIGHT);
	draw_darkness(&f, sp, n, &d, dark);
	if (d.blur_sigma >= 0.3)
		gaussian_blur(dark, FP_WIDTH, FP_HEIGHT, d.blur_sigma);
	out->pixels = g_malloc((gsize)FP_WIDTH * FP_HEIGHT);
	darkness_to_grey(dark, &d, &damage_rng, out->pixels);
	g_free(dark);

	out->width = FP_WIDTH;
	out->height = FP_HEIGHT;
	out->channels = 1;
	out->ppi = FP_PPI;
	out->position = position;
	if (minutiae) {
		g_array_set_size(minutiae, n);
		for (int i = 0; i < n; i++)
			describe_minutia(&f, sp, n, i, &g_array_index(minutiae, SynthMinutia, i));
	}
	return 0;
}
