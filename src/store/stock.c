/* SPDX-License-Identifier: MIT */
/* The consumables ledger, rations, alerts and reconciliation marks (see store.h, "stock"). */
#include <string.h>

#include "store/internal.h"

void
store_stock_move_free(StoreStockMove *m)
{
	if (!m)
		return;
	g_free(m->kind);
	g_free(m->item);
	g_free(m->location);
	g_free(m->lot);
	g_free(m->supplier);
	g_free(m->serial_first);
	g_free(m->serial_last);
	g_free(m->received_on);
	g_free(m->cause);
	g_free(m->reason);
	g_free(m->printer);
	g_free(m->actor);
	g_free(m);
}

void
store_stock_alert_free(StoreStockAlert *a)
{
	if (!a)
		return;
	g_free(a->printer);
	g_free(a->item);
	g_free(a->what);
	g_free(a->source);
	g_free(a);
}

#define MOVE_SELECT \
	"id, at, kind, item, location, qty, lot, supplier, serial_first, serial_last, " \
	"received_on, cause, reason, printer, actor, coalesce(card, 0), coalesce(grp, 0)"

static StoreStockMove *
move_row(sqlite3_stmt *s)
{
	StoreStockMove *m = g_new0(StoreStockMove, 1);
	m->id = sqlite3_column_int64(s, 0);
	m->at = sqlite3_column_int64(s, 1);
	m->kind = store_col_text(s, 2);
	m->item = store_col_text(s, 3);
	m->location = store_col_text(s, 4);
	m->qty = sqlite3_column_int64(s, 5);
	m->lot = store_col_text(s, 6);
	m->supplier = store_col_text(s, 7);
	m->serial_first = store_col_text(s, 8);
	m->serial_last = store_col_text(s, 9);
	m->received_on = store_col_text(s, 10);
	m->cause = store_col_text(s, 11);
	m->reason = store_col_text(s, 12);
	m->printer = store_col_text(s, 13);
	m->actor = store_col_text(s, 14);
	m->card = sqlite3_column_int64(s, 15);
	m->grp = sqlite3_column_int64(s, 16);
	return m;
}

static GPtrArray *
move_rows(Store *st, sqlite3_stmt *s, GError **error)
{
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)store_stock_move_free);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		g_ptr_array_add(out, move_row(s));
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_set_error(st, error, rc, "stock movements");
		g_ptr_array_unref(out);
		return NULL;
	}
	return out;
}

/* Binds text I, NULL as "". */
static int
bind_text0(Store *st, sqlite3_stmt *s, int i, const char *v, GError **error)
{
	return store_bind_text(st, s, i, v ? v : "", error);
}

gint64
store_stock_add(Store *st, const StoreStockMove *m, GError **error)
{
	sqlite3_stmt *s = store_prep(
		st,
		"INSERT INTO stock_moves (at, kind, item, location, qty, lot, supplier, serial_first, "
		"serial_last, received_on, cause, reason, printer, actor, card, grp) VALUES (?1, ?2, "
		"?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, nullif(?15, 0), nullif(?16, 0)) "
		"RETURNING id",
		error);
	if (!s || store_bind_int(st, s, 1, m->at, error) < 0 ||
	    bind_text0(st, s, 2, m->kind, error) < 0 || bind_text0(st, s, 3, m->item, error) < 0 ||
	    bind_text0(st, s, 4, m->location, error) < 0 ||
	    store_bind_int(st, s, 5, m->qty, error) < 0 || bind_text0(st, s, 6, m->lot, error) < 0 ||
	    bind_text0(st, s, 7, m->supplier, error) < 0 ||
	    bind_text0(st, s, 8, m->serial_first, error) < 0 ||
	    bind_text0(st, s, 9, m->serial_last, error) < 0 ||
	    bind_text0(st, s, 10, m->received_on, error) < 0 ||
	    bind_text0(st, s, 11, m->cause, error) < 0 ||
	    bind_text0(st, s, 12, m->reason, error) < 0 ||
	    bind_text0(st, s, 13, m->printer, error) < 0 ||
	    bind_text0(st, s, 14, m->actor, error) < 0 ||
	    store_bind_int(st, s, 15, m->card, error) < 0 ||
	    store_bind_int(st, s, 16, m->grp, error) < 0)
		return -1;
	int rc = sqlite3_step(s);
	gint64 id = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
	if (rc == SQLITE_ROW)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		/* Read the message before the reset clears it. */
		store_set_error(st, error, rc, "stock movement");
		sqlite3_reset(s);
		return -1;
	}
	sqlite3_reset(s);
	return id;
}

gint64
store_stock_balance(Store *st, const char *item, const char *location, GError **error)
{
	sqlite3_stmt *s = store_prep(
		st, "SELECT coalesce(SUM(qty), 0) FROM stock_moves WHERE item = ?1 AND location = ?2",
		error);
	if (!s || store_bind_text(st, s, 1, item, error) < 0 ||
	    store_bind_text(st, s, 2, location, error) < 0)
		return -1;
	return store_scalar_stmt(st, s, "stock balance", error);
}

GHashTable *
store_stock_balances(Store *st, GError **error)
{
	sqlite3_stmt *s = store_prep(
		st, "SELECT item, location, SUM(qty) FROM stock_moves GROUP BY item, location", error);
	if (!s)
		return NULL;
	GHashTable *out = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		gint64 *q = g_new(gint64, 1);
		*q = sqlite3_column_int64(s, 2);
		g_hash_table_insert(out,
				    g_strdup_printf("%s\n%s", sqlite3_column_text(s, 0),
						    sqlite3_column_text(s, 1)),
				    q);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_set_error(st, error, rc, "stock balances");
		g_hash_table_destroy(out);
		return NULL;
	}
	return out;
}

GPtrArray *
store_stock_moves(Store *st, gint64 from, gint64 to, GError **error)
{
	sqlite3_stmt *s = store_prep(st,
				     "SELECT " MOVE_SELECT " FROM stock_moves WHERE at >= ?1 AND "
				     "(?2 = 0 OR at < ?2) ORDER BY id",
				     error);
	if (!s || store_bind_int(st, s, 1, from, error) < 0 ||
	    store_bind_int(st, s, 2, to, error) < 0)
		return NULL;
	return move_rows(st, s, error);
}

GPtrArray *
store_stock_recent(Store *st, const char *item, int limit, GError **error)
{
	sqlite3_stmt *s = store_prep(st,
				     "SELECT " MOVE_SELECT " FROM stock_moves WHERE ?1 = '' OR "
				     "item = ?1 ORDER BY id DESC LIMIT ?2",
				     error);
	if (!s || bind_text0(st, s, 1, item, error) < 0 ||
	    store_bind_int(st, s, 2, limit, error) < 0)
		return NULL;
	return move_rows(st, s, error);
}

GPtrArray *
store_stock_card_moves(Store *st, gint64 card, GError **error)
{
	sqlite3_stmt *s = store_prep(
		st, "SELECT " MOVE_SELECT " FROM stock_moves WHERE card = ?1 ORDER BY id", error);
	if (!s || store_bind_int(st, s, 1, card, error) < 0)
		return NULL;
	return move_rows(st, s, error);
}

gint64
store_stock_last_clean(Store *st, const char *printer, gint64 *at, GError **error)
{
	sqlite3_stmt *s = store_prep(st,
				     "SELECT id, at FROM stock_moves WHERE kind = 'clean' AND "
				     "printer = ?1 ORDER BY id DESC LIMIT 1",
				     error);
	if (!s || store_bind_text(st, s, 1, printer, error) < 0)
		return -1;
	int rc = sqlite3_step(s);
	gint64 id = 0;
	*at = 0;
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(s, 0);
		*at = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_set_error(st, error, rc, "last cleaning");
	return id;
}

gint64
store_stock_used_since(Store *st, const char *item, const char *location, gint64 after,
		       GError **error)
{
	sqlite3_stmt *s = store_prep(st,
				     "SELECT -coalesce(SUM(qty), 0) FROM stock_moves WHERE item = ?1 "
				     "AND location = ?2 AND id > ?3 AND kind IN ('consume', "
				     "'return')",
				     error);
	if (!s || store_bind_text(st, s, 1, item, error) < 0 ||
	    store_bind_text(st, s, 2, location, error) < 0 ||
	    store_bind_int(st, s, 3, after, error) < 0)
		return -1;
	return store_scalar_stmt(st, s, "stock used", error);
}

int
store_stock_known(Store *st, const char *item, GError **error)
{
	sqlite3_stmt *s =
		store_prep(st, "SELECT EXISTS (SELECT 1 FROM stock_moves WHERE item = ?1)", error);
	if (!s || store_bind_text(st, s, 1, item, error) < 0)
		return -1;
	return (int)store_scalar_stmt(st, s, "stock item", error);
}

gint64
store_stock_first_at(Store *st, GError **error)
{
	sqlite3_stmt *s = store_prep(st, "SELECT at FROM stock_moves ORDER BY id LIMIT 1", error);
	return s ? store_scalar_stmt(st, s, "first movement", error) : -1;
}

gint64
store_stock_last_id(Store *st, GError **error)
{
	sqlite3_stmt *s = store_prep(st, "SELECT max(id) FROM stock_moves", error);
	return s ? store_scalar_stmt(st, s, "last movement", error) : -1;
}

int
store_stock_ration_get(Store *st, const char *printer, gint64 *daily, gint64 *hourly,
		       GError **error)
{
	sqlite3_stmt *s =
		store_prep(st, "SELECT daily, hourly FROM stock_rations WHERE printer = ?1", error);
	if (!s || store_bind_text(st, s, 1, printer, error) < 0)
		return -1;
	int rc = sqlite3_step(s);
	*daily = *hourly = 0;
	if (rc == SQLITE_ROW) {
		*daily = sqlite3_column_int64(s, 0);
		*hourly = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_set_error(st, error, rc, "ration");
	return rc == SQLITE_ROW;
}

int
store_stock_ration_set(Store *st, const char *printer, gint64 daily, gint64 hourly,
		       const char *by, gint64 now, GError **error)
{
	sqlite3_stmt *s = store_prep(st,
				     "INSERT OR REPLACE INTO stock_rations (printer, daily, hourly, "
				     "set_by, set_at) VALUES (?1, ?2, ?3, ?4, ?5)",
				     error);
	if (!s || store_bind_text(st, s, 1, printer, error) < 0 ||
	    store_bind_int(st, s, 2, daily, error) < 0 ||
	    store_bind_int(st, s, 3, hourly, error) < 0 ||
	    store_bind_text(st, s, 4, by, error) < 0 || store_bind_int(st, s, 5, now, error) < 0)
		return -1;
	return store_run(st, s, error);
}

gint64
store_stock_alert_add(Store *st, const StoreStockAlert *a, GError **error)
{
	sqlite3_stmt *s = store_prep(st,
				     "INSERT INTO stock_alerts (at, printer, item, what, ledger, "
				     "device, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
				     error);
	if (!s || store_bind_int(st, s, 1, a->at, error) < 0 ||
	    store_bind_text(st, s, 2, a->printer, error) < 0 ||
	    store_bind_text(st, s, 3, a->item, error) < 0 ||
	    store_bind_text(st, s, 4, a->what, error) < 0 ||
	    store_bind_int(st, s, 5, a->ledger, error) < 0 ||
	    store_bind_int(st, s, 6, a->device, error) < 0 ||
	    store_bind_text(st, s, 7, a->source, error) < 0 || store_run(st, s, error) < 0)
		return -1;
	return sqlite3_last_insert_rowid(st->db);
}

GPtrArray *
store_stock_alerts(Store *st, int limit, GError **error)
{
	sqlite3_stmt *s = store_prep(st,
				     "SELECT id, at, printer, item, what, source, ledger, device FROM "
				     "stock_alerts ORDER BY id DESC LIMIT ?1",
				     error);
	if (!s || store_bind_int(st, s, 1, limit, error) < 0)
		return NULL;
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)store_stock_alert_free);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		StoreStockAlert *a = g_new0(StoreStockAlert, 1);
		a->id = sqlite3_column_int64(s, 0);
		a->at = sqlite3_column_int64(s, 1);
		a->printer = store_col_text(s, 2);
		a->item = store_col_text(s, 3);
		a->what = store_col_text(s, 4);
		a->source = store_col_text(s, 5);
		a->ledger = sqlite3_column_int64(s, 6);
		a->device = sqlite3_column_int64(s, 7);
		g_ptr_array_add(out, a);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_set_error(st, error, rc, "stock alerts");
		g_ptr_array_unref(out);
		return NULL;
	}
	return out;
}

int
store_stock_mark_get(Store *st, const char *printer, gint64 *counter_total, gint64 *move_id,
		     GError **error)
{
	sqlite3_stmt *s = store_prep(
		st, "SELECT counter_total, move_id FROM stock_marks WHERE printer = ?1", error);
	if (!s || store_bind_text(st, s, 1, printer, error) < 0)
		return -1;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*counter_total = sqlite3_column_int64(s, 0);
		*move_id = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_set_error(st, error, rc, "reconciliation mark");
	return rc == SQLITE_ROW;
}

int
store_stock_mark_set(Store *st, const char *printer, gint64 counter_total, gint64 move_id,
		     gint64 now, GError **error)
{
	sqlite3_stmt *s = store_prep(st,
				     "INSERT OR REPLACE INTO stock_marks (printer, at, counter_total, "
				     "move_id) VALUES (?1, ?2, ?3, ?4)",
				     error);
	if (!s || store_bind_text(st, s, 1, printer, error) < 0 ||
	    store_bind_int(st, s, 2, now, error) < 0 ||
	    store_bind_int(st, s, 3, counter_total, error) < 0 ||
	    store_bind_int(st, s, 4, move_id, error) < 0)
		return -1;
	return store_run(st, s, error);
}
