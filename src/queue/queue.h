/*
 * queue - the outbound queue manager inside posternd, on the daemon's event
 * loop. It keeps every entry of DATA_DIR/queue (env/ID + msg/ID) in memory,
 * groups the pending recipients of each message per destination (a
 * [routes] entry, the relayhost, or the recipient's domain for MX
 * delivery), runs one SMTP transaction per (message, destination) within
 * per-destination and total connection limits, and retries temporary
 * failures with exponential backoff (5 minutes, doubling, capped at 4
 * hours; the hidden test hook POSTERN_QUEUE_BACKOFF=SECONDS replaces the
 * 5 minutes). A permanent failure, or a temporary one older than
 * delivery.max_queue_lifetime, bounces (queue/bounce.h).
 *
 * Durability: after each attempt that changed an envelope, the envelope is
 * rewritten (tmp + fsync + rename + fsync of the directory, on a worker)
 * before anything else happens to that message, so a recipient the remote
 * server acknowledged is never sent twice after a restart. When every
 * recipient is delivered or bounced, env then msg are removed.
 *
 * Test hook: POSTERN_SMTP_PORT=PORT sends MX deliveries to PORT instead of
 * 25 (so tests can run their MX hosts on loopback without root).
 */
#ifndef POSTERN_QUEUE_H
#define POSTERN_QUEUE_H

struct daemon;
struct queue;

/* queue_open - load the queue (dropping orphans), start delivering. NULL with *error_r. */
struct queue *queue_open(struct daemon *d, char **error_r);

/* queue_free - after the loop ended (SIGTERM stops the queue like a connection). */
void queue_free(struct queue **qp);

/* queue_add - the store queued message id: load its envelope and schedule it. */
void queue_add(struct queue *q, const char *id);

/* queue_flush - retry every deferred recipient now. */
void queue_flush(struct queue *q);

/* queue_delete - forget entry id and remove its files; -1 when there is none. */
int queue_delete(struct queue *q, const char *id);

#endif
