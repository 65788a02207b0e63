/*
 * route: what core serves and where it is. The domains it is responsible
 * for (no open relay), its own addresses (every listener's address and
 * advertised address with its port) so Route entries it wrote are popped
 * and requests "for us" are recognised, redirect-mode domains, and the
 * Via / Record-Route text of each listener. Built from the configuration;
 * returned strings are written into caller buffers.
 */
#ifndef PC_ROUTE_H
#define PC_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcconf.h"
#include "slice.h"

struct route;

struct route *route_new(const struct pc_conf *conf);
void route_free(struct route *r);

/* A domain we serve (configured, or by default the listen addresses and
 * "localhost"); case-insensitive. */
bool route_is_domain(const struct route *r, struct slice host);
/* One of our addresses (listen address or advertise, or a served domain
 * name) with a port we listen on; port 0 = the default port. */
bool route_is_me(const struct route *r, struct slice host, uint16_t port);
bool route_is_redirect(const struct route *r, struct slice domain);

size_t route_nlisteners(const struct route *r);
/* "SIP/2.0/UDP 192.0.2.1:5060" of listener idx (0 when out of range). */
int route_via(const struct route *r, uint16_t listener, char *buf, size_t cap);
/* "<sip:192.0.2.1:5060;transport=tcp;lr>" of listener idx. */
int route_rr(const struct route *r, uint16_t listener, char *buf, size_t cap);
/* The listener index to send from for a transport (first match, else 0). */
uint16_t route_listener_for(const struct route *r, uint8_t ipc_transport);
/* A listener of role trunk for the transport, else route_listener_for. */
uint16_t route_listener_trunk(const struct route *r, uint8_t ipc_transport);
/* "host:port" (advertised address) of listener idx. */
int route_hostport(
    const struct route *r, uint16_t listener, char *buf, size_t cap);
/* The first served domain (for users without one). */
const char *route_first_domain(const struct route *r);

#endif
