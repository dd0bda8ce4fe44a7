/*
 * imap_flaglist - a flag list of STORE or APPEND ("(\Seen $Forwarded)" or
 * bare flags, RFC 9051 6.4.6, 6.3.12): system flags as bits, keywords by
 * name; then, on a worker, the keywords as the folder's letters, new ones
 * written into its dovecot-keywords under the uidlist's lock.
 */
#ifndef POSTERN_IMAP_FLAGLIST_H
#define POSTERN_IMAP_FLAGLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_arg.h"
#include "imap/imap_types.h"

struct imap_keywords;

struct imap_flaglist {
	unsigned flags; /* enum imap_flag bits (never RECENT) */
	char *keywords[IMAP_KEYWORDS_MAX + 1]; /* names, NULL-terminated */
	size_t nkeywords;
};

/*
 * imap_flaglist_parse - one parenthesized list, or count atoms, into fl
 * (pure). \Recent, unknown system flags, bad keyword atoms and more than
 * IMAP_KEYWORDS_MAX keywords are refused: -1 with *error_r.
 */
int imap_flaglist_parse(const struct imap_arg *args, size_t count, struct imap_flaglist *fl,
			const char **error_r);

/* imap_flaglist_clear - free the names. */
void imap_flaglist_clear(struct imap_flaglist *fl);

/*
 * imap_flaglist_keywords - the letters (bits) of fl's keywords in the
 * folder dir whose keyword table is kw; with add, names the folder does
 * not know yet are added to DIR/dovecot-keywords (and to kw) under the
 * uidlist lock, else ignored. Blocking. 0, or -1 with *error_r (freed by
 * the caller).
 */
int imap_flaglist_keywords(const struct imap_flaglist *fl, const char *dir,
			   struct imap_keywords *kw, bool add, uint32_t *bits_r, char **error_r);

#endif
