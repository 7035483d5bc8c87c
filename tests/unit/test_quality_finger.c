/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for quality/fingerprint ("ektp-fp-blockwise" 1): clean synthetic
 * prints and plain sinusoidal ridges score high; the simulator's quality knob
 * lowers the score steadily (quality 0.1 at least 25 points under 1.0);
 * fainter ridges and a small contact area score lower; a blank platen and
 * random noise score low; blanking half a print lowers its coverage; the algorithm is named; images that are not grey or too small are
 * refused.
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
#include "quality/quality.h"

static QualityFingerprint
score_synth(guint32 seed, int position, double quality)
{
	HalImage img = { 0 };
	QualityFingerprint q;
	assert_int_equal(synth_fingerprint(seed, position, quality, &img, NULL), 0);
	assert_int_equal(quality_fingerprint(&img, &q), 0);
	g_free(img.pixels);
	return q;
}

static HalImage
grey_image(int width, int height, uint8_t value)
{
	HalImage img = { .width = width, .height = height, .channels = 1, .ppi = 500 };
	img.pixels = g_malloc((gsize)width * height);
	memset(img.pixels, value, (gsize)width * height);
	return img;
}

static void
assert_figures_in_range(const QualityFingerprint *q)
{
	assert_in_range(q->score, 0, 100);
	assert_true(q->coverage >= 0 && q->coverage <= 1);
	assert_true(q->contrast >= 0 && q->contrast <= 1);
	assert_true(q->coherence >= 0 && q->coherence <= 1);
}

static void
test_names(void **state)
{
	(void)state;
	QualityFingerprint q = score_synth(1, 1, 1.0);
	assert_string_equal(q.algorithm, "ektp-fp-blockwise");
	assert_string_equal(q.version, "1");
	assert_figures_in_range(&q);
}

static void
test_clean_prints_score_high(void **state)
{
	(void)state;
	for (guint32 seed = 1; seed <= 5; seed++) {
		QualityFingerprint q = score_synth(seed, (int)seed * 2, 1.0);
		print_message("# seed %u clean: score %d coverage %.2f contrast %.2f coherence %.2f\n",
			      seed, q.score, q.coverage, q.contrast, q.coherence);
		assert_figures_in_range(&q);
		assert_true(q.score >= 70);
		assert_true(q.coherence > 0.8);
	}
}

/* Straight sinusoidal ridges, 9 px period, AMPLITUDE grey levels around
 * mid-grey, in a W x H frame: no synthesis code involved. */
static HalImage
plain_ridges(int width, int height, double amplitude)
{
	HalImage img = grey_image(width, height, 0);
	const double k = 2 * G_PI / 9.0, c = cos(0.5), s = sin(0.5);
	for (int y = 0; y < img.height; y++)
		for (int x = 0; x < img.width; x++)
			img.pixels[y * img.width + x] =
				(uint8_t)lround(128 + amplitude * cos(k * (x * c + y * s)));
	return img;
}

static void
test_plain_ridges_score_high(void **state)
{
	(void)state;
	HalImage strong = plain_ridges(256, 256, 90), faint = plain_ridges(256, 256, 28);
	QualityFingerprint qs, qf;
	assert_int_equal(quality_fingerprint(&strong, &qs), 0);
	assert_int_equal(quality_fingerprint(&faint, &qf), 0);
	print_message("# plain ridges: amplitude 90 -> %d, amplitude 28 -> %d\n", qs.score,
		      qf.score);
	assert_true(qs.coverage > 0.99 && qf.coverage > 0.99);
	assert_true(qs.coherence > 0.95);
	assert_true(qs.score >= 90);
	/* the same flow at a third of the contrast */
	assert_true(qf.contrast < 0.5 * qs.contrast);
	assert_true(qf.score <= 0.7 * qs.score);
	g_free(strong.pixels);
	g_free(faint.pixels);
}

/* A fingertip that touches only a small spot: clear ridges, little area. */
static void
test_small_contact_scores_low(void **state)
{
	(void)state;
	HalImage img = grey_image(400, 500, 242);
	HalImage patch = plain_ridges(96, 96, 90);
	for (int y = 0; y < patch.height; y++)
		memcpy(img.pixels + (gsize)(200 + y) * img.width + 150,
		       patch.pixels + (gsize)y * patch.width, patch.width);
	QualityFingerprint q;
	assert_int_equal(quality_fingerprint(&img, &q), 0);
	print_message("# small contact: score %d coverage %.3f\n", q.score, q.coverage);
	/* a 96 px square touches at most 7 x 7 of the 25 x 31 blocks */
	assert_true(q.coverage < 0.065);
	assert_true(q.score <= 40);
	g_free(patch.pixels);
	g_free(img.pixels);
}

static void
test_damage_lowers_the_score(void **state)
{
	(void)state;
	for (guint32 seed = 11; seed <= 13; seed++) {
		int position = (int)seed % 10 + 1;
		QualityFingerprint q10 = score_synth(seed, position, 1.0);
		QualityFingerprint q05 = score_synth(seed, position, 0.5);
		QualityFingerprint q01 = score_synth(seed, position, 0.1);
		print_message("# seed %u: quality 1.0 -> %d, 0.5 -> %d, 0.1 -> %d\n", seed,
			      q10.score, q05.score, q01.score);
		assert_true(q10.score - q01.score >= 25);
		assert_true(q10.score > q05.score && q05.score > q01.score);
		assert_true(q01.contrast < q10.contrast);
		assert_true(q01.coherence < q10.coherence);
	}
}

static void
test_blank_scores_zero(void **state)
{
	(void)state;
	const uint8_t levels[] = { 0, 128, 242, 255 };
	for (guint i = 0; i < G_N_ELEMENTS(levels); i++) {
		HalImage img = grey_image(400, 500, levels[i]);
		QualityFingerprint q;
		assert_int_equal(quality_fingerprint(&img, &q), 0);
		assert_true(q.score <= 10);
		assert_true(q.coverage == 0.0);
		assert_figures_in_range(&q);
		g_free(img.pixels);
	}
}

static void
test_noise_scores_low(void **state)
{
	(void)state;
	GRand *rand = g_rand_new_with_seed(7);
	HalImage img = grey_image(400, 500, 0);
	for (int i = 0; i < img.width * img.height; i++)
		img.pixels[i] = (uint8_t)g_rand_int_range(rand, 0, 256);
	QualityFingerprint q;
	assert_int_equal(quality_fingerprint(&img, &q), 0);
	print_message("# noise: score %d coverage %.2f contrast %.2f coherence %.2f\n", q.score,
		      q.coverage, q.contrast, q.coherence);
	assert_true(q.score <= 30);
	assert_true(q.coherence < 0.3);
	g_free(img.pixels);
	g_rand_free(rand);
}

static void
test_half_blank_loses_coverage(void **state)
{
	(void)state;
	HalImage img = { 0 };
	QualityFingerprint full, half;
	assert_int_equal(synth_fingerprint(21, 2, 1.0, &img, NULL), 0);
	assert_int_equal(quality_fingerprint(&img, &full), 0);
	/* lift the finger's upper half off the platen */
	memset(img.pixels, 242, (gsize)img.width * (img.height / 2));
	assert_int_equal(quality_fingerprint(&img, &half), 0);
	print_message("# coverage full %.2f, half blank %.2f; score %d -> %d\n", full.coverage,
		      half.coverage, full.score, half.score);
	assert_true(half.coverage < 0.7 * full.coverage);
	assert_true(half.coverage > 0.2 * full.coverage);
	assert_true(half.score < full.score);
	g_free(img.pixels);
}

static void
test_refuses_other_images(void **state)
{
	(void)state;
	QualityFingerprint q;
	HalImage rgb = grey_image(400, 500, 128);
	rgb.channels = 3;
	assert_int_equal(quality_fingerprint(&rgb, &q), -1);
	g_free(rgb.pixels);

	HalImage tiny = grey_image(40, 500, 128);
	assert_int_equal(quality_fingerprint(&tiny, &q), -1);
	g_free(tiny.pixels);

	HalImage none = { .width = 400, .height = 500, .channels = 1 };
	assert_int_equal(quality_fingerprint(&none, &q), -1);
	assert_int_equal(quality_fingerprint(NULL, &q), -1);

	HalImage ok = grey_image(48, 48, 128);
	assert_int_equal(quality_fingerprint(&ok, NULL), -1);
	assert_int_equal(quality_fingerprint(&ok, &q), 0);
	g_free(ok.pixels);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_clean_prints_score_high),
		cmocka_unit_test(test_plain_ridges_score_high),
		cmocka_unit_test(test_small_contact_scores_low),
		cmocka_unit_test(test_damage_lowers_the_score),
		cmocka_unit_test(test_blank_scores_zero),
		cmocka_unit_test(test_noise_scores_low),
		cmocka_unit_test(test_half_blank_loses_coverage),
		cmocka_unit_test(test_refuses_other_images),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
