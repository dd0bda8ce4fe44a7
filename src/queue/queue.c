/* queue - entries, durable envelope rewrites, bounces, removal, shutdown. */
#include "queue/queue.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr/srs.h"
#include "dns/dns.h"
#include "metrics/metrics.h"
#include "queue/bounce.h"
#include "queue/queue_internal.h"
#include "store/store.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/file.h"
#include "util/xalloc.h"

#define QUEUE_ENV_FILE_MAX (1024 * 1024)

/* A job for the worker: rewrite or remove one entry's files. */
struct queue_io {
	struct queue_entry *entry;
	char env[PATH_MAX], tmp[PATH_MAX + 8], msg[PATH_MAX], dir[PATH_MAX];
	char *text; /* NULL: remove env and msg */
	size_t len;
	int err;
};

void queue_path(const struct queue *q, const char *sub, const char *id, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s/%s", q->dir, sub, id);
}

/* queue_write_file - tmp, write, fsync, rename over path, fsync the directory. */
static int queue_write_file(struct queue_io *io)
{
	int fd = open(io->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t off = 0;

	if (fd < 0)
		return -1;
	while (off < io->len) {
		ssize_t n = write(fd, io->text + off, io->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			close(fd);
			unlink(io->tmp);
			errno = err;
			return -1;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0 || rename(io->tmp, io->env) < 0)
		return -1;
	return file_fsync_dir(io->dir);
}

/* queue_io_work - on the worker: rewrite the envelope, or remove env then msg. */
static void queue_io_work(void *arg)
{
	struct queue_io *io = arg;

	if (io->text != NULL) {
		io->err = queue_write_file(io) < 0 ? errno : 0;
		return;
	}
	if (unlink(io->env) < 0 && errno != ENOENT)
		io->err = errno;
	file_fsync_dir(io->dir); /* env gone first: a crash now leaves an orphan msg, dropped at start */
	if (unlink(io->msg) < 0 && errno != ENOENT && io->err == 0)
		io->err = errno;
}

/* queue_io_new - a worker job for e. */
static struct queue_io *queue_io_new(struct queue_entry *e)
{
	struct queue *q = e->queue;
	struct queue_io *io = xcalloc(1, sizeof(*io));

	io->entry = e;
	queue_path(q, "env", e->env.id, io->env, sizeof(io->env));
	queue_path(q, "msg", e->env.id, io->msg, sizeof(io->msg));
	snprintf(io->tmp, sizeof(io->tmp), "%s.tmp", io->env);
	snprintf(io->dir, sizeof(io->dir), "%s/env", q->dir);
	return io;
}

/* queue_entry_free - release an entry's memory. */
static void queue_entry_free(struct queue_entry *e)
{
	queue_env_clear(&e->env);
	free(e->busy);
	free(e);
}

/* queue_entry_unlink - take e off the list and free it. */
static void queue_entry_unlink(struct queue *q, struct queue_entry *e)
{
	for (struct queue_entry **pp = &q->entries; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			metrics_gauge_add(METRICS_G_QUEUE_MESSAGES, -1);
			break;
		}
	}
	queue_entry_free(e);
}

/* queue_io_done_cb - on the loop: a rewrite or a removal finished. */
static void queue_io_done_cb(void *arg)
{
	struct queue_io *io = arg;
	struct queue_entry *e = io->entry;
	struct queue *q = e->queue;

	if (io->err != 0)
		log_err("queue id=%s: cannot %s %s: %s", e->env.id, io->text ? "write" : "remove",
			io->env, strerror(io->err));
	if (io->text == NULL) {
		log_info("queue id=%s removed", e->env.id);
		queue_entry_unlink(q, e);
	} else {
		e->writing = false;
		if (e->dirty)
			queue_save(e);
		else
			queue_settle(e);
	}
	free(io->text);
	free(io);
	queue_io_done(q);
	queue_kick(q);
}

void queue_save(struct queue_entry *e)
{
	struct queue_io *io;

	if (e->writing) {
		e->dirty = true;
		return;
	}
	e->writing = true;
	e->dirty = false;
	io = queue_io_new(e);
	io->text = queue_env_format(&e->env, &io->len);
	e->queue->io++;
	workq_submit(e->queue->worker, queue_io_work, queue_io_done_cb, io);
}

/* queue_remove - remove env then msg on the worker; the entry goes when done. */
static void queue_remove(struct queue_entry *e)
{
	e->removing = true;
	e->queue->io++;
	workq_submit(e->queue->worker, queue_io_work, queue_io_done_cb, queue_io_new(e));
}

/* queue_bounce_done_cb - the DSN is durable (or failed: the recipients stay F for a retry). */
static void queue_bounce_done_cb(void *arg, int err)
{
	struct queue_entry *e = arg;

	e->bouncing = false;
	for (size_t i = 0; i < e->env.n_rcpts; i++) {
		if (e->env.rcpts[i].state == QUEUE_RCPT_FAILED && e->busy[i]) {
			if (err == 0)
				e->env.rcpts[i].state = QUEUE_RCPT_BOUNCED;
			e->busy[i] = false;
		}
	}
	if (err != 0) {
		/* the scheduler tries again (queue_sched.c), with the recipients' backoff */
		e->bounce_failures++;
		e->bounce_retry = time(NULL) + queue_backoff(e->queue, e->bounce_failures);
		log_err("queue id=%s: cannot store the bounce: %s; trying again in %lld s", e->env.id,
			strerror(err), (long long)(e->bounce_retry - time(NULL)));
		queue_kick(e->queue); /* the scheduler's timer learns of the retry */
	} else {
		e->bounce_failures = 0;
		e->bounce_retry = 0;
		queue_save(e);
	}
	queue_io_done(e->queue);
}

/*
 * queue_bounce_sender - whom a DSN goes to: the envelope sender, or for a
 * message we forwarded with SRS, the original sender behind it (an SRS
 * address of ours that no longer checks out goes to "": no DSN).
 */
static const char *queue_bounce_sender(const struct queue_entry *e, char buf[SRS_ADDRESS_MAX + 1])
{
	const struct daemon *d = e->queue->daemon;
	struct srs_params p = { .secret = d->srs_secret, .secret_len = d->srs_secret_len,
				.domain = d->cfg->hostname, .now = time(NULL) };
	enum srs_result r = d->srs_secret_len > 0
				    ? srs_reverse(&p, e->env.from, strlen(e->env.from), buf)
				    : SRS_NOT_SRS;

	if (r == SRS_NOT_SRS)
		return e->env.from;
	if (r != SRS_OK)
		log_warn("queue id=%s: no bounce to <%s>: %s", e->env.id, e->env.from,
			 srs_strerror(r));
	return r == SRS_OK ? buf : "";
}

/* queue_bounce - one DSN for every F recipient of e; false when there is none to send. */
static bool queue_bounce(struct queue_entry *e)
{
	struct bounce_rcpt rcpts[256];
	char sender[SRS_ADDRESS_MAX + 1];
	struct bounce_info b = { .hostname = e->queue->daemon->cfg->hostname,
				 .queue_id = e->env.id, .sender = queue_bounce_sender(e, sender),
				 .arrival = e->env.created, .now = time(NULL), .rcpts = rcpts };
	char msg[PATH_MAX];

	for (size_t i = 0; i < e->env.n_rcpts && b.n_rcpts < 256; i++) {
		struct queue_rcpt *r = &e->env.rcpts[i];
		if (r->state != QUEUE_RCPT_FAILED)
			continue;
		rcpts[b.n_rcpts++] = (struct bounce_rcpt){ r->address, r->last_error ? r->last_error : "failed" };
		e->busy[i] = true;
	}
	if (b.n_rcpts == 0)
		return false;
	queue_path(e->queue, "msg", e->env.id, msg, sizeof(msg));
	e->bouncing = true; /* before: the callback may run inside bounce_inject */
	e->queue->io++;     /* queue_bounce_done_cb ends both */
	int rc = bounce_inject(e->queue->daemon, &b, msg, queue_bounce_done_cb, e);
	if (rc != 0) {
		int err = rc < 0 ? errno : 0;
		if (rc < 0)
			log_err("queue id=%s: cannot start the bounce: %s", e->env.id, strerror(err));
		queue_bounce_done_cb(e, err); /* rc 1: nobody to tell, done */
	}
	return true;
}

void queue_settle(struct queue_entry *e)
{
	bool done = true;

	if (e->writing || e->bouncing || e->removing || e->active > 0)
		return;
	if (e->deleted) {
		queue_remove(e);
		return;
	}
	if (e->queue->stopping)
		return;
	for (size_t i = 0; i < e->env.n_rcpts; i++) {
		struct queue_rcpt *r = &e->env.rcpts[i];
		if (r->state == QUEUE_RCPT_FAILED && e->env.from[0] == '\0') {
			log_info("queue id=%s to=<%s>: no bounce for a bounce (null sender)",
				 e->env.id, r->address);
			r->state = QUEUE_RCPT_BOUNCED;
			e->dirty = true;
		}
		done &= r->state == QUEUE_RCPT_DELIVERED || r->state == QUEUE_RCPT_BOUNCED;
	}
	if (e->dirty) {
		queue_save(e);
		return;
	}
	if (queue_bounce(e))
		return;
	if (done)
		queue_remove(e);
}

/* queue_load - read env/ID into a new entry; NULL (logged) when it is unusable. */
static struct queue_entry *queue_load(struct queue *q, const char *id)
{
	char path[PATH_MAX], *text;
	const char *error = "cannot read";
	struct stat st;
	size_t len;
	struct queue_entry *e = xcalloc(1, sizeof(*e));

	queue_path(q, "env", id, path, sizeof(path));
	if ((text = file_read_small(path, QUEUE_ENV_FILE_MAX, &len)) == NULL ||
	    queue_env_parse(&e->env, text, len, &error) < 0) {
		log_err("queue id=%s: %s: %s", id, path, text ? error : strerror(errno));
		free(text);
		free(e);
		return NULL;
	}
	free(text);
	queue_path(q, "msg", id, path, sizeof(path));
	e->size = stat(path, &st) == 0 ? (long long)st.st_size : 0;
	if (!e->env.sized && queue_env_measure_file(&e->env, path) == 0)
		e->dirty = true; /* an envelope from before the body line: measured once, saved */
	e->queue = q;
	e->busy = xcalloc(e->env.n_rcpts, sizeof(*e->busy));
	snprintf(e->env.id, sizeof(e->env.id), "%s", id);
	return e;
}

/* queue_find - the entry with this id, or NULL. */
static struct queue_entry *queue_find(struct queue *q, const char *id)
{
	for (struct queue_entry *e = q->entries; e != NULL; e = e->next) {
		if (strcmp(e->env.id, id) == 0)
			return e;
	}
	return NULL;
}

void queue_add(struct queue *q, const char *id)
{
	struct queue_entry *e;

	if (q->stopping || queue_find(q, id) != NULL || (e = queue_load(q, id)) == NULL)
		return;
	e->next = q->entries;
	q->entries = e;
	metrics_gauge_add(METRICS_G_QUEUE_MESSAGES, 1);
	log_info("queue id=%s from=<%s> nrcpt=%zu size=%lld queued", id, e->env.from,
		 e->env.n_rcpts, e->size);
	e->unsettled = true; /* F recipients left by a crash get their DSN, from the loop */
	queue_kick(q);
}

/* queue_queued_cb - the store's callback for a newly queued message. */
static void queue_queued_cb(void *arg, const char *id)
{
	queue_add(arg, id);
}

/* queue_drop_orphan - remove a msg without env or an env without msg (logged). */
static void queue_drop_orphan(struct queue *q, const char *sub, const char *id, const char *why)
{
	char path[PATH_MAX];

	queue_path(q, sub, id, path, sizeof(path));
	log_warn("queue id=%s: dropping orphan %s (%s)", id, path, why);
	unlink(path);
}

/* queue_scan_dir - each entry of DATA_DIR/queue/SUB whose partner in OTHER is missing is dropped. */
static void queue_scan_dir(struct queue *q, const char *sub, const char *other, bool load)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", q->dir, sub);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strchr(de->d_name, '.') != NULL)
			continue; /* ".", "..", and "ID.tmp" of an interrupted rewrite */
		queue_path(q, other, de->d_name, path, sizeof(path));
		if (stat(path, &st) < 0) {
			queue_drop_orphan(q, sub, de->d_name, load ? "no message text" : "no envelope");
			continue;
		}
		if (load)
			queue_add(q, de->d_name);
	}
	closedir(d);
}

/* queue_stop_cb - SIGTERM: abort deliveries (nothing they did is lost), wait for the worker. */
static void queue_stop_cb(struct daemon_conn *conn)
{
	struct queue *q = (struct queue *)((char *)conn - offsetof(struct queue, conn));

	q->stopping = true;
	for (struct queue_entry *e = q->entries; e != NULL; e = e->next)
		queue_job_abort_entry(q, e);
	if (q->timer != NULL)
		evtimer_del(q->timer);
	q->io++;
	queue_io_done(q);
}

void queue_io_done(struct queue *q)
{
	q->io--;
	if (q->stopping && q->io == 0 && q->linked) {
		q->linked = false;
		log_info("queue stopped");
		daemon_conn_remove(q->daemon, &q->conn);
	}
}

struct queue *queue_open(struct daemon *d, char **error_r)
{
	struct queue *q = xcalloc(1, sizeof(*q));

	q->daemon = d;
	q->dir = xasprintf("%s/queue", d->cfg->data_dir);
	if ((q->dns = dns_new(d->base, &d->cfg->dns_servers, error_r)) == NULL) {
		free(q->dir);
		free(q);
		return NULL;
	}
	q->worker = workq_new(d->base, 1, "queue-io");
	queue_sched_init(q);
	q->conn.stop = queue_stop_cb;
	daemon_conn_add(d, &q->conn);
	q->linked = true;
	queue_scan_dir(q, "msg", "env", false);
	queue_scan_dir(q, "env", "msg", true);
	store_set_queued_cb(d->store, queue_queued_cb, q);
	return q;
}

void queue_flush(struct queue *q)
{
	unsigned n = 0;

	for (struct queue_entry *e = q->entries; e != NULL; e = e->next) {
		for (size_t i = 0; i < e->env.n_rcpts; i++) {
			if (e->env.rcpts[i].state == QUEUE_RCPT_PENDING) {
				e->env.rcpts[i].next_try = 0;
				n++;
			}
		}
		queue_settle(e);
	}
	for (struct queue_dest *dest = q->dests; dest != NULL; dest = dest->next)
		queue_dest_alive(dest);
	log_info("queue flush: %u recipient(s) to retry", n);
	queue_kick(q);
}

int queue_delete(struct queue *q, const char *id)
{
	struct queue_entry *e = queue_find(q, id);

	if (e == NULL || e->deleted || e->removing)
		return -1;
	log_info("queue id=%s deleted by the administrator", id);
	e->deleted = true;
	queue_job_abort_entry(q, e);
	queue_settle(e);
	return 0;
}

void queue_free(struct queue **qp)
{
	struct queue *q = *qp;

	if (q == NULL)
		return;
	store_set_queued_cb(q->daemon->store, NULL, NULL);
	for (struct queue_entry *e = q->entries; e != NULL; e = e->next)
		queue_job_abort_entry(q, e);
	workq_free(&q->worker); /* runs the callbacks of what is left */
	while (q->entries != NULL)
		queue_entry_unlink(q, q->entries);
	if (q->linked)
		daemon_conn_remove(q->daemon, &q->conn);
	queue_sched_free(q);
	dns_free(&q->dns);
	free(q->dir);
	free(q);
	*qp = NULL;
}
