/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for util/config: the built-in defaults and how paths resolve
 * against the state directory, every kind of file error and the FILE:LINE it
 * names, a file that sets every key, SIGHUP reload (reloadable keys copied,
 * the others reported and left alone), the settings table itself, the
 * documented file cfg_write_documented() prints, and the shipped
 * config/ektpd.conf naming every key.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util/config.h"

typedef struct {
	char *dir;
} Fixture;

static int
setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	f->dir = tu_tmp_dir("config");
	*state = f;
	return 0;
}

/* The tests only make plain files directly in the temporary directory. */
static int
teardown(void **state)
{
	Fixture *f = *state;
	tu_remove_dir(f->dir);
	g_free(f->dir);
	g_free(f);
	return 0;
}

/* Writes TEXT to NAME inside the fixture's directory; returns the path (caller frees). */
static char *
write_file(const Fixture *f, const char *name, const char *text)
{
	return tu_write_file(f->dir, name, text);
}

/* Loads TEXT from a file and expects it to load (caller frees). */
static EktpConfig *
load_ok(const Fixture *f, const char *text)
{
	g_autofree char *path = write_file(f, "ektpd.conf", text);
	GError *error = NULL;
	EktpConfig *cfg = cfg_load(path, NULL, &error);
	if (!cfg)
		fail_msg("loading:\n%s\n%s", text, error->message);
	return cfg;
}

/* The built-in defaults (caller frees). */
static EktpConfig *
load_defaults(void)
{
	GError *error = NULL;
	EktpConfig *cfg = cfg_load(NULL, NULL, &error);
	if (!cfg)
		fail_msg("defaults: %s", error->message);
	return cfg;
}

/* Loads TEXT and expects "PATH:LINE: ..." with WANT somewhere in the reason. */
static void
expect_error(const Fixture *f, const char *text, int line, const char *want)
{
	g_autofree char *path = write_file(f, "bad.conf", text);
	GError *error = NULL;
	EktpConfig *cfg = cfg_load(path, NULL, &error);
	if (cfg) {
		cfg_free(cfg);
		fail_msg("loaded without error:\n%s", text);
	}
	assert_non_null(error);
	assert_true(g_error_matches(error, CFG_ERROR, 0));
	g_autofree char *prefix = g_strdup_printf("%s:%d: ", path, line);
	if (!g_str_has_prefix(error->message, prefix) || !strstr(error->message, want))
		fail_msg("for:\n%s\nwanted \"%s...%s...\", got \"%s\"", text, prefix, want,
			 error->message);
	g_error_free(error);
}

/* ---- defaults and paths ---- */

static void
test_defaults(void **state)
{
	(void)state;
	GError *error = NULL;
	g_autoptr(EktpConfig) cfg = cfg_load(NULL, NULL, &error);
	assert_non_null(cfg);
	assert_null(error);

	g_autofree char *cwd = g_get_current_dir();
	g_autofree char *var = g_build_filename(cwd, "var", NULL);
	g_autofree char *sock = g_build_filename(cwd, "var", "ektpd.sock", NULL);
	g_autofree char *db = g_build_filename(cwd, "var", "ektp.db", NULL);
	assert_string_equal(cfg->state_dir, var);
	assert_string_equal(cfg->socket_path, sock);
	assert_string_equal(cfg->database, db);
	assert_string_equal(cfg->socket_group, "");
	assert_int_equal(cfg->log_level, 2); /* "info" in error, warning, info, debug */
	assert_int_equal(cfg->max_body, 1048576);
	assert_int_equal(cfg->session_idle, 900);
	assert_int_equal(cfg->max_failed_logins, 5);
	assert_int_equal(cfg->lockout, 300);
	assert_int_equal(cfg->pin_min_length, 6);
	assert_int_equal(cfg->scrypt_n, 16384);
	assert_null(cfg->file);
}

static void
test_state_dir_override_wins(void **state)
{
	Fixture *f = *state;
	g_autofree char *from_file = g_build_filename(f->dir, "file-state", NULL);
	g_autofree char *from_arg = g_build_filename(f->dir, "arg-state", NULL);
	g_autofree char *text = g_strdup_printf("[daemon]\nstate_dir = %s\n", from_file);
	g_autofree char *path = write_file(f, "ektpd.conf", text);
	GError *error = NULL;

	g_autoptr(EktpConfig) plain = cfg_load(path, NULL, &error);
	assert_non_null(plain);
	assert_string_equal(plain->state_dir, from_file);
	assert_string_equal(plain->file, path);

	g_autoptr(EktpConfig) over = cfg_load(path, from_arg, &error);
	assert_non_null(over);
	assert_string_equal(over->state_dir, from_arg);
	g_autofree char *db = g_build_filename(from_arg, "ektp.db", NULL);
	g_autofree char *sock = g_build_filename(from_arg, "ektpd.sock", NULL);
	assert_string_equal(over->database, db);
	assert_string_equal(over->socket_path, sock);

	/* A relative override resolves against the current directory. */
	g_autoptr(EktpConfig) rel = cfg_load(path, "some/where", &error);
	assert_non_null(rel);
	g_autofree char *cwd = g_get_current_dir();
	g_autofree char *want = g_build_filename(cwd, "some", "where", NULL);
	assert_string_equal(rel->state_dir, want);

	/* An empty override is no override. */
	g_autoptr(EktpConfig) empty = cfg_load(path, "", &error);
	assert_non_null(empty);
	assert_string_equal(empty->state_dir, from_file);
}

static void
test_relative_paths_resolve_against_state_dir(void **state)
{
	Fixture *f = *state;
	g_autofree char *st = g_build_filename(f->dir, "st", NULL);
	g_autofree char *text = g_strdup_printf("[daemon]\nstate_dir = %s\nsocket = run/s.sock\n"
						"database = ../data/e.db\n", st);
	g_autoptr(EktpConfig) cfg = load_ok(f, text);
	g_autofree char *sock = g_build_filename(st, "run", "s.sock", NULL);
	g_autofree char *db = g_build_filename(f->dir, "data", "e.db", NULL);
	assert_string_equal(cfg->socket_path, sock);
	assert_string_equal(cfg->database, db);
}

static void
test_absolute_paths_stay(void **state)
{
	Fixture *f = *state;
	g_autofree char *st = g_build_filename(f->dir, "st", NULL);
	g_autofree char *sock = g_build_filename(f->dir, "abs.sock", NULL);
	g_autofree char *db = g_build_filename(f->dir, "elsewhere", "abs.db", NULL);
	g_autofree char *text = g_strdup_printf("[daemon]\nstate_dir = %s\nsocket = %s\n"
						"database = %s\n", st, sock, db);
	g_autoptr(EktpConfig) cfg = load_ok(f, text);
	assert_string_equal(cfg->state_dir, st);
	assert_string_equal(cfg->socket_path, sock);
	assert_string_equal(cfg->database, db);
}

/* ---- errors name FILE:LINE ---- */

static void
test_error_unknown_section(void **state)
{
	expect_error(*state, "[daemon]\n\n[nope]\n", 3, "unknown section [nope]");
}

static void
test_error_section_twice(void **state)
{
	expect_error(*state, "[auth]\nlockout = 5\n[auth]\n", 3, "given twice");
}

static void
test_error_malformed_group(void **state)
{
	expect_error(*state, "# a comment\n[auth\n", 2, "malformed group header");
}

static void
test_error_unknown_key(void **state)
{
	expect_error(*state, "# comment\n[auth]\nlockout = 5\nbogus = 1\n", 4,
		     "unknown key 'bogus'");
	/* A key of another section is unknown here. */
	expect_error(*state, "[api]\nlockout = 5\n", 2, "unknown key 'lockout' in [api]");
}

static void
test_error_key_twice(void **state)
{
	expect_error(*state, "[auth]\nlockout = 10\n\n\nlockout = 20\n", 5,
		     "key 'lockout' given twice in [auth] (first at line 2)");
}

static void
test_error_key_before_section(void **state)
{
	expect_error(*state, "# top\n\nlockout = 5\n[auth]\n", 3, "before any [section]");
}

static void
test_error_not_key_value(void **state)
{
	expect_error(*state, "[auth]\nlockout = 5\njust some words\n", 3, "key = value");
}

static void
test_error_out_of_range(void **state)
{
	expect_error(*state, "[auth]\nlockout = 5\nsession_idle = 0\n", 3,
		     "session_idle: 0 is out of range (1 to 86400 seconds)");
	expect_error(*state, "[auth]\nmax_failed_logins = 101\n", 2, "out of range");
	expect_error(*state, "[api]\nmax_body = -1\n", 2, "out of range");
	expect_error(*state, "[auth]\npin_min_length = 3\n", 2, "out of range");
	/* A power of two outside the bounds is still out of range. */
	expect_error(*state, "[auth]\nscrypt_n = 512\n", 2, "out of range");
}

static void
test_error_not_a_number(void **state)
{
	expect_error(*state, "[auth]\n\nsession_idle = ten\n", 3, "'ten' is not a whole number");
	expect_error(*state, "[auth]\nlockout = 10s\n", 2, "not a whole number");
	expect_error(*state, "[auth]\nlockout = 1.5\n", 2, "not a whole number");
	expect_error(*state, "[auth]\nlockout =\n", 2, "not a whole number");
	expect_error(*state, "[auth]\nlockout = 99999999999999999999999\n", 2,
		     "not a whole number");
}

static void
test_error_not_power_of_two(void **state)
{
	expect_error(*state, "[auth]\nscrypt_n = 3000\n", 2, "scrypt_n: 3000 is not a power of two");
	expect_error(*state, "[auth]\nlockout = 5\nscrypt_n = 1025\n", 3, "not a power of two");
}

static void
test_error_bad_enum(void **state)
{
	expect_error(*state, "[daemon]\nlog_level = loud\n", 2,
		     "log_level: 'loud' is not one of error, warning, info, debug");
	/* Choices are case-sensitive words. */
	expect_error(*state, "[daemon]\nlog_level = DEBUG\n", 2, "is not one of");
}

static void
test_error_empty_path(void **state)
{
	expect_error(*state, "[daemon]\ndatabase =\n", 2, "database: must not be empty");
}

static void
test_error_socket_too_long(void **state)
{
	Fixture *f = *state;
	/* Longer than 107 bytes as written. */
	g_autofree char *name = g_strnfill(120, 's');
	g_autofree char *text = g_strdup_printf("[daemon]\n# long\nsocket = /tmp/%s\n", name);
	expect_error(f, text, 3, "longer than 107 bytes");

	/* Short as written, too long once it is resolved against state_dir. */
	g_autofree char *deep = g_strnfill(90, 'd');
	g_autofree char *st = g_build_filename(f->dir, deep, NULL);
	g_autofree char *sock = g_strnfill(40, 'k');
	g_autofree char *text2 = g_strdup_printf("[daemon]\nstate_dir = %s\n\nsocket = %s\n", st,
						 sock);
	expect_error(f, text2, 4, "longer than a Unix socket path may be (107 bytes)");

	/* 107 bytes exactly is allowed. */
	g_autofree char *fit = g_strnfill(107 - strlen("/tmp/"), 'x');
	g_autofree char *text3 = g_strdup_printf("[daemon]\nsocket = /tmp/%s\n", fit);
	g_autoptr(EktpConfig) cfg = load_ok(f, text3);
	assert_int_equal(strlen(cfg->socket_path), 107);
}

static void
test_error_missing_file(void **state)
{
	Fixture *f = *state;
	g_autofree char *path = g_build_filename(f->dir, "absent.conf", NULL);
	GError *error = NULL;
	EktpConfig *cfg = cfg_load(path, NULL, &error);
	assert_null(cfg);
	assert_non_null(error);
	g_autofree char *prefix = g_strdup_printf("%s:0: ", path);
	assert_true(g_str_has_prefix(error->message, prefix));
	g_error_free(error);
}

/* ---- a good file ---- */

static void
test_good_file_loads_values(void **state)
{
	Fixture *f = *state;
	g_autofree char *st = g_build_filename(f->dir, "state", NULL);
	g_autofree char *text = g_strdup_printf(
		"# ektpd test config\n"
		"[daemon]\n"
		"state_dir = %s\n"
		"socket = api.sock\n"
		"  socket_group = ektp  \n"
		"database = data.db\n"
		"log_level = debug\n"
		"\n"
		"[api]\n"
		"max_body = 2048\n"
		"\n"
		"[auth]\n"
		"session_idle=120\n"
		"max_failed_logins = 7\n"
		"lockout = 45\n"
		"pin_min_length = 8\n"
		"scrypt_n = 1024\n",
		st);
	g_autofree char *path = write_file(f, "ektpd.conf", text);
	GError *error = NULL;
	g_autoptr(EktpConfig) cfg = cfg_load(path, NULL, &error);
	if (!cfg)
		fail_msg("%s", error->message);
	g_autofree char *sock = g_build_filename(st, "api.sock", NULL);
	g_autofree char *db = g_build_filename(st, "data.db", NULL);
	assert_string_equal(cfg->file, path);
	assert_string_equal(cfg->state_dir, st);
	assert_string_equal(cfg->socket_path, sock);
	assert_string_equal(cfg->socket_group, "ektp");
	assert_string_equal(cfg->database, db);
	assert_int_equal(cfg->log_level, 3);
	assert_int_equal(cfg->max_body, 2048);
	assert_int_equal(cfg->session_idle, 120);
	assert_int_equal(cfg->max_failed_logins, 7);
	assert_int_equal(cfg->lockout, 45);
	assert_int_equal(cfg->pin_min_length, 8);
	assert_int_equal(cfg->scrypt_n, 1024);
}

static void
test_crlf_file_loads(void **state)
{
	g_autoptr(EktpConfig) cfg =
		load_ok(*state, "[auth]\r\nlockout = 42\r\n[daemon]\r\nlog_level = error\r\n");
	assert_int_equal(cfg->lockout, 42);
	assert_int_equal(cfg->log_level, 0);
}

/* ---- reload ---- */

static void
test_apply_reload(void **state)
{
	Fixture *f = *state;
	g_autofree char *st = g_build_filename(f->dir, "st", NULL);
	g_autofree char *a = g_strdup_printf("[daemon]\nstate_dir = %s\ndatabase = a.db\n"
					     "[auth]\nsession_idle = 900\n", st);
	g_autofree char *b = g_strdup_printf("[daemon]\nstate_dir = %s\ndatabase = b.db\n"
					     "log_level = debug\n[auth]\nsession_idle = 120\n", st);
	g_autofree char *pa = write_file(f, "a.conf", a);
	g_autofree char *pb = write_file(f, "b.conf", b);
	GError *error = NULL;
	g_autoptr(EktpConfig) live = cfg_load(pa, NULL, &error);
	g_autoptr(EktpConfig) fresh = cfg_load(pb, NULL, &error);
	assert_non_null(live);
	assert_non_null(fresh);
	g_autofree char *db_a = g_build_filename(st, "a.db", NULL);

	g_autoptr(GPtrArray) ignored = g_ptr_array_new_with_free_func(g_free);
	int changed = cfg_apply_reload(live, fresh, ignored);
	assert_int_equal(changed, 2); /* session_idle and log_level */
	assert_int_equal(live->session_idle, 120);
	assert_int_equal(live->log_level, 3);
	assert_string_equal(live->database, db_a);
	assert_int_equal(ignored->len, 1);
	assert_string_equal(g_ptr_array_index(ignored, 0), "daemon.database");

	/* Nothing reloadable is left to change; the database is still refused. */
	g_ptr_array_set_size(ignored, 0);
	assert_int_equal(cfg_apply_reload(live, fresh, ignored), 0);
	assert_int_equal(ignored->len, 1);
	assert_string_equal(live->database, db_a);

	/* IGNORED may be NULL. */
	assert_int_equal(cfg_apply_reload(live, fresh, NULL), 0);

	/* The same config reloads with no change and nothing ignored. */
	g_autoptr(EktpConfig) again = cfg_load(pa, NULL, &error);
	assert_non_null(again);
	g_ptr_array_set_size(ignored, 0);
	assert_int_equal(cfg_apply_reload(again, again, ignored), 0);
	assert_int_equal(ignored->len, 0);
}

/* ---- the table and the documented file ---- */

/* TRUE when A and B hold the same value for every setting in the table. */
static gboolean
configs_equal(const EktpConfig *a, const EktpConfig *b, GString *why)
{
	size_t n;
	const CfgSetting *s = cfg_settings(&n);
	gboolean same = TRUE;
	for (size_t i = 0; i < n; i++) {
		const char *pa = (const char *)a + s[i].offset;
		const char *pb = (const char *)b + s[i].offset;
		gboolean eq = FALSE;
		switch (s[i].type) {
		case CFG_INT:
			eq = *(const gint64 *)pa == *(const gint64 *)pb;
			break;
		case CFG_ENUM:
			eq = *(const int *)pa == *(const int *)pb;
			break;
		case CFG_STRING:
		case CFG_PATH:
			eq = g_strcmp0(*(char *const *)pa, *(char *const *)pb) == 0;
			break;
		}
		if (!eq) {
			g_string_append_printf(why, " %s.%s", s[i].section, s[i].key);
			same = FALSE;
		}
	}
	return same;
}

static void
test_settings_table(void **state)
{
	Fixture *f = *state;
	size_t n = 0;
	const CfgSetting *s = cfg_settings(&n);
	assert_true(n >= 11);
	g_autoptr(EktpConfig) defaults = load_defaults();

	for (size_t i = 0; i < n; i++) {
		assert_non_null(s[i].section);
		assert_non_null(s[i].key);
		assert_non_null(s[i].def);
		if (!s[i].help || strlen(s[i].help) < 10)
			fail_msg("%s.%s has no help text", s[i].section, s[i].key);
		for (size_t k = 0; k < i; k++)
			if (strcmp(s[k].section, s[i].section) == 0 && strcmp(s[k].key, s[i].key) == 0)
				fail_msg("%s.%s is declared twice", s[i].section, s[i].key);
		if (s[i].type == CFG_ENUM) {
			assert_non_null(s[i].choices);
			gboolean found = FALSE;
			for (int c = 0; s[i].choices[c]; c++)
				found |= strcmp(s[i].choices[c], s[i].def) == 0;
			if (!found)
				fail_msg("%s.%s: default '%s' is not a choice", s[i].section, s[i].key,
					 s[i].def);
		}
		if (s[i].type == CFG_INT)
			assert_true(s[i].min <= s[i].max);

		/* Writing the default explicitly loads and changes nothing. */
		g_autofree char *text = g_strdup_printf("[%s]\n%s = %s\n", s[i].section, s[i].key,
							s[i].def);
		g_autoptr(EktpConfig) cfg = load_ok(f, text);
		g_autoptr(GString) why = g_string_new(NULL);
		if (!configs_equal(cfg, defaults, why))
			fail_msg("%s.%s = %s differs from the defaults in:%s", s[i].section, s[i].key,
				 s[i].def, why->str);
		if (s[i].type == CFG_INT)
			assert_int_equal(*(const gint64 *)((const char *)cfg + s[i].offset),
					 g_ascii_strtoll(s[i].def, NULL, 10));
	}
}

/* Uncomments every "#key = value" line of TEXT; counts them in *N. */
static char *
uncomment_settings(const char *text, size_t *n)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	g_autoptr(GString) out = g_string_new(NULL);
	g_autoptr(GRegex) re = g_regex_new("^#[a-z_]+ =( |$)", 0, 0, NULL);
	*n = 0;
	for (int i = 0; lines[i]; i++) {
		if (g_regex_match(re, lines[i], 0, NULL)) {
			g_string_append_printf(out, "%s\n", lines[i] + 1);
			(*n)++;
		} else {
			g_string_append_printf(out, "%s\n", lines[i]);
		}
	}
	return g_string_free(g_steal_pointer(&out), FALSE);
}

static void
test_documented_file_is_the_defaults(void **state)
{
	Fixture *f = *state;
	g_autoptr(GString) doc = g_string_new(NULL);
	cfg_write_documented(doc);
	size_t n = 0;
	const CfgSetting *s = cfg_settings(&n);

	/* Every key appears once, commented, with its default. */
	for (size_t i = 0; i < n; i++) {
		/* An empty default is written without a trailing space. */
		g_autofree char *want = g_strdup_printf("\n#%s =%s%s\n", s[i].key,
							*s[i].def ? " " : "", s[i].def);
		if (!strstr(doc->str, want))
			fail_msg("documented file lacks \"%s\"", want + 1);
		g_autofree char *head = g_strdup_printf("[%s]\n", s[i].section);
		assert_non_null(strstr(doc->str, head));
	}

	g_autoptr(EktpConfig) defaults = load_defaults();

	/* As printed (all commented) it loads. */
	g_autoptr(EktpConfig) commented = load_ok(f, doc->str);
	g_autoptr(GString) why = g_string_new(NULL);
	assert_true(configs_equal(commented, defaults, why));

	/* Uncommented, every key is set, and still to its default. */
	size_t set = 0;
	g_autofree char *live = uncomment_settings(doc->str, &set);
	assert_int_equal(set, n);
	g_autoptr(EktpConfig) cfg = load_ok(f, live);
	if (!configs_equal(cfg, defaults, why))
		fail_msg("uncommented documented file differs from defaults in:%s", why->str);
}

/* ---- the shipped config ---- */

static char *
shipped_config_path(void)
{
	const char *top = g_getenv("EKTP_SOURCE_DIR");
	return g_build_filename(top && *top ? top : ".", "config", "ektpd.conf", NULL);
}

/*
 * These two may fail while the file is missing, so they free everything
 * before failing: valgrind then reports only real leaks.
 */
static void
test_shipped_config_names_every_key(void **state)
{
	(void)state;
	char why[1024] = "";
	char *path = shipped_config_path();
	char *text = NULL;
	GError *error = NULL;
	if (!g_file_get_contents(path, &text, NULL, &error)) {
		g_snprintf(why, sizeof why, "the shipped config %s cannot be read: %s", path,
			   error->message);
		g_error_free(error);
	} else {
		size_t n;
		const CfgSetting *s = cfg_settings(&n);
		char **lines = g_strsplit(text, "\n", -1);
		GString *missing = g_string_new(NULL);
		for (size_t i = 0; i < n; i++) {
			g_autofree char *plain = g_strdup_printf("%s =", s[i].key);
			g_autofree char *commented = g_strdup_printf("#%s =", s[i].key);
			gboolean found = FALSE;
			for (int l = 0; lines[l] && !found; l++) {
				const char *t = lines[l];
				while (*t == ' ' || *t == '\t')
					t++;
				found = g_str_has_prefix(t, plain) || g_str_has_prefix(t, commented);
			}
			if (!found)
				g_string_append_printf(missing, " %s.%s", s[i].section, s[i].key);
		}
		if (missing->len)
			g_snprintf(why, sizeof why, "%s does not mention:%s", path, missing->str);
		g_string_free(missing, TRUE);
		g_strfreev(lines);
	}
	g_free(text);
	g_free(path);
	if (*why)
		fail_msg("%s", why);
}

static void
test_shipped_config_loads(void **state)
{
	(void)state;
	char why[1024] = "";
	char *path = shipped_config_path();
	GError *error = NULL;
	EktpConfig *cfg = NULL;
	if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
		g_snprintf(why, sizeof why, "the shipped config %s is missing", path);
	} else if (!(cfg = cfg_load(path, NULL, &error))) {
		g_snprintf(why, sizeof why, "%s", error->message);
		g_error_free(error);
	} else if (strcmp(cfg->file, path) != 0) {
		g_snprintf(why, sizeof why, "cfg->file is %s, not %s", cfg->file, path);
	}
	cfg_free(cfg);
	g_free(path);
	if (*why)
		fail_msg("%s", why);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_defaults),
		T(test_state_dir_override_wins),
		T(test_relative_paths_resolve_against_state_dir),
		T(test_absolute_paths_stay),
		T(test_error_unknown_section),
		T(test_error_section_twice),
		T(test_error_malformed_group),
		T(test_error_unknown_key),
		T(test_error_key_twice),
		T(test_error_key_before_section),
		T(test_error_not_key_value),
		T(test_error_out_of_range),
		T(test_error_not_a_number),
		T(test_error_not_power_of_two),
		T(test_error_bad_enum),
		T(test_error_empty_path),
		T(test_error_socket_too_long),
		T(test_error_missing_file),
		T(test_good_file_loads_values),
		T(test_crlf_file_loads),
		T(test_apply_reload),
		T(test_settings_table),
		T(test_documented_file_is_the_defaults),
		T(test_shipped_config_names_every_key),
		T(test_shipped_config_loads),
#undef T
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
