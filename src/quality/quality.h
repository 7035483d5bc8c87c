/* SPDX-License-Identifier: MIT */
/*
 * Quality measures of captured images, our own documented algorithms.  Each
 * result names its algorithm and version, because a stored score is only
 * meaningful with them; a certified scorer (NFIQ 2, say) can later be added
 * as another algorithm beside these.
 */
#ifndef EKTP_QUALITY_H
#define EKTP_QUALITY_H

#include <ektp/hal.h>

typedef struct {
	int score;             /* 0 (unusable) to 100 */
	const char *algorithm; /* static, e.g. "ektp-fp-blockwise" */
	const char *version;   /* static, e.g. "1" */
	/* The figures the score is made of, each 0 to 1. */
	double coverage;  /* share of blocks holding ridges */
	double contrast;  /* ridge/valley contrast in those blocks */
	double coherence; /* orientation coherence in those blocks */
} QualityFingerprint;

/* Scores a grey fingerprint image at about 500 ppi.  -1 if IMG is not one. */
int quality_fingerprint(const HalImage *img, QualityFingerprint *out);

typedef struct {
	int score;
	const char *algorithm;
	const char *version;
	/* ISO/IEC 29794-6 measures that an image alone allows, as found by our
	 * segmentation (circles in pixels). */
	double pupil_x, pupil_y, pupil_r, iris_x, iris_y, iris_r;
	double usable_iris_area;   /* 0 to 1: share of the iris ring not occluded */
	double iris_pupil_contrast; /* 0 to 1 */
	double iris_sclera_contrast; /* 0 to 1 */
	double pupil_iris_ratio;   /* pupil radius / iris radius */
	double sharpness;          /* 0 to 1 */
} QualityIris;

int quality_iris(const HalImage *img, QualityIris *out);

typedef struct {
	int score;
	const char *algorithm;
	const char *version;
	double aspect;          /* width / height; 0.75 for 3:4 */
	guint32 background;     /* 0xRRGGBB estimated from the borders */
	double background_uniformity; /* 0 to 1 */
	double exposure;        /* mean luminance 0 to 1 of the centre */
	gboolean size_ok;       /* at least 480x640 */
} QualityFace;

int quality_face(const HalImage *img, QualityFace *out);

#endif
