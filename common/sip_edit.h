/*
 * sip_edit: changes a parsed message without reparsing it. Edits are
 * recorded against the original buffer (remove/replace a header line,
 * insert lines before a header or at the top/bottom of the header block,
 * replace the Request-URI or the body) and sip_edit_render() writes the
 * result once, fixing Content-Length. The editor, its lines and the output
 * live in the arena given to sip_edit_init().
 *
 * sip_build_response() makes a response to a request per RFC 3261 §8.2.6
 * (Via, From, To (+tag), Call-ID, CSeq copied; Content-Length: 0).
 */
#ifndef PC_SIP_EDIT_H
#define PC_SIP_EDIT_H

#include <stdint.h>

#include "arena.h"
#include "sip_msg.h"
#include "slice.h"

#define SIP_EDIT_MAX_OPS 64

struct sip_edit_op;

struct sip_edit {
	const struct sip_msg *m;
	struct arena *a;
	struct sip_edit_op *ops;
	uint16_t nops;
	bool failed; /* an op did not fit (too many, arena full) */
	struct slice new_ruri;
	bool has_new_ruri;
	struct slice new_body;
	struct slice new_ctype;
	bool has_new_body;
};

void sip_edit_init(
    struct sip_edit *e, const struct sip_msg *m, struct arena *a);
/* Removes header line idx (index into m->hdrs). */
int sip_edit_remove(struct sip_edit *e, uint16_t idx);
/* Replaces the value of header line idx, keeping its name. */
int sip_edit_replace(struct sip_edit *e, uint16_t idx, struct slice value);
/* Inserts "name: value" before header line idx. */
int sip_edit_insert_before(
    struct sip_edit *e, uint16_t idx, const char *name, struct slice value);
/* Inserts as the first header line (e.g. a new top Via or Record-Route). */
int sip_edit_prepend(struct sip_edit *e, const char *name, struct slice value);
/* Inserts as the last header line. */
int sip_edit_append(struct sip_edit *e, const char *name, struct slice value);
/* Removes every line of a header id. */
int sip_edit_remove_all(struct sip_edit *e, enum sip_hdr_id id);
int sip_edit_set_ruri(struct sip_edit *e, struct slice ruri);
/* Replaces the body; content_type empty = remove Content-Type when the
 * body is empty, keep it otherwise. */
int sip_edit_set_body(
    struct sip_edit *e, struct slice body, struct slice content_type);
/* Renders into the arena; returns the new message, or an empty slice if
 * an op failed or the result passes SIP_MAX_MSG_SIZE. */
struct slice sip_edit_render(struct sip_edit *e);

/*
 * Builds a response to req. to_tag is added to To when To has no tag and
 * code > 100 (may be empty). extra_headers is inserted verbatim before
 * Content-Length ("Name: value\r\n" lines, may be empty). The result is in
 * the arena; an empty slice on failure.
 */
struct slice sip_build_response(struct sip_msg *req, int code,
    const char *reason, struct slice to_tag, struct slice extra_headers,
    struct arena *a);

/* Generates a random token of len chars [a-zA-Z0-9] (tags, branches) from
 * getrandom(); writes exactly len bytes, no NUL. */
void sip_random_token(char *out, size_t len);

#endif
