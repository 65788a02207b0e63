/*
 * The configuration keys owned by the mgmt component (see pcconf_mgmt.h).
 * metrics_listen must be a loopback address: /metrics has no
 * authentication, so it is never exposed beyond the machine.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcconf_mgmt.h"

int
pcconf_mgmt_mode(const char *text)
{
	if (text == NULL || *text == '\0' || strlen(text) > 4)
		return -1;
	int mode = 0;
	for (const char *p = text; *p != '\0'; p++) {
		if (*p < '0' || *p > '7')
			return -1;
		mode = mode * 8 + (*p - '0');
	}
	return mode <= 0777 ? mode : -1;
}

static const char *
check_mode(const void *field_ptr, char *buf, size_t cap)
{
	const char *s = *(char *const *)field_ptr;
	if (pcconf_mgmt_mode(s) < 0)
		return "must be an octal file mode such as \"0660\"";
	return NULL;
}

static const char *
check_metrics(const void *field_ptr, char *buf, size_t cap)
{
	const char *s = *(char *const *)field_ptr;
	if (s == NULL || *s == '\0')
		return NULL;
	const char *colon = strrchr(s, ':');
	if (colon == NULL || colon[1] == '\0')
		return "must be ADDRESS:PORT, e.g. \"127.0.0.1:9090\"";
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		return "port must be 1..65535";
	char host[64];
	size_t hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return "must be ADDRESS:PORT, e.g. \"127.0.0.1:9090\"";
	memcpy(host, s, hl);
	host[hl] = '\0';
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, host, &a4) == 1) {
		if ((ntohl(a4.s_addr) >> 24) != 127)
			return "must be a loopback address (/metrics has no "
			       "authentication)";
		return NULL;
	}
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&a6))
			return "must be a loopback address (/metrics has no "
			       "authentication)";
		return NULL;
	}
	snprintf(buf, cap, "\"%s\" is not an IP address", host);
	return buf;
}

#define MF(k) offsetof(struct pc_mgmt_management, k)
static const struct conf_field management_fields[] = {
    {.key = "socket_mode",
        .type = CONF_STR,
        .offset = MF(socket_mode),
        .def = "\"0660\"",
        .check = check_mode,
        .doc = "File mode of RUNTIME_DIR/mgmt.sock (octal text)."},
    {.key = "group",
        .type = CONF_STR,
        .offset = MF(group),
        .def = "null",
        .doc = "Group owning mgmt.sock whose members may use pcctl; "
               "null = the top-level \"group\"."},
    {.key = "max_clients",
        .type = CONF_UINT,
        .offset = MF(max_clients),
        .def = "16",
        .min = 1,
        .max = 1024,
        .doc = "Management connections open at once; more are refused."},
    {.key = "max_request_bytes",
        .type = CONF_UINT,
        .offset = MF(max_request_bytes),
        .def = "65536",
        .min = 256,
        .max = 16777216,
        .doc = "Longest request line accepted on mgmt.sock."},
    {.key = "request_timeout_ms",
        .type = CONF_UINT,
        .offset = MF(request_timeout_ms),
        .def = "30000",
        .min = 100,
        .max = 600000,
        .doc = "How long portcullisd waits for a process to answer a "
               "management command."},
    {.key = "idle_timeout_s",
        .type = CONF_UINT,
        .offset = MF(idle_timeout_s),
        .def = "300",
        .min = 1,
        .max = 86400,
        .doc = "A management connection without a complete request for "
               "this long is closed, so idle clients cannot hold the "
               "max_clients slots."},
    {.key = "metrics_listen",
        .type = CONF_STR,
        .offset = MF(metrics_listen),
        .def = "\"\"",
        .check = check_metrics,
        .doc = "Loopback ADDRESS:PORT of the Prometheus /metrics HTTP "
               "listener; empty = off."},
};
#undef MF

static const struct conf_table management_table = {
    .name = "management",
    .fields = management_fields,
    .nfields = sizeof(management_fields) / sizeof(management_fields[0]),
    .size = sizeof(struct pc_mgmt_management),
};

#define SF(k) offsetof(struct pc_mgmt_supervisor, k)
static const struct conf_field supervisor_fields[] = {
    {.key = "restart_backoff_ms",
        .type = CONF_UINT,
        .offset = SF(restart_backoff_ms),
        .def = "250",
        .min = 10,
        .max = 60000,
        .doc = "Delay before restarting a process that died; doubles "
               "on each crash in a row."},
    {.key = "restart_backoff_max_ms",
        .type = CONF_UINT,
        .offset = SF(restart_backoff_max_ms),
        .def = "30000",
        .min = 10,
        .max = 3600000,
        .doc = "Longest delay between restarts of a crashing process."},
    {.key = "ready_timeout_ms",
        .type = CONF_UINT,
        .offset = SF(ready_timeout_ms),
        .def = "15000",
        .min = 100,
        .max = 600000,
        .doc = "A process that has not said HELLO on its control socket "
               "by then is killed and restarted."},
    {.key = "shutdown_timeout_ms",
        .type = CONF_UINT,
        .offset = SF(shutdown_timeout_ms),
        .def = "5000",
        .min = 100,
        .max = 600000,
        .doc = "After \"shutdown\", how long a process may take before "
               "SIGTERM (and SIGKILL as long again later)."},
};
#undef SF

static const struct conf_table supervisor_table = {
    .name = "supervisor",
    .fields = supervisor_fields,
    .nfields = sizeof(supervisor_fields) / sizeof(supervisor_fields[0]),
    .size = sizeof(struct pc_mgmt_supervisor),
};

static const struct conf_field fields[] = {
    {.key = "management",
        .type = CONF_OBJECT,
        .offset = offsetof(struct pc_mgmt_conf, management),
        .def = "{}",
        .sub = &management_table,
        .doc = "The management socket (pcctl) and /metrics."},
    {.key = "supervisor",
        .type = CONF_OBJECT,
        .offset = offsetof(struct pc_mgmt_conf, supervisor),
        .def = "{}",
        .sub = &supervisor_table,
        .doc = "How portcullisd restarts and stops its processes."},
};

const struct conf_table pcconf_mgmt_table = {
    .name = "mgmt",
    .fields = fields,
    .nfields = sizeof(fields) / sizeof(fields[0]),
    .size = sizeof(struct pc_mgmt_conf),
};
