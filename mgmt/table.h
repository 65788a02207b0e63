/*
 * table: pcctl's human output. Arrays of objects become aligned columns
 * (in the order the fields arrived), objects become "key: value" lines.
 * Writes to the given stream; allocates only temporarily.
 */
#ifndef PC_TABLE_H
#define PC_TABLE_H

#include <jansson.h>
#include <stdio.h>

/* A scalar as text into buf ("-" for null, yes/no for booleans). */
const char *table_cell(const json_t *v, char *buf, size_t cap);
void table_print_rows(FILE *out, const json_t *rows);
/* Nested objects are flattened as a.b.c. */
void table_print_object(FILE *out, const json_t *obj, const char *prefix);
/* Rows with only the named columns (NULL-terminated), with headers. */
void table_print_cols(FILE *out, const json_t *rows, const char *const *cols,
    const char *const *headers);

#endif
