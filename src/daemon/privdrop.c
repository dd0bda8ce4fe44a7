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

/* privdrop_apply - groups, gid, uid; then the checks. */
int privdrop_apply(const struct privdrop *pd, const char *data_dir, char **error_r)
{
	if (!pd->active)
		return 0;
	if (initgroups(pd->user, pd->gid) < 0 || setresgid(pd->gid, pd->gid, pd->gid) < 0 ||
	    setresuid(pd->uid, pd->uid, pd->uid) < 0) {
		*error_r = xasprintf("cannot run as user %s: %s", pd->user, strerror(errno));
		return -1;
	}
	if (!privdrop_verify(pd)) {
		*error_r = xasprintf("switched to user %s, but root could still be regained", pd->user);
		return -1;
	}
	if (access(data_dir, R_OK | W_OK | X_OK) < 0) {
		*error_r = xasprintf("server.data_dir %s is not writable by user %s (%s); "
				     "fix with: chown -R %s: %s", data_dir, pd->user, strerror(errno),
				     pd->user, data_dir);
		return -1;
	}
	log_info("running as user %s (uid %u, gid %u)", pd->user, (unsigned)pd->uid,
		 (unsigned)pd->gid);
	return 0;
}

/* privdrop_free - release what privdrop_prepare kept. */
void privdrop_free(struct privdrop *pd)
{
	free(pd->user);
	pd->user = NULL;
}
