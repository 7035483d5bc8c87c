/* SPDX-License-Identifier: MIT */
/*
 * The Evolis escape protocol, both ways: the bytes a host sends (commands,
 * panels made from a rendered card) and a parser for such a stream, written
 * to take hostile input (the printer emulator uses it).  The subset and the
 * replies are fixed in docs/printer-protocol.md.  No I/O here: driver.c
 * moves the bytes, through transport.c.
 */
#ifndef EKTP_DRIVERS_EVOLIS_PROTOCOL_H
#define EKTP_DRIVERS_EVOLIS_PROTOCOL_H

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

/* ---- panels ---- */

/* A panel's dots travel as EVO_LINES lines of EVO_LINE_DOTS dots: a line is
 * one column of the landscape card (line 0 its left edge), its first dot the
 * bottom row (docs/printer-protocol.md, "Panels"). */
#define EVO_LINES 1016
#define EVO_LINE_DOTS 648
#define EVO_MAX_PANELS 5

/* One panel in card orientation: HAL_CARD_W × HAL_CARD_H dots, row-major, top
 * row first; each dot 0 (no ink) … LEVELS-1 (full ink). */
typedef struct {
	char panel;    /* 'y', 'm', 'c', 'k' or 'o' */
	int levels;    /* 2 (k, o) or 32, 64, 128 (y, m, c) */
	uint8_t *dots; /* owned (g_free) */
} EvoPanel;

/* The panels of one card side, in printing order. */
typedef struct {
	int n;
	EvoPanel panel[EVO_MAX_PANELS];
} EvoPanelSet;

/* The panels a ribbon type prints on a card's front, in order ("ymcko" →
 * "ymcko", "kb" → "k", …); NULL for a type we do not know.  NULL or "" is
 * "ymcko". */
const char *evo_ribbon_panels(const char *ribbon);

/* Makes the panels of SIDE for RIBBON into OUT (overwritten; free with
 * evo_panel_set_clear).  Colour ribbons: Y, M, C = 255 - B, G, R in 32
 * levels, none where BLACK is set; K = BLACK; O everywhere but the clear
 * rectangle.  Black-only ribbons: K = BLACK plus the picture's luminance,
 * dithered (ordered 8×8).  Fails (HAL_ERROR_CONFIG) on an unknown ribbon.
 * SIDE is borrowed for the call. */
int evo_make_panels(const HalCardSide *side, const char *ribbon, EvoPanelSet *out, GError **error);

/* Frees the dots of every panel of SET (borrowed) and zeroes it. */
void evo_panel_set_clear(EvoPanelSet *set);
/* Frees P->dots (P borrowed) and zeroes P. */
void evo_panel_clear(EvoPanel *p);

/* Appends PANEL (borrowed) as one Db command (COMPRESSED false) or Dbc.
 * Fails (HAL_ERROR_FAILED) on levels other than 2 for k/o or 32/64/128 for y/m/c. */
int evo_put_panel(GByteArray *out, const EvoPanel *panel, gboolean compressed, GError **error);

/* ---- the other way: a stream parser for the emulator and replay ---- */

/* Bytes of Db data for LEVELS (2, 32, 64, 128); 0 for other levels. */
size_t evo_db_length(int levels);

/* Longest Dbc data the parser accepts. */
#define EVO_DATA_MAX (4u << 20)
/* Longest command head (name and parameters) the parser accepts. */
#define EVO_HEAD_MAX 1024

/* One command as received. */
typedef struct {
	char *text;  /* name and parameters, without ESC, CR and panel data; owned */
	char **argv; /* TEXT split at ';' (argv[0] the name); NULL-terminated; owned */
	int argc;
	uint8_t *data;  /* Db/Dbc panel data, else NULL; owned */
	size_t len;     /* bytes of DATA */
	gboolean bad;   /* a Db/Dbc whose parameters give no length: no data was read */
	gboolean no_cr; /* the data was not followed by CR */
} EvoCommand;

void evo_command_free(EvoCommand *cmd);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EvoCommand, evo_command_free)

/* Appends CMD (borrowed) again as bytes: ESC, text, data, CR. */
void evo_command_put(GByteArray *out, const EvoCommand *cmd);

typedef struct EvoParser EvoParser;

/* An incremental parser: feed it any chunks, take complete commands out.
 * NULs between commands are skipped; other bytes outside a command, a
 * command cut by ESC or NUL or longer than EVO_HEAD_MAX, are skipped and
 * counted, and parsing resumes at the next ESC.  Db/Dbc data is read by
 * length. */
EvoParser *evo_parser_new(void);
void evo_parser_free(EvoParser *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EvoParser, evo_parser_free)
/* Parses LEN bytes of BUF (borrowed for the call). */
void evo_parser_feed(EvoParser *p, const uint8_t *buf, size_t len);
/* The next complete command (caller frees) or NULL. */
EvoCommand *evo_parser_next(EvoParser *p);
/* Drops a partly received command (the connection dropped); keeps complete ones. */
void evo_parser_reset(EvoParser *p);
/* TRUE while a command has started but not ended. */
gboolean evo_parser_partial(const EvoParser *p);
/* Bytes skipped as garbage so far. */
guint64 evo_parser_skipped(const EvoParser *p);

/* Decodes a Db or Dbc command (borrowed) into OUT (overwritten; free with
 * evo_panel_clear).  Fails (HAL_ERROR_FAILED, naming the problem) on any
 * other command, bad parameters, or data of the wrong length or shape. */
int evo_panel_decode(const EvoCommand *cmd, EvoPanel *out, GError **error);

#endif
