/*
 * state: what relay needs to rebuild its stream list after a restart (the
 * kernel keeps forwarding meanwhile): an append-only journal in state_dir,
 * one line per call change, compacted at start and when it grows. A
 * changed call is encoded once per loop iteration, however often it
 * changed, and the lines are written then (state_flush). Calls returned
 * by state_load() are malloc'd and owned by the callback.
 */
#ifndef PC_RELAY_STATE_H
#define PC_RELAY_STATE_H

#include <stdbool.h>
#include <stddef.h>

struct state;
struct rcall;
struct relay;

struct state *state_open(const char *dir, char *err, size_t errlen);
void state_close(struct state *st);

/* Marks the call's line due at the next state_flush() (the call must
 * stay alive until then, or be dropped or forgotten). */
void state_save_call(struct state *st, struct rcall *c);
void state_drop_call(struct state *st, struct rcall *c);
/* The call is being freed without a journal change (shutdown, a failed
 * offer): no line is due for it any more. */
void state_forget_call(struct state *st, struct rcall *c);
/* Encodes the calls marked since the last flush, writes the lines;
 * compacts past the size limit. 0 or -1. */
int state_flush(struct state *st, struct relay *r);

typedef void (*state_call_cb)(struct rcall *c, void *arg);
/* Replays the journal; every call still alive goes to cb. Returns the
 * number of calls, or -1 if the file could not be read. */
int state_load(struct state *st, state_call_cb cb, void *arg);
/* Rewrites the journal from the live call table. */
int state_compact(struct state *st, struct relay *r);

/* Encoding of one call as a journal line (for tests and the fuzzer);
 * decode returns a malloc'd call or NULL on a malformed line. */
size_t state_encode_call(const struct rcall *c, char *buf, size_t cap);
struct rcall *state_decode_call(const char *line, size_t len);

/*
 * Restart recovery: replays the journal into r (binding every stream's
 * ports again), then, in kernel mode, reconciles the table with it: map
 * entries no stream claims are deleted, streams whose entries are gone go
 * back to user space, port verdicts are set again. table_kept = the table
 * survived (else nothing in it belongs to the journal's streams). Returns
 * the number of calls restored.
 */
int state_recover(struct state *st, struct relay *r, bool table_kept);
#endif
