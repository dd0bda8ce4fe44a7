/* users_file - load, refresh, lock and atomically save the users file. */
#include "auth/users.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "util/file.h"
#include "util/xalloc.h"

#define USERS_HEADER "# postern accounts: address:hash:secret (managed by posternctl user)\n"

/* users_id_from_stat - the identity of a file version. */
void users_id_from_stat(struct users_file_id *id_r, const struct stat *st)
{
	memset(id_r, 0, sizeof(*id_r));
	id_r->exists = true;
	id_r->dev = st->st_dev;
	id_r->ino = st->st_ino;
	id_r->size = st->st_size;
	id_r->mtim = st->st_mtim;
	id_r->ctim = st->st_ctim;
}

/* users_id_equal - true when two identities name the same file version. */
bool users_id_equal(const struct users_file_id *a, const struct users_file_id *b)
{
	return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino &&
	       a->size == b->size && a->mtim.tv_sec == b->mtim.tv_sec &&
	       a->mtim.tv_nsec == b->mtim.tv_nsec && a->ctim.tv_sec == b->ctim.tv_sec &&
	       a->ctim.tv_nsec == b->ctim.tv_nsec;
}

/* users_grow - enlarge a buffer holding secrets without leaving a copy behind. */
static char *users_grow(char *buf, size_t used, size_t new_size)
{
	char *p = xmalloc(new_size);

	if (buf != NULL) {
		memcpy(p, buf, used);
		OPENSSL_cleanse(buf, used);
		free(buf);
	}
	return p;
}

/* users_read_fd - read fd to EOF into a new buffer (size is a first guess). */
static int users_read_fd(int fd, size_t size, char **buf_r, size_t *len_r)
{
	size_t len = 0, alloc = size + 1;
	char *buf = users_grow(NULL, 0, alloc);
	ssize_t r;

	while ((r = read(fd, buf + len, alloc - len)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || len + (size_t)r > USERS_FILE_MAX) {
			if (r >= 0)
				errno = EFBIG;
			OPENSSL_cleanse(buf, len);
			free(buf);
			return -1;
		}
		len += (size_t)r;
		if (len == alloc) {
			alloc *= 2;
			buf = users_grow(buf, len, alloc);
		}
	}
	*buf_r = buf;
	*len_r = len;
	return 0;
}

/* users_read_file - fstat an open file and read it whole. */
static int users_read_file(int fd, struct stat *st_r, char **text_r, size_t *len_r)
{
	if (fstat(fd, st_r) < 0)
		return -1;
	if (st_r->st_size > (off_t)USERS_FILE_MAX) {
		errno = EFBIG;
		return -1;
	}
	return users_read_fd(fd, (size_t)st_r->st_size, text_r, len_r);
}

/* users_file_read - an accounts or aliases file, whole: 1 read, 0 missing, -1 with *error_r. */
int users_file_read(const char *path, char **text_r, size_t *len_r, struct stat *st_r,
		    char **error_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd >= 0 && users_read_file(fd, st_r, text_r, len_r) == 0) {
		close(fd);
		return 1;
	}
	err = errno;
	if (fd >= 0)
		close(fd);
	*error_r = xasprintf("%s: %s", path, strerror(err));
	return -1;
}

/* users_load - read the users file; a missing one is an empty database. */
int users_load(struct users_db *db, const char *path, char **error_r)
{
	struct stat st;
	char *text;
	size_t len;
	int ret = users_file_read(path, &text, &len, &st, error_r);

	if (ret == 0)
		users_free(db);
	if (ret <= 0)
		return ret;
	ret = users_parse(db, text, len, path, error_r);
	OPENSSL_cleanse(text, len);
	free(text);
	users_id_from_stat(ret == 0 ? &db->loaded : &db->failed, &st);
	return ret;
}

/* users_file_changed - is the file at path another version than loaded and failed? */
int users_file_changed(const char *path, const struct users_file_id *loaded,
		       const struct users_file_id *failed, char **error_r)
{
	struct users_file_id id = { 0 };
	struct stat st;

	if (stat(path, &st) == 0)
		users_id_from_stat(&id, &st);
	else if (errno != ENOENT) {
		if (error_r != NULL)
			*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	return !(users_id_equal(&id, loaded) || (id.exists && users_id_equal(&id, failed)));
}

/* users_refresh - reload when the file's identity changed. */
int users_refresh(struct users_db *db, const char *path, char **error_r)
{
	char *error = NULL;
	int changed = users_file_changed(path, &db->loaded, &db->failed, error_r);

	if (changed <= 0)
		return changed;
	if (users_load(db, path, &error) == 0)
		return 1;
	if (error_r != NULL)
		*error_r = error;
	else
		free(error);
	return -1;
}

/* users_mkdirs - make dir and its missing parents, mode 0700. */
static int users_mkdirs(const char *dir)
{
	char *parent;
	int ret;

	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -1;
	parent = xstrdup(dir);
	ret = users_mkdirs(dirname(parent));
	free(parent);
	if (ret < 0 || (mkdir(dir, 0700) < 0 && errno != EEXIST))
		return -1;
	return 0;
}

/* users_dirname - the directory of path in a new string. */
static char *users_dirname(const char *path)
{
	char *copy = xstrdup(path);
	char *dir = xstrdup(dirname(copy));

	free(copy);
	return dir;
}

/* users_format - the file text for db, in a new buffer. */
static char *users_format(const struct users_db *db, size_t *len_r)
{
	size_t len = strlen(USERS_HEADER), o;
	char *text;

	for (size_t i = 0; i < db->n; i++) {
		const struct users_account *a = &db->accounts[i];
		len += strlen(a->address) + strlen(a->hash) + (a->secret ? strlen(a->secret) : 0) + 3;
	}
	text = xmalloc(len + 1);
	o = (size_t)snprintf(text, len + 1, "%s", USERS_HEADER);
	for (size_t i = 0; i < db->n; i++) {
		const struct users_account *a = &db->accounts[i];
		o += (size_t)snprintf(text + o, len + 1 - o, "%s:%s:%s\n", a->address, a->hash,
				      a->secret ? a->secret : "");
	}
	*len_r = o;
	return text;
}

/* users_chown_like - as root, give fd the owner of path, or else of dir. */
static int users_chown_like(int fd, const char *path, const char *dir)
{
	struct stat st;

	if (geteuid() != 0)
		return 0;
	if (stat(path, &st) < 0 && stat(dir, &st) < 0)
		return -1;
	return fchown(fd, st.st_uid, st.st_gid);
}

/* users_write_tmp - write text into a new file tmp (0600), synced to disk. */
static int users_write_tmp(const char *text, size_t len, const char *tmp, const char *path,
			   const char *dir)
{
	int fd, ret;

	(void)unlink(tmp); /* a leftover of a crashed run with our pid */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	ret = fchmod(fd, 0600) < 0 || users_chown_like(fd, path, dir) < 0 ||
	      file_write_all(fd, text, len) < 0 || fsync(fd) < 0 ? -1 : 0;
	if (close(fd) < 0)
		ret = -1;
	return ret;
}

/* users_save_steps - mkdir, write, rename, sync; the failed step's name or NULL. */
static const char *users_save_steps(const char *text, size_t len, const char *path,
				    const char *dir, const char *tmp)
{
	if (users_mkdirs(dir) < 0)
		return "mkdir";
	if (users_write_tmp(text, len, tmp, path, dir) < 0)
		return "write";
	if (rename(tmp, path) < 0)
		return "rename";
	if (file_fsync_dir(dir) < 0)
		return "fsync";
	return NULL;
}

/* users_write_atomic - replace the file at path with text, as users_save does. */
int users_write_atomic(const char *path, const char *text, size_t len, char **error_r)
{
	char *dir = users_dirname(path);
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	const char *failed = users_save_steps(text, len, path, dir, tmp);

	if (failed != NULL) {
		*error_r = xasprintf("%s: %s: %s", path, failed, strerror(errno));
		(void)unlink(tmp);
	}
	free(tmp);
	free(dir);
	return failed ? -1 : 0;
}

/* users_save - replace the users file atomically with db's content. */
int users_save(const struct users_db *db, const char *path, char **error_r)
{
	size_t len;
	char *text = users_format(db, &len);
	int ret = users_write_atomic(path, text, len, error_r);

	OPENSSL_cleanse(text, len);
	free(text);
	return ret;
}

/* users_lock - exclusive flock() on path.lock. */
int users_lock(const char *path, int *fd_r, char **error_r)
{
	char *dir = users_dirname(path);
	char *lockpath = xasprintf("%s.lock", path);
	int fd = -1;

	if (users_mkdirs(dir) == 0)
		fd = open(lockpath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	while (fd >= 0 && flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0)
		*error_r = xasprintf("%s: %s", lockpath, strerror(errno));
	free(lockpath);
	free(dir);
	*fd_r = fd;
	return fd < 0 ? -1 : 0;
}

/* users_unlock - release the lock. */
void users_unlock(int *fd_r)
{
	if (*fd_r >= 0)
		close(*fd_r);
	*fd_r = -1;
}
