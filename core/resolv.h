/*
 * resolv: host-name lookups off the event loop. One worker thread runs
 * the system resolver (getaddrinfo: /etc/hosts, then DNS as nsswitch
 * says) and hands results back through an eventfd the loop watches, so
 * callbacks run on the loop's thread. The module copies the host names
 * it is given; the address array a callback gets is only valid during
 * the call.
 */
#ifndef PC_RESOLV_H
#define PC_RESOLV_H

#include <stdint.h>

#include "ev.h"
#include "ipc_msgs.h"

#define RESOLV_MAX_ADDRS 16

struct resolv;

/* err: 0, or a gai_strerror() text's code (EAI_*); addrs carry port 0. */
typedef void (*resolv_cb)(void *arg, uint64_t cookie, const char *host, int err,
    const struct ipc_addr *addrs, int naddrs);

/* NULL on failure. The worker thread starts with the first lookup. */
struct resolv *resolv_new(struct ev_loop *loop);
/* Waits for a lookup in progress; callbacks of pending ones never run. */
void resolv_free(struct resolv *r);
/* Queues a lookup; cb(arg, cookie, ...) runs later from the loop. 0 or
 * -1 (out of memory, too many queued, thread not started). */
int resolv_lookup(struct resolv *r, const char *host, uint64_t cookie,
    resolv_cb cb, void *arg);
/* Lookups queued or running. */
int resolv_pending(const struct resolv *r);

#endif
