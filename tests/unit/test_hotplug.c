/* SPDX-License-Identifier: MIT */
/*
 * USB hotplug, through the real stack: umockdev's testbed emulates a USB
 * device (sysfs, its /dev node, and the udev uevents libudev reads from a
 * netlink socket), libusb's udev backend sees it arrive and leave, and
 * hal/hotplug.c brings libusb's event to the main loop, where the manager
 * polls its USB devices at once.  Devices are configured with a 60 s poll
 * interval, so a reaction within a second can only come from hotplug.
 *
 * Needs umockdev's preload library: tests/run runs this program under
 * umockdev-wrapper.  Without it, every test fails (it would see the host's
 * USB bus, not the testbed).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libusb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <umockdev.h>

#include "hal/hotplug.h"
#include "hal/manager.h"
#include "testutil.h"

#define SYSPATH "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1"
#define VENDOR 0x1234
#define PRODUCT 0x5678

/* A USB 2.0 device 1234:5678 with one printer-class interface (07/01/02),
 * bulk endpoints 0x01 and 0x81: its 18-byte device descriptor and its
 * 32-byte configuration, as sysfs's "descriptors" holds them. */
static const char usb_device[] =
	"P: /devices/pci0000:00/0000:00:14.0/usb1/1-1\n"
	"N: bus/usb/001/002\n"
	"E: DEVNAME=/dev/bus/usb/001/002\n"
	"E: DEVTYPE=usb_device\n"
	"E: SUBSYSTEM=usb\n"
	"E: BUSNUM=001\n"
	"E: DEVNUM=002\n"
	"A: busnum=1\\n\n"
	"A: devnum=2\\n\n"
	"A: speed=480\\n\n"
	"H: descriptors=1201000200000040341278560001010203010902200001010"
	"0c0320904000002070102000705010200020007058102000200\n";

/* ---- the test drivers: a USB one, and the same without HAL_CAP_USB ---- */

static libusb_context *drv_usb;   /* the drivers' own libusb, as a real driver has */
static gint opens[2], statuses[2]; /* calls per driver: [0] usb, [1] plain */
static gint status_delay_ms;      /* status sleeps this long after looking */

/* Whether the emulated device is on libusb's bus now. */
static gboolean
device_present(void)
{
	libusb_device **list;
	ssize_t n = libusb_get_device_list(drv_usb, &list);
	gboolean found = FALSE;
	for (ssize_t i = 0; i < n && !found; i++) {
		struct libusb_device_descriptor d;
		found = libusb_get_device_descriptor(list[i], &d) == 0 && d.idVendor == VENDOR &&
			d.idProduct == PRODUCT;
	}
	if (n >= 0)
		libusb_free_device_list(list, 1);
	return found;
}

static int
which(HalDevice *dev)
{
	return strcmp(hal_dev_option(dev, "driver"), "test-usb") == 0 ? 0 : 1;
}

static int
t_open(HalDevice *dev, GError **error)
{
	g_atomic_int_inc(&opens[which(dev)]);
	if (device_present())
		return 0;
	g_set_error(error, HAL_ERROR, HAL_ERROR_ABSENT, "no %04x:%04x on the bus", VENDOR,
		    PRODUCT);
	return -1;
}

static int
t_status(HalDevice *dev, HalStatus *out, GCancellable *cancel, GError **error)
{
	(void)cancel, (void)error;
	g_atomic_int_inc(&statuses[which(dev)]);
	gboolean present = device_present();
	g_usleep((gulong)g_atomic_int_get(&status_delay_ms) * 1000);
	out->state = present ? HAL_STATE_READY : HAL_STATE_ABSENT;
	if (!present)
		out->reasons[0] = "offline";
	return 0;
}

static const HalDriver usb_driver = {
	.abi = HAL_ABI_VERSION,
	.name = "test-usb",
	.version = "1",
	.klass = HAL_CLASS_PRINTER,
	.caps = HAL_CAP_USB,
	.open = t_open,
	.status = t_status,
};

static const HalDriver plain_driver = {
	.abi = HAL_ABI_VERSION,
	.name = "test-plain",
	.version = "1",
	.klass = HAL_CLASS_PRINTER,
	.caps = 0,
	.open = t_open,
	.status = t_status,
};

/* ---- fixture ---- */

typedef struct {
	UMockdevTestbed *tb;
	char *dir;
	EktpConfig *cfg;
	HalManager *m;
	int changes; /* of the device "scanner" */
} Fixture;

static void
on_state(const HalInfo *now, HalState before, void *data)
{
	(void)before;
	if (strcmp(now->name, "scanner") == 0)
		((Fixture *)data)->changes++;
}

static gboolean
under_umockdev(void)
{
	const char *pre = g_getenv("LD_PRELOAD");
	return pre && strstr(pre, "umockdev");
}

static int
setup(void **state)
{
	if (!under_umockdev())
		fail_msg("not under umockdev's preload: run me with umockdev-wrapper (tests/run does)");
	Fixture *f = g_new0(Fixture, 1);
	tu_quiet_logs();
	/* The testbed first: libusb's udev monitor binds to it when libusb starts. */
	f->tb = umockdev_testbed_new();
	g_atomic_int_set(&opens[0], 0), g_atomic_int_set(&opens[1], 0);
	g_atomic_int_set(&statuses[0], 0), g_atomic_int_set(&statuses[1], 0);
	g_atomic_int_set(&status_delay_ms, 0);
	assert_int_equal(libusb_init(&drv_usb), 0);
	f->dir = tu_tmp_dir("hotplug");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	Fixture *f = *state;
	hal_manager_free(f->m);
	cfg_free(f->cfg);
	libusb_exit(drv_usb);
	drv_usb = NULL;
	g_object_unref(f->tb);
	tu_remove_dir(f->dir);
	g_free(f->dir);
	g_free(f);
	return 0;
}

static void
start(Fixture *f, const char *conf_text)
{
	GError *error = NULL;
	g_autofree char *conf = tu_write_file(f->dir, "ektpd.conf", conf_text);
	f->cfg = cfg_load(conf, f->dir, &error);
	if (!f->cfg)
		fail_msg("cfg_load: %s", error->message);
	f->m = hal_manager_new(f->cfg, on_state, f, &error);
	if (!f->m)
		fail_msg("hal_manager_new: %s", error->message);
}

static HalState
state_of(Fixture *f, const char *name)
{
	HalInfo *i = hal_manager_get(f->m, name);
	HalState s = i->state;
	hal_info_free(i);
	return s;
}

static gboolean
set_flag(gpointer data)
{
	*(gboolean *)data = TRUE;
	return G_SOURCE_REMOVE;
}

/* Runs the loop, blocking in poll (so only a source that fires can wake it,
 * libusb's descriptors included), until DONE(F) or MS milliseconds passed;
 * returns the ms from T0 (monotonic µs) to DONE, or -1 on time-out. */
static double
run_until(Fixture *f, gboolean (*done)(Fixture *f), guint ms, gint64 t0)
{
	gboolean expired = FALSE;
	guint guard = g_timeout_add(ms * (guint)tu_slow(), set_flag, &expired);
	while (!done(f) && !expired)
		g_main_context_iteration(NULL, TRUE);
	if (!expired)
		g_source_remove(guard);
	return done(f) ? (double)(g_get_monotonic_time() - t0) / 1000.0 : -1.0;
}

/* Both devices' first open failed (nothing is plugged yet). */
static gboolean
initial_opens_done(Fixture *f)
{
	gboolean done = TRUE;
	for (int d = 0; d < 2; d++) {
		HalInfo *i = hal_manager_get(f->m, d ? "other" : "scanner");
		done = done && i->last_error != NULL;
		hal_info_free(i);
	}
	return done;
}

static gboolean
scanner_ready(Fixture *f)
{
	return state_of(f, "scanner") == HAL_STATE_READY;
}

static gboolean
scanner_absent(Fixture *f)
{
	return state_of(f, "scanner") == HAL_STATE_ABSENT;
}

static void
plug(Fixture *f)
{
	GError *error = NULL;
	if (!umockdev_testbed_add_from_string(f->tb, usb_device, &error))
		fail_msg("umockdev: %s", error->message);
	umockdev_testbed_uevent(f->tb, SYSPATH, "add");
}

static void
unplug(Fixture *f)
{
	umockdev_testbed_uevent(f->tb, SYSPATH, "remove");
	umockdev_testbed_remove_device(f->tb, SYSPATH);
}

static const char conf_two[] = "[device scanner]\ndriver = test-usb\n"
			       "poll_interval = 60000\ntimeout = 3000\n"
			       "[device other]\ndriver = test-plain\n"
			       "poll_interval = 60000\ntimeout = 3000\n";

/* Plugged in: the USB device is opened at once; unplugged: its next status
 * (at once too) finds it gone.  The device without HAL_CAP_USB is left alone. */
static void
test_arrival_and_departure_poll_at_once(void **state)
{
	Fixture *f = *state;
	start(f, conf_two);
	assert_true(hal_manager_hotplug_active(f->m));
	assert_true(run_until(f, initial_opens_done, 5000, g_get_monotonic_time()) >= 0);
	assert_int_equal(state_of(f, "scanner"), HAL_STATE_ABSENT);
	assert_int_equal(g_atomic_int_get(&opens[0]), 1);
	assert_int_equal(hal_manager_hotplug_polls(f->m), 0);
	int changes = f->changes;

	gint64 t0 = g_get_monotonic_time();
	plug(f);
	double arrived = run_until(f, scanner_ready, 5000, t0);
	printf("# arrival: ready after %.1f ms (poll_interval 60000 ms)\n", arrived);
	assert_true(arrived >= 0 && arrived < 1000 * tu_slow());
	assert_int_equal(hal_manager_hotplug_polls(f->m), 1);
	assert_int_equal(g_atomic_int_get(&opens[0]), 2);

	t0 = g_get_monotonic_time();
	unplug(f);
	double left = run_until(f, scanner_absent, 5000, t0);
	printf("# departure: absent after %.1f ms\n", left);
	assert_true(left >= 0 && left < 1000 * tu_slow());
	assert_int_equal(hal_manager_hotplug_polls(f->m), 2);
	assert_int_equal(g_atomic_int_get(&statuses[0]), 1);
	HalInfo *i = hal_manager_get(f->m, "scanner");
	assert_string_equal(i->reasons[0], "offline");
	hal_info_free(i);

	/* The same device without HAL_CAP_USB was opened once, at the start: no
	 * hotplug poll, so it still has not seen the device plugged meanwhile. */
	assert_int_equal(g_atomic_int_get(&opens[1]), 1);
	assert_int_equal(g_atomic_int_get(&statuses[1]), 0);
	assert_int_equal(state_of(f, "other"), HAL_STATE_ABSENT);
	/* ready, then absent: two audited changes, each once. */
	assert_int_equal(f->changes, changes + 2);
}

static void
refresh_done(const HalInfo *info, GError *error, void *data)
{
	assert_null(error);
	*(HalState *)data = info->state;
}

/* An event while the device's worker is busy: the poll waits for the queue to
 * drain and still comes (no second open; the event is not lost). */
static void
test_event_while_busy_polls_after(void **state)
{
	Fixture *f = *state;
	plug(f); /* present from the start */
	start(f, conf_two);
	assert_true(run_until(f, scanner_ready, 5000, g_get_monotonic_time()) >= 0);
	guint polls = hal_manager_hotplug_polls(f->m);

	HalState refreshed = HAL_STATE_FAULT;
	g_atomic_int_set(&status_delay_ms, 300);
	hal_manager_refresh(f->m, "scanner", refresh_done, &refreshed);
	/* Wait until the driver looked (device still there), then pull it out. */
	gint64 end = g_get_monotonic_time() + 5 * tu_slow() * G_USEC_PER_SEC;
	while (g_atomic_int_get(&statuses[0]) == 0 && g_get_monotonic_time() < end)
		g_usleep(1000);
	assert_int_equal(g_atomic_int_get(&statuses[0]), 1);
	gint64 t0 = g_get_monotonic_time();
	unplug(f);
	double left = run_until(f, scanner_absent, 5000, t0);
	printf("# departure during a 300 ms status: absent after %.1f ms\n", left);
	assert_true(left >= 0 && left < 2000 * tu_slow());
	/* The refresh had looked before the unplug: it is what a late poll fixes. */
	assert_int_equal(refreshed, HAL_STATE_READY);
	assert_int_equal(hal_manager_hotplug_polls(f->m), polls + 1);
	assert_int_equal(g_atomic_int_get(&statuses[0]), 2);
	assert_int_equal(g_atomic_int_get(&opens[0]), 1);
}

/* The shipped configuration has simulators only: libusb is never started. */
static void
test_no_usb_device_no_hotplug(void **state)
{
	Fixture *f = *state;
	start(f, "[device iris]\ndriver = sim-iris\n[device other]\ndriver = test-plain\n");
	assert_false(hal_manager_hotplug_active(f->m));
	plug(f);
	g_usleep(200 * 1000);
	while (g_main_context_iteration(NULL, FALSE))
		;
	assert_int_equal(hal_manager_hotplug_polls(f->m), 0);
}

/* ---- hal/hotplug.c alone, on a context of its own ---- */

static void
count_call(void *data)
{
	(*(int *)data)++;
}

/* How many descriptors CTX would poll now. */
static int
polled_fds(GMainContext *ctx)
{
	GPollFD fds[64];
	gint prio, timeout;
	assert_true(g_main_context_acquire(ctx));
	g_main_context_prepare(ctx, &prio);
	gint n = g_main_context_query(ctx, G_MAXINT, &timeout, fds, G_N_ELEMENTS(fds));
	assert_true(n <= (gint)G_N_ELEMENTS(fds));
	g_main_context_check(ctx, G_MAXINT, fds, n);
	g_main_context_release(ctx);
	return n;
}

static void
test_hotplug_module_on_its_context(void **state)
{
	Fixture *f = *state;
	GMainContext *ctx = g_main_context_new();
	int calls = 0;
	GError *error = NULL;
	int idle_fds = polled_fds(ctx), default_fds = polled_fds(g_main_context_default());
	HalHotplug *hp = hal_hotplug_start(ctx, count_call, &calls, &error);
	if (!hp)
		fail_msg("hal_hotplug_start: %s", error->message);
	assert_int_equal(hal_hotplug_events(hp), 0);
	/* libusb's descriptors are sources on CTX, and only there. */
	int usb_fds = polled_fds(ctx) - idle_fds;
	printf("# libusb descriptors watched on the loop: %d\n", usb_fds);
	assert_true(usb_fds >= 1);
	assert_int_equal(polled_fds(g_main_context_default()), default_fds);

	plug(f);
	gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (calls == 0 && g_get_monotonic_time() < end)
		g_main_context_iteration(ctx, TRUE);
	assert_int_equal(calls, 1);
	assert_int_equal(hal_hotplug_events(hp), 1);

	unplug(f);
	while (calls == 1 && g_get_monotonic_time() < end)
		g_main_context_iteration(ctx, TRUE);
	assert_int_equal(calls, 2);
	assert_int_equal(hal_hotplug_events(hp), 2);

	hal_hotplug_stop(hp);
	/* Stopped: no source is left, so an event wakes nobody. */
	assert_int_equal(polled_fds(ctx), idle_fds);
	plug(f);
	g_usleep(200 * 1000);
	while (g_main_context_iteration(ctx, FALSE))
		;
	assert_int_equal(calls, 2);
	g_main_context_unref(ctx);
}

int
main(void)
{
	hal_manager_add_test_driver(&usb_driver);
	hal_manager_add_test_driver(&plain_driver);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_arrival_and_departure_poll_at_once, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_event_while_busy_polls_after, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_usb_device_no_hotplug, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hotplug_module_on_its_context, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
