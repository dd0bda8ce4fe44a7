/* accounts - the account table, reloaded by a worker when the users file changes. */
#include "auth/accounts.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

#define ACCOUNTS_CHECK_SECONDS 1

/* A callback waiting for a check to finish. */
struct accounts_waiter {
	void (*done_cb)(void *arg);
	void *arg;
	struct accounts_waiter *next;
};

/* One check of the file on the worker. */
struct accounts_job {
	struct accounts *a;   /* NULL: the table was freed meanwhile */
	char *path;
	struct users_db db;   /* starts with the identity of the table in force */
	int rc;               /* users_refresh: 1 reloaded, 0 unchanged, -1 error */
	char *error;
	struct accounts_waiter *waiters;
};

struct accounts {
	struct users_db db;
	char *path;
	struct workq *io;
	struct event *timer;
	struct accounts_job *job;      /* in flight, or NULL */
	struct accounts_waiter *next;  /* waiting for the check after the one in flight */
	bool again;                    /* a check was asked for while one ran */
};

static void accounts_check(struct accounts *a);

/* accounts_run_waiters - call and free a list of waiters. */
static void accounts_run_waiters(struct accounts_waiter *w)
{
	while (w != NULL) {
		struct accounts_waiter *next = w->next;
		w->done_cb(w->arg);
		free(w);
		w = next;
	}
}

/* accounts_work - on the worker: stat, and read and parse when the file changed. */
static void accounts_work(void *arg)
{
	struct accounts_job *j = arg;

	j->rc = users_refresh(&j->db, j->path, &j->error);
}

/* accounts_done_cb - on the loop: swap a new table in, or log why not. */
static void accounts_done_cb(void *arg)
{
	struct accounts_job *j = arg;
	struct accounts *a = j->a;

	if (a != NULL && j->rc == 1) {
		users_free(&a->db);
		a->db = j->db;
		users_init(&j->db);
		log_info("users: %s reloaded, %zu account(s)", j->path, a->db.n);
	} else if (a != NULL && j->rc < 0) {
		a->db.failed = j->db.failed; /* reported once, not again until it changes */
		if (j->error != NULL)
			log_err("users: %s; keeping the last good table", j->error);
	}
	users_free(&j->db);
	free(j->error);
	free(j->path);
	accounts_run_waiters(j->waiters);
	free(j);
	if (a != NULL) {
		a->job = NULL;
		if (a->again || a->next != NULL)
			accounts_check(a);
	}
}

/* accounts_check - start a check on the worker, taking the waiters for it. */
static void accounts_check(struct accounts *a)
{
	struct accounts_job *j = xcalloc(1, sizeof(*j));

	j->a = a;
	j->path = xstrdup(a->path);
	users_init(&j->db);
	j->db.loaded = a->db.loaded;
	j->db.failed = a->db.failed;
	j->waiters = a->next;
	a->next = NULL;
	a->again = false;
	a->job = j;
	workq_submit(a->io, accounts_work, accounts_done_cb, j);
}

/* accounts_timer_cb - the periodic check, for files edited by hand. */
static void accounts_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct accounts *a = arg;

	(void)fd;
	(void)what;
	if (a->job == NULL)
		accounts_check(a);
}

struct accounts *accounts_open(struct event_base *base, struct workq *io, const char *path)
{
	struct accounts *a = xcalloc(1, sizeof(*a));
	struct timeval every = { .tv_sec = ACCOUNTS_CHECK_SECONDS, .tv_usec = 0 };
	char *error = NULL;

	users_init(&a->db);
	a->path = xstrdup(path);
	a->io = io;
	if (users_load(&a->db, path, &error) < 0) {
		log_err("users: %s", error);
		free(error);
	}
	a->timer = event_new(base, -1, EV_PERSIST, accounts_timer_cb, a);
	event_add(a->timer, &every);
	return a;
}

void accounts_free(struct accounts **ap)
{
	struct accounts *a = *ap;

	if (a == NULL)
		return;
	if (a->job != NULL)
		a->job->a = NULL; /* its answer frees it */
	accounts_run_waiters(a->next);
	event_free(a->timer);
	users_free(&a->db);
	free(a->path);
	free(a);
	*ap = NULL;
}

void accounts_set_path(struct accounts *a, const char *path)
{
	free(a->path);
	a->path = xstrdup(path);
	memset(&a->db.loaded, 0, sizeof(a->db.loaded)); /* a new file: read it whatever it is */
	memset(&a->db.failed, 0, sizeof(a->db.failed));
	accounts_refresh(a, NULL, NULL);
}

const struct users_account *accounts_find(const struct accounts *a, const char *address)
{
	return users_find(&a->db, address);
}

const struct users_db *accounts_db(const struct accounts *a)
{
	return &a->db;
}

void accounts_refresh(struct accounts *a, void (*done_cb)(void *arg), void *arg)
{
	if (done_cb != NULL) {
		struct accounts_waiter *w = xmalloc(sizeof(*w));
		w->done_cb = done_cb;
		w->arg = arg;
		w->next = a->next;
		a->next = w;
	}
	if (a->job == NULL)
		accounts_check(a);
	else
		a->again = true;
}
