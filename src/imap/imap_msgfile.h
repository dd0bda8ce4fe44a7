/*
 * imap_msgfile - reading a message file for FETCH and SEARCH: the whole
 * file or only its header block, into a buffer reused from one message to
 * the next. A file renamed since the folder was read (its flags changed in
 * another session, or under Dovecot) is found again by its base name.
 * Blocking: workers, or the loop for one small file.
 */
#ifndef POSTERN_IMAP_MSGFILE_H
#define POSTERN_IMAP_MSGFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMAP_MSGFILE_MAX ((size_t)256 << 20) /* larger files are not served */

struct imap_msgfile {
	char *data;
	size_t len, cap;
	int64_t mtime; /* the file's mtime (INTERNALDATE) */
};

/*
 * imap_msgfile_load - read the message of folder dir named file (in new/
 * when in_new, else cur/; found again in either by its base name when
 * renamed) into f: all of it, or (header_only) at least its header block.
 * 0, or -1 with errno (ENOENT: expunged; EFBIG: over IMAP_MSGFILE_MAX).
 */
int imap_msgfile_load(struct imap_msgfile *f, const char *dir, const char *file, bool in_new,
		      bool header_only);

/* imap_msgfile_wire_size - RFC822.SIZE of the loaded (whole) message: octets with CRLF ends. */
uint64_t imap_msgfile_wire_size(const struct imap_msgfile *f);

/* imap_msgfile_free - release the buffer. */
void imap_msgfile_free(struct imap_msgfile *f);

#endif
