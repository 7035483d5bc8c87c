/* SPDX-License-Identifier: MIT */
/*
 * The core's record of its devices: every state change and every injected
 * fault is an audit row, so the technician's history and the audit chain
 * agree on what each device did.
 */
#ifndef EKTP_CORE_DEVICES_H
#define EKTP_CORE_DEVICES_H

#include "core/audit.h"
#include "hal/manager.h"
#include "store/store.h"

/* Audits a state change reported by the device manager (one transaction). */
int devices_record_state(Store *st, const HalInfo *now, HalState before, gint64 ts,
			 GError **error);

/* Audits a fault injected by WHO into DEVICE (one transaction). */
int devices_record_fault(Store *st, const AuditActor *who, const char *device, const char *kind,
			 int count, gint64 ts, GError **error);

#endif
