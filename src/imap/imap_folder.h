/*
 * imap_folder - folder names between the client and the disk. A client
 * names folders in modified UTF-7 (IMAP4rev1) or UTF-8 (after ENABLE
 * IMAP4rev2); inside postern a name is UTF-8 with '/' between levels, and
 * on disk it is a Maildir++ directory of the account (imap_mutf7.h).
 */
#ifndef POSTERN_IMAP_FOLDER_H
#define POSTERN_IMAP_FOLDER_H

#include <stdbool.h>
#include <stddef.h>

#include "imap/imap_arg.h"

#define IMAP_FOLDER_NAME_MAX 1024 /* a folder's UTF-8 name */
#define IMAP_FOLDER_PATH_MAX 4096

struct imap_session;

/* The special-use folders made at the first login (RFC 6154), top level. */
extern const char *const imap_folder_special[4];     /* "Sent", "Drafts", "Trash", "Junk" */
extern const char *const imap_folder_special_use[4]; /* "\\Sent", ... */

/*
 * imap_folder_resolve - the client's mailbox argument: its UTF-8 name
 * ("INBOX" in any case becomes "INBOX") and directory. -1 with *error_r
 * (a text for NO) when the name is not valid.
 */
int imap_folder_resolve(const struct imap_session *s, const struct imap_arg *arg, char *name_r,
			size_t name_size, char *dir_r, size_t dir_size, const char **error_r);

/* imap_folder_dir - the directory of a UTF-8 name under home; -1 with *error_r. */
int imap_folder_dir(const char *home, const char *name, char *dir_r, size_t size,
		    const char **error_r);

/*
 * imap_folder_quote - name as the client must see it (UTF-8 when utf8,
 * else modified UTF-7), as a quoted string, into out; -1 if it does not fit.
 */
int imap_folder_quote(bool utf8, const char *name, char *out, size_t size);

/* imap_folder_utf8 - does the session see folder names in UTF-8 (ENABLE IMAP4rev2)? */
bool imap_folder_utf8(const struct imap_session *s);

/* imap_folder_special_index - the index of name in imap_folder_special, or -1. */
int imap_folder_special_index(const char *name);

#endif
