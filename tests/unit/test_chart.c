/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for image/chart.c.  Each chart is decoded back with
 * image_png_decode() and looked at pixel by pixel.  The chart draws its lines
 * without anti-aliasing, each element in its own colour (the COL_ values
 * below are the ones chart.c uses), so an element is present where its exact
 * colour is; text is anti-aliased and found as dark pixels.  The legend in
 * the header shows every colour, so the checks look only inside the panels.
 *
 * The size for one and three panels; the history line in each panel, falling
 * where the levels fall and ending at today; the title drawn in the font
 * (dark pixels where the title is, none without a title, different pixels
 * for a different title) and the axis labels; the forecast line right of
 * today, falling with a positive rate, reaching zero where it should, flat
 * and dashed with a rate of 0, and absent without forecast days; the
 * threshold lines only when set, low above critical; awkward input (all
 * zero, one day, huge, tiny and negative levels, years of history, no
 * title, a title that is not UTF-8); and the refusals.  Nothing may leak
 * (make check-asan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <math.h>
#include <string.h>

#include "image/chart.h"
#include "image/image.h"

/* The layout chart.h promises. */
#define CHART_W 1000
#define HEADER_H 36
#define PANEL_H 260
/* The title's band at the top of a panel. */
#define TITLE_H 30

#define COL_HISTORY 0x1f77b4
#define COL_FORECAST 0x943fb8
#define COL_LOW 0xe69f00
#define COL_CRITICAL 0xd62728

/* 2024-01-01 */
#define JAN_1_2024 19723

/* ---- drawing and decoding ---- */

/* Draws the chart and decodes it into OUT (caller clears); fails the test if either fails. */
static void
draw(const ChartSeries *s, guint n, int forecast_days, Image *out)
{
	GError *error = NULL;
	g_autoptr(GBytes) png = chart_png(s, n, JAN_1_2024, forecast_days, &error);
	if (!png)
		fail_msg("chart_png: %s", error->message);
	ImageLimits lim = { .channels = 3,
			    .min_width = 1,
			    .max_width = 4000,
			    .min_height = 1,
			    .max_height = 40000,
			    .max_bytes = (size_t)1 << 28 };
	gsize len = 0;
	const void *data = g_bytes_get_data(png, &len);
	if (image_png_decode(data, len, &lim, out, &error) < 0)
		fail_msg("image_png_decode: %s", error->message);
}

/* Where pixels of one colour are within a rectangle. */
typedef struct {
	int count;
	int min_x, max_x, min_y, max_y;
	/* The topmost such pixel in the leftmost column, and in the rightmost. */
	int y_at_min_x, y_at_max_x;
} Found;

static const uint8_t *
px(const Image *img, int x, int y)
{
	return img->pixels + ((size_t)y * (size_t)img->width + (size_t)x) * 3;
}

static gboolean
is_colour(const uint8_t *p, guint32 rgb)
{
	return p[0] == (rgb >> 16 & 0xff) && p[1] == (rgb >> 8 & 0xff) && p[2] == (rgb & 0xff);
}

/* Finds the pixels of colour RGB in X0 <= x < X1, Y0 <= y < Y1. */
static Found
find(const Image *img, guint32 rgb, int x0, int y0, int x1, int y1)
{
	Found f = { .min_x = G_MAXINT, .max_x = -1, .min_y = G_MAXINT, .max_y = -1 };
	for (int x = x0; x < x1; x++) {
		for (int y = y0; y < y1; y++) {
			if (!is_colour(px(img, x, y), rgb))
				continue;
			if (f.count == 0 || x < f.min_x)
				f.y_at_min_x = y;
			if (x > f.max_x)
				f.y_at_max_x = y;
			f.count++;
			f.min_x = MIN(f.min_x, x);
			f.max_x = MAX(f.max_x, x);
			f.min_y = MIN(f.min_y, y);
			f.max_y = MAX(f.max_y, y);
		}
	}
	return f;
}

/* Finds colour RGB anywhere in panel K. */
static Found
find_in_panel(const Image *img, guint32 rgb, int k)
{
	int top = HEADER_H + k * PANEL_H;
	return find(img, rgb, 0, top, img->width, top + PANEL_H);
}

/* How many pixels darker than mid-grey (text) there are in the rectangle. */
static int
count_dark(const Image *img, int x0, int y0, int x1, int y1)
{
	int n = 0;
	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++) {
			const uint8_t *p = px(img, x, y);
			if (p[0] < 128 && p[1] < 128 && p[2] < 128)
				n++;
		}
	return n;
}

/* Levels falling steadily from FROM by STEP a day. */
static double *
falling(int n, double from, double step)
{
	double *v = g_new(double, n);
	for (int i = 0; i < n; i++)
		v[i] = from - step * i;
	return v;
}

/* ---- tests ---- */

static void
test_size(void **state)
{
	(void)state;
	g_autofree double *lv = falling(10, 100, 3);
	ChartSeries s[3] = {
		{ .title = "a", .unit = "card", .n = 10, .level = lv, .low = -1, .critical = -1 },
		{ .title = "b", .unit = "roll", .n = 10, .level = lv, .low = -1, .critical = -1 },
		{ .title = "c", .unit = "card", .n = 10, .level = lv, .low = -1, .critical = -1 },
	};
	Image img;
	draw(s, 1, 30, &img);
	assert_int_equal(img.width, CHART_W);
	assert_int_equal(img.height, HEADER_H + PANEL_H);
	image_clear(&img);
	draw(s, 3, 30, &img);
	assert_int_equal(img.width, CHART_W);
	assert_int_equal(img.height, HEADER_H + 3 * PANEL_H);
	image_clear(&img);
}

static void
test_history_in_each_panel(void **state)
{
	(void)state;
	g_autofree double *down = falling(31, 300, 5);
	g_autofree double *up = falling(31, 0, -2);
	g_autofree double *flat = falling(31, 42, 0);
	ChartSeries s[3] = {
		{ .title = "down", .unit = "card", .n = 31, .level = down, .low = -1,
		  .critical = -1 },
		{ .title = "up", .unit = "card", .n = 31, .level = up, .low = -1,
		  .critical = -1 },
		{ .title = "flat", .unit = "card", .n = 31, .level = flat, .low = -1,
		  .critical = -1 },
	};
	Image img;
	draw(s, 3, 30, &img);
	for (int k = 0; k < 3; k++) {
		Found h = find_in_panel(&img, COL_HISTORY, k);
		/* 30 days across half the plot's 886 pixels, 2 pixels thick. */
		if (h.count < 400)
			fail_msg("panel %d: %d pixels of the history line", k, h.count);
		/* 31 days of history and 30 of forecast: today is in the middle. */
		assert_true(h.max_x > 480 && h.max_x < 560);
		assert_true(h.min_x < 100);
		/* Inside the plot, below the title. */
		assert_true(h.min_y >= HEADER_H + k * PANEL_H + TITLE_H);
	}
	/* 300 to 150 on an axis of 0 to 300 over the plot's 166 pixels: 83 pixels down. */
	Found d = find_in_panel(&img, COL_HISTORY, 0);
	assert_true(d.y_at_max_x - d.y_at_min_x > 75);
	/* 0 to 60 on an axis of 0 to 60 (or a little more): nearly all the way up. */
	Found u = find_in_panel(&img, COL_HISTORY, 1);
	assert_true(u.y_at_min_x - u.y_at_max_x > 120);
	Found f = find_in_panel(&img, COL_HISTORY, 2);
	assert_true(f.max_y - f.min_y <= 2); /* flat, two pixels thick */
	image_clear(&img);
}

static void
test_title_and_labels(void **state)
{
	(void)state;
	g_autofree double *lv = falling(20, 80, 2);
	ChartSeries s = { .title = "blank-card: Blank PVC card",
			  .unit = "card",
			  .n = 20,
			  .level = lv,
			  .low = -1,
			  .critical = -1 };
	Image a, b, none;
	draw(&s, 1, 10, &a);
	s.title = "ribbon: YMCKO ribbon";
	draw(&s, 1, 10, &b);
	s.title = NULL;
	draw(&s, 1, 10, &none);

	int title_a = count_dark(&a, 0, HEADER_H, CHART_W / 2, HEADER_H + TITLE_H);
	if (title_a < 100)
		fail_msg("only %d dark pixels where the title is", title_a);
	assert_int_equal(count_dark(&none, 0, HEADER_H, CHART_W, HEADER_H + TITLE_H), 0);
	/* Another title, other pixels. */
	gboolean same = TRUE;
	for (int y = HEADER_H; y < HEADER_H + TITLE_H && same; y++)
		same = memcmp(px(&a, 0, y), px(&b, 0, y), (size_t)CHART_W * 3) == 0;
	assert_false(same);

	/* The y axis's numbers left of the plot, the dates under it, and the legend. */
	assert_true(count_dark(&a, 0, HEADER_H + 50, 80, HEADER_H + 230) > 50);
	assert_true(count_dark(&a, 0, HEADER_H + 226, CHART_W, HEADER_H + PANEL_H) > 100);
	assert_true(count_dark(&a, 0, 0, CHART_W, HEADER_H) > 100);
	image_clear(&a);
	image_clear(&b);
	image_clear(&none);
}

static void
test_forecast(void **state)
{
	(void)state;
	g_autofree double *lv = falling(31, 400, 5); /* 250 today */
	ChartSeries s = { .title = "forecast",
			  .unit = "card",
			  .n = 31,
			  .level = lv,
			  .rate = 2,
			  .low = -1,
			  .critical = -1 };
	Image img;

	/* Falling by 2 a day: 60 of 250 over the 30 days shown. */
	draw(&s, 1, 30, &img);
	Found h = find_in_panel(&img, COL_HISTORY, 0);
	Found f = find_in_panel(&img, COL_FORECAST, 0);
	assert_true(f.count > 100);
	assert_true(f.min_x >= h.max_x - 3);
	assert_true(f.max_x > 900);
	assert_true(f.y_at_max_x > f.y_at_min_x + 5);
	image_clear(&img);

	/* 25 a day: empty after 10 of the 30 days, a third of the way to the edge. */
	s.rate = 25;
	draw(&s, 1, 30, &img);
	h = find_in_panel(&img, COL_HISTORY, 0);
	f = find_in_panel(&img, COL_FORECAST, 0);
	double share = (double)(f.max_x - h.max_x) / (h.max_x - h.min_x);
	if (share < 0.28 || share > 0.40)
		fail_msg("the forecast ends %.2f of the history's width right of today", share);
	assert_true(f.y_at_max_x > f.y_at_min_x + 50);
	image_clear(&img);

	/* Nothing used: flat at today's level, dashed, right of today. */
	s.rate = 0;
	draw(&s, 1, 30, &img);
	h = find_in_panel(&img, COL_HISTORY, 0);
	f = find_in_panel(&img, COL_FORECAST, 0);
	assert_true(f.count > 100);
	assert_true(f.min_x >= h.max_x - 3);
	assert_true(f.max_y - f.min_y <= 2);
	assert_true(abs(f.min_y - h.y_at_max_x) <= 2);
	int gaps = 0;
	for (int x = f.min_x; x <= f.max_x; x++)
		if (find(&img, COL_FORECAST, x, f.min_y, x + 1, f.max_y + 1).count == 0)
			gaps++;
	assert_true(gaps > 50);
	image_clear(&img);

	/* No forecast days: no forecast line, and the history reaches the right edge. */
	s.rate = 2;
	draw(&s, 1, 0, &img);
	assert_int_equal(find_in_panel(&img, COL_FORECAST, 0).count, 0);
	assert_true(find_in_panel(&img, COL_HISTORY, 0).max_x > 960);
	image_clear(&img);

	/* Already empty: nothing to forecast going down. */
	double zero[3] = { 5, 1, 0 };
	s.level = zero;
	s.n = 3;
	draw(&s, 1, 30, &img);
	assert_int_equal(find_in_panel(&img, COL_FORECAST, 0).count, 0);
	image_clear(&img);
}

static void
test_thresholds(void **state)
{
	(void)state;
	g_autofree double *lv = falling(15, 100, 5);
	ChartSeries s[3] = {
		{ .title = "both", .unit = "card", .n = 15, .level = lv, .low = 40,
		  .critical = 10 },
		{ .title = "low", .unit = "card", .n = 15, .level = lv, .low = 40,
		  .critical = -1 },
		{ .title = "none", .unit = "card", .n = 15, .level = lv, .low = -1,
		  .critical = -1 },
	};
	Image img;
	draw(s, 3, 15, &img);
	Found low = find_in_panel(&img, COL_LOW, 0);
	Found crit = find_in_panel(&img, COL_CRITICAL, 0);
	/* Lines across the plot. */
	assert_true(low.count > 800 && low.max_x - low.min_x > 800);
	assert_true(crit.count > 800 && crit.max_x - crit.min_x > 800);
	assert_true(low.y_at_min_x < crit.y_at_min_x - 20);
	assert_true(find_in_panel(&img, COL_LOW, 1).count > 800);
	assert_int_equal(find_in_panel(&img, COL_CRITICAL, 1).count, 0);
	assert_int_equal(find_in_panel(&img, COL_LOW, 2).count, 0);
	assert_int_equal(find_in_panel(&img, COL_CRITICAL, 2).count, 0);
	image_clear(&img);

	/* A threshold above every level still shows: the axis reaches it. */
	s[0].low = 1000;
	draw(s, 1, 15, &img);
	assert_true(find_in_panel(&img, COL_LOW, 0).count > 800);
	image_clear(&img);
}

static void
test_awkward_input(void **state)
{
	(void)state;
	double zeros[5] = { 0 };
	double one[1] = { 7 };
	double huge[3] = { 1e15, 5e14, 1e14 };
	double negative[4] = { 3, 1, -2, -4 };
	double tiny[3] = { 1e-300, 3e-300, 2e-300 };
	g_autofree double *many = falling(3000, 3000, 1);
	const struct {
		ChartSeries s;
		int forecast_days;
	} cases[] = {
		{ { "all zero", "card", 5, zeros, 0, 0, 0 }, 30 },
		{ { "one day", "card", 1, one, 1, 2, 1 }, 30 },
		{ { "one day, no forecast", "card", 1, one, 1, -1, -1 }, 0 },
		{ { "huge", "card", 3, huge, 1e13, 1e15, -1 }, 30 },
		{ { "negative", "card", 4, negative, 1, -1, -1 }, 10 },
		{ { "tiny", "g", 3, tiny, 0, -1, -1 }, 10 },
		{ { "years of history", "card", 3000, many, 1, 100, 10 }, 365 },
		{ { NULL, NULL, 5, zeros, 0, -1, -1 }, 5 },
		{ { "not \xff\xfe UTF-8 \xe2\x82", "\xc3", 5, zeros, 0, -1, -1 }, 5 },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		Image img;
		draw(&cases[i].s, 1, cases[i].forecast_days, &img);
		if (find_in_panel(&img, COL_HISTORY, 0).count < 9)
			fail_msg("case %zu: no history line", i);
		image_clear(&img);
	}

	/* The same input, the same bytes. */
	g_autoptr(GBytes) a = chart_png(&cases[3].s, 1, JAN_1_2024, 30, NULL);
	g_autoptr(GBytes) b = chart_png(&cases[3].s, 1, JAN_1_2024, 30, NULL);
	assert_non_null(a);
	assert_true(g_bytes_equal(a, b));
}

/* Expects chart_png() to refuse S with CHART_ERROR_INVALID and a message containing WANT. */
static void
expect_refused(const ChartSeries *s, guint n, gint64 first_day, int forecast_days,
	       const char *want)
{
	GError *error = NULL;
	GBytes *png = chart_png(s, n, first_day, forecast_days, &error);
	if (png) {
		g_bytes_unref(png);
		fail_msg("accepted; expected a refusal naming \"%s\"", want);
	}
	assert_non_null(error);
	assert_true(g_error_matches(error, CHART_ERROR, CHART_ERROR_INVALID));
	if (!strstr(error->message, want))
		fail_msg("\"%s\" does not name \"%s\"", error->message, want);
	g_error_free(error);
}

static void
test_refusals(void **state)
{
	(void)state;
	double lv[3] = { 3, 2, 1 };
	double nan_lv[3] = { 3, NAN, 1 };
	ChartSeries ok = { "ok", "card", 3, lv, 1, -1, -1 };
	ChartSeries s;

	expect_refused(&ok, 0, JAN_1_2024, 30, "series");
	expect_refused(NULL, 1, JAN_1_2024, 30, "series");
	ChartSeries many[33];
	for (int i = 0; i < 33; i++)
		many[i] = ok;
	expect_refused(many, 33, JAN_1_2024, 30, "1 to 32 series");

	s = ok;
	s.n = 0;
	expect_refused(&s, 1, JAN_1_2024, 30, "days of history");
	s.n = -1;
	expect_refused(&s, 1, JAN_1_2024, 30, "days of history");
	s = ok;
	s.level = NULL;
	expect_refused(&s, 1, JAN_1_2024, 30, "no levels");
	s = ok;
	s.level = nan_lv;
	expect_refused(&s, 1, JAN_1_2024, 30, "day 1");
	s = ok;
	s.rate = INFINITY;
	expect_refused(&s, 1, JAN_1_2024, 30, "rate");
	s = ok;
	s.low = 1e300;
	expect_refused(&s, 1, JAN_1_2024, 30, "low threshold");
	s = ok;
	s.critical = NAN;
	expect_refused(&s, 1, JAN_1_2024, 30, "critical threshold");
	/* The second series is named in the message. */
	ChartSeries two[2] = { ok, ok };
	two[1].title = "second";
	two[1].n = 0;
	expect_refused(two, 2, JAN_1_2024, 30, "second");

	expect_refused(&ok, 1, JAN_1_2024, -1, "forecast");
	expect_refused(&ok, 1, -800000, 30, "first day");
	expect_refused(&ok, 1, G_MAXINT64, 30, "first day");
	expect_refused(&ok, 1, 2932896 - 2, 30, "9999");
	/* The last days there are, and the first, are drawn. */
	GBytes *png = chart_png(&ok, 1, 2932896 - 2, 0, NULL);
	assert_non_null(png);
	g_bytes_unref(png);
	png = chart_png(&ok, 1, -719162, 0, NULL);
	assert_non_null(png);
	g_bytes_unref(png);

	/* ERROR may be NULL. */
	assert_null(chart_png(NULL, 0, JAN_1_2024, 30, NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_history_in_each_panel),
		cmocka_unit_test(test_title_and_labels),
		cmocka_unit_test(test_forecast),
		cmocka_unit_test(test_thresholds),
		cmocka_unit_test(test_awkward_input),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests_name("chart", tests, NULL, NULL);
}
