/* privdrop - look up server.user, make data_dir its own, and become it for good. */
#include "daemon/privdrop.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "util/xalloc.h"

/* privdrop_lookup - the uid and gid of user; -1 with *error_r when there is none. */
static int privdrop_lookup(struct privdrop *pd, const char *user, char **error_r)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		*error_r = xasprintf("server.user '%s': %s (create it, e.g. useradd --system "
				     "--no-create-home --shell /usr/sbin/nologin %s, or set [server] user)",
				     user, errno != 0 ? strerror(errno) : "no such user", user);
		return -1;
	}
	pd->uid = pw->pw_uid;
	pd->gid = pw->pw_gid;
	return 0;
}

/* privdrop_make_data_dir - a missing data_dir: create it (0700) owned by the user. */
static int privdrop_make_data_dir(const struct privdrop *pd, const char *data_dir,
				  char **error_r)
{
	int fd;

	if (mkdir(data_dir, 0700) < 0) {
		if (errno == EEXIST)
			return 0; /* privdrop_apply checks that the user can write it */
		*error_r = xasprintf("server.data_dir %s: cannot create: %s", data_dir,
				     strerror(errno));
		return -1;
	}
	if ((fd = open(data_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    fchown(fd, pd->uid, pd->gid) < 0) {
		*error_r = xasprintf("server.data_dir %s: cannot give it to user %s: %s", data_dir,
				     pd->user, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	log_info("created %s for user %s", data_dir, pd->user);
	return 0;
}

/* privdrop_prepare - as root: find the user, create a missing data_dir for it. */
int privdrop_prepare(struct privdrop *pd, const char *user, const char *data_dir,
		     char **error_r)
{
	memset(pd, 0, sizeof(*pd));
	if (geteuid() != 0)
		return 0; /* not root: run as whoever started us */
	if (privdrop_lookup(pd, user, error_r) < 0)
		return -1;
	if (pd->uid == 0) {
		log_warn("server.user is %s (uid 0): running as root; set [server] user to an "
			 "unprivileged account", user);
		return 0;
	}
	pd->active = true;
	pd->user = xstrdup(user);
	return privdrop_make_data_dir(pd, data_dir, error_r);
}

/* privdrop_verify - real, effective and saved ids are the user's, and root is out of reach. */
static bool privdrop_verify(const struct privdrop *pd)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;

	if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0)
		return false;
	if (ruid != pd->uid || euid != pd->uid || suid != pd->uid || rgid != pd->gid ||
	    egid != pd->gid || sgid != pd->gid)
		return false;
	return setuid(0) < 0 && seteuid(0) < 0;
}

/* privdrop_switch - groups, gid, uid for good; then check that root is out of reach. */
static int privdrop_switch(const struct privdrop *pd, char **error_r)
{
	const char *name = pd->user != NULL ? pd->user : "(no name)";
	int groups = pd->user != NULL ? initgroups(pd->user, pd->gid) : setgroups(0, NULL);

	if (groups < 0 || setresgid(pd->gid, pd->gid, pd->gid) < 0 ||
	    setresuid(pd->uid, pd->uid, pd->uid) < 0) {
		*error_r = xasprintf("cannot run as user %s (uid %u): %s", name, (unsigned)pd->uid,
				     strerror(errno));
		return -1;
	}
	if (!privdrop_verify(pd)) {
		*error_r = xasprintf("switched to user %s, but root could still be regained", name);
		return -1;
	}
	return 0;
}

/* privdrop_prefix_len - length of the next, longer leading part of path ending at a '/'. */
static size_t privdrop_prefix_len(const char *path, size_t from)
{
	const char *slash;

	if (from == 0 && path[0] == '/')
		return 1;
	while (path[from] == '/')
		from++;
	slash = strchr(path + from, '/');
	return slash != NULL ? (size_t)(slash - path) : strlen(path);
}

/*
 * privdrop_unsearchable - the first directory on the way to dir that the
 * current user may not search, or NULL. A relative dir is walked from the
 * working directory, as the kernel does, whatever the modes above it.
 */
static char *privdrop_unsearchable(const char *dir)
{
	size_t len = 0, dirlen = strlen(dir);
	char *prefix;

	while (dirlen > 1 && dir[dirlen - 1] == '/')
		dirlen--;
	if (dir[0] != '/' && access(".", X_OK) < 0)
		return xstrdup(".");
	while ((len = privdrop_prefix_len(dir, len)) < dirlen) {
		prefix = xasprintf("%.*s", (int)len, dir);
		if (access(prefix, X_OK) < 0 && errno == EACCES)
			return prefix;
		free(prefix);
	}
	return NULL; /* dir itself: not a search problem above it */
}

/* privdrop_absolute - a relative path made absolute from the working directory, for messages. */
static char *privdrop_absolute(const char *path)
{
	char cwd[4096];

	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(path);
	if (strcmp(path, ".") == 0)
		return xstrdup(cwd);
	return xasprintf("%s/%s", cwd, strncmp(path, "./", 2) == 0 ? path + 2 : path);
}

/* privdrop_unreachable - the error for a data_dir the user cannot write, naming the cause. */
static char *privdrop_unreachable(const struct privdrop *pd, const char *data_dir, int err)
{
	char *blocked = err == EACCES ? privdrop_unsearchable(data_dir) : NULL;
	char *where, *error;

	if (blocked == NULL)
		return xasprintf("server.data_dir %s is not writable by user %s (%s); "
				 "fix with: chown -R %s: %s", data_dir, pd->user, strerror(err),
				 pd->user, data_dir);
	where = privdrop_absolute(blocked);
	error = xasprintf("user %s cannot reach server.data_dir %s: it may not search %s; "
			  "fix with: chmod o+x %s (or set [server] data_dir elsewhere)",
			  pd->user, data_dir, where, where);
	free(where);
	free(blocked);
	return error;
}

/* privdrop_apply - groups, gid, uid; then the checks. */
int privdrop_apply(const struct privdrop *pd, const char *data_dir, char **error_r)
{
	if (!pd->active)
		return 0;
	if (privdrop_switch(pd, error_r) < 0)
		return -1;
	if (access(data_dir, R_OK | W_OK | X_OK) < 0) {
		*error_r = privdrop_unreachable(pd, data_dir, errno);
		return -1;
	}
	log_info("running as user %s (uid %u, gid %u)", pd->user, (unsigned)pd->uid,
		 (unsigned)pd->gid);
	return 0;
}

/* privdrop_owner - who owns dir: uid, and gid and name from the password file when known. */
static int privdrop_owner(struct privdrop *pd, const char *dir, char **error_r)
{
	struct passwd *pw;
	struct stat st;

	if (stat(dir, &st) < 0) {
		*error_r = xasprintf("%s: %s", dir, strerror(errno));
		return -1;
	}
	pd->uid = st.st_uid;
	pd->gid = st.st_gid;
	if ((pw = getpwuid(st.st_uid)) != NULL) {
		pd->gid = pw->pw_gid;
		pd->user = xstrdup(pw->pw_name);
	}
	return 0;
}

/* privdrop_to_owner - as root: become the owner of dir (made for user when missing and create). */
int privdrop_to_owner(const char *dir, const char *user, bool create, char **error_r)
{
	struct privdrop pd;
	int ret;

	if (geteuid() != 0)
		return 0;
	if (access(dir, F_OK) < 0 && errno == ENOENT) {
		if (!create || getpwnam(user) == NULL)
			return 0; /* as before: root makes what it needs */
		ret = privdrop_prepare(&pd, user, dir, error_r);
		privdrop_free(&pd);
		if (ret < 0 || access(dir, F_OK) < 0)
			return ret; /* not made: the user is root */
	}
	memset(&pd, 0, sizeof(pd));
	ret = privdrop_owner(&pd, dir, error_r);
	if (ret == 0 && pd.uid != 0)
		ret = privdrop_switch(&pd, error_r);
	privdrop_free(&pd);
	return ret;
}

/* privdrop_free - release what privdrop_prepare kept. */
void privdrop_free(struct privdrop *pd)
{
	free(pd->user);
	pd->user = NULL;
}
