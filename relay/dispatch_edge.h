/*
 * dispatch_edge: the relay.sock server. Edges (and portcullisd, and the
 * relayctl tool) connect; each request (MEDIA_*, BAN_*, CAPTURE_*) gets
 * one reply with the same header id. MEDIA_TIMEOUT goes to every peer.
 * The server owns its channels.
 */
#ifndef PC_RELAY_DISPATCH_EDGE_H
#define PC_RELAY_DISPATCH_EDGE_H

#include <stddef.h>

struct relay_app;
struct edge_srv;

struct edge_srv *dispatch_edge_listen(
    struct relay_app *a, const char *path, char *err, size_t errlen);
void dispatch_edge_free(struct edge_srv *e);
/* Sends the replies of this loop iteration (the before-sleep hook, after
 * relay_flush() committed what they answer). */
void dispatch_edge_flush(struct edge_srv *e);
/* Peers connected now. */
size_t dispatch_edge_peers(const struct edge_srv *e);

#endif
