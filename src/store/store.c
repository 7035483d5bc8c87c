/* SPDX-License-Identifier: MIT */
/*
 * SQLite behind typed calls.  Prepared statements are cached per SQL text
 * (the texts are static strings, so their addresses are the keys); every
 * sqlite3 result is checked and turned into a STORE_ERROR whose code tells
 * a full disk or a busy database from a refused row.
 */
#include "store/internal.h"

#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

G_DEFINE_QUARK(ektp-store-error-quark, store_error)


int
store_set_error(Store *st, GError **error, int rc, const char *what)
{
	StoreErrorCode code;
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
		code = STORE_ERROR_CONFLICT;
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		code = STORE_ERROR_BUSY;
		break;
	case SQLITE_FULL:
		code = STORE_ERROR_FULL;
		break;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
		code = STORE_ERROR_IO;
		break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		code = STORE_ERROR_CORRUPT;
		break;
	default:
		code = STORE_ERROR_FAILED;
	}
	g_set_error(error, STORE_ERROR, code, "%s: %s", what,
		    st && st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
	return -1;
}

/* The cached statement for SQL, reset and with bindings cleared. */
sqlite3_stmt *
store_prep(Store *st, const char *sql, GError **error)
{
	sqlite3_stmt *s = g_hash_table_lookup(st->stmts, sql);
	if (s) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		return s;
	}
	int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
	if (rc != SQLITE_OK) {
		store_set_error(st, error, rc, "prepare");
		return NULL;
	}
	g_hash_table_insert(st->stmts, (gpointer)sql, s);
	return s;
}

static void
finalize_stmt(gpointer s)
{
	sqlite3_finalize(s);
}

int
store_bind_text(Store *st, sqlite3_stmt *s, int i, const char *v, GError **error)
{
	int rc = sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	return rc == SQLITE_OK ? 0 : store_set_error(st, error, rc, "bind");
}

int
store_bind_int(Store *st, sqlite3_stmt *s, int i, gint64 v, GError **error)
{
	int rc = sqlite3_bind_int64(s, i, v);
	return rc == SQLITE_OK ? 0 : store_set_error(st, error, rc, "bind");
}

/* Steps a statement that returns no rows. */
int
store_run(Store *st, sqlite3_stmt *s, GError **error)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : store_set_error(st, error, rc, "write");
}

char *
store_col_text(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return g_strdup(t ? (const char *)t : "");
}

int
store_exec(Store *st, const char *sql, GError **error)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : store_set_error(st, error, rc, "exec");
}

/* One scalar integer from SQL (no parameters); -1 with ERROR on failure. */
gint64
store_scalar(Store *st, const char *sql, GError **error)
{
	sqlite3_stmt *s = store_prep(st, sql, error);
	if (!s)
		return -1;
	int rc = sqlite3_step(s);
	gint64 v = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		store_set_error(st, error, rc, "read");
	return v;
}

gint64
store_scalar_stmt(Store *st, sqlite3_stmt *s, const char *what, GError **error)
{
	int rc = sqlite3_step(s);
	gint64 v = 0;
	if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(s, 0);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		store_set_error(st, error, rc, what);
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? v : -1;
}

/*
 * Migrations: step i takes the schema from version i to i+1.  Each runs in
 * its own transaction with the user_version update, so a crash leaves the
 * database at a version it names.  Never edit a step that has shipped.
 */
static const char *const migrations[] = {
	/* 0 → 1: accounts and the audit log. */
	"CREATE TABLE users ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  role TEXT NOT NULL CHECK (role IN ('operator','supervisor','technician','admin')),"
	"  pin_hash TEXT NOT NULL,"
	"  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0,1)),"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  ts INTEGER NOT NULL,"
	"  user TEXT NOT NULL,"
	"  role TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  target TEXT NOT NULL,"
	"  result TEXT NOT NULL,"
	"  detail TEXT NOT NULL,"
	"  prev_hash TEXT NOT NULL,"
	"  hash TEXT NOT NULL);"
	"CREATE TABLE audit_head ("
	"  one INTEGER PRIMARY KEY CHECK (one = 1),"
	"  rows INTEGER NOT NULL,"
	"  hash TEXT NOT NULL);"
	"INSERT INTO audit_head VALUES (1, 0, '');",
	/* 1 → 2: login sessions and lockout. */
	"ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE users ADD COLUMN locked_until INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE users ADD COLUMN last_login_at INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE sessions ("
	"  token_hash TEXT PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  created_at INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL);"
	"CREATE INDEX sessions_user ON sessions(user_id);",
	/* 2 → 3: device self-tests and the capture history that trends are drawn from. */
	"CREATE TABLE selftests ("
	"  id INTEGER PRIMARY KEY,"
	"  device TEXT NOT NULL,"
	"  ts INTEGER NOT NULL,"
	"  ok INTEGER NOT NULL CHECK (ok IN (0,1)),"
	"  user TEXT NOT NULL,"
	"  message TEXT NOT NULL,"
	"  figures TEXT NOT NULL);"
	"CREATE INDEX selftests_device ON selftests(device, id);"
	"CREATE TABLE captures ("
	"  id INTEGER PRIMARY KEY,"
	"  device TEXT NOT NULL,"
	"  ts INTEGER NOT NULL,"
	"  ok INTEGER NOT NULL CHECK (ok IN (0,1)),"
	"  quality INTEGER,"
	"  latency_ms INTEGER NOT NULL,"
	"  source TEXT NOT NULL);"
	"CREATE INDEX captures_device ON captures(device, id);",
	/* 3 → 4: enrollment sessions, records and their biometrics (records.c).
	 * An enrollment's id becomes its record's id, and its images (sealed,
	 * bound to that id) are written once, by each capture; the commit only
	 * adds the record. */
	"CREATE TABLE enrollments ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  state TEXT NOT NULL CHECK (state IN ('open','committed','abandoned')),"
	"  nik TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  operator TEXT NOT NULL,"
	"  demographics TEXT NOT NULL,"
	"  warnings TEXT NOT NULL,"
	"  reenroll INTEGER NOT NULL CHECK (reenroll IN (0,1)),"
	"  print_ready_after TEXT,"
	"  wrapped_key BLOB NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE INDEX enrollments_state ON enrollments(state, id);"
	"CREATE TABLE biometrics (" STORE_ITEM_COLUMNS
	"  , PRIMARY KEY (owner, modality, position),"
	"  FOREIGN KEY (owner) REFERENCES enrollments(id));"
	"CREATE TABLE records ("
	"  id INTEGER PRIMARY KEY REFERENCES enrollments(id),"
	"  state TEXT NOT NULL CHECK (state IN ('captured','approved','print_ready','on_hold',"
	"    'rejected','superseded')),"
	"  state_reason TEXT NOT NULL DEFAULT '',"
	"  nik TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  village_code TEXT NOT NULL,"
	"  demographics TEXT NOT NULL,"
	"  warnings TEXT NOT NULL,"
	"  needs_approval TEXT NOT NULL,"
	"  operator TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  approved_by TEXT,"
	"  approved_at INTEGER,"
	"  print_ready_after TEXT,"
	"  replaces INTEGER REFERENCES records(id),"
	"  wrapped_key BLOB NOT NULL);"
	"CREATE INDEX records_nik ON records(nik, id);"
	"CREATE INDEX records_state ON records(state, id);"
	"CREATE INDEX records_created ON records(created_at);",
	/* 4 → 5: printing (printing.c).  Records gain the states printing,
	 * printed and spoiled, which SQLite can only add by rebuilding the table
	 * (its documented procedure: foreign keys off meanwhile, checked before
	 * the commit).  A batch lists cards; a card is one attempt to print one
	 * record, journaled phase by phase before each phase starts. */
	"CREATE TABLE records_v5 ("
	"  id INTEGER PRIMARY KEY REFERENCES enrollments(id),"
	"  state TEXT NOT NULL CHECK (state IN ('captured','approved','print_ready','on_hold',"
	"    'rejected','superseded','printing','printed','spoiled')),"
	"  state_reason TEXT NOT NULL DEFAULT '',"
	"  nik TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  village_code TEXT NOT NULL,"
	"  demographics TEXT NOT NULL,"
	"  warnings TEXT NOT NULL,"
	"  needs_approval TEXT NOT NULL,"
	"  operator TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  approved_by TEXT,"
	"  approved_at INTEGER,"
	"  print_ready_after TEXT,"
	"  replaces INTEGER REFERENCES records(id),"
	"  wrapped_key BLOB NOT NULL);"
	"INSERT INTO records_v5 SELECT * FROM records;"
	"DROP TABLE records;"
	"ALTER TABLE records_v5 RENAME TO records;"
	"CREATE INDEX records_nik ON records(nik, id);"
	"CREATE INDEX records_state ON records(state, id);"
	"CREATE INDEX records_created ON records(created_at);"
	"CREATE TABLE print_batches ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  state TEXT NOT NULL CHECK (state IN ('running','done','cancelled')),"
	"  printer TEXT NOT NULL,"
	"  created_by TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  finished_at INTEGER);"
	"CREATE TABLE print_cards ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  batch INTEGER NOT NULL REFERENCES print_batches(id),"
	"  record INTEGER NOT NULL REFERENCES records(id),"
	"  seq INTEGER NOT NULL,"
	"  phase TEXT NOT NULL CHECK (phase IN ('queued','picked','encoded','printed','ejected',"
	"    'done','spoiled','void','cancelled')),"
	"  printer TEXT NOT NULL DEFAULT '',"
	"  cause TEXT NOT NULL DEFAULT '',"
	"  started_at INTEGER,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE INDEX print_cards_batch ON print_cards(batch, seq);"
	"CREATE INDEX print_cards_record ON print_cards(record);"
	"CREATE INDEX print_cards_live ON print_cards(phase) WHERE phase NOT IN "
	"  ('done','spoiled','void','cancelled');",
	/* 6: the consumables ledger, append-only; no balance may go below zero. */
	"CREATE TABLE stock_moves ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  at INTEGER NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('receive','load','unload','consume','return',"
	"    'spoil','adjust','clean')),"
	"  item TEXT NOT NULL,"
	"  location TEXT NOT NULL,"
	"  qty INTEGER NOT NULL CHECK (qty <> 0),"
	"  lot TEXT NOT NULL DEFAULT '',"
	"  supplier TEXT NOT NULL DEFAULT '',"
	"  serial_first TEXT NOT NULL DEFAULT '',"
	"  serial_last TEXT NOT NULL DEFAULT '',"
	"  received_on TEXT NOT NULL DEFAULT '',"
	"  cause TEXT NOT NULL DEFAULT '',"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  printer TEXT NOT NULL DEFAULT '',"
	"  card INTEGER REFERENCES print_cards(id),"
	"  actor TEXT NOT NULL,"
	"  grp INTEGER);"
	"CREATE INDEX stock_moves_place ON stock_moves(item, location, qty);"
	"CREATE INDEX stock_moves_at ON stock_moves(at);"
	"CREATE INDEX stock_moves_card ON stock_moves(card) WHERE card IS NOT NULL;"
	"CREATE INDEX stock_moves_clean ON stock_moves(printer, id) WHERE kind = 'clean';"
	"CREATE TRIGGER stock_moves_no_update BEFORE UPDATE ON stock_moves "
	"  BEGIN SELECT RAISE(ABORT, 'the stock ledger is append-only'); END;"
	"CREATE TRIGGER stock_moves_no_delete BEFORE DELETE ON stock_moves "
	"  BEGIN SELECT RAISE(ABORT, 'the stock ledger is append-only'); END;"
	/* INSERT OR REPLACE deletes without firing delete triggers. */
	"CREATE TRIGGER stock_moves_no_replace BEFORE INSERT ON stock_moves "
	"  WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM stock_moves WHERE id = NEW.id) "
	"  BEGIN SELECT RAISE(ABORT, 'the stock ledger is append-only'); END;"
	"CREATE TRIGGER stock_moves_not_negative AFTER INSERT ON stock_moves "
	"  WHEN (SELECT SUM(qty) FROM stock_moves WHERE item = NEW.item "
	"        AND location = NEW.location) < 0 "
	"  BEGIN SELECT RAISE(ABORT, 'stock below zero'); END;"
	"CREATE TABLE stock_rations ("
	"  printer TEXT PRIMARY KEY,"
	"  daily INTEGER NOT NULL CHECK (daily >= 0),"
	"  hourly INTEGER NOT NULL CHECK (hourly >= 0),"
	"  set_by TEXT NOT NULL,"
	"  set_at INTEGER NOT NULL);"
	"CREATE TABLE stock_alerts ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  at INTEGER NOT NULL,"
	"  printer TEXT NOT NULL,"
	"  item TEXT NOT NULL,"
	"  what TEXT NOT NULL,"
	"  ledger INTEGER NOT NULL,"
	"  device INTEGER NOT NULL,"
	"  source TEXT NOT NULL);"
	"CREATE TABLE stock_marks ("
	"  printer TEXT PRIMARY KEY,"
	"  at INTEGER NOT NULL,"
	"  counter_total INTEGER NOT NULL,"
	"  move_id INTEGER NOT NULL);"
	"CREATE INDEX print_cards_started ON print_cards(printer, started_at) "
	"  WHERE started_at IS NOT NULL;",
	/* 6 → 7: the running batches (a handful) and the finished cards by
	 * time, so that claiming and journaling a card, the batch list and the
	 * stock report no longer read every batch or card of the history
	 * (bench/queue).  A query takes a partial index only when it repeats
	 * the index's condition: state = 'running', phase IN ('done','spoiled'). */
	"CREATE INDEX print_batches_running ON print_batches(id) WHERE state = 'running';"
	"CREATE INDEX print_cards_finished ON print_cards(updated_at, id) "
	"  WHERE phase IN ('done','spoiled');",
};
G_STATIC_ASSERT(G_N_ELEMENTS(migrations) == STORE_SCHEMA_VERSION);

/* 0 when no row breaks a foreign key, else -1 with ERROR naming the first. */
static int
fk_violations(Store *st, GError **error)
{
	sqlite3_stmt *s = store_prep(st, "PRAGMA foreign_key_check", error);
	if (!s)
		return -1;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_ROW)
		g_set_error(error, STORE_ERROR, STORE_ERROR_FAILED,
			    "row %lld of %s breaks its foreign key to %s",
			    (long long)sqlite3_column_int64(s, 1), sqlite3_column_text(s, 0),
			    sqlite3_column_text(s, 2));
	else
		store_set_error(st, error, rc, "foreign_key_check");
	sqlite3_reset(s);
	return -1;
}

static int
migrate(Store *st, int target, GError **error)
{
	gint64 version = store_scalar(st, "PRAGMA user_version", error);
	if (version < 0)
		return -1;
	if (version > STORE_SCHEMA_VERSION) {
		g_set_error(error, STORE_ERROR, STORE_ERROR_SCHEMA,
			    "%s has schema version %" G_GINT64_FORMAT
			    ", newer than this ektpd knows (%d)",
			    st->path, version, STORE_SCHEMA_VERSION);
		return -1;
	}
	/* Foreign keys stay off while tables are rebuilt (they cannot change
	 * inside a transaction); each step checks them before it commits. */
	if (version < target && store_exec(st, "PRAGMA foreign_keys = OFF", error) < 0)
		return -1;
	for (int v = (int)version; v < target; v++) {
		g_autofree char *bump = g_strdup_printf("PRAGMA user_version = %d", v + 1);
		if (store_begin(st, error) < 0)
			return -1;
		if (store_exec(st, migrations[v], error) < 0 || store_exec(st, bump, error) < 0 ||
		    fk_violations(st, error) != 0) {
			g_prefix_error(error, "migration to schema %d: ", v + 1);
			store_rollback(st);
			return -1;
		}
		if (store_commit(st, error) < 0)
			return -1;
		g_message("database %s migrated to schema version %d", st->path, v + 1);
	}
	return store_exec(st, "PRAGMA foreign_keys = ON", error);
}

Store *
store_open_version(const char *path, int version, GError **error)
{
	Store *st = g_new0(Store, 1);
	st->path = g_strdup(path);
	st->stmts = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, finalize_stmt);
	int rc = sqlite3_open_v2(path, &st->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
				 NULL);
	if (rc != SQLITE_OK) {
		store_set_error(st, error, rc, path);
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	rc = sqlite3_busy_timeout(st->db, 5000);
	if (rc != SQLITE_OK) {
		store_set_error(st, error, rc, "busy_timeout");
		goto fail;
	}
	/* A new database gets 16 KiB pages: a record's images are megabytes of
	 * blobs, which then take a quarter of the overflow pages (and WAL frames)
	 * of 4 KiB ones, while a small change still writes little.  Measured by
	 * bench/enroll: 4 KiB 1.21, 16 KiB 1.13, 32 KiB 1.64 times the raw
	 * writes.  An existing database keeps the page size it was made with. */
	if (store_exec(st, "PRAGMA page_size = 16384", error) < 0)
		goto fail;
	/* journal_mode answers with the mode it got: insist on WAL. */
	sqlite3_stmt *s = store_prep(st, "PRAGMA journal_mode = WAL", error);
	if (!s)
		goto fail;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW || g_ascii_strcasecmp((const char *)sqlite3_column_text(s, 0), "wal")) {
		if (rc == SQLITE_ROW)
			g_set_error(error, STORE_ERROR, STORE_ERROR_FAILED,
				    "%s: cannot use WAL mode", path);
		else
			store_set_error(st, error, rc, path);
		sqlite3_reset(s);
		goto fail;
	}
	sqlite3_reset(s);
	/* Checkpoints are the daemon's to schedule (store_checkpoint), off the
	 * path of a commit that an operator waits for; journal_size_limit keeps
	 * the WAL file from staying at its largest. */
	if (store_exec(st, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
			   "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864; "
			   "PRAGMA cache_size = -16384;",
		       error) < 0)
		goto fail;
	if (migrate(st, version, error) < 0)
		goto fail;
	return st;
fail:
	g_prefix_error(error, "database %s: ", path);
	store_close(st);
	return NULL;
}

Store *
store_open(const char *path, GError **error)
{
	return store_open_version(path, STORE_SCHEMA_VERSION, error);
}

void
store_close(Store *st)
{
	if (!st)
		return;
	g_hash_table_destroy(st->stmts);
	if (st->db && sqlite3_close(st->db) != SQLITE_OK)
		g_warning("closing %s: %s", st->path, sqlite3_errmsg(st->db));
	g_free(st->path);
	g_free(st);
}

int
store_schema_version(Store *st)
{
	return (int)store_scalar(st, "PRAGMA user_version", NULL);
}

gint64
store_size_bytes(Store *st)
{
	struct stat sb;
	gint64 total = 0;
	g_autofree char *wal = g_strconcat(st->path, "-wal", NULL);
	if (stat(st->path, &sb) == 0)
		total += sb.st_size;
	if (stat(wal, &sb) == 0)
		total += sb.st_size;
	return total;
}

gint64
store_full_scan_steps(Store *st)
{
	gint64 steps = 0;
	GHashTableIter it;
	gpointer s;
	g_hash_table_iter_init(&it, st->stmts);
	while (g_hash_table_iter_next(&it, NULL, &s))
		steps += sqlite3_stmt_status(s, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0);
	return steps;
}

int
store_checkpoint(Store *st, GError **error)
{
	int log = 0, done = 0;
	int rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_RESTART, &log, &done);
	if (rc == SQLITE_BUSY)
		return 0; /* someone reads: next time */
	return rc == SQLITE_OK ? done : store_set_error(st, error, rc, "checkpoint");
}

int
store_set_max_size(Store *st, gint64 max_bytes, GError **error)
{
	if (max_bytes <= 0)
		return 0;
	gint64 page = store_scalar(st, "PRAGMA page_size", error);
	if (page <= 0)
		return -1;
	g_autofree char *sql = g_strdup_printf("PRAGMA max_page_count = %" G_GINT64_FORMAT,
					       MAX(1, max_bytes / page));
	return store_exec(st, sql, error);
}

char *
store_integrity_check(Store *st, GError **error)
{
	sqlite3_stmt *s = store_prep(st, "PRAGMA integrity_check", error);
	if (!s)
		return NULL;
	int rc = sqlite3_step(s);
	char *r = rc == SQLITE_ROW ? store_col_text(s, 0) : NULL;
	sqlite3_reset(s);
	if (!r)
		store_set_error(st, error, rc, "integrity_check");
	return r;
}

int
store_begin(Store *st, GError **error)
{
	g_assert(!st->in_txn);
	sqlite3_stmt *s = store_prep(st, "BEGIN IMMEDIATE", error);
	if (!s || store_run(st, s, error) < 0)
		return -1;
	st->in_txn = TRUE;
	return 0;
}

int
store_commit(Store *st, GError **error)
{
	g_assert(st->in_txn);
	sqlite3_stmt *s = store_prep(st, "COMMIT", error);
	if (!s || store_run(st, s, error) < 0) {
		store_rollback(st);
		return -1;
	}
	st->in_txn = FALSE;
	return 0;
}

void
store_rollback(Store *st)
{
	if (!st->in_txn)
		return;
	/* A failed COMMIT may already have rolled back; then this is a no-op. */
	if (!sqlite3_get_autocommit(st->db) &&
	    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
		g_warning("%s: ROLLBACK failed: %s", st->path, sqlite3_errmsg(st->db));
	st->in_txn = FALSE;
}

/* ---- users ---- */

void
store_user_clear(StoreUser *u)
{
	g_free(u->name);
	g_free(u->role);
	if (u->pin_hash)
		memset(u->pin_hash, 0, strlen(u->pin_hash));
	g_free(u->pin_hash);
	memset(u, 0, sizeof *u);
}

void
store_user_free(StoreUser *u)
{
	if (!u)
		return;
	store_user_clear(u);
	g_free(u);
}

#define USER_COLS \
	"id, name, role, pin_hash, disabled, failed_logins, locked_until, created_at, last_login_at"

static void
read_user(sqlite3_stmt *s, StoreUser *u)
{
	u->id = sqlite3_column_int64(s, 0);
	u->name = store_col_text(s, 1);
	u->role = store_col_text(s, 2);
	u->pin_hash = store_col_text(s, 3);
	u->disabled = sqlite3_column_int(s, 4) != 0;
	u->failed_logins = sqlite3_column_int64(s, 5);
	u->locked_until = sqlite3_column_int64(s, 6);
	u->created_at = sqlite3_column_int64(s, 7);
	u->last_login_at = sqlite3_column_int64(s, 8);
}

int
store_user_get(Store *st, const char *name, StoreUser *out, GError **error)
{
	sqlite3_stmt *s = store_prep(st, "SELECT " USER_COLS " FROM users WHERE name = ?1", error);
	if (!s || store_bind_text(st, s, 1, name, error) < 0)
		return -1;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		read_user(s, out);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_set_error(st, error, rc, "read user");
}

GPtrArray *
store_user_list(Store *st, GError **error)
{
	sqlite3_stmt *s = store_prep(st, "SELECT " USER_COLS " FROM users ORDER BY name", error);
	if (!s)
		return NULL;
	GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)store_user_free);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		StoreUser *u = g_new0(StoreUser, 1);
		read_user(s, u);
		g_ptr_array_add(list, u);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		g_ptr_array_unref(list);
		store_set_error(st, error, rc, "list users");
		return NULL;
	}
	return list;
}

int
store_user_insert(Store *st, const StoreUser *u, GError **error)
{
	sqlite3_stmt *s = store_prep(st,
			       "INSERT INTO users (name, role, pin_hash, disabled, created_at) "
			       "VALUES (?1, ?2, ?3, ?4, ?5)",
			       error);
	if (!s || store_bind_text(st, s, 1, u->name, error) < 0 ||
	    store_bind_text(st, s, 2, u->role, error) < 0 || store_bind_text(st, s, 3, u->pin_hash, error) < 0 ||
	    store_bind_int(st, s, 4, u->disabled, error) < 0 || store_bind_int(st, s, 5, u->created_at, error) < 0)
		return -1;
	return store_run(st, s, error);
}

int
store_user_set_pin(Store *st, gint64 id, const char *pin_hash, GError **error)
{
	sqlite3_stmt *s = store_prep(st, "UPDATE users SET pin_hash = ?2 WHERE id = ?1", error);
	if (!s || store_bind_int(st, s, 1, id, error) < 0 || store_bind_text(st, s, 2, pin_hash, error) < 0)
		return -1;
	return store_run(st, s, error);
}

int
store_user_set_disabled(Store *st, gint64 id, GError **error)
{
	sqlite3_stmt *s = store_prep(st, "UPDATE users SET disabled = 1 WHERE id = ?1", error);
	if (!s || store_bind_int(st, s, 1, id, error) < 0)
		return -1;
	return store_run(st, s, error);
}

int
store_user_set_login_state(Store *st, gint64 id, gint64 failed_logins, gint64 locked_until,
			   gint64 last_login_at, GError **error)
{
	sqlite3_stmt *s = store_prep(st,
			       "UPDATE users SET failed_logins = ?2, locked_until = ?3, "
			       "last_login_at = ?4 WHERE id = ?1",
			       error);
	if (!s || store_bind_int(st, s, 1, id, error) < 0 || store_bind_int(st, s, 2, failed_logins, error) < 0 ||
	    store_bind_int(st, s, 3, locked_until, error) < 0 ||
	    store_bind_int(st, s, 4, last_login_at, error) < 0)
		return -1;
	return store_run(st, s, error);
}

gint64
store_user_count_role(Store *st, const char *role, GError **error)
{
	sqlite3_stmt *s = store_prep(st, "SELECT count(*) FROM users WHERE role = ?1 AND disabled = 0",
			       error);
	if (!s || store_bind_text(st, s, 1, role, error) < 0)
		return -1;
	int rc = sqlite3_step(s);
	gint64 n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		store_set_error(st, error, rc, "count users");
	return n;
}

gint64
store_user_count(Store *st, GError **error)
{
	return store_scalar(st, "SELECT count(*) FROM users", error);
}

/* ---- sessions ---- */

void
store_session_clear(StoreSession *s)
{
	g_free(s->user);
	g_free(s->role);
	memset(s, 0, sizeof *s);
}

int
store_session_insert(Store *st, const char *token_hash, gint64 user_id, gint64 now,
		     GError **error)
{
	sqlite3_stmt *s = store_prep(st,
			       "INSERT INTO sessions (token_hash, user_id, created_at, last_seen) "
			       "VALUES (?1, ?2, ?3, ?3)",
			       error);
	if (!s || store_bind_text(st, s, 1, token_hash, error) < 0 ||
	    store_bind_int(st, s, 2, user_id, error) < 0 || store_bind_int(st, s, 3, now, error) < 0)
		return -1;
	return store_run(st, s, error);
}

int
store_session_get(Store *st, const char *token_hash, StoreSession *out, GError **error)
{
	sqlite3_stmt *s = store_prep(st,
			       "SELECT s.user_id, u.name, u.role, u.disabled, s.created_at, "
			       "s.last_seen FROM sessions s JOIN users u ON u.id = s.user_id "
			       "WHERE s.token_hash = ?1",
			       error);
	if (!s || store_bind_text(st, s, 1, token_hash, error) < 0)
		return -1;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->user_id = sqlite3_column_int64(s, 0);
		out->user = store_col_text(s, 1);
		out->role = store_col_text(s, 2);
		out->disabled = sqlite3_column_int(s, 3) != 0;
		out->created_at = sqlite3_column_int64(s, 4);
		out->last_seen = sqlite3_column_int64(s, 5);
	}
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_set_error(st, error, rc, "read session");
}

int
store_session_touch(Store *st, const char *token_hash, gint64 now, GError **error)
{
	sqlite3_stmt *s = store_prep(st, "UPDATE sessions SET last_seen = ?2 WHERE token_hash = ?1",
			       error);
	if (!s || store_bind_text(st, s, 1, token_hash, error) < 0 || store_bind_int(st, s, 2, now, error) < 0)
		return -1;
	return store_run(st, s, error);
}

int
store_session_delete(Store *st, const char *token_hash, GError **error)
{
	sqlite3_stmt *s = store_prep(st, "DELETE FROM sessions WHERE token_hash = ?1", error);
	if (!s || store_bind_text(st, s, 1, token_hash, error) < 0)
		return -1;
	return store_run(st, s, error);
}

int
store_session_delete_user(Store *st, gint64 user_id, const char *keep_hash, GError **error)
{
	sqlite3_stmt *s = store_prep(st,
			       "DELETE FROM sessions WHERE user_id = ?1 AND token_hash IS NOT ?2",
			       error);
	if (!s || store_bind_int(st, s, 1, user_id, error) < 0)
		return -1;
	if (keep_hash && store_bind_text(st, s, 2, keep_hash, error) < 0)
		return -1;
	return store_run(st, s, error);
}

int
store_session_purge(Store *st, gint64 cutoff, GError **error)
{
	sqlite3_stmt *s = store_prep(st, "DELETE FROM sessions WHERE last_seen < ?1", error);
	if (!s || store_bind_int(st, s, 1, cutoff, error) < 0 || store_run(st, s, error) < 0)
		return -1;
	return sqlite3_changes(st->db);
}

gint64
store_session_count(Store *st, gint64 cutoff, GError **error)
{
	sqlite3_stmt *s = store_prep(st, "SELECT count(*) FROM sessions WHERE last_seen >= ?1", error);
	if (!s || store_bind_int(st, s, 1, cutoff, error) < 0)
		return -1;
	int rc = sqlite3_step(s);
	gint64 n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		store_set_error(st, error, rc, "count sessions");
	return n;
}

/* ---- audit ---- */

void
store_audit_row_free(StoreAuditRow *r)
{
	if (!r)
		return;
	g_free(r->user);
	g_free(r->role);
	g_free(r->action);
	g_free(r->target);
	g_free(r->result);
	g_free(r->detail);
	g_free(r->prev_hash);
	g_free(r->hash);
	g_free(r);
}

int
store_audit_tail(Store *st, gint64 *id, char **hash, GError **error)
{
	sqlite3_stmt *s = store_prep(st, "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1", error);
	if (!s)
		return -1;
	int rc = sqlite3_step(s);
	*id = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	*hash = rc == SQLITE_ROW ? store_col_text(s, 1) : g_strdup("");
	sqlite3_reset(s);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return 0;
	g_clear_pointer(hash, g_free);
	return store_set_error(st, error, rc, "read audit tail");
}

int
store_audit_insert(Store *st, const StoreAuditRow *r, GError **error)
{
	sqlite3_stmt *s = store_prep(st,
			       "INSERT INTO audit (id, ts, user, role, action, target, result, "
			       "detail, prev_hash, hash) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
			       error);
	if (!s || store_bind_int(st, s, 1, r->id, error) < 0 || store_bind_int(st, s, 2, r->ts, error) < 0 ||
	    store_bind_text(st, s, 3, r->user, error) < 0 || store_bind_text(st, s, 4, r->role, error) < 0 ||
	    store_bind_text(st, s, 5, r->action, error) < 0 || store_bind_text(st, s, 6, r->target, error) < 0 ||
	    store_bind_text(st, s, 7, r->result, error) < 0 || store_bind_text(st, s, 8, r->detail, error) < 0 ||
	    store_bind_text(st, s, 9, r->prev_hash, error) < 0 || store_bind_text(st, s, 10, r->hash, error) < 0)
		return -1;
	return store_run(st, s, error);
}

GPtrArray *
store_audit_list(Store *st, gint64 after, int limit, GError **error)
{
	sqlite3_stmt *s = store_prep(st,
			       "SELECT id, ts, user, role, action, target, result, detail, "
			       "prev_hash, hash FROM audit WHERE id > ?1 ORDER BY id LIMIT ?2",
			       error);
	if (!s || store_bind_int(st, s, 1, after, error) < 0 || store_bind_int(st, s, 2, limit, error) < 0)
		return NULL;
	GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)store_audit_row_free);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		StoreAuditRow *r = g_new0(StoreAuditRow, 1);
		r->id = sqlite3_column_int64(s, 0);
		r->ts = sqlite3_column_int64(s, 1);
		r->user = store_col_text(s, 2);
		r->role = store_col_text(s, 3);
		r->action = store_col_text(s, 4);
		r->target = store_col_text(s, 5);
		r->result = store_col_text(s, 6);
		r->detail = store_col_text(s, 7);
		r->prev_hash = store_col_text(s, 8);
		r->hash = store_col_text(s, 9);
		g_ptr_array_add(list, r);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		g_ptr_array_unref(list);
		store_set_error(st, error, rc, "list audit");
		return NULL;
	}
	return list;
}

gint64
store_audit_count(Store *st, GError **error)
{
	return store_scalar(st, "SELECT count(*) FROM audit", error);
}

int
store_audit_head_get(Store *st, gint64 *rows, char **hash, GError **error)
{
	sqlite3_stmt *s = store_prep(st, "SELECT rows, hash FROM audit_head WHERE one = 1", error);
	if (!s)
		return -1;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*rows = sqlite3_column_int64(s, 0);
		*hash = store_col_text(s, 1);
	}
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE) {
		g_set_error(error, STORE_ERROR, STORE_ERROR_CORRUPT, "the audit head row is missing");
		return -1;
	}
	return store_set_error(st, error, rc, "read audit head");
}

int
store_audit_head_set(Store *st, gint64 rows, const char *hash, GError **error)
{
	sqlite3_stmt *s = store_prep(st, "UPDATE audit_head SET rows = ?1, hash = ?2 WHERE one = 1", error);
	if (!s || store_bind_int(st, s, 1, rows, error) < 0 || store_bind_text(st, s, 2, hash, error) < 0)
		return -1;
	return store_run(st, s, error);
}

/* ---- device self-tests and capture history ---- */

void
store_selftest_free(StoreSelftest *t)
{
	if (!t)
		return;
	g_free(t->device);
	g_free(t->user);
	g_free(t->message);
	g_free(t->figures);
	g_free(t);
}

gint64
store_selftest_insert(Store *st, const StoreSelftest *t, GError **error)
{
	sqlite3_stmt *s = store_prep(st,
			       "INSERT INTO selftests (device, ts, ok, user, message, figures) "
			       "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
			       error);
	if (!s || store_bind_text(st, s, 1, t->device, error) < 0 || store_bind_int(st, s, 2, t->ts, error) < 0 ||
	    store_bind_int(st, s, 3, t->ok, error) < 0 || store_bind_text(st, s, 4, t->user, error) < 0 ||
	    store_bind_text(st, s, 5, t->message, error) < 0 ||
	    store_bind_text(st, s, 6, t->figures, error) < 0 || store_run(st, s, error) < 0)
		return -1;
	return sqlite3_last_insert_rowid(st->db);
}

GPtrArray *
store_selftest_list(Store *st, const char *device, int limit, GError **error)
{
	sqlite3_stmt *s = store_prep(st,
			       "SELECT id, device, ts, ok, user, message, figures FROM selftests "
			       "WHERE device = ?1 ORDER BY id DESC LIMIT ?2",
			       error);
	if (!s || store_bind_text(st, s, 1, device, error) < 0 || store_bind_int(st, s, 2, limit, error) < 0)
		return NULL;
	GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)store_selftest_free);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		StoreSelftest *t = g_new0(StoreSelftest, 1);
		t->id = sqlite3_column_int64(s, 0);
		t->device = store_col_text(s, 1);
		t->ts = sqlite3_column_int64(s, 2);
		t->ok = sqlite3_column_int(s, 3) != 0;
		t->user = store_col_text(s, 4);
		t->message = store_col_text(s, 5);
		t->figures = store_col_text(s, 6);
		g_ptr_array_add(list, t);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		g_ptr_array_unref(list);
		store_set_error(st, error, rc, "list self-tests");
		return NULL;
	}
	return list;
}

int
store_capture_insert(Store *st, const char *device, const StoreCapture *c, const char *source,
		     GError **error)
{
	sqlite3_stmt *s = store_prep(st,
			       "INSERT INTO captures (device, ts, ok, quality, latency_ms, source) "
			       "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
			       error);
	if (!s || store_bind_text(st, s, 1, device, error) < 0 || store_bind_int(st, s, 2, c->ts, error) < 0 ||
	    store_bind_int(st, s, 3, c->ok, error) < 0 || store_bind_text(st, s, 6, source, error) < 0 ||
	    store_bind_int(st, s, 5, c->latency_ms, error) < 0)
		return -1;
	int rc = c->quality < 0 ? sqlite3_bind_null(s, 4) : sqlite3_bind_int64(s, 4, c->quality);
	if (rc != SQLITE_OK)
		return store_set_error(st, error, rc, "bind");
	return store_run(st, s, error);
}

GArray *
store_capture_window(Store *st, const char *device, int first, gboolean newest, GError **error)
{
	/* The newest window is read newest-first and reversed below. */
	sqlite3_stmt *s = store_prep(st,
			       newest ? "SELECT ts, ok, quality, latency_ms FROM captures "
					"WHERE device = ?1 ORDER BY id DESC LIMIT ?2"
				      : "SELECT ts, ok, quality, latency_ms FROM captures "
					"WHERE device = ?1 ORDER BY id LIMIT ?2",
			       error);
	if (!s || store_bind_text(st, s, 1, device, error) < 0 || store_bind_int(st, s, 2, first, error) < 0)
		return NULL;
	GArray *a = g_array_new(FALSE, FALSE, sizeof(StoreCapture));
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		StoreCapture c = {
			.ts = sqlite3_column_int64(s, 0),
			.ok = sqlite3_column_int(s, 1) != 0,
			.quality = sqlite3_column_type(s, 2) == SQLITE_NULL
					   ? -1
					   : sqlite3_column_int64(s, 2),
			.latency_ms = sqlite3_column_int64(s, 3),
		};
		if (newest)
			g_array_prepend_val(a, c);
		else
			g_array_append_val(a, c);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		g_array_unref(a);
		store_set_error(st, error, rc, "read captures");
		return NULL;
	}
	return a;
}

gint64
store_capture_count(Store *st, const char *device, GError **error)
{
	sqlite3_stmt *s = store_prep(st, "SELECT count(*) FROM captures WHERE device = ?1", error);
	if (!s || store_bind_text(st, s, 1, device, error) < 0)
		return -1;
	int rc = sqlite3_step(s);
	gint64 n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		store_set_error(st, error, rc, "count captures");
	return n;
}
