/* SPDX-License-Identifier: MIT */
/*
 * The stderr log writer.  The journal reads the "<N>" priority prefix; a
 * person on a terminal reads the level word after it.
 */
#include "util/log.h"

#include <stdio.h>

static LogLevel max_level = LOG_LEVEL_INFO;

static GLogWriterOutput
write_stderr(GLogLevelFlags flags, const GLogField *fields, gsize n_fields,
	     gpointer user_data)
{
	(void)user_data;
	const char *message = NULL, *domain = NULL;
	LogLevel level;
	int prio;
	const char *word;

	if (flags & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) {
		level = LOG_LEVEL_ERROR, prio = 3, word = "error";
	} else if (flags & G_LOG_LEVEL_WARNING) {
		level = LOG_LEVEL_WARNING, prio = 4, word = "warning";
	} else if (flags & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO)) {
		level = LOG_LEVEL_INFO, prio = 6, word = "info";
	} else {
		level = LOG_LEVEL_DEBUG, prio = 7, word = "debug";
	}
	if (level > max_level)
		return G_LOG_WRITER_HANDLED;

	for (gsize i = 0; i < n_fields; i++) {
		if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
			message = fields[i].value;
		else if (g_strcmp0(fields[i].key, "GLIB_DOMAIN") == 0)
			domain = fields[i].value;
	}
	/* Our own modules log without a domain; libraries name theirs. */
	fprintf(stderr, "<%d>%s: %s%s%s\n", prio, word, domain ? domain : "",
		domain ? ": " : "", message ? message : "");
	fflush(stderr);
	return G_LOG_WRITER_HANDLED;
}

void
log_init(LogLevel level)
{
	max_level = level;
	g_log_set_writer_func(write_stderr, NULL, NULL);
}

void
log_set_level(LogLevel level)
{
	max_level = level;
}

LogLevel
log_get_level(void)
{
	return max_level;
}
