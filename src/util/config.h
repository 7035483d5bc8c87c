/* SPDX-License-Identifier: MIT */
/*
 * ektpd's settings: one table declares every configuration key with its type,
 * default, bounds, unit, help text and whether SIGHUP may change it.  The INI
 * file is read with GKeyFile; this module checks it against the table and
 * reports the first problem as "FILE:LINE: reason".  config/ektpd.conf and the
 * README's key list are written from the same table (ektpd --print-defaults).
 */
#ifndef EKTP_UTIL_CONFIG_H
#define EKTP_UTIL_CONFIG_H

#include <glib.h>
#include <stddef.h>

#define CFG_ERROR (cfg_error_quark())
GQuark cfg_error_quark(void);

typedef enum {
	CFG_INT,    /* whole number within [min, max] */
	CFG_STRING, /* text of at most max bytes */
	CFG_PATH,   /* file name; relative ones resolve against the state directory */
	CFG_ENUM,   /* one word of choices; stored as its index */
} CfgType;

typedef struct {
	const char *section;
	const char *key;
	CfgType type;
	const char *def; /* the default, written as in the file */
	gint64 min, max; /* CFG_INT bounds; CFG_STRING/CFG_PATH: min 1 = not empty, max length */
	const char *const *choices; /* CFG_ENUM, NULL-terminated */
	const char *unit;
	gboolean reloadable; /* SIGHUP may change it */
	gboolean power_of_two;
	size_t offset; /* into EktpConfig */
	const char *help;
} CfgSetting;

/* One "key = value" of a [device NAME] section, checked later by the HAL. */
typedef struct {
	char *key;
	char *value;
	int line;
} CfgOption;

/* A [device NAME] section (which driver runs the device, and its options),
 * or an [item NAME] section (a consumable of the stock catalogue). */
typedef struct {
	char *name;
	int line;
	GPtrArray *options; /* CfgOption* */
} CfgDevice;

#define CFG_DEVICE_PREFIX "device "
#define CFG_ITEM_PREFIX "item "

typedef struct {
	/* [daemon] */
	char *state_dir; /* absolute */
	char *socket_path; /* absolute */
	char *socket_group; /* "" = the daemon's own group */
	char *database; /* absolute */
	gint64 database_max_mb; /* 0 = no cap */
	int log_level; /* LogLevel */
	/* [api] */
	gint64 max_body;
	gint64 max_upload;
	/* [enroll] */
	char *enroll_regency;
	int enroll_allow_out_of_area; /* 0 no, 1 yes */
	gint64 enroll_min_age;
	gint64 enroll_retries[4]; /* finger, iris, face, signature */
	char *enroll_region_data; /* as written; ektpd resolves it against the file's folder */
	char *enroll_key_file;    /* absolute */
	/* [card] */
	char *card_layout;      /* as written; relative to the file's folder */
	char *card_signer_cert; /* as written; "" = the test PKI */
	char *card_signer_key;
	char *card_ca_cert;
	gint64 card_chip_capacity;
	char *card_chip_fingers; /* "2,7" */
	/* [report] */
	gint64 report_adult_share;
	/* [print] */
	char *print_election_date; /* "YYYY-MM-DD" or "" */
	gint64 print_retries;
	char *print_overlay_clear; /* "x,y,w,h" */
	/* [stock] */
	gint64 stock_forecast_days;
	gint64 stock_hopper_capacity;
	gint64 stock_clean_threshold;
	gint64 stock_printer_low;
	gint64 stock_max_quantity;
	/* [quality] */
	gint64 quality_fingerprint_min;
	gint64 quality_iris_min;
	gint64 quality_face_min;
	/* [trend] */
	gint64 trend_window;
	gint64 trend_quality_drop;
	/* [auth] */
	gint64 session_idle;
	gint64 max_failed_logins;
	gint64 lockout;
	gint64 pin_min_length;
	gint64 scrypt_n;

	char *file; /* the file read, or NULL for built-in defaults */
	GPtrArray *devices; /* CfgDevice*, in file order */
	GPtrArray *items;   /* the [item NAME] sections (CfgDevice*), in file order */
} EktpConfig;

/* The table, for documentation and tests.  Borrowed, static. */
const CfgSetting *cfg_settings(size_t *n_out);

/*
 * Reads FILE (NULL: defaults only).  STATE_DIR (may be NULL) overrides the
 * file's [daemon] state_dir.  Relative paths resolve as documented.
 * Returns a new config (caller frees with cfg_free) or NULL with ERROR set to
 * "FILE:LINE: reason".
 */
EktpConfig *cfg_load(const char *file, const char *state_dir, GError **error);
void cfg_free(EktpConfig *cfg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EktpConfig, cfg_free)

/* The option KEY of DEV, or NULL.  Borrowed. */
const CfgOption *cfg_device_option(const CfgDevice *dev, const char *key);

/*
 * Copies the reloadable settings of FRESH into LIVE.  For every setting that
 * changed but is not reloadable, appends "section.key" to IGNORED (may be
 * NULL); a change to the [device …] sections is reported as "[device NAME]".
 * Returns the number of settings changed.
 */
int cfg_apply_reload(EktpConfig *live, const EktpConfig *fresh, GPtrArray *ignored);

/* Writes a commented INI file with every key at its default. */
void cfg_write_documented(GString *out);

#endif
