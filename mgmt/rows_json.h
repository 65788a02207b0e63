/*
 * rows_json: conversions between ctl_rows (the children's binary records)
 * and the management socket's JSON. Returned json_t values are new
 * references owned by the caller; the rows writer fills a caller buffer.
 */
#ifndef PC_ROWS_JSON_H
#define PC_ROWS_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "ctl_rows.h"

/* Every row as an array of objects; NULL if buf is malformed. */
json_t *rows_json_array(const void *buf, size_t len);
/* The first row as an object ({} when there is none); NULL if malformed. */
json_t *rows_json_object(const void *buf, size_t len);

/*
 * Writes a JSON object of scalars as one row: strings, integers (>= 0 as
 * u64, < 0 as i64), booleans; null members are skipped. Returns 0, or -1
 * with a message in err (a nested value, an empty name or one longer than
 * 255 bytes, a value longer than 65535 bytes, or rows overflow).
 */
int rows_json_args(
    const json_t *args, struct ctl_rows *out, char *err, size_t errlen);

#endif
