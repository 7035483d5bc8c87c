/* SPDX-License-Identifier: MIT */
/* A record's card: its face preview, its chip image, chip verification and encoding. */
#include "api/internal.h"
#include "core/cards.h"

#include <string.h>

static CardsDeps
deps_of(const ApiRequest *req)
{
	const ApiDeps *d = req->deps;
	return (CardsDeps){ { d->store, d->hal, d->cfg, d->regions, d->key }, d->card_layout,
			    d->signer, d->ca_pem };
}

/* The {id} segment, or 0 after answering 404. */
static gint64
record_id(ApiRequest *req)
{
	char *end = NULL;
	gint64 id = req->param ? g_ascii_strtoll(req->param, &end, 10) : 0;
	if (!req->param || !*req->param || *end || id <= 0) {
		api_reply_error(req, 404, "not_found", NULL, "no record '%s'",
				req->param ? req->param : "");
		return 0;
	}
	return id;
}

void
api_h_cards_preview(ApiRequest *req)
{
	gint64 id = record_id(req);
	if (!id)
		return;
	CardsDeps deps = deps_of(req);
	g_autoptr(GError) e = NULL;
	g_autoptr(GBytes) png = cards_preview(&deps, id, &e);
	if (!png) {
		api_reply_gerror(req, e, NULL);
		return;
	}
	gsize n = 0;
	const guchar *p = g_bytes_get_data(png, &n);
	g_autofree char *b64 = g_base64_encode(p, n);
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	api_put_int(b, "id", id);
	api_put_int(b, "width", CARD_WIDTH);
	api_put_int(b, "height", CARD_HEIGHT);
	api_put_string(b, "png_base64", b64);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

void
api_h_cards_chip(ApiRequest *req)
{
	gint64 id = record_id(req);
	if (!id)
		return;
	CardsDeps deps = deps_of(req);
	g_autoptr(GError) e = NULL;
	ChipData chip;
	int rc = cards_chip(&deps, id, &chip, &e);
	AuditActor who = api_actor(req);
	g_autofree char *target = g_strdup_printf("%" G_GINT64_FORMAT, id);
	g_autoptr(GError) ae = NULL;
	/* The chip holds biometrics: its export is audited whether or not it succeeded. */
	if (store_begin(req->deps->store, &ae) < 0 ||
	    audit_append(req->deps->store, &who, "card.chip", target, rc < 0 ? "failed" : "ok",
			 NULL, g_get_real_time() / G_USEC_PER_SEC, &ae) < 0 ||
	    store_commit(req->deps->store, &ae) < 0) {
		store_rollback(req->deps->store);
		if (rc == 0)
			chipdata_clear(&chip);
		api_reply_gerror(req, ae, NULL);
		return;
	}
	if (rc < 0) {
		api_reply_gerror(req, e, NULL);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	api_put_int(b, "id", id);
	api_put_int(b, "total", (gint64)chip.total);
	api_put_int(b, "capacity", (gint64)chip.capacity);
	api_put_bool(b, "test_signer", chip.test_signer);
	json_builder_set_member_name(b, "portrait");
	json_builder_begin_object(b);
	api_put_int(b, "width", chip.portrait_width);
	api_put_int(b, "height", chip.portrait_height);
	api_put_int(b, "quality", chip.portrait_quality);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "files");
	json_builder_begin_array(b);
	for (int i = 0; i < CHIPDATA_N_FILES; i++) {
		if (!chip.file[i])
			continue;
		const ChipFileInfo *fi = chipdata_file_info(i);
		gsize n = 0;
		const guchar *p = g_bytes_get_data(chip.file[i], &n);
		g_autofree char *b64 = g_base64_encode(p, n);
		g_autofree char *fid = g_strdup_printf("%04X", fi->fid);
		json_builder_begin_object(b);
		api_put_string(b, "name", fi->name);
		api_put_string(b, "file", fi->file);
		api_put_string(b, "fid", fid);
		api_put_int(b, "bytes", (gint64)n);
		api_put_string(b, "base64", b64);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	chipdata_clear(&chip);
	api_reply(req, 200, json_builder_get_root(b));
}

/* Body members by file: "com", "dg1", ..., "sod" (lower-case names). */
void
api_h_cards_verify(ApiRequest *req)
{
	ChipData chip = { 0 };
	for (int i = 0; i < CHIPDATA_N_FILES; i++) {
		const ChipFileInfo *fi = chipdata_file_info(i);
		const char *dot = strchr(fi->name, '.');
		g_autofree char *key = g_ascii_strdown(dot ? dot + 1 : fi->name, -1);
		const char *b64 = api_body_string(req, key);
		if (!b64)
			continue;
		gsize n = 0;
		guchar *raw = g_base64_decode(b64, &n);
		if (i == CHIPDATA_SOD && n > 0 && raw[0] != fi->tag) {
			/* The bare CMS of an exported SOD.der: put EF.SOD's tag and length back. */
			GByteArray *w = g_byte_array_new();
			guint8 hdr[6] = { fi->tag }, k = 1;
			if (n < 0x80) {
				hdr[k++] = (guint8)n;
			} else if (n < 0x100) {
				hdr[k++] = 0x81, hdr[k++] = (guint8)n;
			} else {
				hdr[k++] = 0x82, hdr[k++] = (guint8)(n >> 8), hdr[k++] = (guint8)n;
			}
			g_byte_array_append(w, hdr, k);
			g_byte_array_append(w, raw, (guint)n);
			g_free(raw);
			n = w->len;
			raw = g_byte_array_free(w, FALSE);
		}
		chip.file[i] = g_bytes_new_take(raw, n);
		chip.total += n;
	}
	g_autoptr(GError) e = NULL;
	g_autofree char *signer = NULL;
	gsize ca_len = 0;
	const char *ca = g_bytes_get_data(req->deps->ca_pem, &ca_len);
	int rc = chipdata_verify(&chip, ca, ca_len, &signer, &e);
	chipdata_clear(&chip);
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	api_put_bool(b, "ok", rc == 0);
	api_put_string(b, "signer", signer);
	api_put_string(b, "problem", rc < 0 ? e->message : NULL);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

static void
encoded(GError *error, void *data)
{
	ApiRequest *req = data;
	if (error) {
		api_reply_gerror(req, error, NULL);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	api_put_bool(b, "ok", TRUE);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

void
api_h_cards_encode(ApiRequest *req)
{
	gint64 id = record_id(req);
	if (!id)
		return;
	CardsDeps deps = deps_of(req);
	AuditActor who = api_actor(req);
	api_defer(req);
	cards_encode(&deps, &who, id, api_body_string(req, "encoder"), encoded, req);
}
