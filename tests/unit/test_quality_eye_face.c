/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the iris and face quality measures (src/quality/iris.c,
 * face.c).  Iris: the segmentation finds the synthetic eyes' circles within
 * 3 px (centres) and 4 px (radii) at several seeds, both eyes, clean and
 * degraded; the score is high for clean captures and falls by at least 25
 * points at quality 0.1, each measure falling with it; a hand-drawn eye with
 * known grey levels and a known eyelid gives the expected contrasts and
 * usable area; flat images score low; wrong images are refused.  Face: the
 * background colour comes back for red, blue and white backdrops, the
 * aspect and size checks hold, uniformity and score fall with quality, and
 * a flat, a graded, a small or a landscape image is judged accordingly.
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
#include "quality/quality.h"

static void
assert_segmented(const QualityIris *q, const SynthIrisGeometry *g, double c_tol, double r_tol)
{
	double pc = hypot(q->pupil_x - g->pupil_x, q->pupil_y - g->pupil_y);
	double ic = hypot(q->iris_x - g->iris_x, q->iris_y - g->iris_y);
	if (pc > c_tol || fabs(q->pupil_r - g->pupil_r) > r_tol || ic > c_tol ||
	    fabs(q->iris_r - g->iris_r) > r_tol)
		fail_msg("segmentation off: pupil (%.1f, %.1f, r %.1f) vs (%.1f, %.1f, r %.1f), "
			 "iris (%.1f, %.1f, r %.1f) vs (%.1f, %.1f, r %.1f)",
			 q->pupil_x, q->pupil_y, q->pupil_r, g->pupil_x, g->pupil_y, g->pupil_r,
			 q->iris_x, q->iris_y, q->iris_r, g->iris_x, g->iris_y, g->iris_r);
	assert_true(fabs(q->pupil_iris_ratio - g->pupil_r / g->iris_r) < 0.03);
}

static void
test_iris_segmentation_clean(void **state)
{
	(void)state;
	for (guint32 seed = 1; seed <= 6; seed++)
		for (int eye = 1; eye <= 2; eye++) {
			HalImage img;
			SynthIrisGeometry g;
			QualityIris q;
			assert_int_equal(synth_iris(seed, eye, 1.0, &img, &g), 0);
			assert_int_equal(quality_iris(&img, &q), 0);
			assert_segmented(&q, &g, 3.0, 4.0);
			assert_string_equal(q.algorithm, "ektp-iris-29794-6-subset");
			assert_string_equal(q.version, "1");
			g_free(img.pixels);
		}
}

static void
test_iris_segmentation_degraded(void **state)
{
	(void)state;
	for (guint32 seed = 20; seed <= 22; seed++) {
		HalImage img;
		SynthIrisGeometry g;
		QualityIris q;
		assert_int_equal(synth_iris(seed, 1 + seed % 2, 0.3, &img, &g), 0);
		assert_int_equal(quality_iris(&img, &q), 0);
		assert_segmented(&q, &g, 3.0, 4.0);
		g_free(img.pixels);
	}
}

static void
test_iris_score_falls_with_quality(void **state)
{
	(void)state;
	for (guint32 seed = 1; seed <= 3; seed++)
		for (int eye = 1; eye <= 2; eye++) {
			HalImage a, b, c;
			QualityIris hi, mid, lo;
			assert_int_equal(synth_iris(seed, eye, 1.0, &a, NULL), 0);
			assert_int_equal(synth_iris(seed, eye, 0.5, &b, NULL), 0);
			assert_int_equal(synth_iris(seed, eye, 0.1, &c, NULL), 0);
			assert_int_equal(quality_iris(&a, &hi), 0);
			assert_int_equal(quality_iris(&b, &mid), 0);
			assert_int_equal(quality_iris(&c, &lo), 0);
			assert_true(hi.score >= 70);
			assert_true(lo.score <= hi.score - 25);
			assert_true(mid.score < hi.score && mid.score > lo.score);
			/* Each measure the synthesis degrades falls with it. */
			assert_true(lo.usable_iris_area < hi.usable_iris_area);
			assert_true(lo.iris_pupil_contrast < hi.iris_pupil_contrast);
			assert_true(lo.sharpness < mid.sharpness && mid.sharpness < hi.sharpness);
			assert_true(hi.usable_iris_area >= 0.7 && hi.usable_iris_area <= 1.0);
			assert_true(hi.iris_sclera_contrast > 0.05 &&
				    hi.iris_sclera_contrast <= 1.0);
			g_free(a.pixels);
			g_free(b.pixels);
			g_free(c.pixels);
		}
}

/* A 640x480 eye of flat grey levels: pupil 20, iris 100, sclera 200, edges
 * anti-aliased over 1 px; rows above TOP and below BOTTOM are eyelid skin at
 * 170. */
#define EYE_PX 330.0
#define EYE_PY 236.0
#define EYE_PR 40.0
#define EYE_IR 110.0

static void
draw_flat_eye(HalImage *img, double top, double bottom)
{
	img->width = 640;
	img->height = 480;
	img->channels = 1;
	img->ppi = 0;
	img->position = 1;
	img->pixels = g_malloc(640 * 480);
	for (int y = 0; y < 480; y++)
		for (int x = 0; x < 640; x++) {
			double d = hypot(x - EYE_PX, y - EYE_PY);
			double a_iris = CLAMP(EYE_IR + 0.5 - d, 0.0, 1.0);
			double a_pupil = CLAMP(EYE_PR + 0.5 - d, 0.0, 1.0);
			double v = 200.0 + (100.0 - 200.0) * a_iris;
			v += (20.0 - v) * a_pupil;
			if (y < top || y > bottom)
				v = 170.0;
			img->pixels[y * 640 + x] = (uint8_t)lround(v);
		}
}

static void
test_iris_known_levels(void **state)
{
	(void)state;
	HalImage img;
	QualityIris q;
	draw_flat_eye(&img, 0.0, 479.0);
	assert_int_equal(quality_iris(&img, &q), 0);
	assert_true(fabs(q.pupil_x - EYE_PX) < 1.0 && fabs(q.pupil_y - EYE_PY) < 1.0);
	assert_true(fabs(q.iris_x - EYE_PX) < 1.0 && fabs(q.iris_y - EYE_PY) < 1.0);
	assert_true(fabs(q.pupil_r - EYE_PR) < 1.0 && fabs(q.iris_r - EYE_IR) < 1.0);
	/* (100 - 20) / (100 + 20) and (200 - 100) / (200 + 100 - 2 * 20). */
	assert_true(fabs(q.iris_pupil_contrast - 80.0 / 120.0) < 0.01);
	assert_true(fabs(q.iris_sclera_contrast - 100.0 / 260.0) < 0.01);
	assert_true(q.usable_iris_area > 0.99);
	assert_true(q.sharpness > 0.5);
	assert_true(q.score >= 90);
	g_free(img.pixels);

	/* An eyelid down to 55 px above the centre hides the top of the ring. */
	double lid = EYE_PY - 55.0;
	draw_flat_eye(&img, lid, 479.0);
	assert_int_equal(quality_iris(&img, &q), 0);
	long ring = 0, open = 0;
	for (int y = 0; y < 480; y++)
		for (int x = 0; x < 640; x++) {
			double d = hypot(x - EYE_PX, y - EYE_PY);
			if (d < EYE_PR + 1.5 || d > EYE_IR - 1.5)
				continue;
			ring++;
			if (y >= lid)
				open++;
		}
	double expect = (double)open / ring;
	assert_true(expect < 0.85 && expect > 0.7);
	assert_true(fabs(q.usable_iris_area - expect) < 0.03);
	g_free(img.pixels);

	/* Both lids close in, 44 and 50 px from the centre: about 45 % of
	 * the ring is left, under the 70 % the standard recommends. */
	draw_flat_eye(&img, EYE_PY - 44.0, EYE_PY + 50.0);
	QualityIris low;
	assert_int_equal(quality_iris(&img, &low), 0);
	assert_true(fabs(low.pupil_r - EYE_PR) < 1.0 && fabs(low.iris_r - EYE_IR) < 2.0);
	assert_true(low.usable_iris_area > 0.4 && low.usable_iris_area < 0.5);
	assert_true(low.score < q.score);
	g_free(img.pixels);
}

static void
test_iris_flat_images_score_low(void **state)
{
	(void)state;
	static const uint8_t levels[] = { 0, 128, 255 };
	for (gsize i = 0; i < G_N_ELEMENTS(levels); i++) {
		HalImage img = { .width = 640, .height = 480, .channels = 1 };
		img.pixels = g_malloc(640 * 480);
		memset(img.pixels, levels[i], 640 * 480);
		QualityIris q;
		assert_int_equal(quality_iris(&img, &q), 0);
		assert_true(q.score <= 10);
		assert_true(isfinite(q.usable_iris_area) && isfinite(q.sharpness) &&
			    isfinite(q.iris_pupil_contrast) && isfinite(q.iris_sclera_contrast) &&
			    isfinite(q.pupil_iris_ratio));
		g_free(img.pixels);
	}
}

static void
test_iris_refuses(void **state)
{
	(void)state;
	QualityIris q;
	HalImage rgb;
	assert_int_equal(synth_face(1, 0xFF0000, 1.0, &rgb), 0);
	assert_int_equal(quality_iris(&rgb, &q), -1);
	g_free(rgb.pixels);

	HalImage small = { .width = 100, .height = 100, .channels = 1 };
	small.pixels = g_malloc0(100 * 100);
	assert_int_equal(quality_iris(&small, &q), -1);
	g_free(small.pixels);

	HalImage none = { .width = 640, .height = 480, .channels = 1, .pixels = NULL };
	assert_int_equal(quality_iris(&none, &q), -1);
	assert_int_equal(quality_iris(NULL, &q), -1);
	HalImage img;
	assert_int_equal(synth_iris(1, 1, 1.0, &img, NULL), 0);
	assert_int_equal(quality_iris(&img, NULL), -1);
	g_free(img.pixels);
}

static void
assert_colour_near(guint32 got, guint32 want, int tol)
{
	for (int s = 0; s <= 16; s += 8) {
		int a = (int)((got >> s) & 0xFF), b = (int)((want >> s) & 0xFF);
		if (abs(a - b) > tol)
			fail_msg("background %06X, expected %06X", got, want);
	}
}

static void
test_face_background_colour(void **state)
{
	(void)state;
	static const guint32 bgs[] = { 0xFF0000, 0x0000FF, 0xFFFFFF, 0xDB1514, 0x0090FF };
	for (guint32 seed = 1; seed <= 3; seed++)
		for (gsize b = 0; b < G_N_ELEMENTS(bgs); b++) {
			HalImage img;
			QualityFace q;
			assert_int_equal(synth_face(seed, bgs[b], 1.0, &img), 0);
			assert_int_equal(quality_face(&img, &q), 0);
			assert_colour_near(q.background, bgs[b], 3);
			assert_true(fabs(q.aspect - 0.75) < 1e-9);
			assert_true(q.size_ok);
			assert_true(q.background_uniformity > 0.9);
			assert_true(q.exposure > 0.25 && q.exposure < 0.85);
			assert_true(q.score >= 85);
			assert_string_equal(q.algorithm, "ektp-face-basic");
			assert_string_equal(q.version, "1");
			g_free(img.pixels);
		}
}

static void
test_face_quality_falls(void **state)
{
	(void)state;
	static const guint32 bgs[] = { 0xDB1514, 0x0090FF, 0xFFFFFF };
	for (guint32 seed = 1; seed <= 4; seed++)
		for (gsize b = 0; b < G_N_ELEMENTS(bgs); b++) {
			HalImage hi_img, lo_img;
			QualityFace hi, lo;
			assert_int_equal(synth_face(seed, bgs[b], 1.0, &hi_img), 0);
			assert_int_equal(synth_face(seed, bgs[b], 0.1, &lo_img), 0);
			assert_int_equal(quality_face(&hi_img, &hi), 0);
			assert_int_equal(quality_face(&lo_img, &lo), 0);
			assert_true(lo.background_uniformity < hi.background_uniformity);
			assert_true(lo.score < hi.score);
			g_free(hi_img.pixels);
			g_free(lo_img.pixels);
		}
}

static HalImage
rgb_image(int w, int h, guint32 colour)
{
	HalImage img = { .width = w, .height = h, .channels = 3 };
	img.pixels = g_malloc((gsize)w * h * 3);
	for (int i = 0; i < w * h; i++) {
		img.pixels[i * 3] = (colour >> 16) & 0xFF;
		img.pixels[i * 3 + 1] = (colour >> 8) & 0xFF;
		img.pixels[i * 3 + 2] = colour & 0xFF;
	}
	return img;
}

static void
test_face_hand_made_images(void **state)
{
	(void)state;
	QualityFace q, small_q, wide_q, graded_q;

	/* Flat mid-grey: perfectly uniform, exposure is its luma. */
	HalImage flat = rgb_image(480, 640, 0x808080);
	assert_int_equal(quality_face(&flat, &q), 0);
	assert_int_equal(q.background, 0x808080);
	assert_true(q.background_uniformity > 0.999);
	assert_true(fabs(q.exposure - 128.0 / 255.0) < 1e-6);

	/* A left-to-right ramp on the backdrop: not uniform. */
	HalImage graded = rgb_image(480, 640, 0x808080);
	for (int y = 0; y < 640; y++)
		for (int x = 0; x < 480; x++)
			for (int c = 0; c < 3; c++)
				graded.pixels[(y * 480 + x) * 3 + c] =
					(uint8_t)(60 + x * 140 / 479);
	assert_int_equal(quality_face(&graded, &graded_q), 0);
	assert_true(graded_q.background_uniformity < 0.3);
	assert_true(graded_q.score < q.score);

	/* Too small, and landscape. */
	HalImage small = rgb_image(240, 320, 0x808080);
	assert_int_equal(quality_face(&small, &small_q), 0);
	assert_false(small_q.size_ok);
	assert_true(fabs(small_q.aspect - 0.75) < 1e-9);
	assert_true(small_q.score < q.score);
	HalImage wide = rgb_image(640, 480, 0x808080);
	assert_int_equal(quality_face(&wide, &wide_q), 0);
	assert_true(fabs(wide_q.aspect - 640.0 / 480.0) < 1e-9);
	assert_false(wide_q.size_ok);
	assert_int_equal(wide_q.score, 0);

	/* Dark: under-exposed. */
	HalImage dark = rgb_image(480, 640, 0x141414);
	QualityFace dark_q;
	assert_int_equal(quality_face(&dark, &dark_q), 0);
	assert_true(dark_q.exposure < 0.1);
	assert_true(dark_q.score < 20);

	g_free(flat.pixels);
	g_free(graded.pixels);
	g_free(small.pixels);
	g_free(wide.pixels);
	g_free(dark.pixels);
}

static void
test_face_refuses(void **state)
{
	(void)state;
	QualityFace q;
	HalImage grey;
	assert_int_equal(synth_iris(1, 1, 1.0, &grey, NULL), 0);
	assert_int_equal(quality_face(&grey, &q), -1);
	g_free(grey.pixels);
	HalImage four = rgb_image(480, 640, 0);
	four.channels = 4;
	assert_int_equal(quality_face(&four, &q), -1);
	g_free(four.pixels);
	HalImage none = { .width = 480, .height = 640, .channels = 3 };
	assert_int_equal(quality_face(&none, &q), -1);
	assert_int_equal(quality_face(NULL, &q), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iris_segmentation_clean),
		cmocka_unit_test(test_iris_segmentation_degraded),
		cmocka_unit_test(test_iris_score_falls_with_quality),
		cmocka_unit_test(test_iris_known_levels),
		cmocka_unit_test(test_iris_flat_images_score_low),
		cmocka_unit_test(test_iris_refuses),
		cmocka_unit_test(test_face_background_colour),
		cmocka_unit_test(test_face_quality_falls),
		cmocka_unit_test(test_face_hand_made_images),
		cmocka_unit_test(test_face_refuses),
	};
	return cmocka_run_group_tests_name("quality_eye_face", tests, NULL, NULL);
}
