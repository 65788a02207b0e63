/*
 * ipc: framing for every Unix socket between Portcullis daemons (DESIGN §2).
 * SOCK_SEQPACKET, one datagram = one message: a 16-byte header then a typed
 * body. A per-socket catalogue gives each type's name and body size bounds;
 * ipc_recv() rejects anything outside it. Bodies are fixed-width structs
 * (ipc_msgs.h) read with an exact-consumption reader. Received bodies point
 * into the caller's buffer.
 */
#ifndef PC_IPC_H
#define PC_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* 2: batching channels send bundles (below). */
#define IPC_VERSION 2
/* Largest datagram: a 64 KiB SIP message plus its metadata. */
#define IPC_MAX_MSG (65536 + 1024)

struct ipc_hdr {
	uint16_t type;
	uint16_t flags;
	uint32_t length; /* body bytes after the header */
	uint64_t id; /* matches replies to requests */
};
_Static_assert(sizeof(struct ipc_hdr) == 16, "ipc_hdr is 16 bytes");

/* Header flags. */
#define IPC_F_MORE 0x0001u /* a multi-part reply continues */

struct ipc_type_info {
	uint16_t type;
	const char *name;
	uint32_t min_len;
	uint32_t max_len;
};

struct ipc_catalogue {
	const char *name; /* "core.sock", "relay.sock", "ctl" */
	const struct ipc_type_info *types;
	size_t ntypes;
};

struct ipc_msg {
	struct ipc_hdr hdr;
	const uint8_t *body; /* points into the receive buffer */
	uint32_t len;
	int fd; /* passed descriptor, or -1; the receiver owns it */
	const struct ipc_type_info *info;
};

/* Socket helpers; all descriptors are CLOEXEC and non-blocking. */
int ipc_socketpair(int sv[2]);
/* Removes a stale socket file first; mode applies to the socket file. */
int ipc_listen(const char *path, mode_t mode);
int ipc_accept(int lfd);
int ipc_connect(const char *path);

/*
 * Sends header + body + payload as one datagram. Returns 0, or -1 with
 * errno (EAGAIN when the peer's queue is full, EMSGSIZE past IPC_MAX_MSG).
 */
int ipc_send(int fd, uint16_t type, uint16_t flags, uint64_t id,
    const void *body, uint32_t body_len, const void *payload,
    uint32_t payload_len);
int ipc_send_fd(int fd, uint16_t type, uint64_t id, const void *body,
    uint32_t body_len, int passfd);

/*
 * Receives one datagram into buf (cap >= IPC_MAX_MSG) and validates it
 * against the catalogue. Returns 1 with *out filled, 0 when the peer
 * closed, -1 with errno: EAGAIN (nothing ready), EPROTO (bad header,
 * unknown type, length out of bounds, truncated datagram; a sibling sent
 * garbage, which callers treat as fatal per STYLE.md), or the socket error.
 */
int ipc_recv(int fd, const struct ipc_catalogue *cat, uint8_t *buf, size_t cap,
    struct ipc_msg *out);
const char *ipc_type_name(const struct ipc_catalogue *cat, uint16_t type);
/* The checks of ipc_recv() on a datagram already in memory (n bytes at
 * buf): 0 with *out filled (fd -1), or -1 with errno EPROTO. */
int ipc_validate(const struct ipc_catalogue *cat, const uint8_t *buf, size_t n,
    struct ipc_msg *out);

/*
 * Bundles. A batching channel sends a run of messages that fits in
 * IPC_MAX_MSG as one datagram: a header of type IPC_BUNDLE (flags and id
 * 0) whose body is the messages back to back, each with its own header.
 * Why: the kernel then allocates, queues, copies and frees one buffer per
 * run instead of one per message, which was most of what a message cost
 * edge and core. Channels take bundles apart by themselves; ipc_recv() and
 * ipc_validate() refuse them (EPROTO), and code that runs no channel reads
 * with ipc_rx_recv().
 *
 * ipc_bundle_next() takes the next message out of a bundle's body (*p and
 * *left advance) with every check of ipc_validate(): 1 with *out (fd -1),
 * 0 at the end, -1 with errno EPROTO for a cut message, or a HELLO or a
 * bundle inside.
 */
int ipc_bundle_next(const struct ipc_catalogue *cat, const uint8_t **p,
    size_t *left, struct ipc_msg *out);
/* ipc_recv() one message at a time, bundles included. Start from a zeroed
 * rx; buf must be left alone between calls (messages of a bundle point
 * into it). */
struct ipc_rx {
	const uint8_t *p;
	size_t left;
};
int ipc_rx_recv(struct ipc_rx *rx, int fd, const struct ipc_catalogue *cat,
    uint8_t *buf, size_t cap, struct ipc_msg *out);

/* Exact-consumption reader: a decode succeeds only if every byte of the
 * body was read. */
struct ipc_reader {
	const uint8_t *p;
	uint32_t left;
	bool failed;
};
void ipc_reader_init(struct ipc_reader *r, const struct ipc_msg *m);
bool ipc_read(struct ipc_reader *r, void *dst, uint32_t n);
/* Points at the next n bytes (no copy); NULL and failed if short. */
const uint8_t *ipc_read_ptr(struct ipc_reader *r, uint32_t n);
/* true iff nothing failed and the body is used up. */
bool ipc_reader_done(const struct ipc_reader *r);

/*
 * A buffered sender bound to an event loop: when the socket is full,
 * messages wait in a queue flushed on EPOLLOUT. Past high_water queued
 * bytes, ipc_chan_send() fails with ENOBUFS so the caller can shed load
 * (edge answers 503) instead of growing memory.
 */
struct ev_loop;
struct ipc_chan;
typedef void (*ipc_chan_msg_cb)(
    struct ipc_chan *ch, const struct ipc_msg *m, void *arg);
/* Called once when the peer closes or the channel fails; the channel must
 * then be freed by the owner (not from inside on_msg of another chan). */
typedef void (*ipc_chan_close_cb)(struct ipc_chan *ch, void *arg);

/*
 * high_water 0 means 1 MiB; it is never below IPC_MAX_MSG.
 * on_msg owns m->fd (a passed descriptor) and must close or keep it.
 * Takes ownership of fd. Sends our HELLO (role, name) at once; the peer's
 * first message must be a valid HELLO or the channel closes (on_close).
 * on_msg sees only the messages after HELLO.
 */
struct ipc_chan *ipc_chan_new(struct ev_loop *loop, int fd,
    const struct ipc_catalogue *cat, size_t high_water, uint16_t role,
    const char *name, ipc_chan_msg_cb on_msg, ipc_chan_close_cb on_close,
    void *arg);
void ipc_chan_free(struct ipc_chan *ch); /* closes the fd */
int ipc_chan_fd(const struct ipc_chan *ch);
int ipc_chan_send(struct ipc_chan *ch, uint16_t type, uint16_t flags,
    uint64_t id, const void *body, uint32_t body_len, const void *payload,
    uint32_t payload_len);
size_t ipc_chan_queued(const struct ipc_chan *ch);
/*
 * From now on, messages sent on ch wait until the loop is about to sleep
 * and then leave together (one sendmmsg): a peer on the same CPU wakes
 * once per batch, not once per message. For channels whose owner always
 * runs the loop; ipc_chan_free() sends what is still waiting. -1 if the
 * loop has no room for another hook.
 */
int ipc_chan_batch(struct ipc_chan *ch);
/*
 * From now on, ch reads up to 8 datagrams per recvmmsg, as a batching
 * channel does, while its sends stay as they were: for a server whose
 * peers pipeline requests (without memory for the receive buffers it
 * reads one datagram per call as before).
 */
void ipc_chan_read_many(struct ipc_chan *ch);
/* The peer's HELLO once received (NULL before). */
const struct ipc_hello *ipc_chan_peer(const struct ipc_chan *ch);

/* HELLO: first message on every socket, both directions. */
struct ipc_hello {
	uint32_t version;
	uint16_t hdr_size;
	uint16_t role; /* enum ipc_role */
	uint32_t max_msg;
	uint32_t pid;
	char name[16]; /* process name, NUL-padded */
};
_Static_assert(sizeof(struct ipc_hello) == 32, "ipc_hello is 32 bytes");

int ipc_send_hello(int fd, uint16_t role, const char *name);
/* Fills *out; false with a reason in err if version or sizes differ. */
bool ipc_check_hello(
    const struct ipc_msg *m, struct ipc_hello *out, char *err, size_t errlen);

#endif
