/*
 * pg_driver - auth/pg.h on a loop, driven from stdin, for test_pg_conn.py
 * (not part of the build: the test compiles it against libpostern.a).
 *
 *   pg_driver [-r] [-t CONNECT,QUERY,PING] URL [CHANNEL...]
 *	-r: look host names up on a worker (pg_set_resolver)
 *	-t: timeouts in milliseconds (pg_set_timeouts)
 *     commands, one a line on stdin:
 *	query ID SQL[<TAB>PARAM...]    PARAM "\N" is NULL
 *	close                          pg_close, then exit (so does EOF)
 *     events, one a line on stdout:
 *	open REDACTED-URL | up | down WHY | notify CHANNEL PAYLOAD | rejected ID
 *	result ID ok NROWS, then "row ID V1|V2|..." per row (NULL: \N)
 *	result ID error SQLSTATE|- MESSAGE | closed
 *   pg_driver sync URL
 *	pg_connect_sync, then the schema version: "sync ok VERSION" or "sync error MESSAGE"
 *   pg_driver step N
 *	the SQL of schema step N (auth/pg_schema.h), to build an older schema by hand
 *
 * Log lines (auth/pg.c's own) go to stderr.
 */
#include <event2/event.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/pg.h"
#include "auth/pg_schema.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

#define DRIVER_PARAMS 16

struct driver {
	struct event_base *base;
	struct pg *pg;
	struct event *stdin_ev;
	char line[65536];
	size_t len;
};

/* driver_up_cb - the connection is up. */
static void driver_up_cb(void *arg)
{
	(void)arg;
	printf("up\n");
}

/* driver_down_cb - the connection is down. */
static void driver_down_cb(void *arg, const char *why)
{
	(void)arg;
	printf("down %s\n", why);
}

/* driver_notify_cb - a notification. */
static void driver_notify_cb(void *arg, const char *channel, const char *payload)
{
	(void)arg;
	printf("notify %s %s\n", channel, payload);
}

/* driver_done_cb - a query's result; arg is its id. */
static void driver_done_cb(void *arg, struct pg_result *res, const char *error)
{
	char *id = arg;
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (error != NULL) {
		printf("result %s error %s %s\n", id, state != NULL ? state : "-", error);
	} else {
		printf("result %s ok %d\n", id, PQntuples(res));
		for (int r = 0; r < PQntuples(res); r++) {
			printf("row %s ", id);
			for (int c = 0; c < PQnfields(res); c++)
				printf("%s%s", c > 0 ? "|" : "",
				       PQgetisnull(res, r, c) ? "\\N" : PQgetvalue(res, r, c));
			printf("\n");
		}
	}
	free(id);
}

/* driver_query - "ID SQL<TAB>PARAM...": queue it, or say it was rejected. */
static void driver_query(struct driver *d, char *rest)
{
	const char *params[DRIVER_PARAMS];
	char *sql = strchr(rest, ' '), *p, *tab, *id;
	int n = 0;

	if (sql == NULL)
		return;
	*sql++ = '\0';
	for (p = sql; (tab = strchr(p, '\t')) != NULL && n < DRIVER_PARAMS; p = tab + 1) {
		*tab = '\0';
		params[n++] = strcmp(tab + 1, "\\N") == 0 || strncmp(tab + 1, "\\N\t", 3) == 0 ? NULL
												: tab + 1;
	}
	id = xstrdup(rest);
	if (pg_query(d->pg, sql, n, params, driver_done_cb, id) < 0) {
		printf("rejected %s\n", rest);
		free(id); /* done_cb does not run */
	}
}

/* driver_close - close the connection and leave the loop. */
static void driver_close(struct driver *d)
{
	if (d->pg == NULL)
		return;
	pg_close(&d->pg);
	event_del(d->stdin_ev);
	printf("closed\n");
	event_base_loopexit(d->base, NULL);
}

/* driver_line - one command. */
static void driver_line(struct driver *d, char *line)
{
	if (strncmp(line, "query ", 6) == 0)
		driver_query(d, line + 6);
	else if (strcmp(line, "close") == 0)
		driver_close(d);
	else
		printf("unknown %s\n", line);
}

/* driver_stdin_cb - commands arrive. */
static void driver_stdin_cb(evutil_socket_t fd, short what, void *arg)
{
	struct driver *d = arg;
	ssize_t n = read(fd, d->line + d->len, sizeof(d->line) - 1 - d->len);
	char *nl;

	(void)what;
	if (n <= 0) {
		driver_close(d);
		return;
	}
	d->len += (size_t)n;
	d->line[d->len] = '\0';
	while (d->pg != NULL && (nl = strchr(d->line, '\n')) != NULL) {
		*nl = '\0';
		driver_line(d, d->line);
		d->len -= (size_t)(nl + 1 - d->line);
		memmove(d->line, nl + 1, d->len + 1);
	}
}

/* driver_sync - pg_connect_sync and the version it left. */
static int driver_sync(const char *url)
{
	char *error = NULL;
	PGconn *conn = pg_connect_sync(url, &error);
	PGresult *res;

	if (conn == NULL) {
		printf("sync error %s\n", error);
		free(error);
		return 1;
	}
	res = PQexec(conn, "SELECT version FROM postern_schema");
	printf("sync ok %s\n", PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1
				       ? PQgetvalue(res, 0, 0) : "?");
	PQclear(res);
	PQfinish(conn);
	return 0;
}

/* driver_options - -r and -t; the index of the URL. */
static int driver_options(int argc, char **argv, bool *resolver_r, struct pg_timeouts *t)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-r") == 0)
			*resolver_r = true;
		else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc &&
			 sscanf(argv[++i], "%u,%u,%u", &t->connect_ms, &t->query_ms, &t->ping_ms) == 3)
			continue;
		else
			return -1;
	}
	return i < argc ? i : -1;
}

int main(int argc, char **argv)
{
	struct pg_callbacks cb = { driver_up_cb, driver_down_cb, driver_notify_cb, NULL };
	struct pg_timeouts t = { 0, 0, 0 };
	struct driver d = { 0 };
	struct workq *q = NULL;
	bool resolver = false;
	const char *error;
	int u;

	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init("pg_driver", false);
	if (argc == 3 && strcmp(argv[1], "sync") == 0)
		return driver_sync(argv[2]);
	if (argc == 3 && strcmp(argv[1], "step") == 0 && pg_schema_step((unsigned)atoi(argv[2])))
		return fputs(pg_schema_step((unsigned)atoi(argv[2])), stdout) < 0;
	if ((u = driver_options(argc, argv, &resolver, &t)) < 0) {
		fprintf(stderr, "usage: pg_driver [-r] [-t C,Q,P] URL [CHANNEL...] | sync URL | step N\n");
		return 2;
	}
	if (pg_url_check(argv[u], &error) < 0) {
		printf("badurl %s\n", error);
		return 1;
	}
	d.base = event_base_new();
	d.pg = pg_open(d.base, argv[u], (const char *const *)argv + u + 1, &cb);
	pg_set_timeouts(d.pg, &t);
	if (resolver) {
		q = workq_new(d.base, 1, "resolve");
		pg_set_resolver(d.pg, q);
	}
	printf("open %s\n", pg_name(d.pg));
	d.stdin_ev = event_new(d.base, 0, EV_READ | EV_PERSIST, driver_stdin_cb, &d);
	event_add(d.stdin_ev, NULL);
	event_base_dispatch(d.base);
	event_free(d.stdin_ev);
	if (q != NULL)
		workq_free(&q);
	event_base_free(d.base);
	return 0;
}
