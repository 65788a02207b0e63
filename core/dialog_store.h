/*
 * dialog_store: the dialog table written behind to SQLite (its own file
 * in the state directory, apart from store's schema), so a core restarted
 * after a crash still lists its calls, ends them with BYE and closes their
 * CDRs. Dialogs are copied in and out; the caller owns the table.
 */
#ifndef PC_DIALOG_STORE_H
#define PC_DIALOG_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "dialog.h"
#include "ev.h"

struct dlg_store;

/* Opens (creating) the database at path; NULL with a message in err. */
struct dlg_store *dlg_store_open(const char *path, char *err, size_t errlen);
/* Flushes t every interval_ms on loop from now on (write-behind). */
void dlg_store_attach(struct dlg_store *s, struct ev_loop *loop,
    struct dlg_table *t, uint32_t interval_ms);
/* Writes what is pending (when attached), then closes. */
void dlg_store_close(struct dlg_store *s);
/* Flushes that failed (the changes stay queued). */
uint64_t dlg_store_errors(const struct dlg_store *s);
/* Writes the changes of t in one transaction: 0, or -1 (kept for the next
 * try). */
int dlg_store_flush(struct dlg_store *s, struct dlg_table *t);
/* Loads the stored dialogs into t; rows older than max_age_s (by their
 * start) or unreadable are deleted. Returns how many, or -1. */
long dlg_store_load(
    struct dlg_store *s, struct dlg_table *t, int64_t now, int64_t max_age_s);
/* Decodes one stored row (its strs and rec blobs, as read back) into a
 * dialog of t with that id; NULL when the row is malformed, of another
 * record version, not confirmed or older than max_age_s at now. What
 * dlg_store_load() does per row; exposed for the fuzz target. */
struct dialog *dlg_store_decode(struct dlg_table *t, uint64_t id,
    const void *strs, size_t slen, const void *rec, size_t rlen, int64_t now,
    int64_t max_age_s);
const char *dlg_store_errmsg(struct dlg_store *s);
/* Opens state_dir/dialogs.db, loads it into t and writes t behind from
 * now on (logging what happened); NULL when the file cannot be used (the
 * dialogs then live in memory only). */
struct dlg_store *dlg_store_start(struct ev_loop *loop, struct dlg_table *t,
    const char *state_dir, int64_t now);

#endif
