/*
 * capture: libpcap captures of a call's media (both sides of the NAT: the
 * relay ports on every interface) or of the SIP ports, into pcap files,
 * bounded in size and time. Non-blocking pcap driven by its selectable
 * fd in the event loop (RELAY-NOTES: a blocking read in immediate mode
 * never returns on an idle interface). The manager owns its captures.
 */
#ifndef PC_RELAY_CAPTURE_H
#define PC_RELAY_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct capture_mgr;

#define CAPTURE_MAX 8

struct capture_mgr *capture_new(struct ev_loop *loop, const char *dir,
    uint32_t max_bytes, uint32_t max_seconds);
void capture_free(struct capture_mgr *m);

/*
 * Starts writing packets matching filter (BPF syntax) on all interfaces to
 * path (a bare name goes into the capture directory). max_bytes and
 * max_seconds 0 take the configured limits, larger ones are clamped to
 * them. 0, or -errno with a reason in err.
 */
int capture_start(struct capture_mgr *m, const char *path, const char *filter,
    uint32_t max_bytes, uint32_t max_seconds, char *err, size_t errlen);
/* 0, or -ENOENT when no capture writes to path. */
int capture_stop(struct capture_mgr *m, const char *path);
/* Number of captures running. */
size_t capture_count(const struct capture_mgr *m);

#endif
