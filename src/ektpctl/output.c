/* SPDX-License-Identifier: MIT */
/*
 * ektpctl's output: aligned tables, pretty JSON, error lines and value formatters. Everything
 * goes through stdio rather than g_print so that text reaches the terminal byte for byte.
 */
#include "ektpctl/output.h"

#include <stdarg.h>
#include <stdio.h>

struct OutTable {
	guint ncols;
	GPtrArray *cells; /* owned strings, row-major; the first row holds the headings */
};

/* A copy of s fit for one table cell: control characters become '?'. Caller frees. */
static char *
cell_text(const char *s)
{
	char *copy = g_strdup(s ? s : "-");
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return copy;
}

OutTable *
out_table_new(const char *first_heading, ...)
{
	OutTable *table = g_new0(OutTable, 1);
	table->cells = g_ptr_array_new_with_free_func(g_free);
	va_list ap;
	va_start(ap, first_heading);
	for (const char *h = first_heading; h; h = va_arg(ap, const char *)) {
		g_ptr_array_add(table->cells, cell_text(h));
		table->ncols++;
	}
	va_end(ap);
	g_assert(table->ncols > 0);
	return table;
}

void
out_table_free(OutTable *table)
{
	if (!table)
		return;
	g_ptr_array_unref(table->cells);
	g_free(table);
}

void
out_table_add_row(OutTable *table, const char *const cells[])
{
	for (guint i = 0; i < table->ncols; i++)
		g_ptr_array_add(table->cells, cell_text(cells[i]));
}

guint
out_table_rows(const OutTable *table)
{
	return table->cells->len / table->ncols - 1;
}

static glong
text_width(const char *s)
{
	return g_utf8_validate(s, -1, NULL) ? g_utf8_strlen(s, -1) : (glong)strlen(s);
}

void
out_table_print(const OutTable *table)
{
	out_table_fprint(table, stdout);
}

void
out_table_fprint(const OutTable *table, FILE *out)
{
	g_autofree glong *width = g_new0(glong, table->ncols);
	for (guint i = 0; i < table->cells->len; i++) {
		glong w = text_width(g_ptr_array_index(table->cells, i));
		width[i % table->ncols] = MAX(width[i % table->ncols], w);
	}
	for (guint i = 0; i < table->cells->len; i++) {
		const char *s = g_ptr_array_index(table->cells, i);
		guint col = i % table->ncols;
		fputs(s, out);
		if (col + 1 == table->ncols)
			fputc('\n', out);
		else
			fprintf(out, "%*s", (int)(width[col] - text_width(s) + 2), "");
	}
}

void
out_json(JsonNode *node)
{
	g_autoptr(JsonGenerator) gen = json_generator_new();
	json_generator_set_pretty(gen, TRUE);
	json_generator_set_indent(gen, 2);
	json_generator_set_root(gen, node);
	g_autofree char *text = json_generator_to_data(gen, NULL);
	printf("%s\n", text);
}

void
out_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ektpctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

char *
out_local_time(const char *iso)
{
	if (!iso)
		return g_strdup("-");
	g_autoptr(GDateTime) utc = g_date_time_new_from_iso8601(iso, NULL);
	if (!utc)
		return g_strdup(iso);
	g_autoptr(GDateTime) local = g_date_time_to_local(utc);
	char *text = local ? g_date_time_format(local, "%Y-%m-%d %H:%M:%S") : NULL;
	return text ? text : g_strdup(iso);
}

char *
out_duration(gint64 seconds)
{
	if (seconds < 0)
		seconds = 0;
	gint64 m = seconds / 60, h = m / 60, d = h / 24;
	if (d > 0)
		return g_strdup_printf("%" G_GINT64_FORMAT "d%02" G_GINT64_FORMAT "h", d, h % 24);
	if (h > 0)
		return g_strdup_printf("%" G_GINT64_FORMAT "h%02" G_GINT64_FORMAT "m", h, m % 60);
	if (m > 0)
		return g_strdup_printf("%" G_GINT64_FORMAT "m%02" G_GINT64_FORMAT "s", m,
				       seconds % 60);
	return g_strdup_printf("%" G_GINT64_FORMAT "s", seconds);
}

char *
out_size(gint64 bytes)
{
	return g_format_size_full((guint64)MAX(bytes, 0),
				  G_FORMAT_SIZE_IEC_UNITS | G_FORMAT_SIZE_LONG_FORMAT);
}
