/*
 * cidr: an address block ("192.0.2.0/24", "2001:db8::/32", or an address
 * alone: its full length), parsed once and then matched against source
 * addresses: the edge's listener ACLs and trunk sources, core's trunk
 * inbound ACLs. Plain values; nothing to free.
 */
#ifndef PC_CIDR_H
#define PC_CIDR_H

#include <stdbool.h>
#include <stdint.h>

#include "ipc_msgs.h"

struct cidr {
	uint8_t family; /* 4 or 6 */
	uint8_t prefix;
	uint8_t addr[16]; /* host bits cleared */
};

/* 0, or -1 when text is not an address or block of either family. */
int cidr_parse(const char *text, struct cidr *out);
/* a lies in c (same family; an IPv4-mapped IPv6 address is IPv6 here). */
bool cidr_holds(const struct cidr *c, const struct ipc_addr *a);

#endif
