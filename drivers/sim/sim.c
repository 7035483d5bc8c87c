/* SPDX-License-Identifier: MIT */
/*
 * Simulators for every device class: what the shipped configuration runs on,
 * and what the tests and technician training inject faults into.  Each keeps
 * its state in the device's private data, in memory only (a restart starts
 * afresh); the device manager calls a device's methods from one worker thread
 * at a time, so no locking is needed.
 *
 * Faults (ektpctl device fault DEVICE KIND [--count N], or "faults = a,b" in
 * the config): a fault lasts for the next N operations it acts on, or until
 * "clear" (or "replug" for "unplug") when N is 0.  A status read shows a
 * fault without using it up, except unplug, timeout and slow, which act on
 * every call, status reads included:
 *   all classes: unplug, replug, timeout (the next operations hang past the
 *                device's timeout, ignoring cancel), slow (answers take three
 *                times the configured delay plus 200 ms)
 *   printer:     jam (the next move or print jams: the card stays stuck inside
 *                until a REJECT gets it out), ribbon-out (prints are refused),
 *                cover-open (every motion and cleaning is refused),
 *                hopper-empty (FEED is refused), cleaning-required (FEED is
 *                refused until a cleaning cycle)
 *   encoder:     chip-failure (the chip in the station does not answer)
 *   capturing classes (fingerprint, iris, face, signature):
 *                low-quality (captures come out poor), quality-decline (each
 *                capture a little worse than the one before: a wearing sensor)
 *
 * The printer is a card engine with one card in it at most: an input hopper
 * of blanks, a ribbon counted in prints, the contactless station, an output
 * hopper and a reject box.  Its refusals are HAL_ERROR_DEVICE "REASON: …"
 * with the CUPS reason the real printers' errors map to (docs/
 * printer-protocol.md), and they leave the card where a real engine would.
 * With "output_dir" set, every card ejected is written there as a PNG of
 * what was printed on it, so a run without hardware shows its cards.
 *
 * Captures are synthesised (synth.h) from a seed made of the device's seed
 * and its capture counter, so a run is repeatable.
 */
#include "drivers/sim/sim.h"

#include "drivers/sim/synth.h"
#include "image/image.h"

#include <errno.h>
#include <string.h>

enum {
	F_UNPLUG,
	F_TIMEOUT,
	F_SLOW,
	F_JAM,
	F_RIBBON_OUT,
	F_COVER_OPEN,
	F_HOPPER_EMPTY,
	F_CLEANING,
	F_CHIP,
	F_LOW_QUALITY,
	F_DECLINE,
	F_COUNT,
};

static const char *const fault_names[F_COUNT] = {
	[F_UNPLUG] = "unplug",
	[F_TIMEOUT] = "timeout",
	[F_SLOW] = "slow",
	[F_JAM] = "jam",
	[F_RIBBON_OUT] = "ribbon-out",
	[F_COVER_OPEN] = "cover-open",
	[F_HOPPER_EMPTY] = "hopper-empty",
	[F_CLEANING] = "cleaning-required",
	[F_CHIP] = "chip-failure",
	[F_LOW_QUALITY] = "low-quality",
	[F_DECLINE] = "quality-decline",
};

/* The quality of a healthy device's captures, and how much each capture under
 * quality-decline loses. */
#define SIM_QUALITY 0.92
#define SIM_DECLINE_STEP 0.04

/* Below these a printer warns (degraded): prints left on the ribbon, blanks
 * left in the input hopper. */
#define SIM_RIBBON_LOW 20
#define SIM_HOPPER_LOW 10

/* Where the card inside a printer is. */
typedef enum {
	CARD_NONE,    /* no card in the engine */
	CARD_STATION, /* a blank at the contactless station */
	CARD_PRINTED, /* printed, waiting to be ejected */
} CardAt;

typedef struct {
	HalClass klass;
	/* For each fault: 0 = off, -1 = on until cleared, N = on for N more operations. */
	int fault[F_COUNT];
	/* Captures, chips written or (printers) cards picked in the device's life. */
	int64_t total;
	int64_t since_clean, ribbon_left;
	int declined; /* captures taken under quality-decline */
	/* Printers. */
	int64_t hopper;   /* blanks left in the input hopper */
	int64_t finished; /* cards ejected to the output hopper, life */
	int64_t rejected; /* cards in the reject box */
	CardAt card;
	gboolean stuck;  /* the card inside jammed: only a REJECT gets it out */
	int64_t card_no; /* the card inside's number: TOTAL when it was picked */
	uint8_t *face;   /* what is printed on it, HAL_CARD_W × HAL_CARD_H RGB; NULL: blank */
} Sim;

static int
fault_index(const char *kind)
{
	for (int i = 0; i < F_COUNT; i++)
		if (strcmp(fault_names[i], kind) == 0)
			return i;
	return -1;
}

/* TRUE when fault F is on for this operation; counts it down. */
static gboolean
take(Sim *s, int f)
{
	if (s->fault[f] == 0)
		return FALSE;
	if (s->fault[f] > 0)
		s->fault[f]--;
	return TRUE;
}

/* The common part of every operation: unplugged, hanging or slow. */
static int
begin_op(HalDevice *dev, Sim *s, GCancellable *cancel, GError **error)
{
	if (take(s, F_UNPLUG)) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_ABSENT, "%s: unplugged", hal_dev_name(dev));
		return -1;
	}
	if (take(s, F_TIMEOUT)) {
		/* A hung device: ignores cancel and outlives the manager's timeout. */
		g_usleep((gulong)hal_dev_option_int(dev, "timeout") * 2 * 1000);
		g_set_error(error, HAL_ERROR, HAL_ERROR_TIMEOUT, "%s: hung", hal_dev_name(dev));
		return -1;
	}
	int64_t delay = hal_dev_option_int(dev, "delay");
	if (take(s, F_SLOW))
		delay = delay * 3 + 200;
	for (int64_t waited = 0; waited < delay; waited += 10) {
		if (g_cancellable_is_cancelled(cancel)) {
			g_set_error(error, HAL_ERROR, HAL_ERROR_CANCELLED, "%s: cancelled",
				    hal_dev_name(dev));
			return -1;
		}
		g_usleep(10 * 1000);
	}
	return 0;
}

/* The "faults" option must name known faults only. */
static int
sim_check_option(const char *name, const char *value, GError **error)
{
	if (strcmp(name, "faults") != 0)
		return 0;
	g_auto(GStrv) faults = g_strsplit(value, ",", -1);
	for (int i = 0; faults[i]; i++) {
		const char *f = g_strstrip(faults[i]);
		if (*f && fault_index(f) < 0) {
			g_autofree char *known = g_strjoinv(", ", (char **)fault_names);
			g_set_error(error, HAL_ERROR, HAL_ERROR_CONFIG, "no fault '%s' (known: %s)", f,
				    known);
			return -1;
		}
	}
	return 0;
}

/* The device's serial as it goes into a file name (caller frees). */
static char *
file_serial(HalDevice *dev)
{
	return g_strcanon(g_strdup(hal_dev_option(dev, "serial")),
			  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.", '_');
}

/* The highest card number among SERIAL's cards already in DIR, 0 when none:
 * after a restart the simulator numbers its cards past them rather than
 * replacing them. */
static int64_t
last_card_written(const char *dir, const char *serial)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	if (!d)
		return 0;
	g_autofree char *prefix = g_strconcat(serial, "-", NULL);
	int64_t last = 0;
	const char *name;
	while ((name = g_dir_read_name(d))) {
		if (!g_str_has_prefix(name, prefix))
			continue;
		const char *num = name + strlen(prefix);
		char *end;
		gint64 n = g_ascii_strtoll(num, &end, 10);
		if (end != num && g_ascii_isdigit(*num) && strcmp(end, ".png") == 0 && n > last)
			last = n;
	}
	return last;
}

static int
sim_open(HalDevice *dev, HalClass klass, GError **error)
{
	Sim *s = hal_dev_get_private(dev);
	if (!s) {
		s = g_new0(Sim, 1);
		s->klass = klass;
		s->total = hal_dev_option_int(dev, "seed") * 37 % 5000;
		s->since_clean = s->total % 700;
		s->ribbon_left = hal_dev_option_int(dev, "ribbon");
		if (klass == HAL_CLASS_PRINTER) {
			const char *dir = hal_dev_option(dev, "output_dir");
			if (*dir) {
				g_autofree char *serial = file_serial(dev);
				s->total = MAX(s->total, last_card_written(dir, serial));
			}
			s->since_clean = s->total % hal_dev_option_int(dev, "clean_threshold");
			s->finished = s->total; /* every card before this run was finished */
			s->hopper = hal_dev_option_int(dev, "hopper");
		}
		g_auto(GStrv) faults = g_strsplit(hal_dev_option(dev, "faults"), ",", -1);
		for (int i = 0; faults[i]; i++) {
			int f = fault_index(g_strstrip(faults[i]));
			if (f >= 0) /* names were checked with the configuration */
				s->fault[f] = -1;
		}
		hal_dev_set_private(dev, s);
	}
	if (s->fault[F_UNPLUG]) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_ABSENT, "%s: unplugged", hal_dev_name(dev));
		return -1;
	}
	return 0;
}

static void
sim_close(HalDevice *dev)
{
	Sim *s = hal_dev_get_private(dev);
	if (s)
		g_free(s->face);
	g_free(s);
	hal_dev_set_private(dev, NULL);
}

static void
add_reason(HalStatus *out, const char *reason)
{
	for (int i = 0; i < HAL_MAX_REASONS - 1; i++) {
		if (!out->reasons[i]) {
			out->reasons[i] = reason;
			return;
		}
	}
}

/* Adds REASON, and STATE when it is worse than the one so far. */
static void
add_condition(HalStatus *out, HalState state, const char *reason)
{
	add_reason(out, reason);
	if (out->state == HAL_STATE_READY ||
	    (out->state == HAL_STATE_DEGRADED && state == HAL_STATE_FAULT))
		out->state = state;
}

/* A status read shows a fault without using it up: a counted fault is for
 * the operations it acts on, and the manager polls on its own schedule. */
static int
sim_status(HalDevice *dev, HalStatus *out, GCancellable *cancel, GError **error)
{
	Sim *s = hal_dev_get_private(dev);
	if (begin_op(dev, s, cancel, error) < 0)
		return -1;
	g_strlcpy(out->serial, hal_dev_option(dev, "serial"), sizeof out->serial);
	g_strlcpy(out->firmware, "sim-1", sizeof out->firmware);
	out->counter_total = s->total;
	if (s->fault[F_CHIP])
		add_condition(out, HAL_STATE_FAULT, "chip-failure");
	if (s->klass != HAL_CLASS_PRINTER)
		return 0;

	/* Worst first: a fault stops the printer, a warning does not. */
	gboolean ribbon_out = s->fault[F_RIBBON_OUT] || s->ribbon_left == 0;
	gboolean hopper_out = s->fault[F_HOPPER_EMPTY] || s->hopper == 0;
	int64_t threshold = hal_dev_option_int(dev, "clean_threshold");
	if (s->fault[F_JAM] || s->stuck)
		add_condition(out, HAL_STATE_FAULT, "media-jam");
	if (s->fault[F_COVER_OPEN])
		add_condition(out, HAL_STATE_FAULT, "cover-open");
	if (ribbon_out)
		add_condition(out, HAL_STATE_FAULT, "marker-supply-empty");
	if (hopper_out)
		add_condition(out, HAL_STATE_FAULT, "media-empty");
	/* Cleaning stops new cards only; the one inside can still be finished. */
	if (s->fault[F_CLEANING] || s->since_clean >= threshold)
		add_condition(out, HAL_STATE_DEGRADED, "cleaning-required");
	if (s->rejected >= hal_dev_option_int(dev, "reject_capacity"))
		add_condition(out, HAL_STATE_DEGRADED, "output-area-full");
	if (!ribbon_out && s->ribbon_left < SIM_RIBBON_LOW)
		add_condition(out, HAL_STATE_DEGRADED, "marker-supply-low");
	if (!hopper_out && s->hopper < SIM_HOPPER_LOW)
		add_condition(out, HAL_STATE_DEGRADED, "media-low");
	out->counter_since_clean = s->since_clean;
	out->supply_remaining = s->fault[F_RIBBON_OUT] ? 0 : s->ribbon_left;
	out->card_inside = s->card != CARD_NONE;
	out->clean_threshold = threshold;
	out->cards_finished = s->finished;
	return 0;
}

/* Quality 0..1 for the next capture: healthy, poor, or worn down step by step. */
static double
next_quality(Sim *s)
{
	double q = SIM_QUALITY - 0.04 * (double)(s->total % 3); /* a little natural spread */
	if (take(s, F_DECLINE))
		q -= SIM_DECLINE_STEP * ++s->declined;
	if (take(s, F_LOW_QUALITY))
		q = 0.12;
	return CLAMP(q, 0.05, 1.0);
}

/* The configured background, or the backdrop the capture asks for. */
static guint32
face_background(HalDevice *dev, int backdrop)
{
	gint64 bg = hal_dev_option_int(dev, "background");
	if (bg >= 0)
		return (guint32)bg;
	return backdrop == HAL_BACKDROP_BLUE ? 0x0090ff : backdrop == HAL_BACKDROP_ORANGE ? 0xff8c00
										       : 0xdb1514;
}

static int
sim_capture(HalDevice *dev, int position, HalImage *out, GCancellable *cancel, GError **error)
{
	Sim *s = hal_dev_get_private(dev);
	if (begin_op(dev, s, cancel, error) < 0)
		return -1;
	guint32 seed = (guint32)(hal_dev_option_int(dev, "seed") * 1000003 + s->total);
	double q = next_quality(s);
	int rc = -1;
	switch (s->klass) {
	case HAL_CLASS_FINGERPRINT:
		rc = synth_fingerprint(seed, position, q, out, NULL);
		break;
	case HAL_CLASS_IRIS:
		rc = synth_iris(seed, position, q, out, NULL);
		break;
	case HAL_CLASS_FACE:
		rc = synth_face(seed, face_background(dev, position), q, out);
		break;
	case HAL_CLASS_SIGNATURE:
		rc = synth_signature(seed, out);
		break;
	default:
		break;
	}
	if (rc < 0) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED, "%s: cannot capture at position %d",
			    hal_dev_name(dev), position);
		return -1;
	}
	out->position = position;
	s->total++;
	return 0;
}

/* The simulated chip: everything written must fit the capacity; what fits
 * reads back as written, so only its size and digest are kept. */
static int
sim_encode(HalDevice *dev, const HalChip *chip, GCancellable *cancel, GError **error)
{
	Sim *s = hal_dev_get_private(dev);
	if (begin_op(dev, s, cancel, error) < 0)
		return -1;
	if (take(s, F_CHIP)) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_DEVICE,
			    "%s: the chip does not answer (SW 6F00): chip failure", hal_dev_name(dev));
		return -1;
	}
	size_t total = 0;
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	for (size_t i = 0; i < chip->n_files; i++) {
		total += chip->files[i].len;
		g_checksum_update(sum, chip->files[i].data, (gssize)chip->files[i].len);
	}
	gint64 capacity = hal_dev_option_int(dev, "capacity");
	if ((gint64)total > capacity) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_DEVICE,
			    "%s: %zu bytes do not fit the chip's %" G_GINT64_FORMAT " (SW 6A84)",
			    hal_dev_name(dev), total, capacity);
		return -1;
	}
	g_debug("%s: chip of %zu bytes written, SHA-256 %s", hal_dev_name(dev), total,
		g_checksum_get_string(sum));
	s->total++;
	return 0;
}

/* ---- the card printer ---- */

/* Fails with the printer's refusal: HAL_ERROR_DEVICE "REASON: sentence", the
 * form the manager takes the reason from. */
static int refuse(GError **error, const char *reason, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static int
refuse(GError **error, const char *reason, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, HAL_ERROR, HAL_ERROR_DEVICE, "%s: %s", reason, why);
	return -1;
}

/* What every motion (and the cleaning cycle) goes through: the answer's
 * latency, then the cover. */
static Sim *
begin_motion(HalDevice *dev, GCancellable *cancel, GError **error)
{
	Sim *s = hal_dev_get_private(dev);
	if (begin_op(dev, s, cancel, error) < 0)
		return NULL;
	if (take(s, F_COVER_OPEN)) {
		refuse(error, "cover-open", "%s: the cover is open; close it", hal_dev_name(dev));
		return NULL;
	}
	return s;
}

/* The card inside leaves the engine (to either hopper). */
static void
card_gone(Sim *s)
{
	s->card = CARD_NONE;
	s->stuck = FALSE;
	g_clear_pointer(&s->face, g_free);
}

/* A card stuck inside refuses everything but a REJECT. */
static int
refuse_stuck(HalDevice *dev, const Sim *s, GError **error)
{
	return refuse(error, "media-jam",
		      "%s: card %06" G_GINT64_FORMAT " is stuck inside; reject it",
		      hal_dev_name(dev), s->card_no);
}

/* The jam fault, when on, jams the card inside where it is. */
static gboolean
jams(Sim *s)
{
	if (!take(s, F_JAM))
		return FALSE;
	s->stuck = TRUE;
	return TRUE;
}

static int
feed(HalDevice *dev, Sim *s, GError **error)
{
	const char *name = hal_dev_name(dev);
	if (s->stuck)
		return refuse_stuck(dev, s, error);
	if (s->card != CARD_NONE)
		return refuse(error, "media-needed",
			      "%s: card %06" G_GINT64_FORMAT
			      " is still inside; eject or reject it first",
			      name, s->card_no);
	if (take(s, F_HOPPER_EMPTY) || s->hopper == 0)
		return refuse(error, "media-empty", "%s: the input hopper is empty; load blanks",
			      name);
	int64_t threshold = hal_dev_option_int(dev, "clean_threshold");
	if (take(s, F_CLEANING) || s->since_clean >= threshold)
		return refuse(error, "cleaning-required",
			      "%s: %" G_GINT64_FORMAT
			      " cards since the last cleaning (limit %" G_GINT64_FORMAT
			      "); run a cleaning cycle",
			      name, s->since_clean, threshold);
	s->hopper--;
	s->total++;
	s->since_clean++;
	s->card = CARD_STATION;
	s->card_no = s->total;
	if (jams(s))
		return refuse(error, "media-jam",
			      "%s: card %06" G_GINT64_FORMAT " jammed on its way to the station",
			      name, s->card_no);
	return 0;
}

/* Writes the card inside, as printed, to output_dir as SERIAL-NNNNNN.png:
 * to a temporary file renamed into place, so a reader never sees half a
 * card.  Personal data: the folder is 0700, the file 0600. */
static int
write_card(HalDevice *dev, const Sim *s, GError **error)
{
	const char *dir = hal_dev_option(dev, "output_dir");
	const size_t n = (size_t)HAL_CARD_W * HAL_CARD_H * 3;
	g_autofree uint8_t *blank = s->face ? NULL : g_malloc(n);
	if (blank)
		memset(blank, 0xff, n);
	Image img = {
		.width = HAL_CARD_W,
		.height = HAL_CARD_H,
		.channels = 3,
		.ppi = 300,
		.pixels = s->face ? s->face : blank,
	};
	g_autoptr(GError) e = NULL;
	g_autoptr(GBytes) png = image_png_encode(&img, &e);
	g_autofree char *serial = file_serial(dev);
	g_autofree char *file =
		g_strdup_printf("%s-%06" G_GINT64_FORMAT ".png", serial, s->card_no);
	g_autofree char *path = g_build_filename(dir, file, NULL);
	if (png && g_mkdir_with_parents(dir, 0700) < 0) {
		int err = errno;
		g_set_error(&e, G_FILE_ERROR, g_file_error_from_errno(err), "%s: %s", dir,
			    g_strerror(err));
	}
	if (png && !e)
		g_file_set_contents_full(path, g_bytes_get_data(png, NULL),
					 (gssize)g_bytes_get_size(png),
					 G_FILE_SET_CONTENTS_CONSISTENT, 0600, &e);
	if (e)
		return refuse(error, "output-area-full",
			      "%s: cannot write card %06" G_GINT64_FORMAT
			      " to %s (%s); it stays inside",
			      hal_dev_name(dev), s->card_no, path, e->message);
	g_debug("%s: card %06" G_GINT64_FORMAT " written to %s", hal_dev_name(dev), s->card_no,
		path);
	return 0;
}

static int
eject(HalDevice *dev, Sim *s, GError **error)
{
	if (s->card == CARD_NONE)
		return refuse(error, "media-needed", "%s: no card inside to eject",
			      hal_dev_name(dev));
	if (s->stuck)
		return refuse_stuck(dev, s, error);
	if (jams(s))
		return refuse(error, "media-jam",
			      "%s: card %06" G_GINT64_FORMAT " jammed on its way out",
			      hal_dev_name(dev), s->card_no);
	if (*hal_dev_option(dev, "output_dir") && write_card(dev, s, error) < 0)
		return -1;
	s->finished++;
	card_gone(s);
	return 0;
}

/* Nothing inside: done, as a real printer answers.  A card stuck inside is
 * what this is for; only a jam fault still standing keeps it in. */
static int
reject(HalDevice *dev, Sim *s, GError **error)
{
	if (s->card == CARD_NONE)
		return 0;
	if (jams(s))
		return refuse(error, "media-jam",
			      "%s: card %06" G_GINT64_FORMAT " is stuck and does not come out",
			      hal_dev_name(dev), s->card_no);
	int64_t capacity = hal_dev_option_int(dev, "reject_capacity");
	if (s->rejected >= capacity)
		return refuse(error, "output-area-full",
			      "%s: the reject box is full (%" G_GINT64_FORMAT
			      " cards); card %06" G_GINT64_FORMAT " stays inside",
			      hal_dev_name(dev), capacity, s->card_no);
	s->rejected++;
	card_gone(s);
	return 0;
}

static int
sim_card_move(HalDevice *dev, HalCardMove move, GCancellable *cancel, GError **error)
{
	Sim *s = begin_motion(dev, cancel, error);
	if (!s)
		return -1;
	switch (move) {
	case HAL_CARD_FEED:
		return feed(dev, s, error);
	case HAL_CARD_EJECT:
		return eject(dev, s, error);
	case HAL_CARD_REJECT:
		return reject(dev, s, error);
	}
	g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED, "%s: no card move %d", hal_dev_name(dev),
		    (int)move);
	return -1;
}

/* Prints FRONT on the card inside: the colour image with the resin black
 * (text) over it, one ribbon print used.  The overlay's bare patch does not
 * show in a picture, so it is not simulated. */
static int
sim_card_print(HalDevice *dev, const HalCardSide *front, GCancellable *cancel, GError **error)
{
	Sim *s = begin_motion(dev, cancel, error);
	if (!s)
		return -1;
	const char *name = hal_dev_name(dev);
	if (s->card == CARD_NONE)
		return refuse(error, "media-needed", "%s: no card inside to print on", name);
	if (s->stuck)
		return refuse_stuck(dev, s, error);
	if (take(s, F_RIBBON_OUT) || s->ribbon_left == 0)
		return refuse(error, "marker-supply-empty",
			      "%s: the ribbon is used up; card %06" G_GINT64_FORMAT " stays inside",
			      name, s->card_no);
	s->ribbon_left--; /* a jam halfway through wastes the print too */
	if (jams(s))
		return refuse(error, "media-jam",
			      "%s: card %06" G_GINT64_FORMAT " jammed while printing", name,
			      s->card_no);
	const size_t px = (size_t)HAL_CARD_W * HAL_CARD_H;
	if (!s->face)
		s->face = g_malloc(px * 3);
	for (size_t i = 0; i < px; i++) {
		gboolean black = front->black && front->black[i];
		for (int c = 0; c < 3; c++)
			s->face[i * 3 + c] = black ? 0 : front->rgb ? front->rgb[i * 3 + c] : 0xff;
	}
	s->card = CARD_PRINTED;
	return 0;
}

/* The cleaning cycle runs a cleaning card through the empty engine. */
static int
sim_clean(HalDevice *dev, GCancellable *cancel, GError **error)
{
	Sim *s = begin_motion(dev, cancel, error);
	if (!s)
		return -1;
	if (s->card != CARD_NONE)
		return refuse(error, "media-needed",
			      "%s: card %06" G_GINT64_FORMAT
			      " is inside; eject or reject it before cleaning",
			      hal_dev_name(dev), s->card_no);
	s->since_clean = 0;
	s->fault[F_CLEANING] = 0; /* what the fault stood for is done */
	return 0;
}

static int
sim_inject(HalDevice *dev, const HalFault *fault, GError **error)
{
	Sim *s = hal_dev_get_private(dev);
	if (!s) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_ABSENT, "%s: not opened yet", hal_dev_name(dev));
		return -1;
	}
	if (strcmp(fault->kind, "clear") == 0) {
		memset(s->fault, 0, sizeof s->fault);
		return 0;
	}
	if (strcmp(fault->kind, "replug") == 0) {
		s->fault[F_UNPLUG] = 0;
		return 0;
	}
	int f = fault_index(fault->kind);
	if (f < 0) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_CONFIG, "no fault '%s'", fault->kind);
		return -1;
	}
	s->fault[f] = fault->count > 0 ? fault->count : -1;
	return 0;
}

#define COMMON_FAULTS "unplug", "replug", "timeout", "slow"

static const char *const faults_encoder[] = { COMMON_FAULTS, "chip-failure", NULL };
static const char *const faults_capture[] = { COMMON_FAULTS, "low-quality", "quality-decline",
					       NULL };
static const char *const faults_printer[] = { COMMON_FAULTS, "jam", "ribbon-out", "cover-open",
					      "hopper-empty", "cleaning-required", NULL };

#define SIM_OPTIONS(serial)                                                         \
	{ "seed", HAL_OPT_INT, "1", 0, 1000000, "makes every simulated value repeatable" },  \
	{ "serial", HAL_OPT_STRING, serial, 0, 0, "serial number the device reports" },      \
	{ "delay", HAL_OPT_INT, "0", 0, 60000,                                               \
	  "how long each answer takes (a status read, a capture, a card move or print), ms" }, \
	{ "faults", HAL_OPT_STRING, "", 0, 0, "faults present from the start, comma-separated" }

static const HalOption opts_fingerprint[] = { SIM_OPTIONS("SIM-FP-0001"), { NULL } };
static const HalOption opts_iris[] = { SIM_OPTIONS("SIM-IR-0001"), { NULL } };
static const HalOption opts_face[] = {
	SIM_OPTIONS("SIM-FC-0001"),
	{ "background", HAL_OPT_INT, "-1", -1, 16777215,
	  "the backdrop's colour as 0xRRGGBB in decimal; -1: the one each capture asks for "
	  "(red, blue or orange by the birth-year rule)" },
	{ NULL },
};
static const HalOption opts_signature[] = { SIM_OPTIONS("SIM-SG-0001"), { NULL } };
static const HalOption opts_encoder[] = {
	SIM_OPTIONS("SIM-EN-0001"),
	{ "capacity", HAL_OPT_INT, "8192", 256, 1048576, "bytes the simulated chip holds" },
	{ NULL },
};
static const HalOption opts_printer[] = {
	SIM_OPTIONS("SIM-PR-0001"),
	{ "ribbon", HAL_OPT_INT, "500", 0, 100000, "prints left on the loaded ribbon" },
	{ "hopper", HAL_OPT_INT, "100", 0, 100000, "blank cards in the input hopper" },
	{ "reject_capacity", HAL_OPT_INT, "50", 0, 100000, "cards the reject box holds" },
	{ "clean_threshold", HAL_OPT_INT, "700", 1, 1000000,
	  "cards allowed between cleanings; past them a feed is refused" },
	{ "output_dir", HAL_OPT_STRING, "", 0, 0,
	  "folder (relative to ektpd's working directory) that gets a PNG of every card "
	  "ejected, SERIAL-NNNNNN.png; empty: none" },
	{ NULL },
};

/* open() must know its class; one small wrapper per class. */
#define SIM_OPEN(fn, k)                                   \
	static int fn(HalDevice *dev, GError **error)     \
	{                                                 \
		return sim_open(dev, k, error);           \
	}
SIM_OPEN(open_fingerprint, HAL_CLASS_FINGERPRINT)
SIM_OPEN(open_iris, HAL_CLASS_IRIS)
SIM_OPEN(open_face, HAL_CLASS_FACE)
SIM_OPEN(open_signature, HAL_CLASS_SIGNATURE)
SIM_OPEN(open_printer, HAL_CLASS_PRINTER)
SIM_OPEN(open_encoder, HAL_CLASS_ENCODER)

/* The methods only some classes have, grouped by class. */
#define SIM_CAPTURING .capture = sim_capture
#define SIM_ENCODING .encode = sim_encode
#define SIM_PRINTING .card_move = sim_card_move, .card_print = sim_card_print, .clean = sim_clean

#define SIM_DRIVER(drv_name, k, open_fn, extra_caps, opts, faults, ...) \
	{                                                                 \
		.abi = HAL_ABI_VERSION,                                   \
		.name = drv_name,                                         \
		.version = "1.0",                                         \
		.klass = k,                                               \
		.caps = HAL_CAP_FAULTS | HAL_CAP_COUNTERS | (extra_caps), \
		.options = opts,                                          \
		.fault_kinds = faults,                                    \
		.open = open_fn,                                          \
		.close = sim_close,                                       \
		.status = sim_status,                                     \
		.inject_fault = sim_inject,                               \
		.check_option = sim_check_option,                         \
		__VA_ARGS__                                               \
	}

const HalDriver sim_fingerprint_driver =
	SIM_DRIVER("sim-fingerprint", HAL_CLASS_FINGERPRINT, open_fingerprint, HAL_CAP_CAPTURE,
		   opts_fingerprint, faults_capture, SIM_CAPTURING);
const HalDriver sim_iris_driver =
	SIM_DRIVER("sim-iris", HAL_CLASS_IRIS, open_iris, HAL_CAP_CAPTURE, opts_iris, faults_capture,
		   SIM_CAPTURING);
const HalDriver sim_face_driver =
	SIM_DRIVER("sim-face", HAL_CLASS_FACE, open_face, HAL_CAP_CAPTURE, opts_face, faults_capture,
		   SIM_CAPTURING);
const HalDriver sim_signature_driver =
	SIM_DRIVER("sim-signature", HAL_CLASS_SIGNATURE, open_signature, HAL_CAP_CAPTURE,
		   opts_signature, faults_capture, SIM_CAPTURING);
const HalDriver sim_printer_driver =
	SIM_DRIVER("sim-printer", HAL_CLASS_PRINTER, open_printer, HAL_CAP_PRINT, opts_printer,
		   faults_printer, SIM_PRINTING);
const HalDriver sim_encoder_driver =
	SIM_DRIVER("sim-encoder", HAL_CLASS_ENCODER, open_encoder, HAL_CAP_ENCODE, opts_encoder,
		   faults_encoder, SIM_ENCODING);

#ifdef SIM_PLUGIN
/* Built as a shared object (make builds one for the tests): the printer
 * simulator under another name, found by the manager through dlopen as a
 * vendor SDK wrapper would be.  The object is compiled with
 * -fvisibility=hidden, so this table is all it exports: its copies of the
 * simulators never clash with ektpd's own.  Besides the hal_dev_* accessors
 * it takes one function from ektpd, image_png_encode() for output_dir. */
__attribute__((visibility("default"))) const HalDriver ektp_hal_driver =
	SIM_DRIVER("plugin-sim-printer", HAL_CLASS_PRINTER, open_printer, HAL_CAP_PRINT,
		   opts_printer, faults_printer, SIM_PRINTING);
#endif
