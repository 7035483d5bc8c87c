/* SPDX-License-Identifier: MIT */
/*
 * synthpng: writes a simulator image as a PNG file, for tests and sample data
 * that upload images instead of capturing them.
 *
 *   synthpng finger SEED POSITION [QUALITY] FILE   400x500 8-bit grey, 500 ppi
 *   synthpng iris SEED EYE [QUALITY] FILE          640x480 8-bit grey
 *   synthpng face SEED RRGGBB [QUALITY] FILE       480x640 RGB on that background (hex)
 *   synthpng signature SEED FILE                   400x150 8-bit grey
 *
 * QUALITY is 0..1 (default 0.92, a healthy sensor).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/sim/synth.h"
#include "image/image.h"

static int
usage(void)
{
	fprintf(stderr, "usage: synthpng finger SEED POSITION [QUALITY] FILE\n"
			"       synthpng iris SEED EYE [QUALITY] FILE\n"
			"       synthpng face SEED RRGGBB [QUALITY] FILE\n"
			"       synthpng signature SEED FILE\n");
	return 2;
}

int
main(int argc, char **argv)
{
	if (argc < 4)
		return usage();
	const char *kind = argv[1];
	guint32 seed = (guint32)strtoul(argv[2], NULL, 10);
	const char *file = argv[argc - 1];
	double q = argc == 6 ? strtod(argv[4], NULL) : 0.92;
	HalImage h = { 0 };
	int rc;
	if (strcmp(kind, "finger") == 0 && argc >= 5)
		rc = synth_fingerprint(seed, atoi(argv[3]), q, &h, NULL);
	else if (strcmp(kind, "iris") == 0 && argc >= 5)
		rc = synth_iris(seed, atoi(argv[3]), q, &h, NULL);
	else if (strcmp(kind, "face") == 0 && argc >= 5)
		rc = synth_face(seed, (guint32)strtoul(argv[3], NULL, 16), q, &h);
	else if (strcmp(kind, "signature") == 0 && argc == 4)
		rc = synth_signature(seed, &h);
	else
		return usage();
	if (rc < 0) {
		fprintf(stderr, "synthpng: cannot synthesise %s\n", kind);
		return 1;
	}
	Image img = { h.width, h.height, h.channels, h.ppi, h.pixels };
	GError *e = NULL;
	GBytes *png = image_png_encode(&img, &e);
	g_free(h.pixels);
	if (!png) {
		fprintf(stderr, "synthpng: %s\n", e->message);
		return 1;
	}
	gsize n = 0;
	const void *p = g_bytes_get_data(png, &n);
	if (!g_file_set_contents(file, p, (gssize)n, &e)) {
		fprintf(stderr, "synthpng: %s\n", e->message);
		return 1;
	}
	g_bytes_unref(png);
	return 0;
}
