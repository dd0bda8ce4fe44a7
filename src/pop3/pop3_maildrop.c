/* pop3_maildrop - lock, snapshot, UIDL and UPDATE of one Maildir. */
#include "pop3/pop3_maildrop.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "store/maildir.h"
#include "util/xalloc.h"

#define POP3_SCAN_CHUNK 65536

void pop3_maildrop_uid(const char *base, size_t len, char *uid_r)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	bool plain = len > 0 && len <= POP3_UID_MAX;

	for (size_t i = 0; i < len && plain; i++)
		plain = base[i] >= 0x21 && base[i] <= 0x7e;
	if (plain) {
		memcpy(uid_r, base, len);
		uid_r[len] = '\0';
		return;
	}
	if (EVP_Digest(base, len, md, &md_len, EVP_sha256(), NULL) != 1)
		md_len = 0;
	for (unsigned i = 0; i < md_len && 2 * i + 1 < POP3_UID_MAX; i++) {
		uid_r[2 * i] = digits[md[i] >> 4];
		uid_r[2 * i + 1] = digits[md[i] & 15];
	}
	uid_r[2 * md_len] = '\0';
}

/* pop3_maildrop_wire_size - a foreign file without W=: its size with every bare LF as CRLF. */
static int pop3_maildrop_wire_size(int dirfd, const char *name, size_t *size_r)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	char *buf;
	size_t size = 0;
	char prev = '\0';
	ssize_t n;

	if (fd < 0)
		return -1;
	buf = xmalloc(POP3_SCAN_CHUNK);
	while ((n = read(fd, buf, POP3_SCAN_CHUNK)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			size += buf[i] == '\n' && prev != '\r' ? 2 : 1;
			prev = buf[i];
		}
	}
	free(buf);
	close(fd);
	*size_r = size;
	return n < 0 ? -1 : 0;
}

/* pop3_maildrop_add - append one file of dir ("new" or "cur") to the snapshot. */
static void pop3_maildrop_add(struct pop3_maildrop *md, const char *dir, const char *name,
			      size_t stored, size_t wire)
{
	const char *colon = strchr(name, ':');
	size_t base_len = colon != NULL ? (size_t)(colon - name) : strlen(name);
	size_t name_len = strlen(dir) + 1 + strlen(name);
	struct pop3_msg *m;

	if (md->n == md->alloc) {
		md->alloc = md->alloc ? 2 * md->alloc : 64;
		md->msgs = xrealloc(md->msgs, md->alloc * sizeof(*md->msgs));
	}
	m = &md->msgs[md->n++];
	memset(m, 0, sizeof(*m));
	m->name = xmalloc(name_len + 1 + POP3_UID_MAX + 1);
	snprintf(m->name, name_len + 1, "%s/%s", dir, name);
	m->uid = m->name + name_len + 1;
	pop3_maildrop_uid(name, base_len, m->name + name_len + 1);
	m->size = wire;
	m->stored = stored;
}

/* pop3_maildrop_scan_dir - add every message file of dir ("new" or "cur", open as dirfd). */
static int pop3_maildrop_scan_dir(struct pop3_maildrop *md, const char *dir, int dirfd)
{
	int subfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0); /* closedir closes it, not dirfd */
	struct dirent *de;
	DIR *dp;

	if (subfd < 0 || (dp = fdopendir(subfd)) == NULL) {
		if (subfd >= 0)
			close(subfd);
		return -1;
	}
	while ((errno = 0, de = readdir(dp)) != NULL) {
		size_t stored, wire;
		struct stat st;
		if (de->d_name[0] == '.' || (de->d_type != DT_REG && de->d_type != DT_UNKNOWN))
			continue;
		if (de->d_type == DT_UNKNOWN &&
		    (fstatat(subfd, de->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode)))
			continue;
		if (!maildir_parse_sizes(de->d_name, &stored, &wire)) {
			stored = POP3_SIZE_UNKNOWN;
			if (pop3_maildrop_wire_size(subfd, de->d_name, &wire) < 0)
				continue; /* vanished meanwhile */
		}
		pop3_maildrop_add(md, dir, de->d_name, stored, wire);
	}
	int err = errno;
	closedir(dp);
	errno = err;
	return err != 0 ? -1 : 0;
}

/* pop3_maildrop_open_dirs - open new/ and cur/ of the maildrop for the session. */
static int pop3_maildrop_open_dirs(struct pop3_maildrop *md)
{
	int dirfd = open(md->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dirfd < 0)
		return -1;
	md->new_fd = openat(dirfd, "new", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	md->cur_fd = md->new_fd < 0 ? -1 : openat(dirfd, "cur", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = errno;
	close(dirfd);
	errno = err;
	return md->cur_fd < 0 ? -1 : 0;
}

/* pop3_maildrop_dirfd - the open directory a message name ("new/..." or "cur/...") is in. */
static int pop3_maildrop_dirfd(const struct pop3_maildrop *md, const struct pop3_msg *m)
{
	return strncmp(m->name, "new/", 4) == 0 ? md->new_fd : md->cur_fd;
}

/* pop3_maildrop_cmp - order by base name: Maildir names start with the delivery time. */
static int pop3_maildrop_cmp(const void *a, const void *b)
{
	const struct pop3_msg *ma = a, *mb = b;

	return strcmp(ma->name + 4, mb->name + 4);
}

/* pop3_maildrop_sort - sort the snapshot and drop a second file with the same id. */
static void pop3_maildrop_sort(struct pop3_maildrop *md)
{
	size_t o = 0;

	if (md->n > 1)
		qsort(md->msgs, md->n, sizeof(*md->msgs), pop3_maildrop_cmp);
	for (size_t i = 0; i < md->n; i++) {
		if (o > 0 && strcmp(md->msgs[o - 1].uid, md->msgs[i].uid) == 0)
			free(md->msgs[i].name);
		else
			md->msgs[o++] = md->msgs[i];
	}
	md->n = o;
}

/* pop3_maildrop_lock - open and flock DIR/.pop3.lock; 1 locked, 0 in use, -1 error. */
static int pop3_maildrop_lock(struct pop3_maildrop *md)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/%s", md->path, POP3_LOCK_NAME) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	md->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (md->lock_fd < 0)
		return -1;
	if (flock(md->lock_fd, LOCK_EX | LOCK_NB) == 0)
		return 1;
	return errno == EWOULDBLOCK ? 0 : -1;
}

enum pop3_maildrop_status pop3_maildrop_open(const char *path, struct pop3_maildrop **md_r,
					     int *errno_r)
{
	struct pop3_maildrop *md = xcalloc(1, sizeof(*md));
	int locked;

	md->path = xstrdup(path);
	md->lock_fd = md->new_fd = md->cur_fd = -1;
	if (maildir_create(path) < 0 || (locked = pop3_maildrop_lock(md)) < 0 ||
	    (locked == 1 && (pop3_maildrop_open_dirs(md) < 0 ||
			     pop3_maildrop_scan_dir(md, "new", md->new_fd) < 0 ||
			     pop3_maildrop_scan_dir(md, "cur", md->cur_fd) < 0))) {
		*errno_r = errno;
		pop3_maildrop_close(&md);
		return POP3_MAILDROP_ERROR;
	}
	if (locked == 0) {
		pop3_maildrop_close(&md);
		return POP3_MAILDROP_IN_USE;
	}
	pop3_maildrop_sort(md);
	*md_r = md;
	return POP3_MAILDROP_OK;
}

/* pop3_maildrop_seen - move a retrieved message from new/ to cur/ with the S flag. */
static int pop3_maildrop_seen(const struct pop3_maildrop *md, const struct pop3_msg *m)
{
	char to[4096];

	if (snprintf(to, sizeof(to), "%s:2,S", m->name + 4) >= (int)sizeof(to))
		return -1;
	return renameat(md->new_fd, m->name + 4, md->cur_fd, to) < 0 && errno != ENOENT ? -1 : 0;
}

int pop3_maildrop_update(struct pop3_maildrop *md, size_t *deleted_r, int *errno_r)
{
	size_t deleted = 0, moved = 0;
	int rc = 0;

	for (size_t i = 0; i < md->n; i++) {
		const struct pop3_msg *m = &md->msgs[i];
		if (m->deleted) {
			if (unlinkat(pop3_maildrop_dirfd(md, m), m->name + 4, 0) == 0 || errno == ENOENT) {
				deleted++;
			} else {
				*errno_r = errno;
				rc = -1;
			}
		} else if (m->retrieved && strncmp(m->name, "new/", 4) == 0) {
			moved += pop3_maildrop_seen(md, m) == 0;
		}
	}
	if ((deleted > 0 || moved > 0) && fsync(md->new_fd) < 0 && rc == 0) {
		*errno_r = errno;
		rc = -1;
	}
	if (deleted + moved > 0 && fsync(md->cur_fd) < 0 && rc == 0) {
		*errno_r = errno;
		rc = -1;
	}
	*deleted_r = deleted;
	return rc;
}

int pop3_maildrop_msg_open(const struct pop3_maildrop *md, size_t i)
{
	const struct pop3_msg *m = &md->msgs[i];

	return openat(pop3_maildrop_dirfd(md, m), m->name + 4, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

void pop3_maildrop_close(struct pop3_maildrop **mdp)
{
	struct pop3_maildrop *md = *mdp;

	if (md == NULL)
		return;
	if (md->lock_fd >= 0)
		close(md->lock_fd);
	if (md->new_fd >= 0)
		close(md->new_fd);
	if (md->cur_fd >= 0)
		close(md->cur_fd);
	for (size_t i = 0; i < md->n; i++)
		free(md->msgs[i].name);
	free(md->msgs);
	free(md->path);
	free(md);
	*mdp = NULL;
}
