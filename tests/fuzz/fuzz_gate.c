/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the API gate (api/gate.c) over the real route table: an input is a
 * request line "METHOD PATH[?QUERY]", a newline, and the body.  The route is
 * matched as the server matches it; its query, parsed as libsoup would hand
 * it over, and its body are checked against the route's declared fields.
 * Every refusal must carry a status, a code and a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

static void
check_error(const ApiError *err)
{
	if (err->status < 400 || err->status > 599 || !err->code || !err->message)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t head_len = nl ? (size_t)(nl - data) : size;
	g_autofree char *head = g_strndup((const char *)data, head_len);
	const char *body = nl ? (const char *)nl + 1 : "";
	size_t body_len = nl ? size - head_len - 1 : 0;

	/* The server only sees a method and a path without NULs or spaces. */
	if (strlen(head) != head_len)
		return 0;
	char *space = strchr(head, ' ');
	if (!space)
		return 0;
	*space = '\0';
	char *path = space + 1, *query = strchr(path, '?');
	if (query)
		*query++ = '\0';

	char *param = NULL, *allow = NULL;
	ApiError err = { 0 };
	const ApiRoute *r = api_gate_match(head, path, &param, &allow, &err);
	if (!r) {
		check_error(&err);
		api_error_clear(&err);
		g_free(allow);
		return 0;
	}
	g_free(param);

	if (query && r->query) {
		g_autoptr(GHashTable) q = g_uri_parse_params(query, -1, "&", G_URI_PARAMS_NONE, NULL);
		if (q && !api_gate_query(r->query, q, &err)) {
			check_error(&err);
			api_error_clear(&err);
		}
	}
	if (r->body) {
		JsonObject *o = api_gate_body(r->body, body, body_len, &err);
		if (o) {
			json_object_unref(o);
		} else {
			check_error(&err);
			api_error_clear(&err);
		}
	}
	return 0;
}
