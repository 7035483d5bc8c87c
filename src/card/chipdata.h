/* SPDX-License-Identifier: MIT */
/*
 * The chip image of a card: the files an encoder writes into the e-KTP's
 * chip, in the style of the ICAO 9303 Logical Data Structure (part 10), and
 * the security object that signs them (part 11's passive authentication).
 * One record in, every file out, fitted to the chip's capacity before any
 * card is touched: the portrait's size and JPEG quality are chosen so the
 * whole image fits, and a record that cannot fit is an error.
 *
 * The files, under the LDS application (AID A0 00 00 02 47 10 01), each a
 * BER-TLV whose outer tag is ICAO's for that file:
 *
 *   file     FID    tag  content
 *   EF.COM   011E   60   5F01 LDS version "0108", 5F36 Unicode version
 *                        "040000", 5C the tags of the data groups present
 *   DG1      0101   61   demographics, UTF-8 (the tags below)
 *   DG2      0102   75   the portrait: a biometric information group
 *                        template 7F61 { 02 count 1, 7F60 { A1 header
 *                        {80 0101, 81 02 face, 87 0101 SC 37, 88 0008 face
 *                        image}, 5F2E an ISO/IEC 19794-5:2005 face record
 *                        ("FAC\0", 46 bytes of header, then the JPEG) } }
 *   DG3      0103   63   the two fingerprints: 7F61 { 02 count 2, then per
 *                        finger 7F60 { A1 {80 0101, 81 08 finger, 82 CBEFF
 *                        subtype (which finger), 87 0101, 88 0002 finger
 *                        minutiae}, 5F2E the ISO/IEC 19794-2 template as
 *                        given } }
 *   DG7      0107   67   the signature: 02 count 1, 5F43 a greyscale JPEG
 *   EF.SOD   011D   77   the CMS SignedData (DER) of the security object
 *
 * DG1 (61) holds one primitive TLV per field, in this order, all required:
 *   80 NIK (16 digits)            89 kecamatan
 *   81 name                       8A religion (or the kepercayaan)
 *   82 place of birth             8B marital status
 *   83 date of birth, YYYYMMDD    8C occupation
 *   84 gender                     8D citizenship ("WNI" / "WNA")
 *   85 blood type ("-" unknown)   8E valid until: "SEUMUR HIDUP" or YYYYMMDD
 *   86 address                    8F issuing regency ("KOTA SINGKAWANG")
 *   87 RT/RW as "001/002"         90 date of issue, YYYYMMDD
 *   88 village (kelurahan/desa)
 * Values are UTF-8 as printed on the card, 1 to CHIPDATA_FIELD_MAX bytes;
 * dates come in as "YYYY-MM-DD" and are stored as ICAO stores them (DG11).
 *
 * EF.SOD's eContent is ICAO's LDSSecurityObject (see crypto_lds_encode():
 * version 0, SHA-256, and per data group its number and the SHA-256 of the
 * whole file, tag and length included), under eContentType
 * id-icao-mrtd-security-ldsSecurityObject 2.23.136.1.1.1, signed by the
 * document signer with its certificate inside, so anyone holding the CA
 * certificate can check the chip.  As in ICAO, EF.COM is not hashed; it is
 * checked instead against the data groups the SOD lists.
 *
 * Thread-safe: no global state.  Building encodes up to a few dozen small
 * JPEGs and signs once (tens of milliseconds): call it from a worker.
 */
#ifndef EKTP_CARD_CHIPDATA_H
#define EKTP_CARD_CHIPDATA_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "image/image.h"

#define CHIPDATA_ERROR (chipdata_error_quark())
GQuark chipdata_error_quark(void);

typedef enum {
	CHIPDATA_ERROR_INPUT,     /* the record cannot make a chip: the message names the field,
				   * finger or image that is missing or wrong */
	CHIPDATA_ERROR_CAPACITY,  /* it does not fit even at the smallest portrait; the message
				   * says by how many bytes */
	CHIPDATA_ERROR_SIGN,      /* the security object could not be signed */
	CHIPDATA_ERROR_FORMAT,    /* a file is missing or is not one we make */
	CHIPDATA_ERROR_ALTERED,   /* a file does not match the security object; the message
				   * names it ("DG2 (portrait)") */
	CHIPDATA_ERROR_SIGNATURE, /* the security object's signature does not verify, or its
				   * signer does not chain to the CA */
	CHIPDATA_ERROR_IO,        /* reading or writing a chip directory */
} ChipDataErrorCode;

/* The e-KTP chip holds 8 KB; what the configuration uses when it says nothing. */
#define CHIPDATA_DEFAULT_CAPACITY 8192
/* The default pair of fingers (BPPT): right and left index, ISO finger positions. */
#define CHIPDATA_DEFAULT_FINGER_1 2
#define CHIPDATA_DEFAULT_FINGER_2 7
/* The longest DG1 value, in bytes. */
#define CHIPDATA_FIELD_MAX 200

/* The ICAO LDS application identifier, under which the files live. */
#define CHIPDATA_AID_LEN 7
extern const uint8_t chipdata_aid[CHIPDATA_AID_LEN];

/* The files of a chip image, in the order they are written. */
typedef enum {
	CHIPDATA_COM,
	CHIPDATA_DG1,
	CHIPDATA_DG2,
	CHIPDATA_DG3,
	CHIPDATA_DG7,
	CHIPDATA_SOD,
	CHIPDATA_N_FILES
} ChipFileIndex;

typedef struct {
	uint16_t fid;     /* ISO 7816-4 file identifier */
	uint8_t tag;      /* the file's outer tag */
	int dg;           /* data group number; 0 for EF.COM and EF.SOD */
	const char *name; /* "EF.COM", "DG1", ..., "EF.SOD" */
	const char *what; /* "demographics", "portrait", ... */
	const char *file; /* its name in a chip directory: "COM.bin", "DG1.bin", ..., "SOD.der" */
} ChipFileInfo;

/* What file I is (static; I < CHIPDATA_N_FILES). */
const ChipFileInfo *chipdata_file_info(ChipFileIndex i);

/* The demographics for DG1: UTF-8 as printed on the card; all borrowed, all required. */
typedef struct {
	const char *nik; /* 16 digits */
	const char *name;
	const char *birth_place;
	const char *birth_date; /* "YYYY-MM-DD" */
	const char *gender;     /* "LAKI-LAKI" / "PEREMPUAN" */
	const char *blood_type; /* "A", ..., "O", "-" */
	const char *address;
	const char *rt;      /* "001" */
	const char *rw;      /* "002" */
	const char *village; /* the kelurahan/desa name */
	const char *kecamatan;
	const char *religion; /* or "KEPERCAYAAN TERHADAP TUHAN YME" */
	const char *marital_status;
	const char *occupation;
	const char *citizenship;     /* "WNI" / "WNA" */
	const char *valid_until;     /* "SEUMUR HIDUP" or "YYYY-MM-DD" */
	const char *issuing_regency; /* "KOTA SINGKAWANG" */
	const char *issue_date;      /* "YYYY-MM-DD" */
} ChipDemographics;

/* One fingerprint template for DG3. */
typedef struct {
	const uint8_t *tmpl; /* an ISO/IEC 19794-2 record ("FMR\0" ...); borrowed */
	size_t len;
	int position; /* ISO finger position 1..10 (1 right thumb .. 10 left little) */
} ChipFinger;

typedef struct {
	ChipDemographics demo;
	const Image *portrait;  /* RGB (or grey), any size from 60x80; borrowed */
	ChipFinger finger[2];   /* two different positions */
	const Image *signature; /* grey, any size from 40x15; borrowed */
} ChipInput;

/* A chip image.  Zero it before first use; chipdata_clear() frees it. */
typedef struct {
	GBytes *file[CHIPDATA_N_FILES]; /* contents as on the chip, by ChipFileIndex; owned */
	size_t total;                   /* the sum of the files' sizes */
	/* What chipdata_build() chose (0 after chipdata_read_dir()). */
	size_t capacity;
	int portrait_width, portrait_height, portrait_quality;
	int signature_width, signature_height, signature_quality;
	gboolean test_signer; /* signed by a test key: NOT A VALID CARD */
} ChipData;

/*
 * Builds the chip image of IN signed by SIGNER into OUT (overwritten; caller
 * frees with chipdata_clear()), fitted to CAPACITY bytes: the sum of the
 * files' contents (what the encoder writes; the card's own file-system
 * overhead is not counted, so pass the capacity net of it).
 *
 * The portrait is scaled (keeping its aspect) and encoded down this ladder
 * until the total fits, the first fit being kept:
 *     widths 240, 220, 200, 180, 160, 140, 120 pixels, each at JPEG quality
 *     75, 70, 65, 60, 55, 50; then at 120 pixels, quality 45, 40, 35, 30.
 * Quality goes down to 50 before the size does, as a face loses more to a
 * smaller picture than to moderate JPEG loss; below 50 only at the smallest
 * size.  The signature is always 160 pixels wide, greyscale, quality 50
 * (about 1 KB).  A portrait smaller than the width tried is not enlarged.
 *
 * Returns 0, or -1 with ERROR set and OUT zeroed: CHIPDATA_ERROR_INPUT
 * naming what is wrong with IN (a field missing, not UTF-8 or too long, a
 * NIK that is not 16 digits, a date not YYYY-MM-DD, a finger position
 * outside 1..10 or repeated, a template that is not ISO/IEC 19794-2, an
 * image of the wrong kind or too small), CHIPDATA_ERROR_CAPACITY when even
 * the last rung does not fit ("... needs 9012 bytes, 820 more than the
 * chip's 8192"), CHIPDATA_ERROR_SIGN when signing fails.  IN and SIGNER are
 * borrowed for the call.
 */
int chipdata_build(const ChipInput *in, const CryptoSigner *signer, size_t capacity, ChipData *out,
		   GError **error);

/*
 * Passive authentication of CHIP (borrowed): the SOD is a CMS SignedData
 * whose signer chains to a certificate in CA_PEM (CA_LEN bytes of PEM, one
 * or more certificates; borrowed) and whose signature holds; it lists each
 * data group present exactly once and no other; each group's SHA-256
 * matches; EF.COM is exactly the one these groups make.  Returns 0, or -1
 * with ERROR set: CHIPDATA_ERROR_SIGNATURE (the SOD's signature or signer;
 * the message says which), CHIPDATA_ERROR_ALTERED naming the first file
 * that does not match ("DG2 (portrait) was altered: ..."),
 * CHIPDATA_ERROR_FORMAT for a missing file or an SOD that is not one.
 * *SIGNER (may be NULL) receives the signer's subject on success (caller
 * frees).
 */
int chipdata_verify(const ChipData *chip, const char *ca_pem, size_t ca_len, char **signer,
		    GError **error);

/*
 * Writes CHIP's files into DIR (made, mode 0700, if missing) under the
 * names in ChipFileInfo.file, each mode 0600 (they hold biometrics) and
 * replaced atomically.  SOD.der is the CMS SignedData itself, without
 * EF.SOD's tag 77 and length, so `openssl cms -inform DER` reads it; the
 * other files are byte for byte what goes on the chip.  Returns 0, or -1
 * with CHIPDATA_ERROR_IO naming the file.  Arguments are borrowed.
 */
int chipdata_write_dir(const ChipData *chip, const char *dir, GError **error);

/*
 * Reads the files chipdata_write_dir() writes from DIR into OUT
 * (overwritten; caller frees with chipdata_clear()), EF.SOD's tag put back;
 * TOTAL is computed, the fit fields are 0.  Returns 0, or -1 with ERROR set
 * and OUT zeroed (CHIPDATA_ERROR_IO naming the file that is missing or
 * unreadable, or larger than 64 KB).  DIR is borrowed.
 */
int chipdata_read_dir(const char *dir, ChipData *out, GError **error);

/*
 * File I of CHIP as a chip directory holds it (caller unrefs): the bytes on
 * the chip, except SOD.der, which is the bare CMS without EF.SOD's tag 77.
 * NULL when CHIP has no such file, or an EF.SOD without its tag.
 */
GBytes *chipdata_dir_file(const ChipData *chip, ChipFileIndex i);
/* Sets file I of CHIP from BYTES in chip-directory form (takes BYTES; EF.SOD's
 * tag is put back) and updates CHIP->total. */
void chipdata_set_dir_file(ChipData *chip, ChipFileIndex i, GBytes *bytes);

/* Frees CHIP's files and zeroes it (CHIP is borrowed; may be NULL). */
void chipdata_clear(ChipData *chip);

/* What a chip holds, read back from its files (chipdata_parse). */
typedef struct {
	ChipDemographics demo;               /* strings owned by STRINGS; dates as "YYYY-MM-DD" */
	GBytes *portrait;                    /* the JPEG inside DG2's face record; owned */
	int portrait_width, portrait_height; /* as the face record states them */
	int gender;                          /* the face record's: 0 unknown, 1 male, 2 female */
	ChipFinger finger[2];                /* TMPL points into FINGER_DATA[i] */
	GBytes *finger_data[2];              /* owned */
	GBytes *signature;                   /* the JPEG from DG7; owned */
	GStringChunk *strings;
} ChipContents;

/*
 * Parses CHIP's data groups (borrowed) into OUT (overwritten; caller frees
 * with chipdata_contents_clear()).  Only the structure is checked (use
 * chipdata_verify() for authenticity).  Returns 0, or -1 with
 * CHIPDATA_ERROR_FORMAT naming the file and what is wrong, OUT zeroed.
 */
int chipdata_parse(const ChipData *chip, ChipContents *out, GError **error);

/* Frees what C owns and zeroes it (C is borrowed; may be NULL). */
void chipdata_contents_clear(ChipContents *c);

#endif
