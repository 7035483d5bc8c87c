/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/region: the shipped reference files in config/data
 * load whole (counts per level, the names that carry commas, quotes and
 * UTF-8, a kecamatan retired in the 2022 Papua split) and quickly; codes are
 * accepted dotted or as NIK digits and nothing else; then small files in a
 * temporary directory exercise the CSV reader (quoting, CRLF or LF, a byte
 * order mark, no final newline) and every malformed row it must refuse with
 * "FILE:LINE: reason".
 */
#include <string.h>

#include "core/region.h"
#include "testutil.h"

/* config/data under EKTP_SOURCE_DIR (tests/run sets it), else under the cwd. */
static char *
data_dir(void)
{
	const char *src = g_getenv("EKTP_SOURCE_DIR");
	return g_build_filename(src && *src ? src : ".", "config", "data", NULL);
}

static RegionDb *
load_real(void)
{
	g_autofree char *dir = data_dir();
	GError *error = NULL;
	RegionDb *db = region_db_load(dir, &error);
	if (!db)
		fail_msg("region_db_load %s: %s", dir, error->message);
	return db;
}

/* The whole shipped data set is shared by the lookup tests (see main()). */
static int
setup_real(void **state)
{
	*state = load_real();
	return 0;
}

static int
teardown_real(void **state)
{
	region_db_free(*state);
	return 0;
}

static void
test_real_counts(void **state)
{
	const RegionDb *db = *state;
	RegionStats s;
	region_db_stats(db, &s);
	/* 91,599 rows in wilayah.csv (data README), split by level. */
	assert_int_equal(s.provinces, 38);
	assert_int_equal(s.regencies, 514);
	assert_int_equal(s.kecamatan, 7285);
	assert_int_equal(s.villages, 83762);
	assert_int_equal(s.provinces + s.regencies + s.kecamatan + s.villages, 91599);
	assert_int_equal(s.history_codes, 8457);
	assert_int_equal(s.retired_kecamatan, 594);
	assert_int_equal(s.population_rows, 553);
	assert_int_equal(s.current_edition, 2025);
	assert_int_equal(region_current_edition(db), 2025);
}

static void
test_real_names(void **state)
{
	const RegionDb *db = *state;
	/* The Singkawang rows of ektp-domain.md section 1.4. */
	assert_string_equal(region_village_name(db, "61.72.01.1001"), "Roban");
	assert_string_equal(region_village_name(db, "6172011001"), "Roban");
	assert_string_equal(region_village_name(db, "61.72.04.1007"), "Semelagi Kecil");
	assert_string_equal(region_name(db, "61.72.02"), "Singkawang Barat");
	assert_string_equal(region_name(db, "617202"), "Singkawang Barat");
	assert_string_equal(region_name(db, "61"), "Kalimantan Barat");
	assert_string_equal(region_regency_name(db, "61.72"), "Kota Singkawang");
	assert_string_equal(region_regency_name(db, "6172"), "Kota Singkawang");
	/* The only quoted names in the file: commas inside quotes. */
	assert_string_equal(region_village_name(db, "12.07.28.1007"), "Lubuk Pakam I,II");
	assert_string_equal(region_village_name(db, "14.02.09.2010"), "Lambang Sari I, II, III");
	/* An apostrophe, and a UTF-8 right single quotation mark. */
	assert_string_equal(region_village_name(db, "11.01.02.2018"), "Pasi Kuala Ba'u");
	assert_string_equal(region_village_name(db, "53.07.01.2021"), "Regapu\xE2\x80\x99u");
	/* The wrong level, or no such code. */
	assert_null(region_village_name(db, "61.72.01"));
	assert_null(region_regency_name(db, "61.72.01"));
	assert_null(region_regency_name(db, "61"));
	assert_null(region_village_name(db, "61.72.01.1099"));
	assert_null(region_name(db, "61.72.09"));
	assert_null(region_name(db, NULL));
	assert_null(region_name(db, ""));
}

static void
test_real_history(void **state)
{
	const RegionDb *db = *state;
	int first = -1, last = -1;

	assert_true(region_kecamatan_known(db, "617201", &first, &last));
	assert_int_equal(first, 2016);
	assert_int_equal(last, 2025);
	assert_true(region_kecamatan_known(db, "61.72.05", NULL, NULL));
	/* Merauke moved from Papua (91.01) to Papua Selatan (93.01) in 2022. */
	assert_true(region_kecamatan_known(db, "910101", &first, &last));
	assert_int_equal(first, 2016);
	assert_int_equal(last, 2022);
	assert_null(region_name(db, "91.01.01"));
	assert_non_null(region_name(db, "93.01"));
	assert_true(region_kecamatan_known(db, "92.01.01", NULL, &last));
	assert_true(last < 2025);
	/* Never a kecamatan. */
	assert_false(region_kecamatan_known(db, "617209", NULL, NULL));
	assert_false(region_kecamatan_known(db, "990101", NULL, NULL));
	/* Not a kecamatan-level code, though a known one. */
	assert_false(region_kecamatan_known(db, "6172", NULL, NULL));
	assert_false(region_kecamatan_known(db, "6172011001", NULL, NULL));
	/* Provinces and regencies have history too; villages have none. */
	assert_true(region_code_known(db, "61", &first, &last));
	assert_int_equal(first, 2016);
	assert_true(region_code_known(db, "93", &first, NULL));
	assert_int_equal(first, 2023);
	assert_true(region_code_known(db, "91.01", NULL, &last));
	assert_int_equal(last, 2022);
	assert_false(region_code_known(db, "99", NULL, NULL));
	assert_false(region_code_known(db, "61.72.01.1001", NULL, NULL));
}

static void
test_real_population(void **state)
{
	const RegionDb *db = *state;
	RegionPopulation p;

	assert_true(region_population(db, "61.72", &p));
	assert_int_equal(p.male, 127751);
	assert_int_equal(p.female, 122203);
	assert_int_equal(p.total, 249954);
	assert_true(region_population(db, "6172", &p));
	assert_int_equal(p.total, 249954);
	assert_true(region_population(db, "61", &p));
	assert_int_equal(p.total, 5646268);
	assert_true(region_population(db, "0", &p));
	assert_int_equal(p.total, 284973643);
	memset(&p, 0x55, sizeof p);
	assert_false(region_population(db, "61.72.01", &p));
	assert_false(region_population(db, "61.99", &p));
	assert_false(region_population(db, NULL, &p));
	assert_int_equal(p.total, 0x5555555555555555);
}

static void
test_code_canon(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		RegionLevel level;
		const char *out;
	} v[] = {
		{ "61", REGION_LEVEL_PROVINCE, "61" },
		{ "6172", REGION_LEVEL_REGENCY, "61.72" },
		{ "61.72", REGION_LEVEL_REGENCY, "61.72" },
		{ "617201", REGION_LEVEL_KECAMATAN, "61.72.01" },
		{ "61.72.01", REGION_LEVEL_KECAMATAN, "61.72.01" },
		{ "6172011001", REGION_LEVEL_VILLAGE, "61.72.01.1001" },
		{ "61.72.01.1001", REGION_LEVEL_VILLAGE, "61.72.01.1001" },
		{ "", REGION_LEVEL_NONE, "" },
		{ "6", REGION_LEVEL_NONE, "" },
		{ "617", REGION_LEVEL_NONE, "" },
		{ "61720110", REGION_LEVEL_NONE, "" },
		{ "6172.01", REGION_LEVEL_NONE, "" },
		{ "61.7201", REGION_LEVEL_NONE, "" },
		{ "61.72.", REGION_LEVEL_NONE, "" },
		{ ".61.72", REGION_LEVEL_NONE, "" },
		{ "61..72", REGION_LEVEL_NONE, "" },
		{ "61.72.01.100", REGION_LEVEL_NONE, "" },
		{ "61.72.01.10011", REGION_LEVEL_NONE, "" },
		{ "61.72.01.1001.1", REGION_LEVEL_NONE, "" },
		{ "61.7a", REGION_LEVEL_NONE, "" },
		{ "6172a1", REGION_LEVEL_NONE, "" },
		{ " 6172", REGION_LEVEL_NONE, "" },
		{ "61-72", REGION_LEVEL_NONE, "" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(v); i++) {
		char out[REGION_CODE_MAX] = "garbage";
		RegionLevel level = region_code_canon(v[i].in, out);
		if (level != v[i].level || strcmp(out, v[i].out) != 0)
			fail_msg("\"%s\": level %d \"%s\", wanted %d \"%s\"", v[i].in, level, out,
				 v[i].level, v[i].out);
	}
	assert_int_equal(region_code_canon(NULL, NULL), REGION_LEVEL_NONE);
	assert_int_equal(region_code_canon("6172", NULL), REGION_LEVEL_REGENCY);
}

/*
 * The load time of the full data set, printed for the report.  The bound is
 * loose (the design target is 150 ms on an unloaded machine; sanitizers are
 * several times slower) and catches only a blow-up such as quadratic work.
 */
static void
test_real_load_time(void **state)
{
	(void)state;
	g_autofree char *dir = data_dir();
	gint64 best = G_MAXINT64;
	for (int i = 0; i < 3; i++) {
		gint64 t0 = g_get_monotonic_time();
		RegionDb *db = region_db_load(dir, NULL);
		gint64 t = g_get_monotonic_time() - t0;
		assert_non_null(db);
		region_db_free(db);
		best = MIN(best, t);
	}
	print_message("# region_db_load of the full data: best of 3 is %.1f ms\n", best / 1000.0);
	assert_true(best < 2 * G_USEC_PER_SEC);
}

/* ---- small files ---- */

#define GOOD_WILAYAH                                                                               \
	"kode,nama\r\n61,Kalimantan Barat\r\n61.72,Kota Singkawang\r\n61.72.01,Singkawang "        \
	"Tengah\r\n61.72.01.1001,Roban\r\n"
#define GOOD_HISTORY                                                                               \
	"kode,nama,first_seen,last_seen\r\n61,Kalimantan Barat,2016,2025\r\n61.72.01,Singkawang "  \
	"Tengah,2016,2025\r\n61.72.09,Gone,2016,2020\r\n"
#define GOOD_PENDUDUK "kode,nama,pria,wanita,total\r\n0,INDONESIA,3,2,5\r\n61.72,Kota,1,1,2\r\n"

/* A directory holding the three files, each the good text unless given. */
static char *
make_dir(const char *wilayah, const char *history, const char *penduduk)
{
	char *dir = tu_tmp_dir("region");
	g_free(tu_write_file(dir, "wilayah.csv", wilayah ? wilayah : GOOD_WILAYAH));
	g_free(tu_write_file(dir, "kecamatan-history.csv", history ? history : GOOD_HISTORY));
	g_free(tu_write_file(dir, "penduduk.csv", penduduk ? penduduk : GOOD_PENDUDUK));
	return dir;
}

static void
test_small_good(void **state)
{
	(void)state;
	g_autofree char *dir = make_dir(NULL, NULL, NULL);
	GError *error = NULL;
	RegionDb *db = region_db_load(dir, &error);
	RegionStats s;
	int last;

	if (!db)
		fail_msg("%s", error->message);
	region_db_stats(db, &s);
	assert_int_equal(s.villages, 1);
	assert_int_equal(s.retired_kecamatan, 1);
	assert_true(region_kecamatan_known(db, "617209", NULL, &last));
	assert_int_equal(last, 2020);
	/* In wilayah.csv but not in the history: known, current, first edition unknown. */
	int first = -1;
	assert_true(region_code_known(db, "61.72", &first, &last));
	assert_int_equal(first, 0);
	assert_int_equal(last, 2025);
	region_db_free(db);
	tu_remove_dir(dir);
}

/* LF line ends, a byte order mark, quoting with doubled quotes, no final newline. */
static void
test_small_csv_forms(void **state)
{
	(void)state;
	g_autofree char *dir = make_dir(
		"\xEF\xBB\xBFkode,nama\n61,Kalimantan Barat\n\n61.72,\"Kota, \"\"Sing\"\"\"\n"
		"61.72.01,\"\"\n",
		NULL, NULL);
	GError *error = NULL;
	/* The empty quoted name is refused, on its line (blank lines are counted). */
	assert_null(region_db_load(dir, &error));
	g_autofree char *want = g_strdup_printf("%s/wilayah.csv:5: empty name", dir);
	assert_string_equal(error->message, want);
	g_clear_error(&error);
	g_free(tu_write_file(
		dir, "wilayah.csv",
		"\xEF\xBB\xBFkode,nama\n61,Kalimantan Barat\n\n61.72,\"Kota, \"\"Sing\"\"\"\n"
		"\"61.72.01\",\"Tengah\"\n61.72.01.1001,Roban"));
	RegionDb *db = region_db_load(dir, &error);
	if (!db)
		fail_msg("%s", error->message);
	assert_string_equal(region_regency_name(db, "6172"), "Kota, \"Sing\"");
	assert_string_equal(region_village_name(db, "6172011001"), "Roban");
	assert_string_equal(region_name(db, "61.72.01"), "Tengah");
	region_db_free(db);
	tu_remove_dir(dir);
}

typedef struct {
	const char *file; /* which of the three gets TEXT */
	const char *text;
	const char *want; /* expected after "DIR/": "FILE:LINE: reason" */
} Bad;

static const Bad bad_rows[] = {
	/* wilayah.csv */
	{ "wilayah.csv", "", "wilayah.csv:1: empty file: expected the header row" },
	{ "wilayah.csv", "code,name\n61,X\n", "wilayah.csv:1: header must be \"kode,nama\"" },
	{ "wilayah.csv", "kode,nama\n61,X,Y\n", "wilayah.csv:2: expected 2 fields, found 3" },
	{ "wilayah.csv", "kode,nama\n61\n", "wilayah.csv:2: expected 2 fields, found 1" },
	{ "wilayah.csv", "kode,nama\n61,\"Kal\n",
	  "wilayah.csv:2: line break inside a quoted field" },
	{ "wilayah.csv", "kode,nama\n61,\"Kal", "wilayah.csv:2: unterminated quoted field" },
	{ "wilayah.csv", "kode,nama\n61,\"Kal\"x\n", "wilayah.csv:2: text after a closing quote" },
	{ "wilayah.csv", "kode,nama\n61,Ka\"l\n", "wilayah.csv:2: quote inside an unquoted field" },
	{ "wilayah.csv", "kode,nama\n61,X\r62,Y\n",
	  "wilayah.csv:2: carriage return without a line feed" },
	{ "wilayah.csv", "kode,nama\n61,X\n6172,Y\n", "wilayah.csv:3: bad region code \"6172\"" },
	{ "wilayah.csv", "kode,nama\n61,X\n61.7x,Y\n", "wilayah.csv:3: bad region code \"61.7x\"" },
	{ "wilayah.csv", "kode,nama\n61,X\n 61.72,Y\n",
	  "wilayah.csv:3: bad region code \" 61.72\"" },
	{ "wilayah.csv", "kode,nama\n61,X\n61,Y\n", "wilayah.csv:3: duplicate code 61" },
	{ "wilayah.csv", "kode,nama\n61,X\n61.72.01,Y\n",
	  "wilayah.csv:3: code 61.72.01 comes before its parent 61.72 (or the parent is missing)" },
	{ "wilayah.csv", "kode,nama\n61,\n", "wilayah.csv:2: empty name" },
	{ "wilayah.csv", "kode,nama\n61,Kal\xC3(\n", "wilayah.csv:2: name is not valid UTF-8" },
	{ "wilayah.csv", "kode,nama\n61,Kal\tbar\n",
	  "wilayah.csv:2: control character in the name" },
	{ "wilayah.csv", "kode,nama\n61,X\n62,Y\0\n", "wilayah.csv:3: NUL byte in the file" },
	/* kecamatan-history.csv */
	{ "kecamatan-history.csv", "kode,nama,first_seen\n",
	  "kecamatan-history.csv:1: header must be \"kode,nama,first_seen,last_seen\"" },
	{ "kecamatan-history.csv", "kode,nama,first_seen,last_seen\n61,X,2016,20x5\n",
	  "kecamatan-history.csv:2: edition \"20x5\" is not a year" },
	{ "kecamatan-history.csv", "kode,nama,first_seen,last_seen\n61,X,1899,2025\n",
	  "kecamatan-history.csv:2: edition \"1899\" is not a year" },
	{ "kecamatan-history.csv", "kode,nama,first_seen,last_seen\n61,X,2025,2016\n",
	  "kecamatan-history.csv:2: first_seen 2025 is after last_seen 2016" },
	{ "kecamatan-history.csv", "kode,nama,first_seen,last_seen\n61.72.01.1001,X,2016,2025\n",
	  "kecamatan-history.csv:2: code \"61.72.01.1001\" is at level 4, not 1 to 3" },
	{ "kecamatan-history.csv",
	  "kode,nama,first_seen,last_seen\n61,X,2016,2025\n61,X,2016,2025\n",
	  "kecamatan-history.csv:3: duplicate code 61" },
	/* penduduk.csv */
	{ "penduduk.csv", "kode,nama,pria,wanita,total\n61,X,1,-1,0\n",
	  "penduduk.csv:2: count \"-1\" is not a whole number" },
	{ "penduduk.csv", "kode,nama,pria,wanita,total\n61,X,1,1,\n",
	  "penduduk.csv:2: count \"\" is not a whole number" },
	{ "penduduk.csv", "kode,nama,pria,wanita,total\n61,X,1,2,4\n",
	  "penduduk.csv:2: pria 1 + wanita 2 is not total 4" },
	{ "penduduk.csv", "kode,nama,pria,wanita,total\n61.72.01,X,1,1,2\n",
	  "penduduk.csv:2: code \"61.72.01\" is at level 3, not 1 to 2" },
	{ "penduduk.csv", "kode,nama,pria,wanita,total\n61,X,1,1\n",
	  "penduduk.csv:2: expected 5 fields, found 4" },
	{ "penduduk.csv", "kode,nama,pria,wanita,total\n61,X,1,1,2,3,4,5\n",
	  "penduduk.csv:2: expected 5 fields, found 8" },
};

static void
test_small_bad_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(bad_rows); i++) {
		const Bad *b = &bad_rows[i];
		g_autofree char *dir = make_dir(NULL, NULL, NULL);
		g_autofree char *path = g_build_filename(dir, b->file, NULL);
		g_autofree char *want = g_strdup_printf("%s/%s", dir, b->want);
		GError *error = NULL;
		/* Written with its length: one case holds a NUL byte. */
		size_t len = strlen(b->text);
		if (strstr(b->want, "NUL byte"))
			len += 1 + strlen(b->text + len + 1);
		if (!g_file_set_contents(path, b->text, len, NULL))
			fail_msg("cannot write %s", path);
		RegionDb *db = region_db_load(dir, &error);
		if (db)
			fail_msg("case %zu loaded; wanted %s", i, b->want);
		if (!g_error_matches(error, REGION_ERROR, REGION_ERROR_FORMAT) ||
		    strcmp(error->message, want) != 0)
			fail_msg("case %zu: got \"%s\", wanted \"%s\"", i, error->message, want);
		g_error_free(error);
		tu_remove_dir(dir);
	}
}

static void
test_missing_file(void **state)
{
	(void)state;
	g_autofree char *dir = make_dir(NULL, NULL, NULL);
	g_autofree char *path = g_build_filename(dir, "penduduk.csv", NULL);
	GError *error = NULL;
	g_unlink(path);
	assert_null(region_db_load(dir, &error));
	assert_true(g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT));
	assert_non_null(strstr(error->message, "penduduk.csv"));
	g_error_free(error);
	tu_remove_dir(dir);
	region_db_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_real_counts, setup_real, teardown_real),
		cmocka_unit_test_setup_teardown(test_real_names, setup_real, teardown_real),
		cmocka_unit_test_setup_teardown(test_real_history, setup_real, teardown_real),
		cmocka_unit_test_setup_teardown(test_real_population, setup_real, teardown_real),
		cmocka_unit_test(test_code_canon),
		cmocka_unit_test(test_real_load_time),
		cmocka_unit_test(test_small_good),
		cmocka_unit_test(test_small_csv_forms),
		cmocka_unit_test(test_small_bad_rows),
		cmocka_unit_test(test_missing_file),
	};
	tu_quiet_logs();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
