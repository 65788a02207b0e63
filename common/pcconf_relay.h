/*
 * pcconf_relay: the configuration sections owned by the relay component
 * ("media", "bans", "capture"). Bound by pcconf_relay_table
 * (pcconf_relay.c) under the root table; strings are owned by the loaded
 * configuration (conf_free).
 */
#ifndef PC_PCCONF_RELAY_H
#define PC_PCCONF_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

enum pc_media_kernel { PC_KERNEL_AUTO = 0, PC_KERNEL_ON, PC_KERNEL_OFF };

struct pc_media_conf {
	char *address; /* address the media sockets bind */
	char *advertise; /* address written into SDP (NULL = address) */
	uint16_t ports[2];
	int kernel; /* enum pc_media_kernel */
	uint32_t timeout_s;
	uint32_t hold_timeout_s;
	uint32_t latch_wait_ms;
	bool io_uring; /* user-space path sends through io_uring */
	uint32_t user_batch_us; /* pause after a busy turn (fwd_user) */
};

struct pc_bans_conf {
	uint32_t default_timeout_s;
	uint32_t max_timeout_s;
};

struct pc_capture_conf {
	char *dir;
	uint32_t max_bytes;
	uint32_t max_seconds;
};

struct pc_relay_conf {
	struct pc_media_conf media;
	struct pc_bans_conf bans;
	struct pc_capture_conf capture;
};

/* Keys of the root object that belong to relay (bound CONF_INLINE). */
extern const struct conf_table pcconf_relay_table;

#endif
