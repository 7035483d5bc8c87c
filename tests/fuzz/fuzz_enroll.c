/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes NIK and demographic validation (core/validate.c) as a resident's data
 * reaches it: the input is the body of POST /v1/enrollments, checked by the
 * API gate against that route's fields, then every field is validated against
 * the region tables under the office policy of Kota Singkawang.  Every issue
 * must name its field and rule and carry a message, and a value that the
 * report quotes must be valid UTF-8.  The NIK's own parser runs on its own as
 * well.
 *
 * The region tables are read once from $EKTP_REGION_DATA (default
 * config/data, from the source tree).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "core/region.h"
#include "core/validate.h"

static RegionDb *regions;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *dir = g_getenv("EKTP_REGION_DATA");
	GError *e = NULL;
	regions = region_db_load(dir ? dir : "config/data", &e);
	if (!regions) {
		fprintf(stderr, "fuzz_enroll: %s\n", e->message);
		exit(2);
	}
	return 0;
}

static void
check_issues(const GPtrArray *list)
{
	for (guint i = 0; i < list->len; i++) {
		const ValidateIssue *is = g_ptr_array_index(list, i);
		if (!is->field || !is->rule || !is->message || !is->message[0])
			abort();
		if (is->value && !g_utf8_validate(is->value, -1, NULL))
			abort();
		if (!g_utf8_validate(is->message, -1, NULL))
			abort();
	}
}

static const char *
member(JsonObject *o, const char *name)
{
	JsonNode *n = json_object_get_member(o, name);
	return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING
		       ? json_node_get_string(n)
		       : NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const ApiRoute *route;
	if (!route) {
		char *param = NULL, *allow = NULL;
		ApiError err = { 0 };
		route = api_gate_match("POST", "/v1/enrollments", &param, &allow, &err);
		if (!route || !route->body)
			abort();
		g_free(param);
		g_free(allow);
	}
	ApiError err = { 0 };
	JsonObject *o = api_gate_body(route->body, (const char *)data, size, &err);
	if (!o) {
		api_error_clear(&err);
		return 0;
	}
	EnrollDemographics d = {
#define F(n) .n = member(o, #n)
		F(nik),	       F(kk),	      F(name),	       F(birth_place), F(birth_date), F(gender),
		F(blood_type), F(religion),   F(marital_status), F(occupation),  F(address),    F(rt),
		F(rw),	       F(village_code), F(citizenship), F(nationality),
#undef F
	};
	ValidatePolicy policy = VALIDATE_POLICY_INIT;
	policy.office_regency = "61.72";
	policy.min_age = 16;
	policy.recording_date = "2026-11-28";
	GError *e = NULL;
	ValidateReport *report = validate_enrollment(regions, &d, &policy, &e);
	if (!report)
		abort(); /* the policy is fixed and good: only D varies */
	check_issues(report->errors);
	check_issues(report->warnings);
	check_issues(report->notices);
	validate_report_free(report);

	if (d.nik) {
		NikInfo info;
		if (nik_parse(d.nik, "2026-11-28", &info, &e) == 0) {
			if (info.month < 1 || info.month > 12 || info.day < 1 || info.day > 31 ||
			    info.serial < 1 || strlen(info.region) != 6)
				abort();
		} else {
			g_clear_error(&e);
		}
	}
	json_object_unref(o);
	return 0;
}
