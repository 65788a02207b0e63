/*
 * The relay's journal. Text, one call per line, so an operator can read it
 * and a torn last line (a crash mid-write) is simply skipped:
 *   C <call-id hex> <tag0 hex> <tag1 hex> <nstreams> {stream}...
 *     stream: <index> <flags> <kernel0> <kernel1> {leg}{leg}
 *     leg:    <port> <nat> <has_sdp> <sdp0> <sdp1> <peer0> <peer1>
 *             <ssrc0> <ssrc1>   (latched SSRCs: a re-latch must match)
 *     addr:   <family>,<hex>,<port>
 *   D <call-id hex>
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hash.h"
#include "log.h"
#include "state.h"
#include "stream.h"

#define LINE_MAX_ 16384
#define COMPACT_BYTES (8u << 20)

struct state {
	char path[512];
	int fd;
	char *buf;
	size_t len, cap;
	size_t file_bytes;
	/* Calls whose line is due at the next flush (rcall.dirty_idx). */
	struct rcall **dirty;
	size_t ndirty, dirty_cap;
};

struct state *
state_open(const char *dir, char *err, size_t errlen)
{
	struct state *st = calloc(1, sizeof(*st));
	struct stat sb;

	if (st == NULL)
		return NULL;
	snprintf(st->path, sizeof(st->path), "%s/relay-streams.journal", dir);
	mkdir(dir, 0750);
	st->fd =
	    open(st->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (st->fd < 0) {
		snprintf(err, errlen, "state: opening %s: %s", st->path,
		    strerror(errno));
		free(st);
		return NULL;
	}
	if (fstat(st->fd, &sb) == 0)
		st->file_bytes = (size_t)sb.st_size;
	st->cap = 1 << 16;
	st->buf = malloc(st->cap);
	if (st->buf == NULL) {
		close(st->fd);
		free(st);
		return NULL;
	}
	return st;
}

void
state_close(struct state *st)
{
	if (st == NULL)
		return;
	close(st->fd);
	for (size_t i = 0; i < st->ndirty; i++)
		st->dirty[i]->dirty_idx = 0;
	free(st->dirty);
	free(st->buf);
	free(st);
}

static size_t
put_hex(char *o, size_t cap, const char *s)
{
	static const char hx[] = "0123456789abcdef";
	size_t n = 0;

	if (*s == '\0') {
		if (cap > 1)
			o[n++] = '-';
		return n;
	}
	for (; *s != '\0' && n + 2 < cap; s++) {
		o[n++] = hx[(uint8_t)*s >> 4];
		o[n++] = hx[(uint8_t)*s & 15];
	}
	return n;
}

/* sep then v in decimal; the caller leaves room (at most 11 bytes).
 * snprintf here was a tenth of a kernel-mode call set-up. */
static size_t
put_uint(char *o, char sep, uint32_t v)
{
	char t[10];
	size_t n = 0, k = 0;

	o[n++] = sep;
	do
		t[k++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (k > 0)
		o[n++] = t[--k];
	return n;
}

/* At most 48 bytes. */
static size_t
put_addr(char *o, const struct ipc_addr *a)
{
	static const char hx[] = "0123456789abcdef";
	size_t n, al = a->family == 6 ? 16 : a->family == 4 ? 4 : 0;

	n = put_uint(o, ' ', a->family);
	o[n++] = ',';
	for (size_t i = 0; i < al; i++) {
		o[n++] = hx[a->addr[i] >> 4];
		o[n++] = hx[a->addr[i] & 15];
	}
	if (al == 0)
		o[n++] = '-';
	n += put_uint(o + n, ',', a->port);
	return n;
}

size_t
state_encode_call(const struct rcall *c, char *o, size_t cap)
{
	size_t n = 0;

	/* Bounded: ids and tags hex-encoded (<= 2 * 383 bytes), then per
	 * stream 4 numbers and two legs of 3 numbers, 4 addresses and 2
	 * SSRCs: under 8192 for IPC_MEDIA_MAX_STREAMS streams. */
	_Static_assert(2 * (256 + 64 + 64) + 12 +
	            IPC_MEDIA_MAX_STREAMS *
	                (4 * 11 + 2 * (3 * 11 + 4 * 48 + 2 * 11)) <
	        8192,
	    "journal line bound");
	if (cap < 8192)
		return 0;
	o[n++] = 'C';
	o[n++] = ' ';
	n += put_hex(o + n, cap - n, c->call_id);
	o[n++] = ' ';
	n += put_hex(o + n, cap - n, c->tag[0]);
	o[n++] = ' ';
	n += put_hex(o + n, cap - n, c->tag[1]);
	n += put_uint(o + n, ' ', c->ns);
	for (int i = 0; i < c->ns; i++) {
		const struct rstream *s = c->s[i];

		n += put_uint(o + n, ' ', s->index);
		n += put_uint(o + n, ' ', s->flags);
		n += put_uint(o + n, ' ', s->is_kernel[0]);
		n += put_uint(o + n, ' ', s->is_kernel[1]);
		for (int l = 0; l < 2; l++) {
			const struct rleg *g = &s->leg[l];

			n += put_uint(o + n, ' ', g->port);
			n += put_uint(o + n, ' ', g->is_nat);
			n += put_uint(o + n, ' ', g->has_sdp);
			n += put_addr(o + n, &g->sdp[0]);
			n += put_addr(o + n, &g->sdp[1]);
			n += put_addr(o + n, &g->lat[0].peer);
			n += put_addr(o + n, &g->lat[1].peer);
			n += put_uint(o + n, ' ', g->lat[0].ssrc);
			n += put_uint(o + n, ' ', g->lat[1].ssrc);
		}
	}
	if (n + 1 >= cap)
		return 0;
	o[n++] = '\n';
	return n;
}

/* ---- decoding (input may be damaged: every field is checked) ---- */

struct rd {
	const char *p, *end;
	bool failed;
};

/* The next space-separated token. */
static bool
tok(struct rd *r, const char **s, size_t *n)
{
	while (r->p < r->end && *r->p == ' ')
		r->p++;
	*s = r->p;
	while (r->p < r->end && *r->p != ' ' && *r->p != '\n')
		r->p++;
	*n = (size_t)(r->p - *s);
	if (*n == 0)
		r->failed = true;
	return *n != 0;
}

static int
hexv(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

static bool
get_hexstr(struct rd *r, char *dst, size_t cap, bool is_empty_ok)
{
	const char *s;
	size_t n, k = 0;

	if (!tok(r, &s, &n))
		return false;
	if (n == 1 && s[0] == '-') {
		dst[0] = '\0';
		return is_empty_ok || (r->failed = true, false);
	}
	if (n % 2 || n / 2 >= cap) {
		r->failed = true;
		return false;
	}
	for (size_t i = 0; i < n; i += 2) {
		int a = hexv(s[i]), b = hexv(s[i + 1]);

		if (a < 0 || b < 0 || (a == 0 && b == 0)) {
			r->failed = true;
			return false;
		}
		dst[k++] = (char)(a << 4 | b);
	}
	dst[k] = '\0';
	return true;
}

static bool
get_uint(struct rd *r, unsigned long max, unsigned long *v)
{
	const char *s;
	size_t n;
	unsigned long x = 0;

	if (!tok(r, &s, &n) || n > 10) {
		r->failed = true;
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') {
			r->failed = true;
			return false;
		}
		x = x * 10 + (unsigned long)(s[i] - '0');
	}
	if (x > max) {
		r->failed = true;
		return false;
	}
	*v = x;
	return true;
}

static bool
get_addr(struct rd *r, struct ipc_addr *a)
{
	const char *s;
	size_t n, al, i = 2, k = 0;
	unsigned long port = 0;

	memset(a, 0, sizeof(*a));
	if (!tok(r, &s, &n) || n < 5 || s[1] != ',') {
		r->failed = true;
		return false;
	}
	a->family = (uint8_t)(s[0] - '0');
	al = a->family == 6 ? 16 : a->family == 4 ? 4 : 0;
	if (a->family != 0 && al == 0) {
		r->failed = true;
		return false;
	}
	if (al == 0) {
		if (s[2] != '-')
			return !(r->failed = true);
		i = 3;
	} else {
		for (; k < al; k++, i += 2) {
			int x, y;

			if (i + 1 >= n)
				return !(r->failed = true);
			x = hexv(s[i]);
			y = hexv(s[i + 1]);
			if (x < 0 || y < 0)
				return !(r->failed = true);
			a->addr[k] = (uint8_t)(x << 4 | y);
		}
	}
	if (i >= n || s[i] != ',' || i + 1 >= n || n - i - 1 > 5)
		return !(r->failed = true);
	for (i++; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return !(r->failed = true);
		port = port * 10 + (unsigned long)(s[i] - '0');
	}
	if (port > 65535)
		return !(r->failed = true);
	a->port = (uint16_t)port;
	return true;
}

static void
free_call(struct rcall *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < IPC_MEDIA_MAX_STREAMS; i++)
		free(c->s[i]);
	free(c);
}

struct rcall *
state_decode_call(const char *line, size_t len)
{
	struct rd r = {line, line + len, false};
	struct rcall *c;
	unsigned long ns, v;

	if (len < 2 || line[0] != 'C' || line[1] != ' ')
		return NULL;
	r.p += 2;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	if (!get_hexstr(&r, c->call_id, sizeof(c->call_id), false) ||
	    !get_hexstr(&r, c->tag[0], sizeof(c->tag[0]), true) ||
	    !get_hexstr(&r, c->tag[1], sizeof(c->tag[1]), true) ||
	    !get_uint(&r, IPC_MEDIA_MAX_STREAMS, &ns))
		goto bad;
	for (unsigned long i = 0; i < ns; i++) {
		struct rstream *s = calloc(1, sizeof(*s));

		if (s == NULL)
			goto bad;
		c->s[c->ns++] = s;
		s->call = c;
		if (!get_uint(&r, 255, &v))
			goto bad;
		s->index = (uint8_t)v;
		if (!get_uint(&r, 255, &v))
			goto bad;
		s->flags = (uint8_t)v;
		for (int k = 0; k < 2; k++) {
			if (!get_uint(&r, 1, &v))
				goto bad;
			s->is_kernel[k] = v;
		}
		for (int l = 0; l < 2; l++) {
			struct rleg *g = &s->leg[l];

			g->fd[0] = g->fd[1] = -1;
			if (!get_uint(&r, 65534, &v) || v == 0 || v % 2)
				goto bad;
			g->port = (uint16_t)v;
			if (!get_uint(&r, 1, &v))
				goto bad;
			g->is_nat = v;
			if (!get_uint(&r, 1, &v))
				goto bad;
			g->has_sdp = v;
			if (!get_addr(&r, &g->sdp[0]) ||
			    !get_addr(&r, &g->sdp[1]) ||
			    !get_addr(&r, &g->lat[0].peer) ||
			    !get_addr(&r, &g->lat[1].peer))
				goto bad;
			for (int k = 0; k < 2; k++) {
				if (!get_uint(&r, UINT32_MAX, &v))
					goto bad;
				g->lat[k].ssrc = (uint32_t)v;
			}
		}
	}
	while (r.p < r.end && (*r.p == ' ' || *r.p == '\n'))
		r.p++;
	if (r.failed || r.p != r.end)
		goto bad;
	return c;
bad:
	free_call(c);
	return NULL;
}

static void
append(struct state *st, const char *p, size_t n)
{
	if (st->len + n > st->cap) {
		size_t cap = st->cap * 2;
		char *b;

		while (cap < st->len + n)
			cap *= 2;
		b = realloc(st->buf, cap);
		if (b == NULL) {
			log_warnx("state: out of memory; journal line lost");
			return;
		}
		st->buf = b;
		st->cap = cap;
	}
	memcpy(st->buf + st->len, p, n);
	st->len += n;
}

static void
save_now(struct state *st, const struct rcall *c)
{
	char line[LINE_MAX_];
	size_t n = state_encode_call(c, line, sizeof(line));

	if (n > 0)
		append(st, line, n);
}

/* A set-up changes its call three or four times in one loop iteration
 * (offer, each component programmed, answer): it is encoded once, at the
 * flush. */
void
state_save_call(struct state *st, struct rcall *c)
{
	if (c->dirty_idx != 0)
		return;
	if (st->ndirty == st->dirty_cap) {
		size_t cap = st->dirty_cap ? st->dirty_cap * 2 : 256;
		struct rcall **d = realloc(st->dirty, cap * sizeof(*d));

		if (d == NULL) {
			save_now(st, c);
			return;
		}
		st->dirty = d;
		st->dirty_cap = cap;
	}
	st->dirty[st->ndirty++] = c;
	c->dirty_idx = (uint32_t)st->ndirty;
}

void
state_forget_call(struct state *st, struct rcall *c)
{
	size_t i;

	if (st == NULL || c->dirty_idx == 0)
		return;
	i = c->dirty_idx - 1;
	st->dirty[i] = st->dirty[--st->ndirty];
	if (i < st->ndirty)
		st->dirty[i]->dirty_idx = (uint32_t)i + 1;
	c->dirty_idx = 0;
}

void
state_drop_call(struct state *st, struct rcall *c)
{
	char line[600];
	size_t n = 2;

	state_forget_call(st, c);
	line[0] = 'D';
	line[1] = ' ';
	n += put_hex(line + n, sizeof(line) - n - 1, c->call_id);
	line[n++] = '\n';
	append(st, line, n);
}

int
state_flush(struct state *st, struct relay *r)
{
	size_t off = 0;

	for (size_t i = 0; i < st->ndirty; i++) {
		save_now(st, st->dirty[i]);
		st->dirty[i]->dirty_idx = 0;
	}
	st->ndirty = 0;
	while (off < st->len) {
		ssize_t w = write(st->fd, st->buf + off, st->len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			log_warn("state: writing %s", st->path);
			st->len = 0;
			return -1;
		}
		off += (size_t)w;
	}
	st->file_bytes += st->len;
	st->len = 0;
	if (r != NULL && st->file_bytes > COMPACT_BYTES &&
	    st->file_bytes > 4 * 1024 * (r->ncalls + 1))
		return state_compact(st, r);
	return 0;
}

struct compact_ctx {
	FILE *f;
	bool failed;
};

static void
compact_one(struct rcall *c, void *arg)
{
	struct compact_ctx *x = arg;
	char line[LINE_MAX_];
	size_t n = state_encode_call(c, line, sizeof(line));

	if (n > 0 && fwrite(line, 1, n, x->f) != n)
		x->failed = true;
}

int
state_compact(struct state *st, struct relay *r)
{
	char tmp[600];
	struct compact_ctx x = {NULL, false};
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", st->path);
	x.f = fopen(tmp, "we");
	if (x.f == NULL) {
		log_warn("state: writing %s", tmp);
		return -1;
	}
	relay_call_walk(r, compact_one, &x);
	if (fclose(x.f) != 0 || x.failed || rename(tmp, st->path) < 0) {
		log_warn("state: compacting %s", st->path);
		unlink(tmp);
		return -1;
	}
	fd = open(st->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -1;
	close(st->fd);
	st->fd = fd;
	st->file_bytes = (size_t)lseek(fd, 0, SEEK_END);
	st->len = 0;
	return 0;
}

/* Replay keeps the last line of each call in a small hash table. */
struct live {
	struct hnode node;
	struct rcall *c;
};

static struct live *
live_find(struct htable *t, const char *id, uint64_t hv)
{
	for (struct hnode *n = htable_first(t, hv); n != NULL;
	     n = htable_next(n, hv)) {
		struct live *l = container_of(n, struct live, node);

		if (strcmp(l->c->call_id, id) == 0)
			return l;
	}
	return NULL;
}

struct emit_ctx {
	struct htable *t;
	state_call_cb cb;
	void *arg;
	int n;
};

static int
emit(struct hnode *n, void *arg)
{
	struct emit_ctx *e = arg;
	struct live *l = container_of(n, struct live, node);

	htable_remove(e->t, n);
	e->cb(l->c, e->arg);
	e->n++;
	free(l);
	return 0;
}

int
state_load(struct state *st, state_call_cb cb, void *arg)
{
	FILE *f = fopen(st->path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	struct htable t;
	struct emit_ctx e = {&t, cb, arg, 0};
	size_t bad = 0;

	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	if (htable_init(&t, 256) < 0) {
		fclose(f);
		return -1;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		char id[256];
		struct rcall *c = NULL;
		struct live *l;
		uint64_t hv;

		if (line[0] == 'C') {
			c = state_decode_call(line, (size_t)n);
			if (c == NULL) {
				bad++;
				continue;
			}
			snprintf(id, sizeof(id), "%s", c->call_id);
		} else if (line[0] == 'D' && n > 2) {
			struct rd r = {line + 2, line + n, false};

			if (!get_hexstr(&r, id, sizeof(id), false)) {
				bad++;
				continue;
			}
		} else {
			bad++;
			continue;
		}
		hv = hash_bytes(id, strlen(id));
		l = live_find(&t, id, hv);
		if (l != NULL) {
			htable_remove(&t, &l->node);
			free_call(l->c);
			free(l);
		}
		if (c != NULL) {
			l = calloc(1, sizeof(*l));
			if (l == NULL) {
				free_call(c);
				continue;
			}
			l->c = c;
			htable_insert(&t, &l->node, hv);
		}
	}
	free(line);
	fclose(f);
	if (bad > 0)
		log_warnx("state: %zu unreadable journal lines skipped", bad);
	htable_walk(&t, emit, &e);
	htable_free(&t);
	return e.n;
}

/* ---- restart recovery ---- */

struct recover {
	struct relay *r;
	bool table_kept;
	int restored, lost;
	uint8_t *seen; /* per port of the range: verdict seen in pvmap */
	uint8_t *seen_q; /* per port: a pqmap element for its quad */
	uint8_t *has_kf; /* per port: dmap entry claimed */
};

static void
restore_cb(struct rcall *c, void *arg)
{
	struct recover *x = arg;

	for (int i = 0; i < c->ns; i++)
		for (int k = 0; k < 2; k++)
			if (!x->r->is_kernel || !x->table_kept)
				c->s[i]->is_kernel[k] = false;
	if (!relay_call_restore(x->r, c)) {
		log_warnx(
		    "state: call %s not restored (ports taken)", c->call_id);
		free_call(c);
		x->lost++;
		return;
	}
	x->restored++;
}

static int
fwd_claim(const struct nft_fwd *f, void *arg)
{
	struct recover *x = arg;
	struct relay *r = x->r;
	struct rsock *k;
	struct rstream *s;
	struct nft_fwd g = *f;
	size_t al = f->family == 6 ? 16 : 4;

	if (!port_in_range(&r->pool, f->relay_port) ||
	    f->family != r->addr.family)
		goto orphan;
	k = &r->socks[f->relay_port - r->pool.lo];
	s = k->s;
	if (s == NULL || !s->is_kernel[k->comp] ||
	    (uint16_t)(s->leg[k->leg].port + k->comp) != f->relay_port)
		goto orphan;
	memcpy(g.out, r->addr.addr, al);
	g.out_port = (uint16_t)(s->leg[!k->leg].port + k->comp);
	s->kf[k->comp][k->leg] = g;
	x->has_kf[f->relay_port - r->pool.lo] = 1;
	return 0;
orphan:
	nft_fwd_del(r->nft, f);
	return 0;
}

static int
port_claim(uint16_t port, bool is_drop, void *arg)
{
	struct recover *x = arg;
	struct relay *r = x->r;
	struct rsock *k;

	if (!port_in_range(&r->pool, port)) {
		nft_port_del(r->nft, port);
		return 0;
	}
	k = &r->socks[port - r->pool.lo];
	if (k->s == NULL) {
		nft_port_del(r->nft, port);
		return 0;
	}
	x->seen[port - r->pool.lo] = is_drop ? 2 : 1;
	return 0;
}

static int
quad_claim(uint16_t port, bool is_drop, void *arg)
{
	struct recover *x = arg;
	struct relay *r = x->r;
	struct rstream *s;

	(void)is_drop;
	if (!port_in_range(&r->pool, port) || (port & 3) != 0) {
		nft_quad_del(r->nft, port);
		return 0;
	}
	s = r->socks[port - r->pool.lo].s;
	/* Only a stream whose legs are this quad's two pairs owns it. */
	if (s == NULL || !stream_is_quad(s) || (s->leg[0].port & ~3u) != port) {
		nft_quad_del(r->nft, port);
		return 0;
	}
	x->seen_q[port - r->pool.lo] = 1;
	return 0;
}

static void
settle_stream(struct recover *x, struct rstream *s)
{
	struct relay *r = x->r;

	for (int k = 0; k < 2; k++) {
		bool ok = s->is_kernel[k];

		for (int l = 0; l < 2; l++)
			ok = ok && x->has_kf[s->leg[l].port + k - r->pool.lo];
		if (s->is_kernel[k] && !ok) {
			/* Half a stream in the kernel: drop what is there;
			 * user space latches it again. */
			for (int l = 0; l < 2; l++)
				if (x->has_kf[s->leg[l].port + k - r->pool.lo])
					nft_fwd_del(r->nft, &s->kf[k][l]);
			s->is_kernel[k] = false;
		}
	}
	/* One accept element per pair user space must hear, or one for
	 * both pairs of a quad (as verdict_sync() in stream.c). */
	uint16_t q = (uint16_t)(s->leg[0].port & ~3u);
	bool is_quad = stream_is_quad(s) && port_in_range(&r->pool, q);
	bool have_q = is_quad && x->seen_q[q - r->pool.lo];
	uint8_t want = 0;

	for (int l = 0; l < 2; l++)
		if (stream_leg_open(s, l, s->is_kernel))
			want |= (uint8_t)(1u << l);
	bool want_q = is_quad && want == 3;
	if (have_q && !want_q)
		nft_quad_del(r->nft, q);
	if (want_q && !have_q)
		nft_quad_add(r->nft, q);
	for (int l = 0; l < 2; l++) {
		uint16_t p = s->leg[l].port;
		bool is_open = want & (1u << l);
		bool want_p = !want_q && is_open;
		uint8_t have = x->seen[p - r->pool.lo];
		bool was_open = have_q || have == 1;

		s->is_vdrop[l][0] = s->is_vdrop[l][1] = !is_open;
		if (have != (want_p ? 1 : 0)) {
			if (have != 0)
				nft_port_del(r->nft, p);
			if (want_p)
				nft_port_add(r->nft, p, false);
		}
		s->vopen = (uint8_t)(is_open ? s->vopen | (1u << l)
		                             : s->vopen & ~(1u << l));
		if (was_open != is_open)
			stream_leg_sync(r, s, l);
	}
}

static void
settle_call(struct rcall *c, void *arg)
{
	for (int i = 0; i < c->ns; i++)
		settle_stream(arg, c->s[i]);
}

int
state_recover(struct state *st, struct relay *r, bool table_kept)
{
	struct recover x = {r, table_kept, 0, 0, NULL, NULL, NULL};
	size_t nports = (size_t)r->pool.hi - r->pool.lo + 1;

	if (st != NULL && state_load(st, restore_cb, &x) < 0)
		log_warn("state: reading the journal");
	if (r->is_kernel && r->nft != NULL) {
		x.seen = calloc(nports, 1);
		x.has_kf = calloc(nports, 1);
		x.seen_q = calloc(nports, 1);
		if (x.seen == NULL || x.has_kf == NULL || x.seen_q == NULL)
			fatalx("state: out of memory");
		nft_batch_begin(r->nft);
		if (nft_fwd_dump(r->nft, fwd_claim, &x) < 0 ||
		    nft_port_dump(r->nft, port_claim, &x) < 0 ||
		    nft_quad_dump(r->nft, quad_claim, &x) < 0)
			log_warn("nft: reading the table back");
		relay_call_walk(r, settle_call, &x);
		if (nft_batch_commit(r->nft) < 0)
			log_warn("nft: reconciling the table with the journal");
		free(x.seen);
		free(x.seen_q);
		free(x.has_kf);
	}
	if (x.restored > 0 || x.lost > 0)
		log_info(
		    "state: %d calls restored, %d lost", x.restored, x.lost);
	return x.restored;
}
