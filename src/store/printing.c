/* SPDX-License-Identifier: MIT */
/* Print batches and the card journal (see store.h, "printing"). */
#include <string.h>

#include "store/internal.h"

void
store_print_card_free(StorePrintCard *c)
{
	if (!c)
		return;
	g_free(c->phase);
	g_free(c->printer);
	g_free(c->cause);
	g_free(c);
}

void
store_print_batch_free(StorePrintBatch *b)
{
	if (!b)
		return;
	g_free(b->state);
	g_free(b->printer);
	g_free(b->created_by);
	g_free(b);
}

#define CARD_SELECT "id, batch, record, seq, phase, printer, cause, started_at, updated_at"

static StorePrintCard *
card_row(sqlite3_stmt *s)
{
	StorePrintCard *c = g_new0(StorePrintCard, 1);
	c->id = sqlite3_column_int64(s, 0);
	c->batch = sqlite3_column_int64(s, 1);
	c->record = sqlite3_column_int64(s, 2);
	c->seq = sqlite3_column_int64(s, 3);
	c->phase = store_col_text(s, 4);
	c->printer = store_col_text(s, 5);
	c->cause = store_col_text(s, 6);
	c->started_at = sqlite3_column_int64(s, 7);
	c->updated_at = sqlite3_column_int64(s, 8);
	return c;
}

/* Every row of a prepared card query. */
static GPtrArray *
card_rows(Store *st, sqlite3_stmt *s, GError **error)
{
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)store_print_card_free);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		g_ptr_array_add(out, card_row(s));
	if (rc != SQLITE_DONE) {
		store_set_error(st, error, rc, "print cards");
		g_ptr_array_unref(out);
		out = NULL;
	}
	sqlite3_reset(s);
	return out;
}

/* One card row into *OUT: 1, 0 none, -1 error. */
static int
card_one(Store *st, sqlite3_stmt *s, StorePrintCard **out, GError **error)
{
	*out = NULL;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = card_row(s);
	else if (rc != SQLITE_DONE)
		store_set_error(st, error, rc, "print card");
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

gint64
store_print_batch_add(Store *st, const char *printer, const char *by, const gint64 *records,
		      guint n, gint64 now, guint *n_cards, GError **error)
{
	*n_cards = 0;
	sqlite3_stmt *s =
		store_prep(st,
			   "INSERT INTO print_batches (state, printer, created_by, created_at) "
			   "VALUES ('running', ?1, ?2, ?3)",
			   error);
	if (!s || store_bind_text(st, s, 1, printer, error) < 0 ||
	    store_bind_text(st, s, 2, by, error) < 0 || store_bind_int(st, s, 3, now, error) < 0 ||
	    store_run(st, s, error) < 0)
		return -1;
	gint64 batch = sqlite3_last_insert_rowid(st->db);
	for (guint i = 0; i < n; i++) {
		s = store_prep(
			st,
			"UPDATE records SET state = 'printing', state_reason = '', updated_at = ?2 "
			"WHERE id = ?1 AND state = 'print_ready'",
			error);
		if (!s || store_bind_int(st, s, 1, records[i], error) < 0 ||
		    store_bind_int(st, s, 2, now, error) < 0 || store_run(st, s, error) < 0)
			return -1;
		if (sqlite3_changes(st->db) == 0)
			continue;
		if (store_print_card_add(st, batch, records[i], now, error) < 0)
			return -1;
		(*n_cards)++;
	}
	return batch;
}

int
store_print_card_add(Store *st, gint64 batch, gint64 record, gint64 now, GError **error)
{
	sqlite3_stmt *s = store_prep(
		st,
		"INSERT INTO print_cards (batch, record, seq, phase, updated_at) VALUES (?1, ?2, "
		"(SELECT COALESCE(MAX(seq), 0) + 1 FROM print_cards WHERE batch = ?1), 'queued', "
		"?3)",
		error);
	if (!s || store_bind_int(st, s, 1, batch, error) < 0 ||
	    store_bind_int(st, s, 2, record, error) < 0 || store_bind_int(st, s, 3, now, error) < 0)
		return -1;
	return store_run(st, s, error);
}

int
store_print_claim(Store *st, const char *printer, StorePrintCard **out, GError **error)
{
	sqlite3_stmt *s = store_prep(
		st,
		"UPDATE print_cards SET printer = ?1 WHERE id = (SELECT c.id FROM print_cards c "
		"JOIN print_batches b ON b.id = c.batch WHERE c.phase = 'queued' AND c.printer = "
		"'' "
		"AND b.state = 'running' AND (b.printer = '' OR b.printer = ?1) "
		"ORDER BY b.id, c.seq LIMIT 1) RETURNING " CARD_SELECT,
		error);
	if (!s || store_bind_text(st, s, 1, printer, error) < 0)
		return -1;
	return card_one(st, s, out, error);
}

int
store_print_card_requeue(Store *st, gint64 id, gint64 now, GError **error)
{
	sqlite3_stmt *s = store_prep(st,
				     "UPDATE print_cards SET phase = 'queued', printer = '', "
				     "started_at = NULL, updated_at = ?2 WHERE id = ?1",
				     error);
	if (!s || store_bind_int(st, s, 1, id, error) < 0 ||
	    store_bind_int(st, s, 2, now, error) < 0)
		return -1;
	return store_run(st, s, error);
}

int
store_print_unclaim_all(Store *st, GError **error)
{
	return store_exec(st, "UPDATE print_cards SET printer = '' WHERE phase = 'queued'", error);
}

int
store_print_card_get(Store *st, gint64 id, StorePrintCard **out, GError **error)
{
	sqlite3_stmt *s =
		store_prep(st, "SELECT " CARD_SELECT " FROM print_cards WHERE id = ?1", error);
	if (!s || store_bind_int(st, s, 1, id, error) < 0)
		return -1;
	return card_one(st, s, out, error);
}

int
store_print_card_phase(Store *st, gint64 id, const char *phase, const char *cause, gboolean begin,
		       gint64 now, GError **error)
{
	sqlite3_stmt *s = store_prep(
		st,
		"UPDATE print_cards SET phase = ?2, cause = COALESCE(?3, cause), updated_at = ?4, "
		"started_at = CASE WHEN ?5 THEN ?4 ELSE started_at END WHERE id = ?1",
		error);
	if (!s || store_bind_int(st, s, 1, id, error) < 0 ||
	    store_bind_text(st, s, 2, phase, error) < 0)
		return -1;
	int rc = cause ? sqlite3_bind_text(s, 3, cause, -1, SQLITE_TRANSIENT)
		       : sqlite3_bind_null(s, 3);
	if (rc != SQLITE_OK)
		return store_set_error(st, error, rc, "bind");
	if (store_bind_int(st, s, 4, now, error) < 0 || store_bind_int(st, s, 5, begin, error) < 0)
		return -1;
	return store_run(st, s, error);
}

GPtrArray *
store_print_cards_open(Store *st, GError **error)
{
	sqlite3_stmt *s = store_prep(st,
				     "SELECT " CARD_SELECT " FROM print_cards WHERE phase IN "
				     "('picked','encoded','printed','ejected') "
				     /* the partial index print_cards_live's own condition,
				      * so that SQLite takes it instead of reading every card */
				     "AND phase NOT IN ('done','spoiled','void','cancelled') "
				     "ORDER BY id",
				     error);
	return s ? card_rows(st, s, error) : NULL;
}

GPtrArray *
store_print_cards_of(Store *st, gint64 batch, GError **error)
{
	sqlite3_stmt *s = store_prep(
		st, "SELECT " CARD_SELECT " FROM print_cards WHERE batch = ?1 ORDER BY seq", error);
	if (!s || store_bind_int(st, s, 1, batch, error) < 0)
		return NULL;
	return card_rows(st, s, error);
}

gint64
store_print_spoils(Store *st, gint64 batch, gint64 record, GError **error)
{
	sqlite3_stmt *s =
		store_prep(st,
			   "SELECT COUNT(*) FROM print_cards WHERE batch = ?1 AND record = ?2 "
			   "AND phase = 'spoiled'",
			   error);
	if (!s || store_bind_int(st, s, 1, batch, error) < 0 ||
	    store_bind_int(st, s, 2, record, error) < 0)
		return -1;
	int rc = sqlite3_step(s);
	gint64 n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
	if (rc != SQLITE_ROW)
		store_set_error(st, error, rc, "spoils");
	sqlite3_reset(s);
	return n;
}

#define BATCH_SELECT                                                                               \
	"b.id, b.state, b.printer, b.created_by, b.created_at, COALESCE(b.finished_at, 0), "       \
	"(SELECT COUNT(*) FROM print_cards c WHERE c.batch = b.id), "                              \
	"(SELECT COUNT(*) FROM print_cards c WHERE c.batch = b.id AND c.phase = 'queued'), "       \
	"(SELECT COUNT(*) FROM print_cards c WHERE c.batch = b.id AND c.phase IN "                 \
	"('picked','encoded','printed','ejected')), "                                              \
	"(SELECT COUNT(*) FROM print_cards c WHERE c.batch = b.id AND c.phase = 'done'), "         \
	"(SELECT COUNT(*) FROM print_cards c WHERE c.batch = b.id AND c.phase = 'spoiled'), "      \
	"(SELECT COUNT(*) FROM print_cards c WHERE c.batch = b.id AND c.phase IN "                 \
	"('cancelled','void'))"

static StorePrintBatch *
batch_row(sqlite3_stmt *s)
{
	StorePrintBatch *b = g_new0(StorePrintBatch, 1);
	b->id = sqlite3_column_int64(s, 0);
	b->state = store_col_text(s, 1);
	b->printer = store_col_text(s, 2);
	b->created_by = store_col_text(s, 3);
	b->created_at = sqlite3_column_int64(s, 4);
	b->finished_at = sqlite3_column_int64(s, 5);
	b->cards = sqlite3_column_int64(s, 6);
	b->queued = sqlite3_column_int64(s, 7);
	b->in_flight = sqlite3_column_int64(s, 8);
	b->done = sqlite3_column_int64(s, 9);
	b->spoiled = sqlite3_column_int64(s, 10);
	b->cancelled = sqlite3_column_int64(s, 11);
	return b;
}

GPtrArray *
store_print_batches(Store *st, int limit, GError **error)
{
	sqlite3_stmt *s = store_prep(
		st,
		/* Two lists by id, not one OR, which SQLite answers by reading
		 * every batch: the running ones (index print_batches_running)
		 * and the last LIMIT others. */
		"SELECT " BATCH_SELECT " FROM print_batches b WHERE b.id IN "
		"(SELECT id FROM print_batches WHERE state = 'running' UNION ALL "
		"SELECT id FROM (SELECT id FROM print_batches WHERE state <> 'running' "
		"ORDER BY id DESC LIMIT ?1)) ORDER BY b.id DESC",
		error);
	if (!s || store_bind_int(st, s, 1, limit, error) < 0)
		return NULL;
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)store_print_batch_free);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		g_ptr_array_add(out, batch_row(s));
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_set_error(st, error, rc, "print batches");
		g_ptr_array_unref(out);
		return NULL;
	}
	return out;
}

int
store_print_batch_get(Store *st, gint64 id, StorePrintBatch **out, GError **error)
{
	*out = NULL;
	sqlite3_stmt *s = store_prep(
		st, "SELECT " BATCH_SELECT " FROM print_batches b WHERE b.id = ?1", error);
	if (!s || store_bind_int(st, s, 1, id, error) < 0)
		return -1;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = batch_row(s);
	else if (rc != SQLITE_DONE)
		store_set_error(st, error, rc, "print batch");
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int
store_print_batch_cancel(Store *st, gint64 id, gint64 now, GError **error)
{
	sqlite3_stmt *s = store_prep(
		st,
		"UPDATE records SET state = 'print_ready', state_reason = 'print batch cancelled', "
		"updated_at = ?2 WHERE state = 'printing' AND id IN (SELECT record FROM "
		"print_cards "
		"WHERE batch = ?1 AND phase = 'queued')",
		error);
	if (!s || store_bind_int(st, s, 1, id, error) < 0 ||
	    store_bind_int(st, s, 2, now, error) < 0 || store_run(st, s, error) < 0)
		return -1;
	s = store_prep(st,
		       "UPDATE print_cards SET phase = 'cancelled', updated_at = ?2 "
		       "WHERE batch = ?1 AND phase = 'queued'",
		       error);
	if (!s || store_bind_int(st, s, 1, id, error) < 0 ||
	    store_bind_int(st, s, 2, now, error) < 0 || store_run(st, s, error) < 0)
		return -1;
	int n = sqlite3_changes(st->db);
	s = store_prep(st,
		       "UPDATE print_batches SET state = 'cancelled', finished_at = ?2 "
		       "WHERE id = ?1 AND state = 'running'",
		       error);
	if (!s || store_bind_int(st, s, 1, id, error) < 0 ||
	    store_bind_int(st, s, 2, now, error) < 0 || store_run(st, s, error) < 0)
		return -1;
	return n;
}

int
store_print_batches_settle(Store *st, gint64 now, GError **error)
{
	sqlite3_stmt *s = store_prep(
		st,
		"UPDATE print_batches SET state = 'done', finished_at = ?1 WHERE state = 'running' "
		"AND NOT EXISTS (SELECT 1 FROM print_cards c WHERE c.batch = print_batches.id AND "
		"c.phase IN " STORE_CARD_LIVE ")",
		error);
	if (!s || store_bind_int(st, s, 1, now, error) < 0 || store_run(st, s, error) < 0)
		return -1;
	return sqlite3_changes(st->db);
}

gint64
store_print_started(Store *st, const char *printer, gint64 since, GError **error)
{
	sqlite3_stmt *s = store_prep(st,
				     "SELECT count(*) FROM print_cards WHERE printer = ?1 AND "
				     "started_at >= ?2 AND phase <> 'void'",
				     error);
	if (!s || store_bind_text(st, s, 1, printer, error) < 0 ||
	    store_bind_int(st, s, 2, since, error) < 0)
		return -1;
	return store_scalar_stmt(st, s, "cards started", error);
}

GPtrArray *
store_print_cards_finished(Store *st, gint64 from, gint64 to, GError **error)
{
	sqlite3_stmt *s = store_prep(st,
				     "SELECT " CARD_SELECT " FROM print_cards WHERE phase IN ('done', "
				     "'spoiled') AND updated_at >= ?1 AND updated_at < ?2 ORDER BY "
				     "updated_at, id",
				     error);
	if (!s || store_bind_int(st, s, 1, from, error) < 0 ||
	    store_bind_int(st, s, 2, to, error) < 0)
		return NULL;
	return card_rows(st, s, error);
}
