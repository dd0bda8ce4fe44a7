/* grant_redis_conn - the Redis connection of the grant store: connect, SELECT, timeouts, retry. */
#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/adapters/libevent.h>

#include "relay/grant_redis.h"
#include "util/log.h"
#include "util/xalloc.h"

struct relay_redis {
	struct relay_store pub; /* first: the handle callers see */
	char host[256];
	unsigned port, db;
	char name[300]; /* redis://host:port/db, for logs */
	redisAsyncContext *ac; /* NULL: not connected nor connecting */
	bool ready;            /* connected and SELECT done */
	bool logged_down;      /* "unavailable" was logged since the last success */
	int64_t retry_at_ms;   /* no new connection attempt before */
	char last_error[128];
	struct event *connect_timer;
	struct relay_redis_op ops; /* list head of unfinished operations */
};

/* relay_redis_now_ms - the monotonic clock in milliseconds. */
static int64_t relay_redis_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* relay_redis_tv - milliseconds as a timeval. */
static struct timeval relay_redis_tv(int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	return tv;
}

/* relay_redis_op_finish - run op's handler once. */
static void relay_redis_op_finish(struct relay_redis_op *op, const redisReply *reply,
				  const char *error)
{
	if (op->finished)
		return;
	op->finished = true;
	op->reply(op, reply, error);
}

/* relay_redis_op_free - unlink and free op. */
static void relay_redis_op_free(struct relay_redis_op *op)
{
	op->prev->next = op->next;
	op->next->prev = op->prev;
	event_free(op->timer);
	free(op->cmd);
	free(op);
}

/* relay_redis_fail_soon - complete op with error on the next loop turn (it is not in hiredis). */
static void relay_redis_fail_soon(struct relay_redis_op *op, const char *error)
{
	struct timeval zero = { 0, 0 };

	snprintf(op->error, sizeof(op->error), "%s", error);
	free(op->cmd);
	op->cmd = NULL;
	evtimer_del(op->timer);
	evtimer_add(op->timer, &zero);
}

/* relay_redis_fail_waiting - every operation not yet sent fails soon with error. */
static void relay_redis_fail_waiting(struct relay_redis *r, const char *error)
{
	for (struct relay_redis_op *op = r->ops.next; op != &r->ops; op = op->next)
		if (op->cmd != NULL)
			relay_redis_fail_soon(op, error);
}

/* relay_redis_down - the connection failed: remember why, log once, fail what waits. */
static void relay_redis_down(struct relay_redis *r, const char *why, int retry_ms)
{
	char msg[200];

	snprintf(r->last_error, sizeof(r->last_error), "%s", why[0] ? why : "connection lost");
	if (!r->logged_down)
		log_warn("relay store %s: unavailable: %s", r->name, r->last_error);
	r->logged_down = true;
	r->ready = false;
	r->retry_at_ms = relay_redis_now_ms() + retry_ms;
	evtimer_del(r->connect_timer);
	snprintf(msg, sizeof(msg), "grant store (redis) unavailable: %s", r->last_error);
	relay_redis_fail_waiting(r, msg);
}

/* relay_redis_drop - close the connection from outside hiredis callbacks; in-flight ops fail. */
static void relay_redis_drop(struct relay_redis *r, const char *why, int retry_ms)
{
	redisAsyncContext *ac = r->ac;

	r->ac = NULL;
	relay_redis_down(r, why, retry_ms);
	if (ac != NULL)
		redisAsyncFree(ac); /* runs relay_redis_reply_cb (NULL) for each command */
}

/* relay_redis_reply_cb - hiredis: a reply, or NULL when the connection went away. */
static void relay_redis_reply_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct relay_redis_op *op = privdata;

	(void)ac;
	op->in_redis = false;
	relay_redis_op_finish(op, reply, reply != NULL ? NULL : "grant store (redis): connection lost");
	relay_redis_op_free(op);
}

/* relay_redis_send - hand op's command to hiredis. */
static void relay_redis_send(struct relay_redis *r, struct relay_redis_op *op)
{
	if (redisAsyncFormattedCommand(r->ac, relay_redis_reply_cb, op, op->cmd,
				       (size_t)op->cmd_len) != REDIS_OK) {
		relay_redis_fail_soon(op, "grant store (redis): cannot send");
		return;
	}
	op->in_redis = true;
	free(op->cmd);
	op->cmd = NULL;
}

/* relay_redis_select_cb - the reply to SELECT: the connection is ready, or unusable. */
static void relay_redis_select_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct relay_redis *r = privdata;
	const redisReply *rep = reply;

	if (rep == NULL)
		return; /* the connection is going away; its callbacks say why */
	if (rep->type == REDIS_REPLY_ERROR) {
		relay_redis_down(r, rep->str, RELAY_REDIS_RETRY_MS);
		r->ac = NULL;
		redisAsyncDisconnect(ac);
		return;
	}
	if (r->logged_down)
		log_info("relay store %s: connected", r->name);
	r->logged_down = false;
	r->ready = true;
	evtimer_del(r->connect_timer);
	for (struct relay_redis_op *op = r->ops.next; op != &r->ops; op = op->next)
		if (op->cmd != NULL)
			relay_redis_send(r, op);
}

/* relay_redis_connect_cb - hiredis: TCP connected, or failed (the context is then freed). */
static void relay_redis_connect_cb(const redisAsyncContext *ac, int status)
{
	struct relay_redis *r = ac->data;

	if (status == REDIS_OK)
		return; /* ready once SELECT answers */
	r->ac = NULL;
	relay_redis_down(r, ac->errstr, RELAY_REDIS_RETRY_MS);
}

/* relay_redis_disconnect_cb - hiredis: a connected context went away (the server closed, ...). */
static void relay_redis_disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct relay_redis *r = ac->data;

	if (r->ac != ac)
		return; /* dropped by us, already accounted for */
	r->ac = NULL;
	relay_redis_down(r, status == REDIS_OK ? "disconnected" : ac->errstr, 0);
}

/* relay_redis_connect_timeout_cb - no SELECT reply in time: give up on this connection. */
static void relay_redis_connect_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	relay_redis_drop(arg, "connection timed out", RELAY_REDIS_RETRY_MS);
}

/* relay_redis_connect - start a connection and its SELECT; -1 with r->last_error. */
static int relay_redis_connect(struct relay_redis *r)
{
	struct timeval tv = relay_redis_tv(RELAY_REDIS_CONNECT_TIMEOUT_MS);
	redisAsyncContext *ac = redisAsyncConnect(r->host, (int)r->port);

	if (ac == NULL || ac->err) {
		relay_redis_down(r, ac != NULL ? ac->errstr : "out of memory", RELAY_REDIS_RETRY_MS);
		if (ac != NULL)
			redisAsyncFree(ac);
		return -1;
	}
	ac->data = r;
	redisLibeventAttach(ac, r->pub.base);
	redisAsyncSetConnectCallback(ac, relay_redis_connect_cb);
	redisAsyncSetDisconnectCallback(ac, relay_redis_disconnect_cb);
	redisAsyncCommand(ac, relay_redis_select_cb, r, "SELECT %u", r->db);
	r->ac = ac;
	evtimer_add(r->connect_timer, &tv);
	return 0;
}

/* relay_redis_op_timer_cb - op timed out, or was set to fail soon. */
static void relay_redis_op_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_redis_op *op = arg;
	struct relay_redis *r = op->r;

	(void)fd;
	(void)what;
	if (!op->in_redis) {
		relay_redis_op_finish(op, NULL, op->error[0] ? op->error
							     : "grant store (redis): timed out");
		relay_redis_op_free(op);
		return;
	}
	/* No reply in time: this connection is useless; dropping it frees op. */
	relay_redis_op_finish(op, NULL, "grant store (redis): timed out");
	relay_redis_drop(r, "a reply timed out", RELAY_REDIS_RETRY_MS);
}

struct relay_redis_op *relay_redis_op_new(struct relay_redis *r, relay_redis_reply_fn *reply,
					  void *arg)
{
	struct relay_redis_op *op = xcalloc(1, sizeof(*op));

	op->r = r;
	op->reply = reply;
	op->arg = arg;
	op->timer = evtimer_new(r->pub.base, relay_redis_op_timer_cb, op);
	op->next = &r->ops;
	op->prev = r->ops.prev;
	r->ops.prev->next = op;
	r->ops.prev = op;
	return op;
}

void relay_redis_op_send(struct relay_redis_op *op, int argc, const char **argv,
			 const size_t *argvlen)
{
	struct relay_redis *r = op->r;
	struct timeval tv = relay_redis_tv(RELAY_REDIS_OP_TIMEOUT_MS);
	char error[200];

	op->cmd_len = redisFormatCommandArgv(&op->cmd, argc, argv, argvlen);
	if (op->cmd_len < 0) {
		op->cmd = NULL;
		relay_redis_fail_soon(op, "grant store (redis): out of memory");
		return;
	}
	evtimer_add(op->timer, &tv);
	if (r->ready)
		relay_redis_send(r, op);
	else if (r->ac == NULL &&
		 (relay_redis_now_ms() < r->retry_at_ms || relay_redis_connect(r) < 0)) {
		snprintf(error, sizeof(error), "grant store (redis) unavailable: %s", r->last_error);
		relay_redis_fail_soon(op, error);
	}
}

void relay_redis_op_fail(struct relay_redis_op *op, const char *error)
{
	relay_redis_fail_soon(op, error);
}

struct relay_redis *relay_redis_new(const char *host, unsigned port, unsigned db,
				    struct event_base *base)
{
	struct relay_redis *r = xcalloc(1, sizeof(*r));

	snprintf(r->host, sizeof(r->host), "%s", host);
	r->port = port;
	r->db = db;
	snprintf(r->name, sizeof(r->name), "redis://%s:%u/%u", host, port, db);
	r->pub.base = base;
	r->ops.next = r->ops.prev = &r->ops;
	r->connect_timer = evtimer_new(base, relay_redis_connect_timeout_cb, r);
	return r;
}

struct relay_store *relay_redis_store(struct relay_redis *r)
{
	return &r->pub;
}

void relay_redis_free(struct relay_redis *r)
{
	r->logged_down = true; /* closing is not an outage */
	relay_redis_drop(r, "closed", 0);
	while (r->ops.next != &r->ops) {
		struct relay_redis_op *op = r->ops.next;
		relay_redis_op_finish(op, NULL, "grant store closed");
		relay_redis_op_free(op);
	}
	event_free(r->connect_timer);
	free(r);
}
