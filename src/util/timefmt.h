/* SPDX-License-Identifier: MIT */
/* Times as the API writes them: ISO 8601 in UTC with seconds ("2026-11-27T17:40:16Z"). */
#ifndef EKTP_UTIL_TIMEFMT_H
#define EKTP_UTIL_TIMEFMT_H

#include <glib.h>

#define TIMEFMT_LEN 32

/* Writes UNIX_S into BUF and returns BUF. */
char *timefmt_iso(gint64 unix_s, char buf[TIMEFMT_LEN]);

#endif
