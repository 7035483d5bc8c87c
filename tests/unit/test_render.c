/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for card/render.c, on the shipped layout config/card-layout.conf.
 *
 * Golden images: cards are rendered and compared with the PNGs under
 * tests/data/cards/ (README.md there says what each shows): a short name on
 * a red photo background, a blue background, a long name that shrinks, a
 * long address that wraps, the longest name of its kind that fits (and the
 * same name one letter longer, refused), and a believer's card with the
 * "Kepercayaan" row.  The goldens are kept at half scale (150 dpi) in grey,
 * which keeps every glyph, box and the photo's brightness where a regression
 * would move them at a quarter of the file size; colour is checked by itself
 * (test_colours).  A card matches when the mean absolute difference is
 * below GOLDEN_MEAN and fewer than GOLDEN_FAR_SHARE of the pixels differ by
 * more than GOLDEN_FAR: room for anti-aliasing to drift between FreeType
 * versions, none for a changed letter or digit (test_golden_tolerance shows
 * that the comparison fails on those).  Where a golden cannot tell, the
 * tests look at the card itself: whether a value took a second line, and
 * the colours.
 *
 * To regenerate the goldens after an intended change, from the repository
 * root:  EKTP_UPDATE_GOLDEN=1 TESTS=render tests/run  (then look at them).
 * EKTP_CARD_DUMP=DIR also writes every card rendered here at full size to DIR.
 *
 * Then the refusals: a value that cannot fit (CARD_ERROR_FIT naming the
 * field and by how much, with nothing drawn and the output left empty), bad
 * layout files (FILE:LINE and the rule), missing and unreadable fonts, and
 * bad input.  Last, the PNG form, and four threads rendering from one layout
 * at once.
 * Files are found under $EKTP_SOURCE_DIR, or the current directory (tests
 * run from the repository root).  Nothing may leak (make check-asan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "card/render.h"
#include "image/image.h"

/*
 * The tolerance.  A changed digit in RT/RW moves the mean by only 0.02 and
 * puts about 20 pixels (0.012%) more than 64 levels off, so the share of far
 * pixels must stay below that to catch it; anti-aliasing drift, halved again
 * by the half-scale form, moves pixels by a few levels, not 64.
 */
#define GOLDEN_MEAN 0.5          /* mean absolute difference, grey levels */
#define GOLDEN_FAR 64            /* a pixel this far off counts as wrong... */
#define GOLDEN_FAR_SHARE 0.00005 /* ...and fewer than this share (8 pixels) may be */

#define RED 0xDB1514
#define BLUE 0x0090FF

/* ---- files ---- */

static char *
source_path(const char *rel)
{
	const char *dir = g_getenv("EKTP_SOURCE_DIR");
	return g_build_filename(dir && *dir ? dir : ".", rel, NULL);
}

static CardLayout *
shipped_layout(void)
{
	g_autofree char *path = source_path("config/card-layout.conf");
	GError *error = NULL;
	CardLayout *l = card_layout_load(path, &error);
	if (!l)
		fail_msg("%s", error->message);
	return l;
}

static char *
shipped_text(void)
{
	g_autofree char *path = source_path("config/card-layout.conf");
	char *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		fail_msg("cannot read %s", path);
	return text;
}

/* ---- pictures drawn here, with integers only, so they never change ---- */

static gboolean
in_ellipse(int x, int y, int cx, int cy, int rx, int ry)
{
	long dx = x - cx, dy = y - cy;
	return dx * dx * ry * ry + dy * dy * rx * rx <= (long)rx * rx * ry * ry;
}

/* A 360x480 RGB portrait: flat BG, head, hair, eyes, mouth, shoulders. */
static Image
make_photo(guint32 bg)
{
	const int w = 360, h = 480;
	Image img = { w, h, 3, 0, g_malloc((size_t)w * h * 3) };
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			guint32 c = bg;
			if (y > 380 && in_ellipse(x, y, 180, 520, 170, 150))
				c = 0x2A3550; /* shirt */
			else if (in_ellipse(x, y, 180, 200, 95, 125)) {
				c = 0xD9A57E; /* face */
				if (y < 140 && !in_ellipse(x, y, 180, 175, 80, 70))
					c = 0x221A14; /* hair */
				if (in_ellipse(x, y, 145, 190, 12, 7) ||
				    in_ellipse(x, y, 215, 190, 12, 7))
					c = 0x2B1D14; /* eyes */
				if (in_ellipse(x, y, 180, 265, 28, 6))
					c = 0xA0524A; /* mouth */
			} else if (in_ellipse(x, y, 180, 150, 105, 95))
				c = 0x221A14;
			else if (y > 300 && in_ellipse(x, y, 180, 330, 40, 60))
				c = 0xC9956E; /* neck */
			guint8 *p = img.pixels + ((size_t)y * w + x) * 3;
			p[0] = (guint8)(c >> 16);
			p[1] = (guint8)(c >> 8);
			p[2] = (guint8)c;
		}
	return img;
}

/* A 400x150 grey signature: a pen stroke through a few points on white. */
static Image
make_signature(void)
{
	const int w = 400, h = 150;
	static const int pts[][2] = {
		{ 30, 110 }, { 60, 40 },   { 85, 115 }, { 110, 50 },  { 130, 95 },  { 160, 60 },
		{ 175, 100 }, { 210, 45 }, { 230, 105 }, { 265, 70 }, { 300, 90 }, { 370, 55 },
	};
	Image img = { w, h, 1, 0, g_malloc((size_t)w * h) };
	memset(img.pixels, 255, (size_t)w * h);
	for (size_t i = 0; i + 1 < G_N_ELEMENTS(pts); i++)
		for (int t = 0; t <= 100; t++) {
			int cx = pts[i][0] + (pts[i + 1][0] - pts[i][0]) * t / 100;
			int cy = pts[i][1] + (pts[i + 1][1] - pts[i][1]) * t / 100;
			for (int y = cy - 3; y <= cy + 3; y++)
				for (int x = cx - 3; x <= cx + 3; x++)
					if (in_ellipse(x, y, cx, cy, 3, 3))
						img.pixels[(size_t)y * w + x] = 25;
		}
	return img;
}

/* ---- the faces ---- */

typedef struct {
	Image photo, signature;
	CardFace face;
} Card;

/* A woman born in 2001 (odd: red background) in Kota Singkawang. */
static void
card_init(Card *c, guint32 background)
{
	c->photo = make_photo(background);
	c->signature = make_signature();
	c->face = (CardFace){
		.province_name = "Kalimantan Barat",
		.regency_name = "KOTA SINGKAWANG",
		.nik = "6172015708010003",
		.name = "SITI NURHALIZA",
		.birth_place = "SINGKAWANG",
		.birth_date = "2001-08-17",
		.gender = "PEREMPUAN",
		.blood_type = "O",
		.address = "JL. GUNUNG BENTUNG NO. 12",
		.rt_rw = "001/002",
		.village = "ROBAN",
		.kecamatan = "SINGKAWANG TENGAH",
		.religion = "ISLAM",
		.marital_status = "BELUM KAWIN",
		.occupation = "PELAJAR/MAHASISWA",
		.citizenship = "WNI",
		.valid_until = "SEUMUR HIDUP",
		.issue_place = "SINGKAWANG",
		.issue_date = "2024-03-05",
		.photo = &c->photo,
		.signature = &c->signature,
	};
}

static void
card_clear(Card *c)
{
	image_clear(&c->photo);
	image_clear(&c->signature);
}

static Image
render_ok(const CardLayout *l, const CardFace *face)
{
	Image out;
	GError *error = NULL;
	if (card_render(l, face, &out, &error) < 0)
		fail_msg("card_render: %s", error->message);
	assert_int_equal(out.width, CARD_WIDTH);
	assert_int_equal(out.height, CARD_HEIGHT);
	assert_int_equal(out.channels, 3);
	assert_int_equal(out.ppi, CARD_DPI);
	return out;
}

/* ---- goldens ---- */

/* CARD at half scale in grey: the form goldens are kept in. */
static Image
golden_form(const Image *card)
{
	int w = card->width / 2, h = card->height / 2;
	Image g = { w, h, 1, CARD_DPI / 2, g_malloc((size_t)w * h) };
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int sum = 0;
			for (int j = 0; j < 2; j++)
				for (int i = 0; i < 2; i++) {
					const guint8 *p =
						card->pixels +
						((size_t)(2 * y + j) * card->width + 2 * x + i) * 3;
					sum += (299 * p[0] + 587 * p[1] + 114 * p[2] + 500) / 1000;
				}
			g.pixels[(size_t)y * w + x] = (guint8)((sum + 2) / 4);
		}
	return g;
}

static void
write_png(const Image *img, const char *path)
{
	GError *error = NULL;
	g_autoptr(GBytes) png = image_png_encode(img, &error);
	if (!png)
		fail_msg("encode: %s", error->message);
	if (!g_file_set_contents(path, g_bytes_get_data(png, NULL),
				 (gssize)g_bytes_get_size(png), &error))
		fail_msg("%s", error->message);
}

static Image
read_golden(const char *path)
{
	g_autofree char *data = NULL;
	gsize len = 0;
	if (!g_file_get_contents(path, &data, &len, NULL))
		fail_msg("no golden %s: create it with EKTP_UPDATE_GOLDEN=1 TESTS=render tests/run",
			 path);
	ImageLimits lim = { 1, 1, CARD_WIDTH, 1, CARD_HEIGHT, (size_t)CARD_WIDTH * CARD_HEIGHT };
	Image g;
	GError *error = NULL;
	if (image_png_decode(data, len, &lim, &g, &error) < 0)
		fail_msg("%s: %s", path, error->message);
	return g;
}

typedef struct {
	double mean;
	double far_share;
} Diff;

static Diff
diff(const Image *a, const Image *b)
{
	assert_int_equal(a->width, b->width);
	assert_int_equal(a->height, b->height);
	size_t n = (size_t)a->width * a->height;
	double sum = 0;
	size_t far = 0;
	for (size_t i = 0; i < n; i++) {
		int d = abs(a->pixels[i] - b->pixels[i]);
		sum += d;
		far += d > GOLDEN_FAR;
	}
	return (Diff){ sum / n, (double)far / n };
}

static gboolean
diff_within(Diff d)
{
	return d.mean < GOLDEN_MEAN && d.far_share < GOLDEN_FAR_SHARE;
}

/* Compares CARD with tests/data/cards/NAME.png, or rewrites that file when
 * EKTP_UPDATE_GOLDEN is set. */
static void
check_golden(const Image *card, const char *name)
{
	g_autofree char *file = g_strdup_printf("tests/data/cards/%s.png", name);
	g_autofree char *path = source_path(file);
	Image mine = golden_form(card);
	const char *dump = g_getenv("EKTP_CARD_DUMP");
	if (dump && *dump) {
		g_autofree char *full = g_strdup_printf("%s/%s.png", dump, name);
		write_png(card, full);
	}
	if (g_getenv("EKTP_UPDATE_GOLDEN")) {
		write_png(&mine, path);
		print_message("# rewrote %s\n", path);
		image_clear(&mine);
		return;
	}
	Image golden = read_golden(path);
	Diff d = diff(&mine, &golden);
	if (!diff_within(d)) {
		g_autofree char *tmp =
			g_strdup_printf("%s/ektp-card-%s.png", g_get_tmp_dir(), name);
		write_png(&mine, tmp);
		fail_msg("%s: mean difference %.3f (limit %.1f), %.3f%% of pixels off by more "
			 "than %d (limit %.3f%%); this render is in %s",
			 path, d.mean, GOLDEN_MEAN, 100 * d.far_share, GOLDEN_FAR,
			 100 * GOLDEN_FAR_SHARE, tmp);
	}
	image_clear(&golden);
	image_clear(&mine);
}

static void
golden_case(const CardFace *face, const char *name)
{
	g_autoptr(CardLayout) l = shipped_layout();
	Image out = render_ok(l, face);
	check_golden(&out, name);
	image_clear(&out);
}

/* ---- golden tests ---- */

/* Boxes of the shipped layout that tests look into. */
#define NAME_Y 162
#define ADDRESS_Y 289

static int darkest(const Image *img, int x0, int y0, int w, int h);

static void
test_short_name_red(void **state)
{
	(void)state;
	Card c;
	card_init(&c, RED);
	golden_case(&c.face, "short-name-red");
	card_clear(&c);
}

static void
test_blue_background(void **state)
{
	(void)state;
	Card c;
	card_init(&c, BLUE);
	c.face.name = "BUDI SANTOSO";
	c.face.nik = "6172011204020001";
	c.face.birth_date = "2002-04-12";
	c.face.gender = "LAKI-LAKI";
	c.face.blood_type = "AB";
	c.face.marital_status = "KAWIN";
	c.face.occupation = "WIRASWASTA";
	c.face.religion = "BUDHA";
	golden_case(&c.face, "blue");
	card_clear(&c);
}

/* Whether any ink falls in the second-line band of the name box or the
 * address box of the shipped layout (y + 35 to the box's bottom). */
static gboolean
second_line_inked(const Image *card, int box_y)
{
	return darkest(card, 292, box_y + 35, 458, 61 - 35) < 128;
}

/* Too long for one line at 7 pt: set at 6.25 pt, still on one line (two
 * lines are allowed only from 6 pt down, where the box holds two). */
static void
test_long_name_shrinks(void **state)
{
	(void)state;
	Card c;
	card_init(&c, RED);
	c.face.name = "MARIA KARTIKA KUSUMAWARDHANI";
	golden_case(&c.face, "long-name-shrinks");
	g_autoptr(CardLayout) l = shipped_layout();
	Image out = render_ok(l, &c.face);
	assert_false(second_line_inked(&out, NAME_Y));
	image_clear(&out);
	card_clear(&c);
}

/* Too long for one line even at 6 pt: wraps onto two. */
static void
test_long_address_wraps(void **state)
{
	(void)state;
	Card c;
	card_init(&c, RED);
	c.face.address = "JL. GUNUNG BENTUNG GG. MAWAR INDAH BLOK C NO. 123 KOMPLEKS";
	golden_case(&c.face, "long-address-wraps");
	g_autoptr(CardLayout) l = shipped_layout();
	Image out = render_ok(l, &c.face);
	assert_true(second_line_inked(&out, ADDRESS_Y));
	assert_false(second_line_inked(&out, NAME_Y));
	image_clear(&out);
	card_clear(&c);
}

/* The longest name of its letters that the name box holds (two lines at
 * min_size); one more letter is refused, so the limit is exact. */
#define NAME_AT_LIMIT "MUHAMMAD RIZKY ANANDA PRATAMA SAPUTRA WIJAYAKUSUMA HADININGRAT"

static void
test_name_at_limit(void **state)
{
	(void)state;
	Card c;
	card_init(&c, RED);
	c.face.name = NAME_AT_LIMIT;
	golden_case(&c.face, "name-at-limit");

	g_autoptr(CardLayout) l = shipped_layout();
	c.face.name = NAME_AT_LIMIT "X";
	GError *error = NULL;
	assert_int_equal(card_check(l, &c.face, &error), -1);
	assert_true(g_error_matches(error, CARD_ERROR, CARD_ERROR_FIT));
	assert_non_null(strstr(error->message, "name: "));
	assert_non_null(strstr(error->message, "1 character too long"));
	g_clear_error(&error);
	card_clear(&c);
}

static void
test_believer(void **state)
{
	(void)state;
	Card c;
	card_init(&c, RED);
	c.face.religion = CARD_KEPERCAYAAN;
	golden_case(&c.face, "believer");
	card_clear(&c);
}

/* The comparison passes a card against itself re-rendered and fails it
 * against a card that differs in one letter of the name: a golden test
 * that could not fail would prove nothing. */
static void
test_golden_tolerance(void **state)
{
	(void)state;
	g_autoptr(CardLayout) l = shipped_layout();
	Card c;
	card_init(&c, RED);
	Image a = render_ok(l, &c.face);
	Image b = render_ok(l, &c.face);
	c.face.name = "SITI NURHALIZO";
	Image d = render_ok(l, &c.face);
	c.face.name = "SITI NURHALIZA";
	c.face.rt_rw = "001/003";
	Image e = render_ok(l, &c.face);

	Image ga = golden_form(&a), gb = golden_form(&b), gd = golden_form(&d),
	      ge = golden_form(&e);
	assert_memory_equal(a.pixels, b.pixels, (size_t)CARD_WIDTH * CARD_HEIGHT * 3);
	assert_true(diff_within(diff(&ga, &gb)));
	assert_false(diff_within(diff(&ga, &gd)));
	assert_false(diff_within(diff(&ga, &ge)));

	Image imgs[] = { a, b, d, e, ga, gb, gd, ge };
	for (size_t i = 0; i < G_N_ELEMENTS(imgs); i++)
		image_clear(&imgs[i]);
	card_clear(&c);
}

/* ---- colour, which the goldens do not keep ---- */

static void
assert_rgb(const Image *img, int x, int y, guint32 rgb)
{
	const guint8 *p = img->pixels + ((size_t)y * img->width + x) * 3;
	guint32 got = ((guint32)p[0] << 16) | ((guint32)p[1] << 8) | p[2];
	if (got != rgb)
		fail_msg("pixel (%d, %d) is #%06X, expected #%06X", x, y, got, rgb);
}

/* Darkest pixel in a rectangle (grey level of its darkest channel). */
static int
darkest(const Image *img, int x0, int y0, int w, int h)
{
	int min = 255;
	for (int y = y0; y < y0 + h; y++)
		for (int x = x0; x < x0 + w; x++)
			for (int c = 0; c < 3; c++)
				min = MIN(min, img->pixels[((size_t)y * img->width + x) * 3 + c]);
	return min;
}

static void
test_colours(void **state)
{
	(void)state;
	g_autoptr(CardLayout) l = shipped_layout();
	guint32 bgs[] = { RED, BLUE };
	for (size_t i = 0; i < G_N_ELEMENTS(bgs); i++) {
		Card c;
		card_init(&c, bgs[i]);
		Image out = render_ok(l, &c.face);
		assert_rgb(&out, 0, 0, 0xFFFFFF);
		assert_rgb(&out, CARD_WIDTH - 1, CARD_HEIGHT - 1, 0xFFFFFF);
		/* The photo box (x 776, y 108, 210 x 280 in the shipped layout):
		 * its corners are the photo's background colour. */
		assert_rgb(&out, 778, 110, bgs[i]);
		assert_rgb(&out, 983, 110, bgs[i]);
		/* Text is ink: the NIK digits reach black. */
		assert_true(darkest(&out, 292, 108, 300, 50) < 16);
		image_clear(&out);
		card_clear(&c);
	}

	/* A tinted background, and a signature whose white does not show. */
	g_autofree char *text = shipped_text();
	g_autoptr(GString) tinted = g_string_new(text);
	g_string_replace(tinted, "#background = #FFFFFF", "background = #EEF4FA", 1);
	GError *error = NULL;
	g_autoptr(CardLayout) lt = card_layout_load_data(tinted->str, "tinted.conf", &error);
	if (!lt)
		fail_msg("%s", error->message);
	Card c;
	card_init(&c, RED);
	Image out = render_ok(lt, &c.face);
	assert_rgb(&out, 0, 0, 0xEEF4FA);
	assert_rgb(&out, 777, 475, 0xEEF4FA); /* inside the signature box, off the stroke */
	assert_true(darkest(&out, 776, 474, 210, 120) < 40);
	image_clear(&out);
	card_clear(&c);
}

static void
test_png(void **state)
{
	(void)state;
	g_autoptr(CardLayout) l = shipped_layout();
	Card c;
	card_init(&c, BLUE);
	GError *error = NULL;
	g_autoptr(GBytes) png = card_render_png(l, &c.face, &error);
	if (!png)
		fail_msg("%s", error->message);
	ImageLimits lim = { 3, 1, 2000, 1, 2000, 8 << 20 };
	Image img;
	assert_int_equal(image_png_decode(g_bytes_get_data(png, NULL), g_bytes_get_size(png),
					  &lim, &img, &error),
			 0);
	assert_int_equal(img.width, CARD_WIDTH);
	assert_int_equal(img.height, CARD_HEIGHT);
	assert_int_equal(img.ppi, CARD_DPI);
	Image direct = render_ok(l, &c.face);
	assert_memory_equal(img.pixels, direct.pixels, (size_t)CARD_WIDTH * CARD_HEIGHT * 3);
	image_clear(&img);
	image_clear(&direct);
	card_clear(&c);
}

/* ---- values that do not fit ---- */

static void
test_name_too_long(void **state)
{
	(void)state;
	g_autoptr(CardLayout) l = shipped_layout();
	Card c;
	card_init(&c, RED);
	c.face.name = NAME_AT_LIMIT " BIN ABDULLAH";
	GError *error = NULL;
	Image out = { 7, 7, 3, 0, NULL };
	assert_int_equal(card_render(l, &c.face, &out, &error), -1);
	assert_true(g_error_matches(error, CARD_ERROR, CARD_ERROR_FIT));
	assert_true(g_str_has_prefix(error->message, "name: does not fit even at 5.5 pt on 2 "
						     "lines of 458 dots: "));
	assert_non_null(strstr(error->message, "too long (\""));
	assert_non_null(strstr(error->message, "ABDULLAH\""));
	assert_null(out.pixels);
	assert_int_equal(out.width, 0);
	g_clear_error(&error);

	/* A single word wider than the box cannot wrap either. */
	c.face.name = "WOLFESCHLEGELSTEINHAUSENBERGERDORFFWELCHEVORALTERNWAREN";
	assert_int_equal(card_check(l, &c.face, &error), -1);
	assert_true(g_error_matches(error, CARD_ERROR, CARD_ERROR_FIT));
	assert_non_null(strstr(error->message, "name: "));
	assert_non_null(strstr(error->message, "dots too long"));
	g_clear_error(&error);

	/* Every field that fails is named at once. */
	c.face.name = NAME_AT_LIMIT " BIN ABDULLAH";
	c.face.blood_type = "TIDAK DIKETAHUI";
	c.face.address = "JL. GUNUNG BENTUNG GG. MAWAR INDAH BLOK C NO. 123 KOMPLEKS PERUMAHAN "
			 "GRIYA PERMAI";
	assert_int_equal(card_check(l, &c.face, &error), -1);
	assert_true(g_error_matches(error, CARD_ERROR, CARD_ERROR_FIT));
	assert_non_null(strstr(error->message, "name: "));
	assert_non_null(strstr(error->message, "; blood_type: "));
	assert_non_null(strstr(error->message, "; address: "));
	g_clear_error(&error);
	card_clear(&c);
}

static void
test_bad_input(void **state)
{
	(void)state;
	g_autoptr(CardLayout) l = shipped_layout();
	Card c;
	card_init(&c, RED);
	GError *error = NULL;
	struct {
		const char **field;
		const char *value;
		const char *expect;
	} cases[] = {
		{ &c.face.kecamatan, "", "kecamatan: missing" },
		{ &c.face.issue_place, NULL, "issue_place: missing" },
		{ &c.face.occupation, " \t ", "occupation: missing" },
		{ &c.face.rt_rw, "\xC2\xA0", "rt_rw: missing" },
		{ &c.face.birth_date, "2001-02-29", "birth_date: '2001-02-29' is not a date" },
		{ &c.face.issue_date, "5-3-2024", "issue_date: '5-3-2024' is not a date" },
		{ &c.face.name, "LI \xE6\x98\x8E", "name: the font " },
		{ &c.face.address, "JL. \x01", "address: character U+0001 cannot be printed" },
		{ &c.face.village, "RO\xFF", "village: not valid UTF-8" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		const char *keep = *cases[i].field;
		*cases[i].field = cases[i].value;
		assert_int_equal(card_check(l, &c.face, &error), -1);
		assert_true(g_error_matches(error, CARD_ERROR, CARD_ERROR_INPUT));
		if (!strstr(error->message, cases[i].expect))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, error->message,
				 cases[i].expect);
		g_clear_error(&error);
		*cases[i].field = keep;
	}

	/* DD-MM-YYYY is taken as well, and folded whitespace prints as one space. */
	c.face.birth_date = "17-08-2001";
	c.face.name = "  SITI \n NURHALIZA ";
	assert_int_equal(card_check(l, &c.face, &error), 0);

	/* A grey photo, an RGB signature, none at all. */
	c.face.photo = &c.signature;
	assert_int_equal(card_check(l, &c.face, &error), -1);
	assert_true(g_error_matches(error, CARD_ERROR, CARD_ERROR_INPUT));
	assert_non_null(strstr(error->message, "photo: 1 channels, not 3"));
	g_clear_error(&error);
	c.face.photo = &c.photo;
	c.face.signature = &c.photo;
	assert_int_equal(card_check(l, &c.face, &error), -1);
	assert_non_null(strstr(error->message, "signature: 3 channels, not 1"));
	g_clear_error(&error);
	c.face.signature = NULL;
	assert_int_equal(card_check(l, &c.face, &error), -1);
	assert_non_null(strstr(error->message, "signature: missing"));
	g_clear_error(&error);
	card_clear(&c);
}

/* ---- layout files ---- */

/* Where line AFTER begins in TEXT (a group header, not its mention in a comment). */
static const char *
find_line(const char *text, const char *after)
{
	if (!after)
		return text;
	g_autofree char *nl = g_strconcat("\n", after, NULL);
	const char *at = strstr(text, nl);
	return at ? at + 1 : NULL;
}

/* Line number (1-based) of the first PREFIX in TEXT from line AFTER on. */
static int
line_of(const char *text, const char *after, const char *prefix)
{
	const char *from = find_line(text, after);
	assert_non_null(from);
	const char *at = strstr(from, prefix);
	assert_non_null(at);
	int line = 1;
	for (const char *p = text; p < at; p++)
		line += *p == '\n';
	return line;
}

/* The shipped layout with FROM replaced by TO (once, after AFTER when given). */
static char *
edited(const char *after, const char *from, const char *to)
{
	g_autofree char *text = shipped_text();
	const char *start = find_line(text, after);
	assert_non_null(start);
	const char *at = strstr(start, from);
	if (!at)
		fail_msg("\"%s\" not in the shipped layout", from);
	return g_strdup_printf("%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
}

static void
expect_layout_error(const char *text, int code, const char *expect)
{
	GError *error = NULL;
	CardLayout *l = card_layout_load_data(text, "bad.conf", &error);
	if (l) {
		card_layout_free(l);
		fail_msg("layout loaded; expected \"%s\"", expect);
	}
	assert_true(g_error_matches(error, CARD_ERROR, code));
	if (!strstr(error->message, expect))
		fail_msg("\"%s\" lacks \"%s\"", error->message, expect);
	g_clear_error(&error);
}

static void
test_layout_errors(void **state)
{
	(void)state;
	struct {
		const char *after, *from, *to;
		const char *line_after, *line_prefix; /* where the error must point */
		const char *expect;
	} cases[] = {
		{"[name]", "size = 7", "size = 7\nfont_size = 9", "[name]", "font_size",
		 "[name] font_size: unknown key"},
		{"[name]", "size = 7", "size = 7\nsize = 8", "[name]\nx", "size = 8",
		 "[name] size: given twice (first at line "},
		{"[birth]", "[birth]", "[birthday]", NULL, "[birthday]",
		 "unknown group [birthday]"},
		{"[photo]", "x = 776", "x = 820", "[photo]", "w = 210",
		 "[photo] w: x + w = 1030 is past the card's right edge (1016)"},
		{"[valid_until]", "h = 33", "h = 80", "[valid_until]", "h = 80",
		 "[valid_until] h: y + h = 661 is past the card's bottom edge (648)"},
		{"[gender]", "w = 196", "w = 300", "[blood_type]", "[blood_type]",
		 "[blood_type]: its label overlaps the box of [gender]"},
		{"[address]", "h = 61", "h = 50", "[address]", "max_lines",
		 "[address] max_lines: 2 lines at min_size 5.5 pt need h = 58 dots, the box has "
		 "50"},
		{"[name]", "size = 7", "size = 7x", "[name]", "size = 7x",
		 "[name] size: '7x' is not a size from 4 to 72 points"},
		{"[name]", "min_size = 5.5", "min_size = 8", "[name]", "min_size",
		 "[name] min_size: 8 is larger than size (7)"},
		{"[name]", "max_lines = 2", "max_lines = 9", "[name]", "max_lines",
		 "[name] max_lines: '9' is not a whole number from 1 to 4"},
		{"[issue_date]", "align = centre", "align = middle", "[issue_date]", "align",
		 "[issue_date] align: 'middle' is not one of left, centre, right"},
		{"[card]", "#ink = #000000", "ink = black", "[card]", "ink = black",
		 "[card] ink: 'black' is not a colour #RRGGBB"},
		{"[card]", "#background = #FFFFFF", "background = #336699", "[card]",
		 "background = #336699", "[card] background: #336699 is too dark"},
		{"[signature]", "h = 120", "", "[signature]", "[signature]",
		 "[signature] h: required"},
		{"[card]", "[card]", "stray = 1\n[card]", NULL, "stray",
		 "key 'stray' before any [group]"},
		{"[nik]", "x = 292", "x = 280", "[nik]", "x = 280",
		 "[nik] x: the value starts at 280, over the colon (271 to 286)"},
		{"[nik]", "h = 50", "h = 40", "[nik]", "h = 40",
		 "[nik] h: 40 dots cannot hold one line at 10.5 pt (49 dots)"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *text = edited(cases[i].after, cases[i].from, cases[i].to);
		int line = line_of(text, cases[i].line_after, cases[i].line_prefix);
		g_autofree char *expect = g_strdup_printf("bad.conf:%d: %s", line, cases[i].expect);
		expect_layout_error(text, CARD_ERROR_LAYOUT, expect);
	}

	/* A label wider than its column: the longest one, and the believer's ("Agama" fits). */
	g_autofree char *narrow = edited("[card]", "colon_x = 275", "colon_x = 250");
	g_autofree char *narrow_expect = g_strdup_printf(
		"bad.conf:%d: [card] colon_x: the label \"Status Perkawinan\" of [marital_status] "
		"is ",
		line_of(narrow, "[card]", "colon_x"));
	expect_layout_error(narrow, CARD_ERROR_LAYOUT, narrow_expect);
	g_autofree char *religion = edited("[religion]", "min_size = 5.5",
					   "min_size = 5.5\ncolon_x = 150");
	g_autofree char *religion_expect = g_strdup_printf(
		"bad.conf:%d: [religion] colon_x: the label \"Kepercayaan\" is ",
		line_of(religion, "[religion]", "colon_x"));
	expect_layout_error(religion, CARD_ERROR_LAYOUT, religion_expect);

	/* A box left out. */
	g_autofree char *no_photo = edited(NULL, "[photo]", "[photo_unused]");
	expect_layout_error(no_photo, CARD_ERROR_LAYOUT, "unknown group [photo_unused]");
	g_autofree char *text = shipped_text();
	char *cut = (char *)find_line(text, "[signature]");
	assert_non_null(cut);
	*cut = '\0';
	expect_layout_error(text, CARD_ERROR_LAYOUT,
			    "bad.conf: no [signature] group: every box of the card must be placed");

	/* From a file: the message names the file and the line. */
	g_autofree char *dir = g_dir_make_tmp("ektp-test-render-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "layout.conf", NULL);
	g_autofree char *bad = edited("[name]", "size = 7", "size = 7\nfont_size = 9");
	assert_true(g_file_set_contents(path, bad, -1, NULL));
	GError *error = NULL;
	assert_null(card_layout_load(path, &error));
	g_autofree char *expect = g_strdup_printf("%s:%d: [name] font_size: unknown key", path,
						  line_of(bad, "[name]", "font_size"));
	assert_string_equal(error->message, expect);
	g_clear_error(&error);
	g_remove(path);
	assert_null(card_layout_load(path, &error));
	assert_true(g_error_matches(error, CARD_ERROR, CARD_ERROR_LAYOUT));
	g_clear_error(&error);
	g_rmdir(dir);
}

static void
test_missing_font(void **state)
{
	(void)state;
	/* A missing file, named with the key that names it. */
	g_autofree char *text = edited("[card]", "#bold_font = ",
				       "bold_font = /nonexistent/ektp/Bold.ttf\n#");
	int line = line_of(text, "[card]", "bold_font = /nonexistent");
	g_autofree char *expect = g_strdup_printf(
		"bad.conf:%d: [card] bold_font: cannot read /nonexistent/ektp/Bold.ttf: ", line);
	expect_layout_error(text, CARD_ERROR_FONT, expect);

	/* A box's own font file, relative to the layout file's folder. */
	g_autofree char *dir = g_dir_make_tmp("ektp-test-render-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "layout.conf", NULL);
	g_autofree char *rel = edited("[regency]", "font = bold", "font = fonts/Regency.ttf");
	assert_true(g_file_set_contents(path, rel, -1, NULL));
	GError *error = NULL;
	assert_null(card_layout_load(path, &error));
	assert_true(g_error_matches(error, CARD_ERROR, CARD_ERROR_FONT));
	g_autofree char *want = g_strdup_printf("[regency] font: cannot read %s/fonts/Regency.ttf",
						dir);
	if (!strstr(error->message, want))
		fail_msg("\"%s\" lacks \"%s\"", error->message, want);
	g_clear_error(&error);

	/* A file that is not a font: the layout file itself. */
	g_autofree char *junk = edited("[regency]", "font = bold", "font = layout.conf");
	assert_true(g_file_set_contents(path, junk, -1, NULL));
	assert_null(card_layout_load(path, &error));
	assert_true(g_error_matches(error, CARD_ERROR, CARD_ERROR_FONT));
	assert_non_null(strstr(error->message, "is not a scalable font FreeType can read"));
	g_clear_error(&error);
	g_remove(path);
	g_rmdir(dir);
}

/* ---- one layout, several workers ---- */

typedef struct {
	const CardLayout *layout;
	const CardFace *face;
	Image out;
} Job;

static gpointer
render_job(gpointer data)
{
	Job *j = data;
	GError *error = NULL;
	if (card_render(j->layout, j->face, &j->out, &error) < 0)
		g_error_free(error);
	return NULL;
}

static void
test_concurrent(void **state)
{
	(void)state;
	g_autoptr(CardLayout) l = shipped_layout();
	Card c;
	card_init(&c, RED);
	Job jobs[4];
	GThread *threads[4];
	for (int i = 0; i < 4; i++) {
		jobs[i] = (Job){ l, &c.face, { 0 } };
		threads[i] = g_thread_new("render", render_job, &jobs[i]);
	}
	for (int i = 0; i < 4; i++)
		g_thread_join(threads[i]);
	Image ref = render_ok(l, &c.face);
	for (int i = 0; i < 4; i++) {
		assert_non_null(jobs[i].out.pixels);
		assert_memory_equal(jobs[i].out.pixels, ref.pixels,
				    (size_t)CARD_WIDTH * CARD_HEIGHT * 3);
		image_clear(&jobs[i].out);
	}
	image_clear(&ref);
	card_clear(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_name_red),
		cmocka_unit_test(test_blue_background),
		cmocka_unit_test(test_long_name_shrinks),
		cmocka_unit_test(test_long_address_wraps),
		cmocka_unit_test(test_name_at_limit),
		cmocka_unit_test(test_believer),
		cmocka_unit_test(test_golden_tolerance),
		cmocka_unit_test(test_colours),
		cmocka_unit_test(test_png),
		cmocka_unit_test(test_name_too_long),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_layout_errors),
		cmocka_unit_test(test_missing_font),
		cmocka_unit_test(test_concurrent),
	};
	return cmocka_run_group_tests_name("render", tests, NULL, NULL);
}
