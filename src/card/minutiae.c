/* SPDX-License-Identifier: MIT */
/*
 * Our own minutiae extractor, "ektp-minutiae" version 1 (MINUTIAE_ALGORITHM
 * and MINUTIAE_VERSION; changing any parameter below makes a new version):
 * what the card's ISO/IEC 19794-2 templates are made of.  A classic,
 * explainable pipeline (in the spirit of Hong, Wan & Jain, TPAMI 1998, and of
 * Maltoni et al., "Handbook of Fingerprint Recognition", chapters 3 and 4),
 * written here from those descriptions.  Conventions of the output are in
 * minutiae.h.  Every figure below is for 500 ppi, where a ridge period is
 * about 9 px (8 to 12 on real fingers).
 *
 *  1. Normalisation.  Each pixel becomes (local mean - grey) / local standard
 *     deviation over a 17x17 window (NORM_RADIUS 8, about two ridge periods),
 *     the deviation floored at NORM_STD_FLOOR (8 grey levels) so the bare
 *     platen stays near 0.  Ridges (dark) become positive, valleys negative,
 *     whatever the contrast and brightness of the capture.
 *  2. Orientation field.  Sobel gradients of the normalised image give the
 *     structure tensor (gx^2 - gy^2, 2 gx gy, gx^2 + gy^2) at each pixel,
 *     averaged twice over a 13x13 box (ORIENT_RADIUS 6: a smooth, triangular
 *     window of about 25 px, Kass & Witkin 1987; Bazen & Gerez 2002).  The
 *     doubled-angle average gives the direction across the ridges,
 *     theta = atan2(2 gx gy, gx^2 - gy^2) / 2, and the coherence
 *     |tensor| / energy: 1 for parallel ridges, near 0 for noise.
 *  3. Segmentation.  A pixel belongs to the print when the local grey
 *     deviation is at least SEG_MIN_STD (16 levels, as in the quality index:
 *     ridges make contrast, the platen, even a noisy one, hardly any) and the
 *     coherence at least SEG_MIN_COHERENCE (0.4: noise has contrast but no
 *     flow; uniform noise averages 0.09 with this window).  8x8 blocks vote
 *     (half of their pixels); components under MIN_FG_BLOCKS (24 blocks) are
 *     dropped and enclosed holes of up to MAX_HOLE_BLOCKS (4) filled; larger
 *     holes, where the skin did not touch, stay out.  A chamfer (3-4)
 *     distance to the nearest background pixel, the image's edge counting as
 *     background, serves the border rule and the quality.
 *  4. Enhancement.  Inside the print, an even-symmetric Gabor filter tuned to
 *     the local orientation (16 orientations, period GABOR_PERIOD 9 px,
 *     sigma 3 px across and 4 px along the ridges, 17x17 taps, zero mean so
 *     the background level does not leak through) smooths along the ridges
 *     and band-passes across them: it closes small breaks and removes noise
 *     between ridges.  With sigma 3 px across, periods of 7 to 12 px still
 *     pass (within 0.6 of the filter's frequency deviation).
 *  5. Binarisation and cleaning.  A pixel is ridge where the filter's output
 *     is positive.  Ridge fragments under MIN_RIDGE_AREA (30 px, a dot) are
 *     erased and valley holes under MIN_HOLE_AREA (30 px, a pore) filled:
 *     each would otherwise give a pair of false endings or bifurcations.
 *  6. Thinning.  Zhang & Suen (CACM 1984) to an 8-connected skeleton, then
 *     one pass that deletes the corner pixel of every 4-connected "staircase"
 *     step (a pixel whose set neighbours all lie on one side of two adjacent
 *     4-neighbours, so removing it keeps the connection), which leaves one
 *     pixel wide lines on which the crossing number is exact.
 *  7. Detection.  The crossing number CN (half the number of changes around
 *     the 8 neighbours) marks ridge endings (CN 1) and bifurcations (CN 3);
 *     bifurcation pixels within 2 px of each other are one junction.
 *  8. Direction.  From each minutia the skeleton is followed for TRACE_LEN
 *     (12 px, about 1.3 ridge periods): one branch for an ending, three for
 *     a bifurcation.  As in ANSI/NIST-ITL's rule, the bisector of the
 *     smallest angle between the three rays is the bifurcation's direction
 *     (between the branches, away from the stem); an ending's is its ray
 *     (into the ridge).  That rough direction then picks one of the two
 *     senses of the smoothed ridge orientation at the point, which is the
 *     more precise of the two; where they differ by more than SNAP_MAX
 *     (45 degrees, the orientation field is not trustworthy there) the ray
 *     is kept.
 *  9. False minutiae, in this order, each counted in MinutiaeStats:
 *       border   nearer than BORDER_PX (12 px) to the print area's edge,
 *                where ridges are cut off by the segmentation;
 *       spur     an ending whose ridge reaches a junction within SPUR_LEN
 *                (10 px): a short side branch, with its bifurcation;
 *       bridge   a bifurcation whose branch reaches another junction within
 *                BRIDGE_LEN (12 px): a bridge between two ridges or a small
 *                lake, both bifurcations;
 *       short    an ending whose ridge ends again within SHORT_LEN (16 px):
 *                a fragment, both endings;
 *       break    two endings nearer than BREAK_DIST (16 px) that face each
 *                other along the ridge (each one's direction within
 *                BREAK_ANGLE, 40 degrees, of pointing away from the other):
 *                a broken ridge, both;
 *       close    any two left nearer than CLOSE_DIST (7 px, under a ridge
 *                period: no two real minutiae are credibly that near), both.
 * 10. Quality, 1 to 100: 100 * C * K * B * S, where C = the coherence at the
 *     point mapped from 0.3..0.9 to 0..1, K = min(1, local grey deviation /
 *     50), B = 0.5 + 0.5 * min(1, (border distance - BORDER_PX) /
 *     (2 BORDER_PX)) and S = 0.6 + 0.4 * the share of its traced branches
 *     that ran the full TRACE_LEN without meeting another minutia.  It ranks
 *     minutiae for the card's cap (iso19794.h); it is not a probability.
 *
 * Positions follow ISO/IEC 19794-2: a bifurcation is the fork of the ridge
 * skeleton, the pixel found in step 7; a ridge ending is the fork of the
 * valley skeleton just beyond the ridge's tip, which is half a ridge period
 * further on when ridges and valleys are equally wide, so the tip is moved
 * back (against its direction) by ENDING_BACK = GABOR_PERIOD / 2 = 4.5 px.
 * (Checked on the simulator: the valley forks that this extractor finds as
 * bifurcations on the negative image lie 4.7 px behind the ridge tips on
 * average, and the ground truth's phase singularities midway between.)
 *
 * A 400x500 print takes about 40 ms on one core of our development VMs
 * (measured once, best of 20, -O2); the Gabor filter is a third of it.  How
 * well it finds the simulator's minutiae is in tests/unit/test_minutiae.c.
 */
#include "card/minutiae.h"

#include <math.h>
#include <string.h>

G_DEFINE_QUARK(ektp-minutiae-error-quark, minutiae_error)

enum {
	MIN_PPI = 450,
	MAX_PPI = 550,
	MIN_SIDE = 48,
	MAX_SIDE = 2048,
	NORM_RADIUS = 8,
	ORIENT_RADIUS = 6,
	BLOCK = 8,
	MIN_FG_BLOCKS = 24,
	MAX_HOLE_BLOCKS = 4,
	N_ANGLES = 16,
	GABOR_RADIUS = 8,
	MIN_RIDGE_AREA = 30,
	MIN_HOLE_AREA = 30,
	JUNCTION_MERGE = 2,
	TRACE_LEN = 12,
	BORDER_PX = 12,
	SPUR_LEN = 10,
	BRIDGE_LEN = 12,
	SHORT_LEN = 16,
};

#define NORM_STD_FLOOR 8.0
#define SEG_MIN_STD 16.0
#define SEG_MIN_COHERENCE 0.4
#define GABOR_PERIOD 9.0
#define GABOR_SIGMA_ACROSS 3.0
#define GABOR_SIGMA_ALONG 4.0
#define SNAP_MAX (45.0 * G_PI / 180.0)
#define BREAK_DIST 16.0
#define BREAK_ANGLE (40.0 * G_PI / 180.0)
#define CLOSE_DIST 7.0
#define ENDING_BACK (GABOR_PERIOD / 2)
#define Q_COHERENCE_LO 0.3
#define Q_COHERENCE_HI 0.9
#define Q_CONTRAST_FULL 50.0

/* The 8 neighbours in ring order, clockwise as seen (y grows downwards):
 * N, NE, E, SE, S, SW, W, NW; the even ones are the 4-neighbours. */
static const int ring_dx[8] = { 0, 1, 1, 1, 0, -1, -1, -1 };
static const int ring_dy[8] = { -1, -1, 0, 1, 1, 1, 0, -1 };

typedef struct {
	int w, h;
	float *norm;   /* step 1: ridges positive */
	float *std;    /* local grey deviation */
	float *theta;  /* step 2: direction across the ridges, image coordinates, [0, pi) */
	float *coh;    /* coherence 0..1 */
	uint8_t *mask; /* step 3: 1 inside the print */
	int *dist;     /* chamfer distance to the background, 3 per pixel */
	float *enh;    /* step 4 */
	uint8_t *skel; /* steps 5-6: ridge pixels, then the skeleton */
} Ctx;

typedef enum { STOP_LONG, STOP_END, STOP_JUNCTION } Stop;

typedef struct {
	int len; /* pixels walked */
	Stop stop;
	int ex, ey; /* the last pixel reached */
} Branch;

typedef struct {
	int x, y;
	MinutiaType type;
	Branch br[3];
	int n_br;
	double angle; /* image coordinates (y down), radians */
	gboolean dropped;
} Cand;

static double
clamp01(double v)
{
	return v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
}

/* Angle in (-pi, pi]. */
static double
wrap_pi(double a)
{
	return atan2(sin(a), cos(a));
}

/* ---- box filters ---- */

/* The horizontal half of box_mean: each row of SRC into DST. */
static void
box_rows(const float *src, float *dst, int w, int h, int r)
{
	for (int y = 0; y < h; y++) {
		const float *in = src + (size_t)y * w;
		float *out = dst + (size_t)y * w;
		double sum = 0;
		int lo = 0, hi = -1; /* the samples [lo, hi] are in SUM */
		for (int x = 0; x < w; x++) {
			while (hi < MIN(w - 1, x + r))
				sum += in[++hi];
			while (lo < x - r)
				sum -= in[lo++];
			out[x] = (float)(sum / (hi - lo + 1));
		}
	}
}

/* BUF becomes its mean over a (2R+1)^2 window clipped to the image; TMP is
 * scratch of the same size.  The vertical half keeps running column sums,
 * so both halves read memory in order. */
static void
box_mean(float *buf, float *tmp, int w, int h, int r)
{
	box_rows(buf, tmp, w, h, r);
	double *col = g_new0(double, w);
	int lo = 0, hi = -1; /* the rows [lo, hi] are in COL */
	for (int y = 0; y < h; y++) {
		while (hi < MIN(h - 1, y + r)) {
			const float *row = tmp + (size_t)++hi * w;
			for (int x = 0; x < w; x++)
				col[x] += row[x];
		}
		while (lo < y - r) {
			const float *row = tmp + (size_t)lo++ * w;
			for (int x = 0; x < w; x++)
				col[x] -= row[x];
		}
		float *out = buf + (size_t)y * w;
		for (int x = 0; x < w; x++)
			out[x] = (float)(col[x] / (hi - lo + 1));
	}
	g_free(col);
}

/* ---- 1. normalisation ---- */

static void
normalise(Ctx *c, const uint8_t *px)
{
	size_t n = (size_t)c->w * c->h;
	float *mean = g_new(float, n), *sq = g_new(float, n), *tmp = g_new(float, n);
	for (size_t i = 0; i < n; i++) {
		mean[i] = px[i];
		sq[i] = (float)px[i] * px[i];
	}
	box_mean(mean, tmp, c->w, c->h, NORM_RADIUS);
	box_mean(sq, tmp, c->w, c->h, NORM_RADIUS);
	for (size_t i = 0; i < n; i++) {
		double sd = sqrt(fmax(0.0, (double)sq[i] - (double)mean[i] * mean[i]));
		c->std[i] = (float)sd;
		c->norm[i] = (float)((mean[i] - px[i]) / fmax(sd, NORM_STD_FLOOR));
	}
	g_free(mean);
	g_free(sq);
	g_free(tmp);
}

/* ---- 2. orientation field ---- */

static float
norm_at(const Ctx *c, int x, int y)
{
	x = CLAMP(x, 0, c->w - 1);
	y = CLAMP(y, 0, c->h - 1);
	return c->norm[(size_t)y * c->w + x];
}

static void
orientation(Ctx *c)
{
	size_t n = (size_t)c->w * c->h;
	float *a = g_new(float, n), *b = g_new(float, n), *e = g_new(float, n);
	float *tmp = g_new(float, n);
	for (int y = 0; y < c->h; y++)
		for (int x = 0; x < c->w; x++) {
			double gx = (norm_at(c, x + 1, y - 1) + 2 * norm_at(c, x + 1, y) +
				     norm_at(c, x + 1, y + 1)) -
				    (norm_at(c, x - 1, y - 1) + 2 * norm_at(c, x - 1, y) +
				     norm_at(c, x - 1, y + 1));
			double gy = (norm_at(c, x - 1, y + 1) + 2 * norm_at(c, x, y + 1) +
				     norm_at(c, x + 1, y + 1)) -
				    (norm_at(c, x - 1, y - 1) + 2 * norm_at(c, x, y - 1) +
				     norm_at(c, x + 1, y - 1));
			size_t i = (size_t)y * c->w + x;
			a[i] = (float)(gx * gx - gy * gy);
			b[i] = (float)(2 * gx * gy);
			e[i] = (float)(gx * gx + gy * gy);
		}
	for (int pass = 0; pass < 2; pass++) {
		box_mean(a, tmp, c->w, c->h, ORIENT_RADIUS);
		box_mean(b, tmp, c->w, c->h, ORIENT_RADIUS);
		box_mean(e, tmp, c->w, c->h, ORIENT_RADIUS);
	}
	for (size_t i = 0; i < n; i++) {
		double t = 0.5 * atan2(b[i], a[i]);
		c->theta[i] = (float)(t < 0 ? t + G_PI : t);
		c->coh[i] = e[i] > 0 ? (float)clamp01(hypot(a[i], b[i]) / e[i]) : 0.0f;
	}
	g_free(a);
	g_free(b);
	g_free(e);
	g_free(tmp);
}

/* ---- connected components ---- */

/*
 * Collects into STACK (room for W*H indices) the component of GRID value
 * GRID[START], 8-connected when CONN8 else 4-connected, marking SEEN.
 * Returns its size; *EDGE tells whether it touches the grid's edge.
 */
static int
component(const uint8_t *grid, int w, int h, int start, gboolean conn8, uint8_t *seen, int *stack,
	  gboolean *edge)
{
	uint8_t v = grid[start];
	int n = 0, top = 0;
	*edge = FALSE;
	stack[top++] = start;
	seen[start] = 1;
	while (n < top) {
		int i = stack[n++], x = i % w, y = i / w;
		if (x == 0 || y == 0 || x == w - 1 || y == h - 1)
			*edge = TRUE;
		for (int k = 0; k < 8; k += conn8 ? 1 : 2) {
			int nx = x + ring_dx[k], ny = y + ring_dy[k];
			if (nx < 0 || ny < 0 || nx >= w || ny >= h)
				continue;
			int j = ny * w + nx;
			if (!seen[j] && grid[j] == v) {
				seen[j] = 1;
				stack[top++] = j;
			}
		}
	}
	return n;
}

/*
 * Components of value V (connectivity CONN8) smaller than MIN_SIZE, and not
 * touching the edge unless EDGE_TOO, take the value 1 - V.
 */
static void
flip_small(uint8_t *grid, int w, int h, uint8_t v, gboolean conn8, int min_size, gboolean edge_too)
{
	size_t n = (size_t)w * h;
	uint8_t *seen = g_new0(uint8_t, n);
	int *stack = g_new(int, n);
	for (size_t i = 0; i < n; i++) {
		if (seen[i] || grid[i] != v)
			continue;
		gboolean edge;
		int size = component(grid, w, h, (int)i, conn8, seen, stack, &edge);
		if (size < min_size && (edge_too || !edge))
			for (int k = 0; k < size; k++)
				grid[stack[k]] = (uint8_t)(1 - v);
	}
	g_free(seen);
	g_free(stack);
}

/* ---- 3. segmentation ---- */

static int
dist_at(const Ctx *c, int x, int y)
{
	if (x < 0 || y < 0 || x >= c->w || y >= c->h)
		return 0;
	return c->dist[(size_t)y * c->w + x];
}

/* Chamfer 3-4 distance to the nearest background pixel (or the outside). */
static void
distance_to_background(Ctx *c)
{
	for (int y = 0; y < c->h; y++)
		for (int x = 0; x < c->w; x++) {
			size_t i = (size_t)y * c->w + x;
			if (!c->mask[i]) {
				c->dist[i] = 0;
				continue;
			}
			int d = MIN(dist_at(c, x - 1, y) + 3, dist_at(c, x, y - 1) + 3);
			d = MIN(d, dist_at(c, x - 1, y - 1) + 4);
			c->dist[i] = MIN(d, dist_at(c, x + 1, y - 1) + 4);
		}
	for (int y = c->h - 1; y >= 0; y--)
		for (int x = c->w - 1; x >= 0; x--) {
			size_t i = (size_t)y * c->w + x;
			if (!c->mask[i])
				continue;
			int d = MIN(dist_at(c, x + 1, y) + 3, dist_at(c, x, y + 1) + 3);
			d = MIN(d, dist_at(c, x + 1, y + 1) + 4);
			d = MIN(d, dist_at(c, x - 1, y + 1) + 4);
			c->dist[i] = MIN(c->dist[i], d);
		}
}

static double
segment(Ctx *c)
{
	int nbx = (c->w + BLOCK - 1) / BLOCK, nby = (c->h + BLOCK - 1) / BLOCK;
	uint8_t *blocks = g_new0(uint8_t, (size_t)nbx * nby);
	for (int by = 0; by < nby; by++)
		for (int bx = 0; bx < nbx; bx++) {
			int fg = 0, all = 0;
			for (int y = by * BLOCK; y < MIN(c->h, (by + 1) * BLOCK); y++)
				for (int x = bx * BLOCK; x < MIN(c->w, (bx + 1) * BLOCK); x++) {
					size_t i = (size_t)y * c->w + x;
					fg += c->std[i] >= SEG_MIN_STD &&
					      c->coh[i] >= SEG_MIN_COHERENCE;
					all++;
				}
			blocks[by * nbx + bx] = 2 * fg >= all;
		}
	flip_small(blocks, nbx, nby, 1, FALSE, MIN_FG_BLOCKS, TRUE);
	flip_small(blocks, nbx, nby, 0, FALSE, MAX_HOLE_BLOCKS + 1, FALSE);

	size_t fg = 0;
	for (int y = 0; y < c->h; y++)
		for (int x = 0; x < c->w; x++) {
			uint8_t m = blocks[(y / BLOCK) * nbx + x / BLOCK];
			c->mask[(size_t)y * c->w + x] = m;
			fg += m;
		}
	g_free(blocks);
	distance_to_background(c);
	return (double)fg / ((double)c->w * c->h);
}

/* ---- 4. enhancement ---- */

/* N_ANGLES kernels of (2 GABOR_RADIUS + 1)^2 taps; kernel K is tuned to
 * ridges whose direction across is K pi / N_ANGLES.  Caller frees. */
static float *
gabor_kernels(void)
{
	const int side = 2 * GABOR_RADIUS + 1, area = side * side;
	float *kernels = g_new(float, (size_t)area *N_ANGLES);
	double *env = g_new(double, area);
	for (int k = 0; k < N_ANGLES; k++) {
		double phi = k * G_PI / N_ANGLES, cs = cos(phi), sn = sin(phi);
		float *kern = kernels + (size_t)k * area;
		double sum = 0, sum_env = 0;
		for (int dy = -GABOR_RADIUS; dy <= GABOR_RADIUS; dy++)
			for (int dx = -GABOR_RADIUS; dx <= GABOR_RADIUS; dx++) {
				int t = (dy + GABOR_RADIUS) * side + dx + GABOR_RADIUS;
				double u = dx * cs + dy * sn, v = -dx * sn + dy * cs;
				env[t] = exp(-0.5 *
					     (u * u / (GABOR_SIGMA_ACROSS * GABOR_SIGMA_ACROSS) +
					      v * v / (GABOR_SIGMA_ALONG * GABOR_SIGMA_ALONG)));
				double g = env[t] * cos(2.0 * G_PI * u / GABOR_PERIOD);
				kern[t] = (float)g;
				sum += g;
				sum_env += env[t];
			}
		/* zero mean: a flat patch gives 0 */
		for (int t = 0; t < area; t++)
			kern[t] -= (float)(env[t] * sum / sum_env);
	}
	g_free(env);
	return kernels;
}

/* The filter KERN at (X, Y).  Four partial sums break the chain of
 * dependent additions, which the compiler may not reorder by itself. */
static float
gabor_at(const Ctx *c, const float *kern, int x, int y)
{
	const int side = 2 * GABOR_RADIUS + 1;
	float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
	if (x < GABOR_RADIUS || y < GABOR_RADIUS || x >= c->w - GABOR_RADIUS ||
	    y >= c->h - GABOR_RADIUS) {
		for (int dy = 0; dy < side; dy++)
			for (int t = 0; t < side; t++)
				a0 += kern[dy * side + t] *
				      norm_at(c, x + t - GABOR_RADIUS, y + dy - GABOR_RADIUS);
		return a0;
	}
	for (int dy = 0; dy < side; dy++) {
		const float *k = kern + dy * side;
		const float *p =
			c->norm + (size_t)(y + dy - GABOR_RADIUS) * c->w + x - GABOR_RADIUS;
		int t = 0;
		for (; t + 4 <= side; t += 4) {
			a0 += k[t] * p[t];
			a1 += k[t + 1] * p[t + 1];
			a2 += k[t + 2] * p[t + 2];
			a3 += k[t + 3] * p[t + 3];
		}
		for (; t < side; t++)
			a0 += k[t] * p[t];
	}
	return (a0 + a1) + (a2 + a3);
}

static void
enhance(Ctx *c)
{
	const int side = 2 * GABOR_RADIUS + 1;
	float *kernels = gabor_kernels();
	for (int y = 0; y < c->h; y++)
		for (int x = 0; x < c->w; x++) {
			size_t i = (size_t)y * c->w + x;
			c->enh[i] = 0;
			if (!c->mask[i])
				continue;
			int k = (int)lround(c->theta[i] / (G_PI / N_ANGLES)) % N_ANGLES;
			c->enh[i] = gabor_at(c, kernels + (size_t)k * side * side, x, y);
		}
	g_free(kernels);
}

/* ---- 5, 6. binarisation, cleaning and thinning ---- */

/* The 8 neighbours of an interior pixel as bits, bit K = ring position K. */
static unsigned
ring_bits(const uint8_t *s, int w, int x, int y)
{
	unsigned bits = 0;
	for (int k = 0; k < 8; k++)
		if (s[(size_t)(y + ring_dy[k]) * w + x + ring_dx[k]])
			bits |= 1u << k;
	return bits;
}

/* Crossing number: the 0 -> 1 changes going once around the ring. */
static int
crossings(unsigned bits)
{
	int n = 0;
	for (int k = 0; k < 8; k++)
		n += !(bits & (1u << k)) && (bits & (1u << ((k + 1) % 8)));
	return n;
}

static gboolean
zs_deletable(unsigned b, int pass)
{
	int set = __builtin_popcount(b);
	if (set < 2 || set > 6 || crossings(b) != 1)
		return FALSE;
	gboolean n = b & 1, e = b & 4, s = b & 16, w = b & 64;
	if (pass == 0)
		return !(n && e && s) && !(e && s && w);
	return !(n && e && w) && !(n && s && w);
}

/* Zhang & Suen, then the staircase pass (see step 6 at the top). */
static void
thin(uint8_t *s, int w, int h)
{
	GArray *live = g_array_new(FALSE, FALSE, sizeof(int));
	GArray *doomed = g_array_new(FALSE, FALSE, sizeof(int));
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int i = y * w + x;
			if (x == 0 || y == 0 || x == w - 1 || y == h - 1)
				s[i] = 0;
			else if (s[i])
				g_array_append_val(live, i);
		}
	gboolean changed = TRUE;
	while (changed) {
		changed = FALSE;
		for (int pass = 0; pass < 2; pass++) {
			g_array_set_size(doomed, 0);
			for (guint k = 0; k < live->len; k++) {
				int i = g_array_index(live, int, k);
				if (zs_deletable(ring_bits(s, w, i % w, i / w), pass))
					g_array_append_val(doomed, i);
			}
			for (guint k = 0; k < doomed->len; k++)
				s[g_array_index(doomed, int, k)] = 0;
			changed |= doomed->len > 0;
			guint kept = 0;
			for (guint k = 0; k < live->len; k++) {
				int i = g_array_index(live, int, k);
				if (s[i])
					g_array_index(live, int, kept++) = i;
			}
			g_array_set_size(live, kept);
		}
	}
	/* the corner of a staircase: two adjacent 4-neighbours set (bits 0/2,
	 * 2/4, 4/6, 6/0) and the three pixels on the opposite side clear */
	static const unsigned pair[4] = { 0x05, 0x14, 0x50, 0x41 };
	static const unsigned opposite[4] = { 0x70, 0xc1, 0x07, 0x1c };
	for (guint k = 0; k < live->len; k++) {
		int i = g_array_index(live, int, k);
		unsigned b = ring_bits(s, w, i % w, i / w);
		for (int q = 0; q < 4; q++)
			if ((b & pair[q]) == pair[q] && !(b & opposite[q])) {
				s[i] = 0;
				break;
			}
	}
	g_array_free(live, TRUE);
	g_array_free(doomed, TRUE);
}

static void
binarise(Ctx *c)
{
	size_t n = (size_t)c->w * c->h;
	for (size_t i = 0; i < n; i++)
		c->skel[i] = c->mask[i] && c->enh[i] > 0;
	flip_small(c->skel, c->w, c->h, 1, TRUE, MIN_RIDGE_AREA, TRUE);
	flip_small(c->skel, c->w, c->h, 0, FALSE, MIN_HOLE_AREA, TRUE);
	/* a filled hole stays inside the print */
	for (size_t i = 0; i < n; i++)
		c->skel[i] &= c->mask[i];
	thin(c->skel, c->w, c->h);
}

/* ---- 7, 8. detection and direction ---- */

static gboolean
skel_at(const Ctx *c, int x, int y)
{
	return x > 0 && y > 0 && x < c->w - 1 && y < c->h - 1 && c->skel[(size_t)y * c->w + x];
}

static gboolean
in_path(const int *path, int n, int x, int y)
{
	for (int k = 0; k < n; k++)
		if (path[2 * k] == x && path[2 * k + 1] == y)
			return TRUE;
	return FALSE;
}

/*
 * Follows the skeleton from (X0, Y0) through its neighbour (SX, SY) for at
 * most TRACE_LEN pixels, never through the pixels of AVOID (N_AVOID (x, y)
 * pairs: the minutia's other branches).  Junctions within JUNCTION_MERGE of
 * the start belong to the minutia itself and do not stop the walk.
 */
static Branch
trace(const Ctx *c, int x0, int y0, int sx, int sy, const int *avoid, int n_avoid)
{
	int path[2 * (TRACE_LEN + 12)];
	int n = 0;
	path[n * 2] = x0;
	path[n++ * 2 + 1] = y0;
	for (int k = 0; k < n_avoid; k++) {
		path[n * 2] = avoid[2 * k];
		path[n++ * 2 + 1] = avoid[2 * k + 1];
	}
	int x = sx, y = sy;
	Branch br = { .len = 1, .stop = STOP_LONG };
	for (;;) {
		path[n * 2] = x;
		path[n++ * 2 + 1] = y;
		br.ex = x;
		br.ey = y;
		unsigned bits = ring_bits(c->skel, c->w, x, y);
		if (MAX(abs(x - x0), abs(y - y0)) > JUNCTION_MERGE && crossings(bits) >= 3) {
			br.stop = STOP_JUNCTION;
			return br;
		}
		if (br.len >= TRACE_LEN)
			return br;
		int next = -1;
		for (int pref = 0; pref < 2 && next < 0; pref++)
			for (int k = pref; k < 8; k += 2) {
				int nx = x + ring_dx[k], ny = y + ring_dy[k];
				if ((bits & (1u << k)) && skel_at(c, nx, ny) &&
				    !in_path(path, n, nx, ny)) {
					next = k;
					break;
				}
			}
		if (next < 0) {
			br.stop = STOP_END;
			return br;
		}
		x += ring_dx[next];
		y += ring_dy[next];
		br.len++;
	}
}

/* The branches of the skeleton at a candidate: one run of set neighbours
 * per branch, each started at its 4-neighbour when it has one. */
static void
trace_branches(const Ctx *c, Cand *m)
{
	unsigned bits = ring_bits(c->skel, c->w, m->x, m->y);
	int starts[3], n_starts = 0, nbrs[16], n_nbrs = 0;
	for (int k = 0; k < 8; k++)
		if (bits & (1u << k)) {
			nbrs[2 * n_nbrs] = m->x + ring_dx[k];
			nbrs[2 * n_nbrs++ + 1] = m->y + ring_dy[k];
		}
	/* a run starts at a set position whose predecessor is clear */
	for (int k = 0; k < 8 && n_starts < 3; k++) {
		if (!(bits & (1u << k)) || (bits & (1u << ((k + 7) % 8))))
			continue;
		int pick = k;
		for (int j = k; j < k + 8 && (bits & (1u << (j % 8))); j++)
			if ((j % 8) % 2 == 0) {
				pick = j % 8;
				break;
			}
		starts[n_starts++] = pick;
	}
	m->n_br = n_starts;
	for (int b = 0; b < n_starts; b++) {
		int sx = m->x + ring_dx[starts[b]], sy = m->y + ring_dy[starts[b]];
		/* avoid every other neighbour of the minutia */
		int avoid[16], n_avoid = 0;
		for (int k = 0; k < n_nbrs; k++)
			if (nbrs[2 * k] != sx || nbrs[2 * k + 1] != sy) {
				avoid[2 * n_avoid] = nbrs[2 * k];
				avoid[2 * n_avoid++ + 1] = nbrs[2 * k + 1];
			}
		m->br[b] = trace(c, m->x, m->y, sx, sy, avoid, n_avoid);
	}
}

/* Step 8: the rough direction from the rays, then the orientation field. */
static void
set_direction(const Ctx *c, Cand *m)
{
	double vx[3] = { 0 }, vy[3] = { 0 };
	for (int b = 0; b < m->n_br; b++) {
		double dx = m->br[b].ex - m->x, dy = m->br[b].ey - m->y, len = hypot(dx, dy);
		vx[b] = len > 0 ? dx / len : 0;
		vy[b] = len > 0 ? dy / len : 0;
	}
	double rx = vx[0], ry = vy[0];
	if (m->n_br == 3) {
		int bi = 0, bj = 1;
		double best = -2;
		for (int i = 0; i < 3; i++)
			for (int j = i + 1; j < 3; j++) {
				double dot = vx[i] * vx[j] + vy[i] * vy[j];
				if (dot > best) {
					best = dot;
					bi = i;
					bj = j;
				}
			}
		rx = vx[bi] + vx[bj];
		ry = vy[bi] + vy[bj];
	}
	double ray = atan2(ry, rx);
	double along = c->theta[(size_t)m->y * c->w + m->x] + G_PI / 2;
	double diff = wrap_pi(along - ray);
	if (fabs(diff) > G_PI / 2) {
		along += G_PI;
		diff = wrap_pi(along - ray);
	}
	m->angle = fabs(diff) <= SNAP_MAX ? along : ray;
}

static void
detect(const Ctx *c, GArray *cands)
{
	for (int y = 1; y < c->h - 1; y++)
		for (int x = 1; x < c->w - 1; x++) {
			if (!c->skel[(size_t)y * c->w + x])
				continue;
			int cn = crossings(ring_bits(c->skel, c->w, x, y));
			if (cn != 1 && cn != 3)
				continue;
			if (cn == 3) {
				gboolean merged = FALSE;
				for (guint k = cands->len; k-- > 0 && !merged;) {
					const Cand *o = &g_array_index(cands, Cand, k);
					if (o->y < y - JUNCTION_MERGE)
						break;
					merged = o->type == MINUTIA_BIFURCATION &&
						 abs(o->x - x) <= JUNCTION_MERGE;
				}
				if (merged)
					continue;
			}
			Cand m = { .x = x, .y = y };
			m.type = cn == 1 ? MINUTIA_RIDGE_ENDING : MINUTIA_BIFURCATION;
			g_array_append_val(cands, m);
		}
	for (guint k = 0; k < cands->len; k++) {
		Cand *m = &g_array_index(cands, Cand, k);
		trace_branches(c, m);
		set_direction(c, m);
	}
}

/* ---- 9. false minutiae ---- */

/* The live candidate of TYPE nearest to (X, Y) within R px, or NULL. */
static Cand *
find_near(GArray *cands, const Cand *self, MinutiaType type, int x, int y, double r)
{
	Cand *best = NULL;
	double best_d = r;
	for (guint k = 0; k < cands->len; k++) {
		Cand *o = &g_array_index(cands, Cand, k);
		if (o == self || o->dropped || o->type != type)
			continue;
		double d = hypot(o->x - x, o->y - y);
		if (d <= best_d) {
			best_d = d;
			best = o;
		}
	}
	return best;
}

/* Drops M and, if not NULL, OTHER; adds how many went to *COUNT. */
static void
drop_pair(Cand *m, Cand *other, int *count)
{
	m->dropped = TRUE;
	(*count)++;
	if (other && !other->dropped) {
		other->dropped = TRUE;
		(*count)++;
	}
}

/* Whether two endings face each other across a gap of their ridge. */
static gboolean
facing(const Cand *a, const Cand *b)
{
	double ab = atan2(b->y - a->y, b->x - a->x);
	/* each one's direction points into its ridge, away from the gap */
	return fabs(wrap_pi(a->angle - (ab + G_PI))) <= BREAK_ANGLE &&
	       fabs(wrap_pi(b->angle - ab)) <= BREAK_ANGLE;
}

static void
remove_false(const Ctx *c, GArray *cands, MinutiaeStats *st)
{
	for (guint k = 0; k < cands->len; k++) {
		Cand *m = &g_array_index(cands, Cand, k);
		if (dist_at(c, m->x, m->y) < 3 * BORDER_PX)
			drop_pair(m, NULL, &st->removed_border);
	}
	for (guint k = 0; k < cands->len; k++) {
		Cand *m = &g_array_index(cands, Cand, k);
		const Branch *br = &m->br[0];
		if (m->dropped || m->type != MINUTIA_RIDGE_ENDING || br->stop != STOP_JUNCTION ||
		    br->len > SPUR_LEN)
			continue;
		drop_pair(m, find_near(cands, m, MINUTIA_BIFURCATION, br->ex, br->ey, 3.0),
			  &st->removed_spur);
	}
	for (guint k = 0; k < cands->len; k++) {
		Cand *m = &g_array_index(cands, Cand, k);
		for (int b = 0; b < m->n_br && !m->dropped; b++) {
			const Branch *br = &m->br[b];
			if (m->type != MINUTIA_BIFURCATION || br->stop != STOP_JUNCTION ||
			    br->len > BRIDGE_LEN)
				continue;
			Cand *o = find_near(cands, m, MINUTIA_BIFURCATION, br->ex, br->ey, 3.0);
			if (o)
				drop_pair(m, o, &st->removed_bridge);
		}
	}
	for (guint k = 0; k < cands->len; k++) {
		Cand *m = &g_array_index(cands, Cand, k);
		const Branch *br = &m->br[0];
		if (m->dropped || m->type != MINUTIA_RIDGE_ENDING || br->stop != STOP_END ||
		    br->len > SHORT_LEN)
			continue;
		drop_pair(m, find_near(cands, m, MINUTIA_RIDGE_ENDING, br->ex, br->ey, 2.0),
			  &st->removed_short);
	}
	for (guint i = 0; i < cands->len; i++) {
		Cand *a = &g_array_index(cands, Cand, i);
		for (guint j = i + 1; j < cands->len && !a->dropped; j++) {
			Cand *b = &g_array_index(cands, Cand, j);
			if (b->dropped || a->type != MINUTIA_RIDGE_ENDING ||
			    b->type != MINUTIA_RIDGE_ENDING ||
			    hypot(a->x - b->x, a->y - b->y) > BREAK_DIST || !facing(a, b))
				continue;
			drop_pair(a, b, &st->removed_break);
		}
	}
	for (guint i = 0; i < cands->len; i++) {
		Cand *a = &g_array_index(cands, Cand, i);
		for (guint j = i + 1; j < cands->len && !a->dropped; j++) {
			Cand *b = &g_array_index(cands, Cand, j);
			if (!b->dropped && hypot(a->x - b->x, a->y - b->y) < CLOSE_DIST)
				drop_pair(a, b, &st->removed_close);
		}
	}
}

/* ---- 10. quality ---- */

static int
quality(const Ctx *c, const Cand *m)
{
	size_t i = (size_t)m->y * c->w + m->x;
	double coh = clamp01((c->coh[i] - Q_COHERENCE_LO) / (Q_COHERENCE_HI - Q_COHERENCE_LO));
	double contrast = fmin(1.0, c->std[i] / Q_CONTRAST_FULL);
	double border =
		0.5 + 0.5 * clamp01((dist_at(c, m->x, m->y) / 3.0 - BORDER_PX) / (2.0 * BORDER_PX));
	int full = 0;
	for (int b = 0; b < m->n_br; b++)
		full += m->br[b].stop == STOP_LONG;
	double structure = 0.6 + 0.4 * (m->n_br ? (double)full / m->n_br : 0.0);
	int q = (int)lround(100.0 * coh * contrast * border * structure);
	return CLAMP(q, 1, 100);
}

/* ---- the whole ---- */

/* Row by row, then left to right. */
static gint
by_position(gconstpointer pa, gconstpointer pb)
{
	const Minutia *a = pa, *b = pb;
	if (a->y != b->y)
		return a->y < b->y ? -1 : 1;
	return (a->x > b->x) - (a->x < b->x);
}

static gboolean
check_input(const MinutiaeImage *img, GError **error)
{
	if (!img || !img->pixels) {
		g_set_error(error, MINUTIAE_ERROR, MINUTIAE_ERROR_INPUT, "no image");
		return FALSE;
	}
	if (img->width < MIN_SIDE || img->height < MIN_SIDE || img->width > MAX_SIDE ||
	    img->height > MAX_SIDE) {
		g_set_error(error, MINUTIAE_ERROR, MINUTIAE_ERROR_INPUT,
			    "image size %dx%d outside %d..%d px", img->width, img->height, MIN_SIDE,
			    MAX_SIDE);
		return FALSE;
	}
	if (img->ppi < MIN_PPI || img->ppi > MAX_PPI) {
		g_set_error(error, MINUTIAE_ERROR, MINUTIAE_ERROR_INPUT,
			    "resolution %d ppi outside %d..%d (resample to 500 ppi first)",
			    img->ppi, MIN_PPI, MAX_PPI);
		return FALSE;
	}
	return TRUE;
}

GArray *
minutiae_extract(const MinutiaeImage *img, MinutiaeStats *stats, GError **error)
{
	if (!check_input(img, error))
		return NULL;

	size_t n = (size_t)img->width * img->height;
	Ctx c = {
		.w = img->width,
		.h = img->height,
		.norm = g_new(float, n),
		.std = g_new(float, n),
		.theta = g_new(float, n),
		.coh = g_new(float, n),
		.mask = g_new(uint8_t, n),
		.dist = g_new(int, n),
		.enh = g_new(float, n),
		.skel = g_new(uint8_t, n),
	};
	MinutiaeStats st = { 0 };
	GArray *cands = g_array_new(FALSE, FALSE, sizeof(Cand));
	GArray *out = g_array_new(FALSE, FALSE, sizeof(Minutia));

	normalise(&c, img->pixels);
	orientation(&c);
	st.foreground = segment(&c);
	enhance(&c);
	binarise(&c);
	detect(&c, cands);
	st.candidates = (int)cands->len;
	remove_false(&c, cands, &st);

	for (guint k = 0; k < cands->len; k++) {
		const Cand *m = &g_array_index(cands, Cand, k);
		if (m->dropped)
			continue;
		/* image angles turn clockwise as seen (y down); ISO's turn the other way */
		double a = fmod(-m->angle, 2.0 * G_PI);
		if (a < 0)
			a += 2.0 * G_PI;
		if (a >= 2.0 * G_PI - 1e-9) /* a rounding step below a full turn */
			a = 0;
		double x = m->x, y = m->y;
		if (m->type == MINUTIA_RIDGE_ENDING) {
			x -= ENDING_BACK * cos(m->angle);
			y -= ENDING_BACK * sin(m->angle);
		}
		Minutia out_m = {
			.x = CLAMP((int)lround(x), 0, c.w - 1),
			.y = CLAMP((int)lround(y), 0, c.h - 1),
			.angle = a,
			.type = m->type,
			.quality = quality(&c, m),
		};
		g_array_append_val(out, out_m);
	}
	g_array_sort(out, by_position);
	st.kept = (int)out->len;
	if (stats)
		*stats = st;

	g_array_free(cands, TRUE);
	g_free(c.norm);
	g_free(c.std);
	g_free(c.theta);
	g_free(c.coh);
	g_free(c.mask);
	g_free(c.dist);
	g_free(c.enh);
	g_free(c.skel);
	return out;
}
