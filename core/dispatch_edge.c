/*
 * core.sock: the edges connect here (SOCK_SEQPACKET, HELLO first). Losing
 * an edge is normal (it restarts); its slot is freed and the bindings keep
 * their flows, which a restarted edge can still serve for UDP.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "hash.h"
#include "log.h"
#include "proxy.h"

/*
 * SOURCE_TRUSTED is idempotent at the edge (it lasts an hour there), yet
 * core would send it with every authenticated REGISTER: a source's mark
 * is repeated at most once a minute (a direct-mapped memory; a collision
 * only costs a repeat). The edge reads the user only to tell a trunk's
 * mark ("trunk:NAME", which exempts) from a user's (which trusts), so
 * every user behind one address (an office behind NAT) shares one mark
 * and a trunk's mark is its own. Forgotten when an edge connects, so a
 * new one learns.
 */
#define TRUST_SLOTS 1024
#define TRUST_REPEAT_S 60
static struct {
	struct ipc_addr addr;
	uint64_t user; /* hash of a trunk's mark; 0 for any user */
	int64_t at;
} trust_sent[TRUST_SLOTS];

static bool
trust_recent(struct core *c, const struct ipc_addr *addr, struct slice user)
{
	uint64_t uh = ipc_source_is_trunk(user.p, user.len)
	    ? hash_bytes(user.p, user.len)
	    : 0;
	uint64_t h = (hash_bytes(addr, sizeof(*addr)) ^ uh) % TRUST_SLOTS;
	int64_t now = core_now_s(c);
	if (trust_sent[h].at != 0 && trust_sent[h].user == uh &&
	    memcmp(&trust_sent[h].addr, addr, sizeof(*addr)) == 0 &&
	    now - trust_sent[h].at < TRUST_REPEAT_S && now >= trust_sent[h].at)
		return true;
	trust_sent[h].addr = *addr;
	trust_sent[h].user = uh;
	trust_sent[h].at = now;
	return false;
}

#define EDGE_HIGH_WATER (32u * 1024 * 1024)

struct edge_slot {
	struct core *c;
	int idx;
};

static struct edge_slot slots[CORE_MAX_EDGES];

static void
edge_msg(struct ipc_chan *ch, const struct ipc_msg *m, void *arg)
{
	struct edge_slot *s = arg;
	struct core *c = s->c;
	struct ipc_reader r;

	(void)ch;
	if (m->fd >= 0)
		close(m->fd);
	ipc_reader_init(&r, m);
	switch (m->hdr.type) {
	case IPC_SIP_IN: {
		struct ipc_sip_in in;
		if (!ipc_read(&r, &in, sizeof(in)))
			fatalx("core.sock: short SIP_IN");
		const uint8_t *p = ipc_read_ptr(&r, in.sip_len);
		if (p == NULL || !ipc_reader_done(&r))
			fatalx("core.sock: SIP_IN length mismatch");
		c->last_edge = s->idx;
		c->in_flags = in.flags;
		proxy_sip_in(c, &in.flow, (const char *)p, in.sip_len);
		c->in_flags = 0;
		break;
	}
	case IPC_FLOW_CLOSED: {
		struct ipc_flow_closed fc;
		struct loc_flow lf;
		if (!ipc_read(&r, &fc, sizeof(fc)) || !ipc_reader_done(&r))
			fatalx("core.sock: bad FLOW_CLOSED");
		loc_flow_from_ipc(&lf, &fc.flow);
		loc_flow_closed(c->loc, &lf);
		break;
	}
	case IPC_CALL_RELEASE: {
		struct ipc_call_release cr;
		if (!ipc_read(&r, &cr, sizeof(cr)) || !ipc_reader_done(&r))
			fatalx("core.sock: bad CALL_RELEASE");
		cr.call_id[sizeof(cr.call_id) - 1] = '\0';
		cr.reason[sizeof(cr.reason) - 1] = '\0';
		if (proxy_hangup(c, slice_cstr(cr.call_id), cr.reason) < 0)
			log_debug(
			    "CALL_RELEASE for unknown call %s", cr.call_id);
		break;
	}
	default:
		log_warnx("core.sock: unexpected %s from edge",
		    m->info ? m->info->name : "message");
		break;
	}
}

static void
edge_close(struct ipc_chan *ch, void *arg)
{
	struct edge_slot *s = arg;
	struct core *c = s->c;

	log_info("edge %d disconnected", s->idx);
	c->edges[s->idx] = NULL;
	proxy_edge_gone(c, s->idx);
	ipc_chan_free(ch);
}

static void
accept_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct core *c = arg;

	(void)events;
	for (;;) {
		int cfd = ipc_accept(fd);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_warn("core.sock accept");
			return;
		}
		int i;
		for (i = 0; i < CORE_MAX_EDGES; i++)
			if (c->edges[i] == NULL)
				break;
		if (i == CORE_MAX_EDGES) {
			log_warnx("core.sock: too many edges, refusing one");
			close(cfd);
			continue;
		}
		slots[i].c = c;
		slots[i].idx = i;
		c->edges[i] = ipc_chan_new(loop, cfd, &ipc_cat_core,
		    EDGE_HIGH_WATER, IPC_ROLE_CORE, "portcullis-core", edge_msg,
		    edge_close, &slots[i]);
		if (c->edges[i] != NULL) {
			/* Answers leave together when the loop sleeps. */
			ipc_chan_batch(c->edges[i]);
			memset(trust_sent, 0, sizeof(trust_sent));
			log_info("edge %d connected", i);
			if (c->trunks != NULL)
				trunks_announce(c->trunks);
		}
	}
}

int
edge_listen(struct core *c, const char *path)
{
	c->listen_fd = ipc_listen(path, 0660);
	if (c->listen_fd < 0)
		return -1;
	return ev_io_add(c->loop, c->listen_fd, EV_READ, accept_cb, c);
}

void
edge_close_all(struct core *c)
{
	for (int i = 0; i < CORE_MAX_EDGES; i++) {
		if (c->edges[i] != NULL) {
			ipc_chan_free(c->edges[i]);
			c->edges[i] = NULL;
		}
	}
	if (c->listen_fd >= 0) {
		ev_io_del(c->loop, c->listen_fd);
		close(c->listen_fd);
		c->listen_fd = -1;
	}
}

size_t
core_edge_count(const struct core *c)
{
	size_t n = 0;

	for (int i = 0; i < CORE_MAX_EDGES; i++)
		if (c->edges[i] != NULL)
			n++;
	return n;
}

static struct ipc_chan *
pick_edge(struct core *c)
{
	if (c->last_edge >= 0 && c->last_edge < CORE_MAX_EDGES &&
	    c->edges[c->last_edge] != NULL)
		return c->edges[c->last_edge];
	for (int i = 0; i < CORE_MAX_EDGES; i++)
		if (c->edges[i] != NULL)
			return c->edges[i];
	return NULL;
}

void
core_send_sip(
    struct core *c, const struct ipc_flow *flow, const char *buf, uint32_t len)
{
	static struct log_rl rl = LOG_RL_INIT(10000, 5);
	struct ipc_chan *ch = pick_edge(c);
	struct ipc_sip_out out;

	if (ch == NULL) {
		c->st.sip_out_dropped++;
		log_ratelimited(&rl, LOG_LVL_WARN,
		    "no edge connected: SIP message dropped");
		return;
	}
	memset(&out, 0, sizeof(out));
	out.flow = *flow;
	out.sip_len = len;
	if (ipc_chan_send(ch, IPC_SIP_OUT, 0, 0, &out, sizeof(out), buf, len) <
	    0) {
		c->st.sip_out_dropped++;
		log_ratelimited(
		    &rl, LOG_LVL_WARN, "edge queue full: SIP message dropped");
		return;
	}
	c->st.sip_out++;
}

void
core_report_source(struct core *c, uint16_t type, const struct ipc_addr *addr,
    struct slice user)
{
	struct ipc_source s;

	if (type == IPC_SOURCE_TRUSTED && trust_recent(c, addr, user))
		return;
	memset(&s, 0, sizeof(s));
	s.addr = *addr;
	size_t n =
	    user.len < sizeof(s.user) - 1 ? user.len : sizeof(s.user) - 1;
	if (n)
		memcpy(s.user, user.p, n);
	for (int i = 0; i < CORE_MAX_EDGES; i++)
		if (c->edges[i] != NULL)
			ipc_chan_send(
			    c->edges[i], type, 0, 0, &s, sizeof(s), NULL, 0);
}
