/*
 * Unit tests of the proxy in process, with the injectable clock: a core
 * state in a temporary directory, its SIP output read from a socketpair
 * standing in for edge. Covers what needs time or odd peers: 408 when a
 * branch never answers (timer B), timer C sending CANCEL, a 503 turned
 * into 500, 3xx recursion (and the 3xx passed on when it is off), Path
 * honoured, strict-router compatibility, a pre-loaded foreign Route
 * refused, FLOW_CLOSED.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "core/core_run.h"
#include "core/proxy.h"
#include "hash.h"
#include "ipc.h"
#include "log.h"
#include "sip_edit.h"
#include "tap.h"

static struct core core;
static struct ev_loop *loop;
static uint64_t now_ms = 1000;
static char dir[] = "/tmp/pc-test-proxy.XXXXXX";
static int peer = -1; /* the "edge" end */
static int peer2 = -1; /* a second edge (test_two_edges) */
static struct ipc_flow alice, bob;

struct out {
	struct ipc_flow flow;
	char text[IPC_MAX_MSG];
	struct sip_msg m;
	struct arena a;
	bool is_parsed;
};

static uint64_t
clock_fn(void *arg)
{
	(void)arg;
	return now_ms;
}

static void
advance(uint64_t ms)
{
	for (uint64_t i = 0; i < ms; i += 50) {
		now_ms += 50;
		ev_run_timers(loop);
	}
}

static struct ipc_flow
mkflow(const char *ip)
{
	struct ipc_flow f;

	memset(&f, 0, sizeof(f));
	f.transport = IPC_TP_UDP;
	f.role = IPC_FLOW_ROLE_PUBLIC;
	ipc_addr_parse(&f.remote, ip, 5060);
	return f;
}

static void
out_reset(struct out *o)
{
	if (o->is_parsed)
		arena_free(&o->a);
	o->is_parsed = false;
}

/* Next SIP_OUT already sent by core through the edge at fd (no waiting:
 * sends are synchronous). */
static bool
next_out_on(int fd, struct out *o)
{
	static uint8_t buf[IPC_MAX_MSG];
	struct ipc_msg m;
	struct sip_err err;

	out_reset(o);
	for (;;) {
		int rc = ipc_recv(fd, &ipc_cat_core, buf, sizeof(buf), &m);
		if (rc != 1)
			return false;
		if (m.hdr.type != IPC_SIP_OUT)
			continue;
		struct ipc_sip_out so;
		memcpy(&so, m.body, sizeof(so));
		o->flow = so.flow;
		memcpy(o->text, m.body + sizeof(so), so.sip_len);
		o->text[so.sip_len] = '\0';
		arena_init(&o->a, 16384, 0);
		o->is_parsed = true;
		return sip_msg_parse(&o->m, o->text, so.sip_len, &o->a, &err) ==
		    0;
	}
}

static bool
next_out(struct out *o)
{
	return next_out_on(peer, o);
}

static void
drain(void)
{
	struct out o = {0};

	while (next_out(&o))
		;
	out_reset(&o);
}

static void sip_in(const struct ipc_flow *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sip_in(const struct ipc_flow *f, const char *fmt, ...)
{
	char text[8192];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	proxy_sip_in(&core, f, text, (uint32_t)n);
}

static void
respond(const struct ipc_flow *f, struct out *req, int code, const char *tag,
    const char *extra)
{
	struct arena a;

	arena_init(&a, 16384, 0);
	struct slice r = sip_build_response(&req->m, code, NULL,
	    slice_cstr(tag), slice_cstr(extra ? extra : ""), &a);
	proxy_sip_in(&core, f, r.p, r.len);
	arena_free(&a);
}

static bool
is_resp(struct out *o, int code, const struct ipc_flow *to)
{
	bool ok = !o->m.is_request && o->m.status == code &&
	    ipc_addr_eq(&o->flow.remote, &to->remote);
	if (!ok)
		printf("# expected %d, got %.50s\n", code, o->text);
	return ok;
}

static bool
is_req(struct out *o, enum sip_method meth, const struct ipc_flow *to)
{
	bool ok = o->m.is_request && o->m.method == meth &&
	    ipc_addr_eq(&o->flow.remote, &to->remote);
	if (!ok)
		printf("# expected %s, got %.50s\n", sip_method_name(meth),
		    o->text);
	return ok;
}

#define INVITE \
	"INVITE %s SIP/2.0\r\n" \
	"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK%s\r\n" \
	"Max-Forwards: 70\r\n" \
	"From: <sip:carol@other.org>;tag=%s\r\n" \
	"To: <sip:bob@example.com>\r\n" \
	"Call-ID: %s\r\n" \
	"CSeq: 1 INVITE\r\n" \
	"Contact: <sip:carol@10.0.0.1>\r\n" \
	"%s" \
	"Content-Length: 0\r\n\r\n"

static void
register_bob(const char *path_hdr)
{
	static int cseq = 1;
	struct out o = {0};

	sip_in(&bob,
	    "REGISTER sip:example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKreg%d\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:bob@example.com>;tag=r\r\n"
	    "To: <sip:bob@example.com>\r\nCall-ID: regbob\r\n"
	    "CSeq: %d REGISTER\r\nContact: <sip:bob@10.0.0.2:5060>\r\n"
	    "%sExpires: 600\r\nContent-Length: 0\r\n\r\n",
	    cseq, cseq, path_hdr);
	cseq++;
	CHECK(next_out(&o) && is_resp(&o, 200, &bob));
	if (path_hdr[0] != '\0')
		CHECK(
		    strstr(o.text, "Path: <sip:edge1.example.com;lr>") != NULL);
	out_reset(&o);
	drain();
}

static void
test_timer_b_408(void)
{
	struct out o = {0};

	register_bob("");
	sip_in(&alice, INVITE, "sip:bob@example.com", "b1", "t1", "cid-b1", "");
	CHECK(next_out(&o) && is_resp(&o, 100, &alice));
	CHECK(next_out(&o) && is_req(&o, SIP_M_INVITE, &bob));
	advance(500);
	CHECK(next_out(&o) && is_req(&o, SIP_M_INVITE, &bob)); /* timer A */
	advance(32000);
	bool got408 = false;
	while (next_out(&o))
		if (!o.m.is_request && o.m.status == 408)
			got408 = true;
	CHECK(got408);
	CHECK_EQ_INT(proxy_pending(core.proxy), 0);
	out_reset(&o);
	drain();
}

struct setup_seen {
	int n;
	char state[16], branch[64], call_id[32];
	int branches;
};

static int
setup_cb(const struct proxy_setup *s, void *arg)
{
	struct setup_seen *k = arg;

	k->n++;
	snprintf(k->state, sizeof(k->state), "%s", s->state);
	snprintf(k->branch, sizeof(k->branch), "%s", s->branch);
	snprintf(k->call_id, sizeof(k->call_id), "%s", s->call_id);
	k->branches = s->branches;
	return 0;
}

static void
test_timer_c_cancel(void)
{
	struct out o = {0}, inv = {0};
	struct setup_seen k = {0};

	sip_in(&alice, INVITE, "sip:bob@example.com", "c1", "t2", "cid-c1", "");
	CHECK(next_out(&o) && is_resp(&o, 100, &alice));
	CHECK(next_out(&inv) && is_req(&inv, SIP_M_INVITE, &bob));
	/* calls.list shows the call being set up, then ringing. */
	proxy_walk_setup(&core, setup_cb, &k);
	CHECK(k.n == 1 && strcmp(k.state, "trying") == 0);
	respond(&bob, &inv, 180, "bb", NULL);
	CHECK(next_out(&o) && is_resp(&o, 180, &alice));
	memset(&k, 0, sizeof(k));
	proxy_walk_setup(&core, setup_cb, &k);
	CHECK_EQ_INT(k.n, 1);
	CHECK(strcmp(k.state, "ringing") == 0);
	CHECK(strcmp(k.branch, "sip:bob@10.0.0.2:5060") == 0);
	CHECK(strcmp(k.call_id, "cid-c1") == 0);
	CHECK_EQ_INT(k.branches, 1);
	/* timer C is sip.no_answer_s (20 s here), restarted by the 180 */
	advance(19900);
	bool early = false;
	while (next_out(&o))
		if (o.m.is_request && o.m.method == SIP_M_CANCEL)
			early = true;
	CHECK(!early);
	advance(200);
	bool cancel = false;
	while (next_out(&o))
		if (o.m.is_request && o.m.method == SIP_M_CANCEL)
			cancel = true;
	CHECK(cancel);
	respond(&bob, &inv, 487, "bb", NULL);
	bool got487 = false;
	while (next_out(&o))
		if (!o.m.is_request && o.m.status == 487 &&
		    ipc_addr_eq(&o.flow.remote, &alice.remote))
			got487 = true;
	CHECK(got487);
	memset(&k, 0, sizeof(k));
	proxy_walk_setup(&core, setup_cb, &k);
	CHECK_EQ_INT(k.n, 0);
	out_reset(&o);
	out_reset(&inv);
	advance(40000);
	drain();
}

/* alice calls bob (Via branch, From tag and Call-ID as given); bob
 * answers code (with the extra header lines) and core ACKs that. */
static void
bob_answers(const char *branch, const char *tag, const char *cid, int code,
    const char *extra, struct out *o, struct out *inv)
{
	sip_in(&alice, INVITE, "sip:bob@example.com", branch, tag, cid, "");
	CHECK(next_out(o) && is_resp(o, 100, &alice));
	CHECK(next_out(inv) && is_req(inv, SIP_M_INVITE, &bob));
	respond(&bob, inv, code, "bb", extra);
	CHECK(next_out(o) && is_req(o, SIP_M_ACK, &bob));
}

static void
test_503_and_3xx(void)
{
	struct out o = {0}, inv = {0};

	bob_answers("d1", "t3", "cid-d1", 503, NULL, &o, &inv);
	CHECK(next_out(&o) && is_resp(&o, 500, &alice));

	/* proxy.recurse_redirects off: the 3xx goes back to the caller. */
	core.conf.core.proxy.recurse_redirects = false;
	bob_answers("d2", "t4", "cid-d2", 302,
	    "Contact: <sip:bob@192.0.2.99>\r\n", &o, &inv);
	CHECK(next_out(&o) && is_resp(&o, 302, &alice));
	CHECK(strstr(o.text, "Contact: <sip:bob@192.0.2.99>") != NULL);
	core.conf.core.proxy.recurse_redirects = true;
	out_reset(&o);
	out_reset(&inv);
	advance(40000);
	drain();
}

/*
 * §16.5 recursion: a 302's Contacts are tried by q (serially between q
 * values), skipping our own address, sips: and a target already tried;
 * the first 2xx of a new branch answers the caller.
 */
static void
test_3xx_recursion(void)
{
	struct out o = {0}, inv = {0}, inv2 = {0};
	struct ipc_flow dave = mkflow("192.0.2.8"), carol = mkflow("192.0.2.7");

	bob_answers("r1", "tr1", "cid-r1", 302,
	    "Contact: <sip:carol@192.0.2.7>;q=0.5, "
	    "<sip:dave@192.0.2.8>;q=0.9\r\n"
	    "Contact: <sip:me@127.0.0.1:5060>, <sips:y@192.0.2.9>, "
	    "<sip:bob@10.0.0.2:5060>\r\n",
	    &o, &inv);
	CHECK(next_out(&inv2) && is_req(&inv2, SIP_M_INVITE, &dave));
	CHECK(slice_eq_cstr(inv2.m.ruri_text, "sip:dave@192.0.2.8"));
	CHECK(!next_out(&o)); /* carol waits: lower q */
	respond(&dave, &inv2, 486, "dd", NULL);
	CHECK(next_out(&o) && is_req(&o, SIP_M_ACK, &dave));
	CHECK(next_out(&inv) && is_req(&inv, SIP_M_INVITE, &carol));
	CHECK(!next_out(&o)); /* nothing else: the rest were skipped */
	respond(&carol, &inv, 200, "cc", "Contact: <sip:carol@192.0.2.7>\r\n");
	CHECK(next_out(&o) && is_resp(&o, 200, &alice));
	CHECK(strstr(o.text, "tag=cc") != NULL);
	CHECK_EQ_INT(proxy_pending(core.proxy), 0);
	CHECK_EQ_INT(proxy_hangup(&core, SLICE_LIT("cid-r1"), "test"), 0);
	drain();

	/* Nothing usable in the 302: it is passed on as it came. */
	bob_answers("r2", "tr2", "cid-r2", 302,
	    "Contact: <sips:y@192.0.2.9>, <sip:x@host.invalid>\r\n", &o, &inv);
	CHECK(next_out(&o) && is_resp(&o, 302, &alice));
	CHECK(strstr(o.text, "sips:y@192.0.2.9") != NULL);

	/* max_redirects bounds the new targets; when they all fail, their
	 * best answer (404) is the caller's, not the 302. Two 302s pointing
	 * at each other end too. */
	core.conf.core.proxy.max_redirects = 2;
	bob_answers("r3", "tr3", "cid-r3", 302,
	    "Contact: <sip:dave@192.0.2.8>, <sip:carol@192.0.2.7>, "
	    "<sip:eve@192.0.2.6>\r\n",
	    &o, &inv);
	/* Same q: dave and carol at once, in the 302's order; no eve. */
	CHECK(next_out(&inv2) && is_req(&inv2, SIP_M_INVITE, &dave));
	CHECK(next_out(&inv) && is_req(&inv, SIP_M_INVITE, &carol));
	CHECK(!next_out(&o));
	respond(&carol, &inv, 404, "cc", NULL);
	CHECK(next_out(&o) && is_req(&o, SIP_M_ACK, &carol));
	/* dave redirects back to bob and carol: both already tried. */
	respond(&dave, &inv2, 302, "dd",
	    "Contact: <sip:bob@10.0.0.2:5060>, <sip:carol@192.0.2.7>\r\n");
	bool got404 = false, got302 = false;
	while (next_out(&o))
		if (!o.m.is_request &&
		    ipc_addr_eq(&o.flow.remote, &alice.remote)) {
			got404 |= o.m.status == 404;
			got302 |= o.m.status == 302;
		}
	CHECK(got404 && !got302);
	core.conf.core.proxy.max_redirects = 8;
	drain();

	/* A Contact in our domain is an AoR: its bindings are tried. */
	struct ipc_flow frank = mkflow("10.0.0.9");
	sip_in(&frank,
	    "REGISTER sip:example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bKregfr\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:frank@example.com>;tag=r\r\n"
	    "To: <sip:frank@example.com>\r\nCall-ID: regfrank\r\n"
	    "CSeq: 1 REGISTER\r\nContact: <sip:frank@10.0.0.9:5060>\r\n"
	    "Content-Length: 0\r\n\r\n");
	CHECK(next_out(&o) && is_resp(&o, 200, &frank));
	bob_answers("r4", "tr4", "cid-r4", 302,
	    "Contact: <sip:frank@example.com>\r\n", &o, &inv);
	CHECK(next_out(&inv2) && is_req(&inv2, SIP_M_INVITE, &frank));
	CHECK(slice_eq_cstr(inv2.m.ruri_text, "sip:frank@10.0.0.9:5060"));
	respond(&frank, &inv2, 486, "ff", NULL);
	CHECK(next_out(&o) && is_req(&o, SIP_M_ACK, &frank));
	CHECK(next_out(&o) && is_resp(&o, 486, &alice));
	out_reset(&o);
	out_reset(&inv);
	out_reset(&inv2);
	advance(40000);
	drain();
}

static void
test_path_strict_route_and_relay(void)
{
	struct out o = {0}, inv = {0};

	register_bob("Path: <sip:edge1.example.com;lr>\r\n");
	sip_in(&alice, INVITE, "sip:bob@example.com", "p1", "t5", "cid-p1", "");
	CHECK(next_out(&o) && is_resp(&o, 100, &alice));
	CHECK(next_out(&inv) && is_req(&inv, SIP_M_INVITE, &bob));
	CHECK(strstr(inv.text, "Route: <sip:edge1.example.com;lr>") != NULL);
	respond(&bob, &inv, 486, "bb", NULL);
	drain();

	/* A strict router put our URI in the Request-URI and the real one
	 * in the last Route. */
	sip_in(&alice, INVITE, "sip:127.0.0.1:5060;lr", "p2", "t6", "cid-p2",
	    "Route: <sip:bob@example.com>\r\n");
	CHECK(next_out(&o) && is_resp(&o, 100, &alice));
	CHECK(next_out(&inv) && is_req(&inv, SIP_M_INVITE, &bob));
	CHECK(slice_eq_cstr(inv.m.ruri_text, "sip:bob@10.0.0.2:5060"));
	respond(&bob, &inv, 486, "bb", NULL);
	drain();

	/* Our Route popped, then one toward somewhere else: refused. */
	sip_in(&alice, INVITE, "sip:bob@example.com", "p3", "t7", "cid-p3",
	    "Route: <sip:127.0.0.1:5060;lr>, <sip:evil.example.net;lr>\r\n");
	CHECK(next_out(&o) && is_resp(&o, 100, &alice));
	CHECK(next_out(&o) && is_resp(&o, 403, &alice));
	out_reset(&o);
	out_reset(&inv);
	advance(40000);
	drain();
}

static void
test_2xx_retransmission(void)
{
	struct out o = {0}, inv = {0};

	sip_in(&alice, INVITE, "sip:bob@example.com", "x1", "t9", "cid-x1", "");
	CHECK(next_out(&o) && is_resp(&o, 100, &alice));
	CHECK(next_out(&inv) && is_req(&inv, SIP_M_INVITE, &bob));
	respond(&bob, &inv, 200, "bx", "Contact: <sip:bob@10.0.0.2>\r\n");
	CHECK(next_out(&o) && is_resp(&o, 200, &alice));
	/* The context is gone at once; the UAS's 2xx retransmission still
	 * reaches the caller (stateless, by the Via). */
	CHECK_EQ_INT(proxy_pending(core.proxy), 0);
	respond(&bob, &inv, 200, "bx", "Contact: <sip:bob@10.0.0.2>\r\n");
	CHECK(next_out(&o) && is_resp(&o, 200, &alice));
	CHECK(strstr(o.text, "z9hG4bKpc") == NULL);
	advance(40000);
	respond(&bob, &inv, 200, "bx", "Contact: <sip:bob@10.0.0.2>\r\n");
	CHECK(next_out(&o) && is_resp(&o, 200, &alice));
	out_reset(&o);
	out_reset(&inv);
	drain();
}

static void
test_hangup_route_set(void)
{
	struct out o = {0}, inv = {0};

	sip_in(&alice, INVITE, "sip:bob@example.com", "h1", "th", "cid-h1", "");
	CHECK(next_out(&o) && is_resp(&o, 100, &alice));
	CHECK(next_out(&inv) && is_req(&inv, SIP_M_INVITE, &bob));
	/* Proxies on both sides of us recorded their routes too. */
	respond(&bob, &inv, 200, "bh",
	    "Contact: <sip:bob@10.0.0.2>\r\n"
	    "Record-Route: <sip:p3.example.net;lr>, <sip:127.0.0.1:5060;lr>\r\n"
	    "Record-Route: <sip:p1.example.net;lr>\r\n");
	CHECK(next_out(&o) && is_resp(&o, 200, &alice));
	CHECK_EQ_INT(proxy_hangup(&core, SLICE_LIT("cid-h1"), "test"), 0);
	int seen = 0;
	while (next_out(&o)) {
		if (!o.m.is_request || o.m.method != SIP_M_BYE)
			continue;
		seen++;
		if (ipc_addr_eq(&o.flow.remote, &bob.remote)) {
			CHECK(strstr(o.text,
			          "Route: <sip:p3.example.net;lr>") != NULL);
			CHECK(strstr(o.text, "p1.example.net") == NULL);
		} else {
			CHECK(strstr(o.text,
			          "Route: <sip:p1.example.net;lr>") != NULL);
			CHECK(strstr(o.text, "p3.example.net") == NULL);
		}
	}
	CHECK_EQ_INT(seen, 2);
	CHECK_EQ_INT(proxy_hangup(&core, SLICE_LIT("cid-h1"), "test"), -1);
	out_reset(&o);
	out_reset(&inv);
	advance(40000);
	drain();
}

static int
conn_of_bob(struct loc_binding *b, void *arg)
{
	uint32_t *c = arg;

	if (slice_eq_cstr(loc_slice(b, LOC_S_AOR), "bob@example.com"))
		*c = b->flow.conn_id;
	return 0;
}

static void
test_flow_closed(void)
{
	struct ipc_flow tcp = bob;
	struct out o = {0};
	uint32_t conn = 0;

	tcp.transport = IPC_TP_TCP;
	tcp.conn_id = 77;
	sip_in(&tcp,
	    "REGISTER sip:example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/TCP 10.0.0.2:5060;branch=z9hG4bKtcp1\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:bob@example.com>;tag=r\r\n"
	    "To: <sip:bob@example.com>\r\nCall-ID: regbob-tcp\r\n"
	    "CSeq: 1 REGISTER\r\n"
	    "Contact: <sip:bob@10.0.0.2:5060;transport=tcp>\r\n"
	    "Content-Length: 0\r\n\r\n");
	CHECK(next_out(&o) && is_resp(&o, 200, &bob));
	CHECK_EQ_INT(o.flow.conn_id, 77); /* answered on the connection */
	loc_walk(core.loc, conn_of_bob, &conn);
	struct loc_flow lf;
	loc_flow_from_ipc(&lf, &tcp);
	CHECK_EQ_INT(loc_flow_closed(core.loc, &lf), 1);
	out_reset(&o);
	drain();
}

/* Reads (arg -1) or clears (arg 0) the edge stamp of dan's binding. */
static int
edge_of_dan(struct loc_binding *b, void *arg)
{
	int *e = arg;

	if (!slice_eq_cstr(loc_slice(b, LOC_S_AOR), "dan@example.com"))
		return 0;
	if (*e == 0)
		b->edge = 0;
	else
		*e = b->edge;
	return 0;
}

/* Connects edge i to core: core.edges[i], its far end in *far. */
static bool
edge_up(int i, int *far)
{
	int sv[2];

	if (ipc_socketpair(sv) < 0)
		return false;
	*far = sv[1];
	core.edges[i] = ipc_chan_new(loop, sv[0], &ipc_cat_core, 0,
	    IPC_ROLE_CORE, "core", NULL, NULL, NULL);
	return true;
}

/* The second edge goes away, as core sees it when its channel closes. */
static void
edge2_gone(void)
{
	ipc_chan_free(core.edges[1]);
	core.edges[1] = NULL;
	proxy_edge_gone(&core, 1);
	close(peer2);
	peer2 = -1;
}

/*
 * Two edges share core.sock: bob registers over TCP through the second;
 * alice's call (through the first) reaches him through the second, the
 * answers go back through the first. When the second edge goes away, his
 * TCP flow is unreachable (480); a UDP binding leaves through the other
 * edge.
 */
static void
test_two_edges(void)
{
	struct out o = {0}, inv = {0};
	struct ipc_flow tcp = mkflow("10.0.0.5");

	if (!edge_up(1, &peer2)) {
		CHECK(false);
		return;
	}
	tcp.transport = IPC_TP_TCP;
	tcp.conn_id = 5;
	core.last_edge = 1;
	sip_in(&tcp,
	    "REGISTER sip:example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bKe2r1\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:dan@example.com>;tag=r\r\n"
	    "To: <sip:dan@example.com>\r\nCall-ID: regdan\r\n"
	    "CSeq: 1 REGISTER\r\n"
	    "Contact: <sip:dan@10.0.0.5:5060;transport=tcp>\r\n"
	    "Content-Length: 0\r\n\r\n");
	CHECK(next_out_on(peer2, &o) && is_resp(&o, 200, &tcp));
	CHECK(!next_out(&o));
	core.last_edge = 0;
	sip_in(
	    &alice, INVITE, "sip:dan@example.com", "e1", "te1", "cid-e1", "");
	CHECK(next_out(&o) && is_resp(&o, 100, &alice));
	CHECK(!next_out(&o)); /* not through alice's edge */
	CHECK(next_out_on(peer2, &inv) && is_req(&inv, SIP_M_INVITE, &tcp));
	CHECK_EQ_INT(inv.flow.conn_id, 5);
	core.last_edge = 1;
	respond(&tcp, &inv, 180, "de", NULL);
	respond(&tcp, &inv, 200, "de",
	    "Contact: <sip:dan@10.0.0.5;transport=tcp>\r\n");
	CHECK(!next_out_on(peer2, &o)); /* not through dan's edge */
	CHECK(next_out(&o) && is_resp(&o, 180, &alice));
	CHECK(next_out(&o) && is_resp(&o, 200, &alice));
	/* alice's BYE (edge 0) goes to dan through edge 1; its 200 back. */
	core.last_edge = 0;
	sip_in(&alice,
	    "BYE sip:dan@10.0.0.5;transport=tcp SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKe1bye\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:carol@other.org>;tag=te1\r\n"
	    "To: <sip:bob@example.com>;tag=de\r\nCall-ID: cid-e1\r\n"
	    "CSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n");
	CHECK(!next_out(&o));
	CHECK(next_out_on(peer2, &inv) && is_req(&inv, SIP_M_BYE, &tcp));
	core.last_edge = 1;
	respond(&tcp, &inv, 200, "", NULL);
	CHECK(next_out(&o) && is_resp(&o, 200, &alice));

	/* A restarted core knows no edge for dan's binding; a request on
	 * his connection teaches it. */
	int stamp = -1;
	loc_walk(core.loc, edge_of_dan, &stamp);
	CHECK_EQ_INT(stamp, 2);
	stamp = 0;
	loc_walk(core.loc, edge_of_dan, &stamp);
	core.last_edge = 1;
	sip_in(&tcp,
	    "OPTIONS sip:example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bKe2o1\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:dan@example.com>;tag=o\r\n"
	    "To: <sip:example.com>\r\nCall-ID: optdan\r\n"
	    "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
	CHECK(next_out_on(peer2, &o) && is_resp(&o, 200, &tcp));
	stamp = -1;
	loc_walk(core.loc, edge_of_dan, &stamp);
	CHECK_EQ_INT(stamp, 2);

	/* Edge 1 goes away: dan's TCP flow with it. */
	edge2_gone();
	core.last_edge = 0;
	sip_in(
	    &alice, INVITE, "sip:dan@example.com", "e2", "te2", "cid-e2", "");
	CHECK(next_out(&o) && is_resp(&o, 100, &alice));
	CHECK(next_out(&o) && is_resp(&o, 480, &alice));

	/* A UDP binding whose edge is gone leaves through another edge. */
	struct ipc_flow udp = mkflow("10.0.0.6");
	if (!edge_up(1, &peer2)) {
		CHECK(false);
		return;
	}
	core.last_edge = 1;
	sip_in(&udp,
	    "REGISTER sip:example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.6:5060;branch=z9hG4bKe2r2\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:eve@example.com>;tag=r\r\n"
	    "To: <sip:eve@example.com>\r\nCall-ID: regeve\r\n"
	    "CSeq: 1 REGISTER\r\nContact: <sip:eve@10.0.0.6:5060>\r\n"
	    "Content-Length: 0\r\n\r\n");
	CHECK(next_out_on(peer2, &o) && is_resp(&o, 200, &udp));
	edge2_gone();
	core.last_edge = 0;
	sip_in(
	    &alice, INVITE, "sip:eve@example.com", "e3", "te3", "cid-e3", "");
	CHECK(next_out(&o) && is_resp(&o, 100, &alice));
	CHECK(next_out(&inv) && is_req(&inv, SIP_M_INVITE, &udp));
	respond(&udp, &inv, 486, "ee", NULL);
	drain();

	/* The caller's edge goes while her call rings: her TCP connection
	 * with it. The callee is cancelled; nothing goes to her through the
	 * remaining edge (her connection id would name someone else's). */
	struct ipc_flow atcp = mkflow("10.0.0.7");
	atcp.transport = IPC_TP_TCP;
	atcp.conn_id = 1;
	if (!edge_up(1, &peer2)) {
		CHECK(false);
		return;
	}
	core.last_edge = 1;
	sip_in(&atcp, INVITE, "sip:eve@example.com", "e4", "te4", "cid-e4", "");
	CHECK(next_out_on(peer2, &o) && is_resp(&o, 100, &atcp));
	CHECK(next_out_on(peer2, &inv) && is_req(&inv, SIP_M_INVITE, &udp));
	core.last_edge = 0;
	respond(&udp, &inv, 180, "ee", NULL);
	CHECK(next_out_on(peer2, &o) && is_resp(&o, 180, &atcp));
	CHECK(!next_out(&o));
	edge2_gone();
	CHECK(next_out(&o) && is_req(&o, SIP_M_CANCEL, &udp));
	respond(&udp, &o, 200, "ee", NULL);
	respond(&udp, &inv, 487, "ee", NULL);
	CHECK(next_out(&o) && is_req(&o, SIP_M_ACK, &udp));
	CHECK(!next_out(&o)); /* no 487 toward the caller */
	CHECK_EQ_INT(proxy_pending(core.proxy), 0);
	out_reset(&o);
	out_reset(&inv);
	advance(40000);
	drain();
}

int
main(void)
{
	char path[256];

	log_init("test_proxy", LOG_LVL_ERROR);
	hash_seed_random();
	if (mkdtemp(dir) == NULL || pcconf_load(NULL, &core.conf) < 0)
		return 1;
	free(core.conf.state_dir);
	free(core.conf.runtime_dir);
	snprintf(path, sizeof(path), "%s/state", dir);
	core.conf.state_dir = strdup(path);
	snprintf(path, sizeof(path), "%s/run", dir);
	core.conf.runtime_dir = strdup(path);
	/* Serve example.com; no authentication in these tests. */
	for (size_t i = 0; i < core.conf.ndomains; i++)
		free(core.conf.domains[i]);
	free(core.conf.domains);
	core.conf.domains = calloc(2, sizeof(char *));
	core.conf.domains[0] = strdup("example.com");
	core.conf.ndomains = 1;
	core.conf.core.auth.require = false;
	core.conf.core.sip.no_answer_s = 20;
	loop = ev_loop_new();
	ev_set_clock(loop, clock_fn, NULL);
	if (core_init(&core, loop) < 0)
		return 1;
	if (!edge_up(0, &peer))
		return 1;
	alice = mkflow("10.0.0.1");
	bob = mkflow("10.0.0.2");
	drain();
	TEST_RUN(test_timer_b_408);
	TEST_RUN(test_timer_c_cancel);
	TEST_RUN(test_503_and_3xx);
	TEST_RUN(test_3xx_recursion);
	TEST_RUN(test_path_strict_route_and_relay);
	TEST_RUN(test_2xx_retransmission);
	TEST_RUN(test_hangup_route_set);
	TEST_RUN(test_flow_closed);
	TEST_RUN(test_two_edges);
	core_fini(&core);
	ev_loop_free(loop);
	close(peer);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
