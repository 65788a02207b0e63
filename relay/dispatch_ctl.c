/*
 * ctl: portcullisd's requests to relay, answered as ctl_rows. A reply too
 * long for one datagram (media.list of many calls) is split, IPC_F_MORE on
 * all parts but the last.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "ban.h"
#include "capture.h"
#include "ctl_cmds.h"
#include "ctl_rows.h"
#include "dispatch_ctl.h"
#include "dispatch_edge.h"
#include "ipc.h"
#include "ipc_msgs.h"
#include "log.h"
#include "state.h"

#define ROWS_CAP (60 * 1024)

static void
reply(struct relay_app *a, uint64_t id, uint16_t flags, int status,
    const char *code, const char *msg, const void *rows, size_t len)
{
	struct ipc_ctl_reply r;

	memset(&r, 0, sizeof(r));
	r.status = status;
	snprintf(r.error_code, sizeof(r.error_code), "%s", code ? code : "");
	snprintf(r.message, sizeof(r.message), "%s", msg ? msg : "");
	r.rows_len = (uint32_t)len;
	if (ipc_chan_send(a->ctl, IPC_CTL_REPLY, flags, id, &r, sizeof(r), rows,
	        (uint32_t)len) < 0)
		log_warn("ctl: sending reply");
}

static void
fail(struct relay_app *a, uint64_t id, int status, const char *code,
    const char *msg)
{
	reply(a, id, 0, status, code, msg, NULL, 0);
}

struct media_walk {
	struct ctl_rows *rows;
	uint64_t skip, seen;
	bool is_full;
};

static void
addr_pair(const struct rstream *s, char *buf, size_t cap)
{
	char x[64], y[64];
	struct ipc_addr a = stream_leg_dst(s, 0, 0);
	struct ipc_addr b = stream_leg_dst(s, 1, 0);

	snprintf(buf, cap, "%s <-> %s",
	    a.family ? ipc_addr_str(&a, x, sizeof(x)) : "-",
	    b.family ? ipc_addr_str(&b, y, sizeof(y)) : "-");
}

static void
media_one(struct rcall *c, void *arg)
{
	struct media_walk *w = arg;
	size_t mark;
	char buf[160];

	if (w->is_full)
		return;
	if (w->seen++ < w->skip)
		return;
	mark = w->rows->len;
	for (int i = 0; i < c->ns; i++) {
		struct rstream *s = c->s[i];

		ctl_rows_str(w->rows, "call_id", c->call_id);
		ctl_rows_str(w->rows, "from_tag", c->tag[0]);
		ctl_rows_str(w->rows, "to_tag", c->tag[1]);
		ctl_rows_u64(w->rows, "index", s->index);
		snprintf(
		    buf, sizeof(buf), "%u/%u", s->leg[0].port, s->leg[1].port);
		ctl_rows_str(w->rows, "ports", buf);
		addr_pair(s, buf, sizeof(buf));
		ctl_rows_str(w->rows, "peers", buf);
		ctl_rows_bool(w->rows, "latched",
		    s->leg[0].lat[0].peer.family &&
		        s->leg[1].lat[0].peer.family);
		ctl_rows_bool(w->rows, "kernel", s->is_kernel[0]);
		ctl_rows_u64(w->rows, "packets", s->upkts + s->kpkts);
		ctl_rows_u64(w->rows, "bytes", s->ubytes + s->kbytes);
		ctl_rows_u64(w->rows, "user_packets", s->upkts);
		ctl_rows_u64(w->rows, "kernel_packets", s->kpkts);
		ctl_rows_u64(w->rows, "strangers", s->strangers);
		ctl_rows_bool(w->rows, "timed_out", c->is_timed_out);
		ctl_rows_end_row(w->rows);
	}
	if (w->rows->overflow) {
		/* This call goes into the next datagram. */
		w->rows->len = mark;
		w->rows->overflow = false;
		w->is_full = true;
		w->seen--;
	}
}

size_t
dispatch_ctl_media_rows(
    struct relay_app *a, void *buf, size_t cap, uint64_t *pos, int *is_more)
{
	struct ctl_rows rows;
	struct media_walk w = {&rows, *pos, 0, false};

	ctl_rows_init(&rows, buf, cap);
	relay_call_walk(&a->r, media_one, &w);
	*is_more = w.is_full;
	*pos = w.seen;
	return rows.len;
}

static void
cmd_media_list(struct relay_app *a, uint64_t id)
{
	static uint8_t buf[ROWS_CAP];
	uint64_t pos = 0;
	int is_more;

	/* Walk order is stable while nothing changes in between: the table
	 * is not modified inside this loop. */
	do {
		uint64_t before = pos;
		size_t len = dispatch_ctl_media_rows(
		    a, buf, sizeof(buf), &pos, &is_more);

		if (is_more && pos == before) {
			fail(a, id, -E2BIG, CTL_E_INTERNAL,
			    "a call does not fit in a reply");
			return;
		}
		reply(a, id, is_more ? IPC_F_MORE : 0, 0, NULL, NULL, buf, len);
	} while (is_more);
}

static void
cmd_status(struct relay_app *a, uint64_t id)
{
	uint8_t buf[2048];
	struct ctl_rows rows;

	ctl_rows_init(&rows, buf, sizeof(buf));
	ctl_rows_u64(&rows, "pid", (uint64_t)getpid());
	ctl_rows_u64(&rows, "uptime_s", ev_wallclock_s() - a->start_s);
	ctl_rows_str(&rows, "version", PACKAGE_VERSION);
	ctl_rows_bool(&rows, "kernel", a->r.is_kernel);
	ctl_rows_str(&rows, "forwarding", a->mode);
	ctl_rows_u64(&rows, "capacity_streams", a->capacity_streams);
	ctl_rows_u64(&rows, "calls", a->r.ncalls);
	ctl_rows_u64(&rows, "streams", a->r.nstreams);
	ctl_rows_u64(&rows, "peers", dispatch_edge_peers(a->edge));
	ctl_rows_u64(&rows, "captures", capture_count(a->cap));
	ctl_rows_end_row(&rows);
	reply(a, id, 0, 0, NULL, NULL, buf, rows.len);
}

static void
cmd_stats(struct relay_app *a, uint64_t id)
{
	uint8_t buf[2048];
	struct ctl_rows rows;
	const struct relay_stats *s = &a->r.st;
	uint64_t kpkts = 0, kbytes = 0;

	ctl_rows_init(&rows, buf, sizeof(buf));
	ctl_rows_u64(&rows, "media_offers", s->offers);
	ctl_rows_u64(&rows, "media_answers", s->answers);
	ctl_rows_u64(&rows, "media_deletes", s->deletes);
	ctl_rows_u64(&rows, "media_errors", s->errors);
	ctl_rows_u64(&rows, "media_timeouts", s->timeouts);
	ctl_rows_u64(&rows, "latched", s->latched);
	ctl_rows_u64(&rows, "kernel_programmed", s->kernel_programmed);
	ctl_rows_u64(&rows, "kernel_failed", s->kernel_failed);
	ctl_rows_u64(&rows, "user_packets", s->upkts);
	ctl_rows_u64(&rows, "strangers", s->strangers);
	ctl_rows_u64(&rows, "banned_drops", s->banned_drops);
	/* Kernel drops come from the ban rules' counters (absent in
	 * user-space mode, where banned_drops counts every drop). */
	if (a->r.nft != NULL &&
	    nft_ban_counters(a->r.nft, &kpkts, &kbytes) == 0) {
		ctl_rows_u64(&rows, "banned_drops_kernel_packets", kpkts);
		ctl_rows_u64(&rows, "banned_drops_kernel_bytes", kbytes);
	}
	ctl_rows_u64(&rows, "calls", a->r.ncalls);
	ctl_rows_u64(&rows, "streams", a->r.nstreams);
	ctl_rows_u64(&rows, "ports_free", a->r.pool.nfree * 2);
	ctl_rows_end_row(&rows);
	reply(a, id, 0, 0, NULL, NULL, buf, rows.len);
}

/* bans.list: a datagram that fills up goes out as one part (IPC_F_MORE)
 * and the walk goes on in a fresh one, so a long ban list is never cut. */
struct ban_rows {
	struct relay_app *a;
	uint64_t id;
	uint8_t *buf;
	size_t cap;
	struct ctl_rows rows;
};

static void
ban_put(struct ctl_rows *rows, const struct ipc_addr *ad, uint64_t tmo,
    uint64_t exp)
{
	char s[64];

	ctl_rows_str(rows, "addr", ipc_addr_str(ad, s, sizeof(s)));
	ctl_rows_u64(rows, "timeout_s", tmo);
	ctl_rows_u64(rows, "expires_s", exp);
	ctl_rows_end_row(rows);
}

static void
ban_row(const struct ipc_addr *ad, uint64_t tmo, uint64_t exp, void *arg)
{
	struct ban_rows *br = arg;
	size_t mark = br->rows.len;

	ban_put(&br->rows, ad, tmo, exp);
	if (!br->rows.overflow)
		return;
	br->rows.len = mark;
	reply(br->a, br->id, IPC_F_MORE, 0, NULL, NULL, br->buf, mark);
	ctl_rows_init(&br->rows, br->buf, br->cap);
	ban_put(&br->rows, ad, tmo, exp);
}

/* A NUL-terminated copy of a string argument; false if absent. */
static bool
arg_str(const void *args, size_t len, const char *name, char *out, size_t cap)
{
	struct slice s;

	out[0] = '\0';
	if (!ctl_rows_get_str(args, len, name, &s))
		return false;
	return slice_copy_cstr(s, out, cap);
}

static bool
arg_addr(const void *args, size_t len, struct ipc_addr *ad)
{
	char s[64];

	return arg_str(args, len, "addr", s, sizeof(s)) &&
	    ipc_addr_parse(ad, s, 0);
}

static void
cmd_bans(struct relay_app *a, uint64_t id, const char *cmd, const void *args,
    size_t len)
{
	static uint8_t buf[ROWS_CAP];
	struct ipc_addr ad;
	uint64_t tmo = 0;
	int rc;

	if (strcmp(cmd, "bans.list") == 0) {
		struct ban_rows br = {a, id, buf, sizeof(buf), {0}};

		ctl_rows_init(&br.rows, buf, sizeof(buf));
		rc = ban_list(a->ban, ban_row, &br);
		if (rc < 0)
			fail(a, id, rc, CTL_E_INTERNAL, strerror(-rc));
		else
			reply(a, id, 0, 0, NULL, NULL, buf, br.rows.len);
		return;
	}
	if (!arg_addr(args, len, &ad)) {
		fail(a, id, -EINVAL, CTL_E_BAD_ARGS, "addr: an IP address");
		return;
	}
	if (strcmp(cmd, "bans.add") == 0) {
		ctl_rows_get_u64(args, len, "timeout_s", &tmo);
		rc = ban_add(
		    a->ban, &ad, tmo > UINT32_MAX ? UINT32_MAX : (uint32_t)tmo);
	} else {
		rc = ban_del(a->ban, &ad);
	}
	if (rc == -ENOENT)
		fail(a, id, rc, CTL_E_NOT_FOUND, "not banned");
	else if (rc < 0)
		fail(a, id, rc, CTL_E_INTERNAL, strerror(-rc));
	else
		reply(a, id, 0, 0, NULL, NULL, NULL, 0);
}

static void
cmd_capture(struct relay_app *a, uint64_t id, bool is_start, const void *args,
    size_t len)
{
	char call_id[256], path[256], err[160];
	uint64_t mb = 0, ms = 0;
	int rc;

	if (!arg_str(args, len, "path", path, sizeof(path)) ||
	    path[0] == '\0') {
		fail(a, id, -EINVAL, CTL_E_BAD_ARGS, "path: a pcap file");
		return;
	}
	if (!is_start) {
		rc = capture_stop(a->cap, path);
		if (rc < 0)
			fail(a, id, rc, CTL_E_NOT_FOUND, "no such capture");
		else
			reply(a, id, 0, 0, NULL, NULL, NULL, 0);
		return;
	}
	arg_str(args, len, "call_id", call_id, sizeof(call_id));
	ctl_rows_get_u64(args, len, "max_bytes", &mb);
	ctl_rows_get_u64(args, len, "max_seconds", &ms);
	rc = app_capture_start(a, call_id, path,
	    mb > UINT32_MAX ? UINT32_MAX : (uint32_t)mb,
	    ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms, err, sizeof(err));
	if (rc < 0)
		fail(a, id, rc,
		    rc == -ENOENT ? CTL_E_NOT_FOUND : CTL_E_BAD_ARGS, err);
	else
		reply(a, id, 0, 0, NULL, NULL, NULL, 0);
}

static void
cmd_reload(struct relay_app *a, uint64_t id, const void *args, size_t len)
{
	char path[512];
	struct pc_conf nc;
	uint8_t buf[1024];
	struct ctl_rows rows;
	char need[256] = "";
	const struct pc_media_conf *o = &a->conf.relay.media,
	                           *m = &nc.relay.media;

	if (!arg_str(args, len, "path", path, sizeof(path)) || !path[0])
		snprintf(
		    path, sizeof(path), "%s", a->conf_path ? a->conf_path : "");
	if (pcconf_load(path[0] ? path : NULL, &nc) < 0) {
		fail(a, id, -EINVAL, CTL_E_BAD_ARGS,
		    "configuration has errors (see the relay log)");
		return;
	}
	a->r.timeout_ms = (uint64_t)m->timeout_s * 1000;
	a->r.hold_timeout_ms = (uint64_t)m->hold_timeout_s * 1000;
	a->r.latch_wait_ms = m->latch_wait_ms;
	if (strcmp(o->address, m->address) != 0 || o->ports[0] != m->ports[0] ||
	    o->ports[1] != m->ports[1])
		snprintf(need, sizeof(need), "media.address,media.ports");
	if (o->kernel != m->kernel)
		snprintf(need + strlen(need), sizeof(need) - strlen(need),
		    "%smedia.kernel", need[0] ? "," : "");
	pcconf_free(&nc);
	ctl_rows_init(&rows, buf, sizeof(buf));
	ctl_rows_str(&rows, "applied",
	    "media.timeout_s,media.hold_timeout_s,media.latch_wait_ms");
	ctl_rows_str(&rows, "restart_needed", need);
	ctl_rows_end_row(&rows);
	reply(a, id, 0, 0, NULL, NULL, buf, rows.len);
}

static void
on_msg(struct ipc_chan *ch, const struct ipc_msg *m, void *arg)
{
	struct relay_app *a = arg;
	struct ipc_ctl_request q;
	const uint8_t *args;
	char cmd[33];

	(void)ch;
	if (m->hdr.type != IPC_CTL_REQUEST || m->len < sizeof(q))
		fatalx("ctl: unexpected %s from portcullisd",
		    ipc_type_name(&ipc_cat_ctl, m->hdr.type));
	memcpy(&q, m->body, sizeof(q));
	if (q.args_len != m->len - sizeof(q))
		fatalx("ctl: request arguments of %u bytes in a body of %u",
		    q.args_len, m->len);
	args = m->body + sizeof(q);
	memcpy(cmd, q.cmd, sizeof(q.cmd));
	cmd[32] = '\0';

	if (strcmp(cmd, "status") == 0)
		cmd_status(a, m->hdr.id);
	else if (strcmp(cmd, "stats") == 0)
		cmd_stats(a, m->hdr.id);
	else if (strcmp(cmd, "media.list") == 0)
		cmd_media_list(a, m->hdr.id);
	else if (strncmp(cmd, "bans.", 5) == 0 &&
	    (strcmp(cmd, "bans.list") == 0 || strcmp(cmd, "bans.add") == 0 ||
	        strcmp(cmd, "bans.remove") == 0))
		cmd_bans(a, m->hdr.id, cmd, args, q.args_len);
	else if (strcmp(cmd, "capture.start") == 0)
		cmd_capture(a, m->hdr.id, true, args, q.args_len);
	else if (strcmp(cmd, "capture.stop") == 0)
		cmd_capture(a, m->hdr.id, false, args, q.args_len);
	else if (strcmp(cmd, "reload") == 0)
		cmd_reload(a, m->hdr.id, args, q.args_len);
	else if (strcmp(cmd, "log.level") == 0) {
		char lv[16];
		int l;

		arg_str(args, q.args_len, "level", lv, sizeof(lv));
		l = log_level_parse(lv);
		if (l < 0) {
			fail(a, m->hdr.id, -EINVAL, CTL_E_BAD_ARGS,
			    "level: error, warn, info or debug");
			return;
		}
		log_set_level((enum log_level)l);
		reply(a, m->hdr.id, 0, 0, NULL, NULL, NULL, 0);
	} else if (strcmp(cmd, "shutdown") == 0) {
		if (a->state != NULL)
			state_flush(a->state, NULL);
		reply(a, m->hdr.id, 0, 0, NULL, NULL, NULL, 0);
		log_info("relay: shutdown requested; the kernel keeps "
		         "forwarding");
		ev_stop(a->loop);
	} else {
		fail(a, m->hdr.id, -ENOSYS, CTL_E_UNKNOWN_CMD, cmd);
	}
}

static void
on_close(struct ipc_chan *ch, void *arg)
{
	struct relay_app *a = arg;

	(void)ch;
	/* The supervisor is gone; a new one starts a new relay, which
	 * takes the streams over from the kernel table and the journal. */
	log_warnx("ctl: portcullisd closed the control channel; exiting");
	ev_stop(a->loop);
}

int
dispatch_ctl_open(struct relay_app *a, int fd)
{
	a->ctl = ipc_chan_new(a->loop, fd, &ipc_cat_ctl, 16u << 20,
	    IPC_ROLE_RELAY, "relay", on_msg, on_close, a);
	return a->ctl != NULL ? 0 : -1;
}
