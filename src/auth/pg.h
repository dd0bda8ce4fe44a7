/*
 * pg - one PostgreSQL connection on a libevent loop, kept up by itself
 * (auth.store = postgresql://...), and a blocking connection for
 * posternctl.
 *
 * The loop never blocks on the database: libpq's non-blocking API only
 * (PQconnectStartParams/PQconnectPoll, PQsendQueryParams, PQflush,
 * PQconsumeInput, PQgetResult, PQnotifies) with the socket watched by
 * libevent. Queries run one at a time, in the order pg_query was called;
 * every callback runs on the loop, never inside the call that caused it.
 *
 * Life of a connection: connect (at most PG_TIMEOUTS.connect_ms), create
 * or migrate the schema (auth/pg_schema.h), LISTEN on each channel, then
 * up_cb: the caller reloads what it caches, since notifications may have
 * been missed while down. When the connection fails or is lost (server
 * stopped, network cut, a query unanswered for query_ms, an idle
 * connection whose ping went unanswered): every queued query's callback
 * gets an error, down_cb runs (once per outage, not once per failed
 * attempt), and it reconnects by itself: at once, then after 100, 200,
 * 400, 800 ms and every second. A database whose schema is newer than
 * this code is an outage too (down_cb says so; the attempts go on).
 * TCP keepalives and a ping after ping_ms without traffic make a dead
 * peer noticed.
 *
 * The password: in the URL (postgresql://USER:PASS@HOST/DB, '@' and '/'
 * written %40 and %2F), or in a .pgpass-format file named in the URL:
 *
 *	postgresql://postern@db.example.org/mail?passfile=/etc/postern/pgpass
 *
 * whose line is "HOST:PORT:DB:USER:PASSWORD" ('*' matches any field) and
 * whose mode must be 0600 or stricter (libpq ignores the file otherwise).
 * libpq reads it at each connection attempt, after posternd became
 * server.user: that user must be able to read it. Without either, libpq's
 * defaults apply (PGPASSWORD, ~/.pgpass). The URL is checked up front
 * (pg_url_check, auth/pg_url.h); logs show it redacted (pg_url_redact) and
 * every error text passes through pg_url_scrub: no log line and no
 * callback's error holds the password.
 *
 * Host names: with a resolver (pg_set_resolver) a host name is looked up
 * on a worker thread and libpq gets the address (hostaddr); without one
 * libpq looks it up itself, blocking the loop for that lookup. IP
 * addresses and socket directories need no lookup.
 *
 * Threads: a pg belongs to its loop's thread.
 */
#ifndef POSTERN_AUTH_PG_H
#define POSTERN_AUTH_PG_H

#include <stdbool.h>

#include "auth/pg_url.h"

struct event_base;
struct pg;
struct pg_conn;   /* libpq's PGconn */
struct pg_result; /* libpq's PGresult */
struct workq;

struct pg_callbacks {
	/* connected, schema checked, LISTENs in place: reload what you cache */
	void (*up_cb)(void *arg);
	/* an outage began (lost, or the first attempt failed): once per outage; it retries by itself */
	void (*down_cb)(void *arg, const char *why);
	/* a NOTIFY on one of the channels (only while up) */
	void (*notify_cb)(void *arg, const char *channel, const char *payload);
	void *arg;
};

/* Limits in milliseconds; 0 in a field of pg_set_timeouts keeps the default. */
struct pg_timeouts {
	unsigned connect_ms; /* TCP, TLS, authentication (default 5000) */
	unsigned query_ms;   /* from sending a query to its result (default 5000) */
	unsigned ping_ms;    /* an idle connection sends "SELECT 1" after (default 5000) */
};

#define PG_RETRY_MAX_MS 1000 /* reconnection backoff cap */

/*
 * A query's result: exactly once. Success: error NULL, res the result
 * (PGRES_COMMAND_OK or PGRES_TUPLES_OK). Failure: error set; res is the
 * server's error result (PQresultErrorField gives the SQLSTATE, e.g.
 * "23505" for a duplicate key) or NULL when the connection failed, was
 * down or pg_close ran. res is valid during the call only.
 */
typedef void pg_done_cb(void *arg, struct pg_result *res, const char *error);

/*
 * pg_open - a connection to url (pg_url_check first: a bad URL is a
 * fatal error here), listening on listen_channels (NULL-terminated, may
 * be NULL). Connecting starts on the next loop turn, so pg_set_timeouts
 * and pg_set_resolver right after pg_open apply to the first attempt.
 * cb is copied.
 */
struct pg *pg_open(struct event_base *base, const char *url, const char *const *listen_channels,
		   const struct pg_callbacks *cb);

/* pg_set_timeouts - replace the default timeouts (non-zero fields of t). */
void pg_set_timeouts(struct pg *p, const struct pg_timeouts *t);

/* pg_set_resolver - look host names up on q's workers; free q only after pg_close(p). */
void pg_set_resolver(struct pg *p, struct workq *q);

/*
 * pg_query - queue sql with nparams text parameters ($1, ...; NULL is SQL
 * NULL; copied) for done_cb(arg, ...). Returns 0; -1 when the connection
 * is not up (done_cb does not run then).
 */
int pg_query(struct pg *p, const char *sql, int nparams, const char *const *params,
	     pg_done_cb *done_cb, void *arg);

/* pg_is_up - connected, schema checked, listening. */
bool pg_is_up(const struct pg *p);

/* pg_name - the URL with its password redacted, for logs. */
const char *pg_name(const struct pg *p);

/*
 * pg_close - disconnect and free; queued queries get their callback (error
 * "closed"), up_cb and down_cb no more. Safe inside any of p's callbacks.
 */
void pg_close(struct pg **pp);

/*
 * pg_connect_sync - for posternctl: connect (blocking, at most 5 s),
 * create or migrate the schema, return the connection (PQfinish it).
 * NULL with *error_r malloc'd (scrubbed of the password).
 */
struct pg_conn *pg_connect_sync(const char *url, char **error_r);

#endif
