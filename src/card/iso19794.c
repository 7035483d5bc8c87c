/* SPDX-License-Identifier: MIT */
/*
 * ISO/IEC 19794-2:2005 finger minutiae records, written and read by hand
 * from the layout in iso19794.h: fixed-width big-endian fields, so a small
 * writer and a bounds-checked reader are all it takes.
 *
 * The card's chip is small (8 KB for everything), so the encoder can cap the
 * minutiae of each view.  It keeps the best by quality, found with a
 * threshold rather than a sort: the quality T such that fewer than the cap
 * lie above it, all those above T, then those at T in their order until the
 * cap is reached.  The kept ones are written in their original order, so a
 * record of an uncapped view lists its minutiae as the extractor gave them.
 * (ISO/IEC 19794-2:2011 clause 9.3.2 orders removal for on-card comparison
 * the same way, lowest quality first; its further tie-breaks by distance from
 * the centre of mass belong to the on-card formats, which we do not write.)
 *
 * The decoder trusts nothing: each read first checks that the bytes are
 * there (ISO19794_ERROR_TRUNCATED names the field it needed), the record
 * length must be exactly the bytes given and exactly where the last view
 * ends, and every value must be in its range (ISO19794_ERROR_FORMAT names the
 * field, with the view and minutia counted from 1).
 */
#include "card/iso19794.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

G_DEFINE_QUARK(ektp-iso19794-error-quark, iso19794_error)

static const uint8_t format_id[4] = { 'F', 'M', 'R', 0 };
static const uint8_t version_id[4] = { ' ', '2', '0', 0 };

enum {
	MAX_POSITION = 10,
	MAX_QUALITY = 100,
	MAX_U16 = 65535,
	TYPE_SHIFT = 14,
	COORD_MASK = 0x3fff,
};

int
iso19794_ppcm(int ppi)
{
	return ppi > 0 ? (int)lround(ppi / 2.54) : 0;
}

uint8_t
iso19794_angle_byte(double angle)
{
	if (!isfinite(angle))
		return 0;
	/* 256 units per turn; fmod first keeps lround far from overflow */
	double units = fmod(angle / (2.0 * G_PI), 1.0) * 256.0;
	long v = lround(units) % 256;
	return (uint8_t)(v < 0 ? v + 256 : v);
}

double
iso19794_angle_radians(uint8_t byte)
{
	return byte * (2.0 * G_PI / 256.0);
}

size_t
iso19794_record_len(guint n_views, guint n_minutiae)
{
	return ISO19794_HEADER_LEN +
	       (size_t)n_views * (ISO19794_VIEW_HEADER_LEN + ISO19794_EXTENDED_LEN) +
	       (size_t)n_minutiae * ISO19794_MINUTIA_LEN;
}

static gboolean
valid_impression(int t)
{
	return (t >= ISO19794_LIVE_PLAIN && t <= ISO19794_NONLIVE_ROLLED) ||
	       t == ISO19794_LIVE_SWIPE;
}

/* ---- encoding ---- */

static gboolean invalid(GError **error, const char *format, ...) G_GNUC_PRINTF(2, 3);

static gboolean
invalid(GError **error, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	g_autofree char *msg = g_strdup_vprintf(format, ap);
	va_end(ap);
	g_set_error_literal(error, ISO19794_ERROR, ISO19794_ERROR_INVALID, msg);
	return FALSE;
}

static gboolean
check_minutia(const Iso19794Record *rec, guint v, guint k, const Minutia *m, GError **error)
{
	if (m->type != MINUTIA_OTHER && m->type != MINUTIA_RIDGE_ENDING &&
	    m->type != MINUTIA_BIFURCATION)
		return invalid(error, "finger view %u minutia %u: type %d (not 0..2)", v + 1, k + 1,
			       (int)m->type);
	if (m->x < 0 || m->x >= rec->width || m->x > ISO19794_MAX_COORD)
		return invalid(error, "finger view %u minutia %u: x %d outside the image (0..%d)",
			       v + 1, k + 1, m->x, MIN(rec->width - 1, ISO19794_MAX_COORD));
	if (m->y < 0 || m->y >= rec->height || m->y > ISO19794_MAX_COORD)
		return invalid(error, "finger view %u minutia %u: y %d outside the image (0..%d)",
			       v + 1, k + 1, m->y, MIN(rec->height - 1, ISO19794_MAX_COORD));
	if (!isfinite(m->angle))
		return invalid(error, "finger view %u minutia %u: angle is not a number", v + 1,
			       k + 1);
	if (m->quality < 0 || m->quality > MAX_QUALITY)
		return invalid(error, "finger view %u minutia %u: quality %d (not 0..100)", v + 1,
			       k + 1, m->quality);
	return TRUE;
}

static gboolean
check_view(const Iso19794Record *rec, guint v, guint max_per_view, GError **error)
{
	const Iso19794View *view = &rec->views[v];
	if (view->position < 0 || view->position > MAX_POSITION)
		return invalid(error, "finger view %u: finger position %d (not 0..10)", v + 1,
			       view->position);
	if (view->view_number < 0 || view->view_number > 15)
		return invalid(error, "finger view %u: view number %d (not 0..15)", v + 1,
			       view->view_number);
	if (!valid_impression(view->impression))
		return invalid(error, "finger view %u: impression type %d (not 0..3 or 8)", v + 1,
			       view->impression);
	if (view->quality < 0 || view->quality > MAX_QUALITY)
		return invalid(error, "finger view %u: finger quality %d (not 0..100)", v + 1,
			       view->quality);
	if (view->n_minutiae && !view->minutiae)
		return invalid(error, "finger view %u: %u minutiae but no array", v + 1,
			       view->n_minutiae);
	guint kept = max_per_view ? MIN(view->n_minutiae, max_per_view) : view->n_minutiae;
	if (kept > ISO19794_MAX_MINUTIAE)
		return invalid(error,
			       "finger view %u: %u minutiae, more than the count's %d "
			       "(give a cap)",
			       v + 1, kept, ISO19794_MAX_MINUTIAE);
	for (guint u = 0; u < v; u++)
		if (rec->views[u].position == view->position &&
		    rec->views[u].view_number == view->view_number)
			return invalid(error,
				       "finger view %u: finger position %d view number %d "
				       "repeats finger view %u",
				       v + 1, view->position, view->view_number, u + 1);
	for (guint k = 0; k < view->n_minutiae; k++)
		if (!check_minutia(rec, v, k, &view->minutiae[k], error))
			return FALSE;
	return TRUE;
}

static gboolean
check_record(const Iso19794Record *rec, guint max_per_view, GError **error)
{
	if (!rec)
		return invalid(error, "no record");
	if (rec->certification < 0 || rec->certification > 15)
		return invalid(error, "capture equipment certification %d (not 0..15)",
			       rec->certification);
	if (rec->equipment_id < 0 || rec->equipment_id > 4095)
		return invalid(error, "capture device type id %d (not 0..4095)", rec->equipment_id);
	if (rec->width < 1 || rec->width > MAX_U16)
		return invalid(error, "image width %d (not 1..65535)", rec->width);
	if (rec->height < 1 || rec->height > MAX_U16)
		return invalid(error, "image height %d (not 1..65535)", rec->height);
	if (rec->res_x < 1 || rec->res_x > MAX_U16)
		return invalid(error, "horizontal resolution %d px/cm (not 1..65535)", rec->res_x);
	if (rec->res_y < 1 || rec->res_y > MAX_U16)
		return invalid(error, "vertical resolution %d px/cm (not 1..65535)", rec->res_y);
	if (rec->n_views < 1 || rec->n_views > ISO19794_MAX_VIEWS || !rec->views)
		return invalid(error, "number of finger views %u (not 1..255)", rec->n_views);
	for (guint v = 0; v < rec->n_views; v++)
		if (!check_view(rec, v, max_per_view, error))
			return FALSE;
	return TRUE;
}

/*
 * Which minutiae of VIEW a cap of MAX_PER_VIEW (0: none) keeps: KEEP[k] set
 * for each.  Returns how many.  See the file comment for the rule.
 */
static guint
select_kept(const Iso19794View *view, guint max_per_view, gboolean *keep)
{
	guint n = view->n_minutiae;
	if (!max_per_view || n <= max_per_view) {
		for (guint k = 0; k < n; k++)
			keep[k] = TRUE;
		return n;
	}
	guint at_least[MAX_QUALITY + 2] = { 0 }; /* at_least[q]: how many have quality >= q */
	for (guint k = 0; k < n; k++)
		at_least[view->minutiae[k].quality]++;
	for (int q = MAX_QUALITY - 1; q >= 0; q--)
		at_least[q] += at_least[q + 1];
	int t = MAX_QUALITY;
	while (at_least[t] < max_per_view)
		t--;
	guint room = max_per_view - at_least[t + 1]; /* places left for quality T */
	for (guint k = 0; k < n; k++) {
		int q = view->minutiae[k].quality;
		keep[k] = q > t || (q == t && room > 0);
		if (q == t && room > 0)
			room--;
	}
	return max_per_view;
}

static void
put8(GByteArray *out, unsigned v)
{
	uint8_t b = (uint8_t)v;
	g_byte_array_append(out, &b, 1);
}

static void
put16(GByteArray *out, unsigned v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	g_byte_array_append(out, b, 2);
}

static void
put32(GByteArray *out, guint32 v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	g_byte_array_append(out, b, 4);
}

GBytes *
iso19794_encode(const Iso19794Record *rec, guint max_per_view, GError **error)
{
	if (!check_record(rec, max_per_view, error))
		return NULL;

	/* at most 255 views of 255 minutiae: the length fits its 4 bytes */
	guint total = 0;
	for (guint v = 0; v < rec->n_views; v++) {
		guint n = rec->views[v].n_minutiae;
		total += max_per_view ? MIN(n, max_per_view) : n;
	}
	size_t len = iso19794_record_len(rec->n_views, total);

	GByteArray *out = g_byte_array_sized_new((guint)len);
	g_byte_array_append(out, format_id, sizeof format_id);
	g_byte_array_append(out, version_id, sizeof version_id);
	put32(out, (guint32)len);
	put16(out, (unsigned)rec->certification << 12 | (unsigned)rec->equipment_id);
	put16(out, (unsigned)rec->width);
	put16(out, (unsigned)rec->height);
	put16(out, (unsigned)rec->res_x);
	put16(out, (unsigned)rec->res_y);
	put8(out, rec->n_views);
	put8(out, 0);
	for (guint v = 0; v < rec->n_views; v++) {
		const Iso19794View *view = &rec->views[v];
		g_autofree gboolean *keep = g_new(gboolean, MAX(1, view->n_minutiae));
		guint kept = select_kept(view, max_per_view, keep);
		put8(out, (unsigned)view->position);
		put8(out, (unsigned)view->view_number << 4 | (unsigned)view->impression);
		put8(out, (unsigned)view->quality);
		put8(out, kept);
		for (guint k = 0; k < view->n_minutiae; k++) {
			const Minutia *m = &view->minutiae[k];
			if (!keep[k])
				continue;
			put16(out, (unsigned)m->type << TYPE_SHIFT | (unsigned)m->x);
			put16(out, (unsigned)m->y);
			put8(out, iso19794_angle_byte(m->angle));
			put8(out, (unsigned)m->quality);
		}
		put16(out, 0); /* no extended data */
	}
	g_assert(out->len == len);
	return g_byte_array_free_to_bytes(out);
}

/* ---- decoding ---- */

typedef struct {
	const uint8_t *data;
	size_t len, off;
} Reader;

static gboolean bad(GError **error, int code, const char *format, ...) G_GNUC_PRINTF(3, 4);

static gboolean
bad(GError **error, int code, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	g_autofree char *msg = g_strdup_vprintf(format, ap);
	va_end(ap);
	g_set_error_literal(error, ISO19794_ERROR, code, msg);
	return FALSE;
}

/* Whether N more bytes are there; if not, a TRUNCATED error naming FIELD. */
static gboolean
need(const Reader *r, size_t n, const char *field, GError **error)
{
	if (r->len - r->off >= n)
		return TRUE;
	return bad(error, ISO19794_ERROR_TRUNCATED,
		   "record truncated in the %s: %zu bytes needed at byte %zu, %zu left", field, n,
		   r->off, r->len - r->off);
}

static unsigned
get8(Reader *r)
{
	return r->data[r->off++];
}

static unsigned
get16(Reader *r)
{
	unsigned v = (unsigned)r->data[r->off] << 8 | r->data[r->off + 1];
	r->off += 2;
	return v;
}

static guint32
get32(Reader *r)
{
	guint32 v = (guint32)r->data[r->off] << 24 | (guint32)r->data[r->off + 1] << 16 |
		    (guint32)r->data[r->off + 2] << 8 | r->data[r->off + 3];
	r->off += 4;
	return v;
}

static gboolean
read_header(Reader *r, Iso19794Record *rec, GError **error)
{
	if (!need(r, sizeof format_id, "format identifier", error))
		return FALSE;
	if (memcmp(r->data, format_id, sizeof format_id) != 0)
		return bad(error, ISO19794_ERROR_FORMAT,
			   "format identifier is %02x %02x %02x %02x, not \"FMR\\0\"", r->data[0],
			   r->data[1], r->data[2], r->data[3]);
	r->off += sizeof format_id;
	if (!need(r, sizeof version_id, "version", error))
		return FALSE;
	if (memcmp(r->data + r->off, version_id, sizeof version_id) != 0)
		return bad(error, ISO19794_ERROR_FORMAT,
			   "version is %02x %02x %02x %02x, not \" 20\\0\" (ISO/IEC 19794-2:2005)",
			   r->data[4], r->data[5], r->data[6], r->data[7]);
	r->off += sizeof version_id;
	if (!need(r, 4, "record length", error))
		return FALSE;
	guint32 len = get32(r);
	if (len > r->len)
		return bad(error, ISO19794_ERROR_TRUNCATED,
			   "record truncated: the record length says %u bytes, %zu given",
			   (unsigned)len, r->len);
	if (len < r->len)
		return bad(error, ISO19794_ERROR_FORMAT, "record length %u but %zu bytes given",
			   (unsigned)len, r->len);
	if (!need(r, ISO19794_HEADER_LEN - 12, "record header", error))
		return FALSE;
	unsigned equipment = get16(r);
	rec->certification = (int)(equipment >> 12);
	rec->equipment_id = (int)(equipment & 0xfff);
	rec->width = (int)get16(r);
	rec->height = (int)get16(r);
	rec->res_x = (int)get16(r);
	rec->res_y = (int)get16(r);
	unsigned n_views = get8(r), reserved = get8(r);
	if (rec->width < 1 || rec->height < 1)
		return bad(error, ISO19794_ERROR_FORMAT, "image size %dx%d: neither may be 0",
			   rec->width, rec->height);
	if (rec->res_x < 1 || rec->res_y < 1)
		return bad(error, ISO19794_ERROR_FORMAT, "resolution %dx%d px/cm: neither may be 0",
			   rec->res_x, rec->res_y);
	if (n_views < 1)
		return bad(error, ISO19794_ERROR_FORMAT, "number of finger views is 0");
	if (reserved != 0)
		return bad(error, ISO19794_ERROR_FORMAT, "reserved header byte is %u, not 0",
			   reserved);
	rec->n_views = n_views;
	rec->views = g_new0(Iso19794View, n_views);
	return TRUE;
}

static gboolean
read_minutia(Reader *r, const Iso19794Record *rec, guint v, guint k, Minutia *m, GError **error)
{
	unsigned tx = get16(r), ry = get16(r), angle = get8(r), quality = get8(r);
	unsigned type = tx >> TYPE_SHIFT;
	if (type > MINUTIA_BIFURCATION)
		return bad(error, ISO19794_ERROR_FORMAT,
			   "finger view %u minutia %u: type 3 is reserved", v + 1, k + 1);
	if (ry >> TYPE_SHIFT)
		return bad(error, ISO19794_ERROR_FORMAT,
			   "finger view %u minutia %u: reserved bits above y are %u, not 0", v + 1,
			   k + 1, ry >> TYPE_SHIFT);
	*m = (Minutia){
		.x = (int)(tx & COORD_MASK),
		.y = (int)(ry & COORD_MASK),
		.angle = iso19794_angle_radians((uint8_t)angle),
		.type = (MinutiaType)type,
		.quality = (int)quality,
	};
	if (m->x >= rec->width)
		return bad(error, ISO19794_ERROR_FORMAT,
			   "finger view %u minutia %u: x %d outside the image width %d", v + 1,
			   k + 1, m->x, rec->width);
	if (m->y >= rec->height)
		return bad(error, ISO19794_ERROR_FORMAT,
			   "finger view %u minutia %u: y %d outside the image height %d", v + 1,
			   k + 1, m->y, rec->height);
	if (quality > MAX_QUALITY)
		return bad(error, ISO19794_ERROR_FORMAT,
			   "finger view %u minutia %u: quality %u (not 0..100)", v + 1, k + 1,
			   quality);
	return TRUE;
}

static gboolean
read_view(Reader *r, Iso19794Record *rec, guint v, GError **error)
{
	Iso19794View *view = &rec->views[v];
	char field[64];
	g_snprintf(field, sizeof field, "finger view %u header", v + 1);
	if (!need(r, ISO19794_VIEW_HEADER_LEN, field, error))
		return FALSE;
	unsigned position = get8(r), number_type = get8(r), quality = get8(r), n = get8(r);
	view->position = (int)position;
	view->view_number = (int)(number_type >> 4);
	view->impression = (int)(number_type & 0xf);
	view->quality = (int)quality;
	if (position > MAX_POSITION)
		return bad(error, ISO19794_ERROR_FORMAT,
			   "finger view %u: finger position %u (not 0..10)", v + 1, position);
	if (!valid_impression(view->impression))
		return bad(error, ISO19794_ERROR_FORMAT,
			   "finger view %u: impression type %d (not 0..3 or 8)", v + 1,
			   view->impression);
	if (quality > MAX_QUALITY)
		return bad(error, ISO19794_ERROR_FORMAT,
			   "finger view %u: finger quality %u (not 0..100)", v + 1, quality);
	for (guint u = 0; u < v; u++)
		if (rec->views[u].position == view->position &&
		    rec->views[u].view_number == view->view_number)
			return bad(error, ISO19794_ERROR_FORMAT,
				   "finger view %u: finger position %d view number %d repeats "
				   "finger view %u",
				   v + 1, view->position, view->view_number, u + 1);

	g_snprintf(field, sizeof field, "finger view %u minutiae (%u of them)", v + 1, n);
	if (!need(r, (size_t)n * ISO19794_MINUTIA_LEN, field, error))
		return FALSE;
	view->minutiae = n ? g_new(Minutia, n) : NULL;
	view->n_minutiae = n;
	for (guint k = 0; k < n; k++)
		if (!read_minutia(r, rec, v, k, &view->minutiae[k], error))
			return FALSE;

	g_snprintf(field, sizeof field, "finger view %u extended data length", v + 1);
	if (!need(r, ISO19794_EXTENDED_LEN, field, error))
		return FALSE;
	unsigned extended = get16(r);
	g_snprintf(field, sizeof field, "finger view %u extended data", v + 1);
	if (!need(r, extended, field, error))
		return FALSE;
	r->off += extended;
	return TRUE;
}

Iso19794Record *
iso19794_decode(const uint8_t *data, size_t len, GError **error)
{
	if (!data && len) {
		bad(error, ISO19794_ERROR_FORMAT, "no data");
		return NULL;
	}
	Reader r = { .data = data, .len = len };
	g_autoptr(Iso19794Record) rec = g_new0(Iso19794Record, 1);
	if (!read_header(&r, rec, error))
		return NULL;
	for (guint v = 0; v < rec->n_views; v++)
		if (!read_view(&r, rec, v, error))
			return NULL;
	if (r.off != r.len) {
		bad(error, ISO19794_ERROR_FORMAT,
		    "record length %zu but its %u finger views end at byte %zu", r.len,
		    rec->n_views, r.off);
		return NULL;
	}
	return g_steal_pointer(&rec);
}

void
iso19794_record_free(Iso19794Record *rec)
{
	if (!rec)
		return;
	for (guint v = 0; v < rec->n_views && rec->views; v++)
		g_free(rec->views[v].minutiae);
	g_free(rec->views);
	g_free(rec);
}
