/*
 * queue_internal - what the queue's files share: the entries (queue.c),
 * the scheduler and destinations (queue_sched.c) and the delivery jobs
 * (queue_deliver.c).
 */
#ifndef POSTERN_QUEUE_INTERNAL_H
#define POSTERN_QUEUE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "daemon/daemon.h"
#include "queue/queue_env.h"

#define QUEUE_DEST_MAX_CONN 10   /* connections per destination */
#define QUEUE_TOTAL_MAX_CONN 50  /* connections in total */
#define QUEUE_BACKOFF_BASE 300   /* first retry after 5 minutes */
#define QUEUE_BACKOFF_MAX 14400  /* capped at 4 hours */

struct dns;
struct event;
struct queue_job;
struct workq;

/* One message waiting in DATA_DIR/queue. */
struct queue_entry {
	struct queue_entry *next;
	struct queue *queue;
	struct queue_env env;
	bool *busy;        /* per recipient: in a delivery job or a DSN now */
	long long size;    /* of the message file */
	unsigned active;   /* delivery jobs in flight */
	bool writing;      /* envelope rewrite on the worker */
	bool dirty;        /* changed again while writing */
	bool bouncing;     /* a DSN commit in flight */
	bool unsettled;    /* just added: the scheduler's next turn settles it (queue_run) */
	bool removing;     /* files being removed */
	bool deleted;      /* posternctl queue delete: remove when idle */
	time_t bounce_retry;        /* a DSN that could not be stored is tried again then (0: none) */
	unsigned bounce_failures;   /* in a row, for the backoff */
};

/*
 * A destination: where a group of recipients goes, with its connection
 * count. When no address of it could even start a transaction (refused,
 * timed out, a 4xx greeting...), it is dead for the base backoff: its
 * other messages are deferred with that reason without a connection each,
 * as Postfix's dead-destination throttle does, so that one site down does
 * not take every connection slot. A flush, or an answer from it, ends that.
 */
struct queue_dest {
	struct queue_dest *next;
	char *name;
	unsigned active;
	time_t dead_until;   /* 0: alive */
	char *dead_error;    /* why, for the deferred recipients' logs */
};

/* How a recipient's domain is reached. */
struct queue_route {
	char key[300];  /* the destination's name: "[host]:port", the relayhost, or the domain */
	char host[256];
	unsigned port;
	bool mx;        /* look up MX records of host */
	bool auth;      /* the relayhost: log in with delivery.relayhost_auth */
	bool relayhost; /* delivery.relayhost: its certificate is verified (relayhost_tls_verify) */
};

struct queue {
	struct daemon *daemon;
	struct daemon_conn conn; /* SIGTERM stops the queue through the daemon's list */
	char *dir;               /* DATA_DIR/queue */
	struct queue_entry *entries;
	struct queue_dest *dests;
	struct queue_job *jobs;
	unsigned active;         /* jobs in flight */
	unsigned io;             /* worker jobs and DSN commits in flight */
	struct workq *worker;
	struct dns *dns;
	struct event *timer;
	unsigned backoff;        /* seconds before the first retry */
	unsigned smtp_port;      /* for MX deliveries */
	uint32_t next_job_id;
	bool stopping;
	bool linked;             /* conn is in the daemon's list */
};

/* queue_path - DATA_DIR/queue/SUB/ID into buf. */
void queue_path(const struct queue *q, const char *sub, const char *id, char *buf, size_t size);

/* queue_save - rewrite e's envelope durably, then settle it (bounce, remove). */
void queue_save(struct queue_entry *e);

/* queue_settle - an entry is idle: send pending DSNs, or remove it when done. */
void queue_settle(struct queue_entry *e);

/* queue_io_done - one worker job or DSN commit finished (ends a stop that waited). */
void queue_io_done(struct queue *q);

/* queue_kick - run the scheduler soon. */
void queue_kick(struct queue *q);

/* queue_sched_init - the scheduler's timer and settings. */
void queue_sched_init(struct queue *q);

/* queue_sched_free - drop the timer and the destinations. */
void queue_sched_free(struct queue *q);

/* queue_backoff - seconds to wait after the attempts-th failed attempt. */
unsigned queue_backoff(const struct queue *q, unsigned attempts);

/* queue_route - how mail for address's domain goes out. */
void queue_route(const struct queue *q, const char *address, struct queue_route *route_r);

/* queue_dest_get - the destination called name (created when new). */
struct queue_dest *queue_dest_get(struct queue *q, const char *name);

/* queue_dest_dead - no address of dest could start a transaction: suspend it (error: why). */
void queue_dest_dead(struct queue *q, struct queue_dest *dest, const char *error);

/* queue_dest_alive - dest answered, or the administrator flushed: deliver to it again. */
void queue_dest_alive(struct queue_dest *dest);

/* queue_job_start - deliver recipients idx[0..n) of e to route (takes idx). */
void queue_job_start(struct queue *q, struct queue_entry *e, struct queue_dest *dest,
		     const struct queue_route *route, size_t *idx, size_t n);

/* queue_job_abort_entry - abort e's jobs (shutdown or delete); recipients stay as they were. */
void queue_job_abort_entry(struct queue *q, struct queue_entry *e);

#endif
