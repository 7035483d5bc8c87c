/* SPDX-License-Identifier: MIT */
/*
 * The device manager.  Each device gets one worker thread (a GThreadPool of
 * one), so a driver may block; every operation is queued to it with a
 * GCancellable and a timeout on the main loop.  The worker only runs the
 * driver's method and fills in the operation; everything else, state
 * included, happens on the main loop when the worker hands the operation
 * back.  A method that outlives its timeout is completed as timed out, its
 * device is marked hung ("timed-out") and given no new work until the method
 * finally returns; then the late result is dropped and polling resumes.
 *
 * USB devices (drivers with HAL_CAP_USB) are also polled at once when libusb
 * reports a USB arrival or departure (hal/hotplug.c), so a plugged scanner
 * shows up in well under a second whatever its poll_interval; libusb is
 * started only when such a device is configured.
 *
 * "busy" is shown, not stored: while a capture is queued or running on a
 * ready or degraded device, snapshots show it busy and it is ready (or
 * degraded) again once the capture completes.  The state-change listener
 * (the audit log) is not told, because every capture would add a busy/ready
 * pair of rows that says no more than the capture's own record.
 */
#include "hal/manager.h"

#include <string.h>

#include "hal/hotplug.h"
#include "hal/registry.h"

G_DEFINE_QUARK(ektp-hal-error-quark, hal_error)

/* Options every device takes besides its driver's own. */
static const HalOption common_options[] = {
	{ "driver", HAL_OPT_STRING, "", 0, 0, "a built-in driver's name (see README)" },
	{ "plugin", HAL_OPT_STRING, "", 0, 0,
	  "a shared object exporting a driver table; relative to the config file's folder" },
	{ "poll_interval", HAL_OPT_INT, "2000", 100, 3600000, "status poll period, ms" },
	{ "timeout", HAL_OPT_INT, "5000", 50, 600000, "longest a device operation may take, ms" },
	{ "encoder", HAL_OPT_STRING, "", 0, 0,
	  "printers: the encoder device at this printer's contactless station" },
	{ "film", HAL_OPT_BOOL, "false", 0, 0,
	  "printers: prints through a retransfer film or overlay roll that the stock ledger "
	  "counts (true), or not (Evolis direct-to-card printers: false)" },
	{ NULL },
};

typedef enum {
	OP_OPEN,
	OP_STATUS,
	OP_FAULT,
	OP_CAPTURE,
	OP_ENCODE,
	OP_CARD_MOVE,
	OP_CARD_PRINT,
	OP_CLEAN,
} OpKind;

typedef struct Op Op;

struct HalDevice {
	HalManager *m;
	char *name;
	const HalDriver *drv;
	GHashTable *opts; /* option name → value (defaults filled in) */
	void *priv;
	gint64 poll_ms, timeout_ms;

	/* Main-loop state. */
	gboolean opened;
	gboolean hung;   /* a timed-out method has not returned yet */
	guint queued;    /* operations given to the worker and not yet handed back */
	gboolean repoll; /* a hotplug event came while busy: poll once the queue drains */
	guint busy;      /* operations that show the device busy, not yet completed */
	gint64 busy_since;
	guint poll_src;
	GThreadPool *worker;
	HalState state;
	GPtrArray *reasons; /* char* */
	char *serial;
	char *firmware;
	char *last_error;
	char *advisory;        /* a reason the core set (see hal_manager_set_advisory) */
	char *advisory_detail; /* shown as last_error while no driver error is */
	HalState driver_state; /* as the driver last reported it, before the advisory */
	char **driver_reasons;
	gint64 state_since, last_poll;
	int64_t counter_total, counter_since_clean, supply_remaining;
	int card_inside;
	int64_t clean_threshold, cards_finished;
};

struct HalManager {
	const EktpConfig *cfg;
	GMainContext *loop; /* where every hand-back runs: the creator's context */
	GPtrArray *devices; /* HalDevice* */
	HalStateFunc on_state;
	void *data;
	HalHotplug *hotplug; /* NULL when no USB device is configured, or no hotplug */
	guint hotplug_polls;
	gboolean closing;    /* hal_manager_free() runs: submit nothing new */
};

struct Op {
	HalDevice *dev;
	OpKind kind;
	GCancellable *cancel;
	guint timeout_src;
	gboolean completed; /* answered already (possibly by the timeout) */
	gboolean timed_out;
	gboolean shows_busy; /* counted in dev->busy until completed */
	gint64 queued_us;   /* when it was given to the worker (wall clock) */
	/* The answer, on the main loop: the worker's, or the timeout's. */
	int rc;
	GError *error;
	/* Inputs for the worker. */
	HalFault fault;
	char *fault_kind;
	int position;
	/* Written by the worker only; read on the main loop only after the worker
	 * handed the operation back, and never when the timeout answered. */
	int w_rc;
	GError *w_error;
	gint w_done; /* atomic: the worker has finished and queued the hand-back */
	HalStatus status;
	HalImage *image;
	HalChip *chip; /* OP_ENCODE: a deep copy, owned by the operation */
	HalCardMove move;  /* OP_CARD_MOVE */
	HalCardSide *side; /* OP_CARD_PRINT: a deep copy, owned by the operation */
	gint64 ended_us;
	HalDoneFunc done;
	HalCaptureFunc capture_done;
	HalInfoFunc info_done;
	void *data;
};

/* ---- names ---- */

const char *
hal_class_name(HalClass klass)
{
	static const char *const names[HAL_N_CLASSES] = {
		"fingerprint", "iris", "face", "signature", "printer", "encoder",
	};
	return (unsigned)klass < HAL_N_CLASSES ? names[klass] : "?";
}

const char *
hal_state_name(HalState state)
{
	static const char *const names[] = { "absent", "ready", "busy", "degraded", "fault" };
	return (unsigned)state < G_N_ELEMENTS(names) ? names[state] : "?";
}

void
hal_info_free(HalInfo *info)
{
	if (!info)
		return;
	g_free(info->name);
	g_free(info->driver);
	g_free(info->driver_version);
	g_strfreev(info->reasons);
	g_free(info->serial);
	g_free(info->firmware);
	g_free(info->last_error);
	g_free(info);
}

/* ---- accessors for drivers ---- */

const char *
hal_dev_name(const HalDevice *dev)
{
	return dev->name;
}

const char *
hal_dev_option(const HalDevice *dev, const char *name)
{
	return g_hash_table_lookup(dev->opts, name);
}

int64_t
hal_dev_option_int(const HalDevice *dev, const char *name)
{
	const char *v = hal_dev_option(dev, name);
	return v ? g_ascii_strtoll(v, NULL, 10) : 0;
}

gboolean
hal_dev_option_bool(const HalDevice *dev, const char *name)
{
	const char *v = hal_dev_option(dev, name);
	return v && (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "1") == 0);
}

void *
hal_dev_get_private(const HalDevice *dev)
{
	return dev->priv;
}

void
hal_dev_set_private(HalDevice *dev, void *priv)
{
	dev->priv = priv;
}

/* ---- configuration ---- */

static const HalOption *
find_option(const HalOption *list, const char *name)
{
	for (const HalOption *o = list; o && o->name; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

static gboolean
fail_at(GError **error, const EktpConfig *cfg, int line, const char *fmt, ...) G_GNUC_PRINTF(4, 5);

static gboolean
fail_at(GError **error, const EktpConfig *cfg, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *reason = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, HAL_ERROR, HAL_ERROR_CONFIG, "%s:%d: %s",
		    cfg->file ? cfg->file : "(defaults)", line, reason);
	return FALSE;
}

static gboolean
check_value(const EktpConfig *cfg, const CfgDevice *d, const HalOption *o, const CfgOption *co,
	    GError **error)
{
	switch (o->type) {
	case HAL_OPT_INT: {
		gint64 v;
		if (!g_ascii_string_to_signed(co->value, 10, o->min, o->max, &v, NULL))
			return fail_at(error, cfg, co->line,
				       "[device %s] %s: '%s' is not a whole number from %" G_GINT64_FORMAT
				       " to %" G_GINT64_FORMAT, d->name, o->name, co->value,
				       (gint64)o->min, (gint64)o->max);
		return TRUE;
	}
	case HAL_OPT_BOOL:
		if (strcmp(co->value, "true") && strcmp(co->value, "false"))
			return fail_at(error, cfg, co->line, "[device %s] %s: '%s' is not true or false",
				       d->name, o->name, co->value);
		return TRUE;
	case HAL_OPT_STRING:
		if (strlen(co->value) > 1024)
			return fail_at(error, cfg, co->line, "[device %s] %s: longer than 1024 bytes",
				       d->name, o->name);
		return TRUE;
	}
	return FALSE;
}

static gboolean check_options(const EktpConfig *cfg, const CfgDevice *d, const HalDriver *drv,
			      GHashTable *opts, GError **error);

/* Drivers a unit test added (hal_manager_add_test_driver), NULL-terminated. */
static const HalDriver *test_drivers[8];

void
hal_manager_add_test_driver(const HalDriver *drv)
{
	guint n = 0;
	while (test_drivers[n])
		n++;
	g_assert(n + 1 < G_N_ELEMENTS(test_drivers));
	test_drivers[n] = drv;
}

static const HalDriver *
find_test_driver(const char *name)
{
	for (guint i = 0; test_drivers[i]; i++)
		if (strcmp(test_drivers[i]->name, name) == 0)
			return test_drivers[i];
	return NULL;
}

/* The driver a plug-in at CO's path exports; the path is relative to the config's folder. */
static const HalDriver *
load_plugin(const EktpConfig *cfg, const CfgDevice *d, const CfgOption *co, GError **error)
{
	g_autofree char *dir = cfg->file ? g_path_get_dirname(cfg->file) : g_strdup(".");
	g_autofree char *abs_dir = g_canonicalize_filename(dir, NULL); /* against the cwd */
	g_autofree char *path = g_canonicalize_filename(co->value, abs_dir);
	GError *e = NULL;
	const HalDriver *drv = hal_registry_load_plugin(path, &e);
	if (!drv) {
		fail_at(error, cfg, co->line, "[device %s] plugin: %s", d->name, e->message);
		g_error_free(e);
	}
	return drv;
}

/* Checks D and, when OPTS is not NULL, fills it with every option's value. */
static const HalDriver *
check_device(const EktpConfig *cfg, const CfgDevice *d, GHashTable *opts, GError **error)
{
	const CfgOption *drv_opt = cfg_device_option(d, "driver");
	const CfgOption *plugin = cfg_device_option(d, "plugin");
	if (plugin) {
		const HalDriver *drv = load_plugin(cfg, d, plugin, error);
		if (!drv)
			return NULL;
		if (drv_opt && strcmp(drv_opt->value, drv->name) != 0) {
			fail_at(error, cfg, drv_opt->line, "[device %s] driver: '%s', but the plug-in's "
				"driver is '%s'", d->name, drv_opt->value, drv->name);
			return NULL;
		}
		return check_options(cfg, d, drv, opts, error) ? drv : NULL;
	}
	if (!drv_opt) {
		fail_at(error, cfg, d->line, "[device %s]: no driver given (driver = NAME, or "
			"plugin = FILE.so)", d->name);
		return NULL;
	}
	const HalDriver *drv = hal_registry_find(drv_opt->value);
	if (!drv)
		drv = find_test_driver(drv_opt->value);
	if (!drv) {
		g_autoptr(GString) known = g_string_new(NULL);
		for (const HalDriver *const *p = hal_registry_all(); *p; p++)
			g_string_append_printf(known, "%s%s", known->len ? ", " : "", (*p)->name);
		fail_at(error, cfg, drv_opt->line, "[device %s] driver: no driver '%s' (known: %s)",
			d->name, drv_opt->value, known->str);
		return NULL;
	}
	return check_options(cfg, d, drv, opts, error) ? drv : NULL;
}

/* Every option of D known to DRV (or common) and valid; OPTS (may be NULL) gets the values. */
static gboolean
check_options(const EktpConfig *cfg, const CfgDevice *d, const HalDriver *drv, GHashTable *opts,
	      GError **error)
{
	for (guint i = 0; i < d->options->len; i++) {
		const CfgOption *co = d->options->pdata[i];
		const HalOption *o = find_option(common_options, co->key);
		if (!o)
			o = find_option(drv->options, co->key);
		if (!o) {
			fail_at(error, cfg, co->line, "[device %s]: driver '%s' has no option '%s'",
				d->name, drv->name, co->key);
			return FALSE;
		}
		if (!check_value(cfg, d, o, co, error))
			return FALSE;
		GError *e = NULL;
		if (drv->check_option && find_option(drv->options, co->key) &&
		    drv->check_option(co->key, co->value, &e) < 0) {
			fail_at(error, cfg, co->line, "[device %s] %s: %s", d->name, co->key,
				e ? e->message : "refused by the driver");
			g_clear_error(&e);
			return FALSE;
		}
	}
	const HalOption *lists[] = { common_options, drv->options };
	for (size_t l = 0; l < G_N_ELEMENTS(lists); l++) {
		for (const HalOption *o = lists[l]; o && o->name; o++) {
			const CfgOption *co = cfg_device_option(d, o->name);
			if (!co && !o->def) {
				fail_at(error, cfg, d->line, "[device %s]: option '%s' is required",
					d->name, o->name);
				return FALSE;
			}
			if (opts)
				g_hash_table_insert(opts, g_strdup(o->name),
						    g_strdup(co ? co->value : o->def));
		}
	}
	return TRUE;
}

gboolean
hal_config_check(const EktpConfig *cfg, GError **error)
{
	for (guint i = 0; i < cfg->devices->len; i++)
		if (!check_device(cfg, cfg->devices->pdata[i], NULL, error))
			return FALSE;
	return TRUE;
}

/* ---- state ---- */

static gint64
now_s(void)
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

/* DEV's snapshot; SHOWN lays "busy" over a ready or degraded state while an
 * operation runs (see the top of the file), the listener gets it without. */
static HalInfo *
info_of(const HalDevice *dev, gboolean shown)
{
	HalInfo *i = g_new0(HalInfo, 1);
	gboolean busy = shown && dev->busy > 0 &&
			(dev->state == HAL_STATE_READY || dev->state == HAL_STATE_DEGRADED);
	i->name = g_strdup(dev->name);
	i->driver = g_strdup(dev->drv->name);
	i->driver_version = g_strdup(dev->drv->version);
	i->klass = dev->drv->klass;
	i->state = busy ? HAL_STATE_BUSY : dev->state;
	i->reasons = g_new0(char *, dev->reasons->len + 1);
	for (guint r = 0; r < dev->reasons->len; r++)
		i->reasons[r] = g_strdup(dev->reasons->pdata[r]);
	i->serial = g_strdup(dev->serial);
	i->firmware = g_strdup(dev->firmware);
	i->last_error = g_strdup(dev->last_error ? dev->last_error : dev->advisory_detail);
	i->state_since = busy ? MAX(dev->state_since, dev->busy_since) : dev->state_since;
	i->last_poll = dev->last_poll;
	i->counter_total = dev->counter_total;
	i->counter_since_clean = dev->counter_since_clean;
	i->supply_remaining = dev->supply_remaining;
	i->card_inside = dev->card_inside;
	i->clean_threshold = dev->clean_threshold;
	i->cards_finished = dev->cards_finished;
	i->faults_ok = (dev->drv->caps & HAL_CAP_FAULTS) && dev->drv->inject_fault;
	return i;
}

/* Shows STATE and REASONS (NULL-terminated, may be NULL); tells the listener
 * when either changed. */
static void
show_state(HalDevice *dev, HalState state, const char *const *reasons)
{
	gboolean same = state == dev->state;
	guint n = 0;
	for (; reasons && reasons[n]; n++)
		if (n >= dev->reasons->len || strcmp(reasons[n], dev->reasons->pdata[n]) != 0)
			same = FALSE;
	if (n != dev->reasons->len)
		same = FALSE;
	if (same)
		return;
	HalState before = dev->state;
	dev->state = state;
	dev->state_since = now_s();
	g_ptr_array_set_size(dev->reasons, 0);
	for (guint r = 0; r < n; r++)
		g_ptr_array_add(dev->reasons, g_strdup(reasons[r]));
	g_autoptr(GString) why = g_string_new(NULL);
	for (guint r = 0; r < n; r++)
		g_string_append_printf(why, "%s%s", r ? "," : "", reasons[r]);
	g_message("device %s: %s -> %s%s%s", dev->name, hal_state_name(before),
		  hal_state_name(state), n ? " " : "", why->str);
	if (dev->m->on_state) {
		HalInfo *info = info_of(dev, FALSE);
		dev->m->on_state(info, before, dev->m->data);
		hal_info_free(info);
	}
}

/* The state the driver reports, with the core's advisory laid over it. */
static void
set_state(HalDevice *dev, HalState state, const char *const *reasons)
{
	if (reasons != (const char *const *)dev->driver_reasons) {
		char **copy = g_strdupv((char **)reasons);
		g_strfreev(dev->driver_reasons);
		dev->driver_reasons = copy;
	}
	dev->driver_state = state;
	if (!dev->advisory || state == HAL_STATE_ABSENT || state == HAL_STATE_FAULT) {
		show_state(dev, state, reasons);
		return;
	}
	g_autoptr(GPtrArray) all = g_ptr_array_new();
	for (const char *const *r = reasons; r && *r; r++)
		g_ptr_array_add(all, (gpointer)*r);
	g_ptr_array_add(all, dev->advisory);
	g_ptr_array_add(all, NULL);
	show_state(dev, HAL_STATE_DEGRADED, (const char *const *)all->pdata);
}

static void
set_error_text(HalDevice *dev, const GError *e)
{
	g_free(dev->last_error);
	dev->last_error = e ? g_strdup(e->message) : NULL;
}

/* ---- operations ---- */

static void poll_now(HalDevice *dev);

static void
image_free(HalImage *img)
{
	if (img) {
		g_free(img->pixels);
		g_free(img);
	}
}

static void
chip_free(HalChip *chip)
{
	if (!chip)
		return;
	for (size_t i = 0; i < chip->n_files; i++)
		g_free((uint8_t *)chip->files[i].data);
	g_free((HalChipFile *)chip->files);
	g_free((uint8_t *)chip->aid);
	g_free(chip);
}

/* A copy of CHIP that the operation owns, for a worker that may outlive the caller. */
static HalChip *
chip_copy(const HalChip *chip)
{
	HalChip *c = g_new0(HalChip, 1);
	c->aid = g_memdup2(chip->aid, chip->aid_len);
	c->aid_len = chip->aid_len;
	HalChipFile *files = g_new0(HalChipFile, chip->n_files ? chip->n_files : 1);
	for (size_t i = 0; i < chip->n_files; i++) {
		files[i].fid = chip->files[i].fid;
		files[i].data = g_memdup2(chip->files[i].data, chip->files[i].len);
		files[i].len = chip->files[i].len;
	}
	c->files = files;
	c->n_files = chip->n_files;
	return c;
}

static void
side_free(HalCardSide *side)
{
	if (!side)
		return;
	g_free((uint8_t *)side->rgb);
	g_free((uint8_t *)side->black);
	g_free(side);
}

static HalCardSide *
side_copy(const HalCardSide *side)
{
	HalCardSide *c = g_memdup2(side, sizeof *side);
	c->rgb = g_memdup2(side->rgb, (gsize)HAL_CARD_W * HAL_CARD_H * 3);
	c->black = side->black ? g_memdup2(side->black, (gsize)HAL_CARD_W * HAL_CARD_H) : NULL;
	return c;
}

static void
op_free(Op *op)
{
	image_free(op->image);
	chip_free(op->chip);
	side_free(op->side);
	g_clear_object(&op->cancel);
	g_clear_error(&op->error);
	g_clear_error(&op->w_error);
	g_free(op->fault_kind);
	g_free(op);
}

/* Applies a finished (or timed-out) operation's result, on the main loop. */
static void
op_complete(Op *op)
{
	HalDevice *dev = op->dev;
	op->completed = TRUE;
	if (op->timeout_src) {
		g_source_remove(op->timeout_src);
		op->timeout_src = 0;
	}
	/* Not busy any more before anyone hears of the result. */
	if (op->shows_busy) {
		op->shows_busy = FALSE;
		dev->busy--;
	}
	switch (op->kind) {
	case OP_OPEN:
		if (op->rc == 0) {
			dev->opened = TRUE;
			set_error_text(dev, NULL);
			set_state(dev, HAL_STATE_READY, NULL);
		} else {
			set_error_text(dev, op->error);
			const char *r[] = { g_error_matches(op->error, HAL_ERROR, HAL_ERROR_TIMEOUT)
						    ? "timed-out" : "offline", NULL };
			set_state(dev, g_error_matches(op->error, HAL_ERROR, HAL_ERROR_TIMEOUT)
					       ? HAL_STATE_FAULT : HAL_STATE_ABSENT, r);
		}
		break;
	case OP_STATUS:
		dev->last_poll = now_s();
		if (op->rc == 0) {
			set_error_text(dev, NULL);
			if (op->status.serial[0]) {
				g_free(dev->serial);
				dev->serial = g_strdup(op->status.serial);
			}
			if (op->status.firmware[0]) {
				g_free(dev->firmware);
				dev->firmware = g_strdup(op->status.firmware);
			}
			dev->counter_total = op->status.counter_total;
			dev->counter_since_clean = op->status.counter_since_clean;
			dev->supply_remaining = op->status.supply_remaining;
			dev->card_inside = op->status.card_inside;
			dev->clean_threshold = op->status.clean_threshold;
			dev->cards_finished = op->status.cards_finished;
			set_state(dev, op->status.state, op->status.reasons);
			if (op->status.state == HAL_STATE_ABSENT)
				dev->opened = FALSE;
		} else if (g_error_matches(op->error, HAL_ERROR, HAL_ERROR_TIMEOUT)) {
			set_error_text(dev, op->error);
			const char *r[] = { "timed-out", NULL };
			set_state(dev, HAL_STATE_FAULT, r);
		} else {
			/* Gone: close it and try to open it again at the next poll. */
			set_error_text(dev, op->error);
			dev->opened = FALSE;
			const char *r[] = { "offline", NULL };
			set_state(dev, HAL_STATE_ABSENT, r);
		}
		break;
	case OP_FAULT:
		break;
	case OP_CAPTURE:
	case OP_ENCODE:
	case OP_CARD_MOVE:
	case OP_CARD_PRINT:
	case OP_CLEAN:
		if (op->rc == 0)
			set_error_text(dev, NULL);
		else
			set_error_text(dev, op->error);
		if (g_error_matches(op->error, HAL_ERROR, HAL_ERROR_DEVICE) && op->kind >= OP_CARD_MOVE) {
			/* A printer's refusal names its reason first ("media-jam: …"): the
			 * printer stops with it until a status poll finds it cleared. */
			char *reason = g_strndup(op->error->message, strcspn(op->error->message, ":"));
			const char *r[] = { reason, NULL };
			set_state(dev, HAL_STATE_FAULT, r);
			g_free(reason);
		} else if (g_error_matches(op->error, HAL_ERROR, HAL_ERROR_TIMEOUT)) {
			const char *r[] = { "timed-out", NULL };
			set_state(dev, HAL_STATE_FAULT, r);
		} else if (g_error_matches(op->error, HAL_ERROR, HAL_ERROR_ABSENT)) {
			dev->opened = FALSE;
			const char *r[] = { "offline", NULL };
			set_state(dev, HAL_STATE_ABSENT, r);
		}
		break;
	}
	if (op->done)
		op->done(op->rc == 0 ? NULL : op->error, op->data);
	if (op->capture_done) {
		/* Latency runs from the request, as the operator waits for it. */
		HalCaptureMeta meta = {
			.device = dev->name,
			.serial = dev->serial,
			.driver = dev->drv->name,
			.driver_version = dev->drv->version,
			.klass = dev->drv->klass,
			.started_us = op->queued_us,
			.ended_us = op->timed_out ? g_get_real_time() : op->ended_us,
		};
		op->capture_done(op->rc == 0 ? g_steal_pointer(&op->image) : NULL, &meta,
				 op->rc == 0 ? NULL : op->error, op->data);
	}
	if (op->info_done) {
		HalInfo *info = info_of(dev, TRUE);
		op->info_done(info, op->rc == 0 ? NULL : op->error, op->data);
		hal_info_free(info);
	}
}

/* The worker handed OP back (main loop). */
static gboolean
op_returned(gpointer data)
{
	Op *op = data;
	HalDevice *dev = op->dev;
	dev->queued--;
	if (!op->completed) {
		op->rc = op->w_rc;
		op->error = g_steal_pointer(&op->w_error);
	}
	if (op->completed) {
		/* The timeout answered already: drop the late result. */
		g_message("device %s: late answer after its timeout discarded; device answers again",
			  dev->name);
		dev->hung = FALSE;
	} else {
		op_complete(op);
	}
	op_free(op);
	if (dev->repoll && dev->queued == 0 && !dev->hung && !dev->m->closing) {
		dev->repoll = FALSE;
		poll_now(dev);
		dev->m->hotplug_polls++;
	}
	return G_SOURCE_REMOVE;
}

static gboolean
op_timed_out(gpointer data)
{
	Op *op = data;
	HalDevice *dev = op->dev;
	op->timeout_src = 0;
	/* Answered in time, only not yet handed back (the loop was busy). */
	if (g_atomic_int_get(&op->w_done))
		return G_SOURCE_REMOVE;
	op->timed_out = TRUE;
	g_cancellable_cancel(op->cancel);
	dev->hung = TRUE;
	op->rc = -1;
	g_set_error(&op->error, HAL_ERROR, HAL_ERROR_TIMEOUT, "device %s: no answer within %"
		    G_GINT64_FORMAT " ms", dev->name, dev->timeout_ms);
	g_warning("%s", op->error->message);
	op_complete(op);
	return G_SOURCE_REMOVE;
}

/* Worker thread: run the driver's method; nothing else is touched here. */
static void
op_run(gpointer data, gpointer user_data)
{
	(void)user_data;
	Op *op = data;
	HalDevice *dev = op->dev;
	const HalDriver *drv = dev->drv;
	GError *e = NULL;

	switch (op->kind) {
	case OP_OPEN:
		op->w_rc = drv->open ? drv->open(dev, &e) : 0;
		break;
	case OP_STATUS:
		memset(&op->status, 0, sizeof op->status);
		op->status.state = HAL_STATE_READY;
		op->status.counter_total = op->status.counter_since_clean = -1;
		op->status.supply_remaining = -1;
		op->status.card_inside = -1;
		op->status.clean_threshold = op->status.cards_finished = -1;
		op->w_rc = drv->status(dev, &op->status, op->cancel, &e);
		break;
	case OP_FAULT:
		op->w_rc = drv->inject_fault(dev, &op->fault, &e);
		break;
	case OP_CAPTURE:
		op->image = g_new0(HalImage, 1);
		op->w_rc = drv->capture(dev, op->position, op->image, op->cancel, &e);
		op->ended_us = g_get_real_time();
		if (op->w_rc == 0 && (!op->image->pixels || op->image->width <= 0 ||
				    op->image->height <= 0)) {
			op->w_rc = -1;
			g_set_error(&e, HAL_ERROR, HAL_ERROR_FAILED, "driver %s returned no image",
				    drv->name);
		}
		break;
	case OP_ENCODE:
		op->w_rc = drv->encode(dev, op->chip, op->cancel, &e);
		op->ended_us = g_get_real_time();
		break;
	case OP_CARD_MOVE:
		op->w_rc = drv->card_move(dev, op->move, op->cancel, &e);
		break;
	case OP_CARD_PRINT:
		op->w_rc = drv->card_print(dev, op->side, op->cancel, &e);
		break;
	case OP_CLEAN:
		op->w_rc = drv->clean(dev, op->cancel, &e);
		break;
	}
	if (op->w_rc < 0 && !e)
		g_set_error(&e, HAL_ERROR, HAL_ERROR_FAILED, "driver %s failed without a reason",
			    drv->name);
	op->w_error = e;
	g_atomic_int_set(&op->w_done, 1);
	/* Always queue: g_main_context_invoke() would run op_returned right here,
	 * on this thread, whenever the main thread is not inside its loop. */
	GSource *back = g_idle_source_new();
	g_source_set_priority(back, G_PRIORITY_DEFAULT);
	g_source_set_callback(back, op_returned, op, NULL);
	g_source_attach(back, dev->m->loop);
	g_source_unref(back);
}

static Op *
op_new(HalDevice *dev, OpKind kind)
{
	Op *op = g_new0(Op, 1);
	op->dev = dev;
	op->kind = kind;
	op->cancel = g_cancellable_new();
	return op;
}

static void
op_submit(Op *op)
{
	HalDevice *dev = op->dev;
	/* Long operations show the device busy; status polls and opens do not. */
	if (op->kind != OP_OPEN && op->kind != OP_STATUS && op->kind != OP_FAULT) {
		op->shows_busy = TRUE;
		if (dev->busy++ == 0)
			dev->busy_since = now_s();
	}
	dev->queued++;
	op->queued_us = g_get_real_time();
	op->timeout_src = g_timeout_add((guint)dev->timeout_ms, op_timed_out, op);
	g_thread_pool_push(dev->worker, op, NULL);
}

/* Reads the status of an open device, or tries to open an absent one. */
static void
poll_now(HalDevice *dev)
{
	op_submit(op_new(dev, dev->opened ? OP_STATUS : OP_OPEN));
}

static gboolean
poll_tick(gpointer data)
{
	HalDevice *dev = data;
	if (dev->hung || dev->queued > 0)
		return G_SOURCE_CONTINUE;
	poll_now(dev);
	return G_SOURCE_CONTINUE;
}

/* A USB device arrived or left (main loop, from hotplug.c): poll every USB
 * device now.  One with work queued is polled when its queue drains, so the
 * poll starts after the event and never opens a device twice. */
static void
on_hotplug(void *data)
{
	HalManager *m = data;
	for (guint i = 0; i < m->devices->len; i++) {
		HalDevice *dev = m->devices->pdata[i];
		if (!(dev->drv->caps & HAL_CAP_USB))
			continue;
		if (dev->hung || dev->queued > 0) {
			dev->repoll = TRUE;
			continue;
		}
		poll_now(dev);
		m->hotplug_polls++;
	}
}

/* Starts hotplug when a USB device is configured; polling alone otherwise. */
static void
start_hotplug(HalManager *m)
{
	static gboolean told; /* the platform will not change: say it once */
	gboolean usb = FALSE;
	for (guint i = 0; i < m->devices->len && !usb; i++)
		usb = (((HalDevice *)m->devices->pdata[i])->drv->caps & HAL_CAP_USB) != 0;
	if (!usb)
		return;
	GError *e = NULL;
	m->hotplug = hal_hotplug_start(m->loop, on_hotplug, m, &e);
	if (m->hotplug)
		return;
	if (!g_error_matches(e, HAL_ERROR, HAL_ERROR_UNSUPPORTED)) {
		g_warning("usb hotplug not watched (%s); USB devices are found by polling",
			  e->message);
	} else if (!told) {
		g_message("usb hotplug: %s; USB devices are found by polling", e->message);
		told = TRUE;
	}
	g_error_free(e);
}

/* ---- the manager ---- */

static void
device_free(HalDevice *dev)
{
	if (dev->poll_src)
		g_source_remove(dev->poll_src);
	if (dev->worker)
		g_thread_pool_free(dev->worker, FALSE, TRUE);
	if (dev->drv && dev->drv->close && dev->opened)
		dev->drv->close(dev);
	if (dev->opts)
		g_hash_table_destroy(dev->opts);
	if (dev->reasons)
		g_ptr_array_unref(dev->reasons);
	g_free(dev->serial);
	g_free(dev->firmware);
	g_free(dev->last_error);
	g_free(dev->advisory);
	g_free(dev->advisory_detail);
	g_strfreev(dev->driver_reasons);
	g_free(dev->name);
	g_free(dev);
}

HalManager *
hal_manager_new(const EktpConfig *cfg, HalStateFunc on_state, void *data, GError **error)
{
	HalManager *m = g_new0(HalManager, 1);
	m->cfg = cfg;
	m->loop = g_main_context_ref_thread_default();
	m->on_state = on_state;
	m->data = data;
	m->devices = g_ptr_array_new();
	for (guint i = 0; i < cfg->devices->len; i++) {
		const CfgDevice *d = cfg->devices->pdata[i];
		HalDevice *dev = g_new0(HalDevice, 1);
		dev->m = m;
		dev->name = g_strdup(d->name);
		dev->opts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
		dev->reasons = g_ptr_array_new_with_free_func(g_free);
		dev->state = HAL_STATE_ABSENT;
		dev->state_since = now_s();
		dev->counter_total = dev->counter_since_clean = dev->supply_remaining = -1;
		dev->card_inside = -1;
		dev->clean_threshold = dev->cards_finished = -1;
		g_ptr_array_add(m->devices, dev);
		dev->drv = check_device(cfg, d, dev->opts, error);
		if (!dev->drv) {
			hal_manager_free(m);
			return NULL;
		}
		dev->poll_ms = hal_dev_option_int(dev, "poll_interval");
		dev->timeout_ms = hal_dev_option_int(dev, "timeout");
		dev->worker = g_thread_pool_new(op_run, dev, 1, FALSE, error);
		if (!dev->worker) {
			hal_manager_free(m);
			return NULL;
		}
		/* Open at once; the poll timer takes over from there. */
		op_submit(op_new(dev, OP_OPEN));
		dev->poll_src = g_timeout_add((guint)dev->poll_ms, poll_tick, dev);
	}
	start_hotplug(m);
	return m;
}

void
hal_manager_free(HalManager *m)
{
	if (!m)
		return;
	m->closing = TRUE;
	hal_hotplug_stop(m->hotplug);
	m->hotplug = NULL;
	gboolean abandoned = FALSE;
	for (guint i = 0; i < m->devices->len; i++) {
		HalDevice *dev = m->devices->pdata[i];
		if (dev->hung) {
			/* Its worker may never return: leave it be rather than wait
			 * forever.  Should it return after all, it hands its answer
			 * back through dev->m->loop, so the device, the manager and
			 * the loop are left allocated for it. */
			g_warning("device %s still does not answer; not waiting for it", dev->name);
			if (dev->poll_src)
				g_source_remove(dev->poll_src);
			abandoned = TRUE;
			continue;
		}
		if (dev->poll_src) {
			g_source_remove(dev->poll_src);
			dev->poll_src = 0;
		}
		/* Wait for the worker, then let its hand-backs run before freeing. */
		if (dev->worker) {
			g_thread_pool_free(dev->worker, FALSE, TRUE);
			dev->worker = NULL;
		}
		while (dev->queued > 0)
			g_main_context_iteration(m->loop, TRUE);
		device_free(dev);
	}
	if (abandoned)
		return;
	g_ptr_array_unref(m->devices);
	g_main_context_unref(m->loop);
	g_free(m);
}

static HalDevice *
find_device(HalManager *m, const char *name)
{
	for (guint i = 0; i < m->devices->len; i++) {
		HalDevice *dev = m->devices->pdata[i];
		if (strcmp(dev->name, name) == 0)
			return dev;
	}
	return NULL;
}

GPtrArray *
hal_manager_list(HalManager *m)
{
	GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)hal_info_free);
	for (guint i = 0; i < m->devices->len; i++)
		g_ptr_array_add(list, info_of(m->devices->pdata[i], TRUE));
	return list;
}

HalInfo *
hal_manager_get(HalManager *m, const char *name)
{
	HalDevice *dev = find_device(m, name);
	return dev ? info_of(dev, TRUE) : NULL;
}

static gboolean
kind_known(const HalDriver *drv, const char *kind)
{
	if (strcmp(kind, "clear") == 0)
		return TRUE;
	for (const char *const *k = drv->fault_kinds; k && *k; k++)
		if (strcmp(*k, kind) == 0)
			return TRUE;
	return FALSE;
}

void
hal_manager_inject_fault(HalManager *m, const char *name, const char *kind, int count,
			 HalDoneFunc done, void *data)
{
	HalDevice *dev = find_device(m, name);
	g_autoptr(GError) e = NULL;

	if (!dev)
		e = g_error_new(HAL_ERROR, HAL_ERROR_NO_DEVICE, "no device '%s'", name);
	else if (!(dev->drv->caps & HAL_CAP_FAULTS) || !dev->drv->inject_fault)
		e = g_error_new(HAL_ERROR, HAL_ERROR_UNSUPPORTED,
				"device %s (driver %s) is not a simulator: faults cannot be injected",
				name, dev->drv->name);
	else if (!kind_known(dev->drv, kind)) {
		g_autofree char *all = g_strjoinv(", ", (char **)dev->drv->fault_kinds);
		e = g_error_new(HAL_ERROR, HAL_ERROR_CONFIG,
				"driver %s knows no fault '%s' (known: %s, clear)", dev->drv->name,
				kind, all);
	} else if (dev->hung)
		e = g_error_new(HAL_ERROR, HAL_ERROR_BUSY, "device %s is not answering", name);
	if (e) {
		done(e, data);
		return;
	}
	Op *op = op_new(dev, OP_FAULT);
	op->fault_kind = g_strdup(kind);
	op->fault.kind = op->fault_kind;
	op->fault.count = count;
	op->done = done;
	op->data = data;
	op_submit(op);
	/* Show the fault's effect promptly instead of at the next poll. */
	op_submit(op_new(dev, dev->opened ? OP_STATUS : OP_OPEN));
}

/* Refuses an operation on DEV when it cannot take one; fills E then. */
static gboolean
device_usable(HalManager *m, const char *name, HalDevice **out, GError **e)
{
	HalDevice *dev = find_device(m, name);
	*out = dev;
	if (!dev)
		g_set_error(e, HAL_ERROR, HAL_ERROR_NO_DEVICE, "no device '%s'", name);
	else if (dev->hung)
		g_set_error(e, HAL_ERROR, HAL_ERROR_BUSY, "device %s is not answering", name);
	else if (!dev->opened)
		g_set_error(e, HAL_ERROR, HAL_ERROR_ABSENT, "device %s is absent%s%s", name,
			    dev->last_error ? ": " : "", dev->last_error ? dev->last_error : "");
	return *e == NULL;
}

void
hal_manager_capture(HalManager *m, const char *name, int position, HalCaptureFunc done,
		    void *data)
{
	HalDevice *dev;
	GError *e = NULL;
	if (device_usable(m, name, &dev, &e) && !dev->drv->capture)
		g_set_error(&e, HAL_ERROR, HAL_ERROR_UNSUPPORTED, "device %s (%s) cannot capture",
			    name, hal_class_name(dev->drv->klass));
	if (e) {
		HalCaptureMeta meta = { .device = name, .started_us = g_get_real_time() };
		meta.ended_us = meta.started_us;
		done(NULL, &meta, e, data);
		g_error_free(e);
		return;
	}
	Op *op = op_new(dev, OP_CAPTURE);
	op->position = position;
	op->capture_done = done;
	op->data = data;
	op_submit(op);
}

void
hal_manager_refresh(HalManager *m, const char *name, HalInfoFunc done, void *data)
{
	HalDevice *dev;
	GError *e = NULL;
	if (!device_usable(m, name, &dev, &e)) {
		HalInfo *info = dev ? info_of(dev, TRUE) : NULL;
		done(info, e, data);
		hal_info_free(info);
		g_error_free(e);
		return;
	}
	Op *op = op_new(dev, OP_STATUS);
	op->info_done = done;
	op->data = data;
	op_submit(op);
}

void
hal_manager_set_advisory(HalManager *m, const char *name, const char *reason, const char *detail)
{
	HalDevice *dev = find_device(m, name);
	if (!dev || g_strcmp0(dev->advisory, reason) == 0)
		return;
	g_free(dev->advisory);
	dev->advisory = g_strdup(reason);
	g_free(dev->advisory_detail);
	dev->advisory_detail = g_strdup(reason ? detail : NULL);
	set_state(dev, dev->driver_state, (const char *const *)dev->driver_reasons);
}

gboolean
hal_manager_hotplug_active(const HalManager *m)
{
	return m->hotplug != NULL;
}

guint
hal_manager_hotplug_polls(const HalManager *m)
{
	return m->hotplug_polls;
}

void
hal_manager_encode(HalManager *m, const char *name, const HalChip *chip, HalDoneFunc done,
		   void *data)
{
	HalDevice *dev;
	GError *e = NULL;
	if (device_usable(m, name, &dev, &e) && !dev->drv->encode)
		g_set_error(&e, HAL_ERROR, HAL_ERROR_UNSUPPORTED, "device %s (%s) cannot encode chips",
			    name, hal_class_name(dev->drv->klass));
	if (e) {
		done(e, data);
		g_error_free(e);
		return;
	}
	Op *op = op_new(dev, OP_ENCODE);
	op->chip = chip_copy(chip);
	op->done = done;
	op->data = data;
	op_submit(op);
}

/* A printer operation of KIND on device NAME, or an error when it cannot have one. */
static Op *
printer_op(HalManager *m, const char *name, OpKind kind, HalDoneFunc done, void *data)
{
	HalDevice *dev;
	GError *e = NULL;
	if (device_usable(m, name, &dev, &e)) {
		const HalDriver *drv = dev->drv;
		gboolean has = kind == OP_CARD_MOVE ? drv->card_move != NULL
			     : kind == OP_CARD_PRINT ? drv->card_print != NULL
						      : drv->clean != NULL;
		if (!has)
			g_set_error(&e, HAL_ERROR, HAL_ERROR_UNSUPPORTED, "device %s (%s) %s", name,
				    hal_class_name(drv->klass),
				    kind == OP_CLEAN ? "has no cleaning cycle" : "cannot print cards");
	}
	if (e) {
		done(e, data);
		g_error_free(e);
		return NULL;
	}
	Op *op = op_new(dev, kind);
	op->done = done;
	op->data = data;
	return op;
}

void
hal_manager_card_move(HalManager *m, const char *name, HalCardMove move, HalDoneFunc done,
		      void *data)
{
	Op *op = printer_op(m, name, OP_CARD_MOVE, done, data);
	if (!op)
		return;
	op->move = move;
	op_submit(op);
}

void
hal_manager_card_print(HalManager *m, const char *name, const HalCardSide *side, HalDoneFunc done,
		       void *data)
{
	Op *op = printer_op(m, name, OP_CARD_PRINT, done, data);
	if (!op)
		return;
	op->side = side_copy(side);
	op_submit(op);
}

void
hal_manager_clean(HalManager *m, const char *name, HalDoneFunc done, void *data)
{
	Op *op = printer_op(m, name, OP_CLEAN, done, data);
	if (op)
		op_submit(op);
}
