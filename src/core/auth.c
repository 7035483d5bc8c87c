/* SPDX-License-Identifier: MIT */
/*
 * Accounts and sessions.  Tokens are 256 random bits shown once to the
 * client; only their SHA-256 is stored, so a copy of the database does not
 * let anyone log in.  Failed logins are counted in the database, so neither a
 * restart nor parallel attempts reset the lockout.
 */
#include "core/auth.h"

#include <string.h>

#include "crypto/crypto.h"
#include "util/timefmt.h"

G_DEFINE_QUARK(ektp-auth-error-quark, auth_error)

struct Auth {
	Store *st;
	const EktpConfig *cfg;
	AuthClock clock;
};

static const struct {
	Role role;
	const char *name;
} roles[] = {
	{ ROLE_OPERATOR, "operator" },
	{ ROLE_SUPERVISOR, "supervisor" },
	{ ROLE_TECHNICIAN, "technician" },
	{ ROLE_ADMIN, "admin" },
};

Role
auth_role_parse(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(roles); i++)
		if (name && strcmp(name, roles[i].name) == 0)
			return roles[i].role;
	return ROLE_NONE;
}

const char *
auth_role_name(Role role)
{
	for (size_t i = 0; i < G_N_ELEMENTS(roles); i++)
		if (roles[i].role == role)
			return roles[i].name;
	return "";
}

gboolean
auth_name_valid(const char *name, GError **error)
{
	size_t n = strlen(name);
	if (n < 1 || n > 32 || !g_ascii_islower(name[0])) {
		g_set_error(error, AUTH_ERROR, AUTH_ERROR_INVALID,
			    "must be 1 to 32 characters and start with a lower-case letter");
		return FALSE;
	}
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!g_ascii_islower(c) && !g_ascii_isdigit(c) && c != '.' && c != '_' && c != '-') {
			g_set_error(error, AUTH_ERROR, AUTH_ERROR_INVALID,
				    "may hold only a-z, 0-9, '.', '_' and '-'");
			return FALSE;
		}
	}
	return TRUE;
}

gboolean
auth_pin_valid(const char *pin, gint64 min_length, GError **error)
{
	size_t n = strlen(pin);
	for (size_t i = 0; i < n; i++) {
		if (!g_ascii_isdigit(pin[i])) {
			g_set_error(error, AUTH_ERROR, AUTH_ERROR_INVALID, "must be digits only");
			return FALSE;
		}
	}
	if ((gint64)n < min_length || n > 32) {
		g_set_error(error, AUTH_ERROR, AUTH_ERROR_INVALID,
			    "must be %" G_GINT64_FORMAT " to 32 digits", min_length);
		return FALSE;
	}
	return TRUE;
}

static gint64
wall_clock(void)
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

Auth *
auth_new(Store *st, const EktpConfig *cfg, AuthClock clock)
{
	Auth *a = g_new0(Auth, 1);
	a->st = st;
	a->cfg = cfg;
	a->clock = clock ? clock : wall_clock;
	return a;
}

void
auth_free(Auth *a)
{
	g_free(a);
}

gint64
auth_now(Auth *a)
{
	return a->clock();
}

void
auth_session_clear(AuthSession *s)
{
	g_free(s->user);
	memset(s, 0, sizeof *s);
}

void
auth_login_clear(AuthLogin *l)
{
	g_free(l->user);
	g_free(l->pin_hash);
	memset(l, 0, sizeof *l);
}

/* Commits, or rolls back and returns -1. */
static int
finish_txn(Auth *a, int rc, GError **error)
{
	if (rc < 0) {
		store_rollback(a->st);
		return -1;
	}
	return store_commit(a->st, error);
}

static gboolean
is_token_text(const char *token)
{
	if (strlen(token) != 64)
		return FALSE;
	for (int i = 0; i < 64; i++)
		if (!g_ascii_isxdigit(token[i]) || g_ascii_isupper(token[i]))
			return FALSE;
	return TRUE;
}

int
auth_session_check(Auth *a, const char *token, AuthSession *out, GError **error)
{
	StoreSession s = { 0 };
	char hash[65];
	gint64 now = auth_now(a), idle = a->cfg->session_idle;

	if (!token || !is_token_text(token))
		return 0;
	crypto_sha256_hex(token, 64, hash);
	int found = store_session_get(a->st, hash, &s, error);
	if (found <= 0)
		return found;
	if (s.disabled || now - s.last_seen > idle) {
		store_session_clear(&s);
		return 0;
	}
	/*
	 * Restarting the idle timer is a durable write; do it at most every
	 * tenth of the idle time (and at most every 30 s) to spare the disk.
	 */
	gint64 step = MIN(idle / 10, 30);
	if (now - s.last_seen >= step) {
		if (store_session_touch(a->st, hash, now, error) < 0) {
			store_session_clear(&s);
			return -1;
		}
		s.last_seen = now;
	}
	out->user_id = s.user_id;
	out->user = g_steal_pointer(&s.user);
	out->role = auth_role_parse(s.role);
	memcpy(out->token_hash, hash, sizeof hash);
	out->expires_at = s.last_seen + idle;
	store_session_clear(&s);
	return 1;
}

int
auth_login_begin(Auth *a, const char *user, AuthLogin *out, GError **error)
{
	StoreUser u = { 0 };
	int found = store_user_get(a->st, user, &u, error);
	if (found < 0)
		return -1;
	if (found && u.locked_until > auth_now(a)) {
		char t[TIMEFMT_LEN];
		g_set_error(error, AUTH_ERROR, AUTH_ERROR_LOCKED,
			    "account '%s' is locked until %s after too many failed logins", user,
			    timefmt_iso(u.locked_until, t));
		store_user_clear(&u);
		return -1;
	}
	out->user = g_strdup(user);
	out->pin_hash = found ? g_strdup(u.pin_hash)
			      : g_strdup(crypto_pin_dummy_hash((guint64)a->cfg->scrypt_n));
	store_user_clear(&u);
	return 0;
}

int
auth_login_finish(Auth *a, const AuthLogin *l, gboolean pin_ok, char token[65],
		  AuthSession *out, GError **error)
{
	StoreUser u = { 0 };
	gint64 now = auth_now(a);
	GError *refusal = NULL;
	int rc = -1;
	char t[TIMEFMT_LEN];

	if (store_begin(a->st, error) < 0)
		return -1;
	int found = store_user_get(a->st, l->user, &u, error);
	if (found < 0)
		goto out;
	AuditActor who = { l->user, found ? u.role : "" };
	if (!found) {
		g_set_error(&refusal, AUTH_ERROR, AUTH_ERROR_UNAUTHORIZED, "wrong user or PIN");
		rc = audit_append(a->st, &who, "login", l->user, "denied", NULL, now, error);
		goto out;
	}
	if (u.locked_until > now) {
		/* Another attempt locked the account while this one was hashing. */
		g_set_error(&refusal, AUTH_ERROR, AUTH_ERROR_LOCKED,
			    "account '%s' is locked until %s", u.name, timefmt_iso(u.locked_until, t));
		rc = audit_append(a->st, &who, "login", u.name, "locked", NULL, now, error);
		goto out;
	}
	gint64 failed = u.locked_until ? 0 : u.failed_logins; /* an expired lock starts afresh */
	if (!pin_ok) {
		failed++;
		gint64 locked_until = 0;
		const char *result = "denied";
		if (failed >= a->cfg->max_failed_logins) {
			locked_until = now + a->cfg->lockout;
			result = "locked";
			g_set_error(&refusal, AUTH_ERROR, AUTH_ERROR_LOCKED,
				    "account '%s' is locked until %s after %" G_GINT64_FORMAT
				    " failed logins", u.name, timefmt_iso(locked_until, t), failed);
		} else {
			g_set_error(&refusal, AUTH_ERROR, AUTH_ERROR_UNAUTHORIZED, "wrong user or PIN");
		}
		g_autofree char *detail = g_strdup_printf("{\"failed_logins\":%" G_GINT64_FORMAT "}",
							  failed);
		rc = store_user_set_login_state(a->st, u.id, failed, locked_until, u.last_login_at,
						error);
		if (rc == 0)
			rc = audit_append(a->st, &who, "login", u.name, result, detail, now, error);
		goto out;
	}
	if (u.disabled) {
		g_set_error(&refusal, AUTH_ERROR, AUTH_ERROR_FORBIDDEN, "account '%s' is disabled",
			    u.name);
		rc = audit_append(a->st, &who, "login", u.name, "denied", "{\"disabled\":true}", now,
				  error);
		goto out;
	}
	uint8_t raw[32];
	if (crypto_random(raw, sizeof raw) < 0) {
		g_set_error(error, AUTH_ERROR, AUTH_ERROR_INVALID, "no random bytes for a token");
		goto out;
	}
	for (size_t i = 0; i < sizeof raw; i++)
		g_snprintf(token + 2 * i, 3, "%02x", raw[i]);
	crypto_wipe(raw, sizeof raw);
	crypto_sha256_hex(token, 64, out->token_hash);
	rc = store_user_set_login_state(a->st, u.id, 0, 0, now, error);
	if (rc == 0)
		rc = store_session_insert(a->st, out->token_hash, u.id, now, error);
	if (rc == 0)
		rc = audit_append(a->st, &who, "login", u.name, "ok", NULL, now, error);
	if (rc == 0) {
		out->user_id = u.id;
		out->user = g_strdup(u.name);
		out->role = auth_role_parse(u.role);
		out->expires_at = now + a->cfg->session_idle;
	}
out:
	store_user_clear(&u);
	if (finish_txn(a, rc, error) < 0) {
		g_clear_error(&refusal);
		auth_session_clear(out);
		return -1;
	}
	if (refusal) {
		g_propagate_error(error, refusal);
		return -1;
	}
	return 0;
}

int
auth_logout(Auth *a, const AuthSession *s, GError **error)
{
	if (store_begin(a->st, error) < 0)
		return -1;
	AuditActor who = { s->user, auth_role_name(s->role) };
	int rc = store_session_delete(a->st, s->token_hash, error);
	if (rc == 0)
		rc = audit_append(a->st, &who, "logout", s->user, "ok", NULL, auth_now(a), error);
	return finish_txn(a, rc, error);
}

gboolean
auth_bootstrap_open(Auth *a, GError **error)
{
	gint64 n = store_user_count_role(a->st, "admin", error);
	return n == 0;
}

int
auth_user_add(Auth *a, const AuditActor *who, const char *name, Role role,
	      const char *pin_hash, GError **error)
{
	gint64 now = auth_now(a);
	StoreUser u = {
		.name = (char *)name,
		.role = (char *)auth_role_name(role),
		.pin_hash = (char *)pin_hash,
		.created_at = now,
	};
	if (!*u.role) {
		g_set_error(error, AUTH_ERROR, AUTH_ERROR_INVALID,
			    "role must be one of operator, supervisor, technician, admin");
		return -1;
	}
	g_autofree char *detail = audit_detail("role", u.role, NULL);

	if (store_begin(a->st, error) < 0)
		return -1;
	GError *e = NULL;
	int rc = store_user_insert(a->st, &u, &e);
	if (rc < 0) {
		if (g_error_matches(e, STORE_ERROR, STORE_ERROR_CONFLICT)) {
			g_clear_error(&e);
			g_set_error(&e, AUTH_ERROR, AUTH_ERROR_CONFLICT, "user '%s' exists already",
				    name);
		}
		g_propagate_error(error, e);
	} else {
		rc = audit_append(a->st, who, "user.add", name, "ok", detail, now, error);
	}
	return finish_txn(a, rc, error);
}

/* Reads NAME inside the open transaction; AUTH_ERROR_NOT_FOUND when absent. */
static int
get_user(Auth *a, const char *name, StoreUser *u, GError **error)
{
	int found = store_user_get(a->st, name, u, error);
	if (found == 0)
		g_set_error(error, AUTH_ERROR, AUTH_ERROR_NOT_FOUND, "no user '%s'", name);
	return found == 1 ? 0 : -1;
}

int
auth_user_disable(Auth *a, const AuditActor *who, const char *name, GError **error)
{
	StoreUser u = { 0 };
	if (store_begin(a->st, error) < 0)
		return -1;
	int rc = get_user(a, name, &u, error);
	if (rc == 0 && !u.disabled && strcmp(u.role, "admin") == 0) {
		gint64 admins = store_user_count_role(a->st, "admin", error);
		if (admins < 0) {
			rc = -1;
		} else if (admins <= 1) {
			g_set_error(error, AUTH_ERROR, AUTH_ERROR_CONFLICT,
				    "'%s' is the last enabled admin; add another admin first", name);
			rc = -1;
		}
	}
	if (rc == 0)
		rc = store_user_set_disabled(a->st, u.id, error);
	if (rc == 0)
		rc = store_session_delete_user(a->st, u.id, NULL, error);
	if (rc == 0)
		rc = audit_append(a->st, who, "user.disable", name, "ok", NULL, auth_now(a), error);
	store_user_clear(&u);
	return finish_txn(a, rc, error);
}

char *
auth_user_pin_hash(Auth *a, const char *name, GError **error)
{
	StoreUser u = { 0 };
	if (get_user(a, name, &u, error) < 0)
		return NULL;
	char *h = g_strdup(u.pin_hash);
	store_user_clear(&u);
	return h;
}

int
auth_user_set_pin(Auth *a, const AuditActor *who, const char *name, const char *pin_hash,
		  const char *keep_token_hash, GError **error)
{
	StoreUser u = { 0 };
	if (store_begin(a->st, error) < 0)
		return -1;
	int rc = get_user(a, name, &u, error);
	if (rc == 0)
		rc = store_user_set_pin(a->st, u.id, pin_hash, error);
	if (rc == 0)
		rc = store_user_set_login_state(a->st, u.id, 0, 0, u.last_login_at, error);
	if (rc == 0)
		rc = store_session_delete_user(a->st, u.id, keep_token_hash, error);
	if (rc == 0)
		rc = audit_append(a->st, who, "user.pin", name, "ok", NULL, auth_now(a), error);
	store_user_clear(&u);
	return finish_txn(a, rc, error);
}
