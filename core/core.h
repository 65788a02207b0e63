/*
 * core: the state of the portcullis-core process shared by its modules:
 * configuration, store, location, auth, transactions, dialogs, routes,
 * counters, and the channels to edge and portcullisd. One per process;
 * main.c owns it.
 */
#ifndef PC_CORE_H
#define PC_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "cdr.h"
#include "dialplan.h"
#include "dialog.h"
#include "ev.h"
#include "ipc.h"
#include "ipc_msgs.h"
#include "loc.h"
#include "pcconf.h"
#include "route.h"
#include "store.h"
#include "trunk.h"
#include "tx.h"

struct core_stats {
	uint64_t sip_in_requests;
	uint64_t sip_in_responses;
	uint64_t sip_in_bad;
	uint64_t sip_out;
	uint64_t sip_out_dropped;
	uint64_t register_ok;
	uint64_t register_refused;
	uint64_t auth_challenges;
	uint64_t auth_failures;
	uint64_t invites;
	uint64_t calls_answered;
	uint64_t redirects;
	uint64_t retransmissions_absorbed;
	uint64_t store_flush_errors;
	uint64_t calls_rejected_total; /* call_limits.max_total */
	uint64_t calls_rejected_user; /* per-user limits */
	uint64_t calls_rejected_trunk; /* trunk max_calls / max_cps */
	uint64_t trunk_failovers; /* next peer or trunk tried */
	uint64_t trunk_auth_answers; /* carrier challenges answered */
	uint64_t trunk_calls_in;
	uint64_t trunk_calls_out;
	uint64_t did_not_found;
};

#define CORE_MAX_EDGES 16

struct core {
	struct ev_loop *loop;
	struct pc_conf conf;
	const char *conf_path;
	char db_path[4096];
	struct store *store;
	struct loc *loc;
	struct auth *auth;
	struct tx_layer *tx;
	struct dlg_table *dlg;
	struct route *route;
	struct proxy *proxy;
	struct trunks *trunks;
	struct dialplan *dp;
	struct cdr *cdr;
	uint32_t calls_total; /* calls holding a call-limit slot */

	int listen_fd; /* core.sock */
	struct ipc_chan *edges[CORE_MAX_EDGES];
	int last_edge; /* the edge the current message came from */
	uint32_t in_flags; /* IPC_SIPF_* of the SIP_IN being handled */
	struct ipc_chan *ctl;

	struct ev_timer flush_timer;
	struct ev_timer expire_timer;
	int64_t start_s;
	struct core_stats st;
	bool is_stopping;
};

/* Wall-clock seconds (registrations and nonces survive restarts). */
int64_t core_now_s(struct core *c);
/* Wall-clock milliseconds (CDRs). */
int64_t core_now_ms(struct core *c);

/* dispatch_edge.c */
int edge_listen(struct core *c, const char *path);
void edge_close_all(struct core *c);
/* Sends a SIP message to edge for flow (to the edge it came from when
 * known, else the first connected one). */
void core_send_sip(
    struct core *c, const struct ipc_flow *flow, const char *buf, uint32_t len);
/* AUTH_FAILED / SOURCE_TRUSTED to every edge. */
void core_report_source(struct core *c, uint16_t type,
    const struct ipc_addr *addr, struct slice user);
size_t core_edge_count(const struct core *c);

/* dispatch_ctl.c */
int ctl_attach(struct core *c, int fd);

/* users.c */
/* Seeds the user table from the configuration at first start. */
int users_seed(struct core *c);
/* Realm a user's HA1 is computed in for a domain. */
const char *users_realm(struct core *c, const char *domain);
/* Computes the HA1s of user@domain with password into u. */
void users_fill(struct core *c, struct store_user *u, const char *user,
    const char *domain, struct slice password);

/* main.c */
/* Writes every dirty binding now (shutdown, ctl). */
void core_flush(struct core *c);
int core_reload(struct core *c, const char *path, char *applied, size_t acap,
    char *restart, size_t rcap);

#endif
