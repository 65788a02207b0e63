/*
 * conf_pos: where each value of a JSON text is, by key path ("listen[1].port"),
 * because jansson keeps no positions. conf scans the text once, and only when
 * it has errors to report. The index owns its path strings (conf_pos_free).
 */
#ifndef PC_CONF_POS_H
#define PC_CONF_POS_H

#include <stdbool.h>
#include <stddef.h>

/* Longest key path kept; longer ones are not indexed (lookups then fall
 * back to an ancestor). */
#define CONF_PATH_MAX 512

struct conf_pos_entry {
	char *path;
	unsigned key_line, key_col; /* the key (or the element for arrays) */
	unsigned line, col; /* the value */
};

struct conf_pos {
	struct conf_pos_entry *v;
	size_t n, cap;
};

/* Indexes every value of text; -1 if the text is not well-formed JSON
 * (what was indexed up to the fault stays usable). */
int conf_pos_scan(struct conf_pos *p, const char *text, size_t len);
/* Position of path's value (or of its key when is_key), falling back to
 * the nearest indexed ancestor; false if not even the root is known. */
bool conf_pos_find(const struct conf_pos *p, const char *path, bool is_key,
    unsigned *line, unsigned *col);
void conf_pos_free(struct conf_pos *p);

/* The path spelling shared by conf and conf_pos: parent.key and
 * parent[index]; the root is "". false if the result would not fit. */
bool conf_path_key(
    char *dst, size_t cap, const char *parent, const char *key, size_t keylen);
bool conf_path_index(char *dst, size_t cap, const char *parent, size_t index);

#endif
