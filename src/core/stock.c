/* SPDX-License-Identifier: MIT */
/* The consumables ledger, its checks on printing, forecasts and reports (see stock.h). */
#include "core/stock.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/chart.h"

G_DEFINE_QUARK(ektp-stock-error-quark, stock_error)

static const AuditActor daemon_actor = { "ektpd", "" };

static const char *const kind_names[] = { "card", "ribbon", "film", "cleaning" };
static const char *const default_units[] = { "card", "roll", "roll", "cleaning card" };

/* What a spoiled card or a movement may be charged to. */
static const char *const causes[] = { "chip failure", "misprint", "jam", "test card",
				      "power loss", "damaged", "other", NULL };

typedef struct {
	char *name;
	gboolean film; /* prints through a film or overlay roll the ledger counts */
	gboolean cleaning; /* a cleaning cycle runs */
} Printer;

struct Stock {
	const EktpConfig *cfg;
	Store *store;
	HalManager *hal;
	GPtrArray *items;    /* StockItem* */
	GPtrArray *printers; /* Printer* */
	GPtrArray *names;    /* char*, the printers' names */
};

const char *
stock_kind_name(StockKind kind)
{
	return kind_names[kind];
}

static gint64
now_s(void)
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

static void
item_free(StockItem *it)
{
	g_free(it->name);
	g_free(it->label);
	g_free(it->unit);
	g_free(it);
}

static void
printer_free(Printer *p)
{
	g_free(p->name);
	g_free(p);
}

/* ---- the catalogue ---- */

/* The built-in catalogue, used when the configuration names no [item].
 * Prices are placeholders for the office to set. */
static const struct {
	const char *name, *label;
	StockKind kind;
	gint64 prints, pack, price, low, critical;
} builtin[] = {
	{ "blank-card", "Blank PVC card with contactless chip", STOCK_CARD, 1, 100, 10000, 500,
	  200 },
	{ "ribbon-ymcko", "Colour ribbon YMCKO", STOCK_RIBBON, 200, 1, 1500000, 4, 2 },
	{ "film", "Retransfer film or overlay roll", STOCK_FILM, 500, 1, 900000, 2, 1 },
	{ "cleaning-card", "Cleaning card (kit of 5)", STOCK_CLEANING, 1, 5, 60000, 5, 2 },
};

static gboolean
fail_item(GError **error, const EktpConfig *cfg, const CfgDevice *sec, const CfgOption *o,
	  const char *fmt, ...) G_GNUC_PRINTF(5, 6);

static gboolean
fail_item(GError **error, const EktpConfig *cfg, const CfgDevice *sec, const CfgOption *o,
	  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, STOCK_ERROR, STOCK_ERROR_CONFIG, "%s:%d: [item %s] %s%s%s",
		    cfg->file ? cfg->file : "(defaults)", o ? o->line : sec->line, sec->name,
		    o ? o->key : "", o ? ": " : "", msg);
	return FALSE;
}

static gboolean
item_int(const EktpConfig *cfg, const CfgDevice *sec, const char *key, gint64 min, gint64 max,
	 gint64 *out, GError **error)
{
	const CfgOption *o = cfg_device_option(sec, key);
	if (!o)
		return TRUE;
	char *end;
	gint64 v = g_ascii_strtoll(o->value, &end, 10);
	if (!*o->value || *end || v < min || v > max)
		return fail_item(error, cfg, sec, o,
				 "'%s' is not a whole number from %" G_GINT64_FORMAT
				 " to %" G_GINT64_FORMAT,
				 o->value, min, max);
	*out = v;
	return TRUE;
}

static const char *const item_keys[] = { "label",     "kind",       "unit", "prints",
					  "pack_size", "unit_price", "low",  "critical",
					  "opening",   NULL };

static StockItem *
item_read(const EktpConfig *cfg, const CfgDevice *sec, GError **error)
{
	for (guint i = 0; i < sec->options->len; i++) {
		const CfgOption *o = sec->options->pdata[i];
		if (!g_strv_contains(item_keys, o->key)) {
			g_autofree char *all = g_strjoinv(", ", (char **)item_keys);
			fail_item(error, cfg, sec, o, "unknown key (an item takes %s)", all);
			return NULL;
		}
	}
	const CfgOption *kind = cfg_device_option(sec, "kind");
	if (!kind) {
		fail_item(error, cfg, sec, NULL,
			  "has no kind: give kind = card, ribbon, film or cleaning");
		return NULL;
	}
	int k = -1;
	for (int i = 0; i < (int)G_N_ELEMENTS(kind_names); i++)
		if (strcmp(kind->value, kind_names[i]) == 0)
			k = i;
	if (k < 0) {
		fail_item(error, cfg, sec, kind, "'%s' is not one of card, ribbon, film, cleaning",
			  kind->value);
		return NULL;
	}
	StockItem *it = g_new0(StockItem, 1);
	it->name = g_strdup(sec->name);
	it->kind = k;
	const CfgOption *label = cfg_device_option(sec, "label");
	const CfgOption *unit = cfg_device_option(sec, "unit");
	it->label = g_strdup(label ? label->value : sec->name);
	it->unit = g_strdup(unit && *unit->value ? unit->value : default_units[k]);
	it->prints = 1;
	it->pack_size = 1;
	gboolean rolls = k == STOCK_RIBBON || k == STOCK_FILM;
	if (rolls && !cfg_device_option(sec, "prints")) {
		fail_item(error, cfg, sec, NULL, "a %s needs prints (prints per roll)",
			  kind_names[k]);
		item_free(it);
		return NULL;
	}
	if (!item_int(cfg, sec, "prints", 1, rolls ? 100000 : 1, &it->prints, error) ||
	    !item_int(cfg, sec, "pack_size", 1, 100000, &it->pack_size, error) ||
	    !item_int(cfg, sec, "unit_price", 0, G_GINT64_CONSTANT(1000000000000), &it->unit_price,
		      error) ||
	    !item_int(cfg, sec, "low", 0, 100000000, &it->low, error) ||
	    !item_int(cfg, sec, "critical", 0, 100000000, &it->critical, error)) {
		item_free(it);
		return NULL;
	}
	if (it->critical > it->low) {
		fail_item(error, cfg, sec, cfg_device_option(sec, "critical"),
			  "%" G_GINT64_FORMAT " is above low (%" G_GINT64_FORMAT ")", it->critical,
			  it->low);
		item_free(it);
		return NULL;
	}
	return it;
}

const GPtrArray *
stock_items(Stock *sk)
{
	return sk->items;
}

const StockItem *
stock_item(Stock *sk, const char *name)
{
	for (guint i = 0; name && i < sk->items->len; i++) {
		const StockItem *it = sk->items->pdata[i];
		if (strcmp(it->name, name) == 0)
			return it;
	}
	return NULL;
}

const GPtrArray *
stock_printer_names(Stock *sk)
{
	return sk->names;
}

static Printer *
printer_find(Stock *sk, const char *name)
{
	for (guint i = 0; name && i < sk->printers->len; i++) {
		Printer *p = sk->printers->pdata[i];
		if (strcmp(p->name, name) == 0)
			return p;
	}
	return NULL;
}

const char *
stock_unit_at(const StockItem *item, const char *location)
{
	if (strcmp(location, STOCK_STOREROOM) != 0 &&
	    (item->kind == STOCK_RIBBON || item->kind == STOCK_FILM))
		return "print";
	return item->unit;
}

/* ---- small helpers ---- */

typedef int (*TxnFunc)(Stock *sk, void *data, GError **error);

/* FN's movements in one transaction, or none of them. */
static int
in_txn(Stock *sk, TxnFunc fn, void *data, GError **error)
{
	if (store_begin(sk->store, error) < 0)
		return -1;
	if (fn(sk, data, error) < 0 || store_commit(sk->store, error) < 0) {
		store_rollback(sk->store);
		return -1;
	}
	return 0;
}

static gint64
balance(Stock *sk, const char *item, const char *location)
{
	GError *e = NULL;
	gint64 q = store_stock_balance(sk->store, item, location, &e);
	if (q < 0) {
		g_warning("stock: %s at %s: %s", item, location, e->message);
		g_error_free(e);
		return 0;
	}
	return q;
}

/* The item of KIND in PRINTER with the most left (NULL: none left); *LEFT its count. */
static const StockItem *
loaded(Stock *sk, const char *printer, StockKind kind, gint64 *left)
{
	const StockItem *best = NULL;
	gint64 most = 0;
	for (guint i = 0; i < sk->items->len; i++) {
		const StockItem *it = sk->items->pdata[i];
		if (it->kind != kind)
			continue;
		gint64 q = balance(sk, it->name, printer);
		if (q > most) {
			most = q;
			best = it;
		}
	}
	if (left)
		*left = most;
	return best;
}

/* The first catalogue item of KIND, or NULL. */
static const StockItem *
first_of(Stock *sk, StockKind kind)
{
	for (guint i = 0; i < sk->items->len; i++) {
		const StockItem *it = sk->items->pdata[i];
		if (it->kind == kind)
			return it;
	}
	return NULL;
}

static gboolean
location_valid(Stock *sk, const char *location)
{
	return strcmp(location, STOCK_STOREROOM) == 0 || printer_find(sk, location);
}

static const StockItem *
want_item(Stock *sk, const char *name, GError **error)
{
	const StockItem *it = stock_item(sk, name);
	if (!it) {
		GString *all = g_string_new(NULL);
		for (guint i = 0; i < sk->items->len; i++)
			g_string_append_printf(all, "%s%s", i ? ", " : "",
					       ((StockItem *)sk->items->pdata[i])->name);
		g_set_error(error, STOCK_ERROR, STOCK_ERROR_NOT_FOUND,
			    "item: no item '%s' in the catalogue (items: %s)", name ? name : "",
			    all->str);
		g_string_free(all, TRUE);
	}
	return it;
}

static gboolean
want_location(Stock *sk, const char *location, GError **error)
{
	if (location && location_valid(sk, location))
		return TRUE;
	GString *all = g_string_new(STOCK_STOREROOM);
	for (guint i = 0; i < sk->names->len; i++)
		g_string_append_printf(all, ", %s", (char *)sk->names->pdata[i]);
	g_set_error(error, STOCK_ERROR, STOCK_ERROR_NOT_FOUND,
		    "location: no location '%s' (locations: %s)", location ? location : "", all->str);
	g_string_free(all, TRUE);
	return FALSE;
}

static gboolean
want_qty(Stock *sk, const char *field, gint64 qty, gboolean signed_ok, GError **error)
{
	gint64 max = sk->cfg->stock_max_quantity;
	if (qty == 0 || (!signed_ok && qty < 0)) {
		g_set_error(error, STOCK_ERROR, STOCK_ERROR_INVALID, "%s: %" G_GINT64_FORMAT
			    " is not allowed: a quantity must be %s", field, qty,
			    signed_ok ? "a whole number other than 0" : "1 or more");
		return FALSE;
	}
	if (qty > max || qty < -max) {
		g_set_error(error, STOCK_ERROR, STOCK_ERROR_INVALID,
			    "%s: %" G_GINT64_FORMAT " is more than one movement may carry (%"
			    G_GINT64_FORMAT ", [stock] max_quantity)",
			    field, qty, max);
		return FALSE;
	}
	return TRUE;
}

static gboolean
want_text(const char *field, const char *v, gboolean required, gsize max, GError **error)
{
	gboolean blank = TRUE;
	for (const char *c = v; c && *c && blank; c++)
		blank = g_ascii_isspace(*c);
	if (required && blank) {
		g_set_error(error, STOCK_ERROR, STOCK_ERROR_INVALID, "%s: required", field);
		return FALSE;
	}
	if (v && (strlen(v) > max || !g_utf8_validate(v, -1, NULL))) {
		g_set_error(error, STOCK_ERROR, STOCK_ERROR_INVALID,
			    "%s: at most %" G_GSIZE_FORMAT " bytes of text", field, max);
		return FALSE;
	}
	return TRUE;
}

/* Appends one movement and audits it as ACTION; returns its id or -1. */
static gint64
add_move(Stock *sk, const AuditActor *who, const StoreStockMove *m, const char *action,
	 GError **error)
{
	gint64 id = store_stock_add(sk->store, m, error);
	if (id < 0)
		return -1;
	if (action) {
		g_autofree char *qty = g_strdup_printf("%" G_GINT64_FORMAT, m->qty);
		g_autofree char *detail =
			audit_detail("item", m->item, "location", m->location, "qty", qty, "lot",
				     m->lot ? m->lot : "", "cause", m->cause ? m->cause : "",
				     "reason", m->reason ? m->reason : "", "printer",
				     m->printer ? m->printer : "", NULL);
		g_autofree char *target = g_strdup_printf("%" G_GINT64_FORMAT, id);
		if (audit_append(sk->store, who, action, target, "ok", detail, m->at, error) < 0)
			return -1;
	}
	return id;
}

/* "Not enough": the balance of ITEM at LOCATION is below WANT. */
static gboolean
short_of(Stock *sk, const StockItem *it, const char *location, gint64 want, GError **error)
{
	gint64 have = balance(sk, it->name, location);
	if (have >= want)
		return FALSE;
	g_set_error(error, STOCK_ERROR, STOCK_ERROR_SHORT,
		    "qty: %s holds %" G_GINT64_FORMAT " %s of %s, not %" G_GINT64_FORMAT, location,
		    have, stock_unit_at(it, location), it->name, want);
	return TRUE;
}

/* ---- opening stock ---- */

typedef struct {
	const StockItem *item;
	const CfgDevice *sec;
	const CfgOption *opt;
} Opening;

/* "[item X] opening = storeroom:20, printers:500, printer1:100" as movements. */
static int
opening_txn(Stock *sk, void *data, GError **error)
{
	const Opening *o = data;
	g_auto(GStrv) parts = g_strsplit(o->opt->value, ",", -1);
	g_autofree char *reason = g_strdup_printf("opening stock ([item %s] opening)", o->item->name);
	for (int i = 0; parts[i]; i++) {
		char *part = g_strstrip(parts[i]);
		if (!*part)
			continue;
		char *colon = strchr(part, ':');
		char *end = NULL;
		gint64 qty = colon ? g_ascii_strtoll(colon + 1, &end, 10) : -1;
		if (colon)
			*colon = '\0';
		gboolean every = colon && strcmp(part, "printers") == 0;
		if (!colon || !end || *end || qty < 0 || qty > sk->cfg->stock_max_quantity ||
		    (!every && !location_valid(sk, part)) ||
		    (o->item->kind == STOCK_CLEANING && strcmp(part, STOCK_STOREROOM) != 0)) {
			fail_item(error, sk->cfg, o->sec, o->opt,
				  "'%s' is not LOCATION:QUANTITY (LOCATION storeroom, printers or "
				  "a printer; cleaning cards only in the storeroom)",
				  parts[i]);
			return -1;
		}
		for (guint p = 0; p < (every ? sk->names->len : 1); p++) {
			StoreStockMove m = { .at = now_s(),
					     .kind = "adjust",
					     .item = o->item->name,
					     .location = every ? sk->names->pdata[p] : part,
					     .qty = qty,
					     .reason = reason,
					     .actor = "ektpd" };
			if (qty > 0 && add_move(sk, &daemon_actor, &m, "stock.adjust", error) < 0)
				return -1;
		}
	}
	return 0;
}

/* The catalogue's items into ITEMS (StockItem*), checked. */
static gboolean
read_items(const EktpConfig *cfg, GPtrArray *items, GError **error)
{
	if (cfg->items->len > STOCK_ITEMS_MAX) {
		const CfgDevice *extra = cfg->items->pdata[STOCK_ITEMS_MAX];
		return fail_item(error, cfg, extra, NULL, "the catalogue holds at most %d items",
				 STOCK_ITEMS_MAX);
	}
	for (guint i = 0; i < cfg->items->len; i++) {
		StockItem *it = item_read(cfg, cfg->items->pdata[i], error);
		if (!it)
			return FALSE;
		g_ptr_array_add(items, it);
	}
	return TRUE;
}

gboolean
stock_config_check(const EktpConfig *cfg, GError **error)
{
	g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func((GDestroyNotify)item_free);
	return read_items(cfg, items, error);
}

Stock *
stock_new(const EktpConfig *cfg, Store *store, HalManager *hal, GError **error)
{
	Stock *sk = g_new0(Stock, 1);
	sk->cfg = cfg;
	sk->store = store;
	sk->hal = hal;
	sk->items = g_ptr_array_new_with_free_func((GDestroyNotify)item_free);
	sk->printers = g_ptr_array_new_with_free_func((GDestroyNotify)printer_free);
	sk->names = g_ptr_array_new();
	if (!read_items(cfg, sk->items, error)) {
		stock_free(sk);
		return NULL;
	}
	if (cfg->items->len == 0) {
		for (size_t i = 0; i < G_N_ELEMENTS(builtin); i++) {
			StockItem *it = g_new0(StockItem, 1);
			it->name = g_strdup(builtin[i].name);
			it->label = g_strdup(builtin[i].label);
			it->kind = builtin[i].kind;
			it->unit = g_strdup(default_units[it->kind]);
			it->prints = builtin[i].prints;
			it->pack_size = builtin[i].pack;
			it->unit_price = builtin[i].price;
			it->low = builtin[i].low;
			it->critical = builtin[i].critical;
			g_ptr_array_add(sk->items, it);
		}
	}
	g_autoptr(GPtrArray) devices = hal_manager_list(hal);
	for (guint i = 0; i < devices->len; i++) {
		const HalInfo *info = devices->pdata[i];
		if (info->klass != HAL_CLASS_PRINTER)
			continue;
		Printer *p = g_new0(Printer, 1);
		p->name = g_strdup(info->name);
		for (guint d = 0; d < cfg->devices->len; d++) {
			const CfgDevice *dev = cfg->devices->pdata[d];
			const CfgOption *film = strcmp(dev->name, p->name) == 0
							? cfg_device_option(dev, "film")
							: NULL;
			if (film)
				p->film = strcmp(film->value, "true") == 0;
		}
		g_ptr_array_add(sk->printers, p);
		g_ptr_array_add(sk->names, p->name);
	}
	for (guint i = 0; i < cfg->items->len; i++) {
		Opening o = { sk->items->pdata[i], cfg->items->pdata[i], NULL };
		o.opt = cfg_device_option(o.sec, "opening");
		if (!o.opt)
			continue;
		int known = store_stock_known(store, o.item->name, error);
		if (known < 0 || (known == 0 && in_txn(sk, opening_txn, &o, error) < 0)) {
			stock_free(sk);
			return NULL;
		}
	}
	return sk;
}

void
stock_free(Stock *sk)
{
	if (!sk)
		return;
	g_ptr_array_unref(sk->items);
	g_ptr_array_unref(sk->names);
	g_ptr_array_unref(sk->printers);
	g_free(sk);
}

/* ---- movements asked for by people ---- */

/* A load writes the roll out of the storeroom, what is left of each roll it
 * replaces (one per catalogue item at most) and the new roll in. */
#define MOVES_MAX (STOCK_ITEMS_MAX + 2)

typedef struct {
	const AuditActor *who;
	StoreStockMove m[MOVES_MAX];
	int n;
	const char *action;
	gint64 id;
} Moves;

static int
moves_txn(Stock *sk, void *data, GError **error)
{
	Moves *mv = data;
	for (int i = 0; i < mv->n; i++) {
		if (i > 0)
			mv->m[i].grp = mv->id;
		gint64 id = add_move(sk, mv->who, &mv->m[i], mv->action, error);
		if (id < 0)
			return -1;
		if (i == 0)
			mv->id = id;
	}
	return 0;
}

static gint64
run_moves(Stock *sk, Moves *mv, GError **error)
{
	GError *e = NULL;
	if (in_txn(sk, moves_txn, mv, &e) < 0) {
		if (g_error_matches(e, STORE_ERROR, STORE_ERROR_CONFLICT)) {
			/* Another movement came first and took what was there. */
			g_set_error(error, STOCK_ERROR, STOCK_ERROR_SHORT,
				    "qty: not that much on hand any more (%s)", e->message);
			g_error_free(e);
		} else {
			g_propagate_error(error, e);
		}
		return -1;
	}
	return mv->id;
}

static gboolean
date_valid(const char *text)
{
	int y, m, d;
	char tail;
	return sscanf(text, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3 && strlen(text) == 10 &&
	       g_date_valid_dmy(d, m, y);
}

gint64
stock_receive(Stock *sk, const AuditActor *who, const StockReceipt *r, GError **error)
{
	const StockItem *it = want_item(sk, r->item, error);
	if (it && r->location && strcmp(r->location, STOCK_STOREROOM) != 0) {
		g_set_error(error, STOCK_ERROR, STOCK_ERROR_INVALID,
			    "location: stock is received into the storeroom, not '%s'; a printer "
			    "is filled from there with `stock load`",
			    r->location);
		return -1;
	}
	if (!it || !want_qty(sk, "qty", r->qty, FALSE, error) ||
	    !want_text("lot", r->lot, FALSE, 64, error) ||
	    !want_text("supplier", r->supplier, FALSE, 200, error) ||
	    !want_text("serial_first", r->serial_first, FALSE, 64, error) ||
	    !want_text("serial_last", r->serial_last, FALSE, 64, error))
		return -1;
	if (r->received_on && *r->received_on && !date_valid(r->received_on)) {
		g_set_error(error, STOCK_ERROR, STOCK_ERROR_INVALID,
			    "date: '%s' is not a date YYYY-MM-DD", r->received_on);
		return -1;
	}
	gboolean first = r->serial_first && *r->serial_first;
	gboolean last = r->serial_last && *r->serial_last;
	if (first != last || ((first || last) && it->kind != STOCK_CARD)) {
		g_set_error(error, STOCK_ERROR, STOCK_ERROR_INVALID,
			    "serial_first, serial_last: a serial range is given whole, and only "
			    "for blank cards");
		return -1;
	}
	g_autoptr(GDateTime) now = g_date_time_new_now_local();
	g_autofree char *today = g_date_time_format(now, "%Y-%m-%d");
	Moves mv = { .who = who, .n = 1, .action = "stock.receive" };
	mv.m[0] = (StoreStockMove){ .at = now_s(),
				    .kind = "receive",
				    .item = it->name,
				    .location = STOCK_STOREROOM,
				    .qty = r->qty,
				    .lot = (char *)r->lot,
				    .supplier = (char *)r->supplier,
				    .serial_first = (char *)r->serial_first,
				    .serial_last = (char *)r->serial_last,
				    .received_on = r->received_on && *r->received_on
							   ? (char *)r->received_on
							   : today,
				    .actor = (char *)who->user };
	return run_moves(sk, &mv, error);
}

gint64
stock_load(Stock *sk, const AuditActor *who, const char *printer, const char *item,
	   gint64 qty, GError **error)
{
	const StockItem *it = want_item(sk, item, error);
	if (!it)
		return -1;
	Printer *p = printer_find(sk, printer);
	if (!p) {
		if (printer && strcmp(printer, STOCK_STOREROOM) == 0)
			g_set_error(error, STOCK_ERROR, STOCK_ERROR_INVALID,
				    "printer: the storeroom is not a printer; receive stock into "
				    "the storeroom with `stock receive`");
		else
			want_location(sk, printer, error);
		return -1;
	}
	gint64 at = now_s();
	Moves mv = { .who = who, .action = "stock.load" };
	StoreStockMove base = { .at = at, .kind = "load", .item = it->name,
				.actor = (char *)who->user };
	switch (it->kind) {
	case STOCK_CLEANING:
		g_set_error(error, STOCK_ERROR, STOCK_ERROR_INVALID,
			    "item: %s is used by `ektpctl clean %s`, not loaded", it->name, printer);
		return -1;
	case STOCK_FILM:
		if (!p->film) {
			g_set_error(error, STOCK_ERROR, STOCK_ERROR_INVALID,
				    "item: %s takes no film (set film = true in [device %s] if it "
				    "does)",
				    printer, printer);
			return -1;
		}
		/* fall through */
	case STOCK_RIBBON: {
		if (qty < 0 || qty > 1) {
			g_set_error(error, STOCK_ERROR, STOCK_ERROR_INVALID,
				    "qty: a printer takes one roll of %s at a time", it->name);
			return -1;
		}
		if (short_of(sk, it, STOCK_STOREROOM, 1, error))
			return -1;
		mv.m[mv.n] = base;
		mv.m[mv.n].location = STOCK_STOREROOM;
		mv.m[mv.n++].qty = -1;
		/* What is left of the roll it replaces (any item of that kind). */
		for (guint i = 0; i < sk->items->len; i++) {
			const StockItem *old = sk->items->pdata[i];
			gint64 left = old->kind == it->kind ? balance(sk, old->name, printer) : 0;
			if (left > 0) {
				mv.m[mv.n] = base;
				mv.m[mv.n].kind = "unload";
				mv.m[mv.n].item = old->name;
				mv.m[mv.n].location = p->name;
				mv.m[mv.n].reason = "the roll was replaced";
				mv.m[mv.n++].qty = -left;
			}
		}
		mv.m[mv.n] = base;
		mv.m[mv.n].location = p->name;
		mv.m[mv.n++].qty = it->prints;
		/* The first movement is the roll leaving the storeroom. */
		return run_moves(sk, &mv, error);
	}
	case STOCK_CARD: {
		gint64 in = 0;
		for (guint i = 0; i < sk->items->len; i++) {
			const StockItem *c = sk->items->pdata[i];
			if (c->kind == STOCK_CARD)
				in += balance(sk, c->name, printer);
		}
		gint64 room = sk->cfg->stock_hopper_capacity - in;
		if (qty == 0) {
			qty = MIN(room, balance(sk, it->name, STOCK_STOREROOM));
			if (qty <= 0) {
				g_set_error(error, STOCK_ERROR,
					    room <= 0 ? STOCK_ERROR_INVALID : STOCK_ERROR_SHORT,
					    room <= 0 ? "qty: %s's hopper is full (%" G_GINT64_FORMAT
							" cards, [stock] hopper_capacity)"
						      : "qty: the storeroom has no %s",
					    room <= 0 ? printer : it->name,
					    sk->cfg->stock_hopper_capacity);
				return -1;
			}
		} else if (!want_qty(sk, "qty", qty, FALSE, error)) {
			return -1;
		} else if (qty > room) {
			g_set_error(error, STOCK_ERROR, STOCK_ERROR_INVALID,
				    "qty: %s's hopper holds %" G_GINT64_FORMAT " cards and has %"
				    G_GINT64_FORMAT "; %" G_GINT64_FORMAT " more do not fit",
				    printer, sk->cfg->stock_hopper_capacity, in, qty);
			return -1;
		}
		if (short_of(sk, it, STOCK_STOREROOM, qty, error))
			return -1;
		mv.m[0] = base;
		mv.m[0].location = STOCK_STOREROOM;
		mv.m[0].qty = -qty;
		mv.m[1] = base;
		mv.m[1].location = p->name;
		mv.m[1].qty = qty;
		mv.n = 2;
		return run_moves(sk, &mv, error);
	}
	}
	g_assert_not_reached();
}

gint64
stock_adjust(Stock *sk, const AuditActor *who, const char *item, const char *location,
	     gint64 delta, const char *reason, GError **error)
{
	const StockItem *it = want_item(sk, item, error);
	if (!it || !want_location(sk, location, error) ||
	    !want_qty(sk, "qty", delta, TRUE, error) ||
	    !want_text("reason", reason, TRUE, 500, error))
		return -1;
	if (delta < 0 && short_of(sk, it, location, -delta, error))
		return -1;
	Moves mv = { .who = who, .n = 1, .action = "stock.adjust" };
	mv.m[0] = (StoreStockMove){ .at = now_s(),
				    .kind = "adjust",
				    .item = it->name,
				    .location = (char *)location,
				    .qty = delta,
				    .reason = (char *)reason,
				    .actor = (char *)who->user };
	return run_moves(sk, &mv, error);
}

gint64
stock_spoil(Stock *sk, const AuditActor *who, const char *item, const char *location,
	    gint64 qty, const char *cause, GError **error)
{
	const StockItem *it = want_item(sk, item, error);
	if (!it || !want_location(sk, location, error) || !want_qty(sk, "qty", qty, FALSE, error))
		return -1;
	if (!cause || !g_strv_contains(causes, cause)) {
		g_autofree char *all = g_strjoinv(", ", (char **)causes);
		g_set_error(error, STOCK_ERROR, STOCK_ERROR_INVALID, "cause: '%s' is not one of %s",
			    cause ? cause : "", all);
		return -1;
	}
	if (short_of(sk, it, location, qty, error))
		return -1;
	Moves mv = { .who = who, .n = 1, .action = "stock.spoil" };
	mv.m[0] = (StoreStockMove){ .at = now_s(),
				    .kind = "spoil",
				    .item = it->name,
				    .location = (char *)location,
				    .qty = -qty,
				    .cause = (char *)cause,
				    .actor = (char *)who->user };
	return run_moves(sk, &mv, error);
}

/* ---- the printing pipeline ---- */

static gint64
clean_threshold(Stock *sk, const char *printer)
{
	/* The printer's own threshold, or the office's when that is lower (or unknown). */
	HalInfo *info = hal_manager_get(sk->hal, printer);
	gint64 t = sk->cfg->stock_clean_threshold;
	if (info && info->clean_threshold > 0 && info->clean_threshold < t)
		t = info->clean_threshold;
	hal_info_free(info);
	return t;
}

/* Cards PRINTER took since its last cleaning, by the ledger. */
static gint64
since_clean(Stock *sk, const char *printer)
{
	GError *e = NULL;
	gint64 at;
	gint64 after = store_stock_last_clean(sk->store, printer, &at, &e);
	gint64 n = 0;
	for (guint i = 0; after >= 0 && i < sk->items->len; i++) {
		const StockItem *it = sk->items->pdata[i];
		gint64 used = it->kind == STOCK_CARD
				      ? store_stock_used_since(sk->store, it->name, printer, after, &e)
				      : 0;
		if (used < 0)
			break;
		n += used;
	}
	if (e) {
		g_warning("stock: %s: cards since cleaning: %s", printer, e->message);
		g_error_free(e);
	}
	/* A card picked before a cleaning and given back after it counts -1. */
	return MAX(n, 0);
}

/* The local midnight that began today, as unix seconds. */
static gint64
today_start(void)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_local();
	g_autoptr(GDateTime) midnight =
		g_date_time_new_local(g_date_time_get_year(now), g_date_time_get_month(now),
				      g_date_time_get_day_of_month(now), 0, 0, 0);
	return g_date_time_to_unix(midnight);
}

/* Cards PRINTER began today and in the last hour; its ration. */
static void
ration_use(Stock *sk, const char *printer, gint64 *daily, gint64 *hourly, gint64 *today,
	   gint64 *hour)
{
	GError *e = NULL;
	*daily = *hourly = 0;
	store_stock_ration_get(sk->store, printer, daily, hourly, &e);
	*today = store_print_started(sk->store, printer, today_start(), e ? NULL : &e);
	*hour = store_print_started(sk->store, printer, now_s() - 3600, e ? NULL : &e);
	if (e) {
		g_warning("stock: %s: ration: %s", printer, e->message);
		g_error_free(e);
	}
}

char *
stock_blocked(Stock *sk, const char *printer)
{
	const char *keyword;
	return stock_blocked_keyword(sk, printer, &keyword);
}

char *
stock_blocked_keyword(Stock *sk, const char *printer, const char **keyword)
{
	Printer *p = printer_find(sk, printer);
	*keyword = NULL;
	if (!p)
		return NULL;
	*keyword = "ektp-cleaning";
	if (p->cleaning)
		return g_strdup_printf("%s: cleaning cycle running", printer);
	const struct {
		StockKind kind;
		const char *what, *keyword;
	} need[] = { { STOCK_CARD, "no blank cards in the hopper", "media-empty" },
		     { STOCK_RIBBON, "no ribbon prints left", "marker-supply-empty" },
		     { STOCK_FILM, "no film prints left", "marker-supply-empty" } };
	for (size_t i = 0; i < G_N_ELEMENTS(need); i++) {
		if (need[i].kind == STOCK_FILM && !p->film)
			continue;
		if (loaded(sk, printer, need[i].kind, NULL))
			continue;
		*keyword = need[i].keyword;
		const StockItem *it = first_of(sk, need[i].kind);
		return g_strdup_printf("%s: %s (stock ledger); a supervisor loads some: ektpctl "
				       "stock load %s %s",
				       printer, need[i].what, printer,
				       it ? it->name : stock_kind_name(need[i].kind));
	}
	gint64 since = since_clean(sk, printer), threshold = clean_threshold(sk, printer);
	*keyword = "cleaning-required";
	if (since >= threshold)
		return g_strdup_printf("%s: cleaning due: %" G_GINT64_FORMAT
				       " cards since the last cleaning (threshold %" G_GINT64_FORMAT
				       "); a technician runs: ektpctl clean %s",
				       printer, since, threshold, printer);
	gint64 daily, hourly, today, hour;
	ration_use(sk, printer, &daily, &hourly, &today, &hour);
	*keyword = "ektp-ration-reached";
	if (daily > 0 && today >= daily)
		return g_strdup_printf("%s: daily quota used: %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
				       " cards today; printing goes on tomorrow",
				       printer, today, daily);
	if (hourly > 0 && hour >= hourly)
		return g_strdup_printf("%s: hourly limit reached: %" G_GINT64_FORMAT
				       " cards in the last hour (at most %" G_GINT64_FORMAT ")",
				       printer, hour, hourly);
	*keyword = NULL;
	return NULL;
}

/* One print of KIND's loaded item taken for CARD (nothing when the printer
 * uses none of that kind). */
static int
consume(Stock *sk, const char *printer, gint64 card, StockKind kind, GError **error)
{
	const StockItem *it = loaded(sk, printer, kind, NULL);
	if (!it) {
		g_set_error(error, STOCK_ERROR, STOCK_ERROR_SHORT,
			    "%s has no %s left by the stock ledger", printer,
			    kind == STOCK_CARD ? "blank card" : stock_kind_name(kind));
		return -1;
	}
	StoreStockMove m = { .at = now_s(),
			     .kind = "consume",
			     .item = it->name,
			     .location = (char *)printer,
			     .qty = -1,
			     .card = card,
			     .actor = "ektpd" };
	return store_stock_add(sk->store, &m, error) < 0 ? -1 : 0;
}

/* CARD's consumption of items of the kinds in MASK given back. */
static int
give_back(Stock *sk, const char *printer, gint64 card, guint mask, const char *reason,
	  GError **error)
{
	g_autoptr(GPtrArray) moves = store_stock_card_moves(sk->store, card, error);
	if (!moves)
		return -1;
	/* What the card still holds of each item: consumed minus given back. */
	g_autoptr(GHashTable) held = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; i < moves->len; i++) {
		const StoreStockMove *m = moves->pdata[i];
		const StockItem *it = stock_item(sk, m->item);
		if (!it || !(mask & (1u << it->kind)) || strcmp(m->location, printer) != 0)
			continue;
		gint64 n = GPOINTER_TO_SIZE(g_hash_table_lookup(held, it->name)) - m->qty;
		g_hash_table_insert(held, it->name, GSIZE_TO_POINTER(n));
	}
	GHashTableIter iter;
	gpointer key, value;
	g_hash_table_iter_init(&iter, held);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		gint64 n = (gint64)GPOINTER_TO_SIZE(value);
		StoreStockMove m = { .at = now_s(),
				     .kind = "return",
				     .item = key,
				     .location = (char *)printer,
				     .qty = n,
				     .card = card,
				     .reason = (char *)reason,
				     .actor = "ektpd" };
		if (n > 0 && store_stock_add(sk->store, &m, error) < 0)
			return -1;
	}
	return 0;
}

int
stock_card_phase(Stock *sk, const char *printer, gint64 card, const char *phase,
		 GError **error)
{
	Printer *p = printer_find(sk, printer);
	if (!p)
		return 0;
	if (strcmp(phase, "picked") == 0)
		return consume(sk, printer, card, STOCK_CARD, error);
	if (strcmp(phase, "printed") == 0)
		return consume(sk, printer, card, STOCK_RIBBON, error) < 0 ||
				       (p->film && consume(sk, printer, card, STOCK_FILM, error) < 0)
			       ? -1
			       : 0;
	if (strcmp(phase, "void") == 0 || strcmp(phase, "queued") == 0)
		return give_back(sk, printer, card, 1u << STOCK_CARD,
				 "the printer never took the card", error);
	return 0;
}

int
stock_card_unprinted(Stock *sk, const char *printer, gint64 card, GError **error)
{
	return give_back(sk, printer, card, (1u << STOCK_RIBBON) | (1u << STOCK_FILM),
			 "the printer's ribbon count shows the card was not printed", error);
}

gint64
stock_ribbon_left(Stock *sk, const char *printer)
{
	gint64 left = 0;
	const StockItem *it = NULL;
	for (guint i = 0; i < sk->items->len; i++) {
		const StockItem *r = sk->items->pdata[i];
		if (r->kind == STOCK_RIBBON && store_stock_known(sk->store, r->name, NULL) == 1) {
			it = r;
			left += balance(sk, r->name, printer);
		}
	}
	return it ? left : -1;
}

/* ---- cleaning ---- */

typedef struct {
	Stock *sk;
	AuditActor who;
	char *user, *role;
	Printer *p;
	const StockItem *kit;
	StockDone done;
	void *data;
} Cleaning;

static int
clean_txn(Stock *sk, void *data, GError **error)
{
	Cleaning *c = data;
	StoreStockMove m = { .at = now_s(),
			     .kind = "clean",
			     .item = c->kit->name,
			     .location = STOCK_STOREROOM,
			     .qty = -1,
			     .printer = c->p->name,
			     .actor = c->user };
	return add_move(sk, &c->who, &m, "stock.clean", error) < 0 ? -1 : 0;
}

static void
cleaned(GError *error, void *data)
{
	Cleaning *c = data;
	GError *e = NULL;
	c->p->cleaning = FALSE;
	if (error)
		g_set_error(&e, STOCK_ERROR, STOCK_ERROR_DEVICE, "%s: the cleaning cycle failed: %s",
			    c->p->name, error->message);
	else
		in_txn(c->sk, clean_txn, c, &e);
	c->done(e, c->data);
	g_clear_error(&e);
	g_free(c->user);
	g_free(c->role);
	g_free(c);
}

void
stock_clean(Stock *sk, const AuditActor *who, const char *printer, StockDone done, void *data)
{
	GError *e = NULL;
	Printer *p = printer_find(sk, printer);
	const StockItem *kit = NULL;
	for (guint i = 0; p && !kit && i < sk->items->len; i++) {
		const StockItem *it = sk->items->pdata[i];
		if (it->kind == STOCK_CLEANING && balance(sk, it->name, STOCK_STOREROOM) > 0)
			kit = it;
	}
	if (!p)
		g_set_error(&e, STOCK_ERROR, STOCK_ERROR_NOT_FOUND, "no printer '%s'", printer);
	else if (p->cleaning)
		g_set_error(&e, STOCK_ERROR, STOCK_ERROR_STATE, "%s is being cleaned already",
			    printer);
	else if (!kit)
		g_set_error(&e, STOCK_ERROR, STOCK_ERROR_SHORT,
			    "no cleaning card in the storeroom: receive a cleaning kit first "
			    "(ektpctl stock receive %s QTY)",
			    first_of(sk, STOCK_CLEANING) ? first_of(sk, STOCK_CLEANING)->name
							 : "ITEM");
	if (e) {
		done(e, data);
		g_error_free(e);
		return;
	}
	Cleaning *c = g_new0(Cleaning, 1);
	c->sk = sk;
	c->user = g_strdup(who->user);
	c->role = g_strdup(who->role);
	c->who = (AuditActor){ c->user, c->role };
	c->p = p;
	c->kit = kit;
	c->done = done;
	c->data = data;
	p->cleaning = TRUE;
	hal_manager_clean(sk->hal, printer, cleaned, c);
}

int
stock_ration_set(Stock *sk, const AuditActor *who, const char *printer, gint64 daily,
		 gint64 hourly, GError **error)
{
	if (!printer_find(sk, printer)) {
		g_set_error(error, STOCK_ERROR, STOCK_ERROR_NOT_FOUND, "printer: no printer '%s'",
			    printer ? printer : "");
		return -1;
	}
	if (daily < 0 || hourly < 0) {
		g_set_error(error, STOCK_ERROR, STOCK_ERROR_INVALID,
			    "%s: may not be negative (0 = no limit)", daily < 0 ? "daily" : "hourly");
		return -1;
	}
	gint64 now = now_s();
	g_autofree char *d = g_strdup_printf("%" G_GINT64_FORMAT, daily);
	g_autofree char *h = g_strdup_printf("%" G_GINT64_FORMAT, hourly);
	g_autofree char *detail = audit_detail("daily", d, "hourly", h, NULL);
	if (store_begin(sk->store, error) < 0)
		return -1;
	if (store_stock_ration_set(sk->store, printer, daily, hourly, who->user, now, error) < 0 ||
	    audit_append(sk->store, who, "stock.ration", printer, "ok", detail, now, error) < 0 ||
	    store_commit(sk->store, error) < 0) {
		store_rollback(sk->store);
		return -1;
	}
	return 0;
}

/* ---- reconciliation ---- */

typedef struct {
	Stock *sk;
	char *printer, *source;
	StockDone done;
	void *data;
	const HalInfo *info;
	int alerts;
} Reconcile;

static int
alert(Stock *sk, Reconcile *r, const char *item, const char *what, gint64 ledger, gint64 device,
      GError **error)
{
	StoreStockAlert a = { .at = now_s(),
			      .printer = r->printer,
			      .item = (char *)item,
			      .what = (char *)what,
			      .source = r->source,
			      .ledger = ledger,
			      .device = device };
	if (store_stock_alert_add(sk->store, &a, error) < 0)
		return -1;
	g_autofree char *l = g_strdup_printf("%" G_GINT64_FORMAT, ledger);
	g_autofree char *d = g_strdup_printf("%" G_GINT64_FORMAT, device);
	g_autofree char *detail = audit_detail("item", item, "what", what, "ledger", l, "printer",
					       d, "source", r->source, NULL);
	g_message("stock: %s %s: %s by the ledger %s, by the printer %s (%s)", r->printer, item,
		  what, l, d, r->source);
	r->alerts++;
	return audit_append(sk->store, &daemon_actor, "stock.discrepancy", r->printer, "ok", detail,
			    a.at, error);
}

static int
reconcile_txn(Stock *sk, void *data, GError **error)
{
	Reconcile *r = data;
	const HalInfo *info = r->info;
	gint64 counter = 0, mark_id = 0;
	int marked = store_stock_mark_get(sk->store, r->printer, &counter, &mark_id, error);
	gint64 last = store_stock_last_id(sk->store, error);
	if (marked < 0 || last < 0)
		return -1;
	if (marked && info->counter_total >= 0) {
		gint64 used = 0;
		for (guint i = 0; i < sk->items->len; i++) {
			const StockItem *it = sk->items->pdata[i];
			if (it->kind != STOCK_CARD)
				continue;
			gint64 u = store_stock_used_since(sk->store, it->name, r->printer, mark_id,
							  error);
			if (u < 0)
				return -1;
			used += u;
		}
		gint64 taken = info->counter_total - counter;
		const StockItem *card = first_of(sk, STOCK_CARD);
		if (used != taken &&
		    alert(sk, r, card ? card->name : "card", "cards taken since the last check",
			  used, taken, error) < 0)
			return -1;
	}
	gint64 left = stock_ribbon_left(sk, r->printer);
	const StockItem *ribbon = loaded(sk, r->printer, STOCK_RIBBON, NULL);
	if (!ribbon)
		ribbon = first_of(sk, STOCK_RIBBON);
	if (left >= 0 && info->supply_remaining >= 0 && left != info->supply_remaining &&
	    alert(sk, r, ribbon ? ribbon->name : "ribbon", "ribbon prints left", left,
		  info->supply_remaining, error) < 0)
		return -1;
	if (info->counter_total >= 0 &&
	    store_stock_mark_set(sk->store, r->printer, info->counter_total, last, now_s(), error) <
		    0)
		return -1;
	return 0;
}

static void
reconcile_status(const HalInfo *info, GError *error, void *data)
{
	Reconcile *r = data;
	GError *e = NULL;
	if (error || !info || info->state == HAL_STATE_ABSENT)
		g_set_error(&e, STOCK_ERROR, STOCK_ERROR_DEVICE,
			    "%s: not reconciled: the printer does not answer%s%s", r->printer,
			    error ? ": " : "", error ? error->message : "");
	else {
		r->info = info;
		in_txn(r->sk, reconcile_txn, r, &e);
	}
	if (e)
		g_message("stock: %s", e->message);
	if (r->done)
		r->done(e, r->data);
	g_clear_error(&e);
	g_free(r->printer);
	g_free(r->source);
	g_free(r);
}

void
stock_reconcile(Stock *sk, const char *printer, const char *source, StockDone done, void *data)
{
	Reconcile *r = g_new0(Reconcile, 1);
	r->sk = sk;
	r->printer = g_strdup(printer);
	r->source = g_strdup(source);
	r->done = done;
	r->data = data;
	hal_manager_refresh(sk->hal, printer, reconcile_status, r);
}

/* ---- views ---- */

void
stock_level_free(StockLevel *l)
{
	if (!l)
		return;
	g_free(l->location);
	g_free(l->runout);
	g_free(l);
}

void
stock_printer_view_free(StockPrinterView *v)
{
	if (!v)
		return;
	g_free(v->printer);
	g_free(v->ribbon);
	g_free(v->film);
	g_free(v->blocked);
	g_free(v);
}

double
stock_rate(const double *daily, int n)
{
	double sum = 0, weights = 0;
	for (int i = 0; i < n; i++) {
		double w = i + 1; /* the day n-1-i days ago weighs i + 1 */
		sum += w * daily[i];
		weights += w;
	}
	return weights > 0 ? sum / weights : 0;
}

/* Local day number (days since 1970-01-01 in local time) of unix time T. */
static gint64
local_day(gint64 t)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local(t);
	return (t + g_date_time_get_utc_offset(dt) / G_USEC_PER_SEC) / 86400;
}

static char *
day_text(gint64 day)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(day * 86400);
	return g_date_time_format(dt, "%Y-%m-%d");
}

/* What a movement takes out of use at its location, in that location's unit:
 * consumption, spoilage, cleaning and (from the storeroom) loads; a return
 * counts against.  Adjustments and unloads are not use. */
static gint64
use_of(const StoreStockMove *m)
{
	if (!strcmp(m->kind, "consume") || !strcmp(m->kind, "spoil") || !strcmp(m->kind, "clean") ||
	    !strcmp(m->kind, "return"))
		return -m->qty;
	if (!strcmp(m->kind, "load") && m->qty < 0)
		return -m->qty;
	return 0;
}

/* The same for the item's total, in storeroom units (loads are transfers). */
static double
total_use_of(const StockItem *it, const StoreStockMove *m)
{
	if (!strcmp(m->kind, "load"))
		return 0;
	double q = use_of(m);
	return strcmp(m->location, STOCK_STOREROOM) == 0 ? q : q / it->prints;
}

/* A place's use per day over the forecast window. */
typedef struct {
	double *daily; /* WINDOW days, oldest first */
} Use;

typedef struct {
	gint64 today;  /* local day */
	int window;    /* days counted */
	GHashTable *use; /* "ITEM\nLOCATION" → double[window] (location "all" for totals) */
} UseTable;

static void
use_table_clear(UseTable *u)
{
	if (u->use)
		g_hash_table_destroy(u->use);
}

static double *
use_slot(UseTable *u, const char *item, const char *location)
{
	g_autofree char *key = g_strdup_printf("%s\n%s", item, location);
	double *d = g_hash_table_lookup(u->use, key);
	if (!d) {
		d = g_new0(double, u->window);
		g_hash_table_insert(u->use, g_steal_pointer(&key), d);
	}
	return d;
}

static int
use_table(Stock *sk, UseTable *u, GError **error)
{
	gint64 now = now_s();
	u->today = local_day(now);
	u->use = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	gint64 first = store_stock_first_at(sk->store, error);
	if (first < 0)
		return -1;
	gint64 days = first ? u->today - local_day(first) + 1 : 1;
	u->window = (int)MIN(days, sk->cfg->stock_forecast_days);
	gint64 from = now - (gint64)(u->window + 1) * 86400;
	g_autoptr(GPtrArray) moves = store_stock_moves(sk->store, from, 0, error);
	if (!moves)
		return -1;
	for (guint i = 0; i < moves->len; i++) {
		const StoreStockMove *m = moves->pdata[i];
		const StockItem *it = stock_item(sk, m->item);
		gint64 ago = u->today - local_day(m->at);
		if (!it || ago < 0 || ago >= u->window)
			continue;
		int slot = u->window - 1 - (int)ago;
		use_slot(u, m->item, m->location)[slot] += use_of(m);
		use_slot(u, m->item, "all")[slot] += total_use_of(it, m);
	}
	return 0;
}

static double
use_rate(UseTable *u, const char *item, const char *location)
{
	return stock_rate(use_slot(u, item, location), u->window);
}

static StockLevel *
level_new(const StockItem *it, const char *location, gint64 on_hand, double rate,
	  gint64 today, const char *flag)
{
	StockLevel *l = g_new0(StockLevel, 1);
	l->item = it;
	l->location = g_strdup(location);
	l->on_hand = on_hand;
	l->unit = strcmp(location, "all") == 0 ? it->unit : stock_unit_at(it, location);
	l->flag = flag;
	l->rate = rate > 1e-9 ? rate : 0;
	l->days_left = l->rate > 0 ? on_hand / l->rate : -1;
	if (l->rate > 0)
		l->runout = day_text(today + (gint64)floor(l->days_left));
	return l;
}

/* Whether any printer uses IT's kind (film only on printers with film = true). */
static gboolean
in_use(Stock *sk, const StockItem *it)
{
	for (guint i = 0; it->kind == STOCK_FILM && i < sk->printers->len; i++)
		if (((Printer *)sk->printers->pdata[i])->film)
			return TRUE;
	return it->kind != STOCK_FILM;
}

/* The storeroom's or the total's flag; none for an item no printer uses. */
static const char *
flag_units(Stock *sk, const StockItem *it, gint64 q)
{
	if (!in_use(sk, it))
		return "";
	return q <= 0 ? "empty" : q <= it->critical ? "critical" : q <= it->low ? "low" : "";
}

/* Whether PRINTER's row for IT is shown: it uses that kind and the item is
 * there, was there, or is the kind's first item while none is there. */
static gboolean
printer_row(Stock *sk, Printer *p, const StockItem *it, GHashTable *bal)
{
	if (it->kind == STOCK_CLEANING || (it->kind == STOCK_FILM && !p->film))
		return FALSE;
	for (guint i = 0; i < sk->items->len; i++) {
		const StockItem *o = sk->items->pdata[i];
		g_autofree char *key = g_strdup_printf("%s\n%s", o->name, p->name);
		if (o->kind == it->kind && g_hash_table_contains(bal, key))
			return o == it;
	}
	return it == first_of(sk, it->kind);
}

GPtrArray *
stock_levels(Stock *sk, GError **error)
{
	g_autoptr(GHashTable) bal = store_stock_balances(sk->store, error);
	UseTable u = { 0 };
	if (!bal || use_table(sk, &u, error) < 0) {
		use_table_clear(&u);
		return NULL;
	}
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)stock_level_free);
	for (guint i = 0; i < sk->items->len; i++) {
		const StockItem *it = sk->items->pdata[i];
		g_autofree char *key = g_strdup_printf("%s\n%s", it->name, STOCK_STOREROOM);
		gint64 *q = g_hash_table_lookup(bal, key);
		gint64 on = q ? *q : 0;
		g_ptr_array_add(out, level_new(it, STOCK_STOREROOM, on,
					       use_rate(&u, it->name, STOCK_STOREROOM), u.today,
					       flag_units(sk, it, on)));
	}
	for (guint p = 0; p < sk->printers->len; p++) {
		Printer *pr = sk->printers->pdata[p];
		for (guint i = 0; i < sk->items->len; i++) {
			const StockItem *it = sk->items->pdata[i];
			if (!printer_row(sk, pr, it, bal))
				continue;
			g_autofree char *key = g_strdup_printf("%s\n%s", it->name, pr->name);
			gint64 *q = g_hash_table_lookup(bal, key);
			gint64 on = q ? *q : 0;
			const char *flag = on <= 0 ? "empty" : on <= sk->cfg->stock_printer_low ? "low"
												 : "";
			g_ptr_array_add(out, level_new(it, pr->name, on,
						       use_rate(&u, it->name, pr->name), u.today,
						       flag));
		}
	}
	for (guint i = 0; i < sk->items->len; i++) {
		const StockItem *it = sk->items->pdata[i];
		double total = 0;
		GHashTableIter iter;
		gpointer key, value;
		g_hash_table_iter_init(&iter, bal);
		while (g_hash_table_iter_next(&iter, &key, &value)) {
			const char *nl = strchr(key, '\n');
			if ((size_t)(nl - (char *)key) != strlen(it->name) ||
			    strncmp(key, it->name, nl - (char *)key) != 0)
				continue;
			gint64 q = *(gint64 *)value;
			total += strcmp(nl + 1, STOCK_STOREROOM) == 0 ? q : (double)q / it->prints;
		}
		gint64 on = (gint64)floor(total + 1e-9);
		g_ptr_array_add(out, level_new(it, "all", on, use_rate(&u, it->name, "all"), u.today,
					       flag_units(sk, it, on)));
	}
	use_table_clear(&u);
	return out;
}

GPtrArray *
stock_printers(Stock *sk, GError **error)
{
	(void)error;
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)stock_printer_view_free);
	for (guint i = 0; i < sk->printers->len; i++) {
		Printer *p = sk->printers->pdata[i];
		StockPrinterView *v = g_new0(StockPrinterView, 1);
		v->printer = g_strdup(p->name);
		ration_use(sk, p->name, &v->daily, &v->hourly, &v->today, &v->last_hour);
		v->left_today = v->daily > 0 ? MAX(0, v->daily - v->today) : -1;
		v->since_clean = since_clean(sk, p->name);
		v->clean_threshold = clean_threshold(sk, p->name);
		const StockItem *r = loaded(sk, p->name, STOCK_RIBBON, NULL);
		const StockItem *f = p->film ? loaded(sk, p->name, STOCK_FILM, NULL) : NULL;
		v->ribbon = r ? g_strdup(r->name) : NULL;
		v->film = f ? g_strdup(f->name) : NULL;
		v->blocked = stock_blocked(sk, p->name);
		g_ptr_array_add(out, v);
	}
	return out;
}

GPtrArray *
stock_history(Stock *sk, const char *item, int limit, GError **error)
{
	if (item && *item && !want_item(sk, item, error))
		return NULL;
	return store_stock_recent(sk->store, item, limit, error);
}

GPtrArray *
stock_alerts(Stock *sk, int limit, GError **error)
{
	return store_stock_alerts(sk->store, limit, error);
}

/* ---- reports ---- */

void
stock_report_free(StockReport *r)
{
	if (!r)
		return;
	g_free(r->title);
	g_ptr_array_unref(r->columns);
	g_array_unref(r->numeric);
	g_ptr_array_unref(r->rows);
	g_free(r);
}

static StockReport *
report_new(const char *title, const char *const *columns)
{
	StockReport *r = g_new0(StockReport, 1);
	r->title = g_strdup(title);
	r->columns = g_ptr_array_new_with_free_func(g_free);
	r->numeric = g_array_new(FALSE, FALSE, sizeof(gboolean));
	r->rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
	for (int i = 0; columns[i]; i++) {
		/* A leading '#' marks a number column. */
		gboolean num = columns[i][0] == '#';
		g_ptr_array_add(r->columns, g_strdup(columns[i] + num));
		g_array_append_val(r->numeric, num);
	}
	return r;
}

static GPtrArray *
report_row(StockReport *r)
{
	GPtrArray *row = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(r->rows, row);
	return row;
}

static void
cell_int(GPtrArray *row, gint64 v)
{
	g_ptr_array_add(row, g_strdup_printf("%" G_GINT64_FORMAT, v));
}

static void
cell_num(GPtrArray *row, double v)
{
	char buf[G_ASCII_DTOSTR_BUF_SIZE];
	g_ptr_array_add(row, g_strdup(g_ascii_formatd(buf, sizeof buf, "%.2f", v)));
}

const char *
stock_cause_category(const char *cause)
{
	if (!cause || !*cause)
		return "other";
	for (int i = 0; causes[i]; i++)
		if (strcmp(cause, causes[i]) == 0)
			return causes[i];
	if (g_str_has_prefix(cause, "encode:"))
		return "chip failure";
	if (strstr(cause, "jam"))
		return "jam";
	if (g_str_has_prefix(cause, "interrupted"))
		return "power loss";
	if (g_str_has_prefix(cause, "print:") || g_str_has_prefix(cause, "eject:"))
		return "misprint";
	return "other";
}

/* Parses "YYYY-MM-DD" as a local day number; -1 when it is not one. */
static gint64
parse_day(const char *text)
{
	int y, m, d;
	if (!text || !date_valid(text) || sscanf(text, "%d-%d-%d", &y, &m, &d) != 3)
		return -1;
	GDate date;
	g_date_clear(&date, 1);
	g_date_set_dmy(&date, d, m, y);
	GDate epoch;
	g_date_clear(&epoch, 1);
	g_date_set_dmy(&epoch, 1, 1, 1970);
	return g_date_days_between(&epoch, &date);
}

/* Unix time of the local midnight beginning local day DAY. */
static gint64
day_start(gint64 day)
{
	g_autofree char *text = day_text(day);
	int y, m, d;
	sscanf(text, "%d-%d-%d", &y, &m, &d);
	g_autoptr(GDateTime) dt = g_date_time_new_local(y, m, d, 0, 0, 0);
	return g_date_time_to_unix(dt);
}

/* What a period's row sums. */
typedef struct {
	gint64 printed, spoiled, cards, ribbon, film, cleanings;
} Tally;

static Tally *
tally_of(GHashTable *t, const char *period, const char *printer)
{
	g_autofree char *key = g_strdup_printf("%s\n%s", period, printer);
	Tally *x = g_hash_table_lookup(t, key);
	if (!x) {
		x = g_new0(Tally, 1);
		g_hash_table_insert(t, g_steal_pointer(&key), x);
	}
	return x;
}

static gint
str_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Printed and spoiled cards and what was used, per period and printer. */
static StockReport *
activity_report(Stock *sk, gboolean monthly, gint64 from_day, gint64 to_day, GError **error)
{
	gint64 from = day_start(from_day), to = day_start(to_day + 1);
	g_autoptr(GPtrArray) cards = store_print_cards_finished(sk->store, from, to, error);
	g_autoptr(GPtrArray) moves = cards ? store_stock_moves(sk->store, from, to, error) : NULL;
	if (!moves)
		return NULL;
	const char *fmt = monthly ? "%Y-%m" : "%Y-%m-%d";
	g_autoptr(GHashTable) t = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	for (guint i = 0; i < cards->len; i++) {
		const StorePrintCard *c = cards->pdata[i];
		g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local(c->updated_at);
		g_autofree char *period = g_date_time_format(dt, fmt);
		Tally *x = tally_of(t, period, c->printer);
		if (strcmp(c->phase, "done") == 0)
			x->printed++;
		else
			x->spoiled++;
	}
	for (guint i = 0; i < moves->len; i++) {
		const StoreStockMove *m = moves->pdata[i];
		const StockItem *it = stock_item(sk, m->item);
		gboolean printer = strcmp(m->location, STOCK_STOREROOM) != 0;
		if (!it || (!printer && strcmp(m->kind, "clean") != 0))
			continue;
		g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local(m->at);
		g_autofree char *period = g_date_time_format(dt, fmt);
		Tally *x = tally_of(t, period, printer ? m->location : m->printer);
		gint64 used = use_of(m);
		switch (it->kind) {
		case STOCK_CARD:
			x->cards += used;
			break;
		case STOCK_RIBBON:
			x->ribbon += used;
			break;
		case STOCK_FILM:
			x->film += used;
			break;
		case STOCK_CLEANING:
			x->cleanings += used;
			break;
		}
	}
	static const char *const cols[] = { "period",        "printer",      "#printed",
					    "#spoiled",      "#blank_cards", "#ribbon_prints",
					    "#film_prints",  "#cleanings",   NULL };
	g_autofree char *a = day_text(from_day), *b = day_text(to_day);
	g_autofree char *title = g_strdup_printf("%s printing and consumables, %s to %s",
						 monthly ? "Monthly" : "Daily", a, b);
	StockReport *r = report_new(title, cols);
	g_autofree gpointer *keys = g_hash_table_get_keys_as_array(t, NULL);
	guint n = g_hash_table_size(t);
	qsort(keys, n, sizeof *keys, str_cmp);
	Tally sum = { 0 };
	for (guint i = 0; i < n; i++) {
		const Tally *x = g_hash_table_lookup(t, keys[i]);
		g_auto(GStrv) pp = g_strsplit(keys[i], "\n", 2);
		GPtrArray *row = report_row(r);
		g_ptr_array_add(row, g_strdup(pp[0]));
		g_ptr_array_add(row, g_strdup(pp[1]));
		const gint64 v[] = { x->printed, x->spoiled, x->cards, x->ribbon, x->film, x->cleanings };
		for (size_t k = 0; k < G_N_ELEMENTS(v); k++)
			cell_int(row, v[k]);
		sum.printed += x->printed;
		sum.spoiled += x->spoiled;
		sum.cards += x->cards;
		sum.ribbon += x->ribbon;
		sum.film += x->film;
		sum.cleanings += x->cleanings;
	}
	GPtrArray *row = report_row(r);
	g_ptr_array_add(row, g_strdup("total"));
	g_ptr_array_add(row, g_strdup(""));
	const gint64 v[] = { sum.printed, sum.spoiled, sum.cards, sum.ribbon, sum.film, sum.cleanings };
	for (size_t k = 0; k < G_N_ELEMENTS(v); k++)
		cell_int(row, v[k]);
	return r;
}

/* Spoiled cards and stock by cause: what they used and what it cost. */
static StockReport *
spoilage_report(Stock *sk, gint64 from_day, gint64 to_day, GError **error)
{
	gint64 from = day_start(from_day), to = day_start(to_day + 1);
	g_autoptr(GPtrArray) cards = store_print_cards_finished(sk->store, from, to, error);
	g_autoptr(GPtrArray) moves = cards ? store_stock_moves(sk->store, from, to, error) : NULL;
	if (!moves)
		return NULL;
	Tally t[G_N_ELEMENTS(causes)] = { { 0 } };
	double cost[G_N_ELEMENTS(causes)] = { 0 };
	/* Card id → its cause's index. */
	g_autoptr(GHashTable) spoiled = g_hash_table_new(g_int64_hash, g_int64_equal);
	for (guint i = 0; i < cards->len; i++) {
		StorePrintCard *c = cards->pdata[i];
		if (strcmp(c->phase, "spoiled") != 0)
			continue;
		const char *cat = stock_cause_category(c->cause);
		int k = 0;
		while (strcmp(causes[k], cat) != 0)
			k++;
		t[k].spoiled++;
		g_hash_table_insert(spoiled, &c->id, GINT_TO_POINTER(k + 1));
	}
	for (guint i = 0; i < moves->len; i++) {
		const StoreStockMove *m = moves->pdata[i];
		const StockItem *it = stock_item(sk, m->item);
		int k = -1;
		if (m->card && g_hash_table_contains(spoiled, &m->card))
			k = GPOINTER_TO_INT(g_hash_table_lookup(spoiled, &m->card)) - 1;
		else if (strcmp(m->kind, "spoil") == 0)
			for (k = 0; strcmp(causes[k], stock_cause_category(m->cause)) != 0; k++)
				;
		if (!it || k < 0)
			continue;
		gint64 used = use_of(m);
		gboolean store = strcmp(m->location, STOCK_STOREROOM) == 0;
		cost[k] += (double)used * it->unit_price / (store ? 1 : it->prints);
		if (it->kind == STOCK_CARD)
			t[k].cards += used;
		else if (it->kind == STOCK_RIBBON)
			t[k].ribbon += store ? used * it->prints : used;
		else if (it->kind == STOCK_FILM)
			t[k].film += store ? used * it->prints : used;
		else
			t[k].cleanings += used;
	}
	static const char *const cols[] = { "cause",         "#cards_spoiled", "#blank_cards",
					    "#ribbon_prints", "#film_prints",   "#cost_rupiah",
					    NULL };
	g_autofree char *a = day_text(from_day), *b = day_text(to_day);
	g_autofree char *title = g_strdup_printf("Spoilage by cause, %s to %s", a, b);
	StockReport *r = report_new(title, cols);
	Tally sum = { 0 };
	double total = 0;
	for (int k = 0; causes[k]; k++) {
		GPtrArray *row = report_row(r);
		g_ptr_array_add(row, g_strdup(causes[k]));
		cell_int(row, t[k].spoiled);
		cell_int(row, t[k].cards);
		cell_int(row, t[k].ribbon);
		cell_int(row, t[k].film);
		cell_int(row, (gint64)llround(cost[k]));
		sum.spoiled += t[k].spoiled;
		sum.cards += t[k].cards;
		sum.ribbon += t[k].ribbon;
		sum.film += t[k].film;
		total += cost[k];
	}
	GPtrArray *row = report_row(r);
	g_ptr_array_add(row, g_strdup("total"));
	cell_int(row, sum.spoiled);
	cell_int(row, sum.cards);
	cell_int(row, sum.ribbon);
	cell_int(row, sum.film);
	cell_int(row, (gint64)llround(total));
	return r;
}

/* What to buy to cover MONTHS months at the current rate and still hold the
 * low mark at the end, in packs and rupiah. */
static StockReport *
procurement_report(Stock *sk, int months, GError **error)
{
	g_autoptr(GPtrArray) levels = stock_levels(sk, error);
	if (!levels)
		return NULL;
	static const char *const cols[] = { "item",        "unit",         "#on_hand",
					    "#use_per_month", "#needed",    "#to_buy",
					    "#pack_size",  "#packs",       "#unit_price",
					    "#cost_rupiah", NULL };
	g_autofree char *title = g_strdup_printf(
		"Procurement: what to buy to cover %d month%s at the current rate (and keep the "
		"low mark)",
		months, months == 1 ? "" : "s");
	StockReport *r = report_new(title, cols);
	gint64 total = 0;
	for (guint i = 0; i < levels->len; i++) {
		const StockLevel *l = levels->pdata[i];
		if (strcmp(l->location, "all") != 0)
			continue;
		const StockItem *it = l->item;
		double per_month = l->rate * 30.0;
		/* An item no printer uses (film on direct-to-card printers) is not bought. */
		gint64 needed = in_use(sk, it) ? (gint64)ceil(per_month * months - 1e-9) + it->low : 0;
		gint64 buy = MAX(0, needed - l->on_hand);
		gint64 packs = (buy + it->pack_size - 1) / it->pack_size;
		gint64 cost = packs * it->pack_size * it->unit_price;
		total += cost;
		GPtrArray *row = report_row(r);
		g_ptr_array_add(row, g_strdup(it->name));
		g_ptr_array_add(row, g_strdup(it->unit));
		cell_int(row, l->on_hand);
		cell_num(row, per_month);
		cell_int(row, needed);
		cell_int(row, buy);
		cell_int(row, it->pack_size);
		cell_int(row, packs);
		cell_int(row, it->unit_price);
		cell_int(row, cost);
	}
	GPtrArray *row = report_row(r);
	g_ptr_array_add(row, g_strdup("total"));
	/* Only the cost adds up across items; the other cells stay empty. */
	for (int k = 0; k < 8; k++)
		g_ptr_array_add(row, g_strdup(""));
	cell_int(row, total);
	return r;
}

StockReport *
stock_report(Stock *sk, const char *kind, const char *from, const char *to, int months,
	     GError **error)
{
	gint64 today = local_day(now_s());
	gint64 f = from && *from ? parse_day(from) : -2, t = to && *to ? parse_day(to) : today;
	if (f == -1 || t == -1) {
		g_set_error(error, STOCK_ERROR, STOCK_ERROR_INVALID, "%s: '%s' is not a date YYYY-MM-DD",
			    f == -1 ? "from" : "to", f == -1 ? from : to);
		return NULL;
	}
	if (months < 1 || months > 60) {
		g_set_error(error, STOCK_ERROR, STOCK_ERROR_INVALID, "months: %d is not from 1 to 60",
			    months);
		return NULL;
	}
	gboolean monthly = g_strcmp0(kind, "monthly") == 0;
	if (f == -2)
		f = t - (monthly ? 365 : g_strcmp0(kind, "spoilage") == 0 ? 29 : 6);
	if (f > t || t - f > 3660) {
		g_set_error(error, STOCK_ERROR, STOCK_ERROR_INVALID,
			    "from, to: the period must run forwards and span at most ten years");
		return NULL;
	}
	if (g_strcmp0(kind, "daily") == 0 || monthly)
		return activity_report(sk, monthly, f, t, error);
	if (g_strcmp0(kind, "spoilage") == 0)
		return spoilage_report(sk, f, t, error);
	if (g_strcmp0(kind, "procurement") == 0)
		return procurement_report(sk, months, error);
	g_set_error(error, STOCK_ERROR, STOCK_ERROR_NOT_FOUND,
		    "no report '%s' (reports: daily, monthly, spoilage, procurement)",
		    kind ? kind : "");
	return NULL;
}

/* ---- the chart ---- */

GBytes *
stock_chart(Stock *sk, int days, GError **error)
{
	if (days < 1 || days > 3660) {
		g_set_error(error, STOCK_ERROR, STOCK_ERROR_INVALID, "days: %d is not from 1 to 3660",
			    days);
		return NULL;
	}
	g_autoptr(GPtrArray) levels = stock_levels(sk, error);
	gint64 today = local_day(now_s());
	g_autoptr(GPtrArray) moves =
		levels ? store_stock_moves(sk->store, day_start(today - days + 1), 0, error) : NULL;
	if (!moves)
		return NULL;
	g_autoptr(GHashTable) bal = store_stock_balances(sk->store, error);
	if (!bal)
		return NULL;
	guint n = sk->items->len;
	g_autofree ChartSeries *series = g_new0(ChartSeries, n);
	g_autofree double *data = g_new0(double, (gsize)n * days);
	g_autoptr(GPtrArray) titles = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < n; i++) {
		const StockItem *it = sk->items->pdata[i];
		double rate = 0;
		for (guint k = 0; k < levels->len; k++) {
			const StockLevel *l = levels->pdata[k];
			if (l->item == it && strcmp(l->location, "all") == 0)
				rate = l->rate;
		}
		/* The exact total now (the level view rounds printers' prints down). */
		double level = 0;
		GHashTableIter iter;
		gpointer key, value;
		g_hash_table_iter_init(&iter, bal);
		while (g_hash_table_iter_next(&iter, &key, &value)) {
			g_auto(GStrv) kl = g_strsplit(key, "\n", 2);
			if (strcmp(kl[0], it->name) == 0)
				level += strcmp(kl[1], STOCK_STOREROOM) == 0
						 ? *(gint64 *)value
						 : (double)*(gint64 *)value / it->prints;
		}
		/* Walk back from now: the level at the end of each day. */
		double *lv = data + (gsize)i * days;
		guint m = moves->len;
		for (int d = days - 1; d >= 0; d--) {
			lv[d] = level;
			gint64 start = day_start(today - (days - 1 - d));
			while (m > 0) {
				const StoreStockMove *mv = moves->pdata[m - 1];
				if (mv->at < start)
					break;
				if (strcmp(mv->item, it->name) == 0)
					level -= strcmp(mv->location, STOCK_STOREROOM) == 0
							 ? mv->qty
							 : (double)mv->qty / it->prints;
				m--;
			}
		}
		char *title = g_strdup_printf("%s: %s", it->name, it->label);
		g_ptr_array_add(titles, title);
		series[i] = (ChartSeries){ .title = title,
					   .unit = it->unit,
					   .n = days,
					   .level = lv,
					   .rate = rate,
					   .low = (double)it->low,
					   .critical = (double)it->critical };
	}
	return chart_png(series, n, today - days + 1, MAX(14, days / 2), error);
}
