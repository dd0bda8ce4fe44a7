/*
 * auth_verify - password checks for every service that logs users in
 * (POP3 now, SMTP AUTH later), kept off the event loop: the slow hash runs
 * on a small worker pool and the answer comes back on the loop. A bounded
 * cache of recent successes (auth_cache) spares polling clients a hash per
 * login; a failure table (auth_penalty) slows down guessing per address.
 *
 * A missing account costs exactly what a wrong password costs: the worker
 * verifies against a dummy hash, and nothing is cached for it.
 */
#ifndef POSTERN_AUTH_VERIFY_H
#define POSTERN_AUTH_VERIFY_H

#include <stdbool.h>

#include "auth/users.h"

#define AUTH_VERIFY_THREADS 2
#define AUTH_CACHE_ENTRIES 4096
#define AUTH_CACHE_TTL 3600 /* seconds */
#define AUTH_PENALTY_ENTRIES 1024

struct event_base;
struct auth;

/* The answer of auth_verify_password: ok is 1 when the password matches. */
typedef void auth_verify_cb(void *arg, int ok);

/* auth_new - the worker pool, cache and failure table; callbacks run on base. */
struct auth *auth_new(struct event_base *base);

/* auth_free - finish the checks in flight (their callbacks run), wipe the cache; *ap becomes NULL. */
void auth_free(struct auth **ap);

/*
 * auth_verify_password - check password for login against acct (NULL: no
 * such account). acct and password are copied before this returns. cb runs
 * later on the loop, exactly once, never before this returns (also on a
 * cache hit); the caller must keep arg alive until then.
 */
void auth_verify_password(struct auth *a, const struct users_account *acct, const char *login,
			  const char *password, auth_verify_cb *cb, void *arg);

/* auth_login_failed - count a failed login from ip; returns the delay (ms) before the -ERR. */
unsigned auth_login_failed(struct auth *a, const char *ip);

/* auth_set_limits - auth.max_failures in a row from one address lock it out for auth.lockout s. */
void auth_set_limits(struct auth *a, unsigned max_failures, unsigned lockout);

/* auth_login_blocked - true while ip is locked out: answer at once, check nothing. */
bool auth_login_blocked(struct auth *a, const char *ip);

/* auth_login_succeeded - a login from ip succeeded: it pays no more delay. */
void auth_login_succeeded(struct auth *a, const char *ip);

/* auth_have_secrets - true when some account has an APOP / CRAM-MD5 secret (cached per file). */
bool auth_have_secrets(struct auth *a, const struct users_db *db);

#endif
