/* SPDX-License-Identifier: MIT */
/*
 * The registry: every driver built into ektpd.  A config's "driver = NAME"
 * picks one; an unknown name is a configuration error.  Drivers in shared
 * objects are found by path instead (see manager.c).
 */
#include "hal/registry.h"

#include <dlfcn.h>
#include <string.h>

#include "drivers/evolis/evolis.h"
#include "drivers/libfprint/fprint.h"
#include "drivers/pcsc/pcsc.h"
#include "drivers/sim/sim.h"

static const HalDriver *const builtin[] = {
	&sim_fingerprint_driver,
	&sim_iris_driver,
	&sim_face_driver,
	&sim_signature_driver,
	&sim_printer_driver,
	&sim_encoder_driver,
	&fprint_driver,
	&pcsc_driver,
	&evolis_driver,
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

const HalDriver *
hal_registry_load_plugin(const char *path, GError **error)
{
	static GMutex lock;
	static GHashTable *loaded; /* path → const HalDriver* */
	const HalDriver *drv = NULL;

	g_mutex_lock(&lock);
	if (!loaded)
		loaded = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	drv = g_hash_table_lookup(loaded, path);
	if (drv)
		goto out;
	void *so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!so) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_CONFIG, "cannot load %s", dlerror());
		goto out;
	}
	drv = dlsym(so, HAL_PLUGIN_SYMBOL);
	if (!drv) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_CONFIG, "%s exports no %s", path,
			    HAL_PLUGIN_SYMBOL);
		dlclose(so);
		goto out;
	}
	const char *wrong = drv->abi != HAL_ABI_VERSION		      ? "its HAL ABI version"
			    : !drv->name				      ? "it has no name"
			    : (unsigned)drv->klass >= HAL_N_CLASSES	      ? "its device class"
			    : !drv->status				      ? "it has no status method"
									      : NULL;
	if (wrong) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_CONFIG,
			    "%s: driver table refused: %s (table for HAL ABI %u; this ektpd has %u)",
			    path, wrong, drv->abi, HAL_ABI_VERSION);
		drv = NULL;
		dlclose(so);
		goto out;
	}
	g_hash_table_insert(loaded, g_strdup(path), (gpointer)drv);
out:
	g_mutex_unlock(&lock);
	return drv;
}
