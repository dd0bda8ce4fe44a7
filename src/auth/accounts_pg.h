/*
 * accounts_pg - the accounts and aliases of auth.store = postgresql://...
 * (SPEC.md "Accounts for several hosts"). Both tables are kept whole in
 * memory, as with the file store, so a RCPT or a login never waits on the
 * network: they are loaded when the connection comes up (auth/pg.h:
 * schema checked, LISTEN in place) and again at every NOTIFY on
 * postern_accounts, which the schema's triggers send at each change
 * committed by any host's posternctl or by hand. Rows become the lines of
 * the users and aliases files and go through the same parsers on a
 * worker, so both stores accept exactly the same data.
 *
 * Freshness: the tables are current while the connection is up and no
 * change to a whole table (a TRUNCATE, a reload asked for, a reconnection)
 * is still being loaded. Otherwise (an outage, or the milliseconds of such
 * a reload) accounts_pg_current is false, and the callers answer with
 * temporary errors where the old tables could be wrong: logins (a changed
 * password) and unknown recipients (a new account); see auth/accounts.h.
 * A change to rows (schema version 2 names each row's address) makes only
 * those addresses unsure (accounts_pg_unsure) until a load that began
 * after it ends: everyone else is answered from the tables meanwhile.
 *
 * Threads: the daemon's loop.
 */
#ifndef POSTERN_ACCOUNTS_PG_H
#define POSTERN_ACCOUNTS_PG_H

#include <stdbool.h>

#include "addr/aliases.h"
#include "auth/users.h"

struct accounts_pg;
struct event_base;
struct workq;

/*
 * accounts_pg_open - connect to url (checked: NULL with *error_r when
 * malformed) and load; loaded_cb(arg, db, aliases) with each new pair of
 * tables, to be taken (moved out of *db and *aliases).
 */
struct accounts_pg *accounts_pg_open(struct event_base *base, struct workq *io, const char *url,
				     void (*loaded_cb)(void *arg, struct users_db *db,
						       struct aliases_table *aliases),
				     void *arg, char **error_r);

/*
 * accounts_pg_reload - load both tables again, in a load that starts after
 * this call (posternctl's refresh after its change); done_cb(arg) once it
 * ended, loaded or not (done_cb may be NULL).
 */
void accounts_pg_reload(struct accounts_pg *p, void (*done_cb)(void *arg), void *arg);

/* accounts_pg_current - up, loaded, and no change to a whole table still to load. */
bool accounts_pg_current(const struct accounts_pg *p);

/*
 * accounts_pg_unsure - was address's row, or its domain's catch-all ("@"
 * rows), left out of the last load as unreadable (logged), or notified as
 * changed and not loaded yet? Its state is then unknown: temporary
 * answers, as in an outage.
 */
bool accounts_pg_unsure(const struct accounts_pg *p, const char *address);

/* accounts_pg_loading_rows - some row notified as changed is not loaded yet. */
bool accounts_pg_loading_rows(const struct accounts_pg *p);

/* accounts_pg_close - disconnect and free; *pp becomes NULL. */
void accounts_pg_close(struct accounts_pg **pp);

#endif
