/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for store/: opening a fresh database (schema version, WAL
 * journal, integrity), migrating a version-1 database with a user in it,
 * refusing a newer schema and a file that is not a database, and the typed
 * queries for users, sessions and audit rows, including constraint errors,
 * names full of SQL metacharacters and rolled-back transactions.  Raw sqlite3
 * calls appear only here, on a second connection, to build or inspect files
 * the way another program would.
 */
#include "store/store.h"
#include "testutil.h"

/*
 * The database is f->path; f->st is opened (at the current schema) by the
 * setup of the tests that want one, T_OPEN in main().
 */
typedef TuDb Fixture;

/* The first column of the first row of SQL on a separate connection, as text (caller frees). */
static char *
raw_text(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	char *out = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		fail_msg("open %s: %s", path, sqlite3_errmsg(db));
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(s) == SQLITE_ROW)
		out = g_strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return out;
}

/* Enrollment ID, committed, and its record in STATE, written on a separate
 * connection (so at any schema version from 4 on); its NIK is
 * 61720101019 followed by ID in five digits. */
static void
raw_record(const char *path, int id, const char *state)
{
	g_autofree char *sql = g_strdup_printf(
		"INSERT INTO enrollments (id, state, nik, name, operator, demographics, warnings, "
		"reenroll, wrapped_key, created_at, updated_at) VALUES (%d, 'committed', "
		"'61720101019%05d', 'A', 'op', '{}', '[]', 0, x'00', 1, 1);"
		"INSERT INTO records (id, state, nik, name, village_code, demographics, warnings, "
		"needs_approval, operator, created_at, updated_at, wrapped_key) SELECT id, '%s', nik, "
		"name, '61.72.01.1001', '{}', '[]', '[]', 'op', 1, 1, x'00' FROM enrollments "
		"WHERE id = %d",
		id, id, state, id);
	tu_sql_exec(path, sql);
}

static void
add_user(Store *st, const char *name, const char *role, gboolean disabled)
{
	StoreUser u = {
		.name = (char *)name,
		.role = (char *)role,
		.pin_hash = (char *)"scrypt$1024$8$1$c2FsdA==$aGFzaA==",
		.disabled = disabled,
		.created_at = 1000,
	};
	GError *error = NULL;
	if (store_user_insert(st, &u, &error) < 0)
		fail_msg("insert %s: %s", name, error->message);
}

/* ---- opening ---- */

static void
test_open_fresh(void **state)
{
	Fixture *f = *state;
	GError *error = NULL;
	assert_false(g_file_test(f->path, G_FILE_TEST_EXISTS));
	f->st = store_open(f->path, &error);
	assert_non_null(f->st);
	assert_null(error);
	assert_int_equal(store_schema_version(f->st), STORE_SCHEMA_VERSION);
	assert_int_equal(STORE_SCHEMA_VERSION, 7);

	g_autofree char *ok = store_integrity_check(f->st, &error);
	assert_non_null(ok);
	assert_string_equal(ok, "ok");

	assert_int_equal(store_user_count(f->st, &error), 0);
	assert_int_equal(store_audit_count(f->st, &error), 0);
	tu_expect_audit_head(f->st, 0, "");

	/* WAL: a write lands in the -wal file, and the file says so to anyone. */
	add_user(f->st, "alice", "admin", FALSE);
	g_autofree char *wal = g_strconcat(f->path, "-wal", NULL);
	GStatBuf sb;
	assert_int_equal(g_stat(wal, &sb), 0);
	assert_true(sb.st_size > 0);
	g_autofree char *mode = raw_text(f->path, "PRAGMA journal_mode");
	assert_non_null(mode);
	assert_string_equal(mode, "wal");
	assert_true(store_size_bytes(f->st) >= (gint64)sb.st_size);
	g_autofree char *version = raw_text(f->path, "PRAGMA user_version");
	g_autofree char *want = g_strdup_printf("%d", STORE_SCHEMA_VERSION);
	assert_string_equal(version, want);
}

static void
test_reopen_keeps_data(void **state)
{
	Fixture *f = *state;
	GError *error = NULL;
	f->st = store_open(f->path, &error);
	assert_non_null(f->st);
	add_user(f->st, "alice", "admin", FALSE);
	store_close(f->st);
	f->st = store_open(f->path, &error);
	assert_non_null(f->st);
	assert_int_equal(store_schema_version(f->st), STORE_SCHEMA_VERSION);
	StoreUser u = { 0 };
	assert_int_equal(store_user_get(f->st, "alice", &u, &error), 1);
	assert_string_equal(u.role, "admin");
	store_user_clear(&u);
}

/* Schema 4's records survive the rebuild that adds the printing states, with
 * foreign keys on again afterwards. */
static void
test_migrate_4_to_5(void **state)
{
	Fixture *f = *state;
	GError *error = NULL;
	Store *old = store_open_version(f->path, 4, &error);
	assert_non_null(old);
	store_close(old);
	raw_record(f->path, 3, "print_ready");
	g_autofree char *bad = raw_text(f->path, "SELECT count(*) FROM sqlite_master WHERE name = "
						 "'print_cards'");
	assert_string_equal(bad, "0");

	f->st = tu_store_open(f->path);
	assert_int_equal(store_schema_version(f->st), STORE_SCHEMA_VERSION);
	StoreRecord r = { 0 };
	assert_int_equal(store_record_get(f->st, 3, &r, &error), 1);
	assert_string_equal(r.state, "print_ready");
	assert_string_equal(r.nik, "6172010101900003");
	store_record_clear(&r);
	assert_int_equal(store_record_set_state(f->st, 3, "printed", NULL, NULL, 2, &error), 0);
	/* A card of a record that does not exist breaks the foreign key. */
	assert_int_equal(store_print_card_add(f->st, 1, 99, 5, &error), -1);
	g_clear_error(&error);
	g_autofree char *ok = store_integrity_check(f->st, &error);
	assert_string_equal(ok, "ok");
}

/* 5 → 6 adds the stock ledger beside the print journal it points into. */
static void
test_migrate_5_to_6(void **state)
{
	Fixture *f = *state;
	GError *error = NULL;
	Store *old = store_open_version(f->path, 5, &error);
	assert_non_null(old);
	store_close(old);
	tu_sql_exec(f->path,
		    "INSERT INTO print_batches (id, state, printer, created_by, created_at) VALUES "
		    "(1, 'done', '', 'op', 1)");
	g_autofree char *none = raw_text(f->path, "SELECT count(*) FROM sqlite_master WHERE name = "
						  "'stock_moves'");
	assert_string_equal(none, "0");
	f->st = tu_store_open(f->path);
	assert_int_equal(store_schema_version(f->st), STORE_SCHEMA_VERSION);
	StoreStockMove m = { .at = 2, .kind = "receive", .item = "blank-card",
			     .location = "storeroom", .qty = 5, .actor = "sup" };
	assert_true(store_stock_add(f->st, &m, &error) > 0);
	assert_int_equal(store_stock_balance(f->st, "blank-card", "storeroom", &error), 5);
	/* A movement naming a card that does not exist breaks the foreign key. */
	m.kind = "consume";
	m.qty = -1;
	m.card = 99;
	assert_int_equal(store_stock_add(f->st, &m, &error), -1);
	g_clear_error(&error);
	g_autofree char *ok = store_integrity_check(f->st, &error);
	assert_string_equal(ok, "ok");
}

/* HISTORY_CARDS records printed long ago, one batch of one done card each,
 * written on another connection the way years of printing leave them. */
#define HISTORY_CARDS 400
static const char history_sql[] =
	"WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < " G_STRINGIFY(
	HISTORY_CARDS) ") "
	"INSERT INTO enrollments (id, state, nik, name, operator, demographics, warnings, "
	"reenroll, wrapped_key, created_at, updated_at) SELECT i, 'committed', "
	"printf('61720101019%05d', i), 'A', 'op', '{}', '[]', 0, x'00', i, i FROM k;"
	"INSERT INTO records (id, state, nik, name, village_code, demographics, warnings, "
	"needs_approval, operator, created_at, updated_at, wrapped_key) SELECT id, 'printed', nik, "
	"'A', '61.72.01.1001', '{}', '[]', '[]', 'op', id, id, x'00' FROM enrollments;"
	"INSERT INTO print_batches (id, state, printer, created_by, created_at, finished_at) "
	"SELECT id, 'done', '', 'op', 1000 + id, 1000 + id FROM records;"
	"INSERT INTO print_cards (batch, record, seq, phase, printer, started_at, updated_at) "
	"SELECT id, id, 0, 'done', 'p1', 1000 + id, 1000 + id FROM records;";

/* 6 → 7 adds the indexes on running batches and finished cards; on a
 * database with a history, the print engine's and the reports' queries then
 * read only what they return, not every batch and card (a full scan of this
 * history alone would step through HISTORY_CARDS rows per query). */
static void
test_migrate_6_to_7_indexes(void **state)
{
	Fixture *f = *state;
	GError *e = NULL;
	Store *old = store_open_version(f->path, 6, &e);
	assert_non_null(old);
	store_close(old);
	tu_sql_exec(f->path, history_sql);
	g_autofree char *none = raw_text(f->path, "SELECT count(*) FROM sqlite_master WHERE name IN "
						  "('print_batches_running', 'print_cards_finished')");
	assert_string_equal(none, "0");
	raw_record(f->path, 1001, "print_ready");
	raw_record(f->path, 1002, "print_ready");
	f->st = tu_store_open(f->path);
	Store *st = f->st;
	g_autofree char *both = raw_text(f->path, "SELECT count(*) FROM sqlite_master WHERE name IN "
						  "('print_batches_running', 'print_cards_finished')");
	assert_string_equal(both, "2");
	gint64 ids[] = { 1001, 1002 };
	guint n = 0;
	gint64 batch = store_print_batch_add(st, "", "op", ids, 2, 2000, &n, &e);
	assert_true(batch > HISTORY_CARDS);
	assert_int_equal(n, 2);

	gint64 before = store_full_scan_steps(st);
	StorePrintCard *c = NULL;
	assert_int_equal(store_print_claim(st, "p1", &c, &e), 1);
	assert_int_equal(c->record, 1001);
	assert_int_equal(store_print_card_phase(st, c->id, "done", NULL, TRUE, 2001, &e), 0);
	store_print_card_free(c);
	assert_int_equal(store_print_batches_settle(st, 2002, &e), 0); /* one card left */
	g_autoptr(GPtrArray) list = store_print_batches(st, 20, &e);
	assert_int_equal(list->len, 21);
	assert_int_equal(((StorePrintBatch *)list->pdata[0])->id, batch);
	assert_string_equal(((StorePrintBatch *)list->pdata[0])->state, "running");
	assert_int_equal(((StorePrintBatch *)list->pdata[20])->id, HISTORY_CARDS - 19);
	/* The stock report's day: cards finished in [1100, 1200), and today's. */
	g_autoptr(GPtrArray) day = store_print_cards_finished(st, 1100, 1200, &e);
	assert_int_equal(day->len, 100);
	assert_int_equal(((StorePrintCard *)day->pdata[0])->record, 100);
	g_autoptr(GPtrArray) today = store_print_cards_finished(st, 2000, 3000, &e);
	assert_int_equal(today->len, 1);
	assert_int_equal(((StorePrintCard *)today->pdata[0])->record, 1001);
	assert_int_equal(store_print_claim(st, "p2", &c, &e), 1);
	assert_int_equal(store_print_card_phase(st, c->id, "spoiled", "jam", TRUE, 2003, &e), 0);
	store_print_card_free(c);
	assert_int_equal(store_print_batches_settle(st, 2004, &e), 1);
	assert_int_equal(store_print_claim(st, "p1", &c, &e), 0);
	/* The batch list's "last 20 finished" reads about 20 batches back from
	 * the newest; nothing else scans. */
	gint64 scanned = store_full_scan_steps(st) - before;
	if (scanned > 2 * 21)
		fail_msg("the print queries stepped through %" G_GINT64_FORMAT " rows in full "
			 "scans over a history of %d cards", scanned, HISTORY_CARDS);
	g_autofree char *ok = store_integrity_check(st, &e);
	assert_string_equal(ok, "ok");
}

/* Batches, claims, phases, cancelling and settling. */
static void
test_print_journal(void **state)
{
	Fixture *f = *state;
	GError *e = NULL;
	Store *st = f->st;
	for (int id = 1; id <= 3; id++)
		raw_record(f->path, id, id == 2 ? "captured" : "print_ready");
	gint64 ids[] = { 3, 2, 1 };
	guint n = 0;
	gint64 batch = store_print_batch_add(st, "", "op", ids, 3, 10, &n, &e);
	assert_true(batch > 0);
	assert_int_equal(n, 2); /* record 2 is not print_ready */
	StoreRecord r = { 0 };
	assert_int_equal(store_record_get(st, 3, &r, &e), 1);
	assert_string_equal(r.state, "printing");
	store_record_clear(&r);

	StorePrintCard *c = NULL;
	assert_int_equal(store_print_claim(st, "p1", &c, &e), 1);
	assert_int_equal(c->record, 3); /* the batch's order */
	assert_string_equal(c->printer, "p1");
	gint64 first = c->id;
	store_print_card_free(c);
	assert_int_equal(store_print_claim(st, "p2", &c, &e), 1);
	assert_int_equal(c->record, 1);
	gint64 second = c->id;
	store_print_card_free(c);
	assert_int_equal(store_print_claim(st, "p1", &c, &e), 0); /* none left unclaimed */

	assert_int_equal(store_print_card_phase(st, first, "picked", NULL, TRUE, 11, &e), 0);
	g_autoptr(GPtrArray) open = store_print_cards_open(st, &e);
	assert_int_equal(open->len, 1);
	assert_int_equal(((StorePrintCard *)open->pdata[0])->started_at, 11);
	assert_int_equal(store_print_card_phase(st, first, "spoiled", "jam", FALSE, 12, &e), 0);
	assert_int_equal(store_print_spoils(st, batch, 3, &e), 1);
	assert_int_equal(store_print_card_add(st, batch, 3, 12, &e), 0); /* a retry */

	/* Cancelling drops the cards not begun, claimed or not, and frees their records. */
	assert_int_equal(store_print_batch_cancel(st, batch, 13, &e), 2);
	assert_int_equal(store_record_get(st, 1, &r, &e), 1);
	assert_string_equal(r.state, "print_ready");
	store_record_clear(&r);
	StorePrintBatch *b = NULL;
	assert_int_equal(store_print_batch_get(st, batch, &b, &e), 1);
	assert_string_equal(b->state, "cancelled");
	assert_int_equal(b->cards, 3);
	assert_int_equal(b->spoiled, 1);
	assert_int_equal(b->cancelled, 2);
	store_print_batch_free(b);
	(void)second;

	/* A batch with nothing left to print is settled done. */
	gint64 again[] = { 1 };
	gint64 b2 = store_print_batch_add(st, "p2", "op", again, 1, 20, &n, &e);
	assert_int_equal(store_print_claim(st, "p1", &c, &e), 0); /* p2's batch only */
	assert_int_equal(store_print_claim(st, "p2", &c, &e), 1);
	assert_int_equal(store_print_batches_settle(st, 21, &e), 0);
	assert_int_equal(store_print_card_phase(st, c->id, "done", NULL, FALSE, 22, &e), 0);
	store_print_card_free(c);
	assert_int_equal(store_print_batches_settle(st, 23, &e), 1);
	assert_int_equal(store_print_batch_get(st, b2, &b, &e), 1);
	assert_string_equal(b->state, "done");
	assert_int_equal(b->finished_at, 23);
	store_print_batch_free(b);

	/* Listing: every running batch, and the last LIMIT of the others. */
	gint64 b3 = store_print_batch_add(st, "", "op", again, 1, 30, &n, &e);
	assert_int_equal(n, 0); /* record 1 is printing no more, but not print_ready either */
	g_autoptr(GPtrArray) list = store_print_batches(st, 0, &e);
	assert_int_equal(list->len, 1);
	assert_int_equal(((StorePrintBatch *)list->pdata[0])->id, b3);
	g_autoptr(GPtrArray) more = store_print_batches(st, 1, &e);
	assert_int_equal(more->len, 2);
	assert_int_equal(((StorePrintBatch *)more->pdata[1])->id, b2);
}

static void
test_migrate_from_v1(void **state)
{
	Fixture *f = *state;
	GError *error = NULL;
	Store *old = store_open_version(f->path, 1, &error);
	assert_non_null(old);
	assert_int_equal(store_schema_version(old), 1);
	store_close(old);

	/* Version 1 has no sessions and no lockout columns yet. */
	g_autofree char *tables = raw_text(
		f->path, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sessions'");
	assert_string_equal(tables, "0");
	tu_sql_exec(f->path, "INSERT INTO users (id, name, role, pin_hash, disabled, created_at) "
			  "VALUES (7, 'old.timer', 'supervisor', 'scrypt$x', 0, 1234)");

	f->st = tu_store_open(f->path);
	assert_int_equal(store_schema_version(f->st), STORE_SCHEMA_VERSION);
	StoreUser u = { 0 };
	assert_int_equal(store_user_get(f->st, "old.timer", &u, &error), 1);
	assert_int_equal(u.id, 7);
	assert_string_equal(u.role, "supervisor");
	assert_string_equal(u.pin_hash, "scrypt$x");
	assert_false(u.disabled);
	assert_int_equal(u.created_at, 1234);
	assert_int_equal(u.failed_logins, 0);
	assert_int_equal(u.locked_until, 0);
	assert_int_equal(u.last_login_at, 0);
	store_user_clear(&u);

	/* The new table works, and refers to the old user. */
	assert_int_equal(store_session_insert(f->st, "tok", 7, 50, &error), 0);
	StoreSession s = { 0 };
	assert_int_equal(store_session_get(f->st, "tok", &s, &error), 1);
	assert_string_equal(s.user, "old.timer");
	store_session_clear(&s);
	g_autofree char *ok = store_integrity_check(f->st, &error);
	assert_string_equal(ok, "ok");
}

static void
test_refuses_newer_schema(void **state)
{
	Fixture *f = *state;
	g_autofree char *sql = g_strdup_printf("CREATE TABLE future (x); PRAGMA user_version = %d",
					       STORE_SCHEMA_VERSION + 1);
	tu_sql_exec(f->path, sql);

	GError *error = NULL;
	Store *st = store_open(f->path, &error);
	assert_null(st);
	assert_non_null(error);
	assert_true(g_error_matches(error, STORE_ERROR, STORE_ERROR_SCHEMA));
	assert_non_null(strstr(error->message, "newer"));
	g_error_free(error);

	/* Nothing was migrated. */
	g_autofree char *version = raw_text(f->path, "PRAGMA user_version");
	g_autofree char *want = g_strdup_printf("%d", STORE_SCHEMA_VERSION + 1);
	assert_string_equal(version, want);
	g_autofree char *users = raw_text(
		f->path, "SELECT count(*) FROM sqlite_master WHERE name = 'users'");
	assert_string_equal(users, "0");
}

static void
test_refuses_non_database(void **state)
{
	Fixture *f = *state;
	g_autoptr(GString) junk = g_string_new(NULL);
	while (junk->len < 8192)
		g_string_append(junk, "this is an enrollment note, not an SQLite database\n");
	assert_true(g_file_set_contents(f->path, junk->str, (gssize)junk->len, NULL));

	GError *error = NULL;
	Store *st = store_open(f->path, &error);
	assert_null(st);
	assert_non_null(error);
	assert_true(error->domain == STORE_ERROR);
	assert_int_equal(error->code, STORE_ERROR_CORRUPT);
	g_error_free(error);

	/* The file is left as it was. */
	g_autofree char *after = NULL;
	gsize len = 0;
	assert_true(g_file_get_contents(f->path, &after, &len, NULL));
	assert_int_equal(len, junk->len);
	assert_memory_equal(after, junk->str, len);
}

static void
test_open_missing_directory(void **state)
{
	Fixture *f = *state;
	g_autofree char *path = g_build_filename(f->dir, "no", "such", "dir", "ektp.db", NULL);
	GError *error = NULL;
	Store *st = store_open(path, &error);
	assert_null(st);
	assert_non_null(error);
	assert_true(g_error_matches(error, STORE_ERROR, STORE_ERROR_IO));
	g_error_free(error);
}

/* ---- users ---- */

static void
test_users(void **state)
{
	Fixture *f = *state;
	GError *error = NULL;
	StoreUser in = {
		.name = (char *)"zed",
		.role = (char *)"operator",
		.pin_hash = (char *)"scrypt$1024$8$1$AAAA$BBBB",
		.created_at = 1700000000,
		.id = 999, /* ignored */
	};
	assert_int_equal(store_user_insert(f->st, &in, &error), 0);
	add_user(f->st, "amy", "admin", FALSE);
	add_user(f->st, "bob", "admin", TRUE);

	StoreUser u = { 0 };
	assert_int_equal(store_user_get(f->st, "zed", &u, &error), 1);
	assert_true(u.id > 0);
	assert_int_not_equal(u.id, 999);
	assert_string_equal(u.name, "zed");
	assert_string_equal(u.role, "operator");
	assert_string_equal(u.pin_hash, "scrypt$1024$8$1$AAAA$BBBB");
	assert_false(u.disabled);
	assert_int_equal(u.created_at, 1700000000);
	assert_int_equal(u.failed_logins, 0);
	gint64 zed = u.id;
	store_user_clear(&u);
	assert_null(u.name);

	assert_int_equal(store_user_get(f->st, "nobody", &u, &error), 0);
	assert_null(error);
	assert_int_equal(store_user_get(f->st, "ZED", &u, &error), 0);

	g_autoptr(GPtrArray) list = store_user_list(f->st, &error);
	assert_non_null(list);
	assert_int_equal(list->len, 3);
	const char *order[] = { "amy", "bob", "zed" };
	for (guint i = 0; i < 3; i++)
		assert_string_equal(((StoreUser *)list->pdata[i])->name, order[i]);
	assert_true(((StoreUser *)list->pdata[1])->disabled);

	assert_int_equal(store_user_count(f->st, &error), 3);
	assert_int_equal(store_user_count_role(f->st, "admin", &error), 1); /* bob is disabled */
	assert_int_equal(store_user_count_role(f->st, "operator", &error), 1);
	assert_int_equal(store_user_count_role(f->st, "technician", &error), 0);

	/* Updates. */
	assert_int_equal(store_user_set_pin(f->st, zed, "scrypt$new", &error), 0);
	assert_int_equal(store_user_set_login_state(f->st, zed, 2, 1700000300, 1700000100, &error),
			 0);
	assert_int_equal(store_user_get(f->st, "zed", &u, &error), 1);
	assert_string_equal(u.pin_hash, "scrypt$new");
	assert_int_equal(u.failed_logins, 2);
	assert_int_equal(u.locked_until, 1700000300);
	assert_int_equal(u.last_login_at, 1700000100);
	store_user_clear(&u);
	assert_int_equal(store_user_set_disabled(f->st, zed, &error), 0);
	assert_int_equal(store_user_get(f->st, "zed", &u, &error), 1);
	assert_true(u.disabled);
	store_user_clear(&u);
	assert_int_equal(store_user_count_role(f->st, "operator", &error), 0);
}

static void
test_user_duplicate_conflicts(void **state)
{
	Fixture *f = *state;
	GError *error = NULL;
	add_user(f->st, "alice", "operator", FALSE);
	StoreUser dup = {
		.name = (char *)"alice",
		.role = (char *)"admin",
		.pin_hash = (char *)"other",
		.created_at = 5,
	};
	assert_int_equal(store_user_insert(f->st, &dup, &error), -1);
	assert_true(g_error_matches(error, STORE_ERROR, STORE_ERROR_CONFLICT));
	g_clear_error(&error);

	StoreUser u = { 0 };
	assert_int_equal(store_user_get(f->st, "alice", &u, &error), 1);
	assert_string_equal(u.role, "operator");
	store_user_clear(&u);
	assert_int_equal(store_user_count(f->st, &error), 1);
}

static void
test_user_role_check(void **state)
{
	Fixture *f = *state;
	GError *error = NULL;
	static const char *const bad[] = { "boss", "", "Admin", "admin " };
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		StoreUser u = {
			.name = (char *)"mallory",
			.role = (char *)bad[i],
			.pin_hash = (char *)"h",
			.created_at = 1,
		};
		assert_int_equal(store_user_insert(f->st, &u, &error), -1);
		if (!g_error_matches(error, STORE_ERROR, STORE_ERROR_CONFLICT))
			fail_msg("role '%s': %s", bad[i], error ? error->message : "no error");
		g_clear_error(&error);
	}
	assert_int_equal(store_user_count(f->st, &error), 0);
	static const char *const good[] = { "operator", "supervisor", "technician", "admin" };
	for (size_t i = 0; i < G_N_ELEMENTS(good); i++)
		add_user(f->st, good[i], good[i], FALSE);
	assert_int_equal(store_user_count(f->st, &error), 4);
}

static void
test_user_names_with_metacharacters(void **state)
{
	Fixture *f = *state;
	GError *error = NULL;
	static const char *const names[] = {
		"o'; DROP TABLE users;--",
		"\"double\" 'single'",
		"back\\slash",
		"100%_like",
		"semi;colon); DELETE FROM audit; --",
		"?1 ?2 :name @x $y",
		"ünïcødé ✓",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
		add_user(f->st, names[i], "operator", FALSE);

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		StoreUser u = { 0 };
		assert_int_equal(store_user_get(f->st, names[i], &u, &error), 1);
		assert_string_equal(u.name, names[i]);
		store_user_clear(&u);
	}
	/* LIKE wildcards are not wildcards here. */
	StoreUser u = { 0 };
	assert_int_equal(store_user_get(f->st, "100%", &u, &error), 0);

	g_autoptr(GPtrArray) list = store_user_list(f->st, &error);
	assert_non_null(list);
	assert_int_equal(list->len, G_N_ELEMENTS(names));
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		gboolean found = FALSE;
		for (guint k = 0; k < list->len; k++)
			found |= strcmp(((StoreUser *)list->pdata[k])->name, names[i]) == 0;
		assert_true(found);
	}
	g_autofree char *tables = raw_text(
		f->path, "SELECT count(*) FROM sqlite_master WHERE name IN ('users','audit')");
	assert_string_equal(tables, "2");
	g_autofree char *ok = store_integrity_check(f->st, &error);
	assert_string_equal(ok, "ok");
}

/* ---- transactions ---- */

static void
test_rollback_leaves_nothing(void **state)
{
	Fixture *f = *state;
	GError *error = NULL;
	assert_int_equal(store_begin(f->st, &error), 0);
	add_user(f->st, "ghost", "admin", FALSE);
	StoreAuditRow r = { .id = 1, .ts = 1, .user = (char *)"", .role = (char *)"",
			    .action = (char *)"user.add", .target = (char *)"ghost",
			    .result = (char *)"ok", .detail = (char *)"{}",
			    .prev_hash = (char *)"", .hash = (char *)"h1" };
	assert_int_equal(store_audit_insert(f->st, &r, &error), 0);
	assert_int_equal(store_audit_head_set(f->st, 1, "h1", &error), 0);
	/* Visible inside the transaction... */
	assert_int_equal(store_user_count(f->st, &error), 1);
	store_rollback(f->st);

	/* ...and gone after it, to this connection and to another. */
	StoreUser u = { 0 };
	assert_int_equal(store_user_get(f->st, "ghost", &u, &error), 0);
	assert_int_equal(store_user_count(f->st, &error), 0);
	assert_int_equal(store_audit_count(f->st, &error), 0);
	tu_expect_audit_head(f->st, 0, "");
	g_autofree char *n = raw_text(f->path, "SELECT count(*) FROM users");
	assert_string_equal(n, "0");

	/* Rolling back with no transaction open is harmless. */
	store_rollback(f->st);

	/* A new transaction can begin, and a commit sticks. */
	assert_int_equal(store_begin(f->st, &error), 0);
	add_user(f->st, "real", "admin", FALSE);
	assert_int_equal(store_commit(f->st, &error), 0);
	g_autofree char *m = raw_text(f->path, "SELECT name FROM users");
	assert_string_equal(m, "real");
}

/* ---- sessions ---- */

/* Adds NAME with ROLE and returns the id the store gave it. */
static gint64
add_user_id(Store *st, const char *name, const char *role)
{
	add_user(st, name, role, FALSE);
	StoreUser u = { 0 };
	assert_int_equal(store_user_get(st, name, &u, NULL), 1);
	gint64 id = u.id;
	store_user_clear(&u);
	return id;
}

static void
test_sessions(void **state)
{
	Fixture *f = *state;
	GError *error = NULL;
	gint64 alice = add_user_id(f->st, "alice", "supervisor");
	gint64 bob = add_user_id(f->st, "bob", "operator");

	assert_int_equal(store_session_insert(f->st, "hash-a1", alice, 1000, &error), 0);
	assert_int_equal(store_session_insert(f->st, "hash-a2", alice, 900, &error), 0);
	assert_int_equal(store_session_insert(f->st, "hash-b1", bob, 950, &error), 0);

	StoreSession s = { 0 };
	assert_int_equal(store_session_get(f->st, "hash-a1", &s, &error), 1);
	assert_int_equal(s.user_id, alice);
	assert_string_equal(s.user, "alice");
	assert_string_equal(s.role, "supervisor");
	assert_false(s.disabled);
	assert_int_equal(s.created_at, 1000);
	assert_int_equal(s.last_seen, 1000);
	store_session_clear(&s);
	assert_null(s.user);
	assert_int_equal(store_session_get(f->st, "no-such-hash", &s, &error), 0);
	assert_null(error);

	/* Same hash twice, or a session of nobody, is refused. */
	assert_int_equal(store_session_insert(f->st, "hash-a1", bob, 1, &error), -1);
	assert_true(g_error_matches(error, STORE_ERROR, STORE_ERROR_CONFLICT));
	g_clear_error(&error);
	assert_int_equal(store_session_insert(f->st, "hash-x", 4242, 1, &error), -1);
	assert_true(g_error_matches(error, STORE_ERROR, STORE_ERROR_CONFLICT));
	g_clear_error(&error);

	/* Touch moves last_seen only. */
	assert_int_equal(store_session_touch(f->st, "hash-a1", 1050, &error), 0);
	assert_int_equal(store_session_get(f->st, "hash-a1", &s, &error), 1);
	assert_int_equal(s.created_at, 1000);
	assert_int_equal(s.last_seen, 1050);
	store_session_clear(&s);

	/* Count and purge by last_seen: a1 1050, b1 950, a2 900. */
	assert_int_equal(store_session_count(f->st, 0, &error), 3);
	assert_int_equal(store_session_count(f->st, 950, &error), 2);
	assert_int_equal(store_session_count(f->st, 1051, &error), 0);
	assert_int_equal(store_session_purge(f->st, 950, &error), 1); /* a2 */
	assert_int_equal(store_session_get(f->st, "hash-a2", &s, &error), 0);
	assert_int_equal(store_session_purge(f->st, 950, &error), 0);
	assert_int_equal(store_session_count(f->st, 0, &error), 2);

	/* The disabled flag comes from the user. */
	assert_int_equal(store_user_set_disabled(f->st, bob, &error), 0);
	assert_int_equal(store_session_get(f->st, "hash-b1", &s, &error), 1);
	assert_true(s.disabled);
	store_session_clear(&s);

	/* Delete one. */
	assert_int_equal(store_session_delete(f->st, "hash-b1", &error), 0);
	assert_int_equal(store_session_get(f->st, "hash-b1", &s, &error), 0);
	assert_int_equal(store_session_delete(f->st, "hash-b1", &error), 0); /* already gone */
	assert_int_equal(store_session_count(f->st, 0, &error), 1);
}

static void
test_session_delete_user(void **state)
{
	Fixture *f = *state;
	GError *error = NULL;
	gint64 alice = add_user_id(f->st, "alice", "admin");
	gint64 bob = add_user_id(f->st, "bob", "operator");
	const char *mine[] = { "a1", "a2", "a3" };
	for (int i = 0; i < 3; i++)
		assert_int_equal(store_session_insert(f->st, mine[i], alice, 10, &error), 0);
	assert_int_equal(store_session_insert(f->st, "b1", bob, 10, &error), 0);

	StoreSession s = { 0 };
	assert_int_equal(store_session_delete_user(f->st, alice, "a2", &error), 0);
	assert_int_equal(store_session_get(f->st, "a1", &s, &error), 0);
	assert_int_equal(store_session_get(f->st, "a3", &s, &error), 0);
	assert_int_equal(store_session_get(f->st, "a2", &s, &error), 1);
	store_session_clear(&s);
	assert_int_equal(store_session_get(f->st, "b1", &s, &error), 1); /* not alice's */
	store_session_clear(&s);

	/* No hash to keep: all of them go, and the bound value does not linger. */
	assert_int_equal(store_session_delete_user(f->st, alice, NULL, &error), 0);
	assert_int_equal(store_session_get(f->st, "a2", &s, &error), 0);
	assert_int_equal(store_session_count(f->st, 0, &error), 1);
}

/* ---- audit rows ---- */

/* Expects the newest audit row to have ID and HASH. */
static void
expect_audit_tail(Store *st, gint64 id, const char *hash)
{
	tu_expect_audit_end(store_audit_tail, st, id, hash);
}

static void
test_audit_rows(void **state)
{
	Fixture *f = *state;
	GError *error = NULL;
	expect_audit_tail(f->st, 0, "");

	StoreAuditRow r1 = { .id = 1, .ts = 100, .user = (char *)"", .role = (char *)"",
			     .action = (char *)"login", .target = (char *)"alice",
			     .result = (char *)"denied", .detail = (char *)"{\"n\":1}",
			     .prev_hash = (char *)"", .hash = (char *)"hash-one" };
	StoreAuditRow r2 = { .id = 2, .ts = 101, .user = (char *)"alice", .role = (char *)"admin",
			     .action = (char *)"user.add", .target = (char *)"o'brien",
			     .result = (char *)"ok", .detail = (char *)"{\"role\":\"operator\"}",
			     .prev_hash = (char *)"hash-one", .hash = (char *)"hash-two" };
	assert_int_equal(store_audit_insert(f->st, &r1, &error), 0);
	assert_int_equal(store_audit_insert(f->st, &r2, &error), 0);
	assert_int_equal(store_audit_count(f->st, &error), 2);

	expect_audit_tail(f->st, 2, "hash-two");

	/* The chain fixes ids: an id used twice is refused. */
	StoreAuditRow again = r2;
	again.hash = (char *)"other";
	assert_int_equal(store_audit_insert(f->st, &again, &error), -1);
	assert_true(g_error_matches(error, STORE_ERROR, STORE_ERROR_CONFLICT));
	g_clear_error(&error);

	g_autoptr(GPtrArray) all = store_audit_list(f->st, 0, 10, &error);
	assert_non_null(all);
	assert_int_equal(all->len, 2);
	const StoreAuditRow *want[] = { &r1, &r2 };
	for (guint i = 0; i < 2; i++) {
		const StoreAuditRow *got = all->pdata[i];
		assert_int_equal(got->id, want[i]->id);
		assert_int_equal(got->ts, want[i]->ts);
		assert_string_equal(got->user, want[i]->user);
		assert_string_equal(got->role, want[i]->role);
		assert_string_equal(got->action, want[i]->action);
		assert_string_equal(got->target, want[i]->target);
		assert_string_equal(got->result, want[i]->result);
		assert_string_equal(got->detail, want[i]->detail);
		assert_string_equal(got->prev_hash, want[i]->prev_hash);
		assert_string_equal(got->hash, want[i]->hash);
	}
	g_autoptr(GPtrArray) after1 = store_audit_list(f->st, 1, 10, &error);
	assert_int_equal(after1->len, 1);
	assert_int_equal(((StoreAuditRow *)after1->pdata[0])->id, 2);
	g_autoptr(GPtrArray) first = store_audit_list(f->st, 0, 1, &error);
	assert_int_equal(first->len, 1);
	assert_int_equal(((StoreAuditRow *)first->pdata[0])->id, 1);
	g_autoptr(GPtrArray) none = store_audit_list(f->st, 2, 10, &error);
	assert_non_null(none);
	assert_int_equal(none->len, 0);

	/* The head is kept apart from the rows. */
	assert_int_equal(store_audit_head_set(f->st, 2, "hash-two", &error), 0);
	tu_expect_audit_head(f->st, 2, "hash-two");

	/* A missing head row is reported, not invented. */
	tu_sql_exec(f->path, "DELETE FROM audit_head");
	gint64 rows = -1;
	char *hash = NULL;
	assert_int_equal(store_audit_head_get(f->st, &rows, &hash, &error), -1);
	assert_true(g_error_matches(error, STORE_ERROR, STORE_ERROR_CORRUPT));
	assert_null(hash);
	g_clear_error(&error);
}

int
main(void)
{
	tu_quiet_logs();
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_prestate_setup_teardown(fn, tu_db_setup, tu_db_teardown, "store")
#define T_OPEN(fn) \
	cmocka_unit_test_prestate_setup_teardown(fn, tu_db_setup_open, tu_db_teardown, "store")
		T(test_open_fresh),
		T(test_reopen_keeps_data),
		T(test_migrate_from_v1),
		T(test_migrate_4_to_5),
		T(test_migrate_5_to_6),
		T(test_migrate_6_to_7_indexes),
		T(test_refuses_newer_schema),
		T(test_refuses_non_database),
		T(test_open_missing_directory),
		T_OPEN(test_users),
		T_OPEN(test_user_duplicate_conflicts),
		T_OPEN(test_user_role_check),
		T_OPEN(test_user_names_with_metacharacters),
		T_OPEN(test_rollback_leaves_nothing),
		T_OPEN(test_sessions),
		T_OPEN(test_session_delete_user),
		T_OPEN(test_audit_rows),
		T_OPEN(test_print_journal),
#undef T_OPEN
#undef T
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
