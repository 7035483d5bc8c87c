/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for image/jpeg.c.  Grey and RGB images survive an encode and a
 * decode with JPEG's loss only (a small mean error, the size and the ppi
 * exact), and a lower quality makes a smaller file.  Decoding refuses, with
 * the error code and a message naming the rule, and an empty output: a file
 * that is not a JPEG, truncation at every length, bytes after EOI, corrupt
 * entropy-coded data, the other modality's colour space, CMYK, dimensions
 * or bytes beyond the caller's limits, and a progressive file of more scans
 * than allowed.  Encoding refuses bad images and qualities.  The resampler
 * keeps a flat image flat, averages a fine checkerboard to grey when
 * shrinking (where point-sampled bilinear would alias to black or white),
 * interpolates a ramp when enlarging, and scales ppi.  Special fixtures
 * (CMYK, 128-scan progressive) are written with libjpeg itself here.
 * Nothing may leak on any path (make check-asan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>

#include "drivers/sim/synth.h"
#include "image/jpeg.h"

static const ImageLimits grey_limits = { 1, 1, 4096, 1, 4096, 1 << 24 };
static const ImageLimits rgb_limits = { 3, 1, 4096, 1, 4096, 1 << 26 };

/* The simulator's portrait (480x640 RGB); caller clears. */
static Image
face(void)
{
	HalImage h = { 0 };
	assert_int_equal(synth_face(7, 0x0090ff, 0.92, &h), 0);
	return (Image){ h.width, h.height, h.channels, 300, h.pixels };
}

/* The simulator's signature (400x150 grey); caller clears. */
static Image
signature(void)
{
	HalImage h = { 0 };
	assert_int_equal(synth_signature(7, &h), 0);
	return (Image){ h.width, h.height, h.channels, 0, h.pixels };
}

static GBytes *
encode(const Image *img, int q)
{
	GError *error = NULL;
	GBytes *b = image_jpeg_encode(img, q, &error);
	if (!b)
		fail_msg("encode: %s", error->message);
	return b;
}

static double
mean_abs_error(const Image *a, const Image *b)
{
	size_t n = (size_t)a->width * a->height * a->channels;
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += abs((int)a->pixels[i] - (int)b->pixels[i]);
	return sum / n;
}

/* Decodes N bytes at P expecting a refusal with CODE naming WANT; checks OUT is empty. */
static void
expect_refused(const void *p, size_t n, const ImageLimits *lim, int code, const char *want)
{
	Image out;
	memset(&out, 0x5a, sizeof out);
	GError *error = NULL;
	if (image_jpeg_decode(p, n, lim, &out, &error) == 0) {
		image_clear(&out);
		fail_msg("%zu bytes decoded; expected a refusal naming \"%s\"", n, want);
	}
	if (!g_error_matches(error, IMAGE_ERROR, code) || (want && !strstr(error->message, want)))
		fail_msg("%zu bytes: got error %d \"%s\", expected %d naming \"%s\"", n,
			 error->code, error->message, code, want ? want : "");
	assert_null(out.pixels);
	assert_int_equal(out.width, 0);
	assert_int_equal(out.height, 0);
	g_error_free(error);
}

static void
test_round_trip_rgb(void **state)
{
	(void)state;
	Image img = face();
	g_autoptr(GBytes) jpg = encode(&img, 90);
	gsize n = 0;
	const uint8_t *p = g_bytes_get_data(jpg, &n);
	assert_true(n > 1000 && n < (gsize)img.width * img.height * 3 / 10);
	assert_int_equal(p[0], 0xFF);
	assert_int_equal(p[1], 0xD8);
	assert_int_equal(p[n - 2], 0xFF);
	assert_int_equal(p[n - 1], 0xD9);

	Image back = { 0 };
	GError *error = NULL;
	assert_int_equal(image_jpeg_decode(p, n, &rgb_limits, &back, &error), 0);
	assert_int_equal(back.width, img.width);
	assert_int_equal(back.height, img.height);
	assert_int_equal(back.channels, 3);
	assert_int_equal(back.ppi, 300);
	double err = mean_abs_error(&img, &back);
	print_message("# RGB 480x640 q90: %zu bytes, mean error %.2f\n", (size_t)n, err);
	assert_true(err < 4.0);
	image_clear(&back);
	image_clear(&img);
}

static void
test_round_trip_grey(void **state)
{
	(void)state;
	Image img = signature();
	img.ppi = 0;
	g_autoptr(GBytes) jpg = encode(&img, 95);
	Image back = { 0 };
	gsize n = 0;
	const void *p = g_bytes_get_data(jpg, &n);
	assert_int_equal(image_jpeg_decode(p, n, &grey_limits, &back, NULL), 0);
	assert_int_equal(back.width, 400);
	assert_int_equal(back.height, 150);
	assert_int_equal(back.channels, 1);
	assert_int_equal(back.ppi, 0);
	assert_true(mean_abs_error(&img, &back) < 3.0);
	/* A grey JPEG is not a face. */
	expect_refused(p, n, &rgb_limits, IMAGE_ERROR_FORMAT, "greyscale");
	image_clear(&back);

	/* And a colour JPEG is not a signature. */
	Image f = face();
	g_autoptr(GBytes) colour = encode(&f, 75);
	p = g_bytes_get_data(colour, &n);
	expect_refused(p, n, &grey_limits, IMAGE_ERROR_FORMAT, "YCbCr");
	image_clear(&f);
	image_clear(&img);
}

static void
test_quality_orders_size(void **state)
{
	(void)state;
	Image img = face();
	size_t last = 0;
	static const int q[] = { 30, 50, 75, 95 };
	for (size_t i = 0; i < G_N_ELEMENTS(q); i++) {
		g_autoptr(GBytes) jpg = encode(&img, q[i]);
		size_t n = g_bytes_get_size(jpg);
		print_message("# q%d: %zu bytes\n", q[i], n);
		assert_true(n > last);
		last = n;
	}
	image_clear(&img);
}

static void
test_not_jpeg_and_truncated(void **state)
{
	(void)state;
	expect_refused("", 0, &rgb_limits, IMAGE_ERROR_CORRUPT, "not a JPEG");
	expect_refused("\x89PNG\r\n\x1a\n", 8, &rgb_limits, IMAGE_ERROR_CORRUPT, "not a JPEG");
	expect_refused("\xFF\xD8", 2, &rgb_limits, IMAGE_ERROR_CORRUPT, "not a JPEG");

	Image img = signature();
	Image small = { 0 };
	assert_int_equal(image_scale(&img, 100, 38, &small, NULL), 0);
	g_autoptr(GBytes) jpg = encode(&small, 60);
	gsize n = 0;
	const uint8_t *p = g_bytes_get_data(jpg, &n);
	/* Every truncation, from the SOI on, is refused (libjpeg alone would pad it). */
	for (size_t cut = 3; cut < n; cut++)
		expect_refused(p, cut, &grey_limits, IMAGE_ERROR_CORRUPT, NULL);

	/* Bytes after EOI. */
	g_autofree uint8_t *more = g_malloc(n + 3);
	memcpy(more, p, n);
	memcpy(more + n, "abc", 3);
	expect_refused(more, n + 3, &grey_limits, IMAGE_ERROR_CORRUPT, "3 bytes after its EOI");

	/* An invalid marker in the middle of the entropy-coded data. */
	g_autofree uint8_t *bad = g_memdup2(p, n);
	bad[n - 20] = 0xFF;
	bad[n - 19] = 0x01;
	expect_refused(bad, n, &grey_limits, IMAGE_ERROR_CORRUPT, "damaged");
	image_clear(&small);
	image_clear(&img);
}

static void
test_limits(void **state)
{
	(void)state;
	Image img = face();
	g_autoptr(GBytes) jpg = encode(&img, 50);
	gsize n = 0;
	const void *p = g_bytes_get_data(jpg, &n);
	ImageLimits lim = rgb_limits;
	lim.max_width = 479;
	expect_refused(p, n, &lim, IMAGE_ERROR_SIZE, "width 480");
	lim = rgb_limits;
	lim.min_height = 641;
	expect_refused(p, n, &lim, IMAGE_ERROR_SIZE, "height 640");
	lim = rgb_limits;
	lim.max_bytes = 480 * 640 * 3 - 1;
	expect_refused(p, n, &lim, IMAGE_ERROR_SIZE, "bytes");
	lim.max_bytes++;
	Image back = { 0 };
	assert_int_equal(image_jpeg_decode(p, n, &lim, &back, NULL), 0);
	image_clear(&back);
	image_clear(&img);
}

/* ---- fixtures made with libjpeg ---- */

/* A W x H JPEG of COMPONENTS in colour space CS, optionally with a custom scan script. */
static GBytes *
libjpeg_write(int w, int h, int components, J_COLOR_SPACE cs, const jpeg_scan_info *scans,
	      int nscans)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr err;
	unsigned char *buf = NULL;
	unsigned long len = 0;
	c.err = jpeg_std_error(&err);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &buf, &len);
	c.image_width = (JDIMENSION)w;
	c.image_height = (JDIMENSION)h;
	c.input_components = components;
	c.in_color_space = cs;
	jpeg_set_defaults(&c);
	if (scans) {
		c.scan_info = scans;
		c.num_scans = nscans;
	}
	jpeg_start_compress(&c, TRUE);
	g_autofree JSAMPLE *row = g_malloc((size_t)w * components);
	for (int y = 0; y < h; y++) {
		for (int i = 0; i < w * components; i++)
			row[i] = (JSAMPLE)(i * 5 + y * 3);
		JSAMPROW r = row;
		jpeg_write_scanlines(&c, &r, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	GBytes *b = g_bytes_new(buf, len);
	free(buf);
	return b;
}

static void
test_cmyk_refused(void **state)
{
	(void)state;
	g_autoptr(GBytes) jpg = libjpeg_write(32, 32, 4, JCS_CMYK, NULL, 0);
	gsize n = 0;
	const void *p = g_bytes_get_data(jpg, &n);
	expect_refused(p, n, &rgb_limits, IMAGE_ERROR_FORMAT, "CMYK");
	expect_refused(p, n, &grey_limits, IMAGE_ERROR_FORMAT, "CMYK");
}

/*
 * A greyscale progressive script of 1 + 63 + 63 + 1 = 128 scans: the DC
 * and each AC coefficient at half precision, then each refined.  Legal,
 * and more than the decoder allows.
 */
static void
test_too_many_scans(void **state)
{
	(void)state;
	jpeg_scan_info s[128];
	int k = 0;
	s[k++] = (jpeg_scan_info){ 1, { 0 }, 0, 0, 0, 1 };
	for (int i = 1; i <= 63; i++)
		s[k++] = (jpeg_scan_info){ 1, { 0 }, i, i, 0, 1 };
	s[k++] = (jpeg_scan_info){ 1, { 0 }, 0, 0, 1, 0 };
	for (int i = 1; i <= 63; i++)
		s[k++] = (jpeg_scan_info){ 1, { 0 }, i, i, 1, 0 };
	g_autoptr(GBytes) many = libjpeg_write(16, 16, 1, JCS_GRAYSCALE, s, k);
	gsize n = 0;
	const void *p = g_bytes_get_data(many, &n);
	expect_refused(p, n, &grey_limits, IMAGE_ERROR_CORRUPT, "more than 100 scans");

	/* The same scheme in 64 scans (no refinement) decodes. */
	for (int i = 0; i < 64; i++)
		s[i].Al = 0;
	g_autoptr(GBytes) fewer = libjpeg_write(16, 16, 1, JCS_GRAYSCALE, s, 64);
	p = g_bytes_get_data(fewer, &n);
	Image out = { 0 };
	GError *error = NULL;
	if (image_jpeg_decode(p, n, &grey_limits, &out, &error) < 0)
		fail_msg("64 scans: %s", error->message);
	assert_int_equal(out.width, 16);
	image_clear(&out);
}

static void
test_encode_refusals(void **state)
{
	(void)state;
	uint8_t px[12] = { 0 };
	Image ok = { 2, 2, 3, 0, px };
	GError *error = NULL;
	assert_null(image_jpeg_encode(&ok, 0, &error));
	assert_true(g_error_matches(error, IMAGE_ERROR, IMAGE_ERROR_FAILED));
	assert_non_null(strstr(error->message, "quality 0"));
	g_clear_error(&error);
	assert_null(image_jpeg_encode(&ok, 101, &error));
	g_clear_error(&error);
	Image two = { 2, 2, 2, 0, px };
	assert_null(image_jpeg_encode(&two, 75, &error));
	assert_non_null(strstr(error->message, "2 channels"));
	g_clear_error(&error);
	Image none = { 2, 2, 3, 0, NULL };
	assert_null(image_jpeg_encode(&none, 75, &error));
	g_clear_error(&error);
	Image huge = { 70000, 1, 1, 0, px };
	assert_null(image_jpeg_encode(&huge, 75, &error));
	g_clear_error(&error);
	/* The smallest image encodes, at both ends of the quality scale. */
	g_autoptr(GBytes) q1 = image_jpeg_encode(&ok, 1, NULL);
	g_autoptr(GBytes) q100 = image_jpeg_encode(&ok, 100, NULL);
	assert_non_null(q1);
	assert_non_null(q100);
}

/* ---- resampling ---- */

static void
test_scale_flat_and_checker(void **state)
{
	(void)state;
	/* A flat colour stays exactly that colour at any size. */
	uint8_t flat[30 * 20 * 3];
	for (size_t i = 0; i < sizeof flat; i += 3) {
		flat[i] = 200;
		flat[i + 1] = 100;
		flat[i + 2] = 7;
	}
	Image f = { 30, 20, 3, 0, flat };
	static const int sizes[][2] = { { 1, 1 }, { 7, 5 }, { 30, 20 }, { 97, 61 }, { 3, 40 } };
	for (size_t k = 0; k < G_N_ELEMENTS(sizes); k++) {
		Image out = { 0 };
		assert_int_equal(image_scale(&f, sizes[k][0], sizes[k][1], &out, NULL), 0);
		assert_int_equal(out.width, sizes[k][0]);
		assert_int_equal(out.height, sizes[k][1]);
		assert_int_equal(out.channels, 3);
		for (int i = 0; i < out.width * out.height; i++) {
			assert_int_equal(out.pixels[3 * i], 200);
			assert_int_equal(out.pixels[3 * i + 1], 100);
			assert_int_equal(out.pixels[3 * i + 2], 7);
		}
		image_clear(&out);
	}

	/* A one-pixel checkerboard shrunk by 4.3: every output pixel is mid-grey. */
	enum { W = 600, H = 800 };
	g_autofree uint8_t *chk = g_malloc(W * H);
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			chk[y * W + x] = (x + y) & 1 ? 255 : 0;
	Image c = { W, H, 1, 600, chk };
	Image out = { 0 };
	assert_int_equal(image_scale(&c, 140, 187, &out, NULL), 0);
	int lo = 255, hi = 0;
	for (int i = 0; i < out.width * out.height; i++) {
		lo = MIN(lo, out.pixels[i]);
		hi = MAX(hi, out.pixels[i]);
	}
	print_message("# checkerboard 600x800 -> 140x187: %d..%d\n", lo, hi);
	assert_true(lo >= 110 && hi <= 145);
	assert_int_equal(out.ppi, 140); /* 600 ppi * 140 / 600 */
	image_clear(&out);
}

static void
test_scale_up_ramp(void **state)
{
	(void)state;
	uint8_t ramp[2] = { 0, 200 };
	Image r = { 2, 1, 1, 0, ramp };
	Image out = { 0 };
	assert_int_equal(image_scale(&r, 8, 3, &out, NULL), 0);
	/* Monotonic across, the same in every row, the ends held by the edge pixels. */
	for (int y = 0; y < 3; y++) {
		const uint8_t *row = out.pixels + y * 8;
		assert_int_equal(row[0], 0);
		assert_int_equal(row[7], 200);
		for (int x = 1; x < 8; x++)
			assert_true(row[x] >= row[x - 1]);
		assert_memory_equal(row, out.pixels, 8);
	}
	assert_true(out.pixels[3] > 20 && out.pixels[4] < 180);
	image_clear(&out);
}

static void
test_scale_refusals(void **state)
{
	(void)state;
	uint8_t px[4] = { 0 };
	Image ok = { 2, 2, 1, 0, px };
	Image out;
	GError *error = NULL;
	memset(&out, 0x5a, sizeof out);
	assert_int_equal(image_scale(&ok, 0, 5, &out, &error), -1);
	assert_true(g_error_matches(error, IMAGE_ERROR, IMAGE_ERROR_SIZE));
	assert_null(out.pixels);
	g_clear_error(&error);
	assert_int_equal(image_scale(&ok, 5, IMAGE_SCALE_MAX + 1, &out, &error), -1);
	assert_true(g_error_matches(error, IMAGE_ERROR, IMAGE_ERROR_SIZE));
	g_clear_error(&error);
	Image bad = { 2, 2, 4, 0, px };
	assert_int_equal(image_scale(&bad, 1, 1, &out, &error), -1);
	assert_true(g_error_matches(error, IMAGE_ERROR, IMAGE_ERROR_FAILED));
	g_clear_error(&error);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_rgb),
		cmocka_unit_test(test_round_trip_grey),
		cmocka_unit_test(test_quality_orders_size),
		cmocka_unit_test(test_not_jpeg_and_truncated),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_cmyk_refused),
		cmocka_unit_test(test_too_many_scans),
		cmocka_unit_test(test_encode_refusals),
		cmocka_unit_test(test_scale_flat_and_checker),
		cmocka_unit_test(test_scale_up_ramp),
		cmocka_unit_test(test_scale_refusals),
	};
	return cmocka_run_group_tests_name("jpeg", tests, NULL, NULL);
}
