/*
 * trunk_src: which trunk a request's source address belongs to, asked for
 * every request from outside. An index built from the trunks as they are
 * (their peers' addresses sorted for a binary search, their inbound ACLs
 * parsed once) instead of a walk over every peer and a parse of every
 * ACL string per request. It answers as the walk did: a peer's address
 * before any ACL, the first trunk in order when several match. Built
 * again whenever trunks or their peers change; the index owns its arrays,
 * not the trunks.
 */
#ifndef PC_CORE_TRUNK_SRC_H
#define PC_CORE_TRUNK_SRC_H

#include "ipc_msgs.h"

struct trunk;
struct trunk_src;

/* NULL when out of memory (the caller then walks the trunks itself). */
struct trunk_src *trunk_src_build(struct trunk *const *v, int n);
void trunk_src_free(struct trunk_src *s);
/* The trunk whose peer has address a (any port), else the first whose
 * inbound ACL holds a; NULL = none. */
struct trunk *trunk_src_find(
    const struct trunk_src *s, const struct ipc_addr *a);

#endif
