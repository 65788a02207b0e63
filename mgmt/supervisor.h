/*
 * supervisor: starts edge, core and relay as separate programs with a ctl
 * socketpair each, restarts one that dies (with back-off, logging why),
 * matches ctl requests to replies, and stops them all on shutdown.
 * The supervisor owns its children's state; reply rows handed to a
 * callback point into supervisor memory valid only during the call.
 */
#ifndef PC_SUPERVISOR_H
#define PC_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ev.h"

enum sup_id { SUP_EDGE = 0, SUP_CORE, SUP_RELAY, SUP_NCHILD };

enum sup_state {
	SUP_ST_STOPPED = 0, /* not running, restart pending or shutting down */
	SUP_ST_STARTING, /* forked, no HELLO yet */
	SUP_ST_RUNNING, /* HELLO received */
	SUP_ST_STOPPING, /* asked to shut down */
};

struct sup_reply {
	int status; /* 0 ok, else negative */
	const char *code;
	const char *message;
	const uint8_t *rows;
	size_t rows_len;
};

typedef void (*sup_reply_cb)(
    void *arg, enum sup_id who, const struct sup_reply *r);
/* Told when every child is running for the first time, and when the last
 * child has exited after sup_shutdown(). */
typedef void (*sup_event_cb)(void *arg, bool all_ready, bool all_stopped);

struct sup_config {
	const char *config_path; /* absolute, or NULL = built-in defaults */
	const char *bin[SUP_NCHILD]; /* full paths of the programs */
	uint32_t backoff_ms, backoff_max_ms, ready_timeout_ms;
	uint32_t shutdown_timeout_ms, request_timeout_ms;
};

struct sup;

struct sup *sup_new(struct ev_loop *loop, const struct sup_config *cfg,
    sup_event_cb on_event, void *arg);
void sup_free(struct sup *s);
void sup_set_config(struct sup *s, const struct sup_config *cfg);
/* Installs the SIGCHLD handler and starts every child. */
int sup_start(struct sup *s);
/* Asks every child to shut down; escalates to SIGTERM, then SIGKILL. */
void sup_shutdown(struct sup *s);
bool sup_is_stopping(const struct sup *s);

/*
 * Sends a ctl command to a child. cb is always called exactly once, maybe
 * before sup_request returns (child not running: status -1, code
 * "unavailable"). args is one ctl_rows row (may be NULL/0). passfd, if
 * >= 0, is sent with the request and always closed by the supervisor.
 */
void sup_request(struct sup *s, enum sup_id who, const char *cmd,
    const void *args, size_t args_len, int passfd, sup_reply_cb cb, void *arg);

struct sup_child_info {
	const char *name; /* "edge", "core", "relay" */
	enum sup_state state;
	pid_t pid;
	uint64_t uptime_ms;
	uint32_t restarts;
	char last_exit[80]; /* "killed by signal 9 (Killed)", "" if none */
	uint32_t peer_pid; /* from HELLO */
};
void sup_info(const struct sup *s, enum sup_id who, struct sup_child_info *out);
const char *sup_name(enum sup_id who);
/* "edge" -> SUP_EDGE; -1 if unknown. */
int sup_parse_name(const char *name);

/* Describes a waitpid status ("exited with status 3", "killed by signal
 * 9 (Killed)") into buf; returns buf. */
const char *sup_describe_status(int wstatus, char *buf, size_t cap);
/* Back-off after a crash: doubles prev (base when prev is 0) up to max. */
uint32_t sup_next_backoff(uint32_t prev, uint32_t base, uint32_t max);

#endif
