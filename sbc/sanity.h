/*
 * sanity: what the edge does with a message from outside before anything
 * else looks at it (DESIGN §3 step 3): accept it, answer it itself
 * (400 naming the fault, 505, 413, 416, 420, 483), drop it (malformed
 * responses, unanswerable requests, ACKs), or drop it silently as a
 * scanner. Max-Forwards: the edge answers 483 itself when it is 0 on any
 * request but REGISTER and OPTIONS (which core may answer as their
 * target, RFC 3261 §16.3 step 3 and §11) and ACK (never answered). Nothing
 * is allocated; phrases are static.
 */
#ifndef PC_SBC_SANITY_H
#define PC_SBC_SANITY_H

#include <stddef.h>

#include "sip_msg.h"

enum sanity_verdict {
	SANITY_OK = 0,
	SANITY_REPLY, /* answer with code + phrase */
	SANITY_DROP, /* drop quietly (counted) */
	SANITY_SCANNER, /* drop silently and ban the source */
};

struct sanity_result {
	enum sanity_verdict verdict;
	int code;
	const char *phrase;
};

/*
 * Judges m after sip_msg_parse() returned parse_rc with perr. scanners
 * are User-Agent substrings matched case-insensitively. max_size is the
 * configured largest message.
 */
void sanity_check(struct sip_msg *m, int parse_rc, const struct sip_err *perr,
    char *const *scanners, size_t nscanners, uint32_t max_size,
    struct sanity_result *out);
/* Whether the User-Agent (or Server / From display for some tools) names a
 * scanner. */
bool sanity_is_scanner(
    struct sip_msg *m, char *const *scanners, size_t nscanners);
/* Response code for a parser error code. */
int sanity_code_of(enum sip_err_code c);

#endif
