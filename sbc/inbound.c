/*
 * Messages from outside. One arena and one sip_msg are reused for every
 * message (the loop handles one at a time), so the hot path allocates
 * nothing per message beyond arena chunks already there.
 */
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "callid.h"
#include "challenge.h"
#include "hdrtext.h"
#include "inbound.h"
#include "ipc.h"
#include "listen.h"
#include "log.h"
#include "nat.h"
#include "sanity.h"
#include "sdp_rw.h"
#include "sip_edit.h"
#include "stream.h"
#include "topo.h"
#include "udp.h"

static struct arena arena;
static bool arena_ready;
static struct sip_msg msg;
static struct log_rl rl_bad = LOG_RL_INIT(10000, 10);

void
inbound_flow(struct edge *e, struct listener *l, struct conn *conn,
    const struct ipc_addr *src, struct ipc_flow *f)
{
	(void)e;
	memset(f, 0, sizeof *f);
	f->transport = l->transport;
	f->role = l->role;
	f->listener = l->idx;
	f->conn_id = conn != NULL ? stream_conn_id(conn) : 0;
	f->local = l->local;
	f->remote = *src;
	/* Both NUL-padded 32-byte fields (listen.c keeps the listener's
	 * so): a copy, not a printf per message. */
	_Static_assert(sizeof f->trunk == sizeof l->trunk, "trunk tag size");
	memcpy(f->trunk, l->trunk, sizeof f->trunk);
	if (conn != NULL)
		snprintf(f->tls_peer, sizeof f->tls_peer, "%s",
		    stream_tls_peer(conn));
}

int
inbound_send_flow(struct edge *e, const struct ipc_flow *f, struct slice msg_)
{
	struct listener *l =
	    f->listener < e->nlis ? &e->lis[f->listener] : NULL;
	if (l == NULL || l->transport != f->transport)
		l = listen_pick(e, f->transport, f->remote.family);
	if (f->transport == IPC_TP_UDP) {
		if (l == NULL)
			return -1;
		return udp_send(l, &f->remote, msg_.p, msg_.len);
	}
	/* The trunk tag lets TLS to a carrier be checked against that trunk's
	 * peers even when they are host names or were added live. */
	char trunk[IPC_FLOW_TRUNK_STR];
	ipc_flow_trunk(f, trunk);
	return stream_send_trunk(e, f->conn_id, f->transport, l, &f->remote,
	    f->role == IPC_FLOW_ROLE_TRUNK && trunk[0] != '\0' ? trunk : NULL,
	    msg_.p, msg_.len);
}

void
inbound_reply(struct edge *e, const struct ipc_flow *f, struct sip_msg *req,
    int code, const char *phrase, const char *extra)
{
	char tag[17];
	sip_random_token(tag, 16);
	tag[16] = '\0';
	struct slice out =
	    sip_build_response(req, code, phrase, slice_cstr(tag),
	        extra != NULL ? slice_cstr(extra) : SLICE_NULL, req->arena);
	if (out.len == 0)
		return;
	if (inbound_send_flow(e, f, out) != 0)
		e->st.tx_errors++;
}

void
inbound_ban(struct edge *e, const struct ipc_addr *src, const char *reason)
{
	uint32_t t = ban_add(e->ban, src, reason, edge_now(e));
	e->st.bans++;
	char a[64];
	struct ipc_addr host = *src;
	host.port = 0;
	log_info("banned %s for %u s (%s)", ipc_addr_str(&host, a, sizeof a), t,
	    reason);
	if (e->relay != NULL) {
		struct ipc_ban b = {0};
		b.addr = *src;
		b.addr.port = 0;
		b.timeout_s = t;
		snprintf(b.reason, sizeof b.reason, "%s", reason);
		if (ipc_chan_send(e->relay, IPC_BAN_ADD, 0, ++e->next_id, &b,
		        sizeof b, NULL, 0) != 0)
			log_warnx("relay: BAN_ADD not sent");
	}
}

int
inbound_to_core(
    struct edge *e, const struct ipc_flow *f, uint32_t flags, struct slice m)
{
	if (e->core == NULL)
		return -1;
	struct ipc_sip_in in;
	memset(&in, 0, sizeof in);
	in.flow = *f;
	in.sip_len = m.len;
	in.flags = flags;
	return ipc_chan_send(
	    e->core, IPC_SIP_IN, 0, ++e->next_id, &in, sizeof in, m.p, m.len);
}

void
inbound_flow_closed(struct edge *e, struct listener *l, uint32_t conn_id,
    const struct ipc_addr *remote)
{
	if (e->core == NULL)
		return;
	struct ipc_flow_closed fc;
	memset(&fc, 0, sizeof fc);
	inbound_flow(e, l, NULL, remote, &fc.flow);
	fc.flow.conn_id = conn_id;
	ipc_chan_send(
	    e->core, IPC_FLOW_CLOSED, 0, ++e->next_id, &fc, sizeof fc, NULL, 0);
}

static void
count_method(struct edge *e, const struct sip_msg *m)
{
	if (!m->is_request) {
		e->st.rx_responses++;
		return;
	}
	e->st.rx_requests++;
	if (m->method == SIP_M_INVITE)
		e->st.sip_in_invite++;
	else if (m->method == SIP_M_REGISTER)
		e->st.sip_in_register++;
}

/* Applies the per-source and global limits to a request. false = done
 * with it (dropped, banned, or answered 503). */
static bool
rate_pass(struct edge *e, const struct ipc_flow *flow, struct sip_msg *m,
    const struct ipc_addr *src, bool has_method, uint64_t now)
{
	const struct pc_edge_conf *ec = &e->conf.edge;
	enum rate_class c = !m->is_request && m->status != 0 ? RATE_C_RESPONSE
	    : has_method ? rate_class_of_method(m->method)
	                 : RATE_C_OTHER;
	switch (rate_check(e->rate, src, c, now)) {
	case RATE_PASS:
		return true;
	case RATE_DROP:
		e->st.drops_ratelimit++;
		return false;
	case RATE_FLOOD:
		e->st.drops_ratelimit++;
		inbound_ban(e, src, "flood");
		return false;
	case RATE_GLOBAL:
		e->st.drops_global++;
		if (has_method && m->is_request && m->method != SIP_M_ACK) {
			char extra[64];
			snprintf(extra, sizeof extra, "Retry-After: %u\r\n",
			    ec->limits.retry_after_s);
			inbound_reply(
			    e, flow, m, 503, "Service Unavailable", extra);
		}
		return false;
	}
	return false;
}

void
inbound_msg(struct edge *e, struct listener *l, struct conn *conn,
    const struct ipc_addr *src, const char *buf, uint32_t len)
{
	uint64_t now = edge_now(e);
	const struct pc_edge_conf *ec = &e->conf.edge;
	e->st.rx_msgs++;
	if (conn == NULL && !acl_permits(&l->acl, src)) {
		e->st.drops_acl++;
		return;
	}
	if (ban_is_banned(e->ban, src, now)) {
		e->st.drops_banned++;
		return;
	}
	if (!arena_ready) {
		arena_init(&arena, 64 * 1024, 1024 * 1024);
		arena_ready = true;
	}
	arena_reset(&arena);
	struct ipc_flow flow;
	inbound_flow(e, l, conn, src, &flow);

	struct sip_err perr = {0};
	int rc = sip_msg_parse(&msg, buf, len, &arena, &perr);
	/* Limits come before the judgement of content, so a flood of
	 * malformed requests costs no more than a flood of good ones. A
	 * message whose start line did not parse counts as "other";
	 * responses have their own bucket (stray ones flood too). */
	if (!rate_pass(e, &flow, &msg, src, rc == 0 || msg.is_request, now))
		return;
	struct sanity_result sr;
	sanity_check(&msg, rc, &perr, ec->scanners, ec->nscanners,
	    ec->limits.max_message_size, &sr);
	switch (sr.verdict) {
	case SANITY_OK:
		break;
	case SANITY_REPLY:
		e->st.bad_requests++;
		inbound_reply(e, &flow, &msg, sr.code, sr.phrase, NULL);
		return;
	case SANITY_DROP:
		e->st.bad_dropped++;
		log_ratelimited(&rl_bad, LOG_LVL_DEBUG, "dropped: %s",
		    sr.phrase ? sr.phrase : "malformed");
		return;
	case SANITY_SCANNER:
		e->st.scanners++;
		inbound_ban(e, src, "scanner");
		return;
	}
	count_method(e, &msg);
	if (conn == NULL)
		edge_udp_flow_seen(e, l, src);
	if (e->core == NULL) {
		if (msg.is_request && msg.method != SIP_M_ACK) {
			e->st.core_down_503++;
			inbound_reply(e, &flow, &msg, 503,
			    "Service Unavailable", "Retry-After: 5\r\n");
		}
		return;
	}
	if (challenge_try(e, &flow, &msg))
		return;

	struct sip_edit ed;
	sip_edit_init(&ed, &msg, &arena);
	if (msg.is_request &&
	    nat_fix_via(&msg, &ed, src, ec->nat.force_rport) != 0) {
		e->st.bad_dropped++;
		return;
	}
	struct slice cid = SLICE_NULL;
	bool ruri_contact = false;
	if (ec->topology.hide) {
		struct topo t;
		edge_topo(e, &t);
		if (topo_restore(&t, &msg, &ed, &cid, &ruri_contact) < 0) {
			e->st.topo_bad_tokens++;
			log_ratelimited(&rl_bad, LOG_LVL_INFO,
			    "dropped a message with a damaged token");
			return;
		}
	}
	if (nat_ob_wanted(&msg) &&
	    nat_ob_add_path(
	        &msg, &ed, &e->keys, &flow, l->host, l->local.port) != 0) {
		e->st.bad_dropped++;
		return;
	}
	bool behind = nat_is_behind(&msg, src);
	struct sip_err cerr;
	const struct sip_cseq *cs = sip_msg_cseq(&msg, &cerr);
	bool dialog_msg = cs != NULL && cs->method != SIP_M_REGISTER;
	if (ec->nat.contact_alias && behind && dialog_msg &&
	    nat_alias_contacts(&msg, &ed, src) < 0) {
		e->st.bad_dropped++;
		return;
	}
	uint32_t flags =
	    rate_is_trusted(e->rate, src, now) ? IPC_SIPF_TRUSTED_SRC : 0;
	struct sip_err terr;
	const struct sip_nameaddr *to = sip_msg_to(&msg, &terr);
	const struct sip_nameaddr *from = sip_msg_from(&msg, &terr);
	if (ruri_contact && to != NULL && to->tag.len == 0)
		flags |= IPC_SIPF_RURI_CONTACT;
	if (cid.len == 0)
		sip_msg_call_id(&msg, &cid, &terr);
	/* A request opening a dialog or transaction: its sender made the
	 * Call-ID (hide_call_id shows it the real one). Without hiding the
	 * table is never read, so it is not kept (nor written behind). */
	if (ec->topology.hide_call_id && msg.is_request && to != NULL &&
	    to->tag.len == 0 && from != NULL)
		callid_note(e->cids, cid, from->tag, now);
	/* Media anchoring may hold the message until the relay answers. */
	sdp_rw_inbound(e, &flow, flags, &msg, &ed, behind, cid);
}
