/*
 * nlq: reading the netlink replies a batch left queued on its socket. The
 * kernel handles nftables and ctnetlink messages inside sendmsg(), so by
 * the time the send returns every ack, error and answer is waiting; this
 * drains them 64 datagrams per recvmmsg() and hands each message to the
 * caller. The messages live in a static buffer until the callback returns.
 */
#ifndef PC_RELAY_NLQ_H
#define PC_RELAY_NLQ_H

#include <linux/netlink.h>

typedef void (*nlq_cb)(const struct nlmsghdr *h, void *arg);

/* Returns 0, or the errno with which recvmmsg() failed (other than
 * EAGAIN/EINTR: nothing left). */
int nlq_drain(int fd, nlq_cb cb, void *arg);

#endif
