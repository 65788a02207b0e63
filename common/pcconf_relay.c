/*
 * The configuration keys owned by the relay component (see pcconf_relay.h).
 */
#include <stddef.h>

#include "pcconf_relay.h"

static const struct conf_field fields[] = {
	{.key = NULL},
};

const struct conf_table pcconf_relay_table = {
	.name = "relay",
	.fields = fields,
	.nfields = 0,
	.size = sizeof(struct pc_relay_conf),
};
