/*
 * The configuration keys owned by the relay component (see pcconf_relay.h).
 * Defaults make `{}` a working loopback relay on 127.0.0.1:20000-29999.
 */
#include <stddef.h>
#include <stdio.h>

#include "pcconf_relay.h"

static const char *const kernel_names[] = {"auto", "on", "off", NULL};

static const struct conf_field media_fields[] = {
    {.key = "address",
        .type = CONF_ADDR,
        .offset = offsetof(struct pc_media_conf, address),
        .def = "\"127.0.0.1\"",
        .doc = "Address the media (RTP/RTCP) sockets bind."},
    {.key = "advertise",
        .type = CONF_STR,
        .offset = offsetof(struct pc_media_conf, advertise),
        .def = "null",
        .doc = "Address written into SDP when it differs from address "
               "(1:1 NAT in front of the relay)."},
    {.key = "ports",
        .type = CONF_PORT_RANGE,
        .offset = offsetof(struct pc_media_conf, ports),
        .def = "[20000, 29999]",
        .doc = "Media port range [low, high]; each stream uses two "
               "even/odd pairs."},
    {.key = "kernel",
        .type = CONF_ENUM,
        .offset = offsetof(struct pc_media_conf, kernel),
        .def = "\"auto\"",
        .enum_names = kernel_names,
        .doc = "Kernel forwarding through nftables: auto (when usable), "
               "on (required), off (user space only)."},
    {.key = "timeout_s",
        .type = CONF_UINT,
        .offset = offsetof(struct pc_media_conf, timeout_s),
        .def = "60",
        .min = 1,
        .max = 86400,
        .doc = "A call whose media stopped for this long is released."},
    {.key = "hold_timeout_s",
        .type = CONF_UINT,
        .offset = offsetof(struct pc_media_conf, hold_timeout_s),
        .def = "3600",
        .min = 1,
        .max = 86400 * 7,
        .doc = "The same for calls on hold (sendonly/inactive)."},
    {.key = "latch_wait_ms",
        .type = CONF_UINT,
        .offset = offsetof(struct pc_media_conf, latch_wait_ms),
        .def = "1000",
        .min = 0,
        .max = 60000,
        .doc = "How long a party not behind NAT may take to send before "
               "its SDP address is trusted as its source."},
    {.key = "io_uring",
        .type = CONF_BOOL,
        .offset = offsetof(struct pc_media_conf, io_uring),
        .def = "true",
        .doc = "User-space forwarding sends the packets of a loop turn "
               "through io_uring, in one system call, where the kernel "
               "allows it; false: one sendmmsg per socket."},
    {.key = "user_batch_us",
        .type = CONF_UINT,
        .offset = offsetof(struct pc_media_conf, user_batch_us),
        .def = "200",
        .min = 0,
        .max = 500,
        .doc = "User-space forwarding under load: after loop turns whose "
               "packets came at two or more per this many microseconds, "
               "pause this long so the next turn finds "
               "several sockets ready (fewer wake-ups per packet). Adds at "
               "most this much (plus the kernel's timer slack, 50 us, and "
               "timer latency) to a packet's way; 0 = never pause."},
};

static const char *
media_check(const void *obj, char *buf, size_t cap)
{
	const struct pc_media_conf *m = obj;

	if (m->ports[1] < m->ports[0] + 3) {
		snprintf(buf, cap,
		    "ports [%u, %u] hold no stream (two even/odd pairs "
		    "are needed)",
		    m->ports[0], m->ports[1]);
		return buf;
	}
	if (m->hold_timeout_s < m->timeout_s) {
		snprintf(buf, cap,
		    "hold_timeout_s (%u) is below timeout_s (%u)",
		    m->hold_timeout_s, m->timeout_s);
		return buf;
	}
	return NULL;
}

static const struct conf_table media_table = {
    .name = "media",
    .fields = media_fields,
    .nfields = sizeof(media_fields) / sizeof(media_fields[0]),
    .size = sizeof(struct pc_media_conf),
    .check = media_check,
};

static const struct conf_field bans_fields[] = {
    {.key = "default_timeout_s",
        .type = CONF_UINT,
        .offset = offsetof(struct pc_bans_conf, default_timeout_s),
        .def = "300",
        .min = 1,
        .max = 86400 * 365,
        .doc = "Length of a ban that names none."},
    {.key = "max_timeout_s",
        .type = CONF_UINT,
        .offset = offsetof(struct pc_bans_conf, max_timeout_s),
        .def = "604800",
        .min = 1,
        .max = 86400 * 365,
        .doc = "Longest ban relay accepts."},
};

static const struct conf_table bans_table = {
    .name = "bans",
    .fields = bans_fields,
    .nfields = sizeof(bans_fields) / sizeof(bans_fields[0]),
    .size = sizeof(struct pc_bans_conf),
};

static const struct conf_field capture_fields[] = {
    {.key = "dir",
        .type = CONF_STR,
        .offset = offsetof(struct pc_capture_conf, dir),
        .def = "null",
        .doc = "Directory pcap files are written to (capture requests name "
               "a file in it); default STATE_DIR/capture."},
    {.key = "max_bytes",
        .type = CONF_UINT,
        .offset = offsetof(struct pc_capture_conf, max_bytes),
        .def = "104857600",
        .min = 4096,
        .max = 4000000000,
        .doc = "Largest pcap file a capture writes."},
    {.key = "max_seconds",
        .type = CONF_UINT,
        .offset = offsetof(struct pc_capture_conf, max_seconds),
        .def = "300",
        .min = 1,
        .max = 86400,
        .doc = "Longest capture."},
};

static const struct conf_table capture_table = {
    .name = "capture",
    .fields = capture_fields,
    .nfields = sizeof(capture_fields) / sizeof(capture_fields[0]),
    .size = sizeof(struct pc_capture_conf),
};

static const struct conf_field fields[] = {
    {.key = "media",
        .type = CONF_OBJECT,
        .offset = offsetof(struct pc_relay_conf, media),
        .def = "{}",
        .sub = &media_table,
        .doc = "Media relay (RTP anchoring)."},
    {.key = "bans",
        .type = CONF_OBJECT,
        .offset = offsetof(struct pc_relay_conf, bans),
        .def = "{}",
        .sub = &bans_table,
        .doc = "Kernel ban sets."},
    {.key = "capture",
        .type = CONF_OBJECT,
        .offset = offsetof(struct pc_relay_conf, capture),
        .def = "{}",
        .sub = &capture_table,
        .doc = "Packet capture (pcap)."},
};

const struct conf_table pcconf_relay_table = {
    .name = "relay",
    .fields = fields,
    .nfields = sizeof(fields) / sizeof(fields[0]),
    .size = sizeof(struct pc_relay_conf),
};
