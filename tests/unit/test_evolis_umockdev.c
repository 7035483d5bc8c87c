/* SPDX-License-Identifier: MIT */
/*
 * The Evolis driver's USB path, through the real stack: libusb talks usbdevfs
 * to a printer-class device (07/01/02, bulk OUT 0x01, bulk IN 0x81) that
 * umockdev's testbed emulates; an ioctl handler of ours (UMockdevIoctlBase,
 * run on umockdev's own thread) plays the USB side of the printer and passes
 * the bulk-OUT bytes to the project's printer emulator (tests/emu/evoemu)
 * over TCP, and each reply it sends back as one bulk-IN transfer.  The driver
 * is driven as ektpd drives it, through the device manager, with uri
 * usb://1234:5678.
 *
 * Cases: identify and status (serial, firmware, counters from the
 * emulator); feed, print, eject with the emulator's counters and drawing
 * confirming the card; a cover opened through the emulator's control port
 * (status FAULT cover-open, a pick refused with cover-open); the printer
 * reset behind the driver's back (Srs: the next status sets Pem;2 again);
 * replies split into one-byte IN transfers with NUL padding; a reply slower than io_timeout
 * (timeout, then the printer answers again); unplugging (URBs fail, the device leaves the bus:
 * ABSENT) and plugging back (READY again).
 *
 * Needs umockdev's preload library (tests/run runs this program under
 * umockdev-wrapper) and the emulator at $EKTP_EMU_DIR/evoemu (default
 * build/default/emu/evoemu): without either every test fails.
 */
/* cmocka needs these three before it. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <umockdev.h>
#include <unistd.h>
/* After <sys/ioctl.h>: the USBDEVFS_* request macros need its _IOC helpers. */
#include <linux/usbdevice_fs.h>

#include "drivers/evolis/evolis.h"
#include "hal/manager.h"
#include "hal/registry.h"
#include "testutil.h"
#include "tests/halwait.h"

#define SYSPATH "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1"
#define DEVNODE "/dev/bus/usb/001/002"

/* A USB 2.0 device 1234:5678: device descriptor (18 bytes) and its one
 * configuration (9) with one interface (9) of class 07 printer, subclass 01,
 * protocol 02 (bidirectional), and two bulk endpoints of 512-byte packets:
 * 0x01 OUT and 0x81 IN (7 each). */
static const char usb_printer[] = "P: /devices/pci0000:00/0000:00:14.0/usb1/1-1\n"
				  "N: bus/usb/001/002\n"
				  "E: DEVNAME=/dev/bus/usb/001/002\n"
				  "E: DEVTYPE=usb_device\n"
				  "E: SUBSYSTEM=usb\n"
				  "E: BUSNUM=001\n"
				  "E: DEVNUM=002\n"
				  "A: busnum=1\\n\n"
				  "A: devnum=2\\n\n"
				  "A: speed=480\\n\n"
				  "A: bConfigurationValue=1\\n\n"
				  "H: descriptors=120100020000004034127856000101020301"
				  "09022000010100c032"
				  "090400000207010200"
				  "07050102000200"
				  "07058102000200\n";

/* ---- the USB side of the printer: usbdevfs ioctls to and from the emulator ---- */

typedef struct {
	UMockdevIoctlData *urb; /* the usbdevfs_urb (ref) */
	UMockdevIoctlData *buf; /* its buffer (ref) */
} Urb;

typedef struct {
	GMutex lock; /* the fields below: the handler's thread and the test's */
	int fd;      /* TCP to the emulator; -1 when down */
	int port;
	GByteArray *rx;     /* bytes from the emulator not yet handed out */
	GQueue parked;      /* Urb*: IN transfers waiting for a reply */
	GQueue done;        /* Urb*: ready to be reaped */
	gboolean unplugged; /* every ioctl fails with ENODEV */
	guint split;        /* >0: each reply goes out in IN transfers of this many bytes */
	gboolean pad;       /* NULs before and after every reply, as some firmware sends */
	gboolean at_reply;  /* pad: the next byte from the emulator starts a reply */
	guint swallow;      /* replies to drop: to commands the test sent, not the driver */
	guint64 out_bytes;
	guint in_transfers;
	guint claims;
} Bridge;

static void
urb_free(Urb *u)
{
	g_object_unref(u->urb);
	g_object_unref(u->buf);
	g_free(u);
}

static int
bridge_connect(Bridge *b)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)b->port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	b->fd = fd;
	g_byte_array_set_size(b->rx, 0);
	return 0;
}

static void
bridge_drop(Bridge *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

static void
set_field(UMockdevIoctlData *d, size_t offset, const void *v, size_t len)
{
	umockdev_ioctl_data_update(d, offset, (guint8 *)v, (gint)len);
}

/* Ends U with STATUS and ACTUAL bytes; queues it for reaping. */
static void
urb_finish(Bridge *b, Urb *u, int status, int actual)
{
	set_field(u->urb, offsetof(struct usbdevfs_urb, status), &status, sizeof status);
	set_field(u->urb, offsetof(struct usbdevfs_urb, actual_length), &actual, sizeof actual);
	g_queue_push_tail(&b->done, u);
}

/* The end of the first reply in RX, or NULL.  An empty GByteArray's data may
 * be NULL, which memchr must not be given even with a length of zero. */
static guint8 *
reply_end(GByteArray *rx)
{
	return rx->len > 0 ? memchr(rx->data, '\r', rx->len) : NULL;
}

/* Reads what the emulator sent and gives each reply (up to its CR) to the
 * oldest waiting IN transfer. */
static void
pump(Bridge *b)
{
	if (b->fd >= 0) {
		uint8_t buf[4096];
		for (;;) {
			ssize_t n = recv(b->fd, buf, sizeof buf, MSG_DONTWAIT);
			if (n > 0 && !b->pad) {
				g_byte_array_append(b->rx, buf, (guint)n);
				continue;
			}
			static const guint8 nuls[3] = {0, 0, 0};
			for (ssize_t k = 0; k < n; k++) {
				if (b->at_reply)
					g_byte_array_append(b->rx, nuls, 1);
				g_byte_array_append(b->rx, buf + k, 1);
				b->at_reply = buf[k] == '\r';
				if (b->at_reply)
					g_byte_array_append(b->rx, nuls, 3);
			}
			if (n > 0)
				continue;
			if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
				bridge_drop(b); /* the printer lost power: its URBs fail below */
			break;
		}
	}
	guint8 *cr;
	while (b->swallow > 0 && (cr = reply_end(b->rx))) {
		g_byte_array_remove_range(b->rx, 0, (guint)(cr - b->rx->data) + 1);
		b->swallow--;
	}
	while (!g_queue_is_empty(&b->parked) && b->swallow == 0) {
		Urb *u = g_queue_peek_head(&b->parked);
		cr = reply_end(b->rx);
		if (!cr && b->fd < 0) {
			g_queue_pop_head(&b->parked);
			urb_finish(b, u, -EPROTO, 0);
			continue;
		}
		if (!cr)
			break;
		size_t len = (size_t)(cr - b->rx->data) + 1;
		/* Trailing NUL padding goes with the reply, as a printer pads. */
		while (len < b->rx->len && b->rx->data[len] == 0)
			len++;
		if (b->split && len > b->split)
			len = b->split;
		size_t room = (size_t)u->buf->data_len;
		len = MIN(len, room);
		g_queue_pop_head(&b->parked);
		umockdev_ioctl_data_update(u->buf, 0, b->rx->data, (gint)len);
		g_byte_array_remove_range(b->rx, 0, (guint)len);
		b->in_transfers++;
		urb_finish(b, u, 0, (int)len);
	}
}

static int
send_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static gboolean
on_ioctl(UMockdevIoctlBase *base, UMockdevIoctlClient *client, gpointer data)
{
	(void)base;
	Bridge *b = data;
	gulong req = umockdev_ioctl_client_get_request(client);
	UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
	GError *e = NULL;
	g_mutex_lock(&b->lock);
	if (b->unplugged) {
		umockdev_ioctl_client_complete(client, -1, ENODEV);
		goto out;
	}
	switch (req) {
	case USBDEVFS_GET_CAPABILITIES: {
		UMockdevIoctlData *d = umockdev_ioctl_data_resolve(arg, 0, sizeof(guint32), &e);
		guint32 caps = USBDEVFS_CAP_NO_PACKET_SIZE_LIM | USBDEVFS_CAP_BULK_CONTINUATION;
		if (d)
			set_field(d, 0, &caps, sizeof caps);
		umockdev_ioctl_client_complete(client, d ? 0 : -1, d ? 0 : EFAULT);
		g_clear_object(&d);
		break;
	}
	case USBDEVFS_GETDRIVER:
		umockdev_ioctl_client_complete(client, -1, ENODATA); /* no kernel driver bound */
		break;
	case USBDEVFS_CLAIMINTERFACE:
		b->claims++;
		/* A printer powered again is a new connection to the emulator. */
		if (b->fd < 0 && bridge_connect(b) < 0) {
			umockdev_ioctl_client_complete(client, -1, ENODEV);
			break;
		}
		umockdev_ioctl_client_complete(client, 0, 0);
		break;
	case USBDEVFS_RELEASEINTERFACE:
	case USBDEVFS_CLEAR_HALT:
	case USBDEVFS_RESET:
	case USBDEVFS_RESETEP:
		umockdev_ioctl_client_complete(client, 0, 0);
		break;
	case USBDEVFS_SUBMITURB: {
		UMockdevIoctlData *d =
			umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_urb), &e);
		if (!d) {
			umockdev_ioctl_client_complete(client, -1, EFAULT);
			break;
		}
		struct usbdevfs_urb *urb = (struct usbdevfs_urb *)d->data;
		UMockdevIoctlData *buf = umockdev_ioctl_data_resolve(
			d, offsetof(struct usbdevfs_urb, buffer), (gsize)urb->buffer_length, &e);
		if (!buf || urb->type != USBDEVFS_URB_TYPE_BULK ||
		    (urb->endpoint != 0x01 && urb->endpoint != 0x81)) {
			g_clear_object(&buf);
			g_object_unref(d);
			umockdev_ioctl_client_complete(client, -1, EINVAL);
			break;
		}
		if (b->fd < 0) {
			g_object_unref(buf);
			g_object_unref(d);
			umockdev_ioctl_client_complete(client, -1, ENODEV);
			break;
		}
		Urb *u = g_new0(Urb, 1);
		u->urb = d;
		u->buf = buf;
		if (urb->endpoint == 0x01) {
			int len = urb->buffer_length;
			if (send_all(b->fd, buf->data, (size_t)len) < 0) {
				bridge_drop(b);
				urb_finish(b, u, -EPROTO, 0);
			} else {
				b->out_bytes += (guint64)len;
				urb_finish(b, u, 0, len);
			}
		} else {
			g_queue_push_tail(&b->parked, u);
		}
		pump(b);
		umockdev_ioctl_client_complete(client, 0, 0);
		break;
	}
	case USBDEVFS_REAPURB:
	case USBDEVFS_REAPURBNDELAY: {
		pump(b);
		Urb *u = g_queue_pop_head(&b->done);
		if (!u) {
			umockdev_ioctl_client_complete(client, -1, EAGAIN);
			break;
		}
		UMockdevIoctlData *d = umockdev_ioctl_data_resolve(arg, 0, sizeof(void *), &e);
		if (d)
			umockdev_ioctl_data_set_ptr(d, 0, u->urb);
		umockdev_ioctl_client_complete(client, d ? 0 : -1, d ? 0 : EFAULT);
		g_clear_object(&d);
		urb_free(u);
		break;
	}
	case USBDEVFS_DISCARDURB: {
		/* The argument is the URB's address in the client, as a value. */
		gulong addr = *(gulong *)arg->data;
		gboolean found = FALSE;
		for (GList *l = b->parked.head; l; l = l->next) {
			Urb *u = l->data;
			if (u->urb->client_addr == addr) {
				g_queue_delete_link(&b->parked, l);
				urb_finish(b, u, -ENOENT, 0);
				found = TRUE;
				break;
			}
		}
		umockdev_ioctl_client_complete(client, found ? 0 : -1, found ? 0 : EINVAL);
		break;
	}
	default:
		umockdev_ioctl_client_complete(client, -1, ENOTTY);
		break;
	}
out:
	g_mutex_unlock(&b->lock);
	g_clear_error(&e);
	return TRUE;
}

/* Sends COMMAND to the printer behind the driver's back (between two of its
 * operations), and drops the reply. */
static void
bridge_inject(Bridge *b, const char *command)
{
	g_autofree char *bytes = g_strdup_printf("\x1b%s\r", command);
	g_mutex_lock(&b->lock);
	if (b->fd < 0 || send_all(b->fd, (const uint8_t *)bytes, strlen(bytes)) < 0)
		fail_msg("cannot send %s to the emulator", command);
	b->swallow++;
	g_mutex_unlock(&b->lock);
}

/* ---- the emulator ---- */

typedef struct {
	UMockdevTestbed *tb;
	UMockdevIoctlBase *handler;
	Bridge br;
	char *dir;
	char *emu;
	GPid emu_pid;
	int ctl_port;
	EktpConfig *cfg;
	HalManager *m;
} Fixture;

static char *
emu_path(void)
{
	const char *dir = g_getenv("EKTP_EMU_DIR");
	return g_build_filename(dir && *dir ? dir : "build/default/emu", "evoemu", NULL);
}

/* Runs "evoemu ctl PORT ARGS…" and returns its output (caller frees). */
static char *
emu_ctl(Fixture *f, const char *a1, const char *a2)
{
	g_autofree char *port = g_strdup_printf("%d", f->ctl_port);
	const char *argv[] = {f->emu, "ctl", port, a1, a2, NULL};
	char *out = NULL, *err = NULL;
	int status;
	GError *e = NULL;
	if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
			  &status, &e))
		fail_msg("evoemu ctl: %s", e->message);
	if (!g_spawn_check_wait_status(status, NULL))
		fail_msg("evoemu ctl %s %s failed: %s%s", a1, a2 ? a2 : "", out, err);
	g_free(err);
	return out;
}

/* One number out of the emulator's status JSON ("KEY": N); -1 when absent. */
static gint64
emu_number(Fixture *f, const char *key)
{
	g_autofree char *json = emu_ctl(f, "status", NULL);
	g_autofree char *pat = g_strdup_printf("\"%s\":", key);
	const char *p = strstr(json, pat);
	if (!p)
		fail_msg("evoemu status has no \"%s\": %s", key, json);
	return g_ascii_strtoll(p + strlen(pat) + strspn(p + strlen(pat), " "), NULL, 10);
}

static void
emu_start(Fixture *f, const char *extra)
{
	f->emu = emu_path();
	if (!g_file_test(f->emu, G_FILE_TEST_IS_EXECUTABLE))
		fail_msg("the printer emulator %s is not built (make builds it)", f->emu);
	g_autofree char *state = g_build_filename(f->dir, "printer.state", NULL);
	g_autofree char *out = g_build_filename(f->dir, "cards", NULL);
	g_mkdir_with_parents(out, 0700);
	g_autofree char *cmd = g_strdup_printf("'%s' serve --port 0 --ctl-port 0 --state '%s' "
					       "--out '%s' %s",
					       f->emu, state, out, extra ? extra : "");
	g_auto(GStrv) argv = NULL;
	GError *e = NULL;
	if (!g_shell_parse_argv(cmd, NULL, &argv, &e))
		fail_msg("%s", e->message);
	int out_fd;
	if (!g_spawn_async_with_pipes(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
				      &f->emu_pid, NULL, &out_fd, NULL, &e))
		fail_msg("cannot start %s: %s", f->emu, e->message);
	/* Its first line: "port P ctl Q". */
	char line[128];
	size_t n = 0;
	gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	while (n + 1 < sizeof line && g_get_monotonic_time() < end) {
		struct pollfd p = {out_fd, POLLIN, 0};
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t r = read(out_fd, line + n, 1);
		if (r <= 0)
			break;
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	close(out_fd);
	if (sscanf(line, "port %d ctl %d", &f->br.port, &f->ctl_port) != 2)
		fail_msg("evoemu said '%s', not \"port P ctl Q\"", line);
}

static void
emu_stop(Fixture *f)
{
	if (!f->emu_pid)
		return;
	kill(f->emu_pid, SIGTERM);
	waitpid(f->emu_pid, NULL, 0);
	g_spawn_close_pid(f->emu_pid);
	f->emu_pid = 0;
}

/* ---- fixture ---- */

static gboolean
under_umockdev(void)
{
	const char *pre = g_getenv("LD_PRELOAD");
	return pre && strstr(pre, "umockdev");
}

static void
plug(Fixture *f)
{
	GError *e = NULL;
	if (!umockdev_testbed_add_from_string(f->tb, usb_printer, &e))
		fail_msg("umockdev: %s", e->message);
	if (!umockdev_testbed_attach_ioctl(f->tb, DEVNODE, f->handler, &e))
		fail_msg("umockdev attach_ioctl: %s", e->message);
	umockdev_testbed_uevent(f->tb, SYSPATH, "add");
}

static void
unplug(Fixture *f)
{
	g_mutex_lock(&f->br.lock);
	f->br.unplugged = TRUE;
	g_mutex_unlock(&f->br.lock);
	umockdev_testbed_uevent(f->tb, SYSPATH, "remove");
	umockdev_testbed_detach_ioctl(f->tb, DEVNODE, NULL);
	umockdev_testbed_remove_device(f->tb, SYSPATH);
}

static int
setup(void **state)
{
	if (!under_umockdev())
		fail_msg("not under umockdev's preload: run me with umockdev-wrapper (tests/run "
			 "does)");
	tu_quiet_logs();
	Fixture *f = g_new0(Fixture, 1);
	*state = f;
	f->dir = tu_tmp_dir("evolis-usb");
	g_mutex_init(&f->br.lock);
	f->br.fd = -1;
	f->br.rx = g_byte_array_new();
	g_queue_init(&f->br.parked);
	g_queue_init(&f->br.done);
	f->tb = umockdev_testbed_new();
	f->handler = umockdev_ioctl_base_new();
	g_signal_connect(f->handler, "handle-ioctl", G_CALLBACK(on_ioctl), &f->br);
	if (!hal_registry_find(evolis_driver.name))
		hal_manager_add_test_driver(&evolis_driver);
	return 0;
}

static int
teardown(void **state)
{
	Fixture *f = *state;
	hal_manager_free(f->m);
	cfg_free(f->cfg);
	emu_stop(f);
	if (f->tb)
		umockdev_testbed_detach_ioctl(f->tb, DEVNODE, NULL);
	g_clear_object(&f->tb);
	g_clear_object(&f->handler);
	bridge_drop(&f->br);
	g_queue_clear_full(&f->br.parked, (GDestroyNotify)urb_free);
	g_queue_clear_full(&f->br.done, (GDestroyNotify)urb_free);
	g_byte_array_unref(f->br.rx);
	g_mutex_clear(&f->br.lock);
	tu_remove_dir(f->dir);
	g_free(f->dir);
	g_free(f->emu);
	g_free(f);
	return 0;
}

static void
start(Fixture *f, const char *opts)
{
	GError *e = NULL;
	g_autofree char *text = g_strdup_printf("[device p]\ndriver = evolis\n"
						"uri = usb://1234:5678\n"
						"poll_interval = 3600000\ntimeout = 20000\n%s",
						opts ? opts : "");
	g_autofree char *conf = tu_write_file(f->dir, "ektpd.conf", text);
	f->cfg = cfg_load(conf, f->dir, &e);
	if (!f->cfg)
		fail_msg("cfg_load: %s", e->message);
	f->m = hal_manager_new(f->cfg, NULL, NULL, &e);
	if (!f->m)
		fail_msg("hal_manager_new: %s", e->message);
}

static HalInfo *
info(Fixture *f)
{
	return hal_manager_get(f->m, "p");
}

/* Runs the loop until the first open has ended (ok or not). */
static void
wait_open(Fixture *f)
{
	gint64 end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
	for (;;) {
		g_main_context_iteration(NULL, FALSE);
		HalInfo *i = info(f);
		gboolean settled = i->state != HAL_STATE_ABSENT || i->last_error;
		hal_info_free(i);
		if (settled)
			return;
		if (g_get_monotonic_time() > end)
			fail_msg("the printer's open did not end in 20 s");
		g_usleep(1000);
	}
}


/* Reads the status now; the snapshot after it (caller frees). */
static HalInfo *
refresh(Fixture *f, GError **error)
{
	HalWait r = {0};
	hal_manager_refresh(f->m, "p", hal_wait_refreshed, &r);
	GError *e = hal_wait(&r);
	if (error)
		*error = e;
	else if (e)
		fail_msg("status: %s", e->message);
	return info(f);
}

static GError *
move(Fixture *f, HalCardMove mv)
{
	HalWait r = {0};
	hal_manager_card_move(f->m, "p", mv, hal_wait_done, &r);
	return hal_wait(&r);
}

static GError *
print_card(Fixture *f)
{
	size_t n = (size_t)HAL_CARD_W * HAL_CARD_H;
	uint8_t *rgb = g_malloc(n * 3), *black = g_malloc0(n);
	for (size_t k = 0; k < n; k++) {
		rgb[k * 3] = (uint8_t)(k % HAL_CARD_W / 4);
		rgb[k * 3 + 1] = (uint8_t)(k / HAL_CARD_W / 3);
		rgb[k * 3 + 2] = 200;
		black[k] = (k / HAL_CARD_W) > 600 && (k % HAL_CARD_W) % 10 < 5;
	}
	HalCardSide side = {.rgb = rgb,
			    .black = black,
			    .clear_x = 80,
			    .clear_y = 200,
			    .clear_w = 140,
			    .clear_h = 110};
	HalWait r = {0};
	hal_manager_card_print(f->m, "p", &side, hal_wait_done, &r);
	g_free(rgb);
	g_free(black);
	return hal_wait(&r);
}

static gboolean
has_reason(const HalInfo *i, const char *reason)
{
	for (char **r = i->reasons; r && *r; r++)
		if (strcmp(*r, reason) == 0)
			return TRUE;
	return FALSE;
}

/* ---- tests ---- */

/* Identify, status, and a card fed, printed and ejected over USB; the
 * emulator's own counters confirm it. */
static void
test_print_a_card_over_usb(void **state)
{
	Fixture *f = *state;
	emu_start(f, NULL);
	plug(f);
	start(f, NULL);
	wait_open(f);
	GError *e = NULL;
	HalInfo *i = refresh(f, &e);
	if (e)
		fail_msg("status: %s", e->message);
	assert_int_equal(i->state, HAL_STATE_READY);
	assert_true(i->serial && *i->serial);
	assert_true(i->firmware && *i->firmware);
	assert_int_equal(i->card_inside, 0);
	assert_true(i->counter_total >= 0);
	assert_true(i->supply_remaining > 0);
	assert_true(i->clean_threshold > 0);
	int64_t picked = i->counter_total, finished = i->cards_finished;
	hal_info_free(i);
	assert_true(f->br.claims >= 1);

	e = move(f, HAL_CARD_FEED);
	if (e)
		fail_msg("feed: %s", e->message);
	i = refresh(f, NULL);
	assert_int_equal(i->card_inside, 1);
	assert_int_equal(i->state, HAL_STATE_READY); /* our own card: no reason */
	hal_info_free(i);
	guint64 before = f->br.out_bytes;
	e = print_card(f);
	if (e)
		fail_msg("print: %s", e->message);
	/* Five panels went over bulk OUT: far more than the commands alone. */
	assert_true(f->br.out_bytes - before > 5 * 10000);
	e = move(f, HAL_CARD_EJECT);
	if (e)
		fail_msg("eject: %s", e->message);
	i = refresh(f, NULL);
	assert_int_equal(i->card_inside, 0);
	assert_int_equal(i->counter_total, picked + 1);
	assert_int_equal(i->cards_finished, finished + 1);
	hal_info_free(i);
	assert_int_equal(emu_number(f, "cards_finished"), finished + 1);
	/* The emulator drew the card it printed. */
	g_autofree char *png = g_build_filename(f->dir, "cards", "card-0001.png", NULL);
	assert_true(g_file_test(png, G_FILE_TEST_IS_REGULAR));
}

/* A cover opened through the emulator's control port: status FAULT
 * cover-open; a pick is refused with the same reason; closed again: READY. */
static void
test_cover_open_over_usb(void **state)
{
	Fixture *f = *state;
	emu_start(f, NULL);
	plug(f);
	start(f, NULL);
	wait_open(f);
	g_free(emu_ctl(f, "fault", "cover-open"));
	HalInfo *i = refresh(f, NULL);
	assert_int_equal(i->state, HAL_STATE_FAULT);
	assert_true(has_reason(i, "cover-open"));
	hal_info_free(i);
	GError *e = move(f, HAL_CARD_FEED);
	assert_non_null(e);
	assert_int_equal(e->code, HAL_ERROR_DEVICE);
	if (!g_str_has_prefix(e->message, "cover-open: "))
		fail_msg("feed with the cover open: %s", e->message);
	g_error_free(e);
	g_free(emu_ctl(f, "clear", NULL));
	i = refresh(f, NULL);
	assert_int_equal(i->state, HAL_STATE_READY);
	hal_info_free(i);
}

/* The printer resets without leaving the bus (Srs: its volatile settings
 * go): the next status finds Rem no longer 2 and sets Pem;2 again. */
static void
test_reset_printer_gets_pem_again(void **state)
{
	Fixture *f = *state;
	emu_start(f, NULL);
	plug(f);
	start(f, NULL);
	wait_open(f);
	assert_int_equal(emu_number(f, "error_mode"), 2);
	bridge_inject(&f->br, "Srs");
	gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (emu_number(f, "error_mode") != 0 && g_get_monotonic_time() < end)
		g_usleep(20000);
	assert_int_equal(emu_number(f, "error_mode"), 0);
	HalInfo *i = refresh(f, NULL);
	assert_int_equal(i->state, HAL_STATE_READY);
	hal_info_free(i);
	assert_int_equal(emu_number(f, "error_mode"), 2);
}

/* Replies cut into IN transfers of one byte, with NULs before and after
 * each, still read whole, one command after another. */
static void
test_split_replies(void **state)
{
	Fixture *f = *state;
	emu_start(f, NULL);
	plug(f);
	g_mutex_lock(&f->br.lock);
	f->br.split = 1;
	f->br.pad = TRUE;
	f->br.at_reply = TRUE;
	g_mutex_unlock(&f->br.lock);
	start(f, NULL);
	wait_open(f);
	guint transfers = f->br.in_transfers;
	HalInfo *i = refresh(f, NULL);
	assert_int_equal(i->state, HAL_STATE_READY);
	assert_true(i->counter_total >= 0);
	hal_info_free(i);
	/* Each of the twelve replies of a status read took four transfers or more. */
	if (f->br.in_transfers - transfers < 4 * 12)
		fail_msg("only %u IN transfers for a status read", f->br.in_transfers - transfers);
}

/* A pick slower than io_timeout: a timeout error naming the command, no
 * hang; the next status connects again and reads the printer. */
static void
test_slow_reply_times_out(void **state)
{
	Fixture *f = *state;
	emu_start(f, "--card-ms 30000"); /* a pick takes 10 %: 3 s */
	plug(f);
	start(f, "io_timeout = 500\n");
	wait_open(f);
	gint64 t0 = g_get_monotonic_time();
	GError *e = move(f, HAL_CARD_FEED);
	gint64 ms = (g_get_monotonic_time() - t0) / 1000;
	if (!e)
		fail_msg("a pick of 3 s with io_timeout 500 ms succeeded after %" G_GINT64_FORMAT
			 " ms",
			 ms);
	assert_int_equal(e->code, HAL_ERROR_TIMEOUT);
	if (!strstr(e->message, "Sic") || !strstr(e->message, "500 ms"))
		fail_msg("timeout message: %s", e->message);
	g_error_free(e);
	assert_true(ms < 2500);
	g_usleep(3500 * 1000); /* the pick ends in the printer */
	GError *se = NULL;
	HalInfo *i = refresh(f, &se);
	if (se)
		fail_msg("status after the timeout: %s", se->message);
	/* The card the timed-out pick took is inside, and not a job's. */
	assert_int_equal(i->card_inside, 1);
	assert_true(has_reason(i, "card-inside"));
	assert_int_equal(i->state, HAL_STATE_FAULT);
	hal_info_free(i);
}

/* Unplugged: URBs fail and the device leaves the bus: ABSENT "offline";
 * plugged back: READY again. */
static void
test_unplug_and_replug(void **state)
{
	Fixture *f = *state;
	emu_start(f, NULL);
	plug(f);
	start(f, NULL);
	wait_open(f);
	HalInfo *i = refresh(f, NULL);
	assert_int_equal(i->state, HAL_STATE_READY);
	hal_info_free(i);
	unplug(f);
	GError *e = NULL;
	i = refresh(f, &e);
	assert_non_null(e);
	assert_int_equal(e->code, HAL_ERROR_ABSENT);
	g_error_free(e);
	assert_int_equal(i->state, HAL_STATE_ABSENT);
	assert_string_equal(i->reasons[0], "offline");
	hal_info_free(i);
	/* Back on the bus (the bridge reconnects to the emulator on claim). */
	g_mutex_lock(&f->br.lock);
	f->br.unplugged = FALSE;
	bridge_drop(&f->br);
	g_mutex_unlock(&f->br.lock);
	plug(f);
	gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	HalState s;
	do {
		g_main_context_iteration(NULL, FALSE);
		g_usleep(2000);
		i = info(f);
		s = i->state;
		hal_info_free(i);
	} while (s != HAL_STATE_READY && g_get_monotonic_time() < end);
	assert_int_equal(s, HAL_STATE_READY);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_print_a_card_over_usb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cover_open_over_usb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_printer_gets_pem_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_replies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_reply_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unplug_and_replug, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
