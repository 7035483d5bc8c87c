/* SPDX-License-Identifier: MIT */
/*
 * The Evolis driver's two transports behind one interface (transport.h).
 *
 * TCP: a plain non-blocking socket; every wait is a poll() on the socket and
 * on the GCancellable's file descriptor, bounded by the caller's deadline, so
 * a printer that stops answering or a cancelled operation never holds the
 * worker longer than that.
 *
 * USB: libusb-1.0 on a context of the link's own (the manager's hotplug
 * watcher has another).  The printer is the first device (or the one with
 * the given VID:PID, and serial) with a printer-class interface 07/01/02
 * that has a bulk OUT and a bulk IN endpoint; a kernel driver on it (usblp)
 * is detached and the interface claimed.  Transfers are asynchronous, with
 * this thread running libusb's event handling in short slices, so a deadline
 * or a cancellation cancels the transfer (usbfs discards the URB) and waits
 * for it to end before the buffer goes.  Each reply is one bulk-IN transfer
 * (docs/printer-protocol.md), so a read asks for one transfer of up to
 * EVOLIS_USB_IN bytes and returns what that transfer brought.
 */
#include "drivers/evolis/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <libusb.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* One bulk-IN transfer asks for this many bytes: a multiple of every packet
 * size, far above any reply of the protocol subset. */
#define EVOLIS_USB_IN 4096
/* After cancelling a transfer, how long to wait for usbfs to give it back. */
#define EVOLIS_USB_CANCEL_WAIT_US (5 * G_USEC_PER_SEC)

struct EvolisLink {
	EvolisUriKind kind;
	char *name;
	/* TCP */
	int fd;
	/* USB */
	libusb_context *usb;
	libusb_device_handle *handle;
	int iface;
	gboolean claimed;
	gboolean stuck; /* a transfer was never given back: do not touch libusb again */
	unsigned char ep_out, ep_in;
};

/* ---- the uri option ---- */

void
evolis_uri_clear(EvolisUri *uri)
{
	if (!uri)
		return;
	g_free(uri->host);
	g_free(uri->serial);
	memset(uri, 0, sizeof *uri);
}

static gboolean
parse_hex16(const char *s, size_t len, uint16_t *out)
{
	if (len < 1 || len > 4)
		return FALSE;
	unsigned v = 0;
	for (size_t i = 0; i < len; i++) {
		int d = g_ascii_xdigit_value(s[i]);
		if (d < 0)
			return FALSE;
		v = v << 4 | (unsigned)d;
	}
	*out = (uint16_t)v;
	return TRUE;
}

static int
uri_error(const char *text, const char *why, GError **error)
{
	g_set_error(error, HAL_ERROR, HAL_ERROR_CONFIG,
		    "'%s': %s (accepted: tcp://HOST:PORT, usb, usb://VID:PID or "
		    "usb://VID:PID/SERIAL with VID and PID in hex)",
		    text, why);
	return -1;
}

int
evolis_uri_parse(const char *text, EvolisUri *out, GError **error)
{
	memset(out, 0, sizeof *out);
	if (g_str_has_prefix(text, "tcp://")) {
		const char *hp = text + 6;
		const char *colon = strrchr(hp, ':');
		if (!colon || colon == hp)
			return uri_error(text, "no host, or no :PORT", error);
		const char *h = hp;
		size_t hlen = (size_t)(colon - hp);
		if (h[0] == '[') { /* [IPv6]:PORT */
			if (hlen < 3 || h[hlen - 1] != ']')
				return uri_error(text, "an IPv6 address needs [brackets]", error);
			h++;
			hlen -= 2;
		}
		guint64 port;
		if (!g_ascii_string_to_unsigned(colon + 1, 10, 1, 65535, &port, NULL))
			return uri_error(text, "the port is not a number from 1 to 65535", error);
		if (memchr(h, '/', hlen) || memchr(h, ' ', hlen))
			return uri_error(text, "the host holds a '/' or a space", error);
		out->kind = EVOLIS_URI_TCP;
		out->host = g_strndup(h, hlen);
		out->port = (int)port;
		return 0;
	}
	if (strcmp(text, "usb") == 0) {
		out->kind = EVOLIS_URI_USB;
		out->any = TRUE;
		return 0;
	}
	if (g_str_has_prefix(text, "usb://")) {
		const char *ids = text + 6;
		const char *colon = strchr(ids, ':');
		if (!colon)
			return uri_error(text, "no VID:PID", error);
		const char *slash = strchr(colon, '/');
		size_t pid_len = slash ? (size_t)(slash - colon - 1) : strlen(colon + 1);
		uint16_t vid, pid;
		if (!parse_hex16(ids, (size_t)(colon - ids), &vid) ||
		    !parse_hex16(colon + 1, pid_len, &pid))
			return uri_error(text, "VID and PID must be 1 to 4 hex digits each", error);
		if (slash && !slash[1])
			return uri_error(text, "an empty serial after '/'", error);
		out->kind = EVOLIS_URI_USB;
		out->vid = vid;
		out->pid = pid;
		out->serial = slash ? g_strdup(slash + 1) : NULL;
		return 0;
	}
	return uri_error(text, "neither a tcp:// nor a usb address", error);
}

/* ---- waiting on descriptors ---- */

static int
timeout_error(const EvolisLink *l, const char *what, GError **error)
{
	g_set_error(error, HAL_ERROR, HAL_ERROR_TIMEOUT, "%s: %s: no progress before the deadline",
		    l->name, what);
	return -1;
}

static int
cancelled_error(const EvolisLink *l, const char *what, GError **error)
{
	g_set_error(error, HAL_ERROR, HAL_ERROR_CANCELLED, "%s: %s: cancelled", l->name, what);
	return -1;
}

/* Waits until FD shows EVENTS; 0, or -1 (deadline, cancellation). */
static int
wait_fd(const EvolisLink *l, int fd, short events, gint64 deadline_us, GCancellable *cancel,
	const char *what, GError **error)
{
	GPollFD cfd = {.fd = -1};
	gboolean have_cfd = cancel && g_cancellable_make_pollfd(cancel, &cfd);
	int rc = -1;
	for (;;) {
		if (g_cancellable_is_cancelled(cancel)) {
			cancelled_error(l, what, error);
			break;
		}
		gint64 left = deadline_us - g_get_monotonic_time();
		if (left <= 0) {
			timeout_error(l, what, error);
			break;
		}
		struct pollfd p[2] = {{fd, events, 0}, {have_cfd ? cfd.fd : -1, POLLIN, 0}};
		int r = poll(p, 2, (int)MIN((left + 999) / 1000, INT_MAX));
		if (r < 0 && errno != EINTR) {
			g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED, "%s: %s: poll: %s", l->name,
				    what, g_strerror(errno));
			break;
		}
		if (r > 0 && p[0].revents) {
			rc = 0;
			break;
		}
	}
	if (have_cfd)
		g_cancellable_release_fd(cancel);
	return rc;
}

/* ---- TCP ---- */

static int
tcp_lost(const EvolisLink *l, const char *what, int err, GError **error)
{
	g_set_error(error, HAL_ERROR, HAL_ERROR_ABSENT, "%s: %s: connection lost (%s)", l->name,
		    what, g_strerror(err));
	return -1;
}

static int
tcp_connect(EvolisLink *l, const EvolisUri *uri, gint64 deadline_us, GCancellable *cancel,
	    GError **error)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	char port[16];
	snprintf(port, sizeof port, "%d", uri->port);
	int r = getaddrinfo(uri->host, port, &hints, &res);
	if (r != 0) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_ABSENT, "%s: cannot resolve %s: %s",
			    l->name, uri->host, gai_strerror(r));
		return -1;
	}
	int last_err = 0;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				a->ai_protocol);
		if (fd < 0) {
			last_err = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
			last_err = errno;
			close(fd);
			continue;
		}
		GError *e = NULL;
		if (wait_fd(l, fd, POLLOUT, deadline_us, cancel, "connect", &e) < 0) {
			close(fd);
			freeaddrinfo(res);
			g_propagate_error(error, e);
			return -1;
		}
		int soerr = 0;
		socklen_t len = sizeof soerr;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
			soerr = errno;
		if (soerr) {
			last_err = soerr;
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		l->fd = fd;
		freeaddrinfo(res);
		return 0;
	}
	freeaddrinfo(res);
	g_set_error(error, HAL_ERROR, HAL_ERROR_ABSENT, "%s: cannot connect: %s", l->name,
		    g_strerror(last_err ? last_err : ECONNREFUSED));
	return -1;
}

static int
tcp_write(EvolisLink *l, const uint8_t *buf, size_t len, gint64 deadline_us, GCancellable *cancel,
	  GError **error)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = send(l->fd, buf + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(l, l->fd, POLLOUT, deadline_us, cancel, "write", error) < 0)
				return -1;
			continue;
		}
		return tcp_lost(l, "write", n < 0 ? errno : EPIPE, error);
	}
	return 0;
}

static gssize
tcp_read(EvolisLink *l, uint8_t *buf, size_t max, gint64 deadline_us, GCancellable *cancel,
	 GError **error)
{
	for (;;) {
		ssize_t n = recv(l->fd, buf, max, MSG_DONTWAIT);
		if (n > 0)
			return n;
		if (n == 0) {
			g_set_error(error, HAL_ERROR, HAL_ERROR_ABSENT,
				    "%s: read: connection closed by the printer", l->name);
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return tcp_lost(l, "read", errno, error);
		if (wait_fd(l, l->fd, POLLIN, deadline_us, cancel, "read", error) < 0)
			return -1;
	}
}

/* ---- USB ---- */

static int
usb_error(const EvolisLink *l, const char *what, int r, GError **error)
{
	int code =
		r == LIBUSB_ERROR_NO_DEVICE || r == LIBUSB_ERROR_IO || r == LIBUSB_ERROR_NOT_FOUND
			? HAL_ERROR_ABSENT
		: r == LIBUSB_ERROR_TIMEOUT ? HAL_ERROR_TIMEOUT
					    : HAL_ERROR_FAILED;
	g_set_error(error, HAL_ERROR, code, "%s: %s: %s", l->name, what, libusb_strerror(r));
	return -1;
}

/* The printer-class interface of DEV with bulk OUT and IN: 0 with the numbers
 * set, or -1. */
static int
printer_interface(libusb_device *dev, int *iface, unsigned char *ep_out, unsigned char *ep_in)
{
	struct libusb_config_descriptor *cfg;
	if (libusb_get_active_config_descriptor(dev, &cfg) != 0 &&
	    libusb_get_config_descriptor(dev, 0, &cfg) != 0)
		return -1;
	int found = -1;
	for (int i = 0; i < cfg->bNumInterfaces && found < 0; i++) {
		const struct libusb_interface *itf = &cfg->interface[i];
		for (int a = 0; a < itf->num_altsetting && found < 0; a++) {
			const struct libusb_interface_descriptor *d = &itf->altsetting[a];
			if (d->bInterfaceClass != LIBUSB_CLASS_PRINTER ||
			    d->bInterfaceSubClass != 1 || d->bInterfaceProtocol != 2)
				continue;
			unsigned char out = 0, in = 0;
			for (int e = 0; e < d->bNumEndpoints; e++) {
				const struct libusb_endpoint_descriptor *ep = &d->endpoint[e];
				if ((ep->bmAttributes & 0x3) != LIBUSB_TRANSFER_TYPE_BULK)
					continue;
				if (ep->bEndpointAddress & LIBUSB_ENDPOINT_IN) {
					if (!in)
						in = ep->bEndpointAddress;
				} else if (!out) {
					out = ep->bEndpointAddress;
				}
			}
			if (out && in) {
				*iface = d->bInterfaceNumber;
				*ep_out = out;
				*ep_in = in;
				found = 0;
			}
		}
	}
	libusb_free_config_descriptor(cfg);
	return found;
}

static gboolean
serial_matches(libusb_device_handle *h, const struct libusb_device_descriptor *dd, const char *want)
{
	unsigned char s[256];
	if (!dd->iSerialNumber)
		return FALSE;
	int n = libusb_get_string_descriptor_ascii(h, dd->iSerialNumber, s, sizeof s - 1);
	if (n < 0)
		return FALSE;
	s[n] = '\0';
	return strcmp((const char *)s, want) == 0;
}

static int
usb_open(EvolisLink *l, const EvolisUri *uri, GError **error)
{
	int r = libusb_init(&l->usb);
	if (r != 0) {
		l->usb = NULL;
		return usb_error(l, "libusb_init", r, error);
	}
	libusb_device **list;
	ssize_t n = libusb_get_device_list(l->usb, &list);
	if (n < 0)
		return usb_error(l, "listing USB devices", (int)n, error);
	int rc = -1, candidates = 0;
	GString *tried = g_string_new(NULL);
	for (ssize_t i = 0; i < n && !l->handle; i++) {
		struct libusb_device_descriptor dd;
		if (libusb_get_device_descriptor(list[i], &dd) != 0)
			continue;
		if (!uri->any && (dd.idVendor != uri->vid || dd.idProduct != uri->pid))
			continue;
		int iface;
		unsigned char out, in;
		if (printer_interface(list[i], &iface, &out, &in) < 0)
			continue;
		candidates++;
		libusb_device_handle *h;
		r = libusb_open(list[i], &h);
		if (r != 0) {
			g_string_append_printf(tried, "%s%04x:%04x: open: %s",
					       tried->len ? "; " : "", dd.idVendor, dd.idProduct,
					       libusb_strerror(r));
			continue;
		}
		if (uri->serial && !serial_matches(h, &dd, uri->serial)) {
			libusb_close(h);
			continue;
		}
		g_free(l->name);
		l->name = g_strdup_printf("usb %04x:%04x bus %u device %u", dd.idVendor,
					  dd.idProduct, libusb_get_bus_number(list[i]),
					  libusb_get_device_address(list[i]));
		if (libusb_kernel_driver_active(h, iface) == 1) {
			r = libusb_detach_kernel_driver(h, iface);
			if (r != 0 && r != LIBUSB_ERROR_NOT_FOUND) {
				g_string_append_printf(
					tried, "%s%s: detaching the kernel driver: %s",
					tried->len ? "; " : "", l->name, libusb_strerror(r));
				libusb_close(h);
				continue;
			}
		}
		r = libusb_claim_interface(h, iface);
		if (r != 0) {
			g_string_append_printf(tried, "%s%s: claiming interface %d: %s",
					       tried->len ? "; " : "", l->name, iface,
					       libusb_strerror(r));
			libusb_close(h);
			continue;
		}
		l->handle = h;
		l->claimed = TRUE;
		l->iface = iface;
		l->ep_out = out;
		l->ep_in = in;
		rc = 0;
	}
	libusb_free_device_list(list, 1);
	if (rc < 0) {
		g_autofree char *want =
			uri->any ? g_strdup("a printer-class (07/01/02) USB device")
				 : g_strdup_printf("USB printer %04x:%04x%s%s", uri->vid, uri->pid,
						   uri->serial ? " serial " : "",
						   uri->serial ? uri->serial : "");
		g_set_error(error, HAL_ERROR, HAL_ERROR_ABSENT, "%s %s%s%s", want,
			    candidates ? "found but not usable" : "not found on the bus",
			    tried->len ? ": " : "", tried->str);
	}
	g_string_free(tried, TRUE);
	return rc;
}

static void LIBUSB_CALL
transfer_done(struct libusb_transfer *t)
{
	*(int *)t->user_data = 1;
}

/* One bulk transfer on EP of LEN bytes at BUF (heap: it must outlive a
 * transfer that is never given back).  *ACTUAL gets what moved. */
static int
usb_transfer(EvolisLink *l, unsigned char ep, uint8_t *buf, size_t len, size_t *actual,
	     gint64 deadline_us, GCancellable *cancel, const char *what, GError **error)
{
	if (l->stuck) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_ABSENT,
			    "%s: %s: an earlier transfer never ended; reconnect", l->name, what);
		return -1;
	}
	if (len > INT_MAX) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED, "%s: %s: %zu bytes is too long",
			    l->name, what, len);
		return -1;
	}
	struct libusb_transfer *t = libusb_alloc_transfer(0);
	int completed = 0;
	libusb_fill_bulk_transfer(t, l->handle, ep, buf, (int)len, transfer_done, &completed, 0);
	int r = libusb_submit_transfer(t);
	if (r != 0) {
		libusb_free_transfer(t);
		return usb_error(l, what, r, error);
	}
	int gave_up = 0; /* HAL_ERROR_TIMEOUT or HAL_ERROR_CANCELLED once cancelled */
	gint64 give_up_at = 0;
	while (!completed) {
		gint64 now = g_get_monotonic_time();
		if (!gave_up && (g_cancellable_is_cancelled(cancel) || now >= deadline_us)) {
			gave_up = g_cancellable_is_cancelled(cancel) ? HAL_ERROR_CANCELLED
								     : HAL_ERROR_TIMEOUT;
			give_up_at = now + EVOLIS_USB_CANCEL_WAIT_US;
			libusb_cancel_transfer(t);
		}
		if (gave_up && now >= give_up_at) {
			/* usbfs never gave it back: keep transfer and buffer alive for good. */
			l->stuck = TRUE;
			g_set_error(error, HAL_ERROR, HAL_ERROR_ABSENT,
				    "%s: %s: a cancelled transfer was never given back", l->name,
				    what);
			return -1;
		}
		struct timeval tv = {0, 50000};
		r = libusb_handle_events_timeout_completed(l->usb, &tv, &completed);
		if (r != 0 && r != LIBUSB_ERROR_INTERRUPTED && r != LIBUSB_ERROR_TIMEOUT &&
		    !gave_up) {
			gave_up = HAL_ERROR_FAILED;
			give_up_at = g_get_monotonic_time() + EVOLIS_USB_CANCEL_WAIT_US;
			libusb_cancel_transfer(t);
		}
	}
	enum libusb_transfer_status st = t->status;
	*actual = (size_t)t->actual_length;
	libusb_free_transfer(t);
	if (st == LIBUSB_TRANSFER_COMPLETED)
		return 0;
	if (gave_up == HAL_ERROR_CANCELLED)
		return cancelled_error(l, what, error);
	if (gave_up == HAL_ERROR_TIMEOUT || st == LIBUSB_TRANSFER_TIMED_OUT)
		return timeout_error(l, what, error);
	switch (st) {
	case LIBUSB_TRANSFER_NO_DEVICE:
		g_set_error(error, HAL_ERROR, HAL_ERROR_ABSENT, "%s: %s: the device was unplugged",
			    l->name, what);
		break;
	case LIBUSB_TRANSFER_STALL:
		libusb_clear_halt(l->handle, ep);
		g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED,
			    "%s: %s: the printer stalled endpoint %02x", l->name, what, ep);
		break;
	case LIBUSB_TRANSFER_OVERFLOW:
		g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED,
			    "%s: %s: the printer sent more than asked for", l->name, what);
		break;
	default:
		/* An URB failing with EPROTO and its kin: the device is going or gone. */
		g_set_error(error, HAL_ERROR, HAL_ERROR_ABSENT,
			    "%s: %s: the transfer failed (device unplugged or not answering)",
			    l->name, what);
		break;
	}
	return -1;
}

/* ---- the interface ---- */

EvolisLink *
evolis_link_open(const EvolisUri *uri, gint64 deadline_us, GCancellable *cancel, GError **error)
{
	EvolisLink *l = g_new0(EvolisLink, 1);
	l->kind = uri->kind;
	l->fd = -1;
	int rc;
	if (uri->kind == EVOLIS_URI_TCP) {
		l->name = strchr(uri->host, ':')
				  ? g_strdup_printf("tcp://[%s]:%d", uri->host, uri->port)
				  : g_strdup_printf("tcp://%s:%d", uri->host, uri->port);
		rc = tcp_connect(l, uri, deadline_us, cancel, error);
	} else {
		l->name = uri->any ? g_strdup("usb")
				   : g_strdup_printf("usb://%04x:%04x", uri->vid, uri->pid);
		rc = usb_open(l, uri, error);
	}
	if (rc < 0) {
		evolis_link_close(l);
		return NULL;
	}
	return l;
}

void
evolis_link_close(EvolisLink *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	if (!l->stuck) {
		if (l->handle) {
			if (l->claimed)
				libusb_release_interface(l->handle, l->iface);
			libusb_close(l->handle);
		}
		if (l->usb)
			libusb_exit(l->usb);
	}
	/* A stuck link leaks its libusb context on purpose: a transfer still
	 * points into it. */
	g_free(l->name);
	g_free(l);
}

const char *
evolis_link_name(const EvolisLink *l)
{
	return l->name;
}

int
evolis_link_write(EvolisLink *l, const uint8_t *buf, size_t len, gint64 deadline_us,
		  GCancellable *cancel, GError **error)
{
	if (l->kind == EVOLIS_URI_TCP)
		return tcp_write(l, buf, len, deadline_us, cancel, error);
	uint8_t *copy = g_memdup2(buf, len);
	size_t actual = 0;
	int rc = usb_transfer(l, l->ep_out, copy, len, &actual, deadline_us, cancel, "bulk OUT",
			      error);
	if (rc == 0 && actual != len) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED,
			    "%s: bulk OUT: the printer took %zu of %zu bytes", l->name, actual,
			    len);
		rc = -1;
	}
	if (!l->stuck)
		g_free(copy);
	return rc;
}

gssize
evolis_link_read(EvolisLink *l, uint8_t *buf, size_t max, gint64 deadline_us, GCancellable *cancel,
		 GError **error)
{
	if (l->kind == EVOLIS_URI_TCP)
		return tcp_read(l, buf, max, deadline_us, cancel, error);
	/* Zeroed: under umockdev the "kernel" that fills it is a preload library,
	 * which memcheck cannot follow, and a defined buffer costs nothing here. */
	uint8_t *in = g_malloc0(EVOLIS_USB_IN);
	size_t actual = 0;
	int rc = usb_transfer(l, l->ep_in, in, EVOLIS_USB_IN, &actual, deadline_us, cancel,
			      "bulk IN", error);
	if (rc == 0 && actual > max) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED,
			    "%s: bulk IN: a reply of %zu bytes, longer than %zu", l->name, actual,
			    max);
		rc = -1;
	}
	if (rc == 0)
		memcpy(buf, in, actual);
	if (!l->stuck)
		g_free(in);
	return rc == 0 ? (gssize)actual : -1;
}

void
evolis_link_drain(EvolisLink *l)
{
	if (l->kind != EVOLIS_URI_TCP || l->fd < 0)
		return;
	uint8_t buf[4096];
	while (recv(l->fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
		;
}
