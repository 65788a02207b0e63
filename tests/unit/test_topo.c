/* Unit tests of sbc/topo.c: hiding what leaves and restoring what comes
 * back, with the real parser and editor, through a whole dialog; the
 * Call-ID of a Replaces header. */
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "callid.h"
#include "hash.h"
#include "sip_edit.h"
#include "sip_msg.h"
#include "tap.h"
#include "topo.h"
#include "toprow.h"

static struct token_keys keys;
static struct arena ar;
static bool hide_cid;

static bool
is_local(void *arg, struct slice host, uint16_t port)
{
	(void)arg;
	return slice_eq_cstr(host, "203.0.113.1") &&
	    (port == 0 || port == 5060);
}

static struct topo T = {&keys, is_local, NULL, NULL, 0, 0};
static const struct topo_self SELF = {"203.0.113.1", 5060, 1};
/* The edge's entry topo_hide writes in apply() (SELF unless a test says). */
static const struct topo_self *self_now = &SELF;

/* Parses text, applies fn, renders; the result lives in ar. */
static const char *
apply(const char *text, bool hide, int *rc)
{
	struct sip_msg *m = arena_zalloc(&ar, sizeof *m);
	struct sip_err err;
	if (sip_msg_parse(m, text, (uint32_t)strlen(text), &ar, &err) != 0) {
		printf("# parse: %s\n", err.phrase);
		*rc = -99;
		return "";
	}
	struct sip_edit ed;
	sip_edit_init(&ed, m, &ar);
	*rc = hide ? topo_hide(&T, m, &ed, self_now, hide_cid)
	           : topo_restore(&T, m, &ed, NULL, NULL);
	if (*rc < 0)
		return "";
	struct slice out = sip_edit_render(&ed);
	if (out.len == 0)
		printf("# render failed\n");
	char *s = arena_strndup(&ar, out.p, out.len);
	return s != NULL ? s : "";
}

/* The value of the first header line named name (a copy). */
static const char *
hdr(const char *msg, const char *name)
{
	static char buf[4][4096];
	static int k;
	char *b = buf[k++ % 4];
	char pat[64];
	snprintf(pat, sizeof pat, "\r\n%s: ", name);
	const char *p = strstr(msg, pat);
	if (p == NULL)
		return "";
	p += strlen(pat);
	const char *e = strstr(p, "\r\n");
	snprintf(b, sizeof buf[0], "%.*s", (int)(e - p), p);
	return b;
}

static const char *invite =
    "INVITE sip:bob@198.51.100.7:5062 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bKcore1\r\n"
    "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKa1;received=192.0.2.9;"
    "rport=40000\r\n"
    "Record-Route: <sip:203.0.113.1:5060;lr>\r\n"
    "Max-Forwards: 69\r\n"
    "From: <sip:alice@example.com>;tag=a1\r\n"
    "To: <sip:bob@example.com>\r\n"
    "Call-ID: c1@10.0.0.2\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:alice@192.0.2.9:40000>\r\n"
    "Content-Length: 0\r\n\r\n";

static void
test_request_hidden(void)
{
	int rc;
	const char *out = apply(invite, true, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK(strstr(out, "10.0.0.2:5060") == NULL);
	CHECK(strstr(out, "192.0.2.9") == NULL);
	CHECK(strstr(out, "z9hG4bKa1") == NULL);
	/* One Via, the edge's, keeping core's branch (CANCEL matching). */
	CHECK(strstr(strstr(out, "\r\nVia: ") + 2, "\r\nVia: ") == NULL);
	CHECK(strncmp(hdr(out, "Via"),
	          "SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bKcore1;pcv=",
	          52) == 0);
	CHECK(strncmp(hdr(out, "Contact"), "<sip:", 5) == 0);
	CHECK(strstr(hdr(out, "Contact"), "@203.0.113.1:5060>") != NULL);
	CHECK(
	    strstr(hdr(out, "Record-Route"), "@203.0.113.1:5060;lr>") != NULL);
}

/* The edge's own entries, written without printf, have exactly the form
 * printf made: every transport name, the largest port, an IPv6 host. */
static void
test_self_text(void)
{
	static const struct {
		struct topo_self self;
		const char *via, *tp;
	} cases[] = {
	    {{"203.0.113.1", 5060, 1}, "UDP", ""},
	    {{"[2001:db8::1]", 65535, 2}, "TCP", ";transport=tcp"},
	    {{"edge.example.com", 5061, 3}, "TLS", ";transport=tls"},
	    {{"203.0.113.1", 7, 4}, "WS", ";transport=ws"},
	    {{"203.0.113.1", 443, 5}, "WSS", ";transport=wss"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct topo_self *sf = &cases[i].self;
		self_now = sf;
		int rc;
		const char *out = apply(invite, true, &rc);
		self_now = &SELF;
		CHECK_EQ_INT(rc, 0);
		char want[256];
		const char *via = hdr(out, "Via");
		const char *tok = strstr(via, ";pcv=");
		CHECK(tok != NULL);
		if (tok == NULL)
			continue;
		snprintf(want, sizeof want,
		    "SIP/2.0/%s %s:%u;branch=z9hG4bKcore1;pcv=", cases[i].via,
		    sf->host, sf->port);
		CHECK(strncmp(via, want, strlen(want)) == 0);
		CHECK_EQ_INT((int)strcspn(tok + 5, ";,"), (int)strlen(tok + 5));
		/* Contact and Record-Route: <sip:TOKEN@host:port[;tp][;lr]> */
		const char *ct = hdr(out, "Contact");
		const char *at = strchr(ct, '@');
		CHECK(strncmp(ct, "<sip:", 5) == 0 && at != NULL);
		if (at == NULL)
			continue;
		snprintf(want, sizeof want, "@%s:%u%s>", sf->host, sf->port,
		    cases[i].tp);
		CHECK_STR(at, want);
		const char *rr = hdr(out, "Record-Route");
		at = strchr(rr, '@');
		CHECK(at != NULL);
		snprintf(want, sizeof want, "@%s:%u%s;lr>", sf->host, sf->port,
		    cases[i].tp);
		CHECK_STR(at != NULL ? at : "", want);
	}
}

static void
test_dialog_round_trip(void)
{
	int rc;
	const char *out = apply(invite, true, &rc);
	char via[2048], rr[2048], ct[2048];
	snprintf(via, sizeof via, "%s", hdr(out, "Via"));
	snprintf(rr, sizeof rr, "%s", hdr(out, "Record-Route"));
	snprintf(ct, sizeof ct, "%s", hdr(out, "Contact"));

	/* Bob answers: his 200 echoes Via and Record-Route. */
	char ok[8192];
	snprintf(ok, sizeof ok,
	    "SIP/2.0 200 OK\r\nVia: %s\r\nRecord-Route: %s\r\n"
	    "From: <sip:alice@example.com>;tag=a1\r\n"
	    "To: <sip:bob@example.com>;tag=b1\r\nCall-ID: c1@10.0.0.2\r\n"
	    "CSeq: 1 INVITE\r\nContact: <sip:bob@198.51.100.7:5062>\r\n"
	    "Content-Length: 0\r\n\r\n",
	    via, rr);
	const char *in = apply(ok, false, &rc);
	CHECK_EQ_INT(rc, 2);
	CHECK_STR(hdr(in, "Via"),
	    "SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bKcore1,SIP/2.0/UDP "
	    "10.0.0.2:5060;branch=z9hG4bKa1;received=192.0.2.9;rport=40000");
	CHECK_STR(hdr(in, "Record-Route"), "<sip:203.0.113.1:5060;lr>");

	/* Bob hangs up: R-URI is the hidden Contact, Route the hidden RR. */
	const char *uri = ct + 1;
	char ruri[2048];
	snprintf(ruri, sizeof ruri, "%.*s", (int)(strlen(uri) - 1), uri);
	char bye[8192];
	snprintf(bye, sizeof bye,
	    "BYE %s SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.7:5062;branch="
	    "z9hG4bKb2\r\nRoute: %s\r\nMax-Forwards: 70\r\n"
	    "From: <sip:bob@example.com>;tag=b1\r\n"
	    "To: <sip:alice@example.com>;tag=a1\r\nCall-ID: c1@10.0.0.2\r\n"
	    "CSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
	    ruri, rr);
	in = apply(bye, false, &rc);
	CHECK_EQ_INT(rc, 2);
	CHECK(
	    strncmp(in, "BYE sip:alice@192.0.2.9:40000 SIP/2.0\r\n", 39) == 0);
	CHECK_STR(hdr(in, "Route"), "<sip:203.0.113.1:5060;lr>");
}

static void
test_response_rr_reversed(void)
{
	/* A 200 going to the caller with two Record-Routes (core in and
	 * out listeners): the caller sends them back reversed. */
	const char *ok =
	    "SIP/2.0 200 OK\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKa1\r\n"
	    "Record-Route: <sip:203.0.113.1:5060;transport=tcp;lr>\r\n"
	    "Record-Route: <sip:203.0.113.1:5060;lr>\r\n"
	    "From: <sip:alice@example.com>;tag=a1\r\n"
	    "To: <sip:bob@example.com>;tag=b1\r\nCall-ID: c1\r\n"
	    "CSeq: 1 INVITE\r\nContact: <sip:bob@198.51.100.7:5062>\r\n"
	    "Content-Length: 0\r\n\r\n";
	int rc;
	const char *out = apply(ok, true, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK(strstr(out, "198.51.100.7") == NULL);
	/* The response's Via is the caller's own: untouched. */
	CHECK_STR(
	    hdr(out, "Via"), "SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKa1");
	char rr[2048];
	snprintf(rr, sizeof rr, "%s", hdr(out, "Record-Route"));
	char bye[8192];
	snprintf(bye, sizeof bye,
	    "BYE sip:bob@203.0.113.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2;"
	    "branch=z9hG4bKa3\r\nRoute: %s\r\nMax-Forwards: 70\r\n"
	    "From: <sip:alice@example.com>;tag=a1\r\n"
	    "To: <sip:bob@example.com>;tag=b1\r\nCall-ID: c1\r\n"
	    "CSeq: 3 BYE\r\nContent-Length: 0\r\n\r\n",
	    rr);
	const char *in = apply(bye, false, &rc);
	CHECK_EQ_INT(rc, 1);
	CHECK_STR(hdr(in, "Route"),
	    "<sip:203.0.113.1:5060;lr>, <sip:203.0.113.1:5060;transport=tcp;"
	    "lr>");
}

static void
test_tampered_dropped(void)
{
	int rc;
	const char *out = apply(invite, true, &rc);
	char via[2048];
	snprintf(via, sizeof via, "%s", hdr(out, "Via"));
	char *pcv = strstr(via, "pcv=") + 10;
	*pcv = *pcv == 'A' ? 'B' : 'A';
	char ok[8192];
	snprintf(ok, sizeof ok,
	    "SIP/2.0 180 Ringing\r\nVia: %s\r\n"
	    "From: <sip:alice@example.com>;tag=a1\r\n"
	    "To: <sip:bob@example.com>;tag=b1\r\nCall-ID: c1@10.0.0.2\r\n"
	    "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
	    via);
	apply(ok, false, &rc);
	CHECK_EQ_INT(rc, -1);
	/* A forged Route entry naming the edge is refused too. */
	const char *bye =
	    "BYE sip:x@203.0.113.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2;"
	    "branch=z9hG4bKa3\r\nRoute: "
	    "<sip:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAA@203.0.113.1;lr>\r\nMax-Forwards: 70\r\n"
	    "From: <sip:a@example.com>;tag=a1\r\nTo: <sip:b@example.com>\r\n"
	    "Call-ID: c9\r\nCSeq: 3 BYE\r\nContent-Length: 0\r\n\r\n";
	apply(bye, false, &rc);
	CHECK_EQ_INT(rc, -1);
	/* An ordinary request with no tokens passes untouched. */
	const char *reg =
	    "REGISTER sip:203.0.113.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2;"
	    "branch=z9hG4bKa4\r\nMax-Forwards: 70\r\n"
	    "From: <sip:alice@example.com>;tag=a1\r\n"
	    "To: <sip:alice@example.com>\r\nCall-ID: r1\r\nCSeq: 1 REGISTER\r\n"
	    "Contact: <sip:alice@10.0.0.2>\r\nContent-Length: 0\r\n\r\n";
	const char *in = apply(reg, false, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK_STR(in, reg);
}

static void
test_call_id(void)
{
	int rc;
	hide_cid = true;
	const char *out = apply(invite, true, &rc);
	const char *again = apply(invite, true, &rc);
	hide_cid = false;
	CHECK_EQ_INT(rc, 0);
	char cid[1024];
	snprintf(cid, sizeof cid, "%s", hdr(out, "Call-ID"));
	CHECK(strncmp(cid, TOPO_CID_PREFIX, 4) == 0);
	CHECK(strstr(out, "10.0.0.2") == NULL);
	/* The same Call-ID always hides the same way (one dialog). */
	CHECK_STR(hdr(again, "Call-ID"), cid);
	char bye[4096];
	snprintf(bye, sizeof bye,
	    "BYE sip:alice@203.0.113.1 SIP/2.0\r\nVia: SIP/2.0/UDP "
	    "198.51.100.7;branch=z9hG4bKb9\r\nMax-Forwards: 70\r\n"
	    "From: <sip:bob@example.com>;tag=b1\r\n"
	    "To: <sip:alice@example.com>;tag=a1\r\nCall-ID: %s\r\n"
	    "CSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
	    cid);
	const char *in = apply(bye, false, &rc);
	CHECK_EQ_INT(rc, 1);
	CHECK_STR(hdr(in, "Call-ID"), "c1@10.0.0.2");
	/* A UA's own Call-ID that merely starts like ours is left alone. */
	snprintf(bye, sizeof bye,
	    "BYE sip:alice@203.0.113.1 SIP/2.0\r\nVia: SIP/2.0/UDP "
	    "198.51.100.7;branch=z9hG4bKb9\r\nMax-Forwards: 70\r\n"
	    "From: <sip:bob@example.com>;tag=b1\r\n"
	    "To: <sip:alice@example.com>;tag=a1\r\nCall-ID: pci-xyz\r\n"
	    "CSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n");
	in = apply(bye, false, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK_STR(hdr(in, "Call-ID"), "pci-xyz");
}

/* Replaces (RFC 3891): its Call-ID sealed for a recipient that knows the
 * dialog by the sealed form, opened on the way in, the tags untouched;
 * the to-tag found among the parameters. */
static void
test_replaces(void)
{
	int rc;
	static const char req[] =
	    "INVITE sip:bob@198.51.100.7:5062 SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bKr1\r\n"
	    "Max-Forwards: 70\r\n"
	    "From: <sip:carol@example.com>;tag=c1\r\n"
	    "To: <sip:bob@example.com>\r\nCall-ID: c2@10.0.0.3\r\n"
	    "CSeq: 1 INVITE\r\n"
	    "Replaces: c1@10.0.0.2 ;From-Tag=a1; TO-TAG=b1 \r\n"
	    "Content-Length: 0\r\n\r\n";
	struct sip_msg *m = arena_zalloc(&ar, sizeof *m);
	struct sip_err err;
	CHECK(sip_msg_parse(m, req, sizeof req - 1, &ar, &err) == 0);
	struct slice cid, to_tag;
	CHECK(topo_replaces(m, &cid, &to_tag));
	CHECK(slice_eq_cstr(cid, "c1@10.0.0.2"));
	CHECK(slice_eq_cstr(to_tag, "b1"));
	struct sip_edit ed;
	sip_edit_init(&ed, m, &ar);
	CHECK_EQ_INT(topo_hide_replaces(&T, m, &ed), 0);
	struct slice out = sip_edit_render(&ed);
	char *text = arena_strndup(&ar, out.p, out.len);
	char rep[1024];
	snprintf(rep, sizeof rep, "%s", hdr(text, "Replaces"));
	CHECK(strncmp(rep, TOPO_CID_PREFIX, 4) == 0);
	CHECK(strstr(rep, "10.0.0.2") == NULL);
	CHECK(strstr(rep, ";From-Tag=a1; TO-TAG=b1") != NULL);
	/* Sealed as the Call-ID header of that dialog is sealed. */
	static const char bye[] =
	    "BYE sip:alice@203.0.113.1 SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKr2\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:a@example.com>;tag=a1\r\n"
	    "To: <sip:b@example.com>;tag=b1\r\nCall-ID: c1@10.0.0.2\r\n"
	    "CSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n";
	hide_cid = true;
	const char *hidden = apply(bye, true, &rc);
	hide_cid = false;
	CHECK(strncmp(rep, hdr(hidden, "Call-ID"),
	          strlen(hdr(hidden, "Call-ID"))) == 0);
	/* On the way in the sealed Call-ID opens; the rest stays. */
	const char *in = apply(text, false, &rc);
	CHECK_EQ_INT(rc, 1);
	CHECK_STR(hdr(in, "Replaces"), "c1@10.0.0.2;From-Tag=a1; TO-TAG=b1");
	/* No to-tag, no Replaces at all. */
	static const char bare[] =
	    "INVITE sip:bob@198.51.100.7 SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.3;branch=z9hG4bKr3\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:c@example.com>;tag=c1\r\n"
	    "To: <sip:b@example.com>\r\nCall-ID: c3\r\nCSeq: 1 INVITE\r\n"
	    "Replaces: only-a-call-id\r\nContent-Length: 0\r\n\r\n";
	CHECK(sip_msg_parse(m, bare, sizeof bare - 1, &ar, &err) == 0);
	CHECK(topo_replaces(m, &cid, &to_tag) && to_tag.len == 0 &&
	    slice_eq_cstr(cid, "only-a-call-id"));
	CHECK(sip_msg_parse(m, bye, sizeof bye - 1, &ar, &err) == 0);
	CHECK(!topo_replaces(m, &cid, &to_tag));
	sip_edit_init(&ed, m, &ar);
	CHECK_EQ_INT(topo_hide_replaces(&T, m, &ed), 0);
}

static void
test_long_tokens_use_rows(void)
{
	struct toprow *rows = toprow_new(100);
	T.rows = rows;
	T.max_token = 60;
	int rc;
	const char *out = apply(invite, true, &rc);
	CHECK_EQ_INT(rc, 0);
	char via[2048], rr[2048];
	snprintf(via, sizeof via, "%s", hdr(out, "Via"));
	snprintf(rr, sizeof rr, "%s", hdr(out, "Record-Route"));
	/* The Via token names a row: short. */
	const char *pcv = strstr(via, "pcv=");
	CHECK(pcv != NULL && strlen(pcv + 4) <= 60);
	CHECK(toprow_count(rows) >= 2);
	char ok[8192];
	snprintf(ok, sizeof ok,
	    "SIP/2.0 200 OK\r\nVia: %s\r\nRecord-Route: %s\r\n"
	    "From: <sip:alice@example.com>;tag=a1\r\n"
	    "To: <sip:bob@example.com>;tag=b1\r\nCall-ID: c1@10.0.0.2\r\n"
	    "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
	    via, rr);
	const char *in = apply(ok, false, &rc);
	CHECK_EQ_INT(rc, 2);
	CHECK(strstr(hdr(in, "Via"), "received=192.0.2.9;rport=40000") != NULL);
	/* After a restart (empty table) the row is gone: dropped, never
	 * guessed. */
	toprow_free(rows);
	T.rows = toprow_new(100);
	apply(ok, false, &rc);
	CHECK_EQ_INT(rc, -1);
	toprow_free(T.rows);
	T.rows = NULL;
	T.max_token = 0;
}

static void
test_callid_table(void)
{
	struct callid_tab *t = callid_new(2);
	callid_note(t, SLICE_LIT("c1"), SLICE_LIT("a1"), 0);
	callid_note(t, SLICE_LIT("c1"), SLICE_LIT("b1"), 1); /* first wins */
	CHECK(callid_is_creator(t, SLICE_LIT("c1"), SLICE_LIT("a1"), 2));
	CHECK(!callid_is_creator(t, SLICE_LIT("c1"), SLICE_LIT("b1"), 2));
	CHECK(!callid_is_creator(t, SLICE_LIT("c2"), SLICE_LIT("a1"), 2));
	callid_note(t, SLICE_LIT("c2"), SLICE_LIT("x"), 3);
	callid_note(t, SLICE_LIT("c3"), SLICE_LIT("y"), 4); /* evicts c1 */
	CHECK_EQ_INT(callid_count(t), 2);
	CHECK(!callid_is_creator(t, SLICE_LIT("c1"), SLICE_LIT("a1"), 5));
	callid_expire(t, 100000, 1000);
	CHECK_EQ_INT(callid_count(t), 0);
	callid_free(t);
}

int
main(void)
{
	hash_seed_random();
	uint8_t k[TOKEN_KEY_LEN] = {1, 2, 3};
	token_keys_add(&keys, k);
	arena_init(&ar, 64 * 1024, 16 * 1024 * 1024);
	TEST_RUN(test_request_hidden);
	TEST_RUN(test_self_text);
	TEST_RUN(test_dialog_round_trip);
	TEST_RUN(test_response_rr_reversed);
	TEST_RUN(test_tampered_dropped);
	TEST_RUN(test_call_id);
	TEST_RUN(test_callid_table);
	TEST_RUN(test_replaces);
	TEST_RUN(test_long_tokens_use_rows);
	arena_free(&ar);
	return tap_done();
}
