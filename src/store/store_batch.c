/*
 * store_batch - the commit pipeline on the sync worker. Each job runs one
 * syncfs that makes durable both the text of the messages written since
 * the last job and the Maildir links of the messages linked by the last
 * job; it then links the former. So every message still sees data durable
 * before its link and its link durable before its 250, at one sync per
 * batch under load. store_sync callers ride along: their callback runs
 * after the next job's sync; store_sync_link callers go the messages' way:
 * linked after one sync, answered after the next. The next job starts
 * before the answers of the last one go out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "delivery/delivery_log.h"
#include "store/maildir.h"
#include "util/file.h"
#include "util/log.h"
#include "store/store_internal.h"
#include "util/workq.h"
#include "util/xalloc.h"

struct store_job {
	struct store *s;
	struct store_msg *data;  /* written: sync, then link */
	struct store_msg *links; /* linked by the previous job: sync, then answer */
	struct store_waiter *waiters; /* store_sync(_link) callers: sync, then link or call back */
	struct store_waiter *answer;  /* linked by the previous job: sync, then call back */
	int sync_errno;
};

/* store_link_one - link the message into one Maildir's new/, creating it if needed. */
static int store_link_one(struct store_msg *m, struct store_rcpt *r)
{
	char dst[PATH_MAX];

	snprintf(dst, sizeof(dst), "%s/new/%s", r->maildir, m->name);
	if (link(m->tmp_path, dst) == 0)
		return 0;
	if (errno != ENOENT || maildir_create(r->maildir) < 0)
		return -1;
	return link(m->tmp_path, dst);
}

/* store_queue_path - DATA_DIR/queue/{msg,env}/ID. */
static void store_queue_path(const struct store_msg *m, const char *sub, char *buf, size_t size)
{
	snprintf(buf, size, "%s/queue/%s/%s", m->store->data_dir, sub, m->id);
}

/* store_unlink_all - undo the links of a message that failed. */
static void store_unlink_all(struct store_msg *m)
{
	char dst[PATH_MAX];

	if (m->queued) {
		store_queue_path(m, "env", dst, sizeof(dst));
		unlink(dst);
		store_queue_path(m, "msg", dst, sizeof(dst));
		unlink(dst);
		m->queued = false;
	}
	for (size_t i = 0; i < m->n_rcpts; i++) {
		if (!m->rcpts[i].linked)
			continue;
		snprintf(dst, sizeof(dst), "%s/new/%s", m->rcpts[i].maildir, m->name);
		unlink(dst);
		m->rcpts[i].linked = false;
	}
}

/* store_copy - a copy of the text at dst (mail/ is another mount: no link reaches queue/). */
static int store_copy(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, err;
	char buf[65536];
	ssize_t n = -1;

	if (in >= 0 && (out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) >= 0) {
		errno = 0;
		while ((n = read(in, buf, sizeof(buf))) > 0 && file_write_all(out, buf, (size_t)n) == 0)
			;
		if (close(out) < 0)
			n = -1;
	}
	err = n != 0 && errno == 0 ? EIO : errno;
	if (in >= 0)
		close(in);
	if (out >= 0 && n != 0)
		unlink(dst);
	errno = err;
	return n == 0 ? 0 : -1;
}

/* store_enqueue - link (or copy) the text into queue/msg and move the envelope into queue/env. */
static int store_enqueue(struct store_msg *m)
{
	char env_tmp[PATH_MAX], msg[PATH_MAX], env[PATH_MAX];

	store_tmp_env(m, env_tmp, sizeof(env_tmp));
	store_queue_path(m, "msg", msg, sizeof(msg));
	store_queue_path(m, "env", env, sizeof(env));
	if ((m->store->mail_fd < 0 ? link(m->tmp_path, msg) : store_copy(m->tmp_path, msg)) < 0)
		return -1;
	if (rename(env_tmp, env) < 0) {
		int err = errno;
		unlink(msg);
		errno = err;
		return -1;
	}
	m->queued = true;
	return 0;
}

/* store_deliver - link into every recipient's Maildir and the queue; all or nothing. */
static void store_deliver(struct store_msg *m)
{
	if (m->envelope != NULL && store_enqueue(m) < 0) {
		m->error = errno;
		return;
	}
	for (size_t i = 0; i < m->n_rcpts; i++) {
		if (store_link_one(m, &m->rcpts[i]) < 0) {
			m->error = errno;
			store_unlink_all(m);
			return;
		}
		m->rcpts[i].linked = true;
	}
}

/* store_link_batch - link each written message whose text is now durable; drop its tmp name. */
static void store_link_batch(struct store_msg *batch, int sync_errno)
{
	char env_tmp[PATH_MAX];

	for (struct store_msg *m = batch; m != NULL; m = m->next) {
		if (m->error == 0)
			m->error = sync_errno;
		if (m->error == 0)
			store_deliver(m);
		unlink(m->tmp_path);
		if (m->envelope != NULL) {
			store_tmp_env(m, env_tmp, sizeof(env_tmp));
			unlink(env_tmp);
		}
	}
}

/* store_job_work - on the worker: one sync, then link what it made durable. */
static void store_job_work(void *arg)
{
	struct store_job *j = arg;

	j->sync_errno = syncfs(j->s->dir_fd) == 0 ? 0 : errno;
	if (j->sync_errno == 0 && j->s->mail_fd >= 0 && syncfs(j->s->mail_fd) < 0)
		j->sync_errno = errno;
	if (j->sync_errno != 0) {
		for (struct store_msg *m = j->links; m != NULL; m = m->next) {
			m->error = j->sync_errno;
			store_unlink_all(m);
		}
	}
	store_link_batch(j->data, j->sync_errno);
	for (struct store_waiter *w = j->waiters; w != NULL && j->sync_errno == 0; w = w->next) {
		if (w->link != NULL)
			w->link(w->arg);
	}
}

/* store_log - a delivery line for each Maildir a durable message reached. */
static void store_log(const struct store_msg *m)
{
	for (size_t i = 0; i < m->n_rcpts; i++)
		delivery_log("store", m->id, NULL, m->rcpts[i].address, m->rcpts[i].orig, "local",
			     DELIVERY_SENT,
			     "delivered to maildir");
}

/* store_answer - the done callback of a message, then free it. */
static void store_answer(struct store *s, struct store_msg *m)
{
	if (m->error == 0)
		s->stats.messages++;
	m->done_cb(m->done_arg, m->error);
	if (m->error == 0)
		store_log(m);
	if (m->error == 0 && m->queued && s->queued_cb != NULL)
		s->queued_cb(s->queued_arg, m->id);
	store_msg_free(m);
}

/* store_answer_list - answer each message of a list. */
static void store_answer_list(struct store *s, struct store_msg *m)
{
	for (struct store_msg *next; m != NULL; m = next) {
		next = m->next;
		store_answer(s, m);
	}
}

/* store_waiters_keep_linked - the waiters just linked wait for the next sync; the rest stay in j. */
static void store_waiters_keep_linked(struct store *s, struct store_job *j)
{
	struct store_waiter **wp = &j->waiters;

	while (*wp != NULL) {
		struct store_waiter *w = *wp;
		if (w->link == NULL || j->sync_errno != 0) {
			wp = &w->next;
			continue;
		}
		*wp = w->next;
		w->next = s->linked_waiters;
		s->linked_waiters = w;
	}
}

/* store_waiter_list_done - call back each waiter of a list with err, and free it. */
static void store_waiter_list_done(struct store_waiter *w, int err)
{
	for (struct store_waiter *next; w != NULL; w = next) {
		next = w->next;
		w->cb(w->arg, err);
		free(w);
	}
}

/* store_waiters_done - call back the synced (the just linked were kept for the next sync). */
static void store_waiters_done(struct store_job *j)
{
	store_waiter_list_done(j->answer, j->sync_errno);
	store_waiter_list_done(j->waiters, j->sync_errno);
}

/* store_job_done - on the loop: answer the durable links, keep the new ones for the next sync. */
static void store_job_done(void *arg)
{
	struct store_job *j = arg;
	struct store *s = j->s;
	struct store_msg **tail = &s->linked;

	s->busy = false;
	s->stats.batches++;
	s->stats.syncs++;
	struct store_msg *failed = NULL, **failed_tail = &failed;
	for (struct store_msg *m = j->data, *next; m != NULL; m = next) {
		next = m->next;
		m->next = NULL;
		struct store_msg ***to = m->error != 0 ? &failed_tail : &tail;
		**to = m;
		*to = &m->next;
	}
	store_waiters_keep_linked(s, j);
	store_batch_start(s); /* the next sync runs while these answers go out */
	log_hold(); /* a batch's lines (queued, delivered) in one write */
	store_answer_list(s, j->links);
	store_answer_list(s, failed);
	store_waiters_done(j);
	log_release();
	free(j);
}

void store_batch_start(struct store *s)
{
	if (s->busy || (s->pending == NULL && s->linked == NULL && s->waiters == NULL &&
			s->linked_waiters == NULL))
		return;
	struct store_job *j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->links = s->linked;
	s->linked = NULL;
	j->waiters = s->waiters; /* in any order */
	s->waiters = NULL;
	j->answer = s->linked_waiters;
	s->linked_waiters = NULL;
	while (s->pending != NULL) { /* newest first: reverse into oldest first */
		struct store_msg *m = s->pending;
		s->pending = m->next;
		m->next = j->data;
		j->data = m;
	}
	s->busy = true;
	if (s->closing) { /* shutdown: the worker is gone, do it here */
		store_job_work(j);
		store_job_done(j);
		return;
	}
	workq_submit(s->syncer, store_job_work, store_job_done, j);
}

void store_sync(struct store *s, void (*cb)(void *arg, int err), void *arg)
{
	store_sync_link(s, NULL, cb, arg);
}

void store_sync_link(struct store *s, void (*link)(void *arg), void (*cb)(void *arg, int err),
		     void *arg)
{
	struct store_waiter *w = xmalloc(sizeof(*w));

	w->link = link;
	w->cb = cb;
	w->arg = arg;
	w->next = s->waiters;
	s->waiters = w;
	store_batch_start(s);
}
