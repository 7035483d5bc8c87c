/* SPDX-License-Identifier: MIT */
/*
 * The Evolis card-printer driver ("evolis"): the escape protocol of
 * docs/printer-protocol.md over TCP or USB (drivers/evolis/transport.h),
 * with the bytes made and checked by drivers/evolis/protocol.c.  Besides the
 * driver table, this header exposes the driver's pure part, the mapping of
 * the status replies to a HalStatus, for unit tests; it does no I/O.
 */
#ifndef EKTP_DRIVERS_EVOLIS_H
#define EKTP_DRIVERS_EVOLIS_H

#include <ektp/hal.h>

#include <stdint.h>

extern const HalDriver evolis_driver;

/* Below this many prints left on the ribbon (and above none), the printer is
 * degraded with "marker-supply-low".  The protocol subset reads what is left
 * (Rco;l) but not the roll's capacity, so a percentage cannot be computed; 20
 * prints is 10 % of the small (200-print) roll and about an hour's work. */
#define EVOLIS_RIBBON_LOW 20

/* Rse;o above this means the cover is open (docs/printer-protocol.md, ours). */
#define EVOLIS_COVER_OPEN_ABOVE 128

/* What one status poll read, before it becomes a HalStatus.  Replies are as
 * received (without CR; NULL when the command was not sent or got no
 * usable answer); the flags are the driver's memory of earlier refusals. */
typedef struct {
	const char *rlr_p; /* "NO CARD" / "ERR CARD" */
	const char *rlr_r; /* "OK" / "ERR NEED CLEANING" */
	const char *rcr;   /* "OK" / "ERR RIBBON ENDED" */
	const char *sk_f;  /* "0" cards there, else empty */
	const char *rse_o; /* 0..255 */
	const char *rco_l, *rco_c, *rco_s, *rco_m, *rco_e;
	const char *ribbon_read;     /* Rr */
	const char *ribbon_expected; /* the "ribbon" option; "" = whatever Rr says */
	gboolean card_ours;   /* the card inside is one this driver fed for the job at hand */
	gboolean jammed;      /* the last move or print ended in ERR MECHANICAL */
	gboolean output_full; /* the last eject or reject found the hopper or box full */
} EvolisReadings;

/* Fills OUT's state, reasons (static strings), counters and card_inside from
 * R.  OUT is pre-filled as the manager does (READY, no reasons, -1). */
void evolis_status_map(const EvolisReadings *r, HalStatus *out);

/* A decimal reply as a number; -1 when REPLY is NULL or not a number. */
int64_t evolis_reply_number(const char *reply);

#endif
