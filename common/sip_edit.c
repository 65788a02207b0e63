/*
 * sip_edit: edits are recorded as operations against the parsed message's
 * header index and applied in one rendering pass, so a proxy adding a Via
 * and a Record-Route and removing a Route copies the message once. Lines
 * that are not touched are copied as written (compact forms, folding).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "sip_edit.h"
#include "wbuf.h"

enum op_kind {
	OP_REMOVE,
	OP_REPLACE,
	OP_INSERT_BEFORE,
	OP_PREPEND,
	OP_APPEND,
};

struct sip_edit_op {
	enum op_kind kind;
	uint16_t idx;
	struct slice name; /* inserts: the header name */
	struct slice value; /* inserts and replace */
};

void
sip_edit_init(struct sip_edit *e, const struct sip_msg *m, struct arena *a)
{
	memset(e, 0, sizeof *e);
	e->m = m;
	e->a = a;
	e->ops = arena_alloc(a, sizeof(struct sip_edit_op) * SIP_EDIT_MAX_OPS);
	if (e->ops == NULL)
		e->failed = true;
}

static int
add_op(struct sip_edit *e, enum op_kind kind, uint16_t idx, struct slice name,
    struct slice value)
{
	if (e->failed || e->nops >= SIP_EDIT_MAX_OPS) {
		e->failed = true;
		return -1;
	}
	if ((kind == OP_REMOVE || kind == OP_REPLACE ||
	        kind == OP_INSERT_BEFORE) &&
	    idx >= e->m->nhdrs) {
		e->failed = true;
		return -1;
	}
	/* A CR or LF in an inserted value would inject header lines. */
	if (memchr(name.p ? name.p : "", '\r', name.len) != NULL ||
	    memchr(name.p ? name.p : "", '\n', name.len) != NULL ||
	    memchr(name.p ? name.p : "", ':', name.len) != NULL ||
	    (value.len > 0 &&
	        (memchr(value.p, '\r', value.len) != NULL ||
	            memchr(value.p, '\n', value.len) != NULL))) {
		e->failed = true;
		return -1;
	}
	struct sip_edit_op *op = &e->ops[e->nops++];
	op->kind = kind;
	op->idx = idx;
	op->name = name;
	op->value = value;
	return 0;
}

int
sip_edit_remove(struct sip_edit *e, uint16_t idx)
{
	return add_op(e, OP_REMOVE, idx, SLICE_NULL, SLICE_NULL);
}

int
sip_edit_replace(struct sip_edit *e, uint16_t idx, struct slice value)
{
	return add_op(e, OP_REPLACE, idx, SLICE_NULL, value);
}

int
sip_edit_insert_before(
    struct sip_edit *e, uint16_t idx, const char *name, struct slice value)
{
	return add_op(e, OP_INSERT_BEFORE, idx, slice_cstr(name), value);
}

int
sip_edit_prepend(struct sip_edit *e, const char *name, struct slice value)
{
	return add_op(e, OP_PREPEND, 0, slice_cstr(name), value);
}

int
sip_edit_append(struct sip_edit *e, const char *name, struct slice value)
{
	return add_op(e, OP_APPEND, 0, slice_cstr(name), value);
}

int
sip_edit_remove_all(struct sip_edit *e, enum sip_hdr_id id)
{
	for (int i = e->m->first[id]; i >= 0; i = sip_msg_hdr_next(e->m, i))
		if (sip_edit_remove(e, (uint16_t)i) < 0)
			return -1;
	return 0;
}

int
sip_edit_set_ruri(struct sip_edit *e, struct slice ruri)
{
	if (!e->m->is_request || ruri.len == 0 ||
	    memchr(ruri.p, ' ', ruri.len) != NULL ||
	    memchr(ruri.p, '\r', ruri.len) != NULL ||
	    memchr(ruri.p, '\n', ruri.len) != NULL) {
		e->failed = true;
		return -1;
	}
	e->new_ruri = ruri;
	e->has_new_ruri = true;
	return 0;
}

int
sip_edit_set_body(
    struct sip_edit *e, struct slice body, struct slice content_type)
{
	if (content_type.len > 0 &&
	    (memchr(content_type.p, '\r', content_type.len) != NULL ||
	        memchr(content_type.p, '\n', content_type.len) != NULL)) {
		e->failed = true;
		return -1;
	}
	e->new_body = body;
	e->new_ctype = content_type;
	e->has_new_body = true;
	return 0;
}

/* Output that first counts (p == NULL), then writes. */
static void
put_line(struct wbuf *w, struct slice name, struct slice value)
{
	put_sl(w, name);
	put(w, ": ", 2);
	put_sl(w, value);
	put(w, "\r\n", 2);
}

static uint32_t
start_line_off(const struct sip_msg *m)
{
	uint32_t p = 0;
	while (p < m->len && (m->buf[p] == '\r' || m->buf[p] == '\n'))
		p++;
	return p;
}

static void
render(const struct sip_edit *e, struct wbuf *w)
{
	const struct sip_msg *m = e->m;
	uint8_t removed[SIP_MAX_HEADERS] = {0};
	const struct sip_edit_op *replaced[SIP_MAX_HEADERS] = {0};
	for (uint16_t k = 0; k < e->nops; k++) {
		const struct sip_edit_op *op = &e->ops[k];
		if (op->kind == OP_REMOVE)
			removed[op->idx] = 1;
		else if (op->kind == OP_REPLACE)
			replaced[op->idx] = op;
	}
	uint32_t sl = start_line_off(m);
	uint32_t hs = m->nhdrs > 0 ? m->hdrs[0].line_off : m->hdr_end;
	if (e->has_new_ruri) {
		put_sl(w, m->method_name);
		put(w, " ", 1);
		put_sl(w, e->new_ruri);
		put(w, " ", 1);
		put_sl(w, m->version);
		put(w, "\r\n", 2);
	} else {
		put(w, m->buf + sl, hs - sl);
	}
	for (int k = e->nops - 1; k >= 0; k--)
		if (e->ops[k].kind == OP_PREPEND)
			put_line(w, e->ops[k].name, e->ops[k].value);

	struct slice body = e->has_new_body ? e->new_body : m->body;
	bool cl_done = false, ct_done = false;
	for (uint16_t i = 0; i < m->nhdrs; i++) {
		const struct sip_hdr *h = &m->hdrs[i];
		for (uint16_t k = 0; k < e->nops; k++)
			if (e->ops[k].kind == OP_INSERT_BEFORE &&
			    e->ops[k].idx == i)
				put_line(w, e->ops[k].name, e->ops[k].value);
		if (h->id == SIP_HDR_CONTENT_LENGTH) {
			if (!cl_done) {
				put_str(w, "Content-Length: ");
				put_u32(w, body.len);
				put(w, "\r\n", 2);
				cl_done = true;
			}
			continue;
		}
		if (h->id == SIP_HDR_CONTENT_TYPE && e->has_new_body) {
			if (e->new_ctype.len > 0) {
				if (!ct_done)
					put_line(w, SLICE_LIT("Content-Type"),
					    e->new_ctype);
				ct_done = true;
				continue;
			}
			if (body.len == 0)
				continue;
		}
		if (removed[i])
			continue;
		if (replaced[i] != NULL)
			put_line(w, h->name, replaced[i]->value);
		else
			put(w, m->buf + h->line_off, h->line_len);
	}
	for (uint16_t k = 0; k < e->nops; k++)
		if (e->ops[k].kind == OP_APPEND)
			put_line(w, e->ops[k].name, e->ops[k].value);
	if (e->has_new_body && e->new_ctype.len > 0 && !ct_done)
		put_line(w, SLICE_LIT("Content-Type"), e->new_ctype);
	if (!cl_done) {
		put_str(w, "Content-Length: ");
		put_u32(w, body.len);
		put(w, "\r\n", 2);
	}
	put(w, "\r\n", 2);
	put_sl(w, body);
}

struct slice
sip_edit_render(struct sip_edit *e)
{
	if (e->failed)
		return SLICE_NULL;
	struct wbuf w = {NULL, 0, 0};
	render(e, &w);
	if (w.n > SIP_MAX_MSG_SIZE)
		return SLICE_NULL;
	char *out = arena_alloc(e->a, w.n + 1);
	if (out == NULL)
		return SLICE_NULL;
	size_t n = w.n;
	w.p = out;
	w.n = 0;
	render(e, &w);
	out[n] = '\0';
	return slice_make(out, (uint32_t)n);
}

/* ---- responses --------------------------------------------------------- */

static void
put_hdr_lines(struct wbuf *w, struct sip_msg *req, enum sip_hdr_id id)
{
	for (int i = req->first[id]; i >= 0; i = sip_msg_hdr_next(req, i)) {
		const struct sip_hdr *h = &req->hdrs[i];
		put(w, req->buf + h->line_off, h->line_len);
		/* A last line ended by a bare LF is completed to CRLF. */
		if (h->line_len < 2 ||
		    req->buf[h->line_off + h->line_len - 2] != '\r') {
			w->n--;
			put(w, "\r\n", 2);
		}
	}
}

static void
build_response(struct wbuf *w, struct sip_msg *req, int code,
    const char *reason, struct slice to_tag, struct slice extra)
{
	put_str(w, "SIP/2.0 ");
	put_u32(w, (uint32_t)code);
	put(w, " ", 1);
	put_str(w, reason);
	put(w, "\r\n", 2);
	put_hdr_lines(w, req, SIP_HDR_VIA);
	put_hdr_lines(w, req, SIP_HDR_FROM);
	int ti = req->first[SIP_HDR_TO];
	if (ti >= 0) {
		struct sip_err e;
		const struct sip_nameaddr *to = sip_msg_to(req, &e);
		if (code > 100 && to_tag.len > 0 && to != NULL &&
		    to->tag.len == 0) {
			put_line(w, req->hdrs[ti].name, req->hdrs[ti].value);
			w->n -= 2;
			put_str(w, ";tag=");
			put_sl(w, to_tag);
			put(w, "\r\n", 2);
		} else {
			put_line(w, req->hdrs[ti].name, req->hdrs[ti].value);
		}
	}
	put_hdr_lines(w, req, SIP_HDR_CALL_ID);
	put_hdr_lines(w, req, SIP_HDR_CSEQ);
	if (code == 100)
		put_hdr_lines(w, req, SIP_HDR_TIMESTAMP);
	put_sl(w, extra);
	put_str(w, "Content-Length: 0\r\n\r\n");
}

struct slice
sip_build_response(struct sip_msg *req, int code, const char *reason,
    struct slice to_tag, struct slice extra_headers, struct arena *a)
{
	if (!req->is_request || code < 100 || code > 699)
		return SLICE_NULL;
	if (reason == NULL || reason[0] == '\0')
		reason = sip_reason_phrase(code);
	if (strpbrk(reason, "\r\n") != NULL)
		return SLICE_NULL;
	for (uint32_t i = 0; i < to_tag.len; i++) {
		char c = to_tag.p[i];
		if (c == '\r' || c == '\n' || c == ';' || c == ' ' || c == ',')
			return SLICE_NULL;
	}
	struct wbuf w = {NULL, 0, 0};
	build_response(&w, req, code, reason, to_tag, extra_headers);
	if (w.n > SIP_MAX_MSG_SIZE)
		return SLICE_NULL;
	char *out = arena_alloc(a, w.n + 1);
	if (out == NULL)
		return SLICE_NULL;
	size_t n = w.n;
	w.p = out;
	w.n = 0;
	build_response(&w, req, code, reason, to_tag, extra_headers);
	out[n] = '\0';
	return slice_make(out, (uint32_t)n);
}

/*
 * Random bytes for tags and branches, drawn from a per-thread pool that
 * one getrandom() call refills: a syscall per tag cost more than the rest
 * of building one. The pool is emptied in a forked child, so parent and
 * child never hand out the same bytes, and each byte is wiped once used.
 */
#define RND_POOL 4096

static __thread unsigned char rnd_pool[RND_POOL];
static __thread size_t rnd_used = RND_POOL;
static bool rnd_atfork;

static void
rnd_forget(void)
{
	explicit_bzero(rnd_pool, sizeof rnd_pool);
	rnd_used = RND_POOL;
}

static unsigned char
rnd_byte(void)
{
	if (rnd_used == RND_POOL) {
		if (!rnd_atfork && pthread_atfork(NULL, NULL, rnd_forget) == 0)
			rnd_atfork = true;
		size_t have = 0;
		while (have < RND_POOL) {
			ssize_t r =
			    getrandom(rnd_pool + have, RND_POOL - have, 0);
			if (r <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				/* getrandom cannot fail after boot once the
				 * pool is ready; never hand out a weak tag. */
				abort();
			}
			have += (size_t)r;
		}
		rnd_used = 0;
	}
	unsigned char b = rnd_pool[rnd_used];
	rnd_pool[rnd_used++] = 0;
	return b;
}

void
sip_random_token(char *out, size_t len)
{
	static const char set[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	size_t o = 0;
	while (o < len) {
		unsigned char b = rnd_byte();
		/* 248 = 4 * 62: reject the rest so every char is uniform. */
		if (b < 248)
			out[o++] = set[b % 62];
	}
}
