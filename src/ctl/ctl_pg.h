/*
 * ctl_pg - posternctl "user" and "alias" against auth.store =
 * postgresql://... (SPEC.md "Accounts for several hosts").
 *
 * The commands keep the shape they have with the files: load the whole
 * table, change it in memory with the same functions (users_add,
 * aliases_set, ...) and the same checks, save. Here the load is the rows
 * of the tables accounts and aliases (auth/pg_schema.h) turned into the
 * lines of the users and aliases files and read by the same parsers as
 * the daemon's (auth/accounts_pg.c); the save is the difference between
 * the tables as loaded and as changed (DELETE, INSERT, UPDATE with
 * parameters) in the same transaction, then COMMIT. A change locks both
 * tables first (SHARE ROW EXCLUSIVE: readers go on, another posternctl on
 * any host waits, at most CTL_PG_LOCK_TIMEOUT, and then reads what this
 * one committed). The schema's triggers tell every host at commit.
 *
 * Errors are printed ("posternctl: URL: ...", the URL without its
 * password, the server's text scrubbed of it) by these functions.
 */
#ifndef POSTERN_CTL_PG_H
#define POSTERN_CTL_PG_H

#include <stdbool.h>

struct aliases_table;
struct cfg;
struct ctl_pg;
struct users_db;

#define CTL_PG_LOCK_TIMEOUT "10s"      /* waiting for another posternctl's change */
#define CTL_PG_STATEMENT_TIMEOUT "30s" /* any one statement, lock wait included */

/* ctl_pg_is_store - true when cfg's auth.store is a PostgreSQL URL, not "file". */
bool ctl_pg_is_store(const struct cfg *cfg);

/*
 * ctl_pg_open - connect to auth.store, begin a transaction (with lock: the
 * tables locked for a change; without: a read-only snapshot) and load the
 * accounts into db and, when table is not NULL, the aliases into table
 * (both empty, initialized by the caller, who frees them in any case).
 * Returns the session, or NULL after printing the error.
 */
struct ctl_pg *ctl_pg_open(const struct cfg *cfg, bool lock, struct users_db *db,
			   struct aliases_table *table);

/*
 * ctl_pg_commit - write what differs in db and table (NULL: the aliases
 * were not loaded, or are unchanged) from what ctl_pg_open loaded, and
 * commit. Returns 0, or -1 after printing the error (nothing written).
 */
int ctl_pg_commit(struct ctl_pg *p, const struct users_db *db, const struct aliases_table *table);

/* ctl_pg_close - roll back what was not committed, disconnect, free; *pp becomes NULL. */
void ctl_pg_close(struct ctl_pg **pp);

#endif
