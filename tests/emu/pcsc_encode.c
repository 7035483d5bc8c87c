/* SPDX-License-Identifier: MIT */
/*
 * pcsc_encode: drives the PC/SC encoder driver the way ektpd does, through the
 * device manager's public API (hal_manager_new on a configuration with one
 * [device enc] section, hal_manager_encode, hal_manager_refresh), for
 * tests/regress/t_pcsc.sh.  The driver's options come from the command line,
 * so the manager checks them as it checks ektpd.conf.
 *
 *   pcsc_encode [OPTIONS] FILE…
 *     FILE is FID:SIZE[:SEED] (SIZE repeatable pseudo-random bytes from SEED, default 1)
 *     or FID=PATH (the bytes of PATH)
 *   -r READER   the reader option (default "Virtual PCD 00 00")
 *   -k CHUNK    the chunk option          -T MS   the apdu_timeout option
 *   -x          create_files = false      -P PROTO the protocol option
 *   -t MS       the device's timeout (the manager's, for a whole encode; default 5000)
 *   -p MS       poll_interval (default 3600000: no status polls between encodes)
 *   -a AID      the application id, hex (default A0000002471001, the ICAO LDS)
 *   -o DIR      also write each file's bytes to DIR/FID.bin
 *   -n N        encode N times, printing each time
 *   -w PATH     after the first encode, wait until PATH exists, then encode once more
 *   -s          no encode: print the device's state after a status read
 *   -A MS       after the encodes, let the manager poll for MS ms, then print the state
 * Prints "encode N: ok BYTES bytes in MS ms" or "encode N: error CODE: MESSAGE"
 * per encode and "state STATE", "reasons …", "serial …", "firmware …",
 * "error …" for -s and -A.  Exit status 0 when every encode succeeded, 1 when
 * one failed, 2 on bad usage or configuration.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/pcsc/pcsc.h"
#include "hal/manager.h"
#include "hal/registry.h"
#include "tests/halwait.h"


static void
print_info(HalManager *m)
{
	HalInfo *i = hal_manager_get(m, "enc");
	g_autofree char *reasons = g_strjoinv(",", i->reasons);
	printf("state %s\nreasons %s\nserial %s\nfirmware %s\nerror %s\n", hal_state_name(i->state),
	       reasons, i->serial ? i->serial : "", i->firmware ? i->firmware : "",
	       i->last_error ? i->last_error : "");
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

/* FID:SIZE[:SEED] or FID=PATH into F (its data owned by the caller). */
static int
parse_file(const char *arg, HalChipFile *f)
{
	char *end;
	unsigned long fid = strtoul(arg, &end, 16);
	if (end == arg || fid > 0xffff)
		return -1;
	f->fid = (uint16_t)fid;
	if (*end == '=') {
		gchar *data;
		gsize len;
		if (!g_file_get_contents(end + 1, &data, &len, NULL))
			return -1;
		f->data = (uint8_t *)data;
		f->len = len;
		return 0;
	}
	if (*end != ':')
		return -1;
	unsigned long size = strtoul(end + 1, &end, 10);
	unsigned long seed = *end == ':' ? strtoul(end + 1, NULL, 10) : 1;
	uint8_t *d = g_malloc(size ? size : 1);
	GRand *rnd = g_rand_new_with_seed((guint32)(seed * 7919 + fid));
	for (unsigned long k = 0; k < size; k++)
		d[k] = (uint8_t)g_rand_int_range(rnd, 0, 256);
	g_rand_free(rnd);
	f->data = d;
	f->len = size;
	return 0;
}

int
main(int argc, char **argv)
{
	const char *reader = "Virtual PCD 00 00", *chunk = NULL, *apdu_timeout = NULL;
	const char *protocol = NULL, *aid_hex = "A0000002471001", *out_dir = NULL;
	const char *wait_path = NULL;
	int timeout = 5000, poll = 3600000, times = 1, after = -1;
	gboolean existing = FALSE, status_only = FALSE;
	int c;
	while ((c = getopt(argc, argv, "r:k:T:xP:t:p:a:o:n:w:sA:")) != -1) {
		switch (c) {
		case 'r':
			reader = optarg;
			break;
		case 'k':
			chunk = optarg;
			break;
		case 'T':
			apdu_timeout = optarg;
			break;
		case 'x':
			existing = TRUE;
			break;
		case 'P':
			protocol = optarg;
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		case 'p':
			poll = atoi(optarg);
			break;
		case 'a':
			aid_hex = optarg;
			break;
		case 'o':
			out_dir = optarg;
			break;
		case 'n':
			times = atoi(optarg);
			break;
		case 'w':
			wait_path = optarg;
			break;
		case 's':
			status_only = TRUE;
			break;
		case 'A':
			after = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: pcsc_encode [-r READER] [-k CHUNK] [-T MS] [-x] "
					"[-t MS] [-p MS] [-a AID] [-o DIR] [-n N] [-w PATH] [-s] "
					"[-A MS] FID:SIZE[:SEED]|FID=PATH…\n");
			return 2;
		}
	}
	/* Until the registry lists it, make the driver known as ektpd will. */
	if (!hal_registry_find(pcsc_driver.name))
		hal_manager_add_test_driver(&pcsc_driver);

	uint8_t aid[16];
	size_t aid_len = 0;
	for (const char *p = aid_hex; p[0] && p[1] && aid_len < sizeof aid; p += 2)
		aid[aid_len++] =
			(uint8_t)(g_ascii_xdigit_value(p[0]) << 4 | g_ascii_xdigit_value(p[1]));
	int n_files = argc - optind;
	HalChipFile *files = g_new0(HalChipFile, n_files ? n_files : 1);
	size_t bytes = 0;
	for (int i = 0; i < n_files; i++) {
		if (parse_file(argv[optind + i], &files[i]) < 0) {
			fprintf(stderr, "pcsc_encode: bad file '%s'\n", argv[optind + i]);
			return 2;
		}
		bytes += files[i].len;
		if (out_dir) {
			g_autofree char *path =
				g_strdup_printf("%s/%04X.bin", out_dir, files[i].fid);
			g_file_set_contents(path, (const char *)files[i].data, (gssize)files[i].len,
					    NULL);
		}
	}
	HalChip chip = { aid, aid_len, files, (size_t)n_files };

	GString *conf = g_string_new("[device enc]\ndriver = pcsc\n");
	g_string_append_printf(conf, "reader = %s\ntimeout = %d\npoll_interval = %d\n", reader,
			       timeout, poll);
	if (chunk)
		g_string_append_printf(conf, "chunk = %s\n", chunk);
	if (apdu_timeout)
		g_string_append_printf(conf, "apdu_timeout = %s\n", apdu_timeout);
	if (protocol)
		g_string_append_printf(conf, "protocol = %s\n", protocol);
	if (existing)
		g_string_append(conf, "create_files = false\n");
	g_autofree char *dir = g_dir_make_tmp("pcsc-encode-XXXXXX", NULL);
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
	gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	for (;;) {
		g_main_context_iteration(NULL, FALSE);
		HalInfo *i = hal_manager_get(m, "enc");
		gboolean settled = i->state != HAL_STATE_ABSENT || i->last_error;
		hal_info_free(i);
		if (settled || g_get_monotonic_time() > end)
			break;
		g_usleep(1000);
	}
	if (status_only) {
		HalWait w = { 0 };
		hal_manager_refresh(m, "enc", hal_wait_refreshed, &w);
		hal_wait(&w);
		g_clear_error(&w.error); /* the state printed says it */
		print_info(m);
		goto out;
	}
	for (int round = 1; round <= times + (wait_path ? 1 : 0); round++) {
		if (wait_path && round == 2) {
			fflush(stdout);
			while (!g_file_test(wait_path, G_FILE_TEST_EXISTS))
				spin(20);
		}
		HalWait r = { 0 };
		gint64 t0 = g_get_monotonic_time();
		hal_manager_encode(m, "enc", &chip, hal_wait_done, &r);
		hal_wait(&r);
		gint64 ms = (g_get_monotonic_time() - t0) / 1000;
		if (r.error) {
			printf("encode %d: error %s: %s (after %" G_GINT64_FORMAT " ms)\n", round,
			       r.error->domain == HAL_ERROR ? hal_wait_code_name(r.error->code) : "?",
			       r.error->message, ms);
			g_error_free(r.error);
			rc = 1;
		} else {
			printf("encode %d: ok %zu bytes in %" G_GINT64_FORMAT " ms\n", round, bytes,
			       ms);
		}
		fflush(stdout);
	}
	if (after >= 0) {
		spin(after);
		print_info(m);
	}
out:
	if (m)
		hal_manager_free(m);
	if (cfg)
		cfg_free(cfg);
	for (int i = 0; i < n_files; i++)
		g_free((uint8_t *)files[i].data);
	g_free(files);
	return rc;
}
