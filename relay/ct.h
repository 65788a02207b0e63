/*
 * ct: conntrack over raw ctnetlink (libmnl): deleting the entries of a
 * stream's 5-tuples after its NAT changes (a map change does not affect a
 * flow that already has an entry), and reading per-flow packet/byte
 * accounting, looked up by tuple or dumped filtered by the relay address,
 * for media timeouts and statistics.
 * Nothing returned is allocated; results go into the caller's arrays.
 */
#ifndef PC_RELAY_CT_H
#define PC_RELAY_CT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ct;

/* A UDP tuple: family 4/6, addresses in network order, ports host order. */
struct ct_tuple {
	uint8_t family;
	uint8_t src[16];
	uint8_t dst[16];
	uint16_t sport, dport;
};

struct ct *ct_open(char *err, size_t errlen);
void ct_close(struct ct *c);

/*
 * Deletes the entries whose original tuple is one of t[0..n-1], all sent
 * in one write. Returns how many were deleted (entries that did not exist
 * are not an error), or -1 with errno if the socket failed.
 */
int ct_delete(struct ct *c, const struct ct_tuple *t, size_t n);

/* Queues deletes for ct_flush() (the before-sleep hook, after the nft
 * changes of the same loop iteration are committed): one write for many
 * streams. */
void ct_defer(struct ct *c, const struct ct_tuple *t, size_t n);
/* Sends the queued deletes; as ct_delete(). */
int ct_flush(struct ct *c);

/* One conntrack entry with its accounting (zero without
 * nf_conntrack_acct). */
struct ct_entry {
	struct ct_tuple orig, reply;
	uint64_t pkts_orig, bytes_orig, pkts_reply, bytes_reply;
};

/*
 * Looks up the entries that carry the given tuples (either direction: a
 * flow is found by its original or its reply tuple) in one write, so the
 * cost follows the relay's own streams, not the size of the conntrack
 * table (a dump walks every entry of the host). out[i] is filled and
 * found[i] set for each tuple that has an entry. 0, or -1 with errno.
 */
int ct_get(struct ct *c, const struct ct_tuple *t, size_t n,
    struct ct_entry *out, bool *found);

/*
 * Dumps the UDP entries of family whose original destination address is
 * dst (every flow to the relay address: its media, either party first),
 * filtered in the kernel (CTA_FILTER, Linux 5.9+), calling cb for each
 * (the entry lives during the call). One request costs a walk of the
 * conntrack hash, not one lookup per flow: cheaper than ct_get() for many
 * flows. 0, or -1 with errno; EOPNOTSUPP when the kernel ignored or
 * refused the filter (then use ct_get()).
 */
typedef void (*ct_entry_cb)(const struct ct_entry *e, void *arg);
int ct_dump_to(struct ct *c, uint8_t family, const uint8_t *dst, ct_entry_cb cb,
    void *arg);

/* Turns net.netfilter.nf_conntrack_acct on in this network namespace;
 * 0 when it is on (read back), or -1 with errno. */
int ct_enable_acct(void);
/* nf_conntrack_max of this namespace, or 0 if unknown. */
uint64_t ct_max_entries(void);

#endif
