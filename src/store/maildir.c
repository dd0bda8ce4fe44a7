/* maildir - Maildir paths, creation and unique names. */
#include "store/maildir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

bool maildir_component_ok(const char *s)
{
	if (s[0] == '\0' || s[0] == '.')
		return false;
	for (; *s != '\0'; s++) {
		if (*s == '/' || (unsigned char)*s < 0x20)
			return false;
	}
	return true;
}

int maildir_path(char *buf, size_t size, const char *data_dir, const char *domain,
		 const char *local)
{
	int n = snprintf(buf, size, "%s/mail/%s/%s", data_dir, domain, local);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int maildir_account_path(char *buf, size_t size, const char *data_dir, const char *address)
{
	const char *at = strrchr(address, '@');
	char local[256];

	if (at == NULL || (size_t)(at - address) >= sizeof(local))
		return -1;
	memcpy(local, address, (size_t)(at - address));
	local[at - address] = '\0';
	if (!maildir_component_ok(local) || !maildir_component_ok(at + 1))
		return -1;
	return maildir_path(buf, size, data_dir, at + 1, local);
}

/* maildir_mkdir_p - create path and its parents; existing ones are fine. */
static int maildir_mkdir_p(const char *path)
{
	char tmp[4096];
	size_t len = strlen(path);

	if (len >= sizeof(tmp))
		return -1;
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(tmp, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

/* maildir_mark_folder - a Maildir++ subfolder (".Name") gets its "maildirfolder" file. */
static int maildir_mark_folder(const char *path)
{
	const char *base = strrchr(path, '/');
	char mark[4096];
	int fd;

	if (base == NULL || base[1] != '.')
		return 0;
	if (snprintf(mark, sizeof(mark), "%s/maildirfolder", path) >= (int)sizeof(mark))
		return -1;
	if ((fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return -1;
	close(fd);
	return 0;
}

int maildir_create(const char *path)
{
	static const char *const subdirs[] = { "tmp", "new", "cur" };
	char sub[4096];

	/* Most Maildirs exist: only a missing one has its parents made. */
	if (mkdir(path, 0700) < 0 && errno != EEXIST && (errno != ENOENT || maildir_mkdir_p(path) < 0))
		return -1;
	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		if (snprintf(sub, sizeof(sub), "%s/%s", path, subdirs[i]) >= (int)sizeof(sub))
			return -1;
		if (mkdir(sub, 0700) < 0 && errno != EEXIST)
			return -1;
	}
	return maildir_mark_folder(path);
}

/* maildir_escape_host - copy host with '/' and ':' escaped as \057 and \072. */
static void maildir_escape_host(char *buf, size_t size, const char *host)
{
	size_t o = 0;

	for (; *host != '\0' && o + 5 < size; host++) {
		if (*host == '/' || *host == ':')
			o += (size_t)snprintf(buf + o, size - o, "\\%03o", (unsigned char)*host);
		else
			buf[o++] = *host;
	}
	buf[o] = '\0';
}

/* maildir_pid - getpid() once: it is a system call every time, and posternd never forks. */
static pid_t maildir_pid(void)
{
	static _Atomic pid_t pid;
	pid_t p = atomic_load_explicit(&pid, memory_order_relaxed);

	if (p == 0) {
		p = getpid();
		atomic_store_explicit(&pid, p, memory_order_relaxed);
	}
	return p;
}

int maildir_name(char *buf, size_t size, const char *host, unsigned long seq, size_t stored_size,
		 size_t wire_size)
{
	struct timeval tv;
	char ehost[256];
	int n;

	gettimeofday(&tv, NULL);
	maildir_escape_host(ehost, sizeof(ehost), host);
	n = snprintf(buf, size, "%ld.M%06ldP%ldQ%lu.%s,S=%zu,W=%zu", (long)tv.tv_sec,
		     (long)tv.tv_usec, (long)maildir_pid(), seq, ehost, stored_size, wire_size);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* maildir_field - the number after ",KEY=" in name (stops at ',' or ':'). */
static bool maildir_field(const char *name, const char *key, size_t *value_r)
{
	const char *p = strstr(name, key);
	char *end;

	if (p == NULL)
		return false;
	p += strlen(key);
	if (*p < '0' || *p > '9')
		return false;
	unsigned long long v = strtoull(p, &end, 10);
	if (*end != '\0' && *end != ',' && *end != ':')
		return false;
	*value_r = (size_t)v;
	return true;
}

bool maildir_parse_sizes(const char *name, size_t *stored_r, size_t *wire_r)
{
	return maildir_field(name, ",S=", stored_r) && maildir_field(name, ",W=", wire_r);
}
