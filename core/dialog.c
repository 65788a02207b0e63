/*
 * Dialog table: hashed by Call-ID; the tags tell dialogs of one Call-ID
 * (forked early dialogs) apart.
 */
#include <stdlib.h>
#include <string.h>

#include "dialog.h"

struct dlg_table {
	struct htable ht;
};

struct dlg_table *
dlg_table_new(void)
{
	struct dlg_table *t = calloc(1, sizeof(*t));

	if (t != NULL && htable_init(&t->ht, 256) < 0) {
		free(t);
		return NULL;
	}
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
	free(t);
}

struct dialog *
dlg_create(struct dlg_table *t, const struct slice s[DLG_S__COUNT],
    const struct ipc_flow *caller, const struct ipc_flow *callee,
    uint32_t caller_cseq, int64_t start_s, int64_t answer_s)
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
	d->state = DLG_CONFIRMED;
	d->caller_flow = *caller;
	d->callee_flow = *callee;
	d->caller_cseq = caller_cseq;
	d->start_s = start_s;
	d->answer_s = answer_s;
	htable_insert(&t->ht, &d->node,
	    hash_bytes(s[DLG_S_CALL_ID].p, s[DLG_S_CALL_ID].len));
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
	htable_remove(&t->ht, &d->node);
	free(d);
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
