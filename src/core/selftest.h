/* SPDX-License-Identifier: MIT */
/*
 * Technician self-tests and device degradation trends.  A self-test runs the
 * defined test of the device's class (capture and score a test image and time
 * it; read a printer's or encoder's identity, status and counters), stores the
 * result with its figures and audits it.  Every scored capture also joins the
 * device's capture history, from which the trend compares the newest captures
 * with the device's own first ones and marks a wearing device degraded.
 */
#ifndef EKTP_CORE_SELFTEST_H
#define EKTP_CORE_SELFTEST_H

#include "core/audit.h"
#include "hal/manager.h"
#include "store/store.h"
#include "util/config.h"

typedef struct {
	Store *store;
	HalManager *hal;
	const EktpConfig *cfg; /* read live */
} SelftestDeps;

/* One finished self-test; borrowed for the callback's duration. */
typedef struct {
	gint64 id; /* its row in the history; 0 when it could not be stored */
	const char *device;
	gboolean ok;
	const char *message;
	const char *figures; /* JSON object text */
} SelftestResult;

/* ERROR is set only when the test could not be run or stored at all (no such
 * device, database error); a device that fails its test is a result with ok
 * FALSE. */
typedef void (*SelftestDone)(const SelftestResult *result, GError *error, void *data);

/* Runs DEVICE's self-test; DONE runs on the main loop, exactly once. */
void selftest_run(const SelftestDeps *deps, const char *device, const AuditActor *who,
		  SelftestDone done, void *data);

typedef struct {
	gint64 samples;       /* captures in the recent window */
	double baseline_mean; /* mean quality of the device's first window */
	double recent_mean;   /* mean quality of its newest window */
	double baseline_latency_ms, recent_latency_ms;
	double recent_failure_rate; /* share of failed captures in the recent window */
	gboolean declining;
	const char *reason;   /* static: "quality-declining", "latency-rising",
				 "failures-rising"; NULL when not declining */
	char *summary;        /* e.g. "mean quality 58, baseline 81, over last 20 captures" */
} SelftestTrend;

/* Computes DEVICE's trend from its capture history (needs two full windows). */
int selftest_trend(Store *st, const char *device, gint64 window, gint64 drop, SelftestTrend *out,
		   GError **error);
void selftest_trend_clear(SelftestTrend *t);

/* Sets every device's trend advisory from its stored history (at start-up). */
int selftest_restore_trends(const SelftestDeps *deps, GError **error);

/* Records one capture (quality -1 when none) and updates the device's trend advisory. */
int selftest_record_capture(const SelftestDeps *deps, const char *device, gboolean ok,
			    int quality, gint64 latency_ms, const char *source, GError **error);

#endif
