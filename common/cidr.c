#include <arpa/inet.h>
#include <string.h>

#include "cidr.h"

int
cidr_parse(const char *text, struct cidr *out)
{
	char buf[64];
	const char *slash = strchr(text, '/');
	size_t alen = slash != NULL ? (size_t)(slash - text) : strlen(text);
	if (alen == 0 || alen >= sizeof buf)
		return -1;
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	memset(out, 0, sizeof *out);
	unsigned maxp;
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = 4;
		maxp = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = 6;
		maxp = 128;
	} else {
		return -1;
	}
	unsigned p = maxp;
	if (slash != NULL) {
		const char *s = slash + 1;
		if (*s == '\0' || strlen(s) > 3)
			return -1;
		p = 0;
		for (; *s != '\0'; s++) {
			if (*s < '0' || *s > '9')
				return -1;
			p = p * 10 + (unsigned)(*s - '0');
		}
		if (p > maxp)
			return -1;
	}
	out->prefix = (uint8_t)p;
	/* Clear host bits so matching compares only the prefix. */
	for (unsigned i = 0; i < 16; i++) {
		unsigned bit = i * 8;
		if (bit >= p)
			out->addr[i] = 0;
		else if (bit + 8 > p)
			out->addr[i] &= (uint8_t)(0xff << (8 - (p - bit)));
	}
	return 0;
}

bool
cidr_holds(const struct cidr *c, const struct ipc_addr *a)
{
	if (a->family != c->family)
		return false;
	unsigned p = c->prefix, full = p / 8, rest = p % 8;
	if (memcmp(a->addr, c->addr, full) != 0)
		return false;
	if (rest != 0) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));
		if ((a->addr[full] & mask) != c->addr[full])
			return false;
	}
	return true;
}
