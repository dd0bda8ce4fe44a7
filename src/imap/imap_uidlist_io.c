/* imap_uidlist_io - reading, locking and writing dovecot-uidlist; UIDVALIDITY (see imap_uidlist.h). */
#include "imap/imap_uidlist.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "imap/imap_dotlock.h"
#include "util/file.h"
#include "util/xalloc.h"

#define IMAP_UIDLIST_READ_MAX (512u << 20) /* 512 MB: millions of messages */
#define IMAP_UIDVALIDITY_RETRIES 10         /* Dovecot's RETRY_COUNT */

/* imap_uidlist_io_fail - *error_r = "what path: strerror(errno)"; returns -1. */
static int imap_uidlist_io_fail(char **error_r, const char *what, const char *path)
{
	*error_r = xasprintf("%s %s: %s", what, path, strerror(errno));
	return -1;
}

/* imap_uidlist_slurp - the whole file at fd into a new buffer; NULL with errno. */
static char *imap_uidlist_slurp(int fd, size_t *len_r)
{
	size_t len = 0, alloc = 65536;
	char *buf = xmalloc(alloc);

	for (;;) {
		if (len == alloc) {
			if (alloc >= IMAP_UIDLIST_READ_MAX) {
				free(buf);
				errno = EFBIG;
				return NULL;
			}
			alloc *= 2;
			buf = xrealloc(buf, alloc);
		}
		ssize_t n = read(fd, buf + len, alloc - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*len_r = len;
	return buf;
}

/* imap_uidlist_note_tail - the file now ends with text (appended, or all of it). */
static void imap_uidlist_note_tail(struct imap_uidlist *ul, const char *text, size_t len,
				   bool append)
{
	size_t keep = append && len < IMAP_UIDLIST_TAIL ? IMAP_UIDLIST_TAIL - len : 0;

	if (keep > ul->file_tail_len)
		keep = ul->file_tail_len;
	if (len > IMAP_UIDLIST_TAIL - keep) {
		text += len - (IMAP_UIDLIST_TAIL - keep);
		len = IMAP_UIDLIST_TAIL - keep;
	}
	memmove(ul->file_tail, ul->file_tail + ul->file_tail_len - keep, keep);
	memcpy(ul->file_tail + keep, text, len);
	ul->file_tail_len = keep + len;
}

int imap_uidlist_read(const char *dir, struct imap_uidlist *ul, char **error_r)
{
	char *path = xasprintf("%s/" IMAP_UIDLIST_NAME, dir), *buf;
	const char *perr;
	struct stat st;
	size_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 1;

	imap_uidlist_clear(ul);
	if (fd < 0) {
		ret = errno == ENOENT ? 0 : imap_uidlist_io_fail(error_r, "open", path) - 1;
		free(path);
		return ret;
	}
	if (fstat(fd, &st) < 0 || (buf = imap_uidlist_slurp(fd, &len)) == NULL) {
		ret = imap_uidlist_io_fail(error_r, "read", path) - 1;
		close(fd);
		free(path);
		return ret;
	}
	close(fd);
	if (imap_uidlist_parse(buf, len, ul, &perr) < 0) {
		*error_r = xasprintf("broken file %s: %s", path, perr);
		ret = -1;
	}
	ul->file_dev = st.st_dev;
	ul->file_ino = st.st_ino;
	ul->file_size = (off_t)len;
	imap_uidlist_note_tail(ul, buf, len, false);
	free(buf);
	free(path);
	return ret;
}

/* imap_uidlist_grown - the octets since ul's end of fd's file (size now), checked; NULL if not. */
static char *imap_uidlist_grown(int fd, const struct imap_uidlist *ul, off_t size, size_t *len_r)
{
	size_t t = ul->file_tail_len, len = (size_t)(size - ul->file_size) + t;
	char *buf;

	if (ul->file_size < (off_t)t || len > IMAP_UIDLIST_READ_MAX)
		return NULL;
	buf = xmalloc(len + 1);
	if (pread(fd, buf, len, ul->file_size - (off_t)t) != (ssize_t)len ||
	    memcmp(buf, ul->file_tail, t) != 0 || (len > t && buf[len - 1] != '\n')) {
		free(buf); /* not the file it was: inode reused, rewritten in place, append in progress */
		return NULL;
	}
	*len_r = len;
	return buf;
}

int imap_uidlist_reread(const char *dir, struct imap_uidlist *ul, char **error_r)
{
	char *path = xasprintf("%s/" IMAP_UIDLIST_NAME, dir), *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	const char *perr;
	struct stat st;
	size_t len = 0, t = ul->file_tail_len;

	free(path);
	if (fd >= 0 && ul->version == 3 && !ul->repaired && fstat(fd, &st) == 0 &&
	    st.st_ino == ul->file_ino && st.st_dev == ul->file_dev && st.st_size >= ul->file_size)
		buf = imap_uidlist_grown(fd, ul, st.st_size, &len);
	if (fd >= 0)
		close(fd);
	if (buf != NULL && imap_uidlist_parse_more(buf + t, len - t, ul, &perr) == 0) {
		ul->file_size = st.st_size;
		imap_uidlist_note_tail(ul, buf + t, len - t, true);
		free(buf);
		return 1;
	}
	free(buf);
	return imap_uidlist_read(dir, ul, error_r);
}

int imap_uidlist_changed(const char *dir, const struct imap_uidlist *ul)
{
	char *path = xasprintf("%s/" IMAP_UIDLIST_NAME, dir);
	struct stat st;
	int ret;

	if (stat(path, &st) < 0)
		ret = ul->file_ino != 0;
	else
		ret = st.st_ino != ul->file_ino || st.st_dev != ul->file_dev ||
		      st.st_size != ul->file_size;
	free(path);
	return ret;
}

/*
 * Threads of this process take a folder's mutex before its dotlock: the
 * dotlock never takes over a lock of our own PID (its holder is alive), so
 * two workers meeting on one folder would otherwise sleep in its back-off.
 * Folders share a fixed set of mutexes by hash of their path.
 */
#define IMAP_UIDLIST_STRIPES 64
static pthread_mutex_t imap_uidlist_stripes[IMAP_UIDLIST_STRIPES] = {
	[0 ... IMAP_UIDLIST_STRIPES - 1] = PTHREAD_MUTEX_INITIALIZER
};

/* imap_uidlist_stripe - the mutex of the uidlist file at path (FNV-1a of the path). */
static pthread_mutex_t *imap_uidlist_stripe(const char *path)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)path; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	return &imap_uidlist_stripes[h % IMAP_UIDLIST_STRIPES];
}

int imap_uidlist_lock(const char *dir, unsigned timeout, struct imap_dotlock **lock_r,
		      char **error_r)
{
	struct imap_dotlock_settings set = {
		.timeout = timeout,
		.stale_timeout = IMAP_UIDLIST_LOCK_STALE,
		.write_pid = true,
	};
	char *path = xasprintf("%s/" IMAP_UIDLIST_NAME, dir);
	pthread_mutex_t *stripe = imap_uidlist_stripe(path);
	struct timespec until;
	int ret;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout;
	if ((timeout == 0 ? pthread_mutex_trylock(stripe) : pthread_mutex_timedlock(stripe, &until)) != 0) {
		free(path);
		*lock_r = NULL;
		return 0; /* another thread of ours holds it all that time */
	}
	ret = imap_dotlock_create(path, &set, lock_r, error_r);
	if (ret != 1)
		pthread_mutex_unlock(stripe);
	free(path);
	return ret;
}

void imap_uidlist_unlock(struct imap_dotlock **lockp)
{
	pthread_mutex_t *stripe = *lockp != NULL ? imap_uidlist_stripe((*lockp)->path) : NULL;

	imap_dotlock_delete(lockp);
	if (stripe != NULL)
		pthread_mutex_unlock(stripe);
}

/* imap_uidlist_local_stripe - the mutex of DIR's uidlist. */
static pthread_mutex_t *imap_uidlist_local_stripe(const char *dir)
{
	char *path = xasprintf("%s/" IMAP_UIDLIST_NAME, dir);
	pthread_mutex_t *stripe = imap_uidlist_stripe(path);

	free(path);
	return stripe;
}

void imap_uidlist_local_lock(const char *dir)
{
	pthread_mutex_lock(imap_uidlist_local_stripe(dir));
}

void imap_uidlist_local_unlock(const char *dir)
{
	pthread_mutex_unlock(imap_uidlist_local_stripe(dir));
}

/* imap_uidlist_write_tmp - the formatted list into tmp, synced; its inode in *st_r. */
static int imap_uidlist_write_tmp(const char *tmp, struct imap_uidlist *ul, struct stat *st_r)
{
	size_t len;
	char *text;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	text = imap_uidlist_format(ul, &len);
	if (file_write_all(fd, text, len) < 0 || fdatasync(fd) < 0 || fstat(fd, st_r) < 0) {
		int err = errno;
		free(text);
		close(fd);
		errno = err;
		return -1;
	}
	imap_uidlist_note_tail(ul, text, len, false);
	free(text);
	return close(fd);
}

int imap_uidlist_write(const char *dir, struct imap_uidlist *ul, char **error_r)
{
	char *tmp = xasprintf("%s/" IMAP_UIDLIST_NAME ".tmp", dir);
	char *path = xasprintf("%s/" IMAP_UIDLIST_NAME, dir);
	struct stat st;
	int ret = 0;

	if (!ul->have_guid && imap_uidlist_guid_generate(ul->guid) == 0)
		ul->have_guid = true;
	if (imap_uidlist_write_tmp(tmp, ul, &st) < 0) {
		ret = imap_uidlist_io_fail(error_r, "write", tmp);
		(void)unlink(tmp);
	} else if (rename(tmp, path) < 0) {
		ret = imap_uidlist_io_fail(error_r, "rename to", path);
		(void)unlink(tmp);
	} else if (file_fsync_dir(dir) < 0) {
		ret = imap_uidlist_io_fail(error_r, "fsync", dir);
	}
	if (ret == 0) {
		ul->version = 3;
		ul->repaired = false;
		ul->file_dev = st.st_dev;
		ul->file_ino = st.st_ino;
		ul->file_size = st.st_size;
	}
	free(tmp);
	free(path);
	return ret;
}

int imap_uidlist_append(const char *dir, struct imap_uidlist *ul, size_t from, char **error_r)
{
	char *path = xasprintf("%s/" IMAP_UIDLIST_NAME, dir), *text = NULL;
	int fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC), ret = -1;
	struct stat st;
	size_t len;

	if (fd < 0 || fstat(fd, &st) < 0) {
		imap_uidlist_io_fail(error_r, "open", path);
	} else if (st.st_ino != ul->file_ino || st.st_dev != ul->file_dev ||
		   st.st_size != ul->file_size) {
		*error_r = xasprintf("%s changed since it was read: read it again", path);
	} else {
		text = imap_uidlist_format_recs(ul, from, &len);
		if (file_write_all(fd, text, len) < 0) {
			imap_uidlist_io_fail(error_r, "write", path);
			(void)ftruncate(fd, st.st_size); /* no half record left behind */
		} else {
			ul->file_size = st.st_size + (off_t)len;
			imap_uidlist_note_tail(ul, text, len, true);
			ret = 0;
		}
	}
	if (fd >= 0)
		close(fd);
	free(text);
	free(path);
	return ret;
}

int imap_uidlist_guid_generate(uint8_t guid_r[16])
{
	size_t got = 0;

	while (got < 16) {
		ssize_t n = getrandom(guid_r + got, 16 - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* imap_uidvalidity_fallback - the current time, or one more than the last fallback (Dovecot). */
static uint32_t imap_uidvalidity_fallback(void)
{
	static uint32_t last;
	uint32_t now = (uint32_t)time(NULL), old = __atomic_load_n(&last, __ATOMIC_RELAXED), v;

	do {
		v = old < now ? now : old + 1;
		if (v == 0)
			v = 1;
	} while (!__atomic_compare_exchange_n(&last, &old, v, false, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return v;
}

/* imap_uidvalidity_hex - s is 1..8 hex digits and nothing else (str_to_uint32_hex); its value. */
static int imap_uidvalidity_hex(const char *s, uint32_t *v_r)
{
	size_t n = strspn(s, "0123456789abcdefABCDEF");

	if (n == 0 || n > 8 || s[n] != '\0')
		return -1;
	*v_r = (uint32_t)strtoul(s, NULL, 16);
	return 0;
}

/* imap_uidvalidity_store - write the value as 8 hex digits at the start of path (Dovecot's way). */
static void imap_uidvalidity_store(const char *path, uint32_t v)
{
	char buf[9];
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return;
	snprintf(buf, sizeof(buf), "%08x", v);
	(void)pwrite(fd, buf, 8, 0);
	close(fd);
}

/* imap_uidvalidity_claim - rename marker .<*v> to .<*v + 1>, trying later values on ENOENT. */
static int imap_uidvalidity_claim(const char *path, uint32_t *v)
{
	char src[4200], dst[4200];
	int ret = -1;

	for (int i = 0; i < IMAP_UIDVALIDITY_RETRIES; i++) {
		snprintf(src, sizeof(src), "%s.%08x", path, *v);
		*v += 1;
		if (*v == 0)
			*v = 1;
		snprintf(dst, sizeof(dst), "%s.%08x", path, *v);
		if ((ret = rename(src, dst)) == 0 || errno != ENOENT)
			break;
	}
	return ret;
}

/* imap_uidvalidity_markers - the lowest and highest dovecot-uidvalidity.<hex> in root; -1 if unreadable. */
static int imap_uidvalidity_markers(const char *root, uint32_t *min_r, uint32_t *max_r)
{
	const char *prefix = IMAP_UIDVALIDITY_NAME ".";
	size_t plen = strlen(prefix);
	DIR *d = opendir(root);
	struct dirent *de;

	if (d == NULL)
		return -1;
	*min_r = 0xffffffffu, *max_r = 0;
	while ((de = readdir(d)) != NULL) {
		uint32_t v;
		if (strncmp(de->d_name, prefix, plen) != 0 ||
		    imap_uidvalidity_hex(de->d_name + plen, &v) < 0)
			continue;
		*min_r = v < *min_r ? v : *min_r;
		*max_r = v > *max_r ? v : *max_r;
	}
	closedir(d);
	return 0;
}

/* imap_uidvalidity_first - no marker yet: create one for the current time (O_EXCL). */
static uint32_t imap_uidvalidity_first(const char *path)
{
	char marker[4200];
	uint32_t v = 0;

	for (int i = 0; i < IMAP_UIDVALIDITY_RETRIES; i++) {
		v = imap_uidvalidity_fallback();
		snprintf(marker, sizeof(marker), "%s.%08x", path, v);
		int fd = open(marker, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
		if (fd >= 0) {
			close(fd);
			break;
		}
		if (errno != EEXIST)
			break;
	}
	return v;
}

/* imap_uidvalidity_rescan - the slow path: find the markers in root and go on from the highest. */
static int imap_uidvalidity_rescan(const char *root, const char *path, uint32_t *v_r,
				   char **error_r)
{
	uint32_t min, max;

	if (imap_uidvalidity_markers(root, &min, &max) < 0)
		return imap_uidlist_io_fail(error_r, "opendir", root);
	if (max == 0) {
		*v_r = imap_uidvalidity_first(path);
	} else {
		if (min != max) { /* duplicate markers: drop the oldest */
			char old[4200];
			snprintf(old, sizeof(old), "%s.%08x", path, min);
			(void)unlink(old);
		}
		*v_r = max;
		if (imap_uidvalidity_claim(path, v_r) < 0)
			*v_r = imap_uidvalidity_fallback();
	}
	imap_uidvalidity_store(path, *v_r);
	return 0;
}

int imap_uidvalidity_next(const char *root, uint32_t *uidvalidity_r, char **error_r)
{
	char *path = xasprintf("%s/" IMAP_UIDVALIDITY_NAME, root), buf[9] = { 0 };
	int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC), ret;
	ssize_t n = fd >= 0 ? pread(fd, buf, 8, 0) : -1;
	uint32_t v = 0;

	if (fd >= 0)
		close(fd);
	if (n <= 0 || imap_uidvalidity_hex(buf, &v) < 0 || v == 0) {
		ret = imap_uidvalidity_rescan(root, path, uidvalidity_r, error_r);
		free(path);
		return ret;
	}
	*uidvalidity_r = v;
	if (imap_uidvalidity_claim(path, uidvalidity_r) < 0) {
		ret = imap_uidvalidity_rescan(root, path, uidvalidity_r, error_r);
		free(path);
		return ret;
	}
	imap_uidvalidity_store(path, *uidvalidity_r);
	free(path);
	return 0;
}
