/*
 * pcconf: the Portcullis configuration (/etc/portcullis/portcullis.json,
 * DESIGN §9). Every process loads the same file with pcconf_load(). Each
 * section has its own header and field table, owned by the component that
 * uses it; this file binds them under one root. `{}` is a complete,
 * working loopback configuration.
 */
#ifndef PC_PCCONF_H
#define PC_PCCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "pcconf_core.h"
#include "pcconf_edge.h"
#include "pcconf_mgmt.h"
#include "pcconf_relay.h"

#define PC_DEFAULT_CONFIG PC_SYSCONFDIR "/portcullis/portcullis.json"

enum pc_transport { PC_TP_UDP = 0, PC_TP_TCP, PC_TP_TLS };
enum pc_role { PC_ROLE_PUBLIC = 0, PC_ROLE_TRUNK };

/* One more certificate of a TLS listener, served to clients that ask for
 * server_name by SNI ("*.example.com" matches one leading label). */
struct pc_listen_sni {
	char *server_name;
	char *cert;
	char *key;
};

struct pc_listen {
	int transport; /* enum pc_transport */
	char *address;
	uint32_t port;
	int role; /* enum pc_role */
	/* Address written into Via/Record-Route/Contact when it differs from
	 * the bound one (e.g. a public address in front of 1:1 NAT). */
	char *advertise;
	char *tls_cert;
	char *tls_key;
	char *tls_ca;
	bool tls_verify_client;
	struct pc_listen_sni *tls_sni; /* by SNI; others get tls_cert */
	size_t ntls_sni;
	char **acl_allow;
	size_t nacl_allow;
	char **acl_deny;
	size_t nacl_deny;
	char *trunk; /* trunk tag given to traffic from this listener */
};

struct pc_conf {
	char **domains;
	size_t ndomains;
	struct pc_listen *listen;
	size_t nlisten;
	char *state_dir;
	char *runtime_dir;
	char *log_level;
	char *user; /* account to drop privileges to */
	char *group;

	struct pc_edge_conf edge;
	struct pc_core_conf core;
	struct pc_relay_conf relay;
	struct pc_mgmt_conf mgmt;
};

extern const struct conf_table pcconf_table;

/* Loads and validates; on failure prints every error to stderr in the
 * "file:line:column: key: problem" form and returns -1. path NULL = an
 * empty configuration ({}). */
int pcconf_load(const char *path, struct pc_conf *c);
/* Same, collecting errors instead of printing. */
int pcconf_load_errs(
    const char *path, struct pc_conf *c, struct conf_errors *errs);
void pcconf_free(struct pc_conf *c);
/* Whether s is usable as a tls_sni server_name (a host name, optionally
 * "*." and a host name). */
bool pcconf_sni_name_valid(const char *s);

/* Socket paths under runtime_dir (static buffer per call site is not
 * used: the caller provides the buffer). */
const char *pcconf_path(
    const struct pc_conf *c, const char *name, char *buf, size_t cap);

#endif
