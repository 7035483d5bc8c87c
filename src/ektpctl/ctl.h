/* SPDX-License-Identifier: MIT */
/*
 * What every ektpctl command file shares: the shape of a command (the table in ektpctl.c lists
 * them all), the state of one run, the exit codes, and the helpers that send a request and read
 * the API's JSON. Commands live in ektpctl.c (accounts, audit, devices), enroll.c (enrollment
 * sessions), records.c (records, supervisor decisions, reports), printing.c (print batches) and
 * stock.c (consumables, rations, cleaning, stock reports); each file exports only its cmd_*
 * functions, which the table names.
 */
#ifndef EKTPCTL_CTL_H
#define EKTPCTL_CTL_H

#include <stdbool.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "ektpctl/client.h"

#define CMD_MAX_ARGS 3
#define CMD_MAX_OPTS 5
#define HTTP_BAD_REQUEST 400
#define HTTP_UNAUTHORIZED 401
#define HTTP_FORBIDDEN 403
#define HTTP_NOT_FOUND 404
#define HTTP_CONFLICT 409

enum rc { RC_OK = 0, RC_FAIL = 1, RC_USAGE = 2, RC_UNREACHABLE = 3 };

/* ctl_call() flags. CALL_PIN_CHECK: the body carries a PIN, so a 401 answer means that PIN was
 * wrong, not that the session is gone; show the daemon's own message. CALL_QUIET: print nothing
 * for an error answer (not even with --json); the caller reports it. */
#define CALL_PIN_CHECK 1u
#define CALL_QUIET 2u

struct ctx;

struct cmd_opt {
	const char *name; /* without the leading "--"; NULL ends the list */
	const char *metavar;
	bool required;
	const char *help;
};

struct cmd {
	const char *words;              /* the command's words, e.g. "user add" */
	const char *args[CMD_MAX_ARGS]; /* positional arguments, by metavar; "[ITEM]" is optional */
	struct cmd_opt opts[CMD_MAX_OPTS];
	bool token; /* send the stored session token; a 401 then means "log in" */
	int (*run)(struct ctx *c);
	const char *summary; /* one line for the command list */
	const char *help;    /* paragraph for the command's own help */
};

/* One run of ektpctl: the command, its parsed arguments and the connection. */
struct ctx {
	const struct cmd *cmd;
	const char *args[CMD_MAX_ARGS]; /* borrowed from argv; NULL for an optional one not given */
	const char *opts[CMD_MAX_OPTS]; /* borrowed from argv; NULL when not given */
	bool json;
	const char *socket_path; /* borrowed from main */
	const char *token_path;  /* borrowed from run_cmd */
	Client *client;          /* borrowed from run_cmd */
};

/* ---- reading the API's JSON; o may be NULL everywhere ---- */

/* Borrowed from o; NULL when missing, null or not a string. */
const char *ctl_get_str(JsonObject *o, const char *name);
/* true and *value set when name is an integer. */
bool ctl_get_int(JsonObject *o, const char *name, gint64 *value);
/* true only when name is the boolean true. */
bool ctl_get_bool(JsonObject *o, const char *name);
/* Borrowed from o; NULL when missing or not an object / not an array. */
JsonObject *ctl_get_obj(JsonObject *o, const char *name);
JsonArray *ctl_get_array(JsonObject *o, const char *name);
/* Element i of a (borrowed) when it is an object, else NULL. Borrowed from a. */
JsonObject *ctl_array_obj(JsonArray *a, guint i);
/* Any scalar member as text ("yes"/"no" for booleans), "-" when missing or null. Caller frees. */
char *ctl_get_text(JsonObject *o, const char *name);
/* The strings of array member name, or member key of its objects when key is not NULL, joined
 * by sep; NULL when the list is missing or empty. Caller frees. */
char *ctl_join(JsonObject *o, const char *name, const char *key, const char *sep);
/* For g_ptr_array_sort of JsonObject captures (or exceptions): fingers first, then irises,
 * face and signature, by position within each. */
gint ctl_capture_order(gconstpointer a, gconstpointer b);
/* Overwrites the string member name of o (a PIN) before the object is freed. */
void ctl_wipe_member(JsonObject *o, const char *name);

/* ---- talking to the daemon ---- */

/* Sends one request (path and body borrowed). Whenever the daemon answers, *reply gets the
 * answer (caller frees). Returns RC_OK for a 2xx answer; otherwise prints why (unless
 * CALL_QUIET) and returns the exit code. With --json an error answer is printed too. */
int ctl_call(struct ctx *c, const char *method, const char *path, JsonObject *body,
	     unsigned flags, ClientReply **reply);

/* The same with a raw body of content_type (both borrowed), e.g. a PNG upload. */
int ctl_call_bytes(struct ctx *c, const char *method, const char *path,
		   const char *content_type, GBytes *body, unsigned flags, ClientReply **reply);

/* Prints on stderr why the daemon refused a request, as ctl_call does (a 401 becomes the hint
 * to log in); reply is borrowed. For answers received with CALL_QUIET. */
void ctl_report_error(const struct ctx *c, const ClientReply *reply, unsigned flags);

/* GETs path and finds the array member of its answer. Returns the exit code; with --json the
 * answer is printed as is and *list stays NULL: the caller has nothing left to do. */
int ctl_get_list(struct ctx *c, const char *path, const char *member, ClientReply **reply,
		 JsonArray **list);

/* With --json prints the answer as is and returns true: the command has nothing to add. */
bool ctl_print_json(const struct ctx *c, const ClientReply *r);

/* The API path /v1/COLLECTION/NAME/what (what may be NULL: no last segment) with NAME
 * percent-encoded, or NULL for "." and "..": URI normalisation would turn those, even encoded,
 * into another route. Caller frees. */
char *ctl_item_path(const char *collection, const char *name, const char *what);

/* Appends "?name=value" or "&name=value" to query, value percent-encoded. */
void ctl_query_add(GString *query, const char *name, const char *value);

/* Checks that option name, if given, is a decimal row number or count; appends it to query. */
int ctl_query_number(struct ctx *c, GString *query, const char *name);

/* ---- the command line ---- */

/* The value of option name of the running command (it must be in the table), or NULL. */
const char *ctl_opt(const struct ctx *c, const char *name);

/* Prints "ektpctl: MESSAGE" and the usage of cmd (or of ektpctl when NULL) on stderr; returns
 * RC_USAGE. */
int ctl_usage_error(const struct cmd *cmd, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Prints error's message and returns RC_FAIL. */
int ctl_fail(const GError *error);

/* Whether text is exactly 16 ASCII digits (a NIK or a KK number). */
bool ctl_is_nik(const char *text);

/* Whether text is a calendar date written YYYY-MM-DD. */
bool ctl_is_date(const char *text);

/* Checks the date option --NAME (a usage error unless YYYY-MM-DD) and, when
 * given, appends it to query as NAME.  Returns the exit code. */
int ctl_query_date(struct ctx *c, GString *query, const char *name);

/* ---- commands in enroll.c ---- */
int cmd_enroll(struct ctx *c);
int cmd_enrollments(struct ctx *c);
int cmd_enrollment_show(struct ctx *c);
int cmd_enrollment_abandon(struct ctx *c);

/* ---- commands in records.c ---- */
int cmd_records(struct ctx *c);
int cmd_record_show(struct ctx *c);
int cmd_record_export(struct ctx *c);
int cmd_approve(struct ctx *c);
int cmd_reject(struct ctx *c);
int cmd_hold(struct ctx *c);
int cmd_card_preview(struct ctx *c);
int cmd_card_export(struct ctx *c);
int cmd_card_verify(struct ctx *c);
int cmd_card_encode(struct ctx *c);
/* printing.c */
int cmd_print(struct ctx *c);
int cmd_print_cancel(struct ctx *c);
int cmd_jobs(struct ctx *c);
int cmd_reprint(struct ctx *c);
int cmd_report_coverage(struct ctx *c);
/* stock.c */
int cmd_stock(struct ctx *c);
int cmd_stock_receive(struct ctx *c);
int cmd_stock_load(struct ctx *c);
int cmd_stock_adjust(struct ctx *c);
int cmd_stock_spoil(struct ctx *c);
int cmd_stock_history(struct ctx *c);
int cmd_stock_forecast(struct ctx *c);
int cmd_stock_items(struct ctx *c);
int cmd_stock_alerts(struct ctx *c);
int cmd_ration(struct ctx *c);
int cmd_clean(struct ctx *c);
int cmd_report_stock(struct ctx *c);
int cmd_report(struct ctx *c);

#endif
