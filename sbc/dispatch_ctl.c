/*
 * ctl commands. A reply is one datagram of at most PART_MAX bytes of rows;
 * a longer list (flows.list, bans.list) is sent as several parts split at
 * row boundaries, IPC_F_MORE on all but the last, which portcullisd joins
 * (as it does the relay's). Only a list past LIST_MAX is cut, and the last
 * part says so in its message.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
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
#define PART_MAX ROWS_MAX
/* Below portcullisd's limit on a joined reply (64 MiB). */
#define LIST_MAX (48u << 20)
/* The parts of a long list wait in the channel's queue. */
#define CTL_HIGH_WATER (LIST_MAX + (4u << 20))

static uint8_t rows_buf[ROWS_MAX];

static void
reply_part(struct edge *e, uint64_t id, uint16_t flags, int status,
    const char *code, const char *message, const uint8_t *rows, size_t len)
{
	struct ipc_ctl_reply r;
	memset(&r, 0, sizeof r);
	r.status = status;
	if (code != NULL)
		snprintf(r.error_code, sizeof r.error_code, "%s", code);
	if (message != NULL)
		snprintf(r.message, sizeof r.message, "%s", message);
	r.rows_len = (uint32_t)len;
	if (ipc_chan_send(e->ctl, IPC_CTL_REPLY, flags, id, &r, sizeof r, rows,
	        r.rows_len) != 0)
		log_warnx("ctl: reply not sent");
}

static void
reply(struct edge *e, uint64_t id, int status, const char *code,
    const char *message, const struct ctl_rows *rows)
{
	reply_part(e, id, 0, status, code, message,
	    rows != NULL ? rows->buf : NULL, rows != NULL ? rows->len : 0);
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

/* Fills rows with a whole list (the walk stops when a row does not fit). */
typedef void (*list_fill)(struct edge *e, struct ctl_rows *rows);

/* Sends the rows of buf[0..len) (whole rows) in parts of at most
 * PART_MAX bytes, each ending at a row end. */
static void
send_parts(struct edge *e, uint64_t id, const uint8_t *buf, size_t len,
    const char *last_message)
{
	struct ctl_reader rd;
	struct ctl_field f;
	size_t start = 0, row_end = 0;
	ctl_reader_init(&rd, buf, len);
	while (ctl_reader_next(&rd, &f) == 1) {
		if (f.type != CTL_T_END)
			continue;
		size_t end = len - rd.left;
		if (end - start > PART_MAX && row_end > start) {
			reply_part(e, id, IPC_F_MORE, 0, NULL, NULL,
			    buf + start, row_end - start);
			start = row_end;
		}
		row_end = end;
	}
	/* A single row larger than a part cannot occur: ctl_rows fields are
	 * short and rows have few of them. */
	if (row_end - start > PART_MAX)
		fatalx("ctl: a row larger than a reply");
	reply_part(
	    e, id, 0, 0, NULL, last_message, buf + start, row_end - start);
}

static void
reply_list(struct edge *e, uint64_t id, list_fill fill)
{
	/* Most lists fit in one datagram; a longer one is built again in a
	 * buffer large enough (the walk does not change the tables). */
	struct ctl_rows rows;
	ctl_rows_init(&rows, rows_buf, sizeof rows_buf);
	fill(e, &rows);
	if (!rows.overflow) {
		reply(e, id, 0, NULL, NULL, &rows);
		return;
	}
	size_t cap = 4 * sizeof rows_buf;
	uint8_t *big = NULL;
	for (;;) {
		uint8_t *nb = realloc(big, cap);
		if (nb == NULL) {
			free(big);
			reply(
			    e, id, -12, CTL_E_INTERNAL, "out of memory", NULL);
			return;
		}
		big = nb;
		ctl_rows_init(&rows, big, cap);
		fill(e, &rows);
		if (!rows.overflow || cap >= LIST_MAX)
			break;
		cap = cap * 4 > LIST_MAX ? LIST_MAX : cap * 4;
	}
	/* An overflowing builder stopped inside a row: keep whole rows. */
	send_parts(
	    e, id, big, rows.len, rows.overflow ? "list truncated" : NULL);
	free(big);
}

static void
fill_bans(struct edge *e, struct ctl_rows *rows)
{
	ban_walk(e->ban, edge_now(e), ban_row, rows);
}

static void
fill_flows(struct edge *e, struct ctl_rows *rows)
{
	stream_list(e, rows);
	edge_udp_flows_list(e, rows);
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
		reply_list(e, id, fill_bans);
	} else if (strcmp(req.cmd, "flows.list") == 0) {
		reply_list(e, id, fill_flows);
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
	e->ctl = ipc_chan_new(e->loop, fd, &ipc_cat_ctl, CTL_HIGH_WATER,
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
