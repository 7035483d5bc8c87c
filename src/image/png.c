/* SPDX-License-Identifier: MIT */
/*
 * PNG through libpng, from and to memory.  libpng reports errors by calling
 * our error function, which must not return: it longjmp()s back to the
 * setjmp() in decode_run()/encode_run().  So that nothing is lost or
 * clobbered on that jump, everything those functions allocate or learn is
 * kept in a context struct that lives in their caller's frame (not in their
 * own locals, whose values after a longjmp C leaves indeterminate), and the
 * caller frees it whichever way they return.
 */
#include "image/image.h"

#include <png.h>
#include <setjmp.h>
#include <string.h>

G_DEFINE_QUARK(ektp-image-error-quark, image_error)

#define PNG_SIG_LEN 8
/* No chunk we read (IHDR, PLTE, pHYs) comes near this; it caps what a forged
 * length can make libpng allocate for one chunk. */
#define CHUNK_MALLOC_MAX (1 << 20)
/* Encoding appends to a GByteArray, whose length is a guint. */
#define ENCODE_MAX_BYTES ((size_t)1 << 30)
#define METRES_PER_INCH 0.0254

/* libpng's last error message, for the GError. */
typedef struct {
	char why[256];
} PngErr;

static void
on_error(png_structp png, png_const_charp msg)
{
	PngErr *e = png_get_error_ptr(png);
	g_strlcpy(e->why, msg, sizeof e->why);
	png_longjmp(png, 1);
}

static void
on_warning(png_structp png, png_const_charp msg)
{
	/* Only for things libpng already recovered from; the errors that matter are made fatal. */
	(void)png;
	g_debug("libpng: %s", msg);
}

/* ---- decoding ---- */

typedef struct {
	PngErr err; /* first: the error pointer */
	const uint8_t *data;
	size_t len, pos;
	png_structp png;
	png_infop info;
	uint8_t *pixels;
	png_bytep *rows;
	GError *error; /* a rule of ours was broken (NULL when libpng failed) */
} Decode;

static void
read_fn(png_structp png, png_bytep out, size_t n)
{
	Decode *d = png_get_io_ptr(png);
	if (n > d->len - d->pos)
		png_error(png, "the file ends early (truncated)");
	memcpy(out, d->data + d->pos, n);
	d->pos += n;
}

static const char *
colour_type_name(int t)
{
	switch (t) {
	case PNG_COLOR_TYPE_GRAY:
		return "greyscale";
	case PNG_COLOR_TYPE_GRAY_ALPHA:
		return "greyscale with alpha";
	case PNG_COLOR_TYPE_PALETTE:
		return "palette";
	case PNG_COLOR_TYPE_RGB:
		return "RGB";
	case PNG_COLOR_TYPE_RGB_ALPHA:
		return "RGBA";
	default:
		return "unknown";
	}
}

/* 1 when the colour type and bit depth of the header meet LIM, else 0 with D->error set. */
static int
check_format(Decode *d, const ImageLimits *lim, int ctype, int depth)
{
	gboolean grey = lim->channels == 1;
	const char *want = grey ? "8-bit greyscale" : "8-bit RGB (or opaque 8-bit RGBA)";
	gboolean ok = grey ? ctype == PNG_COLOR_TYPE_GRAY
			   : ctype == PNG_COLOR_TYPE_RGB || ctype == PNG_COLOR_TYPE_RGB_ALPHA;
	if (!ok) {
		g_set_error(&d->error, IMAGE_ERROR, IMAGE_ERROR_FORMAT,
			    "PNG colour type %s is not accepted: this image must be %s",
			    colour_type_name(ctype), want);
		return 0;
	}
	if (depth != 8) {
		g_set_error(&d->error, IMAGE_ERROR, IMAGE_ERROR_FORMAT,
			    "PNG bit depth %d is not accepted: this image must be %s", depth, want);
		return 0;
	}
	return 1;
}

/* 1 when W x H x CHANNELS meets LIM, else 0 with D->error set. */
static int
check_size(Decode *d, const ImageLimits *lim, png_uint_32 w, png_uint_32 h)
{
	if (w < (png_uint_32)lim->min_width || w > (png_uint_32)lim->max_width) {
		g_set_error(&d->error, IMAGE_ERROR, IMAGE_ERROR_SIZE,
			    "PNG width %u is outside the accepted %d to %d pixels", (unsigned)w,
			    lim->min_width, lim->max_width);
		return 0;
	}
	if (h < (png_uint_32)lim->min_height || h > (png_uint_32)lim->max_height) {
		g_set_error(&d->error, IMAGE_ERROR, IMAGE_ERROR_SIZE,
			    "PNG height %u is outside the accepted %d to %d pixels", (unsigned)h,
			    lim->min_height, lim->max_height);
		return 0;
	}
	size_t px, bytes;
	if (!g_size_checked_mul(&px, w, h) ||
	    !g_size_checked_mul(&bytes, px, (size_t)lim->channels) || bytes > lim->max_bytes) {
		g_set_error(&d->error, IMAGE_ERROR, IMAGE_ERROR_SIZE,
			    "PNG of %ux%u pixels needs more than the accepted %zu bytes",
			    (unsigned)w, (unsigned)h, lim->max_bytes);
		return 0;
	}
	return 1;
}

/* Ancillary chunks we have no use for: skipped with only their CRC checked,
 * so none of their parsers (iCCP and zTXt inflate, for one) ever runs. */
static const png_byte skipped_chunks[] = "bKGD\0cHRM\0eXIf\0gAMA\0hIST\0iCCP\0iTXt\0oFFs\0"
					 "pCAL\0sCAL\0sBIT\0sPLT\0sRGB\0tEXt\0tIME\0tRNS\0zTXt";

/*
 * Reads D->data into D->pixels.  Every libpng error lands back at the
 * setjmp() and returns -1 with D->err.why set; our own refusals return -1
 * with D->error set.  Only D, a pointer that never changes, is used after the
 * jump.
 */
static int
decode_run(Decode *d, const ImageLimits *lim, Image *out)
{
	d->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &d->err, on_error, on_warning);
	if (d->png)
		d->info = png_create_info_struct(d->png);
	if (!d->png || !d->info) {
		g_strlcpy(d->err.why, "out of memory", sizeof d->err.why);
		return -1;
	}
	if (setjmp(png_jmpbuf(d->png)))
		return -1;

	png_set_read_fn(d->png, d, read_fn);
	/* Strict: a CRC error in any chunk, and libpng's "benign" errors, are errors. */
	png_set_crc_action(d->png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
	png_set_benign_errors(d->png, 0);
	/* Our limits decide the size, with messages that name them; libpng's own
	 * defaults would refuse first (above a million pixels wide) in other words. */
	png_set_user_limits(d->png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
	png_set_chunk_malloc_max(d->png, CHUNK_MALLOC_MAX);
	png_set_keep_unknown_chunks(d->png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
	png_set_keep_unknown_chunks(d->png, PNG_HANDLE_CHUNK_NEVER, skipped_chunks,
				    (int)(sizeof skipped_chunks / 5));

	png_read_info(d->png, d->info);
	png_uint_32 w = 0, h = 0;
	int depth = 0, ctype = 0, interlace = 0;
	png_get_IHDR(d->png, d->info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
	if (!check_format(d, lim, ctype, depth) || !check_size(d, lim, w, h))
		return -1;

	png_uint_32 xres = 0, yres = 0;
	int unit = 0;
	if (png_get_pHYs(d->png, d->info, &xres, &yres, &unit) && unit == PNG_RESOLUTION_METER &&
	    xres == yres)
		out->ppi = (int)(xres * METRES_PER_INCH + 0.5);

	/* Adam7 is undone by libpng across the passes of png_read_image(). */
	png_set_interlace_handling(d->png);
	png_read_update_info(d->png, d->info);
	int in_channels = ctype == PNG_COLOR_TYPE_RGB_ALPHA ? 4 : lim->channels;
	size_t rowbytes = png_get_rowbytes(d->png, d->info);
	g_assert(rowbytes == (size_t)w * (size_t)in_channels);

	/* check_size() bounded w*h*channels; RGBA adds a third to that. */
	d->pixels = g_try_malloc((size_t)h * rowbytes);
	if (!d->pixels) {
		g_set_error(&d->error, IMAGE_ERROR, IMAGE_ERROR_FAILED,
			    "no memory for a %ux%u image", (unsigned)w, (unsigned)h);
		return -1;
	}
	d->rows = g_new(png_bytep, h);
	for (png_uint_32 y = 0; y < h; y++)
		d->rows[y] = d->pixels + (size_t)y * rowbytes;
	png_read_image(d->png, d->rows);
	/* Through IEND, so a file cut after its pixels is still refused. */
	png_read_end(d->png, NULL);
	if (d->pos != d->len) {
		g_set_error(&d->error, IMAGE_ERROR, IMAGE_ERROR_CORRUPT,
			    "PNG is followed by %zu bytes after its IEND chunk", d->len - d->pos);
		return -1;
	}

	if (in_channels == 4) {
		size_t n = (size_t)w * h;
		for (size_t i = 0; i < n; i++) {
			if (d->pixels[4 * i + 3] != 255) {
				g_set_error(&d->error, IMAGE_ERROR, IMAGE_ERROR_FORMAT,
					    "PNG pixel (%zu, %zu) has alpha %d: an RGBA image is "
					    "accepted only when every pixel is opaque (255)",
					    i % w, i / w, d->pixels[4 * i + 3]);
				return -1;
			}
			memmove(d->pixels + 3 * i, d->pixels + 4 * i, 3);
		}
		d->pixels = g_realloc(d->pixels, 3 * n);
	}
	out->width = (int)w;
	out->height = (int)h;
	out->channels = lim->channels;
	return 0;
}

int
image_png_decode(const void *data, size_t len, const ImageLimits *limits, Image *out,
		 GError **error)
{
	g_return_val_if_fail(data || len == 0, -1);
	g_return_val_if_fail(limits && out, -1);
	g_return_val_if_fail(limits->channels == 1 || limits->channels == 3, -1);
	g_return_val_if_fail(limits->min_width > 0 && limits->min_width <= limits->max_width, -1);
	g_return_val_if_fail(limits->min_height > 0 && limits->min_height <= limits->max_height,
			     -1);

	memset(out, 0, sizeof *out);
	if (len < PNG_SIG_LEN || png_sig_cmp(data, 0, PNG_SIG_LEN) != 0) {
		g_set_error(error, IMAGE_ERROR, IMAGE_ERROR_NOT_PNG,
			    "not a PNG: the file does not start with the PNG signature");
		return -1;
	}

	Decode d = { .data = data, .len = len };
	int ret = decode_run(&d, limits, out);
	png_destroy_read_struct(&d.png, &d.info, NULL);
	g_free(d.rows);
	if (ret == 0) {
		out->pixels = d.pixels;
		return 0;
	}
	g_free(d.pixels);
	memset(out, 0, sizeof *out);
	if (d.error)
		g_propagate_error(error, d.error);
	else
		g_set_error(error, IMAGE_ERROR, IMAGE_ERROR_CORRUPT,
			    "PNG is damaged or truncated: %s", d.err.why);
	return -1;
}

/* ---- encoding ---- */

typedef struct {
	PngErr err; /* first: the error pointer */
	png_structp png;
	png_infop info;
	GByteArray *buf;
} Encode;

static void
write_fn(png_structp png, png_bytep data, size_t n)
{
	Encode *e = png_get_io_ptr(png);
	g_byte_array_append(e->buf, data, (guint)n);
}

static void
flush_fn(png_structp png)
{
	(void)png;
}

/* As decode_run(): only E is used after a longjmp. */
static int
encode_run(Encode *e, const Image *img)
{
	e->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &e->err, on_error, on_warning);
	if (e->png)
		e->info = png_create_info_struct(e->png);
	if (!e->png || !e->info) {
		g_strlcpy(e->err.why, "out of memory", sizeof e->err.why);
		return -1;
	}
	if (setjmp(png_jmpbuf(e->png)))
		return -1;

	png_set_write_fn(e->png, e, write_fn, flush_fn);
	png_set_IHDR(e->png, e->info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
		     img->channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	if (img->ppi > 0) {
		png_uint_32 ppm = (png_uint_32)(img->ppi / METRES_PER_INCH + 0.5);
		png_set_pHYs(e->png, e->info, ppm, ppm, PNG_RESOLUTION_METER);
	}
	png_write_info(e->png, e->info);
	size_t stride = (size_t)img->width * (size_t)img->channels;
	for (int y = 0; y < img->height; y++)
		png_write_row(e->png, img->pixels + (size_t)y * stride);
	png_write_end(e->png, e->info);
	return 0;
}

GBytes *
image_png_encode(const Image *img, GError **error)
{
	g_return_val_if_fail(img != NULL, NULL);
	size_t bytes = 0;
	if ((img->channels != 1 && img->channels != 3) || img->width <= 0 || img->height <= 0 ||
	    !img->pixels || img->ppi < 0 ||
	    !g_size_checked_mul(&bytes, (size_t)img->width, (size_t)img->height) ||
	    !g_size_checked_mul(&bytes, bytes, (size_t)img->channels) || bytes > ENCODE_MAX_BYTES) {
		g_set_error(error, IMAGE_ERROR, IMAGE_ERROR_FAILED,
			    "cannot encode a %dx%d image of %d channels%s as PNG: it must be 1 "
			    "(grey) or 3 (RGB) channels with pixels, at most %zu bytes",
			    img->width, img->height, img->channels,
			    img->pixels ? "" : " (no pixels)", ENCODE_MAX_BYTES);
		return NULL;
	}

	Encode e = { .buf = g_byte_array_sized_new((guint)(bytes / 2 + 1024)) };
	int ret = encode_run(&e, img);
	png_destroy_write_struct(&e.png, &e.info);
	if (ret < 0) {
		g_byte_array_unref(e.buf);
		g_set_error(error, IMAGE_ERROR, IMAGE_ERROR_FAILED, "PNG encoding failed: %s",
			    e.err.why);
		return NULL;
	}
	return g_byte_array_free_to_bytes(e.buf);
}

void
image_clear(Image *img)
{
	if (!img)
		return;
	g_free(img->pixels);
	memset(img, 0, sizeof *img);
}
