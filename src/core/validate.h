/* SPDX-License-Identifier: MIT */
/*
 * Validation of one enrollment's demographics, before anything is recorded.
 * The input is a plain struct of strings, so the API layer (JSON), the CLI
 * and the tests all feed it the same way.  The output reports every problem
 * at once, each with a stable machine-readable rule keyword, so an operator
 * fixes a form in one round and a client can map keywords to form fields:
 *
 *   errors    reject the record (e.g. "nik.length", "age.under-minimum")
 *   warnings  accepted, but a supervisor must confirm them: the NIK's date or
 *             gender digits disagree with the stated ones (a NIK is never
 *             reissued when a birth date is corrected, so this is legitimate)
 *   notices   information only (a NIK from a since-retired kecamatan; a
 *             16-year-old whose card must wait for the 17th birthday)
 *
 * The rules and their sources are in docs (ektp-domain.md, sections 1.2, 1.3,
 * 2.3 and 2.5) and at the tables in validate.c; the full keyword list is at
 * the top of validate.c.
 *
 * Also here: nik_parse(), the NIK's structure on its own (no region tables),
 * for any module that needs the date, gender or serial of a NIK.
 */
#ifndef EKTP_CORE_VALIDATE_H
#define EKTP_CORE_VALIDATE_H

#include <glib.h>

#include "core/region.h"

/* ---- the NIK on its own ---- */

#define NIK_ERROR nik_error_quark()
GQuark nik_error_quark(void);

/* Why nik_parse() refused a NIK; validate_enrollment() reports each as "nik.<keyword>". */
typedef enum {
	NIK_ERROR_LENGTH, /* "nik.length": not 16 characters */
	NIK_ERROR_DIGITS, /* "nik.digits": 16 characters, not all ASCII digits */
	NIK_ERROR_DAY,    /* "nik.day": day part 00, 32-40 or above 71 */
	NIK_ERROR_MONTH,  /* "nik.month": month part not 01-12 */
	NIK_ERROR_DATE,   /* "nik.date": day and month each fine, but no such date (3102) */
	NIK_ERROR_SERIAL, /* "nik.serial": serial 0000 */
} NikError;

typedef struct {
	char region[7];      /* "617201": the kecamatan of first registration */
	int day;             /* 1-31, the +40 for women removed */
	int month;           /* 1-12 */
	int yy;              /* the two year digits as written */
	int year;            /* yy with its century resolved (see nik_parse) */
	gboolean female;     /* day part above 40 */
	char birth_date[11]; /* "YYYY-MM-DD" from day, month and year */
	int serial;          /* 1-9999 */
} NikInfo;

/*
 * Parses a NIK's structure: 16 digits PP KK CC DDMMYY SSSS.  The century is
 * not encoded: YEAR is the most recent one that does not put the birth after
 * REF_DATE ("YYYY-MM-DD"; NULL means today, local time), preferring one in
 * which the date exists (29 Feb of "00" is 2000).  The region part is not
 * looked up here (see region_kecamatan_known()).  Returns 0, or -1 with
 * NIK_ERROR and the first NikError found.  OUT is written only on success.
 */
int nik_parse(const char *nik, const char *ref_date, NikInfo *out, GError **error);

/* ---- one enrollment ---- */

/*
 * The demographics as the operator entered them (or SIAK returned them).
 * Every pointer is borrowed for the duration of the call; NULL or "" means
 * the field is missing.  Values are compared as entered: no trimming, no case
 * folding, so "laki-laki" is an error, not a silent fix.
 */
typedef struct {
	const char *nik;            /* 16 digits */
	const char *kk;             /* Kartu Keluarga number, 16 digits */
	const char *name;           /* "BUDI SANTOSO" */
	const char *birth_place;    /* "SINGKAWANG" */
	const char *birth_date;     /* "YYYY-MM-DD" */
	const char *gender;         /* "LAKI-LAKI" or "PEREMPUAN" */
	const char *blood_type;     /* "A", "B", "AB", "O", with +/-, or "TIDAK TAHU" / "-" */
	const char *religion;       /* SIAK spelling, or "KEPERCAYAAN TERHADAP TUHAN YME" */
	const char *marital_status; /* "BELUM KAWIN", "KAWIN", "CERAI HIDUP", "CERAI MATI" */
	const char *occupation;     /* one of the 89 SIAK occupations */
	const char *address;        /* "JL. DIPONEGORO NO. 12" */
	const char *rt;             /* "001" */
	const char *rw;             /* "002" */
	const char *village_code;   /* "61.72.01.1001" or "6172011001" */
	const char *citizenship;    /* "WNI" or "WNA" */
	const char *nationality;    /* required for WNA; for WNI empty or "INDONESIA" */
} EnrollDemographics;

#define VALIDATE_ERROR validate_error_quark()
GQuark validate_error_quark(void);

typedef enum {
	VALIDATE_ERROR_POLICY, /* the ValidatePolicy itself is unusable */
} ValidateError;

/* Whole years from BIRTH to ON, both strictly "YYYY-MM-DD" (someone born on
 * 29 February has the birthday on 1 March in a common year); -1 when either
 * is not a real date, or ON is before BIRTH.  validate_age_on(D, D) == 0 says
 * D is a date. */
int validate_age_on(const char *birth, const char *on);

/* The legal age for a KTP-el (UU 24/2013): the print hold ends at this birthday. */
#define VALIDATE_LEGAL_AGE 17

typedef struct {
	const char *office_regency; /* "61.72" or "6172"; borrowed; may be NULL only
				       when allow_out_of_area */
	gboolean allow_out_of_area; /* accept an address outside office_regency */
	int min_age; /* youngest unmarried person to record: 1 to 17 (17 by default) */
	const char *recording_date; /* "YYYY-MM-DD"; NULL means today, local time */
} ValidatePolicy;

#define VALIDATE_POLICY_INIT                                                                       \
	{                                                                                          \
		.office_regency = NULL, .allow_out_of_area = FALSE, .min_age = VALIDATE_LEGAL_AGE, \
		.recording_date = NULL                                                             \
	}

typedef struct {
	const char *field; /* "nik", "birth_date", ... (static) */
	const char *rule;  /* "nik.length", ... (static; the list is in validate.c) */
	char *message;     /* for people: what the rule is and what was wrong; owned */
	char *value;       /* the offending value as valid UTF-8, NULL when missing; owned */
} ValidateIssue;

typedef struct {
	int age;                    /* whole years on the recording date; -1 when unknown */
	gboolean ever_married;      /* marital status other than BELUM KAWIN */
	char turns_17[11];          /* the 17th birthday "YYYY-MM-DD" ("" when unknown);
				       29 Feb births turn 17 on 1 Mar in common years */
	gboolean print_hold;        /* under 17, never married, recorded under a lowered
				       min_age: must not become print-ready before turns_17 */
	gboolean nik_parsed;        /* nik below is filled in */
	NikInfo nik;                /* century resolved against the stated birth date */
	gboolean kecamatan_retired; /* the NIK's kecamatan is only in older editions */
	const char *province_name;  /* of village_code; borrowed from the RegionDb, or NULL */
	const char *regency_name;
	const char *kecamatan_name;
	const char *village_name;
} ValidateFacts;

typedef struct {
	GPtrArray *errors;   /* of ValidateIssue; reject the record */
	GPtrArray *warnings; /* of ValidateIssue; a supervisor must confirm */
	GPtrArray *notices;  /* of ValidateIssue; information */
	ValidateFacts facts;
} ValidateReport;

/*
 * Checks D against every rule under POLICY, looking regions up in DB (borrowed
 * for the call; the report's region names stay borrowed from it until it is
 * freed).  Returns the report (caller frees with validate_report_free()),
 * also when D has errors; NULL only when POLICY itself is unusable (a bad
 * recording_date, min_age or office_regency), with ERROR set.
 */
ValidateReport *validate_enrollment(const RegionDb *db, const EnrollDemographics *d,
				    const ValidatePolicy *policy, GError **error);

/* Frees R and its issues; NULL is allowed. */
void validate_report_free(ValidateReport *r);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ValidateReport, validate_report_free)

/*
 * The allowed values of an enumerated FIELD ("gender", "blood_type",
 * "religion", "marital_status", "occupation", "citizenship"), NULL-terminated
 * and static, e.g. for a form's choices; NULL for any other field.
 */
const char *const *validate_allowed(const char *field);

/* The first issue in LIST (one of R's three arrays) with RULE, or NULL; borrowed from R. */
const ValidateIssue *validate_find(const GPtrArray *list, const char *rule);

#endif
