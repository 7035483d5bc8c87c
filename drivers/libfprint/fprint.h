/* SPDX-License-Identifier: MIT */
/*
 * The libfprint fingerprint driver: any libfprint device that can capture
 * images (a real sensor, or libfprint's own virtual_image device in tests).
 */
#ifndef EKTP_DRIVERS_FPRINT_H
#define EKTP_DRIVERS_FPRINT_H

#include <ektp/hal.h>

extern const HalDriver fprint_driver;

/* libfprint numbers fingers left hand first (FpFinger: 1 left thumb …
 * 5 left little, 6 right thumb … 10 right little); ISO/IEC 19794 and
 * ANSI/NIST number the right hand first (1 right thumb … 10 left little).
 * These convert between the two; anything out of range becomes 0 (unknown)
 * in both directions. */
int fprint_finger_to_iso(int fp_finger);
int fprint_finger_from_iso(int iso_position);

#endif
