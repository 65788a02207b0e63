/*
 * The resolver worker. Why a thread and not getaddrinfo_a: the latter
 * notifies through signals or its own threads anyway; one thread with a
 * queue and an eventfd keeps every callback on the loop and makes the
 * shutdown a plain join.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "resolv.h"

#define RESOLV_MAX_QUEUED 256

struct job {
	struct job *next;
	char *host;
	uint64_t cookie;
	resolv_cb cb;
	void *arg;
	int err;
	int naddrs;
	struct ipc_addr addrs[RESOLV_MAX_ADDRS];
};

/* A FIFO of jobs: lookups wait in one, answers in the other, so both
 * keep the order they were asked in. */
struct jobq {
	struct job *head, **tail;
};

static void
jobq_init(struct jobq *q)
{
	q->head = NULL;
	q->tail = &q->head;
}

static void
jobq_push(struct jobq *q, struct job *j)
{
	j->next = NULL;
	*q->tail = j;
	q->tail = &j->next;
}

static struct job *
jobq_pop(struct jobq *q)
{
	struct job *j = q->head;
	if (j != NULL && (q->head = j->next) == NULL)
		q->tail = &q->head;
	return j;
}

/* Takes every job of from into to (from is left empty). */
static void
jobq_move(struct jobq *to, struct jobq *from)
{
	*to = *from;
	if (to->head == NULL) /* its tail pointed into from */
		jobq_init(to);
	jobq_init(from);
}

struct resolv {
	struct ev_loop *loop;
	int efd;
	pthread_t thread;
	bool has_thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	struct jobq todo, done;
	int pending;
};

static void
job_free(struct job *j)
{
	free(j->host);
	free(j);
}

static void
run_lookup(struct job *j)
{
	struct addrinfo hints, *res = NULL;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	/* One entry per address (not one per socket type). No AI_ADDRCONFIG:
	 * it hides IPv4 answers when only loopback is configured. */
	hints.ai_socktype = SOCK_DGRAM;
	int rc = getaddrinfo(j->host, NULL, &hints, &res);
	if (rc != 0) {
		j->err = rc;
		return;
	}
	for (struct addrinfo *ai = res;
	     ai != NULL && j->naddrs < RESOLV_MAX_ADDRS; ai = ai->ai_next) {
		struct ipc_addr a;
		if (ipc_addr_from_sa(&a, ai->ai_addr) < 0 || a.family == 0)
			continue;
		a.port = 0;
		bool dup = false;
		for (int i = 0; i < j->naddrs; i++)
			if (ipc_addr_eq(&j->addrs[i], &a))
				dup = true;
		if (!dup)
			j->addrs[j->naddrs++] = a;
	}
	freeaddrinfo(res);
	if (j->naddrs == 0)
		j->err = EAI_NONAME;
}

static void *
worker(void *arg)
{
	struct resolv *r = arg;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->stop && r->todo.head == NULL)
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->stop)
			break;
		struct job *j = jobq_pop(&r->todo);
		pthread_mutex_unlock(&r->mu);
		run_lookup(j);
		pthread_mutex_lock(&r->mu);
		jobq_push(&r->done, j);
		uint64_t one = 1;
		/* A full counter still wakes the loop; nothing to handle. */
		ssize_t w = write(r->efd, &one, sizeof(one));
		(void)w;
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

static void
on_event(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct resolv *r = arg;
	uint64_t v;

	(void)loop;
	(void)events;
	ssize_t n = read(fd, &v, sizeof(v));
	(void)n;
	pthread_mutex_lock(&r->mu);
	struct jobq answers;
	jobq_move(&answers, &r->done);
	pthread_mutex_unlock(&r->mu);
	struct job *j;
	while ((j = jobq_pop(&answers)) != NULL) {
		r->pending--;
		j->cb(j->arg, j->cookie, j->host, j->err, j->addrs, j->naddrs);
		job_free(j);
	}
}

struct resolv *
resolv_new(struct ev_loop *loop)
{
	struct resolv *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->loop = loop;
	jobq_init(&r->todo);
	jobq_init(&r->done);
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->efd < 0) {
		free(r);
		return NULL;
	}
	if (ev_io_add(loop, r->efd, EV_READ, on_event, r) < 0) {
		close(r->efd);
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	return r;
}

static int
start_thread(struct resolv *r)
{
	sigset_t all, old;

	/* Signals stay with the loop's thread (signalfd or handlers). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&r->thread, NULL, worker, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_warnx("resolver thread: %s", strerror(rc));
		return -1;
	}
	r->has_thread = true;
	return 0;
}

int
resolv_lookup(struct resolv *r, const char *host, uint64_t cookie, resolv_cb cb,
    void *arg)
{
	if (r->pending >= RESOLV_MAX_QUEUED ||
	    (!r->has_thread && start_thread(r) < 0))
		return -1;
	struct job *j = calloc(1, sizeof(*j));
	if (j == NULL || (j->host = strdup(host)) == NULL) {
		free(j);
		return -1;
	}
	j->cookie = cookie;
	j->cb = cb;
	j->arg = arg;
	pthread_mutex_lock(&r->mu);
	jobq_push(&r->todo, j);
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	r->pending++;
	return 0;
}

int
resolv_pending(const struct resolv *r)
{
	return r->pending;
}

void
resolv_free(struct resolv *r)
{
	if (r == NULL)
		return;
	if (r->has_thread) {
		pthread_mutex_lock(&r->mu);
		r->stop = true;
		pthread_cond_signal(&r->cv);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->thread, NULL);
	}
	ev_io_del(r->loop, r->efd);
	close(r->efd);
	struct job *j;
	while ((j = jobq_pop(&r->todo)) != NULL)
		job_free(j);
	while ((j = jobq_pop(&r->done)) != NULL)
		job_free(j);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r);
}
