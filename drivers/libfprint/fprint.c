/* SPDX-License-Identifier: MIT */
/*
 * The libfprint driver: captures fingerprint images with fp_device_capture
 * from any libfprint device that can capture (FP_DEVICE_FEATURE_CAPTURE).
 *
 * Threading.  libfprint is GObject-based and drives its devices from the
 * process's global-default GMainContext: its _sync calls iterate that
 * context, and its timers and GUsb transfers are attached to it.  In ektpd
 * that context is the daemon's main loop, so every libfprint call is started
 * there, in its asynchronous form, and never blocks it: the device manager
 * calls this driver from the device's worker thread, which hands the call to
 * the main loop (an idle source: g_main_context_invoke would run it on the
 * worker when the loop happens to be idle) and waits for libfprint's
 * completion.  The slow part of a capture, minutiae detection, runs in
 * libfprint's own worker thread.
 *
 * Cancel and timeout.  Captures take the manager's GCancellable, which the
 * manager cancels when the operation's timeout passes; libfprint then ends
 * the capture with G_IO_ERROR_CANCELLED.  A finger that never comes costs one
 * timeout, not a stuck device.  Should libfprint never complete at all, the
 * worker gives up after twice the device's timeout and the late completion is
 * dropped.
 *
 * Errors.  libfprint's "retry" errors (swipe too short, finger off centre, no
 * minutiae found) become HAL_ERROR_RETRY with libfprint's own words, so the
 * operator is asked to place the finger again; FP_DEVICE_ERROR_REMOVED makes
 * the device absent (the manager reopens it when it comes back); every other
 * device error is HAL_ERROR_DEVICE.
 *
 * Resolution.  fp_image_get_ppmm() is 0 for some devices (the virtual one
 * among them) and libfprint assumes 500 ppi for most, so the resolution comes
 * from the "ppi" option, unless the device reports one.
 */
#include "drivers/libfprint/fprint.h"

#include <fprint.h>
#include <math.h>
#include <string.h>

/* One device's libfprint objects.  They are created, used and destroyed on
 * the main loop only; the worker reads nothing here but REMOVED. */
typedef struct {
	FpContext *fp;
	FpDevice *dev;
	gint removed; /* atomic: libfprint said the device is gone */
} Fprint;

typedef enum { CALL_OPEN, CALL_CAPTURE, CALL_CLOSE } CallKind;

/* One call handed from the worker to the main loop.  Both sides hold a
 * reference, so a worker that gave up waiting leaves it to the late
 * completion to free. */
typedef struct {
	gint refs;
	GMutex lock;
	GCond cond;
	gboolean done;
	CallKind kind;
	Fprint *p;
	char *want;         /* CALL_OPEN: the "device" option */
	gboolean wait_finger; /* CALL_CAPTURE */
	GCancellable *cancel;
	FpImage *image;     /* CALL_CAPTURE result */
	GError *error;      /* a libfprint error, or NULL */
	guint found;        /* CALL_OPEN: devices libfprint listed */
} Call;

static void
call_unref(Call *c)
{
	if (!g_atomic_int_dec_and_test(&c->refs))
		return;
	g_clear_object(&c->image);
	g_clear_error(&c->error);
	g_clear_object(&c->cancel);
	g_free(c->want);
	g_mutex_clear(&c->lock);
	g_cond_clear(&c->cond);
	g_free(c);
}

/* Main loop: the call is over; wake the worker. */
static void
call_finish(Call *c)
{
	g_mutex_lock(&c->lock);
	c->done = TRUE;
	g_cond_signal(&c->cond);
	g_mutex_unlock(&c->lock);
	call_unref(c);
}

static const HalOption options[] = {
	{ "device", HAL_OPT_STRING, "", 0, 0,
	  "which libfprint device: its driver id (e.g. \"virtual_image\") or device id; "
	  "empty = the first one that captures images" },
	{ "ppi", HAL_OPT_INT, "500", 100, 2000,
	  "resolution written into the images when the device does not report one" },
	{ "wait_finger", HAL_OPT_BOOL, "true", 0, 0,
	  "a capture waits for a finger on the sensor (false: take the image at once)" },
	{ NULL },
};

/* FpFinger (left hand first) → ISO/IEC 19794 position (right hand first). */
static const int fp_to_iso[] = {
	[FP_FINGER_LEFT_THUMB] = 6,   [FP_FINGER_LEFT_INDEX] = 7,   [FP_FINGER_LEFT_MIDDLE] = 8,
	[FP_FINGER_LEFT_RING] = 9,    [FP_FINGER_LEFT_LITTLE] = 10, [FP_FINGER_RIGHT_THUMB] = 1,
	[FP_FINGER_RIGHT_INDEX] = 2,  [FP_FINGER_RIGHT_MIDDLE] = 3, [FP_FINGER_RIGHT_RING] = 4,
	[FP_FINGER_RIGHT_LITTLE] = 5,
};

int
fprint_finger_to_iso(int fp_finger)
{
	if (fp_finger < FP_FINGER_FIRST || fp_finger > FP_FINGER_LAST)
		return HAL_POS_UNKNOWN;
	return fp_to_iso[fp_finger];
}

int
fprint_finger_from_iso(int iso_position)
{
	for (int f = FP_FINGER_FIRST; f <= FP_FINGER_LAST; f++)
		if (iso_position != HAL_POS_UNKNOWN && fp_to_iso[f] == iso_position)
			return f;
	return FP_FINGER_UNKNOWN;
}

static void
on_device_removed(FpContext *fp, FpDevice *device, gpointer data)
{
	(void)fp;
	Fprint *p = data;
	if (device == p->dev)
		g_atomic_int_set(&p->removed, 1);
}

/* Translates a libfprint error for device DEV_NAME into a HAL error. */
static void
set_hal_error(GError **error, const char *dev_name, const char *what, const GError *fp_error)
{
	int code = HAL_ERROR_DEVICE;
	if (g_error_matches(fp_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		code = HAL_ERROR_CANCELLED;
	else if (fp_error->domain == FP_DEVICE_RETRY)
		code = HAL_ERROR_RETRY;
	else if (g_error_matches(fp_error, FP_DEVICE_ERROR, FP_DEVICE_ERROR_REMOVED))
		code = HAL_ERROR_ABSENT;
	else if (g_error_matches(fp_error, FP_DEVICE_ERROR, FP_DEVICE_ERROR_BUSY))
		code = HAL_ERROR_BUSY;
	g_set_error(error, HAL_ERROR, code, "%s: %s: %s", dev_name, what, fp_error->message);
}

static gboolean
device_matches(FpDevice *d, const char *want)
{
	if (!fp_device_has_feature(d, FP_DEVICE_FEATURE_CAPTURE))
		return FALSE;
	return !*want || strcmp(fp_device_get_driver(d), want) == 0 ||
	       strcmp(fp_device_get_device_id(d), want) == 0;
}

/* ---- the main-loop side ---- */

static void
opened(GObject *src, GAsyncResult *res, gpointer data)
{
	Call *c = data;
	if (!fp_device_open_finish(FP_DEVICE(src), res, &c->error))
		g_clear_object(&c->p->dev);
	call_finish(c);
}

static void
captured(GObject *src, GAsyncResult *res, gpointer data)
{
	Call *c = data;
	c->image = fp_device_capture_finish(FP_DEVICE(src), res, &c->error);
	if (g_error_matches(c->error, FP_DEVICE_ERROR, FP_DEVICE_ERROR_REMOVED))
		g_atomic_int_set(&c->p->removed, 1);
	call_finish(c);
}

static void
closed(GObject *src, GAsyncResult *res, gpointer data)
{
	Call *c = data;
	fp_device_close_finish(FP_DEVICE(src), res, NULL);
	g_clear_object(&c->p->dev);
	g_clear_object(&c->p->fp);
	call_finish(c);
}

static gboolean
call_start(gpointer data)
{
	Call *c = data;
	Fprint *p = c->p;
	switch (c->kind) {
	case CALL_OPEN: {
		p->fp = fp_context_new();
		g_signal_connect(p->fp, "device-removed", G_CALLBACK(on_device_removed), p);
		GPtrArray *devices = fp_context_get_devices(p->fp); /* owned by the context */
		c->found = devices ? devices->len : 0;
		for (guint i = 0; i < c->found && !p->dev; i++)
			if (device_matches(g_ptr_array_index(devices, i), c->want))
				p->dev = g_object_ref(g_ptr_array_index(devices, i));
		if (!p->dev)
			call_finish(c);
		else
			fp_device_open(p->dev, NULL, opened, c);
		break;
	}
	case CALL_CAPTURE:
		fp_device_capture(p->dev, c->wait_finger, c->cancel, captured, c);
		break;
	case CALL_CLOSE:
		if (p->fp)
			g_signal_handlers_disconnect_by_data(p->fp, p);
		if (p->dev && fp_device_is_open(p->dev) && !g_atomic_int_get(&p->removed)) {
			fp_device_close(p->dev, NULL, closed, c);
		} else {
			g_clear_object(&p->dev);
			g_clear_object(&p->fp);
			call_finish(c);
		}
		break;
	}
	return G_SOURCE_REMOVE;
}

/* ---- the worker side ---- */

/* Hands C to the main loop and waits for it, at most twice the device's
 * timeout.  Returns C's result, or -1 with ERROR set when it never came. */
static int
call_run(HalDevice *dev, Call *c, GError **error)
{
	c->refs = 2;
	g_mutex_init(&c->lock);
	g_cond_init(&c->cond);
	GSource *src = g_idle_source_new();
	g_source_set_callback(src, call_start, c, NULL);
	g_source_attach(src, NULL); /* the global-default context: the daemon's loop */
	g_source_unref(src);

	gint64 deadline = g_get_monotonic_time() +
			  2 * hal_dev_option_int(dev, "timeout") * G_TIME_SPAN_MILLISECOND;
	g_mutex_lock(&c->lock);
	while (!c->done)
		if (!g_cond_wait_until(&c->cond, &c->lock, deadline))
			break;
	gboolean done = c->done;
	g_mutex_unlock(&c->lock);
	if (!done) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_TIMEOUT,
			    "%s: libfprint did not complete the operation", hal_dev_name(dev));
		call_unref(c);
		return -1;
	}
	return 0;
}

static Call *
call_new(CallKind kind, Fprint *p)
{
	Call *c = g_new0(Call, 1);
	c->kind = kind;
	c->p = p;
	return c;
}

static void
fprint_close(HalDevice *dev)
{
	Fprint *p = hal_dev_get_private(dev);
	if (!p)
		return;
	Call *c = call_new(CALL_CLOSE, p);
	g_autoptr(GError) e = NULL;
	if (call_run(dev, c, &e) < 0) {
		/* The late completion still uses P: leak it rather than free it under libfprint. */
		g_warning("%s", e->message);
	} else {
		call_unref(c);
		g_free(p);
	}
	hal_dev_set_private(dev, NULL);
}

static int
fprint_open(HalDevice *dev, GError **error)
{
	const char *name = hal_dev_name(dev);
	Fprint *p = g_new0(Fprint, 1);
	hal_dev_set_private(dev, p);
	Call *c = call_new(CALL_OPEN, p);
	c->want = g_strdup(hal_dev_option(dev, "device"));
	if (call_run(dev, c, error) < 0)
		return -1;
	int rc = 0;
	if (c->error) {
		set_hal_error(error, name, "cannot open", c->error);
		rc = -1;
	} else if (!p->dev) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_ABSENT,
			    "%s: no libfprint device%s%s%s that captures images (%u found)", name,
			    *c->want ? " \"" : "", c->want, *c->want ? "\"" : "", c->found);
		rc = -1;
	} else {
		g_info("device %s: libfprint %s (%s)", name, fp_device_get_driver(p->dev),
		       fp_device_get_name(p->dev));
	}
	call_unref(c);
	if (rc < 0)
		fprint_close(dev);
	return rc;
}

static int
fprint_status(HalDevice *dev, HalStatus *out, GCancellable *cancel, GError **error)
{
	(void)cancel;
	Fprint *p = hal_dev_get_private(dev);
	if (g_atomic_int_get(&p->removed)) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_ABSENT, "%s: libfprint device removed",
			    hal_dev_name(dev));
		return -1;
	}
	/* Set at open and constant until close, which this worker call excludes. */
	g_strlcpy(out->serial, fp_device_get_device_id(p->dev), sizeof out->serial);
	g_strlcpy(out->firmware, fp_device_get_driver(p->dev), sizeof out->firmware);
	return 0;
}

static int
fprint_capture(HalDevice *dev, int position, HalImage *out, GCancellable *cancel, GError **error)
{
	Fprint *p = hal_dev_get_private(dev);
	const char *name = hal_dev_name(dev);
	if (g_atomic_int_get(&p->removed)) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_ABSENT, "%s: libfprint device removed", name);
		return -1;
	}
	g_debug("device %s: capturing ISO finger %d (libfprint finger %d)", name, position,
		fprint_finger_from_iso(position));
	Call *c = call_new(CALL_CAPTURE, p);
	c->wait_finger = hal_dev_option_bool(dev, "wait_finger");
	c->cancel = cancel ? g_object_ref(cancel) : NULL;
	if (call_run(dev, c, error) < 0)
		return -1;
	int rc = -1;
	if (!c->image) {
		set_hal_error(error, name, "capture failed", c->error);
		goto out;
	}
	gsize len = 0;
	const guchar *px = fp_image_get_data(c->image, &len);
	guint w = fp_image_get_width(c->image), h = fp_image_get_height(c->image);
	double ppmm = fp_image_get_ppmm(c->image);
	if (!px || w == 0 || h == 0 || len != (gsize)w * h) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_DEVICE,
			    "%s: libfprint returned a malformed image (%ux%u, %zu bytes)", name, w, h,
			    (size_t)len);
		goto out;
	}
	out->width = (int)w;
	out->height = (int)h;
	out->channels = 1;
	out->ppi = ppmm > 0 ? (int)lround(ppmm * 25.4) : (int)hal_dev_option_int(dev, "ppi");
	out->pixels = g_memdup2(px, len);
	out->position = position;
	rc = 0;
out:
	call_unref(c);
	return rc;
}

const HalDriver fprint_driver = {
	.abi = HAL_ABI_VERSION,
	.name = "libfprint",
	.version = "1",
	.klass = HAL_CLASS_FINGERPRINT,
	.caps = HAL_CAP_CAPTURE | HAL_CAP_USB,
	.options = options,
	.open = fprint_open,
	.close = fprint_close,
	.status = fprint_status,
	.capture = fprint_capture,
};
