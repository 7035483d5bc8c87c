/* SPDX-License-Identifier: MIT */
/*
 * How the Evolis driver reaches a printer: a byte pipe with deadlines and
 * cancellation, over TCP (a networked printer, or the emulator) or over USB
 * (libusb bulk endpoints of a printer-class interface).  The driver above it
 * frames commands and replies; this layer only moves bytes, one blocking call
 * at a time, from the device's worker thread.
 *
 * Errors (HAL_ERROR): HAL_ERROR_ABSENT when the printer is not there or went
 * away (connection refused or closed, device unplugged, URBs failing),
 * HAL_ERROR_TIMEOUT when the deadline passed, HAL_ERROR_CANCELLED when the
 * GCancellable fired, HAL_ERROR_FAILED for anything else.  Messages name the
 * link ("tcp://10.0.0.5:9100", "usb 1234:5678 bus 1 device 2") but not the
 * device: the driver prefixes that and the command.
 */
#ifndef EKTP_DRIVERS_EVOLIS_TRANSPORT_H
#define EKTP_DRIVERS_EVOLIS_TRANSPORT_H

#include <ektp/hal.h>

#include <stddef.h>
#include <stdint.h>

typedef enum {
	EVOLIS_URI_TCP, /* tcp://HOST:PORT */
	EVOLIS_URI_USB, /* usb, usb://VID:PID, usb://VID:PID/SERIAL */
} EvolisUriKind;

/* A parsed "uri" option. */
typedef struct {
	EvolisUriKind kind;
	char *host;   /* TCP: owned */
	int port;     /* TCP: 1..65535 */
	gboolean any; /* USB: "usb", the first printer-class device */
	uint16_t vid, pid;
	char *serial; /* USB: owned; NULL = any serial */
} EvolisUri;

/* Parses TEXT into OUT (cleared first; free with evolis_uri_clear).  0, or
 * -1 with ERROR (HAL_ERROR_CONFIG) saying which forms are accepted. */
int evolis_uri_parse(const char *text, EvolisUri *out, GError **error);
void evolis_uri_clear(EvolisUri *uri);

typedef struct EvolisLink EvolisLink;

/* Connects to the printer URI names (borrowed for the call), giving up at
 * DEADLINE_US (g_get_monotonic_time() clock) or when CANCEL fires.  USB:
 * finds the device, detaches a kernel driver (usblp) from its printer
 * interface and claims it.  Caller frees with evolis_link_close(). */
EvolisLink *evolis_link_open(const EvolisUri *uri, gint64 deadline_us, GCancellable *cancel,
			     GError **error);
/* Releases the interface or closes the socket; NULL is fine. */
void evolis_link_close(EvolisLink *link);

/* "tcp://HOST:PORT" or "usb VID:PID bus B device D"; borrowed for LINK's life. */
const char *evolis_link_name(const EvolisLink *link);

/* Sends all LEN bytes of BUF.  0, or -1 with ERROR. */
int evolis_link_write(EvolisLink *link, const uint8_t *buf, size_t len, gint64 deadline_us,
		      GCancellable *cancel, GError **error);

/* Reads what comes next into BUF (at most MAX bytes): over TCP whatever has
 * arrived (at least one byte), over USB one bulk-IN transfer (possibly
 * empty).  The byte count, or -1 with ERROR. */
gssize evolis_link_read(EvolisLink *link, uint8_t *buf, size_t max, gint64 deadline_us,
			GCancellable *cancel, GError **error);

/* Throws away whatever has arrived and not been read (a late reply to a
 * command given up on) without waiting; TCP only, USB has nothing buffered. */
void evolis_link_drain(EvolisLink *link);

#endif
