/*
 * dialog: a light table of established INVITE dialogs (RFC 3261 §12)
 * seen by the proxy: Call-ID, both tags, both parties' URIs, contacts and
 * flows, the CSeqs each side used, and the times a CDR needs. It lets
 * ctl calls.list/hangup and CALL_RELEASE find a call and send BYE both
 * ways, and routes in-dialog requests to the flow of the other party.
 * The table owns its dialogs; strings are copied in one allocation.
 */
#ifndef PC_DIALOG_H
#define PC_DIALOG_H

#include <stdbool.h>
#include <stdint.h>

#include "hash.h"
#include "ipc_msgs.h"
#include "slice.h"

enum dlg_state { DLG_EARLY = 0, DLG_CONFIRMED, DLG_TERMINATED };

enum dlg_str {
	DLG_S_CALL_ID = 0,
	DLG_S_CALLER_TAG, /* From tag of the INVITE */
	DLG_S_CALLEE_TAG, /* To tag of the answer */
	DLG_S_FROM, /* From header value of the INVITE (with tag) */
	DLG_S_TO, /* To header value of the answer (with tag) */
	DLG_S_CALLER_CONTACT,
	DLG_S_CALLEE_CONTACT,
	/* Record-Route of the answer, one entry per line ('\n'), top first:
	 * what BYEs we send must carry beyond us. */
	DLG_S_ROUTE_SET,
	/* "user@domain" the caller authenticated as; empty if not. */
	DLG_S_CALLER_USER,
	DLG_S__COUNT
};

/* What call admission and the CDR need of a call, from its INVITE to its
 * end; moved from the proxy context into the dialog at the answer. */
struct call_acct {
	char trunk_in[32]; /* trunk the call came from; "" = a user */
	char trunk_out[32]; /* trunk it went to; "" = not a trunk */
	char caller[128];
	char callee[128];
	char call_id[128]; /* cut short if longer */
	int64_t start_ms, answer_ms; /* wall clock */
	bool is_counted; /* holds a slot of the call limits */
	bool is_open; /* its CDR is still to be written */
	bool is_outbound; /* went to a trunk */
};

struct dialog {
	struct hnode node;
	/* Write-behind (dialog_store): a stable row id, and the list of
	 * dialogs changed since the last flush. */
	uint64_t id;
	struct dialog *dirty_next, *dirty_prev;
	bool is_dirty;
	bool is_stored; /* has a row (so its removal deletes one) */
	/* Edge slot + 1 holding each party's flow (0 = unknown, see
	 * proxy_edge_gone). */
	uint8_t caller_edge, callee_edge;
	struct call_acct acct;
	enum dlg_state state;
	struct ipc_flow caller_flow, callee_flow;
	uint32_t caller_cseq, callee_cseq;
	/* The callee saw the caller's CSeqs this much higher (the proxy
	 * answered a challenge with a new INVITE, RFC 3261 §22.2). */
	uint32_t callee_cseq_delta;
	int64_t start_s, answer_s, end_s;
	char end_reason[32];
	uint16_t len[DLG_S__COUNT];
	char *s[DLG_S__COUNT]; /* point into strs */
	char strs[];
};

struct dlg_table;

struct dlg_table *dlg_table_new(void);
void dlg_table_free(struct dlg_table *t);

struct dialog *dlg_create(struct dlg_table *t,
    const struct slice s[DLG_S__COUNT], const struct ipc_flow *caller,
    const struct ipc_flow *callee, uint32_t caller_cseq, int64_t start_s,
    int64_t answer_s);
/* By Call-ID and the two tags in either order; tags empty = any. */
struct dialog *dlg_find(struct dlg_table *t, struct slice call_id,
    struct slice tag_a, struct slice tag_b);
/* Whether tag is the caller's. */
bool dlg_is_caller(const struct dialog *d, struct slice from_tag);
void dlg_remove(struct dlg_table *t, struct dialog *d);
size_t dlg_count(const struct dlg_table *t);

typedef int (*dlg_walk_cb)(struct dialog *d, void *arg);
void dlg_walk(struct dlg_table *t, dlg_walk_cb cb, void *arg);

/*
 * Write-behind. dlg_create() marks a dialog changed; dlg_touch() after a
 * field changed in place (CSeq). dlg_flush() hands the ids of removed
 * dialogs to del and the changed dialogs to put, then calls commit (each
 * returns 0, or -1 to keep everything for the next try); 0 or -1. dlg_restore()
 * adds a stored dialog with its id (not marked changed).
 */
void dlg_touch(struct dlg_table *t, struct dialog *d);
size_t dlg_dirty_count(const struct dlg_table *t);
typedef int (*dlg_put_cb)(const struct dialog *d, void *arg);
typedef int (*dlg_del_cb)(uint64_t id, void *arg);
typedef int (*dlg_commit_cb)(void *arg);
int dlg_flush(struct dlg_table *t, dlg_put_cb put, dlg_del_cb del,
    dlg_commit_cb commit, void *arg);
struct dialog *dlg_restore(
    struct dlg_table *t, const struct slice s[DLG_S__COUNT], uint64_t id);

#endif
