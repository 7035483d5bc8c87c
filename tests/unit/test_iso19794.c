/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the ISO/IEC 19794-2:2005 finger minutiae records
 * (src/card/iso19794.c): the exact bytes of a small record written out here
 * by hand from the standard's layout (iso19794.h), round trips, the angle's
 * 1.40625 degree units, the cap that keeps the best minutiae for the card,
 * and a decoder that refuses every truncated, mislabelled, wrong-length or
 * out-of-range record with an error naming the field.  Last, the card's use:
 * two simulated fingers, extracted, in one record that decodes to the same.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <math.h>
#include <string.h>

#include "card/iso19794.h"
#include "card/minutiae.h"
#include "drivers/sim/synth.h"

#define DEG (G_PI / 180.0)

/* ---- the hand-written record ---- */

static Minutia right_index[] = {
	{ .x = 100, .y = 200, .angle = 90 * DEG, .type = MINUTIA_RIDGE_ENDING, .quality = 55 },
	{ .x = 301,
	  .y = 17,
	  .angle = (180 + 3 * 1.40625) * DEG,
	  .type = MINUTIA_BIFURCATION,
	  .quality = 100 },
};
static Minutia left_index[] = {
	{ .x = 0, .y = 499, .angle = 0, .type = MINUTIA_OTHER, .quality = 0 },
};

static Iso19794Record
known_record(Iso19794View views[2])
{
	views[0] = (Iso19794View){
		.position = 2, /* right index */
		.view_number = 0,
		.impression = ISO19794_LIVE_PLAIN,
		.quality = 80,
		.minutiae = right_index,
		.n_minutiae = G_N_ELEMENTS(right_index),
	};
	views[1] = (Iso19794View){
		.position = 7, /* left index */
		.view_number = 1,
		.impression = ISO19794_LIVE_ROLLED,
		.quality = 70,
		.minutiae = left_index,
		.n_minutiae = G_N_ELEMENTS(left_index),
	};
	return (Iso19794Record){
		.certification = 1,
		.equipment_id = 0x123,
		.width = 400,
		.height = 500,
		.res_x = 197,
		.res_y = 197,
		.views = views,
		.n_views = 2,
	};
}

/* 24 + 2 x (4 + 2) + 3 x 6 = 54 bytes, field by field. */
/* clang-format off */
static const uint8_t known_bytes[] = {
	'F', 'M', 'R', 0,       /* format identifier */
	' ', '2', '0', 0,       /* version */
	0x00, 0x00, 0x00, 0x36, /* record length 54 */
	0x11, 0x23,             /* certification 1, device type 0x123 */
	0x01, 0x90,             /* width 400 */
	0x01, 0xf4,             /* height 500 */
	0x00, 0xc5,             /* 197 px/cm across */
	0x00, 0xc5,             /* 197 px/cm down */
	0x02,                   /* two finger views */
	0x00,                   /* reserved */
	/* view 1: right index, view 0, live-scan plain, quality 80, 2 minutiae */
	0x02, 0x00, 0x50, 0x02,
	0x40, 0x64, 0x00, 0xc8, 0x40, 0x37, /* ending (01) x 100, y 200, 64 = 90 deg, q 55 */
	0x81, 0x2d, 0x00, 0x11, 0x83, 0x64, /* bifurcation (10) x 301, y 17, 131, q 100 */
	0x00, 0x00,                         /* no extended data */
	/* view 2: left index, view 1, live-scan rolled, quality 70, 1 minutia */
	0x07, 0x11, 0x46, 0x01,
	0x00, 0x00, 0x01, 0xf3, 0x00, 0x00, /* other (00) x 0, y 499, 0 deg, not reported */
	0x00, 0x00,
};
/* clang-format on */

static GBytes *
encode_ok(const Iso19794Record *rec, guint cap)
{
	GError *error = NULL;
	GBytes *b = iso19794_encode(rec, cap, &error);
	if (!b)
		fail_msg("iso19794_encode: %s", error->message);
	return b;
}

static Iso19794Record *
decode_ok(const uint8_t *data, size_t len)
{
	GError *error = NULL;
	Iso19794Record *rec = iso19794_decode(data, len, &error);
	if (!rec)
		fail_msg("iso19794_decode: %s", error->message);
	return rec;
}

static void
test_known_bytes(void **state)
{
	(void)state;
	Iso19794View views[2];
	Iso19794Record rec = known_record(views);
	g_autoptr(GBytes) b = encode_ok(&rec, 0);
	gsize len;
	const uint8_t *data = g_bytes_get_data(b, &len);
	assert_int_equal(len, sizeof known_bytes);
	assert_int_equal(iso19794_record_len(2, 3), sizeof known_bytes);
	assert_memory_equal(data, known_bytes, sizeof known_bytes);
}

static void
test_decode_known(void **state)
{
	(void)state;
	g_autoptr(Iso19794Record) rec = decode_ok(known_bytes, sizeof known_bytes);
	assert_int_equal(rec->certification, 1);
	assert_int_equal(rec->equipment_id, 0x123);
	assert_int_equal(rec->width, 400);
	assert_int_equal(rec->height, 500);
	assert_int_equal(rec->res_x, 197);
	assert_int_equal(rec->res_y, 197);
	assert_int_equal(rec->n_views, 2);
	const Iso19794View *v = &rec->views[0];
	assert_int_equal(v->position, 2);
	assert_int_equal(v->view_number, 0);
	assert_int_equal(v->impression, ISO19794_LIVE_PLAIN);
	assert_int_equal(v->quality, 80);
	assert_int_equal(v->n_minutiae, 2);
	assert_int_equal(v->minutiae[1].x, 301);
	assert_int_equal(v->minutiae[1].y, 17);
	assert_int_equal(v->minutiae[1].type, MINUTIA_BIFURCATION);
	assert_int_equal(v->minutiae[1].quality, 100);
	assert_true(fabs(v->minutiae[1].angle - 131 * 2 * G_PI / 256) < 1e-12);
	v = &rec->views[1];
	assert_int_equal(v->position, 7);
	assert_int_equal(v->view_number, 1);
	assert_int_equal(v->impression, ISO19794_LIVE_ROLLED);
	assert_int_equal(v->minutiae[0].type, MINUTIA_OTHER);
	assert_int_equal(v->minutiae[0].y, 499);
}

static void
test_angle_units(void **state)
{
	(void)state;
	assert_int_equal(iso19794_angle_byte(0), 0);
	assert_int_equal(iso19794_angle_byte(90 * DEG), 64);
	assert_int_equal(iso19794_angle_byte(180 * DEG), 128);
	assert_int_equal(iso19794_angle_byte(270 * DEG), 192);
	assert_int_equal(iso19794_angle_byte(360 * DEG), 0);
	assert_int_equal(iso19794_angle_byte(-90 * DEG), 192);
	assert_int_equal(iso19794_angle_byte(720 * DEG + 1.40625 * DEG), 1);
	/* to the nearest unit: 1.40625 degrees */
	assert_int_equal(iso19794_angle_byte(0.49 * 1.40625 * DEG), 0);
	assert_int_equal(iso19794_angle_byte(0.51 * 1.40625 * DEG), 1);
	assert_int_equal(iso19794_angle_byte(359.0 * DEG), 255);
	assert_int_equal(iso19794_angle_byte(359.5 * DEG), 0); /* 255.64 rounds up to 256 */
	assert_int_equal(iso19794_angle_byte(NAN), 0);
	assert_true(fabs(iso19794_angle_radians(64) - G_PI / 2) < 1e-12);
	assert_true(fabs(iso19794_angle_radians(255) - 358.59375 * DEG) < 1e-12);
	/* the round trip is within half a unit everywhere */
	double worst = 0;
	for (int i = 0; i < 3600; i++) {
		double a = i * 0.1 * DEG;
		double back = iso19794_angle_radians(iso19794_angle_byte(a));
		worst = fmax(worst, fabs(atan2(sin(a - back), cos(a - back))));
	}
	assert_true(worst <= 0.5 * 1.40625 * DEG + 1e-9);
	assert_true(worst >= 0.45 * 1.40625 * DEG);
}

static void
test_resolution(void **state)
{
	(void)state;
	assert_int_equal(iso19794_ppcm(500), 197);
	assert_int_equal(iso19794_ppcm(1000), 394);
	assert_int_equal(iso19794_ppcm(0), 0);
}

static void
test_round_trip(void **state)
{
	(void)state;
	GRand *rand = g_rand_new_with_seed(19794);
	Minutia m[2][120];
	Iso19794View views[2];
	for (int v = 0; v < 2; v++) {
		for (int k = 0; k < 120; k++)
			m[v][k] = (Minutia){
				.x = g_rand_int_range(rand, 0, 400),
				.y = g_rand_int_range(rand, 0, 500),
				.angle = g_rand_double_range(rand, 0, 2 * G_PI),
				.type = (MinutiaType)g_rand_int_range(rand, 0, 3),
				.quality = g_rand_int_range(rand, 0, 101),
			};
		views[v] = (Iso19794View){ .position = v ? 6 : 1,
					   .quality = 60 + v,
					   .minutiae = m[v],
					   .n_minutiae = 120 };
	}
	g_rand_free(rand);
	Iso19794Record rec = { .width = 400,
			       .height = 500,
			       .res_x = 197,
			       .res_y = 197,
			       .views = views,
			       .n_views = 2 };
	g_autoptr(GBytes) b = encode_ok(&rec, 0);
	assert_int_equal(g_bytes_get_size(b), iso19794_record_len(2, 240));
	g_autoptr(Iso19794Record) back = decode_ok(g_bytes_get_data(b, NULL), g_bytes_get_size(b));
	assert_int_equal(back->n_views, 2);
	for (int v = 0; v < 2; v++) {
		assert_int_equal(back->views[v].position, views[v].position);
		assert_int_equal(back->views[v].quality, views[v].quality);
		assert_int_equal(back->views[v].n_minutiae, 120);
		for (int k = 0; k < 120; k++) {
			const Minutia *a = &m[v][k], *z = &back->views[v].minutiae[k];
			assert_int_equal(z->x, a->x);
			assert_int_equal(z->y, a->y);
			assert_int_equal(z->type, a->type);
			assert_int_equal(z->quality, a->quality);
			double d = fabs(atan2(sin(z->angle - a->angle), cos(z->angle - a->angle)));
			assert_true(d <= 0.5 * 1.40625 * DEG + 1e-9);
		}
	}
	/* and encoding the decoded record gives the same bytes */
	g_autoptr(GBytes) again = encode_ok(back, 0);
	assert_true(g_bytes_equal(b, again));
}

/* ---- the cap ---- */

static void
test_cap_keeps_best(void **state)
{
	(void)state;
	static const int q[10] = { 5, 90, 20, 90, 70, 10, 90, 60, 20, 85 };
	Minutia m[10];
	for (int k = 0; k < 10; k++)
		m[k] = (Minutia){
			.x = k, .y = 2 * k, .angle = 0, .type = MINUTIA_BIFURCATION, .quality = q[k]
		};
	Iso19794View view = { .position = 1, .minutiae = m, .n_minutiae = 10 };
	Iso19794Record rec = { .width = 400,
			       .height = 500,
			       .res_x = 197,
			       .res_y = 197,
			       .views = &view,
			       .n_views = 1 };
	static const struct {
		guint cap;
		int n;
		int kept[10]; /* indices, in their original order */
	} cases[] = {
		{ 4, 4, { 1, 3, 6, 9 } },
		{ 5, 5, { 1, 3, 4, 6, 9 } },
		{ 2, 2, { 1, 3 } },                /* of three at 90, the first two */
		{ 7, 7, { 1, 2, 3, 4, 6, 7, 9 } }, /* of two at 20, the first */
		{ 10, 10, { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 } },
		{ 200, 10, { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 } },
	};
	for (guint c = 0; c < G_N_ELEMENTS(cases); c++) {
		g_autoptr(GBytes) b = encode_ok(&rec, cases[c].cap);
		assert_int_equal(g_bytes_get_size(b), iso19794_record_len(1, cases[c].n));
		g_autoptr(Iso19794Record) back =
			decode_ok(g_bytes_get_data(b, NULL), g_bytes_get_size(b));
		assert_int_equal(back->views[0].n_minutiae, cases[c].n);
		for (int k = 0; k < cases[c].n; k++) {
			const Minutia *z = &back->views[0].minutiae[k];
			assert_int_equal(z->x, cases[c].kept[k]);
			assert_int_equal(z->quality, q[cases[c].kept[k]]);
		}
	}
}

static void
expect_invalid(const Iso19794Record *rec, guint cap, const char *words)
{
	GError *error = NULL;
	assert_null(iso19794_encode(rec, cap, &error));
	assert_non_null(error);
	assert_true(g_error_matches(error, ISO19794_ERROR, ISO19794_ERROR_INVALID));
	if (!strstr(error->message, words))
		fail_msg("\"%s\" does not mention \"%s\"", error->message, words);
	g_error_free(error);
}

static void
test_encode_refuses(void **state)
{
	(void)state;
	Minutia many[300];
	for (int k = 0; k < 300; k++)
		many[k] = (Minutia){
			.x = k, .y = k, .type = MINUTIA_RIDGE_ENDING, .quality = k % 101
		};
	Iso19794View views[2];
	Iso19794Record rec = known_record(views);
	expect_invalid(NULL, 0, "no record");

	views[1].minutiae = many;
	views[1].n_minutiae = 300;
	expect_invalid(&rec, 0, "finger view 2: 300 minutiae");
	GError *error = NULL;
	g_autoptr(GBytes) capped = iso19794_encode(&rec, 255, &error);
	assert_non_null(capped);
	assert_int_equal(g_bytes_get_size(capped), iso19794_record_len(2, 2 + 255));

	rec = known_record(views);
	views[0].position = 11;
	expect_invalid(&rec, 0, "finger view 1: finger position 11");
	rec = known_record(views);
	views[1].impression = 5;
	expect_invalid(&rec, 0, "finger view 2: impression type 5");
	rec = known_record(views);
	views[1].view_number = 16;
	expect_invalid(&rec, 0, "view number 16");
	rec = known_record(views);
	views[1].quality = 101;
	expect_invalid(&rec, 0, "finger quality 101");
	rec = known_record(views);
	views[1].position = 2;
	views[1].view_number = 0;
	expect_invalid(&rec, 0, "repeats finger view 1");
	rec = known_record(views);
	rec.width = 301;
	expect_invalid(&rec, 0, "finger view 1 minutia 2: x 301");
	rec = known_record(views);
	rec.height = 0;
	expect_invalid(&rec, 0, "image height 0");
	rec = known_record(views);
	rec.n_views = 0;
	expect_invalid(&rec, 0, "number of finger views 0");
	rec = known_record(views);
	rec.equipment_id = 4096;
	expect_invalid(&rec, 0, "device type id");

	rec = known_record(views);
	Minutia bad = right_index[0];
	views[0].minutiae = &bad;
	views[0].n_minutiae = 1;
	bad.quality = 101;
	expect_invalid(&rec, 0, "minutia 1: quality 101");
	bad = right_index[0];
	bad.type = 3;
	expect_invalid(&rec, 0, "minutia 1: type 3");
	bad = right_index[0];
	bad.angle = NAN;
	expect_invalid(&rec, 0, "minutia 1: angle");
	bad = right_index[0];
	bad.y = -1;
	expect_invalid(&rec, 0, "minutia 1: y -1");
}

/* ---- a strict decoder ---- */

static void
expect_refused(const uint8_t *data, size_t len, int code, const char *words)
{
	GError *error = NULL;
	assert_null(iso19794_decode(data, len, &error));
	assert_non_null(error);
	if (!g_error_matches(error, ISO19794_ERROR, code))
		fail_msg("wanted code %d, got \"%s\" (%d)", code, error->message, error->code);
	if (!strstr(error->message, words))
		fail_msg("\"%s\" does not mention \"%s\"", error->message, words);
	g_error_free(error);
}

/* A copy of the known record with byte AT set to VALUE (AT < 0: none). */
static uint8_t *
patched(int at, uint8_t value)
{
	uint8_t *b = g_memdup2(known_bytes, sizeof known_bytes);
	if (at >= 0)
		b[at] = value;
	return b;
}

/* The known record shortened to LEN bytes, with its length field saying so. */
static uint8_t *
shortened(size_t len)
{
	uint8_t *b = g_memdup2(known_bytes, len);
	b[11] = (uint8_t)len;
	return b;
}

static void
test_decode_truncated(void **state)
{
	(void)state;
	/* every cut is refused as truncated */
	for (size_t len = 0; len < sizeof known_bytes; len++)
		expect_refused(known_bytes, len, ISO19794_ERROR_TRUNCATED, "truncated");
	expect_refused(NULL, 0, ISO19794_ERROR_TRUNCATED, "format identifier");
	expect_refused(known_bytes, 3, ISO19794_ERROR_TRUNCATED, "format identifier");
	expect_refused(known_bytes, 6, ISO19794_ERROR_TRUNCATED, "version");
	expect_refused(known_bytes, 10, ISO19794_ERROR_TRUNCATED, "record length");
	expect_refused(known_bytes, 40, ISO19794_ERROR_TRUNCATED, "record length says 54");

	/* cut inside, with a length field that agrees: the view runs short */
	g_autofree uint8_t *a = shortened(20);
	expect_refused(a, 20, ISO19794_ERROR_TRUNCATED, "record header");
	g_autofree uint8_t *b = shortened(26);
	expect_refused(b, 26, ISO19794_ERROR_TRUNCATED, "finger view 1 header");
	g_autofree uint8_t *c = shortened(34);
	expect_refused(c, 34, ISO19794_ERROR_TRUNCATED, "finger view 1 minutiae (2 of them)");
	g_autofree uint8_t *d = shortened(41);
	expect_refused(d, 41, ISO19794_ERROR_TRUNCATED, "finger view 1 extended data length");
	g_autofree uint8_t *e = shortened(52);
	expect_refused(e, 52, ISO19794_ERROR_TRUNCATED, "finger view 2 extended data length");
	g_autofree uint8_t *f = patched(53, 3); /* 3 bytes of extended data, none there */
	expect_refused(f, sizeof known_bytes, ISO19794_ERROR_TRUNCATED,
		       "finger view 2 extended data");
}

static void
test_decode_wrong_length(void **state)
{
	(void)state;
	g_autofree uint8_t *longer = patched(11, 0x37);
	expect_refused(longer, sizeof known_bytes, ISO19794_ERROR_TRUNCATED, "record length");
	g_autofree uint8_t *shorter = patched(11, 0x35);
	expect_refused(shorter, sizeof known_bytes, ISO19794_ERROR_FORMAT,
		       "record length 53 but 54 bytes");
	/* a byte too many, the length field agreeing: past the last view */
	uint8_t extra[sizeof known_bytes + 1];
	memcpy(extra, known_bytes, sizeof known_bytes);
	extra[11] = sizeof extra;
	extra[sizeof known_bytes] = 0;
	expect_refused(extra, sizeof extra, ISO19794_ERROR_FORMAT, "views end at byte 54");
	/* one view declared, two present */
	g_autofree uint8_t *one = patched(22, 1);
	expect_refused(one, sizeof known_bytes, ISO19794_ERROR_FORMAT, "1 finger views end");
	/* three declared, two present */
	g_autofree uint8_t *three = patched(22, 3);
	expect_refused(three, sizeof known_bytes, ISO19794_ERROR_TRUNCATED, "finger view 3 header");
	/* a minutiae count beyond the record */
	g_autofree uint8_t *count = patched(27, 3);
	expect_refused(count, sizeof known_bytes, ISO19794_ERROR_FORMAT, "finger view 1");
}

static void
test_decode_wrong_values(void **state)
{
	(void)state;
	static const struct {
		int at;
		uint8_t value;
		int code;
		const char *words;
	} cases[] = {
		{ 1, 'I', ISO19794_ERROR_FORMAT, "format identifier is 46 49 52 00" },
		{ 3, ' ', ISO19794_ERROR_FORMAT, "format identifier" },
		{ 4, '0', ISO19794_ERROR_FORMAT, "version is 30 32 30 00" },
		{ 5, '3', ISO19794_ERROR_FORMAT, "version" },
		{ 8, 1, ISO19794_ERROR_TRUNCATED, "record length" },
		{ 14, 0, ISO19794_ERROR_FORMAT,
		  "finger view 1 minutia 2: x 301 outside the image "
		  "width 144" },
		{ 22, 0, ISO19794_ERROR_FORMAT, "number of finger views is 0" },
		{ 23, 1, ISO19794_ERROR_FORMAT, "reserved header byte" },
		{ 24, 11, ISO19794_ERROR_FORMAT, "finger view 1: finger position 11" },
		{ 25, 0x04, ISO19794_ERROR_FORMAT, "finger view 1: impression type 4" },
		{ 26, 101, ISO19794_ERROR_FORMAT, "finger view 1: finger quality 101" },
		{ 28, 0xc0, ISO19794_ERROR_FORMAT, "finger view 1 minutia 1: type 3 is reserved" },
		{ 30, 0x40, ISO19794_ERROR_FORMAT, "finger view 1 minutia 1: reserved bits" },
		{ 33, 200, ISO19794_ERROR_FORMAT, "finger view 1 minutia 1: quality 200" },
		{ 35, 0xc8, ISO19794_ERROR_FORMAT, "finger view 1 minutia 2: x 456 outside" },
		{ 43, 0x01, ISO19794_ERROR_FORMAT,
		  "finger view 2: finger position 2 view number 0 "
		  "repeats finger view 1" },
		{ 49, 0xf4, ISO19794_ERROR_FORMAT,
		  "finger view 2 minutia 1: y 500 outside the "
		  "image height 500" },
		{ 51, 101, ISO19794_ERROR_FORMAT, "finger view 2 minutia 1: quality 101" },
		{ 21, 0, ISO19794_ERROR_FORMAT, "resolution" },
	};
	for (guint c = 0; c < G_N_ELEMENTS(cases); c++) {
		g_autofree uint8_t *b = patched(cases[c].at, cases[c].value);
		if (cases[c].at == 43) /* view 2 becomes view 0 of finger 2, as view 1 */
			b[42] = 2;
		expect_refused(b, sizeof known_bytes, cases[c].code, cases[c].words);
	}
	/* the untouched record decodes */
	g_autoptr(Iso19794Record) rec = decode_ok(known_bytes, sizeof known_bytes);
	assert_non_null(rec);
}

/* Extended data written by someone else is skipped, not misread. */
static void
test_decode_skips_extended_data(void **state)
{
	(void)state;
	uint8_t b[sizeof known_bytes + 6];
	memcpy(b, known_bytes, 40);
	/* view 1's extended data: 6 bytes (an area of type 0x0001, length 6) */
	static const uint8_t ext[] = { 0x00, 0x06, 0x00, 0x01, 0x00, 0x06, 0xaa, 0xbb };
	memcpy(b + 40, ext, sizeof ext);
	memcpy(b + 48, known_bytes + 42, sizeof known_bytes - 42);
	b[11] = sizeof b;
	g_autoptr(Iso19794Record) rec = decode_ok(b, sizeof b);
	assert_int_equal(rec->n_views, 2);
	assert_int_equal(rec->views[1].position, 7);
	assert_int_equal(rec->views[1].minutiae[0].y, 499);
}

/* Random damage (a few bytes changed, perhaps cut short) never crashes the
 * decoder (the sanitizer build checks its reads).  Whatever it accepts, the
 * encoder accepts again and writes back byte for byte, but for extended data
 * (a changed count and extended length can make some), which it skips and we
 * never write. */
static void
test_decode_mutations(void **state)
{
	(void)state;
	GRand *rand = g_rand_new_with_seed(2005);
	int accepted = 0, extended = 0;
	for (int i = 0; i < 20000; i++) {
		uint8_t b[sizeof known_bytes];
		memcpy(b, known_bytes, sizeof b);
		int changes = g_rand_int_range(rand, 1, 4);
		for (int k = 0; k < changes; k++)
			b[g_rand_int_range(rand, 0, sizeof b)] =
				(uint8_t)g_rand_int_range(rand, 0, 256);
		size_t len = g_rand_boolean(rand) ? sizeof b
						  : (size_t)g_rand_int_range(rand, 0, sizeof b);
		GError *error = NULL;
		Iso19794Record *rec = iso19794_decode(b, len, &error);
		if (!rec) {
			assert_non_null(error);
			assert_true(error->domain == ISO19794_ERROR);
			g_error_free(error);
			continue;
		}
		accepted++;
		g_autoptr(GBytes) again = encode_ok(rec, 0);
		gsize n = g_bytes_get_size(again);
		if (n == len) {
			assert_memory_equal(g_bytes_get_data(again, NULL), b, len);
		} else {
			/* extended data was skipped: the rest round-trips exactly */
			assert_true(n < len);
			extended++;
			g_autoptr(Iso19794Record) back =
				decode_ok(g_bytes_get_data(again, NULL), n);
			g_autoptr(GBytes) third = encode_ok(back, 0);
			assert_true(g_bytes_equal(again, third));
		}
		iso19794_record_free(rec);
	}
	g_rand_free(rand);
	print_message("# 20000 damaged records: %d accepted (changes a valid record may have), "
		      "%d of them with extended data\n",
		      accepted, extended);
	assert_true(accepted > 0 && accepted < 20000 / 2);
}

/* ---- the card's use ---- */

static void
test_two_fingers(void **state)
{
	(void)state;
	static const int fingers[2] = { 2, 7 }; /* right and left index */
	GArray *found[2];
	Iso19794View views[2];
	for (int f = 0; f < 2; f++) {
		HalImage img = { 0 };
		assert_int_equal(synth_fingerprint(500 + f, fingers[f], 0.92, &img, NULL), 0);
		MinutiaeImage mi = { img.width, img.height, img.ppi, img.pixels };
		found[f] = minutiae_extract(&mi, NULL, NULL);
		assert_non_null(found[f]);
		assert_true(found[f]->len >= 20);
		g_free(img.pixels);
		views[f] = (Iso19794View){
			.position = fingers[f],
			.impression = ISO19794_LIVE_PLAIN,
			.quality = 90,
			.minutiae = (Minutia *)found[f]->data,
			.n_minutiae = found[f]->len,
		};
	}
	Iso19794Record rec = { .width = 400,
			       .height = 500,
			       .res_x = iso19794_ppcm(500),
			       .res_y = iso19794_ppcm(500),
			       .views = views,
			       .n_views = 2 };
	const guint cap = 40;
	g_autoptr(GBytes) b = encode_ok(&rec, cap);
	guint n0 = MIN(found[0]->len, cap), n1 = MIN(found[1]->len, cap);
	print_message("# two fingers: %u and %u minutiae found, record of %zu bytes\n",
		      found[0]->len, found[1]->len, g_bytes_get_size(b));
	assert_int_equal(g_bytes_get_size(b), iso19794_record_len(2, n0 + n1));
	assert_true(g_bytes_get_size(b) <= 1024);
	g_autoptr(Iso19794Record) back = decode_ok(g_bytes_get_data(b, NULL), g_bytes_get_size(b));
	for (int f = 0; f < 2; f++) {
		assert_int_equal(back->views[f].position, fingers[f]);
		assert_int_equal(back->views[f].n_minutiae, MIN(found[f]->len, cap));
		/* the kept ones are the extractor's, in its order, and none better was left */
		const Iso19794View *v = &back->views[f];
		int worst_kept = 101, better = 0;
		guint j = 0;
		for (guint k = 0; k < v->n_minutiae; k++) {
			const Minutia *z = &v->minutiae[k];
			gboolean same = FALSE;
			worst_kept = MIN(worst_kept, z->quality);
			while (!same && j < found[f]->len) {
				const Minutia *m = &g_array_index(found[f], Minutia, j++);
				same = m->x == z->x && m->y == z->y && m->type == z->type &&
				       m->quality == z->quality &&
				       iso19794_angle_byte(m->angle) ==
					       iso19794_angle_byte(z->angle);
			}
			if (!same)
				fail_msg("view %d minutia %u is not the extractor's", f + 1, k + 1);
		}
		for (guint k = 0; k < found[f]->len; k++)
			better += g_array_index(found[f], Minutia, k).quality > worst_kept;
		assert_true(better <= (int)v->n_minutiae);
		g_array_unref(found[f]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_bytes),
		cmocka_unit_test(test_decode_known),
		cmocka_unit_test(test_angle_units),
		cmocka_unit_test(test_resolution),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_cap_keeps_best),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_decode_truncated),
		cmocka_unit_test(test_decode_wrong_length),
		cmocka_unit_test(test_decode_wrong_values),
		cmocka_unit_test(test_decode_skips_extended_data),
		cmocka_unit_test(test_decode_mutations),
		cmocka_unit_test(test_two_fingers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
