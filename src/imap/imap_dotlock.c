/* imap_dotlock - Dovecot-compatible dotlocks (see imap_dotlock.h). */
#include "imap/imap_dotlock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "util/xalloc.h"

#define IMAP_DOTLOCK_PID_CHECK_SECS 2        /* a younger lock's PID is not read (Dovecot) */
#define IMAP_DOTLOCK_MAX_WAIT_USECS 3000000u /* longest sleep between two checks */

/* What we saw of a file last time, to notice that it changed. */
struct imap_dotlock_seen {
	dev_t dev;
	ino_t ino;
	off_t size;
	time_t ctime, mtime;
};

/* The state of one wait for a lock. */
struct imap_dotlock_wait {
	const char *path, *lock_path;
	const struct imap_dotlock_settings *set;
	struct imap_dotlock_seen lock_seen, file_seen;
	time_t last_change; /* the latest change of the lock or the file */
	time_t last_pid_check;
	pid_t pid;
	bool pid_read, have_pid;
	unsigned wait_usecs;
};

/* imap_dotlock_jitter - 100-200 ms, different in each process and call. */
static unsigned imap_dotlock_jitter(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return 100000u + (unsigned)((ts.tv_nsec / 1000 + getpid() * 7919L) % 100000);
}

/* imap_dotlock_hostname - our host name, as Dovecot's my_hostname (gethostname()). */
static void imap_dotlock_hostname(char *buf, size_t size)
{
	if (gethostname(buf, size - 1) < 0)
		buf[0] = '\0';
	buf[size - 1] = '\0';
}

/* imap_dotlock_changed - note st in seen; true when it differs, moving *last_change. */
static bool imap_dotlock_changed(const struct stat *st, struct imap_dotlock_seen *seen,
				 time_t *last_change, time_t now)
{
	time_t when = now;

	if (seen->ino == st->st_ino && seen->dev == st->st_dev && seen->ctime == st->st_ctime &&
	    seen->mtime == st->st_mtime && seen->size == st->st_size)
		return false;
	if (seen->ctime == 0) /* first look: the file's own time */
		when = st->st_mtime <= now && st->st_mtime > st->st_ctime ? st->st_mtime
									 : st->st_ctime;
	if (*last_change < when)
		*last_change = when;
	seen->dev = st->st_dev;
	seen->ino = st->st_ino;
	seen->ctime = st->st_ctime;
	seen->mtime = st->st_mtime;
	seen->size = st->st_size;
	return true;
}

/* imap_dotlock_read_pid - the PID in a lock made on this host, -1 if none. */
static pid_t imap_dotlock_read_pid(const char *lock_path)
{
	char buf[512], host[256], *colon, *end;
	int fd = open(lock_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	if (buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	colon = strchr(buf, ':');
	imap_dotlock_hostname(host, sizeof(host));
	if (colon == NULL || strcmp(colon + 1, host) != 0)
		return -1;
	*colon = '\0';
	errno = 0;
	long pid = strtol(buf, &end, 10);
	if (errno != 0 || *end != '\0' || end == buf || pid <= 0 || pid > INT_MAX)
		return -1;
	return (pid_t)pid;
}

/* imap_dotlock_override - unlink a stale lock; 0 (then wait a little, as Dovecot does), -1. */
static int imap_dotlock_override(struct imap_dotlock_wait *w)
{
	if (unlink(w->lock_path) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* imap_dotlock_check_pid - look at the holder's PID; 1 alive, 0 dead, -1 unknown. */
static int imap_dotlock_check_pid(struct imap_dotlock_wait *w, bool changed, time_t now)
{
	if (changed || !w->pid_read) {
		w->pid_read = w->lock_seen.mtime < now - IMAP_DOTLOCK_PID_CHECK_SECS;
		w->pid = w->pid_read ? imap_dotlock_read_pid(w->lock_path) : -1;
		w->have_pid = w->pid != -1;
	} else if (w->have_pid && w->last_pid_check != now) {
		w->pid = imap_dotlock_read_pid(w->lock_path);
		w->have_pid = w->pid != -1;
	}
	w->last_pid_check = now;
	if (!w->have_pid)
		return -1;
	/* our own PID is alive: another session of this process holds it */
	if (w->pid == getpid() || kill(w->pid, 0) == 0 || errno != ESRCH)
		return 1;
	return 0;
}

/* imap_dotlock_check - 1: no lock, try to create; 0: keep waiting; -1: error. */
static int imap_dotlock_check(struct imap_dotlock_wait *w, time_t now)
{
	struct stat st;
	bool changed;
	int alive;

	if (lstat(w->lock_path, &st) < 0)
		return errno == ENOENT ? 1 : -1;
	changed = imap_dotlock_changed(&st, &w->lock_seen, &w->last_change, now);
	alive = imap_dotlock_check_pid(w, changed, now);
	if (alive == 1)
		return 0;
	if (alive == 0) {
		/* the holder is gone: override unless the lock just changed */
		if (lstat(w->lock_path, &st) < 0)
			return errno == ENOENT ? 1 : -1;
		if (imap_dotlock_changed(&st, &w->lock_seen, &w->last_change, now))
			return 1;
		return imap_dotlock_override(w);
	}
	if (w->set->stale_timeout == 0)
		return 0;
	if (now > w->last_change + (time_t)w->set->stale_timeout) {
		if (stat(w->path, &st) == 0)
			(void)imap_dotlock_changed(&st, &w->file_seen, &w->last_change, now);
		else if (errno != ENOENT)
			return -1;
	}
	if (now > w->last_change + (time_t)w->set->stale_timeout)
		return imap_dotlock_override(w);
	return 0;
}

/* imap_dotlock_try_create - O_EXCL create of the lock; 1 made, 0 exists, -1 error. */
static int imap_dotlock_try_create(struct imap_dotlock_wait *w, int *fd_r)
{
	char buf[320], host[256];
	int fd = open(w->lock_path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return errno == EEXIST ? 0 : -1;
	if (w->set->write_pid) {
		imap_dotlock_hostname(host, sizeof(host));
		int n = snprintf(buf, sizeof(buf), "%ld:%s", (long)getpid(), host);
		if (n < 0 || (size_t)n >= sizeof(buf) || write(fd, buf, (size_t)n) != n) {
			if (ftruncate(fd, 0) < 0) { /* Dovecot: then leave it empty */
				close(fd);
				return -1;
			}
		}
	}
	*fd_r = fd;
	return 1;
}

/* imap_dotlock_sleep - wait before the next check, longer while nothing changes. */
static void imap_dotlock_sleep(struct imap_dotlock_wait *w, time_t *prev_change, time_t *prev_update,
			       time_t now)
{
	if (*prev_change != w->last_change) {
		w->wait_usecs = imap_dotlock_jitter();
		*prev_change = w->last_change;
		*prev_update = now;
	} else if (*prev_update != now && w->wait_usecs < IMAP_DOTLOCK_MAX_WAIT_USECS) {
		*prev_update = now;
		w->wait_usecs += w->wait_usecs / 2;
	}
	usleep(w->wait_usecs);
}

/* imap_dotlock_loop - check and create until locked or out of time; 1, 0, -1. */
static int imap_dotlock_loop(struct imap_dotlock_wait *w, int *fd_r)
{
	time_t now = time(NULL), deadline = now + (time_t)w->set->timeout;
	time_t prev_change = 0, prev_update = 0;
	bool do_wait = false;
	int ret;

	w->wait_usecs = imap_dotlock_jitter();
	do {
		if (do_wait) {
			imap_dotlock_sleep(w, &prev_change, &prev_update, now);
			now = time(NULL);
		}
		ret = imap_dotlock_check(w, now);
		if (ret < 0)
			return -1;
		if (ret == 1 && (ret = imap_dotlock_try_create(w, fd_r)) != 0)
			return ret;
		do_wait = true;
		now = time(NULL);
	} while (now < deadline);
	return 0;
}

/* imap_dotlock_free - free the lock's memory, closing its descriptor. */
static void imap_dotlock_free(struct imap_dotlock **lockp)
{
	struct imap_dotlock *lock = *lockp;

	if (lock == NULL)
		return;
	if (lock->fd >= 0)
		close(lock->fd);
	free(lock->path);
	free(lock->lock_path);
	free(lock);
	*lockp = NULL;
}

int imap_dotlock_create(const char *path, const struct imap_dotlock_settings *set,
			struct imap_dotlock **lock_r, char **error_r)
{
	struct imap_dotlock_wait w = { .path = path, .set = set };
	struct imap_dotlock *lock = xcalloc(1, sizeof(*lock));
	struct stat st;
	int fd = -1, ret;

	lock->path = xstrdup(path);
	lock->lock_path = xasprintf("%s.lock", path);
	lock->fd = -1;
	w.lock_path = lock->lock_path;
	ret = imap_dotlock_loop(&w, &fd);
	if (ret > 0 && fstat(fd, &st) < 0) {
		close(fd);
		ret = -1;
	}
	if (ret <= 0) {
		if (ret < 0)
			*error_r = xasprintf("dotlock %s: %s", lock->lock_path, strerror(errno));
		imap_dotlock_free(&lock);
		return ret;
	}
	lock->dev = st.st_dev;
	lock->ino = st.st_ino;
	if (set->keep_fd)
		lock->fd = fd;
	else
		close(fd);
	*lock_r = lock;
	return 1;
}

bool imap_dotlock_is_ours(const struct imap_dotlock *lock)
{
	struct stat st;

	return lstat(lock->lock_path, &st) == 0 && st.st_ino == lock->ino && st.st_dev == lock->dev;
}

int imap_dotlock_touch(const struct imap_dotlock *lock)
{
	return utimes(lock->lock_path, NULL);
}

int imap_dotlock_replace(struct imap_dotlock **lockp, char **error_r)
{
	struct imap_dotlock *lock = *lockp;

	if (!imap_dotlock_is_ours(lock)) {
		*error_r = xasprintf("%s: our lock was overridden", lock->lock_path);
		imap_dotlock_free(lockp);
		return -1;
	}
	if ((lock->fd >= 0 && fsync(lock->fd) < 0) || rename(lock->lock_path, lock->path) < 0) {
		*error_r = xasprintf("%s: %s", lock->lock_path, strerror(errno));
		(void)unlink(lock->lock_path);
		imap_dotlock_free(lockp);
		return -1;
	}
	imap_dotlock_free(lockp);
	return 0;
}

void imap_dotlock_delete(struct imap_dotlock **lockp)
{
	if (*lockp == NULL)
		return;
	if (imap_dotlock_is_ours(*lockp))
		(void)unlink((*lockp)->lock_path);
	imap_dotlock_free(lockp);
}
