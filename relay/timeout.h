/*
 * timeout: the relay's periodic work. Re-evaluates streams waiting for a
 * party (latch_wait_ms) or a failed kernel update, reads the kernel's
 * per-flow counters (conntrack accounting) into the streams, and reports
 * calls whose counters stopped moving for the media timeout (longer on
 * hold) once through the relay's on_timeout callback.
 */
#ifndef PC_RELAY_TIMEOUT_H
#define PC_RELAY_TIMEOUT_H

#include <stddef.h>

struct relay;

/* Starts the periodic timer (r->tick_ms). The environment variable
 * PC_RELAY_CT_DUMP_MIN, if set, replaces timeout_set_dump_min()'s value
 * (the integration tests use it to cover both ways). */
void timeout_start(struct relay *r);

/* From n kernel components on, counters are read with one filtered
 * conntrack dump per tick instead of a lookup per component (default
 * 4096; tests set 0 or SIZE_MAX to force either way). */
void timeout_set_dump_min(size_t n);

#endif
