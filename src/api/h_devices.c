/* SPDX-License-Identifier: MIT */
/* Handlers for the devices: their state, and faults injected into simulators. */
#include <string.h>

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
	api_put_string(b, "name", d->name);
	api_put_string(b, "class", hal_class_name(d->klass));
	api_put_string(b, "driver", d->driver);
	api_put_string(b, "driver_version", d->driver_version);
	api_put_string(b, "state", hal_state_name(d->state));
	json_builder_set_member_name(b, "reasons");
	json_builder_begin_array(b);
	for (char **r = d->reasons; *r; r++)
		json_builder_add_string_value(b, *r);
	json_builder_end_array(b);
	api_put_node(b, "state_since", api_time_node(d->state_since));
	api_put_node(b, "last_poll", api_time_node(d->last_poll));
	api_put_string(b, "serial", d->serial);
	api_put_string(b, "firmware", d->firmware);
	api_put_string(b, "last_error", d->last_error);
	json_builder_set_member_name(b, "counters");
	json_builder_begin_object(b);
	api_put_node(b, "total", int_or_null(d->counter_total));
	api_put_node(b, "since_cleaning", int_or_null(d->counter_since_clean));
	api_put_node(b, "supply_remaining", int_or_null(d->supply_remaining));
	json_builder_end_object(b);
	api_put_bool(b, "simulator", d->faults_ok);
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
			api_put_node(b, "ts", api_time_node(t->ts));
			api_put_bool(b, "ok", t->ok);
			api_put_string(b, "message", t->message);
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
	api_put_bool(b, "declining", t.declining);
	api_put_int(b, "samples", t.samples);
	api_put_string(b, "summary", t.summary);
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
		api_reply_gerror(req, error, "kind");
		return;
	}
	const char *kind = api_body_string(req, "kind");
	int count = (int)api_body_int(req, "count", 0);
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
	api_put_string(b, "device", req->param);
	api_put_string(b, "kind", kind);
	api_put_int(b, "count", count);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

void
api_h_devices_fault(ApiRequest *req)
{
	api_defer(req);
	hal_manager_inject_fault(req->deps->hal, req->param, api_body_string(req, "kind"),
				 (int)api_body_int(req, "count", 0), fault_done, req);
}

typedef struct {
	ApiRequest *req;
	JsonNode *answer;
} SelftestReply;

static void
selftest_reconciled(GError *error, void *data)
{
	(void)error; /* kept as an alert or logged by the stock */
	SelftestReply *r = data;
	api_reply(r->req, 200, r->answer);
	g_free(r);
}

static gboolean
is_printer(ApiRequest *req, const char *device)
{
	const GPtrArray *names = req->deps->stock ? stock_printer_names(req->deps->stock) : NULL;
	for (guint i = 0; names && i < names->len; i++)
		if (strcmp(names->pdata[i], device) == 0)
			return TRUE;
	return FALSE;
}

static void
selftest_done(const SelftestResult *r, GError *error, void *data)
{
	ApiRequest *req = data;
	if (error) {
		api_reply_gerror(req, error, NULL);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	api_put_int(b, "id", r->id);
	api_put_string(b, "device", r->device);
	api_put_bool(b, "ok", r->ok);
	api_put_string(b, "message", r->message);
	api_put_node(b, "figures", json_from_string(r->figures, NULL));
	json_builder_end_object(b);
	/* A printer's self-test also checks the stock ledger against its
	 * counters, unless a card is in it (the figures differ mid-card). */
	if (is_printer(req, r->device) && !print_lane_busy(req->deps->print, r->device)) {
		SelftestReply *sr = g_new0(SelftestReply, 1);
		sr->req = req;
		sr->answer = json_builder_get_root(b);
		stock_reconcile(req->deps->stock, r->device, "self-test", selftest_reconciled, sr);
		return;
	}
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
		api_put_int(b, "id", t->id);
		api_put_node(b, "ts", api_time_node(t->ts));
		api_put_bool(b, "ok", t->ok);
		api_put_string(b, "user", t->user);
		api_put_string(b, "message", t->message);
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
