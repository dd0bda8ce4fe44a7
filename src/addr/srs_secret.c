/*
 * srs_secret - the SRS secret in DATA_DIR/srs.secret: read, or made on first
 * use (see srs_secret_load in srs.h). The only part of srs that does I/O.
 */
#include "addr/srs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "util/file.h"
#include "util/xalloc.h"

#define SRS_SECRET_FILE "srs.secret"
#define SRS_SECRET_RANDOM 32 /* bytes of a new secret, written as hex */

/* srs_secret_read_fd - up to size bytes of fd into text (*n_r of them); -1 with errno. */
static int srs_secret_read_fd(int fd, char *text, size_t size, size_t *n_r)
{
	size_t n = 0;

	while (n < size) {
		ssize_t r = read(fd, text + n, size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*n_r = n;
	return 0;
}

/* srs_secret_line - the length of text's first line (up to CR or LF); SIZE_MAX when it has a NUL. */
static size_t srs_secret_line(const char *text, size_t n)
{
	size_t i = 0;

	while (i < n && text[i] != '\r' && text[i] != '\n') {
		if (text[i] == '\0')
			return SIZE_MAX;
		i++;
	}
	return i;
}

/* srs_secret_read - the first line of path into buf; 1 read, 0 no such file, -1 error. */
static int srs_secret_read(const char *path, unsigned char *buf, size_t *len_r, char **error_r)
{
	char text[SRS_SECRET_MAX + 2];
	size_t n = 0, line;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc;

	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || srs_secret_read_fd(fd, text, sizeof(text), &n) < 0) {
		*error_r = xasprintf("%s: %s: %s", path, fd < 0 ? "open" : "read", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	line = srs_secret_line(text, n);
	rc = line >= SRS_SECRET_MIN && line <= SRS_SECRET_MAX ? 1 : -1;
	if (rc > 0) {
		memcpy(buf, text, line);
		*len_r = line;
	} else {
		*error_r = xasprintf("%s: the first line must be a secret of %d to %d bytes, no NUL",
				     path, SRS_SECRET_MIN, SRS_SECRET_MAX);
	}
	OPENSSL_cleanse(text, sizeof(text));
	return rc;
}

/* srs_secret_chown - as root, give fd the owner of data_dir (the daemon runs as that user). */
static int srs_secret_chown(int fd, const char *data_dir)
{
	struct stat st;

	if (geteuid() != 0)
		return 0;
	if (stat(data_dir, &st) < 0)
		return -1;
	return fchown(fd, st.st_uid, st.st_gid);
}

/* srs_secret_write_tmp - a new secret into the new file tmp (0600), synced; -1 with errno. */
static int srs_secret_write_tmp(const char *tmp, const char *data_dir)
{
	unsigned char raw[SRS_SECRET_RANDOM];
	char text[2 * SRS_SECRET_RANDOM + 1];
	int fd, ret, err;

	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		errno = EIO;
		return -1;
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		text[2 * i] = "0123456789abcdef"[raw[i] >> 4];
		text[2 * i + 1] = "0123456789abcdef"[raw[i] & 0x0f];
	}
	text[sizeof(text) - 1] = '\n';
	(void)unlink(tmp); /* a leftover of a crashed run with our pid */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	ret = fd < 0 || fchmod(fd, 0600) < 0 || srs_secret_chown(fd, data_dir) < 0 ||
	      file_write_all(fd, text, sizeof(text)) < 0 || fsync(fd) < 0 ? -1 : 0;
	err = errno;
	if (fd >= 0 && close(fd) < 0 && ret == 0) {
		ret = -1;
		err = errno;
	}
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(text, sizeof(text));
	errno = err;
	return ret;
}

/*
 * srs_secret_create - make path with a new secret: tmp, fsync, link. link()
 * never replaces a file, so of two processes starting at once both end up
 * with the first one's secret (rename() would let the second overwrite it).
 */
static int srs_secret_create(const char *path, const char *data_dir, char **error_r)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	const char *failed = NULL;

	if (srs_secret_write_tmp(tmp, data_dir) < 0)
		failed = "write";
	else if (link(tmp, path) < 0 && errno != EEXIST)
		failed = "link";
	else if (file_fsync_dir(data_dir) < 0)
		failed = "fsync";
	if (failed != NULL)
		*error_r = xasprintf("%s: %s: %s", path, failed, strerror(errno));
	(void)unlink(tmp);
	free(tmp);
	return failed != NULL ? -1 : 0;
}

/* srs_secret_load - the SRS secret from DATA_DIR/srs.secret, made on first use (see srs.h). */
int srs_secret_load(const char *data_dir, unsigned char *buf, size_t *len_r, char **error_r)
{
	char *path = xasprintf("%s/%s", data_dir, SRS_SECRET_FILE);
	int rc = srs_secret_read(path, buf, len_r, error_r);

	if (rc == 0) {
		rc = srs_secret_create(path, data_dir, error_r) < 0 ? -1
		     : srs_secret_read(path, buf, len_r, error_r);
		if (rc == 0)
			*error_r = xasprintf("%s: vanished after it was made", path);
	}
	free(path);
	return rc > 0 ? 0 : -1;
}
