/*
 * imap_dotlock - the dotlock Dovecot puts beside a file it protects
 * (src/lib/file-dotlock.c with dotlock_use_excl=yes, its default), so that
 * postern and a Dovecot on the same Maildirs exclude each other:
 *
 * - The lock is PATH.lock, made with open(O_CREAT | O_EXCL | O_NOFOLLOW).
 *   When write_pid is set it holds "PID:HOSTNAME" (gethostname(), no
 *   newline), as Dovecot writes for dovecot-uidlist.lock and
 *   subscriptions.lock; dovecot-keywords.lock is left empty.
 * - An existing lock is overridden (unlinked) when it is stale:
 *   - at once when it is older than 2 s, names our host and a PID that no
 *     longer exists (kill(pid, 0) gives ESRCH). Unlike Dovecot, a lock with
 *     our own PID is never taken over: postern runs many sessions in one
 *     process, and that holder is alive;
 *   - otherwise when neither the lock nor the protected file changed
 *     (inode, size, mtime, ctime) for stale_timeout seconds.
 * - Waiting: 0.1-0.2 s at first, growing by half every second up to 3 s,
 *   for at most timeout seconds (0: do not wait).
 * - imap_dotlock_replace() renames the lock over the file: the new content
 *   is written into the lock itself (dovecot-keywords, subscriptions).
 *
 * The functions block (sleep, fsync): call them from a worker thread.
 */
#ifndef POSTERN_IMAP_DOTLOCK_H
#define POSTERN_IMAP_DOTLOCK_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

struct imap_dotlock_settings {
	unsigned timeout;       /* seconds to wait for the lock in all; 0: fail at once */
	unsigned stale_timeout; /* seconds without a change before a lock is stale */
	bool write_pid;         /* write "PID:HOST" into the lock */
	bool keep_fd;           /* keep the lock open for writing new content (replace) */
};

struct imap_dotlock {
	char *path;      /* the protected file */
	char *lock_path; /* path + ".lock" */
	int fd;          /* the lock, open when keep_fd */
	dev_t dev;
	ino_t ino;
};

/*
 * imap_dotlock_create - take PATH.lock. Returns 1 with *lock_r, 0 when the
 * timeout passed (someone holds it), -1 with *error_r (caller frees) on a
 * system error.
 */
int imap_dotlock_create(const char *path, const struct imap_dotlock_settings *set,
			struct imap_dotlock **lock_r, char **error_r);

/* imap_dotlock_is_ours - the lock file is still the one we made (not overridden). */
bool imap_dotlock_is_ours(const struct imap_dotlock *lock);

/* imap_dotlock_touch - refresh the lock's mtime so that others do not think it stale. */
int imap_dotlock_touch(const struct imap_dotlock *lock);

/*
 * imap_dotlock_replace - fsync the lock's content and rename it over the
 * protected file (keep_fd locks); frees *lockp. -1 with *error_r when the
 * lock was overridden or the rename failed (the lock is then removed).
 */
int imap_dotlock_replace(struct imap_dotlock **lockp, char **error_r);

/* imap_dotlock_delete - remove the lock if it is still ours; frees *lockp. */
void imap_dotlock_delete(struct imap_dotlock **lockp);

#endif
