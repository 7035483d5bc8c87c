/* SPDX-License-Identifier: MIT */
/* ISO 8601 UTC formatting shared by the API, the log and the core's messages. */
#include "util/timefmt.h"

#include <time.h>

char *
timefmt_iso(gint64 unix_s, char buf[TIMEFMT_LEN])
{
	time_t t = (time_t)unix_s;
	struct tm tm;
	if (!gmtime_r(&t, &tm) || strftime(buf, TIMEFMT_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		g_strlcpy(buf, "?", TIMEFMT_LEN);
	return buf;
}
