/*
 * imap_mflags - what a Maildir file name says about its message, read and
 * written the way Dovecot does (maildir-filename-flags.c, maildir-filename.c):
 *
 *   1796430033.M692411P4582.host,S=6,W=6:2,FRab
 *   `------------ base name ----------'   `- info: flags
 *
 * - Base name: everything before the first ':'. It is what dovecot-uidlist
 *   lists, and it never changes when flags change (a new name, e.g. a
 *   different S=, is a new message with a new UID).
 * - Flags: after the last ':' when it is followed by "2,": D (\Draft),
 *   F (\Flagged), R (\Answered), S (\Seen), T (\Deleted), a..z (keywords,
 *   see imap_keywords), up to a ','. Anything else is an unknown flag:
 *   Dovecot ignores it when reading and keeps it, in its ASCII place, when
 *   it writes new flags ("2,PS" stays "2,PS": P is Maildir's "passed");
 *   a second ",..." flag set after the first is kept as it is.
 * - Sizes: ",S=<octets>" (the file) and ",W=<octets>" (with CRLF line ends,
 *   RFC822.SIZE) anywhere in the name, ending at ',', ':' or the end.
 * - New files get UIDs in Dovecot's order (imap_mflags_sort_cmp): by the
 *   leading seconds, then the microseconds after ".M", then the base name.
 */
#ifndef POSTERN_IMAP_MFLAGS_H
#define POSTERN_IMAP_MFLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_types.h"

/* imap_mflags_base_len - octets of the base name: before the first ':'. */
size_t imap_mflags_base_len(const char *name);

/*
 * imap_mflags_get - the system flags (enum imap_flag bits, never RECENT)
 * and keywords (bit i: letter 'a' + i) of a file name.
 */
void imap_mflags_get(const char *name, unsigned *flags_r, uint32_t *keywords_r);

/*
 * imap_mflags_set - the file name with these flags and keywords (the old
 * ones replaced, unknown flags kept) into out; -1 if it does not fit. A name
 * without ":2," gets one (a name in new/ has none; Dovecot adds ":2," when
 * it moves a file to cur/).
 */
int imap_mflags_set(const char *name, unsigned flags, uint32_t keywords, char *out, size_t size);

/* imap_mflags_size - the value of ",S=" (type 'S') or ",W=" (type 'W'); false if absent or bad. */
bool imap_mflags_size(const char *name, char type, uint64_t *size_r);

/* imap_mflags_sort_cmp - Dovecot's order of new files (maildir_filename_sort_cmp). */
int imap_mflags_sort_cmp(const char *a, const char *b);

#endif
