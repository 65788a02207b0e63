/*
 * Bans: kernel sets when nftables is there, else a small user-space list
 * (linear, bounded: a ban flood cannot grow memory).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ban.h"
#include "ev.h"
#include "latch.h"
#include "nft.h"

struct ban_user {
	struct ipc_addr a;
	uint64_t expires_ms; /* 0 = permanent */
	uint32_t timeout_s;
};

struct ban {
	struct ev_loop *loop;
	struct nft *nft;
	uint32_t def_s, max_s;
	struct ban_user list[BAN_USER_MAX];
	size_t n;
};

struct ban *
ban_new(struct ev_loop *loop, struct nft *nft, uint32_t def_s, uint32_t max_s)
{
	struct ban *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->loop = loop;
	b->nft = nft;
	b->def_s = def_s;
	b->max_s = max_s;
	return b;
}

void
ban_free(struct ban *b)
{
	free(b);
}

static bool
addr_valid(const struct ipc_addr *a)
{
	return a->family == 4 || a->family == 6;
}

static void
user_expire(struct ban *b)
{
	uint64_t now = ev_now_ms(b->loop);

	for (size_t i = 0; i < b->n;) {
		if (b->list[i].expires_ms != 0 && b->list[i].expires_ms <= now)
			b->list[i] = b->list[--b->n];
		else
			i++;
	}
}

static struct ban_user *
user_find(struct ban *b, const struct ipc_addr *a)
{
	user_expire(b);
	for (size_t i = 0; i < b->n; i++)
		if (latch_host_eq(&b->list[i].a, a))
			return &b->list[i];
	return NULL;
}

int
ban_add(struct ban *b, const struct ipc_addr *a, uint32_t timeout_s)
{
	struct ban_user *u;

	if (!addr_valid(a))
		return -EINVAL;
	if (timeout_s == 0)
		timeout_s = b->def_s;
	if (b->max_s != 0 && (timeout_s == 0 || timeout_s > b->max_s))
		timeout_s = b->max_s;
	if (b->nft != NULL) {
		nft_batch_begin(b->nft);
		nft_ban_add(b->nft, a->family, a->addr, timeout_s);
		if (nft_batch_commit(b->nft) == 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
		/* A repeat refreshes the timeout: replace in one batch. */
		nft_batch_begin(b->nft);
		nft_ban_del(b->nft, a->family, a->addr);
		nft_ban_add(b->nft, a->family, a->addr, timeout_s);
		return nft_batch_commit(b->nft) == 0 ? 0 : -errno;
	}
	u = user_find(b, a);
	if (u == NULL) {
		if (b->n >= BAN_USER_MAX)
			return -ENOSPC;
		u = &b->list[b->n++];
		u->a = *a;
		u->a.port = 0;
	}
	u->timeout_s = timeout_s;
	u->expires_ms =
	    timeout_s ? ev_now_ms(b->loop) + (uint64_t)timeout_s * 1000 : 0;
	return 0;
}

int
ban_del(struct ban *b, const struct ipc_addr *a)
{
	struct ban_user *u;

	if (!addr_valid(a))
		return -EINVAL;
	if (b->nft != NULL) {
		nft_batch_begin(b->nft);
		nft_ban_del(b->nft, a->family, a->addr);
		return nft_batch_commit(b->nft) == 0 ? 0 : -errno;
	}
	u = user_find(b, a);
	if (u == NULL)
		return -ENOENT;
	*u = b->list[--b->n];
	return 0;
}

struct list_ctx {
	ban_list_cb cb;
	void *arg;
};

static int
kernel_cb(uint8_t family, const uint8_t *addr, uint64_t tmo_ms, uint64_t exp_ms,
    void *arg)
{
	struct list_ctx *l = arg;
	struct ipc_addr a;

	memset(&a, 0, sizeof(a));
	a.family = family;
	memcpy(a.addr, addr, family == 6 ? 16 : 4);
	l->cb(&a, tmo_ms / 1000, exp_ms / 1000, l->arg);
	return 0;
}

int
ban_list(struct ban *b, ban_list_cb cb, void *arg)
{
	struct list_ctx l = {cb, arg};
	uint64_t now;

	if (b->nft != NULL)
		return nft_ban_dump(b->nft, kernel_cb, &l) < 0 ? -errno : 0;
	user_expire(b);
	now = ev_now_ms(b->loop);
	for (size_t i = 0; i < b->n; i++)
		cb(&b->list[i].a, b->list[i].timeout_s,
		    b->list[i].expires_ms ? (b->list[i].expires_ms - now) / 1000
		                          : 0,
		    arg);
	return 0;
}

bool
ban_user_is_banned(struct ban *b, const struct ipc_addr *a)
{
	if (b->n == 0)
		return false;
	return user_find(b, a) != NULL;
}
