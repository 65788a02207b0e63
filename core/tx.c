/*
 * Transaction layer. Each transaction has two embedded timers: `retr`
 * for retransmissions (A, E, G) and `wait` for the others (B, C, D, F, H,
 * I, J, K), so no timer is allocated. Callbacks into the proxy may end
 * the transaction they are called for; `busy` defers that until the
 * callback returned.
 *
 * A server non-INVITE transaction answered without a user (REGISTER,
 * OPTIONS, a refusal) only resends its response for timer J (32 s over
 * UDP), and a REGISTER storm keeps hundreds of thousands of them. Before
 * the loop sleeps after its final response (nobody holds the pointer
 * then; one hook per turn, not a timer per transaction) it becomes a
 * `tx_done`: key, flow and response in one allocation, on a
 * FIFO that one layer timer expires (every J has the same length), about
 * 300 bytes less than a struct tx plus its response copy. A
 * retransmission that finds one turns it back into a struct tx.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "tx.h"
#include "wbuf.h"

#define MAGIC "z9hG4bK"

struct tx {
	struct hnode node;
	struct tx_layer *layer;
	enum tx_kind kind;
	enum tx_state state;
	struct ipc_flow flow;
	bool is_reliable;
	bool is_detached;
	bool is_doomed;
	bool is_c_fired;
	uint32_t timer_c_ms; /* 0: the layer's */
	bool is_compact_pending; /* on the layer's pending list */
	struct tx *pend_next, **pend_prev;
	uint64_t compact_j_ms; /* when its timer J ends */
	int busy;
	int last_code;
	uint32_t retr_interval;
	struct ev_timer retr, wait;
	char *req; /* request as received / sent */
	uint32_t req_len;
	char *resp; /* server: last response; client: the ACK we sent */
	uint32_t resp_len;
	tx_client_cb cb;
	void *cb_arg;
	void *user;
	tx_free_cb on_free;
	/* key, then the branch (client; empty for server), each
	 * NUL-terminated: a server transaction, most of those alive during
	 * a REGISTER storm, carries no unused branch buffer. */
	uint32_t key_len;
	char key[];
};

struct tx_done {
	struct hnode node;
	struct tx_done *fifo_next;
	uint64_t expires_ms;
	struct ipc_flow flow;
	int last_code;
	uint32_t resp_len;
	bool is_gone; /* revived: only its FIFO place is left */
	char data[]; /* key, NUL, then the response */
};

struct tx_layer {
	struct ev_loop *loop;
	struct tx_timers t;
	tx_send_fn send;
	void *send_arg;
	struct htable server, client;
	struct htable done;
	struct tx_done *done_head, **done_tail;
	struct ev_timer done_timer;
	struct tx *pend_head;
	bool has_hook; /* compaction runs (its before-sleep hook is set) */
};

static void compact_hook(struct ev_loop *loop, void *arg);

static void on_done_timer(struct ev_loop *loop, struct ev_timer *et, void *arg);
static struct tx *revive(struct tx_layer *l, struct tx_done *d, uint64_t hv);

static void destroy_now(struct tx *t);

static void
pend_unlink(struct tx *t)
{
	*t->pend_prev = t->pend_next;
	if (t->pend_next != NULL)
		t->pend_next->pend_prev = t->pend_prev;
	t->is_compact_pending = false;
}

struct tx_layer *
tx_layer_new(struct ev_loop *loop, const struct tx_timers *t, tx_send_fn send,
    void *send_arg)
{
	struct tx_layer *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->loop = loop;
	l->t = *t;
	l->send = send;
	l->send_arg = send_arg;
	if (htable_init(&l->server, 1024) < 0 ||
	    htable_init(&l->client, 1024) < 0 ||
	    htable_init(&l->done, 1024) < 0) {
		htable_free(&l->server);
		htable_free(&l->client);
		free(l);
		return NULL;
	}
	l->done_tail = &l->done_head;
	ev_timer_init(&l->done_timer, on_done_timer, l);
	/* Without a free hook slot transactions are simply not compacted. */
	l->has_hook = ev_defer_add(loop, compact_hook, l) == 0;
	return l;
}

static int
free_walk(struct hnode *n, void *arg)
{
	(void)arg;
	destroy_now(container_of(n, struct tx, node));
	return 0;
}

void
tx_layer_free(struct tx_layer *l)
{
	if (l == NULL)
		return;
	if (l->has_hook)
		ev_defer_del(l->loop, compact_hook, l);
	htable_walk(&l->server, free_walk, NULL);
	htable_walk(&l->client, free_walk, NULL);
	ev_timer_stop(l->loop, &l->done_timer);
	while (l->done_head != NULL) {
		struct tx_done *d = l->done_head;
		l->done_head = d->fifo_next;
		free(d);
	}
	htable_free(&l->server);
	htable_free(&l->client);
	htable_free(&l->done);
	free(l);
}

void
tx_layer_set_timers(struct tx_layer *l, const struct tx_timers *t)
{
	l->t = *t;
}

size_t
tx_count(const struct tx_layer *l)
{
	return l->server.count + l->client.count + l->done.count;
}

static bool
is_server(const struct tx *t)
{
	return t->kind == TX_SERVER_INVITE || t->kind == TX_SERVER_NONINVITE;
}

static void
destroy_now(struct tx *t)
{
	struct tx_layer *l = t->layer;

	ev_timer_stop(l->loop, &t->retr);
	ev_timer_stop(l->loop, &t->wait);
	if (t->is_compact_pending)
		pend_unlink(t);
	htable_remove(is_server(t) ? &l->server : &l->client, &t->node);
	if (t->on_free != NULL)
		t->on_free(t, t->user);
	free(t->req);
	free(t->resp);
	free(t);
}

void
tx_destroy(struct tx *t)
{
	if (t->busy > 0) {
		t->is_doomed = true;
		return;
	}
	destroy_now(t);
}

void
tx_detach(struct tx *t)
{
	t->is_detached = true;
	t->cb = NULL;
	t->user = NULL;
	t->on_free = NULL;
}

/* Calls the client callback; false if the transaction is gone after. */
static bool
notify(struct tx *t, int code, struct sip_msg *m)
{
	if (t->cb == NULL)
		return true;
	t->busy++;
	t->cb(t, code, m, t->cb_arg);
	t->busy--;
	if (t->is_doomed) {
		destroy_now(t);
		return false;
	}
	return true;
}

static void
send_buf(struct tx *t, const char *buf, uint32_t len)
{
	t->layer->send(t->layer->send_arg, &t->flow, buf, len);
}

static void
wait_start(struct tx *t, uint64_t ms)
{
	ev_timer_start(t->layer->loop, &t->wait, ms);
}

static void on_retr(struct ev_loop *loop, struct ev_timer *et, void *arg);
static void on_wait(struct ev_loop *loop, struct ev_timer *et, void *arg);

static struct tx *
tx_alloc(struct tx_layer *l, enum tx_kind kind, const char *key,
    const char *branch, const struct ipc_flow *flow, const char *req,
    uint32_t req_len)
{
	size_t kl = strlen(key);
	/* At most 63 characters, as the branch buffer this replaces kept. */
	size_t bl = branch != NULL ? strnlen(branch, 63) : 0;
	struct tx *t = calloc(1, sizeof(*t) + kl + 1 + bl + 1);

	if (t == NULL)
		return NULL;
	t->req = malloc(req_len + 1);
	if (t->req == NULL) {
		free(t);
		return NULL;
	}
	memcpy(t->req, req, req_len);
	t->req[req_len] = '\0';
	t->req_len = req_len;
	memcpy(t->key, key, kl + 1);
	t->key_len = (uint32_t)kl;
	if (bl > 0)
		memcpy(t->key + kl + 1, branch, bl); /* calloc'd: terminated */
	t->layer = l;
	t->kind = kind;
	t->flow = *flow;
	t->is_reliable = flow->transport != IPC_TP_UDP;
	ev_timer_init(&t->retr, on_retr, t);
	ev_timer_init(&t->wait, on_wait, t);
	return t;
}

static size_t
key_put(char *buf, size_t cap, size_t off, struct slice s)
{
	if (off + s.len + 1 > cap)
		return cap;
	if (s.len > 0)
		memcpy(buf + off, s.p, s.len);
	buf[off + s.len] = '\0';
	return off + s.len;
}

/* v in decimal, through key_put: every request builds a key, so no
 * snprintf on this path. */
static size_t
key_put_u32(char *buf, size_t cap, size_t off, uint32_t v)
{
	char d[12];
	struct wbuf w = {d, 0, 0};

	put_u32(&w, v);
	return key_put(buf, cap, off, slice_make(d, (uint32_t)w.n));
}

int
tx_server_key(
    struct sip_msg *m, enum sip_method as_method, char *buf, size_t cap)
{
	struct sip_err err;
	const struct sip_via *v = sip_msg_top_via(m, &err);
	const struct sip_cseq *cs = sip_msg_cseq(m, &err);
	enum sip_method meth =
	    as_method != SIP_M_UNKNOWN ? as_method : m->method;
	size_t off = 0;

	if (v == NULL || cs == NULL)
		return -1;
	/* An ACK belongs to its INVITE's transaction. */
	if (meth == SIP_M_ACK)
		meth = SIP_M_INVITE;
	struct slice mname = meth == SIP_M_UNKNOWN
	    ? m->method_name
	    : slice_cstr(sip_method_name(meth));
	if (v->branch.len > 7 && slice_has_prefix_nocase(v->branch, MAGIC)) {
		off = key_put(buf, cap, off, SLICE_LIT("B|"));
		off = key_put(buf, cap, off, v->branch);
		off = key_put(buf, cap, off, SLICE_LIT("|"));
		off = key_put(buf, cap, off, v->host);
		off = key_put(buf, cap, off, SLICE_LIT(":"));
		off = key_put_u32(buf, cap, off, v->port);
		off = key_put(buf, cap, off, SLICE_LIT("|"));
		off = key_put(buf, cap, off, mname);
	} else {
		/* RFC 2543: Request-URI, From tag, Call-ID, CSeq, top Via
		 * (the To tag is left out so the ACK of a non-2xx, which has
		 * ours, finds its INVITE). */
		const struct sip_nameaddr *from = sip_msg_from(m, &err);
		struct slice cid;
		if (from == NULL || sip_msg_call_id(m, &cid, &err) < 0)
			return -1;
		off = key_put(buf, cap, off, SLICE_LIT("F|"));
		off = key_put(buf, cap, off, m->ruri_text);
		off = key_put(buf, cap, off, SLICE_LIT("|"));
		off = key_put(buf, cap, off, from->tag);
		off = key_put(buf, cap, off, SLICE_LIT("|"));
		off = key_put(buf, cap, off, cid);
		off = key_put(buf, cap, off, SLICE_LIT("|"));
		off = key_put_u32(buf, cap, off, cs->num);
		off = key_put(buf, cap, off, SLICE_LIT("|"));
		off = key_put(buf, cap, off, v->raw);
		off = key_put(buf, cap, off, SLICE_LIT("|"));
		off = key_put(buf, cap, off, mname);
	}
	return off >= cap ? -1 : (int)off;
}

struct tx *
tx_server_find(struct tx_layer *l, const char *key)
{
	uint64_t hv = hash_bytes(key, strlen(key));

	for (struct hnode *h = htable_first(&l->server, hv); h != NULL;
	     h = htable_next(h, hv)) {
		struct tx *t = container_of(h, struct tx, node);
		if (strcmp(t->key, key) == 0)
			return t;
	}
	for (struct hnode *h = htable_first(&l->done, hv); h != NULL;
	     h = htable_next(h, hv)) {
		struct tx_done *d = container_of(h, struct tx_done, node);
		if (strcmp(d->data, key) == 0)
			return revive(l, d, hv);
	}
	return NULL;
}

struct tx *
tx_server_new(struct tx_layer *l, const char *key, struct sip_msg *m,
    const struct ipc_flow *flow)
{
	enum tx_kind kind =
	    m->method == SIP_M_INVITE ? TX_SERVER_INVITE : TX_SERVER_NONINVITE;
	struct tx *t = tx_alloc(l, kind, key, NULL, flow, m->buf, m->len);

	if (t == NULL)
		return NULL;
	t->state = kind == TX_SERVER_INVITE ? TX_PROCEEDING : TX_TRYING;
	htable_insert(&l->server, &t->node, hash_bytes(key, strlen(key)));
	return t;
}

bool
tx_server_absorb(struct tx *t, struct sip_msg *m)
{
	if (m->method == SIP_M_ACK) {
		if (t->kind != TX_SERVER_INVITE)
			return false;
		if (t->state == TX_COMPLETED) {
			/* Hop-by-hop ACK of our non-2xx final: stop resending,
			 * linger T4 to absorb ACK retransmissions (timer I). */
			t->state = TX_CONFIRMED;
			ev_timer_stop(t->layer->loop, &t->retr);
			wait_start(t, t->is_reliable ? 0 : t->layer->t.t4_ms);
			return true;
		}
		/* ACKs of a 2xx are end-to-end: the caller forwards them. */
		return t->state == TX_CONFIRMED;
	}
	if (t->resp != NULL &&
	    (t->state == TX_PROCEEDING || t->state == TX_COMPLETED ||
	        t->state == TX_TRYING))
		send_buf(t, t->resp, t->resp_len);
	return true;
}

void
tx_server_respond(struct tx *t, int code, const char *buf, uint32_t len)
{
	struct tx_layer *l = t->layer;

	if (t->state == TX_COMPLETED || t->state == TX_CONFIRMED ||
	    t->state == TX_ACCEPTED)
		return; /* a final response was sent already */
	char *copy = malloc(len);
	if (copy != NULL) {
		memcpy(copy, buf, len);
		free(t->resp);
		t->resp = copy;
		t->resp_len = len;
	}
	t->last_code = code;
	send_buf(t, buf, len);
	if (code < 200) {
		t->state = TX_PROCEEDING;
		return;
	}
	if (t->kind == TX_SERVER_INVITE) {
		if (code < 300) {
			/* RFC 6026: absorb INVITE retransmissions a while; the
			 * 2xx itself is resent end to end by the UAS. */
			t->state = TX_ACCEPTED;
			wait_start(t, 64ull * l->t.t1_ms);
			return;
		}
		t->state = TX_COMPLETED;
		if (!t->is_reliable) {
			t->retr_interval = l->t.t1_ms;
			ev_timer_start(l->loop, &t->retr, t->retr_interval);
		}
		wait_start(t, 64ull * l->t.t1_ms); /* timer H */
		return;
	}
	t->state = TX_COMPLETED;
	if (t->user == NULL) {
		/* Answered here (REGISTER, OPTIONS, a refusal): for timer J
		 * (32 s over UDP) it only resends its response, so the copy of
		 * the request goes now instead of 32 s later. */
		free(t->req);
		t->req = NULL;
		t->req_len = 0;
	}
	wait_start(t, t->is_reliable ? 0 : 64ull * l->t.t1_ms); /* timer J */
	if (t->user == NULL && !t->is_reliable && t->resp != NULL &&
	    l->has_hook) {
		/* Compacted before the loop sleeps (see the top). */
		t->is_compact_pending = true;
		t->compact_j_ms = ev_now_ms(l->loop) + 64ull * l->t.t1_ms;
		t->pend_next = l->pend_head;
		if (l->pend_head != NULL)
			l->pend_head->pend_prev = &t->pend_next;
		t->pend_prev = &l->pend_head;
		l->pend_head = t;
	}
}

struct tx *
tx_client_new(struct tx_layer *l, const struct ipc_flow *flow,
    enum sip_method method, const char *branch, const char *buf, uint32_t len,
    tx_client_cb cb, void *arg)
{
	char key[128];

	snprintf(key, sizeof(key), "%s|%s", branch, sip_method_name(method));
	struct tx *t = tx_alloc(l,
	    method == SIP_M_INVITE ? TX_CLIENT_INVITE : TX_CLIENT_NONINVITE,
	    key, branch, flow, buf, len);
	if (t == NULL)
		return NULL;
	t->cb = cb;
	t->cb_arg = arg;
	t->state = TX_CALLING;
	htable_insert(&l->client, &t->node, hash_bytes(key, strlen(key)));
	send_buf(t, buf, len);
	if (!t->is_reliable) {
		t->retr_interval = l->t.t1_ms;
		ev_timer_start(l->loop, &t->retr, t->retr_interval);
	}
	wait_start(t, 64ull * l->t.t1_ms); /* timer B / F */
	return t;
}

/* ACK for a non-2xx final response (§17.1.1.3): R-URI, top Via, From,
 * Call-ID, Route of the request; To of the response; CSeq number + ACK. */
static void
send_ack(struct tx *t, struct sip_msg *resp)
{
	struct arena a;
	struct sip_msg req;
	struct sip_err err;
	char *buf = NULL;

	arena_init(&a, 8192, 256 * 1024);
	if (sip_msg_parse(&req, t->req, t->req_len, &a, &err) < 0)
		goto out;
	const struct sip_hdr *via = sip_msg_hdr(&req, SIP_HDR_VIA);
	const struct sip_hdr *from = sip_msg_hdr(&req, SIP_HDR_FROM);
	const struct sip_hdr *cid = sip_msg_hdr(&req, SIP_HDR_CALL_ID);
	const struct sip_hdr *to = sip_msg_hdr(resp, SIP_HDR_TO);
	const struct sip_cseq *cs = sip_msg_cseq(&req, &err);
	const struct sip_via *tv = sip_msg_top_via(&req, &err);
	if (via == NULL || from == NULL || cid == NULL || to == NULL ||
	    cs == NULL || tv == NULL)
		goto out;
	size_t cap = 1024 + req.len;
	buf = malloc(cap);
	if (buf == NULL)
		goto out;
	int n = snprintf(buf, cap,
	    "ACK %.*s SIP/2.0\r\nVia: %.*s\r\nFrom: %.*s\r\nTo: %.*s\r\n"
	    "Call-ID: %.*s\r\nCSeq: %u ACK\r\nMax-Forwards: 70\r\n",
	    (int)req.ruri_text.len, req.ruri_text.p, (int)tv->raw.len,
	    tv->raw.p, (int)from->value.len, from->value.p, (int)to->value.len,
	    to->value.p, (int)cid->value.len, cid->value.p, cs->num);
	size_t off = (size_t)n;
	for (int i = req.first[SIP_HDR_ROUTE]; i >= 0 && off < cap;
	     i = sip_msg_hdr_next(&req, i)) {
		const struct sip_hdr *h = &req.hdrs[i];
		n = snprintf(buf + off, cap - off, "Route: %.*s\r\n",
		    (int)h->value.len, h->value.p);
		off += (size_t)n;
	}
	n = snprintf(buf + off, cap - off, "Content-Length: 0\r\n\r\n");
	off += (size_t)n;
	if (off >= cap)
		goto out;
	free(t->resp);
	t->resp = buf;
	t->resp_len = (uint32_t)off;
	buf = NULL;
	send_buf(t, t->resp, t->resp_len);
out:
	free(buf);
	arena_free(&a);
}

bool
tx_client_response(struct tx_layer *l, struct sip_msg *resp)
{
	struct sip_err err;
	const struct sip_via *v = sip_msg_top_via(resp, &err);
	const struct sip_cseq *cs = sip_msg_cseq(resp, &err);
	char key[128];

	if (v == NULL || cs == NULL || v->branch.len == 0 ||
	    v->branch.len > 100)
		return false;
	size_t kl = key_put(key, sizeof(key), 0, v->branch);
	kl = key_put(key, sizeof(key), kl, SLICE_LIT("|"));
	kl = key_put(key, sizeof(key), kl, cs->method_name);
	if (kl >= sizeof(key))
		return false; /* longer than any key of ours */
	uint64_t hv = hash_bytes(key, kl);
	struct tx *t = NULL;
	for (struct hnode *h = htable_first(&l->client, hv); h != NULL;
	     h = htable_next(h, hv)) {
		struct tx *c = container_of(h, struct tx, node);
		if (strcmp(c->key, key) == 0) {
			t = c;
			break;
		}
	}
	if (t == NULL)
		return false;
	int code = resp->status;
	if (t->state == TX_COMPLETED || t->state == TX_TERMINATED) {
		/* A retransmitted final: the INVITE's ACK again. */
		if (t->kind == TX_CLIENT_INVITE && code >= 300 &&
		    t->resp != NULL)
			send_buf(t, t->resp, t->resp_len);
		/* 2xx retransmissions go to the proxy, forwarded end to end;
		 * once it let go of us, the caller forwards them statelessly. */
		if (t->kind == TX_CLIENT_INVITE && code >= 200 && code < 300) {
			if (t->cb == NULL)
				return false;
			notify(t, code, resp);
		}
		return true;
	}
	t->last_code = code;
	if (code < 200) {
		if (t->state == TX_CALLING) {
			t->state = TX_PROCEEDING;
			if (t->kind == TX_CLIENT_INVITE)
				ev_timer_stop(l->loop, &t->retr);
			else if (!t->is_reliable)
				ev_timer_start(l->loop, &t->retr, l->t.t2_ms);
		}
		if (t->kind == TX_CLIENT_INVITE && code > 100 &&
		    !t->is_c_fired) {
			uint32_t c_ms =
			    t->timer_c_ms ? t->timer_c_ms : l->t.timer_c_ms;
			wait_start(t, c_ms); /* timer C, reset */
		}
		notify(t, code, resp);
		return true;
	}
	ev_timer_stop(l->loop, &t->retr);
	if (t->kind == TX_CLIENT_INVITE) {
		if (code < 300) {
			t->state = TX_TERMINATED;
			/* Keep it 64*T1 so 2xx retransmissions still reach the
			 * proxy (RFC 6026 Accepted). */
			wait_start(t, 64ull * l->t.t1_ms);
			notify(t, code, resp);
			return true;
		}
		t->state = TX_COMPLETED;
		send_ack(t, resp);
		wait_start(t, t->is_reliable ? 0 : 32000); /* timer D */
		notify(t, code, resp);
		return true;
	}
	t->state = TX_COMPLETED;
	wait_start(t, t->is_reliable ? 0 : l->t.t4_ms); /* timer K */
	notify(t, code, resp);
	return true;
}

/* Moves a completed server non-INVITE transaction without a user into
 * a tx_done; false (t untouched) if that allocation failed. */
static bool
compact(struct tx *t)
{
	struct tx_layer *l = t->layer;
	size_t kl = t->key_len;
	struct tx_done *d = malloc(sizeof(*d) + kl + 1 + t->resp_len);

	if (d == NULL)
		return false;
	d->fifo_next = NULL;
	d->expires_ms = t->compact_j_ms;
	d->flow = t->flow;
	d->last_code = t->last_code;
	d->resp_len = t->resp_len;
	d->is_gone = false;
	memcpy(d->data, t->key, kl + 1);
	memcpy(d->data + kl + 1, t->resp, t->resp_len);
	uint64_t hv = t->node.hv;
	destroy_now(t);
	htable_insert(&l->done, &d->node, hv);
	*l->done_tail = d;
	l->done_tail = &d->fifo_next;
	if (!l->done_timer.is_active) {
		uint64_t now = ev_now_ms(l->loop);
		ev_timer_start(l->loop, &l->done_timer,
		    d->expires_ms > now ? d->expires_ms - now : 0);
	}
	return true;
}

/* Before the loop sleeps: no caller holds the transactions answered in
 * this turn any more. One taken up since (a user set) stays whole. */
static void
compact_hook(struct ev_loop *loop, void *arg)
{
	struct tx_layer *l = arg;

	(void)loop;
	while (l->pend_head != NULL) {
		struct tx *t = l->pend_head;
		pend_unlink(t);
		if (t->user == NULL && t->on_free == NULL && t->busy == 0 &&
		    t->state == TX_COMPLETED)
			compact(t); /* out of memory: it stays whole */
	}
}

/* Timer J of the tx_done records, oldest first. */
static void
on_done_timer(struct ev_loop *loop, struct ev_timer *et, void *arg)
{
	struct tx_layer *l = arg;
	uint64_t now = ev_now_ms(loop);

	while (l->done_head != NULL && l->done_head->expires_ms <= now) {
		struct tx_done *d = l->done_head;
		l->done_head = d->fifo_next;
		if (!d->is_gone)
			htable_remove(&l->done, &d->node);
		free(d);
	}
	if (l->done_head == NULL)
		l->done_tail = &l->done_head;
	else
		ev_timer_start(loop, et, l->done_head->expires_ms - now);
}

/* A retransmission found a tx_done: a struct tx again, in Completed for
 * the rest of its timer J; NULL if out of memory (the request is then
 * handled as new, as it would be after timer J). */
static struct tx *
revive(struct tx_layer *l, struct tx_done *d, uint64_t hv)
{
	const char *key = d->data;
	const char *resp = d->data + strlen(key) + 1;
	struct tx *t = tx_alloc(
	    l, TX_SERVER_NONINVITE, key, NULL, &d->flow, resp, d->resp_len);

	if (t == NULL)
		return NULL;
	/* tx_alloc copied the response as its request: make it the
	 * response (the request copy of such a transaction is gone). */
	t->resp = t->req;
	t->resp_len = t->req_len;
	t->req = NULL;
	t->req_len = 0;
	t->state = TX_COMPLETED;
	t->last_code = d->last_code;
	htable_remove(&l->done, &d->node);
	d->is_gone = true; /* freed when its FIFO turn comes */
	htable_insert(&l->server, &t->node, hv);
	uint64_t now = ev_now_ms(l->loop);
	wait_start(t, d->expires_ms > now ? d->expires_ms - now : 0);
	return t;
}

static void
on_retr(struct ev_loop *loop, struct ev_timer *et, void *arg)
{
	struct tx *t = arg;
	struct tx_layer *l = t->layer;

	(void)et;
	switch (t->kind) {
	case TX_CLIENT_INVITE: /* timer A */
		if (t->state != TX_CALLING)
			return;
		send_buf(t, t->req, t->req_len);
		t->retr_interval *= 2;
		break;
	case TX_CLIENT_NONINVITE: /* timer E */
		if (t->state != TX_CALLING && t->state != TX_PROCEEDING)
			return;
		send_buf(t, t->req, t->req_len);
		t->retr_interval = t->state == TX_PROCEEDING
		    ? l->t.t2_ms
		    : (t->retr_interval * 2 < l->t.t2_ms ? t->retr_interval * 2
		                                         : l->t.t2_ms);
		break;
	case TX_SERVER_INVITE: /* timer G */
		if (t->state != TX_COMPLETED || t->resp == NULL)
			return;
		send_buf(t, t->resp, t->resp_len);
		t->retr_interval = t->retr_interval * 2 < l->t.t2_ms
		    ? t->retr_interval * 2
		    : l->t.t2_ms;
		break;
	default:
		return;
	}
	ev_timer_start(loop, &t->retr, t->retr_interval);
}

static void
on_wait(struct ev_loop *loop, struct ev_timer *et, void *arg)
{
	struct tx *t = arg;

	(void)loop;
	(void)et;
	switch (t->kind) {
	case TX_CLIENT_INVITE:
		if (t->state == TX_CALLING) { /* timer B */
			t->state = TX_TERMINATED;
			if (!notify(t, TX_EV_TIMEOUT, NULL))
				return;
		} else if (t->state == TX_PROCEEDING && !t->is_c_fired) {
			/* Timer C: the proxy CANCELs; the 487 ends us, or after
			 * 64*T1 more we give up with a timeout. */
			t->is_c_fired = true;
			wait_start(t, 64ull * t->layer->t.t1_ms);
			notify(t, TX_EV_TIMER_C, NULL);
			return;
		} else if (t->state == TX_PROCEEDING) {
			t->state = TX_TERMINATED;
			if (!notify(t, TX_EV_TIMEOUT, NULL))
				return;
		}
		break;
	case TX_CLIENT_NONINVITE:
		if (t->state == TX_CALLING || t->state == TX_PROCEEDING) {
			t->state = TX_TERMINATED; /* timer F */
			if (!notify(t, TX_EV_TIMEOUT, NULL))
				return;
		}
		break;
	case TX_SERVER_INVITE:
		if (t->state == TX_COMPLETED) /* timer H */
			log_debug("tx: no ACK for our %d", t->last_code);
		break;
	default:
		break;
	}
	tx_destroy(t);
}

enum tx_kind
tx_kind(const struct tx *t)
{
	return t->kind;
}

enum tx_state
tx_state(const struct tx *t)
{
	return t->state;
}

const struct ipc_flow *
tx_flow(const struct tx *t)
{
	return &t->flow;
}

int
tx_last_code(const struct tx *t)
{
	return t->last_code;
}

struct slice
tx_request(const struct tx *t)
{
	return slice_make(t->req, t->req_len);
}

const char *
tx_branch(const struct tx *t)
{
	return t->key + t->key_len + 1;
}

void
tx_set_timer_c(struct tx *t, uint32_t ms)
{
	t->timer_c_ms = ms;
}

void
tx_set_user(struct tx *t, void *user, tx_free_cb on_free)
{
	t->user = user;
	t->on_free = on_free;
}

void *
tx_user(const struct tx *t)
{
	return t->user;
}
