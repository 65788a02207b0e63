/*
 * Fuzzes what core does with a SIP message from edge: parsing, the
 * transaction layer, registrar, authentication, routing and forking
 * (proxy_sip_in) on a real core state in a temporary directory. The first
 * byte picks the source flow (UDP/TCP, public/trunk), whether
 * authentication is required and whether the edge flagged the Request-URI
 * as one of its Contact tokens (IPC_SIPF_RURI_CONTACT: core then looks the
 * device up by address); the rest is the message. The message's CSeq
 * (and a PRACK's RAck) is also moved both ways, as after a carrier's
 * challenge. A fake clock
 * jumps 40 s per input so every transaction and binding times out.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/core_run.h"
#include "core/proxy.h"
#include "core/proxy_int.h"
#include "hash.h"
#include "log.h"

static struct core core;
static struct ev_loop *loop;
static uint64_t fake_ms = 1000;
static char dir[] = "/tmp/pc-fuzz-core.XXXXXX";

static uint64_t
clock_fn(void *arg)
{
	(void)arg;
	return fake_ms;
}

static void
cleanup(void)
{
	char cmd[128];

	core_fini(&core);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
}

static int
init(void)
{
	char path[256];

	log_init("fuzz-core", LOG_LVL_ERROR);
	hash_seed_random();
	if (mkdtemp(dir) == NULL || pcconf_load(NULL, &core.conf) < 0)
		return -1;
	free(core.conf.state_dir);
	free(core.conf.runtime_dir);
	snprintf(path, sizeof(path), "%s/state", dir);
	core.conf.state_dir = strdup(path);
	snprintf(path, sizeof(path), "%s/run", dir);
	core.conf.runtime_dir = strdup(path);
	loop = ev_loop_new();
	ev_set_clock(loop, clock_fn, NULL);
	if (core_init(&core, loop) < 0)
		return -1;
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct ipc_flow f;

	if (!ready) {
		if (init() < 0)
			abort();
		ready = 1;
	}
	if (size < 1 || size > 65536)
		return 0;
	memset(&f, 0, sizeof(f));
	f.transport = (data[0] & 1) ? IPC_TP_TCP : IPC_TP_UDP;
	f.role = (data[0] & 2) ? IPC_FLOW_ROLE_TRUNK : IPC_FLOW_ROLE_PUBLIC;
	f.conn_id = (data[0] & 1) ? 7 : 0;
	ipc_addr_parse(&f.remote, "192.0.2.7", 5060);
	ipc_addr_parse(&f.local, "127.0.0.1", 5060);
	core.conf.core.auth.require = (data[0] & 4) != 0;
	core.in_flags = (data[0] & 16) ? IPC_SIPF_RURI_CONTACT : 0;
	proxy_sip_in(&core, &f, (const char *)data + 1, (uint32_t)(size - 1));
	core.in_flags = 0;
	struct arena a;
	arena_init(&a, 8192, 1024 * 1024);
	struct slice msg =
	    slice_make((const char *)data + 1, (uint32_t)(size - 1));
	(void)px_cseq_shift(msg, (data[0] & 8) ? 1 : -1, &a);
	arena_free(&a);
	fake_ms += 40000;
	ev_run_timers(loop);
	return 0;
}
