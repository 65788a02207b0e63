/*
 * app: the relay process's parts, as main.c wires them together and the
 * two dispatchers (relay.sock, ctl) reach them. Owned by main().
 */
#ifndef PC_RELAY_APP_H
#define PC_RELAY_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "pcconf.h"
#include "stream.h"

struct ban;
struct capture_mgr;
struct edge_srv;
struct ipc_chan;

struct relay_app {
	struct ev_loop *loop;
	struct pc_conf conf;
	const char *conf_path;
	struct relay r;
	struct ban *ban;
	struct capture_mgr *cap;
	struct state *state;
	struct edge_srv *edge;
	struct ipc_chan *ctl;
	uint64_t start_s;
	uint64_t capacity_streams;
	char mode[160]; /* how media is forwarded, and why */
};

/*
 * Starts a capture of a call's media (call_id non-empty: its relay ports)
 * or of the SIP listen ports. 0, or -errno with a reason in err. Defined
 * in dispatch_edge.c, shared with dispatch_ctl.c.
 */
int app_capture_start(struct relay_app *a, const char *call_id,
    const char *path, uint32_t max_bytes, uint32_t max_seconds, char *err,
    size_t errlen);

#endif
