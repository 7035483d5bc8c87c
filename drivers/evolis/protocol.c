/* SPDX-License-Identifier: MIT */
/*
 * The Evolis escape protocol, both ways (see protocol.h and
 * docs/printer-protocol.md).  The host side turns a rendered card side into
 * panels and the panels into Db/Dbc commands; the other side parses a byte
 * stream back into commands and decodes their panels, for the printer
 * emulator and the replay tool.  The parser treats its input as hostile:
 * every length comes from the stream and is checked before it is used, and
 * nothing is read past what was fed.
 *
 * Panel layout, as the vendor's own driver sends it (two captured jobs in
 * tests/data/evolis/): 1016 lines of 648 dots; a line is one column of the
 * landscape card, line 0 its left edge, and a line's first dot is the
 * card's bottom row.  Dots are packed most significant bit first, 1, 5, 6 or
 * 7 bits each; every line fills whole bytes (81, 405, 486 or 567).
 */
#include "drivers/evolis/protocol.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ESC 0x1b
#define CR 0x0d

/* ---- host side ---- */

void
evo_put(GByteArray *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	const uint8_t esc = ESC, cr = CR;
	g_byte_array_append(out, &esc, 1);
	g_byte_array_append(out, (const uint8_t *)text, strlen(text));
	g_byte_array_append(out, &cr, 1);
}

gssize
evo_reply_end(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] == CR || buf[i] == 0)
			return (gssize)i;
	return -1;
}

/* ERR replies of docs/printer-protocol.md and their CUPS reasons. */
static const struct {
	const char *what;
	const char *reason;
} err_reasons[] = {
	{"MECHANICAL", "media-jam"},
	{"RIBBON ENDED", "marker-supply-empty"},
	{"COVER OPEN", "cover-open"},
	{"FEEDER EMPTY", "media-empty"},
	{"HOPPER FULL", "output-area-full"},
	{"REJECT BOX FULL", "output-area-full"},
	{"NEED CLEANING", "cleaning-required"},
	{"CARD", "media-needed"},
};

static gboolean
is_err(const char *reply)
{
	return reply && strncmp(reply, "ERR", 3) == 0 && strncmp(reply, "ERROR", 5) != 0 &&
	       (reply[3] == ' ' || reply[3] == 0);
}

const char *
evo_reason(const char *reply)
{
	if (!is_err(reply))
		return NULL;
	const char *what = reply[3] ? reply + 4 : "";
	for (size_t i = 0; i < G_N_ELEMENTS(err_reasons); i++)
		if (strcmp(what, err_reasons[i].what) == 0)
			return err_reasons[i].reason;
	/* An ERR we have no name for is still the printer refusing. */
	return "other";
}

/* REPLY or COMMAND made safe to quote in a message: printable ASCII, at most 60. */
static char *
quote(const char *s)
{
	GString *q = g_string_new(NULL);
	for (const char *p = s; *p && q->len < 60; p++)
		g_string_append_c(q, (*p >= 0x20 && *p < 0x7f) ? *p : '?');
	return g_string_free(q, FALSE);
}

int
evo_reply_check(const char *command, const char *reply, GError **error)
{
	g_autofree char *cmd = quote(command ? command : "");
	g_autofree char *rep = quote(reply ? reply : "");
	if (is_err(reply)) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_DEVICE, "%s: the printer answered %s to %s",
			    evo_reason(reply), rep, cmd);
		return -1;
	}
	/* Anything else starting ERR ("ERROR CDE", "ERRx") is not a value. */
	gboolean value = reply && *reply && strncmp(reply, "ERR", 3) != 0;
	for (const char *p = reply; value && *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			value = FALSE;
	if (!value) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED, "the printer answered '%s' to %s",
			    rep, cmd);
		return -1;
	}
	return 0;
}

/* ---- panels ---- */

static const struct {
	const char *type;
	const char *panels;
} ribbons[] = {
	{"ymcko", "ymcko"}, {"ymckok", "ymcko"}, {"ymckos", "ymcko"}, {"ko", "ko"},
	{"kb", "k"},        {"k", "k"},          {"kw", "k"},
};

const char *
evo_ribbon_panels(const char *ribbon)
{
	if (!ribbon || !*ribbon)
		ribbon = "ymcko";
	for (size_t i = 0; i < G_N_ELEMENTS(ribbons); i++)
		if (strcmp(ribbon, ribbons[i].type) == 0)
			return ribbons[i].panels;
	return NULL;
}

void
evo_panel_clear(EvoPanel *p)
{
	if (!p)
		return;
	g_free(p->dots);
	memset(p, 0, sizeof *p);
}

void
evo_panel_set_clear(EvoPanelSet *set)
{
	if (!set)
		return;
	for (int i = 0; i < set->n; i++)
		evo_panel_clear(&set->panel[i]);
	memset(set, 0, sizeof *set);
}

/* The classic 8×8 ordered-dither matrix (0 … 63). */
static const uint8_t bayer8[8][8] = {
	{0, 32, 8, 40, 2, 34, 10, 42},  {48, 16, 56, 24, 50, 18, 58, 26},
	{12, 44, 4, 36, 14, 46, 6, 38}, {60, 28, 52, 20, 62, 30, 54, 22},
	{3, 35, 11, 43, 1, 33, 9, 41},  {51, 19, 59, 27, 49, 17, 57, 25},
	{15, 47, 7, 39, 13, 45, 5, 37}, {63, 31, 55, 23, 61, 29, 53, 21},
};

int
evo_make_panels(const HalCardSide *side, const char *ribbon, EvoPanelSet *out, GError **error)
{
	memset(out, 0, sizeof *out);
	const char *panels = evo_ribbon_panels(ribbon);
	if (!panels) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_CONFIG,
			    "unknown ribbon type '%s' (ymcko, ymckok, ymckos, ko, kb, k, kw)",
			    ribbon);
		return -1;
	}
	if (!side || !side->rgb) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED, "no card picture to print");
		return -1;
	}
	const size_t n = (size_t)HAL_CARD_W * HAL_CARD_H;
	gboolean colour = strchr(panels, 'y') != NULL;
	/* The clear rectangle, clipped to the card. */
	int cx0 = 0, cy0 = 0, cx1 = 0, cy1 = 0;
	if (side->clear_w > 0 && side->clear_h > 0) {
		cx0 = CLAMP(side->clear_x, 0, HAL_CARD_W);
		cy0 = CLAMP(side->clear_y, 0, HAL_CARD_H);
		cx1 = CLAMP(side->clear_x + side->clear_w, 0, HAL_CARD_W);
		cy1 = CLAMP(side->clear_y + side->clear_h, 0, HAL_CARD_H);
	}
	for (const char *p = panels; *p; p++) {
		EvoPanel *pan = &out->panel[out->n++];
		pan->panel = *p;
		pan->levels = strchr("ymc", *p) ? 32 : 2;
		pan->dots = g_malloc(n);
	}
	for (int y = 0; y < HAL_CARD_H; y++) {
		for (int x = 0; x < HAL_CARD_W; x++) {
			size_t i = (size_t)y * HAL_CARD_W + x;
			const uint8_t *px = side->rgb + i * 3;
			gboolean black = side->black && side->black[i];
			for (int k = 0; k < out->n; k++) {
				EvoPanel *pan = &out->panel[k];
				uint8_t v = 0;
				switch (pan->panel) {
				case 'y':
				case 'm':
				case 'c': {
					int ch = pan->panel == 'c' ? 0 : pan->panel == 'm' ? 1 : 2;
					v = black ? 0
						  : (uint8_t)(((255 - px[ch]) * 31 + 127) / 255);
					break;
				}
				case 'k':
					if (colour) {
						v = black;
					} else {
						unsigned lum = (299u * px[0] + 587u * px[1] +
								114u * px[2] + 500) /
							       1000;
						unsigned t = bayer8[y & 7][x & 7] * 4u + 2;
						v = black || (255 - lum) > t;
					}
					break;
				case 'o':
					v = !(x >= cx0 && x < cx1 && y >= cy0 && y < cy1);
					break;
				}
				pan->dots[i] = v;
			}
		}
	}
	return 0;
}

static int
level_bits(int levels)
{
	switch (levels) {
	case 2:
		return 1;
	case 32:
		return 5;
	case 64:
		return 6;
	case 128:
		return 7;
	default:
		return 0;
	}
}

size_t
evo_db_length(int levels)
{
	return (size_t)EVO_LINES * EVO_LINE_DOTS * level_bits(levels) / 8;
}

static gboolean
levels_fit(char panel, int levels)
{
	if (panel == 'k' || panel == 'o')
		return levels == 2;
	if (panel == 'y' || panel == 'm' || panel == 'c')
		return levels == 32 || levels == 64 || levels == 128;
	return FALSE;
}

/* The card index of dot J of line L. */
static inline size_t
card_index(int line, int j)
{
	return (size_t)(EVO_LINE_DOTS - 1 - j) * HAL_CARD_W + line;
}

/* Line L of PANEL as values in transmission order. */
static void
get_line(const EvoPanel *panel, int line, uint8_t *vals)
{
	uint8_t max = (uint8_t)(panel->levels - 1);
	for (int j = 0; j < EVO_LINE_DOTS; j++) {
		uint8_t v = panel->dots[card_index(line, j)];
		vals[j] = v > max ? max : v;
	}
}

/* Packs N values of BITS bits each, MSB first, into OUT (N*BITS a multiple of 8). */
static void
pack_bits(const uint8_t *vals, int n, int bits, uint8_t *out)
{
	unsigned acc = 0, nacc = 0;
	size_t o = 0;
	for (int j = 0; j < n; j++) {
		acc = (acc << bits) | vals[j];
		nacc += bits;
		while (nacc >= 8) {
			nacc -= 8;
			out[o++] = (uint8_t)(acc >> nacc);
		}
		acc &= (1u << nacc) - 1;
	}
}

/* The longest run a Dbc count can say for LEVELS (guide §4). */
static int
run_max(int levels)
{
	return levels == 32 ? 767 : levels == 64 ? 511 : 255;
}

/* Guide §4, K and O: per line 0x00 white, 0xFF black, or N (1 … 81) and the
 * line's first N bytes, the rest being white. */
static void
put_dbc_mono_line(GByteArray *out, const uint8_t *bytes)
{
	int last = -1;
	gboolean all_black = TRUE;
	for (int b = 0; b < EVO_LINE_DOTS / 8; b++) {
		if (bytes[b])
			last = b;
		if (bytes[b] != 0xff)
			all_black = FALSE;
	}
	uint8_t head = all_black ? 0xff : (uint8_t)(last + 1);
	g_byte_array_append(out, &head, 1);
	if (!all_black && last >= 0)
		g_byte_array_append(out, bytes, (guint)(last + 1));
}

/* Guide §4, Y, M and C: a byte with MSB 0 is one dot; MSB 1 is a value and
 * the next byte a count (for 64 and 32 levels, bits 6 and 5 add 256 each);
 * a count of 0 leaves the rest of the line white (ours: the guide shows it as
 * a white line; a whole line is the case where it starts the line). */
static void
put_dbc_colour_line(GByteArray *out, const uint8_t *vals, int levels)
{
	int j = 0, max = run_max(levels);
	while (j < EVO_LINE_DOTS) {
		int k = j;
		while (k < EVO_LINE_DOTS && vals[k] == 0)
			k++;
		if (k == EVO_LINE_DOTS) {
			const uint8_t white[2] = {0x80, 0x00};
			g_byte_array_append(out, white, 2);
			return;
		}
		uint8_t v = vals[j];
		int run = 1;
		while (j + run < EVO_LINE_DOTS && vals[j + run] == v && run < max)
			run++;
		if (run == 1) {
			g_byte_array_append(out, &v, 1);
		} else {
			int extra = run >> 8;
			uint8_t b[2];
			b[0] = 0x80 | v;
			/* extra 1: bit 6; extra 2 (32 levels only): bits 6 and 5 */
			if (extra >= 1)
				b[0] |= 1u << 6;
			if (extra >= 2)
				b[0] |= 1u << 5;
			b[1] = (uint8_t)(run & 0xff);
			g_byte_array_append(out, b, 2);
		}
		j += run;
	}
}

int
evo_put_panel(GByteArray *out, const EvoPanel *panel, gboolean compressed, GError **error)
{
	if (!panel || !panel->dots || !levels_fit(panel->panel, panel->levels)) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED,
			    "panel '%c' cannot be sent with %d levels", panel ? panel->panel : '?',
			    panel ? panel->levels : 0);
		return -1;
	}
	int bits = level_bits(panel->levels);
	size_t line_bytes = (size_t)EVO_LINE_DOTS * bits / 8;
	uint8_t vals[EVO_LINE_DOTS];
	uint8_t packed[EVO_LINE_DOTS];
	const uint8_t esc = ESC, cr = CR;
	if (!compressed) {
		g_autofree char *head = g_strdup_printf("Db;%c;%d;", panel->panel, panel->levels);
		g_byte_array_append(out, &esc, 1);
		g_byte_array_append(out, (const uint8_t *)head, strlen(head));
		for (int l = 0; l < EVO_LINES; l++) {
			get_line(panel, l, vals);
			pack_bits(vals, EVO_LINE_DOTS, bits, packed);
			g_byte_array_append(out, packed, (guint)line_bytes);
		}
		g_byte_array_append(out, &cr, 1);
		return 0;
	}
	g_autoptr(GByteArray) data = g_byte_array_new();
	for (int l = 0; l < EVO_LINES; l++) {
		get_line(panel, l, vals);
		if (bits == 1) {
			pack_bits(vals, EVO_LINE_DOTS, 1, packed);
			put_dbc_mono_line(data, packed);
		} else {
			put_dbc_colour_line(data, vals, panel->levels);
		}
	}
	evo_put(out, "Dbc;%c;%d;%u;", panel->panel, panel->levels, data->len);
	/* evo_put ended the head with CR: the data goes between the head and it. */
	g_byte_array_set_size(out, out->len - 1);
	g_byte_array_append(out, data->data, data->len);
	g_byte_array_append(out, &cr, 1);
	return 0;
}

int
evo_put_front(GByteArray *out, const HalCardSide *front, const char *ribbon, GError **error)
{
	EvoPanelSet set;
	if (evo_make_panels(front, ribbon, &set, error) < 0)
		return -1;
	guint start = out->len;
	evo_put(out, "Ss");
	evo_put(out, "Sr");
	int rc = 0;
	for (int i = 0; i < set.n && rc == 0; i++) {
		/* K and O compressed as the vendor's driver does; Y, M and C plain:
		 * the guide's YMC compression is not shown by any capture. */
		gboolean mono = set.panel[i].levels == 2;
		rc = evo_put_panel(out, &set.panel[i], mono, error);
	}
	evo_panel_set_clear(&set);
	if (rc < 0)
		g_byte_array_set_size(out, start);
	return rc;
}

/* ---- parser ---- */

enum { P_IDLE, P_HEAD, P_DATA, P_TRAIL };

struct EvoParser {
	int state;
	GString *head;
	int semis;    /* ';' in HEAD so far */
	gboolean dbc; /* HEAD names Dbc (else Db, when data is expected) */
	size_t need;  /* data bytes still to come */
	GByteArray *data;
	GQueue done;
	guint64 skipped;
};

EvoParser *
evo_parser_new(void)
{
	EvoParser *p = g_new0(EvoParser, 1);
	p->head = g_string_new(NULL);
	g_queue_init(&p->done);
	return p;
}

void
evo_command_free(EvoCommand *cmd)
{
	if (!cmd)
		return;
	g_free(cmd->text);
	g_strfreev(cmd->argv);
	g_free(cmd->data);
	g_free(cmd);
}

void
evo_parser_free(EvoParser *p)
{
	if (!p)
		return;
	g_string_free(p->head, TRUE);
	if (p->data)
		g_byte_array_unref(p->data);
	g_queue_clear_full(&p->done, (GDestroyNotify)evo_command_free);
	g_free(p);
}

void
evo_parser_reset(EvoParser *p)
{
	g_string_truncate(p->head, 0);
	if (p->data) {
		g_byte_array_unref(p->data);
		p->data = NULL;
	}
	p->state = P_IDLE;
	p->semis = 0;
	p->need = 0;
}

gboolean
evo_parser_partial(const EvoParser *p)
{
	return p->state != P_IDLE;
}

guint64
evo_parser_skipped(const EvoParser *p)
{
	return p->skipped;
}

EvoCommand *
evo_parser_next(EvoParser *p)
{
	return g_queue_pop_head(&p->done);
}

/* Queues the command in HEAD (and DATA), and starts over. */
static void
emit(EvoParser *p, gboolean bad, gboolean no_cr)
{
	EvoCommand *cmd = g_new0(EvoCommand, 1);
	/* A data-carrying head ends with the ';' before its data. */
	if (p->data && p->head->len && p->head->str[p->head->len - 1] == ';')
		g_string_truncate(p->head, p->head->len - 1);
	cmd->text = g_strndup(p->head->str, p->head->len);
	cmd->argv = g_strsplit(cmd->text, ";", -1);
	cmd->argc = (int)g_strv_length(cmd->argv);
	if (cmd->argc == 0) {
		/* "ESC CR": an empty command still has a name, "", as every command
		 * does (the fuzzer found the emulator reading argv[0] of none). */
		g_strfreev(cmd->argv);
		cmd->argv = g_new0(char *, 2);
		cmd->argv[0] = g_strdup("");
		cmd->argc = 1;
	}
	if (p->data) {
		cmd->len = p->data->len;
		cmd->data = (uint8_t *)g_byte_array_free(p->data, FALSE);
		p->data = NULL;
	}
	cmd->bad = bad;
	cmd->no_cr = no_cr;
	g_queue_push_tail(&p->done, cmd);
	evo_parser_reset(p);
}

static void
drop_head(EvoParser *p, size_t extra)
{
	p->skipped += p->head->len + 1 + extra; /* the ESC too */
	evo_parser_reset(p);
}

/* Parses a non-negative decimal number of at most 9 digits; -1 otherwise. */
static long
parse_count(const char *s, size_t len)
{
	if (len == 0 || len > 9)
		return -1;
	long v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Called at each ';' of a head: when the head is a complete Db or Dbc
 * prefix, switches to reading its data; when its parameters give no
 * length, queues it as bad (its data, if any, is skipped as garbage). */
static void
head_semicolon(EvoParser *p)
{
	const char *h = p->head->str;
	gboolean db = strncmp(h, "Db;", 3) == 0;
	gboolean dbc = strncmp(h, "Dbc;", 4) == 0;
	if (!db && !dbc)
		return;
	if (p->semis != (db ? 3 : 4))
		return;
	g_auto(GStrv) f = g_strsplit(h, ";", -1); /* name, panel, levels, [count,] "" */
	long levels = parse_count(f[2], strlen(f[2]));
	gboolean ok = strlen(f[1]) == 1 && levels_fit(f[1][0], (int)levels);
	size_t need = 0;
	if (ok && db) {
		need = evo_db_length((int)levels);
	} else if (ok) {
		long n = parse_count(f[3], strlen(f[3]));
		ok = n >= 0 && (unsigned long)n <= EVO_DATA_MAX;
		need = ok ? (size_t)n : 0;
	}
	if (!ok) {
		g_string_truncate(p->head, p->head->len - 1);
		emit(p, TRUE, FALSE);
		return;
	}
	p->data = g_byte_array_sized_new((guint)MIN(need, 1u << 20));
	p->need = need;
	p->state = need ? P_DATA : P_TRAIL;
}

void
evo_parser_feed(EvoParser *p, const uint8_t *buf, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = buf[i];
		switch (p->state) {
		case P_IDLE:
			if (c == ESC)
				p->state = P_HEAD;
			else if (c != 0)
				p->skipped++;
			i++;
			break;
		case P_HEAD:
			if (c == CR) {
				emit(p, FALSE, FALSE);
			} else if (c == ESC) {
				drop_head(p, 0);
				p->state = P_HEAD;
			} else if (c < 0x20 || c >= 0x7f || p->head->len >= EVO_HEAD_MAX) {
				drop_head(p, 1);
			} else {
				g_string_append_c(p->head, (char)c);
				if (c == ';') {
					p->semis++;
					head_semicolon(p);
				}
			}
			i++;
			break;
		case P_DATA: {
			size_t n = MIN(p->need, len - i);
			g_byte_array_append(p->data, buf + i, (guint)n);
			p->need -= n;
			i += n;
			if (p->need == 0)
				p->state = P_TRAIL;
			break;
		}
		case P_TRAIL:
			if (c == CR) {
				emit(p, FALSE, FALSE);
				i++;
			} else {
				/* The length was met: the command ends here; C starts afresh. */
				emit(p, FALSE, TRUE);
			}
			break;
		}
	}
}

void
evo_command_put(GByteArray *out, const EvoCommand *cmd)
{
	const uint8_t esc = ESC, cr = CR, semi = ';';
	g_byte_array_append(out, &esc, 1);
	g_byte_array_append(out, (const uint8_t *)cmd->text, strlen(cmd->text));
	if (cmd->data) {
		g_byte_array_append(out, &semi, 1);
		g_byte_array_append(out, cmd->data, (guint)cmd->len);
	}
	g_byte_array_append(out, &cr, 1);
}

/* ---- panel decoder ---- */

static void
set_line(EvoPanel *out, int line, const uint8_t *vals)
{
	for (int j = 0; j < EVO_LINE_DOTS; j++)
		out->dots[card_index(line, j)] = vals[j];
}

static void
unpack_bits(const uint8_t *in, int bits, uint8_t *vals)
{
	unsigned acc = 0, nacc = 0;
	size_t i = 0;
	for (int j = 0; j < EVO_LINE_DOTS; j++) {
		while (nacc < (unsigned)bits) {
			acc = (acc << 8) | in[i++];
			nacc += 8;
		}
		nacc -= bits;
		vals[j] = (uint8_t)((acc >> nacc) & ((1u << bits) - 1));
		acc &= (1u << nacc) - 1;
	}
}

static int
decode_dbc_mono(const uint8_t *d, size_t len, EvoPanel *out, GError **error)
{
	size_t i = 0;
	uint8_t bytes[EVO_LINE_DOTS / 8], vals[EVO_LINE_DOTS];
	for (int l = 0; l < EVO_LINES; l++) {
		if (i >= len) {
			g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED,
				    "Dbc data ends at line %d of %d", l, EVO_LINES);
			return -1;
		}
		uint8_t n = d[i++];
		memset(bytes, 0, sizeof bytes);
		if (n == 0xff) {
			memset(bytes, 0xff, sizeof bytes);
		} else if (n > EVO_LINE_DOTS / 8) {
			g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED,
				    "Dbc line %d: count %u is over %d", l, n, EVO_LINE_DOTS / 8);
			return -1;
		} else if (n > 0) {
			if (len - i < n) {
				g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED,
					    "Dbc line %d: %u bytes announced, %zu left", l, n,
					    len - i);
				return -1;
			}
			memcpy(bytes, d + i, n);
			i += n;
		}
		unpack_bits(bytes, 1, vals);
		set_line(out, l, vals);
	}
	if (i != len) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED,
			    "Dbc data has %zu bytes after its %d lines", len - i, EVO_LINES);
		return -1;
	}
	return 0;
}

static int
decode_dbc_colour(const uint8_t *d, size_t len, EvoPanel *out, GError **error)
{
	const size_t total = (size_t)EVO_LINES * EVO_LINE_DOTS;
	int bits = level_bits(out->levels);
	uint8_t mask = (uint8_t)((1u << bits) - 1);
	size_t pos = 0;
	/* Dots go straight to their card place; untouched dots stay white. */
	for (size_t i = 0; i < len;) {
		uint8_t b = d[i++];
		if (!(b & 0x80)) {
			if (pos >= total)
				goto too_many;
			out->dots[card_index((int)(pos / EVO_LINE_DOTS),
					     (int)(pos % EVO_LINE_DOTS))] = b & mask;
			pos++;
			continue;
		}
		if (i >= len) {
			g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED,
				    "Dbc data ends inside a run at byte %zu", i - 1);
			return -1;
		}
		size_t count = d[i++];
		if (bits <= 6 && (b & 0x40))
			count += 256;
		if (bits == 5 && (b & 0x20))
			count += 256;
		if (count == 0) {
			/* White to the end of the line (a whole line at its start). */
			if (pos >= total)
				goto too_many;
			pos = (pos / EVO_LINE_DOTS + 1) * EVO_LINE_DOTS;
			continue;
		}
		if (count > total - MIN(pos, total))
			goto too_many;
		for (size_t k = 0; k < count; k++, pos++)
			out->dots[card_index((int)(pos / EVO_LINE_DOTS),
					     (int)(pos % EVO_LINE_DOTS))] = b & mask;
	}
	if (pos != total) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED, "Dbc data covers %zu of %zu dots",
			    pos, total);
		return -1;
	}
	return 0;
too_many:
	g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED, "Dbc data runs past the panel's %zu dots",
		    total);
	return -1;
}

int
evo_panel_decode(const EvoCommand *cmd, EvoPanel *out, GError **error)
{
	memset(out, 0, sizeof *out);
	if (!cmd || !cmd->argv || cmd->argc < 1) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED, "not a panel command");
		return -1;
	}
	gboolean db = strcmp(cmd->argv[0], "Db") == 0;
	gboolean dbc = strcmp(cmd->argv[0], "Dbc") == 0;
	if (!db && !dbc) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED, "%s is not a panel command",
			    cmd->argv[0]);
		return -1;
	}
	if (cmd->argc != (db ? 3 : 4) || cmd->bad || !cmd->data) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED, "%s needs %s and its data",
			    cmd->argv[0], db ? "PANEL;LEVELS" : "PANEL;LEVELS;LENGTH");
		return -1;
	}
	long levels = parse_count(cmd->argv[2], strlen(cmd->argv[2]));
	if (strlen(cmd->argv[1]) != 1 || !levels_fit(cmd->argv[1][0], (int)levels)) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED,
			    "%s: panel '%s' with %s levels is not one we know", cmd->argv[0],
			    cmd->argv[1], cmd->argv[2]);
		return -1;
	}
	out->panel = cmd->argv[1][0];
	out->levels = (int)levels;
	int bits = level_bits(out->levels);
	int rc;
	out->dots = g_malloc0((size_t)HAL_CARD_W * HAL_CARD_H);
	if (db) {
		size_t want = evo_db_length(out->levels), line_bytes = want / EVO_LINES;
		if (cmd->len != want) {
			g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED,
				    "Db;%c;%d has %zu bytes of data, not %zu", out->panel,
				    out->levels, cmd->len, want);
			rc = -1;
		} else {
			uint8_t vals[EVO_LINE_DOTS];
			for (int l = 0; l < EVO_LINES; l++) {
				unpack_bits(cmd->data + (size_t)l * line_bytes, bits, vals);
				set_line(out, l, vals);
			}
			rc = 0;
		}
	} else {
		long n = parse_count(cmd->argv[3], strlen(cmd->argv[3]));
		if (n < 0 || (size_t)n != cmd->len) {
			g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED,
				    "Dbc says %s bytes, %zu came", cmd->argv[3], cmd->len);
			rc = -1;
		} else if (bits == 1) {
			rc = decode_dbc_mono(cmd->data, cmd->len, out, error);
		} else {
			rc = decode_dbc_colour(cmd->data, cmd->len, out, error);
		}
	}
	if (rc < 0)
		evo_panel_clear(out);
	return rc;
}
