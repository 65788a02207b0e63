/*
 * ev: epoll loop, signalfd, and a hierarchical timer wheel.
 *
 * Descriptors live in a table indexed by fd with a generation number that
 * epoll carries back in its event data, so an fd deleted (or deleted and
 * re-added) inside a callback never sees stale events of the same batch.
 *
 * Timers: five wheels as in the classic BSD/Linux design: 256 slots of
 * 1 ms, then four levels of 64 slots each covering 256 ms, 16 s, 17 min
 * and 18 h per slot, so any delay up to 2^32 ms (49 days; longer delays
 * are clamped) is placed in O(1) and moved down at most four times.
 * Starting and stopping a timer is O(1), which transactions need at 10k+
 * timers per second. Callbacks may start or stop any timer, including
 * the one that is firing.
 */
#include "config.h"

#include "ev.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define TV1_BITS 8
#define TVN_BITS 6
#define TV1_SIZE (1u << TV1_BITS)
#define TVN_SIZE (1u << TVN_BITS)
#define TV1_MASK (TV1_SIZE - 1)
#define TVN_MASK (TVN_SIZE - 1)
#define TV_LEVELS 4 /* above the first */
#define MAX_BATCH 128
#define MAX_DELAY_MS 0xffffffffULL

struct ev_fd {
	ev_io_cb cb;
	void *arg;
	uint32_t events;
	uint32_t gen;
	bool is_active;
};

struct ev_loop {
	int epfd;
	bool is_stopped;

	struct ev_fd *fds;
	size_t nfds;

	int sigfd;
	sigset_t sigmask;
	ev_signal_cb sig_cb[_NSIG];
	void *sig_arg[_NSIG];

	ev_hook_cb before_sleep;
	void *before_sleep_arg;
	struct {
		ev_hook_cb cb;
		void *arg;
	} defer[EV_MAX_DEFER];
	size_t ndefer;

	ev_clock_fn clock;
	void *clock_arg;
	uint64_t now;

	uint32_t pause_us;
	unsigned work; /* messages since the last pause decision */
	uint64_t work_ns; /* when that decision was made */

	/* The next tick the wheel will process; timers due at or before
	 * it are in tv1. */
	uint64_t wheel_now;
	size_t ntimers;
	struct ev_timer tv1[TV1_SIZE];
	struct ev_timer tvn[TV_LEVELS][TVN_SIZE];
};

static uint64_t
mono_ms(void *arg)
{
	(void)arg;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
list_init(struct ev_timer *head)
{
	head->next = head->prev = head;
}

static bool
list_empty(const struct ev_timer *head)
{
	return head->next == head;
}

static void
list_add_tail(struct ev_timer *head, struct ev_timer *t)
{
	t->prev = head->prev;
	t->next = head;
	head->prev->next = t;
	head->prev = t;
}

static void
list_del(struct ev_timer *t)
{
	t->prev->next = t->next;
	t->next->prev = t->prev;
	t->next = t->prev = NULL;
}

/* Moves every element of from onto the (empty) list to. */
static void
list_splice(struct ev_timer *from, struct ev_timer *to)
{
	if (list_empty(from)) {
		list_init(to);
		return;
	}
	to->next = from->next;
	to->prev = from->prev;
	to->next->prev = to;
	to->prev->next = to;
	list_init(from);
}

struct ev_loop *
ev_loop_new(void)
{
	struct ev_loop *l = calloc(1, sizeof *l);
	if (l == NULL)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	l->sigfd = -1;
	sigemptyset(&l->sigmask);
	l->clock = mono_ms;
	l->now = mono_ms(NULL);
	l->wheel_now = l->now;
	for (size_t i = 0; i < TV1_SIZE; i++)
		list_init(&l->tv1[i]);
	for (size_t k = 0; k < TV_LEVELS; k++)
		for (size_t i = 0; i < TVN_SIZE; i++)
			list_init(&l->tvn[k][i]);
	return l;
}

void
ev_loop_free(struct ev_loop *loop)
{
	if (loop == NULL)
		return;
	/* Timers still armed belong to their owners; detach them so a later
	 * ev_timer_stop() on them is harmless. */
	for (size_t i = 0; i < TV1_SIZE; i++)
		while (!list_empty(&loop->tv1[i])) {
			struct ev_timer *t = loop->tv1[i].next;
			list_del(t);
			t->is_active = false;
		}
	for (size_t k = 0; k < TV_LEVELS; k++)
		for (size_t i = 0; i < TVN_SIZE; i++)
			while (!list_empty(&loop->tvn[k][i])) {
				struct ev_timer *t = loop->tvn[k][i].next;
				list_del(t);
				t->is_active = false;
			}
	if (loop->sigfd >= 0) {
		close(loop->sigfd);
		sigprocmask(SIG_UNBLOCK, &loop->sigmask, NULL);
	}
	close(loop->epfd);
	free(loop->fds);
	free(loop);
}

void
ev_stop(struct ev_loop *loop)
{
	loop->is_stopped = true;
}

/* ---- descriptors ---- */

static uint32_t
to_epoll(uint32_t ev)
{
	uint32_t e = 0;
	if (ev & EV_READ)
		e |= EPOLLIN;
	if (ev & EV_WRITE)
		e |= EPOLLOUT;
	return e;
}

static int
fd_slot_reserve(struct ev_loop *loop, int fd)
{
	if ((size_t)fd < loop->nfds)
		return 0;
	size_t n = loop->nfds ? loop->nfds : 64;
	while (n <= (size_t)fd)
		n *= 2;
	struct ev_fd *nf = realloc(loop->fds, n * sizeof *nf);
	if (nf == NULL)
		return -1;
	memset(nf + loop->nfds, 0, (n - loop->nfds) * sizeof *nf);
	loop->fds = nf;
	loop->nfds = n;
	return 0;
}

int
ev_io_add(struct ev_loop *loop, int fd, uint32_t events, ev_io_cb cb, void *arg)
{
	if (fd < 0 || cb == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (fd_slot_reserve(loop, fd) < 0)
		return -1;
	struct ev_fd *s = &loop->fds[fd];
	if (s->is_active) {
		errno = EEXIST;
		return -1;
	}
	s->gen++;
	struct epoll_event ee = {.events = to_epoll(events),
	    .data.u64 = (uint64_t)s->gen << 32 | (uint32_t)fd};
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ee) < 0)
		return -1;
	s->cb = cb;
	s->arg = arg;
	s->events = events;
	s->is_active = true;
	return 0;
}

int
ev_io_mod(struct ev_loop *loop, int fd, uint32_t events)
{
	if (fd < 0 || (size_t)fd >= loop->nfds || !loop->fds[fd].is_active) {
		errno = ENOENT;
		return -1;
	}
	struct ev_fd *s = &loop->fds[fd];
	if (s->events == events)
		return 0;
	struct epoll_event ee = {.events = to_epoll(events),
	    .data.u64 = (uint64_t)s->gen << 32 | (uint32_t)fd};
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ee) < 0)
		return -1;
	s->events = events;
	return 0;
}

int
ev_io_del(struct ev_loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->nfds || !loop->fds[fd].is_active) {
		errno = ENOENT;
		return -1;
	}
	struct ev_fd *s = &loop->fds[fd];
	s->is_active = false;
	s->cb = NULL;
	s->arg = NULL;
	/* Bumping the generation makes pending events of this batch stale. */
	s->gen++;
	/* The fd may already be closed, which removed it from epoll. */
	if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 &&
	    errno != EBADF && errno != ENOENT)
		return -1;
	return 0;
}

/* ---- timers ---- */

static void
timer_place(struct ev_loop *loop, struct ev_timer *t)
{
	uint64_t exp = t->expires_ms;
	uint64_t base = loop->wheel_now;
	struct ev_timer *head;

	if (exp < base) {
		head = &loop->tv1[base & TV1_MASK];
	} else {
		uint64_t d = exp - base;
		if (d < TV1_SIZE) {
			head = &loop->tv1[exp & TV1_MASK];
		} else if (d < 1ULL << (TV1_BITS + TVN_BITS)) {
			head = &loop->tvn[0][(exp >> TV1_BITS) & TVN_MASK];
		} else if (d < 1ULL << (TV1_BITS + 2 * TVN_BITS)) {
			head = &loop->tvn[1][(exp >> (TV1_BITS + TVN_BITS)) &
			    TVN_MASK];
		} else if (d < 1ULL << (TV1_BITS + 3 * TVN_BITS)) {
			head =
			    &loop->tvn[2][(exp >> (TV1_BITS + 2 * TVN_BITS)) &
			        TVN_MASK];
		} else {
			if (d > MAX_DELAY_MS) {
				exp = base + MAX_DELAY_MS;
				t->expires_ms = exp;
			}
			head =
			    &loop->tvn[3][(exp >> (TV1_BITS + 3 * TVN_BITS)) &
			        TVN_MASK];
		}
	}
	list_add_tail(head, t);
}

void
ev_timer_init(struct ev_timer *t, ev_timer_cb cb, void *arg)
{
	t->next = t->prev = NULL;
	t->expires_ms = 0;
	t->cb = cb;
	t->arg = arg;
	t->is_active = false;
}

void
ev_timer_start(struct ev_loop *loop, struct ev_timer *t, uint64_t after_ms)
{
	if (t->is_active) {
		list_del(t);
		loop->ntimers--;
	}
	if (after_ms > MAX_DELAY_MS)
		after_ms = MAX_DELAY_MS;
	t->expires_ms = loop->now + after_ms;
	t->is_active = true;
	loop->ntimers++;
	timer_place(loop, t);
}

void
ev_timer_stop(struct ev_loop *loop, struct ev_timer *t)
{
	if (!t->is_active)
		return;
	list_del(t);
	t->is_active = false;
	loop->ntimers--;
}

/* Re-places every timer of one upper-level slot; returns the slot index. */
static size_t
cascade(struct ev_loop *loop, size_t level, size_t idx)
{
	struct ev_timer tmp;
	list_splice(&loop->tvn[level][idx], &tmp);
	while (!list_empty(&tmp)) {
		struct ev_timer *t = tmp.next;
		list_del(t);
		timer_place(loop, t);
	}
	return idx;
}

void
ev_run_timers(struct ev_loop *loop)
{
	loop->now = loop->clock(loop->clock_arg);
	uint64_t now = loop->now;

	while (loop->wheel_now <= now) {
		if (loop->ntimers == 0) {
			/* Nothing to move or fire: jump ahead. */
			loop->wheel_now = now + 1;
			break;
		}
		uint64_t w = loop->wheel_now;
		size_t idx = w & TV1_MASK;
		if (idx == 0) {
			size_t shift = TV1_BITS;
			for (size_t k = 0; k < TV_LEVELS; k++) {
				size_t j = (w >> shift) & TVN_MASK;
				cascade(loop, k, j);
				if (j != 0)
					break;
				shift += TVN_BITS;
			}
		}
		struct ev_timer due;
		list_splice(&loop->tv1[idx], &due);
		loop->wheel_now = w + 1;
		while (!list_empty(&due)) {
			struct ev_timer *t = due.next;
			list_del(t);
			t->is_active = false;
			loop->ntimers--;
			/* The callback may stop other timers of `due`: they are
			 * unlinked from it by ev_timer_stop(). */
			t->cb(loop, t, t->arg);
		}
	}
}

/* Milliseconds until the next timer may be due, or -1 if none. Scans the
 * first wheel only; past it, wakes at the next cascade. */
static int
timer_wait_ms(struct ev_loop *loop)
{
	if (loop->ntimers == 0)
		return -1;
	uint64_t w = loop->wheel_now;
	if (w <= loop->now)
		return 0;
	for (uint64_t i = 0; i < TV1_SIZE; i++) {
		uint64_t tick = w + i;
		if (!list_empty(&loop->tv1[tick & TV1_MASK]))
			return (int)(tick - loop->now);
		if (i > 0 && (tick & TV1_MASK) == 0)
			return (int)(tick - loop->now);
	}
	return (int)(w + TV1_SIZE - loop->now);
}

/* ---- signals ---- */

static void
signal_read_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	(void)events;
	(void)arg;
	struct signalfd_siginfo si;
	for (int i = 0; i < 64; i++) {
		ssize_t n = read(fd, &si, sizeof si);
		if (n != (ssize_t)sizeof si)
			return;
		int signo = (int)si.ssi_signo;
		if (signo > 0 && signo < _NSIG && loop->sig_cb[signo] != NULL)
			loop->sig_cb[signo](loop, signo, loop->sig_arg[signo]);
	}
}

int
ev_signal_add(struct ev_loop *loop, int signo, ev_signal_cb cb, void *arg)
{
	if (signo <= 0 || signo >= _NSIG || cb == NULL) {
		errno = EINVAL;
		return -1;
	}
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, signo);
	if (sigprocmask(SIG_BLOCK, &one, NULL) < 0)
		return -1;
	sigaddset(&loop->sigmask, signo);
	int fd =
	    signalfd(loop->sigfd, &loop->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (loop->sigfd < 0) {
		loop->sigfd = fd;
		if (ev_io_add(loop, fd, EV_READ, signal_read_cb, NULL) < 0) {
			close(fd);
			loop->sigfd = -1;
			return -1;
		}
	}
	loop->sig_cb[signo] = cb;
	loop->sig_arg[signo] = arg;
	return 0;
}

/* ---- the loop ---- */

void
ev_set_before_sleep(struct ev_loop *loop, ev_hook_cb cb, void *arg)
{
	loop->before_sleep = cb;
	loop->before_sleep_arg = arg;
}

uint64_t
ev_now_ms(struct ev_loop *loop)
{
	return loop->now;
}

void
ev_set_clock(struct ev_loop *loop, ev_clock_fn fn, void *arg)
{
	loop->clock = fn ? fn : mono_ms;
	loop->clock_arg = fn ? arg : NULL;
	loop->now = loop->clock(loop->clock_arg);
	if (loop->ntimers == 0)
		loop->wheel_now = loop->now;
}

uint64_t
ev_wallclock_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

int
ev_sched_batch(void)
{
	struct sched_param sp = {.sched_priority = 0};
	return sched_setscheduler(0, SCHED_BATCH, &sp);
}

int
ev_defer_add(struct ev_loop *loop, ev_hook_cb cb, void *arg)
{
	if (loop->ndefer == EV_MAX_DEFER) {
		errno = ENOSPC;
		return -1;
	}
	loop->defer[loop->ndefer].cb = cb;
	loop->defer[loop->ndefer].arg = arg;
	loop->ndefer++;
	return 0;
}

void
ev_defer_del(struct ev_loop *loop, ev_hook_cb cb, void *arg)
{
	for (size_t i = 0; i < loop->ndefer; i++) {
		if (loop->defer[i].cb != cb || loop->defer[i].arg != arg)
			continue;
		loop->ndefer--;
		memmove(&loop->defer[i], &loop->defer[i + 1],
		    (loop->ndefer - i) * sizeof(loop->defer[0]));
		return;
	}
}

void
ev_set_pause_us(struct ev_loop *loop, uint32_t us)
{
	loop->pause_us = us;
}

void
ev_note_work(struct ev_loop *loop, unsigned n)
{
	loop->work += n;
}

/* Real time, not the loop's clock: the pause is a real sleep, also under
 * a test clock. */
static uint64_t
mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void
pause_if_busy(struct ev_loop *loop)
{
	uint64_t now, pause = (uint64_t)loop->pause_us * 1000;

	if (loop->pause_us == 0)
		loop->work = 0;
	if (loop->work == 0 || loop->is_stopped)
		return;
	now = mono_ns();
	if ((uint64_t)loop->work * pause >= 2 * (now - loop->work_ns)) {
		struct timespec ts = {.tv_sec = (time_t)(pause / 1000000000u),
		    .tv_nsec = (long)(pause % 1000000000u)};

		nanosleep(&ts, NULL);
		now = mono_ns();
	}
	loop->work = 0;
	loop->work_ns = now;
}

int
ev_run_once(struct ev_loop *loop, int max_wait_ms)
{
	if (loop->before_sleep != NULL)
		loop->before_sleep(loop, loop->before_sleep_arg);
	/* By index: a hook may remove itself (not others) while it runs. */
	for (size_t i = 0; i < loop->ndefer; i++) {
		size_t n = loop->ndefer;
		loop->defer[i].cb(loop, loop->defer[i].arg);
		if (loop->ndefer < n)
			i--;
	}
	pause_if_busy(loop);

	loop->now = loop->clock(loop->clock_arg);
	int wait = timer_wait_ms(loop);
	if (max_wait_ms >= 0 && (wait < 0 || wait > max_wait_ms))
		wait = max_wait_ms;
	if (loop->is_stopped)
		wait = 0;

	struct epoll_event evs[MAX_BATCH];
	int n = epoll_wait(loop->epfd, evs, MAX_BATCH, wait);
	if (n < 0) {
		if (errno != EINTR)
			return -1;
		n = 0;
	}
	loop->now = loop->clock(loop->clock_arg);

	for (int i = 0; i < n; i++) {
		int fd = (int)(uint32_t)evs[i].data.u64;
		uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
		if (fd < 0 || (size_t)fd >= loop->nfds)
			continue;
		struct ev_fd *s = &loop->fds[fd];
		if (!s->is_active || s->gen != gen)
			continue;
		uint32_t e = 0;
		if (evs[i].events & (EPOLLIN | EPOLLPRI))
			e |= EV_READ;
		if (evs[i].events & EPOLLOUT)
			e |= EV_WRITE;
		if (evs[i].events & (EPOLLERR | EPOLLHUP))
			e |= EV_ERROR;
		s->cb(loop, fd, e, s->arg);
	}

	ev_run_timers(loop);
	return 0;
}

int
ev_run(struct ev_loop *loop)
{
	int rc = 0;
	while (!loop->is_stopped) {
		if (ev_run_once(loop, -1) < 0) {
			rc = -1;
			break;
		}
	}
	loop->is_stopped = false;
	return rc;
}
