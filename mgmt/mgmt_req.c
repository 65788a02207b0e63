/*
 * Decoding is strict (unknown top-level keys, non-object args and odd
 * command names are refused) so that a typo in a script fails loudly
 * instead of running a different command.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgmt_req.h"

static void
set_err(struct mgmt_err *err, const char *code, const char *msg)
{
	err->code = code;
	snprintf(err->message, sizeof(err->message), "%s", msg);
}

static int
valid_cmd(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= MGMT_CMD_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		        c == '.' || c == '_'))
			return 0;
	}
	return 1;
}

int
mgmt_req_decode(
    const char *line, size_t len, struct mgmt_req *req, struct mgmt_err *err)
{
	memset(req, 0, sizeof(*req));
	json_error_t jerr;
	json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		err->code = MGMT_E_BAD_REQUEST;
		snprintf(err->message, sizeof(err->message),
		    "invalid JSON at column %d: %.100s", jerr.column,
		    jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		set_err(
		    err, MGMT_E_BAD_REQUEST, "request must be a JSON object");
		goto fail;
	}
	const char *key;
	json_t *val;
	json_object_foreach(root, key, val)
	{
		if (strcmp(key, "cmd") != 0 && strcmp(key, "args") != 0 &&
		    strcmp(key, "id") != 0) {
			err->code = MGMT_E_BAD_REQUEST;
			snprintf(err->message, sizeof(err->message),
			    "unknown key \"%.64s\" (expected cmd, args, id)",
			    key);
			goto fail;
		}
	}
	json_t *cmd = json_object_get(root, "cmd");
	if (!json_is_string(cmd)) {
		set_err(err, MGMT_E_BAD_REQUEST, "\"cmd\" must be a string");
		goto fail;
	}
	if (!valid_cmd(json_string_value(cmd))) {
		set_err(err, MGMT_E_BAD_REQUEST,
		    "\"cmd\" must be 1-47 characters of a-z, 0-9, '.', '_'");
		goto fail;
	}
	json_t *args = json_object_get(root, "args");
	if (args != NULL && !json_is_object(args) && !json_is_null(args)) {
		set_err(err, MGMT_E_BAD_REQUEST, "\"args\" must be an object");
		goto fail;
	}
	snprintf(req->cmd, sizeof(req->cmd), "%s", json_string_value(cmd));
	req->args = json_is_object(args) ? json_incref(args) : json_object();
	json_t *id = json_object_get(root, "id");
	req->id = id != NULL ? json_incref(id) : NULL;
	json_decref(root);
	if (req->args == NULL) {
		mgmt_req_free(req);
		set_err(err, "internal_error", "out of memory");
		return -1;
	}
	return 0;
fail:
	json_decref(root);
	return -1;
}

void
mgmt_req_free(struct mgmt_req *req)
{
	json_decref(req->args);
	json_decref(req->id);
	req->args = NULL;
	req->id = NULL;
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0. */
static size_t
utf8_len(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	size_t n;
	unsigned cp;
	if (c >= 0x01 && c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

json_t *
mgmt_json_string(const char *p, size_t len)
{
	if (p == NULL)
		return json_string("");
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return NULL;
	const unsigned char *u = (const unsigned char *)p;
	size_t i = 0;
	while (i < len) {
		size_t n = utf8_len(u + i, len - i);
		if (n == 0) {
			copy[i++] = '?';
			continue;
		}
		memcpy(copy + i, u + i, n);
		i += n;
	}
	json_t *s = json_stringn(copy, len);
	free(copy);
	return s;
}

static char *
finish(json_t *obj, const json_t *id)
{
	if (obj == NULL)
		return NULL;
	if (id != NULL)
		json_object_set_new(obj, "id", json_deep_copy(id));
	/* Compact, one line: embedded newlines in strings are escaped. */
	char *s = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(obj);
	if (s == NULL)
		return NULL;
	size_t n = strlen(s);
	char *line = realloc(s, n + 2);
	if (line == NULL) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	return line;
}

char *
mgmt_reply_ok(json_t *result, const json_t *id)
{
	return finish(json_pack("{s:b, s:o}", "ok", 1, "result",
	                  result != NULL ? result : json_null()),
	    id);
}

static json_t *
err_obj(const char *code, const char *message)
{
	json_t *e = json_object();
	if (e == NULL)
		return NULL;
	json_object_set_new(e, "code", mgmt_json_string(code, strlen(code)));
	json_object_set_new(
	    e, "message", mgmt_json_string(message, strlen(message)));
	json_t *o = json_object();
	if (o == NULL) {
		json_decref(e);
		return NULL;
	}
	json_object_set_new(o, "ok", json_false());
	json_object_set_new(o, "error", e);
	return o;
}

char *
mgmt_reply_err(const char *code, const char *message, const json_t *id)
{
	return finish(err_obj(code, message), id);
}

char *
mgmt_reply_err_result(
    const char *code, const char *message, json_t *result, const json_t *id)
{
	json_t *o = err_obj(code, message);
	if (o == NULL) {
		json_decref(result);
		return NULL;
	}
	json_object_set_new(o, "result", result != NULL ? result : json_null());
	return finish(o, id);
}
