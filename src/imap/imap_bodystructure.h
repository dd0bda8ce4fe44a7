/*
 * imap_bodystructure - FETCH BODY and BODYSTRUCTURE (RFC 9051 7.5.2,
 * RFC 3501 7.4.2) from a MIME part tree, formatted as Dovecot formats
 * them: sizes in CRLF octets, text parts with a line count, message/rfc822
 * parts with the enclosed message's envelope and structure, a message
 * without Content-Type as ("text" "plain" ("charset" "us-ascii") NIL NIL
 * "7bit" size lines). BODYSTRUCTURE adds the extension data: md5,
 * disposition, language and location (for multiparts: parameters,
 * disposition, language, location).
 */
#ifndef POSTERN_IMAP_BODYSTRUCTURE_H
#define POSTERN_IMAP_BODYSTRUCTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "imap/imap_mime.h"
#include "imap/imap_rfc822.h"

struct evbuffer;

/* imap_bodystructure_append - the structure of part (from a tree of msg)
 * without its outer parentheses, with extension data when extended. */
void imap_bodystructure_append(struct imap_rfc822_str *out, const char *msg,
			       const struct imap_mime_part *part, bool extended);
/* imap_bodystructure_write - BODY (extended false) or BODYSTRUCTURE of a
 * whole message, parsed here; 0, or -1 when out could not grow. */
int imap_bodystructure_write(struct evbuffer *out, const char *msg, size_t len, bool extended);

#endif
