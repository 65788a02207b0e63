/*
 * conf: binds a JSON configuration file to C structs through field tables.
 * One table per object: {key, type, offset, default, min, max, check, doc}
 * drives defaults, validation and the generated reference documentation,
 * so the three never drift (STYLE.md). Every problem in a file is
 * collected as "file:line:column: key.path: problem" before the load
 * fails. Strings and arrays are heap-allocated and released by conf_free().
 */
#ifndef PC_CONF_H
#define PC_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum conf_type {
	CONF_BOOL, /* bool */
	CONF_INT, /* int64_t, min..max */
	CONF_UINT, /* uint32_t, min..max */
	CONF_STR, /* char * (NULL if default is null) */
	CONF_ENUM, /* int: index into enum_names */
	CONF_STR_ARRAY, /* char ** + size_t count at count_offset */
	CONF_PORT_RANGE, /* uint16_t[2] from [lo, hi] */
	CONF_ADDR, /* char *: must be an IPv4/IPv6 literal */
	CONF_CIDR_ARRAY, /* char ** + count: CIDR strings, validated */
	CONF_OBJECT, /* nested struct at offset, described by sub */
	CONF_OBJ_ARRAY, /* void * array of sub->size elements + count */
	CONF_INLINE, /* sub's keys bound at this JSON level into the
			   struct at offset (a component's root sections) */
};

struct conf_table;

/* Extra validation of one bound value; returns NULL or a problem text
 * (static or written into buf). */
typedef const char *(*conf_check_fn)(
    const void *field_ptr, char *buf, size_t cap);

struct conf_field {
	const char *key;
	enum conf_type type;
	size_t offset;
	const char *def; /* default as JSON text ("5060", "\"udp\"", "[]") */
	int64_t min, max; /* CONF_INT/UINT (and array length bounds) */
	const char *const *enum_names; /* CONF_ENUM: NULL-terminated */
	const struct conf_table *sub; /* CONF_OBJECT / CONF_OBJ_ARRAY */
	size_t count_offset; /* arrays: size_t element count */
	conf_check_fn check;
	const char *doc; /* one sentence for portcullis.json(5) */
};

struct conf_table {
	const char *name; /* section name for docs */
	const struct conf_field *fields;
	size_t nfields;
	size_t size; /* sizeof the struct it binds (for arrays) */
	/* Cross-field validation of the whole object after binding. */
	const char *(*check)(const void *obj, char *buf, size_t cap);
};

#define CONF_MAX_ERRORS 64

struct conf_errors {
	char *msg[CONF_MAX_ERRORS];
	size_t n;
	size_t dropped; /* errors past CONF_MAX_ERRORS */
};

/* Loads path into out (zeroed first, then defaults, then the file).
 * Returns 0, or -1 with every problem in errs (which is reset first; out
 * is left zeroed). */
int conf_load_file(const char *path, const struct conf_table *root, void *out,
    struct conf_errors *errs);
/* Same from text; name is used in messages in place of a file name. */
int conf_load_string(const char *text, size_t len, const char *name,
    const struct conf_table *root, void *out, struct conf_errors *errs);
void conf_free(const struct conf_table *root, void *obj);
void conf_errors_print(const struct conf_errors *errs, FILE *out);
void conf_errors_free(struct conf_errors *errs);

/* The effective configuration as JSON text (malloc'd), for config.show;
 * CONF_STR fields whose key ends in "password" or "secret" are masked. */
char *conf_dump_json(const struct conf_table *root, const void *obj);

/* Writes the reference documentation of a table (roff for man pages when
 * roff is true, else Markdown): one subsection (.SS / "##") per object,
 * under a section heading the caller writes. */
void conf_write_doc(const struct conf_table *root, bool roff, FILE *out);

/* Whether s is a DNS host name (RFC 1123 labels of letters, digits, '-'
 * and '_', 1-63 long, no label beginning or ending with '-'; at most 253
 * characters); a final '.' (fully qualified form) only if trailing_dot. */
bool conf_host_name_valid(const char *s, bool trailing_dot);

#endif
