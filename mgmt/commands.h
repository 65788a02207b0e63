/*
 * commands: the management commands. Each JSON command is either answered
 * by portcullisd itself (status, config.*) or mapped onto ctl requests to
 * the child that owns the data (ctl_cmds.h), whose ctl_rows replies become
 * JSON. Completion is asynchronous: the done callback receives a malloc'd
 * response line (owned by the callee), exactly once per request.
 */
#ifndef PC_COMMANDS_H
#define PC_COMMANDS_H

#include <jansson.h>
#include <stdint.h>

#include "ev.h"
#include "mgmt_req.h"
#include "pcconf.h"
#include "supervisor.h"

struct cmd_ctx {
	struct ev_loop *loop;
	struct sup *sup;
	struct sup_config supcfg; /* base: binaries and config path */
	struct pc_conf *conf; /* current configuration, owned */
	const char *config_path; /* NULL = built-in defaults */
	uint64_t start_ms;
	uint64_t requests, errors, reloads;
};

typedef void (*cmd_done_cb)(void *arg, char *line);
typedef void (*cmd_stats_cb)(void *arg, json_t *stats);

/* Runs req (ownership of its members passes here) and calls done once,
 * maybe before returning. passfd (or -1) is consumed. */
void cmd_exec(struct cmd_ctx *x, struct mgmt_req *req, int passfd,
    cmd_done_cb done, void *arg);
/* Collects stats from every process: {"processes":{name:{up,pid,
 * restarts,...}}, "portcullisd":{...}, "edge":{...}, ...}; stats is a new
 * reference given to cb. */
void cmd_stats(struct cmd_ctx *x, cmd_stats_cb cb, void *arg);
/* The command names with one-line help, for pcctl and "help". */
json_t *cmd_list(void);

/* Loads the configuration again and applies it (SIGHUP, config.reload).
 * Reported through done like a request. */
void cmd_reload(struct cmd_ctx *x, cmd_done_cb done, void *arg);

#endif
