/*
 * Unit tests of core/trunk.c in a core state with the injectable clock,
 * its SIP output read from a socketpair standing in for edge: OPTIONS
 * probes marking a silent peer down, the weighted peer order, UAC
 * registration answering the carrier's challenge and refreshing before
 * expiry, per-trunk call and calls-per-second admission, who a flow
 * belongs to, trunks added and removed live, peers by host name, a
 * reload that keeps an unchanged trunk's registration, and the CSeq
 * moves of a challenge answered on a call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "core/core_run.h"
#include "core/proxy.h"
#include "core/proxy_int.h"
#include "digest.h"
#include "hash.h"
#include "ipc.h"
#include "log.h"
#include "sip_edit.h"
#include "tap.h"

static struct core core;
static struct ev_loop *loop;
static uint64_t now_ms = 1000;
static char dir[] = "/tmp/pc-test-trunk.XXXXXX";
static int peer = -1;

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

static void
out_reset(struct out *o)
{
	if (o->is_parsed)
		arena_free(&o->a);
	o->is_parsed = false;
}

static bool
next_out(struct out *o)
{
	static uint8_t buf[IPC_MAX_MSG];
	struct ipc_msg m;
	struct sip_err err;

	out_reset(o);
	for (;;) {
		if (ipc_recv(peer, &ipc_cat_core, buf, sizeof(buf), &m) != 1)
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

/* The next request of method to remote ip (others are skipped). */
static bool
next_req(struct out *o, enum sip_method meth, const char *ip)
{
	struct ipc_addr want;

	ipc_addr_parse(&want, ip, 5060);
	while (next_out(o))
		if (o->m.is_request && o->m.method == meth &&
		    ipc_addr_eq(&o->flow.remote, &want))
			return true;
	return false;
}

static void
drain(void)
{
	struct out o = {0};

	while (next_out(&o))
		;
	out_reset(&o);
}

/* Answers a request core sent, as its peer. */
static void
respond(struct out *req, int code, const char *extra)
{
	struct arena a;

	arena_init(&a, 8192, 0);
	struct slice r = sip_build_response(&req->m, code, "X",
	    SLICE_LIT("peer1"), extra ? slice_cstr(extra) : SLICE_NULL, &a);
	struct ipc_flow f = req->flow;
	proxy_sip_in(&core, &f, r.p, r.len);
	arena_free(&a);
}

static struct trunk *t1;

static void
test_probes_and_order(void)
{
	struct out o = {0};
	int idx[4];

	advance(1000);
	CHECK(next_req(&o, SIP_M_OPTIONS, "10.9.0.2"));
	CHECK_EQ_INT(o.flow.role, IPC_FLOW_ROLE_TRUNK);
	CHECK(strcmp(o.flow.trunk, "t1") == 0);
	respond(&o, 200, NULL);
	drain();
	/* 10.9.0.1 never answers its probe: down after timer F. */
	advance(40000);
	drain();
	CHECK(!t1->peers[0].is_up);
	CHECK(t1->peers[1].is_up);
	CHECK(t1->peers[0].probes_failed >= 1);
	CHECK_EQ_INT(trunk_peer_order(t1, idx, 4), 2);
	CHECK_EQ_INT(idx[0], 1); /* up first */
	CHECK_EQ_INT(idx[1], 0);
	out_reset(&o);
}

static void
test_weights(void)
{
	int idx[4], first1 = 0;

	/* Both up: weight 0 (peer 0) only as the fall-back. */
	t1->peers[0].is_up = true;
	for (int i = 0; i < 50; i++) {
		CHECK(trunk_peer_order(t1, idx, 4) == 2);
		if (idx[0] == 1)
			first1++;
	}
	CHECK_EQ_INT(first1, 50);
}

static void
test_register(void)
{
	struct out o = {0};
	char cnonce_line[2048];

	/* The REGISTER went at start, to the first peer, and was not
	 * answered (timer F): one is retried after the back-off. */
	CHECK(t1->reg_state == TRUNK_REG_FAILED ||
	    t1->reg_state == TRUNK_REG_REGISTERING);
	bool seen = false;
	for (int i = 0; i < 400 && !seen; i++) {
		advance(500);
		seen = next_req(&o, SIP_M_REGISTER, "10.9.0.1");
	}
	CHECK(seen);
	CHECK(strstr(o.text, "To: <sip:pcx@10.9.0.1:5060>") != NULL);
	CHECK(strstr(o.text, "Expires: 60") != NULL);
	struct sip_err cerr;
	const struct sip_cseq *cs0 = sip_msg_cseq(&o.m, &cerr);
	uint32_t cseq0 = cs0 ? cs0->num : 0;
	struct slice cid0;
	char callid0[64] = "";
	if (sip_msg_call_id(&o.m, &cid0, &cerr) == 0)
		slice_copy_cstr(cid0, callid0, sizeof(callid0));
	respond(&o, 401,
	    "WWW-Authenticate: Digest realm=\"c.test\", nonce=\"n0nce\", "
	    "algorithm=MD5, qop=\"auth\"\r\n");
	CHECK(next_req(&o, SIP_M_REGISTER, "10.9.0.1"));
	const struct sip_hdr *h = sip_msg_hdr(&o.m, SIP_HDR_AUTHORIZATION);
	CHECK(h != NULL);
	/* RFC 3261 §10.2.4 / §22.2: the answer is a new request in the same
	 * registration: same Call-ID, the next CSeq. */
	const struct sip_cseq *cs1 = sip_msg_cseq(&o.m, &cerr);
	CHECK(cs1 != NULL && cseq0 > 0 && cs1->num == cseq0 + 1);
	CHECK(sip_msg_call_id(&o.m, &cid0, &cerr) == 0 &&
	    slice_eq_cstr(cid0, callid0));
	if (h != NULL) {
		struct sip_auth cr;
		struct sip_err err;
		char ha1[DIGEST_HEX_MAX], ha2[DIGEST_HEX_MAX],
		    rsp[DIGEST_HEX_MAX];
		CHECK(sip_auth_parse(h->value, &cr, &err) == 0);
		CHECK(slice_eq_cstr(cr.username, "pcx"));
		digest_ha1(DIGEST_MD5, SLICE_LIT("pcx"), SLICE_LIT("c.test"),
		    SLICE_LIT("secret"), ha1);
		digest_ha2(DIGEST_MD5, SLICE_LIT("REGISTER"), cr.uri, ha2);
		digest_response(DIGEST_MD5, slice_cstr(ha1), cr.nonce, cr.nc,
		    cr.cnonce, cr.qop, slice_cstr(ha2), rsp);
		CHECK(slice_eq_cstr(cr.response, rsp));
		CHECK(slice_eq_cstr(cr.qop, "auth"));
	}
	snprintf(cnonce_line, sizeof(cnonce_line),
	    "Contact: <sip:pcx@127.0.0.1:5060>;expires=60\r\n");
	respond(&o, 200, cnonce_line);
	CHECK_EQ_INT(t1->reg_state, TRUNK_REG_REGISTERED);
	uint32_t count = t1->reg_count;
	drain();
	/* Refreshed before the 60 s run out (at 4/5 of them). */
	advance(47000);
	CHECK(!next_req(&o, SIP_M_REGISTER, "10.9.0.1"));
	advance(2000);
	CHECK(next_req(&o, SIP_M_REGISTER, "10.9.0.1"));
	respond(&o, 200, "Expires: 30\r\n");
	CHECK_EQ_INT((int)t1->reg_count, (int)count + 1);
	/* A failure backs off: retry_s (5), then doubled. */
	drain();
	advance(24500);
	CHECK(next_req(&o, SIP_M_REGISTER, "10.9.0.1"));
	respond(&o, 500, NULL);
	CHECK_EQ_INT(t1->reg_state, TRUNK_REG_FAILED);
	drain();
	advance(4500);
	CHECK(!next_req(&o, SIP_M_REGISTER, "10.9.0.1"));
	advance(1000);
	CHECK(next_req(&o, SIP_M_REGISTER, "10.9.0.1"));
	respond(&o, 403, NULL);
	drain();
	advance(9000);
	CHECK(!next_req(&o, SIP_M_REGISTER, "10.9.0.1"));
	advance(1500);
	CHECK(next_req(&o, SIP_M_REGISTER, "10.9.0.1"));
	respond(&o, 200, "Expires: 3600\r\n");
	drain();
	out_reset(&o);
}

static void
test_admission(void)
{
	char err[256];

	CHECK_EQ_INT(trunk_admit(t1, 5000), 0);
	CHECK_EQ_INT(trunk_admit(t1, 5000), 0);
	CHECK_EQ_INT(trunk_admit(t1, 5000), 503); /* max_calls 2 */
	trunk_release(t1);
	CHECK_EQ_INT(trunk_admit(t1, 5000), 0);
	trunk_release(t1);
	trunk_release(t1);
	CHECK_EQ_INT((int)t1->calls, 0);
	CHECK_EQ_INT((int)t1->rejected_calls, 1);

	CHECK(
	    trunks_add_json(core.trunks,
	        "{\"name\": \"fast\", \"max_cps\": 2, \"options_interval_s\": "
	        "0, \"peers\": [{\"address\": \"10.9.0.9\"}]}",
	        err, sizeof(err)) == 0);
	struct trunk *f = trunks_find(core.trunks, "fast");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	CHECK_EQ_INT(trunk_admit(f, 7000), 0);
	CHECK_EQ_INT(trunk_admit(f, 7999), 0);
	CHECK_EQ_INT(trunk_admit(f, 7999), 503); /* 2 per second */
	CHECK_EQ_INT(trunk_admit(f, 8000), 0);
	CHECK_EQ_INT((int)f->rejected_cps, 1);
}

static void
test_flow_and_live(void)
{
	struct ipc_flow fl;
	char err[256];

	memset(&fl, 0, sizeof(fl));
	ipc_addr_parse(&fl.remote, "10.9.0.2", 5099);
	CHECK(trunks_for_flow(core.trunks, &fl) == t1); /* a peer, any port */
	ipc_addr_parse(&fl.remote, "192.0.2.77", 5060);
	CHECK(trunks_for_flow(core.trunks, &fl) == t1); /* the ACL */
	ipc_addr_parse(&fl.remote, "198.51.100.1", 5060);
	CHECK(trunks_for_flow(core.trunks, &fl) == NULL);
	snprintf(fl.trunk, sizeof(fl.trunk), "fast");
	CHECK(trunks_for_flow(core.trunks, &fl) ==
	    trunks_find(core.trunks, "fast")); /* the listener's tag */
	CHECK(trunks_add_json(
	          core.trunks, "{\"name\": \"fast\"}", err, sizeof(err)) < 0);
	CHECK(strstr(err, "exists") != NULL);
	CHECK(trunks_add_json(core.trunks, "{\"name\": 3}", err, sizeof(err)) <
	    0);
	CHECK(trunks_add_json(core.trunks, "not json", err, sizeof(err)) < 0);
	int n = trunks_count(core.trunks);
	CHECK_EQ_INT(trunks_remove(core.trunks, "fast"), 0);
	CHECK_EQ_INT(trunks_remove(core.trunks, "fast"), -1);
	CHECK_EQ_INT(trunks_count(core.trunks), n - 1);
	/* Probes of a removed trunk in flight are harmless. */
	advance(40000);
	drain();
}

static bool
has(struct slice s, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= s.len; i++)
		if (memcmp(s.p + i, needle, n) == 0)
			return true;
	return false;
}

static void
test_cseq_shift(void)
{
	struct arena a;
	static const char msg[] =
	    "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
	    "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: c1\r\n"
	    "CSeq: 3 INVITE\r\nContent-Length: 0\r\n\r\n";

	arena_init(&a, 8192, 0);
	struct slice in = slice_make(msg, sizeof(msg) - 1);
	struct slice out = px_cseq_shift(in, -1, &a);
	CHECK(has(out, "CSeq: 2 INVITE\r\n") && !has(out, "CSeq: 3"));
	CHECK(has(out, "Call-ID: c1\r\n"));
	out = px_cseq_shift(in, 2, &a);
	CHECK(has(out, "CSeq: 5 INVITE\r\n"));
	/* Nothing to do, or a CSeq that would leave its range: unchanged. */
	CHECK(px_cseq_shift(in, 0, &a).p == in.p);
	CHECK(px_cseq_shift(in, -4, &a).p == in.p);
	CHECK(px_cseq_shift(slice_cstr("junk"), 1, &a).len == 4);
	/* No dialog: nothing moved. */
	struct sip_msg m;
	struct sip_err err;
	CHECK(sip_msg_parse(&m, msg, sizeof(msg) - 1, &a, &err) == 0);
	CHECK_EQ_INT((int)px_dialog_cseq_delta(&core, &m), 0);
	arena_free(&a);
}

/* A PRACK's RAck names the INVITE's CSeq: it moves with the CSeq. */
static void
test_cseq_shift_rack(void)
{
	struct arena a;
	static const char prack[] =
	    "PRACK sip:b@192.0.2.2 SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK2\r\n"
	    "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: c1\r\n"
	    "CSeq: 3 PRACK\r\nRAck: 7  2\tINVITE\r\nContent-Length: 0\r\n\r\n";
	static const char bad[] =
	    "PRACK sip:b@192.0.2.2 SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK3\r\n"
	    "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: c1\r\n"
	    "CSeq: 3 PRACK\r\nRAck: seven\r\nContent-Length: 0\r\n\r\n";
	static const char top[] =
	    "PRACK sip:b@192.0.2.2 SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK4\r\n"
	    "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: c1\r\n"
	    "CSeq: 3 PRACK\r\nRAck: 1 2147483647 INVITE\r\n"
	    "Content-Length: 0\r\n\r\n";

	arena_init(&a, 8192, 0);
	struct slice out =
	    px_cseq_shift(slice_make(prack, sizeof(prack) - 1), 1, &a);
	CHECK(has(out, "CSeq: 4 PRACK\r\n"));
	CHECK(has(out, "RAck: 7 3 INVITE\r\n"));
	/* A RAck that does not parse travels as it came; the CSeq moves. */
	out = px_cseq_shift(slice_make(bad, sizeof(bad) - 1), 1, &a);
	CHECK(has(out, "CSeq: 4 PRACK\r\n") && has(out, "RAck: seven\r\n"));
	/* A RAck CSeq pushed out of range: the message stays unchanged. */
	struct slice in = slice_make(top, sizeof(top) - 1);
	CHECK(px_cseq_shift(in, 1, &a).p == in.p);
	arena_free(&a);
}

static uint32_t
cseq_of(struct out *o)
{
	struct sip_err err;
	const struct sip_cseq *cs = sip_msg_cseq(&o->m, &err);

	return cs ? cs->num : 0;
}

/* A request from the carrier of trunk t1 (10.9.0.2) to core. */
static void
from_carrier(const char *text)
{
	struct ipc_flow f;

	memset(&f, 0, sizeof(f));
	ipc_addr_parse(&f.remote, "10.9.0.2", 5060);
	f.transport = IPC_TP_UDP;
	proxy_sip_in(&core, &f, text, (uint32_t)strlen(text));
}

/* The next response core sends to 10.9.0.2 with this code. */
static bool
next_resp_to_carrier(struct out *o, int code)
{
	struct ipc_addr want;

	ipc_addr_parse(&want, "10.9.0.2", 5060);
	while (next_out(o))
		if (!o->m.is_request && o->m.status == code &&
		    ipc_addr_eq(&o->flow.remote, &want))
			return true;
	return false;
}

/*
 * A call from trunk t1 routed to trunk t2, whose carrier (10.9.0.7)
 * challenges the INVITE: the answer is a new INVITE (same Call-ID, next
 * CSeq, new branch), the ACK of the 401 keeps the first CSeq, the caller
 * sees its own CSeq on the responses, and its ACK and BYE reach the
 * carrier one higher (RFC 3261 §22.2, §8.1.3.5).
 */
static void
test_challenge_cseq(void)
{
	struct out o = {0};
	struct sip_err err;
	char callid[64] = "", branch1[64] = "";
	struct slice v;

	drain();
	from_carrier(
	    "INVITE sip:+15550001@10.9.0.100 SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.9.0.2:5060;branch=z9hG4bKcall1\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:+4930777@c.test>;tag=ct1\r\n"
	    "To: <sip:+15550001@10.9.0.100>\r\nCall-ID: cseq-call-1\r\n"
	    "CSeq: 7 INVITE\r\nContact: <sip:c@10.9.0.2>\r\n"
	    "Content-Length: 0\r\n\r\n");
	CHECK(next_req(&o, SIP_M_INVITE, "10.9.0.7"));
	CHECK_EQ_INT((int)cseq_of(&o), 7);
	if (sip_msg_call_id(&o.m, &v, &err) == 0)
		slice_copy_cstr(v, callid, sizeof(callid));
	const struct sip_via *tv = sip_msg_top_via(&o.m, &err);
	if (tv != NULL)
		slice_copy_cstr(tv->branch, branch1, sizeof(branch1));
	respond(&o, 401,
	    "WWW-Authenticate: Digest realm=\"c2.test\", nonce=\"n2\"\r\n");
	CHECK(next_req(&o, SIP_M_ACK, "10.9.0.7"));
	CHECK_EQ_INT((int)cseq_of(&o), 7);
	CHECK(next_req(&o, SIP_M_INVITE, "10.9.0.7"));
	CHECK_EQ_INT((int)cseq_of(&o), 8);
	CHECK(sip_msg_call_id(&o.m, &v, &err) == 0 && slice_eq_cstr(v, callid));
	tv = sip_msg_top_via(&o.m, &err);
	CHECK(tv != NULL && !slice_eq_cstr(tv->branch, branch1));
	CHECK(sip_msg_hdr(&o.m, SIP_HDR_AUTHORIZATION) != NULL);
	respond(&o, 200, "Contact: <sip:p@10.9.0.7>\r\n");
	CHECK(next_resp_to_carrier(&o, 200));
	CHECK_EQ_INT((int)cseq_of(&o), 7);
	/* The caller's ACK and BYE, CSeq 7 and 8, reach the carrier as 8, 9;
	 * the 200 to the BYE comes back as 8. */
	from_carrier(
	    "ACK sip:p@10.9.0.7 SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.9.0.2:5060;branch=z9hG4bKack1\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:+4930777@c.test>;tag=ct1\r\n"
	    "To: <sip:+15550001@10.9.0.100>;tag=peer1\r\n"
	    "Call-ID: cseq-call-1\r\nCSeq: 7 ACK\r\n"
	    "Content-Length: 0\r\n\r\n");
	CHECK(next_req(&o, SIP_M_ACK, "10.9.0.7"));
	CHECK_EQ_INT((int)cseq_of(&o), 8);
	from_carrier(
	    "BYE sip:p@10.9.0.7 SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.9.0.2:5060;branch=z9hG4bKbye1\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:+4930777@c.test>;tag=ct1\r\n"
	    "To: <sip:+15550001@10.9.0.100>;tag=peer1\r\n"
	    "Call-ID: cseq-call-1\r\nCSeq: 8 BYE\r\n"
	    "Content-Length: 0\r\n\r\n");
	CHECK(next_req(&o, SIP_M_BYE, "10.9.0.7"));
	CHECK_EQ_INT((int)cseq_of(&o), 9);
	respond(&o, 200, NULL);
	CHECK(next_resp_to_carrier(&o, 200));
	CHECK_EQ_INT((int)cseq_of(&o), 8);
	out_reset(&o);
	drain();
}

static char path[256];

static const char *password = "secret";

static void
write_conf(uint32_t expires)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return;
	fprintf(f,
	    "{\"state_dir\": \"%s/state\", \"runtime_dir\": \"%s/run\",\n"
	    " \"trunks\": [{\"name\": \"t1\", \"max_calls\": 2,\n"
	    "  \"options_interval_s\": 10,\n"
	    "  \"peers\": [{\"address\": \"10.9.0.1\", \"weight\": 0},\n"
	    "             {\"address\": \"10.9.0.2\", \"weight\": 5}],\n"
	    "  \"inbound\": {\"acl\": [\"192.0.2.0/24\"]},\n"
	    "  \"outbound_auth\": {\"username\": \"pcx\", \"password\": "
	    "\"%s\"},\n"
	    "  \"register\": {\"enabled\": true, \"expires\": %u, "
	    "\"retry_s\": 5}},\n"
	    " {\"name\": \"t2\", \"options_interval_s\": 0,\n"
	    "  \"peers\": [{\"address\": \"10.9.0.7\"}],\n"
	    "  \"outbound_auth\": {\"username\": \"u2\", \"password\": "
	    "\"p2\"}}],\n"
	    " \"routes\": [{\"match\": {\"from\": \"trunks\", \"prefix\": "
	    "\"+1555\"}, \"trunk\": \"t2\"}]}\n",
	    dir, dir, password, expires);
	fclose(f);
}

/* Waits (bounded) for the resolver thread's answers to be handled. */
static void
run_until_resolved(struct trunk *t)
{
	advance(50); /* the lookup starts from the loop */
	for (int i = 0; i < 100 && t->dns != NULL; i++) {
		bool pending = false;
		for (size_t k = 0; k < t->cf->npeers; k++)
			pending |= t->dns[k].is_pending;
		if (!pending)
			return;
		ev_run_once(loop, 50);
	}
}

static void
test_dns_peers(void)
{
	char err[256];
	int idx[8];

	CHECK(trunks_add_json(core.trunks,
	          "{\"name\": \"named\", \"options_interval_s\": 0,"
	          " \"dns_refresh_s\": 60, \"peers\": ["
	          "{\"address\": \"localhost\", \"port\": 5070},"
	          "{\"address\": \"10.9.0.5\"}]}",
	          err, sizeof(err)) == 0);
	struct trunk *t = trunks_find(core.trunks, "named");
	CHECK(t != NULL);
	if (t == NULL)
		return;
	/* Until the name resolves it is a peer that is down and never
	 * tried; the literal one is usable at once. */
	CHECK(t->npeers == 2 && t->peers[0].is_unresolved);
	CHECK(!t->peers[0].is_up);
	CHECK_EQ_INT(trunk_peer_order(t, idx, 8), 1);
	CHECK_EQ_INT(idx[0], 1);
	run_until_resolved(t);
	struct ipc_addr lo;
	ipc_addr_parse(&lo, "127.0.0.1", 5070);
	bool found = false;
	for (int i = 0; i < t->npeers; i++)
		if (ipc_addr_eq(&t->peers[i].flow.remote, &lo)) {
			found = true;
			CHECK(t->peers[i].is_up);
			CHECK_EQ_INT(t->peers[i].cf_peer, 0);
		}
	CHECK(found);
	CHECK(!t->peers[0].is_unresolved);
	/* The literal comes after every address of the name. */
	CHECK_EQ_INT(t->peers[t->npeers - 1].cf_peer, 1);
	/* The addresses of one name are tried in the resolver's order. */
	for (int round = 0; round < 20; round++) {
		int n = trunk_peer_order(t, idx, 8), last = -1;
		CHECK_EQ_INT(n, t->npeers);
		for (int i = 0; i < n; i++)
			if (t->peers[idx[i]].cf_peer == 0) {
				CHECK(idx[i] > last);
				last = idx[i];
			}
	}
	CHECK_EQ_INT((int)t->dns_lookups, 1);
	/* Looked up again after dns_refresh_s. */
	advance(60000);
	CHECK(t->dns[0].is_pending);
	run_until_resolved(t);
	CHECK_EQ_INT((int)t->dns_lookups, 2);
	CHECK(found);
	CHECK_EQ_INT(trunks_remove(core.trunks, "named"), 0);
}

static void
test_reload_keeps_registration(void)
{
	char applied[256], restart[256];
	struct out o = {0};

	drain();
	CHECK_EQ_INT(t1->reg_state, TRUNK_REG_REGISTERED);
	uint32_t count = t1->reg_count;
	struct trunk *before = t1;
	CHECK(core_reload(&core, path, applied, sizeof(applied), restart,
	          sizeof(restart)) == 0);
	t1 = trunks_find(core.trunks, "t1");
	CHECK(t1 == before);
	CHECK_EQ_INT(t1->reg_state, TRUNK_REG_REGISTERED);
	CHECK_EQ_INT((int)t1->reg_count, (int)count);
	advance(1000);
	CHECK(!next_req(&o, SIP_M_REGISTER, "10.9.0.1"));
	/* A changed trunk registers anew. */
	write_conf(120);
	CHECK(core_reload(&core, path, applied, sizeof(applied), restart,
	          sizeof(restart)) == 0);
	t1 = trunks_find(core.trunks, "t1");
	CHECK(t1 != NULL);
	advance(1000);
	CHECK(next_req(&o, SIP_M_REGISTER, "10.9.0.1"));
	CHECK(strstr(o.text, "Expires: 120") != NULL);
	/* A new password (hidden in the configuration's dump) is a change. */
	respond(&o, 200, "Expires: 120\r\n");
	drain();
	struct trunk *kept = t1;
	password = "secret2";
	write_conf(120);
	CHECK(core_reload(&core, path, applied, sizeof(applied), restart,
	          sizeof(restart)) == 0);
	t1 = trunks_find(core.trunks, "t1");
	CHECK(t1 != NULL && t1 != kept);
	advance(1000);
	CHECK(next_req(&o, SIP_M_REGISTER, "10.9.0.1"));
	out_reset(&o);
}

int
main(void)
{
	log_init("test_trunk", LOG_LVL_ERROR);
	hash_seed_random();
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/pc.json", dir);
	write_conf(60);
	if (pcconf_load(path, &core.conf) < 0)
		return 1;
	loop = ev_loop_new();
	ev_set_clock(loop, clock_fn, NULL);
	if (core_init(&core, loop) < 0)
		return 1;
	int sv[2];
	if (ipc_socketpair(sv) < 0)
		return 1;
	peer = sv[1];
	core.edges[0] = ipc_chan_new(loop, sv[0], &ipc_cat_core, 0,
	    IPC_ROLE_CORE, "core", NULL, NULL, NULL);
	t1 = trunks_find(core.trunks, "t1");
	if (t1 == NULL)
		return 1;
	TEST_RUN(test_probes_and_order);
	TEST_RUN(test_weights);
	TEST_RUN(test_register);
	TEST_RUN(test_admission);
	TEST_RUN(test_flow_and_live);
	TEST_RUN(test_dns_peers);
	TEST_RUN(test_cseq_shift);
	TEST_RUN(test_cseq_shift_rack);
	TEST_RUN(test_challenge_cseq);
	TEST_RUN(test_reload_keeps_registration);
	core_fini(&core);
	ev_loop_free(loop);
	close(peer);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
