/*
 * The configuration keys owned by the edge component (see pcconf_edge.h).
 */
#include <stddef.h>

#include "pcconf_edge.h"

static const struct conf_field fields[] = {
	{.key = NULL},
};

const struct conf_table pcconf_edge_table = {
	.name = "edge",
	.fields = fields,
	.nfields = 0,
	.size = sizeof(struct pc_edge_conf),
};
