/* SPDX-License-Identifier: MIT */
/*
 * ektpctl's secrets: the session token kept between commands, and PINs typed by the user.
 *
 * A token lives in a private file (mode 0600, in a 0700 directory) named after the daemon's
 * socket, so that several daemons on one machine never share sessions. PINs come from the
 * terminal without echo, or one line each from standard input when that is not a terminal, and
 * are wiped from memory when freed.
 */
#ifndef EKTPCTL_SECRET_H
#define EKTPCTL_SECRET_H

#include <glib.h>

/* A PIN: a NUL-terminated string that secret_pin_free wipes before freeing. */
typedef char SecretPin;

/* Whether PINs are read from a terminal (prompted, no echo) rather than from a pipe. */
gboolean secret_pin_interactive(void);

/* One PIN: on a terminal, asks with prompt (borrowed); else reads the next line of stdin.
 * Returns NULL and sets error on end of input, an over-long line or an interrupt.
 * Caller frees with secret_pin_free. */
SecretPin *secret_pin_read(const char *prompt, GError **error);

/* A new PIN: on a terminal asks twice (prompt, then "again: ") and refuses when the two differ;
 * else reads one line of stdin. Caller frees with secret_pin_free. */
SecretPin *secret_pin_read_new(const char *prompt, GError **error);

void secret_pin_free(SecretPin *pin);

/* The token file for the daemon at socket_path (borrowed): token-<16 hex digits of SHA-256 of
 * the absolute socket path> in $XDG_RUNTIME_DIR/ektp/, else in ~/.ektp/. Caller frees. */
char *secret_token_path(const char *socket_path);

/* Reads the token in path (borrowed) into *token (caller frees; NULL when there is no file).
 * Refuses a file that is not ours, not a regular file, open to group or others, or malformed.
 * Returns 0, or -1 with error set. */
int secret_token_load(const char *path, char **token, GError **error);

/* Replaces the token file atomically (temporary file, then rename), creating its directory with
 * mode 0700 if needed. path and token are borrowed. Returns 0, or -1 with error set. */
int secret_token_store(const char *path, const char *token, GError **error);

/* Removes the token file; a missing file is fine. path is borrowed. Returns 0 or -1. */
int secret_token_remove(const char *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SecretPin, secret_pin_free)

#endif
