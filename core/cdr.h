/*
 * cdr: call detail records, one per call attempt (INVITE that began a
 * call), queued in memory and written behind in batches: to SQLite (the
 * durable copy, `pcctl cdr`) and appended as JSON lines to a file for
 * export. Records are copied in; the module owns its queue.
 */
#ifndef PC_CDR_H
#define PC_CDR_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct cdr;

/* json_path NULL or "" = no JSON lines. keep: rows kept in SQLite. */
struct cdr *cdr_new(struct store *s, const char *json_path, uint64_t keep);
/* Writes what is queued, then frees. */
void cdr_free(struct cdr *d);
/* Queues a copy of r (dropped, and counted, past a bound). */
void cdr_add(struct cdr *d, const struct store_cdr *r);
/* Writes the queue in one transaction and to the JSON file; 0 or -1 (the
 * records stay queued for the next try). */
int cdr_flush(struct cdr *d);
size_t cdr_pending(const struct cdr *d);
uint64_t cdr_written(const struct cdr *d);
uint64_t cdr_dropped(const struct cdr *d);
/* One record as a JSON object (no newline); length or -1. */
int cdr_json(const struct store_cdr *r, char *out, size_t cap);

#endif
