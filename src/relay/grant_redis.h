/*
 * grant_redis - private to the Redis backend: the connection (grant_redis_conn.c)
 * and the operations built on it (grant_redis.c).
 *
 * The connection: one hiredis async context on the store's event loop
 * (libevent adapter). It is opened on first use and again after a drop;
 * "ready" means connected and SELECT DB acknowledged, and commands are sent
 * only then (so none can run in another database). An operation waits at
 * most RELAY_REDIS_OP_TIMEOUT_MS for its reply, connection included;
 * after a failed connection attempt, operations fail at once for
 * RELAY_REDIS_RETRY_MS before the next attempt, so a dead Redis costs each
 * caller nothing but an error. A reply that times out drops the
 * connection: a server that stopped answering is treated as down.
 */
#ifndef POSTERN_RELAY_GRANT_REDIS_H
#define POSTERN_RELAY_GRANT_REDIS_H

#include <stdbool.h>
#include <stdint.h>

#include "relay/grant_store.h"

#define RELAY_REDIS_CONNECT_TIMEOUT_MS 1000
#define RELAY_REDIS_OP_TIMEOUT_MS 2000
#define RELAY_REDIS_RETRY_MS 1000

struct redisReply;
struct relay_redis;
struct relay_redis_op;

/*
 * The operation's result handler: exactly once, with the reply (which may
 * be a Redis error reply) or with reply NULL and error set.
 */
typedef void relay_redis_reply_fn(struct relay_redis_op *op, const struct redisReply *reply,
				  const char *error);

/* One operation: a formatted command and what to do with its reply. */
struct relay_redis_op {
	struct relay_redis *r;
	struct relay_redis_op *prev, *next; /* r's list of unfinished operations */
	struct event *timer;                /* timeout, or "fail soon" */
	char *cmd;                          /* RESP text, until sent */
	int cmd_len;
	bool in_redis;  /* hiredis owns a callback for it */
	bool finished;  /* reply handler already ran */
	char error[256];
	relay_redis_reply_fn *reply;
	/* for the handler */
	union {
		relay_store_done_cb *done;
		relay_store_get_cb *get;
		relay_store_list_cb *list;
		relay_store_report_cb *report;
	} cb;
	void *arg;
	int64_t when;
};

/* relay_redis_new - the connection state for host:port/db; nothing is connected yet. */
struct relay_redis *relay_redis_new(const char *host, unsigned port, unsigned db,
				    struct event_base *base);

/* relay_redis_store - the public handle of r. */
struct relay_store *relay_redis_store(struct relay_redis *r);

/* relay_redis_free - fail every unfinished operation (handlers run), disconnect, free r. */
void relay_redis_free(struct relay_redis *r);

/* relay_redis_op_new - a new operation on r whose result goes to reply; set cb and when next. */
struct relay_redis_op *relay_redis_op_new(struct relay_redis *r, relay_redis_reply_fn *reply,
					  void *arg);

/*
 * relay_redis_op_send - send argc/argv (lengths argvlen) for op once the
 * connection is ready. The handler never runs before this returns.
 */
void relay_redis_op_send(struct relay_redis_op *op, int argc, const char **argv,
			 const size_t *argvlen);

/* relay_redis_op_fail - complete op (not sent) with error on the next loop turn. */
void relay_redis_op_fail(struct relay_redis_op *op, const char *error);

#endif
