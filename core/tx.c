/*
 * Transaction layer. Each transaction has two embedded timers: `retr`
 * for retransmissions (A, E, G) and `wait` for the others (B, C, D, F, H,
 * I, J, K), so no timer is allocated. Callbacks into the proxy may end
 * the transaction they are called for; `busy` defers that until the
 * callback returned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "tx.h"

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
	char branch[64];
	char key[]; /* NUL-terminated */
};

struct tx_layer {
	struct ev_loop *loop;
	struct tx_timers t;
	tx_send_fn send;
	void *send_arg;
	struct htable server, client;
};

static void destroy_now(struct tx *t);

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
	    htable_init(&l->client, 1024) < 0) {
		htable_free(&l->server);
		free(l);
		return NULL;
	}
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
	htable_walk(&l->server, free_walk, NULL);
	htable_walk(&l->client, free_walk, NULL);
	htable_free(&l->server);
	htable_free(&l->client);
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
	return l->server.count + l->client.count;
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
    const struct ipc_flow *flow, const char *req, uint32_t req_len)
{
	size_t kl = strlen(key);
	struct tx *t = calloc(1, sizeof(*t) + kl + 1);

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
	t->layer = l;
	t->kind = kind;
	t->flow = *flow;
	t->is_reliable = flow->transport != IPC_TP_UDP;
	ev_timer_init(&t->retr, on_retr, t);
	ev_timer_init(&t->wait, on_wait, t);
	return t;
}

static size_t
put(char *buf, size_t cap, size_t off, struct slice s)
{
	if (off + s.len + 1 > cap)
		return cap;
	if (s.len > 0)
		memcpy(buf + off, s.p, s.len);
	buf[off + s.len] = '\0';
	return off + s.len;
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
	char port[16];

	if (v == NULL || cs == NULL)
		return -1;
	/* An ACK belongs to its INVITE's transaction. */
	if (meth == SIP_M_ACK)
		meth = SIP_M_INVITE;
	struct slice mname = meth == SIP_M_UNKNOWN
	    ? m->method_name
	    : slice_cstr(sip_method_name(meth));
	snprintf(port, sizeof(port), ":%u|", v->port);
	if (v->branch.len > 7 && slice_has_prefix_nocase(v->branch, MAGIC)) {
		off = put(buf, cap, off, SLICE_LIT("B|"));
		off = put(buf, cap, off, v->branch);
		off = put(buf, cap, off, SLICE_LIT("|"));
		off = put(buf, cap, off, v->host);
		off = put(buf, cap, off, slice_cstr(port));
		off = put(buf, cap, off, mname);
	} else {
		/* RFC 2543: Request-URI, From tag, Call-ID, CSeq, top Via
		 * (the To tag is left out so the ACK of a non-2xx, which has
		 * ours, finds its INVITE). */
		const struct sip_nameaddr *from = sip_msg_from(m, &err);
		struct slice cid;
		char num[16];
		if (from == NULL || sip_msg_call_id(m, &cid, &err) < 0)
			return -1;
		snprintf(num, sizeof(num), "|%u|", cs->num);
		off = put(buf, cap, off, SLICE_LIT("F|"));
		off = put(buf, cap, off, m->ruri_text);
		off = put(buf, cap, off, SLICE_LIT("|"));
		off = put(buf, cap, off, from->tag);
		off = put(buf, cap, off, SLICE_LIT("|"));
		off = put(buf, cap, off, cid);
		off = put(buf, cap, off, slice_cstr(num));
		off = put(buf, cap, off, v->raw);
		off = put(buf, cap, off, SLICE_LIT("|"));
		off = put(buf, cap, off, mname);
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
	return NULL;
}

struct tx *
tx_server_new(struct tx_layer *l, const char *key, struct sip_msg *m,
    const struct ipc_flow *flow)
{
	enum tx_kind kind =
	    m->method == SIP_M_INVITE ? TX_SERVER_INVITE : TX_SERVER_NONINVITE;
	struct tx *t = tx_alloc(l, kind, key, flow, m->buf, m->len);

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
	    key, flow, buf, len);
	if (t == NULL)
		return NULL;
	snprintf(t->branch, sizeof(t->branch), "%s", branch);
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
	snprintf(key, sizeof(key), "%.*s|%.*s", (int)v->branch.len, v->branch.p,
	    (int)cs->method_name.len, cs->method_name.p);
	uint64_t hv = hash_bytes(key, strlen(key));
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
		if (t->kind == TX_CLIENT_INVITE && code > 100 && !t->is_c_fired)
			wait_start(t, l->t.timer_c_ms); /* timer C, reset */
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
	return t->branch;
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
