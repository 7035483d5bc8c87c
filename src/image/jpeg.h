/* SPDX-License-Identifier: MIT */
/*
 * JPEG through libjpeg-turbo (never by hand), and the resampling that goes
 * with making small JPEGs.  The chip holds 8 KB, so the portrait and the
 * signature written to it are scaled down and encoded at a quality chosen to
 * fit (card/chipdata.c); decoding is there to check what was written.
 *
 * Decoding is a gate like image_png_decode(): it takes only the colour the
 * caller's modality expects and sizes within the caller's limits, checked
 * from the frame header before any pixel memory is allocated.  It is strict
 * where libjpeg is lenient: a corrupt-data warning (libjpeg pads a
 * truncated file with a fake EOI and goes on), bytes after the EOI marker,
 * and a progressive file of more than 100 scans (a known way to make a small
 * file cost minutes) are all refused.  Error codes are those of image.h:
 * IMAGE_ERROR_CORRUPT for a file that is not a JPEG (no SOI marker) or is
 * damaged, IMAGE_ERROR_FORMAT for a colour space the caller refuses,
 * IMAGE_ERROR_SIZE for dimensions outside its limits, IMAGE_ERROR_FAILED for
 * what the caller passed wrong or memory that ran out.
 *
 * Thread-safe: no global state.
 */
#ifndef EKTP_IMAGE_JPEG_H
#define EKTP_IMAGE_JPEG_H

#include "image/image.h"

/*
 * Encodes IMG (1 channel: a greyscale JPEG; 3: RGB, stored as YCbCr 4:2:0)
 * as a baseline JFIF with optimised Huffman tables (smaller, same pixels) at
 * QUALITY 1..100 (libjpeg's scale), with the density in the JFIF header when
 * IMG->ppi is set.  Returns the file (caller unrefs) or NULL with ERROR set.
 * IMG is borrowed for the call.
 */
GBytes *image_jpeg_encode(const Image *img, int quality, GError **error);

/*
 * Decodes the JPEG of LEN bytes at DATA into OUT, which is overwritten
 * (OUT->pixels: caller frees, with image_clear()).  LIMITS->channels 1
 * accepts greyscale JPEGs only; 3 accepts YCbCr or RGB JPEGs, decoded to
 * RGB.  CMYK, YCCK, and the other modality's colour space are refused.
 * OUT->ppi comes from the JFIF density when it is given in dots per inch or
 * per cm.  Returns 0, or -1 with ERROR set and OUT zeroed.  DATA and LIMITS
 * are borrowed for the call.
 */
int image_jpeg_decode(const void *data, size_t len, const ImageLimits *limits, Image *out,
		      GError **error);

/* The largest width or height image_scale() makes. */
#define IMAGE_SCALE_MAX 16384

/*
 * Resamples SRC (1 or 3 channels, borrowed for the call) to WIDTH x HEIGHT
 * (1..IMAGE_SCALE_MAX each) into OUT, which is overwritten (OUT->pixels:
 * caller frees, with image_clear()).  Bilinear: a triangle filter, separable,
 * whose support widens with the reduction so that shrinking averages every
 * source pixel instead of skipping most of them (plain bilinear sampling
 * aliases below half size, and a 600x800 photo goes to 120x160).  OUT->ppi is
 * SRC->ppi scaled with the width.  Returns 0, or -1 with ERROR set
 * (IMAGE_ERROR_SIZE for a bad size, IMAGE_ERROR_FAILED for a bad SRC) and
 * OUT zeroed.
 */
int image_scale(const Image *src, int width, int height, Image *out, GError **error);

#endif
