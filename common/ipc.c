/*
 * ipc: SOCK_SEQPACKET framing between Portcullis daemons. Everything a
 * sibling sends is checked against the socket's catalogue before a decoder
 * sees it; anything outside it is EPROTO, which callers treat as fatal
 * (the supervisor restarts the process). ipc_chan adds an output queue
 * with a high-water mark and the HELLO handshake.
 */
#include "config.h"

#include "ipc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "ev.h"
#include "ipc_msgs.h"
#include "log.h"

#define IPC_KNOWN_FLAGS IPC_F_MORE
#define IPC_BODY_MAX (IPC_MAX_MSG - sizeof(struct ipc_hdr))
#define IPC_CHAN_DEFAULT_HW (1024u * 1024u)
#define IPC_CHAN_READ_BUDGET 64

int
ipc_socketpair(int sv[2])
{
	return socketpair(
	    AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv);
}

static int
fill_sun(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof sun->sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun->sun_path, path, n + 1);
	return 0;
}

int
ipc_listen(const char *path, mode_t mode)
{
	struct sockaddr_un sun;
	if (fill_sun(&sun, path) < 0)
		return -1;
	struct stat st;
	/* Only a socket is stale; any other file is someone else's. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	int fd =
	    socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0 ||
	    chmod(path, mode) < 0 || listen(fd, 128) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
ipc_accept(int lfd)
{
	return accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int
ipc_connect(const char *path)
{
	struct sockaddr_un sun;
	if (fill_sun(&sun, path) < 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int rc;
	do
		rc = connect(fd, (struct sockaddr *)&sun, sizeof sun);
	while (rc < 0 && errno == EINTR);
	if (rc < 0 || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int
send_parts(int fd, uint16_t type, uint16_t flags, uint64_t id, const void *body,
    uint32_t body_len, const void *payload, uint32_t payload_len, int passfd)
{
	if ((uint64_t)body_len + payload_len > IPC_BODY_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	struct ipc_hdr h = {.type = type,
	    .flags = flags,
	    .length = body_len + payload_len,
	    .id = id};
	struct iovec iov[3];
	int n = 0;
	iov[n].iov_base = &h;
	iov[n++].iov_len = sizeof h;
	if (body_len) {
		iov[n].iov_base = (void *)body;
		iov[n++].iov_len = body_len;
	}
	if (payload_len) {
		iov[n].iov_base = (void *)payload;
		iov[n++].iov_len = payload_len;
	}
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
	union {
		struct cmsghdr c;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	if (passfd >= 0) {
		memset(&cm, 0, sizeof cm);
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof cm.buf;
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &passfd, sizeof(int));
	}
	ssize_t w;
	do
		w = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0) {
		if (errno == EWOULDBLOCK)
			errno = EAGAIN;
		return -1;
	}
	return 0;
}

int
ipc_send(int fd, uint16_t type, uint16_t flags, uint64_t id, const void *body,
    uint32_t body_len, const void *payload, uint32_t payload_len)
{
	return send_parts(
	    fd, type, flags, id, body, body_len, payload, payload_len, -1);
}

int
ipc_send_fd(int fd, uint16_t type, uint64_t id, const void *body,
    uint32_t body_len, int passfd)
{
	if (passfd < 0) {
		errno = EBADF;
		return -1;
	}
	return send_parts(fd, type, 0, id, body, body_len, NULL, 0, passfd);
}

static const struct ipc_type_info *
cat_find(const struct ipc_catalogue *cat, uint16_t type)
{
	for (size_t i = 0; i < cat->ntypes; i++)
		if (cat->types[i].type == type)
			return &cat->types[i];
	return NULL;
}

const char *
ipc_type_name(const struct ipc_catalogue *cat, uint16_t type)
{
	const struct ipc_type_info *ti = cat ? cat_find(cat, type) : NULL;
	return ti ? ti->name : "unknown";
}

/* A checked datagram at buf with header h as the message *out; 0. */
static int
msg_fill(struct ipc_msg *out, const struct ipc_hdr *h, const uint8_t *buf,
    const struct ipc_type_info *ti)
{
	out->hdr = *h;
	out->body = buf + sizeof(*h);
	out->len = h->length;
	out->fd = -1;
	out->info = ti;
	return 0;
}

int
ipc_validate(const struct ipc_catalogue *cat, const uint8_t *buf, size_t n,
    struct ipc_msg *out)
{
	if (n < sizeof(struct ipc_hdr)) {
		errno = EPROTO;
		return -1;
	}
	struct ipc_hdr h;
	memcpy(&h, buf, sizeof h);
	if (h.length != n - sizeof h || (h.flags & ~IPC_KNOWN_FLAGS) != 0) {
		errno = EPROTO;
		return -1;
	}
	const struct ipc_type_info *ti = cat_find(cat, h.type);
	if (ti == NULL || h.length < ti->min_len || h.length > ti->max_len) {
		errno = EPROTO;
		return -1;
	}
	return msg_fill(out, &h, buf, ti);
}

static const struct ipc_type_info bundle_info = {
    IPC_BUNDLE, "BUNDLE", sizeof(struct ipc_hdr), IPC_BODY_MAX};

/* ipc_validate(), or with is_bundle_ok the outer header of a bundle. */
static int
validate_dgram(const struct ipc_catalogue *cat, const uint8_t *buf, size_t n,
    bool is_bundle_ok, struct ipc_msg *out)
{
	struct ipc_hdr h;
	if (!is_bundle_ok || n < sizeof h)
		return ipc_validate(cat, buf, n, out);
	memcpy(&h, buf, sizeof h);
	if (h.type != IPC_BUNDLE)
		return ipc_validate(cat, buf, n, out);
	if (h.flags != 0 || h.id != 0 || h.length != n - sizeof h ||
	    h.length < bundle_info.min_len) {
		errno = EPROTO;
		return -1;
	}
	return msg_fill(out, &h, buf, &bundle_info);
}

int
ipc_bundle_next(const struct ipc_catalogue *cat, const uint8_t **p,
    size_t *left, struct ipc_msg *out)
{
	struct ipc_hdr h;
	if (*left == 0)
		return 0;
	if (*left < sizeof h) {
		errno = EPROTO;
		return -1;
	}
	memcpy(&h, *p, sizeof h);
	if (h.length > *left - sizeof h || h.type == IPC_HELLO ||
	    h.type == IPC_BUNDLE) {
		errno = EPROTO;
		return -1;
	}
	size_t n = sizeof h + h.length;
	if (ipc_validate(cat, *p, n, out) < 0)
		return -1;
	*p += n;
	*left -= n;
	return 1;
}

/* What ipc_recv() does once recvmsg returned n bytes and mh's control
 * data: descriptors, truncation, validation. A bundle passes only with
 * is_bundle_ok and never with a descriptor. */
static int
recv_finish(const struct ipc_catalogue *cat, uint8_t *buf, ssize_t n,
    struct msghdr *mh, bool is_bundle_ok, struct ipc_msg *out)
{
	int passed = -1;
	bool bad = (mh->msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL;
	     c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++) {
			int f;
			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof f);
			if (passed < 0 && !bad) {
				passed = f;
			} else {
				close(f);
				bad = true;
			}
		}
	}
	if (n == 0 && passed < 0 && !bad)
		return 0;
	if (bad || validate_dgram(cat, buf, (size_t)n, is_bundle_ok, out) < 0 ||
	    (out->hdr.type == IPC_BUNDLE && passed >= 0)) {
		if (passed >= 0)
			close(passed);
		errno = EPROTO;
		return -1;
	}
	out->fd = passed;
	return 1;
}

/* Room for a few descriptors so that extras can be closed. */
#define IPC_CMSG_SPACE CMSG_SPACE(4 * sizeof(int))

static int
recv_dgram(int fd, const struct ipc_catalogue *cat, uint8_t *buf, size_t cap,
    bool is_bundle_ok, struct ipc_msg *out)
{
	struct iovec iov = {.iov_base = buf, .iov_len = cap};
	union {
		struct cmsghdr c;
		char buf[IPC_CMSG_SPACE];
	} cm;
	struct msghdr mh = {.msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = cm.buf,
	    .msg_controllen = sizeof cm.buf};
	ssize_t n;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EWOULDBLOCK)
			errno = EAGAIN;
		return -1;
	}
	return recv_finish(cat, buf, n, &mh, is_bundle_ok, out);
}

int
ipc_recv(int fd, const struct ipc_catalogue *cat, uint8_t *buf, size_t cap,
    struct ipc_msg *out)
{
	return recv_dgram(fd, cat, buf, cap, false, out);
}

int
ipc_rx_recv(struct ipc_rx *rx, int fd, const struct ipc_catalogue *cat,
    uint8_t *buf, size_t cap, struct ipc_msg *out)
{
	int rc;
	if (rx->left > 0) {
		rc = ipc_bundle_next(cat, &rx->p, &rx->left, out);
		if (rc != 0) {
			if (rc < 0)
				rx->left = 0;
			return rc;
		}
	}
	rc = recv_dgram(fd, cat, buf, cap, true, out);
	if (rc != 1 || out->hdr.type != IPC_BUNDLE)
		return rc;
	rx->p = out->body;
	rx->left = out->len;
	rc = ipc_bundle_next(cat, &rx->p, &rx->left, out);
	if (rc < 0)
		rx->left = 0;
	return rc; /* never 0: a bundle holds at least a header */
}

void
ipc_reader_init(struct ipc_reader *r, const struct ipc_msg *m)
{
	r->p = m->body;
	r->left = m->len;
	r->failed = false;
}

const uint8_t *
ipc_read_ptr(struct ipc_reader *r, uint32_t n)
{
	if (r->failed || n > r->left) {
		r->failed = true;
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += n;
	r->left -= n;
	return p;
}

bool
ipc_read(struct ipc_reader *r, void *dst, uint32_t n)
{
	const uint8_t *p = ipc_read_ptr(r, n);
	if (p == NULL)
		return false;
	if (n)
		memcpy(dst, p, n);
	return true;
}

bool
ipc_reader_done(const struct ipc_reader *r)
{
	return !r->failed && r->left == 0;
}

/* ---- HELLO ---- */

static void
hello_fill(struct ipc_hello *h, uint16_t role, const char *name)
{
	memset(h, 0, sizeof *h);
	h->version = IPC_VERSION;
	h->hdr_size = sizeof(struct ipc_hdr);
	h->role = role;
	h->max_msg = IPC_MAX_MSG;
	h->pid = (uint32_t)getpid();
	if (name != NULL)
		strncpy(h->name, name, sizeof h->name - 1);
}

int
ipc_send_hello(int fd, uint16_t role, const char *name)
{
	struct ipc_hello h;
	hello_fill(&h, role, name);
	return ipc_send(fd, IPC_HELLO, 0, 0, &h, sizeof h, NULL, 0);
}

bool
ipc_check_hello(
    const struct ipc_msg *m, struct ipc_hello *out, char *err, size_t errlen)
{
	struct ipc_hello h;
	if (m->hdr.type != IPC_HELLO || m->len != sizeof h) {
		snprintf(err, errlen,
		    "first message is %s (%u bytes), not HELLO",
		    m->info ? m->info->name : "unknown", m->len);
		return false;
	}
	memcpy(&h, m->body, sizeof h);
	h.name[sizeof h.name - 1] = '\0';
	if (h.version != IPC_VERSION) {
		snprintf(err, errlen, "peer %s speaks IPC version %u, we %u",
		    h.name, h.version, IPC_VERSION);
		return false;
	}
	if (h.hdr_size != sizeof(struct ipc_hdr) || h.max_msg != IPC_MAX_MSG) {
		snprintf(err, errlen,
		    "peer %s has header size %u and max message %u, we %zu "
		    "and %u",
		    h.name, h.hdr_size, h.max_msg, sizeof(struct ipc_hdr),
		    (unsigned)IPC_MAX_MSG);
		return false;
	}
	if (out != NULL)
		*out = h;
	return true;
}

/* ---- channel ---- */

/* A batch is sent when the loop is about to sleep, or at once when it
 * holds this many datagrams or bytes. */
#define IPC_BATCH_MAX 64
/* Datagrams a batching channel reads per recvmmsg. */
#define IPC_RECV_BATCH 8
#define IPC_BATCH_BYTES (256u * 1024)

struct qmsg {
	struct qmsg *next;
	uint32_t len;
	uint8_t data[];
};

struct ipc_chan {
	struct ev_loop *loop;
	int fd;
	const struct ipc_catalogue *cat;
	size_t high_water;
	char name[16];
	ipc_chan_msg_cb on_msg;
	ipc_chan_close_cb on_close;
	void *arg;

	struct qmsg *qhead, *qtail;
	size_t queued;
	bool is_writing; /* EV_WRITE registered */

	struct ipc_hello peer;
	bool has_peer;
	bool is_closed; /* failed or peer gone; no more I/O */
	int busy; /* depth of callbacks into the owner */
	bool is_free_pending; /* freed from inside a callback */
	uint8_t *rbuf;

	/* ipc_chan_batch(): datagrams waiting for the loop's next sleep,
	 * back to back in bbuf. */
	bool is_batching;
	bool is_read_many; /* ipc_chan_read_many(): recvmmsg only */
	uint8_t *mbuf; /* IPC_RECV_BATCH receive buffers (recvmmsg) */
	uint8_t *bbuf;
	size_t blen;
	uint32_t bn;
	uint32_t boff[IPC_BATCH_MAX + 1];
};

static void chan_io_cb(
    struct ev_loop *loop, int fd, uint32_t events, void *arg);
static void batch_flush(struct ipc_chan *ch);
static int batch_send(struct ipc_chan *ch);
static void batch_hook(struct ev_loop *loop, void *arg);
static int batch_add(struct ipc_chan *ch, uint16_t type, uint16_t flags,
    uint64_t id, const void *body, uint32_t body_len, const void *payload,
    uint32_t payload_len);

static void
chan_destroy(struct ipc_chan *ch)
{
	struct qmsg *q = ch->qhead;
	while (q != NULL) {
		struct qmsg *next = q->next;
		free(q);
		q = next;
	}
	free(ch->rbuf);
	free(ch->mbuf);
	free(ch->bbuf);
	free(ch);
}

/* Stops all I/O and tells the owner, once. */
static void
chan_fail(struct ipc_chan *ch, const char *why)
{
	if (ch->is_closed)
		return;
	ch->is_closed = true;
	ev_io_del(ch->loop, ch->fd);
	if (why != NULL)
		log_warnx("ipc %s (%s): %s", ch->cat->name, ch->name, why);
	if (ch->on_close != NULL) {
		ch->busy++;
		ch->on_close(ch, ch->arg);
		ch->busy--;
	}
}

static int
chan_enqueue(struct ipc_chan *ch, uint16_t type, uint16_t flags, uint64_t id,
    const void *body, uint32_t body_len, const void *payload,
    uint32_t payload_len)
{
	size_t total = sizeof(struct ipc_hdr) + body_len + payload_len;
	if (ch->queued + total > ch->high_water) {
		errno = ENOBUFS;
		return -1;
	}
	struct qmsg *q = malloc(sizeof *q + total);
	if (q == NULL)
		return -1;
	struct ipc_hdr h = {.type = type,
	    .flags = flags,
	    .length = body_len + payload_len,
	    .id = id};
	memcpy(q->data, &h, sizeof h);
	if (body_len)
		memcpy(q->data + sizeof h, body, body_len);
	if (payload_len)
		memcpy(q->data + sizeof h + body_len, payload, payload_len);
	q->len = (uint32_t)total;
	q->next = NULL;
	if (ch->qtail)
		ch->qtail->next = q;
	else
		ch->qhead = q;
	ch->qtail = q;
	ch->queued += total;
	if (!ch->is_writing) {
		if (ev_io_mod(ch->loop, ch->fd, EV_READ | EV_WRITE) == 0)
			ch->is_writing = true;
	}
	return 0;
}

/* Sends what the queue holds; -1 when the socket failed. */
static int
chan_flush(struct ipc_chan *ch)
{
	while (ch->qhead != NULL) {
		struct qmsg *q = ch->qhead;
		ssize_t w;
		do
			w = send(ch->fd, q->data, q->len, MSG_NOSIGNAL);
		while (w < 0 && errno == EINTR);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		ch->qhead = q->next;
		if (ch->qhead == NULL)
			ch->qtail = NULL;
		ch->queued -= q->len;
		free(q);
	}
	if (ch->is_writing && ev_io_mod(ch->loop, ch->fd, EV_READ) == 0)
		ch->is_writing = false;
	return 0;
}

struct ipc_chan *
ipc_chan_new(struct ev_loop *loop, int fd, const struct ipc_catalogue *cat,
    size_t high_water, uint16_t role, const char *name, ipc_chan_msg_cb on_msg,
    ipc_chan_close_cb on_close, void *arg)
{
	struct ipc_chan *ch = calloc(1, sizeof *ch);
	if (ch == NULL) {
		close(fd);
		return NULL;
	}
	ch->rbuf = malloc(IPC_MAX_MSG);
	if (ch->rbuf == NULL) {
		free(ch);
		close(fd);
		return NULL;
	}
	ch->loop = loop;
	ch->fd = fd;
	ch->cat = cat;
	ch->high_water = high_water ? high_water : IPC_CHAN_DEFAULT_HW;
	/* HELLO must always fit, whatever the mark. */
	if (ch->high_water < IPC_MAX_MSG)
		ch->high_water = IPC_MAX_MSG;
	snprintf(ch->name, sizeof ch->name, "%s", name ? name : "");
	ch->on_msg = on_msg;
	ch->on_close = on_close;
	ch->arg = arg;
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && !(fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	if (ev_io_add(loop, fd, EV_READ, chan_io_cb, ch) < 0) {
		int e = errno;
		close(fd);
		chan_destroy(ch);
		errno = e;
		return NULL;
	}
	struct ipc_hello h;
	hello_fill(&h, role, name);
	if (ipc_chan_send(ch, IPC_HELLO, 0, 0, &h, sizeof h, NULL, 0) < 0 &&
	    errno != EPIPE && errno != ECONNRESET) {
		int e = errno;
		ipc_chan_free(ch);
		errno = e;
		return NULL;
	}
	return ch;
}

void
ipc_chan_free(struct ipc_chan *ch)
{
	if (ch == NULL)
		return;
	if (ch->is_batching) {
		ev_defer_del(ch->loop, batch_hook, ch);
		ch->is_batching = false;
		if (!ch->is_closed && ch->bn > 0)
			(void)batch_send(ch); /* best effort, no callbacks */
		ch->bn = 0;
	}
	if (!ch->is_closed) {
		ch->is_closed = true;
		ev_io_del(ch->loop, ch->fd);
	}
	if (ch->fd >= 0) {
		close(ch->fd);
		ch->fd = -1;
	}
	if (ch->busy > 0) {
		ch->is_free_pending = true;
		return;
	}
	chan_destroy(ch);
}

int
ipc_chan_fd(const struct ipc_chan *ch)
{
	return ch->fd;
}

size_t
ipc_chan_queued(const struct ipc_chan *ch)
{
	return ch->queued;
}

const struct ipc_hello *
ipc_chan_peer(const struct ipc_chan *ch)
{
	return ch->has_peer ? &ch->peer : NULL;
}

int
ipc_chan_send(struct ipc_chan *ch, uint16_t type, uint16_t flags, uint64_t id,
    const void *body, uint32_t body_len, const void *payload,
    uint32_t payload_len)
{
	if (ch->is_closed) {
		errno = EPIPE;
		return -1;
	}
	if ((uint64_t)body_len + payload_len > IPC_BODY_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	if (ch->is_batching && ch->qhead == NULL)
		return batch_add(
		    ch, type, flags, id, body, body_len, payload, payload_len);
	if (ch->qhead == NULL) {
		if (ipc_send(ch->fd, type, flags, id, body, body_len, payload,
		        payload_len) == 0)
			return 0;
		if (errno != EAGAIN)
			return -1;
	}
	return chan_enqueue(
	    ch, type, flags, id, body, body_len, payload, payload_len);
}

/*
 * Sends the batch with sendmmsg; what the socket does not take moves to
 * the queue (in order), flushed on EPOLLOUT like any other backlog.
 */
/* sendmmsg of the batch as far as the socket takes it: the count sent,
 * or -1 with errno for a socket error. */
/*
 * Sends the batch: a run of messages that fits in one datagram leaves as a
 * bundle (its header, then the run as it lies in bbuf), a message alone as
 * itself. Returns how many messages the socket took, or -1.
 */
static int
batch_send(struct ipc_chan *ch)
{
	struct mmsghdr mm[IPC_BATCH_MAX];
	struct iovec iov[IPC_BATCH_MAX][2];
	struct ipc_hdr bh[IPC_BATCH_MAX];
	uint32_t first[IPC_BATCH_MAX + 1]; /* each datagram's first message */
	uint32_t nd = 0, sent = 0;

	for (uint32_t i = 0, j; i < ch->bn; i = j) {
		for (j = i + 1; j < ch->bn &&
		     ch->boff[j + 1] - ch->boff[i] + sizeof(struct ipc_hdr) <=
		         IPC_MAX_MSG;
		     j++)
			;
		struct msghdr *h = &mm[nd].msg_hdr;
		memset(&mm[nd], 0, sizeof mm[nd]);
		h->msg_iov = iov[nd];
		iov[nd][1].iov_base = ch->bbuf + ch->boff[i];
		iov[nd][1].iov_len = ch->boff[j] - ch->boff[i];
		if (j - i == 1) {
			iov[nd][0] = iov[nd][1];
			h->msg_iovlen = 1;
		} else {
			bh[nd] = (struct ipc_hdr){.type = IPC_BUNDLE,
			    .length = (uint32_t)iov[nd][1].iov_len};
			iov[nd][0].iov_base = &bh[nd];
			iov[nd][0].iov_len = sizeof bh[nd];
			h->msg_iovlen = 2;
		}
		first[nd++] = i;
	}
	first[nd] = ch->bn;
	while (sent < nd) {
		int n = sendmmsg(ch->fd, mm + sent, nd - sent, MSG_NOSIGNAL);
		if (n > 0)
			sent += (uint32_t)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		else
			break;
	}
	return (int)first[sent];
}

/*
 * Sends the batch; what the socket does not take moves to the queue (in
 * order), flushed on EPOLLOUT like any other backlog.
 */
static void
batch_flush(struct ipc_chan *ch)
{
	if (ch->bn == 0 || ch->is_closed)
		return;
	int done = batch_send(ch);
	if (done < 0) {
		ch->bn = 0;
		ch->blen = 0;
		chan_fail(ch, strerror(errno));
		return;
	}
	for (uint32_t i = (uint32_t)done; i < ch->bn; i++) {
		/* Backlog: the peer is slow. The queue's own bound applies. */
		const uint8_t *d = ch->bbuf + ch->boff[i];
		struct ipc_hdr h;
		memcpy(&h, d, sizeof h);
		if (chan_enqueue(ch, h.type, h.flags, h.id, d + sizeof h,
		        h.length, NULL, 0) < 0) {
			log_warnx("ipc %s (%s): backlog full, %u message(s) "
			          "dropped",
			    ch->cat->name, ch->name, ch->bn - i);
			break;
		}
	}
	ch->bn = 0;
	ch->blen = 0;
}

static void
batch_hook(struct ev_loop *loop, void *arg)
{
	(void)loop;
	batch_flush(arg);
}

static int
batch_add(struct ipc_chan *ch, uint16_t type, uint16_t flags, uint64_t id,
    const void *body, uint32_t body_len, const void *payload,
    uint32_t payload_len)
{
	size_t total = sizeof(struct ipc_hdr) + body_len + payload_len;
	if (ch->bn == IPC_BATCH_MAX || ch->blen + total > IPC_BATCH_BYTES)
		batch_flush(ch);
	if (ch->is_closed) {
		errno = EPIPE;
		return -1;
	}
	if (ch->qhead != NULL) /* the flush left a backlog: join it */
		return chan_enqueue(
		    ch, type, flags, id, body, body_len, payload, payload_len);
	if (ch->bbuf == NULL) {
		ch->bbuf = malloc(IPC_BATCH_BYTES + IPC_MAX_MSG);
		if (ch->bbuf == NULL)
			return -1;
	}
	struct ipc_hdr h = {.type = type,
	    .flags = flags,
	    .length = body_len + payload_len,
	    .id = id};
	uint8_t *d = ch->bbuf + ch->blen;
	memcpy(d, &h, sizeof h);
	if (body_len)
		memcpy(d + sizeof h, body, body_len);
	if (payload_len)
		memcpy(d + sizeof h + body_len, payload, payload_len);
	ch->boff[ch->bn] = (uint32_t)ch->blen;
	ch->blen += total;
	ch->bn++;
	ch->boff[ch->bn] = (uint32_t)ch->blen;
	return 0;
}

int
ipc_chan_batch(struct ipc_chan *ch)
{
	if (ch->is_batching)
		return 0;
	if (ev_defer_add(ch->loop, batch_hook, ch) < 0)
		return -1;
	ch->is_batching = true;
	return 0;
}

static bool chan_deliver(struct ipc_chan *ch, int rc, struct ipc_msg *m);

/* Each message of a bundle in turn; false when the channel is done. */
static bool
chan_deliver_bundle(struct ipc_chan *ch, const struct ipc_msg *b)
{
	const uint8_t *p = b->body;
	size_t left = b->len;
	struct ipc_msg m;
	int rc;
	while ((rc = ipc_bundle_next(ch->cat, &p, &left, &m)) == 1)
		if (!chan_deliver(ch, 1, &m))
			return false;
	if (rc < 0) {
		chan_fail(ch, "malformed bundle from peer");
		return false;
	}
	return true;
}

/* Hands one received message on; false when the channel is done. */
static bool
chan_deliver(struct ipc_chan *ch, int rc, struct ipc_msg *m)
{
	if (rc == 0) {
		chan_fail(ch, NULL);
		return false;
	}
	if (rc < 0) {
		if (errno == EPROTO)
			chan_fail(ch, "malformed message from peer");
		else
			chan_fail(ch, strerror(errno));
		return false;
	}
	if (!ch->has_peer) {
		char err[160];
		if (!ipc_check_hello(m, &ch->peer, err, sizeof err)) {
			if (m->fd >= 0)
				close(m->fd);
			chan_fail(ch, err);
			return false;
		}
		ch->has_peer = true;
		return true;
	}
	if (m->hdr.type == IPC_HELLO) {
		if (m->fd >= 0)
			close(m->fd);
		chan_fail(ch, "second HELLO from peer");
		return false;
	}
	if (m->hdr.type == IPC_BUNDLE)
		return chan_deliver_bundle(ch, m);
	ev_note_work(ch->loop, 1);
	if (ch->on_msg != NULL) {
		ch->on_msg(ch, m, ch->arg);
	} else if (m->fd >= 0) {
		close(m->fd);
	}
	return !ch->is_closed && !ch->is_free_pending;
}

/*
 * A batching channel's peer sends in bursts: recvmmsg takes up to
 * IPC_RECV_BATCH at once, and a short count means the socket is empty, so
 * no extra call only to hear EAGAIN.
 */
static void
chan_read_many(struct ipc_chan *ch)
{
	struct mmsghdr mm[IPC_RECV_BATCH];
	struct iovec iov[IPC_RECV_BATCH];
	union {
		struct cmsghdr c;
		char buf[IPC_CMSG_SPACE];
	} cm[IPC_RECV_BATCH];

	for (int round = 0; round < IPC_CHAN_READ_BUDGET / IPC_RECV_BATCH;
	     round++) {
		memset(mm, 0, sizeof mm);
		for (int i = 0; i < IPC_RECV_BATCH; i++) {
			iov[i].iov_base = ch->mbuf + (size_t)i * IPC_MAX_MSG;
			iov[i].iov_len = IPC_MAX_MSG;
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
			mm[i].msg_hdr.msg_control = cm[i].buf;
			mm[i].msg_hdr.msg_controllen = sizeof cm[i].buf;
		}
		int n = recvmmsg(ch->fd, mm, IPC_RECV_BATCH,
		    MSG_DONTWAIT | MSG_CMSG_CLOEXEC, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				chan_fail(ch, strerror(errno));
			return;
		}
		for (int i = 0; i < n; i++) {
			struct ipc_msg m;
			int rc = recv_finish(ch->cat, iov[i].iov_base,
			    (ssize_t)mm[i].msg_len, &mm[i].msg_hdr, true, &m);
			if (!chan_deliver(ch, rc, &m)) {
				/* Descriptors of the messages not handed on. */
				for (int j = i + 1; j < n; j++) {
					struct ipc_msg x;
					if (recv_finish(ch->cat,
					        iov[j].iov_base,
					        (ssize_t)mm[j].msg_len,
					        &mm[j].msg_hdr, false,
					        &x) == 1 &&
					    x.fd >= 0)
						close(x.fd);
				}
				return;
			}
		}
		if (n < IPC_RECV_BATCH)
			return;
	}
}

void
ipc_chan_read_many(struct ipc_chan *ch)
{
	ch->is_read_many = true;
}

static void
chan_read(struct ipc_chan *ch)
{
	if (ch->is_batching || ch->is_read_many) {
		if (ch->mbuf == NULL)
			ch->mbuf = malloc((size_t)IPC_RECV_BATCH * IPC_MAX_MSG);
		if (ch->mbuf != NULL) {
			chan_read_many(ch);
			return;
		}
	}
	for (int i = 0; i < IPC_CHAN_READ_BUDGET; i++) {
		struct ipc_msg m;
		int rc = recv_dgram(
		    ch->fd, ch->cat, ch->rbuf, IPC_MAX_MSG, true, &m);
		if (rc < 0 && errno == EAGAIN)
			return;
		if (!chan_deliver(ch, rc, &m))
			return;
	}
}

static void
chan_io_cb(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	(void)fd;
	struct ipc_chan *ch = arg;
	ch->busy++;
	if ((events & EV_WRITE) && chan_flush(ch) < 0)
		chan_fail(ch, strerror(errno));
	/* On EV_ERROR read anyway: recv reports EOF or the socket error
	 * after the datagrams still queued. */
	if (!ch->is_closed && !ch->is_free_pending &&
	    (events & (EV_READ | EV_ERROR)))
		chan_read(ch);
	ch->busy--;
	if (ch->is_free_pending && ch->busy == 0)
		chan_destroy(ch);
}
