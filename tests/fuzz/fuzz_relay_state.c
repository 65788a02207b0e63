/*
 * Fuzz target: the relay's journal line decoder (a damaged state file must
 * be refused, never misread). A line that decodes must encode back to a
 * line that decodes to the same call.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
drop(struct rcall *c)
{
	for (int i = 0; i < c->ns; i++)
		free(c->s[i]);
	free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char line[16384];
	struct rcall *c = state_decode_call((const char *)data, size), *d;
	size_t n;

	if (c == NULL)
		return 0;
	n = state_encode_call(c, line, sizeof(line));
	if (n == 0)
		__builtin_trap();
	d = state_decode_call(line, n);
	if (d == NULL || strcmp(d->call_id, c->call_id) != 0 || d->ns != c->ns)
		__builtin_trap();
	for (int i = 0; i < c->ns; i++)
		if (d->s[i]->leg[0].port != c->s[i]->leg[0].port ||
		    d->s[i]->leg[1].port != c->s[i]->leg[1].port)
			__builtin_trap();
	drop(d);
	drop(c);
	return 0;
}
