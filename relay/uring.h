/*
 * uring: a minimal io_uring (raw system calls, no liburing) used as a
 * system-call batcher. The caller queues socket operations that finish at
 * once (MSG_DONTWAIT), then uring_submit runs them all in one
 * io_uring_enter and returns only when every one has completed, so no
 * request, and no reference to a socket, outlives the call. The ring owns
 * its mappings; the caller owns every buffer and msghdr it queues, which
 * must stay valid until uring_submit returns.
 */
#ifndef PC_RELAY_URING_H
#define PC_RELAY_URING_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct uring;

/* Completion of one queued request: res as the system call would return
 * it (bytes, or -errno); flags are the completion's IORING_CQE_F_*. */
typedef void (*uring_done_cb)(void *arg, uint64_t tag, int res, uint32_t flags);

/* A ring for up to entries queued requests, or NULL with errno (ENOSYS on
 * an old kernel, EPERM under seccomp or kernel.io_uring_disabled). */
struct uring *uring_new(unsigned entries);
void uring_free(struct uring *u);

/* Requests that can still be queued before uring_submit. */
unsigned uring_space(const struct uring *u);
/* Queues sendmsg(fd, m, MSG_DONTWAIT); false when the ring is full. */
bool uring_sendmsg(
    struct uring *u, int fd, const struct msghdr *m, uint64_t tag);
/* Queues recvmsg(fd, m, MSG_DONTWAIT) of one datagram; false when full. */
bool uring_recvmsg(struct uring *u, int fd, struct msghdr *m, uint64_t tag);

/*
 * Submits what is queued and waits for all of it; done (may be NULL) sees
 * each completion. A request that did not finish at once (it should not
 * with MSG_DONTWAIT) is cancelled and waited for. Returns how many
 * completed, or -errno if the ring failed (it must then be freed).
 */
int uring_submit(struct uring *u, uring_done_cb done, void *arg);

#endif
