/*
 * pg_internal - private to auth/pg*.c: the connection's state, shared by
 * the query queue and I/O (pg.c) and connecting, setup and failure
 * (pg_conn.c).
 *
 * Re-entrancy: every libevent callback of a pg is framed by pg_enter /
 * pg_leave. A caller's callback may call pg_query or pg_close; pg_close
 * inside a frame only marks the pg closed and the outermost pg_leave frees
 * it. gen changes at each failure, so a frame that ran a callback checks
 * gen and closed (pg_stale) before touching the connection again.
 */
#ifndef POSTERN_AUTH_PG_INTERNAL_H
#define POSTERN_AUTH_PG_INTERNAL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <sys/time.h>

#include "auth/pg.h"

#define PG_RETRY_FIRST_MS 100
#define PG_LOOKUP_MAX 4 /* addresses of a host name tried in turn */

enum pg_state {
	PG_WAIT,       /* not connected; retry_ev will start an attempt */
	PG_RESOLVING,  /* the host name is being looked up */
	PG_CONNECTING, /* PQconnectPoll */
	PG_SETUP,      /* schema and LISTEN queries */
	PG_UP,
};

/* One queued query; sql and params are freed once sent. */
struct pg_query {
	struct pg_query *next;
	char *sql;
	int nparams;
	char **params;
	pg_done_cb *done_cb;
	void *arg;
};

struct pg_lookup;

struct pg {
	struct event_base *base;
	char *url;             /* holds the password: never logged */
	char name[PG_URL_MAX]; /* the URL redacted */
	struct pg_url parsed;
	char **listen;         /* NULL-terminated copies */
	struct pg_callbacks cb;
	struct pg_timeouts to;
	struct workq *resolver;
	struct pg_lookup *lookup; /* in flight on the resolver */
	char hosts[PG_LOOKUP_MAX * 254];    /* this attempt: the host name once per address, or "" */
	char hostaddrs[PG_LOOKUP_MAX * 46]; /* the looked-up addresses, comma-separated, or "" */
	enum pg_state state;
	PGconn *conn;
	struct event *conn_ev;  /* connecting: the socket, for what PQconnectPoll wants */
	struct event *read_ev;  /* connected: persistent */
	struct event *write_ev; /* connected: output is pending */
	struct event *timer;    /* connect or query timeout; idle ping */
	struct event *retry_ev; /* the next attempt */
	struct event *kick_ev;  /* send what pg_query queued, from the loop */
	unsigned retry_ms;      /* wait before the attempt after the next failure */
	struct pg_query *head, **tail;
	bool sent;             /* head is on the wire */
	bool flushing;         /* PQflush has more to write */
	PGresult *res;         /* head's result so far */
	bool reported_down;    /* down_cb ran since the last up (or start) */
	unsigned setup_left;   /* setup queries not yet answered */
	unsigned gen;          /* changes at each failure */
	unsigned depth;        /* nested frames */
	bool closed;           /* pg_close ran */
};

/* pg_tv - milliseconds as a timeval. */
struct timeval pg_tv(unsigned ms);

/* pg_enter - a libevent callback of p begins. */
void pg_enter(struct pg *p);

/* pg_leave - it ends; frees p when it was closed meanwhile. */
void pg_leave(struct pg *p);

/* pg_stale - p was closed, or failed, since gen was read. */
bool pg_stale(const struct pg *p, unsigned gen);

/* pg_enqueue - add a query (copied) to the queue; no check of the state. */
void pg_enqueue(struct pg *p, const char *sql, int nparams, const char *const *params,
		pg_done_cb *done_cb, void *arg);

/* pg_send_next - send the head of the queue when nothing is on the wire. */
void pg_send_next(struct pg *p);

/* pg_fail_queue - every queued query's callback gets error; the queue is empty afterwards. */
void pg_fail_queue(struct pg *p, const char *error);

/* pg_io_start - the connection is made: watch its socket for results and notifications. */
void pg_io_start(struct pg *p);

/* pg_io_stop - stop watching the socket, drop a partial result. */
void pg_io_stop(struct pg *p);

/* pg_idle - nothing queued: arm the ping when up. */
void pg_idle(struct pg *p);

/* pg_attempt_cb - retry_ev: start a connection attempt. */
void pg_attempt_cb(int fd, short what, void *arg);

/* pg_timeout - the timer fired while connecting, or with a query on the wire. */
void pg_timeout(struct pg *p);

/* pg_fail - the connection failed or was lost: tear down, fail the queue, report, retry. */
void pg_fail(struct pg *p, const char *why);

/* pg_lookup_forget - p is closing: an in-flight lookup's answer goes nowhere. */
void pg_lookup_forget(struct pg *p);

/*
 * pg_conn_params - libpq keywords and values for url, NULL-terminated;
 * hosts and hostaddrs (lists of one length) replace the URL's host when
 * not "".
 */
void pg_conn_params(const char *url, const char *hosts, const char *hostaddrs, const char **kw,
		    const char **val);

#define PG_CONN_PARAMS 13 /* room in kw/val, the NULL included */

#endif
