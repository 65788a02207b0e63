/*
 * loadgen: the relay benchmark's load generator and sink (run by hand by
 * tests/bench/relay/run.sh, not by the test suite).
 *
 *   loadgen send -l SRC:PORT -a DSTADDR -p PORTFILE|-P PORT -r PPS -t SECS
 *                [-b BURST]
 *       sends 172-byte RTP packets (160-byte payload), round robin over
 *       the destination ports listed in PORTFILE (one per line: one per
 *       stream), paced in bursts of BURST (default 16, at most 64) with
 *       sendmmsg. BURST 1 spreads the packets evenly in time, as many
 *       independent phones would; 16 delivers them to the relay in
 *       clumps, which favours any batching in the relay.
 *   loadgen sink -l ADDR:PORT -t SECS
 *       counts what arrives (recvmmsg); prints "received=N".
 * Both print their own counts at exit; CPU is measured from outside
 * (/proc/PID/schedstat).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH_MAX 64

static uint64_t
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* This task's CPU time in ns (schedstat, as RELAY-NOTES advises: on veth
 * the forwarding softirq runs in the sending task and is counted here). */
static unsigned long long
self_cpu_ns(void)
{
	FILE *f = fopen("/proc/thread-self/schedstat", "r");
	unsigned long long v = 0;

	if (f != NULL) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

static int
parse(const char *s, struct sockaddr_in *a)
{
	char h[64];
	const char *c = strrchr(s, ':');

	if (c == NULL || (size_t)(c - s) >= sizeof(h))
		return -1;
	memcpy(h, s, (size_t)(c - s));
	h[c - s] = '\0';
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)atoi(c + 1));
	return inet_pton(AF_INET, h, &a->sin_addr) == 1 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in la, *dst = NULL;
	const char *mode = argc > 1 ? argv[1] : "", *pf = NULL, *daddr = NULL;
	double pps = 10000, secs = 5;
	int fd, o, one_port = 0, burst = 16;
	size_t nd = 0;
	uint64_t n = 0;

	if (argc < 2)
		goto usage;
	optind = 2;
	memset(&la, 0, sizeof(la));
	while ((o = getopt(argc, argv, "l:a:p:P:r:t:b:")) != -1) {
		switch (o) {
		case 'l':
			if (parse(optarg, &la) < 0)
				goto usage;
			break;
		case 'a':
			daddr = optarg;
			break;
		case 'p':
			pf = optarg;
			break;
		case 'P':
			one_port = atoi(optarg);
			break;
		case 'r':
			pps = atof(optarg);
			break;
		case 't':
			secs = atof(optarg);
			break;
		case 'b':
			burst = atoi(optarg);
			if (burst < 1 || burst > BATCH_MAX)
				goto usage;
			break;
		default:
			goto usage;
		}
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&la, sizeof(la)) < 0) {
		perror("loadgen: bind");
		return 1;
	}
	if (strcmp(mode, "sink") == 0) {
		static uint8_t bufs[64][2048];
		struct mmsghdr m[64];
		struct iovec iov[64];
		uint64_t end = now_ns() + (uint64_t)(secs * 1e9);
		int sz = 8 << 20;

		setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
		for (int i = 0; i < 64; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = sizeof(bufs[i]);
			memset(&m[i].msg_hdr, 0, sizeof(m[i].msg_hdr));
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
		}
		while (now_ns() < end) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			int r;

			if (poll(&p, 1, 50) <= 0)
				continue;
			r = recvmmsg(fd, m, 64, MSG_DONTWAIT, NULL);
			if (r > 0)
				n += (uint64_t)r;
		}
		printf("received=%llu cpu_ns=%llu\n", (unsigned long long)n,
		    self_cpu_ns());
		return 0;
	}
	if (strcmp(mode, "send") != 0 || daddr == NULL)
		goto usage;
	{
		FILE *f = pf ? fopen(pf, "r") : NULL;
		unsigned port;
		size_t cap = 16;

		dst = calloc(cap, sizeof(*dst));
		while (f != NULL && fscanf(f, "%u", &port) == 1) {
			if (nd == cap) {
				cap *= 2;
				dst = realloc(dst, cap * sizeof(*dst));
			}
			dst[nd].sin_family = AF_INET;
			inet_pton(AF_INET, daddr, &dst[nd].sin_addr);
			dst[nd++].sin_port = htons((uint16_t)port);
		}
		if (f != NULL)
			fclose(f);
		if (one_port != 0) {
			dst[0].sin_family = AF_INET;
			inet_pton(AF_INET, daddr, &dst[0].sin_addr);
			dst[0].sin_port = htons((uint16_t)one_port);
			nd = 1;
		}
		if (nd == 0)
			goto usage;
	}
	{
		uint8_t pkt[172];
		struct mmsghdr m[BATCH_MAX];
		struct iovec iov = {pkt, sizeof(pkt)};
		uint64_t start = now_ns(), total = (uint64_t)(pps * secs);
		uint64_t gap = (uint64_t)(1e9 / pps * burst), next = start;
		size_t k = 0;

		memset(pkt, 0xff, sizeof(pkt));
		pkt[0] = 0x80;
		pkt[1] = 0;
		pkt[8] = 0x12;
		while (n < total) {
			struct timespec ts;
			int r;

			for (int i = 0; i < burst; i++) {
				memset(&m[i].msg_hdr, 0, sizeof(m[i].msg_hdr));
				m[i].msg_hdr.msg_iov = &iov;
				m[i].msg_hdr.msg_iovlen = 1;
				m[i].msg_hdr.msg_name = &dst[k];
				m[i].msg_hdr.msg_namelen = sizeof(dst[k]);
				k = (k + 1) % nd;
			}
			pkt[2] = (uint8_t)(n >> 8);
			pkt[3] = (uint8_t)n;
			r = sendmmsg(fd, m, (unsigned)burst, 0);
			if (r > 0)
				n += (uint64_t)r;
			next += gap;
			ts.tv_sec = (time_t)(next / 1000000000ull);
			ts.tv_nsec = (long)(next % 1000000000ull);
			clock_nanosleep(
			    CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		}
		printf("sent=%llu seconds=%.3f cpu_ns=%llu\n",
		    (unsigned long long)n, (now_ns() - start) / 1e9,
		    self_cpu_ns());
	}
	return 0;
usage:
	fprintf(stderr, "usage: see tests/bench/relay/loadgen.c\n");
	return 2;
}
