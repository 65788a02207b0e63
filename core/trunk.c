/*
 * Trunks at run time. Why probes and registrations go through the
 * transaction layer like proxied requests: retransmissions, timeouts and
 * response matching are the same, and core has no socket of its own.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core.h"
#include "digest.h"
#include "log.h"
#include "proxy_int.h"
#include "resolv.h"
#include "sip_edit.h"
#include "trunk.h"
#include "trunk_src.h"

#define PROBE_TICK_MS 1000

_Static_assert(sizeof(((struct trunk_dns *)0)->addrs) ==
        RESOLV_MAX_ADDRS * sizeof(struct ipc_addr),
    "trunk_dns holds every address a lookup returns");

struct trunks {
	struct core *c;
	struct trunk **v;
	int n, cap;
	struct ev_timer probe_timer;
	struct resolv *res; /* made with the first peer given by name */
	/* Who a source address belongs to; built again on first use after
	 * trunks or peers changed. */
	struct trunk_src *src;
	bool is_src_stale;
};

static struct log_rl src_rl = LOG_RL_INIT(10000, 5);

static void reg_timer_cb(struct ev_loop *loop, struct ev_timer *t, void *arg);
static void dns_timer_cb(struct ev_loop *loop, struct ev_timer *t, void *arg);

const char *
trunk_reg_state_name(enum trunk_reg_state s)
{
	switch (s) {
	case TRUNK_REG_REGISTERING:
		return "registering";
	case TRUNK_REG_REGISTERED:
		return "registered";
	case TRUNK_REG_FAILED:
		return "failed";
	default:
		return "off";
	}
}

static uint8_t
ipc_tp(int t)
{
	return t == PC_CORE_TP_TCP ? IPC_TP_TCP
	    : t == PC_CORE_TP_TLS  ? IPC_TP_TLS
	                           : IPC_TP_UDP;
}

/* ---- probes ------------------------------------------------------------ */

/* What a probe or registration in flight remembers of its trunk: the
 * trunk may be removed or replaced meanwhile, so it is looked up again. */
struct tref {
	struct trunks *ts;
	uint64_t gen;
	struct ipc_addr addr; /* the probed peer (indexes change on DNS) */
};

static uint64_t next_gen = 1;

static struct trunk *
tref_get(const struct tref *r)
{
	for (int i = 0; i < r->ts->n; i++)
		if (r->ts->v[i]->gen == r->gen)
			return r->ts->v[i];
	return NULL;
}

static void
probe_cb(struct tx *tx, int code, struct sip_msg *m, void *arg)
{
	struct tref *p = arg;
	struct trunk *t = tref_get(p);

	(void)m;
	if (code > 0 && code < 200)
		return;
	tx_detach(tx); /* no on_free after this: the reference is ours */
	struct ipc_addr addr = p->addr;
	free(p);
	int peer = -1;
	for (int i = 0; t != NULL && i < t->npeers; i++)
		if (!t->peers[i].is_unresolved &&
		    ipc_addr_eq(&t->peers[i].flow.remote, &addr))
			peer = i;
	if (peer < 0)
		return;
	struct trunk_peer *pe = &t->peers[peer];
	bool up = code > 0; /* any final response: the peer is alive */
	if (up != pe->is_up)
		log_info("trunk %s: peer %d is %s", t->name, peer,
		    up ? "up" : "down");
	pe->is_up = up;
	if (!up)
		pe->probes_failed++;
	pe->is_probing = false;
}

static void
tref_freed(struct tx *tx, void *arg)
{
	(void)tx;
	free(arg);
}

static void
send_probe(struct trunks *ts, struct trunk *t, int i)
{
	struct core *c = ts->c;
	struct trunk_peer *pe = &t->peers[i];
	char branch[64], via[256], hp[96], cid[24], tag[12], buf[2048],
	    peer[64];

	px_make_branch("0000000000000000", branch, sizeof(branch));
	sip_random_token(cid, 20);
	cid[20] = '\0';
	sip_random_token(tag, 10);
	tag[10] = '\0';
	int n = route_via(c->route, pe->flow.listener, via, sizeof(via));
	route_hostport(c->route, pe->flow.listener, hp, sizeof(hp));
	ipc_addr_str(&pe->flow.remote, peer, sizeof(peer));
	(void)n;
	int len = snprintf(buf, sizeof(buf),
	    "OPTIONS sip:%s SIP/2.0\r\nVia: %s;branch=%s\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:portcullis@%s>;tag=%s\r\n"
	    "To: <sip:%s>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\n"
	    "Content-Length: 0\r\n\r\n",
	    peer, via, branch, hp, tag, peer, cid);
	if (len <= 0 || (size_t)len >= sizeof(buf))
		return;
	struct tref *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return;
	p->ts = ts;
	p->gen = t->gen;
	p->addr = pe->flow.remote;
	struct tx *tx = tx_client_new(c->tx, &pe->flow, SIP_M_OPTIONS, branch,
	    buf, (uint32_t)len, probe_cb, p);
	if (tx == NULL) {
		free(p);
		return;
	}
	tx_set_user(tx, p, tref_freed);
	pe->is_probing = true;
	pe->probes_sent++;
}

static void
probe_tick(struct ev_loop *loop, struct ev_timer *tm, void *arg)
{
	struct trunks *ts = arg;
	uint64_t now = ev_now_ms(loop);

	for (int k = 0; k < ts->n; k++) {
		struct trunk *t = ts->v[k];
		uint32_t iv = t->cf->options_interval_s;
		if (iv == 0)
			continue;
		for (int i = 0; i < t->npeers; i++) {
			struct trunk_peer *pe = &t->peers[i];
			if (pe->is_unresolved || pe->is_probing ||
			    now < pe->next_probe_ms)
				continue;
			pe->next_probe_ms = now + (uint64_t)iv * 1000;
			send_probe(ts, t, i);
		}
	}
	ev_timer_start(loop, tm, PROBE_TICK_MS);
}

/* ---- trunk table ------------------------------------------------------- */

static bool
is_literal(const char *a)
{
	unsigned char b[16];

	return inet_pton(AF_INET, a, b) == 1 || inet_pton(AF_INET6, a, b) == 1;
}

static void
peer_init(struct trunks *ts, struct trunk *t, struct trunk_peer *pe, int cfi,
    const struct ipc_addr *addr)
{
	const struct pc_core_peer *cp = &t->cf->peers[cfi];

	memset(pe, 0, sizeof(*pe));
	pe->cf_peer = cfi;
	if (addr != NULL) {
		pe->flow.remote = *addr;
		pe->flow.remote.port = (uint16_t)cp->port;
	} else {
		pe->is_unresolved = true;
	}
	pe->flow.transport = ipc_tp(cp->transport);
	pe->flow.listener =
	    route_listener_trunk(ts->c->route, pe->flow.transport);
	pe->flow.role = IPC_FLOW_ROLE_TRUNK;
	snprintf(pe->flow.trunk, sizeof(pe->flow.trunk), "%s", t->name);
	pe->weight = cp->weight;
	pe->is_up = addr != NULL;
}

/*
 * (Re)builds the peer list from the configuration and what host names
 * resolved to: a literal is one peer, a name one peer per address in the
 * resolver's order, or one unresolved (down) peer. A peer that was there
 * before (same address, port and transport) keeps its probe state.
 */
static void
build_peers(struct trunks *ts, struct trunk *t)
{
	const struct pc_core_trunk *cf = t->cf;
	struct trunk_peer old[TRUNK_MAX_PEERS];
	int nold = t->npeers;

	ts->is_src_stale = true;
	memcpy(old, t->peers, sizeof(old));
	t->npeers = 0;
	for (size_t i = 0; i < cf->npeers && t->npeers < TRUNK_MAX_PEERS; i++) {
		const struct pc_core_peer *cp = &cf->peers[i];
		const struct trunk_dns *d = t->dns ? &t->dns[i] : NULL;
		struct ipc_addr a;
		if (d == NULL || !d->is_name) {
			if (!ipc_addr_parse(
			        &a, cp->address, (uint16_t)cp->port))
				continue;
			peer_init(ts, t, &t->peers[t->npeers++], (int)i, &a);
		} else if (!d->has_answer || d->naddrs == 0) {
			peer_init(ts, t, &t->peers[t->npeers++], (int)i, NULL);
		} else {
			for (int k = 0;
			     k < d->naddrs && t->npeers < TRUNK_MAX_PEERS; k++)
				peer_init(ts, t, &t->peers[t->npeers++], (int)i,
				    &d->addrs[k]);
		}
	}
	for (int i = 0; i < t->npeers; i++) {
		struct trunk_peer *pe = &t->peers[i];
		for (int k = 0; k < nold && !pe->is_unresolved; k++) {
			if (old[k].is_unresolved ||
			    !ipc_addr_eq(
			        &old[k].flow.remote, &pe->flow.remote) ||
			    old[k].flow.transport != pe->flow.transport)
				continue;
			pe->is_up = old[k].is_up;
			pe->is_probing = old[k].is_probing;
			pe->next_probe_ms = old[k].next_probe_ms;
			pe->probes_sent = old[k].probes_sent;
			pe->probes_failed = old[k].probes_failed;
			break;
		}
	}
}

/* The edge exempts the configured trunk sources from its per-source limits
 * itself; addresses of peers given by name only core learns. Sent with
 * every answer (the edge's mark expires after an hour without one). */
static void
exempt_at_edge(struct trunks *ts, const struct trunk *t,
    const struct ipc_addr *addrs, int naddrs)
{
	char tag[64];
	snprintf(tag, sizeof(tag), IPC_TRUNK_MARK "%s", t->name);
	for (int k = 0; k < naddrs; k++)
		core_report_source(
		    ts->c, IPC_SOURCE_TRUSTED, &addrs[k], slice_cstr(tag));
}

void
trunks_announce(struct trunks *ts)
{
	for (int i = 0; i < ts->n; i++) {
		const struct trunk *t = ts->v[i];
		for (size_t k = 0; t->dns != NULL && k < t->cf->npeers; k++)
			if (t->dns[k].is_name && t->dns[k].has_answer)
				exempt_at_edge(
				    ts, t, t->dns[k].addrs, t->dns[k].naddrs);
	}
}

static void
dns_done(void *arg, uint64_t cookie, const char *host, int err,
    const struct ipc_addr *addrs, int naddrs)
{
	struct trunks *ts = arg;
	struct tref r = {.ts = ts, .gen = cookie};
	struct trunk *t = tref_get(&r);

	if (t == NULL || t->dns == NULL)
		return;
	char list[512];
	size_t o = 0;
	list[0] = '\0';
	for (int k = 0; k < naddrs && o < sizeof(list); k++) {
		char a[64];
		ipc_addr_str(&addrs[k], a, sizeof(a));
		o += (size_t)snprintf(
		    list + o, sizeof(list) - o, "%s%s", k ? ", " : "", a);
	}
	bool changed = false, answered = false;
	for (size_t i = 0; i < t->cf->npeers; i++) {
		struct trunk_dns *d = &t->dns[i];
		if (!d->is_name || !d->is_pending ||
		    strcasecmp(t->cf->peers[i].address, host) != 0)
			continue;
		d->is_pending = false;
		if (err != 0) {
			t->dns_failures++;
			/* A resolver that cannot answer now keeps the last
			 * answer; a name that does not exist takes it away. */
			if (err == EAI_AGAIN && d->has_answer) {
				log_warnx("trunk %s: peer %s: lookup failed "
				          "(%s); keeping its addresses",
				    t->name, host, gai_strerror(err));
				continue;
			}
			if (d->err != err || d->has_answer)
				log_warnx("trunk %s: peer %s does not resolve "
				          "(%s); the peer is down",
				    t->name, host, gai_strerror(err));
			changed |= d->has_answer;
			d->has_answer = false;
			d->naddrs = 0;
			d->err = err;
			continue;
		}
		if (!d->has_answer || d->naddrs != naddrs ||
		    memcmp(d->addrs, addrs,
		        (size_t)naddrs * sizeof(addrs[0])) != 0) {
			log_info("trunk %s: peer %s resolves to %s", t->name,
			    host, list);
			changed = true;
		}
		answered = true;
		d->err = 0;
		d->has_answer = true;
		d->naddrs = naddrs < 16 ? naddrs : 16;
		memcpy(d->addrs, addrs, (size_t)d->naddrs * sizeof(addrs[0]));
	}
	if (answered)
		exempt_at_edge(ts, t, addrs, naddrs);
	bool any_addr = false;
	for (int i = 0; i < t->npeers; i++)
		any_addr |= !t->peers[i].is_unresolved;
	if (!changed) {
		/* Nothing to register with: say so rather than "registering". */
		if (t->cf->reg.enabled && !any_addr && !t->reg_in_flight &&
		    t->reg_state == TRUNK_REG_REGISTERING)
			t->reg_state = TRUNK_REG_FAILED;
		return;
	}
	build_peers(ts, t);
	if (t->cf->reg.enabled && t->reg_state != TRUNK_REG_REGISTERED &&
	    !t->reg_in_flight)
		ev_timer_start(ts->c->loop, &t->reg_timer, 0);
}

/* Starts a lookup of every configured peer given by host name. */
static void
dns_refresh(struct trunks *ts, struct trunk *t)
{
	if (t->dns == NULL)
		return;
	if (ts->res == NULL && (ts->res = resolv_new(ts->c->loop)) == NULL) {
		log_warnx(
		    "trunk %s: no resolver; peers by name stay down", t->name);
		return;
	}
	for (size_t i = 0; i < t->cf->npeers; i++) {
		struct trunk_dns *d = &t->dns[i];
		bool again = false;
		/* One lookup per distinct name. */
		for (size_t k = 0; k < i; k++)
			if (t->dns[k].is_name &&
			    strcasecmp(t->cf->peers[k].address,
			        t->cf->peers[i].address) == 0)
				again = true;
		if (!d->is_name || d->is_pending)
			continue;
		if (!again &&
		    resolv_lookup(ts->res, t->cf->peers[i].address, t->gen,
		        dns_done, ts) < 0) {
			log_warnx("trunk %s: cannot queue the lookup of %s",
			    t->name, t->cf->peers[i].address);
			continue;
		}
		d->is_pending = true;
		t->dns_lookups += again ? 0 : 1;
	}
	ev_timer_start(
	    ts->c->loop, &t->dns_timer, (uint64_t)t->cf->dns_refresh_s * 1000);
}

static void
dns_timer_cb(struct ev_loop *loop, struct ev_timer *tm, void *arg)
{
	struct trunk *t = arg;

	(void)loop;
	(void)tm;
	dns_refresh(t->ts, t);
}

static struct trunk *
trunk_make(struct trunks *ts, const struct pc_core_trunk *cf)
{
	struct trunk *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->cf = cf;
	t->ts = ts;
	t->gen = next_gen++;
	snprintf(t->name, sizeof(t->name), "%s", cf->name);
	bool any_name = false;
	for (size_t i = 0; i < cf->npeers; i++)
		if (!is_literal(cf->peers[i].address))
			any_name = true;
	if (any_name) {
		t->dns = calloc(cf->npeers, sizeof(*t->dns));
		if (t->dns == NULL) {
			free(t);
			return NULL;
		}
		for (size_t i = 0; i < cf->npeers; i++)
			t->dns[i].is_name = !is_literal(cf->peers[i].address);
	}
	build_peers(ts, t);
	ev_timer_init(&t->reg_timer, reg_timer_cb, t);
	ev_timer_init(&t->dns_timer, dns_timer_cb, t);
	/* The first lookup from the loop: at start-up that is after the
	 * privilege drop, so the resolver thread never runs as root. */
	if (t->dns != NULL)
		ev_timer_start(ts->c->loop, &t->dns_timer, 0);
	bool any_addr = false;
	for (int i = 0; i < t->npeers; i++)
		any_addr |= !t->peers[i].is_unresolved;
	/* Peers only by name: the registration starts once one resolves. */
	if (cf->reg.enabled && any_addr)
		ev_timer_start(ts->c->loop, &t->reg_timer, 0);
	else if (cf->reg.enabled)
		t->reg_state = TRUNK_REG_REGISTERING;
	return t;
}

static void
trunk_drop(struct trunks *ts, struct trunk *t)
{
	ts->is_src_stale = true;
	ev_timer_stop(ts->c->loop, &t->reg_timer);
	ev_timer_stop(ts->c->loop, &t->dns_timer);
	if (t->owned != NULL) {
		conf_free(&pcconf_core_trunk_table, t->owned);
		free(t->owned);
	}
	free(t->dns);
	free(t);
}

struct trunks *
trunks_new(struct core *c)
{
	struct trunks *ts = calloc(1, sizeof(*ts));

	if (ts == NULL)
		return NULL;
	ts->c = c;
	ev_timer_init(&ts->probe_timer, probe_tick, ts);
	if (trunks_apply(ts, &c->conf.core) < 0) {
		free(ts);
		return NULL;
	}
	ev_timer_start(c->loop, &ts->probe_timer, 0);
	return ts;
}

void
trunks_free(struct trunks *ts)
{
	if (ts == NULL)
		return;
	ev_timer_stop(ts->c->loop, &ts->probe_timer);
	for (int i = 0; i < ts->n; i++)
		trunk_drop(ts, ts->v[i]);
	resolv_free(ts->res);
	trunk_src_free(ts->src);
	free(ts->v);
	free(ts);
}

static int
push(struct trunks *ts, struct trunk *t)
{
	if (ts->n == ts->cap) {
		int nc = ts->cap ? ts->cap * 2 : 8;
		struct trunk **nv = realloc(ts->v, (size_t)nc * sizeof(*nv));
		if (nv == NULL)
			return -1;
		ts->v = nv;
		ts->cap = nc;
	}
	ts->v[ts->n++] = t;
	ts->is_src_stale = true;
	return 0;
}

static bool
same_conf(const struct pc_core_trunk *a, const struct pc_core_trunk *b)
{
	char *ja = conf_dump_json(&pcconf_core_trunk_table, a);
	char *jb = conf_dump_json(&pcconf_core_trunk_table, b);
	const char *pa = a->outbound_auth.password,
	           *pb = b->outbound_auth.password;
	/* The dump hides passwords: compared on their own. */
	bool same = ja != NULL && jb != NULL && strcmp(ja, jb) == 0 &&
	    strcmp(pa ? pa : "", pb ? pb : "") == 0;

	free(ja);
	free(jb);
	return same;
}

int
trunks_apply(struct trunks *ts, const struct pc_core_conf *cc)
{
	struct trunk **old = ts->v;
	int nold = ts->n;

	ts->v = NULL;
	ts->n = ts->cap = 0;
	for (size_t i = 0; i < cc->ntrunks; i++) {
		const struct pc_core_trunk *cf = &cc->trunks[i];
		struct trunk *t = NULL;
		int k;
		for (k = 0; k < nold; k++)
			if (old[k] != NULL &&
			    strcmp(old[k]->name, cf->name) == 0)
				break;
		if (k < nold && old[k]->owned == NULL &&
		    same_conf(old[k]->cf, cf)) {
			/* Unchanged: the same trunk, pointing at the new copy
			 * of its configuration; flows are rebuilt because
			 * the listeners may have moved. */
			t = old[k];
			old[k] = NULL;
			t->cf = cf;
			build_peers(ts, t);
			/* Names are looked up again at every reload. */
			if (t->dns != NULL)
				ev_timer_start(ts->c->loop, &t->dns_timer, 0);
		} else {
			t = trunk_make(ts, cf);
			if (t != NULL && k < nold)
				t->calls = old[k]->calls;
		}
		if (t == NULL || push(ts, t) < 0) {
			if (t != NULL)
				trunk_drop(ts, t);
			for (k = 0; k < nold; k++)
				if (old[k] != NULL)
					trunk_drop(ts, old[k]);
			free(old);
			return -1;
		}
	}
	for (int k = 0; k < nold; k++) {
		if (old[k] == NULL)
			continue;
		if (old[k]->owned != NULL &&
		    trunks_find(ts, old[k]->name) == NULL) {
			push(ts, old[k]);
			continue;
		}
		trunk_drop(ts, old[k]);
	}
	free(old);
	return 0;
}

int
trunks_add_json(struct trunks *ts, const char *json, char *err, size_t errcap)
{
	struct conf_errors errs;
	struct pc_core_trunk *cf = calloc(1, sizeof(*cf));

	memset(&errs, 0, sizeof(errs));
	if (cf == NULL) {
		snprintf(err, errcap, "out of memory");
		return -1;
	}
	if (conf_load_string(json, strlen(json), "trunk",
	        &pcconf_core_trunk_table, cf, &errs) < 0) {
		snprintf(err, errcap, "%s",
		    errs.n > 0 ? errs.msg[0] : "invalid trunk");
		conf_errors_free(&errs);
		free(cf);
		return -1;
	}
	conf_errors_free(&errs);
	if (trunks_find(ts, cf->name) != NULL) {
		snprintf(err, errcap, "trunk %s exists", cf->name);
		conf_free(&pcconf_core_trunk_table, cf);
		free(cf);
		return -1;
	}
	struct trunk *t = trunk_make(ts, cf);
	if (t == NULL || push(ts, t) < 0) {
		snprintf(err, errcap, "out of memory");
		conf_free(&pcconf_core_trunk_table, cf);
		free(cf);
		free(t);
		return -1;
	}
	t->owned = cf;
	return 0;
}

int
trunks_remove(struct trunks *ts, const char *name)
{
	for (int i = 0; i < ts->n; i++) {
		if (strcmp(ts->v[i]->name, name) != 0)
			continue;
		trunk_drop(ts, ts->v[i]);
		memmove(&ts->v[i], &ts->v[i + 1],
		    (size_t)(ts->n - i - 1) * sizeof(ts->v[0]));
		ts->n--;
		ts->is_src_stale = true;
		return 0;
	}
	return -1;
}

int
trunks_count(const struct trunks *ts)
{
	return ts->n;
}

struct trunk *
trunks_at(struct trunks *ts, int i)
{
	return i >= 0 && i < ts->n ? ts->v[i] : NULL;
}

struct trunk *
trunks_find(struct trunks *ts, const char *name)
{
	for (int i = 0; i < ts->n; i++)
		if (strcmp(ts->v[i]->name, name) == 0)
			return ts->v[i];
	return NULL;
}

struct trunk *
trunks_for_flow(struct trunks *ts, const struct ipc_flow *flow)
{
	char tag[IPC_FLOW_TRUNK_STR];

	if (ipc_flow_trunk(flow, tag)[0] != '\0') {
		struct trunk *t = trunks_find(ts, tag);
		if (t != NULL)
			return t;
	}
	if (ts->src == NULL || ts->is_src_stale) {
		trunk_src_free(ts->src);
		ts->src = trunk_src_build(ts->v, ts->n);
		ts->is_src_stale = false;
		if (ts->src == NULL) {
			log_ratelimited(&src_rl, LOG_LVL_WARN,
			    "out of memory: a request's source taken for no "
			    "trunk's");
			return NULL;
		}
	}
	return trunk_src_find(ts->src, &flow->remote);
}

/* Peer i may be picked next: unused, in the wanted state, with an address,
 * and the first such address of its configured peer (the addresses of a
 * host name are tried in the resolver's order; weights choose among the
 * configured peers). */
static bool
candidate(const struct trunk *t, const bool *used, int i, bool want_up)
{
	const struct trunk_peer *p = &t->peers[i];

	if (used[i] || p->is_up != want_up || p->is_unresolved)
		return false;
	for (int j = 0; j < i; j++)
		if (!used[j] && t->peers[j].cf_peer == p->cf_peer &&
		    t->peers[j].is_up == want_up && !t->peers[j].is_unresolved)
			return false;
	return true;
}

int
trunk_peer_order(struct trunk *t, int *idx, int max)
{
	int n = 0;
	bool used[TRUNK_MAX_PEERS] = {false};

	for (int pass = 0; pass < 2; pass++) {
		bool want_up = pass == 0;
		for (;;) {
			uint64_t total = 0;
			bool any_weight = false;
			for (int i = 0; i < t->npeers; i++)
				if (candidate(t, used, i, want_up)) {
					/* +1 so weight 0 is possible but comes
					 * last. */
					total += t->peers[i].weight + 1;
					any_weight |= t->peers[i].weight > 0;
				}
			if (total == 0 || n >= max)
				break;
			uint64_t pick = (uint64_t)random() % total;
			int chosen = -1;
			for (int i = 0; i < t->npeers; i++) {
				if (!candidate(t, used, i, want_up))
					continue;
				if (any_weight && t->peers[i].weight == 0)
					continue;
				uint64_t w = t->peers[i].weight + 1;
				if (chosen < 0)
					chosen = i;
				if (pick < w) {
					chosen = i;
					break;
				}
				pick -= w;
			}
			used[chosen] = true;
			idx[n++] = chosen;
		}
	}
	return n;
}

int
trunk_admit(struct trunk *t, uint64_t now_ms)
{
	if (t->cf->max_calls > 0 && t->calls >= t->cf->max_calls) {
		t->rejected_calls++;
		return 503;
	}
	if (t->cf->max_cps > 0) {
		uint64_t sec = now_ms / 1000;
		if (sec != t->cps_second) {
			t->cps_second = sec;
			t->cps_count = 0;
		}
		if (t->cps_count >= t->cf->max_cps) {
			t->rejected_cps++;
			return 503;
		}
		t->cps_count++;
	}
	t->calls++;
	return 0;
}

void
trunk_release(struct trunk *t)
{
	if (t->calls > 0)
		t->calls--;
}

/* ---- digest answers ---------------------------------------------------- */

int
trunk_auth_line(const struct trunk *t, struct sip_msg *resp, const char *method,
    const char *uri, char *out, size_t cap)
{
	const struct pc_core_trunk_auth *oa = &t->cf->outbound_auth;
	struct sip_auth ch;
	struct sip_err err;
	bool proxy = resp->status == 407;
	const struct sip_hdr *h = sip_msg_hdr(resp,
	    proxy ? SIP_HDR_PROXY_AUTHENTICATE : SIP_HDR_WWW_AUTHENTICATE);

	if (oa->username == NULL || oa->password == NULL || h == NULL ||
	    sip_auth_parse(h->value, &ch, &err) < 0 ||
	    !slice_eq_cstr_nocase(ch.scheme, "Digest") || ch.nonce.len == 0)
		return -1;
	if (oa->realm != NULL && !slice_eq_cstr(ch.realm, oa->realm))
		return -1;
	int alg = digest_alg_parse(ch.algorithm);
	if (alg < 0)
		return -1;
	bool qop_auth = false;
	/* qop is a list in a challenge: "auth", "auth,auth-int". */
	for (uint32_t i = 0; i + 4 <= ch.qop.len; i++)
		if (strncasecmp(ch.qop.p + i, "auth", 4) == 0 &&
		    (i + 4 == ch.qop.len || ch.qop.p[i + 4] == ',' ||
		        ch.qop.p[i + 4] == ' '))
			qop_auth = true;
	char ha1[DIGEST_HEX_MAX], ha2[DIGEST_HEX_MAX], rsp[DIGEST_HEX_MAX];
	char cnonce[17];
	sip_random_token(cnonce, 16);
	cnonce[16] = '\0';
	digest_ha1((enum digest_alg)alg, slice_cstr(oa->username), ch.realm,
	    slice_cstr(oa->password), ha1);
	digest_ha2(
	    (enum digest_alg)alg, slice_cstr(method), slice_cstr(uri), ha2);
	digest_response((enum digest_alg)alg, slice_cstr(ha1), ch.nonce,
	    qop_auth ? SLICE_LIT("00000001") : SLICE_NULL,
	    qop_auth ? slice_cstr(cnonce) : SLICE_NULL,
	    qop_auth ? SLICE_LIT("auth") : SLICE_NULL, slice_cstr(ha2), rsp);
	int n = snprintf(out, cap,
	    "%s: Digest username=\"%s\", realm=\"%.*s\", nonce=\"%.*s\", "
	    "uri=\"%s\", response=\"%s\"",
	    proxy ? "Proxy-Authorization" : "Authorization", oa->username,
	    (int)ch.realm.len, ch.realm.p, (int)ch.nonce.len, ch.nonce.p, uri,
	    rsp);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	size_t off = (size_t)n;
	if (ch.algorithm.len > 0)
		off += (size_t)snprintf(out + off, cap - off, ", algorithm=%s",
		    digest_alg_name((enum digest_alg)alg));
	if (qop_auth && off < cap)
		off += (size_t)snprintf(out + off, cap - off,
		    ", qop=auth, nc=00000001, cnonce=\"%s\"", cnonce);
	if (ch.opaque.len > 0 && off < cap)
		off += (size_t)snprintf(out + off, cap - off,
		    ", opaque=\"%.*s\"", (int)ch.opaque.len, ch.opaque.p);
	if (off < cap)
		off += (size_t)snprintf(out + off, cap - off, "\r\n");
	return off < cap ? (int)off : -1;
}

/* ---- registration (RFC 3261 §10.2, client side) ----------------------- */

static void send_register(struct trunk *t, const char *auth_line);

static void
reg_retry_later(struct trunk *t)
{
	struct core *c = t->ts->c;
	uint64_t base = t->cf->reg.retry_s;
	uint64_t wait = base;

	for (uint32_t i = 1; i < t->reg_fails && wait < base * 20; i++)
		wait *= 2;
	if (wait > base * 20)
		wait = base * 20;
	t->reg_state = TRUNK_REG_FAILED;
	ev_timer_start(c->loop, &t->reg_timer, wait * 1000);
}

static int64_t
granted_expires(struct sip_msg *m, int64_t asked)
{
	struct sip_err err;
	const struct sip_contact *cv;
	int n = sip_msg_contacts(m, &cv, &err);

	/* Our Contact's expires param, else Expires, else what we asked. */
	for (int i = 0; i < n; i++)
		if (cv[i].expires >= 0)
			return cv[i].expires;
	int64_t e = sip_msg_expires(m, &err);
	return e >= 0 ? e : asked;
}

static void
reg_cb(struct tx *tx, int code, struct sip_msg *m, void *arg)
{
	struct trunk *t = tref_get(arg);

	if (code > 0 && code < 200)
		return;
	tx_detach(tx); /* no on_free after this: the reference is ours */
	free(arg);
	if (t == NULL)
		return;
	t->reg_in_flight = false;
	struct core *c = t->ts->c;
	t->reg_code = code < 0 ? 408 : code;
	if ((code == 401 || code == 407) && !t->reg_authed_once) {
		char line[1024], uri[128];
		snprintf(uri, sizeof(uri), "sip:%s", t->reg_peer);
		if (trunk_auth_line(t, m, "REGISTER", uri, line, sizeof(line)) >
		    0) {
			send_register(t, line);
			return;
		}
	}
	if (code >= 200 && code < 300) {
		int64_t g = granted_expires(m, t->cf->reg.expires);
		if (g <= 0) {
			t->reg_fails++;
			reg_retry_later(t);
			return;
		}
		t->reg_state = TRUNK_REG_REGISTERED;
		t->reg_fails = 0;
		t->reg_count++;
		t->reg_expires_at = core_now_s(c) + g;
		/* Refresh ahead of expiry: at 4/5 of the time, at least 5 s
		 * before it. */
		int64_t at = g * 4 / 5;
		if (g - at < 5)
			at = g > 5 ? g - 5 : 1;
		log_info(
		    "trunk %s: registered for %lld s", t->name, (long long)g);
		ev_timer_start(c->loop, &t->reg_timer, (uint64_t)at * 1000);
		return;
	}
	log_warnx("trunk %s: registration failed (%d)", t->name, t->reg_code);
	t->reg_fails++;
	reg_retry_later(t);
}

static void
send_register(struct trunk *t, const char *auth_line)
{
	struct core *c = t->ts->c;
	const struct pc_core_trunk *cf = t->cf;
	struct trunk_peer *pe = NULL;
	char branch[64], via[256], hp[96], aor[256], buf[4096];

	if (t->reg_in_flight)
		return;
	/* The first peer with an address that is up, else the first with an
	 * address (its probe may be off or late). */
	for (int i = t->npeers - 1; i >= 0; i--)
		if (!t->peers[i].is_unresolved &&
		    (pe == NULL || t->peers[i].is_up || !pe->is_up))
			pe = &t->peers[i];
	if (pe == NULL) {
		log_warnx(
		    "trunk %s: no peer address to register with", t->name);
		t->reg_code = 0;
		t->reg_fails++;
		reg_retry_later(t);
		return;
	}
	/* The challenge answer goes where the challenge came from. */
	if (auth_line == NULL)
		ipc_addr_str(
		    &pe->flow.remote, t->reg_peer, sizeof(t->reg_peer));
	else
		for (int i = 0; i < t->npeers; i++) {
			char a[64];
			ipc_addr_str(&t->peers[i].flow.remote, a, sizeof(a));
			if (!t->peers[i].is_unresolved &&
			    strcmp(a, t->reg_peer) == 0)
				pe = &t->peers[i];
		}
	const char *peer = t->reg_peer;
	route_via(c->route, pe->flow.listener, via, sizeof(via));
	route_hostport(c->route, pe->flow.listener, hp, sizeof(hp));
	if (cf->reg.aor != NULL)
		snprintf(aor, sizeof(aor), "%s", cf->reg.aor);
	else
		snprintf(aor, sizeof(aor), "sip:%s@%s",
		    cf->outbound_auth.username, peer);
	if (t->reg_call_id[0] == '\0') {
		sip_random_token(t->reg_call_id, 24);
		t->reg_call_id[24] = '\0';
		sip_random_token(t->reg_from_tag, 12);
		t->reg_from_tag[12] = '\0';
	}
	px_make_branch("0000000000000000", branch, sizeof(branch));
	int len = snprintf(buf, sizeof(buf),
	    "REGISTER sip:%s SIP/2.0\r\nVia: %s;branch=%s\r\n"
	    "Max-Forwards: 70\r\nFrom: <%s>;tag=%s\r\nTo: <%s>\r\n"
	    "Call-ID: %s\r\nCSeq: %u REGISTER\r\n"
	    "Contact: <sip:%s@%s>\r\nExpires: %u\r\n%s"
	    "Content-Length: 0\r\n\r\n",
	    peer, via, branch, aor, t->reg_from_tag, aor, t->reg_call_id,
	    ++t->reg_cseq, cf->outbound_auth.username, hp, cf->reg.expires,
	    auth_line ? auth_line : "");
	if (len <= 0 || (size_t)len >= sizeof(buf))
		return;
	struct tref *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return;
	r->ts = t->ts;
	r->gen = t->gen;
	t->reg_authed_once = auth_line != NULL;
	if (t->reg_state != TRUNK_REG_REGISTERED)
		t->reg_state = TRUNK_REG_REGISTERING;
	struct tx *tx = tx_client_new(c->tx, &pe->flow, SIP_M_REGISTER, branch,
	    buf, (uint32_t)len, reg_cb, r);
	if (tx == NULL) {
		free(r);
		t->reg_fails++;
		reg_retry_later(t);
		return;
	}
	tx_set_user(tx, r, tref_freed);
	t->reg_in_flight = true;
}

static void
reg_timer_cb(struct ev_loop *loop, struct ev_timer *tm, void *arg)
{
	struct trunk *t = arg;

	(void)loop;
	(void)tm;
	send_register(t, NULL);
}
