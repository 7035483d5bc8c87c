/* SPDX-License-Identifier: MIT */
/*
 * JPEG through libjpeg-turbo, from and to memory, and bilinear resampling.
 * libjpeg reports errors by calling error_exit, which must not return: ours
 * longjmp()s back to the setjmp() in decode_run()/encode_run().  As in png.c,
 * everything those functions allocate or learn lives in a context struct in
 * their caller's frame, and the caller frees it whichever way they return.
 * Output goes to a GByteArray through a destination manager of our own rather
 * than jpeg_mem_dest(), whose buffer leaks when an error strikes after it has
 * grown.
 */
#include "image/jpeg.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs FILE and size_t first */
#include <string.h>

#include <jpeglib.h>

/* A progressive file may hold many scans, each a pass over the whole image. */
#define MAX_SCANS 100
#define ENCODE_MAX_DIM 65500 /* JPEG_MAX_DIMENSION */
#define CM_PER_INCH 2.54

typedef struct {
	struct jpeg_error_mgr pub; /* first: libjpeg casts cinfo->err to it */
	jmp_buf jmp;
	char why[JMSG_LENGTH_MAX];
} JpegErr;

static void
on_error_exit(j_common_ptr c)
{
	JpegErr *e = (JpegErr *)c->err;
	c->err->format_message(c, e->why);
	longjmp(e->jmp, 1);
}

/* Warnings (level -1) mean corrupt data that libjpeg would paper over: fatal here. */
static void
on_emit_message(j_common_ptr c, int level)
{
	if (level < 0)
		on_error_exit(c);
}

static void
on_progress(j_common_ptr c)
{
	if (!c->is_decompressor || ((j_decompress_ptr)c)->input_scan_number <= MAX_SCANS)
		return;
	JpegErr *e = (JpegErr *)c->err;
	g_snprintf(e->why, sizeof e->why, "more than %d scans", MAX_SCANS);
	longjmp(e->jmp, 1);
}

static void
init_err(JpegErr *e)
{
	jpeg_std_error(&e->pub);
	e->pub.error_exit = on_error_exit;
	e->pub.emit_message = on_emit_message;
}

/* ---- decoding ---- */

typedef struct {
	JpegErr err;
	struct jpeg_decompress_struct cinfo;
	struct jpeg_progress_mgr progress;
	gboolean created;
	uint8_t *pixels;
	GError *error; /* a rule of ours was broken (NULL when libjpeg failed) */
} Decode;

static const char *
colour_space_name(J_COLOR_SPACE cs)
{
	switch (cs) {
	case JCS_GRAYSCALE:
		return "greyscale";
	case JCS_RGB:
		return "RGB";
	case JCS_YCbCr:
		return "YCbCr";
	case JCS_CMYK:
		return "CMYK";
	case JCS_YCCK:
		return "YCCK";
	default:
		return "unknown";
	}
}

static int
check_header(Decode *d, const ImageLimits *lim)
{
	struct jpeg_decompress_struct *c = &d->cinfo;
	gboolean grey = lim->channels == 1;
	gboolean ok = grey ? c->jpeg_color_space == JCS_GRAYSCALE
			   : c->jpeg_color_space == JCS_YCbCr || c->jpeg_color_space == JCS_RGB;
	if (!ok) {
		g_set_error(&d->error, IMAGE_ERROR, IMAGE_ERROR_FORMAT,
			    "JPEG colour space %s is not accepted: this image must be %s",
			    colour_space_name(c->jpeg_color_space),
			    grey ? "greyscale" : "colour (YCbCr or RGB)");
		return 0;
	}
	JDIMENSION w = c->image_width, h = c->image_height;
	if (w < (JDIMENSION)lim->min_width || w > (JDIMENSION)lim->max_width) {
		g_set_error(&d->error, IMAGE_ERROR, IMAGE_ERROR_SIZE,
			    "JPEG width %u is outside the accepted %d to %d pixels", (unsigned)w,
			    lim->min_width, lim->max_width);
		return 0;
	}
	if (h < (JDIMENSION)lim->min_height || h > (JDIMENSION)lim->max_height) {
		g_set_error(&d->error, IMAGE_ERROR, IMAGE_ERROR_SIZE,
			    "JPEG height %u is outside the accepted %d to %d pixels", (unsigned)h,
			    lim->min_height, lim->max_height);
		return 0;
	}
	size_t px, bytes;
	if (!g_size_checked_mul(&px, w, h) ||
	    !g_size_checked_mul(&bytes, px, (size_t)lim->channels) || bytes > lim->max_bytes) {
		g_set_error(&d->error, IMAGE_ERROR, IMAGE_ERROR_SIZE,
			    "JPEG of %ux%u pixels needs more than the accepted %zu bytes",
			    (unsigned)w, (unsigned)h, lim->max_bytes);
		return 0;
	}
	return 1;
}

/* Only D, a pointer that never changes, is used after a longjmp. */
static int
decode_run(Decode *d, const void *data, size_t len, const ImageLimits *lim, Image *out)
{
	init_err(&d->err);
	d->cinfo.err = &d->err.pub;
	if (setjmp(d->err.jmp))
		return -1;
	jpeg_create_decompress(&d->cinfo);
	d->created = TRUE;
	d->progress.progress_monitor = on_progress;
	d->cinfo.progress = &d->progress;
	jpeg_mem_src(&d->cinfo, data, (unsigned long)len);

	if (jpeg_read_header(&d->cinfo, TRUE) != JPEG_HEADER_OK) {
		g_set_error(&d->error, IMAGE_ERROR, IMAGE_ERROR_CORRUPT,
			    "JPEG holds tables but no image");
		return -1;
	}
	if (!check_header(d, lim))
		return -1;
	d->cinfo.out_color_space = lim->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
	if (d->cinfo.saw_JFIF_marker && d->cinfo.X_density == d->cinfo.Y_density) {
		if (d->cinfo.density_unit == 1)
			out->ppi = d->cinfo.X_density;
		else if (d->cinfo.density_unit == 2)
			out->ppi = (int)(d->cinfo.X_density * CM_PER_INCH + 0.5);
	}

	jpeg_start_decompress(&d->cinfo);
	g_assert(d->cinfo.output_components == lim->channels);
	JDIMENSION w = d->cinfo.output_width, h = d->cinfo.output_height;
	size_t stride = (size_t)w * (size_t)lim->channels;
	/* check_header() bounded w*h*channels. */
	d->pixels = g_try_malloc((size_t)h * stride);
	if (!d->pixels) {
		g_set_error(&d->error, IMAGE_ERROR, IMAGE_ERROR_FAILED,
			    "no memory for a %ux%u image", (unsigned)w, (unsigned)h);
		return -1;
	}
	while (d->cinfo.output_scanline < h) {
		JSAMPROW row = d->pixels + (size_t)d->cinfo.output_scanline * stride;
		jpeg_read_scanlines(&d->cinfo, &row, 1);
	}
	/* Through EOI, so a file cut after its last scan is refused too. */
	jpeg_finish_decompress(&d->cinfo);
	if (d->cinfo.src->bytes_in_buffer != 0) {
		g_set_error(&d->error, IMAGE_ERROR, IMAGE_ERROR_CORRUPT,
			    "JPEG is followed by %zu bytes after its EOI marker",
			    d->cinfo.src->bytes_in_buffer);
		return -1;
	}
	out->width = (int)w;
	out->height = (int)h;
	out->channels = lim->channels;
	return 0;
}

int
image_jpeg_decode(const void *data, size_t len, const ImageLimits *limits, Image *out,
		  GError **error)
{
	g_return_val_if_fail(data || len == 0, -1);
	g_return_val_if_fail(limits && out, -1);
	g_return_val_if_fail(limits->channels == 1 || limits->channels == 3, -1);
	g_return_val_if_fail(limits->min_width > 0 && limits->min_width <= limits->max_width, -1);
	g_return_val_if_fail(limits->min_height > 0 && limits->min_height <= limits->max_height,
			     -1);

	memset(out, 0, sizeof *out);
	const uint8_t *p = data;
	if (len < 3 || p[0] != 0xFF || p[1] != 0xD8 || p[2] != 0xFF) {
		g_set_error(error, IMAGE_ERROR, IMAGE_ERROR_CORRUPT,
			    "not a JPEG: the file does not start with an SOI marker");
		return -1;
	}
	if (len > G_MAXULONG) {
		g_set_error(error, IMAGE_ERROR, IMAGE_ERROR_SIZE, "JPEG of %zu bytes is too long",
			    len);
		return -1;
	}

	Decode d = { 0 };
	int ret = decode_run(&d, data, len, limits, out);
	if (d.created)
		jpeg_destroy_decompress(&d.cinfo);
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
			    "JPEG is damaged or truncated: %s", d.err.why);
	return -1;
}

/* ---- encoding ---- */

typedef struct {
	struct jpeg_destination_mgr pub; /* first: libjpeg casts cinfo->dest to it */
	GByteArray *buf;
} Dest;

typedef struct {
	JpegErr err;
	struct jpeg_compress_struct cinfo;
	gboolean created;
	Dest dest;
} Encode;

#define DEST_FIRST 4096

static void
dest_init(j_compress_ptr c)
{
	Dest *d = (Dest *)c->dest;
	g_byte_array_set_size(d->buf, DEST_FIRST);
	d->pub.next_output_byte = d->buf->data;
	d->pub.free_in_buffer = d->buf->len;
}

/* Called when the buffer is full: all of it is output; double it. */
static boolean
dest_empty(j_compress_ptr c)
{
	Dest *d = (Dest *)c->dest;
	guint used = d->buf->len;
	if (used > G_MAXUINT / 2) {
		JpegErr *e = (JpegErr *)c->err;
		g_strlcpy(e->why, "the file grew past 2 GB", sizeof e->why);
		longjmp(e->jmp, 1);
	}
	g_byte_array_set_size(d->buf, used * 2);
	d->pub.next_output_byte = d->buf->data + used;
	d->pub.free_in_buffer = used;
	return TRUE;
}

static void
dest_term(j_compress_ptr c)
{
	Dest *d = (Dest *)c->dest;
	g_byte_array_set_size(d->buf, d->buf->len - (guint)d->pub.free_in_buffer);
}

/* As decode_run(): only E is used after a longjmp. */
static int
encode_run(Encode *e, const Image *img, int quality)
{
	init_err(&e->err);
	e->cinfo.err = &e->err.pub;
	if (setjmp(e->err.jmp))
		return -1;
	jpeg_create_compress(&e->cinfo);
	e->created = TRUE;
	e->dest.pub.init_destination = dest_init;
	e->dest.pub.empty_output_buffer = dest_empty;
	e->dest.pub.term_destination = dest_term;
	e->cinfo.dest = &e->dest.pub;

	e->cinfo.image_width = (JDIMENSION)img->width;
	e->cinfo.image_height = (JDIMENSION)img->height;
	e->cinfo.input_components = img->channels;
	e->cinfo.in_color_space = img->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_set_defaults(&e->cinfo);
	jpeg_set_quality(&e->cinfo, quality, TRUE);
	/* Two passes over the coefficients for tables fitted to the image: a few
	 * hundred bytes fewer at chip sizes, and the pixels are the same. */
	e->cinfo.optimize_coding = TRUE;
	if (img->ppi > 0 && img->ppi <= 65535) {
		e->cinfo.density_unit = 1;
		e->cinfo.X_density = e->cinfo.Y_density = (UINT16)img->ppi;
	}
	jpeg_start_compress(&e->cinfo, TRUE);
	size_t stride = (size_t)img->width * (size_t)img->channels;
	while (e->cinfo.next_scanline < e->cinfo.image_height) {
		/* libjpeg's row type is not const; it only reads the input. */
		JSAMPROW row = (JSAMPROW)(uintptr_t)(img->pixels +
						     (size_t)e->cinfo.next_scanline * stride);
		jpeg_write_scanlines(&e->cinfo, &row, 1);
	}
	jpeg_finish_compress(&e->cinfo);
	return 0;
}

GBytes *
image_jpeg_encode(const Image *img, int quality, GError **error)
{
	g_return_val_if_fail(img != NULL, NULL);
	if ((img->channels != 1 && img->channels != 3) || img->width <= 0 || img->height <= 0 ||
	    img->width > ENCODE_MAX_DIM || img->height > ENCODE_MAX_DIM || !img->pixels ||
	    img->ppi < 0) {
		g_set_error(error, IMAGE_ERROR, IMAGE_ERROR_FAILED,
			    "cannot encode a %dx%d image of %d channels%s as JPEG: it must be 1 "
			    "(grey) or 3 (RGB) channels with pixels, at most %d pixels a side",
			    img->width, img->height, img->channels,
			    img->pixels ? "" : " (no pixels)", ENCODE_MAX_DIM);
		return NULL;
	}
	if (quality < 1 || quality > 100) {
		g_set_error(error, IMAGE_ERROR, IMAGE_ERROR_FAILED,
			    "JPEG quality %d is outside 1 to 100", quality);
		return NULL;
	}

	Encode e = { .dest.buf = g_byte_array_new() };
	int ret = encode_run(&e, img, quality);
	if (e.created)
		jpeg_destroy_compress(&e.cinfo);
	if (ret < 0) {
		g_byte_array_unref(e.dest.buf);
		g_set_error(error, IMAGE_ERROR, IMAGE_ERROR_FAILED, "JPEG encoding failed: %s",
			    e.err.why);
		return NULL;
	}
	return g_byte_array_free_to_bytes(e.dest.buf);
}

/* ---- resampling ---- */

/*
 * For each of OUT output samples along an axis of IN input samples: the
 * first input index it reads and NTAPS weights, summing to 1.  The window is
 * cut at the image's edges (weights there are zero, and the loops stop at
 * the edge), so the edge pixels are not darkened by an imaginary border.
 * The triangle's half-width is one input pixel when enlarging and the
 * reduction factor when shrinking.
 */
typedef struct {
	int ntaps;
	int *first;
	float *weight; /* out * ntaps */
} Taps;

static void
taps_make(Taps *t, int in, int out)
{
	double scale = (double)in / out;
	double support = scale > 1 ? scale : 1;
	t->ntaps = (int)ceil(support) * 2 + 2;
	t->first = g_new(int, out);
	t->weight = g_new0(float, (size_t)out *(size_t)t->ntaps);
	for (int o = 0; o < out; o++) {
		double centre = (o + 0.5) * scale;
		int lo = (int)floor(centre - support), hi = (int)ceil(centre + support);
		if (lo < 0)
			lo = 0;
		if (hi > in)
			hi = in;
		if (hi - lo > t->ntaps)
			hi = lo + t->ntaps;
		float *w = t->weight + (size_t)o * (size_t)t->ntaps;
		double sum = 0;
		for (int i = lo; i < hi; i++) {
			double d = fabs(i + 0.5 - centre) / support;
			w[i - lo] = d < 1 ? (float)(1 - d) : 0;
			sum += w[i - lo];
		}
		/* The input pixel holding the centre is nearer than the support. */
		g_assert(sum > 0);
		for (int k = 0; k < t->ntaps; k++)
			w[k] = (float)(w[k] / sum);
		t->first[o] = lo;
	}
}

static void
taps_free(Taps *t)
{
	g_free(t->first);
	g_free(t->weight);
}

static uint8_t
to_byte(float v)
{
	return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)(v + 0.5f);
}

int
image_scale(const Image *src, int width, int height, Image *out, GError **error)
{
	g_return_val_if_fail(src && out, -1);
	memset(out, 0, sizeof *out);
	if ((src->channels != 1 && src->channels != 3) || src->width <= 0 || src->height <= 0 ||
	    !src->pixels) {
		g_set_error(error, IMAGE_ERROR, IMAGE_ERROR_FAILED,
			    "cannot scale a %dx%d image of %d channels%s", src->width, src->height,
			    src->channels, src->pixels ? "" : " (no pixels)");
		return -1;
	}
	if (width < 1 || height < 1 || width > IMAGE_SCALE_MAX || height > IMAGE_SCALE_MAX) {
		g_set_error(error, IMAGE_ERROR, IMAGE_ERROR_SIZE,
			    "cannot scale to %dx%d: each side must be 1 to %d pixels", width,
			    height, IMAGE_SCALE_MAX);
		return -1;
	}

	int ch = src->channels, sw = src->width, sh = src->height;
	Taps tx, ty;
	taps_make(&tx, sw, width);
	taps_make(&ty, sh, height);

	/* Horizontal pass into floats (width x sh), then vertical into bytes. */
	size_t mid_stride = (size_t)width * (size_t)ch;
	float *mid = g_new(float, mid_stride *(size_t)sh);
	for (int y = 0; y < sh; y++) {
		const uint8_t *row = src->pixels + (size_t)y * (size_t)sw * (size_t)ch;
		float *m = mid + (size_t)y * mid_stride;
		for (int x = 0; x < width; x++) {
			const float *w = tx.weight + (size_t)x * (size_t)tx.ntaps;
			int n = MIN(tx.ntaps, sw - tx.first[x]);
			for (int c = 0; c < ch; c++) {
				float acc = 0;
				const uint8_t *p = row + (size_t)tx.first[x] * (size_t)ch + c;
				for (int k = 0; k < n; k++)
					acc += w[k] * p[(size_t)k * (size_t)ch];
				m[(size_t)x * (size_t)ch + c] = acc;
			}
		}
	}
	uint8_t *px = g_malloc(mid_stride * (size_t)height);
	for (int y = 0; y < height; y++) {
		const float *w = ty.weight + (size_t)y * (size_t)ty.ntaps;
		int n = MIN(ty.ntaps, sh - ty.first[y]);
		uint8_t *o = px + (size_t)y * mid_stride;
		for (size_t i = 0; i < mid_stride; i++) {
			float acc = 0;
			const float *m = mid + (size_t)ty.first[y] * mid_stride + i;
			for (int k = 0; k < n; k++)
				acc += w[k] * m[(size_t)k * mid_stride];
			o[i] = to_byte(acc);
		}
	}
	g_free(mid);
	taps_free(&tx);
	taps_free(&ty);

	out->width = width;
	out->height = height;
	out->channels = ch;
	out->ppi = src->ppi > 0 ? (int)((double)src->ppi * width / sw + 0.5) : 0;
	out->pixels = px;
	return 0;
}
