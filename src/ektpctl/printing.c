/* SPDX-License-Identifier: MIT */
/* ektpctl's printing commands: print, print cancel, jobs, reprint. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ektpctl/ctl.h"
#include "ektpctl/output.h"

/* How often `print` asks how its batch is doing. */
#define PRINT_POLL_US (500 * 1000)

/* "12/50 printed, 1 spoiled, 2 in printers, 35 queued" for batch B. Caller frees. */
static char *
batch_progress(JsonObject *b)
{
	gint64 cards = 0, printed = 0, spoiled = 0, inside = 0, queued = 0, cancelled = 0;
	ctl_get_int(b, "total", &cards);
	ctl_get_int(b, "printed", &printed);
	ctl_get_int(b, "spoiled", &spoiled);
	ctl_get_int(b, "in_printer", &inside);
	ctl_get_int(b, "queued", &queued);
	ctl_get_int(b, "cancelled", &cancelled);
	GString *s = g_string_new(NULL);
	g_string_printf(s, "%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT " printed", printed, cards);
	if (spoiled)
		g_string_append_printf(s, ", %" G_GINT64_FORMAT " spoiled", spoiled);
	if (inside)
		g_string_append_printf(s, ", %" G_GINT64_FORMAT " in printers", inside);
	if (queued)
		g_string_append_printf(s, ", %" G_GINT64_FORMAT " queued", queued);
	if (cancelled)
		g_string_append_printf(s, ", %" G_GINT64_FORMAT " cancelled or not started",
				       cancelled);
	return g_string_free(s, FALSE);
}

/* Prints why each printer that is not printing waits (from GET /v1/print/jobs). */
static void
print_waiting(struct ctx *c)
{
	g_autoptr(ClientReply) r = NULL;
	if (ctl_call(c, "GET", "/v1/print/jobs", NULL, CALL_QUIET, &r) != RC_OK)
		return;
	JsonArray *printers = ctl_get_array(r->obj, "printers");
	for (guint i = 0; printers && i < json_array_get_length(printers); i++) {
		JsonObject *p = ctl_array_obj(printers, i);
		const char *reason = ctl_get_str(p, "reason");
		if (reason)
			printf("  waiting: %s\n", reason);
	}
}

/* The cards of batch B that did not print, with their causes. */
static void
print_spoiled(JsonObject *b)
{
	JsonArray *cards = ctl_get_array(b, "cards");
	for (guint i = 0; cards && i < json_array_get_length(cards); i++) {
		JsonObject *card = ctl_array_obj(cards, i);
		const char *phase = ctl_get_str(card, "phase");
		if (!phase || (strcmp(phase, "spoiled") != 0 && strcmp(phase, "void") != 0))
			continue;
		g_autofree char *record = ctl_get_text(card, "record");
		g_autofree char *printer = ctl_get_text(card, "printer");
		printf("  record %s: card %s on %s: %s\n", record, phase, printer,
		       ctl_get_str(card, "cause") ? ctl_get_str(card, "cause") : "-");
	}
}

/* Whether every record of batch B got a finished card. */
static bool
all_printed(JsonObject *b)
{
	g_autoptr(GHashTable) wanted = g_hash_table_new(g_int64_hash, g_int64_equal);
	g_autoptr(GHashTable) done = g_hash_table_new(g_int64_hash, g_int64_equal);
	g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(gint64));
	JsonArray *cards = ctl_get_array(b, "cards");
	guint n = cards ? json_array_get_length(cards) : 0;
	g_array_set_size(ids, n);
	for (guint i = 0; i < n; i++) {
		JsonObject *card = ctl_array_obj(cards, i);
		gint64 *id = &g_array_index(ids, gint64, i);
		if (!ctl_get_int(card, "record", id))
			continue;
		g_hash_table_add(wanted, id);
		if (g_strcmp0(ctl_get_str(card, "phase"), "done") == 0)
			g_hash_table_add(done, id);
	}
	return g_hash_table_size(wanted) == g_hash_table_size(done);
}

int
cmd_print(struct ctx *c)
{
	g_autoptr(JsonObject) body = json_object_new();
	const char *max = ctl_opt(c, "max"), *printer = ctl_opt(c, "printer");
	const char *wait = ctl_opt(c, "wait");
	guint64 n = 0;
	if (max && !g_ascii_string_to_unsigned(max, 10, 1, 100000, &n, NULL))
		return ctl_usage_error(c->cmd, "--max wants a number from 1 to 100000, not '%s'",
				       max);
	if (wait && strcmp(wait, "yes") != 0 && strcmp(wait, "no") != 0)
		return ctl_usage_error(c->cmd, "--wait wants yes or no, not '%s'", wait);
	if (max)
		json_object_set_int_member(body, "max", (gint64)n);
	if (printer)
		json_object_set_string_member(body, "printer", printer);
	g_autoptr(ClientReply) r = NULL;
	int rc = ctl_call(c, "POST", "/v1/print/batches", body, 0, &r);
	if (rc != RC_OK)
		return rc;
	JsonObject *b = r->obj;
	gint64 id = 0;
	ctl_get_int(b, "id", &id);
	g_autofree char *cards = ctl_get_text(b, "total");
	if (wait && strcmp(wait, "no") == 0) {
		if (!ctl_print_json(c, r))
			printf("batch %" G_GINT64_FORMAT
			       ": %s cards; follow it with `ektpctl jobs`\n",
			       id, cards);
		return RC_OK;
	}
	if (!c->json)
		printf("batch %" G_GINT64_FORMAT ": %s cards on %s\n", id, cards,
		       printer ? printer : "the working printers");
	g_autofree char *path = g_strdup_printf("/v1/print/batches/%" G_GINT64_FORMAT, id);
	g_autofree char *last = NULL;
	gint64 quiet_since = g_get_monotonic_time();
	for (;;) {
		g_autoptr(ClientReply) now = NULL;
		rc = ctl_call(c, "GET", path, NULL, 0, &now);
		if (rc != RC_OK)
			return rc;
		JsonObject *nb = now->obj;
		g_autofree char *progress = batch_progress(nb);
		const char *state = ctl_get_str(nb, "state");
		gboolean running = state && strcmp(state, "running") == 0;
		if (!c->json && g_strcmp0(progress, last) != 0) {
			printf("batch %" G_GINT64_FORMAT ": %s\n", id, progress);
			fflush(stdout);
			g_free(last);
			last = g_strdup(progress);
			quiet_since = g_get_monotonic_time();
		} else if (!c->json && running &&
			   g_get_monotonic_time() - quiet_since > 10 * G_USEC_PER_SEC) {
			/* Nothing moved for a while: say why. */
			print_waiting(c);
			fflush(stdout);
			quiet_since = g_get_monotonic_time();
		}
		if (!running) {
			if (ctl_print_json(c, now))
				return RC_OK;
			printf("batch %" G_GINT64_FORMAT " %s\n", id, state ? state : "?");
			print_spoiled(nb);
			return all_printed(nb) ? RC_OK : RC_FAIL;
		}
		g_usleep(PRINT_POLL_US);
	}
}

int
cmd_print_cancel(struct ctx *c)
{
	g_autofree char *path = ctl_item_path("print/batches", c->args[0], "cancel");
	if (!path)
		return ctl_usage_error(c->cmd, "'%s' is not a batch id", c->args[0]);
	g_autoptr(JsonObject) body = json_object_new();
	g_autoptr(ClientReply) r = NULL;
	int rc = ctl_call(c, "POST", path, body, 0, &r);
	if (rc != RC_OK)
		return rc;
	if (!ctl_print_json(c, r)) {
		g_autofree char *progress = batch_progress(r->obj);
		printf("batch %s cancelled: %s\n", c->args[0], progress);
	}
	return RC_OK;
}

int
cmd_jobs(struct ctx *c)
{
	g_autoptr(GString) path = g_string_new("/v1/print/jobs");
	int rc = ctl_query_number(c, path, "limit");
	if (rc != RC_OK)
		return rc;
	g_autoptr(ClientReply) r = NULL;
	rc = ctl_call(c, "GET", path->str, NULL, 0, &r);
	if (rc != RC_OK || ctl_print_json(c, r))
		return rc;
	JsonObject *o = r->obj;
	g_autoptr(OutTable) printers = out_table_new("PRINTER", "ENCODER", "DEVICE", "ACTIVITY",
						     "CARD", "PRINTED", "SPOILED", "WHY", NULL);
	JsonArray *ps = ctl_get_array(o, "printers");
	for (guint i = 0; ps && i < json_array_get_length(ps); i++) {
		JsonObject *p = ctl_array_obj(ps, i);
		JsonObject *card = ctl_get_obj(p, "card");
		g_autofree char *name = ctl_get_text(p, "name");
		g_autofree char *encoder = ctl_get_text(p, "encoder");
		g_autofree char *dev = ctl_get_text(p, "device_state");
		g_autofree char *activity = ctl_get_text(p, "activity");
		g_autofree char *record = card ? ctl_get_text(card, "record") : NULL;
		g_autofree char *phase = card ? ctl_get_text(card, "phase") : NULL;
		g_autofree char *what =
			card ? g_strdup_printf("record %s, %s", record, phase) : NULL;
		g_autofree char *printed = ctl_get_text(p, "printed");
		g_autofree char *spoiled = ctl_get_text(p, "spoiled");
		const char *why = ctl_get_str(p, "reason");
		const char *explain = why ? why : ctl_get_str(p, "last_error");
		const char *cells[] = { name, encoder, dev, activity, what, printed, spoiled, explain };
		out_table_add_row(printers, cells);
	}
	out_table_print(printers);
	JsonArray *bs = ctl_get_array(o, "batches");
	if (!bs || json_array_get_length(bs) == 0) {
		printf("\nno print batches yet\n");
		return RC_OK;
	}
	printf("\n");
	g_autoptr(OutTable) batches =
		out_table_new("BATCH", "STATE", "CREATED", "BY", "PRINTER", "PROGRESS", NULL);
	for (guint i = 0; i < json_array_get_length(bs); i++) {
		JsonObject *b = ctl_array_obj(bs, i);
		g_autofree char *id = ctl_get_text(b, "id");
		g_autofree char *state = ctl_get_text(b, "state");
		g_autofree char *created = out_local_time(ctl_get_str(b, "created_at"));
		g_autofree char *by = ctl_get_text(b, "created_by");
		const char *printer = ctl_get_str(b, "printer");
		g_autofree char *progress = batch_progress(b);
		const char *cells[] = { id, state, created, by, printer ? printer : "any", progress };
		out_table_add_row(batches, cells);
	}
	out_table_print(batches);
	return RC_OK;
}

int
cmd_reprint(struct ctx *c)
{
	g_autofree char *path = ctl_item_path("records", c->args[0], "reprint");
	if (!path)
		return ctl_usage_error(c->cmd, "'%s' is not a record id", c->args[0]);
	g_autoptr(JsonObject) body = json_object_new();
	json_object_set_string_member(body, "reason", ctl_opt(c, "reason"));
	g_autoptr(ClientReply) r = NULL;
	int rc = ctl_call(c, "POST", path, body, 0, &r);
	if (rc != RC_OK)
		return rc;
	if (!ctl_print_json(c, r))
		printf("record %s is print_ready again: the next `ektpctl print` prints it\n",
		       c->args[0]);
	return RC_OK;
}
