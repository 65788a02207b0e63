/*
 * flood: a SIP request flood from one source address at a fixed rate, for
 * the edge's flood test (test_edge_flood.sh). Built by the test itself.
 * Sends well-formed requests (each with its own Call-ID and branch) with
 * sendmmsg, paced against CLOCK_MONOTONIC in batches, for a bounded time,
 * and prints the rate it really achieved, so the test can refuse a run
 * that did not reach the rate it claims.
 *
 *   flood SRC_IP DST_IP DST_PORT RATE SECONDS [METHOD]
 *
 * METHOD "RESPONSE" sends stray 200 responses (to INVITEs nobody sent)
 * instead of requests.
 *
 * Output (one line): sent=N seconds=S rate=R errors=E start=T0 end=T1
 * (T0, T1: wall-clock seconds since the epoch, for the test to line up
 * what else happened during the flood).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MSG_MAX 1024
/* Digits of the per-message counter patched into the template. */
#define CTR_DIGITS 10

static double
wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes v as exactly CTR_DIGITS decimal digits at p. */
static void
put_ctr(char *p, uint64_t v)
{
	for (int i = CTR_DIGITS - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

int
main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr,
		    "usage: flood SRC_IP DST_IP DST_PORT RATE SECONDS "
		    "[METHOD]\n");
		return 2;
	}
	const char *src = argv[1], *dst = argv[2];
	int port = atoi(argv[3]);
	long rate = atol(argv[4]);
	double secs = atof(argv[5]);
	const char *method = argc > 6 ? argv[6] : "INVITE";
	if (port <= 0 || port > 65535 || rate <= 0 || rate > 10000000 ||
	    secs <= 0 || secs > 600 || strlen(method) > 16) {
		fprintf(stderr, "flood: bad arguments\n");
		return 2;
	}
	struct sockaddr_in sa = {.sin_family = AF_INET}, da = sa;
	if (inet_pton(AF_INET, src, &sa.sin_addr) != 1 ||
	    inet_pton(AF_INET, dst, &da.sin_addr) != 1) {
		fprintf(stderr, "flood: bad address\n");
		return 2;
	}
	da.sin_port = htons((uint16_t)port);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		perror("flood: socket");
		return 1;
	}
	int sndbuf = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	socklen_t sl = sizeof sa;
	getsockname(fd, (struct sockaddr *)&sa, &sl);

	/* One template; the counter appears in the branch, tag and Call-ID
	 * at fixed offsets, so each message is new at the cost of a few
	 * byte stores. */
	static char msgs[BATCH][MSG_MAX];
	char tmpl[MSG_MAX];
	char ctr0[CTR_DIGITS + 1];
	memset(ctr0, '0', CTR_DIGITS);
	ctr0[CTR_DIGITS] = '\0';
	bool resp = strcmp(method, "RESPONSE") == 0;
	char start[128];
	if (resp)
		snprintf(start, sizeof start, "SIP/2.0 200 OK");
	else
		snprintf(start, sizeof start, "%s sip:victim@%s SIP/2.0",
		    method, dst);
	int len = snprintf(tmpl, sizeof tmpl,
	    "%s\r\n"
	    "Via: SIP/2.0/UDP %s:%u;branch=z9hG4bK%s;rport\r\n"
	    "Max-Forwards: 70\r\n"
	    "From: <sip:flood@%s>;tag=f%s\r\n"
	    "To: <sip:victim@%s>\r\n"
	    "Call-ID: %s@flood\r\n"
	    "CSeq: 1 %s\r\n"
	    "Contact: <sip:flood@%s:%u>\r\n"
	    "User-Agent: flood-test\r\n"
	    "Content-Length: 0\r\n\r\n",
	    start, src, ntohs(sa.sin_port), ctr0, src, ctr0, dst, ctr0,
	    resp ? "INVITE" : method, src, ntohs(sa.sin_port));
	if (len <= 0 || len >= (int)sizeof tmpl)
		return 1;
	size_t offs[3];
	int no = 0;
	for (char *p = tmpl; no < 3 && (p = strstr(p, ctr0)) != NULL;
	     p += CTR_DIGITS)
		offs[no++] = (size_t)(p - tmpl);
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	memset(mm, 0, sizeof mm);
	for (int i = 0; i < BATCH; i++) {
		memcpy(msgs[i], tmpl, (size_t)len);
		iov[i].iov_base = msgs[i];
		iov[i].iov_len = (size_t)len;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_name = &da;
		mm[i].msg_hdr.msg_namelen = sizeof da;
	}

	uint64_t sent = 0, errors = 0, total = (uint64_t)(rate * secs);
	double w0 = wall_s(), t0 = now_s(), t = t0;
	while (sent < total) {
		t = now_s();
		if (t - t0 > secs + 5)
			break; /* cannot keep up: stop, the rate says so */
		uint64_t due = (uint64_t)((t - t0) * (double)rate);
		if (due > total)
			due = total;
		if (due <= sent) {
			struct timespec ts = {0, 100 * 1000};
			nanosleep(&ts, NULL);
			continue;
		}
		uint64_t n = due - sent;
		if (n > BATCH)
			n = BATCH;
		for (uint64_t i = 0; i < n; i++)
			for (int k = 0; k < no; k++)
				put_ctr(msgs[i] + offs[k], sent + i);
		int r = sendmmsg(fd, mm, (unsigned)n, 0);
		if (r <= 0) {
			/* Refused by the local stack (e.g. ENOBUFS): counted,
			 * never retried as sent. */
			errors++;
			if (errno != ENOBUFS && errno != EAGAIN &&
			    errno != ECONNREFUSED && errno != EINTR) {
				perror("flood: sendmmsg");
				break;
			}
			continue;
		}
		sent += (uint64_t)r;
	}
	double el = now_s() - t0;
	printf("sent=%llu seconds=%.3f rate=%.0f errors=%llu start=%.3f "
	       "end=%.3f\n",
	    (unsigned long long)sent, el, el > 0 ? (double)sent / el : 0.0,
	    (unsigned long long)errors, w0, wall_s());
	close(fd);
	return 0;
}
