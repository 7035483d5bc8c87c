/* SPDX-License-Identifier: MIT */
/*
 * Self-tests per device class and the capture trend.  The test image for a
 * fingerprint scanner is the right index finger (ISO position 2), for an iris
 * camera the right eye; its score must reach the [quality] minimum of its
 * class and the capture must finish within the device's timeout (the manager
 * enforces that).  Printers and encoders are tested by reading their status,
 * identity and counters; a state of fault or absent fails the test.
 */
#include "core/selftest.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "quality/quality.h"

/* Beyond the configured quality drop, a device's trend also turns when its
 * newest captures take at least TREND_LATENCY_FACTOR times as long as its
 * first ones and TREND_LATENCY_MIN_MS more (a sensor needing several tries
 * inside the driver, a failing USB link), or when at least TREND_FAILURE_SHARE
 * of them failed, TREND_FAILURE_RISE more than in its baseline. */
#define TREND_LATENCY_FACTOR 2.0
#define TREND_LATENCY_MIN_MS 150.0
#define TREND_FAILURE_SHARE 0.3
#define TREND_FAILURE_RISE 0.25

typedef struct {
	SelftestDeps deps;
	char *device;
	char *user, *role;
	SelftestDone done;
	void *data;
} Job;

static void
job_free(Job *j)
{
	g_free(j->device);
	g_free(j->user);
	g_free(j->role);
	g_free(j);
}

/* Stores and audits the result in one transaction, then reports it. */
static void
finish(Job *j, gboolean ok, const char *message, JsonBuilder *figures)
{
	json_builder_end_object(figures);
	g_autoptr(JsonNode) root = json_builder_get_root(figures);
	g_autofree char *text = json_to_string(root, FALSE);
	StoreSelftest row = {
		.device = j->device,
		.ts = g_get_real_time() / G_USEC_PER_SEC,
		.ok = ok,
		.user = j->user,
		.message = (char *)message,
		.figures = text,
	};
	GError *e = NULL;
	SelftestResult r = { 0, j->device, ok, message, text };
	Store *st = j->deps.store;
	if (store_begin(st, &e) == 0) {
		r.id = store_selftest_insert(st, &row, &e);
		g_autofree char *id = g_strdup_printf("%" G_GINT64_FORMAT, r.id);
		AuditActor who = { j->user, j->role };
		g_autofree char *detail = audit_detail("selftest", id, "message", message, NULL);
		if (r.id < 0 || audit_append(st, &who, "device.selftest", j->device,
					     ok ? "ok" : "failed", detail, row.ts, &e) < 0)
			store_rollback(st);
		else
			store_commit(st, &e);
	}
	g_message("device %s: self-test %s: %s", j->device, ok ? "passed" : "FAILED", message);
	j->done(e ? NULL : &r, e, j->data);
	g_clear_error(&e);
	job_free(j);
}

static void
add_double(JsonBuilder *b, const char *name, double v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_double_value(b, ((gint64)(v * 1000 + (v < 0 ? -0.5 : 0.5))) / 1000.0);
}

static void
add_int(JsonBuilder *b, const char *name, gint64 v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_int_value(b, v);
}

static void
add_str(JsonBuilder *b, const char *name, const char *v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_string_value(b, v ? v : "");
}

/* Scores IMG for its class into B; returns the score, or -1 when there is none. */
static int
score(const Job *j, HalClass klass, const HalImage *img, JsonBuilder *b, gint64 *min)
{
	const EktpConfig *cfg = j->deps.cfg;
	switch (klass) {
	case HAL_CLASS_FINGERPRINT: {
		QualityFingerprint q;
		if (quality_fingerprint(img, &q) < 0)
			return -1;
		*min = cfg->quality_fingerprint_min;
		add_str(b, "algorithm", q.algorithm);
		add_str(b, "algorithm_version", q.version);
		add_double(b, "coverage", q.coverage);
		add_double(b, "contrast", q.contrast);
		add_double(b, "coherence", q.coherence);
		return q.score;
	}
	case HAL_CLASS_IRIS: {
		QualityIris q;
		if (quality_iris(img, &q) < 0)
			return -1;
		*min = cfg->quality_iris_min;
		add_str(b, "algorithm", q.algorithm);
		add_str(b, "algorithm_version", q.version);
		add_double(b, "usable_iris_area", q.usable_iris_area);
		add_double(b, "iris_pupil_contrast", q.iris_pupil_contrast);
		add_double(b, "iris_sclera_contrast", q.iris_sclera_contrast);
		add_double(b, "pupil_iris_ratio", q.pupil_iris_ratio);
		add_double(b, "sharpness", q.sharpness);
		return q.score;
	}
	case HAL_CLASS_FACE: {
		QualityFace q;
		if (quality_face(img, &q) < 0)
			return -1;
		*min = cfg->quality_face_min;
		add_str(b, "algorithm", q.algorithm);
		add_str(b, "algorithm_version", q.version);
		add_double(b, "aspect", q.aspect);
		g_autofree char *bg = g_strdup_printf("#%06X", q.background);
		add_str(b, "background", bg);
		add_double(b, "background_uniformity", q.background_uniformity);
		add_double(b, "exposure", q.exposure);
		return q.score;
	}
	default:
		return -1;
	}
}

/* Share of dark pixels in a grey image: a signature pad's test is that ink shows. */
static double
ink_share(const HalImage *img)
{
	if (img->channels != 1)
		return 0;
	gsize n = (gsize)img->width * (gsize)img->height, dark = 0;
	for (gsize i = 0; i < n; i++)
		dark += img->pixels[i] < 128;
	return n ? (double)dark / (double)n : 0;
}

static void
capture_done(HalImage *img, const HalCaptureMeta *meta, GError *error, void *data)
{
	Job *j = data;
	g_autoptr(JsonBuilder) b = json_builder_new();
	gint64 latency = (meta->ended_us - meta->started_us) / 1000;
	g_autofree char *message = NULL;
	gboolean ok = FALSE;
	int q = -1;

	json_builder_begin_object(b);
	add_int(b, "latency_ms", latency);
	if (error) {
		message = g_strdup_printf("capture failed: %s", error->message);
	} else {
		add_int(b, "width", img->width);
		add_int(b, "height", img->height);
		add_int(b, "ppi", img->ppi);
		gint64 min = 0;
		q = score(j, meta->klass, img, b, &min);
		if (meta->klass == HAL_CLASS_SIGNATURE) {
			double ink = ink_share(img);
			add_double(b, "ink_share", ink);
			ok = ink > 0.002 && ink < 0.4;
			message = g_strdup_printf("signature captured in %" G_GINT64_FORMAT " ms, ink on "
						  "%.1f%% of the pad", latency, ink * 100);
		} else if (q < 0) {
			message = g_strdup("the captured image could not be scored");
		} else {
			add_int(b, "quality", q);
			add_int(b, "quality_min", min);
			ok = q >= min;
			message = g_strdup_printf("%s captured in %" G_GINT64_FORMAT " ms, quality %d (%s "
						  "%" G_GINT64_FORMAT ")", hal_class_name(meta->klass),
						  latency, q, ok ? "minimum" : "BELOW minimum", min);
		}
		g_free(img->pixels);
		g_free(img);
	}
	GError *e = NULL;
	if (selftest_record_capture(&j->deps, j->device, !error, q, latency, "selftest", &e) < 0) {
		g_warning("device %s: capture not recorded: %s", j->device, e->message);
		g_error_free(e);
	}
	finish(j, ok, message, b);
}

static void
refresh_done(const HalInfo *info, GError *error, void *data)
{
	Job *j = data;
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	g_autofree char *reasons = info ? g_strjoinv(",", info->reasons) : g_strdup("");
	if (info) {
		add_str(b, "state", hal_state_name(info->state));
		add_str(b, "reasons", reasons);
		add_str(b, "serial", info->serial);
		add_str(b, "firmware", info->firmware);
		add_str(b, "driver", info->driver);
		add_int(b, "counter_total", info->counter_total);
		add_int(b, "counter_since_cleaning", info->counter_since_clean);
		add_int(b, "supply_remaining", info->supply_remaining);
	}
	gboolean ok = !error && info &&
		      (info->state == HAL_STATE_READY || info->state == HAL_STATE_DEGRADED);
	g_autofree char *message =
		error ? g_strdup_printf("status failed: %s", error->message)
		: ok  ? g_strdup_printf("%s answers: serial %s, state %s%s%s",
					hal_class_name(info->klass),
					info->serial ? info->serial : "unknown",
					hal_state_name(info->state), *reasons ? " " : "", reasons)
		      : g_strdup_printf("%s is %s %s", hal_class_name(info->klass),
					hal_state_name(info->state), reasons);
	finish(j, ok, message, b);
}

void
selftest_run(const SelftestDeps *deps, const char *device, const AuditActor *who,
	     SelftestDone done, void *data)
{
	HalInfo *info = hal_manager_get(deps->hal, device);
	if (!info) {
		g_autoptr(GError) e = g_error_new(HAL_ERROR, HAL_ERROR_NO_DEVICE, "no device '%s'",
						  device);
		done(NULL, e, data);
		return;
	}
	Job *j = g_new0(Job, 1);
	j->deps = *deps;
	j->device = g_strdup(device);
	j->user = g_strdup(who->user);
	j->role = g_strdup(who->role);
	j->done = done;
	j->data = data;
	HalClass klass = info->klass;
	hal_info_free(info);
	switch (klass) {
	case HAL_CLASS_FINGERPRINT:
		hal_manager_capture(deps->hal, device, HAL_POS_RIGHT_THUMB + 1, capture_done, j);
		break;
	case HAL_CLASS_IRIS:
		hal_manager_capture(deps->hal, device, HAL_POS_RIGHT_EYE, capture_done, j);
		break;
	case HAL_CLASS_FACE:
	case HAL_CLASS_SIGNATURE:
		hal_manager_capture(deps->hal, device, HAL_POS_UNKNOWN, capture_done, j);
		break;
	default:
		hal_manager_refresh(deps->hal, device, refresh_done, j);
		break;
	}
}

/* ---- trend ---- */

void
selftest_trend_clear(SelftestTrend *t)
{
	g_free(t->summary);
	memset(t, 0, sizeof *t);
}

/* Mean quality of the scored, successful captures; mean latency; failure share. */
static void
window_means(GArray *w, double *quality, double *latency, double *failures)
{
	double q = 0, l = 0;
	guint nq = 0, fails = 0;
	for (guint i = 0; i < w->len; i++) {
		const StoreCapture *c = &g_array_index(w, StoreCapture, i);
		l += (double)c->latency_ms;
		if (!c->ok)
			fails++;
		else if (c->quality >= 0)
			q += (double)c->quality, nq++;
	}
	*quality = nq ? q / nq : -1;
	*latency = w->len ? l / w->len : 0;
	*failures = w->len ? (double)fails / w->len : 0;
}

int
selftest_trend(Store *st, const char *device, gint64 window, gint64 drop, SelftestTrend *out,
	       GError **error)
{
	memset(out, 0, sizeof *out);
	gint64 n = store_capture_count(st, device, error);
	if (n < 0)
		return -1;
	if (n < 2 * window) {
		out->summary = g_strdup_printf("%" G_GINT64_FORMAT " captures so far; a trend needs %"
					       G_GINT64_FORMAT, n, 2 * window);
		return 0;
	}
	g_autoptr(GArray) base = store_capture_window(st, device, (int)window, FALSE, error);
	g_autoptr(GArray) recent = base ? store_capture_window(st, device, (int)window, TRUE, error)
				       : NULL;
	if (!recent)
		return -1;
	double base_fail;
	window_means(base, &out->baseline_mean, &out->baseline_latency_ms, &base_fail);
	window_means(recent, &out->recent_mean, &out->recent_latency_ms, &out->recent_failure_rate);
	out->samples = recent->len;
	/* Worst first: a device that fails is worse than a slow one, a slow one
	 * worse than one whose images got poorer. */
	if (out->recent_failure_rate >= TREND_FAILURE_SHARE &&
	    out->recent_failure_rate - base_fail >= TREND_FAILURE_RISE)
		out->reason = "failures-rising";
	else if (out->recent_latency_ms >= TREND_LATENCY_FACTOR * out->baseline_latency_ms &&
		 out->recent_latency_ms - out->baseline_latency_ms >= TREND_LATENCY_MIN_MS)
		out->reason = "latency-rising";
	else if (out->baseline_mean >= 0 && out->recent_mean >= 0 &&
		 out->baseline_mean - out->recent_mean >= (double)drop)
		out->reason = "quality-declining";
	out->declining = out->reason != NULL;
	out->summary = g_strdup_printf("mean quality %.0f, baseline %.0f, over last %u captures; "
				       "latency %.0f ms (baseline %.0f); %.0f%% failed",
				       out->recent_mean, out->baseline_mean, recent->len,
				       out->recent_latency_ms, out->baseline_latency_ms,
				       out->recent_failure_rate * 100);
	return 0;
}

/* Sets DEVICE's advisory from its trend (the reason keyword names the figure
 * that moved). */
static int
update_advisory(const SelftestDeps *deps, const char *device, GError **error)
{
	SelftestTrend t;
	if (selftest_trend(deps->store, device, deps->cfg->trend_window,
			   deps->cfg->trend_quality_drop, &t, error) < 0)
		return -1;
	hal_manager_set_advisory(deps->hal, device, t.reason, t.declining ? t.summary : NULL);
	selftest_trend_clear(&t);
	return 0;
}

int
selftest_restore_trends(const SelftestDeps *deps, GError **error)
{
	g_autoptr(GPtrArray) devices = hal_manager_list(deps->hal);
	for (guint i = 0; i < devices->len; i++)
		if (update_advisory(deps, ((HalInfo *)devices->pdata[i])->name, error) < 0)
			return -1;
	return 0;
}

int
selftest_record_capture(const SelftestDeps *deps, const char *device, gboolean ok, int quality,
			gint64 latency_ms, const char *source, GError **error)
{
	StoreCapture c = { g_get_real_time() / G_USEC_PER_SEC, ok, quality, latency_ms };
	if (store_capture_insert(deps->store, device, &c, source, error) < 0)
		return -1;
	return update_advisory(deps, device, error);
}
