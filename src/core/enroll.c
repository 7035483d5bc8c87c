/* SPDX-License-Identifier: MIT */
/*
 * Enrollment sessions and records (see enroll.h for the design).
 *
 * A capture attempt runs in three steps: (1) on the main loop, the session is
 * checked and the image comes from the device (hal_manager_capture) or the
 * upload; (2) in a worker thread, the image is decoded or encoded as PNG,
 * scored and sealed; (3) back on the main loop, one transaction compares it
 * with the best attempt so far, keeps the better one, counts the attempt and
 * audits it.
 */
#include "core/enroll.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "core/selftest.h"
#include "image/image.h"
#include "quality/quality.h"
#include "util/timefmt.h"

G_DEFINE_QUARK(ektp-enroll-error-quark, enroll_error)

static const char *const modality_names[ENROLL_N_MODALITIES] = {
	[ENROLL_FINGER] = "finger",
	[ENROLL_IRIS] = "iris",
	[ENROLL_FACE] = "face",
	[ENROLL_SIGNATURE] = "signature",
};

static const HalClass modality_class[ENROLL_N_MODALITIES] = {
	[ENROLL_FINGER] = HAL_CLASS_FINGERPRINT,
	[ENROLL_IRIS] = HAL_CLASS_IRIS,
	[ENROLL_FACE] = HAL_CLASS_FACE,
	[ENROLL_SIGNATURE] = HAL_CLASS_SIGNATURE,
};

/* What an image of each modality must be (uploads are held to it too). */
static const ImageLimits modality_limits[ENROLL_N_MODALITIES] = {
	[ENROLL_FINGER] = { 1, 200, 2000, 200, 2000, 2000 * 2000 },
	[ENROLL_IRIS] = { 1, 320, 1280, 240, 960, 1280 * 960 },
	[ENROLL_FACE] = { 3, 300, 2400, 400, 3200, (size_t)2400 * 3200 * 3 },
	[ENROLL_SIGNATURE] = { 1, 100, 2000, 40, 1000, 2000 * 1000 },
};

/* A signature's "quality": ink on 0.5 % to 30 % of the pad scores 100,
 * falling off linearly outside; threshold 50.  Not a biometric measure. */
#define SIGNATURE_ALGORITHM "ektp-sig-ink/1"
#define SIGNATURE_THRESHOLD 50

int
enroll_modality_parse(const char *name)
{
	for (int m = 0; m < ENROLL_N_MODALITIES; m++)
		if (name && strcmp(name, modality_names[m]) == 0)
			return m;
	return -1;
}

const char *
enroll_modality_name(EnrollModality m)
{
	return (unsigned)m < ENROLL_N_MODALITIES ? modality_names[m] : "?";
}

gboolean
enroll_position_valid(EnrollModality m, int position)
{
	switch (m) {
	case ENROLL_FINGER:
		return position >= 1 && position <= 10;
	case ENROLL_IRIS:
		return position == 1 || position == 2;
	default:
		return position == 0;
	}
}

static gint64
now_s(void)
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

/* Today, local time, "YYYY-MM-DD". */
static void
today(char out[11])
{
	g_autoptr(GDateTime) t = g_date_time_new_now_local();
	g_autofree char *s = g_date_time_format(t, "%Y-%m-%d");
	g_strlcpy(out, s, 11);
}

static int
threshold_of(const EnrollDeps *deps, EnrollModality m)
{
	switch (m) {
	case ENROLL_FINGER:
		return (int)deps->cfg->quality_fingerprint_min;
	case ENROLL_IRIS:
		return (int)deps->cfg->quality_iris_min;
	case ENROLL_FACE:
		return (int)deps->cfg->quality_face_min;
	default:
		return SIGNATURE_THRESHOLD;
	}
}

/* ---- keys and sealing ---- */

static char *
key_ad(gint64 id)
{
	return g_strdup_printf("ektp-key|%" G_GINT64_FORMAT, id);
}

static char *
blob_ad(gint64 id, EnrollModality m, int position)
{
	return g_strdup_printf("ektp-bio|%" G_GINT64_FORMAT "|%s|%d", id, modality_names[m],
			       position);
}

/* Unwraps the data key of record or session ID into KEY (caller wipes). */
static int
unwrap(const EnrollDeps *deps, gint64 id, GBytes *wrapped, uint8_t key[CRYPTO_KEY_LEN],
       GError **error)
{
	g_autofree char *ad = key_ad(id);
	gsize n = 0;
	const void *w = wrapped ? g_bytes_get_data(wrapped, &n) : NULL;
	if (!w || crypto_key_unwrap(deps->key, w, n, ad, strlen(ad), key, error) < 0) {
		g_prefix_error(error, "record %" G_GINT64_FORMAT ": data key: ", id);
		if (error && *error) {
			(*error)->domain = ENROLL_ERROR;
			(*error)->code = ENROLL_ERROR_SEALED;
		}
		return -1;
	}
	return 0;
}

/* ---- demographics as stored ---- */

static char *
demographics_json(const EnrollDemographics *d)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
#define F(name)                                            \
	do {                                               \
		json_builder_set_member_name(b, #name);    \
		json_builder_add_string_value(b, d->name ? d->name : ""); \
	} while (0)
	F(nik);
	F(kk);
	F(name);
	F(birth_place);
	F(birth_date);
	F(gender);
	F(blood_type);
	F(religion);
	F(marital_status);
	F(occupation);
	F(address);
	F(rt);
	F(rw);
	F(village_code);
	F(citizenship);
	F(nationality);
#undef F
	json_builder_end_object(b);
	g_autoptr(JsonNode) root = json_builder_get_root(b);
	return json_to_string(root, FALSE);
}

/* The issues of LIST as a JSON array text. */
static char *
issues_json(const GPtrArray *list)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_array(b);
	for (guint i = 0; list && i < list->len; i++) {
		const ValidateIssue *is = g_ptr_array_index(list, i);
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "field");
		json_builder_add_string_value(b, is->field);
		json_builder_set_member_name(b, "rule");
		json_builder_add_string_value(b, is->rule);
		json_builder_set_member_name(b, "message");
		json_builder_add_string_value(b, is->message);
		json_builder_set_member_name(b, "value");
		if (is->value)
			json_builder_add_string_value(b, is->value);
		else
			json_builder_add_null_value(b);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	g_autoptr(JsonNode) root = json_builder_get_root(b);
	return json_to_string(root, FALSE);
}

/* A member of a JSON object text, or "" (caller frees). */
static char *
json_member(const char *json, const char *member)
{
	g_autoptr(JsonNode) n = json_from_string(json, NULL);
	if (!n || !JSON_NODE_HOLDS_OBJECT(n))
		return g_strdup("");
	const char *v = json_object_get_string_member_with_default(json_node_get_object(n), member,
								  "");
	return g_strdup(v);
}

/* ---- start ---- */

gint64
enroll_start(const EnrollDeps *deps, const AuditActor *who, const EnrollDemographics *d,
	     gboolean reenroll, ValidateReport **report, GError **error)
{
	const EktpConfig *cfg = deps->cfg;
	ValidatePolicy policy = VALIDATE_POLICY_INIT;
	policy.office_regency = cfg->enroll_regency;
	policy.allow_out_of_area = cfg->enroll_allow_out_of_area != 0;
	policy.min_age = (int)cfg->enroll_min_age;
	ValidateReport *r = validate_enrollment(deps->regions, d, &policy, error);
	*report = r;
	if (!r)
		return -1;
	if (r->errors->len > 0) {
		g_set_error(error, ENROLL_ERROR, ENROLL_ERROR_INVALID, "%u problem%s in the demographics",
			    r->errors->len, r->errors->len == 1 ? "" : "s");
		return -1;
	}
	Store *st = deps->store;
	gint64 now = now_s();
	uint8_t data_key[CRYPTO_KEY_LEN];
	gint64 id = -1;
	g_autoptr(GPtrArray) open = NULL;
	g_autoptr(GBytes) wb = NULL;
	g_autofree char *demo = NULL, *warnings = NULL, *ad = NULL, *target = NULL, *detail = NULL;
	if (crypto_random(data_key, sizeof data_key) < 0) {
		g_set_error(error, ENROLL_ERROR, ENROLL_ERROR_SEALED, "no random data key");
		return -1;
	}
	if (store_begin(st, error) < 0)
		goto out;
	gint64 active = store_record_active_for_nik(st, d->nik, 0, error);
	if (active < 0)
		goto fail;
	if (active > 0 && !reenroll) {
		g_set_error(error, ENROLL_ERROR, ENROLL_ERROR_CONFLICT,
			    "NIK %s already has record %" G_GINT64_FORMAT
			    "; recording it again is a re-enrollment (reenroll), which a supervisor "
			    "must approve",
			    d->nik, active);
		goto fail;
	}
	open = store_enrollment_list_open(st, error);
	if (!open)
		goto fail;
	for (guint i = 0; i < open->len; i++) {
		StoreEnrollment *o = g_ptr_array_index(open, i);
		if (strcmp(o->nik, d->nik) == 0) {
			g_set_error(error, ENROLL_ERROR, ENROLL_ERROR_CONFLICT,
				    "NIK %s has an open enrollment already (%" G_GINT64_FORMAT
				    "); resume or abandon it",
				    d->nik, o->id);
			goto fail;
		}
	}
	demo = demographics_json(d);
	warnings = issues_json(r->warnings);
	StoreEnrollment e = {
		.nik = (char *)d->nik,
		.name = (char *)d->name,
		.operator_name = (char *)who->user,
		.demographics = demo,
		.warnings = warnings,
		.reenroll = reenroll,
		.print_ready_after = r->facts.print_hold ? r->facts.turns_17 : NULL,
		.wrapped_key = g_bytes_new_static("", 0),
		.created_at = now,
	};
	id = store_enrollment_insert(st, &e, error);
	g_bytes_unref(e.wrapped_key);
	if (id < 0)
		goto fail;
	ad = key_ad(id);
	uint8_t wrapped[CRYPTO_WRAPPED_KEY_LEN];
	if (crypto_key_wrap(deps->key, data_key, ad, strlen(ad), wrapped, error) < 0)
		goto fail;
	wb = g_bytes_new(wrapped, sizeof wrapped);
	target = g_strdup_printf("%" G_GINT64_FORMAT, id);
	detail = audit_detail("nik", d->nik, "reenroll", reenroll ? "yes" : "no", NULL);
	if (store_enrollment_set_key(st, id, wb, error) < 0 ||
	    audit_append(st, who, "enroll.start", target, "ok", detail, now, error) < 0 ||
	    store_commit(st, error) < 0)
		goto fail;
	goto out;
fail:
	store_rollback(st);
	id = -1;
out:
	crypto_wipe(data_key, sizeof data_key);
	return id;
}

/* ---- capture ---- */

typedef struct {
	EnrollDeps deps;
	AuditActor who;
	char *user, *role;
	gint64 id;
	EnrollModality modality;
	int position;
	EnrollCaptureDone done;
	void *data;
	/* the session */
	GBytes *wrapped_key;
	int backdrop; /* HAL_BACKDROP_* for a face */
	int max_attempts;
	int threshold;
	/* the attempt */
	GBytes *png;       /* an upload, or the encoded capture */
	HalImage *image;   /* a device capture */
	char *device, *driver, *driver_version, *serial;
	gint64 latency_ms; /* a device capture's, from request to image */
	gboolean upload;
	/* worker results */
	int quality;
	gboolean passes;
	char algorithm[64]; /* "name/version" */
	char *note; /* e.g. the backdrop verdict */
	int width, height, channels, ppi;
	GBytes *sealed;
} Attempt;

static void
attempt_free(Attempt *a)
{
	g_free(a->user);
	g_free(a->role);
	if (a->wrapped_key)
		g_bytes_unref(a->wrapped_key);
	if (a->png)
		g_bytes_unref(a->png);
	if (a->image) {
		g_free(a->image->pixels);
		g_free(a->image);
	}
	g_free(a->device);
	g_free(a->driver);
	g_free(a->driver_version);
	g_free(a->serial);
	g_free(a->note);
	if (a->sealed)
		g_bytes_unref(a->sealed);
	g_free(a);
}

static void
attempt_fail(Attempt *a, GError *error)
{
	a->done(NULL, error, a->data);
	attempt_free(a);
}

/* The backdrop a birth year and citizenship call for. */
static int
backdrop_for(const char *demographics)
{
	g_autofree char *cit = json_member(demographics, "citizenship");
	if (strcmp(cit, "WNA") == 0)
		return HAL_BACKDROP_ORANGE;
	g_autofree char *birth = json_member(demographics, "birth_date");
	int year = atoi(birth);
	return year % 2 ? HAL_BACKDROP_RED : HAL_BACKDROP_BLUE;
}

static const char *
backdrop_name(int b)
{
	return b == HAL_BACKDROP_RED ? "red" : b == HAL_BACKDROP_BLUE ? "blue" : "orange";
}

/* The backdrop an estimated background colour is nearest to, or 0 when it is
 * near none of them (reference colours: #db1514, #0090ff, #ff8c00). */
static int
backdrop_of(guint32 rgb)
{
	static const struct {
		int backdrop;
		int r, g, b;
	} refs[] = {
		{ HAL_BACKDROP_RED, 0xdb, 0x15, 0x14 },
		{ HAL_BACKDROP_BLUE, 0x00, 0x90, 0xff },
		{ HAL_BACKDROP_ORANGE, 0xff, 0x8c, 0x00 },
	};
	int r = (int)(rgb >> 16 & 0xff), g = (int)(rgb >> 8 & 0xff), b = (int)(rgb & 0xff);
	int best = 0, best_d = 90 * 90; /* farther than this from all: not a card backdrop */
	for (size_t i = 0; i < G_N_ELEMENTS(refs); i++) {
		int dr = r - refs[i].r, dg = g - refs[i].g, db = b - refs[i].b;
		int dist = dr * dr + dg * dg + db * db;
		if (dist < best_d) {
			best_d = dist;
			best = refs[i].backdrop;
		}
	}
	return best;
}

/* Scores A->image (borrowed) for its modality; sets quality, passes, algorithm, note. */
static void
score(Attempt *a, const HalImage *img)
{
	a->algorithm[0] = 0;
	a->quality = 0;
	switch (a->modality) {
	case ENROLL_FINGER: {
		QualityFingerprint q;
		if (quality_fingerprint(img, &q) == 0) {
			a->quality = q.score;
			g_snprintf(a->algorithm, sizeof a->algorithm, "%s/%s", q.algorithm, q.version);
		}
		break;
	}
	case ENROLL_IRIS: {
		QualityIris q;
		if (quality_iris(img, &q) == 0) {
			a->quality = q.score;
			g_snprintf(a->algorithm, sizeof a->algorithm, "%s/%s", q.algorithm, q.version);
		}
		break;
	}
	case ENROLL_FACE: {
		QualityFace q;
		if (quality_face(img, &q) == 0) {
			a->quality = q.score;
			g_snprintf(a->algorithm, sizeof a->algorithm, "%s/%s", q.algorithm, q.version);
			int seen = backdrop_of(q.background);
			if (seen != a->backdrop) {
				a->note = g_strdup_printf(
					"background #%06x is %s; this resident's card needs %s",
					q.background, seen ? backdrop_name(seen) : "no card colour",
					backdrop_name(a->backdrop));
			} else {
				a->note = g_strdup_printf("background %s as the card needs",
							  backdrop_name(seen));
			}
			a->passes = seen == a->backdrop && a->quality >= a->threshold;
			return;
		}
		break;
	}
	case ENROLL_SIGNATURE: {
		gsize n = (gsize)img->width * (gsize)img->height, dark = 0;
		for (gsize i = 0; i < n; i++)
			dark += img->pixels[i] < 128;
		double ink = n ? (double)dark / (double)n : 0;
		double s = ink < 0.005 ? ink / 0.005 : ink > 0.3 ? (0.6 - ink) / 0.3 : 1.0;
		a->quality = (int)CLAMP(s * 100.0 + 0.5, 0, 100);
		g_strlcpy(a->algorithm, SIGNATURE_ALGORITHM, sizeof a->algorithm);
		a->note = g_strdup_printf("ink on %.1f%% of the pad", ink * 100);
		break;
	}
	default:
		break;
	}
	a->passes = a->quality >= a->threshold;
}

/* Worker: decode or encode, score, seal. */
static void
attempt_work(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
	(void)source;
	(void)cancel;
	Attempt *a = data;
	GError *e = NULL;
	Image img = { 0 };
	HalImage view = { 0 };
	if (a->upload) {
		gsize n = 0;
		const void *p = g_bytes_get_data(a->png, &n);
		if (image_png_decode(p, n, &modality_limits[a->modality], &img, &e) < 0) {
			GError *w = g_error_new(ENROLL_ERROR, ENROLL_ERROR_IMAGE, "%s image: %s",
						modality_names[a->modality], e->message);
			g_error_free(e);
			g_task_return_error(task, w);
			return;
		}
		view = (HalImage){ img.width, img.height, img.channels, img.ppi, img.pixels,
				   a->position };
	} else {
		view = *a->image;
		img = (Image){ view.width, view.height, view.channels, view.ppi, view.pixels };
		a->png = image_png_encode(&img, &e);
		img.pixels = NULL; /* still owned by a->image */
		if (!a->png) {
			g_task_return_error(task, e);
			return;
		}
	}
	a->width = view.width;
	a->height = view.height;
	a->channels = view.channels;
	a->ppi = view.ppi;
	score(a, &view);
	image_clear(&img);

	uint8_t key[CRYPTO_KEY_LEN];
	EnrollDeps d = a->deps;
	if (unwrap(&d, a->id, a->wrapped_key, key, &e) < 0) {
		g_task_return_error(task, e);
		return;
	}
	g_autofree char *ad = blob_ad(a->id, a->modality, a->position);
	gsize n = 0;
	const void *p = g_bytes_get_data(a->png, &n);
	a->sealed = crypto_aead_seal(key, p, n, ad, strlen(ad), &e);
	crypto_wipe(key, sizeof key);
	if (!a->sealed) {
		g_task_return_error(task, e);
		return;
	}
	g_task_return_boolean(task, TRUE);
}

/* Is the attempt NEW better than the stored OLD (passing first, then score)? */
static gboolean
better(gboolean new_passes, int new_q, const StoreItem *old)
{
	if (!old || strcmp(old->kind, "capture") != 0)
		return TRUE;
	gboolean old_passes = strcmp(old->status, "accepted") == 0;
	if (new_passes != old_passes)
		return new_passes;
	return new_q > old->quality;
}

/* A device capture joins the device's history, from which its trend is drawn. */
static void
record_history(Attempt *a, gboolean ok, int quality)
{
	SelftestDeps sd = { a->deps.store, a->deps.hal, a->deps.cfg };
	GError *e = NULL;
	if (selftest_record_capture(&sd, a->device, ok, quality, a->latency_ms, "enroll", &e) < 0) {
		g_warning("device %s: capture not recorded in its history: %s", a->device,
			  e->message);
		g_error_free(e);
	}
}

/* Main loop: keep the better attempt, count it, audit it. */
static void
attempt_store(GObject *source, GAsyncResult *res, gpointer data)
{
	(void)source;
	Attempt *a = data;
	GError *e = NULL;
	if (!g_task_propagate_boolean(G_TASK(res), &e)) {
		attempt_fail(a, e);
		g_error_free(e);
		return;
	}
	Store *st = a->deps.store;
	StoreItem *old = NULL;
	gint64 now = now_s();
	g_autofree char *target = NULL, *q = NULL, *detail = NULL;
	if (store_begin(st, &e) < 0)
		goto fail;
	StoreEnrollment en = { 0 };
	int found = store_enrollment_get(st, a->id, &en, &e);
	gboolean still_open = found == 1 && strcmp(en.state, "open") == 0;
	store_enrollment_clear(&en);
	if (found < 0)
		goto rollback;
	if (!still_open) {
		g_set_error(&e, ENROLL_ERROR, ENROLL_ERROR_CONFLICT,
			    "enrollment %" G_GINT64_FORMAT " was closed during the capture", a->id);
		goto rollback;
	}
	if (store_item_get(st, a->id, modality_names[a->modality], a->position, &old, &e) < 0)
		goto rollback;
	int attempts = (old && strcmp(old->kind, "capture") == 0 ? old->attempts : 0) + 1;
	if (attempts > a->max_attempts) {
		g_set_error(&e, ENROLL_ERROR, ENROLL_ERROR_CONFLICT,
			    "%s %d: all %d attempts are used; its best one is kept",
			    modality_names[a->modality], a->position, a->max_attempts);
		goto rollback;
	}
	gboolean keep_new = better(a->passes, a->quality, old);
	gboolean best_passes = keep_new ? a->passes : strcmp(old->status, "accepted") == 0;
	int best_q = keep_new ? a->quality : old->quality;
	const char *status = best_passes ? "accepted"
			     : attempts < a->max_attempts ? "retry"
							  : "forced";
	StoreItem it = {
		.modality = (char *)modality_names[a->modality],
		.position = a->position,
		.kind = "capture",
		.status = (char *)status,
		.quality = best_q,
		.threshold = a->threshold,
		.algorithm = keep_new ? a->algorithm : old->algorithm,
		.attempts = attempts,
		.forced = strcmp(status, "forced") == 0,
		.source = keep_new ? (a->upload ? "upload" : "device") : old->source,
		.device = keep_new ? a->device : old->device,
		.driver = keep_new ? a->driver : old->driver,
		.driver_version = keep_new ? a->driver_version : old->driver_version,
		.serial = keep_new ? a->serial : old->serial,
		.width = keep_new ? a->width : old->width,
		.height = keep_new ? a->height : old->height,
		.channels = keep_new ? a->channels : old->channels,
		.ppi = keep_new ? a->ppi : old->ppi,
		.captured_at = keep_new ? now : old->captured_at,
		.sealed = keep_new ? a->sealed : old->sealed,
		.exc_kind = "",
		.reason = "",
	};
	target = g_strdup_printf("%" G_GINT64_FORMAT "/%s/%d", a->id, modality_names[a->modality],
				 a->position);
	q = g_strdup_printf("%d", a->quality);
	detail = audit_detail("quality", q, "status", status, "source",
			      a->upload ? "upload" : "device", NULL);
	if (store_item_put(st, a->id, &it, &e) < 0 ||
	    audit_append(st, &a->who, "enroll.capture", target, "ok", detail, now, &e) < 0 ||
	    store_commit(st, &e) < 0)
		goto rollback;

	EnrollCaptureResult r = {
		.modality = a->modality,
		.position = a->position,
		.attempt = attempts,
		.quality = a->quality,
		.threshold = a->threshold,
		.best_quality = best_q,
		.attempts_left = a->max_attempts - attempts,
		.status = status,
		.algorithm = a->algorithm,
	};
	r.message = g_strdup_printf(
		"%s %d: attempt %d of %d, quality %d (threshold %d)%s%s; %s", modality_names[a->modality],
		a->position, attempts, a->max_attempts, a->quality, a->threshold, a->note ? ", " : "",
		a->note ? a->note : "",
		strcmp(status, "accepted") == 0 ? "accepted"
		: strcmp(status, "retry") == 0	? "please try again"
						: "no attempts left: the best one is kept as forced and "
						  "needs a supervisor's approval");
	if (!a->upload)
		record_history(a, TRUE, a->quality);
	a->done(&r, NULL, a->data);
	g_free(r.message);
	store_item_free(old);
	attempt_free(a);
	return;
rollback:
	store_rollback(st);
fail:
	store_item_free(old);
	attempt_fail(a, e);
	g_error_free(e);
}

static void
attempt_start_work(Attempt *a)
{
	g_autoptr(GTask) task = g_task_new(NULL, NULL, attempt_store, a);
	g_task_set_task_data(task, a, NULL);
	g_task_run_in_thread(task, attempt_work);
}

static void
captured(HalImage *image, const HalCaptureMeta *meta, GError *error, void *data)
{
	Attempt *a = data;
	a->latency_ms = (meta->ended_us - meta->started_us) / 1000;
	if (!image) {
		record_history(a, FALSE, -1);
		attempt_fail(a, error);
		return;
	}
	a->image = image;
	a->serial = g_strdup(meta->serial ? meta->serial : "");
	a->driver = g_strdup(meta->driver);
	a->driver_version = g_strdup(meta->driver_version ? meta->driver_version : "");
	attempt_start_work(a);
}

/* Checks session ID and fills A's session fields; -1 with ERROR. */
static int
attempt_prepare(Attempt *a, GError **error)
{
	if (!enroll_position_valid(a->modality, a->position)) {
		g_set_error(error, ENROLL_ERROR, ENROLL_ERROR_INVALID,
			    "position %d is not a %s position (%s)", a->position,
			    modality_names[a->modality],
			    a->modality == ENROLL_FINGER ? "1 right thumb .. 10 left little"
			    : a->modality == ENROLL_IRIS ? "1 right eye, 2 left eye"
							 : "0");
		return -1;
	}
	StoreEnrollment e = { 0 };
	int found = store_enrollment_get(a->deps.store, a->id, &e, error);
	if (found <= 0) {
		if (found == 0)
			g_set_error(error, ENROLL_ERROR, ENROLL_ERROR_NOT_FOUND,
				    "no enrollment %" G_GINT64_FORMAT, a->id);
		return -1;
	}
	int rc = 0;
	if (strcmp(e.state, "open") != 0) {
		g_set_error(error, ENROLL_ERROR, ENROLL_ERROR_CONFLICT,
			    "enrollment %" G_GINT64_FORMAT " is %s", a->id, e.state);
		rc = -1;
	} else {
		a->wrapped_key = g_bytes_ref(e.wrapped_key);
		a->backdrop = backdrop_for(e.demographics);
		a->max_attempts = 1 + (int)a->deps.cfg->enroll_retries[a->modality];
		a->threshold = threshold_of(&a->deps, a->modality);
	}
	store_enrollment_clear(&e);
	return rc;
}

static Attempt *
attempt_new(const EnrollDeps *deps, const AuditActor *who, gint64 id, EnrollModality modality,
	    int position, EnrollCaptureDone done, void *data)
{
	Attempt *a = g_new0(Attempt, 1);
	a->deps = *deps;
	a->user = g_strdup(who->user);
	a->role = g_strdup(who->role);
	a->who = (AuditActor){ a->user, a->role };
	a->id = id;
	a->modality = modality;
	a->position = position;
	a->done = done;
	a->data = data;
	return a;
}

void
enroll_capture(const EnrollDeps *deps, const AuditActor *who, gint64 id, EnrollModality modality,
	       int position, EnrollCaptureDone done, void *data)
{
	Attempt *a = attempt_new(deps, who, id, modality, position, done, data);
	GError *e = NULL;
	if (attempt_prepare(a, &e) < 0) {
		attempt_fail(a, e);
		g_error_free(e);
		return;
	}
	/* The first device of the class that can work: ready, or degraded. */
	g_autoptr(GPtrArray) devs = hal_manager_list(deps->hal);
	const HalInfo *pick = NULL;
	int of_class = 0;
	for (guint i = 0; i < devs->len; i++) {
		const HalInfo *d = g_ptr_array_index(devs, i);
		if (d->klass != modality_class[modality])
			continue;
		of_class++;
		if (!pick && (d->state == HAL_STATE_READY || d->state == HAL_STATE_DEGRADED ||
			      d->state == HAL_STATE_BUSY))
			pick = d;
	}
	if (!pick) {
		if (of_class)
			g_set_error(&e, ENROLL_ERROR, ENROLL_ERROR_NO_DEVICE,
				    "no %s device is ready (%d configured); upload a PNG instead, or "
				    "ask a technician",
				    hal_class_name(modality_class[modality]), of_class);
		else
			g_set_error(&e, ENROLL_ERROR, ENROLL_ERROR_NO_DEVICE,
				    "no %s device is configured; upload a PNG instead",
				    hal_class_name(modality_class[modality]));
		attempt_fail(a, e);
		g_error_free(e);
		return;
	}
	a->device = g_strdup(pick->name);
	hal_manager_capture(deps->hal, pick->name, modality == ENROLL_FACE ? a->backdrop : position,
			    captured, a);
}

void
enroll_upload(const EnrollDeps *deps, const AuditActor *who, gint64 id, EnrollModality modality,
	      int position, GBytes *png, EnrollCaptureDone done, void *data)
{
	Attempt *a = attempt_new(deps, who, id, modality, position, done, data);
	GError *e = NULL;
	if (attempt_prepare(a, &e) < 0) {
		attempt_fail(a, e);
		g_error_free(e);
		return;
	}
	a->upload = TRUE;
	a->png = g_bytes_ref(png);
	a->device = g_strdup("");
	a->driver = g_strdup("");
	a->driver_version = g_strdup("");
	a->serial = g_strdup("");
	attempt_start_work(a);
}

/* ---- exceptions ---- */

static gboolean
in_list(const char *v, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(v, list[i]) == 0)
			return TRUE;
	return FALSE;
}

/* Open session ID inside the caller's transaction; -1 with ERROR when not. */
static int
require_open(Store *st, gint64 id, StoreEnrollment *out, GError **error)
{
	int found = store_enrollment_get(st, id, out, error);
	if (found == 0)
		g_set_error(error, ENROLL_ERROR, ENROLL_ERROR_NOT_FOUND,
			    "no enrollment %" G_GINT64_FORMAT, id);
	if (found <= 0)
		return -1;
	if (strcmp(out->state, "open") != 0) {
		g_set_error(error, ENROLL_ERROR, ENROLL_ERROR_CONFLICT,
			    "enrollment %" G_GINT64_FORMAT " is %s", id, out->state);
		return -1;
	}
	return 0;
}

int
enroll_exception(const EnrollDeps *deps, const AuditActor *who, gint64 id,
		 EnrollModality modality, int position, const char *kind, const char *reason,
		 GError **error)
{
	static const char *const kinds[] = { "missing", "amputated", "bandaged", "other", NULL };
	if (modality != ENROLL_FINGER && modality != ENROLL_IRIS) {
		g_set_error(error, ENROLL_ERROR, ENROLL_ERROR_INVALID,
			    "field 'modality': exceptions are for a finger or an eye, not '%s'",
			    enroll_modality_name(modality));
		return -1;
	}
	if (!enroll_position_valid(modality, position)) {
		g_set_error(error, ENROLL_ERROR, ENROLL_ERROR_INVALID,
			    "field 'position': %d is not a %s position", position,
			    modality_names[modality]);
		return -1;
	}
	if (!in_list(kind, kinds)) {
		g_set_error(error, ENROLL_ERROR, ENROLL_ERROR_INVALID,
			    "field 'kind': '%s' is not missing, amputated, bandaged or other", kind);
		return -1;
	}
	g_autofree char *r = g_strstrip(g_strdup(reason));
	if (!*r) {
		g_set_error(error, ENROLL_ERROR, ENROLL_ERROR_INVALID,
			    "field 'reason': an exception needs a reason");
		return -1;
	}
	Store *st = deps->store;
	gint64 now = now_s();
	StoreEnrollment e = { 0 };
	g_autofree char *target = g_strdup_printf("%" G_GINT64_FORMAT "/%s/%d", id,
						  modality_names[modality], position);
	g_autofree char *detail = audit_detail("kind", kind, "reason", r, NULL);
	if (store_begin(st, error) < 0)
		return -1;
	if (require_open(st, id, &e, error) < 0)
		goto fail;
	StoreItem it = {
		.modality = (char *)modality_names[modality],
		.position = position,
		.kind = "exception",
		.status = "",
		.algorithm = "",
		.source = "",
		.device = "",
		.driver = "",
		.driver_version = "",
		.serial = "",
		.captured_at = now,
		.exc_kind = (char *)kind,
		.reason = r,
	};
	if (store_item_put(st, id, &it, error) < 0 ||
	    audit_append(st, who, "enroll.exception", target, "ok", detail, now, error) < 0 ||
	    store_commit(st, error) < 0)
		goto fail;
	store_enrollment_clear(&e);
	return 0;
fail:
	store_rollback(st);
	store_enrollment_clear(&e);
	return -1;
}

/* ---- commit ---- */

GArray *
enroll_missing(Store *st, gint64 id, GError **error)
{
	g_autoptr(GPtrArray) items = store_item_list(st, id, FALSE, error);
	if (!items)
		return NULL;
	GArray *missing = g_array_new(FALSE, FALSE, sizeof(EnrollSlot));
	for (int m = 0; m < ENROLL_N_MODALITIES; m++) {
		for (int p = 0; p <= 10; p++) {
			if (!enroll_position_valid(m, p))
				continue;
			gboolean have = FALSE;
			for (guint i = 0; i < items->len && !have; i++) {
				const StoreItem *it = g_ptr_array_index(items, i);
				have = it->position == p && strcmp(it->modality, modality_names[m]) == 0;
			}
			if (!have) {
				EnrollSlot s = { m, p };
				g_array_append_val(missing, s);
			}
		}
	}
	return missing;
}

void
enroll_commit_clear(EnrollCommit *c)
{
	if (c->needs_approval)
		g_ptr_array_unref(c->needs_approval);
	if (c->missing)
		g_array_unref(c->missing);
	memset(c, 0, sizeof *c);
}

int
enroll_commit(const EnrollDeps *deps, const AuditActor *who, gint64 id, EnrollCommit *out,
	      GError **error)
{
	Store *st = deps->store;
	gint64 now = now_s();
	StoreEnrollment e = { 0 };
	g_autoptr(GPtrArray) items = NULL;
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) needs_node = NULL;
	g_autofree char *needs = NULL, *village = NULL, *target = NULL, *detail = NULL;
	memset(out, 0, sizeof *out);
	out->needs_approval = g_ptr_array_new();
	if (store_begin(st, error) < 0)
		return -1;
	if (require_open(st, id, &e, error) < 0)
		goto fail;
	out->missing = enroll_missing(st, id, error);
	if (!out->missing)
		goto fail;
	if (out->missing->len > 0) {
		g_set_error(error, ENROLL_ERROR, ENROLL_ERROR_INCOMPLETE,
			    "enrollment %" G_GINT64_FORMAT " lacks %u position%s (neither captured "
			    "nor recorded as an exception)",
			    id, out->missing->len, out->missing->len == 1 ? "" : "s");
		goto fail;
	}
	items = store_item_list(st, id, FALSE, error);
	if (!items)
		goto fail;
	gboolean forced = FALSE, exception = FALSE;
	for (guint i = 0; i < items->len; i++) {
		const StoreItem *it = g_ptr_array_index(items, i);
		forced |= strcmp(it->kind, "capture") == 0 && strcmp(it->status, "accepted") != 0;
		exception |= strcmp(it->kind, "exception") == 0;
	}
	if (forced)
		g_ptr_array_add(out->needs_approval, "forced-capture");
	if (exception)
		g_ptr_array_add(out->needs_approval, "exception");
	if (strcmp(e.warnings, "[]") != 0)
		g_ptr_array_add(out->needs_approval, "nik-warning");
	gint64 replaces = 0;
	if (e.reenroll) {
		g_ptr_array_add(out->needs_approval, "reenroll");
		replaces = store_record_active_for_nik(st, e.nik, id, error);
		if (replaces < 0)
			goto fail;
	} else {
		gint64 active = store_record_active_for_nik(st, e.nik, id, error);
		if (active != 0) {
			if (active > 0)
				g_set_error(error, ENROLL_ERROR, ENROLL_ERROR_CONFLICT,
					    "NIK %s got record %" G_GINT64_FORMAT
					    " meanwhile; this one would be a re-enrollment",
					    e.nik, active);
			goto fail;
		}
	}
	char day[11];
	today(day);
	g_strlcpy(out->print_ready_after, e.print_ready_after, sizeof out->print_ready_after);
	out->state = out->needs_approval->len > 0		      ? "captured"
		     : *e.print_ready_after && strcmp(e.print_ready_after, day) > 0 ? "approved"
										    : "print_ready";
	json_builder_begin_array(b);
	for (guint i = 0; i < out->needs_approval->len; i++)
		json_builder_add_string_value(b, g_ptr_array_index(out->needs_approval, i));
	json_builder_end_array(b);
	needs_node = json_builder_get_root(b);
	needs = json_to_string(needs_node, FALSE);
	village = json_member(e.demographics, "village_code");
	StoreRecord r = {
		.id = id,
		.state = (char *)out->state,
		.nik = e.nik,
		.name = e.name,
		.village_code = village,
		.demographics = e.demographics,
		.warnings = e.warnings,
		.needs_approval = needs,
		.operator_name = e.operator_name,
		.created_at = now,
		.approved_by = out->needs_approval->len ? NULL : "",
		.print_ready_after = e.print_ready_after,
		.replaces = replaces,
		.wrapped_key = e.wrapped_key,
	};
	target = g_strdup_printf("%" G_GINT64_FORMAT, id);
	detail = audit_detail("state", out->state, "needs_approval", needs, NULL);
	if (store_record_insert(st, &r, error) < 0 ||
	    store_enrollment_set_state(st, id, "committed", now, error) < 0 ||
	    audit_append(st, who, "enroll.commit", target, "ok", detail, now, error) < 0 ||
	    store_commit(st, error) < 0)
		goto fail;
	out->record_id = id;
	store_enrollment_clear(&e);
	return 0;
fail:
	store_rollback(st);
	store_enrollment_clear(&e);
	return -1;
}

int
enroll_abandon(const EnrollDeps *deps, const AuditActor *who, gint64 id, GError **error)
{
	Store *st = deps->store;
	gint64 now = now_s();
	StoreEnrollment e = { 0 };
	if (store_begin(st, error) < 0)
		return -1;
	g_autofree char *target = g_strdup_printf("%" G_GINT64_FORMAT, id);
	if (require_open(st, id, &e, error) < 0 || store_item_delete_all(st, id, error) < 0 ||
	    store_enrollment_set_state(st, id, "abandoned", now, error) < 0 ||
	    audit_append(st, who, "enroll.abandon", target, "ok", NULL, now, error) < 0 ||
	    store_commit(st, error) < 0) {
		store_rollback(st);
		store_enrollment_clear(&e);
		return -1;
	}
	store_enrollment_clear(&e);
	return 0;
}

/* ---- supervisor decisions ---- */

const char *
enroll_decide(const EnrollDeps *deps, const AuditActor *who, gint64 id, const char *decision,
	      const char *reason, GError **error)
{
	Store *st = deps->store;
	gint64 now = now_s();
	StoreRecord r = { 0 };
	const char *to = NULL;
	gboolean approve = strcmp(decision, "approve") == 0;
	g_autofree char *why = g_strstrip(g_strdup(reason ? reason : ""));
	g_autofree char *target = g_strdup_printf("%" G_GINT64_FORMAT, id);
	g_autofree char *action = g_strdup_printf("record.%s", decision);
	g_autofree char *detail = NULL;
	if (!approve && !*why) {
		g_set_error(error, ENROLL_ERROR, ENROLL_ERROR_INVALID,
			    "field 'reason': a %s needs a reason", decision);
		return NULL;
	}
	if (store_begin(st, error) < 0)
		return NULL;
	int found = store_record_get(st, id, &r, error);
	if (found == 0)
		g_set_error(error, ENROLL_ERROR, ENROLL_ERROR_NOT_FOUND,
			    "no record %" G_GINT64_FORMAT, id);
	if (found <= 0)
		goto fail;
	static const struct {
		const char *decision;
		const char *from[5];
		const char *to;
	} moves[] = {
		{ "approve", { "captured", "on_hold" }, "approved" },
		{ "reject", { "captured", "on_hold", "approved", "print_ready" }, "rejected" },
		{ "hold", { "captured", "approved", "print_ready" }, "on_hold" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(moves) && !to; i++) {
		if (strcmp(moves[i].decision, decision) != 0)
			continue;
		for (int k = 0; moves[i].from[k]; k++)
			if (strcmp(moves[i].from[k], r.state) == 0)
				to = moves[i].to;
		if (!to) {
			g_set_error(error, ENROLL_ERROR, ENROLL_ERROR_CONFLICT,
				    "record %" G_GINT64_FORMAT " is %s; it cannot be %s", id, r.state,
				    approve ? "approved" : strcmp(decision, "reject") == 0 ? "rejected"
											 : "held");
			goto fail;
		}
	}
	if (!to) {
		g_set_error(error, ENROLL_ERROR, ENROLL_ERROR_INVALID, "no decision '%s'", decision);
		goto fail;
	}
	char day[11];
	today(day);
	if (approve && (!*r.print_ready_after || strcmp(r.print_ready_after, day) <= 0))
		to = "print_ready";
	detail = audit_detail("from", r.state, "to", to, "reason", why, NULL);
	if (store_record_set_state(st, id, to, why, approve ? who->user : NULL, now, error) < 0)
		goto fail;
	/* An approved re-enrollment retires the record it replaces. */
	if (approve && r.replaces &&
	    store_record_set_state(st, r.replaces, "superseded", "re-enrolled as a newer record",
				   NULL, now, error) < 0)
		goto fail;
	if (audit_append(st, who, action, target, "ok", detail, now, error) < 0 ||
	    store_commit(st, error) < 0)
		goto fail;
	store_record_clear(&r);
	return to;
fail:
	store_rollback(st);
	store_record_clear(&r);
	return NULL;
}

int
enroll_promote(const EnrollDeps *deps, GError **error)
{
	char day[11];
	today(day);
	return store_record_promote(deps->store, day, now_s(), error);
}

GBytes *
enroll_open_image(const EnrollDeps *deps, const StoreRecord *rec, const StoreItem *item,
		  GError **error)
{
	int m = enroll_modality_parse(item->modality);
	if (m < 0 || !item->sealed) {
		g_set_error(error, ENROLL_ERROR, ENROLL_ERROR_SEALED, "record %" G_GINT64_FORMAT
			    ": %s %d holds no image", rec->id, item->modality, item->position);
		return NULL;
	}
	uint8_t key[CRYPTO_KEY_LEN];
	if (unwrap(deps, rec->id, rec->wrapped_key, key, error) < 0)
		return NULL;
	g_autofree char *ad = blob_ad(rec->id, m, item->position);
	gsize n = 0;
	const void *p = g_bytes_get_data(item->sealed, &n);
	GBytes *png = crypto_aead_open(key, p, n, ad, strlen(ad), error);
	crypto_wipe(key, sizeof key);
	if (!png) {
		g_prefix_error(error, "record %" G_GINT64_FORMAT ": %s %d: ", rec->id,
			       item->modality, item->position);
		(*error)->domain = ENROLL_ERROR;
		(*error)->code = ENROLL_ERROR_SEALED;
	}
	return png;
}
