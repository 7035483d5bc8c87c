/* SPDX-License-Identifier: MIT */
/*
 * Kemendagri region codes: the reference tables that enrollment checks a NIK,
 * a KK number and an address against.  Three CSV files from one directory
 * (config/data/ in the source tree, with their licence in LICENSE.wilayah) are read
 * once into hash tables, and every lookup after that is one hash probe:
 *
 *   wilayah.csv            the current edition: every province, regency/city,
 *                          kecamatan and kelurahan/desa code and its name
 *   kecamatan-history.csv  province, regency and kecamatan codes with the first
 *                          and last edition (year) each was seen in; a NIK keeps
 *                          the kecamatan of its first registration, so codes
 *                          retired since (e.g. Papua's 2022 split) stay valid
 *   penduduk.csv           population per province and regency/city
 *
 * Codes are accepted dotted ("61.72.01.1001") or as plain digits
 * ("6172011001", the form inside a NIK).  Levels: 1 province (2 digits),
 * 2 regency/city (4), 3 kecamatan (6), 4 kelurahan/desa (10).
 *
 * A loaded RegionDb is read-only, so any number of threads may look up in it
 * at once.
 */
#ifndef EKTP_CORE_REGION_H
#define EKTP_CORE_REGION_H

#include <glib.h>

/* Longest dotted code plus its NUL: "61.72.01.1001". */
#define REGION_CODE_MAX 14

typedef enum {
	REGION_LEVEL_NONE = 0, /* not a well-formed code */
	REGION_LEVEL_PROVINCE = 1,
	REGION_LEVEL_REGENCY = 2,
	REGION_LEVEL_KECAMATAN = 3,
	REGION_LEVEL_VILLAGE = 4,
} RegionLevel;

#define REGION_ERROR region_error_quark()
GQuark region_error_quark(void);

typedef enum {
	REGION_ERROR_FORMAT, /* a malformed file or row: "PATH:LINE: reason" */
} RegionError;

typedef struct RegionDb RegionDb;

typedef struct {
	gint64 male;
	gint64 female;
	gint64 total;
} RegionPopulation;

typedef struct {
	guint provinces, regencies, kecamatan, villages; /* wilayah.csv, by level */
	guint history_codes;                             /* rows of kecamatan-history.csv */
	guint retired_kecamatan; /* kecamatan codes whose last edition is not the current one */
	guint population_rows;
	int current_edition; /* the newest edition year in kecamatan-history.csv */
} RegionStats;

/*
 * Reads DIR/wilayah.csv, DIR/kecamatan-history.csv and DIR/penduduk.csv.
 * NULL on error: a file that cannot be read (G_FILE_ERROR) or a malformed row
 * (REGION_ERROR_FORMAT, message "DIR/FILE:LINE: reason").  Files are RFC 4180
 * CSV with a header row; CRLF or LF line ends; quoted fields may hold commas
 * and doubled quotes.  Caller frees with region_db_free().
 */
RegionDb *region_db_load(const char *dir, GError **error);

/* Frees DB and everything borrowed from it; NULL is allowed. */
void region_db_free(RegionDb *db);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RegionDb, region_db_free)

/* Counts of what was loaded, for the startup log. */
void region_db_stats(const RegionDb *db, RegionStats *out);

/*
 * The level of CODE (dotted or digits only, not mixed) and, when OUT is not
 * NULL, its dotted form written to OUT.  REGION_LEVEL_NONE for anything else,
 * NULL included; OUT is then "".
 */
RegionLevel region_code_canon(const char *code, char out[REGION_CODE_MAX]);

/*
 * The current-edition name of CODE at any level (borrowed until
 * region_db_free), or NULL when CODE is not in wilayah.csv.
 */
const char *region_name(const RegionDb *db, const char *code);

/* As region_name(), but only for a kelurahan/desa code (level 4). */
const char *region_village_name(const RegionDb *db, const char *code);

/* As region_name(), but only for a regency/city code (level 2). */
const char *region_regency_name(const RegionDb *db, const char *code);

/*
 * Whether a province, regency or kecamatan CODE appears in any edition
 * (current or retired).  FIRST_SEEN and LAST_SEEN (either may be NULL)
 * receive the edition years; a code retired since has LAST_SEEN below
 * region_current_edition().  A code that is in wilayah.csv but missing from
 * the history counts as known, with FIRST_SEEN 0 and LAST_SEEN the current
 * edition.
 */
gboolean region_code_known(const RegionDb *db, const char *code, int *first_seen, int *last_seen);

/* As region_code_known(), but only for a kecamatan code ("617201" or "61.72.01"). */
gboolean region_kecamatan_known(const RegionDb *db, const char *code, int *first_seen,
				int *last_seen);

/* The newest edition year in kecamatan-history.csv (2025 for the shipped data). */
int region_current_edition(const RegionDb *db);

/*
 * The population of a regency/city or province CODE, or of the whole country
 * for "0".  FALSE, OUT untouched, when penduduk.csv has no such row.
 */
gboolean region_population(const RegionDb *db, const char *code, RegionPopulation *out);

#endif
