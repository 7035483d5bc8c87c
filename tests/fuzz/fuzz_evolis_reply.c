/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the printer reply parser of the evolis driver
 * (drivers/evolis/protocol.c): the input's first line is the command that was
 * sent, the rest the bytes the printer answered.  Replies are cut where
 * evo_reply_end() says, each is checked against the command, and an error
 * reply's CUPS reason is looked up.  A cut must lie inside the buffer; a
 * failed check must say why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/evolis/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	if (!nl)
		return 0;
	g_autofree char *command = g_strndup((const char *)data, (gsize)(nl - data));
	const uint8_t *buf = nl + 1;
	size_t len = size - (size_t)(nl - data) - 1;

	while (len > 0) {
		gssize end = evo_reply_end(buf, len);
		if (end < 0)
			break; /* incomplete: the driver waits for more */
		if ((size_t)end >= len || (buf[end] != '\r' && buf[end] != '\0'))
			abort();
		g_autofree char *reply = g_strndup((const char *)buf, (gsize)end);
		GError *e = NULL;
		if (evo_reply_check(command, reply, &e) < 0) {
			if (!e || !e->message[0])
				abort();
			g_error_free(e);
		} else if (e) {
			abort();
		}
		const char *reason = evo_reason(reply);
		if (reason && !reason[0])
			abort();
		buf += end + 1;
		len -= (size_t)end + 1;
	}
	return 0;
}
