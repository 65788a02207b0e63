/*
 * rtpsend: a tiny RTP endpoint for the relay's tests. One UDP socket, as a
 * phone has: it sends real RTP packets (version 2, PCMU, 160-byte payload,
 * consecutive sequence numbers, one SSRC) to a destination at a fixed rate
 * and counts the RTP packets it receives on the same socket (distinct
 * sequence numbers too). Counters go to a stats file a test can poll.
 *
 *   rtpsend -l ADDR:PORT [-d ADDR:PORT] [-n COUNT] [-r PPS] [-s SSRC]
 *           [-t SECONDS] [-w START_DELAY_S] [-f STATSFILE]
 *
 * Without -d it only receives. It ends after -t seconds (default 10) or
 * SIGTERM, writing the stats file a last time: "sent=N received=M
 * unique=U".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void
on_term(int s)
{
	(void)s;
	stop = 1;
}

static int
parse(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128];
	const char *c = strrchr(s, ':');
	size_t n;

	if (c == NULL || (size_t)(c - s) >= sizeof(host))
		return -1;
	n = (size_t)(c - s);
	memcpy(host, s, n);
	host[n] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		host[n - 1] = '\0';
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)atoi(c + 1));
		*len = sizeof(*a);
		return inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1 ? 0
		                                                         : -1;
	}
	{
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)atoi(c + 1));
		*len = sizeof(*a);
		return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
	}
}

static uint64_t
now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

static void
write_stats(const char *path, unsigned long sent, unsigned long recvd,
    unsigned long uniq)
{
	char tmp[512];
	FILE *f;

	if (path == NULL)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f == NULL)
		return;
	fprintf(f, "sent=%lu received=%lu unique=%lu\n", sent, recvd, uniq);
	fclose(f);
	rename(tmp, path);
}

int
main(int argc, char **argv)
{
	struct sockaddr_storage la, da;
	socklen_t ll = 0, dl = 0;
	const char *stats = NULL;
	unsigned long count = 0, sent = 0, recvd = 0, uniq = 0;
	double rate = 50;
	uint32_t ssrc = 0x11223344;
	double secs = 10, delay = 0;
	bool has_dest = false;
	static uint8_t seen[65536];
	uint64_t start, next, last_stats = 0;
	int fd, o;

	while ((o = getopt(argc, argv, "l:d:n:r:s:t:f:w:")) != -1) {
		switch (o) {
		case 'l':
			if (parse(optarg, &la, &ll) < 0)
				return 2;
			break;
		case 'd':
			if (parse(optarg, &da, &dl) < 0)
				return 2;
			has_dest = true;
			break;
		case 'n':
			count = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			rate = atof(optarg);
			break;
		case 's':
			ssrc = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 't':
			secs = atof(optarg);
			break;
		case 'f':
			stats = optarg;
			break;
		case 'w':
			delay = atof(optarg);
			break;
		default:
			return 2;
		}
	}
	if (ll == 0 || rate <= 0 || secs > 600) {
		fprintf(stderr, "usage: see tests/tools/rtpsend.c\n");
		return 2;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	fd = socket(la.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&la, ll) < 0) {
		perror("rtpsend: bind");
		return 1;
	}
	start = now_us();
	/* -w: let the far end's socket come up before the first packet. */
	next = start + (uint64_t)(delay * 1e6);
	while (!stop && now_us() - start < (uint64_t)(secs * 1e6)) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint64_t t = now_us();
		int wait_ms = 20;

		if (has_dest && sent < count && t >= next) {
			uint8_t pkt[172];
			uint16_t seq = (uint16_t)sent;
			uint32_t ts = (uint32_t)sent * 160;

			memset(pkt, 0xff, sizeof(pkt));
			pkt[0] = 0x80;
			pkt[1] = 0; /* PCMU */
			pkt[2] = (uint8_t)(seq >> 8);
			pkt[3] = (uint8_t)seq;
			pkt[4] = (uint8_t)(ts >> 24);
			pkt[5] = (uint8_t)(ts >> 16);
			pkt[6] = (uint8_t)(ts >> 8);
			pkt[7] = (uint8_t)ts;
			pkt[8] = (uint8_t)(ssrc >> 24);
			pkt[9] = (uint8_t)(ssrc >> 16);
			pkt[10] = (uint8_t)(ssrc >> 8);
			pkt[11] = (uint8_t)ssrc;
			if (sendto(fd, pkt, sizeof(pkt), 0,
			        (struct sockaddr *)&da, dl) == sizeof(pkt))
				sent++;
			next += (uint64_t)(1e6 / rate);
			continue;
		}
		if (has_dest && sent < count)
			wait_ms = next > t ? (int)((next - t) / 1000) : 0;
		if (poll(&p, 1, wait_ms) > 0) {
			uint8_t b[2048];
			ssize_t r;

			while ((r = recv(fd, b, sizeof(b), MSG_DONTWAIT)) > 0) {
				uint16_t seq;

				if (r < 12 || (b[0] >> 6) != 2)
					continue;
				recvd++;
				seq = (uint16_t)(b[2] << 8 | b[3]);
				if (!seen[seq]) {
					seen[seq] = 1;
					uniq++;
				}
			}
		}
		if (now_us() - last_stats > 100000) {
			write_stats(stats, sent, recvd, uniq);
			last_stats = now_us();
		}
	}
	write_stats(stats, sent, recvd, uniq);
	printf("sent=%lu received=%lu unique=%lu\n", sent, recvd, uniq);
	return 0;
}
