/* pg_schema - postern's tables in PostgreSQL: the migration steps and the statement that runs them. */
#include "auth/pg_schema.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/xalloc.h"

#define PG_SCHEMA_STR2(x) #x
#define PG_SCHEMA_STR(x) PG_SCHEMA_STR2(x)

/* Version 2's triggers of table t: one per event (a transition table is for one event only). */
#define PG_SCHEMA_ROW_TRIGGERS(t)                                                               \
	"CREATE TRIGGER " t "_notify AFTER TRUNCATE ON " t "\n"                                  \
	"	FOR EACH STATEMENT EXECUTE FUNCTION postern_notify();\n"                            \
	"CREATE TRIGGER " t "_notify_insert AFTER INSERT ON " t " REFERENCING NEW TABLE AS new_rows\n" \
	"	FOR EACH STATEMENT EXECUTE FUNCTION postern_notify_rows();\n"                       \
	"CREATE TRIGGER " t "_notify_update AFTER UPDATE ON " t "\n"                             \
	"	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows\n"                          \
	"	FOR EACH STATEMENT EXECUTE FUNCTION postern_notify_rows();\n"                       \
	"CREATE TRIGGER " t "_notify_delete AFTER DELETE ON " t " REFERENCING OLD TABLE AS old_rows\n" \
	"	FOR EACH STATEMENT EXECUTE FUNCTION postern_notify_rows();\n"

/*
 * pg_schema_steps[i] brings the schema from version i to i + 1. Each runs
 * through EXECUTE inside the migration's DO block: it must not contain the
 * dollar-quote tag $postern_step$.
 */
static const char *const pg_schema_steps[PG_SCHEMA_VERSION] = {
	/* 1: the schema version, accounts, aliases, the change notification */
	"CREATE TABLE postern_schema (version integer NOT NULL);\n"
	"CREATE UNIQUE INDEX postern_schema_one_row ON postern_schema ((true));\n"
	"INSERT INTO postern_schema (version) VALUES (0);\n"
	"CREATE TABLE accounts (\n"
	"	address text PRIMARY KEY CHECK (address <> '' AND address = lower(address)),\n"
	"	hash text NOT NULL CHECK (hash <> ''),\n"
	"	secret text CHECK (secret <> '')\n"
	");\n"
	"CREATE TABLE aliases (\n"
	"	address text PRIMARY KEY CHECK (address <> '' AND address = lower(address)),\n"
	"	targets text NOT NULL CHECK (targets <> '')\n"
	");\n"
	"CREATE FUNCTION postern_notify() RETURNS trigger LANGUAGE plpgsql AS $$\n"
	"BEGIN\n"
	"	PERFORM pg_notify('" PG_SCHEMA_CHANNEL "', TG_TABLE_NAME);\n"
	"	RETURN NULL;\n"
	"END\n"
	"$$;\n"
	"CREATE TRIGGER accounts_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON accounts\n"
	"	FOR EACH STATEMENT EXECUTE FUNCTION postern_notify();\n"
	"CREATE TRIGGER aliases_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON aliases\n"
	"	FOR EACH STATEMENT EXECUTE FUNCTION postern_notify();\n",
	/*
	 * 2: statements name the addresses of their rows, up to
	 * PG_SCHEMA_NOTICE_ROWS of them (more, and TRUNCATE, name the table)
	 */
	"CREATE FUNCTION postern_notify_address(t text, a text) RETURNS void LANGUAGE sql AS $$\n"
	"	SELECT pg_notify('" PG_SCHEMA_CHANNEL "', t || CASE WHEN length(a) <= "
	PG_SCHEMA_STR(PG_SCHEMA_NOTICE_MAX) " THEN ':' || a ELSE '' END)\n"
	"$$;\n"
	"CREATE FUNCTION postern_notify_rows() RETURNS trigger LANGUAGE plpgsql AS $$\n"
	"DECLARE\n"
	"	n bigint;\n"
	"BEGIN\n"
	"	IF TG_OP = 'INSERT' THEN\n"
	"		SELECT count(*) INTO n FROM new_rows;\n"
	"	ELSE\n"
	"		SELECT count(*) INTO n FROM old_rows;\n"
	"	END IF;\n"
	"	IF n > " PG_SCHEMA_STR(PG_SCHEMA_NOTICE_ROWS) " THEN\n"
	"		PERFORM pg_notify('" PG_SCHEMA_CHANNEL "', TG_TABLE_NAME);\n"
	"	ELSIF TG_OP = 'INSERT' THEN\n"
	"		PERFORM postern_notify_address(TG_TABLE_NAME, address) FROM new_rows;\n"
	"	ELSIF TG_OP = 'DELETE' THEN\n"
	"		PERFORM postern_notify_address(TG_TABLE_NAME, address) FROM old_rows;\n"
	"	ELSE\n"
	"		PERFORM postern_notify_address(TG_TABLE_NAME, address)\n"
	"			FROM (SELECT address FROM old_rows UNION SELECT address FROM new_rows) r;\n"
	"	END IF;\n"
	"	RETURN NULL;\n"
	"END\n"
	"$$;\n"
	"DROP TRIGGER accounts_notify ON accounts;\n"
	"DROP TRIGGER aliases_notify ON aliases;\n"
	PG_SCHEMA_ROW_TRIGGERS("accounts")
	PG_SCHEMA_ROW_TRIGGERS("aliases"),
};

bool pg_schema_notice(const char *payload, char *addr, size_t size)
{
	const char *colon = strchr(payload, ':');
	size_t len = colon != NULL ? strlen(colon + 1) : 0;

	if (len == 0 || len >= size)
		return false;
	memcpy(addr, colon + 1, len + 1);
	return true;
}

const char *pg_schema_step(unsigned v)
{
	return v >= 1 && v <= PG_SCHEMA_VERSION ? pg_schema_steps[v - 1] : NULL;
}

/* pg_schema_head - the lock, the version read, the refusal of a newer one. */
static void pg_schema_head(FILE *f)
{
	fprintf(f, "DO $postern$\n"
		   "DECLARE\n"
		   "	v integer;\n"
		   "	n bigint;\n"
		   "BEGIN\n"
		   "	PERFORM pg_advisory_xact_lock(%lld);\n"
		   "	IF to_regclass('postern_schema') IS NULL THEN\n"
		   "		v := 0;\n"
		   "	ELSE\n"
		   "		SELECT count(*), max(version) INTO n, v FROM postern_schema;\n"
		   "		IF n <> 1 THEN\n"
		   "			RAISE EXCEPTION 'postern_schema holds %% rows instead of one', n;\n"
		   "		END IF;\n"
		   "	END IF;\n"
		   "	IF v > %d THEN\n"
		   "		RAISE EXCEPTION 'the database holds postern schema version %%, newer "
		   "than this postern knows (%d): upgrade postern', v;\n"
		   "	END IF;\n",
		(long long)PG_SCHEMA_LOCK_KEY, PG_SCHEMA_VERSION, PG_SCHEMA_VERSION);
}

char *pg_schema_sql(void)
{
	char *sql = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&sql, &len);

	if (f == NULL)
		fatal("pg_schema_sql: out of memory");
	pg_schema_head(f);
	for (unsigned v = 1; v <= PG_SCHEMA_VERSION; v++) {
		if (strstr(pg_schema_steps[v - 1], "$postern_step$") != NULL)
			fatal("pg_schema: step %u holds $postern_step$", v);
		fprintf(f, "	IF v < %u THEN\n		EXECUTE $postern_step$\n%s$postern_step$;\n"
			   "	END IF;\n", v, pg_schema_steps[v - 1]);
	}
	fprintf(f, "	UPDATE postern_schema SET version = %d WHERE version < %d;\n"
		   "END\n$postern$",
		PG_SCHEMA_VERSION, PG_SCHEMA_VERSION);
	if (fclose(f) != 0 || sql == NULL)
		fatal("pg_schema_sql: out of memory");
	return sql;
}

int pg_schema_migrate_sync(struct pg_conn *conn, char **error_r)
{
	char *sql = pg_schema_sql();
	PGresult *res = PQexec(conn, sql);
	const char *msg;
	int rc = 0;

	free(sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		msg = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
		*error_r = xstrdup(msg != NULL ? msg : PQerrorMessage(conn));
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/* pg_schema_row_ok - no column of row r breaks a line, and the first n_key hold no ':'. */
static bool pg_schema_row_ok(const PGresult *res, int r, int n_key)
{
	for (int f = 0; f < PQnfields(res); f++) {
		const char *v = PQgetvalue(res, r, f);

		if (strpbrk(v, "\r\n") != NULL || (f < n_key && strchr(v, ':') != NULL))
			return false;
	}
	return true;
}

char *pg_schema_text(const struct pg_result *res, const char *sep, int n_key, size_t *len_r,
		     int *bad_r)
{
	size_t len = 0, alloc = 1, seplen = strlen(sep);
	char *text;

	*bad_r = -1;
	for (int r = 0; r < PQntuples(res); r++)
		for (int f = 0; f < PQnfields(res); f++)
			alloc += (size_t)PQgetlength(res, r, f) + seplen + 1;
	text = xmalloc(alloc);
	for (int r = 0; r < PQntuples(res); r++) {
		if (!pg_schema_row_ok(res, r, n_key)) {
			*bad_r = *bad_r < 0 ? r : *bad_r;
			continue;
		}
		for (int f = 0; f < PQnfields(res); f++) {
			size_t n = (size_t)PQgetlength(res, r, f);

			if (f > 0) {
				memcpy(text + len, sep, seplen);
				len += seplen;
			}
			memcpy(text + len, PQgetvalue(res, r, f), n);
			len += n;
		}
		text[len++] = '\n';
	}
	text[len] = '\0';
	*len_r = len;
	return text;
}
