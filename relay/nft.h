/*
 * nft: the relay's own nftables table (inet "portcullis"), over netlink
 * with libnftnl + libmnl. Set-up finds the table by name and tag, so it is
 * idempotent and touches nothing outside the table. Element changes are
 * queued with nft_batch_*() and committed as one atomic netlink batch.
 * Dump callbacks see data that lives only during the call.
 */
#ifndef PC_RELAY_NFT_H
#define PC_RELAY_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NFT_TABLE_NAME "portcullis"

struct nft;

struct nft_layout {
	uint16_t port_lo, port_hi; /* media port range */
	const uint16_t *sip_ports; /* guarded by the ban sets */
	size_t nsip_ports;
	/* The relay address the kernel SNATs to without a map element
	 * (family 4 or 6, network order; family 0: every forward has its
	 * smap element): a forward whose out is this address and whose
	 * out_port is relay_port ^ NFT_LEG_XOR (a stream's two legs at a
	 * fixed distance, see port_alloc_quad()) is SNATed by one rule
	 * that derives the port from the flow's original destination port,
	 * so adding or removing it costs one element (dmap), not two. */
	uint8_t snat_family;
	uint8_t snat_addr[16];
};

#define NFT_LEG_XOR 2

/*
 * One forwarded direction: packets from src to relay_port are sent on to
 * dst from out (the relay address and the port facing dst). family is 4
 * or 6; addresses are in network order (4 or 16 bytes), ports host order.
 */
struct nft_fwd {
	uint8_t family;
	uint8_t src[16];
	uint16_t src_port;
	uint16_t relay_port;
	uint8_t dst[16];
	uint16_t dst_port;
	uint8_t out[16];
	uint16_t out_port;
};

/* Opens a netlink socket; NULL with a reason in err (no permission, no
 * nf_tables). */
struct nft *nft_open(char *err, size_t errlen);
void nft_close(struct nft *n);

/*
 * Creates the table (sets, maps, chains, rules) unless it exists with our
 * tag and the same layout; a table of ours with another layout is
 * replaced. *is_kept tells whether the existing table (and the media it
 * forwards) was kept. A table of that name without our tag is someone
 * else's: -1, untouched.
 */
int nft_setup(struct nft *n, const struct nft_layout *l, bool *is_kept,
    char *err, size_t errlen);
/* Deletes our table if it exists (0 also when it did not). */
int nft_teardown(struct nft *n, char *err, size_t errlen);

/* Element changes, queued until nft_batch_commit(). A forward is one
 * dmap element, plus an smap element unless its SNAT is derived (see
 * struct nft_layout). */
void nft_batch_begin(struct nft *n);
void nft_fwd_add(struct nft *n, const struct nft_fwd *f);
void nft_fwd_del(struct nft *n, const struct nft_fwd *f);
/* Input verdict for a relay port pair (port and its odd neighbour share
 * one element, keyed by the even port): accept (user space hears it) or
 * drop. Without an element the range's drop rule applies: the relay adds
 * only accept elements, for the pairs user space must hear. */
void nft_port_add(struct nft *n, uint16_t port, bool is_drop);
void nft_port_del(struct nft *n, uint16_t port);
/* Accept for the four ports of port's quad (port & ~3 .. + 3) at once:
 * both pairs of a stream whose legs sit at p and p ^ 2 (one element where
 * nft_port_add() needs two). */
void nft_quad_add(struct nft *n, uint16_t port);
void nft_quad_del(struct nft *n, uint16_t port);
/* family 4/6, addr in network order; timeout 0 = permanent. */
void nft_ban_add(
    struct nft *n, uint8_t family, const uint8_t *addr, uint32_t timeout_s);
void nft_ban_del(struct nft *n, uint8_t family, const uint8_t *addr);
/* Number of queued element operations. */
size_t nft_batch_ops(const struct nft *n);
/* Sends the batch and waits for the kernel; 0, or -1 with errno (the
 * whole batch was rolled back). An empty batch is a no-op. */
int nft_batch_commit(struct nft *n);

/*
 * Deferred changes: nft_defer_begin() opens a group whose operations are
 * queued into a pending batch shared by every group of this loop
 * iteration, committed by nft_flush() (the before-sleep hook) as one
 * transaction: one commit for many call set-ups and tear-downs. Only for
 * changes whose failure needs no undo (opening and closing ports): if the
 * shared batch fails, each group is replayed alone and failed groups are
 * logged. nft_batch_begin() and the dumps flush pending groups first, so
 * synchronous batches always see them applied.
 */
void nft_defer_begin(struct nft *n);
/* The same, with a callback told (with arg) if this group failed. */
typedef void (*nft_fail_cb)(uint64_t arg, void *ctx);
void nft_defer_begin_cb(struct nft *n, nft_fail_cb cb, uint64_t arg, void *ctx);
/* Commits pending groups; returns the number of groups that failed. */
int nft_flush(struct nft *n);

/* Dumps; the callback returns non-zero to stop. A forward's out address
 * and port come from its smap element, else from the derived SNAT. */
typedef int (*nft_fwd_cb)(const struct nft_fwd *f, void *arg);
int nft_fwd_dump(struct nft *n, nft_fwd_cb cb, void *arg);
typedef int (*nft_port_cb)(uint16_t port, bool is_drop, void *arg);
int nft_port_dump(struct nft *n, nft_port_cb cb, void *arg);
/* The quad elements (the first port of each quad; is_drop false). */
int nft_quad_dump(struct nft *n, nft_port_cb cb, void *arg);
typedef int (*nft_ban_cb)(uint8_t family, const uint8_t *addr,
    uint64_t timeout_ms, uint64_t expires_ms, void *arg);
int nft_ban_dump(struct nft *n, nft_ban_cb cb, void *arg);
/* Packets and bytes the ban rules dropped in the kernel since the table
 * was made; 0, or -1 with errno. */
int nft_ban_counters(struct nft *n, uint64_t *packets, uint64_t *bytes);

#endif
