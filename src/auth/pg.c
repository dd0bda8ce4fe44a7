/* pg - one PostgreSQL connection on the loop: the public calls, the query queue, socket I/O. */
#include "auth/pg.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/pg_internal.h"
#include "util/log.h"
#include "util/xalloc.h"

static const struct pg_timeouts pg_default_timeouts = { 5000, 5000, 5000 };

struct timeval pg_tv(unsigned ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	return tv;
}

void pg_enter(struct pg *p)
{
	p->depth++;
}

bool pg_stale(const struct pg *p, unsigned gen)
{
	return p->closed || p->gen != gen;
}

/* pg_query_free - free q and its copies. */
static void pg_query_free(struct pg_query *q)
{
	free(q->sql);
	for (int i = 0; q->params != NULL && i < q->nparams; i++)
		free(q->params[i]);
	free(q->params);
	free(q);
}

/* pg_pop - take the head off the queue. */
static struct pg_query *pg_pop(struct pg *p)
{
	struct pg_query *q = p->head;

	p->head = q->next;
	if (p->head == NULL)
		p->tail = &p->head;
	return q;
}

void pg_fail_queue(struct pg *p, const char *error)
{
	p->sent = false;
	while (p->head != NULL) {
		struct pg_query *q = pg_pop(p);
		q->done_cb(q->arg, NULL, error);
		pg_query_free(q);
	}
}

/* pg_destroy - free p; queued queries hear "closed". */
static void pg_destroy(struct pg *p)
{
	char **l;

	p->depth++; /* a pg_close from a callback below must not free p again */
	pg_lookup_forget(p);
	pg_io_stop(p);
	PQfinish(p->conn);
	p->conn = NULL;
	pg_fail_queue(p, "postgresql: closed");
	event_free(p->timer);
	event_free(p->retry_ev);
	event_free(p->kick_ev);
	for (l = p->listen; *l != NULL; l++)
		free(*l);
	free(p->listen);
	explicit_bzero(p->url, strlen(p->url));
	free(p->url);
	free(p);
}

void pg_leave(struct pg *p)
{
	if (--p->depth == 0 && p->closed)
		pg_destroy(p);
}

void pg_enqueue(struct pg *p, const char *sql, int nparams, const char *const *params,
		pg_done_cb *done_cb, void *arg)
{
	struct pg_query *q = xcalloc(1, sizeof(*q));

	q->sql = xstrdup(sql);
	q->nparams = nparams;
	if (nparams > 0) {
		q->params = xcalloc((size_t)nparams, sizeof(*q->params));
		for (int i = 0; i < nparams; i++)
			q->params[i] = params[i] != NULL ? xstrdup(params[i]) : NULL;
	}
	q->done_cb = done_cb;
	q->arg = arg;
	*p->tail = q;
	p->tail = &q->next;
}

/* pg_flush - write what libpq holds; -1 when that failed (p failed). */
static int pg_flush(struct pg *p)
{
	int r = PQflush(p->conn);

	if (r < 0) {
		pg_fail(p, PQerrorMessage(p->conn));
		return -1;
	}
	p->flushing = r == 1;
	if (p->flushing)
		event_add(p->write_ev, NULL);
	return 0;
}

void pg_send_next(struct pg *p)
{
	struct pg_query *q = p->head;
	struct timeval tv = pg_tv(p->to.query_ms);

	if (p->sent || q == NULL || p->conn == NULL || p->state < PG_SETUP)
		return;
	if (!PQsendQueryParams(p->conn, q->sql, q->nparams, NULL, (const char *const *)q->params,
			       NULL, NULL, 0)) {
		pg_fail(p, PQerrorMessage(p->conn));
		return;
	}
	p->sent = true;
	evtimer_add(p->timer, &tv);
	pg_flush(p);
}

void pg_idle(struct pg *p)
{
	struct timeval tv = pg_tv(p->to.ping_ms);

	if (p->state == PG_UP && p->head == NULL)
		evtimer_add(p->timer, &tv);
}

/* pg_result_error - the error of a finished query's result, or NULL on success. */
static const char *pg_result_error(const struct pg *p, const PGresult *res, char *buf,
				   size_t size)
{
	ExecStatusType st = PQresultStatus(res);
	const char *msg;

	if (res != NULL && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK))
		return NULL;
	msg = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (msg == NULL)
		msg = res != NULL && PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res)
								  : "no result";
	return pg_url_scrub(p->url, msg, buf, size);
}

/* pg_finish_head - the head's results are all in: run its callback. */
static void pg_finish_head(struct pg *p)
{
	struct pg_query *q = pg_pop(p);
	PGresult *res = p->res;
	char buf[1024];

	p->res = NULL;
	p->sent = false;
	evtimer_del(p->timer);
	q->done_cb(q->arg, res, pg_result_error(p, res, buf, sizeof(buf)));
	PQclear(res);
	pg_query_free(q);
}

/* pg_keep - hold r as the head's result: the first error wins, else the last result. */
static void pg_keep(struct pg *p, PGresult *r)
{
	ExecStatusType st = p->res != NULL ? PQresultStatus(p->res) : PGRES_EMPTY_QUERY;

	if (p->res != NULL && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		PQclear(r);
		return;
	}
	PQclear(p->res);
	p->res = r;
}

/* pg_results - take the finished results; send the next query. */
static void pg_results(struct pg *p)
{
	unsigned gen = p->gen;

	while (p->sent && !PQisBusy(p->conn)) {
		PGresult *r = PQgetResult(p->conn);
		if (r != NULL) {
			pg_keep(p, r);
			continue;
		}
		pg_finish_head(p);
		if (pg_stale(p, gen))
			return;
		pg_send_next(p);
		if (pg_stale(p, gen))
			return;
	}
	if (!p->sent)
		pg_idle(p);
}

/* pg_notifies - hand each notification to notify_cb (while up). */
static void pg_notifies(struct pg *p)
{
	unsigned gen = p->gen;
	PGnotify *n;

	while (!pg_stale(p, gen) && (n = PQnotifies(p->conn)) != NULL) {
		if (p->state == PG_UP && p->cb.notify_cb != NULL)
			p->cb.notify_cb(p->cb.arg, n->relname, n->extra);
		PQfreemem(n);
	}
}

/* pg_read - the socket is readable: take input, flush, notifications, results. */
static void pg_read(struct pg *p)
{
	unsigned gen = p->gen;

	if (!PQconsumeInput(p->conn) || PQstatus(p->conn) == CONNECTION_BAD) {
		pg_fail(p, PQerrorMessage(p->conn));
		return;
	}
	if (p->flushing && pg_flush(p) < 0)
		return;
	pg_notifies(p);
	if (!pg_stale(p, gen))
		pg_results(p);
	if (!pg_stale(p, gen)) /* a NOTIFY read behind a result: PQgetResult parsed it just now */
		pg_notifies(p);
}

/* pg_read_cb - libevent: the connection's socket is readable. */
static void pg_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pg *p = arg;

	(void)fd;
	(void)what;
	pg_enter(p);
	pg_read(p);
	pg_leave(p);
}

/* pg_write_cb - libevent: the socket takes more output. */
static void pg_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pg *p = arg;

	(void)fd;
	(void)what;
	pg_enter(p);
	if (p->flushing)
		pg_flush(p);
	pg_leave(p);
}

/* pg_ping_done_cb - the answer to an idle ping: a failure has already been dealt with. */
static void pg_ping_done_cb(void *arg, PGresult *res, const char *error)
{
	(void)arg;
	(void)res;
	(void)error;
}

/* pg_timer_cb - libevent: a timeout, or time for an idle ping. */
static void pg_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pg *p = arg;

	(void)fd;
	(void)what;
	pg_enter(p);
	if (p->state == PG_UP && !p->sent) {
		if (p->head == NULL)
			pg_enqueue(p, "SELECT 1", 0, NULL, pg_ping_done_cb, p);
		pg_send_next(p);
	} else {
		pg_timeout(p);
	}
	pg_leave(p);
}

/* pg_kick_cb - libevent: send what pg_query queued. */
static void pg_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pg *p = arg;

	(void)fd;
	(void)what;
	pg_enter(p);
	pg_send_next(p);
	pg_leave(p);
}

void pg_io_start(struct pg *p)
{
	int fd = PQsocket(p->conn);

	p->read_ev = event_new(p->base, fd, EV_READ | EV_PERSIST, pg_read_cb, p);
	p->write_ev = event_new(p->base, fd, EV_WRITE, pg_write_cb, p);
	if (p->read_ev == NULL || p->write_ev == NULL)
		fatal("pg: out of memory");
	event_add(p->read_ev, NULL);
	p->flushing = false;
}

void pg_io_stop(struct pg *p)
{
	if (p->read_ev != NULL)
		event_free(p->read_ev);
	if (p->write_ev != NULL)
		event_free(p->write_ev);
	if (p->conn_ev != NULL)
		event_free(p->conn_ev);
	p->read_ev = p->write_ev = p->conn_ev = NULL;
	evtimer_del(p->timer);
	PQclear(p->res);
	p->res = NULL;
	p->flushing = false;
}

/* pg_copy_list - a NULL-terminated copy of list (which may be NULL). */
static char **pg_copy_list(const char *const *list)
{
	size_t n = 0;
	char **copy;

	while (list != NULL && list[n] != NULL)
		n++;
	copy = xcalloc(n + 1, sizeof(*copy));
	for (size_t i = 0; i < n; i++)
		copy[i] = xstrdup(list[i]);
	return copy;
}

struct pg *pg_open(struct event_base *base, const char *url, const char *const *listen_channels,
		   const struct pg_callbacks *cb)
{
	struct pg *p = xcalloc(1, sizeof(*p));
	const char *error;
	struct timeval zero = { 0, 0 };

	if (pg_url_parse(url, &p->parsed, &error) < 0)
		fatal("pg_open: %s", error);
	p->base = base;
	p->url = xstrdup(url);
	pg_url_redact(url, p->name, sizeof(p->name));
	p->listen = pg_copy_list(listen_channels);
	p->cb = *cb;
	p->to = pg_default_timeouts;
	p->tail = &p->head;
	p->timer = evtimer_new(base, pg_timer_cb, p);
	p->retry_ev = evtimer_new(base, pg_attempt_cb, p);
	p->kick_ev = event_new(base, -1, 0, pg_kick_cb, p);
	if (p->timer == NULL || p->retry_ev == NULL || p->kick_ev == NULL)
		fatal("pg_open: out of memory");
	evtimer_add(p->retry_ev, &zero);
	return p;
}

void pg_set_timeouts(struct pg *p, const struct pg_timeouts *t)
{
	if (t->connect_ms > 0)
		p->to.connect_ms = t->connect_ms;
	if (t->query_ms > 0)
		p->to.query_ms = t->query_ms;
	if (t->ping_ms > 0)
		p->to.ping_ms = t->ping_ms;
}

void pg_set_resolver(struct pg *p, struct workq *q)
{
	p->resolver = q;
}

int pg_query(struct pg *p, const char *sql, int nparams, const char *const *params,
	     pg_done_cb *done_cb, void *arg)
{
	if (!pg_is_up(p))
		return -1;
	pg_enqueue(p, sql, nparams, params, done_cb, arg);
	if (!p->sent)
		event_active(p->kick_ev, EV_TIMEOUT, 1);
	return 0;
}

bool pg_is_up(const struct pg *p)
{
	return p->state == PG_UP && !p->closed;
}

const char *pg_name(const struct pg *p)
{
	return p->name;
}

void pg_close(struct pg **pp)
{
	struct pg *p = *pp;

	*pp = NULL;
	if (p == NULL || p->closed)
		return;
	p->closed = true;
	if (p->depth == 0)
		pg_destroy(p);
}
