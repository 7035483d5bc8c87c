/* SPDX-License-Identifier: MIT */
/*
 * What the store's own files share (store.c: the connection, migrations,
 * accounts, audit and devices; records.c: enrollments and records).  Never
 * included outside src/store/: the rest of ektpd sees only store.h.
 */
#ifndef EKTP_STORE_INTERNAL_H
#define EKTP_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store/store.h"

struct Store {
	sqlite3 *db;
	char *path;
	GHashTable *stmts; /* const char *sql → sqlite3_stmt* */
	gboolean in_txn;
};

/* The columns of biometrics: one capture or exception per modality and
 * position; OWNER is the enrollment's id, which is also its record's. */
#define STORE_ITEM_COLUMNS \
	"  owner INTEGER NOT NULL," \
	"  modality TEXT NOT NULL CHECK (modality IN ('finger','iris','face','signature'))," \
	"  position INTEGER NOT NULL," \
	"  kind TEXT NOT NULL CHECK (kind IN ('capture','exception'))," \
	"  status TEXT NOT NULL," \
	"  quality INTEGER NOT NULL," \
	"  threshold INTEGER NOT NULL," \
	"  algorithm TEXT NOT NULL," \
	"  attempts INTEGER NOT NULL," \
	"  forced INTEGER NOT NULL CHECK (forced IN (0,1))," \
	"  source TEXT NOT NULL," \
	"  device TEXT NOT NULL," \
	"  driver TEXT NOT NULL," \
	"  driver_version TEXT NOT NULL," \
	"  serial TEXT NOT NULL," \
	"  width INTEGER NOT NULL," \
	"  height INTEGER NOT NULL," \
	"  channels INTEGER NOT NULL," \
	"  ppi INTEGER NOT NULL," \
	"  captured_at INTEGER NOT NULL," \
	"  sealed BLOB," \
	"  exc_kind TEXT NOT NULL," \
	"  reason TEXT NOT NULL"

/* Sets ERROR from sqlite3 result RC (WHAT names the step); returns -1. */
int store_set_error(Store *st, GError **error, int rc, const char *what);
/* The cached statement for SQL (a static string: its address is the key),
 * reset and with its bindings cleared; borrowed from ST. */
sqlite3_stmt *store_prep(Store *st, const char *sql, GError **error);
int store_bind_text(Store *st, sqlite3_stmt *s, int i, const char *v, GError **error);
int store_bind_int(Store *st, sqlite3_stmt *s, int i, gint64 v, GError **error);
/* Steps a statement that returns no rows. */
int store_run(Store *st, sqlite3_stmt *s, GError **error);
/* Column I as a new string ("" for NULL); caller frees. */
char *store_col_text(sqlite3_stmt *s, int i);
int store_exec(Store *st, const char *sql, GError **error);
/* One scalar integer from SQL (no parameters); -1 with ERROR on failure. */
gint64 store_scalar(Store *st, const char *sql, GError **error);
/* The first column of the prepared S's first row (0 when no row or NULL);
 * -1 with ERROR (WHAT names the read) on failure. */
gint64 store_scalar_stmt(Store *st, sqlite3_stmt *s, const char *what, GError **error);

#endif
