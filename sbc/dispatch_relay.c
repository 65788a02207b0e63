/*
 * relay.sock, edge side. On each (re)connection the bans still running are
 * pushed to the relay, so a source banned while the relay was away (or
 * restarting) is dropped in the kernel as soon as the relay is back,
 * not only by the edge's own user-space check.
 */
#include <stdio.h>

#include "dispatch_relay.h"
#include "ipc.h"
#include "log.h"
#include "sdp_rw.h"

#define RELAY_RETRY_MS 250
#define RELAY_HIGH_WATER (4u << 20)

static void relay_msg(struct ipc_chan *ch, const struct ipc_msg *m, void *arg);
static void relay_closed(struct ipc_chan *ch, void *arg);

struct push_walk {
	struct edge *e;
	uint64_t now;
	size_t n;
};

static void
push_one(const struct ban_info *bi, void *arg)
{
	struct push_walk *w = arg;
	if (w->e->relay == NULL)
		return;
	struct ipc_ban b = {0};
	b.addr = bi->addr;
	b.addr.port = 0;
	/* What is left of the ban, rounded up (never 0 = relay's default). */
	b.timeout_s = (uint32_t)((bi->until_ms - w->now + 999) / 1000);
	snprintf(b.reason, sizeof b.reason, "%s", bi->reason);
	if (ipc_chan_send(w->e->relay, IPC_BAN_ADD, 0, ++w->e->next_id, &b,
	        sizeof b, NULL, 0) == 0)
		w->n++;
}

static void
push_bans(struct edge *e)
{
	struct push_walk w = {e, edge_now(e), 0};
	ban_walk(e->ban, w.now, push_one, &w);
	if (w.n > 0)
		log_info("relay: %zu ban(s) pushed", w.n);
}

static void
relay_retry(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct edge *e = arg;
	(void)t;
	if (e->relay != NULL || e->stopping)
		return;
	char path[512];
	pcconf_path(&e->conf, "relay.sock", path, sizeof path);
	int fd = ipc_connect(path);
	if (fd >= 0)
		e->relay =
		    ipc_chan_new(loop, fd, &ipc_cat_relay, RELAY_HIGH_WATER,
		        IPC_ROLE_EDGE, "edge", relay_msg, relay_closed, e);
	if (e->relay == NULL) {
		ev_timer_start(loop, &e->relay_retry, RELAY_RETRY_MS);
		return;
	}
	log_info("connected to relay (%s)", path);
	push_bans(e);
}

static void
relay_closed(struct ipc_chan *ch, void *arg)
{
	struct edge *e = arg;
	if (e->relay != ch)
		return;
	log_warnx("relay connection lost; media anchoring off until it is "
	          "back");
	ipc_chan_free(ch);
	e->relay = NULL;
	sdp_rw_relay_lost(e);
	if (!e->stopping)
		ev_timer_start(e->loop, &e->relay_retry, RELAY_RETRY_MS);
}

static void
relay_msg(struct ipc_chan *ch, const struct ipc_msg *m, void *arg)
{
	struct edge *e = arg;
	(void)ch;
	switch (m->hdr.type) {
	case IPC_MEDIA_REPLY:
	case IPC_MEDIA_TIMEOUT:
		sdp_rw_on_relay(e, m);
		break;
	case IPC_RESULT:
		break; /* BAN_ADD / MEDIA_DELETE acknowledgements */
	default:
		log_warnx("relay: unexpected %s", m->info->name);
		break;
	}
}

void
dispatch_relay_start(struct edge *e)
{
	ev_timer_init(&e->relay_retry, relay_retry, e);
	ev_timer_start(e->loop, &e->relay_retry, 0);
}

void
dispatch_relay_stop(struct edge *e)
{
	ev_timer_stop(e->loop, &e->relay_retry);
	if (e->relay != NULL)
		ipc_chan_free(e->relay);
	e->relay = NULL;
}
