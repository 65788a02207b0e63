/*
 * ctl_rows: the compact record format carried in ctl requests and replies
 * between portcullisd and its children (rows of named, typed fields).
 * portcullisd turns rows into JSON for the management socket; the internal
 * sockets stay binary. The builder writes into a caller-owned buffer; the
 * reader points into the buffer it was given.
 *
 * Wire form, repeated: u8 type, u8 name_len, u16 value_len, name, value.
 * A CTL_T_END field (no name, no value) closes each row.
 */
#ifndef PC_CTL_ROWS_H
#define PC_CTL_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slice.h"

enum ctl_type {
	CTL_T_END = 0,
	CTL_T_STR = 1,
	CTL_T_U64 = 2, /* 8 bytes, little endian */
	CTL_T_I64 = 3, /* 8 bytes, little endian */
	CTL_T_BOOL = 4, /* 1 byte */
};

struct ctl_rows {
	uint8_t *buf;
	size_t cap, len;
	bool overflow; /* a field did not fit; the builder stops adding */
};

void ctl_rows_init(struct ctl_rows *r, void *buf, size_t cap);
void ctl_rows_str(struct ctl_rows *r, const char *name, const char *val);
void ctl_rows_strn(
    struct ctl_rows *r, const char *name, const char *val, size_t len);
void ctl_rows_u64(struct ctl_rows *r, const char *name, uint64_t val);
void ctl_rows_i64(struct ctl_rows *r, const char *name, int64_t val);
void ctl_rows_bool(struct ctl_rows *r, const char *name, bool val);
void ctl_rows_end_row(struct ctl_rows *r);

struct ctl_field {
	enum ctl_type type;
	struct slice name;
	struct slice str; /* CTL_T_STR */
	uint64_t u64; /* CTL_T_U64, CTL_T_BOOL */
	int64_t i64; /* CTL_T_I64 */
};

struct ctl_reader {
	const uint8_t *p;
	size_t left;
	bool failed; /* malformed input */
};

void ctl_reader_init(struct ctl_reader *rd, const void *buf, size_t len);
/* 1 = a field (CTL_T_END marks end of a row), 0 = end of buffer, -1 =
 * malformed. */
int ctl_reader_next(struct ctl_reader *rd, struct ctl_field *f);
/* Looks up a string / number argument in a one-row buffer. */
bool ctl_rows_get_str(
    const void *buf, size_t len, const char *name, struct slice *out);
bool ctl_rows_get_u64(
    const void *buf, size_t len, const char *name, uint64_t *out);

#endif
