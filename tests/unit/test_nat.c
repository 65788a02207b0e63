/* Unit tests of sbc/nat.c: received/rport (RFC 3581), NAT detection and
 * Contact aliasing, with the real parser and editor. */
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

static void
test_behind_and_alias(void)
{
	struct ipc_addr src = A("192.0.2.9", 40000);
	struct sip_msg *m =
	    parse(REQ("SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1;rport",
	        "\"A\" <sip:a@10.0.0.2:5060;transport=udp>;expires=60"));
	CHECK(nat_is_behind(m, &src));
	struct sip_edit ed;
	sip_edit_init(&ed, m, &ar);
	CHECK_EQ_INT(nat_alias_contacts(m, &ed, &src), 1);
	struct slice out = sip_edit_render(&ed);
	CHECK(out.len > 0 &&
	    strstr(arena_strndup(&ar, out.p, out.len),
	        "\r\nContact: \"A\" <sip:a@192.0.2.9:40000;"
	        "transport=udp>;expires=60\r\n") != NULL);
	/* A UA on a public address is not behind NAT. */
	struct ipc_addr pub = A("198.51.100.7", 5060);
	m = parse(REQ("SIP/2.0/UDP 198.51.100.7;branch=z9hG4bK1",
	    "<sip:b@198.51.100.7>"));
	CHECK(!nat_is_behind(m, &pub));
	sip_edit_init(&ed, m, &ar);
	CHECK_EQ_INT(nat_alias_contacts(m, &ed, &pub), 0);
	/* IPv6 contact aliased with brackets. */
	struct ipc_addr v6 = A("2001:db8::9", 5070);
	m = parse(REQ(
	    "SIP/2.0/UDP [fd00::2];branch=z9hG4bK1", "<sip:a@[fd00::2]:5060>"));
	sip_edit_init(&ed, m, &ar);
	CHECK_EQ_INT(nat_alias_contacts(m, &ed, &v6), 1);
	out = sip_edit_render(&ed);
	CHECK(out.len > 0 &&
	    strstr(arena_strndup(&ar, out.p, out.len),
	        "<sip:a@[2001:db8::9]:5070>") != NULL);
}

int
main(void)
{
	arena_init(&ar, 64 * 1024, 16 * 1024 * 1024);
	TEST_RUN(test_received_rport);
	TEST_RUN(test_behind_and_alias);
	arena_free(&ar);
	return tap_done();
}
