/*
 * udp: datagram I/O of the UDP listeners. Reads in batches (recvmmsg) and
 * hands each datagram to inbound.c; sends are queued and flushed in one
 * sendmmsg per listener before the loop sleeps. Queued bytes are copied;
 * the caller keeps its buffer.
 */
#ifndef PC_SBC_UDP_H
#define PC_SBC_UDP_H

#include <stdint.h>

#include "edge.h"

void udp_on_read(struct ev_loop *loop, int fd, uint32_t events, void *arg);
/* Queues one datagram; -1 if it cannot be sent (too large, bad address). */
int udp_send(struct listener *l, const struct ipc_addr *dst, const void *buf,
    uint32_t len);
/* Flushes every queued datagram (the loop's before-sleep hook). */
void udp_flush(struct edge *e);
void udp_free(void);

#endif
