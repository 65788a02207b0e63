/*
 * sip_msg: one pass over the start line and the header lines (memchr for
 * line ends, a table for names) builds the index; each header's value is
 * parsed the first time someone asks and the result kept in a cache in the
 * arena. sip_msg_parse() only fails when the message cannot be indexed
 * (start line, header lines, framing, limits); what a header says is judged
 * by its accessor and by sip_msg_validate(), so that a message with a bad
 * header can still be answered with a 400 built from it.
 */
#include <stddef.h>

#include "sip_lex.h"
#include "sip_msg.h"

static const char PH_UNTERM[] = "Unterminated quoted string";

static int
fail(struct sip_err *err, enum sip_err_code code, const char *phrase)
{
	sip_err_set(err, code, phrase);
	return -1;
}

static void
ok(struct sip_err *err)
{
	sip_err_set(err, SIP_OK, NULL);
}

/* ---- the lazy cache ---------------------------------------------------- */

enum item {
	IT_VIA,
	IT_FROM,
	IT_TO,
	IT_CALL_ID,
	IT_CSEQ,
	IT_CONTACT,
	IT_ROUTE,
	IT_RR,
	IT_PATH,
	IT_MF,
	IT_EXPIRES,
	IT_AUTH,
	IT_PAUTH,
	IT_TOKENS, /* + header id */
	IT__COUNT = IT_TOKENS + SIP_HDR__COUNT
};

struct sip_msg_cache {
	uint64_t done;
	uint64_t done_tokens;
	struct sip_err errs[IT__COUNT];
	struct sip_via *vias;
	int nvias;
	struct sip_nameaddr from, to;
	struct slice call_id;
	struct sip_cseq cseq;
	struct sip_contact *contacts;
	int ncontacts;
	struct sip_nameaddr *lists[3];
	int nlists[3];
	int max_forwards;
	int64_t expires;
	struct sip_auth *auths[2];
	int nauths[2];
	struct sip_tokens tokens[SIP_HDR__COUNT];
};

static struct sip_msg_cache *
cache_get(struct sip_msg *m)
{
	if (m->cache == NULL) {
		m->cache = arena_alloc(m->arena, sizeof *m->cache);
		if (m->cache != NULL) {
			m->cache->done = 0;
			m->cache->done_tokens = 0;
		}
	}
	return m->cache;
}

static bool
cache_done(struct sip_msg_cache *c, int it)
{
	if (it >= IT_TOKENS)
		return (c->done_tokens >> (it - IT_TOKENS)) & 1;
	return (c->done >> it) & 1;
}

/* Records the outcome of parsing item `it`; returns rc. */
static int
cache_set(struct sip_msg_cache *c, int it, int rc, struct sip_err *e)
{
	if (it >= IT_TOKENS)
		c->done_tokens |= 1ull << (it - IT_TOKENS);
	else
		c->done |= 1ull << it;
	c->errs[it] = *e;
	return rc;
}

static int
cache_err(struct sip_msg_cache *c, int it, struct sip_err *err)
{
	if (err != NULL)
		*err = c->errs[it];
	return c->errs[it].code == SIP_OK ? 0 : -1;
}

#define NOMEM(err) fail((err), SIP_E_NOMEM, "Out of memory")
/* Case-insensitive match against a literal, length first. */
#define NAME_IS(n, lit) \
	((n).len == sizeof(lit) - 1 && eq_nocase_n((n).p, (lit), (n).len))

/* ---- list splitting ---------------------------------------------------- */

/*
 * Next comma-separated element of rest, honouring quoted strings (with
 * backslash escapes) and <...>. Returns 1 with elem (trimmed, never
 * empty), 0 at the end, -1 on an unterminated quote or bracket.
 */
static bool lsep_tab[256];

__attribute__((constructor)) static void
lsep_init(void)
{
	lsep_tab[(unsigned char)','] = true;
	lsep_tab[(unsigned char)'"'] = true;
	lsep_tab[(unsigned char)'<'] = true;
}

static int
list_next(struct slice *rest, struct slice *elem, struct sip_err *err)
{
	for (;;) {
		*rest = skip_lws(*rest);
		if (rest->len == 0)
			return 0;
		const char *p = rest->p;
		uint32_t len = rest->len, i = 0;
		for (; i < len; i++) {
			char c = p[i];
			if (!lsep_tab[(unsigned char)c])
				continue;
			if (c == ',')
				break;
			if (c == '"') {
				for (i++; i < len && p[i] != '"'; i++)
					if (p[i] == '\\')
						i++;
				if (i >= len)
					return fail(
					    err, SIP_E_BAD_REQUEST, PH_UNTERM);
			} else {
				const char *gt = memchr(p + i, '>', len - i);
				if (gt == NULL)
					return fail(err, SIP_E_BAD_REQUEST,
					    "Unterminated <");
				i = (uint32_t)(gt - p);
			}
		}
		*elem = trim_ws(slice_make(p, i));
		*rest = i < len ? sl_from(*rest, i + 1) : sl_from(*rest, i);
		if (elem->len > 0)
			return 1;
	}
}

/* ---- parse: start line and header index -------------------------------- */

static int
parse_status_line(struct sip_msg *m, struct slice line, struct sip_err *err)
{
	int32_t sp = find_ch(line, ' ');
	if (sp < 0)
		return fail(err, SIP_E_BAD_REQUEST, "Bad status line");
	m->version = slice_make(line.p, (uint32_t)sp);
	struct slice rest = sl_from(line, (uint32_t)sp + 1);
	if (rest.len < 3)
		return fail(err, SIP_E_BAD_REQUEST, "Bad status line");
	uint32_t code;
	if (!slice_to_u32(slice_make(rest.p, 3), 999, &code) || code < 100 ||
	    code > 699)
		return fail(err, SIP_E_BAD_REQUEST, "Bad status code");
	if (rest.len > 3 && rest.p[3] != ' ')
		return fail(err, SIP_E_BAD_REQUEST, "Bad status code");
	m->is_request = false;
	m->status = (uint16_t)code;
	m->reason = rest.len > 4 ? sl_from(rest, 4) : slice_make(rest.p + 3, 0);
	return 0;
}

static int
parse_request_line(struct sip_msg *m, struct slice line, struct sip_err *err)
{
	uint32_t i = 0;
	while (i < line.len && is_tok(line.p[i]))
		i++;
	if (i == 0 || i >= line.len || line.p[i] != ' ')
		return fail(err, SIP_E_BAD_REQUEST, "Bad request line");
	m->method_name = slice_make(line.p, i);
	m->method = sip_method_from_slice(m->method_name);
	struct slice rest = sl_from(line, i + 1);
	const char *last = NULL;
	for (uint32_t j = rest.len; j > 0; j--) {
		if (rest.p[j - 1] == ' ') {
			last = rest.p + j - 1;
			break;
		}
	}
	if (last == NULL)
		return fail(err, SIP_E_BAD_REQUEST, "Bad request line");
	m->ruri_text = slice_make(rest.p, (uint32_t)(last - rest.p));
	m->version = slice_make(last + 1, rest.len - m->ruri_text.len - 1);
	if (m->version.len == 0 || m->ruri_text.len == 0)
		return fail(err, SIP_E_BAD_REQUEST, "Bad request line");
	m->is_request = true;
	/* The Request-URI is judged by sip_msg_validate (400/416). */
	struct sip_err uerr;
	if (sip_uri_parse(m->ruri_text, &m->ruri, &uerr) < 0)
		memset(&m->ruri, 0, sizeof m->ruri);
	return 0;
}

/* Digits only; false on anything else or past UINT32_MAX. */
static bool
parse_u32_value(struct slice v, uint32_t *out)
{
	v = trim_ws(v);
	if (v.len > 10)
		return false;
	return slice_to_u32(v, UINT32_MAX, out);
}

int
sip_msg_parse(struct sip_msg *m, const char *buf, uint32_t len, struct arena *a,
    struct sip_err *err)
{
	m->buf = buf;
	m->len = 0;
	m->arena = a;
	m->cache = NULL;
	m->nhdrs = 0;
	m->hdr_end = 0;
	m->body = SLICE_NULL;
	m->method = SIP_M_UNKNOWN;
	m->method_name = SLICE_NULL;
	m->ruri_text = SLICE_NULL;
	m->status = 0;
	m->reason = SLICE_NULL;
	m->version = SLICE_NULL;
	memset(m->first, 0xff, sizeof m->first);
	m->is_request = false;
	memset(&m->ruri, 0, sizeof m->ruri);

	if (len > SIP_MAX_MSG_SIZE)
		return fail(err, SIP_E_TOO_LARGE, "Message too large");
	uint32_t pos = 0;
	while (pos < len && (buf[pos] == '\r' || buf[pos] == '\n'))
		pos++;
	if (pos == len)
		return fail(err, SIP_E_BAD_REQUEST, "Empty message");

	const char *eol = memchr(buf + pos, '\n', len - pos);
	if (eol == NULL)
		return fail(err, SIP_E_BAD_REQUEST, "Missing end of headers");
	uint32_t e = (uint32_t)(eol - buf);
	struct slice line = slice_make(buf + pos, e - pos);
	if (line.len > 0 && line.p[line.len - 1] == '\r')
		line.len--;
	if (line.len > SIP_MAX_LINE)
		return fail(err, SIP_E_TOO_LARGE, "Start line too long");
	int rc = slice_has_prefix_nocase(line, "SIP/")
	    ? parse_status_line(m, line, err)
	    : parse_request_line(m, line, err);
	if (rc < 0)
		return -1;

	int64_t clen = -1;
	pos = e + 1;
	for (;;) {
		if (pos >= len)
			return fail(
			    err, SIP_E_BAD_REQUEST, "Missing end of headers");
		if (buf[pos] == '\n') {
			m->hdr_end = pos;
			pos += 1;
			break;
		}
		if (buf[pos] == '\r' && pos + 1 < len && buf[pos + 1] == '\n') {
			m->hdr_end = pos;
			pos += 2;
			break;
		}
		if (buf[pos] == ' ' || buf[pos] == '\t')
			return fail(err, SIP_E_BAD_REQUEST, "Bad header line");
		if (m->nhdrs >= SIP_MAX_HEADERS)
			return fail(err, SIP_E_TOO_LARGE, "Too many headers");
		uint32_t ls = pos;
		eol = memchr(buf + pos, '\n', len - pos);
		for (;;) {
			if (eol == NULL)
				return fail(err, SIP_E_BAD_REQUEST,
				    "Missing end of headers");
			e = (uint32_t)(eol - buf);
			if (e + 1 < len &&
			    (buf[e + 1] == ' ' || buf[e + 1] == '\t'))
				eol = memchr(buf + e + 1, '\n', len - e - 1);
			else
				break;
		}
		uint32_t line_len = e + 1 - ls;
		if (line_len > SIP_MAX_LINE)
			return fail(
			    err, SIP_E_TOO_LARGE, "Header line too long");
		uint32_t i = ls;
		while (i < e && is_tok(buf[i]))
			i++;
		struct slice name = slice_make(buf + ls, i - ls);
		while (i < e && (buf[i] == ' ' || buf[i] == '\t'))
			i++;
		if (name.len == 0 || i >= e || buf[i] != ':')
			return fail(err, SIP_E_BAD_REQUEST, "Bad header line");
		struct sip_hdr *h = &m->hdrs[m->nhdrs];
		h->id = sip_hdr_lookup(name);
		h->name = name;
		h->value = trim_ws(slice_make(buf + i + 1, e - i - 1));
		h->line_off = ls;
		h->line_len = line_len;
		if (m->first[h->id] < 0)
			m->first[h->id] = (int16_t)m->nhdrs;
		if (h->id == SIP_HDR_CONTENT_LENGTH) {
			uint32_t v;
			if (!parse_u32_value(h->value, &v))
				return fail(err, SIP_E_BAD_REQUEST,
				    "Bad Content-Length");
			if (clen >= 0 && clen != (int64_t)v)
				return fail(err, SIP_E_BAD_REQUEST,
				    "Conflicting Content-Length");
			clen = v;
		}
		m->nhdrs++;
		pos = e + 1;
	}
	uint32_t avail = len - pos;
	if (clen >= 0) {
		m->body = slice_make(buf + pos, (uint32_t)clen);
		m->len = pos + (uint32_t)(clen <= avail ? clen : avail);
		if (clen > (int64_t)avail) {
			m->body.len = avail;
			return fail(err, SIP_E_BAD_REQUEST,
			    "Content-Length exceeds body");
		}
	} else {
		m->body = slice_make(buf + pos, avail);
		m->len = len;
	}
	ok(err);
	return 0;
}

/* ---- header access ----------------------------------------------------- */

const struct sip_hdr *
sip_msg_hdr(const struct sip_msg *m, enum sip_hdr_id id)
{
	if ((int)id < 0 || id >= SIP_HDR__COUNT || m->first[id] < 0)
		return NULL;
	return &m->hdrs[m->first[id]];
}

static bool
hdr_name_is(const struct sip_hdr *h, struct slice name)
{
	if (slice_eq_nocase(h->name, name))
		return true;
	if (h->name.len == 1) {
		const char *l = sip_hdr_compact_long(h->name.p[0]);
		return l != NULL && slice_eq_cstr_nocase(name, l);
	}
	return false;
}

int
sip_msg_hdr_next(const struct sip_msg *m, int i)
{
	if (i < 0 || i >= m->nhdrs)
		return -1;
	const struct sip_hdr *h = &m->hdrs[i];
	for (int j = i + 1; j < m->nhdrs; j++) {
		if (m->hdrs[j].id != h->id)
			continue;
		if (h->id != SIP_HDR_OTHER)
			return j;
		/* Unknown headers: same name (compact forms expanded). */
		struct slice n = h->name;
		if (n.len == 1) {
			const char *l = sip_hdr_compact_long(n.p[0]);
			if (l != NULL)
				n = slice_cstr(l);
		}
		if (hdr_name_is(&m->hdrs[j], n))
			return j;
	}
	return -1;
}

const struct sip_hdr *
sip_msg_hdr_by_name(const struct sip_msg *m, const char *name)
{
	struct slice n = slice_cstr(name);
	enum sip_hdr_id id = sip_hdr_lookup(n);
	if (id != SIP_HDR_OTHER)
		return sip_msg_hdr(m, id);
	if (n.len == 1) {
		const char *l = sip_hdr_compact_long(n.p[0]);
		if (l != NULL)
			n = slice_cstr(l);
	}
	for (int i = 0; i < m->nhdrs; i++)
		if (m->hdrs[i].id == SIP_HDR_OTHER &&
		    hdr_name_is(&m->hdrs[i], n))
			return &m->hdrs[i];
	return NULL;
}

/* ---- Via --------------------------------------------------------------- */

/* received= holds an IPv4 or IPv6 address; RFC 5118 §4.5 notes that
 * bracketed IPv6 appears too. */
static bool
received_valid(struct slice *v)
{
	if (v->len >= 2 && v->p[0] == '[' && v->p[v->len - 1] == ']') {
		*v = slice_make(v->p + 1, v->len - 2);
		return sip_host_is_ipv6(*v);
	}
	if (sip_host_is_ipv6(*v))
		return true;
	struct slice h;
	uint16_t port;
	bool v6;
	return sip_hostport_parse(*v, &h, &port, &v6) && h.len == v->len;
}

static int
via_parse_one(struct slice t, struct sip_via *v, struct sip_err *err)
{
	static const char bad[] = "Bad Via";
	memset(v, 0, sizeof *v);
	v->raw = t;
	struct slice s = t;
	struct slice pname = take_token(&s);
	if (pname.len == 0 || !expect_char(&s, '/'))
		return fail(err, SIP_E_BAD_REQUEST, bad);
	struct slice pver = take_token(&s);
	if (pver.len == 0)
		return fail(err, SIP_E_BAD_REQUEST, bad);
	v->proto = slice_make(pname.p, (uint32_t)(pver.p + pver.len - pname.p));
	if (!expect_char(&s, '/'))
		return fail(err, SIP_E_BAD_REQUEST, bad);
	v->transport = take_token(&s);
	if (v->transport.len == 0 || s.len == 0 || !is_lws(s.p[0]))
		return fail(err, SIP_E_BAD_REQUEST, bad);
	s = skip_lws(s);
	/* sent-by: host, then optional ":" port, with LWS around ':' */
	uint32_t i = 0;
	if (s.len > 0 && s.p[0] == '[') {
		int32_t close = find_ch(s, ']');
		if (close < 0)
			return fail(
			    err, SIP_E_BAD_REQUEST, "Bad IPv6 reference");
		v->host = slice_make(s.p + 1, (uint32_t)close - 1);
		if (!sip_host_is_ipv6(v->host))
			return fail(
			    err, SIP_E_BAD_REQUEST, "Bad IPv6 reference");
		v->is_ipv6 = true;
		i = (uint32_t)close + 1;
	} else {
		uint32_t colons = 0;
		for (uint32_t k = 0;
		     k < s.len && !is_lws(s.p[k]) && s.p[k] != ';'; k++)
			colons += s.p[k] == ':';
		/* An IPv6 address must be bracketed (RFC 5118 §4.4). */
		if (colons > 1)
			return fail(
			    err, SIP_E_BAD_REQUEST, "Bad IPv6 reference");
		while (i < s.len && !is_lws(s.p[i]) && s.p[i] != ':' &&
		    s.p[i] != ';')
			i++;
		v->host = slice_make(s.p, i);
		struct slice h;
		uint16_t port;
		bool v6;
		if (!sip_hostport_parse(v->host, &h, &port, &v6))
			return fail(err, SIP_E_BAD_REQUEST, "Bad Via host");
	}
	s = skip_lws(sl_from(s, i));
	if (s.len > 0 && s.p[0] == ':') {
		s = skip_lws(sl_from(s, 1));
		uint32_t j = 0;
		while (j < s.len && s.p[j] >= '0' && s.p[j] <= '9')
			j++;
		uint32_t port;
		if (j == 0 || j > 5 ||
		    !slice_to_u32(slice_make(s.p, j), 65535, &port))
			return fail(err, SIP_E_BAD_REQUEST, "Bad Via port");
		v->port = (uint16_t)port;
		s = skip_lws(sl_from(s, j));
	}
	if (s.len == 0)
		return 0;
	if (s.p[0] != ';')
		return fail(err, SIP_E_BAD_REQUEST, bad);
	v->params = trim_ws(sl_from(s, 1));
	/* One pass: check each name[=value] and pick the ones we use. */
	struct slice rest = v->params;
	bool seen_branch = false, seen_received = false;
	while (rest.len > 0) {
		struct slice nm = take_token(&rest), val = SLICE_NULL;
		bool has_val = false;
		if (nm.len == 0)
			return fail(err, SIP_E_BAD_REQUEST, bad);
		rest = skip_lws(rest);
		if (rest.len > 0 && rest.p[0] == '=') {
			has_val = true;
			rest = skip_lws(sl_from(rest, 1));
			if (rest.len > 0 && rest.p[0] == '"') {
				uint32_t k = 1;
				while (k < rest.len && rest.p[k] != '"')
					k += rest.p[k] == '\\' ? 2 : 1;
				if (k >= rest.len)
					return fail(
					    err, SIP_E_BAD_REQUEST, PH_UNTERM);
				val = slice_make(rest.p, k + 1);
				rest = sl_from(rest, k + 1);
			} else {
				uint32_t k = 0;
				while (k < rest.len && !is_lws(rest.p[k]) &&
				    rest.p[k] != ';')
					k++;
				if (k == 0)
					return fail(
					    err, SIP_E_BAD_REQUEST, bad);
				val = slice_make(rest.p, k);
				rest = sl_from(rest, k);
			}
			rest = skip_lws(rest);
		}
		if (nm.len == 6 && !seen_branch &&
		    eq_nocase_n(nm.p, "branch", nm.len)) {
			seen_branch = true;
			if (val.len == 0)
				return fail(
				    err, SIP_E_BAD_REQUEST, "Bad Via branch");
			for (uint32_t k = 0; k < val.len; k++)
				if (!is_tok(val.p[k]))
					return fail(err, SIP_E_BAD_REQUEST,
					    "Bad Via branch");
			v->branch = val;
		} else if (nm.len == 8 && !seen_received &&
		    eq_nocase_n(nm.p, "received", nm.len)) {
			seen_received = true;
			if (!received_valid(&val))
				return fail(
				    err, SIP_E_BAD_REQUEST, "Bad Via received");
			v->received = val;
		} else if (nm.len == 5 && !v->has_rport &&
		    eq_nocase_n(nm.p, "rport", nm.len)) {
			v->has_rport = true;
			if (has_val) {
				uint32_t rp;
				if (val.len > 5 ||
				    !slice_to_u32(val, 65535, &rp))
					return fail(err, SIP_E_BAD_REQUEST,
					    "Bad Via rport");
				v->rport = rp;
			}
		}
		if (rest.len == 0)
			break;
		if (rest.p[0] != ';')
			return fail(err, SIP_E_BAD_REQUEST, bad);
		rest = skip_lws(sl_from(rest, 1));
	}
	return 0;
}

int
sip_msg_vias(
    struct sip_msg *m, const struct sip_via **vias, struct sip_err *err)
{
	struct sip_msg_cache *c = cache_get(m);
	if (c == NULL)
		return NOMEM(err);
	if (!cache_done(c, IT_VIA)) {
		struct sip_via tmp[SIP_MAX_VIAS];
		struct sip_err e = {SIP_OK, NULL};
		int n = 0, rc = 0;
		for (int i = m->first[SIP_HDR_VIA]; i >= 0 && rc == 0;
		     i = sip_msg_hdr_next(m, i)) {
			struct slice rest = m->hdrs[i].value, el;
			int r;
			if (rest.len == 0) {
				rc = fail(&e, SIP_E_BAD_REQUEST, "Bad Via");
				break;
			}
			while ((r = list_next(&rest, &el, &e)) > 0) {
				if (n >= SIP_MAX_VIAS) {
					r = fail(&e, SIP_E_BAD_REQUEST,
					    "Too many Via headers");
					break;
				}
				if (via_parse_one(el, &tmp[n], &e) < 0) {
					r = -1;
					break;
				}
				tmp[n++].hdr_index = (uint16_t)i;
			}
			if (r < 0)
				rc = -1;
		}
		if (rc == 0 && n > 0) {
			c->vias =
			    arena_alloc(m->arena, sizeof tmp[0] * (size_t)n);
			if (c->vias == NULL)
				rc = NOMEM(&e);
			else
				memcpy(c->vias, tmp, sizeof tmp[0] * (size_t)n);
		}
		c->nvias = rc == 0 ? n : 0;
		cache_set(c, IT_VIA, rc, &e);
	}
	if (cache_err(c, IT_VIA, err) < 0)
		return -1;
	if (vias != NULL)
		*vias = c->vias;
	return c->nvias;
}

const struct sip_via *
sip_msg_top_via(struct sip_msg *m, struct sip_err *err)
{
	const struct sip_via *v;
	int n = sip_msg_vias(m, &v, err);
	if (n < 0)
		return NULL;
	if (n == 0) {
		fail(err, SIP_E_BAD_REQUEST, "Missing Via");
		return NULL;
	}
	return v;
}

/* ---- name-addr --------------------------------------------------------- */

int
sip_nameaddr_parse(
    struct slice text, struct sip_nameaddr *out, struct sip_err *err)
{
	static const char bad[] = "Bad name-addr";
	memset(out, 0, sizeof *out);
	struct slice s = trim_ws(text);
	out->raw = s;
	if (s.len == 0)
		return fail(err, SIP_E_BAD_REQUEST, bad);
	struct slice after;
	if (s.p[0] == '"' || memchr(s.p, '<', s.len) != NULL) {
		uint32_t i = 0;
		if (s.p[0] == '"') {
			i = 1;
			while (i < s.len && s.p[i] != '"') {
				if (s.p[i] == '\\') {
					if (i + 1 >= s.len)
						break;
					i++;
				}
				i++;
			}
			if (i >= s.len)
				return fail(err, SIP_E_BAD_REQUEST, PH_UNTERM);
			out->display = slice_make(s.p + 1, i - 1);
			i++;
			while (i < s.len && is_lws(s.p[i]))
				i++;
			if (i >= s.len || s.p[i] != '<')
				return fail(err, SIP_E_BAD_REQUEST, bad);
		} else {
			/* Unquoted display-name: tokens separated by LWS. */
			while (i < s.len && s.p[i] != '<') {
				if (!is_tok(s.p[i]) && !is_lws(s.p[i]))
					return fail(err, SIP_E_BAD_REQUEST,
					    "Bad display name");
				i++;
			}
			out->display = trim_ws(slice_make(s.p, i));
		}
		/* s.p[i] == '<' */
		const char *gt = memchr(s.p + i, '>', s.len - i);
		if (gt == NULL)
			return fail(err, SIP_E_BAD_REQUEST, "Unterminated <");
		out->uri_text =
		    slice_make(s.p + i + 1, (uint32_t)(gt - (s.p + i + 1)));
		after = skip_lws(sl_from(s, (uint32_t)(gt - s.p) + 1));
	} else {
		/* addr-spec: parameters after it belong to the header. */
		uint32_t i = 0;
		while (i < s.len && s.p[i] != ';' && !is_lws(s.p[i]))
			i++;
		out->uri_text = slice_make(s.p, i);
		after = skip_lws(sl_from(s, i));
		/* RFC 3261 §20: a URI with headers or parameters of its own
		 * must be enclosed in <>. */
		if (memchr(out->uri_text.p, '?', out->uri_text.len) != NULL)
			return fail(err, SIP_E_BAD_REQUEST, bad);
	}
	if (after.len > 0) {
		if (after.p[0] != ';')
			return fail(err, SIP_E_BAD_REQUEST, bad);
		out->params = trim_ws(sl_from(after, 1));
		/* Quotes in parameter values must be closed. */
		bool inq = false;
		for (uint32_t k = 0; k < out->params.len; k++) {
			char c = out->params.p[k];
			if (inq && c == '\\')
				k++;
			else if (c == '"')
				inq = !inq;
		}
		if (inq)
			return fail(err, SIP_E_BAD_REQUEST, PH_UNTERM);
		struct slice tag;
		if (sip_param_find(out->params, "tag", &tag)) {
			if (tag.len == 0)
				return fail(err, SIP_E_BAD_REQUEST, "Bad tag");
			out->tag = tag;
		}
	}
	struct sip_err ue;
	if (sip_uri_parse(out->uri_text, &out->uri, &ue) < 0) {
		/* Other schemes are legal in name-addr (RFC 4475 tests
		 * unknown schemes in header fields); uri.scheme == 0. */
		if (ue.code != SIP_E_UNSUPPORTED_URI) {
			sip_err_set(err, SIP_E_BAD_REQUEST, ue.phrase);
			return -1;
		}
		/* sip/sips/tel URIs refuse LWS themselves; others here. */
		for (uint32_t k = 0; k < out->uri_text.len; k++)
			if (is_lws(out->uri_text.p[k]) ||
			    out->uri_text.p[k] == '<')
				return fail(err, SIP_E_BAD_REQUEST, "Bad URI");
		memset(&out->uri, 0, sizeof out->uri);
	}
	ok(err);
	return 0;
}

/* Phrases from sub-parsers precise enough to keep; others become the
 * header's own ("Bad From"). */
static void
hdr_fail(struct sip_err *e, const char *hdr_phrase)
{
	if (e->phrase != NULL &&
	    (strcmp(e->phrase, PH_UNTERM) == 0 ||
	        strcmp(e->phrase, "Bad IPv6 reference") == 0))
		return;
	if (e->code != SIP_E_NOMEM)
		sip_err_set(e, SIP_E_BAD_REQUEST, hdr_phrase);
}

static const struct sip_nameaddr *
single_nameaddr(struct sip_msg *m, int it, enum sip_hdr_id id,
    struct sip_nameaddr *slot, const char *missing, const char *bad,
    struct sip_err *err)
{
	struct sip_msg_cache *c = cache_get(m);
	if (c == NULL) {
		NOMEM(err);
		return NULL;
	}
	if (!cache_done(c, it)) {
		struct sip_err e = {SIP_OK, NULL};
		int rc = 0;
		int i = m->first[id];
		if (i < 0) {
			rc = fail(&e, SIP_E_BAD_REQUEST, missing);
		} else if (sip_nameaddr_parse(m->hdrs[i].value, slot, &e) < 0) {
			hdr_fail(&e, bad);
			rc = -1;
		} else {
			slot->hdr_index = (uint16_t)i;
		}
		cache_set(c, it, rc, &e);
	}
	if (cache_err(c, it, err) < 0)
		return NULL;
	return slot;
}

const struct sip_nameaddr *
sip_msg_from(struct sip_msg *m, struct sip_err *err)
{
	struct sip_msg_cache *c = cache_get(m);
	if (c == NULL) {
		NOMEM(err);
		return NULL;
	}
	return single_nameaddr(m, IT_FROM, SIP_HDR_FROM, &c->from,
	    "Missing From", "Bad From", err);
}

const struct sip_nameaddr *
sip_msg_to(struct sip_msg *m, struct sip_err *err)
{
	struct sip_msg_cache *c = cache_get(m);
	if (c == NULL) {
		NOMEM(err);
		return NULL;
	}
	return single_nameaddr(
	    m, IT_TO, SIP_HDR_TO, &c->to, "Missing To", "Bad To", err);
}

/* ---- Call-ID, CSeq, numbers -------------------------------------------- */

int
sip_msg_call_id(struct sip_msg *m, struct slice *out, struct sip_err *err)
{
	struct sip_msg_cache *c = cache_get(m);
	if (c == NULL)
		return NOMEM(err);
	if (!cache_done(c, IT_CALL_ID)) {
		struct sip_err e = {SIP_OK, NULL};
		int rc = 0;
		int i = m->first[SIP_HDR_CALL_ID];
		if (i < 0) {
			rc = fail(&e, SIP_E_BAD_REQUEST, "Missing Call-ID");
		} else {
			struct slice v = m->hdrs[i].value;
			int ats = 0;
			if (v.len == 0)
				rc = fail(&e, SIP_E_BAD_REQUEST, "Bad Call-ID");
			for (uint32_t k = 0; k < v.len && rc == 0; k++) {
				unsigned char ch = (unsigned char)v.p[k];
				if (ch <= ' ' || ch == 0x7f ||
				    (ch == '@' && ++ats > 1))
					rc = fail(&e, SIP_E_BAD_REQUEST,
					    "Bad Call-ID");
			}
			c->call_id = v;
		}
		cache_set(c, IT_CALL_ID, rc, &e);
	}
	if (cache_err(c, IT_CALL_ID, err) < 0)
		return -1;
	if (out != NULL)
		*out = c->call_id;
	return 0;
}

const struct sip_cseq *
sip_msg_cseq(struct sip_msg *m, struct sip_err *err)
{
	struct sip_msg_cache *c = cache_get(m);
	if (c == NULL) {
		NOMEM(err);
		return NULL;
	}
	if (!cache_done(c, IT_CSEQ)) {
		struct sip_err e = {SIP_OK, NULL};
		int rc = 0;
		int i = m->first[SIP_HDR_CSEQ];
		if (i < 0) {
			rc = fail(&e, SIP_E_BAD_REQUEST, "Missing CSeq");
		} else {
			struct slice s = m->hdrs[i].value;
			uint32_t k = 0;
			while (k < s.len && s.p[k] >= '0' && s.p[k] <= '9')
				k++;
			uint32_t num;
			/* RFC 3261 §8.1.1.5: less than 2**31. */
			if (k == 0 || k > 10 ||
			    !slice_to_u32(
			        slice_make(s.p, k), 0x7fffffffu, &num) ||
			    k >= s.len || !is_lws(s.p[k])) {
				rc = fail(&e, SIP_E_BAD_REQUEST, "Bad CSeq");
			} else {
				s = skip_lws(sl_from(s, k));
				struct slice meth = take_token(&s);
				if (meth.len == 0 || s.len != 0) {
					rc = fail(
					    &e, SIP_E_BAD_REQUEST, "Bad CSeq");
				} else {
					c->cseq.num = num;
					c->cseq.method_name = meth;
					c->cseq.method =
					    sip_method_from_slice(meth);
				}
			}
		}
		cache_set(c, IT_CSEQ, rc, &e);
	}
	if (cache_err(c, IT_CSEQ, err) < 0)
		return NULL;
	return &c->cseq;
}

int
sip_msg_max_forwards(struct sip_msg *m, struct sip_err *err)
{
	struct sip_msg_cache *c = cache_get(m);
	if (c == NULL)
		return NOMEM(err);
	if (!cache_done(c, IT_MF)) {
		struct sip_err e = {SIP_OK, NULL};
		int rc = 0;
		int i = m->first[SIP_HDR_MAX_FORWARDS];
		c->max_forwards = -1;
		if (i >= 0) {
			uint32_t v;
			struct slice s = m->hdrs[i].value;
			if (!slice_to_u32(s, 255, &v))
				rc = fail(
				    &e, SIP_E_BAD_REQUEST, "Bad Max-Forwards");
			else
				c->max_forwards = (int)v;
		}
		cache_set(c, IT_MF, rc, &e);
	}
	if (cache_err(c, IT_MF, err) < 0)
		return -1;
	return c->max_forwards;
}

/* delta-seconds; values past 2**32-1 are taken as 2**32-1 (RFC 3261
 * §20.19 and §10.2.1.1 ask for that leniency). */
static bool
delta_seconds(struct slice s, int64_t *out)
{
	s = trim_ws(s);
	if (s.len == 0)
		return false;
	int64_t v = 0;
	for (uint32_t i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
		if (v < 0xffffffffLL)
			v = v * 10 + (s.p[i] - '0');
	}
	*out = v > 0xffffffffLL ? 0xffffffffLL : v;
	return true;
}

int64_t
sip_msg_expires(struct sip_msg *m, struct sip_err *err)
{
	struct sip_msg_cache *c = cache_get(m);
	if (c == NULL)
		return NOMEM(err);
	if (!cache_done(c, IT_EXPIRES)) {
		struct sip_err e = {SIP_OK, NULL};
		int rc = 0;
		int i = m->first[SIP_HDR_EXPIRES];
		c->expires = -1;
		if (i >= 0 && !delta_seconds(m->hdrs[i].value, &c->expires)) {
			c->expires = -1;
			rc = fail(&e, SIP_E_BAD_REQUEST, "Bad Expires");
		}
		cache_set(c, IT_EXPIRES, rc, &e);
	}
	if (cache_err(c, IT_EXPIRES, err) < 0)
		return -1;
	return c->expires;
}

int64_t
sip_msg_content_length(struct sip_msg *m, struct sip_err *err)
{
	ok(err);
	/* Checked while indexing: body.len is what Content-Length said. */
	if (m->first[SIP_HDR_CONTENT_LENGTH] < 0)
		return -1;
	return m->body.len;
}

struct slice
sip_msg_content_type(struct sip_msg *m)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE);
	if (h == NULL)
		return SLICE_NULL;
	struct slice v = h->value;
	int32_t semi = find_ch(v, ';');
	if (semi >= 0)
		v.len = (uint32_t)semi;
	return trim_ws(v);
}

struct slice
sip_msg_user_agent(struct sip_msg *m)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_USER_AGENT);
	return h == NULL ? SLICE_NULL : h->value;
}

/* ---- Contact ----------------------------------------------------------- */

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
static bool
qvalue_parse(struct slice v, int16_t *q)
{
	if (v.len == 0 || v.len > 5 || (v.p[0] != '0' && v.p[0] != '1'))
		return false;
	int val = (v.p[0] - '0') * 1000;
	if (v.len > 1) {
		if (v.p[1] != '.')
			return false;
		int mul = 100;
		for (uint32_t i = 2; i < v.len; i++, mul /= 10) {
			if (v.p[i] < '0' || v.p[i] > '9')
				return false;
			val += (v.p[i] - '0') * mul;
		}
	}
	if (val > 1000)
		return false;
	*q = (int16_t)val;
	return true;
}

static int
contact_parse_one(struct slice t, struct sip_contact *ct, struct sip_err *e)
{
	memset(ct, 0, sizeof *ct);
	ct->expires = -1;
	ct->q = -1;
	if (t.len == 1 && t.p[0] == '*') {
		ct->is_star = true;
		ct->na.raw = t;
		return 0;
	}
	if (sip_nameaddr_parse(t, &ct->na, e) < 0)
		return -1;
	/* One pass over the parameters; the first of each name counts. */
	struct slice rest = ct->na.params;
	bool seen_exp = false, seen_q = false, seen_inst = false;
	bool seen_reg = false;
	while (rest.len > 0) {
		const char *semi = memchr(rest.p, ';', rest.len);
		struct slice one = semi == NULL
		    ? rest
		    : slice_make(rest.p, (uint32_t)(semi - rest.p));
		if (semi != NULL && memchr(one.p, '"', one.len) != NULL) {
			/* A quoted value may hold ';': fall back. */
			uint32_t i = 0;
			bool inq = false;
			for (; i < rest.len; i++) {
				char c = rest.p[i];
				if (inq && c == '\\')
					i++;
				else if (c == '"')
					inq = !inq;
				else if (!inq && c == ';')
					break;
			}
			one = slice_make(rest.p, i);
			semi = i < rest.len ? rest.p + i : NULL;
		}
		rest = semi == NULL
		    ? SLICE_NULL
		    : slice_make(
		          semi + 1, rest.len - (uint32_t)(semi + 1 - rest.p));
		int32_t eq = find_ch(one, '=');
		struct slice nm =
		    trim_ws(eq < 0 ? one : slice_make(one.p, (uint32_t)eq));
		struct slice v = eq < 0
		    ? SLICE_NULL
		    : trim_ws(sl_from(one, (uint32_t)eq + 1));
		if (nm.len == 7 && !seen_exp &&
		    eq_nocase_n(nm.p, "expires", nm.len)) {
			int64_t x;
			seen_exp = true;
			if (!delta_seconds(v, &x))
				return fail(e, SIP_E_BAD_REQUEST,
				    "Bad Contact expires");
			ct->expires = x > INT32_MAX ? INT32_MAX : (int32_t)x;
		} else if (nm.len == 1 && !seen_q && (nm.p[0] | 0x20) == 'q') {
			seen_q = true;
			if (!qvalue_parse(v, &ct->q))
				return fail(
				    e, SIP_E_BAD_REQUEST, "Bad Contact q");
		} else if (nm.len == 13 && !seen_inst &&
		    eq_nocase_n(nm.p, "+sip.instance", nm.len)) {
			seen_inst = true;
			if (v.len >= 2 && v.p[0] == '"' &&
			    v.p[v.len - 1] == '"')
				v = slice_make(v.p + 1, v.len - 2);
			ct->instance = v;
		} else if (nm.len == 6 && !seen_reg &&
		    eq_nocase_n(nm.p, "reg-id", nm.len)) {
			uint32_t r;
			seen_reg = true;
			if (v.len > 10 || !slice_to_u32(v, 0x7fffffffu, &r) ||
			    r == 0)
				return fail(
				    e, SIP_E_BAD_REQUEST, "Bad Contact reg-id");
			ct->reg_id = r;
		}
	}
	return 0;
}

int
sip_msg_contacts(
    struct sip_msg *m, const struct sip_contact **out, struct sip_err *err)
{
	struct sip_msg_cache *c = cache_get(m);
	if (c == NULL)
		return NOMEM(err);
	if (!cache_done(c, IT_CONTACT)) {
		struct sip_contact tmp[SIP_MAX_CONTACTS];
		struct sip_err e = {SIP_OK, NULL};
		int n = 0, rc = 0;
		bool star = false;
		for (int i = m->first[SIP_HDR_CONTACT]; i >= 0 && rc == 0;
		     i = sip_msg_hdr_next(m, i)) {
			struct slice rest = m->hdrs[i].value, el;
			int r;
			while ((r = list_next(&rest, &el, &e)) > 0) {
				if (n >= SIP_MAX_CONTACTS) {
					r = fail(&e, SIP_E_BAD_REQUEST,
					    "Too many Contacts");
					break;
				}
				if (contact_parse_one(el, &tmp[n], &e) < 0) {
					hdr_fail(&e,
					    e.phrase != NULL &&
					            strncmp(e.phrase,
					                "Bad Contact", 11) == 0
					        ? e.phrase
					        : "Bad Contact");
					r = -1;
					break;
				}
				star |= tmp[n].is_star;
				tmp[n++].na.hdr_index = (uint16_t)i;
			}
			if (r < 0)
				rc = -1;
		}
		if (rc == 0 && star && n > 1)
			rc = fail(&e, SIP_E_BAD_REQUEST, "Bad Contact *");
		if (rc == 0 && n > 0) {
			c->contacts =
			    arena_alloc(m->arena, sizeof tmp[0] * (size_t)n);
			if (c->contacts == NULL)
				rc = NOMEM(&e);
			else
				memcpy(c->contacts, tmp,
				    sizeof tmp[0] * (size_t)n);
		}
		c->ncontacts = rc == 0 ? n : 0;
		cache_set(c, IT_CONTACT, rc, &e);
	}
	if (cache_err(c, IT_CONTACT, err) < 0)
		return -1;
	if (out != NULL)
		*out = c->contacts;
	return c->ncontacts;
}

/* ---- Route, Record-Route, Path ----------------------------------------- */

static int
nameaddr_list(struct sip_msg *m, int it, int slot, enum sip_hdr_id id,
    const char *bad, const struct sip_nameaddr **out, struct sip_err *err)
{
	struct sip_msg_cache *c = cache_get(m);
	if (c == NULL)
		return NOMEM(err);
	if (!cache_done(c, it)) {
		struct sip_nameaddr tmp[SIP_MAX_ROUTES];
		struct sip_err e = {SIP_OK, NULL};
		int n = 0, rc = 0;
		for (int i = m->first[id]; i >= 0 && rc == 0;
		     i = sip_msg_hdr_next(m, i)) {
			struct slice rest = m->hdrs[i].value, el;
			int r;
			while ((r = list_next(&rest, &el, &e)) > 0) {
				if (n >= SIP_MAX_ROUTES) {
					r = fail(&e, SIP_E_BAD_REQUEST, bad);
					break;
				}
				if (sip_nameaddr_parse(el, &tmp[n], &e) < 0) {
					hdr_fail(&e, bad);
					r = -1;
					break;
				}
				tmp[n++].hdr_index = (uint16_t)i;
			}
			if (r < 0)
				rc = -1;
		}
		if (rc == 0 && n > 0) {
			c->lists[slot] =
			    arena_alloc(m->arena, sizeof tmp[0] * (size_t)n);
			if (c->lists[slot] == NULL)
				rc = NOMEM(&e);
			else
				memcpy(c->lists[slot], tmp,
				    sizeof tmp[0] * (size_t)n);
		}
		c->nlists[slot] = rc == 0 ? n : 0;
		cache_set(c, it, rc, &e);
	}
	if (cache_err(c, it, err) < 0)
		return -1;
	if (out != NULL)
		*out = c->nlists[slot] > 0 ? c->lists[slot] : NULL;
	return c->nlists[slot];
}

int
sip_msg_routes(
    struct sip_msg *m, const struct sip_nameaddr **out, struct sip_err *err)
{
	return nameaddr_list(
	    m, IT_ROUTE, 0, SIP_HDR_ROUTE, "Bad Route", out, err);
}

int
sip_msg_record_routes(
    struct sip_msg *m, const struct sip_nameaddr **out, struct sip_err *err)
{
	return nameaddr_list(
	    m, IT_RR, 1, SIP_HDR_RECORD_ROUTE, "Bad Record-Route", out, err);
}

int
sip_msg_paths(
    struct sip_msg *m, const struct sip_nameaddr **out, struct sip_err *err)
{
	return nameaddr_list(m, IT_PATH, 2, SIP_HDR_PATH, "Bad Path", out, err);
}

/* ---- Authorization family (sip_auth_parse is in sip_hdr.c) ---------- */

/* Removes backslash escapes (quoted-pair) into the arena when present. */
static bool
unquote_inplace(struct arena *a, struct slice *v)
{
	if (v->len == 0 || memchr(v->p, '\\', v->len) == NULL)
		return true;
	char *d = arena_alloc(a, v->len + 1);
	if (d == NULL)
		return false;
	uint32_t o = 0;
	for (uint32_t i = 0; i < v->len; i++) {
		if (v->p[i] == '\\' && i + 1 < v->len)
			i++;
		d[o++] = v->p[i];
	}
	d[o] = '\0';
	*v = slice_make(d, o);
	return true;
}

int
sip_msg_auths(struct sip_msg *m, enum sip_hdr_id id,
    const struct sip_auth **out, struct sip_err *err)
{
	int slot;
	if (id == SIP_HDR_AUTHORIZATION)
		slot = 0;
	else if (id == SIP_HDR_PROXY_AUTHORIZATION)
		slot = 1;
	else
		return fail(err, SIP_E_BAD_REQUEST, "Not a credentials header");
	int it = slot == 0 ? IT_AUTH : IT_PAUTH;
	struct sip_msg_cache *c = cache_get(m);
	if (c == NULL)
		return NOMEM(err);
	if (!cache_done(c, it)) {
		struct sip_err e = {SIP_OK, NULL};
		int n = 0, rc = 0;
		for (int i = m->first[id]; i >= 0; i = sip_msg_hdr_next(m, i))
			n++;
		c->auths[slot] = NULL;
		if (n > 0) {
			c->auths[slot] = arena_alloc(
			    m->arena, sizeof(struct sip_auth) * (size_t)n);
			if (c->auths[slot] == NULL)
				rc = NOMEM(&e);
		}
		int k = 0;
		for (int i = m->first[id]; i >= 0 && rc == 0;
		     i = sip_msg_hdr_next(m, i)) {
			struct sip_auth *au = &c->auths[slot][k];
			if (sip_auth_parse(m->hdrs[i].value, au, &e) < 0) {
				hdr_fail(&e,
				    slot == 0 ? "Bad Authorization"
				              : "Bad Proxy-Authorization");
				rc = -1;
				break;
			}
			au->hdr_index = (uint16_t)i;
			struct slice *f[] = {&au->username, &au->realm,
			    &au->nonce, &au->uri, &au->cnonce, &au->opaque};
			for (size_t j = 0; j < sizeof f / sizeof f[0]; j++)
				if (!unquote_inplace(m->arena, f[j]))
					rc = NOMEM(&e);
			k++;
		}
		c->nauths[slot] = rc == 0 ? n : 0;
		cache_set(c, it, rc, &e);
	}
	if (cache_err(c, it, err) < 0)
		return -1;
	if (out != NULL)
		*out = c->auths[slot];
	return c->nauths[slot];
}

/* ---- token lists ------------------------------------------------------- */

int
sip_msg_tokens(struct sip_msg *m, enum sip_hdr_id id, struct sip_tokens *out,
    struct sip_err *err)
{
	if ((int)id <= 0 || id >= SIP_HDR__COUNT)
		return fail(err, SIP_E_BAD_REQUEST, "Not a list header");
	struct sip_msg_cache *c = cache_get(m);
	if (c == NULL)
		return NOMEM(err);
	int it = IT_TOKENS + (int)id;
	if (!cache_done(c, it)) {
		struct sip_err e = {SIP_OK, NULL};
		int n = 0, rc = 0;
		struct slice el;
		for (int i = m->first[id]; i >= 0 && rc == 0;
		     i = sip_msg_hdr_next(m, i)) {
			struct slice rest = m->hdrs[i].value;
			int r;
			while ((r = list_next(&rest, &el, &e)) > 0)
				n++;
			if (r < 0)
				rc = -1;
		}
		if (n > UINT16_MAX)
			rc =
			    fail(&e, SIP_E_TOO_LARGE, "Too many list elements");
		c->tokens[id].v = NULL;
		c->tokens[id].n = 0;
		if (rc == 0 && n > 0) {
			c->tokens[id].v = arena_alloc(
			    m->arena, sizeof(struct slice) * (size_t)n);
			if (c->tokens[id].v == NULL)
				rc = NOMEM(&e);
		}
		if (rc == 0) {
			int k = 0;
			for (int i = m->first[id]; i >= 0;
			     i = sip_msg_hdr_next(m, i)) {
				struct slice rest = m->hdrs[i].value;
				while (list_next(&rest, &el, &e) > 0)
					c->tokens[id].v[k++] = el;
			}
			c->tokens[id].n = (uint16_t)n;
		}
		cache_set(c, it, rc, &e);
	}
	if (cache_err(c, it, err) < 0)
		return -1;
	if (out != NULL)
		*out = c->tokens[id];
	return c->tokens[id].n;
}

bool
sip_msg_has_token(struct sip_msg *m, enum sip_hdr_id id, const char *token)
{
	struct sip_tokens t;
	if (sip_msg_tokens(m, id, &t, NULL) < 0)
		return false;
	for (uint16_t i = 0; i < t.n; i++)
		if (slice_eq_cstr_nocase(t.v[i], token))
			return true;
	return false;
}

/* ---- validation -------------------------------------------------------- */

static bool
has_dup(const struct sip_msg *m, enum sip_hdr_id id)
{
	int i = m->first[id];
	return i >= 0 && sip_msg_hdr_next(m, i) >= 0;
}

static int validate(struct sip_msg *m, struct sip_err *err);

int
sip_msg_validate(struct sip_msg *m, struct sip_err *err)
{
	struct sip_err e = {SIP_OK, NULL};
	int rc = validate(m, &e);
	if (err != NULL)
		*err = e;
	return rc;
}

/* err is never NULL here, so "absent" and "bad" can be told apart. */
static int
validate(struct sip_msg *m, struct sip_err *err)
{
	if (!slice_eq_cstr_nocase(m->version, "SIP/2.0")) {
		struct slice v = m->version;
		bool looks_sip = slice_has_prefix_nocase(v, "SIP/");
		return fail(err,
		    looks_sip ? SIP_E_BAD_VERSION : SIP_E_BAD_REQUEST,
		    looks_sip ? "Version Not Supported" : "Bad SIP version");
	}
	if (m->is_request) {
		/* Headers make no sense in a Request-URI (RFC 3261 §19.1.5). */
		if (m->ruri.scheme != 0 && m->ruri.headers.p != NULL)
			return fail(err, SIP_E_BAD_REQUEST, "Bad Request-URI");
		if (m->ruri.scheme == 0) {
			struct sip_err ue;
			sip_uri_parse(m->ruri_text, &m->ruri, &ue);
			if (ue.code == SIP_E_UNSUPPORTED_URI) {
				memset(&m->ruri, 0, sizeof m->ruri);
				return fail(err, SIP_E_UNSUPPORTED_URI,
				    "Unsupported URI Scheme");
			}
			memset(&m->ruri, 0, sizeof m->ruri);
			if (strcmp(ue.phrase, "Bad IPv6 reference") == 0)
				return fail(err, SIP_E_BAD_REQUEST, ue.phrase);
			return fail(err, SIP_E_BAD_REQUEST, "Bad Request-URI");
		}
	}
	static const struct {
		enum sip_hdr_id id;
		const char *missing, *dup;
	} mand[] = {
	    {SIP_HDR_VIA, "Missing Via", NULL},
	    {SIP_HDR_FROM, "Missing From", "Duplicate From"},
	    {SIP_HDR_TO, "Missing To", "Duplicate To"},
	    {SIP_HDR_CALL_ID, "Missing Call-ID", "Duplicate Call-ID"},
	    {SIP_HDR_CSEQ, "Missing CSeq", "Duplicate CSeq"},
	    {SIP_HDR_MAX_FORWARDS, "Missing Max-Forwards",
	        "Duplicate Max-Forwards"},
	};
	for (size_t i = 0; i < sizeof mand / sizeof mand[0]; i++) {
		if (mand[i].id == SIP_HDR_MAX_FORWARDS && !m->is_request) {
			if (has_dup(m, mand[i].id))
				return fail(
				    err, SIP_E_BAD_REQUEST, mand[i].dup);
			continue;
		}
		if (m->first[mand[i].id] < 0)
			return fail(err, SIP_E_BAD_REQUEST, mand[i].missing);
		if (mand[i].dup != NULL && has_dup(m, mand[i].id))
			return fail(err, SIP_E_BAD_REQUEST, mand[i].dup);
	}
	if (sip_msg_vias(m, NULL, err) < 0 || sip_msg_from(m, err) == NULL ||
	    sip_msg_to(m, err) == NULL || sip_msg_call_id(m, NULL, err) < 0)
		return -1;
	const struct sip_cseq *cs = sip_msg_cseq(m, err);
	if (cs == NULL)
		return -1;
	if (m->is_request && !slice_eq(cs->method_name, m->method_name))
		return fail(
		    err, SIP_E_BAD_REQUEST, "CSeq method does not match");
	if (sip_msg_max_forwards(m, err) < 0 && err->code != SIP_OK)
		return -1;
	if (m->first[SIP_HDR_EXPIRES] >= 0 && sip_msg_expires(m, err) < 0)
		return -1;
	if (has_dup(m, SIP_HDR_CONTENT_TYPE))
		return fail(err, SIP_E_BAD_REQUEST, "Duplicate Content-Type");
	if (m->body.len > 0 && m->first[SIP_HDR_CONTENT_TYPE] < 0)
		return fail(err, SIP_E_BAD_REQUEST, "Missing Content-Type");
	if (sip_msg_contacts(m, NULL, err) < 0 ||
	    sip_msg_routes(m, NULL, err) < 0 ||
	    sip_msg_record_routes(m, NULL, err) < 0)
		return -1;
	ok(err);
	return 0;
}
