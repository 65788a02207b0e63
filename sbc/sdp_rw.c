/*
 * Media anchoring. The offer/answer state per call is small: who made the
 * outstanding offer (its tag), whether the INVITE was answered. Call
 * records are kept by Call-ID, bounded in number and age.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inbound.h"
#include "ipc.h"
#include "log.h"
#include "sdp_rw.h"

#define PENDING_TIMEOUT_MS 3000
#define MAX_CALLS 100000
#define CALL_IDLE_MS (6ull * 3600 * 1000)

struct call {
	struct hnode node;
	char call_id[256];
	char offer_tag[64]; /* tag of the party whose offer is open */
	bool offer_open;
	bool confirmed; /* a 2xx to the INVITE was seen */
	uint64_t touched_ms;
};

struct pending {
	struct hnode node;
	uint64_t id;
	struct ipc_flow flow;
	uint32_t flags;
	bool is_request;
	bool is_offer;
	char call_id[256];
	char *buf;
	uint32_t len;
	uint64_t since_ms;
};

static struct log_rl rl_media = LOG_RL_INIT(10000, 10);

int
sdp_rw_streams(const struct sdp *s, bool behind_nat, struct ipc_media_req *req)
{
	if (s->nmedia > IPC_MEDIA_MAX_STREAMS)
		return -1;
	req->nstreams = (uint8_t)s->nmedia;
	for (uint16_t i = 0; i < s->nmedia; i++) {
		const struct sdp_media *md = &s->media[i];
		struct ipc_media_stream *st = &req->streams[i];
		memset(st, 0, sizeof *st);
		st->index = (uint8_t)i;
		char a[64];
		struct ipc_addr addr = {0};
		if (md->conn.addr.len > 0 && md->conn.addr.len < sizeof a) {
			memcpy(a, md->conn.addr.p, md->conn.addr.len);
			a[md->conn.addr.len] = '\0';
			ipc_addr_parse(&addr, a, md->port);
		}
		st->rtp = addr;
		st->rtp.port = md->port;
		if (md->rtcp_port != 0) {
			st->rtcp = addr;
			if (md->rtcp_conn.addr.len > 0 &&
			    md->rtcp_conn.addr.len < sizeof a) {
				memcpy(a, md->rtcp_conn.addr.p,
				    md->rtcp_conn.addr.len);
				a[md->rtcp_conn.addr.len] = '\0';
				ipc_addr_parse(&st->rtcp, a, md->rtcp_port);
			}
			st->rtcp.port = md->rtcp_port;
		}
		if (md->rtcp_mux)
			st->flags |= IPC_MSF_RTCP_MUX;
		if (behind_nat)
			st->flags |= IPC_MSF_NAT;
		enum sdp_dir d = md->dir != SDP_DIR_SENDRECV ? md->dir : s->dir;
		bool zero =
		    addr.family == 4 && memcmp(addr.addr, "\0\0\0\0", 4) == 0;
		if (d == SDP_DIR_SENDONLY || d == SDP_DIR_INACTIVE || zero)
			st->flags |= IPC_MSF_HOLD;
	}
	return 0;
}

int
sdp_rw_apply(const struct sdp *s, const struct ipc_media_reply *rep,
    bool drop_candidates, struct sdp_rewrite *rw, struct arena *a)
{
	memset(rw, 0, sizeof *rw);
	if (rep->nstreams > IPC_MEDIA_MAX_STREAMS || rep->nstreams > s->nmedia)
		return -1;
	rw->drop_candidates = drop_candidates;
	const struct ipc_media_stream *by_index[SDP_MAX_MEDIA] = {0};
	for (uint8_t i = 0; i < rep->nstreams; i++) {
		const struct ipc_media_stream *st = &rep->streams[i];
		if (st->index >= s->nmedia || st->index >= SDP_MAX_MEDIA)
			return -1;
		if (st->rtp.port != 0 && st->rtp.family != 4 &&
		    st->rtp.family != 6)
			return -1;
		by_index[st->index] = st;
		if (rw->origin_addr == NULL && st->rtp.family != 0) {
			char *txt = arena_alloc(a, 48);
			if (txt == NULL)
				return -1;
			inet_ntop(st->rtp.family == 6 ? AF_INET6 : AF_INET,
			    st->rtp.addr, txt, 48);
			rw->origin_addr = txt;
			rw->origin_af = st->rtp.family;
		}
	}
	if (rw->origin_addr == NULL)
		return -1;
	/* Every section is rewritten, disabled ones too (port 0 with the
	 * relay's address), so no address of the party is left. An active
	 * section the relay did not anchor fails the whole SDP. */
	for (uint16_t i = 0; i < s->nmedia && i < SDP_MAX_MEDIA; i++) {
		const struct ipc_media_stream *st = by_index[i];
		struct sdp_media_rw *m = &rw->media[i];
		m->set = true;
		m->addr = rw->origin_addr;
		m->af = rw->origin_af;
		if (s->media[i].port == 0 ||
		    (st != NULL && st->rtp.port == 0)) {
			m->port = 0;
			continue;
		}
		if (st == NULL || (st->rtp.family != 4 && st->rtp.family != 6))
			return -1;
		char *txt = arena_alloc(a, 48);
		if (txt == NULL)
			return -1;
		inet_ntop(st->rtp.family == 6 ? AF_INET6 : AF_INET,
		    st->rtp.addr, txt, 48);
		m->addr = txt;
		m->af = st->rtp.family;
		m->port = st->rtp.port;
		m->rtcp_port = st->rtcp.family != 0 ? st->rtcp.port : 0;
	}
	return 0;
}

/* ---- call records ---- */

static uint64_t
cid_hash(const char *cid)
{
	return hash_bytes(cid, strlen(cid));
}

static struct call *
call_find(struct edge *e, const char *cid)
{
	uint64_t hv = cid_hash(cid);
	for (struct hnode *n = htable_first(&e->calls, hv); n != NULL;
	     n = htable_next(n, hv)) {
		struct call *c = container_of(n, struct call, node);
		if (strcmp(c->call_id, cid) == 0)
			return c;
	}
	return NULL;
}

static struct call *
call_get(struct edge *e, const char *cid)
{
	struct call *c = call_find(e, cid);
	if (c != NULL || e->ncalls >= MAX_CALLS)
		return c;
	c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	snprintf(c->call_id, sizeof c->call_id, "%s", cid);
	htable_insert(&e->calls, &c->node, cid_hash(cid));
	e->ncalls++;
	return c;
}

static void
call_drop(struct edge *e, struct call *c)
{
	htable_remove(&e->calls, &c->node);
	e->ncalls--;
	free(c);
}

static void
media_delete(struct edge *e, const char *cid)
{
	struct call *c = call_find(e, cid);
	if (c == NULL)
		return;
	call_drop(e, c);
	if (e->relay == NULL)
		return;
	struct ipc_media_ref r;
	memset(&r, 0, sizeof r);
	snprintf(r.call_id, sizeof r.call_id, "%s", cid);
	e->st.media_deletes++;
	ipc_chan_send(
	    e->relay, IPC_MEDIA_DELETE, 0, ++e->next_id, &r, sizeof r, NULL, 0);
}

/* ---- held messages ---- */

static struct pending *
pending_take(struct edge *e, uint64_t id)
{
	uint64_t hv = hash_bytes(&id, sizeof id);
	for (struct hnode *n = htable_first(&e->pending, hv); n != NULL;
	     n = htable_next(n, hv)) {
		struct pending *p = container_of(n, struct pending, node);
		if (p->id == id) {
			htable_remove(&e->pending, &p->node);
			return p;
		}
	}
	return NULL;
}

static void
pending_free(struct pending *p)
{
	free(p->buf);
	free(p);
}

static bool
has_sdp(struct sip_msg *m)
{
	if (m->body.len == 0)
		return false;
	struct slice ct = sip_msg_content_type(m);
	return slice_has_prefix_nocase(ct, "application/sdp");
}

static void
slice_to(struct slice s, char *dst, size_t cap)
{
	if (!slice_copy_cstr(s, dst, cap))
		dst[0] = '\0';
}

/* Fails a held or current request: answer it (never an ACK). */
static void
fail_request(struct edge *e, const struct ipc_flow *flow, struct sip_msg *m,
    int code, const char *phrase)
{
	e->st.media_errors++;
	if (m->is_request && m->method != SIP_M_ACK)
		inbound_reply(e, flow, m, code, phrase, NULL);
}

static void
send_rendered(struct edge *e, const struct ipc_flow *flow, uint32_t flags,
    struct sip_edit *ed)
{
	struct slice out = sip_edit_render(ed);
	if (out.len == 0) {
		e->st.bad_dropped++;
		return;
	}
	if (inbound_to_core(e, flow, flags, out) != 0)
		e->st.tx_errors++;
}

/*
 * Media belongs to the call, not to one fork branch, so it is deleted only
 * when the call ends. The edge sits between the outside and core, so the
 * direction tells the roles apart: every INVITE response going out answers
 * the caller (core's best response), every one coming in is one branch's.
 * - BYE, either direction, ends the call.
 * - CANCEL never does by itself: the caller's CANCEL ends the call through
 *   the 487 core then sends out; core's CANCEL to a losing branch ends only
 *   that branch.
 * - A final failure going out before any 2xx ends the call; once a 2xx was
 *   seen (or an in-dialog INVITE proved a dialog), a failure is a
 *   re-INVITE's (491, 488) and the established call keeps its media.
 * - Failures coming in (486 from one device, 487 after core's CANCEL)
 *   never do: core decides what the caller gets.
 */
static void
observe(struct edge *e, struct sip_msg *m, struct slice cid, bool outbound)
{
	struct sip_err err;
	if (cid.len == 0 && sip_msg_call_id(m, &cid, &err) < 0)
		return;
	char c[256];
	slice_to(cid, c, sizeof c);
	const struct sip_cseq *cs = sip_msg_cseq(m, &err);
	if (cs == NULL)
		return;
	if (m->is_request) {
		if (m->method == SIP_M_BYE) {
			media_delete(e, c);
		} else if (m->method == SIP_M_INVITE) {
			const struct sip_nameaddr *to = sip_msg_to(m, &err);
			struct call *call = call_find(e, c);
			if (call != NULL && to != NULL && to->tag.len > 0)
				call->confirmed = true;
		}
		return;
	}
	if (cs->method != SIP_M_INVITE)
		return;
	struct call *call = call_find(e, c);
	if (call == NULL)
		return;
	if (m->status >= 200 && m->status < 300)
		call->confirmed = true;
	else if (m->status >= 300 && outbound && !call->confirmed)
		media_delete(e, c);
}

void
sdp_rw_outbound(struct edge *e, struct sip_msg *m)
{
	observe(e, m, SLICE_NULL, true);
}

void
sdp_rw_inbound(struct edge *e, const struct ipc_flow *flow, uint32_t flags,
    struct sip_msg *m, struct sip_edit *ed, bool behind, struct slice cid)
{
	const struct pc_edge_media *mc = &e->conf.edge.media_anchor;
	observe(e, m, cid, false);
	if (!mc->enabled || !has_sdp(m)) {
		send_rendered(e, flow, flags, ed);
		return;
	}
	struct sip_err err;
	const struct sip_cseq *cs = sip_msg_cseq(m, &err);
	if (cs == NULL || (cid.len == 0 && sip_msg_call_id(m, &cid, &err) < 0))
		return;
	if (!m->is_request && (m->status < 180 || m->status >= 300)) {
		send_rendered(e, flow, flags, ed); /* no SDP use */
		return;
	}
	if (e->relay == NULL) {
		/* Without relay no media is anchored, and no call may go
		 * half-anchored (contract). */
		log_ratelimited(&rl_media, LOG_LVL_WARN,
		    "relay absent: refusing a message with SDP");
		fail_request(e, flow, m, 503, "Service Unavailable");
		return;
	}
	struct sdp *sdp = arena_alloc(m->arena, sizeof *sdp);
	if (sdp == NULL || sdp_parse(m->body, sdp, &err) != 0) {
		fail_request(e, flow, m, 488, "Not Acceptable Here");
		return;
	}
	const struct sip_nameaddr *from = sip_msg_from(m, &err);
	const struct sip_nameaddr *to = sip_msg_to(m, &err);
	if (from == NULL || to == NULL)
		return;
	struct slice mine = m->is_request ? from->tag : to->tag;
	struct slice other = m->is_request ? to->tag : from->tag;
	char cidz[256];
	slice_to(cid, cidz, sizeof cidz);
	struct call *call = call_get(e, cidz);
	if (call == NULL) {
		fail_request(e, flow, m, 500, "Server Internal Error");
		return;
	}
	call->touched_ms = edge_now(e);
	/* An in-dialog INVITE (To tag) proves the call was established,
	 * even for a record made afresh (after an edge restart). */
	if (m->is_request && m->method == SIP_M_INVITE && to->tag.len > 0)
		call->confirmed = true;
	char mytag[64];
	slice_to(mine, mytag, sizeof mytag);
	/* An answer closes an offer the other party made. */
	bool other_offered =
	    call->offer_tag[0] != '\0' && strcmp(call->offer_tag, mytag) != 0;
	/* A response answers the other party's last offer (a 200 may repeat
	 * the SDP of a 183); a request answers only an open one (ACK, PRACK
	 * after an offer in a reliable 18x). */
	bool is_offer = m->is_request ? !(call->offer_open && other_offered)
	                              : !other_offered;
	struct ipc_media_req *req = calloc(1, sizeof *req);
	struct pending *p = calloc(1, sizeof *p);
	if (req == NULL || p == NULL) {
		free(req);
		free(p);
		fail_request(e, flow, m, 500, "Server Internal Error");
		return;
	}
	snprintf(req->call_id, sizeof req->call_id, "%s", cidz);
	slice_to(mine, req->from_tag, sizeof req->from_tag);
	slice_to(other, req->to_tag, sizeof req->to_tag);
	req->signal_src = flow->remote;
	if (behind)
		req->flags |= IPC_MSF_NAT;
	if (sdp_rw_streams(sdp, behind, req) != 0) {
		free(req);
		free(p);
		fail_request(e, flow, m, 488, "Not Acceptable Here");
		return;
	}
	/* Hold the message as it will go on, minus the new SDP. */
	struct slice out = sip_edit_render(ed);
	p->buf = out.len ? malloc(out.len) : NULL;
	if (p->buf == NULL) {
		free(req);
		free(p);
		e->st.bad_dropped++;
		return;
	}
	memcpy(p->buf, out.p, out.len);
	p->len = out.len;
	p->id = ++e->next_id;
	p->flow = *flow;
	p->flags = flags;
	p->is_request = m->is_request;
	p->is_offer = is_offer;
	snprintf(p->call_id, sizeof p->call_id, "%s", cidz);
	p->since_ms = edge_now(e);
	uint16_t type = is_offer ? IPC_MEDIA_OFFER : IPC_MEDIA_ANSWER;
	if (ipc_chan_send(
	        e->relay, type, 0, p->id, req, sizeof *req, NULL, 0) != 0) {
		free(req);
		pending_free(p);
		fail_request(e, flow, m, 500, "Server Internal Error");
		return;
	}
	free(req);
	if (is_offer) {
		e->st.media_offers++;
		call->offer_open = true;
		snprintf(call->offer_tag, sizeof call->offer_tag, "%s", mytag);
	} else {
		e->st.media_answers++;
		call->offer_open = false;
	}
	htable_insert(&e->pending, &p->node, hash_bytes(&p->id, sizeof p->id));
}

/* Re-reads a held message and fails or finishes it. */
static void
finish(struct edge *e, struct pending *p, const struct ipc_media_reply *rep)
{
	struct arena a;
	arena_init(&a, 16 * 1024, 1024 * 1024);
	struct sip_msg *m = arena_zalloc(&a, sizeof *m);
	struct sip_err err;
	if (m == NULL || sip_msg_parse(m, p->buf, p->len, &a, &err) != 0) {
		arena_free(&a);
		return;
	}
	if (rep == NULL || rep->status < 0) {
		char msg[64] = "no reply";
		if (rep != NULL)
			snprintf(msg, sizeof msg, "%.60s", rep->message);
		log_ratelimited(&rl_media, LOG_LVL_WARN,
		    "relay refused media of %s: %s", p->call_id, msg);
		fail_request(e, &p->flow, m, 500, "Server Internal Error");
		media_delete(e, p->call_id);
		arena_free(&a);
		return;
	}
	struct sdp *sdp = arena_alloc(&a, sizeof *sdp);
	struct sdp_rewrite rw;
	struct slice body = SLICE_NULL;
	if (sdp != NULL && sdp_parse(m->body, sdp, &err) == 0 &&
	    sdp_rw_apply(sdp, rep, e->conf.edge.media_anchor.drop_candidates,
	        &rw, &a) == 0)
		body = sdp_rewrite(sdp, &rw, &a);
	if (body.len == 0) {
		fail_request(e, &p->flow, m, 488, "Not Acceptable Here");
		media_delete(e, p->call_id);
		arena_free(&a);
		return;
	}
	struct sip_edit ed;
	sip_edit_init(&ed, m, &a);
	sip_edit_set_body(&ed, body, SLICE_NULL);
	send_rendered(e, &p->flow, p->flags, &ed);
	arena_free(&a);
}

void
sdp_rw_on_relay(struct edge *e, const struct ipc_msg *im)
{
	if (im->hdr.type == IPC_MEDIA_REPLY) {
		struct ipc_media_reply rep;
		struct ipc_reader r;
		ipc_reader_init(&r, im);
		if (!ipc_read(&r, &rep, sizeof rep) || !ipc_reader_done(&r))
			fatalx("relay: malformed MEDIA_REPLY");
		rep.message[sizeof rep.message - 1] = '\0';
		struct pending *p = pending_take(e, im->hdr.id);
		if (p == NULL)
			return; /* timed out already */
		finish(e, p, &rep);
		pending_free(p);
		return;
	}
	if (im->hdr.type == IPC_MEDIA_TIMEOUT) {
		struct ipc_media_ref ref;
		struct ipc_reader r;
		ipc_reader_init(&r, im);
		if (!ipc_read(&r, &ref, sizeof ref) || !ipc_reader_done(&r))
			fatalx("relay: malformed MEDIA_TIMEOUT");
		ref.call_id[sizeof ref.call_id - 1] = '\0';
		log_info("media timeout: releasing call %s", ref.call_id);
		/* The call record stays: the relay keeps the stream until
		 * MEDIA_DELETE, which the end of the call (core's BYEs, or
		 * the final failure of a call never answered) sends only
		 * while the record exists. */
		if (e->core != NULL) {
			struct ipc_call_release cr;
			memset(&cr, 0, sizeof cr);
			snprintf(
			    cr.call_id, sizeof cr.call_id, "%s", ref.call_id);
			snprintf(cr.reason, sizeof cr.reason, "media timeout");
			ipc_chan_send(e->core, IPC_CALL_RELEASE, 0,
			    ++e->next_id, &cr, sizeof cr, NULL, 0);
		}
	}
}

struct sweep {
	struct edge *e;
	uint64_t now;
	bool all;
};

static int
sweep_pending(struct hnode *n, void *arg)
{
	struct sweep *s = arg;
	struct pending *p = container_of(n, struct pending, node);
	if (s->all || s->now - p->since_ms >= PENDING_TIMEOUT_MS) {
		htable_remove(&s->e->pending, n);
		finish(s->e, p, NULL);
		pending_free(p);
	}
	return 0;
}

static int
sweep_calls(struct hnode *n, void *arg)
{
	struct sweep *s = arg;
	struct call *c = container_of(n, struct call, node);
	if (s->all || s->now - c->touched_ms >= CALL_IDLE_MS)
		call_drop(s->e, c);
	return 0;
}

void
sdp_rw_relay_lost(struct edge *e)
{
	struct sweep s = {e, edge_now(e), true};
	htable_walk(&e->pending, sweep_pending, &s);
}

void
sdp_rw_housekeeping(struct edge *e)
{
	struct sweep s = {e, edge_now(e), false};
	htable_walk(&e->pending, sweep_pending, &s);
	htable_walk(&e->calls, sweep_calls, &s);
}

int
sdp_rw_init(struct edge *e)
{
	if (htable_init(&e->calls, 256) != 0 ||
	    htable_init(&e->pending, 64) != 0)
		return -1;
	return 0;
}

static int
free_pending(struct hnode *n, void *arg)
{
	struct edge *e = arg;
	htable_remove(&e->pending, n);
	pending_free(container_of(n, struct pending, node));
	return 0;
}

static int
free_call(struct hnode *n, void *arg)
{
	call_drop(arg, container_of(n, struct call, node));
	return 0;
}

void
sdp_rw_free(struct edge *e)
{
	htable_walk(&e->pending, free_pending, e);
	htable_walk(&e->calls, free_call, e);
	htable_free(&e->pending);
	htable_free(&e->calls);
}

size_t
sdp_rw_ncalls(struct edge *e)
{
	return e->ncalls;
}
