/* SPDX-License-Identifier: MIT */
/*
 * HTTP client for ektpd's control API (docs/api.md), spoken over the daemon's Unix socket with
 * libsoup. One request at a time, synchronously: ektpctl runs one command and exits, so there is
 * no loop to share. The client tells three outcomes apart, because the caller turns them into
 * different exit codes: an answer arrived (whatever its HTTP status), the daemon could not be
 * reached at all, or something else went wrong (the answer was not JSON).
 */
#ifndef EKTPCTL_CLIENT_H
#define EKTPCTL_CLIENT_H

#include <glib.h>
#include <json-glib/json-glib.h>

typedef struct Client Client;

typedef enum {
	CLIENT_OK,          /* the daemon answered with a JSON object; the status may be any */
	CLIENT_UNREACHABLE, /* no answer: no socket, connection refused or cut, timeout */
	CLIENT_FAILED,      /* the request could not be built, or the answer is not JSON */
} ClientResult;

typedef struct {
	guint status;     /* HTTP status code */
	JsonNode *root;   /* owned by the reply; always holds an object */
	JsonObject *obj;  /* the object in root, borrowed from root */
	char *reason;     /* HTTP reason phrase, owned by the reply */
} ClientReply;

/* A client for the daemon at socket_path (borrowed; copied). user_agent is borrowed and copied.
 * Returns NULL and sets error when the path cannot be a socket address. Caller frees with
 * client_free. */
Client *client_new(const char *socket_path, const char *user_agent, GError **error);
void client_free(Client *client);

/* token: borrowed and copied; NULL stops sending an Authorization header. */
void client_set_token(Client *client, const char *token);

/* Sends METHOD path (path borrowed, starting with "/v1/", already escaped) with body as JSON
 * (borrowed, may be NULL; its text is wiped after sending since it may hold PINs). On CLIENT_OK
 * *reply gets the answer, which the caller frees with client_reply_free; otherwise *reply stays
 * NULL and error says why. */
ClientResult client_request(Client *client, const char *method, const char *path,
			    JsonObject *body, ClientReply **reply, GError **error);

/* The same with a raw body (borrowed, may be NULL) of content_type (borrowed), e.g. a PNG. */
ClientResult client_request_bytes(Client *client, const char *method, const char *path,
				  const char *content_type, GBytes *body, ClientReply **reply,
				  GError **error);

void client_reply_free(ClientReply *reply);

/* The error message of a non-2xx answer: the API's error.message, else the HTTP status line.
 * Borrowed from reply. */
const char *client_reply_message(const ClientReply *reply);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Client, client_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ClientReply, client_reply_free)

#endif
