/* SPDX-License-Identifier: MIT */
/* Handlers for the devices: their state, and faults injected into simulators. */
#include "api/internal.h"
#include "core/devices.h"
#include "core/selftest.h"

static JsonNode *
int_or_null(int64_t v)
{
	JsonNode *n = json_node_alloc();
	return v < 0 ? json_node_init_null(n) : json_node_init_int(n, v);
}

/* Adds device D as an object; CLOSE FALSE leaves it open for more members. */
static void
add_device(JsonBuilder *b, const HalInfo *d, gboolean close)
{
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "name");
	json_builder_add_string_value(b, d->name);
	json_builder_set_member_name(b, "class");
	json_builder_add_string_value(b, hal_class_name(d->klass));
	json_builder_set_member_name(b, "driver");
	json_builder_add_string_value(b, d->driver);
	json_builder_set_member_name(b, "driver_version");
	json_builder_add_string_value(b, d->driver_version);
	json_builder_set_member_name(b, "state");
	json_builder_add_string_value(b, hal_state_name(d->state));
	json_builder_set_member_name(b, "reasons");
	json_builder_begin_array(b);
	for (char **r = d->reasons; *r; r++)
		json_builder_add_string_value(b, *r);
	json_builder_end_array(b);
	json_builder_set_member_name(b, "state_since");
	json_builder_add_value(b, api_time_node(d->state_since));
	json_builder_set_member_name(b, "last_poll");
	json_builder_add_value(b, api_time_node(d->last_poll));
	json_builder_set_member_name(b, "serial");
	if (d->serial)
		json_builder_add_string_value(b, d->serial);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "last_error");
	if (d->last_error)
		json_builder_add_string_value(b, d->last_error);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "counters");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "total");
	json_builder_add_value(b, int_or_null(d->counter_total));
	json_builder_set_member_name(b, "since_cleaning");
	json_builder_add_value(b, int_or_null(d->counter_since_clean));
	json_builder_set_member_name(b, "supply_remaining");
	json_builder_add_value(b, int_or_null(d->supply_remaining));
	json_builder_end_object(b);
	json_builder_set_member_name(b, "simulator");
	json_builder_add_boolean_value(b, d->faults_ok);
	if (close)
		json_builder_end_object(b);
}

void
api_h_devices_list(ApiRequest *req)
{
	g_autoptr(GPtrArray) list = hal_manager_list(req->deps->hal);
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "devices");
	json_builder_begin_array(b);
	for (guint i = 0; i < list->len; i++) {
		const HalInfo *d = list->pdata[i];
		GError *e = NULL;
		g_autoptr(GPtrArray) last = store_selftest_list(req->deps->store, d->name, 1, &e);
		if (!last) {
			api_reply_gerror(req, e, NULL);
			g_error_free(e);
			return;
		}
		add_device(b, d, FALSE);
		json_builder_set_member_name(b, "last_selftest");
		if (last->len) {
			const StoreSelftest *t = last->pdata[0];
			json_builder_begin_object(b);
			json_builder_set_member_name(b, "ts");
			json_builder_add_value(b, api_time_node(t->ts));
			json_builder_set_member_name(b, "ok");
			json_builder_add_boolean_value(b, t->ok);
			json_builder_set_member_name(b, "message");
			json_builder_add_string_value(b, t->message);
			json_builder_end_object(b);
		} else {
			json_builder_add_null_value(b);
		}
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

/* The device's object with its capture trend added (B holds an open object). */
static gboolean
add_trend(ApiRequest *req, JsonBuilder *b)
{
	SelftestTrend t;
	GError *e = NULL;
	if (selftest_trend(req->deps->store, req->param, req->deps->cfg->trend_window,
			   req->deps->cfg->trend_quality_drop, &t, &e) < 0) {
		api_reply_gerror(req, e, NULL);
		g_error_free(e);
		return FALSE;
	}
	json_builder_set_member_name(b, "trend");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "declining");
	json_builder_add_boolean_value(b, t.declining);
	json_builder_set_member_name(b, "samples");
	json_builder_add_int_value(b, t.samples);
	json_builder_set_member_name(b, "summary");
	json_builder_add_string_value(b, t.summary);
	json_builder_end_object(b);
	selftest_trend_clear(&t);
	return TRUE;
}

void
api_h_devices_get(ApiRequest *req)
{
	HalInfo *d = hal_manager_get(req->deps->hal, req->param);
	if (!d) {
		api_reply_error(req, 404, "not_found", NULL, "no device '%s'", req->param);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	add_device(b, d, FALSE);
	hal_info_free(d);
	if (!add_trend(req, b))
		return;
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

static void
fault_done(GError *error, void *data)
{
	ApiRequest *req = data;
	GError *e = NULL;
	if (error) {
		guint status = 409;
		const char *code = "conflict";
		if (g_error_matches(error, HAL_ERROR, HAL_ERROR_CONFIG))
			status = 400, code = "invalid_value";
		else if (g_error_matches(error, HAL_ERROR, HAL_ERROR_NO_DEVICE))
			status = 404, code = "not_found";
		else if (g_error_matches(error, HAL_ERROR, HAL_ERROR_TIMEOUT))
			status = 504, code = "timeout";
		api_reply_error(req, status, code, status == 400 ? "kind" : NULL, "%s",
				error->message);
		return;
	}
	const char *kind = api_body_string(req, "kind");
	int count = req->body && json_object_has_member(req->body, "count")
			    ? (int)json_object_get_int_member(req->body, "count")
			    : 0;
	AuditActor who = api_actor(req);
	if (devices_record_fault(req->deps->store, &who, req->param, kind, count,
				 auth_now(req->deps->auth), &e) < 0) {
		api_reply_gerror(req, e, NULL);
		g_error_free(e);
		return;
	}
	g_message("device %s: fault %s injected by %s", req->param, kind, who.user);
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "device");
	json_builder_add_string_value(b, req->param);
	json_builder_set_member_name(b, "kind");
	json_builder_add_string_value(b, kind);
	json_builder_set_member_name(b, "count");
	json_builder_add_int_value(b, count);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

void
api_h_devices_fault(ApiRequest *req)
{
	int count = req->body && json_object_has_member(req->body, "count")
			    ? (int)json_object_get_int_member(req->body, "count")
			    : 0;
	api_defer(req);
	hal_manager_inject_fault(req->deps->hal, req->param, api_body_string(req, "kind"), count,
				 fault_done, req);
}

static void
selftest_done(const SelftestResult *r, GError *error, void *data)
{
	ApiRequest *req = data;
	if (error) {
		if (g_error_matches(error, HAL_ERROR, HAL_ERROR_NO_DEVICE))
			api_reply_error(req, 404, "not_found", NULL, "%s", error->message);
		else
			api_reply_gerror(req, error, NULL);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "id");
	json_builder_add_int_value(b, r->id);
	json_builder_set_member_name(b, "device");
	json_builder_add_string_value(b, r->device);
	json_builder_set_member_name(b, "ok");
	json_builder_add_boolean_value(b, r->ok);
	json_builder_set_member_name(b, "message");
	json_builder_add_string_value(b, r->message);
	json_builder_set_member_name(b, "figures");
	json_builder_add_value(b, json_from_string(r->figures, NULL));
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

void
api_h_devices_selftest(ApiRequest *req)
{
	SelftestDeps deps = { req->deps->store, req->deps->hal, req->deps->cfg };
	AuditActor who = api_actor(req);
	api_defer(req);
	selftest_run(&deps, req->param, &who, selftest_done, req);
}

void
api_h_devices_selftests(ApiRequest *req)
{
	HalInfo *d = hal_manager_get(req->deps->hal, req->param);
	if (!d) {
		api_reply_error(req, 404, "not_found", NULL, "no device '%s'", req->param);
		return;
	}
	hal_info_free(d);
	GError *e = NULL;
	g_autoptr(GPtrArray) list = store_selftest_list(req->deps->store, req->param,
						     (int)api_query_int(req, "limit", 20), &e);
	if (!list) {
		api_reply_gerror(req, e, NULL);
		g_error_free(e);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "selftests");
	json_builder_begin_array(b);
	for (guint i = 0; i < list->len; i++) {
		const StoreSelftest *t = list->pdata[i];
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "id");
		json_builder_add_int_value(b, t->id);
		json_builder_set_member_name(b, "ts");
		json_builder_add_value(b, api_time_node(t->ts));
		json_builder_set_member_name(b, "ok");
		json_builder_add_boolean_value(b, t->ok);
		json_builder_set_member_name(b, "user");
		json_builder_add_string_value(b, t->user);
		json_builder_set_member_name(b, "message");
		json_builder_add_string_value(b, t->message);
		json_builder_set_member_name(b, "figures");
		JsonNode *f = json_from_string(t->figures, NULL);
		if (f)
			json_builder_add_value(b, f);
		else
			json_builder_add_null_value(b);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}
