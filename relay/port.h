/*
 * port: the relay's media ports. Allocates even/odd pairs (RTP even, RTCP
 * odd) from the configured range, round robin so a freed pair is not
 * reused at once, and binds the UDP sockets that keep them reserved. The
 * pool owns only its bitmap; sockets belong to the caller.
 */
#ifndef PC_RELAY_PORT_H
#define PC_RELAY_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include "ipc_msgs.h"

struct port_pool {
	uint16_t lo, hi; /* lo even; pairs [lo, lo+1] .. */
	uint32_t npairs;
	uint32_t nfree;
	uint32_t next; /* next pair index to try */
	uint8_t *is_used; /* per pair */
};

/* false if the range holds no whole even/odd pair. */
bool port_pool_init(struct port_pool *p, uint16_t lo, uint16_t hi);
void port_pool_free(struct port_pool *p);
/* Even RTP port of a free pair, or 0 when the range is exhausted. */
uint16_t port_alloc(struct port_pool *p);
/*
 * The RTP port (a multiple of 4) of a free pair whose partner, port ^ 2,
 * is free too, or 0 if the range has no such quad. Only the first pair
 * is marked used; the caller takes the partner with port_take() (a
 * stream's two legs at ports p and p ^ 2 need no SNAT map element: the
 * kernel derives the port, see nft.h).
 */
uint16_t port_alloc_quad(struct port_pool *p);
/* Marks a given pair used (restart recovery); false if out of range or
 * already used. */
bool port_take(struct port_pool *p, uint16_t rtp);
void port_release(struct port_pool *p, uint16_t rtp);
bool port_in_range(const struct port_pool *p, uint16_t port);

/* A non-blocking UDP socket bound to addr:port (port from the argument),
 * or -1 with errno. */
int port_bind(const struct ipc_addr *addr, uint16_t port);

#endif
