/* SPDX-License-Identifier: MIT */
/*
 * USB hotplug for the device manager: tells it, on the main loop, that a USB
 * device arrived or left, so it can poll its USB devices at once instead of
 * at their next poll tick.  The only libusb user in src/hal.
 */
#ifndef EKTP_HAL_HOTPLUG_H
#define EKTP_HAL_HOTPLUG_H

#include <glib.h>

typedef struct HalHotplug HalHotplug;

/* Runs on the main context given to hal_hotplug_start(), after one or more
 * USB devices arrived or left; events that come together give one call. */
typedef void (*HalHotplugFunc)(void *data);

/*
 * Watches USB arrivals and departures with a libusb context of its own, whose
 * event file descriptors become sources on CTX (referenced until stopped).
 * FN(DATA) runs on CTX; DATA is borrowed until hal_hotplug_stop().  NULL with
 * ERROR when libusb cannot start (HAL_ERROR_FAILED) or the platform has no
 * hotplug (HAL_ERROR_UNSUPPORTED; polling alone must do then).
 * Caller frees with hal_hotplug_stop().
 */
HalHotplug *hal_hotplug_start(GMainContext *ctx, HalHotplugFunc fn, void *data, GError **error);
/* Stops watching, removes every source from the context and frees HP (may be NULL). */
void hal_hotplug_stop(HalHotplug *hp);

/* How many arrivals and departures libusb reported so far (for tests and logs). */
guint hal_hotplug_events(const HalHotplug *hp);

#endif
