/* SPDX-License-Identifier: MIT */
/*
 * The device manager's threading contract: a driver method runs on the
 * device's worker, but its result is applied only on the main loop, never on
 * the worker (state, listeners and the store live on the loop), and a hung
 * method is answered by the timeout while the late result is dropped.  While
 * a capture runs, snapshots show the device busy, but the listener (the audit
 * log) never hears of it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "hal/manager.h"
#include "testutil.h"

typedef struct {
	char *dir;
	EktpConfig *cfg;
	HalManager *m;
	int changes;
	gboolean listener_saw_busy;
	GThread *listener_thread;
} Fixture;

static void
on_state(const HalInfo *now, HalState before, void *data)
{
	Fixture *f = data;
	f->changes++;
	f->listener_thread = g_thread_self();
	if (now->state == HAL_STATE_BUSY || before == HAL_STATE_BUSY)
		f->listener_saw_busy = TRUE;
}

static int
setup_with(void **state, const char *conf_text)
{
	Fixture *f = g_new0(Fixture, 1);
	GError *error = NULL;
	tu_quiet_logs();
	f->dir = tu_tmp_dir("hal");
	g_autofree char *conf = tu_write_file(f->dir, "ektpd.conf", conf_text);
	f->cfg = cfg_load(conf, f->dir, &error);
	if (!f->cfg)
		fail_msg("cfg_load: %s", error->message);
	f->m = hal_manager_new(f->cfg, on_state, f, &error);
	if (!f->m)
		fail_msg("hal_manager_new: %s", error->message);
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return setup_with(state, "[device cam]\ndriver = sim-iris\n"
				 "poll_interval = 100\ntimeout = 200\n");
}

/* Every answer takes 300 ms: long enough to look at the device meanwhile. */
static int
setup_slow(void **state)
{
	return setup_with(state, "[device cam]\ndriver = sim-iris\ndelay = 300\n"
				 "poll_interval = 100\ntimeout = 3000\n");
}

static int
teardown(void **state)
{
	Fixture *f = *state;
	hal_manager_free(f->m);
	cfg_free(f->cfg);
	tu_remove_dir(f->dir);
	g_free(f->dir);
	g_free(f);
	return 0;
}

static HalState
state_of(Fixture *f)
{
	HalInfo *i = hal_manager_get(f->m, "cam");
	HalState s = i->state;
	hal_info_free(i);
	return s;
}

/* Iterates the loop until the device shows WANT, for at most 5 s. */
static gboolean
wait_for(Fixture *f, HalState want)
{
	gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (state_of(f) != want && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, FALSE), g_usleep(1000);
	return state_of(f) == want;
}

static void
test_results_apply_on_the_loop_only(void **state)
{
	Fixture *f = *state;
	/* The worker opens the simulator at once; without the loop running, the
	 * result must wait: the device is still absent and nobody was told. */
	g_usleep(300 * 1000);
	assert_int_equal(state_of(f), HAL_STATE_ABSENT);
	assert_int_equal(f->changes, 0);
	assert_true(wait_for(f, HAL_STATE_READY));
	assert_int_equal(f->changes, 1);
	assert_ptr_equal(f->listener_thread, g_thread_self());
}

static void
fault_done(GError *error, void *data)
{
	*(int *)data = error ? -1 : 1;
}

static void
test_hung_method_times_out(void **state)
{
	Fixture *f = *state;
	int done = 0;
	assert_true(wait_for(f, HAL_STATE_READY));
	hal_manager_inject_fault(f->m, "cam", "timeout", 1, fault_done, &done);
	assert_true(wait_for(f, HAL_STATE_FAULT));
	assert_int_equal(done, 1);
	HalInfo *i = hal_manager_get(f->m, "cam");
	assert_string_equal(i->reasons[0], "timed-out");
	hal_info_free(i);
	/* The simulator hangs for twice the timeout, then answers late: dropped. */
	assert_true(wait_for(f, HAL_STATE_READY));
}

static void
test_unknown_fault_and_device(void **state)
{
	Fixture *f = *state;
	int done = 0;
	hal_manager_inject_fault(f->m, "cam", "jam", 0, fault_done, &done);
	assert_int_equal(done, -1); /* an iris camera cannot jam */
	done = 0;
	hal_manager_inject_fault(f->m, "nope", "unplug", 0, fault_done, &done);
	assert_int_equal(done, -1);
}

typedef struct {
	int calls;
	gboolean ok;
	HalState state_in_callback;
	Fixture *f;
} Captured;

static void
capture_done(HalImage *image, const HalCaptureMeta *meta, GError *error, void *data)
{
	(void)meta;
	Captured *c = data;
	c->calls++;
	c->ok = image && !error;
	c->state_in_callback = state_of(c->f);
	if (image) {
		g_free(image->pixels);
		g_free(image);
	}
}

/* Runs the loop for MS milliseconds, or until *DONE; TRUE when busy was seen
 * in every snapshot taken meanwhile (list and get). */
static gboolean
busy_throughout(Fixture *f, const int *done, guint ms)
{
	gboolean busy = TRUE;
	gint64 end = g_get_monotonic_time() + ms * 1000;
	while (!*done && g_get_monotonic_time() < end) {
		g_autoptr(GPtrArray) list = hal_manager_list(f->m);
		HalInfo *listed = list->pdata[0];
		busy = busy && state_of(f) == HAL_STATE_BUSY && listed->state == HAL_STATE_BUSY;
		g_main_context_iteration(NULL, FALSE), g_usleep(5000);
	}
	return busy;
}

static gboolean
wait_captured(const Captured *c)
{
	gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (c->calls == 0 && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, FALSE), g_usleep(1000);
	return c->calls == 1;
}

static void
test_capture_shows_busy_quietly(void **state)
{
	Fixture *f = *state;
	assert_true(wait_for(f, HAL_STATE_READY));
	int changes = f->changes;
	gint64 asked = g_get_real_time() / G_USEC_PER_SEC;

	Captured c = { .f = f };
	hal_manager_capture(f->m, "cam", HAL_POS_RIGHT_EYE, capture_done, &c);
	/* Busy from the moment it is asked for, through the 300 ms it takes
	 * (status polls come due meanwhile and wait), until it completes. */
	HalInfo *i = hal_manager_get(f->m, "cam");
	assert_int_equal(i->state, HAL_STATE_BUSY);
	assert_true(i->state_since >= asked);
	hal_info_free(i);
	assert_true(busy_throughout(f, &c.calls, 200));
	assert_true(wait_captured(&c));
	assert_true(c.ok);
	/* Its completion already sees the device ready again. */
	assert_int_equal(c.state_in_callback, HAL_STATE_READY);
	assert_int_equal(state_of(f), HAL_STATE_READY);
	/* Busy was shown, never reported: no audit row pairs per capture. */
	assert_int_equal(f->changes, changes);
	assert_false(f->listener_saw_busy);
}

static void
test_busy_returns_to_degraded(void **state)
{
	Fixture *f = *state;
	assert_true(wait_for(f, HAL_STATE_READY));
	hal_manager_set_advisory(f->m, "cam", "quality-declining", "trend");
	assert_int_equal(state_of(f), HAL_STATE_DEGRADED);
	int changes = f->changes;

	Captured c = { .f = f };
	hal_manager_capture(f->m, "cam", HAL_POS_LEFT_EYE, capture_done, &c);
	HalInfo *i = hal_manager_get(f->m, "cam");
	assert_int_equal(i->state, HAL_STATE_BUSY);
	/* The warning still shows while busy. */
	assert_non_null(i->reasons[0]);
	assert_string_equal(i->reasons[0], "quality-declining");
	hal_info_free(i);
	assert_true(busy_throughout(f, &c.calls, 200));
	assert_true(wait_captured(&c));
	assert_int_equal(state_of(f), HAL_STATE_DEGRADED);
	assert_int_equal(f->changes, changes);
	assert_false(f->listener_saw_busy);
}

static void
refresh_done(const HalInfo *info, GError *error, void *data)
{
	(void)info;
	*(int *)data = error ? -1 : 1;
}

/* A status read is no long operation: the device stays ready meanwhile. */
static void
test_status_read_is_not_busy(void **state)
{
	Fixture *f = *state;
	assert_true(wait_for(f, HAL_STATE_READY));
	int done = 0;
	hal_manager_refresh(f->m, "cam", refresh_done, &done);
	gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	int samples = 0;
	while (!done && g_get_monotonic_time() < end) {
		assert_int_equal(state_of(f), HAL_STATE_READY);
		samples++;
		g_main_context_iteration(NULL, FALSE), g_usleep(5000);
	}
	assert_int_equal(done, 1);
	assert_true(samples > 10); /* it did take its 300 ms */
}

/* An encoder: a chip that fits is written, one too large or a failing chip
 * is refused naming why, a camera cannot encode, and the caller's chip may
 * go as soon as the call returns (the operation keeps its own copy). */
typedef struct {
	int calls;
	char *message;
} Encoded;

static void
encode_done(GError *error, void *data)
{
	Encoded *en = data;
	en->calls++;
	g_free(en->message);
	en->message = error ? g_strdup(error->message) : NULL;
}

static void
encode_wait(Encoded *en, int calls)
{
	gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (en->calls < calls && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, FALSE), g_usleep(1000);
	assert_int_equal(en->calls, calls);
}

static int
setup_encoder(void **state)
{
	return setup_with(state, "[device cam]\ndriver = sim-encoder\ncapacity = 1024\n"
				 "poll_interval = 100\ntimeout = 2000\n[device eye]\n"
				 "driver = sim-iris\npoll_interval = 100\n");
}

static void
test_encode(void **state)
{
	Fixture *f = *state;
	Encoded en = { 0 };
	assert_true(wait_for(f, HAL_STATE_READY));
	static const uint8_t aid[] = { 0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01 };
	uint8_t *a = g_malloc0(600), *b = g_malloc0(300);
	HalChipFile files[] = { { 0x0101, a, 600 }, { 0x0102, b, 300 } };
	HalChip chip = { aid, sizeof aid, files, 2 };
	hal_manager_encode(f->m, "cam", &chip, encode_done, &en);
	g_free(a); /* the operation has its own copy */
	g_free(b);
	encode_wait(&en, 1);
	assert_null(en.message);

	uint8_t big[1100] = { 0 };
	HalChipFile one[] = { { 0x0101, big, sizeof big } };
	HalChip too_big = { aid, sizeof aid, one, 1 };
	hal_manager_encode(f->m, "cam", &too_big, encode_done, &en);
	encode_wait(&en, 2);
	assert_non_null(strstr(en.message, "do not fit"));

	/* From here on a chip whose bytes stay (the first one's were freed above). */
	static const uint8_t small[100];
	HalChipFile kept[] = { { 0x0101, small, sizeof small } };
	chip = (HalChip){ aid, sizeof aid, kept, 1 };
	int done = 0;
	hal_manager_inject_fault(f->m, "cam", "chip-failure", 0, fault_done, &done);
	while (!done)
		g_main_context_iteration(NULL, TRUE);
	hal_manager_encode(f->m, "cam", &chip, encode_done, &en);
	encode_wait(&en, 3);
	assert_non_null(en.message);
	assert_non_null(strstr(en.message, "chip failure"));

	hal_manager_encode(f->m, "eye", &chip, encode_done, &en);
	assert_int_equal(en.calls, 4); /* refused at once */
	assert_non_null(strstr(en.message, "cannot encode"));
	g_free(en.message);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_results_apply_on_the_loop_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hung_method_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_fault_and_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capture_shows_busy_quietly, setup_slow,
						teardown),
		cmocka_unit_test_setup_teardown(test_busy_returns_to_degraded, setup_slow, teardown),
		cmocka_unit_test_setup_teardown(test_status_read_is_not_busy, setup_slow, teardown),
		cmocka_unit_test_setup_teardown(test_encode, setup_encoder, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
