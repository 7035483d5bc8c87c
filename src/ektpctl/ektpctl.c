/* SPDX-License-Identifier: MIT */
/*
 * ektpctl, the command-line client of ektpd: it sends one request (or two) to the daemon's
 * control API over its Unix socket and prints the answer for a person, or as JSON for a script.
 *
 * The command table below is the one list of commands: the parser matches its words, and the
 * general --help, each command's usage line and `ektpctl help COMMAND` are all generated from
 * it. The commands for accounts, the audit log and devices are here; enrollment sessions are in
 * enroll.c, records, supervisor decisions and reports in records.c, print batches in
 * printing.c, consumables, rations, cleaning and the stock reports in stock.c (ctl.h holds
 * what they share). ektpctl shares no code with the daemon; the API's JSON (docs/api.md) is
 * the contract.
 *
 * Exit codes: 0 done, 1 refused or failed, 2 usage error, 3 the daemon cannot be reached.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ektpctl/client.h"
#include "ektpctl/ctl.h"
#include "ektpctl/output.h"
#include "ektpctl/secret.h"
#include "util/version.h"

#define EKTPCTL_VERSION EKTP_VERSION
#define HELP_SYNOPSIS_MAX 40

static int cmd_status(struct ctx *c);
static int cmd_login(struct ctx *c);
static int cmd_logout(struct ctx *c);
static int cmd_whoami(struct ctx *c);
static int cmd_user_add(struct ctx *c);
static int cmd_user_list(struct ctx *c);
static int cmd_user_disable(struct ctx *c);
static int cmd_user_pin(struct ctx *c);
static int cmd_audit_list(struct ctx *c);
static int cmd_audit_verify(struct ctx *c);
static int cmd_devices(struct ctx *c);
static int cmd_device_fault(struct ctx *c);
static int cmd_selftest(struct ctx *c);
static int cmd_selftest_history(struct ctx *c);

#define PIN_INPUT                                                                       \
	"\nOn a terminal PINs are read without echo; otherwise each PIN is one line of\n" \
	"standard input."

static const struct cmd commands[] = {
	{ .words = "status", .run = cmd_status,
	  .summary = "show the daemon's version, uptime, database and counts",
	  .help = "Shows ektpd's version and uptime, its database and how many users, sessions\n"
		  "and audit rows it holds. Needs no login." },
	{ .words = "login", .args = { "NAME" }, .run = cmd_login,
	  .summary = "log in as NAME and keep the session for later commands",
	  .help = "Asks for NAME's PIN, opens a session and keeps its token in a private file\n"
		  "for this daemon's socket." PIN_INPUT
		  "\nExample: printf '123456\\n' | ektpctl login NAME" },
	{ .words = "logout", .token = true, .run = cmd_logout,
	  .summary = "end the session and forget its token",
	  .help = "Ends the session on the daemon and removes the stored token." },
	{ .words = "whoami", .token = true, .run = cmd_whoami,
	  .summary = "show who is logged in and until when",
	  .help = "Shows the logged-in user, their role and when the session expires." },
	{ .words = "user add", .args = { "NAME" }, .token = true, .run = cmd_user_add,
	  .opts = { { "role", "ROLE", true, "operator, supervisor, technician or admin" } },
	  .summary = "create a user account",
	  .help = "Creates user NAME with ROLE and asks for the new user's PIN, twice on a\n"
		  "terminal. Needs an admin session; while no admin exists, root may create the\n"
		  "first admin without logging in." PIN_INPUT },
	{ .words = "user list", .token = true, .run = cmd_user_list,
	  .summary = "list user accounts",
	  .help = "Lists every user with role, state, creation and last login. Admin only." },
	{ .words = "user disable", .args = { "NAME" }, .token = true, .run = cmd_user_disable,
	  .summary = "disable a user account",
	  .help = "Disables user NAME: they can no longer log in. Admin only." },
	{ .words = "user pin", .args = { "NAME" }, .token = true, .run = cmd_user_pin,
	  .summary = "set a user's PIN",
	  .help = "Sets NAME's PIN, asked twice on a terminal. Changing your own PIN first asks\n"
		  "for the current one; from a pipe give two lines, current PIN then new PIN.\n"
		  "An admin may set anyone's PIN." PIN_INPUT },
	{ .words = "audit list", .token = true, .run = cmd_audit_list,
	  .opts = { { "after", "ID", false, "only rows after row ID (default 0)" },
		    { "limit", "N", false, "at most N rows, 1 to 1000 (default 100)" } },
	  .summary = "list audit log rows",
	  .help = "Lists audit log rows in order, one page at a time. Supervisor or admin." },
	{ .words = "audit verify", .token = true, .run = cmd_audit_verify,
	  .summary = "check the audit log's hash chain",
	  .help = "Checks the hash chain of the whole audit log; exits 1 when it is broken.\n"
		  "Supervisor or admin." },
	{ .words = "devices", .token = true, .run = cmd_devices,
	  .summary = "show every device, its driver, state and reasons",
	  .help = "Lists the configured devices with their class, driver, state (absent, ready,\n"
		  "busy, degraded, fault), the reasons for it and the last error. Any role." },
	{ .words = "device fault", .args = { "DEVICE", "KIND" }, .token = true,
	  .run = cmd_device_fault,
	  .opts = { { "count", "N", false, "the next N operations only (default: until cleared)" } },
	  .summary = "make a simulated device show a fault",
	  .help = "Makes simulator DEVICE show fault KIND: unplug, replug, timeout, slow; printers\n"
		  "also jam, ribbon-out, cover-open, hopper-empty, cleaning-required; scanners\n"
		  "and cameras also low-quality, quality-decline. KIND clear ends every fault.\n"
		  "Technician only; real devices refuse." },
	{ .words = "selftest history", .args = { "DEVICE" }, .token = true,
	  .run = cmd_selftest_history,
	  .opts = { { "limit", "N", false, "at most N results, 1 to 1000 (default 20)" } },
	  .summary = "show a device's self-test results, newest first",
	  .help = "Lists DEVICE's stored self-tests with their time, result, who ran them and\n"
		  "their message; --json adds every figure. Technician or supervisor." },
	{ .words = "selftest", .args = { "DEVICE|all" }, .token = true, .run = cmd_selftest,
	  .summary = "run a device's self-test, or every device's",
	  .help = "Runs the self-test of DEVICE, or of every device with 'all': scanners and\n"
		  "cameras capture and score a test image and time it; printers and encoders\n"
		  "report identity, state and counters. Results are stored (see selftest\n"
		  "history). Exits 1 when any test fails. Technician only." },
	{ .words = "enroll", .token = true, .run = cmd_enroll,
	  .opts = { { "from", "FILE", false, "enroll the residents in FILE.json, no questions asked" } },
	  .summary = "enroll residents: demographics, captures, commit",
	  .help = "With --from, enrolls every resident in FILE: a JSON object or an array of\n"
		  "objects with the demographic fields of docs/api.md (nik, kk, name, birth_place,\n"
		  "birth_date, gender, blood_type, religion, marital_status, occupation, address,\n"
		  "rt, rw, village_code, citizenship, and nationality for WNA), optionally\n"
		  "\"reenroll\": true, \"exceptions\": [{\"modality\", \"position\", \"kind\",\n"
		  "\"reason\"}] and \"images\": {\"finger-1\" ... \"finger-10\", \"iris-1\", \"iris-2\",\n"
		  "\"face\", \"signature\": PNG path relative to FILE's folder}. Positions without an\n"
		  "exception or an image are captured from the devices, an attempt repeated while\n"
		  "the daemon says \"retry\"; then the session is committed. Prints one line per\n"
		  "resident: ID STATE [needs: ...] [warnings: ...], or \"- refused\" with every\n"
		  "problem; a resident that fails is abandoned and the next one goes on. Exits 1\n"
		  "when any resident failed.\n"
		  "Without --from, on a terminal, asks for each field (checked as typed, then by\n"
		  "the daemon), guides every capture ([r]etry, [e]xception, [a]ccept best), shows\n"
		  "a summary and commits. Operator or supervisor." },
	{ .words = "enrollments", .token = true, .run = cmd_enrollments,
	  .summary = "list open enrollment sessions",
	  .help = "Lists the open enrollment sessions: id, NIK, name, operator, times and how many\n"
		  "positions still lack a capture or an exception. Operator or supervisor." },
	{ .words = "enrollment show", .args = { "ID" }, .token = true, .run = cmd_enrollment_show,
	  .summary = "show an enrollment session's captures and what is missing",
	  .help = "Shows enrollment ID: state, resident, warnings, every capture with its\n"
		  "quality, the exceptions and the positions still missing. Operator or supervisor." },
	{ .words = "enrollment abandon", .args = { "ID" }, .token = true,
	  .run = cmd_enrollment_abandon,
	  .summary = "abandon an open enrollment session",
	  .help = "Abandons enrollment ID; the daemon erases its images. Operator or supervisor." },
	{ .words = "records", .token = true, .run = cmd_records,
	  .opts = { { "state", "STATE", false,
		      "captured, approved, print_ready, on_hold, rejected or superseded" },
		    { "nik", "NIK", false, "only the records of this NIK" },
		    { "from", "DATE", false, "created on or after DATE (YYYY-MM-DD)" },
		    { "to", "DATE", false, "created on or before DATE (YYYY-MM-DD)" },
		    { "limit", "N", false, "at most N records (default 100)" } },
	  .summary = "list records",
	  .help = "Lists committed records, oldest first, following the daemon's pages up to\n"
		  "--limit. Operator or supervisor." },
	{ .words = "record show", .args = { "ID|NIK" }, .token = true, .run = cmd_record_show,
	  .summary = "show a record's demographics, state and capture quality",
	  .help = "Shows record ID, or, for a 16-digit NIK, that NIK's active record (all of its\n"
		  "records when it has several active ones or none): state, demographics,\n"
		  "warnings, approvals and each capture's quality and device. Never image bytes.\n"
		  "Operator or supervisor." },
	{ .words = "record export", .args = { "ID", "DIR" }, .token = true,
	  .run = cmd_record_export,
	  .summary = "write a record's images as PNG files into DIR",
	  .help = "Writes the images of record ID into DIR (created with mode 0700 if needed), one\n"
		  "PNG file each, named by the daemon (finger-02.png ...), and prints their names.\n"
		  "Refuses to overwrite an existing file: nothing is written then. With --json\n"
		  "prints the daemon's answer without the image data, plus each file's path and\n"
		  "size. The export is audited. Supervisor only." },
	{ .words = "approve", .args = { "ID" }, .token = true, .run = cmd_approve,
	  .summary = "approve a captured or held record",
	  .help = "Approves record ID (from state captured or on_hold). Supervisor only." },
	{ .words = "reject", .args = { "ID" }, .token = true, .run = cmd_reject,
	  .opts = { { "reason", "TEXT", true, "why, kept with the record" } },
	  .summary = "reject a record",
	  .help = "Rejects record ID for the reason given; its NIK may then be enrolled again.\n"
		  "Supervisor only." },
	{ .words = "hold", .args = { "ID" }, .token = true, .run = cmd_hold,
	  .opts = { { "reason", "TEXT", true, "why, kept with the record" } },
	  .summary = "put a record on hold",
	  .help = "Puts record ID on hold for the reason given, until approved or rejected.\n"
		  "Supervisor only." },
	{ .words = "card preview", .args = { "ID", "FILE" }, .token = true, .run = cmd_card_preview,
	  .summary = "render a record's card face into a PNG file without printing it",
	  .help = "Renders the front of record ID's card at 300 dpi (1016x648) into FILE, which must\n"
		  "not exist. Operator or supervisor." },
	{ .words = "card export", .args = { "ID", "DIR" }, .token = true, .run = cmd_card_export,
	  .summary = "write a record's signed chip image into DIR",
	  .help = "Builds record ID's chip image and writes its files into DIR (created 0700):\n"
		  "COM.bin, DG1.bin (demographics), DG2.bin (portrait), DG3.bin (fingerprint\n"
		  "templates), DG7.bin (signature) and SOD.der, the CMS SignedData that\n"
		  "`openssl cms -verify -inform DER -in SOD.der -CAfile CA.pem` checks. Audited.\n"
		  "Supervisor only." },
	{ .words = "card verify", .args = { "ID|DIR" }, .token = true, .run = cmd_card_verify,
	  .summary = "check a chip image's hashes and signature",
	  .help = "Checks record ID's chip image, or the files in DIR as `card export` writes them:\n"
		  "every data group against its hash in the security object, and the signature\n"
		  "against the issuing CA. Exit 1 when anything does not match." },
	{ .words = "card encode", .args = { "ID", "ENCODER" }, .token = true, .run = cmd_card_encode,
	  .summary = "write a print_ready record's chip on an encoder",
	  .help = "Builds record ID's chip image and has the encoder device ENCODER write it and\n"
		  "read it back. Operator or supervisor." },
	{ .words = "print cancel", .args = { "BATCH" }, .token = true, .run = cmd_print_cancel,
	  .summary = "cancel a print batch's cards not yet begun",
	  .help = "Cancels print batch BATCH: its cards not yet begun are dropped and their\n"
		  "records return to print_ready; a card already in a printer finishes.\n"
		  "Operator or supervisor." },
	{ .words = "print", .token = true, .run = cmd_print,
	  .opts = { { "max", "N", false, "at most N cards (default: every print_ready record)" },
		    { "printer", "PRINTER", false, "only on this printer (default: all that work)" },
		    { "wait", "yes|no", false, "follow the batch until it ends (default yes)" } },
	  .summary = "print the cards of the print_ready records",
	  .help = "Starts a print batch of the print_ready records: first-time voters first (17 by\n"
		  "the [print] election_date), then the oldest. The cards spread over the working\n"
		  "printers; each is encoded and checked before it is printed. Prints the batch's\n"
		  "progress until it ends and, at the end, every spoiled card with its cause; exit\n"
		  "1 when a record of the batch got no card (cancelled, held or spoiled past its\n"
		  "retries). A printer that stops (jam, empty hopper or ribbon, open cover) is\n"
		  "shown with its reason and the others go on. Operator or supervisor." },
	{ .words = "jobs", .token = true, .run = cmd_jobs,
	  .opts = { { "limit", "N", false, "the last N batches besides the running ones (default 10)" } },
	  .summary = "show what each printer is doing and the print batches",
	  .help = "One row per printer: its encoder, its device state, what it does (printing,\n"
		  "idle, stopped), the card in it, cards printed and spoiled since the daemon\n"
		  "started, and why it waits or its last error with the action taken (retry, hold,\n"
		  "stop). Then the batches with their progress." },
	{ .words = "reprint", .args = { "ID" }, .token = true, .run = cmd_reprint,
	  .opts = { { "reason", "TEXT", true, "why another card is made, kept with the record" } },
	  .summary = "queue a printed or spoiled record for another card",
	  .help = "Puts record ID (printed, or spoiled after its retries) back to print_ready for\n"
		  "another card. Audited. Supervisor only." },
	{ .words = "stock receive", .args = { "ITEM", "QTY" }, .token = true,
	  .run = cmd_stock_receive,
	  .opts = { { "lot", "LOT", false, "the supplier's lot number" },
		    { "supplier", "NAME", false, "who delivered it" },
		    { "date", "DATE", false, "the day it arrived, YYYY-MM-DD (default today)" },
		    { "serials", "FIRST-LAST", false, "blank cards: the lot's serial numbers" } },
	  .summary = "record a delivery into the storeroom",
	  .help = "Records QTY of ITEM received into the storeroom, in the item's storeroom unit\n"
		  "(cards, rolls, cleaning cards: see `ektpctl stock items`). Deliveries go to\n"
		  "the storeroom only; `ektpctl stock load` moves them into a printer.\n"
		  "Supervisor only." },
	{ .words = "stock load", .args = { "PRINTER", "ITEM" }, .token = true,
	  .run = cmd_stock_load,
	  .opts = { { "qty", "N", false, "blank cards: how many (default: fill the hopper)" } },
	  .summary = "load blank cards, a ribbon or a film into a printer",
	  .help = "Moves ITEM from the storeroom into PRINTER. Blank cards: N of them, or as many\n"
		  "as fill the hopper to [stock] hopper_capacity. A ribbon or a film: one roll;\n"
		  "what was left of the roll it replaces is written off. Supervisor only." },
	{ .words = "stock adjust", .args = { "ITEM", "LOCATION", "QTY" }, .token = true,
	  .run = cmd_stock_adjust,
	  .opts = { { "reason", "TEXT", true, "why the count was wrong, kept with the movement" } },
	  .summary = "correct an item's count at a location",
	  .help = "Adds QTY to ITEM at LOCATION (storeroom or a printer), in the unit it is\n"
		  "counted in there: -3 takes three away, 5 or +5 adds five. The count may not go\n"
		  "below zero. Supervisor only." },
	{ .words = "stock spoil", .args = { "ITEM", "LOCATION", "QTY" }, .token = true,
	  .run = cmd_stock_spoil,
	  .opts = { { "cause", "TEXT", true,
		      "chip failure, misprint, jam, test card, power loss, damaged..." } },
	  .summary = "write off spoiled stock at a location",
	  .help = "Writes off QTY of ITEM at LOCATION (storeroom or a printer) as spoiled, with\n"
		  "its cause; the spoilage report counts it under that cause. Supervisor only." },
	{ .words = "stock history", .args = { "[ITEM]" }, .token = true, .run = cmd_stock_history,
	  .opts = { { "limit", "N", false, "at most N movements, 1 to 1000 (default 50)" } },
	  .summary = "list the ledger's movements, newest first",
	  .help = "Lists the movements of ITEM, or of every item: when, what (receive, load,\n"
		  "unload, consume, return, spoil, adjust, clean), where, how much, by whom, and\n"
		  "the lot, supplier, cause, reason or card behind it. Operator, supervisor or\n"
		  "technician." },
	{ .words = "stock forecast", .token = true, .run = cmd_stock_forecast,
	  .summary = "show each item's use per day, days left and runout",
	  .help = "For each item in the storeroom, in each printer and in all: how much is used\n"
		  "per day over the last [stock] forecast_days days (recent days weigh more), how\n"
		  "many days what is on hand lasts at that rate and the day it runs out.\n"
		  "Operator, supervisor or technician." },
	{ .words = "stock items", .token = true, .run = cmd_stock_items,
	  .summary = "list the consumables catalogue",
	  .help = "Lists the catalogue's items (the configuration's [item NAME] sections): kind,\n"
		  "storeroom unit, prints per roll, pack size, price per unit in rupiah, and the\n"
		  "low and critical thresholds. Operator, supervisor or technician." },
	{ .words = "stock alerts", .token = true, .run = cmd_stock_alerts,
	  .opts = { { "limit", "N", false, "at most N alerts, 1 to 1000 (default 50)" } },
	  .summary = "list where the ledger and printers' counters differed",
	  .help = "After each batch and each self-test the ledger is compared with the printer's\n"
		  "own counters; a difference is kept as an alert with both figures. Lists them,\n"
		  "newest first. Operator, supervisor or technician." },
	{ .words = "stock", .token = true, .run = cmd_stock,
	  .summary = "show consumables on hand, printers' rations and alerts",
	  .help = "One row per item and location (storeroom, each printer, all): on hand, unit,\n"
		  "low, critical or empty flag, days left and runout date at the current rate.\n"
		  "Then each printer: cards today and in the last hour against its ration, cards\n"
		  "since cleaning against the threshold, the ribbon and film loaded and what\n"
		  "blocks it; then the last reconciliation alerts. Operator, supervisor or\n"
		  "technician." },
	{ .words = "ration", .args = { "[PRINTER]" }, .token = true, .run = cmd_ration,
	  .opts = { { "daily", "N", false, "cards a day, 0 for no quota" },
		    { "hourly", "N", false, "cards an hour at most, 0 for no limit" } },
	  .summary = "set or list the printers' daily and hourly card limits",
	  .help = "With PRINTER sets both its daily card quota and its maximum of cards per hour\n"
		  "(0 = none); the print scheduler starts no card past either. Supervisor only.\n"
		  "Without PRINTER lists every printer's ration and what is left of it." },
	{ .words = "clean", .args = { "PRINTER" }, .token = true, .run = cmd_clean,
	  .summary = "run a printer's cleaning cycle",
	  .help = "Runs PRINTER's cleaning cycle with a cleaning card from the storeroom, which\n"
		  "the ledger consumes, and restarts its count of cards since cleaning: past\n"
		  "[stock] clean_threshold a printer takes no new card until it is cleaned.\n"
		  "Refused while a card is in the printer. Technician only." },
	{ .words = "report coverage", .token = true, .run = cmd_report_coverage,
	  .opts = { { "by", "kecamatan|day", false, "one row per kecamatan (default) or per day" },
		    { "from", "DATE", false, "records created on or after DATE (YYYY-MM-DD)" },
		    { "to", "DATE", false, "records created on or before DATE (YYYY-MM-DD)" } },
	  .summary = "show recording coverage against the regency's target",
	  .help = "Counts the records by kecamatan or by day and sets them against the office's\n"
		  "regency: population, the adult share, the target (people who must hold a\n"
		  "KTP-el) and the share recorded so far. Supervisor or admin." },
	{ .words = "report stock", .token = true, .run = cmd_report_stock,
	  .opts = { { "chart", "FILE.png", true, "where to write the chart (replaced whole)" },
		    { "days", "N", false, "days of history, 7 to 365 (default 60)" } },
	  .summary = "chart each item's stock level and forecast into a PNG",
	  .help = "Draws each item's total level over the last N days, with its forecast line and\n"
		  "its low and critical thresholds, into FILE.png. Supervisor or technician." },
	{ .words = "report", .args = { "daily|monthly|spoilage|procurement" }, .token = true,
	  .run = cmd_report,
	  .opts = { { "format", "table|csv|json", false, "how to print it (default table)" },
		    { "from", "DATE", false, "first day, YYYY-MM-DD (daily, monthly, spoilage)" },
		    { "to", "DATE", false, "last day, YYYY-MM-DD (daily, monthly, spoilage)" },
		    { "months", "N", false, "procurement: months to cover, 1 to 60 (default 3)" } },
	  .summary = "print a stock report: cards, spoilage, what to buy",
	  .help = "daily: cards printed and spoiled and consumables used, per day and printer\n"
		  "(default the last 7 days); monthly: the same per month (default the last 12);\n"
		  "spoilage: spoiled cards and stock by cause (default the last 30 days);\n"
		  "procurement: what to buy, in packs and rupiah, to cover N months at the\n"
		  "current rate, for the budget request. CSV has a header row and no title.\n"
		  "Supervisor only." },
};

static char *
user_path(const char *name, const char *what)
{
	return ctl_item_path("users", name, what);
}

/* ---- help and usage, generated from the table ---- */

/* "user add NAME --role ROLE". Caller frees. */
static char *
cmd_synopsis(const struct cmd *cmd)
{
	GString *s = g_string_new(cmd->words);
	for (int i = 0; i < CMD_MAX_ARGS && cmd->args[i]; i++)
		g_string_append_printf(s, " %s", cmd->args[i]);
	for (int i = 0; i < CMD_MAX_OPTS && cmd->opts[i].name; i++)
		g_string_append_printf(s, cmd->opts[i].required ? " --%s %s" : " [--%s %s]",
				       cmd->opts[i].name, cmd->opts[i].metavar);
	return g_string_free(s, FALSE);
}

static void
print_global_help(void)
{
	/* A synopsis wider than HELP_SYNOPSIS_MAX puts its summary on the next line. */
	int width = (int)strlen("help COMMAND");
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
		g_autofree char *syn = cmd_synopsis(&commands[i]);
		if ((int)strlen(syn) <= HELP_SYNOPSIS_MAX)
			width = MAX(width, (int)strlen(syn));
	}
	printf("usage: ektpctl [-S DIR | -s SOCKET] [--json] COMMAND [ARGS]\n\n"
	       "Controls ektpd, the e-KTP enrollment workstation daemon, through its socket.\n\n"
	       "options:\n"
	       "  -S DIR      state directory; the socket is DIR/ektpd.sock\n"
	       "              (default: $EKTP_STATE_DIR, else ./var)\n"
	       "  -s SOCKET   the daemon's socket, overriding -S\n"
	       "  --json      print the daemon's JSON answers as they are, indented\n"
	       "  -h, --help  print this help\n"
	       "  --version   print the version\n\n"
	       "commands:\n");
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
		g_autofree char *syn = cmd_synopsis(&commands[i]);
		if ((int)strlen(syn) > width)
			printf("  %s\n  %-*s  %s\n", syn, width, "", commands[i].summary);
		else
			printf("  %-*s  %s\n", width, syn, commands[i].summary);
	}
	printf("  %-*s  %s\n\n", width, "help COMMAND", "show a command's usage and help");
	printf("exit status: 0 done, 1 refused or failed, 2 usage error, 3 cannot reach ektpd\n");
}

static void
print_cmd_help(const struct cmd *cmd)
{
	g_autofree char *syn = cmd_synopsis(cmd);
	printf("usage: ektpctl %s\n\n%s\n", syn, cmd->help);
	if (cmd->opts[0].name) {
		int width = 12;
		for (int i = 0; i < CMD_MAX_OPTS && cmd->opts[i].name; i++)
			width = MAX(width, (int)(strlen(cmd->opts[i].name) +
						 strlen(cmd->opts[i].metavar) + 3));
		printf("\noptions:\n");
		for (int i = 0; i < CMD_MAX_OPTS && cmd->opts[i].name; i++) {
			g_autofree char *o = g_strdup_printf("--%s %s", cmd->opts[i].name,
							     cmd->opts[i].metavar);
			printf("  %-*s  %s\n", width, o, cmd->opts[i].help);
		}
	}
}

int
ctl_usage_error(const struct cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	out_error("%s", msg);
	if (cmd) {
		g_autofree char *syn = cmd_synopsis(cmd);
		fprintf(stderr, "usage: ektpctl %s\n", syn);
	} else {
		fprintf(stderr, "usage: ektpctl [-S DIR | -s SOCKET] [--json] COMMAND [ARGS]\n"
				"run `ektpctl --help` for the list of commands\n");
	}
	return RC_USAGE;
}

/* ---- parsing the command line ---- */

/* The command whose words start argv; *nwords gets how many words it used. */
static const struct cmd *
find_cmd(int argc, char **argv, int *nwords)
{
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
		g_auto(GStrv) words = g_strsplit(commands[i].words, " ", -1);
		int n = (int)g_strv_length(words), k = 0;
		while (k < n && k < argc && strcmp(words[k], argv[k]) == 0)
			k++;
		if (k == n) {
			*nwords = n;
			return &commands[i];
		}
	}
	return NULL;
}

/* Explains an unknown command; for a known first word such as "user", lists its commands. */
static int
unknown_cmd(int argc, char **argv)
{
	g_autofree char *group = g_strconcat(argv[0], " ", NULL);
	bool known = false;
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		known = known || g_str_has_prefix(commands[i].words, group);
	if (!known)
		return ctl_usage_error(NULL, "unknown command '%s'", argv[0]);
	if (argc > 1)
		out_error("unknown command '%s %s'", argv[0], argv[1]);
	else
		out_error("'%s' needs one more word", argv[0]);
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
		if (!g_str_has_prefix(commands[i].words, group))
			continue;
		g_autofree char *syn = cmd_synopsis(&commands[i]);
		fprintf(stderr, "usage: ektpctl %s\n", syn);
	}
	return RC_USAGE;
}

/* `ektpctl help [COMMAND]` */
static int
help_cmd(int argc, char **argv)
{
	if (argc == 0) {
		print_global_help();
		return RC_OK;
	}
	int nwords = 0;
	const struct cmd *cmd = find_cmd(argc, argv, &nwords);
	if (!cmd)
		return unknown_cmd(argc, argv);
	if (nwords < argc)
		return ctl_usage_error(NULL, "help takes a command, not '%s'", argv[nwords]);
	print_cmd_help(cmd);
	return RC_OK;
}

static bool
wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	return false;
}

/* One "--name VALUE" or "--name=VALUE" at argv[*i]; advances *i past a separate value. */
static int
parse_cmd_opt(struct ctx *c, int argc, char **argv, int *i)
{
	const struct cmd *cmd = c->cmd;
	const char *arg = argv[*i];
	if (strncmp(arg, "--", 2) != 0)
		return ctl_usage_error(cmd, "unknown option '%s'", arg);
	const char *name = arg + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	int k = 0;
	while (k < CMD_MAX_OPTS && cmd->opts[k].name &&
	       !(strlen(cmd->opts[k].name) == len && strncmp(cmd->opts[k].name, name, len) == 0))
		k++;
	if (k == CMD_MAX_OPTS || !cmd->opts[k].name)
		return ctl_usage_error(cmd, "unknown option '%.*s'", (int)(len + 2), arg);
	const struct cmd_opt *opt = &cmd->opts[k];
	const char *value = eq ? eq + 1 : *i + 1 < argc ? argv[++*i] : NULL;
	if (!value)
		return ctl_usage_error(cmd, "option --%s needs a value (%s)", opt->name, opt->metavar);
	if (c->opts[k])
		return ctl_usage_error(cmd, "option --%s given twice", opt->name);
	c->opts[k] = value;
	return RC_OK;
}

/* A word that reads as a negative number ("-3") is an argument, not an option: a stock
 * adjustment takes one. */
static bool
is_negative_number(const char *arg)
{
	return arg[0] == '-' && g_ascii_isdigit(arg[1]);
}

/* Fills c->args and c->opts from the words after the command's name. --json is accepted here
 * too, since that is where people tend to type it. */
static int
parse_cmd_args(struct ctx *c, int argc, char **argv)
{
	const struct cmd *cmd = c->cmd;
	bool options = true;
	int npos = 0;
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		if (options && strcmp(arg, "--") == 0) {
			options = false;
		} else if (options && strcmp(arg, "--json") == 0) {
			c->json = true;
		} else if (options && arg[0] == '-' && arg[1] != '\0' && !is_negative_number(arg)) {
			int rc = parse_cmd_opt(c, argc, argv, &i);
			if (rc != RC_OK)
				return rc;
		} else if (npos < CMD_MAX_ARGS && cmd->args[npos]) {
			c->args[npos++] = arg;
		} else {
			return ctl_usage_error(cmd, "unexpected argument '%s'", arg);
		}
	}
	if (npos < CMD_MAX_ARGS && cmd->args[npos] && cmd->args[npos][0] != '[')
		return ctl_usage_error(cmd, "missing %s", cmd->args[npos]);
	for (int k = 0; k < CMD_MAX_OPTS && cmd->opts[k].name; k++)
		if (cmd->opts[k].required && !c->opts[k])
			return ctl_usage_error(cmd, "missing --%s %s", cmd->opts[k].name,
					   cmd->opts[k].metavar);
	return RC_OK;
}

/* ---- the commands ---- */

static int
cmd_status(struct ctx *c)
{
	g_autoptr(ClientReply) r = NULL;
	int rc = ctl_call(c, "GET", "/v1/status", NULL, 0, &r);
	if (rc != RC_OK)
		return rc;
	if (ctl_print_json(c, r))
		return RC_OK;
	gint64 uptime = 0, size = 0;
	ctl_get_int(r->obj, "uptime_s", &uptime);
	g_autofree char *version = ctl_get_text(r->obj, "version");
	g_autofree char *up = out_duration(uptime);
	g_autofree char *since = out_local_time(ctl_get_str(r->obj, "started_at"));
	printf("ektpd %s, up %s (since %s)\n", version, up, since);

	JsonObject *db = ctl_get_obj(r->obj, "database");
	g_autofree char *path = ctl_get_text(db, "path");
	g_autofree char *schema = ctl_get_text(db, "schema_version");
	g_autofree char *size_text = ctl_get_int(db, "size_bytes", &size) ? out_size(size)
								      : g_strdup("size unknown");
	printf("database: %s, %s, schema version %s\n", path, size_text, schema);

	JsonObject *counts = ctl_get_obj(r->obj, "counts");
	g_autofree char *users = ctl_get_text(counts, "users");
	g_autofree char *sessions = ctl_get_text(counts, "active_sessions");
	g_autofree char *rows = ctl_get_text(counts, "audit_rows");
	printf("users: %s, active sessions: %s, audit rows: %s\n", users, sessions, rows);
	if (ctl_get_bool(r->obj, "bootstrap_needed"))
		printf("no admin account yet: create one as root with "
		       "`ektpctl user add NAME --role admin`\n");
	return RC_OK;
}

/* "logged in as NAME (ROLE) until TIME", from a login or whoami answer. */
static void
print_session(JsonObject *o)
{
	g_autofree char *user = ctl_get_text(o, "user");
	g_autofree char *role = ctl_get_text(o, "role");
	g_autofree char *until = out_local_time(ctl_get_str(o, "expires_at"));
	printf("logged in as %s (%s) until %s\n", user, role, until);
}

static int
cmd_login(struct ctx *c)
{
	const char *name = c->args[0];
	g_autoptr(GError) error = NULL;
	g_autofree char *prompt = g_strdup_printf("PIN for %s: ", name);
	g_autoptr(SecretPin) pin = secret_pin_read(prompt, &error);
	if (!pin)
		return ctl_fail(error);

	g_autoptr(JsonObject) body = json_object_new();
	json_object_set_string_member(body, "user", name);
	json_object_set_string_member(body, "pin", pin);
	g_autoptr(ClientReply) r = NULL;
	int rc = ctl_call(c, "POST", "/v1/login", body, CALL_PIN_CHECK, &r);
	ctl_wipe_member(body, "pin");
	if (rc != RC_OK)
		return rc;

	const char *token = ctl_get_str(r->obj, "token");
	if (!token) {
		out_error("ektpd's login answer has no token");
		return RC_FAIL;
	}
	if (secret_token_store(c->token_path, token, &error) < 0)
		return ctl_fail(error);
	if (!ctl_print_json(c, r))
		print_session(r->obj);
	return RC_OK;
}

static int
cmd_logout(struct ctx *c)
{
	g_autoptr(ClientReply) r = NULL;
	g_autoptr(GError) error = NULL;
	int rc = ctl_call(c, "POST", "/v1/logout", NULL, 0, &r);
	/* After a 401 the token is worth nothing either: forget it all the same. */
	if (rc == RC_OK || (r && r->status == HTTP_UNAUTHORIZED)) {
		if (secret_token_remove(c->token_path, &error) < 0)
			return ctl_fail(error);
	}
	if (rc != RC_OK)
		return rc;
	if (!ctl_print_json(c, r))
		printf("logged out\n");
	return RC_OK;
}

static int
cmd_whoami(struct ctx *c)
{
	g_autoptr(ClientReply) r = NULL;
	int rc = ctl_call(c, "GET", "/v1/whoami", NULL, 0, &r);
	if (rc != RC_OK)
		return rc;
	if (!ctl_print_json(c, r))
		print_session(r->obj);
	return RC_OK;
}

static int
cmd_user_add(struct ctx *c)
{
	const char *name = c->args[0], *role = ctl_opt(c, "role");
	g_autoptr(GError) error = NULL;
	g_autofree char *prompt = g_strdup_printf("PIN for %s: ", name);
	g_autoptr(SecretPin) pin = secret_pin_read_new(prompt, &error);
	if (!pin)
		return ctl_fail(error);

	g_autoptr(JsonObject) body = json_object_new();
	json_object_set_string_member(body, "name", name);
	json_object_set_string_member(body, "role", role);
	json_object_set_string_member(body, "pin", pin);
	g_autoptr(ClientReply) r = NULL;
	int rc = ctl_call(c, "POST", "/v1/users", body, CALL_QUIET, &r);
	if (rc != RC_OK && r && r->status == 401) {
		/* A token left from an earlier database (var/ wiped) must not stand in the
		 * way of creating the first admin: while none exists, try without it. */
		g_autoptr(ClientReply) st = NULL;
		if (ctl_call(c, "GET", "/v1/status", NULL, CALL_QUIET, &st) == RC_OK &&
		    ctl_get_bool(st->obj, "bootstrap_needed")) {
			client_set_token(c->client, NULL);
			g_clear_pointer(&r, client_reply_free);
			rc = ctl_call(c, "POST", "/v1/users", body, CALL_QUIET, &r);
		}
	}
	if (rc != RC_OK && r) {
		if (c->json)
			out_json(r->root);
		ctl_report_error(c, r, 0);
	}
	ctl_wipe_member(body, "pin");
	if (rc != RC_OK)
		return rc;
	if (ctl_print_json(c, r))
		return RC_OK;
	g_autofree char *made = ctl_get_text(r->obj, "name");
	g_autofree char *made_role = ctl_get_text(r->obj, "role");
	printf("created user %s (%s)\n", made, made_role);
	return RC_OK;
}

/* "active", "disabled" or "locked until TIME" for one user of GET /v1/users. Caller frees. */
static char *
user_state(JsonObject *user)
{
	if (ctl_get_bool(user, "disabled"))
		return g_strdup("disabled");
	const char *locked = ctl_get_str(user, "locked_until");
	g_autoptr(GDateTime) until = locked ? g_date_time_new_from_iso8601(locked, NULL) : NULL;
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	if (until && g_date_time_compare(until, now) > 0) {
		g_autofree char *when = out_local_time(locked);
		return g_strdup_printf("locked until %s", when);
	}
	return g_strdup("active");
}

static int
cmd_user_list(struct ctx *c)
{
	g_autoptr(ClientReply) r = NULL;
	JsonArray *list;
	int rc = ctl_get_list(c, "/v1/users", "users", &r, &list);
	if (rc != RC_OK || !list)
		return rc;
	g_autoptr(OutTable) table =
		out_table_new("NAME", "ROLE", "STATE", "CREATED", "LAST LOGIN", NULL);
	for (guint i = 0; i < json_array_get_length(list); i++) {
		JsonNode *n = json_array_get_element(list, i);
		JsonObject *u = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
		g_autofree char *name = ctl_get_text(u, "name");
		g_autofree char *role = ctl_get_text(u, "role");
		g_autofree char *state = user_state(u);
		g_autofree char *created = out_local_time(ctl_get_str(u, "created_at"));
		g_autofree char *last = out_local_time(ctl_get_str(u, "last_login_at"));
		out_table_add_row(table, (const char *const[]){ name, role, state, created, last });
	}
	if (out_table_rows(table) == 0)
		printf("no users\n");
	else
		out_table_print(table);
	return RC_OK;
}

static int
cmd_user_disable(struct ctx *c)
{
	g_autofree char *path = user_path(c->args[0], "disable");
	if (!path)
		return ctl_usage_error(c->cmd, "'%s' is not a user name", c->args[0]);
	g_autoptr(ClientReply) r = NULL;
	int rc = ctl_call(c, "POST", path, NULL, 0, &r);
	if (rc != RC_OK)
		return rc;
	if (!ctl_print_json(c, r))
		printf("disabled user %s\n", c->args[0]);
	return RC_OK;
}

/* Changing one's own PIN needs the current one (api.md asks old_pin of everybody, admins
 * included); from a pipe that means two lines, current then new. */
static int
cmd_user_pin(struct ctx *c)
{
	const char *name = c->args[0];
	g_autofree char *path = user_path(name, "pin");
	if (!path)
		return ctl_usage_error(c->cmd, "'%s' is not a user name", name);
	g_autoptr(GError) error = NULL;
	g_autoptr(ClientReply) me = NULL;
	int rc = ctl_call(c, "GET", "/v1/whoami", NULL, 0, &me);
	if (rc != RC_OK)
		return rc;
	bool self = g_strcmp0(ctl_get_str(me->obj, "user"), name) == 0;

	g_autoptr(SecretPin) old_pin = NULL;
	if (self && !(old_pin = secret_pin_read("current PIN: ", &error)))
		return ctl_fail(error);
	g_autofree char *prompt = g_strdup_printf("new PIN for %s: ", name);
	g_autoptr(SecretPin) pin = secret_pin_read_new(prompt, &error);
	if (!pin)
		return ctl_fail(error);

	g_autoptr(JsonObject) body = json_object_new();
	json_object_set_string_member(body, "pin", pin);
	if (old_pin)
		json_object_set_string_member(body, "old_pin", old_pin);
	g_autoptr(ClientReply) r = NULL;
	rc = ctl_call(c, "POST", path, body, self ? CALL_PIN_CHECK : 0, &r);
	ctl_wipe_member(body, "pin");
	ctl_wipe_member(body, "old_pin");
	if (rc != RC_OK)
		return rc;
	if (!ctl_print_json(c, r))
		printf("PIN changed for %s\n", name);
	return RC_OK;
}

static int
cmd_audit_list(struct ctx *c)
{
	g_autoptr(GString) path = g_string_new("/v1/audit");
	int rc = ctl_query_number(c, path, "after");
	if (rc == RC_OK)
		rc = ctl_query_number(c, path, "limit");
	if (rc != RC_OK)
		return rc;
	g_autoptr(ClientReply) r = NULL;
	JsonArray *list;
	rc = ctl_get_list(c, path->str, "rows", &r, &list);
	if (rc != RC_OK || !list)
		return rc;
	g_autoptr(OutTable) table = out_table_new("ID", "TIME", "USER", "ROLE", "ACTION",
						  "TARGET", "RESULT", NULL);
	for (guint i = 0; i < json_array_get_length(list); i++) {
		JsonNode *n = json_array_get_element(list, i);
		JsonObject *row = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
		g_autofree char *id = ctl_get_text(row, "id");
		g_autofree char *ts = out_local_time(ctl_get_str(row, "ts"));
		g_autofree char *user = ctl_get_text(row, "user");
		g_autofree char *role = ctl_get_text(row, "role");
		g_autofree char *action = ctl_get_text(row, "action");
		g_autofree char *target = ctl_get_text(row, "target");
		g_autofree char *result = ctl_get_text(row, "result");
		out_table_add_row(table, (const char *const[]){ id, ts, user, role, action,
								target, result });
	}
	if (out_table_rows(table) == 0)
		printf("no audit rows\n");
	else
		out_table_print(table);

	gint64 next = 0;
	if (ctl_get_int(r->obj, "next_after", &next)) {
		const char *limit = ctl_opt(c, "limit");
		printf("more rows: ektpctl audit list --after %" G_GINT64_FORMAT "%s%s\n", next,
		       limit ? " --limit " : "", limit ? limit : "");
	}
	return RC_OK;
}

static int
cmd_audit_verify(struct ctx *c)
{
	g_autoptr(ClientReply) r = NULL;
	int rc = ctl_call(c, "GET", "/v1/audit/verify", NULL, 0, &r);
	if (rc != RC_OK)
		return rc;
	bool ok = ctl_get_bool(r->obj, "ok");
	if (c->json) {
		out_json(r->root);
	} else if (ok) {
		g_autofree char *rows = ctl_get_text(r->obj, "rows");
		printf("audit log verified: %s rows, chain intact\n", rows);
	} else {
		g_autofree char *bad = ctl_get_text(r->obj, "first_bad");
		const char *reason = ctl_get_str(r->obj, "reason");
		printf("audit log BROKEN at row %s: %s\n", bad,
		       reason ? reason : "no reason given");
	}
	return ok ? RC_OK : RC_FAIL;
}

/* ---- main ---- */

/* Connects, loads the session token when the command sends one, and runs the command. */
static int
run_cmd(struct ctx *c, const char *socket_path)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(Client) client = client_new(socket_path, "ektpctl/" EKTPCTL_VERSION, &error);
	if (!client) {
		out_error("cannot reach ektpd at %s: %s", socket_path, error->message);
		return RC_UNREACHABLE;
	}
	g_autofree char *token_path = secret_token_path(socket_path);
	if (c->cmd->token) {
		g_autofree char *token = NULL;
		if (secret_token_load(token_path, &token, &error) < 0)
			return ctl_fail(error);
		client_set_token(client, token);
	}
	c->socket_path = socket_path;
	c->token_path = token_path;
	c->client = client;
	return c->cmd->run(c);
}

int
main(int argc, char **argv)
{
	struct ctx c = { 0 };
	const char *state_dir = NULL, *socket_arg = NULL;
	int i = 1;

	for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--") == 0) {
			i++;
			break;
		} else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			print_global_help();
			return RC_OK;
		} else if (strcmp(arg, "--version") == 0) {
			printf("ektpctl " EKTPCTL_VERSION "\n");
			return RC_OK;
		} else if (strcmp(arg, "--json") == 0) {
			c.json = true;
		} else if (strcmp(arg, "-S") == 0 || strcmp(arg, "-s") == 0) {
			if (i + 1 >= argc)
				return ctl_usage_error(NULL, "option %s needs a value", arg);
			*(arg[1] == 'S' ? &state_dir : &socket_arg) = argv[++i];
		} else if (strncmp(arg, "-S", 2) == 0 || strncmp(arg, "-s", 2) == 0) {
			*(arg[1] == 'S' ? &state_dir : &socket_arg) = arg + 2;
		} else {
			return ctl_usage_error(NULL, "unknown option '%s'", arg);
		}
	}
	if (i >= argc)
		return ctl_usage_error(NULL, "no command given");
	if (strcmp(argv[i], "help") == 0)
		return help_cmd(argc - i - 1, argv + i + 1);

	int nwords = 0;
	c.cmd = find_cmd(argc - i, argv + i, &nwords);
	if (!c.cmd)
		return unknown_cmd(argc - i, argv + i);
	i += nwords;
	if (wants_help(argc - i, argv + i)) {
		print_cmd_help(c.cmd);
		return RC_OK;
	}
	int rc = parse_cmd_args(&c, argc - i, argv + i);
	if (rc != RC_OK)
		return rc;

	if (!state_dir) {
		const char *env = g_getenv("EKTP_STATE_DIR");
		state_dir = env && *env ? env : "var";
	}
	g_autofree char *socket_path =
		socket_arg ? g_strdup(socket_arg) : g_build_filename(state_dir, "ektpd.sock", NULL);
	return run_cmd(&c, socket_path);
}

static char *
reasons_text(JsonObject *d)
{
	JsonNode *n = d ? json_object_get_member(d, "reasons") : NULL;
	if (!n || !JSON_NODE_HOLDS_ARRAY(n) || json_array_get_length(json_node_get_array(n)) == 0)
		return g_strdup("-");
	g_autoptr(GString) s = g_string_new(NULL);
	JsonArray *a = json_node_get_array(n);
	for (guint i = 0; i < json_array_get_length(a); i++)
		g_string_append_printf(s, "%s%s", i ? "," : "", json_array_get_string_element(a, i));
	return g_string_free(g_steal_pointer(&s), FALSE);
}

/* "ok 2026-11-27 18:40:31", "FAILED …" or "-". Caller frees. */
static char *
last_selftest_text(JsonObject *t)
{
	if (!t)
		return g_strdup("-");
	g_autofree char *when = out_local_time(ctl_get_str(t, "ts"));
	JsonNode *ok = json_object_get_member(t, "ok");
	bool passed = ok && JSON_NODE_HOLDS_VALUE(ok) && json_node_get_boolean(ok);
	return g_strdup_printf("%s %s", passed ? "ok" : "FAILED", when);
}

static int
cmd_devices(struct ctx *c)
{
	g_autoptr(ClientReply) r = NULL;
	JsonArray *list;
	int rc = ctl_get_list(c, "/v1/devices", "devices", &r, &list);
	if (rc != RC_OK || !list)
		return rc;
	g_autoptr(OutTable) table = out_table_new("DEVICE", "CLASS", "DRIVER", "STATE", "REASONS",
						  "SERIAL", "SINCE", "LAST SELF-TEST", "LAST ERROR",
						  NULL);
	for (guint i = 0; i < json_array_get_length(list); i++) {
		JsonNode *n = json_array_get_element(list, i);
		JsonObject *d = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
		g_autofree char *name = ctl_get_text(d, "name");
		g_autofree char *klass = ctl_get_text(d, "class");
		g_autofree char *driver = ctl_get_text(d, "driver");
		g_autofree char *state = ctl_get_text(d, "state");
		g_autofree char *reasons = reasons_text(d);
		g_autofree char *serial = ctl_get_text(d, "serial");
		g_autofree char *since = out_local_time(ctl_get_str(d, "state_since"));
		g_autofree char *error = ctl_get_text(d, "last_error");
		g_autofree char *selftest = last_selftest_text(ctl_get_obj(d, "last_selftest"));
		out_table_add_row(table, (const char *const[]){ name, klass, driver, state, reasons,
								serial, since, selftest, error });
	}
	if (out_table_rows(table) == 0)
		printf("no devices configured\n");
	else
		out_table_print(table);
	return RC_OK;
}

static int
cmd_device_fault(struct ctx *c)
{
	g_autofree char *path = ctl_item_path("devices", c->args[0], "fault");
	if (!path)
		return ctl_usage_error(c->cmd, "'%s' is not a device name", c->args[0]);
	g_autoptr(JsonObject) body = json_object_new();
	json_object_set_string_member(body, "kind", c->args[1]);
	const char *count = ctl_opt(c, "count");
	if (count) {
		gint64 n;
		if (!g_ascii_string_to_signed(count, 10, 0, 1000000, &n, NULL))
			return ctl_usage_error(c->cmd, "--count takes a whole number from 0 to 1000000");
		json_object_set_int_member(body, "count", n);
	}
	g_autoptr(ClientReply) r = NULL;
	int rc = ctl_call(c, "POST", path, body, 0, &r);
	if (rc != RC_OK)
		return rc;
	if (!ctl_print_json(c, r))
		printf("device %s: fault %s%s%s\n", c->args[0], c->args[1],
		       count ? ", for the next operations: " : "", count ? count : "");
	return RC_OK;
}

/* Runs one device's self-test; adds its row to TABLE and its answer to ANSWERS. */
static int
selftest_one(struct ctx *c, const char *device, OutTable *table, JsonArray *answers)
{
	g_autofree char *path = ctl_item_path("devices", device, "selftest");
	if (!path)
		return ctl_usage_error(c->cmd, "'%s' is not a device name", device);
	g_autoptr(ClientReply) r = NULL;
	bool json = c->json;
	c->json = false; /* errors are reported per device below */
	int rc = ctl_call(c, "POST", path, NULL, 0, &r);
	c->json = json;
	if (rc == RC_UNREACHABLE || !r)
		return rc;
	json_array_add_element(answers, json_node_copy(r->root));
	if (rc != RC_OK) {
		out_table_add_row(table, (const char *const[]){ device, "ERROR",
								client_reply_message(r) });
		return RC_FAIL;
	}
	JsonNode *okn = json_object_get_member(r->obj, "ok");
	bool ok = okn && JSON_NODE_HOLDS_VALUE(okn) && json_node_get_boolean(okn);
	out_table_add_row(table, (const char *const[]){ device, ok ? "ok" : "FAILED",
							ctl_get_str(r->obj, "message") });
	return ok ? RC_OK : RC_FAIL;
}

static int
cmd_selftest(struct ctx *c)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	if (strcmp(c->args[0], "all") == 0) {
		g_autoptr(ClientReply) r = NULL;
		int rc = ctl_call(c, "GET", "/v1/devices", NULL, 0, &r);
		if (rc != RC_OK)
			return rc;
		JsonNode *devices = json_object_get_member(r->obj, "devices");
		JsonArray *list = devices && JSON_NODE_HOLDS_ARRAY(devices)
					  ? json_node_get_array(devices)
					  : NULL;
		for (guint i = 0; list && i < json_array_get_length(list); i++) {
			JsonNode *n = json_array_get_element(list, i);
			if (JSON_NODE_HOLDS_OBJECT(n))
				g_ptr_array_add(names, ctl_get_text(json_node_get_object(n), "name"));
		}
		if (names->len == 0) {
			out_error("no devices configured");
			return RC_FAIL;
		}
	} else {
		g_ptr_array_add(names, g_strdup(c->args[0]));
	}
	g_autoptr(OutTable) table = out_table_new("DEVICE", "RESULT", "MESSAGE", NULL);
	g_autoptr(JsonArray) answers = json_array_new();
	int worst = RC_OK;
	for (guint i = 0; i < names->len; i++) {
		if (!c->json && names->len > 1)
			fprintf(stderr, "testing %s (%u of %u)...\n", (char *)names->pdata[i], i + 1,
				names->len);
		int rc = selftest_one(c, names->pdata[i], table, answers);
		if (rc == RC_UNREACHABLE || rc == RC_USAGE)
			return rc;
		if (rc != RC_OK)
			worst = RC_FAIL;
	}
	if (c->json) {
		g_autoptr(JsonNode) root = json_node_init_array(json_node_alloc(), answers);
		out_json(root);
	} else {
		out_table_print(table);
	}
	return worst;
}

static int
cmd_selftest_history(struct ctx *c)
{
	g_autofree char *base = ctl_item_path("devices", c->args[0], "selftests");
	if (!base)
		return ctl_usage_error(c->cmd, "'%s' is not a device name", c->args[0]);
	g_autoptr(GString) path = g_string_new(base);
	int rc = ctl_query_number(c, path, "limit");
	if (rc != RC_OK)
		return rc;
	g_autoptr(ClientReply) r = NULL;
	JsonArray *list;
	rc = ctl_get_list(c, path->str, "selftests", &r, &list);
	if (rc != RC_OK || !list)
		return rc;
	g_autoptr(OutTable) table = out_table_new("ID", "TIME", "RESULT", "BY", "MESSAGE", NULL);
	for (guint i = 0; i < json_array_get_length(list); i++) {
		JsonNode *n = json_array_get_element(list, i);
		JsonObject *t = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
		g_autofree char *id = ctl_get_text(t, "id");
		g_autofree char *ts = out_local_time(ctl_get_str(t, "ts"));
		g_autofree char *ok = ctl_get_text(t, "ok");
		g_autofree char *by = ctl_get_text(t, "user");
		g_autofree char *msg = ctl_get_text(t, "message");
		out_table_add_row(table, (const char *const[]){ id, ts,
								strcmp(ok, "yes") == 0 ? "ok" : "FAILED",
								by, msg });
	}
	if (out_table_rows(table) == 0)
		printf("no self-tests of %s yet\n", c->args[0]);
	else
		out_table_print(table);
	return RC_OK;
}
