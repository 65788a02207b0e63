/*
 * conf: JSON configuration bound to C structs through field tables.
 *
 * Every field takes the file's value or, when the key is absent, its
 * default parsed from JSON text with the very same code, so defaults and
 * the file can never disagree on meaning. Problems are collected with the
 * key path they concern and only at the end turned into
 * "file:line:column: path: problem" lines (conf_pos scans the text then,
 * and only then), sorted by position, so an operator fixes a whole file in
 * one pass.
 */
#include "config.h"

#include "conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf_pos.h"

#define CONF_FILE_MAX (16u << 20)
#define CONF_ERR_KEEP 1024
#define CONF_MSG_MAX 512

struct cerr {
	char *path;
	char *msg;
	bool is_key;
	unsigned line, col;
	size_t seq;
};

struct ctx {
	struct cerr *v;
	size_t n, cap;
	size_t dropped;
	bool is_oom;
};

static void add_err(struct ctx *c, const char *path, bool is_key,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
add_err(struct ctx *c, const char *path, bool is_key, const char *fmt, ...)
{
	if (c->n >= CONF_ERR_KEEP) {
		c->dropped++;
		return;
	}
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 16;
		struct cerr *nv = realloc(c->v, nc * sizeof *nv);
		if (nv == NULL) {
			c->dropped++;
			c->is_oom = true;
			return;
		}
		c->v = nv;
		c->cap = nc;
	}
	char msg[CONF_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	struct cerr *e = &c->v[c->n];
	e->path = strdup(path);
	e->msg = strdup(msg);
	if (e->path == NULL || e->msg == NULL) {
		free(e->path);
		free(e->msg);
		c->dropped++;
		c->is_oom = true;
		return;
	}
	e->is_key = is_key;
	e->line = e->col = 0;
	e->seq = c->n;
	c->n++;
}

/* A value from the file quoted for a message: escaped, and cut short. */
static const char *
quote(const char *s, size_t len, char *buf, size_t cap)
{
	size_t o = 0;
	const size_t max_shown = 48;
	buf[o++] = '"';
	for (size_t i = 0; i < len && o + 8 < cap; i++) {
		if (i == max_shown) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			o += (size_t)snprintf(buf + o, cap - o, "\\u%04x", ch);
		} else {
			buf[o++] = (char)ch;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static const char *
json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction";
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_NULL:
		return "null";
	}
	return "a value";
}

static void
enum_list(const struct conf_field *f, char *buf, size_t cap)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; f->enum_names && f->enum_names[i]; i++) {
		int w = snprintf(buf + o, cap - o, "%s\"%s\"", i ? ", " : "",
		    f->enum_names[i]);
		if (w < 0 || (size_t)w >= cap - o)
			break;
		o += (size_t)w;
	}
}

static const char *
type_desc(const struct conf_field *f)
{
	switch (f->type) {
	case CONF_BOOL:
		return "true or false";
	case CONF_INT:
	case CONF_UINT:
		return "an integer";
	case CONF_STR:
		return "a string";
	case CONF_ENUM:
		return "a string";
	case CONF_STR_ARRAY:
		return "an array of strings";
	case CONF_PORT_RANGE:
		return "a [low, high] port range";
	case CONF_ADDR:
		return "an IP address string";
	case CONF_CIDR_ARRAY:
		return "an array of addresses or CIDR blocks";
	case CONF_OBJECT:
		return "an object";
	case CONF_OBJ_ARRAY:
		return "an array of objects";
	case CONF_INLINE:
		return "keys";
	}
	return "a value";
}

static bool
type_error(struct ctx *c, const struct conf_field *f, const json_t *v,
    const char *path)
{
	add_err(
	    c, path, false, "must be %s, not %s", type_desc(f), json_kind(v));
	return false;
}

static bool
def_is_null(const struct conf_field *f)
{
	return f->def == NULL || strcmp(f->def, "null") == 0;
}

/* A field without a default: an empty object or array, else null. */
static const char *
def_text(const struct conf_field *f)
{
	if (f->def != NULL)
		return f->def;
	switch (f->type) {
	case CONF_OBJECT:
		return "{}";
	case CONF_STR_ARRAY:
	case CONF_CIDR_ARRAY:
	case CONF_OBJ_ARRAY:
		return "[]";
	default:
		return "null";
	}
}

static bool
is_addr(const char *s)
{
	unsigned char b[16];
	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* NULL if text is an address or a CIDR block with no host bits set, else
 * the problem (written into buf). */
static const char *
cidr_problem(const char *s, char *buf, size_t cap)
{
	char q[128], host[64];
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	if (hl == 0 || hl >= sizeof host)
		goto bad;
	memcpy(host, s, hl);
	host[hl] = '\0';
	unsigned char a[16];
	int fam, bits;
	if (inet_pton(AF_INET, host, a) == 1) {
		fam = AF_INET;
		bits = 32;
	} else if (inet_pton(AF_INET6, host, a) == 1) {
		fam = AF_INET6;
		bits = 128;
	} else {
		goto bad;
	}
	int plen = bits;
	if (slash) {
		const char *p = slash + 1;
		if (*p == '\0' || strlen(p) > 3)
			goto bad;
		plen = 0;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				goto bad;
			plen = plen * 10 + (*p - '0');
		}
		if (plen > bits)
			goto bad;
	}
	bool has_host_bits = false;
	for (int i = plen; i < bits; i++) {
		if (a[i / 8] & (0x80 >> (i % 8))) {
			has_host_bits = true;
			a[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
		}
	}
	if (has_host_bits) {
		char net[64];
		inet_ntop(fam, a, net, sizeof net);
		snprintf(buf, cap,
		    "%s has host bits set (did you mean \"%s/%d\"?)",
		    quote(s, strlen(s), q, sizeof q), net, plen);
		return buf;
	}
	return NULL;
bad:
	snprintf(buf, cap, "%s is not an IP address or CIDR block",
	    quote(s, strlen(s), q, sizeof q));
	return buf;
}

static void bind_table(struct ctx *c, const struct conf_table *t,
    const json_t *obj, void *base, const char *path, bool check_unknown);

static size_t *
count_ptr(const struct conf_field *f, void *base)
{
	return (size_t *)(void *)((char *)base + f->count_offset);
}

static bool
check_len(struct ctx *c, const struct conf_field *f, size_t n, const char *path)
{
	if (f->min > 0 && n < (uint64_t)f->min) {
		add_err(c, path, false, "must have at least %lld element%s",
		    (long long)f->min, f->min == 1 ? "" : "s");
		return false;
	}
	if (f->max > 0 && n > (uint64_t)f->max) {
		add_err(c, path, false, "must have at most %lld element%s",
		    (long long)f->max, f->max == 1 ? "" : "s");
		return false;
	}
	return true;
}

static bool
bind_str_array(struct ctx *c, const struct conf_field *f, const json_t *v,
    void *base, const char *path, bool is_cidr)
{
	if (!json_is_array(v))
		return type_error(c, f, v, path);
	size_t n = json_array_size(v);
	if (!check_len(c, f, n, path))
		return false;
	bool ok = true;
	char ep[CONF_PATH_MAX], buf[256];
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(v, i);
		if (!conf_path_index(ep, sizeof ep, path, i))
			snprintf(ep, sizeof ep, "%s", path);
		if (!json_is_string(e)) {
			add_err(c, ep, false, "must be a string, not %s",
			    json_kind(e));
			ok = false;
			continue;
		}
		const char *p;
		if (is_cidr &&
		    (p = cidr_problem(json_string_value(e), buf, sizeof buf))) {
			add_err(c, ep, false, "%s", p);
			ok = false;
		}
	}
	if (!ok)
		return false;
	char **arr = calloc(n ? n : 1, sizeof *arr);
	if (arr == NULL) {
		c->is_oom = true;
		return false;
	}
	*(char ***)((char *)base + f->offset) = arr;
	for (size_t i = 0; i < n; i++) {
		arr[i] = strdup(json_string_value(json_array_get(v, i)));
		if (arr[i] == NULL) {
			c->is_oom = true;
			*count_ptr(f, base) = i;
			return false;
		}
	}
	*count_ptr(f, base) = n;
	return true;
}

static bool
bind_int(struct ctx *c, const struct conf_field *f, const json_t *v, void *ptr,
    const char *path)
{
	if (!json_is_integer(v))
		return type_error(c, f, v, path);
	long long val = json_integer_value(v);
	long long lo, hi;
	bool has_bounds = f->min != 0 || f->max != 0;
	if (f->type == CONF_UINT) {
		lo = has_bounds && f->min > 0 ? f->min : 0;
		hi = has_bounds && f->max < (int64_t)UINT32_MAX ? f->max
		                                                : UINT32_MAX;
	} else {
		lo = has_bounds ? f->min : INT64_MIN;
		hi = has_bounds ? f->max : INT64_MAX;
	}
	if (val < lo || val > hi) {
		add_err(c, path, false,
		    "must be between %lld and %lld, not %lld", lo, hi, val);
		return false;
	}
	if (f->type == CONF_UINT)
		*(uint32_t *)ptr = (uint32_t)val;
	else
		*(int64_t *)ptr = val;
	return true;
}

static bool
bind_field(struct ctx *c, const struct conf_field *f, const json_t *v,
    void *base, const char *path)
{
	void *ptr = (char *)base + f->offset;
	char q[128];

	switch (f->type) {
	case CONF_BOOL:
		if (!json_is_boolean(v))
			return type_error(c, f, v, path);
		*(bool *)ptr = json_is_true(v);
		return true;
	case CONF_INT:
	case CONF_UINT:
		return bind_int(c, f, v, ptr, path);
	case CONF_STR:
	case CONF_ADDR:
		if (json_is_null(v) && def_is_null(f)) {
			*(char **)ptr = NULL;
			return true;
		}
		if (!json_is_string(v))
			return type_error(c, f, v, path);
		if (f->type == CONF_ADDR && !is_addr(json_string_value(v))) {
			add_err(c, path, false,
			    "must be an IPv4 or IPv6 address, not %s",
			    quote(json_string_value(v), json_string_length(v),
			        q, sizeof q));
			return false;
		}
		if ((*(char **)ptr = strdup(json_string_value(v))) == NULL) {
			c->is_oom = true;
			return false;
		}
		return true;
	case CONF_ENUM: {
		char list[256];
		enum_list(f, list, sizeof list);
		if (!json_is_string(v)) {
			add_err(c, path, false, "must be one of %s, not %s",
			    list, json_kind(v));
			return false;
		}
		for (int i = 0; f->enum_names && f->enum_names[i]; i++) {
			if (strcmp(f->enum_names[i], json_string_value(v)) ==
			    0) {
				*(int *)ptr = i;
				return true;
			}
		}
		add_err(c, path, false, "must be one of %s, not %s", list,
		    quote(json_string_value(v), json_string_length(v), q,
		        sizeof q));
		return false;
	}
	case CONF_STR_ARRAY:
		return bind_str_array(c, f, v, base, path, false);
	case CONF_CIDR_ARRAY:
		return bind_str_array(c, f, v, base, path, true);
	case CONF_PORT_RANGE: {
		if (!json_is_array(v) || json_array_size(v) != 2 ||
		    !json_is_integer(json_array_get(v, 0)) ||
		    !json_is_integer(json_array_get(v, 1))) {
			add_err(c, path, false,
			    "must be a [low, high] pair of port numbers");
			return false;
		}
		long long lo = json_integer_value(json_array_get(v, 0));
		long long hi = json_integer_value(json_array_get(v, 1));
		long long min = f->min > 0 ? f->min : 1;
		long long max = f->max > 0 && f->max < 65535 ? f->max : 65535;
		if (lo < min || hi > max || lo > hi) {
			add_err(c, path, false,
			    "must be a range within %lld..%lld with low <= "
			    "high, not [%lld, %lld]",
			    min, max, lo, hi);
			return false;
		}
		uint16_t *pr = ptr;
		pr[0] = (uint16_t)lo;
		pr[1] = (uint16_t)hi;
		return true;
	}
	case CONF_OBJECT: {
		if (!json_is_object(v))
			return type_error(c, f, v, path);
		size_t before = c->n + c->dropped;
		bind_table(c, f->sub, v, ptr, path, true);
		/* A field check must not see a half-bound object. */
		return c->n + c->dropped == before;
	}
	case CONF_OBJ_ARRAY: {
		if (!json_is_array(v))
			return type_error(c, f, v, path);
		size_t n = json_array_size(v);
		if (!check_len(c, f, n, path))
			return false;
		char *arr = calloc(n ? n : 1, f->sub->size);
		if (arr == NULL) {
			c->is_oom = true;
			return false;
		}
		*(void **)ptr = arr;
		*count_ptr(f, base) = n;
		size_t before = c->n + c->dropped;
		char ep[CONF_PATH_MAX];
		for (size_t i = 0; i < n; i++) {
			const json_t *e = json_array_get(v, i);
			if (!conf_path_index(ep, sizeof ep, path, i))
				snprintf(ep, sizeof ep, "%s", path);
			if (!json_is_object(e)) {
				add_err(c, ep, false,
				    "must be an object, not %s", json_kind(e));
				continue;
			}
			bind_table(
			    c, f->sub, e, arr + i * f->sub->size, ep, true);
		}
		return c->n + c->dropped == before;
	}
	case CONF_INLINE:
		return true;
	}
	return false;
}

static bool
table_has_key(const struct conf_table *t, const char *key)
{
	for (size_t i = 0; i < t->nfields; i++) {
		const struct conf_field *f = &t->fields[i];
		if (f->type == CONF_INLINE) {
			if (f->sub && table_has_key(f->sub, key))
				return true;
		} else if (f->key && strcmp(f->key, key) == 0) {
			return true;
		}
	}
	return false;
}

static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return 99;
	size_t row[65];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = diag + cost;
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static void
closest_key(const struct conf_table *t, const char *key, const char **best,
    size_t *bestd)
{
	for (size_t i = 0; i < t->nfields; i++) {
		const struct conf_field *f = &t->fields[i];
		if (f->type == CONF_INLINE) {
			if (f->sub)
				closest_key(f->sub, key, best, bestd);
			continue;
		}
		if (f->key == NULL)
			continue;
		size_t d = edit_distance(key, f->key);
		if (d < *bestd) {
			*bestd = d;
			*best = f->key;
		}
	}
}

static void
bind_table(struct ctx *c, const struct conf_table *t, const json_t *obj,
    void *base, const char *path, bool check_unknown)
{
	size_t errs_before = c->n + c->dropped;
	char fpath[CONF_PATH_MAX];

	for (size_t i = 0; i < t->nfields; i++) {
		const struct conf_field *f = &t->fields[i];
		if (f->type == CONF_INLINE) {
			if (f->sub)
				bind_table(c, f->sub, obj,
				    (char *)base + f->offset, path, false);
			continue;
		}
		if (f->key == NULL)
			continue;
		if (!conf_path_key(
		        fpath, sizeof fpath, path, f->key, strlen(f->key)))
			snprintf(fpath, sizeof fpath, "%s", path);
		const json_t *v = obj ? json_object_get(obj, f->key) : NULL;
		bool is_present = v != NULL;
		json_t *dv = NULL;
		if (!is_present) {
			json_error_t je;
			dv = json_loads(def_text(f), JSON_DECODE_ANY, &je);
			if (dv == NULL) {
				add_err(c, fpath, false,
				    "invalid built-in default %s", f->def);
				continue;
			}
			v = dv;
		}
		bool ok = bind_field(c, f, v, base, fpath);
		if (ok && is_present && f->check) {
			char buf[CONF_MSG_MAX];
			const char *p =
			    f->check((char *)base + f->offset, buf, sizeof buf);
			if (p)
				add_err(c, fpath, false, "%s", p);
		}
		json_decref(dv);
	}

	if (check_unknown && obj) {
		const char *key;
		json_t *val;
		json_object_foreach((json_t *)obj, key, val)
		{
			if (table_has_key(t, key))
				continue;
			if (!conf_path_key(
			        fpath, sizeof fpath, path, key, strlen(key)))
				snprintf(fpath, sizeof fpath, "%s", path);
			const char *best = NULL;
			size_t bestd = 99;
			closest_key(t, key, &best, &bestd);
			if (best && bestd <= 2 && strlen(key) > bestd + 1)
				add_err(c, fpath, true,
				    "unknown key (did you mean \"%s\"?)", best);
			else
				add_err(c, fpath, true, "unknown key");
		}
	}

	/* A cross-check on fields that failed would only add noise. */
	if (t->check && c->n + c->dropped == errs_before) {
		char buf[CONF_MSG_MAX];
		const char *p = t->check(base, buf, sizeof buf);
		if (p)
			add_err(c, path, false, "%s", p);
	}
}

void
conf_free(const struct conf_table *t, void *obj)
{
	if (t == NULL || obj == NULL)
		return;
	for (size_t i = 0; i < t->nfields; i++) {
		const struct conf_field *f = &t->fields[i];
		void *ptr = (char *)obj + f->offset;
		switch (f->type) {
		case CONF_STR:
		case CONF_ADDR:
			free(*(char **)ptr);
			*(char **)ptr = NULL;
			break;
		case CONF_STR_ARRAY:
		case CONF_CIDR_ARRAY: {
			char **arr = *(char ***)ptr;
			size_t *n = count_ptr(f, obj);
			for (size_t k = 0; arr && k < *n; k++)
				free(arr[k]);
			free(arr);
			*(char ***)ptr = NULL;
			*n = 0;
			break;
		}
		case CONF_OBJECT:
		case CONF_INLINE:
			if (f->sub)
				conf_free(f->sub, ptr);
			break;
		case CONF_OBJ_ARRAY: {
			char *arr = *(char **)ptr;
			size_t *n = count_ptr(f, obj);
			for (size_t k = 0; arr && k < *n; k++)
				conf_free(f->sub, arr + k * f->sub->size);
			free(arr);
			*(void **)ptr = NULL;
			*n = 0;
			break;
		}
		default:
			break;
		}
	}
}

static int
cerr_cmp(const void *a, const void *b)
{
	const struct cerr *x = a, *y = b;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void errs_push(struct conf_errors *errs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
errs_push(struct conf_errors *errs, const char *fmt, ...)
{
	if (errs->n >= CONF_MAX_ERRORS) {
		errs->dropped++;
		return;
	}
	char *m = NULL;
	va_list ap;
	va_start(ap, fmt);
	int rc = vasprintf(&m, fmt, ap);
	va_end(ap);
	if (rc < 0) {
		errs->dropped++;
		return;
	}
	errs->msg[errs->n++] = m;
}

static void
ctx_finish(struct ctx *c, const char *name, const char *text, size_t len,
    struct conf_errors *errs)
{
	struct conf_pos pos = {0};
	conf_pos_scan(&pos, text, len);
	for (size_t i = 0; i < c->n; i++) {
		unsigned l = 1, col = 1;
		conf_pos_find(&pos, c->v[i].path, c->v[i].is_key, &l, &col);
		c->v[i].line = l;
		c->v[i].col = col;
	}
	conf_pos_free(&pos);
	if (c->n > 1)
		qsort(c->v, c->n, sizeof *c->v, cerr_cmp);
	for (size_t i = 0; i < c->n; i++) {
		struct cerr *e = &c->v[i];
		if (e->path[0])
			errs_push(errs, "%s:%u:%u: %s: %s", name, e->line,
			    e->col, e->path, e->msg);
		else
			errs_push(errs, "%s:%u:%u: %s", name, e->line, e->col,
			    e->msg);
	}
	if (c->is_oom)
		errs_push(errs, "%s: out of memory", name);
	errs->dropped += c->dropped;
}

static void
ctx_free(struct ctx *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].path);
		free(c->v[i].msg);
	}
	free(c->v);
}

int
conf_load_string(const char *text, size_t len, const char *name,
    const struct conf_table *root, void *out, struct conf_errors *errs)
{
	memset(errs, 0, sizeof *errs);
	memset(out, 0, root->size);
	if (name == NULL)
		name = "(config)";

	json_error_t je;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL) {
		errs_push(errs, "%s:%d:%d: %s", name, je.line > 0 ? je.line : 1,
		    je.column > 0 ? je.column : 1, je.text);
		return -1;
	}
	struct ctx c = {0};
	if (!json_is_object(j))
		add_err(&c, "", false,
		    "the configuration must be a JSON object, not %s",
		    json_kind(j));
	else
		bind_table(&c, root, j, out, "", true);
	json_decref(j);

	if (c.n == 0 && c.dropped == 0 && !c.is_oom) {
		ctx_free(&c);
		return 0;
	}
	ctx_finish(&c, name, text, len, errs);
	ctx_free(&c);
	conf_free(root, out);
	memset(out, 0, root->size);
	return -1;
}

int
conf_load_file(const char *path, const struct conf_table *root, void *out,
    struct conf_errors *errs)
{
	memset(errs, 0, sizeof *errs);
	memset(out, 0, root->size);
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		errs_push(errs, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)CONF_FILE_MAX) {
		errs_push(errs, "%s: not a regular file of at most %u bytes",
		    path, CONF_FILE_MAX);
		fclose(f);
		return -1;
	}
	size_t cap = (size_t)st.st_size + 1;
	char *buf = malloc(cap);
	if (buf == NULL) {
		fclose(f);
		errs_push(errs, "%s: out of memory", path);
		return -1;
	}
	size_t n = fread(buf, 1, cap, f);
	bool is_err = ferror(f) || n >= cap;
	fclose(f);
	if (is_err) {
		free(buf);
		errs_push(
		    errs, "%s: cannot read (or it changed while read)", path);
		return -1;
	}
	int rc = conf_load_string(buf, n, path, root, out, errs);
	free(buf);
	return rc;
}

void
conf_errors_print(const struct conf_errors *errs, FILE *out)
{
	for (size_t i = 0; i < errs->n; i++)
		fprintf(out, "%s\n", errs->msg[i]);
	if (errs->dropped)
		fprintf(out, "(%zu more errors not shown)\n", errs->dropped);
}

void
conf_errors_free(struct conf_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		free(errs->msg[i]);
	errs->n = 0;
	errs->dropped = 0;
}

/* ---- the effective configuration as JSON ---- */

static bool
is_secret_key(const char *key)
{
	size_t n = strlen(key);
	return (n >= 8 && strcmp(key + n - 8, "password") == 0) ||
	    (n >= 6 && strcmp(key + n - 6, "secret") == 0);
}

static json_t *
str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static void
dump_table(const struct conf_table *t, const void *obj, json_t *o)
{
	for (size_t i = 0; i < t->nfields; i++) {
		const struct conf_field *f = &t->fields[i];
		const char *ptr = (const char *)obj + f->offset;
		json_t *v = NULL;
		switch (f->type) {
		case CONF_BOOL:
			v = json_boolean(*(const bool *)ptr);
			break;
		case CONF_INT:
			v = json_integer(*(const int64_t *)ptr);
			break;
		case CONF_UINT:
			v = json_integer(*(const uint32_t *)ptr);
			break;
		case CONF_STR:
		case CONF_ADDR: {
			const char *s = *(char *const *)ptr;
			v = s && is_secret_key(f->key) ? json_string("********")
			                               : str_or_null(s);
			break;
		}
		case CONF_ENUM: {
			int k = *(const int *)ptr;
			v = f->enum_names ? json_string(f->enum_names[k])
			                  : json_integer(k);
			break;
		}
		case CONF_STR_ARRAY:
		case CONF_CIDR_ARRAY: {
			char *const *arr = *(char **const *)ptr;
			size_t n = *(const size_t *)((const char *)obj +
			    f->count_offset);
			v = json_array();
			for (size_t k = 0; k < n; k++)
				json_array_append_new(v, json_string(arr[k]));
			break;
		}
		case CONF_PORT_RANGE: {
			const uint16_t *pr =
			    (const uint16_t *)(const void *)ptr;
			v = json_pack("[ii]", pr[0], pr[1]);
			break;
		}
		case CONF_OBJECT:
			v = json_object();
			dump_table(f->sub, ptr, v);
			break;
		case CONF_OBJ_ARRAY: {
			const char *arr = *(char *const *)ptr;
			size_t n = *(const size_t *)((const char *)obj +
			    f->count_offset);
			v = json_array();
			for (size_t k = 0; k < n; k++) {
				json_t *e = json_object();
				dump_table(f->sub, arr + k * f->sub->size, e);
				json_array_append_new(v, e);
			}
			break;
		}
		case CONF_INLINE:
			if (f->sub)
				dump_table(f->sub, ptr, o);
			continue;
		}
		if (f->key && v)
			json_object_set_new(o, f->key, v);
		else
			json_decref(v);
	}
}

char *
conf_dump_json(const struct conf_table *root, const void *obj)
{
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	dump_table(root, obj, o);
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

/* ---- reference documentation ---- */

static void
doc_type(const struct conf_field *f, char *buf, size_t cap)
{
	char list[256];
	switch (f->type) {
	case CONF_BOOL:
		snprintf(buf, cap, "boolean");
		break;
	case CONF_INT:
	case CONF_UINT:
		if (f->min || f->max)
			snprintf(buf, cap, "integer %lld..%lld",
			    (long long)f->min, (long long)f->max);
		else
			snprintf(buf, cap, "integer");
		break;
	case CONF_STR:
		snprintf(buf, cap, "string");
		break;
	case CONF_ENUM:
		enum_list(f, list, sizeof list);
		snprintf(buf, cap, "one of %s", list);
		break;
	case CONF_STR_ARRAY:
		snprintf(buf, cap, "array of strings");
		break;
	case CONF_PORT_RANGE:
		snprintf(buf, cap, "[low, high] ports");
		break;
	case CONF_ADDR:
		snprintf(buf, cap, "IP address");
		break;
	case CONF_CIDR_ARRAY:
		snprintf(buf, cap, "array of addresses/CIDR blocks");
		break;
	case CONF_OBJECT:
		snprintf(buf, cap, "object (%s)", f->sub->name);
		break;
	case CONF_OBJ_ARRAY:
		snprintf(buf, cap, "array of objects (%s)", f->sub->name);
		break;
	case CONF_INLINE:
		snprintf(buf, cap, "section");
		break;
	}
}

/* Writes s for roff: backslashes doubled as \e, a leading dot or quote
 * guarded. */
static void
roff_put(FILE *out, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", out);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-')
			fputs("\\-", out);
		else if (*s == '\n')
			fputs(" ", out);
		else
			fputc(*s, out);
	}
}

static void
md_put(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", out);
		else if (*s == '\n')
			fputc(' ', out);
		else
			fputc(*s, out);
	}
}

static void doc_table(
    const struct conf_table *t, const char *path, bool roff, FILE *out);

static void
doc_fields(const struct conf_table *t, bool roff, FILE *out)
{
	char type[320];
	for (size_t i = 0; i < t->nfields; i++) {
		const struct conf_field *f = &t->fields[i];
		if (f->type == CONF_INLINE || f->key == NULL)
			continue;
		doc_type(f, type, sizeof type);
		const char *def = def_text(f);
		const char *doc = f->doc ? f->doc : "";
		if (roff) {
			fputs(".TP\n.B ", out);
			roff_put(out, f->key);
			fputs("\n", out);
			roff_put(out, type);
			fputs("; default ", out);
			roff_put(out, def);
			fputs(".\n", out);
			roff_put(out, doc);
			fputs("\n", out);
		} else {
			fputs("| `", out);
			md_put(out, f->key);
			fputs("` | ", out);
			md_put(out, type);
			fputs(" | `", out);
			md_put(out, def);
			fputs("` | ", out);
			md_put(out, doc);
			fputs(" |\n", out);
		}
	}
}

static void
doc_heading(const char *title, bool roff, FILE *out)
{
	if (roff) {
		fputs(".SS \"", out);
		roff_put(out, title);
		fputs("\"\n", out);
	} else {
		fprintf(out,
		    "\n## %s\n\n| key | type | default | meaning |\n"
		    "|---|---|---|---|\n",
		    title);
	}
}

static void
doc_table(const struct conf_table *t, const char *path, bool roff, FILE *out)
{
	char title[CONF_PATH_MAX + 64];
	if (path[0])
		snprintf(title, sizeof title, "%s", path);
	else
		snprintf(title, sizeof title, "top level (%s)", t->name);
	doc_heading(title, roff, out);
	doc_fields(t, roff, out);

	char sub[CONF_PATH_MAX];
	for (size_t i = 0; i < t->nfields; i++) {
		const struct conf_field *f = &t->fields[i];
		if (f->type == CONF_INLINE && f->sub && f->sub->nfields > 0) {
			snprintf(title, sizeof title,
			    "top level, section of %s", f->sub->name);
			doc_heading(title, roff, out);
			doc_fields(f->sub, roff, out);
			/* Its nested objects, documented under their keys. */
			for (size_t k = 0; k < f->sub->nfields; k++) {
				const struct conf_field *g = &f->sub->fields[k];
				if ((g->type == CONF_OBJECT ||
				        g->type == CONF_OBJ_ARRAY) &&
				    g->key) {
					conf_path_key(sub, sizeof sub, path,
					    g->key, strlen(g->key));
					if (g->type == CONF_OBJ_ARRAY)
						strncat(sub, "[]",
						    sizeof sub - strlen(sub) -
						        1);
					doc_table(g->sub, sub, roff, out);
				}
			}
		} else if ((f->type == CONF_OBJECT ||
		               f->type == CONF_OBJ_ARRAY) &&
		    f->key) {
			conf_path_key(
			    sub, sizeof sub, path, f->key, strlen(f->key));
			if (f->type == CONF_OBJ_ARRAY)
				strncat(
				    sub, "[]", sizeof sub - strlen(sub) - 1);
			doc_table(f->sub, sub, roff, out);
		}
	}
}

void
conf_write_doc(const struct conf_table *root, bool roff, FILE *out)
{
	/* Subsections only: the caller's page owns the section heading. */
	doc_table(root, "", roff, out);
}

bool
conf_host_name_valid(const char *s, bool trailing_dot)
{
	size_t n = strlen(s), label = 0;

	if (trailing_dot && n > 1 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		bool ok = (ch >= 'a' && ch <= 'z') ||
		    (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    (ch == '-' && label > 0) || ch == '_';
		if (!ok || ++label > 63)
			return false;
	}
	return label > 0 && s[n - 1] != '-';
}
