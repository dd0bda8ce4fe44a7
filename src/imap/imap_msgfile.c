/* imap_msgfile - a message file read whole or up to its header's end. */
#include "imap/imap_msgfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap/imap_mime.h"
#include "util/xalloc.h"

#define IMAP_MSGFILE_CHUNK 16384

/* imap_msgfile_find - the current name of a renamed file: the entry of dir/sub with its base. */
static int imap_msgfile_find(const char *dir, const char *sub, const char *file, char *path,
			     size_t size)
{
	size_t base = strcspn(file, ":");
	char d[4096];
	DIR *dp;
	struct dirent *e;
	int rc = -1;

	snprintf(d, sizeof(d), "%s/%s", dir, sub);
	if ((dp = opendir(d)) == NULL)
		return -1;
	while ((e = readdir(dp)) != NULL) {
		if (strncmp(e->d_name, file, base) == 0 &&
		    (e->d_name[base] == '\0' || e->d_name[base] == ':')) {
			rc = snprintf(path, size, "%s/%s", d, e->d_name) < (int)size ? 0 : -1;
			break;
		}
	}
	closedir(dp);
	return rc;
}

/* imap_msgfile_open - open the message, following a rename; -1 with errno. */
static int imap_msgfile_open(const char *dir, const char *file, bool in_new)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, in_new ? "new" : "cur", file);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0 || errno != ENOENT)
		return fd;
	if (imap_msgfile_find(dir, "cur", file, path, sizeof(path)) < 0 &&
	    imap_msgfile_find(dir, "new", file, path, sizeof(path)) < 0) {
		errno = ENOENT;
		return -1;
	}
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* imap_msgfile_reserve - room for want more bytes. */
static void imap_msgfile_reserve(struct imap_msgfile *f, size_t want)
{
	if (f->cap - f->len >= want)
		return;
	f->cap = f->len + want;
	f->data = xrealloc(f->data, f->cap + 1);
}

/* imap_msgfile_header_done - the loaded bytes hold the blank line ending the header. */
static bool imap_msgfile_header_done(const struct imap_msgfile *f)
{
	return imap_mime_header_end(f->data, f->len) < f->len;
}

/* imap_msgfile_read - read until EOF, size bytes, or (header_only) the header's end. */
static int imap_msgfile_read(struct imap_msgfile *f, int fd, size_t size, bool header_only)
{
	while (f->len < size) {
		/* a header: 4 KB first (most are shorter), then larger steps */
		size_t want = !header_only ? size - f->len : f->len == 0 ? 4096 : IMAP_MSGFILE_CHUNK;
		ssize_t n;

		imap_msgfile_reserve(f, want);
		if ((n = read(fd, f->data + f->len, want)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		f->len += (size_t)n;
		if (header_only && imap_msgfile_header_done(f))
			break;
	}
	return 0;
}

/* imap_msgfile_fail - close fd and fail with err. */
static int imap_msgfile_fail(int fd, int err)
{
	close(fd);
	errno = err;
	return -1;
}

int imap_msgfile_load(struct imap_msgfile *f, const char *dir, const char *file, bool in_new,
		      bool header_only)
{
	struct stat st;
	int fd = imap_msgfile_open(dir, file, in_new);

	f->len = 0;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		return imap_msgfile_fail(fd, errno);
	if ((uint64_t)st.st_size > IMAP_MSGFILE_MAX)
		return imap_msgfile_fail(fd, EFBIG);
	f->mtime = (int64_t)st.st_mtime;
	if (imap_msgfile_read(f, fd, (size_t)st.st_size, header_only) < 0)
		return imap_msgfile_fail(fd, errno);
	close(fd);
	imap_msgfile_reserve(f, 1);
	f->data[f->len] = '\0';
	return 0;
}

uint64_t imap_msgfile_wire_size(const struct imap_msgfile *f)
{
	return imap_mime_crlf_size(f->data, f->len, NULL);
}

void imap_msgfile_free(struct imap_msgfile *f)
{
	free(f->data);
	memset(f, 0, sizeof(*f));
}
