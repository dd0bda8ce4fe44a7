/*
 * imap_notify - "something changed in this folder", pushed to IDLE
 * sessions through one inotify descriptor on the daemon's loop (issue 14:
 * new mail reaches IDLE clients at once, never by polling each session).
 *
 * A session watching a folder watches its new/ and cur/: a delivery links
 * into new/, flag changes and expunges rename or unlink in cur/, whoever
 * does them (SMTP, POP3, another IMAP session, Dovecot on the same tree).
 * Sessions watching the same folder share its two kernel watches; an
 * inotify watch is per inode, so the table is keyed by watch descriptor.
 * When the kernel's queue overflows, every watcher is told.
 */
#ifndef POSTERN_IMAP_NOTIFY_H
#define POSTERN_IMAP_NOTIFY_H

struct event_base;
struct imap_notify;
struct imap_notify_watch;

/* The callback: the folder may have changed (several changes may give one call). */
typedef void imap_notify_cb(void *arg);

/* imap_notify_new - the daemon's notifier on base; NULL (logged) when inotify is unavailable. */
struct imap_notify *imap_notify_new(struct event_base *base);

/* imap_notify_free - close it; every watch must be gone. *np becomes NULL. */
void imap_notify_free(struct imap_notify **np);

/*
 * imap_notify_add - call cb(arg) when folder_dir/new or folder_dir/cur
 * changes; NULL (n is NULL, or the kernel refused: the session then sees
 * changes at its next command only).
 */
struct imap_notify_watch *imap_notify_add(struct imap_notify *n, const char *folder_dir,
					  imap_notify_cb *cb, void *arg);

/* imap_notify_remove - stop calling; *wp becomes NULL. Safe inside the callback. */
void imap_notify_remove(struct imap_notify_watch **wp);

#endif
