/*
 * imap_uidlist - Dovecot's dovecot-uidlist, the UID <-> file map of one
 * Maildir folder (src/lib-storage/index/maildir/maildir-uidlist.c), so a
 * folder keeps its UIDVALIDITY and UIDs when it moves between Dovecot and
 * postern.
 *
 * Format (version 3, what Dovecot 1.1 and later write):
 *   3 V<uidvalidity> N<nextuid> G<32 hex: mailbox GUID>[ <other header fields>]
 *   <uid>[ <ext>...] :<base name>
 * uidvalidity and UIDs are decimal; ext fields are one 'A'..'Z' key and a
 * value (W1234 virtual size, S1200 physical size, P POP3 UIDL, O POP3
 * order, G message GUID), kept opaque and written back. Version 1 (Dovecot
 * before 1.1, Courier's courierimapuiddb) is "1 <uidvalidity> <nextuid>" and
 * "<uid> <name>" lines; it is read, and written back as version 3.
 *
 * Reading, as Dovecot reads:
 * - the effective next UID is max(N, last UID + 1): Dovecot appends records
 *   to the file without rewriting N (a file saying N3 may list UID 5);
 * - a last line without '\n' is ignored (an append in progress);
 * - an unknown version, V0 or N0, a bad GUID, a UID of 0 or 4294967295, a
 *   name with '/', or UIDs not strictly ascending: the file is broken.
 *   Dovecot then deletes it; parse returns -1 and leaves in the struct what
 *   came before the broken line, with next_uid raised above every UID in
 *   the rest of the file, so that no UID is ever handed out twice;
 * - the same base name under two UIDs: the later UID wins (Dovecot does the
 *   same and rewrites the file), and `repaired` says the file needs rewriting;
 * - an ext field whose key is not 'A'..'Z' is dropped (`repaired`).
 *
 * Lookup by base name (the name before the first ':') is a hash table.
 *
 * Writing (imap_uidlist_io.c) is Dovecot's: under the dotlock
 * dovecot-uidlist.lock, either append new records to dovecot-uidlist in
 * place, or write dovecot-uidlist.tmp and rename it over dovecot-uidlist;
 * a rewrite is synced first; an append is made durable by the caller
 * (imap_add's callers wait for a store sync). Readers take no lock.
 */
#ifndef POSTERN_IMAP_UIDLIST_H
#define POSTERN_IMAP_UIDLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IMAP_UIDLIST_NAME "dovecot-uidlist"
#define IMAP_UIDVALIDITY_NAME "dovecot-uidvalidity"
#define IMAP_UIDLIST_LOCK_STALE 120 /* seconds (MAILDIR_UIDLIST_LOCK_STALE_TIMEOUT) */
#define IMAP_UIDLIST_LOCK_TIMEOUT 122 /* Dovecot's default: stale + 2 */
#define IMAP_UIDLIST_TAIL 64 /* octets of the file's end kept to recognise it grown */

struct imap_uidlist_rec {
	uint32_t uid;
	char *ext;  /* "W1234 S1200" as read (single spaces), or NULL */
	char *name; /* base name: the file name before the first ':' */
};

struct imap_uidlist {
	unsigned version;     /* as read: 1 or 3 (always written as 3) */
	uint32_t uidvalidity; /* 0: not set */
	uint32_t next_uid;    /* effective: max(N, last UID + 1), at least 1 */
	uint8_t guid[16];
	bool have_guid;       /* a G field was read (a v1 file has none) */
	bool repaired;        /* the parse fixed something: rewrite the file */
	char *hdr_ext;        /* other header fields, "P%..." (single spaces), or NULL */
	struct imap_uidlist_rec *recs; /* ascending UIDs */
	size_t count, alloc;
	uint32_t *hash;       /* open addressing: index + 1 into recs, 0 empty */
	size_t hash_size;     /* a power of two, > 2 * count */
	/* what imap_uidlist_read saw, for imap_uidlist_changed and appends */
	dev_t file_dev;
	ino_t file_ino;
	off_t file_size;
	char file_tail[IMAP_UIDLIST_TAIL]; /* its last octets: still there if it only grew */
	size_t file_tail_len;
};

struct imap_dotlock;

/* imap_uidlist_init - an empty list (no UIDVALIDITY yet, next UID 1). */
void imap_uidlist_init(struct imap_uidlist *ul);

/* imap_uidlist_init_new - an empty list for a new folder: this UIDVALIDITY and GUID. */
void imap_uidlist_init_new(struct imap_uidlist *ul, uint32_t uidvalidity, const uint8_t guid[16]);

/* imap_uidlist_clear - free everything in ul; it is then as after init. */
void imap_uidlist_clear(struct imap_uidlist *ul);

/*
 * imap_uidlist_parse - the content of a dovecot-uidlist into ul (which is
 * cleared first). -1 with *error_r (static text) when it is broken; see above.
 */
int imap_uidlist_parse(const char *buf, size_t len, struct imap_uidlist *ul, const char **error_r);

/*
 * imap_uidlist_parse_more - records appended to a version 3 file after
 * those in ul (the text from where ul's file ended; a last line without
 * '\n' is ignored). -1 with *error_r when one is broken: ul then holds
 * part of them, and the caller reads the whole file again.
 */
int imap_uidlist_parse_more(const char *buf, size_t len, struct imap_uidlist *ul,
			    const char **error_r);

/* imap_uidlist_format - the whole file (version 3) in a new NUL-terminated buffer. */
char *imap_uidlist_format(const struct imap_uidlist *ul, size_t *len_r);

/* imap_uidlist_format_recs - records [from, count) only, as appended to the file. */
char *imap_uidlist_format_recs(const struct imap_uidlist *ul, size_t from, size_t *len_r);

/* imap_uidlist_find - the record of a file name (anything after ':' ignored), or NULL. */
const struct imap_uidlist_rec *imap_uidlist_find(const struct imap_uidlist *ul, const char *name);

/* imap_uidlist_find_uid - the record with this UID (binary search), or NULL. */
const struct imap_uidlist_rec *imap_uidlist_find_uid(const struct imap_uidlist *ul, uint32_t uid);

/*
 * imap_uidlist_add - give file name (base taken) the next UID; *uid_r.
 * -1 if the name is already listed, is empty or has '/', or UIDs ran out.
 * Sort new files with imap_mflags_sort_cmp first, as Dovecot does.
 */
int imap_uidlist_add(struct imap_uidlist *ul, const char *name, uint32_t *uid_r);

/* imap_uidlist_set_ext - set (value non-NULL) or remove one ext field of a record. */
void imap_uidlist_set_ext(struct imap_uidlist *ul, uint32_t uid, char key, const char *value);

/* imap_uidlist_get_ext - the value of ext field key of rec (inside rec->ext, *len_r octets), or NULL. */
const char *imap_uidlist_get_ext(const struct imap_uidlist_rec *rec, char key, size_t *len_r);

/*
 * imap_uidlist_retain - keep only the records for which keep_cb says true
 * (drop expunged files before a rewrite). Returns how many were dropped.
 */
size_t imap_uidlist_retain(struct imap_uidlist *ul,
			   bool (*keep_cb)(const struct imap_uidlist_rec *rec, void *ctx), void *ctx);

/* --- file I/O (imap_uidlist_io.c); errors are allocated, the caller frees --- */

/*
 * imap_uidlist_read - read DIR/dovecot-uidlist into ul. 1 read, 0 no file
 * (ul empty), -1 with *error_r (a broken file: ul holds what was salvaged),
 * -2 with *error_r when it cannot be read (EACCES, EIO: nothing is known,
 * and the file must not be replaced).
 */
int imap_uidlist_read(const char *dir, struct imap_uidlist *ul, char **error_r);

/*
 * imap_uidlist_reread - bring ul, as read or written before, up to date
 * with DIR/dovecot-uidlist: nothing to do while the file is the same, the
 * new records only when it only grew (the same inode, the same octets
 * where it ended before), else a full imap_uidlist_read. The same returns.
 */
int imap_uidlist_reread(const char *dir, struct imap_uidlist *ul, char **error_r);

/* imap_uidlist_changed - DIR/dovecot-uidlist is not the file ul last read or wrote (1), same (0). */
int imap_uidlist_changed(const char *dir, const struct imap_uidlist *ul);

/*
 * imap_uidlist_lock - take DIR/dovecot-uidlist.lock, waiting up to timeout
 * seconds (IMAP_UIDLIST_LOCK_TIMEOUT as Dovecot; 0: fail at once). 1
 * locked, 0 held by someone else, -1 error. Re-read the file after locking
 * when imap_uidlist_changed says so, before adding UIDs.
 */
int imap_uidlist_lock(const char *dir, unsigned timeout, struct imap_dotlock **lock_r,
		      char **error_r);

/* imap_uidlist_unlock - release the lock; *lockp becomes NULL. */
void imap_uidlist_unlock(struct imap_dotlock **lockp);

/*
 * imap_uidlist_local_lock - take only the in-process mutex of DIR's
 * uidlist (the one imap_uidlist_lock takes first, shared by folders whose
 * paths hash alike), waiting as long as it takes: for files only this
 * process writes (postern-modseq). Never while this thread holds a uidlist
 * lock (not recursive).
 */
void imap_uidlist_local_lock(const char *dir);

/* imap_uidlist_local_unlock - release what imap_uidlist_local_lock(dir) took. */
void imap_uidlist_local_unlock(const char *dir);

/*
 * imap_uidlist_write - the whole file: DIR/dovecot-uidlist.tmp, fdatasync,
 * rename over dovecot-uidlist, fsync DIR. The lock must be held.
 */
int imap_uidlist_write(const char *dir, struct imap_uidlist *ul, char **error_r);

/*
 * imap_uidlist_append - append records [from, count) to DIR/dovecot-uidlist
 * (the lock held; the file must be the one ul read). Not synced: the
 * caller makes it durable (imap_add's callers wait for a store sync). Much
 * cheaper than a rewrite for a new message; N in the header is not changed.
 */
int imap_uidlist_append(const char *dir, struct imap_uidlist *ul, size_t from, char **error_r);

/*
 * imap_uidvalidity_next - the next UIDVALIDITY of the account whose
 * Maildir root is root, as Dovecot's mailbox_uidvalidity_next(): the value
 * in root/dovecot-uidvalidity (8 hex digits) plus one, claimed by renaming
 * the empty marker root/dovecot-uidvalidity.<old hex> to .<new hex>; if that
 * fails, the highest marker found, or the current time for a new account.
 */
int imap_uidvalidity_next(const char *root, uint32_t *uidvalidity_r, char **error_r);

/* imap_uidlist_guid_generate - 16 random octets for a new folder's GUID. */
int imap_uidlist_guid_generate(uint8_t guid_r[16]);

#endif
