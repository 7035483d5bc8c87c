/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/validate, written from docs/ektp-domain.md rather than
 * from the code: NIKs of men and of women (day + 40), the worked examples of
 * section 1.1, impossible dates (31 Feb, 29 Feb of a common year in both
 * centuries, day 72), the century read from two digits, region parts that
 * never existed and ones retired in the 2022 Papua split; the age rule of
 * section 2.5 (under age, married under 17, a 16-year-old recorded under a
 * lowered min_age with the 17th birthday returned, 29 Feb birthdays); each
 * field's rules one by one from a valid record; every problem reported at
 * once; NIK/record mismatches as warnings only; and policy faults.  The
 * region tables are the shipped ones (config/data, as test_region loads).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/region.h"
#include "core/validate.h"
#include "testutil.h"

static RegionDb *db;

static int
group_setup(void **state)
{
	(void)state;
	const char *src = g_getenv("EKTP_SOURCE_DIR");
	g_autofree char *dir = g_build_filename(src && *src ? src : ".", "config", "data", NULL);
	GError *error = NULL;
	if (!(db = region_db_load(dir, &error))) {
		fprintf(stderr, "region_db_load %s: %s\n", dir, error->message);
		g_error_free(error);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	g_clear_pointer(&db, region_db_free);
	return 0;
}

/* A man born 5 Aug 1990 in Kecamatan Singkawang Tengah, living there. */
static EnrollDemographics
good_man(void)
{
	EnrollDemographics d = {
		.nik = "6172010508900001",
		.kk = "6172011203150004",
		.name = "BUDI SANTOSO",
		.birth_place = "SINGKAWANG",
		.birth_date = "1990-08-05",
		.gender = "LAKI-LAKI",
		.blood_type = "O",
		.religion = "ISLAM",
		.marital_status = "KAWIN",
		.occupation = "WIRASWASTA",
		.address = "JL. DIPONEGORO NO. 12",
		.rt = "001",
		.rw = "002",
		.village_code = "61.72.01.1001",
		.citizenship = "WNI",
		.nationality = NULL,
	};
	return d;
}

/* A woman born on the same day: 40 is added to the day (section 1.1). */
static EnrollDemographics
good_woman(void)
{
	EnrollDemographics d = good_man();
	d.nik = "6172014508900002";
	d.name = "SITI NUR'AINI";
	d.gender = "PEREMPUAN";
	d.blood_type = "AB+";
	d.religion = "KATHOLIK";
	d.marital_status = "BELUM KAWIN";
	d.occupation = "KARYAWAN SWASTA";
	d.village_code = "6172021001";
	return d;
}

/* The Singkawang office on a fixed day, so ages do not drift with the calendar. */
static ValidatePolicy
policy(void)
{
	ValidatePolicy p = VALIDATE_POLICY_INIT;
	p.office_regency = "61.72";
	p.recording_date = "2025-06-15";
	return p;
}

static void
dump(GString *s, const char *title, const GPtrArray *list)
{
	g_string_append_printf(s, "\n  %s:", title);
	for (guint i = 0; i < list->len; i++) {
		const ValidateIssue *v = list->pdata[i];
		g_string_append_printf(s, "\n    %s [%s] %s (value %s)", v->rule, v->field,
				       v->message, v->value ? v->value : "NULL");
	}
}

static ValidateReport *
run(const EnrollDemographics *d, const ValidatePolicy *p)
{
	GError *error = NULL;
	ValidateReport *r = validate_enrollment(db, d, p, &error);
	if (!r)
		fail_msg("validate_enrollment: %s", error->message);
	return r;
}

/*
 * Expects LIST to hold exactly the rules in WANT (a space-separated list, in
 * order; "" for none).
 */
static void
expect(const ValidateReport *r, const GPtrArray *list, const char *want)
{
	g_autoptr(GString) got = g_string_new(NULL);
	for (guint i = 0; i < list->len; i++) {
		const ValidateIssue *v = list->pdata[i];
		if (i)
			g_string_append_c(got, ' ');
		g_string_append(got, v->rule);
	}
	if (strcmp(got->str, want) != 0) {
		g_autoptr(GString) s = g_string_new(NULL);
		dump(s, "errors", r->errors);
		dump(s, "warnings", r->warnings);
		dump(s, "notices", r->notices);
		fail_msg("wanted \"%s\", got \"%s\"%s", want, got->str, s->str);
	}
}

/* Runs D under P and expects exactly these errors, warnings and notices. */
static ValidateReport *
check(const EnrollDemographics *d, const ValidatePolicy *p, const char *errors,
      const char *warnings, const char *notices)
{
	ValidateReport *r = run(d, p);
	expect(r, r->errors, errors);
	expect(r, r->warnings, warnings);
	expect(r, r->notices, notices);
	return r;
}

/* ---- valid records ---- */

static void
test_valid_man(void **state)
{
	(void)state;
	EnrollDemographics d = good_man();
	ValidatePolicy p = policy();
	g_autoptr(ValidateReport) r = check(&d, &p, "", "", "");
	const ValidateFacts *f = &r->facts;

	assert_int_equal(f->age, 34);
	assert_true(f->ever_married);
	assert_false(f->print_hold);
	assert_string_equal(f->turns_17, "2007-08-05");
	assert_true(f->nik_parsed);
	assert_string_equal(f->nik.region, "617201");
	assert_string_equal(f->nik.birth_date, "1990-08-05");
	assert_false(f->nik.female);
	assert_int_equal(f->nik.serial, 1);
	assert_false(f->kecamatan_retired);
	assert_string_equal(f->village_name, "Roban");
	assert_string_equal(f->kecamatan_name, "Singkawang Tengah");
	assert_string_equal(f->regency_name, "Kota Singkawang");
	assert_string_equal(f->province_name, "Kalimantan Barat");
}

static void
test_valid_woman(void **state)
{
	(void)state;
	EnrollDemographics d = good_woman();
	ValidatePolicy p = policy();
	g_autoptr(ValidateReport) r = check(&d, &p, "", "", "");

	assert_false(r->facts.ever_married);
	assert_true(r->facts.nik.female);
	assert_int_equal(r->facts.nik.day, 5);
	assert_int_equal(r->facts.nik.serial, 2);
	assert_string_equal(r->facts.village_name, "Pasiran");
}

/* Every allowed value of every enumeration passes; the counts are the note's. */
static void
test_valid_enumerations(void **state)
{
	(void)state;
	static const struct {
		const char *field;
		size_t offset;
		guint count;
	} e[] = {
		{ "gender", offsetof(EnrollDemographics, gender), 2 },
		/* 13 SIAK codes and "-" */
		{ "blood_type", offsetof(EnrollDemographics, blood_type), 14 },
		/* SIAK 1-6 and the Kepercayaan value */
		{ "religion", offsetof(EnrollDemographics, religion), 7 },
		{ "marital_status", offsetof(EnrollDemographics, marital_status), 4 },
		{ "occupation", offsetof(EnrollDemographics, occupation), 89 },
		{ "citizenship", offsetof(EnrollDemographics, citizenship), 2 },
	};
	ValidatePolicy p = policy();

	for (size_t i = 0; i < G_N_ELEMENTS(e); i++) {
		const char *const *list = validate_allowed(e[i].field);
		assert_non_null(list);
		assert_int_equal(g_strv_length((char **)list), e[i].count);
		for (; *list; list++) {
			EnrollDemographics d = good_man();
			*(const char **)((char *)&d + e[i].offset) = *list;
			if (strcmp(*list, "PEREMPUAN") == 0)
				d.nik = "6172014508900002";
			if (strcmp(*list, "WNA") == 0)
				d.nationality = "MALAYSIA";
			g_autoptr(ValidateReport) r = check(&d, &p, "", "", "");
		}
	}
	assert_non_null(strstr(validate_allowed("religion")[6], "KEPERCAYAAN TERHADAP TUHAN YME"));
	assert_null(validate_allowed("name"));
	assert_null(validate_allowed(NULL));
}

/* Other spellings that the rules allow. */
static void
test_valid_variants(void **state)
{
	(void)state;
	ValidatePolicy p = policy();
	static const struct {
		size_t offset;
		const char *value;
	} v[] = {
		{ offsetof(EnrollDemographics, name), "MUH. O'NEIL, S.KOM." },
		{ offsetof(EnrollDemographics, name), "SUKARNO" },
		{ offsetof(EnrollDemographics, name),
		  "ABCDEFGHIJ ABCDEFGHIJ ABCDEFGHIJ ABCDEFGHIJ ABCDEFGHIJ ABCDE" /* 60 */ },
		{ offsetof(EnrollDemographics, birth_place), "KAB. KEP. SIAU-TAGULANDANG, BIARO" },
		{ offsetof(EnrollDemographics, address),
		  "JL. GAJAH MADA NO. 5/7, GG. MAWAR (BELAKANG) #2; BLOK A-1 & B-2" },
		{ offsetof(EnrollDemographics, rt), "010" },
		{ offsetof(EnrollDemographics, rw), "999" },
		{ offsetof(EnrollDemographics, village_code), "6172051004" },
		{ offsetof(EnrollDemographics, nationality), "INDONESIA" },
		{ offsetof(EnrollDemographics, nationality), "" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(v); i++) {
		EnrollDemographics d = good_man();
		*(const char **)((char *)&d + v[i].offset) = v[i].value;
		g_autoptr(ValidateReport) r = check(&d, &p, "", "", "");
	}
}

/* ---- the NIK on its own ---- */

static void
test_nik_parse_good(void **state)
{
	(void)state;
	static const struct {
		const char *nik;
		const char *birth;
		gboolean female;
		int serial;
	} v[] = {
		/* The worked examples of section 1.1. */
		{ "3515140508680001", "1968-08-05", FALSE, 1 },
		{ "3515144508680002", "1968-08-05", TRUE, 2 },
		{ "6172017112990001", "1999-12-31", TRUE, 1 },
		{ "6172010101250007", "2025-01-01", FALSE, 7 },
		/* The day itself is not "in the future" */
		{ "6172011506250001", "2025-06-15", FALSE, 1 },
		/* ... but a fortnight later is, so the century before. */
		{ "6172010107250001", "1925-07-01", FALSE, 1 },
		/* 29 Feb of "00" exists only in 2000; of "04", in both centuries. */
		{ "6172012902000001", "2000-02-29", FALSE, 1 },
		{ "6172016902000001", "2000-02-29", TRUE, 1 },
		{ "6172012902040001", "2004-02-29", FALSE, 1 },
		{ "6172014101109999", "2010-01-01", TRUE, 9999 },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(v); i++) {
		NikInfo n;
		GError *error = NULL;
		memset(&n, 0x55, sizeof n);
		if (nik_parse(v[i].nik, "2025-06-15", &n, &error) < 0)
			fail_msg("%s: %s", v[i].nik, error->message);
		assert_string_equal(n.birth_date, v[i].birth);
		assert_int_equal(n.female, v[i].female);
		assert_int_equal(n.serial, v[i].serial);
		assert_int_equal(n.yy, atoi(v[i].birth + 2) % 100);
		assert_int_equal(n.year, atoi(v[i].birth));
		assert_int_equal(n.month, atoi(v[i].birth + 5));
		assert_int_equal(n.day, atoi(v[i].birth + 8));
		assert_int_equal(strlen(n.region), 6);
		assert_memory_equal(n.region, v[i].nik, 6);
	}
	/* Today's date by default: a 1990 birth is a 1990 birth for decades yet. */
	NikInfo n;
	assert_int_equal(nik_parse("6172010508900001", NULL, &n, NULL), 0);
	assert_int_equal(n.year, 1990);
}

static void
test_nik_parse_bad(void **state)
{
	(void)state;
	static const struct {
		const char *nik;
		NikError code;
	} v[] = {
		{ "617201050890001", NIK_ERROR_LENGTH },
		{ "61720105089000011", NIK_ERROR_LENGTH },
		{ "", NIK_ERROR_LENGTH },
		{ NULL, NIK_ERROR_LENGTH },
		{ "61720105089O0001", NIK_ERROR_DIGITS },
		{ "6172 10508900001", NIK_ERROR_DIGITS },
		{ "+172010508900001", NIK_ERROR_DIGITS },
		{ "6172010008900001", NIK_ERROR_DAY }, /* day 00 */
		{ "6172013208900001", NIK_ERROR_DAY }, /* 32 */
		{ "6172014008900001", NIK_ERROR_DAY }, /* 40: neither a man's nor a woman's */
		{ "6172017208900001", NIK_ERROR_DAY }, /* a woman's day 32 */
		{ "6172019908900001", NIK_ERROR_DAY },
		{ "6172010500900001", NIK_ERROR_MONTH }, /* month 00 */
		{ "6172010513900001", NIK_ERROR_MONTH },
		{ "6172013102900001", NIK_ERROR_DATE }, /* 31 Feb */
		{ "6172013002900001", NIK_ERROR_DATE }, /* 30 Feb */
		{ "6172013104900001", NIK_ERROR_DATE }, /* 31 Apr */
		{ "6172017102900001", NIK_ERROR_DATE }, /* a woman's 31 Feb */
		{ "6172017106900001", NIK_ERROR_DATE }, /* a woman's 31 Jun */
		{ "6172012902990001", NIK_ERROR_DATE }, /* 29 Feb: 1999 and 2099 are common */
		{ "6172016902010001", NIK_ERROR_DATE }, /* a woman's 29 Feb 1901/2001 */
		{ "6172010508900000", NIK_ERROR_SERIAL },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(v); i++) {
		NikInfo n;
		GError *error = NULL;
		memset(&n, 0x55, sizeof n);
		if (nik_parse(v[i].nik, "2025-06-15", &n, &error) == 0)
			fail_msg("%s parsed", v[i].nik);
		if (!g_error_matches(error, NIK_ERROR, (gint)v[i].code))
			fail_msg("%s: wanted code %d, got %s %d: %s", v[i].nik, v[i].code,
				 g_quark_to_string(error->domain), error->code, error->message);
		g_error_free(error);
		/* OUT is written only on success. */
		assert_int_equal(n.serial, 0x55555555);
	}
}

/* ---- the NIK in a record ---- */

static void
test_nik_regions(void **state)
{
	(void)state;
	ValidatePolicy p = policy();
	EnrollDemographics d = good_man();

	/* 61.72.09 never existed: Singkawang has 5 kecamatan. */
	d.nik = "6172090508900001";
	g_autoptr(ValidateReport) r1 = check(&d, &p, "nik.kecamatan-unknown", "", "");
	assert_false(r1->facts.kecamatan_retired);
	/* There is no province 99, nor 00. */
	d.nik = "9901010508900001";
	g_autoptr(ValidateReport) r2 = check(&d, &p, "nik.province-unknown", "", "");
	d.nik = "0001010508900001";
	g_autoptr(ValidateReport) r3 = check(&d, &p, "nik.province-unknown", "", "");
	/* A regency code with kecamatan 00 is not a kecamatan. */
	d.nik = "6172000508900001";
	g_autoptr(ValidateReport) r4 = check(&d, &p, "nik.kecamatan-unknown", "", "");

	/*
	 * Born in Kecamatan Merauke (91.01.01, editions 2016-2022) before Papua
	 * Selatan split off: still that NIK, now living in Singkawang.
	 */
	d.nik = "9101010508900001";
	g_autoptr(ValidateReport) r5 = check(&d, &p, "", "", "nik.kecamatan-retired");
	assert_true(r5->facts.kecamatan_retired);
	assert_true(r5->facts.nik_parsed);
	const ValidateIssue *i = validate_find(r5->notices, "nik.kecamatan-retired");
	assert_string_equal(i->field, "nik");
	assert_string_equal(i->value, "9101010508900001");
	assert_non_null(strstr(i->message, "91.01.01"));
	assert_non_null(strstr(i->message, "2016-2022"));
	/* Makbon, Papua Barat (92.01.01), last seen in 2023. */
	d.nik = "9201010508900001";
	g_autoptr(ValidateReport) r6 = check(&d, &p, "", "", "nik.kecamatan-retired");
}

static void
test_nik_structure(void **state)
{
	(void)state;
	ValidatePolicy p = policy();
	EnrollDemographics d = good_man();

	/* Day 00, month 13 and serial 0000 at once; the region part is fine. */
	d.nik = "6172010013900000";
	g_autoptr(ValidateReport) r1 = check(&d, &p, "nik.day nik.month nik.serial", "", "");
	assert_false(r1->facts.nik_parsed);
	/* Region, day and serial all wrong at once. */
	d.nik = "6172097208900000";
	g_autoptr(ValidateReport) r2 =
		check(&d, &p, "nik.kecamatan-unknown nik.day nik.serial", "", "");
	const ValidateIssue *day = validate_find(r2->errors, "nik.day");
	assert_non_null(strstr(day->message, "72"));
	assert_non_null(strstr(day->message, "41-71"));
	assert_string_equal(day->value, "6172097208900000");
	/* 31 Feb, for a man and for a woman (day 71). */
	d.nik = "6172013102900001";
	g_autoptr(ValidateReport) r3 = check(&d, &p, "nik.date", "", "");
	d.nik = "6172017102900001";
	d.gender = "PEREMPUAN";
	g_autoptr(ValidateReport) r4 = check(&d, &p, "nik.date", "", "");
	/* 29 Feb 1999 does not exist; the stated birth date is then no match either. */
	d = good_man();
	d.nik = "6172012902990001";
	d.birth_date = "1999-03-01";
	g_autoptr(ValidateReport) r5 = check(&d, &p, "nik.date", "", "");
	/* 29 Feb 2000 does. */
	d.nik = "6172012902000001";
	d.birth_date = "2000-02-29";
	g_autoptr(ValidateReport) r6 = check(&d, &p, "", "", "");
	assert_string_equal(r6->facts.nik.birth_date, "2000-02-29");
	/* Too short and not digits: nothing else about the NIK is judged. */
	d.nik = "617201";
	g_autoptr(ValidateReport) r7 = check(&d, &p, "nik.length", "", "");
	assert_false(r7->facts.nik_parsed);
	d.nik = "617201050890000X";
	g_autoptr(ValidateReport) r8 = check(&d, &p, "nik.digits", "", "");
	assert_non_null(strstr(validate_find(r8->errors, "nik.digits")->message, "position 16"));
}

/* Section 1.2: the NIK never changes, so disagreement with the record is a warning. */
static void
test_nik_mismatch_warnings(void **state)
{
	(void)state;
	ValidatePolicy p = policy();
	EnrollDemographics d = good_man();

	d.birth_date = "1990-08-06";
	g_autoptr(ValidateReport) r1 = check(&d, &p, "", "nik.birth-date-mismatch", "");
	const ValidateIssue *w = validate_find(r1->warnings, "nik.birth-date-mismatch");
	assert_string_equal(w->field, "nik");
	assert_non_null(strstr(w->message, "1990-08-05"));
	assert_non_null(strstr(w->message, "1990-08-06"));
	/* The year's digits differ. */
	d.birth_date = "1991-08-05";
	g_autoptr(ValidateReport) r2 = check(&d, &p, "", "nik.birth-date-mismatch", "");
	/* A man's NIK for a woman, and a woman's for a man. */
	d = good_man();
	d.gender = "PEREMPUAN";
	g_autoptr(ValidateReport) r3 = check(&d, &p, "", "nik.gender-mismatch", "");
	d = good_woman();
	d.gender = "LAKI-LAKI";
	g_autoptr(ValidateReport) r4 = check(&d, &p, "", "nik.gender-mismatch", "");
	/* Both at once; the record is still acceptable. */
	d.birth_date = "1990-09-05";
	g_autoptr(ValidateReport) r5 =
		check(&d, &p, "", "nik.birth-date-mismatch nik.gender-mismatch", "");
	/* The serial being wrong does not hide the comparisons. */
	d.nik = "6172014508900000";
	g_autoptr(ValidateReport) r6 =
		check(&d, &p, "nik.serial", "nik.birth-date-mismatch nik.gender-mismatch", "");
	/* The KK number typed from the NIK. */
	d = good_man();
	d.kk = d.nik;
	g_autoptr(ValidateReport) r7 = check(&d, &p, "", "kk.equals-nik", "");
}

/* The century comes from the stated birth date when there is one. */
static void
test_nik_century(void **state)
{
	(void)state;
	ValidatePolicy p = policy();
	EnrollDemographics d = good_man();

	d.nik = "6172010508050001";
	d.birth_date = "2005-08-05";
	g_autoptr(ValidateReport) r1 = check(&d, &p, "", "", "");
	assert_int_equal(r1->facts.nik.year, 2005);
	d.birth_date = "1905-08-05";
	g_autoptr(ValidateReport) r2 = check(&d, &p, "", "", "");
	assert_int_equal(r2->facts.nik.year, 1905);
	assert_int_equal(r2->facts.age, 119);
	/* Without a usable birth date: the most recent century not in the future. */
	d.birth_date = NULL;
	g_autoptr(ValidateReport) r3 = check(&d, &p, "birth_date.missing", "", "");
	assert_true(r3->facts.nik_parsed);
	assert_int_equal(r3->facts.nik.year, 2005);
	assert_int_equal(r3->facts.age, -1);
}

/* ---- the age rule (section 2.5) ---- */

static void
test_age_rule(void **state)
{
	(void)state;
	ValidatePolicy p = policy();
	EnrollDemographics d = good_man();

	/* 15 and never married: refused. */
	d.nik = "6172010101100001";
	d.birth_date = "2010-01-01";
	d.marital_status = "BELUM KAWIN";
	d.occupation = "PELAJAR/MAHASISWA";
	g_autoptr(ValidateReport) r1 = check(&d, &p, "age.under-minimum", "", "");
	assert_int_equal(r1->facts.age, 15);
	assert_string_equal(r1->facts.turns_17, "2027-01-01");
	assert_false(r1->facts.print_hold);
	const ValidateIssue *i = validate_find(r1->errors, "age.under-minimum");
	assert_string_equal(i->field, "birth_date");
	assert_string_equal(i->value, "2010-01-01");
	assert_non_null(strstr(i->message, "15"));
	assert_non_null(strstr(i->message, "17"));
	/* Married at 15: a KTP-el is due on marriage, printable at once. */
	d.marital_status = "KAWIN";
	g_autoptr(ValidateReport) r2 = check(&d, &p, "", "", "");
	assert_true(r2->facts.ever_married);
	assert_false(r2->facts.print_hold);
	/* Divorced counts as ever married. */
	d.marital_status = "CERAI HIDUP";
	g_autoptr(ValidateReport) r3 = check(&d, &p, "", "", "");
	/* A marital status that is not one of the four does not count as married. */
	d.marital_status = "MENIKAH";
	g_autoptr(ValidateReport) r4 =
		check(&d, &p, "marital_status.unknown age.under-minimum", "", "");
	/* 15 with min_age 16: still refused, and the message names 16. */
	d.marital_status = "BELUM KAWIN";
	p.min_age = 16;
	g_autoptr(ValidateReport) r5 = check(&d, &p, "age.under-minimum", "", "");
	assert_non_null(strstr(validate_find(r5->errors, "age.under-minimum")->message, "16"));
}

static void
test_age_sixteen(void **state)
{
	(void)state;
	ValidatePolicy p = policy();
	EnrollDemographics d = good_man();

	d.nik = "6172011009080001";
	d.birth_date = "2008-09-10";
	d.marital_status = "BELUM KAWIN";
	d.occupation = "PELAJAR/MAHASISWA";
	/* The default minimum is 17. */
	g_autoptr(ValidateReport) r1 = check(&d, &p, "age.under-minimum", "", "");
	/* A school drive records 16-year-olds: allowed, but held until the 17th birthday. */
	p.min_age = 16;
	g_autoptr(ValidateReport) r2 = check(&d, &p, "", "", "age.print-hold");
	assert_int_equal(r2->facts.age, 16);
	assert_true(r2->facts.print_hold);
	assert_string_equal(r2->facts.turns_17, "2025-09-10");
	const ValidateIssue *i = validate_find(r2->notices, "age.print-hold");
	assert_string_equal(i->value, "2025-09-10");
	assert_non_null(strstr(i->message, "2025-09-10"));
	/* Married at 16: no hold. */
	d.marital_status = "KAWIN";
	g_autoptr(ValidateReport) r3 = check(&d, &p, "", "", "");
	assert_false(r3->facts.print_hold);
	/* On the 17th birthday itself the person is 17. */
	d.marital_status = "BELUM KAWIN";
	p.recording_date = "2025-09-10";
	g_autoptr(ValidateReport) r4 = check(&d, &p, "", "", "");
	assert_int_equal(r4->facts.age, 17);
	p.min_age = 17;
	g_autoptr(ValidateReport) r5 = check(&d, &p, "", "", "");
	p.recording_date = "2025-09-09";
	g_autoptr(ValidateReport) r6 = check(&d, &p, "age.under-minimum", "", "");
	assert_int_equal(r6->facts.age, 16);
}

/* Born 29 Feb 2008: 17 years old once 28 Feb 2025 is over. */
static void
test_age_leap_day(void **state)
{
	(void)state;
	ValidatePolicy p = policy();
	EnrollDemographics d = good_man();

	d.nik = "6172012902080001";
	d.birth_date = "2008-02-29";
	d.marital_status = "BELUM KAWIN";
	p.min_age = 16;
	p.recording_date = "2025-02-28";
	g_autoptr(ValidateReport) r1 = check(&d, &p, "", "", "age.print-hold");
	assert_int_equal(r1->facts.age, 16);
	assert_string_equal(r1->facts.turns_17, "2025-03-01");
	p.recording_date = "2025-03-01";
	g_autoptr(ValidateReport) r2 = check(&d, &p, "", "", "");
	assert_int_equal(r2->facts.age, 17);
	/* In a leap year the birthday is the day itself: 16 on 29 Feb 2024, not before. */
	p.recording_date = "2024-02-28";
	g_autoptr(ValidateReport) r3 = check(&d, &p, "age.under-minimum", "", "");
	assert_int_equal(r3->facts.age, 15);
	p.recording_date = "2024-02-29";
	g_autoptr(ValidateReport) r4 = check(&d, &p, "", "", "age.print-hold");
	assert_int_equal(r4->facts.age, 16);
	/* Born 28 Feb: no shift. */
	d.nik = "6172012802080001";
	d.birth_date = "2008-02-28";
	p.recording_date = "2025-02-28";
	g_autoptr(ValidateReport) r5 = check(&d, &p, "", "", "");
	assert_string_equal(r5->facts.turns_17, "2025-02-28");
	assert_int_equal(r5->facts.age, 17);
}

/* ---- each field's rules ---- */

typedef struct {
	size_t offset;
	const char *value;
	const char *rules; /* the errors expected, space-separated */
} FieldCase;

#define F(field) offsetof(EnrollDemographics, field)

static const FieldCase field_cases[] = {
	{ F(nik), NULL, "nik.missing" },
	{ F(nik), "", "nik.missing" },
	{ F(nik), "617201050890001", "nik.length" },
	{ F(nik), "61720105089000a1", "nik.digits" },
	{ F(kk), NULL, "kk.missing" },
	{ F(kk), "617201120315000", "kk.length" },
	{ F(kk), "6172011203150O04", "kk.digits" },
	{ F(kk), "6172091203150004", "kk.region-unknown" },
	{ F(kk), "9901011203150004", "kk.region-unknown" },
	{ F(name), NULL, "name.missing" },
	{ F(name), "Budi Santoso", "name.chars" },
	{ F(name), "BUDI SANTOSO 2", "name.chars" },
	{ F(name), "BUDI-SANTOSO", "name.chars" },
	{ F(name), "JOS\xC3\x89 RIZAL", "name.chars" },
	{ F(name), "BUDI  SANTOSO", "name.spacing" },
	{ F(name), " BUDI", "name.spacing" },
	{ F(name), "BUDI ", "name.spacing" },
	{ F(name), "...", "name.no-letter" },
	{ F(name), "ABCDEFGHIJ ABCDEFGHIJ ABCDEFGHIJ ABCDEFGHIJ ABCDEFGHIJ ABCDEF" /* 61 */,
	  "name.length" },
	{ F(name), "abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij ",
	  "name.length name.chars name.spacing" },
	{ F(birth_place), NULL, "birth_place.missing" },
	{ F(birth_place), "Singkawang", "birth_place.chars" },
	{ F(birth_place), "SINGKAWANG 2", "birth_place.chars" },
	{ F(birth_place), " SINGKAWANG", "birth_place.spacing" },
	{ F(birth_place), "-", "birth_place.no-letter" },
	{ F(birth_place), "KAMPUANG TANJUANG KOTO MAMBANG SUNGAI DURIAN BARAT LAUT",
	  "birth_place.length" },
	{ F(birth_date), NULL, "birth_date.missing" },
	{ F(birth_date), "1990/08/05", "birth_date.format" },
	{ F(birth_date), "1990-8-5", "birth_date.format" },
	{ F(birth_date), "05-08-1990", "birth_date.format" },
	{ F(birth_date), "1990-02-30", "birth_date.invalid" },
	{ F(birth_date), "1990-13-05", "birth_date.invalid" },
	{ F(birth_date), "2001-02-29", "birth_date.invalid" },
	{ F(birth_date), "2025-06-16", "birth_date.future" },
	{ F(birth_date), "1899-12-31", "birth_date.too-old" },
	{ F(gender), NULL, "gender.missing" },
	{ F(gender), "laki-laki", "gender.unknown" },
	{ F(gender), "L", "gender.unknown" },
	{ F(gender), "LAKI LAKI", "gender.unknown" },
	{ F(blood_type), NULL, "blood_type.missing" },
	{ F(blood_type), "", "blood_type.missing" },
	{ F(blood_type), "C", "blood_type.unknown" },
	{ F(blood_type), "o", "blood_type.unknown" },
	{ F(blood_type), "AB +", "blood_type.unknown" },
	{ F(religion), NULL, "religion.missing" },
	{ F(religion), "KATOLIK", "religion.unknown" },
	{ F(religion), "BUDDHA", "religion.unknown" },
	{ F(religion), "ISLAM ", "religion.unknown" },
	{ F(religion), "KEPERCAYAAN", "religion.unknown" },
	{ F(marital_status), NULL, "marital_status.missing" },
	{ F(marital_status), "kawin", "marital_status.unknown" },
	{ F(occupation), NULL, "occupation.missing" },
	{ F(occupation), "PNS", "occupation.unknown" },
	{ F(occupation), "PROGRAMMER", "occupation.unknown" },
	{ F(address), NULL, "address.missing" },
	{ F(address), "jl. merdeka", "address.chars" },
	{ F(address), "JL. MERDEKA\n", "address.chars" },
	{ F(address), "JL.  MERDEKA", "address.spacing" },
	{ F(address),
	  "JL. MERDEKA NO. 1 JL. MERDEKA NO. 2 JL. MERDEKA NO. 3 JL. MERDEKA NO. 4 "
	  "JL. MERDEKA NO. 5 JL. MERDEKA NO 6",
	  "address.length" },
	{ F(rt), NULL, "rt.missing" },
	{ F(rt), "1", "rt.format" },
	{ F(rt), "01", "rt.format" },
	{ F(rt), "0001", "rt.format" },
	{ F(rt), "00a", "rt.format" },
	{ F(rt), "000", "rt.zero" },
	{ F(rw), NULL, "rw.missing" },
	{ F(rw), "2", "rw.format" },
	{ F(rw), "000", "rw.zero" },
	{ F(village_code), NULL, "village_code.missing" },
	{ F(village_code), "61.72.01", "village_code.format" },
	{ F(village_code), "61720110", "village_code.format" },
	{ F(village_code), "61.72.01.1099", "village_code.unknown" },
	{ F(village_code), "91.01.01.1001", "village_code.unknown" },
	{ F(village_code), "61.71.01.1002", "village_code.out-of-area" },
	{ F(citizenship), NULL, "citizenship.missing" },
	{ F(citizenship), "wni", "citizenship.unknown" },
	{ F(citizenship), "INDONESIA", "citizenship.unknown" },
	{ F(nationality), "MALAYSIA", "nationality.unexpected" },
};

static void
test_field_rules(void **state)
{
	(void)state;
	ValidatePolicy p = policy();
	for (size_t i = 0; i < G_N_ELEMENTS(field_cases); i++) {
		const FieldCase *c = &field_cases[i];
		EnrollDemographics d = good_man();
		*(const char **)((char *)&d + c->offset) = c->value;
		g_autoptr(ValidateReport) r = run(&d, &p);
		expect(r, r->errors, c->rules);
		expect(r, r->warnings, "");
		/* Each error carries the field, the offending value and a message. */
		for (guint k = 0; k < r->errors->len; k++) {
			const ValidateIssue *v = r->errors->pdata[k];
			assert_true(g_str_has_prefix(v->rule, v->field));
			assert_int_equal(v->rule[strlen(v->field)], '.');
			assert_true(*v->message);
			if (c->value && *c->value)
				assert_string_equal(v->value, c->value);
			else
				assert_null(v->value);
		}
	}
}

/* Messages suggest the canonical spelling. */
static void
test_suggestions(void **state)
{
	(void)state;
	ValidatePolicy p = policy();
	static const struct {
		size_t offset;
		const char *value;
		const char *rule;
		const char *hint;
	} v[] = {
		{ F(religion), "KATOLIK", "religion.unknown", "\"KATHOLIK\"" },
		{ F(religion), "KEPERCAYAAN", "religion.unknown",
		  "\"KEPERCAYAAN TERHADAP TUHAN YME\"" },
		{ F(gender), "laki-laki", "gender.unknown", "\"LAKI-LAKI\"" },
		{ F(occupation), "PNS", "occupation.unknown", "\"APARATUR SIPIL NEGARA (ASN)\"" },
		{ F(rt), "7", "rt.format", "007" },
		{ F(name), "Budi", "name.chars", "lower-case 'u' at position 2" },
		{ F(name), "BUDI\xFF", "name.chars", "byte 0xFF at position 5" },
		{ F(village_code), "61.71.01.1002", "village_code.out-of-area", "Kota Pontianak" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(v); i++) {
		EnrollDemographics d = good_man();
		*(const char **)((char *)&d + v[i].offset) = v[i].value;
		g_autoptr(ValidateReport) r = run(&d, &p);
		const ValidateIssue *issue = validate_find(r->errors, v[i].rule);
		if (!issue || !strstr(issue->message, v[i].hint))
			fail_msg("%s: wanted %s naming %s; got %s", v[i].value, v[i].rule,
				 v[i].hint, issue ? issue->message : "no such error");
		/* Values and messages are valid UTF-8 even when the input is not. */
		assert_true(g_utf8_validate(issue->message, -1, NULL));
		assert_true(g_utf8_validate(issue->value, -1, NULL));
	}
}

static void
test_citizenship(void **state)
{
	(void)state;
	ValidatePolicy p = policy();
	EnrollDemographics d = good_man();

	d.citizenship = "WNA";
	g_autoptr(ValidateReport) r1 = check(&d, &p, "nationality.missing", "", "");
	d.nationality = "";
	g_autoptr(ValidateReport) r2 = check(&d, &p, "nationality.missing", "", "");
	d.nationality = "MALAYSIA";
	g_autoptr(ValidateReport) r3 = check(&d, &p, "", "", "");
	d.nationality = "malaysia";
	g_autoptr(ValidateReport) r4 = check(&d, &p, "nationality.chars", "", "");
	d.nationality = "REPUBLIC OF THE CONGO-BRAZZAVILLE AND SOMEWHERE ELSE";
	g_autoptr(ValidateReport) r5 = check(&d, &p, "nationality.length", "", "");
	/* An unknown citizenship is reported alone: the nationality cannot be judged. */
	d.citizenship = "XYZ";
	d.nationality = "malaysia";
	g_autoptr(ValidateReport) r6 = check(&d, &p, "citizenship.unknown", "", "");
}

static void
test_out_of_area(void **state)
{
	(void)state;
	ValidatePolicy p = policy();
	EnrollDemographics d = good_man();

	d.village_code = "61.71.01.1002";
	g_autoptr(ValidateReport) r1 = check(&d, &p, "village_code.out-of-area", "", "");
	p.allow_out_of_area = TRUE;
	g_autoptr(ValidateReport) r2 = check(&d, &p, "", "", "");
	assert_string_equal(r2->facts.regency_name, "Kota Pontianak");
	assert_string_equal(r2->facts.village_name, "Benuamelayu Laut");
	/* An office that accepts everyone need not name its regency. */
	p.office_regency = NULL;
	g_autoptr(ValidateReport) r3 = check(&d, &p, "", "", "");
	/* Another office: its own regency is in area. */
	p.allow_out_of_area = FALSE;
	p.office_regency = "6171";
	g_autoptr(ValidateReport) r4 = check(&d, &p, "", "", "");
}

/* ---- all at once ---- */

static void
test_all_at_once(void **state)
{
	(void)state;
	ValidatePolicy p = policy();
	EnrollDemographics d = good_man();

	/* Five faults in five fields: five errors, not the first one only. */
	d.nik = "617201050890001";
	d.name = "budi santoso";
	d.gender = "X";
	d.rt = "1";
	d.village_code = "61.72.01.1099";
	g_autoptr(ValidateReport) r1 =
		check(&d, &p, "nik.length name.chars gender.unknown rt.format village_code.unknown",
		      "", "");
	assert_int_equal(r1->errors->len, 5);

	/* Nothing at all: every field is missing, each reported. */
	EnrollDemographics empty = { 0 };
	g_autoptr(ValidateReport) r2 =
		check(&empty, &p,
		      "nik.missing kk.missing name.missing birth_place.missing birth_date.missing "
		      "gender.missing blood_type.missing religion.missing marital_status.missing "
		      "occupation.missing address.missing rt.missing rw.missing "
		      "village_code.missing citizenship.missing",
		      "", "");
	assert_int_equal(r2->facts.age, -1);
	assert_false(r2->facts.nik_parsed);
	assert_null(r2->facts.village_name);
}

/* ---- the policy ---- */

static void
test_policy(void **state)
{
	(void)state;
	EnrollDemographics d = good_man();
	static const struct {
		const char *office;
		gboolean allow;
		int min_age;
		const char *date;
	} bad[] = {
		{ "61.72", FALSE, 17, "2025-02-30" }, { "61.72", FALSE, 17, "today" },
		{ "61.72", FALSE, 17, "" },           { "61.72", FALSE, 0, "2025-06-15" },
		{ "61.72", FALSE, 18, "2025-06-15" }, { "61.99", FALSE, 17, "2025-06-15" },
		{ "61", FALSE, 17, "2025-06-15" },    { "61.72.01", FALSE, 17, "2025-06-15" },
		{ NULL, FALSE, 17, "2025-06-15" },    { "61.99", TRUE, 17, "2025-06-15" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		ValidatePolicy p = { bad[i].office, bad[i].allow, bad[i].min_age, bad[i].date };
		GError *error = NULL;
		ValidateReport *r = validate_enrollment(db, &d, &p, &error);
		if (r)
			fail_msg("policy case %zu accepted", i);
		assert_true(g_error_matches(error, VALIDATE_ERROR, VALIDATE_ERROR_POLICY));
		g_error_free(error);
	}
	/* The recording date defaults to today. */
	ValidatePolicy p = VALIDATE_POLICY_INIT;
	p.office_regency = "6172";
	g_autoptr(ValidateReport) r = check(&d, &p, "", "", "");
	assert_true(r->facts.age >= 34);
	validate_report_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_man),
		cmocka_unit_test(test_valid_woman),
		cmocka_unit_test(test_valid_enumerations),
		cmocka_unit_test(test_valid_variants),
		cmocka_unit_test(test_nik_parse_good),
		cmocka_unit_test(test_nik_parse_bad),
		cmocka_unit_test(test_nik_regions),
		cmocka_unit_test(test_nik_structure),
		cmocka_unit_test(test_nik_mismatch_warnings),
		cmocka_unit_test(test_nik_century),
		cmocka_unit_test(test_age_rule),
		cmocka_unit_test(test_age_sixteen),
		cmocka_unit_test(test_age_leap_day),
		cmocka_unit_test(test_field_rules),
		cmocka_unit_test(test_suggestions),
		cmocka_unit_test(test_citizenship),
		cmocka_unit_test(test_out_of_area),
		cmocka_unit_test(test_all_at_once),
		cmocka_unit_test(test_policy),
	};
	tu_quiet_logs();
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
