/* SPDX-License-Identifier: MIT */
/*
 * The libfprint driver's finger numbering: libfprint counts the left hand
 * first, ISO/IEC 19794 the right hand first.  Checked against libfprint's own
 * FpFinger constants, finger by finger, so a change on either side shows.
 * (The driver itself is tested against libfprint's virtual_image device in
 * tests/regress/t_libfprint.sh.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fprint.h>

#include "drivers/libfprint/fprint.h"

static const struct {
	FpFinger fp;
	int iso;
} fingers[] = {
	{ FP_FINGER_RIGHT_THUMB, 1 }, { FP_FINGER_RIGHT_INDEX, 2 }, { FP_FINGER_RIGHT_MIDDLE, 3 },
	{ FP_FINGER_RIGHT_RING, 4 },  { FP_FINGER_RIGHT_LITTLE, 5 }, { FP_FINGER_LEFT_THUMB, 6 },
	{ FP_FINGER_LEFT_INDEX, 7 },  { FP_FINGER_LEFT_MIDDLE, 8 },  { FP_FINGER_LEFT_RING, 9 },
	{ FP_FINGER_LEFT_LITTLE, 10 },
};

static void
test_each_finger_both_ways(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof fingers / sizeof fingers[0]; i++) {
		assert_int_equal(fprint_finger_to_iso(fingers[i].fp), fingers[i].iso);
		assert_int_equal(fprint_finger_from_iso(fingers[i].iso), fingers[i].fp);
	}
}

static void
test_numbering_really_differs(void **state)
{
	(void)state;
	/* The point of the table: the same number means different fingers. */
	assert_int_equal(FP_FINGER_LEFT_THUMB, 1);
	assert_int_equal(fprint_finger_to_iso(1), 6);
	assert_int_equal(fprint_finger_from_iso(1), FP_FINGER_RIGHT_THUMB);
	assert_int_equal(FP_FINGER_RIGHT_THUMB, 6);
}

static void
test_out_of_range_is_unknown(void **state)
{
	(void)state;
	assert_int_equal(fprint_finger_to_iso(FP_FINGER_UNKNOWN), HAL_POS_UNKNOWN);
	assert_int_equal(fprint_finger_to_iso(11), HAL_POS_UNKNOWN);
	assert_int_equal(fprint_finger_to_iso(-1), HAL_POS_UNKNOWN);
	assert_int_equal(fprint_finger_from_iso(0), FP_FINGER_UNKNOWN);
	assert_int_equal(fprint_finger_from_iso(11), FP_FINGER_UNKNOWN);
	assert_int_equal(fprint_finger_from_iso(-3), FP_FINGER_UNKNOWN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_finger_both_ways),
		cmocka_unit_test(test_numbering_really_differs),
		cmocka_unit_test(test_out_of_range_is_unknown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
