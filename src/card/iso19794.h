/* SPDX-License-Identifier: MIT */
/*
 * ISO/IEC 19794-2:2005 finger minutiae records ("FMR", version " 20"), the
 * record format of clause 7: what the card's chip holds for each enrolled
 * finger, and what verification reads back.  One record carries one or more
 * finger views; each view names its ISO finger position (1 right thumb .. 5
 * right little, 6 left thumb .. 10 left little, 0 unknown) and lists its
 * minutiae (minutiae.h) with position, direction, type and quality.
 *
 * Layout, all multi-byte numbers big-endian:
 *
 *   record header, 24 bytes
 *     0  4  format identifier "FMR\0"
 *     4  4  version " 20\0"
 *     8  4  length of the whole record in bytes
 *    12  2  capture equipment: certification flags (top 4 bits), device type
 *           id (low 12 bits)
 *    14  2  image width in pixels
 *    16  2  image height in pixels
 *    18  2  horizontal resolution in pixels per centimetre (500 ppi = 197)
 *    20  2  vertical resolution in pixels per centimetre
 *    22  1  number of finger views
 *    23  1  reserved, 0
 *   per finger view: a 4-byte header
 *     0  1  finger position 0..10
 *     1  1  view number (top 4 bits), impression type (low 4 bits: 0 live-scan
 *           plain, 1 live-scan rolled, 2 non-live plain, 3 non-live rolled,
 *           8 live-scan swipe)
 *     2  1  finger quality 0..100
 *     3  1  number of minutiae
 *   then 6 bytes per minutia
 *     0  2  type (top 2 bits: 01 ridge ending, 10 bifurcation, 00 other),
 *           x in pixels (low 14 bits)
 *     2  2  reserved (top 2 bits, 0), y in pixels (low 14 bits)
 *     4  1  direction in units of 360/256 = 1.40625 degrees, counter-clockwise
 *           from the +x axis
 *     5  1  quality 0..100 (0: not reported)
 *   then the extended data: a 2-byte length, 0 when there is none (we write
 *   none), else that many bytes of ridge-count, core/delta or vendor areas.
 *   The decoder checks that they fit and skips them without reading them.
 *
 * The decoder is strict, because a record comes from a card or the network:
 * every length is checked before it is used, a reserved field must be 0, and
 * an error's message names the field (and the view and minutia) at fault.
 *
 * Thread-safe: no global state.
 */
#ifndef EKTP_CARD_ISO19794_H
#define EKTP_CARD_ISO19794_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "card/minutiae.h"

#define ISO19794_ERROR (iso19794_error_quark())
GQuark iso19794_error_quark(void);

typedef enum {
	ISO19794_ERROR_INVALID,   /* encoding: a field out of its range */
	ISO19794_ERROR_TRUNCATED, /* decoding: the bytes end inside a field */
	ISO19794_ERROR_FORMAT,    /* decoding: a wrong identifier, version, length or value */
} Iso19794ErrorCode;

enum {
	ISO19794_HEADER_LEN = 24,
	ISO19794_VIEW_HEADER_LEN = 4,
	ISO19794_MINUTIA_LEN = 6,
	ISO19794_EXTENDED_LEN = 2,   /* the extended data length of a view */
	ISO19794_MAX_MINUTIAE = 255, /* per view: the count is one byte */
	ISO19794_MAX_VIEWS = 255,
	ISO19794_MAX_COORD = 16383, /* 14 bits */
};

/* Impression types (ISO/IEC 19794-2:2005, table 2). */
enum {
	ISO19794_LIVE_PLAIN = 0,
	ISO19794_LIVE_ROLLED = 1,
	ISO19794_NONLIVE_PLAIN = 2,
	ISO19794_NONLIVE_ROLLED = 3,
	ISO19794_LIVE_SWIPE = 8,
};

typedef struct {
	int position;      /* ISO finger position 0..10 */
	int view_number;   /* 0..15; 0 for the first view of a finger */
	int impression;    /* ISO19794_LIVE_PLAIN .. */
	int quality;       /* finger quality 0..100 */
	Minutia *minutiae; /* see the record's ownership note */
	guint n_minutiae;
} Iso19794View;

/*
 * A record.  To encode, fill one in: VIEWS and each view's MINUTIAE are
 * borrowed for the duration of iso19794_encode().  A record returned by
 * iso19794_decode() owns all of it: free it with iso19794_record_free(), and
 * never free a record you filled in yourself with it.
 */
typedef struct {
	int certification; /* capture equipment certification flags, 0..15 */
	int equipment_id;  /* capture device type id, 0..4095 (0: not reported) */
	int width, height; /* image size in pixels, 1..65535 */
	int res_x, res_y;  /* pixels per centimetre, 1..65535 */
	Iso19794View *views;
	guint n_views; /* 1..255 */
} Iso19794Record;

/* Pixels per centimetre for PPI pixels per inch, rounded: 500 gives 197. */
int iso19794_ppcm(int ppi);

/* The direction byte for ANGLE (radians, any value): round(angle / 1.40625
 * degrees) modulo 256. */
uint8_t iso19794_angle_byte(double angle);

/* The radians a direction byte stands for: BYTE * 2 pi / 256. */
double iso19794_angle_radians(uint8_t byte);

/* The length in bytes of a record of N_VIEWS views holding N_MINUTIAE
 * minutiae in all. */
size_t iso19794_record_len(guint n_views, guint n_minutiae);

/*
 * Encodes REC (borrowed).  When MAX_PER_VIEW is not 0, a view with more
 * minutiae keeps only the MAX_PER_VIEW of highest quality (of equal quality,
 * those that come first), written in their original order; a view with more
 * than ISO19794_MAX_MINUTIAE minutiae needs such a cap.  Returns the record
 * (caller frees with g_bytes_unref), or NULL with ISO19794_ERROR_INVALID
 * naming the field out of range.
 */
GBytes *iso19794_encode(const Iso19794Record *rec, guint max_per_view, GError **error);

/*
 * Decodes the LEN bytes at DATA (borrowed), which must be exactly one
 * record.  Returns a new record (caller frees with iso19794_record_free),
 * with each minutia's angle the radians of its direction byte and its x, y,
 * type and quality as stored; or NULL with ISO19794_ERROR_TRUNCATED or
 * ISO19794_ERROR_FORMAT naming the field.
 */
Iso19794Record *iso19794_decode(const uint8_t *data, size_t len, GError **error);

/* Frees a record from iso19794_decode() (takes ownership); NULL is fine. */
void iso19794_record_free(Iso19794Record *rec);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Iso19794Record, iso19794_record_free)

#endif
