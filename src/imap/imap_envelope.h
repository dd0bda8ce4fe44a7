/*
 * imap_envelope - FETCH ENVELOPE (RFC 9051 7.5.2, RFC 3501 7.4.2) from a
 * header block held in memory, and the IMAP string forms the FETCH
 * responses share (NIL, quoted string or literal).
 *
 * Addresses are parsed as RFC 5322 3.4 and its obsolete forms, the way
 * Dovecot reads them, so clients see the same envelope from both: display
 * names from phrases or a trailing comment, routes, groups as
 * (NIL NIL "name" NIL) ... (NIL NIL NIL NIL), and garbage kept as far as it
 * goes with MISSING_MAILBOX / MISSING_DOMAIN / SYNTAX_ERROR in the holes.
 * Several From: (or To:, ...) fields are merged; for Date, Subject,
 * In-Reply-To and Message-ID the last one counts. RFC 2047 encoded words
 * are passed through unchanged. Strings with 8-bit bytes, CR or LF, or
 * many quoted-specials are sent as literals, which is right for both
 * IMAP4rev1 and IMAP4rev2.
 */
#ifndef POSTERN_IMAP_ENVELOPE_H
#define POSTERN_IMAP_ENVELOPE_H

#include <stddef.h>

#include "imap/imap_rfc822.h"

struct evbuffer;

/* imap_envelope_write - "(date subject from sender reply-to to cc bcc
 * in-reply-to message-id)" for the header block hdr (the blank line may
 * be included or not); 0, or -1 when out could not grow. */
int imap_envelope_write(struct evbuffer *out, const char *hdr, size_t len);
/* imap_envelope_append - the same, appended to a string. */
void imap_envelope_append(struct imap_rfc822_str *out, const char *hdr, size_t len);

/* imap_envelope_nstring - s (len bytes) as a quoted string or a literal;
 * NIL when s is NULL. */
void imap_envelope_nstring(struct imap_rfc822_str *out, const char *s, size_t len);
/* imap_envelope_nstring_nolf - the same with header folding removed: a
 * CR or LF before white space or at the end goes, another becomes a space. */
void imap_envelope_nstring_nolf(struct imap_rfc822_str *out, const char *s, size_t len);
/* imap_envelope_human - text for people (subjects, display names): white
 * space runs made one space, none at the ends (as Dovecot). */
void imap_envelope_human(struct imap_rfc822_str *out, const char *s, size_t len);

#endif
