#include "config.h"

/*
 * Reading stops while a client's request runs or its reply is unsent, so
 * a client can never make portcullisd buffer more than one request and
 * one reply for it. A client that disconnects mid-request is freed when
 * its reply arrives (the command layer always answers exactly once).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "mgmt_sock.h"

struct client {
	struct mgmt_sock *m;
	int fd;
	char *in;
	size_t in_len;
	char *out;
	size_t out_len, out_off;
	int passfd;
	bool is_busy; /* a command runs */
	bool is_dead; /* socket gone while busy */
	bool is_closing; /* close once out is written */
	bool has_eof;
	bool in_process;
	struct ev_timer idle;
	struct client *next;
};

struct mgmt_sock {
	struct ev_loop *loop;
	struct cmd_ctx *x;
	struct mgmt_sock_cfg cfg;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lfd;
	uint32_t nclients;
	struct client *clients;
};

static struct log_rl rl_denied = LOG_RL_INIT(60000, 5);

static void client_process(struct client *c);
static void client_close(struct client *c);

/* Only time without a complete request counts: a long-running command
 * (users.import) is not idleness. */
static void
idle_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct client *c = arg;
	if (c->is_busy || c->out_off < c->out_len) {
		ev_timer_start(loop, &c->idle, c->m->cfg.idle_timeout_ms);
		return;
	}
	client_close(c);
}

static void
client_free(struct client *c)
{
	struct mgmt_sock *m = c->m;
	struct client **pp;
	for (pp = &m->clients; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	m->nclients--;
	ev_timer_stop(m->loop, &c->idle);
	if (c->passfd >= 0)
		close(c->passfd);
	free(c->in);
	free(c->out);
	free(c);
}

static void
client_close(struct client *c)
{
	if (c->fd >= 0) {
		ev_io_del(c->m->loop, c->fd);
		close(c->fd);
		c->fd = -1;
	}
	if (c->is_busy) {
		c->is_dead = true;
		return;
	}
	client_free(c);
}

static void
client_update(struct client *c)
{
	uint32_t ev = 0;
	if (c->fd < 0)
		return;
	if (c->out_off < c->out_len)
		ev = EV_WRITE;
	else if (!c->is_busy && !c->is_closing && !c->has_eof)
		ev = EV_READ;
	ev_io_mod(c->m->loop, c->fd, ev);
}

/* Returns false if the client was closed. */
static bool
client_flush(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
		    c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			client_close(c);
			return false;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len) {
		free(c->out);
		c->out = NULL;
		c->out_len = c->out_off = 0;
		if (c->is_closing ||
		    (c->has_eof && !c->is_busy &&
		        memchr(c->in, '\n', c->in_len) == NULL)) {
			client_close(c);
			return false;
		}
	}
	client_update(c);
	return true;
}

static void
client_queue(struct client *c, char *line)
{
	if (line == NULL)
		return;
	size_t n = strlen(line);
	if (c->out == NULL) {
		c->out = line;
		c->out_len = n;
		c->out_off = 0;
		return;
	}
	char *nb = realloc(c->out, c->out_len + n);
	if (nb == NULL) {
		free(line);
		c->is_closing = true;
		return;
	}
	memcpy(nb + c->out_len, line, n);
	c->out = nb;
	c->out_len += n;
	free(line);
}

static void
cmd_done(void *arg, char *line)
{
	struct client *c = arg;
	c->is_busy = false;
	if (c->is_dead) {
		free(line);
		client_free(c);
		return;
	}
	client_queue(c, line);
	if (c->in_process)
		return; /* answered at once: client_process() sends it */
	if (!client_flush(c))
		return;
	client_process(c);
}

/* Runs the complete lines in the input buffer, one at a time. */
static void
client_process(struct client *c)
{
	c->in_process = true;
	while (!c->is_busy && !c->is_closing && c->fd >= 0 && c->out_len == 0) {
		char *nl = memchr(c->in, '\n', c->in_len);
		if (nl == NULL)
			break;
		size_t len = (size_t)(nl - c->in);
		size_t linelen = len;
		if (linelen > 0 && c->in[linelen - 1] == '\r')
			linelen--;
		struct mgmt_req req;
		struct mgmt_err err;
		bool empty = linelen == 0;
		int rc =
		    empty ? 0 : mgmt_req_decode(c->in, linelen, &req, &err);
		memmove(c->in, nl + 1, c->in_len - len - 1);
		c->in_len -= len + 1;
		if (empty)
			continue;
		if (rc < 0) {
			c->m->x->requests++;
			c->m->x->errors++;
			log_ratelimited(&rl_denied, LOG_LVL_DEBUG,
			    "mgmt: bad request: %s", err.message);
			client_queue(
			    c, mgmt_reply_err(err.code, err.message, NULL));
			if (!client_flush(c))
				return;
			continue;
		}
		int fd = c->passfd;
		c->passfd = -1;
		c->is_busy = true;
		ev_timer_start(c->m->loop, &c->idle, c->m->cfg.idle_timeout_ms);
		client_update(c);
		cmd_exec(c->m->x, &req, fd, cmd_done, c);
		if (!c->is_busy && !client_flush(c))
			return;
	}
	c->in_process = false;
	if (c->fd >= 0 && c->has_eof && !c->is_busy && c->out_len == 0) {
		client_close(c);
		return;
	}
	if (c->fd >= 0)
		client_update(c);
}

static void
client_read(struct client *c)
{
	size_t cap = c->m->cfg.max_request_bytes + 1;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {c->in + c->in_len, cap - c->in_len};
	struct msghdr mh = {.msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = cbuf,
	    .msg_controllen = sizeof(cbuf)};
	ssize_t n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* Descriptors arrive even with a short read; keep the last. */
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL;
	     cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *fds = (int *)CMSG_DATA(cm);
		for (size_t i = 0; i < nfd; i++) {
			if (c->passfd >= 0)
				close(c->passfd);
			c->passfd = fds[i];
		}
	}
	if (n <= 0) {
		if (n < 0) {
			client_close(c);
			return;
		}
		c->has_eof = true;
		client_process(c);
		return;
	}
	c->in_len += (size_t)n;
	if (memchr(c->in, '\n', c->in_len) == NULL && c->in_len >= cap) {
		char msg[96];
		snprintf(msg, sizeof(msg),
		    "request longer than %u bytes (management."
		    "max_request_bytes)",
		    c->m->cfg.max_request_bytes);
		c->m->x->errors++;
		c->in_len = 0;
		c->is_closing = true;
		client_queue(c, mgmt_reply_err(MGMT_E_TOO_LARGE, msg, NULL));
		client_flush(c);
		return;
	}
	client_process(c);
}

static void
client_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct client *c = arg;
	if (c->out_off < c->out_len) {
		if ((events & (EV_WRITE | EV_ERROR)) && client_flush(c) &&
		    c->out_len == 0)
			client_process(c);
		return;
	}
	if (events & (EV_READ | EV_ERROR))
		client_read(c);
}

static bool
peer_allowed(const struct mgmt_sock *m, const struct ucred *cr)
{
	if (cr->uid == 0 || cr->uid == geteuid())
		return true;
	if (m->cfg.gid == (gid_t)-1)
		return false;
	if (cr->gid == m->cfg.gid)
		return true;
	struct passwd *pw = getpwuid(cr->uid);
	if (pw == NULL)
		return false;
	gid_t groups[256];
	int ng = 256;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ng) < 0)
		return false;
	for (int i = 0; i < ng; i++)
		if (groups[i] == m->cfg.gid)
			return true;
	return false;
}

static void
refuse(int fd, const char *code, const char *msg)
{
	char *line = mgmt_reply_err(code, msg, NULL);
	if (line != NULL) {
		ssize_t n =
		    send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)n;
	}
	free(line);
	close(fd);
}

static void
accept_cb(struct ev_loop *loop, int lfd, uint32_t events, void *arg)
{
	struct mgmt_sock *m = arg;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct ucred cr;
		socklen_t cl = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 ||
		    !peer_allowed(m, &cr)) {
			log_ratelimited(&rl_denied, LOG_LVL_WARN,
			    "mgmt: refused uid %d (not root, not in the "
			    "management group)",
			    (int)cr.uid);
			refuse(fd, MGMT_E_DENIED,
			    "not allowed: root or the management group only");
			continue;
		}
		if (m->nclients >= m->cfg.max_clients) {
			refuse(fd, MGMT_E_BUSY,
			    "too many management clients; try again");
			continue;
		}
		struct client *c = calloc(1, sizeof(*c));
		char *in = malloc(m->cfg.max_request_bytes + 1);
		if (c == NULL || in == NULL) {
			free(c);
			free(in);
			close(fd);
			continue;
		}
		c->m = m;
		c->fd = fd;
		c->in = in;
		c->passfd = -1;
		ev_timer_init(&c->idle, idle_cb, c);
		ev_timer_start(loop, &c->idle, m->cfg.idle_timeout_ms);
		if (ev_io_add(loop, fd, EV_READ, client_cb, c) < 0) {
			close(fd);
			free(in);
			free(c);
			continue;
		}
		c->next = m->clients;
		m->clients = c;
		m->nclients++;
	}
}

struct mgmt_sock *
mgmt_sock_new(
    struct ev_loop *loop, struct cmd_ctx *x, const struct mgmt_sock_cfg *cfg)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(cfg->path) >= sizeof(sa.sun_path)) {
		log_error("mgmt socket path too long: %s", cfg->path);
		return NULL;
	}
	struct mgmt_sock *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->loop = loop;
	m->x = x;
	m->cfg = *cfg;
	snprintf(m->path, sizeof(m->path), "%s", cfg->path);
	m->cfg.path = m->path;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", cfg->path);
	m->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->lfd < 0) {
		log_warn("mgmt socket");
		free(m);
		return NULL;
	}
	struct stat st;
	if (lstat(m->path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(m->path);
	/* Created with no access at all, then opened up: no window in
	 * which the socket is more open than configured. */
	mode_t old = umask(0777);
	int rc = bind(m->lfd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0) {
		log_warn("bind %s", m->path);
		goto fail;
	}
	if (cfg->gid != (gid_t)-1 && chown(m->path, (uid_t)-1, cfg->gid) < 0)
		log_warn("chown %s to gid %d", m->path, (int)cfg->gid);
	if (chmod(m->path, (mode_t)cfg->mode) < 0) {
		log_warn("chmod %s", m->path);
		goto fail;
	}
	if (listen(m->lfd, 64) < 0 ||
	    ev_io_add(loop, m->lfd, EV_READ, accept_cb, m) < 0) {
		log_warn("listen %s", m->path);
		goto fail;
	}
	return m;
fail:
	close(m->lfd);
	free(m);
	return NULL;
}

void
mgmt_sock_free(struct mgmt_sock *m)
{
	if (m == NULL)
		return;
	while (m->clients != NULL) {
		struct client *c = m->clients;
		if (c->fd >= 0) {
			ev_io_del(m->loop, c->fd);
			close(c->fd);
			c->fd = -1;
		}
		/* Busy clients are answered by the command layer later;
		 * portcullisd only frees this at exit, after the loop. */
		client_free(c);
	}
	ev_io_del(m->loop, m->lfd);
	close(m->lfd);
	unlink(m->path);
	free(m);
}
