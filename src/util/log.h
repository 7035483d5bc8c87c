/* SPDX-License-Identifier: MIT */
/*
 * Logging for ektpd: one line per message on stderr, prefixed with a
 * syslog priority ("<6>") so that systemd's journal keeps the level, and
 * readable as plain text on a terminal.  Modules log through GLib's
 * g_message/g_warning/g_debug; this file only installs the writer and the
 * level filter.
 */
#ifndef EKTP_UTIL_LOG_H
#define EKTP_UTIL_LOG_H

#include <glib.h>

typedef enum {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
} LogLevel;

/* Installs the stderr writer; messages above the level are dropped. */
void log_init(LogLevel level);
void log_set_level(LogLevel level);
LogLevel log_get_level(void);

#endif
