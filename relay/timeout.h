/*
 * timeout: the relay's periodic work. Re-evaluates streams waiting for a
 * party (latch_wait_ms) or a failed kernel update, reads the kernel's
 * per-flow counters (conntrack accounting) into the streams, and reports
 * calls whose counters stopped moving for the media timeout (longer on
 * hold) once through the relay's on_timeout callback.
 */
#ifndef PC_RELAY_TIMEOUT_H
#define PC_RELAY_TIMEOUT_H

struct relay;

/* Starts the periodic timer (r->tick_ms). */
void timeout_start(struct relay *r);

#endif
