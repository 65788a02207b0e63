/*
 * pcconf_mgmt: the configuration sections owned by the mgmt component.
 * Bound by pcconf_mgmt_table (pcconf_mgmt.c) under the root table.
 */
#ifndef PC_PCCONF_MGMT_H
#define PC_PCCONF_MGMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

struct pc_mgmt_conf {
	int unused_; /* sections are added by the mgmt component */
};

/* Keys of the root object that belong to mgmt (bound CONF_INLINE). */
extern const struct conf_table pcconf_mgmt_table;

#endif
