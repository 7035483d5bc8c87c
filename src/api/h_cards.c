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

void
api_h_cards_preview(ApiRequest *req)
{
	gint64 id = api_param_id(req, "record");
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
	gint64 id = api_param_id(req, "record");
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
		g_autoptr(GBytes) bytes = chipdata_dir_file(&chip, i);
		if (!bytes)
			continue;
		const ChipFileInfo *fi = chipdata_file_info(i);
		gsize n = 0;
		const guchar *p = g_bytes_get_data(bytes, &n);
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

/* Body members by file: "com", "dg1", ..., "sod" (lower-case names), each as a
 * chip directory holds it (SOD.der the bare CMS, as `card export` writes it). */
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
		chipdata_set_dir_file(&chip, i, g_bytes_new_take(raw, n));
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
	gint64 id = api_param_id(req, "record");
	if (!id)
		return;
	CardsDeps deps = deps_of(req);
	AuditActor who = api_actor(req);
	api_defer(req);
	cards_encode(&deps, &who, id, api_body_string(req, "encoder"), encoded, req);
}
