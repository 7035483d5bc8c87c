/* SPDX-License-Identifier: MIT */
/*
 * The Evolis card-printer driver.  It speaks the subset of the escape
 * protocol fixed in docs/printer-protocol.md, one command in flight, over the
 * link transport.c gives it (tcp://HOST:PORT, or a USB printer-class
 * device), from the device's worker thread.
 *
 * Options:
 *   uri         tcp://HOST:PORT, usb, usb://VID:PID or usb://VID:PID/SERIAL (required)
 *   io_timeout  longest wait for one command's reply, ms (default 30000, as libevolis)
 *   ribbon      the ribbon type to print for ("ymcko", "kb", …); "" reads it with Rr.
 *               When set and Rr names another, status shows FAULT "ribbon-mismatch".
 *
 * Exchanges.  A command is sent whole, then its reply is read: over TCP as
 * many reads as it takes, over USB one bulk-IN transfer after another, until
 * a CR or NUL ends it (evo_reply_end).  NULs and LFs before a reply are
 * padding and skipped; whatever follows the reply is dropped, and anything
 * left unread is drained before the next command, since with one command in
 * flight nothing else can be owed.  Every wait honours the operation's
 * GCancellable and io_timeout.
 *
 * Connection.  open() connects, identifies the printer (Rtp, Rsn, Rfv) and
 * sets host-managed errors (Pem;2, read back with Rem).  Every status poll
 * reads Rem first and sets Pem;2 again when it no longer answers 2: the
 * setting is volatile, so another value means the printer restarted.  A
 * link that is lost (connection closed or refused, device unplugged, URBs
 * failing) fails the method with HAL_ERROR_ABSENT and frees the driver's
 * state: the manager marks the printer absent and opens it again (reconnect,
 * identify, Pem;2) at its next poll.  A reply that does not come within
 * io_timeout, or an operation cancelled mid-command, closes the link (a late
 * reply would answer the next command) and fails with HAL_ERROR_TIMEOUT or
 * CANCELLED; the next method connects afresh.
 *
 * Status (docs/printer-protocol.md "What the driver sends"): Rem, Rlr;p,
 * Rlr;r, Rcr, Sk;f, Rse;o, Rco;l/c/s/m/e and Rr, mapped by
 * evolis_status_map() below.  Conditions no read command shows are
 * remembered from the refusal that revealed them: a jam (ERR MECHANICAL)
 * stands while a card is still inside; a full output hopper or reject box
 * stands until an eject or reject succeeds or the card is taken out.
 *
 * Moves and prints.  FEED is Sic, EJECT Se, REJECT Ser; a print is the
 * commands evo_put_front() makes (Ss, Sr, one Db/Dbc per panel), sent one by
 * one, each answered before the next, after Rlr;p has said a card is inside
 * (a panel with none would make the printer pick a blank nobody counted:
 * refused as "media-needed"); the clean cycle is Scp.  An ERR reply
 * becomes HAL_ERROR_DEVICE "REASON: the printer answered ERR … to CMD"
 * (evo_reply_check), with the device and link appended.
 */
#include "drivers/evolis/evolis.h"

#include <string.h>

#include "drivers/evolis/transport.h"
#include "drivers/evolis/protocol.h"

/* Longest reply accepted; the subset's replies are a few dozen bytes. */
#define EVOLIS_REPLY_MAX 4096

typedef struct {
	EvolisUri uri;
	EvolisLink *link; /* NULL between a timeout and the next method */
	char model[64];
	char serial[64];
	char firmware[64];
	char *ribbon; /* as Rr answered; NULL when unknown */
	gboolean card_ours;
	gboolean jammed;
	gboolean output_full;
} Evolis;

/* One method call. */
typedef struct {
	HalDevice *dev;
	Evolis *p;
	const char *name;
	GCancellable *cancel;
	gint64 io_timeout_ms;
} Job;

static const HalOption options[] = {
	{"uri", HAL_OPT_STRING, NULL, 0, 0,
	 "where the printer is: tcp://HOST:PORT, usb (the first USB printer), usb://VID:PID or "
	 "usb://VID:PID/SERIAL (VID and PID in hex)"},
	{"io_timeout", HAL_OPT_INT, "30000", 50, 600000,
	 "longest wait for the reply to one command, ms (a pick, a panel, an eject, a "
	 "cleaning cycle); keep the device's timeout above it"},
	{"ribbon", HAL_OPT_STRING, "", 0, 0,
	 "the ribbon type fitted (ymcko, ymckok, ymckos, ko, kb, k, kw); empty: ask the "
	 "printer (Rr)"},
	{NULL},
};

static int
evolis_check_option(const char *name, const char *value, GError **error)
{
	if (strcmp(name, "uri") == 0) {
		EvolisUri u;
		int rc = evolis_uri_parse(value, &u, error);
		evolis_uri_clear(&u);
		return rc;
	}
	if (strcmp(name, "ribbon") == 0 && *value && !evo_ribbon_panels(value)) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_CONFIG,
			    "'%s' is not a ribbon type this driver prints for (ymcko, ymckok, "
			    "ymckos, ko, kb, k, kw; empty to ask the printer)",
			    value);
		return -1;
	}
	return 0;
}

/* ---- the pure part: readings to a status ---- */

int64_t
evolis_reply_number(const char *reply)
{
	guint64 v;
	if (!reply || !g_ascii_string_to_unsigned(reply, 10, 0, G_MAXINT64, &v, NULL))
		return -1;
	return (int64_t)v;
}

static void
add_reason(HalStatus *out, const char *reason)
{
	for (int i = 0; i < HAL_MAX_REASONS; i++) {
		if (!out->reasons[i]) {
			out->reasons[i] = reason;
			return;
		}
		if (strcmp(out->reasons[i], reason) == 0)
			return;
	}
}

void
evolis_status_map(const EvolisReadings *r, HalStatus *out)
{
	out->counter_total = evolis_reply_number(r->rco_c);
	out->counter_since_clean = evolis_reply_number(r->rco_s);
	out->supply_remaining = evolis_reply_number(r->rco_l);
	out->clean_threshold = evolis_reply_number(r->rco_m);
	out->cards_finished = evolis_reply_number(r->rco_e);
	out->card_inside = !r->rlr_p                           ? -1
			   : strcmp(r->rlr_p, "ERR CARD") == 0 ? 1
			   : strcmp(r->rlr_p, "NO CARD") == 0  ? 0
							       : -1;

	gboolean fault = FALSE, degraded = FALSE;
	/* Blocking conditions first, the worst first. */
	if (r->jammed && out->card_inside != 0) {
		add_reason(out, "media-jam");
		fault = TRUE;
	}
	int64_t cover = evolis_reply_number(r->rse_o);
	if (cover > EVOLIS_COVER_OPEN_ABOVE) {
		add_reason(out, "cover-open");
		fault = TRUE;
	}
	if ((r->rcr && evo_reason(r->rcr) &&
	     strcmp(evo_reason(r->rcr), "marker-supply-empty") == 0) ||
	    out->supply_remaining == 0) {
		add_reason(out, "marker-supply-empty");
		fault = TRUE;
	}
	if (r->sk_f && evolis_reply_number(r->sk_f) > 0) {
		add_reason(out, "media-empty");
		fault = TRUE;
	}
	if (r->output_full && out->card_inside != 0) {
		add_reason(out, "output-area-full");
		fault = TRUE;
	}
	if (r->rlr_r && evo_reason(r->rlr_r) &&
	    strcmp(evo_reason(r->rlr_r), "cleaning-required") == 0) {
		add_reason(out, "cleaning-required");
		fault = TRUE;
	}
	if (out->card_inside == 1 && !r->card_ours) {
		/* Not one fed for the job at hand: left by a crash, a power loss or a
		 * refusal; a pick would fail (ERR CARD) until it is rejected. */
		add_reason(out, "card-inside");
		fault = TRUE;
	}
	if (r->ribbon_expected && *r->ribbon_expected && r->ribbon_read && *r->ribbon_read &&
	    strcmp(r->ribbon_expected, r->ribbon_read) != 0) {
		add_reason(out, "ribbon-mismatch");
		fault = TRUE;
	}
	if (out->supply_remaining > 0 && out->supply_remaining < EVOLIS_RIBBON_LOW) {
		add_reason(out, "marker-supply-low");
		degraded = TRUE;
	}
	out->state = fault ? HAL_STATE_FAULT : degraded ? HAL_STATE_DEGRADED : HAL_STATE_READY;
}

/* ---- state ---- */

static void
evolis_free(Evolis *p)
{
	if (!p)
		return;
	evolis_link_close(p->link);
	evolis_uri_clear(&p->uri);
	g_free(p->ribbon);
	g_free(p);
}

static void
job_init(Job *j, HalDevice *dev, GCancellable *cancel)
{
	memset(j, 0, sizeof *j);
	j->dev = dev;
	j->p = hal_dev_get_private(dev);
	j->name = hal_dev_name(dev);
	j->cancel = cancel;
	j->io_timeout_ms = hal_dev_option_int(dev, "io_timeout");
}

/* Ends a method: on a lost printer frees the state (the manager opens it
 * again), on a timeout or cancellation closes the link (a late reply must not
 * answer the next command).  Returns RC. */
static int
job_end(Job *j, int rc, GError **error)
{
	if (rc == 0 || !error || !*error || (*error)->domain != HAL_ERROR)
		return rc;
	switch ((*error)->code) {
	case HAL_ERROR_ABSENT:
		evolis_free(j->p);
		hal_dev_set_private(j->dev, NULL);
		j->p = NULL;
		break;
	case HAL_ERROR_TIMEOUT:
	case HAL_ERROR_CANCELLED:
		g_clear_pointer(&j->p->link, evolis_link_close);
		break;
	default:
		break;
	}
	return rc;
}

/* ---- exchanges ---- */

static const char *
link_name(const Job *j)
{
	return j->p->link ? evolis_link_name(j->p->link) : "not connected";
}

/* Sends LEN bytes of CMD (one whole command; NULL: send nothing, read one
 * more reply) and reads its reply into *REPLY (caller frees).  WHAT names the
 * command in messages. */
static int
exchange(Job *j, const uint8_t *cmd, size_t len, const char *what, char **reply, GError **error)
{
	EvolisLink *l = j->p->link;
	gint64 deadline = g_get_monotonic_time() + j->io_timeout_ms * 1000;
	GError *e = NULL;
	g_autoptr(GByteArray) acc = g_byte_array_new();
	uint8_t *buf = g_malloc(EVOLIS_REPLY_MAX);
	int rc = -1;

	if (cmd) {
		evolis_link_drain(l);
		if (evolis_link_write(l, cmd, len, deadline, j->cancel, &e) < 0)
			goto out;
	}
	for (;;) {
		gssize n = evolis_link_read(l, buf, EVOLIS_REPLY_MAX, deadline, j->cancel, &e);
		if (n < 0)
			goto out;
		g_byte_array_append(acc, buf, (guint)n);
		size_t skip = 0;
		while (skip < acc->len && (acc->data[skip] == 0 || acc->data[skip] == '\n'))
			skip++;
		gssize end = evo_reply_end(acc->data + skip, acc->len - skip);
		if (end >= 0) {
			*reply = g_strndup((const char *)acc->data + skip, (gsize)end);
			rc = 0;
			goto out;
		}
		if (acc->len - skip > EVOLIS_REPLY_MAX) {
			g_set_error(&e, HAL_ERROR, HAL_ERROR_FAILED,
				    "%s: a reply of more than %d bytes without CR", link_name(j),
				    EVOLIS_REPLY_MAX);
			goto out;
		}
	}
out:
	g_free(buf);
	if (rc < 0) {
		if (g_error_matches(e, HAL_ERROR, HAL_ERROR_TIMEOUT))
			g_set_error(error, HAL_ERROR, HAL_ERROR_TIMEOUT,
				    "%s: no reply to %s within %" G_GINT64_FORMAT
				    " ms (io_timeout) from %s",
				    j->name, what, j->io_timeout_ms, link_name(j));
		else
			g_propagate_prefixed_error(error, g_steal_pointer(&e), "%s: %s: ", j->name,
						   what);
		g_clear_error(&e);
	}
	return rc;
}

/* Sends the command TEXT (name and parameters) and returns its raw reply
 * (caller frees), or NULL with ERROR. */
static char *
ask(Job *j, const char *text, GError **error)
{
	g_autoptr(GByteArray) cmd = g_byte_array_new();
	evo_put(cmd, "%s", text);
	char *reply = NULL;
	if (exchange(j, cmd->data, cmd->len, text, &reply, error) < 0)
		return NULL;
	g_debug("%s: %s -> %s", j->name, text, reply);
	return reply;
}

/* Checks REPLY to WHAT; a refusal's message keeps its reason first and gets
 * the device and link appended. */
static int
check(Job *j, const char *what, const char *reply, GError **error)
{
	GError *e = NULL;
	if (evo_reply_check(what, reply, &e) == 0)
		return 0;
	if (e->code == HAL_ERROR_DEVICE)
		g_set_error(error, HAL_ERROR, HAL_ERROR_DEVICE, "%s (device %s, %s)", e->message,
			    j->name, link_name(j));
	else
		g_set_error(error, HAL_ERROR, e->code, "%s: %s (%s)", j->name, e->message,
			    link_name(j));
	g_error_free(e);
	return -1;
}

/* Sends TEXT and wants OK or a value. */
static int
run(Job *j, const char *text, GError **error)
{
	g_autofree char *reply = ask(j, text, error);
	if (!reply)
		return -1;
	return check(j, text, reply, error);
}

/* Sends TEXT and returns its reply when it is OK or a value, else NULL. */
static char *
read_value(Job *j, const char *text, GError **error)
{
	char *reply = ask(j, text, error);
	if (!reply)
		return NULL;
	if (check(j, text, reply, error) < 0) {
		g_free(reply);
		return NULL;
	}
	return reply;
}

/* Sets host-managed errors. */
static int
host_errors(Job *j, GError **error)
{
	if (run(j, "Pem;2", error) < 0)
		return -1;
	g_autofree char *rem = ask(j, "Rem", error);
	if (!rem)
		return -1;
	if (strcmp(rem, "2") != 0)
		g_warning("%s: the printer answers Rem with '%s' right after Pem;2", j->name, rem);
	return 0;
}

static void
copy_reply(char *dst, size_t size, const char *reply)
{
	g_strlcpy(dst, reply ? reply : "", size);
}

/* After connecting again: a reply to a command given up on may still come
 * (over USB it waits in the printer, whatever the host closed), and would
 * answer the next command.  Asks Rtp and drops replies until the model's. */
static int
resync(Job *j, GError **error)
{
	g_autoptr(GByteArray) cmd = g_byte_array_new();
	evo_put(cmd, "Rtp");
	char *reply = NULL;
	if (exchange(j, cmd->data, cmd->len, "Rtp", &reply, error) < 0)
		return -1;
	for (int dropped = 0; strcmp(reply, j->p->model) != 0; dropped++) {
		g_message("%s: dropping a late reply '%s' (to a command given up on)", j->name,
			  reply);
		g_clear_pointer(&reply, g_free);
		if (dropped >= 16) {
			g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED,
				    "%s: no reply to Rtp names the model '%s' (%s)", j->name,
				    j->p->model, link_name(j));
			return -1;
		}
		if (exchange(j, NULL, 0, "Rtp", &reply, error) < 0)
			return -1;
	}
	g_free(reply);
	return 0;
}

/* Connects and identifies the printer, and sets host-managed errors. */
static int
connect_printer(Job *j, GError **error)
{
	Evolis *p = j->p;
	gint64 deadline = g_get_monotonic_time() + j->io_timeout_ms * 1000;
	GError *e = NULL;
	p->link = evolis_link_open(&p->uri, deadline, j->cancel, &e);
	if (!p->link) {
		g_propagate_prefixed_error(error, e, "%s: ", j->name);
		return -1;
	}
	char *model = NULL, *serial = NULL, *fw = NULL;
	int rc = -1;
	if (p->model[0] && resync(j, error) < 0)
		goto out;
	if (!(model = read_value(j, "Rtp", error)) || !(serial = read_value(j, "Rsn", error)) ||
	    !(fw = read_value(j, "Rfv", error)))
		goto out;
	copy_reply(p->model, sizeof p->model, model);
	copy_reply(p->serial, sizeof p->serial, serial);
	g_snprintf(p->firmware, sizeof p->firmware, "%s %s", model, fw);
	if (host_errors(j, error) < 0)
		goto out;
	g_info("%s: %s, serial %s, firmware %s, on %s", j->name, model, serial, fw,
	       evolis_link_name(p->link));
	rc = 0;
out:
	g_free(model);
	g_free(serial);
	g_free(fw);
	/* Half set up is not connected: the next method starts over. */
	if (rc < 0)
		g_clear_pointer(&p->link, evolis_link_close);
	return rc;
}

/* The link, connecting again after a timeout closed it. */
static int
ensure_link(Job *j, GError **error)
{
	if (j->p->link)
		return 0;
	g_message("%s: connecting again to %s", j->name, hal_dev_option(j->dev, "uri"));
	return connect_printer(j, error);
}

/* ---- methods ---- */

static int
evolis_open(HalDevice *dev, GError **error)
{
	Evolis *p = hal_dev_get_private(dev);
	if (p) {
		/* Opened again without a close: start from a fresh connection. */
		g_clear_pointer(&p->link, evolis_link_close);
	} else {
		p = g_new0(Evolis, 1);
		if (evolis_uri_parse(hal_dev_option(dev, "uri"), &p->uri, error) < 0) {
			evolis_free(p);
			return -1;
		}
		hal_dev_set_private(dev, p);
	}
	Job j;
	job_init(&j, dev, NULL);
	if (connect_printer(&j, error) < 0) {
		/* close() is not called after a failed open. */
		evolis_free(p);
		hal_dev_set_private(dev, NULL);
		return -1;
	}
	return 0;
}

static void
evolis_close(HalDevice *dev)
{
	evolis_free(hal_dev_get_private(dev));
	hal_dev_set_private(dev, NULL);
}

static int
status_once(Job *j, HalStatus *out, GError **error)
{
	Evolis *p = j->p;
	g_autofree char *rem = ask(j, "Rem", error);
	if (!rem)
		return -1;
	if (strcmp(rem, "2") != 0) {
		g_message("%s: Rem answers '%s', not 2: the printer restarted; setting Pem;2 again",
			  j->name, rem);
		if (host_errors(j, error) < 0)
			return -1;
	}
	const char *ribbon_opt = hal_dev_option(j->dev, "ribbon");
	g_autofree char *rlr_p = NULL, *rlr_r = NULL, *rcr = NULL, *sk_f = NULL, *rse_o = NULL;
	g_autofree char *rco_l = NULL, *rco_c = NULL, *rco_s = NULL, *rco_m = NULL, *rco_e = NULL;
	g_autofree char *rr = NULL;
	struct {
		const char *cmd;
		char **reply;
	} reads[] = {
		{"Rlr;p", &rlr_p}, {"Rlr;r", &rlr_r}, {"Rcr", &rcr},     {"Sk;f", &sk_f},
		{"Rse;o", &rse_o}, {"Rco;l", &rco_l}, {"Rco;c", &rco_c}, {"Rco;s", &rco_s},
		{"Rco;m", &rco_m}, {"Rco;e", &rco_e}, {"Rr", &rr},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(reads); i++) {
		*reads[i].reply = ask(j, reads[i].cmd, error);
		if (!*reads[i].reply)
			return -1;
	}
	/* "ERROR CDE" to a probe the printer does not know reads as unknown. */
	gboolean rr_ok = strncmp(rr, "ERR", 3) != 0 && *rr;
	if (rr_ok && (!p->ribbon || strcmp(p->ribbon, rr) != 0)) {
		g_free(p->ribbon);
		p->ribbon = g_strdup(rr);
	}
	EvolisReadings r = {
		.rlr_p = rlr_p,
		.rlr_r = rlr_r,
		.rcr = rcr,
		.sk_f = sk_f,
		.rse_o = rse_o,
		.rco_l = rco_l,
		.rco_c = rco_c,
		.rco_s = rco_s,
		.rco_m = rco_m,
		.rco_e = rco_e,
		.ribbon_read = rr_ok ? rr : NULL,
		.ribbon_expected = ribbon_opt,
		.card_ours = p->card_ours,
		.jammed = p->jammed,
		.output_full = p->output_full,
	};
	evolis_status_map(&r, out);
	/* What only a refusal showed lapses once the card is out. */
	if (out->card_inside == 0) {
		p->jammed = FALSE;
		p->output_full = FALSE;
		p->card_ours = FALSE;
	}
	g_strlcpy(out->serial, p->serial, sizeof out->serial);
	g_strlcpy(out->firmware, p->firmware, sizeof out->firmware);
	return 0;
}

static int
evolis_status(HalDevice *dev, HalStatus *out, GCancellable *cancel, GError **error)
{
	Job j;
	job_init(&j, dev, cancel);
	if (!j.p) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_ABSENT, "%s: not connected", j.name);
		return -1;
	}
	int rc = ensure_link(&j, error) < 0 ? -1 : status_once(&j, out, error);
	return job_end(&j, rc, error);
}

/* Records what a refusal of a card operation tells about the printer. */
static void
note_refusal(Job *j, const GError *e)
{
	if (!g_error_matches(e, HAL_ERROR, HAL_ERROR_DEVICE))
		return;
	if (g_str_has_prefix(e->message, "media-jam:"))
		j->p->jammed = TRUE;
	else if (g_str_has_prefix(e->message, "output-area-full:"))
		j->p->output_full = TRUE;
}

static int
evolis_card_move(HalDevice *dev, HalCardMove move, GCancellable *cancel, GError **error)
{
	Job j;
	job_init(&j, dev, cancel);
	if (!j.p) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_ABSENT, "%s: not connected", j.name);
		return -1;
	}
	const char *cmd = move == HAL_CARD_FEED ? "Sic" : move == HAL_CARD_EJECT ? "Se" : "Ser";
	int rc = ensure_link(&j, error) < 0 ? -1 : run(&j, cmd, error);
	if (rc == 0) {
		j.p->card_ours = move == HAL_CARD_FEED;
		if (move != HAL_CARD_FEED) {
			j.p->output_full = FALSE;
			j.p->jammed = FALSE;
		}
	} else {
		/* Whatever is inside now is no longer a card of a job going well. */
		j.p->card_ours = FALSE;
		note_refusal(&j, *error);
	}
	return job_end(&j, rc, error);
}

static int
print_front(Job *j, const HalCardSide *front, GError **error)
{
	const char *opt = hal_dev_option(j->dev, "ribbon");
	const char *ribbon = *opt ? opt : j->p->ribbon;
	if (ribbon && !evo_ribbon_panels(ribbon)) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_DEVICE,
			    "marker-supply-wrong: the printer has a '%s' ribbon, which this driver "
			    "cannot print for (device %s)",
			    ribbon, j->name);
		return -1;
	}
	/* A panel arriving with no card inside makes the printer pick a blank
	 * (docs/printer-protocol.md): a card nobody counted.  Print only on one. */
	g_autofree char *inside = ask(j, "Rlr;p", error);
	if (!inside)
		return -1;
	if (strcmp(inside, "ERR CARD") != 0) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_DEVICE,
			    "media-needed: no card inside to print on (Rlr;p answered '%s'; "
			    "device %s, %s)",
			    inside, j->name, link_name(j));
		return -1;
	}
	g_autoptr(GByteArray) stream = g_byte_array_new();
	if (evo_put_front(stream, front, ribbon, error) < 0) {
		g_prefix_error(error, "%s: ", j->name);
		return -1;
	}
	g_autoptr(EvoParser) parser = evo_parser_new();
	evo_parser_feed(parser, stream->data, stream->len);
	g_autoptr(GByteArray) one = g_byte_array_new();
	int sent = 0;
	for (;;) {
		g_autoptr(EvoCommand) cmd = evo_parser_next(parser);
		if (!cmd)
			break;
		if (cmd->bad || cmd->no_cr) {
			g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED,
				    "%s: the print stream holds a malformed command '%s'", j->name,
				    cmd->text);
			return -1;
		}
		g_byte_array_set_size(one, 0);
		evo_command_put(one, cmd);
		char *reply = NULL;
		if (exchange(j, one->data, one->len, cmd->text, &reply, error) < 0)
			return -1;
		int rc = check(j, cmd->text, reply, error);
		g_free(reply);
		if (rc < 0)
			return -1;
		sent++;
	}
	if (evo_parser_partial(parser) || sent < 3) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_FAILED,
			    "%s: the print stream did not split into whole commands", j->name);
		return -1;
	}
	g_info("%s: printed a card front (%d commands, %u bytes)", j->name, sent, stream->len);
	return 0;
}

static int
evolis_card_print(HalDevice *dev, const HalCardSide *front, GCancellable *cancel, GError **error)
{
	Job j;
	job_init(&j, dev, cancel);
	if (!j.p) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_ABSENT, "%s: not connected", j.name);
		return -1;
	}
	int rc = ensure_link(&j, error) < 0 ? -1 : print_front(&j, front, error);
	if (rc < 0) {
		j.p->card_ours = FALSE;
		note_refusal(&j, *error);
	}
	return job_end(&j, rc, error);
}

static int
evolis_clean(HalDevice *dev, GCancellable *cancel, GError **error)
{
	Job j;
	job_init(&j, dev, cancel);
	if (!j.p) {
		g_set_error(error, HAL_ERROR, HAL_ERROR_ABSENT, "%s: not connected", j.name);
		return -1;
	}
	int rc = ensure_link(&j, error) < 0 ? -1 : run(&j, "Scp", error);
	return job_end(&j, rc, error);
}

const HalDriver evolis_driver = {
	.abi = HAL_ABI_VERSION,
	.name = "evolis",
	.version = "1",
	.klass = HAL_CLASS_PRINTER,
	/* A driver's capabilities are fixed, not per device: HAL_CAP_USB is set so
	 * that a USB printer is polled on hotplug; a TCP one is polled then too,
	 * which costs one status read. */
	.caps = HAL_CAP_PRINT | HAL_CAP_COUNTERS | HAL_CAP_USB,
	.options = options,
	.check_option = evolis_check_option,
	.open = evolis_open,
	.close = evolis_close,
	.status = evolis_status,
	.card_move = evolis_card_move,
	.card_print = evolis_card_print,
	.clean = evolis_clean,
};
