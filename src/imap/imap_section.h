/*
 * imap_section - the bytes of a FETCH body section (RFC 9051 6.4.5):
 * BODY[], BODY[HEADER], BODY[TEXT], BODY[HEADER.FIELDS (...)],
 * BODY[HEADER.FIELDS.NOT (...)], BODY[1.2], BODY[1.2.MIME],
 * BODY[2.HEADER] of a message/rfc822 part, with <offset.count> applied,
 * from a message held in memory with LF, CRLF or mixed line ends. Output
 * is always CRLF, and sizes and offsets count CRLF octets, so RFC822.SIZE
 * (imap_section_size) equals the size of BODY[].
 *
 * Like Dovecot: a part that does not exist is an empty string;
 * HEADER.FIELDS gives the matching fields in message order and a blank
 * line; HEADER.FIELDS.NOT gives the others and the header's own blank
 * line (if any); MIME of a message/rfc822 part is its MIME header.
 * NUL bytes go out as 0x80 (NUL is not allowed in a literal), as Dovecot
 * sends them. Whole-message, HEADER and TEXT sections never build a MIME
 * tree.
 */
#ifndef POSTERN_IMAP_SECTION_H
#define POSTERN_IMAP_SECTION_H

#include <stddef.h>
#include <stdint.h>

#include "imap/imap_types.h"

struct evbuffer;
struct imap_mime;

/* imap_section_size - the CRLF size of the whole message (RFC822.SIZE). */
uint64_t imap_section_size(const char *msg, size_t len);
/* imap_section_header_size - the CRLF size of its header, blank line included. */
uint64_t imap_section_header_size(const char *msg, size_t len);

/* imap_section_append_crlf - the CRLF form of len raw bytes (a bare LF
 * becomes CRLF, NUL 0x80) appended in one pass; 0 or -1. */
int imap_section_append_crlf(struct evbuffer *out, const char *p, size_t len);
/* imap_section_append_window - octets [offset, offset+count) of the CRLF
 * form of len raw bytes (fewer at the end, none past it); 0 or -1. */
int imap_section_append_window(struct evbuffer *out, const char *p, size_t len,
			       uint64_t offset, uint64_t count);

/* imap_section_write - append the section's bytes (partial applied) to
 * out, *size_r (may be NULL) their number; 0, or -1 when out could not
 * grow. */
int imap_section_write(struct evbuffer *out, const char *msg, size_t len,
		       const struct imap_section *sec, uint64_t *size_r);
/* imap_section_write_tree - the same with the message's MIME tree when the
 * caller parsed it already (NULL: parsed here if part numbers need it). */
int imap_section_write_tree(struct evbuffer *out, const char *msg, size_t len,
			    const struct imap_mime *tree, const struct imap_section *sec,
			    uint64_t *size_r);

#endif
