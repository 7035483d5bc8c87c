/* SPDX-License-Identifier: MIT */
/*
 * ektpctl, the command-line client of ektpd: it sends one request (or two) to the daemon's
 * control API over its Unix socket and prints the answer for a person, or as JSON for a script.
 *
 * The command table below is the one list of commands: the parser matches its words, and the
 * general --help, each command's usage line and `ektpctl help COMMAND` are all generated from
 * it. ektpctl shares no code with the daemon; the API's JSON (docs/api.md) is the contract.
 *
 * Exit codes: 0 done, 1 refused or failed, 2 usage error, 3 the daemon cannot be reached.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ektpctl/client.h"
#include "ektpctl/output.h"
#include "ektpctl/secret.h"
#include "util/version.h"

#define EKTPCTL_VERSION EKTP_VERSION
#define CMD_MAX_ARGS 2
#define CMD_MAX_OPTS 2
#define HTTP_UNAUTHORIZED 401
#define LOGIN_HINT "not logged in or session expired: run `ektpctl login NAME`"

enum rc { RC_OK = 0, RC_FAIL = 1, RC_USAGE = 2, RC_UNREACHABLE = 3 };

/* call() flag: the body carries a PIN, so a 401 answer means that PIN was wrong, not that the
 * session is gone; show the daemon's own message. */
#define CALL_PIN_CHECK 1u

struct ctx;

struct cmd_opt {
	const char *name; /* without the leading "--"; NULL ends the list */
	const char *metavar;
	bool required;
	const char *help;
};

struct cmd {
	const char *words;              /* the command's words, e.g. "user add" */
	const char *args[CMD_MAX_ARGS]; /* required positional arguments, by metavar */
	struct cmd_opt opts[CMD_MAX_OPTS];
	bool token; /* send the stored session token; a 401 then means "log in" */
	int (*run)(struct ctx *c);
	const char *summary; /* one line for the command list */
	const char *help;    /* paragraph for the command's own help */
};

/* One run of ektpctl: the command, its parsed arguments and the connection. */
struct ctx {
	const struct cmd *cmd;
	const char *args[CMD_MAX_ARGS]; /* borrowed from argv */
	const char *opts[CMD_MAX_OPTS]; /* borrowed from argv; NULL when not given */
	bool json;
	const char *socket_path; /* borrowed from main */
	const char *token_path;  /* borrowed from run_cmd */
	Client *client;          /* borrowed from run_cmd */
};

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
};

/* ---- reading the API's JSON ---- */

/* Member name of o (which may be NULL) when it is a JSON value of the given type. Borrowed. */
static JsonNode *
get_value(JsonObject *o, const char *name, GType type)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;
	if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != type)
		return NULL;
	return n;
}

/* Borrowed from o; NULL when missing, null or not a string. */
static const char *
get_str(JsonObject *o, const char *name)
{
	JsonNode *n = get_value(o, name, G_TYPE_STRING);
	return n ? json_node_get_string(n) : NULL;
}

static bool
get_int(JsonObject *o, const char *name, gint64 *value)
{
	JsonNode *n = get_value(o, name, G_TYPE_INT64);
	if (n)
		*value = json_node_get_int(n);
	return n != NULL;
}

static bool
get_bool(JsonObject *o, const char *name)
{
	JsonNode *n = get_value(o, name, G_TYPE_BOOLEAN);
	return n && json_node_get_boolean(n);
}

/* Borrowed from o; NULL when missing or not an object. */
static JsonObject *
get_obj(JsonObject *o, const char *name)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;
	return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

/* Any scalar member as text, "-" when missing or null. Caller frees. */
static char *
get_text(JsonObject *o, const char *name)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;
	if (!n || !JSON_NODE_HOLDS_VALUE(n))
		return g_strdup("-");
	GType type = json_node_get_value_type(n);
	if (type == G_TYPE_STRING)
		return g_strdup(json_node_get_string(n));
	if (type == G_TYPE_INT64)
		return g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(n));
	if (type == G_TYPE_BOOLEAN)
		return g_strdup(json_node_get_boolean(n) ? "yes" : "no");
	if (type == G_TYPE_DOUBLE)
		return g_strdup_printf("%g", json_node_get_double(n));
	return g_strdup("-");
}

/* Overwrites the string member name of o (a PIN) before the object is freed. */
static void
wipe_member(JsonObject *o, const char *name)
{
	JsonNode *n = get_value(o, name, G_TYPE_STRING);
	if (n) {
		char *s = (char *)json_node_get_string(n);
		explicit_bzero(s, strlen(s));
	}
}

/* ---- talking to the daemon ---- */

/* Sends one request (path and body borrowed). Whenever the daemon answers, *reply gets the
 * answer (caller frees). Returns RC_OK for a 2xx answer; otherwise prints why and returns the
 * exit code. With --json an error answer is printed too. */
static int
call(struct ctx *c, const char *method, const char *path, JsonObject *body,
     unsigned flags, ClientReply **reply)
{
	g_autoptr(GError) error = NULL;
	switch (client_request(c->client, method, path, body, reply, &error)) {
	case CLIENT_UNREACHABLE:
		out_error("cannot reach ektpd at %s: %s", c->socket_path, error->message);
		return RC_UNREACHABLE;
	case CLIENT_FAILED:
		out_error("%s", error->message);
		return RC_FAIL;
	case CLIENT_OK:
		break;
	}
	guint status = (*reply)->status;
	if (status >= 200 && status < 300)
		return RC_OK;
	if (c->json)
		out_json((*reply)->root);
	if (status == HTTP_UNAUTHORIZED && c->cmd->token && !(flags & CALL_PIN_CHECK))
		out_error(LOGIN_HINT);
	else
		out_error("%s", client_reply_message(*reply));
	return RC_FAIL;
}

/* With --json prints the answer as is and returns true: the command has nothing to add. */
static bool
print_json(const struct ctx *c, const ClientReply *r)
{
	if (c->json)
		out_json(r->root);
	return c->json;
}

/* The API path /v1/COLLECTION/NAME/what with NAME percent-encoded, or NULL for "." and "..":
 * URI normalisation would turn those, even encoded, into another route. Caller frees. */
static char *
item_path(const char *collection, const char *name, const char *what)
{
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return NULL;
	g_autofree char *segment = g_uri_escape_string(name, NULL, FALSE);
	return g_strdup_printf("/v1/%s/%s/%s", collection, segment, what);
}

static char *
user_path(const char *name, const char *what)
{
	return item_path("users", name, what);
}

static int
fail(const GError *error)
{
	out_error("%s", error->message);
	return RC_FAIL;
}

static const char *
opt_value(const struct ctx *c, const char *name)
{
	for (int i = 0; i < CMD_MAX_OPTS && c->cmd->opts[i].name; i++)
		if (strcmp(c->cmd->opts[i].name, name) == 0)
			return c->opts[i];
	g_assert_not_reached();
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
	int width = (int)strlen("help COMMAND");
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
		g_autofree char *syn = cmd_synopsis(&commands[i]);
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
		printf("\noptions:\n");
		for (int i = 0; i < CMD_MAX_OPTS && cmd->opts[i].name; i++) {
			g_autofree char *o = g_strdup_printf("--%s %s", cmd->opts[i].name,
							     cmd->opts[i].metavar);
			printf("  %-12s  %s\n", o, cmd->opts[i].help);
		}
	}
}

/* Prints "ektpctl: MESSAGE" and the usage of cmd (or of ektpctl when NULL) on stderr. */
static int usage_error(const struct cmd *cmd, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static int
usage_error(const struct cmd *cmd, const char *fmt, ...)
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
		return usage_error(NULL, "unknown command '%s'", argv[0]);
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
		return usage_error(NULL, "help takes a command, not '%s'", argv[nwords]);
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
		return usage_error(cmd, "unknown option '%s'", arg);
	const char *name = arg + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	int k = 0;
	while (k < CMD_MAX_OPTS && cmd->opts[k].name &&
	       !(strlen(cmd->opts[k].name) == len && strncmp(cmd->opts[k].name, name, len) == 0))
		k++;
	if (k == CMD_MAX_OPTS || !cmd->opts[k].name)
		return usage_error(cmd, "unknown option '%.*s'", (int)(len + 2), arg);
	const struct cmd_opt *opt = &cmd->opts[k];
	const char *value = eq ? eq + 1 : *i + 1 < argc ? argv[++*i] : NULL;
	if (!value)
		return usage_error(cmd, "option --%s needs a value (%s)", opt->name, opt->metavar);
	if (c->opts[k])
		return usage_error(cmd, "option --%s given twice", opt->name);
	c->opts[k] = value;
	return RC_OK;
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
		} else if (options && arg[0] == '-' && arg[1] != '\0') {
			int rc = parse_cmd_opt(c, argc, argv, &i);
			if (rc != RC_OK)
				return rc;
		} else if (npos < CMD_MAX_ARGS && cmd->args[npos]) {
			c->args[npos++] = arg;
		} else {
			return usage_error(cmd, "unexpected argument '%s'", arg);
		}
	}
	if (npos < CMD_MAX_ARGS && cmd->args[npos])
		return usage_error(cmd, "missing %s", cmd->args[npos]);
	for (int k = 0; k < CMD_MAX_OPTS && cmd->opts[k].name; k++)
		if (cmd->opts[k].required && !c->opts[k])
			return usage_error(cmd, "missing --%s %s", cmd->opts[k].name,
					   cmd->opts[k].metavar);
	return RC_OK;
}

/* ---- the commands ---- */

static int
cmd_status(struct ctx *c)
{
	g_autoptr(ClientReply) r = NULL;
	int rc = call(c, "GET", "/v1/status", NULL, 0, &r);
	if (rc != RC_OK)
		return rc;
	if (print_json(c, r))
		return RC_OK;
	gint64 uptime = 0, size = 0;
	get_int(r->obj, "uptime_s", &uptime);
	g_autofree char *version = get_text(r->obj, "version");
	g_autofree char *up = out_duration(uptime);
	g_autofree char *since = out_local_time(get_str(r->obj, "started_at"));
	printf("ektpd %s, up %s (since %s)\n", version, up, since);

	JsonObject *db = get_obj(r->obj, "database");
	g_autofree char *path = get_text(db, "path");
	g_autofree char *schema = get_text(db, "schema_version");
	g_autofree char *size_text = get_int(db, "size_bytes", &size) ? out_size(size)
								      : g_strdup("size unknown");
	printf("database: %s, %s, schema version %s\n", path, size_text, schema);

	JsonObject *counts = get_obj(r->obj, "counts");
	g_autofree char *users = get_text(counts, "users");
	g_autofree char *sessions = get_text(counts, "active_sessions");
	g_autofree char *rows = get_text(counts, "audit_rows");
	printf("users: %s, active sessions: %s, audit rows: %s\n", users, sessions, rows);
	if (get_bool(r->obj, "bootstrap_needed"))
		printf("no admin account yet: create one as root with "
		       "`ektpctl user add NAME --role admin`\n");
	return RC_OK;
}

/* "logged in as NAME (ROLE) until TIME", from a login or whoami answer. */
static void
print_session(JsonObject *o)
{
	g_autofree char *user = get_text(o, "user");
	g_autofree char *role = get_text(o, "role");
	g_autofree char *until = out_local_time(get_str(o, "expires_at"));
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
		return fail(error);

	g_autoptr(JsonObject) body = json_object_new();
	json_object_set_string_member(body, "user", name);
	json_object_set_string_member(body, "pin", pin);
	g_autoptr(ClientReply) r = NULL;
	int rc = call(c, "POST", "/v1/login", body, CALL_PIN_CHECK, &r);
	wipe_member(body, "pin");
	if (rc != RC_OK)
		return rc;

	const char *token = get_str(r->obj, "token");
	if (!token) {
		out_error("ektpd's login answer has no token");
		return RC_FAIL;
	}
	if (secret_token_store(c->token_path, token, &error) < 0)
		return fail(error);
	if (!print_json(c, r))
		print_session(r->obj);
	return RC_OK;
}

static int
cmd_logout(struct ctx *c)
{
	g_autoptr(ClientReply) r = NULL;
	g_autoptr(GError) error = NULL;
	int rc = call(c, "POST", "/v1/logout", NULL, 0, &r);
	/* After a 401 the token is worth nothing either: forget it all the same. */
	if (rc == RC_OK || (r && r->status == HTTP_UNAUTHORIZED)) {
		if (secret_token_remove(c->token_path, &error) < 0)
			return fail(error);
	}
	if (rc != RC_OK)
		return rc;
	if (!print_json(c, r))
		printf("logged out\n");
	return RC_OK;
}

static int
cmd_whoami(struct ctx *c)
{
	g_autoptr(ClientReply) r = NULL;
	int rc = call(c, "GET", "/v1/whoami", NULL, 0, &r);
	if (rc != RC_OK)
		return rc;
	if (!print_json(c, r))
		print_session(r->obj);
	return RC_OK;
}

static int
cmd_user_add(struct ctx *c)
{
	const char *name = c->args[0], *role = opt_value(c, "role");
	g_autoptr(GError) error = NULL;
	g_autofree char *prompt = g_strdup_printf("PIN for %s: ", name);
	g_autoptr(SecretPin) pin = secret_pin_read_new(prompt, &error);
	if (!pin)
		return fail(error);

	g_autoptr(JsonObject) body = json_object_new();
	json_object_set_string_member(body, "name", name);
	json_object_set_string_member(body, "role", role);
	json_object_set_string_member(body, "pin", pin);
	g_autoptr(ClientReply) r = NULL;
	int rc = call(c, "POST", "/v1/users", body, 0, &r);
	wipe_member(body, "pin");
	if (rc != RC_OK)
		return rc;
	if (print_json(c, r))
		return RC_OK;
	g_autofree char *made = get_text(r->obj, "name");
	g_autofree char *made_role = get_text(r->obj, "role");
	printf("created user %s (%s)\n", made, made_role);
	return RC_OK;
}

/* "active", "disabled" or "locked until TIME" for one user of GET /v1/users. Caller frees. */
static char *
user_state(JsonObject *user)
{
	if (get_bool(user, "disabled"))
		return g_strdup("disabled");
	const char *locked = get_str(user, "locked_until");
	g_autoptr(GDateTime) until = locked ? g_date_time_new_from_iso8601(locked, NULL) : NULL;
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	if (until && g_date_time_compare(until, now) > 0) {
		g_autofree char *when = out_local_time(locked);
		return g_strdup_printf("locked until %s", when);
	}
	return g_strdup("active");
}

/* GETs PATH and finds the array MEMBER of its answer.  Returns the exit code; with --json
 * the answer is printed as is and *list stays NULL: the caller has nothing left to do. */
static int
get_list(struct ctx *c, const char *path, const char *member, ClientReply **reply,
	 JsonArray **list)
{
	*list = NULL;
	int rc = call(c, "GET", path, NULL, 0, reply);
	if (rc != RC_OK || print_json(c, *reply))
		return rc;
	JsonNode *n = json_object_get_member((*reply)->obj, member);
	if (!n || !JSON_NODE_HOLDS_ARRAY(n)) {
		out_error("ektpd's answer has no '%s' list", member);
		return RC_FAIL;
	}
	*list = json_node_get_array(n);
	return RC_OK;
}

static int
cmd_user_list(struct ctx *c)
{
	g_autoptr(ClientReply) r = NULL;
	JsonArray *list;
	int rc = get_list(c, "/v1/users", "users", &r, &list);
	if (rc != RC_OK || !list)
		return rc;
	g_autoptr(OutTable) table =
		out_table_new("NAME", "ROLE", "STATE", "CREATED", "LAST LOGIN", NULL);
	for (guint i = 0; i < json_array_get_length(list); i++) {
		JsonNode *n = json_array_get_element(list, i);
		JsonObject *u = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
		g_autofree char *name = get_text(u, "name");
		g_autofree char *role = get_text(u, "role");
		g_autofree char *state = user_state(u);
		g_autofree char *created = out_local_time(get_str(u, "created_at"));
		g_autofree char *last = out_local_time(get_str(u, "last_login_at"));
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
		return usage_error(c->cmd, "'%s' is not a user name", c->args[0]);
	g_autoptr(ClientReply) r = NULL;
	int rc = call(c, "POST", path, NULL, 0, &r);
	if (rc != RC_OK)
		return rc;
	if (!print_json(c, r))
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
		return usage_error(c->cmd, "'%s' is not a user name", name);
	g_autoptr(GError) error = NULL;
	g_autoptr(ClientReply) me = NULL;
	int rc = call(c, "GET", "/v1/whoami", NULL, 0, &me);
	if (rc != RC_OK)
		return rc;
	bool self = g_strcmp0(get_str(me->obj, "user"), name) == 0;

	g_autoptr(SecretPin) old_pin = NULL;
	if (self && !(old_pin = secret_pin_read("current PIN: ", &error)))
		return fail(error);
	g_autofree char *prompt = g_strdup_printf("new PIN for %s: ", name);
	g_autoptr(SecretPin) pin = secret_pin_read_new(prompt, &error);
	if (!pin)
		return fail(error);

	g_autoptr(JsonObject) body = json_object_new();
	json_object_set_string_member(body, "pin", pin);
	if (old_pin)
		json_object_set_string_member(body, "old_pin", old_pin);
	g_autoptr(ClientReply) r = NULL;
	rc = call(c, "POST", path, body, self ? CALL_PIN_CHECK : 0, &r);
	wipe_member(body, "pin");
	wipe_member(body, "old_pin");
	if (rc != RC_OK)
		return rc;
	if (!print_json(c, r))
		printf("PIN changed for %s\n", name);
	return RC_OK;
}

/* Checks that option name, if given, is a decimal row number or count; appends it to query. */
static int
add_query_number(struct ctx *c, GString *query, const char *name)
{
	const char *value = opt_value(c, name);
	guint64 n = 0;
	if (!value)
		return RC_OK;
	if (!g_ascii_string_to_unsigned(value, 10, 0, G_MAXINT64, &n, NULL))
		return usage_error(c->cmd, "--%s wants a number, not '%s'", name, value);
	g_string_append_printf(query, "%c%s=%" G_GUINT64_FORMAT,
			       strchr(query->str, '?') ? '&' : '?', name, n);
	return RC_OK;
}

static int
cmd_audit_list(struct ctx *c)
{
	g_autoptr(GString) path = g_string_new("/v1/audit");
	int rc = add_query_number(c, path, "after");
	if (rc == RC_OK)
		rc = add_query_number(c, path, "limit");
	if (rc != RC_OK)
		return rc;
	g_autoptr(ClientReply) r = NULL;
	JsonArray *list;
	rc = get_list(c, path->str, "rows", &r, &list);
	if (rc != RC_OK || !list)
		return rc;
	g_autoptr(OutTable) table = out_table_new("ID", "TIME", "USER", "ROLE", "ACTION",
						  "TARGET", "RESULT", NULL);
	for (guint i = 0; i < json_array_get_length(list); i++) {
		JsonNode *n = json_array_get_element(list, i);
		JsonObject *row = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
		g_autofree char *id = get_text(row, "id");
		g_autofree char *ts = out_local_time(get_str(row, "ts"));
		g_autofree char *user = get_text(row, "user");
		g_autofree char *role = get_text(row, "role");
		g_autofree char *action = get_text(row, "action");
		g_autofree char *target = get_text(row, "target");
		g_autofree char *result = get_text(row, "result");
		out_table_add_row(table, (const char *const[]){ id, ts, user, role, action,
								target, result });
	}
	if (out_table_rows(table) == 0)
		printf("no audit rows\n");
	else
		out_table_print(table);

	gint64 next = 0;
	if (get_int(r->obj, "next_after", &next)) {
		const char *limit = opt_value(c, "limit");
		printf("more rows: ektpctl audit list --after %" G_GINT64_FORMAT "%s%s\n", next,
		       limit ? " --limit " : "", limit ? limit : "");
	}
	return RC_OK;
}

static int
cmd_audit_verify(struct ctx *c)
{
	g_autoptr(ClientReply) r = NULL;
	int rc = call(c, "GET", "/v1/audit/verify", NULL, 0, &r);
	if (rc != RC_OK)
		return rc;
	bool ok = get_bool(r->obj, "ok");
	if (c->json) {
		out_json(r->root);
	} else if (ok) {
		g_autofree char *rows = get_text(r->obj, "rows");
		printf("audit log verified: %s rows, chain intact\n", rows);
	} else {
		g_autofree char *bad = get_text(r->obj, "first_bad");
		const char *reason = get_str(r->obj, "reason");
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
			return fail(error);
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
				return usage_error(NULL, "option %s needs a value", arg);
			*(arg[1] == 'S' ? &state_dir : &socket_arg) = argv[++i];
		} else if (strncmp(arg, "-S", 2) == 0 || strncmp(arg, "-s", 2) == 0) {
			*(arg[1] == 'S' ? &state_dir : &socket_arg) = arg + 2;
		} else {
			return usage_error(NULL, "unknown option '%s'", arg);
		}
	}
	if (i >= argc)
		return usage_error(NULL, "no command given");
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
	g_autofree char *when = out_local_time(get_str(t, "ts"));
	JsonNode *ok = json_object_get_member(t, "ok");
	bool passed = ok && JSON_NODE_HOLDS_VALUE(ok) && json_node_get_boolean(ok);
	return g_strdup_printf("%s %s", passed ? "ok" : "FAILED", when);
}

static int
cmd_devices(struct ctx *c)
{
	g_autoptr(ClientReply) r = NULL;
	JsonArray *list;
	int rc = get_list(c, "/v1/devices", "devices", &r, &list);
	if (rc != RC_OK || !list)
		return rc;
	g_autoptr(OutTable) table = out_table_new("DEVICE", "CLASS", "DRIVER", "STATE", "REASONS",
						  "SERIAL", "SINCE", "LAST SELF-TEST", "LAST ERROR",
						  NULL);
	for (guint i = 0; i < json_array_get_length(list); i++) {
		JsonNode *n = json_array_get_element(list, i);
		JsonObject *d = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
		g_autofree char *name = get_text(d, "name");
		g_autofree char *klass = get_text(d, "class");
		g_autofree char *driver = get_text(d, "driver");
		g_autofree char *state = get_text(d, "state");
		g_autofree char *reasons = reasons_text(d);
		g_autofree char *serial = get_text(d, "serial");
		g_autofree char *since = out_local_time(get_str(d, "state_since"));
		g_autofree char *error = get_text(d, "last_error");
		g_autofree char *selftest = last_selftest_text(get_obj(d, "last_selftest"));
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
	g_autofree char *path = item_path("devices", c->args[0], "fault");
	if (!path)
		return usage_error(c->cmd, "'%s' is not a device name", c->args[0]);
	g_autoptr(JsonObject) body = json_object_new();
	json_object_set_string_member(body, "kind", c->args[1]);
	const char *count = opt_value(c, "count");
	if (count) {
		gint64 n;
		if (!g_ascii_string_to_signed(count, 10, 0, 1000000, &n, NULL))
			return usage_error(c->cmd, "--count takes a whole number from 0 to 1000000");
		json_object_set_int_member(body, "count", n);
	}
	g_autoptr(ClientReply) r = NULL;
	int rc = call(c, "POST", path, body, 0, &r);
	if (rc != RC_OK)
		return rc;
	if (!print_json(c, r))
		printf("device %s: fault %s%s%s\n", c->args[0], c->args[1],
		       count ? ", for the next operations: " : "", count ? count : "");
	return RC_OK;
}

/* Runs one device's self-test; adds its row to TABLE and its answer to ANSWERS. */
static int
selftest_one(struct ctx *c, const char *device, OutTable *table, JsonArray *answers)
{
	g_autofree char *path = item_path("devices", device, "selftest");
	if (!path)
		return usage_error(c->cmd, "'%s' is not a device name", device);
	g_autoptr(ClientReply) r = NULL;
	bool json = c->json;
	c->json = false; /* errors are reported per device below */
	int rc = call(c, "POST", path, NULL, 0, &r);
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
							get_str(r->obj, "message") });
	return ok ? RC_OK : RC_FAIL;
}

static int
cmd_selftest(struct ctx *c)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	if (strcmp(c->args[0], "all") == 0) {
		g_autoptr(ClientReply) r = NULL;
		int rc = call(c, "GET", "/v1/devices", NULL, 0, &r);
		if (rc != RC_OK)
			return rc;
		JsonNode *devices = json_object_get_member(r->obj, "devices");
		JsonArray *list = devices && JSON_NODE_HOLDS_ARRAY(devices)
					  ? json_node_get_array(devices)
					  : NULL;
		for (guint i = 0; list && i < json_array_get_length(list); i++) {
			JsonNode *n = json_array_get_element(list, i);
			if (JSON_NODE_HOLDS_OBJECT(n))
				g_ptr_array_add(names, get_text(json_node_get_object(n), "name"));
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
	g_autofree char *base = item_path("devices", c->args[0], "selftests");
	if (!base)
		return usage_error(c->cmd, "'%s' is not a device name", c->args[0]);
	g_autoptr(GString) path = g_string_new(base);
	int rc = add_query_number(c, path, "limit");
	if (rc != RC_OK)
		return rc;
	g_autoptr(ClientReply) r = NULL;
	JsonArray *list;
	rc = get_list(c, path->str, "selftests", &r, &list);
	if (rc != RC_OK || !list)
		return rc;
	g_autoptr(OutTable) table = out_table_new("ID", "TIME", "RESULT", "BY", "MESSAGE", NULL);
	for (guint i = 0; i < json_array_get_length(list); i++) {
		JsonNode *n = json_array_get_element(list, i);
		JsonObject *t = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
		g_autofree char *id = get_text(t, "id");
		g_autofree char *ts = out_local_time(get_str(t, "ts"));
		g_autofree char *ok = get_text(t, "ok");
		g_autofree char *by = get_text(t, "user");
		g_autofree char *msg = get_text(t, "message");
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
