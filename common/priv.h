/*
 * priv: dropping root after the sockets are bound (DESIGN §10). A process
 * switches to the configured user and group, keeps only the capabilities
 * it names (relay: CAP_NET_ADMIN; the others: none) and sets
 * PR_SET_NO_NEW_PRIVS. Nothing is allocated for the caller.
 */
#ifndef PC_PRIV_H
#define PC_PRIV_H

#include <stddef.h>

/*
 * Becomes user:group (group NULL = the user's primary group) with only
 * the supplementary group `group`, keeping the capabilities keep_caps[0..
 * ncaps) (CAP_* numbers from linux/capability.h) effective and permitted
 * and dropping every other one from the bounding set. Returns 0 on success
 * and also, doing nothing, when not running as root (a developer running a
 * daemon by hand). Returns -1 with the reason in err when the user or
 * group does not exist, a capability number is invalid, or any step fails
 * (the process must then exit: it may be half-switched).
 */
int priv_drop(const char *user, const char *group, const int *keep_caps,
    size_t ncaps, char *err, size_t errlen);

/*
 * Before priv_drop(): gives the files a process made as root (sockets,
 * databases, keys, directories) to user:group so it can still use them
 * afterwards and its siblings (same account) can connect. Missing paths
 * and NULL entries are skipped; does nothing when not root or when the
 * user does not exist. Failures are logged, not fatal.
 */
void priv_hand_over(const char *user, const char *group,
    const char *const *paths, size_t npaths);

#endif
