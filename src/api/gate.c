/* SPDX-License-Identifier: MIT */
/*
 * The gate's pure checks: which route a request names, and whether its body
 * and query have exactly the declared shape.  They touch no socket and no
 * database, so the unit tests and the fuzzers drive them directly.  Token and
 * role checks, which need the store, are in server.c right before dispatch.
 */
#include <string.h>

#include "api/internal.h"

void
api_error_clear(ApiError *e)
{
	g_free(e->field);
	g_free(e->message);
	memset(e, 0, sizeof *e);
}

static gboolean
fail(ApiError *err, guint status, const char *code, const char *field, const char *fmt, ...)
	G_GNUC_PRINTF(5, 6);

static gboolean
fail(ApiError *err, guint status, const char *code, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err->status = status;
	err->code = code;
	err->field = g_strdup(field);
	err->message = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return FALSE;
}

/* Matches PATH against a pattern, capturing one "{…}" segment. */
static gboolean
path_matches(const char *pattern, const char *path, char **param)
{
	g_auto(GStrv) want = g_strsplit(pattern, "/", -1);
	g_auto(GStrv) got = g_strsplit(path, "/", -1);
	char *captured = NULL;

	if (g_strv_length(want) != g_strv_length(got))
		return FALSE;
	for (int i = 0; want[i]; i++) {
		if (want[i][0] == '{') {
			if (got[i][0] == '\0')
				goto no;
			g_free(captured);
			captured = g_uri_unescape_string(got[i], "/");
			if (!captured)
				goto no;
		} else if (strcmp(want[i], got[i]) != 0) {
			goto no;
		}
	}
	*param = captured;
	return TRUE;
no:
	g_free(captured);
	return FALSE;
}

const ApiRoute *
api_gate_match(const char *method, const char *path, char **param, char **allow, ApiError *err)
{
	g_autoptr(GString) methods = g_string_new(NULL);
	*param = NULL;
	*allow = NULL;
	for (size_t i = 0; i < api_n_routes; i++) {
		const ApiRoute *r = &api_routes[i];
		char *p = NULL;
		if (!path_matches(r->path, path, &p))
			continue;
		if (strcmp(r->method, method) == 0) {
			*param = p;
			return r;
		}
		g_free(p);
		g_string_append_printf(methods, "%s%s", methods->len ? ", " : "", r->method);
	}
	if (methods->len) {
		*allow = g_string_free(g_steal_pointer(&methods), FALSE);
		fail(err, 405, "method_not_allowed", NULL, "%s is not allowed on %s (allowed: %s)",
		     method, path, *allow);
	} else {
		fail(err, 404, "not_found", NULL, "no route %s %s", method, path);
	}
	return NULL;
}

static const char *
type_name(ApiType t)
{
	switch (t) {
	case API_STRING:
		return "a string";
	case API_INT:
		return "a whole number";
	case API_BOOL:
		return "true or false";
	}
	return "?";
}

static const ApiField *
find_field(const ApiField *fields, const char *name)
{
	for (const ApiField *f = fields; f && f->name; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

static gboolean
check_member(const ApiField *f, JsonNode *v, ApiError *err)
{
	GType vt = JSON_NODE_HOLDS_VALUE(v) ? json_node_get_value_type(v) : G_TYPE_INVALID;
	switch (f->type) {
	case API_STRING: {
		if (vt != G_TYPE_STRING)
			break;
		const char *s = json_node_get_string(v);
		gint64 len = (gint64)strlen(s);
		if (len < f->min || len > f->max)
			return fail(err, 400, "invalid_value", f->name,
				    "field '%s': must be %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT
				    " bytes long (got %" G_GINT64_FORMAT ")", f->name, f->min, f->max,
				    len);
		return TRUE;
	}
	case API_INT: {
		if (vt != G_TYPE_INT64)
			break;
		gint64 n = json_node_get_int(v);
		if (n < f->min || n > f->max)
			return fail(err, 400, "invalid_value", f->name,
				    "field '%s': must be %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
				    f->name, f->min, f->max);
		return TRUE;
	}
	case API_BOOL:
		if (vt == G_TYPE_BOOLEAN)
			return TRUE;
		break;
	}
	return fail(err, 400, "wrong_type", f->name, "field '%s': must be %s", f->name,
		    type_name(f->type));
}

/*
 * TRUE when the JSON text escapes a NUL ("\u0000" after an odd run of
 * backslashes).  C strings would end there, so a name "bob\u0000x" would
 * become "bob": such a body is refused outright.
 */
static gboolean
has_escaped_nul(const char *data, gsize len)
{
	for (gsize i = 0; i + 6 <= len; i++) {
		if (data[i] != '\\')
			continue;
		gsize run = 1;
		while (i + run < len && data[i + run] == '\\')
			run++;
		gsize u = i + run - 1; /* the last backslash of the run */
		if (run % 2 == 1 && u + 6 <= len && memcmp(data + u + 1, "u0000", 5) == 0)
			return TRUE;
		i += run - 1;
	}
	return FALSE;
}

JsonObject *
api_gate_body(const ApiField *fields, const char *data, gsize len, ApiError *err)
{
	if (!fields) {
		if (len > 0)
			fail(err, 400, "unknown_field", NULL, "this route takes no body");
		return NULL;
	}
	if (len == 0) {
		/* An empty body is an empty object: routes with no required field accept it. */
		data = "{}";
		len = 2;
	}
	if (memchr(data, '\0', len) || !g_utf8_validate(data, (gssize)len, NULL)) {
		fail(err, 400, "bad_json", NULL, "body is not valid UTF-8 text");
		return NULL;
	}
	if (has_escaped_nul(data, len)) {
		fail(err, 400, "bad_json", NULL, "body holds a NUL character (\\u0000)");
		return NULL;
	}
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	GError *e = NULL;
	if (!json_parser_load_from_data(parser, data, (gssize)len, &e)) {
		fail(err, 400, "bad_json", NULL, "body is not valid JSON: %s", e->message);
		g_error_free(e);
		return NULL;
	}
	JsonNode *root = json_parser_get_root(parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		fail(err, 400, "not_object", NULL, "body must be a JSON object");
		return NULL;
	}
	JsonObject *obj = json_node_get_object(root);
	g_autoptr(GList) members = json_object_get_members(obj);
	for (GList *m = members; m; m = m->next) {
		const ApiField *f = find_field(fields, m->data);
		if (!f) {
			fail(err, 400, "unknown_field", m->data, "field '%s': not known on this route",
			     (const char *)m->data);
			return NULL;
		}
		if (!check_member(f, json_object_get_member(obj, f->name), err))
			return NULL;
	}
	for (const ApiField *f = fields; f->name; f++) {
		if (f->required && !json_object_has_member(obj, f->name)) {
			fail(err, 400, "missing_field", f->name, "field '%s': required", f->name);
			return NULL;
		}
	}
	return json_object_ref(obj);
}

gboolean
api_gate_query(const ApiField *fields, GHashTable *query, ApiError *err)
{
	GHashTableIter it;
	gpointer k, v;
	if (!query)
		return TRUE;
	g_hash_table_iter_init(&it, query);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		const ApiField *f = find_field(fields, k);
		if (!f)
			return fail(err, 400, "bad_query", k, "query parameter '%s': not known on "
				    "this route", (const char *)k);
		if (f->type == API_STRING) {
			gsize len = strlen(v);
			if (len < (gsize)f->min || len > (gsize)f->max || !g_utf8_validate(v, -1, NULL))
				return fail(err, 400, "bad_query", f->name,
					    "query parameter '%s': must be %" G_GINT64_FORMAT
					    " to %" G_GINT64_FORMAT " characters of text",
					    f->name, f->min, f->max);
			continue;
		}
		g_assert(f->type == API_INT);
		gint64 n;
		if (!g_ascii_string_to_signed(v, 10, f->min, f->max, &n, NULL))
			return fail(err, 400, "bad_query", f->name, "query parameter '%s': must be "
				    "a whole number from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
				    f->name, f->min, f->max);
	}
	return TRUE;
}
