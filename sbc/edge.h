/*
 * edge: the state of one portcullis-edge process, shared by its modules
 * (listeners, connections, the sibling channels, limiters, counters).
 * One instance lives in main.c; the modules receive it explicitly. It owns
 * everything it points to.
 */
#ifndef PC_SBC_EDGE_H
#define PC_SBC_EDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "acl.h"
#include "ban.h"
#include "ev.h"
#include "hash.h"
#include "ipc_msgs.h"
#include "pcconf.h"
#include "rate.h"
#include "token.h"

struct listener {
	struct edge *e;
	uint16_t idx; /* index into config "listen" */
	uint8_t transport; /* enum ipc_transport */
	uint8_t role; /* IPC_FLOW_ROLE_* */
	int fd;
	struct ipc_addr local;
	char host[64]; /* advertised host as written into headers */
	char host_uri[72]; /* host as in a URI or Via: IPv6 in brackets */
	char addr[64]; /* local address as text, without the port */
	char trunk[32];
	struct acl acl;
	SSL_CTX *tls; /* TLS listeners */
	bool verify_client;
};

/* Counters reported by "stats". */
struct edge_stats {
	uint64_t rx_msgs, tx_msgs;
	uint64_t rx_requests, rx_responses;
	uint64_t sip_in_invite, sip_in_register;
	uint64_t bad_requests; /* answered 4xx/5xx by sanity */
	uint64_t bad_dropped; /* malformed, not answerable */
	uint64_t scanners;
	uint64_t drops_ratelimit, drops_global, drops_acl, drops_banned;
	uint64_t bans;
	uint64_t core_down_503;
	uint64_t topo_bad_tokens;
	uint64_t conns_accepted, conns_refused, conns_closed;
	uint64_t framing_errors;
	uint64_t keepalives;
	uint64_t media_offers, media_answers, media_errors, media_deletes;
	uint64_t tx_errors;
	uint64_t challenges_here, options_here; /* answered by challenge.c */
};

struct conn;
struct ipc_chan;
struct auth;
struct route;

struct edge {
	struct ev_loop *loop;
	const char *conf_path;
	struct pc_conf conf;
	struct listener *lis;
	size_t nlis;

	struct ipc_chan *core;
	struct ev_timer core_retry;
	struct ipc_chan *relay;
	struct ev_timer relay_retry;
	struct ipc_chan *ctl;
	uint64_t next_id;

	struct rate *rate;
	struct ban *ban;
	struct token_keys keys;
	struct callid_tab *cids; /* Call-ID creators (hide_call_id) */
	struct toprow *rows; /* texts of over-long tokens */

	/* stream connections: by id and by remote address + transport */
	struct htable conns_by_id;
	struct htable conns_by_peer;
	struct htable src_counts;
	size_t nconns;
	uint32_t next_conn_id;

	/* remembered UDP flows (NAT): by remote address */
	struct htable udp_flows;
	size_t nudp_flows;
	struct ev_timer housekeeping;

	/* media calls anchored (sdp_rw.c) */
	struct htable calls;
	size_t ncalls;
	/* replies from relay awaited (by header id) */
	struct htable pending;

	/* challenge.c: core's nonce minting and served domains */
	struct auth *auth;
	struct route *route;

	struct edge_stats st;
	uint64_t start_ms;
	bool stopping;
};

/* Sets up tables, limiters and the token key from e->conf. Reports every
 * problem; -1 if any. */
int edge_init(struct edge *e);
void edge_free(struct edge *e);
/* Fills rate/ban parameters from the configuration (start and reload). */
void edge_apply_limits(struct edge *e);
uint64_t edge_now(struct edge *e);
/* Reloads the configuration at path: limits, ACLs, scanners, topology
 * and NAT switches apply at once; listener changes need a restart. */
int edge_reload(struct edge *e, const char *path, char *applied, size_t alen,
    char *restart, size_t rlen);
/* NAT flow memory of UDP user agents. */
void edge_udp_flow_seen(
    struct edge *e, const struct listener *l, const struct ipc_addr *src);
struct ctl_rows;
void edge_udp_flows_list(struct edge *e, struct ctl_rows *rows);
/* The topology-hiding context for a message handled now. */
struct topo;
void edge_topo(struct edge *e, struct topo *t);
/* Periodic work (every second): expiries. */
void edge_housekeeping(struct edge *e);

#endif
