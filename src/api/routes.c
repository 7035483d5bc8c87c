/* SPDX-License-Identifier: MIT */
/*
 * The route table: every path the API answers, who may call it and what its
 * body and query look like.  The gate enforces all of it before a handler
 * runs, so a handler never checks a role or a field's type itself.  The
 * README's role matrix is printed from here (ektpd --routes).
 */
#include "api/internal.h"

#define NAME_FIELD { "name", API_STRING, TRUE, 1, 32 }
#define PIN_FIELD(n, req) { n, API_STRING, req, 1, 64 }

static const ApiField login_body[] = {
	{ "user", API_STRING, TRUE, 1, 32 },
	PIN_FIELD("pin", TRUE),
	{ NULL },
};

static const ApiField user_add_body[] = {
	NAME_FIELD,
	{ "role", API_STRING, TRUE, 1, 16 },
	PIN_FIELD("pin", TRUE),
	{ NULL },
};

static const ApiField user_pin_body[] = {
	PIN_FIELD("pin", TRUE),
	PIN_FIELD("old_pin", FALSE),
	{ NULL },
};

static const ApiField empty_body[] = { { NULL } };

static const ApiField fault_body[] = {
	{ "kind", API_STRING, TRUE, 1, 32 },
	{ "count", API_INT, FALSE, 0, 1000000 },
	{ NULL },
};

static const ApiField history_query[] = {
	{ "limit", API_INT, FALSE, 1, 1000 },
	{ NULL },
};

static const ApiField audit_query[] = {
	{ "after", API_INT, FALSE, 0, G_MAXINT64 },
	{ "limit", API_INT, FALSE, 1, 1000 },
	{ NULL },
};

const ApiRoute api_routes[] = {
	{ "GET", "/v1/status", "status", 0, API_PUBLIC, NULL, NULL, api_h_status,
	  "version, uptime, database size and counts" },
	{ "POST", "/v1/login", "login", 0, API_PUBLIC | API_MUTATES, login_body, NULL, api_h_login,
	  "exchange a user name and PIN for a token" },
	{ "POST", "/v1/logout", "logout", ROLE_ANY, API_MUTATES, empty_body, NULL, api_h_logout,
	  "end this token's session" },
	{ "GET", "/v1/whoami", "whoami", ROLE_ANY, 0, NULL, NULL, api_h_whoami,
	  "the caller's user, role and session expiry" },
	{ "GET", "/v1/users", "user.list", ROLE_ADMIN, 0, NULL, NULL, api_h_users_list,
	  "every account with its role and state" },
	{ "POST", "/v1/users", "user.add", ROLE_ADMIN, API_MUTATES | API_BOOTSTRAP, user_add_body,
	  NULL, api_h_users_add, "create an account" },
	{ "POST", "/v1/users/{name}/disable", "user.disable", ROLE_ADMIN, API_MUTATES, empty_body,
	  NULL, api_h_users_disable, "disable an account and end its sessions" },
	{ "POST", "/v1/users/{name}/pin", "user.pin", ROLE_ADMIN, API_MUTATES | API_SELF,
	  user_pin_body, NULL, api_h_users_pin, "set a PIN (one's own needs old_pin)" },
	{ "GET", "/v1/audit", "audit.list", ROLE_SUPERVISOR | ROLE_ADMIN, 0, NULL, audit_query,
	  api_h_audit_list, "audit rows, oldest first, a page at a time" },
	{ "GET", "/v1/audit/verify", "audit.verify", ROLE_SUPERVISOR | ROLE_ADMIN, 0, NULL, NULL,
	  api_h_audit_verify, "check the audit log's hash chain" },
	{ "GET", "/v1/devices", "device.list", ROLE_ANY, 0, NULL, NULL, api_h_devices_list,
	  "every configured device with its driver, state and reasons" },
	{ "GET", "/v1/devices/{name}", "device.get", ROLE_ANY, 0, NULL, NULL, api_h_devices_get,
	  "one device's state, reasons and counters" },
	{ "POST", "/v1/devices/{name}/fault", "device.fault", ROLE_TECHNICIAN, API_MUTATES,
	  fault_body, NULL, api_h_devices_fault, "make a simulator show a fault" },
	{ "POST", "/v1/devices/{name}/selftest", "device.selftest", ROLE_TECHNICIAN, API_MUTATES,
	  empty_body, NULL, api_h_devices_selftest, "run the device's self-test and store it" },
	{ "GET", "/v1/devices/{name}/selftests", "device.selftests",
	  ROLE_TECHNICIAN | ROLE_SUPERVISOR, 0, NULL, history_query, api_h_devices_selftests,
	  "the device's self-test history, newest first" },
};
const size_t api_n_routes = G_N_ELEMENTS(api_routes);

void
api_print_routes(FILE *out)
{
	static const Role all[] = { ROLE_OPERATOR, ROLE_SUPERVISOR, ROLE_TECHNICIAN, ROLE_ADMIN };
	for (size_t i = 0; i < api_n_routes; i++) {
		const ApiRoute *r = &api_routes[i];
		g_autoptr(GString) who = g_string_new(NULL);
		if (r->flags & API_PUBLIC)
			g_string_append(who, "public");
		for (size_t k = 0; k < G_N_ELEMENTS(all); k++)
			if (r->roles & all[k])
				g_string_append_printf(who, "%s%s", who->len ? "," : "",
						       auth_role_name(all[k]));
		if (r->flags & API_SELF)
			g_string_append(who, ",self");
		if (r->flags & API_BOOTSTRAP)
			g_string_append(who, ",bootstrap");
		fprintf(out, "%-5s %-28s %s\n", r->method, r->path, who->str);
	}
}
