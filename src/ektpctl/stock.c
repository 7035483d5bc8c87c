/* SPDX-License-Identifier: MIT */
/*
 * ektpctl's consumables commands: the stock levels and forecast, the movements a supervisor
 * records (receive, load, adjust, spoil), the ledger's history and reconciliation alerts, the
 * printers' rations, cleaning, and the stock reports and chart. Quantities are only checked
 * for being whole numbers here; the daemon's ledger judges the rest and says why it refuses.
 */
#include <stdio.h>
#include <string.h>

#include "ektpctl/ctl.h"
#include "ektpctl/output.h"

static const guint8 png_signature[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

/* ---- reading arguments ---- */

/* TEXT as a whole number, signed or not ("-3", "+5", "5"), into *VALUE; WHAT names the
 * argument in the usage error ("QTY", "--daily"). */
static int
parse_whole(struct ctx *c, const char *what, const char *text, gint64 *value)
{
	const char *digits = text + (text[0] == '-' || text[0] == '+');
	bool ok = *digits != '\0';
	for (const char *p = digits; ok && *p; p++)
		ok = g_ascii_isdigit(*p);
	if (!ok || !g_ascii_string_to_signed(text, 10, G_MININT64, G_MAXINT64, value, NULL))
		return ctl_usage_error(c->cmd, "%s wants a whole number, not '%s'", what, text);
	return RC_OK;
}

/* Option NAME, when given, as a whole number into *VALUE; *given says whether it was. */
static int
opt_whole(struct ctx *c, const char *name, gint64 *value, bool *given)
{
	const char *text = ctl_opt(c, name);
	*given = text != NULL;
	if (!text)
		return RC_OK;
	g_autofree char *what = g_strdup_printf("--%s", name);
	return parse_whole(c, what, text, value);
}

/* ---- reading the answers ---- */

/* Member NAME of O as a number, whether JSON wrote it with a fraction or not; false when it
 * is missing or null. */
static bool
get_number(JsonObject *o, const char *name, double *value)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;
	if (!n || !JSON_NODE_HOLDS_VALUE(n))
		return false;
	GType type = json_node_get_value_type(n);
	if (type == G_TYPE_INT64)
		*value = (double)json_node_get_int(n);
	else if (type == G_TYPE_DOUBLE)
		*value = json_node_get_double(n);
	else
		return false;
	return true;
}

/* Member NAME of O with DECIMALS places, "-" when null. Caller frees. */
static char *
decimal_text(JsonObject *o, const char *name, int decimals)
{
	double v;
	if (!get_number(o, name, &v))
		return g_strdup("-");
	return g_strdup_printf("%.*f", decimals, v);
}

/* "12/50", or "12" when LIMIT_NAME is 0 (no limit). Caller frees. */
static char *
used_of(JsonObject *o, const char *used_name, const char *limit_name)
{
	g_autofree char *used = ctl_get_text(o, used_name);
	gint64 limit = 0;
	if (!ctl_get_int(o, limit_name, &limit) || limit == 0)
		return g_steal_pointer(&used);
	return g_strdup_printf("%s/%" G_GINT64_FORMAT, used, limit);
}

/* "+500 cards", "-1 roll": signed QTY in UNIT (NULL: none), which takes an "s" unless QTY is
 * one. Caller frees. */
static char *
quantity_text(gint64 qty, const char *unit)
{
	const char *plural = unit && qty != 1 && qty != -1 ? "s" : "";
	return g_strdup_printf("%+" G_GINT64_FORMAT "%s%s%s", qty, unit ? " " : "",
			       unit ? unit : "", plural);
}

/* An integer with thousands separators ("1,250,000"). Caller frees. */
static char *
grouped(gint64 v)
{
	g_autofree char *digits = g_strdup_printf("%" G_GUINT64_FORMAT,
						  v < 0 ? -(guint64)v : (guint64)v);
	GString *s = g_string_new(v < 0 ? "-" : "");
	size_t len = strlen(digits);
	for (size_t i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			g_string_append_c(s, ',');
		g_string_append_c(s, digits[i]);
	}
	return g_string_free(s, FALSE);
}

/* ---- stock ---- */

/* The levels of a GET /v1/stock or /v1/stock/forecast answer; PER_DAY adds the rate. */
static void
print_levels(JsonArray *levels, bool per_day)
{
	g_autoptr(OutTable) t =
		per_day ? out_table_new("ITEM", "LOCATION", "ON HAND", "UNIT", "PER DAY",
					"DAYS LEFT", "RUNOUT", NULL)
			: out_table_new("ITEM", "LOCATION", "ON HAND", "UNIT", "FLAG", "DAYS LEFT",
					"RUNOUT", NULL);
	for (guint i = 0; levels && i < json_array_get_length(levels); i++) {
		JsonObject *l = ctl_array_obj(levels, i);
		g_autofree char *item = ctl_get_text(l, "item");
		g_autofree char *location = ctl_get_text(l, "location");
		g_autofree char *on_hand = ctl_get_text(l, "on_hand");
		g_autofree char *unit = ctl_get_text(l, "unit");
		g_autofree char *rate = decimal_text(l, "rate_per_day", 2);
		const char *flag = ctl_get_str(l, "flag");
		g_autofree char *days = decimal_text(l, "days_left", 1);
		g_autofree char *runout = ctl_get_text(l, "runout");
		const char *middle = per_day ? rate : flag && *flag ? flag : NULL;
		out_table_add_row(t, (const char *const[]){ item, location, on_hand, unit, middle,
							    days, runout });
	}
	if (out_table_rows(t) == 0)
		printf("no stock items\n");
	else
		out_table_print(t);
}

static void
print_printers(JsonArray *printers)
{
	g_autoptr(OutTable) t = out_table_new("PRINTER", "TODAY", "LAST HOUR", "SINCE CLEAN",
					      "RIBBON", "FILM", "BLOCKED", NULL);
	for (guint i = 0; printers && i < json_array_get_length(printers); i++) {
		JsonObject *p = ctl_array_obj(printers, i);
		g_autofree char *name = ctl_get_text(p, "printer");
		g_autofree char *today = used_of(p, "today", "daily_quota");
		g_autofree char *hour = used_of(p, "last_hour", "hourly_max");
		g_autofree char *clean = used_of(p, "since_clean", "clean_threshold");
		g_autofree char *ribbon = ctl_get_text(p, "ribbon");
		g_autofree char *film = ctl_get_text(p, "film");
		g_autofree char *blocked = ctl_get_text(p, "blocked");
		out_table_add_row(t, (const char *const[]){ name, today, hour, clean, ribbon, film,
							    blocked });
	}
	if (out_table_rows(t) > 0) {
		printf("\n");
		out_table_print(t);
	}
}

/* "ALERT printer1 ribbon-ymcko: ledger 480, printer 470 (batch 3)" for each alert. */
static void
print_alert_lines(JsonArray *alerts)
{
	if (!alerts || json_array_get_length(alerts) == 0)
		return;
	printf("\n");
	for (guint i = 0; i < json_array_get_length(alerts); i++) {
		JsonObject *a = ctl_array_obj(alerts, i);
		g_autofree char *printer = ctl_get_text(a, "printer");
		const char *item = ctl_get_str(a, "item");
		g_autofree char *what = ctl_get_text(a, "what");
		g_autofree char *ledger = ctl_get_text(a, "ledger");
		g_autofree char *count = ctl_get_text(a, "printer_count");
		const char *source = ctl_get_str(a, "source");
		printf("ALERT %s %s: ledger %s, printer %s%s%s%s\n", printer, item ? item : what,
		       ledger, count, source ? " (" : "", source ? source : "", source ? ")" : "");
	}
}

int
cmd_stock(struct ctx *c)
{
	g_autoptr(ClientReply) r = NULL;
	int rc = ctl_call(c, "GET", "/v1/stock", NULL, 0, &r);
	if (rc != RC_OK || ctl_print_json(c, r))
		return rc;
	print_levels(ctl_get_array(r->obj, "levels"), false);
	print_printers(ctl_get_array(r->obj, "printers"));
	print_alert_lines(ctl_get_array(r->obj, "alerts"));
	return RC_OK;
}

int
cmd_stock_forecast(struct ctx *c)
{
	g_autoptr(ClientReply) r = NULL;
	int rc = ctl_call(c, "GET", "/v1/stock/forecast", NULL, 0, &r);
	if (rc != RC_OK || ctl_print_json(c, r))
		return rc;
	g_autofree char *days = ctl_get_text(r->obj, "days");
	printf("use per day over the last %s days, recent days weighing more\n", days);
	print_levels(ctl_get_array(r->obj, "levels"), true);
	return RC_OK;
}

int
cmd_stock_items(struct ctx *c)
{
	g_autoptr(ClientReply) r = NULL;
	JsonArray *list;
	int rc = ctl_get_list(c, "/v1/stock/items", "items", &r, &list);
	if (rc != RC_OK || !list)
		return rc;
	g_autoptr(OutTable) t = out_table_new("ITEM", "LABEL", "KIND", "UNIT", "PRINTS", "PACK",
					      "PRICE (RP)", "LOW", "CRITICAL", NULL);
	for (guint i = 0; i < json_array_get_length(list); i++) {
		JsonObject *it = ctl_array_obj(list, i);
		g_autofree char *name = ctl_get_text(it, "name");
		g_autofree char *label = ctl_get_text(it, "label");
		g_autofree char *kind = ctl_get_text(it, "kind");
		g_autofree char *unit = ctl_get_text(it, "unit");
		/* Prints per roll only mean something for ribbon and film. */
		bool rolls = g_strcmp0(kind, "ribbon") == 0 || g_strcmp0(kind, "film") == 0;
		g_autofree char *prints = rolls ? ctl_get_text(it, "prints") : NULL;
		g_autofree char *pack = ctl_get_text(it, "pack_size");
		gint64 price = 0;
		g_autofree char *price_text = ctl_get_int(it, "unit_price", &price) ? grouped(price)
										  : NULL;
		g_autofree char *low = ctl_get_text(it, "low");
		g_autofree char *critical = ctl_get_text(it, "critical");
		out_table_add_row(t, (const char *const[]){ name, label, kind, unit, prints, pack,
							    price_text, low, critical });
	}
	if (out_table_rows(t) == 0)
		printf("the catalogue is empty\n");
	else
		out_table_print(t);
	return RC_OK;
}

/* "lot L7, from PT Kartu, serials 100-599, jam, card 42" for movement M. Caller frees. */
static char *
movement_note(JsonObject *m)
{
	g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func(g_free);
	const char *lot = ctl_get_str(m, "lot"), *supplier = ctl_get_str(m, "supplier");
	const char *first = ctl_get_str(m, "serial_first"), *last = ctl_get_str(m, "serial_last");
	const char *printer = ctl_get_str(m, "printer");
	gint64 card = 0;
	if (lot)
		g_ptr_array_add(parts, g_strdup_printf("lot %s", lot));
	if (supplier)
		g_ptr_array_add(parts, g_strdup_printf("from %s", supplier));
	if (first || last)
		g_ptr_array_add(parts, g_strdup_printf("serials %s-%s", first ? first : "?",
						       last ? last : "?"));
	if (ctl_get_str(m, "cause"))
		g_ptr_array_add(parts, g_strdup(ctl_get_str(m, "cause")));
	if (ctl_get_str(m, "reason"))
		g_ptr_array_add(parts, g_strdup(ctl_get_str(m, "reason")));
	if (printer && g_strcmp0(printer, ctl_get_str(m, "location")) != 0)
		g_ptr_array_add(parts, g_strdup_printf("printer %s", printer));
	if (ctl_get_int(m, "card", &card))
		g_ptr_array_add(parts, g_strdup_printf("card %" G_GINT64_FORMAT, card));
	if (parts->len == 0)
		return NULL;
	g_ptr_array_add(parts, NULL);
	return g_strjoinv(", ", (char **)parts->pdata);
}

int
cmd_stock_history(struct ctx *c)
{
	g_autoptr(GString) path = g_string_new("/v1/stock/history");
	const char *item = c->args[0];
	if (item)
		ctl_query_add(path, "item", item);
	int rc = ctl_query_number(c, path, "limit");
	if (rc != RC_OK)
		return rc;
	g_autoptr(ClientReply) r = NULL;
	JsonArray *list;
	rc = ctl_get_list(c, path->str, "movements", &r, &list);
	if (rc != RC_OK || !list)
		return rc;
	g_autoptr(OutTable) t =
		out_table_new("AT", "KIND", "ITEM", "LOCATION", "QTY", "BY", "NOTE", NULL);
	for (guint i = 0; i < json_array_get_length(list); i++) {
		JsonObject *m = ctl_array_obj(list, i);
		g_autofree char *at = out_local_time(ctl_get_str(m, "at"));
		g_autofree char *kind = ctl_get_text(m, "kind");
		g_autofree char *what = ctl_get_text(m, "item");
		g_autofree char *location = ctl_get_text(m, "location");
		gint64 qty = 0;
		g_autofree char *amount = ctl_get_int(m, "qty", &qty)
						  ? quantity_text(qty, ctl_get_str(m, "unit"))
						  : NULL;
		g_autofree char *by = ctl_get_text(m, "actor");
		g_autofree char *note = movement_note(m);
		out_table_add_row(t, (const char *const[]){ at, kind, what, location, amount, by,
							    note });
	}
	if (out_table_rows(t) > 0)
		out_table_print(t);
	else if (item)
		printf("no movements of %s\n", item);
	else
		printf("no movements yet\n");
	return RC_OK;
}

int
cmd_stock_alerts(struct ctx *c)
{
	g_autoptr(GString) path = g_string_new("/v1/stock/alerts");
	int rc = ctl_query_number(c, path, "limit");
	if (rc != RC_OK)
		return rc;
	g_autoptr(ClientReply) r = NULL;
	JsonArray *list;
	rc = ctl_get_list(c, path->str, "alerts", &r, &list);
	if (rc != RC_OK || !list)
		return rc;
	g_autoptr(OutTable) t = out_table_new("AT", "PRINTER", "ITEM", "WHAT", "LEDGER",
					      "PRINTER COUNT", "SOURCE", NULL);
	for (guint i = 0; i < json_array_get_length(list); i++) {
		JsonObject *a = ctl_array_obj(list, i);
		g_autofree char *at = out_local_time(ctl_get_str(a, "at"));
		g_autofree char *printer = ctl_get_text(a, "printer");
		g_autofree char *item = ctl_get_text(a, "item");
		g_autofree char *what = ctl_get_text(a, "what");
		g_autofree char *ledger = ctl_get_text(a, "ledger");
		g_autofree char *count = ctl_get_text(a, "printer_count");
		g_autofree char *source = ctl_get_text(a, "source");
		out_table_add_row(t, (const char *const[]){ at, printer, item, what, ledger, count,
							    source });
	}
	if (out_table_rows(t) == 0)
		printf("no alerts: the ledger agrees with the printers\n");
	else
		out_table_print(t);
	return RC_OK;
}

/* ---- movements ---- */

/* POSTs BODY to PATH; prints MESSAGE and the new movement's id (or the answer with --json). */
static int
post_movement(struct ctx *c, const char *path, JsonObject *body, const char *message)
{
	g_autoptr(ClientReply) r = NULL;
	int rc = ctl_call(c, "POST", path, body, 0, &r);
	if (rc != RC_OK || ctl_print_json(c, r))
		return rc;
	g_autofree char *id = ctl_get_text(r->obj, "id");
	printf("%s (movement %s)\n", message, id);
	return RC_OK;
}

static void
set_opt_string(struct ctx *c, JsonObject *body, const char *opt, const char *member)
{
	const char *value = ctl_opt(c, opt);
	if (value)
		json_object_set_string_member(body, member, value);
}

int
cmd_stock_receive(struct ctx *c)
{
	const char *item = c->args[0], *date = ctl_opt(c, "date");
	const char *serials = ctl_opt(c, "serials");
	gint64 qty;
	int rc = parse_whole(c, "QTY", c->args[1], &qty);
	if (rc != RC_OK)
		return rc;
	if (date && !ctl_is_date(date))
		return ctl_usage_error(c->cmd, "--date wants a date YYYY-MM-DD, not '%s'", date);
	g_autoptr(JsonObject) body = json_object_new();
	json_object_set_string_member(body, "item", item);
	json_object_set_int_member(body, "qty", qty);
	set_opt_string(c, body, "lot", "lot");
	set_opt_string(c, body, "supplier", "supplier");
	set_opt_string(c, body, "date", "date");
	if (serials) {
		const char *dash = strchr(serials, '-');
		if (!dash || dash == serials || !dash[1] || strchr(dash + 1, '-'))
			return ctl_usage_error(c->cmd,
					       "--serials wants FIRST-LAST (e.g. 0012001-0012500), "
					       "not '%s'", serials);
		g_autofree char *first = g_strndup(serials, (gsize)(dash - serials));
		json_object_set_string_member(body, "serial_first", first);
		json_object_set_string_member(body, "serial_last", dash + 1);
	}
	g_autofree char *message = g_strdup_printf("received %" G_GINT64_FORMAT " of %s into the "
						   "storeroom", qty, item);
	return post_movement(c, "/v1/stock/receive", body, message);
}

int
cmd_stock_load(struct ctx *c)
{
	const char *printer = c->args[0], *item = c->args[1];
	gint64 qty = 0;
	bool given;
	int rc = opt_whole(c, "qty", &qty, &given);
	if (rc != RC_OK)
		return rc;
	g_autoptr(JsonObject) body = json_object_new();
	json_object_set_string_member(body, "printer", printer);
	json_object_set_string_member(body, "item", item);
	if (given)
		json_object_set_int_member(body, "qty", qty);
	g_autofree char *message = g_strdup_printf("loaded %s into %s", item, printer);
	return post_movement(c, "/v1/stock/load", body, message);
}

int
cmd_stock_adjust(struct ctx *c)
{
	const char *item = c->args[0], *location = c->args[1];
	gint64 qty;
	int rc = parse_whole(c, "QTY", c->args[2], &qty);
	if (rc != RC_OK)
		return rc;
	g_autoptr(JsonObject) body = json_object_new();
	json_object_set_string_member(body, "item", item);
	json_object_set_string_member(body, "location", location);
	json_object_set_int_member(body, "qty", qty);
	json_object_set_string_member(body, "reason", ctl_opt(c, "reason"));
	g_autofree char *message = g_strdup_printf("adjusted %s at %s by %+" G_GINT64_FORMAT, item,
						   location, qty);
	return post_movement(c, "/v1/stock/adjust", body, message);
}

int
cmd_stock_spoil(struct ctx *c)
{
	const char *item = c->args[0], *location = c->args[1], *cause = ctl_opt(c, "cause");
	gint64 qty;
	int rc = parse_whole(c, "QTY", c->args[2], &qty);
	if (rc != RC_OK)
		return rc;
	g_autoptr(JsonObject) body = json_object_new();
	json_object_set_string_member(body, "item", item);
	json_object_set_string_member(body, "location", location);
	json_object_set_int_member(body, "qty", qty);
	json_object_set_string_member(body, "cause", cause);
	g_autofree char *message = g_strdup_printf("wrote off %" G_GINT64_FORMAT " of %s at %s: %s",
						   qty, item, location, cause);
	return post_movement(c, "/v1/stock/spoil", body, message);
}

/* ---- rations and cleaning ---- */

/* "50 cards a day (38 left today)" or "no daily quota", and the like per hour. */
static void
print_ration(JsonObject *p)
{
	g_autofree char *name = ctl_get_text(p, "printer");
	gint64 daily = 0, hourly = 0, left = 0;
	ctl_get_int(p, "daily_quota", &daily);
	ctl_get_int(p, "hourly_max", &hourly);
	g_autofree char *today = ctl_get_text(p, "today");
	g_autofree char *hour = ctl_get_text(p, "last_hour");
	g_autofree char *day_text =
		!daily ? g_strdup("no daily quota")
		: ctl_get_int(p, "left_today", &left)
			? g_strdup_printf("%" G_GINT64_FORMAT " cards a day (%" G_GINT64_FORMAT
					  " left today)", daily, left)
			: g_strdup_printf("%" G_GINT64_FORMAT " cards a day", daily);
	g_autofree char *hour_text = hourly ? g_strdup_printf("at most %" G_GINT64_FORMAT
							      " an hour", hourly)
					    : g_strdup("no hourly limit");
	printf("%s: %s, %s; %s cards today, %s in the last hour\n", name, day_text, hour_text,
	       today, hour);
}

/* Every printer's ration, from GET /v1/stock. */
static int
list_rations(struct ctx *c)
{
	g_autoptr(ClientReply) r = NULL;
	int rc = ctl_call(c, "GET", "/v1/stock", NULL, 0, &r);
	if (rc != RC_OK || ctl_print_json(c, r))
		return rc;
	JsonArray *printers = ctl_get_array(r->obj, "printers");
	g_autoptr(OutTable) t = out_table_new("PRINTER", "DAILY QUOTA", "HOURLY MAX", "TODAY",
					      "LAST HOUR", "LEFT TODAY", NULL);
	for (guint i = 0; printers && i < json_array_get_length(printers); i++) {
		JsonObject *p = ctl_array_obj(printers, i);
		gint64 daily = 0, hourly = 0;
		ctl_get_int(p, "daily_quota", &daily);
		ctl_get_int(p, "hourly_max", &hourly);
		g_autofree char *name = ctl_get_text(p, "printer");
		g_autofree char *daily_text = daily ? ctl_get_text(p, "daily_quota") : NULL;
		g_autofree char *hourly_text = hourly ? ctl_get_text(p, "hourly_max") : NULL;
		g_autofree char *today = ctl_get_text(p, "today");
		g_autofree char *hour = ctl_get_text(p, "last_hour");
		g_autofree char *left = ctl_get_text(p, "left_today");
		out_table_add_row(t, (const char *const[]){ name, daily_text ? daily_text : "none",
							    hourly_text ? hourly_text : "none",
							    today, hour, left });
	}
	if (out_table_rows(t) == 0)
		printf("no printers configured\n");
	else
		out_table_print(t);
	return RC_OK;
}

int
cmd_ration(struct ctx *c)
{
	const char *printer = c->args[0];
	gint64 daily = 0, hourly = 0;
	bool has_daily, has_hourly;
	int rc = opt_whole(c, "daily", &daily, &has_daily);
	if (rc == RC_OK)
		rc = opt_whole(c, "hourly", &hourly, &has_hourly);
	if (rc != RC_OK)
		return rc;
	if (!printer) {
		if (has_daily || has_hourly)
			return ctl_usage_error(c->cmd, "--daily and --hourly set a PRINTER's "
						       "ration: name the printer");
		return list_rations(c);
	}
	if (!has_daily || !has_hourly)
		return ctl_usage_error(c->cmd, "setting a ration takes both --daily and --hourly "
					       "(0 = none)");
	g_autoptr(JsonObject) body = json_object_new();
	json_object_set_string_member(body, "printer", printer);
	json_object_set_int_member(body, "daily", daily);
	json_object_set_int_member(body, "hourly", hourly);
	g_autoptr(ClientReply) r = NULL;
	rc = ctl_call(c, "POST", "/v1/stock/rations", body, 0, &r);
	if (rc != RC_OK || ctl_print_json(c, r))
		return rc;
	print_ration(r->obj);
	return RC_OK;
}

int
cmd_clean(struct ctx *c)
{
	const char *printer = c->args[0];
	g_autofree char *path = ctl_item_path("devices", printer, "clean");
	if (!path)
		return ctl_usage_error(c->cmd, "'%s' is not a printer name", printer);
	g_autoptr(JsonObject) body = json_object_new();
	g_autoptr(ClientReply) r = NULL;
	if (!c->json)
		fprintf(stderr, "cleaning %s...\n", printer);
	int rc = ctl_call(c, "POST", path, body, 0, &r);
	if (rc != RC_OK || ctl_print_json(c, r))
		return rc;
	/* The count since cleaning comes from the stock view; failing to read it does not make
	 * the cleaning fail. */
	g_autoptr(ClientReply) s = NULL;
	gint64 since = -1;
	if (ctl_call(c, "GET", "/v1/stock", NULL, CALL_QUIET, &s) == RC_OK) {
		JsonArray *printers = ctl_get_array(s->obj, "printers");
		for (guint i = 0; printers && i < json_array_get_length(printers); i++) {
			JsonObject *p = ctl_array_obj(printers, i);
			if (g_strcmp0(ctl_get_str(p, "printer"), printer) == 0)
				ctl_get_int(p, "since_clean", &since);
		}
	}
	if (since >= 0)
		printf("%s cleaned; cards since cleaning %" G_GINT64_FORMAT "\n", printer, since);
	else
		printf("%s cleaned\n", printer);
	return RC_OK;
}

/* ---- reports ---- */

/* Report cell N as text: a number as the daemon sent it (GROUP adds thousands
 * separators to integers), NULL for null. Caller frees. */
static char *
cell_text(JsonNode *n, bool group)
{
	if (!n || !JSON_NODE_HOLDS_VALUE(n))
		return NULL;
	GType type = json_node_get_value_type(n);
	if (type == G_TYPE_INT64)
		return group ? grouped(json_node_get_int(n))
			     : g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(n));
	if (type == G_TYPE_DOUBLE) {
		char buf[G_ASCII_DTOSTR_BUF_SIZE];
		/* Report figures carry two decimals; the JSON may show binary noise. */
		return g_strdup(g_ascii_formatd(buf, sizeof buf, "%.2f", json_node_get_double(n)));
	}
	if (type == G_TYPE_STRING)
		return g_strdup(json_node_get_string(n));
	return NULL;
}

/* TEXT as one CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
static void
csv_field(GString *line, const char *text)
{
	if (!text)
		return;
	if (!strpbrk(text, ",\"\r\n")) {
		g_string_append(line, text);
		return;
	}
	g_string_append_c(line, '"');
	for (const char *p = text; *p; p++) {
		if (*p == '"')
			g_string_append_c(line, '"');
		g_string_append_c(line, *p);
	}
	g_string_append_c(line, '"');
}

static void
print_report_csv(JsonArray *columns, JsonArray *rows)
{
	g_autoptr(GString) line = g_string_new(NULL);
	guint ncols = json_array_get_length(columns);
	for (guint k = 0; k < ncols; k++) {
		g_autofree char *name = cell_text(json_array_get_element(columns, k), false);
		if (k)
			g_string_append_c(line, ',');
		csv_field(line, name);
	}
	g_string_append(line, "\r\n");
	for (guint i = 0; rows && i < json_array_get_length(rows); i++) {
		JsonNode *rn = json_array_get_element(rows, i);
		JsonArray *row = JSON_NODE_HOLDS_ARRAY(rn) ? json_node_get_array(rn) : NULL;
		for (guint k = 0; k < ncols; k++) {
			JsonNode *n = row && k < json_array_get_length(row)
					      ? json_array_get_element(row, k)
					      : NULL;
			g_autofree char *text = cell_text(n, false);
			if (k)
				g_string_append_c(line, ',');
			csv_field(line, text);
		}
		g_string_append(line, "\r\n");
	}
	fwrite(line->str, 1, line->len, stdout);
}

/* Whether every cell of column K is a number or null: such a column is aligned right. */
static bool
numeric_column(JsonArray *rows, guint k)
{
	for (guint i = 0; rows && i < json_array_get_length(rows); i++) {
		JsonNode *rn = json_array_get_element(rows, i);
		JsonArray *row = JSON_NODE_HOLDS_ARRAY(rn) ? json_node_get_array(rn) : NULL;
		JsonNode *n = row && k < json_array_get_length(row) ? json_array_get_element(row, k)
								    : NULL;
		if (n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING)
			return false;
	}
	return true;
}

/* The title, then the columns aligned (numbers to the right). OutTable takes a fixed list of
 * headings, while a report's columns are the daemon's to choose, so this aligns its own. */
static void
print_report_table(const char *title, JsonArray *columns, JsonArray *rows)
{
	guint ncols = json_array_get_length(columns);
	guint nrows = rows ? json_array_get_length(rows) : 0;
	g_autoptr(GPtrArray) cells = g_ptr_array_new_with_free_func(g_free);
	g_autofree glong *width = g_new0(glong, ncols);
	g_autofree bool *right = g_new0(bool, ncols);
	for (guint k = 0; k < ncols; k++) {
		g_autofree char *name = cell_text(json_array_get_element(columns, k), false);
		char *heading = g_ascii_strup(name ? name : "-", -1);
		g_strdelimit(heading, "_", ' ');
		g_ptr_array_add(cells, heading);
		right[k] = nrows > 0 && numeric_column(rows, k);
	}
	for (guint i = 0; i < nrows; i++) {
		JsonNode *rn = json_array_get_element(rows, i);
		JsonArray *row = JSON_NODE_HOLDS_ARRAY(rn) ? json_node_get_array(rn) : NULL;
		for (guint k = 0; k < ncols; k++) {
			JsonNode *n = row && k < json_array_get_length(row)
					      ? json_array_get_element(row, k)
					      : NULL;
			char *text = cell_text(n, true);
			g_ptr_array_add(cells, text ? text : g_strdup("-"));
		}
	}
	for (guint i = 0; i < cells->len; i++) {
		char *s = cells->pdata[i];
		for (char *p = s; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		glong w = g_utf8_validate(s, -1, NULL) ? g_utf8_strlen(s, -1) : (glong)strlen(s);
		width[i % ncols] = MAX(width[i % ncols], w);
	}
	printf("%s\n\n", title ? title : "");
	for (guint i = 0; i < cells->len; i++) {
		const char *s = cells->pdata[i];
		guint k = i % ncols;
		glong w = g_utf8_validate(s, -1, NULL) ? g_utf8_strlen(s, -1) : (glong)strlen(s);
		int pad = (int)(width[k] - w);
		if (right[k])
			printf("%*s%s", pad, "", s);
		else
			fputs(s, stdout);
		if (k + 1 == ncols)
			putchar('\n');
		else
			printf("%*s", right[k] ? 2 : pad + 2, "");
	}
	if (nrows == 0)
		printf("(no rows)\n");
}

int
cmd_report(struct ctx *c)
{
	const char *kind = c->args[0], *format = ctl_opt(c, "format");
	if (!format)
		format = c->json ? "json" : "table";
	if (strcmp(format, "table") != 0 && strcmp(format, "csv") != 0 &&
	    strcmp(format, "json") != 0)
		return ctl_usage_error(c->cmd, "--format wants table, csv or json, not '%s'",
				       format);
	g_autofree char *base = ctl_item_path("reports", kind, NULL);
	if (!base)
		return ctl_usage_error(c->cmd, "'%s' is not a report", kind);
	g_autoptr(GString) path = g_string_new(base);
	int rc = ctl_query_date(c, path, "from");
	if (rc == RC_OK)
		rc = ctl_query_date(c, path, "to");
	if (rc == RC_OK)
		rc = ctl_query_number(c, path, "months");
	if (rc != RC_OK)
		return rc;
	g_autoptr(ClientReply) r = NULL;
	rc = ctl_call(c, "GET", path->str, NULL, 0, &r);
	if (rc != RC_OK)
		return rc;
	if (strcmp(format, "json") == 0) {
		out_json(r->root);
		return RC_OK;
	}
	JsonArray *columns = ctl_get_array(r->obj, "columns");
	JsonArray *rows = ctl_get_array(r->obj, "rows");
	if (!columns || json_array_get_length(columns) == 0) {
		out_error("ektpd's answer has no 'columns' list");
		return RC_FAIL;
	}
	if (strcmp(format, "csv") == 0)
		print_report_csv(columns, rows);
	else
		print_report_table(ctl_get_str(r->obj, "title"), columns, rows);
	return RC_OK;
}

int
cmd_report_stock(struct ctx *c)
{
	const char *file = ctl_opt(c, "chart");
	g_autoptr(GString) path = g_string_new("/v1/stock/chart");
	int rc = ctl_query_number(c, path, "days");
	if (rc != RC_OK)
		return rc;
	g_autoptr(ClientReply) r = NULL;
	rc = ctl_call(c, "GET", path->str, NULL, 0, &r);
	if (rc != RC_OK)
		return rc;
	const char *b64 = ctl_get_str(r->obj, "png_base64");
	gsize len = 0;
	g_autofree guint8 *png = b64 ? g_base64_decode(b64, &len) : NULL;
	if (len < sizeof png_signature || memcmp(png, png_signature, sizeof png_signature) != 0) {
		out_error("ektpd's answer holds no PNG image");
		return RC_FAIL;
	}
	/* A temporary file renamed over FILE: a reader never sees half a chart. */
	g_autoptr(GError) error = NULL;
	if (!g_file_set_contents_full(file, (const char *)png, (gssize)len,
				      G_FILE_SET_CONTENTS_CONSISTENT, 0644, &error))
		return ctl_fail(error);
	if (c->json) {
		g_autoptr(JsonNode) copy = json_node_copy(r->root);
		json_object_remove_member(json_node_get_object(copy), "png_base64");
		json_object_set_string_member(json_node_get_object(copy), "path", file);
		out_json(copy);
		return RC_OK;
	}
	g_autofree char *items = ctl_get_text(r->obj, "items");
	g_autofree char *days = ctl_get_text(r->obj, "days");
	printf("%s: chart of %s items over %s days (%" G_GSIZE_FORMAT " bytes)\n", file, items,
	       days, len);
	return RC_OK;
}
