/*
 * core.sock, edge side.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "callid.h"
#include "challenge.h"
#include "dispatch_core.h"
#include "hdrtext.h"
#include "inbound.h"
#include "ipc.h"
#include "listen.h"
#include "log.h"
#include "nat.h"
#include "sdp_rw.h"
#include "sip_edit.h"
#include "stream.h"
#include "topo.h"
#include "udp.h"

#define CORE_RETRY_MS 250
#define CORE_HIGH_WATER (8u << 20)

static struct arena arena;
static bool arena_ready;
static struct sip_msg out_msg;
static struct log_rl rl_out = LOG_RL_INIT(10000, 10);

static void core_msg(struct ipc_chan *ch, const struct ipc_msg *m, void *arg);
static void core_closed(struct ipc_chan *ch, void *arg);

static void
core_retry(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct edge *e = arg;
	(void)t;
	if (e->core != NULL || e->stopping)
		return;
	char path[512];
	pcconf_path(&e->conf, "core.sock", path, sizeof path);
	int fd = ipc_connect(path);
	if (fd < 0) {
		ev_timer_start(loop, &e->core_retry, CORE_RETRY_MS);
		return;
	}
	e->core = ipc_chan_new(loop, fd, &ipc_cat_core, CORE_HIGH_WATER,
	    IPC_ROLE_EDGE, "edge", core_msg, core_closed, e);
	if (e->core == NULL) {
		ev_timer_start(loop, &e->core_retry, CORE_RETRY_MS);
		return;
	}
	/* SIP_IN of one loop turn leave together: core wakes once. */
	ipc_chan_batch(e->core);
	log_info("connected to core (%s)", path);
	challenge_setup(e);
}

static void
core_closed(struct ipc_chan *ch, void *arg)
{
	struct edge *e = arg;
	if (e->core != ch)
		return;
	log_warnx("core connection lost; answering 503 until it is back");
	ipc_chan_free(ch);
	e->core = NULL;
	if (!e->stopping)
		ev_timer_start(e->loop, &e->core_retry, CORE_RETRY_MS);
}

void
dispatch_core_start(struct edge *e)
{
	ev_timer_init(&e->core_retry, core_retry, e);
	ev_timer_start(e->loop, &e->core_retry, 0);
}

void
dispatch_core_stop(struct edge *e)
{
	ev_timer_stop(e->loop, &e->core_retry);
	if (e->core != NULL)
		ipc_chan_free(e->core);
	e->core = NULL;
	challenge_free(e);
}

/* RFC 3261 §18.2.2 with RFC 3581: where a response goes over UDP. */
static bool
response_dest(struct sip_msg *m, struct ipc_addr *dst)
{
	struct sip_err err;
	const struct sip_via *v = sip_msg_top_via(m, &err);
	if (v == NULL)
		return false;
	char host[64];
	struct slice h = v->received.len > 0 ? v->received : v->host;
	if (!slice_copy_cstr(h, host, sizeof host))
		return false;
	uint16_t port = v->has_rport && v->rport != 0 ? (uint16_t)v->rport
	    : v->port != 0                            ? v->port
	                                              : 5060;
	return ipc_addr_parse(dst, host, port);
}

/* Whether the recipient of m must see a sealed Call-ID: everybody but
 * the party that created it. */
static bool
hide_cid_for(struct edge *e, struct sip_msg *m)
{
	if (!e->conf.edge.topology.hide_call_id)
		return false;
	struct sip_err err;
	struct slice cid;
	const struct sip_nameaddr *to = sip_msg_to(m, &err);
	const struct sip_nameaddr *from = sip_msg_from(m, &err);
	if (to == NULL || from == NULL || sip_msg_call_id(m, &cid, &err) < 0)
		return true;
	struct slice rcpt = m->is_request ? to->tag : from->tag;
	return !callid_is_creator(e->cids, cid, rcpt, edge_now(e));
}

/* The same for the Call-ID a Replaces header names (RFC 3891): the
 * recipient is a party of that dialog, its tag there the to-tag. */
static bool
hide_replaces_for(struct edge *e, struct sip_msg *m)
{
	struct slice cid, to_tag;
	if (!e->conf.edge.topology.hide_call_id || !m->is_request ||
	    m->method != SIP_M_INVITE || !topo_replaces(m, &cid, &to_tag))
		return false;
	return !callid_is_creator(e->cids, cid, to_tag, edge_now(e));
}

static bool
ob_is_local(void *arg, struct slice host, uint16_t port)
{
	return listen_is_local(arg, host, port);
}

/* RFC 5626 (nat.h): a request whose top Route is a flow token of this
 * edge goes on exactly that flow, without that Route; when the flow is
 * gone core gets 430 Flow Failed for it. Returns 1 with m, sip and len
 * those of the request without the Route, 0 when there is no flow token,
 * -1 when the request is done with (430 sent, or a forged token). */
static int
outbound_flow(struct edge *e, struct sip_msg *m, struct ipc_flow *f,
    const char **sip, uint32_t *len)
{
	struct ipc_flow of = *f;
	struct sip_edit ed;
	sip_edit_init(&ed, m, &arena);
	int rc = nat_ob_route(m, &ed, &e->keys, ob_is_local, e, &of);
	if (rc <= 0)
		return rc;
	if (of.listener >= e->nlis ||
	    e->lis[of.listener].transport != of.transport)
		return -1;
	if (of.transport != IPC_TP_UDP &&
	    !stream_exists(e, of.conn_id, of.transport, &of.remote)) {
		if (m->method != SIP_M_ACK) {
			char tag[17];
			sip_random_token(tag, 16);
			tag[16] = '\0';
			struct slice r = sip_build_response(m, 430,
			    "Flow Failed", slice_cstr(tag), SLICE_NULL, &arena);
			if (r.len > 0)
				inbound_to_core(e, f, 0, r);
		}
		return -1;
	}
	struct slice out = sip_edit_render(&ed);
	struct sip_err err;
	if (out.len == 0 || sip_msg_parse(m, out.p, out.len, &arena, &err) != 0)
		return -1;
	f->transport = of.transport;
	f->listener = of.listener;
	f->conn_id = of.conn_id;
	f->remote = of.remote;
	f->local = e->lis[of.listener].local;
	*sip = out.p;
	*len = out.len;
	return 1;
}

int
dispatch_core_sip_out(
    struct edge *e, const struct ipc_sip_out *so, const char *sip, uint32_t len)
{
	if (!arena_ready) {
		arena_init(&arena, 64 * 1024, 2 * 1024 * 1024);
		arena_ready = true;
	}
	arena_reset(&arena);
	struct sip_err err;
	if (sip_msg_parse(&out_msg, sip, len, &arena, &err) != 0) {
		log_ratelimited(&rl_out, LOG_LVL_WARN,
		    "SIP_OUT from core does not parse: %s", err.phrase);
		return -1;
	}
	struct sip_msg *m = &out_msg;
	struct ipc_flow f = so->flow;
	acl_addr_normalise(&f.remote);
	if (m->is_request && outbound_flow(e, m, &f, &sip, &len) < 0)
		return -1;
	if (!m->is_request && f.transport == IPC_TP_UDP) {
		/* The response goes where its Via says (RFC 3581). */
		struct ipc_addr d;
		if (response_dest(m, &d))
			f.remote = d;
	}
	struct listener *l = f.listener < e->nlis ? &e->lis[f.listener] : NULL;
	if (l == NULL || l->transport != f.transport) {
		l = listen_pick(e, f.transport, f.remote.family);
		if (l == NULL) {
			log_ratelimited(&rl_out, LOG_LVL_WARN,
			    "SIP_OUT: no listener for transport %u",
			    f.transport);
			return -1;
		}
		f.listener = l->idx;
	}
	if (m->is_request && f.transport != IPC_TP_UDP &&
	    !stream_exists(e, f.conn_id, f.transport, &f.remote)) {
		/* The UA's connection is gone: a UA on a reachable address
		 * gets a new connection to its Request-URI (the Contact core
		 * chose); behind NAT it cannot be reached (RFC 5626 §3). */
		char host[64];
		struct ipc_addr d;
		if (m->ruri.host.len > 0 &&
		    slice_copy_cstr(m->ruri.host, host, sizeof host) &&
		    ipc_addr_parse(&d, host, sip_uri_port_or_default(&m->ruri)))
			f.remote = d;
	}
	sdp_rw_outbound(e, m);
	struct slice out = slice_make(sip, len);
	if (e->conf.edge.topology.hide) {
		struct sip_edit ed;
		sip_edit_init(&ed, m, &arena);
		struct topo t;
		edge_topo(e, &t);
		struct topo_self self = {
		    l->host_uri, l->local.port, l->transport};
		if (topo_hide(&t, m, &ed, &self, hide_cid_for(e, m)) != 0 ||
		    (hide_replaces_for(e, m) &&
		        topo_hide_replaces(&t, m, &ed) != 0)) {
			log_ratelimited(&rl_out, LOG_LVL_WARN,
			    "topology hiding failed; message dropped");
			return -1;
		}
		out = sip_edit_render(&ed);
		if (out.len == 0)
			return -1;
	}
	if (inbound_send_flow(e, &f, out) != 0) {
		e->st.tx_errors++;
		return -1;
	}
	return 0;
}

static void
core_msg(struct ipc_chan *ch, const struct ipc_msg *m, void *arg)
{
	struct edge *e = arg;
	(void)ch;
	struct ipc_reader r;
	ipc_reader_init(&r, m);
	switch (m->hdr.type) {
	case IPC_SIP_OUT: {
		struct ipc_sip_out so;
		if (!ipc_read(&r, &so, sizeof so))
			fatalx("core: short SIP_OUT");
		const uint8_t *sip = ipc_read_ptr(&r, so.sip_len);
		if (sip == NULL || !ipc_reader_done(&r))
			fatalx("core: SIP_OUT length mismatch");
		dispatch_core_sip_out(e, &so, (const char *)sip, so.sip_len);
		break;
	}
	case IPC_AUTH_FAILED: {
		struct ipc_source s;
		if (!ipc_read(&r, &s, sizeof s) || !ipc_reader_done(&r))
			fatalx("core: malformed AUTH_FAILED");
		acl_addr_normalise(&s.addr);
		if (ban_auth_failed(e->ban, &s.addr, edge_now(e)))
			inbound_ban(e, &s.addr, "auth failures");
		break;
	}
	case IPC_SOURCE_TRUSTED: {
		struct ipc_source s;
		if (!ipc_read(&r, &s, sizeof s) || !ipc_reader_done(&r))
			fatalx("core: malformed SOURCE_TRUSTED");
		acl_addr_normalise(&s.addr);
		/* "trunk:NAME": a trunk peer core resolved from a host name
		 * is exempt like the configured ones, not merely trusted. */
		if (ipc_source_is_trunk(s.user, strnlen(s.user, sizeof s.user)))
			rate_exempt(e->rate, &s.addr, edge_now(e));
		else
			rate_trust(e->rate, &s.addr, edge_now(e));
		break;
	}
	case IPC_RESULT:
		break;
	default:
		log_warnx("core: unexpected %s", m->info->name);
		break;
	}
}
