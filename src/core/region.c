/* SPDX-License-Identifier: MIT */
/*
 * Region reference tables.  Each file is read whole and parsed in place: the
 * CSV tokenizer writes a NUL after each field (unquoting into the same bytes,
 * which only ever shrink), so every code and name in the hash tables points
 * into the file's own buffer and loading allocates little beyond the tables.
 * Keys are the dotted codes exactly as the files spell them; a lookup
 * canonicalises its argument into a stack buffer first, so callers may pass
 * the digits of a NIK.
 *
 * The loader is strict: reference data that does not parse cleanly is a
 * packaging fault, and a silently skipped row would turn into a wrongly
 * rejected NIK much later.  Every complaint names the file and the line.
 */
#include "core/region.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define FILE_WILAYAH "wilayah.csv"
#define FILE_HISTORY "kecamatan-history.csv"
#define FILE_PENDUDUK "penduduk.csv"

/* Upper bound on fields in a row that the files legitimately have (penduduk.csv). */
#define CSV_MAX_FIELDS 5

typedef struct {
	const char *name; /* borrowed from the history buffer */
	int first_seen;
	int last_seen;
} HistoryRow;

struct RegionDb {
	char *buf_wilayah; /* file contents, tokenised in place; the tables point into them */
	char *buf_history;
	char *buf_penduduk;
	GHashTable *names;      /* dotted code -> name, all levels, current edition */
	GHashTable *history;    /* dotted code -> HistoryRow in history_rows */
	GHashTable *population; /* dotted code (or "0") -> RegionPopulation in pop_rows */
	HistoryRow *history_rows;
	RegionPopulation *pop_rows;
	RegionStats stats;
};

G_DEFINE_QUARK(ektp-region-error-quark, region_error)

/* ---- codes ---- */

static gboolean
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isdigit(s[i]))
			return FALSE;
	return TRUE;
}

RegionLevel
region_code_canon(const char *code, char out[REGION_CODE_MAX])
{
	/* Digits per level: 2, 2, 2, 4. */
	static const size_t width[] = { 2, 2, 2, 4 };
	char tmp[REGION_CODE_MAX];
	size_t n, o = 0;
	const char *p;
	int level = 0;

	if (out)
		out[0] = '\0';
	if (!code)
		return REGION_LEVEL_NONE;
	n = strlen(code);
	if (n && strchr(code, '.')) {
		/* Dotted: each part exactly its width, one dot between parts. */
		for (p = code; level < 4; level++) {
			if (strlen(p) < width[level] || !all_digits(p, width[level]))
				return REGION_LEVEL_NONE;
			memcpy(tmp + o, p, width[level]);
			o += width[level];
			p += width[level];
			if (*p == '\0')
				break;
			if (*p != '.' || level == 3)
				return REGION_LEVEL_NONE;
			tmp[o++] = '.';
			p++;
		}
		level++;
	} else {
		/* Digits only: 2, 4, 6 or 10 of them. */
		size_t used = 0;
		if (!all_digits(code, n))
			return REGION_LEVEL_NONE;
		switch (n) {
		case 2:
			level = 1;
			break;
		case 4:
			level = 2;
			break;
		case 6:
			level = 3;
			break;
		case 10:
			level = 4;
			break;
		default:
			return REGION_LEVEL_NONE;
		}
		for (int l = 0; l < level; l++) {
			if (l)
				tmp[o++] = '.';
			memcpy(tmp + o, code + used, width[l]);
			o += width[l];
			used += width[l];
		}
	}
	tmp[o] = '\0';
	if (out)
		memcpy(out, tmp, o + 1);
	return (RegionLevel)level;
}

/* ---- CSV, in place ---- */

typedef struct {
	char *path;     /* for messages; owned */
	char *p;        /* next unread byte */
	char *end;      /* the buffer's terminating NUL */
	int line;       /* physical line of p, from 1 */
	int row_line;   /* line where the last row returned began */
	guint max_rows; /* line feeds + 1, counted before tokenising: bounds the rows */
} Csv;

static void
csv_clear(Csv *c)
{
	g_clear_pointer(&c->path, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Csv, csv_clear)

static void csv_fail(GError **error, const char *path, int line, const char *fmt, ...)
	G_GNUC_PRINTF(4, 5);

static void
csv_fail(GError **error, const char *path, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, REGION_ERROR, REGION_ERROR_FORMAT, "%s:%d: %s", path, line, why);
}

/*
 * Splits the next row into FIELDS (at most CSV_MAX_FIELDS are stored) and
 * returns how many fields the row has; 0 at the end of the data; -1 on a
 * malformed row.  Empty lines are skipped.  A line break inside quotes is
 * refused: no name has one, and it would make line numbers lie.
 */
static int
csv_next(Csv *c, char **fields, GError **error)
{
	int n = 0;

	while (c->p < c->end && (*c->p == '\n' || (*c->p == '\r' && c->p[1] == '\n'))) {
		c->p += *c->p == '\r' ? 2 : 1;
		c->line++;
	}
	if (c->p >= c->end)
		return 0;
	c->row_line = c->line;
	for (;;) {
		char *start = c->p, *w;
		char sep;

		if (*c->p == '"') {
			char *r = c->p + 1;
			w = start;
			for (;;) {
				if (r >= c->end) {
					csv_fail(error, c->path, c->line,
						 "unterminated quoted field");
					return -1;
				}
				if (*r == '"') {
					if (r[1] == '"') {
						*w++ = '"';
						r += 2;
						continue;
					}
					r++;
					break;
				}
				if (*r == '\n' || *r == '\r') {
					csv_fail(error, c->path, c->line,
						 "line break inside a quoted field");
					return -1;
				}
				*w++ = *r++;
			}
			if (r < c->end && *r != ',' && *r != '\r' && *r != '\n') {
				csv_fail(error, c->path, c->line, "text after a closing quote");
				return -1;
			}
			c->p = r;
		} else {
			while (c->p < c->end && *c->p != ',' && *c->p != '\r' && *c->p != '\n') {
				if (*c->p == '"') {
					csv_fail(error, c->path, c->line,
						 "quote inside an unquoted field");
					return -1;
				}
				c->p++;
			}
			w = c->p;
		}
		sep = c->p < c->end ? *c->p : '\0';
		*w = '\0'; /* w <= c->p, so the separator has been read already */
		if (n < CSV_MAX_FIELDS)
			fields[n] = start;
		n++;
		if (sep == ',') {
			c->p++;
			continue;
		}
		if (sep == '\r') {
			if (c->p[1] != '\n') {
				csv_fail(error, c->path, c->line,
					 "carriage return without a line feed");
				return -1;
			}
			c->p++;
		}
		if (c->p < c->end) {
			c->p++;
			c->line++;
		}
		return n;
	}
}

/*
 * Reads DIR/NAME into *BUF and checks the header row.  Returns the tokenizer
 * positioned on the first data row, or FALSE.
 */
static gboolean
csv_open(const char *dir, const char *name, const char *const *header, int nheader, char **buf,
	 Csv *c, GError **error)
{
	char *fields[CSV_MAX_FIELDS];
	gsize len;
	int n;

	c->path = g_build_filename(dir, name, NULL);
	if (!g_file_get_contents(c->path, buf, &len, error))
		return FALSE;
	c->p = *buf;
	c->end = *buf + len;
	c->line = 1;
	if (memchr(*buf, '\0', len)) {
		const char *z = memchr(*buf, '\0', len);
		int line = 1;
		for (const char *q = *buf; q < z; q++)
			line += *q == '\n';
		csv_fail(error, c->path, line, "NUL byte in the file");
		return FALSE;
	}
	c->max_rows = 1;
	for (const char *q = *buf; (q = memchr(q, '\n', c->end - q)); q++)
		c->max_rows++;
	if (len >= 3 && memcmp(*buf, "\xEF\xBB\xBF", 3) == 0)
		c->p += 3; /* a UTF-8 byte order mark, as spreadsheet exports write */
	n = csv_next(c, fields, error);
	if (n < 0)
		return FALSE;
	if (n == 0) {
		csv_fail(error, c->path, 1, "empty file: expected the header row");
		return FALSE;
	}
	gboolean ok = n == nheader;
	for (int i = 0; ok && i < n; i++)
		ok = strcmp(fields[i], header[i]) == 0;
	if (!ok) {
		g_autofree char *want = g_strjoinv(",", (char **)header);
		csv_fail(error, c->path, c->row_line, "header must be \"%s\"", want);
		return FALSE;
	}
	return TRUE;
}

static gboolean
check_fields(const Csv *c, int n, int want, GError **error)
{
	if (n == want)
		return TRUE;
	csv_fail(error, c->path, c->row_line, "expected %d fields, found %d", want, n);
	return FALSE;
}

/* A name must be non-empty UTF-8 without control characters. */
static gboolean
check_name(const Csv *c, const char *name, GError **error)
{
	if (!*name) {
		csv_fail(error, c->path, c->row_line, "empty name");
		return FALSE;
	}
	if (!g_utf8_validate(name, -1, NULL)) {
		csv_fail(error, c->path, c->row_line, "name is not valid UTF-8");
		return FALSE;
	}
	for (const char *q = name; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f) {
			csv_fail(error, c->path, c->row_line, "control character in the name");
			return FALSE;
		}
	return TRUE;
}

/*
 * CODE must be dotted exactly as the published files write it, at a level
 * from MIN to MAX.  Returns the level, or 0 after setting ERROR.
 */
static int
check_code(const Csv *c, const char *code, int min, int max, GError **error)
{
	char canon[REGION_CODE_MAX];
	RegionLevel level = region_code_canon(code, canon);
	if (level == REGION_LEVEL_NONE || strcmp(canon, code) != 0) {
		csv_fail(error, c->path, c->row_line, "bad region code \"%s\"", code);
		return 0;
	}
	if ((int)level < min || (int)level > max) {
		csv_fail(error, c->path, c->row_line, "code \"%s\" is at level %d, not %d to %d",
			 code, level, min, max);
		return 0;
	}
	return level;
}

/* A non-negative decimal count without sign or spaces; -1 otherwise. */
static gint64
parse_count(const char *s)
{
	gint64 v = 0;
	if (!*s || strlen(s) > 15 || !all_digits(s, strlen(s)))
		return -1;
	for (; *s; s++)
		v = v * 10 + (*s - '0');
	return v;
}

/* ---- the three files ---- */

static gboolean
load_wilayah(RegionDb *db, const char *dir, GError **error)
{
	static const char *const header[] = { "kode", "nama", NULL };
	char *f[CSV_MAX_FIELDS];
	g_auto(Csv) c = { 0 };
	int n;

	if (!csv_open(dir, FILE_WILAYAH, header, 2, &db->buf_wilayah, &c, error))
		return FALSE;
	while ((n = csv_next(&c, f, error)) > 0) {
		int level;
		if (!check_fields(&c, n, 2, error))
			return FALSE;
		if (!(level = check_code(&c, f[0], 1, 4, error)) || !check_name(&c, f[1], error))
			return FALSE;
		if (level > 1) {
			/* The parent is the code minus its last part: "61.72.01.1001" ->
			 * "61.72.01". */
			char parent[REGION_CODE_MAX];
			size_t plen = strrchr(f[0], '.') - f[0];
			memcpy(parent, f[0], plen);
			parent[plen] = '\0';
			if (!g_hash_table_contains(db->names, parent)) {
				csv_fail(error, c.path, c.row_line,
					 "code %s comes before its parent %s (or the parent is "
					 "missing)",
					 f[0], parent);
				return FALSE;
			}
		}
		/* insert() is FALSE when the code was there already (one probe, not two). */
		if (!g_hash_table_insert(db->names, f[0], f[1])) {
			csv_fail(error, c.path, c.row_line, "duplicate code %s", f[0]);
			return FALSE;
		}
		switch (level) {
		case 1:
			db->stats.provinces++;
			break;
		case 2:
			db->stats.regencies++;
			break;
		case 3:
			db->stats.kecamatan++;
			break;
		default:
			db->stats.villages++;
			break;
		}
	}
	return n == 0;
}

/* An edition year: four digits, 1900 to 2999. */
static int
parse_year(const char *s)
{
	if (strlen(s) != 4 || !all_digits(s, 4))
		return -1;
	int y = atoi(s);
	return y >= 1900 && y <= 2999 ? y : -1;
}

static gboolean
load_history(RegionDb *db, const char *dir, GError **error)
{
	static const char *const header[] = { "kode", "nama", "first_seen", "last_seen", NULL };
	char *f[CSV_MAX_FIELDS];
	guint used = 0;
	g_auto(Csv) c = { 0 };
	int n;

	if (!csv_open(dir, FILE_HISTORY, header, 4, &db->buf_history, &c, error))
		return FALSE;
	db->history_rows = g_new0(HistoryRow, c.max_rows);
	while ((n = csv_next(&c, f, error)) > 0) {
		HistoryRow *h = &db->history_rows[used];
		if (!check_fields(&c, n, 4, error))
			return FALSE;
		if (!check_code(&c, f[0], 1, 3, error) || !check_name(&c, f[1], error))
			return FALSE;
		h->name = f[1];
		h->first_seen = parse_year(f[2]);
		h->last_seen = parse_year(f[3]);
		if (h->first_seen < 0 || h->last_seen < 0) {
			csv_fail(error, c.path, c.row_line, "edition \"%s\" is not a year",
				 h->first_seen < 0 ? f[2] : f[3]);
			return FALSE;
		}
		if (h->first_seen > h->last_seen) {
			csv_fail(error, c.path, c.row_line, "first_seen %d is after last_seen %d",
				 h->first_seen, h->last_seen);
			return FALSE;
		}
		if (!g_hash_table_insert(db->history, f[0], h)) {
			csv_fail(error, c.path, c.row_line, "duplicate code %s", f[0]);
			return FALSE;
		}
		db->stats.current_edition = MAX(db->stats.current_edition, h->last_seen);
		used++;
	}
	db->stats.history_codes = used;
	return n == 0;
}

static gboolean
load_penduduk(RegionDb *db, const char *dir, GError **error)
{
	static const char *const header[] = { "kode", "nama", "pria", "wanita", "total", NULL };
	char *f[CSV_MAX_FIELDS];
	guint used = 0;
	g_auto(Csv) c = { 0 };
	int n;

	if (!csv_open(dir, FILE_PENDUDUK, header, 5, &db->buf_penduduk, &c, error))
		return FALSE;
	db->pop_rows = g_new0(RegionPopulation, c.max_rows);
	while ((n = csv_next(&c, f, error)) > 0) {
		RegionPopulation *p = &db->pop_rows[used];
		if (!check_fields(&c, n, 5, error))
			return FALSE;
		/* "0" is the national total; otherwise a province or a regency/city. */
		if (strcmp(f[0], "0") != 0 && !check_code(&c, f[0], 1, 2, error))
			return FALSE;
		if (!check_name(&c, f[1], error))
			return FALSE;
		p->male = parse_count(f[2]);
		p->female = parse_count(f[3]);
		p->total = parse_count(f[4]);
		if (p->male < 0 || p->female < 0 || p->total < 0) {
			csv_fail(error, c.path, c.row_line, "count \"%s\" is not a whole number",
				 p->male < 0     ? f[2]
				 : p->female < 0 ? f[3]
						 : f[4]);
			return FALSE;
		}
		/* Catches a shifted column, which would otherwise load as plausible numbers. */
		if (p->male + p->female != p->total) {
			csv_fail(error, c.path, c.row_line,
				 "pria %" G_GINT64_FORMAT " + wanita %" G_GINT64_FORMAT
				 " is not total %" G_GINT64_FORMAT,
				 p->male, p->female, p->total);
			return FALSE;
		}
		if (!g_hash_table_insert(db->population, f[0], p)) {
			csv_fail(error, c.path, c.row_line, "duplicate code %s", f[0]);
			return FALSE;
		}
		used++;
	}
	db->stats.population_rows = used;
	return n == 0;
}

RegionDb *
region_db_load(const char *dir, GError **error)
{
	g_autoptr(RegionDb) db = g_new0(RegionDb, 1);
	GHashTableIter it;
	gpointer key, value;

	g_return_val_if_fail(dir != NULL, NULL);
	db->names = g_hash_table_new(g_str_hash, g_str_equal);
	db->history = g_hash_table_new(g_str_hash, g_str_equal);
	db->population = g_hash_table_new(g_str_hash, g_str_equal);
	if (!load_wilayah(db, dir, error) || !load_history(db, dir, error) ||
	    !load_penduduk(db, dir, error))
		return NULL;
	g_hash_table_iter_init(&it, db->history);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		const HistoryRow *h = value;
		if (region_code_canon(key, NULL) == REGION_LEVEL_KECAMATAN &&
		    h->last_seen < db->stats.current_edition)
			db->stats.retired_kecamatan++;
	}
	return g_steal_pointer(&db);
}

void
region_db_free(RegionDb *db)
{
	if (!db)
		return;
	g_clear_pointer(&db->names, g_hash_table_unref);
	g_clear_pointer(&db->history, g_hash_table_unref);
	g_clear_pointer(&db->population, g_hash_table_unref);
	g_free(db->history_rows);
	g_free(db->pop_rows);
	g_free(db->buf_wilayah);
	g_free(db->buf_history);
	g_free(db->buf_penduduk);
	g_free(db);
}

void
region_db_stats(const RegionDb *db, RegionStats *out)
{
	*out = db->stats;
}

/* ---- lookups ---- */

const char *
region_name(const RegionDb *db, const char *code)
{
	char canon[REGION_CODE_MAX];
	if (region_code_canon(code, canon) == REGION_LEVEL_NONE)
		return NULL;
	return g_hash_table_lookup(db->names, canon);
}

const char *
region_village_name(const RegionDb *db, const char *code)
{
	char canon[REGION_CODE_MAX];
	if (region_code_canon(code, canon) != REGION_LEVEL_VILLAGE)
		return NULL;
	return g_hash_table_lookup(db->names, canon);
}

const char *
region_regency_name(const RegionDb *db, const char *code)
{
	char canon[REGION_CODE_MAX];
	if (region_code_canon(code, canon) != REGION_LEVEL_REGENCY)
		return NULL;
	return g_hash_table_lookup(db->names, canon);
}

gboolean
region_code_known(const RegionDb *db, const char *code, int *first_seen, int *last_seen)
{
	char canon[REGION_CODE_MAX];
	RegionLevel level = region_code_canon(code, canon);
	const HistoryRow *h;
	int first = 0, last = db->stats.current_edition;

	if (level == REGION_LEVEL_NONE || level == REGION_LEVEL_VILLAGE)
		return FALSE;
	if ((h = g_hash_table_lookup(db->history, canon))) {
		first = h->first_seen;
		last = h->last_seen;
	} else if (!g_hash_table_contains(db->names, canon)) {
		return FALSE;
	}
	if (first_seen)
		*first_seen = first;
	if (last_seen)
		*last_seen = last;
	return TRUE;
}

gboolean
region_kecamatan_known(const RegionDb *db, const char *code, int *first_seen, int *last_seen)
{
	if (region_code_canon(code, NULL) != REGION_LEVEL_KECAMATAN)
		return FALSE;
	return region_code_known(db, code, first_seen, last_seen);
}

int
region_current_edition(const RegionDb *db)
{
	return db->stats.current_edition;
}

gboolean
region_population(const RegionDb *db, const char *code, RegionPopulation *out)
{
	char canon[REGION_CODE_MAX];
	const RegionPopulation *p;
	RegionLevel level;

	if (code && strcmp(code, "0") == 0) {
		strcpy(canon, "0");
	} else {
		level = region_code_canon(code, canon);
		if (level != REGION_LEVEL_PROVINCE && level != REGION_LEVEL_REGENCY)
			return FALSE;
	}
	if (!(p = g_hash_table_lookup(db->population, canon)))
		return FALSE;
	*out = *p;
	return TRUE;
}
