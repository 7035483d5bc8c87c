/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the PNG reader that every upload goes through (image/png.c): the
 * input's first byte picks the limits of a fingerprint upload (grey) or a
 * face upload (RGB), the rest is the file.  A decoded image must lie within
 * the limits; written again and read back it must have the same size and
 * the same pixels.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* Smaller than the daemon's own limits, so that the fuzzer spends its
	 * time on the format rather than on inflating large images. */
	const ImageLimits finger = { .channels = 1, .min_width = 16, .max_width = 800,
				     .min_height = 16, .max_height = 1000, .max_bytes = 800 * 1000 };
	const ImageLimits face = { .channels = 3, .min_width = 16, .max_width = 600,
				   .min_height = 16, .max_height = 800, .max_bytes = 600 * 800 * 3 };
	const ImageLimits *lim = data[0] & 1 ? &face : &finger;
	Image img = { 0 };
	GError *e = NULL;
	if (image_png_decode(data + 1, size - 1, lim, &img, &e) < 0) {
		if (!e || img.pixels)
			abort();
		g_error_free(e);
		return 0;
	}
	if (img.channels != lim->channels || img.width < lim->min_width ||
	    img.width > lim->max_width || img.height < lim->min_height ||
	    img.height > lim->max_height || !img.pixels)
		abort();
	GBytes *png = image_png_encode(&img, &e);
	if (!png)
		abort();
	Image back = { 0 };
	gsize n;
	const void *bytes = g_bytes_get_data(png, &n);
	if (image_png_decode(bytes, n, lim, &back, &e) < 0)
		abort();
	if (back.width != img.width || back.height != img.height || back.ppi != img.ppi ||
	    memcmp(back.pixels, img.pixels, (size_t)img.width * img.height * img.channels) != 0)
		abort();
	image_clear(&back);
	image_clear(&img);
	g_bytes_unref(png);
	return 0;
}
