/*
 * imap_mime_internal - what imap_mime.c (the part tree) and
 * imap_mime_content.c (the Content-* fields) share; not for other modules.
 */
#ifndef POSTERN_IMAP_MIME_INTERNAL_H
#define POSTERN_IMAP_MIME_INTERNAL_H

#include "imap/imap_mime.h"

/* What the header of one part told the tree builder. */
struct imap_mime_hdr_state {
	bool seen_type;      /* the first Content-Type was read */
	bool has_boundary;   /* it had a boundary parameter */
	char boundary[IMAP_MIME_BOUNDARY_MAX + 1];
	size_t boundary_len;
};

/* imap_mime_alloc - n zeroed bytes from the tree's storage. */
void *imap_mime_alloc(struct imap_mime *m, size_t n);
/* imap_mime_strdup - a NUL-terminated copy, NUL bytes made U+FFFD. */
const char *imap_mime_strdup(struct imap_mime *m, const char *s, size_t len);
/* imap_mime_content_field - note one header field of a part. */
void imap_mime_content_field(struct imap_mime *m, struct imap_mime_part *part,
			     const struct imap_mime_field *f, struct imap_mime_hdr_state *st);
/* imap_mime_content_reset - forget the Content-* fields (not MIME). */
void imap_mime_content_reset(struct imap_mime_part *part);

#endif
