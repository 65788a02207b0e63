/*
 * fwd_user: the user-space packet path. Used for every stream until the
 * kernel takes it over after latching, and for everything when nftables
 * cannot be used (the fallback). epoll readiness, recvmmsg from each ready
 * port; what is to be forwarded waits until the end of the loop turn and
 * leaves in one io_uring_enter for all ports (or one sendmmsg per port
 * where io_uring is not usable). The module owns its buffers and ring.
 */
#ifndef PC_RELAY_FWD_USER_H
#define PC_RELAY_FWD_USER_H

#include <stdbool.h>
#include <stdint.h>

struct ev_loop;
struct rsock;

/* ev_io callback of every media socket; arg is its struct rsock. */
void fwd_user_io(struct ev_loop *loop, int fd, uint32_t events, void *arg);

/*
 * Sets the path up on loop (the first fwd_user_io does it with the
 * defaults: io_uring on). use_uring false, or a kernel that refuses
 * io_uring (old, seccomp, kernel.io_uring_disabled), sends with sendmmsg
 * per port. Returns the name of the send method chosen ("io_uring" or
 * "sendmmsg"); a static string.
 */
const char *fwd_user_setup(struct ev_loop *loop, bool use_uring);
/* Sends what this loop turn queued. Must run before relay_flush() deletes
 * conntrack entries (a packet sent after it makes a new entry that keeps
 * a latched stream out of the kernel): the relay's before-sleep hook calls
 * it first; the loop hook fwd_user_setup adds covers loops without one. */
void fwd_user_flush(void);
/* Reads everything waiting at port k, forwards it at once and tells
 * the latches it completes (relay_flush(), before the conntrack deletes
 * of a stream the kernel took over). Not from inside the packet path. */
void fwd_user_drain(struct rsock *k);
/* Frees the ring and unhooks from the loop (the loop must still exist). */
void fwd_user_close(void);

#endif
