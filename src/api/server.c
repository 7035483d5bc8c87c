/* SPDX-License-Identifier: MIT */
/*
 * The HTTP server and the gate's front half.  libsoup parses HTTP; every
 * request then passes, in this order: route match (404/405), body size
 * (413, before the body is even read when Content-Length says so), token
 * (401), role (403), body and query shape (400).  Only then does the route's
 * handler run, and it answers through api_reply*().
 */
#include <errno.h>
#include <gio/gunixsocketaddress.h>
#include <grp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/internal.h"
#include "core/printing.h"
#include "core/cards.h"
#include "core/enroll.h"
#include "core/stock.h"
#include "util/timefmt.h"
#include "util/version.h"


/* Connections the kernel queues before the loop accepts them (GLib's default is 10). */
#define LISTEN_BACKLOG 256

struct ApiServer {
	ApiDeps deps;
	SoupServer *soup;
	char *socket_path;
	guint in_flight;
};

/* ---- answers ---- */

static void
on_disconnected(SoupServerMessage *msg, gpointer data)
{
	(void)msg;
	ApiRequest *req = data;
	req->gone = TRUE;
}

static void
request_free(ApiRequest *req)
{
	if (req->msg) {
		g_signal_handlers_disconnect_by_data(req->msg, req);
		g_object_unref(req->msg);
	}
	g_free(req->param);
	if (req->body)
		json_object_unref(req->body);
	if (req->upload)
		g_bytes_unref(req->upload);
	auth_session_clear(&req->session);
	req->srv->in_flight--;
	g_free(req);
}

void
api_reply(ApiRequest *req, guint status, JsonNode *node)
{
	if (!req->gone) {
		gsize len = 0;
		char *text = json_to_string(node, FALSE);
		len = strlen(text);
		text = g_realloc(text, len + 2);
		text[len++] = '\n';
		text[len] = '\0';
		soup_server_message_set_status(req->msg, status, NULL);
		soup_server_message_set_response(req->msg, "application/json", SOUP_MEMORY_TAKE,
						 text, len);
		soup_server_message_unpause(req->msg);
	}
	if (status >= 500)
		g_warning("%s %s answered %u", req->route ? req->route->method : "",
			  req->route ? req->route->path : "", status);
	json_node_unref(node);
	request_free(req);
}

void
api_reply_bytes(ApiRequest *req, guint status, const char *content_type, GBytes *bytes)
{
	if (!req->gone) {
		soup_server_message_set_status(req->msg, status, NULL);
		soup_message_headers_set_content_type(
			soup_server_message_get_response_headers(req->msg), content_type, NULL);
		soup_message_body_append_bytes(soup_server_message_get_response_body(req->msg),
					       bytes);
		soup_server_message_unpause(req->msg);
	}
	request_free(req);
}

gboolean
api_accepts(const ApiRequest *req, const char *type)
{
	SoupMessageHeaders *h = soup_server_message_get_request_headers(req->msg);
	const char *accept = soup_message_headers_get_list(h, "Accept");
	if (!accept)
		return TRUE;
	const char *slash = strchr(type, '/');
	g_autofree char *any_sub = g_strdup_printf("%.*s/*", slash ? (int)(slash - type) : 0, type);
	GSList *types = soup_header_parse_quality_list(accept, NULL);
	gboolean ok = FALSE;
	for (GSList *l = types; l && !ok; l = l->next) {
		const char *t = l->data;
		size_t len = strcspn(t, "; \t");
		ok = (len == strlen(type) && g_ascii_strncasecmp(t, type, len) == 0) ||
		     (len == strlen(any_sub) && g_ascii_strncasecmp(t, any_sub, len) == 0) ||
		     (len == 3 && strncmp(t, "*/*", 3) == 0);
	}
	soup_header_free_list(types);
	return ok;
}

static JsonNode *
error_node(const char *code, const char *field, const char *message)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "error");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "code");
	json_builder_add_string_value(b, code);
	json_builder_set_member_name(b, "message");
	json_builder_add_string_value(b, message);
	if (field) {
		json_builder_set_member_name(b, "field");
		json_builder_add_string_value(b, field);
	}
	json_builder_end_object(b);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

void
api_reply_error(ApiRequest *req, guint status, const char *code, const char *field,
		const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *message = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	api_reply(req, status, error_node(code, field, message));
}

void
api_reply_gerror(ApiRequest *req, const GError *error, const char *field)
{
	guint status = 500;
	const char *code = "internal";

	if (error->domain == AUTH_ERROR) {
		static const struct {
			guint status;
			const char *code;
		} map[] = {
			[AUTH_ERROR_INVALID] = { 400, "invalid_value" },
			[AUTH_ERROR_UNAUTHORIZED] = { 401, "unauthorized" },
			[AUTH_ERROR_FORBIDDEN] = { 403, "forbidden" },
			[AUTH_ERROR_LOCKED] = { 423, "locked" },
			[AUTH_ERROR_NOT_FOUND] = { 404, "not_found" },
			[AUTH_ERROR_CONFLICT] = { 409, "conflict" },
		};
		if ((gsize)error->code < G_N_ELEMENTS(map)) {
			status = map[error->code].status;
			code = map[error->code].code;
		}
	} else if (error->domain == HAL_ERROR) {
		/* A device that cannot do it now is a conflict with its state. */
		status = 409, code = "conflict";
		if (error->code == HAL_ERROR_CONFIG)
			status = 400, code = "invalid_value";
		else if (error->code == HAL_ERROR_NO_DEVICE)
			status = 404, code = "not_found";
		else if (error->code == HAL_ERROR_TIMEOUT)
			status = 504, code = "timeout";
		else if (error->code == HAL_ERROR_RETRY)
			code = "retry";
	} else if (error->domain == ENROLL_ERROR) {
		static const struct {
			guint status;
			const char *code;
		} map[] = {
			[ENROLL_ERROR_INVALID] = { 400, "invalid_value" },
			[ENROLL_ERROR_NOT_FOUND] = { 404, "not_found" },
			[ENROLL_ERROR_CONFLICT] = { 409, "conflict" },
			[ENROLL_ERROR_NO_DEVICE] = { 409, "no_device" },
			[ENROLL_ERROR_IMAGE] = { 400, "bad_image" },
			[ENROLL_ERROR_INCOMPLETE] = { 409, "incomplete" },
			[ENROLL_ERROR_SEALED] = { 500, "sealed" },
		};
		if ((gsize)error->code < G_N_ELEMENTS(map)) {
			status = map[error->code].status;
			code = map[error->code].code;
		}
	} else if (error->domain == CARDS_ERROR) {
		status = error->code == CARDS_ERROR_NOT_FOUND ? 404 : 409;
		code = error->code == CARDS_ERROR_NOT_FOUND ? "not_found" : "conflict";
	} else if (error->domain == PRINT_ERROR) {
		static const struct {
			guint status;
			const char *code;
		} map[] = {
			[PRINT_ERROR_NOT_FOUND] = { 404, "not_found" },
			[PRINT_ERROR_STATE] = { 409, "conflict" },
			[PRINT_ERROR_NOTHING] = { 409, "nothing_to_print" },
			[PRINT_ERROR_NO_PRINTER] = { 409, "no_printer" },
			[PRINT_ERROR_CONFIG] = { 500, "config" },
		};
		if ((gsize)error->code < G_N_ELEMENTS(map)) {
			status = map[error->code].status;
			code = map[error->code].code;
		}
	} else if (error->domain == STOCK_ERROR) {
		static const struct {
			guint status;
			const char *code;
		} map[] = {
			[STOCK_ERROR_INVALID] = { 400, "invalid_value" },
			[STOCK_ERROR_NOT_FOUND] = { 404, "not_found" },
			[STOCK_ERROR_SHORT] = { 409, "not_enough" },
			[STOCK_ERROR_STATE] = { 409, "conflict" },
			[STOCK_ERROR_CONFIG] = { 500, "config" },
			[STOCK_ERROR_DEVICE] = { 502, "device_error" },
		};
		if ((gsize)error->code < G_N_ELEMENTS(map)) {
			status = map[error->code].status;
			code = map[error->code].code;
		}
	} else if (g_error_matches(error, STORE_ERROR, STORE_ERROR_BUSY)) {
		status = 503, code = "busy";
	} else if (g_error_matches(error, STORE_ERROR, STORE_ERROR_FULL)) {
		status = 507, code = "disk_full";
	}
	if (status >= 500)
		g_warning("%s: %s", req->route ? req->route->action : "request", error->message);
	if (status != 400)
		field = NULL;
	g_autofree char *message = field ? g_strdup_printf("field '%s': %s", field, error->message)
					 : g_strdup(error->message);
	api_reply(req, status, error_node(code, field, message));
}

static void
reply_api_error(ApiRequest *req, ApiError *err)
{
	api_reply(req, err->status, error_node(err->code, err->field, err->message));
	api_error_clear(err);
}

void
api_defer(ApiRequest *req)
{
	soup_server_message_pause(req->msg);
}

AuditActor
api_actor(const ApiRequest *req)
{
	if (req->bootstrap)
		return (AuditActor){ "root", "" };
	return (AuditActor){ req->session.user ? req->session.user : "",
			     auth_role_name(req->session.role) };
}

gint64
api_param_id(ApiRequest *req, const char *what)
{
	char *end = NULL;
	gint64 id = req->param ? g_ascii_strtoll(req->param, &end, 10) : 0;
	if (!req->param || !*req->param || *end || id <= 0) {
		api_reply_error(req, 404, "not_found", NULL, "no %s '%s'", what,
				req->param ? req->param : "");
		return 0;
	}
	return id;
}

const char *
api_body_string(const ApiRequest *req, const char *name)
{
	if (!req->body || !json_object_has_member(req->body, name))
		return NULL;
	return json_object_get_string_member(req->body, name);
}

gint64
api_body_int(const ApiRequest *req, const char *name, gint64 def)
{
	if (!req->body || !json_object_has_member(req->body, name))
		return def;
	return json_object_get_int_member(req->body, name);
}

gint64
api_query_int(const ApiRequest *req, const char *name, gint64 def)
{
	const char *v = req->query ? g_hash_table_lookup(req->query, name) : NULL;
	return v ? g_ascii_strtoll(v, NULL, 10) : def;
}

JsonNode *
api_time_node(gint64 unix_s)
{
	char buf[TIMEFMT_LEN];
	JsonNode *n = json_node_alloc();
	if (unix_s == 0)
		return json_node_init_null(n);
	return json_node_init_string(n, timefmt_iso(unix_s, buf));
}

void
api_put_string(JsonBuilder *b, const char *name, const char *value)
{
	json_builder_set_member_name(b, name);
	if (value)
		json_builder_add_string_value(b, value);
	else
		json_builder_add_null_value(b);
}

void
api_put_int(JsonBuilder *b, const char *name, gint64 value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_int_value(b, value);
}

void
api_put_bool(JsonBuilder *b, const char *name, gboolean value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_boolean_value(b, value);
}

void
api_put_node(JsonBuilder *b, const char *name, JsonNode *value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_value(b, value);
}

/* ---- the gate ---- */

/* The uid of the peer on the socket, or -1 when the kernel does not say. */
static gint64
peer_uid(SoupServerMessage *msg)
{
	GSocket *sock = soup_server_message_get_socket(msg);
	if (!sock)
		return -1;
	g_autoptr(GCredentials) cred = g_socket_get_credentials(sock, NULL);
	if (!cred)
		return -1;
	uid_t uid = g_credentials_get_unix_user(cred, NULL);
	return uid == (uid_t)-1 ? -1 : (gint64)uid;
}

static const char *
bearer_token(SoupServerMessage *msg)
{
	SoupMessageHeaders *h = soup_server_message_get_request_headers(msg);
	const char *v = soup_message_headers_get_one(h, "Authorization");
	if (!v || g_ascii_strncasecmp(v, "Bearer ", 7) != 0)
		return NULL;
	return v + 7;
}

static gboolean
role_admits(const ApiRequest *req)
{
	const ApiRoute *r = req->route;
	if (r->roles & req->session.role)
		return TRUE;
	return (r->flags & API_SELF) && req->param && g_strcmp0(req->param, req->session.user) == 0;
}

/* Token and role; answers and returns FALSE when the caller may not pass. */
static gboolean
gate_identity(ApiRequest *req)
{
	const ApiRoute *r = req->route;
	const char *token = bearer_token(req->msg);
	GError *e = NULL;

	if (r->flags & API_PUBLIC)
		return TRUE;
	if (token) {
		int ok = auth_session_check(req->deps->auth, token, &req->session, &e);
		if (ok < 0) {
			api_reply_gerror(req, e, NULL);
			g_error_free(e);
			return FALSE;
		}
		if (ok == 0) {
			api_reply_error(req, 401, "unauthorized", NULL,
					"token unknown or expired: log in again");
			return FALSE;
		}
	} else if ((r->flags & API_BOOTSTRAP) && peer_uid(req->msg) == 0) {
		gboolean open = auth_bootstrap_open(req->deps->auth, &e);
		if (e) {
			api_reply_gerror(req, e, NULL);
			g_error_free(e);
			return FALSE;
		}
		req->bootstrap = open;
	}
	if (req->bootstrap)
		return TRUE;
	if (!req->session.user) {
		api_reply_error(req, 401, "unauthorized", NULL, "no token: log in first");
		return FALSE;
	}
	if (!role_admits(req)) {
		api_reply_error(req, 403, "forbidden", NULL, "role %s may not call %s %s",
				auth_role_name(req->session.role), r->method, r->path);
		return FALSE;
	}
	return TRUE;
}

/* The largest body ROUTE (NULL: none matched) takes. */
static gint64
body_limit(const ApiServer *srv, const ApiRoute *route)
{
	return route && (route->flags & API_UPLOAD) ? srv->deps.cfg->max_upload
						    : srv->deps.cfg->max_body;
}

static void
handle(SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
       gpointer data)
{
	(void)soup;
	ApiServer *srv = data;
	ApiRequest *req = g_new0(ApiRequest, 1);
	ApiError err = { 0 };
	g_autofree char *allow = NULL;

	/* One request per connection.  The libsoup of Debian 12 (3.2) never
	 * closes a connection that its client closes while idle, keep-alive's
	 * normal end: each kept a file descriptor until the daemon ran out of
	 * them.  A connection that the server closes after its answer is
	 * closed; libsoup 3.2 still keeps its few hundred bytes (README,
	 * "Known limits"). */
	soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Connection",
				     "close");
	srv->in_flight++;
	req->srv = srv;
	req->deps = &srv->deps;
	req->msg = g_object_ref(msg);
	req->query = query;
	g_signal_connect(msg, "disconnected", G_CALLBACK(on_disconnected), req);

	req->route = api_gate_match(soup_server_message_get_method(msg), path, &req->param, &allow,
				    &err);
	if (!req->route) {
		if (allow)
			soup_message_headers_replace(soup_server_message_get_response_headers(msg),
						     "Allow", allow);
		reply_api_error(req, &err);
		return;
	}
	SoupMessageBody *body = soup_server_message_get_request_body(msg);
	gint64 limit = body_limit(srv, req->route);
	if ((gint64)body->length > limit) {
		api_reply_error(req, 413, "too_large", NULL, "body of %" G_GINT64_FORMAT
				" bytes is over the limit of %" G_GINT64_FORMAT, (gint64)body->length,
				limit);
		return;
	}
	if (!gate_identity(req))
		return;
	g_autoptr(GBytes) bytes = soup_message_body_flatten(body);
	if (req->route->flags & API_UPLOAD) {
		const char *type = soup_message_headers_get_content_type(
			soup_server_message_get_request_headers(msg), NULL);
		if (!type || g_ascii_strcasecmp(type, "image/png") != 0) {
			api_reply_error(req, 415, "unsupported_media_type", NULL,
					"an upload is a PNG image sent as Content-Type image/png, "
					"not %s", type ? type : "a body without a type");
			return;
		}
		if (!api_gate_query(req->route->query, query, &err)) {
			reply_api_error(req, &err);
			return;
		}
		req->upload = g_bytes_ref(bytes);
		req->route->handler(req);
		return;
	}
	gsize len = 0;
	const char *text = g_bytes_get_data(bytes, &len);
	req->body = api_gate_body(req->route->body, text ? text : "", len, &err);
	if (err.status || !api_gate_query(req->route->query, query, &err)) {
		reply_api_error(req, &err);
		return;
	}
	req->route->handler(req);
}

/* Refuses an oversized body from its Content-Length, before reading it. */
static void
handle_early(SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
	     gpointer data)
{
	(void)soup, (void)query;
	ApiServer *srv = data;
	SoupMessageHeaders *h = soup_server_message_get_request_headers(msg);
	goffset n = soup_message_headers_get_content_length(h);
	g_autofree char *param = NULL, *allow = NULL;
	ApiError err = { 0 };
	const ApiRoute *route = api_gate_match(soup_server_message_get_method(msg), path, &param,
					       &allow, &err);
	api_error_clear(&err);
	gint64 limit = body_limit(srv, route);
	if (soup_message_headers_get_encoding(h) == SOUP_ENCODING_CONTENT_LENGTH && n > limit) {
		g_autofree char *m = g_strdup_printf("body of %" G_GINT64_FORMAT " bytes is over the "
						     "limit of %" G_GINT64_FORMAT, (gint64)n, limit);
		g_autoptr(JsonNode) node = error_node("too_large", NULL, m);
		char *text = json_to_string(node, FALSE);
		soup_server_message_set_status(msg, 413, NULL);
		soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_TAKE, text,
						 strlen(text));
		soup_message_headers_replace(soup_server_message_get_response_headers(msg),
					     "Connection", "close");
	}
}

/* ---- the socket ---- */

/* TRUE when a daemon answers on PATH; a dead socket file is removed. */
static gboolean
socket_in_use(const char *path)
{
	g_autoptr(GSocket) s = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
					    G_SOCKET_PROTOCOL_DEFAULT, NULL);
	g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(path);
	if (s && g_socket_connect(s, addr, NULL, NULL))
		return TRUE;
	if (unlink(path) < 0 && errno != ENOENT)
		g_warning("removing stale socket %s: %s", path, g_strerror(errno));
	return FALSE;
}

static gboolean
set_socket_owner(const char *path, const char *group, GError **error)
{
	if (chmod(path, 0660) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "chmod %s: %s", path,
			    g_strerror(errno));
		return FALSE;
	}
	if (!group || !*group)
		return TRUE;
	struct group *gr = getgrnam(group);
	if (!gr) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "socket_group: no group named '%s'", group);
		return FALSE;
	}
	if (chown(path, (uid_t)-1, gr->gr_gid) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "socket_group: chown %s to %s: %s", path, group, g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}

ApiServer *
api_server_new(const ApiDeps *deps, GError **error)
{
	const char *path = deps->cfg->socket_path;
	if (socket_in_use(path)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
			    "another ektpd is serving on %s", path);
		return NULL;
	}
	g_autoptr(GSocket) sock = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
					       G_SOCKET_PROTOCOL_DEFAULT, error);
	if (!sock)
		return NULL;
	g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(path);
	/* Create the socket file without group-write/other bits from the start. */
	g_socket_set_listen_backlog(sock, LISTEN_BACKLOG);
	mode_t old = umask(0117);
	gboolean bound = g_socket_bind(sock, addr, FALSE, error);
	umask(old);
	if (!bound || !set_socket_owner(path, deps->cfg->socket_group, error) ||
	    !g_socket_listen(sock, error)) {
		unlink(path);
		return NULL;
	}

	ApiServer *srv = g_new0(ApiServer, 1);
	srv->deps = *deps;
	srv->socket_path = g_strdup(path);
	srv->soup = soup_server_new("server-header", "ektpd/" EKTP_VERSION, NULL);
	soup_server_add_early_handler(srv->soup, NULL, handle_early, srv, NULL);
	soup_server_add_handler(srv->soup, NULL, handle, srv, NULL);
	if (!soup_server_listen_socket(srv->soup, sock, 0, error)) {
		api_server_free(srv);
		return NULL;
	}
	return srv;
}

void
api_server_stop(ApiServer *srv)
{
	if (!srv->soup)
		return;
	soup_server_disconnect(srv->soup);
	g_clear_object(&srv->soup);
	if (unlink(srv->socket_path) < 0 && errno != ENOENT)
		g_warning("removing %s: %s", srv->socket_path, g_strerror(errno));
}

guint
api_server_in_flight(ApiServer *srv)
{
	return srv->in_flight;
}

void
api_server_free(ApiServer *srv)
{
	if (!srv)
		return;
	api_server_stop(srv);
	g_free(srv->socket_path);
	g_free(srv);
}
