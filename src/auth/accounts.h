/*
 * accounts - the daemon's accounts (auth/users.h) and aliases
 * (addr/aliases.h) kept current without file I/O on the event loop.
 * Lookups read the tables in memory. A worker checks the users file and
 * the aliases file beside it every second and after accounts_refresh()
 * (which posternctl triggers through the control socket after each change,
 * so a new account or alias is known before posternctl returns); when one
 * changed, the worker reads and parses it and the loop swaps the new table
 * in. A file that does not parse is logged once, with FILE:LINE, and the
 * last good table stays.
 *
 * With auth.store = postgresql://... the tables come from PostgreSQL
 * instead (auth/accounts_pg.h), loaded whole and reloaded at each change
 * any host commits; no file is read.
 *
 * Threads: only the daemon's loop uses an accounts table.
 */
#ifndef POSTERN_ACCOUNTS_H
#define POSTERN_ACCOUNTS_H

#include <stdbool.h>

#include "addr/aliases.h"
#include "auth/users.h"

struct accounts;
struct cfg;
struct event_base;
struct workq;

/*
 * accounts_open - load cfg's users file and aliases now (start-up), then
 * watch them (their errors are logged); or connect to auth.store's
 * PostgreSQL. NULL with *error_r only for a malformed auth.store URL.
 */
struct accounts *accounts_open(struct event_base *base, struct workq *io, const struct cfg *cfg,
			       char **error_r);

/* accounts_free - stop watching and wipe the table. */
void accounts_free(struct accounts **ap);

/* accounts_set_cfg - SIGHUP: the configuration in force (auth.users_file, domains), checked now. */
void accounts_set_cfg(struct accounts *a, const struct cfg *cfg);

/*
 * accounts_sure - the tables can be trusted about address's own row:
 * always with the files; with PostgreSQL, while it is up, every change to
 * a whole table it notified is loaded, and address's row (or its domain's
 * catch-all) is neither notified as changed and still loading nor left
 * out as unreadable. When false, a login as address gets a temporary
 * failure (the password may have changed).
 */
bool accounts_sure(const struct accounts *a, const char *address);

/*
 * accounts_sure_unknown - an address the tables do not resolve is truly
 * unknown: accounts_sure, and no changed row is loading at all (an alias,
 * a +tag or a catch-all may lead through any of them). When false, it gets
 * 451, never 550 (it may have been added): an outage bounces no mail.
 */
bool accounts_sure_unknown(const struct accounts *a, const char *address);

/* accounts_find - the account for address (any case), or NULL. */
const struct users_account *accounts_find(const struct accounts *a, const char *address);

/* accounts_db - the table in force, valid until the loop runs again. */
const struct users_db *accounts_db(const struct accounts *a);

/* accounts_aliases - the alias table in force, valid until the loop runs again. */
const struct aliases_table *accounts_aliases(const struct accounts *a);

/* accounts_resolver - what aliases_resolve needs: these accounts, the local domains, the delimiter. */
void accounts_resolver(const struct accounts *a, struct aliases_resolver *res_r);

/*
 * accounts_resolve - aliases_resolve of a local address with the tables in
 * force (r initialized by the caller). An alias with a target that led
 * nowhere while the tables are unsure about unknown addresses
 * (accounts_sure_unknown: the target may be an account being added) is
 * ALIASES_UNKNOWN, so that no copy is lost; *sure_r says whether they
 * were sure, i.e. whether an unknown address may be refused for good.
 */
enum aliases_status accounts_resolve(const struct accounts *a, const char *address,
				     struct aliases_result *r, bool *sure_r);

/*
 * accounts_refresh - check the file now; done_cb(arg) runs on the loop once
 * a table at least as new as the file was at this call is in force.
 */
void accounts_refresh(struct accounts *a, void (*done_cb)(void *arg), void *arg);

#endif
