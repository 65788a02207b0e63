/*
 * mgmt_sock: the management socket (RUNTIME_DIR/mgmt.sock): a Unix stream
 * listener, one JSON request per line in, one response per line out.
 * Peers are checked with SO_PEERCRED (root, our own user, or members of
 * the management group); clients and request size are bounded. One
 * request per client runs at a time; pipelined lines wait their turn.
 */
#ifndef PC_MGMT_SOCK_H
#define PC_MGMT_SOCK_H

#include <stdint.h>
#include <sys/types.h>

#include "commands.h"

struct mgmt_sock_cfg {
	const char *path;
	int mode; /* file mode of the socket */
	gid_t gid; /* management group, or (gid_t)-1 for none */
	uint32_t max_clients;
	uint32_t max_request_bytes;
	uint32_t idle_timeout_ms; /* no complete request for this long */
};

struct mgmt_sock;

/* NULL with a message logged on failure. */
struct mgmt_sock *mgmt_sock_new(
    struct ev_loop *loop, struct cmd_ctx *x, const struct mgmt_sock_cfg *cfg);
/* Closes every client and removes the socket file. */
void mgmt_sock_free(struct mgmt_sock *m);

#endif
