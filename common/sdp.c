/*
 * sdp: a line table over the body plus, per media section, what a media
 * relay needs. Parsing is strict about the lines a relay acts on (v=, o=,
 * c=, m=, a=rtcp) and lenient about the rest, since phones put anything in
 * attributes. sdp_rewrite() walks the line table once and writes the new
 * body with CRLF line ends.
 */
#include <arpa/inet.h>

#include "sdp.h"
#include "wbuf.h"

static int
fail(struct sip_err *err, const char *phrase)
{
	sip_err_set(err, SIP_E_BAD_REQUEST, phrase);
	return -1;
}

/* Splits off the next space-separated field. */
static struct slice
field(struct slice *s)
{
	if (s->len == 0)
		return SLICE_NULL;
	while (s->len > 0 && s->p[0] == ' ') {
		s->p++;
		s->len--;
	}
	uint32_t i = 0;
	while (i < s->len && s->p[i] != ' ')
		i++;
	struct slice f = slice_make(s->p, i);
	s->p += i;
	s->len -= i;
	return f;
}

static bool
addr_valid(struct slice a, int af)
{
	char tmp[INET6_ADDRSTRLEN + 1];
	unsigned char bin[16];
	if (a.len == 0 || a.len >= sizeof tmp)
		return false;
	memcpy(tmp, a.p, a.len);
	tmp[a.len] = '\0';
	if (inet_pton(af == 6 ? AF_INET6 : AF_INET, tmp, bin) == 1)
		return true;
	/* FQDNs are allowed in c= and o= (RFC 8866 §5.7). */
	if (a.len > 253)
		return false;
	bool numeric = true;
	for (uint32_t i = 0; i < a.len; i++)
		numeric &= (a.p[i] >= '0' && a.p[i] <= '9') || a.p[i] == '.';
	if (numeric)
		return false;
	for (uint32_t i = 0; i < a.len; i++) {
		char c = a.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false;
	}
	return af == 4;
}

/* "IN IP4 addr[/ttl[/n]]" -> conn. */
static bool
parse_conn(struct slice v, struct sdp_conn *c)
{
	struct slice nt = field(&v), at = field(&v), addr = field(&v);
	if (!slice_eq_cstr(nt, "IN") || field(&v).len != 0)
		return false;
	if (slice_eq_cstr(at, "IP4"))
		c->af = 4;
	else if (slice_eq_cstr(at, "IP6"))
		c->af = 6;
	else
		return false;
	int32_t slash = slice_find(addr, '/');
	if (slash >= 0)
		addr.len = (uint32_t)slash;
	if (!addr_valid(addr, c->af))
		return false;
	c->addr = addr;
	return true;
}

static bool
parse_port(struct slice s, uint16_t *port)
{
	uint32_t v;
	if (s.len > 5 || !slice_to_u32(s, 65535, &v))
		return false;
	*port = (uint16_t)v;
	return true;
}

static int
parse_m(struct slice v, struct sdp_media *md, struct sip_err *err)
{
	md->type = field(&v);
	struct slice port = field(&v);
	md->proto = field(&v);
	while (v.len > 0 && v.p[0] == ' ') {
		v.p++;
		v.len--;
	}
	md->fmts = v;
	if (md->type.len == 0 || md->proto.len == 0)
		return fail(err, "Bad m= line");
	md->nports = 1;
	int32_t slash = slice_find(port, '/');
	if (slash >= 0) {
		uint32_t n;
		struct slice ns = slice_make(
		    port.p + slash + 1, port.len - (uint32_t)slash - 1);
		if (ns.len > 5 || !slice_to_u32(ns, 65535, &n) || n == 0)
			return fail(err, "Bad m= line");
		md->nports = (uint16_t)n;
		port.len = (uint32_t)slash;
	}
	if (!parse_port(port, &md->port))
		return fail(err, "Bad m= line");
	return 0;
}

/* a=rtcp:port [nettype addrtype addr] (RFC 3605) */
static int
parse_rtcp(struct slice v, struct sdp_media *md, struct sip_err *err)
{
	struct slice port = field(&v);
	if (!parse_port(port, &md->rtcp_port) || md->rtcp_port == 0)
		return fail(err, "Bad a=rtcp line");
	while (v.len > 0 && v.p[0] == ' ') {
		v.p++;
		v.len--;
	}
	if (v.len > 0 && !parse_conn(v, &md->rtcp_conn))
		return fail(err, "Bad a=rtcp line");
	return 0;
}

static bool
dir_from(struct slice a, enum sdp_dir *d)
{
	if (slice_eq_cstr(a, "sendrecv"))
		*d = SDP_DIR_SENDRECV;
	else if (slice_eq_cstr(a, "sendonly"))
		*d = SDP_DIR_SENDONLY;
	else if (slice_eq_cstr(a, "recvonly"))
		*d = SDP_DIR_RECVONLY;
	else if (slice_eq_cstr(a, "inactive"))
		*d = SDP_DIR_INACTIVE;
	else
		return false;
	return true;
}

int
sdp_parse(struct slice body, struct sdp *s, struct sip_err *err)
{
	memset(s, 0, sizeof *s);
	uint32_t pos = 0;
	bool have_o = false, session_dir_set = false;
	struct sdp_media *md = NULL;
	while (pos < body.len) {
		const char *lf = memchr(body.p + pos, '\n', body.len - pos);
		uint32_t end = lf == NULL ? body.len : (uint32_t)(lf - body.p);
		struct slice line = slice_make(body.p + pos, end - pos);
		pos = end + 1;
		if (line.len > 0 && line.p[line.len - 1] == '\r')
			line.len--;
		if (line.len == 0) {
			/* Tolerate a trailing empty line only. */
			if (pos < body.len)
				return fail(err, "Bad SDP line");
			break;
		}
		if (line.len < 2 || line.p[1] != '=' || line.p[0] < 'a' ||
		    line.p[0] > 'z')
			return fail(err, "Bad SDP line");
		if (s->nlines >= SDP_MAX_LINES)
			return fail(err, "Too many SDP lines");
		char t = line.p[0];
		struct slice v = slice_make(line.p + 2, line.len - 2);
		if (s->nlines == 0 && (t != 'v' || !slice_eq_cstr(v, "0")))
			return fail(err, "Bad SDP version");
		struct sdp_line *ln = &s->lines[s->nlines];
		ln->type = t;
		ln->value = v;
		switch (t) {
		case 'o': {
			if (have_o || md != NULL)
				return fail(err, "Bad o= line");
			have_o = true;
			struct slice r = v;
			for (int i = 0; i < 3; i++)
				if (field(&r).len == 0)
					return fail(err, "Bad o= line");
			struct sdp_conn c;
			if (!parse_conn(r, &c))
				return fail(err, "Bad o= line");
			s->origin_addr = c.addr;
			s->origin_af = c.af;
			break;
		}
		case 'c': {
			struct sdp_conn c = {SLICE_NULL, 0};
			if (!parse_conn(v, &c))
				return fail(err, "Bad c= line");
			if (md != NULL) {
				if (md->has_own_conn)
					return fail(err, "Bad c= line");
				md->conn = c;
				md->has_own_conn = true;
			} else {
				if (s->conn.af != 0)
					return fail(err, "Bad c= line");
				s->conn = c;
			}
			break;
		}
		case 'm':
			if (s->nmedia >= SDP_MAX_MEDIA)
				return fail(err, "Too many media sections");
			md = &s->media[s->nmedia++];
			if (parse_m(v, md, err) < 0)
				return -1;
			md->dir = session_dir_set ? s->dir : SDP_DIR_SENDRECV;
			md->first_line = s->nlines;
			break;
		case 'a': {
			int32_t colon = slice_find(v, ':');
			struct slice name =
			    colon < 0 ? v : slice_make(v.p, (uint32_t)colon);
			struct slice val = colon < 0
			    ? SLICE_NULL
			    : slice_make(
			          v.p + colon + 1, v.len - (uint32_t)colon - 1);
			enum sdp_dir d;
			if (dir_from(name, &d) && colon < 0) {
				if (md != NULL) {
					md->dir = d;
				} else {
					s->dir = d;
					session_dir_set = true;
				}
			} else if (md != NULL && slice_eq_cstr(name, "rtcp")) {
				if (parse_rtcp(val, md, err) < 0)
					return -1;
			} else if (md != NULL &&
			    slice_eq_cstr(name, "rtcp-mux")) {
				md->rtcp_mux = true;
			} else if (md != NULL &&
			    slice_eq_cstr(name, "candidate")) {
				if (val.len == 0)
					return fail(
					    err, "Bad a=candidate line");
				md->ncandidates++;
			}
			break;
		}
		default:
			break;
		}
		s->nlines++;
		if (md != NULL)
			md->nlines = (uint16_t)(s->nlines - md->first_line);
	}
	if (s->nlines == 0)
		return fail(err, "Empty SDP");
	if (!have_o)
		return fail(err, "Missing o= line");
	for (uint16_t i = 0; i < s->nmedia; i++) {
		struct sdp_media *m = &s->media[i];
		if (!m->has_own_conn)
			m->conn = s->conn;
		if (m->conn.af == 0 && m->port != 0)
			return fail(err, "Missing c= line");
	}
	sip_err_set(err, SIP_OK, NULL);
	return 0;
}

/* ---- rewrite ----------------------------------------------------------- */

static void
eol(struct wbuf *w)
{
	put(w, "\r\n", 2);
	w->lines++;
}

static void
put_conn(struct wbuf *w, const char *prefix, int af, const char *addr)
{
	put_str(w, prefix);
	put_str(w, af == 6 ? "IN IP6 " : "IN IP4 ");
	put_str(w, addr);
}

static bool
is_ice_attr(struct slice v)
{
	static const char *const names[] = {"candidate", "ice-ufrag", "ice-pwd",
	    "ice-options", "ice-lite", "ice-mismatch", "remote-candidates",
	    "end-of-candidates", "ice-pacing"};
	int32_t colon = slice_find(v, ':');
	struct slice name = colon < 0 ? v : slice_make(v.p, (uint32_t)colon);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (slice_eq_cstr(name, names[i]))
			return true;
	return false;
}

/* Which media section line i belongs to, or -1 for the session part. */
static int
media_of(const struct sdp *s, uint16_t i)
{
	for (int k = s->nmedia - 1; k >= 0; k--)
		if (i >= s->media[k].first_line)
			return k;
	return -1;
}

static void
rewrite(const struct sdp *s, const struct sdp_rewrite *rw,
    const struct sdp_media_rw *sess_rw, struct wbuf *w)
{
	for (uint16_t i = 0; i < s->nlines; i++) {
		const struct sdp_line *ln = &s->lines[i];
		int mi = media_of(s, i);
		const struct sdp_media *md = mi >= 0 ? &s->media[mi] : NULL;
		const struct sdp_media_rw *mrw =
		    mi >= 0 && rw->media[mi].set ? &rw->media[mi] : NULL;
		switch (ln->type) {
		case 'o':
			if (rw->origin_addr != NULL) {
				struct slice r = ln->value;
				struct slice f1 = field(&r), f2 = field(&r),
				             f3 = field(&r);
				put_str(w, "o=");
				put_sl(w, f1);
				put(w, " ", 1);
				put_sl(w, f2);
				put(w, " ", 1);
				put_sl(w, f3);
				put_conn(
				    w, " ", rw->origin_af, rw->origin_addr);
				eol(w);
				continue;
			}
			break;
		case 'c':
			if (md == NULL && sess_rw != NULL) {
				put_conn(w, "c=", sess_rw->af, sess_rw->addr);
				eol(w);
				continue;
			}
			if (mrw != NULL) {
				put_conn(w, "c=", mrw->af, mrw->addr);
				eol(w);
				continue;
			}
			break;
		case 'm':
			if (mrw != NULL) {
				put_str(w, "m=");
				put_sl(w, md->type);
				put(w, " ", 1);
				put_u32(w, mrw->port);
				if (md->nports > 1) {
					put(w, "/", 1);
					put_u32(w, md->nports);
				}
				put(w, " ", 1);
				put_sl(w, md->proto);
				if (md->fmts.len > 0) {
					put(w, " ", 1);
					put_sl(w, md->fmts);
				}
				eol(w);
			} else {
				put_str(w, "m=");
				put_sl(w, ln->value);
				eol(w);
			}
			/* A section relying on a session c= that changed gets
			 * a c= of its own with the right address. */
			if (!md->has_own_conn && sess_rw != NULL &&
			    md->conn.af != 0) {
				if (mrw != NULL &&
				    (mrw->af != sess_rw->af ||
				        strcmp(mrw->addr, sess_rw->addr) !=
				            0)) {
					put_conn(w, "c=", mrw->af, mrw->addr);
					eol(w);
				} else if (mrw == NULL) {
					put_str(w,
					    md->conn.af == 6 ? "c=IN IP6 "
					                     : "c=IN IP4 ");
					put_sl(w, md->conn.addr);
					eol(w);
				}
			} else if (!md->has_own_conn && sess_rw == NULL &&
			    mrw != NULL) {
				put_conn(w, "c=", mrw->af, mrw->addr);
				eol(w);
			}
			continue;
		case 'a':
			if (rw->drop_candidates && is_ice_attr(ln->value))
				continue;
			if (mrw != NULL &&
			    slice_has_prefix_nocase(ln->value, "rtcp:")) {
				uint16_t rp = mrw->rtcp_port != 0
				    ? mrw->rtcp_port
				    : (uint16_t)(mrw->port + 1);
				put_str(w, "a=rtcp:");
				put_u32(w, rp);
				if (md->rtcp_conn.af != 0)
					put_conn(w, " ", mrw->af, mrw->addr);
				eol(w);
				continue;
			}
			break;
		default:
			break;
		}
		put(w, &ln->type, 1);
		put(w, "=", 1);
		put_sl(w, ln->value);
		eol(w);
	}
}

struct slice
sdp_rewrite(const struct sdp *s, const struct sdp_rewrite *rw, struct arena *a)
{
	for (uint16_t i = 0; i < s->nmedia; i++) {
		const struct sdp_media_rw *m = &rw->media[i];
		if (m->set &&
		    (m->addr == NULL || (m->af != 4 && m->af != 6) ||
		        strpbrk(m->addr, " \r\n") != NULL))
			return SLICE_NULL;
	}
	if (rw->origin_addr != NULL &&
	    ((rw->origin_af != 4 && rw->origin_af != 6) ||
	        strpbrk(rw->origin_addr, " \r\n") != NULL))
		return SLICE_NULL;
	/* The session c= takes the address of the first rewritten section
	 * that uses it. */
	const struct sdp_media_rw *sess_rw = NULL;
	if (s->conn.af != 0)
		for (uint16_t i = 0; i < s->nmedia && sess_rw == NULL; i++)
			if (rw->media[i].set && !s->media[i].has_own_conn)
				sess_rw = &rw->media[i];
	struct wbuf w = {NULL, 0, 0};
	rewrite(s, rw, sess_rw, &w);
	/* The added c= lines must not make a body we would refuse. */
	if (w.lines > SDP_MAX_LINES)
		return SLICE_NULL;
	char *out = arena_alloc(a, w.n + 1);
	if (out == NULL)
		return SLICE_NULL;
	size_t n = w.n;
	w.p = out;
	w.n = 0;
	rewrite(s, rw, sess_rw, &w);
	out[n] = '\0';
	return slice_make(out, (uint32_t)n);
}
