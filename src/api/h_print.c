/* SPDX-License-Identifier: MIT */
/* Printing: batches, the printers' jobs, cancelling, reprints. */
#include "api/internal.h"
#include "core/printing.h"

static void
reply_node(ApiRequest *req, guint status, JsonNode *node, GError *e)
{
	if (!node)
		api_reply_gerror(req, e, NULL);
	else
		api_reply(req, status, node);
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
	g_autoptr(JsonNode) node = print_batch_json(req->deps->print, batch, &e);
	reply_node(req, 201, g_steal_pointer(&node), e);
}

void
api_h_print_batch(ApiRequest *req)
{
	gint64 id = api_param_id(req, "print batch");
	if (!id)
		return;
	g_autoptr(GError) e = NULL;
	JsonNode *node = print_batch_json(req->deps->print, id, &e);
	reply_node(req, 200, node, e);
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
	JsonNode *node = print_batch_json(req->deps->print, id, &e);
	reply_node(req, 200, node, e);
}

void
api_h_print_jobs(ApiRequest *req)
{
	g_autoptr(GError) e = NULL;
	JsonNode *node =
		print_jobs_json(req->deps->print, (int)api_query_int(req, "limit", 10), &e);
	reply_node(req, 200, node, e);
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
