/* SPDX-License-Identifier: MIT */
/*
 * evo_drive: drives the Evolis printer driver the way ektpd does, through the
 * device manager's public API (hal_manager_new on a configuration with one
 * [device p] section, hal_manager_card_move, hal_manager_card_print,
 * hal_manager_clean, hal_manager_refresh), for tests/regress/t_evolis.sh.
 * The driver's options come from the command line, so the manager checks
 * them as it checks ektpd.conf.
 *
 *   evo_drive [OPTIONS] STEP…
 *   -u URI      the uri option (required): tcp://HOST:PORT, usb, usb://VID:PID[/SERIAL]
 *   -T MS       the io_timeout option       -r TYPE  the ribbon option
 *   -t MS       the device's timeout (the manager's, per operation; default 120000)
 *   -p MS       poll_interval (default 3600000: no status polls between steps)
 * Steps, run in order (a failed step does not stop the others):
 *   status          read the status now; prints "state …", "reasons …",
 *                   "counters total=… since_clean=… remaining=… threshold=…
 *                   finished=… card_inside=…", "serial …", "firmware …"
 *   feed eject reject   move a card (Sic, Se, Ser)
 *   print:FILE.png  print a 1016x648 RGB PNG on the card inside
 *   print:test      print a generated test card
 *   clean           the cleaning cycle
 *   sleep:MS        let the manager run (and poll) for MS ms
 *   wait:STATE[:MS] let the manager run until the device is STATE (absent,
 *                   ready, degraded, fault), at most MS ms (default 10000)
 *   run:COMMAND     run a shell command (e.g. the emulator's control client to
 *                   inject a fault between two steps); fails when it does
 * Prints "STEP: ok" or "STEP: error REASON: message" (a printer's refusal,
 * whose message starts with its reason) or "STEP: error CODE: message" (any
 * other failure; CODE as HalErrorCode: TIMEOUT, ABSENT, …) per step.  Exit
 * status 0 when every step succeeded, 1 when one failed, 2 on bad usage or
 * configuration.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/evolis/evolis.h"
#include "hal/manager.h"
#include "hal/registry.h"
#include "image/image.h"
#include "tests/halwait.h"

#define DEV "p"


static void
print_info(HalManager *m)
{
	HalInfo *i = hal_manager_get(m, DEV);
	g_autofree char *reasons = g_strjoinv(",", i->reasons);
	printf("state %s\nreasons %s\n", hal_state_name(i->state), reasons);
	printf("counters total=%" G_GINT64_FORMAT " since_clean=%" G_GINT64_FORMAT
	       " remaining=%" G_GINT64_FORMAT " threshold=%" G_GINT64_FORMAT
	       " finished=%" G_GINT64_FORMAT " card_inside=%d\n",
	       (gint64)i->counter_total, (gint64)i->counter_since_clean,
	       (gint64)i->supply_remaining, (gint64)i->clean_threshold, (gint64)i->cards_finished,
	       i->card_inside);
	printf("serial %s\nfirmware %s\nerror %s\n", i->serial ? i->serial : "",
	       i->firmware ? i->firmware : "", i->last_error ? i->last_error : "");
	hal_info_free(i);
}

static void
spin(gint64 ms)
{
	gint64 end = g_get_monotonic_time() + ms * 1000;
	while (g_get_monotonic_time() < end) {
		g_main_context_iteration(NULL, FALSE);
		g_usleep(2000);
	}
}

/* A test card: colour gradients, resin-black bars and text-like blocks, the
 * chip's place left bare of overlay.  Pixels owned by the caller. */
static void
test_card(HalCardSide *side)
{
	uint8_t *rgb = g_malloc((gsize)HAL_CARD_W * HAL_CARD_H * 3);
	uint8_t *black = g_malloc0((gsize)HAL_CARD_W * HAL_CARD_H);
	for (int y = 0; y < HAL_CARD_H; y++) {
		for (int x = 0; x < HAL_CARD_W; x++) {
			uint8_t *p = rgb + ((size_t)y * HAL_CARD_W + x) * 3;
			p[0] = (uint8_t)(x * 255 / (HAL_CARD_W - 1));
			p[1] = (uint8_t)(y * 255 / (HAL_CARD_H - 1));
			p[2] = (uint8_t)(255 - (x + y) * 255 / (HAL_CARD_W + HAL_CARD_H - 2));
			if (y > 560 && y < 600 && x > 60 && x < 960 && (x / 12) % 3 != 2)
				black[(size_t)y * HAL_CARD_W + x] = 1;
		}
	}
	memset(side, 0, sizeof *side);
	side->rgb = rgb;
	side->black = black;
	side->clear_x = 80, side->clear_y = 200, side->clear_w = 140, side->clear_h = 110;
}

/* SIDE from a 1016x648 RGB PNG at PATH; -1 with a message on stdout. */
static int
png_card(const char *path, HalCardSide *side)
{
	g_autofree char *data = NULL;
	gsize len;
	GError *e = NULL;
	if (!g_file_get_contents(path, &data, &len, &e)) {
		printf("print:%s: error FAILED: %s\n", path, e->message);
		g_error_free(e);
		return -1;
	}
	ImageLimits lim = {.channels = 3,
			   .min_width = HAL_CARD_W,
			   .max_width = HAL_CARD_W,
			   .min_height = HAL_CARD_H,
			   .max_height = HAL_CARD_H,
			   .max_bytes = (size_t)HAL_CARD_W * HAL_CARD_H * 3};
	Image img;
	if (image_png_decode(data, len, &lim, &img, &e) < 0) {
		printf("print:%s: error FAILED: %s (a %dx%d RGB PNG is needed)\n", path, e->message,
		       HAL_CARD_W, HAL_CARD_H);
		g_error_free(e);
		return -1;
	}
	memset(side, 0, sizeof *side);
	side->rgb = img.pixels;
	return 0;
}

static void
report(const char *step, HalWait *r, int *rc)
{
	if (!r->error) {
		printf("%s: ok\n", step);
		return;
	}
	if (g_error_matches(r->error, HAL_ERROR, HAL_ERROR_DEVICE))
		printf("%s: error %s\n", step, r->error->message);
	else
		printf("%s: error %s: %s\n", step,
		       r->error->domain == HAL_ERROR ? hal_wait_code_name(r->error->code) : "?",
		       r->error->message);
	g_clear_error(&r->error);
	*rc = 1;
}

static HalState
state_named(const char *s, gboolean *ok)
{
	static const HalState all[] = {HAL_STATE_ABSENT, HAL_STATE_READY, HAL_STATE_BUSY,
				       HAL_STATE_DEGRADED, HAL_STATE_FAULT};
	for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
		if (strcmp(hal_state_name(all[i]), s) == 0) {
			*ok = TRUE;
			return all[i];
		}
	*ok = FALSE;
	return HAL_STATE_ABSENT;
}

/* Runs one step; returns -1 on a step that cannot be understood. */
static int
run_step(HalManager *m, const char *step, int *rc)
{
	HalWait r = {0};
	if (strcmp(step, "status") == 0) {
		hal_manager_refresh(m, DEV, hal_wait_refreshed, &r);
		hal_wait(&r);
		report(step, &r, rc);
		print_info(m);
	} else if (strcmp(step, "feed") == 0 || strcmp(step, "eject") == 0 ||
		   strcmp(step, "reject") == 0) {
		HalCardMove mv = step[0] == 'f'   ? HAL_CARD_FEED
				 : step[0] == 'e' ? HAL_CARD_EJECT
						  : HAL_CARD_REJECT;
		hal_manager_card_move(m, DEV, mv, hal_wait_done, &r);
		hal_wait(&r);
		report(step, &r, rc);
	} else if (g_str_has_prefix(step, "print:")) {
		HalCardSide side;
		const char *what = step + 6;
		if (strcmp(what, "test") == 0)
			test_card(&side);
		else if (png_card(what, &side) < 0) {
			*rc = 1;
			return 0;
		}
		hal_manager_card_print(m, DEV, &side, hal_wait_done, &r);
		g_free((uint8_t *)side.rgb);
		g_free((uint8_t *)side.black);
		hal_wait(&r);
		report(step, &r, rc);
	} else if (strcmp(step, "clean") == 0) {
		hal_manager_clean(m, DEV, hal_wait_done, &r);
		hal_wait(&r);
		report(step, &r, rc);
	} else if (g_str_has_prefix(step, "sleep:")) {
		spin(atoi(step + 6));
		printf("%s: ok\n", step);
	} else if (g_str_has_prefix(step, "wait:")) {
		g_auto(GStrv) f = g_strsplit(step + 5, ":", 2);
		gboolean known;
		HalState want = state_named(f[0], &known);
		if (!known)
			return -1;
		gint64 ms = f[1] ? atoi(f[1]) : 10000;
		gint64 end = g_get_monotonic_time() + ms * 1000;
		HalState now;
		for (;;) {
			g_main_context_iteration(NULL, FALSE);
			HalInfo *i = hal_manager_get(m, DEV);
			now = i->state;
			hal_info_free(i);
			if (now == want || g_get_monotonic_time() > end)
				break;
			g_usleep(2000);
		}
		if (now == want) {
			printf("%s: ok\n", step);
		} else {
			printf("%s: error TIMEOUT: still %s after %" G_GINT64_FORMAT " ms\n", step,
			       hal_state_name(now), ms);
			*rc = 1;
		}
	} else if (g_str_has_prefix(step, "run:")) {
		fflush(stdout);
		int status = system(step + 4);
		if (status == 0) {
			printf("run: ok\n");
		} else {
			printf("run: error FAILED: '%s' exited with status %d\n", step + 4, status);
			*rc = 1;
		}
	} else {
		return -1;
	}
	fflush(stdout);
	return 0;
}

static int
usage(void)
{
	fprintf(stderr, "usage: evo_drive -u URI [-T MS] [-r RIBBON] [-t MS] [-p MS] STEP…\n"
			"  steps: status feed eject reject print:FILE.png print:test clean "
			"sleep:MS wait:STATE[:MS] run:COMMAND\n");
	return 2;
}

int
main(int argc, char **argv)
{
	const char *uri = NULL, *io_timeout = NULL, *ribbon = NULL;
	int timeout = 120000, poll = 3600000;
	int c;
	while ((c = getopt(argc, argv, "u:T:r:t:p:")) != -1) {
		switch (c) {
		case 'u':
			uri = optarg;
			break;
		case 'T':
			io_timeout = optarg;
			break;
		case 'r':
			ribbon = optarg;
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		case 'p':
			poll = atoi(optarg);
			break;
		default:
			return usage();
		}
	}
	if (!uri || optind >= argc)
		return usage();
	/* Until the registry lists it, make the driver known as ektpd will. */
	if (!hal_registry_find(evolis_driver.name))
		hal_manager_add_test_driver(&evolis_driver);

	GString *conf = g_string_new("[device " DEV "]\ndriver = evolis\n");
	g_string_append_printf(conf, "uri = %s\ntimeout = %d\npoll_interval = %d\n", uri, timeout,
			       poll);
	if (io_timeout)
		g_string_append_printf(conf, "io_timeout = %s\n", io_timeout);
	if (ribbon)
		g_string_append_printf(conf, "ribbon = %s\n", ribbon);
	g_autofree char *dir = g_dir_make_tmp("evo-drive-XXXXXX", NULL);
	g_autofree char *conf_path = g_build_filename(dir, "ektpd.conf", NULL);
	g_file_set_contents(conf_path, conf->str, -1, NULL);
	g_string_free(conf, TRUE);
	GError *e = NULL;
	EktpConfig *cfg = cfg_load(conf_path, dir, &e);
	HalManager *m = cfg ? hal_manager_new(cfg, NULL, NULL, &e) : NULL;
	g_unlink(conf_path);
	g_rmdir(dir);
	int rc = 0;
	if (!m) {
		printf("config error: %s\n", e->message);
		g_error_free(e);
		rc = 2;
		goto out;
	}
	/* The manager opens the device at once; wait for that to end. */
	gint64 end = g_get_monotonic_time() + (gint64)(timeout + 1000) * 1000;
	for (;;) {
		g_main_context_iteration(NULL, FALSE);
		HalInfo *i = hal_manager_get(m, DEV);
		gboolean settled = i->state != HAL_STATE_ABSENT || i->last_error;
		hal_info_free(i);
		if (settled || g_get_monotonic_time() > end)
			break;
		g_usleep(1000);
	}
	HalInfo *i = hal_manager_get(m, DEV);
	if (i->last_error)
		printf("open: error %s: %s\n", hal_state_name(i->state), i->last_error);
	else
		printf("open: ok\n");
	hal_info_free(i);
	fflush(stdout);
	for (int k = optind; k < argc; k++) {
		if (run_step(m, argv[k], &rc) < 0) {
			fprintf(stderr, "evo_drive: unknown step '%s'\n", argv[k]);
			rc = 2;
			break;
		}
	}
out:
	if (m)
		hal_manager_free(m);
	if (cfg)
		cfg_free(cfg);
	return rc;
}
