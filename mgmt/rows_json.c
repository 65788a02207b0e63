/*
 * The JSON side cannot represent everything ctl_rows can (u64 past
 * INT64_MAX, non-UTF-8 strings), so those are converted lossily but
 * safely: large numbers become reals, bad bytes become '?'.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "mgmt_req.h"
#include "rows_json.h"

static json_t *
field_value(const struct ctl_field *f)
{
	switch (f->type) {
	case CTL_T_STR:
		return mgmt_json_string(f->str.p, f->str.len);
	case CTL_T_U64:
		if (f->u64 > (uint64_t)INT64_MAX)
			return json_real((double)f->u64);
		return json_integer((json_int_t)f->u64);
	case CTL_T_I64:
		return json_integer((json_int_t)f->i64);
	case CTL_T_BOOL:
		return json_boolean(f->u64 != 0);
	default:
		return json_null();
	}
}

/* Names are copied through a bounded buffer: jansson needs NUL-terminated
 * keys, and a slice must never have a NUL written into it. */
static int
add_field(json_t *obj, const struct ctl_field *f)
{
	char name[256];
	size_t n =
	    f->name.len < sizeof(name) - 1 ? f->name.len : sizeof(name) - 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)f->name.p[i];
		name[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	name[n] = '\0';
	json_t *v = field_value(f);
	if (v == NULL)
		return -1;
	return json_object_set_new(obj, name, v);
}

json_t *
rows_json_array(const void *buf, size_t len)
{
	json_t *arr = json_array();
	json_t *row = NULL;
	struct ctl_reader rd;
	struct ctl_field f;
	int r;

	if (arr == NULL)
		return NULL;
	ctl_reader_init(&rd, buf, len);
	while ((r = ctl_reader_next(&rd, &f)) == 1) {
		if (f.type == CTL_T_END) {
			json_array_append_new(
			    arr, row != NULL ? row : json_object());
			row = NULL;
			continue;
		}
		if (row == NULL && (row = json_object()) == NULL)
			goto fail;
		if (add_field(row, &f) < 0)
			goto fail;
	}
	if (r < 0)
		goto fail;
	/* A last row without its END marker still counts. */
	if (row != NULL)
		json_array_append_new(arr, row);
	return arr;
fail:
	json_decref(row);
	json_decref(arr);
	return NULL;
}

json_t *
rows_json_object(const void *buf, size_t len)
{
	json_t *arr = rows_json_array(buf, len);
	if (arr == NULL)
		return NULL;
	json_t *first = json_array_get(arr, 0);
	json_t *res = first != NULL ? json_incref(first) : json_object();
	json_decref(arr);
	return res;
}

int
rows_json_args(
    const json_t *args, struct ctl_rows *out, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	if (!json_is_object(args)) {
		snprintf(err, errlen, "args must be an object");
		return -1;
	}
	json_object_foreach((json_t *)args, key, v)
	{
		size_t klen = strlen(key);
		if (klen == 0 || klen > 255) {
			snprintf(err, errlen,
			    "argument names must be 1-255 bytes long");
			return -1;
		}
		switch (json_typeof(v)) {
		case JSON_STRING:
			if (json_string_length(v) > 65535) {
				snprintf(err, errlen,
				    "argument \"%.40s\" is too long", key);
				return -1;
			}
			ctl_rows_strn(out, key, json_string_value(v),
			    json_string_length(v));
			break;
		case JSON_INTEGER: {
			json_int_t i = json_integer_value(v);
			if (i >= 0)
				ctl_rows_u64(out, key, (uint64_t)i);
			else
				ctl_rows_i64(out, key, (int64_t)i);
			break;
		}
		case JSON_TRUE:
		case JSON_FALSE:
			ctl_rows_bool(out, key, json_is_true(v));
			break;
		case JSON_NULL:
			break;
		default:
			snprintf(err, errlen,
			    "argument \"%.40s\" must be a string, integer or "
			    "boolean",
			    key);
			return -1;
		}
	}
	ctl_rows_end_row(out);
	if (out->overflow) {
		snprintf(err, errlen, "arguments too large");
		return -1;
	}
	return 0;
}
