/*
 * pcconf_core: the configuration sections owned by the core component.
 * Bound by pcconf_core_table (pcconf_core.c) under the root table.
 */
#ifndef PC_PCCONF_CORE_H
#define PC_PCCONF_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

struct pc_core_conf {
	int unused_; /* sections are added by the core component */
};

/* Keys of the root object that belong to core (bound CONF_INLINE). */
extern const struct conf_table pcconf_core_table;

#endif
