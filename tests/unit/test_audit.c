/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/audit: rows appended inside transactions verify as one
 * unbroken chain; then a second SQLite connection tampers with the file the
 * way an intruder would (edit a row, delete a middle row, cut rows off the
 * end, edit or delete the head) and audit_verify must name the first bad row.
 * Also: the row hash is the documented length-prefixed encoding, so text
 * shifted between fields changes it; rolled-back appends leave nothing; the
 * chain is followed across more than one page of rows.
 */
#include <json-glib/json-glib.h>
#include <string.h>

#include "core/audit.h"
#include "crypto/crypto.h"
#include "store/store.h"
#include "testutil.h"

/* A store opened on a fresh file for each test (see T in main()). */
typedef TuDb Fixture;

/* Runs SQL on a second connection to the same file, as an intruder would. */
static void
tamper(const Fixture *f, const char *sql)
{
	if (tu_sql_exec(f->path, sql) < 1 && !g_str_has_prefix(sql, "DELETE FROM audit_head"))
		fail_msg("%s changed nothing", sql);
}

/* Appends N rows, each in its own committed transaction. */
static void
append_rows(const Fixture *f, int n)
{
	GError *error = NULL;
	AuditActor who = { "alice", "admin" };
	for (int i = 0; i < n; i++) {
		g_autofree char *num = g_strdup_printf("%d", i + 1);
		g_autofree char *target = g_strdup_printf("user%d", i + 1);
		g_autofree char *detail = audit_detail("n", num, NULL);
		assert_int_equal(store_begin(f->st, &error), 0);
		if (audit_append(f->st, &who, "user.add", target, "ok", detail, 1700000000 + i,
				 &error) < 0)
			fail_msg("audit_append: %s", error->message);
		assert_int_equal(store_commit(f->st, &error), 0);
	}
}

/* Verifies and expects the log to be bad at FIRST_BAD with WANT in the reason. */
static void
expect_bad(const Fixture *f, gint64 first_bad, const char *want)
{
	AuditVerdict v;
	GError *error = NULL;
	memset(&v, 0x55, sizeof v);
	assert_int_equal(audit_verify(f->st, &v, &error), 0);
	assert_null(error);
	assert_false(v.ok);
	assert_non_null(v.reason);
	if (v.first_bad != first_bad || (want && !strstr(v.reason, want)))
		fail_msg("wanted first_bad %" G_GINT64_FORMAT " and \"%s\"; got %" G_GINT64_FORMAT
			 " \"%s\"", first_bad, want ? want : "", v.first_bad, v.reason);
	g_free(v.reason);
}

static void
expect_ok(const Fixture *f, gint64 rows)
{
	AuditVerdict v = tu_expect_audit_ok(f->st, rows);
	assert_int_equal(v.first_bad, 0);
	assert_null(v.reason);
}

/* ---- appending ---- */

static void
test_append_and_verify(void **state)
{
	Fixture *f = *state;
	GError *error = NULL;
	expect_ok(f, 0);
	append_rows(f, 5);
	expect_ok(f, 5);
	assert_int_equal(store_audit_count(f->st, &error), 5);

	g_autoptr(GPtrArray) rows = store_audit_list(f->st, 0, 10, &error);
	assert_int_equal(rows->len, 5);
	const char *prev = "";
	for (guint i = 0; i < rows->len; i++) {
		const StoreAuditRow *r = rows->pdata[i];
		assert_int_equal(r->id, i + 1);
		assert_int_equal(r->ts, 1700000000 + i);
		assert_string_equal(r->user, "alice");
		assert_string_equal(r->role, "admin");
		assert_string_equal(r->action, "user.add");
		assert_string_equal(r->result, "ok");
		assert_string_equal(r->prev_hash, prev);
		assert_int_equal(strlen(r->hash), 64);
		char want[65];
		audit_row_hash(r, want);
		assert_string_equal(r->hash, want);
		prev = r->hash;
	}
	tu_expect_audit_head(f->st, 5, prev);
}

static void
test_append_defaults(void **state)
{
	Fixture *f = *state;
	GError *error = NULL;
	assert_int_equal(store_begin(f->st, &error), 0);
	assert_int_equal(audit_append(f->st, NULL, "login", NULL, "denied", NULL, 42, &error), 0);
	AuditActor nobody = { NULL, NULL };
	assert_int_equal(audit_append(f->st, &nobody, "login", "x", "denied", NULL, 43, &error), 0);
	assert_int_equal(store_commit(f->st, &error), 0);

	g_autoptr(GPtrArray) rows = store_audit_list(f->st, 0, 10, &error);
	assert_int_equal(rows->len, 2);
	const StoreAuditRow *r = rows->pdata[0];
	assert_string_equal(r->user, "");
	assert_string_equal(r->role, "");
	assert_string_equal(r->target, "");
	assert_string_equal(r->detail, "{}");
	assert_int_equal(r->ts, 42);
	r = rows->pdata[1];
	assert_string_equal(r->user, "");
	assert_string_equal(r->target, "x");
	expect_ok(f, 2);
}

static void
test_rolled_back_append_leaves_nothing(void **state)
{
	Fixture *f = *state;
	GError *error = NULL;
	assert_int_equal(store_begin(f->st, &error), 0);
	assert_int_equal(audit_append(f->st, NULL, "user.add", "ghost", "ok", NULL, 1, &error), 0);
	assert_int_equal(store_audit_count(f->st, &error), 1);
	store_rollback(f->st);
	assert_int_equal(store_audit_count(f->st, &error), 0);
	tu_expect_audit_head(f->st, 0, "");
	expect_ok(f, 0);

	/* After committed rows, a rolled-back one leaves the chain as it was. */
	append_rows(f, 2);
	assert_int_equal(store_begin(f->st, &error), 0);
	assert_int_equal(audit_append(f->st, NULL, "user.add", "ghost", "ok", NULL, 1, &error), 0);
	store_rollback(f->st);
	expect_ok(f, 2);
	/* And the next append takes the id the rolled-back one had. */
	append_rows(f, 1);
	expect_ok(f, 3);
}

static void
test_detail(void **state)
{
	(void)state;
	g_autofree char *empty = audit_detail(NULL, NULL);
	assert_string_equal(empty, "{}");

	g_autofree char *d = audit_detail("role", "admin", "note", "say \"hi\"\n\\", NULL);
	g_autoptr(JsonParser) p = json_parser_new();
	assert_true(json_parser_load_from_data(p, d, -1, NULL));
	JsonObject *o = json_node_get_object(json_parser_get_root(p));
	assert_int_equal(json_object_get_size(o), 2);
	assert_string_equal(json_object_get_string_member(o, "role"), "admin");
	assert_string_equal(json_object_get_string_member(o, "note"), "say \"hi\"\n\\");
}

/* ---- the row hash ---- */

static StoreAuditRow
sample_row(void)
{
	StoreAuditRow r = {
		.id = 3,
		.ts = 1700000000,
		.user = (char *)"ab",
		.role = (char *)"c",
		.action = (char *)"user.add",
		.target = (char *)"bob",
		.result = (char *)"ok",
		.detail = (char *)"{}",
		.prev_hash = (char *)"prev",
	};
	return r;
}

static void
test_row_hash_encoding(void **state)
{
	(void)state;
	StoreAuditRow r = sample_row();
	char got[65], again[65], want[65];
	audit_row_hash(&r, got);
	audit_row_hash(&r, again);
	assert_string_equal(got, again);

	/* The documented canonical form: "length:bytes;" per field, in order. */
	const char *canon = "4:prev;1:3;10:1700000000;2:ab;1:c;8:user.add;3:bob;2:ok;2:{};";
	crypto_sha256_hex(canon, strlen(canon), want);
	assert_string_equal(got, want);

	/* The stored hash itself is not part of the content. */
	r.hash = (char *)"anything";
	audit_row_hash(&r, again);
	assert_string_equal(got, again);
}

static void
test_row_hash_shifted_fields_differ(void **state)
{
	(void)state;
	StoreAuditRow a = sample_row(), b = sample_row();
	char ha[65], hb[65];

	b.user = (char *)"a";
	b.role = (char *)"bc";
	audit_row_hash(&a, ha);
	audit_row_hash(&b, hb);
	assert_string_not_equal(ha, hb);

	/* Separator-looking text moved across a boundary. */
	a = sample_row();
	b = sample_row();
	a.target = (char *)"x;2:ok";
	a.result = (char *)"";
	b.target = (char *)"x";
	b.result = (char *)"ok";
	audit_row_hash(&a, ha);
	audit_row_hash(&b, hb);
	assert_string_not_equal(ha, hb);

	/* Every field counts. */
	StoreAuditRow base = sample_row();
	char hbase[65];
	audit_row_hash(&base, hbase);
	for (int field = 0; field < 9; field++) {
		StoreAuditRow m = sample_row();
		switch (field) {
		case 0: m.id = 4; break;
		case 1: m.ts = 1700000001; break;
		case 2: m.user = (char *)"ac"; break;
		case 3: m.role = (char *)"d"; break;
		case 4: m.action = (char *)"user.pin"; break;
		case 5: m.target = (char *)"bol"; break;
		case 6: m.result = (char *)"no"; break;
		case 7: m.detail = (char *)"{ }"; break;
		case 8: m.prev_hash = (char *)"prew"; break;
		}
		char hm[65];
		audit_row_hash(&m, hm);
		if (strcmp(hm, hbase) == 0)
			fail_msg("changing field %d leaves the hash alike", field);
	}
}

/* ---- tampering ---- */

static void
test_tamper_edit_detail(void **state)
{
	Fixture *f = *state;
	append_rows(f, 5);
	tamper(f, "UPDATE audit SET detail = '{\"n\":\"9\"}' WHERE id = 3");
	expect_bad(f, 3, "edited");
}

static void
test_tamper_edit_other_fields(void **state)
{
	Fixture *f = *state;
	append_rows(f, 4);
	tamper(f, "UPDATE audit SET result = 'denied' WHERE id = 2");
	expect_bad(f, 2, "edited");
	tamper(f, "UPDATE audit SET result = 'ok' WHERE id = 2");
	expect_ok(f, 4);
	tamper(f, "UPDATE audit SET ts = ts + 1 WHERE id = 4");
	expect_bad(f, 4, "edited");
	tamper(f, "UPDATE audit SET ts = ts - 1 WHERE id = 4");
	tamper(f, "UPDATE audit SET user = 'mallory' WHERE id = 1");
	expect_bad(f, 1, "edited");
}

static void
test_tamper_edit_and_rehash(void **state)
{
	Fixture *f = *state;
	GError *error = NULL;
	append_rows(f, 4);
	/* Edit row 2 and give it a correct hash for its new content: row 3 no longer links. */
	g_autoptr(GPtrArray) rows = store_audit_list(f->st, 1, 1, &error);
	StoreAuditRow *r = rows->pdata[0];
	g_free(r->target);
	r->target = g_strdup("someone-else");
	char h[65];
	audit_row_hash(r, h);
	g_autofree char *sql = g_strdup_printf(
		"UPDATE audit SET target = 'someone-else', hash = '%s' WHERE id = 2", h);
	tamper(f, sql);
	expect_bad(f, 3, "link");
}

static void
test_tamper_delete_middle(void **state)
{
	Fixture *f = *state;
	append_rows(f, 5);
	tamper(f, "DELETE FROM audit WHERE id = 3");
	expect_bad(f, 4, "deleted");
}

static void
test_tamper_delete_first(void **state)
{
	Fixture *f = *state;
	append_rows(f, 3);
	tamper(f, "DELETE FROM audit WHERE id = 1");
	expect_bad(f, 2, "deleted");
}

static void
test_tamper_delete_last(void **state)
{
	Fixture *f = *state;
	append_rows(f, 5);
	tamper(f, "DELETE FROM audit WHERE id = 5");
	expect_bad(f, 5, "head");
	tamper(f, "DELETE FROM audit WHERE id = 4");
	expect_bad(f, 4, NULL);
}

static void
test_tamper_delete_all_rows(void **state)
{
	Fixture *f = *state;
	append_rows(f, 3);
	tamper(f, "DELETE FROM audit");
	expect_bad(f, 1, NULL);
}

static void
test_tamper_head(void **state)
{
	Fixture *f = *state;
	append_rows(f, 5);
	tamper(f, "UPDATE audit_head SET hash = '0000000000000000000000000000000000000000000000000000"
		  "000000000000'");
	expect_bad(f, 6, "head");
	g_autofree char *sql = NULL;
	{
		GError *error = NULL;
		gint64 id;
		g_autofree char *hash = NULL;
		assert_int_equal(store_audit_tail(f->st, &id, &hash, &error), 0);
		sql = g_strdup_printf("UPDATE audit_head SET hash = '%s'", hash);
	}
	tamper(f, sql);
	expect_ok(f, 5);
	tamper(f, "UPDATE audit_head SET rows = 4");
	expect_bad(f, 6, "head");
}

static void
test_tamper_delete_head(void **state)
{
	Fixture *f = *state;
	append_rows(f, 3);
	tamper(f, "DELETE FROM audit_head");
	expect_bad(f, 4, NULL);
}

static void
test_tamper_delete_head_of_empty_log(void **state)
{
	Fixture *f = *state;
	tamper(f, "DELETE FROM audit_head");
	AuditVerdict v;
	GError *error = NULL;
	assert_int_equal(audit_verify(f->st, &v, &error), 0);
	assert_false(v.ok);
	g_free(v.reason);
}

/* ---- more than one page ---- */

static void
test_long_chain(void **state)
{
	Fixture *f = *state;
	GError *error = NULL;
	const int n = 2345;
	assert_int_equal(store_begin(f->st, &error), 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(audit_append(f->st, NULL, "login", "x", "denied", NULL, i, &error),
				 0);
	assert_int_equal(store_commit(f->st, &error), 0);
	expect_ok(f, n);

	tamper(f, "UPDATE audit SET target = 'y' WHERE id = 2001");
	expect_bad(f, 2001, "edited");
	tamper(f, "UPDATE audit SET target = 'x' WHERE id = 2001");
	expect_ok(f, n);
	tamper(f, "DELETE FROM audit WHERE id = 1001");
	expect_bad(f, 1002, "deleted");
}

int
main(void)
{
	tu_quiet_logs();
	const struct CMUnitTest tests[] = {
#define T(fn) \
	cmocka_unit_test_prestate_setup_teardown(fn, tu_db_setup_open, tu_db_teardown, "audit")
		T(test_append_and_verify),
		T(test_append_defaults),
		T(test_rolled_back_append_leaves_nothing),
		cmocka_unit_test(test_detail),
		cmocka_unit_test(test_row_hash_encoding),
		cmocka_unit_test(test_row_hash_shifted_fields_differ),
		T(test_tamper_edit_detail),
		T(test_tamper_edit_other_fields),
		T(test_tamper_edit_and_rehash),
		T(test_tamper_delete_middle),
		T(test_tamper_delete_first),
		T(test_tamper_delete_last),
		T(test_tamper_delete_all_rows),
		T(test_tamper_head),
		T(test_tamper_delete_head),
		T(test_tamper_delete_head_of_empty_log),
		T(test_long_chain),
#undef T
	};
	return cmocka_run_group_tests_name("audit", tests, NULL, NULL);
}
