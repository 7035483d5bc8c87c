/* SPDX-License-Identifier: MIT */
/*
 * The device manager, as the core sees it: the devices named in the
 * configuration, each driven by a HAL driver in its own worker thread, polled
 * for health on the main loop's timers.  Callers get snapshots and
 * completions; they never see a driver or a thread.
 */
#ifndef EKTP_HAL_MANAGER_H
#define EKTP_HAL_MANAGER_H

#include <ektp/hal.h>

#include "util/config.h"

typedef struct HalManager HalManager;

/* A copy of one device's public state; free with hal_info_free(). */
typedef struct {
	char *name;
	char *driver;
	char *driver_version;
	HalClass klass;
	HalState state;       /* busy while a capture is queued or runs on a ready or
			       * degraded device; the listener never sees busy */
	char **reasons;       /* NULL-terminated */
	char *serial;
	char *firmware;
	char *last_error;     /* the last failure's message, or NULL */
	gint64 state_since;   /* unix seconds (when busy: since the capture was asked for) */
	gint64 last_poll;     /* unix seconds, 0 = never */
	int64_t counter_total;
	int64_t counter_since_clean;
	int64_t supply_remaining;
	int card_inside;          /* printers: 1 a card is inside, 0 none, -1 unknown */
	int64_t clean_threshold;  /* printers: cards allowed between cleanings; -1 unknown */
	int64_t cards_finished;   /* printers: cards ejected in the printer's life; -1 unknown */
	gboolean faults_ok;   /* the driver accepts injected faults */
} HalInfo;

void hal_info_free(HalInfo *info);

const char *hal_class_name(HalClass klass);
const char *hal_state_name(HalState state);

/* Checks every [device …] section: known driver, known options, valid values.
 * ERROR reads "FILE:LINE: reason". */
gboolean hal_config_check(const EktpConfig *cfg, GError **error);

/* Called on the main loop whenever a device's state or reasons change.  Busy
 * is not a change here: NOW and BEFORE never say busy for a capture, or every
 * capture would add two audit rows. */
typedef void (*HalStateFunc)(const HalInfo *now, HalState before, void *data);

/* Builds the devices (checked as hal_config_check) and starts polling them;
 * when a device's driver has HAL_CAP_USB, also watches USB hotplug so those
 * devices are polled as soon as a USB device arrives or leaves.
 * CFG is borrowed for the manager's life.  Caller frees. */
HalManager *hal_manager_new(const EktpConfig *cfg, HalStateFunc on_state, void *data,
			    GError **error);
/* Cancels operations, waits for the workers to return and closes the devices. */
void hal_manager_free(HalManager *m);

/* Snapshots of every device in configuration order (HalInfo*; the array frees them). */
GPtrArray *hal_manager_list(HalManager *m);
/* One device's snapshot, or NULL when there is no such device. */
HalInfo *hal_manager_get(HalManager *m, const char *name);

typedef void (*HalDoneFunc)(GError *error, void *data); /* ERROR borrowed; NULL = ok */

/* Tells a simulator to show a fault; DONE runs on the main loop. */
void hal_manager_inject_fault(HalManager *m, const char *name, const char *kind, int count,
			      HalDoneFunc done, void *data);

/* What is known about a capture besides its pixels. */
typedef struct {
	const char *device;         /* borrowed for the callback's duration */
	const char *serial;
	const char *driver;
	const char *driver_version;
	HalClass klass;
	gint64 started_us, ended_us; /* wall clock, microseconds */
} HalCaptureMeta;

/* IMAGE is taken by the callee (free pixels with g_free, then the struct with
 * g_free); NULL with ERROR set when the capture failed. */
typedef void (*HalCaptureFunc)(HalImage *image, const HalCaptureMeta *meta, GError *error,
			       void *data);

/* Captures one image from device NAME at POSITION (ISO finger 1..10, eye 1..2,
 * 0 for face and signature).  DONE runs on the main loop, always once. */
void hal_manager_capture(HalManager *m, const char *name, int position, HalCaptureFunc done,
			 void *data);

/* Writes CHIP (copied; the caller's may go at once) to the card in encoder
 * NAME and has the driver read it back; DONE runs on the main loop, once. */
void hal_manager_encode(HalManager *m, const char *name, const HalChip *chip, HalDoneFunc done,
			void *data);

/* Printers: moves a card (feed a blank to the contactless station, eject,
 * reject), prints SIDE (copied) on the card inside, or runs the cleaning
 * cycle.  DONE runs on the main loop, once.  A printer's refusal
 * (HAL_ERROR_DEVICE, "REASON: …") also puts it in FAULT with REASON until
 * its next status poll. */
void hal_manager_card_move(HalManager *m, const char *name, HalCardMove move, HalDoneFunc done,
			   void *data);
void hal_manager_card_print(HalManager *m, const char *name, const HalCardSide *side,
			    HalDoneFunc done, void *data);
void hal_manager_clean(HalManager *m, const char *name, HalDoneFunc done, void *data);

/*
 * Sets (REASON non-NULL) or clears an advisory the core found about device
 * NAME, such as "quality-declining" from its capture trend: while set, the
 * device is at least degraded and REASON joins its reasons, whatever the
 * driver reports.  DETAIL (may be NULL) becomes its last_error text.
 */
void hal_manager_set_advisory(HalManager *m, const char *name, const char *reason,
			      const char *detail);

/* Reads device NAME's status now (not waiting for the next poll); DONE gets a
 * fresh snapshot or an error. */
typedef void (*HalInfoFunc)(const HalInfo *info, GError *error, void *data);
void hal_manager_refresh(HalManager *m, const char *name, HalInfoFunc done, void *data);

/* Whether USB hotplug is watched (a USB device is configured and libusb has hotplug). */
gboolean hal_manager_hotplug_active(const HalManager *m);
/* How many polls a hotplug event started so far (for tests). */
guint hal_manager_hotplug_polls(const HalManager *m);

/* For unit tests: makes DRV (borrowed for the process's life) known by its
 * name as if it were built in.  At most 7; call before any configuration is
 * checked, from one thread. */
void hal_manager_add_test_driver(const HalDriver *drv);

#endif
