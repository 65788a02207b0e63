/*
 * conf_pos: a position index of a JSON text. jansson tells where a syntax
 * error is but not where a well-formed value sits, and an operator wants
 * "file:12:15: listen[1].port: ..." rather than a bare key. This scanner
 * walks the text once, tracking line and column the way jansson counts
 * them (columns in characters, 1-based), and records each value's path.
 */
#include "config.h"

#include "conf_pos.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_MAX_DEPTH 2048

struct scan {
	const char *s;
	size_t n, i;
	unsigned line, col;
	struct conf_pos *out;
	bool is_failed;
};

bool
conf_path_key(
    char *dst, size_t cap, const char *parent, const char *key, size_t keylen)
{
	size_t pl = strlen(parent);
	size_t need = pl + (pl ? 1 : 0) + keylen + 1;
	if (need > cap)
		return false;
	/* parent may alias dst */
	memmove(dst, parent, pl);
	size_t o = pl;
	if (pl)
		dst[o++] = '.';
	memcpy(dst + o, key, keylen);
	dst[o + keylen] = '\0';
	return true;
}

bool
conf_path_index(char *dst, size_t cap, const char *parent, size_t index)
{
	char tail[32];
	int tl = snprintf(tail, sizeof tail, "[%zu]", index);
	size_t pl = strlen(parent);
	if (pl + (size_t)tl + 1 > cap)
		return false;
	memmove(dst, parent, pl);
	memcpy(dst + pl, tail, (size_t)tl + 1);
	return true;
}

static void
adv(struct scan *sc)
{
	unsigned char c = (unsigned char)sc->s[sc->i++];
	if (c == '\n') {
		sc->line++;
		sc->col = 1;
	} else if ((c & 0xc0) != 0x80) {
		sc->col++;
	}
}

static void
skip_ws(struct scan *sc)
{
	while (sc->i < sc->n &&
	    (sc->s[sc->i] == ' ' || sc->s[sc->i] == '\t' ||
	        sc->s[sc->i] == '\n' || sc->s[sc->i] == '\r'))
		adv(sc);
}

static void
record(struct scan *sc, const char *path, unsigned kl, unsigned kc, unsigned l,
    unsigned c)
{
	struct conf_pos *p = sc->out;
	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 64;
		struct conf_pos_entry *nv = realloc(p->v, nc * sizeof *nv);
		if (nv == NULL) {
			sc->is_failed = true;
			return;
		}
		p->v = nv;
		p->cap = nc;
	}
	char *dup = strdup(path);
	if (dup == NULL) {
		sc->is_failed = true;
		return;
	}
	p->v[p->n++] = (struct conf_pos_entry){dup, kl, kc, l, c};
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool
read_hex4(struct scan *sc, unsigned *out)
{
	if (sc->n - sc->i < 4)
		return false;
	unsigned v = 0;
	for (int k = 0; k < 4; k++) {
		int h = hexval(sc->s[sc->i]);
		if (h < 0)
			return false;
		v = v << 4 | (unsigned)h;
		adv(sc);
	}
	*out = v;
	return true;
}

static size_t
put_utf8(char *d, unsigned cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xc0 | cp >> 6);
		d[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (char)(0xe0 | cp >> 12);
		d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		d[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | cp >> 18);
	d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	d[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	d[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string at sc->i (the opening quote). When dst is given, the decoded
 * bytes are written there (up to cap, *len says how many would be). */
static bool
scan_string(struct scan *sc, char *dst, size_t cap, size_t *len)
{
	size_t o = 0;
	char u[4];
	adv(sc); /* opening quote */
	while (sc->i < sc->n) {
		char c = sc->s[sc->i];
		if (c == '"') {
			adv(sc);
			if (len)
				*len = o;
			return true;
		}
		size_t ul = 0;
		if (c == '\\') {
			adv(sc);
			if (sc->i >= sc->n)
				return false;
			char e = sc->s[sc->i];
			adv(sc);
			switch (e) {
			case 'b':
				u[0] = '\b', ul = 1;
				break;
			case 'f':
				u[0] = '\f', ul = 1;
				break;
			case 'n':
				u[0] = '\n', ul = 1;
				break;
			case 'r':
				u[0] = '\r', ul = 1;
				break;
			case 't':
				u[0] = '\t', ul = 1;
				break;
			case 'u': {
				unsigned cp;
				if (!read_hex4(sc, &cp))
					return false;
				if (cp >= 0xd800 && cp < 0xdc00 &&
				    sc->n - sc->i >= 6 &&
				    sc->s[sc->i] == '\\' &&
				    sc->s[sc->i + 1] == 'u') {
					unsigned lo;
					adv(sc);
					adv(sc);
					if (!read_hex4(sc, &lo))
						return false;
					if (lo >= 0xdc00 && lo < 0xe000)
						cp = 0x10000 +
						    ((cp - 0xd800) << 10) +
						    (lo - 0xdc00);
				}
				ul = put_utf8(u, cp);
				break;
			}
			default:
				u[0] = e, ul = 1;
				break;
			}
		} else {
			u[0] = c;
			ul = 1;
			adv(sc);
		}
		if (dst != NULL)
			for (size_t k = 0; k < ul; k++, o++)
				if (o < cap)
					dst[o] = u[k];
	}
	return false;
}

static bool scan_value(
    struct scan *sc, char *path, int depth, unsigned kl, unsigned kc);

static bool
scan_object(struct scan *sc, char *path, int depth)
{
	size_t plen = strlen(path);
	char saved = path[0];
	char key[CONF_PATH_MAX];
	adv(sc); /* { */
	skip_ws(sc);
	if (sc->i < sc->n && sc->s[sc->i] == '}') {
		adv(sc);
		return true;
	}
	while (sc->i < sc->n) {
		skip_ws(sc);
		if (sc->i >= sc->n || sc->s[sc->i] != '"')
			return false;
		unsigned kl = sc->line, kc = sc->col;
		size_t klen;
		if (!scan_string(sc, key, sizeof key, &klen))
			return false;
		/* A path that does not fit is not indexed, nor are its
		 * children ('\x01' marks that). */
		if (saved == '\x01' || klen >= sizeof key ||
		    !conf_path_key(path, CONF_PATH_MAX, path, key, klen))
			path[0] = '\x01';
		skip_ws(sc);
		if (sc->i >= sc->n || sc->s[sc->i] != ':')
			return false;
		adv(sc);
		bool vok = scan_value(sc, path, depth + 1, kl, kc);
		path[plen] = '\0';
		path[0] = saved;
		if (!vok)
			return false;
		skip_ws(sc);
		if (sc->i >= sc->n)
			return false;
		if (sc->s[sc->i] == ',') {
			adv(sc);
			continue;
		}
		if (sc->s[sc->i] == '}') {
			adv(sc);
			return true;
		}
		return false;
	}
	return false;
}

static bool
scan_array(struct scan *sc, char *path, int depth)
{
	size_t plen = strlen(path);
	char saved = path[0];
	adv(sc); /* [ */
	skip_ws(sc);
	if (sc->i < sc->n && sc->s[sc->i] == ']') {
		adv(sc);
		return true;
	}
	for (size_t idx = 0; sc->i < sc->n; idx++) {
		skip_ws(sc);
		if (saved == '\x01' ||
		    !conf_path_index(path, CONF_PATH_MAX, path, idx))
			path[0] = '\x01';
		bool vok = scan_value(sc, path, depth + 1, 0, 0);
		path[plen] = '\0';
		path[0] = saved;
		if (!vok)
			return false;
		skip_ws(sc);
		if (sc->i >= sc->n)
			return false;
		if (sc->s[sc->i] == ',') {
			adv(sc);
			continue;
		}
		if (sc->s[sc->i] == ']') {
			adv(sc);
			return true;
		}
		return false;
	}
	return false;
}

static bool
scan_value(struct scan *sc, char *path, int depth, unsigned kl, unsigned kc)
{
	if (depth > SCAN_MAX_DEPTH || sc->is_failed)
		return false;
	skip_ws(sc);
	if (sc->i >= sc->n)
		return false;
	unsigned l = sc->line, c = sc->col;
	if (path[0] != '\x01')
		record(sc, path, kl ? kl : l, kl ? kc : c, l, c);
	char ch = sc->s[sc->i];
	if (ch == '{')
		return scan_object(sc, path, depth);
	if (ch == '[')
		return scan_array(sc, path, depth);
	if (ch == '"')
		return scan_string(sc, NULL, 0, NULL);
	size_t start = sc->i;
	while (sc->i < sc->n) {
		char x = sc->s[sc->i];
		if (x == ',' || x == '}' || x == ']' || x == ' ' || x == '\t' ||
		    x == '\n' || x == '\r')
			break;
		adv(sc);
	}
	return sc->i > start;
}

int
conf_pos_scan(struct conf_pos *p, const char *text, size_t len)
{
	struct scan sc = {.s = text, .n = len, .line = 1, .col = 1, .out = p};
	char *path = calloc(1, CONF_PATH_MAX);
	if (path == NULL)
		return -1;
	bool ok = scan_value(&sc, path, 0, 0, 0);
	free(path);
	return ok && !sc.is_failed ? 0 : -1;
}

bool
conf_pos_find(const struct conf_pos *p, const char *path, bool is_key,
    unsigned *line, unsigned *col)
{
	char buf[CONF_PATH_MAX];
	snprintf(buf, sizeof buf, "%s", path);
	for (;;) {
		for (size_t i = 0; i < p->n; i++) {
			if (strcmp(p->v[i].path, buf) == 0) {
				*line =
				    is_key ? p->v[i].key_line : p->v[i].line;
				*col = is_key ? p->v[i].key_col : p->v[i].col;
				return true;
			}
		}
		if (buf[0] == '\0')
			return false;
		/* The parent: strip the last ".key" or "[n]"; an ancestor's
		 * own position is the value, never the key. */
		is_key = false;
		char *dot = strrchr(buf, '.');
		char *br = strrchr(buf, '[');
		char *cut = dot > br ? dot : br;
		if (cut == NULL)
			buf[0] = '\0';
		else
			*cut = '\0';
	}
}

void
conf_pos_free(struct conf_pos *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].path);
	free(p->v);
	p->v = NULL;
	p->n = p->cap = 0;
}
