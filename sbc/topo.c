/*
 * Topology hiding by sealed tokens. Token plaintexts:
 *   'V' (Via param pcv):   the Via values of the request, '\n'-separated
 *   'R' (Route user part): 'F' or 'B' then the Record-Route values,
 *                          '\n'-separated; 'B' (made in a response) means
 *                          the UAC will send them back reversed as Route
 *   'C' (Contact user):    the hidden party's Contact URI
 *   'I' (Call-ID "pci-"):  the Call-ID, when hide_call_id is on
 * A Via keeps core's branch, so a CANCEL core sends matches its INVITE at
 * the far UA (RFC 3261 §9.1) although the tokens differ.
 */
#include <string.h>

#include "hdrtext.h"
#include "ipc_msgs.h"
#include "topo.h"
#include "toprow.h"
#include "wbuf.h"

#define TOKEN_BUF (TOKEN_TEXT_LEN(TOKEN_MAX_PLAIN) + 1)

static const char *
tp_name(uint8_t tp, bool upper)
{
	switch (tp) {
	case IPC_TP_TCP:
		return upper ? "TCP" : "tcp";
	case IPC_TP_TLS:
		return upper ? "TLS" : "tls";
	case IPC_TP_WS:
		return upper ? "WS" : "ws";
	case IPC_TP_WSS:
		return upper ? "WSS" : "wss";
	default:
		return upper ? "UDP" : "udp";
	}
}

/* Values of every line of header id, unfolded, '\n'-joined. */
static struct slice
collect(struct sip_msg *m, enum sip_hdr_id id, char prefix)
{
	struct slice parts[SIP_MAX_HEADERS + 1];
	size_t n = 0;
	if (prefix != 0) {
		char *p = arena_alloc(m->arena, 1);
		if (p == NULL)
			return SLICE_NULL;
		*p = prefix;
		parts[n++] = slice_make(p, 1);
	}
	for (int i = m->first[id]; i >= 0; i = sip_msg_hdr_next(m, i)) {
		struct slice v = hdrtext_unfold(m->arena, m->hdrs[i].value);
		if (v.p == NULL)
			return SLICE_NULL;
		parts[n++] = v;
	}
	if (prefix != 0 && n > 1) {
		/* prefix glued to the first value */
		struct slice first[2] = {parts[0], parts[1]};
		parts[1] = hdrtext_join(m->arena, first, 2, "");
		return hdrtext_join(m->arena, parts + 1, n - 1, "\n");
	}
	return hdrtext_join(m->arena, parts, n, "\n");
}

static struct slice
seal(const struct topo *t, struct arena *a, char purpose, struct slice pt)
{
	char *buf = arena_alloc(a, TOKEN_BUF);
	if (buf == NULL)
		return SLICE_NULL;
	int n;
	if (t->rows != NULL && t->max_token != 0 &&
	    TOKEN_TEXT_LEN(pt.len) > t->max_token) {
		/* Too long for real phones: the text stays in a row and the
		 * token (lower-case purpose) names the row. */
		uint8_t id[TOPROW_ID_LEN];
		if (toprow_put(t->rows, pt, id, t->now_ms) != 0)
			return SLICE_NULL;
		n = token_seal(t->keys, (char)(purpose | 0x20), id, sizeof id,
		    buf, TOKEN_BUF);
	} else {
		n = token_seal(t->keys, purpose, pt.p, pt.len, buf, TOKEN_BUF);
	}
	if (n < 0)
		return SLICE_NULL;
	return slice_make(buf, (uint32_t)n);
}

static struct slice
open_tok(const struct topo *t, struct arena *a, char purpose, struct slice tok)
{
	if (tok.len < TOKEN_TEXT_LEN(0) || tok.len > TOKEN_BUF)
		return SLICE_NULL;
	char *buf = arena_alloc(a, TOKEN_MAX_PLAIN + 1);
	if (buf == NULL)
		return SLICE_NULL;
	int n =
	    token_open(t->keys, purpose, tok.p, tok.len, buf, TOKEN_MAX_PLAIN);
	if (n < 0 && t->rows != NULL) {
		uint8_t id[TOPROW_ID_LEN];
		if (token_open(t->keys, (char)(purpose | 0x20), tok.p, tok.len,
		        id, sizeof id) != (int)sizeof id)
			return SLICE_NULL;
		struct slice row = toprow_get(t->rows, id, t->now_ms);
		if (row.p == NULL || row.len > TOKEN_MAX_PLAIN)
			return SLICE_NULL; /* expired or from another edge */
		memcpy(buf, row.p, row.len);
		n = (int)row.len;
	}
	if (n < 0)
		return SLICE_NULL;
	buf[n] = '\0';
	/* Restored text goes into header lines: it must be one line. */
	if (memchr(buf, '\r', (size_t)n) != NULL)
		return SLICE_NULL;
	return slice_make(buf, (uint32_t)n);
}

/* "<sip:TOKEN@host:port;transport=x;lr>" (lr only for routes). The self
 * URIs and the Via are written for most messages: direct writes into a
 * buffer sized beforehand, not printf, whose format parsing cost more. */
static struct slice
self_uri(
    struct arena *a, const struct topo_self *self, struct slice tok, bool lr)
{
	const char *tp = self->transport == IPC_TP_UDP
	    ? NULL
	    : tp_name(self->transport, false);
	size_t hl = strlen(self->host);
	char *buf = arena_alloc(a, tok.len + hl + 48);
	if (buf == NULL)
		return SLICE_NULL;
	struct wbuf o = {buf, 0, 0};
	put(&o, "<sip:", 5);
	put(&o, tok.p, tok.len);
	put(&o, "@", 1);
	put(&o, self->host, hl);
	put(&o, ":", 1);
	put_u32(&o, self->port);
	if (tp != NULL) {
		put(&o, ";transport=", 11);
		put_str(&o, tp);
	}
	if (lr)
		put(&o, ";lr", 3);
	put(&o, ">", 1);
	buf[o.n] = '\0';
	return slice_make(buf, (uint32_t)o.n);
}

static int
hide_vias(const struct topo *t, struct sip_msg *m, struct sip_edit *ed,
    const struct topo_self *self)
{
	struct sip_err err;
	const struct sip_via *top = sip_msg_top_via(m, &err);
	if (top == NULL)
		return -1;
	struct slice stack = collect(m, SIP_HDR_VIA, 0);
	if (stack.p == NULL)
		return -1;
	struct slice tok = seal(t, m->arena, 'V', stack);
	if (tok.p == NULL)
		return -1;
	if (top->branch.len == 0 || top->branch.len >= 64)
		return -1; /* core always writes a branch */
	/* As a C string, the branch ends at a NUL, if it has one. */
	const char *nul = memchr(top->branch.p, '\0', top->branch.len);
	struct slice branch = slice_make(top->branch.p,
	    nul != NULL ? (uint32_t)(nul - top->branch.p) : top->branch.len);
	/* "SIP/2.0/TP host:port;branch=B;pcv=TOKEN" */
	size_t hl = strlen(self->host);
	char *v = arena_alloc(m->arena, hl + top->branch.len + tok.len + 48);
	if (v == NULL)
		return -1;
	struct wbuf o = {v, 0, 0};
	put(&o, "SIP/2.0/", 8);
	put_str(&o, tp_name(self->transport, true));
	put(&o, " ", 1);
	put(&o, self->host, hl);
	put(&o, ":", 1);
	put_u32(&o, self->port);
	put(&o, ";branch=", 8);
	put(&o, branch.p, branch.len);
	put(&o, ";pcv=", 5);
	put(&o, tok.p, tok.len);
	v[o.n] = '\0';
	if (sip_edit_remove_all(ed, SIP_HDR_VIA) != 0 ||
	    sip_edit_prepend(ed, "Via", slice_make(v, (uint32_t)o.n)) != 0)
		return -1;
	return 0;
}

static int
hide_rr(const struct topo *t, struct sip_msg *m, struct sip_edit *ed,
    const struct topo_self *self, char dir)
{
	int first = m->first[SIP_HDR_RECORD_ROUTE];
	if (first < 0)
		return 0;
	struct slice set = collect(m, SIP_HDR_RECORD_ROUTE, dir);
	if (set.p == NULL)
		return -1;
	struct slice tok = seal(t, m->arena, 'R', set);
	if (tok.p == NULL)
		return -1;
	struct slice uri = self_uri(m->arena, self, tok, true);
	if (uri.p == NULL || sip_edit_replace(ed, (uint16_t)first, uri) != 0)
		return -1;
	for (int i = sip_msg_hdr_next(m, first); i >= 0;
	     i = sip_msg_hdr_next(m, i))
		if (sip_edit_remove(ed, (uint16_t)i) != 0)
			return -1;
	return 0;
}

static int
hide_contact(const struct topo *t, struct sip_msg *m, struct sip_edit *ed,
    const struct topo_self *self)
{
	struct sip_err err;
	const struct sip_contact *c;
	int n = sip_msg_contacts(m, &c, &err);
	if (n < 0)
		return -1;
	if (n == 0 || c[0].is_star)
		return 0;
	/* Already ours (an edge-made request): leave it. */
	if (t->is_local(t->arg, c[0].na.uri.host, c[0].na.uri.port))
		return 0;
	struct slice tok = seal(t, m->arena, 'C', c[0].na.uri_text);
	if (tok.p == NULL)
		return -1;
	struct slice uri = self_uri(m->arena, self, tok, false);
	int first = m->first[SIP_HDR_CONTACT];
	if (uri.p == NULL || sip_edit_replace(ed, (uint16_t)first, uri) != 0)
		return -1;
	for (int i = sip_msg_hdr_next(m, first); i >= 0;
	     i = sip_msg_hdr_next(m, i))
		if (sip_edit_remove(ed, (uint16_t)i) != 0)
			return -1;
	return 0;
}

/* A Call-ID as hide_call_id shows it: TOPO_CID_PREFIX and its token;
 * p == NULL if it could not be made. */
static struct slice
sealed_cid(const struct topo *t, struct arena *a, struct slice cid)
{
	struct slice tok = seal(t, a, 'I', cid);
	if (tok.p == NULL)
		return SLICE_NULL;
	size_t pl = strlen(TOPO_CID_PREFIX);
	char *v = arena_alloc(a, pl + tok.len + 1);
	if (v == NULL)
		return SLICE_NULL;
	memcpy(v, TOPO_CID_PREFIX, pl);
	memcpy(v + pl, tok.p, tok.len);
	v[pl + tok.len] = '\0';
	return slice_make(v, (uint32_t)(pl + tok.len));
}

/* The Call-ID a sealed one hides; p == NULL when v is not one of ours
 * (a UA's own Call-ID may start like ours). */
static struct slice
opened_cid(const struct topo *t, struct arena *a, struct slice v)
{
	size_t pl = strlen(TOPO_CID_PREFIX);
	if (v.len <= pl || memcmp(v.p, TOPO_CID_PREFIX, pl) != 0)
		return SLICE_NULL;
	return open_tok(t, a, 'I', slice_make(v.p + pl, v.len - (uint32_t)pl));
}

static int
hide_call_id(const struct topo *t, struct sip_msg *m, struct sip_edit *ed)
{
	int i = m->first[SIP_HDR_CALL_ID];
	if (i < 0)
		return -1;
	struct slice v = sealed_cid(t, m->arena, m->hdrs[i].value);
	if (v.p == NULL || sip_edit_replace(ed, (uint16_t)i, v) != 0)
		return -1;
	return 0;
}

static int
restore_call_id(const struct topo *t, struct sip_msg *m, struct sip_edit *ed,
    struct slice *call_id)
{
	int i = m->first[SIP_HDR_CALL_ID];
	if (i < 0)
		return 0;
	struct slice v = m->hdrs[i].value;
	if (call_id != NULL)
		*call_id = v;
	struct slice pt = opened_cid(t, m->arena, v);
	if (pt.p == NULL)
		return 0;
	if (sip_edit_replace(ed, (uint16_t)i, pt) != 0)
		return -1;
	if (call_id != NULL)
		*call_id = pt;
	return 1;
}

int
topo_hide(const struct topo *t, struct sip_msg *m, struct sip_edit *ed,
    const struct topo_self *self, bool hide_cid)
{
	struct sip_err err;
	if (hide_cid && hide_call_id(t, m, ed) != 0)
		return -1;
	if (m->is_request) {
		if (hide_vias(t, m, ed, self) != 0 ||
		    hide_rr(t, m, ed, self, 'F') != 0)
			return -1;
		if (m->method != SIP_M_REGISTER &&
		    hide_contact(t, m, ed, self) != 0)
			return -1;
		return 0;
	}
	if (hide_rr(t, m, ed, self, 'B') != 0)
		return -1;
	const struct sip_cseq *cs = sip_msg_cseq(m, &err);
	if (cs != NULL && cs->method != SIP_M_REGISTER && m->status > 100 &&
	    m->status < 300)
		return hide_contact(t, m, ed, self);
	return 0;
}

/* Restores route tokens among the entries of one header kind. */
static int
restore_routes(
    const struct topo *t, struct sip_msg *m, struct sip_edit *ed, bool is_route)
{
	struct sip_err err;
	const struct sip_nameaddr *na;
	int n = is_route ? sip_msg_routes(m, &na, &err)
	                 : sip_msg_record_routes(m, &na, &err);
	if (n <= 0)
		return n < 0 ? -1 : 0;
	int opened = 0;
	for (int i = 0; i < n;) {
		uint16_t line = na[i].hdr_index;
		struct hdrtext_span sp[SIP_MAX_ROUTES];
		size_t ns = 0;
		int j = i;
		for (; j < n && na[j].hdr_index == line; j++) {
			const struct sip_uri *u = &na[j].uri;
			if (u->user.len == 0 ||
			    !t->is_local(t->arg, u->host, u->port))
				continue;
			struct slice pt = open_tok(t, m->arena, 'R', u->user);
			if (pt.p == NULL)
				return -1; /* ours by address, not authentic */
			if (pt.len < 1)
				return -1;
			bool reverse = is_route && pt.p[0] == 'B';
			struct slice body = slice_make(pt.p + 1, pt.len - 1);
			struct slice parts[SIP_MAX_ROUTES];
			size_t np = 0;
			uint32_t s = 0;
			for (uint32_t k = 0;
			     k <= body.len && np < SIP_MAX_ROUTES; k++) {
				if (k == body.len || body.p[k] == '\n') {
					parts[np++] =
					    slice_make(body.p + s, k - s);
					s = k + 1;
				}
			}
			if (reverse) {
				for (size_t a = 0, b = np - 1; a < b;
				     a++, b--) {
					struct slice tmp = parts[a];
					parts[a] = parts[b];
					parts[b] = tmp;
				}
			}
			sp[ns].at = na[j].raw;
			sp[ns].with = hdrtext_join(m->arena, parts, np, ", ");
			if (sp[ns].with.p == NULL)
				return -1;
			ns++;
			opened++;
		}
		if (ns > 0) {
			struct slice v = hdrtext_splice(
			    m->arena, m->hdrs[line].value, sp, ns);
			if (v.p == NULL || sip_edit_replace(ed, line, v) != 0)
				return -1;
		}
		i = j;
	}
	return opened;
}

static int
restore_via(const struct topo *t, struct sip_msg *m, struct sip_edit *ed)
{
	struct sip_err err;
	const struct sip_via *v = sip_msg_top_via(m, &err);
	if (v == NULL)
		return -1;
	struct slice tok;
	if (!sip_param_find(v->params, "pcv", &tok))
		return 0;
	struct slice pt = open_tok(t, m->arena, 'V', tok);
	if (pt.p == NULL)
		return -1;
	/* '\n' separated values -> one comma-separated Via line value */
	char *s = arena_alloc(m->arena, pt.len + 1);
	if (s == NULL)
		return -1;
	size_t o = 0;
	for (uint32_t i = 0; i < pt.len; i++) {
		if (pt.p[i] == '\n') {
			s[o++] = ',';
			continue;
		}
		s[o++] = pt.p[i];
	}
	s[o] = '\0';
	struct hdrtext_span sp = {v->raw, slice_make(s, (uint32_t)o)};
	struct slice line =
	    hdrtext_splice(m->arena, m->hdrs[v->hdr_index].value, &sp, 1);
	if (line.p == NULL || sip_edit_replace(ed, v->hdr_index, line) != 0)
		return -1;
	return 1;
}

/* A Replaces header (RFC 3891): "call-id;to-tag=...;from-tag=...". Its
 * index, the Call-ID, and the rest from the first ';'. */
static int
replaces_parts(struct sip_msg *m, struct slice *cid, struct slice *rest)
{
	const struct sip_hdr *h = sip_msg_hdr_by_name(m, "Replaces");
	if (h == NULL)
		return -1;
	struct slice v = h->value;
	const char *semi = memchr(v.p, ';', v.len);
	uint32_t n = semi != NULL ? (uint32_t)(semi - v.p) : v.len;
	while (n > 0 && (v.p[n - 1] == ' ' || v.p[n - 1] == '\t'))
		n--;
	*cid = slice_make(v.p, n);
	*rest = semi != NULL ? slice_make(semi, v.len - (uint32_t)(semi - v.p))
	                     : slice_make(v.p + v.len, 0);
	return (int)(h - m->hdrs);
}

/* Replaces' value with another Call-ID and the same rest. */
static int
replaces_set(struct sip_msg *m, struct sip_edit *ed, int idx, struct slice cid,
    struct slice rest)
{
	size_t len = cid.len + rest.len;
	char *v = arena_alloc(m->arena, len + 1);
	if (v == NULL)
		return -1;
	memcpy(v, cid.p, cid.len);
	memcpy(v + cid.len, rest.p, rest.len);
	v[len] = '\0';
	return sip_edit_replace(
	    ed, (uint16_t)idx, slice_make(v, (uint32_t)len));
}

static int
restore_replaces(const struct topo *t, struct sip_msg *m, struct sip_edit *ed)
{
	struct slice cid, rest;
	/* Only an INVITE carries Replaces (RFC 3891 §6.1): other requests
	 * are not searched for it. */
	if (m->method != SIP_M_INVITE)
		return 0;
	int idx = replaces_parts(m, &cid, &rest);
	if (idx < 0)
		return 0;
	struct slice pt = opened_cid(t, m->arena, cid);
	if (pt.p == NULL)
		return 0;
	return replaces_set(m, ed, idx, pt, rest) != 0 ? -1 : 1;
}

bool
topo_replaces(struct sip_msg *m, struct slice *call_id, struct slice *to_tag)
{
	struct slice rest;
	if (replaces_parts(m, call_id, &rest) < 0)
		return false;
	if (!sip_param_find(rest, "to-tag", to_tag))
		*to_tag = SLICE_NULL;
	return true;
}

int
topo_hide_replaces(const struct topo *t, struct sip_msg *m, struct sip_edit *ed)
{
	struct slice cid, rest;
	int idx = replaces_parts(m, &cid, &rest);
	if (idx < 0 || cid.len == 0)
		return 0;
	struct slice v = sealed_cid(t, m->arena, cid);
	if (v.p == NULL)
		return -1;
	return replaces_set(m, ed, idx, v, rest);
}

int
topo_restore(const struct topo *t, struct sip_msg *m, struct sip_edit *ed,
    struct slice *call_id, bool *ruri_contact)
{
	int opened = 0, n;
	if (call_id != NULL)
		*call_id = SLICE_NULL;
	if (ruri_contact != NULL)
		*ruri_contact = false;
	if ((n = restore_call_id(t, m, ed, call_id)) < 0)
		return -1;
	opened += n;
	if (m->is_request) {
		const struct sip_uri *u = &m->ruri;
		if (u->scheme != 0 && u->user.len >= TOKEN_TEXT_LEN(0) &&
		    t->is_local(t->arg, u->host, u->port)) {
			struct slice pt = open_tok(t, m->arena, 'C', u->user);
			if (pt.p != NULL) {
				if (sip_edit_set_ruri(ed, pt) != 0)
					return -1;
				opened++;
				if (ruri_contact != NULL)
					*ruri_contact = true;
			}
			/* A user part that does not open may be a real
			 * user name: core judges the request. */
		}
		if ((n = restore_replaces(t, m, ed)) < 0)
			return -1;
		opened += n;
		if ((n = restore_routes(t, m, ed, true)) < 0)
			return -1;
		return opened + n;
	}
	if ((n = restore_via(t, m, ed)) < 0)
		return -1;
	opened += n;
	if ((n = restore_routes(t, m, ed, false)) < 0)
		return -1;
	return opened + n;
}
