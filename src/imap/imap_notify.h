/*
 * imap_notify - "something changed in this folder", pushed to IDLE
 * sessions through one inotify descriptor per event loop (issue 14: new
 * mail reaches IDLE clients at once, never by polling each session).
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

/*
 * imap_notify_add - on base's thread: call cb(arg) there when
 * folder_dir/new or folder_dir/cur changes. Each event loop has its own
 * inotify descriptor, made with its first watch and closed with its last.
 * NULL when the kernel refused (the session then sees changes at its next
 * command only).
 */
struct imap_notify_watch *imap_notify_add(struct event_base *base, const char *folder_dir,
					  imap_notify_cb *cb, void *arg);

/* imap_notify_remove - on the same thread: stop calling; *wp becomes NULL. Safe inside the callback. */
void imap_notify_remove(struct imap_notify_watch **wp);

#endif
