/* SPDX-License-Identifier: MIT */
/*
 * Accounts, roles, PINs and login sessions.  Each function that changes state
 * is one store transaction that also appends its audit row.  PIN hashing is
 * slow on purpose, so logins and PIN changes come in two halves: the caller
 * runs the hash in a worker between them (see api/).
 */
#ifndef EKTP_CORE_AUTH_H
#define EKTP_CORE_AUTH_H

#include <glib.h>

#include "core/audit.h"
#include "store/store.h"
#include "util/config.h"

#define AUTH_ERROR (auth_error_quark())
GQuark auth_error_quark(void);

typedef enum {
	AUTH_ERROR_INVALID,      /* a name, role or PIN breaks its rule */
	AUTH_ERROR_UNAUTHORIZED, /* wrong user or PIN, unknown or expired token */
	AUTH_ERROR_FORBIDDEN,    /* the account is disabled, or the role may not */
	AUTH_ERROR_LOCKED,       /* too many failed logins */
	AUTH_ERROR_NOT_FOUND,    /* no such user */
	AUTH_ERROR_CONFLICT,     /* the user exists, or the change breaks an invariant */
} AuthErrorCode;

/* Roles are bits so that a route can name the set of roles it admits. */
typedef enum {
	ROLE_NONE = 0,
	ROLE_OPERATOR = 1 << 0,
	ROLE_SUPERVISOR = 1 << 1,
	ROLE_TECHNICIAN = 1 << 2,
	ROLE_ADMIN = 1 << 3,
} Role;
#define ROLE_ANY (ROLE_OPERATOR | ROLE_SUPERVISOR | ROLE_TECHNICIAN | ROLE_ADMIN)

/* ROLE_NONE for an unknown name.  Names are static strings. */
Role auth_role_parse(const char *name);
const char *auth_role_name(Role role);

/* Rules for user names and PINs; ERROR names the rule broken. */
gboolean auth_name_valid(const char *name, GError **error);
gboolean auth_pin_valid(const char *pin, gint64 min_length, GError **error);

typedef struct Auth Auth;
typedef gint64 (*AuthClock)(void);

/* CFG is borrowed and read live (SIGHUP changes apply).  CLOCK may be NULL. */
Auth *auth_new(Store *st, const EktpConfig *cfg, AuthClock clock);
void auth_free(Auth *a);
gint64 auth_now(Auth *a);

typedef struct {
	gint64 user_id;
	char *user;
	Role role;
	char token_hash[65];
	gint64 expires_at;
} AuthSession;

void auth_session_clear(AuthSession *s);

/*
 * Checks a bearer token.  1 and OUT filled (caller clears) when it is valid,
 * 0 when it is unknown, expired or its user is disabled, -1 on store error.
 * A valid token's idle timer restarts.
 */
int auth_session_check(Auth *a, const char *token, AuthSession *out, GError **error);

/* ---- login, in two halves ---- */

typedef struct {
	char *user;
	char *pin_hash; /* the user's, or a dummy hash when there is none */
} AuthLogin;

void auth_login_clear(AuthLogin *l);

/* First half: refuses a locked account (AUTH_ERROR_LOCKED); fills OUT. */
int auth_login_begin(Auth *a, const char *user, AuthLogin *out, GError **error);

/*
 * Second half, after the caller verified the PIN against L->pin_hash.
 * On success writes a fresh token (64 hex digits) into TOKEN and fills OUT.
 * A wrong PIN counts toward the lockout and answers AUTH_ERROR_UNAUTHORIZED
 * (or AUTH_ERROR_LOCKED on the attempt that locks).
 */
int auth_login_finish(Auth *a, const AuthLogin *l, gboolean pin_ok, char token[65],
		      AuthSession *out, GError **error);

int auth_logout(Auth *a, const AuthSession *s, GError **error);

/* ---- accounts ---- */

/* True while no enabled admin exists: the first one may be created by root. */
gboolean auth_bootstrap_open(Auth *a, GError **error);

/* Creates NAME with ROLE and an already-hashed PIN (takes no ownership). */
int auth_user_add(Auth *a, const AuditActor *who, const char *name, Role role,
		  const char *pin_hash, GError **error);
int auth_user_disable(Auth *a, const AuditActor *who, const char *name, GError **error);
/* The stored hash of NAME's PIN (caller frees), for checking an old PIN. */
char *auth_user_pin_hash(Auth *a, const char *name, GError **error);
/* Sets NAME's PIN hash, unlocks the account and ends its other sessions. */
int auth_user_set_pin(Auth *a, const AuditActor *who, const char *name, const char *pin_hash,
		      const char *keep_token_hash, GError **error);

#endif
