/* SPDX-License-Identifier: MIT */
/* Audit rows for device state changes and injected faults. */
#include "core/devices.h"

/* Runs one audit_append in its own transaction. */
static int
append_one(Store *st, const AuditActor *who, const char *action, const char *target,
	   const char *detail, gint64 ts, GError **error)
{
	if (store_begin(st, error) < 0)
		return -1;
	if (audit_append(st, who, action, target, "ok", detail, ts, error) < 0) {
		store_rollback(st);
		return -1;
	}
	return store_commit(st, error);
}

int
devices_record_state(Store *st, const HalInfo *now, HalState before, gint64 ts, GError **error)
{
	static const AuditActor daemon = { "ektpd", "" };
	g_autofree char *reasons = g_strjoinv(",", now->reasons);
	g_autofree char *detail = audit_detail("from", hal_state_name(before), "to",
					       hal_state_name(now->state), "reasons", reasons,
					       "error", now->last_error ? now->last_error : "", NULL);
	return append_one(st, &daemon, "device.state", now->name, detail, ts, error);
}

int
devices_record_fault(Store *st, const AuditActor *who, const char *device, const char *kind,
		     int count, gint64 ts, GError **error)
{
	g_autofree char *n = g_strdup_printf("%d", count);
	g_autofree char *detail = audit_detail("kind", kind, "count", n, NULL);
	return append_one(st, who, "device.fault", device, detail, ts, error);
}
