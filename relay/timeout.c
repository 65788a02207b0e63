/*
 * Media timeouts and kernel counters. A kernel-forwarded stream's packets
 * never reach user space, so its activity is read from conntrack
 * accounting: per programmed component, the entry found by the tuple
 * "party a -> relay port facing a" (it is the original or the reply
 * tuple of the flow, whichever side spoke first); its counters moving
 * means media flows. Few components are looked up by tuple, batched; many
 * are read with one dump of the flows to the relay address, filtered in
 * the kernel (never the host's whole table), and matched to the
 * components through a hash of their tuples: one lookup per component
 * cost ~5 us each tick (100 ms per tick at 10,000 streams), the dump
 * costs a walk of the conntrack hash plus ~1 us per flow.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ct.h"
#include "hash.h"
#include "latch.h"
#include "log.h"
#include "stream.h"
#include "timeout.h"

static void
prepare(struct rcall *c, void *arg)
{
	struct relay *r = arg;

	for (int i = 0; i < c->ns; i++) {
		struct rstream *s = c->s[i];

		for (int k = 0; k < 2; k++) {
			s->ct_cur_pkts[k] = s->ct_cur_bytes[k] = 0;
			if (!s->is_kernel[k] || s->is_kfail[k])
				stream_eval(r, s, k);
		}
	}
}

struct lookup {
	struct ct_tuple *t;
	struct rstream **s;
	uint8_t *comp;
	struct ct_entry *e;
	bool *found;
	size_t n, cap;
};

static struct lookup lk;

static void
collect(struct rcall *c, void *arg)
{
	struct relay *r = arg;

	for (int i = 0; i < c->ns; i++) {
		struct rstream *s = c->s[i];

		for (int k = 0; k < 2; k++) {
			const struct nft_fwd *f = &s->kf[k][0];
			struct ct_tuple *t;
			size_t al = f->family == 6 ? 16 : 4;

			if (!s->is_kernel[k])
				continue;
			if (lk.n == lk.cap) {
				size_t cap = lk.cap ? lk.cap * 2 : 1024;

				lk.t = realloc(lk.t, cap * sizeof(*lk.t));
				lk.s = realloc(lk.s, cap * sizeof(*lk.s));
				lk.comp = realloc(lk.comp, cap);
				lk.e = realloc(lk.e, cap * sizeof(*lk.e));
				lk.found = realloc(lk.found, cap);
				if (!lk.t || !lk.s || !lk.comp || !lk.e ||
				    !lk.found)
					fatalx("timeout: out of memory");
				lk.cap = cap;
			}
			t = &lk.t[lk.n];
			memset(t, 0, sizeof(*t));
			t->family = f->family;
			memcpy(t->src, f->src, al);
			memcpy(t->dst, r->addr.addr, al);
			t->sport = f->src_port;
			t->dport = f->relay_port;
			lk.s[lk.n] = s;
			lk.comp[lk.n] = (uint8_t)k;
			lk.n++;
		}
	}
}

/* From this many components on, one filtered dump per tick is cheaper
 * than a lookup per component: measured (2 vCPUs, 262,144 conntrack
 * buckets) ~5.5 us per lookup, and per dump ~15 ms for the walk of the
 * hash plus ~2-4 us per flow. */
#define DUMP_MIN 4096

static size_t dump_min = DUMP_MIN;
static bool has_dump_filter = true;

void
timeout_set_dump_min(size_t n)
{
	dump_min = n;
}

/* The lookup tuples by (family, src, sport, dport), open addressing. */
static uint32_t *slot;
static size_t nslot;

/* Keyed (hash_bytes): the source addresses and ports are the parties'. */
static size_t
tuple_hash(const struct ct_tuple *t)
{
	uint8_t k[21];
	size_t al = t->family == 6 ? 16 : 4;

	k[0] = t->family;
	memcpy(k + 1, t->src, al);
	memcpy(k + 1 + al, &t->sport, 2);
	memcpy(k + 3 + al, &t->dport, 2);
	return (size_t)hash_bytes(k, 5 + al);
}

static bool
tuple_eq(const struct ct_tuple *a, const struct ct_tuple *b)
{
	return a->family == b->family && a->sport == b->sport &&
	    a->dport == b->dport &&
	    memcmp(a->src, b->src, a->family == 6 ? 16 : 4) == 0;
}

static bool
index_build(void)
{
	size_t want = 16;

	while (want < lk.n * 2)
		want *= 2;
	if (want > nslot) {
		uint32_t *p = realloc(slot, want * sizeof(*slot));

		if (p == NULL)
			return false;
		slot = p;
		nslot = want;
	}
	memset(slot, 0xff, nslot * sizeof(*slot));
	for (size_t i = 0; i < lk.n; i++) {
		size_t h = tuple_hash(&lk.t[i]) & (nslot - 1);

		while (slot[h] != UINT32_MAX)
			h = (h + 1) & (nslot - 1);
		slot[h] = (uint32_t)i;
	}
	return true;
}

/* The component whose lookup tuple t is, with t's destination the relay
 * address; SIZE_MAX if none. */
static size_t
index_find(const struct ct_tuple *t, const uint8_t *relay_addr)
{
	if (memcmp(t->dst, relay_addr, t->family == 6 ? 16 : 4) != 0)
		return SIZE_MAX;
	for (size_t h = tuple_hash(t) & (nslot - 1); slot[h] != UINT32_MAX;
	     h = (h + 1) & (nslot - 1))
		if (tuple_eq(&lk.t[slot[h]], t))
			return slot[h];
	return SIZE_MAX;
}

static void
dump_take(const struct ct_entry *e, void *arg)
{
	const uint8_t *relay_addr = arg;
	/* a spoke first: the original tuple is a's; b first: the reply. */
	size_t i = index_find(&e->orig, relay_addr);

	if (i == SIZE_MAX)
		i = index_find(&e->reply, relay_addr);
	if (i == SIZE_MAX)
		return; /* another flow to this address (user space, SIP) */
	/* Set, not added: a dump may show an entry twice. */
	lk.e[i] = *e;
	lk.found[i] = true;
}

/* One dump per address family in use; false if it could not be used. */
static bool
dump_counters(struct relay *r)
{
	bool fam[2] = {false, false};

	if (!index_build())
		return false;
	for (size_t i = 0; i < lk.n; i++) {
		lk.found[i] = false;
		fam[lk.t[i].family == 6] = true;
	}
	for (int f = 0; f < 2; f++) {
		if (!fam[f])
			continue;
		if (ct_dump_to(r->ct, f ? 6 : 4, r->addr.addr, dump_take,
		        r->addr.addr) < 0) {
			if (errno == EOPNOTSUPP) {
				has_dump_filter = false;
				log_info("conntrack: no filtered dumps in this "
				         "kernel; reading counters by tuple");
			}
			return false;
		}
	}
	return true;
}

/* A lookup per component, 2,048 per write. */
static bool
get_counters(struct relay *r)
{
	for (size_t off = 0; off < lk.n; off += 2048) {
		size_t n = lk.n - off < 2048 ? lk.n - off : 2048;

		if (ct_get(r->ct, lk.t + off, n, lk.e + off, lk.found + off) <
		    0) {
			log_warn("conntrack: reading counters");
			return false;
		}
	}
	return true;
}

static void
read_counters(struct relay *r)
{
	lk.n = 0;
	relay_call_walk(r, collect, r);
	if (!(lk.n >= dump_min && has_dump_filter && dump_counters(r)) &&
	    !get_counters(r))
		return;
	for (size_t i = 0; i < lk.n; i++) {
		struct rstream *s = lk.s[i];
		int k = lk.comp[i];

		if (!lk.found[i])
			continue;
		s->ct_cur_pkts[k] += lk.e[i].pkts_orig + lk.e[i].pkts_reply;
		s->ct_cur_bytes[k] += lk.e[i].bytes_orig + lk.e[i].bytes_reply;
	}
}

static void
settle(struct rcall *c, void *arg)
{
	struct relay *r = arg;
	uint64_t now = ev_now_ms(r->loop), idle_ms = UINT64_MAX, limit;
	bool is_hold = false, is_answered = false;

	for (int i = 0; i < c->ns; i++) {
		struct rstream *s = c->s[i];

		for (int k = 0; k < 2; k++) {
			uint64_t cur = s->ct_cur_pkts[k];
			uint64_t last = s->ct_last_pkts[k];

			if (!s->is_kernel[k]) {
				s->ct_last_pkts[k] = s->ct_last_bytes[k] = 0;
				continue;
			}
			if (cur != last) {
				s->active_ms = now;
				/* A smaller sum: an entry expired and came
				 * back; count the new one from zero. */
				s->kpkts += cur >= last ? cur - last : cur;
				s->kbytes +=
				    s->ct_cur_bytes[k] >= s->ct_last_bytes[k]
				    ? s->ct_cur_bytes[k] - s->ct_last_bytes[k]
				    : s->ct_cur_bytes[k];
			}
			s->ct_last_pkts[k] = cur;
			s->ct_last_bytes[k] = s->ct_cur_bytes[k];
		}
		if (s->flags & IPC_MSF_HOLD)
			is_hold = true;
		if (s->leg[0].has_sdp && s->leg[1].has_sdp)
			is_answered = true;
		/* Without conntrack accounting a kernel stream's counters
		 * never move: its silence proves nothing. */
		if (!r->has_acct && (s->is_kernel[0] || s->is_kernel[1]))
			s->active_ms = now;
		if (now - s->active_ms < idle_ms)
			idle_ms = now - s->active_ms;
	}
	limit = is_hold ? r->hold_timeout_ms : r->timeout_ms;
	/* A call still ringing has no media to lose. */
	if (c->ns == 0 || !is_answered || idle_ms < limit) {
		c->is_timed_out = false;
		return;
	}
	if (!c->is_timed_out) {
		c->is_timed_out = true;
		r->st.timeouts++;
		log_info("relay: media of call %s stopped %llu s ago",
		    c->call_id, (unsigned long long)(idle_ms / 1000));
		if (r->on_timeout != NULL)
			r->on_timeout(r, c, r->on_timeout_arg);
	}
}

void
relay_tick_run(struct relay *r)
{
	relay_call_walk(r, prepare, r);
	if (r->is_kernel && r->ct != NULL && r->nstreams > 0)
		read_counters(r);
	relay_call_walk(r, settle, r);
}

static void
tick_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct relay *r = arg;

	relay_tick_run(r);
	ev_timer_start(loop, t, r->tick_ms);
}

void
timeout_start(struct relay *r)
{
	const char *e = getenv("PC_RELAY_CT_DUMP_MIN");

	/* Tests force either way of reading counters. */
	if (e != NULL && *e != '\0')
		dump_min = (size_t)strtoull(e, NULL, 10);
	ev_timer_init(&r->tick, tick_cb, r);
	ev_timer_start(r->loop, &r->tick, r->tick_ms);
}
