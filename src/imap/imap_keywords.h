/*
 * imap_keywords - Dovecot's dovecot-keywords file in each Maildir folder
 * (src/lib-storage/index/maildir/maildir-keywords.c): which keyword each
 * letter a..z in the ":2," flags of the file names stands for.
 *
 *   0 $Forwarded
 *   1 Junk
 *
 * Line "<index> <name>": index 0 is letter 'a', at most 26 (IMAP_KEYWORDS_MAX).
 * Names are compared without case, as Dovecot does. Reading skips, as
 * Dovecot does, a line without a space, a bad or too large index, an empty
 * name, and a name already listed; a later line with the same index
 * replaces the earlier one.
 *
 * Dovecot changes the file only while it holds the folder's uidlist lock
 * (imap_uidlist_lock), and so must postern: imap_keywords_write removes a
 * leftover dovecot-keywords.lock, writes the new content into a fresh
 * dovecot-keywords.lock, fsyncs it, and renames it over dovecot-keywords,
 * making sure the file's mtime grows (Dovecot re-reads it by mtime).
 *
 * A letter found in a file name with no name in the file: Dovecot names it
 * "unknown-<index>" (adding '?' until unique) and writes that into the file.
 */
#ifndef POSTERN_IMAP_KEYWORDS_H
#define POSTERN_IMAP_KEYWORDS_H

#include <stddef.h>
#include <time.h>

#include "imap/imap_types.h"

#define IMAP_KEYWORDS_NAME "dovecot-keywords"

struct imap_keywords {
	char *names[IMAP_KEYWORDS_MAX]; /* names[i] is letter 'a' + i; NULL: unused */
	time_t mtime;                   /* of the file read or written, 0 if none */
};

/* imap_keywords_clear - free the names; kw is then empty. */
void imap_keywords_clear(struct imap_keywords *kw);

/* imap_keywords_parse - the file's content into kw (cleared first); lenient like Dovecot, never fails. */
void imap_keywords_parse(const char *buf, size_t len, struct imap_keywords *kw);

/* imap_keywords_format - the file's content, in a new NUL-terminated buffer. */
char *imap_keywords_format(const struct imap_keywords *kw, size_t *len_r);

/* imap_keywords_find - the index (letter - 'a') of name, any case; -1 if absent. */
int imap_keywords_find(const struct imap_keywords *kw, const char *name);

/* imap_keywords_add - the index of name, added in the first free slot if new; -1 when all 26 are used. */
int imap_keywords_add(struct imap_keywords *kw, const char *name);

/* imap_keywords_read - DIR/dovecot-keywords into kw; a missing file is empty (0); -1 with *error_r. */
int imap_keywords_read(const char *dir, struct imap_keywords *kw, char **error_r);

/* imap_keywords_write - replace DIR/dovecot-keywords (see above); the uidlist lock must be held. */
int imap_keywords_write(const char *dir, struct imap_keywords *kw, char **error_r);

#endif
