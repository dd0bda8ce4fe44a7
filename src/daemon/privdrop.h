/*
 * privdrop - give up root after the privileged part of the start (SPEC.md
 * "posternd": started as root, bind the ports, read the key, then run as
 * server.user). posternd calls privdrop_prepare first (look the user up,
 * make a missing data_dir the user's own), then binds its listeners and
 * loads a configured TLS key, then calls privdrop_apply before it opens
 * anything in data_dir or starts a thread, so that every thread and every
 * file it creates belongs to the user.
 *
 * Started as anyone but root, posternd runs as itself and none of this
 * applies. A server.user of uid 0 is honoured with a warning at every
 * start: never a silent run as root.
 *
 * posternctl, run as root, becomes the owner of the directory it writes in
 * (privdrop_to_owner), so that every file it makes there belongs to the
 * user the daemon runs as, and the daemon can read it.
 */
#ifndef POSTERN_PRIVDROP_H
#define POSTERN_PRIVDROP_H

#include <stdbool.h>
#include <sys/types.h>

/* What privdrop_prepare found out, for privdrop_apply. */
struct privdrop {
	bool active; /* started as root, and the user is not root: drop */
	uid_t uid;
	gid_t gid;
	char *user;
};

/*
 * privdrop_prepare - as root: look user up (a clear error when there is no
 * such user) and create data_dir (0700, owned by the user) when it is
 * missing. Returns 0, or -1 with *error_r malloc'd. Always privdrop_free pd.
 */
int privdrop_prepare(struct privdrop *pd, const char *user, const char *data_dir,
		     char **error_r);

/*
 * privdrop_apply - become the user for good (supplementary groups, gid,
 * uid: real, effective and saved), check that root cannot be regained and
 * that the user can write data_dir. Returns 0, or -1 with *error_r.
 */
int privdrop_apply(const struct privdrop *pd, const char *data_dir, char **error_r);

/*
 * privdrop_to_owner - as root: become, for good, the owner of dir (uid;
 * gid and groups from the password file, else the directory's gid). A dir
 * owned by root keeps root. A missing dir is made first, as
 * privdrop_prepare does, when create is true and user exists; otherwise
 * root stays root. Not root: nothing to do. Returns 0, or -1 with *error_r.
 */
int privdrop_to_owner(const char *dir, const char *user, bool create, char **error_r);

/* privdrop_free - release what privdrop_prepare kept. */
void privdrop_free(struct privdrop *pd);

#endif
