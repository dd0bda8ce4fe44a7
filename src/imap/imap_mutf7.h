/*
 * imap_mutf7 - modified UTF-7 (RFC 3501 section 5.1.3) <-> UTF-8, and the
 * mapping between IMAP folder names and Maildir++ directory names that
 * Dovecot uses on disk.
 *
 * The decoder is as strict as Dovecot's imap-utf7.c, and a little stricter:
 * it refuses every non-canonical form, so that encode(decode(x)) == x for
 * every x it accepts: a printable ASCII character or NUL inside "&...-",
 * two adjacent encoded runs ("&AOQ-&AOQ-"), an odd number of UTF-16
 * octets, a broken surrogate pair, a run without its closing '-', raw
 * octets outside 0x20..0x7E, and (beyond Dovecot) non-zero padding bits
 * at the end of a run.
 *
 * Folders: the IMAP name is UTF-8 with '/' between levels; on disk a
 * folder is the directory ".Level1.Level2" in the account's Maildir, each
 * level mUTF-7 encoded ("Entwürfe" is ".Entw&APw-rfe"). "INBOX" (any case)
 * is the Maildir itself (directory name ""); its children are ".INBOX.x".
 * Refused, as Dovecot refuses them: an empty name or level ("a//b", "a/"),
 * '.' in a level (it is the on-disk separator), a name starting with '~',
 * and a directory name longer than NAME_MAX.
 */
#ifndef POSTERN_IMAP_MUTF7_H
#define POSTERN_IMAP_MUTF7_H

#include <stddef.h>

/* Room for encoding n UTF-8 octets (a lone control char becomes "&AAE-"), NUL included. */
#define IMAP_MUTF7_ENCODE_MAX(n) (5 * (n) + 1)
/* Room for decoding n mUTF-7 octets, NUL included. */
#define IMAP_MUTF7_DECODE_MAX(n) (2 * (n) + 1)
/* The longest Maildir++ directory name (one path component). */
#define IMAP_MUTF7_DIR_MAX 255

/*
 * imap_mutf7_encode - UTF-8 in[0..len) to mUTF-7 in out (size bytes, NUL
 * terminated, *len_r without the NUL). -1 with *error_r on invalid UTF-8,
 * a NUL, or too small an out.
 */
int imap_mutf7_encode(const char *in, size_t len, char *out, size_t size, size_t *len_r,
		      const char **error_r);

/* imap_mutf7_decode - mUTF-7 in[0..len) to UTF-8 in out; -1 with *error_r on a non-canonical input. */
int imap_mutf7_decode(const char *in, size_t len, char *out, size_t size, size_t *len_r,
		      const char **error_r);

/*
 * imap_mutf7_folder_to_dir - IMAP name (UTF-8, '/' separated) to the
 * Maildir++ directory name: "Projects/2026" -> ".Projects.2026", "INBOX" -> "".
 */
int imap_mutf7_folder_to_dir(const char *name, char *out, size_t size, const char **error_r);

/*
 * imap_mutf7_dir_to_folder - a Maildir++ directory name to the IMAP name:
 * ".Entw&APw-rfe.2026" -> "Entwürfe/2026"; "" and "." -> "INBOX". ".INBOX"
 * alone is refused (it is not a folder: INBOX is the Maildir root).
 */
int imap_mutf7_dir_to_folder(const char *dir, char *out, size_t size, const char **error_r);

#endif
