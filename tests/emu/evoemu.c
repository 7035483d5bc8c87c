/* SPDX-License-Identifier: MIT */
/*
 * evoemu: an Evolis card printer played over TCP on the loopback, speaking
 * the escape protocol of docs/printer-protocol.md byte for byte, so the
 * evolis driver, its tests and a newcomer's desk can run without a printer.
 * Its parser and panel decoder are drivers/evolis/protocol.c's (written to
 * take hostile input, for a fuzzer); the printer's behaviour (card path, ribbon, cleaning,
 * counters, faults, timing) is modelled here.
 *
 * Pointing ektpd at it: start it with fixed ports and a state file,
 *     build/default/emu/evoemu serve --port 9100 --ctl-port 9101 \
 *         --state /tmp/evoemu.state --out /tmp/evoemu-out
 * and give a printer section in config/ektpd.conf the evolis driver:
 *     [device printer1]
 *     driver = evolis
 *     uri = tcp://127.0.0.1:9100
 * Faults go in through the control port: evoemu ctl 9101 fault jam print.
 * Every card that leaves is drawn in /tmp/evoemu-out/card-NNNN.png.
 *
 * The full command line, control commands and printer behaviour are in
 * usage_text below (evoemu --help prints it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "image/image.h"
#include "drivers/evolis/protocol.h"

static const char usage_text[] =
	"evoemu: an Evolis card printer emulator speaking the escape protocol over TCP\n"
	"(docs/printer-protocol.md).\n"
	"\n"
	"Usage:\n"
	"  evoemu serve [--port N] [--ctl-port N] [--state FILE] [--out DIR] [--card-ms MS]\n"
	"               [--hopper N] [--ribbon N] [--ribbon-type T] [--clean-threshold N]\n"
	"               [--reject-capacity N] [--output-capacity N] [--serial S] [--reboot-ms MS]\n"
	"  evoemu ctl PORT COMMAND [ARGS...]     one control command; prints the reply,\n"
	"                                       exit 0, or 1 on an \"error ...\" reply\n"
	"  evoemu send [--timeout MS] PORT ARG...  to the printer port: each ARG is a command\n"
	"                                       (\"Rco;c\": ESC and CR are added) or @FILE, a\n"
	"                                       job stream whose commands are sent one by one;\n"
	"                                       prints each reply on a line.  Exit 0; 2 the\n"
	"                                       printer closed the connection (\"CLOSED\" is\n"
	"                                       printed); 3 no connection; 4 no reply in time\n"
	"  evoemu job [--ribbon T] [--png FILE] [--expect FILE] OUT\n"
	"                                       writes the stream protocol.c makes for one card\n"
	"                                       front (Ss, Sr, panels; no Sic, no Se) to OUT;\n"
	"                                       the card is FILE (1016x648 RGB PNG; pure black\n"
	"                                       pixels print as K text) or a built-in test card;\n"
	"                                       --expect writes the PNG the emulator will draw\n"
	"  evoemu replay FILE --out DIR          decodes a captured job stream offline: every\n"
	"                                       panel to DIR/panel-NN-P.png (grey, black = ink)\n"
	"                                       and each card (at Se or the end) to\n"
	"                                       DIR/card-NNNN.png; exit 1 on malformed input\n"
	"\n"
	"serve options:\n"
	"  --port N            printer port (0, the default: a free one)\n"
	"  --ctl-port N        control port (0: a free one)\n"
	"  --state FILE        life counters (Rco c p n e s l), kept across restarts: read at\n"
	"                      start, rewritten atomically whenever they change\n"
	"  --out DIR           card-NNNN.png per card leaving (finished or rejected), bytes.log\n"
	"                      (every byte received), cards.log (\"NNNN finished|rejected "
	"PANELS\")\n"
	"  --card-ms MS        time one card spends in motions (default 0): pick 10 %, the\n"
	"                      ribbon's panels share 80 %, eject 10 %; cleaning takes MS; the\n"
	"                      reply comes when the motion is over\n"
	"  --hopper N          blanks in the input hopper (default 100)\n"
	"  --ribbon N          prints left on the ribbon when the state file has none (default "
	"200)\n"
	"  --ribbon-type T     ymcko (default), ymckok, ko, kb, k, ...\n"
	"  --clean-threshold N cards between cleanings (default 1000; 0: never)\n"
	"  --reject-capacity N --output-capacity N   (defaults 50 and 100)\n"
	"  --serial S          serial number (default EVOEMU0001)\n"
	"  --reboot-ms MS      how long a power loss keeps the printer off (default 500)\n"
	"It prints one line \"port P ctl Q\" and serves until SIGTERM or SIGINT (exit 0).\n"
	"One printer connection is served at a time; a second one waits (in the listen\n"
	"backlog) until the first closes.  A dropped connection discards a half-received\n"
	"command; the printer's physical state stays.\n"
	"\n"
	"Printer commands: Rtp Rsn Rfv Rem Rr Rcr Rmi, Rlr;p (NO CARD / ERR CARD), Rlr;r,\n"
	"Rco;c|p|n|m|l|s|e|a, Sk;f, Rse;o, Pem;N[;s], Pmi;F|M|B, Pr;T, Sic and Si (pick),\n"
	"Ss Sr Sv, Db;P;L;data and Dbc;P;L;LEN;data (a panel prints as it arrives; the job's\n"
	"first panel takes one print; a panel the ribbon lacks answers ERROR CDE), Se (eject\n"
	"to the output hopper), Ser (to the reject box; OK with no card), Scp (cleaning),\n"
	"Srs (reset: volatile state), and Pc Pl Pdt Ppws Pmk Mr Scs (accepted, no effect).\n"
	"A panel with no card inside picks one when the insertion mode (Pmi) is F or B, as in\n"
	"the vendor's captured jobs.  Anything else: ERROR CDE.  Volatile (lost at power\n"
	"loss): error mode (Pem, default 0), insertion mode (default F), the open sequence.\n"
	"\n"
	"Control port: one command per line, one reply line (\"ok ...\", JSON, \"error ...\"):\n"
	"  fault jam [pick|print|eject]   the next such motion jams (default print): the card\n"
	"                                 sticks there; ERR MECHANICAL until clear, then Ser\n"
	"  fault ribbon-out [before|during]  before: the ribbon is at its end now (Rcr, any\n"
	"                                 panel: ERR RIBBON ENDED); during: the next panel\n"
	"                                 runs out half-printed; until clear (a new ribbon)\n"
	"  fault cover-open               every motion: ERR COVER OPEN; Rse;o answers 255\n"
	"  fault feeder-empty             picks: ERR FEEDER EMPTY; Sk;f answers 1\n"
	"  fault reject-box-full          Ser with a card: ERR REJECT BOX FULL\n"
	"  fault output-full              Se: ERR HOPPER FULL (the card stays)\n"
	"  fault cleaning-required        picks and Rlr;r: ERR NEED CLEANING (Scp clears it)\n"
	"  fault power-loss [pick|panel|eject]  now, or at the next such step (eject: Se or\n"
	"                                 Ser): the connection closes with no reply, the\n"
	"                                 volatile state is lost, the card stays (a pick has\n"
	"                                 taken the blank and counted it; an eject has not\n"
	"                                 happened), connections are refused for --reboot-ms\n"
	"  clear                          clears faults and armed faults; a stuck card stays\n"
	"  set hopper N | set ribbon N    refill the input hopper / load a ribbon of N prints\n"
	"  status                         one JSON line: hopper, output, rejected, card,\n"
	"                                 stuck_at, ribbon_left, ribbon_type, since_clean,\n"
	"                                 counters{c,p,n,m,l,s,e}, cards_finished,\n"
	"                                 cards_rejected, busy_ms, motion_ms, faults, armed,\n"
	"                                 power, error_mode, sequence_open, connected\n";

/* ---- the printer ---- */

typedef enum { POS_NONE, POS_STATION, POS_PRINT, POS_STUCK } CardPos;
static const char *const pos_names[] = {"none", "station", "print", "stuck"};

typedef struct {
	/* options */
	int port, ctl_port, card_ms, reboot_ms;
	int clean_threshold, reject_cap, output_cap;
	char *state_file, *out_dir, *serial, *ribbon_type;
	/* physical state */
	int hopper, output, rejected;
	CardPos pos;
	const char *stuck_at;
	gint64 ribbon_left;
	EvoPanel printed[16]; /* on the card in the engine */
	int n_printed;
	gint64 card_start_us;
	/* life counters (the state file) */
	gint64 picked, panels, cleanings, ejected, since_clean;
	/* statistics of this run */
	gint64 cards_finished, cards_rejected, busy_ms, motion_ms;
	int card_no;
	/* faults */
	gboolean cover, feeder_empty, reject_full, output_full, need_clean, ribbon_out, jammed;
	const char *arm_jam, *arm_power;
	gboolean arm_ribbon_during;
	/* volatile */
	int em;
	char insert_mode;
	gboolean seq_open, job_printed;
	/* power and I/O */
	gboolean off;
	gint64 reboot_at;
	int lsock, csock, conn;
	EvoParser *parser;
	char *pending;
	gint64 reply_at;
	FILE *bytes_log;
} Emu;

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void say(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void
say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "evoemu: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static const char *
ribbon_panels(const Emu *e)
{
	const char *p = evo_ribbon_panels(e->ribbon_type);
	return p ? p : "ymcko";
}

static int
pick_ms(const Emu *e)
{
	return e->card_ms / 10;
}

static int
panel_ms(const Emu *e)
{
	return e->card_ms * 8 / 10 / (int)strlen(ribbon_panels(e));
}

/* ---- persistence and output ---- */

static const struct {
	const char *key;
	size_t off;
} counter_keys[] = {
	{"picked", G_STRUCT_OFFSET(Emu, picked)},
	{"panels", G_STRUCT_OFFSET(Emu, panels)},
	{"cleanings", G_STRUCT_OFFSET(Emu, cleanings)},
	{"ejected", G_STRUCT_OFFSET(Emu, ejected)},
	{"since_clean", G_STRUCT_OFFSET(Emu, since_clean)},
	{"ribbon_left", G_STRUCT_OFFSET(Emu, ribbon_left)},
};

#define COUNTER(e, i) G_STRUCT_MEMBER(gint64, (e), counter_keys[i].off)

static void
save_state(Emu *e)
{
	if (!e->state_file)
		return;
	g_autoptr(GKeyFile) kf = g_key_file_new();
	for (size_t i = 0; i < G_N_ELEMENTS(counter_keys); i++)
		g_key_file_set_int64(kf, "counters", counter_keys[i].key, COUNTER(e, i));
	g_autoptr(GError) error = NULL;
	/* g_key_file_save_to_file writes a temporary file and renames it. */
	if (!g_key_file_save_to_file(kf, e->state_file, &error))
		say("cannot save the counters: %s", error->message);
}

static int
load_state(Emu *e, GError **error)
{
	if (!e->state_file || !g_file_test(e->state_file, G_FILE_TEST_EXISTS))
		return 0;
	g_autoptr(GKeyFile) kf = g_key_file_new();
	if (!g_key_file_load_from_file(kf, e->state_file, G_KEY_FILE_NONE, error))
		return -1;
	for (size_t i = 0; i < G_N_ELEMENTS(counter_keys); i++) {
		GError *err = NULL;
		gint64 v = g_key_file_get_int64(kf, "counters", counter_keys[i].key, &err);
		if (err) {
			g_error_free(err);
			continue;
		}
		COUNTER(e, i) = v;
	}
	return 0;
}

/* The card picture: white, less the ink of each printed panel. */
static uint8_t *
composite(const EvoPanel *panels, int n)
{
	const size_t dots = (size_t)HAL_CARD_W * HAL_CARD_H;
	uint8_t *rgb = g_malloc(dots * 3);
	memset(rgb, 255, dots * 3);
	for (int k = 0; k < n; k++) {
		const EvoPanel *p = &panels[k];
		int ch = p->panel == 'c' ? 0 : p->panel == 'm' ? 1 : p->panel == 'y' ? 2 : -1;
		for (size_t i = 0; i < dots; i++) {
			unsigned ink = p->dots[i] * 255u / (unsigned)(p->levels - 1);
			if (ch >= 0)
				rgb[i * 3 + ch] = (uint8_t)(rgb[i * 3 + ch] * (255 - ink) / 255);
			else if (p->panel == 'k' && p->dots[i])
				rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = 0;
		}
	}
	return rgb;
}

static int
write_png(const char *path, uint8_t *pixels, int channels, GError **error)
{
	Image img = {.width = HAL_CARD_W,
		     .height = HAL_CARD_H,
		     .channels = channels,
		     .ppi = 300,
		     .pixels = pixels};
	g_autoptr(GBytes) png = image_png_encode(&img, error);
	if (!png)
		return -1;
	gsize len;
	const char *data = g_bytes_get_data(png, &len);
	return g_file_set_contents(path, data, (gssize)len, error) ? 0 : -1;
}

static void
drop_printed(Emu *e)
{
	for (int i = 0; i < e->n_printed; i++)
		evo_panel_clear(&e->printed[i]);
	e->n_printed = 0;
}

/* The card in the engine leaves (FATE "finished" or "rejected"). */
static void
card_leaves(Emu *e, const char *fate, int motion)
{
	gint64 done = g_get_monotonic_time() + (gint64)motion * 1000;
	e->busy_ms += (done - e->card_start_us) / 1000;
	e->card_no++;
	if (e->out_dir) {
		char letters[17] = "";
		for (int i = 0; i < e->n_printed && i < 16; i++)
			letters[i] = e->printed[i].panel;
		g_autofree char *png = g_strdup_printf("%s/card-%04d.png", e->out_dir, e->card_no);
		g_autofree uint8_t *rgb = composite(e->printed, e->n_printed);
		g_autoptr(GError) error = NULL;
		if (write_png(png, rgb, 3, &error) < 0)
			say("cannot write %s: %s", png, error->message);
		g_autofree char *log = g_build_filename(e->out_dir, "cards.log", NULL);
		FILE *f = fopen(log, "a");
		if (f) {
			fprintf(f, "%04d %s %s\n", e->card_no, fate, *letters ? letters : "-");
			fclose(f);
		}
	}
	drop_printed(e);
	e->pos = POS_NONE;
	e->stuck_at = NULL;
	e->seq_open = FALSE;
}

/* ---- power ---- */

static int
listen_on(int port, int *bound)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof a;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
		close(fd);
		return -1;
	}
	if (bound)
		*bound = ntohs(a.sin_port);
	return fd;
}

static void
close_conn(Emu *e)
{
	if (e->conn >= 0)
		close(e->conn);
	e->conn = -1;
	evo_parser_free(e->parser);
	e->parser = evo_parser_new();
	g_clear_pointer(&e->pending, g_free);
}

static void
volatile_reset(Emu *e)
{
	e->em = 0;
	e->insert_mode = 'F';
	e->seq_open = FALSE;
	e->job_printed = FALSE;
}

/* The power fails now: no reply, the connection and the volatile state are
 * gone, the card stays; the printer is off for --reboot-ms. */
static void
power_loss(Emu *e, const char *when)
{
	say("power loss (%s)", when);
	e->arm_power = NULL;
	close_conn(e);
	volatile_reset(e);
	if (e->lsock >= 0)
		close(e->lsock);
	e->lsock = -1;
	e->off = TRUE;
	e->reboot_at = g_get_monotonic_time() + (gint64)e->reboot_ms * 1000;
}

/* ---- printer commands ---- */

typedef struct {
	char *reply; /* NULL: the power failed, no reply */
	int ms;      /* motion time before the reply */
} Result;

static Result
answer(const char *reply, int ms)
{
	return (Result){g_strdup(reply), ms};
}

static gboolean
card_inside(const Emu *e)
{
	return e->pos != POS_NONE;
}

static gboolean
cleaning_due(const Emu *e)
{
	return e->need_clean || (e->clean_threshold > 0 && e->since_clean >= e->clean_threshold);
}

/* Motion blockers shared by every moving command; NULL when free to move. */
static const char *
blocked(const Emu *e)
{
	if (e->cover)
		return "ERR COVER OPEN";
	if (e->jammed)
		return "ERR MECHANICAL";
	return NULL;
}

/* Takes a blank from the hopper to the contactless station. */
static Result
do_pick(Emu *e, int extra_ms)
{
	const char *b = blocked(e);
	if (b)
		return answer(b, 0);
	if (card_inside(e))
		return answer("ERR CARD", 0);
	if (cleaning_due(e))
		return answer("ERR NEED CLEANING", 0);
	if (e->feeder_empty || e->hopper <= 0)
		return answer("ERR FEEDER EMPTY", 0);
	e->hopper--;
	e->picked++;
	e->since_clean++;
	e->card_start_us = g_get_monotonic_time();
	e->motion_ms += pick_ms(e) + extra_ms;
	save_state(e);
	if (e->arm_power && strcmp(e->arm_power, "pick") == 0) {
		e->pos = POS_STATION;
		power_loss(e, "pick");
		return (Result){NULL, 0};
	}
	if (e->arm_jam && strcmp(e->arm_jam, "pick") == 0) {
		e->arm_jam = NULL;
		e->jammed = TRUE;
		e->pos = POS_STUCK;
		e->stuck_at = "pick";
		return answer("ERR MECHANICAL", pick_ms(e));
	}
	e->pos = POS_STATION;
	return answer("OK", pick_ms(e) + extra_ms);
}

static Result
do_panel(Emu *e, const EvoCommand *cmd)
{
	EvoPanel pan;
	g_autoptr(GError) error = NULL;
	if (evo_panel_decode(cmd, &pan, &error) < 0) {
		say("%s refused: %s", cmd->argv[0], error->message);
		return answer("ERROR CDE", 0);
	}
	if (!strchr(ribbon_panels(e), pan.panel) || !e->seq_open) {
		say("panel %c refused: %s", pan.panel,
		    e->seq_open ? "the ribbon has no such panel" : "no sequence (Ss) open");
		evo_panel_clear(&pan);
		return answer("ERROR CDE", 0);
	}
	const char *b = blocked(e);
	int ms = 0;
	if (!b && e->pos == POS_STUCK)
		b = "ERR MECHANICAL";
	if (!b && !card_inside(e)) {
		if (e->insert_mode == 'M') {
			b = "ERR CARD";
		} else {
			Result r = do_pick(e, 0);
			if (!r.reply || strcmp(r.reply, "OK") != 0) {
				evo_panel_clear(&pan);
				return r;
			}
			ms = r.ms;
			g_free(r.reply);
		}
	}
	if (b) {
		evo_panel_clear(&pan);
		return answer(b, 0);
	}
	e->pos = POS_PRINT;
	if (e->arm_power && strcmp(e->arm_power, "panel") == 0) {
		evo_panel_clear(&pan);
		power_loss(e, "panel");
		return (Result){NULL, 0};
	}
	if (e->ribbon_out || (!e->job_printed && e->ribbon_left <= 0)) {
		evo_panel_clear(&pan);
		return answer("ERR RIBBON ENDED", ms);
	}
	if (!e->job_printed) {
		e->ribbon_left--;
		e->job_printed = TRUE;
	}
	if (e->arm_ribbon_during) {
		/* It runs out half-way through this panel. */
		e->arm_ribbon_during = FALSE;
		e->ribbon_out = TRUE;
		evo_panel_clear(&pan);
		save_state(e);
		e->motion_ms += panel_ms(e) / 2;
		return answer("ERR RIBBON ENDED", ms + panel_ms(e) / 2);
	}
	if (e->arm_jam && strcmp(e->arm_jam, "print") == 0) {
		e->arm_jam = NULL;
		e->jammed = TRUE;
		e->pos = POS_STUCK;
		e->stuck_at = "print";
		evo_panel_clear(&pan);
		save_state(e);
		return answer("ERR MECHANICAL", ms);
	}
	e->panels++;
	if (e->n_printed < (int)G_N_ELEMENTS(e->printed))
		e->printed[e->n_printed++] = pan;
	else
		evo_panel_clear(&pan);
	e->motion_ms += panel_ms(e);
	save_state(e);
	return answer("OK", ms + panel_ms(e));
}

/* Se (REJECT false) or Ser. */
static Result
do_eject(Emu *e, gboolean reject)
{
	if (!card_inside(e))
		return answer(reject ? "OK" : "ERR CARD", 0);
	const char *b = blocked(e);
	if (b)
		return answer(b, 0);
	if (!reject && e->pos == POS_STUCK)
		return answer("ERR MECHANICAL", 0);
	if (reject && (e->reject_full || e->rejected >= e->reject_cap))
		return answer("ERR REJECT BOX FULL", 0);
	if (!reject && (e->output_full || e->output >= e->output_cap))
		return answer("ERR HOPPER FULL", 0);
	if (e->arm_power && strcmp(e->arm_power, "eject") == 0) {
		power_loss(e, "eject");
		return (Result){NULL, 0};
	}
	if (e->arm_jam && strcmp(e->arm_jam, "eject") == 0) {
		e->arm_jam = NULL;
		e->jammed = TRUE;
		e->pos = POS_STUCK;
		e->stuck_at = "eject";
		return answer("ERR MECHANICAL", pick_ms(e));
	}
	int ms = pick_ms(e); /* an eject takes as long as a pick */
	e->motion_ms += ms;
	if (reject) {
		e->rejected++;
		e->cards_rejected++;
		card_leaves(e, "rejected", ms);
	} else {
		e->output++;
		e->ejected++;
		e->cards_finished++;
		card_leaves(e, "finished", ms);
		save_state(e);
	}
	e->job_printed = FALSE;
	return answer("OK", ms);
}

static Result
do_clean(Emu *e)
{
	const char *b = blocked(e);
	if (b)
		return answer(b, 0);
	if (card_inside(e))
		return answer("ERR CARD", 0);
	e->since_clean = 0;
	e->cleanings++;
	e->need_clean = FALSE;
	e->motion_ms += e->card_ms;
	save_state(e);
	return answer("OK", e->card_ms);
}

static Result
do_counter(Emu *e, const char *which)
{
	gint64 v;
	switch (which[0] && !which[1] ? which[0] : '?') {
	case 'c':
		v = e->picked;
		break;
	case 'p':
		v = e->panels;
		break;
	case 'n':
		v = e->cleanings;
		break;
	case 'm':
		v = e->clean_threshold;
		break;
	case 'l':
		v = MAX(e->ribbon_left, 0);
		break;
	case 's':
		v = e->since_clean;
		break;
	case 'e':
		v = e->ejected;
		break;
	case 'a':
		v = e->picked / MAX(e->cleanings, 1);
		break;
	default:
		return answer("ERROR CDE", 0);
	}
	return (Result){g_strdup_printf("%" G_GINT64_FORMAT, v), 0};
}

static const char *const ignored[] = {"Pc", "Pl", "Pdt", "Ppws", "Pmk", "Mr", "Scs", NULL};

static Result
handle(Emu *e, const EvoCommand *cmd)
{
	const char *name = cmd->argv[0];
	const char *a1 = cmd->argc > 1 ? cmd->argv[1] : "";
	if (strcmp(name, "Db") == 0 || strcmp(name, "Dbc") == 0)
		return do_panel(e, cmd);
	if (cmd->data)
		return answer("ERROR CDE", 0);
	if (strcmp(name, "Rtp") == 0)
		return answer("Dualys 3 (evoemu)", 0);
	if (strcmp(name, "Rsn") == 0)
		return answer(e->serial, 0);
	if (strcmp(name, "Rfv") == 0)
		return answer("evoemu 1.0", 0);
	if (strcmp(name, "Rem") == 0)
		return (Result){g_strdup_printf("%d", e->em), 0};
	if (strcmp(name, "Pem") == 0) {
		if (strcmp(a1, "0") && strcmp(a1, "2") && strcmp(a1, "4") && strcmp(a1, "5"))
			return answer("ERROR CDE", 0);
		e->em = atoi(a1);
		return answer("OK", 0);
	}
	if (strcmp(name, "Pmi") == 0) {
		if (strcmp(a1, "F") && strcmp(a1, "M") && strcmp(a1, "B"))
			return answer("ERROR CDE", 0);
		e->insert_mode = a1[0];
		return answer("OK", 0);
	}
	if (strcmp(name, "Rmi") == 0)
		return (Result){g_strdup_printf("%c", e->insert_mode), 0};
	if (strcmp(name, "Pr") == 0)
		return answer(evo_ribbon_panels(a1) && *a1 ? "OK" : "ERROR CDE", 0);
	if (strcmp(name, "Rr") == 0)
		return answer(e->ribbon_type, 0);
	if (strcmp(name, "Rcr") == 0)
		return answer(e->ribbon_out || e->ribbon_left <= 0 ? "ERR RIBBON ENDED" : "OK", 0);
	if (strcmp(name, "Rlr") == 0 && strcmp(a1, "p") == 0)
		return answer(card_inside(e) ? "ERR CARD" : "NO CARD", 0);
	if (strcmp(name, "Rlr") == 0 && strcmp(a1, "r") == 0)
		return answer(cleaning_due(e) ? "ERR NEED CLEANING" : "OK", 0);
	if (strcmp(name, "Rco") == 0)
		return do_counter(e, a1);
	if (strcmp(name, "Sk") == 0 && strcmp(a1, "f") == 0)
		return answer(e->feeder_empty || e->hopper <= 0 ? "1" : "0", 0);
	if (strcmp(name, "Rse") == 0 && strcmp(a1, "o") == 0)
		return answer(e->cover ? "255" : "0", 0);
	if (strcmp(name, "Sic") == 0 || strcmp(name, "Si") == 0)
		return do_pick(e, 0);
	if (strcmp(name, "Ss") == 0) {
		e->seq_open = TRUE;
		e->job_printed = FALSE;
		return answer("OK", 0);
	}
	if (strcmp(name, "Sr") == 0 || strcmp(name, "Sv") == 0)
		return answer(e->seq_open ? "OK" : "ERROR CDE", 0);
	if (strcmp(name, "Se") == 0)
		return do_eject(e, FALSE);
	if (strcmp(name, "Ser") == 0)
		return do_eject(e, TRUE);
	if (strcmp(name, "Scp") == 0)
		return do_clean(e);
	if (strcmp(name, "Srs") == 0) {
		volatile_reset(e);
		return answer("OK", 0);
	}
	for (int i = 0; ignored[i]; i++)
		if (strcmp(name, ignored[i]) == 0)
			return answer("OK", 0);
	return answer("ERROR CDE", 0);
}

/* ---- the printer connection ---- */

static void
send_reply(Emu *e, const char *reply)
{
	g_autofree char *line = g_strdup_printf("%s\r", reply);
	size_t len = strlen(line), off = 0;
	while (off < len) {
		ssize_t n = send(e->conn, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			say("the host went away before its reply");
			close_conn(e);
			return;
		}
		off += (size_t)n;
	}
}

/* Runs queued commands until one has to wait for its motion. */
static void
run_commands(Emu *e)
{
	EvoCommand *cmd;
	while (e->conn >= 0 && !e->pending && (cmd = evo_parser_next(e->parser))) {
		Result r = handle(e, cmd);
		evo_command_free(cmd);
		if (!r.reply)
			return; /* the power failed */
		if (r.ms > 0) {
			e->pending = r.reply;
			e->reply_at = g_get_monotonic_time() + (gint64)r.ms * 1000;
			return;
		}
		send_reply(e, r.reply);
		g_free(r.reply);
	}
}

static void
read_conn(Emu *e)
{
	uint8_t buf[65536];
	ssize_t n = recv(e->conn, buf, sizeof buf, 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		if (evo_parser_partial(e->parser))
			say("connection dropped mid-command: the partial command is discarded");
		close_conn(e);
		return;
	}
	if (e->bytes_log) {
		fwrite(buf, 1, (size_t)n, e->bytes_log);
		fflush(e->bytes_log);
	}
	evo_parser_feed(e->parser, buf, (size_t)n);
	run_commands(e);
}

/* ---- control port ---- */

static char *
status_json(Emu *e)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
#define INT(k, v)                                                                                  \
	do {                                                                                       \
		json_builder_set_member_name(b, k);                                                \
		json_builder_add_int_value(b, v);                                                  \
	} while (0)
#define STR(k, v)                                                                                  \
	do {                                                                                       \
		json_builder_set_member_name(b, k);                                                \
		if (v)                                                                             \
			json_builder_add_string_value(b, v);                                       \
		else                                                                               \
			json_builder_add_null_value(b);                                            \
	} while (0)
	INT("hopper", e->hopper);
	INT("output", e->output);
	INT("rejected", e->rejected);
	STR("card", pos_names[e->pos]);
	STR("stuck_at", e->stuck_at);
	INT("ribbon_left", MAX(e->ribbon_left, 0));
	STR("ribbon_type", e->ribbon_type);
	INT("since_clean", e->since_clean);
	json_builder_set_member_name(b, "counters");
	json_builder_begin_object(b);
	INT("c", e->picked);
	INT("p", e->panels);
	INT("n", e->cleanings);
	INT("m", e->clean_threshold);
	INT("l", MAX(e->ribbon_left, 0));
	INT("s", e->since_clean);
	INT("e", e->ejected);
	json_builder_end_object(b);
	INT("cards_finished", e->cards_finished);
	INT("cards_rejected", e->cards_rejected);
	INT("busy_ms", e->busy_ms);
	INT("motion_ms", e->motion_ms);
	json_builder_set_member_name(b, "faults");
	json_builder_begin_array(b);
	const struct {
		gboolean on;
		const char *name;
	} f[] = {{e->jammed, "jam"},
		 {e->ribbon_out, "ribbon-out"},
		 {e->cover, "cover-open"},
		 {e->feeder_empty, "feeder-empty"},
		 {e->reject_full, "reject-box-full"},
		 {e->output_full, "output-full"},
		 {e->need_clean, "cleaning-required"}};
	for (size_t i = 0; i < G_N_ELEMENTS(f); i++)
		if (f[i].on)
			json_builder_add_string_value(b, f[i].name);
	json_builder_end_array(b);
	json_builder_set_member_name(b, "armed");
	json_builder_begin_array(b);
	if (e->arm_jam) {
		g_autofree char *s = g_strdup_printf("jam %s", e->arm_jam);
		json_builder_add_string_value(b, s);
	}
	if (e->arm_ribbon_during)
		json_builder_add_string_value(b, "ribbon-out during");
	if (e->arm_power) {
		g_autofree char *s = g_strdup_printf("power-loss %s", e->arm_power);
		json_builder_add_string_value(b, s);
	}
	json_builder_end_array(b);
	STR("power", e->off ? "rebooting" : "on");
	INT("error_mode", e->em);
	json_builder_set_member_name(b, "sequence_open");
	json_builder_add_boolean_value(b, e->seq_open);
	json_builder_set_member_name(b, "connected");
	json_builder_add_boolean_value(b, e->conn >= 0);
	json_builder_end_object(b);
#undef INT
#undef STR
	g_autoptr(JsonGenerator) g = json_generator_new();
	g_autoptr(JsonNode) root = json_builder_get_root(b);
	json_generator_set_root(g, root);
	return json_generator_to_data(g, NULL);
}

static gboolean
parse_int(const char *s, gint64 min, gint64 max, gint64 *out)
{
	guint64 v;
	if (!s || g_ascii_string_to_unsigned(s, 10, (guint64)MAX(min, 0), (guint64)max, &v, NULL) ==
			  FALSE)
		return FALSE;
	*out = (gint64)v;
	return TRUE;
}

/* One control command; returns the reply line (caller frees). */
static char *
control(Emu *e, const char *line)
{
	g_autofree char *copy = g_strstrip(g_strdup(line));
	g_auto(GStrv) w = g_strsplit_set(copy, " \t\r", -1);
	/* g_strsplit_set keeps empty words between double spaces: squeeze them. */
	int n = 0;
	for (int i = 0; w[i]; i++) {
		if (*w[i])
			w[n++] = w[i];
		else
			g_free(w[i]);
	}
	for (int i = n; w[i]; i++)
		w[i] = NULL;
	w[n] = NULL;
	if (n == 0)
		return g_strdup("error empty command (fault, clear, set, status)");
	const char *cmd = w[0], *a = n > 1 ? w[1] : NULL, *b = n > 2 ? w[2] : NULL;
	if (strcmp(cmd, "status") == 0 && n == 1)
		return status_json(e);
	if (strcmp(cmd, "clear") == 0 && n == 1) {
		e->cover = e->feeder_empty = e->reject_full = e->output_full = FALSE;
		e->need_clean = e->ribbon_out = e->jammed = e->arm_ribbon_during = FALSE;
		e->arm_jam = e->arm_power = NULL;
		return g_strdup("ok cleared");
	}
	if (strcmp(cmd, "set") == 0) {
		gint64 v;
		if (n != 3 || !parse_int(b, 0, 1000000, &v))
			return g_strdup("error usage: set hopper|ribbon N (0 to 1000000)");
		if (strcmp(a, "hopper") == 0) {
			e->hopper = (int)v;
		} else if (strcmp(a, "ribbon") == 0) {
			e->ribbon_left = v;
			save_state(e);
		} else {
			return g_strdup_printf("error unknown setting '%s' (hopper, ribbon)", a);
		}
		return g_strdup_printf("ok %s %" G_GINT64_FORMAT, a, v);
	}
	if (strcmp(cmd, "fault") != 0)
		return g_strdup_printf("error unknown command '%s' (fault, clear, set, status)",
				       cmd);
	if (!a)
		return g_strdup("error usage: fault KIND [WHEN]");
	if (n > 3)
		return g_strdup_printf("error fault %s takes at most one argument", a);
	if (strcmp(a, "jam") == 0) {
		const char *when = b ? b : "print";
		if (strcmp(when, "pick") && strcmp(when, "print") && strcmp(when, "eject"))
			return g_strdup_printf("error fault jam: '%s' is not pick, print or eject",
					       when);
		e->arm_jam = g_intern_string(when);
		return g_strdup_printf("ok jam armed at the next %s", when);
	}
	if (strcmp(a, "ribbon-out") == 0) {
		const char *when = b ? b : "before";
		if (strcmp(when, "before") == 0)
			e->ribbon_out = TRUE;
		else if (strcmp(when, "during") == 0)
			e->arm_ribbon_during = TRUE;
		else
			return g_strdup_printf(
				"error fault ribbon-out: '%s' is not before or during", when);
		return g_strdup_printf("ok ribbon-out %s", when);
	}
	if (strcmp(a, "power-loss") == 0) {
		if (!b) {
			if (e->off)
				return g_strdup("error the printer is already off");
			power_loss(e, "now");
			return g_strdup("ok power lost");
		}
		if (strcmp(b, "pick") && strcmp(b, "panel") && strcmp(b, "eject"))
			return g_strdup_printf("error fault power-loss: '%s' is not pick, panel or "
					       "eject",
					       b);
		e->arm_power = g_intern_string(b);
		return g_strdup_printf("ok power-loss armed at the next %s", b);
	}
	const struct {
		const char *name;
		gboolean *flag;
	} flags[] = {{"cover-open", &e->cover},
		     {"feeder-empty", &e->feeder_empty},
		     {"reject-box-full", &e->reject_full},
		     {"output-full", &e->output_full},
		     {"cleaning-required", &e->need_clean}};
	for (size_t i = 0; i < G_N_ELEMENTS(flags); i++) {
		if (strcmp(a, flags[i].name) == 0) {
			if (b)
				return g_strdup_printf("error fault %s takes no argument", a);
			*flags[i].flag = TRUE;
			return g_strdup_printf("ok %s", a);
		}
	}
	return g_strdup_printf("error unknown fault '%s' (jam, ribbon-out, cover-open, "
			       "feeder-empty, reject-box-full, output-full, cleaning-required, "
			       "power-loss)",
			       a);
}

#define MAX_CTL 16

typedef struct {
	int fd;
	GString *buf;
} CtlClient;

static void
ctl_close(CtlClient *c)
{
	close(c->fd);
	c->fd = -1;
	g_string_free(c->buf, TRUE);
	c->buf = NULL;
}

static void
ctl_read(Emu *e, CtlClient *c)
{
	char buf[4096];
	ssize_t n = recv(c->fd, buf, sizeof buf, 0);
	if (n <= 0) {
		ctl_close(c);
		return;
	}
	g_string_append_len(c->buf, buf, n);
	char *nl;
	while (c->fd >= 0 && (nl = memchr(c->buf->str, '\n', c->buf->len))) {
		*nl = 0;
		g_autofree char *reply = control(e, c->buf->str);
		g_string_erase(c->buf, 0, nl - c->buf->str + 1);
		g_autofree char *out = g_strdup_printf("%s\n", reply);
		if (send(c->fd, out, strlen(out), MSG_NOSIGNAL) < 0)
			ctl_close(c);
	}
	if (c->fd >= 0 && c->buf->len > 4096)
		ctl_close(c);
}

/* ---- serve ---- */

static int
parse_opt_int(const char *opt, const char *val, int min, int max, int *out)
{
	gint64 v;
	if (!parse_int(val, min, max, &v)) {
		say("%s wants a number from %d to %d, not '%s'", opt, min, max, val ? val : "");
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int
cmd_serve(int argc, char **argv)
{
	Emu e = {.hopper = 100,
		 .clean_threshold = 1000,
		 .reject_cap = 50,
		 .output_cap = 100,
		 .reboot_ms = 500,
		 .lsock = -1,
		 .csock = -1,
		 .conn = -1};
	int ribbon = 200, rc;
	g_autoptr(GError) error = NULL;
	e.serial = g_strdup("EVOEMU0001");
	e.ribbon_type = g_strdup("ymcko");
	for (int i = 0; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		rc = 0;
		struct {
			const char *name;
			int *dst, min, max;
		} ints[] = {{"--port", &e.port, 0, 65535},
			    {"--ctl-port", &e.ctl_port, 0, 65535},
			    {"--card-ms", &e.card_ms, 0, 600000},
			    {"--hopper", &e.hopper, 0, 1000000},
			    {"--ribbon", &ribbon, 0, 1000000},
			    {"--clean-threshold", &e.clean_threshold, 0, 1000000},
			    {"--reject-capacity", &e.reject_cap, 0, 1000000},
			    {"--output-capacity", &e.output_cap, 0, 1000000},
			    {"--reboot-ms", &e.reboot_ms, 0, 600000}};
		gboolean known = FALSE;
		for (size_t k = 0; k < G_N_ELEMENTS(ints); k++) {
			if (strcmp(o, ints[k].name) == 0) {
				rc = parse_opt_int(o, v, ints[k].min, ints[k].max, ints[k].dst);
				known = TRUE;
			}
		}
		char **sdst = strcmp(o, "--state") == 0         ? &e.state_file
			      : strcmp(o, "--out") == 0         ? &e.out_dir
			      : strcmp(o, "--serial") == 0      ? &e.serial
			      : strcmp(o, "--ribbon-type") == 0 ? &e.ribbon_type
								: NULL;
		if (sdst) {
			known = TRUE;
			if (!v) {
				say("%s needs a value", o);
				rc = -1;
			} else {
				g_free(*sdst);
				*sdst = g_strdup(v);
			}
		}
		if (!known) {
			say("unknown serve option '%s' (evoemu --help)", o);
			goto fail2;
		}
		if (rc < 0)
			goto fail2;
		i++;
	}
	if (!evo_ribbon_panels(e.ribbon_type) || !*e.ribbon_type) {
		say("--ribbon-type '%s' is not one we know (ymcko, ymckok, ko, kb, k, ...)",
		    e.ribbon_type);
		goto fail2;
	}
	e.ribbon_left = ribbon;
	if (load_state(&e, &error) < 0) {
		say("cannot read the state file %s: %s", e.state_file, error->message);
		goto fail1;
	}
	save_state(&e);
	if (e.out_dir) {
		if (g_mkdir_with_parents(e.out_dir, 0755) < 0) {
			say("cannot make %s: %s", e.out_dir, g_strerror(errno));
			goto fail1;
		}
		g_autofree char *log = g_build_filename(e.out_dir, "bytes.log", NULL);
		e.bytes_log = fopen(log, "ab");
		if (!e.bytes_log) {
			say("cannot open %s: %s", log, g_strerror(errno));
			goto fail1;
		}
		/* Card numbers continue after the ones already in cards.log. */
		g_autofree char *cards = g_build_filename(e.out_dir, "cards.log", NULL);
		g_autofree char *text = NULL;
		if (g_file_get_contents(cards, &text, NULL, NULL))
			for (const char *p = text; *p; p++)
				e.card_no += *p == '\n';
	}
	volatile_reset(&e);
	e.parser = evo_parser_new();
	e.lsock = listen_on(e.port, &e.port);
	e.csock = listen_on(e.ctl_port, &e.ctl_port);
	if (e.lsock < 0 || e.csock < 0) {
		say("cannot listen on 127.0.0.1:%d / %d: %s", e.port, e.ctl_port,
		    g_strerror(errno));
		goto fail1;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	printf("port %d ctl %d\n", e.port, e.ctl_port);
	fflush(stdout);

	CtlClient ctl[MAX_CTL];
	for (int i = 0; i < MAX_CTL; i++)
		ctl[i].fd = -1;
	while (!stop) {
		gint64 now = g_get_monotonic_time();
		if (e.off && now >= e.reboot_at) {
			e.lsock = listen_on(e.port, NULL);
			if (e.lsock >= 0) {
				e.off = FALSE;
				say("power back");
			} else {
				e.reboot_at = now + 100000; /* the port is busy: try again soon */
			}
		}
		if (e.pending && now >= e.reply_at) {
			g_autofree char *r = e.pending;
			e.pending = NULL;
			send_reply(&e, r);
			run_commands(&e);
			continue;
		}
		struct pollfd fds[3 + MAX_CTL];
		int nf = 0, i_l = -1, i_conn = -1, i_c = nf;
		fds[nf++] = (struct pollfd){.fd = e.csock, .events = POLLIN};
		if (!e.off && e.conn < 0) {
			i_l = nf;
			fds[nf++] = (struct pollfd){.fd = e.lsock, .events = POLLIN};
		}
		if (e.conn >= 0 && !e.pending) {
			i_conn = nf;
			fds[nf++] = (struct pollfd){.fd = e.conn, .events = POLLIN};
		}
		int first_ctl = nf;
		int map[MAX_CTL];
		for (int i = 0; i < MAX_CTL; i++) {
			if (ctl[i].fd >= 0) {
				map[nf - first_ctl] = i;
				fds[nf++] = (struct pollfd){.fd = ctl[i].fd, .events = POLLIN};
			}
		}
		gint64 wake = G_MAXINT64;
		if (e.pending)
			wake = MIN(wake, e.reply_at);
		if (e.off)
			wake = MIN(wake, e.reboot_at);
		int timeout = wake == G_MAXINT64 ? -1 : (int)MAX(0, (wake - now + 999) / 1000);
		int r = poll(fds, (nfds_t)nf, timeout);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			say("poll: %s", g_strerror(errno));
			break;
		}
		if (fds[i_c].revents & POLLIN) {
			int fd = accept4(e.csock, NULL, NULL, SOCK_CLOEXEC);
			int slot = -1;
			for (int i = 0; i < MAX_CTL && fd >= 0 && slot < 0; i++)
				if (ctl[i].fd < 0)
					slot = i;
			if (fd >= 0 && slot < 0) {
				const char *busy = "error too many control connections\n";
				(void)!send(fd, busy, strlen(busy), MSG_NOSIGNAL);
				close(fd);
			} else if (fd >= 0) {
				ctl[slot].fd = fd;
				ctl[slot].buf = g_string_new(NULL);
			}
		}
		if (i_l >= 0 && (fds[i_l].revents & POLLIN) && e.lsock >= 0) {
			e.conn = accept4(e.lsock, NULL, NULL, SOCK_CLOEXEC);
			if (e.conn >= 0) {
				int one = 1;
				setsockopt(e.conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
			}
		}
		if (i_conn >= 0 && e.conn >= 0 &&
		    (fds[i_conn].revents & (POLLIN | POLLHUP | POLLERR)))
			read_conn(&e);
		for (int k = first_ctl; k < nf; k++) {
			CtlClient *c = &ctl[map[k - first_ctl]];
			if (c->fd >= 0 && (fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
				ctl_read(&e, c);
		}
	}
	for (int i = 0; i < MAX_CTL; i++)
		if (ctl[i].fd >= 0)
			ctl_close(&ctl[i]);
	rc = 0;
	goto out;
fail1:
	rc = 1;
	goto out;
fail2:
	rc = 2;
out:
	if (e.conn >= 0)
		close(e.conn);
	evo_parser_free(e.parser);
	g_free(e.pending);
	if (e.lsock >= 0)
		close(e.lsock);
	if (e.csock >= 0)
		close(e.csock);
	drop_printed(&e);
	if (e.bytes_log)
		fclose(e.bytes_log);
	g_free(e.state_file);
	g_free(e.out_dir);
	g_free(e.serial);
	g_free(e.ribbon_type);
	return rc;
}

/* ---- clients ---- */

static int
connect_to(const char *port_s, GError **error)
{
	gint64 port;
	if (!parse_int(port_s, 1, 65535, &port)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "bad port '%s'",
			    port_s);
		return -1;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot connect to port %s: %s",
			    port_s, g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static int
cmd_ctl(int argc, char **argv)
{
	if (argc < 2) {
		say("usage: evoemu ctl PORT COMMAND [ARGS...]");
		return 2;
	}
	g_autoptr(GError) error = NULL;
	int fd = connect_to(argv[0], &error);
	if (fd < 0) {
		say("%s", error->message);
		return 1;
	}
	g_autofree char *joined = g_strjoinv(" ", argv + 1);
	g_autofree char *line = g_strdup_printf("%s\n", joined);
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) < 0) {
		say("send: %s", g_strerror(errno));
		close(fd);
		return 1;
	}
	GString *reply = g_string_new(NULL);
	char c;
	ssize_t n;
	while ((n = recv(fd, &c, 1, 0)) == 1 && c != '\n')
		g_string_append_c(reply, c);
	close(fd);
	if (n != 1) {
		say("the emulator closed the control connection without a reply");
		g_string_free(reply, TRUE);
		return 1;
	}
	printf("%s\n", reply->str);
	int rc = g_str_has_prefix(reply->str, "error") ? 1 : 0;
	g_string_free(reply, TRUE);
	return rc;
}

/* Sends BYTES and prints the reply; 0, 2 closed, 4 timeout. */
static int
exchange(int fd, const uint8_t *bytes, size_t len, int timeout_ms)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = send(fd, bytes + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			printf("CLOSED\n");
			return 2;
		}
		off += (size_t)n;
	}
	GString *reply = g_string_new(NULL);
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	for (;;) {
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, (int)left) == 0) {
			say("no reply in %d ms", timeout_ms);
			g_string_free(reply, TRUE);
			return 4;
		}
		uint8_t c;
		ssize_t n = recv(fd, &c, 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			printf("CLOSED\n");
			g_string_free(reply, TRUE);
			return 2;
		}
		if (c == '\r' || c == 0)
			break;
		g_string_append_c(reply, (char)c);
	}
	printf("%s\n", reply->str);
	fflush(stdout);
	g_string_free(reply, TRUE);
	return 0;
}

static int
cmd_send(int argc, char **argv)
{
	int timeout = 30000;
	if (argc >= 2 && strcmp(argv[0], "--timeout") == 0) {
		if (parse_opt_int("--timeout", argv[1], 1, 3600000, &timeout) < 0)
			return 1;
		argc -= 2, argv += 2;
	}
	if (argc < 2) {
		say("usage: evoemu send [--timeout MS] PORT COMMAND|@FILE ...");
		return 1;
	}
	g_autoptr(GError) error = NULL;
	int fd = connect_to(argv[0], &error);
	if (fd < 0) {
		say("%s", error->message);
		return 3;
	}
	int rc = 0;
	for (int i = 1; i < argc && rc == 0; i++) {
		g_autoptr(GByteArray) bytes = g_byte_array_new();
		if (argv[i][0] != '@') {
			evo_put(bytes, "%s", argv[i]);
			rc = exchange(fd, bytes->data, bytes->len, timeout);
			continue;
		}
		g_autofree char *data = NULL;
		gsize len;
		if (!g_file_get_contents(argv[i] + 1, &data, &len, &error)) {
			say("%s", error->message);
			rc = 1;
			break;
		}
		g_autoptr(EvoParser) p = evo_parser_new();
		evo_parser_feed(p, (const uint8_t *)data, len);
		if (evo_parser_skipped(p) || evo_parser_partial(p)) {
			say("%s is not a clean job stream", argv[i] + 1);
			rc = 1;
			break;
		}
		EvoCommand *cmd;
		while (rc == 0 && (cmd = evo_parser_next(p))) {
			g_byte_array_set_size(bytes, 0);
			evo_command_put(bytes, cmd);
			evo_command_free(cmd);
			rc = exchange(fd, bytes->data, bytes->len, timeout);
		}
	}
	close(fd);
	return rc;
}

/* The built-in test card: colour bands, a gradient, black text bars, a chip. */
static void
test_card(uint8_t *rgb, uint8_t *black, HalCardSide *side)
{
	for (int y = 0; y < HAL_CARD_H; y++) {
		for (int x = 0; x < HAL_CARD_W; x++) {
			uint8_t *p = rgb + ((size_t)y * HAL_CARD_W + x) * 3;
			if (y < 120) {
				p[0] = 200, p[1] = 30, p[2] = 40; /* red band */
			} else if (y < 520) {
				p[0] = (uint8_t)(255 - x / 4);
				p[1] = (uint8_t)(160 + y / 8);
				p[2] = (uint8_t)(x / 4);
			} else {
				p[0] = 20, p[1] = 80, p[2] = 200; /* blue band */
			}
			black[(size_t)y * HAL_CARD_W + x] = x > 420 && x < 960 && y > 180 &&
							    y < 480 && (y - 180) % 60 < 22 &&
							    (x / 14) % 3 != 0;
		}
	}
	side->rgb = rgb;
	side->black = black;
	side->clear_x = 70, side->clear_y = 220, side->clear_w = 130, side->clear_h = 110;
}

static int
cmd_job(int argc, char **argv)
{
	const char *ribbon = "ymcko", *png = NULL, *expect = NULL, *out = NULL;
	for (int i = 0; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--ribbon") == 0 && v)
			ribbon = v, i++;
		else if (strcmp(argv[i], "--png") == 0 && v)
			png = v, i++;
		else if (strcmp(argv[i], "--expect") == 0 && v)
			expect = v, i++;
		else if (argv[i][0] != '-' && !out)
			out = argv[i];
		else {
			say("usage: evoemu job [--ribbon T] [--png FILE] [--expect FILE] OUT");
			return 1;
		}
	}
	if (!out) {
		say("usage: evoemu job [--ribbon T] [--png FILE] [--expect FILE] OUT");
		return 1;
	}
	const size_t dots = (size_t)HAL_CARD_W * HAL_CARD_H;
	g_autofree uint8_t *black = g_malloc0(dots);
	g_autofree uint8_t *own = NULL;
	HalCardSide side = {0};
	Image img = {0};
	g_autoptr(GError) error = NULL;
	if (png) {
		g_autofree char *data = NULL;
		gsize len;
		ImageLimits lim = {.channels = 3,
				   .min_width = HAL_CARD_W,
				   .max_width = HAL_CARD_W,
				   .min_height = HAL_CARD_H,
				   .max_height = HAL_CARD_H,
				   .max_bytes = dots * 3};
		if (!g_file_get_contents(png, &data, &len, &error) ||
		    image_png_decode(data, len, &lim, &img, &error) < 0) {
			say("%s: %s", png, error->message);
			return 1;
		}
		for (size_t i = 0; i < dots; i++)
			black[i] = !img.pixels[i * 3] && !img.pixels[i * 3 + 1] &&
				   !img.pixels[i * 3 + 2];
		side.rgb = img.pixels;
		side.black = black;
	} else {
		own = g_malloc(dots * 3);
		test_card(own, black, &side);
	}
	g_autoptr(GByteArray) bytes = g_byte_array_new();
	int rc = 0;
	if (evo_put_front(bytes, &side, ribbon, &error) < 0 ||
	    !g_file_set_contents(out, (const char *)bytes->data, bytes->len, &error)) {
		say("%s", error->message);
		rc = 1;
	}
	if (rc == 0 && expect) {
		EvoPanelSet set;
		if (evo_make_panels(&side, ribbon, &set, &error) < 0) {
			say("%s", error->message);
			rc = 1;
		} else {
			g_autofree uint8_t *rgb = composite(set.panel, set.n);
			if (write_png(expect, rgb, 3, &error) < 0) {
				say("%s: %s", expect, error->message);
				rc = 1;
			}
			evo_panel_set_clear(&set);
		}
	}
	image_clear(&img);
	return rc;
}

static int
cmd_replay(int argc, char **argv)
{
	const char *file = NULL, *out = NULL;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			out = argv[++i];
		else if (!file && argv[i][0] != '-')
			file = argv[i];
		else
			file = out = NULL, i = argc;
	}
	if (!file || !out) {
		say("usage: evoemu replay FILE --out DIR");
		return 1;
	}
	g_autofree char *data = NULL;
	gsize len;
	g_autoptr(GError) error = NULL;
	if (!g_file_get_contents(file, &data, &len, &error)) {
		say("%s", error->message);
		return 1;
	}
	if (g_mkdir_with_parents(out, 0755) < 0) {
		say("cannot make %s: %s", out, g_strerror(errno));
		return 1;
	}
	g_autoptr(EvoParser) p = evo_parser_new();
	evo_parser_feed(p, (const uint8_t *)data, len);
	EvoPanel card[16];
	int n_card = 0, n_panels = 0, n_cards = 0, rc = 0;
	EvoCommand *cmd;
	while ((cmd = evo_parser_next(p))) {
		const char *name = cmd->argv[0];
		if (strcmp(name, "Db") == 0 || strcmp(name, "Dbc") == 0) {
			EvoPanel pan;
			if (evo_panel_decode(cmd, &pan, &error) < 0) {
				say("%s: panel %d (%s): %s", file, n_panels + 1, cmd->text,
				    error->message);
				g_clear_error(&error);
				rc = 1;
			} else {
				n_panels++;
				const size_t dots = (size_t)HAL_CARD_W * HAL_CARD_H;
				g_autofree uint8_t *grey = g_malloc(dots);
				for (size_t i = 0; i < dots; i++)
					grey[i] = (uint8_t)(255 -
							    pan.dots[i] * 255 / (pan.levels - 1));
				g_autofree char *path = g_strdup_printf("%s/panel-%02d-%c.png", out,
									n_panels, pan.panel);
				if (write_png(path, grey, 1, &error) < 0) {
					say("%s: %s", path, error->message);
					g_clear_error(&error);
					rc = 1;
				}
				printf("%s %c %d levels\n", path, pan.panel, pan.levels);
				if (n_card < 16)
					card[n_card++] = pan;
				else
					evo_panel_clear(&pan);
			}
		} else if (cmd->bad) {
			say("%s: %s gives no data length", file, cmd->text);
			rc = 1;
		}
		gboolean end = strcmp(name, "Se") == 0;
		evo_command_free(cmd);
		if (end && n_card) {
			g_autofree uint8_t *rgb = composite(card, n_card);
			g_autofree char *path = g_strdup_printf("%s/card-%04d.png", out, ++n_cards);
			if (write_png(path, rgb, 3, &error) < 0) {
				say("%s: %s", path, error->message);
				g_clear_error(&error);
				rc = 1;
			}
			printf("%s\n", path);
			for (int i = 0; i < n_card; i++)
				evo_panel_clear(&card[i]);
			n_card = 0;
		}
	}
	if (n_card) {
		g_autofree uint8_t *rgb = composite(card, n_card);
		g_autofree char *path = g_strdup_printf("%s/card-%04d.png", out, ++n_cards);
		if (write_png(path, rgb, 3, &error) < 0)
			rc = 1;
		for (int i = 0; i < n_card; i++)
			evo_panel_clear(&card[i]);
	}
	if (evo_parser_skipped(p)) {
		say("%s: %" G_GUINT64_FORMAT " bytes are not part of any command", file,
		    evo_parser_skipped(p));
		rc = 1;
	}
	if (evo_parser_partial(p)) {
		say("%s: the stream ends inside a command", file);
		rc = 1;
	}
	if (n_panels == 0) {
		say("%s: no panel (Db or Dbc) in the stream", file);
		rc = 1;
	}
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "serve") == 0)
		return cmd_serve(argc - 2, argv + 2);
	if (strcmp(sub, "ctl") == 0)
		return cmd_ctl(argc - 2, argv + 2);
	if (strcmp(sub, "send") == 0)
		return cmd_send(argc - 2, argv + 2);
	if (strcmp(sub, "job") == 0)
		return cmd_job(argc - 2, argv + 2);
	if (strcmp(sub, "replay") == 0)
		return cmd_replay(argc - 2, argv + 2);
	say("unknown command '%s' (serve, ctl, send, job, replay; --help)", sub);
	return 2;
}
