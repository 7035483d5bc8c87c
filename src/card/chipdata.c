/* SPDX-License-Identifier: MIT */
/*
 * Chip images: BER-TLV files in the ICAO LDS style (chipdata.h has the map),
 * fitted to the chip and signed.  The TLV writer and reader here are small
 * and strict (definite, minimal lengths; every object must fill its parent
 * exactly) because they only ever meet files we made; the DER of the
 * security object and of CMS is left to OpenSSL, behind crypto.h.
 *
 * Fitting works on the real bytes, never on estimates: each rung of the
 * portrait ladder is actually encoded, and a candidate is accepted only once
 * the SOD signed over it has been made and the sum of all files measured.
 * Only the SOD's size is guessed ahead (from a SOD signed over the other
 * groups with an empty portrait), and only to skip signing rungs that are
 * clearly too large; a rung within a few bytes of fitting is signed and
 * measured.
 */
#include "card/chipdata.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "image/jpeg.h"

G_DEFINE_QUARK(ektp-chipdata-error-quark, chipdata_error)

const uint8_t chipdata_aid[CHIPDATA_AID_LEN] = { 0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01 };

static const ChipFileInfo files[CHIPDATA_N_FILES] = {
	[CHIPDATA_COM] = { 0x011E, 0x60, 0, "EF.COM", "index", "COM.bin" },
	[CHIPDATA_DG1] = { 0x0101, 0x61, 1, "DG1", "demographics", "DG1.bin" },
	[CHIPDATA_DG2] = { 0x0102, 0x75, 2, "DG2", "portrait", "DG2.bin" },
	[CHIPDATA_DG3] = { 0x0103, 0x63, 3, "DG3", "fingerprints", "DG3.bin" },
	[CHIPDATA_DG7] = { 0x0107, 0x67, 7, "DG7", "signature", "DG7.bin" },
	[CHIPDATA_SOD] = { 0x011D, 0x77, 0, "EF.SOD", "security object", "SOD.der" },
};

const ChipFileInfo *
chipdata_file_info(ChipFileIndex i)
{
	g_return_val_if_fail(i < CHIPDATA_N_FILES, NULL);
	return &files[i];
}

/* The data groups, in the order EF.COM and EF.SOD list them. */
static const ChipFileIndex groups[] = { CHIPDATA_DG1, CHIPDATA_DG2, CHIPDATA_DG3, CHIPDATA_DG7 };
#define N_GROUPS G_N_ELEMENTS(groups)

/* Tags inside the files (ICAO 9303-10 and ISO/IEC 7816-11). */
#define TAG_LDS_VERSION 0x5F01
#define TAG_UNICODE_VERSION 0x5F36
#define TAG_TAG_LIST 0x5C
#define TAG_BIT_GROUP 0x7F61 /* biometric information group template */
#define TAG_BIT 0x7F60       /* biometric information template */
#define TAG_COUNT 0x02
#define TAG_BHT 0xA1 /* biometric header template */
#define TAG_BHT_VERSION 0x80
#define TAG_BHT_TYPE 0x81
#define TAG_BHT_SUBTYPE 0x82
#define TAG_BHT_OWNER 0x87
#define TAG_BHT_FORMAT 0x88
#define TAG_BDB 0x5F2E /* biometric data block */
#define TAG_SIGNATURE_IMAGE 0x5F43

#define LDS_VERSION "0108"
#define UNICODE_VERSION "040000"
#define BIO_TYPE_FACE 0x02
#define BIO_TYPE_FINGER 0x08
#define FORMAT_OWNER_SC37 0x0101
#define FORMAT_FACE_IMAGE 0x0008      /* ISO/IEC 19794-5 */
#define FORMAT_FINGER_MINUTIAE 0x0002 /* ISO/IEC 19794-2 */

/* ISO/IEC 19794-5:2005 face record: its header, facial information and image information. */
#define FACE_HEADER_LEN 14
#define FACE_INFO_LEN 20
#define FACE_IMAGE_INFO_LEN 12
#define FACE_RECORD_OVERHEAD (FACE_HEADER_LEN + FACE_INFO_LEN + FACE_IMAGE_INFO_LEN)
/* Format identifier "FAC" and version "010", each NUL-terminated. */
static const uint8_t face_magic[8] = { 'F', 'A', 'C', 0, '0', '1', '0', 0 };

/* The portrait ladder (chipdata.h) and the fixed signature. */
static const int ladder_widths[] = { 240, 220, 200, 180, 160, 140, 120 };
static const int ladder_qualities[] = { 75, 70, 65, 60, 55, 50 };
static const int ladder_last_qualities[] = { 45, 40, 35, 30 };
#define SIGNATURE_WIDTH 160
#define SIGNATURE_QUALITY 50
#define PORTRAIT_MIN_SIDE 60
#define SIGNATURE_MIN_WIDTH 40
#define SIGNATURE_MIN_HEIGHT 15
#define MAX_TEMPLATE (16 * 1024)
#define READ_MAX (64 * 1024)
/* How much one SOD may differ from another over different hashes: the
 * ECDSA signature's DER is 70 to 72 bytes (r and s are 32 or 33 bytes). */
#define SOD_SLACK 4

/* ---- writing TLV ---- */

static void
put_tag(GByteArray *b, guint tag)
{
	uint8_t t[2] = { (uint8_t)(tag >> 8), (uint8_t)tag };
	if (tag > 0xFF)
		g_byte_array_append(b, t, 2);
	else
		g_byte_array_append(b, t + 1, 1);
}

static void
put_len(GByteArray *b, size_t n)
{
	g_assert(n <= 0xFFFFFF);
	uint8_t l[4];
	if (n < 0x80) {
		l[0] = (uint8_t)n;
		g_byte_array_append(b, l, 1);
	} else if (n <= 0xFF) {
		l[0] = 0x81;
		l[1] = (uint8_t)n;
		g_byte_array_append(b, l, 2);
	} else if (n <= 0xFFFF) {
		l[0] = 0x82;
		l[1] = (uint8_t)(n >> 8);
		l[2] = (uint8_t)n;
		g_byte_array_append(b, l, 3);
	} else {
		l[0] = 0x83;
		l[1] = (uint8_t)(n >> 16);
		l[2] = (uint8_t)(n >> 8);
		l[3] = (uint8_t)n;
		g_byte_array_append(b, l, 4);
	}
}

static void
put_tlv(GByteArray *b, guint tag, const void *v, size_t n)
{
	put_tag(b, tag);
	put_len(b, n);
	if (n)
		g_byte_array_append(b, v, (guint)n);
}

/* A TLV of TAG around the bytes of INNER, which is freed. */
static void
put_wrapped(GByteArray *b, guint tag, GByteArray *inner)
{
	put_tlv(b, tag, inner->data, inner->len);
	g_byte_array_unref(inner);
}

static void
put_u16(GByteArray *b, guint tag, guint v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	put_tlv(b, tag, x, 2);
}

static void
put_u8(GByteArray *b, guint tag, guint v)
{
	uint8_t x = (uint8_t)v;
	put_tlv(b, tag, &x, 1);
}

/* A whole file: TAG around INNER (freed). */
static GBytes *
file_wrap(guint tag, GByteArray *inner)
{
	GByteArray *b = g_byte_array_sized_new(inner->len + 8);
	put_wrapped(b, tag, inner);
	return g_byte_array_free_to_bytes(b);
}

/* ---- reading TLV ---- */

typedef struct {
	const uint8_t *p, *end;
} Reader;

typedef struct {
	guint tag;
	const uint8_t *v;
	size_t len;
} Tlv;

/* The next TLV of R into T.  0, or -1 when it is malformed or runs past the end. */
static int
tlv_next(Reader *r, Tlv *t)
{
	const uint8_t *p = r->p, *end = r->end;
	if (p >= end)
		return -1;
	guint tag = *p++;
	if ((tag & 0x1F) == 0x1F) { /* two-byte tags are all we use */
		if (p >= end || (*p & 0x80))
			return -1;
		tag = tag << 8 | *p++;
	}
	if (p >= end)
		return -1;
	size_t len = *p++;
	if (len & 0x80) {
		int n = (int)(len & 0x7F);
		if (n < 1 || n > 3 || end - p < n)
			return -1;
		len = 0;
		for (int i = 0; i < n; i++)
			len = len << 8 | *p++;
		/* Minimal lengths only, so one value has one encoding. */
		if (len < 0x80 || (n > 1 && len < ((size_t)1 << (8 * (n - 1)))))
			return -1;
	}
	if ((size_t)(end - p) < len)
		return -1;
	t->tag = tag;
	t->v = p;
	t->len = len;
	r->p = p + len;
	return 0;
}

/* The next TLV of R, which must be TAG.  0 or -1. */
static int
tlv_expect(Reader *r, guint tag, Tlv *t)
{
	return tlv_next(r, t) == 0 && t->tag == tag ? 0 : -1;
}

static Reader
reader_of(const Tlv *t)
{
	return (Reader){ t->v, t->v + t->len };
}

static gboolean
reader_done(const Reader *r)
{
	return r->p == r->end;
}

/* The one TLV of TAG that fills all N bytes at DATA.  0 or -1. */
static int
tlv_whole(const void *data, size_t n, guint tag, Tlv *t)
{
	Reader r = { data, (const uint8_t *)data + n };
	return tlv_expect(&r, tag, t) == 0 && reader_done(&r) ? 0 : -1;
}

static guint
be(const uint8_t *p, int n)
{
	guint v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* ---- EF.COM ---- */

static GBytes *
com_make(void)
{
	GByteArray *in = g_byte_array_new();
	uint8_t tags[N_GROUPS];
	for (size_t i = 0; i < N_GROUPS; i++)
		tags[i] = files[groups[i]].tag;
	put_tlv(in, TAG_LDS_VERSION, LDS_VERSION, strlen(LDS_VERSION));
	put_tlv(in, TAG_UNICODE_VERSION, UNICODE_VERSION, strlen(UNICODE_VERSION));
	put_tlv(in, TAG_TAG_LIST, tags, sizeof tags);
	return file_wrap(files[CHIPDATA_COM].tag, in);
}

/* ---- DG1 ---- */

typedef enum { F_TEXT, F_NIK, F_DATE, F_VALID, F_RTRW } FieldKind;

typedef struct {
	guint tag;
	const char *name; /* as the error messages and ChipDemographics call it */
	size_t offset;    /* into ChipDemographics (for F_RTRW: rt; rw follows) */
	FieldKind kind;
} Field;

#define OFF(f) G_STRUCT_OFFSET(ChipDemographics, f)
static const Field fields[] = {
	{ 0x80, "nik", OFF(nik), F_NIK },
	{ 0x81, "name", OFF(name), F_TEXT },
	{ 0x82, "birth_place", OFF(birth_place), F_TEXT },
	{ 0x83, "birth_date", OFF(birth_date), F_DATE },
	{ 0x84, "gender", OFF(gender), F_TEXT },
	{ 0x85, "blood_type", OFF(blood_type), F_TEXT },
	{ 0x86, "address", OFF(address), F_TEXT },
	{ 0x87, "rt/rw", OFF(rt), F_RTRW },
	{ 0x88, "village", OFF(village), F_TEXT },
	{ 0x89, "kecamatan", OFF(kecamatan), F_TEXT },
	{ 0x8A, "religion", OFF(religion), F_TEXT },
	{ 0x8B, "marital_status", OFF(marital_status), F_TEXT },
	{ 0x8C, "occupation", OFF(occupation), F_TEXT },
	{ 0x8D, "citizenship", OFF(citizenship), F_TEXT },
	{ 0x8E, "valid_until", OFF(valid_until), F_VALID },
	{ 0x8F, "issuing_regency", OFF(issuing_regency), F_TEXT },
	{ 0x90, "issue_date", OFF(issue_date), F_DATE },
};
#undef OFF
#define LIFELONG "SEUMUR HIDUP"

static const char **
field_slot(const ChipDemographics *d, size_t offset)
{
	return (const char **)(uintptr_t)((const char *)d + offset);
}

static gboolean
is_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isdigit(s[i]))
			return FALSE;
	return s[n] == '\0';
}

/* "YYYY-MM-DD" of a real date into OUT "YYYYMMDD".  TRUE when it is one. */
static gboolean
date_pack(const char *s, char out[9])
{
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return FALSE;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !g_ascii_isdigit(s[i]))
			return FALSE;
	int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
	if (!g_date_valid_dmy((GDateDay)d, (GDateMonth)m, (GDateYear)y))
		return FALSE;
	memcpy(out, s, 4);
	memcpy(out + 4, s + 5, 2);
	memcpy(out + 6, s + 8, 2);
	out[8] = '\0';
	return TRUE;
}

static int
bad_field(GError **error, const char *name, const char *why)
{
	g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_INPUT, "demographics: %s %s", name, why);
	return -1;
}

static int
text_check(const char *v, const char *name, GError **error)
{
	if (!v || !*v)
		return bad_field(error, name, "is missing");
	if (!g_utf8_validate(v, -1, NULL))
		return bad_field(error, name, "is not valid UTF-8");
	if (strlen(v) > CHIPDATA_FIELD_MAX) {
		g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_INPUT,
			    "demographics: %s is %zu bytes; at most %d fit a DG1 field", name,
			    strlen(v), CHIPDATA_FIELD_MAX);
		return -1;
	}
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20)
			return bad_field(error, name, "holds a control character");
	return 0;
}

static GBytes *
dg1_make(const ChipDemographics *d, GError **error)
{
	GByteArray *in = g_byte_array_new();
	for (size_t i = 0; i < G_N_ELEMENTS(fields); i++) {
		const Field *f = &fields[i];
		const char *v = *field_slot(d, f->offset);
		char date[9];
		if (f->kind == F_RTRW) {
			const char *rw = *field_slot(d, f->offset + sizeof(char *));
			if (text_check(v, "rt", error) < 0 || text_check(rw, "rw", error) < 0)
				goto fail;
			if (strchr(v, '/') || strchr(rw, '/')) {
				bad_field(error, "rt/rw", "holds a '/'");
				goto fail;
			}
			g_autofree char *both = g_strconcat(v, "/", rw, NULL);
			put_tlv(in, f->tag, both, strlen(both));
			continue;
		}
		if (text_check(v, f->name, error) < 0)
			goto fail;
		switch (f->kind) {
		case F_NIK:
			if (!is_digits(v, 16)) {
				bad_field(error, f->name, "is not 16 digits");
				goto fail;
			}
			break;
		case F_DATE:
		case F_VALID:
			if (f->kind == F_VALID && strcmp(v, LIFELONG) == 0)
				break;
			if (!date_pack(v, date)) {
				bad_field(error, f->name,
					  f->kind == F_VALID ? "is neither \"" LIFELONG
							       "\" nor a date YYYY-MM-DD"
							     : "is not a date YYYY-MM-DD");
				goto fail;
			}
			v = date;
			break;
		default:
			break;
		}
		put_tlv(in, f->tag, v, strlen(v));
	}
	return file_wrap(files[CHIPDATA_DG1].tag, in);
fail:
	g_byte_array_unref(in);
	return NULL;
}

/* ---- DG2, DG3, DG7 ---- */

/* The biometric header template, ICAO header version 1.1. */
static void
put_bht(GByteArray *b, guint type, int subtype, guint format)
{
	GByteArray *h = g_byte_array_new();
	put_u16(h, TAG_BHT_VERSION, 0x0101);
	put_u8(h, TAG_BHT_TYPE, type);
	if (subtype >= 0)
		put_u8(h, TAG_BHT_SUBTYPE, (guint)subtype);
	put_u16(h, TAG_BHT_OWNER, FORMAT_OWNER_SC37);
	put_u16(h, TAG_BHT_FORMAT, format);
	put_wrapped(b, TAG_BHT, h);
}

static int
gender_code(const char *g)
{
	if (g && strcmp(g, "LAKI-LAKI") == 0)
		return 1;
	if (g && strcmp(g, "PEREMPUAN") == 0)
		return 2;
	return 0;
}

static void
put_be(GByteArray *b, guint v, int n)
{
	uint8_t x[4];
	for (int i = 0; i < n; i++)
		x[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	g_byte_array_append(b, x, (guint)n);
}

static GBytes *
dg2_make(GBytes *jpeg, int width, int height, int channels, int gender)
{
	gsize jlen = 0;
	const uint8_t *j = g_bytes_get_data(jpeg, &jlen);
	GByteArray *rec = g_byte_array_sized_new((guint)(jlen + FACE_RECORD_OVERHEAD));
	/* Facial record header. */
	g_byte_array_append(rec, face_magic, sizeof face_magic);
	put_be(rec, (guint)(FACE_RECORD_OVERHEAD + jlen), 4);
	put_be(rec, 1, 2); /* one facial image */
	/* Facial information: block length, no feature points, gender, then
	 * eye colour, hair colour, feature mask (3), expression (2), pose angle
	 * (3) and its uncertainty (3), all unspecified. */
	put_be(rec, (guint)(FACE_INFO_LEN + FACE_IMAGE_INFO_LEN + jlen), 4);
	put_be(rec, 0, 2);
	put_be(rec, (guint)gender, 1);
	static const uint8_t unspecified[13] = { 0 };
	g_byte_array_append(rec, unspecified, sizeof unspecified);
	/* Image information: full frontal, JPEG, size, colour space (1 RGB 24-bit,
	 * 3 grey 8-bit), source "static photo, digital still camera", device
	 * type and quality unspecified. */
	put_be(rec, 1, 1);
	put_be(rec, 0, 1);
	put_be(rec, (guint)width, 2);
	put_be(rec, (guint)height, 2);
	put_be(rec, channels == 3 ? 1 : 3, 1);
	put_be(rec, 2, 1);
	put_be(rec, 0, 2);
	put_be(rec, 0, 2);
	g_assert(rec->len == FACE_RECORD_OVERHEAD);
	g_byte_array_append(rec, j, (guint)jlen);

	GByteArray *bit = g_byte_array_new();
	put_bht(bit, BIO_TYPE_FACE, -1, FORMAT_FACE_IMAGE);
	put_wrapped(bit, TAG_BDB, rec);
	GByteArray *group = g_byte_array_new();
	put_u8(group, TAG_COUNT, 1);
	put_wrapped(group, TAG_BIT, bit);
	GByteArray *in = g_byte_array_new();
	put_wrapped(in, TAG_BIT_GROUP, group);
	return file_wrap(files[CHIPDATA_DG2].tag, in);
}

/* CBEFF finger subtype (ISO/IEC 19785-1): bit 0 right, bit 1 left; bits 2-4 the finger. */
static int
finger_subtype(int position)
{
	int side = position <= 5 ? 0x01 : 0x02;
	int finger = position <= 5 ? position : position - 5; /* 1 thumb .. 5 little */
	return side | finger << 2;
}

/* The ISO finger position of SUBTYPE, or 0 when it names none. */
static int
finger_position(int subtype)
{
	int side = subtype & 0x03, finger = subtype >> 2;
	if ((side != 0x01 && side != 0x02) || finger < 1 || finger > 5)
		return 0;
	return side == 0x01 ? finger : finger + 5;
}

static const char *
position_name(int p)
{
	static const char *const names[] = { "unknown",      "right thumb", "right index",
					     "right middle", "right ring",  "right little",
					     "left thumb",   "left index",  "left middle",
					     "left ring",    "left little" };
	return p >= 0 && p <= 10 ? names[p] : "invalid";
}

static GBytes *
dg3_make(const ChipFinger finger[2], GError **error)
{
	for (int i = 0; i < 2; i++) {
		const ChipFinger *f = &finger[i];
		if (f->position < 1 || f->position > 10) {
			g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_INPUT,
				    "finger %d: position %d is not an ISO finger position (1..10)",
				    i + 1, f->position);
			return NULL;
		}
		if (i == 1 && f->position == finger[0].position) {
			g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_INPUT,
				    "both fingers are the %s (position %d); the chip holds two "
				    "different fingers",
				    position_name(f->position), f->position);
			return NULL;
		}
		if (!f->tmpl || f->len < 4 || memcmp(f->tmpl, "FMR\0", 4) != 0 ||
		    f->len > MAX_TEMPLATE) {
			g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_INPUT,
				    "finger %d (%s): the template is not an ISO/IEC 19794-2 record "
				    "(\"FMR\\0\", at most %d bytes)",
				    i + 1, position_name(f->position), MAX_TEMPLATE);
			return NULL;
		}
	}
	GByteArray *group = g_byte_array_new();
	put_u8(group, TAG_COUNT, 2);
	for (int i = 0; i < 2; i++) {
		GByteArray *bit = g_byte_array_new();
		put_bht(bit, BIO_TYPE_FINGER, finger_subtype(finger[i].position),
			FORMAT_FINGER_MINUTIAE);
		put_tlv(bit, TAG_BDB, finger[i].tmpl, finger[i].len);
		put_wrapped(group, TAG_BIT, bit);
	}
	GByteArray *in = g_byte_array_new();
	put_wrapped(in, TAG_BIT_GROUP, group);
	return file_wrap(files[CHIPDATA_DG3].tag, in);
}

static GBytes *
dg7_make(GBytes *jpeg)
{
	GByteArray *in = g_byte_array_new();
	put_u8(in, TAG_COUNT, 1);
	gsize n = 0;
	const void *p = g_bytes_get_data(jpeg, &n);
	put_tlv(in, TAG_SIGNATURE_IMAGE, p, n);
	return file_wrap(files[CHIPDATA_DG7].tag, in);
}

/* ---- EF.SOD ---- */

static GBytes *
sod_make(GBytes *const file[CHIPDATA_N_FILES], const CryptoSigner *signer, GError **error)
{
	CryptoDgHash h[N_GROUPS];
	for (size_t i = 0; i < N_GROUPS; i++) {
		gsize n = 0;
		const void *p = g_bytes_get_data(file[groups[i]], &n);
		h[i].dg = files[groups[i]].dg;
		crypto_sha256(p, n, h[i].hash);
	}
	GError *e = NULL;
	g_autoptr(GBytes) lds = crypto_lds_encode(h, N_GROUPS, &e);
	gsize n = 0;
	const void *p = lds ? g_bytes_get_data(lds, &n) : NULL;
	g_autoptr(GBytes) cms =
		lds ? crypto_cms_sign(signer, CRYPTO_OID_LDS_SECURITY_OBJECT, p, n, &e) : NULL;
	if (!cms) {
		g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_SIGN,
			    "cannot sign the security object: %s", e->message);
		g_error_free(e);
		return NULL;
	}
	GByteArray *in = g_byte_array_new();
	p = g_bytes_get_data(cms, &n);
	g_byte_array_append(in, p, (guint)n);
	return file_wrap(files[CHIPDATA_SOD].tag, in);
}

/* ---- building ---- */

static size_t
total_of(GBytes *const file[CHIPDATA_N_FILES])
{
	size_t t = 0;
	for (int i = 0; i < CHIPDATA_N_FILES; i++)
		t += file[i] ? g_bytes_get_size(file[i]) : 0;
	return t;
}

static int
image_check(const Image *img, const char *what, gboolean grey_only, int min_w, int min_h,
	    GError **error)
{
	if (!img || !img->pixels || (img->channels != 1 && img->channels != 3) ||
	    (grey_only && img->channels != 1)) {
		g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_INPUT,
			    "the %s is missing or not %s", what,
			    grey_only ? "an 8-bit grey image" : "an 8-bit RGB or grey image");
		return -1;
	}
	if (img->width < min_w || img->height < min_h) {
		g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_INPUT,
			    "the %s is %dx%d pixels; it must be at least %dx%d", what, img->width,
			    img->height, min_w, min_h);
		return -1;
	}
	return 0;
}

/* SRC scaled to WIDTH (never enlarged), aspect kept, encoded at QUALITY; NULL with ERROR. */
static GBytes *
scaled_jpeg(const Image *src, int width, int quality, Image *scaled, GError **error)
{
	if (width > src->width)
		width = src->width;
	int height = (int)((double)src->height * width / src->width + 0.5);
	if (height < 1)
		height = 1;
	if (!scaled->pixels || scaled->width != width) {
		image_clear(scaled);
		if (image_scale(src, width, height, scaled, error) < 0)
			return NULL;
	}
	return image_jpeg_encode(scaled, quality, error);
}

static int
image_failed(GError **error, GError *e, const char *what)
{
	g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_INPUT, "the %s cannot be encoded: %s",
		    what, e->message);
	g_error_free(e);
	return -1;
}

/* One rung of the portrait ladder. */
typedef struct {
	int width, quality;
} Rung;

/* Appends the rung WIDTH (at most SRC_WIDTH: never enlarged), QUALITY unless already there. */
static void
ladder_add(GArray *l, int width, int quality, int src_width)
{
	Rung r = { MIN(width, src_width), quality };
	for (guint k = 0; k < l->len; k++) {
		const Rung *o = &g_array_index(l, Rung, k);
		if (o->width == r.width && o->quality == r.quality)
			return;
	}
	g_array_append_val(l, r);
}

static GArray *
ladder_make(int src_width)
{
	GArray *l = g_array_new(FALSE, FALSE, sizeof(Rung));
	for (size_t w = 0; w < G_N_ELEMENTS(ladder_widths); w++)
		for (size_t q = 0; q < G_N_ELEMENTS(ladder_qualities); q++)
			ladder_add(l, ladder_widths[w], ladder_qualities[q], src_width);
	int smallest = ladder_widths[G_N_ELEMENTS(ladder_widths) - 1];
	for (size_t q = 0; q < G_N_ELEMENTS(ladder_last_qualities); q++)
		ladder_add(l, smallest, ladder_last_qualities[q], src_width);
	return l;
}

int
chipdata_build(const ChipInput *in, const CryptoSigner *signer, size_t capacity, ChipData *out,
	       GError **error)
{
	g_return_val_if_fail(in && signer && out, -1);
	memset(out, 0, sizeof *out);
	GBytes *file[CHIPDATA_N_FILES] = { NULL };
	Image sig_small = { 0 }, face_small = { 0 };
	GBytes *sig_jpeg = NULL;
	GArray *ladder = NULL;
	GError *e = NULL;
	int ret = -1;

	if (image_check(in->portrait, "portrait", FALSE, PORTRAIT_MIN_SIDE, PORTRAIT_MIN_SIDE,
			error) < 0 ||
	    image_check(in->signature, "signature", TRUE, SIGNATURE_MIN_WIDTH, SIGNATURE_MIN_HEIGHT,
			error) < 0 ||
	    !(file[CHIPDATA_DG1] = dg1_make(&in->demo, error)) ||
	    !(file[CHIPDATA_DG3] = dg3_make(in->finger, error)))
		goto out;
	if (!(sig_jpeg = scaled_jpeg(in->signature, SIGNATURE_WIDTH, SIGNATURE_QUALITY, &sig_small,
				     &e))) {
		image_failed(error, e, "signature");
		goto out;
	}
	file[CHIPDATA_DG7] = dg7_make(sig_jpeg);
	file[CHIPDATA_COM] = com_make();

	/* The SOD's size, from one signed over a dummy portrait. */
	file[CHIPDATA_DG2] = g_bytes_new_static("", 0);
	GBytes *sod = sod_make(file, signer, error);
	if (!sod)
		goto out;
	size_t sod_guess = g_bytes_get_size(sod);
	g_bytes_unref(sod);
	g_clear_pointer(&file[CHIPDATA_DG2], g_bytes_unref);
	size_t fixed = total_of(file) + sod_guess, need = 0;

	ladder = ladder_make(in->portrait->width);
	int gender = gender_code(in->demo.gender);
	for (guint k = 0; k < ladder->len; k++) {
		const Rung *r = &g_array_index(ladder, Rung, k);
		g_autoptr(GBytes) jpeg =
			scaled_jpeg(in->portrait, r->width, r->quality, &face_small, &e);
		if (!jpeg) {
			image_failed(error, e, "portrait");
			goto out;
		}
		GBytes *dg2 = dg2_make(jpeg, face_small.width, face_small.height,
				       face_small.channels, gender);
		need = fixed + g_bytes_get_size(dg2);
		if (need > capacity + SOD_SLACK) {
			g_bytes_unref(dg2);
			continue;
		}
		file[CHIPDATA_DG2] = dg2;
		if (!(file[CHIPDATA_SOD] = sod_make(file, signer, error)))
			goto out;
		need = total_of(file);
		if (need <= capacity) {
			out->portrait_width = face_small.width;
			out->portrait_height = face_small.height;
			out->portrait_quality = r->quality;
			break;
		}
		g_clear_pointer(&file[CHIPDATA_DG2], g_bytes_unref);
		g_clear_pointer(&file[CHIPDATA_SOD], g_bytes_unref);
	}
	if (!file[CHIPDATA_SOD]) {
		g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_CAPACITY,
			    "the chip image needs %zu bytes even with the smallest portrait "
			    "(%dx%d at quality %d), %zu more than the chip's %zu",
			    need, face_small.width, face_small.height,
			    g_array_index(ladder, Rung, ladder->len - 1).quality, need - capacity,
			    capacity);
		goto out;
	}

	for (int i = 0; i < CHIPDATA_N_FILES; i++)
		out->file[i] = g_steal_pointer(&file[i]);
	out->total = need;
	out->capacity = capacity;
	out->signature_width = sig_small.width;
	out->signature_height = sig_small.height;
	out->signature_quality = SIGNATURE_QUALITY;
	out->test_signer = crypto_signer_is_test(signer);
	ret = 0;
out:
	for (int i = 0; i < CHIPDATA_N_FILES; i++)
		if (file[i])
			g_bytes_unref(file[i]);
	if (ladder)
		g_array_unref(ladder);
	if (sig_jpeg)
		g_bytes_unref(sig_jpeg);
	image_clear(&sig_small);
	image_clear(&face_small);
	return ret;
}

void
chipdata_clear(ChipData *chip)
{
	if (!chip)
		return;
	for (int i = 0; i < CHIPDATA_N_FILES; i++)
		if (chip->file[i])
			g_bytes_unref(chip->file[i]);
	memset(chip, 0, sizeof *chip);
}

/* ---- verifying ---- */

static const char *
file_label(ChipFileIndex i, char buf[64])
{
	if (files[i].dg)
		g_snprintf(buf, 64, "%s (%s)", files[i].name, files[i].what);
	else
		g_strlcpy(buf, files[i].name, 64);
	return buf;
}

/* The CMS inside EF.SOD (tag 77), as a pointer into SOD.  0 or -1. */
static int
sod_cms(GBytes *sod, const uint8_t **der, size_t *len)
{
	gsize n = 0;
	const uint8_t *p = g_bytes_get_data(sod, &n);
	Tlv t;
	if (tlv_whole(p, n, files[CHIPDATA_SOD].tag, &t) < 0)
		return -1;
	*der = t.v;
	*len = t.len;
	return 0;
}

int
chipdata_verify(const ChipData *chip, const char *ca_pem, size_t ca_len, char **signer,
		GError **error)
{
	g_return_val_if_fail(chip && (ca_pem || ca_len == 0), -1);
	if (signer)
		*signer = NULL;
	char label[64];
	for (int i = 0; i < CHIPDATA_N_FILES; i++)
		if (!chip->file[i]) {
			g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_FORMAT, "%s is missing",
				    file_label(i, label));
			return -1;
		}

	const uint8_t *der = NULL;
	size_t der_len = 0;
	if (sod_cms(chip->file[CHIPDATA_SOD], &der, &der_len) < 0) {
		g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_FORMAT,
			    "EF.SOD is not a security object: no tag 77 around the whole file");
		return -1;
	}
	GError *e = NULL;
	g_autofree char *who = NULL;
	g_autoptr(GBytes) lds = crypto_cms_verify(der, der_len, CRYPTO_OID_LDS_SECURITY_OBJECT,
						  ca_pem, ca_len, &who, &e);
	if (!lds) {
		gboolean form = e->code == CRYPTO_ERROR_FORMAT;
		g_set_error(error, CHIPDATA_ERROR,
			    form ? CHIPDATA_ERROR_FORMAT : CHIPDATA_ERROR_SIGNATURE,
			    "EF.SOD %s: %s", form ? "is not a security object" : "is not authentic",
			    e->message);
		g_error_free(e);
		return -1;
	}
	size_t n = 0;
	gsize lds_len = 0;
	const void *lds_p = g_bytes_get_data(lds, &lds_len);
	g_autofree CryptoDgHash *h = crypto_lds_decode(lds_p, lds_len, &n, &e);
	if (!h) {
		g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_FORMAT, "EF.SOD: %s", e->message);
		g_error_free(e);
		return -1;
	}
	for (size_t k = 0; k < n; k++) {
		gboolean ours = FALSE;
		for (size_t i = 0; i < N_GROUPS; i++)
			ours |= files[groups[i]].dg == h[k].dg;
		if (!ours) {
			g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_FORMAT,
				    "EF.SOD lists DG%d, which an e-KTP chip does not hold",
				    h[k].dg);
			return -1;
		}
	}
	for (size_t i = 0; i < N_GROUPS; i++) {
		ChipFileIndex fi = groups[i];
		const CryptoDgHash *want = NULL;
		for (size_t k = 0; k < n && !want; k++)
			if (h[k].dg == files[fi].dg)
				want = &h[k];
		if (!want) {
			g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_ALTERED,
				    "%s is not covered by EF.SOD, which does not list it",
				    file_label(fi, label));
			return -1;
		}
		gsize len = 0;
		const void *p = g_bytes_get_data(chip->file[fi], &len);
		uint8_t md[CRYPTO_SHA256_LEN];
		crypto_sha256(p, len, md);
		if (!crypto_equal(md, want->hash, sizeof md)) {
			g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_ALTERED,
				    "%s was altered: its SHA-256 does not match the one EF.SOD "
				    "signs",
				    file_label(fi, label));
			return -1;
		}
	}
	g_autoptr(GBytes) com = com_make();
	if (!g_bytes_equal(com, chip->file[CHIPDATA_COM])) {
		g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_ALTERED,
			    "EF.COM was altered: it is not the index of the data groups EF.SOD "
			    "signs");
		return -1;
	}
	if (signer)
		*signer = g_steal_pointer(&who);
	return 0;
}

/* ---- chip directories ---- */

GBytes *
chipdata_dir_file(const ChipData *chip, ChipFileIndex i)
{
	if (!chip->file[i])
		return NULL;
	if (i != CHIPDATA_SOD)
		return g_bytes_ref(chip->file[i]);
	const uint8_t *der;
	size_t len;
	if (sod_cms(chip->file[i], &der, &len) < 0)
		return NULL;
	return g_bytes_new_from_bytes(chip->file[i], (gsize)(der - (const uint8_t *)
							   g_bytes_get_data(chip->file[i], NULL)),
				      len);
}

void
chipdata_set_dir_file(ChipData *chip, ChipFileIndex i, GBytes *bytes)
{
	if (chip->file[i])
		g_bytes_unref(chip->file[i]);
	if (i == CHIPDATA_SOD) {
		gsize n = 0;
		const void *p = g_bytes_get_data(bytes, &n);
		GByteArray *in = g_byte_array_sized_new((guint)n);
		g_byte_array_append(in, p, (guint)n);
		chip->file[i] = file_wrap(files[i].tag, in);
		g_bytes_unref(bytes);
	} else {
		chip->file[i] = bytes;
	}
	chip->total = total_of(chip->file);
}

int
chipdata_write_dir(const ChipData *chip, const char *dir, GError **error)
{
	g_return_val_if_fail(chip && dir, -1);
	if (g_mkdir_with_parents(dir, 0700) < 0) {
		int err = errno;
		g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_IO, "chip directory %s: %s", dir,
			    g_strerror(err));
		return -1;
	}
	for (int i = 0; i < CHIPDATA_N_FILES; i++) {
		g_autofree char *path = g_build_filename(dir, files[i].file, NULL);
		if (!chip->file[i]) {
			g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_IO,
				    "%s: the chip image has no %s", path, files[i].name);
			return -1;
		}
		g_autoptr(GBytes) bytes = chipdata_dir_file(chip, i);
		if (!bytes) {
			g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_IO,
				    "%s: EF.SOD has no tag 77 around it", path);
			return -1;
		}
		gsize len = 0;
		const uint8_t *p = g_bytes_get_data(bytes, &len);
		GError *e = NULL;
		if (!g_file_set_contents_full(path, (const char *)p, (gssize)len,
					      G_FILE_SET_CONTENTS_CONSISTENT, 0600, &e)) {
			g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_IO, "%s", e->message);
			g_error_free(e);
			return -1;
		}
	}
	return 0;
}

int
chipdata_read_dir(const char *dir, ChipData *out, GError **error)
{
	g_return_val_if_fail(dir && out, -1);
	memset(out, 0, sizeof *out);
	for (int i = 0; i < CHIPDATA_N_FILES; i++) {
		g_autofree char *path = g_build_filename(dir, files[i].file, NULL);
		GStatBuf st;
		if (g_stat(path, &st) < 0) {
			int err = errno;
			g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_IO, "%s (%s): %s", path,
				    files[i].name, g_strerror(err));
			goto fail;
		}
		if (!S_ISREG(st.st_mode) || st.st_size > READ_MAX) {
			g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_IO,
				    "%s (%s) is not a regular file of at most %d bytes", path,
				    files[i].name, READ_MAX);
			goto fail;
		}
		char *text = NULL;
		gsize n = 0;
		GError *e = NULL;
		if (!g_file_get_contents(path, &text, &n, &e)) {
			g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_IO, "%s", e->message);
			g_error_free(e);
			goto fail;
		}
		if (n > READ_MAX) {
			g_free(text);
			g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_IO,
				    "%s (%s) grew past %d bytes", path, files[i].name, READ_MAX);
			goto fail;
		}
		chipdata_set_dir_file(out, i, g_bytes_new_take(text, n));
	}
	return 0;
fail:
	chipdata_clear(out);
	return -1;
}

/* ---- parsing ---- */

static int
bad_file(GError **error, ChipFileIndex i, const char *why)
{
	char label[64];
	g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_FORMAT, "%s is not one we make: %s",
		    file_label(i, label), why);
	return -1;
}

static int
dg1_parse(GBytes *dg1, ChipContents *c, GError **error)
{
	gsize n = 0;
	const uint8_t *p = g_bytes_get_data(dg1, &n);
	Tlv whole, t;
	if (tlv_whole(p, n, files[CHIPDATA_DG1].tag, &whole) < 0)
		return bad_file(error, CHIPDATA_DG1, "no tag 61 around the whole file");
	Reader r = reader_of(&whole);
	for (size_t i = 0; i < G_N_ELEMENTS(fields); i++) {
		const Field *f = &fields[i];
		if (tlv_expect(&r, f->tag, &t) < 0)
			return bad_file(error, CHIPDATA_DG1, "a field is missing or out of order");
		g_autofree char *v = g_strndup((const char *)t.v, t.len);
		if (strlen(v) != t.len || !g_utf8_validate(v, -1, NULL))
			return bad_file(error, CHIPDATA_DG1, "a field is not UTF-8 text");
		if (f->kind == F_RTRW) {
			char *slash = strchr(v, '/');
			if (!slash)
				return bad_file(error, CHIPDATA_DG1, "RT/RW has no '/'");
			*slash = '\0';
			*field_slot(&c->demo, f->offset) = g_string_chunk_insert(c->strings, v);
			*field_slot(&c->demo, f->offset + sizeof(char *)) =
				g_string_chunk_insert(c->strings, slash + 1);
			continue;
		}
		if ((f->kind == F_DATE || (f->kind == F_VALID && strcmp(v, LIFELONG) != 0))) {
			if (!is_digits(v, 8))
				return bad_file(error, CHIPDATA_DG1, "a date is not YYYYMMDD");
			g_autofree char *iso = g_strdup_printf("%.4s-%.2s-%.2s", v, v + 4, v + 6);
			*field_slot(&c->demo, f->offset) = g_string_chunk_insert(c->strings, iso);
			continue;
		}
		*field_slot(&c->demo, f->offset) = g_string_chunk_insert(c->strings, v);
	}
	if (!reader_done(&r))
		return bad_file(error, CHIPDATA_DG1, "bytes follow the last field");
	return 0;
}

/*
 * Reads one biometric information template from R: its header's type,
 * subtype (-1 when absent) and format, and the data block.  0 or -1.
 */
static int
bit_parse(Reader *r, guint *type, int *subtype, guint *format, Tlv *bdb)
{
	Tlv bit, bht, t;
	if (tlv_expect(r, TAG_BIT, &bit) < 0)
		return -1;
	Reader rb = reader_of(&bit);
	if (tlv_expect(&rb, TAG_BHT, &bht) < 0 || tlv_expect(&rb, TAG_BDB, bdb) < 0 ||
	    !reader_done(&rb))
		return -1;
	Reader rh = reader_of(&bht);
	if (tlv_expect(&rh, TAG_BHT_VERSION, &t) < 0 || t.len != 2 ||
	    tlv_expect(&rh, TAG_BHT_TYPE, &t) < 0 || t.len != 1)
		return -1;
	*type = t.v[0];
	*subtype = -1;
	if (tlv_next(&rh, &t) < 0)
		return -1;
	if (t.tag == TAG_BHT_SUBTYPE) {
		if (t.len != 1)
			return -1;
		*subtype = t.v[0];
		if (tlv_next(&rh, &t) < 0)
			return -1;
	}
	if (t.tag != TAG_BHT_OWNER || t.len != 2 || be(t.v, 2) != FORMAT_OWNER_SC37 ||
	    tlv_expect(&rh, TAG_BHT_FORMAT, &t) < 0 || t.len != 2 || !reader_done(&rh))
		return -1;
	*format = be(t.v, 2);
	return 0;
}

/* The group template inside FILE (of tag TAG) and its count.  0 or -1. */
static int
group_open(GBytes *file, guint tag, Reader *group, guint *count)
{
	gsize n = 0;
	const uint8_t *p = g_bytes_get_data(file, &n);
	Tlv whole, g, t;
	if (tlv_whole(p, n, tag, &whole) < 0)
		return -1;
	Reader r = reader_of(&whole);
	if (tlv_expect(&r, TAG_BIT_GROUP, &g) < 0 || !reader_done(&r))
		return -1;
	*group = reader_of(&g);
	if (tlv_expect(group, TAG_COUNT, &t) < 0 || t.len != 1)
		return -1;
	*count = t.v[0];
	return 0;
}

/* A new GBytes holding the bytes of T, sharing FILE's memory. */
static GBytes *
slice(GBytes *file, const Tlv *t)
{
	const uint8_t *base = g_bytes_get_data(file, NULL);
	return g_bytes_new_from_bytes(file, (gsize)(t->v - base), t->len);
}

static int
dg2_parse(GBytes *dg2, ChipContents *c, GError **error)
{
	Reader group;
	guint count = 0, type = 0, format = 0;
	int subtype;
	Tlv bdb;
	if (group_open(dg2, files[CHIPDATA_DG2].tag, &group, &count) < 0 || count != 1 ||
	    bit_parse(&group, &type, &subtype, &format, &bdb) < 0 || !reader_done(&group) ||
	    type != BIO_TYPE_FACE || format != FORMAT_FACE_IMAGE)
		return bad_file(error, CHIPDATA_DG2, "not one face image template");
	const uint8_t *f = bdb.v;
	if (bdb.len < FACE_RECORD_OVERHEAD || memcmp(f, face_magic, sizeof face_magic) != 0 ||
	    be(f + 8, 4) != bdb.len || be(f + 12, 2) != 1 ||
	    be(f + FACE_HEADER_LEN, 4) != bdb.len - FACE_HEADER_LEN ||
	    be(f + FACE_HEADER_LEN + 4, 2) != 0 ||
	    f[FACE_HEADER_LEN + FACE_INFO_LEN + 1] != 0 /* JPEG */)
		return bad_file(error, CHIPDATA_DG2, "not an ISO/IEC 19794-5 record of one JPEG");
	c->gender = f[FACE_HEADER_LEN + 6];
	c->portrait_width = (int)be(f + FACE_HEADER_LEN + FACE_INFO_LEN + 2, 2);
	c->portrait_height = (int)be(f + FACE_HEADER_LEN + FACE_INFO_LEN + 4, 2);
	Tlv jpeg = { 0, bdb.v + FACE_RECORD_OVERHEAD, bdb.len - FACE_RECORD_OVERHEAD };
	c->portrait = slice(dg2, &jpeg);
	return 0;
}

static int
dg3_parse(GBytes *dg3, ChipContents *c, GError **error)
{
	Reader group;
	guint count = 0;
	if (group_open(dg3, files[CHIPDATA_DG3].tag, &group, &count) < 0 || count != 2)
		return bad_file(error, CHIPDATA_DG3, "not a group of two finger templates");
	for (int i = 0; i < 2; i++) {
		guint type = 0, format = 0;
		int subtype = -1;
		Tlv bdb;
		if (bit_parse(&group, &type, &subtype, &format, &bdb) < 0 ||
		    type != BIO_TYPE_FINGER || format != FORMAT_FINGER_MINUTIAE)
			return bad_file(error, CHIPDATA_DG3, "not a finger minutiae template");
		int pos = subtype >= 0 ? finger_position(subtype) : 0;
		if (pos == 0)
			return bad_file(error, CHIPDATA_DG3, "a template names no finger");
		c->finger_data[i] = slice(dg3, &bdb);
		c->finger[i].tmpl = g_bytes_get_data(c->finger_data[i], &c->finger[i].len);
		c->finger[i].position = pos;
	}
	if (!reader_done(&group))
		return bad_file(error, CHIPDATA_DG3, "bytes follow the second template");
	return 0;
}

static int
dg7_parse(GBytes *dg7, ChipContents *c, GError **error)
{
	gsize n = 0;
	const uint8_t *p = g_bytes_get_data(dg7, &n);
	Tlv whole, t, img;
	if (tlv_whole(p, n, files[CHIPDATA_DG7].tag, &whole) < 0)
		return bad_file(error, CHIPDATA_DG7, "no tag 67 around the whole file");
	Reader r = reader_of(&whole);
	if (tlv_expect(&r, TAG_COUNT, &t) < 0 || t.len != 1 || t.v[0] != 1 ||
	    tlv_expect(&r, TAG_SIGNATURE_IMAGE, &img) < 0 || !reader_done(&r))
		return bad_file(error, CHIPDATA_DG7, "not one signature image");
	c->signature = slice(dg7, &img);
	return 0;
}

int
chipdata_parse(const ChipData *chip, ChipContents *out, GError **error)
{
	g_return_val_if_fail(chip && out, -1);
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < N_GROUPS; i++)
		if (!chip->file[groups[i]]) {
			char label[64];
			g_set_error(error, CHIPDATA_ERROR, CHIPDATA_ERROR_FORMAT, "%s is missing",
				    file_label(groups[i], label));
			return -1;
		}
	out->strings = g_string_chunk_new(256);
	if (dg1_parse(chip->file[CHIPDATA_DG1], out, error) < 0 ||
	    dg2_parse(chip->file[CHIPDATA_DG2], out, error) < 0 ||
	    dg3_parse(chip->file[CHIPDATA_DG3], out, error) < 0 ||
	    dg7_parse(chip->file[CHIPDATA_DG7], out, error) < 0) {
		chipdata_contents_clear(out);
		return -1;
	}
	return 0;
}

void
chipdata_contents_clear(ChipContents *c)
{
	if (!c)
		return;
	if (c->portrait)
		g_bytes_unref(c->portrait);
	for (int i = 0; i < 2; i++)
		if (c->finger_data[i])
			g_bytes_unref(c->finger_data[i]);
	if (c->signature)
		g_bytes_unref(c->signature);
	if (c->strings)
		g_string_chunk_free(c->strings);
	memset(c, 0, sizeof *c);
}
