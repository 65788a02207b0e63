/*
 * ctl commands. Replies are one datagram; a list longer than one datagram
 * is cut at its end and the reply says so in its message.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl_cmds.h"
#include "ctl_rows.h"
#include "dispatch_ctl.h"
#include "ipc.h"
#include "log.h"
#include "sdp_rw.h"
#include "stream.h"

#define ROWS_MAX (60 * 1024)

static uint8_t rows_buf[ROWS_MAX];

static void
reply(struct edge *e, uint64_t id, int status, const char *code,
    const char *message, const struct ctl_rows *rows)
{
	struct ipc_ctl_reply r;
	memset(&r, 0, sizeof r);
	r.status = status;
	if (code != NULL)
		snprintf(r.error_code, sizeof r.error_code, "%s", code);
	if (message != NULL)
		snprintf(r.message, sizeof r.message, "%s", message);
	r.rows_len = rows != NULL ? (uint32_t)rows->len : 0;
	if (ipc_chan_send(e->ctl, IPC_CTL_REPLY, 0, id, &r, sizeof r,
	        rows != NULL ? rows->buf : NULL, r.rows_len) != 0)
		log_warnx("ctl: reply not sent");
}

static void
stats_row(struct edge *e, struct ctl_rows *rows)
{
	const struct edge_stats *s = &e->st;
#define U(n) ctl_rows_u64(rows, #n, s->n)
	U(rx_msgs);
	U(tx_msgs);
	U(rx_requests);
	U(rx_responses);
	U(sip_in_invite);
	U(sip_in_register);
	U(bad_requests);
	U(bad_dropped);
	U(scanners);
	U(drops_ratelimit);
	U(drops_global);
	U(drops_acl);
	U(drops_banned);
	U(bans);
	U(core_down_503);
	U(topo_bad_tokens);
	U(conns_accepted);
	U(conns_refused);
	U(conns_closed);
	U(framing_errors);
	U(keepalives);
	U(media_offers);
	U(media_answers);
	U(media_errors);
	U(media_deletes);
	U(tx_errors);
#undef U
	ctl_rows_u64(rows, "connections", stream_count(e));
	ctl_rows_u64(rows, "rate_sources", rate_count(e->rate));
	ctl_rows_u64(
	    rows, "bans_active", ban_count_active(e->ban, edge_now(e)));
	ctl_rows_u64(rows, "calls_anchored", sdp_rw_ncalls(e));
	ctl_rows_end_row(rows);
}

static void
ban_row(const struct ban_info *bi, void *arg)
{
	struct ctl_rows *rows = arg;
	char a[64];
	struct ipc_addr x = bi->addr;
	x.port = 0;
	ctl_rows_str(rows, "addr", ipc_addr_str(&x, a, sizeof a));
	ctl_rows_u64(rows, "count", bi->count);
	ctl_rows_str(rows, "reason", bi->reason);
	ctl_rows_u64(rows, "until_ms", bi->until_ms);
	ctl_rows_end_row(rows);
}

static void
ctl_msg(struct ipc_chan *ch, const struct ipc_msg *m, void *arg)
{
	struct edge *e = arg;
	(void)ch;
	if (m->hdr.type != IPC_CTL_REQUEST)
		return;
	struct ipc_ctl_request req;
	struct ipc_reader r;
	ipc_reader_init(&r, m);
	if (!ipc_read(&r, &req, sizeof req))
		fatalx("ctl: short request");
	const uint8_t *args = ipc_read_ptr(&r, req.args_len);
	if (args == NULL || !ipc_reader_done(&r))
		fatalx("ctl: request length mismatch");
	req.cmd[sizeof req.cmd - 1] = '\0';
	struct ctl_rows rows;
	ctl_rows_init(&rows, rows_buf, sizeof rows_buf);
	uint64_t id = m->hdr.id;
	if (strcmp(req.cmd, "stats") == 0) {
		stats_row(e, &rows);
		reply(e, id, 0, NULL, NULL, &rows);
	} else if (strcmp(req.cmd, "status") == 0) {
		ctl_rows_u64(&rows, "pid", (uint64_t)getpid());
		ctl_rows_u64(
		    &rows, "uptime_s", (edge_now(e) - e->start_ms) / 1000);
		ctl_rows_str(&rows, "version", PACKAGE_VERSION);
		ctl_rows_bool(&rows, "core_connected", e->core != NULL);
		ctl_rows_bool(&rows, "relay_connected", e->relay != NULL);
		ctl_rows_u64(&rows, "listeners", e->nlis);
		ctl_rows_u64(&rows, "connections", stream_count(e));
		ctl_rows_end_row(&rows);
		reply(e, id, 0, NULL, NULL, &rows);
	} else if (strcmp(req.cmd, "log.level") == 0) {
		struct slice lv;
		char name[16];
		int level;
		if (!ctl_rows_get_str(args, req.args_len, "level", &lv) ||
		    !slice_copy_cstr(lv, name, sizeof name) ||
		    (level = log_level_parse(name)) < 0) {
			reply(e, id, -22, CTL_E_BAD_ARGS,
			    "level: error, warn, info or debug", NULL);
			return;
		}
		log_set_level((enum log_level)level);
		reply(e, id, 0, NULL, NULL, NULL);
	} else if (strcmp(req.cmd, "reload") == 0) {
		struct slice p;
		char path[512] = "";
		if (ctl_rows_get_str(args, req.args_len, "path", &p))
			slice_copy_cstr(p, path, sizeof path);
		char applied[160], restart[160];
		if (edge_reload(e, path[0] ? path : e->conf_path, applied,
		        sizeof applied, restart, sizeof restart) != 0) {
			reply(e, id, -22, CTL_E_BAD_ARGS,
			    "configuration rejected (see the edge's log)",
			    NULL);
			return;
		}
		ctl_rows_str(&rows, "applied", applied);
		ctl_rows_str(&rows, "restart_needed", restart);
		ctl_rows_end_row(&rows);
		reply(e, id, 0, NULL, NULL, &rows);
	} else if (strcmp(req.cmd, "shutdown") == 0) {
		reply(e, id, 0, NULL, NULL, NULL);
		e->stopping = true;
		ev_stop(e->loop);
	} else if (strcmp(req.cmd, "bans.list") == 0) {
		ban_walk(e->ban, edge_now(e), ban_row, &rows);
		reply(e, id, 0, NULL, rows.overflow ? "list truncated" : NULL,
		    &rows);
	} else if (strcmp(req.cmd, "flows.list") == 0) {
		stream_list(e, &rows);
		edge_udp_flows_list(e, &rows);
		reply(e, id, 0, NULL, rows.overflow ? "list truncated" : NULL,
		    &rows);
	} else {
		reply(e, id, -38, CTL_E_UNKNOWN_CMD, req.cmd, NULL);
	}
}

static void
ctl_closed(struct ipc_chan *ch, void *arg)
{
	struct edge *e = arg;
	/* The supervisor went away: a child without it stops. */
	log_warnx("ctl channel closed; shutting down");
	ipc_chan_free(ch);
	e->ctl = NULL;
	e->stopping = true;
	ev_stop(e->loop);
}

int
dispatch_ctl_start(struct edge *e, int fd)
{
	e->ctl = ipc_chan_new(e->loop, fd, &ipc_cat_ctl, 1u << 20,
	    IPC_ROLE_EDGE, "edge", ctl_msg, ctl_closed, e);
	return e->ctl != NULL ? 0 : -1;
}

void
dispatch_ctl_stop(struct edge *e)
{
	if (e->ctl != NULL)
		ipc_chan_free(e->ctl);
	e->ctl = NULL;
}
