/*
 * imap_mailbox - the selected folder as a session sees it: its messages in
 * UID order (so the sequence number of msgs[i] is i + 1), their flags and
 * keywords, UIDVALIDITY and UIDNEXT, all kept in Dovecot's files on disk
 * (dovecot-uidlist, dovecot-keywords, flags in the ":2," suffix of names).
 *
 * The folder is read by imap_mailbox_scan() on a worker: it lists new/
 * and cur/, gives UIDs to files the uidlist does not know yet (under the
 * uidlist's dotlock, as Dovecot does), and returns a snapshot. The loop
 * then merges a snapshot into the session's view (imap_mailbox_merge),
 * telling the client what changed: EXPUNGE, FETCH FLAGS, EXISTS.
 *
 * Files stay where delivery put them: a message in new/ gets its name in
 * cur/ with ":2,FLAGS" only when its flags are first set.
 */
#ifndef POSTERN_IMAP_MAILBOX_H
#define POSTERN_IMAP_MAILBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_keywords.h"
#include "imap/imap_types.h"

struct imap_session;

/* One message. */
struct imap_msg {
	uint32_t uid;
	uint32_t keywords; /* bit i: keyword i of the folder's dovecot-keywords */
	uint8_t flags;     /* enum imap_flag */
	bool in_new;       /* the file is in new/ */
	char *file;        /* its name in new/ or cur/, ":2,..." included */
	uint64_t size;     /* RFC822.SIZE, from W= in the name; 0: not known yet */
	int64_t date;      /* INTERNALDATE (the file's mtime); -1: not known yet */
	uint64_t modseq;   /* MODSEQ (imap_modseq_sync); 0: not known yet */
};

/* A folder's state: a worker's snapshot, or the session's view of it. */
struct imap_folder_state {
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq; /* RFC 7162 (postern-modseq); 0: not known (NOMODSEQ) */
	struct imap_msg *msgs;
	size_t n;
	struct imap_keywords kw; /* dovecot-keywords: letter index -> name */
};

struct imap_mailbox {
	char *dir;  /* the folder's directory */
	char *name; /* its IMAP name, as the client gave it */
	bool readonly; /* EXAMINE */
	bool scanning; /* a scan is on a worker */
	bool rescan;   /* IDLE: something changed while it was: scan again */
	struct imap_folder_state st;
};

/*
 * imap_mailbox_scan - on a worker: dir's messages, UIDs given to new
 * files (dovecot-uidlist created if missing, UIDVALIDITY from the
 * account's dovecot-uidvalidity under home), MODSEQs brought up to date
 * (imap_modseq.h; on failure the folder is NOMODSEQ). 0, or -1 with error_r.
 */
int imap_mailbox_scan(const char *home, const char *dir, struct imap_folder_state *st_r,
		      char *error_r, size_t size);

/* imap_folder_state_clear - free a snapshot's contents. */
void imap_folder_state_clear(struct imap_folder_state *st);

/* imap_mailbox_close - free the session's mailbox; *mp becomes NULL. */
void imap_mailbox_close(struct imap_mailbox **mp);

/* What runs once a refresh is merged: rc is the scan's (0, or -1: the view did not change). */
typedef void imap_mailbox_done_fn(struct imap_session *s, int rc);

/*
 * imap_mailbox_refresh - scan the selected folder again on a worker (the
 * session is waiting meanwhile), merge, then done(s, rc). Called while a
 * scan runs (IDLE only) it just sets m->rescan, for done to look at.
 */
void imap_mailbox_refresh(struct imap_session *s, imap_mailbox_done_fn *done);

/*
 * imap_mailbox_merge - take the snapshot st (emptied) as the session's
 * view, answering "* n EXPUNGE" for messages gone, "* n FETCH (FLAGS ...)"
 * for flags changed, "* n EXISTS" when messages came.
 */
void imap_mailbox_merge(struct imap_session *s, struct imap_folder_state *st);

/* imap_mailbox_find_uid - the index of uid, or -1. */
long imap_mailbox_find_uid(const struct imap_mailbox *m, uint32_t uid);

/* imap_mailbox_path - the file of msgs[i] into buf; -1 if it does not fit. */
int imap_mailbox_path(const struct imap_mailbox *m, size_t i, char *buf, size_t size);

/*
 * imap_mailbox_set_flags - give msgs[i] these flags and keywords: its file
 * renamed into cur/ with the new ":2," suffix (blocking: one rename). -1
 * with errno (ENOENT: renamed or expunged by someone else meanwhile).
 */
int imap_mailbox_set_flags(struct imap_mailbox *m, size_t i, unsigned flags, uint32_t keywords);

/* imap_mailbox_flags - "\Seen \Flagged $Label" of msgs[i] into buf (no parentheses). */
const char *imap_mailbox_flags(const struct imap_mailbox *m, size_t i, char *buf, size_t size);

#endif
