/* SPDX-License-Identifier: MIT */
/*
 * The card renderer: the front of an e-KTP as a 1016 x 648 RGB image, the
 * CR80 card (85.60 x 53.98 mm) at 300 dpi, with the fields, labels and order
 * of ektp-domain.md section 2.2: the PROVINSI and KABUPATEN/KOTA header, NIK,
 * every field with its label and colon, the photo on the right with the place
 * and date of issue under it, then the holder's signature.
 *
 * Where everything stands (boxes in dots, fonts, sizes in points, how far a
 * value may shrink, how many lines it may wrap onto, alignment) comes from a
 * layout file an office can adjust (config/card-layout.conf documents every
 * key).  A value is never clipped: every box is measured before any pixel is
 * drawn, a long value first shrinks and then wraps within its box, and one
 * that cannot fit even at its box's min_size on max_lines lines is a
 * CARD_ERROR_FIT naming the field and by how much it is too long, so the
 * print pipeline refuses it before a blank card is used (card_check()).
 *
 * Text is drawn with FreeType (Debian's Liberation Sans by default, metric
 * compatible with Arial), unhinted with sub-pixel placement so that what is
 * measured is exactly what is drawn, anti-aliased onto the card.
 *
 * Thread-safe: a CardLayout is immutable once loaded (it keeps the font files
 * in memory) and each render opens its own FreeType instance, so workers may
 * render concurrently from one layout.  A render takes tens of milliseconds:
 * the daemon calls it from a worker, not the loop.
 */
#ifndef EKTP_CARD_RENDER_H
#define EKTP_CARD_RENDER_H

#include <glib.h>

#include "image/image.h"

#define CARD_ERROR (card_error_quark())
GQuark card_error_quark(void);

typedef enum {
	CARD_ERROR_LAYOUT, /* the layout file: syntax, unknown group or key, a bad value, a box
			      outside the card or over another box, a label wider than its column */
	CARD_ERROR_FONT,   /* a font file missing, unreadable, or not a scalable font */
	CARD_ERROR_INPUT,  /* a missing field, a bad date, a character the font lacks, a photo
			      or signature of the wrong format */
	CARD_ERROR_FIT,    /* a value does not fit its box even at min_size on max_lines lines */
	CARD_ERROR_FAILED, /* FreeType failed */
} CardErrorCode;

/* The card at 300 dpi: ISO/IEC 7810 ID-1 (CR80), 85.60 x 53.98 mm. */
#define CARD_DPI 300
#define CARD_WIDTH 1016
#define CARD_HEIGHT 648

/* Where the fonts come from when the layout names none. */
#define CARD_FONT_REGULAR "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"
#define CARD_FONT_BOLD "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"

/* The one religion value that turns the "Agama" row into "Kepercayaan" (2.3). */
#define CARD_KEPERCAYAAN "KEPERCAYAAN TERHADAP TUHAN YME"

typedef struct CardLayout CardLayout;

/*
 * What is printed on one card.  Every pointer is borrowed for the duration of
 * the call; every string is UTF-8 and required (NULL or "" is a
 * CARD_ERROR_INPUT naming the field).  Values are printed as given, except
 * where a comment says otherwise; line breaks and runs of spaces print as one
 * space.
 */
typedef struct {
	const char *province_name;  /* "KALIMANTAN BARAT": printed upper case after "PROVINSI " */
	const char *regency_name;   /* "KOTA SINGKAWANG": printed as given */
	const char *nik;            /* 16 digits */
	const char *name;
	const char *birth_place;    /* printed "BIRTH_PLACE, DD-MM-YYYY" */
	const char *birth_date;     /* "YYYY-MM-DD" as the core keeps it (or "DD-MM-YYYY") */
	const char *gender;         /* "LAKI-LAKI", "PEREMPUAN" */
	const char *blood_type;     /* "A", "AB+", ...; "TIDAK TAHU" prints "-" */
	const char *address;
	const char *rt_rw;          /* "001/002" */
	const char *village;        /* kelurahan or desa name */
	const char *kecamatan;
	const char *religion;       /* CARD_KEPERCAYAAN prints under the label "Kepercayaan" */
	const char *marital_status;
	const char *occupation;
	const char *citizenship;    /* "WNI" */
	const char *valid_until;    /* "SEUMUR HIDUP" */
	const char *issue_place;    /* the city under the photo: "SINGKAWANG" */
	const char *issue_date;     /* like birth_date; printed DD-MM-YYYY */
	const Image *photo;         /* RGB (3 channels), on its card background colour */
	const Image *signature;     /* grey (1 channel), dark ink on white */
} CardFace;

/*
 * Reads the layout file PATH (GKeyFile syntax; the keys are documented in
 * config/card-layout.conf) and the font files it names.  Every box must be
 * given, lie on the card and overlap no other; every label must fit its
 * column.  Returns the layout (caller frees with card_layout_free()) or NULL
 * with ERROR set: CARD_ERROR_LAYOUT or CARD_ERROR_FONT, the message starting
 * "FILE:LINE: " (just "FILE: " for a group missing altogether), then the
 * group and key, then the rule: "layout.conf:12: [name] size: '7x' is not a
 * size from 4 to 72 points".  PATH is borrowed for the call.
 */
CardLayout *card_layout_load(const char *path, GError **error);

/* The same from TEXT (borrowed for the call); NAME stands for the file name in
 * messages, and relative font paths resolve against the current directory. */
CardLayout *card_layout_load_data(const char *text, const char *name, GError **error);

/* Frees LAYOUT (which is taken; may be NULL). */
void card_layout_free(CardLayout *layout);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(CardLayout, card_layout_free)

/* Where LAYOUT puts the photo, in pixels. */
void card_layout_photo_box(const CardLayout *layout, int *x, int *y, int *w, int *h);

/*
 * Measures every value of FACE in LAYOUT (both borrowed for the call) without
 * drawing: 0 when the card can be printed, -1 with ERROR set (CARD_ERROR_INPUT
 * or CARD_ERROR_FIT, naming every field that fails) when it cannot.  The print
 * pipeline calls this before it takes a blank card.
 */
int card_check(const CardLayout *layout, const CardFace *face, GError **error);

/*
 * Renders FACE with LAYOUT (both borrowed for the call) into OUT, which is
 * overwritten: RGB, CARD_WIDTH x CARD_HEIGHT, ppi CARD_DPI (OUT->pixels:
 * caller frees with image_clear()).  Measures first, as card_check() does:
 * returns 0, or -1 with ERROR set and OUT zeroed before any pixel is drawn.
 */
int card_render(const CardLayout *layout, const CardFace *face, Image *out, GError **error);

/* card_render() encoded as a PNG (300 dpi in its pHYs chunk).  Returns the
 * file (caller unrefs) or NULL with ERROR set (CARD_ERROR or IMAGE_ERROR). */
GBytes *card_render_png(const CardLayout *layout, const CardFace *face, GError **error);

#endif
