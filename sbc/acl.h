/*
 * acl: per-listener allow/deny lists of CIDR prefixes (config
 * listen[].acl_allow / acl_deny). A deny match refuses; a non-empty allow
 * list refuses everything it does not match. IPv4-mapped IPv6 sources
 * match IPv4 rules. The acl owns its rule arrays (acl_free); the
 * caller frees the array acl_trunk_rules returns.
 */
#ifndef PC_SBC_ACL_H
#define PC_SBC_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "ipc_msgs.h"
#include "pcconf.h"

struct acl {
	struct cidr *allow, *deny;
	size_t nallow, ndeny;
};

/* Builds from config strings; -1 with the bad entry named in err. */
int acl_init(struct acl *a, char *const *allow, size_t nallow,
    char *const *deny, size_t ndeny, char *err, size_t errlen);
void acl_free(struct acl *a);
/* cidr_holds after acl_addr_normalise of src. */
bool acl_rule_match(const struct cidr *r, const struct ipc_addr *src);
bool acl_permits(const struct acl *a, const struct ipc_addr *src);
/* The configured trunks' sources: every inbound.acl CIDR and every peer
 * address that is an IP literal (host names are core's to resolve). An
 * entry that does not parse is skipped (core's own config check names it).
 * -1 = no memory. */
int acl_trunk_rules(
    const struct pc_core_conf *cc, struct cidr **out, size_t *nout);
/* Maps ::ffff:a.b.c.d to a.b.c.d (dual-stack sockets report those). */
void acl_addr_normalise(struct ipc_addr *a);

#endif
