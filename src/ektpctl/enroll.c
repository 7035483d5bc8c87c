/* SPDX-License-Identifier: MIT */
/*
 * Enrollment from the command line: `ektpctl enroll` and the commands that look at open
 * sessions (docs/api.md, "Enrollment").
 *
 * One resident's enrollment is always the same walk through the API: create the session with the
 * demographics, record the exceptions (positions that cannot be captured), upload the images the
 * operator already has, capture every other position from the devices, commit. `enroll --from`
 * walks it for every resident of a JSON file without asking anything; a resident that fails is
 * abandoned, so no half-done session is left behind, and the next one goes on. `enroll` on a
 * terminal walks it with a person: each field is checked as it is typed where the format is
 * obvious (the daemon's answer then names the rest, and only the failing fields are asked
 * again), each capture shows its quality against the threshold, and nothing is committed before
 * the operator has seen a summary.
 *
 * The daemon decides everything that matters (validation, thresholds, attempts, which attempt is
 * kept, the record's state); the client only drives the walk and shows the answers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ektpctl/ctl.h"
#include "ektpctl/output.h"

/* Capture requests in a row that may answer "retry" before we stop believing the daemon. */
#define MAX_ATTEMPTS 50
#define NPOS G_N_ELEMENTS(positions)

/* Every position an enrollment needs, in the order they are captured. */
static const struct position {
	const char *modality;
	int pos;
	int nth, of; /* for progress: finger 7/10 */
	const char *label;
} positions[] = {
	{ "finger", 1, 1, 10, "right thumb" },  { "finger", 2, 2, 10, "right index" },
	{ "finger", 3, 3, 10, "right middle" }, { "finger", 4, 4, 10, "right ring" },
	{ "finger", 5, 5, 10, "right little" }, { "finger", 6, 6, 10, "left thumb" },
	{ "finger", 7, 7, 10, "left index" },   { "finger", 8, 8, 10, "left middle" },
	{ "finger", 9, 9, 10, "left ring" },    { "finger", 10, 10, 10, "left little" },
	{ "iris", 1, 1, 2, "right eye" },       { "iris", 2, 2, 2, "left eye" },
	{ "face", 0, 1, 1, "face" },            { "signature", 0, 1, 1, "signature" },
};

/* Face and signature have one position, which the API leaves out of capture requests. */
static bool
has_positions(const char *modality)
{
	return strcmp(modality, "finger") == 0 || strcmp(modality, "iris") == 0;
}

/* The index in positions[] of modality/pos, or -1. */
static int
position_index(const char *modality, gint64 pos)
{
	for (guint i = 0; i < NPOS; i++)
		if (strcmp(positions[i].modality, modality) == 0 && positions[i].pos == pos)
			return (int)i;
	return -1;
}

/* "finger-7", "iris-2", "face": how positions are named in files and messages. Caller frees. */
static char *
position_name(const char *modality, gint64 pos)
{
	if (!has_positions(modality))
		return g_strdup(modality);
	return g_strdup_printf("%s-%" G_GINT64_FORMAT, modality, pos);
}

/* Parses "finger-7" (also "finger-07", "finger7"), "iris-2", "face", "signature" into an index
 * of positions[], or -1. */
static int
parse_position_name(const char *name)
{
	for (guint i = 0; i < NPOS; i++) {
		const char *m = positions[i].modality;
		size_t len = strlen(m);
		if (strncmp(name, m, len) != 0)
			continue;
		const char *rest = name + len;
		if (!has_positions(m))
			return *rest ? -1 : (int)i;
		if (*rest == '-')
			rest++;
		guint64 n;
		if (!g_ascii_string_to_unsigned(rest, 10, 1, 10, &n, NULL))
			return -1;
		return position_index(m, (gint64)n);
	}
	return -1;
}

/* The capture path of enrollment id for modality, with ?position=N for fingers and irises.
 * Caller frees. */
static char *
capture_path(const char *id, const struct position *p, bool query)
{
	g_autofree char *what = g_strdup_printf("capture/%s", p->modality);
	g_autofree char *path = ctl_item_path("enrollments", id, what);
	if (query && has_positions(p->modality))
		return g_strdup_printf("%s?position=%d", path, p->pos);
	return g_steal_pointer(&path);
}

/* ---- showing the daemon's answers ---- */

/* Prints every problem of a 400 answer on out, one "  field (rule) "value": message" line
 * each, and adds each field (static or borrowed from reply) to fields when not NULL. Returns
 * how many problems there were; 0 when the answer lists none. */
static guint
print_problems(FILE *out, const ClientReply *reply, GPtrArray *fields)
{
	JsonArray *problems = ctl_get_array(ctl_get_obj(reply->obj, "error"), "problems");
	guint n = problems ? json_array_get_length(problems) : 0;
	for (guint i = 0; i < n; i++) {
		JsonObject *p = ctl_array_obj(problems, i);
		const char *field = ctl_get_str(p, "field");
		const char *rule = ctl_get_str(p, "rule");
		const char *value = ctl_get_str(p, "value");
		const char *message = ctl_get_str(p, "message");
		g_autofree char *shown = value ? g_strdup_printf(" \"%s\"", value) : g_strdup("");
		fprintf(out, "  %s (%s)%s: %s\n", field ? field : "-", rule ? rule : "-", shown,
			message ? message : "");
		if (fields && field)
			g_ptr_array_add(fields, (gpointer)field);
	}
	return n;
}

/* "finger-3, iris-2" from the "missing" list of o, or NULL when there is none. Caller
 * frees. */
static char *
missing_text(JsonObject *o)
{
	JsonArray *missing = ctl_get_array(o, "missing");
	guint n = missing ? json_array_get_length(missing) : 0;
	if (n == 0)
		return NULL;
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < n; i++) {
		JsonObject *m = ctl_array_obj(missing, i);
		gint64 pos = 0;
		ctl_get_int(m, "position", &pos);
		const char *modality = ctl_get_str(m, "modality");
		g_autofree char *where = position_name(modality ? modality : "?", pos);
		g_string_append_printf(s, "%s%s", i ? ", " : "", where);
	}
	return g_string_free(s, FALSE);
}

/* "quality 35/40, attempt 2, best 38, 2 left": one capture answer for people. Caller frees. */
static char *
capture_text(JsonObject *a)
{
	g_autofree char *quality = ctl_get_text(a, "quality");
	g_autofree char *threshold = ctl_get_text(a, "threshold");
	g_autofree char *attempt = ctl_get_text(a, "attempt");
	g_autofree char *best = ctl_get_text(a, "best_quality");
	g_autofree char *left = ctl_get_text(a, "attempts_left");
	return g_strdup_printf("quality %s/%s, attempt %s, best %s, %s left", quality, threshold,
			       attempt, best, left);
}

/* The line that ends one resident: "ID STATE [needs: ...] [warnings: ...] [...]". */
static void
print_record_line(JsonObject *commit, JsonObject *created, GPtrArray *notes)
{
	g_autofree char *id = ctl_get_text(commit, "record_id");
	g_autofree char *state = ctl_get_text(commit, "state");
	g_autofree char *needs = ctl_join(commit, "needs_approval", NULL, ",");
	g_autofree char *warnings = ctl_join(created, "warnings", "rule", ",");
	const char *after = ctl_get_str(commit, "print_ready_after");
	GString *line = g_string_new(NULL);
	g_string_printf(line, "%s %s", id, state);
	if (needs)
		g_string_append_printf(line, " [needs: %s]", needs);
	if (warnings)
		g_string_append_printf(line, " [warnings: %s]", warnings);
	if (after)
		g_string_append_printf(line, " [print ready after: %s]", after);
	if (notes && notes->len > 0) {
		g_ptr_array_add(notes, NULL);
		g_autofree char *joined = g_strjoinv(",", (char **)notes->pdata);
		g_ptr_array_remove_index(notes, notes->len - 1);
		g_string_append_printf(line, " [forced: %s]", joined);
	}
	printf("%s\n", line->str);
	fflush(stdout);
	g_string_free(line, TRUE);
}

/* Abandons session id quietly: used when a resident cannot be finished. Returns the exit
 * code of the request. */
static int
abandon_quietly(struct ctx *c, const char *id)
{
	g_autofree char *path = ctl_item_path("enrollments", id, "abandon");
	g_autoptr(ClientReply) r = NULL;
	return ctl_call(c, "POST", path, NULL, CALL_QUIET, &r);
}

/* ---- enroll --from FILE ---- */

/* Progress on stderr, overwriting one line, only when stderr is a terminal. */
struct progress {
	bool on;
	guint resident, residents;
};

static void G_GNUC_PRINTF(2, 3)
progress_show(const struct progress *pr, const char *fmt, ...)
{
	if (!pr->on)
		return;
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "\r\033[Kresident %u/%u: %s", pr->resident, pr->residents, what);
	fflush(stderr);
}

static void
progress_clear(const struct progress *pr)
{
	if (pr->on) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
}

/* One resident of the file, read and checked before any request is sent. */
struct resident {
	JsonObject *body;       /* the demographics (and reenroll); owned */
	JsonArray *exceptions;  /* borrowed from the file; may be NULL */
	GBytes *images[NPOS];   /* owned; NULL where the devices capture */
	char *image_paths[NPOS];
	const char *nik; /* borrowed from body, may be NULL */
};

static void
resident_clear(struct resident *res)
{
	if (res->body)
		json_object_unref(res->body);
	for (guint i = 0; i < NPOS; i++) {
		if (res->images[i])
			g_bytes_unref(res->images[i]);
		g_free(res->image_paths[i]);
	}
}

/* Reads one resident from o (borrowed, and borrowed by res until it is cleared) into res: its
 * demographics, its exceptions, and the bytes of its images, paths relative to dir. Returns 0,
 * or -1 with a message in *why (caller frees). */
static int
resident_read(JsonObject *o, const char *dir, struct resident *res, char **why)
{
	res->body = json_object_new();
	GList *members = json_object_get_members(o);
	for (GList *m = members; m; m = m->next) {
		const char *name = m->data;
		if (strcmp(name, "exceptions") != 0 && strcmp(name, "images") != 0)
			json_object_set_member(res->body, name,
					       json_node_copy(json_object_get_member(o, name)));
	}
	g_list_free(members);
	res->nik = ctl_get_str(res->body, "nik");

	JsonNode *ex = json_object_get_member(o, "exceptions");
	if (ex && !JSON_NODE_HOLDS_ARRAY(ex) && !JSON_NODE_HOLDS_NULL(ex)) {
		*why = g_strdup("\"exceptions\" must be a list");
		return -1;
	}
	res->exceptions = ex && JSON_NODE_HOLDS_ARRAY(ex) ? json_node_get_array(ex) : NULL;
	for (guint i = 0; res->exceptions && i < json_array_get_length(res->exceptions); i++) {
		if (!ctl_array_obj(res->exceptions, i)) {
			*why = g_strdup_printf("exception %u is not an object", i + 1);
			return -1;
		}
	}

	JsonNode *imgs = json_object_get_member(o, "images");
	if (!imgs || JSON_NODE_HOLDS_NULL(imgs))
		return 0;
	if (!JSON_NODE_HOLDS_OBJECT(imgs)) {
		*why = g_strdup("\"images\" must be an object of position: PNG file");
		return -1;
	}
	JsonObject *io = json_node_get_object(imgs);
	members = json_object_get_members(io);
	int rc = 0;
	for (GList *m = members; m && rc == 0; m = m->next) {
		const char *key = m->data;
		int k = parse_position_name(key);
		const char *file = ctl_get_str(io, key);
		g_autoptr(GError) error = NULL;
		char *data = NULL;
		gsize len = 0;
		if (k < 0) {
			*why = g_strdup_printf("images: '%s' is not a position (finger-1 ... "
					       "finger-10, iris-1, iris-2, face, signature)",
					       key);
			rc = -1;
		} else if (!file || !*file) {
			*why = g_strdup_printf("images: %s needs a file name", key);
			rc = -1;
		} else if (res->images[k]) {
			*why = g_strdup_printf("images: %s given twice", key);
			rc = -1;
		} else {
			char *path = g_path_is_absolute(file) ? g_strdup(file)
							      : g_build_filename(dir, file, NULL);
			res->image_paths[k] = path;
			if (!g_file_get_contents(path, &data, &len, &error)) {
				*why = g_strdup_printf("images: %s", error->message);
				rc = -1;
			} else {
				res->images[k] = g_bytes_new_take(data, len);
			}
		}
	}
	g_list_free(members);
	return rc;
}

/* What happened to one resident, for --json: the daemon's answers in order. */
static JsonObject *
outcome_new(guint n, const char *nik)
{
	JsonObject *o = json_object_new();
	json_object_set_int_member(o, "resident", n);
	if (nik)
		json_object_set_string_member(o, "nik", nik);
	else
		json_object_set_null_member(o, "nik");
	json_object_set_array_member(o, "exceptions", json_array_new());
	json_object_set_array_member(o, "captures", json_array_new());
	return o;
}

static void
outcome_add(JsonObject *outcome, const char *list, const ClientReply *r)
{
	if (r)
		json_array_add_element(json_object_get_array_member(outcome, list),
				       json_node_copy(r->root));
}

static void
outcome_set(JsonObject *outcome, const char *name, const ClientReply *r)
{
	if (r)
		json_object_set_member(outcome, name, json_node_copy(r->root));
}

/* Captures position p of session id from its device, attempt after attempt while the daemon
 * says "retry". Returns the exit code; on RC_OK *last holds the final answer. */
static int
capture_from_device(struct ctx *c, const char *id, const struct position *p,
		    ClientReply **last)
{
	g_autofree char *path = capture_path(id, p, false);
	g_autoptr(JsonObject) body = json_object_new();
	if (has_positions(p->modality))
		json_object_set_int_member(body, "position", p->pos);
	for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
		g_clear_pointer(last, client_reply_free);
		int rc = ctl_call(c, "POST", path, body, CALL_QUIET, last);
		if (rc != RC_OK)
			return rc;
		if (g_strcmp0(ctl_get_str((*last)->obj, "status"), "retry") != 0)
			return RC_OK;
	}
	return RC_OK; /* still "retry": the best attempt is kept; the commit will judge */
}

/* Enrolls one resident: returns RC_OK when committed, RC_FAIL when refused or failed (said on
 * stdout, unless --json), RC_UNREACHABLE when the daemon is gone, RESIDENT_STOP (said) when
 * no resident can be enrolled: not logged in, or a role that may not enroll. */
#define RESIDENT_STOP (-1)
static int
enroll_resident(struct ctx *c, struct resident *res, const struct progress *pr,
		JsonObject *outcome)
{
	const char *nik = res->nik ? res->nik : "?";
	g_autoptr(ClientReply) created = NULL;
	progress_show(pr, "demographics");
	int rc = ctl_call(c, "POST", "/v1/enrollments", res->body, CALL_QUIET, &created);
	outcome_set(outcome, "enrollment", created);
	if (rc != RC_OK) {
		progress_clear(pr);
		if (rc == RC_UNREACHABLE || !created)
			return rc;
		if (created->status == HTTP_UNAUTHORIZED || created->status == HTTP_FORBIDDEN) {
			ctl_report_error(c, created, 0);
			return RESIDENT_STOP;
		}
		JsonArray *problems =
			ctl_get_array(ctl_get_obj(created->obj, "error"), "problems");
		if (c->json) {
			/* The answer is in the outcome. */
		} else if (problems && json_array_get_length(problems) > 0) {
			guint n = json_array_get_length(problems);
			printf("- refused: %u problem%s (resident %u of %u, NIK %s)\n", n,
			       n == 1 ? "" : "s", pr->resident, pr->residents, nik);
			print_problems(stdout, created, NULL);
		} else {
			printf("- refused: %s (resident %u of %u, NIK %s)\n",
			       client_reply_message(created), pr->resident, pr->residents, nik);
		}
		return RC_FAIL;
	}
	const char *id_str = ctl_get_str(created->obj, "id");
	g_autofree char *id = id_str ? g_strdup(id_str) : ctl_get_text(created->obj, "id");

	bool excepted[NPOS] = { false };
	g_autofree char *failure = NULL;
	g_autofree char *ex_path = ctl_item_path("enrollments", id, "exceptions");
	g_autofree char *commit_path = ctl_item_path("enrollments", id, "commit");
	g_autoptr(GPtrArray) forced = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(ClientReply) committed = NULL;
	for (guint i = 0; res->exceptions && i < json_array_get_length(res->exceptions); i++) {
		JsonObject *ex = ctl_array_obj(res->exceptions, i);
		g_autoptr(ClientReply) r = NULL;
		g_autofree char *name = NULL;
		gint64 pos = -1;
		ctl_get_int(ex, "position", &pos);
		const char *modality = ctl_get_str(ex, "modality");
		name = position_name(modality ? modality : "?", pos);
		progress_show(pr, "exception %s", name);
		rc = ctl_call(c, "POST", ex_path, ex, CALL_QUIET, &r);
		outcome_add(outcome, "exceptions", r);
		if (rc != RC_OK) {
			if (r)
				failure = g_strdup_printf("exception %s: %s", name,
							  client_reply_message(r));
			goto fail;
		}
		int k = modality ? position_index(modality, pos) : -1;
		if (k >= 0)
			excepted[k] = true;
	}

	for (guint k = 0; k < NPOS; k++) {
		const struct position *p = &positions[k];
		if (excepted[k])
			continue;
		g_autoptr(ClientReply) r = NULL;
		g_autofree char *name = position_name(p->modality, p->pos);
		if (res->images[k]) {
			g_autofree char *path = capture_path(id, p, true);
			progress_show(pr, "%s from %s", name, res->image_paths[k]);
			rc = ctl_call_bytes(c, "PUT", path, "image/png", res->images[k], CALL_QUIET,
					    &r);
		} else {
			if (has_positions(p->modality))
				progress_show(pr, "%s %d/%d", p->modality, p->nth, p->of);
			else
				progress_show(pr, "%s", p->modality);
			rc = capture_from_device(c, id, p, &r);
		}
		outcome_add(outcome, "captures", r);
		if (rc != RC_OK) {
			if (r)
				failure = g_strdup_printf("%s: %s", name, client_reply_message(r));
			goto fail;
		}
		const char *status = ctl_get_str(r->obj, "status");
		if (g_strcmp0(status, "accepted") != 0) {
			g_ptr_array_add(forced, g_strdup(name));
			if (g_strcmp0(status, "forced") != 0) {
				/* An upload below the threshold: it is kept, and said. */
				progress_clear(pr);
				g_autofree char *text = capture_text(r->obj);
				out_error("resident %u, %s: %s is below the threshold (%s); kept",
					  pr->resident, name,
					  res->image_paths[k] ? res->image_paths[k] : "capture",
					  text);
			}
		}
	}

	progress_show(pr, "commit");
	rc = ctl_call(c, "POST", commit_path, NULL, CALL_QUIET, &committed);
	outcome_set(outcome, "commit", committed);
	if (rc != RC_OK) {
		if (committed) {
			g_autofree char *missing = missing_text(committed->obj);
			failure = g_strdup_printf("commit: %s%s%s", client_reply_message(committed),
						  missing ? "; missing: " : "",
						  missing ? missing : "");
		}
		goto fail;
	}
	progress_clear(pr);
	if (!c->json)
		print_record_line(committed->obj, created->obj, forced);
	return RC_OK;

fail:
	progress_clear(pr);
	if (rc == RC_UNREACHABLE)
		return rc;
	rc = abandon_quietly(c, id);
	json_object_set_boolean_member(outcome, "abandoned", rc == RC_OK);
	if (!c->json)
		printf("%s failed: %s; session %s\n", id, failure ? failure : "no answer",
		       rc == RC_OK ? "abandoned" : "left open");
	fflush(stdout);
	return rc == RC_UNREACHABLE ? rc : RC_FAIL;
}

static int
enroll_from_file(struct ctx *c, const char *file)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	if (!json_parser_load_from_file(parser, file, &error)) {
		out_error("cannot read %s: %s", file, error->message);
		return RC_FAIL;
	}
	JsonNode *root = json_parser_get_root(parser);
	g_autoptr(JsonArray) list = NULL;
	if (root && JSON_NODE_HOLDS_ARRAY(root)) {
		list = json_array_ref(json_node_get_array(root));
	} else if (root && JSON_NODE_HOLDS_OBJECT(root)) {
		list = json_array_new();
		json_array_add_element(list, json_node_copy(root));
	} else {
		out_error("%s: expected a resident object or an array of them", file);
		return RC_FAIL;
	}
	guint n = json_array_get_length(list);
	if (n == 0) {
		out_error("%s: no residents", file);
		return RC_FAIL;
	}

	g_autofree char *dir = g_path_get_dirname(file);
	g_autoptr(JsonArray) outcomes = json_array_new();
	struct progress pr = { .on = isatty(STDERR_FILENO), .residents = n };
	int worst = RC_OK;
	for (guint i = 0; i < n; i++) {
		pr.resident = i + 1;
		struct resident res = { 0 };
		g_autofree char *why = NULL;
		JsonObject *o = ctl_array_obj(list, i);
		int rc;
		if (!o) {
			why = g_strdup("not an object");
			rc = -1;
		} else {
			rc = resident_read(o, dir, &res, &why);
		}
		JsonObject *outcome = outcome_new(i + 1, res.nik);
		json_array_add_object_element(outcomes, outcome);
		if (rc < 0) {
			if (!c->json)
				printf("- refused: resident %u of %u in %s: %s\n", i + 1, n, file,
				       why);
			json_object_set_string_member(outcome, "error", why);
			worst = RC_FAIL;
		} else {
			rc = enroll_resident(c, &res, &pr, outcome);
			if (rc == RC_UNREACHABLE || rc == RESIDENT_STOP) {
				resident_clear(&res);
				return rc == RESIDENT_STOP ? RC_FAIL : rc;
			}
			if (rc != RC_OK)
				worst = RC_FAIL;
		}
		resident_clear(&res);
	}
	if (c->json) {
		g_autoptr(JsonNode) node = json_node_init_array(json_node_alloc(), outcomes);
		out_json(node);
	}
	return worst;
}

/* ---- enroll on a terminal ---- */

/* The enumerations of docs/api.md and ektp-domain.md 2.3, offered as numbered choices; the
 * daemon remains the judge (occupation, with its 89 values, is left to it). */
static const char *const genders[] = { "LAKI-LAKI", "PEREMPUAN", NULL };
static const char *const blood_types[] = { "A",  "B",  "AB",  "O",   "A+", "A-",
					   "B+", "B-", "AB+", "AB-", "O+", "O-",
					   "TIDAK TAHU", "-", NULL };
static const char *const religions[] = { "ISLAM", "KRISTEN", "KATHOLIK", "HINDU", "BUDHA",
					 "KHONGHUCU", "KEPERCAYAAN TERHADAP TUHAN YME", NULL };
static const char *const marital_statuses[] = { "BELUM KAWIN", "KAWIN", "CERAI HIDUP",
						"CERAI MATI", NULL };
static const char *const citizenships[] = { "WNI", "WNA", NULL };
static const char *const exception_kinds[] = { "missing", "amputated", "bandaged", "other",
					       NULL };

/* A local check of one field's format; returns NULL when fine, else why (static). The value
 * may be rewritten in place first (e.g. "1" becomes "001"): *value is owned. */
typedef const char *(*field_check)(char **value);

static const char *
check_nik(char **value)
{
	return ctl_is_nik(*value) ? NULL : "must be 16 digits";
}

static const char *
check_date(char **value)
{
	if (!ctl_is_date(*value))
		return "must be a date written YYYY-MM-DD";
	g_autoptr(GDateTime) now = g_date_time_new_now_local();
	g_autofree char *today = g_date_time_format(now, "%Y-%m-%d");
	return strcmp(*value, today) > 0 ? "lies in the future" : NULL;
}

static const char *
check_rt_rw(char **value)
{
	size_t n = strlen(*value);
	if (n == 0 || n > 3 || strspn(*value, "0123456789") != n)
		return "must be 1 to 3 digits";
	char *padded = g_strdup_printf("%03d", atoi(*value));
	g_free(*value);
	*value = padded;
	return strcmp(*value, "000") == 0 ? "must not be 000" : NULL;
}

/* 61.72.01.1001 or 6172011001. */
static const char *
check_village(char **value)
{
	static const char dotted[] = "dd.dd.dd.dddd";
	const char *v = *value;
	size_t n = strlen(v);
	if (n == 10 && strspn(v, "0123456789") == 10)
		return NULL;
	if (n != sizeof dotted - 1)
		return "must be a village code such as 61.72.01.1001";
	for (size_t i = 0; dotted[i]; i++)
		if (dotted[i] == 'd' ? !g_ascii_isdigit(v[i]) : v[i] != '.')
			return "must be a village code such as 61.72.01.1001";
	return NULL;
}

static const struct field {
	const char *key;
	const char *label;
	const char *const *choices; /* NULL-terminated; NULL for free text */
	field_check check;
	bool upper; /* free text is folded to upper case, as SIAK stores it */
} fields[] = {
	{ "nik", "NIK (16 digits)", NULL, check_nik, false },
	{ "kk", "KK number (16 digits)", NULL, check_nik, false },
	{ "name", "full name", NULL, NULL, true },
	{ "birth_place", "place of birth", NULL, NULL, true },
	{ "birth_date", "date of birth (YYYY-MM-DD)", NULL, check_date, false },
	{ "gender", "gender", genders, NULL, false },
	{ "blood_type", "blood type", blood_types, NULL, false },
	{ "religion", "religion", religions, NULL, false },
	{ "marital_status", "marital status", marital_statuses, NULL, false },
	{ "occupation", "occupation (e.g. KARYAWAN SWASTA, PELAJAR/MAHASISWA)", NULL, NULL, true },
	{ "address", "address (street and number)", NULL, NULL, true },
	{ "rt", "RT", NULL, check_rt_rw, false },
	{ "rw", "RW", NULL, check_rt_rw, false },
	{ "village_code", "village code (e.g. 61.72.01.1001)", NULL, check_village, false },
	{ "citizenship", "citizenship", citizenships, NULL, false },
	{ "nationality", "nationality", NULL, NULL, true },
};

/* One line from the terminal after prompt (on stderr), without its line end and surrounding
 * blanks. NULL at end of input. Caller frees. */
static char *
ask(const char *prompt)
{
	fputs(prompt, stderr);
	fflush(stderr);
	char *line = NULL;
	size_t size = 0;
	ssize_t len = getline(&line, &size, stdin);
	if (len < 0) {
		free(line);
		fputc('\n', stderr);
		return NULL;
	}
	char *copy = g_strstrip(g_strdup(line));
	free(line);
	return copy;
}

/* The choice that text names: its number in the list or its words, in any case. */
static const char *
match_choice(const char *const *choices, const char *text)
{
	guint64 n;
	guint count = g_strv_length((char **)choices);
	if (g_ascii_string_to_unsigned(text, 10, 1, count, &n, NULL))
		return choices[n - 1];
	for (guint i = 0; i < count; i++)
		if (g_ascii_strcasecmp(choices[i], text) == 0)
			return choices[i];
	return NULL;
}

/* Asks until the answer passes the local check. Returns the value (caller frees) or NULL at end
 * of input. current (borrowed, may be NULL) is offered as the default. */
static char *
ask_field(const struct field *f, const char *current)
{
	GString *prompt = g_string_new(f->label);
	if (f->choices) {
		g_string_append(prompt, " (");
		for (guint i = 0; f->choices[i]; i++)
			g_string_append_printf(prompt, "%s%u %s", i ? ", " : "", i + 1,
					       f->choices[i]);
		g_string_append(prompt, ")");
	}
	if (current)
		g_string_append_printf(prompt, " [%s]", current);
	g_string_append(prompt, ": ");
	char *value = NULL;
	for (;;) {
		g_free(value);
		value = ask(prompt->str);
		if (!value)
			break;
		if (!*value && current) {
			g_free(value);
			value = g_strdup(current);
		}
		if (!*value) {
			fprintf(stderr, "  %s is required\n", f->key);
			continue;
		}
		if (f->choices) {
			const char *choice = match_choice(f->choices, value);
			if (!choice) {
				fprintf(stderr, "  choose a number or one of the values listed\n");
				continue;
			}
			g_free(value);
			value = g_strdup(choice);
			break;
		}
		if (f->upper) {
			char *up = g_utf8_strup(value, -1);
			g_free(value);
			value = up;
		}
		const char *why = f->check ? f->check(&value) : NULL;
		if (!why)
			break;
		fprintf(stderr, "  %s %s\n", f->key, why);
	}
	g_string_free(prompt, TRUE);
	return value;
}

/* y or n; def when the answer is empty; NULL input counts as "no". */
static bool
ask_yes(const char *prompt, bool def)
{
	for (;;) {
		g_autofree char *a = ask(prompt);
		if (!a)
			return false;
		if (!*a)
			return def;
		if (g_ascii_strcasecmp(a, "y") == 0 || g_ascii_strcasecmp(a, "yes") == 0)
			return true;
		if (g_ascii_strcasecmp(a, "n") == 0 || g_ascii_strcasecmp(a, "no") == 0)
			return false;
	}
}

/* The demographics typed so far (values owned), by field index. */
struct form {
	char *values[G_N_ELEMENTS(fields)];
	bool reenroll;
};

static void
form_clear(struct form *form)
{
	for (guint i = 0; i < G_N_ELEMENTS(fields); i++)
		g_free(form->values[i]);
}

static bool
form_wna(const struct form *form)
{
	for (guint i = 0; i < G_N_ELEMENTS(fields); i++)
		if (strcmp(fields[i].key, "citizenship") == 0)
			return g_strcmp0(form->values[i], "WNA") == 0;
	return false;
}

/* Asks field i (again); false at end of input. */
static bool
form_ask(struct form *form, guint i)
{
	char *value = ask_field(&fields[i], form->values[i]);
	if (!value)
		return false;
	g_free(form->values[i]);
	form->values[i] = value;
	return true;
}

/* "  nik: ...\n  kk: ...\n" for the summary before the commit. Caller frees. */
static char *
form_summary(const struct form *form)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < G_N_ELEMENTS(fields); i++)
		if (form->values[i])
			g_string_append_printf(s, "  %-15s %s\n", fields[i].key, form->values[i]);
	if (form->reenroll)
		g_string_append(s, "  re-enrollment: the NIK's active record is kept\n");
	return g_string_free(s, FALSE);
}

static JsonObject *
form_body(const struct form *form)
{
	JsonObject *body = json_object_new();
	for (guint i = 0; i < G_N_ELEMENTS(fields); i++)
		if (form->values[i])
			json_object_set_string_member(body, fields[i].key, form->values[i]);
	if (form->reenroll)
		json_object_set_boolean_member(body, "reenroll", true);
	return body;
}

static int
input_ended(void)
{
	out_error("end of input: no enrollment opened, nothing recorded");
	return RC_FAIL;
}

/* Creates the session from the form, asking again the fields the daemon refuses. Returns the
 * exit code; on RC_OK *created holds the answer. */
static int
interactive_create(struct ctx *c, struct form *form, ClientReply **created)
{
	const guint nationality = G_N_ELEMENTS(fields) - 1;
	for (guint i = 0; i < G_N_ELEMENTS(fields); i++) {
		if (i == nationality && !form_wna(form))
			continue;
		if (!form_ask(form, i))
			return input_ended();
	}
	for (;;) {
		if (!form_wna(form))
			g_clear_pointer(&form->values[nationality], g_free);
		g_autoptr(JsonObject) body = form_body(form);
		g_clear_pointer(created, client_reply_free);
		int rc = ctl_call(c, "POST", "/v1/enrollments", body, CALL_QUIET, created);
		if (rc == RC_OK || rc == RC_UNREACHABLE || !*created)
			return rc;
		guint status = (*created)->status;
		if (status == HTTP_CONFLICT && !form->reenroll) {
			out_error("%s", client_reply_message(*created));
			if (!ask_yes("record this NIK again as a re-enrollment (the supervisor "
				     "decides)? [y/N] ",
				     false))
				return RC_FAIL;
			form->reenroll = true;
			continue;
		}
		g_autoptr(GPtrArray) bad = g_ptr_array_new();
		if (status != HTTP_BAD_REQUEST) {
			out_error("%s", client_reply_message(*created));
			return RC_FAIL;
		}
		fprintf(stderr, "ektpd refused the demographics:\n");
		if (print_problems(stderr, *created, bad) == 0) {
			JsonObject *error = ctl_get_obj((*created)->obj, "error");
			const char *field = ctl_get_str(error, "field");
			fprintf(stderr, "  %s\n", client_reply_message(*created));
			if (field)
				g_ptr_array_add(bad, (gpointer)field);
		}
		guint asked = 0;
		for (guint i = 0; i < G_N_ELEMENTS(fields); i++) {
			bool failing = false;
			for (guint k = 0; k < bad->len; k++)
				failing = failing || strcmp(bad->pdata[k], fields[i].key) == 0;
			if (i == nationality && !form_wna(form))
				failing = false;
			if (!failing)
				continue;
			if (!form_ask(form, i))
				return input_ended();
			asked++;
		}
		if (asked == 0) {
			out_error("nothing to ask again: the refusal names no field of the form");
			return RC_FAIL;
		}
	}
}

/* Records an exception at position k, asking its kind and reason. Returns the exit code. */
static int
interactive_exception(struct ctx *c, const char *id, guint k)
{
	const struct position *p = &positions[k];
	g_autofree char *path = ctl_item_path("enrollments", id, "exceptions");
	g_autofree char *name = position_name(p->modality, p->pos);
	static const struct field kind_field = { "kind", "kind", exception_kinds, NULL, false };
	for (;;) {
		fprintf(stderr, "exception for %s (%s):\n", name, p->label);
		g_autofree char *kind = ask_field(&kind_field, NULL);
		if (!kind)
			return RC_FAIL;
		g_autofree char *reason = NULL;
		while (!reason || !*reason) {
			g_free(reason);
			reason = ask("  reason: ");
			if (!reason)
				return RC_FAIL;
		}
		g_autoptr(JsonObject) body = json_object_new();
		json_object_set_string_member(body, "modality", p->modality);
		json_object_set_int_member(body, "position", p->pos);
		json_object_set_string_member(body, "kind", kind);
		json_object_set_string_member(body, "reason", reason);
		g_autoptr(ClientReply) r = NULL;
		int rc = ctl_call(c, "POST", path, body, CALL_QUIET, &r);
		if (rc == RC_OK) {
			fprintf(stderr, "  %s: exception recorded (%s)\n", name, kind);
			return RC_OK;
		}
		if (rc == RC_UNREACHABLE || !r)
			return rc;
		out_error("%s", client_reply_message(r));
		if (!ask_yes("try again? [Y/n] ", true))
			return RC_FAIL;
	}
}

/* Guided capture of position k: capture, show, and below the threshold let the operator
 * retry, record an exception or accept the best attempt. */
static int
interactive_capture(struct ctx *c, const char *id, guint k)
{
	const struct position *p = &positions[k];
	g_autofree char *name = position_name(p->modality, p->pos);
	g_autofree char *path = capture_path(id, p, false);
	g_autoptr(JsonObject) body = json_object_new();
	if (has_positions(p->modality))
		json_object_set_int_member(body, "position", p->pos);
	for (;;) {
		fprintf(stderr, "%s (%s): capturing...\n", name, p->label);
		g_autoptr(ClientReply) r = NULL;
		int rc = ctl_call(c, "POST", path, body, CALL_QUIET, &r);
		if (rc == RC_UNREACHABLE || (rc != RC_OK && !r))
			return rc;
		const char *status = rc == RC_OK ? ctl_get_str(r->obj, "status") : NULL;
		if (rc != RC_OK) {
			fprintf(stderr, "  failed: %s\n", client_reply_message(r));
		} else {
			/* The daemon's message says it all (attempt, quality, threshold, and for a
			 * face the background); without one, the figures. */
			const char *msg = ctl_get_str(r->obj, "message");
			g_autofree char *text = msg && *msg ? g_strdup(msg) : capture_text(r->obj);
			fprintf(stderr, "  %s: %s\n", status ? status : "?", text);
			if (g_strcmp0(status, "accepted") == 0)
				return RC_OK;
			if (g_strcmp0(status, "forced") == 0) {
				fprintf(stderr, "  no attempts left: the best one is kept and the "
						"record needs a supervisor's approval\n");
				return RC_OK;
			}
		}
		for (;;) {
			g_autofree char *a =
				ask(rc == RC_OK ? "  below the threshold: [r]etry, [e]xception, "
						  "[a]ccept best? "
						: "  [r]etry, [e]xception, [q]uit? ");
			if (!a)
				return RC_FAIL;
			if (g_ascii_strcasecmp(a, "r") == 0)
				break;
			if (g_ascii_strcasecmp(a, "e") == 0)
				return interactive_exception(c, id, k);
			if (rc == RC_OK && g_ascii_strcasecmp(a, "a") == 0)
				return RC_OK;
			if (rc != RC_OK && g_ascii_strcasecmp(a, "q") == 0)
				return RC_FAIL;
		}
	}
}

/* Shows the session as the daemon has it: demographics, warnings, captures, exceptions. */
static int show_enrollment(struct ctx *c, const char *id, bool to_stderr);

static int
enroll_interactive(struct ctx *c)
{
	struct form form = { .reenroll = false };
	g_autoptr(ClientReply) created = NULL;
	fprintf(stderr, "New enrollment. Press Enter to keep a value shown in [brackets]; "
			"Ctrl-D stops.\n");
	int rc = interactive_create(c, &form, &created);
	g_autofree char *summary = form_summary(&form);
	form_clear(&form);
	if (rc != RC_OK)
		return rc;
	const char *id_str = ctl_get_str(created->obj, "id");
	g_autofree char *id = id_str ? g_strdup(id_str) : ctl_get_text(created->obj, "id");
	g_autofree char *commit_path = ctl_item_path("enrollments", id, "commit");
	g_autoptr(ClientReply) committed = NULL;
	fprintf(stderr, "enrollment %s opened\n", id);
	JsonArray *warnings = ctl_get_array(created->obj, "warnings");
	for (guint i = 0; warnings && i < json_array_get_length(warnings); i++) {
		JsonObject *w = ctl_array_obj(warnings, i);
		g_autofree char *rule = ctl_get_text(w, "rule");
		g_autofree char *msg = ctl_get_text(w, "message");
		fprintf(stderr, "  warning %s: %s (a supervisor must approve)\n", rule, msg);
	}
	const char *after = ctl_get_str(created->obj, "print_ready_after");
	if (after)
		fprintf(stderr, "  the card may be printed only after %s\n", after);

	bool excepted[NPOS] = { false };
	for (;;) {
		g_autofree char *a = ask("positions that cannot be captured, e.g. 'finger-7 "
					 "iris-2' (Enter for none): ");
		if (!a)
			goto stop;
		g_auto(GStrv) names = g_strsplit_set(a, " ,", -1);
		bool ok = true;
		for (guint i = 0; names[i] && ok; i++) {
			if (!*names[i])
				continue;
			int k = parse_position_name(names[i]);
			if (k < 0 || !has_positions(positions[k].modality)) {
				fprintf(stderr, "  '%s' is not a finger or iris position\n",
					names[i]);
				ok = false;
			}
		}
		for (guint i = 0; names[i] && ok; i++) {
			int k = *names[i] ? parse_position_name(names[i]) : -1;
			if (k < 0 || excepted[k])
				continue;
			rc = interactive_exception(c, id, (guint)k);
			if (rc != RC_OK)
				goto stop;
			excepted[k] = true;
		}
		if (ok)
			break;
	}

	for (guint k = 0; k < NPOS; k++) {
		if (excepted[k])
			continue;
		rc = interactive_capture(c, id, k);
		if (rc != RC_OK)
			goto stop;
	}

	fprintf(stderr, "\nsummary\n%s", summary);
	rc = show_enrollment(c, id, true);
	if (rc != RC_OK)
		goto stop;
	if (!ask_yes("commit this enrollment? [y/N] ", false)) {
		if (ask_yes("abandon it (its images are erased)? [y/N] ", false)) {
			rc = abandon_quietly(c, id);
			if (rc == RC_OK)
				fprintf(stderr, "enrollment %s abandoned\n", id);
			return rc == RC_OK ? RC_FAIL : rc;
		}
		fprintf(stderr, "enrollment %s left open\n", id);
		return RC_FAIL;
	}
	rc = ctl_call(c, "POST", commit_path, NULL, CALL_QUIET, &committed);
	if (rc != RC_OK) {
		if (committed) {
			g_autofree char *missing = missing_text(committed->obj);
			out_error("commit refused: %s%s%s", client_reply_message(committed),
				  missing ? "; missing: " : "", missing ? missing : "");
			fprintf(stderr, "enrollment %s left open\n", id);
		}
		return rc;
	}
	if (!ctl_print_json(c, committed))
		print_record_line(committed->obj, created->obj, NULL);
	return RC_OK;

stop:
	if (rc == RC_UNREACHABLE)
		return rc;
	fprintf(stderr, "stopped: enrollment %s is left open; see `ektpctl enrollment show %s`, "
			"or `ektpctl enrollment abandon %s`\n",
		id, id, id);
	return RC_FAIL;
}

int
cmd_enroll(struct ctx *c)
{
	const char *file = ctl_opt(c, "from");
	if (file)
		return enroll_from_file(c, file);
	if (!isatty(STDIN_FILENO))
		return ctl_usage_error(c->cmd, "without --from, enroll asks its questions on a "
					       "terminal, and standard input is not one");
	return enroll_interactive(c);
}

/* ---- open sessions ---- */

int
cmd_enrollments(struct ctx *c)
{
	g_autoptr(ClientReply) r = NULL;
	JsonArray *list;
	int rc = ctl_get_list(c, "/v1/enrollments", "enrollments", &r, &list);
	if (rc != RC_OK || !list)
		return rc;
	g_autoptr(OutTable) table = out_table_new("ID", "NIK", "NAME", "OPERATOR", "CREATED",
						  "UPDATED", "MISSING", NULL);
	for (guint i = 0; i < json_array_get_length(list); i++) {
		JsonObject *e = ctl_array_obj(list, i);
		g_autofree char *id = ctl_get_text(e, "id");
		g_autofree char *nik = ctl_get_text(e, "nik");
		g_autofree char *name = ctl_get_text(e, "name");
		g_autofree char *op = ctl_get_text(e, "operator");
		g_autofree char *created = out_local_time(ctl_get_str(e, "created_at"));
		g_autofree char *updated = out_local_time(ctl_get_str(e, "updated_at"));
		g_autofree char *missing = ctl_get_text(e, "missing");
		out_table_add_row(table, (const char *const[]){ id, nik, name, op, created, updated,
								missing });
	}
	if (out_table_rows(table) == 0)
		printf("no open enrollments\n");
	else
		out_table_print(table);
	return RC_OK;
}

/* Prints to out: a table of the captures, exceptions and missing positions of enrollment e. */
static void
print_session(FILE *out, JsonObject *e)
{
	g_autofree char *id = ctl_get_text(e, "id");
	g_autofree char *state = ctl_get_text(e, "state");
	g_autofree char *nik = ctl_get_text(e, "nik");
	g_autofree char *name = ctl_get_text(e, "name");
	g_autofree char *op = ctl_get_text(e, "operator");
	g_autofree char *created = out_local_time(ctl_get_str(e, "created_at"));
	g_autofree char *updated = out_local_time(ctl_get_str(e, "updated_at"));
	fprintf(out, "enrollment %s: %s\n", id, state);
	fprintf(out, "resident: %s %s\n", nik, name);
	fprintf(out, "operator: %s, created %s, updated %s\n", op, created, updated);
	g_autofree char *record = ctl_get_text(e, "record_id");
	if (strcmp(record, "-") != 0)
		fprintf(out, "record: %s\n", record);
	JsonArray *warnings = ctl_get_array(e, "warnings");
	for (guint i = 0; warnings && i < json_array_get_length(warnings); i++) {
		JsonObject *w = ctl_array_obj(warnings, i);
		g_autofree char *rule = ctl_get_text(w, "rule");
		g_autofree char *msg = ctl_get_text(w, "message");
		fprintf(out, "warning: %s: %s\n", rule, msg);
	}

	JsonArray *caps = ctl_get_array(e, "captures");
	guint ncaps = caps ? json_array_get_length(caps) : 0;
	if (ncaps > 0) {
		fprintf(out, "\n");
		g_autoptr(OutTable) table =
			out_table_new("POSITION", "STATUS", "QUALITY", "THRESHOLD", "ATTEMPTS",
				      "FORCED", "SOURCE", "DEVICE", "SIZE", NULL);
		g_autoptr(GPtrArray) sorted = g_ptr_array_new();
		for (guint i = 0; i < ncaps; i++)
			if (ctl_array_obj(caps, i))
				g_ptr_array_add(sorted, ctl_array_obj(caps, i));
		g_ptr_array_sort(sorted, ctl_capture_order);
		for (guint i = 0; i < sorted->len; i++) {
			JsonObject *cap = sorted->pdata[i];
			gint64 pos = 0;
			ctl_get_int(cap, "position", &pos);
			const char *modality = ctl_get_str(cap, "modality");
			g_autofree char *where = position_name(modality ? modality : "?", pos);
			g_autofree char *status = ctl_get_text(cap, "status");
			g_autofree char *quality = ctl_get_text(cap, "quality");
			g_autofree char *threshold = ctl_get_text(cap, "threshold");
			g_autofree char *attempts = ctl_get_text(cap, "attempts");
			g_autofree char *forced = ctl_get_text(cap, "forced");
			g_autofree char *source = ctl_get_text(cap, "source");
			g_autofree char *device = ctl_get_text(cap, "device");
			g_autofree char *w = ctl_get_text(cap, "width");
			g_autofree char *h = ctl_get_text(cap, "height");
			g_autofree char *size = g_strdup_printf("%sx%s", w, h);
			out_table_add_row(table,
					  (const char *const[]){ where, status, quality, threshold,
								 attempts, forced, source, device,
								 size });
		}
		out_table_fprint(table, out);
	}
	JsonArray *exceptions = ctl_get_array(e, "exceptions");
	for (guint i = 0; exceptions && i < json_array_get_length(exceptions); i++) {
		JsonObject *x = ctl_array_obj(exceptions, i);
		gint64 pos = 0;
		ctl_get_int(x, "position", &pos);
		const char *modality = ctl_get_str(x, "modality");
		g_autofree char *where = position_name(modality ? modality : "?", pos);
		g_autofree char *kind = ctl_get_text(x, "kind");
		g_autofree char *reason = ctl_get_text(x, "reason");
		fprintf(out, "exception: %s %s: %s\n", where, kind, reason);
	}
	g_autofree char *missing = missing_text(e);
	if (missing) {
		fprintf(out, "missing: %s\n", missing);
	} else if (g_strcmp0(ctl_get_str(e, "state"), "open") == 0) {
		fprintf(out, "nothing missing: ready to commit\n");
	}
	fflush(out);
}

static int
show_enrollment(struct ctx *c, const char *id, bool to_stderr)
{
	g_autofree char *path = ctl_item_path("enrollments", id, NULL);
	if (!path)
		return ctl_usage_error(c->cmd, "'%s' is not an enrollment id", id);
	g_autoptr(ClientReply) r = NULL;
	int rc = ctl_call(c, "GET", path, NULL, 0, &r);
	if (rc != RC_OK)
		return rc;
	if (!to_stderr && ctl_print_json(c, r))
		return RC_OK;
	print_session(to_stderr ? stderr : stdout, r->obj);
	return RC_OK;
}

int
cmd_enrollment_show(struct ctx *c)
{
	return show_enrollment(c, c->args[0], false);
}

int
cmd_enrollment_abandon(struct ctx *c)
{
	g_autofree char *path = ctl_item_path("enrollments", c->args[0], "abandon");
	if (!path)
		return ctl_usage_error(c->cmd, "'%s' is not an enrollment id", c->args[0]);
	g_autoptr(ClientReply) r = NULL;
	int rc = ctl_call(c, "POST", path, NULL, 0, &r);
	if (rc != RC_OK)
		return rc;
	if (!ctl_print_json(c, r))
		printf("enrollment %s abandoned; its images are erased\n", c->args[0]);
	return RC_OK;
}
