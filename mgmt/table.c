#include "config.h"

/* Column widths are capped so one long Contact cannot make every row of a
 * terminal table wrap; --json is the lossless form. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

#define TABLE_MAX_COLS 32
#define TABLE_MAX_WIDTH 60

const char *
table_cell(const json_t *v, char *buf, size_t cap)
{
	if (v == NULL || json_is_null(v))
		return "-";
	if (json_is_string(v))
		return json_string_length(v) ? json_string_value(v) : "-";
	if (json_is_integer(v))
		snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, cap, "%.15g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, cap, "%s", json_is_true(v) ? "yes" : "no");
	else {
		char *s = json_dumps(v, JSON_COMPACT);
		snprintf(buf, cap, "%s", s ? s : "?");
		free(s);
	}
	return buf;
}

static void
print_cell(FILE *out, const char *s, int width, bool last)
{
	int len = (int)strlen(s);
	if (len > width)
		fprintf(out, "%.*s~", width - 1, s);
	else if (last)
		fputs(s, out);
	else
		fprintf(out, "%-*s", width, s);
	if (!last)
		fputs("  ", out);
}

void
table_print_cols(FILE *out, const json_t *rows, const char *const *cols,
    const char *const *headers)
{
	int width[TABLE_MAX_COLS];
	size_t ncols = 0;
	char buf[128];
	while (cols[ncols] != NULL && ncols < TABLE_MAX_COLS)
		ncols++;
	for (size_t c = 0; c < ncols; c++)
		width[c] = (int)strlen(headers[c]);
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		for (size_t c = 0; c < ncols; c++) {
			int l = (int)strlen(table_cell(
			    json_object_get(row, cols[c]), buf, sizeof(buf)));
			if (l > width[c])
				width[c] =
				    l > TABLE_MAX_WIDTH ? TABLE_MAX_WIDTH : l;
		}
	}
	for (size_t c = 0; c < ncols; c++)
		print_cell(out, headers[c], width[c], c + 1 == ncols);
	fputc('\n', out);
	json_array_foreach(rows, i, row)
	{
		for (size_t c = 0; c < ncols; c++)
			print_cell(out,
			    table_cell(json_object_get(row, cols[c]), buf,
			        sizeof(buf)),
			    width[c], c + 1 == ncols);
		fputc('\n', out);
	}
}

void
table_print_rows(FILE *out, const json_t *rows)
{
	const char *cols[TABLE_MAX_COLS + 1];
	char *heads[TABLE_MAX_COLS + 1] = {NULL};
	size_t n = 0;
	size_t i;
	json_t *row;
	if (json_array_size(rows) == 0) {
		fprintf(out, "(none)\n");
		return;
	}
	/* Columns: every key seen, first appearance first. */
	json_array_foreach(rows, i, row)
	{
		const char *key;
		json_t *v;
		json_object_foreach(row, key, v)
		{
			bool seen = false;
			for (size_t c = 0; c < n; c++)
				if (strcmp(cols[c], key) == 0)
					seen = true;
			if (!seen && n < TABLE_MAX_COLS)
				cols[n++] = key;
		}
	}
	cols[n] = NULL;
	for (size_t c = 0; c < n; c++) {
		heads[c] = strdup(cols[c]);
		for (char *p = heads[c]; p && *p; p++)
			*p = (*p >= 'a' && *p <= 'z') ? (char)(*p - 32) : *p;
	}
	table_print_cols(out, rows, cols, (const char *const *)heads);
	for (size_t c = 0; c < n; c++)
		free(heads[c]);
}

void
table_print_object(FILE *out, const json_t *obj, const char *prefix)
{
	const char *key;
	json_t *v;
	char buf[128];
	if (!json_is_object(obj)) {
		if (json_is_array(obj))
			table_print_rows(out, obj);
		else
			fprintf(out, "%s\n", table_cell(obj, buf, sizeof(buf)));
		return;
	}
	json_object_foreach((json_t *)obj, key, v)
	{
		char name[256];
		snprintf(name, sizeof(name), "%s%s%s", prefix ? prefix : "",
		    prefix ? "." : "", key);
		if (json_is_object(v)) {
			table_print_object(out, v, name);
		} else if (json_is_array(v)) {
			fprintf(out, "%s:", name);
			size_t i;
			json_t *e;
			json_array_foreach(v, i, e)
			{
				fprintf(out, "%s%s", i ? ", " : " ",
				    table_cell(e, buf, sizeof(buf)));
			}
			fputc('\n', out);
		} else {
			fprintf(out, "%s: %s\n", name,
			    table_cell(v, buf, sizeof(buf)));
		}
	}
}
