/*
 * imap_add - new messages into a folder, with their flags and keywords,
 * and UIDs for them (COPY, MOVE, APPEND; RFC 4315 COPYUID / APPENDUID).
 * Each file gets a new unique Maildir name with its S= and W= sizes, is
 * linked into cur/ with its ":2,FLAGS", and the folder's dovecot-uidlist
 * (and dovecot-keywords, for keywords new to the folder) is updated
 * under the uidlist's dotlock. The links and the uidlist's new records are
 * not synced here: the caller waits for a sync of the filesystem (a store
 * sync, imap_submit_durable) before it answers, so that a group of
 * sessions shares one. Blocking: on a worker.
 */
#ifndef POSTERN_IMAP_ADD_H
#define POSTERN_IMAP_ADD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One message to add. */
struct imap_add_item {
	const char *src;      /* the file: linked (the source stays), e.g. a copy, or a tmp/ file */
	unsigned flags;       /* enum imap_flag bits */
	const char *keywords[32]; /* keyword names, NULL-terminated */
	uint64_t stored_size; /* the file's size */
	uint64_t wire_size;   /* with CRLF line ends (RFC822.SIZE) */
	int64_t mtime;        /* INTERNALDATE to set; -1: keep the file's */
	uint32_t uid;         /* out: its UID in the folder; 0 when it could not be added */
};

/*
 * imap_add_messages - add n items to the folder dir of the account at
 * home (host names the files). *uidvalidity_r is the folder's. 0 when
 * every item was added, -1 with *error_r (caller frees) when none was:
 * the links already made are undone (a COPY or APPEND is all or nothing).
 * With wait false (on the store's sync worker, which must never wait) it
 * returns 1 (nothing done, no error) rather than wait for the uidlist lock
 * or write anything but an append to the uidlist (a new or broken list, a
 * new keyword: files synced one by one).
 */
int imap_add_messages(const char *home, const char *dir, const char *host,
		      struct imap_add_item *items, size_t n, bool wait, uint32_t *uidvalidity_r,
		      char **error_r);

#endif
