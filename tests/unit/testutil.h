/* SPDX-License-Identifier: MIT */
/*
 * What the cmocka unit tests share, so each test file need not keep its own
 * copy: a GLib log handler that keeps the daemon's chatter out of the TAP
 * output, temporary directories (made, filled with plain files, removed), a
 * database opened or verified the way several tests expect it, and raw SQL on
 * a second sqlite3 connection, as another program would run it.  Every test is
 * compiled as one .c file (see the Makefile rule $(BUILD)/tests/%), so these
 * are static inline functions: a test that does not use one pays nothing.
 * Each helper fails the running test (fail_msg) instead of returning an error.
 */
#ifndef EKTP_TESTUTIL_H
#define EKTP_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "core/audit.h"
#include "store/store.h"

/* ---- logging ---- */

static inline void
tu_quiet_log(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
	(void)domain;
	(void)level;
	(void)message;
	(void)data;
}

/* Drops messages, info and debug output of the default log domain. */
static inline void
tu_quiet_logs(void)
{
	g_log_set_handler(NULL, G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG,
			  tu_quiet_log, NULL);
}

/* ---- time ---- */

/* How many times slower than usual the test runs: EKTP_TEST_SLOW (1 when
 * unset), which the sanitizer and memcheck runs set.  Time limits that only
 * stand for "soon" are multiplied by it. */
static inline int
tu_slow(void)
{
	const char *v = g_getenv("EKTP_TEST_SLOW");
	int n = v ? atoi(v) : 1;
	return n > 1 ? n : 1;
}

/* ---- temporary directories and files ---- */

/* A new directory "ektp-test-WHAT-XXXXXX" under the temporary directory (caller frees). */
static inline char *
tu_tmp_dir(const char *what)
{
	g_autofree char *tmpl = g_strdup_printf("ektp-test-%s-XXXXXX", what);
	GError *error = NULL;
	char *dir = g_dir_make_tmp(tmpl, &error);
	if (!dir)
		fail_msg("g_dir_make_tmp %s: %s", tmpl, error->message);
	return dir;
}

/* Removes DIR and the plain files directly in it (all the tests make there). */
static inline void
tu_remove_dir(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	if (d) {
		const char *name;
		while ((name = g_dir_read_name(d))) {
			g_autofree char *p = g_build_filename(dir, name, NULL);
			g_remove(p);
		}
		g_dir_close(d);
	}
	g_rmdir(dir);
}

/* Writes TEXT to NAME inside DIR; returns the path (caller frees). */
static inline char *
tu_write_file(const char *dir, const char *name, const char *text)
{
	char *path = g_build_filename(dir, name, NULL);
	GError *error = NULL;
	if (!g_file_set_contents(path, text, -1, &error))
		fail_msg("writing %s: %s", path, error->message);
	return path;
}

/* ---- the database ---- */

/* Opens (creating) the store at PATH; fails the test when it cannot. */
static inline Store *
tu_store_open(const char *path)
{
	GError *error = NULL;
	Store *st = store_open(path, &error);
	if (!st)
		fail_msg("store_open: %s", error->message);
	return st;
}

/* A temporary directory with a database path in it, and the store when it is open. */
typedef struct {
	char *dir;
	char *path; /* dir/ektp.db */
	Store *st;  /* NULL until opened */
} TuDb;

/* Makes a directory "ektp-test-WHAT-XXXXXX" for dir/ektp.db, and opens it when OPEN. */
static inline TuDb *
tu_db_new(const char *what, gboolean open)
{
	TuDb *db = g_new0(TuDb, 1);
	db->dir = tu_tmp_dir(what);
	db->path = g_build_filename(db->dir, "ektp.db", NULL);
	if (open)
		db->st = tu_store_open(db->path);
	return db;
}

/* Closes the store if open, removes the directory and its files, frees DB. */
static inline void
tu_db_free(TuDb *db)
{
	store_close(db->st);
	tu_remove_dir(db->dir);
	g_free(db->path);
	g_free(db->dir);
	g_free(db);
}

/*
 * cmocka setups and teardown for a TuDb fixture.  The test's prestate is WHAT
 * for tu_db_new(), e.g.
 *   cmocka_unit_test_prestate_setup_teardown(fn, tu_db_setup_open, tu_db_teardown, "audit")
 */
static inline int
tu_db_setup(void **state)
{
	*state = tu_db_new(*state, FALSE);
	return 0;
}

static inline int
tu_db_setup_open(void **state)
{
	*state = tu_db_new(*state, TRUE);
	return 0;
}

static inline int
tu_db_teardown(void **state)
{
	tu_db_free(*state);
	return 0;
}

/* Calls GET (store_audit_head_get or store_audit_tail) and expects N and HASH from it. */
static inline void
tu_expect_audit_end(int (*get)(Store *, gint64 *, char **, GError **), Store *st, gint64 n,
		    const char *hash)
{
	GError *error = NULL;
	gint64 got_n = -1;
	g_autofree char *got_hash = NULL;
	assert_int_equal(get(st, &got_n, &got_hash, &error), 0);
	assert_int_equal(got_n, n);
	assert_string_equal(got_hash, hash);
}

/* Expects the audit head to count ROWS rows and to hold HASH. */
static inline void
tu_expect_audit_head(Store *st, gint64 rows, const char *hash)
{
	tu_expect_audit_end(store_audit_head_get, st, rows, hash);
}

/*
 * Verifies the audit chain and expects it whole with ROWS rows.  Returns the
 * verdict for further checks (its reason is NULL when it is whole).
 */
static inline AuditVerdict
tu_expect_audit_ok(Store *st, gint64 rows)
{
	AuditVerdict v;
	GError *error = NULL;
	memset(&v, 0x55, sizeof v);
	assert_int_equal(audit_verify(st, &v, &error), 0);
	if (!v.ok)
		fail_msg("audit chain broken at %" G_GINT64_FORMAT ": %s", v.first_bad, v.reason);
	assert_int_equal(v.rows, rows);
	return v;
}

/*
 * Runs SQL on a second connection to the database at PATH, as another program
 * would; fails the test on error.  Returns how many rows the last statement
 * changed.
 */
static inline int
tu_sql_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		fail_msg("open %s: %s", path, sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 2000);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	int changes = sqlite3_changes(db);
	sqlite3_close(db);
	return changes;
}

#endif
