/*
 * stream: the relay's call table. A call (by Call-ID) has up to
 * IPC_MEDIA_MAX_STREAMS streams (m= lines); each stream has two legs, one
 * per party, and each leg a relay port pair facing that party. A stream's
 * component (RTP, RTCP) is forwarded in user space until both legs are
 * known, then programmed into the kernel maps. The relay context owns
 * every call, stream and socket; nothing here is handed out to keep.
 */
#ifndef PC_RELAY_STREAM_H
#define PC_RELAY_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "ev.h"
#include "hash.h"
#include "ipc_msgs.h"
#include "latch.h"
#include "nft.h"
#include "port.h"

struct relay;
struct rstream;
struct rcall;

/* What a relay port is, for the packet path (indexed by port - lo). */
struct rsock {
	struct relay *r;
	struct rstream *s; /* NULL: free, or idle in the socket pool */
	int fd; /* the socket bound to this port, or -1 */
	uint8_t leg, comp;
};

struct rleg {
	struct ipc_addr sdp[2]; /* where its SDP says it receives */
	struct latch lat[2];
	uint64_t sdp_ms; /* when the SDP address was (re)set */
	uint16_t port; /* relay RTP port facing this party */
	int fd[2];
	bool is_nat;
	bool has_sdp;
	/* Kernel mode, pair closed, descriptors scarce: its sockets were
	 * closed (the table drops what reaches the pair); bound again when
	 * it reopens. */
	bool is_sockless;
};

struct rstream {
	struct rcall *call;
	uint8_t index;
	uint8_t flags; /* IPC_MSF_RTCP_MUX | IPC_MSF_HOLD of the last SDP */
	struct rleg leg[2];
	bool is_kernel[2];
	bool is_kfail[2]; /* last programming failed; retried on tick */
	bool is_vdrop[2][2]; /* [leg][comp]: its port is closed (drop) */
	uint8_t vopen; /* bit l: leg l's pair has its accept verdict */
	struct nft_fwd kf[2][2]; /* programmed: [comp][direction] */
	uint64_t upkts, ubytes; /* forwarded in user space */
	uint64_t kpkts, kbytes; /* forwarded by the kernel (conntrack) */
	uint64_t ct_last_pkts[2], ct_last_bytes[2];
	uint64_t ct_cur_pkts[2], ct_cur_bytes[2];
	uint64_t strangers; /* packets refused by latching */
	bool has_flows; /* may own conntrack entries beyond those of its
			   kernel forwarding (packets seen in user space, or
			   programmed while packets flowed) */
	uint64_t active_ms; /* last time a counter moved */
	uint32_t gen; /* tells a reused stream from its predecessor */
};

struct rcall {
	struct hnode node;
	char call_id[256];
	char tag[2][64];
	struct rstream *s[IPC_MEDIA_MAX_STREAMS];
	uint8_t ns;
	bool is_timed_out;
	uint64_t created_s;
	/* Its line is due in the journal at the next state_flush(): index
	 * + 1 in the state's dirty list, 0 when none is due. */
	uint32_t dirty_idx;
};

typedef void (*relay_timeout_cb)(struct relay *r, struct rcall *c, void *arg);

struct relay_stats {
	uint64_t offers, answers, deletes, errors, timeouts;
	uint64_t latched, kernel_programmed, kernel_failed;
	uint64_t upkts, ubytes, strangers, banned_drops;
};

struct relay {
	struct ev_loop *loop;
	struct ipc_addr addr; /* media address the sockets bind */
	struct ipc_addr adv; /* address given to parties */
	bool is_kernel;
	bool has_acct; /* nf_conntrack_acct is on: kernel counters move */
	struct nft *nft;
	struct ct *ct;
	struct port_pool pool;
	struct rsock *socks; /* pool.hi - pool.lo + 1 entries */
	/* Released port pairs whose sockets stay bound, oldest first: a
	 * new stream takes one once more than idle_max / 2 wait, so a
	 * pair is reused only after that many other set-ups, and set-ups
	 * cost no socket()/bind()/close(). 0 = no pool. */
	uint16_t *idle;
	uint32_t idle_max, nidle, idle_head;
	/* Media sockets bound now, and the descriptors they may use: past
	 * half of it, kernel mode closes the sockets of closed pairs
	 * (0 = never). */
	uint32_t nsocks, sock_budget;
	struct htable calls;
	uint64_t ncalls, nstreams;
	uint32_t gen;
	uint64_t latch_wait_ms;
	uint64_t timeout_ms, hold_timeout_ms;
	struct ev_timer tick;
	uint64_t tick_ms;
	relay_timeout_cb on_timeout;
	void *on_timeout_arg;
	struct state *state;
	struct ban *ban; /* user-space ban list (fallback mode) */
	struct relay_stats st;
	/* Components handed to the kernel (or re-targeted) this loop turn,
	 * as stream_arg() with the component in bit 0: what their sockets
	 * still hold is forwarded before the conntrack deletes. */
	uint64_t *drain;
	size_t ndrain, drain_cap;
};

/* Sets up the context (no sockets yet); false if the port range is
 * unusable. nft/ct may be NULL (user-space mode). */
bool relay_init(struct relay *r, struct ev_loop *loop,
    const struct ipc_addr *addr, const struct ipc_addr *adv, uint16_t lo,
    uint16_t hi);
void relay_free(struct relay *r);
/* Sizes the pool of bound idle port pairs (2 descriptors each); false if
 * out of memory. Closes what no longer fits. */
bool relay_set_idle_max(struct relay *r, uint32_t pairs);

/* OFFER / ANSWER: fills *out (status < 0 with a message on error). */
void relay_media_update(struct relay *r, const struct ipc_media_req *q,
    bool is_answer, struct ipc_media_reply *out);
/* DELETE: 0, or -ENOENT. */
int relay_media_delete(struct relay *r, const struct ipc_media_ref *ref);
void relay_media_query(struct relay *r, const struct ipc_media_ref *ref,
    struct ipc_media_reply *out);

struct rcall *relay_call_find(struct relay *r, const char *call_id);
/* Visits every call; the callback must not delete. */
void relay_call_walk(
    struct relay *r, void (*fn)(struct rcall *, void *), void *arg);

/* The packet path (fwd_user.c) reports what it saw. */
void stream_on_latch(struct relay *r, struct rstream *s, int comp);
/* Re-evaluates kernel programming of one component. */
void stream_eval(struct relay *r, struct rstream *s, int comp);
/* The destination of leg l for component comp (latched source, else the
 * SDP address); family 0 if unknown. */
struct ipc_addr stream_leg_dst(const struct rstream *s, int l, int comp);
bool stream_comp_used(const struct rstream *s, int comp);
/* Binds or closes leg l's sockets as its pair's verdict (vopen) and the
 * descriptor budget say. */
void stream_leg_sync(struct relay *r, struct rstream *s, int l);
/* Whether leg l's port pair must be open (its input verdict accept, so
 * user space hears it) with the components in the kernel as kern[] says. */
bool stream_leg_open(const struct rstream *s, int l, const bool kern[2]);
/* Whether the stream's legs sit at ports p and p ^ NFT_LEG_XOR
 * (port_alloc_quad()): one pqmap element opens both, and the kernel
 * derives their SNAT. */
bool stream_is_quad(const struct rstream *s);

/*
 * User space forwarded packets of a component the kernel has (they
 * reached its socket before the switch's conntrack deletes, or a NAT
 * rebinding before the re-latch): the entry its send toward leg to made
 * would carry that party's answers to user space, and the other party's
 * packets with them, for as long as media flows. Deletes it after the
 * send (relay_flush()).
 */
void stream_user_sent(
    struct relay *r, const struct rstream *s, int comp, int to);

/* Commits the changes deferred during this loop iteration (nft groups;
 * then, for the components the kernel took this turn, forwards what
 * their sockets hold, over the entries it came by; then the conntrack
 * deletes): the before-sleep hook, after fwd_user_flush(). */
void relay_flush(struct relay *r);

/* Periodic work: latch waits, kernel counters, media timeouts. */
void relay_tick_run(struct relay *r);

/* Recovery: adds a call rebuilt from the state file (ports taken, sockets
 * bound); false if its ports are unavailable. */
bool relay_call_restore(struct relay *r, struct rcall *c);

#endif
