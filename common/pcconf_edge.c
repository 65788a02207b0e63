/*
 * The configuration keys owned by the edge component (see pcconf_edge.h).
 * Every limit has a default that lets an office of phones behind one NAT
 * address work while a scanner is banned within seconds.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "pcconf_edge.h"

#define LIM(k, f, d, lo, hi, text) \
	{ \
		.key = k, .type = CONF_UINT, \
		.offset = offsetof(struct pc_edge_limits, f), .def = d, \
		.min = lo, .max = hi, .doc = text \
	}

static const struct conf_field limit_fields[] = {
    LIM("invite_rate", invite_rate, "5", 1, 100000,
        "INVITEs per second allowed from one source address (the per-source "
        "limits and the flood ban do not apply to trunk sources: every "
        "trunk's inbound.acl and its peers' addresses)."),
    LIM("invite_burst", invite_burst, "20", 1, 1000000,
        "Bucket depth for INVITEs from one source."),
    LIM("register_rate", register_rate, "5", 1, 100000,
        "REGISTERs per second allowed from one source address."),
    LIM("register_burst", register_burst, "20", 1, 1000000,
        "Bucket depth for REGISTERs from one source."),
    LIM("other_rate", other_rate, "50", 1, 1000000,
        "Other requests per second allowed from one source address."),
    LIM("other_burst", other_burst, "200", 1, 1000000,
        "Bucket depth for other requests from one source."),
    LIM("global_rate", global_rate, "20000", 0, 10000000,
        "Requests per second from all sources before 503 (0 = no cap); "
        "trunk sources count toward it too."),
    LIM("retry_after_s", retry_after_s, "5", 1, 3600,
        "Retry-After of the 503 sent past the global cap."),
    LIM("trusted_multiplier", trusted_multiplier, "10", 1, 1000,
        "Rate multiplier for sources that registered successfully (trunk "
        "sources have no per-source limit at all)."),
    LIM("flood_drops", flood_drops, "100", 1, 1000000,
        "Rate-limited messages within flood_window_s that ban a source "
        "(never a trunk source, which is not rate-limited)."),
    LIM("flood_window_s", flood_window_s, "10", 1, 3600,
        "Window of the flood detector."),
    LIM("auth_fail_max", auth_fail_max, "10", 1, 100000,
        "Failed authentications within auth_fail_window_s that ban."),
    LIM("auth_fail_window_s", auth_fail_window_s, "60", 1, 86400,
        "Window of the failed-authentication counter."),
    LIM("ban_timeout_s", ban_timeout_s, "300", 1, 86400 * 30,
        "Length of a first ban; it doubles on each repeat."),
    LIM("ban_max_timeout_s", ban_max_timeout_s, "86400", 1, 86400 * 365,
        "Longest ban."),
    LIM("max_sources", max_sources, "100000", 16, 10000000,
        "Source addresses tracked by the rate limiter."),
    LIM("max_connections", max_connections, "10000", 1, 1000000,
        "TCP/TLS connections in all."),
    LIM("max_connections_per_source", max_connections_per_source, "32", 1,
        1000000, "TCP/TLS connections from one address."),
    LIM("idle_timeout_s", idle_timeout_s, "600", 1, 86400,
        "A TCP/TLS connection without traffic is closed after this."),
    LIM("header_timeout_s", header_timeout_s, "10", 1, 3600,
        "A TCP/TLS connection must complete a started message (or its "
        "TLS handshake) within this."),
    LIM("max_message_size", max_message_size, "65535", 512, 65535,
        "Largest SIP message accepted, in bytes."),
    LIM("response_rate", response_rate, "100", 1, 1000000,
        "SIP responses per second allowed from one source address (stray "
        "responses flood as well as requests); not for trunk sources."),
    LIM("response_burst", response_burst, "400", 1, 1000000,
        "Bucket depth for responses from one source."),
};

static const char *
limits_check(const void *obj, char *buf, size_t cap)
{
	const struct pc_edge_limits *l = obj;
	if (l->ban_max_timeout_s < l->ban_timeout_s) {
		snprintf(buf, cap,
		    "ban_max_timeout_s (%u) is below "
		    "ban_timeout_s (%u)",
		    l->ban_max_timeout_s, l->ban_timeout_s);
		return buf;
	}
	return NULL;
}

static const struct conf_table limits_table = {
    .name = "limits",
    .fields = limit_fields,
    .nfields = sizeof limit_fields / sizeof limit_fields[0],
    .size = sizeof(struct pc_edge_limits),
    .check = limits_check,
};

static const char *
key_check(const void *field, char *buf, size_t cap)
{
	const char *k = *(char *const *)field;
	if (k == NULL)
		return NULL;
	if (strlen(k) != 64)
		return "must be 64 hexadecimal digits (a 256-bit key)";
	for (const char *p = k; *p != '\0'; p++) {
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		        (*p >= 'A' && *p <= 'F')))
			return "must be 64 hexadecimal digits (a 256-bit key)";
	}
	(void)buf;
	(void)cap;
	return NULL;
}

static const struct conf_field topo_fields[] = {
    {.key = "hide",
        .type = CONF_BOOL,
        .offset = offsetof(struct pc_edge_topology, hide),
        .def = "true",
        .doc = "Hide inside addresses and the other party from outside."},
    {.key = "key",
        .type = CONF_STR,
        .offset = offsetof(struct pc_edge_topology, key),
        .def = "null",
        .check = key_check,
        .doc = "Token key as 64 hex digits (share it between edges)."},
    {.key = "key_file",
        .type = CONF_STR,
        .offset = offsetof(struct pc_edge_topology, key_file),
        .def = "null",
        .doc = "File with the token key; default state_dir/topology.key, "
               "generated at first start."},
    {.key = "hide_call_id",
        .type = CONF_BOOL,
        .offset = offsetof(struct pc_edge_topology, hide_call_id),
        .def = "false",
        .doc = "Also replace the Call-ID by a token (a change takes "
               "effect at the edge's next start)."},
    {.key = "max_token_len",
        .type = CONF_UINT,
        .offset = offsetof(struct pc_edge_topology, max_token_len),
        .def = "768",
        .min = 64,
        .max = 8000,
        .doc = "Longest token written into a header; the hidden text of a "
               "longer one is kept in a table and the token names the row."},
};

static const struct conf_table topo_table = {
    .name = "topology",
    .fields = topo_fields,
    .nfields = sizeof topo_fields / sizeof topo_fields[0],
    .size = sizeof(struct pc_edge_topology),
};

static const struct conf_field nat_fields[] = {
    {.key = "force_rport",
        .type = CONF_BOOL,
        .offset = offsetof(struct pc_edge_nat, force_rport),
        .def = "true",
        .doc = "Answer to the source port even without ;rport."},
    {.key = "contact_alias",
        .type = CONF_BOOL,
        .offset = offsetof(struct pc_edge_nat, contact_alias),
        .def = "true",
        .doc = "Rewrite the Contact of a UA behind NAT to its source."},
    {.key = "flow_timeout_s",
        .type = CONF_UINT,
        .offset = offsetof(struct pc_edge_nat, flow_timeout_s),
        .def = "3600",
        .min = 30,
        .max = 86400,
        .doc = "How long a UDP flow is remembered without traffic."},
};

static const struct conf_table nat_table = {
    .name = "nat",
    .fields = nat_fields,
    .nfields = sizeof nat_fields / sizeof nat_fields[0],
    .size = sizeof(struct pc_edge_nat),
};

static const struct conf_field media_fields[] = {
    {.key = "enabled",
        .type = CONF_BOOL,
        .offset = offsetof(struct pc_edge_media, enabled),
        .def = "true",
        .doc = "Anchor every call's media on the relay."},
    {.key = "drop_candidates",
        .type = CONF_BOOL,
        .offset = offsetof(struct pc_edge_media, drop_candidates),
        .def = "true",
        .doc = "Remove ICE candidates from anchored SDP."},
};

static const struct conf_table media_table = {
    .name = "media_anchor",
    .fields = media_fields,
    .nfields = sizeof media_fields / sizeof media_fields[0],
    .size = sizeof(struct pc_edge_media),
};

static const struct conf_field perf_fields[] = {
    {.key = "batch_us",
        .type = CONF_UINT,
        .offset = offsetof(struct pc_edge_perf, batch_us),
        .def = "2000",
        .min = 0,
        .max = 20000,
        .doc = "Interrupt moderation: when messages arrive faster than "
               "two per this many microseconds, the edge waits this long "
               "after each loop turn, so that the next turn reads what "
               "came meanwhile in one go instead of being woken for each "
               "burst. Less CPU per message under load (a VM pays tens "
               "of microseconds per wake-up), at most this much more "
               "latency per message; light load never waits. 0 = never."},
};

static const struct conf_table perf_table = {
    .name = "performance",
    .fields = perf_fields,
    .nfields = sizeof perf_fields / sizeof perf_fields[0],
    .size = sizeof(struct pc_edge_perf),
};

static const struct conf_field fields[] = {
    {.key = "limits",
        .type = CONF_OBJECT,
        .offset = offsetof(struct pc_edge_conf, limits),
        .sub = &limits_table,
        .doc = "Rate limits, bans and connection caps of the edge."},
    {.key = "topology",
        .type = CONF_OBJECT,
        .offset = offsetof(struct pc_edge_conf, topology),
        .sub = &topo_table,
        .doc = "Topology hiding (DESIGN section 6)."},
    {.key = "nat",
        .type = CONF_OBJECT,
        .offset = offsetof(struct pc_edge_conf, nat),
        .sub = &nat_table,
        .doc = "NAT traversal of outside user agents."},
    {.key = "scanners",
        .type = CONF_STR_ARRAY,
        .offset = offsetof(struct pc_edge_conf, scanners),
        .count_offset = offsetof(struct pc_edge_conf, nscanners),
        .def = "[\"friendly-scanner\", \"sipvicious\", \"sipcli\", "
               "\"sip-scan\", \"sundayddr\", \"iWar\", "
               "\"VaxSIPUserAgent\", \"SIPScan\"]",
        .min = 0,
        .max = 256,
        .doc = "User-Agent substrings whose requests are dropped and "
               "whose sources are banned."},
    {.key = "media_anchor",
        .type = CONF_OBJECT,
        .offset = offsetof(struct pc_edge_conf, media_anchor),
        .sub = &media_table,
        .doc = "Media anchoring through the relay."},
    {.key = "performance",
        .type = CONF_OBJECT,
        .offset = offsetof(struct pc_edge_conf, performance),
        .sub = &perf_table,
        .doc = "Trade-offs of the edge between CPU and latency."},
};

const struct conf_table pcconf_edge_table = {
    .name = "edge",
    .fields = fields,
    .nfields = sizeof fields / sizeof fields[0],
    .size = sizeof(struct pc_edge_conf),
};
