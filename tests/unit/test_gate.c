/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the API gate's pure checks (api/gate.c) over the real route
 * table (api/routes.c): route matching with its {name} capture, 404 and 405
 * with the allowed methods; request bodies checked field by field (missing,
 * unknown, wrong type, out of range, not JSON, not an object, not UTF-8); and
 * query parameters.  Every refusal is checked for its status, its code and,
 * where one field is at fault, the field's name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <string.h>

#include "api/internal.h"

static const ApiRoute *
route(const char *method, const char *path)
{
	char *param = NULL, *allow = NULL;
	ApiError err = { 0 };
	const ApiRoute *r = api_gate_match(method, path, &param, &allow, &err);
	if (!r)
		fail_msg("no route %s %s: %s", method, path, err.message);
	g_free(param);
	g_free(allow);
	return r;
}

/*
 * Expects ERR to say STATUS, CODE and FIELD (NULL: no field) with a message,
 * then clears it.  WHAT names the request in the failure message.
 */
static void
expect_api_error(ApiError *err, guint status, const char *code, const char *field,
		 const char *what)
{
	if (err->status != status || g_strcmp0(err->code, code) != 0 ||
	    g_strcmp0(err->field, field) != 0)
		fail_msg("%s: got %u %s field %s (%s); wanted %u %s field %s", what, err->status,
			 err->code ? err->code : "(null)", err->field ? err->field : "(null)",
			 err->message ? err->message : "", status, code, field ? field : "(null)");
	assert_non_null(err->message);
	api_error_clear(err);
}

/* ---- matching ---- */

static void
test_every_route_matches_itself(void **state)
{
	(void)state;
	assert_true(api_n_routes >= 10);
	for (size_t i = 0; i < api_n_routes; i++) {
		const ApiRoute *want = &api_routes[i];
		g_autofree char *value = g_strdup_printf("user%zu", i);
		g_autoptr(GString) path = g_string_new(want->path);
		gboolean has_param = strstr(want->path, "{name}") != NULL;
		g_string_replace(path, "{name}", value, 0);

		char *param = NULL, *allow = NULL;
		ApiError err = { 0 };
		const ApiRoute *got = api_gate_match(want->method, path->str, &param, &allow, &err);
		if (got != want)
			fail_msg("%s %s matched %s %s", want->method, path->str,
				 got ? got->method : "nothing", got ? got->path : "");
		assert_int_equal(err.status, 0);
		assert_null(err.message);
		assert_null(allow);
		if (has_param)
			assert_string_equal(param, value);
		else
			assert_null(param);
		g_free(param);
	}
}

static void
test_unknown_path_is_404(void **state)
{
	(void)state;
	static const char *const paths[] = {
		"/v1/nope", "/v1", "/", "", "/v1/status/", "/v1/status/x", "/v2/status",
		"/V1/STATUS", "/v1/users/bob/unknown", "/v1/users//pin", "/v1/users/bob/pin/x",
		"v1/status",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(paths); i++) {
		char *param = (char *)"junk", *allow = (char *)"junk";
		ApiError err = { 0 };
		const ApiRoute *r = api_gate_match("GET", paths[i], &param, &allow, &err);
		if (r)
			fail_msg("\"%s\" matched %s", paths[i], r->path);
		assert_null(param);
		assert_null(allow);
		expect_api_error(&err, 404, "not_found", NULL, paths[i]);
		assert_int_equal(err.status, 0);
		assert_null(err.message);
	}
}

static void
expect_405(const char *method, const char *path, const char *const *allowed)
{
	char *param = NULL, *allow = NULL;
	ApiError err = { 0 };
	assert_null(api_gate_match(method, path, &param, &allow, &err));
	assert_int_equal(err.status, 405);
	assert_string_equal(err.code, "method_not_allowed");
	assert_null(param);
	assert_non_null(allow);
	g_auto(GStrv) got = g_strsplit(allow, ", ", -1);
	assert_int_equal(g_strv_length(got), g_strv_length((char **)allowed));
	for (int i = 0; allowed[i]; i++)
		if (!g_strv_contains((const char *const *)got, allowed[i]))
			fail_msg("%s %s: allow \"%s\" lacks %s", method, path, allow, allowed[i]);
	assert_false(g_strv_contains((const char *const *)got, method));
	assert_non_null(strstr(err.message, method));
	g_free(allow);
	api_error_clear(&err);
}

static void
test_other_method_is_405(void **state)
{
	(void)state;
	static const char *const get_post[] = { "GET", "POST", NULL };
	static const char *const post[] = { "POST", NULL };
	static const char *const get[] = { "GET", NULL };
	expect_405("DELETE", "/v1/users", get_post);
	expect_405("PUT", "/v1/users", get_post);
	expect_405("GET", "/v1/login", post);
	expect_405("PUT", "/v1/users/bob/pin", post);
	expect_405("GET", "/v1/users/bob/disable", post);
	expect_405("POST", "/v1/status", get);
	expect_405("POST", "/v1/audit/verify", get);
	expect_405("get", "/v1/status", get); /* methods are case-sensitive */
}

static void
test_param_unescaped(void **state)
{
	(void)state;
	char *param = NULL, *allow = NULL;
	ApiError err = { 0 };
	const ApiRoute *r = api_gate_match("POST", "/v1/users/a%20b/pin", &param, &allow, &err);
	assert_non_null(r);
	assert_string_equal(r->path, "/v1/users/{name}/pin");
	assert_string_equal(param, "a b");
	g_free(param);

	r = api_gate_match("POST", "/v1/users/o%27brien%3B/disable", &param, &allow, &err);
	assert_non_null(r);
	assert_string_equal(param, "o'brien;");
	g_free(param);

	/* An escaped slash or NUL never reaches a handler as part of a name. */
	static const char *const bad[] = { "/v1/users/a%2Fb/pin", "/v1/users/a%2fb/pin",
					   "/v1/users/a%00b/pin" };
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		param = NULL;
		r = api_gate_match("POST", bad[i], &param, &allow, &err);
		if (r)
			fail_msg("%s matched with name \"%s\"", bad[i], param);
		assert_null(param);
		assert_int_equal(err.status, 404);
		api_error_clear(&err);
	}
}

/* ---- bodies ---- */

static const ApiField *
login_fields(void)
{
	const ApiField *f = route("POST", "/v1/login")->body;
	assert_non_null(f);
	return f;
}

/* Fields of every type, for what the real routes do not declare yet. */
static const ApiField mixed_fields[] = {
	{ "name", API_STRING, TRUE, 1, 8 },
	{ "count", API_INT, FALSE, 0, 10 },
	{ "flag", API_BOOL, FALSE, 0, 0 },
	{ NULL },
};

/* Checks DATA against FIELDS and expects STATUS/CODE/FIELD (FIELD may be NULL). */
static void
expect_body_error(const ApiField *fields, const char *data, gsize len, guint status,
		  const char *code, const char *field)
{
	ApiError err = { 0 };
	g_autofree char *escaped = g_strescape(data ? data : "", NULL);
	g_autofree char *shown = g_strdup_printf("body \"%s\"", escaped);
	JsonObject *o = api_gate_body(fields, data, len, &err);
	if (o) {
		json_object_unref(o);
		fail_msg("%s accepted", shown);
	}
	expect_api_error(&err, status, code, field, shown);
}

/* Checks TEXT against FIELDS and expects an object back (caller unrefs); ERR is the caller's. */
static JsonObject *
body_ok(const ApiField *fields, const char *text, ApiError *err)
{
	JsonObject *o = api_gate_body(fields, text, strlen(text), err);
	assert_non_null(o);
	return o;
}

#define BODY_ERR(fields, text, status, code, field) \
	expect_body_error(fields, text, strlen(text), status, code, field)

static void
test_body_valid(void **state)
{
	(void)state;
	ApiError err = { 0 };
	const char *text = "{\"user\": \"alice\", \"pin\": \"123456\"}";
	g_autoptr(JsonObject) o = body_ok(login_fields(), text, &err);
	assert_int_equal(err.status, 0);
	assert_null(err.message);
	assert_int_equal(json_object_get_size(o), 2);
	assert_string_equal(json_object_get_string_member(o, "user"), "alice");
	assert_string_equal(json_object_get_string_member(o, "pin"), "123456");

	/* Boundaries: 1 and 32 bytes for user, 64 for pin. */
	g_autofree char *u32 = g_strnfill(32, 'u');
	g_autofree char *p64 = g_strnfill(64, '7');
	g_autofree char *edge = g_strdup_printf("{\"user\":\"%s\",\"pin\":\"%s\"}", u32, p64);
	g_autoptr(JsonObject) o2 = body_ok(login_fields(), edge, &err);
	g_autoptr(JsonObject) o3 = body_ok(login_fields(), "{\"user\":\"a\",\"pin\":\"1\"}", &err);

	/* Every type, within range; optional fields may be left out. */
	const char *mixed = "{\"name\":\"x\",\"count\":10,\"flag\":false}";
	g_autoptr(JsonObject) o4 = body_ok(mixed_fields, mixed, &err);
	assert_int_equal(json_object_get_int_member(o4, "count"), 10);
	g_autoptr(JsonObject) o5 = body_ok(mixed_fields, "{\"name\":\"x\"}", &err);
	assert_int_equal(err.status, 0);
}

static void
test_body_missing_field(void **state)
{
	(void)state;
	const ApiField *login = login_fields();
	expect_body_error(login, "", 0, 400, "missing_field", "user");
	expect_body_error(login, NULL, 0, 400, "missing_field", "user");
	BODY_ERR(login, "{}", 400, "missing_field", "user");
	BODY_ERR(login, "{\"user\":\"alice\"}", 400, "missing_field", "pin");
	BODY_ERR(login, "{\"pin\":\"123456\"}", 400, "missing_field", "user");
	BODY_ERR(mixed_fields, "{\"count\":1}", 400, "missing_field", "name");
}

static void
test_body_unknown_field(void **state)
{
	(void)state;
	const ApiField *login = login_fields();
	BODY_ERR(login, "{\"user\":\"a\",\"pin\":\"1\",\"role\":\"admin\"}", 400, "unknown_field",
		 "role");
	BODY_ERR(login, "{\"User\":\"a\",\"pin\":\"1\"}", 400, "unknown_field", "User");
	BODY_ERR(login, "{\"\":1}", 400, "unknown_field", "");
	/* The logout route takes an empty object and nothing else. */
	const ApiField *empty = route("POST", "/v1/logout")->body;
	assert_non_null(empty);
	BODY_ERR(empty, "{\"x\":1}", 400, "unknown_field", "x");
	ApiError err = { 0 };
	g_autoptr(JsonObject) o = body_ok(empty, "{}", &err);
	g_autoptr(JsonObject) o2 = body_ok(empty, "", &err);
	assert_int_equal(err.status, 0);
}

static void
test_body_wrong_type(void **state)
{
	(void)state;
	const ApiField *login = login_fields();
	BODY_ERR(login, "{\"user\":5,\"pin\":\"1\"}", 400, "wrong_type", "user");
	BODY_ERR(login, "{\"user\":\"a\",\"pin\":123456}", 400, "wrong_type", "pin");
	BODY_ERR(login, "{\"user\":null,\"pin\":\"1\"}", 400, "wrong_type", "user");
	BODY_ERR(login, "{\"user\":true,\"pin\":\"1\"}", 400, "wrong_type", "user");
	BODY_ERR(login, "{\"user\":[\"a\"],\"pin\":\"1\"}", 400, "wrong_type", "user");
	BODY_ERR(login, "{\"user\":{\"a\":1},\"pin\":\"1\"}", 400, "wrong_type", "user");
	BODY_ERR(mixed_fields, "{\"name\":\"x\",\"count\":\"5\"}", 400, "wrong_type", "count");
	BODY_ERR(mixed_fields, "{\"name\":\"x\",\"count\":1.5}", 400, "wrong_type", "count");
	BODY_ERR(mixed_fields, "{\"name\":\"x\",\"count\":true}", 400, "wrong_type", "count");
	BODY_ERR(mixed_fields, "{\"name\":\"x\",\"count\":null}", 400, "wrong_type", "count");
	BODY_ERR(mixed_fields, "{\"name\":\"x\",\"flag\":1}", 400, "wrong_type", "flag");
	BODY_ERR(mixed_fields, "{\"name\":\"x\",\"flag\":\"true\"}", 400, "wrong_type", "flag");
}

static void
test_body_invalid_value(void **state)
{
	(void)state;
	const ApiField *login = login_fields();
	g_autofree char *u33 = g_strnfill(33, 'u');
	g_autofree char *p65 = g_strnfill(65, '1');
	g_autofree char *long_user = g_strdup_printf("{\"user\":\"%s\",\"pin\":\"1\"}", u33);
	g_autofree char *long_pin = g_strdup_printf("{\"user\":\"a\",\"pin\":\"%s\"}", p65);
	BODY_ERR(login, long_user, 400, "invalid_value", "user");
	BODY_ERR(login, long_pin, 400, "invalid_value", "pin");
	BODY_ERR(login, "{\"user\":\"\",\"pin\":\"1\"}", 400, "invalid_value", "user");
	/* Length is in bytes: 5 two-byte letters are 10 bytes, over a limit of 8. */
	BODY_ERR(mixed_fields, "{\"name\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}", 400,
		 "invalid_value", "name");
	BODY_ERR(mixed_fields, "{\"name\":\"x\",\"count\":11}", 400, "invalid_value", "count");
	BODY_ERR(mixed_fields, "{\"name\":\"x\",\"count\":-1}", 400, "invalid_value", "count");
}

static void
test_body_bad_json(void **state)
{
	(void)state;
	const ApiField *login = login_fields();
	BODY_ERR(login, "{\"user\":\"a\xff\",\"pin\":\"1\"}", 400, "bad_json", NULL);
	BODY_ERR(login, "{\"user\":\"\xc3\",\"pin\":\"1\"}", 400, "bad_json", NULL);
	BODY_ERR(login, "{\"user\":\"\xed\xa0\x80\",\"pin\":\"1\"}", 400, "bad_json", NULL);
	static const char nul[] = "{\"user\":\"a\0b\",\"pin\":\"1\"}";
	expect_body_error(login, nul, sizeof nul - 1, 400, "bad_json", NULL);
	static const char nul_after[] = "{\"user\":\"a\",\"pin\":\"1\"}\0";
	expect_body_error(login, nul_after, sizeof nul_after - 1, 400, "bad_json", NULL);
	BODY_ERR(login, "{\"user\":\"a\",\"pin\":\"1\"", 400, "bad_json", NULL);
	BODY_ERR(login, "{\"user\":", 400, "bad_json", NULL);
	BODY_ERR(login, "{", 400, "bad_json", NULL);
	BODY_ERR(login, "user=a&pin=1", 400, "bad_json", NULL);
	BODY_ERR(login, "{user:\"a\"}", 400, "bad_json", NULL);
	/* LEN is honoured: a valid object cut short is not valid. */
	const char *whole = "{\"user\":\"a\",\"pin\":\"1\"}";
	expect_body_error(login, whole, strlen(whole) - 1, 400, "bad_json", NULL);
}

/*
 * A string whose JSON escapes decode to a NUL byte would reach the handlers
 * cut short at the NUL ("ab\u0000cd" checked and used as "ab"), so the gate
 * must refuse it like a raw NUL byte.
 */
static void
test_body_escaped_nul(void **state)
{
	(void)state;
	const char *text = "{\"user\":\"ab\\u0000cd\",\"pin\":\"1\"}";
	ApiError err = { 0 };
	JsonObject *o = api_gate_body(login_fields(), text, strlen(text), &err);
	if (o) {
		char seen[64];
		g_strlcpy(seen, json_object_get_string_member(o, "user"), sizeof seen);
		json_object_unref(o);
		fail_msg("\"ab\\u0000cd\" accepted, handlers would see user \"%s\"", seen);
	}
	assert_int_equal(err.status, 400);
	assert_true(strcmp(err.code, "bad_json") == 0 || strcmp(err.code, "invalid_value") == 0);
	api_error_clear(&err);
}

static void
test_body_not_object(void **state)
{
	(void)state;
	const ApiField *login = login_fields();
	BODY_ERR(login, "[]", 400, "not_object", NULL);
	BODY_ERR(login, "[{\"user\":\"a\",\"pin\":\"1\"}]", 400, "not_object", NULL);
	BODY_ERR(login, "5", 400, "not_object", NULL);
	BODY_ERR(login, "\"user\"", 400, "not_object", NULL);
	BODY_ERR(login, "null", 400, "not_object", NULL);
	BODY_ERR(login, "true", 400, "not_object", NULL);

	/* Whitespace is no body at all: not an object, or not JSON; never accepted. */
	ApiError err = { 0 };
	JsonObject *o = api_gate_body(login, "   ", 3, &err);
	assert_null(o);
	assert_int_equal(err.status, 400);
	assert_true(strcmp(err.code, "not_object") == 0 || strcmp(err.code, "bad_json") == 0);
	api_error_clear(&err);
}

static void
test_body_on_route_without_body(void **state)
{
	(void)state;
	const ApiRoute *status = route("GET", "/v1/status");
	assert_null(status->body);
	BODY_ERR(NULL, "{}", 400, "unknown_field", NULL);
	BODY_ERR(NULL, "{\"x\":1}", 400, "unknown_field", NULL);
	BODY_ERR(NULL, "garbage", 400, "unknown_field", NULL);
	/* No body where none is allowed: no object, and no error either. */
	ApiError err = { 0 };
	assert_null(api_gate_body(NULL, "", 0, &err));
	assert_int_equal(err.status, 0);
	assert_null(err.message);
}

/* ---- queries ---- */

static GHashTable *
query(const char *k1, const char *v1, const char *k2, const char *v2)
{
	GHashTable *q = g_hash_table_new(g_str_hash, g_str_equal);
	if (k1)
		g_hash_table_insert(q, (gpointer)k1, (gpointer)v1);
	if (k2)
		g_hash_table_insert(q, (gpointer)k2, (gpointer)v2);
	return q;
}

static void
expect_query_error(const ApiField *fields, GHashTable *q, const char *field)
{
	ApiError err = { 0 };
	assert_false(api_gate_query(fields, q, &err));
	g_autofree char *what = g_strdup_printf("query with %s", field);
	expect_api_error(&err, 400, "bad_query", field, what);
	g_hash_table_unref(q);
}

static void
test_query(void **state)
{
	(void)state;
	const ApiField *audit = route("GET", "/v1/audit")->query;
	assert_non_null(audit);
	ApiError err = { 0 };

	g_autoptr(GHashTable) ok = query("after", "5", "limit", "10");
	assert_true(api_gate_query(audit, ok, &err));
	assert_int_equal(err.status, 0);
	g_autoptr(GHashTable) edges = query("after", "0", "limit", "1000");
	assert_true(api_gate_query(audit, edges, &err));
	g_autoptr(GHashTable) low = query("after", "9223372036854775807", "limit", "1");
	assert_true(api_gate_query(audit, low, &err));
	g_autoptr(GHashTable) none = query(NULL, NULL, NULL, NULL);
	assert_true(api_gate_query(audit, none, &err));
	assert_true(api_gate_query(audit, NULL, &err));
	assert_int_equal(err.status, 0);

	expect_query_error(audit, query("bogus", "1", NULL, NULL), "bogus");
	expect_query_error(audit, query("limit", "10", "Limit", "10"), "Limit");
	expect_query_error(audit, query("limit", "0", NULL, NULL), "limit");
	expect_query_error(audit, query("limit", "1001", NULL, NULL), "limit");
	expect_query_error(audit, query("limit", "-5", NULL, NULL), "limit");
	expect_query_error(audit, query("after", "-1", NULL, NULL), "after");
	expect_query_error(audit, query("after", "9223372036854775808", NULL, NULL), "after");
	expect_query_error(audit, query("limit", "ten", NULL, NULL), "limit");
	expect_query_error(audit, query("limit", "", NULL, NULL), "limit");
	expect_query_error(audit, query("limit", "10x", NULL, NULL), "limit");
	expect_query_error(audit, query("limit", " 10", NULL, NULL), "limit");
	expect_query_error(audit, query("limit", "1e2", NULL, NULL), "limit");
	expect_query_error(audit, query("limit", "0x10", NULL, NULL), "limit");

	/* A route that takes no query refuses any. */
	const ApiRoute *status = route("GET", "/v1/status");
	assert_null(status->query);
	expect_query_error(status->query, query("limit", "10", NULL, NULL), "limit");
	g_autoptr(GHashTable) empty = query(NULL, NULL, NULL, NULL);
	assert_true(api_gate_query(status->query, empty, &err));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_route_matches_itself),
		cmocka_unit_test(test_unknown_path_is_404),
		cmocka_unit_test(test_other_method_is_405),
		cmocka_unit_test(test_param_unescaped),
		cmocka_unit_test(test_body_valid),
		cmocka_unit_test(test_body_missing_field),
		cmocka_unit_test(test_body_unknown_field),
		cmocka_unit_test(test_body_wrong_type),
		cmocka_unit_test(test_body_invalid_value),
		cmocka_unit_test(test_body_bad_json),
		cmocka_unit_test(test_body_escaped_nul),
		cmocka_unit_test(test_body_not_object),
		cmocka_unit_test(test_body_on_route_without_body),
		cmocka_unit_test(test_query),
	};
	return cmocka_run_group_tests_name("gate", tests, NULL, NULL);
}
