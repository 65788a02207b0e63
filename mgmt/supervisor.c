/*
 * One record per child. The ctl socket is driven with ipc_send/ipc_recv
 * directly (not ipc_chan) because the supervisor needs the peer's HELLO as
 * the readiness signal and must pass descriptors (users.import); ctl
 * traffic is a few small requests, so a full socket buffer is reported to
 * the caller as "unavailable" rather than queued.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl_cmds.h"
#include "ipc.h"
#include "ipc_msgs.h"
#include "log.h"
#include "supervisor.h"

/* A child that stayed up this long is healthy again: back-off resets. */
#define SUP_HEALTHY_MS 10000
/* Bound on one reassembled multi-part reply. */
#define SUP_MAX_REPLY (64u << 20)

struct sup_pending {
	struct sup_pending *next;
	struct sup *s;
	enum sup_id who;
	uint64_t id;
	sup_reply_cb cb;
	void *arg;
	struct ev_timer timer;
	uint8_t *rows;
	size_t rows_len, rows_cap;
};

struct sup_child {
	enum sup_id id;
	enum sup_state state;
	pid_t pid;
	int fd;
	uint32_t peer_pid;
	uint64_t start_ms;
	uint32_t restarts;
	uint32_t backoff_ms;
	int kill_stage;
	char last_exit[80];
	struct ev_timer timer;
	struct sup_pending *pending;
	struct sup *s;
};

struct sup {
	struct ev_loop *loop;
	struct sup_config cfg;
	sup_event_cb on_event;
	void *arg;
	struct sup_child child[SUP_NCHILD];
	uint64_t next_id;
	bool is_stopping;
	bool announced_ready;
	uint8_t rbuf[IPC_MAX_MSG];
};

static const char *const names[SUP_NCHILD] = {"edge", "core", "relay"};

static void child_timer_cb(struct ev_loop *loop, struct ev_timer *t, void *arg);
static void spawn(struct sup_child *c);

const char *
sup_name(enum sup_id who)
{
	return who < SUP_NCHILD ? names[who] : "?";
}

int
sup_parse_name(const char *name)
{
	for (int i = 0; i < SUP_NCHILD; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

const char *
sup_describe_status(int wstatus, char *buf, size_t cap)
{
	if (WIFEXITED(wstatus))
		snprintf(
		    buf, cap, "exited with status %d", WEXITSTATUS(wstatus));
	else if (WIFSIGNALED(wstatus))
		snprintf(buf, cap, "killed by signal %d (%s)%s",
		    WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)),
		    WCOREDUMP(wstatus) ? ", core dumped" : "");
	else
		snprintf(buf, cap, "stopped (status 0x%x)", wstatus);
	return buf;
}

uint32_t
sup_next_backoff(uint32_t prev, uint32_t base, uint32_t max)
{
	uint64_t next = prev == 0 ? base : (uint64_t)prev * 2;
	if (next > max)
		next = max;
	return (uint32_t)next;
}

struct sup *
sup_new(struct ev_loop *loop, const struct sup_config *cfg,
    sup_event_cb on_event, void *arg)
{
	struct sup *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->loop = loop;
	s->cfg = *cfg;
	s->on_event = on_event;
	s->arg = arg;
	s->next_id = 1;
	for (int i = 0; i < SUP_NCHILD; i++) {
		struct sup_child *c = &s->child[i];
		c->id = (enum sup_id)i;
		c->fd = -1;
		c->s = s;
		ev_timer_init(&c->timer, child_timer_cb, c);
	}
	return s;
}

void
sup_set_config(struct sup *s, const struct sup_config *cfg)
{
	s->cfg = *cfg;
}

bool
sup_is_stopping(const struct sup *s)
{
	return s->is_stopping;
}

static void
pending_finish(struct sup_pending *p, const struct sup_reply *r)
{
	struct sup_child *c = &p->s->child[p->who];
	struct sup_pending **pp;
	for (pp = &c->pending; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	ev_timer_stop(p->s->loop, &p->timer);
	p->cb(p->arg, p->who, r);
	free(p->rows);
	free(p);
}

static void
pending_fail(struct sup_pending *p, const char *code, const char *msg)
{
	struct sup_reply r = {.status = -1, .code = code, .message = msg};
	pending_finish(p, &r);
}

static void
pending_timeout_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct sup_pending *p = arg;
	char msg[96];
	snprintf(
	    msg, sizeof(msg), "%s did not answer in time", sup_name(p->who));
	log_warnx("ctl request %llu to %s timed out", (unsigned long long)p->id,
	    sup_name(p->who));
	pending_fail(p, "timeout", msg);
}

static void
fail_all_pending(struct sup_child *c, const char *msg)
{
	while (c->pending != NULL)
		pending_fail(c->pending, CTL_E_UNAVAILABLE, msg);
}

static void
close_ctl(struct sup_child *c)
{
	if (c->fd >= 0) {
		ev_io_del(c->s->loop, c->fd);
		close(c->fd);
		c->fd = -1;
	}
}

static bool
all_running(const struct sup *s)
{
	for (int i = 0; i < SUP_NCHILD; i++)
		if (s->child[i].state != SUP_ST_RUNNING)
			return false;
	return true;
}

static bool
all_exited(const struct sup *s)
{
	for (int i = 0; i < SUP_NCHILD; i++)
		if (s->child[i].pid != 0)
			return false;
	return true;
}

static void
kill_child(struct sup_child *c, int sig)
{
	if (c->pid > 0)
		kill(c->pid, sig);
}

static void
handle_reply(struct sup_child *c, const struct ipc_msg *m)
{
	struct ipc_ctl_reply rep;
	if (m->len < sizeof(rep)) {
		log_warnx("%s: short CTL_REPLY", sup_name(c->id));
		return;
	}
	memcpy(&rep, m->body, sizeof(rep));
	if (rep.rows_len != m->len - sizeof(rep)) {
		log_warnx("%s: CTL_REPLY rows_len %u does not match body",
		    sup_name(c->id), rep.rows_len);
		kill_child(c, SIGKILL);
		return;
	}
	struct sup_pending *p;
	for (p = c->pending; p != NULL; p = p->next)
		if (p->id == m->hdr.id)
			break;
	if (p == NULL)
		return; /* timed out earlier; the late answer is dropped */
	const uint8_t *rows = m->body + sizeof(rep);
	if (rep.rows_len > 0) {
		if (p->rows_len + rep.rows_len > SUP_MAX_REPLY) {
			pending_fail(p, CTL_E_INTERNAL, "reply too large");
			return;
		}
		if (p->rows_len + rep.rows_len > p->rows_cap) {
			size_t cap = p->rows_cap ? p->rows_cap : 65536;
			while (cap < p->rows_len + rep.rows_len)
				cap *= 2;
			uint8_t *nb = realloc(p->rows, cap);
			if (nb == NULL) {
				pending_fail(
				    p, CTL_E_INTERNAL, "out of memory");
				return;
			}
			p->rows = nb;
			p->rows_cap = cap;
		}
		memcpy(p->rows + p->rows_len, rows, rep.rows_len);
		p->rows_len += rep.rows_len;
	}
	if (m->hdr.flags & IPC_F_MORE)
		return;
	char code[sizeof(rep.error_code) + 1];
	char msg[sizeof(rep.message) + 1];
	memcpy(code, rep.error_code, sizeof(rep.error_code));
	code[sizeof(rep.error_code)] = '\0';
	memcpy(msg, rep.message, sizeof(rep.message));
	msg[sizeof(rep.message)] = '\0';
	struct sup_reply r = {
	    .status = rep.status,
	    .code = code[0] ? code : (rep.status ? CTL_E_INTERNAL : ""),
	    .message = msg[0] ? msg : (code[0] ? code : ""),
	    .rows = p->rows,
	    .rows_len = p->rows_len,
	};
	pending_finish(p, &r);
}

static void
ctl_read_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sup_child *c = arg;
	struct sup *s = c->s;
	struct ipc_msg m;

	for (int budget = 0; budget < 64 && c->fd >= 0; budget++) {
		int r =
		    ipc_recv(c->fd, &ipc_cat_ctl, s->rbuf, sizeof(s->rbuf), &m);
		if (r < 0 && errno == EAGAIN)
			return;
		if (r <= 0) {
			/* Closed or garbage: the process is no longer
			 * usable. Its exit is reaped through SIGCHLD. */
			if (r < 0)
				log_warn("%s: ctl socket", sup_name(c->id));
			else if (c->state != SUP_ST_STOPPING)
				log_warnx("%s closed its ctl socket",
				    sup_name(c->id));
			close_ctl(c);
			fail_all_pending(c,
			    "process closed its control "
			    "socket");
			if (c->state != SUP_ST_STOPPING)
				kill_child(c, SIGKILL);
			return;
		}
		if (m.fd >= 0)
			close(m.fd); /* children never pass descriptors */
		if (c->state == SUP_ST_STARTING) {
			struct ipc_hello h;
			char err[128];
			if (m.hdr.type != IPC_HELLO ||
			    !ipc_check_hello(&m, &h, err, sizeof(err))) {
				log_warnx("%s: bad HELLO on ctl: %s",
				    sup_name(c->id),
				    m.hdr.type != IPC_HELLO ? "not a HELLO"
				                            : err);
				kill_child(c, SIGKILL);
				close_ctl(c);
				return;
			}
			c->peer_pid = h.pid;
			c->state = SUP_ST_RUNNING;
			c->start_ms = ev_now_ms(s->loop);
			ev_timer_stop(s->loop, &c->timer);
			log_info("%s (pid %d) is ready", sup_name(c->id),
			    (int)c->pid);
			if (!s->announced_ready && all_running(s)) {
				s->announced_ready = true;
				if (s->on_event)
					s->on_event(s->arg, true, false);
			}
			continue;
		}
		if (m.hdr.type == IPC_CTL_REPLY)
			handle_reply(c, &m);
	}
}

static void
schedule_restart(struct sup_child *c)
{
	struct sup *s = c->s;
	uint64_t ran = ev_now_ms(s->loop) - c->start_ms;
	if (ran >= SUP_HEALTHY_MS)
		c->backoff_ms = s->cfg.backoff_ms;
	else
		c->backoff_ms = sup_next_backoff(
		    c->backoff_ms, s->cfg.backoff_ms, s->cfg.backoff_max_ms);
	log_info("restarting %s in %u ms", sup_name(c->id), c->backoff_ms);
	ev_timer_start(s->loop, &c->timer, c->backoff_ms);
}

static void
sigchld_cb(struct ev_loop *loop, int signo, void *arg)
{
	struct sup *s = arg;
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		struct sup_child *c = NULL;
		for (int i = 0; i < SUP_NCHILD; i++)
			if (s->child[i].pid == pid)
				c = &s->child[i];
		if (c == NULL)
			continue;
		char why[80];
		sup_describe_status(st, why, sizeof(why));
		bool expected = c->state == SUP_ST_STOPPING || s->is_stopping;
		if (expected)
			log_info(
			    "%s (pid %d) %s", sup_name(c->id), (int)pid, why);
		else
			log_error("%s (pid %d) died: %s", sup_name(c->id),
			    (int)pid, why);
		if (!expected)
			snprintf(c->last_exit, sizeof(c->last_exit), "%s", why);
		c->pid = 0;
		c->peer_pid = 0;
		c->state = SUP_ST_STOPPED;
		ev_timer_stop(loop, &c->timer);
		close_ctl(c);
		fail_all_pending(c, "process exited");
		if (!s->is_stopping)
			schedule_restart(c);
	}
	if (s->is_stopping && all_exited(s) && s->on_event)
		s->on_event(s->arg, false, true);
}

static void
child_timer_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct sup_child *c = arg;
	struct sup *s = c->s;

	switch (c->state) {
	case SUP_ST_STOPPED:
		if (!s->is_stopping) {
			c->restarts++;
			spawn(c);
		}
		break;
	case SUP_ST_STARTING:
		log_error("%s (pid %d) not ready after %u ms; killing it",
		    sup_name(c->id), (int)c->pid, s->cfg.ready_timeout_ms);
		snprintf(
		    c->last_exit, sizeof(c->last_exit), "not ready in time");
		kill_child(c, SIGKILL);
		break;
	case SUP_ST_STOPPING:
	case SUP_ST_RUNNING:
		if (c->pid == 0)
			break;
		if (c->kill_stage == 0) {
			log_warnx("%s (pid %d) still running; SIGTERM",
			    sup_name(c->id), (int)c->pid);
			kill_child(c, SIGTERM);
			c->kill_stage = 1;
			ev_timer_start(
			    loop, &c->timer, s->cfg.shutdown_timeout_ms);
		} else {
			log_warnx("%s (pid %d) ignores SIGTERM; SIGKILL",
			    sup_name(c->id), (int)c->pid);
			kill_child(c, SIGKILL);
		}
		break;
	}
}

static void
spawn(struct sup_child *c)
{
	struct sup *s = c->s;
	int sv[2];
	const char *bin = s->cfg.bin[c->id];

	if (ipc_socketpair(sv) < 0) {
		log_warn("%s: socketpair", sup_name(c->id));
		schedule_restart(c);
		return;
	}
	if (ipc_send_hello(sv[0], IPC_ROLE_MGMT, "portcullisd") < 0) {
		log_warn("%s: hello", sup_name(c->id));
		close(sv[0]);
		close(sv[1]);
		schedule_restart(c);
		return;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		log_warn("%s: fork", sup_name(c->id));
		close(sv[0]);
		close(sv[1]);
		schedule_restart(c);
		return;
	}
	if (pid == 0) {
		/* The loop blocked signals for signalfd and we ignore
		 * SIGPIPE: a child must start with neither. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		/* Own process group: a terminal's Ctrl-C reaches only
		 * portcullisd, which then stops the children in order. */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		int fd = sv[1];
		if (fd <= 2) {
			fd = fcntl(sv[1], F_DUPFD, 3);
			if (fd < 0)
				_exit(126);
		}
		fcntl(fd, F_SETFD, 0);
		char fdtext[16];
		snprintf(fdtext, sizeof(fdtext), "%d", fd);
		const char *argv[8];
		int n = 0;
		argv[n++] = bin;
		if (s->cfg.config_path != NULL) {
			argv[n++] = "-c";
			argv[n++] = s->cfg.config_path;
		}
		argv[n++] = "-f";
		argv[n++] = "--ctl-fd";
		argv[n++] = fdtext;
		argv[n] = NULL;
		execv(bin, (char *const *)argv);
		dprintf(2, "portcullisd: cannot run %s: %s\n", bin,
		    strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	c->pid = pid;
	c->fd = sv[0];
	c->state = SUP_ST_STARTING;
	c->kill_stage = 0;
	c->start_ms = ev_now_ms(s->loop);
	if (ev_io_add(s->loop, c->fd, EV_READ, ctl_read_cb, c) < 0) {
		log_warn("%s: ev_io_add", sup_name(c->id));
		close_ctl(c);
		kill_child(c, SIGKILL);
		return;
	}
	ev_timer_start(s->loop, &c->timer, s->cfg.ready_timeout_ms);
	log_info("started %s (pid %d): %s", sup_name(c->id), (int)pid, bin);
}

int
sup_start(struct sup *s)
{
	if (ev_signal_add(s->loop, SIGCHLD, sigchld_cb, s) < 0)
		return -1;
	/* core first: edge connects to it and answers 503 until it can. */
	spawn(&s->child[SUP_CORE]);
	spawn(&s->child[SUP_RELAY]);
	spawn(&s->child[SUP_EDGE]);
	return 0;
}

static void
ignore_reply(void *arg, enum sup_id who, const struct sup_reply *r)
{
	if (r->status != 0)
		log_info("%s: shutdown request: %s", sup_name(who), r->message);
}

void
sup_shutdown(struct sup *s)
{
	if (s->is_stopping)
		return;
	s->is_stopping = true;
	for (int i = 0; i < SUP_NCHILD; i++) {
		struct sup_child *c = &s->child[i];
		ev_timer_stop(s->loop, &c->timer);
		if (c->pid == 0) {
			c->state = SUP_ST_STOPPED;
			continue;
		}
		if (c->state == SUP_ST_RUNNING) {
			sup_request(s, c->id, "shutdown", NULL, 0, -1,
			    ignore_reply, NULL);
		} else {
			kill_child(c, SIGTERM);
			c->kill_stage = 1;
		}
		c->state = SUP_ST_STOPPING;
		ev_timer_start(s->loop, &c->timer, s->cfg.shutdown_timeout_ms);
	}
	if (all_exited(s) && s->on_event)
		s->on_event(s->arg, false, true);
}

void
sup_request(struct sup *s, enum sup_id who, const char *cmd, const void *args,
    size_t args_len, int passfd, sup_reply_cb cb, void *arg)
{
	struct sup_child *c = &s->child[who];
	char msg[96];

	if (c->fd < 0 ||
	    (c->state != SUP_ST_RUNNING &&
	        !(c->state == SUP_ST_STOPPING &&
	            strcmp(cmd, "shutdown") == 0))) {
		if (passfd >= 0)
			close(passfd);
		snprintf(msg, sizeof(msg), "%s is not running", sup_name(who));
		struct sup_reply r = {
		    .status = -1, .code = CTL_E_UNAVAILABLE, .message = msg};
		cb(arg, who, &r);
		return;
	}
	struct sup_pending *p = calloc(1, sizeof(*p));
	uint8_t *body = malloc(sizeof(struct ipc_ctl_request) + args_len);
	if (p == NULL || body == NULL) {
		free(p);
		free(body);
		if (passfd >= 0)
			close(passfd);
		struct sup_reply r = {.status = -1,
		    .code = CTL_E_INTERNAL,
		    .message = "out of memory"};
		cb(arg, who, &r);
		return;
	}
	struct ipc_ctl_request req;
	memset(&req, 0, sizeof(req));
	snprintf(req.cmd, sizeof(req.cmd), "%s", cmd);
	req.args_len = (uint32_t)args_len;
	memcpy(body, &req, sizeof(req));
	if (args_len > 0)
		memcpy(body + sizeof(req), args, args_len);
	p->s = s;
	p->who = who;
	p->id = s->next_id++;
	p->cb = cb;
	p->arg = arg;
	int rc;
	if (passfd >= 0) {
		rc = ipc_send_fd(c->fd, IPC_CTL_REQUEST, p->id, body,
		    (uint32_t)(sizeof(req) + args_len), passfd);
		close(passfd);
	} else {
		rc = ipc_send(c->fd, IPC_CTL_REQUEST, 0, p->id, body,
		    (uint32_t)(sizeof(req) + args_len), NULL, 0);
	}
	free(body);
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "cannot send to %s: %s",
		    sup_name(who), strerror(errno));
		free(p);
		struct sup_reply r = {
		    .status = -1, .code = CTL_E_UNAVAILABLE, .message = msg};
		cb(arg, who, &r);
		return;
	}
	ev_timer_init(&p->timer, pending_timeout_cb, p);
	ev_timer_start(s->loop, &p->timer, s->cfg.request_timeout_ms);
	p->next = c->pending;
	c->pending = p;
}

void
sup_info(const struct sup *s, enum sup_id who, struct sup_child_info *out)
{
	const struct sup_child *c = &s->child[who];
	memset(out, 0, sizeof(*out));
	out->name = names[who];
	out->state = c->state;
	out->pid = c->pid;
	out->peer_pid = c->peer_pid;
	out->restarts = c->restarts;
	if (c->state == SUP_ST_RUNNING)
		out->uptime_ms = ev_now_ms(s->loop) - c->start_ms;
	snprintf(out->last_exit, sizeof(out->last_exit), "%s", c->last_exit);
}

void
sup_free(struct sup *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < SUP_NCHILD; i++) {
		struct sup_child *c = &s->child[i];
		ev_timer_stop(s->loop, &c->timer);
		fail_all_pending(c, "supervisor stopping");
		close_ctl(c);
	}
	free(s);
}
