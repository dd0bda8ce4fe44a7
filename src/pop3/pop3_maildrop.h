/*
 * pop3_maildrop - a POP3 session's view of one Maildir (RFC 1939 over
 * https://cr.yp.to/proto/maildir.html):
 *
 * - Lock: flock(LOCK_EX | LOCK_NB) on DIR/.pop3.lock, held for the whole
 *   session. The kernel drops it when the descriptor closes, so QUIT, a
 *   dropped connection and a crash all release it; two sessions in one
 *   process conflict as well (each open() is its own open file).
 * - Snapshot: new/ and cur/ are read once at login, sorted by base name
 *   (delivery time first). Sizes come from the ",W=" field of the names
 *   (no file is opened); a foreign file without it is stat'ed and read.
 * - UIDL: the base name (before ':') when it is 1..70 characters of
 *   0x21..0x7E (RFC 1939 section 7), else the hex SHA-256 of it. Base names
 *   are unique by construction and never change when a message moves from
 *   new/ to cur/, so ids are stable across sessions and never reused.
 * - UPDATE: deleted messages are unlinked, retrieved ones move from new/
 *   to cur/ with ":2,S", then both directories are fsync'd.
 * - Descriptors: new/ and cur/ are opened once at login and kept, so RETR,
 *   UPDATE and the fsyncs work relative to them (openat, renameat,
 *   unlinkat) instead of resolving the whole path every time.
 *
 * pop3_maildrop_open and pop3_maildrop_update do blocking file I/O: run
 * them on a worker thread. A maildrop belongs to one thread at a time.
 */
#ifndef POSTERN_POP3_MAILDROP_H
#define POSTERN_POP3_MAILDROP_H

#include <stdbool.h>
#include <stddef.h>

#define POP3_UID_MAX 70 /* RFC 1939 section 7 */
#define POP3_LOCK_NAME ".pop3.lock"
#define POP3_SIZE_UNKNOWN ((size_t)-1)

struct pop3_msg {
	char *name;      /* "new/BASE" or "cur/BASE:2,FLAGS", NUL, then the uid */
	const char *uid; /* inside name's allocation */
	size_t size;     /* octets with CRLF line ends: what RETR sends, unstuffed */
	size_t stored;   /* the file's size from ",S=", or POP3_SIZE_UNKNOWN */
	bool deleted;    /* DELE in this session */
	bool retrieved;  /* RETR in this session */
};

struct pop3_maildrop {
	char *path;
	int lock_fd;
	int new_fd, cur_fd; /* DIR/new and DIR/cur, open for the session */
	struct pop3_msg *msgs;
	size_t n;
	size_t alloc;
};

enum pop3_maildrop_status {
	POP3_MAILDROP_OK,
	POP3_MAILDROP_IN_USE,
	POP3_MAILDROP_ERROR,
};

/*
 * pop3_maildrop_open - create the Maildir at path when missing, lock it and
 * take the snapshot. Returns POP3_MAILDROP_OK with *md_r set, IN_USE, or
 * ERROR with *errno_r set.
 */
enum pop3_maildrop_status pop3_maildrop_open(const char *path, struct pop3_maildrop **md_r,
					     int *errno_r);

/*
 * pop3_maildrop_update - the UPDATE state: carry out deletions and moves.
 * Returns 0, or -1 when some deleted message could not be removed (errno_r
 * set). *deleted_r counts the messages removed.
 */
int pop3_maildrop_update(struct pop3_maildrop *md, size_t *deleted_r, int *errno_r);

/* pop3_maildrop_msg_open - open message i (0-based) for reading; -1 with errno. */
int pop3_maildrop_msg_open(const struct pop3_maildrop *md, size_t i);

/* pop3_maildrop_close - unlock and free; *mdp becomes NULL. */
void pop3_maildrop_close(struct pop3_maildrop **mdp);

/* pop3_maildrop_uid - the unique id of base name (len bytes) into uid_r (POP3_UID_MAX + 1 bytes). */
void pop3_maildrop_uid(const char *base, size_t len, char *uid_r);

#endif
