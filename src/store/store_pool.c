/*
 * store_pool - empty files in the store's tmp directory, made ahead on the
 * pool's own worker, so that neither the loop (a message takes one) nor
 * the sync worker (whose every moment is a message's wait) creates a file.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store/store_internal.h"
#include "util/workq.h"
#include "util/xalloc.h"

struct store_refill {
	struct store *s;
	size_t want;
	unsigned long first;    /* pool.N of the first file to make */
	struct store_pool made; /* the files made */
};

/* store_refill_work - on the pool's worker: create the empty files. */
static void store_refill_work(void *arg)
{
	struct store_refill *r = arg;
	char path[PATH_MAX];

	for (size_t i = 0; i < r->want; i++) {
		unsigned long n = r->first + i;
		snprintf(path, sizeof(path), "%s/pool.%lu", r->s->tmp_dir, n);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			break;
		r->made.fd[r->made.count] = fd;
		r->made.n[r->made.count++] = n;
	}
}

/* store_refill_done - on the loop: the files join the pool. */
static void store_refill_done(void *arg)
{
	struct store_refill *r = arg;
	struct store_pool *pool = &r->s->pool;

	pool->busy = false;
	pool->stalled = r->made.count < r->want; /* e.g. the disk is full */
	for (size_t i = 0; i < r->made.count; i++) {
		pool->fd[pool->count] = r->made.fd[i];
		pool->n[pool->count++] = r->made.n[i];
	}
	free(r);
}

void store_pool_refill(struct store *s)
{
	struct store_pool *pool = &s->pool;

	if (s->pooler == NULL || s->closing || pool->busy || pool->stalled ||
	    pool->count > STORE_POOL_MAX / 2)
		return;
	struct store_refill *r = xcalloc(1, sizeof(*r));
	r->s = s;
	r->want = STORE_POOL_MAX - pool->count;
	r->first = pool->next;
	pool->next += r->want;
	pool->busy = true;
	workq_submit(s->pooler, store_refill_work, store_refill_done, r);
}

int store_pool_take(struct store *s, char *buf, size_t size)
{
	if (s->pool.count == 0)
		return -1;
	s->pool.count--;
	snprintf(buf, size, "%s/pool.%lu", s->tmp_dir, s->pool.n[s->pool.count]);
	int fd = s->pool.fd[s->pool.count];
	store_pool_refill(s);
	return fd;
}

void store_pool_free(struct store *s)
{
	char path[PATH_MAX];

	workq_free(&s->pooler); /* runs the callback of the refill in flight */
	while (s->pool.count > 0) {
		int fd = store_pool_take(s, path, sizeof(path));
		close(fd);
		unlink(path);
	}
}
