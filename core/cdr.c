/*
 * CDRs. Why write-behind: a synchronous SQLite commit per call would put
 * an fsync on every call's path; batches every flush tick keep the
 * records at most about a second behind and cost one fsync per batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdr.h"
#include "log.h"

#define CDR_QUEUE_MAX 100000

struct cdr {
	struct store *s;
	char *json_path;
	uint64_t keep;
	struct store_cdr *q;
	size_t n, cap;
	uint64_t written, dropped, since_trim;
};

struct cdr *
cdr_new(struct store *s, const char *json_path, uint64_t keep)
{
	struct cdr *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	d->s = s;
	d->keep = keep;
	if (json_path != NULL && json_path[0] != '\0' &&
	    (d->json_path = strdup(json_path)) == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

void
cdr_free(struct cdr *d)
{
	if (d == NULL)
		return;
	if (cdr_flush(d) < 0 && d->n > 0)
		log_warnx("cdr: %zu records could not be written", d->n);
	free(d->q);
	free(d->json_path);
	free(d);
}

void
cdr_add(struct cdr *d, const struct store_cdr *r)
{
	if (d->n == d->cap) {
		if (d->cap >= CDR_QUEUE_MAX) {
			d->dropped++;
			return;
		}
		size_t nc = d->cap ? d->cap * 2 : 64;
		struct store_cdr *nq = realloc(d->q, nc * sizeof(*nq));
		if (nq == NULL) {
			d->dropped++;
			return;
		}
		d->q = nq;
		d->cap = nc;
	}
	d->q[d->n++] = *r;
}

/* s as a JSON string literal, NUL-terminated (cut short when cap is too
 * small; cap >= 16). */
static void
json_str(char *out, size_t cap, const char *s)
{
	size_t o = 0;

	out[o++] = '"';
	for (; *s != '\0' && o + 7 < cap; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else if (ch < 0x20) {
			o += (size_t)snprintf(out + o, cap - o, "\\u%04x", ch);
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
}

int
cdr_json(const struct store_cdr *r, char *out, size_t cap)
{
	char cid[600], caller[600], callee[600], trunk[80], reason[150];

	json_str(cid, sizeof(cid), r->call_id);
	json_str(caller, sizeof(caller), r->caller);
	json_str(callee, sizeof(callee), r->callee);
	json_str(trunk, sizeof(trunk), r->trunk);
	json_str(reason, sizeof(reason), r->reason);
	int n = snprintf(out, cap,
	    "{\"call_id\":%s,\"start_ms\":%lld,\"answer_ms\":%lld,"
	    "\"end_ms\":%lld,\"duration_ms\":%lld,\"caller\":%s,"
	    "\"callee\":%s,\"trunk\":%s,\"direction\":\"%s\","
	    "\"status\":%d,\"reason\":%s}",
	    cid, (long long)r->start_ms, (long long)r->answer_ms,
	    (long long)r->end_ms, (long long)r->duration_ms, caller, callee,
	    trunk, r->direction, r->status, reason);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

int
cdr_flush(struct cdr *d)
{
	if (d->n == 0)
		return 0;
	if (store_begin(d->s) < 0)
		return -1;
	for (size_t i = 0; i < d->n; i++) {
		if (store_cdr_put(d->s, &d->q[i]) < 0) {
			store_rollback(d->s);
			return -1;
		}
	}
	d->since_trim += d->n;
	if (d->since_trim >= 1000 || d->since_trim >= d->keep) {
		store_cdr_trim(d->s, d->keep);
		d->since_trim = 0;
	}
	if (store_commit(d->s) < 0)
		return -1;
	if (d->json_path != NULL) {
		FILE *f = fopen(d->json_path, "a");
		if (f == NULL) {
			log_warn("cdr: %s", d->json_path);
		} else {
			char line[2400];
			for (size_t i = 0; i < d->n; i++)
				if (cdr_json(&d->q[i], line, sizeof(line)) > 0)
					fprintf(f, "%s\n", line);
			if (fclose(f) != 0)
				log_warn("cdr: %s", d->json_path);
		}
	}
	d->written += d->n;
	d->n = 0;
	return 0;
}

size_t
cdr_pending(const struct cdr *d)
{
	return d->n;
}

uint64_t
cdr_written(const struct cdr *d)
{
	return d->written;
}

uint64_t
cdr_dropped(const struct cdr *d)
{
	return d->dropped;
}
