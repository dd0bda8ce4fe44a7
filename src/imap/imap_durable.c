/*
 * imap_durable - APPEND and COPY made durable in groups. Their files are
 * written and linked outside the message store, but they wait for the
 * store's syncs (store_sync) instead of syncing each file, directory and
 * uidlist themselves: one syncfs covers every session's APPENDs and the
 * SMTP deliveries in flight at that moment, as the SMTP store does.
 *
 * APPEND goes the way of the store's own messages (store_sync_link): its
 * text durable with one sync, linked on the sync worker right after it
 * (if the folder's uidlist lock is free at once: that worker holds up
 * every commit, so it never waits), and answered after the next sync.
 * Otherwise, and for COPY, whose sources are durable already: the work on
 * an io worker, where it may wait for the lock, then a sync. Every store
 * call is made on the daemon's loop, the store's only user; the answer
 * goes back to the session's own loop.
 */
#include <stdlib.h>

#include "daemon/daemon.h"
#include "daemon/loops.h"
#include "imap/imap_internal.h"
#include "store/store.h"
#include "util/workq.h"
#include "util/xalloc.h"

struct imap_durable {
	struct daemon *daemon;
	struct daemon_loop *loop; /* the session's, or NULL: the daemon's own */
	bool sync_first;
	bool busy; /* the work found the lock taken on the sync worker: again, on an io worker */
	int (*work)(void *arg, bool wait);
	void (*after)(void *arg); /* once the work is durable, on an io worker; or NULL */
	void (*done)(void *arg, int err);
	void *arg;
	int err;
};

/* imap_durable_deliver - on the session's loop: the answer. */
static void imap_durable_deliver(void *p)
{
	struct imap_durable *h = p;

	h->done(h->arg, h->err);
	free(h);
}

/* imap_durable_finish - on the daemon's loop: back to the session. */
static void imap_durable_finish(struct imap_durable *h, int err)
{
	h->err = err;
	if (h->loop != NULL)
		daemon_loop_post(h->loop, imap_durable_deliver, h);
	else
		imap_durable_deliver(h);
}

/* imap_durable_after_work - on an io worker: what may only follow the durable work. */
static void imap_durable_after_work(void *p)
{
	struct imap_durable *h = p;

	h->after(h->arg);
}

/* imap_durable_after_done - on the daemon's loop: back to the session. */
static void imap_durable_after_done(void *p)
{
	imap_durable_finish(p, 0);
}

/* imap_durable_final_cb - the sync after the work: links and uidlist durable (or not). */
static void imap_durable_final_cb(void *p, int err)
{
	struct imap_durable *h = p;

	if (err == 0 && h->after != NULL)
		workq_submit(h->daemon->io, imap_durable_after_work, imap_durable_after_done, h);
	else
		imap_durable_finish(h, err);
}

/* imap_durable_work - on an io worker: the work, waiting for the lock if need be. */
static void imap_durable_work(void *p)
{
	struct imap_durable *h = p;

	h->work(h->arg, true);
}

/* imap_durable_worked - on the daemon's loop: the work is done; sync what it did. */
static void imap_durable_worked(void *p)
{
	struct imap_durable *h = p;

	store_sync(h->daemon->store, imap_durable_final_cb, h);
}

/* imap_durable_link - on the sync worker, the text durable: the work, if it need not wait. */
static void imap_durable_link(void *p)
{
	struct imap_durable *h = p;

	h->busy = h->work(h->arg, false) == 1;
}

/* imap_durable_linked_cb - after the sync that followed the link: done, or the io worker's way. */
static void imap_durable_linked_cb(void *p, int err)
{
	struct imap_durable *h = p;

	if (err != 0 || !h->busy)
		imap_durable_finish(h, err);
	else
		workq_submit(h->daemon->io, imap_durable_work, imap_durable_worked, h);
}

/* imap_durable_start - on the daemon's loop. */
static void imap_durable_start(void *p)
{
	struct imap_durable *h = p;

	if (h->sync_first)
		store_sync_link(h->daemon->store, imap_durable_link, imap_durable_linked_cb, h);
	else
		workq_submit(h->daemon->io, imap_durable_work, imap_durable_worked, h);
}

void imap_submit_durable(struct imap_session *s, bool sync_first, int (*work)(void *arg, bool wait),
			 void (*after)(void *arg), void (*done)(void *arg, int err), void *arg)
{
	struct imap_durable *h = xmalloc(sizeof(*h));

	*h = (struct imap_durable){ .daemon = s->daemon, .loop = s->loop, .sync_first = sync_first,
				    .work = work, .after = after, .done = done, .arg = arg };
	if (s->loop != NULL)
		daemon_post(s->daemon, imap_durable_start, h);
	else
		imap_durable_start(h);
}
