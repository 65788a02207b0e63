/*
 * Metric names are "portcullis_" + the counter name a process reports,
 * with the process as a label, so one name aggregates across processes.
 * The HTTP side is deliberately minimal: loopback only (enforced by the
 * config check), GET /metrics, one request per connection, bounded
 * connections, request size and time.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "commands.h"
#include "ev.h"
#include "log.h"
#include "prom.h"

struct sbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	if (b->failed)
		return;
	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap - b->len <= (size_t)n)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (np == NULL) {
			b->failed = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
}

static void
metric_name(const char *in, char *out, size_t cap)
{
	size_t n = 0;
	for (; *in != '\0' && n + 1 < cap; in++) {
		char c = *in;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_';
		out[n++] = ok ? c : '_';
	}
	out[n] = '\0';
}

static bool
is_number(const json_t *v)
{
	return json_is_integer(v) || json_is_real(v) || json_is_boolean(v);
}

static void
print_value(struct sbuf *b, const json_t *v)
{
	if (json_is_integer(v))
		sb_printf(b, "%lld\n", (long long)json_integer_value(v));
	else if (json_is_real(v))
		sb_printf(b, "%.17g\n", json_real_value(v));
	else
		sb_printf(b, "%d\n", json_is_true(v) ? 1 : 0);
}

char *
prom_render(const json_t *stats)
{
	struct sbuf b = {0};
	const char *proc;
	json_t *obj, *v;
	const char *key;
	char name[160];

	/* Liveness and restarts from the supervisor's view. */
	json_t *procs = json_object_get(stats, "processes");
	sb_printf(&b,
	    "# HELP portcullis_up Whether the process runs.\n"
	    "# TYPE portcullis_up gauge\n");
	json_object_foreach(procs, proc, obj)
	{
		sb_printf(&b, "portcullis_up{process=\"%s\"} %d\n", proc,
		    json_is_true(json_object_get(obj, "up")) ? 1 : 0);
	}
	sb_printf(&b,
	    "# HELP portcullis_restarts_total Restarts after a "
	    "crash.\n# TYPE portcullis_restarts_total counter\n");
	json_object_foreach(procs, proc, obj)
	{
		sb_printf(&b,
		    "portcullis_restarts_total{process=\"%s\"} %lld\n", proc,
		    (long long)json_integer_value(
		        json_object_get(obj, "restarts")));
	}
	/* Every other object is one process's counters; one TYPE line per
	 * metric name, then its value in each process reporting it. */
	json_t *seen = json_object();
	json_object_foreach((json_t *)stats, proc, obj)
	{
		if (strcmp(proc, "processes") == 0 || !json_is_object(obj))
			continue;
		json_object_foreach(obj, key, v)
		{
			if (!is_number(v) || json_object_get(seen, key))
				continue;
			json_object_set_new(seen, key, json_true());
			metric_name(key, name, sizeof(name));
			sb_printf(&b, "# TYPE portcullis_%s untyped\n", name);
			const char *p2;
			json_t *o2;
			json_object_foreach((json_t *)stats, p2, o2)
			{
				if (strcmp(p2, "processes") == 0 ||
				    !json_is_object(o2))
					continue;
				json_t *v2 = json_object_get(o2, key);
				if (v2 == NULL || !is_number(v2))
					continue;
				sb_printf(&b, "portcullis_%s{process=\"%s\"} ",
				    name, p2);
				print_value(&b, v2);
			}
		}
	}
	json_decref(seen);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	if (b.p == NULL)
		return strdup("");
	return b.p;
}

/* --- HTTP /metrics --- */

#define HTTP_MAX_CONNS 8
#define HTTP_MAX_REQ 4096
#define HTTP_TIMEOUT_MS 5000

struct http_conn {
	struct prom_http *h;
	int fd;
	char req[HTTP_MAX_REQ];
	size_t len;
	char *out;
	size_t out_len, out_off;
	bool waiting; /* stats requested */
	bool dead; /* closed while waiting for stats */
	struct ev_timer timer;
	struct http_conn *next;
};

struct prom_http {
	struct ev_loop *loop;
	struct cmd_ctx *x;
	int lfd;
	int nconns;
	struct http_conn *conns;
};

static void
conn_close(struct http_conn *c)
{
	struct prom_http *h = c->h;
	if (c->fd >= 0) {
		ev_io_del(h->loop, c->fd);
		close(c->fd);
		c->fd = -1;
	}
	ev_timer_stop(h->loop, &c->timer);
	if (c->waiting) {
		c->dead = true; /* freed when the stats arrive */
		return;
	}
	struct http_conn **pp;
	for (pp = &h->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	h->nconns--;
	free(c->out);
	free(c);
}

static void
conn_write_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct http_conn *c = arg;
	while (c->out_off < c->out_len) {
		ssize_t n =
		    write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	conn_close(c);
}

static void
conn_respond(
    struct http_conn *c, int code, const char *reason, const char *body)
{
	size_t blen = strlen(body);
	size_t cap = blen + 256;
	c->out = malloc(cap);
	if (c->out == NULL) {
		conn_close(c);
		return;
	}
	int n = snprintf(c->out, cap,
	    "HTTP/1.0 %d %s\r\nContent-Type: text/plain; version=0.0.4; "
	    "charset=utf-8\r\nContent-Length: %zu\r\nConnection: "
	    "close\r\n\r\n",
	    code, reason, blen);
	memcpy(c->out + n, body, blen);
	c->out_len = (size_t)n + blen;
	ev_io_mod(c->h->loop, c->fd, EV_WRITE);
	conn_write_cb(c->h->loop, c->fd, EV_WRITE, c);
}

static void
stats_ready(void *arg, json_t *stats)
{
	struct http_conn *c = arg;
	c->waiting = false;
	if (c->dead) {
		json_decref(stats);
		conn_close(c);
		return;
	}
	char *text = stats != NULL ? prom_render(stats) : NULL;
	json_decref(stats);
	if (text == NULL) {
		conn_respond(c, 500, "Internal Server Error", "error\n");
		return;
	}
	conn_respond(c, 200, "OK", text);
	free(text);
}

static void
conn_read_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct http_conn *c = arg;
	if (c->out != NULL || c->waiting)
		return;
	ssize_t n = read(fd, c->req + c->len, sizeof(c->req) - 1 - c->len);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)n;
	c->req[c->len] = '\0';
	if (strstr(c->req, "\r\n\r\n") == NULL &&
	    strstr(c->req, "\n\n") == NULL) {
		if (c->len >= sizeof(c->req) - 1)
			conn_respond(c, 431, "Request Header Fields Too Large",
			    "request too large\n");
		return;
	}
	if (strncmp(c->req, "GET /metrics ", 13) != 0 &&
	    strncmp(c->req, "GET /metrics?", 13) != 0) {
		conn_respond(c, 404, "Not Found", "try /metrics\n");
		return;
	}
	ev_io_mod(loop, fd, 0);
	c->waiting = true;
	cmd_stats(c->h->x, stats_ready, c);
}

static void
conn_timeout_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	conn_close(arg);
}

static void
accept_cb(struct ev_loop *loop, int lfd, uint32_t events, void *arg)
{
	struct prom_http *h = arg;
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (h->nconns >= HTTP_MAX_CONNS) {
			close(fd);
			continue;
		}
		struct http_conn *c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->h = h;
		c->fd = fd;
		ev_timer_init(&c->timer, conn_timeout_cb, c);
		if (ev_io_add(loop, fd, EV_READ, conn_read_cb, c) < 0) {
			close(fd);
			free(c);
			continue;
		}
		ev_io_mod(loop, fd, EV_READ);
		ev_timer_start(loop, &c->timer, HTTP_TIMEOUT_MS);
		c->next = h->conns;
		h->conns = c;
		h->nconns++;
	}
}

struct prom_http *
prom_http_new(struct ev_loop *loop, struct cmd_ctx *x, const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[64];
	const char *colon = strrchr(addr, ':');
	if (colon == NULL) {
		errno = EINVAL;
		return NULL;
	}
	const char *hp = addr;
	size_t hl = (size_t)(colon - addr);
	if (hl >= 2 && hp[0] == '[') {
		hp++;
		hl -= 2;
	}
	if (hl >= sizeof(host)) {
		errno = EINVAL;
		return NULL;
	}
	memcpy(host, hp, hl);
	host[hl] = '\0';
	int port = atoi(colon + 1);
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		sl = sizeof(*s4);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		sl = sizeof(*s6);
	} else {
		errno = EINVAL;
		return NULL;
	}
	int fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 16) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	struct prom_http *h = calloc(1, sizeof(*h));
	if (h == NULL) {
		close(fd);
		return NULL;
	}
	h->loop = loop;
	h->x = x;
	h->lfd = fd;
	if (ev_io_add(loop, fd, EV_READ, accept_cb, h) < 0) {
		close(fd);
		free(h);
		return NULL;
	}
	return h;
}

void
prom_http_free(struct prom_http *h)
{
	if (h == NULL)
		return;
	while (h->conns != NULL) {
		struct http_conn *c = h->conns;
		c->waiting = false; /* the loop is going away */
		conn_close(c);
	}
	ev_io_del(h->loop, h->lfd);
	close(h->lfd);
	free(h);
}
