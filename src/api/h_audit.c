/* SPDX-License-Identifier: MIT */
/* Handlers for reading and verifying the audit log. */
#include "api/internal.h"
#include "core/audit.h"

void
api_h_audit_list(ApiRequest *req)
{
	GError *e = NULL;
	gint64 after = api_query_int(req, "after", 0);
	int limit = (int)api_query_int(req, "limit", 100);

	g_autoptr(GPtrArray) rows = store_audit_list(req->deps->store, after, limit, &e);
	if (!rows) {
		api_reply_gerror(req, e, NULL);
		g_error_free(e);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "rows");
	json_builder_begin_array(b);
	for (guint i = 0; i < rows->len; i++) {
		const StoreAuditRow *r = rows->pdata[i];
		json_builder_begin_object(b);
		api_put_int(b, "id", r->id);
		api_put_node(b, "ts", api_time_node(r->ts));
		api_put_string(b, "user", r->user);
		api_put_string(b, "role", r->role);
		api_put_string(b, "action", r->action);
		api_put_string(b, "target", r->target);
		api_put_string(b, "result", r->result);
		json_builder_set_member_name(b, "detail");
		/* Stored as JSON text we wrote; a row edited into non-JSON shows as a string. */
		JsonNode *d = json_from_string(r->detail, NULL);
		if (d)
			json_builder_add_value(b, d);
		else
			json_builder_add_string_value(b, r->detail);
		api_put_string(b, "hash", r->hash);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "next_after");
	if ((int)rows->len == limit)
		json_builder_add_int_value(b, ((StoreAuditRow *)rows->pdata[rows->len - 1])->id);
	else
		json_builder_add_null_value(b);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

void
api_h_audit_verify(ApiRequest *req)
{
	GError *e = NULL;
	AuditVerdict v;
	if (audit_verify(req->deps->store, &v, &e) < 0) {
		api_reply_gerror(req, e, NULL);
		g_error_free(e);
		return;
	}
	if (!v.ok)
		g_warning("audit log verification failed: %s", v.reason);
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	api_put_bool(b, "ok", v.ok);
	api_put_int(b, "rows", v.rows);
	json_builder_set_member_name(b, "first_bad");
	if (v.ok)
		json_builder_add_null_value(b);
	else
		json_builder_add_int_value(b, v.first_bad);
	api_put_string(b, "reason", v.reason);
	json_builder_end_object(b);
	g_free(v.reason);
	api_reply(req, 200, json_builder_get_root(b));
}
