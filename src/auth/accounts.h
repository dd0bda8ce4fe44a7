/*
 * accounts - the daemon's account table (auth/users.h) kept current without
 * file I/O on the event loop. Lookups read the table in memory. A worker
 * checks the users file every second and after accounts_refresh() (which
 * posternctl triggers through the control socket after each change, so a
 * new account is known before posternctl returns); when it changed, the
 * worker reads and parses it and the loop swaps the new table in. A file
 * that does not parse is logged once, with FILE:LINE, and the last good
 * table stays.
 *
 * Threads: only the daemon's loop uses an accounts table.
 */
#ifndef POSTERN_ACCOUNTS_H
#define POSTERN_ACCOUNTS_H

#include "auth/users.h"

struct accounts;
struct event_base;
struct workq;

/* accounts_open - load path now (start-up), then watch it; a load error is logged. */
struct accounts *accounts_open(struct event_base *base, struct workq *io, const char *path);

/* accounts_free - stop watching and wipe the table. */
void accounts_free(struct accounts **ap);

/* accounts_set_path - SIGHUP: watch path (auth.users_file) from now on, and check it now. */
void accounts_set_path(struct accounts *a, const char *path);

/* accounts_find - the account for address (any case), or NULL. */
const struct users_account *accounts_find(const struct accounts *a, const char *address);

/* accounts_db - the table in force, valid until the loop runs again. */
const struct users_db *accounts_db(const struct accounts *a);

/*
 * accounts_refresh - check the file now; done_cb(arg) runs on the loop once
 * a table at least as new as the file was at this call is in force.
 */
void accounts_refresh(struct accounts *a, void (*done_cb)(void *arg), void *arg);

#endif
