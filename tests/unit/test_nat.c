/* Unit tests of sbc/nat.c: received/rport (RFC 3581), NAT detection and
 * Contact aliasing, RFC 5626 flow tokens (Path on REGISTER, the Route back
 * to the flow), with the real parser and editor. */
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "nat.h"
#include "tap.h"

static struct arena ar;

static struct sip_msg *
parse(const char *t)
{
	struct sip_msg *m = arena_zalloc(&ar, sizeof *m);
	struct sip_err err;
	if (sip_msg_parse(m, t, (uint32_t)strlen(t), &ar, &err) != 0)
		return NULL;
	return m;
}

static struct ipc_addr
A(const char *ip, uint16_t port) {
	struct ipc_addr a;
	ipc_addr_parse(&a, ip, port);
	return a;
}

#define REQ(via, contact) \
	"INVITE sip:bob@example.com SIP/2.0\r\nVia: " via "\r\n" \
	"Max-Forwards: 70\r\nFrom: <sip:a@example.com>;tag=1\r\n" \
	"To: <sip:bob@example.com>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n" \
	"Contact: " contact "\r\nContent-Length: 0\r\n\r\n"

static const char *
via_of(struct sip_msg *m, const struct ipc_addr *src, bool force)
{
	struct slice v = nat_via_value(m, src, force, &ar);
	return v.p == NULL ? "" : arena_strndup(&ar, v.p, v.len);
}

static void
test_received_rport(void)
{
	struct ipc_addr src = A("192.0.2.9", 40000);
	struct sip_msg *m =
	    parse(REQ("SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1;rport",
	        "<sip:a@10.0.0.2:5060>"));
	CHECK(m != NULL);
	CHECK_STR(via_of(m, &src, false),
	    "SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1;received=192.0.2.9;"
	    "rport=40000");
	/* No rport asked for, not forced: only received. */
	m = parse(REQ(
	    "SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1", "<sip:a@10.0.0.2>"));
	CHECK_STR(via_of(m, &src, false),
	    "SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1;received=192.0.2.9");
	/* Same address and no rport: nothing to change. */
	struct ipc_addr same = A("10.0.0.2", 5060);
	CHECK_STR(via_of(m, &same, false), "");
	/* Forced rport, stale received replaced, other params kept. */
	m = parse(REQ("SIP/2.0/UDP 10.0.0.2:5060;received=1.1.1.1;"
	              "branch=z9hG4bK1;x=\"a;b\"",
	    "<sip:a@10.0.0.2>"));
	CHECK_STR(via_of(m, &src, true),
	    "SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1;x=\"a;b\";"
	    "received=192.0.2.9;rport=40000");
	/* Two Vias on one line: only the first changes. */
	m = parse(REQ("SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK1;rport, "
	              "SIP/2.0/UDP 10.0.0.3;branch=z9hG4bK0",
	    "<sip:a@10.0.0.2>"));
	CHECK_STR(via_of(m, &src, false),
	    "SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK1;received=192.0.2.9;"
	    "rport=40000, SIP/2.0/UDP 10.0.0.3;branch=z9hG4bK0");
	/* IPv6 source: received without brackets (RFC 5118 §4.5). */
	struct ipc_addr v6 = A("2001:db8::9", 5070);
	m = parse(REQ("SIP/2.0/UDP [2001:db8::2];branch=z9hG4bK1;rport",
	    "<sip:a@[2001:db8::2]>"));
	CHECK_STR(via_of(m, &v6, false),
	    "SIP/2.0/UDP [2001:db8::2];branch=z9hG4bK1;received=2001:db8::9;"
	    "rport=5070");
}

/* Aliases m's Contacts to src: as many as n, and the message rendered
 * after holds want (unless NULL). */
static void
check_alias(
    struct sip_msg *m, const struct ipc_addr *src, int n, const char *want)
{
	struct sip_edit ed;
	sip_edit_init(&ed, m, &ar);
	CHECK_EQ_INT(nat_alias_contacts(m, &ed, src), n);
	if (want == NULL)
		return;
	struct slice out = sip_edit_render(&ed);
	CHECK(out.len > 0 &&
	    strstr(arena_strndup(&ar, out.p, out.len), want) != NULL);
}

static void
test_behind_and_alias(void)
{
	struct ipc_addr src = A("192.0.2.9", 40000);
	struct sip_msg *m =
	    parse(REQ("SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1;rport",
	        "\"A\" <sip:a@10.0.0.2:5060;transport=udp>;expires=60"));
	CHECK(nat_is_behind(m, &src));
	check_alias(m, &src, 1,
	    "\r\nContact: \"A\" <sip:a@192.0.2.9:40000;"
	    "transport=udp>;expires=60\r\n");
	/* A UA on a public address is not behind NAT. */
	struct ipc_addr pub = A("198.51.100.7", 5060);
	m = parse(REQ("SIP/2.0/UDP 198.51.100.7;branch=z9hG4bK1",
	    "<sip:b@198.51.100.7>"));
	CHECK(!nat_is_behind(m, &pub));
	check_alias(m, &pub, 0, NULL);
	/* IPv6 contact aliased with brackets. */
	struct ipc_addr v6 = A("2001:db8::9", 5070);
	m = parse(REQ(
	    "SIP/2.0/UDP [fd00::2];branch=z9hG4bK1", "<sip:a@[fd00::2]:5060>"));
	check_alias(m, &v6, 1, "<sip:a@[2001:db8::9]:5070>");
}

#define RESP(status, contact) \
	"SIP/2.0 " status \
	"\r\nVia: SIP/2.0/UDP 203.0.113.1;branch=z9hG4bK1\r\n" \
	"From: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>;tag=2" \
	"\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContact: " contact "\r\n" \
	"Content-Length: 0\r\n\r\n"

/* A NATed UA's 302 names other targets: its Contacts stay as they are,
 * while the same UA's 200 is aliased to where it sent from. */
static void
test_no_alias_in_3xx(void)
{
	struct ipc_addr src = A("192.0.2.9", 40000);
	struct sip_msg *m =
	    parse(RESP("302 Moved Temporarily", "<sip:carol@10.0.0.7:5070>"));
	CHECK(m != NULL && nat_is_behind(m, &src));
	check_alias(m, &src, 0, "\r\nContact: <sip:carol@10.0.0.7:5070>\r\n");
	m = parse(
	    RESP("300 Multiple Choices", "<sip:c@10.0.0.7>, <sip:d@10.0.0.8>"));
	check_alias(m, &src, 0, NULL);
	m = parse(RESP("200 OK", "<sip:bob@10.0.0.2:5060>"));
	check_alias(m, &src, 1, "<sip:bob@192.0.2.9:40000>");
}

#define REG(supported, contact) \
	"REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.2;" \
	"branch=z9hG4bK1\r\nMax-Forwards: 70\r\nFrom: <sip:a@example.com>;" \
	"tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: r\r\nCSeq: 1 " \
	"REGISTER\r\n" supported "Contact: " contact "\r\n" \
	"Content-Length: 0\r\n\r\n"
#define OB_CONTACT \
	"<sip:a@10.0.0.2;transport=tcp>;reg-id=1;" \
	"+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000000000001>\""

static bool
local(void *arg, struct slice host, uint16_t port)
{
	(void)arg;
	return slice_eq_cstr(host, "203.0.113.1") &&
	    (port == 0 || port == 5060);
}

/* The user part of the Path the edge adds to a REGISTER from flow f. */
static const char *
path_of(struct token_keys *ks, const struct ipc_flow *f)
{
	struct sip_msg *m =
	    parse(REG("Supported: path, outbound\r\n", OB_CONTACT));
	if (m == NULL || !nat_ob_wanted(m))
		return "";
	struct sip_edit ed;
	sip_edit_init(&ed, m, &ar);
	if (nat_ob_add_path(m, &ed, ks, f, "203.0.113.1", 5060) != 0)
		return "";
	struct slice out = sip_edit_render(&ed);
	const char *t = arena_strndup(&ar, out.p, out.len);
	const char *p = strstr(t, "\r\nPath: <sip:");
	return p != NULL ? arena_strndup(&ar, p + 2, strcspn(p + 2, "\r")) : "";
}

/* An in-dialog BYE (Via branch z9hG4bK<branch>) whose one Route is
 * <sip:user@rest>; the text is kept in the arena. */
static struct sip_msg *
bye_routed(const char *branch, const char *user, const char *rest)
{
	char req[1024];
	int n = snprintf(req, sizeof req,
	    "BYE sip:a@10.0.0.2 SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK%s\r\n"
	    "Route: <sip:%s@%s>\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:b@example.com>;tag=2\r\n"
	    "To: <sip:a@example.com>;tag=3\r\nCall-ID: c\r\nCSeq: 2 BYE\r\n"
	    "Content-Length: 0\r\n\r\n",
	    branch, user, rest);
	if (n < 0 || (size_t)n >= sizeof req)
		return NULL;
	return parse(arena_strndup(&ar, req, (size_t)n));
}

static void
test_outbound(void)
{
	struct token_keys ks = {0};
	uint8_t k[TOKEN_KEY_LEN];
	memset(k, 3, sizeof k);
	token_keys_add(&ks, k);
	/* Only with Supported: outbound, reg-id and +sip.instance. */
	CHECK(!nat_ob_wanted(parse(REG("", OB_CONTACT))));
	CHECK(!nat_ob_wanted(parse(REG("Supported: outbound\r\n",
	    "<sip:a@10.0.0.2;transport=tcp>;reg-id=1"))));
	CHECK(!nat_ob_wanted(parse(REG("Supported: outbound\r\n",
	    "<sip:a@10.0.0.2>;+sip.instance=\"<urn:x>\""))));
	CHECK(nat_ob_wanted(parse(REG("Supported: path\r\nSupported: "
	                              "OutBound\r\n",
	    OB_CONTACT))));

	struct ipc_flow f = {0};
	f.transport = IPC_TP_TCP;
	f.listener = 1;
	f.conn_id = 77;
	f.remote = A("192.0.2.9", 40001);
	const char *path = path_of(&ks, &f);
	CHECK(strncmp(path, "Path: <sip:", 11) == 0);
	const char *at = strchr(path, '@');
	CHECK(at != NULL &&
	    strcmp(at, "@203.0.113.1:5060;transport=tcp;lr;ob>") == 0);
	if (at == NULL)
		return;
	char tok[256];
	snprintf(tok, sizeof tok, "%.*s", (int)(at - path - 11), path + 11);

	/* Core's INVITE with that Path as its Route (and one more entry on
	 * the same line): the flow comes back, the edge's entry goes. */
	char req[2048];
	snprintf(req, sizeof req,
	    "INVITE sip:a@10.0.0.2;transport=tcp SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKc\r\n"
	    "Route: <sip:%s@203.0.113.1:5060;transport=tcp;lr;ob>, "
	    "<sip:next.example.com;lr>\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:b@example.com>;tag=2\r\n"
	    "To: <sip:a@example.com>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n"
	    "Content-Length: 0\r\n\r\n",
	    tok);
	struct sip_msg *m = parse(req);
	CHECK(m != NULL);
	struct ipc_flow g = {0};
	struct sip_edit ed;
	sip_edit_init(&ed, m, &ar);
	CHECK_EQ_INT(nat_ob_route(m, &ed, &ks, local, NULL, &g), 1);
	CHECK_EQ_INT(g.transport, IPC_TP_TCP);
	CHECK_EQ_INT(g.listener, 1);
	CHECK_EQ_INT((int)g.conn_id, 77);
	CHECK(memcmp(&g.remote, &f.remote, sizeof g.remote) == 0);
	struct slice out = sip_edit_render(&ed);
	const char *o = arena_strndup(&ar, out.p, out.len);
	CHECK(strstr(o, "\r\nRoute: <sip:next.example.com;lr>\r\n") != NULL);
	CHECK(strstr(o, ";ob>") == NULL);

	/* Alone on its line: the line goes. */
	m = bye_routed("d", tok, "203.0.113.1:5060;transport=tcp;lr;ob");
	sip_edit_init(&ed, m, &ar);
	CHECK_EQ_INT(nat_ob_route(m, &ed, &ks, local, NULL, &g), 1);
	out = sip_edit_render(&ed);
	CHECK(strstr(arena_strndup(&ar, out.p, out.len), "Route:") == NULL);

	/* A forged or damaged token of ours: -1; someone else's Route, or
	 * no ;ob: 0. */
	tok[5] = tok[5] == 'A' ? 'B' : 'A';
	m = bye_routed("e", tok, "203.0.113.1;lr;ob");
	sip_edit_init(&ed, m, &ar);
	CHECK_EQ_INT(nat_ob_route(m, &ed, &ks, local, NULL, &g), -1);
	m = bye_routed("f", "x", "198.51.100.1;lr;ob");
	sip_edit_init(&ed, m, &ar);
	CHECK_EQ_INT(nat_ob_route(m, &ed, &ks, local, NULL, &g), 0);
	m = bye_routed("g", "x", "203.0.113.1;lr");
	sip_edit_init(&ed, m, &ar);
	CHECK_EQ_INT(nat_ob_route(m, &ed, &ks, local, NULL, &g), 0);
	token_keys_clear(&ks);
}

int
main(void)
{
	arena_init(&ar, 64 * 1024, 16 * 1024 * 1024);
	TEST_RUN(test_received_rport);
	TEST_RUN(test_behind_and_alias);
	TEST_RUN(test_no_alias_in_3xx);
	TEST_RUN(test_outbound);
	arena_free(&ar);
	return tap_done();
}
