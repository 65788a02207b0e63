/* Unit tests of sip_msg.c: indexing, every lazy accessor, framing and
 * validation. */
#include <stdio.h>
#include <stdlib.h>

#include "sip_msg.h"
#include "tap.h"

static struct arena ar;
static struct sip_msg msg;
static struct sip_err err;

static int
parse(const char *text)
{
	arena_reset(&ar);
	return sip_msg_parse(&msg, text, (uint32_t)strlen(text), &ar, &err);
}

static bool
eq(struct slice s, const char *c)
{
	return slice_eq_cstr(s, c);
}

static const char invite[] =
    "INVITE sip:bob@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776;rport,"
    " SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bKx;received=192.0.2.9\r\n"
    "v: SIP/2.0/TLS proxy.example.org;branch=z9hG4bK3;rport=5099;"
    "received=[2001:db8::9]\r\n"
    "Max-Forwards: 70\r\n"
    "f: \"Alice, \\\"A\\\"\" <sip:alice@example.com>;tag=1928301774\r\n"
    "To: Bob <sip:bob@example.com>\r\n"
    "i: a84b4c76e66710@pc33.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "m: <sip:alice@192.0.2.1:5060;transport=tcp>;expires=60;q=0.5,\r\n"
    " \"x,y\" <sip:a2@h;ob>;+sip.instance=\"<urn:uuid:00000000-0000-1000-"
    "8000-AABBCCDDEEFF>\";reg-id=1\r\n"
    "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
    "Route: <sip:p3.example.com;lr>\r\n"
    "Record-Route: <sip:rr.example.com;lr;ftag=x>\r\n"
    "Supported: 100rel, timer,\r\n"
    "  path\r\n"
    "k: outbound\r\n"
    "Subject:  lunch\r\n"
    "c: application/sdp; charset=utf-8\r\n"
    "User-Agent: test/1.0\r\n"
    "l: 4\r\n"
    "\r\n"
    "v=0\r";

static void
test_invite(void)
{
	CHECK_EQ_INT(parse(invite), 0);
	CHECK(msg.is_request);
	CHECK_EQ_INT(msg.method, SIP_M_INVITE);
	CHECK(eq(msg.ruri.host, "example.com"));
	CHECK(eq(msg.ruri.user, "bob"));
	CHECK(eq(msg.version, "SIP/2.0"));
	CHECK(eq(msg.body, "v=0\r"));
	CHECK_EQ_INT(sip_msg_validate(&msg, &err), 0);

	const struct sip_via *v;
	CHECK_EQ_INT(sip_msg_vias(&msg, &v, &err), 3);
	CHECK(eq(v[0].host, "192.0.2.1") && v[0].port == 5060);
	CHECK(eq(v[0].transport, "UDP") && eq(v[0].proto, "SIP/2.0"));
	CHECK(
	    eq(v[0].branch, "z9hG4bK776") && v[0].has_rport && v[0].rport == 0);
	CHECK(
	    v[1].is_ipv6 && eq(v[1].host, "2001:db8::1") && v[1].port == 5070);
	CHECK(eq(v[1].received, "192.0.2.9") && !v[1].has_rport);
	CHECK(eq(v[2].host, "proxy.example.org") && v[2].port == 0);
	CHECK(v[2].rport == 5099 && eq(v[2].received, "2001:db8::9"));
	CHECK_EQ_INT(v[2].hdr_index, 1);
	CHECK(sip_msg_top_via(&msg, &err) == v);

	const struct sip_nameaddr *f = sip_msg_from(&msg, &err);
	CHECK(f != NULL && eq(f->tag, "1928301774"));
	CHECK(f != NULL && eq(f->display, "Alice, \\\"A\\\""));
	CHECK(f != NULL && eq(f->uri.user, "alice"));
	const struct sip_nameaddr *t = sip_msg_to(&msg, &err);
	CHECK(t != NULL && t->tag.len == 0 && eq(t->display, "Bob"));

	struct slice cid;
	CHECK_EQ_INT(sip_msg_call_id(&msg, &cid, &err), 0);
	CHECK(eq(cid, "a84b4c76e66710@pc33.example.com"));
	const struct sip_cseq *cs = sip_msg_cseq(&msg, &err);
	CHECK(cs != NULL && cs->num == 314159 && cs->method == SIP_M_INVITE);
	CHECK_EQ_INT(sip_msg_max_forwards(&msg, &err), 70);
	CHECK_EQ_INT(sip_msg_expires(&msg, &err), -1);
	CHECK(err.code == SIP_OK);
	CHECK_EQ_INT(sip_msg_content_length(&msg, &err), 4);
	CHECK(eq(sip_msg_content_type(&msg), "application/sdp"));
	CHECK(eq(sip_msg_user_agent(&msg), "test/1.0"));

	const struct sip_contact *c;
	CHECK_EQ_INT(sip_msg_contacts(&msg, &c, &err), 2);
	CHECK(c[0].expires == 60 && c[0].q == 500 && !c[0].is_star);
	CHECK(eq(c[0].na.uri.transport, "tcp") && c[0].na.uri.port == 5060);
	CHECK(eq(c[1].na.display, "x,y") && c[1].na.uri.ob.p != NULL);
	CHECK(eq(
	    c[1].instance, "<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"));
	CHECK(c[1].reg_id == 1 && c[1].expires == -1 && c[1].q == -1);

	const struct sip_nameaddr *r;
	CHECK_EQ_INT(sip_msg_routes(&msg, &r, &err), 3);
	CHECK(eq(r[0].uri.host, "p1.example.com") && r[0].uri.has_lr);
	CHECK(eq(r[2].uri.host, "p3.example.com") && r[2].hdr_index != 0);
	CHECK_EQ_INT(sip_msg_record_routes(&msg, &r, &err), 1);
	CHECK_EQ_INT(sip_msg_paths(&msg, &r, &err), 0);

	struct sip_tokens tk;
	CHECK_EQ_INT(sip_msg_tokens(&msg, SIP_HDR_SUPPORTED, &tk, &err), 4);
	CHECK(eq(tk.v[0], "100rel") && eq(tk.v[2], "path") &&
	    eq(tk.v[3], "outbound"));
	CHECK(sip_msg_has_token(&msg, SIP_HDR_SUPPORTED, "timer"));
	CHECK(!sip_msg_has_token(&msg, SIP_HDR_SUPPORTED, "gruu"));
	CHECK(!sip_msg_has_token(&msg, SIP_HDR_REQUIRE, "gruu"));

	const struct sip_hdr *h = sip_msg_hdr_by_name(&msg, "Subject");
	CHECK(h != NULL && eq(h->value, "lunch"));
	h = sip_msg_hdr_by_name(&msg, "call-id");
	CHECK(h != NULL && eq(h->name, "i"));
	CHECK(sip_msg_hdr_by_name(&msg, "X-None") == NULL);
	int i = msg.first[SIP_HDR_ROUTE];
	CHECK(sip_msg_hdr_next(&msg, i) > i);
	CHECK(sip_msg_hdr_next(&msg, sip_msg_hdr_next(&msg, i)) == -1);
}

static void
test_response_and_lws(void)
{
	const char *r = "\r\nSIP/2.0 180 Ringing Now\r\n"
	                "Via  :  SIP / 2.0 / UDP\r\n"
	                "   host.example.com : 5062 ; branch = z9hG4bKa\r\n"
	                "From: <sip:a@b>;tag=1\r\nTo: sip:c@d;tag=2\r\n"
	                "Call-ID: x\r\nCSeq: 1\r\n\tINVITE\r\n"
	                "Content-Length: 0\r\n\r\n";
	CHECK_EQ_INT(parse(r), 0);
	CHECK(!msg.is_request && msg.status == 180);
	CHECK(eq(msg.reason, "Ringing Now"));
	const struct sip_via *v = sip_msg_top_via(&msg, &err);
	CHECK(v != NULL && eq(v->host, "host.example.com") && v->port == 5062);
	CHECK(v != NULL && eq(v->branch, "z9hG4bKa"));
	const struct sip_nameaddr *t = sip_msg_to(&msg, &err);
	CHECK(t != NULL && eq(t->tag, "2") && eq(t->uri_text, "sip:c@d"));
	const struct sip_cseq *cs = sip_msg_cseq(&msg, &err);
	CHECK(cs != NULL && cs->num == 1 && cs->method == SIP_M_INVITE);
	CHECK_EQ_INT(sip_msg_validate(&msg, &err), 0);
	CHECK_EQ_INT(sip_msg_content_length(&msg, &err), 0);
}

static void
test_register_auth(void)
{
	const char *r =
	    "REGISTER sip:example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:u@example.com>;tag=a\r\n"
	    "To: <sip:u@example.com>\r\nCall-ID: c1\r\nCSeq: 2 REGISTER\r\n"
	    "Contact: *\r\nExpires: 99999999999\r\n"
	    "Authorization: Digest username=\"u\\\"x\", realm=\"example.com\","
	    "\r\n nonce=\"abc,def\", uri=\"sip:example.com\", "
	    "response=\"0123456789abcdef0123456789abcdef\",algorithm=MD5,"
	    "cnonce=\"cn\", qop=auth, nc=00000001, opaque=\"op\"\r\n"
	    "Proxy-Authorization: Digest username=\"p\", realm=\"r\"\r\n"
	    "Proxy-Authorization: Digest username=\"q\", realm=\"r\"\r\n"
	    "Content-Length: 0\r\n\r\n";
	CHECK_EQ_INT(parse(r), 0);
	CHECK_EQ_INT(sip_msg_validate(&msg, &err), 0);
	const struct sip_contact *c;
	CHECK_EQ_INT(sip_msg_contacts(&msg, &c, &err), 1);
	CHECK(c[0].is_star);
	CHECK_EQ_INT(sip_msg_expires(&msg, &err), 4294967295LL);
	const struct sip_auth *a;
	CHECK_EQ_INT(sip_msg_auths(&msg, SIP_HDR_AUTHORIZATION, &a, &err), 1);
	CHECK(eq(a->scheme, "Digest") && eq(a->username, "u\"x"));
	CHECK(eq(a->nonce, "abc,def") && eq(a->realm, "example.com"));
	CHECK(eq(a->algorithm, "MD5") && eq(a->qop, "auth"));
	CHECK(eq(a->nc, "00000001") && eq(a->cnonce, "cn"));
	CHECK(eq(a->opaque, "op") && eq(a->uri, "sip:example.com"));
	CHECK(a->response.len == 32 && !a->stale);
	CHECK_EQ_INT(
	    sip_msg_auths(&msg, SIP_HDR_PROXY_AUTHORIZATION, &a, &err), 2);
	CHECK(eq(a[1].username, "q"));

	struct sip_auth w;
	CHECK_EQ_INT(sip_auth_parse(SLICE_LIT("Digest realm=\"r\", "
	                                      "qop=\"auth,auth-int\", "
	                                      "nonce=\"n\", stale=TRUE, "
	                                      "algorithm=SHA-256"),
	                 &w, &err),
	    0);
	CHECK(w.stale && eq(w.qop, "auth,auth-int") &&
	    eq(w.algorithm, "SHA-256"));
	CHECK_EQ_INT(
	    sip_auth_parse(SLICE_LIT("Digest realm=\"r"), &w, &err), -1);
	CHECK_STR(err.phrase, "Unterminated quoted string");
	CHECK_EQ_INT(
	    sip_auth_parse(SLICE_LIT("Digest realm=\"r\" nonce=x"), &w, &err),
	    -1);
	CHECK_EQ_INT(sip_auth_parse(SLICE_LIT("Basic dXNlcg=="), &w, &err), 0);
	CHECK(eq(w.scheme, "Basic"));
}

struct bad_case {
	const char *hdrs; /* replaces the default header block */
	const char *phrase;
	enum sip_err_code code;
	bool parse_fails;
};

#define BASE_VIA "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
#define BASE_REST \
	"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\n" \
	"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"

static void
test_invalid(void)
{
	static const struct bad_case cases[] = {
	    {BASE_REST, "Missing Via", SIP_E_BAD_REQUEST, false},
	    {BASE_VIA "To: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n"
	              "Max-Forwards: 70\r\n",
	        "Missing From", SIP_E_BAD_REQUEST, false},
	    {BASE_VIA "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n"
	              "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n",
	        "Missing Call-ID", SIP_E_BAD_REQUEST, false},
	    {BASE_VIA "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n"
	              "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n",
	        "Missing Max-Forwards", SIP_E_BAD_REQUEST, false},
	    {BASE_VIA "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n"
	              "Call-ID: x\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n",
	        "CSeq method does not match", SIP_E_BAD_REQUEST, false},
	    {BASE_VIA "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n"
	              "Call-ID: x\r\nCSeq: -1 OPTIONS\r\nMax-Forwards: 70\r\n",
	        "Bad CSeq", SIP_E_BAD_REQUEST, false},
	    {BASE_VIA "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n"
	              "Call-ID: x\r\nCSeq: 2147483648 OPTIONS\r\n"
	              "Max-Forwards: 70\r\n",
	        "Bad CSeq", SIP_E_BAD_REQUEST, false},
	    {BASE_VIA "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n"
	              "Call-ID: x\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 256\r\n",
	        "Bad Max-Forwards", SIP_E_BAD_REQUEST, false},
	    {"Via: SIP/2.0/UDP [2001:db8::1;branch=z\r\n" BASE_REST,
	        "Bad IPv6 reference", SIP_E_BAD_REQUEST, false},
	    {"Via: SIP/2.0/UDP 2001:db8::1;branch=z\r\n" BASE_REST,
	        "Bad IPv6 reference", SIP_E_BAD_REQUEST, false},
	    {"Via: SIP/2.0/UDP h:70000\r\n" BASE_REST, "Bad Via port",
	        SIP_E_BAD_REQUEST, false},
	    {"Via: SIP/2.0 h\r\n" BASE_REST, "Bad Via", SIP_E_BAD_REQUEST,
	        false},
	    {BASE_VIA "From: \"Alice <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n"
	              "Call-ID: x\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n",
	        "Unterminated quoted string", SIP_E_BAD_REQUEST, false},
	    {BASE_VIA "From: Bell, Alex <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n"
	              "Call-ID: x\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n",
	        "Bad From", SIP_E_BAD_REQUEST, false},
	    {BASE_VIA BASE_REST "To: <sip:e@f>\r\n", "Duplicate To",
	        SIP_E_BAD_REQUEST, false},
	    {BASE_VIA BASE_REST "Contact: *, <sip:a@b>\r\n", "Bad Contact *",
	        SIP_E_BAD_REQUEST, false},
	    {BASE_VIA BASE_REST "Contact: <sip:a@b>;q=2\r\n", "Bad Contact q",
	        SIP_E_BAD_REQUEST, false},
	    {BASE_VIA BASE_REST "Contact: <sip:a@b>;expires=x\r\n",
	        "Bad Contact expires", SIP_E_BAD_REQUEST, false},
	    {BASE_VIA BASE_REST "Expires: soon\r\n", "Bad Expires",
	        SIP_E_BAD_REQUEST, false},
	    {BASE_VIA BASE_REST "Content-Length: -1\r\n", "Bad Content-Length",
	        SIP_E_BAD_REQUEST, true},
	    {BASE_VIA BASE_REST "Content-Length: 99999999999999999999\r\n",
	        "Bad Content-Length", SIP_E_BAD_REQUEST, true},
	    {BASE_VIA BASE_REST "Content-Length: 50\r\n",
	        "Content-Length exceeds body", SIP_E_BAD_REQUEST, true},
	    {BASE_VIA BASE_REST "l: 1\r\nContent-Length: 2\r\n",
	        "Conflicting Content-Length", SIP_E_BAD_REQUEST, true},
	    {BASE_VIA BASE_REST " folded-first\r\n", NULL, SIP_OK, false},
	    {BASE_VIA BASE_REST "NoColon\r\n", "Bad header line",
	        SIP_E_BAD_REQUEST, true},
	    {BASE_VIA BASE_REST "Route: <sip:a@b;lr\r\n", "Unterminated <",
	        SIP_E_BAD_REQUEST, false},
	};
	char buf[2048];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(buf, sizeof buf, "OPTIONS sip:c@d SIP/2.0\r\n%s\r\n",
		    cases[i].hdrs);
		int rc = parse(buf);
		if (cases[i].phrase == NULL) {
			/* A continuation line right after a header is legal:
			 * folded into the previous value. */
			CHECK_EQ_INT(rc, 0);
			continue;
		}
		if (cases[i].parse_fails) {
			CHECK_EQ_INT(rc, -1);
		} else {
			CHECK_EQ_INT(rc, 0);
			CHECK_EQ_INT(sip_msg_validate(&msg, &err), -1);
		}
		CHECK_EQ_INT(err.code, cases[i].code);
		if (err.phrase == NULL || strcmp(err.phrase, cases[i].phrase))
			printf("# case %zu: got %s\n", i,
			    err.phrase ? err.phrase : "(null)");
		CHECK(err.phrase != NULL &&
		    strcmp(err.phrase, cases[i].phrase) == 0);
	}
	CHECK_EQ_INT(
	    parse("OPTIONS sip:c@d SIP/3.0\r\n" BASE_VIA BASE_REST "\r\n"), 0);
	CHECK_EQ_INT(sip_msg_validate(&msg, &err), -1);
	CHECK_EQ_INT(err.code, SIP_E_BAD_VERSION);
	CHECK_EQ_INT(sip_err_status(err.code), 505);
	CHECK_EQ_INT(
	    parse("OPTIONS http://c/d SIP/2.0\r\n" BASE_VIA BASE_REST "\r\n"),
	    0);
	CHECK_EQ_INT(sip_msg_validate(&msg, &err), -1);
	CHECK_EQ_INT(err.code, SIP_E_UNSUPPORTED_URI);
	CHECK_EQ_INT(
	    parse(
	        "OPTIONS sip:c@d extra SIP/2.0\r\n" BASE_VIA BASE_REST "\r\n"),
	    0);
	CHECK_EQ_INT(sip_msg_validate(&msg, &err), -1);
	CHECK_STR(err.phrase, "Bad Request-URI");
	CHECK_EQ_INT(
	    parse("OPTIONS sip:c@d SIP/2.0\r\n" BASE_VIA BASE_REST), -1);
	CHECK_STR(err.phrase, "Missing end of headers");
	CHECK_EQ_INT(parse("SIP/2.0 99 Low\r\n\r\n"), -1);
	CHECK_EQ_INT(parse(""), -1);
	CHECK_EQ_INT(parse("\r\n\r\n"), -1);
}

static void
test_datagram_body(void)
{
	/* Bytes after Content-Length are ignored; without it, the rest is
	 * the body. */
	CHECK_EQ_INT(parse("OPTIONS sip:c@d SIP/2.0\r\n" BASE_VIA BASE_REST
	                   "Content-Type: text/plain\r\n"
	                   "Content-Length: 3\r\n\r\nabcdef"),
	    0);
	CHECK(eq(msg.body, "abc"));
	CHECK_EQ_INT(msg.len,
	    strlen("OPTIONS sip:c@d SIP/2.0\r\n" BASE_VIA BASE_REST
	           "Content-Type: text/plain\r\n"
	           "Content-Length: 3\r\n\r\nabc"));
	CHECK_EQ_INT(parse("OPTIONS sip:c@d SIP/2.0\r\n" BASE_VIA BASE_REST
	                   "Content-Type: text/plain\r\n\r\nabcdef"),
	    0);
	CHECK(eq(msg.body, "abcdef"));
	CHECK_EQ_INT(sip_msg_content_length(&msg, &err), -1);
	CHECK_EQ_INT(sip_msg_validate(&msg, &err), 0);
	/* Body without Content-Type. */
	CHECK_EQ_INT(
	    parse("OPTIONS sip:c@d SIP/2.0\r\n" BASE_VIA BASE_REST "\r\nxyz"),
	    0);
	CHECK_EQ_INT(sip_msg_validate(&msg, &err), -1);
	CHECK_STR(err.phrase, "Missing Content-Type");
	/* LF-only line ends. */
	CHECK_EQ_INT(parse("OPTIONS sip:c@d SIP/2.0\nVia: SIP/2.0/UDP h\n"
	                   "From: <sip:a@b>;tag=1\nTo: <sip:c@d>\nCall-ID: x\n"
	                   "CSeq: 1 OPTIONS\nMax-Forwards: 0\nl: 0\n\n"),
	    0);
	CHECK_EQ_INT(sip_msg_validate(&msg, &err), 0);
	CHECK_EQ_INT(sip_msg_max_forwards(&msg, &err), 0);
}

static void
test_lists_and_others(void)
{
	const char *r =
	    "REGISTER sip:example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/TCP h;branch=z9hG4bK1;received=192.0.2.1;rport=1\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:u@example.com>;tag=a\r\n"
	    "To: <sip:u@example.com>\r\nCall-ID: c1\r\nCSeq: 2 REGISTER\r\n"
	    "Path: <sip:p1.example.com;lr>,<sip:p2.example.com;lr>\r\n"
	    "Path: <sip:[2001:db8::5]:5070;lr;ob>\r\n"
	    "X-A: one\r\ns: first subject\r\nX-A: two\r\n"
	    "Subject: second subject\r\n"
	    "Allow: INVITE,ACK , BYE\r\nAllow: OPTIONS\r\n"
	    "Require: outbound\r\nProxy-Require: sec-agree\r\n"
	    "r: \"Carol\" <sip:carol@example.com?Replaces=abc%40h>\r\n"
	    "Contact: <sip:u@192.0.2.1>;expires=0, <sip:u@192.0.2.2>;q=0\r\n"
	    "Content-Length: 0\r\n\r\n";
	CHECK_EQ_INT(parse(r), 0);
	CHECK_EQ_INT(sip_msg_validate(&msg, &err), 0);
	const struct sip_nameaddr *p;
	CHECK_EQ_INT(sip_msg_paths(&msg, &p, &err), 3);
	CHECK(p[2].uri.is_ipv6 && p[2].uri.port == 5070 && p[2].uri.has_lr);
	CHECK(p[2].uri.ob.p != NULL);
	int i = msg.first[SIP_HDR_OTHER];
	CHECK(i >= 0 && eq(msg.hdrs[i].name, "X-A"));
	int j = sip_msg_hdr_next(&msg, i);
	CHECK(j > i && eq(msg.hdrs[j].value, "two"));
	const struct sip_hdr *sh = sip_msg_hdr_by_name(&msg, "Subject");
	CHECK(sh != NULL && eq(sh->value, "first subject"));
	int k = sip_msg_hdr_next(&msg, (int)(sh - msg.hdrs));
	CHECK(k >= 0 && eq(msg.hdrs[k].value, "second subject"));
	CHECK(sip_msg_hdr_by_name(&msg, "s") == sh);
	struct sip_tokens t;
	CHECK_EQ_INT(sip_msg_tokens(&msg, SIP_HDR_ALLOW, &t, &err), 4);
	CHECK(eq(t.v[1], "ACK") && eq(t.v[2], "BYE") && eq(t.v[3], "OPTIONS"));
	CHECK(sip_msg_has_token(&msg, SIP_HDR_REQUIRE, "outbound"));
	CHECK(sip_msg_has_token(&msg, SIP_HDR_PROXY_REQUIRE, "sec-agree"));
	const struct sip_hdr *rt = sip_msg_hdr(&msg, SIP_HDR_REFER_TO);
	struct sip_nameaddr na;
	CHECK(rt != NULL);
	CHECK_EQ_INT(sip_nameaddr_parse(rt->value, &na, &err), 0);
	CHECK(
	    eq(na.display, "Carol") && eq(na.uri.headers, "Replaces=abc%40h"));
	const struct sip_contact *c;
	CHECK_EQ_INT(sip_msg_contacts(&msg, &c, &err), 2);
	CHECK(c[0].expires == 0 && c[1].q == 0 && c[1].expires == -1);
	const struct sip_via *v = sip_msg_top_via(&msg, &err);
	CHECK(v != NULL && v->rport == 1 && eq(v->received, "192.0.2.1"));
	CHECK(eq(v->params, "branch=z9hG4bK1;received=192.0.2.1;rport=1"));
	CHECK(eq(v->raw,
	    "SIP/2.0/TCP h;branch=z9hG4bK1;received=192.0.2.1;"
	    "rport=1"));
	/* Cached: the second call returns the same array. */
	const struct sip_contact *c2;
	CHECK_EQ_INT(sip_msg_contacts(&msg, &c2, &err), 2);
	CHECK(c2 == c);
	/* Tel URIs and unknown schemes in name-addr. */
	CHECK_EQ_INT(
	    sip_nameaddr_parse(SLICE_LIT("<tel:+1-555-0100>;tag=x"), &na, &err),
	    0);
	CHECK(na.uri.scheme == SIP_URI_TEL && eq(na.tag, "x"));
	CHECK_EQ_INT(
	    sip_nameaddr_parse(SLICE_LIT("urn:service:sos"), &na, &err), 0);
	CHECK(na.uri.scheme == 0 && eq(na.uri_text, "urn:service:sos"));
	CHECK_EQ_INT(
	    sip_nameaddr_parse(SLICE_LIT("<sip:a@b> junk"), &na, &err), -1);
	CHECK_EQ_INT(
	    sip_nameaddr_parse(SLICE_LIT("<sip:a@b>;tag="), &na, &err), -1);
}

static void
test_limits(void)
{
	size_t cap = 200000;
	char *big = malloc(cap);
	int n = snprintf(big, cap, "OPTIONS sip:c@d SIP/2.0\r\n");
	for (int i = 0; i < SIP_MAX_HEADERS + 1; i++)
		n += snprintf(big + n, cap - (size_t)n, "X-H%d: v\r\n", i);
	n += snprintf(big + n, cap - (size_t)n, "\r\n");
	CHECK_EQ_INT(parse(big), -1);
	CHECK_EQ_INT(err.code, SIP_E_TOO_LARGE);
	CHECK_STR(err.phrase, "Too many headers");

	n = snprintf(big, cap, "OPTIONS sip:c@d SIP/2.0\r\nX-Long: ");
	memset(big + n, 'a', SIP_MAX_LINE);
	n += SIP_MAX_LINE;
	n += snprintf(big + n, cap - (size_t)n, "\r\n\r\n");
	CHECK_EQ_INT(parse(big), -1);
	CHECK_STR(err.phrase, "Header line too long");

	n = snprintf(big, cap, "OPTIONS sip:c@d SIP/2.0\r\nVia: ");
	for (int i = 0; i < SIP_MAX_VIAS + 1; i++)
		n += snprintf(big + n, cap - (size_t)n, "%sSIP/2.0/UDP h%d",
		    i ? "," : "", i);
	n += snprintf(big + n, cap - (size_t)n, "\r\n" BASE_REST "\r\n");
	CHECK_EQ_INT(parse(big), 0);
	CHECK_EQ_INT(sip_msg_vias(&msg, NULL, &err), -1);
	CHECK_STR(err.phrase, "Too many Via headers");
	/* The error is cached. */
	CHECK_EQ_INT(sip_msg_vias(&msg, NULL, &err), -1);
	CHECK_STR(err.phrase, "Too many Via headers");

	memset(big, 'x', cap);
	CHECK_EQ_INT(
	    sip_msg_parse(&msg, big, SIP_MAX_MSG_SIZE + 1, &ar, &err), -1);
	CHECK_EQ_INT(err.code, SIP_E_TOO_LARGE);
	free(big);

	/* A tiny arena: accessors fail with SIP_E_NOMEM, never crash. */
	struct arena small;
	arena_init(&small, 64, 64);
	CHECK_EQ_INT(
	    sip_msg_parse(&msg, invite, sizeof invite - 1, &small, &err), 0);
	CHECK_EQ_INT(sip_msg_vias(&msg, NULL, &err), -1);
	CHECK_EQ_INT(err.code, SIP_E_NOMEM);
	CHECK(sip_msg_from(&msg, &err) == NULL);
	CHECK_EQ_INT(sip_msg_validate(&msg, &err), -1);
	arena_free(&small);
}

static void
test_frame(void)
{
	uint32_t skip;
	const char two[] = "\r\n\r\nOPTIONS sip:a SIP/2.0\r\nl: 3\r\n\r\nabc"
	                   "OPTIONS sip:b SIP/2.0\r\nContent-Length: 0\r\n\r\n";
	int32_t n = sip_msg_frame(two, sizeof two - 1, &skip, &err);
	CHECK_EQ_INT(skip, 4);
	CHECK_EQ_INT(n, strlen("OPTIONS sip:a SIP/2.0\r\nl: 3\r\n\r\nabc"));
	uint32_t off = skip + (uint32_t)n;
	n = sip_msg_frame(two + off, sizeof two - 1 - off, &skip, &err);
	CHECK_EQ_INT(skip, 0);
	CHECK_EQ_INT((uint32_t)n, sizeof two - 1 - off);
	/* Need more bytes: headers incomplete, body incomplete. */
	CHECK_EQ_INT(sip_msg_frame(two, 20, &skip, &err), 0);
	CHECK_EQ_INT(sip_msg_frame(two, 37, &skip, &err), 0);
	CHECK_EQ_INT(sip_msg_frame("\r\n", 2, &skip, &err), 0);
	CHECK_EQ_INT(skip, 2);
	const char bad[] = "OPTIONS sip:a SIP/2.0\r\nContent-Length: x\r\n\r\n";
	CHECK_EQ_INT(sip_msg_frame(bad, sizeof bad - 1, &skip, &err), -1);
	CHECK_EQ_INT(err.code, SIP_E_BAD_FRAMING);
	const char nocl[] = "OPTIONS sip:a SIP/2.0\r\nVia: x\r\n\r\n";
	CHECK_EQ_INT(sip_msg_frame(nocl, sizeof nocl - 1, &skip, &err), -1);
	const char huge[] = "OPTIONS sip:a SIP/2.0\r\nl: 70000\r\n\r\n";
	CHECK_EQ_INT(sip_msg_frame(huge, sizeof huge - 1, &skip, &err), -1);
	CHECK_EQ_INT(err.code, SIP_E_TOO_LARGE);
	/* Folded Content-Length value. */
	const char fold[] = "OPTIONS sip:a SIP/2.0\r\nContent-Length:\r\n 2\r\n"
	                    "\r\nab";
	CHECK_EQ_INT(
	    sip_msg_frame(fold, sizeof fold - 1, &skip, &err), sizeof fold - 1);
	char *junk = malloc(SIP_MAX_MSG_SIZE + 10);
	memset(junk, 'a', SIP_MAX_MSG_SIZE + 10);
	CHECK_EQ_INT(
	    sip_msg_frame(junk, SIP_MAX_MSG_SIZE + 10, &skip, &err), -1);
	CHECK_EQ_INT(err.code, SIP_E_TOO_LARGE);
	free(junk);
}

static void
test_tables(void)
{
	CHECK_EQ_INT(sip_hdr_lookup(SLICE_LIT("VIA")), SIP_HDR_VIA);
	CHECK_EQ_INT(sip_hdr_lookup(SLICE_LIT("v")), SIP_HDR_VIA);
	CHECK_EQ_INT(
	    sip_hdr_lookup(SLICE_LIT("record-route")), SIP_HDR_RECORD_ROUTE);
	CHECK_EQ_INT(sip_hdr_lookup(SLICE_LIT("x")), SIP_HDR_SESSION_EXPIRES);
	CHECK_EQ_INT(sip_hdr_lookup(SLICE_LIT("r")), SIP_HDR_REFER_TO);
	CHECK_EQ_INT(sip_hdr_lookup(SLICE_LIT("o")), SIP_HDR_EVENT);
	CHECK_EQ_INT(sip_hdr_lookup(SLICE_LIT("s")), SIP_HDR_OTHER);
	CHECK_EQ_INT(sip_hdr_lookup(SLICE_LIT("X-Via")), SIP_HDR_OTHER);
	for (int id = 1; id < SIP_HDR__COUNT; id++)
		CHECK_EQ_INT(sip_hdr_lookup(slice_cstr(sip_hdr_name(id))), id);
	CHECK_STR(sip_hdr_name(SIP_HDR_CALL_ID), "Call-ID");
	CHECK_STR(sip_hdr_compact_long('u'), "Allow-Events");
	CHECK(sip_hdr_compact_long('z') == NULL);
	for (int mm = 1; mm <= SIP_M_UPDATE; mm++)
		CHECK_EQ_INT(
		    sip_method_from_slice(slice_cstr(sip_method_name(mm))), mm);
	CHECK_EQ_INT(sip_method_from_slice(SLICE_LIT("invite")), SIP_M_UNKNOWN);
	CHECK_STR(sip_reason_phrase(183), "Session Progress");
	CHECK_STR(sip_reason_phrase(799), "Unknown");
}

int
main(void)
{
	arena_init(&ar, 4096, 1 << 20);
	TEST_RUN(test_invite);
	TEST_RUN(test_response_and_lws);
	TEST_RUN(test_register_auth);
	TEST_RUN(test_invalid);
	TEST_RUN(test_datagram_body);
	TEST_RUN(test_lists_and_others);
	TEST_RUN(test_limits);
	TEST_RUN(test_frame);
	TEST_RUN(test_tables);
	arena_free(&ar);
	return tap_done();
}
