/*
 * pcconf_mgmt: the configuration sections owned by the mgmt component
 * ("management": the JSON socket and /metrics; "supervisor": restarts and
 * shutdown deadlines). Bound by pcconf_mgmt_table under the root table.
 * Strings are heap-allocated by conf and released by conf_free().
 */
#ifndef PC_PCCONF_MGMT_H
#define PC_PCCONF_MGMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

struct pc_mgmt_management {
	char *socket_mode; /* octal text, e.g. "0660" */
	char *group; /* NULL = the root "group" */
	uint32_t max_clients;
	uint32_t max_request_bytes;
	uint32_t request_timeout_ms;
	uint32_t idle_timeout_s;
	char *metrics_listen; /* "127.0.0.1:9090"; empty = off */
};

struct pc_mgmt_supervisor {
	uint32_t restart_backoff_ms;
	uint32_t restart_backoff_max_ms;
	uint32_t ready_timeout_ms;
	uint32_t shutdown_timeout_ms;
};

struct pc_mgmt_conf {
	struct pc_mgmt_management management;
	struct pc_mgmt_supervisor supervisor;
};

/* Keys of the root object that belong to mgmt (bound CONF_INLINE). */
extern const struct conf_table pcconf_mgmt_table;

/* "0660" -> 0660; -1 if not an octal mode up to 0777. */
int pcconf_mgmt_mode(const char *text);

#endif
