/* SPDX-License-Identifier: MIT */
/*
 * Simulators for every device class: what the shipped configuration runs on,
 * and what the tests and technician training inject faults into.  Each keeps
 * its state in the device's private data; the device manager calls a device's
 * methods from one worker thread at a time, so no locking is needed.
 *
 * Faults (ektpctl device fault DEVICE KIND [--count N], or "faults = a,b" in
 * the config): a fault lasts for the next N operations, or until "clear" (or
 * "replug" for "unplug") when N is 0.
 *   all classes: unplug, replug, timeout (the next operations hang past the
 *                device's timeout, ignoring cancel), slow (answers take three
 *                times the configured delay plus 200 ms)
 *   printer:     jam, ribbon-out, cover-open, hopper-empty, cleaning-required
 *   encoder:     chip-failure (the chip in the station does not answer)
 *   capturing classes (fingerprint, iris, face, signature):
 *                low-quality (captures come out poor), quality-decline (each
 *                capture a little worse than the one before: a wearing sensor)
 *
 * Captures are synthesised (synth.h) from a seed made of the device's seed
 * and its capture counter, so a run is repeatable.
 */
#include "drivers/sim/sim.h"

#include "drivers/sim/synth.h"

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

typedef struct {
	HalClass klass;
	/* For each fault: 0 = off, -1 = on until cleared, N = on for N more operations. */
	int fault[F_COUNT];
	int64_t total, since_clean, ribbon_left;
	int declined; /* captures taken under quality-decline */
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
	g_free(hal_dev_get_private(dev));
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

static int
sim_status(HalDevice *dev, HalStatus *out, GCancellable *cancel, GError **error)
{
	Sim *s = hal_dev_get_private(dev);
	if (begin_op(dev, s, cancel, error) < 0)
		return -1;
	g_strlcpy(out->serial, hal_dev_option(dev, "serial"), sizeof out->serial);
	g_strlcpy(out->firmware, "sim-1", sizeof out->firmware);
	/* Printer conditions, worst first: a fault stops the printer. */
	static const struct {
		int fault;
		HalState state;
		const char *reason;
	} conditions[] = {
		{ F_JAM, HAL_STATE_FAULT, "media-jam" },
		{ F_COVER_OPEN, HAL_STATE_FAULT, "cover-open" },
		{ F_RIBBON_OUT, HAL_STATE_FAULT, "marker-supply-empty" },
		{ F_HOPPER_EMPTY, HAL_STATE_FAULT, "media-empty" },
		{ F_CLEANING, HAL_STATE_DEGRADED, "cleaning-required" },
		{ F_CHIP, HAL_STATE_FAULT, "chip-failure" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(conditions); i++) {
		if (!take(s, conditions[i].fault))
			continue;
		add_reason(out, conditions[i].reason);
		if (out->state == HAL_STATE_READY ||
		    (out->state == HAL_STATE_DEGRADED && conditions[i].state == HAL_STATE_FAULT))
			out->state = conditions[i].state;
	}
	out->counter_total = s->total;
	if (s->klass == HAL_CLASS_PRINTER) {
		out->counter_since_clean = s->since_clean;
		out->supply_remaining = s->fault[F_RIBBON_OUT] ? 0 : s->ribbon_left;
	}
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
	{ "delay", HAL_OPT_INT, "0", 0, 60000, "how long each answer takes, ms" },            \
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

#define SIM_DRIVER(drv_name, k, open_fn, extra_caps, opts, faults, capture_fn, encode_fn) \
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
		.capture = capture_fn,                                    \
		.encode = encode_fn,                                      \
	}

const HalDriver sim_fingerprint_driver =
	SIM_DRIVER("sim-fingerprint", HAL_CLASS_FINGERPRINT, open_fingerprint, HAL_CAP_CAPTURE, opts_fingerprint,
		   faults_capture, sim_capture, NULL);
const HalDriver sim_iris_driver =
	SIM_DRIVER("sim-iris", HAL_CLASS_IRIS, open_iris, HAL_CAP_CAPTURE, opts_iris, faults_capture,
		   sim_capture, NULL);
const HalDriver sim_face_driver =
	SIM_DRIVER("sim-face", HAL_CLASS_FACE, open_face, HAL_CAP_CAPTURE, opts_face, faults_capture,
		   sim_capture, NULL);
const HalDriver sim_signature_driver =
	SIM_DRIVER("sim-signature", HAL_CLASS_SIGNATURE, open_signature, HAL_CAP_CAPTURE, opts_signature,
		   faults_capture, sim_capture, NULL);
const HalDriver sim_printer_driver =
	SIM_DRIVER("sim-printer", HAL_CLASS_PRINTER, open_printer, HAL_CAP_PRINT, opts_printer, faults_printer,
		   NULL, NULL);
const HalDriver sim_encoder_driver =
	SIM_DRIVER("sim-encoder", HAL_CLASS_ENCODER, open_encoder, HAL_CAP_ENCODE, opts_encoder, faults_encoder,
		   NULL, sim_encode);

#ifdef SIM_PLUGIN
/* Built as a shared object (make builds one for the tests): the printer
 * simulator under another name, found by the manager through dlopen as a
 * vendor SDK wrapper would be.  The object is compiled with
 * -fvisibility=hidden, so this table is all it exports: its copies of the
 * simulators never clash with ektpd's own. */
__attribute__((visibility("default"))) const HalDriver ektp_hal_driver =
	SIM_DRIVER("plugin-sim-printer", HAL_CLASS_PRINTER, open_printer, HAL_CAP_PRINT,
		   opts_printer, faults_printer, NULL, NULL);
#endif
