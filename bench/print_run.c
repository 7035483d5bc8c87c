/* SPDX-License-Identifier: MIT */
/*
 * print_run CONF CARDS: the measuring half of bench/print.
 *
 * CONF is the configuration of a state directory whose print_ready records
 * bench/print enrolled with ektpd (now stopped), and whose printers are
 * emulators.  print_run opens that state as ektpd would (the store, the
 * workstation key, the region tables, the card layout, the test signer, the
 * device manager) and starts the print engine, the same code ektpd runs, on
 * one batch of CARDS cards: the print_ready records in turn, as many times
 * each as it takes (a bench shortcut: enrolling 500 residents first would
 * take longer than printing them, and a card costs the same whoever is on it).
 *
 * It prints, as "key value" lines for the script: wall_ms (batch start to its
 * end), done, spoiled, and per printer NAME.printed, NAME.build_ms (the mean
 * time to build a card: images decoded, face rendered, templates made, chip
 * signed; done in a worker thread ahead of the printer) and NAME.encode_ms.
 * Exit 0 when every card printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/printing.h"
#include "core/region.h"
#include "crypto/crypto.h"
#include "hal/manager.h"
#include "store/store.h"
#include "util/config.h"

typedef struct {
	Store *store;
	gint64 batch;
	gint64 t0;
	gint64 wall_us;
	GMainLoop *loop;
} Run;

static void
ignore_state(const HalInfo *now, HalState before, void *data)
{
	(void)now;
	(void)before;
	(void)data;
}

static gboolean
check_done(gpointer data)
{
	Run *r = data;
	StorePrintBatch *b = NULL;
	if (store_print_batch_get(r->store, r->batch, &b, NULL) == 1 &&
	    strcmp(b->state, "running")) {
		r->wall_us = g_get_monotonic_time() - r->t0;
		g_main_loop_quit(r->loop);
	}
	store_print_batch_free(b);
	return G_SOURCE_CONTINUE;
}

/* A batch of N cards over the print_ready records, each repeated in turn. */
static gint64
make_batch(Store *st, int n, GError **error)
{
	StoreRecordFilter f = { .state = "print_ready", .limit = -1 };
	g_autoptr(GPtrArray) recs = store_record_list(st, &f, error);
	if (!recs)
		return -1;
	if (recs->len == 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "no print_ready record");
		return -1;
	}
	g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(gint64));
	for (guint i = 0; i < recs->len; i++)
		g_array_append_val(ids, ((StoreRecord *)recs->pdata[i])->id);
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	guint made = 0;
	if (store_begin(st, error) < 0)
		return -1;
	gint64 batch = store_print_batch_add(st, "", "bench", (const gint64 *)ids->data,
					     MIN(ids->len, (guint)n), now, &made, error);
	for (int i = (int)made; batch > 0 && i < n; i++)
		if (store_print_card_add(st, batch, g_array_index(ids, gint64, i % ids->len), now,
					 error) < 0)
			batch = -1;
	if (batch < 0 || store_commit(st, error) < 0) {
		store_rollback(st);
		return -1;
	}
	return batch;
}

/* The figures, as "key value" lines. */
static void
report(Store *st, PrintEngine *pe, const Run *r)
{
	StorePrintBatch *b = NULL;
	store_print_batch_get(st, r->batch, &b, NULL);
	printf("wall_ms %.1f\ndone %" G_GINT64_FORMAT "\nspoiled %" G_GINT64_FORMAT "\n",
	       (double)r->wall_us / 1000.0, b ? b->done : 0, b ? b->spoiled : 0);
	store_print_batch_free(b);
	g_autoptr(GPtrArray) lanes = print_lanes(pe);
	for (guint i = 0; i < lanes->len; i++) {
		const PrintLaneView *v = lanes->pdata[i];
		printf("%s.printed %" G_GINT64_FORMAT "\n%s.build_ms %.1f\n%s.encode_ms %.2f\n",
		       v->name, v->printed, v->name, v->build_ms, v->name, v->encode_ms);
	}
}

static void
quiet(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
	(void)domain;
	(void)data;
	if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
		fprintf(stderr, "print_run: %s\n", message);
}

/* Opens the state as ektpd would and prints the batch; 0 all printed, 1 not,
 * -1 with ERROR. */
static int
bench(const char *conf, int n, GError **e)
{
	g_autoptr(EktpConfig) cfg = cfg_load(conf, NULL, e);
	if (!cfg)
		return -1;
	Store *st = store_open(cfg->database, e);
	if (!st)
		return -1;
	uint8_t key[CRYPTO_KEY_LEN];
	gboolean created = FALSE;
	g_autofree char *pki = g_build_filename(cfg->state_dir, "test-pki", NULL);
	g_autofree char *cert = g_build_filename(pki, CRYPTO_TEST_DS_CERT, NULL);
	g_autofree char *skey = g_build_filename(pki, CRYPTO_TEST_DS_KEY, NULL);
	RegionDb *regions = NULL;
	CardLayout *layout = NULL;
	CryptoSigner *signer = NULL;
	HalManager *hal = NULL;
	PrintEngine *pe = NULL;
	Stock *stock = NULL;
	int rc = -1;
	Run r = { st, 0, 0, 0, g_main_loop_new(NULL, FALSE) };
	if (crypto_keyfile_load_or_create(cfg->enroll_key_file, key, &created, e) < 0 ||
	    !(regions = region_db_load(cfg->enroll_region_data, e)) ||
	    !(layout = card_layout_load(cfg->card_layout, e)) ||
	    !(signer = crypto_signer_load(cert, skey, e)) ||
	    !(hal = hal_manager_new(cfg, ignore_state, NULL, e)))
		goto out;
	CardsDeps deps = { { st, hal, cfg, regions, key }, layout, signer, NULL };
	if (!(stock = stock_new(cfg, st, hal, e)) || !(pe = print_engine_new(&deps, stock, e)))
		goto out;
	/* Let the manager open the printers before the clock starts. */
	gint64 until = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
	while (g_get_monotonic_time() < until) {
		g_main_context_iteration(NULL, FALSE);
		g_usleep(10000);
	}
	r.batch = make_batch(st, n, e);
	if (r.batch < 0)
		goto out;
	r.t0 = g_get_monotonic_time();
	g_timeout_add(20, check_done, &r);
	g_main_loop_run(r.loop);
	report(st, pe, &r);
	StorePrintBatch *b = NULL;
	store_print_batch_get(st, r.batch, &b, NULL);
	rc = b && b->done == n ? 0 : 1;
	store_print_batch_free(b);
out:
	print_engine_stop(pe);
	hal_manager_free(hal);
	print_engine_free(pe);
	stock_free(stock);
	crypto_signer_free(signer);
	card_layout_free(layout);
	region_db_free(regions);
	store_close(st);
	g_main_loop_unref(r.loop);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc != 3 || atoi(argv[2]) < 1) {
		fprintf(stderr, "usage: print_run CONF CARDS\n");
		return 2;
	}
	g_log_set_default_handler(quiet, NULL);
	GError *e = NULL;
	int rc = bench(argv[1], atoi(argv[2]), &e);
	if (rc < 0) {
		fprintf(stderr, "print_run: %s\n", e ? e->message : "failed");
		g_clear_error(&e);
		return 2;
	}
	return rc;
}
