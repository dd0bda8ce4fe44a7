/* loops - session loop threads and the messages between loops. */
#include "daemon/loops.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "util/log.h"
#include "util/xalloc.h"

struct daemon_msg {
	void (*fn)(void *arg);
	void *arg;
	struct daemon_msg *next;
};

/* Messages for one loop, oldest first, and the event that wakes it. */
struct daemon_mailbox {
	pthread_mutex_t lock;
	struct daemon_msg *head, *tail;
	struct event *wake;
};

struct daemon_loop {
	struct daemon *daemon;
	struct event_base *base;
	pthread_t thread;
	struct daemon_mailbox box;
	struct daemon_conn conns; /* list head: the connections living here */
	atomic_uint n_conns;
};

struct daemon_loops {
	struct daemon_mailbox main_box; /* the daemon's own loop */
	struct daemon_loop *loops;
	unsigned n;
};

/* daemon_mailbox_run_cb - run every message waiting, in order. */
static void daemon_mailbox_run_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon_mailbox *box = arg;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&box->lock);
	struct daemon_msg *m = box->head;
	box->head = box->tail = NULL;
	pthread_mutex_unlock(&box->lock);
	while (m != NULL) {
		struct daemon_msg *next = m->next;
		m->fn(m->arg);
		free(m);
		m = next;
	}
}

/* daemon_mailbox_init - an empty mailbox woken on base. */
static void daemon_mailbox_init(struct daemon_mailbox *box, struct event_base *base)
{
	pthread_mutex_init(&box->lock, NULL);
	box->head = box->tail = NULL;
	box->wake = event_new(base, -1, 0, daemon_mailbox_run_cb, box);
}

/* daemon_mailbox_free - run what is left, then free. */
static void daemon_mailbox_free(struct daemon_mailbox *box)
{
	daemon_mailbox_run_cb(-1, 0, box);
	event_free(box->wake);
	pthread_mutex_destroy(&box->lock);
}

/* daemon_mailbox_post - queue fn(arg) and wake the mailbox's loop (thread-safe). */
static void daemon_mailbox_post(struct daemon_mailbox *box, void (*fn)(void *arg), void *arg)
{
	struct daemon_msg *m = xmalloc(sizeof(*m));

	m->fn = fn;
	m->arg = arg;
	m->next = NULL;
	pthread_mutex_lock(&box->lock);
	if (box->tail != NULL)
		box->tail->next = m;
	else
		box->head = m;
	box->tail = m;
	pthread_mutex_unlock(&box->lock);
	event_active(box->wake, EV_READ, 0);
}

/* daemon_loop_main - a loop thread: dispatch until daemon_loops_stop ends it. */
static void *daemon_loop_main(void *arg)
{
	struct daemon_loop *l = arg;

	event_base_loop(l->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

void daemon_loops_start(struct daemon *d, unsigned n)
{
	struct daemon_loops *ls = xcalloc(1, sizeof(*ls));

	daemon_mailbox_init(&ls->main_box, d->base);
	ls->loops = xcalloc(n > 0 ? n : 1, sizeof(*ls->loops));
	ls->n = n;
	for (unsigned i = 0; i < n; i++) {
		struct daemon_loop *l = &ls->loops[i];
		char name[16];
		l->daemon = d;
		if ((l->base = event_base_new()) == NULL)
			fatal("event_base_new failed");
		daemon_mailbox_init(&l->box, l->base);
		l->conns.next = l->conns.prev = &l->conns;
		int err = pthread_create(&l->thread, NULL, daemon_loop_main, l);
		if (err != 0)
			fatal("pthread_create: %s", strerror(err));
		snprintf(name, sizeof(name), "loop%u", i + 1);
		pthread_setname_np(l->thread, name);
	}
	d->loops = ls;
	log_info("%u session loop thread(s) besides the main loop", n);
}

/* daemon_loop_exit_cb - on a loop's thread: leave its event loop. */
static void daemon_loop_exit_cb(void *arg)
{
	struct daemon_loop *l = arg;

	event_base_loopbreak(l->base);
}

void daemon_loops_stop(struct daemon *d)
{
	struct daemon_loops *ls = d->loops;

	if (ls == NULL)
		return;
	for (unsigned i = 0; i < ls->n; i++) {
		struct daemon_loop *l = &ls->loops[i];
		daemon_loop_post(l, daemon_loop_exit_cb, l);
		pthread_join(l->thread, NULL);
		daemon_mailbox_free(&l->box);
		event_base_free(l->base);
	}
	daemon_mailbox_free(&ls->main_box);
	free(ls->loops);
	free(ls);
	d->loops = NULL;
}

struct daemon_loop *daemon_loop_pick(struct daemon *d)
{
	struct daemon_loops *ls = d->loops;
	struct daemon_loop *best = NULL;

	for (unsigned i = 0; ls != NULL && i < ls->n; i++) {
		if (best == NULL || atomic_load(&ls->loops[i].n_conns) < atomic_load(&best->n_conns))
			best = &ls->loops[i];
	}
	return best;
}

struct event_base *daemon_loop_base(const struct daemon_loop *l)
{
	return l->base;
}

void daemon_loop_post(struct daemon_loop *l, void (*fn)(void *arg), void *arg)
{
	daemon_mailbox_post(&l->box, fn, arg);
}

void daemon_post(struct daemon *d, void (*fn)(void *arg), void *arg)
{
	daemon_mailbox_post(&d->loops->main_box, fn, arg);
}

void daemon_loop_adopt(struct daemon_loop *l, struct daemon_conn *conn)
{
	daemon_conn_link(&l->conns, conn);
	atomic_fetch_add(&l->n_conns, 1);
}

/* daemon_loop_gone_cb - on the daemon's loop: a connection of another loop ended. */
static void daemon_loop_gone_cb(void *arg)
{
	struct daemon *d = arg;

	d->n_conns--;
	if (atomic_load(&d->stopping) && d->n_conns == 0)
		event_base_loopexit(d->base, NULL);
}

void daemon_loop_release(struct daemon_loop *l, struct daemon_conn *conn)
{
	daemon_conn_detach(conn);
	atomic_fetch_sub(&l->n_conns, 1);
	daemon_post(l->daemon, daemon_loop_gone_cb, l->daemon);
}

/* daemon_loop_stop_cb / daemon_loop_abort_cb - on a loop's thread: reach each connection. */
static void daemon_loop_each(struct daemon_loop *l, bool abort)
{
	for (struct daemon_conn *c = l->conns.next, *next; c != &l->conns; c = next) {
		next = c->next;
		if (!abort)
			c->stop(c);
		else if (c->abort != NULL)
			c->abort(c);
	}
}

static void daemon_loop_stop_cb(void *arg)
{
	daemon_loop_each(arg, false);
}

static void daemon_loop_abort_cb(void *arg)
{
	daemon_loop_each(arg, true);
}

void daemon_loops_stop_conns(struct daemon *d, bool abort)
{
	struct daemon_loops *ls = d->loops;

	for (unsigned i = 0; ls != NULL && i < ls->n; i++)
		daemon_loop_post(&ls->loops[i], abort ? daemon_loop_abort_cb : daemon_loop_stop_cb,
				 &ls->loops[i]);
}

void daemon_move_out(struct bufferevent **bevp, struct daemon_move *m)
{
	struct bufferevent *bev = *bevp;

	m->in = evbuffer_new();
	m->out = evbuffer_new();
	evbuffer_add_buffer(m->in, bufferevent_get_input(bev));
	evbuffer_unfreeze(bufferevent_get_output(bev), 1); /* only the bufferevent drains it */
	evbuffer_add_buffer(m->out, bufferevent_get_output(bev));
	m->fd = bufferevent_getfd(bev);
	bufferevent_setfd(bev, -1); /* the socket goes with the session */
	bufferevent_free(bev);
	*bevp = NULL;
}

struct bufferevent *daemon_move_in(struct daemon_loop *l, struct daemon_move *m)
{
	struct bufferevent *bev = bufferevent_socket_new(daemon_loop_base(l), m->fd,
							 BEV_OPT_CLOSE_ON_FREE);

	if (bev == NULL)
		fatal("bufferevent_socket_new failed");
	evbuffer_add_buffer(bufferevent_get_output(bev), m->out);
	evbuffer_prepend_buffer(bufferevent_get_input(bev), m->in); /* its end is frozen */
	evbuffer_free(m->out);
	evbuffer_free(m->in);
	m->in = m->out = NULL;
	return bev;
}
