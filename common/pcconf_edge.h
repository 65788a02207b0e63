/*
 * pcconf_edge: the configuration sections owned by the edge component:
 * "limits", "topology", "nat", "scanners", "media_anchor", "performance".
 * Bound by
 * pcconf_edge_table (pcconf_edge.c) under the root table; strings and
 * arrays belong to the pc_conf they were loaded into (conf_free).
 */
#ifndef PC_PCCONF_EDGE_H
#define PC_PCCONF_EDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

/* Token buckets are per source address and method class; rates are
 * messages per second, bursts the bucket depth. */
struct pc_edge_limits {
	uint32_t invite_rate, invite_burst;
	uint32_t register_rate, register_burst;
	uint32_t other_rate, other_burst;
	uint32_t global_rate; /* all sources together, msgs/s; 0 = off */
	uint32_t retry_after_s; /* in 503s for the global cap */
	uint32_t trusted_multiplier;
	uint32_t flood_drops; /* drops within flood_window_s -> ban */
	uint32_t flood_window_s;
	uint32_t auth_fail_max; /* AUTH_FAILED within auth_fail_window_s */
	uint32_t auth_fail_window_s;
	uint32_t ban_timeout_s; /* first ban; doubles on each repeat */
	uint32_t ban_max_timeout_s;
	uint32_t max_sources; /* rate table entries */
	uint32_t max_connections;
	uint32_t max_connections_per_source;
	uint32_t idle_timeout_s; /* stream connection without traffic */
	uint32_t header_timeout_s; /* a partial message must complete */
	uint32_t max_message_size;
	uint32_t response_rate, response_burst; /* responses from a source */
};

struct pc_edge_topology {
	bool hide;
	char *key; /* 64 hex digits; overrides key_file */
	char *key_file; /* default STATE_DIR/topology.key, made at start */
	bool hide_call_id;
	uint32_t max_token_len; /* longer tokens name a table row */
};

struct pc_edge_nat {
	bool force_rport; /* add rport even when the UA did not ask */
	bool contact_alias; /* rewrite Contacts of UAs behind NAT */
	uint32_t flow_timeout_s;
};

struct pc_edge_media {
	bool enabled;
	bool drop_candidates;
};

struct pc_edge_perf {
	uint32_t batch_us; /* pause after a busy loop turn; 0 = never */
};

struct pc_edge_conf {
	struct pc_edge_limits limits;
	struct pc_edge_topology topology;
	struct pc_edge_nat nat;
	char **scanners; /* User-Agent substrings, case-insensitive */
	size_t nscanners;
	struct pc_edge_media media_anchor;
	struct pc_edge_perf performance;
};

/* Keys of the root object that belong to edge (bound CONF_INLINE). */
extern const struct conf_table pcconf_edge_table;

#endif
