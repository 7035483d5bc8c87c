/* SPDX-License-Identifier: MIT */
/*
 * HTTP client for ektpd's control API over the daemon's Unix socket. A SoupSession whose
 * "remote-connectable" is the socket address sends every request there whatever the URI's host,
 * so URIs are simply http://localhost/v1/... Requests are synchronous; see client.h.
 */
#include "ektpctl/client.h"

#include <string.h>
#include <sys/un.h>

#include <gio/gunixsocketaddress.h>
#include <libsoup/soup.h>

/* Seconds a request may wait on the socket without progress before we give up on the daemon. */
#define CLIENT_TIMEOUT_S 60

struct Client {
	SoupSession *session;
	char *token;
};

Client *
client_new(const char *socket_path, const char *user_agent, GError **error)
{
	/* GUnixSocketAddress silently truncates a path longer than sun_path: refuse it instead of
	 * connecting to some other socket. */
	size_t max = sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1;
	if (strlen(socket_path) > max) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG,
			    "socket path is too long (%zu bytes, at most %zu)", strlen(socket_path),
			    max);
		return NULL;
	}
	g_autoptr(GSocketAddress) address = g_unix_socket_address_new(socket_path);
	Client *client = g_new0(Client, 1);
	client->session = soup_session_new_with_options("remote-connectable", address,
							"timeout", CLIENT_TIMEOUT_S,
							"user-agent", user_agent, NULL);
	return client;
}

void
client_free(Client *client)
{
	if (!client)
		return;
	g_clear_object(&client->session);
	g_free(client->token);
	g_free(client);
}

void
client_set_token(Client *client, const char *token)
{
	g_free(client->token);
	client->token = g_strdup(token);
}

void
client_reply_free(ClientReply *reply)
{
	if (!reply)
		return;
	if (reply->root)
		json_node_unref(reply->root);
	g_free(reply->reason);
	g_free(reply);
}

const char *
client_reply_message(const ClientReply *reply)
{
	JsonNode *node = json_object_get_member(reply->obj, "error");
	if (node && JSON_NODE_HOLDS_OBJECT(node)) {
		JsonNode *msg = json_object_get_member(json_node_get_object(node), "message");
		if (msg && JSON_NODE_HOLDS_VALUE(msg) &&
		    json_node_get_value_type(msg) == G_TYPE_STRING)
			return json_node_get_string(msg);
	}
	return reply->reason;
}

static void
wipe_text(gpointer text)
{
	explicit_bzero(text, strlen(text));
	g_free(text);
}

/* The request body as bytes whose memory is wiped when libsoup lets go of it. Caller frees. */
static GBytes *
body_bytes(JsonObject *body)
{
	g_autoptr(JsonNode) root = json_node_new(JSON_NODE_OBJECT);
	json_node_set_object(root, body);
	g_autoptr(JsonGenerator) gen = json_generator_new();
	json_generator_set_root(gen, root);
	gsize len = 0;
	char *text = json_generator_to_data(gen, &len);
	return g_bytes_new_with_free_func(text, len, wipe_text, text);
}

ClientResult
client_request(Client *client, const char *method, const char *path,
	       JsonObject *body, ClientReply **reply, GError **error)
{
	g_autoptr(GBytes) bytes = body ? body_bytes(body) : NULL;
	return client_request_bytes(client, method, path, "application/json", bytes, reply,
				    error);
}

ClientResult
client_request_bytes(Client *client, const char *method, const char *path,
		     const char *content_type, GBytes *body, ClientReply **reply, GError **error)
{
	g_autofree char *uri = g_strconcat("http://localhost", path, NULL);
	g_autoptr(SoupMessage) msg = soup_message_new(method, uri);
	if (!msg) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "cannot build a request for %s", path);
		return CLIENT_FAILED;
	}
	SoupMessageHeaders *headers = soup_message_get_request_headers(msg);
	soup_message_headers_replace(headers, "Accept", "application/json");
	if (client->token) {
		g_autofree char *auth = g_strconcat("Bearer ", client->token, NULL);
		soup_message_headers_replace(headers, "Authorization", auth);
	}
	if (body)
		soup_message_set_request_body_from_bytes(msg, content_type, body);

	g_autoptr(GBytes) answer = soup_session_send_and_read(client->session, msg, NULL, error);
	if (!answer)
		return CLIENT_UNREACHABLE;

	guint status = soup_message_get_status(msg);
	const char *phrase = soup_message_get_reason_phrase(msg);
	gsize size = 0;
	const char *data = g_bytes_get_data(answer, &size);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) parse_error = NULL;
	if (size == 0 || !json_parser_load_from_data(parser, data, (gssize)size, &parse_error) ||
	    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "ektpd answered HTTP %u %s without a JSON object%s%s", status,
			    phrase ? phrase : "", parse_error ? ": " : "",
			    parse_error ? parse_error->message : "");
		return CLIENT_FAILED;
	}

	ClientReply *r = g_new0(ClientReply, 1);
	r->status = status;
	r->root = json_node_ref(json_parser_get_root(parser));
	r->obj = json_node_get_object(r->root);
	r->reason = g_strdup_printf("HTTP %u %s", status, phrase ? phrase : "");
	*reply = r;
	return CLIENT_OK;
}
