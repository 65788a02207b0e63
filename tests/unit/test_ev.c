/* Unit tests of ev: the timer wheel on a test clock, descriptors, safe
 * deletion, signals, the before-sleep hook and the pause under load. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ev.h"
#include "tap.h"

static uint64_t fake_now;
static uint64_t
fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

struct tm_rec {
	struct ev_timer t;
	uint64_t due;
	uint64_t fired_at;
	int fired;
	bool is_stopped;
};

static void
rec_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct tm_rec *r = arg;
	(void)t;
	r->fired++;
	r->fired_at = ev_now_ms(loop);
}

static struct ev_loop *
fake_loop(uint64_t start)
{
	struct ev_loop *l = ev_loop_new();
	fake_now = start;
	ev_set_clock(l, fake_clock, NULL);
	return l;
}

static void
test_timer_exact(void)
{
	/* Stepping 1 ms at a time, every timer fires exactly when due,
	 * including ones that cross every cascade level. */
	struct ev_loop *l = fake_loop(1000003);
	static const uint64_t delays[] = {0, 1, 2, 255, 256, 257, 300, 1000,
	    16383, 16384, 16385, 70000, 1048576, 1100000, 3000000};
	enum { N = sizeof delays / sizeof delays[0] };
	struct tm_rec r[N] = {0};
	for (int i = 0; i < N; i++) {
		ev_timer_init(&r[i].t, rec_cb, &r[i]);
		ev_timer_start(l, &r[i].t, delays[i]);
		r[i].due = 1000003 + delays[i];
	}
	uint64_t end = 1000003 + 3000001;
	for (; fake_now <= end; fake_now++)
		ev_run_timers(l);
	int bad = 0;
	for (int i = 0; i < N; i++) {
		if (r[i].fired != 1 || r[i].fired_at != r[i].due) {
			printf("# delay %llu fired %d at %llu (due %llu)\n",
			    (unsigned long long)delays[i], r[i].fired,
			    (unsigned long long)r[i].fired_at,
			    (unsigned long long)r[i].due);
			bad++;
		}
		CHECK(!r[i].t.is_active);
	}
	CHECK_EQ_INT(bad, 0);
	ev_loop_free(l);
}

static void
test_timer_random(void)
{
	/* Many timers, random delays up to ~70 min, clock jumping by random
	 * steps, a third stopped: each fires once, in the first run at or
	 * after its due time, and stopped ones never. */
	enum { N = 50000 };
	struct ev_loop *l = fake_loop(123456789);
	struct tm_rec *r = calloc(N, sizeof *r);
	srand(7);
	for (int i = 0; i < N; i++) {
		uint64_t d = (uint64_t)rand() % (1u << 22);
		if (i % 10 == 0)
			d = (uint64_t)rand() % 300;
		ev_timer_init(&r[i].t, rec_cb, &r[i]);
		ev_timer_start(l, &r[i].t, d);
		r[i].due = fake_now + d;
	}
	for (int i = 0; i < N; i += 3) {
		ev_timer_stop(l, &r[i].t);
		r[i].is_stopped = true;
	}
	uint64_t prev = fake_now;
	int late = 0, early = 0, wrong = 0;
	while (fake_now < 123456789 + (1u << 22) + 10) {
		prev = fake_now;
		fake_now += 1 + (uint64_t)rand() % 5000;
		ev_run_timers(l);
		for (int i = 0; i < N; i++) {
			if (r[i].fired && r[i].fired_at == fake_now) {
				if (r[i].due > fake_now)
					early++;
				/* Due at or before the previous run (the
				 * first run is the first chance). */
				if (r[i].due <= prev && prev != 123456789)
					late++;
			}
		}
	}
	for (int i = 0; i < N; i++)
		if (r[i].fired != (r[i].is_stopped ? 0 : 1))
			wrong++;
	CHECK_EQ_INT(early, 0);
	CHECK_EQ_INT(late, 0);
	CHECK_EQ_INT(wrong, 0);
	free(r);
	ev_loop_free(l);
}

static struct tm_rec *victim;
static void
stopper_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	rec_cb(loop, t, arg);
	ev_timer_stop(loop, &victim->t);
}

static int periodic_count;
static void
periodic_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	(void)arg;
	if (++periodic_count < 10)
		ev_timer_start(loop, t, 10);
}

static void
test_timer_callbacks(void)
{
	struct ev_loop *l = fake_loop(50);
	struct tm_rec a = {0}, b = {0}, c = {0};
	ev_timer_init(&a.t, stopper_cb, &a);
	ev_timer_init(&b.t, rec_cb, &b);
	ev_timer_init(&c.t, rec_cb, &c);
	victim = &b;
	/* a and b due on the same tick: a runs first (added first) and stops
	 * b, which must then not fire. */
	ev_timer_start(l, &a.t, 5);
	ev_timer_start(l, &b.t, 5);
	ev_timer_start(l, &c.t, 5);
	fake_now = 60;
	ev_run_timers(l);
	CHECK_EQ_INT(a.fired, 1);
	CHECK_EQ_INT(b.fired, 0);
	CHECK_EQ_INT(c.fired, 1);

	/* Periodic re-arming from the callback. */
	struct ev_timer p;
	ev_timer_init(&p, periodic_cb, NULL);
	ev_timer_start(l, &p, 10);
	for (int i = 0; i < 200; i++) {
		fake_now++;
		ev_run_timers(l);
	}
	CHECK_EQ_INT(periodic_count, 10);

	/* Restarting an armed timer moves it. */
	struct tm_rec d = {0};
	ev_timer_init(&d.t, rec_cb, &d);
	ev_timer_start(l, &d.t, 10);
	ev_timer_start(l, &d.t, 1000);
	fake_now += 500;
	ev_run_timers(l);
	CHECK_EQ_INT(d.fired, 0);
	fake_now += 500;
	ev_run_timers(l);
	CHECK_EQ_INT(d.fired, 1);
	ev_timer_stop(l, &d.t); /* stopping an idle timer is harmless */
	ev_loop_free(l);
}

static void
test_timer_throughput(void)
{
	/* The transaction layer's pattern: start a timer per transaction,
	 * stop most of them early. */
	struct ev_loop *l = fake_loop(0);
	enum { N = 200000 };
	struct tm_rec *r = calloc(N, sizeof *r);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < N; i++) {
		ev_timer_init(&r[i].t, rec_cb, &r[i]);
		ev_timer_start(l, &r[i].t, 500 + (uint64_t)(i % 32000));
		if (i % 10 != 0)
			ev_timer_stop(l, &r[i].t);
		if (i % 100 == 0) {
			fake_now++;
			ev_run_timers(l);
		}
	}
	fake_now += 40000;
	ev_run_timers(l);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	int fired = 0;
	for (int i = 0; i < N; i++)
		fired += r[i].fired;
	CHECK_EQ_INT(fired, N / 10);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("# %d timer start/stop/fire cycles in %.1f ms\n", N, ms);
	free(r);
	ev_loop_free(l);
}

/* ---- descriptors ---- */

struct io_ctx {
	int calls;
	uint32_t events;
	int other_fd;
	int *other_calls;
};

static void
io_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct io_ctx *c = arg;
	char buf[16];
	c->calls++;
	c->events = events;
	if (events & EV_READ)
		(void)read(fd, buf, sizeof buf);
	if (c->other_fd >= 0) {
		/* Delete (and close) the other fd whose event may be pending
		 * in this same batch. */
		ev_io_del(loop, c->other_fd);
		close(c->other_fd);
		c->other_fd = -1;
	}
}

static void
test_io(void)
{
	struct ev_loop *l = ev_loop_new();
	int sv[2];
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct io_ctx c = {.other_fd = -1};
	CHECK_EQ_INT(ev_io_add(l, sv[0], EV_READ, io_cb, &c), 0);
	CHECK_EQ_INT(ev_io_add(l, sv[0], EV_READ, io_cb, &c), -1);
	ev_run_once(l, 0);
	CHECK_EQ_INT(c.calls, 0);
	CHECK_EQ_INT(write(sv[1], "x", 1), 1);
	ev_run_once(l, 1000);
	CHECK_EQ_INT(c.calls, 1);
	CHECK(c.events & EV_READ);
	CHECK_EQ_INT(ev_io_mod(l, sv[0], EV_READ | EV_WRITE), 0);
	ev_run_once(l, 1000);
	CHECK_EQ_INT(c.calls, 2);
	CHECK(c.events & EV_WRITE);
	CHECK_EQ_INT(ev_io_mod(l, sv[0], EV_READ), 0);
	close(sv[1]);
	ev_run_once(l, 1000);
	CHECK(c.events & (EV_ERROR | EV_READ));
	CHECK_EQ_INT(ev_io_del(l, sv[0]), 0);
	CHECK_EQ_INT(ev_io_del(l, sv[0]), -1);
	close(sv[0]);
	ev_loop_free(l);
}

static void
test_io_delete_in_callback(void)
{
	struct ev_loop *l = ev_loop_new();
	int a[2], b[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, a);
	socketpair(AF_UNIX, SOCK_STREAM, 0, b);
	struct io_ctx ca = {.other_fd = b[0]}, cb = {.other_fd = a[0]};
	ev_io_add(l, a[0], EV_READ, io_cb, &ca);
	ev_io_add(l, b[0], EV_READ, io_cb, &cb);
	/* Both readable in the same batch; whichever runs first deletes
	 * and closes the other, whose pending event must be dropped. */
	(void)write(a[1], "x", 1);
	(void)write(b[1], "y", 1);
	ev_run_once(l, 1000);
	CHECK_EQ_INT(ca.calls + cb.calls, 1);

	/* A new fd reusing the number of a deleted one gets only its own
	 * events. */
	int c[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, c);
	struct io_ctx cc = {.other_fd = -1};
	int live = ca.calls ? a[0] : b[0];
	ev_io_add(l, c[0], EV_READ, io_cb, &cc);
	ev_run_once(l, 0);
	CHECK_EQ_INT(cc.calls, 0);
	(void)write(c[1], "z", 1);
	ev_run_once(l, 1000);
	CHECK_EQ_INT(cc.calls, 1);
	ev_io_del(l, live);
	ev_io_del(l, c[0]);
	close(live);
	close(c[0]);
	close(c[1]);
	close(a[1]);
	close(b[1]);
	ev_loop_free(l);
}

static int sig_count;
static void
sig_cb(struct ev_loop *loop, int signo, void *arg)
{
	(void)arg;
	if (signo == SIGUSR1)
		sig_count++;
	ev_stop(loop);
}

static int hook_count;
static void
hook_cb(struct ev_loop *loop, void *arg)
{
	(void)loop;
	(void)arg;
	hook_count++;
}

static void
test_signal_and_hook(void)
{
	struct ev_loop *l = ev_loop_new();
	CHECK_EQ_INT(ev_signal_add(l, SIGUSR1, sig_cb, NULL), 0);
	CHECK_EQ_INT(ev_signal_add(l, SIGUSR2, sig_cb, NULL), 0);
	ev_set_before_sleep(l, hook_cb, NULL);
	raise(SIGUSR1);
	/* ev_run returns once the signal callback stops the loop. */
	CHECK_EQ_INT(ev_run(l), 0);
	CHECK_EQ_INT(sig_count, 1);
	CHECK(hook_count >= 1);
	ev_loop_free(l);
}

static void
timer_stop_loop_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	(void)t;
	(*(int *)arg)++;
	ev_stop(loop);
}

static void
test_run_with_timer(void)
{
	/* The real clock: a 3 ms timer ends ev_run (the loop computes its
	 * epoll timeout from the wheel). */
	struct ev_loop *l = ev_loop_new();
	struct ev_timer t;
	int n = 0;
	ev_timer_init(&t, timer_stop_loop_cb, &n);
	uint64_t start = ev_now_ms(l);
	ev_timer_start(l, &t, 3);
	CHECK_EQ_INT(ev_run(l), 0);
	CHECK_EQ_INT(n, 1);
	CHECK(ev_now_ms(l) >= start + 3);
	CHECK(ev_wallclock_s() > 1600000000);
	ev_loop_free(l);
}

static int defer_a, defer_b;

static void
defer_once(struct ev_loop *l, void *arg)
{
	(void)arg;
	defer_a++;
	ev_defer_del(l, defer_once, NULL); /* removes itself */
}

static void
defer_every(struct ev_loop *l, void *arg)
{
	(void)l;
	*(int *)arg += 1;
}

/* Deferred hooks run before every sleep; one may remove itself. */
static void
test_defer(void)
{
	struct ev_loop *l = ev_loop_new();
	CHECK_EQ_INT(ev_defer_add(l, defer_once, NULL), 0);
	CHECK_EQ_INT(ev_defer_add(l, defer_every, &defer_b), 0);
	ev_run_once(l, 0);
	ev_run_once(l, 0);
	CHECK_EQ_INT(defer_a, 1);
	CHECK_EQ_INT(defer_b, 2);
	ev_defer_del(l, defer_every, &defer_b);
	ev_run_once(l, 0);
	CHECK_EQ_INT(defer_b, 2);
	int n = 0;
	for (int i = 0; i < EV_MAX_DEFER + 1; i++)
		if (ev_defer_add(l, defer_every, &defer_b) == 0)
			n++;
	CHECK_EQ_INT(n, EV_MAX_DEFER);
	ev_loop_free(l);
}

static uint64_t
real_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Milliseconds one ev_run_once takes after n messages were noted dt_ms
 * after the previous decision. Nothing is ready, so without a pause the
 * turn returns at once. */
static uint64_t
turn_after(struct ev_loop *l, unsigned n, unsigned dt_ms)
{
	struct timespec ts = {0, (long)dt_ms * 1000000};
	if (dt_ms > 0)
		nanosleep(&ts, NULL);
	ev_note_work(l, n);
	uint64_t t0 = real_ms();
	ev_run_once(l, 0);
	return real_ms() - t0;
}

/* The pause: long enough (200 ms) that a turn with it cannot be confused
 * with one without it on a loaded machine. */
static void
test_pause(void)
{
	struct ev_loop *l = ev_loop_new();
	ev_run_once(l, 0); /* the first decision's time */
	/* Off by default, however busy. */
	CHECK(turn_after(l, 1000, 0) < 150);
	ev_set_pause_us(l, 200000);
	/* The first decision compares with the loop's start (long ago):
	 * light. */
	CHECK(turn_after(l, 5, 0) < 150);
	/* Busy: 5 messages within a moment (>= 2 per pause). */
	CHECK(turn_after(l, 5, 0) >= 200);
	/* Right after the pause, the turn's messages count from its end:
	 * still busy. */
	CHECK(turn_after(l, 1, 0) >= 200);
	/* Light: 1 message after 250 ms (< 2 per 200 ms): no pause. */
	CHECK(turn_after(l, 1, 250) < 150);
	/* A turn with no messages never pauses (timers, idle wake-ups). */
	CHECK(turn_after(l, 0, 0) < 150);
	/* Two messages 150 ms apart (dt 300 ms for both): 2 * 200 >= 2 * 300
	 * fails, no pause; three in that time pass. */
	ev_note_work(l, 1);
	CHECK(turn_after(l, 1, 300) < 150);
	ev_note_work(l, 2);
	CHECK(turn_after(l, 1, 250) >= 200);
	ev_set_pause_us(l, 0);
	CHECK(turn_after(l, 1000, 0) < 150);
	ev_loop_free(l);
}

int
main(void)
{
	TEST_RUN(test_timer_exact);
	TEST_RUN(test_timer_random);
	TEST_RUN(test_timer_callbacks);
	TEST_RUN(test_timer_throughput);
	TEST_RUN(test_io);
	TEST_RUN(test_io_delete_in_callback);
	TEST_RUN(test_signal_and_hook);
	TEST_RUN(test_run_with_timer);
	TEST_RUN(test_defer);
	TEST_RUN(test_pause);
	return tap_done();
}
