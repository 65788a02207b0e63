/*
 * listen: opens the SIP sockets of every configured listener (UDP, TCP,
 * TLS; IPv4 and IPv6; SO_REUSEPORT so several edge processes share the
 * ports) and prepares their ACLs and TLS contexts. Sockets are opened
 * before privileges are dropped. The edge owns the listener array.
 */
#ifndef PC_SBC_LISTEN_H
#define PC_SBC_LISTEN_H

#include "edge.h"
#include "slice.h"

/* Opens every listener; reports every problem and returns -1 if any. */
int listen_open_all(struct edge *e);
/* Starts reading them (after the loop exists). */
int listen_start(struct edge *e);
void listen_close_all(struct edge *e);
/* Reloads the ACLs of the listeners from e->conf (same listener list). */
int listen_reload_acls(struct edge *e);
/* The listener to send from for transport tp towards family fam, when a
 * flow does not name a usable one. */
struct listener *listen_pick(struct edge *e, uint8_t tp, uint8_t fam);
/* Is host:port one of ours (a listener address or advertised address)?
 * port 0 matches any port. */
bool listen_is_local(struct edge *e, struct slice host, uint16_t port);

#endif
