/* SPDX-License-Identifier: MIT */
/*
 * The device manager's threading contract: a driver method runs on the
 * device's worker, but its result is applied only on the main loop, never on
 * the worker (state, listeners and the store live on the loop), and a hung
 * method is answered by the timeout while the late result is dropped.
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
	GThread *listener_thread;
} Fixture;

static void
on_state(const HalInfo *now, HalState before, void *data)
{
	(void)now, (void)before;
	Fixture *f = data;
	f->changes++;
	f->listener_thread = g_thread_self();
}

static int
setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	GError *error = NULL;
	tu_quiet_logs();
	f->dir = tu_tmp_dir("hal");
	g_autofree char *conf = tu_write_file(f->dir, "ektpd.conf",
					      "[device cam]\ndriver = sim-iris\n"
					      "poll_interval = 100\ntimeout = 200\n");
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_results_apply_on_the_loop_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hung_method_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_fault_and_device, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
