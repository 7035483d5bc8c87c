/* SPDX-License-Identifier: MIT */
/*
 * The store: ektpd's SQLite database, and the only module that talks to
 * SQLite.  It opens the database in WAL mode with synchronous=FULL (a commit
 * is on disk when it returns), applies schema migrations by user_version, and
 * offers typed queries.  It knows nothing of HTTP, roles or hashing: callers
 * in core/ compose these calls inside store_begin()/store_commit().
 *
 * Every function that can fail returns -1 (or NULL) with a STORE_ERROR set;
 * lookups return 1 when found and 0 when not.
 */
#ifndef EKTP_STORE_H
#define EKTP_STORE_H

#include <glib.h>

#define STORE_ERROR (store_error_quark())
GQuark store_error_quark(void);

typedef enum {
	STORE_ERROR_FAILED,
	STORE_ERROR_CONFLICT, /* a UNIQUE or CHECK constraint refused the row */
	STORE_ERROR_BUSY,     /* another process holds the database */
	STORE_ERROR_FULL,     /* the disk is full */
	STORE_ERROR_IO,       /* the OS reported an I/O error */
	STORE_ERROR_CORRUPT,  /* not a database, or a damaged one */
	STORE_ERROR_SCHEMA,   /* a schema newer than this program knows */
} StoreErrorCode;

typedef struct Store Store;

/* The schema version this program writes. */
#define STORE_SCHEMA_VERSION 7

/*
 * Opens (creating if need be) the database at PATH and migrates it to
 * STORE_SCHEMA_VERSION.  Caller frees with store_close().
 */
Store *store_open(const char *path, GError **error);
/* The same, stopping the migrations at VERSION (tests of old schemas). */
Store *store_open_version(const char *path, int version, GError **error);
void store_close(Store *st);

int store_schema_version(Store *st);
/* Copies the WAL into the database and empties it (never automatic: see
 * store.c).  Returns the pages copied, or -1.  Not inside a transaction. */
int store_checkpoint(Store *st, GError **error);
/* Caps the database file at MAX_BYTES (0: no cap): a write that would grow
 * it further fails with STORE_ERROR_FULL, exactly as a full disk does, and
 * rolls back.  For this connection only. */
int store_set_max_size(Store *st, gint64 max_bytes, GError **error);
/* Bytes used on disk by the database and its WAL. */
gint64 store_size_bytes(Store *st);
/* Rows this connection's statements have stepped through in full table
 * scans since it opened (SQLite's SQLITE_STMTSTATUS_FULLSCAN_STEP, summed):
 * how tests see that a query took its index without timing it. */
gint64 store_full_scan_steps(Store *st);
/* "ok", or the first problem PRAGMA integrity_check reports.  Caller frees. */
char *store_integrity_check(Store *st, GError **error);

/* Transactions: BEGIN IMMEDIATE, COMMIT, ROLLBACK.  Not nested. */
int store_begin(Store *st, GError **error);
int store_commit(Store *st, GError **error);
void store_rollback(Store *st);

/* ---- users ---- */

typedef struct {
	gint64 id;
	char *name;
	char *role;
	char *pin_hash;
	gboolean disabled;
	gint64 failed_logins;
	gint64 locked_until;  /* unix seconds, 0 = not locked */
	gint64 created_at;
	gint64 last_login_at; /* 0 = never */
} StoreUser;

void store_user_clear(StoreUser *u);
void store_user_free(StoreUser *u);

/* Fills OUT (caller clears it) for the user called NAME. */
int store_user_get(Store *st, const char *name, StoreUser *out, GError **error);
/* All users by name, as StoreUser* (the array frees them). */
GPtrArray *store_user_list(Store *st, GError **error);
/* Inserts U (id is ignored); STORE_ERROR_CONFLICT when the name exists. */
int store_user_insert(Store *st, const StoreUser *u, GError **error);
int store_user_set_pin(Store *st, gint64 id, const char *pin_hash, GError **error);
int store_user_set_disabled(Store *st, gint64 id, GError **error);
int store_user_set_login_state(Store *st, gint64 id, gint64 failed_logins,
			       gint64 locked_until, gint64 last_login_at, GError **error);
/* Users with ROLE that are not disabled. */
gint64 store_user_count_role(Store *st, const char *role, GError **error);

/* ---- sessions (login tokens, stored as SHA-256 hex) ---- */

typedef struct {
	gint64 user_id;
	char *user;
	char *role;
	gboolean disabled;
	gint64 created_at;
	gint64 last_seen;
} StoreSession;

void store_session_clear(StoreSession *s);
int store_session_insert(Store *st, const char *token_hash, gint64 user_id, gint64 now,
			 GError **error);
int store_session_get(Store *st, const char *token_hash, StoreSession *out, GError **error);
int store_session_touch(Store *st, const char *token_hash, gint64 now, GError **error);
int store_session_delete(Store *st, const char *token_hash, GError **error);
/* Ends every session of USER_ID except KEEP_HASH (may be NULL). */
int store_session_delete_user(Store *st, gint64 user_id, const char *keep_hash, GError **error);
/* Deletes sessions last seen before CUTOFF; returns how many, or -1. */
int store_session_purge(Store *st, gint64 cutoff, GError **error);
gint64 store_session_count(Store *st, gint64 cutoff, GError **error);
gint64 store_user_count(Store *st, GError **error);

/* ---- audit log (rows are chained by hash in core/audit.c) ---- */

typedef struct {
	gint64 id;
	gint64 ts;
	char *user;   /* "" when anonymous */
	char *role;   /* "" when anonymous */
	char *action; /* route name, e.g. "user.add" */
	char *target;
	char *result;  /* "ok", or why it was refused: "denied", "locked" */
	char *detail;  /* JSON text */
	char *prev_hash;
	char *hash;
} StoreAuditRow;

void store_audit_row_free(StoreAuditRow *r);
/* The newest row's id and hash; 0 and "" when the log is empty. */
int store_audit_tail(Store *st, gint64 *id, char **hash, GError **error);
/* Inserts R with R->id as given (the chain fixes ids). */
int store_audit_insert(Store *st, const StoreAuditRow *r, GError **error);
/* Up to LIMIT rows with id > AFTER, oldest first (StoreAuditRow*). */
GPtrArray *store_audit_list(Store *st, gint64 after, int limit, GError **error);
gint64 store_audit_count(Store *st, GError **error);
/* The head: count and hash of the newest row, kept beside the log so that
 * deleting the newest rows is noticed. */
int store_audit_head_get(Store *st, gint64 *rows, char **hash, GError **error);
int store_audit_head_set(Store *st, gint64 rows, const char *hash, GError **error);

/* ---- device self-tests and capture history ---- */

typedef struct {
	gint64 id;
	char *device;
	gint64 ts;
	gboolean ok;
	char *user;
	char *message;
	char *figures; /* JSON object text */
} StoreSelftest;

void store_selftest_free(StoreSelftest *t);
/* Inserts T (id ignored); returns the new id, or -1. */
gint64 store_selftest_insert(Store *st, const StoreSelftest *t, GError **error);
/* DEVICE's newest LIMIT self-tests, newest first (StoreSelftest*). */
GPtrArray *store_selftest_list(Store *st, const char *device, int limit, GError **error);

typedef struct {
	gint64 ts;
	gboolean ok;
	gint64 quality; /* -1 when none was measured */
	gint64 latency_ms;
} StoreCapture;

int store_capture_insert(Store *st, const char *device, const StoreCapture *c,
			 const char *source, GError **error);
/* DEVICE's captures, oldest first: the first FIRST ones (its baseline) when
 * NEWEST is FALSE, else the newest FIRST ones.  A GArray of StoreCapture. */
GArray *store_capture_window(Store *st, const char *device, int first, gboolean newest,
			     GError **error);
gint64 store_capture_count(Store *st, const char *device, GError **error);

/* ---- enrollments, records and their biometrics (records.c) ---- */

/* One capture (the best attempt so far) or one exception, at one modality
 * ("finger", "iris", "face", "signature") and position. */
typedef struct {
	char *modality;
	int position;
	char *kind;   /* "capture" or "exception" */
	char *status; /* captures: "accepted", "retry", "forced"; exceptions: "" */
	int quality, threshold;
	char *algorithm;
	int attempts;
	gboolean forced;
	char *source; /* "device" or "upload" */
	char *device, *driver, *driver_version, *serial;
	int width, height, channels, ppi;
	gint64 captured_at;
	GBytes *sealed; /* the sealed PNG; NULL for exceptions, and in listings without blobs */
	char *exc_kind; /* exceptions: "missing", "amputated", "bandaged", "other" */
	char *reason;
} StoreItem;
void store_item_free(StoreItem *it);

typedef struct {
	gint64 id;
	char *state; /* "open", "committed", "abandoned" */
	char *nik, *name, *operator_name;
	char *demographics; /* JSON object text */
	char *warnings;     /* JSON array text */
	gboolean reenroll;
	char *print_ready_after; /* "YYYY-MM-DD" or "" */
	GBytes *wrapped_key;
	gint64 created_at, updated_at;
} StoreEnrollment;
void store_enrollment_clear(StoreEnrollment *e);
void store_enrollment_free(StoreEnrollment *e);

/* Inserts E (id ignored, state "open"; wrapped_key may be a placeholder);
 * returns the new id, or -1. */
gint64 store_enrollment_insert(Store *st, const StoreEnrollment *e, GError **error);
/* Sets the wrapped data key, once the id it is bound to is known. */
int store_enrollment_set_key(Store *st, gint64 id, GBytes *wrapped_key, GError **error);
/* Fills OUT (caller clears it); 1 found, 0 not, -1 error. */
int store_enrollment_get(Store *st, gint64 id, StoreEnrollment *out, GError **error);
/* Open enrollments, oldest first (StoreEnrollment*, without wrapped keys). */
GPtrArray *store_enrollment_list_open(Store *st, GError **error);
int store_enrollment_set_state(Store *st, gint64 id, const char *state, gint64 now,
			       GError **error);

/* Items of enrollment (and record) OWNER, by modality and position; with their
 * sealed blobs only when BLOBS.  StoreItem* array. */
GPtrArray *store_item_list(Store *st, gint64 owner, gboolean blobs, GError **error);
/* One item of an enrollment, with its blob; 1 found, 0 not, -1 error.
 * OUT: caller frees with store_item_free(). */
int store_item_get(Store *st, gint64 owner, const char *modality, int position, StoreItem **out,
		   GError **error);
/* Inserts or replaces IT for the open enrollment OWNER. */
int store_item_put(Store *st, gint64 owner, const StoreItem *it, GError **error);
/* Erases every item of the enrollment OWNER (abandon). */
int store_item_delete_all(Store *st, gint64 owner, GError **error);

typedef struct {
	gint64 id;
	char *state, *state_reason;
	char *nik, *name, *village_code;
	char *demographics, *warnings;
	char *needs_approval; /* JSON array text of keywords */
	char *operator_name;
	gint64 created_at, updated_at;
	char *approved_by; /* "" when none */
	gint64 approved_at; /* 0 when none */
	char *print_ready_after; /* "YYYY-MM-DD" or "" */
	gint64 replaces;   /* 0 when none */
	GBytes *wrapped_key;
} StoreRecord;
void store_record_clear(StoreRecord *r);
void store_record_free(StoreRecord *r);

/* Makes the open enrollment R->id a record (its items become the record's).
 * The caller holds the transaction and marks the enrollment committed. */
int store_record_insert(Store *st, const StoreRecord *r, GError **error);
int store_record_get(Store *st, gint64 id, StoreRecord *out, GError **error);

typedef struct {
	const char *state; /* NULL = any */
	const char *nik;   /* NULL = any */
	gint64 from, to;   /* created_at range, unix seconds; 0 = open */
	gint64 after;      /* ids above this */
	int limit;
} StoreRecordFilter;
/* Records matching F, by id (StoreRecord*, without wrapped keys). */
GPtrArray *store_record_list(Store *st, const StoreRecordFilter *f, GError **error);
/* The id of NIK's active record (not rejected or superseded), 0 when none. */
gint64 store_record_active_for_nik(Store *st, const char *nik, gint64 except_id,
				   GError **error);
/* Sets state and reason; BY (may be NULL) and NOW mark an approval. */
int store_record_set_state(Store *st, gint64 id, const char *state, const char *reason,
			   const char *approved_by, gint64 now, GError **error);
/* Approved records whose print_ready_after is empty or not after TODAY
 * ("YYYY-MM-DD") become print_ready; returns how many, or -1. */
int store_record_promote(Store *st, const char *today, gint64 now, GError **error);

/* Records per group, oldest key first: BY_DAY counts per creation day (local
 * "YYYY-MM-DD"), else per kecamatan (the first 8 characters of the village
 * code, "61.72.01").  Rejected and superseded records do not count.  Returns
 * an array of StoreCount (caller frees the keys with the array). */
typedef struct {
	char *key;
	gint64 count;
} StoreCount;
GArray *store_record_counts(Store *st, gboolean by_day, gint64 from, gint64 to, GError **error);

/* ---- printing (printing.c) ----
 * A batch is a list of cards; a card is one attempt to print one record.  A
 * card's phase names the step begun last: queued (not begun), picked,
 * encoded, printed, ejected (each journaled before its step starts), then
 * done, spoiled (with its cause), void (never reached the printer) or
 * cancelled (its batch was cancelled before it began). */

#define STORE_CARD_LIVE "('queued','picked','encoded','printed','ejected')"

typedef struct {
	gint64 id, batch, record, seq;
	char *phase, *printer, *cause;
	gint64 started_at, updated_at; /* started_at 0: never begun */
} StorePrintCard;
void store_print_card_free(StorePrintCard *c);

typedef struct {
	gint64 id;
	char *state; /* "running", "done", "cancelled" */
	char *printer; /* "" = any */
	char *created_by;
	gint64 created_at, finished_at;
	gint64 cards, queued, in_flight, done, spoiled, cancelled; /* counts of cards */
} StorePrintBatch;
void store_print_batch_free(StorePrintBatch *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StorePrintBatch, store_print_batch_free)

/* A running batch for PRINTER ("" any) of RECORDS in that order, each moved
 * from print_ready to printing; others are skipped.  *N_CARDS: how many
 * made it.  In the caller's transaction.  Returns the batch id or -1. */
gint64 store_print_batch_add(Store *st, const char *printer, const char *by,
			     const gint64 *records, guint n, gint64 now, guint *n_cards,
			     GError **error);
/* Appends a queued card for RECORD to BATCH (a retry). */
int store_print_card_add(Store *st, gint64 batch, gint64 record, gint64 now, GError **error);
/* Claims for PRINTER the next queued unclaimed card of a running batch it may
 * serve (oldest batch first); 1 with *OUT, 0 none, -1 error. */
int store_print_claim(Store *st, const char *printer, StorePrintCard **out, GError **error);
/* Card ID back to queued and unclaimed: it was never begun after all. */
int store_print_card_requeue(Store *st, gint64 id, gint64 now, GError **error);
/* Forgets every claim on cards not yet begun (at start). */
int store_print_unclaim_all(Store *st, GError **error);
int store_print_card_get(Store *st, gint64 id, StorePrintCard **out, GError **error);
/* Sets card ID's phase (and CAUSE when not NULL); BEGIN also stamps started_at. */
int store_print_card_phase(Store *st, gint64 id, const char *phase, const char *cause,
			   gboolean begin, gint64 now, GError **error);
/* Cards begun and not finished (picked … ejected), by id (StorePrintCard*). */
GPtrArray *store_print_cards_open(Store *st, GError **error);
/* Cards of BATCH by seq (StorePrintCard*). */
GPtrArray *store_print_cards_of(Store *st, gint64 batch, GError **error);
/* Spoiled cards of RECORD in BATCH. */
gint64 store_print_spoils(Store *st, gint64 batch, gint64 record, GError **error);
/* Batches, newest first (StorePrintBatch*): every running one, and the last
 * LIMIT of the others. */
GPtrArray *store_print_batches(Store *st, int limit, GError **error);
int store_print_batch_get(Store *st, gint64 id, StorePrintBatch **out, GError **error);
/* Cancels BATCH's cards not begun (their records back to print_ready) and
 * the batch; returns how many cards were cancelled, or -1. */
int store_print_batch_cancel(Store *st, gint64 id, gint64 now, GError **error);
/* Marks running batches with no card left to print done; returns how many. */
int store_print_batches_settle(Store *st, gint64 now, GError **error);

/* ---- stock (stock.c) ----
 * The consumables ledger: movements only ever appended (triggers refuse an
 * update or a delete, and any movement that would take a balance below
 * zero); a balance is the sum of an item's movements at a location. */

typedef struct {
	gint64 id, at;
	char *kind; /* receive, load, unload, consume, return, spoil, adjust, clean */
	char *item, *location;
	gint64 qty; /* signed, in the unit of ITEM at LOCATION */
	char *lot, *supplier, *serial_first, *serial_last, *received_on;
	char *cause, *reason;
	char *printer; /* a cleaning: the printer cleaned */
	char *actor;
	gint64 card;   /* the print card that caused it, or 0 */
	gint64 grp;    /* the movements of one act (a load) share the first one's id; 0 alone */
} StoreStockMove;
void store_stock_move_free(StoreStockMove *m);

/* Appends M (id ignored; NULL strings are ""); STORE_ERROR_CONFLICT when a
 * balance would go below zero.  In the caller's transaction.  Returns the
 * new id or -1. */
gint64 store_stock_add(Store *st, const StoreStockMove *m, GError **error);
/* The balance of ITEM at LOCATION (0 when never moved), or -1 with ERROR. */
gint64 store_stock_balance(Store *st, const char *item, const char *location, GError **error);
/* Every balance ever moved: "ITEM\nLOCATION" → gint64* quantity. */
GHashTable *store_stock_balances(Store *st, GError **error);
/* Movements with FROM <= at < TO (TO 0: no end), oldest first (StoreStockMove*). */
GPtrArray *store_stock_moves(Store *st, gint64 from, gint64 to, GError **error);
/* The last LIMIT movements of ITEM (NULL: any), newest first. */
GPtrArray *store_stock_recent(Store *st, const char *item, int limit, GError **error);
/* Movements caused by print card CARD, oldest first. */
GPtrArray *store_stock_card_moves(Store *st, gint64 card, GError **error);
/* The id of PRINTER's last cleaning (0: never), its time in *AT; -1 with ERROR. */
gint64 store_stock_last_clean(Store *st, const char *printer, gint64 *at, GError **error);
/* What the printing pipeline used of ITEM at LOCATION after movement AFTER
 * (consumed minus returned). */
gint64 store_stock_used_since(Store *st, const char *item, const char *location, gint64 after,
			      GError **error);
/* Whether ITEM was ever moved: 1, 0, or -1 with ERROR. */
int store_stock_known(Store *st, const char *item, GError **error);
/* The time of the first movement (0: none) and the last movement's id. */
gint64 store_stock_first_at(Store *st, GError **error);
gint64 store_stock_last_id(Store *st, GError **error);

/* PRINTER's ration: 1 with *DAILY and *HOURLY (0 = none), 0 when never set. */
int store_stock_ration_get(Store *st, const char *printer, gint64 *daily, gint64 *hourly,
			   GError **error);
int store_stock_ration_set(Store *st, const char *printer, gint64 daily, gint64 hourly,
			   const char *by, gint64 now, GError **error);

/* A difference between the ledger and a printer's own counter. */
typedef struct {
	gint64 id, at;
	char *printer, *item, *what, *source;
	gint64 ledger, device; /* the ledger's figure and the printer's */
} StoreStockAlert;
void store_stock_alert_free(StoreStockAlert *a);
gint64 store_stock_alert_add(Store *st, const StoreStockAlert *a, GError **error);
/* The last LIMIT alerts, newest first. */
GPtrArray *store_stock_alerts(Store *st, int limit, GError **error);

/* The printer's counter and the ledger's last movement at the last
 * reconciliation: 1 found, 0 none yet. */
int store_stock_mark_get(Store *st, const char *printer, gint64 *counter_total, gint64 *move_id,
			 GError **error);
int store_stock_mark_set(Store *st, const char *printer, gint64 counter_total, gint64 move_id,
			 gint64 now, GError **error);

/* Cards PRINTER began at or after SINCE that reached the printer (not void). */
gint64 store_print_started(Store *st, const char *printer, gint64 since, GError **error);
/* Cards finished (done or spoiled) with FROM <= updated_at < TO, oldest first. */
GPtrArray *store_print_cards_finished(Store *st, gint64 from, gint64 to, GError **error);

#endif
