/*
 * mgmt_req: the management socket's wire format. Decodes one request line
 * ({"cmd": "...", "args": {...}, "id": any}) and encodes one response line
 * ({"ok":true,"result":...} / {"ok":false,"error":{code,message}}).
 * A decoded request owns its args (json) until mgmt_req_free(); encoded
 * lines are malloc'd, newline-terminated, and owned by the caller.
 */
#ifndef PC_MGMT_REQ_H
#define PC_MGMT_REQ_H

#include <jansson.h>
#include <stddef.h>

#define MGMT_CMD_MAX 48

/* Error codes of the management protocol besides the ctl ones. */
#define MGMT_E_BAD_REQUEST "bad_request"
#define MGMT_E_TOO_LARGE "request_too_large"
#define MGMT_E_DENIED "permission_denied"
#define MGMT_E_BUSY "too_many_clients"
#define MGMT_E_TIMEOUT "timeout"
#define MGMT_E_BAD_CONFIG "invalid_config"

struct mgmt_req {
	char cmd[MGMT_CMD_MAX];
	json_t *args; /* always an object (empty when absent) */
	json_t *id; /* echoed in the reply, or NULL */
};

struct mgmt_err {
	const char *code;
	char message[160];
};

/*
 * Decodes len bytes (no trailing newline needed, any bytes accepted).
 * Returns 0, or -1 with err filled; *req is then empty (nothing to free).
 */
int mgmt_req_decode(
    const char *line, size_t len, struct mgmt_req *req, struct mgmt_err *err);
void mgmt_req_free(struct mgmt_req *req);

/* Steals result (NULL = JSON null); id is borrowed. NULL only when out of
 * memory. */
char *mgmt_reply_ok(json_t *result, const json_t *id);
char *mgmt_reply_err(const char *code, const char *message, const json_t *id);
/* An error that still carries a result (status with a process down). */
char *mgmt_reply_err_result(
    const char *code, const char *message, json_t *result, const json_t *id);

/* A JSON string from arbitrary bytes: invalid UTF-8 and NULs become '?'
 * (jansson refuses invalid UTF-8). New reference; NULL only on ENOMEM. */
json_t *mgmt_json_string(const char *p, size_t len);

#endif
