/* SPDX-License-Identifier: MIT */
/*
 * The card renderer (render.h): the layout file, measuring, and drawing.
 *
 * Everything about text is done in font units, never in hinted pixels: a
 * value's width is the sum of its glyphs' unscaled advances and kerning,
 * scaled linearly to the size being tried, and glyphs are drawn unhinted at
 * the same sub-pixel pen positions (FT_Set_Transform carries the fraction).
 * So the measurement that decides whether a value fits is exactly what is
 * drawn, and trying ten sizes costs ten multiplications, not ten rounds of
 * glyph loading.  At 300 dpi hinting buys nothing visible.
 *
 * A render runs in two passes over the boxes: the first turns the CardFace
 * into printed strings, checks them (UTF-8, dates, every glyph in its font)
 * and fits each into its box (the largest size from size down to min_size in
 * quarter points at which the value, wrapped at spaces or after '-' and '/',
 * takes no more lines than max_lines and the box height allow); the second
 * draws.  The first pass collects every failure, so one error lists all the
 * fields an operator must shorten, and nothing is drawn unless all fit.
 */
#include "card/render.h"

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_ADVANCES_H

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK(ektp-card-error-quark, card_error)

/* Shrinking steps: sizes are tried from size down to min_size by this. */
#define SIZE_STEP 0.25
#define POINTS_MIN 4.0
#define POINTS_MAX 72.0
#define MAX_LINES 4
/* A font file larger than this is not a font we mean to load. */
#define FONT_MAX_BYTES (32 << 20)
/* "Light tint": every channel of the card background at least this. */
#define BACKGROUND_MIN 0xC0

/* ---- the boxes of the card ---- */

typedef enum {
	BOX_PROVINCE,
	BOX_REGENCY,
	BOX_NIK,
	BOX_NAME,
	BOX_BIRTH,
	BOX_GENDER,
	BOX_BLOOD_TYPE,
	BOX_ADDRESS,
	BOX_RT_RW,
	BOX_VILLAGE,
	BOX_KECAMATAN,
	BOX_RELIGION,
	BOX_MARITAL_STATUS,
	BOX_OCCUPATION,
	BOX_CITIZENSHIP,
	BOX_VALID_UNTIL,
	BOX_ISSUE_PLACE,
	BOX_ISSUE_DATE,
	BOX_PHOTO,
	BOX_SIGNATURE,
	BOX_N
} BoxId;

/* Boxes before BOX_PHOTO hold text. */
#define BOX_TEXT_N BOX_PHOTO

typedef struct {
	const char *group; /* its group in the layout file */
	const char *field; /* what CardFace calls it, for messages */
	const char *label; /* the row's label, NULL for a box without one */
	const char *label_alt; /* the religion row's label for a believer */
} BoxSpec;

/* In the order of the card (ektp-domain.md 2.2); labels as printed. */
static const BoxSpec specs[BOX_N] = {
	[BOX_PROVINCE] = { "province", "province_name", NULL, NULL },
	[BOX_REGENCY] = { "regency", "regency_name", NULL, NULL },
	[BOX_NIK] = { "nik", "nik", "NIK", NULL },
	[BOX_NAME] = { "name", "name", "Nama", NULL },
	[BOX_BIRTH] = { "birth", "birth_place and birth_date", "Tempat/Tgl Lahir", NULL },
	[BOX_GENDER] = { "gender", "gender", "Jenis kelamin", NULL },
	[BOX_BLOOD_TYPE] = { "blood_type", "blood_type", "Gol. Darah", NULL },
	[BOX_ADDRESS] = { "address", "address", "Alamat", NULL },
	[BOX_RT_RW] = { "rt_rw", "rt_rw", "RT/RW", NULL },
	[BOX_VILLAGE] = { "village", "village", "Kel/Desa", NULL },
	[BOX_KECAMATAN] = { "kecamatan", "kecamatan", "Kecamatan", NULL },
	[BOX_RELIGION] = { "religion", "religion", "Agama", "Kepercayaan" },
	[BOX_MARITAL_STATUS] = { "marital_status", "marital_status", "Status Perkawinan", NULL },
	[BOX_OCCUPATION] = { "occupation", "occupation", "Pekerjaan", NULL },
	[BOX_CITIZENSHIP] = { "citizenship", "citizenship", "Kewarganegaraan", NULL },
	[BOX_VALID_UNTIL] = { "valid_until", "valid_until", "Berlaku Hingga", NULL },
	[BOX_ISSUE_PLACE] = { "issue_place", "issue_place", NULL, NULL },
	[BOX_ISSUE_DATE] = { "issue_date", "issue_date", NULL, NULL },
	[BOX_PHOTO] = { "photo", "photo", NULL, NULL },
	[BOX_SIGNATURE] = { "signature", "signature", NULL, NULL },
};

static const char *const card_keys[] = {
	"background", "ink", "font", "bold_font", "label_x", "colon_x", "label_font", "label_size",
	NULL,
};
static const char *const text_keys[] = {
	"x", "y", "w", "h", "font", "size", "min_size", "max_lines", "align", NULL,
};
static const char *const label_keys[] = { "label_x", "colon_x", "label_font", "label_size", NULL };
static const char *const image_keys[] = { "x", "y", "w", "h", NULL };

typedef enum { ALIGN_LEFT, ALIGN_CENTRE, ALIGN_RIGHT } Align;

typedef struct {
	char *path;
	GBytes *data;  /* the whole file, shared read-only by every render */
	int upem;      /* font units per em */
	int ascender;  /* font units above the baseline */
	int descender; /* font units below it (positive) */
	int height;    /* baseline to baseline */
} Font;

typedef struct {
	int x, y, w, h;
	int font;            /* index into CardLayout.fonts */
	double size;         /* points */
	double min_size;     /* points; == size when the value may not shrink */
	int max_lines;
	Align align;
	int label_x, colon_x; /* labelled rows */
	int label_font;
	double label_size;
	int line; /* the group's line in the file */
} Box;

struct CardLayout {
	guint8 background[3];
	guint8 ink[3];
	GPtrArray *fonts; /* Font* */
	Box box[BOX_N];
};

static gboolean
is_text(BoxId id)
{
	return id < BOX_TEXT_N;
}

static gboolean
has_label(BoxId id)
{
	return specs[id].label != NULL;
}

/* ---- font metrics, all from unscaled font units ---- */

/* Pixels per font unit at SIZE points, with SIZE as FreeType will get it (26.6). */
static double
px_per_unit(const Font *f, double size)
{
	double pt = (double)lround(size * 64.0) / 64.0;
	return pt * CARD_DPI / 72.0 / f->upem;
}

static double
ascent_px(const Font *f, double size)
{
	return f->ascender * px_per_unit(f, size);
}

static double
descent_px(const Font *f, double size)
{
	return f->descender * px_per_unit(f, size);
}

static double
line_px(const Font *f, double size)
{
	return f->height * px_per_unit(f, size);
}

/* ---- FreeType instances: one per render (and one while loading) ---- */

typedef struct {
	FT_Library lib;
	FT_Face *faces; /* one per CardLayout.fonts entry */
	guint n;
} Ft;

static void
ft_close(Ft *ft)
{
	for (guint i = 0; i < ft->n; i++)
		if (ft->faces[i])
			FT_Done_Face(ft->faces[i]);
	g_clear_pointer(&ft->faces, g_free);
	if (ft->lib)
		FT_Done_FreeType(ft->lib);
	memset(ft, 0, sizeof *ft);
}

static int
ft_open(Ft *ft, GPtrArray *fonts, GError **error)
{
	memset(ft, 0, sizeof *ft);
	FT_Error fe = FT_Init_FreeType(&ft->lib);
	if (fe) {
		g_set_error(error, CARD_ERROR, CARD_ERROR_FAILED,
			    "FreeType: initialisation failed (%d)", fe);
		return -1;
	}
	ft->faces = g_new0(FT_Face, fonts->len);
	ft->n = fonts->len;
	for (guint i = 0; i < fonts->len; i++) {
		const Font *f = fonts->pdata[i];
		gsize len;
		const FT_Byte *bytes = g_bytes_get_data(f->data, &len);
		fe = FT_New_Memory_Face(ft->lib, bytes, (FT_Long)len, 0, &ft->faces[i]);
		if (fe) {
			ft->faces[i] = NULL;
			g_set_error(error, CARD_ERROR, CARD_ERROR_FAILED,
				    "FreeType: cannot open %s (%d)", f->path, fe);
			ft_close(ft);
			return -1;
		}
	}
	return 0;
}

/* ---- runs: a string as glyphs with their advances in font units ---- */

typedef struct {
	int n;
	gunichar *cp;   /* the characters, whitespace folded to single spaces */
	FT_UInt *glyph;
	long *adv;      /* advance of each glyph */
	long *pos;      /* pen position before each glyph on one line (n + 1 entries) */
} Run;

static void
run_clear(Run *r)
{
	g_free(r->cp);
	g_free(r->glyph);
	g_free(r->adv);
	g_free(r->pos);
	memset(r, 0, sizeof *r);
}

/* Width of characters [A, B) set on one line, in font units. */
static long
run_width(const Run *r, int a, int b)
{
	if (b <= a)
		return 0;
	/* pos[b] includes the kerning between b-1 and b, which does not show. */
	return r->pos[b - 1] + r->adv[b - 1] - r->pos[a];
}

/*
 * Turns TEXT into R with FACE: folds whitespace, refuses control characters
 * and characters the font lacks (a .notdef box on a card is a misprint, never
 * a fallback).  FIELD and FONT_PATH name them in the error.
 */
static int
run_prepare(Run *r, FT_Face face, const char *font_path, const char *text, const char *field,
	    GError **error)
{
	memset(r, 0, sizeof *r);
	if (!g_utf8_validate(text, -1, NULL)) {
		g_set_error(error, CARD_ERROR, CARD_ERROR_INPUT, "%s: not valid UTF-8", field);
		return -1;
	}
	glong cap = g_utf8_strlen(text, -1);
	r->cp = g_new(gunichar, cap + 1);
	gboolean space = TRUE; /* drops leading whitespace */
	for (const char *p = text; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (g_unichar_isspace(c)) {
			if (!space)
				r->cp[r->n++] = ' ';
			space = TRUE;
			continue;
		}
		if (g_unichar_iscntrl(c) || !g_unichar_isdefined(c)) {
			g_set_error(error, CARD_ERROR, CARD_ERROR_INPUT,
				    "%s: character U+%04X cannot be printed", field, c);
			run_clear(r);
			return -1;
		}
		r->cp[r->n++] = c;
		space = FALSE;
	}
	if (r->n > 0 && r->cp[r->n - 1] == ' ')
		r->n--;

	r->glyph = g_new(FT_UInt, r->n + 1);
	r->adv = g_new0(long, r->n + 1);
	r->pos = g_new0(long, r->n + 1);
	for (int i = 0; i < r->n; i++) {
		r->glyph[i] = FT_Get_Char_Index(face, r->cp[i]);
		if (r->glyph[i] == 0) {
			char utf8[8] = { 0 };
			g_unichar_to_utf8(r->cp[i], utf8);
			g_set_error(error, CARD_ERROR, CARD_ERROR_INPUT,
				    "%s: the font %s has no glyph for '%s' (U+%04X)", field,
				    font_path, utf8, r->cp[i]);
			run_clear(r);
			return -1;
		}
		FT_Fixed a = 0;
		FT_Error fe = FT_Get_Advance(face, r->glyph[i], FT_LOAD_NO_SCALE, &a);
		if (fe) {
			g_set_error(error, CARD_ERROR, CARD_ERROR_FAILED,
				    "%s: FreeType: no advance for U+%04X in %s (%d)", field,
				    r->cp[i], font_path, fe);
			run_clear(r);
			return -1;
		}
		r->adv[i] = (long)a;
	}
	for (int i = 0; i < r->n; i++) {
		long kern = 0;
		if (i + 1 < r->n && FT_HAS_KERNING(face)) {
			FT_Vector k;
			if (FT_Get_Kerning(face, r->glyph[i], r->glyph[i + 1], FT_KERNING_UNSCALED,
					   &k) == 0)
				kern = (long)k.x;
		}
		r->pos[i + 1] = r->pos[i] + r->adv[i] + kern;
	}
	return 0;
}

/* A line of characters from START may end at J: before a space (which it
 * drops), after '-' or '/', or at END. */
static gboolean
can_break(const Run *r, int start, int j, int end)
{
	if (j >= end || r->cp[j] == ' ')
		return TRUE;
	return j > start && (r->cp[j - 1] == '-' || r->cp[j - 1] == '/');
}

typedef struct {
	int nlines;
	int start[MAX_LINES], end[MAX_LINES];
	/* When the text did not fit: */
	int rest;             /* first character left over after the last line, or -1 */
	int stuck_a, stuck_b; /* a piece that fits no line by itself, or -1 */
} Wrap;

/*
 * Greedy wrap of characters [0, END) of R into at most MAX lines of WIDTH
 * font units.  Returns TRUE when all are placed; otherwise W says what was
 * left over.
 */
static gboolean
wrap(const Run *r, int end, double width, int max, Wrap *w)
{
	memset(w, 0, sizeof *w);
	w->rest = w->stuck_a = w->stuck_b = -1;
	int a = 0;
	while (a < end) {
		if (w->nlines == max) {
			w->rest = a;
			return FALSE;
		}
		int best = -1;
		for (int j = a + 1; j <= end; j++)
			if (can_break(r, a, j, end) && run_width(r, a, j) <= width)
				best = j;
		if (best < 0) {
			int j = a + 1;
			while (!can_break(r, a, j, end))
				j++;
			w->stuck_a = a;
			w->stuck_b = j;
			return FALSE;
		}
		w->start[w->nlines] = a;
		w->end[w->nlines] = best;
		w->nlines++;
		a = best;
		while (a < end && r->cp[a] == ' ')
			a++;
	}
	return TRUE;
}

/* How many lines box B holds at SIZE: the first baseline stays where the
 * nominal size puts it (level with the label), the last descent inside. */
static int
lines_that_fit(const Box *b, const Font *f, double size)
{
	double room = b->h - ascent_px(f, b->size) - descent_px(f, size);
	if (room < -1e-6)
		return 0;
	int n = 1 + (int)floor(room / line_px(f, size) + 1e-6);
	return MIN(n, b->max_lines);
}

/* ---- the layout file ---- */

/* Where each group and key of the file stands: "group" or "group\nkey" → line. */
typedef struct {
	const char *file;
	GHashTable *lines;
	GKeyFile *kf;
	char *dir; /* relative font paths resolve against it */
} Src;

static int
src_line(const Src *s, const char *group, const char *key)
{
	g_autofree char *k = key ? g_strdup_printf("%s\n%s", group, key) : g_strdup(group);
	return GPOINTER_TO_INT(g_hash_table_lookup(s->lines, k));
}

static void
fail_at(GError **error, int code, const char *file, int line, const char *fmt, ...)
	G_GNUC_PRINTF(5, 6);

static void
fail_at(GError **error, int code, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (line > 0)
		g_set_error(error, CARD_ERROR, code, "%s:%d: %s", file, line, why);
	else
		g_set_error(error, CARD_ERROR, code, "%s: %s", file, why);
}

/* A key's own line, or its group's when the key is not in the file. */
static int
key_line(const Src *s, const char *group, const char *key)
{
	int line = src_line(s, group, key);
	return line ? line : src_line(s, group, NULL);
}

static int
box_of_group(const char *group)
{
	for (int i = 0; i < BOX_N; i++)
		if (strcmp(specs[i].group, group) == 0)
			return i;
	return -1;
}

static gboolean
in_list(const char *const *list, const char *key)
{
	for (; *list; list++)
		if (strcmp(*list, key) == 0)
			return TRUE;
	return FALSE;
}

static gboolean
key_known(const char *group, const char *key)
{
	if (strcmp(group, "card") == 0)
		return in_list(card_keys, key);
	int id = box_of_group(group);
	if (id < 0)
		return FALSE;
	if (!is_text(id))
		return in_list(image_keys, key);
	return in_list(text_keys, key) || (has_label(id) && in_list(label_keys, key));
}

/*
 * Walks TEXT with GKeyFile's line rules ('#' comments, "[group]",
 * "key = value"), recording every line and refusing unknown groups, unknown
 * keys and repeats, so that later messages can name the line.
 */
static int
src_index(Src *s, const char *text, GError **error)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	g_autofree char *group = NULL;
	for (int i = 0; lines[i]; i++) {
		int ln = i + 1;
		char *t = g_strstrip(lines[i]);
		if (*t == '\0' || *t == '#')
			continue;
		if (*t == '[') {
			char *end = strrchr(t, ']');
			if (!end || end[1] != '\0') {
				fail_at(error, CARD_ERROR_LAYOUT, s->file, ln,
					"malformed group header");
				return -1;
			}
			*end = '\0';
			g_free(group);
			group = g_strdup(t + 1);
			if (strcmp(group, "card") != 0 && box_of_group(group) < 0) {
				fail_at(error, CARD_ERROR_LAYOUT, s->file, ln,
					"unknown group [%s] (the groups are [card] and one per "
					"box: [province], [name], [photo], ...)",
					group);
				return -1;
			}
			int first = src_line(s, group, NULL);
			if (first) {
				fail_at(error, CARD_ERROR_LAYOUT, s->file, ln,
					"group [%s] given twice (first at line %d)", group, first);
				return -1;
			}
			g_hash_table_insert(s->lines, g_strdup(group), GINT_TO_POINTER(ln));
			continue;
		}
		char *eq = strchr(t, '=');
		if (!eq) {
			fail_at(error, CARD_ERROR_LAYOUT, s->file, ln,
				"expected \"key = value\", a [group] or a # comment");
			return -1;
		}
		*eq = '\0';
		char *key = g_strstrip(t);
		if (!group) {
			fail_at(error, CARD_ERROR_LAYOUT, s->file, ln,
				"key '%s' before any [group]", key);
			return -1;
		}
		if (!key_known(group, key)) {
			fail_at(error, CARD_ERROR_LAYOUT, s->file, ln, "[%s] %s: unknown key",
				group, key);
			return -1;
		}
		int first = src_line(s, group, key);
		if (first) {
			fail_at(error, CARD_ERROR_LAYOUT, s->file, ln,
				"[%s] %s: given twice (first at line %d)", group, key, first);
			return -1;
		}
		g_hash_table_insert(s->lines, g_strdup_printf("%s\n%s", group, key),
				    GINT_TO_POINTER(ln));
	}
	return 0;
}

/* The value of GROUP/KEY (caller frees), or NULL when absent or unreadable (ERROR set then). */
static char *
src_string(const Src *s, const char *group, const char *key, GError **error)
{
	if (!g_key_file_has_key(s->kf, group, key, NULL))
		return NULL;
	GError *e = NULL;
	char *v = g_key_file_get_string(s->kf, group, key, &e);
	if (!v) {
		fail_at(error, CARD_ERROR_LAYOUT, s->file, key_line(s, group, key), "[%s] %s: %s",
			group, key, e->message);
		g_error_free(e);
		return NULL;
	}
	return g_strstrip(v);
}

/* A whole number in [MIN, MAX]; DEF when absent, or required when REQUIRED. */
static int
src_int(const Src *s, const char *group, const char *key, gboolean required, int def, int min,
	int max, int *out, GError **error)
{
	GError *e = NULL;
	g_autofree char *v = src_string(s, group, key, &e);
	if (e) {
		g_propagate_error(error, e);
		return -1;
	}
	if (!v) {
		if (required) {
			fail_at(error, CARD_ERROR_LAYOUT, s->file, src_line(s, group, NULL),
				"[%s] %s: required", group, key);
			return -1;
		}
		*out = def;
		return 0;
	}
	gint64 n;
	if (!g_ascii_string_to_signed(v, 10, min, max, &n, NULL)) {
		fail_at(error, CARD_ERROR_LAYOUT, s->file, key_line(s, group, key),
			"[%s] %s: '%s' is not a whole number from %d to %d", group, key, v, min,
			max);
		return -1;
	}
	*out = (int)n;
	return 0;
}

/* A number of points in [POINTS_MIN, POINTS_MAX]; DEF when absent. */
static int
src_points(const Src *s, const char *group, const char *key, double def, double *out,
	   GError **error)
{
	GError *e = NULL;
	g_autofree char *v = src_string(s, group, key, &e);
	if (e) {
		g_propagate_error(error, e);
		return -1;
	}
	if (!v) {
		*out = def;
		return 0;
	}
	char *end = NULL;
	double d = g_ascii_strtod(v, &end);
	if (end == v || *end != '\0' || !isfinite(d) || d < POINTS_MIN || d > POINTS_MAX) {
		fail_at(error, CARD_ERROR_LAYOUT, s->file, key_line(s, group, key),
			"[%s] %s: '%s' is not a size from %g to %g points", group, key, v,
			POINTS_MIN, POINTS_MAX);
		return -1;
	}
	*out = d;
	return 0;
}

static int
src_colour(const Src *s, const char *group, const char *key, guint32 def, guint8 out[3],
	   GError **error)
{
	GError *e = NULL;
	g_autofree char *v = src_string(s, group, key, &e);
	if (e) {
		g_propagate_error(error, e);
		return -1;
	}
	guint32 rgb = def;
	if (v) {
		guint64 n;
		if (v[0] != '#' || strlen(v) != 7 ||
		    !g_ascii_string_to_unsigned(v + 1, 16, 0, 0xFFFFFF, &n, NULL)) {
			fail_at(error, CARD_ERROR_LAYOUT, s->file, key_line(s, group, key),
				"[%s] %s: '%s' is not a colour #RRGGBB", group, key, v);
			return -1;
		}
		rgb = (guint32)n;
	}
	out[0] = (guint8)(rgb >> 16);
	out[1] = (guint8)(rgb >> 8);
	out[2] = (guint8)rgb;
	return 0;
}

static void
font_free(gpointer p)
{
	Font *f = p;
	g_free(f->path);
	if (f->data)
		g_bytes_unref(f->data);
	g_free(f);
}

/* Loads the font file PATH into L (once per path); its index, or -1 with
 * ERROR naming GROUP/KEY at its line. */
static int
font_add(CardLayout *l, const Src *s, const char *group, const char *key, const char *path,
	 GError **error)
{
	g_autofree char *full = g_path_is_absolute(path) ? g_strdup(path)
							 : g_build_filename(s->dir, path, NULL);
	for (guint i = 0; i < l->fonts->len; i++)
		if (strcmp(((Font *)l->fonts->pdata[i])->path, full) == 0)
			return (int)i;

	int line = key_line(s, group, key);
	const char *given = src_line(s, group, key) ? "" : " (the default)";
	char *bytes = NULL;
	gsize len = 0;
	GError *e = NULL;
	if (!g_file_get_contents(full, &bytes, &len, &e)) {
		fail_at(error, CARD_ERROR_FONT, s->file, line, "[%s] %s%s: cannot read %s: %s",
			group, key, given, full, e->message);
		g_error_free(e);
		return -1;
	}
	Font *f = g_new0(Font, 1);
	f->path = g_steal_pointer(&full);
	f->data = g_bytes_new_take(bytes, len);
	if (len > FONT_MAX_BYTES) {
		fail_at(error, CARD_ERROR_FONT, s->file, line,
			"[%s] %s%s: %s is larger than %d MiB", group, key, given, f->path,
			FONT_MAX_BYTES >> 20);
		font_free(f);
		return -1;
	}
	FT_Library lib;
	FT_Face face;
	if (FT_Init_FreeType(&lib)) {
		g_set_error(error, CARD_ERROR, CARD_ERROR_FAILED,
			    "FreeType: initialisation failed");
		font_free(f);
		return -1;
	}
	FT_Error fe = FT_New_Memory_Face(lib, (const FT_Byte *)bytes, (FT_Long)len, 0, &face);
	if (fe || !FT_IS_SCALABLE(face) || face->units_per_EM == 0 || face->ascender <= 0 ||
	    face->height <= 0) {
		fail_at(error, CARD_ERROR_FONT, s->file, line,
			"[%s] %s%s: %s is not a scalable font FreeType can read", group, key, given,
			f->path);
		if (!fe)
			FT_Done_Face(face);
		FT_Done_FreeType(lib);
		font_free(f);
		return -1;
	}
	f->upem = face->units_per_EM;
	f->ascender = face->ascender;
	f->descender = -face->descender;
	f->height = face->height;
	FT_Done_Face(face);
	FT_Done_FreeType(lib);
	g_ptr_array_add(l->fonts, f);
	return (int)l->fonts->len - 1;
}

/* A font key: "regular", "bold" (the [card] fonts) or a file; DEF when absent. */
static int
src_font(CardLayout *l, const Src *s, const char *group, const char *key, int regular, int bold,
	 int def, int *out, GError **error)
{
	GError *e = NULL;
	g_autofree char *v = src_string(s, group, key, &e);
	if (e) {
		g_propagate_error(error, e);
		return -1;
	}
	if (!v)
		*out = def;
	else if (strcmp(v, "regular") == 0)
		*out = regular;
	else if (strcmp(v, "bold") == 0)
		*out = bold;
	else if (*v == '\0') {
		fail_at(error, CARD_ERROR_LAYOUT, s->file, key_line(s, group, key),
			"[%s] %s: empty (give regular, bold or a font file)", group, key);
		return -1;
	} else
		*out = font_add(l, s, group, key, v, error);
	return *out < 0 ? -1 : 0;
}

static int
src_align(const Src *s, const char *group, Align *out, GError **error)
{
	GError *e = NULL;
	g_autofree char *v = src_string(s, group, "align", &e);
	if (e) {
		g_propagate_error(error, e);
		return -1;
	}
	if (!v || strcmp(v, "left") == 0)
		*out = ALIGN_LEFT;
	else if (strcmp(v, "centre") == 0 || strcmp(v, "center") == 0)
		*out = ALIGN_CENTRE;
	else if (strcmp(v, "right") == 0)
		*out = ALIGN_RIGHT;
	else {
		fail_at(error, CARD_ERROR_LAYOUT, s->file, key_line(s, group, "align"),
			"[%s] align: '%s' is not one of left, centre, right", group, v);
		return -1;
	}
	return 0;
}

/* The group a labelled row's KEY comes from: its own, or [card] when it
 * inherits the value from there. */
static const char *
label_key_group(const Src *s, const char *group, const char *key)
{
	if (src_line(s, group, key) || !src_line(s, "card", key))
		return group;
	return "card";
}

/* A rectangle a box takes on the card, for the overlap check. */
typedef struct {
	int x0, y0, x1, y1; /* [x0, x1) x [y0, y1) */
	BoxId id;
	gboolean label; /* the label strip, not the value box */
} Rect;

static gboolean
rects_overlap(const Rect *a, const Rect *b)
{
	return a->x0 < b->x1 && b->x0 < a->x1 && a->y0 < b->y1 && b->y0 < a->y1;
}

/* Width of TEXT in FONT at SIZE, in pixels (rounded up), into *OUT. */
static int
text_px(FT_Face face, const Font *font, double size, const char *text, const char *what,
	int *out, GError **error)
{
	Run r;
	if (run_prepare(&r, face, font->path, text, what, error) < 0)
		return -1;
	*out = (int)ceil(run_width(&r, 0, r.n) * px_per_unit(font, size));
	run_clear(&r);
	return 0;
}

/*
 * The checks that need more than one key: every box on the card, each text
 * box tall enough for one line at its size and for max_lines lines at its
 * min_size, every label (both religion labels) within label_x..colon_x and
 * the colon before the value, and no two boxes or label strips overlapping.
 */
static int
layout_check(const CardLayout *l, const Src *s, GError **error)
{
	Ft ft;
	if (ft_open(&ft, l->fonts, error) < 0)
		return -1;
	int rc = -1;
	Rect rects[2 * BOX_N];
	int nrects = 0;

	for (int id = 0; id < BOX_N; id++) {
		const Box *b = &l->box[id];
		const char *g = specs[id].group;
		if (b->x + b->w > CARD_WIDTH) {
			fail_at(error, CARD_ERROR_LAYOUT, s->file, key_line(s, g, "w"),
				"[%s] w: x + w = %d is past the card's right edge (%d)", g,
				b->x + b->w, CARD_WIDTH);
			goto out;
		}
		if (b->y + b->h > CARD_HEIGHT) {
			fail_at(error, CARD_ERROR_LAYOUT, s->file, key_line(s, g, "h"),
				"[%s] h: y + h = %d is past the card's bottom edge (%d)", g,
				b->y + b->h, CARD_HEIGHT);
			goto out;
		}
		rects[nrects++] = (Rect){ b->x, b->y, b->x + b->w, b->y + b->h, id, FALSE };
		if (!is_text(id))
			continue;

		const Font *f = l->fonts->pdata[b->font];
		if (b->min_size > b->size) {
			fail_at(error, CARD_ERROR_LAYOUT, s->file, key_line(s, g, "min_size"),
				"[%s] min_size: %g is larger than size (%g)", g, b->min_size,
				b->size);
			goto out;
		}
		double one = ascent_px(f, b->size) + descent_px(f, b->size);
		if (one > b->h + 1e-6) {
			fail_at(error, CARD_ERROR_LAYOUT, s->file, key_line(s, g, "h"),
				"[%s] h: %d dots cannot hold one line at %g pt (%.0f dots)", g,
				b->h, b->size, ceil(one));
			goto out;
		}
		if (lines_that_fit(b, f, b->min_size) < b->max_lines) {
			double need = ascent_px(f, b->size) +
				      (b->max_lines - 1) * line_px(f, b->min_size) +
				      descent_px(f, b->min_size);
			fail_at(error, CARD_ERROR_LAYOUT, s->file, key_line(s, g, "max_lines"),
				"[%s] max_lines: %d lines at min_size %g pt need h = %.0f dots, "
				"the box has %d",
				g, b->max_lines, b->min_size, ceil(need), b->h);
			goto out;
		}
		if (!has_label(id))
			continue;

		const Font *lf = l->fonts->pdata[b->label_font];
		FT_Face lface = ft.faces[b->label_font];
		if (b->colon_x <= b->label_x) {
			fail_at(error, CARD_ERROR_LAYOUT, s->file, key_line(s, g, "colon_x"),
				"[%s] colon_x: %d is not right of label_x (%d)", g, b->colon_x,
				b->label_x);
			goto out;
		}
		const char *labels[] = { specs[id].label, specs[id].label_alt };
		for (int k = 0; k < 2 && labels[k]; k++) {
			int wpx;
			if (text_px(lface, lf, b->label_size, labels[k], g, &wpx, error) < 0)
				goto out;
			if (b->label_x + wpx > b->colon_x) {
				const char *at = label_key_group(s, g, "colon_x");
				g_autofree char *of = strcmp(at, g) == 0
							      ? g_strdup("")
							      : g_strdup_printf(" of [%s]", g);
				fail_at(error, CARD_ERROR_LAYOUT, s->file,
					key_line(s, at, "colon_x"),
					"[%s] colon_x: the label \"%s\"%s is %d dots wide at %g pt "
					"and reaches x = %d, past colon_x (%d)",
					at, labels[k], of, wpx, b->label_size, b->label_x + wpx,
					b->colon_x);
				goto out;
			}
		}
		int colon_w;
		if (text_px(lface, lf, b->label_size, ":", g, &colon_w, error) < 0)
			goto out;
		if (b->colon_x + colon_w > b->x) {
			fail_at(error, CARD_ERROR_LAYOUT, s->file, key_line(s, g, "x"),
				"[%s] x: the value starts at %d, over the colon (%d to %d)", g,
				b->x, b->colon_x, b->colon_x + colon_w);
			goto out;
		}
		double base = b->y + ascent_px(f, b->size);
		if (base - ascent_px(lf, b->label_size) < b->y - 1e-6 ||
		    base + descent_px(lf, b->label_size) > b->y + b->h + 1e-6) {
			fail_at(error, CARD_ERROR_LAYOUT, s->file, key_line(s, g, "label_size"),
				"[%s] label_size: a %g pt label does not fit the row's height (%d "
				"dots)",
				g, b->label_size, b->h);
			goto out;
		}
		rects[nrects++] = (Rect){ b->label_x, b->y, b->x, b->y + b->h, id, TRUE };
	}

	for (int i = 0; i < nrects; i++)
		for (int j = i + 1; j < nrects; j++) {
			if (rects[i].id == rects[j].id || !rects_overlap(&rects[i], &rects[j]))
				continue;
			const Rect *a = &rects[i], *b = &rects[j];
			/* Report at the later of the two groups in the file. */
			const Rect *at = l->box[a->id].line > l->box[b->id].line ? a : b;
			const Rect *other = at == a ? b : a;
			fail_at(error, CARD_ERROR_LAYOUT, s->file, l->box[at->id].line,
				"[%s]: its %s overlaps the %s of [%s] (line %d)",
				specs[at->id].group, at->label ? "label" : "box",
				other->label ? "label" : "box", specs[other->id].group,
				l->box[other->id].line);
			goto out;
		}
	rc = 0;
out:
	ft_close(&ft);
	return rc;
}

static CardLayout *
layout_parse(Src *s, const char *text, GError **error)
{
	g_autoptr(CardLayout) l = g_new0(CardLayout, 1);
	g_autofree char *regular_path = NULL, *bold_path = NULL;
	GError *e = NULL;
	const char *c = "card";
	int regular, bold, label_x, colon_x, label_font;
	double label_size;

	l->fonts = g_ptr_array_new_with_free_func(font_free);
	if (src_index(s, text, error) < 0)
		return NULL;
	if (!g_key_file_load_from_data(s->kf, text, (gsize)-1, G_KEY_FILE_NONE, &e)) {
		fail_at(error, CARD_ERROR_LAYOUT, s->file, 0, "%s", e->message);
		g_error_free(e);
		return NULL;
	}

	/* [card] */
	regular_path = src_string(s, c, "font", &e);
	if (e)
		goto fail;
	bold_path = src_string(s, c, "bold_font", &e);
	if (e)
		goto fail;
	regular = font_add(l, s, c, "font", regular_path ? regular_path : CARD_FONT_REGULAR,
			       &e);
	if (regular < 0)
		goto fail;
	bold = font_add(l, s, c, "bold_font", bold_path ? bold_path : CARD_FONT_BOLD, &e);
	if (bold < 0)
		goto fail;
	if (src_colour(s, c, "background", 0xFFFFFF, l->background, &e) < 0 ||
	    src_colour(s, c, "ink", 0x000000, l->ink, &e) < 0)
		goto fail;
	if (MIN(l->background[0], MIN(l->background[1], l->background[2])) < BACKGROUND_MIN) {
		fail_at(&e, CARD_ERROR_LAYOUT, s->file, key_line(s, c, "background"),
			"[card] background: #%02X%02X%02X is too dark for black text (every "
			"channel must be at least #%02X)",
			l->background[0], l->background[1], l->background[2], BACKGROUND_MIN);
		goto fail;
	}
	if (src_int(s, c, "label_x", TRUE, 0, 0, CARD_WIDTH - 1, &label_x, &e) < 0 ||
	    src_int(s, c, "colon_x", TRUE, 0, 0, CARD_WIDTH - 1, &colon_x, &e) < 0 ||
	    src_font(l, s, c, "label_font", regular, bold, regular, &label_font, &e) < 0 ||
	    src_points(s, c, "label_size", 8.0, &label_size, &e) < 0)
		goto fail;

	/* the boxes */
	for (int id = 0; id < BOX_N; id++) {
		const char *g = specs[id].group;
		Box *b = &l->box[id];
		b->line = src_line(s, g, NULL);
		if (!b->line) {
			fail_at(&e, CARD_ERROR_LAYOUT, s->file, 0,
				"no [%s] group: every box of the card must be placed", g);
			goto fail;
		}
		if (src_int(s, g, "x", TRUE, 0, 0, CARD_WIDTH - 1, &b->x, &e) < 0 ||
		    src_int(s, g, "y", TRUE, 0, 0, CARD_HEIGHT - 1, &b->y, &e) < 0 ||
		    src_int(s, g, "w", TRUE, 0, 1, CARD_WIDTH, &b->w, &e) < 0 ||
		    src_int(s, g, "h", TRUE, 0, 1, CARD_HEIGHT, &b->h, &e) < 0)
			goto fail;
		if (!is_text(id))
			continue;
		if (src_font(l, s, g, "font", regular, bold, regular, &b->font, &e) < 0 ||
		    src_points(s, g, "size", 8.0, &b->size, &e) < 0 ||
		    src_points(s, g, "min_size", b->size, &b->min_size, &e) < 0 ||
		    src_int(s, g, "max_lines", FALSE, 1, 1, MAX_LINES, &b->max_lines, &e) < 0 ||
		    src_align(s, g, &b->align, &e) < 0)
			goto fail;
		if (!has_label(id))
			continue;
		if (src_int(s, g, "label_x", FALSE, label_x, 0, CARD_WIDTH - 1, &b->label_x, &e) <
			    0 ||
		    src_int(s, g, "colon_x", FALSE, colon_x, 0, CARD_WIDTH - 1, &b->colon_x, &e) <
			    0 ||
		    src_font(l, s, g, "label_font", regular, bold, label_font, &b->label_font, &e) <
			    0 ||
		    src_points(s, g, "label_size", label_size, &b->label_size, &e) < 0)
			goto fail;
	}
	if (layout_check(l, s, &e) < 0)
		goto fail;
	return g_steal_pointer(&l);

fail:
	g_propagate_error(error, e);
	return NULL;
}

static CardLayout *
layout_load(const char *text, const char *file, const char *dir, GError **error)
{
	Src s = {
		.file = file,
		.lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
		.kf = g_key_file_new(),
		.dir = g_strdup(dir),
	};
	CardLayout *l = layout_parse(&s, text, error);
	g_hash_table_unref(s.lines);
	g_key_file_unref(s.kf);
	g_free(s.dir);
	return l;
}

CardLayout *
card_layout_load(const char *path, GError **error)
{
	g_autofree char *text = NULL;
	GError *e = NULL;
	if (!g_file_get_contents(path, &text, NULL, &e)) {
		g_set_error(error, CARD_ERROR, CARD_ERROR_LAYOUT, "%s", e->message);
		g_error_free(e);
		return NULL;
	}
	g_autofree char *dir = g_path_get_dirname(path);
	return layout_load(text, path, dir, error);
}

CardLayout *
card_layout_load_data(const char *text, const char *name, GError **error)
{
	g_autofree char *dir = g_get_current_dir();
	return layout_load(text, name, dir, error);
}

void
card_layout_free(CardLayout *layout)
{
	if (!layout)
		return;
	if (layout->fonts)
		g_ptr_array_unref(layout->fonts);
	g_free(layout);
}

/* ---- from CardFace to printed strings ---- */

/* "YYYY-MM-DD" or "DD-MM-YYYY" of a real date, as "DD-MM-YYYY" (caller frees), or NULL. */
static char *
date_printed(const char *s)
{
	if (strlen(s) != 10)
		return NULL;
	for (int i = 0; i < 10; i++) {
		gboolean dash = s[i] == '-';
		gboolean want = (s[4] == '-') ? (i == 4 || i == 7) : (i == 2 || i == 5);
		if (dash != want || (!dash && !g_ascii_isdigit(s[i])))
			return NULL;
	}
	int d, m, y;
	if (s[4] == '-') {
		y = atoi(s);
		m = atoi(s + 5);
		d = atoi(s + 8);
	} else {
		d = atoi(s);
		m = atoi(s + 3);
		y = atoi(s + 6);
	}
	if (y < 1 || !g_date_valid_dmy((GDateDay)d, (GDateMonth)m, (GDateYear)y))
		return NULL;
	return g_strdup_printf("%02d-%02d-%04d", d, m, y);
}

typedef struct {
	char *text[BOX_TEXT_N]; /* what each text box prints */
	gboolean believer;
} Printed;

static void
printed_clear(Printed *p)
{
	for (int i = 0; i < BOX_TEXT_N; i++)
		g_clear_pointer(&p->text[i], g_free);
}

/* NULL, "" or only white space. */
static gboolean
missing(const char *s)
{
	if (!s)
		return TRUE;
	for (; *s; s++)
		if (!g_ascii_isspace(*s))
			return FALSE;
	return TRUE;
}

static int
check_image(const Image *img, int channels, const char *field, GError **error)
{
	if (!img || !img->pixels || img->width < 1 || img->height < 1) {
		g_set_error(error, CARD_ERROR, CARD_ERROR_INPUT, "%s: missing", field);
		return -1;
	}
	if (img->channels != channels) {
		g_set_error(error, CARD_ERROR, CARD_ERROR_INPUT, "%s: %d channels, not %d (%s)",
			    field, img->channels, channels, channels == 3 ? "RGB" : "grey");
		return -1;
	}
	return 0;
}

/* The strings FACE prints, into P (cleared on failure). */
static int
printed_make(const CardFace *face, Printed *p, GError **error)
{
	memset(p, 0, sizeof *p);
	const struct {
		const char *name, *value;
	} required[] = {
		{ "province_name", face->province_name }, { "regency_name", face->regency_name },
		{ "nik", face->nik }, { "name", face->name }, { "birth_place", face->birth_place },
		{ "birth_date", face->birth_date }, { "gender", face->gender },
		{ "blood_type", face->blood_type }, { "address", face->address },
		{ "rt_rw", face->rt_rw }, { "village", face->village },
		{ "kecamatan", face->kecamatan }, { "religion", face->religion },
		{ "marital_status", face->marital_status }, { "occupation", face->occupation },
		{ "citizenship", face->citizenship }, { "valid_until", face->valid_until },
		{ "issue_place", face->issue_place }, { "issue_date", face->issue_date },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(required); i++) {
		if (missing(required[i].value)) {
			g_set_error(error, CARD_ERROR, CARD_ERROR_INPUT, "%s: missing",
				    required[i].name);
			return -1;
		}
		if (!g_utf8_validate(required[i].value, -1, NULL)) {
			g_set_error(error, CARD_ERROR, CARD_ERROR_INPUT, "%s: not valid UTF-8",
				    required[i].name);
			return -1;
		}
	}
	if (check_image(face->photo, 3, "photo", error) < 0 ||
	    check_image(face->signature, 1, "signature", error) < 0)
		return -1;

	g_autofree char *birth = date_printed(face->birth_date);
	g_autofree char *issued = date_printed(face->issue_date);
	if (!birth || !issued) {
		g_set_error(error, CARD_ERROR, CARD_ERROR_INPUT,
			    "%s: '%s' is not a date YYYY-MM-DD (or DD-MM-YYYY)",
			    birth ? "issue_date" : "birth_date",
			    birth ? face->issue_date : face->birth_date);
		return -1;
	}
	g_autofree char *province = g_utf8_strup(face->province_name, -1);
	p->text[BOX_PROVINCE] = g_strconcat("PROVINSI ", province, NULL);
	p->text[BOX_REGENCY] = g_strdup(face->regency_name);
	p->text[BOX_NIK] = g_strdup(face->nik);
	p->text[BOX_NAME] = g_strdup(face->name);
	p->text[BOX_BIRTH] = g_strdup_printf("%s, %s", face->birth_place, birth);
	p->text[BOX_GENDER] = g_strdup(face->gender);
	/* An unknown type is commonly printed "-" (ektp-domain.md 2.3). */
	p->text[BOX_BLOOD_TYPE] =
		g_strdup(strcmp(face->blood_type, "TIDAK TAHU") == 0 ? "-" : face->blood_type);
	p->text[BOX_ADDRESS] = g_strdup(face->address);
	p->text[BOX_RT_RW] = g_strdup(face->rt_rw);
	p->text[BOX_VILLAGE] = g_strdup(face->village);
	p->text[BOX_KECAMATAN] = g_strdup(face->kecamatan);
	p->text[BOX_RELIGION] = g_strdup(face->religion);
	p->text[BOX_MARITAL_STATUS] = g_strdup(face->marital_status);
	p->text[BOX_OCCUPATION] = g_strdup(face->occupation);
	p->text[BOX_CITIZENSHIP] = g_strdup(face->citizenship);
	p->text[BOX_VALID_UNTIL] = g_strdup(face->valid_until);
	p->text[BOX_ISSUE_PLACE] = g_strdup(face->issue_place);
	p->text[BOX_ISSUE_DATE] = g_steal_pointer(&issued);
	p->believer = strcmp(face->religion, CARD_KEPERCAYAAN) == 0;
	return 0;
}

/* ---- measuring ---- */

typedef struct {
	Run run[BOX_TEXT_N];
	Run label[BOX_TEXT_N]; /* labelled rows: the label; the colon is drawn by itself */
	double size[BOX_TEXT_N];
	Wrap wrap[BOX_TEXT_N];
} Fitted;

static void
fitted_clear(Fitted *f)
{
	for (int i = 0; i < BOX_TEXT_N; i++) {
		run_clear(&f->run[i]);
		run_clear(&f->label[i]);
	}
}

/*
 * Fits R into box B: the largest size from b->size down to b->min_size at
 * which it wraps into the lines the box holds.  Returns 0 with *SIZE and W
 * set, or -1 with a sentence saying by how much it is too long in *WHY.
 */
static int
fit_box(const Box *b, const Font *f, const Run *r, double *size, Wrap *w, char **why)
{
	int steps = (int)ceil((b->size - b->min_size) / SIZE_STEP - 1e-9);
	for (int i = 0; i <= steps; i++) {
		double s = MAX(b->size - i * SIZE_STEP, b->min_size);
		int lines = lines_that_fit(b, f, s);
		if (lines > 0 && wrap(r, r->n, b->w / px_per_unit(f, s), lines, w)) {
			*size = s;
			return 0;
		}
	}
	/*
	 * Say by how much, at min_size, where the layout guarantees max_lines
	 * lines: a word wider than the box by itself, or else how many
	 * characters must go from the end and how far the last line would run
	 * past the box if it took all that is left.
	 */
	double k = px_per_unit(f, b->min_size);
	double width = b->w / k;
	wrap(r, r->n, width, b->max_lines, w);
	g_autofree char *lines =
		b->max_lines == 1 ? g_strdup_printf("on one line of %d dots", b->w)
				  : g_strdup_printf("on %d lines of %d dots", b->max_lines, b->w);
	if (w->stuck_a >= 0) {
		long wpx = (long)ceil(run_width(r, w->stuck_a, w->stuck_b) * k);
		g_autofree char *word = g_ucs4_to_utf8(r->cp + w->stuck_a, w->stuck_b - w->stuck_a,
						       NULL, NULL, NULL);
		*why = g_strdup_printf("does not fit even at %g pt %s: \"%s\" cannot be broken "
				       "and is %ld dots wide, %ld dots too long",
				       b->min_size, lines, word, wpx, wpx - b->w);
		return -1;
	}
	int last = w->nlines > 0 ? w->start[w->nlines - 1] : 0;
	long over = (long)ceil(run_width(r, last, r->n) * k) - b->w;
	int cut = 1;
	Wrap probe;
	while (cut < r->n && !wrap(r, r->n - cut, width, b->max_lines, &probe))
		cut++;
	g_autofree char *tail = g_ucs4_to_utf8(r->cp + r->n - cut, cut, NULL, NULL, NULL);
	*why = g_strdup_printf("does not fit even at %g pt %s: %d character%s too long "
			       "(\"%s\"; the last line would run %ld dots past the box)",
			       b->min_size, lines, cut, cut == 1 ? "" : "s", tail, MAX(over, 1L));
	return -1;
}

/*
 * The first pass: every printed string of FACE as glyphs of its font, fitted
 * into its box.  On failure, ERROR lists every field that does not fit
 * (CARD_ERROR_FIT), or names the first bad input (CARD_ERROR_INPUT).
 */
static int
measure(const CardLayout *l, const Ft *ft, const CardFace *face, Printed *p, Fitted *fit,
	GError **error)
{
	memset(fit, 0, sizeof *fit);
	if (printed_make(face, p, error) < 0)
		return -1;
	g_autoptr(GString) fails = g_string_new(NULL);
	for (int id = 0; id < BOX_TEXT_N; id++) {
		const Box *b = &l->box[id];
		const Font *f = l->fonts->pdata[b->font];
		if (run_prepare(&fit->run[id], ft->faces[b->font], f->path, p->text[id],
				specs[id].field, error) < 0)
			goto fail;
		if (fit->run[id].n == 0) { /* white space other than ASCII's, folded away */
			g_set_error(error, CARD_ERROR, CARD_ERROR_INPUT, "%s: missing",
				    specs[id].field);
			goto fail;
		}
		if (has_label(id)) {
			const char *label = (id == BOX_RELIGION && p->believer)
						    ? specs[id].label_alt
						    : specs[id].label;
			const Font *lf = l->fonts->pdata[b->label_font];
			if (run_prepare(&fit->label[id], ft->faces[b->label_font], lf->path, label,
					specs[id].group, error) < 0)
				goto fail;
		}
		g_autofree char *why = NULL;
		if (fit_box(b, f, &fit->run[id], &fit->size[id], &fit->wrap[id], &why) < 0)
			g_string_append_printf(fails, "%s%s: %s", fails->len ? "; " : "",
					       specs[id].field, why);
	}
	if (fails->len) {
		g_set_error(error, CARD_ERROR, CARD_ERROR_FIT, "%s", fails->str);
		goto fail;
	}
	return 0;
fail:
	printed_clear(p);
	fitted_clear(fit);
	return -1;
}

/* ---- drawing ---- */

static void
fill_rect(Image *img, int x0, int y0, int w, int h, const guint8 rgb[3])
{
	for (int y = MAX(y0, 0); y < MIN(y0 + h, img->height); y++)
		for (int x = MAX(x0, 0); x < MIN(x0 + w, img->width); x++)
			memcpy(img->pixels + ((size_t)y * img->width + x) * 3, rgb, 3);
}

/* Blends the coverage bitmap BM with its top-left corner at (X0, Y0) in INK. */
static void
blit(Image *img, const FT_Bitmap *bm, int x0, int y0, const guint8 ink[3])
{
	for (unsigned int r = 0; r < bm->rows; r++) {
		int y = y0 + (int)r;
		if (y < 0 || y >= img->height)
			continue;
		const guint8 *src = bm->buffer + (ptrdiff_t)r * bm->pitch;
		for (unsigned int c = 0; c < bm->width; c++) {
			int x = x0 + (int)c;
			unsigned a = src[c];
			if (a == 0 || x < 0 || x >= img->width)
				continue;
			guint8 *d = img->pixels + ((size_t)y * img->width + x) * 3;
			for (int k = 0; k < 3; k++)
				d[k] = (guint8)((d[k] * (255 - a) + ink[k] * a + 127) / 255);
		}
	}
}

/* Draws characters [A, B) of R with FACE at SIZE, pen starting at X on BASELINE. */
static int
draw_span(Image *img, FT_Face face, const Font *f, double size, const Run *r, int a, int b,
	  double x, int baseline, const guint8 ink[3], GError **error)
{
	FT_Error fe = FT_Set_Char_Size(face, 0, lround(size * 64.0), CARD_DPI, CARD_DPI);
	double k = px_per_unit(f, size);
	for (int i = a; i < b && !fe; i++) {
		if (r->cp[i] == ' ')
			continue;
		double gx = x + (r->pos[i] - r->pos[a]) * k;
		double ix = floor(gx);
		FT_Vector delta = { (FT_Pos)lround((gx - ix) * 64.0), 0 };
		FT_Set_Transform(face, NULL, &delta);
		fe = FT_Load_Glyph(face, r->glyph[i], FT_LOAD_NO_HINTING);
		if (!fe)
			fe = FT_Render_Glyph(face->glyph, FT_RENDER_MODE_NORMAL);
		if (!fe)
			blit(img, &face->glyph->bitmap, (int)ix + face->glyph->bitmap_left,
			     baseline - face->glyph->bitmap_top, ink);
	}
	FT_Set_Transform(face, NULL, NULL);
	if (fe) {
		g_set_error(error, CARD_ERROR, CARD_ERROR_FAILED,
			    "FreeType: cannot draw with %s (%d)", f->path, fe);
		return -1;
	}
	return 0;
}

static int
draw_text_box(Image *img, const CardLayout *l, const Ft *ft, const Fitted *fit, BoxId id,
	      GError **error)
{
	const Box *b = &l->box[id];
	const Font *f = l->fonts->pdata[b->font];
	FT_Face face = ft->faces[b->font];
	const Run *r = &fit->run[id];
	const Wrap *w = &fit->wrap[id];
	double s = fit->size[id];
	double k = px_per_unit(f, s);
	double base0 = b->y + ascent_px(f, b->size);

	if (has_label(id)) {
		const Font *lf = l->fonts->pdata[b->label_font];
		FT_Face lface = ft->faces[b->label_font];
		const Run *lr = &fit->label[id];
		Run colon;
		if (run_prepare(&colon, lface, lf->path, ":", specs[id].group, error) < 0)
			return -1;
		int rc = draw_span(img, lface, lf, b->label_size, lr, 0, lr->n, b->label_x,
				   (int)lround(base0), l->ink, error);
		if (rc == 0)
			rc = draw_span(img, lface, lf, b->label_size, &colon, 0, colon.n,
				       b->colon_x, (int)lround(base0), l->ink, error);
		run_clear(&colon);
		if (rc < 0)
			return -1;
	}
	for (int i = 0; i < w->nlines; i++) {
		double wpx = run_width(r, w->start[i], w->end[i]) * k;
		double x = b->x;
		if (b->align == ALIGN_CENTRE)
			x += (b->w - wpx) / 2.0;
		else if (b->align == ALIGN_RIGHT)
			x += b->w - wpx;
		int base = (int)lround(base0 + i * line_px(f, s));
		if (draw_span(img, face, f, s, r, w->start[i], w->end[i], x, base, l->ink, error) <
		    0)
			return -1;
	}
	return 0;
}

/*
 * The average of SRC over the footprint of destination pixel (DX, DY) when
 * SRC is stretched to DW x DH: K x K bilinear samples, K the shrink factor
 * rounded up, so a photo shrunk 2.4 times does not alias.
 */
static void
sample(const Image *src, int dw, int dh, int dx, int dy, double out[3])
{
	double fx = (double)src->width / dw, fy = (double)src->height / dh;
	int kx = MAX(1, (int)ceil(fx)), ky = MAX(1, (int)ceil(fy));
	int ch = src->channels;
	double acc[3] = { 0, 0, 0 };
	for (int j = 0; j < ky; j++)
		for (int i = 0; i < kx; i++) {
			double sx = (dx + (i + 0.5) / kx) * fx - 0.5;
			double sy = (dy + (j + 0.5) / ky) * fy - 0.5;
			sx = CLAMP(sx, 0.0, src->width - 1.0);
			sy = CLAMP(sy, 0.0, src->height - 1.0);
			int x0 = (int)sx, y0 = (int)sy;
			int x1 = MIN(x0 + 1, src->width - 1), y1 = MIN(y0 + 1, src->height - 1);
			double ax = sx - x0, ay = sy - y0;
			for (int c = 0; c < ch; c++) {
				const guint8 *p = src->pixels;
				size_t w = (size_t)src->width;
				double top = p[(y0 * w + x0) * ch + c] * (1 - ax) +
					     p[(y0 * w + x1) * ch + c] * ax;
				double bot = p[(y1 * w + x0) * ch + c] * (1 - ax) +
					     p[(y1 * w + x1) * ch + c] * ax;
				acc[c] += top * (1 - ay) + bot * ay;
			}
		}
	for (int c = 0; c < ch; c++)
		out[c] = acc[c] / (kx * ky);
}

/* SRC's size scaled to fit box B keeping its aspect, centred: into *X, *Y, *W, *H. */
static void
fit_image(const Box *b, const Image *src, int *x, int *y, int *w, int *h)
{
	double s = MIN((double)b->w / src->width, (double)b->h / src->height);
	*w = CLAMP((int)lround(src->width * s), 1, b->w);
	*h = CLAMP((int)lround(src->height * s), 1, b->h);
	*x = b->x + (b->w - *w) / 2;
	*y = b->y + (b->h - *h) / 2;
}

static int
cmp_byte(const void *a, const void *b)
{
	return *(const guint8 *)a - *(const guint8 *)b;
}

/* The photo's background: per channel, the median of its top row. */
static void
photo_background(const Image *photo, guint8 rgb[3])
{
	g_autofree guint8 *v = g_new(guint8, photo->width);
	for (int c = 0; c < 3; c++) {
		for (int x = 0; x < photo->width; x++)
			v[x] = photo->pixels[(size_t)x * 3 + c];
		qsort(v, (size_t)photo->width, 1, cmp_byte);
		rgb[c] = v[photo->width / 2];
	}
}

/* The photo in its box; where the aspects differ, the rest of the box takes
 * the photo's own background colour, so the box reads as one photo. */
static void
draw_photo(Image *img, const Box *b, const Image *photo)
{
	guint8 bg[3];
	photo_background(photo, bg);
	fill_rect(img, b->x, b->y, b->w, b->h, bg);
	int x0, y0, w, h;
	fit_image(b, photo, &x0, &y0, &w, &h);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			double v[3];
			sample(photo, w, h, x, y, v);
			guint8 *d = img->pixels + ((size_t)(y0 + y) * img->width + x0 + x) * 3;
			for (int c = 0; c < 3; c++)
				d[c] = (guint8)lround(CLAMP(v[c], 0.0, 255.0));
		}
}

/* The signature multiplied onto the card: its white vanishes into the
 * background (white or tinted), its ink darkens it. */
static void
draw_signature(Image *img, const Box *b, const Image *sig)
{
	int x0, y0, w, h;
	fit_image(b, sig, &x0, &y0, &w, &h);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			double v[3];
			sample(sig, w, h, x, y, v);
			double g = CLAMP(v[0], 0.0, 255.0) / 255.0;
			guint8 *d = img->pixels + ((size_t)(y0 + y) * img->width + x0 + x) * 3;
			for (int c = 0; c < 3; c++)
				d[c] = (guint8)lround(d[c] * g);
		}
}

/* ---- the API ---- */

int
card_check(const CardLayout *layout, const CardFace *face, GError **error)
{
	Ft ft;
	if (ft_open(&ft, layout->fonts, error) < 0)
		return -1;
	Printed p;
	Fitted fit;
	int rc = measure(layout, &ft, face, &p, &fit, error);
	if (rc == 0) {
		printed_clear(&p);
		fitted_clear(&fit);
	}
	ft_close(&ft);
	return rc;
}

int
card_render(const CardLayout *layout, const CardFace *face, Image *out, GError **error)
{
	memset(out, 0, sizeof *out);
	Ft ft;
	if (ft_open(&ft, layout->fonts, error) < 0)
		return -1;
	Printed p;
	Fitted fit;
	if (measure(layout, &ft, face, &p, &fit, error) < 0) {
		ft_close(&ft);
		return -1;
	}

	Image img = {
		.width = CARD_WIDTH,
		.height = CARD_HEIGHT,
		.channels = 3,
		.ppi = CARD_DPI,
		.pixels = g_malloc((size_t)CARD_WIDTH * CARD_HEIGHT * 3),
	};
	int rc = -1;
	fill_rect(&img, 0, 0, CARD_WIDTH, CARD_HEIGHT, layout->background);
	draw_photo(&img, &layout->box[BOX_PHOTO], face->photo);
	draw_signature(&img, &layout->box[BOX_SIGNATURE], face->signature);
	for (int id = 0; id < BOX_TEXT_N; id++)
		if (draw_text_box(&img, layout, &ft, &fit, id, error) < 0)
			goto out;
	*out = img;
	img.pixels = NULL;
	rc = 0;
out:
	image_clear(&img);
	printed_clear(&p);
	fitted_clear(&fit);
	ft_close(&ft);
	return rc;
}

GBytes *
card_render_png(const CardLayout *layout, const CardFace *face, GError **error)
{
	Image img;
	if (card_render(layout, face, &img, error) < 0)
		return NULL;
	GBytes *png = image_png_encode(&img, error);
	image_clear(&img);
	return png;
}

void
card_layout_photo_box(const CardLayout *layout, int *x, int *y, int *w, int *h)
{
	const Box *b = &layout->box[BOX_PHOTO];
	*x = b->x;
	*y = b->y;
	*w = b->w;
	*h = b->h;
}
