/* SPDX-License-Identifier: MIT */
/* Handlers for the devices: their state, and faults injected into simulators. */
#include "api/internal.h"
#include "core/devices.h"

static JsonNode *
int_or_null(int64_t v)
{
	JsonNode *n = json_node_alloc();
	return v < 0 ? json_node_init_null(n) : json_node_init_int(n, v);
}

static void
add_device(JsonBuilder *b, const HalInfo *d)
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
	for (guint i = 0; i < list->len; i++)
		add_device(b, list->pdata[i]);
	json_builder_end_array(b);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
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
	add_device(b, d);
	hal_info_free(d);
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
