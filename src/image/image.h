/* SPDX-License-Identifier: MIT */
/*
 * Images as the enrollment keeps them, and their one file format: PNG, read
 * and written by libpng (never by hand).  Decoding is a gate, not a
 * converter: it accepts only the pixel format the caller's modality expects
 * (8-bit grey for fingerprints, irises and signatures; 8-bit RGB for faces)
 * within the caller's size limits, and refuses anything else with an
 * IMAGE_ERROR whose message names the rule that was broken.  Dimensions are
 * checked against the limits from the PNG header, before any pixel memory is
 * allocated, so a small file claiming a huge image costs nothing.
 *
 * Image has the field names of HalImage in <ektp/hal.h> (width, height,
 * channels, ppi, pixels) so the core copies between the two field by field;
 * this header does not include hal.h, so image/ stays below the HAL.
 *
 * Thread-safe: no global state; encoding a large image takes tens of
 * milliseconds, so the daemon calls these from a worker, not the loop.
 */
#ifndef EKTP_IMAGE_H
#define EKTP_IMAGE_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#define IMAGE_ERROR (image_error_quark())
GQuark image_error_quark(void);

typedef enum {
	IMAGE_ERROR_FAILED,  /* encoding failed, or libpng ran out of memory */
	IMAGE_ERROR_NOT_PNG, /* no PNG signature */
	IMAGE_ERROR_CORRUPT, /* truncated or damaged: CRC, zlib data, no IEND, bytes after it */
	IMAGE_ERROR_FORMAT,  /* a PNG, but of a colour type or bit depth the caller refuses */
	IMAGE_ERROR_SIZE,    /* width, height or pixel bytes outside the caller's limits */
} ImageErrorCode;

typedef struct {
	int width, height;
	int channels;    /* 1 grey, 3 RGB; 8 bits per sample */
	int ppi;         /* pixels per inch from the PNG's pHYs chunk; 0 when not given */
	uint8_t *pixels; /* width*height*channels bytes, row-major, no padding; owned (g_free) */
} Image;

/* What a decode accepts.  All fields are required (positive). */
typedef struct {
	/*
	 * 1: colour type grey, 8-bit, only.
	 * 3: colour type RGB, 8-bit; RGBA 8-bit too when every pixel is opaque
	 *    (alpha 255), alpha then dropped.  A translucent face has no defined
	 *    background, so it is refused rather than composited on a guess.
	 * Palette, grey+alpha, 1/2/4/16-bit samples and the other modality's colour
	 * type are refused: converting them would hide a wrong device or a wrong
	 * upload (a face sent as a fingerprint), and palette images are lossy.
	 */
	int channels;
	int min_width, max_width;
	int min_height, max_height;
	/* Decoded bytes (width*height*channels) at most.  An RGBA face is read
	 * whole before its alpha goes, so it briefly needs 4/3 of this. */
	size_t max_bytes;
} ImageLimits;

/*
 * Decodes the PNG of LEN bytes at DATA into OUT, which is overwritten
 * (OUT->pixels: caller frees, with image_clear()).  Interlaced images are
 * accepted; ancillary chunks other than pHYs are skipped unread.  Returns 0,
 * or -1 with ERROR set and OUT zeroed.  DATA and LIMITS are borrowed for the
 * call.
 */
int image_png_decode(const void *data, size_t len, const ImageLimits *limits, Image *out,
		     GError **error);

/*
 * Encodes IMG (1 or 3 channels, borrowed for the call) as a non-interlaced
 * 8-bit grey or RGB PNG, with a pHYs chunk when IMG->ppi is set.  Returns the
 * file (caller unrefs) or NULL with ERROR set.
 */
GBytes *image_png_encode(const Image *img, GError **error);

/* Frees IMG->pixels and zeroes IMG (which is borrowed; may be NULL). */
void image_clear(Image *img);

#endif
