/*
 * pg_schema - postern's tables in PostgreSQL (auth.store = postgresql://),
 * versioned; the SQL here is the only copy.
 *
 * Version 1:
 *   postern_schema (version)          one row: the version in the database
 *   accounts (address, hash, secret)  a line of the users file (auth/users.h):
 *                                     secret NULL when the account has none
 *   aliases (address, targets)        a line of the aliases file (addr/aliases.h):
 *                                     targets as written after the ':'
 * Addresses are stored lower case (CHECK constraints), as the files hold
 * them. A statement-level trigger on accounts and aliases runs
 * pg_notify(PG_SCHEMA_CHANNEL, table name) after any INSERT, UPDATE,
 * DELETE or TRUNCATE, so every listening host hears of a change at commit,
 * whoever made it (posternctl or an administrator's psql).
 *
 * Version 2: an INSERT, UPDATE or DELETE notifies "TABLE:ADDRESS" for each
 * row it touched (an UPDATE that changes an address: both), so a host
 * knows which addresses a change is about and answers the others from its
 * tables while it loads. A statement of more than PG_SCHEMA_NOTICE_ROWS
 * rows, a TRUNCATE, and an address longer than PG_SCHEMA_NOTICE_MAX still
 * notify the table's name (statement triggers with transition tables).
 * PostgreSQL sends one notification per distinct payload and transaction.
 *
 * Migration is one statement (a DO block, one transaction): it takes
 * pg_advisory_xact_lock(PG_SCHEMA_LOCK_KEY), so hosts starting together
 * take turns; reads the version (0 when postern_schema does not exist);
 * refuses a version newer than PG_SCHEMA_VERSION; runs the steps from the
 * version in the database up to PG_SCHEMA_VERSION and records it. Version
 * 2 is one more entry in pg_schema_steps (pg_schema.c) and
 * PG_SCHEMA_VERSION + 1. The daemon runs the statement asynchronously on
 * each connection (auth/pg.h), posternctl synchronously
 * (pg_schema_migrate_sync).
 *
 * The database user needs CREATE on the schema the tables go to (the
 * first of its search_path, usually "public": own the database) the first
 * time, and SELECT/INSERT/UPDATE/DELETE on the tables afterwards.
 */
#ifndef POSTERN_AUTH_PG_SCHEMA_H
#define POSTERN_AUTH_PG_SCHEMA_H

#define PG_SCHEMA_VERSION 2
#define PG_SCHEMA_CHANNEL "postern_accounts"
#define PG_SCHEMA_NOTICE_MAX 1000 /* longest address a notification names */
#define PG_SCHEMA_NOTICE_ROWS 100 /* most rows a statement names one by one */
#define PG_SCHEMA_LOCK_KEY 0x706f737465726eLL /* "postern" */

#include <stdbool.h>
#include <stddef.h>

struct pg_conn;   /* libpq's PGconn */
struct pg_result; /* libpq's PGresult */

/* The tables as the daemon and posternctl read them: rows in the order of their files' lines. */
/* (in byte order, as the parsers keep them: in another collation each row is an insertion) */
#define PG_SCHEMA_SELECT_ACCOUNTS \
	"SELECT address, hash, secret FROM accounts ORDER BY address COLLATE \"C\""
#define PG_SCHEMA_SELECT_ALIASES "SELECT address, targets FROM aliases ORDER BY address COLLATE \"C\""

/*
 * pg_schema_notice - the address a notification's payload names
 * ("TABLE:ADDRESS", version 2's row triggers), copied into addr (size
 * octets): true; false when it names a whole table ("TABLE": a TRUNCATE,
 * version 1's triggers) or an address that does not fit.
 */
bool pg_schema_notice(const char *payload, char *addr, size_t size);

/* pg_schema_step - the SQL that brings the schema from version v - 1 to v, or NULL. */
const char *pg_schema_step(unsigned v);

/* pg_schema_sql - the statement that creates or migrates the schema (malloc'd). */
char *pg_schema_sql(void);

/*
 * pg_schema_migrate_sync - run pg_schema_sql on conn and wait (posternctl).
 * Returns 0; or -1 with *error_r malloc'd (the server's message).
 */
int pg_schema_migrate_sync(struct pg_conn *conn, char **error_r);

/*
 * pg_schema_text - the rows of a PG_SCHEMA_SELECT_* result as the lines of
 * its file, for the file's own parser (users_parse, aliases_parse): the
 * columns joined by sep (":" for accounts, ": " for aliases), a NULL
 * column empty. A row that the file syntax cannot hold (a line break
 * anywhere, a ':' in one of its first n_key columns) is left out, and the
 * first such row's number is *bad_r (-1: none). Returns the text
 * (malloc'd, NUL-terminated, *len_r octets).
 */
char *pg_schema_text(const struct pg_result *res, const char *sep, int n_key, size_t *len_r,
		     int *bad_r);

#endif
