/* SPDX-License-Identifier: MIT */
/* The built-in simulators, one driver table per device class. */
#ifndef EKTP_DRIVERS_SIM_H
#define EKTP_DRIVERS_SIM_H

#include <ektp/hal.h>

extern const HalDriver sim_fingerprint_driver;
extern const HalDriver sim_iris_driver;
extern const HalDriver sim_face_driver;
extern const HalDriver sim_signature_driver;
extern const HalDriver sim_printer_driver;
extern const HalDriver sim_encoder_driver;

#endif
