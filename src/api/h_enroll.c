/* SPDX-License-Identifier: MIT */
/* Enrollment sessions, records, supervisor decisions and the coverage report. */
#include "api/internal.h"
#include "core/enroll.h"

#include <stdlib.h>
#include <string.h>

static EnrollDeps
deps_of(const ApiRequest *req)
{
	return (EnrollDeps){ req->deps->store, req->deps->hal, req->deps->cfg, req->deps->regions,
			     req->deps->key };
}

/* The modality a route serves: the last segment of its path. */
static EnrollModality
route_modality(const ApiRequest *req)
{
	const char *slash = strrchr(req->route->path, '/');
	return (EnrollModality)enroll_modality_parse(slash + 1);
}

static void
put_issues(JsonBuilder *b, const char *name, const GPtrArray *list)
{
	json_builder_set_member_name(b, name);
	json_builder_begin_array(b);
	for (guint i = 0; list && i < list->len; i++) {
		const ValidateIssue *is = g_ptr_array_index(list, i);
		json_builder_begin_object(b);
		api_put_string(b, "field", is->field);
		api_put_string(b, "rule", is->rule);
		api_put_string(b, "message", is->message);
		api_put_string(b, "value", is->value);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}

/* ---- sessions ---- */

void
api_h_enroll_start(ApiRequest *req)
{
	EnrollDemographics d = {
#define F(n) .n = api_body_string(req, #n)
		F(nik),		 F(kk),		 F(name),	 F(birth_place), F(birth_date),
		F(gender),	 F(blood_type),	 F(religion),	 F(marital_status),
		F(occupation),	 F(address),	 F(rt),		 F(rw),		 F(village_code),
		F(citizenship),	 F(nationality),
#undef F
	};
	gboolean reenroll = req->body && json_object_has_member(req->body, "reenroll") &&
			    json_object_get_boolean_member(req->body, "reenroll");
	EnrollDeps deps = deps_of(req);
	AuditActor who = api_actor(req);
	ValidateReport *report = NULL;
	g_autoptr(GError) e = NULL;
	gint64 id = enroll_start(&deps, &who, &d, reenroll, &report, &e);
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	if (id < 0 && g_error_matches(e, ENROLL_ERROR, ENROLL_ERROR_INVALID) && report) {
		GString *msg = g_string_new(e->message);
		for (guint i = 0; i < report->errors->len; i++) {
			const ValidateIssue *is = g_ptr_array_index(report->errors, i);
			g_string_append_printf(msg, "%s %s: %s", i ? ";" : ":", is->field, is->message);
		}
		json_builder_set_member_name(b, "error");
		json_builder_begin_object(b);
		api_put_string(b, "code", "invalid_value");
		api_put_string(b, "message", msg->str);
		put_issues(b, "problems", report->errors);
		json_builder_end_object(b);
		json_builder_end_object(b);
		g_string_free(msg, TRUE);
		validate_report_free(report);
		api_reply(req, 400, json_builder_get_root(b));
		return;
	}
	if (id < 0) {
		validate_report_free(report);
		api_reply_gerror(req, e, NULL);
		return;
	}
	api_put_int(b, "id", id);
	api_put_string(b, "state", "open");
	put_issues(b, "warnings", report->warnings);
	put_issues(b, "notices", report->notices);
	api_put_string(b, "print_ready_after",
		       report->facts.print_hold ? report->facts.turns_17 : NULL);
	json_builder_end_object(b);
	validate_report_free(report);
	api_reply(req, 201, json_builder_get_root(b));
}

void
api_h_enroll_list(ApiRequest *req)
{
	g_autoptr(GError) e = NULL;
	g_autoptr(GPtrArray) list = store_enrollment_list_open(req->deps->store, &e);
	if (!list) {
		api_reply_gerror(req, e, NULL);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "enrollments");
	json_builder_begin_array(b);
	for (guint i = 0; i < list->len; i++) {
		const StoreEnrollment *en = g_ptr_array_index(list, i);
		g_autoptr(GArray) missing = enroll_missing(req->deps->store, en->id, NULL);
		json_builder_begin_object(b);
		api_put_int(b, "id", en->id);
		api_put_string(b, "nik", en->nik);
		api_put_string(b, "name", en->name);
		api_put_string(b, "operator", en->operator_name);
		api_put_node(b, "created_at", api_time_node(en->created_at));
		api_put_node(b, "updated_at", api_time_node(en->updated_at));
		api_put_int(b, "missing", missing ? missing->len : 0);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

/* The members captures/biometrics and exceptions for ITEMS. */
static void
put_items(JsonBuilder *b, const char *captures_name, const GPtrArray *items, gboolean full)
{
	json_builder_set_member_name(b, captures_name);
	json_builder_begin_array(b);
	for (guint i = 0; i < items->len; i++) {
		const StoreItem *it = g_ptr_array_index(items, i);
		if (strcmp(it->kind, "capture") != 0)
			continue;
		json_builder_begin_object(b);
		api_put_string(b, "modality", it->modality);
		api_put_int(b, "position", it->position);
		api_put_string(b, "status", it->status);
		api_put_int(b, "quality", it->quality);
		api_put_int(b, "threshold", it->threshold);
		api_put_string(b, "algorithm", it->algorithm);
		api_put_int(b, "attempts", it->attempts);
		api_put_bool(b, "forced", it->forced);
		api_put_string(b, "source", it->source);
		api_put_string(b, "device", it->device);
		api_put_int(b, "width", it->width);
		api_put_int(b, "height", it->height);
		if (full) {
			api_put_string(b, "driver", it->driver);
			api_put_string(b, "driver_version", it->driver_version);
			api_put_string(b, "serial", it->serial);
			api_put_int(b, "ppi", it->ppi);
			api_put_node(b, "captured_at", api_time_node(it->captured_at));
		}
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "exceptions");
	json_builder_begin_array(b);
	for (guint i = 0; i < items->len; i++) {
		const StoreItem *it = g_ptr_array_index(items, i);
		if (strcmp(it->kind, "exception") != 0)
			continue;
		json_builder_begin_object(b);
		api_put_string(b, "modality", it->modality);
		api_put_int(b, "position", it->position);
		api_put_string(b, "kind", it->exc_kind);
		api_put_string(b, "reason", it->reason);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}

static void
put_slots(JsonBuilder *b, const char *name, const GArray *slots)
{
	json_builder_set_member_name(b, name);
	json_builder_begin_array(b);
	for (guint i = 0; slots && i < slots->len; i++) {
		const EnrollSlot *s = &g_array_index(slots, EnrollSlot, i);
		json_builder_begin_object(b);
		api_put_string(b, "modality", enroll_modality_name(s->modality));
		api_put_int(b, "position", s->position);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}

void
api_h_enroll_get(ApiRequest *req)
{
	gint64 id = api_param_id(req, "enrollment");
	if (!id)
		return;
	g_autoptr(GError) e = NULL;
	StoreEnrollment en = { 0 };
	int found = store_enrollment_get(req->deps->store, id, &en, &e);
	if (found <= 0) {
		if (found == 0)
			api_reply_error(req, 404, "not_found", NULL, "no enrollment %" G_GINT64_FORMAT,
					id);
		else
			api_reply_gerror(req, e, NULL);
		return;
	}
	gboolean open = strcmp(en.state, "open") == 0;
	g_autoptr(GPtrArray) items = store_item_list(req->deps->store, id, FALSE, &e);
	g_autoptr(GArray) missing = open ? enroll_missing(req->deps->store, id, &e) : NULL;
	if (!items || (open && !missing)) {
		store_enrollment_clear(&en);
		api_reply_gerror(req, e, NULL);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	api_put_int(b, "id", id);
	api_put_string(b, "state", en.state);
	api_put_string(b, "nik", en.nik);
	api_put_string(b, "name", en.name);
	api_put_string(b, "operator", en.operator_name);
	api_put_node(b, "created_at", api_time_node(en.created_at));
	api_put_node(b, "updated_at", api_time_node(en.updated_at));
	api_put_node(b, "warnings", json_from_string(en.warnings, NULL));
	put_items(b, "captures", items, FALSE);
	put_slots(b, "missing", missing);
	if (strcmp(en.state, "committed") == 0)
		api_put_int(b, "record_id", id);
	else
		api_put_string(b, "record_id", NULL);
	json_builder_end_object(b);
	store_enrollment_clear(&en);
	api_reply(req, 200, json_builder_get_root(b));
}

static void
capture_done(const EnrollCaptureResult *r, GError *error, void *data)
{
	ApiRequest *req = data;
	if (error) {
		api_reply_gerror(req, error, NULL);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	api_put_string(b, "modality", enroll_modality_name(r->modality));
	api_put_int(b, "position", r->position);
	api_put_int(b, "attempt", r->attempt);
	api_put_int(b, "quality", r->quality);
	api_put_int(b, "threshold", r->threshold);
	api_put_int(b, "best_quality", r->best_quality);
	api_put_int(b, "attempts_left", r->attempts_left);
	api_put_string(b, "status", r->status);
	api_put_string(b, "algorithm", r->algorithm);
	api_put_string(b, "message", r->message);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

void
api_h_enroll_capture(ApiRequest *req)
{
	gint64 id = api_param_id(req, "enrollment");
	if (!id)
		return;
	EnrollDeps deps = deps_of(req);
	AuditActor who = api_actor(req);
	api_defer(req);
	enroll_capture(&deps, &who, id, route_modality(req), (int)api_body_int(req, "position", 0),
		       capture_done, req);
}

void
api_h_enroll_upload(ApiRequest *req)
{
	gint64 id = api_param_id(req, "enrollment");
	if (!id)
		return;
	EnrollDeps deps = deps_of(req);
	AuditActor who = api_actor(req);
	api_defer(req);
	enroll_upload(&deps, &who, id, route_modality(req), (int)api_query_int(req, "position", 0),
		      req->upload, capture_done, req);
}

void
api_h_enroll_exception(ApiRequest *req)
{
	gint64 id = api_param_id(req, "enrollment");
	if (!id)
		return;
	const char *modality = api_body_string(req, "modality");
	int m = enroll_modality_parse(modality);
	if (m < 0) {
		api_reply_error(req, 400, "invalid_value", "modality",
				"field 'modality': '%s' is not finger or iris", modality);
		return;
	}
	EnrollDeps deps = deps_of(req);
	AuditActor who = api_actor(req);
	g_autoptr(GError) e = NULL;
	int position = (int)api_body_int(req, "position", 0);
	const char *kind = api_body_string(req, "kind"), *reason = api_body_string(req, "reason");
	if (enroll_exception(&deps, &who, id, m, position, kind, reason, &e) < 0) {
		api_reply_gerror(req, e, NULL);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	api_put_string(b, "modality", modality);
	api_put_int(b, "position", position);
	api_put_string(b, "kind", kind);
	api_put_string(b, "reason", reason);
	json_builder_end_object(b);
	api_reply(req, 201, json_builder_get_root(b));
}

void
api_h_enroll_commit(ApiRequest *req)
{
	gint64 id = api_param_id(req, "enrollment");
	if (!id)
		return;
	EnrollDeps deps = deps_of(req);
	AuditActor who = api_actor(req);
	g_autoptr(GError) e = NULL;
	EnrollCommit c;
	int rc = enroll_commit(&deps, &who, id, &c, &e);
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	if (rc < 0 && g_error_matches(e, ENROLL_ERROR, ENROLL_ERROR_INCOMPLETE)) {
		json_builder_set_member_name(b, "error");
		json_builder_begin_object(b);
		api_put_string(b, "code", "incomplete");
		api_put_string(b, "message", e->message);
		put_slots(b, "missing", c.missing);
		json_builder_end_object(b);
		json_builder_end_object(b);
		enroll_commit_clear(&c);
		api_reply(req, 409, json_builder_get_root(b));
		return;
	}
	if (rc < 0) {
		enroll_commit_clear(&c);
		api_reply_gerror(req, e, NULL);
		return;
	}
	api_put_int(b, "record_id", c.record_id);
	api_put_string(b, "state", c.state);
	json_builder_set_member_name(b, "needs_approval");
	json_builder_begin_array(b);
	for (guint i = 0; i < c.needs_approval->len; i++)
		json_builder_add_string_value(b, g_ptr_array_index(c.needs_approval, i));
	json_builder_end_array(b);
	api_put_string(b, "print_ready_after", *c.print_ready_after ? c.print_ready_after : NULL);
	json_builder_end_object(b);
	enroll_commit_clear(&c);
	api_reply(req, 201, json_builder_get_root(b));
}

void
api_h_enroll_abandon(ApiRequest *req)
{
	gint64 id = api_param_id(req, "enrollment");
	if (!id)
		return;
	EnrollDeps deps = deps_of(req);
	AuditActor who = api_actor(req);
	g_autoptr(GError) e = NULL;
	if (enroll_abandon(&deps, &who, id, &e) < 0) {
		api_reply_gerror(req, e, NULL);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	api_put_int(b, "id", id);
	api_put_string(b, "state", "abandoned");
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

/* ---- records ---- */

/* A query date YYYY-MM-DD as local midnight (unix seconds), plus DAYS; 0 when absent. */
static gboolean
query_day(ApiRequest *req, const char *name, int days, gint64 *out)
{
	*out = 0;
	const char *v = req->query ? g_hash_table_lookup(req->query, name) : NULL;
	if (!v)
		return TRUE;
	int y, m, d;
	char tail;
	if (sscanf(v, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || strlen(v) != 10 ||
	    !g_date_valid_dmy((GDateDay)d, (GDateMonth)m, (GDateYear)y)) {
		api_reply_error(req, 400, "bad_query", name,
				"query '%s': '%s' is not a date YYYY-MM-DD", name, v);
		return FALSE;
	}
	g_autoptr(GDateTime) t = g_date_time_new_local(y, m, d, 0, 0, 0);
	g_autoptr(GDateTime) t2 = g_date_time_add_days(t, days);
	*out = g_date_time_to_unix(t2);
	return TRUE;
}

static void
put_needs(JsonBuilder *b, const char *json)
{
	api_put_node(b, "needs_approval", json_from_string(json, NULL));
}

void
api_h_records_list(ApiRequest *req)
{
	StoreRecordFilter f = {
		.state = req->query ? g_hash_table_lookup(req->query, "state") : NULL,
		.nik = req->query ? g_hash_table_lookup(req->query, "nik") : NULL,
		.after = api_query_int(req, "after", 0),
		.limit = (int)api_query_int(req, "limit", 100),
	};
	if (!query_day(req, "from", 0, &f.from) || !query_day(req, "to", 1, &f.to))
		return;
	g_autoptr(GError) e = NULL;
	g_autoptr(GPtrArray) list = store_record_list(req->deps->store, &f, &e);
	if (!list) {
		api_reply_gerror(req, e, NULL);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "records");
	json_builder_begin_array(b);
	for (guint i = 0; i < list->len; i++) {
		const StoreRecord *r = g_ptr_array_index(list, i);
		json_builder_begin_object(b);
		api_put_int(b, "id", r->id);
		api_put_string(b, "nik", r->nik);
		api_put_string(b, "name", r->name);
		api_put_string(b, "state", r->state);
		api_put_string(b, "operator", r->operator_name);
		api_put_node(b, "created_at", api_time_node(r->created_at));
		put_needs(b, r->needs_approval);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	if ((int)list->len == f.limit)
		api_put_int(b, "next_after",
			    ((const StoreRecord *)g_ptr_array_index(list, list->len - 1))->id);
	else
		api_put_string(b, "next_after", NULL);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

/* Loads record {id} into R, or answers; FALSE when answered. */
static gboolean
load_record(ApiRequest *req, StoreRecord *r)
{
	gint64 id = api_param_id(req, "record");
	if (!id)
		return FALSE;
	g_autoptr(GError) e = NULL;
	int found = store_record_get(req->deps->store, id, r, &e);
	if (found == 1)
		return TRUE;
	if (found == 0)
		api_reply_error(req, 404, "not_found", NULL, "no record %" G_GINT64_FORMAT, id);
	else
		api_reply_gerror(req, e, NULL);
	return FALSE;
}

void
api_h_records_get(ApiRequest *req)
{
	StoreRecord r = { 0 };
	if (!load_record(req, &r))
		return;
	g_autoptr(GError) e = NULL;
	g_autoptr(GPtrArray) items = store_item_list(req->deps->store, r.id, FALSE, &e);
	if (!items) {
		store_record_clear(&r);
		api_reply_gerror(req, e, NULL);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	api_put_int(b, "id", r.id);
	api_put_string(b, "state", r.state);
	api_put_string(b, "state_reason", r.state_reason);
	api_put_node(b, "demographics", json_from_string(r.demographics, NULL));
	api_put_node(b, "warnings", json_from_string(r.warnings, NULL));
	put_needs(b, r.needs_approval);
	api_put_string(b, "operator", r.operator_name);
	api_put_node(b, "created_at", api_time_node(r.created_at));
	api_put_string(b, "approved_by", *r.approved_by ? r.approved_by : NULL);
	api_put_node(b, "approved_at", api_time_node(r.approved_at));
	api_put_string(b, "print_ready_after", *r.print_ready_after ? r.print_ready_after : NULL);
	if (r.replaces)
		api_put_int(b, "replaces", r.replaces);
	else
		api_put_string(b, "replaces", NULL);
	put_items(b, "biometrics", items, TRUE);
	json_builder_end_object(b);
	store_record_clear(&r);
	api_reply(req, 200, json_builder_get_root(b));
}

void
api_h_records_export(ApiRequest *req)
{
	StoreRecord r = { 0 };
	if (!load_record(req, &r))
		return;
	EnrollDeps deps = deps_of(req);
	g_autoptr(GError) e = NULL;
	g_autoptr(GPtrArray) items = store_item_list(req->deps->store, r.id, TRUE, &e);
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	api_put_int(b, "id", r.id);
	json_builder_set_member_name(b, "files");
	json_builder_begin_array(b);
	for (guint i = 0; items && i < items->len && !e; i++) {
		const StoreItem *it = g_ptr_array_index(items, i);
		if (strcmp(it->kind, "capture") != 0)
			continue;
		g_autoptr(GBytes) png = enroll_open_image(&deps, &r, it, &e);
		if (!png)
			break;
		gsize n = 0;
		const guchar *p = g_bytes_get_data(png, &n);
		g_autofree char *b64 = g_base64_encode(p, n);
		g_autofree char *name = it->position ? g_strdup_printf("%s-%02d.png", it->modality,
								       it->position)
						     : g_strdup_printf("%s.png", it->modality);
		json_builder_begin_object(b);
		api_put_string(b, "name", name);
		api_put_string(b, "modality", it->modality);
		api_put_int(b, "position", it->position);
		api_put_string(b, "png_base64", b64);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	AuditActor who = api_actor(req);
	g_autofree char *target = g_strdup_printf("%" G_GINT64_FORMAT, r.id);
	g_autoptr(GError) ae = NULL;
	/* The export is audited whether or not it succeeded. */
	if (store_begin(req->deps->store, &ae) < 0 ||
	    audit_append(req->deps->store, &who, "record.export", target, e ? "failed" : "ok",
			 NULL, g_get_real_time() / G_USEC_PER_SEC, &ae) < 0 ||
	    store_commit(req->deps->store, &ae) < 0) {
		store_rollback(req->deps->store);
		store_record_clear(&r);
		api_reply_gerror(req, ae, NULL);
		return;
	}
	store_record_clear(&r);
	if (!items || e) {
		api_reply_gerror(req, e, NULL);
		return;
	}
	api_reply(req, 200, json_builder_get_root(b));
}

void
api_h_records_decide(ApiRequest *req)
{
	gint64 id = api_param_id(req, "record");
	if (!id)
		return;
	const char *decision = strrchr(req->route->path, '/') + 1;
	EnrollDeps deps = deps_of(req);
	AuditActor who = api_actor(req);
	g_autoptr(GError) e = NULL;
	const char *state =
		enroll_decide(&deps, &who, id, decision, api_body_string(req, "reason"), &e);
	if (!state) {
		api_reply_gerror(req, e, g_error_matches(e, ENROLL_ERROR, ENROLL_ERROR_INVALID)
						 ? "reason" : NULL);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	api_put_int(b, "id", id);
	api_put_string(b, "state", state);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

/* ---- coverage ---- */

void
api_h_report_coverage(ApiRequest *req)
{
	const char *by = req->query ? g_hash_table_lookup(req->query, "by") : NULL;
	if (!by)
		by = "kecamatan";
	if (strcmp(by, "kecamatan") != 0 && strcmp(by, "day") != 0) {
		api_reply_error(req, 400, "bad_query", "by",
				"query 'by': '%s' is not kecamatan or day", by);
		return;
	}
	gint64 from, to;
	if (!query_day(req, "from", 0, &from) || !query_day(req, "to", 1, &to))
		return;
	g_autoptr(GError) e = NULL;
	gboolean by_day = strcmp(by, "day") == 0;
	g_autoptr(GArray) counts = store_record_counts(req->deps->store, by_day, from, to, &e);
	if (!counts) {
		api_reply_gerror(req, e, NULL);
		return;
	}
	const EktpConfig *cfg = req->deps->cfg;
	const RegionDb *db = req->deps->regions;
	RegionPopulation pop = { 0 };
	gboolean have_pop = db && region_population(db, cfg->enroll_regency, &pop);
	gint64 target = have_pop ? pop.total * cfg->report_adult_share / 100 : 0;
	gint64 recorded = 0;
	for (guint i = 0; i < counts->len; i++)
		recorded += g_array_index(counts, StoreCount, i).count;

	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	api_put_string(b, "regency", cfg->enroll_regency);
	api_put_string(b, "regency_name", db ? region_regency_name(db, cfg->enroll_regency) : NULL);
	api_put_int(b, "population", have_pop ? pop.total : 0);
	api_put_int(b, "adult_share", cfg->report_adult_share);
	api_put_int(b, "target", target);
	api_put_int(b, "recorded", recorded);
	json_builder_set_member_name(b, "percent");
	json_builder_add_double_value(b, target ? 100.0 * (double)recorded / (double)target : 0.0);
	api_put_string(b, "by", by);
	json_builder_set_member_name(b, "rows");
	json_builder_begin_array(b);
	for (guint i = 0; i < counts->len; i++) {
		const StoreCount *c = &g_array_index(counts, StoreCount, i);
		json_builder_begin_object(b);
		api_put_string(b, "key", c->key);
		api_put_string(b, "name", !by_day && db ? region_name(db, c->key) : NULL);
		api_put_int(b, "records", c->count);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}
