/*
 * imap_modseq - per-message MODSEQs for CONDSTORE/QRESYNC (RFC 7162), kept
 * in our own file per folder, DIR/postern-modseq, beside dovecot-uidlist
 * (Dovecot keeps its MODSEQs in its index, which we do not read).
 *
 * The file is a record of what each UID looked like when it last got a
 * MODSEQ. Changes made by anyone (our STORE, POP3 deletes, deliveries,
 * Dovecot on the same tree) are found by comparing the folder's current
 * messages with it (imap_modseq_sync): a new UID or changed flags or
 * keywords get a new MODSEQ; a UID gone becomes an expunge record with the
 * new MODSEQ, for VANISHED (EARLIER) (RFC 7162 3.2.5.1, 3.2.6).
 *
 * MODSEQs are time-based, so they only grow even when the file is lost,
 * rolled back, or a folder comes from Dovecot (whose MODSEQs are small
 * counters): a new value is max(highest + 1, now in microseconds). One sync
 * gives every message it changes the same value. Since a lost file only
 * means new, higher MODSEQs for everything (clients resync flags, never
 * download again), it is written without fsync: tmp file and rename.
 *
 * Expunge records are bounded (gone_max, IMAP_MODSEQ_GONE_MAX by default):
 * past it the oldest are dropped (down to 3/4 of gone_max, so that the trim
 * is rare) and gone_floor remembers the highest MODSEQ dropped. A client
 * asking for expunges since M < gone_floor gets every UID of its known
 * range that is not a message now. A fresh record (no file, a broken one,
 * or a new UIDVALIDITY) knows no expunge history: its gone_floor is its
 * first MODSEQ.
 *
 * File format, version 1 (text, LF line ends, every line ends in LF):
 *   postern-modseq 1 V<uidvalidity> H<highest> F<gone_floor>
 *   <uid> <modseq> <flags>        a message
 *   <uid> <modseq> !              an expunged UID
 * Numbers are decimal without leading zeros. UIDs are strictly ascending
 * over all lines (messages and expunges merged), 1..4294967294;
 * uidvalidity >= 1; 1 <= modseq <= highest <= IMAP_MODSEQ_MAX; gone_floor
 * <= highest. <flags> is "-" for none, else the Maildir letters in ASCII
 * order, each once: D (\Draft) F (\Flagged) R (\Answered) S (\Seen)
 * T (\Deleted) a..z (keywords: bit i of dovecot-keywords is 'a' + i).
 * Anything else is a broken file, which callers treat as no file. The
 * format is canonical: a file that parses formats back to the same bytes.
 *
 * Locking: only this process writes the file, under the folder's
 * in-process uidlist mutex (imap_uidlist_local_lock); no dotlock.
 */
#ifndef POSTERN_IMAP_MODSEQ_H
#define POSTERN_IMAP_MODSEQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_seqset.h"

struct imap_msg;

#define IMAP_MODSEQ_NAME "postern-modseq"
#define IMAP_MODSEQ_GONE_MAX 100000 /* expunge records kept (default gone_max) */
#define IMAP_MODSEQ_MAX (UINT64_C(1) << 62) /* the highest MODSEQ a file may hold */
#define IMAP_MODSEQ_FILE_MAX (512u << 20)   /* imap_modseq_read refuses larger files */

/* What a message looked like when it last got a MODSEQ. */
struct imap_modseq_rec {
	uint64_t modseq;
	uint32_t uid;
	uint32_t keywords; /* bits 0..25 */
	uint8_t flags;     /* enum imap_flag, never RECENT */
};

/* An expunged UID. */
struct imap_modseq_gone {
	uint64_t modseq;
	uint32_t uid;
};

struct imap_modseq {
	uint32_t uidvalidity;  /* 0: nothing recorded yet */
	uint64_t highest;      /* HIGHESTMODSEQ; 0 when nothing recorded */
	uint64_t gone_floor;   /* expunges at or below it may have been forgotten */
	struct imap_modseq_rec *recs;  /* ascending UIDs */
	size_t nrecs;
	struct imap_modseq_gone *gone; /* ascending UIDs, none of them in recs */
	size_t ngone;
	size_t gone_max;       /* expunge records kept; not in the file */
};

/* Which messages a sync is given. */
enum imap_modseq_mode {
	IMAP_MODSEQ_ALL,    /* the whole folder: UIDs not given are expunged */
	IMAP_MODSEQ_SUBSET, /* some messages (after a STORE): others are left as they are */
};

/* imap_modseq_init - an empty record (gone_max IMAP_MODSEQ_GONE_MAX). */
void imap_modseq_init(struct imap_modseq *ms);

/* imap_modseq_clear - free the records; ms is empty again, gone_max kept. */
void imap_modseq_clear(struct imap_modseq *ms);

/*
 * imap_modseq_parse - a postern-modseq file into ms (cleared first;
 * gone_max kept). -1 with *error_r (static text) when broken: ms is then
 * empty.
 */
int imap_modseq_parse(const char *buf, size_t len, struct imap_modseq *ms, const char **error_r);

/* imap_modseq_format - ms as a file, in a new NUL-terminated buffer of *len_r octets. */
char *imap_modseq_format(const struct imap_modseq *ms, size_t *len_r);

/*
 * imap_modseq_sync - bring ms up to date with the folder's messages msgs[n]
 * (strictly ascending UIDs; flags and keywords read, RECENT ignored) and
 * set each msgs[i].modseq. A different uidvalidity first resets ms (its
 * highest kept, so MODSEQs still grow). New UIDs and changed flags or
 * keywords get the new MODSEQ max(highest + 1, now_us); in IMAP_MODSEQ_ALL
 * mode recorded UIDs missing from msgs become expunge records with it, and
 * an expunged UID that is back is a new message; in IMAP_MODSEQ_SUBSET mode
 * other records stay and a message whose UID is expunged is skipped
 * (msgs[i].modseq untouched). O(n + records), plus a sort of the expunge
 * MODSEQs when they are trimmed. 1 ms changed (write it), 0 not, -1 msgs
 * not ascending (nothing changed).
 */
int imap_modseq_sync(struct imap_modseq *ms, uint32_t uidvalidity, struct imap_msg *msgs, size_t n,
		     uint64_t now_us, enum imap_modseq_mode mode);

/*
 * imap_modseq_vanished - the UIDs expunged after since_modseq, for
 * VANISHED (EARLIER), as a compact UID set "1:3,7" in a new string (NULL:
 * none), *count_r (may be NULL) the number of UIDs in it. Only UIDs below
 * uidnext and in known (NULL: 1:uidnext-1; "*" is uidnext - 1) are
 * reported. When since_modseq < gone_floor the expunge records may be
 * incomplete, so every such UID that is not a message now is reported.
 * The caller checks first that the client's UIDVALIDITY is ms->uidvalidity
 * (RFC 7162 3.2.5.1: otherwise no VANISHED at all). O(records + ranges of
 * known).
 */
char *imap_modseq_vanished(const struct imap_modseq *ms, uint64_t since_modseq,
			   const struct imap_seqset *known, uint32_t uidnext, size_t *count_r);

/* --- file I/O (imap_modseq_io.c); errors are allocated, the caller frees --- */

/*
 * imap_modseq_read - DIR/postern-modseq into ms (cleared first). 1 read,
 * 0 no file (ms empty), -1 with *error_r: cannot be read (an I/O error),
 * -2 with *error_r: broken (ms empty: use it as no file).
 */
int imap_modseq_read(const char *dir, struct imap_modseq *ms, char **error_r);

/* imap_modseq_write - ms into DIR/postern-modseq.tmp, renamed over postern-modseq (no fsync). */
int imap_modseq_write(const char *dir, const struct imap_modseq *ms, char **error_r);

/*
 * imap_modseq_update - imap_modseq_read (a broken file counts as none),
 * imap_modseq_sync, imap_modseq_write if it changed. *highest_r (may be
 * NULL): HIGHESTMODSEQ after the sync. ms_r: NULL, or an initialised
 * record that receives the synced one (for imap_modseq_vanished; its old
 * content is freed, the caller clears it). msgs[i].modseq are set even when
 * only the write failed (and *highest_r, ms_r filled). 0, or -1 with
 * *error_r (allocated): cannot read, msgs not ascending, or the write failed.
 *
 * Takes the folder's in-process lock (imap_uidlist_local_lock) around it
 * all. imap_uidlist_lock takes the same mutex, and folders share mutexes by
 * hash: never call it while this thread holds any uidlist lock (a
 * deadlock); there, call imap_modseq_update_locked.
 */
int imap_modseq_update(const char *dir, uint32_t uidvalidity, struct imap_msg *msgs, size_t n,
		       uint64_t now_us, enum imap_modseq_mode mode, uint64_t *highest_r,
		       struct imap_modseq *ms_r, char **error_r);

/* imap_modseq_update_locked - the same, for a caller holding dir's uidlist lock or local lock. */
int imap_modseq_update_locked(const char *dir, uint32_t uidvalidity, struct imap_msg *msgs,
			      size_t n, uint64_t now_us, enum imap_modseq_mode mode,
			      uint64_t *highest_r, struct imap_modseq *ms_r, char **error_r);

/* imap_modseq_now_us - the current time in microseconds since the epoch (CLOCK_REALTIME). */
uint64_t imap_modseq_now_us(void);

#endif
