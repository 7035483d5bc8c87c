/* SPDX-License-Identifier: MIT */
/*
 * The control API: HTTP/1.1 with JSON bodies on the daemon's Unix socket,
 * served by libsoup inside the main loop.  This header is what the
 * composition root (ektpd.c) sees; the route table, the gate and the handlers
 * live behind it.  Only this module talks to libsoup.
 */
#ifndef EKTP_API_H
#define EKTP_API_H

#include <glib.h>
#include <stdio.h>

#include "core/auth.h"
#include "core/printing.h"
#include "card/render.h"
#include "core/region.h"
#include "core/stock.h"
#include "crypto/crypto.h"
#include "hal/manager.h"
#include "store/store.h"
#include "util/config.h"

/* What the handlers work with; all borrowed for the server's lifetime. */
typedef struct {
	Store *store;
	Auth *auth;
	HalManager *hal;
	const EktpConfig *cfg; /* read live: SIGHUP changes apply */
	const RegionDb *regions; /* region codes and population */
	const uint8_t *key;      /* the workstation key (CRYPTO_KEY_LEN bytes) */
	const CardLayout *card_layout; /* the card face's layout */
	const CryptoSigner *signer;    /* the document signer of chips */
	GBytes *ca_pem;                /* the CA certificate(s) chips verify against */
	PrintEngine *print;            /* batch printing */
	Stock *stock;                  /* the consumables ledger */
	gint64 started_at;     /* unix seconds */
} ApiDeps;

typedef struct ApiServer ApiServer;

/*
 * Binds the socket at DEPS->cfg->socket_path (mode 0660, group
 * socket_group) and starts serving on the thread-default main context.
 * Refuses when another daemon answers on that socket.  Caller frees.
 */
ApiServer *api_server_new(const ApiDeps *deps, GError **error);

/* Stops taking connections and removes the socket; answers in progress finish. */
void api_server_stop(ApiServer *srv);
/* Requests whose answer is still being worked on (e.g. hashing a PIN). */
guint api_server_in_flight(ApiServer *srv);
void api_server_free(ApiServer *srv);

/* Prints the route table, one "METHOD PATH ROLES" line each (for docs and tests). */
void api_print_routes(FILE *out);

#endif
