/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the simulators' eye, portrait and signature synthesis
 * (drivers/sim/synth_iris.c, synth_face.c): each image is repeatable from its
 * seed and differs between seeds, has the promised size and channels, and
 * matches the ground truth it reports (dark pupil centre, mid-grey iris ring,
 * bright sclera; pupil nasal of the iris centre, mirrored between the eyes);
 * quality lowers the contrast but keeps the geometry; portraits sit on the
 * requested background with an ICAO-like head; signatures are one connected
 * dark stroke with white margins; bad arguments are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/sim/synth.h"

/* Mean of the (2 HALF + 1)^2 pixels of a grey image around (X, Y). */
static double
grey_mean(const HalImage *img, double x, double y, int half)
{
	int cx = (int)lround(x), cy = (int)lround(y);
	double sum = 0.0;
	int n = 0;
	for (int j = cy - half; j <= cy + half; j++)
		for (int i = cx - half; i <= cx + half; i++) {
			assert_true(i >= 0 && j >= 0 && i < img->width && j < img->height);
			sum += img->pixels[(gsize)j * img->width + i];
			n++;
		}
	return sum / n;
}

static gsize
image_bytes(const HalImage *img)
{
	return (gsize)img->width * img->height * img->channels;
}

static void
test_iris_size_and_determinism(void **state)
{
	(void)state;
	static const guint32 seeds[] = { 1, 7, 123456789 };
	for (gsize i = 0; i < G_N_ELEMENTS(seeds); i++) {
		HalImage a, b;
		SynthIrisGeometry ga, gb;
		assert_int_equal(synth_iris(seeds[i], 1, 0.8, &a, &ga), 0);
		assert_int_equal(synth_iris(seeds[i], 1, 0.8, &b, &gb), 0);
		assert_int_equal(a.width, 640);
		assert_int_equal(a.height, 480);
		assert_int_equal(a.channels, 1);
		assert_int_equal(a.position, 1);
		assert_memory_equal(a.pixels, b.pixels, image_bytes(&a));
		assert_memory_equal(&ga, &gb, sizeof ga);

		HalImage c;
		assert_int_equal(synth_iris(seeds[i] + 1, 1, 0.8, &c, NULL), 0);
		assert_true(memcmp(a.pixels, c.pixels, image_bytes(&a)) != 0);
		g_free(a.pixels);
		g_free(b.pixels);
		g_free(c.pixels);
	}
}

static void
test_iris_geometry_matches_image(void **state)
{
	(void)state;
	for (guint32 seed = 1; seed <= 6; seed++)
		for (int eye = 1; eye <= 2; eye++) {
			HalImage img;
			SynthIrisGeometry g;
			assert_int_equal(synth_iris(seed, eye, 1.0, &img, &g), 0);
			assert_int_equal(img.position, eye);
			assert_true(g.pupil_r >= 25.0 && g.pupil_r <= 45.0);
			assert_true(g.iris_r >= 100.0 && g.iris_r <= 125.0);
			double ratio = g.pupil_r / g.iris_r;
			assert_true(ratio >= 0.2 && ratio <= 0.5);
			/* The pupil lies inside the iris. */
			assert_true(hypot(g.pupil_x - g.iris_x, g.pupil_y - g.iris_y) + g.pupil_r <
				    g.iris_r);

			double pupil = grey_mean(&img, g.pupil_x, g.pupil_y, 1);
			assert_true(pupil < 45.0);
			for (int side = -1; side <= 1; side += 2) {
				double mid = 0.5 * (g.pupil_r + g.iris_r);
				double ring = grey_mean(&img, g.pupil_x + side * mid, g.pupil_y, 2);
				double sclera = grey_mean(&img, g.iris_x + side * (g.iris_r + 15.0),
							  g.iris_y, 1);
				assert_true(ring > 50.0 && ring < 175.0);
				assert_true(sclera > 160.0);
				assert_true(ring > pupil + 25.0);
				assert_true(sclera > ring + 25.0);
			}
			/* Just outside the pupil's edge is iris, just inside it pupil. */
			double below_in =
				grey_mean(&img, g.pupil_x, g.pupil_y + g.pupil_r - 4.0, 1);
			double below_out =
				grey_mean(&img, g.pupil_x, g.pupil_y + g.pupil_r + 4.0, 1);
			assert_true(below_in < 45.0);
			assert_true(below_out > below_in + 20.0);
			g_free(img.pixels);
		}
}

/* The camera sees a right eye's nose side at +x: the pupil sits there. */
static void
test_iris_eyes_mirrored(void **state)
{
	(void)state;
	for (guint32 seed = 10; seed < 16; seed++) {
		HalImage r, l;
		SynthIrisGeometry gr, gl;
		assert_int_equal(synth_iris(seed, 1, 1.0, &r, &gr), 0);
		assert_int_equal(synth_iris(seed, 2, 1.0, &l, &gl), 0);
		assert_true(gr.pupil_x > gr.iris_x);
		assert_true(gl.pupil_x < gl.iris_x);
		assert_true(memcmp(r.pixels, l.pixels, image_bytes(&r)) != 0);
		g_free(r.pixels);
		g_free(l.pixels);
	}
}

static void
test_iris_quality_keeps_geometry_lowers_contrast(void **state)
{
	(void)state;
	for (guint32 seed = 1; seed <= 4; seed++) {
		HalImage hi, lo;
		SynthIrisGeometry gh, gl;
		assert_int_equal(synth_iris(seed, 1, 1.0, &hi, &gh), 0);
		assert_int_equal(synth_iris(seed, 1, 0.1, &lo, &gl), 0);
		assert_memory_equal(&gh, &gl, sizeof gh);
		double sx = gh.iris_x + gh.iris_r + 15.0;
		double span_hi = grey_mean(&hi, sx, gh.iris_y, 2) -
				 grey_mean(&hi, gh.pupil_x, gh.pupil_y, 2);
		double span_lo = grey_mean(&lo, sx, gh.iris_y, 2) -
				 grey_mean(&lo, gh.pupil_x, gh.pupil_y, 2);
		assert_true(span_lo > 0.0);
		assert_true(span_lo < 0.6 * span_hi);

		/* Noise: neighbouring pixels of the flat pupil differ more (a
		 * column below the centre, where the reflection never is). */
		double d_hi = 0.0, d_lo = 0.0;
		int cx = (int)gh.pupil_x, cy = (int)gh.pupil_y;
		for (int y = cy + 2; y < cy + 16; y++) {
			d_hi += abs(hi.pixels[(y + 1) * 640 + cx] - hi.pixels[y * 640 + cx]);
			d_lo += abs(lo.pixels[(y + 1) * 640 + cx] - lo.pixels[y * 640 + cx]);
		}
		assert_true(d_lo > 2.0 * d_hi);
		g_free(hi.pixels);
		g_free(lo.pixels);
	}
}

static void
test_iris_bad_args(void **state)
{
	(void)state;
	HalImage img = { 0 };
	SynthIrisGeometry g;
	assert_int_equal(synth_iris(1, 0, 1.0, &img, &g), -1);
	assert_int_equal(synth_iris(1, 3, 1.0, &img, &g), -1);
	assert_int_equal(synth_iris(1, -1, 1.0, &img, &g), -1);
	assert_int_equal(synth_iris(1, 1, -0.01, &img, &g), -1);
	assert_int_equal(synth_iris(1, 1, 1.01, &img, &g), -1);
	assert_int_equal(synth_iris(1, 1, NAN, &img, &g), -1);
	assert_int_equal(synth_iris(1, 1, 0.5, NULL, &g), -1);
	assert_null(img.pixels);
	/* The edges of the range and a NULL geometry are fine. */
	assert_int_equal(synth_iris(1, 2, 0.0, &img, NULL), 0);
	g_free(img.pixels);
}

static void
rgb_at(const HalImage *img, int x, int y, int out[3])
{
	const uint8_t *p = img->pixels + ((gsize)y * img->width + x) * 3;
	out[0] = p[0];
	out[1] = p[1];
	out[2] = p[2];
}

/* Largest per-channel distance between pixel (X, Y) and BG. */
static int
dist_to(const HalImage *img, int x, int y, guint32 bg)
{
	int c[3], d = 0;
	rgb_at(img, x, y, c);
	for (int i = 0; i < 3; i++)
		d = MAX(d, abs(c[i] - (int)((bg >> (16 - 8 * i)) & 0xFF)));
	return d;
}

static void
test_face_background_and_layout(void **state)
{
	(void)state;
	static const guint32 bgs[] = { 0xFF0000, 0x0000FF, 0xFFFFFF, 0xDB1514, 0x0090FF };
	for (guint32 seed = 1; seed <= 3; seed++)
		for (gsize b = 0; b < G_N_ELEMENTS(bgs); b++) {
			HalImage img;
			assert_int_equal(synth_face(seed, bgs[b], 1.0, &img), 0);
			assert_int_equal(img.width, 480);
			assert_int_equal(img.height, 640);
			assert_int_equal(img.channels, 3);
			/* The top band and the sides of the upper 60 %: the backdrop. */
			int worst = 0;
			for (int y = 0; y < 384; y++)
				for (int x = 0; x < 480; x++)
					if (y < 20 || x < 20 || x >= 460)
						worst = MAX(worst, dist_to(&img, x, y, bgs[b]));
			assert_true(worst <= 5);
			/* A face in the middle, clothing at the bottom centre. */
			assert_true(dist_to(&img, 240, 320, bgs[b]) > 40);
			assert_true(dist_to(&img, 240, 635, bgs[b]) > 10);

			/* ICAO-like proportions: the crown within 4-12 % of the height
			 * from the top, the head (across the temples) 50-75 % of the
			 * width and centred within 5 %. */
			int crown = -1;
			for (int y = 0; y < 640 && crown < 0; y++)
				if (dist_to(&img, 240, y, bgs[b]) > 20)
					crown = y;
			assert_true(crown >= 26 && crown <= 77);
			int left = 240, right = 240;
			while (left > 0 && dist_to(&img, left - 1, 200, bgs[b]) > 20)
				left--;
			while (right < 479 && dist_to(&img, right + 1, 200, bgs[b]) > 20)
				right++;
			double head = (right - left + 1) / 480.0;
			assert_true(head >= 0.5 && head <= 0.75);
			assert_true(fabs(0.5 * (left + right) / 480.0 - 0.5) < 0.05);
			g_free(img.pixels);
		}
}

static void
test_face_determinism_and_quality(void **state)
{
	(void)state;
	HalImage a, b, c, lo;
	assert_int_equal(synth_face(42, 0x0090FF, 0.9, &a), 0);
	assert_int_equal(synth_face(42, 0x0090FF, 0.9, &b), 0);
	assert_int_equal(synth_face(43, 0x0090FF, 0.9, &c), 0);
	assert_memory_equal(a.pixels, b.pixels, image_bytes(&a));
	assert_true(memcmp(a.pixels, c.pixels, image_bytes(&a)) != 0);
	g_free(b.pixels);
	g_free(c.pixels);

	/* Quality 0.1: the backdrop is no longer the plain requested colour. */
	assert_int_equal(synth_face(42, 0x0090FF, 1.0, &b), 0);
	assert_int_equal(synth_face(42, 0x0090FF, 0.1, &lo), 0);
	long dev_hi = 0, dev_lo = 0;
	for (int y = 0; y < 20; y++)
		for (int x = 0; x < 480; x++) {
			dev_hi += dist_to(&b, x, y, 0x0090FF);
			dev_lo += dist_to(&lo, x, y, 0x0090FF);
		}
	assert_true(dev_lo > 5 * dev_hi + 480 * 20);
	g_free(a.pixels);
	g_free(b.pixels);
	g_free(lo.pixels);

	HalImage bad = { 0 };
	assert_int_equal(synth_face(1, 0xFF0000, -0.5, &bad), -1);
	assert_int_equal(synth_face(1, 0xFF0000, 2.0, &bad), -1);
	assert_int_equal(synth_face(1, 0xFF0000, NAN, &bad), -1);
	assert_int_equal(synth_face(1, 0xFF0000, 1.0, NULL), -1);
	assert_null(bad.pixels);
}

/* Pixels darker than 128 reachable from the first one (8-neighbours). */
static gsize
dark_component(const HalImage *img, gsize *total)
{
	int w = img->width, h = img->height;
	guint8 *seen = g_new0(guint8, (gsize)w * h);
	int *stack = g_new(int, (gsize)w * h);
	gsize sp = 0, found = 0;
	*total = 0;
	int first = -1;
	for (int i = 0; i < w * h; i++)
		if (img->pixels[i] < 128) {
			(*total)++;
			if (first < 0)
				first = i;
		}
	if (first >= 0) {
		stack[sp++] = first;
		seen[first] = 1;
	}
	while (sp) {
		int i = stack[--sp], x = i % w, y = i / w;
		found++;
		for (int dy = -1; dy <= 1; dy++)
			for (int dx = -1; dx <= 1; dx++) {
				int nx = x + dx, ny = y + dy;
				if (nx < 0 || ny < 0 || nx >= w || ny >= h)
					continue;
				int j = ny * w + nx;
				if (!seen[j] && img->pixels[j] < 128) {
					seen[j] = 1;
					stack[sp++] = j;
				}
			}
	}
	g_free(seen);
	g_free(stack);
	return found;
}

/* Median over dark (< 128) pixels of the shorter of the horizontal and
 * vertical runs of dark pixels through them. */
static double
median_run(const HalImage *img)
{
	int w = img->width, h = img->height;
	GArray *runs = g_array_new(FALSE, FALSE, sizeof(int));
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			if (img->pixels[y * w + x] >= 128)
				continue;
			int l = x, r = x, u = y, d = y;
			while (l > 0 && img->pixels[y * w + l - 1] < 128)
				l--;
			while (r < w - 1 && img->pixels[y * w + r + 1] < 128)
				r++;
			while (u > 0 && img->pixels[(u - 1) * w + x] < 128)
				u--;
			while (d < h - 1 && img->pixels[(d + 1) * w + x] < 128)
				d++;
			int run = MIN(r - l + 1, d - u + 1);
			g_array_append_val(runs, run);
		}
	assert_true(runs->len > 0);
	int *v = (int *)(void *)runs->data;
	/* A counting sort: runs are short. */
	int count[64] = { 0 };
	for (guint i = 0; i < runs->len; i++)
		count[MIN(v[i], 63)]++;
	guint acc = 0;
	int med = 63;
	for (int k = 0; k < 64; k++) {
		acc += count[k];
		if (2 * acc >= runs->len) {
			med = k;
			break;
		}
	}
	g_array_free(runs, TRUE);
	return med;
}

static void
test_signature(void **state)
{
	(void)state;
	for (guint32 seed = 1; seed <= 8; seed++) {
		HalImage a, b, c;
		assert_int_equal(synth_signature(seed, &a), 0);
		assert_int_equal(synth_signature(seed, &b), 0);
		assert_int_equal(synth_signature(seed + 100, &c), 0);
		assert_int_equal(a.width, 400);
		assert_int_equal(a.height, 150);
		assert_int_equal(a.channels, 1);
		assert_memory_equal(a.pixels, b.pixels, image_bytes(&a));
		assert_true(memcmp(a.pixels, c.pixels, image_bytes(&a)) != 0);

		gsize dark = 0, grey = 0;
		for (int y = 0; y < 150; y++)
			for (int x = 0; x < 400; x++) {
				int v = a.pixels[y * 400 + x];
				if (x < 15 || y < 15 || x >= 385 || y >= 135)
					assert_int_equal(v, 255); /* white margins */
				if (v < 60)
					dark++;
				else if (v < 230)
					grey++; /* the anti-aliased rim */
			}
		assert_true(dark > 400);
		assert_true(grey > 200);
		/* One connected stroke. */
		gsize total = 0, reached = dark_component(&a, &total);
		assert_int_equal(reached, total);
		/* A pen 2-3 px wide: through a typical dark pixel, the shorter of
		 * its horizontal and vertical dark runs is 2-4 px. */
		double w = median_run(&a);
		assert_true(w >= 2.0 && w <= 4.0);
		g_free(a.pixels);
		g_free(b.pixels);
		g_free(c.pixels);
	}
	assert_int_equal(synth_signature(1, NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iris_size_and_determinism),
		cmocka_unit_test(test_iris_geometry_matches_image),
		cmocka_unit_test(test_iris_eyes_mirrored),
		cmocka_unit_test(test_iris_quality_keeps_geometry_lowers_contrast),
		cmocka_unit_test(test_iris_bad_args),
		cmocka_unit_test(test_face_background_and_layout),
		cmocka_unit_test(test_face_determinism_and_quality),
		cmocka_unit_test(test_signature),
	};
	return cmocka_run_group_tests_name("synth_eye_face", tests, NULL, NULL);
}
