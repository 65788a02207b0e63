/*
 * udp_fixture: loopback UDP helpers shared by the relay's unit tests that
 * move real packets (a bound socket, an RTP packet, a count of what
 * arrived after the loop ran). Header-only; the caller owns the sockets.
 */
#ifndef PC_TEST_UDP_FIXTURE_H
#define PC_TEST_UDP_FIXTURE_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ev.h"

/* A non-blocking socket on 127.0.0.1 at a free port (*port); bufsz > 0
 * sets both buffer sizes, so a test can queue many packets. */
static inline int
udp_fixture_socket(uint16_t *port, int bufsz)
{
	struct sockaddr_in a = {0};
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &l);
	if (bufsz > 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* A 172-byte RTP packet (version 2) with this SSRC and sequence number. */
static inline void
udp_fixture_rtp(int fd, uint16_t to, uint32_t ssrc, uint16_t seq)
{
	uint8_t p[172] = {0x80, 0};
	struct sockaddr_in a = {0};

	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	p[8] = (uint8_t)(ssrc >> 24);
	p[11] = (uint8_t)ssrc;
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(to);
	sendto(fd, p, sizeof(p), 0, (struct sockaddr *)&a, sizeof(a));
}

/* Runs the loop a little, then counts what reached fd. */
static inline int
udp_fixture_drain(struct ev_loop *loop, int fd)
{
	uint8_t b[2048];
	int n = 0;

	for (int i = 0; i < 20; i++)
		ev_run_once(loop, 5);
	while (recv(fd, b, sizeof(b), MSG_DONTWAIT) > 0)
		n++;
	return n;
}

#endif
