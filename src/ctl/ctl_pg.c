/* ctl_pg - posternctl's load and save of accounts and aliases in PostgreSQL (see ctl_pg.h). */
#include "ctl/ctl_pg.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "addr/aliases.h"
#include "auth/pg.h"
#include "auth/pg_schema.h"
#include "auth/pg_url.h"
#include "auth/users.h"
#include "config/cfg.h"
#include "ctl/ctl.h"
#include "util/xalloc.h"

#define CTL_PG_VALUES 2 /* columns besides the address, at most */

/* One row as the difference sees it: the address, then the other columns (NULL: SQL NULL). */
struct ctl_pg_row {
	char *address;
	char *values[CTL_PG_VALUES];
};

/* The rows of one table, sorted by address (strcmp). */
struct ctl_pg_rows {
	struct ctl_pg_row *v;
	size_t n;
};

/* A table: how it is read, how it maps to its file's lines, how a row is written ($1 the address). */
struct ctl_pg_table {
	const char *name;
	const char *select;
	const char *insert_sql, *update_sql, *delete_sql;
	int n_values;    /* columns after the address */
	const char *sep; /* between the columns on a line of the file */
	int n_key;       /* leading columns that cannot hold ':' on that line */
};

static const struct ctl_pg_table ctl_pg_accounts = {
	"accounts",
	PG_SCHEMA_SELECT_ACCOUNTS,
	"INSERT INTO accounts (address, hash, secret) VALUES ($1, $2, $3)",
	"UPDATE accounts SET hash = $2, secret = $3 WHERE address = $1",
	"DELETE FROM accounts WHERE address = $1",
	2, ":", 2, /* address:hash:secret, the secret being the rest of the line */
};

static const struct ctl_pg_table ctl_pg_aliases = {
	"aliases",
	PG_SCHEMA_SELECT_ALIASES,
	"INSERT INTO aliases (address, targets) VALUES ($1, $2)",
	"UPDATE aliases SET targets = $2 WHERE address = $1",
	"DELETE FROM aliases WHERE address = $1",
	1, ": ", 1, /* address: targets */
};

/* The statements that open a change: the tables locked, waits bounded. */
static const char *const ctl_pg_begin_change[] = {
	"BEGIN ISOLATION LEVEL READ COMMITTED",
	"SET LOCAL lock_timeout = '" CTL_PG_LOCK_TIMEOUT "'",
	"SET LOCAL statement_timeout = '" CTL_PG_STATEMENT_TIMEOUT "'",
	"LOCK TABLE accounts, aliases IN SHARE ROW EXCLUSIVE MODE",
	NULL,
};

/* The statements that open a read: both tables from one snapshot. */
static const char *const ctl_pg_begin_read[] = {
	"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	"SET LOCAL statement_timeout = '" CTL_PG_STATEMENT_TIMEOUT "'",
	NULL,
};

struct ctl_pg {
	PGconn *conn;
	const char *url;               /* auth.store, password and all: never printed */
	char name[PG_URL_MAX];         /* the URL redacted, for messages */
	struct ctl_pg_rows users;      /* as loaded */
	struct ctl_pg_rows aliases;    /* as loaded (empty when not loaded) */
	bool committed;
};

/* ctl_pg_is_store - auth.store is not "file". */
bool ctl_pg_is_store(const struct cfg *cfg)
{
	return strcmp(cfg->auth_store, "file") != 0;
}

/* ctl_pg_error - print "URL: what[ key]: message", message scrubbed of the password. */
static void ctl_pg_error(const struct ctl_pg *p, const char *what, const char *key,
			 const char *message)
{
	char clean[1024];

	pg_url_scrub(p->url, message, clean, sizeof(clean));
	ctl_error("%s: %s%s%s: %s", p->name, what, key != NULL ? " " : "", key != NULL ? key : "",
		  clean);
}

/* ctl_pg_result_error - print the error of res (NULL: the connection's), with a hint for a lock wait. */
static void ctl_pg_result_error(const struct ctl_pg *p, const PGresult *res, const char *what,
				const char *key)
{
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char *text;

	if (msg == NULL || msg[0] == '\0')
		msg = PQerrorMessage(p->conn);
	if (state != NULL && strcmp(state, "55P03") == 0)
		text = xasprintf("%s (another change held the tables for more than %s)", msg,
				 CTL_PG_LOCK_TIMEOUT);
	else
		text = xstrdup(msg);
	ctl_pg_error(p, what, key, text);
	free(text);
}

/* ctl_pg_query - run sql with n text parameters; its result, or NULL after printing the error. */
static PGresult *ctl_pg_query(struct ctl_pg *p, const char *sql, int n, const char *const *params,
			      const char *what, const char *key)
{
	PGresult *res = PQexecParams(p->conn, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	ctl_pg_result_error(p, res, what, key);
	PQclear(res);
	return NULL;
}

/* ctl_pg_run - the statements of list, one by one; -1 after printing the first error. */
static int ctl_pg_run(struct ctl_pg *p, const char *const *list, const char *what)
{
	for (; *list != NULL; list++) {
		PGresult *res = ctl_pg_query(p, *list, 0, NULL, what, NULL);

		if (res == NULL)
			return -1;
		PQclear(res);
	}
	return 0;
}

/* ctl_pg_bad_row - print why row r of t cannot become a line of its file. */
static void ctl_pg_bad_row(const struct ctl_pg *p, const struct ctl_pg_table *t,
			   const PGresult *res, int r)
{
	const char *address = PQgetvalue(res, r, 0);

	ctl_error("%s: table %s: the row of \"%.*s\" holds a line break or a ':' that the file "
		  "syntax cannot hold (the daemon skips it): correct it with psql",
		  p->name, t->name, (int)strcspn(address, "\r\n"), address);
}

/* ctl_pg_text - the rows of res as the lines of t's file (malloc'd); -1 after printing a bad row. */
static int ctl_pg_text(const struct ctl_pg *p, const struct ctl_pg_table *t, const PGresult *res,
		       char **text_r, size_t *len_r)
{
	int bad;

	*text_r = pg_schema_text(res, t->sep, t->n_key, len_r, &bad);
	if (bad < 0)
		return 0;
	ctl_pg_bad_row(p, t, res, bad);
	free(*text_r);
	*text_r = NULL;
	return -1;
}

/* ctl_pg_read - the rows of table t as its file's text; -1 after printing the error. */
static int ctl_pg_read(struct ctl_pg *p, const struct ctl_pg_table *t, char **text_r,
		       size_t *len_r)
{
	PGresult *res = ctl_pg_query(p, t->select, 0, NULL, "reading table", t->name);
	int rc;

	if (res == NULL)
		return -1;
	rc = ctl_pg_text(p, t, res, text_r, len_r);
	PQclear(res);
	return rc;
}

/* ctl_pg_rows_free - wipe (an APOP secret is among the values) and free rows. */
static void ctl_pg_rows_free(struct ctl_pg_rows *rows)
{
	for (size_t i = 0; i < rows->n; i++) {
		free(rows->v[i].address);
		for (int k = 0; k < CTL_PG_VALUES; k++) {
			char *v = rows->v[i].values[k];
			if (v != NULL)
				OPENSSL_cleanse(v, strlen(v));
			free(v);
		}
	}
	free(rows->v);
	rows->v = NULL;
	rows->n = 0;
}

/* ctl_pg_rows_users - the rows of the accounts in db (sorted, as db is). */
static void ctl_pg_rows_users(const struct users_db *db, struct ctl_pg_rows *rows_r)
{
	rows_r->n = db->n;
	rows_r->v = xcalloc(db->n > 0 ? db->n : 1, sizeof(*rows_r->v));
	for (size_t i = 0; i < db->n; i++) {
		const struct users_account *a = &db->accounts[i];
		rows_r->v[i].address = xstrdup(a->address);
		rows_r->v[i].values[0] = xstrdup(a->hash);
		rows_r->v[i].values[1] = a->secret != NULL ? xstrdup(a->secret) : NULL;
	}
}

/* ctl_pg_targets_text - the targets column of e: "t1, t2", as the aliases file writes them. */
static char *ctl_pg_targets_text(const struct aliases_entry *e)
{
	size_t len = 1;
	char *text;

	for (size_t i = 0; i < e->n_targets; i++)
		len += strlen(e->targets[i]) + 2;
	text = xmalloc(len);
	len = 0;
	for (size_t i = 0; i < e->n_targets; i++)
		len += (size_t)sprintf(text + len, "%s%s", i > 0 ? ", " : "", e->targets[i]);
	text[len] = '\0';
	return text;
}

/* ctl_pg_row_cmp_cb - qsort: by address. */
static int ctl_pg_row_cmp_cb(const void *a, const void *b)
{
	return strcmp(((const struct ctl_pg_row *)a)->address,
		      ((const struct ctl_pg_row *)b)->address);
}

/* ctl_pg_rows_aliases - the rows of the aliases in table, sorted by address. */
static void ctl_pg_rows_aliases(const struct aliases_table *table, struct ctl_pg_rows *rows_r)
{
	rows_r->n = table->n;
	rows_r->v = xcalloc(table->n > 0 ? table->n : 1, sizeof(*rows_r->v));
	for (size_t i = 0; i < table->n; i++) {
		rows_r->v[i].address = xstrdup(table->entries[i].address);
		rows_r->v[i].values[0] = ctl_pg_targets_text(&table->entries[i]);
	}
	qsort(rows_r->v, rows_r->n, sizeof(*rows_r->v), ctl_pg_row_cmp_cb);
}

/* ctl_pg_load_users - the accounts into db through the users file's parser. */
static int ctl_pg_load_users(struct ctl_pg *p, struct users_db *db)
{
	char *text, *error = NULL;
	size_t len;
	int rc;

	if (ctl_pg_read(p, &ctl_pg_accounts, &text, &len) < 0)
		return -1;
	rc = users_parse(db, text, len, "table accounts", &error);
	OPENSSL_cleanse(text, len);
	free(text);
	if (rc < 0) {
		ctl_error("%s: %s", p->name, error);
		free(error);
		return -1;
	}
	ctl_pg_rows_users(db, &p->users);
	return 0;
}

/* ctl_pg_load_aliases - the aliases into table through the aliases file's parser. */
static int ctl_pg_load_aliases(struct ctl_pg *p, struct aliases_table *table)
{
	char *text, *error = NULL;
	size_t len;
	int rc;

	if (ctl_pg_read(p, &ctl_pg_aliases, &text, &len) < 0)
		return -1;
	rc = aliases_parse(table, text, len, "table aliases", &error);
	free(text);
	if (rc < 0) {
		ctl_error("%s: %s", p->name, error);
		free(error);
		return -1;
	}
	ctl_pg_rows_aliases(table, &p->aliases);
	return 0;
}

/* ctl_pg_open - connect, begin, load both tables (see ctl_pg.h). */
struct ctl_pg *ctl_pg_open(const struct cfg *cfg, bool lock, struct users_db *db,
			   struct aliases_table *table)
{
	struct ctl_pg *p = xcalloc(1, sizeof(*p));
	char *error = NULL;

	p->url = cfg->auth_store;
	pg_url_redact(p->url, p->name, sizeof(p->name));
	p->conn = (PGconn *)pg_connect_sync(p->url, &error);
	if (p->conn == NULL) {
		ctl_error("%s", error); /* names the URL, redacted */
		free(error);
		ctl_pg_close(&p);
		return NULL;
	}
	if (ctl_pg_run(p, lock ? ctl_pg_begin_change : ctl_pg_begin_read,
		       lock ? "locking accounts and aliases" : "starting a read") < 0 ||
	    ctl_pg_load_users(p, db) < 0 || (table != NULL && ctl_pg_load_aliases(p, table) < 0))
		ctl_pg_close(&p);
	return p;
}

/* ctl_pg_row_same - the two rows (same address) hold the same values. */
static bool ctl_pg_row_same(const struct ctl_pg_row *a, const struct ctl_pg_row *b, int n)
{
	for (int k = 0; k < n; k++) {
		const char *x = a->values[k], *y = b->values[k];
		if ((x == NULL) != (y == NULL) || (x != NULL && strcmp(x, y) != 0))
			return false;
	}
	return true;
}

/* ctl_pg_write - one INSERT, UPDATE or DELETE of row (n values after the address): exactly one row. */
static int ctl_pg_write(struct ctl_pg *p, const struct ctl_pg_table *t, const char *sql,
			const struct ctl_pg_row *row, int n)
{
	const char *params[1 + CTL_PG_VALUES] = { row->address };
	char what[64];
	PGresult *res;
	bool one;

	for (int k = 0; k < n; k++)
		params[1 + k] = row->values[k];
	snprintf(what, sizeof(what), "writing table %s, row", t->name);
	res = ctl_pg_query(p, sql, 1 + n, params, what, row->address);
	if (res == NULL)
		return -1;
	one = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (!one)
		ctl_pg_error(p, what, row->address, "changed meanwhile; try again");
	return one ? 0 : -1;
}

/* ctl_pg_save_table - write the difference between the rows loaded (a) and changed (b). */
static int ctl_pg_save_table(struct ctl_pg *p, const struct ctl_pg_table *t,
			     const struct ctl_pg_rows *a, const struct ctl_pg_rows *b)
{
	size_t i = 0, j = 0;
	int rc = 0;

	while (rc == 0 && (i < a->n || j < b->n)) {
		int c = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->v[i].address, b->v[j].address);

		if (c < 0) {
			rc = ctl_pg_write(p, t, t->delete_sql, &a->v[i++], 0);
		} else if (c > 0) {
			rc = ctl_pg_write(p, t, t->insert_sql, &b->v[j++], t->n_values);
		} else {
			if (!ctl_pg_row_same(&a->v[i], &b->v[j], t->n_values))
				rc = ctl_pg_write(p, t, t->update_sql, &b->v[j], t->n_values);
			i++;
			j++;
		}
	}
	return rc;
}

/* ctl_pg_save - the difference of one table, from its rows as changed. */
static int ctl_pg_save(struct ctl_pg *p, const struct ctl_pg_table *t, const struct ctl_pg_rows *a,
		       struct ctl_pg_rows *b)
{
	int rc = ctl_pg_save_table(p, t, a, b);

	ctl_pg_rows_free(b);
	return rc;
}

/* ctl_pg_commit - the differences, then COMMIT. */
int ctl_pg_commit(struct ctl_pg *p, const struct users_db *db, const struct aliases_table *table)
{
	struct ctl_pg_rows changed;
	PGresult *res;

	ctl_pg_rows_users(db, &changed);
	if (ctl_pg_save(p, &ctl_pg_accounts, &p->users, &changed) < 0)
		return -1;
	if (table != NULL) {
		ctl_pg_rows_aliases(table, &changed);
		if (ctl_pg_save(p, &ctl_pg_aliases, &p->aliases, &changed) < 0)
			return -1;
	}
	res = ctl_pg_query(p, "COMMIT", 0, NULL, "committing", NULL);
	if (res == NULL)
		return -1;
	/* a transaction that failed answers COMMIT with ROLLBACK */
	p->committed = strcmp(PQcmdStatus(res), "COMMIT") == 0;
	PQclear(res);
	if (!p->committed)
		ctl_pg_error(p, "committing", NULL, "the transaction was rolled back");
	return p->committed ? 0 : -1;
}

/* ctl_pg_close - ROLLBACK when still in a transaction, disconnect, free. */
void ctl_pg_close(struct ctl_pg **pp)
{
	struct ctl_pg *p = *pp;

	if (p == NULL)
		return;
	if (p->conn != NULL) {
		PGTransactionStatusType st = PQtransactionStatus(p->conn);
		if (st == PQTRANS_INTRANS || st == PQTRANS_INERROR)
			PQclear(PQexec(p->conn, "ROLLBACK"));
		PQfinish(p->conn);
	}
	ctl_pg_rows_free(&p->users);
	ctl_pg_rows_free(&p->aliases);
	free(p);
	*pp = NULL;
}
