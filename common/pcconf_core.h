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
};

struct pc_core_conf {
	struct pc_core_sip sip;
	struct pc_core_registrar registrar;
	struct pc_core_auth auth;
	struct pc_core_user *users;
	size_t nusers;
	struct pc_core_proxy proxy;
};

/* Keys of the root object that belong to core (bound CONF_INLINE). */
extern const struct conf_table pcconf_core_table;

#endif
