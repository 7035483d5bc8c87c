/* SPDX-License-Identifier: MIT */
/*
 * ektpd, the e-KTP workstation daemon: the composition root.  It reads the
 * flags and the configuration, opens the store, wires the modules together
 * and runs the one GLib main loop until SIGTERM or SIGINT.  Nothing else
 * knows about more than one module at a time.
 */
#include <errno.h>
#include <glib-unix.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "api/api.h"
#include "core/auth.h"
#include "core/devices.h"
#include "card/render.h"
#include "core/cards.h"
#include "core/enroll.h"
#include "core/region.h"
#include "core/selftest.h"
#include "core/stock.h"
#include "crypto/crypto.h"
#include "hal/manager.h"
#include "store/store.h"
#include "util/config.h"
#include "util/log.h"
#include "util/version.h"

/* How often expired login sessions are removed from the database. */
#define SESSION_PURGE_INTERVAL_S 60
/* How often the database's write-ahead log is copied into it and emptied
 * (SQLite's own automatic checkpoints are off: they would land inside a
 * commit an operator waits for). */
#define CHECKPOINT_INTERVAL_S 30
/* How often approved records are checked for a 17th birthday that has come. */
#define PROMOTE_INTERVAL_S 3600
/* How long shutdown waits for answers still being computed. */
#define DRAIN_LIMIT_US (10 * G_USEC_PER_SEC)

typedef struct {
	EktpConfig *cfg;
	const char *state_dir_override;
	gboolean debug;
	Store *store;
	Auth *auth;
	HalManager *hal;
	RegionDb *regions;
	CardLayout *layout;
	CryptoSigner *signer;
	GBytes *ca_pem;
	uint8_t key[CRYPTO_KEY_LEN]; /* the workstation key */
	PrintEngine *print;
	Stock *stock;
	ApiServer *api;
	GMainLoop *loop;
} Daemon;

static gboolean
on_quit(gpointer data)
{
	Daemon *d = data;
	g_message("signal received: finishing and exiting");
	g_main_loop_quit(d->loop);
	return G_SOURCE_CONTINUE;
}

static gboolean
on_hup(gpointer data)
{
	Daemon *d = data;
	GError *e = NULL;
	if (!d->cfg->file) {
		g_message("SIGHUP: no configuration file to reload");
		return G_SOURCE_CONTINUE;
	}
	g_autoptr(EktpConfig) fresh = cfg_load(d->cfg->file, d->state_dir_override, &e);
	if (!fresh) {
		g_warning("SIGHUP: configuration not reloaded: %s", e->message);
		g_error_free(e);
		return G_SOURCE_CONTINUE;
	}
	g_autoptr(GPtrArray) ignored = g_ptr_array_new_with_free_func(g_free);
	int changed = cfg_apply_reload(d->cfg, fresh, ignored);
	if (!d->debug)
		log_set_level((LogLevel)d->cfg->log_level);
	g_message("SIGHUP: configuration reloaded from %s, %d setting%s changed", d->cfg->file,
		  changed, changed == 1 ? "" : "s");
	for (guint i = 0; i < ignored->len; i++)
		g_warning("SIGHUP: %s changed but is read at start only; restart ektpd to apply it",
			  (char *)ignored->pdata[i]);
	return G_SOURCE_CONTINUE;
}

static gboolean
on_purge(gpointer data)
{
	Daemon *d = data;
	GError *e = NULL;
	int n = store_session_purge(d->store, auth_now(d->auth) - d->cfg->session_idle, &e);
	if (n < 0) {
		g_warning("purging expired sessions: %s", e->message);
		g_error_free(e);
	} else if (n > 0) {
		g_debug("purged %d expired session%s", n, n == 1 ? "" : "s");
	}
	return G_SOURCE_CONTINUE;
}

static void
on_device_state(const HalInfo *now, HalState before, void *data)
{
	Daemon *d = data;
	GError *e = NULL;
	if (devices_record_state(d->store, now, before, auth_now(d->auth), &e) < 0) {
		g_warning("device %s: state change not audited: %s", now->name, e->message);
		g_error_free(e);
	}
}

static gboolean
on_checkpoint(gpointer data)
{
	Daemon *d = data;
	GError *e = NULL;
	if (store_checkpoint(d->store, &e) < 0) {
		g_warning("checkpoint: %s", e->message);
		g_error_free(e);
	}
	return G_SOURCE_CONTINUE;
}

/* Approved records of residents recorded at 16 become print-ready on their
 * 17th birthday. */
static gboolean
on_promote(gpointer data)
{
	Daemon *d = data;
	EnrollDeps deps = { d->store, d->hal, d->cfg, d->regions, d->key };
	GError *e = NULL;
	int n = enroll_promote(&deps, &e);
	if (n < 0) {
		g_warning("promoting records: %s", e->message);
		g_error_free(e);
	} else if (n > 0) {
		g_message("%d record%s turned 17 and became print-ready", n, n == 1 ? "" : "s");
	}
	return G_SOURCE_CONTINUE;
}

/* FILE relative to the config file's folder (or the working directory
 * without a file).  Caller frees. */
static char *
beside_config(const EktpConfig *cfg, const char *file)
{
	if (g_path_is_absolute(file) || !cfg->file)
		return g_strdup(file);
	g_autofree char *base = g_path_get_dirname(cfg->file);
	return g_build_filename(base, file, NULL);
}

/* The card layout, the document signer and the CA: as configured, or a test
 * PKI made in state_dir/test-pki when none is configured. */
static int
load_card_setup(Daemon *d, GError **error)
{
	const EktpConfig *cfg = d->cfg;
	g_autofree char *layout = beside_config(cfg, cfg->card_layout);
	d->layout = card_layout_load(layout, error);
	if (!d->layout)
		return -1;
	g_autofree char *cert = NULL, *key = NULL, *ca = NULL;
	if (!*cfg->card_signer_cert && !*cfg->card_signer_key && !*cfg->card_ca_cert) {
		g_autofree char *dir = g_build_filename(cfg->state_dir, "test-pki", NULL);
		gboolean created = FALSE;
		if (crypto_test_pki_create(dir, &created, error) < 0)
			return -1;
		cert = g_build_filename(dir, CRYPTO_TEST_DS_CERT, NULL);
		key = g_build_filename(dir, CRYPTO_TEST_DS_KEY, NULL);
		ca = g_build_filename(dir, CRYPTO_TEST_CA_CERT, NULL);
		g_warning("no [card] signer configured: chips are signed with TEST keys from %s%s; "
			  "such cards are not valid e-KTP cards",
			  dir, created ? " (created now)" : "");
	} else if (!*cfg->card_signer_cert || !*cfg->card_signer_key || !*cfg->card_ca_cert) {
		g_set_error(error, CARDS_ERROR, CARDS_ERROR_CONTENT,
			    "[card] signer_cert, signer_key and ca_cert go together: give all three, "
			    "or none for test keys");
		return -1;
	} else {
		cert = beside_config(cfg, cfg->card_signer_cert);
		key = beside_config(cfg, cfg->card_signer_key);
		ca = beside_config(cfg, cfg->card_ca_cert);
	}
	d->signer = crypto_signer_load(cert, key, error);
	if (!d->signer)
		return -1;
	char *pem = NULL;
	gsize len = 0;
	if (!g_file_get_contents(ca, &pem, &len, error)) {
		g_prefix_error(error, "[card] ca_cert: ");
		return -1;
	}
	d->ca_pem = g_bytes_new_take(pem, len);
	int fingers[2];
	return cards_fingers_parse(cfg->card_chip_fingers, fingers, error) ? 0 : -1;
}

static int
run(Daemon *d)
{
	GError *e = NULL;

	if (g_mkdir_with_parents(d->cfg->state_dir, 0750) < 0) {
		g_critical("state directory %s: %s", d->cfg->state_dir, g_strerror(errno));
		return 1;
	}
	d->store = store_open(d->cfg->database, &e);
	if (!d->store || store_set_max_size(d->store, d->cfg->database_max_mb * 1024 * 1024, &e) < 0)
		goto fail;
	gboolean created = FALSE;
	if (crypto_keyfile_load_or_create(d->cfg->enroll_key_file, d->key, &created, &e) < 0)
		goto fail;
	if (created)
		g_message("created the workstation key %s: back it up; without it no stored image "
			  "can be read", d->cfg->enroll_key_file);
	char *regions = beside_config(d->cfg, d->cfg->enroll_region_data);
	d->regions = region_db_load(regions, &e);
	g_free(regions);
	if (!d->regions) {
		g_prefix_error(&e, "region tables ([enroll] region_data): ");
		goto fail;
	}
	if (load_card_setup(d, &e) < 0)
		goto fail;
	d->auth = auth_new(d->store, d->cfg, NULL);
	d->hal = hal_manager_new(d->cfg, on_device_state, d, &e);
	if (!d->hal)
		goto fail;
	SelftestDeps st_deps = { d->store, d->hal, d->cfg };
	if (selftest_restore_trends(&st_deps, &e) < 0)
		goto fail;
	CardsDeps cards = { { d->store, d->hal, d->cfg, d->regions, d->key }, d->layout, d->signer,
			    d->ca_pem };
	d->stock = stock_new(d->cfg, d->store, d->hal, &e);
	if (!d->stock)
		goto fail;
	d->print = print_engine_new(&cards, d->stock, &e);
	if (!d->print)
		goto fail;
	ApiDeps deps = {
		.store = d->store,
		.auth = d->auth,
		.hal = d->hal,
		.cfg = d->cfg,
		.regions = d->regions,
		.key = d->key,
		.card_layout = d->layout,
		.signer = d->signer,
		.ca_pem = d->ca_pem,
		.print = d->print,
		.stock = d->stock,
		.started_at = auth_now(d->auth),
	};
	d->api = api_server_new(&deps, &e);
	if (!d->api)
		goto fail;

	d->loop = g_main_loop_new(NULL, FALSE);
	guint sources[] = {
		g_unix_signal_add(SIGTERM, on_quit, d),
		g_unix_signal_add(SIGINT, on_quit, d),
		g_unix_signal_add(SIGHUP, on_hup, d),
		g_timeout_add_seconds(SESSION_PURGE_INTERVAL_S, on_purge, d),
		g_timeout_add_seconds(PROMOTE_INTERVAL_S, on_promote, d),
		g_timeout_add_seconds(CHECKPOINT_INTERVAL_S, on_checkpoint, d),
	};
	on_promote(d);
	g_message("ektpd %s serving on %s (database %s, schema %d)", EKTP_VERSION,
		  d->cfg->socket_path, d->cfg->database, store_schema_version(d->store));
	g_main_loop_run(d->loop);

	/* Every store transaction runs to its end within one loop callback, so
	 * none is open here.  Stop accepting, then let deferred answers finish. */
	api_server_stop(d->api);
	gint64 deadline = g_get_monotonic_time() + DRAIN_LIMIT_US;
	while (api_server_in_flight(d->api) > 0 && g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, TRUE);
	for (size_t i = 0; i < G_N_ELEMENTS(sources); i++)
		g_source_remove(sources[i]);
	api_server_free(d->api);
	print_engine_stop(d->print);
	hal_manager_free(d->hal);
	print_engine_free(d->print);
	stock_free(d->stock);
	g_main_loop_unref(d->loop);
	on_checkpoint(d);
	auth_free(d->auth);
	store_close(d->store);
	region_db_free(d->regions);
	card_layout_free(d->layout);
	crypto_signer_free(d->signer);
	if (d->ca_pem)
		g_bytes_unref(d->ca_pem);
	crypto_wipe(d->key, sizeof d->key);
	g_message("ektpd stopped");
	return 0;
fail:
	g_critical("%s", e->message);
	g_error_free(e);
	print_engine_stop(d->print);
	hal_manager_free(d->hal);
	print_engine_free(d->print);
	stock_free(d->stock);
	auth_free(d->auth);
	store_close(d->store);
	region_db_free(d->regions);
	card_layout_free(d->layout);
	crypto_signer_free(d->signer);
	if (d->ca_pem)
		g_bytes_unref(d->ca_pem);
	crypto_wipe(d->key, sizeof d->key);
	return 1;
}

int
main(int argc, char **argv)
{
	g_autofree char *config_file = NULL;
	g_autofree char *state_dir = NULL;
	gboolean check_only = FALSE, debug = FALSE, version = FALSE, routes = FALSE,
		 defaults = FALSE;
	GOptionEntry entries[] = {
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file,
		  "Read the configuration from FILE (default: built-in defaults)", "FILE" },
		{ "state-dir", 'S', 0, G_OPTION_ARG_FILENAME, &state_dir,
		  "State directory (default: EKTP_STATE_DIR, the config's state_dir, or ./var)",
		  "DIR" },
		{ "check", 'n', 0, G_OPTION_ARG_NONE, &check_only,
		  "Check the configuration, print \"configuration OK\" and exit", NULL },
		{ "debug", 'd', 0, G_OPTION_ARG_NONE, &debug, "Log debug messages", NULL },
		{ "routes", 0, 0, G_OPTION_ARG_NONE, &routes,
		  "Print the API's routes and the roles each admits, and exit", NULL },
		{ "print-defaults", 0, 0, G_OPTION_ARG_NONE, &defaults,
		  "Print every configuration key with its default and help, and exit", NULL },
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &version, "Print the version and exit",
		  NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- e-KTP enrollment and card "
							     "printing daemon");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(ctx,
		"Serves the HTTP/JSON control API on a Unix socket; see README.md.\n"
		"Signals: SIGTERM/SIGINT finish the current work and exit 0; SIGHUP reloads\n"
		"the settings marked reloadable.");
	GError *e = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &e)) {
		fprintf(stderr, "ektpd: %s (try --help)\n", e->message);
		g_error_free(e);
		return 2;
	}
	if (argc > 1) {
		fprintf(stderr, "ektpd: unexpected argument '%s' (try --help)\n", argv[1]);
		return 2;
	}
	if (version) {
		printf("ektpd %s\n", EKTP_VERSION);
		return 0;
	}
	if (routes) {
		api_print_routes(stdout);
		return 0;
	}
	if (defaults) {
		g_autoptr(GString) out = g_string_new(NULL);
		cfg_write_documented(out);
		fputs(out->str, stdout);
		return 0;
	}

	Daemon d = { .debug = debug };
	if (!state_dir && g_getenv("EKTP_STATE_DIR"))
		state_dir = g_strdup(g_getenv("EKTP_STATE_DIR"));
	d.state_dir_override = state_dir;
	d.cfg = cfg_load(config_file, state_dir, &e);
	if (!d.cfg) {
		fprintf(stderr, "%s\n", e->message);
		g_error_free(e);
		return 1;
	}
	if (!hal_config_check(d.cfg, &e) || !stock_config_check(d.cfg, &e)) {
		fprintf(stderr, "%s\n", e->message);
		g_error_free(e);
		cfg_free(d.cfg);
		return 1;
	}
	if (check_only) {
		printf("configuration OK\n");
		cfg_free(d.cfg);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	/* The database will hold biometrics: nothing we create is for others. */
	umask(0027);
	log_init(debug ? LOG_LEVEL_DEBUG : (LogLevel)d.cfg->log_level);
	int rc = run(&d);
	cfg_free(d.cfg);
	return rc;
}
