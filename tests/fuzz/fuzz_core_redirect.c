/*
 * Fuzz target: core's 3xx recursion (core/proxy_redirect.c px_recurse,
 * RFC 3261 §16.5), where the Contacts of a redirect from outside become
 * new targets. A real core state (temporary directory, injectable clock,
 * a socketpair standing in for edge) gets an INVITE from alice to bob;
 * bob's branch answers with a 3xx whose header lines are the input (its
 * first byte picks the code, q-less order and max_redirects). Every new
 * branch is then refused with 486, and the clock runs on: the call must
 * end with a final answer to alice and leave nothing pending.
 */
#include <stdint.h>
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct core core;
static struct ev_loop *loop;
static uint64_t now_ms = 1000;
static char dir[] = "/tmp/pc-fuzz-redirect.XXXXXX";
static int peer = -1;
static struct ipc_flow alice, bob;

struct out {
	struct ipc_flow flow;
	char text[IPC_MAX_MSG];
	uint32_t len;
	struct sip_msg m;
	struct arena a;
};

static uint64_t
clock_fn(void *arg)
{
	(void)arg;
	return now_ms;
}

static struct ipc_flow
mkflow(const char *ip)
{
	struct ipc_flow f;
	memset(&f, 0, sizeof f);
	f.transport = IPC_TP_UDP;
	f.role = IPC_FLOW_ROLE_PUBLIC;
	ipc_addr_parse(&f.remote, ip, 5060);
	return f;
}

/* The next SIP_OUT core sent (sends are synchronous), parsed into o. */
static bool
next_out(struct out *o)
{
	static uint8_t buf[IPC_MAX_MSG];
	struct ipc_msg m;
	struct sip_err err;
	for (;;) {
		if (ipc_recv(peer, &ipc_cat_core, buf, sizeof buf, &m) != 1)
			return false;
		if (m.hdr.type != IPC_SIP_OUT)
			continue;
		struct ipc_sip_out so;
		memcpy(&so, m.body, sizeof so);
		if (so.sip_len >= sizeof o->text)
			abort();
		o->flow = so.flow;
		memcpy(o->text, m.body + sizeof so, so.sip_len);
		o->text[so.sip_len] = '\0';
		o->len = so.sip_len;
		arena_reset(&o->a);
		if (sip_msg_parse(&o->m, o->text, o->len, &o->a, &err) != 0)
			abort(); /* core sent something unparsable */
		return true;
	}
}

static void
respond(const struct ipc_flow *f, struct out *req, int code, const char *extra,
    size_t elen)
{
	static struct arena a;
	static int ready;
	if (!ready) {
		arena_init(&a, 16384, 1 << 20);
		ready = 1;
	}
	arena_reset(&a);
	struct slice r = sip_build_response(&req->m, code, NULL,
	    slice_cstr("bb"), slice_make(extra, (uint32_t)elen), &a);
	if (r.len > 0)
		proxy_sip_in(&core, f, r.p, r.len);
}

static void
cleanup(void)
{
	char cmd[128];
	core_fini(&core);
	close(peer);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
}

static void
init(void)
{
	char path[256];
	log_init("fuzz-redirect", LOG_LVL_ERROR);
	hash_seed_random();
	if (mkdtemp(dir) == NULL || pcconf_load(NULL, &core.conf) < 0)
		abort();
	free(core.conf.state_dir);
	free(core.conf.runtime_dir);
	snprintf(path, sizeof path, "%s/state", dir);
	core.conf.state_dir = strdup(path);
	snprintf(path, sizeof path, "%s/run", dir);
	core.conf.runtime_dir = strdup(path);
	for (size_t i = 0; i < core.conf.ndomains; i++)
		free(core.conf.domains[i]);
	free(core.conf.domains);
	core.conf.domains = calloc(2, sizeof(char *));
	core.conf.domains[0] = strdup("example.com");
	core.conf.ndomains = 1;
	core.conf.core.auth.require = false;
	core.conf.core.sip.no_answer_s = 20;
	core.conf.core.proxy.recurse_redirects = true;
	loop = ev_loop_new();
	ev_set_clock(loop, clock_fn, NULL);
	if (core_init(&core, loop) < 0)
		abort();
	int sv[2];
	if (ipc_socketpair(sv) < 0)
		abort();
	peer = sv[1];
	core.edges[0] = ipc_chan_new(loop, sv[0], &ipc_cat_core, 0,
	    IPC_ROLE_CORE, "core", NULL, NULL, NULL);
	alice = mkflow("10.0.0.1");
	bob = mkflow("10.0.0.2");
	atexit(cleanup);
}

/* bob at 10.0.0.2, registered again every 512 inputs (the clock runs
 * 1 to 60 s an input); his AoR may come back in a 3xx. */
static void
register_bob(unsigned cseq)
{
	char reg[512];
	int n = snprintf(reg, sizeof reg,
	    "REGISTER sip:example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKreg%u\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:bob@example.com>;tag=r\r\n"
	    "To: <sip:bob@example.com>\r\nCall-ID: regbob\r\n"
	    "CSeq: %u REGISTER\r\nContact: <sip:bob@10.0.0.2:5060>\r\n"
	    "Expires: 86400\r\nContent-Length: 0\r\n\r\n",
	    cseq, cseq + 1);
	proxy_sip_in(&core, &bob, reg, (uint32_t)n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static struct out o;
	static unsigned calls;
	static const int codes[] = {300, 301, 302, 305, 380, 302, 302, 302};
	if (!ready) {
		init();
		arena_init(&o.a, 16384, 1 << 20);
		ready = 1;
	}
	if (size < 1 || size > 8192)
		return 0;
	core.conf.core.proxy.max_redirects = 1 + (data[0] >> 4);
	if (calls % 512 == 0)
		register_bob(calls);
	while (next_out(&o))
		;
	char inv[1024];
	int n = snprintf(inv, sizeof inv,
	    "INVITE sip:bob@example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKf%u\r\n"
	    "Max-Forwards: 70\r\n"
	    "From: <sip:alice@example.com>;tag=a%u\r\n"
	    "To: <sip:bob@example.com>\r\n"
	    "Call-ID: fuzz-redirect-%u\r\n"
	    "CSeq: 1 INVITE\r\n"
	    "Contact: <sip:alice@10.0.0.1>\r\n"
	    "Content-Length: 0\r\n\r\n",
	    calls, calls, calls);
	calls++;
	proxy_sip_in(&core, &alice, inv, (uint32_t)n);
	bool sent = false;
	int finals = 0;
	/* bob's INVITE gets the 3xx; every later INVITE a 486. */
	for (int guard = 0; guard < 200 && next_out(&o); guard++) {
		if (!o.m.is_request) {
			if (o.m.status >= 200 &&
			    ipc_addr_eq(&o.flow.remote, &alice.remote))
				finals++;
			continue;
		}
		if (o.m.method != SIP_M_INVITE)
			continue;
		if (!sent) {
			sent = true;
			respond(&o.flow, &o, codes[data[0] & 7],
			    (const char *)data + 1, size - 1);
		} else {
			respond(&o.flow, &o, 486, "", 0);
		}
	}
	/* The clock runs until the call is over (timer C, at most 60 s),
	 * then past the transactions' ends (timers D, H: 32 s), so that an
	 * input frees what it allocated (and LeakSanitizer's check, which
	 * runs whenever it does not, is not paid for every input). */
	for (int i = 0; i < 60 && (i == 0 || proxy_pending(core.proxy) != 0);
	     i++) {
		now_ms += 1000;
		ev_run_timers(loop);
		while (next_out(&o))
			if (!o.m.is_request && o.m.status >= 200 &&
			    ipc_addr_eq(&o.flow.remote, &alice.remote))
				finals++;
	}
	for (int i = 0; i < 2; i++) {
		now_ms += 20000;
		ev_run_timers(loop);
		while (next_out(&o))
			;
	}
	/* Final answers to alice may be retransmitted (she sends no ACK). */
	if (!sent || finals < 1 || proxy_pending(core.proxy) != 0)
		abort();
	return 0;
}
