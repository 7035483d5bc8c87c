/* SPDX-License-Identifier: MIT */
/* Handlers for the daemon's status and for logging in and out. */
#include <string.h>

#include "api/pinwork.h"
#include "crypto/crypto.h"
#include "util/version.h"

void
api_h_status(ApiRequest *req)
{
	Store *st = req->deps->store;
	Auth *a = req->deps->auth;
	gint64 now = auth_now(a);
	GError *e = NULL;

	gint64 users = store_user_count(st, &e);
	gint64 sessions = e ? -1 : store_session_count(st, now - req->deps->cfg->session_idle, &e);
	gint64 audit_rows = e ? -1 : store_audit_count(st, &e);
	gboolean bootstrap = e ? FALSE : auth_bootstrap_open(a, &e);
	if (e) {
		api_reply_gerror(req, e, NULL);
		g_error_free(e);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	api_put_string(b, "version", EKTP_VERSION);
	api_put_node(b, "started_at", api_time_node(req->deps->started_at));
	api_put_int(b, "uptime_s", now - req->deps->started_at);
	api_put_bool(b, "bootstrap_needed", bootstrap);
	json_builder_set_member_name(b, "database");
	json_builder_begin_object(b);
	api_put_string(b, "path", req->deps->cfg->database);
	api_put_int(b, "size_bytes", store_size_bytes(st));
	api_put_int(b, "schema_version", store_schema_version(st));
	json_builder_end_object(b);
	json_builder_set_member_name(b, "counts");
	json_builder_begin_object(b);
	api_put_int(b, "users", users);
	api_put_int(b, "active_sessions", sessions);
	api_put_int(b, "audit_rows", audit_rows);
	json_builder_end_object(b);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

static JsonNode *
session_node(const AuthSession *s, const char *token)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	if (token) {
		api_put_string(b, "token", token);
	}
	api_put_string(b, "user", s->user);
	api_put_string(b, "role", auth_role_name(s->role));
	api_put_node(b, "expires_at", api_time_node(s->expires_at));
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static void
login_done(ApiRequest *req, ApiPinJob *job)
{
	AuthLogin login = { .user = g_strdup(api_body_string(req, "user")),
			    .pin_hash = g_strdup(job->verify_against) };
	AuthSession s = { 0 };
	char token[65];
	GError *e = NULL;

	if (auth_login_finish(req->deps->auth, &login, job->verified, token, &s, &e) < 0) {
		api_reply_gerror(req, e, NULL);
		g_error_free(e);
	} else {
		api_reply(req, 200, session_node(&s, token));
		crypto_wipe(token, sizeof token);
	}
	auth_session_clear(&s);
	auth_login_clear(&login);
}

void
api_h_login(ApiRequest *req)
{
	AuthLogin login = { 0 };
	GError *e = NULL;

	if (auth_login_begin(req->deps->auth, api_body_string(req, "user"), &login, &e) < 0) {
		api_reply_gerror(req, e, NULL);
		g_error_free(e);
		return;
	}
	ApiPinJob *job = g_new0(ApiPinJob, 1);
	job->verify_pin = g_strdup(api_body_string(req, "pin"));
	job->verify_against = g_steal_pointer(&login.pin_hash);
	auth_login_clear(&login);
	api_pin_work(req, job, login_done);
}

void
api_h_logout(ApiRequest *req)
{
	GError *e = NULL;
	if (auth_logout(req->deps->auth, &req->session, &e) < 0) {
		api_reply_gerror(req, e, NULL);
		g_error_free(e);
		return;
	}
	JsonNode *ok = json_from_string("{\"ok\":true}", NULL);
	api_reply(req, 200, ok);
}

void
api_h_whoami(ApiRequest *req)
{
	api_reply(req, 200, session_node(&req->session, NULL));
}
