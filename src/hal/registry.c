/* SPDX-License-Identifier: MIT */
/*
 * The registry: every driver built into ektpd.  A config's "driver = NAME"
 * picks one; an unknown name is a configuration error.  Drivers in shared
 * objects are found by path instead (see manager.c).
 */
#include "hal/registry.h"

#include <string.h>

#include "drivers/sim/sim.h"

static const HalDriver *const builtin[] = {
	&sim_fingerprint_driver,
	&sim_iris_driver,
	&sim_face_driver,
	&sim_signature_driver,
	&sim_printer_driver,
	&sim_encoder_driver,
	NULL,
};

const HalDriver *
hal_registry_find(const char *name)
{
	for (int i = 0; builtin[i]; i++)
		if (strcmp(builtin[i]->name, name) == 0)
			return builtin[i];
	return NULL;
}

const HalDriver *const *
hal_registry_all(void)
{
	return builtin;
}
