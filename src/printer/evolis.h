/* SPDX-License-Identifier: MIT */
/*
 * The Evolis escape protocol, both ways: the bytes a host sends (commands,
 * panels made from a rendered card) and a parser for such a stream (the
 * printer emulator and the fuzz harness use it).  The subset and the replies
 * are fixed in docs/printer-protocol.md.  No I/O here: the driver
 * (drivers/evolis/) moves the bytes.
 */
#ifndef EKTP_PRINTER_EVOLIS_H
#define EKTP_PRINTER_EVOLIS_H

#include <ektp/hal.h>
#include <glib.h>
#include <stdint.h>

/* ---- host side: what the driver uses ---- */

/* Appends ESC, the formatted command, CR. */
void evo_put(GByteArray *out, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Appends the sequence that prints FRONT on the card inside for a ribbon of
 * type RIBBON ("ymcko", "kb", …): Ss, Sr and the panels the ribbon has, each
 * a Db/Dbc command.  No Se: ejecting is a step of its own. */
int evo_put_front(GByteArray *out, const HalCardSide *front, const char *ribbon, GError **error);

/* Where the first reply in BUF ends: the index of its CR or NUL; -1 while
 * incomplete. */
gssize evo_reply_end(const uint8_t *buf, size_t len);

/* Checks REPLY (without its CR) to COMMAND: OK or a value → 0; "ERR …" →
 * HAL_ERROR_DEVICE "REASON: the printer answered ERR … to COMMAND" with the
 * CUPS reason of docs/printer-protocol.md; "ERROR CDE" or anything else →
 * HAL_ERROR_FAILED. */
int evo_reply_check(const char *command, const char *reply, GError **error);

/* The CUPS reason ("media-jam", …) of an ERR reply; NULL for other replies. */
const char *evo_reason(const char *reply);

#endif
