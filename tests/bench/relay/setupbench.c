/*
 * setupbench: call set-ups per second over relay.sock, for the relay
 * benchmark (tests/bench/relay/run.sh, run by hand, not by the suite).
 *
 *   setupbench -s RELAY.SOCK -n CALLS [-w WINDOW] [-p RELAY_PID]
 *              [-b CHUNK] [nat] [mux]
 *
 * Pipelines offer, answer and delete of CALLS calls with up to WINDOW
 * calls in flight on one connection, sending and reading many datagrams
 * per syscall (sendmmsg/recvmmsg), so that the client costs little next
 * to the relay. Prints wall-clock set-ups per second and, with -p, the
 * relay's CPU time per set-up (from /proc/PID/task/.../schedstat): on a
 * shared machine that is the figure that does not depend on the load.
 *
 * With -b, calls go in chunks of CHUNK: offers and answers of a chunk
 * (all its calls then alive at once, as in a real relay, where a call
 * lasts minutes), then its deletes; the relay's CPU is read between the
 * phases, so set-up (offer + answer) and tear-down (delete) are reported
 * apart (setup_cpu_us_per_call, teardown_cpu_us_per_call). A chunk needs
 * 4 relay ports per call.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ipc.h"
#include "ipc_msgs.h"

#define MAXB 256

static uint8_t rbuf[MAXB][sizeof(struct ipc_hdr) + 2048];

static unsigned long long
pid_cpu_ns(int pid)
{
	char path[64];
	unsigned long long sum = 0;
	DIR *d;
	struct dirent *e;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char p[600];
		unsigned long long v;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s/schedstat", path, e->d_name);
		f = fopen(p, "r");
		if (f == NULL)
			continue;
		if (fscanf(f, "%llu", &v) == 1)
			sum += v;
		fclose(f);
	}
	closedir(d);
	return sum;
}

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* One request datagram: header then body, as ipc_send() frames it. */
struct req {
	struct ipc_hdr h;
	union {
		struct ipc_media_req q;
		struct ipc_media_ref ref;
	} b;
};

static void
make_req(struct req *r, long call, int step, uint64_t id, uint8_t flags)
{
	memset(r, 0, sizeof(*r));
	r->h.id = id;
	if (step == 2) {
		r->h.type = IPC_MEDIA_DELETE;
		r->h.length = sizeof(r->b.ref);
		snprintf(
		    r->b.ref.call_id, sizeof(r->b.ref.call_id), "sb-%ld", call);
		return;
	}
	r->h.type = step == 0 ? IPC_MEDIA_OFFER : IPC_MEDIA_ANSWER;
	r->h.length = sizeof(r->b.q);
	snprintf(r->b.q.call_id, sizeof(r->b.q.call_id), "sb-%ld", call);
	snprintf(r->b.q.from_tag, sizeof(r->b.q.from_tag), "%s",
	    step == 0 ? "a" : "b");
	if (step == 1)
		snprintf(r->b.q.to_tag, sizeof(r->b.q.to_tag), "a");
	r->b.q.nstreams = 1;
	ipc_addr_parse(&r->b.q.streams[0].rtp,
	    step == 0 ? "127.0.0.1" : "127.0.0.2",
	    (uint16_t)(10000 + 2 * (call % 20000)));
	r->b.q.streams[0].flags = flags;
}

struct bench {
	int fd;
	long window;
	uint8_t flags;
	uint64_t id;
	long errors;
};

/*
 * Sends steps step_lo..step_hi (0 offer, 1 answer, 2 delete) of calls
 * [first, first + n), in order, with at most window calls' requests in
 * flight, and reads every reply. 0, or -1 on a socket error or silence.
 */
static int
run(struct bench *b, long first, long n, int step_lo, int step_hi)
{
	static struct req reqs[MAXB];
	struct mmsghdr mm[MAXB], smm[MAXB];
	struct iovec iov[MAXB], siov[MAXB];
	struct ipc_msg m;
	struct pollfd p;
	long nsteps = step_hi - step_lo + 1, sent = 0, replies = 0;
	long call = first;
	int step = step_lo, npend = 0, pstart = 0;

	p.fd = b->fd;
	p.events = POLLIN;
	while (replies < nsteps * n) {
		int r;

		/* The steps of one call go out in order on this
		 * connection; the relay answers in order. A full socket
		 * keeps the rest for the next round. */
		if (npend == 0) {
			pstart = 0;
			while (call < first + n &&
			    sent - replies < nsteps * b->window &&
			    npend < MAXB) {
				int k = npend++;

				make_req(
				    &reqs[k], call, step, b->id++, b->flags);
				siov[k].iov_base = &reqs[k];
				siov[k].iov_len =
				    sizeof(struct ipc_hdr) + reqs[k].h.length;
				memset(
				    &smm[k].msg_hdr, 0, sizeof(smm[k].msg_hdr));
				smm[k].msg_hdr.msg_iov = &siov[k];
				smm[k].msg_hdr.msg_iovlen = 1;
				sent++;
				if (++step > step_hi) {
					step = step_lo;
					call++;
				}
			}
		}
		if (npend > 0) {
			r = sendmmsg(b->fd, smm + pstart, (unsigned)npend, 0);
			if (r < 0 && errno != EAGAIN) {
				perror("setupbench: send");
				return -1;
			}
			if (r > 0) {
				pstart += r;
				npend -= r;
			}
		}
		if (poll(&p, 1, 10000) <= 0) {
			fprintf(stderr, "setupbench: no reply\n");
			return -1;
		}
		for (int i = 0; i < MAXB; i++) {
			iov[i].iov_base = rbuf[i];
			iov[i].iov_len = sizeof(rbuf[i]);
			memset(&mm[i].msg_hdr, 0, sizeof(mm[i].msg_hdr));
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		r = recvmmsg(b->fd, mm, MAXB, MSG_DONTWAIT, NULL);
		if (r < 0 && errno != EAGAIN) {
			perror("setupbench: recv");
			return -1;
		}
		for (int i = 0; i < r; i++) {
			int32_t st;

			if (ipc_validate(&ipc_cat_relay, rbuf[i], mm[i].msg_len,
			        &m) < 0) {
				fprintf(stderr, "setupbench: bad reply\n");
				return -1;
			}
			if (m.hdr.type == IPC_MEDIA_TIMEOUT)
				continue;
			memcpy(&st, m.body, sizeof(st));
			b->errors += st != 0;
			replies++;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *sock = NULL;
	long n = 20000, chunk = 0;
	int pid = 0, o;
	struct bench b = {-1, 64, 0, 1, 0};
	struct ipc_msg m;
	struct pollfd p;
	unsigned long long c0, c1, cs = 0, ct = 0;
	double t0, t1, ws = 0, wt = 0;

	while ((o = getopt(argc, argv, "s:n:w:p:b:")) != -1) {
		switch (o) {
		case 's':
			sock = optarg;
			break;
		case 'n':
			n = atol(optarg);
			break;
		case 'w':
			b.window = atol(optarg);
			break;
		case 'p':
			pid = atoi(optarg);
			break;
		case 'b':
			chunk = atol(optarg);
			break;
		default:
			goto usage;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "nat") == 0)
			b.flags |= IPC_MSF_NAT;
		else if (strcmp(argv[i], "mux") == 0)
			b.flags |= IPC_MSF_RTCP_MUX;
		else
			goto usage;
	}
	if (sock == NULL || n <= 0 || b.window <= 0 || b.window > MAXB / 3 ||
	    chunk < 0)
		goto usage;
	b.fd = ipc_connect(sock);
	if (b.fd < 0 || ipc_send_hello(b.fd, IPC_ROLE_TEST, "setupbench") < 0) {
		perror("setupbench: relay.sock");
		return 1;
	}
	p.fd = b.fd;
	p.events = POLLIN;
	if (poll(&p, 1, 5000) <= 0 ||
	    ipc_recv(b.fd, &ipc_cat_relay, rbuf[0], sizeof(rbuf[0]), &m) != 1 ||
	    m.hdr.type != IPC_HELLO) {
		fprintf(stderr, "setupbench: no HELLO from relay\n");
		return 1;
	}
	c0 = pid_cpu_ns(pid);
	t0 = now_s();
	if (chunk == 0) {
		if (run(&b, 0, n, 0, 2) < 0)
			return 1;
	} else {
		for (long first = 0; first < n; first += chunk) {
			long k = n - first < chunk ? n - first : chunk;
			unsigned long long a = pid_cpu_ns(pid), x, y;
			double ta = now_s(), tx;

			if (run(&b, first, k, 0, 1) < 0)
				return 1;
			x = pid_cpu_ns(pid);
			tx = now_s();
			if (run(&b, first, k, 2, 2) < 0)
				return 1;
			y = pid_cpu_ns(pid);
			cs += x - a;
			ct += y - x;
			ws += tx - ta;
			wt += now_s() - tx;
		}
	}
	t1 = now_s();
	c1 = pid_cpu_ns(pid);
	printf("calls=%ld errors=%ld seconds=%.3f setups_per_s=%.0f", n,
	    b.errors, t1 - t0, n / (t1 - t0));
	if (pid > 0)
		printf(
		    " relay_cpu_us_per_setup=%.2f relay_cpu_setups_per_s=%.0f",
		    (double)(c1 - c0) / 1e3 / n,
		    (double)n * 1e9 / (double)(c1 - c0 ? c1 - c0 : 1));
	if (chunk > 0) {
		printf(" offer_answer_per_s=%.0f delete_per_s=%.0f", n / ws,
		    n / wt);
		if (pid > 0)
			printf(" setup_cpu_us_per_call=%.2f "
			       "teardown_cpu_us_per_call=%.2f",
			    (double)cs / 1e3 / n, (double)ct / 1e3 / n);
	}
	printf("\n");
	close(b.fd);
	return b.errors != 0;
usage:
	fprintf(stderr, "usage: see tests/bench/relay/setupbench.c\n");
	return 2;
}
