/* SPDX-License-Identifier: MIT */
/*
 * The settings table and its checker.  GKeyFile parses the INI syntax; a
 * light pass over the same text remembers the line of every group and key so
 * that each error can name FILE:LINE, and catches what GKeyFile would let
 * through silently (unknown keys, a key given twice).
 */
#include "util/config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>


G_DEFINE_QUARK(ektp-config-error-quark, cfg_error)

static const char *const log_levels[] = { "error", "warning", "info", "debug", NULL };

#define OFF(field) offsetof(EktpConfig, field)

static const char *const yes_no[] = { "no", "yes", NULL };

static const CfgSetting settings[] = {
	{ .section = "daemon", .key = "state_dir", .type = CFG_STRING, .def = "var",
	  .min = 1, .max = PATH_MAX, .offset = OFF(state_dir),
	  .help = "Directory for the socket, the database and other state; relative to the "
		  "current directory.  The -S flag and EKTP_STATE_DIR override it." },
	{ .section = "daemon", .key = "socket", .type = CFG_PATH, .def = "ektpd.sock",
	  .max = 107, .offset = OFF(socket_path),
	  .help = "The control socket (HTTP/JSON API); relative to state_dir." },
	{ .section = "daemon", .key = "socket_group", .type = CFG_STRING, .def = "",
	  .max = 64, .offset = OFF(socket_group),
	  .help = "Group that owns the socket (mode 0660); members may connect.  Empty: the "
		  "daemon's own group." },
	{ .section = "daemon", .key = "database", .type = CFG_PATH, .def = "ektp.db",
	  .max = PATH_MAX, .offset = OFF(database),
	  .help = "The SQLite database; relative to state_dir." },
	{ .section = "daemon", .key = "database_max_mb", .type = CFG_INT, .def = "0", .min = 0,
	  .max = 1048576, .unit = "MiB", .offset = OFF(database_max_mb),
	  .help = "Largest the database may grow (0: as far as the disk allows).  Past it a "
		  "write is refused as on a full disk (507), nothing half-written; use it to "
		  "keep room on a disk the workstation shares." },
	{ .section = "daemon", .key = "log_level", .type = CFG_ENUM, .def = "info",
	  .choices = log_levels, .reloadable = TRUE, .offset = OFF(log_level),
	  .help = "Least important messages logged: error, warning, info or debug (-d forces "
		  "debug)." },
	{ .section = "api", .key = "max_body", .type = CFG_INT, .def = "1048576",
	  .min = 1024, .max = 64 * 1024 * 1024, .unit = "bytes", .reloadable = TRUE,
	  .offset = OFF(max_body),
	  .help = "Largest request body accepted; larger ones are answered 413." },
	{ .section = "api", .key = "max_upload", .type = CFG_INT, .def = "8388608",
	  .min = 1024, .max = 256 * 1024 * 1024, .unit = "bytes", .reloadable = TRUE,
	  .offset = OFF(max_upload),
	  .help = "Largest image upload (PUT of a PNG) accepted; larger ones are answered 413." },
	{ .section = "enroll", .key = "regency", .type = CFG_STRING, .def = "61.72", .min = 1,
	  .max = 5, .reloadable = TRUE, .offset = OFF(enroll_regency),
	  .help = "The office's regency or city (Kemendagri code, e.g. 61.72 Kota Singkawang): "
		  "addresses must lie in it, and coverage reports count against its population." },
	{ .section = "enroll", .key = "allow_out_of_area", .type = CFG_ENUM, .def = "no",
	  .choices = yes_no, .reloadable = TRUE, .offset = OFF(enroll_allow_out_of_area),
	  .help = "yes: record residents whose address lies outside the regency." },
	{ .section = "enroll", .key = "min_age", .type = CFG_INT, .def = "17", .min = 10,
	  .max = 17, .unit = "years", .reloadable = TRUE, .offset = OFF(enroll_min_age),
	  .help = "Youngest unmarried resident recorded.  Below 17 (e.g. 16 before an election) "
		  "such a record is not print-ready before the 17th birthday." },
	{ .section = "enroll", .key = "finger_retries", .type = CFG_INT, .def = "3", .min = 0,
	  .max = 20, .reloadable = TRUE, .offset = OFF(enroll_retries[0]),
	  .help = "Attempts after the first for a fingerprint below fingerprint_min; then the "
		  "best one is kept as forced and the record needs a supervisor." },
	{ .section = "enroll", .key = "iris_retries", .type = CFG_INT, .def = "3", .min = 0,
	  .max = 20, .reloadable = TRUE, .offset = OFF(enroll_retries[1]),
	  .help = "The same for an iris below iris_min." },
	{ .section = "enroll", .key = "face_retries", .type = CFG_INT, .def = "3", .min = 0,
	  .max = 20, .reloadable = TRUE, .offset = OFF(enroll_retries[2]),
	  .help = "The same for a face photo below face_min or on the wrong background." },
	{ .section = "enroll", .key = "signature_retries", .type = CFG_INT, .def = "3", .min = 0,
	  .max = 20, .reloadable = TRUE, .offset = OFF(enroll_retries[3]),
	  .help = "The same for a signature without enough ink." },
	{ .section = "enroll", .key = "region_data", .type = CFG_STRING, .def = "data", .min = 1,
	  .max = PATH_MAX, .offset = OFF(enroll_region_data),
	  .help = "Folder of the region code tables (wilayah.csv, kecamatan-history.csv, "
		  "penduduk.csv); relative to this file's folder." },
	{ .section = "enroll", .key = "key_file", .type = CFG_PATH, .def = "workstation.key",
	  .max = PATH_MAX, .offset = OFF(enroll_key_file),
	  .help = "The workstation key that wraps each record's data key (mode 0600; created on "
		  "first start); relative to state_dir.  Losing it loses every record's images." },
	{ .section = "card", .key = "layout", .type = CFG_STRING, .def = "card-layout.conf",
	  .min = 1, .max = PATH_MAX, .offset = OFF(card_layout),
	  .help = "The card face's layout (positions, sizes, fonts); relative to this file's "
		  "folder." },
	{ .section = "card", .key = "signer_cert", .type = CFG_STRING, .def = "", .max = PATH_MAX,
	  .offset = OFF(card_signer_cert),
	  .help = "The document signer's certificate (PEM) that signs every chip; relative to "
		  "this file's folder.  Empty, with signer_key and ca_cert empty too: a TEST CA "
		  "and signer are made in state_dir/test-pki on first start (cards say so)." },
	{ .section = "card", .key = "signer_key", .type = CFG_STRING, .def = "", .max = PATH_MAX,
	  .offset = OFF(card_signer_key),
	  .help = "The document signer's private key (PEM, mode 0600)." },
	{ .section = "card", .key = "ca_cert", .type = CFG_STRING, .def = "", .max = PATH_MAX,
	  .offset = OFF(card_ca_cert),
	  .help = "The issuing CA's certificate (PEM) that chips are verified against." },
	{ .section = "card", .key = "chip_capacity", .type = CFG_INT, .def = "8192", .min = 1024,
	  .max = 65536, .unit = "bytes", .reloadable = TRUE, .offset = OFF(card_chip_capacity),
	  .help = "What the chip holds; the portrait is made small enough for the whole chip "
		  "image to fit, and a record that cannot fit is refused before any card is used." },
	{ .section = "card", .key = "chip_fingers", .type = CFG_STRING, .def = "2,7", .min = 3,
	  .max = 5, .reloadable = TRUE, .offset = OFF(card_chip_fingers),
	  .help = "The two fingers (ISO positions: 2 right index, 7 left index) whose templates "
		  "go on the chip; an excepted finger is replaced by the next one of that hand." },
	{ .section = "report", .key = "adult_share", .type = CFG_INT, .def = "70", .min = 1,
	  .max = 100, .unit = "percent", .reloadable = TRUE, .offset = OFF(report_adult_share),
	  .help = "Share of the regency's population aged 17 or more: the coverage target." },
	{ .section = "print", .key = "election_date", .type = CFG_STRING, .def = "", .max = 10,
	  .reloadable = TRUE, .offset = OFF(print_election_date),
	  .help = "The next election (YYYY-MM-DD): a batch prints first-time voters' cards "
		  "first (17 or older on that day, not yet 17 five years before).  Empty: "
		  "oldest record first, nobody ahead." },
	{ .section = "print", .key = "retries", .type = CFG_INT, .def = "1", .min = 0, .max = 5,
	  .reloadable = TRUE, .offset = OFF(print_retries),
	  .help = "Further cards a batch gives a record whose card was spoiled (a chip that "
		  "failed, a jam); past them the record waits in state spoiled for a supervisor's "
		  "reprint." },
	{ .section = "print", .key = "overlay_clear", .type = CFG_STRING, .def = "121,227,142,130",
	  .max = 32, .reloadable = TRUE, .offset = OFF(print_overlay_clear),
	  .help = "Where the overlay panel leaves the card bare, as x,y,width,height in dots "
		  "at 300 dpi (default: the chip module's place, ISO/IEC 7816-2); 0,0,0,0 "
		  "varnishes the whole card." },
	{ .section = "stock", .key = "forecast_days", .type = CFG_INT, .def = "28", .min = 1,
	  .max = 365, .unit = "days", .reloadable = TRUE, .offset = OFF(stock_forecast_days),
	  .help = "Days of use a forecast looks back on; recent days weigh more (the day d "
		  "days ago weighs days - d).  Days before the ledger's first movement are not "
		  "counted." },
	{ .section = "stock", .key = "hopper_capacity", .type = CFG_INT, .def = "100", .min = 1,
	  .max = 10000, .unit = "cards", .reloadable = TRUE, .offset = OFF(stock_hopper_capacity),
	  .help = "Blank cards a printer's input hopper holds: what `stock load PRINTER CARD` "
		  "fills it to when no quantity is given." },
	{ .section = "stock", .key = "clean_threshold", .type = CFG_INT, .def = "700", .min = 1,
	  .max = 100000, .unit = "cards", .reloadable = TRUE, .offset = OFF(stock_clean_threshold),
	  .help = "Cards a printer may take between cleanings (or the printer's own threshold "
		  "when that is lower); past it the printer takes no new card until a "
		  "technician runs `ektpctl clean PRINTER`." },
	{ .section = "stock", .key = "printer_low", .type = CFG_INT, .def = "20", .min = 0,
	  .max = 10000, .unit = "cards or prints", .reloadable = TRUE,
	  .offset = OFF(stock_printer_low),
	  .help = "A printer's cards or prints left at or below this are flagged \"low\"." },
	{ .section = "stock", .key = "max_quantity", .type = CFG_INT, .def = "100000", .min = 1,
	  .max = 100000000, .reloadable = TRUE, .offset = OFF(stock_max_quantity),
	  .help = "The largest quantity one movement may carry: anything more is taken for a "
		  "typing error and refused." },
	{ .section = "quality", .key = "fingerprint_min", .type = CFG_INT, .def = "40",
	  .min = 0, .max = 100, .reloadable = TRUE, .offset = OFF(quality_fingerprint_min),
	  .help = "Lowest fingerprint quality score (0-100) a capture or self-test accepts." },
	{ .section = "quality", .key = "iris_min", .type = CFG_INT, .def = "60",
	  .min = 0, .max = 100, .reloadable = TRUE, .offset = OFF(quality_iris_min),
	  .help = "Lowest iris quality score (0-100) a capture or self-test accepts." },
	{ .section = "quality", .key = "face_min", .type = CFG_INT, .def = "50",
	  .min = 0, .max = 100, .reloadable = TRUE, .offset = OFF(quality_face_min),
	  .help = "Lowest face photo quality score (0-100) a capture or self-test accepts." },
	{ .section = "trend", .key = "window", .type = CFG_INT, .def = "20",
	  .min = 3, .max = 1000, .unit = "captures", .reloadable = TRUE, .offset = OFF(trend_window),
	  .help = "How many captures form a device's baseline (its first ones) and its recent "
		  "figures (its newest ones)." },
	{ .section = "trend", .key = "quality_drop", .type = CFG_INT, .def = "15",
	  .min = 1, .max = 100, .unit = "points", .reloadable = TRUE,
	  .offset = OFF(trend_quality_drop),
	  .help = "A device is marked degraded (quality-declining) when its recent mean quality "
		  "is this far below its baseline." },
	{ .section = "auth", .key = "session_idle", .type = CFG_INT, .def = "900",
	  .min = 1, .max = 86400, .unit = "seconds", .reloadable = TRUE,
	  .offset = OFF(session_idle),
	  .help = "A login token expires after this long without use." },
	{ .section = "auth", .key = "max_failed_logins", .type = CFG_INT, .def = "5",
	  .min = 1, .max = 100, .reloadable = TRUE, .offset = OFF(max_failed_logins),
	  .help = "Consecutive wrong PINs that lock an account." },
	{ .section = "auth", .key = "lockout", .type = CFG_INT, .def = "300",
	  .min = 1, .max = 86400, .unit = "seconds", .reloadable = TRUE, .offset = OFF(lockout),
	  .help = "How long a locked account stays locked." },
	{ .section = "auth", .key = "pin_min_length", .type = CFG_INT, .def = "6",
	  .min = 4, .max = 32, .unit = "digits", .reloadable = TRUE,
	  .offset = OFF(pin_min_length),
	  .help = "Shortest PIN accepted for a new PIN (PINs are 4 to 32 digits)." },
	{ .section = "auth", .key = "scrypt_n", .type = CFG_INT, .def = "16384",
	  .min = 1024, .max = 1048576, .power_of_two = TRUE, .reloadable = TRUE,
	  .offset = OFF(scrypt_n),
	  .help = "scrypt cost (N, a power of two; r=8, p=1) for new PIN hashes; memory used "
		  "is 128*N bytes.  Existing hashes keep their own cost." },
};

const CfgSetting *
cfg_settings(size_t *n_out)
{
	*n_out = G_N_ELEMENTS(settings);
	return settings;
}

static const CfgSetting *
find_setting(const char *section, const char *key)
{
	for (size_t i = 0; i < G_N_ELEMENTS(settings); i++)
		if (strcmp(settings[i].section, section) == 0 &&
		    (key == NULL || strcmp(settings[i].key, key) == 0))
			return &settings[i];
	return NULL;
}

/* Where each group and key stands in the file: "section" or "section\nkey" → line. */
typedef struct {
	GHashTable *lines;
	const char *file;
} LineIndex;

static int
index_line(const LineIndex *ix, const char *section, const char *key)
{
	g_autofree char *k = key ? g_strdup_printf("%s\n%s", section, key) : g_strdup(section);
	return GPOINTER_TO_INT(g_hash_table_lookup(ix->lines, k));
}

static gboolean
fail_at(GError **error, const char *file, int line, const char *fmt, ...) G_GNUC_PRINTF(4, 5);

static gboolean
fail_at(GError **error, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *reason = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, CFG_ERROR, 0, "%s:%d: %s", file ? file : "(defaults)", line, reason);
	return FALSE;
}

static gboolean
is_device_section(const char *section)
{
	return g_str_has_prefix(section, CFG_DEVICE_PREFIX);
}

static gboolean
is_item_section(const char *section)
{
	return g_str_has_prefix(section, CFG_ITEM_PREFIX);
}

/* The prefix of SECTION when it is a named section ([device …], [item …]), else NULL. */
static const char *
named_prefix(const char *section)
{
	return is_device_section(section) ? CFG_DEVICE_PREFIX
	       : is_item_section(section) ? CFG_ITEM_PREFIX
					  : NULL;
}

/* Device names: 1 to 32 of a-z 0-9 '-' '_', starting with a letter. */
static gboolean
device_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n < 1 || n > 32 || !g_ascii_islower(name[0]))
		return FALSE;
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_islower(name[i]) && !g_ascii_isdigit(name[i]) && name[i] != '-' &&
		    name[i] != '_')
			return FALSE;
	return TRUE;
}

/*
 * Walks the text with GKeyFile's line rules (comments '#', "[group]",
 * "key = value"), recording positions and refusing unknown sections, unknown
 * keys and keys given twice.
 */
static gboolean
index_text(LineIndex *ix, const char *text, GError **error)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	g_autofree char *section = NULL;

	for (int i = 0; lines[i]; i++) {
		int lineno = i + 1;
		char *s = g_strstrip(lines[i]);
		if (*s == '\0' || *s == '#')
			continue;
		if (*s == '[') {
			char *end = strrchr(s, ']');
			if (!end || end[1] != '\0')
				return fail_at(error, ix->file, lineno, "malformed group header");
			*end = '\0';
			g_free(section);
			section = g_strdup(s + 1);
			const char *prefix = named_prefix(section);
			if (prefix) {
				if (!device_name_valid(section + strlen(prefix)))
					return fail_at(error, ix->file, lineno,
						       "[%s]: a %.*s name is 1 to 32 of a-z, 0-9, "
						       "'-' and '_', starting with a letter", section,
						       (int)strlen(prefix) - 1, prefix);
			} else if (!find_setting(section, NULL)) {
				return fail_at(error, ix->file, lineno, "unknown section [%s]", section);
			}
			if (index_line(ix, section, NULL))
				return fail_at(error, ix->file, lineno,
					       "section [%s] given twice (first at line %d)", section,
					       index_line(ix, section, NULL));
			g_hash_table_insert(ix->lines, g_strdup(section), GINT_TO_POINTER(lineno));
			continue;
		}
		char *eq = strchr(s, '=');
		if (!eq)
			return fail_at(error, ix->file, lineno, "expected \"key = value\", a [section] "
				       "or a # comment");
		*eq = '\0';
		char *key = g_strstrip(s);
		if (!section)
			return fail_at(error, ix->file, lineno, "key '%s' before any [section]", key);
		/* A device's options belong to its driver (the HAL checks them), an
		 * item's to the stock catalogue. */
		if (!named_prefix(section) && !find_setting(section, key))
			return fail_at(error, ix->file, lineno, "unknown key '%s' in [%s]", key, section);
		int first = index_line(ix, section, key);
		if (first)
			return fail_at(error, ix->file, lineno,
				       "key '%s' given twice in [%s] (first at line %d)", key, section,
				       first);
		g_hash_table_insert(ix->lines, g_strdup_printf("%s\n%s", section, key),
				    GINT_TO_POINTER(lineno));
	}
	return TRUE;
}

static gboolean
is_power_of_two(gint64 v)
{
	return v > 0 && (v & (v - 1)) == 0;
}

/* Parses TEXT as setting S's value and stores it into CFG. */
static gboolean
set_value(EktpConfig *cfg, const CfgSetting *s, const char *text, const char *file, int line,
	  GError **error)
{
	void *slot = (char *)cfg + s->offset;

	switch (s->type) {
	case CFG_INT: {
		char *end = NULL;
		errno = 0;
		long long v = strtoll(text, &end, 10);
		if (*text == '\0' || *end != '\0' || errno == ERANGE)
			return fail_at(error, file, line, "%s: '%s' is not a whole number", s->key,
				       text);
		if (v < s->min || v > s->max)
			return fail_at(error, file, line,
				       "%s: %lld is out of range (%" G_GINT64_FORMAT " to %"
				       G_GINT64_FORMAT "%s%s)", s->key, v, s->min, s->max,
				       s->unit ? " " : "", s->unit ? s->unit : "");
		if (s->power_of_two && !is_power_of_two(v))
			return fail_at(error, file, line, "%s: %lld is not a power of two", s->key, v);
		*(gint64 *)slot = v;
		return TRUE;
	}
	case CFG_STRING:
	case CFG_PATH:
		if ((gint64)strlen(text) > s->max)
			return fail_at(error, file, line, "%s: longer than %" G_GINT64_FORMAT " bytes",
				       s->key, s->max);
		if ((s->type == CFG_PATH || s->min > 0) && *text == '\0')
			return fail_at(error, file, line, "%s: must not be empty", s->key);
		g_free(*(char **)slot);
		*(char **)slot = g_strdup(text);
		return TRUE;
	case CFG_ENUM: {
		for (int i = 0; s->choices[i]; i++) {
			if (strcmp(s->choices[i], text) == 0) {
				*(int *)slot = i;
				return TRUE;
			}
		}
		g_autofree char *all = g_strjoinv(", ", (char **)s->choices);
		return fail_at(error, file, line, "%s: '%s' is not one of %s", s->key, text, all);
	}
	}
	g_assert_not_reached();
}

static void
option_free(gpointer p)
{
	CfgOption *o = p;
	g_free(o->key);
	g_free(o->value);
	g_free(o);
}

static void
device_free(gpointer p)
{
	CfgDevice *d = p;
	g_free(d->name);
	g_ptr_array_unref(d->options);
	g_free(d);
}

/* Collects the sections named PREFIX NAME into TO, in file order, with their lines. */
static gboolean
read_named(GPtrArray *to, const char *prefix, GKeyFile *kf, const LineIndex *ix, GError **error)
{
	g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
	for (int g = 0; groups[g]; g++) {
		if (!g_str_has_prefix(groups[g], prefix))
			continue;
		CfgDevice *d = g_new0(CfgDevice, 1);
		d->name = g_strdup(groups[g] + strlen(prefix));
		d->line = index_line(ix, groups[g], NULL);
		d->options = g_ptr_array_new_with_free_func(option_free);
		g_ptr_array_add(to, d);
		g_auto(GStrv) keys = g_key_file_get_keys(kf, groups[g], NULL, NULL);
		for (int k = 0; keys && keys[k]; k++) {
			GError *e = NULL;
			char *v = g_key_file_get_string(kf, groups[g], keys[k], &e);
			int line = index_line(ix, groups[g], keys[k]);
			if (!v) {
				fail_at(error, ix->file, line, "%s: %s", keys[k], e->message);
				g_error_free(e);
				return FALSE;
			}
			CfgOption *o = g_new0(CfgOption, 1);
			o->key = g_strdup(keys[k]);
			o->value = g_strstrip(v);
			o->line = line;
			g_ptr_array_add(d->options, o);
		}
	}
	return TRUE;
}

const CfgOption *
cfg_device_option(const CfgDevice *dev, const char *key)
{
	for (guint i = 0; i < dev->options->len; i++) {
		const CfgOption *o = dev->options->pdata[i];
		if (strcmp(o->key, key) == 0)
			return o;
	}
	return NULL;
}

static char *
resolve(const char *base, const char *path)
{
	if (g_path_is_absolute(path))
		return g_canonicalize_filename(path, NULL);
	return g_canonicalize_filename(path, base);
}

EktpConfig *
cfg_load(const char *file, const char *state_dir, GError **error)
{
	g_autoptr(EktpConfig) cfg = g_new0(EktpConfig, 1);
	cfg->devices = g_ptr_array_new_with_free_func(device_free);
	cfg->items = g_ptr_array_new_with_free_func(device_free);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autofree char *text = NULL;
	g_autofree char *cwd = g_get_current_dir();
	LineIndex ix = { g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL), file };
	gboolean ok = FALSE;

	for (size_t i = 0; i < G_N_ELEMENTS(settings); i++)
		if (!set_value(cfg, &settings[i], settings[i].def, NULL, 0, error))
			g_assert_not_reached(); /* the table's defaults are valid */

	if (file) {
		GError *e = NULL;
		cfg->file = g_strdup(file);
		if (!g_file_get_contents(file, &text, NULL, &e)) {
			g_set_error(error, CFG_ERROR, 0, "%s:0: %s", file, e->message);
			g_error_free(e);
			goto out;
		}
		if (!g_utf8_validate(text, -1, NULL)) {
			fail_at(error, file, 0, "not valid UTF-8");
			goto out;
		}
		if (!index_text(&ix, text, error))
			goto out;
		if (!g_key_file_load_from_data(kf, text, -1, G_KEY_FILE_NONE, &e)) {
			fail_at(error, file, 0, "%s", e->message);
			g_error_free(e);
			goto out;
		}
		for (size_t i = 0; i < G_N_ELEMENTS(settings); i++) {
			const CfgSetting *s = &settings[i];
			if (!g_key_file_has_key(kf, s->section, s->key, NULL))
				continue;
			g_autofree char *v = g_key_file_get_string(kf, s->section, s->key, &e);
			int line = index_line(&ix, s->section, s->key);
			if (!v) {
				fail_at(error, file, line, "%s: %s", s->key, e->message);
				g_error_free(e);
				goto out;
			}
			if (!set_value(cfg, s, g_strstrip(v), file, line, error))
				goto out;
		}
	}

	/* Precedence for the state directory: -S or EKTP_STATE_DIR, then the file. */
	if (state_dir && *state_dir) {
		g_free(cfg->state_dir);
		cfg->state_dir = g_strdup(state_dir);
	}
	char *abs = resolve(cwd, cfg->state_dir);
	g_free(cfg->state_dir);
	cfg->state_dir = abs;
	/* Every file name setting is relative to the state directory. */
	for (size_t i = 0; i < G_N_ELEMENTS(settings); i++) {
		if (settings[i].type != CFG_PATH)
			continue;
		char **slot = (char **)((char *)cfg + settings[i].offset);
		abs = resolve(cfg->state_dir, *slot);
		g_free(*slot);
		*slot = abs;
	}
	if (strlen(cfg->socket_path) > 107) {
		fail_at(error, file, index_line(&ix, "daemon", "socket"),
			"socket: '%s' is longer than a Unix socket path may be (107 bytes)",
			cfg->socket_path);
		goto out;
	}
	if (text && (!read_named(cfg->devices, CFG_DEVICE_PREFIX, kf, &ix, error) ||
		     !read_named(cfg->items, CFG_ITEM_PREFIX, kf, &ix, error)))
		goto out;
	ok = TRUE;
out:
	g_hash_table_destroy(ix.lines);
	return ok ? g_steal_pointer(&cfg) : NULL;
}

void
cfg_free(EktpConfig *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < G_N_ELEMENTS(settings); i++)
		if (settings[i].type == CFG_STRING || settings[i].type == CFG_PATH)
			g_free(*(char **)((char *)cfg + settings[i].offset));
	g_free(cfg->file);
	if (cfg->devices)
		g_ptr_array_unref(cfg->devices);
	if (cfg->items)
		g_ptr_array_unref(cfg->items);
	g_free(cfg);
}

static gboolean
same_value(const CfgSetting *s, const EktpConfig *a, const EktpConfig *b)
{
	const void *pa = (const char *)a + s->offset, *pb = (const char *)b + s->offset;
	switch (s->type) {
	case CFG_INT:
		return *(const gint64 *)pa == *(const gint64 *)pb;
	case CFG_ENUM:
		return *(const int *)pa == *(const int *)pb;
	case CFG_STRING:
	case CFG_PATH:
		return g_strcmp0(*(char *const *)pa, *(char *const *)pb) == 0;
	}
	g_assert_not_reached();
}

/* The device sections as text, to tell whether any changed. */
static char *
devices_text(const EktpConfig *cfg)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < cfg->devices->len; i++) {
		const CfgDevice *d = cfg->devices->pdata[i];
		g_string_append_printf(s, "[%s]\n", d->name);
		for (guint k = 0; k < d->options->len; k++) {
			const CfgOption *o = d->options->pdata[k];
			g_string_append_printf(s, "%s=%s\n", o->key, o->value);
		}
	}
	return g_string_free(s, FALSE);
}

int
cfg_apply_reload(EktpConfig *live, const EktpConfig *fresh, GPtrArray *ignored)
{
	int changed = 0;
	g_autofree char *before = devices_text(live);
	g_autofree char *after = devices_text(fresh);
	if (strcmp(before, after) != 0 && ignored)
		g_ptr_array_add(ignored, g_strdup("the [device ...] sections"));
	for (size_t i = 0; i < G_N_ELEMENTS(settings); i++) {
		const CfgSetting *s = &settings[i];
		if (same_value(s, live, fresh))
			continue;
		if (!s->reloadable) {
			if (ignored)
				g_ptr_array_add(ignored, g_strdup_printf("%s.%s", s->section, s->key));
			continue;
		}
		void *dst = (char *)live + s->offset;
		const void *src = (const char *)fresh + s->offset;
		switch (s->type) {
		case CFG_INT:
			*(gint64 *)dst = *(const gint64 *)src;
			break;
		case CFG_ENUM:
			*(int *)dst = *(const int *)src;
			break;
		case CFG_STRING:
		case CFG_PATH:
			g_free(*(char **)dst);
			*(char **)dst = g_strdup(*(char *const *)src);
			break;
		}
		changed++;
	}
	return changed;
}

void
cfg_write_documented(GString *out)
{
	const char *section = NULL;
	for (size_t i = 0; i < G_N_ELEMENTS(settings); i++) {
		const CfgSetting *s = &settings[i];
		if (g_strcmp0(section, s->section) != 0) {
			section = s->section;
			g_string_append_printf(out, "%s[%s]\n", i ? "\n" : "", section);
		}
		g_autofree char *help = g_strdup(s->help);
		g_string_append(out, "\n");
		/* Wrap the help text at about 78 columns. */
		GString *line = g_string_new("#");
		g_auto(GStrv) words = g_strsplit(help, " ", -1);
		for (int w = 0; words[w]; w++) {
			if (!*words[w])
				continue;
			if (line->len + 1 + strlen(words[w]) > 78) {
				g_string_append_printf(out, "%s\n", line->str);
				g_string_assign(line, "#");
			}
			g_string_append_printf(line, " %s", words[w]);
		}
		g_string_append_printf(out, "%s\n", line->str);
		g_string_free(line, TRUE);
		if (s->type == CFG_INT)
			g_string_append_printf(out, "# Range %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT
					       "%s%s%s.", s->min, s->max, s->unit ? " " : "",
					       s->unit ? s->unit : "",
					       s->power_of_two ? ", a power of two" : "");
		else
			g_string_append(out, "#");
		g_string_append_printf(out, " %s.\n", s->reloadable ? "SIGHUP reloads it"
								       : "Read at start only");
		g_string_append_printf(out, "#%s =%s%s\n", s->key, *s->def ? " " : "", s->def);
	}
}
