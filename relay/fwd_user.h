/*
 * fwd_user: the user-space packet path. Used for every stream until the
 * kernel takes it over after latching, and for everything when nftables
 * cannot be used (the fallback). epoll readiness, then recvmmsg from the
 * ready port and sendmmsg out of the port facing the other party.
 */
#ifndef PC_RELAY_FWD_USER_H
#define PC_RELAY_FWD_USER_H

#include <stdint.h>

struct ev_loop;

/* ev_io callback of every media socket; arg is its struct rsock. */
void fwd_user_io(struct ev_loop *loop, int fd, uint32_t events, void *arg);

#endif
