/* SPDX-License-Identifier: MIT */
/*
 * Inside the API module: the declarative route table, the request that the
 * gate hands to a handler, and the helpers handlers answer with.
 */
#ifndef EKTP_API_INTERNAL_H
#define EKTP_API_INTERNAL_H

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "api/api.h"

/* A field of a request body or a query parameter. */
typedef enum { API_STRING, API_INT, API_BOOL } ApiType;

typedef struct {
	const char *name;
	ApiType type;
	gboolean required;
	gint64 min, max; /* API_INT: value range; API_STRING: length in bytes */
} ApiField;

typedef enum {
	API_MUTATES = 1 << 0,   /* changes state: succeeds only with an audit row */
	API_PUBLIC = 1 << 1,    /* no token needed */
	API_BOOTSTRAP = 1 << 2, /* root may call it without a token while no admin exists */
	API_SELF = 1 << 3,      /* any logged-in user, on their own {name} */
	API_UPLOAD = 1 << 4,    /* the body is a PNG image ([api] max_upload), not JSON */
} ApiFlags;

typedef struct ApiRequest ApiRequest;
typedef void (*ApiHandler)(ApiRequest *req);

typedef struct {
	const char *method;
	const char *path;   /* segments; "{name}" captures one */
	const char *action; /* the audit log's name for it */
	guint roles;        /* Role bits admitted; 0 with API_PUBLIC */
	guint flags;
	const ApiField *body;  /* NULL: no body allowed; terminated by a NULL name */
	const ApiField *query; /* NULL: no query allowed */
	ApiHandler handler;
	const char *help;
} ApiRoute;

extern const ApiRoute api_routes[];
extern const size_t api_n_routes;

struct ApiRequest {
	ApiServer *srv;
	const ApiDeps *deps;
	SoupServerMessage *msg; /* a reference; NULL once answered */
	const ApiRoute *route;
	char *param;         /* the {name} segment, or NULL */
	JsonObject *body;    /* checked against route->body; NULL when none */
	GBytes *upload;      /* the raw body of an API_UPLOAD route */
	GHashTable *query;   /* name → value, checked against route->query */
	AuthSession session; /* role ROLE_NONE when no token was given */
	gboolean bootstrap;  /* admitted as root while no admin exists */
	gboolean gone;       /* the client disconnected */
};

/* Who the audit row should name for this request. */
AuditActor api_actor(const ApiRequest *req);

/*
 * Answers and frees REQ; exactly one of these per request.  NODE is taken.
 * A handler may answer later (after work in a thread) once it called
 * api_defer().
 */
void api_reply(ApiRequest *req, guint status, JsonNode *node);
void api_reply_error(ApiRequest *req, guint status, const char *code, const char *field,
		     const char *fmt, ...) G_GNUC_PRINTF(5, 6);
/* Maps an AUTH_ERROR or STORE_ERROR to its status; FIELD names the input at fault. */
void api_reply_gerror(ApiRequest *req, const GError *error, const char *field);
void api_defer(ApiRequest *req);
/* Answers with BYTES (borrowed) of CONTENT_TYPE instead of JSON, and frees REQ. */
void api_reply_bytes(ApiRequest *req, guint status, const char *content_type, GBytes *bytes);
/* Whether the request's Accept header admits TYPE ("image/png"); TRUE without one. */
gboolean api_accepts(const ApiRequest *req, const char *type);

/* The {name} segment as a positive id, or 0 after answering 404 "no WHAT …". */
gint64 api_param_id(ApiRequest *req, const char *what);
/* A string member of the checked body, or NULL. Borrowed. */
const char *api_body_string(const ApiRequest *req, const char *name);
/* An integer member of the checked body, or DEF when absent. */
gint64 api_body_int(const ApiRequest *req, const char *name, gint64 def);
/* An integer query value, or DEF when absent (already range-checked). */
gint64 api_query_int(const ApiRequest *req, const char *name, gint64 def);

/* ---- the gate (gate.c), pure functions the server and the tests call ---- */

typedef struct {
	guint status;
	const char *code;
	char *field;   /* may be NULL */
	char *message;
} ApiError;

void api_error_clear(ApiError *e);

/*
 * Finds the route for METHOD and PATH.  On a miss fills ERR with 404, or
 * with 405 and ALLOW (caller frees) listing the methods that path takes.
 * *PARAM receives the {name} segment (caller frees).
 */
const ApiRoute *api_gate_match(const char *method, const char *path, char **param,
			       char **allow, ApiError *err);

/* Checks a body against FIELDS; returns the object (caller unrefs) or NULL with ERR. */
JsonObject *api_gate_body(const ApiField *fields, const char *data, gsize len, ApiError *err);

/* Checks a query table against FIELDS. */
gboolean api_gate_query(const ApiField *fields, GHashTable *query, ApiError *err);

/* Handlers (one file per area). */
void api_h_status(ApiRequest *req);
void api_h_login(ApiRequest *req);
void api_h_logout(ApiRequest *req);
void api_h_whoami(ApiRequest *req);
void api_h_users_list(ApiRequest *req);
void api_h_users_add(ApiRequest *req);
void api_h_users_disable(ApiRequest *req);
void api_h_users_pin(ApiRequest *req);
void api_h_audit_list(ApiRequest *req);
void api_h_audit_verify(ApiRequest *req);
void api_h_devices_list(ApiRequest *req);
void api_h_devices_get(ApiRequest *req);
void api_h_devices_fault(ApiRequest *req);
void api_h_devices_selftest(ApiRequest *req);
void api_h_devices_selftests(ApiRequest *req);
void api_h_enroll_start(ApiRequest *req);
void api_h_enroll_list(ApiRequest *req);
void api_h_enroll_get(ApiRequest *req);
void api_h_enroll_capture(ApiRequest *req);
void api_h_enroll_upload(ApiRequest *req);
void api_h_enroll_exception(ApiRequest *req);
void api_h_enroll_commit(ApiRequest *req);
void api_h_enroll_abandon(ApiRequest *req);
void api_h_records_list(ApiRequest *req);
void api_h_records_get(ApiRequest *req);
void api_h_records_export(ApiRequest *req);
void api_h_records_decide(ApiRequest *req);
void api_h_report_coverage(ApiRequest *req);
void api_h_cards_preview(ApiRequest *req);
void api_h_cards_chip(ApiRequest *req);
void api_h_cards_verify(ApiRequest *req);
void api_h_print_start(ApiRequest *req);
void api_h_print_batch(ApiRequest *req);
void api_h_print_cancel(ApiRequest *req);
void api_h_print_jobs(ApiRequest *req);
void api_h_records_reprint(ApiRequest *req);
void api_h_cards_encode(ApiRequest *req);
void api_h_stock_list(ApiRequest *req);
void api_h_stock_forecast(ApiRequest *req);
void api_h_stock_items(ApiRequest *req);
void api_h_stock_receive(ApiRequest *req);
void api_h_stock_load(ApiRequest *req);
void api_h_stock_adjust(ApiRequest *req);
void api_h_stock_spoil(ApiRequest *req);
void api_h_stock_history(ApiRequest *req);
void api_h_stock_alerts(ApiRequest *req);
void api_h_stock_rations(ApiRequest *req);
void api_h_stock_chart(ApiRequest *req);
void api_h_stock_report(ApiRequest *req);
void api_h_devices_clean(ApiRequest *req);

/* A JSON string node for a time, or null for 0. */
JsonNode *api_time_node(gint64 unix_s);

/* One member NAME of the object being built in B.  A NULL string is null. */
void api_put_string(JsonBuilder *b, const char *name, const char *value);
void api_put_int(JsonBuilder *b, const char *name, gint64 value);
void api_put_bool(JsonBuilder *b, const char *name, gboolean value);
void api_put_node(JsonBuilder *b, const char *name, JsonNode *value); /* takes VALUE */

#endif
