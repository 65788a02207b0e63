/*
 * pcconf: the root of the Portcullis configuration (DESIGN §9): domains,
 * listeners, directories, log level and the account to run as, with the
 * sections of edge, core, relay and mgmt bound inline at the same level.
 */
#include "config.h"

#include "pcconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char *const transport_names[] = {"udp", "tcp", "tls", NULL};
static const char *const role_names[] = {"public", "trunk", NULL};

static const char *
listen_check(const void *obj, char *buf, size_t cap)
{
	const struct pc_listen *l = obj;
	if (l->transport == PC_TP_TLS &&
	    (l->tls_cert == NULL || l->tls_key == NULL)) {
		snprintf(buf, cap, "a tls listener needs tls_cert and tls_key");
		return buf;
	}
	if (l->transport != PC_TP_TLS &&
	    (l->tls_cert || l->tls_key || l->tls_ca || l->tls_verify_client)) {
		snprintf(buf, cap,
		    "tls_* keys apply only to a listener with transport "
		    "\"tls\"");
		return buf;
	}
	if (l->tls_verify_client && l->tls_ca == NULL) {
		snprintf(buf, cap, "tls_verify_client needs tls_ca");
		return buf;
	}
	return NULL;
}

#define LF(k) offsetof(struct pc_listen, k)
static const struct conf_field listen_fields[] = {
    {.key = "transport",
        .type = CONF_ENUM,
        .offset = LF(transport),
        .def = "\"udp\"",
        .enum_names = transport_names,
        .doc = "SIP transport of this listener."},
    {.key = "address",
        .type = CONF_ADDR,
        .offset = LF(address),
        .def = "\"127.0.0.1\"",
        .doc = "Local IPv4 or IPv6 address to bind."},
    {.key = "port",
        .type = CONF_UINT,
        .offset = LF(port),
        .def = "5060",
        .min = 1,
        .max = 65535,
        .doc = "Local port to bind."},
    {.key = "role",
        .type = CONF_ENUM,
        .offset = LF(role),
        .def = "\"public\"",
        .enum_names = role_names,
        .doc = "\"public\" faces phones and the Internet; \"trunk\" faces "
               "carriers (ACL-restricted, trunk limits)."},
    {.key = "advertise",
        .type = CONF_STR,
        .offset = LF(advertise),
        .def = "null",
        .doc = "Host or address written into Via, Record-Route and "
               "Contact instead of the bound address (1:1 NAT); null = "
               "the bound address."},
    {.key = "tls_cert",
        .type = CONF_STR,
        .offset = LF(tls_cert),
        .def = "null",
        .doc = "PEM certificate chain file (tls listeners)."},
    {.key = "tls_key",
        .type = CONF_STR,
        .offset = LF(tls_key),
        .def = "null",
        .doc = "PEM private key file (tls listeners)."},
    {.key = "tls_ca",
        .type = CONF_STR,
        .offset = LF(tls_ca),
        .def = "null",
        .doc = "PEM CA bundle for verifying client certificates."},
    {.key = "tls_verify_client",
        .type = CONF_BOOL,
        .offset = LF(tls_verify_client),
        .def = "false",
        .doc = "Require and verify a client certificate (mutual TLS, for "
               "trunks)."},
    {.key = "acl_allow",
        .type = CONF_CIDR_ARRAY,
        .offset = LF(acl_allow),
        .def = "[]",
        .count_offset = LF(nacl_allow),
        .doc = "Sources allowed on this listener (addresses or CIDR "
               "blocks); empty = everyone not denied."},
    {.key = "acl_deny",
        .type = CONF_CIDR_ARRAY,
        .offset = LF(acl_deny),
        .def = "[]",
        .count_offset = LF(nacl_deny),
        .doc = "Sources refused on this listener; deny wins over allow."},
    {.key = "trunk",
        .type = CONF_STR,
        .offset = LF(trunk),
        .def = "null",
        .doc = "Trunk tag given to traffic arriving on this listener."},
};
#undef LF

static const struct conf_table listen_table = {
    .name = "listen",
    .fields = listen_fields,
    .nfields = sizeof listen_fields / sizeof listen_fields[0],
    .size = sizeof(struct pc_listen),
    .check = listen_check,
};

static const char *
check_listen_unique(const void *field_ptr, char *buf, size_t cap)
{
	const struct pc_conf *c =
	    (const struct pc_conf *)(const void *)((const char *)field_ptr -
	        offsetof(struct pc_conf, listen));
	for (size_t i = 0; i < c->nlisten; i++) {
		for (size_t j = 0; j < i; j++) {
			const struct pc_listen *a = &c->listen[j];
			const struct pc_listen *b = &c->listen[i];
			if (a->transport == b->transport &&
			    a->port == b->port && a->address && b->address &&
			    strcmp(a->address, b->address) == 0) {
				snprintf(buf, cap,
				    "listen[%zu] repeats listen[%zu] (%s %s "
				    "port %u)",
				    i, j, transport_names[b->transport],
				    b->address, b->port);
				return buf;
			}
		}
	}
	return NULL;
}

static const char *
check_log_level(const void *field_ptr, char *buf, size_t cap)
{
	const char *s = *(char *const *)field_ptr;
	if (s == NULL || log_level_parse(s) < 0 ||
	    strcmp(s, log_level_name((enum log_level)log_level_parse(s))) !=
	        0) {
		snprintf(buf, cap,
		    "must be one of \"error\", \"warn\", \"info\", \"debug\"");
		return buf;
	}
	return NULL;
}

#define RF(k) offsetof(struct pc_conf, k)
static const struct conf_field root_fields[] = {
    {.key = "domains",
        .type = CONF_STR_ARRAY,
        .offset = RF(domains),
        .def = "[]",
        .count_offset = RF(ndomains),
        .doc = "SIP domains served (registrar and proxy); empty = the "
               "listen addresses and localhost."},
    {.key = "listen",
        .type = CONF_OBJ_ARRAY,
        .offset = RF(listen),
        .def = "[{\"transport\": \"udp\"}, {\"transport\": \"tcp\"}]",
        .min = 1,
        .max = 64,
        .sub = &listen_table,
        .count_offset = RF(nlisten),
        .check = check_listen_unique,
        .doc = "SIP listeners of the edge; default UDP and TCP on "
               "127.0.0.1:5060."},
    {.key = "state_dir",
        .type = CONF_STR,
        .offset = RF(state_dir),
        .def = "\"/var/lib/portcullis\"",
        .doc = "Durable state: the SQLite store, keys."},
    {.key = "runtime_dir",
        .type = CONF_STR,
        .offset = RF(runtime_dir),
        .def = "\"/run/portcullis\"",
        .doc = "Sockets between the processes and mgmt.sock."},
    {.key = "log_level",
        .type = CONF_STR,
        .offset = RF(log_level),
        .def = "\"info\"",
        .check = check_log_level,
        .doc = "One of \"error\", \"warn\", \"info\", \"debug\"."},
    {.key = "user",
        .type = CONF_STR,
        .offset = RF(user),
        .def = "\"portcullis\"",
        .doc = "Account the processes switch to after binding."},
    {.key = "group",
        .type = CONF_STR,
        .offset = RF(group),
        .def = "\"portcullis\"",
        .doc = "Group the processes switch to; members may use pcctl."},
    {.key = "edge",
        .type = CONF_INLINE,
        .offset = RF(edge),
        .sub = &pcconf_edge_table},
    {.key = "core",
        .type = CONF_INLINE,
        .offset = RF(core),
        .sub = &pcconf_core_table},
    {.key = "relay",
        .type = CONF_INLINE,
        .offset = RF(relay),
        .sub = &pcconf_relay_table},
    {.key = "mgmt",
        .type = CONF_INLINE,
        .offset = RF(mgmt),
        .sub = &pcconf_mgmt_table},
};
#undef RF

static const char *
root_check(const void *obj, char *buf, size_t cap)
{
	const struct pc_conf *c = obj;
	if (c->state_dir == NULL || c->state_dir[0] != '/' ||
	    c->runtime_dir == NULL || c->runtime_dir[0] != '/') {
		snprintf(buf, cap,
		    "state_dir and runtime_dir must be absolute "
		    "paths");
		return buf;
	}
	return NULL;
}

const struct conf_table pcconf_table = {
    .name = "portcullis",
    .fields = root_fields,
    .nfields = sizeof root_fields / sizeof root_fields[0],
    .size = sizeof(struct pc_conf),
    .check = root_check,
};

int
pcconf_load_errs(const char *path, struct pc_conf *c, struct conf_errors *errs)
{
	if (path == NULL)
		return conf_load_string(
		    "{}", 2, "(defaults)", &pcconf_table, c, errs);
	return conf_load_file(path, &pcconf_table, c, errs);
}

int
pcconf_load(const char *path, struct pc_conf *c)
{
	struct conf_errors errs;
	int rc = pcconf_load_errs(path, c, &errs);
	if (rc < 0)
		conf_errors_print(&errs, stderr);
	conf_errors_free(&errs);
	return rc;
}

void
pcconf_free(struct pc_conf *c)
{
	conf_free(&pcconf_table, c);
}

const char *
pcconf_path(const struct pc_conf *c, const char *name, char *buf, size_t cap)
{
	const char *dir = c->runtime_dir ? c->runtime_dir : "/run/portcullis";
	int n = snprintf(buf, cap, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= cap)
		return NULL;
	return buf;
}
