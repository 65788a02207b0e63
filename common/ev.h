/*
 * ev: the one event loop of a process. epoll for descriptors, signalfd for
 * signals, a hashed timer wheel (1 ms ticks) for timers, and a before-sleep
 * hook where batched output is flushed. The clock is monotonic and can be
 * replaced by a test clock. Timers are embedded in the caller's structs;
 * the loop owns nothing it is handed.
 */
#ifndef PC_EV_H
#define PC_EV_H

#include <stdbool.h>
#include <stdint.h>

struct ev_loop;
struct ev_timer;

#define EV_READ 0x1u
#define EV_WRITE 0x4u
#define EV_ERROR 0x8u /* EPOLLERR or EPOLLHUP; always reported */

typedef void (*ev_io_cb)(
    struct ev_loop *loop, int fd, uint32_t events, void *arg);
typedef void (*ev_timer_cb)(
    struct ev_loop *loop, struct ev_timer *t, void *arg);
typedef void (*ev_signal_cb)(struct ev_loop *loop, int signo, void *arg);
typedef void (*ev_hook_cb)(struct ev_loop *loop, void *arg);
/* Returns the current time in milliseconds on some monotonic scale. */
typedef uint64_t (*ev_clock_fn)(void *arg);

struct ev_timer {
	struct ev_timer *next, *prev; /* wheel slot list */
	uint64_t expires_ms;
	ev_timer_cb cb;
	void *arg;
	bool is_active;
};

struct ev_loop *ev_loop_new(void);
void ev_loop_free(struct ev_loop *loop);

/* Runs until ev_stop(); returns 0, or -1 if epoll failed. */
int ev_run(struct ev_loop *loop);
/* One iteration, waiting at most max_wait_ms (-1: until an event or the
 * next timer). Useful in tests. */
int ev_run_once(struct ev_loop *loop, int max_wait_ms);
void ev_stop(struct ev_loop *loop);

int ev_io_add(
    struct ev_loop *loop, int fd, uint32_t events, ev_io_cb cb, void *arg);
int ev_io_mod(struct ev_loop *loop, int fd, uint32_t events);
/* Safe to call from inside a callback, including for other fds whose
 * events are pending in the same iteration. */
int ev_io_del(struct ev_loop *loop, int fd);

void ev_timer_init(struct ev_timer *t, ev_timer_cb cb, void *arg);
/* (Re)arms the timer to fire after_ms from now (0 = next iteration). */
void ev_timer_start(
    struct ev_loop *loop, struct ev_timer *t, uint64_t after_ms);
void ev_timer_stop(struct ev_loop *loop, struct ev_timer *t);

/* Blocks the signal and delivers it through the loop (signalfd). */
int ev_signal_add(struct ev_loop *loop, int signo, ev_signal_cb cb, void *arg);

void ev_set_before_sleep(struct ev_loop *loop, ev_hook_cb cb, void *arg);
/* More hooks run before each sleep, after the before_sleep one (e.g. the
 * batched sends of ipc channels); at most EV_MAX_DEFER. -1 when full. */
#define EV_MAX_DEFER 16
int ev_defer_add(struct ev_loop *loop, ev_hook_cb cb, void *arg);
void ev_defer_del(struct ev_loop *loop, ev_hook_cb cb, void *arg);
/*
 * Puts the calling process in SCHED_BATCH. Why: two loops that feed each
 * other over a socket on one CPU (edge and core) otherwise preempt each
 * other at every message; batch tasks do not preempt on wake-up, so each
 * runs until its loop sleeps and the other then takes the whole batch.
 * Latency grows by at most one loop turn. 0, or -1 with errno.
 */
int ev_sched_batch(void);

/*
 * Interrupt moderation. A loop that sleeps until the next message is woken
 * once per burst of messages, and on a VM waking an idle CPU costs tens of
 * microseconds, more than handling several SIP messages. When the turns
 * since the last decision handled messages faster than two per pause (n
 * messages in dt: n * pause >= 2 * dt), the loop sleeps for the pause once
 * its hooks have run (the turn's output has left), so the next turn takes
 * what arrived meanwhile as one batch and those arrivals wake nobody. A
 * message waits at most one pause plus the kernel's timer slack; light
 * load never pauses. 0 (the default) = never.
 */
void ev_set_pause_us(struct ev_loop *loop, uint32_t us);
/* Handlers count the messages they took; only counted work can pause. */
void ev_note_work(struct ev_loop *loop, unsigned n);

/* Time as the loop sees it (cached once per iteration). */
uint64_t ev_now_ms(struct ev_loop *loop);
/* Replaces CLOCK_MONOTONIC; tests advance their own clock and then call
 * ev_run_timers() to fire what is due. Set it before starting timers: the
 * wheel is re-based on the new clock only while no timer is armed. */
void ev_set_clock(struct ev_loop *loop, ev_clock_fn fn, void *arg);
void ev_run_timers(struct ev_loop *loop);
/* Wall-clock seconds since the epoch (for CDRs and logs, never timers). */
uint64_t ev_wallclock_s(void);

#endif
