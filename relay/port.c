/* Media port pairs and their bound sockets (see port.h). */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "port.h"

bool
port_pool_init(struct port_pool *p, uint16_t lo, uint16_t hi)
{
	memset(p, 0, sizeof(*p));
	if (lo % 2)
		lo++;
	if (lo == 0 || hi < lo + 1)
		return false;
	p->lo = lo;
	p->npairs = ((uint32_t)hi - lo + 1) / 2;
	p->hi = (uint16_t)(lo + p->npairs * 2 - 1);
	p->nfree = p->npairs;
	p->is_used = calloc(p->npairs, 1);
	return p->is_used != NULL;
}

void
port_pool_free(struct port_pool *p)
{
	free(p->is_used);
	p->is_used = NULL;
}

uint16_t
port_alloc(struct port_pool *p)
{
	if (p->nfree == 0)
		return 0;
	for (uint32_t i = 0; i < p->npairs; i++) {
		uint32_t k = (p->next + i) % p->npairs;

		if (!p->is_used[k]) {
			p->is_used[k] = 1;
			p->nfree--;
			p->next = (k + 1) % p->npairs;
			return (uint16_t)(p->lo + 2 * k);
		}
	}
	return 0;
}

uint16_t
port_alloc_quad(struct port_pool *p)
{
	/* The first pair index whose even port is a multiple of 4. */
	uint32_t first = (p->lo % 4) ? 1 : 0, nquads, q0;

	if (p->nfree < 2 || p->npairs < first + 2)
		return 0;
	nquads = (p->npairs - first) / 2;
	/* Round robin from the next pair on, as port_alloc(). */
	q0 = p->next > first ? (p->next - first + 1) / 2 : 0;
	for (uint32_t i = 0; i < nquads; i++) {
		uint32_t q = (q0 + i) % nquads;
		uint32_t k = first + 2 * q;

		if (!p->is_used[k] && !p->is_used[k + 1]) {
			p->is_used[k] = 1;
			p->nfree--;
			p->next = (k + 2) % p->npairs;
			return (uint16_t)(p->lo + 2 * k);
		}
	}
	return 0;
}

bool
port_in_range(const struct port_pool *p, uint16_t port)
{
	return port >= p->lo && port <= p->hi;
}

bool
port_take(struct port_pool *p, uint16_t rtp)
{
	uint32_t k;

	if (!port_in_range(p, rtp) || (rtp - p->lo) % 2)
		return false;
	k = (uint32_t)(rtp - p->lo) / 2;
	if (p->is_used[k])
		return false;
	p->is_used[k] = 1;
	p->nfree--;
	return true;
}

void
port_release(struct port_pool *p, uint16_t rtp)
{
	uint32_t k;

	if (!port_in_range(p, rtp) || (rtp - p->lo) % 2)
		return;
	k = (uint32_t)(rtp - p->lo) / 2;
	if (p->is_used[k]) {
		p->is_used[k] = 0;
		p->nfree++;
	}
}

int
port_bind(const struct ipc_addr *addr, uint16_t port)
{
	struct ipc_addr a = *addr;
	struct sockaddr_storage ss;
	unsigned sl;
	int fd, e;

	a.port = port;
	sl = ipc_addr_to_sa(&a, &ss);
	if (sl == 0) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}
