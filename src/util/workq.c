/* workq - worker threads with completions delivered to the event loop. */
#include "util/workq.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/log.h"
#include "util/xalloc.h"

struct workq_job {
	void (*work_fn)(void *arg);
	void (*done_cb)(void *arg);
	void *arg;
	struct workq_job *next;
};

/* A singly linked FIFO. */
struct workq_list {
	struct workq_job *head, *tail;
};

struct workq {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct workq_list todo, done;
	bool stopping;
	unsigned nthreads;
	pthread_t *threads;
	int efd;
	struct event *ev;
	char name[16];
};

static void workq_list_push(struct workq_list *l, struct workq_job *j)
{
	j->next = NULL;
	if (l->tail != NULL)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
}

static struct workq_job *workq_list_take_all(struct workq_list *l)
{
	struct workq_job *j = l->head;

	l->head = l->tail = NULL;
	return j;
}

/* workq_thread_main - take jobs until stopping and the queue is empty. */
static void *workq_thread_main(void *arg)
{
	struct workq *q = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (q->todo.head == NULL && !q->stopping)
			pthread_cond_wait(&q->cond, &q->lock);
		struct workq_job *j = q->todo.head;
		if (j == NULL)
			break;
		q->todo.head = j->next;
		if (q->todo.head == NULL)
			q->todo.tail = NULL;
		pthread_mutex_unlock(&q->lock);
		j->work_fn(j->arg);
		pthread_mutex_lock(&q->lock);
		workq_list_push(&q->done, j);
		if (write(q->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_err("workq %s: eventfd write: %s", q->name, strerror(errno));
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

/* workq_run_done - run the done callbacks of finished jobs, in order. */
static void workq_run_done(struct workq *q)
{
	pthread_mutex_lock(&q->lock);
	struct workq_job *j = workq_list_take_all(&q->done);
	pthread_mutex_unlock(&q->lock);
	while (j != NULL) {
		struct workq_job *next = j->next;
		j->done_cb(j->arg);
		free(j);
		j = next;
	}
}

/* workq_wake_cb - the eventfd became readable: completions are waiting. */
static void workq_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;

	(void)what;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_err("workq: eventfd read: %s", strerror(errno));
	workq_run_done(arg);
}

struct workq *workq_new(struct event_base *base, unsigned nthreads, const char *name)
{
	struct workq *q = xcalloc(1, sizeof(*q));

	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	snprintf(q->name, sizeof(q->name), "%s", name);
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0)
		fatal("eventfd: %s", strerror(errno));
	q->ev = event_new(base, q->efd, EV_READ | EV_PERSIST, workq_wake_cb, q);
	event_add(q->ev, NULL);
	q->nthreads = nthreads;
	q->threads = xcalloc(nthreads, sizeof(*q->threads));
	for (unsigned i = 0; i < nthreads; i++) {
		int err = pthread_create(&q->threads[i], NULL, workq_thread_main, q);
		if (err != 0)
			fatal("pthread_create: %s", strerror(err));
		pthread_setname_np(q->threads[i], q->name);
	}
	return q;
}

void workq_submit(struct workq *q, void (*work_fn)(void *arg), void (*done_cb)(void *arg),
		  void *arg)
{
	struct workq_job *j = xmalloc(sizeof(*j));

	j->work_fn = work_fn;
	j->done_cb = done_cb;
	j->arg = arg;
	pthread_mutex_lock(&q->lock);
	workq_list_push(&q->todo, j);
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

void workq_free(struct workq **qp)
{
	struct workq *q = *qp;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	for (unsigned i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	workq_run_done(q);
	event_free(q->ev);
	close(q->efd);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q->threads);
	free(q);
	*qp = NULL;
}
