/*
 * trunk: carrier SIP trunks at run time: their peers as flows with an
 * up/down state from OPTIONS probes (a peer given by host name is one
 * flow per address it resolves to, looked up off the loop: resolv.h),
 * the weighted order calls try them in, who a request from outside belongs to (listener tag, peer address,
 * ACL), per-trunk call and calls-per-second admission, registration to
 * the carrier as a UAC (RFC 3261 §10) and digest answers to the carrier's
 * challenges (RFC 7616). The trunk table owns its trunks; a trunk read
 * from the configuration points into it (rebuilt on reload), one added
 * live owns its own copy.
 */
#ifndef PC_TRUNK_H
#define PC_TRUNK_H

#include <stdbool.h>
#include <stdint.h>

#include "ev.h"
#include "ipc_msgs.h"
#include "pcconf_core.h"
#include "sip_msg.h"

struct core;

#define TRUNK_MAX_PEERS 32

enum trunk_reg_state {
	TRUNK_REG_OFF = 0,
	TRUNK_REG_REGISTERING,
	TRUNK_REG_REGISTERED,
	TRUNK_REG_FAILED,
};

struct trunk_peer {
	struct ipc_flow flow;
	int cf_peer; /* index into the trunk's configured peers */
	/* A host name with no address (yet, or it did not resolve): kept so
	 * the peer shows as down; never sent to. */
	bool is_unresolved;
	uint32_t weight;
	bool is_up; /* from probes; true until a probe fails */
	bool is_probing;
	uint64_t next_probe_ms;
	uint64_t probes_sent, probes_failed;
};

struct trunk {
	const struct pc_core_trunk *cf;
	struct pc_core_trunk *owned; /* live-added: freed with the trunk */
	char name[32];
	struct trunk_peer peers[TRUNK_MAX_PEERS];
	int npeers;
	uint32_t calls; /* in progress, both ways */
	uint64_t cps_second;
	uint32_t cps_count;
	uint64_t rejected_calls, rejected_cps;
	/* registration */
	enum trunk_reg_state reg_state;
	int reg_code; /* last final response */
	int64_t reg_expires_at; /* wall clock s */
	uint32_t reg_fails;
	uint32_t reg_cseq;
	uint32_t reg_count; /* successful registrations (refreshes too) */
	char reg_call_id[40];
	char reg_from_tag[20];
	bool reg_authed_once; /* the current REGISTER carried credentials */
	bool reg_in_flight; /* one registration transaction at a time */
	struct ev_timer reg_timer;
	char reg_peer[64]; /* the peer the registration went to */
	/* Peers by host name: the addresses each configured peer resolved
	 * to (NULL when all are literals), refreshed by dns_timer. */
	struct trunk_dns *dns;
	struct ev_timer dns_timer;
	uint64_t dns_lookups, dns_failures;
	struct trunks *ts;
	uint64_t gen; /* identity for requests in flight */
};

struct trunks;

/* The addresses of one configured peer given by host name. */
struct trunk_dns {
	bool is_name; /* false: an IP literal, nothing to resolve */
	bool has_answer; /* resolved at least once (addrs valid) */
	bool is_pending; /* a lookup in flight */
	int err; /* last lookup: 0 or EAI_* */
	int naddrs;
	struct ipc_addr addrs[16];
};

struct trunks *trunks_new(struct core *c);
void trunks_free(struct trunks *ts);
/* Replaces the configured trunks by those of cc (live-added ones stay
 * unless cc has one of the same name). Call counts carry over by name; a
 * trunk whose configuration did not change keeps its whole state (its
 * registration is not restarted, peers keep their up/down state). */
int trunks_apply(struct trunks *ts, const struct pc_core_conf *cc);
/* Adds a trunk from its JSON object (as in "trunks": [...]); takes
 * ownership of nothing. -1 with a message in err. */
int trunks_add_json(
    struct trunks *ts, const char *json, char *err, size_t errcap);
/* 0 removed, -1 not found. */
int trunks_remove(struct trunks *ts, const char *name);
int trunks_count(const struct trunks *ts);
/* Tells the edges again the addresses of the peers given by host name
 * (SOURCE_TRUSTED "trunk:NAME"): a new edge knows them at once, not after
 * the next lookup (dns_refresh_s). */
void trunks_announce(struct trunks *ts);
struct trunk *trunks_at(struct trunks *ts, int i);
struct trunk *trunks_find(struct trunks *ts, const char *name);
/* The trunk a request from outside on flow belongs to: the listener's
 * trunk tag, else a peer's address, else an inbound ACL; NULL = none. */
struct trunk *trunks_for_flow(struct trunks *ts, const struct ipc_flow *flow);

/* Peer indexes in the order a new call tries them: peers that are up, the
 * first chosen at random by weight, then the rest by weight; peers that
 * are down last. Returns the count. */
int trunk_peer_order(struct trunk *t, int *idx, int max);

/* Call admission on the trunk: 0 = admitted (calls counted), 503 = over
 * max_calls or max_cps. */
int trunk_admit(struct trunk *t, uint64_t now_ms);
void trunk_release(struct trunk *t);

/*
 * An Authorization / Proxy-Authorization header line ("Name: Digest
 * ...\r\n") answering the challenge in resp (401/407) for method and uri
 * with the trunk's outbound credentials. -1 when there is nothing to
 * answer with (no credentials, realm mismatch, unknown algorithm).
 */
int trunk_auth_line(const struct trunk *t, struct sip_msg *resp,
    const char *method, const char *uri, char *out, size_t cap);

const char *trunk_reg_state_name(enum trunk_reg_state s);

#endif
