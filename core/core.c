/*
 * The core process's state: set-up in dependency order (store before
 * location, so bindings are restored before the first SIP message),
 * write-behind and expiry timers, reload and shutdown.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "core_run.h"
#include "log.h"
#include "proxy.h"

#define FLUSH_MS 500 /* bindings reach the disk at most ~1 s behind */
/* Rows per flush transaction: ~50 ms of SQLite work, so a registration
 * storm does not stall SIP processing; the rest follows at once. */
#define FLUSH_BATCH 8000
#define EXPIRE_MS 5000

int64_t
core_now_s(struct core *c)
{
	(void)c;
	return (int64_t)time(NULL);
}

int64_t
core_now_ms(struct core *c)
{
	struct timespec ts;

	(void)c;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
core_flush(struct core *c)
{
	if (c->cdr != NULL && cdr_flush(c->cdr) < 0)
		c->st.store_flush_errors++;
	if (c->store != NULL && c->loc != NULL &&
	    store_loc_flush(c->store, c->loc, 0) < 0)
		c->st.store_flush_errors++;
}

static void
flush_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct core *c = arg;

	if (store_loc_flush(c->store, c->loc, FLUSH_BATCH) < 0)
		c->st.store_flush_errors++;
	if (c->cdr != NULL && cdr_flush(c->cdr) < 0)
		c->st.store_flush_errors++;
	ev_timer_start(loop, t, loc_dirty_count(c->loc) > 0 ? 1 : FLUSH_MS);
}

static void
expire_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct core *c = arg;
	size_t n = loc_expire(c->loc, core_now_s(c));

	if (n > 0)
		log_debug("%zu registrations expired", n);
	ev_timer_start(loop, t, EXPIRE_MS);
}

static void
tx_send(void *arg, const struct ipc_flow *flow, const char *buf, uint32_t len)
{
	core_send_sip(arg, flow, buf, len);
}

static int
apply_algorithms(struct core *c, const struct pc_conf *conf)
{
	enum digest_alg algs[DIGEST__COUNT];
	int n = 0;

	for (size_t i = 0; i < conf->core.auth.nalgorithms && n < DIGEST__COUNT;
	     i++) {
		int a =
		    digest_alg_parse(slice_cstr(conf->core.auth.algorithms[i]));
		if (a < 0)
			return -1;
		algs[n++] = (enum digest_alg)a;
	}
	auth_set_algorithms(c->auth, algs, n);
	auth_set_ttl(c->auth, conf->core.auth.nonce_ttl_s);
	return 0;
}

static void
timers_of(const struct pc_conf *conf, struct tx_timers *t)
{
	t->t1_ms = conf->core.sip.t1_ms;
	t->t2_ms = conf->core.sip.t2_ms;
	t->t4_ms = conf->core.sip.t4_ms;
	t->timer_c_ms = conf->core.sip.no_answer_s * 1000u;
}

static int
ensure_dir(const char *path)
{
	if (mkdir(path, 0750) < 0 && errno != EEXIST) {
		log_warn("mkdir %s", path);
		return -1;
	}
	return 0;
}

/*
 * The nonce epoch of this start, for the edge, which mints challenges
 * for us (sbc/challenge.c). Written before core.sock listens, so an edge
 * that connects reads the current one.
 */
static int
write_epoch(struct core *c)
{
	char path[4096], tmp[4200], text[16];

	snprintf(path, sizeof(path), "%s/nonce.epoch", c->conf.runtime_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int len = snprintf(text, sizeof(text), "%08x\n", auth_epoch(c->auth));
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0 || write(fd, text, (size_t)len) != len || close(fd) < 0 ||
	    rename(tmp, path) < 0) {
		log_warn("%s", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return 0;
}

int
core_init(struct core *c, struct ev_loop *loop)
{
	char err[512], path[4096];
	uint8_t secret[AUTH_SECRET_LEN];

	c->loop = loop;
	c->listen_fd = -1;
	c->last_edge = -1;
	c->start_s = core_now_s(c);
	if (ensure_dir(c->conf.state_dir) < 0 ||
	    ensure_dir(c->conf.runtime_dir) < 0)
		return -1;
	snprintf(c->db_path, sizeof(c->db_path), "%s/portcullis.db",
	    c->conf.state_dir);
	c->store = store_open(c->db_path, err, sizeof(err));
	if (c->store == NULL) {
		log_error("store: %s", err);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/nonce.key", c->conf.state_dir);
	if (auth_secret_load(path, secret, err, sizeof(err)) < 0) {
		log_error("nonce secret: %s", err);
		return -1;
	}
	c->auth = auth_new(secret, c->conf.core.auth.nonce_ttl_s);
	explicit_bzero(secret, sizeof(secret));
	if (c->auth == NULL || write_epoch(c) < 0)
		return -1;
	c->loc = loc_new();
	c->route = route_new(&c->conf);
	c->dlg = dlg_table_new();
	struct tx_timers tt;
	timers_of(&c->conf, &tt);
	c->tx = tx_layer_new(loop, &tt, tx_send, c);
	c->proxy = proxy_new(c);
	c->trunks = c->route != NULL && c->tx != NULL ? trunks_new(c) : NULL;
	c->dp = dialplan_new(&c->conf.core);
	char cdr_path[4096];
	const char *jp = c->conf.core.cdr.json_file;
	if (jp == NULL) {
		snprintf(cdr_path, sizeof(cdr_path), "%s/cdr.jsonl",
		    c->conf.state_dir);
		jp = cdr_path;
	}
	c->cdr = cdr_new(c->store, jp, c->conf.core.cdr.keep);
	if (c->auth == NULL || c->loc == NULL || c->route == NULL ||
	    c->dlg == NULL || c->tx == NULL || c->proxy == NULL ||
	    c->trunks == NULL || c->dp == NULL || c->cdr == NULL) {
		log_error("out of memory at start");
		return -1;
	}
	if (apply_algorithms(c, &c->conf) < 0) {
		log_error("auth.algorithms: unknown algorithm");
		return -1;
	}
	long n = store_loc_load(c->store, c->loc, core_now_s(c));
	if (n < 0) {
		log_error("store: cannot restore registrations: %s",
		    store_errmsg(c->store));
		return -1;
	}
	log_info("%ld registrations restored", n);
	if (users_seed(c) < 0) {
		log_error(
		    "store: cannot seed users: %s", store_errmsg(c->store));
		return -1;
	}
	ev_timer_init(&c->flush_timer, flush_cb, c);
	ev_timer_start(loop, &c->flush_timer, FLUSH_MS);
	ev_timer_init(&c->expire_timer, expire_cb, c);
	ev_timer_start(loop, &c->expire_timer, EXPIRE_MS);
	return 0;
}

void
core_fini(struct core *c)
{
	if (c->loop != NULL) {
		ev_timer_stop(c->loop, &c->flush_timer);
		ev_timer_stop(c->loop, &c->expire_timer);
	}
	core_flush(c);
	edge_close_all(c);
	if (c->ctl != NULL) {
		ipc_chan_free(c->ctl);
		c->ctl = NULL;
	}
	proxy_free(c->proxy);
	tx_layer_free(c->tx);
	trunks_free(c->trunks);
	dialplan_free(c->dp);
	cdr_free(c->cdr);
	dlg_table_free(c->dlg);
	route_free(c->route);
	loc_free(c->loc);
	auth_free(c->auth);
	store_close(c->store);
	pcconf_free(&c->conf);
}

static bool
str_differs(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") != 0;
}

int
core_reload(struct core *c, const char *path, char *applied, size_t acap,
    char *restart, size_t rcap)
{
	struct pc_conf nc;

	memset(&nc, 0, sizeof(nc));
	if (pcconf_load(path, &nc) < 0)
		return -1;
	struct route *nr = route_new(&nc);
	struct dialplan *ndp = dialplan_new(&nc.core);
	if (nr == NULL || ndp == NULL) {
		route_free(nr);
		dialplan_free(ndp);
		pcconf_free(&nc);
		return -1;
	}
	restart[0] = '\0';
	size_t ro = 0;
	if (str_differs(nc.state_dir, c->conf.state_dir))
		ro += (size_t)snprintf(restart + ro, rcap - ro, "state_dir,");
	if (ro < rcap && str_differs(nc.runtime_dir, c->conf.runtime_dir))
		ro += (size_t)snprintf(restart + ro, rcap - ro, "runtime_dir,");
	if (ro < rcap && nc.nlisten != c->conf.nlisten)
		ro += (size_t)snprintf(restart + ro, rcap - ro, "listen,");
	if (ro > 0 && ro < rcap)
		restart[ro - 1] = '\0';
	route_free(c->route);
	c->route = nr;
	if (apply_algorithms(c, &nc) < 0) {
		log_warnx("reload: bad auth.algorithms kept the old ones");
	}
	struct tx_timers tt;
	timers_of(&nc, &tt);
	tx_layer_set_timers(c->tx, &tt);
	int lv = log_level_parse(nc.log_level ? nc.log_level : "info");
	if (lv >= 0)
		log_set_level((enum log_level)lv);
	/* Keep the paths of the running instance; take the rest. */
	char *sd = c->conf.state_dir, *rd = c->conf.runtime_dir;
	c->conf.state_dir = nc.state_dir;
	c->conf.runtime_dir = nc.runtime_dir;
	nc.state_dir = sd;
	nc.runtime_dir = rd;
	struct pc_conf old = c->conf;
	c->conf = nc;
	char *tmp = c->conf.state_dir;
	c->conf.state_dir = old.state_dir;
	old.state_dir = tmp;
	tmp = c->conf.runtime_dir;
	c->conf.runtime_dir = old.runtime_dir;
	old.runtime_dir = tmp;
	dialplan_free(c->dp);
	c->dp = ndp;
	if (trunks_apply(c->trunks, &c->conf.core) < 0)
		log_warnx("reload: out of memory applying the trunks");
	pcconf_free(&old);
	snprintf(applied, acap,
	    "domains,sip,registrar,auth,proxy,log_level,trunks,routes,groups,"
	    "call_limits");
	log_info("configuration reloaded from %s", path ? path : "(defaults)");
	return 0;
}
