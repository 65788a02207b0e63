/*
 * tx: the SIP transaction layer (RFC 3261 §17) of core: client and server
 * transactions, INVITE and non-INVITE, with timers A-K (and the proxy's
 * timer C) on the event loop. Over UDP the retransmission timers run;
 * over TCP/TLS they don't and the wait timers are zero. Server
 * transactions are keyed by branch + sent-by + method (RFC 2543 fallback
 * when the branch lacks the magic cookie), client transactions by our
 * branch + method. A transaction copies the messages it may resend and
 * owns them; its user (the proxy) is told of events through callbacks and
 * of its end through on_free.
 */
#ifndef PC_TX_H
#define PC_TX_H

#include <stdbool.h>
#include <stdint.h>

#include "ev.h"
#include "hash.h"
#include "ipc_msgs.h"
#include "sip_msg.h"

enum tx_kind {
	TX_SERVER_INVITE,
	TX_SERVER_NONINVITE,
	TX_CLIENT_INVITE,
	TX_CLIENT_NONINVITE,
};

enum tx_state {
	TX_CALLING, /* client INVITE; non-INVITE "trying" */
	TX_TRYING, /* server non-INVITE before any response */
	TX_PROCEEDING,
	TX_COMPLETED,
	TX_CONFIRMED, /* server INVITE: ACK received */
	TX_ACCEPTED, /* server INVITE after 2xx (RFC 6026) */
	TX_TERMINATED, /* client INVITE after 2xx */
};

/* Event codes given to client callbacks besides response status codes. */
#define TX_EV_TIMEOUT (-1) /* timer B/F: no final response */
#define TX_EV_TIMER_C (-2) /* timer C: proxy should CANCEL */

struct tx;
struct tx_layer;

typedef void (*tx_send_fn)(
    void *arg, const struct ipc_flow *flow, const char *buf, uint32_t len);
/* Client transaction: a response (code >= 100, msg parsed) or an event
 * (code < 0, msg NULL). Retransmitted final responses are absorbed. */
typedef void (*tx_client_cb)(
    struct tx *t, int code, struct sip_msg *msg, void *arg);
/* Called once when a transaction is destroyed. */
typedef void (*tx_free_cb)(struct tx *t, void *arg);

struct tx_timers {
	uint32_t t1_ms, t2_ms, t4_ms;
	uint32_t timer_c_ms; /* proxy INVITE timer C (sip.no_answer_s) */
};

struct tx_layer *tx_layer_new(struct ev_loop *loop, const struct tx_timers *t,
    tx_send_fn send, void *send_arg);
/* Frees every transaction (calling their on_free). */
void tx_layer_free(struct tx_layer *l);
void tx_layer_set_timers(struct tx_layer *l, const struct tx_timers *t);
size_t tx_count(const struct tx_layer *l);

/*
 * Server side. tx_server_key() writes the matching key of a request
 * (as_method overrides the method: SIP_M_INVITE to find the INVITE of an
 * ACK or CANCEL). -1 if the request lacks what a key needs.
 */
int tx_server_key(
    struct sip_msg *m, enum sip_method as_method, char *buf, size_t cap);
struct tx *tx_server_find(struct tx_layer *l, const char *key);
/* Creates a server transaction for request m received on flow. */
struct tx *tx_server_new(struct tx_layer *l, const char *key, struct sip_msg *m,
    const struct ipc_flow *flow);
/*
 * The request was seen again: resends the last response if any. For an
 * ACK matching an INVITE transaction in Completed: moves to Confirmed.
 * Returns true when the message was absorbed.
 */
bool tx_server_absorb(struct tx *t, struct sip_msg *m);
/* Sends response text (a copy is kept for retransmissions) and moves the
 * state machine. */
void tx_server_respond(struct tx *t, int code, const char *buf, uint32_t len);

/*
 * Client side. Sends request (copied) on flow with our branch; the
 * response matching branch + CSeq method goes to cb.
 */
struct tx *tx_client_new(struct tx_layer *l, const struct ipc_flow *flow,
    enum sip_method method, const char *branch, const char *buf, uint32_t len,
    tx_client_cb cb, void *arg);
/* A response from outside: finds its client transaction and runs it.
 * Returns false when none matched (the caller may forward statelessly). */
bool tx_client_response(struct tx_layer *l, struct sip_msg *resp);

/* Accessors and user data. */
enum tx_kind tx_kind(const struct tx *t);
enum tx_state tx_state(const struct tx *t);
const struct ipc_flow *tx_flow(const struct tx *t);
int tx_last_code(const struct tx *t);
/* The request as sent or received (client: as sent). Empty for a server
 * non-INVITE transaction that got its final response without a user. */
struct slice tx_request(const struct tx *t);
const char *tx_branch(const struct tx *t);
void tx_set_user(struct tx *t, void *user, tx_free_cb on_free);
/* Timer C of this client INVITE transaction (restarted by each
 * provisional response above 100) instead of the layer's; 0 = the
 * layer's. */
void tx_set_timer_c(struct tx *t, uint32_t ms);
void *tx_user(const struct tx *t);
/* The user no longer needs it: client callbacks stop; the transaction
 * still finishes its timers (absorbing retransmissions). */
void tx_detach(struct tx *t);
/* Ends the transaction at once (e.g. the proxy gave up). */
void tx_destroy(struct tx *t);

#endif
