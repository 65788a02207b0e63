/*
 * The ctl channel from portcullisd (--ctl-fd): commands of ctl_cmds.h,
 * arguments and replies as ctl_rows. Long lists are sent as several
 * CTL_REPLY datagrams with IPC_F_MORE on all but the last. User changes
 * are committed before the reply (durable before acknowledged).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "core.h"
#include "ctl_cmds.h"
#include "ctl_rows.h"
#include "log.h"
#include "proxy.h"

#define REPLY_CHUNK 48000
#define IMPORT_MAX_BYTES (64u * 1024 * 1024)

struct reply {
	struct core *c;
	uint64_t id;
	struct ctl_rows rows;
	uint8_t buf[REPLY_CHUNK + 8192];
};

static void
reply_send(
    struct reply *r, int status, const char *code, const char *msg, bool more)
{
	struct ipc_ctl_reply h;

	if (r->c->ctl == NULL)
		return;
	memset(&h, 0, sizeof(h));
	h.status = status;
	snprintf(h.error_code, sizeof(h.error_code), "%s", code ? code : "");
	snprintf(h.message, sizeof(h.message), "%s", msg ? msg : "");
	h.rows_len = (uint32_t)r->rows.len;
	ipc_chan_send(r->c->ctl, IPC_CTL_REPLY, more ? IPC_F_MORE : 0, r->id,
	    &h, sizeof(h), r->buf, (uint32_t)r->rows.len);
	ctl_rows_init(&r->rows, r->buf, sizeof(r->buf));
}

static void
reply_ok(struct reply *r)
{
	reply_send(r, 0, NULL, NULL, false);
}

static void
reply_err(struct reply *r, int status, const char *code, const char *msg)
{
	ctl_rows_init(&r->rows, r->buf, sizeof(r->buf));
	reply_send(r, status, code, msg, false);
}

static void
row_done(struct reply *r)
{
	ctl_rows_end_row(&r->rows);
	if (r->rows.len > REPLY_CHUNK)
		reply_send(r, 0, NULL, NULL, true);
}

static bool
arg_str(const void *args, size_t len, const char *name, char *out, size_t cap)
{
	struct slice s;

	if (!ctl_rows_get_str(args, len, name, &s) || s.len == 0)
		return false;
	return slice_copy_cstr(s, out, cap);
}

static void
cmd_stats(struct core *c, struct reply *r)
{
	struct core_stats *s = &c->st;

	ctl_rows_u64(&r->rows, "sip_in_requests", s->sip_in_requests);
	ctl_rows_u64(&r->rows, "sip_in_responses", s->sip_in_responses);
	ctl_rows_u64(&r->rows, "sip_in_bad", s->sip_in_bad);
	ctl_rows_u64(&r->rows, "sip_out", s->sip_out);
	ctl_rows_u64(&r->rows, "sip_out_dropped", s->sip_out_dropped);
	ctl_rows_u64(&r->rows, "register_ok", s->register_ok);
	ctl_rows_u64(&r->rows, "register_refused", s->register_refused);
	ctl_rows_u64(&r->rows, "auth_challenges", s->auth_challenges);
	ctl_rows_u64(&r->rows, "auth_failures", s->auth_failures);
	ctl_rows_u64(&r->rows, "sip_in_invite", s->invites);
	ctl_rows_u64(&r->rows, "calls_answered", s->calls_answered);
	ctl_rows_u64(&r->rows, "redirects", s->redirects);
	ctl_rows_u64(
	    &r->rows, "retransmissions_absorbed", s->retransmissions_absorbed);
	ctl_rows_u64(&r->rows, "store_flush_errors", s->store_flush_errors);
	ctl_rows_u64(&r->rows, "calls_rejected_total", s->calls_rejected_total);
	ctl_rows_u64(&r->rows, "calls_rejected_user", s->calls_rejected_user);
	ctl_rows_u64(&r->rows, "calls_rejected_trunk", s->calls_rejected_trunk);
	ctl_rows_u64(&r->rows, "trunk_failovers", s->trunk_failovers);
	ctl_rows_u64(&r->rows, "trunk_auth_answers", s->trunk_auth_answers);
	ctl_rows_u64(&r->rows, "trunk_calls_in", s->trunk_calls_in);
	ctl_rows_u64(&r->rows, "trunk_calls_out", s->trunk_calls_out);
	ctl_rows_u64(&r->rows, "did_not_found", s->did_not_found);
	ctl_rows_u64(&r->rows, "calls_active", c->calls_total);
	ctl_rows_u64(&r->rows, "cdr_written", cdr_written(c->cdr));
	ctl_rows_u64(&r->rows, "cdr_pending", cdr_pending(c->cdr));
	ctl_rows_u64(&r->rows, "cdr_dropped", cdr_dropped(c->cdr));
	ctl_rows_u64(&r->rows, "registrations", loc_count(c->loc));
	ctl_rows_u64(
	    &r->rows, "registrations_unsaved", loc_dirty_count(c->loc));
	ctl_rows_u64(&r->rows, "dialogs", dlg_count(c->dlg));
	ctl_rows_u64(&r->rows, "transactions", tx_count(c->tx));
	ctl_rows_u64(&r->rows, "proxy_pending", proxy_pending(c->proxy));
	ctl_rows_u64(&r->rows, "edges", core_edge_count(c));
	row_done(r);
	reply_ok(r);
}

static void
cmd_status(struct core *c, struct reply *r)
{
	ctl_rows_u64(&r->rows, "pid", (uint64_t)getpid());
	ctl_rows_u64(
	    &r->rows, "uptime_s", (uint64_t)(core_now_s(c) - c->start_s));
	ctl_rows_str(&r->rows, "version", PACKAGE_VERSION);
	ctl_rows_u64(&r->rows, "registrations", loc_count(c->loc));
	int64_t nu = store_user_count(c->store);
	ctl_rows_u64(&r->rows, "users", nu < 0 ? 0 : (uint64_t)nu);
	ctl_rows_u64(&r->rows, "dialogs", dlg_count(c->dlg));
	ctl_rows_u64(&r->rows, "edges", core_edge_count(c));
	row_done(r);
	reply_ok(r);
}

struct reg_list {
	struct core *c;
	struct reply *r;
	struct slice aor;
	uint64_t limit, n;
};

static const char *
tp_name(uint8_t tp)
{
	switch (tp) {
	case IPC_TP_TCP:
		return "tcp";
	case IPC_TP_TLS:
		return "tls";
	case IPC_TP_WS:
		return "ws";
	case IPC_TP_WSS:
		return "wss";
	default:
		return "udp";
	}
}

static int
reg_row(struct loc_binding *b, void *arg)
{
	struct reg_list *l = arg;
	struct ctl_rows *rw = &l->r->rows;
	char addr[64];

	if (l->aor.len > 0 && !slice_eq_nocase(loc_slice(b, LOC_S_AOR), l->aor))
		return 0;
	if (l->limit > 0 && l->n >= l->limit)
		return 1;
	int64_t left = b->expires_at - core_now_s(l->c);
	ctl_rows_str(rw, "aor", loc_str(b, LOC_S_AOR));
	ctl_rows_str(rw, "contact", loc_str(b, LOC_S_CONTACT));
	ctl_rows_i64(rw, "expires_s", left > 0 ? left : 0);
	ctl_rows_u64(rw, "q_milli", b->q);
	ctl_rows_str(rw, "transport", tp_name(b->flow.transport));
	ctl_rows_str(
	    rw, "source", ipc_addr_str(&b->flow.remote, addr, sizeof(addr)));
	ctl_rows_u64(rw, "conn_id", b->flow.conn_id);
	ctl_rows_str(rw, "instance", loc_str(b, LOC_S_INSTANCE));
	ctl_rows_u64(rw, "reg_id", b->reg_id);
	ctl_rows_str(rw, "path", loc_str(b, LOC_S_PATH));
	ctl_rows_str(rw, "user_agent", loc_str(b, LOC_S_UA));
	ctl_rows_str(rw, "call_id", loc_str(b, LOC_S_CALL_ID));
	ctl_rows_u64(rw, "cseq", b->cseq);
	ctl_rows_i64(rw, "registered_at", b->registered_at);
	row_done(l->r);
	l->n++;
	return 0;
}

static void
cmd_reg_list(struct core *c, struct reply *r, const void *args, size_t alen)
{
	struct reg_list l = {c, r, SLICE_NULL, 0, 0};

	ctl_rows_get_str(args, alen, "aor", &l.aor);
	ctl_rows_get_u64(args, alen, "limit", &l.limit);
	loc_walk(c->loc, reg_row, &l);
	reply_ok(r);
}

static void
cmd_reg_remove(struct core *c, struct reply *r, const void *args, size_t alen)
{
	struct slice aor = SLICE_NULL, contact = SLICE_NULL;

	if (!ctl_rows_get_str(args, alen, "aor", &aor) || aor.len == 0) {
		reply_err(r, -EINVAL, CTL_E_BAD_ARGS, "aor is required");
		return;
	}
	ctl_rows_get_str(args, alen, "contact", &contact);
	size_t n = loc_remove_aor(c->loc, aor, contact);
	if (n == 0) {
		reply_err(r, -ENOENT, CTL_E_NOT_FOUND, "no such registration");
		return;
	}
	core_flush(c);
	ctl_rows_u64(&r->rows, "removed", n);
	row_done(r);
	reply_ok(r);
}

struct user_list {
	struct reply *r;
};

static int
user_row(const struct store_user *u, void *arg)
{
	struct user_list *l = arg;
	struct ctl_rows *rw = &l->r->rows;

	ctl_rows_str(rw, "user", u->user);
	ctl_rows_str(rw, "domain", u->domain);
	ctl_rows_str(rw, "realm", u->realm);
	ctl_rows_bool(rw, "md5", u->ha1[DIGEST_MD5][0] != '\0');
	ctl_rows_bool(rw, "sha256", u->ha1[DIGEST_SHA256][0] != '\0');
	ctl_rows_u64(rw, "max_calls", u->max_calls);
	row_done(l->r);
	return 0;
}

static bool
valid_name(const char *s)
{
	if (s[0] == '\0')
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == '@' || *s == ',' ||
		    *s == '"' || *s == 0x7f)
			return false;
	return true;
}

static bool
valid_hex(const char *s, size_t len)
{
	if (strlen(s) != len)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		        (*s >= 'A' && *s <= 'F')))
			return false;
	return true;
}

static void
cmd_users(struct core *c, struct reply *r, const char *cmd, const void *args,
    size_t alen)
{
	char user[STORE_USER_MAX], domain[STORE_DOMAIN_MAX], pw[256];
	struct store_user u;

	if (strcmp(cmd, "users.list") == 0) {
		uint64_t limit = 0;
		struct user_list l = {r};
		ctl_rows_get_u64(args, alen, "limit", &limit);
		if (store_user_list(c->store, (size_t)limit, user_row, &l) <
		    0) {
			reply_err(
			    r, -EIO, CTL_E_INTERNAL, store_errmsg(c->store));
			return;
		}
		reply_ok(r);
		return;
	}
	if (!arg_str(args, alen, "user", user, sizeof(user)) ||
	    !valid_name(user)) {
		reply_err(r, -EINVAL, CTL_E_BAD_ARGS, "user is required");
		return;
	}
	if (!arg_str(args, alen, "domain", domain, sizeof(domain)))
		snprintf(
		    domain, sizeof(domain), "%s", route_first_domain(c->route));
	if (!valid_name(domain)) {
		reply_err(r, -EINVAL, CTL_E_BAD_ARGS, "bad domain");
		return;
	}
	if (strcmp(cmd, "users.remove") == 0) {
		int rc = store_user_remove(
		    c->store, slice_cstr(user), slice_cstr(domain));
		if (rc < 0)
			reply_err(
			    r, -EIO, CTL_E_INTERNAL, store_errmsg(c->store));
		else if (rc == 0)
			reply_err(r, -ENOENT, CTL_E_NOT_FOUND, "no such user");
		else
			reply_ok(r);
		return;
	}
	bool has_pw = arg_str(args, alen, "password", pw, sizeof(pw));
	if (strcmp(cmd, "users.password") == 0) {
		if (!has_pw) {
			reply_err(
			    r, -EINVAL, CTL_E_BAD_ARGS, "password is required");
			return;
		}
		int rc = store_user_get(
		    c->store, slice_cstr(user), slice_cstr(domain), &u);
		if (rc == 0) {
			reply_err(r, -ENOENT, CTL_E_NOT_FOUND, "no such user");
			return;
		}
		uint32_t max_calls = u.max_calls;
		users_fill(c, &u, user, domain, slice_cstr(pw));
		u.max_calls = max_calls;
		if (rc < 0 || store_user_put(c->store, &u, true) < 0)
			reply_err(
			    r, -EIO, CTL_E_INTERNAL, store_errmsg(c->store));
		else
			reply_ok(r);
		explicit_bzero(pw, sizeof(pw));
		return;
	}
	/* users.add */
	char md5[DIGEST_HEX_MAX], sha[DIGEST_HEX_MAX];
	bool has_md5 = arg_str(args, alen, "ha1_md5", md5, sizeof(md5));
	bool has_sha = arg_str(args, alen, "ha1_sha256", sha, sizeof(sha));
	if (has_pw) {
		users_fill(c, &u, user, domain, slice_cstr(pw));
	} else if ((has_md5 || has_sha) && (!has_md5 || valid_hex(md5, 32)) &&
	    (!has_sha || valid_hex(sha, 64))) {
		memset(&u, 0, sizeof(u));
		snprintf(u.user, sizeof(u.user), "%s", user);
		snprintf(u.domain, sizeof(u.domain), "%s", domain);
		snprintf(
		    u.realm, sizeof(u.realm), "%s", users_realm(c, domain));
		if (has_md5)
			snprintf(
			    u.ha1[DIGEST_MD5], sizeof(u.ha1[0]), "%s", md5);
		if (has_sha)
			snprintf(
			    u.ha1[DIGEST_SHA256], sizeof(u.ha1[0]), "%s", sha);
	} else {
		reply_err(r, -EINVAL, CTL_E_BAD_ARGS,
		    "password or ha1_md5/ha1_sha256 (hex) is required");
		return;
	}
	explicit_bzero(pw, sizeof(pw));
	uint64_t max_calls = 0;
	if (ctl_rows_get_u64(args, alen, "max_calls", &max_calls))
		u.max_calls = (uint32_t)max_calls;
	int rc = store_user_put(c->store, &u, false);
	if (rc == 1)
		reply_err(r, -EEXIST, CTL_E_EXISTS, "user exists");
	else if (rc < 0)
		reply_err(r, -EIO, CTL_E_INTERNAL, store_errmsg(c->store));
	else
		reply_ok(r);
}

/* users.import: "user@domain,password" lines from the passed fd, in one
 * transaction: all or nothing. */
static void
cmd_import(struct core *c, struct reply *r, int fd)
{
	if (fd < 0) {
		reply_err(r, -EINVAL, CTL_E_BAD_ARGS,
		    "users.import needs a file descriptor");
		return;
	}
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	ssize_t n;
	while (buf != NULL) {
		if (len + 1 >= cap) {
			if (cap >= IMPORT_MAX_BYTES) {
				free(buf);
				close(fd);
				reply_err(r, -EFBIG, CTL_E_BAD_ARGS,
				    "import file too large");
				return;
			}
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL)
				break;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (buf == NULL) {
		reply_err(r, -ENOMEM, CTL_E_INTERNAL, "out of memory");
		return;
	}
	buf[len] = '\0';
	if (store_begin(c->store) < 0) {
		free(buf);
		reply_err(r, -EIO, CTL_E_INTERNAL, store_errmsg(c->store));
		return;
	}
	uint64_t count = 0, lineno = 0;
	char msg[160];
	for (char *line = buf, *next; line != NULL && *line; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		size_t ll = strlen(line);
		if (ll > 0 && line[ll - 1] == '\r')
			line[--ll] = '\0';
		if (ll == 0 || line[0] == '#')
			continue;
		char *at = strchr(line, '@'), *comma = strchr(line, ',');
		if (at == NULL || comma == NULL || comma < at) {
			snprintf(msg, sizeof(msg),
			    "line %llu: expected user@domain,password",
			    (unsigned long long)lineno);
			goto fail;
		}
		*at = '\0';
		*comma = '\0';
		if (!valid_name(line) || !valid_name(at + 1) ||
		    strlen(line) >= STORE_USER_MAX ||
		    strlen(at + 1) >= STORE_DOMAIN_MAX || comma[1] == '\0') {
			snprintf(msg, sizeof(msg),
			    "line %llu: bad user or domain",
			    (unsigned long long)lineno);
			goto fail;
		}
		struct store_user u;
		users_fill(c, &u, line, at + 1, slice_cstr(comma + 1));
		if (store_user_put(c->store, &u, true) < 0) {
			snprintf(msg, sizeof(msg), "line %llu: %s",
			    (unsigned long long)lineno, store_errmsg(c->store));
			goto fail;
		}
		count++;
	}
	explicit_bzero(buf, len);
	free(buf);
	if (store_commit(c->store) < 0) {
		reply_err(r, -EIO, CTL_E_INTERNAL, store_errmsg(c->store));
		return;
	}
	ctl_rows_u64(&r->rows, "imported", count);
	row_done(r);
	reply_ok(r);
	return;
fail:
	store_rollback(c->store);
	explicit_bzero(buf, len);
	free(buf);
	reply_err(r, -EINVAL, CTL_E_BAD_ARGS, msg);
}

static const char *
dlg_state_name(enum dlg_state s)
{
	return s == DLG_EARLY    ? "early"
	    : s == DLG_CONFIRMED ? "confirmed"
	                         : "terminated";
}

static int
call_row(struct dialog *d, void *arg)
{
	struct reply *r = arg;
	char a[64], b[64];

	ctl_rows_str(&r->rows, "call_id", d->s[DLG_S_CALL_ID]);
	ctl_rows_str(&r->rows, "from", d->s[DLG_S_FROM]);
	ctl_rows_str(&r->rows, "to", d->s[DLG_S_TO]);
	ctl_rows_str(&r->rows, "state", dlg_state_name(d->state));
	ctl_rows_i64(&r->rows, "start_s", d->start_s);
	ctl_rows_i64(&r->rows, "answer_s", d->answer_s);
	ctl_rows_str(&r->rows, "caller",
	    ipc_addr_str(&d->caller_flow.remote, a, sizeof(a)));
	ctl_rows_str(&r->rows, "callee",
	    ipc_addr_str(&d->callee_flow.remote, b, sizeof(b)));
	ctl_rows_str(&r->rows, "branch", d->s[DLG_S_CALLEE_CONTACT]);
	row_done(r);
	return 0;
}

/* A call still being set up: its INVITE, how far it got, which branch. */
static int
setup_row(const struct proxy_setup *s, void *arg)
{
	struct reply *r = arg;
	char a[64], b[64];

	ctl_rows_str(&r->rows, "call_id", s->call_id);
	ctl_rows_str(&r->rows, "from", s->from);
	ctl_rows_str(&r->rows, "to", s->to);
	ctl_rows_str(&r->rows, "state", s->state);
	ctl_rows_i64(&r->rows, "start_s", s->start_s);
	ctl_rows_i64(&r->rows, "answer_s", 0);
	ctl_rows_str(
	    &r->rows, "caller", ipc_addr_str(&s->caller, a, sizeof(a)));
	ctl_rows_str(&r->rows, "callee",
	    s->branches > 0 ? ipc_addr_str(&s->callee, b, sizeof(b)) : "");
	ctl_rows_str(&r->rows, "branch", s->branch);
	ctl_rows_i64(&r->rows, "branches", s->branches);
	row_done(r);
	return 0;
}

static void
cmd_calls(struct core *c, struct reply *r, const char *cmd, const void *args,
    size_t alen)
{
	if (strcmp(cmd, "calls.list") == 0) {
		dlg_walk(c->dlg, call_row, r);
		proxy_walk_setup(c, setup_row, r);
		reply_ok(r);
		return;
	}
	struct slice cid;
	if (!ctl_rows_get_str(args, alen, "call_id", &cid) || cid.len == 0) {
		reply_err(r, -EINVAL, CTL_E_BAD_ARGS, "call_id is required");
		return;
	}
	if (proxy_hangup(c, cid, "admin") < 0) {
		reply_err(r, -ENOENT, CTL_E_NOT_FOUND, "no such call");
		return;
	}
	reply_ok(r);
}

/* One row per trunk and peer (a trunk without peers has one row with an
 * empty peer). */
static void
cmd_trunks_list(struct core *c, struct reply *r)
{
	char peer[64];
	int64_t now = core_now_s(c);

	for (int i = 0; i < trunks_count(c->trunks); i++) {
		struct trunk *t = trunks_at(c->trunks, i);
		for (int k = 0; k < (t->npeers > 0 ? t->npeers : 1); k++) {
			const struct trunk_peer *pe =
			    t->npeers > 0 ? &t->peers[k] : NULL;
			ctl_rows_str(&r->rows, "name", t->name);
			ctl_rows_str(&r->rows, "peer",
			    pe ? ipc_addr_str(
			             &pe->flow.remote, peer, sizeof(peer))
			       : "");
			/* As configured: a host name shows what it resolved
			 * to in "peer" ("(none)" when it did not). */
			ctl_rows_str(&r->rows, "host",
			    pe ? t->cf->peers[pe->cf_peer].address : "");
			ctl_rows_str(&r->rows, "state",
			    pe == NULL ? "none"
			        : t->cf->options_interval_s == 0
			        ? (pe->is_up ? "unprobed" : "down")
			        : (pe->is_up ? "up" : "down"));
			ctl_rows_u64(&r->rows, "weight", pe ? pe->weight : 0);
			ctl_rows_str(&r->rows, "registration",
			    trunk_reg_state_name(t->reg_state));
			ctl_rows_i64(&r->rows, "reg_code", t->reg_code);
			ctl_rows_i64(&r->rows, "reg_expires_s",
			    t->reg_state == TRUNK_REG_REGISTERED &&
			            t->reg_expires_at > now
			        ? t->reg_expires_at - now
			        : 0);
			ctl_rows_u64(&r->rows, "registrations", t->reg_count);
			ctl_rows_u64(&r->rows, "calls", t->calls);
			ctl_rows_u64(&r->rows, "max_calls", t->cf->max_calls);
			ctl_rows_u64(&r->rows, "rejected",
			    t->rejected_calls + t->rejected_cps);
			ctl_rows_u64(&r->rows, "probes_failed",
			    pe ? pe->probes_failed : 0);
			ctl_rows_bool(&r->rows, "live_added", t->owned != NULL);
			row_done(r);
		}
	}
	reply_ok(r);
}

static void
cmd_trunks_change(struct core *c, struct reply *r, const char *cmd,
    const void *args, size_t alen)
{
	struct slice v;
	char name[64], err[512];

	if (strcmp(cmd, "trunks.remove") == 0) {
		if (!arg_str(args, alen, "name", name, sizeof(name))) {
			reply_err(
			    r, -EINVAL, CTL_E_BAD_ARGS, "name is required");
			return;
		}
		if (trunks_remove(c->trunks, name) < 0) {
			reply_err(r, -ENOENT, CTL_E_NOT_FOUND, "no such trunk");
			return;
		}
		log_info("trunk %s removed", name);
		reply_ok(r);
		return;
	}
	/* trunks.add: args "trunk" = the trunk's JSON object, as in the
	 * configuration file. */
	if (!ctl_rows_get_str(args, alen, "trunk", &v) || v.len == 0 ||
	    v.len > 65536) {
		reply_err(r, -EINVAL, CTL_E_BAD_ARGS,
		    "trunk (a JSON object like an element of \"trunks\") is "
		    "required");
		return;
	}
	char *json = malloc(v.len + 1);
	if (json == NULL) {
		reply_err(r, -ENOMEM, CTL_E_INTERNAL, "out of memory");
		return;
	}
	memcpy(json, v.p, v.len);
	json[v.len] = '\0';
	int rc = trunks_add_json(c->trunks, json, err, sizeof(err));
	free(json);
	if (rc < 0) {
		reply_err(r, -EINVAL,
		    strstr(err, "exists") ? CTL_E_EXISTS : CTL_E_BAD_ARGS, err);
		return;
	}
	reply_ok(r);
}

static int
cdr_row(const struct store_cdr *d, void *arg)
{
	struct reply *r = arg;

	ctl_rows_i64(&r->rows, "id", d->id);
	ctl_rows_str(&r->rows, "call_id", d->call_id);
	ctl_rows_i64(&r->rows, "start_ms", d->start_ms);
	ctl_rows_i64(&r->rows, "answer_ms", d->answer_ms);
	ctl_rows_i64(&r->rows, "end_ms", d->end_ms);
	ctl_rows_i64(&r->rows, "duration_ms", d->duration_ms);
	ctl_rows_str(&r->rows, "caller", d->caller);
	ctl_rows_str(&r->rows, "callee", d->callee);
	ctl_rows_str(&r->rows, "trunk", d->trunk);
	ctl_rows_str(&r->rows, "direction", d->direction);
	ctl_rows_i64(&r->rows, "status", d->status);
	ctl_rows_str(&r->rows, "reason", d->reason);
	row_done(r);
	return 0;
}

static void
cmd_cdr_list(struct core *c, struct reply *r, const void *args, size_t alen)
{
	uint64_t limit = 100;

	ctl_rows_get_u64(args, alen, "limit", &limit);
	/* What is queued is listed too: write it first. */
	if (cdr_flush(c->cdr) < 0 ||
	    store_cdr_list(c->store, (size_t)limit, cdr_row, r) < 0) {
		reply_err(r, -EIO, CTL_E_INTERNAL, store_errmsg(c->store));
		return;
	}
	reply_ok(r);
}

static void
ctl_msg(struct ipc_chan *ch, const struct ipc_msg *m, void *arg)
{
	struct core *c = arg;
	struct ipc_reader rd;
	struct ipc_ctl_request req;
	static struct reply r; /* large; one request at a time */

	(void)ch;
	if (m->hdr.type != IPC_CTL_REQUEST) {
		if (m->fd >= 0)
			close(m->fd);
		return;
	}
	ipc_reader_init(&rd, m);
	if (!ipc_read(&rd, &req, sizeof(req)))
		fatalx("ctl: short request");
	const uint8_t *args = ipc_read_ptr(&rd, req.args_len);
	if (args == NULL || !ipc_reader_done(&rd))
		fatalx("ctl: request length mismatch");
	req.cmd[sizeof(req.cmd) - 1] = '\0';
	r.c = c;
	r.id = m->hdr.id;
	ctl_rows_init(&r.rows, r.buf, sizeof(r.buf));
	int fd = m->fd;
	const char *cmd = req.cmd;
	size_t alen = req.args_len;

	if (strcmp(cmd, "users.import") == 0) {
		cmd_import(c, &r, fd);
		return;
	}
	if (fd >= 0)
		close(fd);
	if (strcmp(cmd, "stats") == 0) {
		cmd_stats(c, &r);
	} else if (strcmp(cmd, "status") == 0) {
		cmd_status(c, &r);
	} else if (strcmp(cmd, "log.level") == 0) {
		char lv[16];
		int l = arg_str(args, alen, "level", lv, sizeof(lv))
		    ? log_level_parse(lv)
		    : -1;
		if (l < 0) {
			reply_err(&r, -EINVAL, CTL_E_BAD_ARGS,
			    "level: error, warn, info or debug");
			return;
		}
		log_set_level((enum log_level)l);
		reply_ok(&r);
	} else if (strcmp(cmd, "reload") == 0) {
		char path[4096], applied[256], restart[256];
		const char *p = arg_str(args, alen, "path", path, sizeof(path))
		    ? path
		    : c->conf_path;
		if (core_reload(c, p, applied, sizeof(applied), restart,
		        sizeof(restart)) < 0) {
			reply_err(&r, -EINVAL, CTL_E_BAD_ARGS,
			    "configuration not valid (see the core log)");
			return;
		}
		ctl_rows_str(&r.rows, "applied", applied);
		ctl_rows_str(&r.rows, "restart_needed", restart);
		row_done(&r);
		reply_ok(&r);
	} else if (strcmp(cmd, "shutdown") == 0) {
		core_flush(c);
		reply_ok(&r);
		c->is_stopping = true;
		ev_stop(c->loop);
	} else if (strcmp(cmd, "registrations.list") == 0) {
		cmd_reg_list(c, &r, args, alen);
	} else if (strcmp(cmd, "registrations.remove") == 0) {
		cmd_reg_remove(c, &r, args, alen);
	} else if (strncmp(cmd, "users.", 6) == 0 &&
	    (strcmp(cmd, "users.list") == 0 || strcmp(cmd, "users.add") == 0 ||
	        strcmp(cmd, "users.remove") == 0 ||
	        strcmp(cmd, "users.password") == 0)) {
		cmd_users(c, &r, cmd, args, alen);
	} else if (strcmp(cmd, "calls.list") == 0 ||
	    strcmp(cmd, "calls.hangup") == 0) {
		cmd_calls(c, &r, cmd, args, alen);
	} else if (strcmp(cmd, "cdr.list") == 0) {
		cmd_cdr_list(c, &r, args, alen);
	} else if (strcmp(cmd, "trunks.list") == 0) {
		cmd_trunks_list(c, &r);
	} else if (strcmp(cmd, "trunks.add") == 0 ||
	    strcmp(cmd, "trunks.remove") == 0) {
		cmd_trunks_change(c, &r, cmd, args, alen);
	} else {
		reply_err(&r, -ENOSYS, CTL_E_UNKNOWN_CMD, cmd);
	}
}

static void
ctl_close(struct ipc_chan *ch, void *arg)
{
	struct core *c = arg;

	log_warnx("ctl channel closed: portcullisd is gone; stopping");
	c->ctl = NULL;
	ipc_chan_free(ch);
	c->is_stopping = true;
	ev_stop(c->loop);
}

int
ctl_attach(struct core *c, int fd)
{
	c->ctl = ipc_chan_new(c->loop, fd, &ipc_cat_ctl, 8u * 1024 * 1024,
	    IPC_ROLE_CORE, "portcullis-core", ctl_msg, ctl_close, c);
	return c->ctl != NULL ? 0 : -1;
}
