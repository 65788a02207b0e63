/*
 * The configuration keys owned by the core component (see pcconf_core.h).
 * One field table per object: defaults, bounds and documentation in one
 * place.
 */
#include <arpa/inet.h>
#include <regex.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pcconf_core.h"

#define SIP_OFF(f) offsetof(struct pc_core_sip, f)
static const struct conf_field sip_fields[] = {
    {.key = "t1_ms",
        .type = CONF_UINT,
        .offset = SIP_OFF(t1_ms),
        .def = "500",
        .min = 50,
        .max = 10000,
        .doc = "RFC 3261 T1: round-trip estimate, base of the "
               "retransmission timers (ms)."},
    {.key = "t2_ms",
        .type = CONF_UINT,
        .offset = SIP_OFF(t2_ms),
        .def = "4000",
        .min = 100,
        .max = 60000,
        .doc = "RFC 3261 T2: longest retransmission interval of "
               "non-INVITE requests and INVITE responses (ms)."},
    {.key = "t4_ms",
        .type = CONF_UINT,
        .offset = SIP_OFF(t4_ms),
        .def = "5000",
        .min = 100,
        .max = 60000,
        .doc = "RFC 3261 T4: longest time a message stays in the "
               "network (ms)."},
    {.key = "no_answer_s",
        .type = CONF_UINT,
        .offset = SIP_OFF(no_answer_s),
        .def = "180",
        .min = 5,
        .max = 3600,
        .doc = "How long a forwarded INVITE may ring without a final "
               "answer before the branch is cancelled and the caller gets "
               "408 (RFC 3261 timer C, restarted by each provisional "
               "response; seconds)."},
};
static const char *
sip_check(const void *obj, char *buf, size_t cap)
{
	const struct pc_core_sip *s = obj;

	if (s->t2_ms < s->t1_ms) {
		snprintf(buf, cap, "t2_ms must not be smaller than t1_ms");
		return buf;
	}
	return NULL;
}
static const struct conf_table sip_table = {
    .name = "sip",
    .fields = sip_fields,
    .nfields = sizeof(sip_fields) / sizeof(sip_fields[0]),
    .size = sizeof(struct pc_core_sip),
    .check = sip_check,
};

#define REG_OFF(f) offsetof(struct pc_core_registrar, f)
static const struct conf_field reg_fields[] = {
    {.key = "min_expires",
        .type = CONF_UINT,
        .offset = REG_OFF(min_expires),
        .def = "60",
        .min = 1,
        .max = 86400,
        .doc = "Shortest registration accepted; shorter ones get 423 "
               "with Min-Expires (s)."},
    {.key = "max_expires",
        .type = CONF_UINT,
        .offset = REG_OFF(max_expires),
        .def = "3600",
        .min = 1,
        .max = 604800,
        .doc = "Longer registrations are shortened to this (s)."},
    {.key = "default_expires",
        .type = CONF_UINT,
        .offset = REG_OFF(default_expires),
        .def = "3600",
        .min = 1,
        .max = 604800,
        .doc = "Registration time when the REGISTER names none (s)."},
    {.key = "max_contacts",
        .type = CONF_UINT,
        .offset = REG_OFF(max_contacts),
        .def = "10",
        .min = 1,
        .max = 1000,
        .doc = "Most bindings one address-of-record may hold."},
};
static const char *
reg_check(const void *obj, char *buf, size_t cap)
{
	const struct pc_core_registrar *r = obj;

	if (r->min_expires > r->max_expires) {
		snprintf(buf, cap, "min_expires is larger than max_expires");
		return buf;
	}
	if (r->default_expires < r->min_expires ||
	    r->default_expires > r->max_expires) {
		snprintf(buf, cap,
		    "default_expires must lie between min_expires and "
		    "max_expires");
		return buf;
	}
	return NULL;
}
static const struct conf_table reg_table = {
    .name = "registrar",
    .fields = reg_fields,
    .nfields = sizeof(reg_fields) / sizeof(reg_fields[0]),
    .size = sizeof(struct pc_core_registrar),
    .check = reg_check,
};

static const char *
algs_check(const void *field_ptr, char *buf, size_t cap)
{
	char *const *v = *(char *const *const *)field_ptr;
	const size_t *n = (const size_t *)((const char *)field_ptr +
	    (offsetof(struct pc_core_auth, nalgorithms) -
	        offsetof(struct pc_core_auth, algorithms)));

	if (*n == 0) {
		snprintf(buf, cap, "at least one algorithm is needed");
		return buf;
	}
	for (size_t i = 0; i < *n; i++) {
		if (strcasecmp(v[i], "MD5") != 0 &&
		    strcasecmp(v[i], "SHA-256") != 0 &&
		    strcasecmp(v[i], "SHA-512-256") != 0) {
			snprintf(buf, cap,
			    "unknown algorithm \"%s\" (MD5, SHA-256, "
			    "SHA-512-256)",
			    v[i]);
			return buf;
		}
	}
	return NULL;
}

#define AUTH_OFF(f) offsetof(struct pc_core_auth, f)
static const struct conf_field auth_fields[] = {
    {.key = "algorithms",
        .type = CONF_STR_ARRAY,
        .offset = AUTH_OFF(algorithms),
        .def = "[\"SHA-256\",\"MD5\"]",
        .min = 1,
        .max = 3,
        .count_offset = AUTH_OFF(nalgorithms),
        .check = algs_check,
        .doc = "Digest algorithms challenged with, most preferred first "
               "(RFC 8760); leave out MD5 to disable it."},
    {.key = "realm",
        .type = CONF_STR,
        .offset = AUTH_OFF(realm),
        .def = "null",
        .doc = "Realm of the challenges; null = the domain of the "
               "request."},
    {.key = "nonce_ttl_s",
        .type = CONF_UINT,
        .offset = AUTH_OFF(nonce_ttl_s),
        .def = "300",
        .min = 10,
        .max = 86400,
        .doc = "How long a nonce is accepted before it is stale (s)."},
    {.key = "require",
        .type = CONF_BOOL,
        .offset = AUTH_OFF(require),
        .def = "true",
        .doc = "Challenge REGISTER and requests from users."},
    {.key = "match_from",
        .type = CONF_BOOL,
        .offset = AUTH_OFF(match_from),
        .def = "true",
        .doc = "The authenticated user must be the From user (and the To "
               "user of a REGISTER)."},
};
static const struct conf_table auth_table = {
    .name = "auth",
    .fields = auth_fields,
    .nfields = sizeof(auth_fields) / sizeof(auth_fields[0]),
    .size = sizeof(struct pc_core_auth),
};

static const char *
user_check(const void *obj, char *buf, size_t cap)
{
	const struct pc_core_user *u = obj;

	if (u->user == NULL || u->user[0] == '\0') {
		snprintf(buf, cap, "a user needs \"user\"");
		return buf;
	}
	if (u->password == NULL && u->ha1_md5 == NULL &&
	    u->ha1_sha256 == NULL) {
		snprintf(buf, cap,
		    "user \"%s\" needs password, ha1_md5 or ha1_sha256",
		    u->user);
		return buf;
	}
	if (u->ha1_md5 != NULL && strlen(u->ha1_md5) != 32) {
		snprintf(buf, cap, "ha1_md5 must be 32 hex digits");
		return buf;
	}
	if (u->ha1_sha256 != NULL && strlen(u->ha1_sha256) != 64) {
		snprintf(buf, cap, "ha1_sha256 must be 64 hex digits");
		return buf;
	}
	return NULL;
}
#define USER_OFF(f) offsetof(struct pc_core_user, f)
static const struct conf_field user_fields[] = {
    {.key = "user",
        .type = CONF_STR,
        .offset = USER_OFF(user),
        .def = "null",
        .doc = "User name (the user part of the AoR)."},
    {.key = "domain",
        .type = CONF_STR,
        .offset = USER_OFF(domain),
        .def = "null",
        .doc = "Domain of the AoR; null = the first configured domain."},
    {.key = "password",
        .type = CONF_STR,
        .offset = USER_OFF(password),
        .def = "null",
        .doc = "Password; only its HA1 digests are stored."},
    {.key = "ha1_md5",
        .type = CONF_STR,
        .offset = USER_OFF(ha1_md5),
        .def = "null",
        .doc = "MD5 HA1 instead of a password."},
    {.key = "ha1_sha256",
        .type = CONF_STR,
        .offset = USER_OFF(ha1_sha256),
        .def = "null",
        .doc = "SHA-256 HA1 instead of a password."},
    {.key = "max_calls",
        .type = CONF_UINT,
        .offset = USER_OFF(max_calls),
        .def = "0",
        .min = 0,
        .max = 100000,
        .doc = "Most established calls the user may place at once; 0 = "
               "no limit."},
};
static const struct conf_table user_table = {
    .name = "users[]",
    .fields = user_fields,
    .nfields = sizeof(user_fields) / sizeof(user_fields[0]),
    .size = sizeof(struct pc_core_user),
    .check = user_check,
};

#define PROXY_OFF(f) offsetof(struct pc_core_proxy, f)
static const struct conf_field proxy_fields[] = {
    {.key = "redirect_domains",
        .type = CONF_STR_ARRAY,
        .offset = PROXY_OFF(redirect_domains),
        .def = "[]",
        .min = 0,
        .max = 1024,
        .count_offset = PROXY_OFF(nredirect_domains),
        .doc = "Domains whose INVITEs are answered 302 with the "
               "registered Contacts instead of proxied."},
    {.key = "unknown_domain",
        .type = CONF_UINT,
        .offset = PROXY_OFF(unknown_domain),
        .def = "403",
        .min = 403,
        .max = 404,
        .doc = "Answer to requests for domains not served (403 or 404)."},
    {.key = "recurse_redirects",
        .type = CONF_BOOL,
        .offset = PROXY_OFF(recurse_redirects),
        .def = "true",
        .doc = "A 3xx answer from a callee's branch makes core try its "
               "Contacts itself (RFC 3261 section 16.5); false passes the "
               "3xx back to the caller."},
    {.key = "max_redirects",
        .type = CONF_UINT,
        .offset = PROXY_OFF(max_redirects),
        .def = "8",
        .min = 1,
        .max = 32,
        .doc = "Most Contacts taken from 3xx answers that one request "
               "tries (bounds redirect chains and loops)."},
};
static const struct conf_table proxy_table = {
    .name = "proxy",
    .fields = proxy_fields,
    .nfields = sizeof(proxy_fields) / sizeof(proxy_fields[0]),
    .size = sizeof(struct pc_core_proxy),
};

/* ---- trunks, dial plan, groups, call limits, CDRs --------------------- */

static const char *const tp_names[] = {"udp", "tcp", "tls", NULL};
static const char *const in_auth_names[] = {"ip", "digest", NULL};
static const char *const did_names[] = {"ruri", "to", NULL};
static const char *const strategy_names[] = {"parallel", "serial", NULL};
static const char *const from_names[] = {"users", "trunks", "any", NULL};

#define PEER_OFF(f) offsetof(struct pc_core_peer, f)
static const struct conf_field peer_fields[] = {
    {.key = "address",
        .type = CONF_STR,
        .offset = PEER_OFF(address),
        .def = "null",
        .doc = "The carrier's proxy: an IPv4 or IPv6 literal, or a host "
               "name that core resolves (every A/AAAA address becomes a "
               "peer, tried in order) at load, reload and every "
               "dns_refresh_s."},
    {.key = "port",
        .type = CONF_UINT,
        .offset = PEER_OFF(port),
        .def = "5060",
        .min = 1,
        .max = 65535,
        .doc = "Port of the peer."},
    {.key = "transport",
        .type = CONF_ENUM,
        .offset = PEER_OFF(transport),
        .def = "\"udp\"",
        .enum_names = tp_names,
        .doc = "Transport toward the peer (udp, tcp or tls; see "
               "tls_name, tls_ca and tls_verify)."},
    {.key = "weight",
        .type = CONF_UINT,
        .offset = PEER_OFF(weight),
        .def = "1",
        .min = 0,
        .max = 1000,
        .doc = "Share of new calls this peer gets first among the peers "
               "that are up; 0 = only as a fall-back."},
    {.key = "tls_name",
        .type = CONF_STR,
        .offset = PEER_OFF(tls_name),
        .def = "null",
        .doc = "Name the peer's TLS certificate must carry, also sent as "
               "SNI; null = the peer's address."},
    {.key = "tls_ca",
        .type = CONF_STR,
        .offset = PEER_OFF(tls_ca),
        .def = "null",
        .doc = "PEM file of the CAs that may sign the peer's certificate; "
               "null = the system's CA store."},
    {.key = "tls_verify",
        .type = CONF_BOOL,
        .offset = PEER_OFF(tls_verify),
        .def = "true",
        .doc = "Check the peer's certificate and name (turn off only for a "
               "lab carrier with a self-signed certificate)."},
};
bool
pcconf_core_is_host(const char *s)
{
	unsigned char b[16];

	return inet_pton(AF_INET, s, b) == 1 ||
	    inet_pton(AF_INET6, s, b) == 1 || conf_host_name_valid(s, true);
}

static const char *
peer_check(const void *obj, char *buf, size_t cap)
{
	const struct pc_core_peer *p = obj;

	if (p->address == NULL) {
		snprintf(buf, cap, "a peer needs \"address\"");
		return buf;
	}
	if (!pcconf_core_is_host(p->address)) {
		snprintf(buf, cap,
		    "peer address \"%.64s\" is neither an IP address nor a "
		    "host name",
		    p->address);
		return buf;
	}
	return NULL;
}
static const struct conf_table peer_table = {
    .name = "trunks[].peers[]",
    .fields = peer_fields,
    .nfields = sizeof(peer_fields) / sizeof(peer_fields[0]),
    .size = sizeof(struct pc_core_peer),
    .check = peer_check,
};

#define TIN_OFF(f) offsetof(struct pc_core_trunk_in, f)
static const struct conf_field tin_fields[] = {
    {.key = "acl",
        .type = CONF_CIDR_ARRAY,
        .offset = TIN_OFF(acl),
        .def = "[]",
        .min = 0,
        .max = 1024,
        .count_offset = TIN_OFF(nacl),
        .doc = "Source networks (CIDR) whose requests belong to this "
               "trunk besides its peers' addresses."},
    {.key = "auth",
        .type = CONF_ENUM,
        .offset = TIN_OFF(auth),
        .def = "\"ip\"",
        .enum_names = in_auth_names,
        .doc = "How calls from the trunk are authenticated: ip (source "
               "address or the listener's trunk tag) or digest (the "
               "carrier authenticates as a user of ours)."},
    {.key = "strip",
        .type = CONF_UINT,
        .offset = TIN_OFF(strip),
        .def = "0",
        .min = 0,
        .max = 32,
        .doc = "Leading digits removed from the DID (after E.164 "
               "normalisation)."},
    {.key = "prefix",
        .type = CONF_STR,
        .offset = TIN_OFF(prefix),
        .def = "null",
        .doc = "Prepended to the DID after strip."},
};
static const struct conf_table tin_table = {
    .name = "trunks[].inbound",
    .fields = tin_fields,
    .nfields = sizeof(tin_fields) / sizeof(tin_fields[0]),
    .size = sizeof(struct pc_core_trunk_in),
};

#define TAUTH_OFF(f) offsetof(struct pc_core_trunk_auth, f)
static const struct conf_field tauth_fields[] = {
    {.key = "username",
        .type = CONF_STR,
        .offset = TAUTH_OFF(username),
        .def = "null",
        .doc = "User name we authenticate with to the carrier (digest); "
               "null = no credentials."},
    {.key = "password",
        .type = CONF_STR,
        .offset = TAUTH_OFF(password),
        .def = "null",
        .doc = "Password for the carrier's digest challenges."},
    {.key = "realm",
        .type = CONF_STR,
        .offset = TAUTH_OFF(realm),
        .def = "null",
        .doc = "Only answer challenges of this realm; null = any."},
};
static const struct conf_table tauth_table = {
    .name = "trunks[].outbound_auth",
    .fields = tauth_fields,
    .nfields = sizeof(tauth_fields) / sizeof(tauth_fields[0]),
    .size = sizeof(struct pc_core_trunk_auth),
};

#define TREG_OFF(f) offsetof(struct pc_core_trunk_reg, f)
static const struct conf_field treg_fields[] = {
    {.key = "enabled",
        .type = CONF_BOOL,
        .offset = TREG_OFF(enabled),
        .def = "false",
        .doc = "Register to the carrier as a UAC (RFC 3261 §10)."},
    {.key = "expires",
        .type = CONF_UINT,
        .offset = TREG_OFF(expires),
        .def = "3600",
        .min = 10,
        .max = 86400,
        .doc = "Registration time asked for; refreshed before the "
               "granted time runs out (s)."},
    {.key = "aor",
        .type = CONF_STR,
        .offset = TREG_OFF(aor),
        .def = "null",
        .doc = "Address-of-record registered; null = "
               "sip:USERNAME@PEER-ADDRESS."},
    {.key = "retry_s",
        .type = CONF_UINT,
        .offset = TREG_OFF(retry_s),
        .def = "30",
        .min = 1,
        .max = 3600,
        .doc = "First wait after a failed registration; doubled on each "
               "failure up to 20 times this (s)."},
};
static const struct conf_table treg_table = {
    .name = "trunks[].register",
    .fields = treg_fields,
    .nfields = sizeof(treg_fields) / sizeof(treg_fields[0]),
    .size = sizeof(struct pc_core_trunk_reg),
};

#define TRUNK_OFF(f) offsetof(struct pc_core_trunk, f)
static const struct conf_field trunk_fields[] = {
    {.key = "name",
        .type = CONF_STR,
        .offset = TRUNK_OFF(name),
        .def = "null",
        .doc = "Name of the trunk (routes and listen[].trunk refer to "
               "it; at most 31 characters)."},
    {.key = "peers",
        .type = CONF_OBJ_ARRAY,
        .offset = TRUNK_OFF(peers),
        .def = "[]",
        .min = 0,
        .max = 32,
        .sub = &peer_table,
        .count_offset = TRUNK_OFF(npeers),
        .doc = "The carrier's proxies, tried in weighted order; the next "
               "one is tried when one fails."},
    {.key = "inbound",
        .type = CONF_OBJECT,
        .offset = TRUNK_OFF(inbound),
        .def = "{}",
        .sub = &tin_table,
        .doc = "Calls from the trunk."},
    {.key = "outbound_auth",
        .type = CONF_OBJECT,
        .offset = TRUNK_OFF(outbound_auth),
        .def = "{}",
        .sub = &tauth_table,
        .doc = "Credentials for the carrier's digest challenges."},
    {.key = "register",
        .type = CONF_OBJECT,
        .offset = TRUNK_OFF(reg),
        .def = "{}",
        .sub = &treg_table,
        .doc = "Registration to the carrier."},
    {.key = "options_interval_s",
        .type = CONF_UINT,
        .offset = TRUNK_OFF(options_interval_s),
        .def = "30",
        .min = 0,
        .max = 3600,
        .doc = "OPTIONS keep-alive probe of each peer every this many "
               "seconds (a peer that does not answer is down); 0 = off."},
    {.key = "max_calls",
        .type = CONF_UINT,
        .offset = TRUNK_OFF(max_calls),
        .def = "0",
        .min = 0,
        .max = 1000000,
        .doc = "Most concurrent calls on the trunk, both ways; beyond: "
               "503. 0 = no limit."},
    {.key = "max_cps",
        .type = CONF_UINT,
        .offset = TRUNK_OFF(max_cps),
        .def = "0",
        .min = 0,
        .max = 100000,
        .doc = "Most new calls per second on the trunk; beyond: 503. 0 = "
               "no limit."},
    {.key = "did_source",
        .type = CONF_ENUM,
        .offset = TRUNK_OFF(did_source),
        .def = "\"ruri\"",
        .enum_names = did_names,
        .doc = "Where the DID of an inbound call is read: the "
               "Request-URI user (ruri) or the To user (to)."},
    {.key = "failover_timeout_ms",
        .type = CONF_UINT,
        .offset = TRUNK_OFF(failover_timeout_ms),
        .def = "5000",
        .min = 100,
        .max = 180000,
        .doc = "A peer that has not answered an INVITE at all (not even "
               "100) within this time is given up and the next peer "
               "tried (ms)."},
    {.key = "dns_refresh_s",
        .type = CONF_UINT,
        .offset = TRUNK_OFF(dns_refresh_s),
        .def = "300",
        .min = 5,
        .max = 86400,
        .doc = "Peers given by host name are resolved again this often "
               "(s)."},
};
static const char *
trunk_check(const void *obj, char *buf, size_t cap)
{
	const struct pc_core_trunk *t = obj;

	if (t->name == NULL || t->name[0] == '\0' || strlen(t->name) > 31) {
		snprintf(
		    buf, cap, "a trunk needs a \"name\" of 1-31 characters");
		return buf;
	}
	if (t->reg.enabled &&
	    (t->outbound_auth.username == NULL || t->npeers == 0)) {
		snprintf(buf, cap,
		    "trunk \"%s\": register needs outbound_auth.username and a "
		    "peer",
		    t->name);
		return buf;
	}
	return NULL;
}
static const struct conf_table trunk_table = {
    .name = "trunks[]",
    .fields = trunk_fields,
    .nfields = sizeof(trunk_fields) / sizeof(trunk_fields[0]),
    .size = sizeof(struct pc_core_trunk),
    .check = trunk_check,
};

const struct conf_table pcconf_core_trunk_table = {
    .name = "trunks[]",
    .fields = trunk_fields,
    .nfields = sizeof(trunk_fields) / sizeof(trunk_fields[0]),
    .size = sizeof(struct pc_core_trunk),
    .check = trunk_check,
};

#define RM_OFF(f) offsetof(struct pc_core_route_match, f)
static const struct conf_field rmatch_fields[] = {
    {.key = "prefix",
        .type = CONF_STR,
        .offset = RM_OFF(prefix),
        .def = "null",
        .doc = "The dialled number (normalised) starts with this."},
    {.key = "regex",
        .type = CONF_STR,
        .offset = RM_OFF(regex),
        .def = "null",
        .doc = "The dialled number matches this POSIX extended regular "
               "expression."},
    {.key = "user",
        .type = CONF_STR,
        .offset = RM_OFF(user),
        .def = "null",
        .doc = "The Request-URI user is exactly this (any domain)."},
    {.key = "from",
        .type = CONF_ENUM,
        .offset = RM_OFF(from),
        .def = "\"users\"",
        .enum_names = from_names,
        .doc = "Whose calls the rule applies to: users (ours, outbound), "
               "trunks (inbound DIDs) or any."},
    {.key = "trunk",
        .type = CONF_STR,
        .offset = RM_OFF(trunk),
        .def = "null",
        .doc = "Only calls that came in on this trunk."},
};
static const struct conf_table rmatch_table = {
    .name = "routes[].match",
    .fields = rmatch_fields,
    .nfields = sizeof(rmatch_fields) / sizeof(rmatch_fields[0]),
    .size = sizeof(struct pc_core_route_match),
};

#define ROUTE_OFF(f) offsetof(struct pc_core_route, f)
static const struct conf_field route_fields[] = {
    {.key = "match",
        .type = CONF_OBJECT,
        .offset = ROUTE_OFF(match),
        .def = "{}",
        .sub = &rmatch_table,
        .doc = "What the rule applies to; all given conditions must hold."},
    {.key = "priority",
        .type = CONF_UINT,
        .offset = ROUTE_OFF(priority),
        .def = "100",
        .min = 0,
        .max = 1000000,
        .doc = "Rules are tried highest priority first; equal ones in "
               "file order."},
    {.key = "trunk",
        .type = CONF_STR,
        .offset = ROUTE_OFF(trunk),
        .def = "null",
        .doc = "Send the call to this trunk (several rules matching the "
               "same number give the failover order among trunks)."},
    {.key = "user",
        .type = CONF_STR,
        .offset = ROUTE_OFF(user),
        .def = "null",
        .doc = "Send the call to this registered user of ours."},
    {.key = "group",
        .type = CONF_STR,
        .offset = ROUTE_OFF(group),
        .def = "null",
        .doc = "Send the call to this ring group."},
    {.key = "uri",
        .type = CONF_STR,
        .offset = ROUTE_OFF(uri),
        .def = "null",
        .doc = "Send the call to this SIP URI (IP literal host), keeping "
               "the dialled user."},
    {.key = "strip",
        .type = CONF_UINT,
        .offset = ROUTE_OFF(strip),
        .def = "0",
        .min = 0,
        .max = 32,
        .doc = "Leading digits removed from the number on the way out."},
    {.key = "prefix",
        .type = CONF_STR,
        .offset = ROUTE_OFF(prefix),
        .def = "null",
        .doc = "Prepended to the number after strip."},
    {.key = "caller_id",
        .type = CONF_STR,
        .offset = ROUTE_OFF(caller_id),
        .def = "null",
        .doc = "User part written into the From URI on the way out."},
    {.key = "pai",
        .type = CONF_STR,
        .offset = ROUTE_OFF(pai),
        .def = "null",
        .doc = "P-Asserted-Identity URI added on the way out (RFC 3325)."},
    {.key = "privacy",
        .type = CONF_BOOL,
        .offset = ROUTE_OFF(privacy),
        .def = "false",
        .doc = "Add \"Privacy: id\" (RFC 3325) and make the From "
               "anonymous."},
};
static const char *
route_check(const void *obj, char *buf, size_t cap)
{
	const struct pc_core_route *r = obj;
	int n = (r->trunk != NULL) + (r->user != NULL) + (r->group != NULL) +
	    (r->uri != NULL);

	if (n != 1) {
		snprintf(buf, cap,
		    "a route needs exactly one of trunk, user, group, uri");
		return buf;
	}
	if (r->match.regex != NULL) {
		regex_t re;
		int e = regcomp(&re, r->match.regex, REG_EXTENDED | REG_NOSUB);
		if (e != 0) {
			char why[128];
			regerror(e, &re, why, sizeof(why));
			snprintf(buf, cap, "match.regex: %s", why);
			return buf;
		}
		regfree(&re);
	}
	if (r->uri != NULL && strncasecmp(r->uri, "sip:", 4) != 0 &&
	    strncasecmp(r->uri, "sips:", 5) != 0) {
		snprintf(buf, cap, "uri must be a sip: or sips: URI");
		return buf;
	}
	return NULL;
}
static const struct conf_table route_table = {
    .name = "routes[]",
    .fields = route_fields,
    .nfields = sizeof(route_fields) / sizeof(route_fields[0]),
    .size = sizeof(struct pc_core_route),
    .check = route_check,
};

#define GROUP_OFF(f) offsetof(struct pc_core_group, f)
static const struct conf_field group_fields[] = {
    {.key = "name",
        .type = CONF_STR,
        .offset = GROUP_OFF(name),
        .def = "null",
        .doc = "Name routes refer to."},
    {.key = "members",
        .type = CONF_STR_ARRAY,
        .offset = GROUP_OFF(members),
        .def = "[]",
        .min = 1,
        .max = 32,
        .count_offset = GROUP_OFF(nmembers),
        .doc = "Users rung (user or user@domain)."},
    {.key = "strategy",
        .type = CONF_ENUM,
        .offset = GROUP_OFF(strategy),
        .def = "\"parallel\"",
        .enum_names = strategy_names,
        .doc = "parallel: all at once; serial: one after the other in "
               "order."},
    {.key = "ring_s",
        .type = CONF_UINT,
        .offset = GROUP_OFF(ring_s),
        .def = "0",
        .min = 0,
        .max = 3600,
        .doc = "Seconds a member's phone may ring (since its last "
               "provisional response) before core CANCELs it; a serial "
               "group then rings the next member. 0: sip.no_answer_s."},
};
static const char *
group_check(const void *obj, char *buf, size_t cap)
{
	const struct pc_core_group *g = obj;

	if (g->name == NULL || g->name[0] == '\0') {
		snprintf(buf, cap, "a group needs \"name\"");
		return buf;
	}
	return NULL;
}
static const struct conf_table group_table = {
    .name = "groups[]",
    .fields = group_fields,
    .nfields = sizeof(group_fields) / sizeof(group_fields[0]),
    .size = sizeof(struct pc_core_group),
    .check = group_check,
};

#define CL_OFF(f) offsetof(struct pc_core_call_limits, f)
static const struct conf_field cl_fields[] = {
    {.key = "max_total",
        .type = CONF_UINT,
        .offset = CL_OFF(max_total),
        .def = "0",
        .min = 0,
        .max = 10000000,
        .doc = "Most concurrent calls in all; beyond: 503. 0 = no limit."},
    {.key = "max_per_user",
        .type = CONF_UINT,
        .offset = CL_OFF(max_per_user),
        .def = "0",
        .min = 0,
        .max = 100000,
        .doc = "Most concurrent calls a user places when users[].max_calls "
               "does not say; beyond: 486. 0 = no limit."},
};
static const struct conf_table cl_table = {
    .name = "call_limits",
    .fields = cl_fields,
    .nfields = sizeof(cl_fields) / sizeof(cl_fields[0]),
    .size = sizeof(struct pc_core_call_limits),
};

#define CDR_OFF(f) offsetof(struct pc_core_cdr, f)
static const struct conf_field cdr_fields[] = {
    {.key = "enabled",
        .type = CONF_BOOL,
        .offset = CDR_OFF(enabled),
        .def = "true",
        .doc = "Write one record per call attempt (INVITE)."},
    {.key = "json_file",
        .type = CONF_STR,
        .offset = CDR_OFF(json_file),
        .def = "null",
        .doc = "JSON-lines export file; null = STATE_DIR/cdr.jsonl, \"\" = "
               "none (records stay in SQLite)."},
    {.key = "keep",
        .type = CONF_UINT,
        .offset = CDR_OFF(keep),
        .def = "1000000",
        .min = 100,
        .max = 100000000,
        .doc = "Records kept in the database; the oldest are dropped."},
};
static const struct conf_table cdr_table = {
    .name = "cdr",
    .fields = cdr_fields,
    .nfields = sizeof(cdr_fields) / sizeof(cdr_fields[0]),
    .size = sizeof(struct pc_core_cdr),
};

static bool
has_name(
    const void *arr, size_t n, size_t size, size_t name_off, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		const char *s =
		    *(char *const *)((const char *)arr + i * size + name_off);
		if (s != NULL && strcmp(s, name) == 0)
			return true;
	}
	return false;
}

/* Names routes refer to must exist; trunk and group names are unique. */
static const char *
core_check(const void *obj, char *buf, size_t cap)
{
	const struct pc_core_conf *c = obj;

	for (size_t i = 0; i < c->ntrunks; i++)
		if (has_name(c->trunks, i, sizeof(*c->trunks),
		        offsetof(struct pc_core_trunk, name),
		        c->trunks[i].name)) {
			snprintf(buf, cap, "trunks: \"%s\" appears twice",
			    c->trunks[i].name);
			return buf;
		}
	for (size_t i = 0; i < c->ngroups; i++)
		if (has_name(c->groups, i, sizeof(*c->groups),
		        offsetof(struct pc_core_group, name),
		        c->groups[i].name)) {
			snprintf(buf, cap, "groups: \"%s\" appears twice",
			    c->groups[i].name);
			return buf;
		}
	for (size_t i = 0; i < c->nroutes; i++) {
		const struct pc_core_route *r = &c->routes[i];
		const char *t = r->trunk ? r->trunk : r->match.trunk;
		if (t != NULL &&
		    !has_name(c->trunks, c->ntrunks, sizeof(*c->trunks),
		        offsetof(struct pc_core_trunk, name), t)) {
			snprintf(
			    buf, cap, "routes[%zu]: no trunk \"%s\"", i, t);
			return buf;
		}
		if (r->group != NULL &&
		    !has_name(c->groups, c->ngroups, sizeof(*c->groups),
		        offsetof(struct pc_core_group, name), r->group)) {
			snprintf(buf, cap, "routes[%zu]: no group \"%s\"", i,
			    r->group);
			return buf;
		}
	}
	return NULL;
}

#define CORE_OFF(f) offsetof(struct pc_core_conf, f)
static const struct conf_field fields[] = {
    {.key = "sip",
        .type = CONF_OBJECT,
        .offset = CORE_OFF(sip),
        .def = "{}",
        .sub = &sip_table,
        .doc = "SIP transaction timers."},
    {.key = "registrar",
        .type = CONF_OBJECT,
        .offset = CORE_OFF(registrar),
        .def = "{}",
        .sub = &reg_table,
        .doc = "Registrar limits."},
    {.key = "auth",
        .type = CONF_OBJECT,
        .offset = CORE_OFF(auth),
        .def = "{}",
        .sub = &auth_table,
        .doc = "Digest authentication (RFC 7616, RFC 8760)."},
    {.key = "users",
        .type = CONF_OBJ_ARRAY,
        .offset = CORE_OFF(users),
        .def = "[]",
        .min = 0,
        .max = 100000,
        .sub = &user_table,
        .count_offset = CORE_OFF(nusers),
        .doc = "Users seeded into the user table at first start; "
               "managed with pcctl users afterwards."},
    {.key = "proxy",
        .type = CONF_OBJECT,
        .offset = CORE_OFF(proxy),
        .def = "{}",
        .sub = &proxy_table,
        .doc = "Proxy behaviour."},
    {.key = "trunks",
        .type = CONF_OBJ_ARRAY,
        .offset = CORE_OFF(trunks),
        .def = "[]",
        .min = 0,
        .max = 1024,
        .sub = &trunk_table,
        .count_offset = CORE_OFF(ntrunks),
        .doc = "Carrier SIP trunks (also added and removed live with "
               "trunks.add / trunks.remove)."},
    {.key = "routes",
        .type = CONF_OBJ_ARRAY,
        .offset = CORE_OFF(routes),
        .def = "[]",
        .min = 0,
        .max = 100000,
        .sub = &route_table,
        .count_offset = CORE_OFF(nroutes),
        .doc = "Dial plan: rules sending calls to trunks, users, groups "
               "or URIs."},
    {.key = "groups",
        .type = CONF_OBJ_ARRAY,
        .offset = CORE_OFF(groups),
        .def = "[]",
        .min = 0,
        .max = 10000,
        .sub = &group_table,
        .count_offset = CORE_OFF(ngroups),
        .doc = "Ring groups."},
    {.key = "call_limits",
        .type = CONF_OBJECT,
        .offset = CORE_OFF(call_limits),
        .def = "{}",
        .sub = &cl_table,
        .doc = "Call admission control (per-trunk limits are in "
               "trunks[])."},
    {.key = "cdr",
        .type = CONF_OBJECT,
        .offset = CORE_OFF(cdr),
        .def = "{}",
        .sub = &cdr_table,
        .doc = "Call detail records."},
};

const struct conf_table pcconf_core_table = {
    .name = "core",
    .fields = fields,
    .nfields = sizeof(fields) / sizeof(fields[0]),
    .size = sizeof(struct pc_core_conf),
    .check = core_check,
};
