/*
 * imap_subs - Dovecot's "subscriptions" file in the account's Maildir root
 * (src/lib-storage/list/subscription-file.c).
 *
 * Version 2 (Dovecot 2.1 and later): the header "V\t2\n\n", then one folder
 * per line, its levels separated by TAB, each level as Dovecot's storage
 * name, that is modified UTF-7 for Maildir++ ("Entw&APw-rfe\tKid"), with
 * \001 escapes for \001, TAB, CR and LF (\0011, \001t, \001r, \001n).
 * Version 1 (older Dovecot): no header, one storage name per line with the
 * Maildir++ separator '.' ("Projects.2026"); a trailing separator is
 * dropped. Both are read; postern always writes version 2.
 *
 * In memory the names are what postern's IMAP code uses: UTF-8 with '/'
 * between levels; "INBOX" in any case is "INBOX". A version 2 line that
 * does not make such a name (bad mUTF-7, an empty level, a '/' inside a
 * level) is kept verbatim and written back, so nothing Dovecot wrote is
 * lost; such a version 1 line is dropped, as Dovecot cannot show it either.
 * Duplicates and empty lines are dropped.
 *
 * Writing is Dovecot's: the dotlock subscriptions.lock (timeout 120 s,
 * stale after 30 s) holds the new content, fsync'd, then renamed over
 * "subscriptions".
 */
#ifndef POSTERN_IMAP_SUBS_H
#define POSTERN_IMAP_SUBS_H

#include <stdbool.h>
#include <stddef.h>

#define IMAP_SUBS_NAME "subscriptions"

struct imap_subs {
	char **names;  /* UTF-8, '/' separated, in file order */
	size_t count, alloc;
	char **raw;    /* version 2 lines (escaped, TAB separated) that are no IMAP name */
	size_t nraw, raw_alloc;
};

/* imap_subs_clear - free everything; s is then empty. */
void imap_subs_clear(struct imap_subs *s);

/* imap_subs_parse - the file's content into s (cleared first); lenient like Dovecot, never fails. */
void imap_subs_parse(const char *buf, size_t len, struct imap_subs *s);

/* imap_subs_format - version 2 content in a new NUL-terminated buffer; NULL if a name cannot be encoded. */
char *imap_subs_format(const struct imap_subs *s, size_t *len_r);

/* imap_subs_has - name (UTF-8, '/') is subscribed; INBOX in any case. */
bool imap_subs_has(const struct imap_subs *s, const char *name);

/* imap_subs_add - subscribe; false if it already was (or the name is empty or has a newline). */
bool imap_subs_add(struct imap_subs *s, const char *name);

/* imap_subs_remove - unsubscribe; false if it was not subscribed. */
bool imap_subs_remove(struct imap_subs *s, const char *name);

/* imap_subs_read - ROOT/subscriptions into s; a missing file is empty (0); -1 with *error_r. */
int imap_subs_read(const char *root, struct imap_subs *s, char **error_r);

/* imap_subs_write - replace ROOT/subscriptions under its dotlock (see above). */
int imap_subs_write(const char *root, const struct imap_subs *s, char **error_r);

#endif
