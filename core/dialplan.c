/*
 * The dial plan. Why rules are matched by a linear walk: plans are tens
 * of rules, matched once per new call, and priority order with file order
 * for ties is what operators expect to read.
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "dialplan.h"

struct dp_rule {
	const struct pc_core_route *r;
	regex_t re;
	bool has_re;
};

struct dialplan {
	struct dp_rule *rules; /* sorted: priority desc, file order */
	size_t n;
};

static int
rule_cmp(const void *a, const void *b)
{
	const struct dp_rule *x = a, *y = b;

	if (x->r->priority != y->r->priority)
		return x->r->priority > y->r->priority ? -1 : 1;
	return x->r < y->r ? -1 : x->r > y->r; /* file order */
}

struct dialplan *
dialplan_new(const struct pc_core_conf *cc)
{
	struct dialplan *dp = calloc(1, sizeof(*dp));

	if (dp == NULL)
		return NULL;
	dp->rules = calloc(cc->nroutes + 1, sizeof(*dp->rules));
	if (dp->rules == NULL) {
		free(dp);
		return NULL;
	}
	for (size_t i = 0; i < cc->nroutes; i++) {
		struct dp_rule *d = &dp->rules[dp->n];
		d->r = &cc->routes[i];
		if (d->r->match.regex != NULL) {
			if (regcomp(&d->re, d->r->match.regex,
			        REG_EXTENDED | REG_NOSUB) != 0) {
				dialplan_free(dp);
				return NULL;
			}
			d->has_re = true;
		}
		dp->n++;
	}
	qsort(dp->rules, dp->n, sizeof(*dp->rules), rule_cmp);
	return dp;
}

void
dialplan_free(struct dialplan *dp)
{
	if (dp == NULL)
		return;
	for (size_t i = 0; i < dp->n; i++)
		if (dp->rules[i].has_re)
			regfree(&dp->rules[i].re);
	free(dp->rules);
	free(dp);
}

static bool
rule_applies(const struct dp_rule *d, const char *from_trunk, const char *user,
    const char *number)
{
	const struct pc_core_route_match *m = &d->r->match;

	if (m->from == PC_CORE_FROM_USERS && from_trunk != NULL)
		return false;
	if (m->from == PC_CORE_FROM_TRUNKS && from_trunk == NULL)
		return false;
	if (m->trunk != NULL &&
	    (from_trunk == NULL || strcmp(m->trunk, from_trunk) != 0))
		return false;
	if (m->user != NULL && strcmp(m->user, user) != 0)
		return false;
	if (m->prefix != NULL &&
	    strncmp(number, m->prefix, strlen(m->prefix)) != 0)
		return false;
	if (d->has_re && regexec(&d->re, number, 0, NULL, 0) != 0)
		return false;
	return true;
}

int
dialplan_match(const struct dialplan *dp, const char *from_trunk,
    const char *user, const char *number, const struct pc_core_route **out,
    int max)
{
	int n = 0;

	for (size_t i = 0; dp != NULL && i < dp->n && n < max; i++)
		if (rule_applies(&dp->rules[i], from_trunk, user, number))
			out[n++] = dp->rules[i].r;
	return n;
}

int
dialplan_normalize(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	const char *p = in;

	if (cap < 2)
		return -1;
	if (p[0] == '+') {
		out[o++] = '+';
		p++;
	} else if (p[0] == '0' && p[1] == '0' && p[2] != '\0') {
		out[o++] = '+';
		p += 2;
	}
	for (; *p != '\0'; p++) {
		if (*p == ' ' || *p == '-' || *p == '.' || *p == '(' ||
		    *p == ')')
			continue;
		if (!((*p >= '0' && *p <= '9') || *p == '*' || *p == '#'))
			return -1;
		if (o + 1 >= cap)
			return -1;
		out[o++] = *p;
	}
	out[o] = '\0';
	if (o == 0 || (o == 1 && out[0] == '+'))
		return -1;
	return (int)o;
}

int
dialplan_rewrite(
    const char *num, unsigned strip, const char *prefix, char *out, size_t cap)
{
	size_t nl = strlen(num);
	size_t pl = prefix != NULL ? strlen(prefix) : 0;
	const char *rest = strip < nl ? num + strip : num + nl;
	size_t rl = strlen(rest);

	if (pl + rl + 1 > cap)
		return -1;
	if (pl > 0)
		memcpy(out, prefix, pl);
	memcpy(out + pl, rest, rl + 1);
	return (int)(pl + rl);
}
