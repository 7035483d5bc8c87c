/* SPDX-License-Identifier: MIT */
/*
 * Synthetic biometric images for the simulators, deterministic from a seed:
 * what a simulated scanner or camera "captures".  Each generator also returns
 * the ground truth it drew from (minutiae, eye geometry), so tests can check
 * the quality measures and, later, the minutiae extractor against it.
 *
 * QUALITY runs from 0 (unusable: heavy noise, blur, low contrast, partial
 * contact) to 1 (clean); it is how the simulators model worn devices and
 * poorly placed fingers.  All images are allocated with g_malloc into
 * out->pixels (caller frees with g_free).
 */
#ifndef EKTP_DRIVERS_SIM_SYNTH_H
#define EKTP_DRIVERS_SIM_SYNTH_H

#include <ektp/hal.h>
#include <glib.h>

typedef enum { SYNTH_RIDGE_ENDING = 1, SYNTH_BIFURCATION = 2 } SynthMinutiaType;

typedef struct {
	double x, y;  /* pixels from the top-left corner */
	double angle; /* radians, counter-clockwise from the +x axis, ISO 19794-2 convention */
	SynthMinutiaType type;
} SynthMinutia;

/* 500 ppi, 8-bit grey, 400x500 pixels (dark ridges on a light background),
 * position = ISO finger position 1..10.  MINUTIAE (may be NULL) receives the
 * SynthMinutia the ridges were synthesised from, inside the print area. */
int synth_fingerprint(guint32 seed, int position, double quality, HalImage *out,
		      GArray *minutiae);

typedef struct {
	double pupil_x, pupil_y, pupil_r;
	double iris_x, iris_y, iris_r;
} SynthIrisGeometry;

/* 640x480, 8-bit grey, near-infrared look (dark pupil, textured iris, bright
 * sclera, eyelids); eye = 1 right, 2 left.  GEOM (may be NULL) receives the
 * circles drawn. */
int synth_iris(guint32 seed, int eye, double quality, HalImage *out, SynthIrisGeometry *geom);

/* 480x640 (3:4) RGB head-and-shoulders portrait on a plain background of
 * BACKGROUND (0xRRGGBB). */
int synth_face(guint32 seed, guint32 background, double quality, HalImage *out);

/* 400x150, 8-bit grey, a dark pen signature on white. */
int synth_signature(guint32 seed, HalImage *out);

#endif
