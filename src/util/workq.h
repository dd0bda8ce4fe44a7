/*
 * workq - a small pool of worker threads for the slow work that must stay
 * off the event loop (fsync, password hashing). A job's work function runs
 * on a worker; its done callback runs later on the loop thread, woken by an
 * eventfd. Jobs never touch the loop's data from the worker side.
 */
#ifndef POSTERN_WORKQ_H
#define POSTERN_WORKQ_H

struct event_base;
struct workq;

/* workq_new - start nthreads workers whose completions run on base. */
struct workq *workq_new(struct event_base *base, unsigned nthreads, const char *name);

/* workq_submit - run work_fn(arg) on a worker, then done_cb(arg) on the loop. */
void workq_submit(struct workq *q, void (*work_fn)(void *arg), void (*done_cb)(void *arg),
		  void *arg);

/* workq_free - finish queued jobs, run their callbacks, stop the workers. */
void workq_free(struct workq **qp);

#endif
