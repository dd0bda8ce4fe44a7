/*
 * store_internal - what store.c (the message API, on the loop) and
 * store_batch.c (the commit pipeline, on the sync worker) share.
 */
#ifndef POSTERN_STORE_INTERNAL_H
#define POSTERN_STORE_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"

#define STORE_POOL_MAX 128 /* empty queue/tmp files made ahead (store_pool.c) */

struct store_rcpt {
	char *maildir; /* DATA_DIR/mail/DOMAIN/LOCAL */
	char *address; /* LOCAL@DOMAIN, for the delivery log line */
	char *orig;    /* the recipient an alias led here from, or NULL */
	bool linked;
};

struct store_msg {
	struct store *store;
	char id[24];
	char tmp_path[PATH_MAX / 2];
	char name[256]; /* Maildir base name, set at commit */
	int fd;
	int error; /* errno of the first failure */
	size_t stored_size;
	char *wbuf;
	size_t wlen;
	size_t flushed;     /* bytes written to fd so far */
	long long wire_delta; /* what splices changed of the size with CRLF line ends */
	bool sealed;        /* spliced: no more writes */
	bool splice_8bit;   /* spliced text has 8-bit bytes */
	struct store_rcpt *rcpts;
	size_t n_rcpts;
	char *envelope; /* queue entry for remote recipients, or NULL */
	size_t envelope_len;
	bool queued;    /* linked into queue/msg and queue/env */
	void (*done_cb)(void *arg, int err);
	void *done_arg;
	struct store_msg *next; /* in a batch, oldest first */
};

/* A store_sync / store_sync_link caller waiting for the next sync. */
struct store_waiter {
	void (*link)(void *arg); /* store_sync_link: on the worker after the first sync */
	void (*cb)(void *arg, int err);
	void *arg;
	struct store_waiter *next;
};

/* Empty files in queue/tmp, opened, ready for the next messages. */
struct store_pool {
	int fd[STORE_POOL_MAX];
	unsigned long n[STORE_POOL_MAX]; /* queue/tmp/pool.N */
	size_t count;
	unsigned long next; /* the next N to make */
	bool busy;          /* a refill is on the pool's worker */
	bool stalled;       /* the last refill fell short: wait for a commit to try again */
};

struct store {
	char *data_dir;
	char *hostname;
	char *tmp_dir; /* where texts are written: DATA_DIR/queue/tmp, or on mail/'s mount */
	int dir_fd;  /* data_dir, for syncfs */
	int mail_fd; /* DATA_DIR/mail when it is another mount (synced too), else -1 */
	struct workq *syncer;
	struct workq *pooler; /* makes the pool's files (store_pool.c) */
	unsigned long seq;
	struct store_msg *pending; /* written, waiting for a job, newest first */
	struct store_msg *linked;  /* linked, waiting for the sync that makes it durable */
	struct store_waiter *waiters; /* store_sync callers for the next job, newest first */
	struct store_waiter *linked_waiters; /* store_sync_link callers linked: the next sync answers */
	bool busy;                 /* a job is on the worker */
	bool closing;              /* store_close: no worker any more */
	struct store_pool pool;
	struct store_stats stats;
	void (*queued_cb)(void *arg, const char *id);
	void *queued_arg;
};

/* store_msg_free - close and free (the files are the caller's business). */
void store_msg_free(struct store_msg *m);

/* store_tmp_env - the path of the envelope written for the text, in queue/tmp (on DATA_DIR's mount). */
void store_tmp_env(const struct store_msg *m, char *buf, size_t size);

/* store_batch_start - hand pending and linked messages to the worker, unless it is busy. */
void store_batch_start(struct store *s);

/* store_pool_refill - have the pool's worker make files when the pool is half empty. */
void store_pool_refill(struct store *s);

/* store_pool_take - an empty queue/tmp file (fd, path into buf); -1 when the pool is empty. */
int store_pool_take(struct store *s, char *buf, size_t size);

/* store_pool_free - end the pool's worker, close the pool's files and remove them. */
void store_pool_free(struct store *s);

#endif
