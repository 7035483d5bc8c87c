/* SPDX-License-Identifier: MIT */
/*
 * Enrollments, records and their biometrics: typed queries over the tables of
 * schema 4 (see the migration in store.c).  Blobs arrive here already sealed;
 * the store never sees a key or a pixel in clear.
 */
#include "store/internal.h"

#include <string.h>

/* Item columns in the order read_item() expects. */
#define ITEM_SELECT \
	"modality, position, kind, status, quality, threshold, algorithm, attempts, forced, " \
	"source, device, driver, driver_version, serial, width, height, channels, ppi, " \
	"captured_at, exc_kind, reason"

static GBytes *
col_blob(sqlite3_stmt *s, int i)
{
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return NULL;
	const void *p = sqlite3_column_blob(s, i);
	int n = sqlite3_column_bytes(s, i);
	return g_bytes_new(p, (gsize)n);
}

static int
bind_blob(Store *st, sqlite3_stmt *s, int i, GBytes *b, GError **error)
{
	int rc;
	if (!b) {
		rc = sqlite3_bind_null(s, i);
	} else {
		gsize n = 0;
		const void *p = g_bytes_get_data(b, &n);
		rc = sqlite3_bind_blob64(s, i, p ? p : "", n, SQLITE_STATIC);
	}
	return rc == SQLITE_OK ? 0 : store_set_error(st, error, rc, "bind");
}

static int
bind_opt_text(Store *st, sqlite3_stmt *s, int i, const char *v, GError **error)
{
	if (v && *v)
		return store_bind_text(st, s, i, v, error);
	int rc = sqlite3_bind_null(s, i);
	return rc == SQLITE_OK ? 0 : store_set_error(st, error, rc, "bind");
}

/* ---- items ---- */

void
store_item_free(StoreItem *it)
{
	if (!it)
		return;
	g_free(it->modality);
	g_free(it->kind);
	g_free(it->status);
	g_free(it->algorithm);
	g_free(it->source);
	g_free(it->device);
	g_free(it->driver);
	g_free(it->driver_version);
	g_free(it->serial);
	if (it->sealed)
		g_bytes_unref(it->sealed);
	g_free(it->exc_kind);
	g_free(it->reason);
	g_free(it);
}

static StoreItem *
read_item(sqlite3_stmt *s, int blob_col)
{
	StoreItem *it = g_new0(StoreItem, 1);
	int c = 0;
	it->modality = store_col_text(s, c++);
	it->position = sqlite3_column_int(s, c++);
	it->kind = store_col_text(s, c++);
	it->status = store_col_text(s, c++);
	it->quality = sqlite3_column_int(s, c++);
	it->threshold = sqlite3_column_int(s, c++);
	it->algorithm = store_col_text(s, c++);
	it->attempts = sqlite3_column_int(s, c++);
	it->forced = sqlite3_column_int(s, c++) != 0;
	it->source = store_col_text(s, c++);
	it->device = store_col_text(s, c++);
	it->driver = store_col_text(s, c++);
	it->driver_version = store_col_text(s, c++);
	it->serial = store_col_text(s, c++);
	it->width = sqlite3_column_int(s, c++);
	it->height = sqlite3_column_int(s, c++);
	it->channels = sqlite3_column_int(s, c++);
	it->ppi = sqlite3_column_int(s, c++);
	it->captured_at = sqlite3_column_int64(s, c++);
	it->exc_kind = store_col_text(s, c++);
	it->reason = store_col_text(s, c++);
	if (blob_col >= 0)
		it->sealed = col_blob(s, blob_col);
	return it;
}

/* Runs S (already bound) and collects items; BLOB_COL as in read_item(). */
static GPtrArray *
collect_items(Store *st, sqlite3_stmt *s, int blob_col, GError **error)
{
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)store_item_free);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		g_ptr_array_add(out, read_item(s, blob_col));
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_set_error(st, error, rc, "read");
		g_ptr_array_unref(out);
		return NULL;
	}
	return out;
}

GPtrArray *
store_item_list(Store *st, gint64 owner, gboolean blobs, GError **error)
{
	static const char *const sql[2] = {
		"SELECT " ITEM_SELECT " FROM biometrics WHERE owner = ?1 ORDER BY modality, position",
		"SELECT " ITEM_SELECT ", sealed FROM biometrics WHERE owner = ?1 "
		"ORDER BY modality, position",
	};
	sqlite3_stmt *s = store_prep(st, sql[blobs ? 1 : 0], error);
	if (!s || store_bind_int(st, s, 1, owner, error) < 0)
		return NULL;
	return collect_items(st, s, blobs ? 21 : -1, error);
}

int
store_item_get(Store *st, gint64 owner, const char *modality, int position, StoreItem **out,
	       GError **error)
{
	sqlite3_stmt *s = store_prep(st,
				     "SELECT " ITEM_SELECT ", sealed FROM biometrics "
				     "WHERE owner = ?1 AND modality = ?2 AND position = ?3",
				     error);
	if (!s || store_bind_int(st, s, 1, owner, error) < 0 ||
	    store_bind_text(st, s, 2, modality, error) < 0 ||
	    store_bind_int(st, s, 3, position, error) < 0)
		return -1;
	g_autoptr(GPtrArray) items = collect_items(st, s, 21, error);
	if (!items)
		return -1;
	if (items->len == 0)
		return 0;
	*out = g_ptr_array_steal_index(items, 0);
	return 1;
}

int
store_item_put(Store *st, gint64 owner, const StoreItem *it, GError **error)
{
	sqlite3_stmt *s = store_prep(
		st,
		"INSERT OR REPLACE INTO biometrics (owner, " ITEM_SELECT ", sealed) VALUES "
		"(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
		"?19, ?20, ?21, ?22, ?23)",
		error);
	if (!s)
		return -1;
	int i = 1;
	if (store_bind_int(st, s, i++, owner, error) < 0 ||
	    store_bind_text(st, s, i++, it->modality, error) < 0 ||
	    store_bind_int(st, s, i++, it->position, error) < 0 ||
	    store_bind_text(st, s, i++, it->kind, error) < 0 ||
	    store_bind_text(st, s, i++, it->status ? it->status : "", error) < 0 ||
	    store_bind_int(st, s, i++, it->quality, error) < 0 ||
	    store_bind_int(st, s, i++, it->threshold, error) < 0 ||
	    store_bind_text(st, s, i++, it->algorithm ? it->algorithm : "", error) < 0 ||
	    store_bind_int(st, s, i++, it->attempts, error) < 0 ||
	    store_bind_int(st, s, i++, it->forced, error) < 0 ||
	    store_bind_text(st, s, i++, it->source ? it->source : "", error) < 0 ||
	    store_bind_text(st, s, i++, it->device ? it->device : "", error) < 0 ||
	    store_bind_text(st, s, i++, it->driver ? it->driver : "", error) < 0 ||
	    store_bind_text(st, s, i++, it->driver_version ? it->driver_version : "", error) < 0 ||
	    store_bind_text(st, s, i++, it->serial ? it->serial : "", error) < 0 ||
	    store_bind_int(st, s, i++, it->width, error) < 0 ||
	    store_bind_int(st, s, i++, it->height, error) < 0 ||
	    store_bind_int(st, s, i++, it->channels, error) < 0 ||
	    store_bind_int(st, s, i++, it->ppi, error) < 0 ||
	    store_bind_int(st, s, i++, it->captured_at, error) < 0 ||
	    store_bind_text(st, s, i++, it->exc_kind ? it->exc_kind : "", error) < 0 ||
	    store_bind_text(st, s, i++, it->reason ? it->reason : "", error) < 0 ||
	    bind_blob(st, s, i++, it->sealed, error) < 0)
		return -1;
	return store_run(st, s, error);
}

int
store_item_delete_all(Store *st, gint64 owner, GError **error)
{
	sqlite3_stmt *s = store_prep(st, "DELETE FROM biometrics WHERE owner = ?1", error);
	if (!s || store_bind_int(st, s, 1, owner, error) < 0)
		return -1;
	return store_run(st, s, error);
}

/* ---- enrollments ---- */

void
store_enrollment_clear(StoreEnrollment *e)
{
	g_free(e->state);
	g_free(e->nik);
	g_free(e->name);
	g_free(e->operator_name);
	g_free(e->demographics);
	g_free(e->warnings);
	g_free(e->print_ready_after);
	if (e->wrapped_key)
		g_bytes_unref(e->wrapped_key);
	memset(e, 0, sizeof *e);
}

void
store_enrollment_free(StoreEnrollment *e)
{
	if (!e)
		return;
	store_enrollment_clear(e);
	g_free(e);
}

#define ENROLLMENT_SELECT \
	"id, state, nik, name, operator, demographics, warnings, reenroll, " \
	"print_ready_after, created_at, updated_at, wrapped_key"

static void
read_enrollment(sqlite3_stmt *s, StoreEnrollment *e, gboolean key)
{
	e->id = sqlite3_column_int64(s, 0);
	e->state = store_col_text(s, 1);
	e->nik = store_col_text(s, 2);
	e->name = store_col_text(s, 3);
	e->operator_name = store_col_text(s, 4);
	e->demographics = store_col_text(s, 5);
	e->warnings = store_col_text(s, 6);
	e->reenroll = sqlite3_column_int(s, 7) != 0;
	e->print_ready_after = store_col_text(s, 8);
	e->created_at = sqlite3_column_int64(s, 9);
	e->updated_at = sqlite3_column_int64(s, 10);
	if (key)
		e->wrapped_key = col_blob(s, 11);
}

gint64
store_enrollment_insert(Store *st, const StoreEnrollment *e, GError **error)
{
	sqlite3_stmt *s = store_prep(
		st,
		"INSERT INTO enrollments (state, nik, name, operator, demographics, warnings, "
		"reenroll, print_ready_after, wrapped_key, created_at, updated_at) "
		"VALUES ('open', ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
		error);
	if (!s || store_bind_text(st, s, 1, e->nik, error) < 0 ||
	    store_bind_text(st, s, 2, e->name, error) < 0 ||
	    store_bind_text(st, s, 3, e->operator_name, error) < 0 ||
	    store_bind_text(st, s, 4, e->demographics, error) < 0 ||
	    store_bind_text(st, s, 5, e->warnings, error) < 0 ||
	    store_bind_int(st, s, 6, e->reenroll, error) < 0 ||
	    bind_opt_text(st, s, 7, e->print_ready_after, error) < 0 ||
	    bind_blob(st, s, 8, e->wrapped_key, error) < 0 ||
	    store_bind_int(st, s, 9, e->created_at, error) < 0 || store_run(st, s, error) < 0)
		return -1;
	return sqlite3_last_insert_rowid(st->db);
}

int
store_enrollment_set_key(Store *st, gint64 id, GBytes *wrapped_key, GError **error)
{
	sqlite3_stmt *s = store_prep(st, "UPDATE enrollments SET wrapped_key = ?2 WHERE id = ?1",
				     error);
	if (!s || store_bind_int(st, s, 1, id, error) < 0 ||
	    bind_blob(st, s, 2, wrapped_key, error) < 0)
		return -1;
	return store_run(st, s, error);
}

int
store_enrollment_get(Store *st, gint64 id, StoreEnrollment *out, GError **error)
{
	sqlite3_stmt *s =
		store_prep(st, "SELECT " ENROLLMENT_SELECT " FROM enrollments WHERE id = ?1", error);
	if (!s || store_bind_int(st, s, 1, id, error) < 0)
		return -1;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		read_enrollment(s, out, TRUE);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_set_error(st, error, rc, "read");
}

GPtrArray *
store_enrollment_list_open(Store *st, GError **error)
{
	sqlite3_stmt *s = store_prep(
		st, "SELECT " ENROLLMENT_SELECT " FROM enrollments WHERE state = 'open' ORDER BY id",
		error);
	if (!s)
		return NULL;
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)store_enrollment_free);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		StoreEnrollment *e = g_new0(StoreEnrollment, 1);
		read_enrollment(s, e, FALSE);
		g_ptr_array_add(out, e);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_set_error(st, error, rc, "read");
		g_ptr_array_unref(out);
		return NULL;
	}
	return out;
}

int
store_enrollment_set_state(Store *st, gint64 id, const char *state, gint64 now, GError **error)
{
	sqlite3_stmt *s = store_prep(
		st, "UPDATE enrollments SET state = ?2, updated_at = ?3 WHERE id = ?1", error);
	if (!s || store_bind_int(st, s, 1, id, error) < 0 ||
	    store_bind_text(st, s, 2, state, error) < 0 || store_bind_int(st, s, 3, now, error) < 0)
		return -1;
	return store_run(st, s, error);
}

/* ---- records ---- */

void
store_record_clear(StoreRecord *r)
{
	g_free(r->state);
	g_free(r->state_reason);
	g_free(r->nik);
	g_free(r->name);
	g_free(r->village_code);
	g_free(r->demographics);
	g_free(r->warnings);
	g_free(r->needs_approval);
	g_free(r->operator_name);
	g_free(r->approved_by);
	g_free(r->print_ready_after);
	if (r->wrapped_key)
		g_bytes_unref(r->wrapped_key);
	memset(r, 0, sizeof *r);
}

void
store_record_free(StoreRecord *r)
{
	if (!r)
		return;
	store_record_clear(r);
	g_free(r);
}

#define RECORD_SELECT \
	"id, state, state_reason, nik, name, village_code, demographics, warnings, " \
	"needs_approval, operator, created_at, updated_at, approved_by, approved_at, " \
	"print_ready_after, replaces, wrapped_key"

static void
read_record(sqlite3_stmt *s, StoreRecord *r, gboolean key)
{
	int c = 0;
	r->id = sqlite3_column_int64(s, c++);
	r->state = store_col_text(s, c++);
	r->state_reason = store_col_text(s, c++);
	r->nik = store_col_text(s, c++);
	r->name = store_col_text(s, c++);
	r->village_code = store_col_text(s, c++);
	r->demographics = store_col_text(s, c++);
	r->warnings = store_col_text(s, c++);
	r->needs_approval = store_col_text(s, c++);
	r->operator_name = store_col_text(s, c++);
	r->created_at = sqlite3_column_int64(s, c++);
	r->updated_at = sqlite3_column_int64(s, c++);
	r->approved_by = store_col_text(s, c++);
	r->approved_at = sqlite3_column_int64(s, c++);
	r->print_ready_after = store_col_text(s, c++);
	r->replaces = sqlite3_column_int64(s, c++);
	if (key)
		r->wrapped_key = col_blob(s, c);
}

int
store_record_insert(Store *st, const StoreRecord *r, GError **error)
{
	sqlite3_stmt *s = store_prep(
		st,
		"INSERT INTO records (id, state, state_reason, nik, name, village_code, "
		"demographics, warnings, needs_approval, operator, created_at, updated_at, "
		"approved_by, approved_at, print_ready_after, replaces, wrapped_key) VALUES "
		"(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12, ?13, ?14, ?15, ?16)",
		error);
	if (!s)
		return -1;
	int i = 1;
	if (store_bind_int(st, s, i++, r->id, error) < 0 ||
	    store_bind_text(st, s, i++, r->state, error) < 0 ||
	    store_bind_text(st, s, i++, r->state_reason ? r->state_reason : "", error) < 0 ||
	    store_bind_text(st, s, i++, r->nik, error) < 0 ||
	    store_bind_text(st, s, i++, r->name, error) < 0 ||
	    store_bind_text(st, s, i++, r->village_code, error) < 0 ||
	    store_bind_text(st, s, i++, r->demographics, error) < 0 ||
	    store_bind_text(st, s, i++, r->warnings, error) < 0 ||
	    store_bind_text(st, s, i++, r->needs_approval, error) < 0 ||
	    store_bind_text(st, s, i++, r->operator_name, error) < 0 ||
	    store_bind_int(st, s, i++, r->created_at, error) < 0 ||
	    bind_opt_text(st, s, i++, r->approved_by, error) < 0)
		return -1;
	int rc = r->approved_at ? sqlite3_bind_int64(s, i, r->approved_at) : sqlite3_bind_null(s, i);
	i++;
	if (rc != SQLITE_OK)
		return store_set_error(st, error, rc, "bind");
	if (bind_opt_text(st, s, i++, r->print_ready_after, error) < 0)
		return -1;
	rc = r->replaces ? sqlite3_bind_int64(s, i, r->replaces) : sqlite3_bind_null(s, i);
	i++;
	if (rc != SQLITE_OK)
		return store_set_error(st, error, rc, "bind");
	if (bind_blob(st, s, i++, r->wrapped_key, error) < 0)
		return -1;
	return store_run(st, s, error);
}

int
store_record_get(Store *st, gint64 id, StoreRecord *out, GError **error)
{
	sqlite3_stmt *s = store_prep(st, "SELECT " RECORD_SELECT " FROM records WHERE id = ?1", error);
	if (!s || store_bind_int(st, s, 1, id, error) < 0)
		return -1;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		read_record(s, out, TRUE);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_set_error(st, error, rc, "read");
}

GPtrArray *
store_record_list(Store *st, const StoreRecordFilter *f, GError **error)
{
	/* One statement per leading filter, so that SQLite sees a plain
	 * equality or range and takes its index (records_nik, records_state,
	 * records_created); "?N IS NULL OR ..." alone hides them all and reads
	 * every record. */
#define LIST_REST                                                                               \
	"id > ?1 AND (?2 IS NULL OR state = ?2) AND (?3 IS NULL OR nik = ?3) "                  \
	"AND (?4 = 0 OR created_at >= ?4) AND (?5 = 0 OR created_at < ?5) ORDER BY id LIMIT ?6"
	static const char *const sql[] = {
		"SELECT " RECORD_SELECT " FROM records WHERE nik = ?3 AND " LIST_REST,
		"SELECT " RECORD_SELECT " FROM records WHERE state = ?2 AND " LIST_REST,
		"SELECT " RECORD_SELECT " FROM records WHERE created_at >= ?4 AND " LIST_REST,
		"SELECT " RECORD_SELECT " FROM records WHERE " LIST_REST,
	};
#undef LIST_REST
	int shape = f->nik ? 0 : f->state ? 1 : f->from > 0 ? 2 : 3;
	sqlite3_stmt *s = store_prep(st, sql[shape], error);
	if (!s || store_bind_int(st, s, 1, f->after, error) < 0 ||
	    bind_opt_text(st, s, 2, f->state, error) < 0 ||
	    bind_opt_text(st, s, 3, f->nik, error) < 0 ||
	    store_bind_int(st, s, 4, f->from, error) < 0 ||
	    store_bind_int(st, s, 5, f->to, error) < 0 ||
	    store_bind_int(st, s, 6, f->limit, error) < 0)
		return NULL;
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)store_record_free);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		StoreRecord *r = g_new0(StoreRecord, 1);
		read_record(s, r, FALSE);
		g_ptr_array_add(out, r);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_set_error(st, error, rc, "read");
		g_ptr_array_unref(out);
		return NULL;
	}
	return out;
}

gint64
store_record_active_for_nik(Store *st, const char *nik, gint64 except_id, GError **error)
{
	sqlite3_stmt *s = store_prep(st,
				     "SELECT COALESCE(MAX(id), 0) FROM records WHERE nik = ?1 "
				     "AND id != ?2 AND state NOT IN ('rejected', 'superseded')",
				     error);
	if (!s || store_bind_text(st, s, 1, nik, error) < 0 ||
	    store_bind_int(st, s, 2, except_id, error) < 0)
		return -1;
	int rc = sqlite3_step(s);
	gint64 v = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return store_set_error(st, error, rc, "read");
	return v;
}

int
store_record_set_state(Store *st, gint64 id, const char *state, const char *reason,
		       const char *approved_by, gint64 now, GError **error)
{
	sqlite3_stmt *s = store_prep(
		st,
		"UPDATE records SET state = ?2, state_reason = ?3, updated_at = ?4, "
		"approved_by = COALESCE(?5, approved_by), "
		"approved_at = CASE WHEN ?5 IS NULL THEN approved_at ELSE ?4 END WHERE id = ?1",
		error);
	if (!s || store_bind_int(st, s, 1, id, error) < 0 ||
	    store_bind_text(st, s, 2, state, error) < 0 ||
	    store_bind_text(st, s, 3, reason ? reason : "", error) < 0 ||
	    store_bind_int(st, s, 4, now, error) < 0 ||
	    bind_opt_text(st, s, 5, approved_by, error) < 0)
		return -1;
	return store_run(st, s, error);
}

int
store_record_promote(Store *st, const char *today, gint64 now, GError **error)
{
	sqlite3_stmt *s = store_prep(st,
				     "UPDATE records SET state = 'print_ready', updated_at = ?2 "
				     "WHERE state = 'approved' AND (print_ready_after IS NULL "
				     "OR print_ready_after <= ?1)",
				     error);
	if (!s || store_bind_text(st, s, 1, today, error) < 0 ||
	    store_bind_int(st, s, 2, now, error) < 0 || store_run(st, s, error) < 0)
		return -1;
	return sqlite3_changes(st->db);
}

static void
clear_count(gpointer p)
{
	g_free(((StoreCount *)p)->key);
}

GArray *
store_record_counts(Store *st, gboolean by_day, gint64 from, gint64 to, GError **error)
{
	/* With a start, "created_at >= ?1" on its own lets records_created
	 * find the range; "?1 = 0 OR ..." would read every record. */
#define COUNT_REST                                                                              \
	"state NOT IN ('rejected', 'superseded') AND (?1 = 0 OR created_at >= ?1) "             \
	"AND (?2 = 0 OR created_at < ?2) GROUP BY k ORDER BY k"
#define BY_PLACE "SELECT substr(village_code, 1, 8) AS k, COUNT(*) FROM records WHERE "
#define BY_DAY "SELECT date(created_at, 'unixepoch', 'localtime') AS k, COUNT(*) FROM records WHERE "
	static const char *const sql[2][2] = {
		{ BY_PLACE COUNT_REST, BY_PLACE "created_at >= ?1 AND " COUNT_REST },
		{ BY_DAY COUNT_REST, BY_DAY "created_at >= ?1 AND " COUNT_REST },
	};
#undef COUNT_REST
#undef BY_PLACE
#undef BY_DAY
	sqlite3_stmt *s = store_prep(st, sql[by_day ? 1 : 0][from > 0 ? 1 : 0], error);
	if (!s || store_bind_int(st, s, 1, from, error) < 0 ||
	    store_bind_int(st, s, 2, to, error) < 0)
		return NULL;
	GArray *out = g_array_new(FALSE, TRUE, sizeof(StoreCount));
	g_array_set_clear_func(out, clear_count);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		StoreCount c = { store_col_text(s, 0), sqlite3_column_int64(s, 1) };
		g_array_append_val(out, c);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		g_array_unref(out);
		store_set_error(st, error, rc, "read");
		return NULL;
	}
	return out;
}
