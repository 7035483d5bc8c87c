/* SPDX-License-Identifier: MIT */
/*
 * For test programs that drive a device through the device manager's public
 * API (tests/emu/pcsc_encode.c, tests/emu/evo_drive.c,
 * tests/unit/test_evolis_umockdev.c): waiting for one operation's answer on
 * the main context, and HAL error codes by name.  Header-only.
 */
#ifndef EKTP_TESTS_HALWAIT_H
#define EKTP_TESTS_HALWAIT_H

#include <ektp/hal.h>
#include <glib.h>

#include "hal/manager.h"

/* One operation's answer: DONE once it came, ERROR a copy (or NULL: ok). */
typedef struct {
	gboolean done;
	GError *error;
} HalWait;

/* A HalDoneFunc for a HalWait. */
static inline void
hal_wait_done(GError *error, void *data)
{
	HalWait *w = data;
	w->done = TRUE;
	w->error = error ? g_error_copy(error) : NULL;
}

/* A HalInfoFunc for a HalWait (the snapshot is read afterwards with hal_manager_get). */
static inline void
hal_wait_refreshed(const HalInfo *info, GError *error, void *data)
{
	(void)info;
	hal_wait_done(error, data);
}

/* Runs the main context until W's answer came; returns its error (W keeps it). */
static inline GError *
hal_wait(HalWait *w)
{
	while (!w->done)
		g_main_context_iteration(NULL, TRUE);
	return w->error;
}

/* HAL_ERROR_* CODE as its name without the prefix ("DEVICE"), "?" if unknown. */
static inline const char *
hal_wait_code_name(int code)
{
	static const char *const names[] = { "FAILED",    "ABSENT",      "TIMEOUT", "CANCELLED",
					     "BUSY",      "UNSUPPORTED", "DEVICE",  "CONFIG",
					     "NO_DEVICE", "RETRY" };
	return code >= 0 && code < (int)G_N_ELEMENTS(names) ? names[code] : "?";
}

#endif
