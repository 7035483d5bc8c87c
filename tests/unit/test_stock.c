/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the consumables ledger (core/stock.c over store/stock.c), on
 * a temporary database and simulated printers.  Random sequences of movements
 * and pipeline phase changes (fixed seeds) are checked against a model after
 * every step: each balance is the sum of its movements and never negative, a
 * refused movement leaves no trace (no movement, no audit row), and the blanks
 * taken at the printers are the cards picked less those given back.  The
 * ledger refuses UPDATE, DELETE, REPLACE and a balance below zero even to
 * another program.  Forecasts against answers worked out by hand; every
 * refusal with its exact code and the field it names; roll loads and hopper
 * fills; why a printer is blocked; spoilage causes; and the reports.
 *
 * The cards the pipeline names must exist (stock_moves.card is a foreign key
 * to print_cards): each fixture writes N_CARDS queued cards of one record with
 * raw SQL, as another program would.
 */
#include <math.h>

#include "core/stock.h"
#include "testutil.h"

#define N_CARDS 2000

typedef struct {
	char *dir;
	char *db; /* dir/ektp.db */
	EktpConfig *cfg;
	Store *st;
	HalManager *hal;
	Stock *sk;
	const void *arg; /* the test's prestate */
} Fixture;

static const AuditActor sup = { "sup", "supervisor" };

/* Two printers (printer1 prints through film), a camera the ledger ignores,
 * two kinds of blank card and of ribbon, film and cleaning cards. */
static const char conf_main[] =
	"[daemon]\nstate_dir = @DIR@\n"
	"[stock]\nhopper_capacity = 20\nclean_threshold = 3\nprinter_low = 10\n"
	"max_quantity = 500\nforecast_days = 28\n"
	"[device printer1]\ndriver = sim-printer\nfilm = true\nclean_threshold = 3\n"
	"[device cam]\ndriver = sim-iris\n"
	"[device printer2]\ndriver = sim-printer\nclean_threshold = 3\n"
	"[item blank-card]\nkind = card\nlabel = Blank PVC card with chip\nunit = card\n"
	"pack_size = 100\nunit_price = 10000\nlow = 40\ncritical = 20\n"
	"opening = storeroom:200, printers:10, printer1:5\n"
	"[item spare-card]\nkind = card\npack_size = 50\nunit_price = 8000\nlow = 10\n"
	"critical = 5\n"
	"[item ribbon-ymcko]\nkind = ribbon\nprints = 6\nunit_price = 1500000\nlow = 2\n"
	"critical = 1\nopening = storeroom:3, printer1:4\n"
	"[item ribbon-k]\nkind = ribbon\nprints = 4\nunit_price = 500000\nlow = 1\n"
	"critical = 0\nopening = storeroom:2\n"
	"[item film]\nkind = film\nprints = 8\nunit_price = 900000\nlow = 1\ncritical = 1\n"
	"opening = storeroom:2\n"
	"[item cleaning-card]\nkind = cleaning\nunit = cleaning card\npack_size = 5\n"
	"unit_price = 60000\nlow = 2\ncritical = 1\nopening = storeroom:5\n";

/* Blank cards and a ribbon with no opening stock: the forecast test writes
 * the whole history itself. */
static const char conf_forecast[] =
	"[daemon]\nstate_dir = @DIR@\n"
	"[stock]\nprinter_low = 95\nforecast_days = 28\n"
	"[device printer1]\ndriver = sim-printer\n"
	"[device printer2]\ndriver = sim-printer\n"
	"[item blank-card]\nkind = card\npack_size = 100\nunit_price = 10000\nlow = 945\n"
	"critical = 850\n"
	"[item ribbon]\nkind = ribbon\nprints = 100\nunit_price = 1500000\nlow = 2\n"
	"critical = 1\n";

/* One committed enrollment and its record, a running batch, and N queued
 * cards with ids 1..N. */
static void
make_cards(const char *db, int n)
{
	g_autofree char *sql = g_strdup_printf(
		"INSERT INTO enrollments (id, state, nik, name, operator, demographics, warnings, "
		"reenroll, wrapped_key, created_at, updated_at) VALUES (1, 'committed', "
		"'6172010101900001', 'A', 'op', '{}', '[]', 0, x'00', 1, 1);"
		"INSERT INTO records (id, state, nik, name, village_code, demographics, warnings, "
		"needs_approval, operator, created_at, updated_at, wrapped_key) VALUES (1, "
		"'printing', '6172010101900001', 'A', '61.72.01.1001', '{}', '[]', '[]', 'op', 1, "
		"1, x'00');"
		"INSERT INTO print_batches (id, state, printer, created_by, created_at) VALUES (1, "
		"'running', '', 'op', 1);"
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
		"INSERT INTO print_cards (batch, record, seq, phase, updated_at) "
		"SELECT 1, 1, i, 'queued', 1 FROM n;",
		n);
	tu_sql_exec(db, sql);
}

static int
setup_with(void **state, const char *conf_text)
{
	Fixture *f = g_new0(Fixture, 1);
	GError *error = NULL;
	tu_quiet_logs();
	f->arg = *state;
	f->dir = tu_tmp_dir("stock");
	/* "@DIR@" in the configuration stands for the test's own folder. */
	g_auto(GStrv) parts = g_strsplit(conf_text, "@DIR@", -1);
	g_autofree char *text = g_strjoinv(f->dir, parts);
	g_autofree char *conf = tu_write_file(f->dir, "ektpd.conf", text);
	f->cfg = cfg_load(conf, NULL, &error);
	if (!f->cfg)
		fail_msg("cfg_load: %s", error->message);
	f->db = g_build_filename(f->dir, "ektp.db", NULL);
	f->st = tu_store_open(f->db);
	make_cards(f->db, N_CARDS);
	f->hal = hal_manager_new(f->cfg, NULL, NULL, &error);
	if (!f->hal)
		fail_msg("hal_manager_new: %s", error->message);
	f->sk = stock_new(f->cfg, f->st, f->hal, &error);
	if (!f->sk)
		fail_msg("stock_new: %s", error->message);
	*state = f;
	return 0;
}

static int
setup_main(void **state)
{
	return setup_with(state, conf_main);
}

static int
setup_forecast(void **state)
{
	return setup_with(state, conf_forecast);
}

static int
teardown(void **state)
{
	Fixture *f = *state;
	stock_free(f->sk);
	hal_manager_free(f->hal);
	store_close(f->st);
	cfg_free(f->cfg);
	tu_remove_dir(f->dir);
	g_free(f->db);
	g_free(f->dir);
	g_free(f);
	return 0;
}

/* ---- helpers ---- */

static gint64
n_moves(Fixture *f)
{
	GError *error = NULL;
	g_autoptr(GPtrArray) moves = store_stock_moves(f->st, 0, 0, &error);
	if (!moves)
		fail_msg("store_stock_moves: %s", error->message);
	return moves->len;
}

static gint64
n_audit(Fixture *f)
{
	GError *error = NULL;
	gint64 n = store_audit_count(f->st, &error);
	if (n < 0)
		fail_msg("store_audit_count: %s", error->message);
	return n;
}

static gint64
bal(Fixture *f, const char *item, const char *location)
{
	GError *error = NULL;
	gint64 q = store_stock_balance(f->st, item, location, &error);
	if (q < 0)
		fail_msg("store_stock_balance %s %s: %s", item, location, error->message);
	return q;
}

/* The newest movement (caller frees). */
static StoreStockMove *
last_move(Fixture *f, int back)
{
	GError *error = NULL;
	g_autoptr(GPtrArray) moves = store_stock_recent(f->st, NULL, back + 1, &error);
	if (!moves || (int)moves->len <= back)
		fail_msg("no movement %d back", back);
	return g_ptr_array_steal_index(moves, back);
}

/* Expects *ERROR to be STOCK_ERROR CODE with a message that begins by naming
 * FIELD ("qty: …"); clears it. */
static void
expect_error(GError **error, StockErrorCode code, const char *field)
{
	if (!*error)
		fail_msg("expected stock error %d naming %s: no error", code, field);
	if (!g_error_matches(*error, STOCK_ERROR, code))
		fail_msg("expected stock error %d naming %s, got %s %d: %s", code, field,
			 g_quark_to_string((*error)->domain), (*error)->code, (*error)->message);
	g_autofree char *prefix = g_strdup_printf("%s:", field);
	if (!g_str_has_prefix((*error)->message, prefix))
		fail_msg("the message does not begin with '%s': %s", prefix, (*error)->message);
	g_clear_error(error);
}

/* A refused call: RESULT -1, ERROR as expect_error() wants, and neither a
 * movement nor an audit row more than MOVES and AUDIT. */
static void
expect_refused(Fixture *f, gint64 result, GError **error, StockErrorCode code,
	       const char *field, gint64 moves, gint64 audit)
{
	assert_int_equal(result, -1);
	expect_error(error, code, field);
	assert_int_equal(n_moves(f), moves);
	assert_int_equal(n_audit(f), audit);
}

/* PHASE of CARD on PRINTER in its own transaction, as the pipeline does;
 * "unprinted" stands for stock_card_unprinted(). */
static int
phase_txn(Fixture *f, const char *printer, gint64 card, const char *phase, GError **error)
{
	if (store_begin(f->st, error) < 0)
		return -1;
	int rc = strcmp(phase, "unprinted") == 0
			 ? stock_card_unprinted(f->sk, printer, card, error)
			 : stock_card_phase(f->sk, printer, card, phase, error);
	if (rc < 0 || store_commit(f->st, error) < 0) {
		store_rollback(f->st);
		return -1;
	}
	return 0;
}

static void
phase_ok(Fixture *f, const char *printer, gint64 card, const char *phase)
{
	GError *error = NULL;
	if (phase_txn(f, printer, card, phase, &error) < 0)
		fail_msg("card %" G_GINT64_FORMAT " %s on %s: %s", card, phase, printer,
			 error->message);
}

/* S for a message, NULL shown as such. */
static const char *
show(const char *s)
{
	return s ? s : "(null)";
}

static gboolean
near(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

/* ---- 1. the ledger's invariants over random sequences ---- */

#define N_LOCS 3
#define MAX_ITEMS 8
#define OK (-1)
static const char *const locs[N_LOCS] = { "storeroom", "printer1", "printer2" };
static const char *const good_causes[] = { "chip failure", "misprint", "jam", "test card",
					   "power loss", "damaged", "other" };

typedef enum { C_NEW, C_PICKED, C_PRINTED, C_VOIDED, C_DEAD } CardState;

/* What a step does. */
enum Op { OP_RECEIVE, OP_LOAD, OP_ADJUST, OP_SPOIL, OP_PICK, OP_PHASE, N_OPS };

typedef struct {
	int loc;                   /* the printer (index into locs) */
	CardState state;
	int blank, ribbon, film;   /* the item the card holds of each, -1 none */
	gboolean unprinted;
} Card;

typedef struct {
	Fixture *f;
	GRand *rand;
	const GPtrArray *items;
	int n_items;
	gint64 bal[MAX_ITEMS][N_LOCS];
	gint64 next[MAX_ITEMS][N_LOCS]; /* what a step will leave when it succeeds */
	gboolean film[N_LOCS];
	gint64 max_qty, hopper;
	Card cards[N_CARDS + 1]; /* by card id */
	gint64 n_cards;
	gint64 picks, voids; /* blanks taken, blanks given back */
	gint64 moves, audit; /* expected counts */
	int new_moves;       /* the step's movements when it succeeds */
	gboolean pipeline;   /* the step is the pipeline's: no audit rows */
	Card card_next;      /* the step's card when it succeeds */
	int op;              /* the step's kind (enum Op) */
	int done[N_OPS], refused[N_OPS];
} Model;

static const StockItem *
m_item(Model *m, int i)
{
	return m->items->pdata[i];
}

static int
item_index(Model *m, const char *name)
{
	for (int i = 0; name && i < m->n_items; i++)
		if (strcmp(m_item(m, i)->name, name) == 0)
			return i;
	return -1;
}

static int
loc_index(const char *name)
{
	for (int l = 0; name && l < N_LOCS; l++)
		if (strcmp(locs[l], name) == 0)
			return l;
	return -1;
}

/* The item of KIND the printer at L holds most of (the first on a tie), -1 none. */
static int
most_loaded(Model *m, StockKind kind, int l)
{
	int best = -1;
	gint64 most = 0;
	for (int i = 0; i < m->n_items; i++)
		if (m_item(m, i)->kind == kind && m->next[i][l] > most) {
			most = m->next[i][l];
			best = i;
		}
	return best;
}

static gboolean
blank_text(const char *s)
{
	for (; s && *s; s++)
		if (!g_ascii_isspace(*s))
			return FALSE;
	return TRUE;
}

static gboolean
qty_ok(Model *m, gint64 q)
{
	return q >= 1 && q <= m->max_qty;
}

static int
want_receive(Model *m, const StockReceipt *r, gboolean date_ok)
{
	int i = item_index(m, r->item);
	if (i < 0)
		return STOCK_ERROR_NOT_FOUND;
	if ((r->location && strcmp(r->location, "storeroom") != 0) || !qty_ok(m, r->qty) ||
	    !date_ok)
		return STOCK_ERROR_INVALID;
	gboolean first = r->serial_first != NULL, last = r->serial_last != NULL;
	if (first != last || (first && m_item(m, i)->kind != STOCK_CARD))
		return STOCK_ERROR_INVALID;
	m->next[i][0] += r->qty;
	m->new_moves = 1;
	return OK;
}

static int
want_load(Model *m, const char *printer, const char *item, gint64 qty)
{
	int i = item_index(m, item);
	if (i < 0)
		return STOCK_ERROR_NOT_FOUND;
	int p = loc_index(printer);
	if (p == 0)
		return STOCK_ERROR_INVALID;
	if (p < 0)
		return STOCK_ERROR_NOT_FOUND;
	const StockItem *it = m_item(m, i);
	switch (it->kind) {
	case STOCK_CLEANING:
		return STOCK_ERROR_INVALID;
	case STOCK_FILM:
		if (!m->film[p])
			return STOCK_ERROR_INVALID;
		/* fall through */
	case STOCK_RIBBON:
		if (qty < 0 || qty > 1)
			return STOCK_ERROR_INVALID;
		if (m->next[i][0] < 1)
			return STOCK_ERROR_SHORT;
		m->next[i][0]--;
		m->new_moves = 2;
		/* What is left of every roll of that kind is written off. */
		for (int j = 0; j < m->n_items; j++)
			if (m_item(m, j)->kind == it->kind && m->next[j][p] > 0) {
				m->next[j][p] = 0;
				m->new_moves++;
			}
		m->next[i][p] = it->prints;
		return OK;
	case STOCK_CARD: {
		gint64 in = 0;
		for (int j = 0; j < m->n_items; j++)
			if (m_item(m, j)->kind == STOCK_CARD)
				in += m->next[j][p];
		gint64 room = m->hopper - in;
		if (qty == 0) {
			qty = MIN(room, m->next[i][0]);
			if (qty <= 0)
				return room <= 0 ? STOCK_ERROR_INVALID : STOCK_ERROR_SHORT;
		} else if (!qty_ok(m, qty) || qty > room) {
			return STOCK_ERROR_INVALID;
		}
		if (m->next[i][0] < qty)
			return STOCK_ERROR_SHORT;
		m->next[i][0] -= qty;
		m->next[i][p] += qty;
		m->new_moves = 2;
		return OK;
	}
	}
	return -2;
}

static int
want_adjust(Model *m, const char *item, const char *location, gint64 delta, const char *reason)
{
	int i = item_index(m, item), l = loc_index(location);
	if (i < 0 || l < 0)
		return STOCK_ERROR_NOT_FOUND;
	if (delta == 0 || delta > m->max_qty || delta < -m->max_qty || blank_text(reason))
		return STOCK_ERROR_INVALID;
	if (delta < 0 && m->next[i][l] < -delta)
		return STOCK_ERROR_SHORT;
	m->next[i][l] += delta;
	m->new_moves = 1;
	return OK;
}

static int
want_spoil(Model *m, const char *item, const char *location, gint64 qty, const char *cause)
{
	int i = item_index(m, item), l = loc_index(location);
	if (i < 0 || l < 0)
		return STOCK_ERROR_NOT_FOUND;
	gboolean known = FALSE;
	for (size_t k = 0; cause && k < G_N_ELEMENTS(good_causes); k++)
		known = known || strcmp(cause, good_causes[k]) == 0;
	if (!qty_ok(m, qty) || !known)
		return STOCK_ERROR_INVALID;
	if (m->next[i][l] < qty)
		return STOCK_ERROR_SHORT;
	m->next[i][l] -= qty;
	m->new_moves = 1;
	return OK;
}

/* PHASE of the model's card_next at its printer. */
static int
want_phase(Model *m, const char *phase)
{
	Card *c = &m->card_next;
	int p = c->loc;
	if (p < 0) /* a printer the ledger does not know: nothing */
		return OK;
	if (strcmp(phase, "picked") == 0) {
		int b = most_loaded(m, STOCK_CARD, p);
		if (b < 0)
			return STOCK_ERROR_SHORT;
		m->next[b][p]--;
		c->blank = b;
		c->state = C_PICKED;
		m->new_moves = 1;
	} else if (strcmp(phase, "printed") == 0) {
		int r = most_loaded(m, STOCK_RIBBON, p);
		int fl = m->film[p] ? most_loaded(m, STOCK_FILM, p) : -1;
		if (r < 0 || (m->film[p] && fl < 0))
			return STOCK_ERROR_SHORT;
		m->next[r][p]--;
		c->ribbon = r;
		m->new_moves = 1;
		if (fl >= 0) {
			m->next[fl][p]--;
			c->film = fl;
			m->new_moves++;
		}
		c->state = C_PRINTED;
	} else if (strcmp(phase, "void") == 0 || strcmp(phase, "queued") == 0) {
		if (c->blank >= 0) {
			m->next[c->blank][p]++;
			c->blank = -1;
			m->new_moves = 1;
		}
		c->state = C_VOIDED;
	} else if (strcmp(phase, "unprinted") == 0) {
		if (c->ribbon >= 0) {
			m->next[c->ribbon][p]++;
			c->ribbon = -1;
			m->new_moves++;
		}
		if (c->film >= 0) {
			m->next[c->film][p]++;
			c->film = -1;
			m->new_moves++;
		}
		c->unprinted = TRUE;
	}
	return OK;
}

/* Every balance against the model and against the sum of its movements;
 * none negative; the blanks consumed at printers. */
static void
check_ledger(Model *m, const char *what)
{
	Fixture *f = m->f;
	GError *error = NULL;
	g_autoptr(GHashTable) have = store_stock_balances(f->st, &error);
	g_autoptr(GPtrArray) moves = have ? store_stock_moves(f->st, 0, 0, &error) : NULL;
	if (!moves)
		fail_msg("%s: %s", what, error->message);
	if ((gint64)moves->len != m->moves)
		fail_msg("%s: %u movements, expected %" G_GINT64_FORMAT, what, moves->len,
			 m->moves);
	gint64 audit = n_audit(f);
	if (audit != m->audit)
		fail_msg("%s: %" G_GINT64_FORMAT " audit rows, expected %" G_GINT64_FORMAT, what,
			 audit, m->audit);
	g_autoptr(GHashTable) sum = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	gint64 blanks = 0;
	for (guint k = 0; k < moves->len; k++) {
		const StoreStockMove *mv = moves->pdata[k];
		char *key = g_strdup_printf("%s\n%s", mv->item, mv->location);
		gint64 *q = g_hash_table_lookup(sum, key);
		if (!q) {
			q = g_new0(gint64, 1);
			g_hash_table_insert(sum, key, q);
		} else {
			g_free(key);
		}
		*q += mv->qty;
		int i = item_index(m, mv->item);
		if (i >= 0 && m_item(m, i)->kind == STOCK_CARD &&
		    strcmp(mv->location, "storeroom") != 0 &&
		    (strcmp(mv->kind, "consume") == 0 || strcmp(mv->kind, "return") == 0))
			blanks -= mv->qty;
		/* Only the pipeline's movements name a card. */
		gboolean piped = strcmp(mv->kind, "consume") == 0 || strcmp(mv->kind, "return") == 0;
		if (piped != (mv->card > 0))
			fail_msg("%s: movement %" G_GINT64_FORMAT " (%s) card %" G_GINT64_FORMAT,
				 what, mv->id, mv->kind, mv->card);
	}
	if (g_hash_table_size(have) != g_hash_table_size(sum))
		fail_msg("%s: %u balances, %u places moved", what, g_hash_table_size(have),
			 g_hash_table_size(sum));
	GHashTableIter iter;
	gpointer key, value;
	g_hash_table_iter_init(&iter, have);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		gint64 q = *(gint64 *)value;
		gint64 *s = g_hash_table_lookup(sum, key);
		if (!s || *s != q)
			fail_msg("%s: balance of %s is %" G_GINT64_FORMAT ", its movements sum to %"
				 G_GINT64_FORMAT, what, (char *)key, q, s ? *s : 0);
		if (q < 0)
			fail_msg("%s: balance of %s is %" G_GINT64_FORMAT, what, (char *)key, q);
		g_auto(GStrv) il = g_strsplit(key, "\n", 2);
		if (item_index(m, il[0]) < 0 || loc_index(il[1]) < 0)
			fail_msg("%s: a balance of %s at %s", what, il[0], il[1]);
	}
	for (int i = 0; i < m->n_items; i++)
		for (int l = 0; l < N_LOCS; l++) {
			g_autofree char *k = g_strdup_printf("%s\n%s", m_item(m, i)->name, locs[l]);
			gint64 *q = g_hash_table_lookup(have, k);
			if ((q ? *q : 0) != m->bal[i][l])
				fail_msg("%s: %s at %s is %" G_GINT64_FORMAT ", expected %"
					 G_GINT64_FORMAT, what, m_item(m, i)->name, locs[l],
					 q ? *q : 0, m->bal[i][l]);
		}
	if (blanks != m->picks - m->voids)
		fail_msg("%s: %" G_GINT64_FORMAT " blanks consumed at printers, %" G_GINT64_FORMAT
			 " picked less %" G_GINT64_FORMAT " given back", what, blanks, m->picks,
			 m->voids);
}

/* Compares a step's outcome with the model's WANT, then takes the model to
 * what the step left. */
static void
settle(Model *m, int want, gint64 result, GError **error, const char *what)
{
	if (want == OK) {
		if (result < 0)
			fail_msg("%s: refused: %s", what, (*error)->message);
		memcpy(m->bal, m->next, sizeof m->bal);
		m->moves += m->new_moves;
		m->done[m->op]++;
		if (!m->pipeline)
			m->audit += m->new_moves;
	} else {
		if (result >= 0)
			fail_msg("%s: done, expected error %d", what, want);
		m->refused[m->op]++;
		if (!g_error_matches(*error, STOCK_ERROR, want))
			fail_msg("%s: expected stock error %d, got %s %d: %s", what, want,
				 g_quark_to_string((*error)->domain), (*error)->code,
				 (*error)->message);
		g_clear_error(error);
	}
	check_ledger(m, what);
}

static const char *
pick_item(Model *m)
{
	static const char *const bad[] = { "nope", NULL, "", "BLANK-CARD" };
	if (g_rand_int_range(m->rand, 0, 100) < 88)
		return m_item(m, g_rand_int_range(m->rand, 0, m->n_items))->name;
	return bad[g_rand_int_range(m->rand, 0, G_N_ELEMENTS(bad))];
}

static const char *
pick_location(Model *m)
{
	static const char *const bad[] = { "printer9", NULL, "", "all", "cam" };
	if (g_rand_int_range(m->rand, 0, 100) < 88)
		return locs[g_rand_int_range(m->rand, 0, N_LOCS)];
	return bad[g_rand_int_range(m->rand, 0, G_N_ELEMENTS(bad))];
}

/* Mostly small quantities; sometimes 0, negative, the most allowed, or more. */
static gint64
pick_qty(Model *m)
{
	int r = g_rand_int_range(m->rand, 0, 100);
	if (r < 70)
		return g_rand_int_range(m->rand, 1, 6);
	if (r < 80)
		return g_rand_int_range(m->rand, 6, 61);
	if (r < 85)
		return m->max_qty;
	if (r < 90)
		return 0;
	if (r < 95)
		return -g_rand_int_range(m->rand, 1, 11);
	return m->max_qty + g_rand_int_range(m->rand, 1, 500);
}

/* A random card in STATE (0: none). */
static gint64
pick_card(Model *m, CardState state)
{
	gint64 n = 0, chosen = 0;
	for (gint64 id = 1; id <= m->n_cards; id++)
		if (m->cards[id].state == state && g_rand_int_range(m->rand, 0, (int)++n) == 0)
			chosen = id;
	return chosen;
}

static void
step(Model *m, guint32 seed, int n)
{
	Fixture *f = m->f;
	GError *error = NULL;
	memcpy(m->next, m->bal, sizeof m->bal);
	m->new_moves = 0;
	m->pipeline = FALSE;
	int want;
	gint64 result;
	g_autofree char *what = NULL;
	int r = g_rand_int_range(m->rand, 0, 100);
	if (r < 8) {
		static const char *const where[] = { NULL, "storeroom", "printer1", "" };
		static const char *const dates[] = { NULL, "2024-05-01", "", "2024-02-30" };
		const char *date = dates[g_rand_int_range(m->rand, 0, 100) < 90
						 ? g_rand_int_range(m->rand, 0, 3)
						 : 3];
		int serial = g_rand_int_range(m->rand, 0, 20);
		/* One draw a statement: the order of the draws is the seed's. */
		const char *item = pick_item(m);
		const char *location = where[g_rand_int_range(m->rand, 0, 100) < 85
						     ? g_rand_int_range(m->rand, 0, 2)
						     : g_rand_int_range(m->rand, 2, 4)];
		gint64 qty = pick_qty(m);
		StockReceipt rc = {
			.item = item,
			.location = location,
			.qty = qty,
			.lot = "L-7",
			.supplier = "PT Kartu",
			.received_on = date,
			.serial_first = serial < 2 ? "C000100" : NULL,
			.serial_last = serial < 1 ? "C000199" : NULL,
		};
		m->op = OP_RECEIVE;
		what = g_strdup_printf("seed %u step %d: receive %s %" G_GINT64_FORMAT " at %s on %s",
				       seed, n, show(rc.item), rc.qty, show(rc.location), show(date));
		want = want_receive(m, &rc, !date || !*date || strcmp(date, "2024-05-01") == 0);
		result = stock_receive(f->sk, &sup, &rc, &error);
	} else if (r < 18) {
		static const char *const bad[] = { "storeroom", "printer9", NULL };
		const char *printer = g_rand_int_range(m->rand, 0, 100) < 85
					      ? locs[g_rand_int_range(m->rand, 1, N_LOCS)]
					      : bad[g_rand_int_range(m->rand, 0, 3)];
		const char *item = pick_item(m);
		int i = item_index(m, item);
		gint64 qty;
		if (i >= 0 && m_item(m, i)->kind != STOCK_CARD &&
		    g_rand_int_range(m->rand, 0, 100) < 85)
			qty = g_rand_int_range(m->rand, 0, 2);
		else if (g_rand_int_range(m->rand, 0, 100) < 35)
			qty = 0;
		else
			qty = pick_qty(m);
		m->op = OP_LOAD;
		what = g_strdup_printf("seed %u step %d: load %s %s %" G_GINT64_FORMAT, seed, n,
				       show(printer), show(item), qty);
		want = want_load(m, printer, item, qty);
		result = stock_load(f->sk, &sup, printer, item, qty, &error);
	} else if (r < 28) {
		static const char *const reasons[] = { "stock count", NULL, "  ", "" };
		const char *item = pick_item(m), *loc = pick_location(m);
		gint64 delta = pick_qty(m);
		if (g_rand_boolean(m->rand))
			delta = -delta;
		const char *reason = reasons[g_rand_int_range(m->rand, 0, 100) < 85
						     ? 0
						     : g_rand_int_range(m->rand, 1, 4)];
		m->op = OP_ADJUST;
		what = g_strdup_printf("seed %u step %d: adjust %s at %s by %" G_GINT64_FORMAT
				       " (%s)", seed, n, show(item), show(loc), delta, show(reason));
		want = want_adjust(m, item, loc, delta, reason);
		result = stock_adjust(f->sk, &sup, item, loc, delta, reason, &error);
	} else if (r < 36) {
		static const char *const bad[] = { "coffee", NULL, "", "Jam" };
		const char *item = pick_item(m), *loc = pick_location(m);
		gint64 qty = pick_qty(m);
		const char *cause = g_rand_int_range(m->rand, 0, 100) < 85
					    ? good_causes[g_rand_int_range(
						      m->rand, 0, G_N_ELEMENTS(good_causes))]
					    : bad[g_rand_int_range(m->rand, 0, 4)];
		m->op = OP_SPOIL;
		what = g_strdup_printf("seed %u step %d: spoil %s at %s %" G_GINT64_FORMAT " (%s)",
				       seed, n, show(item), show(loc), qty, show(cause));
		want = want_spoil(m, item, loc, qty, cause);
		result = stock_spoil(f->sk, &sup, item, loc, qty, cause, &error);
	} else {
		/* The pipeline: a new card picked, or a card begun moved on. */
		static const char *const idle[] = { "encoded", "ejected", "done", "spoiled" };
		const char *phase;
		gint64 id = 0;
		if (r < 50) {
			phase = "printed";
			id = pick_card(m, C_PICKED);
		} else if (r < 58) {
			phase = g_rand_boolean(m->rand) ? "void" : "queued";
			/* Now and then a card given back already: nothing more comes back. */
			id = pick_card(m, g_rand_int_range(m->rand, 0, 5) ? C_PICKED : C_VOIDED);
		} else if (r < 62) {
			phase = "unprinted";
			id = pick_card(m, C_PRINTED);
		} else if (r < 64) {
			phase = idle[g_rand_int_range(m->rand, 0, 4)];
			id = pick_card(m, C_PICKED);
		} else {
			phase = "picked";
		}
		if (id == 0) {
			phase = "picked";
			id = ++m->n_cards;
			g_assert(id <= N_CARDS);
			Card *c = &m->cards[id];
			int p = g_rand_int_range(m->rand, 0, 100);
			c->loc = p < 45 ? 1 : p < 90 ? 2 : -1; /* -1: "printer9" */
			c->blank = c->ribbon = c->film = -1;
		}
		m->card_next = m->cards[id];
		m->pipeline = TRUE;
		m->op = strcmp(phase, "picked") == 0 ? OP_PICK : OP_PHASE;
		const char *printer = m->card_next.loc > 0 ? locs[m->card_next.loc] : "printer9";
		what = g_strdup_printf("seed %u step %d: card %" G_GINT64_FORMAT " %s on %s", seed,
				       n, id, phase, printer);
		want = want_phase(m, phase);
		result = phase_txn(f, printer, id, phase, &error);
		if (want == OK) {
			if (strcmp(phase, "picked") == 0 && m->card_next.loc > 0)
				m->picks++;
			if (m->cards[id].blank >= 0 && m->card_next.blank < 0)
				m->voids++;
			m->cards[id] = m->card_next;
		} else if (strcmp(phase, "picked") == 0) {
			m->cards[id].state = C_DEAD; /* the hopper was empty */
		}
	}
	settle(m, want, result, &error, what);
}

static void
test_random_ledger(void **state)
{
	Fixture *f = *state;
	guint32 seed = GPOINTER_TO_UINT(f->arg);
	Model *m = g_new0(Model, 1);
	m->f = f;
	m->rand = g_rand_new_with_seed(seed);
	m->items = stock_items(f->sk);
	m->n_items = m->items->len;
	assert_true(m->n_items <= MAX_ITEMS);
	m->max_qty = f->cfg->stock_max_quantity;
	m->hopper = f->cfg->stock_hopper_capacity;
	m->film[1] = TRUE;
	/* The opening stock of conf_main. */
	m->bal[item_index(m, "blank-card")][0] = 200;
	m->bal[item_index(m, "blank-card")][1] = 15;
	m->bal[item_index(m, "blank-card")][2] = 10;
	m->bal[item_index(m, "ribbon-ymcko")][0] = 3;
	m->bal[item_index(m, "ribbon-ymcko")][1] = 4;
	m->bal[item_index(m, "ribbon-k")][0] = 2;
	m->bal[item_index(m, "film")][0] = 2;
	m->bal[item_index(m, "cleaning-card")][0] = 5;
	m->moves = m->audit = 9;
	check_ledger(m, "opening stock");
	for (int n = 1; n <= 300; n++)
		step(m, seed, n);
	/* The audit chain holds one row per movement people asked for. */
	tu_expect_audit_ok(f->st, m->audit);
	/* Each kind of step was done and each movement people ask for was
	 * refused; the pipeline was refused too (a card picked from an empty
	 * hopper, or printed without ribbon or film). */
	for (int op = 0; op < N_OPS; op++)
		if (m->done[op] == 0 || (op < OP_PICK && m->refused[op] == 0))
			fail_msg("seed %u: step kind %d done %d times, refused %d", seed, op,
				 m->done[op], m->refused[op]);
	assert_true(m->refused[OP_PICK] + m->refused[OP_PHASE] > 0);
	assert_true(m->picks > 10);
	assert_true(m->voids > 0);
	g_rand_free(m->rand);
	g_free(m);
}

/* ---- 2. append-only ---- */

/* Runs SQL on a second connection; returns SQLite's result code and the
 * message in *MSG (caller frees; NULL when it worked). */
static int
raw_try(const char *path, const char *sql, char **msg)
{
	sqlite3 *db = NULL;
	char *m = NULL;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		fail_msg("open %s: %s", path, sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 2000);
	sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	int rc = sqlite3_exec(db, sql, NULL, NULL, &m);
	*msg = m ? g_strdup(m) : NULL;
	sqlite3_free(m);
	sqlite3_close(db);
	return rc;
}

static void
expect_raw_refused(Fixture *f, const char *sql, const char *why)
{
	g_autofree char *msg = NULL;
	int rc = raw_try(f->db, sql, &msg);
	if (rc == SQLITE_OK)
		fail_msg("%s: accepted", sql);
	if (!msg || !strstr(msg, why))
		fail_msg("%s: refused with '%s', not '%s'", sql, msg ? msg : "", why);
}

static void
test_append_only(void **state)
{
	Fixture *f = *state;
	GError *error = NULL;
	gint64 moves = n_moves(f);
	assert_int_equal(moves, 9);
	assert_int_equal(bal(f, "blank-card", "storeroom"), 200);
	expect_raw_refused(f, "UPDATE stock_moves SET qty = qty + 1 WHERE id = 1", "append-only");
	expect_raw_refused(f, "UPDATE stock_moves SET reason = 'x'", "append-only");
	expect_raw_refused(f, "DELETE FROM stock_moves WHERE id = 1", "append-only");
	expect_raw_refused(f, "DELETE FROM stock_moves", "append-only");
	/* An upsert on an id taken is an update. */
	expect_raw_refused(f,
			   "INSERT INTO stock_moves (id, at, kind, item, location, qty, actor) "
			   "VALUES (1, 1, 'adjust', 'blank-card', 'storeroom', 5, 'x') "
			   "ON CONFLICT (id) DO UPDATE SET qty = 5",
			   "append-only");
	/* Below zero: 201 blanks out of 200. */
	expect_raw_refused(f,
			   "INSERT INTO stock_moves (at, kind, item, location, qty, actor) VALUES "
			   "(2, 'spoil', 'blank-card', 'storeroom', -201, 'x')",
			   "stock below zero");
	assert_int_equal(n_moves(f), moves);
	assert_int_equal(bal(f, "blank-card", "storeroom"), 200);
	/* Exactly to zero is allowed, then not one more, by the store either. */
	g_autofree char *msg = NULL;
	assert_int_equal(raw_try(f->db,
				 "INSERT INTO stock_moves (at, kind, item, location, qty, actor) "
				 "VALUES (2, 'spoil', 'blank-card', 'storeroom', -200, 'x')",
				 &msg),
			 SQLITE_OK);
	assert_int_equal(bal(f, "blank-card", "storeroom"), 0);
	StoreStockMove m = { .at = 3, .kind = "spoil", .item = "blank-card",
			     .location = "storeroom", .qty = -1, .actor = "x" };
	assert_int_equal(store_stock_add(f->st, &m, &error), -1);
	assert_true(g_error_matches(error, STORE_ERROR, STORE_ERROR_CONFLICT));
	g_clear_error(&error);
	assert_int_equal(n_moves(f), moves + 1);
	/* A movement elsewhere does not lift the check off this place. */
	expect_raw_refused(f,
			   "INSERT INTO stock_moves (at, kind, item, location, qty, actor) VALUES "
			   "(2, 'spoil', 'blank-card', 'printer1', -16, 'x')",
			   "stock below zero");
	assert_int_equal(bal(f, "blank-card", "printer1"), 15);
}

/* REPLACE deletes the row it collides with and inserts another: a rewrite of
 * history that no UPDATE or DELETE trigger sees (SQLite fires delete
 * triggers for REPLACE only with recursive_triggers on). */
static void
test_replace_is_refused(void **state)
{
	Fixture *f = *state;
	StoreStockMove *first = last_move(f, 8);
	assert_int_equal(first->id, 1);
	gint64 qty = first->qty;
	g_autofree char *sql = g_strdup_printf(
		"INSERT OR REPLACE INTO stock_moves (id, at, kind, item, location, qty, actor) "
		"VALUES (1, %" G_GINT64_FORMAT ", '%s', '%s', '%s', %" G_GINT64_FORMAT
		" + 1000, 'x')",
		first->at, first->kind, first->item, first->location, qty);
	g_autofree char *msg = NULL;
	int rc = raw_try(f->db, sql, &msg);
	StoreStockMove *now = last_move(f, 8);
	gint64 after = now->qty;
	store_stock_move_free(now);
	store_stock_move_free(first);
	if (rc == SQLITE_OK || after != qty)
		fail_msg("INSERT OR REPLACE rewrote movement 1: qty %" G_GINT64_FORMAT
			 " became %" G_GINT64_FORMAT " (%s)",
			 qty, after, msg ? msg : "accepted");
}

/* ---- 3. forecasts ---- */

static void
test_rate_weights(void **state)
{
	(void)state;
	double flat[28], late[7] = { 0, 0, 0, 0, 0, 0, 28 }, early[7] = { 28, 0, 0, 0, 0, 0, 0 };
	for (int i = 0; i < 28; i++)
		flat[i] = 10;
	assert_true(near(stock_rate(flat, 28), 10));
	assert_true(near(stock_rate(flat, 1), 10));
	/* Today weighs 7 of 28. */
	assert_true(near(stock_rate(late, 7), 7));
	/* The oldest day weighs 1 of 28. */
	assert_true(near(stock_rate(early, 7), 1));
	/* 1, 2, 3 weighted 1, 2, 3: 14 / 6. */
	double rising[3] = { 1, 2, 3 };
	assert_true(near(stock_rate(rising, 3), 14.0 / 6));
	assert_true(near(stock_rate(flat, 0), 0));
}

/* Unix time on local day TODAY - AGO: noon, or (today) a minute ago. */
static gint64
day_at(GDateTime *now, int ago, int hour)
{
	g_autoptr(GDateTime) midnight =
		g_date_time_new_local(g_date_time_get_year(now), g_date_time_get_month(now),
				      g_date_time_get_day_of_month(now), 0, 0, 0);
	if (ago == 0) {
		gint64 t = g_date_time_to_unix(now) - 60;
		return MAX(t, g_date_time_to_unix(midnight));
	}
	g_autoptr(GDateTime) day = g_date_time_add_days(midnight, -ago);
	g_autoptr(GDateTime) at = g_date_time_add_hours(day, hour);
	return g_date_time_to_unix(at);
}

static void
add_past(Fixture *f, gint64 at, const char *kind, const char *item, const char *location,
	 gint64 qty)
{
	GError *error = NULL;
	StoreStockMove m = { .at = at, .kind = (char *)kind, .item = (char *)item,
			     .location = (char *)location, .qty = qty, .actor = "sup" };
	if (store_stock_add(f->st, &m, &error) < 0)
		fail_msg("%s %s at %s: %s", kind, item, location, error->message);
}

static char *
days_ahead(GDateTime *now, int n)
{
	g_autoptr(GDateTime) d = g_date_time_add_days(now, n);
	return g_date_time_format(d, "%Y-%m-%d");
}

static const StockLevel *
level_of(GPtrArray *levels, const char *item, const char *location)
{
	for (guint i = 0; i < levels->len; i++) {
		const StockLevel *l = levels->pdata[i];
		if (strcmp(l->item->name, item) == 0 && strcmp(l->location, location) == 0)
			return l;
	}
	fail_msg("no level of %s at %s", item, location);
	return NULL;
}

static void
expect_level(GPtrArray *levels, GDateTime *now, const char *item, const char *location,
	     gint64 on_hand, double rate, const char *flag, const char *unit)
{
	const StockLevel *l = level_of(levels, item, location);
	if (l->on_hand != on_hand || !near(l->rate, rate) || strcmp(l->flag, flag) != 0 ||
	    strcmp(l->unit, unit) != 0)
		fail_msg("%s at %s: %" G_GINT64_FORMAT " %s '%s' at %.6f a day; expected %"
			 G_GINT64_FORMAT " %s '%s' at %.6f",
			 item, location, l->on_hand, l->unit, l->flag, l->rate, on_hand, unit,
			 flag, rate);
	if (rate == 0) {
		assert_true(near(l->days_left, -1));
		assert_null(l->runout);
		return;
	}
	double days = on_hand / rate;
	assert_true(near(l->days_left, days));
	g_autofree char *runout = days_ahead(now, (int)floor(days));
	assert_non_null(l->runout);
	assert_string_equal(l->runout, runout);
}

/* Ten days of history: 1000 blanks received nine days ago; each day 15
 * loaded into printer1 and, on the day i days after the first, i + 1 used. */
static void
test_forecast(void **state)
{
	Fixture *f = *state;
	GError *error = NULL;
	g_autoptr(GDateTime) now = g_date_time_new_now_local();
	assert_int_equal(store_begin(f->st, &error), 0);
	add_past(f, day_at(now, 9, 8), "receive", "blank-card", "storeroom", 1000);
	for (int ago = 9; ago >= 0; ago--) {
		gint64 at = day_at(now, ago, 12);
		add_past(f, at, "load", "blank-card", "storeroom", -15);
		add_past(f, at, "load", "blank-card", "printer1", 15);
		add_past(f, at, "consume", "blank-card", "printer1", -(10 - ago));
	}
	assert_int_equal(store_commit(f->st, &error), 0);

	g_autoptr(GPtrArray) levels = stock_levels(f->sk, &error);
	assert_non_null(levels);
	/* Storeroom rows, printers' rows (each kind's first item while none is
	 * there), then the totals. */
	static const char *const order[][2] = {
		{ "blank-card", "storeroom" }, { "ribbon", "storeroom" },
		{ "blank-card", "printer1" },  { "ribbon", "printer1" },
		{ "blank-card", "printer2" },  { "ribbon", "printer2" },
		{ "blank-card", "all" },       { "ribbon", "all" },
	};
	assert_int_equal(levels->len, G_N_ELEMENTS(order));
	for (size_t i = 0; i < G_N_ELEMENTS(order); i++) {
		const StockLevel *l = levels->pdata[i];
		assert_string_equal(l->item->name, order[i][0]);
		assert_string_equal(l->location, order[i][1]);
	}
	/* 15 loaded out every day: 15 a day; 850 is critical (at most 850). */
	expect_level(levels, now, "blank-card", "storeroom", 850, 15, "critical", "card");
	/* 1..10 used, weighted 1..10: 385 / 55 = 7 a day; 95 is low (printer_low 95). */
	expect_level(levels, now, "blank-card", "printer1", 95, 7, "low", "card");
	expect_level(levels, now, "blank-card", "printer2", 0, 0, "empty", "card");
	/* Loads are transfers: the total is used at 7 a day; 945 is only low (at most 945). */
	expect_level(levels, now, "blank-card", "all", 945, 7, "low", "card");
	expect_level(levels, now, "ribbon", "storeroom", 0, 0, "empty", "roll");
	expect_level(levels, now, "ribbon", "printer1", 0, 0, "empty", "print");
	expect_level(levels, now, "ribbon", "all", 0, 0, "empty", "roll");

	/* A ribbon roll: 2 received (low), one loaded with 100 prints, 30 used
	 * today.  The total counts the printer's prints as 0.7 roll. */
	assert_int_equal(store_begin(f->st, &error), 0);
	gint64 at = day_at(now, 0, 0);
	add_past(f, at, "receive", "ribbon", "storeroom", 3);
	add_past(f, at, "load", "ribbon", "storeroom", -1);
	add_past(f, at, "load", "ribbon", "printer1", 100);
	add_past(f, at, "consume", "ribbon", "printer1", -30);
	assert_int_equal(store_commit(f->st, &error), 0);
	g_autoptr(GPtrArray) again = stock_levels(f->sk, &error);
	assert_non_null(again);
	/* Today weighs 10 of 55. */
	expect_level(again, now, "ribbon", "storeroom", 2, 10.0 / 55, "low", "roll");
	/* printer_low (95) counts prints here. */
	expect_level(again, now, "ribbon", "printer1", 70, 300.0 / 55, "low", "print");
	expect_level(again, now, "ribbon", "all", 2, 3.0 / 55, "low", "roll");
}

/* ---- 4. bad input ---- */

static void
test_bad_input(void **state)
{
	Fixture *f = *state;
	GError *error = NULL;
	gint64 moves = n_moves(f), audit = n_audit(f);
	gint64 max = f->cfg->stock_max_quantity;
	StockReceipt r = { .item = "blank-card", .qty = 0 };

	/* Quantities. */
	expect_refused(f, stock_receive(f->sk, &sup, &r, &error), &error, STOCK_ERROR_INVALID,
		       "qty", moves, audit);
	r.qty = -5;
	expect_refused(f, stock_receive(f->sk, &sup, &r, &error), &error, STOCK_ERROR_INVALID,
		       "qty", moves, audit);
	r.qty = max + 1;
	expect_refused(f, stock_receive(f->sk, &sup, &r, &error), &error, STOCK_ERROR_INVALID,
		       "qty", moves, audit);
	expect_refused(f, stock_adjust(f->sk, &sup, "blank-card", "storeroom", 0, "count", &error),
		       &error, STOCK_ERROR_INVALID, "qty", moves, audit);
	expect_refused(f,
		       stock_adjust(f->sk, &sup, "blank-card", "storeroom", -max - 1, "count",
				    &error),
		       &error, STOCK_ERROR_INVALID, "qty", moves, audit);
	expect_refused(f, stock_spoil(f->sk, &sup, "blank-card", "storeroom", -1, "jam", &error),
		       &error, STOCK_ERROR_INVALID, "qty", moves, audit);
	expect_refused(f, stock_spoil(f->sk, &sup, "blank-card", "storeroom", 0, "jam", &error),
		       &error, STOCK_ERROR_INVALID, "qty", moves, audit);
	expect_refused(f, stock_load(f->sk, &sup, "printer2", "blank-card", -3, &error), &error,
		       STOCK_ERROR_INVALID, "qty", moves, audit);
	/* Not that much there: 201 of 200. */
	expect_refused(f, stock_spoil(f->sk, &sup, "blank-card", "storeroom", 201, "jam", &error),
		       &error, STOCK_ERROR_SHORT, "qty", moves, audit);
	expect_refused(f,
		       stock_adjust(f->sk, &sup, "blank-card", "printer2", -11, "count", &error),
		       &error, STOCK_ERROR_SHORT, "qty", moves, audit);

	/* Items and locations. */
	r.qty = 10;
	r.item = "blank-cards";
	expect_refused(f, stock_receive(f->sk, &sup, &r, &error), &error, STOCK_ERROR_NOT_FOUND,
		       "item", moves, audit);
	r.item = NULL;
	expect_refused(f, stock_receive(f->sk, &sup, &r, &error), &error, STOCK_ERROR_NOT_FOUND,
		       "item", moves, audit);
	expect_refused(f, stock_load(f->sk, &sup, "printer1", "toner", 1, &error), &error,
		       STOCK_ERROR_NOT_FOUND, "item", moves, audit);
	expect_refused(f, stock_adjust(f->sk, &sup, "blank-card", "printer9", 1, "count", &error),
		       &error, STOCK_ERROR_NOT_FOUND, "location", moves, audit);
	expect_refused(f, stock_adjust(f->sk, &sup, "blank-card", NULL, 1, "count", &error),
		       &error, STOCK_ERROR_NOT_FOUND, "location", moves, audit);
	/* A device that is not a printer is no location either. */
	expect_refused(f, stock_spoil(f->sk, &sup, "blank-card", "cam", 1, "jam", &error), &error,
		       STOCK_ERROR_NOT_FOUND, "location", moves, audit);
	expect_refused(f, stock_load(f->sk, &sup, "printer9", "blank-card", 1, &error), &error,
		       STOCK_ERROR_NOT_FOUND, "location", moves, audit);

	/* Reasons. */
	expect_refused(f, stock_adjust(f->sk, &sup, "blank-card", "storeroom", 1, NULL, &error),
		       &error, STOCK_ERROR_INVALID, "reason", moves, audit);
	expect_refused(f, stock_adjust(f->sk, &sup, "blank-card", "storeroom", 1, "  ", &error),
		       &error, STOCK_ERROR_INVALID, "reason", moves, audit);

	/* Receipts go to the storeroom only. */
	r.item = "blank-card";
	r.location = "printer1";
	expect_refused(f, stock_receive(f->sk, &sup, &r, &error), &error, STOCK_ERROR_INVALID,
		       "location", moves, audit);

	/* Loads: one roll at a time, what fits in the hopper, into a printer. */
	expect_refused(f, stock_load(f->sk, &sup, "printer1", "ribbon-ymcko", 2, &error), &error,
		       STOCK_ERROR_INVALID, "qty", moves, audit);
	/* printer1 holds 15 of 20. */
	expect_refused(f, stock_load(f->sk, &sup, "printer1", "blank-card", 6, &error), &error,
		       STOCK_ERROR_INVALID, "qty", moves, audit);
	expect_refused(f, stock_load(f->sk, &sup, "storeroom", "blank-card", 5, &error), &error,
		       STOCK_ERROR_INVALID, "printer", moves, audit);
	expect_refused(f, stock_load(f->sk, &sup, "printer1", "cleaning-card", 1, &error), &error,
		       STOCK_ERROR_INVALID, "item", moves, audit);
	expect_refused(f, stock_load(f->sk, &sup, "printer2", "film", 1, &error), &error,
		       STOCK_ERROR_INVALID, "item", moves, audit);
	/* None of spare-card in the storeroom. */
	expect_refused(f, stock_load(f->sk, &sup, "printer2", "spare-card", 5, &error), &error,
		       STOCK_ERROR_SHORT, "qty", moves, audit);

	/* Causes. */
	expect_refused(f, stock_spoil(f->sk, &sup, "blank-card", "storeroom", 1, "coffee", &error),
		       &error, STOCK_ERROR_INVALID, "cause", moves, audit);
	expect_refused(f, stock_spoil(f->sk, &sup, "blank-card", "storeroom", 1, NULL, &error),
		       &error, STOCK_ERROR_INVALID, "cause", moves, audit);

	/* Rations. */
	assert_int_equal(stock_ration_set(f->sk, &sup, "printer9", 10, 0, &error), -1);
	expect_error(&error, STOCK_ERROR_NOT_FOUND, "printer");
	assert_int_equal(stock_ration_set(f->sk, &sup, "storeroom", 10, 0, &error), -1);
	expect_error(&error, STOCK_ERROR_NOT_FOUND, "printer");
	assert_int_equal(stock_ration_set(f->sk, &sup, "printer1", -1, 0, &error), -1);
	expect_error(&error, STOCK_ERROR_INVALID, "daily");
	assert_int_equal(n_audit(f), audit);

	/* The pipeline on a printer the ledger does not know moves nothing. */
	assert_int_equal(phase_txn(f, "printer9", 1, "picked", &error), 0);
	assert_int_equal(n_moves(f), moves);

	/* And the same calls made right pass, each with one audit row a movement. */
	r.location = "storeroom";
	assert_true(stock_receive(f->sk, &sup, &r, &error) > 0);
	assert_true(stock_adjust(f->sk, &sup, "blank-card", "storeroom", -210, "count", &error) >
		    0);
	assert_int_equal(bal(f, "blank-card", "storeroom"), 0);
	assert_int_equal(n_moves(f), moves + 2);
	assert_int_equal(n_audit(f), audit + 2);
}

/* ---- 5. loads ---- */

static void
test_load_rolls_and_hopper(void **state)
{
	Fixture *f = *state;
	GError *error = NULL;
	/* The opening stock, written once: printers:10 went to both, printer1:5 more. */
	assert_int_equal(bal(f, "blank-card", "storeroom"), 200);
	assert_int_equal(bal(f, "blank-card", "printer1"), 15);
	assert_int_equal(bal(f, "blank-card", "printer2"), 10);
	Stock *again = stock_new(f->cfg, f->st, f->hal, &error);
	assert_non_null(again);
	stock_free(again);
	assert_int_equal(n_moves(f), 9);
	const GPtrArray *printers = stock_printer_names(f->sk);
	assert_int_equal(printers->len, 2);
	assert_string_equal(printers->pdata[0], "printer1");
	assert_string_equal(printers->pdata[1], "printer2");

	/* A roll: one out of the storeroom, its prints into the printer, one act. */
	assert_int_equal(stock_ribbon_left(f->sk, "printer2"), 0);
	gint64 id = stock_load(f->sk, &sup, "printer2", "ribbon-ymcko", 0, &error);
	assert_true(id > 0);
	assert_int_equal(bal(f, "ribbon-ymcko", "storeroom"), 2);
	assert_int_equal(bal(f, "ribbon-ymcko", "printer2"), 6);
	assert_int_equal(stock_ribbon_left(f->sk, "printer2"), 6);
	StoreStockMove *in = last_move(f, 0), *out = last_move(f, 1);
	assert_int_equal(out->id, id);
	assert_string_equal(out->kind, "load");
	assert_int_equal(out->qty, -1);
	assert_string_equal(in->kind, "load");
	assert_string_equal(in->location, "printer2");
	assert_int_equal(in->grp, id);
	store_stock_move_free(in);
	store_stock_move_free(out);

	/* Two prints used; the replacement writes off the other four. */
	phase_ok(f, "printer2", 1, "picked");
	phase_ok(f, "printer2", 1, "printed");
	phase_ok(f, "printer2", 2, "picked");
	phase_ok(f, "printer2", 2, "printed");
	assert_int_equal(stock_ribbon_left(f->sk, "printer2"), 4);
	gint64 before = n_moves(f);
	id = stock_load(f->sk, &sup, "printer2", "ribbon-ymcko", 1, &error);
	assert_true(id > 0);
	assert_int_equal(n_moves(f), before + 3);
	StoreStockMove *unload = last_move(f, 1);
	assert_string_equal(unload->kind, "unload");
	assert_string_equal(unload->item, "ribbon-ymcko");
	assert_string_equal(unload->location, "printer2");
	assert_int_equal(unload->qty, -4);
	assert_int_equal(unload->grp, id);
	store_stock_move_free(unload);
	assert_int_equal(bal(f, "ribbon-ymcko", "printer2"), 6);
	assert_int_equal(bal(f, "ribbon-ymcko", "storeroom"), 1);

	/* Another ribbon item replaces this one the same way. */
	assert_true(stock_load(f->sk, &sup, "printer2", "ribbon-k", 1, &error) > 0);
	assert_int_equal(bal(f, "ribbon-ymcko", "printer2"), 0);
	assert_int_equal(bal(f, "ribbon-k", "printer2"), 4);
	assert_int_equal(stock_ribbon_left(f->sk, "printer2"), 4);

	/* Cards with qty 0 fill the hopper: printer2 holds 10 - 2 of 20. */
	assert_true(stock_load(f->sk, &sup, "printer2", "blank-card", 0, &error) > 0);
	assert_int_equal(bal(f, "blank-card", "printer2"), 20);
	assert_int_equal(bal(f, "blank-card", "storeroom"), 200 - 12);
	/* Full: nothing fits. */
	before = n_moves(f);
	assert_int_equal(stock_load(f->sk, &sup, "printer2", "blank-card", 0, &error), -1);
	expect_error(&error, STOCK_ERROR_INVALID, "qty");
	assert_int_equal(stock_load(f->sk, &sup, "printer2", "blank-card", 1, &error), -1);
	expect_error(&error, STOCK_ERROR_INVALID, "qty");
	assert_int_equal(n_moves(f), before);
	/* The hopper counts every kind of blank: printer1 holds 15, and takes
	 * the storeroom's 3 spare cards, then 2 blanks more. */
	StockReceipt r = { .item = "spare-card", .qty = 3 };
	assert_true(stock_receive(f->sk, &sup, &r, &error) > 0);
	assert_true(stock_load(f->sk, &sup, "printer1", "spare-card", 0, &error) > 0);
	assert_int_equal(bal(f, "spare-card", "printer1"), 3);
	assert_int_equal(bal(f, "spare-card", "storeroom"), 0);
	assert_true(stock_load(f->sk, &sup, "printer1", "blank-card", 0, &error) > 0);
	assert_int_equal(bal(f, "blank-card", "printer1"), 17);
	assert_int_equal(stock_load(f->sk, &sup, "printer1", "spare-card", 0, &error), -1);
	expect_error(&error, STOCK_ERROR_INVALID, "qty");
	/* Film only into a printer that uses it; a roll is its prints. */
	assert_true(stock_load(f->sk, &sup, "printer1", "film", 1, &error) > 0);
	assert_int_equal(bal(f, "film", "printer1"), 8);
	assert_int_equal(bal(f, "film", "storeroom"), 1);
}

/* A printer holding prints of two ribbon items (an adjustment, or an opening
 * of printers:N for both) gets a new roll: both are written off, in one act
 * of four movements. */
static void
test_load_replaces_two_rolls(void **state)
{
	Fixture *f = *state;
	GError *error = NULL;
	assert_true(stock_adjust(f->sk, &sup, "ribbon-k", "printer1", 3, "found a roll", &error) >
		    0);
	assert_int_equal(bal(f, "ribbon-ymcko", "printer1"), 4);
	gint64 before = n_moves(f);
	gint64 id = stock_load(f->sk, &sup, "printer1", "ribbon-k", 1, &error);
	if (id < 0)
		fail_msg("load: %s", error->message);
	assert_int_equal(n_moves(f), before + 4);
	assert_int_equal(bal(f, "ribbon-ymcko", "printer1"), 0);
	assert_int_equal(bal(f, "ribbon-k", "printer1"), 4);
	assert_int_equal(bal(f, "ribbon-k", "storeroom"), 1);
	for (int back = 0; back < 3; back++) {
		StoreStockMove *m = last_move(f, back);
		assert_int_equal(m->grp, id);
		store_stock_move_free(m);
	}
}

/* ---- 6. why a printer takes no card ---- */

static gboolean
printer_ready(Fixture *f, const char *name)
{
	HalInfo *i = hal_manager_get(f->hal, name);
	gboolean ok = i && (i->state == HAL_STATE_READY || i->state == HAL_STATE_DEGRADED);
	hal_info_free(i);
	return ok;
}

static void
clean_done(GError *error, void *data)
{
	*(int *)data = error ? -1 : 1;
}

static void
expect_blocked(Fixture *f, const char *printer, const char *begins, const char *says)
{
	g_autofree char *why = stock_blocked(f->sk, printer);
	if (!begins) {
		if (why)
			fail_msg("%s blocked: %s", printer, why);
		return;
	}
	if (!why)
		fail_msg("%s not blocked, expected '%s'", printer, begins);
	if (!g_str_has_prefix(why, begins) || (says && !strstr(why, says)))
		fail_msg("%s: '%s', expected '%s' … '%s'", printer, why, begins, says ? says : "");
}

static void
test_blocked(void **state)
{
	Fixture *f = *state;
	GError *error = NULL;
	/* printer2: cards but no ribbon; then no cards either. */
	expect_blocked(f, "printer2", "printer2: no ribbon prints left",
		       "ektpctl stock load printer2 ribbon-ymcko");
	assert_true(stock_adjust(f->sk, &sup, "blank-card", "printer2", -10, "count", &error) > 0);
	expect_blocked(f, "printer2", "printer2: no blank cards in the hopper",
		       "ektpctl stock load printer2 blank-card");
	/* printer1 prints through film and has none. */
	expect_blocked(f, "printer1", "printer1: no film prints left",
		       "ektpctl stock load printer1 film");
	assert_true(stock_load(f->sk, &sup, "printer1", "film", 1, &error) > 0);
	expect_blocked(f, "printer1", NULL, NULL);
	expect_blocked(f, "printer9", NULL, NULL);

	/* Cleaning due at 3 cards: not at 2. */
	phase_ok(f, "printer1", 1, "picked");
	phase_ok(f, "printer1", 2, "picked");
	expect_blocked(f, "printer1", NULL, NULL);
	phase_ok(f, "printer1", 3, "picked");
	expect_blocked(f, "printer1", "printer1: cleaning due: 3 cards since the last cleaning",
		       "ektpctl clean printer1");
	/* The cleaning cycle on the simulated printer uses one cleaning card. */
	gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (!printer_ready(f, "printer1") && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, FALSE), g_usleep(1000);
	assert_true(printer_ready(f, "printer1"));
	int done = 0;
	stock_clean(f->sk, &sup, "printer1", clean_done, &done);
	end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (!done && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, FALSE), g_usleep(1000);
	assert_int_equal(done, 1);
	assert_int_equal(bal(f, "cleaning-card", "storeroom"), 4);
	StoreStockMove *m = last_move(f, 0);
	assert_string_equal(m->kind, "clean");
	assert_string_equal(m->printer, "printer1");
	store_stock_move_free(m);
	expect_blocked(f, "printer1", NULL, NULL);

	/* The daily quota counts cards begun today that reached the printer. */
	assert_int_equal(stock_ration_set(f->sk, &sup, "printer1", 2, 0, &error), 0);
	g_autoptr(GDateTime) now = g_date_time_new_now_local();
	gint64 today = day_at(now, 0, 0);
	gint64 yesterday = day_at(now, 1, 23);
	g_autofree char *sql = g_strdup_printf(
		"INSERT INTO print_cards (batch, record, seq, phase, printer, started_at, "
		"updated_at) VALUES (1, 1, 9001, 'done', 'printer1', %" G_GINT64_FORMAT ", 1),"
		"(1, 1, 9002, 'void', 'printer1', %" G_GINT64_FORMAT ", 1),"
		"(1, 1, 9003, 'done', 'printer2', %" G_GINT64_FORMAT ", 1),"
		"(1, 1, 9004, 'done', 'printer1', %" G_GINT64_FORMAT ", 1)",
		yesterday, today, today, today);
	tu_sql_exec(f->db, sql);
	expect_blocked(f, "printer1", NULL, NULL);
	tu_sql_exec(f->db, "INSERT INTO print_cards (batch, record, seq, phase, printer, "
			   "started_at, updated_at) SELECT 1, 1, 9005, 'printed', 'printer1', "
			   "started_at, 1 FROM print_cards WHERE seq = 9004");
	expect_blocked(f, "printer1", "printer1: daily quota used: 2 of 2 cards today", NULL);
	/* The hourly limit. */
	assert_int_equal(stock_ration_set(f->sk, &sup, "printer1", 0, 1, &error), 0);
	expect_blocked(f, "printer1", "printer1: hourly limit reached", NULL);
	assert_int_equal(stock_ration_set(f->sk, &sup, "printer1", 0, 0, &error), 0);
	expect_blocked(f, "printer1", NULL, NULL);
}

/* ---- 7. spoilage causes ---- */

static void
test_cause_category(void **state)
{
	(void)state;
	assert_string_equal(stock_cause_category("encode: chip failure: no answer to SELECT"),
			    "chip failure");
	assert_string_equal(stock_cause_category("print: media-jam: the card stopped in the "
						 "print station"),
			    "jam");
	assert_string_equal(stock_cause_category("eject: media-jam"), "jam");
	assert_string_equal(stock_cause_category("interrupted in phase printed (the daemon "
						 "stopped)"),
			    "power loss");
	assert_string_equal(stock_cause_category("interrupted before the printer took a card"),
			    "power loss");
	assert_string_equal(stock_cause_category("print: marker-supply-empty"), "misprint");
	assert_string_equal(stock_cause_category("eject: output-area-full"), "misprint");
	assert_string_equal(stock_cause_category("test card"), "test card");
	assert_string_equal(stock_cause_category("damaged"), "damaged");
	assert_string_equal(stock_cause_category("something else"), "other");
	assert_string_equal(stock_cause_category(""), "other");
	assert_string_equal(stock_cause_category(NULL), "other");
}

/* ---- 8. reports ---- */

static const char *
cell(const StockReport *r, guint row, guint col)
{
	const GPtrArray *cells = r->rows->pdata[row];
	assert_true(col < cells->len);
	return cells->pdata[col];
}

static gint64
cell_int(const StockReport *r, guint row, guint col)
{
	char *end;
	gint64 v = g_ascii_strtoll(cell(r, row, col), &end, 10);
	if (*end || !*cell(r, row, col))
		fail_msg("row %u column %u: '%s' is not a whole number", row, col, cell(r, row, col));
	return v;
}

static void
test_reports(void **state)
{
	Fixture *f = *state;
	GError *error = NULL;
	/* Today: 3 blanks picked at printer1, one given back, 2 spoiled at printer2. */
	assert_true(stock_load(f->sk, &sup, "printer1", "film", 1, &error) > 0);
	phase_ok(f, "printer1", 1, "picked");
	phase_ok(f, "printer1", 1, "printed");
	phase_ok(f, "printer1", 2, "picked");
	phase_ok(f, "printer1", 3, "picked");
	phase_ok(f, "printer1", 3, "void");
	assert_true(stock_spoil(f->sk, &sup, "blank-card", "printer2", 2, "damaged", &error) > 0);

	g_autoptr(StockReport) p = stock_report(f->sk, "procurement", NULL, NULL, 3, &error);
	assert_non_null(p);
	const GPtrArray *items = stock_items(f->sk);
	assert_int_equal(p->columns->len, 10);
	assert_int_equal(p->rows->len, items->len + 1);
	assert_false(g_array_index(p->numeric, gboolean, 0));
	assert_true(g_array_index(p->numeric, gboolean, 9));
	g_autoptr(GPtrArray) levels = stock_levels(f->sk, &error);
	assert_non_null(levels);
	gint64 total = 0;
	for (guint i = 0; i < items->len; i++) {
		const StockItem *it = items->pdata[i];
		const StockLevel *all = level_of(levels, it->name, "all");
		assert_string_equal(cell(p, i, 0), it->name);
		assert_string_equal(cell(p, i, 1), it->unit);
		assert_int_equal(cell_int(p, i, 2), all->on_hand);
		gint64 needed = (gint64)ceil(all->rate * 30 * 3 - 1e-9) + it->low;
		gint64 buy = MAX(0, needed - all->on_hand);
		gint64 packs = (buy + it->pack_size - 1) / it->pack_size;
		assert_int_equal(cell_int(p, i, 4), needed);
		assert_int_equal(cell_int(p, i, 5), buy);
		assert_int_equal(cell_int(p, i, 6), it->pack_size);
		assert_int_equal(cell_int(p, i, 7), packs);
		assert_int_equal(cell_int(p, i, 8), it->unit_price);
		assert_int_equal(cell_int(p, i, 9), packs * it->pack_size * it->unit_price);
		total += cell_int(p, i, 9);
	}
	/* Blank cards were used today; spare cards never: they need only the low mark. */
	assert_true(level_of(levels, "blank-card", "all")->rate > 0);
	assert_int_equal(cell_int(p, 1, 5), 10);
	assert_int_equal(cell_int(p, 1, 7), 1);
	assert_string_equal(cell(p, items->len, 0), "total");
	assert_int_equal(cell_int(p, items->len, 9), total);
	assert_true(total > 0);

	/* Today's activity: blanks used per printer. */
	g_autoptr(GDateTime) now = g_date_time_new_now_local();
	g_autofree char *today = g_date_time_format(now, "%Y-%m-%d");
	g_autoptr(StockReport) d = stock_report(f->sk, "daily", today, today, 1, &error);
	assert_non_null(d);
	gint64 seen = 0;
	for (guint i = 0; i + 1 < d->rows->len; i++) {
		assert_string_equal(cell(d, i, 0), today);
		if (strcmp(cell(d, i, 1), "printer1") == 0) {
			assert_int_equal(cell_int(d, i, 4), 2);
			assert_int_equal(cell_int(d, i, 5), 1);
			assert_int_equal(cell_int(d, i, 6), 1);
			seen++;
		} else if (strcmp(cell(d, i, 1), "printer2") == 0) {
			assert_int_equal(cell_int(d, i, 4), 2);
			seen++;
		}
	}
	assert_int_equal(seen, 2);
	assert_string_equal(cell(d, d->rows->len - 1, 0), "total");
	assert_int_equal(cell_int(d, d->rows->len - 1, 4), 4);

	/* Refusals. */
	assert_null(stock_report(f->sk, "daily", "2024-05-02", "2024-05-01", 1, &error));
	expect_error(&error, STOCK_ERROR_INVALID, "from, to");
	assert_null(stock_report(f->sk, "daily", "2024-02-30", NULL, 1, &error));
	expect_error(&error, STOCK_ERROR_INVALID, "from");
	assert_null(stock_report(f->sk, "procurement", NULL, NULL, 0, &error));
	expect_error(&error, STOCK_ERROR_INVALID, "months");
	assert_null(stock_report(f->sk, "weekly", NULL, NULL, 1, &error));
	assert_true(g_error_matches(error, STOCK_ERROR, STOCK_ERROR_NOT_FOUND));
	g_clear_error(&error);
	assert_null(stock_report(f->sk, NULL, NULL, NULL, 1, &error));
	assert_true(g_error_matches(error, STOCK_ERROR, STOCK_ERROR_NOT_FOUND));
	g_clear_error(&error);
}

static const guint32 seeds[] = { 1, 2, 3, 4, 5 };

#define RANDOM_TEST(i)                                                                     \
	cmocka_unit_test_prestate_setup_teardown(test_random_ledger, setup_main, teardown, \
						 GUINT_TO_POINTER(seeds[i]))

int
main(void)
{
	const struct CMUnitTest tests[] = {
		RANDOM_TEST(0),
		RANDOM_TEST(1),
		RANDOM_TEST(2),
		RANDOM_TEST(3),
		RANDOM_TEST(4),
		cmocka_unit_test_setup_teardown(test_append_only, setup_main, teardown),
		cmocka_unit_test_setup_teardown(test_replace_is_refused, setup_main, teardown),
		cmocka_unit_test(test_rate_weights),
		cmocka_unit_test_setup_teardown(test_forecast, setup_forecast, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup_main, teardown),
		cmocka_unit_test_setup_teardown(test_load_rolls_and_hopper, setup_main, teardown),
		cmocka_unit_test_setup_teardown(test_load_replaces_two_rolls, setup_main, teardown),
		cmocka_unit_test_setup_teardown(test_blocked, setup_main, teardown),
		cmocka_unit_test(test_cause_category),
		cmocka_unit_test_setup_teardown(test_reports, setup_main, teardown),
	};
	return cmocka_run_group_tests_name("stock", tests, NULL, NULL);
}
