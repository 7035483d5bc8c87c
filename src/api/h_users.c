/* SPDX-License-Identifier: MIT */
/* Handlers for accounts: list, add, disable, set a PIN. */
#include <string.h>

#include "api/pinwork.h"

/* Answers 400 naming FIELD when *E is set; returns FALSE then. */
static gboolean
valid_or_reply(ApiRequest *req, GError **e, const char *field)
{
	if (!*e)
		return TRUE;
	api_reply_gerror(req, *e, field);
	g_clear_error(e);
	return FALSE;
}

void
api_h_users_list(ApiRequest *req)
{
	GError *e = NULL;
	g_autoptr(GPtrArray) users = store_user_list(req->deps->store, &e);
	if (!users) {
		api_reply_gerror(req, e, NULL);
		g_error_free(e);
		return;
	}
	gint64 now = auth_now(req->deps->auth);
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "users");
	json_builder_begin_array(b);
	for (guint i = 0; i < users->len; i++) {
		const StoreUser *u = users->pdata[i];
		json_builder_begin_object(b);
		api_put_string(b, "name", u->name);
		api_put_string(b, "role", u->role);
		api_put_bool(b, "disabled", u->disabled);
		api_put_node(b, "created_at", api_time_node(u->created_at));
		api_put_node(b, "last_login_at", api_time_node(u->last_login_at));
		api_put_node(b, "locked_until", api_time_node(u->locked_until > now ? u->locked_until : 0));
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

static void
user_add_done(ApiRequest *req, ApiPinJob *job)
{
	GError *e = NULL;
	const char *name = api_body_string(req, "name");
	Role role = auth_role_parse(api_body_string(req, "role"));
	AuditActor who = api_actor(req);

	if (!job->new_hash) {
		api_reply_gerror(req, job->error, NULL);
		return;
	}
	if (auth_user_add(req->deps->auth, &who, name, role, job->new_hash, &e) < 0) {
		api_reply_gerror(req, e, e->domain == AUTH_ERROR ? "name" : NULL);
		g_error_free(e);
		return;
	}
	g_message("user %s (%s) added by %s", name, auth_role_name(role), who.user);
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	api_put_string(b, "name", name);
	api_put_string(b, "role", auth_role_name(role));
	json_builder_end_object(b);
	api_reply(req, 201, json_builder_get_root(b));
}

void
api_h_users_add(ApiRequest *req)
{
	GError *e = NULL;
	const char *role_name = api_body_string(req, "role");
	Role role = auth_role_parse(role_name);

	auth_name_valid(api_body_string(req, "name"), &e);
	if (!valid_or_reply(req, &e, "name"))
		return;
	if (role == ROLE_NONE) {
		api_reply_error(req, 400, "invalid_value", "role", "field 'role': '%s' is not one of "
				"operator, supervisor, technician, admin", role_name);
		return;
	}
	auth_pin_valid(api_body_string(req, "pin"), req->deps->cfg->pin_min_length, &e);
	if (!valid_or_reply(req, &e, "pin"))
		return;
	if (req->bootstrap && role != ROLE_ADMIN) {
		api_reply_error(req, 403, "forbidden", NULL,
				"no admin exists yet: root may create only an admin");
		return;
	}
	ApiPinJob *job = g_new0(ApiPinJob, 1);
	job->new_pin = g_strdup(api_body_string(req, "pin"));
	job->cost = (guint64)req->deps->cfg->scrypt_n;
	api_pin_work(req, job, user_add_done);
}

void
api_h_users_disable(ApiRequest *req)
{
	GError *e = NULL;
	AuditActor who = api_actor(req);
	if (auth_user_disable(req->deps->auth, &who, req->param, &e) < 0) {
		api_reply_gerror(req, e, NULL);
		g_error_free(e);
		return;
	}
	g_message("user %s disabled by %s", req->param, who.user);
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	api_put_string(b, "name", req->param);
	api_put_bool(b, "disabled", TRUE);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

static gboolean
is_self(const ApiRequest *req)
{
	return g_strcmp0(req->param, req->session.user) == 0;
}

static void
user_pin_done(ApiRequest *req, ApiPinJob *job)
{
	GError *e = NULL;
	AuditActor who = api_actor(req);

	if (job->verify_pin && !job->verified) {
		api_reply_error(req, 403, "forbidden", "old_pin", "field 'old_pin': does not match "
				"the current PIN");
		return;
	}
	if (!job->new_hash) {
		api_reply_gerror(req, job->error, NULL);
		return;
	}
	/* Changing one's own PIN keeps this session; every other one ends. */
	const char *keep = is_self(req) ? req->session.token_hash : NULL;
	if (auth_user_set_pin(req->deps->auth, &who, req->param, job->new_hash, keep, &e) < 0) {
		api_reply_gerror(req, e, NULL);
		g_error_free(e);
		return;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	api_put_string(b, "name", req->param);
	json_builder_end_object(b);
	api_reply(req, 200, json_builder_get_root(b));
}

void
api_h_users_pin(ApiRequest *req)
{
	GError *e = NULL;
	const char *old_pin = api_body_string(req, "old_pin");

	auth_pin_valid(api_body_string(req, "pin"), req->deps->cfg->pin_min_length, &e);
	if (!valid_or_reply(req, &e, "pin"))
		return;
	ApiPinJob *job = g_new0(ApiPinJob, 1);
	if (is_self(req)) {
		/* Whoever holds a session must still know the PIN to change it. */
		if (!old_pin) {
			api_pin_job_free(job);
			api_reply_error(req, 400, "missing_field", "old_pin",
					"field 'old_pin': required to change one's own PIN");
			return;
		}
		job->verify_against = auth_user_pin_hash(req->deps->auth, req->param, &e);
		if (!job->verify_against) {
			api_pin_job_free(job);
			api_reply_gerror(req, e, NULL);
			g_error_free(e);
			return;
		}
		job->verify_pin = g_strdup(old_pin);
	} else if (old_pin) {
		api_pin_job_free(job);
		api_reply_error(req, 400, "unknown_field", "old_pin",
				"field 'old_pin': only for changing one's own PIN");
		return;
	} else {
		/* An admin setting another's PIN: the account must exist. */
		g_autofree char *h = auth_user_pin_hash(req->deps->auth, req->param, &e);
		if (!h) {
			api_pin_job_free(job);
			api_reply_gerror(req, e, NULL);
			g_error_free(e);
			return;
		}
	}
	job->new_pin = g_strdup(api_body_string(req, "pin"));
	job->cost = (guint64)req->deps->cfg->scrypt_n;
	api_pin_work(req, job, user_pin_done);
}
