/* SPDX-License-Identifier: MIT */
/*
 * PIN hashing off the main loop.  scrypt takes tens of milliseconds by
 * design; the request is paused, the hash runs in GLib's thread pool, and the
 * handler's second half runs back on the loop, where the store is used.
 */
#include "api/pinwork.h"

#include <string.h>

#include "crypto/crypto.h"

void
api_pin_job_free(ApiPinJob *job)
{
	if (!job)
		return;
	if (job->verify_pin)
		crypto_wipe(job->verify_pin, strlen(job->verify_pin));
	if (job->new_pin)
		crypto_wipe(job->new_pin, strlen(job->new_pin));
	g_free(job->verify_pin);
	g_free(job->verify_against);
	g_free(job->new_pin);
	g_free(job->new_hash);
	g_clear_error(&job->error);
	g_free(job);
}

static void
work(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
	(void)source, (void)cancel;
	ApiPinJob *job = data;
	if (job->verify_pin)
		job->verified = crypto_pin_verify(job->verify_pin, job->verify_against) == 1;
	if (job->new_pin)
		job->new_hash = crypto_pin_hash(job->new_pin, job->cost, &job->error);
	g_task_return_boolean(task, TRUE);
}

typedef struct {
	ApiRequest *req;
	ApiPinDone done;
} Pending;

static void
finished(GObject *source, GAsyncResult *res, gpointer data)
{
	(void)source;
	Pending *p = data;
	ApiPinJob *job = g_task_get_task_data(G_TASK(res));
	p->done(p->req, job);
	g_free(p);
}

void
api_pin_work(ApiRequest *req, ApiPinJob *job, ApiPinDone done)
{
	Pending *p = g_new(Pending, 1);
	p->req = req;
	p->done = done;
	api_defer(req);
	GTask *task = g_task_new(NULL, NULL, finished, p);
	g_task_set_task_data(task, job, (GDestroyNotify)api_pin_job_free);
	g_task_run_in_thread(task, work);
	g_object_unref(task);
}
