/*
 * stream: TCP and TLS connections of the edge. Accepts (within the caps on
 * connections per source and in all), frames messages by Content-Length
 * (sip_msg_frame), answers CRLFCRLF pings with CRLF (RFC 5626), closes
 * idle connections and those that keep a message or a TLS handshake
 * unfinished too long, reuses a connection for requests to the UA at
 * its far end, and opens TCP/TLS connections for messages to remotes
 * that have none. The edge owns every connection; callers only name them by
 * id.
 */
#ifndef PC_SBC_STREAM_H
#define PC_SBC_STREAM_H

#include <stdint.h>

#include "ctl_rows.h"
#include "edge.h"

struct conn;

int stream_init(struct edge *e);
void stream_on_accept(struct ev_loop *loop, int fd, uint32_t events, void *arg);
/* Sends on connection conn_id if it is open, else on a connection to
 * remote over transport tp, else connects to remote from listener l (of
 * transport tp; bound to its address) and queues the message until the
 * connection (and for TLS the handshake, checked as tls.h says) is up.
 * -1 when no connection can carry it (caps, no such listener); a
 * connection that fails later is logged and closed. */
int stream_send(struct edge *e, uint32_t conn_id, uint8_t tp,
    struct listener *l, const struct ipc_addr *remote, const void *buf,
    uint32_t len);
/* The same for a message core sent to a trunk's peer: trunk (the flow's
 * trunk name; NULL or "" = none) tells a new TLS connection which peer's
 * certificate checks apply (tls.h). */
int stream_send_trunk(struct edge *e, uint32_t conn_id, uint8_t tp,
    struct listener *l, const struct ipc_addr *remote, const char *trunk,
    const void *buf, uint32_t len);
/* Whether a connection can carry a message to that flow now. */
bool stream_exists(struct edge *e, uint32_t conn_id, uint8_t tp,
    const struct ipc_addr *remote);
/* The connection a message came on: id, TLS peer identity. */
uint32_t stream_conn_id(const struct conn *c);
const char *stream_tls_peer(const struct conn *c);
/* Closes one connection (bad framing, shutdown). */
void stream_close(struct conn *c, const char *why);
/* Closes it from the loop soon (safe while its message is handled). */
void stream_mark_close(struct conn *c);
void stream_close_all(struct edge *e);
/* One ctl row per connection. */
void stream_list(struct edge *e, struct ctl_rows *rows);
size_t stream_count(struct edge *e);

#endif
