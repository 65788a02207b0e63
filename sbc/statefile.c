/*
 * Sealed state files of the edge's tables. Loading checks the whole file
 * before it stores anything, so that a malformed file adds no entry; the
 * write keeps the most recent entries that fit, oldest first, so that
 * loading them in order rebuilds the recency list.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "statefile.h"

size_t
statefile_put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return (size_t)n;
}

uint64_t
statefile_get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

size_t
statefile_put_head(
    uint8_t *p, const char *magic, uint64_t written_ms, uint32_t count)
{
	memcpy(p, magic, STATEFILE_MAGIC_LEN);
	size_t o = STATEFILE_MAGIC_LEN;
	o += statefile_put_le(p + o, written_ms, 8);
	o += statefile_put_le(p + o, count, 4);
	return o;
}

uint64_t
statefile_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
statefile_init(
    struct statefile *sf, const struct statefile_ops *ops, struct lru *lru)
{
	memset(sf, 0, sizeof *sf);
	sf->ops = ops;
	sf->lru = lru;
	sf->rl_write = (struct log_rl)LOG_RL_INIT(60000, 1);
}

void
statefile_close(struct statefile *sf)
{
	statefile_sync(sf, sf->now_ms, true);
	free(sf->path);
	sf->path = NULL;
}

/* Checks the whole file (apply false), then loads it (apply true). */
static int
parse(struct statefile *sf, const uint8_t *p, size_t n, uint64_t idle_ms,
    uint64_t now_ms, uint64_t wall, bool apply)
{
	const struct statefile_ops *ops = sf->ops;
	if (n < STATEFILE_HEAD_LEN ||
	    memcmp(p, ops->magic, STATEFILE_MAGIC_LEN) != 0)
		return -1;
	uint64_t written = statefile_get_le(p + STATEFILE_MAGIC_LEN, 8);
	uint64_t away = wall > written ? wall - written : 0;
	uint32_t count =
	    (uint32_t)statefile_get_le(p + STATEFILE_MAGIC_LEN + 8, 4);
	size_t o = STATEFILE_HEAD_LEN;
	int loaded = 0;
	for (uint32_t i = 0; i < count; i++) {
		uint64_t idle;
		size_t len = ops->get(p + o, n - o, &idle);
		if (len == 0)
			return -1;
		/* Saturated: a huge idle time must not wrap round to a
		 * young entry. */
		idle = idle > UINT64_MAX - away ? UINT64_MAX : idle + away;
		if (idle < idle_ms) {
			int rc =
			    ops->load(sf->lru, p + o, len, idle, now_ms, apply);
			if (rc < 0)
				return -1;
			loaded += rc;
		}
		o += len;
	}
	return o == n ? loaded : -1;
}

int
statefile_open(struct statefile *sf, const char *path,
    const struct token_keys *keys, uint64_t idle_ms, uint64_t now_ms, char *err,
    size_t errlen)
{
	free(sf->path);
	sf->path = strdup(path);
	if (sf->path == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	sf->keys = keys;
	sf->now_ms = sf->synced_ms = now_ms;
	uint8_t *plain;
	size_t n;
	int rc = token_file_load(
	    keys, sf->ops->label, path, sf->ops->max, &plain, &n, err, errlen);
	if (rc <= 0)
		return rc;
	uint64_t wall = statefile_wall_ms();
	rc = parse(sf, plain, n, idle_ms, now_ms, wall, false);
	if (rc == 0)
		rc = parse(sf, plain, n, idle_ms, now_ms, wall, true);
	if (rc < 0)
		snprintf(err, errlen, "%s: malformed", path);
	free(plain);
	return rc;
}

void
statefile_open_in(struct statefile *sf, const char *state_dir, const char *name,
    const struct token_keys *keys, uint64_t idle_ms, uint64_t now_ms)
{
	char path[4096], err[512];
	if (state_dir == NULL)
		return;
	snprintf(path, sizeof path, "%s/%s", state_dir, name);
	int n =
	    statefile_open(sf, path, keys, idle_ms, now_ms, err, sizeof err);
	if (n < 0)
		log_warnx("%s not restored: %s", sf->ops->what, err);
	else if (n > 0)
		log_info("%s: %d restored from %s", sf->ops->what, n, path);
}

int
statefile_sync(struct statefile *sf, uint64_t now_ms, bool force)
{
	const struct statefile_ops *ops = sf->ops;
	if (sf->path == NULL || !sf->is_dirty)
		return 0;
	if (!force && now_ms - sf->synced_ms < 1000)
		return 0;
	sf->now_ms = now_ms;
	size_t size = STATEFILE_HEAD_LEN, count = 0;
	struct lru_node *last = NULL;
	for (struct lru_node *n = sf->lru->head; n != NULL; n = n->next) {
		size_t need = ops->size(n);
		if (size + need > ops->max)
			break;
		size += need;
		count++;
		last = n;
	}
	uint8_t *p = malloc(size);
	if (p == NULL)
		return -1;
	size_t o = statefile_put_head(
	    p, ops->magic, statefile_wall_ms(), (uint32_t)count);
	for (struct lru_node *n = last; count > 0 && n != NULL; n = n->prev) {
		ops->put(
		    n, now_ms > n->seen_ms ? now_ms - n->seen_ms : 0, p + o);
		o += ops->size(n);
	}
	int rc = token_file_save(sf->keys, ops->label, sf->path, p, o);
	/* A failed write is tried again a second later. */
	sf->synced_ms = now_ms;
	if (rc != 0) {
		log_ratelimited(&sf->rl_write, LOG_LVL_WARN,
		    "%s: cannot write %s: %s", ops->what, sf->path,
		    strerror(errno));
		free(p);
		return -1;
	}
	sf->is_dirty = false;
	free(p);
	return 0;
}
