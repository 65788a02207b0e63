/*
 * The configuration keys owned by the core component (see pcconf_core.h).
 * One field table per object: defaults, bounds and documentation in one
 * place.
 */
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
};
static const struct conf_table proxy_table = {
    .name = "proxy",
    .fields = proxy_fields,
    .nfields = sizeof(proxy_fields) / sizeof(proxy_fields[0]),
    .size = sizeof(struct pc_core_proxy),
};

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
};

const struct conf_table pcconf_core_table = {
    .name = "core",
    .fields = fields,
    .nfields = sizeof(fields) / sizeof(fields[0]),
    .size = sizeof(struct pc_core_conf),
};
