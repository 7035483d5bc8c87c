/* SPDX-License-Identifier: MIT */
/*
 * The audit log: who changed what, when, and with what result.  Rows are
 * chained: each stores SHA-256 over the previous row's hash and its own
 * canonical content, and a head row keeps the count and the newest hash, so
 * that an edited, deleted or reordered row is found by audit_verify().
 */
#ifndef EKTP_CORE_AUDIT_H
#define EKTP_CORE_AUDIT_H

#include <glib.h>

#include "store/store.h"

/* Who acted: borrowed strings; "" when nobody is logged in. */
typedef struct {
	const char *user;
	const char *role;
} AuditActor;

/*
 * Appends one row.  Must run inside the caller's store transaction, so the
 * row commits or rolls back with the change it describes.  DETAIL is a JSON
 * object text (NULL: "{}").
 */
int audit_append(Store *st, const AuditActor *who, const char *action, const char *target,
		 const char *result, const char *detail, gint64 now, GError **error);

/* A JSON object text of string pairs, NULL-terminated: audit_detail("role", "admin", NULL). */
char *audit_detail(const char *key, ...) G_GNUC_NULL_TERMINATED;

/* The hash a row must carry given its content and prev_hash.  OUT holds 65 bytes. */
void audit_row_hash(const StoreAuditRow *r, char out[65]);

typedef struct {
	gboolean ok;
	gint64 rows;      /* rows checked */
	gint64 first_bad; /* 0 when ok */
	char *reason;     /* NULL when ok; caller frees */
} AuditVerdict;

/* Walks the whole chain.  -1 only when the database cannot be read. */
int audit_verify(Store *st, AuditVerdict *out, GError **error);

#endif
