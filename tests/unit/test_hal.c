/* SPDX-License-Identifier: MIT */
/*
 * The device manager's threading contract: a driver method runs on the
 * device's worker, but its result is applied only on the main loop, never on
 * the worker (state, listeners and the store live on the loop), and a hung
 * method is answered by the timeout while the late result is dropped.  While
 * a capture runs, snapshots show the device busy, but the listener (the audit
 * log) never hears of it.  The simulated card printer, through the manager:
 * cards fed, printed and ejected (and written out as PNGs), every refusal's
 * reason, where it leaves the card and the FAULT it puts the printer in.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "hal/manager.h"
#include "image/image.h"
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
	/* "@DIR@" in the configuration stands for the test's own folder; each
	 * device's timeout stretches with a slow run (memcheck, sanitizers). */
	g_auto(GStrv) parts = g_strsplit(conf_text, "@DIR@", -1);
	g_autofree char *joined = g_strjoinv(f->dir, parts);
	g_auto(GStrv) lines = g_strsplit(joined, "\n", -1);
	for (char **l = lines; *l; l++) {
		if (g_str_has_prefix(*l, "timeout = ")) {
			int ms = atoi(*l + strlen("timeout = ")) * tu_slow();
			g_free(*l);
			*l = g_strdup_printf("timeout = %d", ms);
		}
	}
	g_autofree char *text = g_strjoinv("\n", lines);
	g_autofree char *conf = tu_write_file(f->dir, "ektpd.conf", text);
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
	gint64 end = g_get_monotonic_time() + 5 * tu_slow() * G_USEC_PER_SEC;
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

/* ---- the simulated card printer ---- */

/* "pr" is the printer most tests use; "small" runs out of everything soon;
 * "slow" takes 300 ms per answer; "nowhere" cannot write its cards out. */
static int
setup_printers(void **state)
{
	return setup_with(state,
			  "[device pr]\ndriver = sim-printer\nseed = 0\nserial = PR-T\n"
			  "ribbon = 30\nclean_threshold = 50\noutput_dir = @DIR@/printed\n"
			  "poll_interval = 100\ntimeout = 3000\n"
			  "[device small]\ndriver = sim-printer\nseed = 0\nhopper = 3\nribbon = 1\n"
			  "clean_threshold = 2\nreject_capacity = 1\npoll_interval = 100\n"
			  "[device slow]\ndriver = sim-printer\nseed = 0\ndelay = 300\n"
			  "poll_interval = 100\ntimeout = 3000\n"
			  "[device nowhere]\ndriver = sim-printer\nseed = 0\n"
			  "output_dir = @DIR@/ektpd.conf/printed\npoll_interval = 100\n");
}

static int
teardown_printers(void **state)
{
	Fixture *f = *state;
	g_autofree char *printed = g_build_filename(f->dir, "printed", NULL);
	tu_remove_dir(printed);
	return teardown(state);
}

static HalState
state_of_dev(Fixture *f, const char *name)
{
	HalInfo *i = hal_manager_get(f->m, name);
	HalState s = i->state;
	hal_info_free(i);
	return s;
}

/* A fresh status read of NAME (not waiting for its poll); caller frees. */
static HalInfo *
fresh(Fixture *f, const char *name)
{
	int done = 0;
	hal_manager_refresh(f->m, name, refresh_done, &done);
	gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (!done && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, FALSE), g_usleep(1000);
	assert_int_equal(done, 1);
	return hal_manager_get(f->m, name);
}

/* Waits until every printer has been opened and polled once. */
static void
wait_printers_up(Fixture *f)
{
	static const char *const names[] = { "pr", "small", "slow", "nowhere" };
	for (size_t n = 0; n < G_N_ELEMENTS(names); n++) {
		gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
		while (state_of_dev(f, names[n]) == HAL_STATE_ABSENT && g_get_monotonic_time() < end)
			g_main_context_iteration(NULL, FALSE), g_usleep(1000);
		assert_int_not_equal(state_of_dev(f, names[n]), HAL_STATE_ABSENT);
	}
}

/* One printer operation's answer, and the printer as its completion saw it. */
typedef struct {
	Fixture *f;
	const char *dev;
	int calls;
	char *message;   /* the error's, NULL on success */
	HalState state;  /* the device's state in the completion */
	char *reason;    /* its first reason then, or NULL */
} Answer;

static void
answer_done(GError *error, void *data)
{
	Answer *a = data;
	a->calls++;
	a->message = error ? g_strdup(error->message) : NULL;
	HalInfo *i = hal_manager_get(a->f->m, a->dev);
	a->state = i->state;
	a->reason = g_strdup(i->reasons[0]);
	hal_info_free(i);
}

static void
answer_wait(Answer *a)
{
	gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (a->calls == 0 && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, FALSE), g_usleep(1000);
	assert_int_equal(a->calls, 1);
}

static void
answer_clear(Answer *a)
{
	g_free(a->message);
	g_free(a->reason);
}

/* Runs a printer operation (FEED, EJECT, REJECT; PRINT with SIDE; CLEAN) to
 * its end.  Succeeds, or fails with a message starting "WANT: " and leaves
 * the printer in FAULT with reason WANT until the next status read shows what
 * the simulator says. */
enum { PRINT = 100, CLEAN };

static void
expect(Fixture *f, const char *dev, int what, const HalCardSide *side, const char *want)
{
	Answer a = { .f = f, .dev = dev };
	if (what == PRINT)
		hal_manager_card_print(f->m, dev, side, answer_done, &a);
	else if (what == CLEAN)
		hal_manager_clean(f->m, dev, answer_done, &a);
	else
		hal_manager_card_move(f->m, dev, (HalCardMove)what, answer_done, &a);
	answer_wait(&a);
	if (!want) {
		/* (A FAULT an earlier refusal showed may stand until the next poll.) */
		if (a.message)
			fail_msg("%s: operation %d refused: %s", dev, what, a.message);
	} else {
		assert_non_null(a.message);
		g_autofree char *prefix = g_strconcat(want, ": ", NULL);
		if (!g_str_has_prefix(a.message, prefix))
			fail_msg("%s: wanted \"%s…\", got \"%s\"", dev, prefix, a.message);
		assert_int_equal(a.state, HAL_STATE_FAULT);
		assert_string_equal(a.reason, want);
		HalInfo *i = hal_manager_get(f->m, dev);
		assert_string_equal(i->last_error, a.message);
		hal_info_free(i);
	}
	answer_clear(&a);
}

/* A card side: a colour gradient, with a black bar of "text". */
static HalCardSide *
side_new(void)
{
	HalCardSide *side = g_new0(HalCardSide, 1);
	uint8_t *rgb = g_malloc((gsize)HAL_CARD_W * HAL_CARD_H * 3);
	uint8_t *black = g_malloc0((gsize)HAL_CARD_W * HAL_CARD_H);
	for (int y = 0; y < HAL_CARD_H; y++) {
		for (int x = 0; x < HAL_CARD_W; x++) {
			uint8_t *p = rgb + ((size_t)y * HAL_CARD_W + x) * 3;
			p[0] = (uint8_t)(x & 0xff);
			p[1] = (uint8_t)(y & 0xff);
			p[2] = 200;
			black[(size_t)y * HAL_CARD_W + x] = y >= 100 && y < 120 && x >= 50 && x < 500;
		}
	}
	side->rgb = rgb;
	side->black = black;
	return side;
}

static void
side_free(HalCardSide *side)
{
	g_free((uint8_t *)side->rgb);
	g_free((uint8_t *)side->black);
	g_free(side);
}

/* Files in DIR (0 when it does not exist). */
static guint
files_in(const char *dir)
{
	guint n = 0;
	GDir *d = g_dir_open(dir, 0, NULL);
	if (!d)
		return 0;
	while (g_dir_read_name(d))
		n++;
	g_dir_close(d);
	return n;
}

static void
inject(Fixture *f, const char *dev, const char *kind, int count)
{
	int done = 0;
	hal_manager_inject_fault(f->m, dev, kind, count, fault_done, &done);
	while (!done)
		g_main_context_iteration(NULL, TRUE);
	assert_int_equal(done, 1);
}

/* Feed, print, eject: the counters move, the ribbon goes down by one print,
 * and the card lands in output_dir as a PNG of what was printed; a rejected
 * card does not.  After a restart the numbering goes on past the files. */
static void
test_printer_prints_a_card(void **state)
{
	Fixture *f = *state;
	wait_printers_up(f);
	HalInfo *i = fresh(f, "pr");
	assert_int_equal(i->state, HAL_STATE_READY);
	assert_null(i->reasons[0]);
	assert_int_equal(i->card_inside, 0);
	assert_int_equal(i->counter_total, 0);
	assert_int_equal(i->counter_since_clean, 0);
	assert_int_equal(i->cards_finished, 0);
	assert_int_equal(i->clean_threshold, 50);
	assert_int_equal(i->supply_remaining, 30);
	hal_info_free(i);

	HalCardSide *side = side_new();
	expect(f, "pr", HAL_CARD_FEED, NULL, NULL);
	i = fresh(f, "pr");
	assert_int_equal(i->card_inside, 1);
	assert_int_equal(i->counter_total, 1);
	assert_int_equal(i->counter_since_clean, 1);
	assert_int_equal(i->supply_remaining, 30);
	hal_info_free(i);
	expect(f, "pr", PRINT, side, NULL);
	i = fresh(f, "pr");
	assert_int_equal(i->card_inside, 1);
	assert_int_equal(i->supply_remaining, 29);
	assert_int_equal(i->cards_finished, 0);
	hal_info_free(i);
	expect(f, "pr", HAL_CARD_EJECT, NULL, NULL);
	i = fresh(f, "pr");
	assert_int_equal(i->state, HAL_STATE_READY);
	assert_int_equal(i->card_inside, 0);
	assert_int_equal(i->counter_total, 1);
	assert_int_equal(i->cards_finished, 1);
	hal_info_free(i);

	/* The card as printed: the colours, with the text black over them. */
	g_autofree char *printed = g_build_filename(f->dir, "printed", NULL);
	g_autofree char *png = g_build_filename(printed, "PR-T-000001.png", NULL);
	assert_int_equal(files_in(printed), 1); /* no temporary file left behind */
	GStatBuf st;
	assert_int_equal(g_stat(png, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	g_autofree char *data = NULL;
	gsize len = 0;
	assert_true(g_file_get_contents(png, &data, &len, NULL));
	ImageLimits lim = { 3, 1, 2000, 1, 2000, 8 << 20 };
	Image img = { 0 };
	GError *error = NULL;
	if (image_png_decode(data, len, &lim, &img, &error) < 0)
		fail_msg("%s: %s", png, error->message);
	assert_int_equal(img.width, HAL_CARD_W);
	assert_int_equal(img.height, HAL_CARD_H);
	assert_int_equal(img.ppi, 300);
	const uint8_t *text = img.pixels + ((size_t)110 * HAL_CARD_W + 60) * 3;
	assert_true(text[0] == 0 && text[1] == 0 && text[2] == 0);
	const size_t at = ((size_t)300 * HAL_CARD_W + 700) * 3;
	assert_memory_equal(img.pixels + at, side->rgb + at, 3);
	assert_memory_equal(img.pixels + 3 * 7, side->rgb + 3 * 7, 3);
	image_clear(&img);

	/* A second card, printed and rejected: the ribbon is used, no file is written. */
	expect(f, "pr", HAL_CARD_FEED, NULL, NULL);
	expect(f, "pr", PRINT, side, NULL);
	expect(f, "pr", HAL_CARD_REJECT, NULL, NULL);
	i = fresh(f, "pr");
	assert_int_equal(i->card_inside, 0);
	assert_int_equal(i->counter_total, 2);
	assert_int_equal(i->cards_finished, 1);
	assert_int_equal(i->supply_remaining, 28);
	hal_info_free(i);
	assert_int_equal(files_in(printed), 1);
	/* A blank ejected unprinted comes out white, and numbered by its pick. */
	expect(f, "pr", HAL_CARD_FEED, NULL, NULL);
	expect(f, "pr", HAL_CARD_EJECT, NULL, NULL);
	g_autofree char *third = g_build_filename(printed, "PR-T-000003.png", NULL);
	assert_true(g_file_test(third, G_FILE_TEST_IS_REGULAR));
	assert_int_equal(files_in(printed), 2);
	side_free(side);

	/* A restart forgets the counters but not the files: numbering goes on. */
	hal_manager_free(f->m);
	f->m = hal_manager_new(f->cfg, on_state, f, &error);
	assert_non_null(f->m);
	wait_printers_up(f);
	i = fresh(f, "pr");
	assert_int_equal(i->counter_total, 3);
	hal_info_free(i);
	expect(f, "pr", HAL_CARD_FEED, NULL, NULL);
	expect(f, "pr", HAL_CARD_EJECT, NULL, NULL);
	g_autofree char *fourth = g_build_filename(printed, "PR-T-000004.png", NULL);
	assert_true(g_file_test(fourth, G_FILE_TEST_IS_REGULAR));
}

/* What needs a card refuses without one (media-needed), a reject has
 * nothing to do, and a feed will not pick a second card. */
static void
test_printer_card_presence(void **state)
{
	Fixture *f = *state;
	wait_printers_up(f);
	HalCardSide *side = side_new();
	expect(f, "pr", HAL_CARD_EJECT, NULL, "media-needed");
	expect(f, "pr", PRINT, side, "media-needed");
	expect(f, "pr", HAL_CARD_REJECT, NULL, NULL);
	HalInfo *i = fresh(f, "pr");
	assert_int_equal(i->state, HAL_STATE_READY); /* the refusals were momentary */
	assert_int_equal(i->counter_total, 0);
	hal_info_free(i);
	expect(f, "pr", HAL_CARD_FEED, NULL, NULL);
	expect(f, "pr", HAL_CARD_FEED, NULL, "media-needed");
	expect(f, "pr", CLEAN, NULL, "media-needed");
	i = fresh(f, "pr");
	assert_int_equal(i->card_inside, 1);
	assert_int_equal(i->counter_total, 1); /* the refused feed picked nothing */
	hal_info_free(i);
	expect(f, "pr", HAL_CARD_REJECT, NULL, NULL);
	expect(f, "pr", HAL_CARD_REJECT, NULL, NULL);
	side_free(side);
}

/* A jam leaves the card stuck inside, refusing all but a REJECT; a jam that
 * stands until cleared keeps even that from getting it out. */
static void
test_printer_jam(void **state)
{
	Fixture *f = *state;
	wait_printers_up(f);
	HalCardSide *side = side_new();
	expect(f, "pr", HAL_CARD_FEED, NULL, NULL);
	inject(f, "pr", "jam", 1);
	expect(f, "pr", PRINT, side, "media-jam");
	HalInfo *i = fresh(f, "pr");
	assert_int_equal(i->state, HAL_STATE_FAULT);
	assert_string_equal(i->reasons[0], "media-jam");
	assert_int_equal(i->card_inside, 1);
	hal_info_free(i);
	expect(f, "pr", HAL_CARD_EJECT, NULL, "media-jam");
	expect(f, "pr", PRINT, side, "media-jam");
	expect(f, "pr", HAL_CARD_FEED, NULL, "media-jam");
	expect(f, "pr", HAL_CARD_REJECT, NULL, NULL);
	i = fresh(f, "pr");
	assert_int_equal(i->state, HAL_STATE_READY);
	assert_int_equal(i->card_inside, 0);
	assert_int_equal(i->cards_finished, 0);
	hal_info_free(i);

	/* Until cleared: the pick itself jams (the card is taken), and stays. */
	inject(f, "pr", "jam", 0);
	i = fresh(f, "pr");
	assert_int_equal(i->state, HAL_STATE_FAULT);
	assert_string_equal(i->reasons[0], "media-jam");
	assert_int_equal(i->card_inside, 0);
	hal_info_free(i);
	expect(f, "pr", HAL_CARD_FEED, NULL, "media-jam");
	expect(f, "pr", HAL_CARD_REJECT, NULL, "media-jam");
	inject(f, "pr", "clear", 0);
	i = fresh(f, "pr");
	assert_int_equal(i->state, HAL_STATE_FAULT); /* the card is still stuck */
	assert_int_equal(i->card_inside, 1);
	assert_int_equal(i->counter_total, 2);
	hal_info_free(i);
	expect(f, "pr", HAL_CARD_REJECT, NULL, NULL);
	i = fresh(f, "pr");
	assert_int_equal(i->state, HAL_STATE_READY);
	assert_int_equal(i->card_inside, 0);
	hal_info_free(i);
	g_autofree char *printed = g_build_filename(f->dir, "printed", NULL);
	assert_int_equal(files_in(printed), 0);
	side_free(side);
}

/* The ribbon: one print per card; ribbon-out refuses prints and leaves the
 * card inside, printable once the ribbon is back; a ribbon used up does the
 * same for good, and a low one warns first. */
static void
test_printer_ribbon(void **state)
{
	Fixture *f = *state;
	wait_printers_up(f);
	HalCardSide *side = side_new();
	for (int n = 1; n <= 11; n++) {
		expect(f, "pr", HAL_CARD_FEED, NULL, NULL);
		expect(f, "pr", PRINT, side, NULL);
		expect(f, "pr", HAL_CARD_EJECT, NULL, NULL);
		HalInfo *i = fresh(f, "pr");
		assert_int_equal(i->supply_remaining, 30 - n);
		assert_int_equal(i->cards_finished, n);
		/* Fewer than 20 prints left: a warning. */
		assert_int_equal(i->state, 30 - n < 20 ? HAL_STATE_DEGRADED : HAL_STATE_READY);
		if (30 - n < 20)
			assert_string_equal(i->reasons[0], "marker-supply-low");
		hal_info_free(i);
	}

	expect(f, "pr", HAL_CARD_FEED, NULL, NULL);
	inject(f, "pr", "ribbon-out", 0);
	HalInfo *i = fresh(f, "pr");
	assert_int_equal(i->state, HAL_STATE_FAULT);
	assert_string_equal(i->reasons[0], "marker-supply-empty");
	assert_int_equal(i->supply_remaining, 0);
	hal_info_free(i);
	expect(f, "pr", PRINT, side, "marker-supply-empty");
	expect(f, "pr", PRINT, side, "marker-supply-empty");
	inject(f, "pr", "clear", 0);
	i = fresh(f, "pr");
	assert_int_equal(i->card_inside, 1);
	assert_int_equal(i->supply_remaining, 19); /* refused prints use none */
	hal_info_free(i);
	expect(f, "pr", PRINT, side, NULL);
	expect(f, "pr", HAL_CARD_EJECT, NULL, NULL);

	/* "small" has one print on its ribbon. */
	expect(f, "small", HAL_CARD_FEED, NULL, NULL);
	expect(f, "small", PRINT, side, NULL);
	expect(f, "small", PRINT, side, "marker-supply-empty");
	i = fresh(f, "small");
	assert_int_equal(i->state, HAL_STATE_FAULT);
	assert_string_equal(i->reasons[0], "marker-supply-empty");
	assert_int_equal(i->supply_remaining, 0);
	assert_int_equal(i->card_inside, 1);
	hal_info_free(i);
	expect(f, "small", HAL_CARD_EJECT, NULL, NULL); /* what was printed still leaves */
	side_free(side);
}

/* The input hopper: picks take blanks until none are left (media-empty),
 * and hopper-empty refuses a feed while blanks remain. */
static void
test_printer_hopper(void **state)
{
	Fixture *f = *state;
	wait_printers_up(f);
	inject(f, "pr", "hopper-empty", 1);
	HalInfo *i = fresh(f, "pr");
	assert_int_equal(i->state, HAL_STATE_FAULT);
	assert_string_equal(i->reasons[0], "media-empty");
	hal_info_free(i);
	expect(f, "pr", HAL_CARD_FEED, NULL, "media-empty");
	i = fresh(f, "pr");
	assert_int_equal(i->state, HAL_STATE_READY); /* the one refusal used the fault up */
	assert_int_equal(i->card_inside, 0);
	assert_int_equal(i->counter_total, 0);
	hal_info_free(i);
	expect(f, "pr", HAL_CARD_FEED, NULL, NULL);
	expect(f, "pr", HAL_CARD_REJECT, NULL, NULL);

	/* "small" holds 3 blanks (a warning, media-low) and may go 2 cards
	 * between cleanings. */
	i = fresh(f, "small");
	assert_int_equal(i->state, HAL_STATE_DEGRADED);
	hal_info_free(i);
	for (int n = 0; n < 3; n++) {
		if (n == 2)
			expect(f, "small", CLEAN, NULL, NULL);
		expect(f, "small", HAL_CARD_FEED, NULL, NULL);
		expect(f, "small", HAL_CARD_EJECT, NULL, NULL);
	}
	i = fresh(f, "small");
	assert_int_equal(i->state, HAL_STATE_FAULT);
	assert_string_equal(i->reasons[0], "media-empty");
	assert_int_equal(i->counter_total, 3);
	assert_int_equal(i->cards_finished, 3);
	hal_info_free(i);
	expect(f, "small", HAL_CARD_FEED, NULL, "media-empty");
}

/* Cleaning: past clean_threshold cards a feed is refused and the status
 * says so; the cycle resets the count.  The injected fault acts the same. */
static void
test_printer_cleaning(void **state)
{
	Fixture *f = *state;
	wait_printers_up(f);
	for (int n = 1; n <= 2; n++) {
		expect(f, "small", HAL_CARD_FEED, NULL, NULL);
		expect(f, "small", HAL_CARD_REJECT, NULL, n == 2 ? "output-area-full" : NULL);
		if (n == 2) /* the reject box holds 1: the second card stays in */
			expect(f, "small", HAL_CARD_EJECT, NULL, NULL);
	}
	HalInfo *i = fresh(f, "small");
	assert_int_equal(i->counter_since_clean, 2);
	assert_int_equal(i->clean_threshold, 2);
	assert_int_equal(i->state, HAL_STATE_DEGRADED);
	gboolean said = FALSE, full = FALSE;
	for (int r = 0; i->reasons[r]; r++) {
		said = said || strcmp(i->reasons[r], "cleaning-required") == 0;
		full = full || strcmp(i->reasons[r], "output-area-full") == 0;
	}
	assert_true(said);
	assert_true(full);
	hal_info_free(i);
	expect(f, "small", HAL_CARD_FEED, NULL, "cleaning-required");
	expect(f, "small", CLEAN, NULL, NULL);
	i = fresh(f, "small");
	assert_int_equal(i->counter_since_clean, 0);
	assert_int_equal(i->counter_total, 2);
	hal_info_free(i);
	expect(f, "small", HAL_CARD_FEED, NULL, NULL);
	expect(f, "small", HAL_CARD_EJECT, NULL, NULL);

	inject(f, "pr", "cleaning-required", 0);
	i = fresh(f, "pr");
	assert_int_equal(i->state, HAL_STATE_DEGRADED);
	assert_string_equal(i->reasons[0], "cleaning-required");
	hal_info_free(i);
	expect(f, "pr", HAL_CARD_FEED, NULL, "cleaning-required");
	expect(f, "pr", CLEAN, NULL, NULL);
	i = fresh(f, "pr");
	assert_int_equal(i->state, HAL_STATE_READY);
	hal_info_free(i);
	expect(f, "pr", HAL_CARD_FEED, NULL, NULL);
	expect(f, "pr", HAL_CARD_REJECT, NULL, NULL);
}

/* An open cover stops every motion and the cleaning cycle; the card stays. */
static void
test_printer_cover_open(void **state)
{
	Fixture *f = *state;
	wait_printers_up(f);
	HalCardSide *side = side_new();
	expect(f, "pr", HAL_CARD_FEED, NULL, NULL);
	inject(f, "pr", "cover-open", 0);
	HalInfo *i = fresh(f, "pr");
	assert_int_equal(i->state, HAL_STATE_FAULT);
	assert_string_equal(i->reasons[0], "cover-open");
	hal_info_free(i);
	expect(f, "pr", PRINT, side, "cover-open");
	expect(f, "pr", HAL_CARD_EJECT, NULL, "cover-open");
	expect(f, "pr", HAL_CARD_REJECT, NULL, "cover-open");
	expect(f, "pr", CLEAN, NULL, "cover-open");
	inject(f, "pr", "clear", 0);
	i = fresh(f, "pr");
	assert_int_equal(i->state, HAL_STATE_READY);
	assert_int_equal(i->card_inside, 1);
	assert_int_equal(i->supply_remaining, 30);
	hal_info_free(i);
	expect(f, "pr", PRINT, side, NULL);
	expect(f, "pr", HAL_CARD_EJECT, NULL, NULL);
	side_free(side);
}

/* A card that cannot be written out is not ejected: it stays inside and can
 * be rejected. */
static void
test_printer_output_unwritable(void **state)
{
	Fixture *f = *state;
	wait_printers_up(f);
	expect(f, "nowhere", HAL_CARD_FEED, NULL, NULL);
	expect(f, "nowhere", HAL_CARD_EJECT, NULL, "output-area-full");
	HalInfo *i = fresh(f, "nowhere");
	assert_int_equal(i->card_inside, 1);
	assert_int_equal(i->cards_finished, 0);
	hal_info_free(i);
	expect(f, "nowhere", HAL_CARD_REJECT, NULL, NULL);
}

/* A motion takes the configured delay, and the printer shows busy meanwhile. */
static void
test_printer_delay(void **state)
{
	Fixture *f = *state;
	wait_printers_up(f);
	Answer a = { .f = f, .dev = "slow" };
	gint64 start = g_get_monotonic_time();
	hal_manager_card_move(f->m, "slow", HAL_CARD_FEED, answer_done, &a);
	assert_int_equal(state_of_dev(f, "slow"), HAL_STATE_BUSY);
	answer_wait(&a);
	assert_null(a.message);
	assert_true(g_get_monotonic_time() - start >= 300 * 1000);
	answer_clear(&a);
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
		cmocka_unit_test_setup_teardown(test_printer_prints_a_card, setup_printers,
						teardown_printers),
		cmocka_unit_test_setup_teardown(test_printer_card_presence, setup_printers,
						teardown_printers),
		cmocka_unit_test_setup_teardown(test_printer_jam, setup_printers, teardown_printers),
		cmocka_unit_test_setup_teardown(test_printer_ribbon, setup_printers,
						teardown_printers),
		cmocka_unit_test_setup_teardown(test_printer_hopper, setup_printers,
						teardown_printers),
		cmocka_unit_test_setup_teardown(test_printer_cleaning, setup_printers,
						teardown_printers),
		cmocka_unit_test_setup_teardown(test_printer_cover_open, setup_printers,
						teardown_printers),
		cmocka_unit_test_setup_teardown(test_printer_output_unwritable, setup_printers,
						teardown_printers),
		cmocka_unit_test_setup_teardown(test_printer_delay, setup_printers,
						teardown_printers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
