/*
 * Users: HA1 computation and the first-start seeding of the user table
 * from the configuration. Why every algorithm's HA1 is stored although
 * only some are offered: enabling an algorithm later then works without
 * asking users for their passwords again.
 */
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "log.h"

const char *
users_realm(struct core *c, const char *domain)
{
	const char *r = c->conf.core.auth.realm;

	return r != NULL && r[0] != '\0' ? r : domain;
}

void
users_fill(struct core *c, struct store_user *u, const char *user,
    const char *domain, struct slice password)
{
	memset(u, 0, sizeof(*u));
	snprintf(u->user, sizeof(u->user), "%s", user);
	snprintf(u->domain, sizeof(u->domain), "%s", domain);
	snprintf(u->realm, sizeof(u->realm), "%s", users_realm(c, domain));
	for (int a = 0; a < DIGEST__COUNT; a++)
		digest_ha1((enum digest_alg)a, slice_cstr(u->user),
		    slice_cstr(u->realm), password, u->ha1[a]);
}

int
users_seed(struct core *c)
{
	char flag[8];

	if (store_meta_get(c->store, "users_seeded", flag, sizeof(flag)) == 1)
		return 0;
	if (store_begin(c->store) < 0)
		return -1;
	size_t n = 0;
	for (size_t i = 0; i < c->conf.core.nusers; i++) {
		const struct pc_core_user *cu = &c->conf.core.users[i];
		const char *domain =
		    cu->domain ? cu->domain : route_first_domain(c->route);
		struct store_user u;
		if (cu->password != NULL) {
			users_fill(
			    c, &u, cu->user, domain, slice_cstr(cu->password));
		} else {
			memset(&u, 0, sizeof(u));
			snprintf(u.user, sizeof(u.user), "%s", cu->user);
			snprintf(u.domain, sizeof(u.domain), "%s", domain);
			snprintf(u.realm, sizeof(u.realm), "%s",
			    users_realm(c, domain));
			if (cu->ha1_md5)
				snprintf(u.ha1[DIGEST_MD5], sizeof(u.ha1[0]),
				    "%s", cu->ha1_md5);
			if (cu->ha1_sha256)
				snprintf(u.ha1[DIGEST_SHA256], sizeof(u.ha1[0]),
				    "%s", cu->ha1_sha256);
		}
		u.max_calls = cu->max_calls;
		if (store_user_put(c->store, &u, true) < 0) {
			store_rollback(c->store);
			return -1;
		}
		n++;
	}
	if (store_meta_set(c->store, "users_seeded", "1") < 0 ||
	    store_commit(c->store) < 0) {
		store_rollback(c->store);
		return -1;
	}
	log_info("user table seeded with %zu users from the configuration", n);
	return 0;
}
