/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for card/chipdata.c, with two test PKIs made per run (no key is
 * committed).  A record with a 600x800 photo builds into a chip image of at
 * most 8192 bytes whose files sum to the total reported; the fit chosen is
 * printed, and it is the first rung of the ladder that fits (a few bytes less
 * of capacity move it down the ladder).  A textured photo lands lower on the
 * ladder than a smooth one.  A capacity too small is refused before anything
 * else, naming by how many bytes it is over, and that figure is right to a
 * few bytes (the signature's length varies).  The image verifies against its
 * CA, and then:
 *   - a byte changed anywhere in any data group is refused naming that group;
 *   - a byte changed in EF.COM is refused naming EF.COM;
 *   - a byte changed anywhere in the SOD is refused;
 *   - an SOD signed by another PKI's signer is refused as untrusted, and the
 *     SOD of another record by the same signer is refused naming DG1;
 * Files round trip through a chip directory (mode 0600; SOD.der is the bare
 * CMS), and parse back into the record: demographics, the finger positions
 * (default and configured), the templates, a portrait and signature that
 * decode to the sizes stated.  Bad records are refused naming the field,
 * finger or image.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "card/chipdata.h"
#include "drivers/sim/synth.h"
#include "image/jpeg.h"
#include "testutil.h"

/* What every test shares: made once in the group setup. */
typedef struct {
	char *dir;
	CryptoSigner *ds, *other_ds;
	char *ca, *other_ca; /* PEM text */
	gsize ca_len, other_ca_len;
	Image photo;    /* 600x800 RGB, smooth (the simulator's face enlarged) */
	Image textured; /* the same with per-pixel noise, as a camera's photo has */
	Image sig;      /* 400x150 grey */
	uint8_t *tmpl[2];
	size_t tmpl_len[2];
} Fixture;

static Fixture fx;

/* The amplitude of the textured photo's detail, in grey levels. */
#define TEXTURE 16

/* A well-formed ISO/IEC 19794-2:2005 record of N pseudo-random minutiae (caller frees). */
static uint8_t *
fake_template(guint32 seed, int position, int n, size_t *len)
{
	size_t size = 24 + 4 + 6 * (size_t)n + 2;
	uint8_t *t = g_malloc0(size);
	GRand *r = g_rand_new_with_seed(seed);
	memcpy(t, "FMR\0 20\0", 8);
	t[10] = (uint8_t)(size >> 8);
	t[11] = (uint8_t)size;
	t[22] = 1;
	t[24] = (uint8_t)position;
	t[27] = (uint8_t)n;
	for (size_t i = 28; i < size - 2; i++)
		t[i] = (uint8_t)g_rand_int(r);
	g_rand_free(r);
	*len = size;
	return t;
}

static Image
to_image(const HalImage *h)
{
	return (Image){ h->width, h->height, h->channels, h->ppi, h->pixels };
}

static void
make_pki(const char *name, CryptoSigner **ds, char **ca, gsize *ca_len)
{
	g_autofree char *pki = g_build_filename(fx.dir, name, NULL);
	GError *error = NULL;
	if (crypto_test_pki_create(pki, NULL, &error) < 0)
		fail_msg("%s", error->message);
	g_autofree char *cert = g_build_filename(pki, CRYPTO_TEST_DS_CERT, NULL);
	g_autofree char *key = g_build_filename(pki, CRYPTO_TEST_DS_KEY, NULL);
	g_autofree char *ca_path = g_build_filename(pki, CRYPTO_TEST_CA_CERT, NULL);
	*ds = crypto_signer_load(cert, key, &error);
	if (!*ds)
		fail_msg("%s", error->message);
	if (!g_file_get_contents(ca_path, ca, ca_len, &error))
		fail_msg("%s", error->message);
}

/* Removes DIR and every file under it (two levels are all the tests make). */
static void
remove_tree(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;
	while (d && (name = g_dir_read_name(d))) {
		g_autofree char *p = g_build_filename(dir, name, NULL);
		if (g_file_test(p, G_FILE_TEST_IS_DIR))
			tu_remove_dir(p);
		else
			g_remove(p);
	}
	if (d)
		g_dir_close(d);
	g_rmdir(dir);
}

static int
group_setup(void **state)
{
	(void)state;
	tu_quiet_logs();
	fx.dir = tu_tmp_dir("chipdata");
	make_pki("pki", &fx.ds, &fx.ca, &fx.ca_len);
	make_pki("other", &fx.other_ds, &fx.other_ca, &fx.other_ca_len);

	HalImage f = { 0 }, s = { 0 };
	if (synth_face(3, 0xdb1514, 0.92, &f) < 0 || synth_signature(3, &s) < 0)
		fail_msg("synth");
	Image face = to_image(&f);
	if (image_scale(&face, 600, 800, &fx.photo, NULL) < 0)
		fail_msg("scale");
	image_clear(&face);
	fx.textured = fx.photo;
	fx.textured.pixels = g_memdup2(fx.photo.pixels, 600 * 800 * 3);
	/* Detail in 3x3 blocks, which survives the reduction to chip size as a
	 * camera's detail (hair, skin, fabric) does; per-pixel noise would not. */
	GRand *r = g_rand_new_with_seed(11);
	for (int by = 0; by < 800; by += 3)
		for (int bx = 0; bx < 600; bx += 3) {
			int d = g_rand_int_range(r, -TEXTURE, TEXTURE + 1);
			for (int y = by; y < MIN(by + 3, 800); y++)
				for (int x = bx; x < MIN(bx + 3, 600); x++)
					for (int c = 0; c < 3; c++) {
						uint8_t *px =
							fx.textured.pixels + (y * 600 + x) * 3 + c;
						*px = (uint8_t)CLAMP(*px + d, 0, 255);
					}
		}
	g_rand_free(r);
	fx.sig = to_image(&s);
	fx.tmpl[0] = fake_template(1, CHIPDATA_DEFAULT_FINGER_1, 42, &fx.tmpl_len[0]);
	fx.tmpl[1] = fake_template(2, CHIPDATA_DEFAULT_FINGER_2, 38, &fx.tmpl_len[1]);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	crypto_signer_free(fx.ds);
	crypto_signer_free(fx.other_ds);
	g_free(fx.ca);
	g_free(fx.other_ca);
	image_clear(&fx.photo);
	image_clear(&fx.textured);
	image_clear(&fx.sig);
	g_free(fx.tmpl[0]);
	g_free(fx.tmpl[1]);
	remove_tree(fx.dir);
	g_free(fx.dir);
	return 0;
}

static ChipInput
record(void)
{
	return (ChipInput){
		.demo = { .nik = "6172015203060002",
			  .name = "MEI LING TJHIN",
			  .birth_place = "SINGKAWANG",
			  .birth_date = "2006-03-12",
			  .gender = "PEREMPUAN",
			  .blood_type = "AB",
			  .address = "JL. GUNUNG SARI GG. MAWAR NO. 7",
			  .rt = "004",
			  .rw = "011",
			  .village = "PASIRAN",
			  .kecamatan = "SINGKAWANG BARAT",
			  .religion = "BUDHA",
			  .marital_status = "BELUM KAWIN",
			  .occupation = "PELAJAR/MAHASISWA",
			  .citizenship = "WNI",
			  .valid_until = "SEUMUR HIDUP",
			  .issuing_regency = "KOTA SINGKAWANG",
			  .issue_date = "2024-04-02" },
		.portrait = &fx.photo,
		.finger = { { fx.tmpl[0], fx.tmpl_len[0], CHIPDATA_DEFAULT_FINGER_1 },
			    { fx.tmpl[1], fx.tmpl_len[1], CHIPDATA_DEFAULT_FINGER_2 } },
		.signature = &fx.sig,
	};
}

static void
build(const ChipInput *in, const CryptoSigner *ds, size_t cap, ChipData *out)
{
	GError *error = NULL;
	if (chipdata_build(in, ds, cap, out, &error) < 0)
		fail_msg("chipdata_build: %s", error->message);
}

/* Verifies CHIP against the first CA expecting CODE naming WANT (CODE < 0: success). */
static void
expect_verify(const ChipData *chip, int code, const char *want)
{
	GError *error = NULL;
	int r = chipdata_verify(chip, fx.ca, fx.ca_len, NULL, &error);
	if (code < 0) {
		if (r < 0)
			fail_msg("verify: %s", error->message);
		return;
	}
	if (r == 0)
		fail_msg("verified; expected error %d naming \"%s\"", code, want);
	if (!g_error_matches(error, CHIPDATA_ERROR, code) || !strstr(error->message, want))
		fail_msg("got error %d \"%s\", expected %d naming \"%s\"", error->code,
			 error->message, code, want);
	g_error_free(error);
}

/* The rung index of (W, Q) on the ladder the header documents, for a source >= 240 wide. */
static int
rung(int w, int q)
{
	if (w > 120 || q >= 50)
		return (240 - w) / 20 * 6 + (75 - q) / 5;
	return 7 * 6 + (50 - q) / 5 - 1;
}

static void
print_fit(const char *what, const ChipData *c)
{
	print_message(
		"# %s: portrait %dx%d q%d, signature %dx%d q%d, total %zu of %zu bytes "
		"(COM %zu, DG1 %zu, DG2 %zu, DG3 %zu, DG7 %zu, SOD %zu)\n",
		what, c->portrait_width, c->portrait_height, c->portrait_quality,
		c->signature_width, c->signature_height, c->signature_quality, c->total,
		c->capacity, g_bytes_get_size(c->file[CHIPDATA_COM]),
		g_bytes_get_size(c->file[CHIPDATA_DG1]), g_bytes_get_size(c->file[CHIPDATA_DG2]),
		g_bytes_get_size(c->file[CHIPDATA_DG3]), g_bytes_get_size(c->file[CHIPDATA_DG7]),
		g_bytes_get_size(c->file[CHIPDATA_SOD]));
}

/*
 * Checks CHIP's fit is the first rung that fits: with 3 bytes less it moves
 * down the ladder.  (Not 1: each build signs afresh, and an ECDSA signature's
 * DER is 70 to 72 bytes, so the same rung may come out up to 2 bytes smaller.)
 */
static void
check_first_fit(const ChipInput *in, const ChipData *chip)
{
	ChipData less = { 0 };
	GError *error = NULL;
	if (chipdata_build(in, fx.ds, chip->total - 3, &less, &error) == 0) {
		int a = rung(chip->portrait_width, chip->portrait_quality);
		int b = rung(less.portrait_width, less.portrait_quality);
		if (b <= a)
			fail_msg("at %zu bytes the fit is rung %d, at %zu still rung %d",
				 chip->total, a, chip->total - 3, b);
		chipdata_clear(&less);
	} else {
		assert_true(g_error_matches(error, CHIPDATA_ERROR, CHIPDATA_ERROR_CAPACITY));
		g_error_free(error);
	}
}

static void
test_fits_8k(void **state)
{
	(void)state;
	ChipInput in = record();
	ChipData chip = { 0 };
	build(&in, fx.ds, CHIPDATA_DEFAULT_CAPACITY, &chip);
	print_fit("600x800 smooth photo", &chip);
	size_t sum = 0;
	for (int i = 0; i < CHIPDATA_N_FILES; i++)
		sum += g_bytes_get_size(chip.file[i]);
	assert_int_equal(sum, chip.total);
	assert_true(chip.total <= 8192);
	assert_int_equal(chip.capacity, 8192);
	assert_true(chip.test_signer);
	/* 3:4 kept. */
	assert_int_equal(chip.portrait_height, (chip.portrait_width * 4 + 1) / 3);
	assert_int_equal(chip.signature_width, 160);
	assert_int_equal(chip.signature_height, 60);
	check_first_fit(&in, &chip);
	expect_verify(&chip, -1, NULL);

	/* A camera's texture costs bytes: lower on the ladder, still within 8 KB. */
	ChipData tex = { 0 };
	in.portrait = &fx.textured;
	build(&in, fx.ds, CHIPDATA_DEFAULT_CAPACITY, &tex);
	print_fit("600x800 textured photo", &tex);
	assert_true(tex.total <= 8192);
	assert_true(rung(tex.portrait_width, tex.portrait_quality) >
		    rung(chip.portrait_width, chip.portrait_quality));
	check_first_fit(&in, &tex);
	expect_verify(&tex, -1, NULL);
	chipdata_clear(&tex);
	chipdata_clear(&chip);
}

static void
test_capacity_refused(void **state)
{
	(void)state;
	ChipInput in = record();
	ChipData chip;
	memset(&chip, 0x5a, sizeof chip);
	GError *error = NULL;
	assert_int_equal(chipdata_build(&in, fx.ds, 3000, &chip, &error), -1);
	assert_true(g_error_matches(error, CHIPDATA_ERROR, CHIPDATA_ERROR_CAPACITY));
	assert_null(chip.file[CHIPDATA_SOD]);
	assert_int_equal(chip.total, 0);
	print_message("# %s\n", error->message);
	/* "... needs N bytes ... (120x160 at quality 30), M more than the chip's 3000" */
	const char *p = strstr(error->message, "needs ");
	assert_non_null(p);
	size_t need = strtoul(p + 6, NULL, 10);
	g_autofree char *tail = g_strdup_printf("), %zu more than the chip's 3000", need - 3000);
	assert_non_null(strstr(error->message, tail));
	assert_non_null(strstr(error->message, "120x160 at quality 30"));
	g_clear_error(&error);

	/* The figure is right to the few bytes a signature's length varies by. */
	assert_int_equal(chipdata_build(&in, fx.ds, need - 3, &chip, &error), -1);
	assert_true(g_error_matches(error, CHIPDATA_ERROR, CHIPDATA_ERROR_CAPACITY));
	g_clear_error(&error);
	build(&in, fx.ds, need + 2, &chip);
	assert_int_equal(chip.portrait_width, 120);
	assert_int_equal(chip.portrait_quality, 30);
	assert_true(chip.total <= need + 2);
	print_fit("smallest rung", &chip);
	chipdata_clear(&chip);

	/* The record is checked before the capacity: a bad record says what is wrong. */
	in.demo.name = NULL;
	assert_int_equal(chipdata_build(&in, fx.ds, 10, &chip, &error), -1);
	assert_true(g_error_matches(error, CHIPDATA_ERROR, CHIPDATA_ERROR_INPUT));
	g_clear_error(&error);
}

/* Flips bytes of file I (every STEP-th, and the first and last) expecting ALTERED naming WANT. */
static void
flip_each(ChipData *chip, ChipFileIndex i, size_t step, const char *want)
{
	GBytes *orig = chip->file[i];
	gsize n = 0;
	const uint8_t *p = g_bytes_get_data(orig, &n);
	g_autofree uint8_t *copy = g_memdup2(p, n);
	for (size_t j = 0; j < n + step; j += step) {
		size_t k = MIN(j, n - 1); /* the last byte too */
		copy[k] ^= 0x01;
		chip->file[i] = g_bytes_new_static(copy, n);
		expect_verify(chip, CHIPDATA_ERROR_ALTERED, want);
		g_bytes_unref(chip->file[i]);
		copy[k] ^= 0x01;
	}
	chip->file[i] = orig;
}

static void
test_alteration_named(void **state)
{
	(void)state;
	ChipInput in = record();
	ChipData chip = { 0 };
	build(&in, fx.ds, CHIPDATA_DEFAULT_CAPACITY, &chip);
	expect_verify(&chip, -1, NULL);
	g_autofree char *who = NULL;
	assert_int_equal(chipdata_verify(&chip, fx.ca, fx.ca_len, &who, NULL), 0);
	assert_non_null(strstr(who, "TEST DOCUMENT SIGNER"));

	flip_each(&chip, CHIPDATA_DG1, 1, "DG1 (demographics) was altered");
	flip_each(&chip, CHIPDATA_DG2, 7, "DG2 (portrait) was altered");
	flip_each(&chip, CHIPDATA_DG3, 1, "DG3 (fingerprints) was altered");
	flip_each(&chip, CHIPDATA_DG7, 3, "DG7 (signature) was altered");
	flip_each(&chip, CHIPDATA_COM, 1, "EF.COM was altered");

	/* A byte more or less is a change too. */
	GBytes *orig = chip.file[CHIPDATA_DG3];
	gsize n = 0;
	const uint8_t *p = g_bytes_get_data(orig, &n);
	chip.file[CHIPDATA_DG3] = g_bytes_new(p, n - 1);
	expect_verify(&chip, CHIPDATA_ERROR_ALTERED, "DG3 (fingerprints)");
	g_bytes_unref(chip.file[CHIPDATA_DG3]);
	chip.file[CHIPDATA_DG3] = orig;

	/* A missing group. */
	GBytes *dg7 = g_steal_pointer(&chip.file[CHIPDATA_DG7]);
	expect_verify(&chip, CHIPDATA_ERROR_FORMAT, "DG7 (signature) is missing");
	chip.file[CHIPDATA_DG7] = dg7;
	expect_verify(&chip, -1, NULL);
	chipdata_clear(&chip);
}

/*
 * Every byte of the SOD flipped in turn is refused: the signed parts by the
 * signature, and what CMS leaves outside any signature (the SignedData and
 * SignerInfo versions, the algorithm identifiers, the eContentType against
 * the signed contentType) by crypto_cms_verify()'s checks of form.
 */
static void
test_sod_flips(void **state)
{
	(void)state;
	ChipInput in = record();
	ChipData chip = { 0 };
	build(&in, fx.ds, CHIPDATA_DEFAULT_CAPACITY, &chip);
	GBytes *orig = chip.file[CHIPDATA_SOD];
	gsize n = 0;
	const uint8_t *p = g_bytes_get_data(orig, &n);
	g_autofree uint8_t *copy = g_memdup2(p, n);
	int refused[CHIPDATA_ERROR_IO + 1] = { 0 };
	for (size_t k = 0; k < n; k++) {
		copy[k] ^= 0x01;
		chip.file[CHIPDATA_SOD] = g_bytes_new_static(copy, n);
		GError *error = NULL;
		if (chipdata_verify(&chip, fx.ca, fx.ca_len, NULL, &error) == 0)
			fail_msg("a change at byte %zu of the %zu-byte SOD verified", k, (size_t)n);
		if (error->code != CHIPDATA_ERROR_SIGNATURE && error->code != CHIPDATA_ERROR_FORMAT)
			fail_msg("byte %zu: %s", k, error->message);
		refused[error->code]++;
		g_error_free(error);
		g_bytes_unref(chip.file[CHIPDATA_SOD]);
		copy[k] ^= 0x01;
	}
	chip.file[CHIPDATA_SOD] = orig;
	print_message("# SOD of %zu bytes: every single-bit change refused (%d as not authentic, "
		      "%d as malformed)\n",
		      (size_t)n, refused[CHIPDATA_ERROR_SIGNATURE], refused[CHIPDATA_ERROR_FORMAT]);
	chipdata_clear(&chip);
}

static void
test_other_signer_refused(void **state)
{
	(void)state;
	ChipInput in = record();
	ChipData mine = { 0 }, theirs = { 0 }, other_person = { 0 };
	build(&in, fx.ds, CHIPDATA_DEFAULT_CAPACITY, &mine);
	build(&in, fx.other_ds, CHIPDATA_DEFAULT_CAPACITY, &theirs);
	/* Signed by the other PKI: verifies against its own CA only. */
	assert_int_equal(chipdata_verify(&theirs, fx.other_ca, fx.other_ca_len, NULL, NULL), 0);
	expect_verify(&theirs, CHIPDATA_ERROR_SIGNATURE, "not authentic");
	/* Its SOD moved onto our chip (same files, other signer): refused too. */
	GBytes *sod = mine.file[CHIPDATA_SOD];
	mine.file[CHIPDATA_SOD] = theirs.file[CHIPDATA_SOD];
	expect_verify(&mine, CHIPDATA_ERROR_SIGNATURE, "EF.SOD is not authentic");
	mine.file[CHIPDATA_SOD] = sod;

	/* Another person's SOD from our own signer: the first group differs. */
	in.demo.nik = "6172010101900001";
	build(&in, fx.ds, CHIPDATA_DEFAULT_CAPACITY, &other_person);
	mine.file[CHIPDATA_SOD] = other_person.file[CHIPDATA_SOD];
	expect_verify(&mine, CHIPDATA_ERROR_ALTERED, "DG1 (demographics) was altered");
	mine.file[CHIPDATA_SOD] = sod;
	expect_verify(&mine, -1, NULL);

	/* No CA, or junk for one. */
	GError *error = NULL;
	assert_int_equal(chipdata_verify(&mine, "junk", 4, NULL, &error), -1);
	assert_true(g_error_matches(error, CHIPDATA_ERROR, CHIPDATA_ERROR_SIGNATURE));
	assert_non_null(strstr(error->message, "no CA certificate"));
	g_clear_error(&error);
	/* An SOD that is not one. */
	mine.file[CHIPDATA_SOD] = g_bytes_new_static("\x77\x03\x30\x01\x00", 5);
	expect_verify(&mine, CHIPDATA_ERROR_FORMAT, "EF.SOD is not a security object");
	g_bytes_unref(mine.file[CHIPDATA_SOD]);
	mine.file[CHIPDATA_SOD] = g_bytes_new_static("\x30\x00", 2);
	expect_verify(&mine, CHIPDATA_ERROR_FORMAT, "no tag 77");
	g_bytes_unref(mine.file[CHIPDATA_SOD]);
	mine.file[CHIPDATA_SOD] = sod;

	chipdata_clear(&mine);
	chipdata_clear(&theirs);
	chipdata_clear(&other_person);
}

static void
test_dir_round_trip(void **state)
{
	(void)state;
	ChipInput in = record();
	ChipData chip = { 0 }, back = { 0 };
	build(&in, fx.ds, CHIPDATA_DEFAULT_CAPACITY, &chip);
	g_autofree char *dir = g_build_filename(fx.dir, "chip", NULL);
	GError *error = NULL;
	assert_int_equal(chipdata_write_dir(&chip, dir, &error), 0);
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	for (int i = 0; i < CHIPDATA_N_FILES; i++) {
		g_autofree char *p = g_build_filename(dir, chipdata_file_info(i)->file, NULL);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	/* SOD.der is the bare CMS: a DER SEQUENCE, 2 to 4 bytes shorter than EF.SOD. */
	g_autofree char *sod = g_build_filename(dir, "SOD.der", NULL);
	g_autofree char *text = NULL;
	gsize len = 0;
	assert_true(g_file_get_contents(sod, &text, &len, NULL));
	assert_int_equal((uint8_t)text[0], 0x30);
	assert_int_equal(len + 4, g_bytes_get_size(chip.file[CHIPDATA_SOD]));

	assert_int_equal(chipdata_read_dir(dir, &back, &error), 0);
	for (int i = 0; i < CHIPDATA_N_FILES; i++)
		assert_true(g_bytes_equal(chip.file[i], back.file[i]));
	assert_int_equal(back.total, chip.total);
	assert_int_equal(back.portrait_width, 0);
	assert_int_equal(chipdata_verify(&back, fx.ca, fx.ca_len, NULL, NULL), 0);
	chipdata_clear(&back);

	/* Written again over itself: replaced, still one set. */
	assert_int_equal(chipdata_write_dir(&chip, dir, &error), 0);
	g_autofree char *dg3 = g_build_filename(dir, "DG3.bin", NULL);
	assert_int_equal(g_unlink(dg3), 0);
	memset(&back, 0x5a, sizeof back);
	assert_int_equal(chipdata_read_dir(dir, &back, &error), -1);
	assert_true(g_error_matches(error, CHIPDATA_ERROR, CHIPDATA_ERROR_IO));
	assert_non_null(strstr(error->message, "DG3.bin"));
	assert_null(back.file[CHIPDATA_COM]);
	g_clear_error(&error);
	chipdata_clear(&chip);
}

static void
test_parse_back(void **state)
{
	(void)state;
	ChipInput in = record();
	ChipData chip = { 0 };
	build(&in, fx.ds, CHIPDATA_DEFAULT_CAPACITY, &chip);
	ChipContents c = { 0 };
	GError *error = NULL;
	if (chipdata_parse(&chip, &c, &error) < 0)
		fail_msg("parse: %s", error->message);
	const ChipDemographics *a = &in.demo, *b = &c.demo;
	assert_string_equal(b->nik, a->nik);
	assert_string_equal(b->name, a->name);
	assert_string_equal(b->birth_place, a->birth_place);
	assert_string_equal(b->birth_date, "2006-03-12");
	assert_string_equal(b->gender, a->gender);
	assert_string_equal(b->blood_type, a->blood_type);
	assert_string_equal(b->address, a->address);
	assert_string_equal(b->rt, "004");
	assert_string_equal(b->rw, "011");
	assert_string_equal(b->village, a->village);
	assert_string_equal(b->kecamatan, a->kecamatan);
	assert_string_equal(b->religion, a->religion);
	assert_string_equal(b->marital_status, a->marital_status);
	assert_string_equal(b->occupation, a->occupation);
	assert_string_equal(b->citizenship, a->citizenship);
	assert_string_equal(b->valid_until, "SEUMUR HIDUP");
	assert_string_equal(b->issuing_regency, a->issuing_regency);
	assert_string_equal(b->issue_date, "2024-04-02");
	/* Dates are stored as ICAO stores them. */
	gsize n = 0;
	const char *dg1 = g_bytes_get_data(chip.file[CHIPDATA_DG1], &n);
	assert_non_null(g_strstr_len(dg1, (gssize)n,
				     "\x83\x08"
				     "20060312"));
	assert_non_null(g_strstr_len(dg1, (gssize)n,
				     "\x87\x07"
				     "004/011"));

	assert_int_equal(c.gender, 2);
	assert_int_equal(c.finger[0].position, 2); /* right index */
	assert_int_equal(c.finger[1].position, 7); /* left index */
	assert_int_equal(c.finger[0].len, fx.tmpl_len[0]);
	assert_memory_equal(c.finger[0].tmpl, fx.tmpl[0], fx.tmpl_len[0]);
	assert_memory_equal(c.finger[1].tmpl, fx.tmpl[1], fx.tmpl_len[1]);

	static const ImageLimits rgb = { 3, 1, 1000, 1, 1000, 1 << 22 };
	static const ImageLimits grey = { 1, 1, 1000, 1, 1000, 1 << 22 };
	Image img = { 0 };
	const void *p = g_bytes_get_data(c.portrait, &n);
	if (image_jpeg_decode(p, n, &rgb, &img, &error) < 0)
		fail_msg("portrait: %s", error->message);
	assert_int_equal(img.width, chip.portrait_width);
	assert_int_equal(img.height, chip.portrait_height);
	assert_int_equal(c.portrait_width, chip.portrait_width);
	assert_int_equal(c.portrait_height, chip.portrait_height);
	image_clear(&img);
	p = g_bytes_get_data(c.signature, &n);
	if (image_jpeg_decode(p, n, &grey, &img, &error) < 0)
		fail_msg("signature: %s", error->message);
	assert_int_equal(img.width, 160);
	assert_int_equal(img.height, 60);
	image_clear(&img);
	chipdata_contents_clear(&c);

	/* Other fingers, configured: both thumbs, in that order; a grey portrait. */
	uint8_t *t6 = fx.tmpl[1];
	in.finger[0].position = 1;
	in.finger[1].position = 6;
	in.finger[1].tmpl = t6;
	Image grey_face = { 0 };
	grey_face.width = 90, grey_face.height = 120, grey_face.channels = 1;
	grey_face.pixels = g_malloc(90 * 120);
	memset(grey_face.pixels, 128, 90 * 120);
	in.portrait = &grey_face;
	chipdata_clear(&chip);
	build(&in, fx.ds, CHIPDATA_DEFAULT_CAPACITY, &chip);
	assert_int_equal(chip.portrait_width, 90); /* never enlarged */
	assert_int_equal(chipdata_parse(&chip, &c, NULL), 0);
	assert_int_equal(c.finger[0].position, 1);
	assert_int_equal(c.finger[1].position, 6);
	p = g_bytes_get_data(c.portrait, &n);
	assert_int_equal(image_jpeg_decode(p, n, &grey, &img, NULL), 0);
	image_clear(&img);
	chipdata_contents_clear(&c);
	image_clear(&grey_face);
	expect_verify(&chip, -1, NULL);

	/* A data group that is not ours does not parse. */
	GBytes *dg2 = chip.file[CHIPDATA_DG2];
	chip.file[CHIPDATA_DG2] = g_bytes_new_static("\x75\x00", 2);
	memset(&c, 0x5a, sizeof c);
	assert_int_equal(chipdata_parse(&chip, &c, &error), -1);
	assert_true(g_error_matches(error, CHIPDATA_ERROR, CHIPDATA_ERROR_FORMAT));
	assert_non_null(strstr(error->message, "DG2 (portrait)"));
	assert_null(c.strings);
	g_clear_error(&error);
	g_bytes_unref(chip.file[CHIPDATA_DG2]);
	chip.file[CHIPDATA_DG2] = dg2;
	chipdata_clear(&chip);
}

/* Builds IN expecting INPUT naming WANT. */
static void
expect_input_refused(const ChipInput *in, const char *want)
{
	ChipData chip = { 0 };
	GError *error = NULL;
	if (chipdata_build(in, fx.ds, CHIPDATA_DEFAULT_CAPACITY, &chip, &error) == 0) {
		chipdata_clear(&chip);
		fail_msg("built; expected a refusal naming \"%s\"", want);
	}
	if (!g_error_matches(error, CHIPDATA_ERROR, CHIPDATA_ERROR_INPUT) ||
	    !strstr(error->message, want))
		fail_msg("got error %d \"%s\", expected INPUT naming \"%s\"", error->code,
			 error->message, want);
	g_error_free(error);
}

static void
test_bad_records(void **state)
{
	(void)state;
	ChipInput in = record();
	in.demo.kecamatan = "";
	expect_input_refused(&in, "kecamatan is missing");
	in = record();
	in.demo.nik = "61720152030600";
	expect_input_refused(&in, "nik is not 16 digits");
	in = record();
	in.demo.birth_date = "12-03-2006";
	expect_input_refused(&in, "birth_date is not a date");
	in = record();
	in.demo.issue_date = "2023-02-29";
	expect_input_refused(&in, "issue_date");
	in = record();
	in.demo.valid_until = "SELAMANYA";
	expect_input_refused(&in, "valid_until is neither");
	in = record();
	in.demo.name = "BUDI\xff";
	expect_input_refused(&in, "name is not valid UTF-8");
	in = record();
	in.demo.address = "JL. A\nJL. B";
	expect_input_refused(&in, "address holds a control character");
	in = record();
	in.demo.rw = "01/2";
	expect_input_refused(&in, "rt/rw");
	in = record();
	g_autofree char *longname = g_strnfill(CHIPDATA_FIELD_MAX + 1, 'A');
	in.demo.name = longname;
	expect_input_refused(&in, "201 bytes");

	in = record();
	in.finger[1].position = 2;
	expect_input_refused(&in, "both fingers are the right index");
	in.finger[1].position = 11;
	expect_input_refused(&in, "position 11");
	in = record();
	in.finger[0].tmpl = (const uint8_t *)"ANSI";
	in.finger[0].len = 4;
	expect_input_refused(&in, "finger 1 (right index): the template is not");

	in = record();
	Image tiny = fx.photo;
	tiny.width = 59;
	in.portrait = &tiny;
	expect_input_refused(&in, "portrait is 59x800");
	in = record();
	in.signature = &fx.photo;
	expect_input_refused(&in, "signature is missing or not an 8-bit grey image");
	in = record();
	in.portrait = NULL;
	expect_input_refused(&in, "portrait is missing");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fits_8k),
		cmocka_unit_test(test_capacity_refused),
		cmocka_unit_test(test_alteration_named),
		cmocka_unit_test(test_sod_flips),
		cmocka_unit_test(test_other_signer_refused),
		cmocka_unit_test(test_dir_round_trip),
		cmocka_unit_test(test_parse_back),
		cmocka_unit_test(test_bad_records),
	};
	return cmocka_run_group_tests_name("chipdata", tests, group_setup, group_teardown);
}
