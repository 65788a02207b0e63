/*
 * Packet capture with libpcap on the "any" device (Linux cooked headers),
 * so one capture sees a call's packets arriving at the relay port and
 * leaving from the port facing the other party: both sides of the NAT.
 */
#include <errno.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture.h"
#include "ev.h"
#include "log.h"

struct capture {
	struct capture_mgr *m;
	pcap_t *p;
	pcap_dumper_t *d;
	int fd;
	char path[512];
	uint64_t max_bytes;
	uint64_t packets;
	struct ev_timer timer;
	bool is_used;
};

struct capture_mgr {
	struct ev_loop *loop;
	char dir[256];
	uint32_t max_bytes, max_seconds;
	struct capture c[CAPTURE_MAX];
};

struct capture_mgr *
capture_new(struct ev_loop *loop, const char *dir, uint32_t max_bytes,
    uint32_t max_seconds)
{
	struct capture_mgr *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->loop = loop;
	snprintf(m->dir, sizeof(m->dir), "%s", dir != NULL ? dir : ".");
	m->max_bytes = max_bytes;
	m->max_seconds = max_seconds;
	return m;
}

static void
cap_end(struct capture *c, const char *why)
{
	if (!c->is_used)
		return;
	ev_timer_stop(c->m->loop, &c->timer);
	if (c->fd >= 0)
		ev_io_del(c->m->loop, c->fd);
	if (c->d != NULL) {
		pcap_dump_flush(c->d);
		pcap_dump_close(c->d);
	}
	if (c->p != NULL)
		pcap_close(c->p);
	log_info("capture: %s closed (%s, %llu packets)", c->path, why,
	    (unsigned long long)c->packets);
	c->is_used = false;
	c->p = NULL;
	c->d = NULL;
	c->fd = -1;
}

void
capture_free(struct capture_mgr *m)
{
	if (m == NULL)
		return;
	for (int i = 0; i < CAPTURE_MAX; i++)
		cap_end(&m->c[i], "relay stopping");
	free(m);
}

static void
on_packet(u_char *arg, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct capture *c = (struct capture *)arg;

	pcap_dump((u_char *)c->d, h, bytes);
	c->packets++;
}

static void
on_readable(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct capture *c = arg;
	long pos;

	(void)loop;
	(void)fd;
	(void)events;
	/* Bounded per wake-up so a busy capture cannot starve the loop. */
	if (pcap_dispatch(c->p, 256, on_packet, (u_char *)c) < 0) {
		cap_end(c, pcap_geterr(c->p));
		return;
	}
	pos = pcap_dump_ftell(c->d);
	if (pos >= 0 && (uint64_t)pos >= c->max_bytes)
		cap_end(c, "size limit");
}

static void
on_timer(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	(void)loop;
	(void)t;
	cap_end(arg, "time limit");
}

/* True when path names a file directly inside dir (both resolved). */
static bool
capture_path_in_dir(const char *path, const char *dir)
{
	char parent[PATH_MAX], rparent[PATH_MAX], rdir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	const char *name = slash + 1;

	if (slash == NULL || *name == '\0' || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return false;
	size_t n = (size_t)(slash - path);
	if (n == 0)
		n = 1; /* "/file" */
	if (n >= sizeof(parent))
		return false;
	memcpy(parent, path, n);
	parent[n] = '\0';
	if (realpath(parent, rparent) == NULL || realpath(dir, rdir) == NULL)
		return false;
	return strcmp(rparent, rdir) == 0;
}

int
capture_start(struct capture_mgr *m, const char *path, const char *filter,
    uint32_t max_bytes, uint32_t max_seconds, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct bpf_program prog;
	struct capture *c = NULL;
	char full[512];

	if (path == NULL || path[0] == '\0') {
		snprintf(err, errlen, "no capture path");
		return -EINVAL;
	}
	/* Management-group members start captures; confining the files to
	 * capture.dir keeps them from making the relay write elsewhere. */
	if (strchr(path, '/') == NULL) {
		if (strcmp(path, ".") == 0 || strcmp(path, "..") == 0) {
			snprintf(err, errlen, "not a file name: %s", path);
			return -EINVAL;
		}
		mkdir(m->dir, 0750);
		snprintf(full, sizeof(full), "%s/%s", m->dir, path);
	} else if (!capture_path_in_dir(path, m->dir)) {
		snprintf(err, errlen,
		    "captures are written only in capture.dir (%s)", m->dir);
		return -EPERM;
	} else {
		snprintf(full, sizeof(full), "%s", path);
	}
	for (int i = 0; i < CAPTURE_MAX; i++) {
		if (m->c[i].is_used && strcmp(m->c[i].path, full) == 0) {
			snprintf(
			    err, errlen, "a capture already writes %s", full);
			return -EEXIST;
		}
		if (!m->c[i].is_used && c == NULL)
			c = &m->c[i];
	}
	if (c == NULL) {
		snprintf(
		    err, errlen, "%d captures already running", CAPTURE_MAX);
		return -EBUSY;
	}
	memset(c, 0, sizeof(*c));
	c->m = m;
	c->fd = -1;
	snprintf(c->path, sizeof(c->path), "%s", full);
	c->max_bytes = max_bytes == 0 || max_bytes > m->max_bytes ? m->max_bytes
	                                                          : max_bytes;
	if (max_seconds == 0 || max_seconds > m->max_seconds)
		max_seconds = m->max_seconds;
	c->p = pcap_create("any", ebuf);
	if (c->p == NULL)
		goto pcap_fail;
	pcap_set_snaplen(c->p, 65535);
	pcap_set_immediate_mode(c->p, 1);
	pcap_set_buffer_size(c->p, 4 << 20);
	if (pcap_activate(c->p) < 0) {
		snprintf(ebuf, sizeof(ebuf), "%s", pcap_geterr(c->p));
		goto pcap_fail;
	}
	if (pcap_compile(c->p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(ebuf, sizeof(ebuf), "filter \"%s\": %s", filter,
		    pcap_geterr(c->p));
		goto pcap_fail;
	}
	if (pcap_setfilter(c->p, &prog) < 0) {
		pcap_freecode(&prog);
		snprintf(ebuf, sizeof(ebuf), "%s", pcap_geterr(c->p));
		goto pcap_fail;
	}
	pcap_freecode(&prog);
	if (pcap_setnonblock(c->p, 1, ebuf) < 0)
		goto pcap_fail;
	c->fd = pcap_get_selectable_fd(c->p);
	c->d = pcap_dump_open(c->p, c->path);
	if (c->fd < 0 || c->d == NULL) {
		snprintf(ebuf, sizeof(ebuf), "%s", pcap_geterr(c->p));
		c->fd = -1;
		goto pcap_fail;
	}
	if (ev_io_add(m->loop, c->fd, EV_READ, on_readable, c) < 0) {
		snprintf(ebuf, sizeof(ebuf), "%s", strerror(errno));
		c->fd = -1;
		goto pcap_fail;
	}
	pcap_dump_flush(c->d);
	c->is_used = true;
	ev_timer_init(&c->timer, on_timer, c);
	ev_timer_start(m->loop, &c->timer, (uint64_t)max_seconds * 1000);
	log_info("capture: writing %s (filter \"%s\", at most %llu bytes, "
	         "%u s)",
	    c->path, filter, (unsigned long long)c->max_bytes, max_seconds);
	return 0;
pcap_fail:
	snprintf(err, errlen, "capture %s: %s", full, ebuf);
	if (c->d != NULL)
		pcap_dump_close(c->d);
	if (c->p != NULL)
		pcap_close(c->p);
	c->p = NULL;
	c->d = NULL;
	return -EIO;
}

int
capture_stop(struct capture_mgr *m, const char *path)
{
	char full[512];

	if (strchr(path, '/') == NULL)
		snprintf(full, sizeof(full), "%s/%s", m->dir, path);
	else
		snprintf(full, sizeof(full), "%s", path);
	for (int i = 0; i < CAPTURE_MAX; i++)
		if (m->c[i].is_used && strcmp(m->c[i].path, full) == 0) {
			cap_end(&m->c[i], "stopped");
			return 0;
		}
	return -ENOENT;
}

size_t
capture_count(const struct capture_mgr *m)
{
	size_t n = 0;

	for (int i = 0; i < CAPTURE_MAX; i++)
		n += m->c[i].is_used;
	return n;
}
