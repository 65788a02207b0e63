/*
 * Fuzz target: relay's handling of relay.sock media requests. Input bytes
 * become a sequence of fixed-size OFFER/ANSWER/QUERY/DELETE bodies applied
 * to a user-space relay on 127.0.0.1 (ports 62000-62039); whatever they
 * say, relay answers with a status and never leaks a port: after deleting
 * every call the port pool is full again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ev.h"
#include "hash.h"
#include "stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ev_loop *loop;
static struct relay r;
static char ids[64][256];
static size_t nids;

static void
collect(struct rcall *c, void *arg)
{
	(void)arg;
	if (nids < 64)
		memcpy(ids[nids++], c->call_id, 256);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_addr a;

	if (loop == NULL) {
		hash_seed_random();
		loop = ev_loop_new();
		ipc_addr_parse(&a, "127.0.0.1", 0);
		if (!relay_init(&r, loop, &a, NULL, 62000, 62039))
			abort();
	}
	while (size >= 1 + sizeof(struct ipc_media_req)) {
		struct ipc_media_req q;
		struct ipc_media_reply rep;
		struct ipc_media_ref ref;
		uint8_t op = data[0] % 4;

		memcpy(&q, data + 1, sizeof(q));
		/* Few distinct calls, so requests meet each other. */
		q.call_id[0] = (char)('a' + (q.call_id[0] & 3));
		memcpy(&ref, &q, sizeof(ref));
		if (op <= 1) {
			relay_media_update(&r, &q, op == 1, &rep);
			if (rep.status > 0 ||
			    rep.nstreams > IPC_MEDIA_MAX_STREAMS)
				__builtin_trap();
		} else if (op == 2) {
			relay_media_query(&r, &ref, &rep);
		} else {
			relay_media_delete(&r, &ref);
		}
		data += 1 + sizeof(q);
		size -= 1 + sizeof(q);
	}
	nids = 0;
	relay_call_walk(&r, collect, NULL);
	for (size_t i = 0; i < nids; i++) {
		struct ipc_media_ref ref;

		memcpy(ref.call_id, ids[i], 256);
		if (relay_media_delete(&r, &ref) != 0)
			__builtin_trap();
	}
	if (r.pool.nfree != r.pool.npairs || r.ncalls != 0 || r.nstreams != 0)
		__builtin_trap();
	return 0;
}
