/* SPDX-License-Identifier: MIT */
/*
 * Hash-chained audit rows.  The canonical content is every field written as
 * "length:bytes;" in a fixed order, so no choice of values can make two
 * different rows hash alike by shifting text between fields.
 */
#include "core/audit.h"

#include <json-glib/json-glib.h>
#include <stdarg.h>
#include <string.h>

#include "crypto/crypto.h"

static void
put_field(GString *s, const char *v)
{
	g_string_append_printf(s, "%zu:%s;", strlen(v), v);
}

void
audit_row_hash(const StoreAuditRow *r, char out[65])
{
	g_autoptr(GString) s = g_string_new(NULL);
	g_autofree char *id = g_strdup_printf("%" G_GINT64_FORMAT, r->id);
	g_autofree char *ts = g_strdup_printf("%" G_GINT64_FORMAT, r->ts);
	put_field(s, r->prev_hash);
	put_field(s, id);
	put_field(s, ts);
	put_field(s, r->user);
	put_field(s, r->role);
	put_field(s, r->action);
	put_field(s, r->target);
	put_field(s, r->result);
	put_field(s, r->detail);
	crypto_sha256_hex(s->str, s->len, out);
}

int
audit_append(Store *st, const AuditActor *who, const char *action, const char *target,
	     const char *result, const char *detail, gint64 now, GError **error)
{
	gint64 last_id;
	g_autofree char *last_hash = NULL;
	char hash[65];

	if (store_audit_tail(st, &last_id, &last_hash, error) < 0)
		return -1;
	StoreAuditRow r = {
		.id = last_id + 1,
		.ts = now,
		.user = (char *)(who && who->user ? who->user : ""),
		.role = (char *)(who && who->role ? who->role : ""),
		.action = (char *)action,
		.target = (char *)(target ? target : ""),
		.result = (char *)result,
		.detail = (char *)(detail ? detail : "{}"),
		.prev_hash = last_hash,
	};
	audit_row_hash(&r, hash);
	r.hash = hash;
	if (store_audit_insert(st, &r, error) < 0 || store_audit_head_set(st, r.id, hash, error) < 0) {
		g_prefix_error(error, "audit: ");
		return -1;
	}
	return 0;
}

char *
audit_detail(const char *key, ...)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	va_list ap;
	json_builder_begin_object(b);
	va_start(ap, key);
	for (const char *k = key; k; k = va_arg(ap, const char *)) {
		json_builder_set_member_name(b, k);
		json_builder_add_string_value(b, va_arg(ap, const char *));
	}
	va_end(ap);
	json_builder_end_object(b);
	g_autoptr(JsonNode) root = json_builder_get_root(b);
	return json_to_string(root, FALSE);
}

static void
verdict_bad(AuditVerdict *out, gint64 id, char *reason)
{
	out->ok = FALSE;
	out->first_bad = id;
	out->reason = reason;
}

int
audit_verify(Store *st, AuditVerdict *out, GError **error)
{
	g_autofree char *prev = g_strdup("");
	gint64 prev_id = 0, head_rows;
	g_autofree char *head_hash = NULL;
	char want[65];

	memset(out, 0, sizeof *out);
	out->ok = TRUE;
	GError *e = NULL;
	if (store_audit_head_get(st, &head_rows, &head_hash, &e) < 0) {
		if (!g_error_matches(e, STORE_ERROR, STORE_ERROR_CORRUPT)) {
			g_propagate_error(error, e);
			return -1;
		}
		/* A deleted head row is tampering too: compare against nothing. */
		g_clear_error(&e);
		head_rows = -1;
		head_hash = g_strdup("");
	}
	for (;;) {
		g_autoptr(GPtrArray) page = store_audit_list(st, prev_id, 1000, error);
		if (!page)
			return -1;
		if (page->len == 0)
			break;
		for (guint i = 0; i < page->len; i++) {
			const StoreAuditRow *r = page->pdata[i];
			out->rows++;
			if (r->id != prev_id + 1) {
				verdict_bad(out, r->id, g_strdup_printf("row %" G_GINT64_FORMAT
					    " follows row %" G_GINT64_FORMAT ": rows between were deleted",
					    r->id, prev_id));
				return 0;
			}
			if (strcmp(r->prev_hash, prev) != 0) {
				verdict_bad(out, r->id, g_strdup_printf("row %" G_GINT64_FORMAT
					    " does not link to the row before it", r->id));
				return 0;
			}
			audit_row_hash(r, want);
			if (strcmp(r->hash, want) != 0) {
				verdict_bad(out, r->id, g_strdup_printf("row %" G_GINT64_FORMAT
					    ": content does not match its hash (edited)", r->id));
				return 0;
			}
			g_free(prev);
			prev = g_strdup(r->hash);
			prev_id = r->id;
		}
	}
	if (head_rows != prev_id || strcmp(head_hash, prev) != 0)
		verdict_bad(out, prev_id + 1, g_strdup_printf("the log ends at row %" G_GINT64_FORMAT
			    " but its head records %" G_GINT64_FORMAT " rows: rows at the end "
			    "were deleted or the head was edited", prev_id, head_rows));
	return 0;
}
