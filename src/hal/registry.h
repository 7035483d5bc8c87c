/* SPDX-License-Identifier: MIT */
/* The list of built-in drivers, and finding one by name. */
#ifndef EKTP_HAL_REGISTRY_H
#define EKTP_HAL_REGISTRY_H

#include <ektp/hal.h>

/* NULL when no built-in driver has NAME.  Static. */
const HalDriver *hal_registry_find(const char *name);
/* The built-in drivers, NULL-terminated.  Static. */
const HalDriver *const *hal_registry_all(void);

#endif
