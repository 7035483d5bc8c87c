/* SPDX-License-Identifier: MIT */
/*
 * Committed records from the command line: listing and showing them, exporting their images,
 * the supervisor's decisions (approve, reject, hold), and the coverage report
 * (docs/api.md, "Enrollment").
 *
 * A record is shown without its images: the API never sends image bytes except to a
 * supervisor's export, which the daemon audits; the export writes files that nobody else may
 * read and never replaces an existing file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "ektpctl/ctl.h"
#include "ektpctl/output.h"

/* Records the API gives at most per page. */
#define PAGE_MAX 1000
#define RECORDS_DEFAULT_LIMIT 100

static const char *const record_states[] = { "captured",   "approved", "print_ready", "on_hold",
					     "rejected",   "superseded", "printing", "printed",
					     "spoiled",    NULL };

/* The demographic fields in the order a KTP-el shows them. */
static const char *const demographic_fields[] = {
	"nik",     "kk",         "name",           "birth_place", "birth_date", "gender",
	"blood_type", "religion", "marital_status", "occupation", "address",    "rt",
	"rw",      "village_code", "citizenship",  "nationality", NULL,
};

static bool
is_active(const char *state)
{
	return g_strcmp0(state, "rejected") != 0 && g_strcmp0(state, "superseded") != 0;
}

/* "finger-7", "face". Caller frees. */
static char *
where_text(JsonObject *o)
{
	const char *modality = ctl_get_str(o, "modality");
	gint64 pos = 0;
	ctl_get_int(o, "position", &pos);
	if (g_strcmp0(modality, "finger") == 0 || g_strcmp0(modality, "iris") == 0)
		return g_strdup_printf("%s-%" G_GINT64_FORMAT, modality, pos);
	return g_strdup(modality ? modality : "-");
}

/* ---- listing ---- */

/* GETs the records matching base (a path with its filters), page after page, until limit
 * records or the last page. *records gets copies of them (caller frees); *more is true when
 * the daemon has more than limit. Returns the exit code. */
static int
fetch_records(struct ctx *c, const char *base, guint64 limit, JsonArray **records, bool *more,
	      gint64 *next)
{
	g_autoptr(JsonArray) all = json_array_new();
	gint64 after = 0;
	bool paged = false, has_next = false;
	while (json_array_get_length(all) < limit) {
		/* One more than needed tells whether there are more than limit: the daemon
		 * sends next_after whenever a page is full, even when nothing follows. */
		guint64 want = MIN(limit - json_array_get_length(all) + 1, PAGE_MAX);
		g_autoptr(GString) path = g_string_new(base);
		g_string_append_printf(path, "%climit=%" G_GUINT64_FORMAT,
				       strchr(base, '?') ? '&' : '?', want);
		if (paged)
			g_string_append_printf(path, "&after=%" G_GINT64_FORMAT, after);
		g_autoptr(ClientReply) r = NULL;
		int rc = ctl_call(c, "GET", path->str, NULL, 0, &r);
		if (rc != RC_OK)
			return rc;
		JsonArray *page = ctl_get_array(r->obj, "records");
		if (!page) {
			out_error("ektpd's answer has no 'records' list");
			return RC_FAIL;
		}
		for (guint i = 0; i < json_array_get_length(page); i++) {
			JsonNode *n = json_array_get_element(page, i);
			json_array_add_element(all, json_node_copy(n));
		}
		has_next = ctl_get_int(r->obj, "next_after", &after) &&
			   json_array_get_length(page) > 0;
		if (json_array_get_length(all) > limit) {
			while (json_array_get_length(all) > limit)
				json_array_remove_element(all, json_array_get_length(all) - 1);
			JsonObject *last = ctl_array_obj(all, json_array_get_length(all) - 1);
			ctl_get_int(last, "id", &after);
			has_next = true;
			break;
		}
		if (!has_next)
			break;
		paged = true;
	}
	*more = has_next;
	*next = after;
	*records = g_steal_pointer(&all);
	return RC_OK;
}

int
cmd_records(struct ctx *c)
{
	g_autoptr(GString) base = g_string_new("/v1/records");
	const char *state = ctl_opt(c, "state"), *nik = ctl_opt(c, "nik");
	if (state && !g_strv_contains(record_states, state))
		return ctl_usage_error(c->cmd,
				       "--state wants one of captured, approved, print_ready, "
				       "on_hold, rejected, superseded, printing, printed, spoiled; "
				       "not '%s'",
				       state);
	if (state)
		ctl_query_add(base, "state", state);
	if (nik && !ctl_is_nik(nik))
		return ctl_usage_error(c->cmd, "--nik wants 16 digits, not '%s'", nik);
	if (nik)
		ctl_query_add(base, "nik", nik);
	int rc = ctl_query_date(c, base, "from");
	if (rc == RC_OK)
		rc = ctl_query_date(c, base, "to");
	if (rc != RC_OK)
		return rc;
	guint64 limit = RECORDS_DEFAULT_LIMIT;
	const char *limit_opt = ctl_opt(c, "limit");
	if (limit_opt && !g_ascii_string_to_unsigned(limit_opt, 10, 1, G_MAXINT32, &limit, NULL))
		return ctl_usage_error(c->cmd, "--limit wants a number from 1, not '%s'",
				       limit_opt);

	g_autoptr(JsonArray) records = NULL;
	bool more = false;
	gint64 next = 0;
	rc = fetch_records(c, base->str, limit, &records, &more, &next);
	if (rc != RC_OK)
		return rc;
	if (c->json) {
		g_autoptr(JsonObject) o = json_object_new();
		json_object_set_array_member(o, "records", json_array_ref(records));
		if (more)
			json_object_set_int_member(o, "next_after", next);
		else
			json_object_set_null_member(o, "next_after");
		g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), o);
		out_json(node);
		return RC_OK;
	}
	g_autoptr(OutTable) table = out_table_new("ID", "CREATED", "NIK", "NAME", "STATE",
						  "OPERATOR", "NEEDS APPROVAL", NULL);
	for (guint i = 0; i < json_array_get_length(records); i++) {
		JsonObject *r = ctl_array_obj(records, i);
		g_autofree char *id = ctl_get_text(r, "id");
		g_autofree char *created = out_local_time(ctl_get_str(r, "created_at"));
		g_autofree char *rnik = ctl_get_text(r, "nik");
		g_autofree char *name = ctl_get_text(r, "name");
		g_autofree char *rstate = ctl_get_text(r, "state");
		g_autofree char *op = ctl_get_text(r, "operator");
		g_autofree char *needs = ctl_join(r, "needs_approval", NULL, ",");
		out_table_add_row(table, (const char *const[]){ id, created, rnik, name, rstate,
								op, needs });
	}
	if (out_table_rows(table) == 0)
		printf("no records\n");
	else
		out_table_print(table);
	if (more)
		printf("more records: raise --limit (now %" G_GUINT64_FORMAT ")\n", limit);
	return RC_OK;
}

/* ---- one record ---- */

static void
print_issues(JsonObject *rec, const char *member, const char *label)
{
	JsonArray *list = ctl_get_array(rec, member);
	for (guint i = 0; list && i < json_array_get_length(list); i++) {
		JsonObject *w = ctl_array_obj(list, i);
		g_autofree char *field = ctl_get_text(w, "field");
		g_autofree char *rule = ctl_get_text(w, "rule");
		g_autofree char *msg = ctl_get_text(w, "message");
		const char *value = ctl_get_str(w, "value");
		printf("%s: %s (%s)%s%s%s: %s\n", label, field, rule, value ? " \"" : "",
		       value ? value : "", value ? "\"" : "", msg);
	}
}

static void
print_record(JsonObject *rec)
{
	g_autofree char *id = ctl_get_text(rec, "id");
	g_autofree char *state = ctl_get_text(rec, "state");
	const char *reason = ctl_get_str(rec, "state_reason");
	bool has_reason = reason && *reason;
	printf("record %s: %s%s%s\n", id, state, has_reason ? ": " : "", has_reason ? reason : "");

	JsonObject *demo = ctl_get_obj(rec, "demographics");
	for (guint i = 0; demographic_fields[i]; i++) {
		if (!demo || !json_object_has_member(demo, demographic_fields[i]))
			continue;
		g_autofree char *v = ctl_get_text(demo, demographic_fields[i]);
		printf("  %-15s %s\n", demographic_fields[i], *v ? v : "-");
	}
	GList *members = demo ? json_object_get_members(demo) : NULL;
	for (GList *m = members; m; m = m->next) {
		if (g_strv_contains(demographic_fields, m->data))
			continue;
		g_autofree char *v = ctl_get_text(demo, m->data);
		printf("  %-15s %s\n", (const char *)m->data, *v ? v : "-");
	}
	g_list_free(members);

	g_autofree char *op = ctl_get_text(rec, "operator");
	g_autofree char *created = out_local_time(ctl_get_str(rec, "created_at"));
	printf("operator: %s, created %s\n", op, created);
	if (ctl_get_str(rec, "approved_by")) {
		g_autofree char *by = ctl_get_text(rec, "approved_by");
		g_autofree char *at = out_local_time(ctl_get_str(rec, "approved_at"));
		printf("approved by: %s, %s\n", by, at);
	}
	if (ctl_get_str(rec, "print_ready_after"))
		printf("print ready after: %s\n", ctl_get_str(rec, "print_ready_after"));
	JsonNode *replaces = json_object_get_member(rec, "replaces");
	if (replaces && !JSON_NODE_HOLDS_NULL(replaces)) {
		g_autofree char *r = ctl_get_text(rec, "replaces");
		printf("replaces: record %s\n", r);
	}
	g_autofree char *needs = ctl_join(rec, "needs_approval", NULL, ", ");
	if (needs)
		printf("needs approval: %s\n", needs);
	print_issues(rec, "warnings", "warning");

	JsonArray *bio = ctl_get_array(rec, "biometrics");
	if (bio && json_array_get_length(bio) > 0) {
		g_autoptr(OutTable) table = out_table_new(
			"POSITION", "QUALITY", "THRESHOLD", "ATTEMPTS", "FORCED", "ALGORITHM",
			"SOURCE", "DEVICE", "SERIAL", "SIZE", "PPI", "BYTES", "CAPTURED", NULL);
		g_autoptr(GPtrArray) sorted = g_ptr_array_new();
		for (guint i = 0; i < json_array_get_length(bio); i++)
			if (ctl_array_obj(bio, i))
				g_ptr_array_add(sorted, ctl_array_obj(bio, i));
		g_ptr_array_sort(sorted, ctl_capture_order);
		for (guint i = 0; i < sorted->len; i++) {
			JsonObject *b = sorted->pdata[i];
			g_autofree char *where = where_text(b);
			g_autofree char *q = ctl_get_text(b, "quality");
			g_autofree char *t = ctl_get_text(b, "threshold");
			g_autofree char *a = ctl_get_text(b, "attempts");
			g_autofree char *f = ctl_get_text(b, "forced");
			g_autofree char *alg = ctl_get_text(b, "algorithm");
			g_autofree char *src = ctl_get_text(b, "source");
			g_autofree char *dev = ctl_get_text(b, "device");
			g_autofree char *ser = ctl_get_text(b, "serial");
			g_autofree char *w = ctl_get_text(b, "width");
			g_autofree char *h = ctl_get_text(b, "height");
			g_autofree char *size = g_strdup_printf("%sx%s", w, h);
			g_autofree char *ppi = ctl_get_text(b, "ppi");
			g_autofree char *bytes = ctl_get_text(b, "bytes");
			g_autofree char *at = out_local_time(ctl_get_str(b, "captured_at"));
			out_table_add_row(table, (const char *const[]){ where, q, t, a, f, alg, src,
									dev, ser, size, ppi, bytes,
									at });
		}
		printf("\n");
		out_table_print(table);
	}
	JsonArray *ex = ctl_get_array(rec, "exceptions");
	if (ex && json_array_get_length(ex) > 0) {
		g_autoptr(OutTable) table = out_table_new("EXCEPTION", "KIND", "REASON", NULL);
		for (guint i = 0; i < json_array_get_length(ex); i++) {
			JsonObject *x = ctl_array_obj(ex, i);
			g_autofree char *where = where_text(x);
			g_autofree char *kind = ctl_get_text(x, "kind");
			g_autofree char *why = ctl_get_text(x, "reason");
			out_table_add_row(table, (const char *const[]){ where, kind, why });
		}
		printf("\n");
		out_table_print(table);
	}
}

/* GETs record id; *reply gets the answer. */
static int
get_record(struct ctx *c, const char *id, ClientReply **reply)
{
	g_autofree char *path = ctl_item_path("records", id, NULL);
	if (!path)
		return ctl_usage_error(c->cmd, "'%s' is not a record id", id);
	return ctl_call(c, "GET", path, NULL, 0, reply);
}

/* record show NIK: the NIK's active record, or all its records when it has several active
 * ones or none. */
static int
show_by_nik(struct ctx *c, const char *nik)
{
	g_autoptr(GString) base = g_string_new("/v1/records");
	ctl_query_add(base, "nik", nik);
	g_autoptr(JsonArray) list = NULL;
	bool more = false;
	gint64 next = 0;
	int rc = fetch_records(c, base->str, PAGE_MAX, &list, &more, &next);
	if (rc != RC_OK)
		return rc;
	guint n = json_array_get_length(list), active = 0;
	if (n == 0) {
		out_error("no record of NIK %s", nik);
		return RC_FAIL;
	}
	for (guint i = 0; i < n; i++)
		if (is_active(ctl_get_str(ctl_array_obj(list, i), "state")))
			active++;
	g_autoptr(JsonArray) shown = json_array_new();
	g_autoptr(GString) others = g_string_new(NULL);
	for (guint i = 0; i < n; i++) {
		JsonObject *brief = ctl_array_obj(list, i);
		const char *state = ctl_get_str(brief, "state");
		g_autofree char *id = ctl_get_text(brief, "id");
		if (active == 1 && !is_active(state)) {
			g_string_append_printf(others, "%s%s (%s)", others->len ? ", " : "", id,
					       state ? state : "-");
			continue;
		}
		g_autoptr(ClientReply) r = NULL;
		rc = get_record(c, id, &r);
		if (rc != RC_OK)
			return rc;
		json_array_add_element(shown, json_node_copy(r->root));
	}
	if (c->json) {
		JsonNode *one = json_array_get_length(shown) == 1
					? json_array_get_element(shown, 0)
					: NULL;
		g_autoptr(JsonNode) all = json_node_init_array(json_node_alloc(), shown);
		out_json(one ? one : all);
		return RC_OK;
	}
	if (json_array_get_length(shown) > 1)
		printf("NIK %s has %u %s records\n\n", nik, json_array_get_length(shown),
		       active > 1 ? "active" : "inactive");
	for (guint i = 0; i < json_array_get_length(shown); i++) {
		if (i > 0)
			printf("\n");
		print_record(ctl_array_obj(shown, i));
	}
	if (others->len > 0)
		printf("\nother records of this NIK: %s\n", others->str);
	return RC_OK;
}

int
cmd_record_show(struct ctx *c)
{
	const char *arg = c->args[0];
	if (ctl_is_nik(arg))
		return show_by_nik(c, arg);
	g_autoptr(ClientReply) r = NULL;
	int rc = get_record(c, arg, &r);
	if (rc != RC_OK)
		return rc;
	if (!ctl_print_json(c, r))
		print_record(r->obj);
	return RC_OK;
}

/* ---- export ---- */

/* A file name the daemon may choose: one plain component of safe characters. */
static bool
safe_file_name(const char *name)
{
	if (!name || !*name || name[0] == '.' || strlen(name) > 255)
		return false;
	for (const char *p = name; *p; p++)
		if (!g_ascii_isalnum(*p) && !strchr("._-", *p))
			return false;
	return true;
}

static const guint8 png_signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

/* Writes data to dir/name, a new file of mode 0600; never replaces one. */
static int
write_new_file(const char *path, const guint8 *data, gsize len, GError **error)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "cannot create %s: %s",
			    path, g_strerror(e));
		return -1;
	}
	gsize done = 0;
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
				    "cannot write %s: %s", path, g_strerror(e));
			close(fd);
			unlink(path);
			return -1;
		}
		done += (gsize)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		int e = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "cannot write %s: %s",
			    path, g_strerror(e));
		unlink(path);
		return -1;
	}
	return 0;
}

/* Makes dir (mode 0700) when missing; an existing directory is used as it is. */
static int
make_export_dir(const char *dir, GError **error)
{
	struct stat st;
	if (g_mkdir_with_parents(dir, 0700) < 0 || stat(dir, &st) < 0) {
		int e = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
			    "cannot create directory %s: %s", dir, g_strerror(e));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY, "%s is not a directory",
			    dir);
		return -1;
	}
	return 0;
}

/* Makes DIR and writes BLOBS[i] to PATHS[i], all of them or none: on a failure the
 * files this call wrote are removed again.  Arguments are borrowed. */
static int
write_all_or_none(const char *dir, GPtrArray *paths, GPtrArray *blobs, GError **error)
{
	if (make_export_dir(dir, error) < 0)
		return -1;
	for (guint i = 0; i < paths->len; i++) {
		gsize len = 0;
		const guint8 *data = g_bytes_get_data(blobs->pdata[i], &len);
		if (write_new_file(paths->pdata[i], data, len, error) < 0) {
			for (guint k = 0; k < i; k++)
				g_unlink(paths->pdata[k]);
			return -1;
		}
	}
	return 0;
}

int
cmd_record_export(struct ctx *c)
{
	const char *id = c->args[0], *dir = c->args[1];
	g_autofree char *path = ctl_item_path("records", id, "export");
	if (!path)
		return ctl_usage_error(c->cmd, "'%s' is not a record id", id);
	g_autoptr(ClientReply) r = NULL;
	int rc = ctl_call(c, "GET", path, NULL, 0, &r);
	if (rc != RC_OK)
		return rc;
	JsonArray *files = ctl_get_array(r->obj, "files");
	if (!files) {
		out_error("ektpd's answer has no 'files' list");
		return RC_FAIL;
	}

	/* Check every file before writing any, so that a refusal leaves nothing behind. */
	guint n = json_array_get_length(files);
	g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) blobs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	for (guint i = 0; i < n; i++) {
		JsonObject *f = ctl_array_obj(files, i);
		const char *name = ctl_get_str(f, "name");
		const char *b64 = ctl_get_str(f, "png_base64");
		if (!safe_file_name(name) || !b64) {
			out_error("ektpd's export holds a file without a usable name or data "
				  "('%s'); nothing written",
				  name ? name : "");
			return RC_FAIL;
		}
		for (guint k = 0; k < i; k++)
			if (g_strcmp0(ctl_get_str(ctl_array_obj(files, k), "name"), name) == 0) {
				out_error("ektpd's export names %s twice; nothing written", name);
				return RC_FAIL;
			}
		gsize len = 0;
		guint8 *data = g_base64_decode(b64, &len);
		if (len < sizeof png_signature ||
		    memcmp(data, png_signature, sizeof png_signature) != 0) {
			g_free(data);
			out_error("%s from ektpd is not a PNG image; nothing written", name);
			return RC_FAIL;
		}
		g_ptr_array_add(blobs, g_bytes_new_take(data, len));
		char *file = g_build_filename(dir, name, NULL);
		g_ptr_array_add(paths, file);
		if (g_file_test(file, G_FILE_TEST_EXISTS) ||
		    g_file_test(file, G_FILE_TEST_IS_SYMLINK)) {
			out_error("%s exists already: refusing to overwrite it; nothing written",
				  file);
			return RC_FAIL;
		}
	}
	if (n == 0) {
		out_error("record %s has no images to export", id);
		return RC_FAIL;
	}

	g_autoptr(GError) error = NULL;
	if (write_all_or_none(dir, paths, blobs, &error) < 0)
		return ctl_fail(error);

	if (c->json) {
		/* The daemon's answer without the image data, which is in the files now. */
		g_autoptr(JsonNode) copy = json_node_copy(r->root);
		JsonArray *out = ctl_get_array(json_node_get_object(copy), "files");
		for (guint i = 0; i < n; i++) {
			JsonObject *f = ctl_array_obj(out, i);
			gsize len = 0;
			g_bytes_get_data(blobs->pdata[i], &len);
			json_object_remove_member(f, "png_base64");
			json_object_set_string_member(f, "path", paths->pdata[i]);
			json_object_set_int_member(f, "bytes", (gint64)len);
		}
		out_json(copy);
		return RC_OK;
	}
	for (guint i = 0; i < n; i++) {
		gsize len = 0;
		g_bytes_get_data(blobs->pdata[i], &len);
		printf("%s (%" G_GSIZE_FORMAT " bytes)\n", (char *)paths->pdata[i], len);
	}
	printf("record %s: %u files written to %s\n", id, n, dir);
	return RC_OK;
}

/* ---- supervisor decisions ---- */

/* POSTs /v1/records/ID/what, with {"reason"} when the command has --reason. */
static int
decide(struct ctx *c, const char *what)
{
	const char *id = c->args[0];
	g_autofree char *path = ctl_item_path("records", id, what);
	if (!path)
		return ctl_usage_error(c->cmd, "'%s' is not a record id", id);
	g_autoptr(JsonObject) body = NULL;
	if (strcmp(what, "approve") != 0) {
		const char *reason = ctl_opt(c, "reason");
		if (!*reason)
			return ctl_usage_error(c->cmd, "--reason must not be empty");
		body = json_object_new();
		json_object_set_string_member(body, "reason", reason);
	}
	g_autoptr(ClientReply) r = NULL;
	int rc = ctl_call(c, "POST", path, body, 0, &r);
	if (rc != RC_OK)
		return rc;
	if (!ctl_print_json(c, r)) {
		g_autofree char *state = ctl_get_text(r->obj, "state");
		printf("record %s: %s\n", id, state);
	}
	return RC_OK;
}

int
cmd_approve(struct ctx *c)
{
	return decide(c, "approve");
}

int
cmd_reject(struct ctx *c)
{
	return decide(c, "reject");
}

int
cmd_hold(struct ctx *c)
{
	return decide(c, "hold");
}

/* ---- reports ---- */

/* A number member as text: integers with thousands separators, fractions with two decimals.
 * Caller frees. */
static char *
number_text(JsonObject *o, const char *name)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;
	if (n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_DOUBLE) {
		/* Small shares keep three significant digits rather than rounding to 0.00. */
		double v = json_node_get_double(n);
		return v > -1 && v < 1 && v != 0 ? g_strdup_printf("%.3g", v)
					     : g_strdup_printf("%.2f", v);
	}
	gint64 v;
	if (!ctl_get_int(o, name, &v))
		return ctl_get_text(o, name);
	g_autofree char *digits = g_strdup_printf("%" G_GINT64_FORMAT, v < 0 ? -v : v);
	GString *s = g_string_new(v < 0 ? "-" : "");
	size_t len = strlen(digits);
	for (size_t i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			g_string_append_c(s, ',');
		g_string_append_c(s, digits[i]);
	}
	return g_string_free(s, FALSE);
}

int
cmd_report_coverage(struct ctx *c)
{
	g_autoptr(GString) path = g_string_new("/v1/reports/coverage");
	const char *by = ctl_opt(c, "by");
	if (by && strcmp(by, "kecamatan") != 0 && strcmp(by, "day") != 0)
		return ctl_usage_error(c->cmd, "--by wants kecamatan or day, not '%s'", by);
	if (by)
		ctl_query_add(path, "by", by);
	int rc = ctl_query_date(c, path, "from");
	if (rc == RC_OK)
		rc = ctl_query_date(c, path, "to");
	if (rc != RC_OK)
		return rc;
	g_autoptr(ClientReply) r = NULL;
	rc = ctl_call(c, "GET", path->str, NULL, 0, &r);
	if (rc != RC_OK || ctl_print_json(c, r))
		return rc;

	JsonObject *o = r->obj;
	g_autofree char *regency = ctl_get_text(o, "regency");
	g_autofree char *name = ctl_get_text(o, "regency_name");
	g_autofree char *rby = ctl_get_text(o, "by");
	const char *from = ctl_opt(c, "from"), *to = ctl_opt(c, "to");
	printf("coverage of %s (%s) by %s%s%s%s%s\n", name, regency, rby, from ? ", from " : "",
	       from ? from : "", to ? ", to " : "", to ? to : "");
	JsonArray *rows = ctl_get_array(o, "rows");
	bool by_day = strcmp(rby, "day") == 0;
	g_autoptr(OutTable) table = by_day ? out_table_new("DAY", "RECORDS", NULL)
					   : out_table_new("KECAMATAN", "NAME", "RECORDS", NULL);
	for (guint i = 0; rows && i < json_array_get_length(rows); i++) {
		JsonObject *row = ctl_array_obj(rows, i);
		g_autofree char *key = ctl_get_text(row, "key");
		g_autofree char *rname = ctl_get_text(row, "name");
		g_autofree char *records = number_text(row, "records");
		if (by_day)
			out_table_add_row(table, (const char *const[]){ key, records });
		else
			out_table_add_row(table, (const char *const[]){ key, rname, records });
	}
	g_autofree char *recorded = number_text(o, "recorded");
	if (by_day)
		out_table_add_row(table, (const char *const[]){ "TOTAL", recorded });
	else
		out_table_add_row(table, (const char *const[]){ "TOTAL", "", recorded });
	out_table_print(table);

	g_autofree char *target = number_text(o, "target");
	g_autofree char *population = number_text(o, "population");
	g_autofree char *share = number_text(o, "adult_share");
	g_autofree char *percent = number_text(o, "percent");
	printf("target: %s to record (population %s, adult share %s %%); recorded %s, %s %%\n",
	       target, population, share, recorded, percent);
	return RC_OK;
}

/* ---- cards ---- */

/* The chip files as the daemon names them in a chip directory, with the body member each
 * goes in for POST /v1/cards/verify (docs/api.md). */
static const struct {
	const char *file, *member;
} chip_files[] = {
	{ "COM.bin", "com" }, { "DG1.bin", "dg1" }, { "DG2.bin", "dg2" },
	{ "DG3.bin", "dg3" }, { "DG7.bin", "dg7" }, { "SOD.der", "sod" },
};

int
cmd_card_preview(struct ctx *c)
{
	const char *id = c->args[0], *file = c->args[1];
	g_autofree char *path = ctl_item_path("records", id, "card");
	if (!path)
		return ctl_usage_error(c->cmd, "'%s' is not a record id", id);
	g_autoptr(ClientReply) r = NULL;
	int rc = ctl_call(c, "GET", path, NULL, 0, &r);
	if (rc != RC_OK)
		return rc;
	const char *b64 = ctl_get_str(r->obj, "png_base64");
	gsize len = 0;
	g_autofree guint8 *png = b64 ? g_base64_decode(b64, &len) : NULL;
	if (len < sizeof png_signature || memcmp(png, png_signature, sizeof png_signature) != 0) {
		out_error("ektpd's answer holds no PNG image");
		return RC_FAIL;
	}
	g_autoptr(GError) error = NULL;
	if (write_new_file(file, png, len, &error) < 0)
		return ctl_fail(error);
	if (c->json) {
		g_autoptr(JsonNode) copy = json_node_copy(r->root);
		json_object_remove_member(json_node_get_object(copy), "png_base64");
		json_object_set_string_member(json_node_get_object(copy), "path", file);
		out_json(copy);
	} else {
		printf("record %s: card face written to %s (%" G_GSIZE_FORMAT " bytes)\n", id, file,
		       len);
	}
	return RC_OK;
}

int
cmd_card_export(struct ctx *c)
{
	const char *id = c->args[0], *dir = c->args[1];
	g_autofree char *path = ctl_item_path("records", id, "chip");
	if (!path)
		return ctl_usage_error(c->cmd, "'%s' is not a record id", id);
	g_autoptr(ClientReply) r = NULL;
	int rc = ctl_call(c, "GET", path, NULL, 0, &r);
	if (rc != RC_OK)
		return rc;
	JsonArray *files = ctl_get_array(r->obj, "files");
	guint n = files ? json_array_get_length(files) : 0;
	g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) blobs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	for (guint i = 0; i < n; i++) {
		JsonObject *f = ctl_array_obj(files, i);
		const char *name = ctl_get_str(f, "file"), *b64 = ctl_get_str(f, "base64");
		char *p = name && b64 && safe_file_name(name) ? g_build_filename(dir, name, NULL) : NULL;
		if (!p || g_file_test(p, G_FILE_TEST_EXISTS)) {
			out_error("%s: %s; nothing written", p ? p : "a file without a usable name",
				  p ? "exists already" : "from ektpd");
			g_free(p);
			return RC_FAIL;
		}
		g_ptr_array_add(paths, p);
		/* As the daemon sends them: SOD.der is already the bare CMS SignedData
		 * that openssl cms -inform DER reads. */
		gsize len = 0;
		guint8 *data = g_base64_decode(b64, &len);
		g_ptr_array_add(blobs, g_bytes_new_take(data, len));
	}
	if (n == 0) {
		out_error("ektpd's answer has no chip files");
		return RC_FAIL;
	}
	g_autoptr(GError) error = NULL;
	if (write_all_or_none(dir, paths, blobs, &error) < 0)
		return ctl_fail(error);
	for (guint i = 0; i < n && !c->json; i++)
		printf("%s (%" G_GSIZE_FORMAT " bytes)\n", (char *)paths->pdata[i],
		       g_bytes_get_size(blobs->pdata[i]));
	if (c->json) {
		g_autoptr(JsonNode) copy = json_node_copy(r->root);
		JsonArray *out = ctl_get_array(json_node_get_object(copy), "files");
		for (guint i = 0; i < n; i++)
			json_object_remove_member(ctl_array_obj(out, i), "base64");
		out_json(copy);
		return RC_OK;
	}
	gint64 total = 0;
	ctl_get_int(r->obj, "total", &total);
	printf("record %s: chip image of %" G_GINT64_FORMAT " bytes written to %s%s\n", id, total,
	       dir, ctl_get_bool(r->obj, "test_signer") ? " (signed with TEST keys: not a valid card)"
							 : "");
	return RC_OK;
}

int
cmd_card_verify(struct ctx *c)
{
	const char *what = c->args[0];
	g_autoptr(JsonObject) body = json_object_new();
	if (g_file_test(what, G_FILE_TEST_IS_DIR)) {
		for (size_t i = 0; i < G_N_ELEMENTS(chip_files); i++) {
			g_autofree char *p = g_build_filename(what, chip_files[i].file, NULL);
			g_autofree char *data = NULL;
			gsize len = 0;
			if (!g_file_get_contents(p, &data, &len, NULL))
				continue; /* the daemon names what is missing */
			g_autofree char *b64 = g_base64_encode((guint8 *)data, len);
			json_object_set_string_member(body, chip_files[i].member, b64);
		}
	} else {
		g_autofree char *path = ctl_item_path("records", what, "chip");
		if (!path)
			return ctl_usage_error(c->cmd, "'%s' is neither a folder nor a record id", what);
		g_autoptr(ClientReply) r = NULL;
		int rc = ctl_call(c, "GET", path, NULL, 0, &r);
		if (rc != RC_OK)
			return rc;
		JsonArray *files = ctl_get_array(r->obj, "files");
		for (guint i = 0; files && i < json_array_get_length(files); i++) {
			JsonObject *f = ctl_array_obj(files, i);
			for (size_t k = 0; k < G_N_ELEMENTS(chip_files); k++)
				if (g_strcmp0(ctl_get_str(f, "file"), chip_files[k].file) == 0)
					json_object_set_string_member(body, chip_files[k].member,
								      ctl_get_str(f, "base64"));
		}
	}
	g_autoptr(ClientReply) v = NULL;
	int rc = ctl_call(c, "POST", "/v1/cards/verify", body, 0, &v);
	if (rc != RC_OK)
		return rc;
	gboolean ok = ctl_get_bool(v->obj, "ok");
	if (!ctl_print_json(c, v)) {
		if (ok)
			printf("%s: chip verifies: every data group matches its hash; signed by %s\n",
			       what, ctl_get_str(v->obj, "signer"));
		else
			printf("%s: chip does NOT verify: %s\n", what, ctl_get_str(v->obj, "problem"));
	}
	return ok ? RC_OK : RC_FAIL;
}

int
cmd_card_encode(struct ctx *c)
{
	const char *id = c->args[0];
	g_autofree char *path = ctl_item_path("records", id, "encode");
	if (!path)
		return ctl_usage_error(c->cmd, "'%s' is not a record id", id);
	g_autoptr(JsonObject) body = json_object_new();
	json_object_set_string_member(body, "encoder", c->args[1]);
	g_autoptr(ClientReply) r = NULL;
	int rc = ctl_call(c, "POST", path, body, 0, &r);
	if (rc != RC_OK)
		return rc;
	if (!ctl_print_json(c, r))
		printf("record %s: chip written on %s and read back equal\n", id, c->args[1]);
	return RC_OK;
}
