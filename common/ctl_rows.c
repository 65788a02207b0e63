/*
 * ctl_rows: a self-describing record format small enough to build without
 * allocation on the ctl socket and strict enough to read safely: every
 * field states its length, and the reader rejects anything it cannot
 * account for rather than guessing.
 */
#include "config.h"

#include "ctl_rows.h"

#include <string.h>

#define CTL_FIELD_HDR 4

void
ctl_rows_init(struct ctl_rows *r, void *buf, size_t cap)
{
	r->buf = buf;
	r->cap = cap;
	r->len = 0;
	r->overflow = false;
}

static void
put_field(struct ctl_rows *r, enum ctl_type type, const char *name,
    const void *val, size_t vlen)
{
	if (r->overflow)
		return;
	size_t nlen = name ? strlen(name) : 0;
	if (nlen > UINT8_MAX || vlen > UINT16_MAX ||
	    r->cap - r->len < CTL_FIELD_HDR + nlen + vlen) {
		r->overflow = true;
		return;
	}
	uint8_t *p = r->buf + r->len;
	p[0] = (uint8_t)type;
	p[1] = (uint8_t)nlen;
	p[2] = (uint8_t)(vlen & 0xff);
	p[3] = (uint8_t)(vlen >> 8);
	if (nlen)
		memcpy(p + CTL_FIELD_HDR, name, nlen);
	if (vlen)
		memcpy(p + CTL_FIELD_HDR + nlen, val, vlen);
	r->len += CTL_FIELD_HDR + nlen + vlen;
}

static void
put_le64(uint8_t *d, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		d[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_le64(const uint8_t *s)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)s[i] << (8 * i);
	return v;
}

void
ctl_rows_str(struct ctl_rows *r, const char *name, const char *val)
{
	ctl_rows_strn(r, name, val, val ? strlen(val) : 0);
}

void
ctl_rows_strn(struct ctl_rows *r, const char *name, const char *val, size_t len)
{
	put_field(r, CTL_T_STR, name, val, len);
}

void
ctl_rows_u64(struct ctl_rows *r, const char *name, uint64_t val)
{
	uint8_t b[8];
	put_le64(b, val);
	put_field(r, CTL_T_U64, name, b, sizeof b);
}

void
ctl_rows_i64(struct ctl_rows *r, const char *name, int64_t val)
{
	uint8_t b[8];
	put_le64(b, (uint64_t)val);
	put_field(r, CTL_T_I64, name, b, sizeof b);
}

void
ctl_rows_bool(struct ctl_rows *r, const char *name, bool val)
{
	uint8_t b = val ? 1 : 0;
	put_field(r, CTL_T_BOOL, name, &b, 1);
}

void
ctl_rows_end_row(struct ctl_rows *r)
{
	put_field(r, CTL_T_END, NULL, NULL, 0);
}

void
ctl_reader_init(struct ctl_reader *rd, const void *buf, size_t len)
{
	rd->p = buf;
	rd->left = buf ? len : 0;
	rd->failed = false;
}

static int
reader_fail(struct ctl_reader *rd)
{
	rd->failed = true;
	return -1;
}

int
ctl_reader_next(struct ctl_reader *rd, struct ctl_field *f)
{
	if (rd->failed)
		return -1;
	if (rd->left == 0)
		return 0;
	if (rd->left < CTL_FIELD_HDR)
		return reader_fail(rd);
	uint8_t type = rd->p[0];
	size_t nlen = rd->p[1];
	size_t vlen = (size_t)rd->p[2] | (size_t)rd->p[3] << 8;
	if (rd->left - CTL_FIELD_HDR < nlen + vlen)
		return reader_fail(rd);
	const uint8_t *name = rd->p + CTL_FIELD_HDR;
	const uint8_t *val = name + nlen;
	memset(f, 0, sizeof *f);
	switch (type) {
	case CTL_T_END:
		if (nlen || vlen)
			return reader_fail(rd);
		break;
	case CTL_T_STR:
		if (nlen == 0)
			return reader_fail(rd);
		f->str = slice_make((const char *)val, (uint32_t)vlen);
		break;
	case CTL_T_U64:
	case CTL_T_I64:
		if (nlen == 0 || vlen != 8)
			return reader_fail(rd);
		f->u64 = get_le64(val);
		f->i64 = (int64_t)f->u64;
		break;
	case CTL_T_BOOL:
		if (nlen == 0 || vlen != 1 || val[0] > 1)
			return reader_fail(rd);
		f->u64 = val[0];
		break;
	default:
		return reader_fail(rd);
	}
	f->type = (enum ctl_type)type;
	f->name = slice_make((const char *)name, (uint32_t)nlen);
	rd->p += CTL_FIELD_HDR + nlen + vlen;
	rd->left -= CTL_FIELD_HDR + nlen + vlen;
	return 1;
}

/* The named field of the first row; false if absent or malformed. */
static bool
find_field(const void *buf, size_t len, const char *name, struct ctl_field *f)
{
	struct ctl_reader rd;
	ctl_reader_init(&rd, buf, len);
	while (ctl_reader_next(&rd, f) == 1) {
		if (f->type == CTL_T_END)
			return false;
		if (slice_eq_cstr(f->name, name))
			return true;
	}
	return false;
}

bool
ctl_rows_get_str(
    const void *buf, size_t len, const char *name, struct slice *out)
{
	struct ctl_field f;
	if (!find_field(buf, len, name, &f) || f.type != CTL_T_STR)
		return false;
	*out = f.str;
	return true;
}

bool
ctl_rows_get_u64(const void *buf, size_t len, const char *name, uint64_t *out)
{
	struct ctl_field f;
	if (!find_field(buf, len, name, &f))
		return false;
	if (f.type == CTL_T_U64 || f.type == CTL_T_BOOL ||
	    (f.type == CTL_T_I64 && f.i64 >= 0)) {
		*out = f.u64;
		return true;
	}
	return false;
}
