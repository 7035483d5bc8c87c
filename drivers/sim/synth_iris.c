/* SPDX-License-Identifier: MIT */
/*
 * Synthetic near-infrared eye images for the iris simulator, drawn from a
 * seed with their ground truth (the pupil and iris circles), so that the iris
 * quality measures can be tested against known geometry.
 *
 * The picture is 640x480 8-bit grey, as a VGA iris camera delivers it
 * (ISO/IEC 19794-6 "VGA" kind).  It is built in a canonical frame where the
 * nose lies toward +x (a right eye seen by the camera); a left eye (eye 2) is
 * drawn in the same frame and mirrored left-right at the end.  The eye number
 * also enters the seed, so the two eyes of one seed carry different irises,
 * as real ones do.  Layers, back to front:
 *
 *   skin      mid-bright (skin reflects NIR well), with low-frequency value
 *             noise, the upper-lid crease and a shadow under the lower lid;
 *   opening   the palpebral fissure between two parabolic lids meeting at the
 *             corners, tilted so that the temporal corner sits higher;
 *   sclera    bright, darker toward the corners and under the upper lid, with
 *             a darker caruncle in the nasal corner;
 *   iris      a disk of radius ~100-125 px whose texture is written in polar
 *             coordinates about the pupil (angle, rho = 0 at the pupil edge to
 *             1 at the limbus): two octaves of periodic value noise stretched
 *             radially (the radial streaks of the stroma), a wavy collarette,
 *             dark radially elongated crypts, a few concentric contraction
 *             furrows and a darker limbal band; its edge is a soft 2.5 px ramp;
 *   pupil     a dark uniform disk of radius 25-45 px (pupil/iris ratio
 *             0.2-0.45), a little nasal of the iris centre, with a 1 px edge;
 *   specular  the illuminator's reflection: a small bright disk inside the
 *             pupil, away from its centre;
 *   lids      a dark margin along the upper lid, a bright tear line along the
 *             lower one, and eyelashes (anti-aliased quadratic curves), most
 *             pointing up over the skin, some hanging over the eye.
 *
 * Every random draw is made before QUALITY is applied, so one seed gives the
 * same eye, and the same circles, at every quality.  QUALITY q (0..1) then
 * scales the contrast about mid-grey by 0.4 + 0.6 q, defocuses with a
 * Gaussian blur of sigma 3 (1 - q) px, adds sensor noise of sigma
 * 1 + 9 (1 - q) grey levels (an Irwin-Hall sum of four uniforms), and brings
 * the lids in: the upper lid's height over the iris centre is scaled by
 * 0.4 + 0.6 q (never below the pupil's top plus 8 px), the lower one's by
 * 0.6 + 0.4 q, so less of the iris is visible.  Edges are anti-aliased from
 * their signed distance: a pixel takes the share of a ramp of the given
 * width that it covers.  Pixel (x, y) has its centre at (x, y).
 */
#include "synth.h"
#include "synth_rng.h"

#include <math.h>
#include <string.h>

#define EYE_W 640
#define EYE_H 480

static double
mix(double a, double b, double t)
{
	return a + (b - a) * t;
}

static double
smooth(double t)
{
	return t * t * (3.0 - 2.0 * t);
}

/* Value noise on a lattice of NX x NY values in [-1, 1], smoothly
 * interpolated; with WRAP_X the first coordinate is periodic (an angle).
 * noise_init allocates the lattice, noise_clear frees it. */
typedef struct {
	int nx, ny;
	gboolean wrap_x;
	double *v;
} Noise;

static void
noise_init(Noise *n, SynthRng *r, int nx, int ny, gboolean wrap_x)
{
	n->nx = nx;
	n->ny = ny;
	n->wrap_x = wrap_x;
	n->v = g_new(double, (gsize)nx * (gsize)ny);
	for (int i = 0; i < nx * ny; i++)
		n->v[i] = synth_rng_range(r, -1.0, 1.0);
}

/* U runs over [0, NX) (wrapping when periodic, clamped otherwise), V over [0, NY - 1]. */
static double
noise_at(const Noise *n, double u, double v)
{
	if (n->wrap_x) {
		u = fmod(u, (double)n->nx);
		if (u < 0)
			u += n->nx;
	} else {
		u = CLAMP(u, 0.0, (double)(n->nx - 1));
	}
	v = CLAMP(v, 0.0, (double)(n->ny - 1));
	int x0 = (int)u, y0 = (int)v;
	if (x0 >= n->nx)
		x0 = n->nx - 1;
	int x1 = n->wrap_x ? (x0 + 1) % n->nx : MIN(x0 + 1, n->nx - 1);
	int y1 = MIN(y0 + 1, n->ny - 1);
	double fx = smooth(u - x0), fy = smooth(v - y0);
	double a = mix(n->v[y0 * n->nx + x0], n->v[y0 * n->nx + x1], fx);
	double b = mix(n->v[y1 * n->nx + x0], n->v[y1 * n->nx + x1], fx);
	return mix(a, b, fy);
}

static void
noise_clear(Noise *n)
{
	g_free(n->v);
	n->v = NULL;
}

#define N_CRYPTS_MAX 40
#define N_FURROWS_MAX 4
#define N_LASHES_MAX 90

typedef struct {
	double rho, theta;   /* where, in the iris's polar frame */
	double len, wid;     /* radial and tangential half-sizes, px */
	double depth;        /* grey levels darker at its centre */
	double cx, cy, reach; /* its centre in the image, and how far it shows */
} Crypt;

typedef struct {
	double rho, theta, span, depth;
} Furrow;

typedef struct {
	double x0, y0, x1, y1, x2, y2; /* quadratic Bezier control points */
	double width;
} Lash;

/* Everything random about one eye, drawn before quality is applied. */
typedef struct {
	double ix, iy, ir; /* iris circle */
	double px, py, pr; /* pupil circle */
	double fx, fw;     /* fissure centre x and half-width */
	double up_h, lo_h; /* lid heights above / below IY at FX, quality 1 */
	double tilt;       /* lid slope: positive = nasal corner lower */
	double spec_x, spec_y, spec_r;
	double pupil_v, iris_v, sclera_v, skin_v;
	Noise streak, fibre, collar, skin;
	Crypt crypt[N_CRYPTS_MAX];
	int n_crypts;
	Furrow furrow[N_FURROWS_MAX];
	int n_furrows;
	Lash lash[N_LASHES_MAX];
	int n_lashes;
} Eye;

/* The lids at column X: an upper and a lower parabola over the fissure. */
static gboolean
lids_at(const Eye *e, double up_h, double lo_h, double x, double *upper, double *lower)
{
	double u = (x - e->fx) / e->fw;
	double base = e->iy + e->tilt * (x - e->fx);
	double k = 1.0 - u * u;
	*upper = base - up_h * k;
	*lower = base + lo_h * k;
	return k > 0.0;
}

static void
draw_params(Eye *e, SynthRng *r)
{
	e->ir = synth_rng_range(r, 100.0, 125.0);
	e->pr = synth_rng_range(r, 25.0, 45.0);
	if (e->pr > 0.45 * e->ir)
		e->pr = 0.45 * e->ir;
	e->ix = EYE_W / 2.0 + synth_rng_range(r, -30.0, 30.0);
	e->iy = EYE_H / 2.0 + synth_rng_range(r, -18.0, 18.0);
	/* The pupil usually sits a little nasal of the iris centre. */
	e->px = e->ix + synth_rng_range(r, 0.5, 3.5);
	e->py = e->iy + synth_rng_range(r, -1.5, 1.5);
	e->fw = e->ir * synth_rng_range(r, 2.2, 2.5);
	e->fx = e->ix - e->ir * synth_rng_range(r, 0.0, 0.2);
	e->up_h = e->ir * synth_rng_range(r, 0.75, 1.0);
	e->lo_h = e->ir * synth_rng_range(r, 0.92, 1.12);
	e->tilt = synth_rng_range(r, 0.02, 0.08);
	double sa = synth_rng_range(r, 1.0, 2.2) * G_PI; /* the illuminator sits below or beside */
	double sd = e->pr * synth_rng_range(r, 0.38, 0.5);
	e->spec_x = e->px + sd * cos(sa);
	e->spec_y = e->py + sd * sin(sa);
	e->spec_r = synth_rng_range(r, 3.5, 5.5);
	e->pupil_v = synth_rng_range(r, 12.0, 24.0);
	e->iris_v = synth_rng_range(r, 92.0, 118.0);
	e->sclera_v = synth_rng_range(r, 198.0, 215.0);
	e->skin_v = synth_rng_range(r, 162.0, 178.0);

	noise_init(&e->streak, r, 96, 4, TRUE);
	noise_init(&e->fibre, r, 260, 9, TRUE);
	noise_init(&e->collar, r, 14, 1, TRUE);
	noise_init(&e->skin, r, EYE_W / 40 + 2, EYE_H / 40 + 2, FALSE);

	e->n_crypts = 18 + (int)(synth_rng_unit(r) * 20);
	for (int i = 0; i < e->n_crypts; i++) {
		Crypt *c = &e->crypt[i];
		c->rho = synth_rng_range(r, 0.12, 0.8);
		c->theta = synth_rng_range(r, 0.0, 2.0 * G_PI);
		c->len = synth_rng_range(r, 4.0, 11.0);
		c->wid = synth_rng_range(r, 2.0, 5.0);
		c->depth = synth_rng_range(r, 18.0, 42.0);
		double at = e->pr + c->rho * (e->ir - e->pr);
		c->cx = e->px + at * cos(c->theta);
		c->cy = e->py + at * sin(c->theta);
		c->reach = 3.0 * MAX(c->len, c->wid) + 2.0;
	}
	e->n_furrows = 1 + (int)(synth_rng_unit(r) * 3);
	for (int i = 0; i < e->n_furrows; i++) {
		Furrow *f = &e->furrow[i];
		f->rho = synth_rng_range(r, 0.55, 0.85);
		f->theta = synth_rng_range(r, 0.0, 2.0 * G_PI);
		f->span = synth_rng_range(r, 0.4, 1.4);
		f->depth = synth_rng_range(r, 8.0, 16.0);
	}
	e->n_lashes = 50 + (int)(synth_rng_unit(r) * 40);
	for (int i = 0; i < e->n_lashes; i++) {
		Lash *l = &e->lash[i];
		/* Roots are placed later, on the lid of the chosen quality; here
		 * they are a position along the lid (x0) and a shape relative to
		 * the root. */
		l->x0 = synth_rng_range(r, -0.9, 0.9);
		gboolean down = synth_rng_unit(r) < 0.25;
		double len = down ? synth_rng_range(r, 6.0, 18.0) : synth_rng_range(r, 18.0, 42.0);
		/* Lashes lean toward the temporal corner (-x). */
		double lean = synth_rng_range(r, -0.2, 0.9) * (l->x0 < 0 ? 1.0 : 0.5);
		double ang = down ? G_PI / 2 + synth_rng_range(r, -0.5, 0.5) : -G_PI / 2 - lean;
		double bend = synth_rng_range(r, 0.15, 0.35) * len;
		l->x2 = len * cos(ang);
		l->y2 = len * sin(ang);
		l->x1 = 0.5 * l->x2 - bend * 0.5;
		l->y1 = 0.5 * l->y2 - (down ? -bend * 0.3 : bend * 0.6);
		l->width = synth_rng_range(r, 1.1, 1.8);
	}
}

static void
eye_clear(Eye *e)
{
	noise_clear(&e->streak);
	noise_clear(&e->fibre);
	noise_clear(&e->collar);
	noise_clear(&e->skin);
}

/* The iris's grey level at (X, Y), at distance D and angle T about the pupil
 * centre. */
static double
iris_value(const Eye *e, double x, double y, double d, double t)
{
	double rho = synth_clamp01((d - e->pr) / (e->ir - e->pr));
	double turns = t / (2.0 * G_PI);
	double v = e->iris_v;
	v += 15.0 * noise_at(&e->streak, turns * e->streak.nx, rho * (e->streak.ny - 1));
	v += 7.0 * noise_at(&e->fibre, turns * e->fibre.nx, rho * (e->fibre.ny - 1));
	double rc = 0.3 + 0.05 * noise_at(&e->collar, turns * e->collar.nx, 0.0);
	double dc = (rho - rc) / 0.035;
	v += 16.0 * exp(-dc * dc);
	if (rho < rc)
		v -= 8.0 * (1.0 - rho / rc);
	v -= 24.0 * smooth(synth_clamp01((rho - 0.78) / 0.22));
	for (int i = 0; i < e->n_crypts; i++) {
		const Crypt *c = &e->crypt[i];
		if (fabs(x - c->cx) > c->reach || fabs(y - c->cy) > c->reach)
			continue;
		double dt = remainder(t - c->theta, 2.0 * G_PI) * d / c->wid;
		double dr = (d - (e->pr + c->rho * (e->ir - e->pr))) / c->len;
		double q = dt * dt + dr * dr;
		if (q < 9.0)
			v -= c->depth * exp(-q);
	}
	for (int i = 0; i < e->n_furrows; i++) {
		const Furrow *f = &e->furrow[i];
		double da = remainder(t - f->theta, 2.0 * G_PI) / f->span;
		double dr = (rho - f->rho) / 0.02;
		if (fabs(da) < 1.0)
			v -= f->depth * exp(-dr * dr) * (1.0 - da * da);
	}
	return CLAMP(v, 30.0, 200.0);
}

/* The noise-free scene at pixel (x, y), lids at UP_H / LO_H. */
static double
scene_value(const Eye *e, double up_h, double lo_h, double x, double y)
{
	double upper, lower;
	gboolean open = lids_at(e, up_h, lo_h, x, &upper, &lower);
	double u = (x - e->fx) / e->fw;

	/* Skin, with the upper-lid crease and the shadow under the lower lid. */
	double skin = e->skin_v + 9.0 * noise_at(&e->skin, x / 40.0, y / 40.0);
	if (fabs(u) < 1.3) {
		double w = 1.0 - smooth(synth_clamp01((fabs(u) - 0.9) / 0.4));
		double crease = e->iy + e->tilt * (x - e->fx) -
				(up_h + 0.5 * e->ir) * (1.0 - 0.55 * u * u);
		double dc = (y - crease) / 6.0;
		skin -= 24.0 * w * exp(-dc * dc);
		double below = y - (e->iy + e->tilt * (x - e->fx) + lo_h * (1.0 - u * u));
		if (below > 0)
			skin -= 14.0 * w * exp(-below / 12.0);
	}
	if (!open)
		return skin;

	double a_eye = synth_cover(upper - y, 1.5) * synth_cover(y - lower, 1.5);
	if (a_eye <= 0.0)
		return skin;

	/* Sclera, darker toward the corners and in the shadow of the upper lid. */
	double v = e->sclera_v - 35.0 * u * u;
	v -= 40.0 * exp(-fmax(0.0, y - upper) / 6.0);
	v -= 12.0 * exp(-fmax(0.0, lower - y) / 4.0);
	double cx = e->fx + 0.9 * e->fw, cy = 0.5 * (upper + lower);
	double dcx = (x - cx) / (0.11 * e->fw), dcy = (y - cy) / (0.09 * e->fw);
	v = mix(v, 145.0, exp(-(dcx * dcx + dcy * dcy)));

	double di = hypot(x - e->ix, y - e->iy);
	double a_iris = synth_cover(di - e->ir, 2.5);
	if (a_iris > 0.0) {
		double dp = hypot(x - e->px, y - e->py);
		double t = atan2(y - e->py, x - e->px);
		v = mix(v, iris_value(e, x, y, dp, t), a_iris);
		double a_pupil = synth_cover(dp - e->pr, 1.0);
		if (a_pupil > 0.0)
			v = mix(v, e->pupil_v, a_pupil);
		double ds = hypot(x - e->spec_x, y - e->spec_y);
		double a_spec = synth_cover(ds - e->spec_r, 1.2);
		if (a_spec > 0.0)
			v = mix(v, 250.0, a_spec);
	}
	v = mix(skin, v, a_eye);

	/* Lid margins: lash roots along the upper, the tear film along the lower. */
	double du = (y - upper + 1.0) / 2.2;
	v = mix(v, 45.0, 0.75 * exp(-du * du));
	double dl = (y - lower - 1.5) / 1.6;
	v = mix(v, 215.0, 0.3 * exp(-dl * dl));
	return v;
}


/* Draws the lashes on the upper lid of height UP_H into COV. */
static void
draw_lashes(const Eye *e, double up_h, double lo_h, float *cov)
{
	/* Hanging lashes stop short of the pupil. */
	double pupil_top = e->py - e->pr - 4.0;
	for (int i = 0; i < e->n_lashes; i++) {
		const Lash *l = &e->lash[i];
		double rx = e->fx + l->x0 * e->fw, upper, lower;
		lids_at(e, up_h, lo_h, rx, &upper, &lower);
		double ry = upper - 0.5;
		double scale = 1.0;
		if (l->y2 > 0 && hypot(rx - e->px, ry - e->py) < e->pr + 30.0 &&
		    ry + l->y2 > pupil_top)
			scale = fmax(0.0, (pupil_top - ry) / l->y2);
		for (double s = 0.0; s <= 1.0; s += 0.02) {
			double b = 2 * (1 - s) * s, c = s * s;
			double x = rx + scale * (b * l->x1 + c * l->x2);
			double y = ry + scale * (b * l->y1 + c * l->y2);
			synth_stamp(cov, EYE_W, EYE_H, x, y, l->width * (1.0 - 0.5 * s));
		}
	}
}

/* Separable Gaussian blur of SIGMA in place on IMG (borrowed, W x H), edges
 * replicated. */
static void
blur(float *img, int w, int h, double sigma)
{
	int rad = (int)ceil(3.0 * sigma);
	double *k = g_new(double, 2 * rad + 1);
	double sum = 0;
	for (int i = -rad; i <= rad; i++)
		sum += k[i + rad] = exp(-(double)(i * i) / (2 * sigma * sigma));
	for (int i = 0; i <= 2 * rad; i++)
		k[i] /= sum;
	float *tmp = g_new(float, (gsize)w * (gsize)h);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			double acc = 0;
			for (int i = -rad; i <= rad; i++)
				acc += k[i + rad] * img[y * w + CLAMP(x + i, 0, w - 1)];
			tmp[y * w + x] = (float)acc;
		}
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			double acc = 0;
			for (int i = -rad; i <= rad; i++)
				acc += k[i + rad] * tmp[CLAMP(y + i, 0, h - 1) * w + x];
			img[y * w + x] = (float)acc;
		}
	g_free(tmp);
	g_free(k);
}

int
synth_iris(guint32 seed, int eye, double quality, HalImage *out, SynthIrisGeometry *geom)
{
	if (!out || (eye != 1 && eye != 2) || !(quality >= 0.0 && quality <= 1.0))
		return -1;

	/* The eye enters the seed: a person's two irises differ. */
	SynthRng shape = { (guint64)seed * 0x2545F4914F6CDD1Dull +
			   (guint64)eye * 0x9E3779B97F4A7C15ull };
	SynthRng grain = { shape.s ^ 0xD1B54A32D192ED03ull };
	Eye e;
	memset(&e, 0, sizeof e);
	draw_params(&e, &shape);

	/* Quality lowers the upper lid toward the pupil and raises the lower one,
	 * but never over the pupil itself. */
	double up_h = e.up_h * (0.4 + 0.6 * quality);
	up_h = fmax(up_h, e.pr + 8.0 + fabs(e.py - e.iy));
	double lo_h = e.lo_h * (0.6 + 0.4 * quality);
	double contrast = 0.4 + 0.6 * quality;
	double defocus = 3.0 * (1.0 - quality);
	double noise = 1.0 + 9.0 * (1.0 - quality);

	gsize n = (gsize)EYE_W * EYE_H;
	float *img = g_new(float, n);
	float *lash = g_new0(float, n);
	for (int y = 0; y < EYE_H; y++)
		for (int x = 0; x < EYE_W; x++)
			img[y * EYE_W + x] = (float)scene_value(&e, up_h, lo_h, x, y);
	draw_lashes(&e, up_h, lo_h, lash);
	for (gsize i = 0; i < n; i++) {
		double v = mix(img[i], 30.0, 0.9 * lash[i]);
		img[i] = (float)(128.0 + (v - 128.0) * contrast);
	}
	if (defocus > 0.25)
		blur(img, EYE_W, EYE_H, defocus);

	out->width = EYE_W;
	out->height = EYE_H;
	out->channels = 1;
	out->ppi = 0;
	out->position = eye;
	out->pixels = g_malloc(n);
	for (int y = 0; y < EYE_H; y++)
		for (int x = 0; x < EYE_W; x++) {
			double v = img[y * EYE_W + x] + noise * synth_rng_noise(&grain);
			int dst = eye == 2 ? EYE_W - 1 - x : x;
			out->pixels[y * EYE_W + dst] = (uint8_t)(CLAMP(v, 0.0, 255.0) + 0.5);
		}
	g_free(img);
	g_free(lash);

	if (geom) {
		double flip = eye == 2 ? EYE_W - 1 : 0;
		geom->pupil_x = eye == 2 ? flip - e.px : e.px;
		geom->pupil_y = e.py;
		geom->pupil_r = e.pr;
		geom->iris_x = eye == 2 ? flip - e.ix : e.ix;
		geom->iris_y = e.iy;
		geom->iris_r = e.ir;
	}
	eye_clear(&e);
	return 0;
}
