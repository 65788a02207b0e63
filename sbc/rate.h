/*
 * rate: per-source token buckets (one per method class), a global cap, a
 * flood detector, the trusted-source mark and the exempt sources (trunk
 * peers: no per-source limit, never a flood, still the global cap). Time
 * is passed in by the caller (ms on any monotonic scale), so tests drive
 * it without sleeping. The table owns its entries and a copy of the
 * exempt rules; it holds at most max_sources entries and evicts the least
 * recently seen untrusted one when full.
 */
#ifndef PC_SBC_RATE_H
#define PC_SBC_RATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acl.h"
#include "ipc_msgs.h"

enum rate_class {
	RATE_C_INVITE = 0,
	RATE_C_REGISTER,
	RATE_C_OTHER,
	/* Responses from a source (stray ones cost as much as requests);
	 * never held against the global cap. */
	RATE_C_RESPONSE,
	RATE_C__COUNT
};

struct rate_params {
	uint32_t rate[RATE_C__COUNT]; /* tokens per second; 0 = no limit */
	uint32_t burst[RATE_C__COUNT]; /* bucket depth */
	uint32_t global_rate; /* 0 = no global cap */
	uint32_t trusted_multiplier; /* >= 1 */
	uint32_t flood_drops; /* drops within the window = flood */
	uint32_t flood_window_ms;
	uint32_t trust_ttl_ms; /* how long SOURCE_TRUSTED (and an exempt
				  mark from core) lasts */
	uint32_t max_sources;
};

enum rate_verdict {
	RATE_PASS = 0,
	RATE_DROP, /* this source is over its limit */
	RATE_GLOBAL, /* all sources together are over the cap: 503 */
	RATE_FLOOD, /* over its limit often enough to be banned (once per
			window) */
};

struct rate;

struct rate *rate_new(const struct rate_params *p);
void rate_free(struct rate *r);
/* Live reload: buckets keep their level, clamped to the new depth. */
void rate_set_params(struct rate *r, const struct rate_params *p);
/* Counts one message of class c from src at now_ms (a class whose rate
 * is 0 always passes). Responses count in RATE_C_RESPONSE, which the
 * global cap leaves alone: a 503 cannot answer a response. */
enum rate_verdict rate_check(struct rate *r, const struct ipc_addr *src,
    enum rate_class c, uint64_t now_ms);
/* The source registered successfully: higher limits until trust_ttl. */
void rate_trust(struct rate *r, const struct ipc_addr *src, uint64_t now_ms);
bool rate_is_trusted(
    struct rate *r, const struct ipc_addr *src, uint64_t now_ms);
/* Replaces the exempt prefixes (the configured trunks' sources; copied).
 * A source they match is not limited per source and never reported as a
 * flood; its requests still count toward the global cap. -1 = no memory
 * (the old rules stay). */
int rate_set_exempt(struct rate *r, const struct cidr *rules, size_t n);
/* Exempts one address until trust_ttl (a trunk peer core resolved from a
 * host name; core repeats it with every answer). */
void rate_exempt(struct rate *r, const struct ipc_addr *src, uint64_t now_ms);
bool rate_is_exempt(
    struct rate *r, const struct ipc_addr *src, uint64_t now_ms);
/* Forgets entries idle for longer than idle_ms (and not trusted). */
void rate_expire(struct rate *r, uint64_t now_ms, uint64_t idle_ms);
size_t rate_count(const struct rate *r);
enum rate_class rate_class_of_method(int sip_method);

#endif
