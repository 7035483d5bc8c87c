/* SPDX-License-Identifier: MIT */
/*
 * USB hotplug through libusb, on the GLib main loop.  libusb reports
 * arrivals and departures from inside libusb_handle_events*(), so something
 * must run its event handling: rather than a thread blocked in it, every file
 * descriptor libusb wants watched becomes a GUnixFDSource on the manager's
 * context, and when one fires we let libusb handle what is pending with a
 * zero timeout, so the loop never waits on libusb.  libusb tells us when its
 * set of descriptors changes (the pollfd notifiers); where it keeps timeouts
 * without a timerfd of its own, a GLib timer wakes us for the next one.
 *
 * libusb calls our hotplug callback from that event handling, on the loop;
 * the callback only schedules an idle call to the manager, which then polls
 * its USB devices from their workers.  No device I/O happens here.
 */
#include "hal/hotplug.h"

#include <ektp/hal.h>
#include <glib-unix.h>
#include <libusb.h>
#include <poll.h>

struct HalHotplug {
	GMainContext *ctx;
	libusb_context *usb;
	libusb_hotplug_callback_handle cb;
	gboolean cb_registered;
	/* libusb may call the pollfd notifiers from any thread that calls into it. */
	GMutex lock;
	GHashTable *fds; /* fd → GSource*, under lock */
	GSource *timer;  /* libusb's next timeout, when it needs us to keep it */
	GSource *notify; /* the pending call to fn: several events, one call */
	HalHotplugFunc fn;
	void *data;
	guint events;
};

static void handle_events(HalHotplug *hp);

static gboolean
on_timer(gpointer data)
{
	HalHotplug *hp = data;
	g_source_unref(hp->timer);
	hp->timer = NULL;
	handle_events(hp);
	return G_SOURCE_REMOVE;
}

/* Sets the timer to libusb's next timeout, when libusb cannot wake us itself. */
static void
arm_timer(HalHotplug *hp)
{
	if (hp->timer) {
		g_source_destroy(hp->timer);
		g_source_unref(hp->timer);
		hp->timer = NULL;
	}
	if (libusb_pollfds_handle_timeouts(hp->usb))
		return; /* a timerfd among the descriptors does it */
	struct timeval tv;
	if (libusb_get_next_timeout(hp->usb, &tv) != 1)
		return;
	guint ms = (guint)(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000);
	hp->timer = g_timeout_source_new(ms);
	g_source_set_callback(hp->timer, on_timer, hp, NULL);
	g_source_attach(hp->timer, hp->ctx);
}

static void
handle_events(HalHotplug *hp)
{
	struct timeval zero = { 0, 0 };
	int r = libusb_handle_events_timeout_completed(hp->usb, &zero, NULL);
	if (r < 0 && r != LIBUSB_ERROR_INTERRUPTED && r != LIBUSB_ERROR_TIMEOUT)
		g_warning("usb hotplug: handling libusb events: %s", libusb_strerror(r));
	arm_timer(hp);
}

static gboolean
on_fd(gint fd, GIOCondition cond, gpointer data)
{
	(void)fd, (void)cond;
	handle_events(data);
	return G_SOURCE_CONTINUE;
}

static void
on_fd_added(int fd, short events, void *data)
{
	HalHotplug *hp = data;
	GIOCondition cond = G_IO_ERR | G_IO_HUP;
	if (events & POLLIN)
		cond |= G_IO_IN;
	if (events & POLLPRI)
		cond |= G_IO_PRI;
	if (events & POLLOUT)
		cond |= G_IO_OUT;
	GSource *src = g_unix_fd_source_new(fd, cond);
	g_source_set_callback(src, G_SOURCE_FUNC(on_fd), hp, NULL);
	g_mutex_lock(&hp->lock);
	g_source_attach(src, hp->ctx);
	/* Replacing an entry destroys the old source (the table's value free). */
	g_hash_table_insert(hp->fds, GINT_TO_POINTER(fd), src);
	g_mutex_unlock(&hp->lock);
}

static void
on_fd_removed(int fd, void *data)
{
	HalHotplug *hp = data;
	g_mutex_lock(&hp->lock);
	g_hash_table_remove(hp->fds, GINT_TO_POINTER(fd));
	g_mutex_unlock(&hp->lock);
}

static void
source_drop(gpointer src)
{
	g_source_destroy(src);
	g_source_unref(src);
}

static gboolean
on_notify(gpointer data)
{
	HalHotplug *hp = data;
	g_source_unref(hp->notify);
	hp->notify = NULL;
	hp->fn(hp->data);
	return G_SOURCE_REMOVE;
}

/* libusb's callback, inside handle_events() on the loop: note it, nothing more. */
static int
on_hotplug(libusb_context *usb, libusb_device *d, libusb_hotplug_event ev, void *data)
{
	(void)usb;
	HalHotplug *hp = data;
	struct libusb_device_descriptor desc = { 0 };
	libusb_get_device_descriptor(d, &desc); /* cached by libusb: no I/O */
	g_debug("usb %03u/%03u %04x:%04x %s", libusb_get_bus_number(d),
		libusb_get_device_address(d), desc.idVendor, desc.idProduct,
		ev == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED ? "arrived" : "left");
	hp->events++;
	if (!hp->notify) {
		hp->notify = g_idle_source_new();
		g_source_set_priority(hp->notify, G_PRIORITY_DEFAULT);
		g_source_set_callback(hp->notify, on_notify, hp, NULL);
		g_source_attach(hp->notify, hp->ctx);
	}
	return 0; /* stay registered */
}

HalHotplug *
hal_hotplug_start(GMainContext *ctx, HalHotplugFunc fn, void *data, GError **error)
{
	if (!libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG)) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_UNSUPPORTED,
			    "libusb has no hotplug support on this platform");
		return NULL;
	}
	HalHotplug *hp = g_new0(HalHotplug, 1);
	hp->ctx = g_main_context_ref(ctx);
	hp->fn = fn;
	hp->data = data;
	g_mutex_init(&hp->lock);
	hp->fds = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, source_drop);
	int r = libusb_init(&hp->usb);
	if (r < 0) {
		hp->usb = NULL;
		g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED, "libusb: %s", libusb_strerror(r));
		goto fail;
	}
	/* Notifiers first, then the current set, so no descriptor slips between. */
	libusb_set_pollfd_notifiers(hp->usb, on_fd_added, on_fd_removed, hp);
	const struct libusb_pollfd **fds = libusb_get_pollfds(hp->usb);
	if (!fds) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED,
			    "libusb cannot give its file descriptors");
		goto fail;
	}
	for (const struct libusb_pollfd **p = fds; *p; p++) {
		g_mutex_lock(&hp->lock);
		gboolean known = g_hash_table_contains(hp->fds, GINT_TO_POINTER((*p)->fd));
		g_mutex_unlock(&hp->lock);
		if (!known)
			on_fd_added((*p)->fd, (*p)->events, hp);
	}
	libusb_free_pollfds(fds);
	r = libusb_hotplug_register_callback(
		hp->usb, LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT, 0,
		LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY,
		on_hotplug, hp, &hp->cb);
	if (r < 0) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED, "libusb hotplug: %s",
			    libusb_strerror(r));
		goto fail;
	}
	hp->cb_registered = TRUE;
	arm_timer(hp);
	return hp;
fail:
	hal_hotplug_stop(hp);
	return NULL;
}

void
hal_hotplug_stop(HalHotplug *hp)
{
	if (!hp)
		return;
	if (hp->usb) {
		libusb_set_pollfd_notifiers(hp->usb, NULL, NULL, NULL);
		if (hp->cb_registered)
			libusb_hotplug_deregister_callback(hp->usb, hp->cb);
	}
	g_mutex_lock(&hp->lock);
	g_hash_table_remove_all(hp->fds);
	g_mutex_unlock(&hp->lock);
	if (hp->timer)
		source_drop(hp->timer);
	if (hp->notify)
		source_drop(hp->notify);
	if (hp->usb)
		libusb_exit(hp->usb);
	g_hash_table_unref(hp->fds);
	g_mutex_clear(&hp->lock);
	g_main_context_unref(hp->ctx);
	g_free(hp);
}

guint
hal_hotplug_events(const HalHotplug *hp)
{
	return hp->events;
}
