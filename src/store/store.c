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

/* store_clean_tmp - remove messages an earlier run never acknowledged from directory path. */
static void store_clean_tmp(const char *path)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

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

/* store_mail_apart - 1 when DATA_DIR/mail is another mount than queue/ (no link between them), 0 not, -1. */
static int store_mail_apart(const char *data_dir)
{
	char a[PATH_MAX], b[PATH_MAX];
	int fd, rc, err;

	snprintf(a, sizeof(a), "%s/queue/tmp/.probe.%ld", data_dir, (long)getpid());
	snprintf(b, sizeof(b), "%s/mail/.probe.%ld", data_dir, (long)getpid());
	if ((fd = open(a, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return -1;
	close(fd);
	unlink(b);
	rc = link(a, b);
	err = errno;
	unlink(a);
	unlink(b);
	if (rc < 0 && err != EXDEV) {
		errno = err;
		return -1;
	}
	return rc < 0;
}

/* store_text_dir - where texts are written (see store.h); s->tmp_dir and s->mail_fd set. */
static int store_text_dir(struct store *s)
{
	char path[PATH_MAX];
	int apart = store_mail_apart(s->data_dir);

	s->mail_fd = -1;
	if (apart < 0)
		return -1;
	if (!apart) {
		s->tmp_dir = xasprintf("%s/queue/tmp", s->data_dir);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/mail/.postern-tmp", s->data_dir);
	s->tmp_dir = xasprintf("%s/%s", path, s->hostname);
	if ((mkdir(path, 0700) < 0 && errno != EEXIST) ||
	    (mkdir(s->tmp_dir, 0700) < 0 && errno != EEXIST))
		return -1;
	snprintf(path, sizeof(path), "%s/mail", s->data_dir);
	s->mail_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->mail_fd >= 0)
		log_info("store: %s is another mount: texts are written there, queued ones copied",
			 path);
	return s->mail_fd < 0 ? -1 : 0;
}

bool store_mail_elsewhere(const struct store *s)
{
	return s->mail_fd >= 0;
}

struct store *store_open(struct event_base *base, const char *data_dir, const char *hostname,
			 char **error_r)
{
	struct store *s;
	char tmp[PATH_MAX];
	int fd;

	if (store_mkdirs(data_dir) < 0) {
		*error_r = xasprintf("%s: cannot create: %s", data_dir, strerror(errno));
		return NULL;
	}
	if ((fd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		*error_r = xasprintf("%s: %s", data_dir, strerror(errno));
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->data_dir = xstrdup(data_dir);
	s->hostname = xstrdup(hostname);
	s->dir_fd = fd;
	if (store_text_dir(s) < 0) {
		*error_r = xasprintf("%s/mail: %s", data_dir, strerror(errno));
		close(fd);
		free(s->tmp_dir);
		free(s->data_dir);
		free(s->hostname);
		free(s);
		return NULL;
	}
	snprintf(tmp, sizeof(tmp), "%s/queue/tmp", data_dir);
	store_clean_tmp(tmp);
	if (s->mail_fd >= 0)
		store_clean_tmp(s->tmp_dir);
	s->syncer = workq_new(base, 1, "store-sync");
	s->pooler = workq_new(base, 1, "store-pool");
	store_pool_refill(s);
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
	if (s->mail_fd >= 0)
		close(s->mail_fd);
	free(s->tmp_dir);
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
		snprintf(m->tmp_path, sizeof(m->tmp_path), "%s/%s.%lu", s->tmp_dir, m->id, s->seq);
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
	m->flushed += m->wlen;
	m->wlen = 0;
	return 0;
}

int store_msg_write(struct store_msg *m, const void *buf, size_t len)
{
	if (m->sealed && m->error == 0)
		m->error = EINVAL;
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
	snprintf(buf, size, "%s/queue/tmp/%s.env", m->store->data_dir, strrchr(m->tmp_path, '/') + 1);
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

/* store_msg_copy - len bytes of in from offset off to the end of out. */
static int store_msg_copy(int in, off_t off, int out, size_t len)
{
	while (len > 0) {
		ssize_t n = copy_file_range(in, &off, out, NULL, len, 0);
		if (n <= 0) {
			errno = n == 0 ? EIO : errno; /* shorter than what was written */
			return -1;
		}
		len -= (size_t)n;
	}
	return 0;
}

/* store_msg_rewrite - a message on disk: a new file of [0, off) + text + [off + del, end). */
static int store_msg_rewrite(struct store_msg *m, size_t off, size_t del, const char *text,
			     size_t len)
{
	char path[sizeof(m->tmp_path) + 8];
	int in = -1, out, rc = -1, err;

	snprintf(path, sizeof(path), "%s.p", m->tmp_path);
	if (store_msg_flush(m) < 0 ||
	    (out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return -1;
	if ((in = open(m->tmp_path, O_RDONLY | O_CLOEXEC)) >= 0 &&
	    store_msg_copy(in, 0, out, off) == 0 && write(out, text, len) == (ssize_t)len &&
	    store_msg_copy(in, (off_t)(off + del), out, m->flushed - off - del) == 0)
		rc = rename(path, m->tmp_path);
	err = errno;
	if (in >= 0)
		close(in);
	if (rc < 0) {
		close(out);
		unlink(path);
		errno = err;
		return -1;
	}
	close(m->fd);
	m->fd = out;
	m->flushed = m->flushed - del + len;
	return 0;
}

/* store_msg_wire_lines - the LF count of text: what CRLF line ends add to its size. */
static size_t store_msg_wire_lines(const char *text, size_t len)
{
	size_t n = 0;

	for (const char *p = text; (p = memchr(p, '\n', len - (size_t)(p - text))) != NULL; p++)
		n++;
	return n;
}

int store_msg_splice(struct store_msg *m, size_t off, const char *old, size_t del, const char *text,
		     size_t len)
{
	size_t have = m->flushed + m->wlen;

	if (m->error == 0 && off + del > have)
		m->error = EINVAL;
	if (m->error != 0) {
		errno = m->error;
		return -1;
	}
	if (m->flushed > 0) {
		if (store_msg_rewrite(m, off, del, text, len) < 0) {
			m->error = errno;
			return -1;
		}
	} else { /* all of it is still in wbuf, the common case */
		if (len > del) /* grow before moving the tail; shrinking needs no new room */
			m->wbuf = xrealloc(m->wbuf, m->wlen - del + len);
		memmove(m->wbuf + off + len, m->wbuf + off + del, m->wlen - off - del);
		memcpy(m->wbuf + off, text, len);
		m->wlen = m->wlen - del + len;
	}
	m->stored_size = m->stored_size - del + len;
	for (size_t i = 0; i < len; i++)
		m->splice_8bit |= (unsigned char)text[i] >= 0x80;
	m->wire_delta += (long long)(len + store_msg_wire_lines(text, len)) -
			 (long long)(del + store_msg_wire_lines(old, del));
	m->sealed = true;
	return 0;
}

long long store_msg_wire_delta(const struct store_msg *m)
{
	return m->wire_delta;
}

bool store_msg_prepended_8bit(const struct store_msg *m)
{
	return m->splice_8bit;
}

int store_msg_prepend(struct store_msg *m, const char *text, size_t len)
{
	return store_msg_splice(m, 0, "", 0, text, len);
}

void store_msg_junk(struct store_msg *m)
{
	for (size_t i = 0; i < m->n_rcpts; i++) {
		char *junk = xasprintf("%s/.Junk", m->rcpts[i].maildir);
		free(m->rcpts[i].maildir);
		m->rcpts[i].maildir = junk;
	}
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
	wire_size = (size_t)((long long)wire_size + m->wire_delta);
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
	store_pool_refill(s);
	store_batch_start(s);
}
