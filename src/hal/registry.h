/* SPDX-License-Identifier: MIT */
/* The list of built-in drivers, and finding one by name. */
#ifndef EKTP_HAL_REGISTRY_H
#define EKTP_HAL_REGISTRY_H

#include <ektp/hal.h>

/* NULL when no built-in driver has NAME.  Static. */
const HalDriver *hal_registry_find(const char *name);
/* The built-in drivers, NULL-terminated.  Static. */
const HalDriver *const *hal_registry_all(void);

/*
 * Loads the driver table a shared object exports as HAL_PLUGIN_SYMBOL.  The
 * object stays loaded for the life of the process (loading the same path
 * again returns the same table).  NULL with ERROR saying why.
 */
const HalDriver *hal_registry_load_plugin(const char *path, GError **error);

#endif
