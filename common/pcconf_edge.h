/*
 * pcconf_edge: the configuration sections owned by the edge component.
 * Bound by pcconf_edge_table (pcconf_edge.c) under the root table.
 */
#ifndef PC_PCCONF_EDGE_H
#define PC_PCCONF_EDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

struct pc_edge_conf {
	int unused_; /* sections are added by the edge component */
};

/* Keys of the root object that belong to edge (bound CONF_INLINE). */
extern const struct conf_table pcconf_edge_table;

#endif
