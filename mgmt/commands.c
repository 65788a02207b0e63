/*
 * The command table. Data lives in the children, so most commands are a
 * ctl request to one child; status, stats, reload and log.level fan out to
 * all of them and merge the answers. A job counts outstanding replies
 * with a guard reference so that replies arriving synchronously (a child
 * that is down answers at once) cannot finish it early.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "conf.h"
#include "ctl_cmds.h"
#include "ctl_rows.h"
#include "log.h"
#include "prom.h"
#include "rows_json.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

/* Largest argument row we send (well under IPC_MAX_MSG). */
#define CMD_ARGS_MAX 60000

enum cmd_target {
	T_LOCAL = 0,
	T_EDGE = SUP_EDGE,
	T_CORE = SUP_CORE,
	T_RELAY = SUP_RELAY,
	T_BANS, /* relay when it runs, else edge's user-space list */
};
enum cmd_shape { SH_ROWS, SH_ROW };

struct job;
typedef void (*cmd_local_fn)(struct job *j);

struct cmd_def {
	const char *name;
	int target;
	const char *ctl;
	enum cmd_shape shape;
	const char *required; /* comma-separated argument names */
	cmd_local_fn local;
	const char *help;
};

struct job {
	struct cmd_ctx *x;
	const struct cmd_def *def;
	struct mgmt_req req;
	cmd_done_cb done;
	void *arg;
	int outstanding;
	json_t *result;
	/* first failure of a fan-out */
	char code[32];
	char message[200];
	bool has_failed;
	/* stats callers outside the socket (/metrics) */
	cmd_stats_cb stats_cb;
	void *stats_arg;
	bool want_prom;
	struct pc_conf *newconf; /* reload */
	json_t *restart; /* reload: keys needing a restart */
};

static void local_status(struct job *j);
static void local_stats(struct job *j);
static void local_config_show(struct job *j);
static void local_config_check(struct job *j);
static void local_config_reload(struct job *j);
static void local_log_level(struct job *j);
static void local_help(struct job *j);

static const struct cmd_def cmds[] = {
    {"status", T_LOCAL, NULL, SH_ROW, NULL, local_status,
        "processes, pids, uptime, restarts, versions, media mode"},
    {"stats", T_LOCAL, NULL, SH_ROW, NULL, local_stats,
        "counters of every process"},
    {"stats.prometheus", T_LOCAL, NULL, SH_ROW, NULL, local_stats,
        "counters in Prometheus text format"},
    {"registrations.list", T_CORE, "registrations.list", SH_ROWS, NULL, NULL,
        "registered contacts (args: aor, limit)"},
    {"registrations.remove", T_CORE, "registrations.remove", SH_ROW, "aor",
        NULL, "remove an AOR's bindings (args: aor, contact)"},
    {"calls.list", T_CORE, "calls.list", SH_ROWS, NULL, NULL,
        "calls in progress"},
    {"calls.hangup", T_CORE, "calls.hangup", SH_ROW, "call_id", NULL,
        "end a call (args: call_id)"},
    {"cdr.list", T_CORE, "cdr.list", SH_ROWS, NULL, NULL,
        "call detail records (args: limit)"},
    {"trunks.list", T_CORE, "trunks.list", SH_ROWS, NULL, NULL,
        "carrier trunks: peers, up/down, registration, calls"},
    {"trunks.add", T_CORE, "trunks.add", SH_ROW, "trunk", NULL,
        "add or replace a trunk live (args: trunk, its JSON object as text)"},
    {"trunks.remove", T_CORE, "trunks.remove", SH_ROW, "name", NULL,
        "remove a trunk (args: name)"},
    {"media.list", T_RELAY, "media.list", SH_ROWS, NULL, NULL,
        "media streams anchored by relay"},
    {"flows.list", T_EDGE, "flows.list", SH_ROWS, NULL, NULL,
        "connections and NAT flows of edge"},
    {"bans.list", T_BANS, "bans.list", SH_ROWS, NULL, NULL, "banned addresses"},
    {"bans.add", T_RELAY, "bans.add", SH_ROW, "addr", NULL,
        "ban an address (args: addr, timeout_s, reason)"},
    {"bans.remove", T_RELAY, "bans.remove", SH_ROW, "addr", NULL,
        "lift a ban (args: addr)"},
    {"users.list", T_CORE, "users.list", SH_ROWS, NULL, NULL,
        "users (args: limit)"},
    {"users.add", T_CORE, "users.add", SH_ROW, "user,domain", NULL,
        "add a user (args: user, domain, password | ha1_md5 + ha1_sha256)"},
    {"users.remove", T_CORE, "users.remove", SH_ROW, "user,domain", NULL,
        "remove a user (args: user, domain)"},
    {"users.password", T_CORE, "users.password", SH_ROW, "user,domain,password",
        NULL, "set a password (args: user, domain, password)"},
    {"users.import", T_CORE, "users.import", SH_ROW, NULL, NULL,
        "import user@domain,password lines from the passed descriptor"},
    {"config.show", T_LOCAL, NULL, SH_ROW, NULL, local_config_show,
        "the effective configuration (secrets masked)"},
    {"config.check", T_LOCAL, NULL, SH_ROW, NULL, local_config_check,
        "validate the configuration file on disk"},
    {"config.reload", T_LOCAL, NULL, SH_ROW, NULL, local_config_reload,
        "reload the configuration (validate, apply, list restarts needed)"},
    {"log.level", T_LOCAL, NULL, SH_ROW, "level", local_log_level,
        "set the log level (args: level, process)"},
    {"capture.start", T_RELAY, "capture.start", SH_ROW, "path", NULL,
        "start a pcap capture (args: path, call_id, max_bytes, "
        "max_seconds)"},
    {"capture.stop", T_RELAY, "capture.stop", SH_ROW, "path", NULL,
        "stop a capture (args: path)"},
    {"help", T_LOCAL, NULL, SH_ROW, NULL, local_help, "this list"},
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

json_t *
cmd_list(void)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < NCMDS && arr != NULL; i++)
		json_array_append_new(arr,
		    json_pack("{s:s, s:s}", "cmd", cmds[i].name, "help",
		        cmds[i].help));
	return arr;
}

static void
local_help(struct job *j)
{
	j->done(j->arg, mgmt_reply_ok(cmd_list(), j->req.id));
	mgmt_req_free(&j->req);
	free(j);
}

static void
job_free(struct job *j)
{
	mgmt_req_free(&j->req);
	json_decref(j->result);
	json_decref(j->restart);
	free(j);
}

static void
job_reply(struct job *j, char *line)
{
	if (line == NULL)
		line = strdup("{\"ok\":false,\"error\":{\"code\":"
		              "\"internal_error\",\"message\":\"out of "
		              "memory\"}}\n");
	if (strncmp(line, "{\"ok\":false", 11) == 0)
		j->x->errors++;
	if (j->done != NULL)
		j->done(j->arg, line);
	else
		free(line);
	job_free(j);
}

static void
job_error(struct job *j, const char *code, const char *message)
{
	job_reply(j, mgmt_reply_err(code, message, j->req.id));
}

static void
job_fail_once(struct job *j, const char *code, const char *message)
{
	if (j->has_failed)
		return;
	j->has_failed = true;
	snprintf(j->code, sizeof(j->code), "%s", code);
	snprintf(j->message, sizeof(j->message), "%s", message);
}

/* Builds the one-row ctl argument buffer from the JSON args. */
static int
encode_args(struct job *j, uint8_t *buf, size_t cap, size_t *len)
{
	struct ctl_rows r;
	char err[128];
	ctl_rows_init(&r, buf, cap);
	if (rows_json_args(j->req.args, &r, err, sizeof(err)) < 0) {
		job_error(j, CTL_E_BAD_ARGS, err);
		return -1;
	}
	*len = r.len;
	return 0;
}

static int
check_required(struct job *j)
{
	const char *p = j->def->required;
	char name[64];
	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, ",");
		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		json_t *v = json_object_get(j->req.args, name);
		if (!json_is_string(v) || json_string_length(v) == 0) {
			char msg[128];
			snprintf(msg, sizeof(msg),
			    "%s needs argument \"%s\" (a non-empty string)",
			    j->def->name, name);
			job_error(j, CTL_E_BAD_ARGS, msg);
			return -1;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* --- single-child commands --- */

static void
single_reply(void *arg, enum sup_id who, const struct sup_reply *r)
{
	struct job *j = arg;
	if (r->status != 0) {
		job_error(j, r->code, r->message[0] ? r->message : r->code);
		return;
	}
	json_t *res = j->def->shape == SH_ROWS
	    ? rows_json_array(r->rows, r->rows_len)
	    : rows_json_object(r->rows, r->rows_len);
	if (res == NULL) {
		char msg[96];
		snprintf(msg, sizeof(msg), "%s sent a malformed reply",
		    sup_name(who));
		log_warnx("%s", msg);
		job_error(j, CTL_E_INTERNAL, msg);
		return;
	}
	job_reply(j, mgmt_reply_ok(res, j->req.id));
}

static void
run_single(struct job *j, int passfd)
{
	uint8_t *args = malloc(CMD_ARGS_MAX);
	size_t len = 0;
	if (args == NULL) {
		if (passfd >= 0)
			close(passfd);
		job_error(j, CTL_E_INTERNAL, "out of memory");
		return;
	}
	if (encode_args(j, args, CMD_ARGS_MAX, &len) < 0) {
		free(args);
		if (passfd >= 0)
			close(passfd);
		return;
	}
	enum sup_id who;
	if (j->def->target == T_BANS) {
		struct sup_child_info ri;
		sup_info(j->x->sup, SUP_RELAY, &ri);
		who = ri.state == SUP_ST_RUNNING ? SUP_RELAY : SUP_EDGE;
	} else {
		who = (enum sup_id)j->def->target;
	}
	sup_request(
	    j->x->sup, who, j->def->ctl, args, len, passfd, single_reply, j);
	free(args);
}

/* --- fan-out helpers --- */

typedef void (*fan_finish_fn)(struct job *j);

struct fan_arg {
	struct job *j;
	fan_finish_fn finish;
	void (*merge)(
	    struct job *j, enum sup_id who, const struct sup_reply *r);
};

static void
fan_release(struct fan_arg *fa)
{
	if (--fa->j->outstanding == 0) {
		struct job *j = fa->j;
		fan_finish_fn fin = fa->finish;
		free(fa);
		fin(j);
	}
}

static void
fan_reply(void *arg, enum sup_id who, const struct sup_reply *r)
{
	struct fan_arg *fa = arg;
	fa->merge(fa->j, who, r);
	fan_release(fa);
}

/* Sends cmd to every running child (all when only_running is false). */
static void
fan_out(struct job *j, const char *ctl, const void *args, size_t len,
    bool only_running,
    void (*merge)(struct job *, enum sup_id, const struct sup_reply *),
    fan_finish_fn finish)
{
	struct fan_arg *fa = calloc(1, sizeof(*fa));
	if (fa == NULL) {
		job_error(j, CTL_E_INTERNAL, "out of memory");
		return;
	}
	fa->j = j;
	fa->merge = merge;
	fa->finish = finish;
	j->outstanding = 1; /* the guard */
	for (int i = 0; i < SUP_NCHILD; i++) {
		struct sup_child_info ci;
		sup_info(j->x->sup, (enum sup_id)i, &ci);
		if (only_running && ci.state != SUP_ST_RUNNING)
			continue;
		j->outstanding++;
		sup_request(j->x->sup, (enum sup_id)i, ctl, args, len, -1,
		    fan_reply, fa);
	}
	fan_release(fa);
}

/* --- status --- */

static const char *
state_name(enum sup_state st)
{
	switch (st) {
	case SUP_ST_STOPPED:
		return "stopped";
	case SUP_ST_STARTING:
		return "starting";
	case SUP_ST_RUNNING:
		return "running";
	case SUP_ST_STOPPING:
		return "stopping";
	}
	return "?";
}

static json_t *
process_entry(struct cmd_ctx *x, enum sup_id who)
{
	struct sup_child_info ci;
	sup_info(x->sup, who, &ci);
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "name", json_string(ci.name));
	json_object_set_new(o, "state", json_string(state_name(ci.state)));
	json_object_set_new(o, "pid", json_integer(ci.pid));
	json_object_set_new(
	    o, "uptime_s", json_integer((json_int_t)(ci.uptime_ms / 1000)));
	json_object_set_new(o, "restarts", json_integer(ci.restarts));
	json_object_set_new(o, "last_exit", json_string(ci.last_exit));
	return o;
}

static json_t *
self_entry(struct cmd_ctx *x)
{
	return json_pack("{s:s, s:s, s:i, s:I, s:I, s:s}", "name",
	    "portcullisd", "state", "running", "pid", (int)getpid(), "uptime_s",
	    (json_int_t)((ev_now_ms(x->loop) - x->start_ms) / 1000), "restarts",
	    (json_int_t)0, "version", PACKAGE_VERSION);
}

static void
status_merge(struct job *j, enum sup_id who, const struct sup_reply *r)
{
	json_t *procs = json_object_get(j->result, "processes");
	json_t *entry = json_array_get(procs, (size_t)who + 1);
	if (r->status != 0) {
		json_object_set_new(entry, "error",
		    mgmt_json_string(r->message, strlen(r->message)));
		return;
	}
	json_t *row = rows_json_object(r->rows, r->rows_len);
	if (row == NULL)
		return;
	/* The supervisor's own pid/uptime are authoritative. */
	json_object_del(row, "pid");
	json_object_del(row, "uptime_s");
	json_object_update(entry, row);
	json_decref(row);
}

static void
status_finish(struct job *j)
{
	json_t *procs = json_object_get(j->result, "processes");
	size_t i;
	json_t *e;
	char down[96] = "";
	json_array_foreach(procs, i, e)
	{
		const char *st = json_string_value(json_object_get(e, "state"));
		if (st != NULL && strcmp(st, "running") != 0) {
			size_t n = strlen(down);
			snprintf(down + n, sizeof(down) - n, "%s%s",
			    n ? ", " : "",
			    json_string_value(json_object_get(e, "name")));
		}
		json_t *kernel = json_object_get(e, "kernel");
		if (kernel != NULL)
			json_object_set(j->result, "media_kernel", kernel);
	}
	json_t *res = json_incref(j->result);
	if (down[0] != '\0') {
		char msg[160];
		snprintf(msg, sizeof(msg), "not running: %s", down);
		job_reply(j,
		    mgmt_reply_err_result(
		        CTL_E_UNAVAILABLE, msg, res, j->req.id));
		return;
	}
	job_reply(j, mgmt_reply_ok(res, j->req.id));
}

static void
local_status(struct job *j)
{
	j->result = json_object();
	json_t *procs = json_array();
	json_array_append_new(procs, self_entry(j->x));
	for (int i = 0; i < SUP_NCHILD; i++)
		json_array_append_new(
		    procs, process_entry(j->x, (enum sup_id)i));
	json_object_set_new(j->result, "processes", procs);
	json_object_set_new(j->result, "media_kernel", json_null());
	fan_out(j, "status", NULL, 0, true, status_merge, status_finish);
}

/* --- stats --- */

static void
stats_merge(struct job *j, enum sup_id who, const struct sup_reply *r)
{
	if (r->status != 0) {
		json_object_set_new(j->result, sup_name(who), json_null());
		return;
	}
	json_t *row = rows_json_object(r->rows, r->rows_len);
	json_object_set_new(
	    j->result, sup_name(who), row != NULL ? row : json_null());
}

static void
stats_finish(struct job *j)
{
	if (j->stats_cb != NULL) {
		j->stats_cb(j->stats_arg, json_incref(j->result));
		job_free(j);
		return;
	}
	if (j->want_prom) {
		char *text = prom_render(j->result);
		json_t *s = text != NULL ? json_string(text) : NULL;
		free(text);
		if (s == NULL) {
			job_error(j, CTL_E_INTERNAL, "cannot render metrics");
			return;
		}
		job_reply(j, mgmt_reply_ok(s, j->req.id));
		return;
	}
	job_reply(j, mgmt_reply_ok(json_incref(j->result), j->req.id));
}

static void
stats_start(struct job *j)
{
	struct cmd_ctx *x = j->x;
	j->result = json_object();
	json_t *procs = json_object();
	uint64_t restarts = 0;
	for (int i = 0; i < SUP_NCHILD; i++) {
		struct sup_child_info ci;
		sup_info(x->sup, (enum sup_id)i, &ci);
		restarts += ci.restarts;
		json_object_set_new(procs, ci.name,
		    json_pack("{s:b, s:i, s:i, s:I}", "up",
		        ci.state == SUP_ST_RUNNING, "pid", (int)ci.pid,
		        "restarts", (int)ci.restarts, "uptime_s",
		        (json_int_t)(ci.uptime_ms / 1000)));
	}
	json_object_set_new(j->result, "processes", procs);
	json_object_set_new(j->result, "portcullisd",
	    json_pack("{s:I, s:I, s:I, s:I, s:I}", "uptime_s",
	        (json_int_t)((ev_now_ms(x->loop) - x->start_ms) / 1000),
	        "mgmt_requests", (json_int_t)x->requests, "mgmt_errors",
	        (json_int_t)x->errors, "config_reloads", (json_int_t)x->reloads,
	        "child_restarts", (json_int_t)restarts));
	fan_out(j, "stats", NULL, 0, false, stats_merge, stats_finish);
}

static void
local_stats(struct job *j)
{
	j->want_prom = strcmp(j->def->name, "stats.prometheus") == 0;
	stats_start(j);
}

void
cmd_stats(struct cmd_ctx *x, cmd_stats_cb cb, void *arg)
{
	struct job *j = calloc(1, sizeof(*j));
	if (j == NULL) {
		cb(arg, NULL);
		return;
	}
	j->x = x;
	j->def = &cmds[1];
	j->stats_cb = cb;
	j->stats_arg = arg;
	stats_start(j);
}

/* --- config --- */

static void
local_config_show(struct job *j)
{
	char *text = conf_dump_json(&pcconf_table, j->x->conf);
	json_error_t jerr;
	json_t *v = text != NULL ? json_loads(text, 0, &jerr) : NULL;
	free(text);
	if (v == NULL) {
		job_error(j, CTL_E_INTERNAL, "cannot dump the configuration");
		return;
	}
	json_t *res =
	    json_pack("{s:s?, s:o}", "path", j->x->config_path, "config", v);
	job_reply(j, mgmt_reply_ok(res, j->req.id));
}

static json_t *
errors_json(const struct conf_errors *errs)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < errs->n && arr != NULL; i++)
		json_array_append_new(
		    arr, mgmt_json_string(errs->msg[i], strlen(errs->msg[i])));
	if (errs->dropped > 0 && arr != NULL) {
		char more[64];
		snprintf(
		    more, sizeof(more), "(%zu more errors)", errs->dropped);
		json_array_append_new(arr, json_string(more));
	}
	return arr;
}

/* Validates the daemon's own configuration file (never a path named by a
 * client: that would let pcctl users probe files only root can read). */
static void
local_config_check(struct job *j)
{
	struct pc_conf *c = calloc(1, sizeof(*c));
	struct conf_errors errs = {0};
	if (c == NULL) {
		job_error(j, CTL_E_INTERNAL, "out of memory");
		return;
	}
	int rc = pcconf_load_errs(j->x->config_path, c, &errs);
	if (rc == 0) {
		pcconf_free(c);
		free(c);
		job_reply(j,
		    mgmt_reply_ok(json_pack("{s:b, s:s?}", "valid", 1, "path",
		                      j->x->config_path),
		        j->req.id));
		return;
	}
	json_t *res = json_pack("{s:b, s:s?, s:o}", "valid", 0, "path",
	    j->x->config_path, "errors", errors_json(&errs));
	char msg[200];
	snprintf(msg, sizeof(msg), "%s",
	    errs.n > 0 ? errs.msg[0] : "configuration invalid");
	conf_errors_free(&errs);
	free(c);
	job_reply(
	    j, mgmt_reply_err_result(MGMT_E_BAD_CONFIG, msg, res, j->req.id));
}

static bool
str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

static void
reload_merge(struct job *j, enum sup_id who, const struct sup_reply *r)
{
	json_t *procs = json_object_get(j->result, "processes");
	if (r->status != 0) {
		json_object_set_new(procs, sup_name(who),
		    json_pack("{s:s, s:o}", "error", r->code, "message",
		        mgmt_json_string(r->message, strlen(r->message))));
		char msg[200];
		snprintf(msg, sizeof(msg), "%s: %s", sup_name(who), r->message);
		job_fail_once(j, r->code, msg);
		return;
	}
	json_t *row = rows_json_object(r->rows, r->rows_len);
	json_object_set_new(
	    procs, sup_name(who), row != NULL ? row : json_object());
}

static void
reload_finish(struct job *j)
{
	json_t *res = json_incref(j->result);
	if (j->has_failed)
		job_reply(j,
		    mgmt_reply_err_result(j->code, j->message, res, j->req.id));
	else
		job_reply(j, mgmt_reply_ok(res, j->req.id));
}

static void
local_config_reload(struct job *j)
{
	struct cmd_ctx *x = j->x;
	struct pc_conf *c = calloc(1, sizeof(*c));
	struct conf_errors errs = {0};

	if (c == NULL) {
		job_error(j, CTL_E_INTERNAL, "out of memory");
		return;
	}
	x->reloads++;
	/* Stage 1: validate. Nothing changes when the new file is bad. */
	if (pcconf_load_errs(x->config_path, c, &errs) < 0) {
		json_t *res = json_pack(
		    "{s:b, s:o}", "applied", 0, "errors", errors_json(&errs));
		char msg[200];
		snprintf(msg, sizeof(msg), "not reloaded: %s",
		    errs.n > 0 ? errs.msg[0] : "configuration invalid");
		log_warnx("reload refused: %s", msg);
		conf_errors_free(&errs);
		free(c);
		job_reply(j,
		    mgmt_reply_err_result(
		        MGMT_E_BAD_CONFIG, msg, res, j->req.id));
		return;
	}
	/* Stage 2: apply what portcullisd can change live; list the rest. */
	json_t *restart = json_array();
	const struct pc_mgmt_management *om = &x->conf->mgmt.management;
	const struct pc_mgmt_management *nm = &c->mgmt.management;
	if (str_differs(x->conf->runtime_dir, c->runtime_dir))
		json_array_append_new(restart, json_string("runtime_dir"));
	if (str_differs(x->conf->state_dir, c->state_dir))
		json_array_append_new(restart, json_string("state_dir"));
	if (str_differs(x->conf->user, c->user))
		json_array_append_new(restart, json_string("user"));
	if (str_differs(x->conf->group, c->group))
		json_array_append_new(restart, json_string("group"));
	if (str_differs(om->socket_mode, nm->socket_mode))
		json_array_append_new(
		    restart, json_string("management.socket_mode"));
	if (str_differs(om->group, nm->group))
		json_array_append_new(restart, json_string("management.group"));
	if (om->max_clients != nm->max_clients)
		json_array_append_new(
		    restart, json_string("management.max_clients"));
	if (om->idle_timeout_s != nm->idle_timeout_s)
		json_array_append_new(
		    restart, json_string("management.idle_timeout_s"));
	if (om->max_request_bytes != nm->max_request_bytes)
		json_array_append_new(
		    restart, json_string("management.max_request_bytes"));
	if (str_differs(om->metrics_listen, nm->metrics_listen))
		json_array_append_new(
		    restart, json_string("management.metrics_listen"));
	int lvl = c->log_level ? log_level_parse(c->log_level) : -1;
	if (lvl >= 0)
		log_set_level((enum log_level)lvl);
	struct sup_config sc = x->supcfg;
	sc.backoff_ms = c->mgmt.supervisor.restart_backoff_ms;
	sc.backoff_max_ms = c->mgmt.supervisor.restart_backoff_max_ms;
	sc.ready_timeout_ms = c->mgmt.supervisor.ready_timeout_ms;
	sc.shutdown_timeout_ms = c->mgmt.supervisor.shutdown_timeout_ms;
	sc.request_timeout_ms = nm->request_timeout_ms;
	sup_set_config(x->sup, &sc);
	x->supcfg = sc;
	/* Values that need a restart keep their old meaning inside
	 * portcullisd; the rest of the new configuration is current. */
	pcconf_free(x->conf);
	free(x->conf);
	x->conf = c;
	j->result = json_pack("{s:b, s:{s:{s:s, s:o}}}", "applied", 1,
	    "processes", "portcullisd", "applied",
	    "log_level,supervisor,management.request_timeout_ms",
	    "restart_needed", restart);
	log_info("configuration reloaded%s",
	    json_array_size(restart) ? " (some keys need a restart)" : "");
	/* Stage 3: each child re-reads and validates the file itself. */
	uint8_t args[1200];
	struct ctl_rows r;
	ctl_rows_init(&r, args, sizeof(args));
	if (x->config_path != NULL)
		ctl_rows_str(&r, "path", x->config_path);
	ctl_rows_end_row(&r);
	fan_out(j, "reload", args, r.len, true, reload_merge, reload_finish);
}

void
cmd_reload(struct cmd_ctx *x, cmd_done_cb done, void *arg)
{
	struct job *j = calloc(1, sizeof(*j));
	if (j == NULL) {
		log_warnx("reload: out of memory");
		return;
	}
	j->x = x;
	j->done = done;
	j->arg = arg;
	j->req.args = json_object();
	for (size_t i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].name, "config.reload") == 0)
			j->def = &cmds[i];
	local_config_reload(j);
}

/* --- log.level --- */

static void
loglevel_merge(struct job *j, enum sup_id who, const struct sup_reply *r)
{
	if (r->status != 0) {
		char msg[200];
		snprintf(msg, sizeof(msg), "%s: %s", sup_name(who), r->message);
		job_fail_once(j, r->code, msg);
		json_object_set_new(j->result, sup_name(who), json_false());
		return;
	}
	json_object_set_new(j->result, sup_name(who), json_true());
}

static void
local_log_level(struct job *j)
{
	const char *level =
	    json_string_value(json_object_get(j->req.args, "level"));
	json_t *pv = json_object_get(j->req.args, "process");
	const char *proc = json_is_string(pv) ? json_string_value(pv) : "all";
	int lvl = log_level_parse(level);
	if (lvl < 0) {
		job_error(j, CTL_E_BAD_ARGS,
		    "level must be error, warn, info or debug");
		return;
	}
	int who = -1;
	if (strcmp(proc, "all") != 0 && strcmp(proc, "portcullisd") != 0) {
		who = sup_parse_name(proc);
		if (who < 0) {
			job_error(j, CTL_E_BAD_ARGS,
			    "process must be all, portcullisd, edge, core "
			    "or relay");
			return;
		}
	}
	j->result = json_object();
	bool all = strcmp(proc, "all") == 0;
	if (all || strcmp(proc, "portcullisd") == 0) {
		log_set_level((enum log_level)lvl);
		json_object_set_new(j->result, "portcullisd", json_true());
	}
	uint8_t args[128];
	struct ctl_rows r;
	ctl_rows_init(&r, args, sizeof(args));
	ctl_rows_str(&r, "level", level);
	ctl_rows_end_row(&r);
	if (who >= 0) {
		struct fan_arg *fa = calloc(1, sizeof(*fa));
		if (fa == NULL) {
			job_error(j, CTL_E_INTERNAL, "out of memory");
			return;
		}
		fa->j = j;
		fa->merge = loglevel_merge;
		fa->finish = reload_finish;
		j->outstanding = 1;
		sup_request(j->x->sup, (enum sup_id)who, "log.level", args,
		    r.len, -1, fan_reply, fa);
		return;
	}
	if (!all) {
		reload_finish(j);
		return;
	}
	fan_out(
	    j, "log.level", args, r.len, true, loglevel_merge, reload_finish);
}

/* --- dispatch --- */

void
cmd_exec(struct cmd_ctx *x, struct mgmt_req *req, int passfd, cmd_done_cb done,
    void *arg)
{
	const struct cmd_def *def = NULL;
	x->requests++;
	for (size_t i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].name, req->cmd) == 0)
			def = &cmds[i];
	struct job *j = calloc(1, sizeof(*j));
	if (j == NULL) {
		if (passfd >= 0)
			close(passfd);
		x->errors++;
		done(arg,
		    mgmt_reply_err(CTL_E_INTERNAL, "out of memory", req->id));
		mgmt_req_free(req);
		return;
	}
	j->x = x;
	j->def = def;
	j->req = *req;
	memset(req, 0, sizeof(*req));
	j->done = done;
	j->arg = arg;
	if (def == NULL) {
		char msg[128];
		snprintf(msg, sizeof(msg),
		    "unknown command \"%s\" (try \"help\")", j->req.cmd);
		if (passfd >= 0)
			close(passfd);
		job_error(j, CTL_E_UNKNOWN_CMD, msg);
		return;
	}
	bool wants_fd = strcmp(def->name, "users.import") == 0;
	if (wants_fd && passfd < 0) {
		job_error(j, CTL_E_BAD_ARGS,
		    "users.import needs the file passed as a descriptor with "
		    "the request (pcctl users import FILE)");
		return;
	}
	if (!wants_fd && passfd >= 0) {
		close(passfd);
		passfd = -1;
	}
	if (check_required(j) < 0) {
		if (passfd >= 0)
			close(passfd);
		return;
	}
	if (def->local != NULL)
		def->local(j);
	else
		run_single(j, passfd);
}
