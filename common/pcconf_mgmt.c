/*
 * The configuration keys owned by the mgmt component (see pcconf_mgmt.h).
 */
#include <stddef.h>

#include "pcconf_mgmt.h"

static const struct conf_field fields[] = {
	{.key = NULL},
};

const struct conf_table pcconf_mgmt_table = {
	.name = "mgmt",
	.fields = fields,
	.nfields = 0,
	.size = sizeof(struct pc_mgmt_conf),
};
