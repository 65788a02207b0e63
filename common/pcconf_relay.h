/*
 * pcconf_relay: the configuration sections owned by the relay component.
 * Bound by pcconf_relay_table (pcconf_relay.c) under the root table.
 */
#ifndef PC_PCCONF_RELAY_H
#define PC_PCCONF_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

struct pc_relay_conf {
	int unused_; /* sections are added by the relay component */
};

/* Keys of the root object that belong to relay (bound CONF_INLINE). */
extern const struct conf_table pcconf_relay_table;

#endif
