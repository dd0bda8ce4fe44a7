/* store - write once, commit in batches, link into Maildirs. */
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/maildir.h"
#include "store/store_internal.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

#define STORE_WBUF_SIZE (64 * 1024)

/* store_mkdirs - create data_dir, queue/tmp and mail/ (mode 0700). */
static int store_mkdirs(const char *data_dir)
{
	static const char *const subdirs[] = { "",	     "/queue",	   "/queue/tmp",
						"/queue/msg", "/queue/env", "/mail" };
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", data_dir, subdirs[i]);
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

/* store_clean_tmp - remove messages an earlier run never acknowledged. */
static void store_clean_tmp(const char *data_dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/queue/tmp", data_dir);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	if (n > 0)
		log_info("store: removed %d unacknowledged message(s) from %s", n, path);
}

struct store *store_open(struct event_base *base, const char *data_dir, const char *hostname,
			 char **error_r)
{
	struct store *s;
	int fd;

	if (store_mkdirs(data_dir) < 0) {
		*error_r = xasprintf("%s: cannot create: %s", data_dir, strerror(errno));
		return NULL;
	}
	if ((fd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		*error_r = xasprintf("%s: %s", data_dir, strerror(errno));
		return NULL;
	}
	store_clean_tmp(data_dir);
	s = xcalloc(1, sizeof(*s));
	s->data_dir = xstrdup(data_dir);
	s->hostname = xstrdup(hostname);
	s->dir_fd = fd;
	s->syncer = workq_new(base, 1, "store-sync");
	store_batch_start(s); /* fill the pool of empty files */
	return s;
}

void store_close(struct store **sp)
{
	struct store *s = *sp;

	if (s == NULL)
		return;
	s->closing = true; /* from here on, jobs run right here (see store_batch_start) */
	workq_free(&s->syncer); /* runs the callbacks of the job in flight */
	store_batch_start(s);   /* links not yet synced get their sync */
	store_pool_free(s);
	close(s->dir_fd);
	free(s->data_dir);
	free(s->hostname);
	free(s);
	*sp = NULL;
}

void store_get_stats(const struct store *s, struct store_stats *stats_r)
{
	*stats_r = s->stats;
}

struct store_msg *store_msg_new(struct store *s)
{
	struct store_msg *m = xcalloc(1, sizeof(*m));
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	m->store = s;
	snprintf(m->id, sizeof(m->id), "%08lX%05lX%03lX", (unsigned long)now.tv_sec,
		 (unsigned long)(now.tv_nsec / 1000), ++s->seq & 0xfff);
	m->fd = store_pool_take(s, m->tmp_path, sizeof(m->tmp_path));
	if (m->fd < 0) { /* the pool ran dry: make one here */
		snprintf(m->tmp_path, sizeof(m->tmp_path), "%s/queue/tmp/%s.%lu", s->data_dir,
			 m->id, s->seq);
		m->fd = open(m->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	if (m->fd < 0) {
		int err = errno;
		free(m);
		errno = err;
		return NULL;
	}
	return m;
}

const char *store_msg_id(const struct store_msg *m)
{
	return m->id;
}

/* store_msg_flush - write the buffered text to the file. */
static int store_msg_flush(struct store_msg *m)
{
	size_t off = 0;

	while (off < m->wlen) {
		ssize_t n = write(m->fd, m->wbuf + off, m->wlen - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			m->error = errno;
			return -1;
		}
		off += (size_t)n;
	}
	m->wlen = 0;
	return 0;
}

int store_msg_write(struct store_msg *m, const void *buf, size_t len)
{
	if (m->error != 0) {
		errno = m->error;
		return -1;
	}
	if (m->wbuf == NULL)
		m->wbuf = xmalloc(STORE_WBUF_SIZE);
	m->stored_size += len;
	while (len > 0) {
		size_t room = STORE_WBUF_SIZE - m->wlen;
		size_t n = len < room ? len : room;
		memcpy(m->wbuf + m->wlen, buf, n);
		m->wlen += n;
		buf = (const char *)buf + n;
		len -= n;
		if (m->wlen == STORE_WBUF_SIZE && store_msg_flush(m) < 0)
			return -1;
	}
	return 0;
}

int store_msg_add_mailbox(struct store_msg *m, const char *domain, const char *local,
			  const char *orig)
{
	char path[PATH_MAX];

	if (!maildir_component_ok(domain) || !maildir_component_ok(local) ||
	    maildir_path(path, sizeof(path), m->store->data_dir, domain, local) < 0)
		return -1;
	m->rcpts = xrealloc(m->rcpts, (m->n_rcpts + 1) * sizeof(*m->rcpts));
	m->rcpts[m->n_rcpts].maildir = xstrdup(path);
	m->rcpts[m->n_rcpts].address = xasprintf("%s@%s", local, domain);
	m->rcpts[m->n_rcpts].orig = orig != NULL ? xstrdup(orig) : NULL;
	m->rcpts[m->n_rcpts].linked = false;
	m->n_rcpts++;
	return 0;
}

void store_msg_free(struct store_msg *m)
{
	if (m->fd >= 0)
		close(m->fd);
	for (size_t i = 0; i < m->n_rcpts; i++) {
		free(m->rcpts[i].maildir);
		free(m->rcpts[i].address);
		free(m->rcpts[i].orig);
	}
	free(m->rcpts);
	free(m->envelope);
	free(m->wbuf);
	free(m);
}

void store_tmp_env(const struct store_msg *m, char *buf, size_t size)
{
	snprintf(buf, size, "%s.env", m->tmp_path);
}

void store_msg_abort(struct store_msg **mp)
{
	struct store_msg *m = *mp;
	char env[PATH_MAX];

	if (m == NULL)
		return;
	unlink(m->tmp_path);
	store_tmp_env(m, env, sizeof(env));
	unlink(env);
	store_msg_free(m);
	*mp = NULL;
}

/* store_write_envelope - write the queue envelope beside the text in queue/tmp. */
static void store_write_envelope(struct store_msg *m)
{
	char path[PATH_MAX];
	int fd;

	store_tmp_env(m, path, sizeof(path));
	errno = 0;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, m->envelope, m->envelope_len) != (ssize_t)m->envelope_len)
		m->error = errno != 0 ? errno : EIO;
	if (fd >= 0)
		close(fd);
}

void store_msg_set_envelope(struct store_msg *m, char *text, size_t len)
{
	free(m->envelope);
	m->envelope = text;
	m->envelope_len = len;
}

void store_set_queued_cb(struct store *s, void (*cb)(void *arg, const char *id), void *arg)
{
	s->queued_cb = cb;
	s->queued_arg = arg;
}

void store_msg_commit(struct store_msg *m, size_t wire_size, void (*done_cb)(void *arg, int err),
		      void *arg)
{
	struct store *s = m->store;

	m->done_cb = done_cb;
	m->done_arg = arg;
	if (m->error == 0 && store_msg_flush(m) == 0 &&
	    maildir_name(m->name, sizeof(m->name), s->hostname, s->seq++, m->stored_size,
			 wire_size) < 0)
		m->error = ENAMETOOLONG;
	if (m->error == 0 && m->n_rcpts == 0 && m->envelope == NULL)
		m->error = EINVAL;
	if (m->error == 0 && m->envelope != NULL)
		store_write_envelope(m);
	free(m->wbuf);
	m->wbuf = NULL;
	close(m->fd);
	m->fd = -1;
	m->next = s->pending;
	s->pending = m;
	s->pool.stalled = false;
	store_batch_start(s);
}
