/* SPDX-License-Identifier: MIT */
/*
 * Synthetic portraits and signatures for the camera and signature-pad
 * simulators, deterministic from a seed.
 *
 * synth_face draws a 480x640 (3:4) RGB head-and-shoulders portrait on a plain
 * background of the requested colour (the e-KTP's red or blue, say), laid out
 * to the ICAO 9303 / ISO/IEC 19794-5 full-frontal proportions: the head
 * (crown to chin) takes 70-76 % of the image height, its width about 65 % of
 * the image width, centred within a few pixels; the eye line lies 53-58 %
 * of the height up from the bottom and the eye centres ~0.3 head widths
 * (~95 px) apart.  Back to front: background; shoulders (a wide ellipse rising
 * from below the frame, in a clothing colour, with a V neckline) kept off the
 * left and right borders; neck; hair (an ellipse whose top is the crown);
 * ears; the face (an egg-shaped ellipse, narrower at the chin, shaded darker
 * toward its rim, showing below a curved hairline); eyebrows, eyes (sclera,
 * iris, pupil, catch-light), nostrils and closed lips.  Shapes are
 * anti-aliased from a first-order signed distance to their ellipse,
 * d = (k - 1) / |grad k| with k = |((x - cx) / a, (y - cy) / b)|.
 * QUALITY (0..1) then multiplies the whole frame by an exposure error (gain
 * 1 +- 0.6 (1 - q), over or under by seed) and an uneven-lighting ramp
 * (+-35 % (1 - q) across the frame in a seeded direction), and adds
 * per-channel noise of sigma 0.8 + 14 (1 - q).  At quality 1 the background
 * is the requested colour to within the 0.8-level noise.
 *
 * synth_signature draws a 400x150 grey dark pen signature on pure white: one
 * connected stroke made of a lead-in, 3-6 loops of a prolate trochoid
 * (x = s t - A sin t, y = -B(t) cos t: loops form when A > s) with a slowly
 * varying height, baseline drift and wobble from seeded low-frequency sines,
 * and a closing flourish that swings back under the loops.  The path is
 * scaled into the box leaving at least 20 px of white margin, sampled every
 * ~0.25 px and inked with a round pen 2-3 px wide, pressure varying along
 * the stroke, whose coverage at each pixel is the share of a 1 px ramp at
 * its rim (anti-aliased), max-combined along the stroke.
 *
 * Random numbers come from a per-call splitmix64 stream: no global state.
 */
#include "synth.h"
#include "synth_rng.h"

#include <math.h>
#include <string.h>

#define FACE_W 480
#define FACE_H 640
#define SIG_W 400
#define SIG_H 150

/* Coverage of the ellipse (CX, CY, A, B) at (X, Y), edge ramp W px;
 * K (may be NULL) receives the normalised radius. */
static double
ellipse(double x, double y, double cx, double cy, double a, double b, double w, double *k_out)
{
	if (!k_out && (fabs(x - cx) > a + w || fabs(y - cy) > b + w))
		return 0.0; /* well outside: skip the square roots */
	double u = (x - cx) / a, v = (y - cy) / b;
	double k = sqrt(u * u + v * v);
	if (k_out)
		*k_out = k;
	if (k < 1e-9)
		return 1.0;
	double g = sqrt(u * u / (a * a) + v * v / (b * b)) / k;
	return synth_cover((k - 1.0) / g, w);
}

typedef struct {
	double r, g, b;
} Rgb;

static Rgb
rgb(double r, double g, double b)
{
	Rgb c = { r, g, b };
	return c;
}

static Rgb
over(Rgb under, Rgb top, double alpha)
{
	return rgb(under.r + (top.r - under.r) * alpha, under.g + (top.g - under.g) * alpha,
		   under.b + (top.b - under.b) * alpha);
}

static Rgb
scale(Rgb c, double k)
{
	return rgb(c.r * k, c.g * k, c.b * k);
}

/* Everything random about one portrait. */
typedef struct {
	Rgb bg, skin, hair, cloth, iris, lips;
	double hx;            /* head centre x */
	double crown, chin;   /* y */
	double head_w;        /* head width (hair included) */
	double face_cy, face_a, face_b;
	double hairline;      /* y of the hairline at the centre */
	double eye_y, eye_dx; /* eye line, half the distance between eye centres */
	double eye_a, eye_b;
	double gaze;          /* iris offset, px */
	double shoulder_y, shoulder_w;
	double neck_w;
} Face;

static const Rgb skin_tones[] = {
	{ 214, 168, 136 }, { 200, 151, 117 }, { 184, 133, 99 }, { 160, 113, 82 }, { 132, 90, 64 },
};
static const Rgb hair_tones[] = { { 22, 18, 16 }, { 35, 27, 22 }, { 52, 38, 28 } };
static const Rgb cloth_tones[] = {
	{ 236, 236, 232 }, { 32, 34, 40 }, { 40, 52, 92 }, { 110, 70, 40 }, { 120, 126, 132 },
};

static Rgb
jitter(SynthRng *r, Rgb c, double amount)
{
	return rgb(c.r + synth_rng_range(r, -amount, amount),
		   c.g + synth_rng_range(r, -amount, amount),
		   c.b + synth_rng_range(r, -amount, amount));
}

static void
face_params(Face *f, SynthRng *r, guint32 background)
{
	f->bg = rgb((background >> 16) & 0xFF, (background >> 8) & 0xFF, background & 0xFF);
	f->skin = jitter(r, skin_tones[synth_rng_next(r) % G_N_ELEMENTS(skin_tones)], 6.0);
	f->hair = jitter(r, hair_tones[synth_rng_next(r) % G_N_ELEMENTS(hair_tones)], 4.0);
	f->cloth = jitter(r, cloth_tones[synth_rng_next(r) % G_N_ELEMENTS(cloth_tones)], 8.0);
	f->iris = jitter(r, rgb(70, 45, 30), 10.0);
	f->lips = rgb(f->skin.r * 0.82 + 20, f->skin.g * 0.62, f->skin.b * 0.62);

	double hh = FACE_H * synth_rng_range(r, 0.68, 0.72); /* crown to chin */
	f->hx = FACE_W / 2.0 + synth_rng_range(r, -8.0, 8.0);
	f->crown = FACE_H * synth_rng_range(r, 0.06, 0.08);
	f->chin = f->crown + hh;
	f->head_w = hh * synth_rng_range(r, 0.66, 0.72);
	f->face_a = f->head_w * 0.45;
	f->face_b = hh * 0.47;
	f->face_cy = f->chin - f->face_b;
	f->hairline = f->crown + hh * synth_rng_range(r, 0.15, 0.2);
	f->eye_y = f->crown + hh * synth_rng_range(r, 0.46, 0.5);
	f->eye_dx = f->head_w * synth_rng_range(r, 0.145, 0.16);
	f->eye_a = f->eye_dx * 0.42;
	f->eye_b = f->eye_a * 0.42;
	f->gaze = synth_rng_range(r, -1.5, 1.5);
	f->shoulder_y = f->chin + hh * synth_rng_range(r, 0.04, 0.08);
	f->shoulder_w = FACE_W * synth_rng_range(r, 0.42, 0.46);
	f->neck_w = f->head_w * synth_rng_range(r, 0.2, 0.24);
}

/* The noise-free portrait at (X, Y). */
static Rgb
face_pixel(const Face *f, double x, double y)
{
	Rgb c = f->bg;
	double dx = x - f->hx;

	/* Shoulders: an ellipse rising from below the frame, with a V neckline. */
	double sh_b = 0.4 * FACE_H;
	double a_sh = ellipse(x, y, f->hx, f->shoulder_y + sh_b, f->shoulder_w, sh_b, 1.5, NULL);
	if (a_sh > 0.0) {
		double fold = 1.0 - 0.12 * fabs(dx) / f->shoulder_w;
		c = over(c, scale(f->cloth, fold), a_sh);
	}

	/* Neck, darker under the chin. */
	double neck_top = f->chin - 0.1 * f->face_b;
	if (y > neck_top) {
		double v_depth = 0.18 * (FACE_H - f->shoulder_y) + 40.0;
		double v_half = f->neck_w * (1.0 - (y - f->shoulder_y) / v_depth);
		double half = y < f->shoulder_y ? f->neck_w : MAX(0.0, v_half);
		double a_neck = synth_cover(fabs(dx) - half, 1.5);
		if (a_neck > 0.0) {
			double shade = 0.78 + 0.12 * synth_clamp01((y - f->chin) / 60.0);
			c = over(c, scale(f->skin, shade), a_neck);
		}
	}

	/* Hair: the crown is its top. */
	double hair_b = (f->chin - f->crown) * 0.42;
	double hair_a = f->head_w * 0.5;
	double a_hair = ellipse(x, y, f->hx, f->crown + hair_b, hair_a, hair_b, 1.5, NULL);
	if (a_hair > 0.0)
		c = over(c, f->hair, a_hair);

	/* Ears. */
	for (int side = -1; side <= 1; side += 2) {
		double ex = f->hx + side * f->face_a * 0.98;
		double a_ear = ellipse(x, y, ex, f->eye_y + 0.3 * f->eye_dx, f->face_a * 0.13,
				       f->face_b * 0.16, 1.5, NULL);
		if (a_ear > 0.0)
			c = over(c, scale(f->skin, 0.88), a_ear);
	}

	/* Face: an egg, narrower toward the chin, below the hairline. */
	double t = (y - f->face_cy) / f->face_b;
	double a = f->face_a * (1.0 - 0.22 * (t > 0 ? t * t : 0.0));
	double k;
	double a_face = ellipse(x, y, f->hx, f->face_cy, a, f->face_b, 1.5, &k);
	double u = dx / f->face_a;
	double hairline = f->hairline + 0.12 * f->face_b * u * u;
	a_face *= synth_cover(hairline - y, 3.0);
	if (a_face <= 0.0)
		return c;
	Rgb s = scale(f->skin, 1.0 - 0.14 * k * k);

	/* Eyebrows, eyes. */
	for (int side = -1; side <= 1; side += 2) {
		double ex = f->hx + side * f->eye_dx;
		double bx = (x - ex) / (f->eye_a * 1.3);
		if (fabs(bx) < 1.0) {
			double by = f->eye_y - 2.6 * f->eye_b - 0.5 * f->eye_b * (1.0 - bx * bx);
			double d = fabs(y - by) - 0.35 * f->eye_b;
			s = over(s, f->hair, 0.85 * synth_cover(d, 1.5));
		}
		double a_eye = ellipse(x, y, ex, f->eye_y, f->eye_a, f->eye_b, 1.2, NULL);
		if (a_eye > 0.0) {
			Rgb e = rgb(232, 228, 222);
			double ir = f->eye_b * 0.95;
			double ix = ex + f->gaze;
			e = over(e, f->iris, ellipse(x, y, ix, f->eye_y, ir, ir, 1.0, NULL));
			e = over(e, rgb(12, 10, 10),
				 ellipse(x, y, ix, f->eye_y, ir * 0.45, ir * 0.45, 1.0, NULL));
			e = over(e, rgb(250, 250, 250),
				 ellipse(x, y, ix - 0.3 * ir, f->eye_y - 0.3 * ir, 1.6, 1.6, 1.0,
					 NULL));
			s = over(s, e, a_eye);
		}
		/* The upper lid's line. */
		double lx = (x - ex) / f->eye_a;
		if (fabs(lx) < 1.05) {
			double ly = f->eye_y - f->eye_b * sqrt(MAX(0.0, 1.0 - lx * lx));
			s = over(s, rgb(40, 28, 24), 0.8 * synth_cover(fabs(y - ly) - 0.8, 1.2));
		}
	}

	/* Nose: a soft shadow on one side and two nostrils. */
	double nose_y = f->eye_y + 0.36 * f->face_b;
	double ns = (x - (f->hx + 0.35 * f->eye_a)) / 3.0;
	if (y > f->eye_y + f->eye_b && y < nose_y)
		s = scale(s, 1.0 - 0.08 * exp(-ns * ns));
	for (int side = -1; side <= 1; side += 2)
		s = over(s, scale(f->skin, 0.45),
			 0.8 * ellipse(x, y, f->hx + side * 0.33 * f->eye_a, nose_y,
				       0.22 * f->eye_a, 0.13 * f->eye_a, 1.2, NULL));

	/* Lips, closed. */
	double mouth_y = f->eye_y + 0.62 * f->face_b;
	double ma = 0.85 * f->eye_dx, mb = 0.16 * f->eye_dx;
	s = over(s, f->lips, ellipse(x, y, f->hx, mouth_y, ma, mb, 1.5, NULL));
	double mx = dx / ma;
	if (fabs(mx) < 1.0)
		s = over(s, scale(f->lips, 0.5),
			 synth_cover(fabs(y - mouth_y - 0.1 * mb * mx * mx) - 0.8, 1.2) *
				 (1.0 - mx * mx));

	return over(c, s, a_face);
}

int
synth_face(guint32 seed, guint32 background, double quality, HalImage *out)
{
	if (!out || !(quality >= 0.0 && quality <= 1.0))
		return -1;
	SynthRng r = { (guint64)seed * 0xA0761D6478BD642Full + 0x3C6EF372FE94F82Aull };
	SynthRng grain = { r.s ^ 0xE7037ED1A0B428DBull };
	Face f;
	memset(&f, 0, sizeof f);
	face_params(&f, &r, background);
	double exposure =
		1.0 + (synth_rng_unit(&r) < 0.5 ? -0.6 : 0.6) * (1.0 - quality) * (1.0 - quality);
	double light_dir = synth_rng_range(&r, 0.0, 2.0 * G_PI);
	double light = 0.35 * (1.0 - quality);
	double noise = 0.8 + 14.0 * (1.0 - quality);

	out->width = FACE_W;
	out->height = FACE_H;
	out->channels = 3;
	out->ppi = 0;
	out->position = 0;
	out->pixels = g_malloc((gsize)FACE_W * FACE_H * 3);
	for (int y = 0; y < FACE_H; y++)
		for (int x = 0; x < FACE_W; x++) {
			Rgb c = face_pixel(&f, x, y);
			double ramp = 2.0 * (cos(light_dir) * ((double)x / FACE_W - 0.5) +
					     sin(light_dir) * ((double)y / FACE_H - 0.5));
			double gain = exposure * (1.0 + light * ramp);
			double ch[3] = { c.r, c.g, c.b };
			uint8_t *p = out->pixels + ((gsize)y * FACE_W + x) * 3;
			for (int i = 0; i < 3; i++) {
				double v = ch[i] * gain + noise * synth_rng_noise(&grain);
				p[i] = (uint8_t)(CLAMP(v, 0.0, 255.0) + 0.5);
			}
		}
	return 0;
}


#define SIG_MARGIN 20.0
#define SIG_PEN 25.0 /* ink grey level */

int
synth_signature(guint32 seed, HalImage *out)
{
	if (!out)
		return -1;
	SynthRng r = { (guint64)seed * 0xD6E8FEB86659FD93ull + 0x5851F42D4C957F2Dull };
	int loops = 3 + (int)(synth_rng_unit(&r) * 4);
	double step = 1.0;                            /* advance per turn */
	double amp = synth_rng_range(&r, 0.24, 0.36); /* A: loops since A > step / 2 pi */
	double hgt = synth_rng_range(&r, 0.35, 0.6);  /* B */
	double slant = synth_rng_range(&r, -0.12, 0.05);
	double f1 = synth_rng_range(&r, 0.3, 0.7), p1 = synth_rng_range(&r, 0.0, 2.0 * G_PI);
	double f2 = synth_rng_range(&r, 0.9, 1.6), p2 = synth_rng_range(&r, 0.0, 2.0 * G_PI);
	double drift = synth_rng_range(&r, -0.04, 0.04);
	double w0 = synth_rng_range(&r, 2.2, 2.8), wp = synth_rng_range(&r, 0.0, 2.0 * G_PI);
	double tail = synth_rng_range(&r, 0.5, 0.9);

	/* The path in loop units: lead-in, loops, flourish. */
	double t_end = 2.0 * G_PI * (loops + 0.5);
	int n_main = 600 * (loops + 1), n_lead = 120, n_tail = 400;
	int n = n_lead + n_main + n_tail;
	double *px = g_new(double, n), *py = g_new(double, n);
	int k = 0;
	double x0 = -amp * sin(0.0), y0 = -hgt;
	for (int i = 0; i < n_lead; i++, k++) {
		double s = (double)i / n_lead;
		px[k] = x0 - 0.5 * (1 - s);
		py[k] = y0 + 0.5 * (1 - s) * (1 - s);
	}
	for (int i = 0; i < n_main; i++, k++) {
		double t = t_end * i / (n_main - 1);
		double b = hgt * (1.0 + 0.35 * sin(f1 * t + p1));
		double y = -b * cos(t) + drift * t + 0.04 * sin(f2 * t + p2);
		px[k] = step * t / (2.0 * G_PI) - amp * sin(t) - slant * y;
		py[k] = y;
	}
	/* The flourish: from the last point down and back under the loops. */
	double ex = px[k - 1], ey = py[k - 1];
	double cx = ex + 0.6, cy = ey + 1.2 * tail + 0.6;
	double fx = ex - (loops + 0.5) * step * tail, fy = ey + 0.9;
	for (int i = 0; i < n_tail; i++, k++) {
		double s = (double)(i + 1) / n_tail;
		px[k] = (1 - s) * (1 - s) * ex + 2 * (1 - s) * s * cx + s * s * fx;
		py[k] = (1 - s) * (1 - s) * ey + 2 * (1 - s) * s * cy + s * s * fy;
	}

	/* Fit into the box inside the margins. */
	double xmin = px[0], xmax = px[0], ymin = py[0], ymax = py[0];
	for (int i = 1; i < n; i++) {
		xmin = MIN(xmin, px[i]);
		xmax = MAX(xmax, px[i]);
		ymin = MIN(ymin, py[i]);
		ymax = MAX(ymax, py[i]);
	}
	double pad = SIG_MARGIN + 2.0; /* the pen's radius and its ramp */
	double sx = (SIG_W - 2 * pad) / (xmax - xmin), sy = (SIG_H - 2 * pad) / (ymax - ymin);

	float *cov = g_new0(float, SIG_W * SIG_H);
	double lx = 0, ly = 0, travelled = 0;
	for (int i = 0; i < n; i++) {
		double x = pad + (px[i] - xmin) * sx, y = pad + (py[i] - ymin) * sy;
		if (i > 0) {
			/* Fill so that stamps are at most 0.25 px apart. */
			double d = hypot(x - lx, y - ly);
			int sub = (int)ceil(d / 0.25);
			for (int j = 1; j <= sub; j++) {
				double s = (double)j / sub;
				travelled += d / sub;
				double width =
					CLAMP(w0 + 0.4 * sin(travelled / 37.0 + wp), 2.0, 3.0);
				synth_stamp(cov, SIG_W, SIG_H, lx + (x - lx) * s, ly + (y - ly) * s,
				      width);
			}
		}
		lx = x;
		ly = y;
	}
	g_free(px);
	g_free(py);

	out->width = SIG_W;
	out->height = SIG_H;
	out->channels = 1;
	out->ppi = 0;
	out->position = 0;
	out->pixels = g_malloc(SIG_W * SIG_H);
	for (int i = 0; i < SIG_W * SIG_H; i++)
		out->pixels[i] = (uint8_t)lround(255.0 - cov[i] * (255.0 - SIG_PEN));
	g_free(cov);
	return 0;
}
