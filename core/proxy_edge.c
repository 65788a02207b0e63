/*
 * Several edges (SO_REUSEPORT) share core.sock. A UDP flow can leave from
 * any of them (they share the port), but a TCP/TLS connection lives in
 * one edge process only, under a connection id that means something else
 * (or nothing) in another. So what core sends toward a UA goes through
 * the edge that holds its flow: bindings, dialogs, contexts and branches
 * carry that edge as a stamp (slot + 1; 0 = not known, PX_EDGE_GONE =
 * that edge disconnected). core_send_sip() sends through c->last_edge
 * (the edge of the message being handled) when it is connected, so
 * sending through another edge is choosing last_edge around the send.
 */
#include <string.h>

#include "proxy.h"
#include "proxy_int.h"
#include "reg.h"

uint8_t
px_edge_now(const struct core *c)
{
	if (c->last_edge < 0 || c->last_edge >= CORE_MAX_EDGES ||
	    c->edges[c->last_edge] == NULL)
		return 0;
	return (uint8_t)(c->last_edge + 1);
}

static bool
edge_connected(const struct core *c, uint8_t e)
{
	return e >= 1 && e <= CORE_MAX_EDGES && c->edges[e - 1] != NULL;
}

bool
px_edge_reaches(const struct core *c, uint8_t edge, const struct ipc_flow *flow)
{
	bool stream =
	    flow->transport == IPC_TP_TCP || flow->transport == IPC_TP_TLS;

	if (!stream || flow->conn_id == 0 || edge == 0)
		return true; /* any edge (UDP), or not known: as before */
	return edge_connected(c, edge);
}

int
px_edge_enter(struct core *c, uint8_t edge)
{
	int old = c->last_edge;

	/* Unknown or gone: core_send_sip picks the current edge, else the
	 * first connected one, which is right for UDP. */
	if (edge_connected(c, edge))
		c->last_edge = edge - 1;
	return old;
}

void
px_edge_leave(struct core *c, int old)
{
	c->last_edge = old;
}

void
px_edge_stamp(struct core *c, struct sip_msg *m, const struct ipc_flow *flow)
{
	struct sip_err err;
	/* A REGISTER names its AoR in To; other requests of a UA (which is
	 * how a restarted core learns the edges again) in From. */
	const struct sip_nameaddr *who = m->method == SIP_M_REGISTER
	    ? sip_msg_to(m, &err)
	    : sip_msg_from(m, &err);
	struct loc_binding *v[PX_MAX_TARGETS];
	char aor[512];
	uint8_t e = px_edge_now(c);

	if (who == NULL || e == 0 ||
	    reg_make_aor(&who->uri, aor, sizeof(aor)) < 0)
		return;
	int n = loc_lookup(c->loc, slice_cstr(aor), v, PX_MAX_TARGETS);
	if (n > PX_MAX_TARGETS)
		n = PX_MAX_TARGETS;
	for (int i = 0; i < n; i++) {
		const struct loc_flow *lf = &v[i]->flow;
		if (lf->transport == flow->transport &&
		    lf->conn_id == flow->conn_id &&
		    ipc_addr_eq(&lf->remote, &flow->remote))
			v[i]->edge = e;
	}
}

struct gone_ctx {
	uint8_t e;
};

static int
gone_binding(struct loc_binding *b, void *arg)
{
	const struct gone_ctx *g = arg;

	if (b->edge == g->e)
		b->edge = PX_EDGE_GONE;
	return 0;
}

static int
gone_dialog(struct dialog *d, void *arg)
{
	const struct gone_ctx *g = arg;

	if (d->caller_edge == g->e)
		d->caller_edge = PX_EDGE_GONE;
	if (d->callee_edge == g->e)
		d->callee_edge = PX_EDGE_GONE;
	return 0;
}

void
proxy_edge_gone(struct core *c, int slot)
{
	struct gone_ctx g = {(uint8_t)(slot + 1)};

	if (slot < 0 || slot >= CORE_MAX_EDGES)
		return;
	/* Before the slot is reused by the next edge to connect, nothing
	 * may still name it. */
	if (c->loc != NULL)
		loc_walk(c->loc, gone_binding, &g);
	if (c->dlg != NULL)
		dlg_walk(c->dlg, gone_dialog, &g);
	if (c->proxy == NULL)
		return;
	struct px_ctx *next;
	for (struct px_ctx *x = px_first(c); x != NULL; x = next) {
		next = x->next;
		if (x->in_edge == g.e)
			x->in_edge = PX_EDGE_GONE;
		if (x->dst_edge == g.e)
			x->dst_edge = PX_EDGE_GONE;
		for (int i = 0; i < x->ntargets; i++)
			if (x->targets[i].edge == g.e)
				x->targets[i].edge = PX_EDGE_GONE;
		for (int i = 0; i < x->nbranches; i++)
			if (x->br[i]->edge == g.e)
				x->br[i]->edge = PX_EDGE_GONE;
		if (!px_edge_reaches(c, x->in_edge, &x->in_flow))
			px_caller_gone(x); /* may free x: next saved above */
	}
}
