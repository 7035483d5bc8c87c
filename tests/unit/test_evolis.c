/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for drivers/evolis/protocol.c.  A synthetic card becomes panels with the
 * colour rules of protocol.h (black text pure K, YMC the complement of RGB,
 * the overlay bare over the chip, dithered luminance on a black ribbon); the
 * panels become bytes, the bytes go through the parser and the decoder and
 * come back as the same dots, plain (Db) and compressed (Dbc) alike, at every
 * level count.  Panel data holding CR, ESC and NUL is read by length; a small
 * stream split at every byte parses the same; garbage, cut commands, over-long
 * heads and bad Db/Dbc heads are skipped and parsing resumes; random bytes
 * never crash the parser or the decoder (make check-asan).  Replies are
 * classified as docs/printer-protocol.md says.  The two job streams of the
 * vendor's driver (tests/data/evolis/) parse, decode, and our encoder
 * reproduces their Dbc data byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first */
#include <cmocka.h>

#include <glib.h>
#include <string.h>

#include "drivers/evolis/protocol.h"

#define NDOTS ((size_t)HAL_CARD_W * HAL_CARD_H)

/* ---- fixtures ---- */

typedef struct {
	uint8_t *rgb, *black;
	HalCardSide side;
} Card;

/* A card with colour gradients, flat areas, black "text" bars and a clear
 * rectangle where the chip sits. */
static Card *
card_new(gboolean with_black)
{
	Card *c = g_new0(Card, 1);
	c->rgb = g_malloc(NDOTS * 3);
	c->black = with_black ? g_malloc0(NDOTS) : NULL;
	for (int y = 0; y < HAL_CARD_H; y++) {
		for (int x = 0; x < HAL_CARD_W; x++) {
			uint8_t *p = c->rgb + ((size_t)y * HAL_CARD_W + x) * 3;
			if (y < 200) { /* flat white: long runs */
				p[0] = p[1] = p[2] = 255;
			} else if (y < 400) { /* gradients */
				p[0] = (uint8_t)(x / 4);
				p[1] = (uint8_t)(y);
				p[2] = (uint8_t)((x + y) / 7);
			} else { /* flat colour */
				p[0] = 200, p[1] = 40, p[2] = 90;
			}
			if (c->black && x > 100 && x < 600 && (y % 40) < 12 && y > 420)
				c->black[(size_t)y * HAL_CARD_W + x] = 1;
		}
	}
	c->side.rgb = c->rgb;
	c->side.black = c->black;
	c->side.clear_x = 80, c->side.clear_y = 240, c->side.clear_w = 150;
	c->side.clear_h = 120;
	return c;
}

static void
card_free(Card *c)
{
	g_free(c->rgb);
	g_free(c->black);
	g_free(c);
}

/* All commands of BUF fed in one piece. */
static GPtrArray *
parse_all(const uint8_t *buf, size_t len, guint64 *skipped)
{
	EvoParser *p = evo_parser_new();
	evo_parser_feed(p, buf, len);
	GPtrArray *cmds = g_ptr_array_new_with_free_func((GDestroyNotify)evo_command_free);
	EvoCommand *cmd;
	while ((cmd = evo_parser_next(p)))
		g_ptr_array_add(cmds, cmd);
	assert_false(evo_parser_partial(p));
	if (skipped)
		*skipped = evo_parser_skipped(p);
	evo_parser_free(p);
	return cmds;
}

static EvoCommand *
cmd_at(GPtrArray *cmds, guint i)
{
	assert_true(i < cmds->len);
	return g_ptr_array_index(cmds, i);
}

static char *
source_path(const char *rel)
{
	const char *dir = g_getenv("EKTP_SOURCE_DIR");
	return g_build_filename(dir && *dir ? dir : ".", rel, NULL);
}

/* ---- replies ---- */

static void
test_put_and_replies(void **state)
{
	(void)state;
	g_autoptr(GByteArray) out = g_byte_array_new();
	evo_put(out, "Rco;%c", 'c');
	assert_int_equal(out->len, 7);
	assert_memory_equal(out->data, "\x1bRco;c\r", 7);

	assert_int_equal(evo_reply_end((const uint8_t *)"OK\r", 3), 2);
	assert_int_equal(evo_reply_end((const uint8_t *)"1532\0\0", 6), 4);
	assert_int_equal(evo_reply_end((const uint8_t *)"NO CA", 5), -1);
	assert_int_equal(evo_reply_end((const uint8_t *)"", 0), -1);

	static const struct {
		const char *reply, *reason;
	} errs[] = {
		{"ERR MECHANICAL", "media-jam"},
		{"ERR RIBBON ENDED", "marker-supply-empty"},
		{"ERR COVER OPEN", "cover-open"},
		{"ERR FEEDER EMPTY", "media-empty"},
		{"ERR HOPPER FULL", "output-area-full"},
		{"ERR REJECT BOX FULL", "output-area-full"},
		{"ERR NEED CLEANING", "cleaning-required"},
		{"ERR CARD", "media-needed"},
		{"ERR SOMETHING NEW", "other"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(errs); i++) {
		GError *error = NULL;
		assert_string_equal(evo_reason(errs[i].reply), errs[i].reason);
		assert_int_equal(evo_reply_check("Sic", errs[i].reply, &error), -1);
		assert_true(g_error_matches(error, HAL_ERROR, HAL_ERROR_DEVICE));
		g_autofree char *want = g_strdup_printf("%s: the printer answered %s to Sic",
							errs[i].reason, errs[i].reply);
		assert_string_equal(error->message, want);
		g_error_free(error);
	}
	const char *values[] = {"OK", "1532", "NO CARD", "ymcko", "Dualys 3"};
	for (size_t i = 0; i < G_N_ELEMENTS(values); i++) {
		assert_null(evo_reason(values[i]));
		assert_int_equal(evo_reply_check("Rtp", values[i], NULL), 0);
	}
	const char *bad[] = {"ERROR CDE", "", "ERRATIC", "O\x01K", "ERROR"};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		GError *error = NULL;
		assert_null(evo_reason(bad[i]));
		assert_int_equal(evo_reply_check("Rxx", bad[i], &error), -1);
		assert_true(g_error_matches(error, HAL_ERROR, HAL_ERROR_FAILED));
		g_error_free(error);
	}
	assert_int_equal(evo_reply_check("Rtp", NULL, NULL), -1);
}

/* ---- panels from a card ---- */

static const EvoPanel *
find_panel(const EvoPanelSet *set, char name)
{
	for (int i = 0; i < set->n; i++)
		if (set->panel[i].panel == name)
			return &set->panel[i];
	return NULL;
}

static void
test_make_panels(void **state)
{
	(void)state;
	Card *c = card_new(TRUE);
	EvoPanelSet set;
	GError *error = NULL;
	assert_int_equal(evo_make_panels(&c->side, NULL, &set, &error), 0);
	assert_int_equal(set.n, 5);
	const char *order = "ymcko";
	for (int i = 0; i < 5; i++) {
		assert_int_equal(set.panel[i].panel, order[i]);
		assert_int_equal(set.panel[i].levels, i < 3 ? 32 : 2);
	}
	const EvoPanel *y = find_panel(&set, 'y'), *m = find_panel(&set, 'm'),
		       *cy = find_panel(&set, 'c'), *k = find_panel(&set, 'k'),
		       *o = find_panel(&set, 'o');
	/* flat colour (200, 40, 90) at (700, 500): C = 55, M = 215, Y = 165 of 255 */
	size_t i = 500u * HAL_CARD_W + 700;
	assert_int_equal(cy->dots[i], (55 * 31 + 127) / 255);
	assert_int_equal(m->dots[i], (215 * 31 + 127) / 255);
	assert_int_equal(y->dots[i], (165 * 31 + 127) / 255);
	assert_int_equal(k->dots[i], 0);
	/* white: no ink at all */
	i = 10u * HAL_CARD_W + 10;
	assert_int_equal(cy->dots[i] | m->dots[i] | y->dots[i] | k->dots[i], 0);
	/* black text: pure K */
	i = 441u * HAL_CARD_W + 300;
	assert_int_equal(c->black[i], 1);
	assert_int_equal(k->dots[i], 1);
	assert_int_equal(cy->dots[i] | m->dots[i] | y->dots[i], 0);
	/* overlay: bare over the chip only */
	assert_int_equal(o->dots[240u * HAL_CARD_W + 80], 0);
	assert_int_equal(o->dots[359u * HAL_CARD_W + 229], 0);
	assert_int_equal(o->dots[239u * HAL_CARD_W + 80], 1);
	assert_int_equal(o->dots[240u * HAL_CARD_W + 230], 1);
	assert_int_equal(o->dots[0], 1);
	evo_panel_set_clear(&set);

	/* black ribbons: K only, text plus dithered picture */
	assert_int_equal(evo_make_panels(&c->side, "kb", &set, &error), 0);
	assert_int_equal(set.n, 1);
	assert_int_equal(set.panel[0].panel, 'k');
	assert_int_equal(set.panel[0].dots[441u * HAL_CARD_W + 300], 1);
	size_t inked = 0, white = 0;
	for (int yy = 440; yy < 448; yy++) /* flat colour, luminance 94: ~63 % ink */
		for (int xx = 700; xx < 708; xx++)
			inked += set.panel[0].dots[(size_t)yy * HAL_CARD_W + xx];
	for (int xx = 0; xx < HAL_CARD_W; xx++) /* white stays white */
		white += set.panel[0].dots[50u * HAL_CARD_W + xx];
	assert_in_range(inked, 36, 44);
	assert_int_equal(white, 0);
	evo_panel_set_clear(&set);

	/* no black mask: a colour ribbon has an empty K; a black one thresholds */
	c->side.black = NULL;
	assert_int_equal(evo_make_panels(&c->side, "ymcko", &set, &error), 0);
	k = find_panel(&set, 'k');
	for (size_t j = 0; j < NDOTS; j++)
		assert_int_equal(k->dots[j], 0);
	evo_panel_set_clear(&set);
	assert_int_equal(evo_make_panels(&c->side, "k", &set, &error), 0);
	inked = 0; /* where the text was: now only the dithered picture */
	for (int yy = 440; yy < 448; yy++)
		for (int xx = 300; xx < 308; xx++)
			inked += set.panel[0].dots[(size_t)yy * HAL_CARD_W + xx];
	assert_in_range(inked, 36, 44);
	evo_panel_set_clear(&set);

	assert_int_equal(evo_make_panels(&c->side, "rainbow", &set, &error), -1);
	assert_true(g_error_matches(error, HAL_ERROR, HAL_ERROR_CONFIG));
	assert_non_null(strstr(error->message, "rainbow"));
	g_clear_error(&error);
	assert_int_equal(set.n, 0);
	assert_string_equal(evo_ribbon_panels(""), "ymcko");
	assert_string_equal(evo_ribbon_panels("ko"), "ko");
	assert_null(evo_ribbon_panels("x"));
	card_free(c);
}

/* ---- round trips ---- */

static void
assert_same_dots(const EvoPanel *a, const EvoPanel *b)
{
	assert_int_equal(a->panel, b->panel);
	assert_int_equal(a->levels, b->levels);
	for (size_t i = 0; i < NDOTS; i++)
		if (a->dots[i] != b->dots[i])
			fail_msg("panel %c differs at x=%zu y=%zu: %u != %u", a->panel,
				 i % HAL_CARD_W, i / HAL_CARD_W, a->dots[i], b->dots[i]);
}

static void
test_front_round_trip(void **state)
{
	(void)state;
	const char *ribbons[] = {"ymcko", "kb"};
	for (size_t r = 0; r < G_N_ELEMENTS(ribbons); r++) {
		Card *c = card_new(TRUE);
		g_autoptr(GByteArray) out = g_byte_array_new();
		GError *error = NULL;
		assert_int_equal(evo_put_front(out, &c->side, ribbons[r], &error), 0);
		EvoPanelSet set;
		assert_int_equal(evo_make_panels(&c->side, ribbons[r], &set, &error), 0);

		guint64 skipped = 1;
		g_autoptr(GPtrArray) cmds = parse_all(out->data, out->len, &skipped);
		assert_int_equal(skipped, 0);
		assert_int_equal(cmds->len, 2 + (guint)set.n);
		assert_string_equal(cmd_at(cmds, 0)->text, "Ss");
		assert_string_equal(cmd_at(cmds, 1)->text, "Sr");
		for (int i = 0; i < set.n; i++) {
			const EvoCommand *cmd = cmd_at(cmds, 2 + (guint)i);
			gboolean mono = set.panel[i].levels == 2;
			assert_string_equal(cmd->argv[0], mono ? "Dbc" : "Db");
			assert_false(cmd->no_cr);
			EvoPanel got;
			assert_int_equal(evo_panel_decode(cmd, &got, &error), 0);
			assert_same_dots(&set.panel[i], &got);
			evo_panel_clear(&got);
		}
		evo_panel_set_clear(&set);
		card_free(c);
	}
	/* A bad ribbon appends nothing. */
	Card *c = card_new(FALSE);
	g_autoptr(GByteArray) out = g_byte_array_new();
	GError *error = NULL;
	assert_int_equal(evo_put_front(out, &c->side, "zz", &error), -1);
	assert_int_equal(out->len, 0);
	g_clear_error(&error);
	card_free(c);
}

/* A colour panel at LEVELS with runs short, long (past 256 and 512), lines
 * all white, lines white at their end, and one dot different per line. */
static void
colour_panel(EvoPanel *p, char name, int levels, unsigned seed)
{
	p->panel = name;
	p->levels = levels;
	p->dots = g_malloc0(NDOTS);
	GRand *r = g_rand_new_with_seed(seed);
	for (int y = 0; y < HAL_CARD_H; y++) {
		for (int x = 0; x < HAL_CARD_W; x++) {
			uint8_t v;
			if (x % 97 == 0)
				v = 0; /* white lines */
			else if (x % 5 == 0)
				v = (uint8_t)g_rand_int_range(r, 0, levels); /* noise */
			else if (x % 5 == 1)
				v = y < 300 ? (uint8_t)(levels - 1) : 0; /* white line end */
			else
				v = (uint8_t)((x / 13) % levels); /* runs of 648 */
			if (y == x % HAL_CARD_H)
				v = (uint8_t)((v + 1) % levels);
			p->dots[(size_t)y * HAL_CARD_W + x] = v;
		}
	}
	g_rand_free(r);
}

static void
mono_panel(EvoPanel *p, char name, unsigned seed)
{
	p->panel = name;
	p->levels = 2;
	p->dots = g_malloc0(NDOTS);
	GRand *r = g_rand_new_with_seed(seed);
	for (int y = 0; y < HAL_CARD_H; y++)
		for (int x = 0; x < HAL_CARD_W; x++)
			p->dots[(size_t)y * HAL_CARD_W + x] =
				x % 7 == 0   ? 0
				: x % 7 == 1 ? 1
				: x % 7 == 2 ? (y < 500)
				: x % 7 == 3 ? (y > 600)
					     : (uint8_t)g_rand_int_range(r, 0, 2);
	g_rand_free(r);
}

static EvoCommand *
one_command(const GByteArray *bytes)
{
	g_autoptr(GPtrArray) cmds = parse_all(bytes->data, bytes->len, NULL);
	assert_int_equal(cmds->len, 1);
	return g_ptr_array_steal_index(cmds, 0);
}

static void
test_compressed_equals_plain(void **state)
{
	(void)state;
	EvoPanel src[7];
	colour_panel(&src[0], 'y', 32, 1);
	colour_panel(&src[1], 'm', 64, 2);
	colour_panel(&src[2], 'c', 128, 3);
	colour_panel(&src[3], 'y', 32, 4);
	mono_panel(&src[4], 'k', 5);
	mono_panel(&src[5], 'o', 6);
	/* a flat panel: one run per line, longer than 512 at 32 levels */
	src[6].panel = 'c', src[6].levels = 32, src[6].dots = g_malloc(NDOTS);
	memset(src[6].dots, 17, NDOTS);
	for (size_t i = 0; i < G_N_ELEMENTS(src); i++) {
		GError *error = NULL;
		g_autoptr(GByteArray) plain = g_byte_array_new();
		g_autoptr(GByteArray) packed = g_byte_array_new();
		assert_int_equal(evo_put_panel(plain, &src[i], FALSE, &error), 0);
		assert_int_equal(evo_put_panel(packed, &src[i], TRUE, &error), 0);
		g_autoptr(EvoCommand) a = one_command(plain);
		g_autoptr(EvoCommand) b = one_command(packed);
		assert_string_equal(a->argv[0], "Db");
		assert_string_equal(b->argv[0], "Dbc");
		assert_int_equal(a->len, evo_db_length(src[i].levels));
		assert_int_equal(b->argc, 4);
		EvoPanel da, dc;
		assert_int_equal(evo_panel_decode(a, &da, &error), 0);
		if (evo_panel_decode(b, &dc, &error) < 0)
			fail_msg("panel %zu: %s", i, error->message);
		assert_same_dots(&src[i], &da);
		assert_same_dots(&da, &dc);
		evo_panel_clear(&da);
		evo_panel_clear(&dc);
	}
	/* the flat panel compresses to one 2-byte run per line */
	g_autoptr(GByteArray) flat = g_byte_array_new();
	assert_int_equal(evo_put_panel(flat, &src[6], TRUE, NULL), 0);
	g_autoptr(EvoCommand) f = one_command(flat);
	assert_int_equal(f->len, 2 * EVO_LINES);
	assert_int_equal(f->data[0], 0x80 | 0x40 | 0x20 | 17); /* 648 = 2 × 256 + 136 */
	assert_int_equal(f->data[1], 136);
	/* levels that do not fit the panel are refused */
	GError *error = NULL;
	src[4].levels = 32;
	g_autoptr(GByteArray) junk = g_byte_array_new();
	assert_int_equal(evo_put_panel(junk, &src[4], TRUE, &error), -1);
	assert_int_equal(junk->len, 0);
	g_clear_error(&error);
	for (size_t i = 0; i < G_N_ELEMENTS(src); i++)
		evo_panel_clear(&src[i]);
}

/* A K panel whose every packed byte is 0x0D (CR); some lines ESC, NUL. */
static void
test_cr_in_data(void **state)
{
	(void)state;
	EvoPanel k = {.panel = 'k', .levels = 2, .dots = g_malloc0(NDOTS)};
	const uint8_t bytes[] = {0x0d, 0x1b, 0x00, 0x0d};
	for (int l = 0; l < EVO_LINES; l++)
		for (int j = 0; j < EVO_LINE_DOTS; j++) {
			uint8_t b = bytes[l % 4];
			/* line l is card column l; dot j is row 647 - j */
			k.dots[(size_t)(EVO_LINE_DOTS - 1 - j) * HAL_CARD_W + l] =
				(b >> (7 - j % 8)) & 1;
		}
	for (int compressed = 0; compressed < 2; compressed++) {
		g_autoptr(GByteArray) out = g_byte_array_new();
		evo_put(out, "Ss");
		assert_int_equal(evo_put_panel(out, &k, compressed, NULL), 0);
		evo_put(out, "Se");
		g_autoptr(GPtrArray) cmds = parse_all(out->data, out->len, NULL);
		assert_int_equal(cmds->len, 3);
		const EvoCommand *p = cmd_at(cmds, 1);
		assert_non_null(memchr(p->data, 0x0d, p->len));
		if (!compressed)
			assert_int_equal(p->data[0], 0x0d);
		assert_string_equal(cmd_at(cmds, 2)->text, "Se");
		EvoPanel got;
		assert_int_equal(evo_panel_decode(p, &got, NULL), 0);
		assert_same_dots(&k, &got);
		evo_panel_clear(&got);
	}
	evo_panel_clear(&k);
}

/* ---- parser ---- */

static char *
describe(GPtrArray *cmds)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < cmds->len; i++) {
		const EvoCommand *c = cmd_at(cmds, i);
		g_string_append_printf(s, "[%s|%zu|%u%u]", c->text, c->len, c->bad, c->no_cr);
		uint32_t h = 2166136261u; /* FNV-1a of the data */
		for (size_t j = 0; j < c->len; j++)
			h = (h ^ c->data[j]) * 16777619u;
		g_string_append_printf(s, "%08x", h);
	}
	return g_string_free(s, FALSE);
}

static void
test_split_feeds(void **state)
{
	(void)state;
	EvoPanel k;
	mono_panel(&k, 'k', 9);
	/* mostly white, a few CR bytes, to keep the stream small */
	for (size_t i = 0; i < NDOTS; i++)
		k.dots[i] = (i % HAL_CARD_W) % 50 == 3
				    ? (i / HAL_CARD_W) % 8 == 4 || (i / HAL_CARD_W) % 8 == 5 ||
					      (i / HAL_CARD_W) % 8 == 7
				    : 0;
	g_autoptr(GByteArray) s = g_byte_array_new();
	const uint8_t pad[3] = {0, 0, 0};
	g_byte_array_append(s, pad, 3);
	evo_put(s, "Rco;c");
	assert_int_equal(evo_put_panel(s, &k, TRUE, NULL), 0);
	g_byte_array_append(s, pad, 3);
	evo_put(s, "Se;1");
	g_autoptr(GPtrArray) whole = parse_all(s->data, s->len, NULL);
	assert_int_equal(whole->len, 3);
	g_autofree char *want = describe(whole);

	for (size_t cut = 0; cut <= s->len; cut++) {
		EvoParser *p = evo_parser_new();
		evo_parser_feed(p, s->data, cut);
		evo_parser_feed(p, s->data + cut, s->len - cut);
		g_autoptr(GPtrArray) cmds =
			g_ptr_array_new_with_free_func((GDestroyNotify)evo_command_free);
		EvoCommand *c;
		while ((c = evo_parser_next(p)))
			g_ptr_array_add(cmds, c);
		g_autofree char *got = describe(cmds);
		if (strcmp(got, want) != 0)
			fail_msg("cut at %zu: %s", cut, got);
		for (guint i = 0; i < cmds->len; i++)
			if (cmd_at(cmds, i)->len != cmd_at(whole, i)->len ||
			    (cmd_at(cmds, i)->len &&
			     memcmp(cmd_at(cmds, i)->data, cmd_at(whole, i)->data,
				    cmd_at(cmds, i)->len) != 0))
				fail_msg("cut at %zu: data of command %u differs", cut, i);
		assert_int_equal(evo_parser_skipped(p), 0);
		evo_parser_free(p);
	}
	/* one byte at a time */
	EvoParser *p = evo_parser_new();
	for (size_t i = 0; i < s->len; i++) {
		evo_parser_feed(p, s->data + i, 1);
		if (i == 10)
			assert_true(evo_parser_partial(p));
	}
	assert_false(evo_parser_partial(p));
	g_autoptr(GPtrArray) cmds =
		g_ptr_array_new_with_free_func((GDestroyNotify)evo_command_free);
	EvoCommand *c;
	while ((c = evo_parser_next(p)))
		g_ptr_array_add(cmds, c);
	g_autofree char *got = describe(cmds);
	assert_string_equal(got, want);
	/* re-serialising gives the stream back without the padding */
	g_autoptr(GByteArray) again = g_byte_array_new();
	for (guint i = 0; i < cmds->len; i++)
		evo_command_put(again, cmd_at(cmds, i));
	assert_int_equal(again->len, s->len - 6);
	assert_memory_equal(again->data, s->data + 3, again->len - 6);
	assert_memory_equal(again->data + again->len - 6, "\x1bSe;1\r", 6);
	evo_parser_free(p);
	evo_panel_clear(&k);
}

static void
test_garbage_resync(void **state)
{
	(void)state;
	GString *s = g_string_new(NULL);
	g_string_append(s, "junk");               /* 4 skipped */
	g_string_append(s, "\x1bRtp\r");          /* Rtp */
	g_string_append(s, "\xff\xfe");           /* 2 skipped */
	g_string_append(s, "\x1bRs");             /* cut by ESC: 3 skipped */
	g_string_append(s, "\x1bRsn\r");          /* Rsn */
	g_string_append(s, "\x1bRc\001o\r");      /* control byte: 4 skipped, "o\r" 2 */
	g_string_append_len(s, "\x1bRf\0v\r", 6); /* NUL inside: 4 skipped, "v\r" 2 */
	g_string_append(s, "\x1b"
			   "Db;q;2;zz\r"); /* bad panel: no data read */
	g_string_append(s, "\x1b");        /* an over-long head … */
	for (int i = 0; i < EVO_HEAD_MAX + 10; i++)
		g_string_append_c(s, 'A');
	g_string_append(s, "\r\x1b"
			   "Dbc;k;2;99999999;\r"); /* count too large: bad */
	g_string_append(s, "\x1bRfv\r");           /* Rfv */
	guint64 skipped = 0;
	g_autoptr(GPtrArray) cmds = parse_all((const uint8_t *)s->str, s->len, &skipped);
	assert_int_equal(cmds->len, 5);
	assert_string_equal(cmd_at(cmds, 0)->text, "Rtp");
	assert_string_equal(cmd_at(cmds, 1)->text, "Rsn");
	assert_string_equal(cmd_at(cmds, 2)->text, "Db;q;2");
	assert_true(cmd_at(cmds, 2)->bad);
	assert_null(cmd_at(cmds, 2)->data);
	assert_string_equal(cmd_at(cmds, 3)->text, "Dbc;k;2;99999999");
	assert_true(cmd_at(cmds, 3)->bad);
	assert_string_equal(cmd_at(cmds, 4)->text, "Rfv");
	assert_int_equal(cmd_at(cmds, 4)->argc, 1);
	/* 4 + 2 + 3 + (4+2) + (4+2) + "zz\r" 3 + over-long (1 + 1024 + 1, then 9 + CR),
	 * and the CR after the bad Dbc */
	assert_int_equal(skipped, 4 + 2 + 3 + 6 + 6 + 3 + (EVO_HEAD_MAX + 2) + 10 + 1);
	EvoPanel pan;
	GError *error = NULL;
	assert_int_equal(evo_panel_decode(cmd_at(cmds, 2), &pan, &error), -1);
	assert_null(pan.dots);
	g_clear_error(&error);
	assert_int_equal(evo_panel_decode(cmd_at(cmds, 0), &pan, &error), -1);
	assert_non_null(strstr(error->message, "Rtp"));
	g_clear_error(&error);
	g_string_free(s, TRUE);

	/* data without its CR: the command ends by length, the next starts */
	g_autoptr(GByteArray) b = g_byte_array_new();
	const uint8_t head[] = "\x1b"
			       "Dbc;k;2;3;";
	const uint8_t rest[] = {0x00, 0xff, 0x01, 0x1b, 'S', 'e', '\r'};
	g_byte_array_append(b, head, sizeof head - 1);
	g_byte_array_append(b, rest, sizeof rest);
	g_autoptr(GPtrArray) c2 = parse_all(b->data, b->len, &skipped);
	assert_int_equal(c2->len, 2);
	assert_true(cmd_at(c2, 0)->no_cr);
	assert_int_equal(cmd_at(c2, 0)->len, 3);
	assert_string_equal(cmd_at(c2, 1)->text, "Se");

	/* reset drops a half command */
	EvoParser *p = evo_parser_new();
	evo_parser_feed(p, (const uint8_t *)"\x1bRco;", 5);
	assert_true(evo_parser_partial(p));
	evo_parser_reset(p);
	evo_parser_feed(p, (const uint8_t *)"c\r\x1bRtp\r", 7);
	EvoCommand *c = evo_parser_next(p);
	assert_non_null(c);
	assert_string_equal(c->text, "Rtp");
	evo_command_free(c);
	assert_null(evo_parser_next(p));
	evo_parser_free(p);
}

/* Hand-made Dbc and Db data that must be refused. */
static void
expect_refused(const char *text, const uint8_t *data, size_t len, const char *words)
{
	EvoCommand cmd = {0};
	cmd.text = (char *)text;
	cmd.argv = g_strsplit(text, ";", -1);
	cmd.argc = (int)g_strv_length(cmd.argv);
	cmd.data = (uint8_t *)data;
	cmd.len = len;
	EvoPanel p;
	GError *error = NULL;
	assert_int_equal(evo_panel_decode(&cmd, &p, &error), -1);
	assert_null(p.dots);
	if (!strstr(error->message, words))
		fail_msg("%s: '%s' does not say '%s'", text, error->message, words);
	g_error_free(error);
	g_strfreev(cmd.argv);
}

static void
test_decode_refusals(void **state)
{
	(void)state;
	uint8_t d[4000];
	memset(d, 0, sizeof d);
	char text[64];
	/* K: 1015 white lines are one short */
	g_snprintf(text, sizeof text, "Dbc;k;2;%d", 1015);
	expect_refused(text, d, 1015, "ends at line 1015");
	/* a count of 82 */
	d[5] = 82;
	g_snprintf(text, sizeof text, "Dbc;k;2;%d", 1016);
	expect_refused(text, d, 1016, "count 82");
	/* a count whose bytes are missing: the last line */
	d[5] = 0;
	d[1015] = 81;
	expect_refused(text, d, 1016, "81 bytes announced");
	/* bytes left over */
	d[1015] = 0;
	g_snprintf(text, sizeof text, "Dbc;k;2;%d", 1020);
	expect_refused(text, d, 1020, "4 bytes after");
	/* the stated length must be the data's */
	expect_refused("Dbc;k;2;1016", d, 1000, "1016 bytes, 1000 came");
	/* colour: too few dots, a run past the end, a run without its count */
	expect_refused("Dbc;y;32;10", d, 10, "covers 10 of");
	memset(d, 0xff, sizeof d);
	expect_refused("Dbc;y;32;4000", d, 4000, "runs past");
	expect_refused("Dbc;m;128;1", d, 1, "inside a run");
	/* Db of the wrong length; unknown levels; wrong panel */
	expect_refused("Db;k;2", d, 100, "not 82296");
	expect_refused("Db;y;2", d, 100, "not one we know");
	expect_refused("Db;k;32", d, 100, "not one we know");
	expect_refused("Db;z;2", d, 100, "not one we know");
	expect_refused("Db;k", d, 100, "PANEL;LEVELS");
	expect_refused("Dbc;k;2;x", d, 100, "x bytes");
	/* the guide's long Db figure (84624) is not what a 648-dot line packs to */
	assert_int_equal(evo_db_length(2), 82296);
	assert_int_equal(evo_db_length(32), 411480);
	assert_int_equal(evo_db_length(64), 493776);
	assert_int_equal(evo_db_length(128), 576072);
	assert_int_equal(evo_db_length(6), 0);
}

/* Random bytes, with command starts sprinkled in, in random chunks: nothing
 * may crash or read out of bounds (ASan); every panel decodes or is refused. */
static void
test_hostile_input(void **state)
{
	(void)state;
	GRand *r = g_rand_new_with_seed(42);
	const char *starts[] = {"\x1b"
				"Dbc;k;2;40;",
				"\x1b"
				"Db;k;2;",
				"\x1b"
				"Dbc;y;32;30;",
				"\x1b"
				"Dbc;m;64;",
				"\x1b"
				"Rco;c\r",
				"\x1b",
				"\r",
				"\x1b"
				"Dbc;o;2;1016;",
				"\x1b"
				"Dbc;c;128;9;"};
	guint64 commands = 0, decoded = 0;
	for (int round = 0; round < 300; round++) {
		GByteArray *b = g_byte_array_new();
		int n = g_rand_int_range(r, 1, 6000);
		while ((int)b->len < n) {
			if (g_rand_int_range(r, 0, 20) == 0) {
				const char *s =
					starts[g_rand_int_range(r, 0, G_N_ELEMENTS(starts))];
				g_byte_array_append(b, (const uint8_t *)s, strlen(s));
			} else {
				uint8_t x = (uint8_t)g_rand_int_range(r, 0, 256);
				if (round % 3 == 0)
					x = (uint8_t)g_rand_int_range(r, 0, 3); /* white lines */
				g_byte_array_append(b, &x, 1);
			}
		}
		EvoParser *p = evo_parser_new();
		for (guint i = 0; i < b->len;) {
			guint chunk = (guint)g_rand_int_range(r, 1, 300);
			chunk = MIN(chunk, b->len - i);
			evo_parser_feed(p, b->data + i, chunk);
			i += chunk;
			EvoCommand *c;
			while ((c = evo_parser_next(p))) {
				EvoPanel pan;
				commands++;
				if (evo_panel_decode(c, &pan, NULL) == 0)
					decoded++;
				evo_panel_clear(&pan);
				evo_command_free(c);
			}
		}
		evo_parser_free(p);
		g_byte_array_unref(b);
	}
	g_rand_free(r);
	assert_true(commands > 100);
	(void)decoded;
}

/* ---- the vendor's captures ---- */

static void
check_capture(const char *name, size_t dbc_len, double min_ink, double max_ink)
{
	g_autofree char *path = source_path(name);
	g_autofree char *buf = NULL;
	gsize len = 0;
	GError *error = NULL;
	if (!g_file_get_contents(path, &buf, &len, &error))
		fail_msg("%s (set EKTP_SOURCE_DIR to the source tree)", error->message);
	guint64 skipped = 1;
	g_autoptr(GPtrArray) cmds = parse_all((const uint8_t *)buf, len, &skipped);
	assert_int_equal(skipped, 0);
	const char *names[] = {"Pr", "Pmi", "Pc", "Pdt", "Mr", "Ppws", "Ss", "Sr", "Dbc", "Se"};
	assert_int_equal(cmds->len, G_N_ELEMENTS(names));
	for (guint i = 0; i < cmds->len; i++)
		assert_string_equal(cmd_at(cmds, i)->argv[0], names[i]);
	assert_string_equal(cmd_at(cmds, 0)->text, "Pr;k");
	assert_string_equal(cmd_at(cmds, 9)->text, "Se;1");
	const EvoCommand *dbc = cmd_at(cmds, 8);
	assert_int_equal(dbc->len, dbc_len);
	assert_false(dbc->no_cr);
	EvoPanel k;
	if (evo_panel_decode(dbc, &k, &error) < 0)
		fail_msg("%s: %s", name, error->message);
	assert_int_equal(k.panel, 'k');
	size_t ink = 0;
	for (size_t i = 0; i < NDOTS; i++)
		ink += k.dots[i];
	double frac = (double)ink / NDOTS;
	if (frac < min_ink || frac > max_ink)
		fail_msg("%s: %.3f of the dots inked", name, frac);
	/* our encoder writes the vendor's bytes */
	g_autoptr(GByteArray) again = g_byte_array_new();
	assert_int_equal(evo_put_panel(again, &k, TRUE, NULL), 0);
	g_autoptr(EvoCommand) ours = one_command(again);
	assert_string_equal(ours->text, dbc->text);
	assert_int_equal(ours->len, dbc->len);
	assert_memory_equal(ours->data, dbc->data, dbc->len);
	evo_panel_clear(&k);
}

static void
test_capture_black(void **state)
{
	(void)state;
	check_capture("tests/data/evolis/card-black.bin", 83312, 0.97, 1.0);
}

static void
test_capture_text(void **state)
{
	(void)state;
	check_capture("tests/data/evolis/evolis-card-text.bin", 83223, 0.05, 0.6);
}

/* Orientation, from the text card: its "15pt" label sits in the bottom
 * right corner of the landscape card (line records 905 … 1010, the first
 * dots of each line); the same box in the other three corners holds only
 * the dithered background.  A mirrored or turned decoder fails this. */
static double
ink_in(const EvoPanel *k, int x0, int x1, int y0, int y1)
{
	size_t ink = 0;
	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++)
			ink += k->dots[(size_t)y * HAL_CARD_W + x];
	return (double)ink / ((x1 - x0) * (y1 - y0));
}

static void
test_capture_orientation(void **state)
{
	(void)state;
	g_autofree char *path = source_path("tests/data/evolis/evolis-card-text.bin");
	g_autofree char *buf = NULL;
	gsize len = 0;
	assert_true(g_file_get_contents(path, &buf, &len, NULL));
	g_autoptr(GPtrArray) cmds = parse_all((const uint8_t *)buf, len, NULL);
	EvoPanel k;
	assert_int_equal(evo_panel_decode(cmd_at(cmds, 8), &k, NULL), 0);
	const int W = HAL_CARD_W, H = HAL_CARD_H;
	double br = ink_in(&k, 905, 1010, 585, 630);
	double tr = ink_in(&k, 905, 1010, H - 630, H - 585);
	double bl = ink_in(&k, W - 1010, W - 905, 585, 630);
	double tl = ink_in(&k, W - 1010, W - 905, H - 630, H - 585);
	if (br < 1.5 * MAX(MAX(tr, bl), tl))
		fail_msg("label not bottom right: %.3f vs %.3f %.3f %.3f", br, tr, bl, tl);
	evo_panel_clear(&k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_and_replies),
		cmocka_unit_test(test_make_panels),
		cmocka_unit_test(test_front_round_trip),
		cmocka_unit_test(test_compressed_equals_plain),
		cmocka_unit_test(test_cr_in_data),
		cmocka_unit_test(test_split_feeds),
		cmocka_unit_test(test_garbage_resync),
		cmocka_unit_test(test_decode_refusals),
		cmocka_unit_test(test_hostile_input),
		cmocka_unit_test(test_capture_black),
		cmocka_unit_test(test_capture_text),
		cmocka_unit_test(test_capture_orientation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
