/* SPDX-License-Identifier: MIT */
/*
 * pcsc_wait: the readiness probe of tests/pcsc/harness.sh.  It asks pcscd
 * itself, through libpcsclite, until what it waits for holds: pcscd answers
 * and lists a reader (and a card is in it, or none is), or pcscd has gone.
 * Neither opensc-tool -l (exit 0 without pcscd) nor a TCP connect to vpcd's
 * port (vpcd would take the connection for a card) can tell that.
 *
 *   pcsc_wait [-t SECONDS] [-r READER] [-c | -e | -g]
 *     -r READER  a reader whose name contains READER must be listed (default: any reader)
 *     -c         and a card must be present in it
 *     -e         and no card in it
 *     -g         wait until pcscd is gone (SCardEstablishContext: no service)
 *     -t         give up after SECONDS (default 10)
 * Exit status: 0 once it holds, 1 on timeout (saying what it saw last), 2 bad usage.
 */
#include <PCSC/winscard.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef enum { WANT_READER, WANT_CARD, WANT_EMPTY, WANT_GONE } Want;

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 1 when WANT holds, 0 when not yet; SAW says what was seen. */
static int
look(Want want, const char *reader, char *saw, size_t saw_len)
{
	SCARDCONTEXT ctx;
	LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
	if (rv != SCARD_S_SUCCESS) {
		snprintf(saw, saw_len, "no pcscd (%s)", pcsc_stringify_error(rv));
		return want == WANT_GONE;
	}
	int ok = 0;
	char buf[4096];
	DWORD len = sizeof buf;
	rv = SCardListReaders(ctx, NULL, buf, &len);
	if (rv != SCARD_S_SUCCESS) {
		snprintf(saw, saw_len, "pcscd up, no readers (%s)", pcsc_stringify_error(rv));
		goto out;
	}
	const char *found = NULL;
	for (const char *r = buf; r < buf + len && *r; r += strlen(r) + 1)
		if (!found && (!reader || strstr(r, reader)))
			found = r;
	if (!found) {
		snprintf(saw, saw_len, "pcscd up, no reader matching \"%.200s\"", reader ? reader : "");
		goto out;
	}
	SCARD_READERSTATE rs = { .szReader = found, .dwCurrentState = SCARD_STATE_UNAWARE };
	rv = SCardGetStatusChange(ctx, 0, &rs, 1);
	if (rv != SCARD_S_SUCCESS) {
		snprintf(saw, saw_len, "reader \"%.200s\": %s", found, pcsc_stringify_error(rv));
		goto out;
	}
	int card = (rs.dwEventState & SCARD_STATE_PRESENT) != 0;
	snprintf(saw, saw_len, "reader \"%.200s\", %s", found, card ? "card present" : "no card");
	ok = want == WANT_READER || (want == WANT_CARD && card) || (want == WANT_EMPTY && !card);
out:
	SCardReleaseContext(ctx);
	return ok;
}

int
main(int argc, char **argv)
{
	Want want = WANT_READER;
	const char *reader = NULL;
	double timeout = 10;
	int c;
	while ((c = getopt(argc, argv, "t:r:ceg")) != -1) {
		switch (c) {
		case 't':
			timeout = atof(optarg);
			break;
		case 'r':
			reader = optarg;
			break;
		case 'c':
			want = WANT_CARD;
			break;
		case 'e':
			want = WANT_EMPTY;
			break;
		case 'g':
			want = WANT_GONE;
			break;
		default:
			fprintf(stderr,
				"usage: pcsc_wait [-t SECONDS] [-r READER] [-c | -e | -g]\n");
			return 2;
		}
	}
	char saw[512] = "";
	double end = now_s() + timeout;
	for (;;) {
		if (look(want, reader, saw, sizeof saw))
			return 0;
		if (now_s() >= end)
			break;
		usleep(50 * 1000);
	}
	fprintf(stderr, "pcsc_wait: gave up after %.1f s; last saw: %s\n", timeout, saw);
	return 1;
}
