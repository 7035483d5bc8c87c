/* SPDX-License-Identifier: MIT */
/*
 * ektpctl's secrets: the session token file and PIN input; see secret.h.
 *
 * Input is read with read(2) one byte at a time rather than through stdio, so that no PIN is
 * left behind in a stdio buffer we cannot wipe, and so that reading one PIN from a pipe never
 * swallows the next one.
 */
#include "ektpctl/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gio/gio.h>

/* Longest line we accept as a PIN (the API allows 32 digits); longer input is refused. */
#define PIN_MAX 64
#define TOKEN_HEX 64

/* ---- PINs ---- */

/* Set by note_signal while a terminal read has echo turned off. */
static volatile sig_atomic_t caught_signal;
static const int tty_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static void
note_signal(int sig)
{
	caught_signal = sig;
}

static void
write_all(int fd, const char *s)
{
	size_t len = strlen(s);
	while (len > 0) {
		ssize_t n = write(fd, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* a prompt that cannot be shown is no reason to stop */
		s += n;
		len -= (size_t)n;
	}
}

/* Reads one line from fd into buf (size bytes) without the line end. Returns its length, or -1
 * with error set on end of input before any byte, a read error, an over-long line or a signal
 * noted by note_signal. */
static ssize_t
read_line(int fd, char *buf, size_t size, GError **error)
{
	size_t len = 0;
	for (;;) {
		char c;
		ssize_t n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR && !caught_signal)
			continue;
		if (n < 0) {
			int e = errno;
			if (caught_signal)
				g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
						    "PIN entry interrupted");
			else
				g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
					    "cannot read PIN: %s", g_strerror(e));
			return -1;
		}
		if (n == 0 && len == 0) {
			g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED,
					    "no PIN given: end of input");
			return -1;
		}
		if (n == 0 || c == '\n')
			break;
		if (len + 1 >= size) {
			g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED,
					    "PIN is too long");
			return -1;
		}
		buf[len++] = c;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	return (ssize_t)len;
}

/* Prompts on the terminal and reads one line with echo off. The terminal's settings come back
 * even when the user interrupts: the signal is caught, the settings restored, then the signal
 * raised again with its old disposition. */
static ssize_t
read_tty_line(const char *prompt, char *buf, size_t size, GError **error)
{
	int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	int in = tty >= 0 ? tty : STDIN_FILENO;
	int out = tty >= 0 ? tty : STDERR_FILENO;
	struct termios saved, quiet;
	struct sigaction sa, old[G_N_ELEMENTS(tty_signals)];
	ssize_t len = -1;

	if (tcgetattr(in, &saved) < 0) {
		int e = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
			    "cannot read the terminal's settings: %s", g_strerror(e));
		goto out;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = note_signal; /* no SA_RESTART: read() must return when one arrives */
	sigemptyset(&sa.sa_mask);
	caught_signal = 0;
	for (size_t i = 0; i < G_N_ELEMENTS(tty_signals); i++)
		sigaction(tty_signals[i], &sa, &old[i]);

	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	write_all(out, prompt);
	if (tcsetattr(in, TCSAFLUSH, &quiet) < 0) {
		int e = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
			    "cannot turn off the terminal's echo: %s", g_strerror(e));
	} else {
		len = read_line(in, buf, size, error);
		tcsetattr(in, TCSAFLUSH, &saved);
	}
	write_all(out, "\n");

	for (size_t i = 0; i < G_N_ELEMENTS(tty_signals); i++)
		sigaction(tty_signals[i], &old[i], NULL);
	if (caught_signal) {
		raise(caught_signal);
		if (len >= 0) {
			g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
					    "PIN entry interrupted");
			len = -1;
		}
	}
out:
	if (tty >= 0)
		close(tty);
	return len;
}

gboolean
secret_pin_interactive(void)
{
	return isatty(STDIN_FILENO);
}

SecretPin *
secret_pin_read(const char *prompt, GError **error)
{
	char buf[PIN_MAX];
	ssize_t len;

	caught_signal = 0;
	if (secret_pin_interactive())
		len = read_tty_line(prompt, buf, sizeof buf, error);
	else
		len = read_line(STDIN_FILENO, buf, sizeof buf, error);
	SecretPin *pin = len < 0 ? NULL : g_strndup(buf, (gsize)len);
	explicit_bzero(buf, sizeof buf);
	return pin;
}

SecretPin *
secret_pin_read_new(const char *prompt, GError **error)
{
	g_autoptr(SecretPin) pin = secret_pin_read(prompt, error);
	if (!pin || !secret_pin_interactive())
		return g_steal_pointer(&pin);
	g_autoptr(SecretPin) again = secret_pin_read("again: ", error);
	if (!again)
		return NULL;
	if (strcmp(pin, again) != 0) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "the two PINs differ; nothing changed");
		return NULL;
	}
	return g_steal_pointer(&pin);
}

void
secret_pin_free(SecretPin *pin)
{
	if (!pin)
		return;
	explicit_bzero(pin, strlen(pin));
	g_free(pin);
}

/* ---- the token file ---- */

char *
secret_token_path(const char *socket_path)
{
	g_autofree char *absolute = g_canonicalize_filename(socket_path, NULL);
	g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, absolute, -1);
	g_autofree char *name = g_strdup_printf("token-%.16s", sum);
	const char *runtime = g_getenv("XDG_RUNTIME_DIR");
	if (runtime && g_path_is_absolute(runtime))
		return g_build_filename(runtime, "ektp", name, NULL);
	return g_build_filename(g_get_home_dir(), ".ektp", name, NULL);
}

static gboolean
is_token(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!g_ascii_isxdigit(s[n]))
			return FALSE;
	return n == TOKEN_HEX;
}

int
secret_token_load(const char *path, char **token, GError **error)
{
	char buf[TOKEN_HEX + 16];
	struct stat st;
	int rc = -1;

	*token = NULL;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT)
			return 0;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
			    "cannot open token file %s: %s", path, g_strerror(e));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
			    "refusing token file %s: not a regular file of ours", path);
		goto out;
	}
	if (st.st_mode & 077) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
			    "refusing token file %s: group or others may use it (mode %04o); "
			    "remove it and log in again",
			    path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n < 0) {
		int e = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
			    "cannot read token file %s: %s", path, g_strerror(e));
		goto out;
	}
	buf[n] = '\0';
	g_strstrip(buf);
	if (!is_token(buf)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "token file %s is malformed: remove it and log in again", path);
		goto out;
	}
	*token = g_strdup(buf);
	rc = 0;
out:
	explicit_bzero(buf, sizeof buf);
	close(fd);
	return rc;
}

/* Makes sure dir exists and that nobody else can put files into it. */
static int
ensure_private_dir(const char *dir, GError **error)
{
	struct stat st;
	if (g_mkdir_with_parents(dir, 0700) < 0 || lstat(dir, &st) < 0) {
		int e = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
			    "cannot create token directory %s: %s", dir, g_strerror(e));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
			    "refusing token directory %s: it must be a directory of ours that "
			    "nobody else may write to",
			    dir);
		return -1;
	}
	return 0;
}

int
secret_token_store(const char *path, const char *token, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(path);
	if (ensure_private_dir(dir, error) < 0)
		return -1;
	char *text = g_strconcat(token, "\n", NULL);
	gboolean ok = g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT,
					       0600, error);
	explicit_bzero(text, strlen(text));
	g_free(text);
	if (!ok) {
		g_prefix_error(error, "cannot store the session token: ");
		return -1;
	}
	return 0;
}

int
secret_token_remove(const char *path, GError **error)
{
	if (g_unlink(path) < 0 && errno != ENOENT) {
		int e = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
			    "cannot remove token file %s: %s", path, g_strerror(e));
		return -1;
	}
	return 0;
}
