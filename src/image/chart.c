/* SPDX-License-Identifier: MIT */
/*
 * Stock charts, drawn on an RGB canvas and written as PNG by image_png_encode().
 * Lines, grid and markers are drawn in whole pixels without anti-aliasing, so
 * each element keeps its exact colour: that keeps the chart crisp at its one
 * size, and lets the tests find every element by its colour in the decoded
 * image.  Only text is smooth: FreeType renders each glyph as an 8-bit
 * coverage bitmap, which is blended onto the canvas (no kerning, which nobody
 * misses at these sizes).  Each call opens its own FreeType library and face,
 * so calls on different threads share nothing; a chart takes a few
 * milliseconds per panel, most of it in the PNG encoder, so the daemon draws
 * it on a worker.
 */
#include "image/chart.h"

#include "image/image.h"

#include <ft2build.h>
#include FT_FREETYPE_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK(ektp-chart-error-quark, chart_error)

/* The canvas: a header with the legend, then one panel per series. */
#define CHART_W 1000
#define HEADER_H 36
#define PANEL_H 260

/* Limits that keep the canvas and the loops bounded (chart.h names them). */
#define MAX_SERIES 32
#define MAX_DAYS 36600
/* Beyond this a double no longer counts single cards, and the axis labels would not fit. */
#define MAX_VALUE 1e15
/* A y axis spans at least this much, so that its ticks stay far from underflow. */
#define MIN_RANGE 1e-9

/* Where things sit in a panel, in pixels from its left and top edges. */
#define PLOT_LEFT 84
#define PLOT_RIGHT (CHART_W - 30) /* inclusive */
#define PLOT_TOP 56
#define PLOT_BOTTOM 222 /* inclusive */
#define TITLE_BASE 22   /* baseline of the title */
#define SUB_BASE 44     /* baseline of the unit and "today", above the plot */
#define XLABEL_BASE 241 /* baseline of the dates */

#define TITLE_PX 16
#define LABEL_PX 13

/* GDate's Julian day numbers (0001-01-01 is day 1) of 1970-01-01 and of
 * 9999-12-31, the last date with a four-digit year. */
#define EPOCH_JULIAN 719163
#define LAST_JULIAN 3652059

/* A date axis longer than this shows years (YYYY-MM-DD) instead of "5 Mar". */
#define SHORT_DATES_MAX_DAYS 180

typedef struct {
	guint8 r, g, b;
} Rgb;

static const Rgb col_text = { 0x22, 0x22, 0x22 };
static const Rgb col_axis = { 0x77, 0x77, 0x77 };
static const Rgb col_grid = { 0xe4, 0xe4, 0xe4 };
static const Rgb col_today = { 0x99, 0x99, 0x99 };
static const Rgb col_history = { 0x1f, 0x77, 0xb4 };  /* strong blue */
static const Rgb col_forecast = { 0x94, 0x3f, 0xb8 }; /* purple */
static const Rgb col_low = { 0xe6, 0x9f, 0x00 };      /* amber */
static const Rgb col_critical = { 0xd6, 0x27, 0x28 }; /* red */

/* Debian's paths, the first that loads wins: fonts-liberation, fonts-liberation2,
 * fonts-dejavu-core. */
static const char *const font_paths[] = {
	"/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
	"/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
	"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
};

static const char *const month_names[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* ---- the canvas ---- */

typedef struct {
	Image img;
	int cx0, cy0, cx1, cy1; /* drawing is clipped to cx0 <= x < cx1, cy0 <= y < cy1 */
} Canvas;

static void
clip_to(Canvas *c, int x0, int y0, int x1, int y1)
{
	c->cx0 = MAX(x0, 0);
	c->cy0 = MAX(y0, 0);
	c->cx1 = MIN(x1, c->img.width);
	c->cy1 = MIN(y1, c->img.height);
}

static void
clip_none(Canvas *c)
{
	clip_to(c, 0, 0, c->img.width, c->img.height);
}

static inline guint8 *
pixel_at(Canvas *c, int x, int y)
{
	return c->img.pixels + ((size_t)y * (size_t)c->img.width + (size_t)x) * 3;
}

static inline gboolean
inside_clip(const Canvas *c, int x, int y)
{
	return x >= c->cx0 && x < c->cx1 && y >= c->cy0 && y < c->cy1;
}

static inline void
put(Canvas *c, int x, int y, Rgb col)
{
	if (!inside_clip(c, x, y))
		return;
	guint8 *p = pixel_at(c, x, y);
	p[0] = col.r;
	p[1] = col.g;
	p[2] = col.b;
}

/* Mixes COL into the pixel at X, Y with ALPHA out of 255. */
static inline void
blend(Canvas *c, int x, int y, Rgb col, int alpha)
{
	if (!inside_clip(c, x, y))
		return;
	guint8 *p = pixel_at(c, x, y);
	p[0] = (guint8)((p[0] * (255 - alpha) + col.r * alpha + 127) / 255);
	p[1] = (guint8)((p[1] * (255 - alpha) + col.g * alpha + 127) / 255);
	p[2] = (guint8)((p[2] * (255 - alpha) + col.b * alpha + 127) / 255);
}

/* Fills X0 <= x < X1, Y0 <= y < Y1. */
static void
fill(Canvas *c, int x0, int y0, int x1, int y1, Rgb col)
{
	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++)
			put(c, x, y, col);
}

/* A dash pattern in steps along a line's longer axis; it carries on across
 * the lines that share it. */
typedef struct {
	int on, off;
	int pos;
} Dash;

/*
 * Bresenham's line from (X0, Y0) to (X1, Y1), WIDTH pixels thick (a square
 * brush, which at 2 pixels looks the same at every slope), dashed when DASH
 * is given.  The coordinates are within the canvas, or a few pixels off it.
 */
static void
line(Canvas *c, double fx0, double fy0, double fx1, double fy1, int width, Rgb col, Dash *dash)
{
	int x0 = (int)lround(fx0), y0 = (int)lround(fy0);
	int x1 = (int)lround(fx1), y1 = (int)lround(fy1);
	int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
	int dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
	int err = dx + dy;
	int lo = -(width - 1) / 2, hi = width / 2;
	for (;;) {
		gboolean ink = !dash || dash->pos % (dash->on + dash->off) < dash->on;
		if (dash)
			dash->pos++;
		if (ink)
			for (int j = lo; j <= hi; j++)
				for (int i = lo; i <= hi; i++)
					put(c, x0 + i, y0 + j, col);
		if (x0 == x1 && y0 == y1)
			break;
		int e2 = 2 * err;
		if (e2 >= dy) {
			err += dy;
			x0 += sx;
		}
		if (e2 <= dx) {
			err += dx;
			y0 += sy;
		}
	}
}

/* ---- text ---- */

typedef struct {
	FT_Library lib;
	FT_Face face;
	int px; /* the pixel size set last; 0 for none */
} Font;

static void
font_close(Font *f)
{
	if (f->face)
		FT_Done_Face(f->face);
	if (f->lib)
		FT_Done_FreeType(f->lib);
	memset(f, 0, sizeof *f);
}

/* Opens the first of font_paths that FreeType can load.  Returns 0, or -1
 * with ERROR naming every path tried. */
static int
font_open(Font *f, GError **error)
{
	memset(f, 0, sizeof *f);
	FT_Error fe = FT_Init_FreeType(&f->lib);
	if (fe) {
		f->lib = NULL;
		g_set_error(error, CHART_ERROR, CHART_ERROR_FONT,
			    "FreeType: initialisation failed (error %d)", fe);
		return -1;
	}
	g_autoptr(GString) tried = g_string_new(NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(font_paths); i++) {
		fe = FT_New_Face(f->lib, font_paths[i], 0, &f->face);
		if (fe == 0 && FT_IS_SCALABLE(f->face))
			return 0;
		if (fe == 0)
			FT_Done_Face(f->face);
		f->face = NULL;
		g_string_append_printf(tried, "%s%s", i ? ", " : "", font_paths[i]);
	}
	g_set_error(error, CHART_ERROR, CHART_ERROR_FONT,
		    "no font for the chart: none of %s could be loaded "
		    "(Debian package fonts-liberation)",
		    tried->str);
	font_close(f);
	return -1;
}

static void
font_size(Font *f, int px)
{
	if (f->px == px)
		return;
	FT_Set_Pixel_Sizes(f->face, 0, (FT_UInt)px);
	f->px = px;
}

/* The character at *P, moving *P past it; '?' for a byte that is not UTF-8. */
static gunichar
next_char(const char **p)
{
	gunichar ch = g_utf8_get_char_validated(*p, -1);
	if (ch == (gunichar)-1 || ch == (gunichar)-2) {
		(*p)++;
		return '?';
	}
	*p = g_utf8_next_char(*p);
	return ch;
}

/* The advance of S at PX pixels, in pixels. */
static int
text_width(Font *f, int px, const char *s)
{
	font_size(f, px);
	FT_Pos w = 0;
	for (const char *p = s; *p;)
		if (FT_Load_Char(f->face, next_char(&p), FT_LOAD_DEFAULT) == 0)
			w += f->face->glyph->advance.x;
	return (int)((w + 32) >> 6);
}

/* Draws S (UTF-8; NULL draws nothing) at PX pixels from X on BASELINE. */
static void
text_draw(Canvas *c, Font *f, int px, int x, int baseline, const char *s, Rgb col)
{
	if (!s)
		return;
	font_size(f, px);
	FT_Pos pen = (FT_Pos)x * 64;
	for (const char *p = s; *p;) {
		if (FT_Load_Char(f->face, next_char(&p), FT_LOAD_RENDER) != 0)
			continue;
		FT_GlyphSlot g = f->face->glyph;
		const FT_Bitmap *bm = &g->bitmap;
		/* FT_LOAD_RENDER of an outline font gives top-down 8-bit coverage. */
		if (bm->pixel_mode == FT_PIXEL_MODE_GRAY && bm->pitch > 0) {
			int gx = (int)(pen >> 6) + g->bitmap_left;
			int gy = baseline - g->bitmap_top;
			for (unsigned r = 0; r < bm->rows; r++) {
				const unsigned char *row =
					bm->buffer + (size_t)r * (size_t)bm->pitch;
				for (unsigned k = 0; k < bm->width; k++)
					if (row[k])
						blend(c, gx + (int)k, gy + (int)r, col, row[k]);
			}
		}
		pen += g->advance.x;
	}
}

/* As text_draw(), with X the right end of the text. */
static void
text_draw_right(Canvas *c, Font *f, int px, int x, int baseline, const char *s, Rgb col)
{
	if (s)
		text_draw(c, f, px, x - text_width(f, px, s), baseline, s, col);
}

/* As text_draw(), centred on X but kept within MIN_X .. MAX_X. */
static void
text_draw_centred(Canvas *c, Font *f, int px, int x, int min_x, int max_x, int baseline,
		  const char *s, Rgb col)
{
	int w = text_width(f, px, s);
	x = CLAMP(x - w / 2, min_x, MAX(max_x - w, min_x));
	text_draw(c, f, px, x, baseline, s, col);
}

/* ---- axes ---- */

/* A panel's plot area and what its axes span. */
typedef struct {
	int left, right, top, bottom; /* canvas pixels, all inclusive */
	double lo, hi;                /* the values at the bottom and at the top, lo < hi */
	int span;                     /* days from the first on the x axis to the last, >= 1 */
} Plot;

static double
plot_x(const Plot *p, double day)
{
	return p->left + day * (p->right - p->left) / p->span;
}

static double
plot_y(const Plot *p, double v)
{
	return p->bottom - (v - p->lo) * (p->bottom - p->top) / (p->hi - p->lo);
}

/* The y axis's ticks: K * STEP for FIRST <= K <= LAST. */
typedef struct {
	double step;
	gint64 first, last;
	int decimals; /* in the labels; -1: %g, for huge or tiny steps */
} Ticks;

/*
 * "Nice" ticks (1, 2, 2.5 or 5 times a power of ten apart) covering LO .. HI
 * (LO <= 0 <= HI, LO < HI) in at most four intervals: at most five labels.
 * Both ends are ticks, so the plot spans FIRST * STEP .. LAST * STEP.
 */
static void
ticks_choose(double lo, double hi, Ticks *t)
{
	static const double mult[] = { 1, 2, 2.5, 5, 10, 20, 25, 50, 100 };
	double mag = pow(10, floor(log10((hi - lo) / 4)));
	for (gsize i = 0; i < G_N_ELEMENTS(mult); i++) {
		t->step = mult[i] * mag;
		/* Both quotients are within +-5: LO and HI are no further from 0 than HI - LO. */
		t->first = (gint64)floor(lo / t->step + 1e-9);
		t->last = (gint64)ceil(hi / t->step - 1e-9);
		if (t->last - t->first <= 4)
			break;
	}
	double top = MAX(fabs((double)t->first), fabs((double)t->last)) * t->step;
	t->decimals = -1;
	if (top < 1e9 && t->step >= 1e-4)
		for (int d = 0; d <= 4; d++) {
			double scaled = t->step * pow(10, d);
			if (fabs(scaled - round(scaled)) < 1e-6 * scaled) {
				t->decimals = d;
				break;
			}
		}
}

/* The label of tick K, in BUF (locale-independent: always a decimal point). */
static void
tick_label(const Ticks *t, gint64 k, char *buf, gsize len)
{
	char fmt[8] = "%g";
	if (t->decimals >= 0)
		g_snprintf(fmt, sizeof fmt, "%%.%df", t->decimals);
	g_ascii_formatd(buf, (int)len, fmt, (double)k * t->step);
}

/* "5 Mar", or "2024-03-05" when LONG_FORM, for DAY (days since 1970-01-01). */
static void
date_label(gint64 day, gboolean long_form, char *buf, gsize len)
{
	GDate d;
	g_date_clear(&d, 1);
	g_date_set_julian(&d, (guint32)(day + EPOCH_JULIAN));
	if (long_form)
		g_snprintf(buf, len, "%04d-%02d-%02d", g_date_get_year(&d), g_date_get_month(&d),
			   g_date_get_day(&d));
	else
		g_snprintf(buf, len, "%d %s", g_date_get_day(&d),
			   month_names[g_date_get_month(&d) - 1]);
}

/* Days between date labels: the shortest of a few calendar-like steps that
 * leaves room for each label on an axis of SPAN days over WIDTH pixels. */
static int
day_step(Font *f, gboolean long_form, int span, int width)
{
	static const int steps[] = {
		1, 2, 3, 7, 14, 28, 56, 91, 182, 364, 728, 1820, 3640, 7280, 18200, 36400,
	};
	int room = text_width(f, LABEL_PX, long_form ? "2000-00-00" : "30 May") + 28;
	for (gsize i = 0; i < G_N_ELEMENTS(steps); i++)
		if ((double)steps[i] * width / span >= room)
			return steps[i];
	return steps[G_N_ELEMENTS(steps) - 1];
}

/* ---- drawing ---- */

static void
legend_draw(Canvas *c, Font *f)
{
	static const struct {
		const char *label;
		const Rgb *col;
		int kind; /* 0 solid line, 1 dashed, 2 the vertical marker */
	} items[] = {
		{ "history", &col_history, 0 },
		{ "forecast", &col_forecast, 1 },
		{ "today", &col_today, 2 },
		{ "low", &col_low, 0 },
		{ "critical", &col_critical, 0 },
	};
	const int base = 24, mid = base - 5;
	int x = PLOT_LEFT;
	clip_none(c);
	for (gsize i = 0; i < G_N_ELEMENTS(items); i++) {
		Dash dash = { .on = 9, .off = 6 };
		if (items[i].kind == 2)
			fill(c, x + 12, mid - 7, x + 13, mid + 8, *items[i].col);
		else
			line(c, x, mid, x + 26, mid, 2, *items[i].col,
			     items[i].kind ? &dash : NULL);
		x += 32;
		text_draw(c, f, LABEL_PX, x, base, items[i].label, col_text);
		x += text_width(f, LABEL_PX, items[i].label) + 24;
	}
}

/* Draws a threshold line at V; returns its y. */
static int
threshold_line(Canvas *c, const Plot *p, double v, Rgb col)
{
	int y = (int)lround(plot_y(p, v));
	clip_to(c, p->left, p->top - 1, p->right + 2, p->bottom + 2);
	line(c, p->left, y, p->right, y, 2, col, NULL);
	clip_none(c);
	return y;
}

/* The baseline of a threshold's label by its line at Y: above the line, or
 * below it when BELOW, and on the other side when the plot has no room. */
static int
threshold_label_base(const Plot *p, int y, gboolean below)
{
	int cap = LABEL_PX * 3 / 4; /* about the height of a capital */
	if (below && y + 5 + cap > p->bottom - 2)
		below = FALSE;
	if (!below && y - 4 - cap < p->top)
		below = TRUE;
	return below ? y + 5 + cap : y - 4;
}

static void
panel_draw(Canvas *c, Font *f, const ChartSeries *s, int y0, gint64 first_day, int forecast_days)
{
	int days = s->n - 1 + forecast_days; /* the x axis: day 0 .. DAYS, today is day n - 1 */
	int today_i = s->n - 1;
	double today = s->level[today_i];
	Plot p = {
		.left = PLOT_LEFT,
		.right = PLOT_RIGHT,
		.top = y0 + PLOT_TOP,
		.bottom = y0 + PLOT_BOTTOM,
		.span = MAX(days, 1),
	};

	/* The y axis spans zero, every level and the thresholds drawn; the
	 * forecast lies between today's level and zero. */
	double lo = 0, hi = 0;
	for (int i = 0; i < s->n; i++) {
		lo = MIN(lo, s->level[i]);
		hi = MAX(hi, s->level[i]);
	}
	hi = MAX(hi, MAX(s->low, s->critical));
	if (hi - lo < MIN_RANGE)
		hi = lo + 4; /* all zero, or as good as: an axis of 0 .. 4 rather than none */
	Ticks t;
	ticks_choose(lo, hi, &t);
	p.lo = (double)t.first * t.step;
	p.hi = (double)t.last * t.step;

	clip_none(c);
	if (y0 > HEADER_H)
		fill(c, 0, y0, c->img.width, y0 + 1, col_grid);
	text_draw(c, f, TITLE_PX, 12, y0 + TITLE_BASE, s->title, col_text);
	text_draw_right(c, f, LABEL_PX, p.left - 8, y0 + SUB_BASE, s->unit, col_axis);

	/* The grid and the y axis's labels. */
	for (gint64 k = t.first; k <= t.last; k++) {
		char buf[48];
		int y = (int)lround(plot_y(&p, (double)k * t.step));
		fill(c, p.left, y, p.right + 1, y + 1, col_grid);
		fill(c, p.left - 4, y, p.left, y + 1, col_axis);
		tick_label(&t, k, buf, sizeof buf);
		text_draw_right(c, f, LABEL_PX, p.left - 8, y + LABEL_PX * 36 / 100, buf, col_text);
	}

	/* The dates, counted from today both ways so that today has one. */
	gboolean long_form = days > SHORT_DATES_MAX_DAYS;
	int step = day_step(f, long_form, p.span, p.right - p.left);
	for (int d = today_i % step; d <= days; d += step) {
		char buf[32];
		int x = (int)lround(plot_x(&p, d));
		fill(c, x, p.top, x + 1, p.bottom, col_grid);
		fill(c, x, p.bottom + 1, x + 1, p.bottom + 5, col_axis);
		date_label(first_day + d, long_form, buf, sizeof buf);
		text_draw_centred(c, f, LABEL_PX, x, 2, c->img.width - 2, y0 + XLABEL_BASE, buf,
				  col_text);
	}

	/* The axes, under the data: a level of zero shows on the x axis. */
	fill(c, p.left, p.bottom, p.right + 1, p.bottom + 1, col_axis);
	fill(c, p.left, p.top, p.left + 1, p.bottom + 1, col_axis);

	/* The thresholds, labelled at the right: "low" above its line and
	 * "critical" below its own, side by side when they would overlap. */
	int low_base = G_MININT / 2, crit_base = G_MININT / 2;
	if (s->low >= 0) {
		low_base = threshold_label_base(&p, threshold_line(c, &p, s->low, col_low), FALSE);
		text_draw_right(c, f, LABEL_PX, p.right - 4, low_base, "low", col_low);
	}
	if (s->critical >= 0) {
		int y = threshold_line(c, &p, s->critical, col_critical);
		int x = p.right - 4;
		crit_base = threshold_label_base(&p, y, TRUE);
		if (abs(crit_base - low_base) < LABEL_PX + 2)
			x -= text_width(f, LABEL_PX, "low") + 10;
		text_draw_right(c, f, LABEL_PX, x, crit_base, "critical", col_critical);
	}

	int today_x = (int)lround(plot_x(&p, today_i));
	fill(c, today_x, p.top, today_x + 1, p.bottom, col_today);
	text_draw_centred(c, f, LABEL_PX, today_x, p.left + 2, c->img.width - 4, y0 + SUB_BASE,
			  "today", col_axis);

	/* The forecast: down at RATE a day until it reaches zero or the edge; flat
	 * when nothing is used.  A level already at or below zero has none. */
	clip_to(c, p.left, p.top - 1, p.right + 2, p.bottom + 2);
	double end = forecast_days, end_level = today;
	gboolean empties = FALSE;
	if (s->rate > 0) {
		if (today <= 0) {
			end = 0;
		} else if (today / s->rate <= forecast_days) {
			end = today / s->rate;
			empties = TRUE;
		}
		end_level = MAX(today - s->rate * end, 0);
	}
	if (end > 0) {
		Dash dash = { .on = 9, .off = 6 };
		line(c, plot_x(&p, today_i), plot_y(&p, today), plot_x(&p, today_i + end),
		     plot_y(&p, end_level), 2, col_forecast, &dash);
	}

	/* The history over it all, a dot when there is only today. */
	for (int i = 1; i < s->n; i++)
		line(c, plot_x(&p, i - 1), plot_y(&p, s->level[i - 1]), plot_x(&p, i),
		     plot_y(&p, s->level[i]), 2, col_history, NULL);
	clip_none(c);
	if (s->n == 1) {
		int x = today_x, y = (int)lround(plot_y(&p, today));
		fill(c, x - 2, y - 2, x + 3, y + 3, col_history);
	}

	if (empties) {
		char date[32], buf[48];
		int x = (int)lround(plot_x(&p, today_i + end));
		int y = (int)lround(plot_y(&p, 0)) - 6;
		/* Above the thresholds' labels when they are near zero too. */
		for (int i = 0; i < 2; i++)
			if (abs(y - low_base) < LABEL_PX + 2 || abs(y - crit_base) < LABEL_PX + 2)
				y -= LABEL_PX + 4;
		date_label(first_day + today_i + (gint64)ceil(end - 1e-9), long_form, date,
			   sizeof date);
		g_snprintf(buf, sizeof buf, "empty %s", date);
		text_draw(c, f, LABEL_PX, MIN(x + 6, p.right - 2 - text_width(f, LABEL_PX, buf)), y,
			  buf, col_text);
	}
}

/* ---- checking the input ---- */

static gboolean
value_ok(double v)
{
	return isfinite(v) && fabs(v) <= MAX_VALUE;
}

static int
check_series(const ChartSeries *s, guint i, gint64 first_day, int forecast_days, GError **error)
{
	g_autofree char *name = g_utf8_make_valid(s->title ? s->title : "untitled", -1);
	const char *what = NULL;
	if (s->n < 1 || s->n > MAX_DAYS) {
		g_set_error(error, CHART_ERROR, CHART_ERROR_INVALID,
			    "chart series %u (%s) has %d days of history; it needs 1 to %d", i,
			    name, s->n, MAX_DAYS);
		return -1;
	}
	if (!s->level) {
		g_set_error(error, CHART_ERROR, CHART_ERROR_INVALID,
			    "chart series %u (%s) has no levels", i, name);
		return -1;
	}
	for (int d = 0; d < s->n; d++) {
		if (!value_ok(s->level[d])) {
			g_set_error(error, CHART_ERROR, CHART_ERROR_INVALID,
				    "chart series %u (%s): the level of day %d is %g; a level must "
				    "be a finite number within +-%g",
				    i, name, d, s->level[d], MAX_VALUE);
			return -1;
		}
	}
	if (!value_ok(s->rate))
		what = "rate";
	else if (!value_ok(s->low))
		what = "low threshold";
	else if (!value_ok(s->critical))
		what = "critical threshold";
	if (what) {
		g_set_error(error, CHART_ERROR, CHART_ERROR_INVALID,
			    "chart series %u (%s): the %s must be a finite number within +-%g", i,
			    name, what, MAX_VALUE);
		return -1;
	}
	/* FIRST_DAY is within the four-digit years (the caller checked): no overflow. */
	if (first_day + s->n - 1 + forecast_days > LAST_JULIAN - EPOCH_JULIAN) {
		g_set_error(error, CHART_ERROR, CHART_ERROR_INVALID,
			    "chart series %u (%s) runs past the year 9999", i, name);
		return -1;
	}
	return 0;
}

static int
check_input(const ChartSeries *series, guint n_series, gint64 first_day, int forecast_days,
	    GError **error)
{
	if (!series || n_series == 0 || n_series > MAX_SERIES) {
		g_set_error(error, CHART_ERROR, CHART_ERROR_INVALID,
			    "a chart needs 1 to %d series, not %u", MAX_SERIES,
			    series ? n_series : 0);
		return -1;
	}
	if (forecast_days < 0 || forecast_days > MAX_DAYS) {
		g_set_error(error, CHART_ERROR, CHART_ERROR_INVALID,
			    "a chart's forecast must be 0 to %d days, not %d", MAX_DAYS,
			    forecast_days);
		return -1;
	}
	if (first_day < 1 - EPOCH_JULIAN || first_day > LAST_JULIAN - EPOCH_JULIAN) {
		g_set_error(error, CHART_ERROR, CHART_ERROR_INVALID,
			    "a chart's first day (%" G_GINT64_FORMAT
			    " days from 1970-01-01) is outside the years 1 to 9999",
			    first_day);
		return -1;
	}
	for (guint i = 0; i < n_series; i++)
		if (check_series(&series[i], i, first_day, forecast_days, error) < 0)
			return -1;
	return 0;
}

/* ---- the chart ---- */

GBytes *
chart_png(const ChartSeries *series, guint n_series, gint64 first_day, int forecast_days,
	  GError **error)
{
	if (check_input(series, n_series, first_day, forecast_days, error) < 0)
		return NULL;
	Font font;
	if (font_open(&font, error) < 0)
		return NULL;

	Canvas c = { .img = { .width = CHART_W,
			      .height = HEADER_H + (int)n_series * PANEL_H,
			      .channels = 3 } };
	size_t bytes = (size_t)c.img.width * (size_t)c.img.height * 3;
	c.img.pixels = g_malloc(bytes);
	memset(c.img.pixels, 0xff, bytes);
	clip_none(&c);

	legend_draw(&c, &font);
	for (guint i = 0; i < n_series; i++)
		panel_draw(&c, &font, &series[i], HEADER_H + (int)i * PANEL_H, first_day,
			   forecast_days);
	font_close(&font);

	GBytes *png = image_png_encode(&c.img, error);
	image_clear(&c.img);
	return png;
}
