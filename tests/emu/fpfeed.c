/* SPDX-License-Identifier: MIT */
/*
 * fpfeed: plays the finger on libfprint's virtual_image device.  It connects
 * to the device's socket (the path in FP_VIRTUAL_IMAGE, given here as the
 * first argument) and sends libfprint's binary messages: two native-endian
 * int32 (a, b), then for an image a*b bytes of 8-bit grey.
 *
 *   fpfeed SOCKET STEP...
 *     synth SEED [QUALITY]  a 500 ppi print from the fingerprint simulator
 *     blank                 an all-white 400x500 image (no ridges: libfprint asks for a retry)
 *     retry CODE            a retry error (0 general, 1 too short, 2 centre finger, 3 remove finger)
 *     error CODE            a fatal device error (FpDeviceError code, e.g. 5 protocol, 10 removed)
 *     remove                the device disappears (libfprint 1.94's message -5)
 *     huge                  a header claiming a 5001-pixel-wide image (libfprint drops the client)
 *     sleep MS              waits
 *
 * It waits up to 10 s for the socket to accept, stays connected for a second
 * after the last step so the device reads everything, and exits 0 when every
 * byte was written.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "drivers/sim/synth.h"

static int
write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
send_header(int fd, int32_t a, int32_t b)
{
	int32_t hdr[2] = { a, b };
	return write_all(fd, hdr, sizeof hdr);
}

static int
connect_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path) {
		fprintf(stderr, "fpfeed: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	for (int i = 0; i < 200; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
			return fd;
		close(fd);
		usleep(50 * 1000);
	}
	fprintf(stderr, "fpfeed: cannot connect to %s: %s\n", path, strerror(errno));
	return -1;
}

static int
usage(void)
{
	fprintf(stderr, "usage: fpfeed SOCKET {synth SEED [QUALITY] | blank | retry CODE | "
			"error CODE | remove | huge | sleep MS}...\n");
	return 2;
}

int
main(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	int fd = connect_socket(argv[1]);
	if (fd < 0)
		return 1;
	int rc = 0;
	for (int i = 2; i < argc && rc == 0; i++) {
		const char *step = argv[i];
		const char *arg = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(step, "synth") == 0 && arg) {
			double q = 0.92;
			guint32 seed = (guint32)strtoul(arg, NULL, 10);
			i++;
			if (i + 1 < argc && strchr(argv[i + 1], '.'))
				q = strtod(argv[++i], NULL);
			HalImage img = { 0 };
			if (synth_fingerprint(seed, 2, q, &img, NULL) < 0)
				return 1;
			rc = send_header(fd, img.width, img.height);
			if (rc == 0)
				rc = write_all(fd, img.pixels, (size_t)img.width * (size_t)img.height);
			g_free(img.pixels);
		} else if (strcmp(step, "blank") == 0) {
			static uint8_t white[400 * 500];
			memset(white, 255, sizeof white);
			rc = send_header(fd, 400, 500);
			if (rc == 0)
				rc = write_all(fd, white, sizeof white);
		} else if ((strcmp(step, "retry") == 0 || strcmp(step, "error") == 0) && arg) {
			rc = send_header(fd, step[0] == 'r' ? -1 : -2, (int32_t)atoi(arg));
			i++;
		} else if (strcmp(step, "remove") == 0) {
			rc = send_header(fd, -5, 0);
		} else if (strcmp(step, "huge") == 0) {
			rc = send_header(fd, 5001, 10);
		} else if (strcmp(step, "sleep") == 0 && arg) {
			usleep((useconds_t)atoi(arg) * 1000);
			i++;
		} else {
			close(fd);
			return usage();
		}
	}
	if (rc < 0)
		fprintf(stderr, "fpfeed: write failed: %s\n", strerror(errno));
	sleep(1);
	close(fd);
	return rc < 0 ? 1 : 0;
}
