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

#define DEMO(n, max) { n, API_STRING, FALSE, 0, max }
/* Every field optional here: validation reports all missing ones at once. */
static const ApiField enroll_body[] = {
	DEMO("nik", 64), DEMO("kk", 64), DEMO("name", 200), DEMO("birth_place", 200),
	DEMO("birth_date", 32), DEMO("gender", 32), DEMO("blood_type", 32), DEMO("religion", 64),
	DEMO("marital_status", 32), DEMO("occupation", 128), DEMO("address", 400),
	DEMO("rt", 16), DEMO("rw", 16), DEMO("village_code", 32), DEMO("citizenship", 16),
	DEMO("nationality", 64),
	{ "reenroll", API_BOOL, FALSE, 0, 0 },
	{ NULL },
};

static const ApiField capture_body[] = {
	{ "position", API_INT, FALSE, 0, 10 },
	{ NULL },
};

static const ApiField upload_query[] = {
	{ "position", API_INT, FALSE, 0, 10 },
	{ NULL },
};

static const ApiField exception_body[] = {
	{ "modality", API_STRING, TRUE, 1, 16 },
	{ "position", API_INT, TRUE, 1, 10 },
	{ "kind", API_STRING, TRUE, 1, 16 },
	{ "reason", API_STRING, TRUE, 1, 500 },
	{ NULL },
};

static const ApiField reason_body[] = {
	{ "reason", API_STRING, TRUE, 1, 500 },
	{ NULL },
};

static const ApiField records_query[] = {
	{ "state", API_STRING, FALSE, 1, 16 },
	{ "nik", API_STRING, FALSE, 1, 16 },
	{ "from", API_STRING, FALSE, 10, 10 },
	{ "to", API_STRING, FALSE, 10, 10 },
	{ "after", API_INT, FALSE, 0, G_MAXINT64 },
	{ "limit", API_INT, FALSE, 1, 1000 },
	{ NULL },
};

static const ApiField encode_body[] = {
	{ "encoder", API_STRING, TRUE, 1, 64 },
	{ NULL },
};

#define CHIP_FILE(n) { n, API_STRING, FALSE, 1, 96 * 1024 }
static const ApiField verify_body[] = {
	CHIP_FILE("com"), CHIP_FILE("dg1"), CHIP_FILE("dg2"), CHIP_FILE("dg3"), CHIP_FILE("dg7"),
	CHIP_FILE("sod"), { NULL },
};

static const ApiField coverage_query[] = {
	{ "by", API_STRING, FALSE, 1, 16 },
	{ "from", API_STRING, FALSE, 10, 10 },
	{ "to", API_STRING, FALSE, 10, 10 },
	{ NULL },
};

static const ApiField print_body[] = {
	{ "max", API_INT, FALSE, 1, 100000 },
	{ "printer", API_STRING, FALSE, 1, 64 },
	{ NULL },
};
static const ApiField jobs_query[] = {
	{ "limit", API_INT, FALSE, 1, 1000 },
	{ NULL },
};

/* Quantities are only checked for being whole here: the ledger refuses zero, negative and
 * absurd ones ([stock] max_quantity) with a message that says which rule they break. */
#define QTY_FIELD(req) { "qty", API_INT, req, G_MININT64, G_MAXINT64 }
#define ITEM_FIELD { "item", API_STRING, TRUE, 1, 64 }
#define LOCATION_FIELD { "location", API_STRING, TRUE, 1, 64 }
#define PRINTER_FIELD { "printer", API_STRING, TRUE, 1, 64 }
static const ApiField receive_body[] = {
	ITEM_FIELD,
	QTY_FIELD(TRUE),
	{ "lot", API_STRING, FALSE, 1, 64 },
	{ "supplier", API_STRING, FALSE, 1, 200 },
	{ "date", API_STRING, FALSE, 10, 10 },
	{ "serial_first", API_STRING, FALSE, 1, 64 },
	{ "serial_last", API_STRING, FALSE, 1, 64 },
	{ "location", API_STRING, FALSE, 1, 64 },
	{ NULL },
};
static const ApiField load_body[] = {
	PRINTER_FIELD,
	ITEM_FIELD,
	QTY_FIELD(FALSE),
	{ NULL },
};
static const ApiField adjust_body[] = {
	ITEM_FIELD,
	LOCATION_FIELD,
	QTY_FIELD(TRUE),
	{ "reason", API_STRING, TRUE, 1, 500 },
	{ NULL },
};
static const ApiField spoil_body[] = {
	ITEM_FIELD,
	LOCATION_FIELD,
	QTY_FIELD(TRUE),
	{ "cause", API_STRING, TRUE, 1, 200 },
	{ NULL },
};
static const ApiField ration_body[] = {
	PRINTER_FIELD,
	{ "daily", API_INT, TRUE, 0, 100000 },
	{ "hourly", API_INT, TRUE, 0, 10000 },
	{ NULL },
};
static const ApiField stock_history_query[] = {
	{ "item", API_STRING, FALSE, 1, 64 },
	{ "limit", API_INT, FALSE, 1, 1000 },
	{ NULL },
};
static const ApiField stock_report_query[] = {
	{ "from", API_STRING, FALSE, 10, 10 },
	{ "to", API_STRING, FALSE, 10, 10 },
	{ "months", API_INT, FALSE, 1, 60 },
	{ NULL },
};
static const ApiField chart_query[] = {
	{ "days", API_INT, FALSE, 7, 365 },
	{ NULL },
};

#define DESK (ROLE_OPERATOR | ROLE_SUPERVISOR)
/* Who may look at the stock: the desk, and the technician who loads and cleans printers. */
#define VIEW (DESK | ROLE_TECHNICIAN)
#define CAPTURE_ROUTES(m)                                                                      \
	{ "POST", "/v1/enrollments/{name}/capture/" m, "enroll.capture", DESK, API_MUTATES,    \
	  capture_body, NULL, api_h_enroll_capture, "one " m " capture attempt from a device" }, \
	{ "PUT", "/v1/enrollments/{name}/capture/" m, "enroll.upload", DESK,                   \
	  API_MUTATES | API_UPLOAD, NULL, upload_query, api_h_enroll_upload,                    \
	  "one " m " attempt as an uploaded PNG" }

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
	{ "POST", "/v1/devices/{name}/clean", "device.clean", ROLE_TECHNICIAN, API_MUTATES,
	  empty_body, NULL, api_h_devices_clean,
	  "run a printer's cleaning cycle, using a cleaning card (no card inside)" },
	{ "POST", "/v1/enrollments", "enroll.start", DESK, API_MUTATES, enroll_body, NULL,
	  api_h_enroll_start, "validate demographics and open a capture session" },
	{ "GET", "/v1/enrollments", "enroll.list", DESK, 0, NULL, NULL, api_h_enroll_list,
	  "the open capture sessions" },
	{ "GET", "/v1/enrollments/{name}", "enroll.get", DESK, 0, NULL, NULL, api_h_enroll_get,
	  "one session: captures, exceptions, what is missing" },
	CAPTURE_ROUTES("finger"),
	CAPTURE_ROUTES("iris"),
	CAPTURE_ROUTES("face"),
	CAPTURE_ROUTES("signature"),
	{ "POST", "/v1/enrollments/{name}/exceptions", "enroll.exception", DESK, API_MUTATES,
	  exception_body, NULL, api_h_enroll_exception, "record a missing or injured finger or eye" },
	{ "POST", "/v1/enrollments/{name}/commit", "enroll.commit", DESK, API_MUTATES, empty_body,
	  NULL, api_h_enroll_commit, "make the session a record, in one transaction" },
	{ "POST", "/v1/enrollments/{name}/abandon", "enroll.abandon", DESK, API_MUTATES,
	  empty_body, NULL, api_h_enroll_abandon, "close a session and erase its images" },
	{ "GET", "/v1/records", "record.list", DESK, 0, NULL, records_query, api_h_records_list,
	  "records by state, NIK or day" },
	{ "GET", "/v1/records/{name}", "record.get", DESK, 0, NULL, NULL, api_h_records_get,
	  "one record's demographics and biometric metadata (no images)" },
	{ "GET", "/v1/records/{name}/export", "record.export", ROLE_SUPERVISOR, 0, NULL, NULL,
	  api_h_records_export, "a record's images, decrypted (audited)" },
	{ "POST", "/v1/records/{name}/approve", "record.approve", ROLE_SUPERVISOR, API_MUTATES,
	  empty_body, NULL, api_h_records_decide, "approve a record" },
	{ "POST", "/v1/records/{name}/reject", "record.reject", ROLE_SUPERVISOR, API_MUTATES,
	  reason_body, NULL, api_h_records_decide, "reject a record, with a reason" },
	{ "POST", "/v1/records/{name}/hold", "record.hold", ROLE_SUPERVISOR, API_MUTATES,
	  reason_body, NULL, api_h_records_decide, "put a record on hold, with a reason" },
	{ "GET", "/v1/records/{name}/card", "card.preview", DESK, 0, NULL, NULL,
	  api_h_cards_preview, "the record's card face as a PNG, without printing it" },
	{ "GET", "/v1/records/{name}/chip", "card.chip", ROLE_SUPERVISOR, 0, NULL, NULL,
	  api_h_cards_chip, "the record's signed chip image, file by file (audited)" },
	{ "POST", "/v1/records/{name}/encode", "card.encode", DESK, API_MUTATES, encode_body, NULL,
	  api_h_cards_encode, "write a print_ready record's chip on an encoder and read it back" },
	{ "POST", "/v1/cards/verify", "card.verify", DESK | ROLE_TECHNICIAN, 0, verify_body, NULL,
	  api_h_cards_verify, "check a chip image's hashes and signature against the CA" },
	{ "POST", "/v1/records/{name}/reprint", "record.reprint", ROLE_SUPERVISOR, API_MUTATES,
	  reason_body, NULL, api_h_records_reprint,
	  "a printed or spoiled record back to print_ready, with a reason" },
	{ "POST", "/v1/print/batches", "print.start", DESK, API_MUTATES, print_body, NULL,
	  api_h_print_start, "print the print_ready records (first-time voters first)" },
	{ "GET", "/v1/print/batches/{name}", "print.batch", DESK | ROLE_TECHNICIAN, 0, NULL, NULL,
	  api_h_print_batch, "one batch and its cards' phases" },
	{ "POST", "/v1/print/batches/{name}/cancel", "print.cancel", DESK, API_MUTATES,
	  empty_body, NULL, api_h_print_cancel, "drop a batch's cards not yet begun" },
	{ "GET", "/v1/print/jobs", "print.jobs", DESK | ROLE_TECHNICIAN, 0, NULL, jobs_query,
	  api_h_print_jobs, "what each printer is doing and why, and the batches" },
	{ "GET", "/v1/stock", "stock.list", VIEW, 0, NULL, NULL, api_h_stock_list,
	  "consumables on hand and runout forecast, printers' rations, last alerts" },
	{ "GET", "/v1/stock/forecast", "stock.forecast", VIEW, 0, NULL, NULL,
	  api_h_stock_forecast, "each item's rate of use, days left and runout date" },
	{ "GET", "/v1/stock/items", "stock.items", VIEW, 0, NULL, NULL, api_h_stock_items,
	  "the consumables catalogue: units, packs, prices, thresholds" },
	{ "POST", "/v1/stock/receive", "stock.receive", ROLE_SUPERVISOR, API_MUTATES,
	  receive_body, NULL, api_h_stock_receive, "record a delivery into the storeroom" },
	{ "POST", "/v1/stock/load", "stock.load", ROLE_SUPERVISOR, API_MUTATES, load_body, NULL,
	  api_h_stock_load, "move blank cards, a ribbon or a film into a printer" },
	{ "POST", "/v1/stock/adjust", "stock.adjust", ROLE_SUPERVISOR, API_MUTATES, adjust_body,
	  NULL, api_h_stock_adjust, "correct an item's count at a location, with a reason" },
	{ "POST", "/v1/stock/spoil", "stock.spoil", ROLE_SUPERVISOR, API_MUTATES, spoil_body, NULL,
	  api_h_stock_spoil, "write off spoiled stock at a location, with its cause" },
	{ "GET", "/v1/stock/history", "stock.history", VIEW, 0, NULL, stock_history_query,
	  api_h_stock_history, "ledger movements, newest first, of one item or all" },
	{ "GET", "/v1/stock/alerts", "stock.alerts", VIEW, 0, NULL, jobs_query,
	  api_h_stock_alerts, "where the ledger and a printer's own counters differ" },
	{ "POST", "/v1/stock/rations", "stock.ration", ROLE_SUPERVISOR, API_MUTATES, ration_body,
	  NULL, api_h_stock_rations, "set a printer's daily card quota and cards-per-hour limit" },
	{ "GET", "/v1/stock/chart", "stock.chart", ROLE_SUPERVISOR | ROLE_TECHNICIAN, 0, NULL,
	  chart_query, api_h_stock_chart, "a PNG chart of each item's level and its forecast" },
	{ "GET", "/v1/reports/coverage", "report.coverage", ROLE_SUPERVISOR | ROLE_ADMIN, 0, NULL,
	  coverage_query, api_h_report_coverage, "records per kecamatan or day against the target" },
	/* After /v1/reports/coverage: the first route that matches a path takes it. */
	{ "GET", "/v1/reports/{name}", "report.stock", ROLE_SUPERVISOR, 0, NULL,
	  stock_report_query, api_h_stock_report,
	  "cards and consumables: daily, monthly, spoilage or procurement" },
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
