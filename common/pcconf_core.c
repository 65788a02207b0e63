/*
 * The configuration keys owned by the core component (see pcconf_core.h).
 */
#include <stddef.h>

#include "pcconf_core.h"

static const struct conf_field fields[] = {
	{.key = NULL},
};

const struct conf_table pcconf_core_table = {
	.name = "core",
	.fields = fields,
	.nfields = 0,
	.size = sizeof(struct pc_core_conf),
};
