/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the synthetic fingerprint (drivers/sim/synth_finger.c): the
 * image is the documented size and format and a pure function of seed and
 * position; bad arguments are refused; lower quality lowers the contrast; the
 * minutiae are in range, inside the print and apart.
 *
 * Ground truth is checked on the image itself, not on the generator's model:
 *   - phase winding: around a circle of radius 6 px the ridge pattern is
 *     demodulated to a phase (grey level against its derivative across the
 *     local ridge orientation, the quadrature idea of Larkin & Fletcher
 *     2007) and the phase's turns are counted.  A ridge ending or a
 *     bifurcation inside the circle makes exactly one turn; ordinary flow
 *     makes none.  (Counting ridge crossings on the binarised circle is not
 *     robust: a ridge that only grazes the circle flips the parity at any
 *     point, so the phase turns are counted instead.)  At least 80 % of the
 *     minutiae must show a turn and at most 10 % of random points in clean
 *     flow away from them.
 *   - type and angle: on the clean image, 5 px ahead of a ridge ending
 *     (along its ISO angle) lies a ridge's centre (darker than 100) and 5 px
 *     behind it a valley's (lighter than 160); for a bifurcation it is the
 *     other way round.  At least 80 % must agree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <math.h>
#include <string.h>

#include "drivers/sim/synth.h"

#define W 400
#define H 500

static const guint32 seeds[] = { 1, 7, 42, 1234, 99999 };
static const int positions[] = { 1, 3, 5, 7, 10 };
#define N_CASES G_N_ELEMENTS(seeds)

typedef struct {
	HalImage img;
	GArray *minutiae;
} Print;

static void
print_make(Print *p, guint32 seed, int position, double quality)
{
	memset(&p->img, 0, sizeof p->img);
	p->minutiae = g_array_new(FALSE, FALSE, sizeof(SynthMinutia));
	assert_int_equal(synth_fingerprint(seed, position, quality, &p->img, p->minutiae), 0);
	assert_non_null(p->img.pixels);
}

static void
print_clear(Print *p)
{
	g_free(p->img.pixels);
	g_array_free(p->minutiae, TRUE);
}

static const SynthMinutia *
minutia(const Print *p, guint i)
{
	return &g_array_index(p->minutiae, SynthMinutia, i);
}

static gboolean
same_minutiae(const Print *a, const Print *b)
{
	if (a->minutiae->len != b->minutiae->len)
		return FALSE;
	for (guint i = 0; i < a->minutiae->len; i++) {
		const SynthMinutia *m = minutia(a, i), *n = minutia(b, i);
		if (m->x != n->x || m->y != n->y || m->angle != n->angle || m->type != n->type)
			return FALSE;
	}
	return TRUE;
}

/* ---- image helpers ---- */

static double
pixel(const HalImage *img, int x, int y)
{
	x = CLAMP(x, 0, img->width - 1);
	y = CLAMP(y, 0, img->height - 1);
	return img->pixels[y * img->width + x];
}

static double
bilinear(const HalImage *img, double x, double y)
{
	int x0 = (int)floor(x), y0 = (int)floor(y);
	double tx = x - x0, ty = y - y0;
	double top = pixel(img, x0, y0) * (1 - tx) + pixel(img, x0 + 1, y0) * tx;
	double bottom = pixel(img, x0, y0 + 1) * (1 - tx) + pixel(img, x0 + 1, y0 + 1) * tx;
	return top * (1 - ty) + bottom * ty;
}

static double
region_std(const HalImage *img, int x0, int y0, int w, int h)
{
	double sum = 0, sum2 = 0, n = (double)w * h;
	for (int y = y0; y < y0 + h; y++)
		for (int x = x0; x < x0 + w; x++) {
			double v = pixel(img, x, y);
			sum += v;
			sum2 += v * v;
		}
	return sqrt(fmax(0, sum2 / n - (sum / n) * (sum / n)));
}

typedef struct {
	double nx, ny;    /* unit vector across the ridges */
	double coherence; /* 0..1 */
	double mean, std; /* grey level */
} Neighbourhood;

/* Structure tensor of central-difference gradients in a (2R+1)^2 window. */
static Neighbourhood
neighbourhood(const HalImage *img, int cx, int cy, int r)
{
	double gxx = 0, gyy = 0, gxy = 0;
	for (int y = cy - r; y <= cy + r; y++)
		for (int x = cx - r; x <= cx + r; x++) {
			double gx = (pixel(img, x + 1, y) - pixel(img, x - 1, y)) / 2;
			double gy = (pixel(img, x, y + 1) - pixel(img, x, y - 1)) / 2;
			gxx += gx * gx;
			gyy += gy * gy;
			gxy += gx * gy;
		}
	double theta = 0.5 * atan2(2 * gxy, gxx - gyy);
	Neighbourhood nb = { .nx = cos(theta), .ny = sin(theta) };
	nb.coherence = gxx + gyy > 0 ? hypot(gxx - gyy, 2 * gxy) / (gxx + gyy) : 0;
	double sum = 0, n = (2.0 * r + 1) * (2.0 * r + 1);
	for (int y = cy - r; y <= cy + r; y++)
		for (int x = cx - r; x <= cx + r; x++)
			sum += pixel(img, x, y);
	nb.mean = sum / n;
	nb.std = region_std(img, cx - r, cy - r, 2 * r + 1, 2 * r + 1);
	return nb;
}

static double
wrap(double a)
{
	return atan2(sin(a), cos(a));
}

/* Turns of the demodulated ridge phase around a circle of radius 6 px. */
static int
phase_winding(const HalImage *img, double cx, double cy)
{
	const int samples = 72;
	const double r = 6.0, k = 2 * G_PI / 9.0; /* ridge wavenumber at 500 ppi */
	Neighbourhood nb = neighbourhood(img, (int)lround(cx), (int)lround(cy), 8);
	double prev = 0, total = 0;
	for (int i = 0; i <= samples; i++) {
		double t = 2 * G_PI * i / samples;
		double x = cx + r * cos(t), y = cy + r * sin(t);
		double v = bilinear(img, x, y) - nb.mean;
		double d = (bilinear(img, x + nb.nx, y + nb.ny) -
			    bilinear(img, x - nb.nx, y - nb.ny)) / 2;
		double phi = atan2(-d / k, v);
		if (i > 0)
			total += wrap(phi - prev);
		prev = phi;
	}
	return (int)lround(total / (2 * G_PI));
}

/* The 3x3 mean grey around (X, Y). */
static double
mean3(const HalImage *img, double x, double y)
{
	double sum = 0;
	for (int dy = -1; dy <= 1; dy++)
		for (int dx = -1; dx <= 1; dx++)
			sum += bilinear(img, x + dx, y + dy);
	return sum / 9;
}

/* Binarised with a dead band: a ridge centre is darker than 100, a valley
 * centre lighter than 160, and anything between counts as neither, so a
 * minutia that sits between ridge and valley phase fails. */
static gboolean
type_and_angle_agree(const HalImage *img, const SynthMinutia *m)
{
	const double d = 5.0;
	double ux = cos(m->angle), uy = -sin(m->angle); /* image y points down */
	double ahead = mean3(img, m->x + d * ux, m->y + d * uy);
	double behind = mean3(img, m->x - d * ux, m->y - d * uy);
	if (m->type == SYNTH_RIDGE_ENDING)
		return ahead < 100 && behind > 160;
	return ahead > 160 && behind < 100;
}

static double
nearest_minutia(const Print *p, double x, double y)
{
	double best = G_MAXDOUBLE;
	for (guint i = 0; i < p->minutiae->len; i++)
		best = fmin(best, hypot(x - minutia(p, i)->x, y - minutia(p, i)->y));
	return best;
}

/* ---- tests ---- */

static void
test_format(void **state)
{
	(void)state;
	Print p;
	print_make(&p, 5, 3, 1.0);
	assert_int_equal(p.img.width, W);
	assert_int_equal(p.img.height, H);
	assert_int_equal(p.img.channels, 1);
	assert_int_equal(p.img.ppi, 500);
	assert_int_equal(p.img.position, 3);
	/* a light platen around the print, dark ridges inside it */
	assert_true(pixel(&p.img, 2, 2) > 200);
	assert_true(pixel(&p.img, W - 3, H - 3) > 200);
	Neighbourhood centre = neighbourhood(&p.img, W / 2, H / 2, 20);
	assert_true(centre.std > 40);
	print_clear(&p);
}

static void
test_deterministic(void **state)
{
	(void)state;
	Print a, b, c;
	print_make(&a, 42, 2, 0.6);
	print_make(&b, 42, 2, 0.6);
	print_make(&c, 43, 2, 0.6);
	assert_memory_equal(a.img.pixels, b.img.pixels, W * H);
	assert_true(same_minutiae(&a, &b));
	int differ = 0;
	for (int i = 0; i < W * H; i++)
		differ += a.img.pixels[i] != c.img.pixels[i];
	assert_true(differ > W * H / 10);
	print_clear(&a);
	print_clear(&b);
	print_clear(&c);
}

/* The ridges and minutiae depend on seed and position, not on quality. */
static void
test_quality_keeps_ground_truth(void **state)
{
	(void)state;
	Print clean, poor;
	print_make(&clean, 9, 4, 1.0);
	print_make(&poor, 9, 4, 0.3);
	assert_true(same_minutiae(&clean, &poor));
	print_clear(&clean);
	print_clear(&poor);
}

static void
test_bad_arguments(void **state)
{
	(void)state;
	HalImage img = { 0 };
	GArray *m = g_array_new(FALSE, FALSE, sizeof(SynthMinutia));
	GArray *wrong = g_array_new(FALSE, FALSE, sizeof(int));
	assert_int_equal(synth_fingerprint(1, 0, 1.0, &img, m), -1);
	assert_int_equal(synth_fingerprint(1, 11, 1.0, &img, m), -1);
	assert_int_equal(synth_fingerprint(1, -3, 1.0, &img, m), -1);
	assert_int_equal(synth_fingerprint(1, 1, -0.01, &img, m), -1);
	assert_int_equal(synth_fingerprint(1, 1, 1.01, &img, m), -1);
	assert_int_equal(synth_fingerprint(1, 1, NAN, &img, m), -1);
	assert_int_equal(synth_fingerprint(1, 1, 1.0, NULL, m), -1);
	assert_int_equal(synth_fingerprint(1, 1, 1.0, &img, wrong), -1);
	assert_null(img.pixels);
	assert_int_equal(m->len, 0);
	/* the limits themselves are fine, and MINUTIAE may be NULL */
	assert_int_equal(synth_fingerprint(1, 10, 0.0, &img, NULL), 0);
	g_free(img.pixels);
	g_array_free(m, TRUE);
	g_array_free(wrong, TRUE);
}

static void
test_low_quality_lowers_contrast(void **state)
{
	(void)state;
	Print clean, poor;
	print_make(&clean, 77, 6, 1.0);
	print_make(&poor, 77, 6, 0.2);
	double s_clean = region_std(&clean.img, 120, 150, 160, 200);
	double s_poor = region_std(&poor.img, 120, 150, 160, 200);
	print_message("# centre std dev: quality 1.0 %.1f, quality 0.2 %.1f\n", s_clean, s_poor);
	assert_true(s_clean > 50);
	assert_true(s_poor < 0.6 * s_clean);
	assert_memory_not_equal(clean.img.pixels, poor.img.pixels, W * H);
	print_clear(&clean);
	print_clear(&poor);
}

static void
check_layout(const Print *p)
{
	guint n = p->minutiae->len;
	assert_in_range(n, 25, 45);
	int endings = 0;
	for (guint i = 0; i < n; i++) {
		const SynthMinutia *m = minutia(p, i);
		assert_true(m->x >= 20 && m->x <= W - 20 && m->y >= 20 && m->y <= H - 20);
		assert_true(m->angle >= 0 && m->angle < 2 * G_PI);
		assert_true(m->type == SYNTH_RIDGE_ENDING || m->type == SYNTH_BIFURCATION);
		endings += m->type == SYNTH_RIDGE_ENDING;
		/* inside the print: ridges all around, not the bare platen */
		Neighbourhood nb = neighbourhood(&p->img, (int)m->x, (int)m->y, 10);
		assert_true(nb.std > 40);
		for (guint j = i + 1; j < n; j++)
			assert_true(hypot(m->x - minutia(p, j)->x, m->y - minutia(p, j)->y) >= 15);
	}
	/* both kinds occur */
	assert_true(endings > 0 && endings < (int)n);
}

static void
test_minutiae_layout(void **state)
{
	(void)state;
	for (guint c = 0; c < N_CASES; c++) {
		Print p;
		print_make(&p, seeds[c], positions[c], 1.0);
		check_layout(&p);
		print_clear(&p);
	}
}

/* No bare platen within R px: the winding test's window stays in the print. */
static gboolean
deep_inside(const HalImage *img, int cx, int cy, int r)
{
	for (int y = cy - r; y <= cy + r; y++)
		for (int x = cx - r; x <= cx + r; x++)
			if (pixel(img, x, y) > 235)
				return FALSE;
	return TRUE;
}

/* Random points in clean ridge flow, well inside the print and at least
 * 16 px from every minutia. */
static int
count_random_windings(const Print *p, GRand *rand, int want, int *tried)
{
	int found = 0;
	*tried = 0;
	for (int attempts = 0; attempts < 20000 && *tried < want; attempts++) {
		double x = g_rand_double_range(rand, 20, W - 20);
		double y = g_rand_double_range(rand, 20, H - 20);
		if (nearest_minutia(p, x, y) < 16)
			continue;
		Neighbourhood nb = neighbourhood(&p->img, (int)lround(x), (int)lround(y), 8);
		if (nb.std < 40 || nb.coherence < 0.5 ||
		    !deep_inside(&p->img, (int)lround(x), (int)lround(y), 16))
			continue;
		(*tried)++;
		found += phase_winding(&p->img, x, y) != 0;
	}
	return found;
}

static void
test_minutiae_are_in_the_ridges(void **state)
{
	(void)state;
	GRand *rand = g_rand_new_with_seed(2024);
	int minutiae = 0, wound = 0, agreed = 0, points = 0, false_wound = 0;
	for (guint c = 0; c < N_CASES; c++) {
		Print p;
		print_make(&p, seeds[c], positions[c], 1.0);
		for (guint i = 0; i < p.minutiae->len; i++) {
			const SynthMinutia *m = minutia(&p, i);
			minutiae++;
			wound += abs(phase_winding(&p.img, m->x, m->y)) == 1;
			agreed += type_and_angle_agree(&p.img, m);
		}
		int tried;
		false_wound += count_random_windings(&p, rand, 200, &tried);
		points += tried;
		print_clear(&p);
	}
	g_rand_free(rand);
	print_message("# minutiae with one phase turn: %d/%d; type and angle agree: %d/%d; "
		      "random points with a turn: %d/%d\n",
		      wound, minutiae, agreed, minutiae, false_wound, points);
	assert_true(points >= 500);
	assert_true(wound >= 0.8 * minutiae);
	assert_true(agreed >= 0.8 * minutiae);
	assert_true(false_wound <= 0.1 * points);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_quality_keeps_ground_truth),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_low_quality_lowers_contrast),
		cmocka_unit_test(test_minutiae_layout),
		cmocka_unit_test(test_minutiae_are_in_the_ridges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
