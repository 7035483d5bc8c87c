/* SPDX-License-Identifier: MIT */
/* Card faces and chip images for records (see cards.h). */
#include "core/cards.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "card/iso19794.h"
#include "card/minutiae.h"
#include "image/image.h"

G_DEFINE_QUARK(ektp-cards-error-quark, cards_error)

/* Minutiae per template: 40 keeps two templates near 500 bytes, room for the portrait. */
#define CHIP_MINUTIAE_MAX 40

gboolean
cards_fingers_parse(const char *text, int out[2], GError **error)
{
	int a = 0, b = 0;
	char tail = 0;
	if (!text || sscanf(text, "%d,%d%c", &a, &b, &tail) != 2 || a < 1 || a > 10 || b < 1 ||
	    b > 10 || (a <= 5) == (b <= 5)) {
		g_set_error(error, CARDS_ERROR, CARDS_ERROR_CONTENT,
			    "[card] chip_fingers: '%s' is not two ISO finger positions, one of each "
			    "hand (1-5 right, 6-10 left), e.g. 2,7",
			    text ? text : "");
		return FALSE;
	}
	out[0] = a;
	out[1] = b;
	return TRUE;
}

/* Everything a record's card is made of; cleared by loaded_clear(). */
typedef struct {
	StoreRecord rec;
	GPtrArray *items; /* StoreItem*, with blobs */
	JsonObject *demo;
	Image face, signature;
	GBytes *tmpl[2];
	int tmpl_pos[2];
	char *province, *regency, *village, *kecamatan, *issue_place;
	char issue_date[11], rt_rw[16];
} Loaded;

static void
loaded_clear(Loaded *l)
{
	store_record_clear(&l->rec);
	if (l->items)
		g_ptr_array_unref(l->items);
	if (l->demo)
		json_object_unref(l->demo);
	image_clear(&l->face);
	image_clear(&l->signature);
	for (int i = 0; i < 2; i++)
		if (l->tmpl[i])
			g_bytes_unref(l->tmpl[i]);
	g_free(l->province);
	g_free(l->regency);
	g_free(l->village);
	g_free(l->kecamatan);
	g_free(l->issue_place);
	memset(l, 0, sizeof *l);
}

static const char *
demo_str(const Loaded *l, const char *name)
{
	return json_object_get_string_member_with_default(l->demo, name, "");
}

static const StoreItem *
find_item(const Loaded *l, const char *modality, int position)
{
	for (guint i = 0; i < l->items->len; i++) {
		const StoreItem *it = g_ptr_array_index(l->items, i);
		if (it->position == position && strcmp(it->modality, modality) == 0 &&
		    strcmp(it->kind, "capture") == 0)
			return it;
	}
	return NULL;
}

/* Opens and decodes one of the record's images (CHANNELS 1 or 3) into OUT. */
static int
open_image(const CardsDeps *deps, const Loaded *l, const StoreItem *it, int channels, Image *out,
	   GError **error)
{
	g_autoptr(GBytes) png = enroll_open_image(&deps->enroll, &l->rec, it, error);
	if (!png)
		return -1;
	ImageLimits lim = { channels, 16, 4000, 16, 4000, (size_t)4000 * 4000 * 3 };
	gsize n = 0;
	const void *p = g_bytes_get_data(png, &n);
	return image_png_decode(p, n, &lim, out, error);
}

/* The region's name in capitals, or "" (caller frees). */
static char *
upper_name(const char *name)
{
	return name ? g_utf8_strup(name, -1) : g_strdup("");
}

/* The template of the first captured finger of WANT's hand, starting at WANT. */
static int
make_template(const CardsDeps *deps, Loaded *l, int k, int want, GError **error)
{
	static const int right[] = { 2, 1, 3, 4, 5 }, left[] = { 7, 6, 8, 9, 10 };
	const int *order = want <= 5 ? right : left;
	int tried[6] = { want, order[0], order[1], order[2], order[3], order[4] };
	for (int i = 0; i < 6; i++) {
		const StoreItem *it = find_item(l, "finger", tried[i]);
		if (!it)
			continue;
		Image img = { 0 };
		if (open_image(deps, l, it, 1, &img, error) < 0)
			return -1;
		MinutiaeImage mi = { img.width, img.height, img.ppi ? img.ppi : 500, img.pixels };
		g_autoptr(GArray) m = minutiae_extract(&mi, NULL, NULL);
		if (m && m->len >= 8) {
			Iso19794View view = { tried[i], 0, 0, it->quality, (Minutia *)m->data, m->len };
			Iso19794Record rec = { 0, 0, img.width, img.height, iso19794_ppcm(mi.ppi),
					       iso19794_ppcm(mi.ppi), &view, 1 };
			l->tmpl[k] = iso19794_encode(&rec, CHIP_MINUTIAE_MAX, error);
			image_clear(&img);
			if (!l->tmpl[k])
				return -1;
			l->tmpl_pos[k] = tried[i];
			return 0;
		}
		image_clear(&img);
	}
	g_set_error(error, CARDS_ERROR, CARDS_ERROR_CONTENT,
		    "record %" G_GINT64_FORMAT ": no captured finger of the %s hand gives a usable "
		    "template for the chip",
		    l->rec.id, want <= 5 ? "right" : "left");
	return -1;
}

/* Loads record ID and everything its card needs; FOR_CHIP adds the templates. */
static int load_rows(const CardsDeps *deps, gint64 id, Loaded *l, GError **error);
static int load_rest(const CardsDeps *deps, gboolean for_chip, Loaded *l, GError **error);

static int
load(const CardsDeps *deps, gint64 id, gboolean for_chip, Loaded *l, GError **error)
{
	memset(l, 0, sizeof *l);
	if (load_rows(deps, id, l, error) < 0)
		return -1;
	return load_rest(deps, for_chip, l, error);
}

/* The store's part of load(): on the main loop only. */
static int
load_rows(const CardsDeps *deps, gint64 id, Loaded *l, GError **error)
{
	Store *st = deps->enroll.store;
	int found = store_record_get(st, id, &l->rec, error);
	if (found == 0)
		g_set_error(error, CARDS_ERROR, CARDS_ERROR_NOT_FOUND, "no record %" G_GINT64_FORMAT,
			    id);
	if (found <= 0)
		return -1;
	if (strcmp(l->rec.state, "rejected") == 0 || strcmp(l->rec.state, "superseded") == 0) {
		g_set_error(error, CARDS_ERROR, CARDS_ERROR_STATE,
			    "record %" G_GINT64_FORMAT " is %s: it has no card", id, l->rec.state);
		return -1;
	}
	l->items = store_item_list(st, id, TRUE, error);
	return l->items ? 0 : -1;
}

/* The rest of load(), from the rows: any thread (reads the region tables,
 * the layout and the workstation key, never the store). */
static int
load_rest(const CardsDeps *deps, gboolean for_chip, Loaded *l, GError **error)
{
	const RegionDb *db = deps->enroll.regions;
	const EktpConfig *cfg = deps->enroll.cfg;
	gint64 id = l->rec.id;
	g_autoptr(JsonNode) node = json_from_string(l->rec.demographics, error);
	if (!node || !JSON_NODE_HOLDS_OBJECT(node)) {
		if (error && !*error)
			g_set_error(error, CARDS_ERROR, CARDS_ERROR_CONTENT, "record %" G_GINT64_FORMAT
				    ": demographics are not an object", id);
		return -1;
	}
	l->demo = json_object_ref(json_node_get_object(node));

	const char *village = demo_str(l, "village_code");
	char kec[9] = "", prov[3] = "";
	g_strlcpy(kec, village, sizeof kec);
	g_strlcpy(prov, cfg->enroll_regency, sizeof prov);
	l->village = upper_name(region_village_name(db, village));
	l->kecamatan = upper_name(region_name(db, kec));
	l->province = upper_name(region_name(db, prov));
	l->regency = upper_name(region_regency_name(db, cfg->enroll_regency));
	const char *place = l->regency;
	if (g_str_has_prefix(place, "KOTA "))
		place += 5;
	else if (g_str_has_prefix(place, "KABUPATEN "))
		place += 10;
	l->issue_place = g_strdup(place);
	g_autoptr(GDateTime) now = g_date_time_new_now_local();
	g_autofree char *today = g_date_time_format(now, "%Y-%m-%d");
	g_strlcpy(l->issue_date, today, sizeof l->issue_date);
	g_snprintf(l->rt_rw, sizeof l->rt_rw, "%s/%s", demo_str(l, "rt"), demo_str(l, "rw"));

	const StoreItem *face = find_item(l, "face", 0), *sig = find_item(l, "signature", 0);
	if (!face || !sig) {
		g_set_error(error, CARDS_ERROR, CARDS_ERROR_CONTENT,
			    "record %" G_GINT64_FORMAT " has no %s", id, face ? "signature" : "photo");
		return -1;
	}
	if (open_image(deps, l, face, 3, &l->face, error) < 0 ||
	    open_image(deps, l, sig, 1, &l->signature, error) < 0)
		return -1;
	if (!for_chip)
		return 0;
	int fingers[2];
	if (!cards_fingers_parse(cfg->card_chip_fingers, fingers, error))
		return -1;
	for (int k = 0; k < 2; k++)
		if (make_template(deps, l, k, fingers[k], error) < 0)
			return -1;
	return 0;
}

/* The card face of loaded L, as drawn (RGB CARD_WIDTH × CARD_HEIGHT). */
static int
render_face(const CardsDeps *deps, const Loaded *l, Image *out, GError **error)
{
	CardFace f = {
		.province_name = l->province,
		.regency_name = l->regency,
		.nik = l->rec.nik,
		.name = demo_str(l, "name"),
		.birth_place = demo_str(l, "birth_place"),
		.birth_date = demo_str(l, "birth_date"),
		.gender = demo_str(l, "gender"),
		.blood_type = demo_str(l, "blood_type"),
		.address = demo_str(l, "address"),
		.rt_rw = l->rt_rw,
		.village = l->village,
		.kecamatan = l->kecamatan,
		.religion = demo_str(l, "religion"),
		.marital_status = demo_str(l, "marital_status"),
		.occupation = demo_str(l, "occupation"),
		.citizenship = demo_str(l, "citizenship"),
		.valid_until = "SEUMUR HIDUP",
		.issue_place = l->issue_place,
		.issue_date = l->issue_date,
		.photo = &l->face,
		.signature = &l->signature,
	};
	if (card_render(deps->layout, &f, out, error) == 0)
		return 0;
	if (error && *error && (*error)->domain == CARD_ERROR) {
		g_prefix_error(error, "record %" G_GINT64_FORMAT ": ", l->rec.id);
		(*error)->domain = CARDS_ERROR;
		(*error)->code = CARDS_ERROR_CONTENT;
	}
	return -1;
}

/* The chip image of loaded L (with its templates). */
static int
build_chip(const CardsDeps *deps, const Loaded *l, ChipData *out, GError **error)
{
	ChipInput in = {
		.demo = {
			.nik = l->rec.nik,
			.name = demo_str(l, "name"),
			.birth_place = demo_str(l, "birth_place"),
			.birth_date = demo_str(l, "birth_date"),
			.gender = demo_str(l, "gender"),
			.blood_type = demo_str(l, "blood_type"),
			.address = demo_str(l, "address"),
			.rt = demo_str(l, "rt"),
			.rw = demo_str(l, "rw"),
			.village = l->village,
			.kecamatan = l->kecamatan,
			.religion = demo_str(l, "religion"),
			.marital_status = demo_str(l, "marital_status"),
			.occupation = demo_str(l, "occupation"),
			.citizenship = demo_str(l, "citizenship"),
			.valid_until = "SEUMUR HIDUP",
			.issuing_regency = l->regency,
			.issue_date = l->issue_date,
		},
		.portrait = &l->face,
		.finger = {
			{ g_bytes_get_data(l->tmpl[0], NULL), g_bytes_get_size(l->tmpl[0]),
			  l->tmpl_pos[0] },
			{ g_bytes_get_data(l->tmpl[1], NULL), g_bytes_get_size(l->tmpl[1]),
			  l->tmpl_pos[1] },
		},
		.signature = &l->signature,
	};
	int rc = chipdata_build(&in, deps->signer, (size_t)deps->enroll.cfg->card_chip_capacity,
				out, error);
	if (rc < 0 && error && *error && (*error)->domain == CHIPDATA_ERROR) {
		g_prefix_error(error, "record %" G_GINT64_FORMAT ": ", l->rec.id);
		(*error)->domain = CARDS_ERROR;
		(*error)->code = CARDS_ERROR_CONTENT;
	}
	return rc;
}

GBytes *
cards_preview(const CardsDeps *deps, gint64 record_id, GError **error)
{
	Loaded l;
	GBytes *png = NULL;
	Image face = { 0 };
	if (load(deps, record_id, FALSE, &l, error) == 0 && render_face(deps, &l, &face, error) == 0)
		png = image_png_encode(&face, error);
	image_clear(&face);
	loaded_clear(&l);
	return png;
}

int
cards_chip(const CardsDeps *deps, gint64 record_id, ChipData *out, GError **error)
{
	Loaded l;
	int rc = -1;
	memset(out, 0, sizeof *out);
	if (load(deps, record_id, TRUE, &l, error) == 0)
		rc = build_chip(deps, &l, out, error);
	loaded_clear(&l);
	return rc;
}

/* ---- cards for printing ---- */

struct CardsSource {
	Loaded l;
};

CardsSource *
cards_source_read(const CardsDeps *deps, gint64 record_id, GError **error)
{
	CardsSource *src = g_new0(CardsSource, 1);
	if (load_rows(deps, record_id, &src->l, error) == 0)
		return src;
	cards_source_free(src);
	return NULL;
}

void
cards_source_free(CardsSource *src)
{
	if (!src)
		return;
	loaded_clear(&src->l);
	g_free(src);
}

void
cards_printable_clear(CardsPrintable *p)
{
	image_clear(&p->face);
	g_free(p->black);
	chipdata_clear(&p->chip);
	memset(p, 0, sizeof *p);
}

/*
 * Which pixels the resin black (K) panel prints: the near-black, neutral
 * ones outside the photo, which is all the renderer draws in black (labels,
 * values, the signature's ink).  Dark pixels of the photo stay with the
 * colour panels, so a face is not printed in flat resin.
 */
static uint8_t *
black_mask(const Image *face, const CardLayout *layout)
{
	size_t n = (size_t)face->width * (size_t)face->height;
	uint8_t *mask = g_malloc0(n);
	int px = 0, py = 0, pw = 0, ph = 0;
	card_layout_photo_box(layout, &px, &py, &pw, &ph);
	for (int y = 0; y < face->height; y++) {
		const uint8_t *row = face->pixels + (size_t)y * face->width * 3;
		for (int x = 0; x < face->width; x++) {
			if (x >= px && x < px + pw && y >= py && y < py + ph)
				continue;
			int r = row[3 * x], g = row[3 * x + 1], b = row[3 * x + 2];
			int hi = MAX(r, MAX(g, b)), lo = MIN(r, MIN(g, b));
			if (hi < 96 && hi - lo < 32)
				mask[(size_t)y * face->width + x] = 1;
		}
	}
	return mask;
}

int
cards_build(const CardsDeps *deps, CardsSource *src, CardsPrintable *out, GError **error)
{
	memset(out, 0, sizeof *out);
	out->record_id = src->l.rec.id;
	if (load_rest(deps, TRUE, &src->l, error) < 0 || render_face(deps, &src->l, &out->face, error) < 0 ||
	    build_chip(deps, &src->l, &out->chip, error) < 0) {
		cards_printable_clear(out);
		return -1;
	}
	out->black = black_mask(&out->face, deps->layout);
	return 0;
}

/* ---- encoding ---- */

void
cards_hal_chip(const ChipData *chip, HalChipFile files[CHIPDATA_N_FILES], HalChip *out)
{
	size_t n = 0;
	for (int i = 0; i < CHIPDATA_N_FILES; i++) {
		if (!chip->file[i])
			continue;
		files[n].fid = chipdata_file_info(i)->fid;
		files[n].data = g_bytes_get_data(chip->file[i], &files[n].len);
		n++;
	}
	*out = (HalChip){ chipdata_aid, CHIPDATA_AID_LEN, files, n };
}

typedef struct {
	Store *store;
	char *user, *role;
	gint64 id;
	char *encoder;
	size_t bytes;
	HalDoneFunc done;
	void *data;
} EncodeJob;

static void
encoded(GError *error, void *data)
{
	EncodeJob *j = data;
	AuditActor who = { j->user, j->role };
	g_autofree char *target = g_strdup_printf("%" G_GINT64_FORMAT, j->id);
	g_autofree char *bytes = g_strdup_printf("%zu", j->bytes);
	g_autofree char *detail = audit_detail("encoder", j->encoder, "bytes", bytes, "error",
					       error ? error->message : "", NULL);
	GError *e = NULL;
	if (store_begin(j->store, &e) < 0 ||
	    audit_append(j->store, &who, "card.encode", target, error ? "failed" : "ok", detail,
			 g_get_real_time() / G_USEC_PER_SEC, &e) < 0 ||
	    store_commit(j->store, &e) < 0) {
		store_rollback(j->store);
		j->done(e, j->data);
		g_error_free(e);
	} else {
		j->done(error, j->data);
	}
	g_free(j->user);
	g_free(j->role);
	g_free(j->encoder);
	g_free(j);
}

void
cards_encode(const CardsDeps *deps, const AuditActor *who, gint64 record_id, const char *encoder,
	     HalDoneFunc done, void *data)
{
	ChipData chip;
	GError *e = NULL;
	StoreRecord r = { 0 };
	int found = store_record_get(deps->enroll.store, record_id, &r, &e);
	if (found == 0)
		g_set_error(&e, CARDS_ERROR, CARDS_ERROR_NOT_FOUND, "no record %" G_GINT64_FORMAT,
			    record_id);
	else if (found > 0 && strcmp(r.state, "print_ready") != 0)
		g_set_error(&e, CARDS_ERROR, CARDS_ERROR_STATE,
			    "record %" G_GINT64_FORMAT " is %s; only a print_ready record is encoded",
			    record_id, r.state);
	store_record_clear(&r);
	if (e || cards_chip(deps, record_id, &chip, &e) < 0) {
		done(e, data);
		g_error_free(e);
		return;
	}
	HalChipFile files[CHIPDATA_N_FILES];
	HalChip hc;
	cards_hal_chip(&chip, files, &hc);
	EncodeJob *j = g_new0(EncodeJob, 1);
	j->store = deps->enroll.store;
	j->user = g_strdup(who->user);
	j->role = g_strdup(who->role);
	j->id = record_id;
	j->encoder = g_strdup(encoder);
	j->bytes = chip.total;
	j->done = done;
	j->data = data;
	hal_manager_encode(deps->enroll.hal, encoder, &hc, encoded, j); /* copies HC */
	chipdata_clear(&chip);
}
