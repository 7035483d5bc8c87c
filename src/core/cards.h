/* SPDX-License-Identifier: MIT */
/*
 * Card production for one record: its face (src/card/render.c) and its chip
 * image (src/card/chipdata.c), built from the record's demographics and its
 * sealed images, and the chip written by an encoder.  Nothing here touches a
 * blank card or a ribbon; printing comes later.
 *
 * The chip's two fingerprint templates come from our own minutiae extractor
 * (src/card/minutiae.c) on the record's captured prints, at the configured
 * positions ([card] chip_fingers, right and left index by default); a finger
 * recorded as an exception is replaced by the next captured one of the same
 * hand (index, thumb, middle, ring, little).
 */
#ifndef EKTP_CORE_CARDS_H
#define EKTP_CORE_CARDS_H

#include "card/chipdata.h"
#include "card/render.h"
#include "core/enroll.h"

typedef struct {
	EnrollDeps enroll;        /* store, devices, config, regions, workstation key */
	const CardLayout *layout;
	const CryptoSigner *signer;
	GBytes *ca_pem;           /* the issuing CA certificate(s), PEM */
} CardsDeps;

#define CARDS_ERROR (cards_error_quark())
GQuark cards_error_quark(void);

typedef enum {
	CARDS_ERROR_NOT_FOUND, /* no such record (404) */
	CARDS_ERROR_STATE,     /* the record may not have a card (409) */
	CARDS_ERROR_CONTENT,   /* the record cannot make a card: a value that does not fit,
				  no usable finger, a chip over capacity (409) */
} CardsErrorCode;

/* Parses "[card] chip_fingers" ("2,7": two ISO positions, one per hand). */
gboolean cards_fingers_parse(const char *text, int out[2], GError **error);

/* The record's card face as a PNG (caller unrefs), or NULL with ERROR. */
GBytes *cards_preview(const CardsDeps *deps, gint64 record_id, GError **error);

/* The record's chip image into OUT (caller clears), or -1 with ERROR. */
int cards_chip(const CardsDeps *deps, gint64 record_id, ChipData *out, GError **error);

/* What a record's card is made of, as read from the store (on the main loop,
 * the store's thread). */
typedef struct CardsSource CardsSource;
CardsSource *cards_source_read(const CardsDeps *deps, gint64 record_id, GError **error);
void cards_source_free(CardsSource *src);

/* A card ready for a printer: its face, which of its pixels are resin black,
 * and its signed chip image. */
typedef struct {
	gint64 record_id;
	Image face;     /* RGB, CARD_WIDTH × CARD_HEIGHT at CARD_DPI */
	uint8_t *black; /* one byte per pixel, 1 = the black (K) panel prints it */
	ChipData chip;
} CardsPrintable;
void cards_printable_clear(CardsPrintable *p);

/* Builds the printable card from SRC (which it completes): decodes the
 * images, renders the face, makes the templates, signs the chip.  Any thread;
 * the slow part of printing, done while the printer prints the card before. */
int cards_build(const CardsDeps *deps, CardsSource *src, CardsPrintable *out, GError **error);

/* CHIP as an encoder takes it: OUT points into FILES, which point into CHIP. */
void cards_hal_chip(const ChipData *chip, HalChipFile files[CHIPDATA_N_FILES], HalChip *out);

/* Builds the chip of a print_ready record and has ENCODER write and read it
 * back; audited either way.  DONE runs on the main loop, once. */
void cards_encode(const CardsDeps *deps, const AuditActor *who, gint64 record_id,
		  const char *encoder, HalDoneFunc done, void *data);

#endif
