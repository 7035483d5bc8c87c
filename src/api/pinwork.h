/* SPDX-License-Identifier: MIT */
/* Running PIN verification and hashing in a worker thread for a paused request. */
#ifndef EKTP_API_PINWORK_H
#define EKTP_API_PINWORK_H

#include "api/internal.h"

typedef struct {
	/* inputs, owned by the job */
	char *verify_pin;     /* checked against verify_against when set */
	char *verify_against; /* a stored hash */
	char *new_pin;        /* hashed at cost into new_hash when set */
	guint64 cost;
	/* outputs */
	gboolean verified;
	char *new_hash;
	GError *error;
} ApiPinJob;

void api_pin_job_free(ApiPinJob *job);

/* Called on the main loop when the work is done; JOB is freed after it returns. */
typedef void (*ApiPinDone)(ApiRequest *req, ApiPinJob *job);

/* Pauses REQ, runs JOB in a thread (takes ownership), then calls DONE. */
void api_pin_work(ApiRequest *req, ApiPinJob *job, ApiPinDone done);

#endif
