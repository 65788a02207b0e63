/*
 * The supervisor against real processes: this test program re-executes
 * itself as a fake child (it recognises --ctl-fd) that speaks HELLO and
 * answers ctl requests. Covers readiness, request/reply matching with
 * multi-part replies, errors, restart after kill -9 with the cause
 * recorded, and an orderly shutdown. Waits are bounded loop iterations.
 */
#include "config.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl_rows.h"
#include "ev.h"
#include "ipc.h"
#include "ipc_msgs.h"
#include "log.h"
#include "mgmt/rows_json.h"
#include "mgmt/supervisor.h"
#include "tap.h"

static void
fake_reply(int fd, uint64_t id, uint16_t flags, int status, const char *code,
    const uint8_t *rows, size_t len)
{
	struct ipc_ctl_reply rep;
	memset(&rep, 0, sizeof(rep));
	rep.status = status;
	snprintf(rep.error_code, sizeof(rep.error_code), "%s", code);
	rep.rows_len = (uint32_t)len;
	ipc_send(fd, IPC_CTL_REPLY, flags, id, &rep, sizeof(rep), rows,
	    (uint32_t)len);
}

static int
fake_child(int fd)
{
	static uint8_t buf[IPC_MAX_MSG];
	uint8_t rows[256];
	struct ctl_rows r;
	struct ipc_msg m;

	ipc_send_hello(fd, IPC_ROLE_TEST, "fake");
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 10000) != 1)
			return 3;
		int rc = ipc_recv(fd, &ipc_cat_ctl, buf, sizeof(buf), &m);
		if (rc == 0)
			return 0;
		if (rc < 0)
			continue;
		if (m.hdr.type != IPC_CTL_REQUEST)
			continue;
		struct ipc_ctl_request req;
		memcpy(&req, m.body, sizeof(req));
		req.cmd[sizeof(req.cmd) - 1] = '\0';
		ctl_rows_init(&r, rows, sizeof(rows));
		if (strcmp(req.cmd, "stats") == 0) {
			ctl_rows_u64(&r, "n", 42);
			ctl_rows_end_row(&r);
			fake_reply(fd, m.hdr.id, 0, 0, "", rows, r.len);
		} else if (strcmp(req.cmd, "big") == 0) {
			for (int i = 0; i < 3; i++) {
				ctl_rows_init(&r, rows, sizeof(rows));
				ctl_rows_u64(&r, "i", (uint64_t)i);
				ctl_rows_end_row(&r);
				fake_reply(fd, m.hdr.id, i < 2 ? IPC_F_MORE : 0,
				    0, "", rows, r.len);
			}
		} else if (strcmp(req.cmd, "shutdown") == 0) {
			fake_reply(fd, m.hdr.id, 0, 0, "", NULL, 0);
			return 0;
		} else {
			fake_reply(
			    fd, m.hdr.id, 0, -1, "unknown_command", NULL, 0);
		}
	}
}

static struct ev_loop *loop;
static struct sup *sup;
static int ready_events, stopped_events;
static struct sup_reply last;
static json_t *last_rows;
static int replies;

static void
on_event(void *arg, bool all_ready, bool all_stopped)
{
	ready_events += all_ready;
	stopped_events += all_stopped;
}

static void
on_reply(void *arg, enum sup_id who, const struct sup_reply *r)
{
	replies++;
	last.status = r->status;
	static char code[32];
	snprintf(code, sizeof(code), "%s", r->code);
	last.code = code;
	json_decref(last_rows);
	last_rows = rows_json_array(r->rows, r->rows_len);
}

/* Runs the loop until *flag reaches want, at most ~10 s. */
static bool
run_until(int *flag, int want)
{
	for (int i = 0; i < 200 && *flag < want; i++)
		ev_run_once(loop, 50);
	return *flag >= want;
}

static bool
core_running_again(void)
{
	struct sup_child_info ci;
	for (int i = 0; i < 200; i++) {
		sup_info(sup, SUP_CORE, &ci);
		if (ci.state == SUP_ST_RUNNING && ci.restarts == 1)
			return true;
		ev_run_once(loop, 50);
	}
	return false;
}

static void
test_describe(void)
{
	char buf[80];
	CHECK_STR(sup_describe_status(3 << 8, buf, sizeof(buf)),
	    "exited with status 3");
	CHECK(strncmp(sup_describe_status(9, buf, sizeof(buf)),
	          "killed by signal 9", 18) == 0);
	CHECK_EQ_INT(sup_next_backoff(0, 250, 1000), 250);
	CHECK_EQ_INT(sup_next_backoff(250, 250, 1000), 500);
	CHECK_EQ_INT(sup_next_backoff(800, 250, 1000), 1000);
	CHECK_EQ_INT(sup_next_backoff(1000, 250, 1000), 1000);
	CHECK_EQ_INT(sup_parse_name("relay"), SUP_RELAY);
	CHECK_EQ_INT(sup_parse_name("nope"), -1);
}

static void
test_lifecycle(void)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	CHECK(n > 0);
	self[n > 0 ? n : 0] = '\0';
	struct sup_config cfg = {
	    .config_path = NULL,
	    .bin = {self, self, self},
	    .backoff_ms = 20,
	    .backoff_max_ms = 200,
	    .ready_timeout_ms = 5000,
	    .shutdown_timeout_ms = 2000,
	    .request_timeout_ms = 5000,
	};
	loop = ev_loop_new();
	sup = sup_new(loop, &cfg, on_event, NULL);
	CHECK_EQ_INT(sup_start(sup), 0);
	CHECK(run_until(&ready_events, 1));

	/* A child not running answers at once. */
	sup_request(sup, SUP_CORE, "stats", NULL, 0, -1, on_reply, NULL);
	CHECK(run_until(&replies, 1));
	CHECK_EQ_INT(last.status, 0);
	CHECK_EQ_INT(json_integer_value(
	                 json_object_get(json_array_get(last_rows, 0), "n")),
	    42);

	sup_request(sup, SUP_EDGE, "big", NULL, 0, -1, on_reply, NULL);
	CHECK(run_until(&replies, 2));
	CHECK_EQ_INT(json_array_size(last_rows), 3);
	CHECK_EQ_INT(json_integer_value(
	                 json_object_get(json_array_get(last_rows, 2), "i")),
	    2);

	sup_request(sup, SUP_RELAY, "nope", NULL, 0, -1, on_reply, NULL);
	CHECK(run_until(&replies, 3));
	CHECK(last.status != 0);
	CHECK_STR(last.code, "unknown_command");

	/* kill -9: restarted, the cause recorded. */
	struct sup_child_info ci;
	sup_info(sup, SUP_CORE, &ci);
	pid_t old = ci.pid;
	CHECK(old > 0);
	kill(old, SIGKILL);
	CHECK(core_running_again());
	sup_info(sup, SUP_CORE, &ci);
	CHECK(ci.pid != old && ci.pid > 0);
	CHECK(strstr(ci.last_exit, "signal 9") != NULL);
	sup_request(sup, SUP_CORE, "stats", NULL, 0, -1, on_reply, NULL);
	CHECK(run_until(&replies, 4));
	CHECK_EQ_INT(last.status, 0);

	sup_shutdown(sup);
	CHECK(run_until(&stopped_events, 1));
	for (int i = 0; i < SUP_NCHILD; i++) {
		sup_info(sup, (enum sup_id)i, &ci);
		CHECK_EQ_INT(ci.pid, 0);
	}
	/* After shutdown nothing is restarted and requests fail at once. */
	sup_request(sup, SUP_CORE, "stats", NULL, 0, -1, on_reply, NULL);
	CHECK_EQ_INT(replies, 5);
	CHECK_STR(last.code, "unavailable");
	json_decref(last_rows);
	last_rows = NULL;
	sup_free(sup);
	ev_loop_free(loop);
}

int
main(int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--ctl-fd") == 0)
			return fake_child(atoi(argv[i + 1]));
	log_init("test_mgmt_sup", LOG_LVL_WARN);
	TEST_RUN(test_describe);
	TEST_RUN(test_lifecycle);
	return tap_done();
}
