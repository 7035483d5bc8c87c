/* SPDX-License-Identifier: MIT */
/* The one place the version is written; the API, the log and ektpctl show it. */
#ifndef EKTP_UTIL_VERSION_H
#define EKTP_UTIL_VERSION_H

#define EKTP_VERSION "0.1.0"

#endif
