/*
 * Source address filtering per listener. Lists are short (operators write
 * them by hand), so a linear scan beats any tree here.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"

static int
parse_list(struct cidr **out, size_t *nout, char *const *src, size_t n,
    const char *what, char *err, size_t errlen)
{
	*out = NULL;
	*nout = 0;
	if (n == 0)
		return 0;
	*out = calloc(n, sizeof **out);
	if (*out == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (cidr_parse(src[i], &(*out)[i]) != 0) {
			snprintf(err, errlen, "%s[%zu]: \"%s\" is not a CIDR",
			    what, i, src[i]);
			free(*out);
			*out = NULL;
			return -1;
		}
	}
	*nout = n;
	return 0;
}

int
acl_init(struct acl *a, char *const *allow, size_t nallow, char *const *deny,
    size_t ndeny, char *err, size_t errlen)
{
	memset(a, 0, sizeof *a);
	if (parse_list(&a->allow, &a->nallow, allow, nallow, "acl_allow", err,
	        errlen) != 0)
		return -1;
	if (parse_list(&a->deny, &a->ndeny, deny, ndeny, "acl_deny", err,
	        errlen) != 0) {
		acl_free(a);
		return -1;
	}
	return 0;
}

void
acl_free(struct acl *a)
{
	free(a->allow);
	free(a->deny);
	memset(a, 0, sizeof *a);
}

void
acl_addr_normalise(struct ipc_addr *a)
{
	static const uint8_t mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (a->family == 6 && memcmp(a->addr, mapped, 12) == 0) {
		memmove(a->addr, a->addr + 12, 4);
		memset(a->addr + 4, 0, 12);
		a->family = 4;
	}
}

bool
acl_rule_match(const struct cidr *r, const struct ipc_addr *src)
{
	struct ipc_addr s = *src;
	acl_addr_normalise(&s);
	return cidr_holds(r, &s);
}

bool
acl_permits(const struct acl *a, const struct ipc_addr *src)
{
	for (size_t i = 0; i < a->ndeny; i++)
		if (acl_rule_match(&a->deny[i], src))
			return false;
	if (a->nallow == 0)
		return true;
	for (size_t i = 0; i < a->nallow; i++)
		if (acl_rule_match(&a->allow[i], src))
			return true;
	return false;
}

int
acl_trunk_rules(const struct pc_core_conf *cc, struct cidr **out, size_t *nout)
{
	size_t cap = 0, n = 0;
	for (size_t i = 0; i < cc->ntrunks; i++)
		cap += cc->trunks[i].inbound.nacl + cc->trunks[i].npeers;
	*out = NULL;
	*nout = 0;
	if (cap == 0)
		return 0;
	struct cidr *v = calloc(cap, sizeof *v);
	if (v == NULL)
		return -1;
	for (size_t i = 0; i < cc->ntrunks; i++) {
		const struct pc_core_trunk *t = &cc->trunks[i];
		for (size_t k = 0; k < t->inbound.nacl; k++)
			if (t->inbound.acl[k] != NULL &&
			    cidr_parse(t->inbound.acl[k], &v[n]) == 0)
				n++;
		for (size_t k = 0; k < t->npeers; k++)
			if (t->peers[k].address != NULL &&
			    cidr_parse(t->peers[k].address, &v[n]) == 0)
				n++;
	}
	*out = v;
	*nout = n;
	return 0;
}
