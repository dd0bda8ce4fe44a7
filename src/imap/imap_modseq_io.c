/* imap_modseq_io - reading and writing DIR/postern-modseq, and the locked read-sync-write (see imap_modseq.h). */
#include "imap/imap_modseq.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "imap/imap_uidlist.h"
#include "util/file.h"
#include "util/xalloc.h"

/* imap_modseq_io_fail - *error_r = "what path: strerror(errno)"; returns -1. */
static int imap_modseq_io_fail(char **error_r, const char *what, const char *path)
{
	*error_r = xasprintf("%s %s: %s", what, path, strerror(errno));
	return -1;
}

/* imap_modseq_slurp - the whole file at fd (at most IMAP_MODSEQ_FILE_MAX octets); NULL with errno. */
static char *imap_modseq_slurp(int fd, size_t *len_r)
{
	struct stat st;
	size_t len = 0, size;
	char *buf;

	if (fstat(fd, &st) < 0)
		return NULL;
	if (st.st_size < 0 || (uint64_t)st.st_size > IMAP_MODSEQ_FILE_MAX) {
		errno = EFBIG;
		return NULL;
	}
	size = (size_t)st.st_size; /* the file is replaced by rename, never written in place */
	buf = xmalloc(size + 1);
	while (len < size) {
		ssize_t n = read(fd, buf + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			errno = n == 0 ? EIO : errno; /* shorter than fstat said */
			return NULL;
		}
		len += (size_t)n;
	}
	*len_r = len;
	return buf;
}

int imap_modseq_read(const char *dir, struct imap_modseq *ms, char **error_r)
{
	char *path = xasprintf("%s/" IMAP_MODSEQ_NAME, dir), *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 1;
	const char *perr;
	size_t len;

	imap_modseq_clear(ms);
	if (fd < 0) {
		ret = errno == ENOENT ? 0 : imap_modseq_io_fail(error_r, "open", path);
		free(path);
		return ret;
	}
	if ((buf = imap_modseq_slurp(fd, &len)) == NULL) {
		ret = imap_modseq_io_fail(error_r, "read", path);
	} else {
		if (imap_modseq_parse(buf, len, ms, &perr) < 0) {
			*error_r = xasprintf("broken file %s: %s", path, perr);
			ret = -2;
		}
		free(buf);
	}
	close(fd);
	free(path);
	return ret;
}

/* imap_modseq_write_tmp - the formatted record into the new file tmp. */
static int imap_modseq_write_tmp(const char *tmp, const struct imap_modseq *ms)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	size_t len;
	char *text;

	if (fd < 0)
		return -1;
	text = imap_modseq_format(ms, &len);
	if (file_write_all(fd, text, len) < 0) {
		int err = errno;
		free(text);
		close(fd);
		errno = err;
		return -1;
	}
	free(text);
	return close(fd);
}

/*
 * imap_modseq_tmp_name - DIR/postern-modseq.HOST.PID.tmp: no lock guards
 * the file across hosts sharing the Maildirs (a lost update only means new
 * MODSEQs), but two of them must never write into one temporary file.
 */
static char *imap_modseq_tmp_name(const char *dir)
{
	char host[256] = "localhost";

	if (gethostname(host, sizeof(host) - 1) < 0 || strchr(host, '/') != NULL)
		snprintf(host, sizeof(host), "localhost");
	return xasprintf("%s/" IMAP_MODSEQ_NAME ".%s.%ld.tmp", dir, host, (long)getpid());
}

int imap_modseq_write(const char *dir, const struct imap_modseq *ms, char **error_r)
{
	char *tmp = imap_modseq_tmp_name(dir);
	char *path = xasprintf("%s/" IMAP_MODSEQ_NAME, dir);
	int ret = 0;

	if (imap_modseq_write_tmp(tmp, ms) < 0) {
		ret = imap_modseq_io_fail(error_r, "write", tmp);
		(void)unlink(tmp);
	} else if (rename(tmp, path) < 0) {
		ret = imap_modseq_io_fail(error_r, "rename to", path);
		(void)unlink(tmp);
	}
	free(tmp);
	free(path);
	return ret;
}

/* imap_modseq_give - hand the synced record to the caller's ms_r (if any); ms becomes empty. */
static void imap_modseq_give(struct imap_modseq *ms, struct imap_modseq *ms_r)
{
	if (ms_r == NULL) {
		imap_modseq_clear(ms);
		return;
	}
	imap_modseq_clear(ms_r);
	*ms_r = *ms;
	imap_modseq_init(ms);
}

int imap_modseq_update_locked(const char *dir, uint32_t uidvalidity, struct imap_msg *msgs,
			      size_t n, uint64_t now_us, enum imap_modseq_mode mode,
			      uint64_t *highest_r, struct imap_modseq *ms_r, char **error_r)
{
	struct imap_modseq ms;
	char *rerr = NULL;
	int r, ret = 0;

	imap_modseq_init(&ms);
	r = imap_modseq_read(dir, &ms, &rerr);
	if (r == -1) {
		*error_r = rerr;
		return -1;
	}
	free(rerr); /* a broken file: start afresh, it is only a record */
	r = imap_modseq_sync(&ms, uidvalidity, msgs, n, now_us, mode);
	if (r < 0) {
		*error_r = xstrdup("messages not in ascending UID order, or UIDVALIDITY 0");
		imap_modseq_clear(&ms);
		return -1;
	}
	if (r == 1)
		ret = imap_modseq_write(dir, &ms, error_r);
	if (highest_r != NULL)
		*highest_r = ms.highest;
	imap_modseq_give(&ms, ms_r);
	return ret;
}

int imap_modseq_update(const char *dir, uint32_t uidvalidity, struct imap_msg *msgs, size_t n,
		       uint64_t now_us, enum imap_modseq_mode mode, uint64_t *highest_r,
		       struct imap_modseq *ms_r, char **error_r)
{
	int ret;

	imap_uidlist_local_lock(dir);
	ret = imap_modseq_update_locked(dir, uidvalidity, msgs, n, now_us, mode, highest_r, ms_r,
					error_r);
	imap_uidlist_local_unlock(dir);
	return ret;
}

uint64_t imap_modseq_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
