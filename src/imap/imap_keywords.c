/* imap_keywords - dovecot-keywords (see imap_keywords.h). */
#include "imap/imap_keywords.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap/imap_dotlock.h"
#include "util/file.h"
#include "util/xalloc.h"

#define IMAP_KEYWORDS_LOCK_STALE 120 /* KEYWORDS_LOCK_STALE_TIMEOUT */
#define IMAP_KEYWORDS_FILE_MAX 65536

void imap_keywords_clear(struct imap_keywords *kw)
{
	for (size_t i = 0; i < IMAP_KEYWORDS_MAX; i++) {
		free(kw->names[i]);
		kw->names[i] = NULL;
	}
}

/* imap_keywords_find_n - the index of name (len octets), any case; -1 if absent. */
static int imap_keywords_find_n(const struct imap_keywords *kw, const char *name, size_t len)
{
	for (int i = 0; i < IMAP_KEYWORDS_MAX; i++) {
		if (kw->names[i] != NULL && strncasecmp(kw->names[i], name, len) == 0 &&
		    kw->names[i][len] == '\0')
			return i;
	}
	return -1;
}

/* imap_keywords_line - one "<index> <name>" line; ignored when Dovecot ignores it. */
static void imap_keywords_line(struct imap_keywords *kw, const char *line, size_t len)
{
	const char *sp = memchr(line, ' ', len);
	unsigned long idx = 0;

	if (sp == NULL || sp == line || sp + 1 == line + len || memchr(line, '\0', len) != NULL)
		return;
	for (const char *p = line; p < sp; p++) {
		if (*p < '0' || *p > '9' || idx >= IMAP_KEYWORDS_MAX)
			return;
		idx = idx * 10 + (unsigned long)(*p - '0');
	}
	size_t nlen = (size_t)(line + len - sp - 1);
	if (idx >= IMAP_KEYWORDS_MAX || imap_keywords_find_n(kw, sp + 1, nlen) >= 0)
		return;
	free(kw->names[idx]);
	kw->names[idx] = xstrndup(sp + 1, nlen);
}

void imap_keywords_parse(const char *buf, size_t len, struct imap_keywords *kw)
{
	size_t pos = 0;

	imap_keywords_clear(kw);
	while (pos < len) {
		const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
		if (nl == NULL)
			break; /* a line is complete only with its '\n' */
		size_t llen = (size_t)(nl - line);
		pos += llen + 1;
		while (llen > 0 && line[llen - 1] == '\r')
			llen--;
		imap_keywords_line(kw, line, llen);
	}
}

char *imap_keywords_format(const struct imap_keywords *kw, size_t *len_r)
{
	size_t size = 1, o = 0;
	char *out;

	for (size_t i = 0; i < IMAP_KEYWORDS_MAX; i++)
		size += kw->names[i] != NULL ? strlen(kw->names[i]) + 5 : 0;
	out = xmalloc(size);
	for (size_t i = 0; i < IMAP_KEYWORDS_MAX; i++) {
		if (kw->names[i] != NULL)
			o += (size_t)sprintf(out + o, "%zu %s\n", i, kw->names[i]);
	}
	out[o] = '\0';
	*len_r = o;
	return out;
}

int imap_keywords_find(const struct imap_keywords *kw, const char *name)
{
	return imap_keywords_find_n(kw, name, strlen(name));
}

int imap_keywords_add(struct imap_keywords *kw, const char *name)
{
	int i = imap_keywords_find(kw, name);

	if (i >= 0)
		return i;
	if (name[0] == '\0' || strpbrk(name, "\r\n") != NULL)
		return -1;
	for (i = 0; i < IMAP_KEYWORDS_MAX; i++) {
		if (kw->names[i] == NULL) {
			kw->names[i] = xstrdup(name);
			return i;
		}
	}
	return -1;
}

int imap_keywords_read(const char *dir, struct imap_keywords *kw, char **error_r)
{
	char *path = xasprintf("%s/" IMAP_KEYWORDS_NAME, dir), *buf;
	struct stat st;
	size_t len;

	imap_keywords_clear(kw);
	kw->mtime = 0;
	if (stat(path, &st) < 0 || (buf = file_read_small(path, IMAP_KEYWORDS_FILE_MAX, &len)) == NULL) {
		int ret = errno == ENOENT ? 0 : -1;
		if (ret < 0)
			*error_r = xasprintf("read %s: %s", path, strerror(errno));
		free(path);
		return ret;
	}
	imap_keywords_parse(buf, len, kw);
	kw->mtime = st.st_mtime;
	free(buf);
	free(path);
	return 0;
}

/* imap_keywords_fill - the content into the lock, its mtime past the last one seen. */
static int imap_keywords_fill(int fd, struct imap_keywords *kw)
{
	struct stat st;
	size_t len;
	char *text = imap_keywords_format(kw, &len);
	int ret = file_write_all(fd, text, len);

	free(text);
	if (ret < 0 || fstat(fd, &st) < 0)
		return -1;
	if (st.st_mtime <= kw->mtime) { /* "mtime must grow every time" */
		time_t now = time(NULL);
		struct timespec ts[2] = { { now, 0 }, { now <= kw->mtime ? kw->mtime + 1 : now, 0 } };
		if (futimens(fd, ts) < 0)
			return -1;
		st.st_mtime = ts[1].tv_sec;
	}
	kw->mtime = st.st_mtime;
	return fsync(fd);
}

int imap_keywords_write(const char *dir, struct imap_keywords *kw, char **error_r)
{
	struct imap_dotlock_settings set = {
		.timeout = 0, .stale_timeout = IMAP_KEYWORDS_LOCK_STALE, .keep_fd = true,
	};
	char *path = xasprintf("%s/" IMAP_KEYWORDS_NAME, dir);
	char *lock_path = xasprintf("%s.lock", path);
	struct imap_dotlock *lock = NULL;
	int ret = -1;

	/* the uidlist lock protects us: a keywords lock left here is stale */
	(void)unlink(lock_path);
	if (imap_dotlock_create(path, &set, &lock, error_r) == 0)
		*error_r = xasprintf("%s: locked by someone else", lock_path);
	if (lock != NULL) {
		if (imap_keywords_fill(lock->fd, kw) < 0) {
			*error_r = xasprintf("write %s: %s", lock_path, strerror(errno));
			imap_dotlock_delete(&lock);
		} else {
			ret = imap_dotlock_replace(&lock, error_r);
		}
	}
	free(lock_path);
	free(path);
	return ret;
}
