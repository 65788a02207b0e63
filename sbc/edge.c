/*
 * The edge's shared state: set-up from the configuration, live reload,
 * the UDP flow memory and periodic expiries.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "callid.h"
#include "ctl_rows.h"
#include "edge.h"
#include "listen.h"
#include "log.h"
#include "sdp_rw.h"
#include "topo.h"
#include "toprow.h"

#define MAX_UDP_FLOWS 200000

struct udp_flow {
	struct hnode node;
	struct ipc_addr addr;
	uint16_t listener;
	uint64_t first_ms, last_ms;
};

uint64_t
edge_now(struct edge *e)
{
	return ev_now_ms(e->loop);
}

void
edge_apply_limits(struct edge *e)
{
	ev_set_pause_us(e->loop, e->conf.edge.performance.batch_us);
	const struct pc_edge_limits *l = &e->conf.edge.limits;
	struct rate_params rp = {
	    .rate = {l->invite_rate, l->register_rate, l->other_rate,
	        l->response_rate},
	    .burst = {l->invite_burst, l->register_burst, l->other_burst,
	        l->response_burst},
	    .global_rate = l->global_rate,
	    .trusted_multiplier = l->trusted_multiplier,
	    .flood_drops = l->flood_drops,
	    .flood_window_ms = l->flood_window_s * 1000,
	    .trust_ttl_ms = 3600 * 1000,
	    .max_sources = l->max_sources,
	};
	struct ban_params bp = {
	    .timeout_s = l->ban_timeout_s,
	    .max_timeout_s = l->ban_max_timeout_s,
	    .auth_fail_max = l->auth_fail_max,
	    .auth_fail_window_ms = l->auth_fail_window_s * 1000,
	    .max_entries = l->max_sources,
	};
	if (e->rate == NULL)
		e->rate = rate_new(&rp);
	else
		rate_set_params(e->rate, &rp);
	if (e->ban == NULL)
		e->ban = ban_new(&bp);
	else
		ban_set_params(e->ban, &bp);
	if (e->rate == NULL || e->ban == NULL)
		fatalx("out of memory");
	/* Carrier trunks send many calls from one address: not limited per
	 * source, never banned as a flood (rebuilt on every reload). */
	struct cidr *tr;
	size_t ntr;
	if (acl_trunk_rules(&e->conf.core, &tr, &ntr) != 0 ||
	    rate_set_exempt(e->rate, tr, ntr) != 0)
		fatalx("out of memory");
	free(tr);
}

/* The token key: config "key", else key_file, else
 * state_dir/topology.key made at first start. */
static int
load_keys(struct edge *e, struct token_keys *ks)
{
	const struct pc_edge_topology *t = &e->conf.edge.topology;
	uint8_t key[TOKEN_KEY_LEN];
	char err[256];
	token_keys_clear(ks);
	if (t->key != NULL) {
		if (token_key_from_hex(t->key, key) != 0) {
			log_error("topology.key: not 64 hexadecimal digits");
			return -1;
		}
	} else {
		char path[512];
		if (t->key_file != NULL) {
			snprintf(path, sizeof path, "%s", t->key_file);
		} else {
			const char *sd = e->conf.state_dir;
			if (mkdir(sd, 0750) != 0 && errno != EEXIST) {
				log_error(
				    "state_dir %s: %s", sd, strerror(errno));
				return -1;
			}
			snprintf(path, sizeof path, "%s/topology.key", sd);
		}
		if (token_key_file(
		        path, t->key_file == NULL, key, err, sizeof err) != 0) {
			log_error("topology key: %s", err);
			return -1;
		}
	}
	int rc = token_keys_add(ks, key);
	OPENSSL_cleanse(key, sizeof key);
	return rc;
}

int
edge_init(struct edge *e)
{
	if (htable_init(&e->udp_flows, 1024) != 0)
		return -1;
	edge_apply_limits(e);
	if (load_keys(e, &e->keys) != 0)
		return -1;
	e->cids = callid_new(200000);
	e->rows = toprow_new(200000);
	if (e->cids == NULL || e->rows == NULL)
		return -1;
	toprow_persist_in(e->rows, e->conf.state_dir, &e->keys,
	    12ull * 3600 * 1000, edge_now(e));
	callid_persist_in(e->cids, e->conf.state_dir, &e->keys,
	    12ull * 3600 * 1000, edge_now(e));
	return sdp_rw_init(e);
}

static int
free_flow(struct hnode *n, void *arg)
{
	struct edge *e = arg;
	htable_remove(&e->udp_flows, n);
	free(container_of(n, struct udp_flow, node));
	return 0;
}

void
edge_free(struct edge *e)
{
	htable_walk(&e->udp_flows, free_flow, e);
	htable_free(&e->udp_flows);
	sdp_rw_free(e);
	callid_free(e->cids);
	toprow_free(e->rows);
	rate_free(e->rate);
	ban_free(e->ban);
	token_keys_clear(&e->keys);
}

void
edge_udp_flow_seen(
    struct edge *e, const struct listener *l, const struct ipc_addr *src)
{
	struct ipc_addr k = *src;
	k.pad = 0;
	uint64_t hv = hash_bytes(&k, sizeof k);
	uint64_t now = edge_now(e);
	for (struct hnode *n = htable_first(&e->udp_flows, hv); n != NULL;
	     n = htable_next(n, hv)) {
		struct udp_flow *f = container_of(n, struct udp_flow, node);
		if (memcmp(&f->addr, &k, sizeof k) == 0) {
			f->last_ms = now;
			f->listener = l->idx;
			return;
		}
	}
	if (e->nudp_flows >= MAX_UDP_FLOWS)
		return; /* expiry makes room; the flow still works */
	struct udp_flow *f = calloc(1, sizeof *f);
	if (f == NULL)
		return;
	f->addr = k;
	f->listener = l->idx;
	f->first_ms = f->last_ms = now;
	htable_insert(&e->udp_flows, &f->node, hv);
	e->nudp_flows++;
}

struct flow_walk {
	struct edge *e;
	struct ctl_rows *rows;
	uint64_t now, timeout_ms;
	bool expire;
};

static int
flow_cb(struct hnode *n, void *arg)
{
	struct flow_walk *w = arg;
	struct udp_flow *f = container_of(n, struct udp_flow, node);
	if (w->expire) {
		if (w->now - f->last_ms >= w->timeout_ms) {
			htable_remove(&w->e->udp_flows, n);
			w->e->nudp_flows--;
			free(f);
		}
		return 0;
	}
	char a[64];
	ctl_rows_str(w->rows, "kind", "udp");
	ctl_rows_str(w->rows, "remote", ipc_addr_str(&f->addr, a, sizeof a));
	ctl_rows_u64(w->rows, "listener", f->listener);
	ctl_rows_u64(w->rows, "age_s", (w->now - f->first_ms) / 1000);
	ctl_rows_u64(w->rows, "idle_s", (w->now - f->last_ms) / 1000);
	ctl_rows_end_row(w->rows);
	return w->rows->overflow ? 1 : 0;
}

void
edge_udp_flows_list(struct edge *e, struct ctl_rows *rows)
{
	struct flow_walk w = {e, rows, edge_now(e), 0, false};
	htable_walk(&e->udp_flows, flow_cb, &w);
}

static bool
topo_is_local(void *arg, struct slice host, uint16_t port)
{
	return listen_is_local(arg, host, port);
}

void
edge_topo(struct edge *e, struct topo *t)
{
	memset(t, 0, sizeof *t);
	t->keys = &e->keys;
	t->is_local = topo_is_local;
	t->arg = e;
	t->rows = e->rows;
	t->max_token = e->conf.edge.topology.max_token_len;
	t->now_ms = edge_now(e);
}

void
edge_housekeeping(struct edge *e)
{
	uint64_t now = edge_now(e);
	struct flow_walk w = {e, NULL, now,
	    (uint64_t)e->conf.edge.nat.flow_timeout_s * 1000, true};
	htable_walk(&e->udp_flows, flow_cb, &w);
	rate_expire(e->rate, now, 600 * 1000);
	callid_expire(e->cids, now, 12ull * 3600 * 1000);
	toprow_expire(e->rows, now, 12ull * 3600 * 1000);
	toprow_sync(e->rows, now, false);
	callid_sync(e->cids, now, false);
	sdp_rw_housekeeping(e);
}

static bool
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

int
edge_reload(struct edge *e, const char *path, char *applied, size_t alen,
    char *restart, size_t rlen)
{
	struct pc_conf nc;
	if (pcconf_load(path, &nc) != 0)
		return -1;
	restart[0] = '\0';
	bool listen_same = nc.nlisten == e->conf.nlisten;
	for (size_t i = 0; listen_same && i < nc.nlisten; i++) {
		const struct pc_listen *a = &nc.listen[i],
		                       *b = &e->conf.listen[i];
		listen_same = a->transport == b->transport &&
		    str_eq(a->address, b->address) && a->port == b->port &&
		    a->role == b->role && str_eq(a->advertise, b->advertise) &&
		    str_eq(a->tls_cert, b->tls_cert) &&
		    str_eq(a->tls_key, b->tls_key);
	}
	struct token_keys ks;
	struct pc_conf old = e->conf;
	/* The key file may be readable only before privileges were dropped:
	 * an unchanged key setting keeps the keys in memory. */
	bool same_key = str_eq(nc.edge.topology.key, old.edge.topology.key) &&
	    str_eq(nc.edge.topology.key_file, old.edge.topology.key_file);
	e->conf = nc;
	if (same_key) {
		ks = e->keys;
	} else if (load_keys(e, &ks) != 0) {
		e->conf = old;
		pcconf_free(&nc);
		return -1;
	}
	if (listen_same && listen_reload_acls(e) != 0) {
		e->conf = old;
		pcconf_free(&nc);
		return -1;
	}
	if (!listen_same) {
		/* Keep the bound listeners' settings until a restart. */
		snprintf(restart, rlen, "listen");
	}
	if (nc.edge.topology.hide_call_id != old.edge.topology.hide_call_id) {
		/* Call-ID creators are recorded only while hiding is on, so
		 * switching it live would hide the Call-ID from the creators
		 * of dialogs already under way. */
		e->conf.edge.topology.hide_call_id =
		    old.edge.topology.hide_call_id;
		size_t n = strlen(restart);
		snprintf(restart + n, rlen - n, "%stopology.hide_call_id",
		    n ? "," : "");
	}
	/* A key change keeps the old key for opening tokens in flight. */
	if (ks.keys[0].id != e->keys.keys[0].id) {
		if (ks.n < TOKEN_MAX_KEYS)
			ks.keys[ks.n++] = e->keys.keys[0];
	} else {
		ks = e->keys;
	}
	e->keys = ks;
	edge_apply_limits(e);
	snprintf(applied, alen,
	    "limits,scanners,topology,nat,media_anchor,performance%s",
	    listen_same ? ",acl" : "");
	/* The listeners still point at strings of the old configuration
	 * only through e->conf, which now is the new one; free the old. */
	if (!listen_same) {
		/* listener fields read through e->conf.listen[i] must stay
		 * the ones bound: keep the old listen array. */
		struct pc_listen *tmp = e->conf.listen;
		size_t tn = e->conf.nlisten;
		e->conf.listen = old.listen;
		e->conf.nlisten = old.nlisten;
		old.listen = tmp;
		old.nlisten = tn;
	}
	pcconf_free(&old);
	log_info("configuration reloaded from %s", path);
	return 0;
}
