/* SPDX-License-Identifier: MIT */
/*
 * Enrollment validation: every rule a record's demographics must meet before
 * recording, written from docs/ektp-domain.md (cited by section below).  Each
 * rule has a stable keyword "field.reason"; clients key on it, so a keyword
 * is never renamed, only added.  The complete list:
 *
 * errors (reject):
 *   <field>.missing               any field below that is NULL or ""
 *   nik.length nik.digits         not 16 ASCII digits                      (1.2 rule 1)
 *   nik.province-unknown          digits 1-2 not a province in any edition (1.2 rule 2)
 *   nik.kecamatan-unknown         digits 1-6 not a kecamatan in any edition
 *   nik.day                       day part 00, 32-40 or above 71           (1.2 rule 4)
 *   nik.month                     month part not 01-12                     (1.2 rule 3)
 *   nik.date                      no such day in that month, e.g. 3102, or
 *                                 2902 in a year that is common in both
 *                                 candidate centuries                      (1.2 rule 6)
 *   nik.serial                    serial 0000                              (1.2 rule 5)
 *   kk.length kk.digits           not 16 ASCII digits                      (1.3)
 *   kk.region-unknown             digits 1-6 not a kecamatan in any edition (1.3)
 *   name.length                   more than 60 characters (Permendagri 73/2022)
 *   name.chars                    other than A-Z, space, ' . ,
 *   name.spacing                  leading, trailing or double spaces
 *   name.no-letter                no letter at all
 *   birth_place.length .chars .spacing .no-letter    (50; A-Z, space, ' . , -)
 *   birth_date.format             not YYYY-MM-DD
 *   birth_date.invalid            no such date (2001-02-29)
 *   birth_date.future             after the recording date
 *   birth_date.too-old            before 1900-01-01
 *   age.under-minimum             younger than min_age and never married   (2.5)
 *   gender.unknown                not LAKI-LAKI / PEREMPUAN                (2.3)
 *   blood_type.unknown            not one of the 13 SIAK codes or "-"      (2.3)
 *   religion.unknown              not a SIAK religion nor the Kepercayaan value (2.3)
 *   marital_status.unknown        not one of the 4 SIAK values             (2.3)
 *   occupation.unknown            not one of the 89 SIAK occupations       (2.3)
 *   address.length .chars .spacing                   (100; printable ASCII, no lower case)
 *   rt.format rw.format           not exactly 3 digits ("7" must be "007")
 *   rt.zero rw.zero               "000"
 *   village_code.format           not a 4-level code, dotted or 10 digits
 *   village_code.unknown          not a kelurahan/desa of the current edition
 *   village_code.out-of-area      outside the office's regency (unless allowed)
 *   citizenship.unknown           not WNI / WNA                            (2.3)
 *   nationality.missing           WNA without a nationality
 *   nationality.unexpected        WNI with a nationality other than INDONESIA
 *   nationality.length .chars .spacing .no-letter    (50; A-Z, space, ' . -)
 * warnings (a supervisor confirms; never a rejection):
 *   nik.birth-date-mismatch       the NIK's DDMMYY differs from the birth date (1.2)
 *   nik.gender-mismatch           the NIK's day (+40 for women) contradicts gender (1.2)
 *   kk.equals-nik                 the KK number is the NIK: almost surely a slip
 * notices (information):
 *   nik.kecamatan-retired         the NIK's kecamatan is only in older editions (1.2)
 *   kk.region-retired             the same for the KK number
 *   age.print-hold                under 17 and unmarried: not print-ready before the
 *                                 17th birthday (value: that date)          (2.5)
 *
 * Where the research note gives no figure, the limits are choices, said so at
 * their definitions.
 */
#include "core/validate.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK(ektp-nik-error-quark, nik_error)
G_DEFINE_QUARK(ektp-validate-error-quark, validate_error)

/*
 * Permendagri 73/2022 (Pencatatan Nama pada Dokumen Kependudukan), Pasal 4(2):
 * at most 60 letters including spaces.  Not in the research note; as reported
 * by tribunnews.com and katadata.co.id, 23 May 2022.
 */
#define NAME_MAX_CHARS 60
/* Choices, no source: the longest kab/kota or village name in wilayah.csv is 44. */
#define BIRTH_PLACE_MAX_CHARS 50
#define ADDRESS_MAX_CHARS 100
#define NATIONALITY_MAX_CHARS 50
/* Older than this is a typing slip, not a person. */
#define BIRTH_YEAR_MIN 1900

/* ---- the reference tables (ektp-domain.md section 2.3) ---- */

/* A value people commonly write for a canonical one: only used to suggest. */
typedef struct {
	const char *from;
	const char *to;
} Alias;

static const char *const genders[] = { "LAKI-LAKI", "PEREMPUAN", NULL };
static const Alias gender_aliases[] = {
	{ "LAKI LAKI", "LAKI-LAKI" }, { "PRIA", "LAKI-LAKI" }, { "L", "LAKI-LAKI" },
	{ "WANITA", "PEREMPUAN" },    { "P", "PEREMPUAN" },    { NULL, NULL },
};

/*
 * The 13 SIAK blood-type codes (OpenSID GolonganDarahEnum, as the note cites
 * it), plus "-", which a card shows for an unknown type.
 */
static const char *const blood_types[] = {
	"A",   "B",   "AB", "O",  "A+",         "A-", "B+", "B-",
	"AB+", "AB-", "O+", "O-", "TIDAK TAHU", "-",  NULL,
};
static const Alias blood_aliases[] = { { "0", "O" },
				       { "TIDAK TAU", "TIDAK TAHU" },
				       { NULL, NULL } };

/*
 * SIAK religion codes 1-6 in SIAK spelling (OpenSID AgamaEnum, as the note
 * cites it), and code 7: since MK decision 97/PUU-XIV/2016 penghayat
 * kepercayaan have the one value below instead of a religion.
 */
#define KEPERCAYAAN "KEPERCAYAAN TERHADAP TUHAN YME"
static const char *const religions[] = {
	"ISLAM", "KRISTEN", "KATHOLIK", "HINDU", "BUDHA", "KHONGHUCU", KEPERCAYAAN, NULL,
};
static const Alias religion_aliases[] = {
	{ "KATOLIK", "KATHOLIK" },
	{ "KRISTEN KATOLIK", "KATHOLIK" },
	{ "KRISTEN PROTESTAN", "KRISTEN" },
	{ "PROTESTAN", "KRISTEN" },
	{ "BUDDHA", "BUDHA" },
	{ "KONGHUCU", "KHONGHUCU" },
	{ "KONG HU CU", "KHONGHUCU" },
	{ "KHONG HU CU", "KHONGHUCU" },
	{ "KEPERCAYAAN", KEPERCAYAAN },
	{ "KEPERCAYAAN TERHADAP TUHAN YANG MAHA ESA", KEPERCAYAAN },
	{ NULL, NULL },
};

/* The 4 SIAK marital statuses; only the first means never married (section 2.5). */
#define NEVER_MARRIED "BELUM KAWIN"
static const char *const marital_statuses[] = {
	NEVER_MARRIED, "KAWIN", "CERAI HIDUP", "CERAI MATI", NULL,
};
static const Alias marital_aliases[] = {
	{ "BELUM MENIKAH", NEVER_MARRIED },
	{ "MENIKAH", "KAWIN" },
	{ NULL, NULL },
};

/*
 * The 89 SIAK occupations, in code order 1-89.  Source: the reference table
 * as OpenSID mirrors it (app/Enums/PekerjaanEnum.php; section 2.3 and 6 of
 * the note).  Only the values are taken: they are a government table.
 */
static const char *const occupations[] = {
	"BELUM/TIDAK BEKERJA",
	"MENGURUS RUMAH TANGGA",
	"PELAJAR/MAHASISWA",
	"PENSIUNAN",
	"APARATUR SIPIL NEGARA (ASN)",
	"TENTARA NASIONAL INDONESIA (TNI)",
	"KEPOLISIAN RI (POLRI)",
	"PERDAGANGAN",
	"PETANI/PEKEBUN",
	"PETERNAK", /* 10 */
	"NELAYAN/PERIKANAN",
	"INDUSTRI",
	"KONSTRUKSI",
	"TRANSPORTASI",
	"KARYAWAN SWASTA",
	"KARYAWAN BUMN",
	"KARYAWAN BUMD",
	"KARYAWAN HONORER",
	"BURUH HARIAN LEPAS",
	"BURUH TANI/PERKEBUNAN", /* 20 */
	"BURUH NELAYAN/PERIKANAN",
	"BURUH PETERNAKAN",
	"PEMBANTU RUMAH TANGGA",
	"TUKANG CUKUR",
	"TUKANG LISTRIK",
	"TUKANG BATU",
	"TUKANG KAYU",
	"TUKANG SOL SEPATU",
	"TUKANG LAS/PANDAI BESI",
	"TUKANG JAHIT", /* 30 */
	"TUKANG GIGI",
	"PENATA RIAS",
	"PENATA BUSANA",
	"PENATA RAMBUT",
	"MEKANIK",
	"SENIMAN",
	"TABIB",
	"PARAJI",
	"PERANCANG BUSANA",
	"PENTERJEMAH", /* 40 */
	"IMAM MASJID",
	"PENDETA",
	"PASTOR",
	"WARTAWAN",
	"USTADZ/MUBALIGH",
	"JURU MASAK",
	"PROMOTOR ACARA",
	"ANGGOTA DPR-RI",
	"ANGGOTA DPD",
	"ANGGOTA BPK", /* 50 */
	"PRESIDEN",
	"WAKIL PRESIDEN",
	"ANGGOTA MAHKAMAH KONSTITUSI",
	"ANGGOTA KABINET KEMENTERIAN",
	"DUTA BESAR",
	"GUBERNUR",
	"WAKIL GUBERNUR",
	"BUPATI",
	"WAKIL BUPATI",
	"WALIKOTA", /* 60 */
	"WAKIL WALIKOTA",
	"ANGGOTA DPRD PROVINSI",
	"ANGGOTA DPRD KABUPATEN/KOTA",
	"DOSEN",
	"GURU",
	"PILOT",
	"PENGACARA",
	"NOTARIS",
	"ARSITEK",
	"AKUNTAN", /* 70 */
	"KONSULTAN",
	"DOKTER",
	"BIDAN",
	"PERAWAT",
	"APOTEKER",
	"PSIKIATER/PSIKOLOG",
	"PENYIAR TELEVISI",
	"PENYIAR RADIO",
	"PELAUT",
	"PENELITI", /* 80 */
	"SOPIR",
	"PIALANG",
	"PARANORMAL",
	"PEDAGANG",
	"PERANGKAT DESA",
	"KEPALA DESA",
	"BIARAWATI",
	"WIRASWASTA",
	"LAINNYA", /* 89 */
	NULL,
};
G_STATIC_ASSERT(G_N_ELEMENTS(occupations) == 89 + 1);
static const Alias occupation_aliases[] = {
	/* Code 5's older name, still on many cards. */
	{ "PEGAWAI NEGERI SIPIL (PNS)", "APARATUR SIPIL NEGARA (ASN)" },
	{ "PEGAWAI NEGERI SIPIL", "APARATUR SIPIL NEGARA (ASN)" },
	{ "PNS", "APARATUR SIPIL NEGARA (ASN)" },
	{ "ASN", "APARATUR SIPIL NEGARA (ASN)" },
	{ "TNI", "TENTARA NASIONAL INDONESIA (TNI)" },
	{ "POLRI", "KEPOLISIAN RI (POLRI)" },
	{ "SUPIR", "SOPIR" },
	{ "BELUM BEKERJA", "BELUM/TIDAK BEKERJA" },
	{ "TIDAK BEKERJA", "BELUM/TIDAK BEKERJA" },
	{ "PELAJAR", "PELAJAR/MAHASISWA" },
	{ "MAHASISWA", "PELAJAR/MAHASISWA" },
	{ "PETANI", "PETANI/PEKEBUN" },
	{ "NELAYAN", "NELAYAN/PERIKANAN" },
	{ NULL, NULL },
};

static const char *const citizenships[] = { "WNI", "WNA", NULL };
static const Alias citizenship_aliases[] = { { "INDONESIA", "WNI" }, { NULL, NULL } };

/* ---- dates ---- */

typedef struct {
	int y, m, d;
} Ymd;

static gboolean
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

static gboolean
ymd_real(Ymd a)
{
	return a.y >= 1 && a.y <= 9999 && a.m >= 1 && a.m <= 12 && a.d >= 1 &&
	       a.d <= days_in_month(a.y, a.m);
}

static int
ymd_cmp(Ymd a, Ymd b)
{
	if (a.y != b.y)
		return a.y < b.y ? -1 : 1;
	if (a.m != b.m)
		return a.m < b.m ? -1 : 1;
	return a.d < b.d ? -1 : a.d > b.d;
}

static void
ymd_format(Ymd a, char out[11])
{
	g_snprintf(out, 11, "%04d-%02d-%02d", a.y, a.m, a.d);
}

typedef enum { DATE_OK, DATE_FORMAT, DATE_UNREAL } DateParse;

/* Strictly "YYYY-MM-DD": four, two and two ASCII digits. */
static DateParse
ymd_parse(const char *s, Ymd *out)
{
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return DATE_FORMAT;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !g_ascii_isdigit(s[i]))
			return DATE_FORMAT;
	out->y = atoi(s);
	out->m = atoi(s + 5);
	out->d = atoi(s + 8);
	return ymd_real(*out) ? DATE_OK : DATE_UNREAL;
}

static Ymd
ymd_today(void)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_local();
	Ymd t = { g_date_time_get_year(now), g_date_time_get_month(now),
		  g_date_time_get_day_of_month(now) };
	return t;
}

/*
 * BIRTH's YEARS-th anniversary.  Someone born on 29 Feb has it on 1 Mar in a
 * common year: only once 28 Feb is over has the full year passed.
 */
static Ymd
anniversary(Ymd birth, int years)
{
	Ymd a = { birth.y + years, birth.m, birth.d };
	if (a.m == 2 && a.d == 29 && !is_leap(a.y)) {
		a.m = 3;
		a.d = 1;
	}
	return a;
}

/* Whole years from BIRTH to ON (ON not before BIRTH). */
static int
age_on(Ymd birth, Ymd on)
{
	int years = on.y - birth.y;
	if (ymd_cmp(on, anniversary(birth, years)) < 0)
		years--;
	return years;
}

int
validate_age_on(const char *birth, const char *on)
{
	Ymd b, o;
	if (!birth || !on || ymd_parse(birth, &b) != DATE_OK || ymd_parse(on, &o) != DATE_OK ||
	    ymd_cmp(o, b) < 0)
		return -1;
	return age_on(b, o);
}

/* ---- the NIK's structure ---- */

typedef struct {
	guint bad;     /* bits 1 << NikError */
	int day_field; /* DD as written: +40 for women */
	int month;
	int yy;
	int serial;
} NikScan;

static int
two(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/*
 * Every structural fault of NIK at once.  Length and digits are checked
 * first; nothing else is looked at when they fail.
 */
static NikScan
nik_scan(const char *nik)
{
	NikScan s = { 0 };
	size_t n = nik ? strlen(nik) : 0;

	if (n != 16) {
		s.bad = 1u << NIK_ERROR_LENGTH;
		return s;
	}
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isdigit(nik[i])) {
			s.bad = 1u << NIK_ERROR_DIGITS;
			return s;
		}
	s.day_field = two(nik + 6);
	s.month = two(nik + 8);
	s.yy = two(nik + 10);
	s.serial = atoi(nik + 12);
	if (s.day_field == 0 || (s.day_field > 31 && s.day_field <= 40) || s.day_field > 71)
		s.bad |= 1u << NIK_ERROR_DAY;
	if (s.month < 1 || s.month > 12)
		s.bad |= 1u << NIK_ERROR_MONTH;
	if (!(s.bad & (1u << NIK_ERROR_DAY | 1u << NIK_ERROR_MONTH))) {
		/* A date is real if it is in either candidate century (29 Feb of "00"). */
		int d = s.day_field > 40 ? s.day_field - 40 : s.day_field;
		if (d > days_in_month(1900 + s.yy, s.month) &&
		    d > days_in_month(2000 + s.yy, s.month))
			s.bad |= 1u << NIK_ERROR_DATE;
	}
	if (s.serial == 0)
		s.bad |= 1u << NIK_ERROR_SERIAL;
	return s;
}

static gboolean
nik_date_ok(const NikScan *s)
{
	return !(s->bad & (1u << NIK_ERROR_LENGTH | 1u << NIK_ERROR_DIGITS | 1u << NIK_ERROR_DAY |
			   1u << NIK_ERROR_MONTH | 1u << NIK_ERROR_DATE));
}

/*
 * The century of a NIK date whose structure is sound.  With a stated birth
 * date (HINT), the reading nearest to it, so that a mismatch report compares
 * like with like.  Without one, the most recent reading not after REF
 * (section 1.2).  A reading that is a real date is always preferred.
 */
static int
nik_year(const NikScan *s, const Ymd *hint, Ymd ref)
{
	int d = s->day_field > 40 ? s->day_field - 40 : s->day_field;
	int best = -1;

	if (hint) {
		int base = hint->y / 100 * 100 + s->yy;
		for (int k = -1; k <= 1; k++) {
			Ymd c = { base + 100 * k, s->month, d };
			if (ymd_real(c) && (best < 0 || abs(c.y - hint->y) < abs(best - hint->y)))
				best = c.y;
		}
		if (best >= 0)
			return best;
	}
	int base = ref.y / 100 * 100 + s->yy;
	for (int k = 0; k < 3; k++) {
		Ymd c = { base - 100 * k, s->month, d };
		if (ymd_real(c) && ymd_cmp(c, ref) <= 0)
			return c.y;
	}
	for (int k = 0; k < 3; k++) {
		Ymd c = { base - 100 * k, s->month, d };
		if (ymd_real(c))
			return c.y;
	}
	return base;
}

static void
nik_fill(const char *nik, const NikScan *s, int year, NikInfo *out)
{
	memcpy(out->region, nik, 6);
	out->region[6] = '\0';
	out->female = s->day_field > 40;
	out->day = out->female ? s->day_field - 40 : s->day_field;
	out->month = s->month;
	out->yy = s->yy;
	out->year = year;
	out->serial = s->serial;
	ymd_format((Ymd){ year, out->month, out->day }, out->birth_date);
}

static const char *const nik_error_text[] = {
	[NIK_ERROR_LENGTH] = "a NIK is exactly 16 digits",
	[NIK_ERROR_DIGITS] = "a NIK has digits only",
	[NIK_ERROR_DAY] = "the NIK's day (digits 7-8) must be 01-31, or 41-71 for women",
	[NIK_ERROR_MONTH] = "the NIK's month (digits 9-10) must be 01-12",
	[NIK_ERROR_DATE] = "the NIK's digits 7-12 are not a real date",
	[NIK_ERROR_SERIAL] = "the NIK's serial (digits 13-16) starts at 0001",
};

int
nik_parse(const char *nik, const char *ref_date, NikInfo *out, GError **error)
{
	Ymd ref;
	NikScan s = nik_scan(nik);

	if (ref_date)
		g_return_val_if_fail(ymd_parse(ref_date, &ref) == DATE_OK, -1);
	else
		ref = ymd_today();
	for (int e = NIK_ERROR_LENGTH; e <= NIK_ERROR_SERIAL; e++)
		if (s.bad & (1u << e)) {
			g_set_error(error, NIK_ERROR, e, "%s: \"%s\"", nik_error_text[e],
				    nik ? nik : "");
			return -1;
		}
	nik_fill(nik, &s, nik_year(&s, NULL, ref), out);
	return 0;
}

/* ---- the report ---- */

static void
issue_free(gpointer p)
{
	ValidateIssue *i = p;
	g_free(i->message);
	g_free(i->value);
	g_free(i);
}

static void add(GPtrArray *list, const char *field, const char *rule, const char *value,
		const char *fmt, ...) G_GNUC_PRINTF(5, 6);

/* Appends an issue; VALUE (NULL when missing) and the message are kept as valid UTF-8. */
static void
add(GPtrArray *list, const char *field, const char *rule, const char *value, const char *fmt, ...)
{
	ValidateIssue *i = g_new0(ValidateIssue, 1);
	va_list ap;

	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	i->field = field;
	i->rule = rule;
	i->message = g_utf8_make_valid(msg, -1);
	i->value = value ? g_utf8_make_valid(value, -1) : NULL;
	g_ptr_array_add(list, i);
}

void
validate_report_free(ValidateReport *r)
{
	if (!r)
		return;
	g_ptr_array_unref(r->errors);
	g_ptr_array_unref(r->warnings);
	g_ptr_array_unref(r->notices);
	g_free(r);
}

const ValidateIssue *
validate_find(const GPtrArray *list, const char *rule)
{
	for (guint i = 0; i < list->len; i++) {
		const ValidateIssue *v = list->pdata[i];
		if (strcmp(v->rule, rule) == 0)
			return v;
	}
	return NULL;
}

const char *const *
validate_allowed(const char *field)
{
	static const struct {
		const char *field;
		const char *const *list;
	} lists[] = {
		{ "gender", genders },         { "blood_type", blood_types },
		{ "religion", religions },     { "marital_status", marital_statuses },
		{ "occupation", occupations }, { "citizenship", citizenships },
	};
	for (size_t i = 0; field && i < G_N_ELEMENTS(lists); i++)
		if (strcmp(field, lists[i].field) == 0)
			return lists[i].list;
	return NULL;
}

/* ---- field checks ---- */

typedef struct {
	ValidateReport *r;
	const RegionDb *db;
	Ymd rec;        /* the recording date */
	char rec_s[11]; /* the same, formatted */
} Ctx;

static gboolean
present(const char *v)
{
	return v && *v;
}

/* Reports FIELD.missing when V is absent; TRUE when it is present. */
static gboolean
need(Ctx *c, const char *field, const char *rule, const char *what, const char *v)
{
	if (present(v))
		return TRUE;
	add(c->r->errors, field, rule, NULL, "%s is required", what);
	return FALSE;
}

static gboolean
in_list(const char *v, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(v, *list) == 0)
			return TRUE;
	return FALSE;
}

/* The canonical value V probably meant: an alias, or an allowed value in other case. */
static const char *
suggest(const char *v, const char *const *list, const Alias *aliases)
{
	for (; aliases && aliases->from; aliases++)
		if (g_ascii_strcasecmp(v, aliases->from) == 0)
			return aliases->to;
	for (; *list; list++)
		if (g_ascii_strcasecmp(v, *list) == 0)
			return *list;
	return NULL;
}

/*
 * An enumerated field.  WHAT names the field for people; LISTED says the
 * allowed values in the message (NULL: the list is too long to quote).
 */
static gboolean
check_enum(Ctx *c, const char *field, const char *rule_missing, const char *rule_unknown,
	   const char *what, const char *v, const char *const *list, const Alias *aliases,
	   const char *listed)
{
	if (!need(c, field, rule_missing, what, v))
		return FALSE;
	if (in_list(v, list))
		return TRUE;
	const char *hint = suggest(v, list, aliases);
	g_autofree char *tail =
		hint ? g_strdup_printf("; did you mean \"%s\"?", hint) : g_strdup("");
	if (listed)
		add(c->r->errors, field, rule_unknown, v, "%s must be one of %s; got \"%s\"%s",
		    what, listed, v, tail);
	else
		add(c->r->errors, field, rule_unknown, v,
		    "%s must be one of the %u SIAK values, written exactly; got \"%s\"%s", what,
		    g_strv_length((char **)list), v, tail);
	return FALSE;
}

/* Characters, not bytes, when V is UTF-8 (a non-ASCII byte is reported by the chars rule). */
static glong
char_count(const char *v)
{
	return g_utf8_validate(v, -1, NULL) ? g_utf8_strlen(v, -1) : (glong)strlen(v);
}

/* Describes the byte at V[I] for a message. */
static char *
describe_char(const char *v, size_t i)
{
	unsigned char ch = (unsigned char)v[i];
	if (ch >= 'a' && ch <= 'z')
		return g_strdup_printf("lower-case '%c' at position %zu (capitals only)", ch,
				       i + 1);
	if (ch >= 0x20 && ch < 0x7f)
		return g_strdup_printf("'%c' at position %zu", ch, i + 1);
	return g_strdup_printf("byte 0x%02X at position %zu", ch, i + 1);
}

/* The rule keywords of one free-text field; NULL no_letter: no letter needed. */
typedef struct {
	const char *length, *chars, *spacing, *no_letter;
} TextRules;

static const TextRules name_rules = { "name.length", "name.chars", "name.spacing",
				      "name.no-letter" };
static const TextRules birth_place_rules = { "birth_place.length", "birth_place.chars",
					     "birth_place.spacing", "birth_place.no-letter" };
static const TextRules address_rules = { "address.length", "address.chars", "address.spacing",
					 NULL };
static const char *const rt_rules[3] = { "rt.missing", "rt.format", "rt.zero" };
static const char *const rw_rules[3] = { "rw.missing", "rw.format", "rw.zero" };
static const TextRules nationality_rules = { "nationality.length", "nationality.chars",
					     "nationality.spacing", "nationality.no-letter" };

/*
 * Free text in capitals: at most MAX characters; only A-Z and the bytes in
 * EXTRA or, when EXTRA is NULL, any printable ASCII but lower case; single
 * spaces between words and none at either end.  ALLOWED says the same in
 * words for the message.  V is present.
 */
static void
check_text(Ctx *c, const char *field, const TextRules *rules, const char *what, const char *v,
	   glong max, const char *extra, const char *allowed)
{
	glong n = char_count(v);
	gboolean has_letter = FALSE;
	size_t len = strlen(v);

	if (n > max)
		add(c->r->errors, field, rules->length, v,
		    "%s has at most %ld characters; this one has %ld", what, max, n);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)v[i];
		gboolean ok;
		if (ch >= 'A' && ch <= 'Z') {
			has_letter = TRUE;
			continue;
		}
		if (extra)
			ok = strchr(extra, ch) != NULL;
		else
			ok = ch >= 0x20 && ch < 0x7f && !(ch >= 'a' && ch <= 'z');
		if (!ok) {
			g_autofree char *where = describe_char(v, i);
			add(c->r->errors, field, rules->chars, v, "%s uses %s only; found %s", what,
			    allowed, where);
			break;
		}
	}
	if (v[0] == ' ' || v[len - 1] == ' ' || strstr(v, "  "))
		add(c->r->errors, field, rules->spacing, v,
		    "%s has single spaces between words and none at either end", what);
	/* After a bad character the letter count is partial: say nothing about letters then. */
	if (rules->no_letter && !has_letter && !validate_find(c->r->errors, rules->chars))
		add(c->r->errors, field, rules->no_letter, v, "%s must contain a letter", what);
}

/*
 * The region part (digits 1-6) of a NIK or KK number: a kecamatan in some
 * edition.  A code retired since is fine (a NIK keeps its first
 * registration's code; a KK keeps its issuing office's), and noted.
 * RULE_PROVINCE, when not NULL, gets an unknown province reported on its own.
 */
static gboolean
check_region_part(Ctx *c, const char *field, const char *number, const char *rule_province,
		  const char *rule_unknown, const char *rule_retired, const char *what)
{
	char code[7], prov[3];
	int first, last;

	g_strlcpy(code, number, sizeof code);
	g_strlcpy(prov, number, sizeof prov);
	if (rule_province && !region_code_known(c->db, prov, NULL, NULL)) {
		add(c->r->errors, field, rule_province, number,
		    "%s's province code %s (digits 1-2) is in no edition of the Kemendagri codes",
		    what, prov);
		return FALSE;
	}
	if (!region_kecamatan_known(c->db, code, &first, &last)) {
		add(c->r->errors, field, rule_unknown, number,
		    "%s's region part %.2s.%.2s.%.2s (digits 1-6) is no kecamatan in any edition "
		    "of the Kemendagri codes",
		    what, code, code + 2, code + 4);
		return FALSE;
	}
	if (last < region_current_edition(c->db)) {
		add(c->r->notices, field, rule_retired, number,
		    "%s's kecamatan %.2s.%.2s.%.2s is only in the %d-%d editions of the Kemendagri "
		    "codes, not the current %d one; still valid, as the number keeps the code it "
		    "was issued under",
		    what, code, code + 2, code + 4, first, last, region_current_edition(c->db));
		return TRUE;
	}
	return FALSE;
}

/* The first byte of V that is not an ASCII digit (V has one). */
static size_t
first_non_digit(const char *v)
{
	size_t i = 0;
	while (g_ascii_isdigit(v[i]))
		i++;
	return i;
}

static void
check_nik(Ctx *c, const char *v, NikScan *s)
{
	*s = nik_scan(v);
	if (!need(c, "nik", "nik.missing", "the NIK", v))
		return;
	if (s->bad & (1u << NIK_ERROR_LENGTH)) {
		add(c->r->errors, "nik", "nik.length", v,
		    "a NIK is exactly 16 digits; this one has %zu characters", strlen(v));
		return;
	}
	if (s->bad & (1u << NIK_ERROR_DIGITS)) {
		g_autofree char *where = describe_char(v, first_non_digit(v));
		add(c->r->errors, "nik", "nik.digits", v, "a NIK has digits only; found %s", where);
		return;
	}
	c->r->facts.kecamatan_retired =
		check_region_part(c, "nik", v, "nik.province-unknown", "nik.kecamatan-unknown",
				  "nik.kecamatan-retired", "the NIK");
	if (s->bad & (1u << NIK_ERROR_DAY))
		add(c->r->errors, "nik", "nik.day", v,
		    "the NIK's day (digits 7-8) is %02d; it must be 01-31 for men or 41-71 for "
		    "women (day + 40)",
		    s->day_field);
	if (s->bad & (1u << NIK_ERROR_MONTH))
		add(c->r->errors, "nik", "nik.month", v,
		    "the NIK's month (digits 9-10) is %02d; it must be 01-12", s->month);
	if (s->bad & (1u << NIK_ERROR_DATE))
		add(c->r->errors, "nik", "nik.date", v,
		    "the NIK's digits 7-12 (%.6s) are no real date: month %02d has no day %d in "
		    "19%02d or 20%02d",
		    v + 6, s->month, s->day_field > 40 ? s->day_field - 40 : s->day_field, s->yy,
		    s->yy);
	if (s->bad & (1u << NIK_ERROR_SERIAL))
		add(c->r->errors, "nik", "nik.serial", v,
		    "the NIK's serial (digits 13-16) is 0000; serials start at 0001");
}

/* Section 1.3: 16 digits, a 6-digit region, DDMMYY of issue, a serial. */
static void
check_kk(Ctx *c, const char *v, const char *nik)
{
	size_t len;

	if (!need(c, "kk", "kk.missing", "the KK number", v))
		return;
	len = strlen(v);
	if (len != 16) {
		add(c->r->errors, "kk", "kk.length", v,
		    "a KK number is exactly 16 digits; this one has %zu characters", len);
		return;
	}
	if (first_non_digit(v) < len) {
		g_autofree char *where = describe_char(v, first_non_digit(v));
		add(c->r->errors, "kk", "kk.digits", v, "a KK number has digits only; found %s",
		    where);
		return;
	}
	check_region_part(c, "kk", v, NULL, "kk.region-unknown", "kk.region-retired",
			  "the KK number");
	if (nik && strcmp(v, nik) == 0)
		add(c->r->warnings, "kk", "kk.equals-nik", v,
		    "the KK number is the same as the NIK; a KK number is the family card's own "
		    "number (issuing kecamatan, issue date, serial): check it was not copied from "
		    "the NIK");
}

/* TRUE, with *BIRTH set, when the birth date is one the age rules can use. */
static gboolean
check_birth_date(Ctx *c, const char *v, Ymd *birth)
{
	if (!need(c, "birth_date", "birth_date.missing", "the birth date", v))
		return FALSE;
	switch (ymd_parse(v, birth)) {
	case DATE_FORMAT:
		add(c->r->errors, "birth_date", "birth_date.format", v,
		    "the birth date is written YYYY-MM-DD, e.g. 1990-08-05; got \"%s\"", v);
		return FALSE;
	case DATE_UNREAL:
		add(c->r->errors, "birth_date", "birth_date.invalid", v,
		    "the birth date %s does not exist", v);
		return FALSE;
	case DATE_OK:
		break;
	}
	if (ymd_cmp(*birth, c->rec) > 0) {
		add(c->r->errors, "birth_date", "birth_date.future", v,
		    "the birth date %s is after the recording date %s", v, c->rec_s);
		return FALSE;
	}
	if (birth->y < BIRTH_YEAR_MIN) {
		add(c->r->errors, "birth_date", "birth_date.too-old", v,
		    "the birth date %s is before %d-01-01", v, BIRTH_YEAR_MIN);
		return FALSE;
	}
	return TRUE;
}

/*
 * Section 2.5: a KTP-el is due at 17 or on marriage, whichever is first;
 * offices record from 16 so the card is ready at 17, but print only then.
 */
static void
check_age(Ctx *c, const ValidatePolicy *p, Ymd birth, const char *birth_s)
{
	ValidateFacts *f = &c->r->facts;

	f->age = age_on(birth, c->rec);
	ymd_format(anniversary(birth, VALIDATE_LEGAL_AGE), f->turns_17);
	if (f->ever_married || f->age >= VALIDATE_LEGAL_AGE)
		return;
	if (f->age < p->min_age) {
		add(c->r->errors, "birth_date", "age.under-minimum", birth_s,
		    "the person is %d on the recording date %s; the youngest who may be recorded "
		    "is %d, unless married or ever married (a KTP-el is due at 17 or on marriage)",
		    f->age, c->rec_s, p->min_age);
		return;
	}
	f->print_hold = TRUE;
	add(c->r->notices, "birth_date", "age.print-hold", f->turns_17,
	    "the person is %d: the record may be taken now, but it must not become print-ready "
	    "before the 17th birthday, %s, unless the person marries first",
	    f->age, f->turns_17);
}

/* Section 1.2: the NIK's date and gender digits against the stated ones, as warnings. */
static void
check_nik_against(Ctx *c, const char *nik, const NikScan *s, const Ymd *birth, const char *gender)
{
	ValidateFacts *f = &c->r->facts;

	if (nik_date_ok(s)) {
		NikInfo info;
		nik_fill(nik, s, nik_year(s, birth, c->rec), &info);
		if (birth &&
		    (info.day != birth->d || info.month != birth->m || info.year != birth->y))
			add(c->r->warnings, "nik", "nik.birth-date-mismatch", nik,
			    "the NIK's digits 7-12 (%.6s) read %s, but the stated birth date is "
			    "%04d-%02d-%02d; a NIK is not reissued when a birth date is "
			    "corrected, so confirm the birth date against the documents",
			    nik + 6, info.birth_date, birth->y, birth->m, birth->d);
		if (!s->bad) {
			f->nik = info;
			f->nik_parsed = TRUE;
		}
	}
	if (gender &&
	    !(s->bad & (1u << NIK_ERROR_LENGTH | 1u << NIK_ERROR_DIGITS | 1u << NIK_ERROR_DAY))) {
		gboolean nik_female = s->day_field > 40;
		if (nik_female != (strcmp(gender, "PEREMPUAN") == 0))
			add(c->r->warnings, "nik", "nik.gender-mismatch", nik,
			    "the NIK's day digits %02d mark a %s (women have 40 added to the day), "
			    "but the stated gender is %s; confirm against the documents",
			    s->day_field, nik_female ? "woman" : "man", gender);
	}
}

/* RULES: the missing, format and zero keywords of the field. */
static void
check_rt_rw(Ctx *c, const char *field, const char *const rules[3], const char *what, const char *v)
{
	size_t len;

	if (!need(c, field, rules[0], what, v))
		return;
	len = strlen(v);
	if (len != 3 || first_non_digit(v) != 3) {
		g_autofree char *hint = len >= 1 && len <= 2 && first_non_digit(v) == len
						? g_strdup_printf("; write %s as %03d", v, atoi(v))
						: g_strdup("");
		add(c->r->errors, field, rules[1], v,
		    "%s is exactly 3 digits, as the card prints it (001); got \"%s\"%s", what, v,
		    hint);
		return;
	}
	if (strcmp(v, "000") == 0)
		add(c->r->errors, field, rules[2], v,
		    "%s 000 does not exist; numbering starts at 001", what);
}

static void
check_village(Ctx *c, const ValidatePolicy *p, const char *office, const char *v)
{
	ValidateFacts *f = &c->r->facts;
	char canon[REGION_CODE_MAX], part[REGION_CODE_MAX];

	if (!need(c, "village_code", "village_code.missing", "the kelurahan/desa code", v))
		return;
	if (region_code_canon(v, canon) != REGION_LEVEL_VILLAGE) {
		add(c->r->errors, "village_code", "village_code.format", v,
		    "a kelurahan/desa code has 4 parts, 61.72.01.1001 or 6172011001; got \"%s\"",
		    v);
		return;
	}
	if (!(f->village_name = region_village_name(c->db, canon))) {
		add(c->r->errors, "village_code", "village_code.unknown", v,
		    "%s is no kelurahan/desa in the current Kemendagri codes (wilayah.csv)", canon);
		return;
	}
	/* The parents exist: the loader refuses a code listed before its parent. */
	g_strlcpy(part, canon, 3);
	f->province_name = region_name(c->db, part);
	g_strlcpy(part, canon, 6);
	f->regency_name = region_name(c->db, part);
	g_strlcpy(part, canon, 9);
	f->kecamatan_name = region_name(c->db, part);
	if (!p->allow_out_of_area && strncmp(canon, office, 5) != 0)
		add(c->r->errors, "village_code", "village_code.out-of-area", v,
		    "%s (%s, %s) lies outside this office's regency %s (%s); out-of-area "
		    "addresses need the allow_out_of_area policy",
		    canon, f->village_name, f->regency_name, office,
		    region_regency_name(c->db, office));
}

static void
check_citizenship(Ctx *c, const char *cit, const char *nat)
{
	if (!check_enum(c, "citizenship", "citizenship.missing", "citizenship.unknown",
			"the citizenship", cit, citizenships, citizenship_aliases, "WNI, WNA"))
		return;
	if (strcmp(cit, "WNA") == 0) {
		if (!need(c, "nationality", "nationality.missing", "for a WNA, the nationality",
			  nat))
			return;
		check_text(c, "nationality", &nationality_rules, "the nationality", nat,
			   NATIONALITY_MAX_CHARS, " '.-",
			   "capital letters, space, apostrophe, full stop and hyphen");
	} else if (present(nat) && strcmp(nat, "INDONESIA") != 0) {
		add(c->r->errors, "nationality", "nationality.unexpected", nat,
		    "a WNI's nationality is INDONESIA or left empty; got \"%s\"", nat);
	}
}

/* The policy is the caller's configuration: a fault in it is not the record's. */
static gboolean
check_policy(const RegionDb *db, const ValidatePolicy *p, Ymd *rec, char office[REGION_CODE_MAX],
	     GError **error)
{
	office[0] = '\0';
	if (!p->recording_date)
		*rec = ymd_today();
	else if (ymd_parse(p->recording_date, rec) != DATE_OK) {
		g_set_error(error, VALIDATE_ERROR, VALIDATE_ERROR_POLICY,
			    "recording_date \"%s\" is not a real YYYY-MM-DD date",
			    p->recording_date);
		return FALSE;
	}
	/* Above 17 would turn away people the law obliges to hold a card. */
	if (p->min_age < 1 || p->min_age > VALIDATE_LEGAL_AGE) {
		g_set_error(error, VALIDATE_ERROR, VALIDATE_ERROR_POLICY,
			    "min_age %d is outside 1-%d", p->min_age, VALIDATE_LEGAL_AGE);
		return FALSE;
	}
	if (p->office_regency) {
		if (region_code_canon(p->office_regency, office) != REGION_LEVEL_REGENCY ||
		    !region_regency_name(db, office)) {
			g_set_error(error, VALIDATE_ERROR, VALIDATE_ERROR_POLICY,
				    "office_regency \"%s\" is not a regency/city in wilayah.csv",
				    p->office_regency);
			return FALSE;
		}
	} else if (!p->allow_out_of_area) {
		g_set_error_literal(error, VALIDATE_ERROR, VALIDATE_ERROR_POLICY,
				    "office_regency is required unless allow_out_of_area");
		return FALSE;
	}
	return TRUE;
}

ValidateReport *
validate_enrollment(const RegionDb *db, const EnrollDemographics *d, const ValidatePolicy *policy,
		    GError **error)
{
	char office[REGION_CODE_MAX];
	gboolean birth_ok, gender_ok, marital_ok;
	NikScan nik;
	Ymd birth;
	Ctx c = { .db = db };

	g_return_val_if_fail(db && d && policy, NULL);
	if (!check_policy(db, policy, &c.rec, office, error))
		return NULL;
	ymd_format(c.rec, c.rec_s);
	g_autoptr(ValidateReport) r = g_new0(ValidateReport, 1);
	r->errors = g_ptr_array_new_with_free_func(issue_free);
	r->warnings = g_ptr_array_new_with_free_func(issue_free);
	r->notices = g_ptr_array_new_with_free_func(issue_free);
	r->facts.age = -1;
	c.r = r;

	/* Field by field, in the struct's order, every rule: the operator sees all at once. */
	check_nik(&c, d->nik, &nik);
	check_kk(&c, d->kk, d->nik);
	if (need(&c, "name", "name.missing", "the name", d->name))
		check_text(&c, "name", &name_rules, "the name", d->name, NAME_MAX_CHARS, " '.,",
			   "capital letters, space, apostrophe, full stop and comma");
	if (need(&c, "birth_place", "birth_place.missing", "the place of birth", d->birth_place))
		check_text(&c, "birth_place", &birth_place_rules, "the place of birth",
			   d->birth_place, BIRTH_PLACE_MAX_CHARS, " '.,-",
			   "capital letters, space, apostrophe, full stop, comma and hyphen");
	birth_ok = check_birth_date(&c, d->birth_date, &birth);
	gender_ok = check_enum(&c, "gender", "gender.missing", "gender.unknown", "the gender",
			       d->gender, genders, gender_aliases, "LAKI-LAKI, PEREMPUAN");
	check_enum(&c, "blood_type", "blood_type.missing", "blood_type.unknown", "the blood type",
		   d->blood_type, blood_types, blood_aliases,
		   "A, B, AB, O, each also with + or -, and TIDAK TAHU or - when unknown");
	check_enum(&c, "religion", "religion.missing", "religion.unknown", "the religion",
		   d->religion, religions, religion_aliases,
		   "ISLAM, KRISTEN, KATHOLIK, HINDU, BUDHA, KHONGHUCU, " KEPERCAYAAN);
	marital_ok =
		check_enum(&c, "marital_status", "marital_status.missing", "marital_status.unknown",
			   "the marital status", d->marital_status, marital_statuses,
			   marital_aliases, "BELUM KAWIN, KAWIN, CERAI HIDUP, CERAI MATI");
	check_enum(&c, "occupation", "occupation.missing", "occupation.unknown", "the occupation",
		   d->occupation, occupations, occupation_aliases, NULL);
	if (need(&c, "address", "address.missing", "the address", d->address))
		check_text(&c, "address", &address_rules, "the address", d->address,
			   ADDRESS_MAX_CHARS, NULL, "printable ASCII without lower case");
	check_rt_rw(&c, "rt", rt_rules, "the RT", d->rt);
	check_rt_rw(&c, "rw", rw_rules, "the RW", d->rw);
	check_village(&c, policy, office, d->village_code);
	check_citizenship(&c, d->citizenship, d->nationality);

	/* Rules across fields. */
	r->facts.ever_married = marital_ok && strcmp(d->marital_status, NEVER_MARRIED) != 0;
	if (birth_ok)
		check_age(&c, policy, birth, d->birth_date);
	check_nik_against(&c, d->nik, &nik, birth_ok ? &birth : NULL, gender_ok ? d->gender : NULL);
	return g_steal_pointer(&r);
}
