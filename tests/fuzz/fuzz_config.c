/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the configuration reader (util/config.c): each input is written as
 * an ektpd.conf and loaded.  A file that loads must give absolute state and
 * socket paths; one that does not must say which file and line and why
 * ("FILE:LINE: reason").  Applying a loaded file as a SIGHUP reload onto the
 * defaults must not fail.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/config.h"

static char *conf_path;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
remove_conf(void)
{
	unlink(conf_path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	GError *e = NULL;
	int fd = g_file_open_tmp("ektp-fuzz-XXXXXX.conf", &conf_path, &e);
	if (fd < 0) {
		fprintf(stderr, "fuzz_config: %s\n", e->message);
		exit(2);
	}
	close(fd);
	atexit(remove_conf);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GError *e = NULL;
	if (!g_file_set_contents(conf_path, (const char *)data, (gssize)size, &e)) {
		fprintf(stderr, "fuzz_config: %s\n", e->message);
		exit(2);
	}
	EktpConfig *cfg = cfg_load(conf_path, NULL, &e);
	if (!cfg) {
		/* "FILE:LINE: reason" */
		size_t n = strlen(conf_path);
		if (!e || strncmp(e->message, conf_path, n) != 0 || e->message[n] != ':' ||
		    !g_ascii_isdigit(e->message[n + 1]) || !strstr(e->message + n + 1, ": "))
			abort();
		g_error_free(e);
		return 0;
	}
	if (!g_path_is_absolute(cfg->state_dir) || !g_path_is_absolute(cfg->socket_path))
		abort();
	EktpConfig *live = cfg_load(NULL, NULL, &e);
	if (!live)
		abort();
	GPtrArray *ignored = g_ptr_array_new_with_free_func(g_free);
	if (cfg_apply_reload(live, cfg, ignored) < 0)
		abort();
	g_ptr_array_unref(ignored);
	cfg_free(live);
	cfg_free(cfg);
	return 0;
}
