/* SPDX-License-Identifier: MIT */
/* Batch printing: lanes, the card journal and recovery (see printing.h). */
#include "core/printing.h"

#include <stdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "core/validate.h"

G_DEFINE_QUARK(ektp-print-error-quark, print_error)

G_STATIC_ASSERT(CARD_WIDTH == HAL_CARD_W && CARD_HEIGHT == HAL_CARD_H);

/* How often idle lanes look for work and stopped printers for recovery. */
#define PUMP_INTERVAL_MS 250
/* How often a printer in fault with a card inside is asked to reject it. */
#define REJECT_RETRY_US (2 * G_USEC_PER_SEC)

static const AuditActor daemon_actor = { "ektpd", "" };


typedef struct Lane Lane;

/* One card on its way through a lane: claimed, built, then printed. */
typedef struct {
	Lane *lane;
	StorePrintCard *row;
	CardsSource *src; /* until built */
	CardsPrintable card;
	gboolean built;
	gint64 build_us;     /* how long building took */
	GError *build_error; /* the record cannot make a card */
	GError *pick_error;  /* the printer did not pick: checking whether a card went in */
	HalChipFile files[CHIPDATA_N_FILES];
	HalChip chip;
} Job;

struct Lane {
	PrintEngine *pe;
	char *printer, *encoder;
	gboolean busy;       /* a step of the current card, a reject or a recovery runs */
	gboolean recover;    /* cards this printer began are not settled yet */
	gboolean dirty;      /* after an error: reject a card left inside before the next */
	char *reconcile;     /* compare the stock ledger with the printer when idle: why, or NULL */
	const char *advisory; /* the stock's reason shown in the printer's state, or NULL */
	char *waiting;       /* why no card starts now ("printer1: media-jam …"), or NULL */
	char *last_error;    /* the last card error with its action, or NULL */
	Job *cur;            /* the card in the printer */
	Job *next;           /* the card being built or built, waiting for the printer */
	Job *finished;       /* a card out of the printer whose "done" is not written yet */
	gint64 done;         /* cards finished since start */
	gint64 spoiled;      /* cards spoiled since start */
	gint64 reject_tried; /* monotonic µs of the last reject of a card left inside */
	/* Where a card's time goes, summed since start: building it (a worker
	 * thread, ahead of the printer) and encoding it at the station. */
	gint64 builds, build_us, encodes, encode_us, encode_started;
};

struct PrintEngine {
	CardsDeps deps;
	Stock *stock;
	GPtrArray *lanes; /* Lane* */
	guint pump_src;
	gboolean stopping;
	int building; /* worker threads still building a card */
	gboolean settled; /* a batch finished: every printer reconciles its stock when idle */
};

static void pump(Lane *lane);

static gint64
now_s(void)
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

static Store *
store_of(const PrintEngine *pe)
{
	return pe->deps.enroll.store;
}

static HalManager *
hal_of(const PrintEngine *pe)
{
	return pe->deps.enroll.hal;
}

static void
job_free(Job *job)
{
	if (!job)
		return;
	store_print_card_free(job->row);
	cards_source_free(job->src);
	cards_printable_clear(&job->card);
	g_clear_error(&job->build_error);
	g_clear_error(&job->pick_error);
	g_free(job);
}

static void
set_text(char **slot, char *text)
{
	g_free(*slot);
	*slot = text;
}

/* Runs one store transaction: FN's changes and nothing else, or none. */
typedef int (*TxnFunc)(Store *st, void *data, GError **error);

static int
in_txn(Store *st, TxnFunc fn, void *data, const char *what)
{
	GError *e = NULL;
	if (store_begin(st, &e) < 0 || fn(st, data, &e) < 0 || store_commit(st, &e) < 0) {
		store_rollback(st);
		g_warning("printing: %s: %s", what, e ? e->message : "failed");
		g_clear_error(&e);
		return -1;
	}
	return 0;
}

/* ---- the journal ---- */

typedef struct PhaseChange {
	Job *job;
	const char *phase;
	const char *cause;
	gboolean begin;
	const char *record_state; /* NULL: leave the record */
	const char *record_reason;
	gboolean retry;           /* give the record another card in its batch */
	gboolean unprinted;       /* the printer's ribbon count says the card was not printed */
	const char *audit;        /* an audit action, or NULL */
	struct PhaseChange *also; /* written first, in the same transaction */
} PhaseChange;

static int
phase_txn(Store *st, void *data, GError **error)
{
	PhaseChange *c = data;
	if (c->also && phase_txn(st, c->also, error) < 0)
		return -1;
	const StorePrintCard *row = c->job->row;
	PrintEngine *pe = c->job->lane->pe;
	gint64 now = now_s();
	if (store_print_card_phase(st, row->id, c->phase, c->cause, c->begin, now, error) < 0)
		return -1;
	/* What the step takes from the stock, in the same transaction. */
	if (stock_card_phase(pe->stock, row->printer, row->id, c->phase, error) < 0)
		return -1;
	if (c->unprinted && stock_card_unprinted(pe->stock, row->printer, row->id, error) < 0)
		return -1;
	if (c->retry && store_print_card_add(st, row->batch, row->record, now, error) < 0)
		return -1;
	if (c->record_state && store_record_set_state(st, row->record, c->record_state,
						      c->record_reason, NULL, now, error) < 0)
		return -1;
	if (c->audit) {
		g_autofree char *target = g_strdup_printf("%" G_GINT64_FORMAT, row->record);
		g_autofree char *card = g_strdup_printf("%" G_GINT64_FORMAT, row->id);
		g_autofree char *detail = audit_detail("card", card, "printer", row->printer,
						       "cause", c->cause ? c->cause : "", NULL);
		if (audit_append(st, &daemon_actor, c->audit, target, "ok", detail, now, error) < 0)
			return -1;
	}
	int settled = store_print_batches_settle(st, now, error);
	if (settled > 0)
		pe->settled = TRUE;
	return settled < 0 ? -1 : 0;
}

/* Journals C; on failure the lane stops (nothing is started unjournaled). */
static int
journal(Lane *lane, PhaseChange *c)
{
	for (PhaseChange *x = c; x; x = x->also) {
		g_free(x->job->row->phase);
		x->job->row->phase = g_strdup(x->phase);
	}
	if (in_txn(store_of(lane->pe), phase_txn, c, "journal") == 0)
		return 0;
	set_text(&lane->waiting, g_strdup_printf("%s: the card journal cannot be written; no "
						 "card starts until it can",
						 lane->printer));
	return -1;
}

/* The card of JOB is spoiled by CAUSE: logged, its record given another card
 * in the batch while retries last, else left spoiled for a supervisor. */
static void
journal_spoiled(Lane *lane, Job *job, const char *cause, gboolean after_crash,
		gboolean unprinted)
{
	PrintEngine *pe = lane->pe;
	const StorePrintCard *row = job->row;
	GError *e = NULL;
	gint64 spoils = store_print_spoils(store_of(pe), row->batch, row->record, &e);
	g_clear_error(&e);
	g_autoptr(StorePrintBatch) batch = NULL;
	store_print_batch_get(store_of(pe), row->batch, &batch, NULL);
	gboolean running = batch && strcmp(batch->state, "running") == 0;
	PhaseChange c = { .job = job,
			  .phase = "spoiled",
			  .cause = cause,
			  .audit = "print.spoiled",
			  .unprinted = unprinted };
	if (after_crash) {
		/* Printing stopped under the card: the record goes back to the queue. */
		c.record_state = "print_ready";
		c.record_reason = "its card was spoiled; printing again";
	} else if (running && spoils >= 0 && spoils < pe->deps.enroll.cfg->print_retries) {
		c.retry = TRUE;
	} else {
		c.record_state = "spoiled";
		c.record_reason = cause;
	}
	lane->spoiled++;
	journal(lane, &c);
}

/* ---- recovery ---- */

typedef struct {
	Lane *lane;
	GPtrArray *cards; /* StorePrintCard*, this printer's begun cards */
	int inside;       /* the printer's word: a card is in it */
	gint64 ribbon;    /* and its ribbon prints left (-1 unknown) */
} Recovery;

static void
recovered(Lane *lane)
{
	lane->busy = FALSE;
	pump(lane);
}

static void
recovery_rejected(GError *error, void *data)
{
	Lane *lane = data;
	if (error) {
		set_text(&lane->waiting, g_strdup_printf("%s: the card left inside cannot go to "
							 "the reject box: %s",
							 lane->printer, error->message));
		lane->dirty = TRUE;
	}
	recovered(lane);
}

/* Settles each begun card from what the printer says, then rejects a card
 * left inside. */
static void
recovery_settle(Recovery *r)
{
	Lane *lane = r->lane;
	for (guint i = 0; i < r->cards->len; i++) {
		/* A view of the row for the journal; the array keeps it. */
		Job job = { .lane = lane, .row = r->cards->pdata[i] };
		const char *phase = job.row->phase;
		if (r->inside == 0 && strcmp(phase, "ejected") == 0) {
			/* It left through the eject: finished. */
			PhaseChange c = { .job = &job,
					  .phase = "done",
					  .record_state = "printed",
					  .record_reason = "" };
			journal(lane, &c);
			lane->done++;
		} else if (r->inside == 0 && strcmp(phase, "picked") == 0) {
			/* Never taken from the hopper. */
			PhaseChange c = { .job = &job,
					  .phase = "void",
					  .cause = "interrupted before the printer took a card",
					  .record_state = "print_ready",
					  .record_reason = "" };
			journal(lane, &c);
		} else {
			g_autofree char *cause = g_strdup_printf(
				"interrupted in phase %s (%s)", phase,
				r->inside ? "card left in the printer, sent to the reject box"
					  : "card no longer in the printer");
			/* Begun printing: whether the ribbon moved, the printer's count says. */
			gboolean unprinted =
				strcmp(phase, "printed") == 0 && r->ribbon >= 0 &&
				r->ribbon == stock_ribbon_left(lane->pe->stock, lane->printer) + 1;
			journal_spoiled(lane, &job, cause, TRUE, unprinted);
		}
	}
	g_ptr_array_unref(r->cards);
	gboolean inside = r->inside == 1;
	g_free(r);
	lane->recover = FALSE;
	if (inside)
		hal_manager_card_move(hal_of(lane->pe), lane->printer, HAL_CARD_REJECT,
				      recovery_rejected, lane);
	else
		recovered(lane);
}

static void
recovery_status(const HalInfo *info, GError *error, void *data)
{
	Recovery *r = data;
	Lane *lane = r->lane;
	if (lane->pe->stopping) {
		g_ptr_array_unref(r->cards);
		g_free(r);
		return;
	}
	if (error || !info || info->state == HAL_STATE_ABSENT || info->card_inside < 0) {
		/* Unknown until the printer answers: keep the cards as they are. */
		set_text(&lane->waiting,
			 g_strdup_printf(
				 "%s: %u card%s begun before must be settled with the printer, "
				 "which does not answer%s%s",
				 lane->printer, r->cards->len, r->cards->len == 1 ? "" : "s",
				 error ? ": " : "", error ? error->message : ""));
		g_ptr_array_unref(r->cards);
		g_free(r);
		recovered(lane);
		return;
	}
	r->inside = info->card_inside;
	r->ribbon = info->supply_remaining;
	recovery_settle(r);
}

/* Starts settling the cards LANE's printer began, if any (lane busy meanwhile). */
static gboolean
recovery_start(Lane *lane)
{
	GError *e = NULL;
	g_autoptr(GPtrArray) open = store_print_cards_open(store_of(lane->pe), &e);
	if (!open) {
		g_warning("printing: %s: begun cards not read: %s", lane->printer, e->message);
		g_error_free(e);
		return FALSE;
	}
	Recovery *r = g_new0(Recovery, 1);
	r->lane = lane;
	r->cards = g_ptr_array_new_with_free_func((GDestroyNotify)store_print_card_free);
	for (guint i = 0; i < open->len; i++) {
		StorePrintCard *c = open->pdata[i];
		if (strcmp(c->printer, lane->printer) == 0) {
			g_ptr_array_add(r->cards, c);
			open->pdata[i] = NULL;
		}
	}
	g_ptr_array_set_free_func(open, (GDestroyNotify)store_print_card_free);
	if (r->cards->len == 0 && !lane->dirty) {
		g_ptr_array_unref(r->cards);
		g_free(r);
		lane->recover = FALSE;
		return FALSE;
	}
	lane->dirty = FALSE;
	lane->busy = TRUE;
	hal_manager_refresh(hal_of(lane->pe), lane->printer, recovery_status, r);
	return TRUE;
}

/* ---- one card's steps ---- */

static int
requeue_txn(Store *st, void *data, GError **error)
{
	Job *job = data;
	/* A blank taken for a pick that never happened goes back with it. */
	if (stock_card_phase(job->lane->pe->stock, job->lane->printer, job->row->id, "queued",
			     error) < 0)
		return -1;
	return store_print_card_requeue(st, job->row->id, now_s(), error);
}

/* JOB's card was not begun after all: back to the queue, for any printer. */
static void
requeue(Lane *lane, Job *job)
{
	in_txn(store_of(lane->pe), requeue_txn, job, "card back to the queue");
}

/* Ends the current card; the lane looks for the next one. */
static void
card_finished(Lane *lane)
{
	job_free(lane->cur);
	lane->cur = NULL;
	lane->busy = FALSE;
	pump(lane);
}

static void
after_reject(GError *error, void *data)
{
	Lane *lane = data;
	if (error) {
		lane->dirty = TRUE;
		set_text(&lane->waiting, g_strdup_printf("%s: the spoiled card cannot go to the "
							 "reject box: %s",
							 lane->printer, error->message));
	}
	card_finished(lane);
}

/* The CUPS action for a failed step: retry (another card), stop (the printer
 * waits until its status is clear) or hold is decided by the caller. */
static void
card_failed(Lane *lane, const char *step, GError *error, gboolean stop)
{
	Job *job = lane->cur;
	g_autofree char *cause = g_strdup_printf("%s: %s", step, error->message);
	set_text(&lane->last_error, g_strdup_printf("%s (%s) card %" G_GINT64_FORMAT
						    " of record %" G_GINT64_FORMAT ": %s",
						    stop ? "stop" : "retry", lane->printer,
						    job->row->id, job->row->record, cause));
	g_message("printing: %s", lane->last_error);
	if (g_error_matches(error, HAL_ERROR, HAL_ERROR_TIMEOUT) ||
	    g_error_matches(error, HAL_ERROR, HAL_ERROR_ABSENT) ||
	    g_error_matches(error, HAL_ERROR, HAL_ERROR_CANCELLED)) {
		/* The outcome is unknown: the card stays begun and is settled with
		 * the printer once it answers again. */
		job_free(lane->cur);
		lane->cur = NULL;
		lane->recover = TRUE;
		lane->busy = FALSE;
		set_text(&lane->waiting, g_strdup_printf("%s: %s", lane->printer, error->message));
		return;
	}
	journal_spoiled(lane, job, cause, FALSE, FALSE);
	if (stop)
		set_text(&lane->waiting, g_strdup_printf("%s: %s", lane->printer, error->message));
	hal_manager_card_move(hal_of(lane->pe), lane->printer, HAL_CARD_REJECT, after_reject, lane);
}

static void
on_ejected(GError *error, void *data)
{
	Lane *lane = data;
	if (lane->pe->stopping)
		return;
	if (error) {
		card_failed(lane, "eject", error, TRUE);
		return;
	}
	/* The card is out: its "done" is written with the next card's "picked",
	 * one transaction (one disk flush) between two cards. */
	lane->finished = lane->cur;
	lane->cur = NULL;
	lane->busy = FALSE;
	lane->done++;
	pump(lane);
	if (lane->finished) {
		/* No card started: written alone. */
		PhaseChange c = { .job = lane->finished,
				  .phase = "done",
				  .record_state = "printed",
				  .record_reason = "" };
		journal(lane, &c);
		job_free(lane->finished);
		lane->finished = NULL;
	}
}

static void
on_printed(GError *error, void *data)
{
	Lane *lane = data;
	if (lane->pe->stopping)
		return;
	if (error) {
		card_failed(lane, "print", error, TRUE);
		return;
	}
	PhaseChange c = { .job = lane->cur, .phase = "ejected" };
	if (journal(lane, &c) < 0) {
		lane->dirty = TRUE;
		card_finished(lane);
		return;
	}
	hal_manager_card_move(hal_of(lane->pe), lane->printer, HAL_CARD_EJECT, on_ejected, lane);
}

/* "[print] overlay_clear": x,y,width,height on the card into SIDE's clear
 * rectangle (0,0,0,0: none); FALSE when TEXT is not such a rectangle. */
static gboolean
overlay_clear(const char *text, HalCardSide *side)
{
	int x, y, w, h;
	char tail;
	if (sscanf(text, "%d,%d,%d,%d%c", &x, &y, &w, &h, &tail) != 4 || x < 0 || y < 0 || w < 0 ||
	    h < 0 || x + w > HAL_CARD_W || y + h > HAL_CARD_H)
		return FALSE;
	side->clear_x = x;
	side->clear_y = y;
	side->clear_w = w;
	side->clear_h = h;
	return TRUE;
}

static void
on_encoded(GError *error, void *data)
{
	Lane *lane = data;
	if (lane->pe->stopping)
		return;
	lane->encodes++;
	lane->encode_us += g_get_monotonic_time() - lane->encode_started;
	if (error) {
		/* A chip that does not take its data: spoil the card, not the printer. */
		card_failed(lane, "encode", error, FALSE);
		return;
	}
	PhaseChange c = { .job = lane->cur, .phase = "printed" };
	if (journal(lane, &c) < 0) {
		lane->dirty = TRUE;
		card_finished(lane);
		return;
	}
	HalCardSide side = { .rgb = lane->cur->card.face.pixels, .black = lane->cur->card.black };
	/* Checked at start; a bad value from a reload leaves the whole card varnished. */
	overlay_clear(lane->pe->deps.enroll.cfg->print_overlay_clear, &side);
	hal_manager_card_print(hal_of(lane->pe), lane->printer, &side, on_printed, lane);
}

/* After a failed pick: was a card taken?  The printer's status says. */
static void
feed_checked(const HalInfo *info, GError *error, void *data)
{
	Lane *lane = data;
	if (lane->pe->stopping)
		return;
	(void)error;
	Job *job = lane->cur;
	GError *feed = g_steal_pointer(&job->pick_error);
	if (info && info->card_inside == 1) {
		card_failed(lane, "pick", feed, TRUE);
		g_error_free(feed);
		return;
	}
	/* No card was taken: the card goes back to the queue for any printer. */
	requeue(lane, job);
	set_text(&lane->waiting, g_strdup_printf("%s: %s", lane->printer, feed->message));
	set_text(&lane->last_error,
		 g_strdup_printf("stop (%s) pick: %s", lane->printer, feed->message));
	g_error_free(feed);
	card_finished(lane);
}

static void
on_fed(GError *error, void *data)
{
	Lane *lane = data;
	if (lane->pe->stopping)
		return;
	if (error) {
		if (g_error_matches(error, HAL_ERROR, HAL_ERROR_DEVICE)) {
			lane->cur->pick_error = g_error_copy(error);
			hal_manager_refresh(hal_of(lane->pe), lane->printer, feed_checked, lane);
		} else {
			card_failed(lane, "pick", error, TRUE);
		}
		return;
	}
	PhaseChange c = { .job = lane->cur, .phase = "encoded" };
	if (journal(lane, &c) < 0) {
		lane->dirty = TRUE;
		card_finished(lane);
		return;
	}
	lane->encode_started = g_get_monotonic_time();
	hal_manager_encode(hal_of(lane->pe), lane->encoder, &lane->cur->chip, on_encoded, lane);
}

/* Starts the built card CUR: picked is journaled, then the printer picks. */
static void
card_start(Lane *lane)
{
	Job *job = lane->cur;
	PrintEngine *pe = lane->pe;
	StorePrintCard *now = NULL;
	GError *e = NULL;
	/* Its batch may have been cancelled while it was built. */
	if (store_print_card_get(store_of(pe), job->row->id, &now, &e) <= 0 ||
	    strcmp(now->phase, "queued") != 0) {
		g_clear_error(&e);
		store_print_card_free(now);
		job_free(lane->cur);
		lane->cur = NULL;
		return;
	}
	store_print_card_free(now);
	if (job->build_error) {
		/* Hold: the record cannot make a card; no blank is used. */
		PhaseChange c = { .job = job,
				  .phase = "void",
				  .cause = job->build_error->message,
				  .record_state = "on_hold",
				  .record_reason = job->build_error->message,
				  .audit = "print.hold" };
		set_text(&lane->last_error,
			 g_strdup_printf("hold record %" G_GINT64_FORMAT ": %s", job->row->record,
					 job->build_error->message));
		journal(lane, &c);
		job_free(lane->cur);
		lane->cur = NULL;
		return;
	}
	PhaseChange c = { .job = job, .phase = "picked", .begin = TRUE };
	PhaseChange finished = { .job = lane->finished,
				 .phase = "done",
				 .record_state = "printed",
				 .record_reason = "" };
	if (lane->finished)
		c.also = &finished;
	if (journal(lane, &c) < 0) {
		job_free(lane->cur);
		lane->cur = NULL;
		return;
	}
	job_free(lane->finished);
	lane->finished = NULL;
	lane->busy = TRUE;
	hal_manager_card_move(hal_of(pe), lane->printer, HAL_CARD_FEED, on_fed, lane);
}

/* ---- building cards ahead ---- */

static void
build_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
	(void)source;
	(void)cancel;
	Job *job = data;
	PrintEngine *pe = job->lane->pe;
	gint64 t0 = g_get_monotonic_time();
	if (cards_build(&pe->deps, job->src, &job->card, &job->build_error) == 0)
		cards_hal_chip(&job->card.chip, job->files, &job->chip);
	job->build_us = g_get_monotonic_time() - t0;
	g_task_return_boolean(task, TRUE);
}

static void
build_done(GObject *source, GAsyncResult *res, gpointer data)
{
	(void)source;
	(void)res;
	Job *job = data;
	PrintEngine *pe = job->lane->pe;
	pe->building--;
	job->built = TRUE;
	job->lane->builds++;
	job->lane->build_us += job->build_us;
	if (!pe->stopping)
		pump(job->lane);
}

/* Claims the next queued card for LANE and builds it in a worker thread. */
static void
claim_next(Lane *lane)
{
	PrintEngine *pe = lane->pe;
	StorePrintCard *row = NULL;
	GError *e = NULL;
	if (store_print_claim(store_of(pe), lane->printer, &row, &e) <= 0) {
		if (e) {
			g_warning("printing: %s: %s", lane->printer, e->message);
			g_error_free(e);
		}
		return;
	}
	Job *job = g_new0(Job, 1);
	job->lane = lane;
	job->row = row;
	job->src = cards_source_read(&pe->deps, row->record, &job->build_error);
	lane->next = job;
	if (!job->src) {
		job->built = TRUE;
		return;
	}
	pe->building++;
	GTask *task = g_task_new(NULL, NULL, build_done, job);
	g_task_set_task_data(task, job, NULL);
	g_task_run_in_thread(task, build_thread);
	g_object_unref(task);
}

/* Why LANE's printer or encoder cannot take a card now, or NULL. */
static char *
blocked(Lane *lane)
{
	HalManager *hal = hal_of(lane->pe);
	if (!lane->encoder)
		return g_strdup_printf("%s has no encoder: set \"encoder\" in [device %s] to the "
				       "encoder at its contactless station",
				       lane->printer, lane->printer);
	const char *names[2] = { lane->printer, lane->encoder };
	for (int i = 0; i < 2; i++) {
		HalInfo *info = hal_manager_get(hal, names[i]);
		char *why = NULL;
		/* An encoder's fault is a chip's (that card is spoiled and retried);
		 * only a missing encoder stops the printer. */
		gboolean down = !info    ? FALSE
				: i == 0 ? info->state != HAL_STATE_READY &&
						   info->state != HAL_STATE_DEGRADED &&
						   info->state != HAL_STATE_BUSY
					 : info->state == HAL_STATE_ABSENT;
		if (down) {
			g_autofree char *reasons =
				info->reasons ? g_strjoinv(", ", info->reasons) : g_strdup("");
			why = g_strdup_printf("%s is %s%s%s", names[i], hal_state_name(info->state),
					      *reasons ? ": " : "", reasons);
		}
		hal_info_free(info);
		if (why)
			return why;
	}
	return NULL;
}

static void
reconciled(GError *error, void *data)
{
	(void)error; /* logged and kept as alerts by the stock */
	Lane *lane = data;
	lane->busy = FALSE;
	if (!lane->pe->stopping)
		pump(lane);
}

/* Moves LANE on as far as it can go now. */
static void
pump(Lane *lane)
{
	PrintEngine *pe = lane->pe;
	if (pe->stopping || lane->busy)
		return;
	char *why = blocked(lane);
	if (!why && !lane->recover && !lane->dirty) {
		if (pe->settled) {
			pe->settled = FALSE;
			for (guint i = 0; i < pe->lanes->len; i++) {
				Lane *l = pe->lanes->pdata[i];
				if (!l->reconcile)
					l->reconcile = g_strdup("batch finished");
			}
		}
		/* The ledger and the printer's counters agree only between cards. */
		if (lane->reconcile && !lane->cur) {
			g_autofree char *source = g_steal_pointer(&lane->reconcile);
			if (lane->next && lane->next->built) {
				requeue(lane, lane->next);
				job_free(lane->next);
				lane->next = NULL;
			}
			if (!lane->next) {
				lane->busy = TRUE;
				stock_reconcile(pe->stock, lane->printer, source, reconciled, lane);
				return;
			}
			lane->reconcile = g_steal_pointer(&source);
		}
		const char *keyword;
		why = stock_blocked_keyword(pe->stock, lane->printer, &keyword);
		/* The printer's own state shows why the stock holds it back. */
		if (g_strcmp0(keyword, lane->advisory) != 0) {
			lane->advisory = keyword;
			hal_manager_set_advisory(hal_of(pe), lane->printer, keyword, why);
		}
	}
	if (why) {
		set_text(&lane->waiting, why);
		/* A card left inside keeps a printer in fault (a jam, after a crash):
		 * try the reject box now and then; it works once the jam is cleared. */
		HalInfo *info = hal_manager_get(hal_of(pe), lane->printer);
		gboolean inside = info && info->card_inside == 1 && info->state != HAL_STATE_ABSENT;
		hal_info_free(info);
		gint64 now = g_get_monotonic_time();
		if (inside && now - lane->reject_tried > REJECT_RETRY_US) {
			lane->reject_tried = now;
			lane->dirty = TRUE;
			if (recovery_start(lane))
				return;
		}
		/* A card built for this printer goes back for the others. */
		if (lane->next && lane->next->built) {
			requeue(lane, lane->next);
			job_free(lane->next);
			lane->next = NULL;
		}
		return;
	}
	if (lane->recover || lane->dirty) {
		set_text(&lane->waiting, NULL);
		if (!recovery_start(lane))
			pump(lane); /* nothing to settle: look again, the stock included */
		return;
	}
	set_text(&lane->waiting, NULL);
	while (!lane->cur && !lane->busy) {
		if (!lane->next)
			claim_next(lane);
		if (!lane->next || !lane->next->built)
			return;
		lane->cur = lane->next;
		lane->next = NULL;
		card_start(lane);
	}
	/* While the printer works on this card, build the next. */
	if (!lane->next)
		claim_next(lane);
}

static gboolean
on_pump(gpointer data)
{
	PrintEngine *pe = data;
	for (guint i = 0; i < pe->lanes->len; i++)
		pump(pe->lanes->pdata[i]);
	return G_SOURCE_CONTINUE;
}

/* ---- the engine ---- */

static void
lane_free(Lane *lane)
{
	job_free(lane->cur);
	job_free(lane->next);
	job_free(lane->finished);
	g_free(lane->printer);
	g_free(lane->encoder);
	g_free(lane->reconcile);
	g_free(lane->waiting);
	g_free(lane->last_error);
	g_free(lane);
}

static int
check_settings(const EktpConfig *cfg, GError **error)
{
	const char *date = cfg->print_election_date;
	if (*date && validate_age_on(date, date) != 0) {
		g_set_error(error, PRINT_ERROR, PRINT_ERROR_CONFIG,
			    "[print] election_date: '%s' is not a date YYYY-MM-DD", date);
		return -1;
	}
	HalCardSide side = { 0 };
	if (!overlay_clear(cfg->print_overlay_clear, &side)) {
		g_set_error(error, PRINT_ERROR, PRINT_ERROR_CONFIG,
			    "[print] overlay_clear: '%s' is not x,y,width,height within the %dx%d "
			    "card",
			    cfg->print_overlay_clear, HAL_CARD_W, HAL_CARD_H);
		return -1;
	}
	return 0;
}

/* The value of KEY in [device NAME], or NULL. */
static const char *
device_option(const EktpConfig *cfg, const char *name, const char *key)
{
	for (guint i = 0; cfg->devices && i < cfg->devices->len; i++) {
		const CfgDevice *dev = cfg->devices->pdata[i];
		if (strcmp(dev->name, name) == 0) {
			const CfgOption *o = cfg_device_option(dev, key);
			return o ? o->value : NULL;
		}
	}
	return NULL;
}

PrintEngine *
print_engine_new(const CardsDeps *deps, Stock *stock, GError **error)
{
	const EktpConfig *cfg = deps->enroll.cfg;
	if (check_settings(cfg, error) < 0)
		return NULL;
	PrintEngine *pe = g_new0(PrintEngine, 1);
	pe->deps = *deps;
	pe->stock = stock;
	pe->lanes = g_ptr_array_new_with_free_func((GDestroyNotify)lane_free);
	g_autoptr(GPtrArray) devices = hal_manager_list(hal_of(pe));
	for (guint i = 0; i < devices->len; i++) {
		const HalInfo *info = devices->pdata[i];
		if (info->klass != HAL_CLASS_PRINTER)
			continue;
		const char *encoder = device_option(cfg, info->name, "encoder");
		if (encoder && !*encoder)
			encoder = NULL;
		HalInfo *enc = encoder ? hal_manager_get(hal_of(pe), encoder) : NULL;
		gboolean ok = !encoder || (enc && enc->klass == HAL_CLASS_ENCODER);
		hal_info_free(enc);
		if (!ok) {
			g_set_error(error, PRINT_ERROR, PRINT_ERROR_CONFIG,
				    "[device %s] encoder: '%s' is not an encoder device; name the "
				    "encoder at this printer's contactless station",
				    info->name, encoder);
			print_engine_free(pe);
			return NULL;
		}
		Lane *lane = g_new0(Lane, 1);
		lane->pe = pe;
		lane->printer = g_strdup(info->name);
		lane->encoder = g_strdup(encoder);
		lane->recover = TRUE;
		lane->reconcile = g_strdup("start");
		g_ptr_array_add(pe->lanes, lane);
	}
	GError *e = NULL;
	if (store_print_unclaim_all(store_of(pe), &e) < 0) {
		g_propagate_error(error, e);
		print_engine_free(pe);
		return NULL;
	}
	pe->pump_src = g_timeout_add(PUMP_INTERVAL_MS, on_pump, pe);
	return pe;
}

void
print_engine_stop(PrintEngine *pe)
{
	if (!pe)
		return;
	pe->stopping = TRUE;
	if (pe->pump_src)
		g_source_remove(pe->pump_src);
	pe->pump_src = 0;
	/* Worker threads use the layout and the signer: let them end first. */
	while (pe->building > 0)
		g_main_context_iteration(NULL, TRUE);
}

void
print_engine_free(PrintEngine *pe)
{
	if (!pe)
		return;
	print_engine_stop(pe);
	g_ptr_array_unref(pe->lanes);
	g_free(pe);
}

/* ---- batches ---- */

gboolean
print_first_time_voter(const char *birth_date, const char *election)
{
	int age = validate_age_on(birth_date, election);
	/* 17 by the election, under 17 at the previous one (five years before). */
	return age >= VALIDATE_LEGAL_AGE && age - 5 < VALIDATE_LEGAL_AGE;
}

typedef struct {
	gint64 id;
	gboolean voter;
} Pick;

static gint
pick_order(gconstpointer a, gconstpointer b)
{
	const Pick *x = a, *y = b;
	if (x->voter != y->voter)
		return x->voter ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static Lane *
find_lane(PrintEngine *pe, const char *printer)
{
	for (guint i = 0; i < pe->lanes->len; i++) {
		Lane *lane = pe->lanes->pdata[i];
		if (strcmp(lane->printer, printer) == 0)
			return lane;
	}
	return NULL;
}

/* The birth date in a record's demographics. */
static char *
birth_date_of(const char *demographics)
{
	g_autoptr(JsonNode) node = json_from_string(demographics, NULL);
	if (!node || !JSON_NODE_HOLDS_OBJECT(node))
		return NULL;
	return g_strdup(json_object_get_string_member_with_default(json_node_get_object(node),
								   "birth_date", ""));
}

typedef struct {
	const char *printer, *by;
	GArray *ids;
	guint n_cards;
	gint64 batch;
	const AuditActor *who;
	guint voters;
} BatchTxn;

static int
batch_txn(Store *st, void *data, GError **error)
{
	BatchTxn *t = data;
	gint64 now = now_s();
	t->batch = store_print_batch_add(st, t->printer, t->by, (const gint64 *)t->ids->data,
					 t->ids->len, now, &t->n_cards, error);
	if (t->batch < 0)
		return -1;
	g_autofree char *target = g_strdup_printf("%" G_GINT64_FORMAT, t->batch);
	g_autofree char *cards = g_strdup_printf("%u", t->n_cards);
	g_autofree char *voters = g_strdup_printf("%u", t->voters);
	g_autofree char *detail = audit_detail("cards", cards, "first_time_voters", voters,
					       "printer", *t->printer ? t->printer : "any", NULL);
	return audit_append(st, t->who, "print.batch", target, "ok", detail, now, error);
}

gint64
print_batch_start(PrintEngine *pe, const AuditActor *who, int max, const char *printer,
		  guint *n_cards, GError **error)
{
	*n_cards = 0;
	if (!printer)
		printer = "";
	if (pe->lanes->len == 0) {
		g_set_error(error, PRINT_ERROR, PRINT_ERROR_NO_PRINTER,
			    "no printer is configured: add a [device NAME] with a printer driver");
		return 0;
	}
	Lane *only = *printer ? find_lane(pe, printer) : NULL;
	if (*printer && !only) {
		g_set_error(error, PRINT_ERROR, PRINT_ERROR_NOT_FOUND,
			    "printer: '%s' is not a configured printer", printer);
		return 0;
	}
	/* A printer without an encoder can never take a card (every card has
	 * a chip): refuse now rather than queue cards that would wait forever. */
	gboolean able = FALSE;
	g_autoptr(GString) names = g_string_new(NULL);
	for (guint i = 0; i < pe->lanes->len && !able; i++) {
		Lane *lane = pe->lanes->pdata[i];
		able = (!only || lane == only) && lane->encoder;
		g_string_append_printf(names, "%s%s", i ? ", " : "", lane->printer);
	}
	if (!able && (only || pe->lanes->len == 1)) {
		/* blocked() says which printer and what to set. */
		g_autofree char *why = blocked(only ? only : pe->lanes->pdata[0]);
		g_set_error(error, PRINT_ERROR, PRINT_ERROR_NO_PRINTER, "%s", why);
		return 0;
	}
	if (!able) {
		g_set_error(error, PRINT_ERROR, PRINT_ERROR_NO_PRINTER,
			    "no printer has an encoder (%s): set \"encoder\" in each printer's "
			    "[device NAME] to the encoder at its contactless station",
			    names->str);
		return 0;
	}
	Store *st = store_of(pe);
	StoreRecordFilter f = { .state = "print_ready", .limit = -1 };
	g_autoptr(GPtrArray) recs = store_record_list(st, &f, error);
	if (!recs)
		return 0;
	if (recs->len == 0) {
		g_set_error(error, PRINT_ERROR, PRINT_ERROR_NOTHING,
			    "nothing to print: no record is print_ready");
		return 0;
	}
	const char *election = pe->deps.enroll.cfg->print_election_date;
	g_autoptr(GArray) picks = g_array_sized_new(FALSE, FALSE, sizeof(Pick), recs->len);
	guint voters = 0;
	for (guint i = 0; i < recs->len; i++) {
		const StoreRecord *r = recs->pdata[i];
		g_autofree char *birth = *election ? birth_date_of(r->demographics) : NULL;
		Pick p = { r->id, birth && print_first_time_voter(birth, election) };
		g_array_append_val(picks, p);
	}
	g_array_sort(picks, pick_order);
	guint n = max > 0 ? MIN((guint)max, picks->len) : picks->len;
	BatchTxn t = { printer, who->user, g_array_sized_new(FALSE, FALSE, sizeof(gint64), n), 0, 0,
		       who, 0 };
	for (guint i = 0; i < n; i++) {
		const Pick *p = &g_array_index(picks, Pick, i);
		g_array_append_val(t.ids, p->id);
		voters += p->voter;
	}
	t.voters = voters;
	int rc = 0;
	if (store_begin(st, error) < 0 || batch_txn(st, &t, error) < 0 ||
	    store_commit(st, error) < 0) {
		store_rollback(st);
		rc = -1;
	}
	g_array_unref(t.ids);
	if (rc < 0)
		return 0;
	*n_cards = t.n_cards;
	on_pump(pe);
	return t.batch;
}

typedef struct {
	gint64 id;
	const AuditActor *who;
	int cancelled;
} CancelTxn;

static int
cancel_txn(Store *st, void *data, GError **error)
{
	CancelTxn *t = data;
	gint64 now = now_s();
	t->cancelled = store_print_batch_cancel(st, t->id, now, error);
	if (t->cancelled < 0)
		return -1;
	g_autofree char *target = g_strdup_printf("%" G_GINT64_FORMAT, t->id);
	g_autofree char *n = g_strdup_printf("%d", t->cancelled);
	g_autofree char *detail = audit_detail("cards_cancelled", n, NULL);
	return audit_append(st, t->who, "print.cancel", target, "ok", detail, now, error);
}

int
print_batch_cancel(PrintEngine *pe, const AuditActor *who, gint64 id, GError **error)
{
	Store *st = store_of(pe);
	g_autoptr(StorePrintBatch) b = NULL;
	int found = store_print_batch_get(st, id, &b, error);
	if (found < 0)
		return -1;
	if (found == 0) {
		g_set_error(error, PRINT_ERROR, PRINT_ERROR_NOT_FOUND,
			    "no print batch %" G_GINT64_FORMAT, id);
		return -1;
	}
	if (strcmp(b->state, "running") != 0) {
		g_set_error(error, PRINT_ERROR, PRINT_ERROR_STATE,
			    "print batch %" G_GINT64_FORMAT " is %s: only a running batch can be "
			    "cancelled",
			    id, b->state);
		return -1;
	}
	CancelTxn t = { id, who, 0 };
	if (store_begin(st, error) < 0 || cancel_txn(st, &t, error) < 0 ||
	    store_commit(st, error) < 0) {
		store_rollback(st);
		return -1;
	}
	return t.cancelled;
}

int
print_reprint(PrintEngine *pe, const AuditActor *who, gint64 record, const char *reason,
	      GError **error)
{
	Store *st = store_of(pe);
	StoreRecord r = { 0 };
	int found = store_record_get(st, record, &r, error);
	if (found < 0)
		return -1;
	if (found == 0) {
		g_set_error(error, PRINT_ERROR, PRINT_ERROR_NOT_FOUND,
			    "no record %" G_GINT64_FORMAT, record);
		return -1;
	}
	gboolean ok = strcmp(r.state, "printed") == 0 || strcmp(r.state, "spoiled") == 0;
	if (!ok)
		g_set_error(error, PRINT_ERROR, PRINT_ERROR_STATE,
			    "record %" G_GINT64_FORMAT " is %s: only a printed or spoiled record "
			    "can be printed again",
			    record, r.state);
	g_autofree char *before = g_strdup(r.state);
	store_record_clear(&r);
	if (!ok)
		return -1;
	gint64 now = now_s();
	g_autofree char *target = g_strdup_printf("%" G_GINT64_FORMAT, record);
	g_autofree char *detail = audit_detail("reason", reason, "was", before, NULL);
	g_autofree char *why = g_strdup_printf("reprint: %s", reason);
	if (store_begin(st, error) < 0 ||
	    store_record_set_state(st, record, "print_ready", why, NULL, now, error) < 0 ||
	    audit_append(st, who, "record.reprint", target, "ok", detail, now, error) < 0 ||
	    store_commit(st, error) < 0) {
		store_rollback(st);
		return -1;
	}
	return 0;
}

/* ---- views ---- */

static void
lane_view_free(PrintLaneView *v)
{
	g_free(v->name);
	g_free(v->encoder);
	g_free(v->reason);
	g_free(v->last_error);
	store_print_card_free(v->card);
	g_free(v);
}

gboolean
print_lane_busy(PrintEngine *pe, const char *printer)
{
	Lane *lane = find_lane(pe, printer);
	return lane && (lane->cur || lane->busy || lane->recover);
}

GPtrArray *
print_lanes(PrintEngine *pe)
{
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)lane_view_free);
	for (guint i = 0; i < pe->lanes->len; i++) {
		const Lane *lane = pe->lanes->pdata[i];
		PrintLaneView *v = g_new0(PrintLaneView, 1);
		HalInfo *info = hal_manager_get(hal_of(pe), lane->printer);
		v->name = g_strdup(lane->printer);
		v->encoder = g_strdup(lane->encoder);
		v->device_state = info ? hal_state_name(info->state) : NULL;
		v->activity = lane->cur ? "printing" : lane->waiting ? "stopped" : "idle";
		v->reason = g_strdup(lane->waiting);
		v->last_error = g_strdup(lane->last_error);
		if (lane->cur) {
			const StorePrintCard *c = lane->cur->row;
			v->card = g_memdup2(c, sizeof *c);
			v->card->phase = g_strdup(c->phase);
			v->card->printer = g_strdup(c->printer);
			v->card->cause = g_strdup(c->cause);
		}
		v->printed = lane->done;
		v->spoiled = lane->spoiled;
		v->build_ms = lane->builds ? (double)lane->build_us / (double)lane->builds / 1000 : -1;
		v->encode_ms =
			lane->encodes ? (double)lane->encode_us / (double)lane->encodes / 1000 : -1;
		hal_info_free(info);
		g_ptr_array_add(out, v);
	}
	return out;
}

int
print_batch_get(PrintEngine *pe, gint64 id, StorePrintBatch **batch, GPtrArray **cards,
		GError **error)
{
	*cards = NULL;
	int found = store_print_batch_get(store_of(pe), id, batch, error);
	if (found == 0)
		g_set_error(error, PRINT_ERROR, PRINT_ERROR_NOT_FOUND, "no print batch %" G_GINT64_FORMAT,
			    id);
	if (found <= 0)
		return -1;
	*cards = store_print_cards_of(store_of(pe), id, error);
	if (!*cards) {
		g_clear_pointer(batch, store_print_batch_free);
		return -1;
	}
	return 0;
}

GPtrArray *
print_batches(PrintEngine *pe, int limit, GError **error)
{
	return store_print_batches(store_of(pe), limit, error);
}
