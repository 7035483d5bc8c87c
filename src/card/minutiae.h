/* SPDX-License-Identifier: MIT */
/*
 * Fingerprint minutiae from a grey image: our own documented extractor
 * "ektp-minutiae" (the algorithm and its parameters are described at the top
 * of minutiae.c).  Its output is what the card's ISO/IEC 19794-2 templates
 * (iso19794.h) are made of: position, direction, type and a quality per
 * minutia.
 *
 * Conventions, those of ISO/IEC 19794-2: x and y in pixels from the top-left
 * corner of the image (y grows downwards); the angle in radians in [0, 2 pi),
 * counter-clockwise from the +x axis as the image is seen (so a direction
 * pointing up the image is pi/2).  The direction points along the ridge flow
 * between the two branches of the minutia's "Y": for a bifurcation between
 * the two ridge branches (away from the stem); for a ridge ending, which is a
 * fork of the valley, between the two valley branches, i.e. from the end into
 * the ridge's body.  The drivers/sim fingerprint simulator uses the same
 * convention for its ground truth.
 *
 * The extractor is designed for 8-bit grey images of about 500 ppi (a ridge
 * period of 8 to 12 px) with dark ridges on a light background, as the
 * enrollment scanners deliver; other resolutions must be resampled first.
 *
 * Thread-safe: no global state.  One 400x500 image takes a few tens of
 * milliseconds, so the daemon calls it from a worker, not the loop.
 */
#ifndef EKTP_CARD_MINUTIAE_H
#define EKTP_CARD_MINUTIAE_H

#include <glib.h>
#include <stdint.h>

/* A stored template names the extractor that made it, as quality scores do. */
#define MINUTIAE_ALGORITHM "ektp-minutiae"
#define MINUTIAE_VERSION "1"

#define MINUTIAE_ERROR (minutiae_error_quark())
GQuark minutiae_error_quark(void);

typedef enum {
	MINUTIAE_ERROR_INPUT, /* not an image the extractor accepts (size, resolution, NULL) */
} MinutiaeErrorCode;

/* The ISO/IEC 19794-2 type codes, so a type is written to a record as is. */
typedef enum {
	MINUTIA_OTHER = 0,
	MINUTIA_RIDGE_ENDING = 1,
	MINUTIA_BIFURCATION = 2,
} MinutiaType;

typedef struct {
	int x, y;     /* pixels from the top-left corner */
	double angle; /* radians in [0, 2 pi), ISO/IEC 19794-2 direction (see above) */
	MinutiaType type;
	int quality; /* 1 (barely credible) to 100; 0 means "not reported" in a record */
} Minutia;

/* The image to read: 8-bit grey, row-major, WIDTH*HEIGHT bytes. */
typedef struct {
	int width, height;
	int ppi;               /* must be 450 to 550 */
	const uint8_t *pixels; /* borrowed for the duration of the call */
} MinutiaeImage;

/* What the extractor saw and threw away; for tests, logs and tuning. */
typedef struct {
	double foreground;  /* share of the image taken as the print area, 0 to 1 */
	int candidates;     /* crossing-number minutiae before any removal */
	int removed_border; /* too near the edge of the print area */
	int removed_spur;   /* an ending on a short side branch, with its bifurcation */
	int removed_bridge; /* two bifurcations joined by a short link (bridge, small lake) */
	int removed_short;  /* both endings of a short ridge fragment */
	int removed_break;  /* two endings facing each other across a gap */
	int removed_close;  /* any pair closer than the closest credible distance */
	int kept;
} MinutiaeStats;

/*
 * Extracts the minutiae of IMG (borrowed).  Returns a new GArray of Minutia
 * (caller frees with g_array_unref), empty when the image holds no print, in
 * order of position (by y, then x); NULL with MINUTIAE_ERROR_INPUT
 * when IMG is not an image the extractor accepts.  STATS (may be NULL, owned
 * by the caller) receives the counts.
 */
GArray *minutiae_extract(const MinutiaeImage *img, MinutiaeStats *stats, GError **error);

#endif
