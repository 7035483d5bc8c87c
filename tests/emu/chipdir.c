/* SPDX-License-Identifier: MIT */
/*
 * chipdir: writes the chip image of a synthetic record into a directory, so
 * that shell tests can check it with other tools (openssl cms, sha256sum),
 * and verifies such a directory the way the daemon does.
 *
 *   chipdir make PKI_DIR CHIP_DIR [CAPACITY [SEED]]
 *       makes a test PKI in PKI_DIR unless it is there (crypto_test_pki_create),
 *       builds the chip of a synthetic record (simulator face and signature,
 *       fake but well-formed ISO/IEC 19794-2 templates of the right and left
 *       index fingers) signed by its document signer, fitted to CAPACITY
 *       bytes (default 8192), and writes it with chipdata_write_dir().
 *       Prints the fit: "portrait WxH qQ signature WxH qQ total N capacity C test 1".
 *   chipdir verify CHIP_DIR CA_PEM
 *       chipdata_verify() of the directory against the CA certificate(s);
 *       prints "verified: SUBJECT" or the error.
 *
 * Exit status 0 on success, 1 on failure (the error on stderr), 2 on usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card/chipdata.h"
#include "drivers/sim/synth.h"
#include "image/image.h"

static int
usage(void)
{
	fprintf(stderr, "usage: chipdir make PKI_DIR CHIP_DIR [CAPACITY [SEED]]\n"
			"       chipdir verify CHIP_DIR CA_PEM\n");
	return 2;
}

/*
 * A well-formed ISO/IEC 19794-2:2005 record of N pseudo-random minutiae at
 * POSITION, 500 ppi, 400x500 (caller frees; *LEN receives its size).
 */
static uint8_t *
fake_template(guint32 seed, int position, int n, size_t *len)
{
	size_t size = 24 + 4 + 6 * (size_t)n + 2;
	uint8_t *t = g_malloc0(size);
	GRand *r = g_rand_new_with_seed(seed * 31u + (guint32)position);
	memcpy(t, "FMR\0 20\0", 8);
	t[8] = (uint8_t)(size >> 24);
	t[9] = (uint8_t)(size >> 16);
	t[10] = (uint8_t)(size >> 8);
	t[11] = (uint8_t)size;
	t[14] = 400 >> 8, t[15] = 400 & 0xFF; /* width */
	t[16] = 500 >> 8, t[17] = 500 & 0xFF; /* height */
	t[18] = 0, t[19] = 197;               /* 197 px/cm = 500 ppi, x and y */
	t[20] = 0, t[21] = 197;
	t[22] = 1; /* one finger view */
	uint8_t *v = t + 24;
	v[0] = (uint8_t)position;
	v[1] = 0;  /* view 0, live-scan plain */
	v[2] = 80; /* quality */
	v[3] = (uint8_t)n;
	for (int i = 0; i < n; i++) {
		uint8_t *m = v + 4 + 6 * i;
		int type = g_rand_int_range(r, 1, 3), x = g_rand_int_range(r, 40, 360),
		    y = g_rand_int_range(r, 40, 460);
		m[0] = (uint8_t)(type << 6 | x >> 8);
		m[1] = (uint8_t)x;
		m[2] = (uint8_t)(y >> 8);
		m[3] = (uint8_t)y;
		m[4] = (uint8_t)g_rand_int_range(r, 0, 256);
		m[5] = (uint8_t)g_rand_int_range(r, 40, 100);
	}
	g_rand_free(r);
	*len = size;
	return t;
}

static int
make(const char *pki, const char *dir, size_t capacity, guint32 seed)
{
	GError *e = NULL;
	if (crypto_test_pki_create(pki, NULL, &e) < 0) {
		fprintf(stderr, "chipdir: %s\n", e->message);
		return 1;
	}
	g_autofree char *cert = g_build_filename(pki, CRYPTO_TEST_DS_CERT, NULL);
	g_autofree char *key = g_build_filename(pki, CRYPTO_TEST_DS_KEY, NULL);
	g_autoptr(CryptoSigner) signer = crypto_signer_load(cert, key, &e);
	if (!signer) {
		fprintf(stderr, "chipdir: %s\n", e->message);
		return 1;
	}
	HalImage face = { 0 }, sig = { 0 };
	if (synth_face(seed, 0xdb1514, 0.92, &face) < 0 || synth_signature(seed, &sig) < 0) {
		fprintf(stderr, "chipdir: cannot synthesise the images\n");
		return 1;
	}
	Image portrait = { face.width, face.height, face.channels, face.ppi, face.pixels };
	Image signature = { sig.width, sig.height, sig.channels, sig.ppi, sig.pixels };
	size_t len1 = 0, len2 = 0;
	g_autofree uint8_t *t1 = fake_template(seed, CHIPDATA_DEFAULT_FINGER_1, 42, &len1);
	g_autofree uint8_t *t2 = fake_template(seed, CHIPDATA_DEFAULT_FINGER_2, 38, &len2);
	ChipInput in = {
		.demo = { .nik = "6172014507990003",
			  .name = "SITI NURHALIZA",
			  .birth_place = "SINGKAWANG",
			  .birth_date = "1999-07-05",
			  .gender = "PEREMPUAN",
			  .blood_type = "O",
			  .address = "JL. DIPONEGORO NO. 12",
			  .rt = "001",
			  .rw = "002",
			  .village = "ROBAN",
			  .kecamatan = "SINGKAWANG TENGAH",
			  .religion = "ISLAM",
			  .marital_status = "BELUM KAWIN",
			  .occupation = "PELAJAR/MAHASISWA",
			  .citizenship = "WNI",
			  .valid_until = "SEUMUR HIDUP",
			  .issuing_regency = "KOTA SINGKAWANG",
			  .issue_date = "2025-06-20" },
		.portrait = &portrait,
		.finger = { { t1, len1, CHIPDATA_DEFAULT_FINGER_1 },
			    { t2, len2, CHIPDATA_DEFAULT_FINGER_2 } },
		.signature = &signature,
	};
	ChipData chip = { 0 };
	int rc = 1;
	if (chipdata_build(&in, signer, capacity, &chip, &e) < 0 ||
	    chipdata_write_dir(&chip, dir, &e) < 0) {
		fprintf(stderr, "chipdir: %s\n", e->message);
		g_error_free(e);
		goto out;
	}
	printf("portrait %dx%d q%d signature %dx%d q%d total %zu capacity %zu test %d\n",
	       chip.portrait_width, chip.portrait_height, chip.portrait_quality,
	       chip.signature_width, chip.signature_height, chip.signature_quality, chip.total,
	       chip.capacity, chip.test_signer ? 1 : 0);
	for (int i = 0; i < CHIPDATA_N_FILES; i++)
		printf("  %-7s %04X %5zu bytes\n", chipdata_file_info(i)->name,
		       chipdata_file_info(i)->fid, g_bytes_get_size(chip.file[i]));
	rc = 0;
out:
	chipdata_clear(&chip);
	g_free(face.pixels);
	g_free(sig.pixels);
	return rc;
}

static int
verify(const char *dir, const char *ca)
{
	GError *e = NULL;
	g_autofree char *pem = NULL;
	gsize len = 0;
	if (!g_file_get_contents(ca, &pem, &len, &e)) {
		fprintf(stderr, "chipdir: %s\n", e->message);
		return 1;
	}
	ChipData chip = { 0 };
	g_autofree char *who = NULL;
	if (chipdata_read_dir(dir, &chip, &e) < 0 ||
	    chipdata_verify(&chip, pem, len, &who, &e) < 0) {
		fprintf(stderr, "chipdir: %s\n", e->message);
		g_error_free(e);
		chipdata_clear(&chip);
		return 1;
	}
	printf("verified: %s\n", who);
	chipdata_clear(&chip);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 4 && argc <= 6 && strcmp(argv[1], "make") == 0) {
		size_t cap = argc >= 5 ? strtoul(argv[4], NULL, 10) : CHIPDATA_DEFAULT_CAPACITY;
		guint32 seed = argc >= 6 ? (guint32)strtoul(argv[5], NULL, 10) : 1;
		return make(argv[2], argv[3], cap, seed);
	}
	if (argc == 4 && strcmp(argv[1], "verify") == 0)
		return verify(argv[2], argv[3]);
	return usage();
}
