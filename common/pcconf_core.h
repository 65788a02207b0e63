/*
 * pcconf_core: the configuration sections owned by the core component:
 * "sip" (transaction timers), "registrar", "auth", "users" (seeded into
 * the user table at first start), "proxy". Bound by pcconf_core_table
 * (pcconf_core.c) under the root table; strings and arrays belong to the
 * configuration and are freed by pcconf_free().
 */
#ifndef PC_PCCONF_CORE_H
#define PC_PCCONF_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

struct pc_core_sip {
	uint32_t t1_ms;
	uint32_t t2_ms;
	uint32_t t4_ms;
	uint32_t no_answer_s; /* timer C */
};

struct pc_core_registrar {
	uint32_t min_expires;
	uint32_t max_expires;
	uint32_t default_expires;
	uint32_t max_contacts;
};

struct pc_core_auth {
	char **algorithms; /* "SHA-256", "MD5", "SHA-512-256"; order = offer */
	size_t nalgorithms;
	char *realm; /* NULL: the request's domain */
	uint32_t nonce_ttl_s;
	bool require;
	/* Authenticated user must equal the From user (and To for REGISTER). */
	bool match_from;
};

struct pc_core_user {
	char *user;
	char *domain;
	char *password;
	char *ha1_md5;
	char *ha1_sha256;
	uint32_t max_calls; /* 0 = no limit */
};

struct pc_core_proxy {
	char **redirect_domains;
	size_t nredirect_domains;
	uint32_t unknown_domain; /* 403 or 404 */
	/* A 3xx from a branch: its Contacts are tried (RFC 3261 §16.5)
	 * instead of passing the 3xx on; at most max_redirects of them per
	 * request. */
	bool recurse_redirects;
	uint32_t max_redirects;
};

/* Trunks, dial plan, ring groups, call admission and CDRs (trunk issue). */
enum pc_core_transport { PC_CORE_TP_UDP = 0, PC_CORE_TP_TCP, PC_CORE_TP_TLS };
enum pc_core_in_auth { PC_CORE_IN_AUTH_IP = 0, PC_CORE_IN_AUTH_DIGEST };
enum pc_core_did_source { PC_CORE_DID_RURI = 0, PC_CORE_DID_TO };
enum pc_core_group_strategy { PC_CORE_RING_PARALLEL = 0, PC_CORE_RING_SERIAL };
enum pc_core_route_from {
	PC_CORE_FROM_USERS = 0,
	PC_CORE_FROM_TRUNKS,
	PC_CORE_FROM_ANY
};

struct pc_core_peer {
	char *address; /* IP literal or host name (core resolves it) */
	uint32_t port;
	int transport; /* enum pc_core_transport */
	uint32_t weight;
	/* TLS toward the peer: the name its certificate must carry (also sent
	 * as SNI); NULL = the peer's address. CA bundle; NULL = system CAs. */
	char *tls_name;
	char *tls_ca;
	bool
	    tls_verify; /* false only for lab carriers with self-signed certs */
};

struct pc_core_trunk_in {
	char **acl; /* CIDRs calls from this trunk may come from */
	size_t nacl;
	int auth; /* enum pc_core_in_auth */
	uint32_t strip; /* leading digits removed from the DID */
	char *prefix; /* prepended to the DID after strip */
};

struct pc_core_trunk_auth {
	char *username;
	char *password;
	char *realm; /* NULL = any realm the carrier challenges with */
};

struct pc_core_trunk_reg {
	bool enabled;
	uint32_t expires;
	char *aor; /* NULL = sip:username@first peer */
	uint32_t retry_s; /* first back-off after a failure */
};

struct pc_core_trunk {
	char *name;
	struct pc_core_peer *peers;
	size_t npeers;
	struct pc_core_trunk_in inbound;
	struct pc_core_trunk_auth outbound_auth;
	struct pc_core_trunk_reg reg;
	uint32_t options_interval_s; /* 0 = no probing */
	uint32_t max_calls; /* 0 = no limit */
	uint32_t max_cps; /* 0 = no limit */
	int did_source; /* enum pc_core_did_source */
	uint32_t failover_timeout_ms;
	uint32_t dns_refresh_s; /* peers by host name resolved again */
};

struct pc_core_route_match {
	char *prefix;
	char *regex; /* POSIX extended */
	char *user; /* exact user part */
	int from; /* enum pc_core_route_from */
	char *trunk; /* only calls from this trunk (from = trunks) */
};

struct pc_core_route {
	struct pc_core_route_match match;
	uint32_t priority; /* higher first; ties keep the file order */
	char *trunk;
	char *user;
	char *group;
	char *uri;
	uint32_t strip;
	char *prefix;
	char *caller_id; /* user part of From written on the way out */
	char *pai; /* P-Asserted-Identity URI added on the way out */
	bool privacy; /* Privacy: id (RFC 3325) */
};

struct pc_core_group {
	char *name;
	char **members; /* user names (or user@domain) */
	size_t nmembers;
	int strategy; /* enum pc_core_group_strategy */
	uint32_t ring_s; /* timer C of its members' branches; 0 = sip's */
};

struct pc_core_call_limits {
	uint32_t max_total; /* 0 = no limit */
	uint32_t max_per_user; /* users without their own max_calls; 0 = none */
};

struct pc_core_cdr {
	bool enabled;
	char *json_file; /* NULL = state_dir/cdr.jsonl; "" = no JSON lines */
	uint32_t keep; /* rows kept in SQLite (oldest dropped) */
};

struct pc_core_conf {
	struct pc_core_sip sip;
	struct pc_core_registrar registrar;
	struct pc_core_auth auth;
	struct pc_core_user *users;
	size_t nusers;
	struct pc_core_proxy proxy;
	struct pc_core_trunk *trunks;
	size_t ntrunks;
	struct pc_core_route *routes;
	size_t nroutes;
	struct pc_core_group *groups;
	size_t ngroups;
	struct pc_core_call_limits call_limits;
	struct pc_core_cdr cdr;
};

/* An IPv4/IPv6 literal or a syntactically valid DNS host name. */
bool pcconf_core_is_host(const char *s);

/* Keys of the root object that belong to core (bound CONF_INLINE). */
extern const struct conf_table pcconf_core_table;
/* One element of "trunks" (for trunks added live from JSON). */
extern const struct conf_table pcconf_core_trunk_table;

#endif
