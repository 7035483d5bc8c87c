/* SPDX-License-Identifier: MIT */
/*
 * Consumables: a ledger of blank cards, ribbon, film and cleaning cards in
 * the storeroom and in each printer.  The ledger is a list of movements
 * (receive, load, unload, consume, return, spoil, adjust, clean) that is only
 * ever appended to; every balance is the sum of its movements.  The printing
 * pipeline consumes in the same transaction as the card's phase change (a
 * blank when the card is picked, a ribbon and a film print when it is
 * printed), and gives a blank back when a card begun turns out never to have
 * left the hopper.
 *
 * The catalogue comes from the configuration's [item NAME] sections (or the
 * built-in one when there is none).  The storeroom counts an item in its
 * unit (cards, rolls, cleaning cards); a printer counts blank cards in cards
 * and ribbon or film in prints.
 *
 * Stopping waste: a printer takes no new card while the ledger shows its
 * hopper, ribbon or film (when it uses film) empty, while its cards since the
 * last cleaning have reached its threshold, or while its daily quota or its
 * cards-per-hour limit is used up (stock_blocked).  Reconciliation compares
 * the ledger with the printer's own counters after each batch and each
 * self-test and keeps an alert when they differ.
 */
#ifndef EKTP_CORE_STOCK_H
#define EKTP_CORE_STOCK_H

#include "core/audit.h"
#include "hal/manager.h"
#include "store/store.h"
#include "util/config.h"

#define STOCK_ERROR (stock_error_quark())
GQuark stock_error_quark(void);

typedef enum {
	STOCK_ERROR_INVALID,   /* a field breaks its rule; the message names both (400) */
	STOCK_ERROR_NOT_FOUND, /* no such item, location or printer (404) */
	STOCK_ERROR_SHORT,     /* not that much on hand (409) */
	STOCK_ERROR_STATE,     /* the printer cannot do it now (409) */
	STOCK_ERROR_CONFIG,    /* the catalogue or [stock] settings are wrong */
	STOCK_ERROR_DEVICE,    /* the printer refused or failed (502) */
} StockErrorCode;

#define STOCK_STOREROOM "storeroom"
#define STOCK_ITEMS_MAX 32 /* items in the catalogue */

typedef enum {
	STOCK_CARD,     /* blank cards; counted in cards everywhere */
	STOCK_RIBBON,   /* colour ribbon; rolls in the storeroom, prints in a printer */
	STOCK_FILM,     /* retransfer film or overlay; as ribbon */
	STOCK_CLEANING, /* cleaning cards (a kit is a pack); storeroom only */
} StockKind;

const char *stock_kind_name(StockKind kind);

typedef struct {
	char *name;         /* "blank-card": a-z 0-9 '-', as in [item NAME] */
	char *label;        /* "Blank PVC card with contactless chip" */
	StockKind kind;
	char *unit;         /* the storeroom's unit: "card", "roll", "cleaning card" */
	gint64 prints;      /* ribbon and film: prints per roll; others 1 */
	gint64 pack_size;   /* units in one pack as ordered */
	gint64 unit_price;  /* rupiah per unit */
	gint64 low;         /* storeroom at or below: "low" (units) */
	gint64 critical;    /* storeroom at or below: "critical" (units) */
} StockItem;

typedef struct Stock Stock;

/* Reads the catalogue and [stock] settings from CFG, and writes the
 * catalogue's opening stock ([item] opening) for items the ledger has never
 * seen.  STORE and HAL are borrowed for the stock's life. */
Stock *stock_new(const EktpConfig *cfg, Store *store, HalManager *hal, GError **error);
/* Checks the catalogue's [item] sections without opening anything (ektpd -n);
 * the opening stock's locations are checked by stock_new, once the printers are known. */
gboolean stock_config_check(const EktpConfig *cfg, GError **error);
void stock_free(Stock *sk);

/* The catalogue (StockItem*, in configuration order); borrowed. */
const GPtrArray *stock_items(Stock *sk);
const StockItem *stock_item(Stock *sk, const char *name);
/* The printers (names, configuration order); borrowed. */
const GPtrArray *stock_printer_names(Stock *sk);
/* The unit ITEM is counted in at LOCATION ("print" for ribbon or film in a printer). */
const char *stock_unit_at(const StockItem *item, const char *location);

/* ---- movements asked for by people (each one transaction, audited) ----
 * Quantities are whole and at most [stock] max_quantity. */

typedef struct {
	const char *item;
	const char *location;   /* NULL or "storeroom": stock is received into the storeroom only */
	gint64 qty;             /* > 0, in the item's unit */
	const char *lot;        /* optional */
	const char *supplier;   /* optional */
	const char *received_on; /* "YYYY-MM-DD", optional (today) */
	const char *serial_first, *serial_last; /* blank cards: the lot's serial range, optional */
} StockReceipt;
/* Into the storeroom only.  Returns the movement id or -1. */
gint64 stock_receive(Stock *sk, const AuditActor *who, const StockReceipt *r, GError **error);

/* Loads ITEM into PRINTER from the storeroom.  Blank cards: QTY cards (0 =
 * fill the hopper to [stock] hopper_capacity).  Ribbon or film: one roll (QTY
 * must be 0 or 1); what is left of the roll it replaces is unloaded (written
 * off).  Cleaning cards are not loaded. */
gint64 stock_load(Stock *sk, const AuditActor *who, const char *printer, const char *item,
		  gint64 qty, GError **error);

/* Adds DELTA (≠ 0, may be negative) to ITEM at LOCATION; REASON required;
 * the balance may not go below zero. */
gint64 stock_adjust(Stock *sk, const AuditActor *who, const char *item, const char *location,
		    gint64 delta, const char *reason, GError **error);

/* QTY of ITEM at LOCATION spoiled by CAUSE ("chip failure", "misprint",
 * "jam", "test card", "power loss", "damaged"). */
gint64 stock_spoil(Stock *sk, const AuditActor *who, const char *item, const char *location,
		   gint64 qty, const char *cause, GError **error);

/* ---- the printing pipeline ---- */

/* Why PRINTER may start no new card now (empty hopper, ribbon or film,
 * cleaning due, quota or hourly limit used up), or NULL. */
char *stock_blocked(Stock *sk, const char *printer);
/* The same, with *KEYWORD (static) the printer-state reason it amounts to:
 * "media-empty", "marker-supply-empty", "cleaning-required",
 * "ektp-ration-reached" or "ektp-cleaning" (a cleaning cycle runs). */
char *stock_blocked_keyword(Stock *sk, const char *printer, const char **keyword);

/* In the caller's transaction: the movements card CARD's phase change on
 * PRINTER causes.  "picked" (begun): one blank; "printed" (begun): one
 * ribbon print and one film print (when the printer uses film); "void" (a
 * card begun that never left the hopper): its blank back.  Other phases:
 * nothing. */
int stock_card_phase(Stock *sk, const char *printer, gint64 card, const char *phase,
		     GError **error);
/* In the caller's transaction: card CARD, begun printing, was not printed
 * after all (the printer's ribbon count says so): its prints back. */
int stock_card_unprinted(Stock *sk, const char *printer, gint64 card, GError **error);
/* The ribbon prints the ledger shows in PRINTER (-1: none loaded). */
gint64 stock_ribbon_left(Stock *sk, const char *printer);

/* ---- cleaning, rationing, reconciliation ---- */

typedef void (*StockDone)(GError *error, void *data);

/* Runs PRINTER's cleaning cycle: refused without a cleaning card in the
 * storeroom; on success one cleaning card is consumed and the cleaning
 * recorded (one transaction, audited), which restarts the printer's count of
 * cards since cleaning.  DONE is called on the main loop.  The caller makes
 * sure no card is in the printer. */
void stock_clean(Stock *sk, const AuditActor *who, const char *printer, StockDone done,
		 void *data);

/* PRINTER's daily quota and cards-per-hour limit (0 = none). */
int stock_ration_set(Stock *sk, const AuditActor *who, const char *printer, gint64 daily,
		     gint64 hourly, GError **error);

/* Compares PRINTER's ledger with its own counters (cards taken since the
 * last reconciliation; ribbon prints left) once the printer answers; a
 * difference is kept as an alert with both figures and audited.  SOURCE says
 * what asked ("batch 3", "self-test").  DONE may be NULL. */
void stock_reconcile(Stock *sk, const char *printer, const char *source, StockDone done,
		     void *data);

/* ---- views ---- */

typedef struct {
	const StockItem *item; /* borrowed from the catalogue */
	char *location;        /* "storeroom", a printer, or "all" (the item's total) */
	gint64 on_hand;        /* in UNIT (for "all": storeroom units, printers' prints rounded down) */
	const char *unit;      /* borrowed */
	const char *flag;      /* static: "", "low", "critical", "empty" */
	double rate;           /* used per day, weighted towards recent days, in UNIT */
	double days_left;      /* on_hand / rate; -1 when nothing is used */
	char *runout;          /* "YYYY-MM-DD" the stock runs out at that rate, or NULL */
} StockLevel;
void stock_level_free(StockLevel *l);

/* Every item at every location (storeroom, then the printers, then "all"),
 * with its forecast over the last [stock] forecast_days days. */
GPtrArray *stock_levels(Stock *sk, GError **error);

typedef struct {
	char *printer;
	gint64 daily, hourly;       /* the ration; 0 = none */
	gint64 today, last_hour;    /* cards taken today and in the last 60 minutes */
	gint64 left_today;          /* -1: no quota */
	gint64 since_clean, clean_threshold;
	char *ribbon, *film;        /* the item loaded, or NULL */
	char *blocked;              /* stock_blocked's word, or NULL */
} StockPrinterView;
void stock_printer_view_free(StockPrinterView *v);
GPtrArray *stock_printers(Stock *sk, GError **error);

/* Movements newest first: of ITEM (NULL any), at most LIMIT (StoreStockMove*). */
GPtrArray *stock_history(Stock *sk, const char *item, int limit, GError **error);
/* Alerts newest first (StoreStockAlert*). */
GPtrArray *stock_alerts(Stock *sk, int limit, GError **error);

/* A report as a table: column names, whether each is a number, and rows of
 * cells (strings; numbers written with '.' as decimal point). */
typedef struct {
	char *title;
	GPtrArray *columns;  /* char* */
	GArray *numeric;     /* gboolean per column */
	GPtrArray *rows;     /* GPtrArray* of char* cells */
} StockReport;
void stock_report_free(StockReport *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StockReport, stock_report_free)

/* KIND: "daily" (one row per day and printer from FROM to TO, "YYYY-MM-DD",
 * NULL = the last 7 days), "monthly" (per month and printer, NULL = the last
 * 12 months), "spoilage" (per cause over FROM..TO, NULL = the last 30 days),
 * "procurement" (what to buy to cover MONTHS months at the current rate).  */
StockReport *stock_report(Stock *sk, const char *kind, const char *from, const char *to,
			  int months, GError **error);

/* The spoilage category of a card's cause ("chip failure", "jam", …). */
const char *stock_cause_category(const char *cause);

/* The weighted rate of use from DAILY[0..N-1], DAILY[N-1] being today: the
 * day D days ago weighs N - D. */
double stock_rate(const double *daily, int n);

/* A PNG chart of each item's total level over the last DAYS days with its
 * forecast line. */
GBytes *stock_chart(Stock *sk, int days, GError **error);

#endif
