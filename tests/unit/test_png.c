/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for image/png.c.  Grey and RGB images survive an encode and a
 * decode unchanged (with their ppi); and every kind of file the enrollment
 * must not take is refused with the error code and a message naming the
 * rule: no PNG signature, the wrong colour type or bit depth for the
 * modality, dimensions or pixel bytes beyond the caller's limits (including
 * a header claiming a huge image over a few bytes of data), truncation at
 * every length, a flipped CRC byte in each chunk, damaged compressed data,
 * more compressed rows than the header declares, an unknown critical chunk and
 * bytes after IEND (while ancillary chunks, even garbage ones, are skipped).  The
 * fixtures are written by libpng itself here (never by hand), then cut or
 * patched where a test needs a broken file.  Each refusal must also leave the
 * output empty, and nothing may leak (make check-asan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <png.h>
#include <string.h>

#include "image/image.h"

/* ---- fixtures written with libpng ---- */

typedef struct {
	int w, h;
	int ctype;     /* PNG_COLOR_TYPE_* */
	int depth;     /* bits per sample */
	int interlace; /* PNG_INTERLACE_NONE or _ADAM7 */
	int alpha;     /* the alpha of every pixel, for types with alpha; 0 means 255 */
	gboolean text; /* add tEXt, gAMA and sRGB chunks, which decoding skips */
	int ppi;       /* pHYs when > 0 */
} Spec;

static int
samples_per_pixel(int ctype)
{
	switch (ctype) {
	case PNG_COLOR_TYPE_GRAY_ALPHA:
		return 2;
	case PNG_COLOR_TYPE_RGB:
		return 3;
	case PNG_COLOR_TYPE_RGB_ALPHA:
		return 4;
	default:
		return 1;
	}
}

/* The byte at (X, Y, C) of a fixture image: a pattern a shifted row would break. */
static uint8_t
sample(int x, int y, int c)
{
	return (uint8_t)(x * 7 + y * 31 + c * 85 + (x * y) / 3);
}

static void
fixture_write(png_structp png, png_bytep data, size_t n)
{
	g_byte_array_append(png_get_io_ptr(png), data, (guint)n);
}

static void
fixture_flush(png_structp png)
{
	(void)png;
}

/* A PNG as S describes (caller unrefs). */
static GByteArray *
make_png(const Spec *s)
{
	GByteArray *buf = g_byte_array_new();
	int spp = samples_per_pixel(s->ctype);
	size_t rowbytes = ((size_t)s->w * (size_t)spp * (size_t)s->depth + 7) / 8;
	uint8_t *row = g_malloc(rowbytes);
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	if (setjmp(png_jmpbuf(png)))
		fail_msg("libpng could not write the fixture");
	png_set_write_fn(png, buf, fixture_write, fixture_flush);
	png_set_IHDR(png, info, (png_uint_32)s->w, (png_uint_32)s->h, s->depth, s->ctype,
		     s->interlace, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	if (s->ctype == PNG_COLOR_TYPE_PALETTE) {
		png_color pal[16];
		for (int i = 0; i < 16; i++)
			pal[i] = (png_color){ (png_byte)(i * 16), (png_byte)(255 - i * 16), 128 };
		png_set_PLTE(png, info, pal, 16);
	}
	if (s->text) {
		png_text t = { .compression = PNG_TEXT_COMPRESSION_NONE,
			       .key = (char *)"Comment",
			       .text = (char *)"made by test_png" };
		png_set_text(png, info, &t, 1);
		png_set_gAMA(png, info, 1 / 2.2);
		png_set_sRGB(png, info, PNG_sRGB_INTENT_PERCEPTUAL);
	}
	if (s->ppi > 0) {
		png_uint_32 ppm = (png_uint_32)(s->ppi / 0.0254 + 0.5);
		png_set_pHYs(png, info, ppm, ppm, PNG_RESOLUTION_METER);
	}
	png_write_info(png, info);
	int passes = png_set_interlace_handling(png);
	for (int pass = 0; pass < passes; pass++) {
		for (int y = 0; y < s->h; y++) {
			for (size_t i = 0; i < rowbytes; i++)
				row[i] = sample((int)i, y, 0);
			if (s->depth == 8 && spp >= 2 && (spp == 2 || spp == 4))
				for (int x = 0; x < s->w; x++)
					row[(size_t)x * spp + spp - 1] =
						(uint8_t)(s->alpha ? s->alpha : 255);
			if (s->ctype == PNG_COLOR_TYPE_PALETTE)
				for (size_t i = 0; i < rowbytes; i++)
					row[i] &= s->depth == 8 ? 0x0f : 0xff;
			png_write_row(png, row);
		}
	}
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	g_free(row);
	return buf;
}

/* An 8-bit grey or RGB fixture of W x H. */
static GByteArray *
make_simple(int w, int h, int ctype)
{
	Spec s = { .w = w, .h = h, .ctype = ctype, .depth = 8 };
	return make_png(&s);
}

/* ---- patching chunks ---- */

static guint32
crc32_of(const uint8_t *p, size_t n)
{
	guint32 c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return c ^ 0xffffffffu;
}

static guint32
get_be32(const uint8_t *p)
{
	return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | p[3];
}

static void
put_be32(uint8_t *p, guint32 v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Offset of the first chunk of TYPE (its length field) in B; fails the test if none. */
static size_t
chunk_at(const GByteArray *b, const char *type)
{
	size_t at = 8;
	while (at + 12 <= b->len) {
		if (memcmp(b->data + at + 4, type, 4) == 0)
			return at;
		at += 12 + get_be32(b->data + at);
	}
	fail_msg("no %s chunk", type);
	return 0;
}

/* Recomputes the CRC of the chunk at AT. */
static void
fix_crc(GByteArray *b, size_t at)
{
	guint32 len = get_be32(b->data + at);
	put_be32(b->data + at + 8 + len, crc32_of(b->data + at + 4, 4 + len));
}

/* Inserts a chunk of TYPE holding the N bytes at DATA, with its CRC, at offset AT of B. */
static void
insert_chunk(GByteArray *b, size_t at, const char *type, const void *data, guint32 n)
{
	guint old = b->len;
	g_byte_array_set_size(b, old + 12 + n);
	uint8_t *c = b->data + at;
	memmove(c + 12 + n, c, old - at);
	put_be32(c, n);
	memcpy(c + 4, type, 4);
	memcpy(c + 8, data, n);
	put_be32(c + 8 + n, crc32_of(c + 4, 4 + n));
}

/* ---- decoding ---- */

static const ImageLimits grey_limits = {
	.channels = 1,
	.min_width = 2,
	.max_width = 2000,
	.min_height = 2,
	.max_height = 2000,
	.max_bytes = 2000 * 2000,
};

static const ImageLimits face_limits = {
	.channels = 3,
	.min_width = 2,
	.max_width = 2000,
	.min_height = 2,
	.max_height = 2000,
	.max_bytes = 2000 * 2000 * 3,
};

/* Decodes B under LIM expecting success (caller clears OUT). */
static void
decode_ok(const GByteArray *b, const ImageLimits *lim, Image *out)
{
	GError *error = NULL;
	if (image_png_decode(b->data, b->len, lim, out, &error) < 0)
		fail_msg("decode: %s", error->message);
}

/*
 * Decodes LEN bytes at P under LIM and expects a refusal with CODE and a
 * message holding WANT (NULL: any), and an empty OUT.  NULL when so, else what
 * happened (caller frees).
 */
static char *
refusal(const void *p, size_t len, const ImageLimits *lim, int code, const char *want)
{
	Image out;
	GError *error = NULL;
	memset(&out, 0x5a, sizeof out);
	if (image_png_decode(p, len, lim, &out, &error) == 0) {
		image_clear(&out);
		return g_strdup("decoded");
	}
	char *why = NULL;
	if (!error || error->domain != IMAGE_ERROR || error->code != code ||
	    (want && !strstr(error->message, want)))
		why = g_strdup_printf("error %d \"%s\", expected %d with \"%s\"",
				      error ? error->code : -1, error ? error->message : "none",
				      code, want ? want : "");
	else if (out.pixels || out.width || out.height || out.channels || out.ppi)
		why = g_strdup("OUT not zeroed");
	g_clear_error(&error);
	return why;
}

static void
expect_refusal(const GByteArray *b, const ImageLimits *lim, int code, const char *want)
{
	g_autofree char *why = refusal(b->data, b->len, lim, code, want);
	if (why)
		fail_msg("%s", why);
}

static void
check_pixels(const Image *img, int channels)
{
	for (int y = 0; y < img->height; y++)
		for (int x = 0; x < img->width * channels; x++)
			if (img->pixels[(size_t)y * img->width * channels + x] != sample(x, y, 0))
				fail_msg("pixel byte %d of row %d differs", x, y);
}

/* An image filled with the fixture pattern (caller clears). */
static Image
pattern_image(int w, int h, int channels, int ppi)
{
	Image img = { .width = w, .height = h, .channels = channels, .ppi = ppi };
	img.pixels = g_malloc((size_t)w * h * channels);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w * channels; x++)
			img.pixels[(size_t)y * w * channels + x] = sample(x, y, 0);
	return img;
}

static void
round_trip(int channels, const ImageLimits *lim)
{
	Image img = pattern_image(37, 23, channels, 500);
	GError *error = NULL;
	g_autoptr(GBytes) png = image_png_encode(&img, &error);
	if (!png)
		fail_msg("encode: %s", error->message);
	const uint8_t *p = g_bytes_get_data(png, NULL);
	assert_memory_equal(p, "\x89PNG\r\n\x1a\n", 8);
	assert_int_equal(p[25], channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB);

	Image back;
	assert_int_equal(image_png_decode(p, g_bytes_get_size(png), lim, &back, &error), 0);
	assert_int_equal(back.width, 37);
	assert_int_equal(back.height, 23);
	assert_int_equal(back.channels, channels);
	assert_int_equal(back.ppi, 500);
	assert_memory_equal(back.pixels, img.pixels, (size_t)37 * 23 * channels);
	image_clear(&back);
	assert_null(back.pixels);

	/* Without a ppi there is no pHYs, and none comes back. */
	img.ppi = 0;
	g_autoptr(GBytes) bare = image_png_encode(&img, &error);
	assert_non_null(bare);
	assert_int_equal(image_png_decode(g_bytes_get_data(bare, NULL), g_bytes_get_size(bare), lim,
					  &back, &error),
			 0);
	assert_int_equal(back.ppi, 0);
	image_clear(&back);
	image_clear(&img);
}

static void
test_round_trip_grey(void **state)
{
	(void)state;
	round_trip(1, &grey_limits);
}

static void
test_round_trip_rgb(void **state)
{
	(void)state;
	round_trip(3, &face_limits);
}

/* Interlaced files and skipped ancillary chunks decode to the same pixels. */
static void
test_interlaced_and_ancillary_accepted(void **state)
{
	(void)state;
	for (int rgb = 0; rgb < 2; rgb++) {
		Spec s = { .w = 29, .h = 17, .ctype = rgb ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY,
			   .depth = 8, .interlace = PNG_INTERLACE_ADAM7, .text = TRUE, .ppi = 1000 };
		g_autoptr(GByteArray) b = make_png(&s);
		assert_int_equal(b->data[28], 1); /* IHDR says Adam7 */
		Image img;
		decode_ok(b, rgb ? &face_limits : &grey_limits, &img);
		assert_int_equal(img.width, 29);
		assert_int_equal(img.ppi, 1000);
		check_pixels(&img, rgb ? 3 : 1);
		image_clear(&img);
	}
}

static void
test_rgba_face(void **state)
{
	(void)state;
	Spec s = { .w = 8, .h = 5, .ctype = PNG_COLOR_TYPE_RGB_ALPHA, .depth = 8 };
	g_autoptr(GByteArray) opaque = make_png(&s);
	Image img;
	decode_ok(opaque, &face_limits, &img);
	assert_int_equal(img.channels, 3);
	for (int y = 0; y < 5; y++)
		for (int x = 0; x < 8; x++)
			for (int c = 0; c < 3; c++)
				assert_int_equal(img.pixels[(y * 8 + x) * 3 + c],
						 sample(x * 4 + c, y, 0));
	image_clear(&img);

	s.alpha = 254;
	g_autoptr(GByteArray) translucent = make_png(&s);
	expect_refusal(translucent, &face_limits, IMAGE_ERROR_FORMAT, "opaque");
	/* Not for grey modalities, even opaque. */
	expect_refusal(opaque, &grey_limits, IMAGE_ERROR_FORMAT, "colour type RGBA");
}

/* One file the decoder must refuse, with the rule it breaks. */
typedef struct {
	const char *name;
	Spec spec;
	const ImageLimits *limits;
	int code;
	const char *want;
} Refusal;

static void
test_wrong_format_refused(void **state)
{
	(void)state;
	const Refusal cases[] = {
		{ "16-bit grey", { 8, 8, PNG_COLOR_TYPE_GRAY, 16, 0, 0, 0, 0 }, &grey_limits,
		  IMAGE_ERROR_FORMAT, "bit depth 16" },
		{ "1-bit grey", { 8, 8, PNG_COLOR_TYPE_GRAY, 1, 0, 0, 0, 0 }, &grey_limits,
		  IMAGE_ERROR_FORMAT, "bit depth 1" },
		{ "4-bit grey", { 8, 8, PNG_COLOR_TYPE_GRAY, 4, 0, 0, 0, 0 }, &grey_limits,
		  IMAGE_ERROR_FORMAT, "bit depth 4" },
		{ "palette", { 8, 8, PNG_COLOR_TYPE_PALETTE, 8, 0, 0, 0, 0 }, &grey_limits,
		  IMAGE_ERROR_FORMAT, "colour type palette" },
		{ "palette face", { 8, 8, PNG_COLOR_TYPE_PALETTE, 4, 0, 0, 0, 0 }, &face_limits,
		  IMAGE_ERROR_FORMAT, "colour type palette" },
		{ "grey+alpha", { 8, 8, PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, 0, 0, 0 }, &grey_limits,
		  IMAGE_ERROR_FORMAT, "colour type greyscale with alpha" },
		{ "RGB as fingerprint", { 8, 8, PNG_COLOR_TYPE_RGB, 8, 0, 0, 0, 0 }, &grey_limits,
		  IMAGE_ERROR_FORMAT, "must be 8-bit greyscale" },
		{ "grey as face", { 8, 8, PNG_COLOR_TYPE_GRAY, 8, 0, 0, 0, 0 }, &face_limits,
		  IMAGE_ERROR_FORMAT, "colour type greyscale is not accepted" },
		{ "16-bit RGB", { 8, 8, PNG_COLOR_TYPE_RGB, 16, 0, 0, 0, 0 }, &face_limits,
		  IMAGE_ERROR_FORMAT, "bit depth 16" },
		{ "16-bit RGBA", { 8, 8, PNG_COLOR_TYPE_RGB_ALPHA, 16, 0, 0, 0, 0 }, &face_limits,
		  IMAGE_ERROR_FORMAT, "bit depth 16" },
		{ "interlaced 16-bit", { 8, 8, PNG_COLOR_TYPE_GRAY, 16, 1, 0, 0, 0 }, &grey_limits,
		  IMAGE_ERROR_FORMAT, "bit depth 16" },
		{ "1x1", { 1, 1, PNG_COLOR_TYPE_GRAY, 8, 0, 0, 0, 0 }, &grey_limits,
		  IMAGE_ERROR_SIZE, "width 1 is outside the accepted 2 to 2000" },
		{ "too tall", { 2, 2001, PNG_COLOR_TYPE_GRAY, 8, 0, 0, 0, 0 }, &grey_limits,
		  IMAGE_ERROR_SIZE, "height 2001 is outside the accepted 2 to 2000" },
		{ "too wide face", { 2001, 2, PNG_COLOR_TYPE_RGB, 8, 0, 0, 0, 0 }, &face_limits,
		  IMAGE_ERROR_SIZE, "width 2001" },
	};
	GString *why = g_string_new(NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GByteArray) b = make_png(&cases[i].spec);
		g_autofree char *w =
			refusal(b->data, b->len, cases[i].limits, cases[i].code, cases[i].want);
		if (w)
			g_string_append_printf(why, "\n  %s: %s", cases[i].name, w);
	}
	g_autofree char *msg = g_string_free(why, FALSE);
	if (*msg)
		fail_msg("wrong formats were not refused as expected:%s", msg);
}

/*
 * A header claiming a huge image over a few bytes of data: refused from the
 * header, before any pixel memory, whether by a dimension or by max_bytes.
 */
static void
test_huge_header_refused(void **state)
{
	(void)state;
	g_autoptr(GByteArray) b = make_simple(4, 4, PNG_COLOR_TYPE_GRAY);
	size_t ihdr = chunk_at(b, "IHDR");
	put_be32(b->data + ihdr + 8, 60000);
	put_be32(b->data + ihdr + 12, 60000);
	fix_crc(b, ihdr);
	expect_refusal(b, &grey_limits, IMAGE_ERROR_SIZE, "width 60000");

	/* Within the dimension limits but not the byte budget: 3.6 GB asked, 1 MB allowed. */
	ImageLimits roomy = grey_limits;
	roomy.max_width = roomy.max_height = 100000;
	roomy.max_bytes = 1 << 20;
	expect_refusal(b, &roomy, IMAGE_ERROR_SIZE, "more than the accepted 1048576 bytes");

	/* The largest a PNG header can say. */
	put_be32(b->data + ihdr + 8, 0x7fffffff);
	put_be32(b->data + ihdr + 12, 0x7fffffff);
	fix_crc(b, ihdr);
	roomy.max_width = roomy.max_height = G_MAXINT;
	expect_refusal(b, &roomy, IMAGE_ERROR_SIZE, "bytes");

	/* Within every limit, the same claim with too little data: damaged, not crashed. */
	put_be32(b->data + ihdr + 8, 900);
	put_be32(b->data + ihdr + 12, 900);
	fix_crc(b, ihdr);
	expect_refusal(b, &grey_limits, IMAGE_ERROR_CORRUPT, NULL);
}

static void
test_not_png_refused(void **state)
{
	(void)state;
	uint8_t junk[4096];
	GRand *r = g_rand_new_with_seed(20240611);
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (uint8_t)g_rand_int_range(r, 0, 256);
	g_rand_free(r);
	g_autofree char *w1 = refusal(junk, sizeof junk, &grey_limits, IMAGE_ERROR_NOT_PNG,
				      "PNG signature");
	assert_null(w1);
	g_autofree char *w2 = refusal("", 0, &grey_limits, IMAGE_ERROR_NOT_PNG, "signature");
	assert_null(w2);
	g_autofree char *w3 =
		refusal("\x89PNG\r\n\x1a", 7, &grey_limits, IMAGE_ERROR_NOT_PNG, "signature");
	assert_null(w3);
	/* A JPEG start. */
	g_autofree char *w4 = refusal("\xff\xd8\xff\xe0\0\x10JFIF\0", 11, &grey_limits,
				      IMAGE_ERROR_NOT_PNG, "signature");
	assert_null(w4);
	/* The signature and then random bytes. */
	memcpy(junk, "\x89PNG\r\n\x1a\n", 8);
	g_autofree char *w5 = refusal(junk, sizeof junk, &grey_limits, IMAGE_ERROR_CORRUPT,
				      "damaged or truncated");
	assert_null(w5);
	/* A good file with one signature byte changed. */
	g_autoptr(GByteArray) b = make_simple(4, 4, PNG_COLOR_TYPE_GRAY);
	b->data[1] = 'p';
	expect_refusal(b, &grey_limits, IMAGE_ERROR_NOT_PNG, "signature");
}

/* A file cut at every length is refused (and the whole one is not). */
static void
test_truncated_refused(void **state)
{
	(void)state;
	for (int interlace = 0; interlace < 2; interlace++) {
		Spec s = { .w = 6, .h = 5, .ctype = PNG_COLOR_TYPE_GRAY, .depth = 8,
			   .interlace = interlace, .ppi = 500 };
		g_autoptr(GByteArray) b = make_png(&s);
		Image img;
		decode_ok(b, &grey_limits, &img);
		image_clear(&img);
		GString *why = g_string_new(NULL);
		for (guint cut = 0; cut < b->len; cut++) {
			int code = cut < 8 ? IMAGE_ERROR_NOT_PNG : IMAGE_ERROR_CORRUPT;
			g_autofree uint8_t *part = g_memdup2(b->data, cut);
			g_autofree char *w = refusal(part, cut, &grey_limits, code, NULL);
			if (w)
				g_string_append_printf(why, "\n  first %u of %u bytes: %s", cut,
						       b->len, w);
		}
		g_autofree char *msg = g_string_free(why, FALSE);
		if (*msg)
			fail_msg("truncated files were not refused:%s", msg);
	}
	/* The message says so for a cut in the middle of the pixels. */
	g_autoptr(GByteArray) b = make_simple(40, 40, PNG_COLOR_TYPE_GRAY);
	size_t idat = chunk_at(b, "IDAT");
	g_autofree char *w = refusal(b->data, idat + 20, &grey_limits, IMAGE_ERROR_CORRUPT,
				     "truncated");
	assert_null(w);
}

/* A flipped byte in the CRC of each chunk, and in each chunk's data, is refused. */
static void
test_crc_and_data_damage_refused(void **state)
{
	(void)state;
	Spec s = { .w = 16, .h = 16, .ctype = PNG_COLOR_TYPE_GRAY, .depth = 8, .text = TRUE,
		   .ppi = 500 };
	g_autoptr(GByteArray) good = make_png(&s);
	GString *why = g_string_new(NULL);
	int chunks = 0;
	for (size_t at = 8; at + 12 <= good->len; at += 12 + get_be32(good->data + at)) {
		guint32 len = get_be32(good->data + at);
		char type[5] = { 0 };
		memcpy(type, good->data + at + 4, 4);
		g_autoptr(GByteArray) b = g_byte_array_new();
		g_byte_array_append(b, good->data, good->len);
		b->data[at + 8 + len + 1] ^= 0x01;
		g_autofree char *w = refusal(b->data, b->len, &grey_limits, IMAGE_ERROR_CORRUPT,
					     "CRC");
		if (w)
			g_string_append_printf(why, "\n  CRC of %s: %s", type, w);
		chunks++;
	}
	assert_true(chunks >= 6); /* IHDR gAMA sRGB pHYs tEXt IDAT IEND at least */

	/* The compressed pixels changed, with a CRC to match: zlib's check catches it. */
	size_t idat = chunk_at(good, "IDAT");
	guint32 len = get_be32(good->data + idat);
	for (guint32 off = 2; off < len; off += len / 5) {
		g_autoptr(GByteArray) b = g_byte_array_new();
		g_byte_array_append(b, good->data, good->len);
		b->data[idat + 8 + off] ^= 0x10;
		fix_crc(b, idat);
		g_autofree char *w = refusal(b->data, b->len, &grey_limits, IMAGE_ERROR_CORRUPT,
					     "damaged or truncated");
		if (w)
			g_string_append_printf(why, "\n  IDAT byte %u: %s", off, w);
	}
	g_autofree char *msg = g_string_free(why, FALSE);
	if (*msg)
		fail_msg("damaged files were not refused:%s", msg);
}

static void
test_trailing_bytes_refused(void **state)
{
	(void)state;
	g_autoptr(GByteArray) b = make_simple(4, 4, PNG_COLOR_TYPE_GRAY);
	g_byte_array_append(b, (const guint8 *)"<?php", 5);
	expect_refusal(b, &grey_limits, IMAGE_ERROR_CORRUPT, "5 bytes after its IEND");
	g_byte_array_set_size(b, b->len - 4);
	expect_refusal(b, &grey_limits, IMAGE_ERROR_CORRUPT, "1 bytes after its IEND");
	g_byte_array_set_size(b, b->len - 1);
	Image img;
	decode_ok(b, &grey_limits, &img);
	image_clear(&img);
}

/*
 * Ancillary chunks are skipped unparsed: a garbage colour profile and a chunk
 * libpng does not know are accepted.  A critical chunk it does not know is not.
 */
static void
test_chunks_skipped_or_refused(void **state)
{
	(void)state;
	static const char junk[] = "not an ICC profile at all, and not zlib data either";
	g_autoptr(GByteArray) b = make_simple(8, 8, PNG_COLOR_TYPE_GRAY);
	insert_chunk(b, chunk_at(b, "IDAT"), "iCCP", junk, sizeof junk);
	insert_chunk(b, chunk_at(b, "IDAT"), "zzXz", junk, sizeof junk);
	insert_chunk(b, chunk_at(b, "IEND"), "tEXt", "Comment\0after the pixels", 25);
	Image img;
	decode_ok(b, &grey_limits, &img);
	check_pixels(&img, 1);
	image_clear(&img);

	g_autoptr(GByteArray) c = make_simple(8, 8, PNG_COLOR_TYPE_GRAY);
	insert_chunk(c, chunk_at(c, "IDAT"), "ZZXZ", junk, sizeof junk);
	expect_refusal(c, &grey_limits, IMAGE_ERROR_CORRUPT, "ZZXZ");
}

/* More compressed pixels than the header's rows hold: the header was changed. */
static void
test_extra_image_data_refused(void **state)
{
	(void)state;
	g_autoptr(GByteArray) b = make_simple(8, 8, PNG_COLOR_TYPE_GRAY);
	size_t ihdr = chunk_at(b, "IHDR");
	put_be32(b->data + ihdr + 12, 7);
	fix_crc(b, ihdr);
	expect_refusal(b, &grey_limits, IMAGE_ERROR_CORRUPT, "image data");
}

/* ---- encoding ---- */

static void
test_encode_refuses_bad_images(void **state)
{
	(void)state;
	uint8_t px[16] = { 0 };
	const Image bad[] = {
		{ 2, 2, 2, 0, px }, /* grey+alpha */
		{ 2, 2, 4, 0, px }, /* RGBA */
		{ 2, 2, 0, 0, px },
		{ 0, 2, 1, 0, px },
		{ 2, -1, 1, 0, px },
		{ 2, 2, 1, 0, NULL },
		{ 2, 2, 1, -5, px },
		{ 100000, 100000, 3, 0, px }, /* 30 GB */
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		GError *error = NULL;
		GBytes *b = image_png_encode(&bad[i], &error);
		if (b || !g_error_matches(error, IMAGE_ERROR, IMAGE_ERROR_FAILED))
			fail_msg("image %zu was encoded", i);
		assert_non_null(strstr(error->message, "cannot encode"));
		g_error_free(error);
	}
	const Image good = { 2, 2, 1, 0, px };
	g_autoptr(GBytes) ok = image_png_encode(&good, NULL);
	assert_non_null(ok);
}

/* The encoder's output is a plain PNG another decoder reads: libpng's simplified API. */
static void
test_encode_read_by_libpng(void **state)
{
	(void)state;
	Image img = pattern_image(50, 30, 3, 0);
	g_autoptr(GBytes) png = image_png_encode(&img, NULL);
	assert_non_null(png);
	png_image pi = { .version = PNG_IMAGE_VERSION };
	assert_true(png_image_begin_read_from_memory(&pi, g_bytes_get_data(png, NULL),
						     g_bytes_get_size(png)));
	assert_int_equal(pi.width, 50);
	assert_int_equal(pi.height, 30);
	pi.format = PNG_FORMAT_RGB;
	g_autofree uint8_t *px = g_malloc(PNG_IMAGE_SIZE(pi));
	assert_true(png_image_finish_read(&pi, NULL, px, 0, NULL));
	assert_memory_equal(px, img.pixels, (size_t)50 * 30 * 3);
	png_image_free(&pi);
	image_clear(&img);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_grey),
		cmocka_unit_test(test_round_trip_rgb),
		cmocka_unit_test(test_interlaced_and_ancillary_accepted),
		cmocka_unit_test(test_rgba_face),
		cmocka_unit_test(test_wrong_format_refused),
		cmocka_unit_test(test_huge_header_refused),
		cmocka_unit_test(test_not_png_refused),
		cmocka_unit_test(test_truncated_refused),
		cmocka_unit_test(test_crc_and_data_damage_refused),
		cmocka_unit_test(test_trailing_bytes_refused),
		cmocka_unit_test(test_extra_image_data_refused),
		cmocka_unit_test(test_chunks_skipped_or_refused),
		cmocka_unit_test(test_encode_refuses_bad_images),
		cmocka_unit_test(test_encode_read_by_libpng),
	};
	return cmocka_run_group_tests_name("png", tests, NULL, NULL);
}
