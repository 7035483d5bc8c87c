/* SPDX-License-Identifier: MIT */
/*
 * Iris image quality, "ektp-iris-29794-6-subset" version 1: the ISO/IEC
 * 29794-6 measures that a single near-infrared eye image allows, from our own
 * segmentation, combined into a 0-100 score.  No code from any other iris
 * package is used; the methods are the published ones named below.
 *
 * Images must be 8-bit grey and at least 128x128 (-1 otherwise); VGA
 * (640x480) is what the search ranges are sized for, through the short side.
 *
 * Segmentation (S = the image smoothed with a Gaussian of sigma 1.5 px):
 *  1. Pupil seed: the darkest square of side ~1/24 of the image's short side
 *     (integral image, stride 2); its mean is L_dark.  L_med is the median of
 *     the raw pixels within ~1/5 of the short side around it.
 *  2. Rough pupil: 32 rays from the seed stop where S exceeds
 *     T = (L_dark + L_med) / 2.  For each of the 16 opposite pairs the chord's
 *     midpoint lies at ox*cos(a) + oy*sin(a) from the start (ox, oy the centre
 *     offset); every two such equations are solved and the component-wise
 *     median taken, so a ray stopped early by the specular reflection does
 *     not pull the estimate.  Three rounds; the rough radius is the median ray.
 *  3. Pupil circle: Daugman's integro-differential operator, the maximum over
 *     centre (x, y) and radius r of the radial derivative of the mean of S on
 *     the circle, d/dr mean(S) ~ sum_j w_j (M(r + j) - M(r - j)), with S
 *     capped at L_med so that the reflection cannot make an edge.  The upper
 *     quarter of the circle is left out (eyelid, lashes).  Coarse grid:
 *     centres every 2 px within max(6, 0.35 r0) of the rough centre, radii
 *     0.6 r0 to 1.5 r0 + 3 every 1 px, 64 samples; then a fine one (0.25 px
 *     steps within 1.5 px of centre and 2 px of radius, 128 samples).
 *  4. Iris circle (limbus): the same operator with a wider derivative
 *     (j = 1..4) over radii from 1.25 pupil radii to pupil/0.15, centres
 *     within +-10 px (x) and +-6 px (y) of the pupil's, sampled only on the
 *     two side arcs from 30 degrees above to 45 degrees below the horizontal,
 *     where eyelids rarely reach.  Coarse 2 px / 1 px, then fine 0.5 px.
 *
 * Measures (each 0 to 1 except the ratio):
 *  - Grey levels, as medians of the raw image: L_p inside 0.8 of the pupil,
 *    L_i in the iris ring's side sectors (rho 0.25 to 0.85), L_s in the
 *    sclera bands just outside the limbus on both sides.
 *  - iris_pupil_contrast = (L_i - L_p) / (L_i + L_p), a Michelson contrast
 *    (falls with both a flat exposure and a washed-out pupil).
 *  - iris_sclera_contrast = (L_s - L_i) / (L_s + L_i - 2 L_p): the limbus
 *    step over the scene's range with the pupil as the black level, the
 *    pupil-referenced form 29794-6 describes (verify against the text), so
 *    it does not fall when only the gain changes.
 *  - usable_iris_area: of the ring between the circles (1.5 px in from each),
 *    the share of pixels inside the image whose smoothed value lies in
 *    [L_p + 0.35 (L_i - L_p), L_i + 0.45 (L_s - L_i)]: brighter is eyelid
 *    skin, sclera or reflection, darker is lashes or lid margin.  Pixels of
 *    the ring outside the image count as occluded.
 *  - pupil_iris_ratio = pupil radius / iris radius (29794-6 "dilation").
 *  - sharpness: the pupil edge's steepest slope relative to its height, from
 *    the median radial profile (median over 180 angles at each radius,
 *    0.5 px apart, within min(8, 0.6 r) px of the edge) of the raw image;
 *    the slope is taken over 1 px.  A step anti-aliased over 1 px measures
 *    ~0.6, a Gaussian defocus of sigma s px ~0.4/s.  An edge profile over a
 *    whole boundary is used rather than the Laplacian's energy because
 *    sensor noise raises the latter as much as focus does, and medians
 *    make it indifferent to the reflection and to lashes.
 *
 * Score = 100 * F_ratio * F_size * F_area^0.30 * F_ipc^0.20 * F_isc^0.15 *
 * F_sharp^0.35, rounded, where (clamp to 0..1 throughout)
 *  - F_ratio = 1 for a ratio in 0.2-0.7 (29794-6's acceptable dilation),
 *    falling linearly to 0 at 0.1 and at 0.8;
 *  - F_size = (iris radius - 50) / 30: full at 80 px, the minimum radius
 *    commonly cited from 29794-6 (verify);
 *  - F_area = (usable - 0.3) / 0.4: full at 70 % usable, the recommended
 *    minimum (verify), nothing at 30 %;
 *  - F_ipc = (contrast - 0.05) / 0.35: full from 0.4;
 *  - F_isc = (contrast - 0.05) / 0.15 (the recommendation is more than 5 %);
 *  - F_sharp = (sharpness - 0.1) / 0.4: full from 0.5 (defocus sigma under
 *    ~0.8 px), nothing at 0.1 (sigma ~4 px).
 * The weighted geometric mean lets any failed measure pull the score down
 * hard, and the two geometric gates (ratio, size) act as vetoes.
 */
#include "quality/quality.h"
#include "quality/qutil.h"

#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define IRIS_MIN_SIDE 128

typedef struct {
	int w, h;
	float *v;
} Plane;

/* Bilinear sample at (X, Y); NAN outside the image. */
static double
sample(const Plane *p, double x, double y)
{
	if (!(x >= 0.0 && y >= 0.0 && x <= p->w - 1 && y <= p->h - 1))
		return NAN;
	int x0 = (int)x, y0 = (int)y;
	int x1 = MIN(x0 + 1, p->w - 1), y1 = MIN(y0 + 1, p->h - 1);
	double fx = x - x0, fy = y - y0;
	const float *r0 = p->v + (gsize)y0 * p->w, *r1 = p->v + (gsize)y1 * p->w;
	double a = r0[x0] + (r0[x1] - r0[x0]) * fx;
	double b = r1[x0] + (r1[x1] - r1[x0]) * fx;
	return a + (b - a) * fy;
}

/* DST receives SRC blurred with a Gaussian of SIGMA, edges replicated; its
 * pixels are newly allocated (caller frees DST->v). */
static void
gauss_blur(const Plane *src, Plane *dst, double sigma)
{
	int w = src->w, h = src->h, rad = (int)ceil(3.0 * sigma);
	double *k = g_new(double, 2 * rad + 1), sum = 0.0;
	for (int i = -rad; i <= rad; i++)
		sum += k[i + rad] = exp(-(double)(i * i) / (2.0 * sigma * sigma));
	for (int i = 0; i <= 2 * rad; i++)
		k[i] /= sum;
	float *tmp = g_new(float, (gsize)w * h);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			double acc = 0.0;
			for (int i = -rad; i <= rad; i++)
				acc += k[i + rad] * src->v[(gsize)y * w + CLAMP(x + i, 0, w - 1)];
			tmp[(gsize)y * w + x] = (float)acc;
		}
	dst->w = w;
	dst->h = h;
	dst->v = g_new(float, (gsize)w * h);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			double acc = 0.0;
			for (int i = -rad; i <= rad; i++)
				acc += k[i + rad] * tmp[(gsize)CLAMP(y + i, 0, h - 1) * w + x];
			dst->v[(gsize)y * w + x] = (float)acc;
		}
	g_free(tmp);
	g_free(k);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median of the N values in V (reordered); NAN when N is 0. */
static double
median(double *v, gsize n)
{
	if (n == 0)
		return NAN;
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Angles to sample a circle at: N evenly over each [A0, A1] span (degrees).
 * arcs_init allocates, arcs_clear frees. */
typedef struct {
	int n;
	double *c, *s;
} Arcs;

static void
arcs_init(Arcs *a, const double (*spans)[2], int nspans, int per_span)
{
	a->n = nspans * per_span;
	a->c = g_new(double, a->n);
	a->s = g_new(double, a->n);
	for (int k = 0; k < nspans; k++)
		for (int i = 0; i < per_span; i++) {
			double t = spans[k][0] + (spans[k][1] - spans[k][0]) * (i + 0.5) / per_span;
			a->c[k * per_span + i] = cos(t * G_PI / 180.0);
			a->s[k * per_span + i] = sin(t * G_PI / 180.0);
		}
}

static void
arcs_clear(Arcs *a)
{
	g_free(a->c);
	g_free(a->s);
}

/* Mean of P (capped at CAP) on the circle; NAN when under half of it is inside. */
static double
circle_mean(const Plane *p, const Arcs *a, double cx, double cy, double r, double cap)
{
	double sum = 0.0;
	int n = 0;
	for (int i = 0; i < a->n; i++) {
		double v = sample(p, cx + r * a->c[i], cy + r * a->s[i]);
		if (isnan(v))
			continue;
		sum += MIN(v, cap);
		n++;
	}
	return 2 * n >= a->n ? sum / n : NAN;
}

/* One integro-differential search over a grid of centres and radii. */
typedef struct {
	double x0, y0, dx, dy, cstep; /* centres x0 +- dx, y0 +- dy, every cstep */
	double r_lo, r_hi, r_step;
	const Arcs *arcs;
	double cap;
	const double *w; /* derivative weights for offsets of 1..nw px */
	int nw;
	/* results */
	double x, y, r, best;
} Search;

static void
circle_search(const Plane *p, Search *s)
{
	int nr = (int)floor((s->r_hi - s->r_lo) / s->r_step + 1e-9) + 1;
	int per_px = MAX(1, (int)lround(1.0 / s->r_step));
	int pad = s->nw * per_px;
	double *m = g_new(double, nr + 2 * pad);
	s->best = -INFINITY;
	s->x = s->x0;
	s->y = s->y0;
	s->r = s->r_lo;
	for (double cy = s->y0 - s->dy; cy <= s->y0 + s->dy + 1e-9; cy += s->cstep)
		for (double cx = s->x0 - s->dx; cx <= s->x0 + s->dx + 1e-9; cx += s->cstep) {
			for (int k = 0; k < nr + 2 * pad; k++) {
				double r = s->r_lo + (k - pad) * s->r_step;
				m[k] = r > 0.5 ? circle_mean(p, s->arcs, cx, cy, r, s->cap) : NAN;
			}
			for (int k = 0; k < nr; k++) {
				double d = 0.0;
				for (int j = 1; j <= s->nw; j++)
					d += s->w[j - 1] *
					     (m[pad + k + j * per_px] - m[pad + k - j * per_px]);
				if (!isnan(d) && d > s->best) {
					s->best = d;
					s->x = cx;
					s->y = cy;
					s->r = s->r_lo + k * s->r_step;
				}
			}
		}
	g_free(m);
}

/* Distance from (X, Y) along (C, S) to the first sample of P above THR. */
static double
ray_length(const Plane *p, double x, double y, double c, double s, double thr, double rmax)
{
	for (double d = 1.0; d <= rmax; d += 1.0) {
		double v = sample(p, x + d * c, y + d * s);
		if (isnan(v) || v > thr)
			return d - 0.5;
	}
	return rmax;
}

#define N_RAYS 32

/* Step 2 of the header: a rough pupil centre and radius from rays. */
static void
rough_pupil(const Plane *s, double *cx, double *cy, double *r, double thr, double rmax)
{
	double len[N_RAYS], ox[N_RAYS * N_RAYS / 2], oy[N_RAYS * N_RAYS / 2];
	const int half = N_RAYS / 2;
	for (int round = 0; round < 3; round++) {
		for (int k = 0; k < N_RAYS; k++) {
			double a = 2.0 * G_PI * k / N_RAYS;
			len[k] = ray_length(s, *cx, *cy, cos(a), sin(a), thr, rmax);
		}
		gsize n = 0;
		for (int i = 0; i < half; i++)
			for (int j = i + 1; j < half; j++) {
				double ai = G_PI * i / half, aj = G_PI * j / half;
				double det = cos(ai) * sin(aj) - sin(ai) * cos(aj);
				if (fabs(det) < 0.3)
					continue;
				double mi = 0.5 * (len[i] - len[i + half]);
				double mj = 0.5 * (len[j] - len[j + half]);
				ox[n] = (mi * sin(aj) - mj * sin(ai)) / det;
				oy[n] = (cos(ai) * mj - cos(aj) * mi) / det;
				n++;
			}
		*cx += median(ox, n);
		*cy += median(oy, n);
		*cx = CLAMP(*cx, 0.0, s->w - 1.0);
		*cy = CLAMP(*cy, 0.0, s->h - 1.0);
	}
	for (int k = 0; k < N_RAYS; k++) {
		double a = 2.0 * G_PI * k / N_RAYS;
		len[k] = ray_length(s, *cx, *cy, cos(a), sin(a), thr, rmax);
	}
	*r = median(len, N_RAYS);
}

/* Median of the raw pixels of IMG in the box around (CX, CY) of half-size HALF. */
static double
box_median(const HalImage *img, int cx, int cy, int half)
{
	guint hist[256] = { 0 };
	guint n = 0;
	for (int y = MAX(0, cy - half); y <= MIN(img->height - 1, cy + half); y++)
		for (int x = MAX(0, cx - half); x <= MIN(img->width - 1, cx + half); x++) {
			hist[img->pixels[(gsize)y * img->width + x]]++;
			n++;
		}
	return qutil_hist_median(hist, n);
}

/* Median of RAW over the pixels whose polar position about the pupil centre
 * (angle A in degrees, y down) and whose distances DP / DI to the two centres
 * pass SELECT. */
typedef gboolean (*Select)(const QualityIris *q, double dp, double di, double a);

static double
region_median(const Plane *raw, const QualityIris *q, Select sel, double reach)
{
	GArray *v = g_array_new(FALSE, FALSE, sizeof(double));
	int x0 = MAX(0, (int)floor(q->iris_x - reach)),
	    x1 = MIN(raw->w - 1, (int)ceil(q->iris_x + reach));
	int y0 = MAX(0, (int)floor(q->iris_y - reach)),
	    y1 = MIN(raw->h - 1, (int)ceil(q->iris_y + reach));
	for (int y = y0; y <= y1; y++)
		for (int x = x0; x <= x1; x++) {
			double dp = hypot(x - q->pupil_x, y - q->pupil_y);
			double di = hypot(x - q->iris_x, y - q->iris_y);
			double a = atan2(y - q->pupil_y, x - q->pupil_x) * 180.0 / G_PI;
			if (sel(q, dp, di, a)) {
				double d = raw->v[(gsize)y * raw->w + x];
				g_array_append_val(v, d);
			}
		}
	double m = median((double *)(void *)v->data, v->len);
	g_array_free(v, TRUE);
	return m;
}

/* On a side arc: 30 degrees above to 45 below the horizontal, either side. */
static gboolean
side_arc(double a)
{
	return (a >= -30.0 && a <= 45.0) || a >= 135.0 || a <= -150.0;
}

static gboolean
sel_pupil(const QualityIris *q, double dp, double di, double a)
{
	(void)di;
	(void)a;
	return dp < 0.8 * q->pupil_r;
}

static gboolean
sel_iris(const QualityIris *q, double dp, double di, double a)
{
	double rho = (dp - q->pupil_r) / (q->iris_r - q->pupil_r);
	return side_arc(a) && rho >= 0.25 && rho <= 0.85 && di < q->iris_r;
}

static gboolean
sel_sclera(const QualityIris *q, double dp, double di, double a)
{
	(void)dp;
	gboolean side = fabs(a) <= 20.0 || fabs(a) >= 160.0;
	return side && di >= q->iris_r + 6.0 && di <= 1.25 * q->iris_r + 6.0;
}

/* The sharpness measure of the header, on the raw image around the pupil. */
static double
edge_sharpness(const Plane *raw, const QualityIris *q)
{
	static const double spans[][2] = { { -45.0, 225.0 } };
	Arcs a;
	arcs_init(&a, spans, 1, 180);
	double reach = MIN(8.0, 0.6 * q->pupil_r);
	int n = (int)floor(2.0 * reach / 0.5) + 1;
	double *prof = g_new(double, n), *vals = g_new(double, a.n);
	for (int k = 0; k < n; k++) {
		double r = q->pupil_r - reach + 0.5 * k;
		gsize m = 0;
		for (int i = 0; i < a.n; i++) {
			double v = sample(raw, q->pupil_x + r * a.c[i], q->pupil_y + r * a.s[i]);
			if (!isnan(v))
				vals[m++] = v;
		}
		prof[k] = m ? median(vals, m) : NAN;
	}
	double slope = 0.0;
	for (int k = 1; k + 1 < n; k++)
		if (prof[k + 1] - prof[k - 1] > slope)
			slope = prof[k + 1] - prof[k - 1]; /* over 1 px */
	double height =
		(prof[n - 1] + prof[n - 2] + prof[n - 3] - prof[0] - prof[1] - prof[2]) / 3.0;
	g_free(prof);
	g_free(vals);
	arcs_clear(&a);
	if (!(height >= 3.0) || isnan(slope))
		return 0.0;
	return qutil_clamp01(slope / height);
}

/* Usable share of the iris ring; SMOOTH is the image smoothed, LO..HI the iris band. */
static double
usable_area(const Plane *smooth, const QualityIris *q, double lo, double hi)
{
	guint64 ring = 0, ok = 0;
	int x0 = (int)floor(q->iris_x - q->iris_r), x1 = (int)ceil(q->iris_x + q->iris_r);
	int y0 = (int)floor(q->iris_y - q->iris_r), y1 = (int)ceil(q->iris_y + q->iris_r);
	for (int y = y0; y <= y1; y++)
		for (int x = x0; x <= x1; x++) {
			double dp = hypot(x - q->pupil_x, y - q->pupil_y);
			double di = hypot(x - q->iris_x, y - q->iris_y);
			if (dp < q->pupil_r + 1.5 || di > q->iris_r - 1.5)
				continue;
			ring++;
			if (x < 0 || y < 0 || x >= smooth->w || y >= smooth->h)
				continue;
			double v = smooth->v[(gsize)y * smooth->w + x];
			if (v >= lo && v <= hi)
				ok++;
		}
	return ring ? (double)ok / (double)ring : 0.0;
}

static int
score_of(const QualityIris *q)
{
	double ratio = q->pupil_iris_ratio;
	double f_ratio = ratio < 0.2 ? qutil_clamp01((ratio - 0.1) / 0.1)
			 : ratio > 0.7 ? qutil_clamp01((0.8 - ratio) / 0.1)
					: 1.0;
	double f_size = qutil_clamp01((q->iris_r - 50.0) / 30.0);
	double f_area = qutil_clamp01((q->usable_iris_area - 0.3) / 0.4);
	double f_ipc = qutil_clamp01((q->iris_pupil_contrast - 0.05) / 0.35);
	double f_isc = qutil_clamp01((q->iris_sclera_contrast - 0.05) / 0.15);
	double f_sharp = qutil_clamp01((q->sharpness - 0.1) / 0.4);
	double s = 100.0 * f_ratio * f_size * pow(f_area, 0.30) * pow(f_ipc, 0.20) *
		   pow(f_isc, 0.15) * pow(f_sharp, 0.35);
	return (int)CLAMP(lround(s), 0, 100);
}

int
quality_iris(const HalImage *img, QualityIris *out)
{
	if (!img || !out || !img->pixels || img->channels != 1 || img->width < IRIS_MIN_SIDE ||
	    img->height < IRIS_MIN_SIDE)
		return -1;
	int w = img->width, h = img->height, side = MIN(w, h);
	memset(out, 0, sizeof *out);
	out->algorithm = "ektp-iris-29794-6-subset";
	out->version = "1";

	Plane raw = { w, h, g_new(float, (gsize)w * h) }, sm;
	for (gsize i = 0; i < (gsize)w * h; i++)
		raw.v[i] = img->pixels[i];
	gauss_blur(&raw, &sm, 1.5);

	/* 1. The darkest box, from an integral image of the raw pixels. */
	int half = MAX(4, side / 48);
	guint64 *ii = g_new0(guint64, (gsize)(w + 1) * (h + 1));
	for (int y = 0; y < h; y++) {
		guint64 row = 0;
		for (int x = 0; x < w; x++) {
			row += img->pixels[(gsize)y * w + x];
			ii[(gsize)(y + 1) * (w + 1) + x + 1] = ii[(gsize)y * (w + 1) + x + 1] + row;
		}
	}
	guint64 best = G_MAXUINT64;
	int bx = w / 2, by = h / 2;
	for (int y = half; y + half < h; y += 2)
		for (int x = half; x + half < w; x += 2) {
			int xa = x - half, ya = y - half, xb = x + half + 1, yb = y + half + 1;
			guint64 s = ii[(gsize)yb * (w + 1) + xb] - ii[(gsize)ya * (w + 1) + xb] -
				    ii[(gsize)yb * (w + 1) + xa] + ii[(gsize)ya * (w + 1) + xa];
			if (s < best) {
				best = s;
				bx = x;
				by = y;
			}
		}
	g_free(ii);
	double l_dark = (double)best / ((2.0 * half + 1) * (2.0 * half + 1));
	double l_med = box_median(img, bx, by, side / 5);

	/* 2. Rough pupil. */
	double cx = bx, cy = by, r0;
	rough_pupil(&sm, &cx, &cy, &r0, 0.5 * (l_dark + l_med), side / 4.0);

	/* 3. Pupil circle, coarse then fine. */
	static const double pupil_span[][2] = { { -45.0, 225.0 } };
	static const double w_pupil[] = { 1.0, 0.5 };
	Arcs pa;
	arcs_init(&pa, pupil_span, 1, 64);
	double reach = ceil(MAX(6.0, 0.35 * r0));
	Search s = { .x0 = cx, .y0 = cy, .dx = reach, .dy = reach, .cstep = 2,
		     .r_lo = MAX(4.0, 0.6 * r0), .r_hi = 1.5 * r0 + 3.0, .r_step = 1,
		     .arcs = &pa, .cap = l_med, .w = w_pupil, .nw = 2 };
	circle_search(&sm, &s);
	arcs_clear(&pa);
	arcs_init(&pa, pupil_span, 1, 128);
	Search f = s;
	f.x0 = s.x;
	f.y0 = s.y;
	f.dx = f.dy = 1.5;
	f.cstep = 0.25;
	f.r_lo = MAX(3.0, s.r - 2.0);
	f.r_hi = s.r + 2.0;
	f.r_step = 0.25;
	circle_search(&sm, &f);
	arcs_clear(&pa);
	out->pupil_x = f.x;
	out->pupil_y = f.y;
	out->pupil_r = f.r;

	/* 4. Iris circle on the side arcs, coarse then fine. */
	static const double iris_span[][2] = { { -30.0, 45.0 }, { 135.0, 210.0 } };
	static const double w_iris[] = { 1.0, 1.0, 0.6, 0.3 };
	Arcs ia;
	arcs_init(&ia, iris_span, 2, 40);
	Search t = { .x0 = f.x, .y0 = f.y, .dx = 10, .dy = 6, .cstep = 2,
		     .r_lo = MAX(1.25 * f.r, f.r + 10.0), .r_hi = MAX(f.r / 0.15, f.r + 20.0),
		     .r_step = 1, .arcs = &ia, .cap = INFINITY, .w = w_iris, .nw = 4 };
	circle_search(&sm, &t);
	arcs_clear(&ia);
	arcs_init(&ia, iris_span, 2, 90);
	Search u = t;
	u.x0 = t.x;
	u.y0 = t.y;
	u.dx = u.dy = 2;
	u.cstep = 0.5;
	u.r_lo = MAX(t.r_lo, t.r - 3.0);
	u.r_hi = t.r + 3.0;
	u.r_step = 0.5;
	circle_search(&sm, &u);
	arcs_clear(&ia);
	out->iris_x = u.x;
	out->iris_y = u.y;
	out->iris_r = u.r;

	/* Measures. */
	reach = 1.3 * out->iris_r + 10.0;
	double lp = region_median(&raw, out, sel_pupil, reach);
	double li = region_median(&raw, out, sel_iris, reach);
	double ls = region_median(&raw, out, sel_sclera, reach);
	if (isnan(lp))
		lp = l_dark;
	if (isnan(li))
		li = lp;
	if (isnan(ls))
		ls = li;
	out->iris_pupil_contrast = qutil_clamp01((li - lp) / (li + lp + 1e-9));
	out->iris_sclera_contrast =
		ls + li - 2.0 * lp > 1.0 ? qutil_clamp01((ls - li) / (ls + li - 2.0 * lp)) : 0.0;
	out->usable_iris_area =
		usable_area(&sm, out, lp + 0.35 * (li - lp), li + 0.45 * (ls - li));
	out->pupil_iris_ratio = out->iris_r > 0 ? out->pupil_r / out->iris_r : 0.0;
	out->sharpness = edge_sharpness(&raw, out);
	out->score = score_of(out);

	g_free(raw.v);
	g_free(sm.v);
	return 0;
}
