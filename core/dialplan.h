/*
 * dialplan: the "routes" rules of the configuration, compiled (POSIX
 * regexes), and the number handling around them: E.164-style
 * normalisation, strip/prefix rewriting. dialplan_match() returns
 * pointers into the configuration the plan was built from; rebuild the
 * plan whenever that configuration is replaced (reload).
 */
#ifndef PC_DIALPLAN_H
#define PC_DIALPLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "pcconf_core.h"

#define DIALPLAN_NUM_MAX 64

struct dialplan;

/* NULL on allocation failure or a regex that does not compile (the
 * configuration check rejects those first). */
struct dialplan *dialplan_new(const struct pc_core_conf *cc);
void dialplan_free(struct dialplan *dp);

/*
 * The rules that apply to a call, best first (priority, then file order),
 * at most max. from_trunk: the trunk the call came in on, NULL for a call
 * from one of our users. user: the Request-URI user as dialled; number:
 * its normalised form (or the user itself when it is not a number).
 */
int dialplan_match(const struct dialplan *dp, const char *from_trunk,
    const char *user, const char *number, const struct pc_core_route **out,
    int max);

/*
 * Normalises a dialled user part: visual separators (space - . ( )) are
 * dropped, a leading "+" kept, "00" international prefix turned into
 * "+". Returns the length, or -1 when it is not a telephone number
 * (other characters, empty, too long).
 */
int dialplan_normalize(const char *in, char *out, size_t cap);

/* out = prefix + num without its first strip characters; -1 if it does
 * not fit. */
int dialplan_rewrite(
    const char *num, unsigned strip, const char *prefix, char *out, size_t cap);

#endif
