/*
 * Media timeouts and kernel counters. A kernel-forwarded stream's packets
 * never reach user space, so its activity is read from conntrack
 * accounting: the entries whose original destination is a relay port of
 * the stream, summed per component; the sum moving means media flows.
 */
#include <string.h>

#include "ct.h"
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

static void
ct_entry(const struct ct_entry *e, void *arg)
{
	struct relay *r = arg;
	struct ipc_addr d = {0};
	struct rsock *k;

	d.family = e->orig.family;
	memcpy(d.addr, e->orig.dst, sizeof(d.addr));
	if (!latch_host_eq(&d, &r->addr) ||
	    !port_in_range(&r->pool, e->orig.dport))
		return;
	k = &r->socks[e->orig.dport - r->pool.lo];
	if (k->s == NULL || !k->s->is_kernel[k->comp])
		return;
	k->s->ct_cur_pkts[k->comp] += e->pkts_orig + e->pkts_reply;
	k->s->ct_cur_bytes[k->comp] += e->bytes_orig + e->bytes_reply;
}

static void
settle(struct rcall *c, void *arg)
{
	struct relay *r = arg;
	uint64_t now = ev_now_ms(r->loop), idle_ms = UINT64_MAX, limit;
	bool is_hold = false;

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
		if (now - s->active_ms < idle_ms)
			idle_ms = now - s->active_ms;
	}
	limit = is_hold ? r->hold_timeout_ms : r->timeout_ms;
	if (c->ns == 0 || idle_ms < limit) {
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
	if (r->is_kernel && r->ct != NULL && r->nstreams > 0 &&
	    ct_dump(r->ct, r->addr.family, ct_entry, r) < 0)
		log_warn("conntrack: reading counters");
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
	ev_timer_init(&r->tick, tick_cb, r);
	ev_timer_start(r->loop, &r->tick, r->tick_ms);
}
