/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the print order's first-time voter rule (core/printing.c):
 * 17 or older on the election day, and not yet 17 at the election five years
 * before.  Birthdays on the day itself and the day after, a 29 February
 * birthday in a common year, the upper bound, no election configured, and
 * dates that are not dates.
 */
#include <stddef.h>

#include "core/printing.h"
#include "testutil.h"

static void
test_seventeen_on_the_day(void **state)
{
	(void)state;
	assert_true(print_first_time_voter("2007-02-14", "2024-02-14"));  /* 17 that very day */
	assert_false(print_first_time_voter("2007-02-15", "2024-02-14")); /* a day short */
	assert_true(print_first_time_voter("2006-12-31", "2024-02-14"));
}

static void
test_voted_before(void **state)
{
	(void)state;
	/* 21 on the day: 16 at the election before, so this is the first. */
	assert_true(print_first_time_voter("2003-02-15", "2024-02-14"));
	/* 22: was 17 at the election before. */
	assert_false(print_first_time_voter("2002-02-14", "2024-02-14"));
	assert_false(print_first_time_voter("1970-01-01", "2024-02-14"));
}

static void
test_leap_day_birthday(void **state)
{
	(void)state;
	/* Born 29 Feb 2008: not yet 17 on 28 Feb 2025, 17 on 1 Mar 2025. */
	assert_false(print_first_time_voter("2008-02-29", "2025-02-28"));
	assert_true(print_first_time_voter("2008-02-29", "2025-03-01"));
}

static void
test_no_election_or_bad_dates(void **state)
{
	(void)state;
	assert_false(print_first_time_voter("2007-01-01", ""));
	assert_false(print_first_time_voter("2007-01-01", "2024-02-30"));
	assert_false(print_first_time_voter("", "2024-02-14"));
	assert_false(print_first_time_voter("2007-13-01", "2024-02-14"));
	assert_false(print_first_time_voter("2007-01-01x", "2024-02-14"));
	assert_false(print_first_time_voter(NULL, "2024-02-14"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seventeen_on_the_day),
		cmocka_unit_test(test_voted_before),
		cmocka_unit_test(test_leap_day_birthday),
		cmocka_unit_test(test_no_election_or_bad_dates),
	};
	return cmocka_run_group_tests_name("printing", tests, NULL, NULL);
}
