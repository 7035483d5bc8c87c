/* SPDX-License-Identifier: MIT */
/*
 * Batch printing across the working printers.  A batch takes print_ready
 * records (first-time voters first, then the oldest); each printer takes the
 * next card of the oldest running batch it may serve, so the cards spread
 * over the healthy printers.  A card goes picked → encoded and verified →
 * printed → ejected → done, each phase journaled in the store before it
 * starts; the next card is built (face rendered, chip signed) in a worker
 * thread while the printer works on the current one.
 *
 * After a crash, a power loss or a lost printer, a card whose phase is
 * known only as begun is settled from the printer's own word: a card still
 * inside goes to the reject box and is logged spoiled with its cause, one
 * that left through the eject is done, one that was never picked is void;
 * the record of a spoiled or void card goes back to print_ready.  So a record
 * is printed once, or is back in the queue with the spoiled card on file.
 *
 * Printer errors are handled in the CUPS manner: "retry" (a chip that failed
 * to encode: the card is spoiled, the record gets another card), "hold" (a
 * record that cannot make a card: it goes on_hold with the reason) or "stop"
 * (a jam, an empty hopper or ribbon, an open cover: the printer takes no new
 * card until its status is clear again).  The reason is shown with the
 * printer (GET /v1/print/jobs).
 */
#ifndef EKTP_CORE_PRINTING_H
#define EKTP_CORE_PRINTING_H

#include "core/audit.h"
#include "core/cards.h"
#include "core/stock.h"

#define PRINT_ERROR (print_error_quark())
GQuark print_error_quark(void);

typedef enum {
	PRINT_ERROR_NOT_FOUND,  /* no such batch, record or printer (404) */
	PRINT_ERROR_STATE,      /* not in a state that allows it (409) */
	PRINT_ERROR_NOTHING,    /* no record is print_ready (409) */
	PRINT_ERROR_NO_PRINTER, /* no printer can print (409) */
	PRINT_ERROR_CONFIG,     /* the [print] settings or a printer's encoder are wrong */
} PrintErrorCode;

typedef struct PrintEngine PrintEngine;

/* Checks the printers (each needs an "encoder" naming an encoder device) and
 * the [print] settings, forgets claims on cards not begun, and starts
 * settling any card a previous run left begun.  DEPS is copied; what it
 * points to, and STOCK (whose ledger every card's steps draw on, and which
 * may stop a printer), are borrowed for the engine's life. */
PrintEngine *print_engine_new(const CardsDeps *deps, Stock *stock, GError **error);
/* Starts no new step; waits for cards being built.  A card in the printer
 * stays journaled as begun and is settled at the next start. */
void print_engine_stop(PrintEngine *pe);
void print_engine_free(PrintEngine *pe);

/* Starts a batch of at most MAX (0 = all) print_ready records on PRINTER
 * (NULL or "" = any).  Returns the batch id (and *N_CARDS) or 0 with ERROR. */
gint64 print_batch_start(PrintEngine *pe, const AuditActor *who, int max, const char *printer,
			 guint *n_cards, GError **error);
/* Cancels batch ID: cards not begun are dropped and their records return to
 * print_ready; a card in a printer finishes. */
int print_batch_cancel(PrintEngine *pe, const AuditActor *who, gint64 id, GError **error);
/* A printed or spoiled record back to print_ready for another card (supervisor). */
int print_reprint(PrintEngine *pe, const AuditActor *who, gint64 record, const char *reason,
		  GError **error);

/* Whether PRINTER has a card in it, or its lane is settling or checking one. */
gboolean print_lane_busy(PrintEngine *pe, const char *printer);

/* What one printer is doing, for a view; free with the array. */
typedef struct {
	char *name, *encoder;
	const char *device_state; /* static; NULL when the device is unknown */
	const char *activity;     /* static: "printing", "idle", "stopped" */
	char *reason;             /* why no card starts now, or NULL */
	char *last_error;         /* the last card error with its action (retry, hold, stop) */
	StorePrintCard *card;     /* the card in the printer, or NULL */
	gint64 printed, spoiled;  /* since start */
	double build_ms;          /* mean time to build a card ahead of the printer; -1: none yet */
	double encode_ms;         /* mean time to encode one at the station; -1: none yet */
} PrintLaneView;

/* Every printer's lane, in configuration order (PrintLaneView*). */
GPtrArray *print_lanes(PrintEngine *pe);
/* Batches, newest first: the running ones and the last LIMIT (StorePrintBatch*). */
GPtrArray *print_batches(PrintEngine *pe, int limit, GError **error);
/* Batch ID and its cards (StorePrintCard*, by seq); -1 with ERROR
 * (PRINT_ERROR_NOT_FOUND when there is no such batch). */
int print_batch_get(PrintEngine *pe, gint64 id, StorePrintBatch **batch, GPtrArray **cards,
		    GError **error);

/* Whether RECORD's birth date ("YYYY-MM-DD") makes a first-time voter at an
 * election on ELECTION ("YYYY-MM-DD"; "" = none): 17 or older on that day,
 * and not yet 17 at the one five years before. */
gboolean print_first_time_voter(const char *birth_date, const char *election);

#endif
