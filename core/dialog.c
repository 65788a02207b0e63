/*
 * Dialog table: hashed by Call-ID; the tags tell dialogs of one Call-ID
 * (forked early dialogs) apart.
 */
#include <stdlib.h>
#include <string.h>

#include "dialog.h"

struct dlg_table {
	struct htable ht;
	struct dialog *dirty_head;
	size_t ndirty;
	uint64_t *gone; /* ids of removed stored dialogs, to delete */
	size_t ngone, gone_cap;
	uint64_t next_id;
};

struct dlg_table *
dlg_table_new(void)
{
	struct dlg_table *t = calloc(1, sizeof(*t));

	if (t != NULL && htable_init(&t->ht, 256) < 0) {
		free(t);
		return NULL;
	}
	if (t != NULL)
		t->next_id = 1;
	return t;
}

static int
free_cb(struct hnode *n, void *arg)
{
	struct dlg_table *t = arg;

	htable_remove(&t->ht, n);
	free(container_of(n, struct dialog, node));
	return 0;
}

void
dlg_table_free(struct dlg_table *t)
{
	if (t == NULL)
		return;
	htable_walk(&t->ht, free_cb, t);
	htable_free(&t->ht);
	free(t->gone);
	free(t);
}

static void
dirty_unlink(struct dlg_table *t, struct dialog *d)
{
	if (!d->is_dirty)
		return;
	if (d->dirty_prev != NULL)
		d->dirty_prev->dirty_next = d->dirty_next;
	else
		t->dirty_head = d->dirty_next;
	if (d->dirty_next != NULL)
		d->dirty_next->dirty_prev = d->dirty_prev;
	d->dirty_next = d->dirty_prev = NULL;
	d->is_dirty = false;
	t->ndirty--;
}

void
dlg_touch(struct dlg_table *t, struct dialog *d)
{
	if (d->is_dirty)
		return;
	d->is_dirty = true;
	d->dirty_prev = NULL;
	d->dirty_next = t->dirty_head;
	if (t->dirty_head != NULL)
		t->dirty_head->dirty_prev = d;
	t->dirty_head = d;
	t->ndirty++;
}

size_t
dlg_dirty_count(const struct dlg_table *t)
{
	return t->ndirty + t->ngone;
}

static struct dialog *
make_dialog(struct dlg_table *t, const struct slice s[DLG_S__COUNT])
{
	size_t total = 0;

	for (int i = 0; i < DLG_S__COUNT; i++) {
		if (s[i].len > 8192)
			return NULL;
		total += s[i].len + 1;
	}
	struct dialog *d = calloc(1, sizeof(*d) + total);
	if (d == NULL)
		return NULL;
	char *p = d->strs;
	for (int i = 0; i < DLG_S__COUNT; i++) {
		d->s[i] = p;
		d->len[i] = (uint16_t)s[i].len;
		if (s[i].len)
			memcpy(p, s[i].p, s[i].len);
		p[s[i].len] = '\0';
		p += s[i].len + 1;
	}
	htable_insert(&t->ht, &d->node,
	    hash_bytes(s[DLG_S_CALL_ID].p, s[DLG_S_CALL_ID].len));
	return d;
}

struct dialog *
dlg_create(struct dlg_table *t, const struct slice s[DLG_S__COUNT],
    const struct ipc_flow *caller, const struct ipc_flow *callee,
    uint32_t caller_cseq, int64_t start_s, int64_t answer_s)
{
	struct dialog *d = make_dialog(t, s);

	if (d == NULL)
		return NULL;
	d->id = t->next_id++;
	d->state = DLG_CONFIRMED;
	d->caller_flow = *caller;
	d->callee_flow = *callee;
	d->caller_cseq = caller_cseq;
	d->start_s = start_s;
	d->answer_s = answer_s;
	dlg_touch(t, d);
	return d;
}

struct dialog *
dlg_restore(
    struct dlg_table *t, const struct slice s[DLG_S__COUNT], uint64_t id)
{
	struct dialog *d = make_dialog(t, s);

	if (d == NULL)
		return NULL;
	d->id = id;
	d->is_stored = true;
	if (id >= t->next_id)
		t->next_id = id + 1;
	return d;
}

static bool
tag_is(const struct dialog *d, enum dlg_str i, struct slice tag)
{
	return slice_eq(slice_make(d->s[i], d->len[i]), tag);
}

struct dialog *
dlg_find(struct dlg_table *t, struct slice call_id, struct slice tag_a,
    struct slice tag_b)
{
	uint64_t hv = hash_bytes(call_id.p, call_id.len);

	for (struct hnode *h = htable_first(&t->ht, hv); h != NULL;
	     h = htable_next(h, hv)) {
		struct dialog *d = container_of(h, struct dialog, node);
		if (!slice_eq(
		        slice_make(d->s[DLG_S_CALL_ID], d->len[DLG_S_CALL_ID]),
		        call_id))
			continue;
		if (tag_a.len == 0 && tag_b.len == 0)
			return d;
		if ((tag_is(d, DLG_S_CALLER_TAG, tag_a) &&
		        (tag_b.len == 0 ||
		            tag_is(d, DLG_S_CALLEE_TAG, tag_b))) ||
		    (tag_is(d, DLG_S_CALLEE_TAG, tag_a) &&
		        (tag_b.len == 0 || tag_is(d, DLG_S_CALLER_TAG, tag_b))))
			return d;
	}
	return NULL;
}

bool
dlg_is_caller(const struct dialog *d, struct slice from_tag)
{
	return tag_is(d, DLG_S_CALLER_TAG, from_tag);
}

void
dlg_remove(struct dlg_table *t, struct dialog *d)
{
	dirty_unlink(t, d);
	if (d->is_stored) {
		if (t->ngone == t->gone_cap) {
			size_t cap = t->gone_cap ? t->gone_cap * 2 : 64;
			uint64_t *g = realloc(t->gone, cap * sizeof(*g));
			if (g != NULL) {
				t->gone = g;
				t->gone_cap = cap;
			}
		}
		/* Out of memory: the row stays, and is dropped at the next
		 * start as a dialog nobody ends (see dialog_store). */
		if (t->ngone < t->gone_cap)
			t->gone[t->ngone++] = d->id;
	}
	htable_remove(&t->ht, &d->node);
	free(d);
}

int
dlg_flush(struct dlg_table *t, dlg_put_cb put, dlg_del_cb del,
    dlg_commit_cb commit, void *arg)
{
	for (size_t i = 0; i < t->ngone; i++)
		if (del(t->gone[i], arg) < 0)
			return -1;
	for (struct dialog *d = t->dirty_head; d != NULL; d = d->dirty_next)
		if (put(d, arg) < 0)
			return -1;
	if (commit(arg) < 0)
		return -1;
	t->ngone = 0;
	while (t->dirty_head != NULL) {
		struct dialog *d = t->dirty_head;
		d->is_stored = true;
		dirty_unlink(t, d);
	}
	return 0;
}

size_t
dlg_count(const struct dlg_table *t)
{
	return t->ht.count;
}

struct walk_ctx {
	dlg_walk_cb cb;
	void *arg;
};

static int
walk_cb(struct hnode *n, void *arg)
{
	struct walk_ctx *w = arg;

	return w->cb(container_of(n, struct dialog, node), w->arg);
}

void
dlg_walk(struct dlg_table *t, dlg_walk_cb cb, void *arg)
{
	struct walk_ctx w = {cb, arg};

	htable_walk(&t->ht, walk_cb, &w);
}
