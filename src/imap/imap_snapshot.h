/*
 * imap_snapshot - the last scan of each folder, kept in memory for the
 * next session that opens it while nothing changed: what a scan costs
 * (listing 1,000 files, parsing dovecot-uidlist and postern-modseq) is
 * then five stat calls. Dovecot's index plays this part for Dovecot.
 *
 * "Nothing changed" is judged by the inode, size and mtime of new/, cur/,
 * dovecot-uidlist, dovecot-keywords and postern-modseq. File systems keep
 * mtimes in coarse ticks, so a change in the same tick as a scan would not
 * show: a folder touched less than IMAP_SNAPSHOT_SETTLE seconds before a
 * scan is never remembered (as Dovecot treats a freshly changed Maildir as
 * dirty). Shared by the worker threads: a mutex guards it.
 */
#ifndef POSTERN_IMAP_SNAPSHOT_H
#define POSTERN_IMAP_SNAPSHOT_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#define IMAP_SNAPSHOT_FILES 5
#define IMAP_SNAPSHOT_SETTLE 2 /* seconds */
#define IMAP_SNAPSHOT_MAX_BYTES ((size_t)64 << 20)

struct imap_folder_state;

/* What the folder's files looked like. */
struct imap_snapshot_stamp {
	struct timespec mtime[IMAP_SNAPSHOT_FILES];
	off_t size[IMAP_SNAPSHOT_FILES];
	ino_t ino[IMAP_SNAPSHOT_FILES];
	bool settled; /* every mtime is at least IMAP_SNAPSHOT_SETTLE seconds old */
};

/* imap_snapshot_stamp - stat the folder's files now. */
void imap_snapshot_stamp(const char *dir, struct imap_snapshot_stamp *stamp_r);

/* imap_snapshot_get - a copy of dir's remembered state when its stamp is this one; false if none. */
bool imap_snapshot_get(const char *dir, const struct imap_snapshot_stamp *stamp,
		       struct imap_folder_state *st_r);

/* imap_snapshot_put - remember a copy of st as dir's state at stamp (only a settled stamp). */
void imap_snapshot_put(const char *dir, const struct imap_snapshot_stamp *stamp,
		       const struct imap_folder_state *st);

/* imap_snapshot_clear_all - forget everything (shutdown, tests). */
void imap_snapshot_clear_all(void);

#endif
