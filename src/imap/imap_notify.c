/* imap_notify - one inotify descriptor, its watches shared by the sessions watching a folder. */
#include "imap/imap_notify.h"

#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "util/log.h"
#include "util/xalloc.h"

#define IMAP_NOTIFY_BUCKETS 4096
#define IMAP_NOTIFY_MASK (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR)

struct imap_notify_dir;

/* One watch's place in the list of one of its two directories. */
struct imap_notify_link {
	struct imap_notify_watch *w;
	struct imap_notify_link *prev, *next;
	struct imap_notify_dir *dir;
};

/* A watched directory: one kernel watch, the list of the session watches on it. */
struct imap_notify_dir {
	int wd; /* -1 once the kernel dropped it (IN_IGNORED) */
	struct imap_notify_dir *next; /* hash chain */
	struct imap_notify_link *links;
	unsigned refs;
};

struct imap_notify_watch {
	struct imap_notify *n;
	struct imap_notify_link link[2]; /* new/, cur/ */
	imap_notify_cb *cb;
	void *arg;
};

struct imap_notify {
	struct event_base *base;
	unsigned dispatching; /* inside imap_notify_read_cb: freeing waits */
	int fd;
	struct event *ev;
	struct imap_notify_dir *buckets[IMAP_NOTIFY_BUCKETS];
	unsigned long dirs;
};

/* imap_notify_bucket - the hash chain of wd. */
static struct imap_notify_dir **imap_notify_bucket(struct imap_notify *n, int wd)
{
	return &n->buckets[(unsigned)wd % IMAP_NOTIFY_BUCKETS];
}

/* imap_notify_find - the directory entry of a live wd, or NULL. */
static struct imap_notify_dir *imap_notify_find(struct imap_notify *n, int wd)
{
	for (struct imap_notify_dir *d = *imap_notify_bucket(n, wd); d != NULL; d = d->next) {
		if (d->wd == wd)
			return d;
	}
	return NULL;
}

/* imap_notify_unhash - take d out of its chain (the kernel watch is gone or going). */
static void imap_notify_unhash(struct imap_notify *n, struct imap_notify_dir *d)
{
	struct imap_notify_dir **pp = imap_notify_bucket(n, d->wd);

	while (*pp != NULL && *pp != d)
		pp = &(*pp)->next;
	if (*pp == d)
		*pp = d->next;
	d->wd = -1;
}

/* imap_notify_dir_put - drop a reference; the kernel watch and the entry go with the last. */
static void imap_notify_dir_put(struct imap_notify *n, struct imap_notify_dir *d)
{
	if (--d->refs > 0)
		return;
	if (d->wd >= 0) {
		inotify_rm_watch(n->fd, d->wd);
		imap_notify_unhash(n, d);
	}
	n->dirs--;
	free(d);
}

/* imap_notify_fire - call every watch of d; a callback may remove its own watch, no other. */
static void imap_notify_fire(struct imap_notify *n, struct imap_notify_dir *d)
{
	d->refs++; /* d outlives the callbacks */
	for (struct imap_notify_link *l = d->links, *next; l != NULL; l = next) {
		next = l->next;
		l->w->cb(l->w->arg);
	}
	imap_notify_dir_put(n, d);
}

/* imap_notify_fire_all - the kernel's queue overflowed: every watch may have missed something. */
static void imap_notify_fire_all(struct imap_notify *n)
{
	for (size_t i = 0; i < IMAP_NOTIFY_BUCKETS; i++) {
		for (struct imap_notify_dir *d = n->buckets[i], *next; d != NULL; d = next) {
			next = d->next;
			imap_notify_fire(n, d);
		}
	}
}

/* imap_notify_event - one kernel event. */
static void imap_notify_event(struct imap_notify *n, const struct inotify_event *e)
{
	struct imap_notify_dir *d;

	if (e->mask & IN_Q_OVERFLOW) {
		log_err("imap notify: the kernel's event queue overflowed");
		imap_notify_fire_all(n);
		return;
	}
	if ((d = imap_notify_find(n, e->wd)) == NULL)
		return;
	if (e->mask & IN_IGNORED)
		imap_notify_unhash(n, d); /* deleted or unmounted: its wd may be reused */
	imap_notify_fire(n, d);
}

static void imap_notify_release(struct imap_notify *n);

/* imap_notify_read_cb - the descriptor is readable: every queued event. */
static void imap_notify_read_cb(evutil_socket_t fd, short what, void *arg)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct imap_notify *n = arg;
	ssize_t len;

	(void)what;
	n->dispatching++;
	while ((len = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + len;) {
			const struct inotify_event *e = (const struct inotify_event *)p;

			imap_notify_event(n, e);
			p += sizeof(*e) + e->len;
		}
	}
	if (len < 0 && errno != EAGAIN && errno != EINTR)
		log_err("imap notify: read: %s", strerror(errno));
	if (--n->dispatching == 0 && n->dirs == 0)
		imap_notify_release(n); /* its last watch went in a callback */
}

/* imap_notify_new - a notifier on base; NULL (logged) when inotify is unavailable. */
static struct imap_notify *imap_notify_new(struct event_base *base)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (fd < 0) {
		log_err("imap notify: inotify_init1: %s (IDLE sees news at the next command only)",
			strerror(errno));
		return NULL;
	}
	struct imap_notify *n = xcalloc(1, sizeof(*n));

	n->fd = fd;
	n->ev = event_new(base, fd, EV_READ | EV_PERSIST, imap_notify_read_cb, n);
	if (n->ev == NULL || event_add(n->ev, NULL) < 0)
		fatal("imap notify: cannot watch the inotify descriptor");
	return n;
}

/* imap_notify_free - close a notifier that watches nothing any more. */
static void imap_notify_free(struct imap_notify *n)
{
	event_free(n->ev);
	close(n->fd);
	free(n);
}

/* Each loop's notifier, by event base: made by its first watch, freed with its last. */
#define IMAP_NOTIFY_LOOPS 64
static struct {
	struct event_base *base;
	struct imap_notify *n;
} imap_notify_loops[IMAP_NOTIFY_LOOPS];
static pthread_mutex_t imap_notify_loops_lock = PTHREAD_MUTEX_INITIALIZER;

/* imap_notify_of - base's notifier, made when it has none; NULL if inotify fails. */
static struct imap_notify *imap_notify_of(struct event_base *base)
{
	struct imap_notify *n = NULL;
	size_t i, free_slot = IMAP_NOTIFY_LOOPS;

	pthread_mutex_lock(&imap_notify_loops_lock);
	for (i = 0; i < IMAP_NOTIFY_LOOPS && n == NULL; i++) {
		if (imap_notify_loops[i].base == base)
			n = imap_notify_loops[i].n;
		else if (imap_notify_loops[i].base == NULL && free_slot == IMAP_NOTIFY_LOOPS)
			free_slot = i;
	}
	if (n == NULL && free_slot < IMAP_NOTIFY_LOOPS && (n = imap_notify_new(base)) != NULL) {
		n->base = base;
		imap_notify_loops[free_slot].base = base;
		imap_notify_loops[free_slot].n = n;
	}
	pthread_mutex_unlock(&imap_notify_loops_lock);
	return n;
}

/* imap_notify_release - the loop's last watch is gone: close its notifier. */
static void imap_notify_release(struct imap_notify *n)
{
	if (n->dirs != 0)
		return;
	pthread_mutex_lock(&imap_notify_loops_lock);
	for (size_t i = 0; i < IMAP_NOTIFY_LOOPS; i++) {
		if (imap_notify_loops[i].n == n) {
			imap_notify_loops[i].base = NULL;
			imap_notify_loops[i].n = NULL;
		}
	}
	pthread_mutex_unlock(&imap_notify_loops_lock);
	imap_notify_free(n);
}

/* imap_notify_dir_get - the entry of path's kernel watch, made or shared; NULL if refused. */
static struct imap_notify_dir *imap_notify_dir_get(struct imap_notify *n, const char *path)
{
	int wd = inotify_add_watch(n->fd, path, IMAP_NOTIFY_MASK);
	struct imap_notify_dir *d;

	if (wd < 0) {
		log_err("imap notify: cannot watch %s: %s", path, strerror(errno));
		return NULL;
	}
	if ((d = imap_notify_find(n, wd)) == NULL) {
		d = xcalloc(1, sizeof(*d));
		d->wd = wd;
		d->next = *imap_notify_bucket(n, wd);
		*imap_notify_bucket(n, wd) = d;
		n->dirs++;
	}
	d->refs++;
	return d;
}

/* imap_notify_link_in - put a link at the head of its directory's list. */
static void imap_notify_link_in(struct imap_notify_link *l, struct imap_notify_dir *d,
				struct imap_notify_watch *w)
{
	l->w = w;
	l->dir = d;
	l->prev = NULL;
	l->next = d->links;
	if (d->links != NULL)
		d->links->prev = l;
	d->links = l;
}

/* imap_notify_link_out - unlink; the directory's kernel watch goes with its last link. */
static void imap_notify_link_out(struct imap_notify *n, struct imap_notify_link *l)
{
	struct imap_notify_dir *d = l->dir;

	if (d == NULL)
		return;
	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		d->links = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	l->dir = NULL;
	imap_notify_dir_put(n, d);
}

struct imap_notify_watch *imap_notify_add(struct event_base *base, const char *folder_dir,
					  imap_notify_cb *cb, void *arg)
{
	static const char *const subs[2] = { "new", "cur" };
	struct imap_notify *n = imap_notify_of(base);
	struct imap_notify_watch *w;

	if (n == NULL)
		return NULL;
	w = xcalloc(1, sizeof(*w));
	w->n = n;
	w->cb = cb;
	w->arg = arg;
	for (int i = 0; i < 2; i++) {
		char path[PATH_MAX];
		struct imap_notify_dir *d = NULL;

		if (snprintf(path, sizeof(path), "%s/%s", folder_dir, subs[i]) < (int)sizeof(path))
			d = imap_notify_dir_get(n, path);
		if (d == NULL) {
			imap_notify_remove(&w);
			return NULL;
		}
		imap_notify_link_in(&w->link[i], d, w);
	}
	return w;
}

void imap_notify_remove(struct imap_notify_watch **wp)
{
	struct imap_notify_watch *w = *wp;
	struct imap_notify *n;

	if (w == NULL)
		return;
	n = w->n;
	imap_notify_link_out(n, &w->link[0]);
	imap_notify_link_out(n, &w->link[1]);
	free(w);
	*wp = NULL;
	if (n->dispatching == 0)
		imap_notify_release(n); /* inside a callback: once the events are handled */
}
