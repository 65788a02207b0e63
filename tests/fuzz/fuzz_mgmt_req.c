/*
 * Fuzz target: the management request decoder and what portcullisd does
 * with a decoded request before it reaches a child (argument conversion
 * to ctl_rows, reply encoding). The same bytes are also read as a child's
 * ctl_rows reply and converted to JSON.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mgmt/mgmt_req.h"
#include "mgmt/rows_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mgmt_req req;
	struct mgmt_err err;
	char *line;

	if (mgmt_req_decode((const char *)data, size, &req, &err) == 0) {
		uint8_t buf[4096];
		struct ctl_rows r;
		char msg[128];
		ctl_rows_init(&r, buf, sizeof(buf));
		if (rows_json_args(req.args, &r, msg, sizeof(msg)) == 0) {
			json_t *back = rows_json_object(buf, r.len);
			if (back == NULL)
				abort(); /* our own encoding must read back */
			line = mgmt_reply_ok(back, req.id);
		} else {
			line = mgmt_reply_err("bad_arguments", msg, req.id);
		}
		mgmt_req_free(&req);
	} else {
		line = mgmt_reply_err(err.code, err.message, NULL);
	}
	if (line == NULL || strchr(line, '\n') != line + strlen(line) - 1)
		abort(); /* a reply is always exactly one line */
	free(line);

	json_t *rows = rows_json_array(data, size);
	if (rows != NULL) {
		line = mgmt_reply_ok(rows, NULL);
		if (line == NULL)
			abort();
		free(line);
	}
	return 0;
}
