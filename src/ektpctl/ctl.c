/* SPDX-License-Identifier: MIT */
/*
 * The helpers that every ektpctl command file shares: sending a request and turning the answer
 * into an exit code and a message, reading members of the API's JSON without tripping over a
 * missing or mistyped one, and building paths and queries. See ctl.h.
 */
#include "ektpctl/ctl.h"

#include <stdlib.h>
#include <string.h>

#include "ektpctl/output.h"

#define LOGIN_HINT "not logged in or session expired: run `ektpctl login NAME`"

/* ---- reading the API's JSON ---- */

/* Member name of o (which may be NULL) when it is a JSON value of the given type. Borrowed. */
static JsonNode *
get_value(JsonObject *o, const char *name, GType type)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;
	if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != type)
		return NULL;
	return n;
}

const char *
ctl_get_str(JsonObject *o, const char *name)
{
	JsonNode *n = get_value(o, name, G_TYPE_STRING);
	return n ? json_node_get_string(n) : NULL;
}

bool
ctl_get_int(JsonObject *o, const char *name, gint64 *value)
{
	JsonNode *n = get_value(o, name, G_TYPE_INT64);
	if (n)
		*value = json_node_get_int(n);
	return n != NULL;
}

bool
ctl_get_bool(JsonObject *o, const char *name)
{
	JsonNode *n = get_value(o, name, G_TYPE_BOOLEAN);
	return n && json_node_get_boolean(n);
}

JsonObject *
ctl_get_obj(JsonObject *o, const char *name)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;
	return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

JsonArray *
ctl_get_array(JsonObject *o, const char *name)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;
	return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

JsonObject *
ctl_array_obj(JsonArray *a, guint i)
{
	JsonNode *n = a && i < json_array_get_length(a) ? json_array_get_element(a, i) : NULL;
	return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

/* A scalar node as text, "-" when it is null or not a scalar. Caller frees. */
static char *
node_text(JsonNode *n)
{
	if (!n || !JSON_NODE_HOLDS_VALUE(n))
		return g_strdup("-");
	GType type = json_node_get_value_type(n);
	if (type == G_TYPE_STRING)
		return g_strdup(json_node_get_string(n));
	if (type == G_TYPE_INT64)
		return g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(n));
	if (type == G_TYPE_BOOLEAN)
		return g_strdup(json_node_get_boolean(n) ? "yes" : "no");
	if (type == G_TYPE_DOUBLE)
		return g_strdup_printf("%g", json_node_get_double(n));
	return g_strdup("-");
}

char *
ctl_get_text(JsonObject *o, const char *name)
{
	return node_text(o ? json_object_get_member(o, name) : NULL);
}

char *
ctl_join(JsonObject *o, const char *name, const char *key, const char *sep)
{
	JsonArray *a = ctl_get_array(o, name);
	if (!a || json_array_get_length(a) == 0)
		return NULL;
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *n = json_array_get_element(a, i);
		g_autofree char *text = NULL;
		JsonObject *o_n = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
		if (key)
			text = ctl_get_text(o_n, key);
		else
			text = node_text(n);
		g_string_append_printf(s, "%s%s", i ? sep : "", text);
	}
	return g_string_free(s, FALSE);
}

void
ctl_wipe_member(JsonObject *o, const char *name)
{
	JsonNode *n = get_value(o, name, G_TYPE_STRING);
	if (n) {
		char *s = (char *)json_node_get_string(n);
		explicit_bzero(s, strlen(s));
	}
}

static int
capture_rank(JsonObject *o)
{
	static const char *const order[] = { "finger", "iris", "face", "signature" };
	const char *modality = ctl_get_str(o, "modality");
	gint64 pos = 0;
	ctl_get_int(o, "position", &pos);
	for (int i = 0; i < (int)G_N_ELEMENTS(order); i++)
		if (g_strcmp0(modality, order[i]) == 0)
			return i * 100 + (int)CLAMP(pos, 0, 99);
	return 1000;
}

gint
ctl_capture_order(gconstpointer a, gconstpointer b)
{
	return capture_rank(*(JsonObject *const *)a) - capture_rank(*(JsonObject *const *)b);
}

/* ---- talking to the daemon ---- */

/* Turns the outcome of a request into an exit code, reporting failures as ctl_call says. */
static int
finish_call(struct ctx *c, ClientResult result, const GError *error, unsigned flags,
	    ClientReply **reply)
{
	switch (result) {
	case CLIENT_UNREACHABLE:
		out_error("cannot reach ektpd at %s: %s", c->socket_path, error->message);
		return RC_UNREACHABLE;
	case CLIENT_FAILED:
		out_error("%s", error->message);
		return RC_FAIL;
	case CLIENT_OK:
		break;
	}
	guint status = (*reply)->status;
	if (status >= 200 && status < 300)
		return RC_OK;
	if (flags & CALL_QUIET)
		return RC_FAIL;
	if (c->json)
		out_json((*reply)->root);
	ctl_report_error(c, *reply, flags);
	return RC_FAIL;
}

void
ctl_report_error(const struct ctx *c, const ClientReply *reply, unsigned flags)
{
	if (reply->status == HTTP_UNAUTHORIZED && c->cmd->token && !(flags & CALL_PIN_CHECK))
		out_error(LOGIN_HINT);
	else
		out_error("%s", client_reply_message(reply));
}

int
ctl_call(struct ctx *c, const char *method, const char *path, JsonObject *body,
	 unsigned flags, ClientReply **reply)
{
	g_autoptr(GError) error = NULL;
	ClientResult result = client_request(c->client, method, path, body, reply, &error);
	return finish_call(c, result, error, flags, reply);
}

int
ctl_call_bytes(struct ctx *c, const char *method, const char *path, const char *content_type,
	       GBytes *body, unsigned flags, ClientReply **reply)
{
	g_autoptr(GError) error = NULL;
	ClientResult result = client_request_bytes(c->client, method, path, content_type, body,
						   reply, &error);
	return finish_call(c, result, error, flags, reply);
}

bool
ctl_print_json(const struct ctx *c, const ClientReply *r)
{
	if (c->json)
		out_json(r->root);
	return c->json;
}

int
ctl_get_list(struct ctx *c, const char *path, const char *member, ClientReply **reply,
	     JsonArray **list)
{
	*list = NULL;
	int rc = ctl_call(c, "GET", path, NULL, 0, reply);
	if (rc != RC_OK || ctl_print_json(c, *reply))
		return rc;
	*list = ctl_get_array((*reply)->obj, member);
	if (!*list) {
		out_error("ektpd's answer has no '%s' list", member);
		return RC_FAIL;
	}
	return RC_OK;
}

char *
ctl_item_path(const char *collection, const char *name, const char *what)
{
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return NULL;
	g_autofree char *segment = g_uri_escape_string(name, NULL, FALSE);
	if (!what)
		return g_strdup_printf("/v1/%s/%s", collection, segment);
	return g_strdup_printf("/v1/%s/%s/%s", collection, segment, what);
}

void
ctl_query_add(GString *query, const char *name, const char *value)
{
	g_autofree char *escaped = g_uri_escape_string(value, NULL, FALSE);
	g_string_append_printf(query, "%c%s=%s", strchr(query->str, '?') ? '&' : '?', name,
			       escaped);
}

int
ctl_query_number(struct ctx *c, GString *query, const char *name)
{
	const char *value = ctl_opt(c, name);
	guint64 n = 0;
	if (!value)
		return RC_OK;
	if (!g_ascii_string_to_unsigned(value, 10, 0, G_MAXINT64, &n, NULL))
		return ctl_usage_error(c->cmd, "--%s wants a number, not '%s'", name, value);
	g_string_append_printf(query, "%c%s=%" G_GUINT64_FORMAT,
			       strchr(query->str, '?') ? '&' : '?', name, n);
	return RC_OK;
}

/* ---- the command line ---- */

const char *
ctl_opt(const struct ctx *c, const char *name)
{
	for (int i = 0; i < CMD_MAX_OPTS && c->cmd->opts[i].name; i++)
		if (strcmp(c->cmd->opts[i].name, name) == 0)
			return c->opts[i];
	g_assert_not_reached();
}

int
ctl_fail(const GError *error)
{
	out_error("%s", error->message);
	return RC_FAIL;
}

bool
ctl_is_nik(const char *text)
{
	size_t n = 0;
	for (; text[n]; n++)
		if (!g_ascii_isdigit(text[n]))
			return false;
	return n == 16;
}

bool
ctl_is_date(const char *text)
{
	static const char shape[] = "dddd-dd-dd";
	if (strlen(text) != sizeof shape - 1)
		return false;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? !g_ascii_isdigit(text[i]) : text[i] != shape[i])
			return false;
	int y = atoi(text), m = atoi(text + 5), d = atoi(text + 8);
	return y >= 1 && g_date_valid_dmy((GDateDay)d, (GDateMonth)m, (GDateYear)y);
}

int
ctl_query_date(struct ctx *c, GString *query, const char *name)
{
	const char *value = ctl_opt(c, name);
	if (!value)
		return RC_OK;
	if (!ctl_is_date(value))
		return ctl_usage_error(c->cmd, "--%s wants a date YYYY-MM-DD, not '%s'", name,
				       value);
	ctl_query_add(query, name, value);
	return RC_OK;
}
