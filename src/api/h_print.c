/* SPDX-License-Identifier: MIT */
/* Printing: batches, the printers' jobs, cancelling, reprints. */
#include "api/internal.h"
#include "core/printing.h"

static void
put_card(JsonBuilder *b, const StorePrintCard *c)
{
	json_builder_begin_object(b);
	api_put_int(b, "id", c->id);
	api_put_int(b, "record", c->record);
	api_put_int(b, "seq", c->seq);
	api_put_string(b, "phase", c->phase);
	api_put_string(b, "printer", *c->printer ? c->printer : NULL);
	api_put_string(b, "cause", *c->cause ? c->cause : NULL);
	api_put_node(b, "updated_at", api_time_node(c->updated_at));
	json_builder_end_object(b);
}

/* The members of batch X (inside an object the caller opened). */
static void
put_batch_members(JsonBuilder *b, const StorePrintBatch *x)
{
	api_put_int(b, "id", x->id);
	api_put_string(b, "state", x->state);
	api_put_string(b, "printer", *x->printer ? x->printer : NULL);
	api_put_string(b, "created_by", x->created_by);
	api_put_node(b, "created_at", api_time_node(x->created_at));
	api_put_node(b, "finished_at", api_time_node(x->finished_at));
	api_put_int(b, "total", x->cards);
	api_put_int(b, "queued", x->queued);
	api_put_int(b, "in_printer", x->in_flight);
	api_put_int(b, "printed", x->done);
	api_put_int(b, "spoiled", x->spoiled);
	api_put_int(b, "cancelled", x->cancelled);
}

/* Answers with batch ID and its cards. */
static void
reply_batch(ApiRequest *req, guint status, gint64 id)
{
	g_autoptr(GError) e = NULL;
	g_autoptr(StorePrintBatch) x = NULL;
	g_autoptr(GPtrArray) cards = NULL;
	if (print_batch_get(req->deps->print, id, &x, &cards, &e) < 0) {
		api_reply_gerror(req, e, NULL);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	put_batch_members(b, x);
	json_builder_set_member_name(b, "cards");
	json_builder_begin_array(b);
	for (guint i = 0; i < cards->len; i++)
		put_card(b, cards->pdata[i]);
	json_builder_end_array(b);
	json_builder_end_object(b);
	api_reply(req, status, json_builder_get_root(b));
}

void
api_h_print_start(ApiRequest *req)
{
	AuditActor who = api_actor(req);
	g_autoptr(GError) e = NULL;
	guint n = 0;
	gint64 max = api_body_int(req, "max", 0);
	gint64 batch = print_batch_start(req->deps->print, &who, (int)max,
					 api_body_string(req, "printer"), &n, &e);
	if (!batch) {
		api_reply_gerror(req, e,
				 g_error_matches(e, PRINT_ERROR, PRINT_ERROR_NOT_FOUND) ? "printer"
											: NULL);
		return;
	}
	reply_batch(req, 201, batch);
}

void
api_h_print_batch(ApiRequest *req)
{
	gint64 id = api_param_id(req, "print batch");
	if (id)
		reply_batch(req, 200, id);
}

void
api_h_print_cancel(ApiRequest *req)
{
	gint64 id = api_param_id(req, "print batch");
	if (!id)
		return;
	AuditActor who = api_actor(req);
	g_autoptr(GError) e = NULL;
	if (print_batch_cancel(req->deps->print, &who, id, &e) < 0) {
		api_reply_gerror(req, e, NULL);
		return;
	}
	reply_batch(req, 200, id);
}

/* A mean duration in ms, or null when there is none yet (MS < 0). */
static JsonNode *
ms_node(double ms)
{
	JsonNode *n = json_node_alloc();
	return ms < 0 ? json_node_init_null(n) : json_node_init_double(n, ms);
}

void
api_h_print_jobs(ApiRequest *req)
{
	g_autoptr(GError) e = NULL;
	g_autoptr(GPtrArray) batches =
		print_batches(req->deps->print, (int)api_query_int(req, "limit", 10), &e);
	if (!batches) {
		api_reply_gerror(req, e, NULL);
		return;
	}
	g_autoptr(GPtrArray) lanes = print_lanes(req->deps->print);
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "printers");
	json_builder_begin_array(b);
	for (guint i = 0; i < lanes->len; i++) {
		const PrintLaneView *v = lanes->pdata[i];
		json_builder_begin_object(b);
		api_put_string(b, "name", v->name);
		api_put_string(b, "encoder", v->encoder);
		api_put_string(b, "device_state", v->device_state);
		api_put_string(b, "activity", v->activity);
		api_put_string(b, "reason", v->reason);
		api_put_string(b, "last_error", v->last_error);
		json_builder_set_member_name(b, "card");
		if (v->card)
			put_card(b, v->card);
		else
			json_builder_add_null_value(b);
		api_put_int(b, "printed", v->printed);
		api_put_int(b, "spoiled", v->spoiled);
		api_put_node(b, "build_ms_avg", ms_node(v->build_ms));
		api_put_node(b, "encode_ms_avg", ms_node(v->encode_ms));
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "batches");
	json_builder_begin_array(b);
	for (guint i = 0; i < batches->len; i++) {
		json_builder_begin_object(b);
		put_batch_members(b, batches->pdata[i]);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

void
api_h_records_reprint(ApiRequest *req)
{
	gint64 id = api_param_id(req, "record");
	if (!id)
		return;
	AuditActor who = api_actor(req);
	g_autoptr(GError) e = NULL;
	if (print_reprint(req->deps->print, &who, id, api_body_string(req, "reason"), &e) < 0) {
		api_reply_gerror(req, e, NULL);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	api_put_int(b, "id", id);
	api_put_string(b, "state", "print_ready");
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}
