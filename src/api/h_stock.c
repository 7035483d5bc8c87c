/* SPDX-License-Identifier: MIT */
/*
 * The consumables ledger: levels with their runout forecast, the printers'
 * rations, the movements supervisors ask for, reconciliation alerts, the
 * cleaning cycle, the stock reports and the chart.  The ledger (core/stock.h)
 * checks and audits every movement; these handlers only turn its views into
 * JSON.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "api/internal.h"
#include "core/printing.h"
#include "core/stock.h"

/* Alerts GET /v1/stock shows beside the levels. */
#define STOCK_ALERTS_SHOWN 10
#define HISTORY_LIMIT 50
#define ALERTS_LIMIT 50
#define CHART_DAYS 60
#define REPORT_MONTHS 3

static const char *const report_names[] = { "daily", "monthly", "spoilage", "procurement" };

/* The store keeps absent text as "": the API shows it as null. */
static const char *
text_or_null(const char *s)
{
	return s && *s ? s : NULL;
}

/* V rounded to DECIMALS places, or null when V is negative (nothing to say). */
static JsonNode *
rounded_node(double v, int decimals)
{
	JsonNode *n = json_node_alloc();
	if (v < 0 || !isfinite(v))
		return json_node_init_null(n);
	double scale = pow(10, decimals);
	return json_node_init_double(n, round(v * scale) / scale);
}

static JsonNode *
int_or_null(gint64 v)
{
	JsonNode *n = json_node_alloc();
	return v < 0 ? json_node_init_null(n) : json_node_init_int(n, v);
}

static const char *
query_string(const ApiRequest *req, const char *name)
{
	return req->query ? g_hash_table_lookup(req->query, name) : NULL;
}

static void
put_level(JsonBuilder *b, const StockLevel *l)
{
	json_builder_begin_object(b);
	api_put_string(b, "item", l->item->name);
	api_put_string(b, "label", l->item->label);
	api_put_string(b, "kind", stock_kind_name(l->item->kind));
	api_put_string(b, "location", l->location);
	api_put_int(b, "on_hand", l->on_hand);
	api_put_string(b, "unit", l->unit);
	api_put_string(b, "flag", text_or_null(l->flag));
	api_put_node(b, "rate_per_day", rounded_node(l->rate, 2));
	api_put_node(b, "days_left", rounded_node(l->days_left, 1));
	api_put_string(b, "runout", l->runout);
	json_builder_end_object(b);
}

static void
put_levels(JsonBuilder *b, const GPtrArray *levels)
{
	json_builder_set_member_name(b, "levels");
	json_builder_begin_array(b);
	for (guint i = 0; i < levels->len; i++)
		put_level(b, levels->pdata[i]);
	json_builder_end_array(b);
}

static void
put_printer(JsonBuilder *b, const StockPrinterView *v)
{
	json_builder_begin_object(b);
	api_put_string(b, "printer", v->printer);
	api_put_int(b, "daily_quota", v->daily);
	api_put_int(b, "hourly_max", v->hourly);
	api_put_int(b, "today", v->today);
	api_put_int(b, "last_hour", v->last_hour);
	api_put_node(b, "left_today", int_or_null(v->left_today));
	api_put_int(b, "since_clean", v->since_clean);
	api_put_int(b, "clean_threshold", v->clean_threshold);
	api_put_string(b, "ribbon", v->ribbon);
	api_put_string(b, "film", v->film);
	api_put_string(b, "blocked", v->blocked);
	json_builder_end_object(b);
}

static void
put_alerts(JsonBuilder *b, const GPtrArray *alerts)
{
	json_builder_set_member_name(b, "alerts");
	json_builder_begin_array(b);
	for (guint i = 0; i < alerts->len; i++) {
		const StoreStockAlert *a = alerts->pdata[i];
		json_builder_begin_object(b);
		api_put_int(b, "id", a->id);
		api_put_node(b, "at", api_time_node(a->at));
		api_put_string(b, "printer", a->printer);
		api_put_string(b, "item", text_or_null(a->item));
		api_put_string(b, "what", a->what);
		api_put_int(b, "ledger", a->ledger);
		api_put_int(b, "printer_count", a->device);
		api_put_string(b, "source", text_or_null(a->source));
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}

/* ---- views ---- */

void
api_h_stock_list(ApiRequest *req)
{
	Stock *sk = req->deps->stock;
	g_autoptr(GError) e = NULL;
	g_autoptr(GPtrArray) levels = stock_levels(sk, &e);
	g_autoptr(GPtrArray) printers = levels ? stock_printers(sk, &e) : NULL;
	g_autoptr(GPtrArray) alerts = printers ? stock_alerts(sk, STOCK_ALERTS_SHOWN, &e) : NULL;
	if (!alerts) {
		api_reply_gerror(req, e, NULL);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	put_levels(b, levels);
	json_builder_set_member_name(b, "printers");
	json_builder_begin_array(b);
	for (guint i = 0; i < printers->len; i++)
		put_printer(b, printers->pdata[i]);
	json_builder_end_array(b);
	put_alerts(b, alerts);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

void
api_h_stock_forecast(ApiRequest *req)
{
	g_autoptr(GError) e = NULL;
	g_autoptr(GPtrArray) levels = stock_levels(req->deps->stock, &e);
	if (!levels) {
		api_reply_gerror(req, e, NULL);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	api_put_int(b, "days", req->deps->cfg->stock_forecast_days);
	put_levels(b, levels);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

void
api_h_stock_items(ApiRequest *req)
{
	const GPtrArray *items = stock_items(req->deps->stock);
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "items");
	json_builder_begin_array(b);
	for (guint i = 0; i < items->len; i++) {
		const StockItem *it = items->pdata[i];
		json_builder_begin_object(b);
		api_put_string(b, "name", it->name);
		api_put_string(b, "label", it->label);
		api_put_string(b, "kind", stock_kind_name(it->kind));
		api_put_string(b, "unit", it->unit);
		api_put_int(b, "prints", it->prints);
		api_put_int(b, "pack_size", it->pack_size);
		api_put_int(b, "unit_price", it->unit_price);
		api_put_int(b, "low", it->low);
		api_put_int(b, "critical", it->critical);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

void
api_h_stock_history(ApiRequest *req)
{
	Stock *sk = req->deps->stock;
	g_autoptr(GError) e = NULL;
	g_autoptr(GPtrArray) moves =
		stock_history(sk, query_string(req, "item"),
			      (int)api_query_int(req, "limit", HISTORY_LIMIT), &e);
	if (!moves) {
		api_reply_gerror(req, e, NULL);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "movements");
	json_builder_begin_array(b);
	for (guint i = 0; i < moves->len; i++) {
		const StoreStockMove *m = moves->pdata[i];
		/* An item dropped from the catalogue keeps its history, without a unit. */
		const StockItem *item = stock_item(sk, m->item);
		json_builder_begin_object(b);
		api_put_int(b, "id", m->id);
		api_put_node(b, "at", api_time_node(m->at));
		api_put_string(b, "kind", m->kind);
		api_put_string(b, "item", m->item);
		api_put_string(b, "location", m->location);
		api_put_int(b, "qty", m->qty);
		api_put_string(b, "unit", item ? stock_unit_at(item, m->location) : NULL);
		api_put_string(b, "lot", text_or_null(m->lot));
		api_put_string(b, "supplier", text_or_null(m->supplier));
		api_put_string(b, "serial_first", text_or_null(m->serial_first));
		api_put_string(b, "serial_last", text_or_null(m->serial_last));
		api_put_string(b, "received_on", text_or_null(m->received_on));
		api_put_string(b, "cause", text_or_null(m->cause));
		api_put_string(b, "reason", text_or_null(m->reason));
		api_put_string(b, "printer", text_or_null(m->printer));
		api_put_node(b, "card", m->card ? json_node_init_int(json_node_alloc(), m->card)
						 : json_node_init_null(json_node_alloc()));
		api_put_string(b, "actor", text_or_null(m->actor));
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

void
api_h_stock_alerts(ApiRequest *req)
{
	g_autoptr(GError) e = NULL;
	g_autoptr(GPtrArray) alerts =
		stock_alerts(req->deps->stock, (int)api_query_int(req, "limit", ALERTS_LIMIT), &e);
	if (!alerts) {
		api_reply_gerror(req, e, NULL);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	put_alerts(b, alerts);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

/* ---- movements ---- */

/* Answers 201 with movement ID, or with the ledger's refusal when ID is -1. */
static void
reply_movement(ApiRequest *req, gint64 id, const GError *e)
{
	if (id < 0) {
		api_reply_gerror(req, e, NULL);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	api_put_int(b, "id", id);
	json_builder_end_object(b);
	api_reply(req, 201, json_builder_get_root(b));
}

void
api_h_stock_receive(ApiRequest *req)
{
	AuditActor who = api_actor(req);
	g_autoptr(GError) e = NULL;
	StockReceipt r = {
		.item = api_body_string(req, "item"),
		.location = api_body_string(req, "location"),
		.qty = api_body_int(req, "qty", 0),
		.lot = api_body_string(req, "lot"),
		.supplier = api_body_string(req, "supplier"),
		.received_on = api_body_string(req, "date"),
		.serial_first = api_body_string(req, "serial_first"),
		.serial_last = api_body_string(req, "serial_last"),
	};
	gint64 id = stock_receive(req->deps->stock, &who, &r, &e);
	reply_movement(req, id, e);
}

void
api_h_stock_load(ApiRequest *req)
{
	AuditActor who = api_actor(req);
	g_autoptr(GError) e = NULL;
	gint64 id = stock_load(req->deps->stock, &who, api_body_string(req, "printer"),
			       api_body_string(req, "item"), api_body_int(req, "qty", 0), &e);
	reply_movement(req, id, e);
}

void
api_h_stock_adjust(ApiRequest *req)
{
	AuditActor who = api_actor(req);
	g_autoptr(GError) e = NULL;
	gint64 id = stock_adjust(req->deps->stock, &who, api_body_string(req, "item"),
				 api_body_string(req, "location"), api_body_int(req, "qty", 0),
				 api_body_string(req, "reason"), &e);
	reply_movement(req, id, e);
}

void
api_h_stock_spoil(ApiRequest *req)
{
	AuditActor who = api_actor(req);
	g_autoptr(GError) e = NULL;
	gint64 id = stock_spoil(req->deps->stock, &who, api_body_string(req, "item"),
				api_body_string(req, "location"), api_body_int(req, "qty", 0),
				api_body_string(req, "cause"), &e);
	reply_movement(req, id, e);
}

/* ---- rations and cleaning ---- */

void
api_h_stock_rations(ApiRequest *req)
{
	Stock *sk = req->deps->stock;
	const char *printer = api_body_string(req, "printer");
	AuditActor who = api_actor(req);
	g_autoptr(GError) e = NULL;
	if (stock_ration_set(sk, &who, printer, api_body_int(req, "daily", 0),
			     api_body_int(req, "hourly", 0), &e) < 0) {
		api_reply_gerror(req, e, NULL);
		return;
	}
	g_autoptr(GPtrArray) printers = stock_printers(sk, &e);
	if (!printers) {
		api_reply_gerror(req, e, NULL);
		return;
	}
	for (guint i = 0; i < printers->len; i++) {
		const StockPrinterView *v = printers->pdata[i];
		if (strcmp(v->printer, printer) != 0)
			continue;
		g_autoptr(JsonBuilder) b = json_builder_new();
		put_printer(b, v);
		api_reply(req, 200, json_builder_get_root(b));
		return;
	}
	/* The ledger took the ration, so it knows the printer: its view must have it. */
	api_reply_error(req, 500, "internal", NULL, "printer '%s' has a ration but no stock view",
			printer);
}

static void
clean_done(GError *error, void *data)
{
	ApiRequest *req = data;
	if (error) {
		api_reply_gerror(req, error, NULL);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	api_put_string(b, "printer", req->param);
	api_put_bool(b, "cleaned", TRUE);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

void
api_h_devices_clean(ApiRequest *req)
{
	/* A cleaning card run through a printer holding a card would jam it or spoil the card. */
	if (print_lane_busy(req->deps->print, req->param)) {
		api_reply_error(req, 409, "conflict", NULL,
				"printer %s has a card in it: clean it once that card is out",
				req->param);
		return;
	}
	AuditActor who = api_actor(req);
	api_defer(req);
	stock_clean(req->deps->stock, &who, req->param, clean_done, req);
}

/* ---- reports and the chart ---- */

/* Cell TEXT of a numeric column as a JSON number; an empty one is null, and
 * one that does not read as a number stays a string rather than being lost. */
static void
add_number_cell(JsonBuilder *b, const char *text)
{
	if (!text || !*text) {
		json_builder_add_null_value(b);
		return;
	}
	char *end = NULL;
	errno = 0;
	gint64 n = g_ascii_strtoll(text, &end, 10);
	if (*end == '\0' && errno == 0) {
		json_builder_add_int_value(b, n);
		return;
	}
	double d = g_ascii_strtod(text, &end);
	if (*end == '\0' && isfinite(d))
		json_builder_add_double_value(b, d);
	else
		json_builder_add_string_value(b, text);
}

void
api_h_stock_report(ApiRequest *req)
{
	const char *name = req->param;
	gboolean known = FALSE;
	for (size_t i = 0; i < G_N_ELEMENTS(report_names); i++)
		known = known || strcmp(name, report_names[i]) == 0;
	if (!known) {
		api_reply_error(req, 404, "not_found", NULL,
				"no report '%s': the reports are coverage, daily, monthly, "
				"spoilage and procurement", name);
		return;
	}
	g_autoptr(GError) e = NULL;
	g_autoptr(StockReport) r =
		stock_report(req->deps->stock, name, query_string(req, "from"),
			     query_string(req, "to"),
			     (int)api_query_int(req, "months", REPORT_MONTHS), &e);
	if (!r) {
		api_reply_gerror(req, e, NULL);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	api_put_string(b, "report", name);
	api_put_string(b, "title", r->title);
	json_builder_set_member_name(b, "columns");
	json_builder_begin_array(b);
	for (guint i = 0; i < r->columns->len; i++)
		json_builder_add_string_value(b, r->columns->pdata[i]);
	json_builder_end_array(b);
	json_builder_set_member_name(b, "rows");
	json_builder_begin_array(b);
	for (guint i = 0; i < r->rows->len; i++) {
		const GPtrArray *row = r->rows->pdata[i];
		json_builder_begin_array(b);
		for (guint k = 0; k < row->len; k++) {
			const char *cell = row->pdata[k];
			if (k < r->numeric->len && g_array_index(r->numeric, gboolean, k))
				add_number_cell(b, cell);
			else
				json_builder_add_string_value(b, cell ? cell : "");
		}
		json_builder_end_array(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

/* The PNG itself; a client that asks for JSON only (ektpctl's client reads
 * nothing else) gets it in base64, as the card preview does. */
void
api_h_stock_chart(ApiRequest *req)
{
	int days = (int)api_query_int(req, "days", CHART_DAYS);
	g_autoptr(GError) e = NULL;
	g_autoptr(GBytes) png = stock_chart(req->deps->stock, days, &e);
	if (!png) {
		api_reply_gerror(req, e, NULL);
		return;
	}
	if (api_accepts(req, "image/png")) {
		api_reply_bytes(req, 200, "image/png", png);
		return;
	}
	gsize n = 0;
	const guchar *p = g_bytes_get_data(png, &n);
	g_autofree char *b64 = g_base64_encode(p, n);
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	api_put_int(b, "days", days);
	api_put_int(b, "items", stock_items(req->deps->stock)->len);
	api_put_string(b, "png_base64", b64);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}
