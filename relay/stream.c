/*
 * The call table and the decision of where each stream is forwarded.
 *
 * A component (RTP or RTCP) of a stream goes to the kernel when both legs
 * are known: latched from their own packets, or (a party not behind NAT)
 * its SDP address once it had latch_wait_ms to send. Then one batch writes
 * both directions into the maps and closes the port pairs user space no
 * longer needs to hear (whatever still reaches them is a stranger: the
 * table drops it), and the flow's conntrack entries are deleted so the
 * next packet takes the new NAT; what waits at its sockets is forwarded
 * just before that (relay_flush()). Any change of address replaces the entries the same way; a change
 * that makes a leg unknown again takes the component back to user space.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ct.h"
#include "fwd_user.h"
#include "log.h"
#include "state.h"
#include "stream.h"

static struct log_rl rl_kernel = LOG_RL_INIT(10000, 5);
static struct log_rl rl_user = LOG_RL_INIT(10000, 5);

bool
relay_init(struct relay *r, struct ev_loop *loop, const struct ipc_addr *addr,
    const struct ipc_addr *adv, uint16_t lo, uint16_t hi)
{
	memset(r, 0, sizeof(*r));
	r->loop = loop;
	r->addr = *addr;
	r->adv = adv != NULL && adv->family != 0 ? *adv : *addr;
	if (!port_pool_init(&r->pool, lo, hi))
		return false;
	r->socks =
	    calloc((size_t)r->pool.hi - r->pool.lo + 1, sizeof(*r->socks));
	if (r->socks == NULL || htable_init(&r->calls, 1024) < 0)
		return false;
	for (uint32_t i = 0; i <= (uint32_t)r->pool.hi - r->pool.lo; i++)
		r->socks[i].fd = -1;
	r->latch_wait_ms = 1000;
	r->timeout_ms = 60000;
	r->hold_timeout_ms = 3600000;
	r->tick_ms = 1000;
	return true;
}

static void call_free(struct relay *r, struct rcall *c, bool is_kernel_too);
static void idle_close_oldest(struct relay *r);

static int
free_walk(struct hnode *n, void *arg)
{
	struct relay *r = arg;
	struct rcall *c = container_of(n, struct rcall, node);

	htable_remove(&r->calls, n);
	/* Shutdown keeps the kernel forwarding: media outlives relay. */
	call_free(r, c, false);
	return 0;
}

void
relay_free(struct relay *r)
{
	ev_timer_stop(r->loop, &r->tick);
	htable_walk(&r->calls, free_walk, r);
	htable_free(&r->calls);
	while (r->nidle > 0)
		idle_close_oldest(r);
	free(r->idle);
	free(r->socks);
	free(r->drain);
	port_pool_free(&r->pool);
}

static uint64_t
call_hash(const char *call_id)
{
	return hash_bytes(call_id, strlen(call_id));
}

struct rcall *
relay_call_find(struct relay *r, const char *call_id)
{
	uint64_t hv = call_hash(call_id);

	for (struct hnode *n = htable_first(&r->calls, hv); n != NULL;
	     n = htable_next(n, hv)) {
		struct rcall *c = container_of(n, struct rcall, node);

		if (strcmp(c->call_id, call_id) == 0)
			return c;
	}
	return NULL;
}

struct walk_ctx {
	void (*fn)(struct rcall *, void *);
	void *arg;
};

static int
walk_cb(struct hnode *n, void *arg)
{
	struct walk_ctx *w = arg;

	w->fn(container_of(n, struct rcall, node), w->arg);
	return 0;
}

void
relay_call_walk(struct relay *r, void (*fn)(struct rcall *, void *), void *arg)
{
	struct walk_ctx w = {fn, arg};

	htable_walk(&r->calls, walk_cb, &w);
}

bool
stream_comp_used(const struct rstream *s, int comp)
{
	return comp == 0 || !(s->flags & IPC_MSF_RTCP_MUX);
}

/* The SDP address of a leg for a component (RTCP defaults to RTP + 1). */
static struct ipc_addr
leg_sdp(const struct rleg *l, int comp)
{
	struct ipc_addr a = l->sdp[0];

	if (comp == 1) {
		if (l->sdp[1].family != 0)
			return l->sdp[1];
		if (a.port != 0)
			a.port++;
	}
	return a;
}

struct ipc_addr
stream_leg_dst(const struct rstream *s, int l, int comp)
{
	const struct rleg *g = &s->leg[l];
	struct ipc_addr none = {0};

	if (g->lat[comp].peer.family != 0)
		return g->lat[comp].peer;
	if (!g->has_sdp)
		return none;
	none = leg_sdp(g, comp);
	if (none.port == 0)
		none.family = 0;
	return none;
}

static bool
leg_ready(const struct relay *r, const struct rleg *l, int comp, uint64_t now)
{
	struct ipc_addr a;

	if (l->lat[comp].peer.family != 0)
		return true;
	if (l->is_nat || !l->has_sdp)
		return false;
	a = leg_sdp(l, comp);
	return a.port != 0 && now >= l->sdp_ms + r->latch_wait_ms;
}

static void
make_fwd(const struct relay *r, const struct rstream *s, int comp, int from,
    struct nft_fwd *f)
{
	struct ipc_addr a = stream_leg_dst(s, from, comp);
	struct ipc_addr b = stream_leg_dst(s, !from, comp);
	size_t al = r->addr.family == 6 ? 16 : 4;

	memset(f, 0, sizeof(*f));
	f->family = r->addr.family;
	memcpy(f->src, a.addr, al);
	f->src_port = a.port;
	f->relay_port = (uint16_t)(s->leg[from].port + comp);
	memcpy(f->dst, b.addr, al);
	f->dst_port = b.port;
	memcpy(f->out, r->addr.addr, al);
	f->out_port = (uint16_t)(s->leg[!from].port + comp);
}

static bool
fwd_eq(const struct nft_fwd *a, const struct nft_fwd *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* One conntrack tuple at t[n]; returns n + 1. */
static size_t
add_tuple(struct ct_tuple *t, size_t n, uint8_t family, const uint8_t *src,
    uint16_t sport, const uint8_t *dst, uint16_t dport)
{
	size_t al = family == 6 ? 16 : 4;

	memset(&t[n], 0, sizeof(t[n]));
	t[n].family = family;
	memcpy(t[n].src, src, al);
	memcpy(t[n].dst, dst, al);
	t[n].sport = sport;
	t[n].dport = dport;
	return n + 1;
}

/* The tuple of a party's packets to its relay port. */
static size_t
add_party_tuple(const struct relay *r, const struct nft_fwd *f,
    struct ct_tuple *t, size_t n)
{
	return add_tuple(
	    t, n, f->family, f->src, f->src_port, r->addr.addr, f->relay_port);
}

/* The tuple of a user-space send from the relay port to the party. */
static size_t
add_send_tuple(const struct relay *r, const struct nft_fwd *f,
    struct ct_tuple *t, size_t n)
{
	return add_tuple(
	    t, n, f->family, r->addr.addr, f->relay_port, f->src, f->src_port);
}

/* Conntrack tuples that may carry this component's flows: the parties'
 * packets to the relay ports and the relay's own user-space sends. */
static size_t
add_tuples(const struct relay *r, const struct nft_fwd *f, struct ct_tuple *t,
    size_t n)
{
	return add_send_tuple(r, f, t, add_party_tuple(r, f, t, n));
}

/* The party at address a on relay port relay_port, as far as the tuples
 * above need it. */
static struct nft_fwd
party_fwd(struct ipc_addr a, uint16_t relay_port)
{
	struct nft_fwd f;

	memset(&f, 0, sizeof(f));
	f.family = a.family;
	memcpy(f.src, a.addr, sizeof(f.src));
	f.src_port = a.port;
	f.relay_port = relay_port;
	return f;
}

/* Tuples of the user-space phase toward the SDP address of each leg. */
static size_t
add_sdp_tuples(const struct relay *r, const struct rstream *s, int comp,
    struct ct_tuple *t, size_t n)
{
	for (int l = 0; l < 2; l++) {
		struct ipc_addr a = leg_sdp(&s->leg[l], comp);

		if (!s->leg[l].has_sdp || a.family != r->addr.family ||
		    a.port == 0)
			continue;
		struct nft_fwd f =
		    party_fwd(a, (uint16_t)(s->leg[l].port + comp));
		n = add_tuples(r, &f, t, n);
	}
	return n;
}

/* Deletes go out at the end of the loop iteration, after the map changes
 * they follow are committed. */
static void
clear_ct(struct relay *r, struct ct_tuple *t, size_t n)
{
	if (r->ct != NULL && n > 0)
		ct_defer(r->ct, t, n);
}

/* Deferred groups name their stream by its leg 0 RTP port (always
 * bound) and generation: arg = gen << 32 | port << 8 | low bits. */
static uint64_t
stream_arg(const struct rstream *s, unsigned low)
{
	return (uint64_t)s->gen << 32 | (uint64_t)s->leg[0].port << 8 | low;
}

static struct rstream *
stream_by_arg(struct relay *r, uint64_t arg)
{
	uint16_t port = (uint16_t)(arg >> 8);
	struct rstream *s;

	if (!port_in_range(&r->pool, port))
		return NULL;
	s = r->socks[port - r->pool.lo].s;
	return s != NULL && s->gen == (uint32_t)(arg >> 32) ? s : NULL;
}

/* The component goes to the kernel at this turn's conntrack deletes:
 * its sockets are drained first (relay_flush()). */
static void
drain_note(struct relay *r, const struct rstream *s, int comp)
{
	if (r->ndrain == r->drain_cap) {
		size_t cap = r->drain_cap ? r->drain_cap * 2 : 64;
		uint64_t *d = realloc(r->drain, cap * sizeof(*d));

		if (d == NULL)
			return; /* what it misses, stream_user_sent() mends */
		r->drain = d;
		r->drain_cap = cap;
	}
	r->drain[r->ndrain++] = stream_arg(s, (unsigned)comp);
}

/*
 * Packets that reached a stream's sockets before its conntrack deletes
 * (a backlog under load: the loop reads a bounded batch per socket and
 * turn) leave now, while the entries they came by still exist. Sent after
 * the deletes, a tracked send would make an entry from the relay port to
 * the party whose reply direction is that party's own media: its packets,
 * and the other party's through the same kind of entry, would go on
 * reaching user space while the maps say kernel; media would stop with
 * the relay. The table's pc_out (nft.c) keeps these sends out of
 * conntrack, so one that still comes after the deletes (a packet that
 * reached the socket meanwhile) makes no entry; the deletes of
 * stream_user_sent() remain for entries an earlier relay's sends made.
 */
static void
relay_drain(struct relay *r)
{
	/* A drained packet can complete a re-latch, which notes another
	 * component: bounded. */
	for (size_t i = 0; i < r->ndrain && i < 4096; i++) {
		struct rstream *s = stream_by_arg(r, r->drain[i]);
		int comp = (int)(r->drain[i] & 1);

		if (s == NULL || !s->is_kernel[comp])
			continue;
		for (int l = 0; l < 2; l++) {
			struct rsock *k =
			    &r->socks[s->leg[l].port + comp - r->pool.lo];

			if (k->fd >= 0 && k->s == s)
				fwd_user_drain(k);
		}
	}
	r->ndrain = 0;
}

void
relay_flush(struct relay *r)
{
	int failed;

	if (r->nft != NULL && (failed = nft_flush(r->nft)) > 0)
		log_ratelimited(&rl_kernel, LOG_LVL_WARN,
		    "nft: %d deferred port changes failed", failed);
	if (r->ndrain > 0)
		relay_drain(r);
	if (r->ct != NULL && ct_flush(r->ct) < 0)
		log_ratelimited(&rl_kernel, LOG_LVL_WARN,
		    "conntrack: deleting entries: %s", strerror(errno));
}

void
stream_user_sent(struct relay *r, const struct rstream *s, int comp, int to)
{
	struct ipc_addr d = stream_leg_dst(s, to, comp);
	struct ct_tuple t;

	if (r->ct == NULL || d.family != r->addr.family)
		return;
	struct nft_fwd f = party_fwd(d, (uint16_t)(s->leg[to].port + comp));
	clear_ct(r, &t, add_send_tuple(r, &f, &t, 0));
	log_ratelimited(&rl_user, LOG_LVL_DEBUG,
	    "relay: stream %s/%u component %d is in the kernel but user "
	    "space forwarded to port %u; deleting the entry of that send",
	    s->call->call_id, s->index, comp, d.port);
}

/* Open while a component in use is not in the kernel, and toward a party
 * behind NAT, whose rebinding user space must see to re-latch. Else
 * whatever still reaches the pair is a stranger and the range's drop rule
 * takes it. */
bool
stream_leg_open(const struct rstream *s, int l, const bool kern[2])
{
	if (s->leg[l].is_nat)
		return true;
	for (int c = 0; c < 2; c++)
		if (stream_comp_used(s, c) && !kern[c])
			return true;
	return false;
}

bool
stream_is_quad(const struct rstream *s)
{
	return (s->leg[0].port ^ s->leg[1].port) == NFT_LEG_XOR;
}

/*
 * Changes the input verdict elements of a stream's pairs from the open
 * legs in bits from to those in to (bit l: leg l's pair accepts). Both
 * legs open in a quad are one pqmap element; else one pvmap element per
 * open pair. Only the difference is queued.
 */
static void
verdict_sync(struct relay *r, const struct rstream *s, uint8_t from, uint8_t to)
{
	bool is_quad = stream_is_quad(s);
	bool q_from = is_quad && from == 3, q_to = is_quad && to == 3;

	if (q_from && !q_to)
		nft_quad_del(r->nft, s->leg[0].port);
	for (int l = 0; l < 2; l++) {
		bool p_from = !q_from && (from & (1u << l));
		bool p_to = !q_to && (to & (1u << l));

		if (p_from && !p_to)
			nft_port_del(r->nft, s->leg[l].port);
		else if (!p_from && p_to)
			nft_port_add(r->nft, s->leg[l].port, false);
	}
	if (q_to && !q_from)
		nft_quad_add(r->nft, s->leg[0].port);
}

/* A deferred programming group failed: the kernel does not have what
 * the stream says; user space forwards it and the tick retries. */
static void
eval_failed(uint64_t arg, void *ctx)
{
	struct relay *r = ctx;
	struct rstream *s = stream_by_arg(r, arg);
	int comp = (int)(arg & 1);

	if (s == NULL)
		return;
	r->st.kernel_failed++;
	s->is_kernel[comp] = false;
	s->is_kfail[comp] = true;
	/* The group (verdicts included) was rolled back. */
	s->vopen ^= (uint8_t)((arg >> 1) & 3);
	for (int l = 0; l < 2; l++) {
		s->is_vdrop[l][comp] = !(s->vopen & (1u << l));
		stream_leg_sync(r, s, l);
	}
	log_ratelimited(&rl_kernel, LOG_LVL_WARN,
	    "nft: programming stream %s/%u component %d failed",
	    s->call->call_id, s->index, comp);
}

void
stream_eval(struct relay *r, struct rstream *s, int comp)
{
	uint64_t now = ev_now_ms(r->loop);
	struct nft_fwd f[2];
	struct ct_tuple t[16];
	size_t nt = 0;
	struct ipc_addr a, b;
	bool want, is_defer, kern[2];
	uint8_t flip = 0;

	if (!r->is_kernel || r->nft == NULL || !stream_comp_used(s, comp))
		return;
	a = stream_leg_dst(s, 0, comp);
	b = stream_leg_dst(s, 1, comp);
	want = leg_ready(r, &s->leg[0], comp, now) &&
	    leg_ready(r, &s->leg[1], comp, now) && a.family == r->addr.family &&
	    b.family == r->addr.family;
	if (want) {
		make_fwd(r, s, comp, 0, &f[0]);
		make_fwd(r, s, comp, 1, &f[1]);
		if (s->is_kernel[comp] && fwd_eq(&f[0], &s->kf[comp][0]) &&
		    fwd_eq(&f[1], &s->kf[comp][1]))
			return;
	} else if (!s->is_kernel[comp]) {
		return;
	}

	/* Before any packet (programmed at the answer): nothing to undo on
	 * failure but the flag, so it joins this iteration's commit. Else a
	 * change under traffic: its own transaction, now. */
	is_defer = !s->has_flows && !s->is_kernel[comp];
	kern[0] = s->is_kernel[0];
	kern[1] = s->is_kernel[1];
	kern[comp] = want;
	for (int l = 0; l < 2; l++)
		if (stream_leg_open(s, l, kern) != !!(s->vopen & (1u << l)))
			flip |= (uint8_t)(1u << l);
	if (is_defer)
		nft_defer_begin_cb(r->nft, eval_failed,
		    stream_arg(s, (unsigned)flip << 1 | (unsigned)comp), r);
	else
		nft_batch_begin(r->nft);
	if (s->is_kernel[comp]) {
		nft_fwd_del(r->nft, &s->kf[comp][0]);
		nft_fwd_del(r->nft, &s->kf[comp][1]);
		nt = add_tuples(r, &s->kf[comp][0], t, nt);
		nt = add_tuples(r, &s->kf[comp][1], t, nt);
	}
	if (want) {
		nft_fwd_add(r->nft, &f[0]);
		nft_fwd_add(r->nft, &f[1]);
		nt = add_tuples(r, &f[0], t, nt);
		nt = add_tuples(r, &f[1], t, nt);
	}
	/* Whatever reaches a kernel port is not the latched source: the
	 * pair closes once user space has nothing left to hear on it. */
	verdict_sync(r, s, s->vopen, (uint8_t)(s->vopen ^ flip));
	nt = add_sdp_tuples(r, s, comp, t, nt);
	if (!is_defer && nft_batch_commit(r->nft) < 0) {
		r->st.kernel_failed++;
		s->is_kfail[comp] = true;
		log_ratelimited(&rl_kernel, LOG_LVL_WARN,
		    "nft: %s stream %s/%u component %d: %s",
		    want ? "programming" : "removing", s->call->call_id,
		    s->index, comp, strerror(errno));
		return;
	}
	s->is_kfail[comp] = false;
	s->is_kernel[comp] = want;
	s->vopen ^= flip;
	for (int l = 0; l < 2; l++) {
		s->is_vdrop[l][comp] = !(s->vopen & (1u << l));
		if (flip & (1u << l))
			stream_leg_sync(r, s, l);
	}
	if (want) {
		s->kf[comp][0] = f[0];
		s->kf[comp][1] = f[1];
		r->st.kernel_programmed++;
		if (!is_defer)
			drain_note(r, s, comp);
	}
	/* No packet yet: no conntrack entry to clear, and none made
	 * before the commit at the end of this iteration (so the stream's
	 * other component joins the same commit). Entries of the kernel
	 * forwarding itself are cleared by is_kernel at release. */
	if (!is_defer) {
		clear_ct(r, t, nt);
		s->has_flows = true;
	}
	if (r->state != NULL)
		state_save_call(r->state, s->call);
}

void
stream_on_latch(struct relay *r, struct rstream *s, int comp)
{
	r->st.latched++;
	stream_eval(r, s, comp);
	if (r->state != NULL && !s->is_kernel[comp])
		state_save_call(r->state, s->call);
}

/* ---- ports and sockets of a stream ---- */

/* Closes the socket of one relay port, if bound. */
static void
sock_close(struct relay *r, uint16_t port)
{
	struct rsock *k = &r->socks[port - r->pool.lo];

	if (k->fd >= 0) {
		ev_io_del(r->loop, k->fd);
		close(k->fd);
		r->nsocks--;
	}
	memset(k, 0, sizeof(*k));
	k->fd = -1;
}

/* Closes a port's socket but keeps the port pointing at its stream. */
static void
sock_drop(struct relay *r, uint16_t port)
{
	struct rsock *k = &r->socks[port - r->pool.lo];

	if (k->fd >= 0) {
		ev_io_del(r->loop, k->fd);
		close(k->fd);
		r->nsocks--;
		k->fd = -1;
	}
}

static uint16_t
idle_pop(struct relay *r)
{
	uint16_t p = r->idle[r->idle_head];

	r->idle_head = (r->idle_head + 1) % r->idle_max;
	r->nidle--;
	return p;
}

/* The oldest idle pair: its sockets closed, its ports free again. */
static void
idle_close_oldest(struct relay *r)
{
	uint16_t p = idle_pop(r);

	sock_close(r, p);
	sock_close(r, (uint16_t)(p + 1));
	port_release(&r->pool, p);
}

bool
relay_set_idle_max(struct relay *r, uint32_t pairs)
{
	uint16_t *q;

	while (r->nidle > pairs)
		idle_close_oldest(r);
	q = pairs > 0 ? calloc(pairs, sizeof(*q)) : NULL;
	if (pairs > 0 && q == NULL)
		return false;
	for (uint32_t i = 0; i < r->nidle; i++)
		q[i] = r->idle[(r->idle_head + i) % r->idle_max];
	free(r->idle);
	r->idle = q;
	r->idle_head = 0;
	r->idle_max = pairs;
	return true;
}

/* Keeps a released pair's sockets bound for a later stream; false if the
 * pool is full or off (the caller closes them). */
static bool
idle_put(struct relay *r, uint16_t port)
{
	if (r->nidle >= r->idle_max || r->socks[port - r->pool.lo].fd < 0)
		return false;
	for (int c = 0; c < 2; c++) {
		struct rsock *k = &r->socks[port + c - r->pool.lo];

		/* Still registered: what arrives is drained and dropped
		 * (in kernel mode the table drops it first). */
		k->s = NULL;
	}
	r->idle[(r->idle_head + r->nidle) % r->idle_max] = port;
	r->nidle++;
	return true;
}

/* A port pair for a stream's first leg: an idle one once enough of them
 * wait (so none is reused soon after its call), else a fresh one from the
 * range, preferably with its partner (port ^ 2) free for the second leg;
 * 0 when none is left. */
static uint16_t
pair_get(struct relay *r)
{
	uint16_t p;

	if (r->nidle > 0 && r->nidle > r->idle_max / 2)
		return idle_pop(r);
	p = port_alloc_quad(&r->pool);
	if (p == 0)
		p = port_alloc(&r->pool);
	if (p == 0 && r->nidle > 0)
		p = idle_pop(r);
	return p;
}

/* The second leg's pair: the partner of the first (first ^ 2), whose
 * legs the kernel forwards with no SNAT map element, when it is free or
 * next in the idle pool (released with the first, by the stream before),
 * else any pair. */
static uint16_t
pair_get_partner(struct relay *r, uint16_t first)
{
	uint16_t want = (uint16_t)(first ^ NFT_LEG_XOR);

	if (r->nidle > 0 && r->idle[r->idle_head] == want)
		return idle_pop(r);
	if (port_take(&r->pool, want))
		return want;
	return pair_get(r);
}

/* Binds (or takes over from the pool) the socket of one component of a
 * leg and points the port at the stream. */
static int
sock_open(struct relay *r, struct rstream *s, int li, int c)
{
	struct rleg *l = &s->leg[li];
	uint16_t port = (uint16_t)(l->port + c);
	struct rsock *k = &r->socks[port - r->pool.lo];

	if (k->fd < 0) {
		int fd = port_bind(&r->addr, port);

		/* Out of descriptors: the pool gives some back. */
		while (fd < 0 && (errno == EMFILE || errno == ENFILE) &&
		    r->nidle > 0) {
			idle_close_oldest(r);
			fd = port_bind(&r->addr, port);
		}
		if (fd < 0)
			return -1;
		if (ev_io_add(r->loop, fd, EV_READ, fwd_user_io, k) < 0) {
			close(fd);
			return -1;
		}
		k->fd = fd;
		r->nsocks++;
	}
	k->r = r;
	k->s = s;
	k->leg = (uint8_t)li;
	k->comp = (uint8_t)c;
	l->fd[c] = k->fd;
	return 0;
}

static void
leg_close(struct relay *r, struct rleg *l)
{
	if (l->port == 0)
		return;
	for (int c = 0; c < 2; c++) {
		sock_close(r, (uint16_t)(l->port + c));
		l->fd[c] = -1;
	}
}

/* Binds the sockets of a leg's pair for the components in use (RTP, and
 * RTCP unless it is muxed on the RTP port) and registers them. */
static int
leg_bind(struct relay *r, struct rstream *s, int li, uint8_t flags)
{
	for (int c = 0; c < 2; c++) {
		if (c == 1 && (flags & IPC_MSF_RTCP_MUX))
			continue;
		if (s->leg[li].fd[c] < 0 && sock_open(r, s, li, c) < 0)
			return -1;
	}
	return 0;
}

/* Points a sockless leg's ports at the stream. */
static void
leg_attach(struct relay *r, struct rstream *s, int li)
{
	for (int c = 0; c < 2; c++) {
		struct rsock *k = &r->socks[s->leg[li].port + c - r->pool.lo];

		k->r = r;
		k->s = s;
		k->leg = (uint8_t)li;
		k->comp = (uint8_t)c;
	}
}

void
stream_leg_sync(struct relay *r, struct rstream *s, int l)
{
	struct rleg *g = &s->leg[l];

	if (s->vopen & (1u << l) || !r->is_kernel) {
		if (!g->is_sockless)
			return;
		g->is_sockless = false;
		if (leg_bind(r, s, l, s->flags) < 0)
			log_ratelimited(&rl_kernel, LOG_LVL_WARN,
			    "relay: re-binding media port %u: %s", g->port,
			    strerror(errno));
		return;
	}
	if (g->is_sockless || r->sock_budget == 0 ||
	    r->nsocks <= r->sock_budget / 2)
		return;
	for (int c = 0; c < 2; c++) {
		sock_drop(r, (uint16_t)(g->port + c));
		g->fd[c] = -1;
	}
	g->is_sockless = true;
}

/* A deferred group opening a stream's ports failed: they stay closed
 * (dropped) until the next SDP of the call retries. */
static void
open_failed(uint64_t arg, void *ctx)
{
	struct relay *r = ctx;
	struct rstream *s = stream_by_arg(r, arg);

	if (s == NULL)
		return;
	s->vopen &= (uint8_t) ~(arg & 3);
	log_ratelimited(&rl_kernel, LOG_LVL_WARN,
	    "nft: opening the ports of stream %s/%u failed", s->call->call_id,
	    s->index);
}

/* Opens (accept: user space hears them) the port pairs of the legs that
 * need it and are not open, in this iteration's commit. */
static void
stream_open_verdicts(struct relay *r, struct rstream *s)
{
	uint8_t fresh = 0;

	if (!r->is_kernel || r->nft == NULL)
		return;
	for (int l = 0; l < 2; l++)
		if (!(s->vopen & (1u << l)) &&
		    stream_leg_open(s, l, s->is_kernel))
			fresh |= (uint8_t)(1u << l);
	if (fresh == 0)
		return;
	nft_defer_begin_cb(r->nft, open_failed, stream_arg(s, fresh), r);
	verdict_sync(r, s, s->vopen, s->vopen | fresh);
	s->vopen |= fresh;
}

static void
stream_release(struct relay *r, struct rstream *s, bool is_kernel_too)
{
	struct ct_tuple t[32];
	size_t nt = 0;

	if (is_kernel_too && r->is_kernel && r->nft != NULL) {
		nft_defer_begin(r->nft);
		for (int c = 0; c < 2; c++) {
			if (s->is_kernel[c]) {
				nft_fwd_del(r->nft, &s->kf[c][0]);
				nft_fwd_del(r->nft, &s->kf[c][1]);
				/* Without user-space traffic only the
				 * parties' packets made an entry: one per
				 * component, whoever spoke first. Its
				 * other side is the other party's tuple
				 * (DNAT to it, SNAT to the port it sends
				 * to), and a conntrack delete finds an
				 * entry by either side: one tuple does. */
				if (s->has_flows)
					for (int d = 0; d < 2; d++)
						nt = add_tuples(
						    r, &s->kf[c][d], t, nt);
				else
					nt = add_party_tuple(
					    r, &s->kf[c][0], t, nt);
			}
			if (s->has_flows)
				nt = add_sdp_tuples(r, s, c, t, nt);
		}
		verdict_sync(r, s, s->vopen, 0);
		s->vopen = 0;
		clear_ct(r, t, nt);
	}
	for (int l = 0; l < 2; l++) {
		if (s->leg[l].port == 0)
			continue;
		if (is_kernel_too && idle_put(r, s->leg[l].port))
			continue;
		leg_close(r, &s->leg[l]);
		if (is_kernel_too)
			port_release(&r->pool, s->leg[l].port);
	}
	r->nstreams--;
	free(s);
}

/* A new stream with two port pairs, bound; NULL if ports ran out. */
static struct rstream *
stream_new(struct relay *r, struct rcall *c, uint8_t index, uint8_t flags)
{
	struct rstream *s = calloc(1, sizeof(*s));
	int tries = 0;

	if (s == NULL)
		return NULL;
	s->call = c;
	s->index = index;
	s->gen = ++r->gen;
	s->flags = flags & (IPC_MSF_RTCP_MUX | IPC_MSF_HOLD);
	s->active_ms = ev_now_ms(r->loop);
	for (int l = 0; l < 2; l++)
		s->leg[l].fd[0] = s->leg[l].fd[1] = -1;
	for (int l = 0; l < 2; l++) {
		for (;;) {
			s->leg[l].port = l == 0 || tries > 0
			    ? pair_get(r)
			    : pair_get_partner(r, s->leg[0].port);
			if (s->leg[l].port == 0)
				goto fail;
			if (leg_bind(r, s, l, s->flags) == 0)
				break;
			/* Someone else holds a port of our range. */
			log_warn(
			    "relay: binding media port %u", s->leg[l].port);
			leg_close(r, &s->leg[l]);
			port_release(&r->pool, s->leg[l].port);
			s->leg[l].port = 0;
			if (++tries > 16)
				goto fail;
		}
	}
	r->nstreams++;
	return s;
fail:
	for (int l = 0; l < 2; l++) {
		leg_close(r, &s->leg[l]);
		if (s->leg[l].port != 0)
			port_release(&r->pool, s->leg[l].port);
	}
	free(s);
	return NULL;
}

static void
call_free(struct relay *r, struct rcall *c, bool is_kernel_too)
{
	for (int i = 0; i < c->ns; i++)
		if (c->s[i] != NULL)
			stream_release(r, c->s[i], is_kernel_too);
	state_forget_call(r->state, c);
	r->ncalls--;
	free(c);
}

/* ---- offer / answer / delete / query ---- */

static void
set_err(struct ipc_media_reply *out, int status, const char *msg)
{
	out->status = status;
	snprintf(out->message, sizeof(out->message), "%s", msg);
}

static bool
str_ok(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static bool
addr_ok(const struct ipc_addr *a)
{
	return a->family == 0 || a->family == 4 || a->family == 6;
}

static void
fill_reply_stream(const struct relay *r, const struct rstream *s, int other,
    struct ipc_media_stream *o)
{
	memset(o, 0, sizeof(*o));
	o->index = s->index;
	o->flags = s->flags;
	o->rtp = r->adv;
	o->rtp.port = s->leg[other].port;
	o->rtcp = r->adv;
	o->rtcp.port = (s->flags & IPC_MSF_RTCP_MUX)
	    ? s->leg[other].port
	    : (uint16_t)(s->leg[other].port + 1);
}

static struct rstream *
call_stream(struct rcall *c, uint8_t index)
{
	for (int i = 0; i < c->ns; i++)
		if (c->s[i] != NULL && c->s[i]->index == index)
			return c->s[i];
	return NULL;
}

/* Applies one party's SDP to a leg; true if its address changed. */
static bool
leg_update(struct relay *r, struct rstream *s, int li,
    const struct ipc_media_stream *m, bool is_nat)
{
	struct rleg *l = &s->leg[li];
	bool changed = !l->has_sdp || !latch_addr_eq(&l->sdp[0], &m->rtp) ||
	    !latch_addr_eq(&l->sdp[1], &m->rtcp) || l->is_nat != is_nat;

	if (!changed)
		return false;
	l->sdp[0] = m->rtp;
	l->sdp[1] = m->rtcp;
	l->is_nat = is_nat;
	l->has_sdp = true;
	l->sdp_ms = ev_now_ms(r->loop);
	/* A party not behind NAT that moved must be learned again; one
	 * behind NAT keeps sending from where it was latched. */
	if (!is_nat)
		memset(l->lat, 0, sizeof(l->lat));
	return true;
}

void
relay_media_update(struct relay *r, const struct ipc_media_req *q,
    bool is_answer, struct ipc_media_reply *out)
{
	struct rcall *c;
	int me;
	bool is_new = false;

	memset(out, 0, sizeof(*out));
	out->is_kernel = r->is_kernel;
	if (is_answer)
		r->st.answers++;
	else
		r->st.offers++;
	if (!str_ok(q->call_id, sizeof(q->call_id)) || q->call_id[0] == '\0' ||
	    !str_ok(q->from_tag, sizeof(q->from_tag)) ||
	    !str_ok(q->to_tag, sizeof(q->to_tag)) ||
	    q->nstreams > IPC_MEDIA_MAX_STREAMS) {
		r->st.errors++;
		set_err(out, -EINVAL, "malformed media request");
		return;
	}
	for (int i = 0; i < q->nstreams; i++)
		if (!addr_ok(&q->streams[i].rtp) ||
		    !addr_ok(&q->streams[i].rtcp)) {
			r->st.errors++;
			set_err(out, -EINVAL, "bad stream address");
			return;
		}
	c = relay_call_find(r, q->call_id);
	if (c == NULL) {
		if (is_answer) {
			r->st.errors++;
			set_err(out, -ENOENT, "no such call");
			return;
		}
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			set_err(out, -ENOMEM, "out of memory");
			return;
		}
		snprintf(c->call_id, sizeof(c->call_id), "%s", q->call_id);
		snprintf(c->tag[0], sizeof(c->tag[0]), "%s", q->from_tag);
		c->created_s = ev_wallclock_s();
		htable_insert(&r->calls, &c->node, call_hash(c->call_id));
		r->ncalls++;
		is_new = true;
	}
	if (strcmp(c->tag[0], q->from_tag) == 0)
		me = 0;
	else if (c->tag[1][0] == '\0' || strcmp(c->tag[1], q->from_tag) == 0 ||
	    is_answer)
		/* An answer from another fork replaces the earlier one. */
		me = 1;
	else {
		r->st.errors++;
		set_err(out, -EPROTO, "third party in call");
		return;
	}
	if (me == 1)
		snprintf(c->tag[1], sizeof(c->tag[1]), "%s", q->from_tag);

	for (int i = 0; i < q->nstreams; i++) {
		const struct ipc_media_stream *m = &q->streams[i];
		struct rstream *s = call_stream(c, m->index);
		bool is_nat =
		    (m->flags & IPC_MSF_NAT) || (q->flags & IPC_MSF_NAT);

		if (m->rtp.port == 0) {
			/* A rejected or disabled m= line stays port 0: no
			 * ports for it. */
			struct ipc_media_stream *o =
			    &out->streams[out->nstreams++];

			memset(o, 0, sizeof(*o));
			o->index = m->index;
			o->flags = m->flags;
			o->rtp = r->adv;
			o->rtp.port = 0;
			continue;
		}
		if (s == NULL) {
			if (c->ns >= IPC_MEDIA_MAX_STREAMS) {
				set_err(out, -ENOSPC, "too many streams");
				goto fail;
			}
			s = stream_new(r, c, m->index, m->flags);
			if (s == NULL) {
				set_err(out, -ENOSPC, "no media ports left");
				goto fail;
			}
			c->s[c->ns++] = s;
		}
		s->flags = m->flags & (IPC_MSF_RTCP_MUX | IPC_MSF_HOLD);
		/* RTCP gets its socket when a later SDP stops muxing. */
		for (int l = 0; l < 2; l++)
			if (!s->leg[l].is_sockless &&
			    leg_bind(r, s, l, s->flags) < 0) {
				set_err(out, -ENOSPC, "cannot bind RTCP port");
				goto fail;
			}
		stream_open_verdicts(r, s);
		if (leg_update(r, s, me, m, is_nat)) {
			stream_eval(r, s, 0);
			stream_eval(r, s, 1);
		}
		fill_reply_stream(r, s, !me, &out->streams[out->nstreams++]);
	}
	c->is_timed_out = false;
	for (int i = 0; i < c->ns; i++)
		c->s[i]->active_ms = ev_now_ms(r->loop);
	if (r->state != NULL)
		state_save_call(r->state, c);
	return;
fail:
	r->st.errors++;
	out->nstreams = 0;
	if (is_new) {
		htable_remove(&r->calls, &c->node);
		call_free(r, c, true);
	}
}

int
relay_media_delete(struct relay *r, const struct ipc_media_ref *ref)
{
	struct rcall *c;
	char id[256];

	r->st.deletes++;
	memcpy(id, ref->call_id, sizeof(id));
	id[sizeof(id) - 1] = '\0';
	c = relay_call_find(r, id);
	if (c == NULL)
		return -ENOENT;
	htable_remove(&r->calls, &c->node);
	if (r->state != NULL)
		state_drop_call(r->state, c);
	call_free(r, c, true);
	return 0;
}

void
relay_media_query(struct relay *r, const struct ipc_media_ref *ref,
    struct ipc_media_reply *out)
{
	struct rcall *c;
	char id[256];

	memset(out, 0, sizeof(*out));
	memcpy(id, ref->call_id, sizeof(id));
	id[sizeof(id) - 1] = '\0';
	out->is_kernel = r->is_kernel;
	c = relay_call_find(r, id);
	if (c == NULL) {
		set_err(out, -ENOENT, "no such call");
		return;
	}
	for (int i = 0; i < c->ns; i++) {
		struct rstream *s = c->s[i];

		fill_reply_stream(r, s, 1, &out->streams[out->nstreams++]);
		out->packets += s->upkts + s->kpkts;
		out->bytes += s->ubytes + s->kbytes;
		if (!s->is_kernel[0])
			out->is_kernel = 0;
	}
}

bool
relay_call_restore(struct relay *r, struct rcall *c)
{
	for (int i = 0; i < c->ns; i++) {
		struct rstream *s = c->s[i];

		s->call = c;
		s->gen = ++r->gen;
		/* Its flows may have lived on in the kernel meanwhile. */
		s->has_flows = true;
		for (int l = 0; l < 2; l++) {
			s->leg[l].fd[0] = s->leg[l].fd[1] = -1;
			if (!port_take(&r->pool, s->leg[l].port))
				goto fail;
		}
		for (int l = 0; l < 2; l++) {
			/* A closed pair of a kernel stream needs no socket
			 * (settle_stream() binds it if the table disagrees):
			 * thousands of kernel streams fit the fd limit. */
			s->leg[l].is_sockless = r->is_kernel &&
			    r->sock_budget > 0 &&
			    !stream_leg_open(s, l, s->is_kernel);
			if (s->leg[l].is_sockless) {
				leg_attach(r, s, l);
				continue;
			}
			if (leg_bind(r, s, l, 0) < 0) {
				log_warn("relay: re-binding media port %u",
				    s->leg[l].port);
				goto fail;
			}
		}
		s->active_ms = ev_now_ms(r->loop);
		r->nstreams++;
		continue;
	fail:
		/* Streams before this one are counted; undo them all. */
		for (int j = 0; j <= i; j++) {
			for (int l = 0; l < 2; l++) {
				leg_close(r, &c->s[j]->leg[l]);
				port_release(&r->pool, c->s[j]->leg[l].port);
			}
		}
		r->nstreams -= (uint64_t)i;
		return false;
	}
	htable_insert(&r->calls, &c->node, call_hash(c->call_id));
	r->ncalls++;
	return true;
}
