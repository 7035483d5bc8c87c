/* SPDX-License-Identifier: MIT */
/*
 * enroll_commit DIR RECORDS REGION_DATA: the measuring half of bench/enroll.
 *
 * In DIR (on the disk under test) it enrolls RECORDS realistic residents
 * through the enrollment core as the daemon does: 10 fingerprints of 400x500,
 * 2 irises of 640x480, a 600x800 colour photo and a signature, each uploaded
 * as PNG (scored, sealed and stored in its own durable transaction), then
 * committed.  Three figures, each beside a baseline from the same run and the
 * same folder:
 *
 *   storage   the durable part alone: the 14 capture transactions (the same
 *             store calls a capture makes, with sealed blobs of the real
 *             sizes) and the commit transaction, against 15 pairs of
 *             write()+fdatasync() of the same sizes.  The target: at most 1.5.
 *   commit    the commit transaction, against one write()+fdatasync() of the
 *             record's demographics and metadata.
 *   pipeline  the whole path as an operator waits for it (PNG decoding,
 *             scoring, sealing, storing; 14 captures and the commit), against
 *             the storage baseline, to show where the time goes.
 *
 * Prints records/s, p50 and p99 of each; exits 1 when the storage ratio of
 * the p50s is over 1.5.
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/enroll.h"
#include "drivers/sim/synth.h"
#include "image/image.h"

#define TARGET_RATIO 1.5

typedef struct {
	GMainLoop *loop;
	gboolean ok;
} Wait;

static void
uploaded(const EnrollCaptureResult *r, GError *error, void *data)
{
	(void)r;
	Wait *w = data;
	w->ok = !error;
	if (error)
		fprintf(stderr, "enroll_commit: upload: %s\n", error->message);
	g_main_loop_quit(w->loop);
}

static GBytes *
png_of(HalImage *h)
{
	Image img = { h->width, h->height, h->channels, h->ppi, h->pixels };
	GError *e = NULL;
	GBytes *png = image_png_encode(&img, &e);
	if (!png) {
		fprintf(stderr, "enroll_commit: %s\n", e->message);
		exit(2);
	}
	g_free(h->pixels);
	return png;
}

/* A 600x800 portrait: the simulator's 480x640 one, scaled (nearest). */
static GBytes *
face_600x800(void)
{
	HalImage small = { 0 };
	synth_face(7, 0x0090ff, 0.92, &small);
	HalImage big = { 600, 800, 3, 0, g_malloc(600 * 800 * 3), 0 };
	for (int y = 0; y < 800; y++)
		for (int x = 0; x < 600; x++)
			memcpy(big.pixels + ((size_t)y * 600 + (size_t)x) * 3,
			       small.pixels + ((size_t)(y * 640 / 800) * 480 + (size_t)(x * 480 / 600)) * 3,
			       3);
	g_free(small.pixels);
	return png_of(&big);
}

static void
quiet(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
	(void)domain, (void)level, (void)message, (void)data;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double
pct(double *v, int n, double p)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	int i = (int)ceil(p * n) - 1;
	return v[CLAMP(i, 0, n - 1)];
}

static double
now_ms(void)
{
	return (double)g_get_monotonic_time() / 1000.0;
}

/* write()+fdatasync() of N bytes to a new file in DIR; returns ms. */
static double
raw_write(const char *dir, int k, const void *buf, size_t n)
{
	g_autofree char *path = g_strdup_printf("%s/raw-%d", dir, k);
	double t0 = now_ms();
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, buf, n) != (ssize_t)n || fdatasync(fd) < 0) {
		perror("enroll_commit: raw write");
		exit(2);
	}
	close(fd);
	double t = now_ms() - t0;
	unlink(path);
	return t;
}

int
main(int argc, char **argv)
{
	if (argc != 4 || atoi(argv[2]) < 1) {
		fprintf(stderr, "usage: enroll_commit DIR RECORDS REGION_DATA\n");
		return 2;
	}
	const char *dir = argv[1];
	int n = atoi(argv[2]);
	GError *e = NULL;
	g_log_set_handler(NULL, G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG, quiet,
			  NULL);
	g_autoptr(RegionDb) regions = region_db_load(argv[3], &e);
	g_autofree char *dbpath = g_build_filename(dir, "bench.db", NULL);
	Store *st = regions ? store_open(dbpath, &e) : NULL;
	if (!st) {
		fprintf(stderr, "enroll_commit: %s\n", e->message);
		return 2;
	}
	EktpConfig *cfg = cfg_load(NULL, dir, &e);
	uint8_t key[CRYPTO_KEY_LEN];
	crypto_random(key, sizeof key);
	EnrollDeps deps = { st, NULL, cfg, regions, key };
	AuditActor who = { "bench", "operator" };

	/* The images, encoded once. */
	GBytes *png[14];
	int slot_mod[14], slot_pos[14];
	for (int p = 1; p <= 10; p++) {
		HalImage h = { 0 };
		synth_fingerprint((guint32)p, p, 0.92, &h, NULL);
		png[p - 1] = png_of(&h);
		slot_mod[p - 1] = ENROLL_FINGER, slot_pos[p - 1] = p;
	}
	for (int eye = 1; eye <= 2; eye++) {
		HalImage h = { 0 };
		synth_iris((guint32)eye, eye, 0.92, &h, NULL);
		png[9 + eye] = png_of(&h);
		slot_mod[9 + eye] = ENROLL_IRIS, slot_pos[9 + eye] = eye;
	}
	png[12] = face_600x800();
	slot_mod[12] = ENROLL_FACE, slot_pos[12] = 0;
	HalImage sig = { 0 };
	synth_signature(9, &sig);
	png[13] = png_of(&sig);
	slot_mod[13] = ENROLL_SIGNATURE, slot_pos[13] = 0;
	size_t sealed[15], record_bytes = 0;
	for (int i = 0; i < 14; i++) {
		sealed[i] = g_bytes_get_size(png[i]) + CRYPTO_AEAD_OVERHEAD;
		record_bytes += sealed[i];
	}
	sealed[14] = 2048; /* the commit: a record row (demographics, metadata) and an audit row */
	g_autofree char *buf = g_malloc(record_bytes);
	crypto_random(buf, record_bytes); /* incompressible, like sealed data */

	double *store_ms = g_new(double, n), *store_raw = g_new(double, n);
	double *commit = g_new(double, n), *commit_raw = g_new(double, n);
	double *pipe = g_new(double, n);
	GMainLoop *loop = g_main_loop_new(NULL, FALSE);
	for (int r = 0; r < 2 * n; r++) {
		/* Even runs: the pipeline through enroll_upload; odd runs: the
		 * storage transactions alone, with blobs of the sealed sizes. */
		gboolean storage_only = r % 2;
		int k = r / 2;
		char nik[17];
		g_snprintf(nik, sizeof nik, "617201120390%04d", r + 1);
		EnrollDemographics d = {
			.nik = nik, .kk = "6172010101100001", .name = "BUDI SANTOSO",
			.birth_place = "SINGKAWANG", .birth_date = "1990-03-12", .gender = "LAKI-LAKI",
			.blood_type = "O", .religion = "ISLAM", .marital_status = "KAWIN",
			.occupation = "WIRASWASTA", .address = "JL. MERDEKA NO. 1", .rt = "001",
			.rw = "002", .village_code = "61.72.01.1001", .citizenship = "WNI",
		};
		ValidateReport *rep = NULL;
		gint64 id = enroll_start(&deps, &who, &d, FALSE, &rep, &e);
		validate_report_free(rep);
		if (id < 0) {
			fprintf(stderr, "enroll_commit: %s\n", e->message);
			return 2;
		}
		double t0 = now_ms();
		for (int i = 0; i < 14; i++) {
			if (storage_only) {
				/* What attempt_store() does: look up the best so far, write
				 * the item and its audit row, commit. */
				g_autoptr(GBytes) blob = g_bytes_new(buf, sealed[i]);
				StoreItem *old = NULL, it = {
					.modality = (char *)enroll_modality_name(slot_mod[i]),
					.position = slot_pos[i], .kind = "capture", .status = "accepted",
					.quality = 90, .threshold = 40, .algorithm = "bench", .attempts = 1,
					.source = "upload", .device = "", .driver = "", .driver_version = "",
					.serial = "", .width = 1, .height = 1, .channels = 1,
					.captured_at = 1, .sealed = blob, .exc_kind = "", .reason = "",
				};
				if (store_begin(st, &e) < 0 ||
				    store_item_get(st, id, it.modality, it.position, &old, &e) < 0 ||
				    store_item_put(st, id, &it, &e) < 0 ||
				    audit_append(st, &who, "enroll.capture", nik, "ok", NULL, 1, &e) < 0 ||
				    store_commit(st, &e) < 0) {
					fprintf(stderr, "enroll_commit: %s\n", e->message);
					return 2;
				}
				store_item_free(old);
				continue;
			}
			Wait w = { loop, FALSE };
			enroll_upload(&deps, &who, id, slot_mod[i], slot_pos[i], png[i], uploaded, &w);
			g_main_loop_run(loop);
			if (!w.ok)
				return 2;
		}
		EnrollCommit c;
		double t1 = now_ms();
		if (enroll_commit(&deps, &who, id, &c, &e) < 0) {
			fprintf(stderr, "enroll_commit: %s\n", e->message);
			return 2;
		}
		double t2 = now_ms();
		enroll_commit_clear(&c);
		if (storage_only) {
			store_ms[k] = t2 - t0;
			commit[k] = t2 - t1;
			store_raw[k] = 0;
			for (int i = 0; i < 15; i++)
				store_raw[k] += raw_write(dir, i, buf, sealed[i]);
			commit_raw[k] = raw_write(dir, 0, buf, sealed[14]);
		} else {
			pipe[k] = t2 - t0;
		}
		/* The daemon checkpoints when idle; so does this run, untimed. */
		if (store_checkpoint(st, &e) < 0) {
			fprintf(stderr, "enroll_commit: %s\n", e->message);
			return 2;
		}
	}
	double s50 = pct(store_ms, n, 0.5), s99 = pct(store_ms, n, 0.99);
	double b50 = pct(store_raw, n, 0.5), b99 = pct(store_raw, n, 0.99);
	double c50 = pct(commit, n, 0.5), c99 = pct(commit, n, 0.99);
	double cr50 = pct(commit_raw, n, 0.5), cr99 = pct(commit_raw, n, 0.99);
	double p50 = pct(pipe, n, 0.5), p99 = pct(pipe, n, 0.99);
	double ratio = s50 / b50;
	printf("record: 10 fingerprints 400x500, 2 irises 640x480, face 600x800 RGB, signature: "
	       "%.2f MB sealed; %d records each way\n",
	       (double)record_bytes / 1e6, n);
	printf("storage (14 captures + commit)  %6.1f records/s  p50 %7.2f ms  p99 %7.2f ms\n",
	       1000.0 / s50, s50, s99);
	printf("  baseline 15 x write+fdatasync %6.1f records/s  p50 %7.2f ms  p99 %7.2f ms  "
	       "ratio %.2f (target <= %.1f)\n",
	       1000.0 / b50, b50, b99, ratio, TARGET_RATIO);
	printf("commit transaction              %6.1f /s         p50 %7.2f ms  p99 %7.2f ms\n",
	       1000.0 / c50, c50, c99);
	printf("  baseline write+fdatasync %4zu B %6.1f /s         p50 %7.2f ms  p99 %7.2f ms  "
	       "ratio %.2f\n",
	       sealed[14], 1000.0 / cr50, cr50, cr99, c50 / cr50);
	printf("pipeline (decode, score, seal, store; commit) %4.1f records/s  p50 %7.2f ms  "
	       "p99 %7.2f ms\n  against the storage baseline: ratio %.1f (CPU work, not I/O)\n",
	       1000.0 / p50, p50, p99, p50 / b50);
	g_main_loop_unref(loop);
	for (int i = 0; i < 14; i++)
		g_bytes_unref(png[i]);
	store_close(st);
	cfg_free(cfg);
	return ratio <= TARGET_RATIO ? 0 : 1;
}
