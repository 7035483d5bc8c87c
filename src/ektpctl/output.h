/* SPDX-License-Identifier: MIT */
/*
 * What ektpctl prints: aligned tables and plain sentences for people, pretty JSON for scripts
 * (--json), "ektpctl: ..." lines on stderr for errors, and the small formatters that turn the
 * API's raw values (ISO 8601 UTC times, seconds, bytes) into something readable.
 */
#ifndef EKTPCTL_OUTPUT_H
#define EKTPCTL_OUTPUT_H

#include <stdio.h>

#include <glib.h>
#include <json-glib/json-glib.h>

typedef struct OutTable OutTable;

/* A table whose columns are headed by the NULL-terminated list of headings (borrowed, copied).
 * Caller frees with out_table_free. */
OutTable *out_table_new(const char *first_heading, ...) G_GNUC_NULL_TERMINATED;
void out_table_free(OutTable *table);

/* Appends a row. cells: one string per column, borrowed and copied; a NULL cell prints as "-",
 * control characters print as "?". */
void out_table_add_row(OutTable *table, const char *const cells[]);

/* Number of rows added so far. */
guint out_table_rows(const OutTable *table);

/* Prints the heading line and the rows on stdout, columns padded to their widest cell. */
void out_table_print(const OutTable *table);

/* The same on out (borrowed), e.g. stderr for a dialogue that keeps stdout for results. */
void out_table_fprint(const OutTable *table, FILE *out);

/* Prints node (borrowed) on stdout as indented JSON. */
void out_json(JsonNode *node);

/* Prints "ektpctl: MESSAGE" on stderr. */
void out_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* iso (borrowed, may be NULL) as local "YYYY-MM-DD HH:MM:SS"; "-" for NULL, iso itself when it
 * does not parse. Caller frees. */
char *out_local_time(const char *iso);

/* A duration such as "45s", "3m12s", "2h05m", "4d02h". Caller frees. */
char *out_duration(gint64 seconds);

/* A size such as "48.0 KiB (49152 bytes)". Caller frees. */
char *out_size(gint64 bytes);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(OutTable, out_table_free)

#endif
