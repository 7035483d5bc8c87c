/* SPDX-License-Identifier: MIT */
/*
 * Enrollment: what the operator does at the counter.  A session starts from
 * validated demographics, gathers 10 fingerprints, 2 irises, a face photo and
 * a signature (from the devices, or uploaded as PNG), each scored against its
 * quality threshold with a bounded number of attempts, the best one kept;
 * missing or injured fingers and eyes are recorded as exceptions.  Commit
 * turns the session into a record in one transaction.
 *
 * Durability: every capture is its own committed transaction (its image
 * written once, there), so a session survives a restart and a kill -9 at any
 * moment leaves it either before or after that step.  Commit checks that
 * every position is there, adds the record and marks the session committed
 * in one transaction: the record is either whole or absent, and when the
 * answer leaves, it is on disk (synchronous=FULL).
 *
 * Secrecy: each session has a fresh AES-256 data key, wrapped by the
 * workstation key (bound to the session id) and stored beside it; every image
 * is sealed (AES-256-GCM) with associated data naming the record id, the
 * modality and the position, so a blob moved to another record or position
 * fails to open.  The session id becomes the record id, so the sealed images
 * belong to the record as they are.
 *
 * Scoring, PNG work and sealing run in a worker thread; the store is written
 * from the main loop.
 */
#ifndef EKTP_CORE_ENROLL_H
#define EKTP_CORE_ENROLL_H

#include <glib.h>

#include "core/audit.h"
#include "core/region.h"
#include "core/validate.h"
#include "crypto/crypto.h"
#include "hal/manager.h"
#include "store/store.h"
#include "util/config.h"

typedef struct {
	Store *store;
	HalManager *hal;
	const EktpConfig *cfg;  /* read live */
	const RegionDb *regions;
	const uint8_t *key;     /* the workstation key, CRYPTO_KEY_LEN bytes */
} EnrollDeps;

#define ENROLL_ERROR (enroll_error_quark())
GQuark enroll_error_quark(void);

typedef enum {
	ENROLL_ERROR_INVALID,    /* bad demographics or a bad argument (400) */
	ENROLL_ERROR_NOT_FOUND,  /* no such enrollment or record (404) */
	ENROLL_ERROR_CONFLICT,   /* wrong state, NIK taken, no attempts left (409) */
	ENROLL_ERROR_NO_DEVICE,  /* no usable device of the class (409) */
	ENROLL_ERROR_IMAGE,      /* an upload of the wrong format, size or depth (400) */
	ENROLL_ERROR_INCOMPLETE, /* commit with positions missing (409) */
	ENROLL_ERROR_SEALED,     /* a stored image failed to open: tampered or misplaced (500) */
} EnrollErrorCode;

typedef enum {
	ENROLL_FINGER,
	ENROLL_IRIS,
	ENROLL_FACE,
	ENROLL_SIGNATURE,
	ENROLL_N_MODALITIES,
} EnrollModality;

/* "finger", "iris", "face", "signature"; -1 for anything else. */
int enroll_modality_parse(const char *name);
const char *enroll_modality_name(EnrollModality m);
/* Positions a modality takes: finger 1..10, iris 1..2, face and signature 0. */
gboolean enroll_position_valid(EnrollModality m, int position);

/*
 * Starts a session for D (borrowed).  Returns the new id, or -1 with ERROR:
 * ENROLL_ERROR_INVALID with *REPORT holding every problem, or CONFLICT when
 * the NIK has an active record (unless REENROLL) or an open session.  On
 * success *REPORT (caller frees) holds the warnings and facts.
 */
gint64 enroll_start(const EnrollDeps *deps, const AuditActor *who, const EnrollDemographics *d,
		    gboolean reenroll, ValidateReport **report, GError **error);

/* One capture attempt's outcome. */
typedef struct {
	EnrollModality modality;
	int position;
	int attempt;       /* attempts so far, this one included */
	int quality;       /* this attempt's score */
	int threshold;
	int best_quality;
	int attempts_left;
	const char *status; /* "accepted", "retry", "forced" (static) */
	const char *algorithm;
	char *message;      /* owned by the result */
} EnrollCaptureResult;

/* RESULT and ERROR are borrowed for the call; exactly one is non-NULL. */
typedef void (*EnrollCaptureDone)(const EnrollCaptureResult *result, GError *error, void *data);

/* Takes one attempt from the first ready device of the modality's class.
 * DONE runs on the main loop, exactly once. */
void enroll_capture(const EnrollDeps *deps, const AuditActor *who, gint64 id,
		    EnrollModality modality, int position, EnrollCaptureDone done, void *data);
/* The same with an uploaded PNG (PNG: borrowed; referenced as needed). */
void enroll_upload(const EnrollDeps *deps, const AuditActor *who, gint64 id,
		   EnrollModality modality, int position, GBytes *png, EnrollCaptureDone done,
		   void *data);

/* Records an exception ("missing", "amputated", "bandaged", "other") with a
 * reason for a finger or an eye; it replaces a capture of that position. */
int enroll_exception(const EnrollDeps *deps, const AuditActor *who, gint64 id,
		     EnrollModality modality, int position, const char *kind, const char *reason,
		     GError **error);

typedef struct {
	gint64 record_id;
	const char *state;         /* static */
	GPtrArray *needs_approval; /* static keyword strings */
	char print_ready_after[11]; /* "" when none */
	GArray *missing;           /* EnrollSlot; set with ENROLL_ERROR_INCOMPLETE */
} EnrollCommit;

typedef struct {
	EnrollModality modality;
	int position;
} EnrollSlot;

void enroll_commit_clear(EnrollCommit *c);
/* Commits session ID.  OUT is filled on success and, for INCOMPLETE, its
 * missing list; the caller clears it either way. */
int enroll_commit(const EnrollDeps *deps, const AuditActor *who, gint64 id, EnrollCommit *out,
		  GError **error);
/* Positions of session ID that have neither a capture nor an exception. */
GArray *enroll_missing(Store *st, gint64 id, GError **error);
int enroll_abandon(const EnrollDeps *deps, const AuditActor *who, gint64 id, GError **error);

/* Supervisor decisions: "approve", "reject", "hold" (REASON required for
 * the last two).  Returns the new state (static) or NULL with ERROR. */
const char *enroll_decide(const EnrollDeps *deps, const AuditActor *who, gint64 id,
			  const char *decision, const char *reason, GError **error);
/* Promotes approved records whose print_ready_after has come. */
int enroll_promote(const EnrollDeps *deps, GError **error);

/* One stored image of record ID, opened: PNG bytes (caller unrefs), or NULL
 * with ENROLL_ERROR_SEALED when it was tampered with or moved. */
GBytes *enroll_open_image(const EnrollDeps *deps, const StoreRecord *rec, const StoreItem *item,
			  GError **error);

#endif
