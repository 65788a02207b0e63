/*
 * io_uring through its three system calls, without liburing (the one
 * thing needed is to hand the kernel many small socket operations in one
 * io_uring_enter; a library dependency for that is not worth it). Only
 * short-lived requests: every one is complete when uring_submit returns,
 * so closing a socket never races a request that still holds it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/io_uring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "uring.h"

struct uring {
	int fd;
	unsigned sq_entries, cq_entries;
	unsigned *sq_head, *sq_tail, *sq_mask, *sq_array;
	unsigned *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
	unsigned tail; /* local SQ tail: queued, not yet submitted */
	unsigned queued;
	void *sq_ptr, *cq_ptr;
	size_t sq_len, cq_len, sqe_len;
};

static int
sys_setup(unsigned entries, struct io_uring_params *p)
{
	return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int
sys_enter(int fd, unsigned submit, unsigned min_complete, unsigned flags)
{
	return (int)syscall(
	    __NR_io_uring_enter, fd, submit, min_complete, flags, NULL, 0);
}

static void
unmap(struct uring *u)
{
	if (u->sqes != NULL && u->sqes != MAP_FAILED)
		munmap(u->sqes, u->sqe_len);
	if (u->cq_ptr != NULL && u->cq_ptr != MAP_FAILED &&
	    u->cq_ptr != u->sq_ptr)
		munmap(u->cq_ptr, u->cq_len);
	if (u->sq_ptr != NULL && u->sq_ptr != MAP_FAILED)
		munmap(u->sq_ptr, u->sq_len);
}

struct uring *
uring_new(unsigned entries)
{
	struct io_uring_params p;
	struct uring *u = calloc(1, sizeof(*u));
	int e;

	if (u == NULL)
		return NULL;
	/* Every request completes inside io_uring_enter: task work is only
	 * needed there (COOP_TASKRUN), one task submits (SINGLE_ISSUER), and
	 * one failing request must not stop the others (SUBMIT_ALL). Older
	 * kernels refuse the flags: retry without them. */
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL |
	    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER;
	p.cq_entries = entries * 2;
	u->fd = sys_setup(entries, &p);
	if (u->fd < 0 && errno == EINVAL) {
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_CQSIZE;
		p.cq_entries = entries * 2;
		u->fd = sys_setup(entries, &p);
	}
	if (u->fd < 0) {
		e = errno;
		free(u);
		errno = e;
		return NULL;
	}
	u->sq_entries = p.sq_entries;
	u->cq_entries = p.cq_entries;
	u->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	u->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		if (u->cq_len > u->sq_len)
			u->sq_len = u->cq_len;
		u->cq_len = u->sq_len;
	}
	u->sq_ptr = mmap(NULL, u->sq_len, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_POPULATE, u->fd, IORING_OFF_SQ_RING);
	if (u->sq_ptr == MAP_FAILED)
		goto fail;
	if (p.features & IORING_FEAT_SINGLE_MMAP)
		u->cq_ptr = u->sq_ptr;
	else
		u->cq_ptr = mmap(NULL, u->cq_len, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, u->fd, IORING_OFF_CQ_RING);
	if (u->cq_ptr == MAP_FAILED)
		goto fail;
	u->sqe_len = p.sq_entries * sizeof(struct io_uring_sqe);
	u->sqes = mmap(NULL, u->sqe_len, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_POPULATE, u->fd, IORING_OFF_SQES);
	if (u->sqes == MAP_FAILED)
		goto fail;
	u->sq_head = (unsigned *)((char *)u->sq_ptr + p.sq_off.head);
	u->sq_tail = (unsigned *)((char *)u->sq_ptr + p.sq_off.tail);
	u->sq_mask = (unsigned *)((char *)u->sq_ptr + p.sq_off.ring_mask);
	u->sq_array = (unsigned *)((char *)u->sq_ptr + p.sq_off.array);
	u->cq_head = (unsigned *)((char *)u->cq_ptr + p.cq_off.head);
	u->cq_tail = (unsigned *)((char *)u->cq_ptr + p.cq_off.tail);
	u->cq_mask = (unsigned *)((char *)u->cq_ptr + p.cq_off.ring_mask);
	u->cqes = (struct io_uring_cqe *)((char *)u->cq_ptr + p.cq_off.cqes);
	/* SQ slot i always names SQE i. */
	for (unsigned i = 0; i < u->sq_entries; i++)
		u->sq_array[i] = i;
	u->tail = *u->sq_tail;
	return u;
fail:
	e = errno;
	unmap(u);
	close(u->fd);
	free(u);
	errno = e;
	return NULL;
}

void
uring_free(struct uring *u)
{
	if (u == NULL)
		return;
	unmap(u);
	close(u->fd);
	free(u);
}

unsigned
uring_space(const struct uring *u)
{
	return u->sq_entries - u->queued;
}

static struct io_uring_sqe *
get_sqe(struct uring *u)
{
	struct io_uring_sqe *q;

	if (u->queued >= u->sq_entries)
		return NULL;
	q = &u->sqes[u->tail & *u->sq_mask];
	memset(q, 0, sizeof(*q));
	u->tail++;
	u->queued++;
	return q;
}

/* One msghdr request that never waits: with MSG_DONTWAIT a send with no
 * room fails with EAGAIN (UDP drops anyway) and a read with nothing
 * queued fails with EAGAIN instead of leaving a poll armed. */
static bool
queue_msg(
    struct uring *u, uint8_t op, int fd, const struct msghdr *m, uint64_t tag)
{
	struct io_uring_sqe *q = get_sqe(u);

	if (q == NULL)
		return false;
	q->opcode = op;
	q->fd = fd;
	q->addr = (uint64_t)(uintptr_t)m;
	q->len = 1;
	q->msg_flags = MSG_DONTWAIT;
	q->user_data = tag;
	return true;
}

bool
uring_sendmsg(struct uring *u, int fd, const struct msghdr *m, uint64_t tag)
{
	return queue_msg(u, IORING_OP_SENDMSG, fd, m, tag);
}

bool
uring_recvmsg(struct uring *u, int fd, struct msghdr *m, uint64_t tag)
{
	return queue_msg(u, IORING_OP_RECVMSG, fd, m, tag);
}

/* Takes every completion posted so far; returns how many were queued
 * requests (the cancel request's own completion, tag UINT64_MAX, only sets
 * *cancel_seen). */
static unsigned
reap(struct uring *u, uring_done_cb done, void *arg, bool *cancel_seen)
{
	unsigned head = *u->cq_head, n = 0;
	unsigned tail = __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE);

	for (; head != tail; head++) {
		struct io_uring_cqe *c = &u->cqes[head & *u->cq_mask];

		if (c->user_data == UINT64_MAX) {
			*cancel_seen = true;
			continue;
		}
		n++;
		if (done != NULL)
			done(arg, c->user_data, c->res, c->flags);
	}
	__atomic_store_n(u->cq_head, head, __ATOMIC_RELEASE);
	return n;
}

int
uring_submit(struct uring *u, uring_done_cb done, void *arg)
{
	unsigned n = u->queued, got;
	bool cancel_seen = false, cancel_sent = false;
	struct io_uring_sqe *q;
	int r;

	if (n == 0)
		return 0;
	__atomic_store_n(u->sq_tail, u->tail, __ATOMIC_RELEASE);
	u->queued = 0;
	for (unsigned sent = 0; sent < n;) {
		r = sys_enter(u->fd, n - sent, 0, 0);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r == 0)
			return -EIO; /* the kernel saw no queued request */
		if (r > 0)
			sent += (unsigned)r;
	}
	got = reap(u, done, arg, &cancel_seen);
	if (got == n)
		return (int)n;
	/* Something waits (e.g. armed a poll): cancel it and collect it, so
	 * that nothing holds a socket past this call. */
	q = get_sqe(u);
	q->opcode = IORING_OP_ASYNC_CANCEL;
	q->cancel_flags = IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL;
	q->fd = -1;
	q->user_data = UINT64_MAX;
	__atomic_store_n(u->sq_tail, u->tail, __ATOMIC_RELEASE);
	u->queued = 0;
	while (got < n || !cancel_seen) {
		r = sys_enter(
		    u->fd, cancel_sent ? 0 : 1, 1, IORING_ENTER_GETEVENTS);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r >= 0)
			cancel_sent = true;
		got += reap(u, done, arg, &cancel_seen);
	}
	return (int)n;
}
